/* A sale as a shop reports it: text fields checked into typed values. */

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "sale.h"
#include "text.h"
#include "timestamp.h"

const char *const sale_field_names[SALE_NFIELDS] = {
	[SALE_ORDER_ID] = "order_id",
	[SALE_EMAIL] = "email",
	[SALE_NAME] = "name",
	[SALE_SKU] = "sku",
	[SALE_PRODUCT] = "product",
	[SALE_AMOUNT] = "amount",
	[SALE_CURRENCY] = "currency",
	[SALE_SOLD_AT] = "sold_at",
	[SALE_REFERRAL_CODE] = "referral_code",
};

/* The longest text each field may hold, in bytes. */
static const size_t sale_field_max[SALE_NFIELDS] = {
	[SALE_ORDER_ID] = 128,
	[SALE_EMAIL] = EMAIL_MAX,
	[SALE_NAME] = 200,
	[SALE_SKU] = 128,
	[SALE_PRODUCT] = 200,
	[SALE_AMOUNT] = 24,
	[SALE_CURRENCY] = 16,
	[SALE_SOLD_AT] = 40,
	[SALE_REFERRAL_CODE] = 64,
};

static char *
sale_trim(char *s)
{
	char *end;

	if (s == NULL)
		return (char *)"";
	while (*s == ' ')
		s++;
	end = s + strlen(s);
	while (end > s && end[-1] == ' ')
		*--end = '\0';
	return s;
}

/*
 * Check fields[] (text as given, NULL where absent; trimmed of spaces in
 * place) and fill *out.  Every field is UTF-8 without control characters
 * or invisible format characters and within its length; then each is checked for what it is.  Returns 0,
 * or -1 with one sentence in err naming the field and what to do.
 */
int
sale_parse(char *fields[SALE_NFIELDS], const char *default_currency,
    int64_t now, struct sale *out, char err[SALE_ERROR_LEN])
{
	return sale_parse_as(fields, sale_field_names, default_currency, now,
	    out, err, NULL);
}

/*
 * sale_parse(), for input whose fields have other names (a shop's
 * export, a platform's JSON): err names each field as names[] does, and
 * *bad, unless NULL, says which field was at fault.
 */
int
sale_parse_as(char *fields[SALE_NFIELDS], const char *const names[SALE_NFIELDS],
    const char *default_currency, int64_t now, struct sale *out,
    char err[SALE_ERROR_LEN], enum sale_field *bad)
{
	const char	*v[SALE_NFIELDS], *why, *currency;
	int		 decimals;
	uint32_t	 cp;
	enum sale_field	 unused;

	if (bad == NULL)
		bad = &unused;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < SALE_NFIELDS; i++) {
		*bad = (enum sale_field)i;
		v[i] = sale_trim(fields[i]);
		if (!text_utf8_valid(v[i])) {
			snprintf(err, SALE_ERROR_LEN, "%s is not valid UTF-8",
			    names[i]);
			return -1;
		}
		if (text_has_control(v[i])) {
			snprintf(err, SALE_ERROR_LEN, "%s contains a line break "
			    "or another control character", names[i]);
			return -1;
		}
		/*
		 * An invisible character makes "A-1001" and a look-alike two
		 * orders, and a bidirectional override shows a name or an
		 * id other than it is; names and products may keep the
		 * joiners scripts and emoji need.
		 */
		if ((cp = text_find_format(v[i], i == SALE_NAME ||
		    i == SALE_PRODUCT)) != 0) {
			snprintf(err, SALE_ERROR_LEN, "%s contains the invisible "
			    "formatting character U+%04" PRIX32 " (a zero-width "
			    "space, byte order mark or direction control); "
			    "remove it", names[i], cp);
			return -1;
		}
		if (strlen(v[i]) > sale_field_max[i]) {
			snprintf(err, SALE_ERROR_LEN, "%s is longer than %zu "
			    "bytes", names[i], sale_field_max[i]);
			return -1;
		}
	}

	*bad = SALE_ORDER_ID;
	if (*v[SALE_ORDER_ID] == '\0') {
		snprintf(err, SALE_ERROR_LEN, "%s is missing", names[SALE_ORDER_ID]);
		return -1;
	}
	*bad = SALE_EMAIL;
	if (*v[SALE_EMAIL] == '\0') {
		snprintf(err, SALE_ERROR_LEN, "%s is missing", names[SALE_EMAIL]);
		return -1;
	}
	if ((why = email_check(v[SALE_EMAIL])) != NULL) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not a valid "
		    "address: %s", names[SALE_EMAIL], v[SALE_EMAIL], why);
		return -1;
	}

	currency = *v[SALE_CURRENCY] != '\0' ? v[SALE_CURRENCY] : default_currency;
	for (size_t i = 0; i < sizeof(out->currency) && currency[i] != '\0'; i++)
		out->currency[i] = (char)toupper((unsigned char)currency[i]);
	*bad = SALE_CURRENCY;
	if (strlen(currency) != 3 || !money_currency_valid(out->currency)) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not a "
		    "three-letter ISO 4217 code such as EUR",
		    names[SALE_CURRENCY], currency);
		return -1;
	}
	decimals = money_decimals(out->currency);
	*bad = SALE_AMOUNT;
	if (*v[SALE_AMOUNT] == '-') {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is negative; "
		    "record refunds in the shop, not here", names[SALE_AMOUNT],
		    v[SALE_AMOUNT]);
		return -1;
	}
	if (*v[SALE_AMOUNT] != '\0' &&
	    money_parse(v[SALE_AMOUNT], decimals, &out->amount) == -1) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not an amount "
		    "of %s with at most %d decimals, such as %s",
		    names[SALE_AMOUNT], v[SALE_AMOUNT], out->currency, decimals,
		    decimals == 0 ? "1250" : decimals == 3 ? "12.345" : "12.34");
		return -1;
	}

	*bad = SALE_SOLD_AT;
	out->sold_at = now;
	if (*v[SALE_SOLD_AT] != '\0') {
		if (timestamp_parse(v[SALE_SOLD_AT], &out->sold_at) == -1) {
			snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not a "
			    "time such as 2026-11-20T10:00:00Z, "
			    "2026-11-20T11:00:00+01:00 or 2026-11-20",
			    names[SALE_SOLD_AT], v[SALE_SOLD_AT]);
			return -1;
		}
		out->sold_at_given = 1;
	}

	snprintf(out->order_id, sizeof(out->order_id), "%s", v[SALE_ORDER_ID]);
	snprintf(out->email, sizeof(out->email), "%s", v[SALE_EMAIL]);
	snprintf(out->name, sizeof(out->name), "%s", v[SALE_NAME]);
	snprintf(out->sku, sizeof(out->sku), "%s", v[SALE_SKU]);
	snprintf(out->product, sizeof(out->product), "%s", v[SALE_PRODUCT]);
	snprintf(out->referral_given, sizeof(out->referral_given), "%s",
	    v[SALE_REFERRAL_CODE]);
	sale_derive(out);
	return 0;
}

/*
 * Fill the fields that follow from the text as given: the address
 * customers are matched on, and the referral code in its canonical
 * spelling.  Both sale_parse and a sale read back from its row come
 * through here, so a sale is whole wherever it came from.
 */
void
sale_derive(struct sale *s)
{
	size_t i;

	for (i = 0; s->email[i] != '\0' && i < EMAIL_MAX; i++)
		s->email_lower[i] = (char)tolower((unsigned char)s->email[i]);
	s->email_lower[i] = '\0';
	if (token_normalize(s->referral_given, s->referral_code,
	    REFERRAL_CODE_LEN) == -1)
		s->referral_code[0] = '\0';
}
