/* A sale as a shop reports it: text fields checked into typed values. */
#ifndef AFTERSALE_SALE_H
#define AFTERSALE_SALE_H

#include <stddef.h>
#include <stdint.h>

#include "email.h"
#include "token.h"

enum sale_field {
	SALE_ORDER_ID,
	SALE_EMAIL,
	SALE_NAME,
	SALE_SKU,
	SALE_PRODUCT,
	SALE_AMOUNT,
	SALE_CURRENCY,
	SALE_SOLD_AT,
	SALE_REFERRAL_CODE,
	SALE_NFIELDS
};

extern const char *const sale_field_names[SALE_NFIELDS];

/* Room for any text field sale_parse admits, and for what a row holds. */
#define SALE_TEXT_LEN	256
#define SALE_SKU_MAX	128	/* bytes of a sku, the sale's or an item's */
#define SALE_PRODUCT_MAX 200	/* bytes of a product name */

/*
 * The line items a sale keeps.  An order with more is refused as bad
 * input, never cut short: a campaign's sku filter would miss what was
 * dropped.
 */
#define SALE_ITEMS_MAX	100
#define SALE_QUANTITY_MAX 1000000

/* A line item's fields, as sale_item_parse takes them. */
enum sale_item_field {
	ITEM_SKU,
	ITEM_PRODUCT,
	ITEM_QUANTITY,
	ITEM_AMOUNT,		/* for the whole quantity */
	ITEM_PRICE,		/* or for one: the amount is price x quantity */
	ITEM_NFIELDS		/* for *bad: the items as a whole (too many) */
};

extern const char *const sale_item_field_names[ITEM_NFIELDS];

struct sale_item {
	char		 sku[SALE_SKU_MAX + 1];
	char		 product[SALE_PRODUCT_MAX + 1];
	int64_t		 quantity;	/* 1 or more */
	int64_t		 amount;	/* minor units of the sale's currency */
};

/*
 * A sale, the one shape every module passes: sale_parse fills it from
 * what a shop reports (and sale_item_parse its line items),
 * store_record_sale records it, store_sale_row reads it back for the
 * planner and for a message.  It owns its text.
 *
 * sku and product are the first item's, for templates.  A sale given
 * without items (sale add, our CSV) has nitems 0 and is recorded as its
 * own one item: its sku and product, quantity 1, its amount.  A sale read
 * back always has one item at least.
 */
struct sale {
	int64_t		 id;		/* the sales row; 0 until recorded */
	int64_t		 customer;	/* the buyer's row; 0 until recorded */
	int64_t		 referrer;	/* 0 unless it converted a referral */
	int		 is_repeat;	/* not the buyer's first purchase */
	char		 order_id[SALE_TEXT_LEN];
	char		 email[EMAIL_MAX + 1];	/* the buyer, as given */
	char		 name[SALE_TEXT_LEN];
	char		 sku[SALE_SKU_MAX + 1];
	char		 product[SALE_PRODUCT_MAX + 1];
	char		 referral_given[SALE_TEXT_LEN];	/* as typed; "" for none */
	char		 email_lower[EMAIL_MAX + 1];	/* what customers match on */
	int64_t		 amount;		/* minor units */
	char		 currency[4];
	int64_t		 sold_at;
	int		 sold_at_given;
	char		 referral_code[REFERRAL_CODE_LEN + 1];	/* "" if none or malformed */
	size_t		 nitems;
	struct sale_item items[SALE_ITEMS_MAX];	/* as the shop listed them */
};

#define SALE_ERROR_LEN	512

void	sale_clear(struct sale *s);
int	sale_parse(char *fields[SALE_NFIELDS], const char *default_currency,
	    int64_t now, struct sale *out, char err[SALE_ERROR_LEN]);
int	sale_parse_as(char *fields[SALE_NFIELDS],
	    const char *const names[SALE_NFIELDS], const char *default_currency,
	    int64_t now, struct sale *out, char err[SALE_ERROR_LEN],
	    enum sale_field *bad);
int	sale_item_parse(struct sale *s, char *fields[ITEM_NFIELDS],
	    const char *const names[ITEM_NFIELDS], char err[SALE_ERROR_LEN],
	    enum sale_item_field *bad);
void	sale_derive(struct sale *s);
char	*sale_trim(char *s);
int	sale_check_text(const char *v, const char *name, int prose, size_t max,
	    char err[SALE_ERROR_LEN]);

#endif
