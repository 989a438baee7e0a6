/* Durations: what parses, to what, and what is refused. */

#include "unit.h"

#include "duration.h"

static void
test_units(void **state)
{
	int64_t s;

	(void)state;
	assert_int_equal(duration_parse("90s", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(duration_parse("15m", &s), 0);
	assert_int_equal(s, 900);
	assert_int_equal(duration_parse("2h", &s), 0);
	assert_int_equal(s, 7200);
	assert_int_equal(duration_parse("7d", &s), 0);
	assert_int_equal(s, 604800);
	assert_int_equal(duration_parse("2w", &s), 0);
	assert_int_equal(s, 1209600);
	assert_int_equal(duration_parse("3y", &s), 0);
	assert_int_equal(s, 3 * 365 * 86400);
	assert_int_equal(duration_parse("0s", &s), 0);
	assert_int_equal(s, 0);
}

static void
test_sums(void **state)
{
	int64_t s;

	(void)state;
	assert_int_equal(duration_parse("1d12h", &s), 0);
	assert_int_equal(s, 129600);
	assert_int_equal(duration_parse("1w2d3h4m5s", &s), 0);
	assert_int_equal(s, 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"", "5", "h", "2x", "-1h", "1.5h", "1h1h", "5m1d", " 1h", "1h ",
		"1 h", "99999999999999999999s", "11000d", "11y", "1d1y",
	};
	int64_t s = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(duration_parse(bad[i], &s), -1);
		assert_int_equal(s, 42);
	}
}

static void
test_format(void **state)
{
	char buf[32];

	(void)state;
	duration_format(129600, buf, sizeof(buf));
	assert_string_equal(buf, "1d12h");
	duration_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	duration_format(1209600 + 61, buf, sizeof(buf));
	assert_string_equal(buf, "2w1m1s");
	duration_format(366 * 86400, buf, sizeof(buf));
	assert_string_equal(buf, "1y1d");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
