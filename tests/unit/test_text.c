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

static void
test_format(void **state)
{
	(void)state;
	assert_int_equal(text_find_format("A-1001", 0), 0);
	assert_int_equal(text_find_format("\xef\xbb\xbf" "A-1001", 0), 0xfeff);
	assert_int_equal(text_find_format("A-1001\xe2\x80\x8b", 0), 0x200b);
	assert_int_equal(text_find_format("A-\xe2\x80\xae" "1001", 1), 0x202e);
	assert_int_equal(text_find_format("\xf3\xa0\x80\x81", 0), 0xe0001);
	/* ZWJ in an emoji stays in prose, not in an id. */
	assert_int_equal(text_find_format("\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", 1), 0);
	assert_int_equal(text_find_format("\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", 0), 0x200d);
	/* The ends of each run, and their neighbours. */
	assert_true(text_is_format(0x2066) && text_is_format(0x206f));
	assert_false(text_is_format(0x2065) || text_is_format(0x2070));
	assert_true(text_is_format(0xe0020) && text_is_format(0xe007f));
	assert_false(text_is_format(0xe0080) || text_is_format(0xad + 1));
	assert_false(text_is_format('A') || text_is_format(0x10ffff));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_closest),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
