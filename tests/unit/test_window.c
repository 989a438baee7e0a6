/* Send windows in the shop's timezone, across midnight and DST. */

#include "unit.h"

#include "timestamp.h"
#include "window.h"

static int64_t
at(const char *text)
{
	int64_t t;

	assert_int_equal(timestamp_parse(text, &t), 0);
	return t;
}

static int
setup(void **state)
{
	(void)state;
	return timestamp_set_timezone("Europe/London");
}

static void
test_day_window(void **state)
{
	struct window w = { 9 * 60, 19 * 60 };

	(void)state;
	assert_int_equal(window_next(&w, at("2026-11-20T10:30")), at("2026-11-20T10:30"));
	assert_int_equal(window_next(&w, at("2026-11-20T07:15")), at("2026-11-20T09:00"));
	assert_int_equal(window_next(&w, at("2026-11-20T19:00")), at("2026-11-21T09:00"));
	assert_int_equal(window_next(&w, at("2026-11-20T23:59")), at("2026-11-21T09:00"));
	assert_int_equal(window_next(&w, at("2026-12-31T20:00")), at("2027-01-01T09:00"));
}

static void
test_overnight_window(void **state)
{
	struct window w = { 22 * 60, 6 * 60 };

	(void)state;
	assert_int_equal(window_next(&w, at("2026-11-20T23:00")), at("2026-11-20T23:00"));
	assert_int_equal(window_next(&w, at("2026-11-20T03:00")), at("2026-11-20T03:00"));
	assert_int_equal(window_next(&w, at("2026-11-20T12:00")), at("2026-11-20T22:00"));
}

static void
test_daylight_saving(void **state)
{
	struct window w = { 9 * 60, 19 * 60 };
	struct window all = { 0, 24 * 60 };

	(void)state;
	/* London moves to BST on 2026-03-29: 09:00 local is 08:00 UTC. */
	assert_int_equal(window_next(&w, at("2026-03-28T20:00")),
	    at("2026-03-29T08:00:00Z"));
	assert_int_equal(window_next(&all, at("2026-03-29T01:30:00Z")),
	    at("2026-03-29T01:30:00Z"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_day_window),
		cmocka_unit_test(test_overnight_window),
		cmocka_unit_test(test_daylight_saving),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
