/*
 * DKIM: Ed25519 signatures are made by our relaxed canonicalization and
 * libcrypto, RSA ones by libopendkim; the body hash of both must agree
 * on bodies that relaxed canonicalization changes.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "unit.h"

#include "dkimkey.h"

/* A new key of `type` ("ED25519", or "RSA" of 2048 bits), loaded. */
static struct dkimkey *
key(const char *type)
{
	char		 path[4200], why[512];
	EVP_PKEY	*pkey;
	FILE		*fp;
	struct secret	*pem;
	struct dkimkey	*k;

	pkey = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)2048) : EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(pkey);
	snprintf(path, sizeof(path), "%s/%s.pem", unit_tmpdir("dkimkey"), type);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
	EVP_PKEY_free(pkey);
	assert_int_equal(secret_read(path, NULL, SECRET_PEM, &pem, why,
	    sizeof(why)), 0);
	assert_int_equal(dkimkey_load(pem, "acme.example", "as1", &k, why,
	    sizeof(why)), 0);
	return k;
}

/* The bh= of the signature that k puts on a message with this body. */
static char *
body_hash(const struct dkimkey *k, const char *body)
{
	struct buf	 m = { 0 };
	char		*bh, *end, *copy;

	buf_printf(&m, "From: <a@acme.example>\r\nSubject:  two   spaces \r\n"
	    "\r\n%s", body);
	dkimkey_sign(k, &m);
	assert_non_null(bh = strstr(m.data, "bh="));
	assert_non_null(end = strchr(bh, ';'));
	copy = strndup(bh + 3, (size_t)(end - bh - 3));
	buf_free(&m);
	return copy;
}

static void
test_body_hash_agrees(void **state)
{
	static const char *const bodies[] = {
		"plain\r\n",
		"  leading  and inner\t\tspace, trailing  \r\n",
		"empty lines at the end\r\n\r\n\r\n \r\n",
		"inside\r\n\r\n\r\nkept\r\n",
		"\r\n",
		"",
	};
	struct dkimkey	*rsa = key("RSA"), *ed25519 = key("ED25519");

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char *a = body_hash(rsa, bodies[i]), *b = body_hash(ed25519,
		    bodies[i]);

		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	dkimkey_free(rsa);
	dkimkey_free(ed25519);
}

/* The header check-config prints: the algorithm and the record. */
static void
test_describe(void **state)
{
	struct dkimkey *k = key("ED25519");

	(void)state;
	assert_string_equal(dkimkey_describe(k), "ed25519-sha256 with an Ed25519 key");
	assert_true(strncmp(dkimkey_record(k), "v=DKIM1; k=ed25519; p=", 22) == 0);
	assert_int_equal(strlen(dkimkey_record(k)), 22 + 44);
	dkimkey_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_hash_agrees),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
