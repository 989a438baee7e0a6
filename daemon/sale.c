/* A sale as a shop reports it: text fields checked into typed values. */

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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
	[SALE_SKU] = SALE_SKU_MAX,
	[SALE_PRODUCT] = SALE_PRODUCT_MAX,
	[SALE_AMOUNT] = 24,
	[SALE_CURRENCY] = 16,
	[SALE_SOLD_AT] = 40,
	[SALE_REFERRAL_CODE] = 64,
};

const char *const sale_item_field_names[ITEM_NFIELDS] = {
	[ITEM_SKU] = "sku",
	[ITEM_PRODUCT] = "product",
	[ITEM_QUANTITY] = "quantity",
	[ITEM_AMOUNT] = "amount",
	[ITEM_PRICE] = "price",
};

static const size_t sale_item_field_max[ITEM_NFIELDS] = {
	[ITEM_SKU] = SALE_SKU_MAX,
	[ITEM_PRODUCT] = SALE_PRODUCT_MAX,
	[ITEM_QUANTITY] = 24,
	[ITEM_AMOUNT] = 24,
	[ITEM_PRICE] = 24,
};

/* Trim a field of spaces in place; NULL (absent) is "". */
char *
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
 * The checks every text field a shop reports gets (a sale's, a refund's),
 * under the field's name: UTF-8 without control characters or invisible
 * format characters (`prose` keeps the joiners scripts and emoji need),
 * and at most max bytes.  0, or -1 with one sentence in err.
 */
int
sale_check_text(const char *v, const char *name, int prose, size_t max,
    char err[SALE_ERROR_LEN])
{
	uint32_t cp;

	if (!text_utf8_valid(v)) {
		snprintf(err, SALE_ERROR_LEN, "%s is not valid UTF-8", name);
		return -1;
	}
	if (text_has_control(v)) {
		snprintf(err, SALE_ERROR_LEN, "%s contains a line break or "
		    "another control character", name);
		return -1;
	}
	/*
	 * An invisible character makes "A-1001" and a look-alike two
	 * orders, and a bidirectional override shows a name or an id other
	 * than it is.
	 */
	if ((cp = text_find_format(v, prose)) != 0) {
		snprintf(err, SALE_ERROR_LEN, "%s contains the invisible "
		    "formatting character U+%04" PRIX32 " (a zero-width space, "
		    "byte order mark or direction control); remove it", name,
		    cp);
		return -1;
	}
	if (strlen(v) > max) {
		snprintf(err, SALE_ERROR_LEN, "%s is longer than %zu bytes", name,
		    max);
		return -1;
	}
	return 0;
}

/*
 * An amount of `currency` ("" leaves *out as it is) into minor units.
 * 0, or -1 with err naming the field as `name`.
 */
static int
sale_money(const char *v, const char *name, const char *currency,
    int64_t *out, char err[SALE_ERROR_LEN])
{
	int decimals = money_decimals(currency);

	if (*v == '-') {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is negative; a refund "
		    "is recorded with sale refund", name, v);
		return -1;
	}
	if (*v != '\0' && money_parse(v, decimals, out) == -1) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not an amount of %s "
		    "with at most %d decimals, such as %s", name, v, currency,
		    decimals, decimals == 0 ? "1250" : decimals == 3 ? "12.345" :
		    "12.34");
		return -1;
	}
	return 0;
}

/*
 * Empty *s but for its items: nitems 0 says there are none, and clearing
 * their 35 KB for every sale showed in a bulk import's time.
 */
void
sale_clear(struct sale *s)
{
	memset(s, 0, offsetof(struct sale, items));
}

/*
 * Check fields[] (text as given, NULL where absent; trimmed of spaces in
 * place) and fill *out, without items.  Every field is UTF-8 without
 * control characters or invisible format characters and within its
 * length; then each is checked for what it is.  Returns 0, or -1 with one
 * sentence in err naming the field and what to do.
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
	enum sale_field	 unused;

	if (bad == NULL)
		bad = &unused;
	sale_clear(out);
	/* Names and products are prose. */
	for (int i = 0; i < SALE_NFIELDS; i++) {
		*bad = (enum sale_field)i;
		v[i] = sale_trim(fields[i]);
		if (sale_check_text(v[i], names[i], i == SALE_NAME ||
		    i == SALE_PRODUCT, sale_field_max[i], err) == -1)
			return -1;
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
	*bad = SALE_AMOUNT;
	if (sale_money(v[SALE_AMOUNT], names[SALE_AMOUNT], out->currency,
	    &out->amount, err) == -1)
		return -1;

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
 * The sale's own sku or product (`field`) from its first item's: the
 * item's, unless the sale named another.  0, or -1 with err.
 */
static int
sale_first_item(char *own, size_t size, const char *item, const char *name,
    const char *field, char err[SALE_ERROR_LEN])
{
	if (*own != '\0' && strcmp(own, item) != 0) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not the sale's %s "
		    "\"%s\": the first item is the sale's (leave out the "
		    "sale's %s, or make them the same)", name, item, field, own,
		    field);
		return -1;
	}
	snprintf(own, size, "%s", item);
	return 0;
}

/*
 * Check one line item of the sale *s (which sale_parse filled: the amount
 * is in its currency) and append it.  fields[] is as for sale_parse, with
 * an amount for the whole quantity or a price for one, not both; an
 * absent quantity is 1, an absent amount 0.  The first item is the
 * sale's sku and product: a sale that names them too must name the same.
 * Returns 0, or -1 with one sentence in err and *bad at the field, or at
 * ITEM_NFIELDS when the sale has SALE_ITEMS_MAX items already.
 */
int
sale_item_parse(struct sale *s, char *fields[ITEM_NFIELDS],
    const char *const names[ITEM_NFIELDS], char err[SALE_ERROR_LEN],
    enum sale_item_field *bad)
{
	struct sale_item	*it;
	const char		*v[ITEM_NFIELDS];
	int64_t			 price = 0;

	*bad = ITEM_NFIELDS;
	if (s->nitems == SALE_ITEMS_MAX) {
		snprintf(err, SALE_ERROR_LEN, "more than %d line items: a sale "
		    "keeps at most %d", SALE_ITEMS_MAX, SALE_ITEMS_MAX);
		return -1;
	}
	for (int i = 0; i < ITEM_NFIELDS; i++) {
		*bad = (enum sale_item_field)i;
		v[i] = sale_trim(fields[i]);
		if (sale_check_text(v[i], names[i], i == ITEM_PRODUCT,
		    sale_item_field_max[i], err) == -1)
			return -1;
	}
	assert(*v[ITEM_AMOUNT] == '\0' || *v[ITEM_PRICE] == '\0');
	it = &s->items[s->nitems];
	memset(it, 0, sizeof(*it));

	*bad = ITEM_QUANTITY;
	it->quantity = 1;
	if (*v[ITEM_QUANTITY] != '\0')
		it->quantity = strspn(v[ITEM_QUANTITY], "0123456789") ==
		    strlen(v[ITEM_QUANTITY]) ? strtoll(v[ITEM_QUANTITY], NULL,
		    10) : 0;
	if (it->quantity < 1 || it->quantity > SALE_QUANTITY_MAX) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" is not a whole number "
		    "from 1 to %d", names[ITEM_QUANTITY], v[ITEM_QUANTITY],
		    SALE_QUANTITY_MAX);
		return -1;
	}
	*bad = ITEM_AMOUNT;
	if (sale_money(v[ITEM_AMOUNT], names[ITEM_AMOUNT], s->currency,
	    &it->amount, err) == -1)
		return -1;
	*bad = ITEM_PRICE;
	if (sale_money(v[ITEM_PRICE], names[ITEM_PRICE], s->currency, &price,
	    err) == -1)
		return -1;
	if (price > MONEY_MAX / it->quantity) {
		snprintf(err, SALE_ERROR_LEN, "%s \"%s\" times quantity %" PRId64
		    " is more than an amount can be", names[ITEM_PRICE],
		    v[ITEM_PRICE], it->quantity);
		return -1;
	}
	if (*v[ITEM_PRICE] != '\0')
		it->amount = price * it->quantity;

	if (s->nitems == 0) {
		*bad = ITEM_SKU;
		if (sale_first_item(s->sku, sizeof(s->sku), v[ITEM_SKU],
		    names[ITEM_SKU], "sku", err) == -1)
			return -1;
		*bad = ITEM_PRODUCT;
		if (sale_first_item(s->product, sizeof(s->product),
		    v[ITEM_PRODUCT], names[ITEM_PRODUCT], "product", err) == -1)
			return -1;
	}
	snprintf(it->sku, sizeof(it->sku), "%s", v[ITEM_SKU]);
	snprintf(it->product, sizeof(it->product), "%s", v[ITEM_PRODUCT]);
	s->nitems++;
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
