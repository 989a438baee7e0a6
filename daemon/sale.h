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

/*
 * A sale, the one shape every module passes: sale_parse fills it from
 * what a shop reports, store_record_sale records it, store_sale_row reads
 * it back for the planner and for a message.  It owns its text.
 */
struct sale {
	int64_t		 id;		/* the sales row; 0 until recorded */
	int64_t		 customer;	/* the buyer's row; 0 until recorded */
	int64_t		 referrer;	/* 0 unless it converted a referral */
	int		 is_repeat;	/* not the buyer's first purchase */
	char		 order_id[SALE_TEXT_LEN];
	char		 email[EMAIL_MAX + 1];	/* the buyer, as given */
	char		 name[SALE_TEXT_LEN];
	char		 sku[SALE_TEXT_LEN];
	char		 product[SALE_TEXT_LEN];
	char		 referral_given[SALE_TEXT_LEN];	/* as typed; "" for none */
	char		 email_lower[EMAIL_MAX + 1];	/* what customers match on */
	int64_t		 amount;		/* minor units */
	char		 currency[4];
	int64_t		 sold_at;
	int		 sold_at_given;
	char		 referral_code[REFERRAL_CODE_LEN + 1];	/* "" if none or malformed */
};

#define SALE_ERROR_LEN	512

int	sale_parse(char *fields[SALE_NFIELDS], const char *default_currency,
	    int64_t now, struct sale *out, char err[SALE_ERROR_LEN]);
int	sale_parse_as(char *fields[SALE_NFIELDS],
	    const char *const names[SALE_NFIELDS], const char *default_currency,
	    int64_t now, struct sale *out, char err[SALE_ERROR_LEN],
	    enum sale_field *bad);
void	sale_derive(struct sale *s);

#endif
