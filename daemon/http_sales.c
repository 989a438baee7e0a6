/* A sale handed to the front door (a webhook, the API), recorded durably. */

#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "money.h"
#include "store.h"
#include "timestamp.h"
#include "view.h"
#include "xmalloc.h"

/*
 * The sale as the API shows it: sale add's fields, what became of it, and
 * its line items.
 */
json_t *
http_sales_json(const struct sale *sale)
{
	char	amount[MONEY_TEXT_LEN], when[TIMESTAMP_LEN];

	money_format(sale->amount, sale->currency, amount);
	timestamp_format(sale->sold_at, when);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:b, "
	    "s:o}", "order_id", sale->order_id, "email", sale->email,
	    "name", sale->name, "sku", sale->sku, "product", sale->product,
	    "amount", amount, "currency", sale->currency, "sold_at", when,
	    "referral_code", *sale->referral_given != '\0' ?
	    sale->referral_given : NULL, "repeat", sale->is_repeat,
	    "items", view_items(sale));
}

/* What one recording came to, decided inside its transaction. */
struct http_sales_outcome {
	int			seen;		/* the delivery was taken before */
	int64_t			sale_id;
	struct store_result	store;
};

/*
 * The transaction: the delivery looked up, the sale recorded, the
 * delivery remembered, all or nothing, and the sale read back as stored
 * into *stored (but for a conflict).  Returns DB_OK (commit), 1 (nothing
 * to write: a replay, or a conflict) or DB_*.
 */
static int
http_sales_write(struct db *db, const char *source, const char *delivery,
    const struct sale *sale, const char *platform_id, int64_t now,
    struct http_sales_outcome *o, struct sale *stored)
{
	int64_t	customer;
	int	rc, done = DB_OK;

	if (delivery != NULL && (rc = store_delivery_find(db, source, delivery,
	    &o->sale_id)) != 0) {
		if (rc < 0)
			return rc;
		o->seen = 1;
		done = 1;
	} else {
		if ((rc = store_record_sale(db, sale, now, &o->store)) != DB_OK)
			return rc;
		if (o->store.outcome == STORE_CONFLICT)
			return 1;
		if ((rc = store_find_order(db, sale->order_id, &o->sale_id,
		    &customer)) != 1)
			return rc == 0 ? DB_ERROR : rc;
		if (platform_id != NULL && *platform_id != '\0' &&
		    (rc = store_platform_order_add(db, source, platform_id,
		    o->sale_id)) != DB_OK)
			return rc;
		if (delivery != NULL && (rc = store_delivery_add(db, source,
		    delivery, o->sale_id, now)) != DB_OK)
			return rc;
	}
	/* The sale as it will be, read before the answer is bound to it. */
	if ((rc = store_read_sale(db, o->sale_id, stored)) != 1)
		return rc == 0 ? DB_ERROR : rc;
	return done;
}

/*
 * Record `sale`, handed over by `source` as its delivery `delivery` (the
 * platform's id of this request, which a retry repeats; NULL when there
 * is none), with the platform's own id of the order (`platform_id`, NULL
 * or "" for none) kept for its refunds, and answer: `created` (201 for
 * the API, 200 for webhooks) or 200 with the sale as stored, 409 for an
 * order id recorded with other data, 503 while the database is busy.
 *
 * A sale is a fact someone handed us, so its answer waits until it is
 * committed with synchronous FULL (an fsync of the WAL): a 2xx survives
 * a power cut.  The sale joins the front door's batch (http.c), whose one
 * commit serves every sale of the same turn; the answer set here is sent
 * after that commit, or replaced by a 503 if it fails.  The delivery's row
 * is written in the same transaction, so a replay after any crash either
 * finds both or neither.
 */
void
http_sales_record(struct http_request *r, struct http_response *res,
    enum source source, const char *delivery, const struct sale *sale,
    const char *platform_id, int created)
{
	struct db			*db = r->env->db;
	const char			*name = config_source_names[source];
	struct http_sales_outcome	 o;
	struct http_recorded		*rec;
	struct sale			 stored;
	json_t				*body;
	char				 why[600];
	int				 rc;

	memset(&o, 0, sizeof(o));
	if (delivery != NULL && *delivery == '\0')
		delivery = NULL;
	if ((rc = http_batch_join(r)) == DB_OK)
		rc = http_batch_leave(r, http_sales_write(db, name, delivery,
		    sale, platform_id, r->now, &o, &stored));
	if (rc < 0) {
		http_db_failed(res, rc);
		return;
	}
	if (!o.seen && o.store.outcome == STORE_CONFLICT) {
		snprintf(why, sizeof(why), "order \"%s\" is already recorded "
		    "with a different %s", sale->order_id, o.store.conflict);
		http_json_error(res, 409, "order recorded with other data", why,
		    o.store.conflict);
		return;
	}
	body = json_object();
	if (o.seen) {
		json_object_set_new(body, "result", json_string("already "
		    "recorded (a replayed delivery)"));
	} else if (o.store.outcome == STORE_DUPLICATE) {
		json_object_set_new(body, "result", json_string("already "
		    "recorded"));
	} else {
		json_object_set_new(body, "result", json_string("recorded"));
		rec = xcalloc(1, sizeof(*rec));
		rec->source = source;
		snprintf(rec->order_id, sizeof(rec->order_id), "%s",
		    stored.order_id);
		rec->new_customer = o.store.new_customer;
		if (o.store.referral != REFERRAL_NONE &&
		    o.store.referral != REFERRAL_ACCEPTED) {
			snprintf(rec->warning, sizeof(rec->warning),
			    "referral code \"%s\" ignored: %s; the sale is "
			    "recorded", sale->referral_given,
			    store_referral_text(o.store.referral));
			json_object_set_new(body, "warning",
			    json_string(rec->warning));
		}
		res->recorded = rec;
	}
	json_object_set_new(body, "sale", http_sales_json(&stored));
	http_json(res, o.seen || o.store.outcome == STORE_DUPLICATE ? 200 :
	    created, NULL, body);
}

/*
 * The batch that held a recorded sale or refund is committed: now it is
 * recorded, so say so, count a sale, and let the daemon plan (a full
 * refund cancels what waits).
 */
void
http_sales_committed(struct http *h, const struct http_env *env,
    const struct http_recorded *rec)
{
	if (rec->refund) {
		log_info("order \"%s\": a refund recorded from %s%s",
		    rec->order_id, config_source_names[rec->source],
		    rec->full ? " (refunded in full)" : "");
	} else {
		http_sale_counted(h, rec->source);
		log_info("order \"%s\" recorded from %s%s", rec->order_id,
		    config_source_names[rec->source], rec->new_customer ?
		    " (a new customer)" : "");
	}
	if (rec->warning[0] != '\0')
		log_info("order \"%s\": %s", rec->order_id, rec->warning);
	if (env->recorded != NULL)
		env->recorded(env->owner);
}
