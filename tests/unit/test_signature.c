/* Webhook signatures, against values computed the way each platform
 * documents them (openssl dgst -sha256 -hmac, outside this code). */

#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "signature.h"

/* A Shopify order body and what `openssl dgst -sha256 -hmac SECRET
 * -binary | base64` makes of it. */
static const char shopify_secret[] = "shpss_5f3b2a1c9d";
static const char shopify_body[] =
    "{\"id\":820982911946154508,\"name\":\"#9999\",\"email\":\"jon@example.com\","
    "\"financial_status\":\"paid\",\"current_total_price\":\"403.00\","
    "\"currency\":\"USD\"}";
static const char shopify_hmac[] = "dFBIj6KBDvZNv2vlt8mqY68mP/Mak33WxxVqR+Jau58=";

static const char woo_secret[] = "wc-secret \xc3\x9c" "n\xc3\xaf" "code";
static const char woo_body[] =
    "{\"id\":727,\"number\":\"727\",\"status\":\"processing\",\"total\":\"29.35\","
    "\"currency\":\"USD\",\"billing\":{\"email\":\"john.doe@example.com\"}}";
static const char woo_hmac[] = "3Xtg/gUoz67aHDyqZtk3qFAF+omHtYltzTTI6gOTTrA=";

/* Stripe: the hex HMAC of "1772380800." and the body, with two secrets
 * (the current one, and the one being rolled away). */
static const char stripe_secret[] = "whsec_test_secret";
static const char stripe_body[] =
    "{\"id\":\"evt_1NG8Du2eZvKYlo2CUI79vXWy\",\"object\":\"event\",\"type\":"
    "\"checkout.session.completed\",\"data\":{\"object\":{\"id\":\"cs_test_a1\","
    "\"payment_status\":\"paid\"}}}";
#define STRIPE_T	1772380800
#define STRIPE_V1	"ebedacd5116471cdc09cedf9054e4f95c1b2b43af9982872f3893572cff7faa0"
#define STRIPE_V1_OLD	"b1acaf5b864e22b45cc773dc49f63d4c5acf1bdaca12c312c309826445d67e3c"

static enum signature_result
shopify(const char *body, size_t len, const char *header)
{
	return signature_base64(shopify_secret, strlen(shopify_secret), body, len,
	    header);
}

static void
test_shopify_and_woocommerce(void **state)
{
	char body[sizeof(shopify_body)], header[64];

	(void)state;
	assert_int_equal(shopify(shopify_body, strlen(shopify_body),
	    shopify_hmac), SIGNATURE_OK);
	assert_int_equal(signature_base64(woo_secret, strlen(woo_secret),
	    woo_body, strlen(woo_body), woo_hmac), SIGNATURE_OK);
	/* The empty body has a signature too. */
	assert_int_equal(shopify("", 0,
	    "bWlZymmrJ19AcEHcIenxtOX/XaOIQQLA1oFrdmnqYDI="), SIGNATURE_OK);

	/* One byte of the body changed, one byte short, another secret. */
	memcpy(body, shopify_body, sizeof(body));
	body[10] ^= 1;
	assert_int_equal(shopify(body, strlen(body), shopify_hmac),
	    SIGNATURE_MISMATCH);
	assert_int_equal(shopify(shopify_body, strlen(shopify_body) - 1,
	    shopify_hmac), SIGNATURE_MISMATCH);
	assert_int_equal(signature_base64(woo_secret, strlen(woo_secret),
	    shopify_body, strlen(shopify_body), shopify_hmac), SIGNATURE_MISMATCH);
	assert_int_equal(signature_base64("", 0, shopify_body,
	    strlen(shopify_body), shopify_hmac), SIGNATURE_MISMATCH);
	/* One character of the signature changed. */
	snprintf(header, sizeof(header), "%s", shopify_hmac);
	header[5] = header[5] == 'A' ? 'B' : 'A';
	assert_int_equal(shopify(shopify_body, strlen(shopify_body), header),
	    SIGNATURE_MISMATCH);

	/* Not a base64 SHA-256 at all. */
	assert_int_equal(shopify(shopify_body, strlen(shopify_body), NULL),
	    SIGNATURE_MALFORMED);
	assert_int_equal(shopify(shopify_body, strlen(shopify_body), ""),
	    SIGNATURE_MALFORMED);
	snprintf(header, sizeof(header), "%s=", shopify_hmac);
	assert_int_equal(shopify(shopify_body, strlen(shopify_body), header),
	    SIGNATURE_MALFORMED);
	snprintf(header, sizeof(header), "%.43s", shopify_hmac);
	assert_int_equal(shopify(shopify_body, strlen(shopify_body), header),
	    SIGNATURE_MALFORMED);
}

static enum signature_result
stripe(const char *header, int64_t now, int64_t tolerance)
{
	return signature_stripe(stripe_secret, strlen(stripe_secret), stripe_body,
	    strlen(stripe_body), header, now, tolerance);
}

static void
test_stripe(void **state)
{
	const char *h = "t=1772380800,v1=" STRIPE_V1;

	(void)state;
	assert_int_equal(stripe(h, STRIPE_T, 300), SIGNATURE_OK);
	/* Stripe also sends a v0 (test mode); other schemes are not ours. */
	assert_int_equal(stripe("t=1772380800,v1=" STRIPE_V1 ",v0=6ffbb59b2300aae6"
	    "3f272406069a9788598b792a944a07aba816edb039989a39", STRIPE_T, 300),
	    SIGNATURE_OK);
	/* Upper-case hex is the same signature. */
	assert_int_equal(stripe("t=1772380800,v1=EBEDACD5116471CDC09CEDF9054E4F95"
	    "C1B2B43AF9982872F3893572CFF7FAA0", STRIPE_T, 300), SIGNATURE_OK);
	/* Another secret, or another time, signs something else. */
	assert_int_equal(signature_stripe("whsec_other", 11, stripe_body,
	    strlen(stripe_body), h, STRIPE_T, 300), SIGNATURE_MISMATCH);
	assert_int_equal(stripe("t=1772380801,v1=" STRIPE_V1, STRIPE_T, 300),
	    SIGNATURE_MISMATCH);
	assert_int_equal(signature_stripe(stripe_secret, strlen(stripe_secret),
	    stripe_body, strlen(stripe_body) - 1, h, STRIPE_T, 300),
	    SIGNATURE_MISMATCH);
	/* A v1 of the wrong length cannot match. */
	assert_int_equal(stripe("t=1772380800,v1=" STRIPE_V1 "00", STRIPE_T, 300),
	    SIGNATURE_MISMATCH);
}

static void
test_stripe_several_v1(void **state)
{
	(void)state;
	/* While a secret rolls, Stripe signs with both: any v1 may match. */
	assert_int_equal(stripe("t=1772380800,v1=" STRIPE_V1_OLD ",v1=" STRIPE_V1,
	    STRIPE_T, 300), SIGNATURE_OK);
	assert_int_equal(stripe("t=1772380800,v1=" STRIPE_V1 ",v1=" STRIPE_V1_OLD,
	    STRIPE_T, 300), SIGNATURE_OK);
	assert_int_equal(signature_stripe("whsec_old_secret", 16, stripe_body,
	    strlen(stripe_body), "t=1772380800,v1=" STRIPE_V1 ",v1=" STRIPE_V1_OLD,
	    STRIPE_T, 300), SIGNATURE_OK);
	assert_int_equal(stripe("t=1772380800,v1=" STRIPE_V1_OLD ",v1=" STRIPE_V1_OLD,
	    STRIPE_T, 300), SIGNATURE_MISMATCH);
}

static void
test_stripe_tolerance(void **state)
{
	const char *h = "t=1772380800,v1=" STRIPE_V1;

	(void)state;
	/* Exactly the tolerance away is in; a second more is out. */
	assert_int_equal(stripe(h, STRIPE_T + 300, 300), SIGNATURE_OK);
	assert_int_equal(stripe(h, STRIPE_T + 301, 300), SIGNATURE_STALE);
	assert_int_equal(stripe(h, STRIPE_T - 300, 300), SIGNATURE_OK);
	assert_int_equal(stripe(h, STRIPE_T - 301, 300), SIGNATURE_STALE);
	assert_int_equal(stripe(h, STRIPE_T + 86400 * 3, 300), SIGNATURE_STALE);
	assert_int_equal(stripe(h, STRIPE_T + 1, 0), SIGNATURE_STALE);
	assert_int_equal(stripe(h, STRIPE_T, 0), SIGNATURE_OK);
	/* Stale is only said of a signature that matched. */
	assert_int_equal(stripe("t=1772380800,v1=" STRIPE_V1_OLD,
	    STRIPE_T + 3600, 300), SIGNATURE_MISMATCH);
}

static void
test_stripe_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"t=1772380800",				/* no v1 */
		"v1=" STRIPE_V1,			/* no t */
		"t=,v1=" STRIPE_V1,
		"t=17723808OO,v1=" STRIPE_V1,
		"t=-1772380800,v1=" STRIPE_V1,
		"t=1772380800000000,v1=" STRIPE_V1,	/* too many digits */
		"t=1772380800,t=1772380800,v1=" STRIPE_V1,
		"t=1772380800,v1" STRIPE_V1,		/* no = */
		"t=1772380800;v1=" STRIPE_V1,
		"1772380800," STRIPE_V1,
	};
	char long_header[SIGNATURE_STRIPE_MAX + 64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (stripe(bad[i], STRIPE_T, 300) != SIGNATURE_MALFORMED)
			fail_msg("took \"%s\"", bad[i]);
	assert_int_equal(stripe(NULL, STRIPE_T, 300), SIGNATURE_MALFORMED);
	/* Over-long, even with the right signature in it. */
	snprintf(long_header, sizeof(long_header), "t=1772380800,v1=%s,x=%0*d",
	    STRIPE_V1, SIGNATURE_STRIPE_MAX - 80, 0);
	assert_int_equal(stripe(long_header, STRIPE_T, 300), SIGNATURE_MALFORMED);
	/* A space after a comma is forgiven. */
	assert_int_equal(stripe("t=1772380800, v1=" STRIPE_V1, STRIPE_T, 300),
	    SIGNATURE_OK);
	assert_non_null(signature_text(SIGNATURE_STALE));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shopify_and_woocommerce),
		cmocka_unit_test(test_stripe),
		cmocka_unit_test(test_stripe_several_v1),
		cmocka_unit_test(test_stripe_tolerance),
		cmocka_unit_test(test_stripe_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
