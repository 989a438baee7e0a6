/* The platforms' order and refund JSON and webhook signatures, as any body or header. */

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"

#include "email.h"
#include "money.h"
#include "platform.h"
#include "signature.h"
#include "text.h"
#include "token.h"

#define FUZZ_NOW	1782900000	/* 2026-07-01 */
#define FUZZ_SECRET	"whsec_fuzz"

typedef enum platform_result mapper(const char *, size_t,
    struct platform_order *, char *, size_t);

/* Any body: a result of the four, and a sale only as sale add takes it. */
static void
fuzz_mapper(mapper *fn, const char *body, size_t len)
{
	static struct platform_order o, again;
	char			why[256], why2[256];
	enum platform_result	rc;
	const struct sale	*s = &o.sale;

	rc = fn(body, len, &o, why, sizeof(why));
	FUZZ_CHECK(rc == PLATFORM_OK || rc == PLATFORM_IGNORED ||
	    rc == PLATFORM_BAD_FIELD || rc == PLATFORM_MALFORMED);
	FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
	FUZZ_CHECK((rc == PLATFORM_OK) == (why[0] == '\0'));
	FUZZ_CHECK((rc == PLATFORM_BAD_FIELD) == (o.field != NULL));
	/* A sale's field, or an item's, named as in the payload. */
	if (o.field != NULL) {
		int known = strncmp(o.field, "line_items", 10) == 0;

		for (int i = 0; i < SALE_NFIELDS; i++)
			known |= strcmp(o.field, sale_field_names[i]) == 0;
		FUZZ_CHECK(known);
	}
	/* Pure: the same body, the same answer. */
	FUZZ_CHECK(fn(body, len, &again, why2, sizeof(why2)) == rc);
	FUZZ_CHECK(strcmp(why, why2) == 0);
	if (rc != PLATFORM_OK)
		return;

	FUZZ_CHECK(*s->order_id != '\0' && strlen(s->order_id) <= 128);
	FUZZ_CHECK(strcmp(s->order_id, again.sale.order_id) == 0);
	FUZZ_CHECK(email_check(s->email) == NULL);
	FUZZ_CHECK(money_currency_valid(s->currency));
	FUZZ_CHECK(s->amount >= 0 && s->amount <= MONEY_MAX);
	FUZZ_CHECK(s->sold_at >= 0 && s->sold_at_given);
	FUZZ_CHECK(s->referral_code[0] == '\0' ||
	    strlen(s->referral_code) == REFERRAL_CODE_LEN);
	/* No field could end a header line or hide what it says. */
	const char *fields[] = { s->order_id, s->email, s->name, s->sku,
	    s->product, s->referral_given };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		FUZZ_CHECK(text_utf8_valid(fields[i]));
		FUZZ_CHECK(!text_has_control(fields[i]));
	}
	FUZZ_CHECK(text_find_format(s->order_id, 0) == 0);
	FUZZ_CHECK(text_find_format(s->sku, 0) == 0);
	/* Items as sale_item_parse admits them; the first is the sale's. */
	FUZZ_CHECK(s->nitems <= SALE_ITEMS_MAX);
	FUZZ_CHECK(s->nitems == again.sale.nitems);
	if (s->nitems > 0)
		FUZZ_CHECK(strcmp(s->sku, s->items[0].sku) == 0 &&
		    strcmp(s->product, s->items[0].product) == 0);
	for (size_t i = 0; i < s->nitems; i++) {
		const struct sale_item *it = &s->items[i];

		FUZZ_CHECK(it->quantity >= 1 && it->quantity <= SALE_QUANTITY_MAX);
		FUZZ_CHECK(it->amount >= 0 && it->amount <= MONEY_MAX);
		FUZZ_CHECK(text_utf8_valid(it->sku) && !text_has_control(it->sku));
		FUZZ_CHECK(text_utf8_valid(it->product) &&
		    !text_has_control(it->product));
		FUZZ_CHECK(text_find_format(it->sku, 0) == 0);
	}
}

typedef enum platform_result refund_mapper(const char *, size_t,
    struct platform_refund *, char *, size_t);

/* Any body: a result of the four, and a refund only as sale refund takes it. */
static void
fuzz_refund(refund_mapper *fn, const char *body, size_t len)
{
	static struct platform_refund	 o, again;
	char				 why[256], why2[256];
	enum platform_result		 rc;
	const struct refund		*r = &o.refund;
	int64_t				 minor;

	rc = fn(body, len, &o, why, sizeof(why));
	FUZZ_CHECK(rc == PLATFORM_OK || rc == PLATFORM_IGNORED ||
	    rc == PLATFORM_BAD_FIELD || rc == PLATFORM_MALFORMED);
	FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
	FUZZ_CHECK((rc == PLATFORM_OK) == (why[0] == '\0'));
	FUZZ_CHECK((rc == PLATFORM_BAD_FIELD) == (o.field != NULL));
	if (o.field != NULL) {
		int known = 0;

		for (int i = 0; i < REFUND_NFIELDS; i++)
			known |= o.field == refund_field_names[i];
		FUZZ_CHECK(known);
	}
	/* Pure: the same body, the same answer. */
	FUZZ_CHECK(fn(body, len, &again, why2, sizeof(why2)) == rc);
	FUZZ_CHECK(strcmp(why, why2) == 0);
	if (rc != PLATFORM_OK)
		return;

	/* The order by our id or by the platform's, never both. */
	FUZZ_CHECK((*r->order_id != '\0') != (*r->platform_order != '\0'));
	FUZZ_CHECK(strlen(r->order_id) <= 128 && strlen(r->platform_order) <= 128);
	FUZZ_CHECK(*r->amount == '\0' || money_parse(r->amount, 4, &minor) == 0);
	FUZZ_CHECK(*r->currency == '\0' || money_currency_valid(r->currency));
	FUZZ_CHECK(!r->cumulative || *r->amount != '\0');
	const char *fields[] = { r->order_id, r->platform_order, r->refund_id,
	    r->reason };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		FUZZ_CHECK(text_utf8_valid(fields[i]));
		FUZZ_CHECK(!text_has_control(fields[i]));
	}
	FUZZ_CHECK(text_find_format(r->order_id, 0) == 0);
	FUZZ_CHECK(text_find_format(r->platform_order, 0) == 0);
	FUZZ_CHECK(text_find_format(r->refund_id, 0) == 0);
}

/* Any header: one of the answers, never OK for bytes nobody signed. */
static void
fuzz_headers(const char *text)
{
	static const char body[] = "{\"id\":\"evt_1\"}";
	enum signature_result r;

	r = signature_stripe(FUZZ_SECRET, strlen(FUZZ_SECRET), body,
	    strlen(body), text, FUZZ_NOW, 300);
	FUZZ_CHECK(r == SIGNATURE_MISMATCH || r == SIGNATURE_MALFORMED ||
	    r == SIGNATURE_STALE || r == SIGNATURE_OK);
	/* OK needs the real HMAC in the header: 64 hex digits at least. */
	if (r == SIGNATURE_OK)
		FUZZ_CHECK(strlen(text) >= 2 + 1 + 3 + 64);
	r = signature_base64(FUZZ_SECRET, strlen(FUZZ_SECRET), body,
	    strlen(body), text);
	FUZZ_CHECK(r == SIGNATURE_MISMATCH || r == SIGNATURE_MALFORMED ||
	    r == SIGNATURE_OK);

	/* The export's helpers take any text too. */
	char out[64], amount[MONEY_TEXT_LEN + 8];
	int64_t before, after;

	if (platform_shopify_time(text, out, sizeof(out)) == 0)
		FUZZ_CHECK(strlen(out) <= strlen(text));
	platform_referral_from_codes(text, out, sizeof(out));
	FUZZ_CHECK(out[0] == '\0' || strstr(text, out) != NULL);
	if (strlen(text) < sizeof(amount)) {
		strcpy(amount, text);
		platform_amount_trim(amount, "JPY");
		/* Dropping zeros never changes an amount that was valid. */
		if (money_parse(text, 0, &before) == 0)
			FUZZ_CHECK(money_parse(amount, 0, &after) == 0 &&
			    after == before);
		if (money_parse(amount, 0, &after) == 0 &&
		    money_parse(text, 2, &before) == 0)
			FUZZ_CHECK(before == after * 100);
	}
}

/*
 * Any body, signed as Stripe signs it: verified; one bit of it changed,
 * or the signature made with another secret: not.
 */
static void
fuzz_signed(const uint8_t *body, size_t len)
{
	unsigned char	 mac[32];
	unsigned int	 maclen = 0;
	char		 header[128], t[16];
	uint8_t		*flipped;

	snprintf(t, sizeof(t), "%d", FUZZ_NOW);
	{
		uint8_t *msg = malloc(strlen(t) + 1 + len + 1);

		FUZZ_CHECK(msg != NULL);
		memcpy(msg, t, strlen(t));
		msg[strlen(t)] = '.';
		memcpy(msg + strlen(t) + 1, body, len);
		FUZZ_CHECK(HMAC(EVP_sha256(), FUZZ_SECRET, strlen(FUZZ_SECRET), msg,
		    strlen(t) + 1 + len, mac, &maclen) != NULL && maclen == 32);
		free(msg);
	}
	int n = snprintf(header, sizeof(header), "t=%s,v1=", t);
	for (int i = 0; i < 32; i++)
		n += snprintf(header + n, sizeof(header) - (size_t)n, "%02x", mac[i]);
	FUZZ_CHECK(signature_stripe(FUZZ_SECRET, strlen(FUZZ_SECRET), body, len,
	    header, FUZZ_NOW + 299, 300) == SIGNATURE_OK);
	FUZZ_CHECK(signature_stripe(FUZZ_SECRET, strlen(FUZZ_SECRET), body, len,
	    header, FUZZ_NOW + 301, 300) == SIGNATURE_STALE);
	FUZZ_CHECK(signature_stripe("whsec_other", 11, body, len, header, FUZZ_NOW,
	    300) == SIGNATURE_MISMATCH);
	if (len == 0)
		return;
	flipped = malloc(len);
	FUZZ_CHECK(flipped != NULL);
	memcpy(flipped, body, len);
	flipped[len / 2] ^= 0x01;
	FUZZ_CHECK(signature_stripe(FUZZ_SECRET, strlen(FUZZ_SECRET), flipped, len,
	    header, FUZZ_NOW, 300) == SIGNATURE_MISMATCH);
	free(flipped);
}

/*
 * The first byte picks the target ('0' Shopify, '1' WooCommerce, '2'
 * Stripe, '3' the header parsers and export helpers, '4' a signed body;
 * refunds: '5' Shopify's refunds/create, '6' its orders/cancelled, '7'
 * WooCommerce's, '8' Stripe's), the rest is its input.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*body = (const char *)data + 1;
	char		*text;

	if (size == 0)
		return 0;
	switch ((data[0] & 0x0f) % 9) {
	case 0:
		fuzz_mapper(platform_shopify_order, body, size - 1);
		break;
	case 1:
		fuzz_mapper(platform_woocommerce_order, body, size - 1);
		break;
	case 2:
		fuzz_mapper(platform_stripe_event, body, size - 1);
		break;
	case 3:
		text = fuzz_string(data + 1, size - 1);
		fuzz_headers(text);
		free(text);
		break;
	case 4:
		fuzz_signed(data + 1, size - 1);
		break;
	case 5:
		fuzz_refund(platform_shopify_refund, body, size - 1);
		break;
	case 6:
		fuzz_refund(platform_shopify_cancelled, body, size - 1);
		break;
	case 7:
		fuzz_refund(platform_woocommerce_refund, body, size - 1);
		break;
	default:
		fuzz_refund(platform_stripe_refund, body, size - 1);
		break;
	}
	return 0;
}
