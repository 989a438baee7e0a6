/* DKIM signatures (RFC 6376, RFC 8463) on the messages we build. */
#ifndef AFTERSALE_DKIMKEY_H
#define AFTERSALE_DKIMKEY_H

#include <stddef.h>

#include "buf.h"
#include "secret.h"

/*
 * A private key ready to sign for one domain and selector: RSA-SHA256 or
 * Ed25519-SHA256, as the key is.
 */
struct dkimkey;

int	dkimkey_load(struct secret *pem, const char *domain,
	    const char *selector, struct dkimkey **out, char *why, size_t size);
const char *dkimkey_describe(const struct dkimkey *k);
const char *dkimkey_record(const struct dkimkey *k);
void	dkimkey_sign(const struct dkimkey *k, struct buf *message);
void	dkimkey_free(struct dkimkey *k);

#endif
