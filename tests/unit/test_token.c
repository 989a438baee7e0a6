/* Codes: referral codes and unsubscribe tokens from ids and back, and a
 * human's spelling. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "token.h"

static const unsigned char key[REFERRAL_KEY_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

static void
test_referral_round_trip(void **state)
{
	static const int64_t ids[] = { 0, 1, 2, 3, 1000, 366893,
	    (INT64_C(1) << 20) - 1, INT64_C(1) << 20, REFERRAL_ID_MAX };
	char code[REFERRAL_CODE_LEN + 1], again[REFERRAL_CODE_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		token_referral_code(key, ids[i], code);
		assert_int_equal(strlen(code), REFERRAL_CODE_LEN);
		assert_int_equal(token_normalize(code, again, REFERRAL_CODE_LEN), 0);
		assert_string_equal(code, again);
		assert_int_equal(token_referral_id(key, code), ids[i]);
	}
	assert_int_equal(token_referral_id(key, "ABC"), -1);
	assert_int_equal(token_referral_id(key, "ABCDEFGHJ"), -1);
	assert_int_equal(token_referral_id(key, "ABCDEFGU"), -1);
}

/* Unique by construction; neighbours look nothing alike; the key matters. */
static void
test_referral_codes_look_random(void **state)
{
	static char		codes[4096][REFERRAL_CODE_LEN + 1];
	unsigned char		other[REFERRAL_KEY_LEN];
	char			code[REFERRAL_CODE_LEN + 1];
	int			same_first = 0;

	(void)state;
	for (int i = 0; i < 4096; i++)
		token_referral_code(key, i + 1, codes[i]);
	for (int i = 0; i < 4096; i++)
		for (int j = i + 1; j < 4096; j++)
			assert_string_not_equal(codes[i], codes[j]);
	for (int i = 1; i < 4096; i++)
		same_first += codes[i][0] == codes[i - 1][0];
	assert_true(same_first < 4096 / 8);
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	token_referral_code(other, 1, code);
	assert_string_not_equal(code, codes[0]);
	assert_int_not_equal(token_referral_id(other, codes[0]), 1);
}

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* FIPS-197's example key. */
static const unsigned char ukey[UNSUBSCRIBE_KEY_LEN] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
};

/* Every id comes back from its token, spelt as links spell tokens. */
static void
test_unsubscribe_round_trip(void **state)
{
	static const int64_t ids[] = { 0, 1, 2, 255, 256, 366893,
	    INT64_C(1) << 32, REFERRAL_ID_MAX, INT64_MAX };
	struct token_cipher	*c = token_cipher_new(ukey);
	char			 token[UNSUBSCRIBE_TOKEN_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		token_unsubscribe(c, ids[i], token);
		assert_int_equal(strlen(token), UNSUBSCRIBE_TOKEN_LEN);
		assert_int_equal(strspn(token, alphabet),
		    UNSUBSCRIBE_TOKEN_LEN);
		assert_int_equal(token_unsubscribe_id(c, token), ids[i]);
	}
	token_cipher_free(c);
}

/*
 * AES-128 of (id 1, 8 zero bytes) under that key, in base32: worked out
 * with `openssl enc -aes-128-ecb -nopad`, so the token is the one the
 * design names, not just one that comes back.
 */
static void
test_unsubscribe_known_answer(void **state)
{
	struct token_cipher	*c = token_cipher_new(ukey);
	char			 token[UNSUBSCRIBE_TOKEN_LEN + 1];

	(void)state;
	token_unsubscribe(c, 1, token);
	assert_string_equal(token, "6W18XW71G9R9QPYAK3MEEFFVMK");
	token_cipher_free(c);
}

/* Not ours: a changed symbol, other lengths and symbols, padding bits. */
static void
test_unsubscribe_rejects(void **state)
{
	struct token_cipher	*c = token_cipher_new(ukey);
	char			 token[UNSUBSCRIBE_TOKEN_LEN + 1], bad[64];

	(void)state;
	token_unsubscribe(c, 42, token);
	/* Any one symbol changed to any other. */
	for (int i = 0; i < UNSUBSCRIBE_TOKEN_LEN; i++)
		for (const char *a = alphabet; *a != '\0'; a++) {
			if (*a == token[i])
				continue;
			strcpy(bad, token);
			bad[i] = *a;
			assert_int_equal(token_unsubscribe_id(c, bad), -1);
		}
	/* The same 128 bits with a padding bit set. */
	strcpy(bad, token);
	bad[0] = alphabet[(strchr(alphabet, token[0]) - alphabet) | 8];
	assert_int_equal(token_unsubscribe_id(c, bad), -1);
	strcpy(bad, token);
	bad[3] = bad[3] == 'A' ? 'B' : 'A';
	bad[3] = (char)tolower((unsigned char)bad[3]);
	assert_int_equal(token_unsubscribe_id(c, bad), -1);
	bad[3] = 'U';
	assert_int_equal(token_unsubscribe_id(c, bad), -1);
	assert_int_equal(token_unsubscribe_id(c, ""), -1);
	assert_int_equal(token_unsubscribe_id(c, "0123456789ABCDEFGHJKMNPQR"), -1);
	snprintf(bad, sizeof(bad), "%s0", token);
	assert_int_equal(token_unsubscribe_id(c, bad), -1);
	/* A token drawn at random (before migration 0016). */
	assert_int_equal(token_unsubscribe_id(c, "K3X9QF2MK3X9QF2MK3X9QF2MAB"), -1);
	assert_int_equal(token_unsubscribe_id(c, "0" "0000000000000000000000000"), -1);
	token_cipher_free(c);
}

/* Unique by construction, neighbours unalike, and the key matters. */
static void
test_unsubscribe_tokens_distinct(void **state)
{
	enum { N = 10000 };
	static char		 tokens[N][UNSUBSCRIBE_TOKEN_LEN + 1];
	unsigned char		 other[UNSUBSCRIBE_KEY_LEN];
	struct token_cipher	*c = token_cipher_new(ukey), *o;
	int			 same_second = 0;

	(void)state;
	for (int i = 0; i < N; i++)
		token_unsubscribe(c, i + 1, tokens[i]);
	qsort(tokens, N, sizeof(tokens[0]),
	    (int (*)(const void *, const void *))strcmp);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(tokens[i - 1], tokens[i]);
	for (int i = 1; i < N; i++) {
		char a[UNSUBSCRIBE_TOKEN_LEN + 1], b[UNSUBSCRIBE_TOKEN_LEN + 1];

		token_unsubscribe(c, i, a);
		token_unsubscribe(c, i + 1, b);
		same_second += a[1] == b[1];
	}
	assert_true(same_second < N / 8);
	memcpy(other, ukey, sizeof(other));
	other[15] ^= 0x80;
	o = token_cipher_new(other);
	token_unsubscribe(c, 7, tokens[0]);
	assert_int_equal(token_unsubscribe_id(c, tokens[0]), 7);
	assert_int_equal(token_unsubscribe_id(o, tokens[0]), -1);
	token_unsubscribe(o, 7, tokens[1]);
	assert_string_not_equal(tokens[0], tokens[1]);
	assert_int_equal(token_unsubscribe_id(c, tokens[1]), -1);
	token_cipher_free(o);
	token_cipher_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_referral_round_trip),
		cmocka_unit_test(test_referral_codes_look_random),
		cmocka_unit_test(test_unsubscribe_round_trip),
		cmocka_unit_test(test_unsubscribe_known_answer),
		cmocka_unit_test(test_unsubscribe_rejects),
		cmocka_unit_test(test_unsubscribe_tokens_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
