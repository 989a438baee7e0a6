/* UTF-8 validity, control characters, and "did you mean" distances. */

#include "unit.h"

#include "text.h"

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(text_utf8_valid("plain ascii"));
	assert_true(text_utf8_valid("Chloé Ødegård — 東京 🎉"));
	assert_false(text_utf8_valid("\xff"));
	assert_false(text_utf8_valid("caf\xe9"));		/* Latin-1 é */
	assert_false(text_utf8_valid("\xc0\xaf"));		/* overlong '/' */
	assert_false(text_utf8_valid("\xed\xa0\x80"));		/* surrogate */
	assert_false(text_utf8_valid("\xf4\x90\x80\x80"));	/* > U+10FFFF */
	assert_false(text_utf8_valid("\xe2\x82"));		/* truncated */
	assert_int_equal(text_utf8_length("Chloé"), 5);
}

static void
test_control(void **state)
{
	(void)state;
	assert_false(text_has_control("Ana Lima"));
	assert_false(text_has_control("Chloé"));
	assert_true(text_has_control("Ana\r\nBcc: x@y.z"));
	assert_true(text_has_control("Ana\nLima"));
	assert_true(text_has_control("Ana\tLima"));
	assert_true(text_has_control("Ana\x7f"));
	assert_true(text_has_control("Ana\xc2\x85"));		/* NEL */
}

static void
test_closest(void **state)
{
	static const char *const keys[] = { "after", "name", "template", "on" };

	(void)state;
	assert_int_equal(text_distance("afer", "after"), 1);
	assert_int_equal(text_distance("", "abc"), 3);
	assert_string_equal(text_closest("afer", keys, 4), "after");
	assert_string_equal(text_closest("tempalte", keys, 4), "template");
	assert_null(text_closest("schedule", keys, 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_closest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
