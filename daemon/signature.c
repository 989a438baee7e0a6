/* Webhook signatures: the shop platforms' HMACs, checked in constant time. */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "signature.h"
#include "xmalloc.h"

#define SIGNATURE_MAC_LEN	32	/* SHA-256 */

/*
 * HMAC-SHA256 of the concatenation of n pieces.  With the default
 * provider, which has HMAC and SHA-256 built in, libcrypto fails here only
 * when it cannot allocate: the allocation policy's end, not a result.
 */
static void
signature_hmac(const void *secret, size_t secret_len, const void *const *parts,
    const size_t *lens, int n, unsigned char mac[SIGNATURE_MAC_LEN])
{
	OSSL_PARAM	 params[2];
	EVP_MAC		*hmac;
	EVP_MAC_CTX	*ctx = NULL;
	size_t		 out = 0;
	int		 ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = (hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL &&
	    (ctx = EVP_MAC_CTX_new(hmac)) != NULL &&
	    EVP_MAC_init(ctx, secret, secret_len, params) == 1;
	for (int i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, parts[i], lens[i]) == 1;
	ok = ok && EVP_MAC_final(ctx, mac, &out, SIGNATURE_MAC_LEN) == 1 &&
	    out == SIGNATURE_MAC_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	if (!ok)
		xmalloc_fail(0);
}

/*
 * Shopify's X-Shopify-Hmac-Sha256 and WooCommerce's X-WC-Webhook-Signature:
 * the base64 of the HMAC-SHA256 of the raw body, keyed with the secret as
 * the platform shows it.  An empty secret verifies nothing.
 */
enum signature_result
signature_base64(const void *secret, size_t secret_len, const void *body,
    size_t len, const char *header)
{
	unsigned char	mac[SIGNATURE_MAC_LEN];
	unsigned char	want[4 * ((SIGNATURE_MAC_LEN + 2) / 3) + 1];
	const void	*parts[1] = { body };
	size_t		 lens[1] = { len };

	/* The length of a base64 SHA-256 is no secret: 44. */
	if (header == NULL || strlen(header) != sizeof(want) - 1)
		return SIGNATURE_MALFORMED;
	if (secret_len == 0)
		return SIGNATURE_MISMATCH;
	signature_hmac(secret, secret_len, parts, lens, 1, mac);
	EVP_EncodeBlock(want, mac, SIGNATURE_MAC_LEN);
	return CRYPTO_memcmp(want, header, sizeof(want) - 1) == 0 ?
	    SIGNATURE_OK : SIGNATURE_MISMATCH;
}

/*
 * Stripe-Signature: "t=1492774577,v1=5257a8...,v1=..." (and maybe v0 and
 * other schemes, which are not ours to check).  Every v1 is a hex
 * HMAC-SHA256 of "T." and the raw body; while Stripe rolls a secret it
 * signs with both, so any may match.  T must be within `tolerance`
 * seconds of now, either way: older is a replay, newer a clock that is
 * wrong.  The time is checked after the signature, so that STALE says
 * the secret was right.
 */
enum signature_result
signature_stripe(const void *secret, size_t secret_len, const void *body,
    size_t len, const char *header, int64_t now, int64_t tolerance)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 buf[SIGNATURE_STRIPE_MAX + 1], *item, *save = NULL;
	char			 want[2 * SIGNATURE_MAC_LEN];
	const char		*t = NULL, *v1[16];
	unsigned char		 mac[SIGNATURE_MAC_LEN];
	const void		*parts[3];
	size_t			 lens[3];
	int64_t			 ts = 0;
	int			 nv1 = 0, matched = 0;

	if (header == NULL || strlen(header) > SIGNATURE_STRIPE_MAX)
		return SIGNATURE_MALFORMED;
	snprintf(buf, sizeof(buf), "%s", header);
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *eq;

		while (*item == ' ')
			item++;
		if ((eq = strchr(item, '=')) == NULL)
			return SIGNATURE_MALFORMED;
		*eq++ = '\0';
		if (strcmp(item, "t") == 0) {
			if (t != NULL)
				return SIGNATURE_MALFORMED;
			t = eq;
		} else if (strcmp(item, "v1") == 0) {
			if (nv1 == (int)(sizeof(v1) / sizeof(v1[0])))
				return SIGNATURE_MALFORMED;
			v1[nv1++] = eq;
		}
	}
	/* Up to 12 digits: Unix seconds until the year 33658. */
	if (t == NULL || nv1 == 0 || *t == '\0' || strlen(t) > 12 ||
	    strspn(t, "0123456789") != strlen(t))
		return SIGNATURE_MALFORMED;
	for (const char *p = t; *p != '\0'; p++)
		ts = ts * 10 + (*p - '0');
	if (secret_len == 0)
		return SIGNATURE_MISMATCH;

	parts[0] = t;
	lens[0] = strlen(t);
	parts[1] = ".";
	lens[1] = 1;
	parts[2] = body;
	lens[2] = len;
	signature_hmac(secret, secret_len, parts, lens, 3, mac);
	for (int i = 0; i < SIGNATURE_MAC_LEN; i++) {
		want[2 * i] = hex[mac[i] >> 4];
		want[2 * i + 1] = hex[mac[i] & 0xf];
	}
	for (int i = 0; i < nv1; i++) {
		char got[sizeof(want)];

		if (strlen(v1[i]) != sizeof(want))
			continue;
		for (size_t j = 0; j < sizeof(got); j++)
			got[j] = (char)tolower((unsigned char)v1[i][j]);
		matched |= CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	}
	if (!matched)
		return SIGNATURE_MISMATCH;
	/* Both are under 10^12, so the difference cannot overflow. */
	if (now < 0 || now > 999999999999 || (now - ts > tolerance) ||
	    (ts - now > tolerance))
		return SIGNATURE_STALE;
	return SIGNATURE_OK;
}

const char *
signature_text(enum signature_result r)
{
	switch (r) {
	case SIGNATURE_OK:
		return "signature verified";
	case SIGNATURE_MISMATCH:
		return "signature does not match the body (is the secret the "
		    "platform shows?)";
	case SIGNATURE_MALFORMED:
		return "signature header missing or malformed";
	case SIGNATURE_STALE:
		return "signature timestamp outside the tolerance (a replay, or "
		    "a clock that is wrong)";
	}
	return "?";
}
