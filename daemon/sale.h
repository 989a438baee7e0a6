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

struct sale {
	const char	*order_id;	/* these point into the fields */
	const char	*email;
	const char	*name;
	const char	*sku;
	const char	*product;
	const char	*referral_given;	/* as typed; "" for none */
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

#endif
