/* Refunds: their fields checked, and what each comes to against its sale. */

#include <string.h>

#include "unit.h"

#include "refund.h"

/* Parse sale refund's fields (NULL where absent) at time 1000. */
static int
parse(const char *order, const char *amount, const char *at, const char *id,
    const char *reason, struct refund *r, char err[SALE_ERROR_LEN],
    enum refund_field *bad)
{
	char	buf[REFUND_NFIELDS][600];
	char	*fields[REFUND_NFIELDS] = { NULL };
	const char *given[REFUND_NFIELDS] = { order, amount, at, id, reason };

	for (int i = 0; i < REFUND_NFIELDS; i++)
		if (given[i] != NULL)
			fields[i] = strcpy(buf[i], given[i]);
	return refund_parse(fields, refund_field_names, 1000, r, err, bad);
}

static void
test_parse(void **state)
{
	struct refund		r;
	char			err[SALE_ERROR_LEN];
	enum refund_field	bad;

	(void)state;
	assert_int_equal(parse(" A-1 ", "5.00", "1970-01-01T00:01:00Z", "R-1",
	    "a dented lid", &r, err, &bad), 0);
	assert_string_equal(r.order_id, "A-1");
	assert_string_equal(r.amount, "5.00");
	assert_int_equal(r.refunded_at, 60);
	assert_string_equal(r.refund_id, "R-1");
	assert_string_equal(r.reason, "a dented lid");
	assert_false(r.cumulative);
	assert_string_equal(r.currency, "");
	/* Only the order is needed: all that is left, now. */
	assert_int_equal(parse("A-1", NULL, NULL, NULL, NULL, &r, err, &bad), 0);
	assert_string_equal(r.amount, "");
	assert_int_equal(r.refunded_at, 1000);
	/* A reason is prose: it may keep the joiners emoji need. */
	assert_int_equal(parse("A-1", NULL, NULL, NULL,
	    "bro\xe2\x80\x8d" "ken", &r, err, &bad), 0);
}

static void
test_refused(void **state)
{
	static const struct {
		const char		*fields[REFUND_NFIELDS];
		enum refund_field	 bad;
		const char		*says;
	} cases[] = {
		{ { NULL }, REFUND_ORDER_ID, "order_id is missing" },
		{ { "A-1", "-5" }, REFUND_AMOUNT, "is not an amount" },
		{ { "A-1", "1e3" }, REFUND_AMOUNT, "is not an amount" },
		{ { "A-1", "1.23456" }, REFUND_AMOUNT, "is not an amount" },
		{ { "A-1", NULL, "tomorrow" }, REFUND_REFUNDED_AT, "is not a time" },
		{ { "A-1", NULL, NULL, "R\xe2\x80\x8b" "1" }, REFUND_REFUND_ID,
		    "U+200B" },
		{ { "A-1\r\n" }, REFUND_ORDER_ID, "control character" },
		{ { "A-1", NULL, NULL, NULL, "\xff" }, REFUND_REASON,
		    "not valid UTF-8" },
	};
	struct refund		r;
	char			err[SALE_ERROR_LEN];
	enum refund_field	bad;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *f = cases[i].fields;

		assert_int_equal(parse(f[0], f[1], f[2], f[3], f[4], &r, err,
		    &bad), -1);
		assert_int_equal(bad, cases[i].bad);
		if (strstr(err, cases[i].says) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err,
			    cases[i].says);
	}
}

/* Settle a refund of `amount` (cumulative or not) against 19.90 EUR. */
static enum refund_verdict
settle(const char *amount, int cumulative, int64_t refunded, int64_t *out,
    char *why)
{
	struct refund		r = { .cumulative = cumulative };
	struct refund_sale	s = { "A-1", "EUR", 1990, refunded };

	strcpy(r.amount, amount);
	return refund_settle(&r, &s, out, why, 256);
}

static void
test_settle(void **state)
{
	int64_t	amount = -1;
	char	why[256];

	(void)state;
	assert_int_equal(settle("5", 0, 0, &amount, why), REFUND_RECORD);
	assert_int_equal(amount, 500);
	/* None: what is left. */
	assert_int_equal(settle("", 0, 500, &amount, why), REFUND_RECORD);
	assert_int_equal(amount, 1490);
	assert_int_equal(settle("14.90", 0, 500, &amount, why), REFUND_RECORD);
	assert_int_equal(settle("14.91", 0, 500, &amount, why), REFUND_TOO_MUCH);
	assert_string_equal(why, "order \"A-1\": a refund of 14.91 EUR is more "
	    "than the 14.90 EUR left to refund");
	assert_int_equal(settle("", 0, 1990, &amount, why), REFUND_NOTHING_LEFT);
	assert_int_equal(settle("1.00", 0, 1990, &amount, why),
	    REFUND_NOTHING_LEFT);
	assert_int_equal(settle("0.00", 0, 0, &amount, why), REFUND_BAD_AMOUNT);
	assert_int_equal(settle("1.999", 0, 0, &amount, why), REFUND_BAD_AMOUNT);
	assert_non_null(strstr(why, "at most 2 decimals"));
}

/* A running total (Stripe's amount_refunded): what it adds, once. */
static void
test_cumulative(void **state)
{
	int64_t	amount = -1;
	char	why[256];

	(void)state;
	assert_int_equal(settle("5.00", 1, 0, &amount, why), REFUND_RECORD);
	assert_int_equal(amount, 500);
	assert_int_equal(settle("12.00", 1, 500, &amount, why), REFUND_RECORD);
	assert_int_equal(amount, 700);
	assert_int_equal(settle("12.00", 1, 1200, &amount, why), REFUND_COVERED);
	assert_int_equal(settle("5.00", 1, 1200, &amount, why), REFUND_COVERED);
	assert_int_equal(settle("20.00", 1, 1200, &amount, why), REFUND_TOO_MUCH);
	assert_int_equal(settle("19.90", 1, 1990, &amount, why), REFUND_COVERED);
}

static void
test_currency_and_free_sales(void **state)
{
	struct refund		r = { .currency = "USD" };
	struct refund_sale	s = { "A-1", "EUR", 1990, 0 };
	int64_t			amount;
	char			why[256];

	(void)state;
	strcpy(r.amount, "1.00");
	assert_int_equal(refund_settle(&r, &s, &amount, why, sizeof(why)),
	    REFUND_BAD_AMOUNT);
	assert_string_equal(why, "order \"A-1\" was paid in EUR, not USD");
	strcpy(r.currency, "EUR");
	assert_int_equal(refund_settle(&r, &s, &amount, why, sizeof(why)),
	    REFUND_RECORD);
	s.amount = 0;
	r.amount[0] = '\0';
	assert_int_equal(refund_settle(&r, &s, &amount, why, sizeof(why)),
	    REFUND_NOTHING_LEFT);
	assert_non_null(strstr(why, "was free"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_settle),
		cmocka_unit_test(test_cumulative),
		cmocka_unit_test(test_currency_and_free_sales),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
