/* Delivery policy: SMTP results to outcomes, retry times, relay backoff. */

#include "unit.h"

#include <string.h>

#include "delivery.h"

static struct smtp_result
result(enum smtp_error error, enum smtp_stage stage, int code, const char *reply)
{
	struct smtp_result r;

	memset(&r, 0, sizeof(r));
	r.error = error;
	r.stage = stage;
	r.code = code;
	snprintf(r.reply, sizeof(r.reply), "%s", reply);
	snprintf(r.detail, sizeof(r.detail), "libcurl says no");
	return r;
}

static enum queue_outcome
outcome(enum smtp_error error, enum smtp_stage stage, int code)
{
	struct smtp_result	r = result(error, stage, code, code ? "xyz" : "");
	char			why[600];

	return delivery_outcome(&r, why, sizeof(why));
}

static void
test_sent(void **state)
{
	struct smtp_result	r = result(SMTP_OK, SMTP_STAGE_END, 250,
				    "250 2.0.0 Ok: queued");
	char			why[600];

	(void)state;
	assert_int_equal(delivery_outcome(&r, why, sizeof(why)), QUEUE_SENT);
	assert_string_equal(why, "250 2.0.0 Ok: queued");
}

static void
test_replies_by_stage(void **state)
{
	(void)state;
	/* 4xx defers wherever it comes. */
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_EHLO, 421), QUEUE_DEFERRED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_MAIL, 451), QUEUE_DEFERRED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_RCPT, 450), QUEUE_DEFERRED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_DATA, 451), QUEUE_DEFERRED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_END, 452), QUEUE_DEFERRED);
	/* 5xx in the transaction fails the message... */
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_RCPT, 554), QUEUE_FAILED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_DATA, 554), QUEUE_FAILED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_END, 552), QUEUE_FAILED);
	/* ...and 550/551/553 to RCPT says the address is bad. */
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_RCPT, 550), QUEUE_BOUNCED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_RCPT, 551), QUEUE_BOUNCED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_RCPT, 553), QUEUE_BOUNCED);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_END, 550), QUEUE_FAILED);
	/* Before the transaction, 5xx is the relay's trouble or ours. */
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_EHLO, 554), QUEUE_RELAY_DOWN);
	assert_int_equal(outcome(SMTP_REPLY, SMTP_STAGE_MAIL, 553), QUEUE_RELAY_DOWN);
}

static void
test_transport_failures(void **state)
{
	(void)state;
	assert_int_equal(outcome(SMTP_UNREACHABLE, SMTP_STAGE_CONNECT, 0),
	    QUEUE_RELAY_DOWN);
	assert_int_equal(outcome(SMTP_TLS, SMTP_STAGE_STARTTLS, 0), QUEUE_RELAY_DOWN);
	assert_int_equal(outcome(SMTP_LOGIN, SMTP_STAGE_AUTH, 535), QUEUE_RELAY_DOWN);
	assert_int_equal(outcome(SMTP_LOCAL, SMTP_STAGE_CONNECT, 0), QUEUE_RELAY_DOWN);
	/* In a transaction, timeouts and broken connections defer. */
	assert_int_equal(outcome(SMTP_TIMEOUT, SMTP_STAGE_RCPT, 250), QUEUE_DEFERRED);
	assert_int_equal(outcome(SMTP_TIMEOUT, SMTP_STAGE_END, 354), QUEUE_DEFERRED);
	assert_int_equal(outcome(SMTP_BROKEN, SMTP_STAGE_DATA, 0), QUEUE_DEFERRED);
}

static void
test_why_names_the_stage(void **state)
{
	struct smtp_result	r = result(SMTP_REPLY, SMTP_STAGE_RCPT, 550,
				    "550 5.1.1 no such user");
	char			why[600];

	(void)state;
	delivery_outcome(&r, why, sizeof(why));
	assert_string_equal(why, "550 5.1.1 no such user after RCPT");
	r = result(SMTP_TIMEOUT, SMTP_STAGE_END, 354, "354 go ahead");
	delivery_outcome(&r, why, sizeof(why));
	assert_string_equal(why, "no reply in time after end of DATA");
	r = result(SMTP_UNREACHABLE, SMTP_STAGE_CONNECT, 0, "");
	delivery_outcome(&r, why, sizeof(why));
	assert_string_equal(why, "libcurl says no");
}

static void
test_retry_list_last_repeats(void **state)
{
	int64_t		v[] = { 60, 300, 3600 };
	struct config	cfg;
	uint64_t	rng = 42;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.delivery.retry.v = v;
	cfg.delivery.retry.n = 3;
	for (int i = 0; i < 200; i++) {
		int64_t at1 = delivery_retry_at(&cfg, 1, 1000, &rng);
		int64_t at2 = delivery_retry_at(&cfg, 2, 1000, &rng);
		int64_t at9 = delivery_retry_at(&cfg, 9, 1000, &rng);

		/* +-10% at most. */
		assert_in_range(at1, 1000 + 54, 1000 + 66);
		assert_in_range(at2, 1000 + 270, 1000 + 330);
		assert_in_range(at9, 1000 + 3240, 1000 + 3960);
	}
}

static void
test_jitter_spreads(void **state)
{
	int64_t		v[] = { 3600 };
	struct config	cfg;
	uint64_t	rng = delivery_seed(), other = delivery_seed();
	int64_t		lo = INT64_MAX, hi = 0;
	int		same = 0;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.delivery.retry.v = v;
	cfg.delivery.retry.n = 1;
	for (int i = 0; i < 1000; i++) {
		int64_t at = delivery_retry_at(&cfg, 1, 0, &rng);

		lo = at < lo ? at : lo;
		hi = at > hi ? at : hi;
		same += at == delivery_retry_at(&cfg, 1, 0, &other);
	}
	/* Spread over most of the +-360 s band, and two seeds differ. */
	assert_true(lo < 3600 - 300 && hi > 3600 + 300);
	assert_true(same < 50);
	/* A delay under 10 s has no jitter to spread. */
	v[0] = 9;
	assert_int_equal(delivery_retry_at(&cfg, 1, 100, &rng), 109);
}

static void
test_give_up_from_due_time(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.delivery.give_up_after = 3 * 86400;
	assert_false(delivery_gives_up(&cfg, 1000, 1000));
	assert_false(delivery_gives_up(&cfg, 1000, 1000 + 3 * 86400 - 1));
	assert_true(delivery_gives_up(&cfg, 1000, 1000 + 3 * 86400));
	/* Due long before the first try: gives up at once. */
	assert_true(delivery_gives_up(&cfg, 1000, 1000 + 30 * 86400));
}

/*
 * The verdict: a deferral goes again along the retry list, or after the
 * relay's pause when the relay was unusable (no attempt spent), and
 * fails once give_up_after has passed since the message was first due.
 */
static void
test_verdict(void **state)
{
	static int64_t		retry[] = { 60 };
	struct config		cfg;
	struct outgoing		o = { .id = 1, .attempts = 2, .first_due = 1000 };
	struct smtp_result	soft = result(SMTP_REPLY, SMTP_STAGE_END, 451,
				    "451 4.3.0 later");
	struct smtp_result	down = result(SMTP_UNREACHABLE,
				    SMTP_STAGE_CONNECT, 0, "");
	struct delivery_verdict	v;
	uint64_t		rng = 1;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.delivery.retry.v = retry;
	cfg.delivery.retry.n = 1;
	cfg.delivery.give_up_after = 86400;

	delivery_judge(&cfg, &soft, &o, 2000, 0, &rng, &v);
	assert_int_equal(v.outcome, QUEUE_DEFERRED);
	assert_false(v.relay_down);
	assert_true(v.retry_at > 2000 && v.retry_at <= 2000 + 2 * 60);

	delivery_judge(&cfg, &down, &o, 2000, 2300, &rng, &v);
	assert_int_equal(v.outcome, QUEUE_DEFERRED);
	assert_true(v.relay_down);
	assert_int_equal(v.retry_at, 2300);

	delivery_judge(&cfg, &soft, &o, 1000 + 86400, 0, &rng, &v);
	assert_int_equal(v.outcome, QUEUE_FAILED);
	assert_false(v.relay_down);
	assert_non_null(strstr(v.why, "gave up after 2 attempts: "));
	assert_non_null(strstr(v.why, "451 4.3.0 later"));

	delivery_judge(&cfg, &down, &o, 1000 + 86400, 0, &rng, &v);
	assert_int_equal(v.outcome, QUEUE_FAILED);
	assert_true(v.relay_down);
	assert_non_null(strstr(v.why, "gave up after 1 attempt: "));
}

static void
test_relay_backoff_doubles(void **state)
{
	struct delivery_backoff	b = { 0, 0 };
	int64_t			now = 1000;

	(void)state;
	assert_int_equal(delivery_relay_down(&b, now), 1);
	assert_int_equal(b.seconds, 5);
	assert_int_equal(b.until, now + 5);
	/* Answers arriving during the pause do not double it. */
	assert_int_equal(delivery_relay_down(&b, now + 1), 0);
	assert_int_equal(b.until, now + 5);
	now = b.until;
	for (int want = 10; want <= 300; want = want * 2 > 300 && want < 300 ?
	    300 : want * 2) {
		assert_int_equal(delivery_relay_down(&b, now), 1);
		assert_int_equal(b.seconds, want);
		now = b.until;
		if (want == 300)
			break;
	}
	assert_int_equal(delivery_relay_down(&b, now), 1);
	assert_int_equal(b.seconds, 300);	/* capped */
	assert_int_equal(delivery_relay_up(&b), 1);
	assert_int_equal(b.until, 0);
	assert_int_equal(delivery_relay_up(&b), 0);
	assert_int_equal(delivery_relay_down(&b, now), 1);
	assert_int_equal(b.seconds, 5);		/* starts over */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sent),
		cmocka_unit_test(test_replies_by_stage),
		cmocka_unit_test(test_transport_failures),
		cmocka_unit_test(test_why_names_the_stage),
		cmocka_unit_test(test_retry_list_last_repeats),
		cmocka_unit_test(test_jitter_spreads),
		cmocka_unit_test(test_give_up_from_due_time),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_relay_backoff_doubles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
