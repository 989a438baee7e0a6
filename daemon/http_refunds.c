/* A refund handed to the front door (a webhook, the API), recorded durably. */

#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "money.h"
#include "store.h"
#include "timestamp.h"
#include "xmalloc.h"

/* The refund as the API shows it, with what its sale has had back in all. */
static json_t *
http_refunds_json(const struct refund *r, const struct store_refund_result *o)
{
	char	amount[MONEY_TEXT_LEN], refunded[MONEY_TEXT_LEN];
	char	when[TIMESTAMP_LEN];

	money_format(o->amount, o->currency, amount);
	money_format(o->refunded, o->currency, refunded);
	timestamp_format(r->refunded_at, when);
	return json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:b}",
	    "order_id", o->order_id,
	    "refund_id", *r->refund_id != '\0' ? r->refund_id : NULL,
	    "amount", amount, "currency", o->currency, "refunded_at", when,
	    "reason", r->reason, "refunded", refunded,
	    "full", o->refunded == o->total);
}

/* What one recording came to, decided inside its transaction. */
struct http_refunds_outcome {
	int				seen;	/* the delivery was taken before */
	struct store_refund_result	store;
};

/*
 * The transaction: the delivery looked up, the refund recorded, the
 * delivery remembered with its sale, all or nothing.  A delivery that
 * found its sale is remembered even when it adds nothing (a refund id
 * recorded already, a running total covered), so that its replays are
 * answered at once.  Returns DB_OK (commit), 1 (nothing to write) or DB_*.
 */
static int
http_refunds_write(struct db *db, const char *source, const char *delivery,
    const struct refund *refund, int64_t now, struct http_refunds_outcome *o)
{
	int64_t	sale;
	int	rc;

	if (delivery != NULL && (rc = store_delivery_find(db, source, delivery,
	    &sale)) != 0) {
		o->seen = rc == 1;
		return rc;
	}
	if ((rc = store_record_refund(db, refund, source, now,
	    &o->store)) != DB_OK)
		return rc;
	if (o->store.outcome != STORE_REFUND_ADDED &&
	    !store_refund_known(&o->store))
		return 1;
	if (delivery != NULL)
		return store_delivery_add(db, source, delivery, o->store.sale,
		    now);
	return o->store.outcome == STORE_REFUND_ADDED ? DB_OK : 1;
}

/*
 * A refund the platform told us of that we do not record: 200 all the
 * same, since the platform can change nothing about it and would only
 * send it again for days; the log says why.  What adds nothing (it is
 * recorded already) needs no warning.
 */
static void
http_refunds_acknowledged(struct http_response *res, const char *name,
    const struct store_refund_result *s)
{
	int known = store_refund_known(s);

	if (known)
		log_info("%s: %s", name, s->why);
	else
		log_warnx("%s: refund not recorded: %s", name, s->why);
	http_json(res, 200, NULL, json_pack("{s:s, s:s}", "result", known ?
	    "already recorded" : "ignored", "why", s->why));
}

/*
 * Record `refund`, handed over by `source` as its delivery `delivery`
 * (NULL when there is none), and answer.  The API: 201 recorded, 200 its
 * refund id recorded already, 409 that refund id with another amount,
 * 422 naming the field for an unknown order or an amount that does not
 * fit (more than what is left).  A platform: 200 whatever came of it,
 * which the log says.  503 while the database is busy.
 *
 * A refund is a fact someone handed us: it joins the front door's batch
 * as a sale does (http_sales_record), and its answer waits for the
 * batch's durable commit.  Once committed it is said, and the daemon
 * looks at it as at a new sale: a full refund cancels what waits.
 */
void
http_refunds_record(struct http_request *r, struct http_response *res,
    enum source source, const char *delivery, const struct refund *refund)
{
	struct db			*db = r->env->db;
	const char			*name = config_source_names[source];
	const struct store_refund_result *s;
	struct http_refunds_outcome	 o;
	int				 rc;

	memset(&o, 0, sizeof(o));
	s = &o.store;
	if (delivery != NULL && *delivery == '\0')
		delivery = NULL;
	if ((rc = http_batch_join(r)) == DB_OK)
		rc = http_batch_leave(r, http_refunds_write(db, name, delivery,
		    refund, r->now, &o));
	if (rc < 0) {
		http_db_failed(res, rc);
		return;
	}
	if (o.seen) {
		http_json(res, 200, NULL, json_pack("{s:s}", "result",
		    "already recorded (a replayed delivery)"));
		return;
	}
	if (s->outcome == STORE_REFUND_ADDED) {
		res->recorded = xcalloc(1, sizeof(*res->recorded));
		res->recorded->source = source;
		res->recorded->refund = 1;
		res->recorded->full = s->refunded == s->total;
		snprintf(res->recorded->order_id,
		    sizeof(res->recorded->order_id), "%s", s->order_id);
		http_json(res, source == SOURCE_API ? 201 : 200, NULL,
		    json_pack("{s:s, s:o}", "result", "recorded", "refund",
		    http_refunds_json(refund, s)));
		return;
	}
	if (source != SOURCE_API) {
		http_refunds_acknowledged(res, name, s);
		return;
	}
	switch (s->outcome) {
	case STORE_REFUND_DUPLICATE:
		http_json(res, 200, NULL, json_pack("{s:s, s:s}", "result",
		    "already recorded", "why", s->why));
		break;
	case STORE_REFUND_CONFLICT:
		http_json_error(res, 409, "refund recorded with another amount",
		    s->why, "amount");
		break;
	case STORE_REFUND_UNKNOWN:
		http_json_error(res, 422, "unknown order", s->why, "order_id");
		break;
	default:
		http_json_error(res, 422, "a bad field", s->why, "amount");
		break;
	}
}
