/* Codes: referral codes from ids and back, and a human's spelling. */

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_referral_round_trip),
		cmocka_unit_test(test_referral_codes_look_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
