/* DKIM signatures (RFC 6376, RFC 8463) on the messages we build. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <dkim.h>

#include "dkimkey.h"
#include "log.h"
#include "xmalloc.h"

/*
 * What a signature covers (relaxed/relaxed): DESIGN's list, and
 * Feedback-ID, whose identifiers Gmail's feedback loop trusts because
 * the signing domain vouches for them.  libopendkim signs those present.
 */
static const char *dkimkey_headers[] = {
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
	"Feedback-ID", NULL
};

/*
 * libopendkim is handed the key as PEM text at each signature and parses
 * it there; it copies it into its own heap, which it frees without
 * wiping, as libcurl does the relay password: `run` makes the process
 * non-dumpable (secret.h).
 */
struct dkimkey {
	DKIM_LIB	*lib;
	struct secret	*pem;
	dkim_alg_t	 alg;
	char		*domain;
	char		*selector;
	char		*describe;	/* "rsa-sha256 with a 2048-bit RSA key" */
	char		*record;	/* the TXT record: "v=DKIM1; k=..; p=.." */
};

/* An encrypted key would make OpenSSL ask on the terminal: refuse it. */
static int
dkimkey_no_password(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/*
 * The public half as a DNS TXT record (RFC 6376 3.6.1): for RSA the DER
 * SubjectPublicKeyInfo, for Ed25519 the bare 32 bytes (RFC 8463 4.2).
 */
static char *
dkimkey_public(EVP_PKEY *pkey, int ed25519)
{
	unsigned char	 raw[32], *der = NULL, *b64;
	size_t		 len = sizeof(raw);
	int		 n;
	char		*record;

	if (ed25519) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1)
			fatal("cannot read the Ed25519 public key");
		n = (int)len;
	} else if ((n = i2d_PUBKEY(pkey, &der)) <= 0) {
		fatal("cannot write the RSA public key");
	}
	b64 = xmalloc((size_t)n / 3 * 4 + 5);
	EVP_EncodeBlock(b64, ed25519 ? raw : der, n);
	record = xasprintf("v=DKIM1; k=%s; p=%s", ed25519 ? "ed25519" : "rsa",
	    (char *)b64);
	free(b64);
	OPENSSL_free(der);
	return record;
}

/*
 * The DKIM-Signature header line for message (len bytes, CRLF ends)
 * into header.  Returns 0, or -1 with libopendkim's reason in why.
 */
static int
dkimkey_signature(const struct dkimkey *k, const char *message, size_t len,
    struct buf *header, char *why, size_t size)
{
	DKIM		*dkim;
	DKIM_STAT	 st;
	unsigned char	*sig;
	size_t		 siglen;

	dkim = dkim_sign(k->lib, (const unsigned char *)"aftersale", NULL,
	    (dkim_sigkey_t)(uintptr_t)secret_value(k->pem),
	    (const unsigned char *)k->selector,
	    (const unsigned char *)k->domain, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, k->alg, -1, &st);
	if (dkim == NULL) {
		snprintf(why, size, "%s", dkim_getresultstr(st));
		return -1;
	}
	if ((st = dkim_chunk(dkim, (unsigned char *)(uintptr_t)message,
	    len)) != DKIM_STAT_OK ||
	    (st = dkim_chunk(dkim, NULL, 0)) != DKIM_STAT_OK ||
	    (st = dkim_eom(dkim, NULL)) != DKIM_STAT_OK ||
	    (st = dkim_getsighdr_d(dkim, strlen(DKIM_SIGNHEADER) + 2, &sig,
	    &siglen)) != DKIM_STAT_OK) {
		snprintf(why, size, "%s", dkim_geterror(dkim) != NULL ?
		    dkim_geterror(dkim) : dkim_getresultstr(st));
		dkim_free(dkim);
		return -1;
	}
	buf_printf(header, "%s: %.*s\r\n", DKIM_SIGNHEADER, (int)siglen,
	    (const char *)sig);
	dkim_free(dkim);
	return 0;
}

/*
 * Load a PEM private key (PKCS#8, or PKCS#1 for RSA; not encrypted) to
 * sign for domain and selector, which must outlive nothing: they are
 * copied.  Takes pem whatever happens.  RSA keys under 1024 bits are
 * refused (RFC 8301).  A first signature is made here, so that a key
 * libopendkim cannot use is found by check-config, not by the first
 * message.  Returns 0 and a key to free with dkimkey_free(), or -1 with
 * the reason in why (never the key itself).
 */
int
dkimkey_load(struct secret *pem, const char *domain, const char *selector,
    struct dkimkey **out, char *why, size_t size)
{
	static const char	 probe[] = "From: <probe@probe.invalid>\r\n\r\n";
	struct dkimkey		*k = xcalloc(1, sizeof(*k));
	struct buf		 header = { 0 };
	EVP_PKEY		*pkey;
	BIO			*bio;
	int			 bits;

	*out = NULL;
	k->pem = pem;
	bio = BIO_new_mem_buf(secret_value(pem), -1);
	if (bio == NULL)
		fatal("out of memory reading the DKIM key");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, dkimkey_no_password, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL) {
		snprintf(why, size, "not an unencrypted private key in PEM form "
		    "(openssl genpkey -algorithm ed25519, or rsa, writes one)");
		goto fail;
	}
	bits = EVP_PKEY_get_bits(pkey);
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_ED25519:
		k->alg = DKIM_SIGN_ED25519SHA256;
		k->describe = xstrdup("ed25519-sha256 with an Ed25519 key");
		break;
	case EVP_PKEY_RSA:
		k->alg = DKIM_SIGN_RSASHA256;
		k->describe = xasprintf("rsa-sha256 with a %d-bit RSA key", bits);
		if (bits >= 1024)
			break;
		snprintf(why, size, "a %d-bit RSA key is too weak to sign with "
		    "(RFC 8301 asks for 1024 bits at least, 2048 is usual)", bits);
		EVP_PKEY_free(pkey);
		goto fail;
	default:
		snprintf(why, size, "a %s key; DKIM signs with RSA or Ed25519",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		EVP_PKEY_free(pkey);
		goto fail;
	}
	k->record = dkimkey_public(pkey, k->alg == DKIM_SIGN_ED25519SHA256);
	EVP_PKEY_free(pkey);

	k->domain = xstrdup(domain);
	k->selector = xstrdup(selector);
	if ((k->lib = dkim_init(NULL, NULL)) == NULL)
		fatal("cannot start libopendkim (out of memory?)");
	if (dkim_options(k->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    (void *)dkimkey_headers, sizeof(char **)) != DKIM_STAT_OK)
		fatal("libopendkim refuses the list of headers to sign");
	if (dkimkey_signature(k, probe, sizeof(probe) - 1, &header, why,
	    size) == -1)
		goto fail;
	buf_free(&header);
	*out = k;
	return 0;

fail:
	buf_free(&header);
	dkimkey_free(k);
	return -1;
}

/* "rsa-sha256 with a 2048-bit RSA key", for check-config. */
const char *
dkimkey_describe(const struct dkimkey *k)
{
	return k->describe;
}

/* The TXT record to publish at SELECTOR._domainkey.DOMAIN. */
const char *
dkimkey_record(const struct dkimkey *k)
{
	return k->record;
}

/*
 * Put a DKIM-Signature header in front of message (all of it: headers,
 * blank line, body, CRLF line ends).  The key signed at load, so a
 * failure here is a broken environment (memory, libcrypto) and ends the
 * process rather than send the message unsigned.
 */
void
dkimkey_sign(const struct dkimkey *k, struct buf *message)
{
	struct buf	signed_message = { 0 };
	char		why[256];

	if (dkimkey_signature(k, message->data, message->len, &signed_message,
	    why, sizeof(why)) == -1)
		fatal("cannot sign a message with the DKIM key: %s", why);
	buf_add(&signed_message, message->data, message->len);
	buf_free(message);
	*message = signed_message;
}

void
dkimkey_free(struct dkimkey *k)
{
	if (k == NULL)
		return;
	if (k->lib != NULL)
		dkim_close(k->lib);
	secret_free(k->pem);
	free(k->domain);
	free(k->selector);
	free(k->describe);
	free(k->record);
	free(k);
}
