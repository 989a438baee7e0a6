/* POST /hooks/shopify, /hooks/woocommerce, /hooks/stripe: signed events. */

#include <string.h>

#include "http.h"
#include "log.h"
#include "platform.h"
#include "signature.h"

/*
 * The source's secret, or NULL with the answer set: a source without
 * its block in the configuration has no route (404), so that nobody can
 * tell an unused source from a wrong signature.
 */
static const struct secret *
http_hooks_secret(struct http_request *r, struct http_response *res,
    enum source source)
{
	const struct source_config *src = &r->env->cfg->sources[source];

	if (!src->enabled || src->secret == NULL) {
		http_answer(res, 404, "source not configured", "not found");
		return NULL;
	}
	return src->secret;
}

/*
 * Every refusal is 401 with the same body; the log says which check
 * failed (never the body, never the header's value, never the secret).
 */
static int
http_hooks_signed(struct http_response *res, enum signature_result sig)
{
	if (sig == SIGNATURE_OK)
		return 1;
	http_json_error(res, 401, signature_text(sig), "the signature is "
	    "missing or wrong", NULL);
	return 0;
}

static void
http_hooks_ignored(struct http_response *res, const char *why)
{
	json_t *body = json_pack("{s:s}", "result", "ignored");
	json_t *text = json_string(why);

	/* NULL when a why quoting the body is cut inside a character. */
	json_object_set_new(body, "why", text != NULL ? text :
	    json_string("not an order to record"));
	http_json(res, 200, NULL, body);
}

/*
 * Answer what a mapper could not make into an order or a refund; 0 when
 * it could (PLATFORM_OK), and the caller records it.
 */
static int
http_hooks_unmapped(struct http_response *res, enum platform_result rc,
    const char *why, const char *field)
{
	switch (rc) {
	case PLATFORM_MALFORMED:
		http_json_error(res, 400, "malformed body", why, NULL);
		return 1;
	case PLATFORM_BAD_FIELD:
		http_json_error(res, 422, "a bad field", why, field);
		return 1;
	case PLATFORM_IGNORED:
		http_hooks_ignored(res, why);
		return 1;
	case PLATFORM_OK:
		break;
	}
	return 0;
}

/* What the order mapper made of a signed body, answered. */
static void
http_hooks_mapped(struct http_request *r, struct http_response *res,
    enum source source, enum platform_result rc,
    const struct platform_order *order, const char *why, const char *delivery)
{
	if (http_hooks_unmapped(res, rc, why, order->field))
		return;
	/* A paid order refunded since, as the shop's export has them too. */
	if (order->refunded)
		log_info("%s: order \"%s\" is refunded in part or whole: "
		    "recorded as a sale; its refund events record the refunds",
		    config_source_names[source], order->sale.order_id);
	http_sales_record(r, res, source, delivery, &order->sale,
	    order->platform_id, 200);
}

/* What a refund mapper made of a signed body, answered. */
static void
http_hooks_refunded(struct http_request *r, struct http_response *res,
    enum source source, enum platform_result rc,
    const struct platform_refund *refund, const char *why,
    const char *delivery)
{
	if (!http_hooks_unmapped(res, rc, why, refund->field))
		http_refunds_record(r, res, source, delivery, &refund->refund);
}

/*
 * Shopify: X-Shopify-Hmac-Sha256 over the raw body; orders/paid records
 * the sale, orders/create too when it is paid already (the mapper
 * ignores it otherwise); refunds/create records a refund, and
 * orders/cancelled one of all that is left; X-Shopify-Webhook-Id names
 * the delivery.
 */
void
http_hooks_shopify(struct http_request *r, struct http_response *res)
{
	const struct secret	*secret;
	const char		*topic, *delivery;
	struct platform_order	 order;
	struct platform_refund	 refund;
	enum platform_result	 rc;
	char			 why[512];

	if ((secret = http_hooks_secret(r, res, SOURCE_SHOPIFY)) == NULL ||
	    !http_hooks_signed(res, signature_base64(secret_value(secret),
	    strlen(secret_value(secret)), r->body, r->body_len,
	    http_header(r, "X-Shopify-Hmac-Sha256"))))
		return;
	if ((topic = http_header(r, "X-Shopify-Topic")) == NULL) {
		http_json_error(res, 400, "no topic", "no X-Shopify-Topic "
		    "header", NULL);
		return;
	}
	delivery = http_header(r, "X-Shopify-Webhook-Id");
	if (strcmp(topic, "refunds/create") == 0 ||
	    strcmp(topic, "orders/cancelled") == 0) {
		rc = strcmp(topic, "refunds/create") == 0 ?
		    platform_shopify_refund(r->body, r->body_len, &refund, why,
		    sizeof(why)) : platform_shopify_cancelled(r->body,
		    r->body_len, &refund, why, sizeof(why));
		http_hooks_refunded(r, res, SOURCE_SHOPIFY, rc, &refund, why,
		    delivery);
		return;
	}
	if (strcmp(topic, "orders/paid") != 0 &&
	    strcmp(topic, "orders/create") != 0) {
		http_hooks_ignored(res, "not an order paid or created");
		return;
	}
	rc = platform_shopify_order(r->body, r->body_len, &order, why,
	    sizeof(why));
	http_hooks_mapped(r, res, SOURCE_SHOPIFY, rc, &order, why, delivery);
}

/* WooCommerce's ping when a webhook is saved: "webhook_id=N", unsigned. */
static int
http_hooks_woocommerce_ping(const struct http_request *r)
{
	static const char prefix[] = "webhook_id=";
	size_t len = sizeof(prefix) - 1;

	return r->body_len > len && strncmp(r->body, prefix, len) == 0 &&
	    strspn(r->body + len, "0123456789") == r->body_len - len;
}

/*
 * WooCommerce: X-WC-Webhook-Signature over the raw body; order.created
 * and order.updated record the sale when the order is processing or
 * completed, and a refund of all that is left when it is refunded;
 * X-WC-Webhook-Delivery-ID names the delivery.
 */
void
http_hooks_woocommerce(struct http_request *r, struct http_response *res)
{
	const struct secret	*secret;
	const char		*topic, *delivery;
	struct platform_order	 order;
	struct platform_refund	 refund;
	enum platform_result	 rc;
	char			 why[512];

	if ((secret = http_hooks_secret(r, res, SOURCE_WOOCOMMERCE)) == NULL)
		return;
	/* It carries nothing to store, so it needs no signature. */
	if (http_hooks_woocommerce_ping(r)) {
		http_json(res, 200, NULL, json_pack("{s:s}", "result", "pong"));
		return;
	}
	if (!http_hooks_signed(res, signature_base64(secret_value(secret),
	    strlen(secret_value(secret)), r->body, r->body_len,
	    http_header(r, "X-WC-Webhook-Signature"))))
		return;
	if ((topic = http_header(r, "X-WC-Webhook-Topic")) == NULL) {
		http_json_error(res, 400, "no topic", "no X-WC-Webhook-Topic "
		    "header", NULL);
		return;
	}
	if (strcmp(topic, "order.created") != 0 &&
	    strcmp(topic, "order.updated") != 0) {
		http_hooks_ignored(res, "not an order created or updated");
		return;
	}
	delivery = http_header(r, "X-WC-Webhook-Delivery-ID");
	/* Any order that is not refunded is the sale mapper's. */
	rc = platform_woocommerce_refund(r->body, r->body_len, &refund, why,
	    sizeof(why));
	if (rc != PLATFORM_IGNORED) {
		http_hooks_refunded(r, res, SOURCE_WOOCOMMERCE, rc, &refund, why,
		    delivery);
		return;
	}
	rc = platform_woocommerce_order(r->body, r->body_len, &order, why,
	    sizeof(why));
	http_hooks_mapped(r, res, SOURCE_WOOCOMMERCE, rc, &order, why,
	    delivery);
}

/* The event's type, or "". */
static void
http_hooks_stripe_type(const struct http_request *r, char *out, size_t size)
{
	json_t		*root = json_loadb(r->body, r->body_len, 0, NULL);
	const char	*type = json_string_value(json_object_get(root, "type"));

	snprintf(out, size, "%s", type != NULL ? type : "");
	json_decref(root);
}

/*
 * Stripe: Stripe-Signature's t=,v1= over "T." and the raw body, T within
 * sources.stripe.tolerance; a completed, paid checkout records the sale,
 * charge.refunded what its amount_refunded adds; the event's id names
 * the delivery.
 */
void
http_hooks_stripe(struct http_request *r, struct http_response *res)
{
	const struct secret	*secret;
	struct platform_order	 order;
	struct platform_refund	 refund;
	enum platform_result	 rc;
	char			 why[512], type[64];

	if ((secret = http_hooks_secret(r, res, SOURCE_STRIPE)) == NULL ||
	    !http_hooks_signed(res, signature_stripe(secret_value(secret),
	    strlen(secret_value(secret)), r->body, r->body_len,
	    http_header(r, "Stripe-Signature"), r->now,
	    r->env->cfg->sources[SOURCE_STRIPE].tolerance)))
		return;
	http_hooks_stripe_type(r, type, sizeof(type));
	if (strcmp(type, "charge.refunded") == 0) {
		rc = platform_stripe_refund(r->body, r->body_len, &refund, why,
		    sizeof(why));
		http_hooks_refunded(r, res, SOURCE_STRIPE, rc, &refund, why,
		    refund.event_id);
		return;
	}
	rc = platform_stripe_event(r->body, r->body_len, &order, why,
	    sizeof(why));
	http_hooks_mapped(r, res, SOURCE_STRIPE, rc, &order, why,
	    order.event_id);
}
