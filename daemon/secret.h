/* Secrets: read from a file or a systemd credential, never logged. */
#ifndef AFTERSALE_SECRET_H
#define AFTERSALE_SECRET_H

#include <stddef.h>

#define SECRET_MAX	4096	/* bytes, after the trailing newline */

struct secret;

int	secret_read(const char *path, const char *credential,
	    struct secret **out, char *why, size_t size);
const char *secret_value(const struct secret *s);
void	secret_free(struct secret *s);

#endif
