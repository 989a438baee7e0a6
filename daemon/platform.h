/* The shop platforms' own data (Shopify, WooCommerce, Stripe) as sales. */
#ifndef AFTERSALE_PLATFORM_H
#define AFTERSALE_PLATFORM_H

#include <stddef.h>

#include "refund.h"
#include "sale.h"

/* What a platform's JSON turned out to be, with the HTTP answer it gets. */
enum platform_result {
	PLATFORM_OK,		/* a paid order: out->sale is checked (200 once stored) */
	PLATFORM_IGNORED,	/* well-formed, but no sale for us (unpaid, another
				   event type); why says which (200, nothing stored) */
	PLATFORM_BAD_FIELD,	/* a field missing or bad: out->field names it,
				   why says what (422) */
	PLATFORM_MALFORMED,	/* not JSON, or not an object of the platform (400) */
};

/*
 * Bytes kept of any one text field: more than any sale field may hold, so
 * that an over-long value is still refused as one.
 */
#define PLATFORM_TEXT_MAX	512
#define PLATFORM_ID_LEN		256	/* Stripe's ids go up to 255 */
#define PLATFORM_FIELD_LEN	64	/* "line_items.data[99].price.product" */

/*
 * A sale as a platform reported it.  Its text lives in text[], so the
 * struct owns everything out->sale points to; nothing is to be freed.
 */
struct platform_order {
	struct sale	 sale;		/* with its line items */
	const char	*field;		/* PLATFORM_BAD_FIELD: "email", "amount",
					   "line_items[1].price"...; field_name */
	char		 field_name[PLATFORM_FIELD_LEN];
	int		 refunded;	/* the platform says refunded, in part or whole */
	char		 platform_id[PLATFORM_ID_LEN];	/* the platform's own id of
					   the order (Shopify's numeric id, the
					   Stripe session), for refunds; or "" */
	char		 event_id[PLATFORM_ID_LEN];	/* Stripe's event id, "" for
					   the others (they put it in a header) */
	char		 text[SALE_NFIELDS][PLATFORM_TEXT_MAX + 1];
};

/*
 * The three mappers take the raw body of a webhook (it need not be
 * NUL-terminated) and fill *out; why gets one sentence for anything but
 * PLATFORM_OK.  Pure: no clock, no database, no logging.
 */
enum platform_result platform_shopify_order(const char *json, size_t len,
	    struct platform_order *out, char *why, size_t size);
enum platform_result platform_woocommerce_order(const char *json, size_t len,
	    struct platform_order *out, char *why, size_t size);
enum platform_result platform_stripe_event(const char *json, size_t len,
	    struct platform_order *out, char *why, size_t size);

/*
 * A refund as a platform reported it: out->refund is checked as sale
 * refund checks its options; nothing is to be freed.
 */
struct platform_refund {
	struct refund	 refund;
	const char	*field;		/* PLATFORM_BAD_FIELD: "order_id",
					   "amount", "refunded_at"... */
	char		 event_id[PLATFORM_ID_LEN];	/* Stripe's event id, "" for
					   the others */
};

/*
 * The refund events, as the order mappers: PLATFORM_OK is a refund to
 * record, PLATFORM_IGNORED no refund for us (another event, nothing
 * paid or given back).  Shopify's refunds/create names the order by its
 * numeric id (refund.platform_order); orders/cancelled, WooCommerce's
 * status refunded and Stripe's charge.refunded give back all that is
 * left, or, for Stripe, what amount_refunded (all refunded so far) adds.
 */
enum platform_result platform_shopify_refund(const char *json, size_t len,
	    struct platform_refund *out, char *why, size_t size);
enum platform_result platform_shopify_cancelled(const char *json, size_t len,
	    struct platform_refund *out, char *why, size_t size);
enum platform_result platform_woocommerce_refund(const char *json, size_t len,
	    struct platform_refund *out, char *why, size_t size);
enum platform_result platform_stripe_refund(const char *json, size_t len,
	    struct platform_refund *out, char *why, size_t size);

/* Shopify's financial_status (the same words in its CSV export). */
enum platform_payment {
	PLATFORM_PAID,
	PLATFORM_REFUNDED,	/* paid, then refunded in part or whole */
	PLATFORM_UNPAID,	/* pending, authorized, partially_paid, voided, expired */
	PLATFORM_UNKNOWN,
};

enum platform_payment platform_shopify_payment(const char *financial_status);
int	platform_shopify_time(const char *in, char *out, size_t size);
void	platform_referral_from_codes(const char *codes, char *out, size_t size);
void	platform_amount_trim(char *amount, const char *currency);

#endif
