/* A refund as a shop reports it: text checked, then settled against its sale. */
#ifndef AFTERSALE_REFUND_H
#define AFTERSALE_REFUND_H

#include <stddef.h>
#include <stdint.h>

#include "sale.h"

enum refund_field {
	REFUND_ORDER_ID,
	REFUND_AMOUNT,
	REFUND_REFUNDED_AT,
	REFUND_REFUND_ID,
	REFUND_REASON,
	REFUND_NFIELDS
};

extern const char *const refund_field_names[REFUND_NFIELDS];

#define REFUND_AMOUNT_LEN	32

/*
 * A refund, the one shape the command line, the API, the platforms and
 * the import hand to store_record_refund.  It owns its text.
 */
struct refund {
	char	 order_id[SALE_TEXT_LEN];	/* ours; "" when platform_order
						   names the order instead */
	char	 platform_order[SALE_TEXT_LEN];	/* the platform's own id of the
						   order (Shopify's numeric id) */
	char	 refund_id[SALE_TEXT_LEN];	/* "" for none */
	char	 amount[REFUND_AMOUNT_LEN];	/* as given: "" for what is left */
	int	 cumulative;	/* amount is all the platform has refunded of
				   the order so far (Stripe's amount_refunded,
				   the export's Refunded Amount): record what
				   it adds */
	char	 currency[4];	/* the platform's, to match the sale's; "" */
	int64_t	 refunded_at;
	char	 reason[SALE_TEXT_LEN];
};

int	refund_parse(char *fields[REFUND_NFIELDS],
	    const char *const names[REFUND_NFIELDS], int64_t now,
	    struct refund *out, char err[SALE_ERROR_LEN], enum refund_field *bad);

/* What a refund comes to against its sale. */
enum refund_verdict {
	REFUND_RECORD,		/* *amount is to be recorded */
	REFUND_COVERED,		/* a cumulative amount that is recorded already */
	REFUND_NOTHING_LEFT,	/* the sale is refunded in full already */
	REFUND_TOO_MUCH,	/* more than what is left */
	REFUND_BAD_AMOUNT,	/* not an amount of the sale's currency */
};

/* The figures of the sale a refund is for. */
struct refund_sale {
	const char	*order_id;
	const char	*currency;
	int64_t		 amount;	/* minor units */
	int64_t		 refunded;	/* its refunds so far */
};

enum refund_verdict refund_settle(const struct refund *r,
	    const struct refund_sale *s, int64_t *amount, char *why,
	    size_t size);

#endif
