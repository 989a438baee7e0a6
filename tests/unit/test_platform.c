/* The platforms' order JSON mapped to sales, on payloads shaped like each
 * platform's documented examples. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "platform.h"
#include "timestamp.h"

/* Shaped like Shopify's documented order webhook payload (orders/paid). */
static const char shopify_order[] =
    "{\n"
    " \"id\": 820982911946154508,\n"
    " \"admin_graphql_api_id\": \"gid://shopify/Order/820982911946154508\",\n"
    " \"app_id\": null,\n"
    " \"browser_ip\": null,\n"
    " \"buyer_accepts_marketing\": true,\n"
    " \"cancel_reason\": null,\n"
    " \"cancelled_at\": null,\n"
    " \"cart_token\": null,\n"
    " \"checkout_id\": null,\n"
    " \"checkout_token\": null,\n"
    " \"closed_at\": null,\n"
    " \"confirmed\": true,\n"
    " \"contact_email\": \"jon@example.com\",\n"
    " \"created_at\": \"2026-03-01T09:58:12-05:00\",\n"
    " \"currency\": \"USD\",\n"
    " \"current_subtotal_price\": \"398.00\",\n"
    " \"current_total_discounts\": \"5.00\",\n"
    " \"current_total_price\": \"403.00\",\n"
    " \"current_total_tax\": \"0.00\",\n"
    " \"customer_locale\": \"en\",\n"
    " \"discount_codes\": [\n"
    "  {\n"
    "   \"code\": \"SUMMER10\",\n"
    "   \"amount\": \"2.00\",\n"
    "   \"type\": \"fixed_amount\"\n"
    "  },\n"
    "  {\n"
    "   \"code\": \"k3x9-qf2m\",\n"
    "   \"amount\": \"3.00\",\n"
    "   \"type\": \"fixed_amount\"\n"
    "  }\n"
    " ],\n"
    " \"email\": \"jon@example.com\",\n"
    " \"financial_status\": \"paid\",\n"
    " \"fulfillment_status\": null,\n"
    " \"landing_site\": \"/?utm_source=mail&ref=ZZZZZZZZ\",\n"
    " \"name\": \"#9999\",\n"
    " \"note\": null,\n"
    " \"note_attributes\": [\n"
    "  {\n"
    "   \"name\": \"gift\",\n"
    "   \"value\": \"yes\"\n"
    "  }\n"
    " ],\n"
    " \"number\": 234,\n"
    " \"order_number\": 1234,\n"
    " \"presentment_currency\": \"USD\",\n"
    " \"processed_at\": \"2026-03-01T10:00:00-05:00\",\n"
    " \"referring_site\": null,\n"
    " \"subtotal_price\": \"398.00\",\n"
    " \"tags\": \"tag1, tag2\",\n"
    " \"test\": false,\n"
    " \"total_discounts\": \"5.00\",\n"
    " \"total_price\": \"403.00\",\n"
    " \"total_tax\": \"0.00\",\n"
    " \"billing_address\": {\n"
    "  \"first_name\": \"Steve\",\n"
    "  \"address1\": \"123 Shipping Street\",\n"
    "  \"phone\": \"555-555-SHIP\",\n"
    "  \"city\": \"Shippington\",\n"
    "  \"zip\": \"40003\",\n"
    "  \"province\": \"Kentucky\",\n"
    "  \"country\": \"United States\",\n"
    "  \"last_name\": \"Shipper\",\n"
    "  \"address2\": null,\n"
    "  \"company\": \"Shipping Company\",\n"
    "  \"latitude\": null,\n"
    "  \"longitude\": null,\n"
    "  \"name\": \"Steve Shipper\",\n"
    "  \"country_code\": \"US\",\n"
    "  \"province_code\": \"KY\"\n"
    " },\n"
    " \"customer\": {\n"
    "  \"id\": 115310627314723954,\n"
    "  \"email\": \"john@example.com\",\n"
    "  \"created_at\": null,\n"
    "  \"updated_at\": null,\n"
    "  \"first_name\": \"John\",\n"
    "  \"last_name\": \"Smith\",\n"
    "  \"state\": \"disabled\",\n"
    "  \"note\": null,\n"
    "  \"verified_email\": true,\n"
    "  \"multipass_identifier\": null,\n"
    "  \"tax_exempt\": false,\n"
    "  \"phone\": null,\n"
    "  \"currency\": \"USD\"\n"
    " },\n"
    " \"line_items\": [\n"
    "  {\n"
    "   \"id\": 866550311766439020,\n"
    "   \"admin_graphql_api_id\": \"gid://shopify/LineItem/866550311766439020\",\n"
    "   \"current_quantity\": 1,\n"
    "   \"fulfillable_quantity\": 1,\n"
    "   \"fulfillment_service\": \"manual\",\n"
    "   \"fulfillment_status\": null,\n"
    "   \"gift_card\": false,\n"
    "   \"grams\": 567,\n"
    "   \"name\": \"IPod Nano - 8GB\",\n"
    "   \"price\": \"199.00\",\n"
    "   \"product_exists\": true,\n"
    "   \"product_id\": 632910392,\n"
    "   \"properties\": [],\n"
    "   \"quantity\": 1,\n"
    "   \"requires_shipping\": true,\n"
    "   \"sku\": \"IPOD2008PINK\",\n"
    "   \"taxable\": true,\n"
    "   \"title\": \"IPod Nano - 8GB\",\n"
    "   \"total_discount\": \"0.00\",\n"
    "   \"variant_id\": 808950810,\n"
    "   \"variant_title\": null,\n"
    "   \"vendor\": null,\n"
    "   \"tax_lines\": [],\n"
    "   \"discount_allocations\": []\n"
    "  },\n"
    "  {\n"
    "   \"id\": 141249953214522974,\n"
    "   \"current_quantity\": 1,\n"
    "   \"name\": \"IPod Nano - 8GB\",\n"
    "   \"price\": \"199.00\",\n"
    "   \"product_id\": 632910392,\n"
    "   \"quantity\": 1,\n"
    "   \"sku\": \"IPOD2008PINK\",\n"
    "   \"title\": \"IPod Nano - 8GB\",\n"
    "   \"variant_id\": 808950810,\n"
    "   \"tax_lines\": []\n"
    "  }\n"
    " ],\n"
    " \"refunds\": [],\n"
    " \"shipping_lines\": [\n"
    "  {\n"
    "   \"id\": 271878346596884015,\n"
    "   \"code\": null,\n"
    "   \"price\": \"10.00\",\n"
    "   \"title\": \"Generic Shipping\"\n"
    "  }\n"
    " ]\n"
    "}";

/* Shaped like the order of WooCommerce's REST API documentation, as its order webhooks send it. */
static const char woocommerce_order[] =
    "{\n"
    " \"id\": 727,\n"
    " \"parent_id\": 0,\n"
    " \"number\": \"727\",\n"
    " \"order_key\": \"wc_order_58d2d042d1d\",\n"
    " \"created_via\": \"rest-api\",\n"
    " \"version\": \"3.0.0\",\n"
    " \"status\": \"processing\",\n"
    " \"currency\": \"USD\",\n"
    " \"date_created\": \"2017-03-22T16:28:02\",\n"
    " \"date_created_gmt\": \"2017-03-22T19:28:02\",\n"
    " \"date_modified\": \"2017-03-22T16:28:08\",\n"
    " \"date_modified_gmt\": \"2017-03-22T19:28:08\",\n"
    " \"discount_total\": \"0.00\",\n"
    " \"discount_tax\": \"0.00\",\n"
    " \"shipping_total\": \"10.00\",\n"
    " \"shipping_tax\": \"0.00\",\n"
    " \"cart_tax\": \"1.35\",\n"
    " \"total\": \"29.35\",\n"
    " \"total_tax\": \"1.35\",\n"
    " \"prices_include_tax\": false,\n"
    " \"customer_id\": 0,\n"
    " \"customer_ip_address\": \"\",\n"
    " \"customer_user_agent\": \"\",\n"
    " \"customer_note\": \"\",\n"
    " \"billing\": {\n"
    "  \"first_name\": \"John\",\n"
    "  \"last_name\": \"Doe\",\n"
    "  \"company\": \"\",\n"
    "  \"address_1\": \"969 Market\",\n"
    "  \"address_2\": \"\",\n"
    "  \"city\": \"San Francisco\",\n"
    "  \"state\": \"CA\",\n"
    "  \"postcode\": \"94103\",\n"
    "  \"country\": \"US\",\n"
    "  \"email\": \"john.doe@example.com\",\n"
    "  \"phone\": \"(555) 555-5555\"\n"
    " },\n"
    " \"shipping\": {\n"
    "  \"first_name\": \"John\",\n"
    "  \"last_name\": \"Doe\",\n"
    "  \"company\": \"\",\n"
    "  \"address_1\": \"969 Market\",\n"
    "  \"address_2\": \"\",\n"
    "  \"city\": \"San Francisco\",\n"
    "  \"state\": \"CA\",\n"
    "  \"postcode\": \"94103\",\n"
    "  \"country\": \"US\"\n"
    " },\n"
    " \"payment_method\": \"bacs\",\n"
    " \"payment_method_title\": \"Direct Bank Transfer\",\n"
    " \"transaction_id\": \"\",\n"
    " \"date_paid\": \"2017-03-22T16:28:08\",\n"
    " \"date_paid_gmt\": \"2017-03-22T19:28:08\",\n"
    " \"date_completed\": null,\n"
    " \"date_completed_gmt\": null,\n"
    " \"cart_hash\": \"\",\n"
    " \"meta_data\": [\n"
    "  {\n"
    "   \"id\": 13106,\n"
    "   \"key\": \"_download_permissions_granted\",\n"
    "   \"value\": \"yes\"\n"
    "  }\n"
    " ],\n"
    " \"line_items\": [\n"
    "  {\n"
    "   \"id\": 315,\n"
    "   \"name\": \"Woo Single #1\",\n"
    "   \"product_id\": 93,\n"
    "   \"variation_id\": 0,\n"
    "   \"quantity\": 2,\n"
    "   \"tax_class\": \"\",\n"
    "   \"subtotal\": \"6.00\",\n"
    "   \"subtotal_tax\": \"0.45\",\n"
    "   \"total\": \"6.00\",\n"
    "   \"total_tax\": \"0.45\",\n"
    "   \"taxes\": [\n"
    "    {\n"
    "     \"id\": 75,\n"
    "     \"total\": \"0.45\",\n"
    "     \"subtotal\": \"0.45\"\n"
    "    }\n"
    "   ],\n"
    "   \"meta_data\": [],\n"
    "   \"sku\": \"\",\n"
    "   \"price\": 3\n"
    "  },\n"
    "  {\n"
    "   \"id\": 316,\n"
    "   \"name\": \"Ship Your Idea &ndash; Color: Black, Size: M Test\",\n"
    "   \"product_id\": 22,\n"
    "   \"variation_id\": 23,\n"
    "   \"quantity\": 1,\n"
    "   \"tax_class\": \"\",\n"
    "   \"subtotal\": \"12.00\",\n"
    "   \"subtotal_tax\": \"0.90\",\n"
    "   \"total\": \"12.00\",\n"
    "   \"total_tax\": \"0.90\",\n"
    "   \"sku\": \"Bar3\",\n"
    "   \"price\": 12\n"
    "  }\n"
    " ],\n"
    " \"tax_lines\": [\n"
    "  {\n"
    "   \"id\": 318,\n"
    "   \"rate_code\": \"US-CA-STATE TAX\",\n"
    "   \"rate_id\": 75,\n"
    "   \"label\": \"State Tax\",\n"
    "   \"compound\": false,\n"
    "   \"tax_total\": \"1.35\",\n"
    "   \"shipping_tax_total\": \"0.00\"\n"
    "  }\n"
    " ],\n"
    " \"shipping_lines\": [\n"
    "  {\n"
    "   \"id\": 317,\n"
    "   \"method_title\": \"Flat Rate\",\n"
    "   \"method_id\": \"flat_rate\",\n"
    "   \"total\": \"10.00\",\n"
    "   \"total_tax\": \"0.00\",\n"
    "   \"taxes\": []\n"
    "  }\n"
    " ],\n"
    " \"fee_lines\": [],\n"
    " \"coupon_lines\": [\n"
    "  {\n"
    "   \"id\": 320,\n"
    "   \"code\": \"welcome\",\n"
    "   \"discount\": \"1.00\",\n"
    "   \"discount_tax\": \"0.00\"\n"
    "  },\n"
    "  {\n"
    "   \"id\": 321,\n"
    "   \"code\": \"k3x9qf2m\",\n"
    "   \"discount\": \"0.00\",\n"
    "   \"discount_tax\": \"0.00\"\n"
    "  }\n"
    " ],\n"
    " \"refunds\": []\n"
    "}";

/* Shaped like Stripe's documented checkout.session.completed event. */
static const char stripe_event[] =
    "{\n"
    " \"id\": \"evt_1NG8Du2eZvKYlo2CUI79vXWy\",\n"
    " \"object\": \"event\",\n"
    " \"api_version\": \"2024-06-20\",\n"
    " \"created\": 1772380800,\n"
    " \"data\": {\n"
    "  \"object\": {\n"
    "   \"id\": \"cs_test_a1Ypm1KANzuJ3Gz8JcXyaDqFzGx5v9CeStQAaB3MxgX0DaVQy1Y0BQ8uZP\",\n"
    "   \"object\": \"checkout.session\",\n"
    "   \"after_expiration\": null,\n"
    "   \"allow_promotion_codes\": null,\n"
    "   \"amount_subtotal\": 2000,\n"
    "   \"amount_total\": 2000,\n"
    "   \"automatic_tax\": {\n"
    "    \"enabled\": false,\n"
    "    \"liability\": null,\n"
    "    \"status\": null\n"
    "   },\n"
    "   \"billing_address_collection\": null,\n"
    "   \"cancel_url\": \"https://example.com/cancel\",\n"
    "   \"client_reference_id\": null,\n"
    "   \"consent\": null,\n"
    "   \"consent_collection\": null,\n"
    "   \"created\": 1772380000,\n"
    "   \"currency\": \"eur\",\n"
    "   \"custom_fields\": [],\n"
    "   \"custom_text\": {\n"
    "    \"shipping_address\": null,\n"
    "    \"submit\": null\n"
    "   },\n"
    "   \"customer\": \"cus_NciAYcXfLnqBoz\",\n"
    "   \"customer_creation\": \"if_required\",\n"
    "   \"customer_details\": {\n"
    "    \"address\": {\n"
    "     \"city\": null,\n"
    "     \"country\": \"FR\",\n"
    "     \"line1\": null,\n"
    "     \"line2\": null,\n"
    "     \"postal_code\": null,\n"
    "     \"state\": null\n"
    "    },\n"
    "    \"email\": \"jenny.rosen@example.com\",\n"
    "    \"name\": \"Jenny Rosen\",\n"
    "    \"phone\": null,\n"
    "    \"tax_exempt\": \"none\",\n"
    "    \"tax_ids\": []\n"
    "   },\n"
    "   \"customer_email\": null,\n"
    "   \"expires_at\": 1772466400,\n"
    "   \"invoice\": null,\n"
    "   \"invoice_creation\": null,\n"
    "   \"livemode\": false,\n"
    "   \"locale\": null,\n"
    "   \"metadata\": {\n"
    "    \"referral_code\": \"K3X9QF2M\"\n"
    "   },\n"
    "   \"mode\": \"payment\",\n"
    "   \"payment_intent\": \"pi_3MtwBwLkdIwHu7ix28a3tqPa\",\n"
    "   \"payment_link\": null,\n"
    "   \"payment_method_collection\": \"always\",\n"
    "   \"payment_method_types\": [\n"
    "    \"card\"\n"
    "   ],\n"
    "   \"payment_status\": \"paid\",\n"
    "   \"phone_number_collection\": {\n"
    "    \"enabled\": false\n"
    "   },\n"
    "   \"recovered_from\": null,\n"
    "   \"setup_intent\": null,\n"
    "   \"shipping_address_collection\": null,\n"
    "   \"shipping_cost\": null,\n"
    "   \"shipping_details\": null,\n"
    "   \"shipping_options\": [],\n"
    "   \"status\": \"complete\",\n"
    "   \"submit_type\": null,\n"
    "   \"subscription\": null,\n"
    "   \"success_url\": \"https://example.com/success\",\n"
    "   \"total_details\": {\n"
    "    \"amount_discount\": 0,\n"
    "    \"amount_shipping\": 0,\n"
    "    \"amount_tax\": 0\n"
    "   },\n"
    "   \"url\": null\n"
    "  }\n"
    " },\n"
    " \"livemode\": false,\n"
    " \"pending_webhooks\": 1,\n"
    " \"request\": {\n"
    "  \"id\": null,\n"
    "  \"idempotency_key\": null\n"
    " },\n"
    " \"type\": \"checkout.session.completed\"\n"
    "}";

typedef enum platform_result mapper(const char *, size_t,
    struct platform_order *, char *, size_t);

/* The fixture with `from` (which must be there) replaced by `to`, once. */
static char *
edit(const char *json, const char *from, const char *to)
{
	const char	*at = strstr(json, from);
	char		*out;

	if (at == NULL)
		fail_msg("\"%s\" is not in the fixture", from);
	out = malloc(strlen(json) - strlen(from) + strlen(to) + 1);
	assert_non_null(out);
	memcpy(out, json, (size_t)(at - json));
	strcpy(out + (at - json), to);
	strcat(out, at + strlen(from));
	return out;
}

static struct platform_order order;
static char why[512];

/* Map the fixture with one edit; returns the result, why and order set. */
static enum platform_result
run(mapper *fn, const char *json, const char *from, const char *to)
{
	char			*text = from ? edit(json, from, to) : strdup(json);
	enum platform_result	 rc;

	rc = fn(text, strlen(text), &order, why, sizeof(why));
	free(text);
	return rc;
}

static void
expect_bad(mapper *fn, const char *json, const char *from, const char *to,
    const char *field, const char *why_part)
{
	enum platform_result rc = run(fn, json, from, to);

	if (rc != PLATFORM_BAD_FIELD)
		fail_msg("\"%s\" -> \"%s\": result %d (%s), not a bad field",
		    from, to, rc, why);
	assert_string_equal(order.field, field);
	if (strstr(why, why_part) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", why, why_part);
}

static int64_t
at(const char *iso)
{
	int64_t t;

	assert_int_equal(timestamp_parse(iso, &t), 0);
	return t;
}

static void
test_shopify_paid_order(void **state)
{
	(void)state;
	assert_int_equal(run(platform_shopify_order, shopify_order, NULL, NULL),
	    PLATFORM_OK);
	assert_string_equal(order.sale.order_id, "#9999");
	assert_string_equal(order.platform_id, "820982911946154508");
	assert_string_equal(order.sale.email, "jon@example.com");
	assert_string_equal(order.sale.name, "Steve Shipper");
	assert_string_equal(order.sale.sku, "IPOD2008PINK");
	assert_string_equal(order.sale.product, "IPod Nano - 8GB");
	assert_int_equal(order.sale.amount, 40300);
	assert_string_equal(order.sale.currency, "USD");
	assert_int_equal(order.sale.sold_at, at("2026-03-01T15:00:00Z"));
	assert_true(order.sale.sold_at_given);
	/* SUMMER10 cannot be a referral code; the second code can. */
	assert_string_equal(order.sale.referral_given, "k3x9-qf2m");
	assert_string_equal(order.sale.referral_code, "K3X9QF2M");
	assert_false(order.refunded);
	assert_string_equal(order.event_id, "");
}

static void
test_shopify_fallbacks(void **state)
{
	char *a, *b;

	(void)state;
	/* email, else contact_email, else customer.email */
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"email\": \"jon@example.com\"", "\"email\": null"), PLATFORM_OK);
	assert_string_equal(order.sale.email, "jon@example.com");
	a = edit(shopify_order, "\"email\": \"jon@example.com\"", "\"email\": \"\"");
	assert_int_equal(run(platform_shopify_order, a,
	    "\"contact_email\": \"jon@example.com\"", "\"contact_email\": null"),
	    PLATFORM_OK);
	assert_string_equal(order.sale.email, "john@example.com");
	free(a);
	/* current_total_price, else total_price */
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"current_total_price\": \"403.00\",", ""), PLATFORM_OK);
	assert_int_equal(order.sale.amount, 40300);
	a = edit(shopify_order, "\"current_total_price\": \"403.00\"",
	    "\"current_total_price\": \"398.00\"");
	assert_int_equal(run(platform_shopify_order, a, NULL, NULL), PLATFORM_OK);
	assert_int_equal(order.sale.amount, 39800);
	free(a);
	/* processed_at, else created_at */
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"processed_at\": \"2026-03-01T10:00:00-05:00\"",
	    "\"processed_at\": null"), PLATFORM_OK);
	assert_int_equal(order.sale.sold_at, at("2026-03-01T14:58:12Z"));
	/* No billing name: the customer's. */
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"name\": \"Steve Shipper\"", "\"name\": null"), PLATFORM_OK);
	assert_string_equal(order.sale.name, "John Smith");
	/* No discount code that can be one: the note attribute "ref"... */
	a = edit(shopify_order, "\"code\": \"k3x9-qf2m\"", "\"code\": \"WELCOME\"");
	b = edit(a, "\"name\": \"gift\"", "\"name\": \"ref\"");
	assert_int_equal(run(platform_shopify_order, b, "\"value\": \"yes\"",
	    "\"value\": \"AAAABBBB\""), PLATFORM_OK);
	assert_string_equal(order.sale.referral_code, "AAAABBBB");
	free(b);
	/* ... else ref= in the landing URL. */
	assert_int_equal(run(platform_shopify_order, a, NULL, NULL), PLATFORM_OK);
	assert_string_equal(order.sale.referral_given, "ZZZZZZZZ");
	assert_string_equal(order.sale.referral_code, "ZZZZZZZZ");
	/* None at all. */
	assert_int_equal(run(platform_shopify_order, a,
	    "ref=ZZZZZZZZ", "x=1"), PLATFORM_OK);
	assert_string_equal(order.sale.referral_given, "");
	free(a);
	/* No line items: no sku or product, still a sale. */
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"line_items\": [", "\"line_items\": [], \"x\": ["), PLATFORM_OK);
	assert_string_equal(order.sale.sku, "");
	assert_string_equal(order.sale.product, "");
}

/* The second line item of the Shopify fixture, to edit. */
#define SHOPIFY_SECOND \
    "\"id\": 141249953214522974,\n" \
    "   \"current_quantity\": 1,\n" \
    "   \"name\": \"IPod Nano - 8GB\",\n" \
    "   \"price\": \"199.00\",\n" \
    "   \"product_id\": 632910392,\n" \
    "   \"quantity\": 1,\n" \
    "   \"sku\": \"IPOD2008PINK\""

static void
test_shopify_items(void **state)
{
	(void)state;
	assert_int_equal(run(platform_shopify_order, shopify_order, SHOPIFY_SECOND,
	    "\"name\": \"Mug\", \"price\": \"12.50\", \"quantity\": 3, "
	    "\"sku\": \"MUG-2\""), PLATFORM_OK);
	assert_int_equal(order.sale.nitems, 2);
	assert_string_equal(order.sale.items[0].sku, "IPOD2008PINK");
	assert_string_equal(order.sale.items[0].product, "IPod Nano - 8GB");
	assert_int_equal(order.sale.items[0].quantity, 1);
	assert_int_equal(order.sale.items[0].amount, 19900);
	/* The price is for one: the amount is for the quantity. */
	assert_string_equal(order.sale.items[1].sku, "MUG-2");
	assert_string_equal(order.sale.items[1].product, "Mug");
	assert_int_equal(order.sale.items[1].quantity, 3);
	assert_int_equal(order.sale.items[1].amount, 3750);
	/* No sku: an item still, and the sale's sku is the first item's. */
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"sku\": \"IPOD2008PINK\"", "\"sku\": null"), PLATFORM_OK);
	assert_int_equal(order.sale.nitems, 2);
	assert_string_equal(order.sale.sku, "");
	assert_string_equal(order.sale.items[1].sku, "IPOD2008PINK");

	/* A bad item is a bad order, named by where it sits. */
	expect_bad(platform_shopify_order, shopify_order, SHOPIFY_SECOND,
	    "\"price\": \"1.999\"", "line_items[1].price",
	    "line_items[1].price \"1.999\" is not an amount of USD");
	expect_bad(platform_shopify_order, shopify_order, SHOPIFY_SECOND,
	    "\"price\": 199.0", "line_items[1].price",
	    "line_items[1].price is not a string or a whole number");
	expect_bad(platform_shopify_order, shopify_order, SHOPIFY_SECOND,
	    "\"quantity\": 0", "line_items[1].quantity",
	    "line_items[1].quantity \"0\" is not a whole number from 1");
	expect_bad(platform_shopify_order, shopify_order, SHOPIFY_SECOND,
	    "\"sku\": \"A\\nB\"", "line_items[1].sku",
	    "line_items[1].sku contains a line break");
	expect_bad(platform_shopify_order, shopify_order, "\"line_items\": [",
	    "\"line_items\": 5, \"x\": [", "line_items", "line_items is not an "
	    "array");
	expect_bad(platform_shopify_order, shopify_order, "\"line_items\": [",
	    "\"line_items\": [7, ", "line_items[0]", "line_items[0] is not an "
	    "object");
}

static void
test_shopify_not_paid(void **state)
{
	static const char *const unpaid[] = {
		"pending", "authorized", "partially_paid", "voided", "expired",
		"something_new",
	};
	char to[64];

	(void)state;
	for (size_t i = 0; i < sizeof(unpaid) / sizeof(unpaid[0]); i++) {
		snprintf(to, sizeof(to), "\"financial_status\": \"%s\"", unpaid[i]);
		assert_int_equal(run(platform_shopify_order, shopify_order,
		    "\"financial_status\": \"paid\"", to), PLATFORM_IGNORED);
		assert_non_null(strstr(why, unpaid[i]));
	}
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"financial_status\": \"paid\",", ""), PLATFORM_IGNORED);
	/* Refunded still is a sale, marked for the refunds to come. */
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"financial_status\": \"paid\"",
	    "\"financial_status\": \"partially_refunded\""), PLATFORM_OK);
	assert_true(order.refunded);
}

static void
test_shopify_bad_fields(void **state)
{
	char	*a, *b, longname[700];

	(void)state;
	a = edit(shopify_order, "\"email\": \"jon@example.com\"", "\"email\": null");
	b = edit(a, "\"contact_email\": \"jon@example.com\"", "\"x\": 1");
	expect_bad(platform_shopify_order, b, "\"email\": \"john@example.com\"",
	    "\"email\": null", "email", "email (and contact_email, customer.email) "
	    "is missing");
	free(b);
	free(a);
	expect_bad(platform_shopify_order, shopify_order,
	    "\"email\": \"jon@example.com\"", "\"email\": \"jon@\"", "email",
	    "email \"jon@\" is not a valid address");
	expect_bad(platform_shopify_order, shopify_order,
	    "\"email\": \"jon@example.com\"", "\"email\": \"jon@example.com\\r\\nBcc: x@y.z\"",
	    "email", "control character");
	expect_bad(platform_shopify_order, shopify_order,
	    "\"current_total_price\": \"403.00\"",
	    "\"current_total_price\": \"403.001\"", "amount",
	    "current_total_price \"403.001\" is not an amount of USD");
	expect_bad(platform_shopify_order, shopify_order,
	    "\"current_total_price\": \"403.00\"",
	    "\"current_total_price\": \"-3.00\"", "amount", "negative");
	expect_bad(platform_shopify_order, shopify_order,
	    "\"current_total_price\": \"403.00\"",
	    "\"current_total_price\": 403.5", "amount",
	    "current_total_price is not a string");
	expect_bad(platform_shopify_order, shopify_order,
	    "\"currency\": \"USD\"", "\"currency\": \"US Dollar\"", "currency",
	    "currency \"US Dollar\" is not a three-letter");
	expect_bad(platform_shopify_order, shopify_order, "\"currency\": \"USD\"",
	    "\"x\": 0", "currency", "currency is missing");
	expect_bad(platform_shopify_order, shopify_order,
	    "\"processed_at\": \"2026-03-01T10:00:00-05:00\"",
	    "\"processed_at\": \"yesterday\"", "sold_at",
	    "processed_at \"yesterday\" is not a time");
	expect_bad(platform_shopify_order, shopify_order, "\"name\": \"#9999\"",
	    "\"name\": {\"a\": 1}", "order_id", "name is not a string");
	expect_bad(platform_shopify_order, shopify_order, "\"name\": \"#9999\"",
	    "\"name\": \"#99\\u200b99\"", "order_id", "U+200B");
	/* Over-long, whatever it holds past what is kept. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "\"name\": \"", 9);
	longname[sizeof(longname) - 2] = '"';
	expect_bad(platform_shopify_order, shopify_order,
	    "\"name\": \"Steve Shipper\"", longname, "name",
	    "billing_address.name is longer than 200 bytes");
	/* A number for the order name is taken as its digits. */
	assert_int_equal(run(platform_shopify_order, shopify_order,
	    "\"name\": \"#9999\"", "\"name\": 9999"), PLATFORM_OK);
	assert_string_equal(order.sale.order_id, "9999");
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "\"order\"", "{\"name\": \"#1\",}", "null",
		"{\"a\": 1, \"a\": 2}", "{\"name\": \"a\\u0000b\"}",
		"{\"name\": \"\xff\"}", "{} {}",
	};
	mapper *const fns[] = {
		platform_shopify_order, platform_woocommerce_order,
		platform_stripe_event,
	};

	(void)state;
	for (size_t f = 0; f < 3; f++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (fns[f](bad[i], strlen(bad[i]), &order, why,
			    sizeof(why)) != PLATFORM_MALFORMED)
				fail_msg("mapper %zu took \"%s\"", f, bad[i]);
	/* The length given is the body's: no NUL needed, none read past. */
	assert_int_equal(platform_shopify_order("{}xyz", 2, &order, why,
	    sizeof(why)), PLATFORM_IGNORED);
}

static void
test_shopify_zero_decimal_currency(void **state)
{
	char *a;

	(void)state;
	a = edit(shopify_order, "\"currency\": \"USD\"", "\"currency\": \"JPY\"");
	assert_int_equal(run(platform_shopify_order, a,
	    "\"current_total_price\": \"403.00\"",
	    "\"current_total_price\": \"5300.00\""), PLATFORM_OK);
	assert_int_equal(order.sale.amount, 5300);
	expect_bad(platform_shopify_order, a, "\"current_total_price\": \"403.00\"",
	    "\"current_total_price\": \"5300.50\"", "amount", "at most 0 decimals");
	free(a);
}

static void
test_woocommerce_order(void **state)
{
	(void)state;
	assert_int_equal(run(platform_woocommerce_order, woocommerce_order,
	    NULL, NULL), PLATFORM_OK);
	assert_string_equal(order.sale.order_id, "727");
	assert_string_equal(order.platform_id, "727");
	assert_string_equal(order.sale.email, "john.doe@example.com");
	assert_string_equal(order.sale.name, "John Doe");
	assert_string_equal(order.sale.sku, "");
	assert_string_equal(order.sale.product, "Woo Single #1");
	assert_int_equal(order.sale.amount, 2935);
	assert_string_equal(order.sale.currency, "USD");
	/* date_paid_gmt is UTC without saying so. */
	assert_int_equal(order.sale.sold_at, 1490210888);
	assert_string_equal(order.sale.referral_given, "k3x9qf2m");
	assert_string_equal(order.sale.referral_code, "K3X9QF2M");

	assert_int_equal(run(platform_woocommerce_order, woocommerce_order,
	    "\"date_paid_gmt\": \"2017-03-22T19:28:08\"",
	    "\"date_paid_gmt\": null"), PLATFORM_OK);
	assert_int_equal(order.sale.sold_at, 1490210882);
	assert_int_equal(run(platform_woocommerce_order, woocommerce_order,
	    "\"status\": \"processing\"", "\"status\": \"completed\""),
	    PLATFORM_OK);
	assert_int_equal(run(platform_woocommerce_order, woocommerce_order,
	    "\"status\": \"processing\"", "\"status\": \"refunded\""),
	    PLATFORM_OK);
	assert_true(order.refunded);
	assert_int_equal(run(platform_woocommerce_order, woocommerce_order,
	    "\"number\": \"727\"", "\"number\": 727"), PLATFORM_OK);
	assert_string_equal(order.sale.order_id, "727");
}

static void
test_woocommerce_items(void **state)
{
	(void)state;
	assert_int_equal(run(platform_woocommerce_order, woocommerce_order, NULL,
	    NULL), PLATFORM_OK);
	assert_int_equal(order.sale.nitems, 2);
	/* total is for the quantity, after discounts. */
	assert_string_equal(order.sale.items[0].sku, "");
	assert_string_equal(order.sale.items[0].product, "Woo Single #1");
	assert_int_equal(order.sale.items[0].quantity, 2);
	assert_int_equal(order.sale.items[0].amount, 600);
	assert_string_equal(order.sale.items[1].sku, "Bar3");
	assert_int_equal(order.sale.items[1].quantity, 1);
	assert_int_equal(order.sale.items[1].amount, 1200);
	expect_bad(platform_woocommerce_order, woocommerce_order,
	    "\"total\": \"12.00\"", "\"total\": \"-12.00\"",
	    "line_items[1].total", "line_items[1].total \"-12.00\" is negative");
}

static void
test_woocommerce_not_a_sale_and_bad(void **state)
{
	static const char *const other[] = {
		"pending", "on-hold", "cancelled", "failed", "checkout-draft",
		"trash",
	};
	char to[64];

	(void)state;
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		snprintf(to, sizeof(to), "\"status\": \"%s\"", other[i]);
		assert_int_equal(run(platform_woocommerce_order, woocommerce_order,
		    "\"status\": \"processing\"", to), PLATFORM_IGNORED);
	}
	expect_bad(platform_woocommerce_order, woocommerce_order,
	    "\"email\": \"john.doe@example.com\"", "\"email\": \"\"", "email",
	    "billing.email is missing");
	expect_bad(platform_woocommerce_order, woocommerce_order,
	    "\"total\": \"29.35\"", "\"total\": \"29,35\"", "amount",
	    "total \"29,35\" is not an amount");
	expect_bad(platform_woocommerce_order, woocommerce_order,
	    "\"number\": \"727\"", "\"number\": [727]", "order_id",
	    "number is not a string");
	expect_bad(platform_woocommerce_order, woocommerce_order,
	    "\"date_paid_gmt\": \"2017-03-22T19:28:08\"",
	    "\"date_paid_gmt\": \"2017-02-30T19:28:08\"", "sold_at",
	    "date_paid_gmt \"2017-02-30T19:28:08Z\" is not a time");
}

static void
test_stripe_completed(void **state)
{
	(void)state;
	assert_int_equal(run(platform_stripe_event, stripe_event, NULL, NULL),
	    PLATFORM_OK);
	assert_string_equal(order.event_id, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
	assert_string_equal(order.sale.order_id, "pi_3MtwBwLkdIwHu7ix28a3tqPa");
	assert_string_equal(order.platform_id,
	    "cs_test_a1Ypm1KANzuJ3Gz8JcXyaDqFzGx5v9CeStQAaB3MxgX0DaVQy1Y0BQ8uZP");
	assert_string_equal(order.sale.email, "jenny.rosen@example.com");
	assert_string_equal(order.sale.name, "Jenny Rosen");
	assert_int_equal(order.sale.amount, 2000);
	assert_string_equal(order.sale.currency, "EUR");
	assert_int_equal(order.sale.sold_at, 1772380800);
	assert_string_equal(order.sale.referral_code, "K3X9QF2M");

	/* No PaymentIntent (a subscription): the session is the order. */
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"payment_intent\": \"pi_3MtwBwLkdIwHu7ix28a3tqPa\"",
	    "\"payment_intent\": null"), PLATFORM_OK);
	assert_string_equal(order.sale.order_id, order.platform_id);
	/* An expanded PaymentIntent. */
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"payment_intent\": \"pi_3MtwBwLkdIwHu7ix28a3tqPa\"",
	    "\"payment_intent\": {\"id\": \"pi_X\", \"object\": \"payment_intent\"}"),
	    PLATFORM_OK);
	assert_string_equal(order.sale.order_id, "pi_X");
	/* client_reference_id when it can be a code, else the metadata. */
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"client_reference_id\": null",
	    "\"client_reference_id\": \"AAAABBBB\""), PLATFORM_OK);
	assert_string_equal(order.sale.referral_code, "AAAABBBB");
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"client_reference_id\": null",
	    "\"client_reference_id\": \"cart_81723\""), PLATFORM_OK);
	assert_string_equal(order.sale.referral_code, "K3X9QF2M");
	/* The session's time when the event has none. */
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"created\": 1772380800,", ""), PLATFORM_OK);
	assert_int_equal(order.sale.sold_at, 1772380000);
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"checkout.session.completed\"",
	    "\"checkout.session.async_payment_succeeded\""), PLATFORM_OK);
}

static void
test_stripe_minor_units(void **state)
{
	char *a;

	(void)state;
	/* JPY: no minor unit in either. */
	a = edit(stripe_event, "\"currency\": \"eur\"", "\"currency\": \"jpy\"");
	assert_int_equal(run(platform_stripe_event, a, "\"amount_total\": 2000",
	    "\"amount_total\": 5300"), PLATFORM_OK);
	assert_int_equal(order.sale.amount, 5300);
	assert_string_equal(order.sale.currency, "JPY");
	free(a);
	/* ISK: Stripe counts hundredths that ISO 4217 does not have. */
	a = edit(stripe_event, "\"currency\": \"eur\"", "\"currency\": \"isk\"");
	assert_int_equal(run(platform_stripe_event, a, "\"amount_total\": 2000",
	    "\"amount_total\": 150000"), PLATFORM_OK);
	assert_int_equal(order.sale.amount, 1500);
	expect_bad(platform_stripe_event, a, "\"amount_total\": 2000",
	    "\"amount_total\": 150050", "amount", "not a whole amount of ISK");
	free(a);
	/* KWD: three decimals in both. */
	a = edit(stripe_event, "\"currency\": \"eur\"", "\"currency\": \"kwd\"");
	assert_int_equal(run(platform_stripe_event, a, "\"amount_total\": 2000",
	    "\"amount_total\": 12340"), PLATFORM_OK);
	assert_int_equal(order.sale.amount, 12340);
	free(a);
	expect_bad(platform_stripe_event, stripe_event, "\"amount_total\": 2000",
	    "\"amount_total\": -1", "amount", "amount_total is not a whole number");
	expect_bad(platform_stripe_event, stripe_event, "\"amount_total\": 2000",
	    "\"amount_total\": \"20.00\"", "amount", "amount_total");
	expect_bad(platform_stripe_event, stripe_event, "\"amount_total\": 2000",
	    "\"amount_total\": null", "amount", "amount_total is missing");
	expect_bad(platform_stripe_event, stripe_event, "\"currency\": \"eur\"",
	    "\"currency\": \"euro\"", "currency", "currency \"euro\"");
}

static void
test_stripe_items(void **state)
{
	char *a;

	(void)state;
	/* Not in the event unless the session was expanded: no items. */
	assert_int_equal(run(platform_stripe_event, stripe_event, NULL, NULL),
	    PLATFORM_OK);
	assert_int_equal(order.sale.nitems, 0);
	assert_string_equal(order.sale.product, "");
	/* Expanded: the product's id (or the product) and amount_total. */
	a = edit(stripe_event, "\"metadata\": {", "\"line_items\": {"
	    "\"object\": \"list\", \"has_more\": false, \"data\": ["
	    "{\"id\": \"li_1\", \"description\": \"T-shirt\", \"quantity\": 2,"
	    " \"amount_total\": 1500, \"price\": {\"id\": \"price_1\","
	    " \"product\": \"prod_A\"}},"
	    "{\"id\": \"li_2\", \"description\": \"Cap\", \"quantity\": 1,"
	    " \"amount_total\": 500, \"price\": {\"id\": \"price_2\","
	    " \"product\": {\"id\": \"prod_B\", \"name\": \"Cap\"}}}]},\n"
	    "   \"metadata\": {");
	assert_int_equal(run(platform_stripe_event, a, NULL, NULL), PLATFORM_OK);
	assert_int_equal(order.sale.nitems, 2);
	assert_string_equal(order.sale.sku, "prod_A");
	assert_string_equal(order.sale.product, "T-shirt");
	assert_int_equal(order.sale.items[0].quantity, 2);
	assert_int_equal(order.sale.items[0].amount, 1500);
	assert_string_equal(order.sale.items[1].sku, "prod_B");
	assert_string_equal(order.sale.items[1].product, "Cap");
	assert_int_equal(order.sale.items[1].amount, 500);
	expect_bad(platform_stripe_event, a, "\"amount_total\": 500",
	    "\"amount_total\": -5", "line_items.data[1].amount_total",
	    "line_items.data[1].amount_total is not a whole number");
	expect_bad(platform_stripe_event, a, "\"product\": \"prod_A\"",
	    "\"product\": [1]", "line_items.data[0].price.product",
	    "line_items.data[0].price.product is not a string");
	free(a);
}

static void
test_stripe_not_a_sale(void **state)
{
	char *a;

	(void)state;
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"payment_status\": \"paid\"", "\"payment_status\": \"unpaid\""),
	    PLATFORM_IGNORED);
	assert_non_null(strstr(why, "unpaid"));
	assert_string_equal(order.event_id, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"payment_status\": \"paid\"",
	    "\"payment_status\": \"no_payment_required\""), PLATFORM_IGNORED);
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"checkout.session.completed\"", "\"charge.refunded\""),
	    PLATFORM_IGNORED);
	assert_non_null(strstr(why, "charge.refunded"));
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"checkout.session.completed\"", "\"checkout.session.expired\""),
	    PLATFORM_IGNORED);
	/* An event without its object is no event we know. */
	assert_int_equal(run(platform_stripe_event, stripe_event,
	    "\"data\": {", "\"data\": {\"object\": 5, \"x\": {"),
	    PLATFORM_MALFORMED);
	expect_bad(platform_stripe_event, stripe_event,
	    "\"email\": \"jenny.rosen@example.com\"", "\"email\": null", "email",
	    "customer_details.email is missing");
	/* customer_email when the details have none. */
	a = edit(stripe_event, "\"email\": \"jenny.rosen@example.com\"",
	    "\"email\": null");
	assert_int_equal(run(platform_stripe_event, a, "\"customer_email\": null",
	    "\"customer_email\": \"jenny@example.org\""), PLATFORM_OK);
	assert_string_equal(order.sale.email, "jenny@example.org");
	free(a);
}

/* Shaped like Shopify's documented Refund resource (refunds/create). */
static const char shopify_refund[] =
    "{\n"
    " \"id\": 929361464,\n"
    " \"order_id\": 820982911946154508,\n"
    " \"created_at\": \"2026-03-05T10:34:55-05:00\",\n"
    " \"note\": \"wrong size\",\n"
    " \"user_id\": null,\n"
    " \"processed_at\": \"2026-03-05T10:35:00-05:00\",\n"
    " \"restock\": true,\n"
    " \"admin_graphql_api_id\": \"gid://shopify/Refund/929361464\",\n"
    " \"refund_line_items\": [\n"
    "  {\n"
    "   \"id\": 1058498311,\n"
    "   \"quantity\": 1,\n"
    "   \"line_item_id\": 518995019,\n"
    "   \"restock_type\": \"return\",\n"
    "   \"subtotal\": 199.0,\n"
    "   \"total_tax\": 3.98,\n"
    "   \"subtotal_set\": {\n"
    "    \"shop_money\": { \"amount\": \"199.00\", \"currency_code\": \"USD\" },\n"
    "    \"presentment_money\": { \"amount\": \"199.00\", \"currency_code\": \"USD\" }\n"
    "   },\n"
    "   \"total_tax_set\": {\n"
    "    \"shop_money\": { \"amount\": \"3.98\", \"currency_code\": \"USD\" },\n"
    "    \"presentment_money\": { \"amount\": \"3.98\", \"currency_code\": \"USD\" }\n"
    "   }\n"
    "  }\n"
    " ],\n"
    " \"transactions\": [\n"
    "  {\n"
    "   \"id\": 1072844685,\n"
    "   \"order_id\": 820982911946154508,\n"
    "   \"kind\": \"refund\",\n"
    "   \"gateway\": \"bogus\",\n"
    "   \"status\": \"success\",\n"
    "   \"message\": \"Bogus Gateway: Forced success\",\n"
    "   \"created_at\": \"2026-03-05T10:35:00-05:00\",\n"
    "   \"test\": true,\n"
    "   \"authorization\": null,\n"
    "   \"currency\": \"USD\",\n"
    "   \"amount\": \"202.98\",\n"
    "   \"parent_id\": 801038806\n"
    "  }\n"
    " ],\n"
    " \"order_adjustments\": []\n"
    "}";

static struct platform_refund refund;

typedef enum platform_result refund_mapper(const char *, size_t,
    struct platform_refund *, char *, size_t);

/* Map a refund with one edit, as run() maps an order. */
static enum platform_result
run_refund(refund_mapper *fn, const char *json, const char *from,
    const char *to)
{
	char			*text = from ? edit(json, from, to) : strdup(json);
	enum platform_result	 rc;

	rc = fn(text, strlen(text), &refund, why, sizeof(why));
	free(text);
	return rc;
}

static void
test_shopify_refund(void **state)
{
	char *a;

	(void)state;
	assert_int_equal(run_refund(platform_shopify_refund, shopify_refund,
	    NULL, NULL), PLATFORM_OK);
	assert_string_equal(why, "");
	/* The order by Shopify's id, not ours: the store looks it up. */
	assert_string_equal(refund.refund.order_id, "");
	assert_string_equal(refund.refund.platform_order, "820982911946154508");
	assert_string_equal(refund.refund.refund_id, "929361464");
	assert_string_equal(refund.refund.amount, "202.98");
	assert_string_equal(refund.refund.currency, "USD");
	assert_false(refund.refund.cumulative);
	assert_string_equal(refund.refund.reason, "wrong size");
	assert_int_equal(refund.refund.refunded_at, at("2026-03-05T15:35:00Z"));
	/* A failed transaction gives nothing back: the line items then do. */
	assert_int_equal(run_refund(platform_shopify_refund, shopify_refund,
	    "\"status\": \"success\"", "\"status\": \"failure\""),
	    PLATFORM_OK);
	assert_string_equal(refund.refund.amount, "202.98");
	a = edit(shopify_refund, "\"status\": \"success\"",
	    "\"status\": \"failure\"");
	assert_int_equal(run_refund(platform_shopify_refund, a,
	    "\"refund_line_items\": [", "\"refund_line_items\": [], \"x\": ["),
	    PLATFORM_IGNORED);
	assert_non_null(strstr(why, "gives no money back"));
	free(a);
	/* Amounts that are not amounts, and a missing order. */
	assert_int_equal(run_refund(platform_shopify_refund, shopify_refund,
	    "\"amount\": \"202.98\"", "\"amount\": \"2.0.3\""),
	    PLATFORM_BAD_FIELD);
	assert_string_equal(refund.field, "amount");
	assert_int_equal(run_refund(platform_shopify_refund, shopify_refund,
	    "\"currency\": \"USD\"", "\"currency\": \"dollars\""),
	    PLATFORM_BAD_FIELD);
	assert_string_equal(refund.field, "amount");
	assert_int_equal(run_refund(platform_shopify_refund, shopify_refund,
	    "\"order_id\": 820982911946154508,\n \"created_at\"",
	    "\"created_at\""), PLATFORM_BAD_FIELD);
	assert_string_equal(refund.field, "order_id");
	assert_int_equal(run_refund(platform_shopify_refund, "[1]", NULL, NULL),
	    PLATFORM_MALFORMED);
}

static void
test_shopify_cancelled(void **state)
{
	char *a;

	(void)state;
	a = edit(shopify_order, "\"cancelled_at\": null",
	    "\"cancelled_at\": \"2026-03-06T10:00:00Z\"");
	assert_int_equal(run_refund(platform_shopify_cancelled, a,
	    "\"cancel_reason\": null", "\"cancel_reason\": \"customer\""),
	    PLATFORM_OK);
	assert_string_equal(refund.refund.order_id, "#9999");
	assert_string_equal(refund.refund.amount, "");	/* all that is left */
	assert_string_equal(refund.refund.reason, "customer");
	assert_int_equal(refund.refund.refunded_at, at("2026-03-06T10:00:00Z"));
	/* Never paid: nothing goes back. */
	assert_int_equal(run_refund(platform_shopify_cancelled, a,
	    "\"financial_status\": \"paid\"",
	    "\"financial_status\": \"voided\""), PLATFORM_IGNORED);
	free(a);
	assert_int_equal(run_refund(platform_shopify_cancelled, shopify_order,
	    NULL, NULL), PLATFORM_BAD_FIELD);
	assert_string_equal(refund.field, "refunded_at");
	assert_non_null(strstr(why, "cancelled_at is missing"));
}

static void
test_woocommerce_refund(void **state)
{
	(void)state;
	assert_int_equal(run_refund(platform_woocommerce_refund,
	    woocommerce_order, "\"status\": \"processing\"",
	    "\"status\": \"refunded\""), PLATFORM_OK);
	assert_string_equal(refund.refund.order_id, "727");
	assert_string_equal(refund.refund.amount, "");
	assert_int_equal(refund.refund.refunded_at, at("2017-03-22T19:28:08Z"));
	/* Any other status is the sale mapper's. */
	assert_int_equal(run_refund(platform_woocommerce_refund,
	    woocommerce_order, NULL, NULL), PLATFORM_IGNORED);
}

static void
test_stripe_refund(void **state)
{
	static const char charge_refunded[] =
	    "{\"id\": \"evt_r2\", \"object\": \"event\", \"created\": 1772380800,"
	    " \"type\": \"charge.refunded\", \"data\": {\"object\": {"
	    "\"id\": \"ch_1\", \"object\": \"charge\", \"amount\": 2000,"
	    " \"amount_refunded\": 1200, \"currency\": \"eur\","
	    " \"payment_intent\": \"pi_1\", \"refunds\": {\"object\": \"list\","
	    " \"data\": [{\"id\": \"re_2\", \"reason\": \"duplicate\"},"
	    " {\"id\": \"re_1\"}]}}}}";

	(void)state;
	assert_int_equal(run_refund(platform_stripe_refund, charge_refunded,
	    NULL, NULL), PLATFORM_OK);
	assert_string_equal(refund.event_id, "evt_r2");
	assert_string_equal(refund.refund.order_id, "pi_1");
	assert_string_equal(refund.refund.refund_id, "re_2");
	assert_string_equal(refund.refund.reason, "duplicate");
	assert_string_equal(refund.refund.amount, "12.00");
	assert_string_equal(refund.refund.currency, "EUR");
	assert_true(refund.refund.cumulative);	/* all refunded so far */
	assert_int_equal(refund.refund.refunded_at, 1772380800);
	/* Stripe's minor units of a currency without decimals. */
	assert_int_equal(run_refund(platform_stripe_refund, charge_refunded,
	    "\"eur\"", "\"jpy\""), PLATFORM_OK);
	assert_string_equal(refund.refund.amount, "1200");
	assert_int_equal(run_refund(platform_stripe_refund, charge_refunded,
	    "\"amount_refunded\": 1200", "\"amount_refunded\": \"1200\""),
	    PLATFORM_BAD_FIELD);
	assert_string_equal(refund.field, "amount");
	assert_int_equal(run_refund(platform_stripe_refund, charge_refunded,
	    "\"payment_intent\": \"pi_1\"", "\"payment_intent\": null"),
	    PLATFORM_IGNORED);
	assert_int_equal(run_refund(platform_stripe_refund, stripe_event, NULL,
	    NULL), PLATFORM_IGNORED);
}

static void
test_export_helpers(void **state)
{
	char buf[64], amount[16];

	(void)state;
	assert_int_equal(platform_shopify_time("2026-03-01 10:00:00 +0100", buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "2026-03-01 10:00:00+0100");
	assert_int_equal(platform_shopify_time("2026-03-01 10:00:00 -0530", buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "2026-03-01 10:00:00-0530");
	assert_int_equal(platform_shopify_time("2026-03-01", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-03-01");
	assert_int_equal(platform_shopify_time("last tuesday +1", buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "last tuesday +1");
	assert_int_equal(platform_shopify_time("2026-03-01 10:00:00 +0100", buf,
	    8), -1);

	assert_int_equal(platform_shopify_payment("paid"), PLATFORM_PAID);
	assert_int_equal(platform_shopify_payment("refunded"), PLATFORM_REFUNDED);
	assert_int_equal(platform_shopify_payment("partially_refunded"),
	    PLATFORM_REFUNDED);
	assert_int_equal(platform_shopify_payment("voided"), PLATFORM_UNPAID);
	assert_int_equal(platform_shopify_payment("pending"), PLATFORM_UNPAID);
	assert_int_equal(platform_shopify_payment(""), PLATFORM_UNKNOWN);
	assert_int_equal(platform_shopify_payment("payé"), PLATFORM_UNKNOWN);

	platform_referral_from_codes("SUMMER10, k3x9qf2m", buf, sizeof(buf));
	assert_string_equal(buf, "k3x9qf2m");
	platform_referral_from_codes("SUMMER10", buf, sizeof(buf));
	assert_string_equal(buf, "");
	platform_referral_from_codes("", buf, sizeof(buf));
	assert_string_equal(buf, "");

	strcpy(amount, "5300.00");
	platform_amount_trim(amount, "jpy");
	assert_string_equal(amount, "5300");
	strcpy(amount, "12.500");
	platform_amount_trim(amount, "EUR");
	assert_string_equal(amount, "12.50");
	strcpy(amount, "12.501");
	platform_amount_trim(amount, "EUR");
	assert_string_equal(amount, "12.501");
	strcpy(amount, "12.5");
	platform_amount_trim(amount, "EUR");
	assert_string_equal(amount, "12.5");
	strcpy(amount, "7.0");
	platform_amount_trim(amount, "X");
	assert_string_equal(amount, "7.0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shopify_paid_order),
		cmocka_unit_test(test_shopify_fallbacks),
		cmocka_unit_test(test_shopify_items),
		cmocka_unit_test(test_shopify_not_paid),
		cmocka_unit_test(test_shopify_bad_fields),
		cmocka_unit_test(test_shopify_zero_decimal_currency),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_woocommerce_order),
		cmocka_unit_test(test_woocommerce_items),
		cmocka_unit_test(test_woocommerce_not_a_sale_and_bad),
		cmocka_unit_test(test_stripe_completed),
		cmocka_unit_test(test_stripe_minor_units),
		cmocka_unit_test(test_stripe_items),
		cmocka_unit_test(test_stripe_not_a_sale),
		cmocka_unit_test(test_shopify_refund),
		cmocka_unit_test(test_shopify_cancelled),
		cmocka_unit_test(test_woocommerce_refund),
		cmocka_unit_test(test_stripe_refund),
		cmocka_unit_test(test_export_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
