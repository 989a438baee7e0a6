/* queue_hold: which due messages go now, wait, or end without going. */

#include <string.h>

#include "unit.h"

#include "queue.h"
#include "timestamp.h"

#define HOUR	3600

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

/* A campaign that may send at any hour, and a config with min_gap. */
static struct campaign	anytime = { .name = "thank-you", .enabled = 1,
			    .send_window = { 0, 24 * 60 } };
static struct config	gap20h = { .delivery = { .min_gap = 20 * HOUR } };

static void
test_ends_without_going(void **state)
{
	struct queue_due	d = { .due = at("2026-11-20T10:00Z") };
	struct campaign		c = anytime;
	int64_t			postpone = -1;

	(void)state;
	assert_string_equal(queue_hold(&gap20h, NULL, &d, d.due, &postpone),
	    "cancelled");
	c.enabled = 0;		/* turned off: as good as removed */
	assert_string_equal(queue_hold(&gap20h, &c, &d, d.due, &postpone),
	    "cancelled");
	c.enabled = 1;
	d.no_consent = 1;
	assert_string_equal(queue_hold(&gap20h, &c, &d, d.due, &postpone),
	    "suppressed");
	d.no_consent = 0;
	c.expire_after = HOUR;
	assert_string_equal(queue_hold(&gap20h, &c, &d, d.due + HOUR + 1,
	    &postpone), "expired");
	assert_null(queue_hold(&gap20h, &c, &d, d.due + HOUR, &postpone));
	assert_int_equal(postpone, 0);
}

static void
test_min_gap_postpones(void **state)
{
	int64_t			now = at("2026-11-20T10:00Z"), postpone = -1;
	struct queue_due	d = { .due = now, .ever_sent = 1,
				    .last_sent = now - 2 * HOUR };

	(void)state;
	/* Sent 2 h ago: waits until 20 h after that send. */
	assert_null(queue_hold(&gap20h, &anytime, &d, now, &postpone));
	assert_int_equal(postpone, now + 18 * HOUR);
	/* Sent exactly 20 h ago: goes now. */
	d.last_sent = now - 20 * HOUR;
	assert_null(queue_hold(&gap20h, &anytime, &d, now, &postpone));
	assert_int_equal(postpone, 0);
	/* Never sent anything: min_gap does not apply. */
	d.ever_sent = 0;
	d.last_sent = now;
	assert_null(queue_hold(&gap20h, &anytime, &d, now, &postpone));
	assert_int_equal(postpone, 0);
}

static void
test_min_gap_lands_in_the_window(void **state)
{
	struct campaign		c = { .name = "review", .enabled = 1,
				    .send_window = { 9 * 60, 19 * 60 } };
	int64_t			now = at("2026-11-20T10:00Z"), postpone;
	struct queue_due	d = { .due = now, .ever_sent = 1,
				    .last_sent = at("2026-11-20T03:00Z") };

	(void)state;
	/* 03:00 + 20 h is 23:00, outside 09-19: the next morning at 09:00. */
	assert_null(queue_hold(&gap20h, &c, &d, now, &postpone));
	assert_int_equal(postpone, at("2026-11-21T09:00Z"));
	/* No gap to wait for, but outside the window: its next start. */
	d.ever_sent = 0;
	assert_null(queue_hold(&gap20h, &c, &d, at("2026-11-20T20:00Z"),
	    &postpone));
	assert_int_equal(postpone, at("2026-11-21T09:00Z"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ends_without_going),
		cmocka_unit_test(test_min_gap_postpones),
		cmocka_unit_test(test_min_gap_lands_in_the_window),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
