/* POST /api/sales, POST /api/refunds, GET /api/stats: the bearer's API. */

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"
#include "stats.h"
#include "timestamp.h"

/*
 * Whether the request carries "Authorization: Bearer TOKEN" with our
 * token; if not, the answer is set (404 when the API is not configured,
 * else 401).  Both sides are hashed first and the digests compared with
 * CRYPTO_memcmp: the time taken says nothing of the token, its length
 * included.
 */
static int
http_api_allowed(struct http_request *r, struct http_response *res)
{
	const struct source_config	*api = &r->env->cfg->sources[SOURCE_API];
	const char			*given = http_header(r, "Authorization");
	const char			*token;
	unsigned char			 want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned int			 nwant = 0, ngot = 0;

	if (!api->enabled || api->secret == NULL) {
		http_answer(res, 404, "source not configured", "not found");
		return 0;
	}
	token = secret_value(api->secret);
	if (given != NULL && strncasecmp(given, "Bearer ", 7) == 0) {
		given += 7;
		while (*given == ' ')
			given++;
		if (EVP_Digest(token, strlen(token), want, &nwant, EVP_sha256(),
		    NULL) == 1 && EVP_Digest(given, strlen(given), got, &ngot,
		    EVP_sha256(), NULL) == 1 && nwant == ngot &&
		    CRYPTO_memcmp(want, got, nwant) == 0)
			return 1;
	}
	http_json_error(res, 401, given == NULL ? "no bearer token" :
	    "wrong bearer token", "a bearer token is missing or wrong", NULL);
	res->authenticate = "Bearer realm=\"aftersale\"";
	return 0;
}

/* The body as a JSON object, or NULL with a 400 set. */
static json_t *
http_api_object(struct http_request *r, struct http_response *res)
{
	json_error_t	 e;
	json_t		*root;
	char		 why[256];

	root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL) {
		snprintf(why, sizeof(why), "malformed JSON at line %d, column "
		    "%d: %s", e.line, e.column, e.text);
		http_json_error(res, 400, "malformed JSON", why, NULL);
		return NULL;
	}
	if (!json_is_object(root)) {
		http_json_error(res, 400, "not a JSON object", "the body must "
		    "be a JSON object", NULL);
		json_decref(root);
		return NULL;
	}
	return root;
}

/*
 * A command's fields from the object, by their names (names[0 .. n)):
 * each a string (an amount too, "12.34", which no binary number would
 * keep exact) or null; the member `list`, when not NULL, is an array left
 * to the caller.  `amount` is the field whose error shows an example.
 * Returns 0, or -1 with a 422 set naming the field.
 */
static int
http_api_fields(json_t *obj, const char *const *names, int n, int amount,
    const char *list, char **fields, struct http_response *res)
{
	const char	*key;
	json_t		*v;
	char		 why[300], known[200] = "";
	int		 f;

	json_object_foreach(obj, key, v) {
		if (list != NULL && strcmp(key, list) == 0) {
			if (json_is_array(v) || json_is_null(v))
				continue;
			snprintf(why, sizeof(why), "%s must be an array of "
			    "objects", list);
			http_json_error(res, 422, "a bad field", why, list);
			return -1;
		}
		for (f = 0; f < n; f++)
			if (strcmp(key, names[f]) == 0)
				break;
		if (f == n) {
			for (int i = 0; i < n; i++)
				snprintf(known + strlen(known), sizeof(known) -
				    strlen(known), "%s%s", i == 0 ? "" : ", ",
				    names[i]);
			snprintf(why, sizeof(why), "unknown field \"%.40s\"; the "
			    "fields are %s%s%s", key, known, list ? ", " : "",
			    list ? list : "");
			http_json_error(res, 422, "an unknown field", why, key);
			return -1;
		}
		if (!json_is_string(v) && !json_is_null(v)) {
			snprintf(why, sizeof(why), "%s must be a string%s", key,
			    f == amount ? " such as \"12.34\"" : "");
			http_json_error(res, 422, "a bad field", why, key);
			return -1;
		}
		fields[f] = (char *)json_string_value(v);
	}
	return 0;
}

/*
 * The line items of the checked sale from `items` (an array, or NULL):
 * objects of sku and product (strings), quantity (a whole number, 1 when
 * absent) and amount (a string, as the sale's, for the whole quantity).
 * Returns 0, or -1 with a 422 set naming the field, as "items[1].amount".
 */
static int
http_api_items(json_t *items, struct sale *sale, struct http_response *res)
{
	char			 where[32], name[ITEM_NFIELDS][48], quantity[32];
	char			 unknown[100], why[SALE_ERROR_LEN];
	char			*fields[ITEM_NFIELDS];
	const char		*names[ITEM_NFIELDS], *key;
	enum sale_item_field	 bad;
	json_t			*item, *v;
	size_t			 i;
	int			 f;

	json_array_foreach(items, i, item) {
		snprintf(where, sizeof(where), "items[%zu]", i);
		if (!json_is_object(item)) {
			snprintf(why, sizeof(why), "%s is not an object", where);
			http_json_error(res, 422, "a bad field", why, where);
			return -1;
		}
		for (f = 0; f < ITEM_NFIELDS; f++) {
			snprintf(name[f], sizeof(name[f]), "%s.%s", where,
			    sale_item_field_names[f]);
			names[f] = name[f];
			fields[f] = NULL;
		}
		json_object_foreach(item, key, v) {
			/* An item's amount is for its quantity: no price here. */
			for (f = 0; f < ITEM_PRICE; f++)
				if (strcmp(key, sale_item_field_names[f]) == 0)
					break;
			if (f == ITEM_PRICE) {
				snprintf(unknown, sizeof(unknown), "%s.%.64s",
				    where, key);
				snprintf(why, sizeof(why), "unknown field \"%s\"",
				    unknown);
				http_json_error(res, 422, "an unknown field", why,
				    unknown);
				return -1;
			}
			if (json_is_null(v))
				continue;
			if (f == ITEM_QUANTITY && json_is_integer(v)) {
				snprintf(quantity, sizeof(quantity), "%"
				    JSON_INTEGER_FORMAT, json_integer_value(v));
				fields[f] = quantity;
			} else if (f != ITEM_QUANTITY && json_is_string(v)) {
				fields[f] = (char *)json_string_value(v);
			} else {
				snprintf(why, sizeof(why), "%s must be %s", names[f],
				    f == ITEM_QUANTITY ? "a whole number such as 2" :
				    f == ITEM_AMOUNT ? "a string such as \"12.34\"" :
				    "a string");
				http_json_error(res, 422, "a bad field", why,
				    names[f]);
				return -1;
			}
		}
		if (sale_item_parse(sale, fields, names, why, &bad) == -1) {
			http_json_error(res, 422, "a bad field", why,
			    bad == ITEM_NFIELDS ? "items" : names[bad]);
			return -1;
		}
	}
	return 0;
}

/*
 * POST /api/sales: sale add's fields as a JSON object; 201 with the sale
 * as stored, 200 when the same order was recorded already, 409 when the
 * order id was recorded with other data.
 */
void
http_api_sales(struct http_request *r, struct http_response *res)
{
	char		*fields[SALE_NFIELDS] = { NULL };
	char		 err[SALE_ERROR_LEN];
	struct sale	 sale;
	enum sale_field	 bad;
	json_t		*obj;

	if (!http_api_allowed(r, res) || (obj = http_api_object(r, res)) == NULL)
		return;
	if (http_api_fields(obj, sale_field_names, SALE_NFIELDS, SALE_AMOUNT,
	    "items", fields, res) == 0) {
		if (sale_parse_as(fields, sale_field_names,
		    r->env->cfg->shop.currency, r->now, &sale, err, &bad) == -1)
			http_json_error(res, 422, "a bad field", err,
			    sale_field_names[bad]);
		else if (http_api_items(json_object_get(obj, "items"), &sale,
		    res) == 0)
			http_sales_record(r, res, SOURCE_API, NULL, &sale, NULL,
			    201);
	}
	json_decref(obj);
}

/*
 * POST /api/refunds: sale refund's fields as a JSON object; what comes of
 * it is http_refunds_record's to answer.
 */
void
http_api_refunds(struct http_request *r, struct http_response *res)
{
	char			*fields[REFUND_NFIELDS] = { NULL };
	char			 err[SALE_ERROR_LEN];
	struct refund		 refund;
	enum refund_field	 bad;
	json_t			*obj;

	if (!http_api_allowed(r, res) || (obj = http_api_object(r, res)) == NULL)
		return;
	if (http_api_fields(obj, refund_field_names, REFUND_NFIELDS,
	    REFUND_AMOUNT, NULL, fields, res) == 0) {
		if (refund_parse(fields, refund_field_names, r->now, &refund,
		    err, &bad) == -1)
			http_json_error(res, 422, "a bad field", err,
			    refund_field_names[bad]);
		else
			http_refunds_record(r, res, SOURCE_API, NULL, &refund);
	}
	json_decref(obj);
}

/* A time parameter of /api/stats: 1 if given and good, 0 absent, -1 bad. */
static int
http_api_time(struct http_request *r, struct http_response *res,
    const char *name, int64_t *out)
{
	const char	*text = http_query(r, name);
	char		 why[300];

	if (text == NULL || *text == '\0')
		return 0;
	if (timestamp_parse(text, out) == 0)
		return 1;
	snprintf(why, sizeof(why), "%s \"%.64s\" is not a time such as "
	    "2026-11-20T10:00:00Z or 2026-11-20", name, text);
	http_json_error(res, 400, "a bad parameter", why, name);
	return -1;
}

/* GET /api/stats: the object `stats --json` prints, with its filters. */
void
http_api_stats(struct http_request *r, struct http_response *res)
{
	struct stats_filter	 f = { INT64_MIN, INT64_MAX, NULL };
	json_t			*stats;
	char			 why[300];
	int			 rc;

	if (!http_api_allowed(r, res) ||
	    http_api_time(r, res, "since", &f.since) == -1 ||
	    http_api_time(r, res, "until", &f.until) == -1)
		return;
	if (f.since >= f.until) {
		http_json_error(res, 400, "a bad parameter", "since must be "
		    "before until", "since");
		return;
	}
	if ((f.campaign = http_query(r, "campaign")) != NULL &&
	    config_campaign(r->env->cfg, f.campaign) == NULL) {
		snprintf(why, sizeof(why), "no campaign \"%.64s\"", f.campaign);
		http_json_error(res, 400, "a bad parameter", why, "campaign");
		return;
	}
	if ((rc = stats_collect(r->env->db, r->env->cfg, &f, r->now,
	    &stats)) != DB_OK) {
		http_db_failed(res, rc);
		return;
	}
	http_json(res, 200, NULL, stats);
}
