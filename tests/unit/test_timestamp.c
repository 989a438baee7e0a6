/* Times: ISO 8601 with offsets, plain dates in the shop's timezone. */

#include <stdlib.h>

#include "unit.h"

#include "timestamp.h"

static int
setup_london(void **state)
{
	(void)state;
	return timestamp_set_timezone("Europe/London") == 0 ? 0 : -1;
}

static void
test_utc_and_offsets(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(timestamp_parse("2026-11-20T10:00:00Z", &t), 0);
	assert_int_equal(t, 1795168800);
	assert_int_equal(timestamp_parse("2026-11-20T11:00:00+01:00", &t), 0);
	assert_int_equal(t, 1795168800);
	assert_int_equal(timestamp_parse("2026-11-20T05:30:00-0430", &t), 0);
	assert_int_equal(t, 1795168800);
	assert_int_equal(timestamp_parse("2026-11-20 10:00:00.250Z", &t), 0);
	assert_int_equal(t, 1795168800);
	assert_int_equal(timestamp_parse("2026-11-20T10:00Z", &t), 0);
	assert_int_equal(t, 1795168800);
}

static void
test_local_dates(void **state)
{
	int64_t t;

	(void)state;
	/* Winter: London is UTC. */
	assert_int_equal(timestamp_parse("2026-11-20", &t), 0);
	assert_int_equal(t, 1795132800);
	/* Summer: midnight BST is 23:00 UTC the day before. */
	assert_int_equal(timestamp_parse("2026-07-01", &t), 0);
	assert_int_equal(t, 1782860400);
	assert_int_equal(timestamp_parse("2026-07-01T09:00:00", &t), 0);
	assert_int_equal(t, 1782860400 + 9 * 3600);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"", "2026", "2026-11", "2026-13-01", "2026-02-29", "2026-11-31",
		"2026-11-20T25:00:00Z", "2026-11-20T10:60:00Z", "2026-11-20T10",
		"2026-11-20T10:00:00+15:00", "2026-11-20T10:00:00X", "20261120",
		"1969-12-31", "2026-11-20Z", "yesterday", "2026-11-20T10:00:00.Z",
	};
	int64_t t = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (timestamp_parse(bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 7);
	}
	assert_int_equal(timestamp_parse("2028-02-29", &t), 0);
}

static void
test_format(void **state)
{
	char buf[TIMESTAMP_LEN];

	(void)state;
	timestamp_format(1795168800, buf);
	assert_string_equal(buf, "2026-11-20T10:00:00Z");
}

static void
test_timezones(void **state)
{
	(void)state;
	assert_int_equal(timestamp_set_timezone("Mars/Olympus"), -1);
	assert_int_equal(timestamp_set_timezone("../../etc/passwd"), -1);
	assert_int_equal(timestamp_set_timezone("/etc/localtime"), -1);
	assert_int_equal(timestamp_set_timezone(""), -1);
	assert_int_equal(timestamp_set_timezone("America/New_York"), 0);
	assert_int_equal(timestamp_set_timezone("Europe/London"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc_and_offsets),
		cmocka_unit_test(test_local_dates),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_timezones),
	};

	return cmocka_run_group_tests(tests, setup_london, NULL);
}
