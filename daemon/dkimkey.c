/* DKIM signatures (RFC 6376, RFC 8463) on the messages we build. */

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
 * RSA keys sign with libopendkim, which is handed the key as PEM text at
 * each signature and parses it there; it copies it into its own heap and
 * frees it without wiping, as libcurl does the relay password: `run`
 * makes the process non-dumpable (secret.h).  Ed25519 keys sign with
 * libcrypto (see dkimkey_ed25519).
 */
struct dkimkey {
	DKIM_LIB	*lib;		/* RSA */
	struct secret	*pem;		/* RSA */
	EVP_PKEY	*ed25519;	/* Ed25519 */
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

/* Append the base64 of in (n bytes) to b. */
static void
dkimkey_base64(struct buf *b, const unsigned char *in, size_t n)
{
	char *out = xmalloc(n / 3 * 4 + 5);

	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	buf_addstr(b, out);
	free(out);
}

/*
 * The public half as a DNS TXT record (RFC 6376 3.6.1): for RSA the DER
 * SubjectPublicKeyInfo, for Ed25519 the bare 32 bytes (RFC 8463 4.2).
 */
static char *
dkimkey_public(EVP_PKEY *pkey, int ed25519)
{
	unsigned char	 raw[32], *der = NULL;
	size_t		 len = sizeof(raw);
	struct buf	 record = { 0 };
	int		 n;

	if (ed25519) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1)
			fatal("cannot read the Ed25519 public key");
		n = (int)len;
	} else if ((n = i2d_PUBKEY(pkey, &der)) <= 0) {
		fatal("cannot write the RSA public key");
	}
	buf_printf(&record, "v=DKIM1; k=%s; p=", ed25519 ? "ed25519" : "rsa");
	dkimkey_base64(&record, ed25519 ? raw : der, (size_t)n);
	OPENSSL_free(der);
	return record.data;
}

/*
 * The DKIM-Signature header line for message (len bytes, CRLF ends)
 * into header, by libopendkim.  Returns 0, or -1 with its reason in why.
 */
static int
dkimkey_rsa(const struct dkimkey *k, const char *message, size_t len,
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
	    DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
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
 * Relaxed canonicalization of one line, or of a header field's value
 * (RFC 6376 3.4.2, 3.4.4), into out: each run of white space becomes one
 * space, and none is left at the end.  A fold (CRLF before white space)
 * is white space too: unfolding takes the CRLF out.
 */
static void
dkimkey_relaxed(const char *p, const char *end, struct buf *out)
{
	int space = 0;

	for (; p < end; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			space = 1;
			continue;
		}
		if (space)
			buf_addc(out, ' ');
		space = 0;
		buf_addc(out, *p);
	}
}

/*
 * The relaxed body (RFC 6376 3.4.4): its lines relaxed, the empty lines
 * at its end dropped, and each line ended with CRLF.
 */
static void
dkimkey_relaxed_body(const char *body, const char *end, struct buf *out)
{
	size_t empty = 0;	/* empty lines held back: kept if text follows */

	while (body < end) {
		const char *eol = memmem(body, (size_t)(end - body), "\r\n", 2);
		const char *stop = eol != NULL ? eol : end;

		if (body + strspn(body, " \t") >= stop) {
			empty++;
		} else {
			for (; empty > 0; empty--)
				buf_addstr(out, "\r\n");
			dkimkey_relaxed(body, stop, out);
			buf_addstr(out, "\r\n");
		}
		body = eol != NULL ? eol + 2 : end;
	}
}

/*
 * A header field (name, colon, value, folds; no final CRLF) relaxed
 * (RFC 6376 3.4.2): the name in lower case, no white space around the
 * colon, the value relaxed and unfolded.
 */
static void
dkimkey_relaxed_header(const char *field, const char *end, struct buf *out)
{
	const char *colon = memchr(field, ':', (size_t)(end - field));
	const char *name_end = colon;

	while (name_end > field && (name_end[-1] == ' ' || name_end[-1] == '\t'))
		name_end--;
	for (const char *p = field; p < name_end; p++)
		buf_addc(out, (char)tolower((unsigned char)*p));
	buf_addc(out, ':');
	for (colon++; colon < end && (*colon == ' ' || *colon == '\t' ||
	    *colon == '\r' || *colon == '\n'); colon++)
		;
	dkimkey_relaxed(colon, end, out);
}

/* The length of the header field at p, folds included, final CRLF not. */
static size_t
dkimkey_field(const char *p, const char *end)
{
	for (const char *q = p;;) {
		const char *crlf = memmem(q, (size_t)(end - q), "\r\n", 2);

		if (crlf == NULL)
			return (size_t)(end - p);
		if (crlf + 2 >= end || (crlf[2] != ' ' && crlf[2] != '\t'))
			return (size_t)(crlf - p);
		q = crlf + 2;
	}
}

/* Append token to the header in b after sep, or after a fold past 78. */
static void
dkimkey_fold(struct buf *b, size_t *col, const char *sep, const char *token)
{
	size_t len = strlen(token);

	if (*col + strlen(sep) + len > 78) {
		buf_addstr(b, "\r\n\t");
		*col = 1;
	} else {
		buf_addstr(b, sep);
		*col += strlen(sep);
	}
	buf_addstr(b, token);
	*col += len;
}

/* SHA-256; libcrypto fails here only when it is broken. */
static void
dkimkey_sha256(const struct buf *data, unsigned char hash[32])
{
	if (EVP_Digest(data->data, data->len, hash, NULL, EVP_sha256(),
	    NULL) != 1)
		fatal("libcrypto cannot compute SHA-256");
}

/*
 * The header fields to sign, of the headers (up to end), relaxed into
 * hashed in the order of dkimkey_headers, each one's last instance
 * (RFC 6376 5.4.2); their names go in names.  Returns how many.
 */
static size_t
dkimkey_signed_fields(const char *headers, const char *end,
    struct buf *hashed, const char **names)
{
	size_t n = 0;

	for (const char *const *name = dkimkey_headers; *name != NULL; name++) {
		const char	*found = NULL;
		size_t		 len = strlen(*name), flen;

		for (const char *p = headers; p < end; p += flen + 2) {
			flen = dkimkey_field(p, end);
			if (flen > len && p[len] == ':' &&
			    strncasecmp(p, *name, len) == 0)
				found = p;
		}
		if (found == NULL)
			continue;
		dkimkey_relaxed_header(found, found + dkimkey_field(found, end),
		    hashed);
		buf_addstr(hashed, "\r\n");
		names[n++] = *name;
	}
	return n;
}

/*
 * The DKIM-Signature header line for message (len bytes, CRLF ends) into
 * header (empty), Ed25519-SHA256 with libcrypto.  libopendkim
 * 2.11.0~beta2, which Debian 12 ships, signs Ed25519 right but leaks the
 * key it parses for each signature (its dkim_free() frees the crypto
 * state of RSA signatures only; fixed upstream by OpenDKIM pull request
 * 321): 1,240 bytes a message by LeakSanitizer, 546 bytes of RSS a
 * message measured over 20,000, which a daemon signing every message
 * cannot carry.  So here: the signed header fields and the body relaxed
 * (RFC 6376 3.7), SHA-256 over them, and Ed25519 over that hash (RFC 8463
 * 3).  Returns 0, or -1 with libcrypto's failure in why.
 */
static int
dkimkey_ed25519(const struct dkimkey *k, const char *message, size_t len,
    struct buf *header, char *why, size_t size)
{
	const char	*blank = memmem(message, len, "\r\n\r\n", 4);
	const char	*names[sizeof(dkimkey_headers) / sizeof(dkimkey_headers[0])];
	struct buf	 body = { 0 }, hashed = { 0 }, token = { 0 };
	unsigned char	 hash[32], sig[64];
	size_t		 col = strlen(DKIM_SIGNHEADER) + 1, siglen = sizeof(sig);
	size_t		 n;
	EVP_MD_CTX	*ctx;
	int		 rc = -1;

	assert(blank != NULL);		/* the messages we build have a body */
	dkimkey_relaxed_body(blank + 4, message + len, &body);
	dkimkey_sha256(&body, hash);
	n = dkimkey_signed_fields(message, blank + 2, &hashed, names);

	buf_printf(header, "%s:", DKIM_SIGNHEADER);
	buf_printf(&token, "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=%s;",
	    k->domain);
	dkimkey_fold(header, &col, " ", token.data);
	buf_free(&token);
	buf_printf(&token, "s=%s;", k->selector);
	dkimkey_fold(header, &col, " ", token.data);
	buf_free(&token);
	buf_printf(&token, "t=%lld;", (long long)time(NULL));
	dkimkey_fold(header, &col, " ", token.data);
	buf_free(&token);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&token, "%s%s%s", i == 0 ? "h=" : "", names[i],
		    i + 1 < n ? ":" : ";");
		dkimkey_fold(header, &col, i == 0 ? " " : "", token.data);
		buf_free(&token);
	}
	buf_addstr(&token, "bh=");
	dkimkey_base64(&token, hash, sizeof(hash));
	buf_addc(&token, ';');
	dkimkey_fold(header, &col, " ", token.data);
	buf_free(&token);
	dkimkey_fold(header, &col, " ", "b=");

	/* The header as written, b= empty, without its CRLF, ends the data. */
	dkimkey_relaxed_header(header->data, header->data + header->len,
	    &hashed);
	dkimkey_sha256(&hashed, hash);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatal("out of memory signing with the DKIM key");
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->ed25519) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, hash, sizeof(hash)) != 1) {
		snprintf(why, size, "Ed25519 signing failed: %s",
		    ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		goto out;
	}
	/* Verifiers ignore white space in b=: it folds anywhere. */
	dkimkey_base64(&token, sig, siglen);
	for (const char *p = token.data; *p != '\0'; p += n) {
		if (col + 8 > 78) {
			buf_addstr(header, "\r\n\t");
			col = 1;
		}
		n = strnlen(p, 78 - col);
		buf_add(header, p, n);
		col += n;
	}
	buf_addstr(header, "\r\n");
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	buf_free(&token);
	buf_free(&hashed);
	buf_free(&body);
	return rc;
}

/* The DKIM-Signature header line for message, as the key's kind makes it. */
static int
dkimkey_signature(const struct dkimkey *k, const char *message, size_t len,
    struct buf *header, char *why, size_t size)
{
	if (k->ed25519 != NULL)
		return dkimkey_ed25519(k, message, len, header, why, size);
	return dkimkey_rsa(k, message, len, header, why, size);
}

/*
 * Load a PEM private key (PKCS#8, or PKCS#1 for RSA; not encrypted) to
 * sign for domain and selector, which are copied.  Takes pem whatever
 * happens.  RSA keys under 1024 bits are refused (RFC 8301).  A first
 * signature is made here, so that a key that cannot sign is found by
 * check-config, not by the first message.  Returns 0 and a key to free
 * with dkimkey_free(), or -1 with the reason in why (never the key).
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
	k->domain = xstrdup(domain);
	k->selector = xstrdup(selector);
	if ((bio = BIO_new_mem_buf(secret_value(pem), -1)) == NULL)
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
		/* libcrypto holds the key from now on. */
		k->describe = xstrdup("ed25519-sha256 with an Ed25519 key");
		k->record = dkimkey_public(pkey, 1);
		k->ed25519 = pkey;
		secret_free(k->pem);
		k->pem = NULL;
		break;
	case EVP_PKEY_RSA:
		k->describe = xasprintf("rsa-sha256 with a %d-bit RSA key", bits);
		k->record = dkimkey_public(pkey, 0);
		EVP_PKEY_free(pkey);
		if (bits < 1024) {
			snprintf(why, size, "a %d-bit RSA key is too weak to sign "
			    "with (RFC 8301 asks for 1024 bits at least, 2048 is "
			    "usual)", bits);
			goto fail;
		}
		if ((k->lib = dkim_init(NULL, NULL)) == NULL)
			fatal("cannot start libopendkim (out of memory?)");
		if (dkim_options(k->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
		    (void *)dkimkey_headers, sizeof(char **)) != DKIM_STAT_OK)
			fatal("libopendkim refuses the list of headers to sign");
		break;
	default:
		snprintf(why, size, "a %s key; DKIM signs with RSA or Ed25519",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		EVP_PKEY_free(pkey);
		goto fail;
	}
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
	EVP_PKEY_free(k->ed25519);
	free(k->domain);
	free(k->selector);
	free(k->describe);
	free(k->record);
	free(k);
}
