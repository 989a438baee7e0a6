/* Whom a campaign writes to about a sale, and how the message starts. */

#include <stdio.h>

#include "unit.h"

#include "planner.h"
#include "queue.h"
#include "reorder.h"

#define BUYER		11
#define REFERRER	22

/*
 * A first purchase of 25.00 EUR by BUYER, with no referral, as a sale is
 * read back: one item at least, the first the sale's sku.
 */
static struct sale
sale(void)
{
	struct sale s = {
		.id = 1, .customer = BUYER, .sku = "COFFEE-KE",
		.amount = 2500, .currency = "EUR", .nitems = 1,
		.items = { { .sku = "COFFEE-KE", .quantity = 1, .amount = 2500 } },
	};

	return s;
}

static void
test_trigger(void **state)
{
	struct campaign	c = { .name = "c", .enabled = 1 };
	struct sale	s = sale();

	(void)state;
	c.on = TRIGGER_SALE;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
	c.on = TRIGGER_FIRST_SALE;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
	c.on = TRIGGER_REPEAT_SALE;
	assert_int_equal(planner_recipient(&c, &s), 0);
	s.is_repeat = 1;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
	c.on = TRIGGER_FIRST_SALE;
	assert_int_equal(planner_recipient(&c, &s), 0);
	c.on = TRIGGER_SALE;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
}

/* The thanks for a referral goes to the friend who referred, not the buyer. */
static void
test_referral_goes_to_referrer(void **state)
{
	struct campaign	c = { .name = "c", .on = TRIGGER_REFERRAL_CONVERTED };
	struct sale	s = sale();

	(void)state;
	assert_int_equal(planner_recipient(&c, &s), 0);
	s.referrer = REFERRER;
	assert_int_equal(planner_recipient(&c, &s), REFERRER);
	c.on = TRIGGER_SALE;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
}

static void
test_sku_globs(void **state)
{
	const char	*globs[] = { "TEA-*", "COFFEE-*" };
	struct campaign	 c = { .name = "c", .on = TRIGGER_SALE };
	struct sale	 s = sale();

	(void)state;
	c.sku.v = globs;
	c.sku.n = 1;
	assert_int_equal(planner_recipient(&c, &s), 0);
	c.sku.n = 2;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
	/* globs match case */
	snprintf(s.items[0].sku, sizeof(s.items[0].sku), "coffee-ke");
	assert_int_equal(planner_recipient(&c, &s), 0);
}

/* Any item of the sale can match, not only the first (the sale's sku). */
static void
test_sku_any_item(void **state)
{
	const char	*globs[] = { "TEA-*" };
	struct campaign	 c = { .name = "c", .on = TRIGGER_SALE };
	struct sale	 s = sale();

	(void)state;
	c.sku.v = globs;
	c.sku.n = 1;
	assert_int_equal(planner_recipient(&c, &s), 0);
	s.items[1] = (struct sale_item){ .sku = "MUG-1", .quantity = 2 };
	s.items[2] = (struct sale_item){ .sku = "TEA-GREEN", .quantity = 1 };
	s.nitems = 2;
	assert_int_equal(planner_recipient(&c, &s), 0);
	s.nitems = 3;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
	/* Without a filter, a sale of no sku at all is taken. */
	c.sku.n = 0;
	s.items[0].sku[0] = '\0';
	s.nitems = 1;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
}

/* min_amount is thousandths of a unit; sales are in minor units. */
static void
test_min_amount(void **state)
{
	struct campaign	c = { .name = "c", .on = TRIGGER_SALE };
	struct sale	s = sale();

	(void)state;
	c.min_amount = 25000;				/* 25.000 */
	assert_int_equal(planner_recipient(&c, &s), BUYER);
	c.min_amount = 25001;
	assert_int_equal(planner_recipient(&c, &s), 0);
	snprintf(s.currency, sizeof(s.currency), "JPY");	/* no decimals */
	s.amount = 25;
	assert_int_equal(planner_recipient(&c, &s), 0);
	s.amount = 26;
	assert_int_equal(planner_recipient(&c, &s), BUYER);
}

static void
test_state(void **state)
{
	struct campaign		c = { .name = "c", .on = TRIGGER_SALE };
	struct planner_history	h = { 0 };

	(void)state;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SCHEDULED);
	/* Without consent the sale counts, the mail does not go. */
	h.no_consent = 1;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SUPPRESSED);
	/* A later purchase matters only to a campaign that stops on one. */
	h.no_consent = 0;
	h.bought_later = 1;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SCHEDULED);
	c.stop_on = STOP_ON_REPEAT_PURCHASE;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_CANCELLED);
	/* Suppressed says more than cancelled. */
	h.no_consent = 1;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SUPPRESSED);
}

/* A friend the recipient referred bought: a reminder series stops. */
static void
test_referred_friend(void **state)
{
	struct campaign		c = { .name = "c", .on = TRIGGER_FIRST_SALE };
	struct planner_history	h = { .referred_friend = 1 };

	(void)state;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SCHEDULED);
	c.stop_on = STOP_ON_REFERRED_FRIEND;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_CANCELLED);
	h.referred_friend = 0;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SCHEDULED);
}

/* referral.rules: each one, all at once, and none when they are off. */
static void
test_review(void **state)
{
	char			*domains[] = { "mailinator.com", "trashmail.example" };
	struct referral_rules	 r = { 0 };
	char			 why[PLANNER_REASONS_LEN];

	(void)state;
	assert_int_equal(planner_review(&r, "a@mailinator.com", "Ana", "Ana",
	    99, why), 0);
	assert_string_equal(why, "");
	r.same_name = 1;
	r.disposable = domains;
	r.ndisposable = 2;
	r.max_per_week = 3;
	assert_int_equal(planner_review(&r, "bo@example.com", " ana LIMA\t",
	    "Ana Lima ", 3, why), 1);
	assert_string_equal(why, "same_name");
	/* Empty names are no one's: they match nothing. */
	assert_int_equal(planner_review(&r, "bo@example.com", " ", "", 1, why), 0);
	assert_int_equal(planner_review(&r, "bo@example.com", "Ana Lim",
	    "Ana Lima", 1, why), 0);
	assert_int_equal(planner_review(&r, "bo@X.TrashMail.Example", "Bo",
	    "Ana", 1, why), 1);
	assert_string_equal(why, "disposable_domains");
	assert_int_equal(planner_review(&r, "bo@trashmail.example.org", "Bo",
	    "Ana", 1, why), 0);
	assert_int_equal(planner_review(&r, "bo@example.com", "Bo", "Ana", 4,
	    why), 1);
	assert_string_equal(why, "max_per_week");
	assert_int_equal(planner_review(&r, "ana@mailinator.com", "Ana", "ana",
	    4, why), 1);
	assert_string_equal(why, "same_name,disposable_domains,max_per_week");
}

/* A sale refunded in full: no message, unless the campaign keeps them. */
static void
test_refunded(void **state)
{
	struct campaign		c = { .name = "c", .on = TRIGGER_SALE };
	struct planner_history	h = { .refunded = 1 };

	(void)state;
	assert_int_equal(planner_state(&c, &h), -1);
	c.on_refund = ON_REFUND_KEEP;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SCHEDULED);
	h.no_consent = 1;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SUPPRESSED);
}

/* first_sale writes to a customer once, whatever else is true. */
static void
test_first_sale_once(void **state)
{
	struct campaign		c = { .name = "c", .on = TRIGGER_FIRST_SALE };
	struct planner_history	h = { .had_campaign = 1 };

	(void)state;
	assert_int_equal(planner_state(&c, &h), -1);
	h.no_consent = 1;
	assert_int_equal(planner_state(&c, &h), -1);
	h.had_campaign = 0;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SUPPRESSED);
	h.no_consent = 0;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SCHEDULED);
	/* Other campaigns write once per sale: UNIQUE (sale_id, campaign). */
	c.on = TRIGGER_SALE;
	h.had_campaign = 1;
	assert_int_equal(planner_state(&c, &h), QUEUE_STATE_SCHEDULED);
}

/* A reorder message is due `before` the expected order, others `after`. */
static void
test_due(void **state)
{
	struct campaign	c = { .name = "c", .enabled = 1, .after = 3600,
			    .before = 3 * 86400, .send_window = { 0, 1440 } };

	(void)state;
	c.on = TRIGGER_SALE;
	assert_int_equal(planner_due(&c, 1000000, 0), 1000000 + 3600);
	c.on = TRIGGER_REORDER;
	assert_int_equal(planner_due(&c, 1000000, 5000000), 5000000 - 3 * 86400);
	assert_int_equal(planner_recipient(&c, &(struct sale){ .customer = BUYER,
	    .currency = "EUR" }), BUYER);
}

/* The median of an odd and an even count, whatever the order given. */
static void
test_median(void **state)
{
	int64_t	odd[] = { 30, 5, 30 }, even[] = { 40, 10, 20, 30 }, one[] = { 7 };

	(void)state;
	assert_int_equal(reorder_median(odd, 3), 30);
	assert_int_equal(reorder_median(even, 4), 25);
	assert_int_equal(reorder_median(one, 1), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trigger),
		cmocka_unit_test(test_referral_goes_to_referrer),
		cmocka_unit_test(test_sku_globs),
		cmocka_unit_test(test_sku_any_item),
		cmocka_unit_test(test_min_amount),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_refunded),
		cmocka_unit_test(test_referred_friend),
		cmocka_unit_test(test_review),
		cmocka_unit_test(test_first_sale_once),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_median),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
