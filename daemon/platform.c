/* The shop platforms' own data (Shopify, WooCommerce, Stripe) as sales. */

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "money.h"
#include "platform.h"
#include "timestamp.h"
#include "token.h"

/*
 * One mapping in progress: the fields as text, and for each the name the
 * platform gives it, so that every message names the key the shop's
 * developer sees in the payload ("contact_email", "current_total_price").
 */
struct platform_map {
	struct platform_order	*out;
	char			*why;
	size_t			 size;
	const char		*names[SALE_NFIELDS];
};

static enum platform_result platform_fail(struct platform_map *m,
    enum platform_result rc, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Say why, and for a bad field which one (NULL for the others); returns rc. */
static enum platform_result
platform_fail(struct platform_map *m, enum platform_result rc,
    const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->why, m->size, fmt, ap);
	va_end(ap);
	if (rc == PLATFORM_BAD_FIELD) {
		snprintf(m->out->field_name, sizeof(m->out->field_name), "%s",
		    field);
		m->out->field = m->out->field_name;
	}
	return rc;
}

static void
platform_begin(struct platform_map *m, struct platform_order *out, char *why,
    size_t size)
{
	memset(out, 0, sizeof(*out));
	m->out = out;
	m->why = why;
	m->size = size;
	if (size > 0)
		why[0] = '\0';
	for (int i = 0; i < SALE_NFIELDS; i++)
		m->names[i] = sale_field_names[i];
}

/*
 * Copy at most PLATFORM_TEXT_MAX bytes, cut at a character boundary, so
 * that a value too long for its field is refused as too long, never as
 * broken UTF-8.
 */
static void
platform_copy(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n > PLATFORM_TEXT_MAX) {
		n = PLATFORM_TEXT_MAX;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The object member at `key`, or NULL when it is absent or not an object. */
static json_t *
platform_object(json_t *parent, const char *key)
{
	json_t *v = json_object_get(parent, key);

	return json_is_object(v) ? v : NULL;
}

/*
 * A value as text into dst: a string, or an integer (ids and numbers are
 * both seen).  1 when taken; 0 when it is absent, null or "", dst
 * untouched; -1 for a value of another type.
 */
static int
platform_value(json_t *v, char dst[PLATFORM_TEXT_MAX + 1])
{
	if (v == NULL || json_is_null(v) ||
	    (json_is_string(v) && json_string_value(v)[0] == '\0'))
		return 0;
	if (json_is_string(v))
		platform_copy(dst, json_string_value(v));
	else if (json_is_integer(v))
		snprintf(dst, PLATFORM_TEXT_MAX + 1, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else
		return -1;
	return 1;
}

/*
 * Set `field` from the member `key` of obj, named `name` in messages,
 * unless it is set already.  Absent, null and "" leave the field as it
 * is and return 0, so the next candidate can be tried; a value of
 * another type is a bad field (-1).
 */
static int
platform_take(struct platform_map *m, int field, json_t *obj, const char *key,
    const char *name)
{
	int rc;

	if (m->out->text[field][0] != '\0')
		return 0;
	if ((rc = platform_value(json_object_get(obj, key),
	    m->out->text[field])) == -1) {
		platform_fail(m, PLATFORM_BAD_FIELD, sale_field_names[field],
		    "%s is not a string", name);
		return -1;
	}
	if (rc == 1)
		m->names[field] = name;
	return 0;
}

/* A string member, or NULL (absent, null, or of another type). */
static const char *
platform_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An id (string or integer) into buf, or "". */
static void
platform_id(json_t *obj, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v) && strlen(json_string_value(v)) < size)
		snprintf(buf, size, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

/* "First Last" from two members, into the field when it is still empty. */
static void
platform_full_name(struct platform_map *m, json_t *obj, const char *first_key,
    const char *last_key, const char *name)
{
	const char	*first = platform_string(obj, first_key);
	const char	*last = platform_string(obj, last_key);
	char		 buf[2 * PLATFORM_TEXT_MAX + 2];

	if (m->out->text[SALE_NAME][0] != '\0')
		return;
	snprintf(buf, sizeof(buf), "%.*s%s%.*s", PLATFORM_TEXT_MAX,
	    first ? first : "", first && *first && last && *last ? " " : "",
	    PLATFORM_TEXT_MAX, last ? last : "");
	if (buf[0] == '\0')
		return;
	platform_copy(m->out->text[SALE_NAME], buf);
	m->names[SALE_NAME] = name;
}

/* Whether a code someone typed could be one of our referral codes. */
static int
platform_could_be_referral(const char *code)
{
	char buf[REFERRAL_CODE_LEN + 1];

	return token_normalize(code, buf, REFERRAL_CODE_LEN) == 0;
}

/*
 * A referral code among discount codes: the first that has the shape of
 * one.  Shops have other codes too ("SUMMER10"), which are no referral
 * and deserve no warning; a well-shaped code nobody owns is the store's
 * to ignore, with a warning.
 */
static void
platform_referral_array(struct platform_map *m, json_t *array, const char *key,
    const char *name)
{
	size_t	 i;
	json_t	*item;

	if (m->out->text[SALE_REFERRAL_CODE][0] != '\0' || !json_is_array(array))
		return;
	json_array_foreach(array, i, item) {
		const char *code = platform_string(item, key);

		if (code != NULL && platform_could_be_referral(code)) {
			platform_copy(m->out->text[SALE_REFERRAL_CODE], code);
			m->names[SALE_REFERRAL_CODE] = name;
			return;
		}
	}
}

/* The same for a comma-separated list, as in Shopify's CSV export. */
void
platform_referral_from_codes(const char *codes, char *out, size_t size)
{
	char	buf[PLATFORM_TEXT_MAX + 1], *save = NULL, *code;

	if (size > 0)
		out[0] = '\0';
	platform_copy(buf, codes);
	for (code = strtok_r(buf, ",", &save); code != NULL;
	    code = strtok_r(NULL, ",", &save)) {
		while (*code == ' ')
			code++;
		for (char *end = code + strlen(code); end > code && end[-1] == ' ';)
			*--end = '\0';
		if (platform_could_be_referral(code)) {
			snprintf(out, size, "%s", code);
			return;
		}
	}
}

/*
 * "12.00" for a currency without decimals is the same amount as "12", and
 * some platforms write it so: drop the zeros past the currency's decimals.
 * Other digits there are left for the check to refuse.
 */
void
platform_amount_trim(char *amount, const char *currency)
{
	char	 code[4] = "";
	char	*dot = strchr(amount, '.');
	int	 decimals;
	size_t	 len;

	for (int i = 0; i < 3 && currency[i] != '\0'; i++)
		code[i] = (char)toupper((unsigned char)currency[i]);
	if (dot == NULL || strlen(currency) != 3)
		return;
	decimals = money_decimals(code);
	len = strlen(dot + 1);
	if (len <= (size_t)decimals ||
	    strspn(dot + 1 + decimals, "0") != len - (size_t)decimals)
		return;
	if (decimals == 0)
		*dot = '\0';
	else
		dot[1 + decimals] = '\0';
}

/*
 * Shopify's export writes times as "2026-03-01 10:00:00 +0100": the
 * space before the offset is the only thing timestamp_parse() does not
 * take.  Returns 0, or -1 when out is too small.
 */
int
platform_shopify_time(const char *in, char *out, size_t size)
{
	const char	*sp = strrchr(in, ' ');
	int		 n;

	if (sp != NULL && sp > in && isdigit((unsigned char)sp[-1]) &&
	    (sp[1] == '+' || sp[1] == '-') && isdigit((unsigned char)sp[2]))
		n = snprintf(out, size, "%.*s%s", (int)(sp - in), in, sp + 1);
	else
		n = snprintf(out, size, "%s", in);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

enum platform_payment
platform_shopify_payment(const char *status)
{
	static const char *const unpaid[] = {
		"pending", "authorized", "partially_paid", "voided", "expired",
	};

	if (strcasecmp(status, "paid") == 0)
		return PLATFORM_PAID;
	if (strcasecmp(status, "refunded") == 0 ||
	    strcasecmp(status, "partially_refunded") == 0)
		return PLATFORM_REFUNDED;
	for (size_t i = 0; i < sizeof(unpaid) / sizeof(unpaid[0]); i++)
		if (strcasecmp(status, unpaid[i]) == 0)
			return PLATFORM_UNPAID;
	return PLATFORM_UNKNOWN;
}

/* The value of `ref=` in the query of a URL or path, into the field. */
static void
platform_referral_url(struct platform_map *m, const char *url, const char *name)
{
	const char *p, *end;

	if (url == NULL || m->out->text[SALE_REFERRAL_CODE][0] != '\0' ||
	    (p = strchr(url, '?')) == NULL)
		return;
	for (p++; *p != '\0' && *p != '#'; p = *end == '&' ? end + 1 : end) {
		end = p + strcspn(p, "&#");
		if (strncmp(p, "ref=", 4) == 0 && end > p + 4) {
			char buf[PLATFORM_TEXT_MAX + 1];

			snprintf(buf, sizeof(buf), "%.*s", (int)(end - p - 4), p + 4);
			platform_copy(m->out->text[SALE_REFERRAL_CODE], buf);
			m->names[SALE_REFERRAL_CODE] = name;
			return;
		}
	}
}

/* A time without an offset that the platform documents as UTC: add "Z". */
static void
platform_utc(char *text)
{
	size_t len = strlen(text);

	if (len > 10 && len + 1 <= PLATFORM_TEXT_MAX &&
	    isdigit((unsigned char)text[len - 1]) &&
	    strpbrk(text + 10, "+-Z") == NULL)
		strcpy(text + len, "Z");
}

/*
 * The fields every sale from a platform has: without them there is no
 * sale (sale_parse() would take "now" for a missing time and 0 for a
 * missing amount, which suits a person typing, not a platform).
 */
static enum platform_result
platform_required(struct platform_map *m, const char *order, const char *email,
    const char *amount, const char *currency, const char *time)
{
	static const int need[] = {
		SALE_ORDER_ID, SALE_EMAIL, SALE_AMOUNT, SALE_CURRENCY,
		SALE_SOLD_AT,
	};
	const char *keys[SALE_NFIELDS] = {
		[SALE_ORDER_ID] = order, [SALE_EMAIL] = email,
		[SALE_AMOUNT] = amount, [SALE_CURRENCY] = currency,
		[SALE_SOLD_AT] = time,
	};

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (m->out->text[need[i]][0] == '\0')
			return platform_fail(m, PLATFORM_BAD_FIELD,
			    sale_field_names[need[i]],
			    "%s is missing", keys[need[i]]);
	return PLATFORM_OK;
}

/* Check the fields as `sale add` does; names[] say where each came from. */
static enum platform_result
platform_check(struct platform_map *m)
{
	char		*fields[SALE_NFIELDS];
	char		 err[SALE_ERROR_LEN];
	enum sale_field	 bad;

	platform_amount_trim(m->out->text[SALE_AMOUNT],
	    m->out->text[SALE_CURRENCY]);
	for (int i = 0; i < SALE_NFIELDS; i++)
		fields[i] = m->out->text[i];
	if (sale_parse_as(fields, m->names, "", 0, &m->out->sale, err,
	    &bad) == -1)
		return platform_fail(m, PLATFORM_BAD_FIELD,
		    sale_field_names[bad], "%s", err);
	return PLATFORM_OK;
}

/* Parse the body into an object, or say why not (it is malformed). */
static json_t *
platform_load(const char *json, size_t len, char *why, size_t size)
{
	json_error_t	 e;
	json_t		*root;

	/* Duplicate keys have no meaning we could pick: refuse them. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL) {
		snprintf(why, size, "malformed JSON at line %d, column %d: %s",
		    e.line, e.column, e.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(why, size, "the body is JSON but not an object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* One line item as a platform reported it, and where each field came from. */
struct platform_item {
	char	where[40];		/* "line_items.data[2]", any index */
	char	text[ITEM_NFIELDS][PLATFORM_TEXT_MAX + 1];
	char	names[ITEM_NFIELDS][PLATFORM_FIELD_LEN];
};

/* What a platform keeps of an item past the members platform_items reads. */
typedef enum platform_result platform_item_more(struct platform_map *m,
    json_t *item, struct platform_item *it);

/*
 * The order's line items, once platform_check has passed (the sale's
 * currency is known): `array` (absent or null: none) lists objects whose
 * member keys[f] holds item field f (NULL: none); `more`, unless NULL,
 * takes the rest.  Each item is checked as sale_item_parse checks it,
 * and named "LIST[i].KEY" in messages.
 */
static enum platform_result
platform_items(struct platform_map *m, json_t *array, const char *list,
    const char *const keys[ITEM_NFIELDS], platform_item_more *more)
{
	struct platform_item	 it;
	char			 err[SALE_ERROR_LEN], *fields[ITEM_NFIELDS];
	const char		*names[ITEM_NFIELDS];
	enum sale_item_field	 bad;
	enum platform_result	 rc;
	json_t			*item;
	size_t			 i;

	if (array == NULL || json_is_null(array))
		return PLATFORM_OK;
	if (!json_is_array(array))
		return platform_fail(m, PLATFORM_BAD_FIELD, list, "%s is not an "
		    "array", list);
	json_array_foreach(array, i, item) {
		memset(&it, 0, sizeof(it));
		snprintf(it.where, sizeof(it.where), "%s[%zu]", list, i);
		if (!json_is_object(item))
			return platform_fail(m, PLATFORM_BAD_FIELD, it.where,
			    "%s is not an object", it.where);
		for (int f = 0; f < ITEM_NFIELDS; f++) {
			snprintf(it.names[f], sizeof(it.names[f]), "%s.%s",
			    it.where, keys[f] ? keys[f] : sale_item_field_names[f]);
			if (keys[f] != NULL && platform_value(json_object_get(
			    item, keys[f]), it.text[f]) == -1)
				return platform_fail(m, PLATFORM_BAD_FIELD,
				    it.names[f], "%s is not a string or a whole "
				    "number", it.names[f]);
		}
		if (more != NULL && (rc = more(m, item, &it)) != PLATFORM_OK)
			return rc;
		platform_amount_trim(it.text[ITEM_AMOUNT], m->out->sale.currency);
		platform_amount_trim(it.text[ITEM_PRICE], m->out->sale.currency);
		for (int f = 0; f < ITEM_NFIELDS; f++) {
			fields[f] = it.text[f];
			names[f] = it.names[f];
		}
		if (sale_item_parse(&m->out->sale, fields, names, err, &bad) == -1)
			return platform_fail(m, PLATFORM_BAD_FIELD,
			    bad == ITEM_NFIELDS ? list : names[bad], "%s", err);
	}
	return PLATFORM_OK;
}

/*
 * A Shopify order (the body of orders/create, orders/paid, orders/updated).
 * The order id is `name` ("#1001"), as in the shop's CSV export, so an
 * import and later webhooks name the same orders.  A line item's price is
 * for one, before discounts, as in the export: its amount is price times
 * quantity.
 */
enum platform_result
platform_shopify_order(const char *json, size_t len, struct platform_order *out,
    char *why, size_t size)
{
	struct platform_map	 m;
	enum platform_result	 rc;
	static const char *const keys[ITEM_NFIELDS] = {
		[ITEM_SKU] = "sku", [ITEM_PRODUCT] = "name",
		[ITEM_QUANTITY] = "quantity", [ITEM_PRICE] = "price",
	};
	json_t			*root, *customer, *billing, *attrs, *a;
	const char		*status;
	size_t			 i;

	platform_begin(&m, out, why, size);
	if ((root = platform_load(json, len, why, size)) == NULL)
		return PLATFORM_MALFORMED;
	status = platform_string(root, "financial_status");
	switch (platform_shopify_payment(status ? status : "")) {
	case PLATFORM_PAID:
		break;
	case PLATFORM_REFUNDED:
		out->refunded = 1;
		break;
	default:
		if (status == NULL)
			rc = platform_fail(&m, PLATFORM_IGNORED, NULL, "no "
			    "financial_status: not an order we can tell is paid");
		else
			rc = platform_fail(&m, PLATFORM_IGNORED, NULL,
			    "financial_status is \"%.32s\": not paid, so not a "
			    "sale yet", status);
		goto out;
	}
	customer = platform_object(root, "customer");
	billing = platform_object(root, "billing_address");
	platform_id(root, "id", out->platform_id, sizeof(out->platform_id));

	rc = PLATFORM_BAD_FIELD;
	if (platform_take(&m, SALE_ORDER_ID, root, "name", "name") == -1 ||
	    platform_take(&m, SALE_EMAIL, root, "email", "email") == -1 ||
	    platform_take(&m, SALE_EMAIL, root, "contact_email",
		"contact_email") == -1 ||
	    platform_take(&m, SALE_EMAIL, customer, "email",
		"customer.email") == -1 ||
	    platform_take(&m, SALE_NAME, billing, "name",
		"billing_address.name") == -1 ||
	    platform_take(&m, SALE_AMOUNT, root, "current_total_price",
		"current_total_price") == -1 ||
	    platform_take(&m, SALE_AMOUNT, root, "total_price",
		"total_price") == -1 ||
	    platform_take(&m, SALE_CURRENCY, root, "currency", "currency") == -1 ||
	    platform_take(&m, SALE_SOLD_AT, root, "processed_at",
		"processed_at") == -1 ||
	    platform_take(&m, SALE_SOLD_AT, root, "created_at",
		"created_at") == -1)
		goto out;
	platform_full_name(&m, customer, "first_name", "last_name",
	    "customer.first_name");

	/* A referral: a discount code, a note attribute, the landing URL. */
	platform_referral_array(&m, json_object_get(root, "discount_codes"),
	    "code", "discount_codes[].code");
	attrs = json_object_get(root, "note_attributes");
	json_array_foreach(attrs, i, a) {
		const char *name = platform_string(a, "name");

		if (name != NULL && strcasecmp(name, "ref") == 0 &&
		    platform_take(&m, SALE_REFERRAL_CODE, a, "value",
		    "note_attributes ref") == -1)
			goto out;
	}
	platform_referral_url(&m, platform_string(root, "landing_site"),
	    "landing_site ref");

	if ((rc = platform_required(&m, "name", "email (and contact_email, "
	    "customer.email)", "current_total_price (and total_price)",
	    "currency", "processed_at (and created_at)")) == PLATFORM_OK &&
	    (rc = platform_check(&m)) == PLATFORM_OK)
		rc = platform_items(&m, json_object_get(root, "line_items"),
		    "line_items", keys, NULL);
out:
	json_decref(root);
	return rc;
}

/*
 * A WooCommerce order (the body of order.created and order.updated).
 * Times are the _gmt ones, which WooCommerce writes without an offset.
 * A line item's total is for its quantity, after discounts, before tax.
 */
enum platform_result
platform_woocommerce_order(const char *json, size_t len,
    struct platform_order *out, char *why, size_t size)
{
	struct platform_map	 m;
	enum platform_result	 rc;
	static const char *const keys[ITEM_NFIELDS] = {
		[ITEM_SKU] = "sku", [ITEM_PRODUCT] = "name",
		[ITEM_QUANTITY] = "quantity", [ITEM_AMOUNT] = "total",
	};
	json_t			*root, *billing;
	const char		*status;

	platform_begin(&m, out, why, size);
	if ((root = platform_load(json, len, why, size)) == NULL)
		return PLATFORM_MALFORMED;
	status = platform_string(root, "status");
	if (status != NULL && strcmp(status, "refunded") == 0) {
		out->refunded = 1;
	} else if (status == NULL || (strcmp(status, "processing") != 0 &&
	    strcmp(status, "completed") != 0)) {
		rc = platform_fail(&m, PLATFORM_IGNORED, NULL, "status is \"%.32s\": "
		    "not processing or completed, so not a sale yet",
		    status ? status : "");
		goto out;
	}
	billing = platform_object(root, "billing");
	platform_id(root, "id", out->platform_id, sizeof(out->platform_id));

	rc = PLATFORM_BAD_FIELD;
	if (platform_take(&m, SALE_ORDER_ID, root, "number", "number") == -1 ||
	    platform_take(&m, SALE_EMAIL, billing, "email",
		"billing.email") == -1 ||
	    platform_take(&m, SALE_AMOUNT, root, "total", "total") == -1 ||
	    platform_take(&m, SALE_CURRENCY, root, "currency", "currency") == -1 ||
	    platform_take(&m, SALE_SOLD_AT, root, "date_paid_gmt",
		"date_paid_gmt") == -1 ||
	    platform_take(&m, SALE_SOLD_AT, root, "date_created_gmt",
		"date_created_gmt") == -1)
		goto out;
	platform_utc(out->text[SALE_SOLD_AT]);
	platform_full_name(&m, billing, "first_name", "last_name",
	    "billing.first_name");
	platform_referral_array(&m, json_object_get(root, "coupon_lines"),
	    "code", "coupon_lines[].code");

	if ((rc = platform_required(&m, "number", "billing.email", "total",
	    "currency", "date_paid_gmt (and date_created_gmt)")) ==
	    PLATFORM_OK && (rc = platform_check(&m)) == PLATFORM_OK)
		rc = platform_items(&m, json_object_get(root, "line_items"),
		    "line_items", keys, NULL);
out:
	json_decref(root);
	return rc;
}

/*
 * Stripe's minor units, which are not always ISO 4217's: a few currencies
 * Stripe counts in hundredths that have none (ISK), and the reverse.
 */
static int
platform_stripe_decimals(const char *currency)
{
	static const char zero[][4] = {
		"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG",
		"RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
	};
	static const char three[][4] = { "BHD", "JOD", "KWD", "OMR", "TND" };

	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		if (strcmp(currency, zero[i]) == 0)
			return 0;
	for (size_t i = 0; i < sizeof(three) / sizeof(three[0]); i++)
		if (strcmp(currency, three[i]) == 0)
			return 3;
	return 2;
}

/*
 * An amount in Stripe's minor units of `code` into ISO 4217's: 0, -1 when
 * it is not a whole amount of the currency, -2 when it is too large.
 */
static int
platform_stripe_units(int64_t amount, const char *code, int64_t *out)
{
	int ours = money_decimals(code), theirs = platform_stripe_decimals(code);

	for (; theirs > ours; theirs--) {
		if (amount % 10 != 0)
			return -1;
		amount /= 10;
	}
	for (; theirs < ours; theirs++)
		if ((amount *= 10) > MONEY_MAX)
			return -2;
	*out = amount;
	return 0;
}

/*
 * The member `key` of obj, an amount in Stripe's minor units of the
 * session's currency, as text in ISO 4217's into dst; `name` says where
 * it came from, `field` is the field at fault.  Absent or null leaves dst
 * as it is, for the caller to say or not.
 */
static enum platform_result
platform_stripe_amount(struct platform_map *m, json_t *obj, const char *key,
    const char *name, const char *field, char dst[PLATFORM_TEXT_MAX + 1])
{
	json_t		*v = json_object_get(obj, key);
	char		*currency = m->out->text[SALE_CURRENCY];
	json_int_t	 amount;
	int64_t		 units;
	char		 code[4];

	if (v == NULL || json_is_null(v))
		return PLATFORM_OK;
	if (!json_is_integer(v) || (amount = json_integer_value(v)) < 0 ||
	    amount > MONEY_MAX)
		return platform_fail(m, PLATFORM_BAD_FIELD, field, "%s is not a "
		    "whole number of minor units between 0 and %lld", name,
		    MONEY_MAX);
	if (*currency == '\0')
		return PLATFORM_OK;	/* platform_required() says it */
	for (int i = 0; i < 4; i++)
		code[i] = (char)toupper((unsigned char)currency[i]);
	if (strlen(currency) != 3 || !money_currency_valid(code))
		return platform_fail(m, PLATFORM_BAD_FIELD,
		    sale_field_names[SALE_CURRENCY], "currency \"%.16s\" is not "
		    "a three-letter ISO 4217 code", currency);
	switch (platform_stripe_units(amount, code, &units)) {
	case -1:
		return platform_fail(m, PLATFORM_BAD_FIELD, field, "%s %"
		    JSON_INTEGER_FORMAT " is not a whole amount of %s", name,
		    json_integer_value(v), code);
	case -2:
		return platform_fail(m, PLATFORM_BAD_FIELD, field,
		    "%s is too large", name);
	}
	money_format(units, code, dst);
	return PLATFORM_OK;
}

/*
 * What a Stripe line item keeps deeper than its members: its product's
 * id (price.product, an id or, expanded, the object) as the sku, and its
 * amount_total in Stripe's minor units.
 */
static enum platform_result
platform_stripe_item(struct platform_map *m, json_t *item,
    struct platform_item *it)
{
	json_t	*price = platform_object(item, "price");
	json_t	*product = platform_object(price, "product");

	snprintf(it->names[ITEM_SKU], sizeof(it->names[ITEM_SKU]),
	    "%s.price.product", it->where);
	if (platform_value(json_object_get(product ? product : price,
	    product ? "id" : "product"), it->text[ITEM_SKU]) == -1)
		return platform_fail(m, PLATFORM_BAD_FIELD, it->names[ITEM_SKU],
		    "%s is not a string", it->names[ITEM_SKU]);
	snprintf(it->names[ITEM_AMOUNT], sizeof(it->names[ITEM_AMOUNT]),
	    "%s.amount_total", it->where);
	return platform_stripe_amount(m, item, "amount_total",
	    it->names[ITEM_AMOUNT], it->names[ITEM_AMOUNT],
	    it->text[ITEM_AMOUNT]);
}

/* A Unix time member into the field, as text sale_parse() reads. */
static void
platform_epoch(struct platform_map *m, json_t *obj, const char *key,
    const char *name)
{
	json_t	*v = json_object_get(obj, key);
	char	 buf[TIMESTAMP_LEN];

	if (m->out->text[SALE_SOLD_AT][0] != '\0' || !json_is_integer(v) ||
	    json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX * 2LL)
		return;
	timestamp_format(json_integer_value(v), buf);
	snprintf(m->out->text[SALE_SOLD_AT], PLATFORM_TEXT_MAX + 1, "%s", buf);
	m->names[SALE_SOLD_AT] = name;
}

/*
 * A Stripe event about a Checkout Session: checkout.session.completed
 * when paid, or checkout.session.async_payment_succeeded.  The order id
 * is the PaymentIntent (what refunds name), else the session; the time is
 * the event's, when the payment completed.  Line items come only where
 * the session was expanded with them (line_items.data), and then as
 * Stripe listed them: a list it cut short (has_more) is kept as far as
 * it goes, since refusing the event would lose the sale.
 */
enum platform_result
platform_stripe_event(const char *json, size_t len, struct platform_order *out,
    char *why, size_t size)
{
	struct platform_map	 m;
	enum platform_result	 rc;
	static const char *const keys[ITEM_NFIELDS] = {
		[ITEM_PRODUCT] = "description", [ITEM_QUANTITY] = "quantity",
	};
	json_t			*root, *session, *details, *pi, *meta;
	const char		*type, *paid, *ref;

	platform_begin(&m, out, why, size);
	if ((root = platform_load(json, len, why, size)) == NULL)
		return PLATFORM_MALFORMED;
	type = platform_string(root, "type");
	session = platform_object(platform_object(root, "data"), "object");
	if (type == NULL || session == NULL) {
		rc = platform_fail(&m, PLATFORM_MALFORMED, NULL, "not a Stripe event: "
		    "no type or no data.object");
		goto out;
	}
	platform_id(root, "id", out->event_id, sizeof(out->event_id));
	if (strcmp(type, "checkout.session.completed") != 0 &&
	    strcmp(type, "checkout.session.async_payment_succeeded") != 0) {
		rc = platform_fail(&m, PLATFORM_IGNORED, NULL, "event type \"%.64s\" "
		    "is not a completed checkout", type);
		goto out;
	}
	/* An async payment (a bank debit) completes "unpaid" and succeeds later. */
	if ((paid = platform_string(session, "payment_status")) == NULL ||
	    strcmp(paid, "paid") != 0) {
		rc = platform_fail(&m, PLATFORM_IGNORED, NULL, "payment_status is "
		    "\"%.32s\": not paid, so not a sale yet", paid ? paid : "");
		goto out;
	}
	details = platform_object(session, "customer_details");
	platform_id(session, "id", out->platform_id, sizeof(out->platform_id));
	/* payment_intent is an id, or the object when the event expands it. */
	pi = json_object_get(session, "payment_intent");
	meta = platform_object(session, "metadata");

	rc = PLATFORM_BAD_FIELD;
	if ((json_is_object(pi) ? platform_take(&m, SALE_ORDER_ID, pi, "id",
		"payment_intent.id") : platform_take(&m, SALE_ORDER_ID, session,
		"payment_intent", "payment_intent")) == -1 ||
	    platform_take(&m, SALE_ORDER_ID, session, "id", "id") == -1 ||
	    platform_take(&m, SALE_EMAIL, details, "email",
		"customer_details.email") == -1 ||
	    platform_take(&m, SALE_EMAIL, session, "customer_email",
		"customer_email") == -1 ||
	    platform_take(&m, SALE_NAME, details, "name",
		"customer_details.name") == -1 ||
	    platform_take(&m, SALE_CURRENCY, session, "currency",
		"currency") == -1 ||
	    platform_stripe_amount(&m, session, "amount_total", "amount_total",
		sale_field_names[SALE_AMOUNT], out->text[SALE_AMOUNT]) !=
		PLATFORM_OK)
		goto out;
	m.names[SALE_AMOUNT] = "amount_total";
	platform_epoch(&m, root, "created", "created");
	platform_epoch(&m, session, "created", "data.object.created");

	/*
	 * client_reference_id is the shop's to use (a cart, a user id): it
	 * is a referral only when it has the shape of one.
	 */
	ref = platform_string(session, "client_reference_id");
	if (ref != NULL && platform_could_be_referral(ref)) {
		platform_copy(out->text[SALE_REFERRAL_CODE], ref);
		m.names[SALE_REFERRAL_CODE] = "client_reference_id";
	} else if (platform_take(&m, SALE_REFERRAL_CODE, meta, "referral_code",
	    "metadata.referral_code") == -1) {
		goto out;
	}

	if ((rc = platform_required(&m, "payment_intent (and id)",
	    "customer_details.email", "amount_total", "currency",
	    "created")) == PLATFORM_OK && (rc = platform_check(&m)) ==
	    PLATFORM_OK)
		rc = platform_items(&m, json_object_get(platform_object(session,
		    "line_items"), "data"), "line_items.data", keys,
		    platform_stripe_item);
out:
	json_decref(root);
	return rc;
}

/* The first element of an array member, if it is an object. */
static json_t *
platform_first(json_t *obj, const char *key)
{
	json_t *v = json_array_get(json_object_get(obj, key), 0);

	return json_is_object(v) ? v : NULL;
}

/*
 * One refund being mapped: its fields as text, and for each the name the
 * platform gives it, as struct platform_map keeps them for a sale.
 */
struct platform_refund_map {
	struct platform_refund	*out;
	char			*why;
	size_t			 size;
	char			 text[REFUND_NFIELDS][PLATFORM_TEXT_MAX + 1];
	const char		*names[REFUND_NFIELDS];
	char			 currency[4];	/* the amount's, if said */
};

static enum platform_result platform_refund_fail(struct platform_refund_map *m,
    enum platform_result rc, int field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Say why, and for a bad field which one; returns rc. */
static enum platform_result
platform_refund_fail(struct platform_refund_map *m, enum platform_result rc,
    int field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->why, m->size, fmt, ap);
	va_end(ap);
	if (rc == PLATFORM_BAD_FIELD)
		m->out->field = refund_field_names[field];
	return rc;
}

/* Start a refund's mapping; returns its body as an object, or NULL. */
static json_t *
platform_refund_begin(struct platform_refund_map *m, struct platform_refund *out,
    const char *json, size_t len, char *why, size_t size)
{
	memset(m, 0, sizeof(*m));
	memset(out, 0, sizeof(*out));
	m->out = out;
	m->why = why;
	m->size = size;
	if (size > 0)
		why[0] = '\0';
	for (int i = 0; i < REFUND_NFIELDS; i++)
		m->names[i] = refund_field_names[i];
	return platform_load(json, len, why, size);
}

/* Set a field from obj's member `key`, as platform_take sets a sale's. */
static int
platform_refund_take(struct platform_refund_map *m, int field, json_t *obj,
    const char *key, const char *name)
{
	char	*dst = m->text[field];
	int	 rc;

	if (dst[0] != '\0')
		return 0;
	if ((rc = platform_value(json_object_get(obj, key), dst)) == -1) {
		platform_refund_fail(m, PLATFORM_BAD_FIELD, field, "%s is not a "
		    "string", name);
		return -1;
	}
	if (rc == 1)
		m->names[field] = name;
	return 0;
}

/*
 * The order and the time are what every platform's refund has; then the
 * fields are checked as sale refund checks its options.
 */
static enum platform_result
platform_refund_check(struct platform_refund_map *m, const char *order,
    const char *time)
{
	char			*fields[REFUND_NFIELDS], err[SALE_ERROR_LEN];
	enum refund_field	 bad;

	if (m->text[REFUND_ORDER_ID][0] == '\0')
		return platform_refund_fail(m, PLATFORM_BAD_FIELD,
		    REFUND_ORDER_ID, "%s is missing", order);
	if (m->text[REFUND_REFUNDED_AT][0] == '\0')
		return platform_refund_fail(m, PLATFORM_BAD_FIELD,
		    REFUND_REFUNDED_AT, "%s is missing", time);
	for (int i = 0; i < REFUND_NFIELDS; i++)
		fields[i] = m->text[i];
	if (refund_parse(fields, m->names, 0, &m->out->refund, err, &bad) == -1)
		return platform_refund_fail(m, PLATFORM_BAD_FIELD, bad, "%s",
		    err);
	memcpy(m->out->refund.currency, m->currency, sizeof(m->currency));
	return PLATFORM_OK;
}

/*
 * Add one amount ("12.34" of `currency`, named `name`) to *sum; all of a
 * refund's amounts are in one currency.  0, or -1 with a bad field.
 */
static int
platform_refund_add(struct platform_refund_map *m, const char *amount,
    const char *currency, const char *name, int64_t *sum)
{
	char	text[PLATFORM_TEXT_MAX + 1], code[4] = "";
	int64_t	minor;

	for (int i = 0; i < 3 && currency != NULL && currency[i] != '\0'; i++)
		code[i] = (char)toupper((unsigned char)currency[i]);
	if (currency == NULL || strlen(currency) != 3 ||
	    !money_currency_valid(code) ||
	    (*m->currency != '\0' && strcmp(code, m->currency) != 0)) {
		platform_refund_fail(m, PLATFORM_BAD_FIELD, REFUND_AMOUNT,
		    "%s: the currency is missing, not an ISO 4217 code, or not "
		    "that of the refund's other amounts", name);
		return -1;
	}
	memcpy(m->currency, code, sizeof(code));
	if (amount == NULL) {
		platform_refund_fail(m, PLATFORM_BAD_FIELD, REFUND_AMOUNT,
		    "%s is missing or not a string such as \"12.34\"", name);
		return -1;
	}
	platform_copy(text, amount);
	platform_amount_trim(text, code);
	if (money_parse(text, money_decimals(code), &minor) == -1 ||
	    (*sum += minor) > MONEY_MAX) {
		platform_refund_fail(m, PLATFORM_BAD_FIELD, REFUND_AMOUNT,
		    "%s \"%.32s\" is not an amount of %s", name, amount, code);
		return -1;
	}
	return 0;
}

/*
 * What a Shopify refund gives back: its refund transactions that did not
 * fail; for a refund without any, what its line items come to with their
 * tax.  A refund that gives nothing back (a restock) is no refund for us.
 */
static enum platform_result
platform_shopify_refund_amount(struct platform_refund_map *m, json_t *root)
{
	json_t	*t, *sub, *tax;
	int64_t	 sum = 0;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(json_object_get(root, "transactions"), i, t) {
		const char *kind = platform_string(t, "kind");
		const char *status = platform_string(t, "status");

		if (kind == NULL || strcmp(kind, "refund") != 0 ||
		    (status != NULL && (strcmp(status, "failure") == 0 ||
		    strcmp(status, "error") == 0)))
			continue;
		if (platform_refund_add(m, platform_string(t, "amount"),
		    platform_string(t, "currency"), "transactions[].amount",
		    &sum) == -1)
			return PLATFORM_BAD_FIELD;
		n++;
	}
	if (n == 0) {
		json_array_foreach(json_object_get(root, "refund_line_items"), i,
		    t) {
			sub = platform_object(platform_object(t, "subtotal_set"),
			    "shop_money");
			tax = platform_object(platform_object(t,
			    "total_tax_set"), "shop_money");
			if (platform_refund_add(m, platform_string(sub, "amount"),
			    platform_string(sub, "currency_code"),
			    "refund_line_items[].subtotal_set", &sum) == -1 ||
			    (tax != NULL && platform_refund_add(m,
			    platform_string(tax, "amount"), platform_string(tax,
			    "currency_code"), "refund_line_items[].total_tax_set",
			    &sum) == -1))
				return PLATFORM_BAD_FIELD;
			n++;
		}
	}
	if (sum == 0)
		return platform_refund_fail(m, PLATFORM_IGNORED, 0, "the refund "
		    "gives no money back (no refund transaction, no line item)");
	money_format(sum, m->currency, m->text[REFUND_AMOUNT]);
	m->names[REFUND_AMOUNT] = n > 0 ? "transactions[].amount" :
	    "refund_line_items[].subtotal_set";
	return PLATFORM_OK;
}

/*
 * Shopify's refunds/create: a refund object, which names its order by
 * the order's numeric id.  That id is checked as an order id would be,
 * then handed over as the platform's own.
 */
enum platform_result
platform_shopify_refund(const char *json, size_t len,
    struct platform_refund *out, char *why, size_t size)
{
	struct platform_refund_map	 m;
	enum platform_result		 rc;
	json_t				*root;

	if ((root = platform_refund_begin(&m, out, json, len, why,
	    size)) == NULL)
		return PLATFORM_MALFORMED;
	rc = PLATFORM_BAD_FIELD;
	if (platform_refund_take(&m, REFUND_ORDER_ID, root, "order_id",
		"order_id") == -1 ||
	    platform_refund_take(&m, REFUND_REFUND_ID, root, "id", "id") == -1 ||
	    platform_refund_take(&m, REFUND_REFUNDED_AT, root, "processed_at",
		"processed_at") == -1 ||
	    platform_refund_take(&m, REFUND_REFUNDED_AT, root, "created_at",
		"created_at") == -1 ||
	    platform_refund_take(&m, REFUND_REASON, root, "note", "note") == -1)
		goto out;
	if (m.text[REFUND_ORDER_ID][0] != '\0' &&
	    (rc = platform_shopify_refund_amount(&m, root)) != PLATFORM_OK)
		goto out;
	if ((rc = platform_refund_check(&m, "order_id",
	    "processed_at (and created_at)")) == PLATFORM_OK) {
		memcpy(out->refund.platform_order, out->refund.order_id,
		    sizeof(out->refund.order_id));
		out->refund.order_id[0] = '\0';
	}
out:
	json_decref(root);
	return rc;
}

/*
 * Shopify's orders/cancelled: the order, cancelled; all that is left of
 * it goes back.  An order that was never paid gave nothing to give back.
 */
enum platform_result
platform_shopify_cancelled(const char *json, size_t len,
    struct platform_refund *out, char *why, size_t size)
{
	struct platform_refund_map	 m;
	enum platform_result		 rc;
	json_t				*root;
	const char			*status;

	if ((root = platform_refund_begin(&m, out, json, len, why,
	    size)) == NULL)
		return PLATFORM_MALFORMED;
	status = platform_string(root, "financial_status");
	if (status != NULL && platform_shopify_payment(status) == PLATFORM_UNPAID) {
		rc = platform_refund_fail(&m, PLATFORM_IGNORED, 0,
		    "financial_status is \"%.32s\": nothing was paid, so nothing "
		    "goes back", status);
		goto out;
	}
	rc = PLATFORM_BAD_FIELD;
	if (platform_refund_take(&m, REFUND_ORDER_ID, root, "name",
		"name") == -1 ||
	    platform_refund_take(&m, REFUND_REFUNDED_AT, root, "cancelled_at",
		"cancelled_at") == -1 ||
	    platform_refund_take(&m, REFUND_REASON, root, "cancel_reason",
		"cancel_reason") == -1)
		goto out;
	rc = platform_refund_check(&m, "name", "cancelled_at");
out:
	json_decref(root);
	return rc;
}

/*
 * A WooCommerce order (order.updated) whose status is refunded: all that
 * is left of it went back, when it was last changed.
 */
enum platform_result
platform_woocommerce_refund(const char *json, size_t len,
    struct platform_refund *out, char *why, size_t size)
{
	struct platform_refund_map	 m;
	enum platform_result		 rc;
	json_t				*root;
	const char			*status;

	if ((root = platform_refund_begin(&m, out, json, len, why,
	    size)) == NULL)
		return PLATFORM_MALFORMED;
	status = platform_string(root, "status");
	if (status == NULL || strcmp(status, "refunded") != 0) {
		rc = platform_refund_fail(&m, PLATFORM_IGNORED, 0, "status is "
		    "\"%.32s\": not refunded", status ? status : "");
		goto out;
	}
	rc = PLATFORM_BAD_FIELD;
	if (platform_refund_take(&m, REFUND_ORDER_ID, root, "number",
		"number") == -1 ||
	    platform_refund_take(&m, REFUND_REFUNDED_AT, root,
		"date_modified_gmt", "date_modified_gmt") == -1)
		goto out;
	platform_utc(m.text[REFUND_REFUNDED_AT]);
	rc = platform_refund_check(&m, "number", "date_modified_gmt");
out:
	json_decref(root);
	return rc;
}

/*
 * Stripe's charge.refunded: the charge, whose amount_refunded is all that
 * was refunded of it so far, in Stripe's minor units.  The order is the
 * charge's PaymentIntent, as for the checkout that made the sale; the
 * latest refund, when the event lists the charge's refunds, gives an id.
 */
enum platform_result
platform_stripe_refund(const char *json, size_t len,
    struct platform_refund *out, char *why, size_t size)
{
	struct platform_refund_map	 m;
	enum platform_result		 rc;
	json_t				*root, *charge, *pi, *latest, *v;
	const char			*type, *currency;
	int64_t				 units;
	char				 code[4] = "";

	if ((root = platform_refund_begin(&m, out, json, len, why,
	    size)) == NULL)
		return PLATFORM_MALFORMED;
	type = platform_string(root, "type");
	charge = platform_object(platform_object(root, "data"), "object");
	if (type == NULL || charge == NULL) {
		rc = platform_refund_fail(&m, PLATFORM_MALFORMED, 0, "not a "
		    "Stripe event: no type or no data.object");
		goto out;
	}
	platform_id(root, "id", out->event_id, sizeof(out->event_id));
	if (strcmp(type, "charge.refunded") != 0) {
		rc = platform_refund_fail(&m, PLATFORM_IGNORED, 0, "event type "
		    "\"%.64s\" is not a refund", type);
		goto out;
	}
	pi = json_object_get(charge, "payment_intent");
	latest = platform_first(platform_object(charge, "refunds"), "data");
	rc = PLATFORM_BAD_FIELD;
	if ((json_is_object(pi) ? platform_refund_take(&m, REFUND_ORDER_ID, pi,
		"id", "payment_intent.id") : platform_refund_take(&m,
		REFUND_ORDER_ID, charge, "payment_intent",
		"payment_intent")) == -1 ||
	    platform_refund_take(&m, REFUND_REFUND_ID, latest, "id",
		"refunds.data[0].id") == -1 ||
	    platform_refund_take(&m, REFUND_REASON, latest, "reason",
		"refunds.data[0].reason") == -1)
		goto out;
	if (m.text[REFUND_ORDER_ID][0] == '\0') {
		rc = platform_refund_fail(&m, PLATFORM_IGNORED, 0, "the charge "
		    "has no payment_intent, so it is no order of ours");
		goto out;
	}

	v = json_object_get(charge, "amount_refunded");
	currency = platform_string(charge, "currency");
	for (int i = 0; i < 3 && currency != NULL && currency[i] != '\0'; i++)
		code[i] = (char)toupper((unsigned char)currency[i]);
	if (currency == NULL || strlen(currency) != 3 ||
	    !money_currency_valid(code)) {
		rc = platform_refund_fail(&m, PLATFORM_BAD_FIELD, REFUND_AMOUNT,
		    "currency is missing or not a three-letter ISO 4217 code");
		goto out;
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > MONEY_MAX ||
	    platform_stripe_units(json_integer_value(v), code, &units) != 0) {
		rc = platform_refund_fail(&m, PLATFORM_BAD_FIELD, REFUND_AMOUNT,
		    "amount_refunded is not a whole number of minor units of %s "
		    "above 0", code);
		goto out;
	}
	money_format(units, code, m.text[REFUND_AMOUNT]);
	m.names[REFUND_AMOUNT] = "amount_refunded";
	memcpy(m.currency, code, sizeof(code));
	v = json_object_get(root, "created");
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= INT32_MAX * 2LL) {
		timestamp_format(json_integer_value(v),
		    m.text[REFUND_REFUNDED_AT]);
		m.names[REFUND_REFUNDED_AT] = "created";
	}
	if ((rc = platform_refund_check(&m, "payment_intent",
	    "created")) == PLATFORM_OK)
		out->refund.cumulative = 1;
out:
	json_decref(root);
	return rc;
}
