/* Secrets: read from a file or a systemd credential, never logged. */
#ifndef AFTERSALE_SECRET_H
#define AFTERSALE_SECRET_H

#include <stddef.h>

#define SECRET_MAX	4096	/* bytes, after the trailing newline */

/*
 * A secret is kept in one buffer, out of core dumps and wiped when freed
 * (a reload frees the old configuration's).  Users of secret_value()
 * must not copy it; libcurl does copy the password given with
 * CURLOPT_PASSWORD into its own heap, which we cannot avoid: `run` makes
 * the process non-dumpable (PR_SET_DUMPABLE 0), and systemd's LimitCORE=0
 * backs that up.
 */
struct secret;

/* What a secret looks like: a password or token, or a PEM private key. */
enum secret_shape {
	SECRET_LINE,		/* one line */
	SECRET_PEM,		/* lines, as PEM has them */
};

int	secret_read(const char *path, const char *credential,
	    enum secret_shape shape, struct secret **out, char *why,
	    size_t size);
const char *secret_value(const struct secret *s);
void	secret_free(struct secret *s);

#endif
