/*
 * The message queue, the daemon's side: states, claims and delivery
 * outcomes in SQLite.  Operators' listing and retry are cmd_queue.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coupon.h"
#include "delivery.h"
#include "log.h"
#include "planner.h"
#include "queue.h"
#include "store.h"
#include "window.h"

static const char sql_recover[] =
    "UPDATE messages SET state = 'scheduled', due_at = ?1, updated_at = ?1"
    " WHERE state = 'sending'";

/*
 * A message found "sending" at start-up was claimed by a process that died
 * before the relay's answer was recorded: it may or may not have gone out.
 * Sending it again is the side to err on; a duplicate beats a loss.
 */
int
queue_recover(struct db *db, int64_t now, int *count)
{
	int rc = db_write(db, sql_recover, now, 0, NULL);

	*count = rc == DB_OK ? sqlite3_changes(db->sqlite) : 0;
	return rc;
}

static const char sql_release[] =
    "UPDATE messages SET state = 'scheduled', attempts = attempts - 1,"
    " first_due_at = CASE WHEN attempts = 1 THEN NULL"
    "   ELSE first_due_at END, updated_at = ?2"
    " WHERE id = ?1 AND state = 'sending'";
static const char sql_release_body[] =
    "DELETE FROM message_bodies WHERE message_id = ?1 AND EXISTS ("
    " SELECT 1 FROM messages WHERE id = ?1 AND state = 'sending'"
    " AND attempts = 1)";

/*
 * A claimed message that never reached the relay goes back as it was,
 * inside the caller's write transaction: the daemon is stopping or
 * reloading.  Never tried, it is as if never claimed: its bytes go too, so
 * a reload's templates apply to it, and with them its coupon's code,
 * which nobody has seen.
 */
int
queue_release(struct db *db, const struct outgoing *o, int64_t now)
{
	int rc;

	if (o->attempts == 1 && (rc = coupon_return(db, o->id)) != DB_OK)
		return rc;
	if ((rc = db_write(db, sql_release_body, o->id, 0, NULL)) != DB_OK)
		return rc;
	return db_write(db, sql_release, o->id, now, NULL);
}

static const char sql_next_due[] =
    "SELECT due_at FROM messages WHERE state IN " QUEUE_OPEN
    " ORDER BY due_at LIMIT 1";

/* 1 and the earliest due time, 0 when nothing waits, or DB_*. */
int
queue_next_due(struct db *db, int64_t *due)
{
	return db_run(db, sql_next_due, 0, 0, NULL, due);
}

static const char sql_due[] =
    "SELECT m.id, m.campaign, m.customer_id, m.sale_id, m.due_at, m.attempts,"
    " " STORE_NO_CONSENT("c") ","
    " CASE WHEN ?3 > 0 THEN (SELECT max(coalesce(sent_at, updated_at))"
    "   FROM messages WHERE customer_id = m.customer_id"
    "   AND state IN ('sent', 'sending')) END,"
    " EXISTS (SELECT 1 FROM message_bodies WHERE message_id = m.id),"
    " c.email, coalesce(m.first_due_at, min(m.due_at, ?1))"
    " FROM messages m JOIN customers c ON c.id = m.customer_id"
    " WHERE m.state IN " QUEUE_OPEN " AND m.due_at <= ?1"
    " ORDER BY m.due_at, m.id LIMIT ?2";
static const char sql_unbuilt[] =
    "SELECT id, campaign, customer_id, sale_id FROM messages"
    " WHERE state IN " QUEUE_OPEN " AND due_at <= ?1"
    " AND NOT EXISTS (SELECT 1 FROM message_bodies"
    "   WHERE message_id = messages.id)"
    " ORDER BY due_at, id LIMIT ?2";
static const char sql_set_state[] =
    "UPDATE messages SET state = ?3, updated_at = ?2 WHERE id = ?1";
static const char sql_postpone[] =
    "UPDATE messages SET due_at = ?2 WHERE id = ?1";
static const char sql_body[] =
    "SELECT body FROM message_bodies WHERE message_id = ?1";
/*
 * first_due_at keeps the due time at the first claim: due_at moves with
 * every deferral, and delivery.give_up_after counts from the due time,
 * whatever delayed the message.
 */
static const char sql_claim[] =
    "UPDATE messages SET state = 'sending', attempts = attempts + 1,"
    " first_due_at = coalesce(first_due_at, min(due_at, ?2)),"
    " updated_at = ?2 WHERE id = ?1";
/* Written once, at the first claim: every retry reads these back. */
static const char sql_store_body[] =
    "INSERT INTO message_bodies (message_id, body) VALUES (?1, ?2)";

/*
 * Why a due message is not sent now: the state it ends in (a removed
 * campaign, no consent, expire_after passed), or NULL when it may go, with
 * *postpone set (nonzero) when it must wait for min_gap or its send window.
 * Pure: it reads only its arguments (and the timezone, for the window).
 */
const char *
queue_hold(const struct config *cfg, const struct campaign *c,
    const struct queue_due *d, int64_t now, int64_t *postpone)
{
	*postpone = 0;
	if (c == NULL || !c->enabled)		/* removed, or turned off */
		return queue_states[QUEUE_STATE_CANCELLED];
	if (d->no_consent)
		return queue_states[QUEUE_STATE_SUPPRESSED];
	if (c->expire_after > 0 && now > d->due + c->expire_after)
		return queue_states[QUEUE_STATE_EXPIRED];
	if (cfg->delivery.min_gap > 0 && d->ever_sent &&
	    d->last_sent + cfg->delivery.min_gap > now)
		*postpone = window_next(&c->send_window,
		    d->last_sent + cfg->delivery.min_gap);
	else if (window_next(&c->send_window, now) != now)
		*postpone = window_next(&c->send_window, now);
	return NULL;
}

/*
 * The due messages not built yet, in the order queue_claim() takes them,
 * at most `max`: the caller builds them outside any write transaction and
 * hands the bytes to queue_claim().  DB_OK or DB_*.
 */
int
queue_unbuilt(struct db *db, int64_t now, struct queue_unbuilt *out, int max,
    int *n)
{
	sqlite3_stmt	*st = db_prepare(db, sql_unbuilt);
	int		 rc = SQLITE_DONE;

	*n = 0;
	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, max);
	while (*n < max && (rc = db_step(db, st)) == SQLITE_ROW) {
		struct queue_unbuilt *u = &out[(*n)++];

		u->id = sqlite3_column_int64(st, 0);
		snprintf(u->campaign, sizeof(u->campaign), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		u->customer = sqlite3_column_int64(st, 2);
		u->sale = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DB_OK : rc;
}

/* The stored bytes of a message built at an earlier claim. */
static int
queue_load_body(struct db *db, int64_t id, struct buf *text)
{
	sqlite3_stmt	*st = db_prepare(db, sql_body);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step(db, st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			log_error("message %lld is gone while being claimed",
			    (long long)id);
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	}
	buf_add(text, sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_reset(st);
	return DB_OK;
}

static const char sql_wait[] =
    "UPDATE messages SET state = 'deferred', due_at = ?2, last_error = ?3"
    " WHERE id = ?1 AND state IN " QUEUE_OPEN;
static const char sql_unbuildable[] =
    "UPDATE messages SET state = 'failed', updated_at = ?2, last_error = ?3"
    " WHERE id = ?1 AND state IN " QUEUE_OPEN;

/*
 * A message the builder could not build, inside the caller's write
 * transaction: it waits until b->until (its coupon pool is empty),
 * deferred with b->why, or with until 0 it fails (message_build said why
 * in the log).  Not an attempt: nothing reached the relay.
 */
int
queue_set_back(struct db *db, const struct queue_setback *b, int64_t now)
{
	if (b->until != 0)
		return db_write(db, sql_wait, b->id, b->until, b->why);
	return db_write(db, sql_unbuildable, b->id, now, "cannot be built: "
	    "its stored data is unusable (see the log)");
}

/*
 * Claim one message: its stored bytes if it has them, else the ones built
 * for it, which are stored with the claim, and the coupon code they carry
 * issued to it in the same transaction.  1 when it has neither (it became
 * due after the caller built), or its code is no longer free: it waits
 * for the next turn, to be built again.
 */
static int
queue_prepare(struct db *db, const struct queue_due *d,
    struct outgoing *built, int nbuilt, int64_t now, struct outgoing *o)
{
	struct outgoing	*b = NULL;
	sqlite3_stmt	*st;
	int		 rc;

	memset(o, 0, sizeof(*o));	/* the caller frees it on any error */
	for (int i = 0; i < nbuilt && !d->built && b == NULL; i++)
		if (built[i].id == d->id)
			b = &built[i];
	if (!d->built && b == NULL)
		return 1;
	if (b != NULL && b->coupon != 0 &&
	    (rc = coupon_issue(db, b->coupon, d->id, now)) != DB_OK)
		return rc;
	o->id = d->id;
	o->customer = d->customer;
	snprintf(o->campaign, sizeof(o->campaign), "%s", d->campaign);
	snprintf(o->rcpt, sizeof(o->rcpt), "%s", d->rcpt);
	o->attempts = d->attempts + 1;
	o->first_due = d->first_due;
	if (b != NULL) {
		o->text = b->text;
		memset(&b->text, 0, sizeof(b->text));
	} else if ((rc = queue_load_body(db, d->id, &o->text)) != DB_OK) {
		return rc;
	}
	if (b != NULL) {
		if ((st = db_prepare(db, sql_store_body)) == NULL)
			return DB_ERROR;
		sqlite3_bind_int64(st, 1, o->id);
		sqlite3_bind_blob(st, 2, o->text.data, (int)o->text.len,
		    SQLITE_STATIC);
		rc = db_step(db, st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			return rc;
	}
	if ((st = db_prepare(db, sql_claim)) == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, o->id);
	sqlite3_bind_int64(st, 2, now);
	rc = db_step(db, st);
	return rc == SQLITE_DONE ? DB_OK : rc;
}

#define QUEUE_CLAIM_MAX	64

/*
 * Read the due messages first: claiming changes the index the scan uses.
 * A customer's last message sent is looked up only for min_gap.
 */
static int
queue_read_due(struct db *db, int64_t now, int64_t min_gap,
    struct queue_due *due, int max, int *n)
{
	sqlite3_stmt	*st = db_prepare(db, sql_due);
	int		 rc = SQLITE_DONE;

	*n = 0;
	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, max);
	sqlite3_bind_int64(st, 3, min_gap);
	while (*n < max && (rc = db_step(db, st)) == SQLITE_ROW) {
		struct queue_due *d = &due[(*n)++];

		d->id = sqlite3_column_int64(st, 0);
		snprintf(d->campaign, sizeof(d->campaign), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		d->customer = sqlite3_column_int64(st, 2);
		d->sale = sqlite3_column_int64(st, 3);
		d->due = sqlite3_column_int64(st, 4);
		d->attempts = sqlite3_column_int(st, 5);
		d->no_consent = sqlite3_column_int(st, 6);
		d->ever_sent = sqlite3_column_type(st, 7) != SQLITE_NULL;
		d->last_sent = sqlite3_column_int64(st, 7);
		d->built = sqlite3_column_int(st, 8);
		snprintf(d->rcpt, sizeof(d->rcpt), "%s",
		    (const char *)sqlite3_column_text(st, 9));
		d->first_due = sqlite3_column_int64(st, 10);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * Claim up to `max` due messages inside the caller's write transaction,
 * which the caller commits before it talks to the relay.  Each is marked
 * "sending" with its bytes: those stored at its first claim, or those the
 * caller built for it (`built`, from queue_unbuilt()), which are moved out
 * of `built` and stored now.  Due messages that must wait (min_gap, the
 * send window) are moved, and those that must not go (consent, expiry, a
 * removed campaign) end here.  On error the caller rolls back; out holds
 * nothing to free.
 */
int
queue_claim(struct db *db, const struct config *cfg, int64_t now,
    struct outgoing *built, int nbuilt, struct outgoing *out, int max, int *n)
{
	struct queue_due	due[QUEUE_CLAIM_MAX];
	int64_t			claimed[QUEUE_CLAIM_MAX];
	int			ndue, rc;

	*n = 0;
	if (max > QUEUE_CLAIM_MAX)
		max = QUEUE_CLAIM_MAX;
	if ((rc = queue_read_due(db, now, cfg->delivery.min_gap, due, max,
	    &ndue)) != DB_OK)
		return rc;
	for (int i = 0; i < ndue; i++) {
		const struct queue_due	*d = &due[i];
		const struct campaign	*c = config_campaign(cfg, d->campaign);
		int64_t			 postpone;
		const char		*end = queue_hold(cfg, c, d, now, &postpone);

		/* One message per customer per batch when min_gap is set. */
		for (int j = 0; j < *n && cfg->delivery.min_gap > 0; j++)
			if (end == NULL && postpone == 0 &&
			    claimed[j] == d->customer)
				postpone = now + cfg->delivery.min_gap;
		if (end != NULL)
			rc = db_write(db, sql_set_state, d->id, now, end);
		else if (postpone != 0)
			rc = db_write(db, sql_postpone, d->id, postpone, NULL);
		else if ((rc = queue_prepare(db, d, built, nbuilt, now,
		    &out[*n])) == DB_OK)
			claimed[(*n)++] = d->customer;
		else if (rc == 1)
			rc = DB_OK;
		else
			queue_free(&out[*n]);
		if (rc != DB_OK)
			break;
	}
	if (rc != DB_OK) {
		for (int i = 0; i < *n; i++)
			queue_free(&out[i]);
		*n = 0;
	}
	return rc;
}

static const char sql_sent[] =
    "UPDATE messages SET state = 'sent', sent_at = ?2, updated_at = ?2,"
    " last_error = '' WHERE id = ?1";
/*
 * min_gap counts from the relay's answer, not from the claim: a sibling
 * postponed at the claim may be due a little before the gap is over.
 */
static const char sql_gap[] =
    "UPDATE messages SET due_at = ?2"
    " WHERE customer_id = (SELECT customer_id FROM messages WHERE id = ?1)"
    " AND state IN " QUEUE_OPEN " AND due_at < ?2";
static const char sql_defer[] =
    "UPDATE messages SET state = 'deferred', due_at = ?2, last_error = ?3"
    " WHERE id = ?1";
static const char sql_fail[] =
    "UPDATE messages SET state = 'failed', updated_at = ?2, last_error = ?3"
    " WHERE id = ?1";
static const char sql_requeue[] =
    "UPDATE messages SET state = 'deferred', attempts = attempts - 1,"
    " due_at = ?2, last_error = ?3 WHERE id = ?1";
static const char sql_fail_unattempted[] =
    "UPDATE messages SET state = 'failed', attempts = attempts - 1,"
    " updated_at = ?2, last_error = ?3 WHERE id = ?1";
static const char sql_bounce[] =
    "UPDATE customers SET bounced_at = ?2"
    " WHERE id = (SELECT customer_id FROM messages WHERE id = ?1)";
static const char sql_suppress_customer[] =
    "UPDATE messages SET state = 'suppressed', updated_at = ?2"
    " WHERE customer_id = (SELECT customer_id FROM messages WHERE id = ?1)"
    " AND state IN " QUEUE_OPEN;

/*
 * Record delivery.c's verdict on a claimed message, inside the caller's
 * write transaction (committed right away).  A sent message keeps what
 * else waits for its customer `min_gap` away from it.  A message whose
 * relay was unusable gets its attempt back, whatever the verdict.  A
 * rejected recipient marks the customer bounced and suppresses what else
 * waits for them.
 */
int
queue_result(struct db *db, const struct outgoing *o,
    const struct delivery_verdict *v, int64_t min_gap, int64_t now)
{
	int rc = DB_OK;

	switch (v->outcome) {
	case QUEUE_SENT:
		if ((rc = db_write(db, sql_sent, o->id, now, NULL)) == DB_OK)
			rc = store_touch(db, o->customer, now);
		if (rc == DB_OK && min_gap > 0)
			rc = db_write(db, sql_gap, o->id, now + min_gap, NULL);
		break;
	case QUEUE_DEFERRED:
		rc = db_write(db, v->relay_down ? sql_requeue : sql_defer, o->id,
		    v->retry_at, v->why);
		break;
	case QUEUE_BOUNCED:
		if ((rc = db_write(db, sql_bounce, o->id, now, NULL)) == DB_OK)
			rc = db_write(db, sql_suppress_customer, o->id, now, NULL);
		if (rc == DB_OK)
			rc = db_write(db, sql_fail, o->id, now, v->why);
		break;
	default:
		rc = db_write(db, v->relay_down ? sql_fail_unattempted : sql_fail,
		    o->id, now, v->why);
		break;
	}
	return rc;
}

static const char sql_cancel_campaign[] =
    "UPDATE messages SET state = 'cancelled', updated_at = ?2"
    " WHERE campaign = ?3 AND state IN " QUEUE_OPEN;
static const char sql_move_campaign[] =
    "SELECT m.id, s.sold_at, coalesce(m.expected_at, 0) FROM messages m"
    " JOIN sales s ON s.id = m.sale_id"
    " WHERE m.campaign = ?1 AND m.state = 'scheduled' AND m.attempts = 0";

/*
 * After a reload: scheduled messages of campaigns that are gone or
 * turned off (enabled = false) are cancelled, and those of campaigns whose delay or window changed move
 * to the new due time.  One transaction, so a reload is all or nothing.
 */
int
queue_reconfigure(struct db *db, const struct config *old,
    const struct config *cfg, int64_t now)
{
	int rc;

	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	for (size_t i = 0; i < old->ncampaigns && rc == DB_OK; i++) {
		const struct campaign	*was = &old->campaigns[i];
		const struct campaign	*is = config_campaign(cfg, was->name);
		sqlite3_stmt		*st;

		if (is == NULL || !is->enabled) {
			rc = db_write(db, sql_cancel_campaign, 0, now, was->name);
			continue;
		}
		/* A campaign that changed its trigger keeps what it planned. */
		if (is->on != was->on || (is->after == was->after &&
		    is->before == was->before &&
		    is->send_window.start == was->send_window.start &&
		    is->send_window.end == was->send_window.end))
			continue;
		if ((st = db_prepare(db, sql_move_campaign)) == NULL) {
			rc = DB_ERROR;
			break;
		}
		sqlite3_bind_text(st, 1, is->name, -1, SQLITE_STATIC);
		while ((rc = db_step(db, st)) == SQLITE_ROW) {
			int64_t due = planner_due(is, sqlite3_column_int64(st, 1),
			    sqlite3_column_int64(st, 2));

			if ((rc = db_write(db, sql_postpone,
			    sqlite3_column_int64(st, 0), due, NULL)) != DB_OK)
				break;
		}
		if (rc == SQLITE_DONE)
			rc = DB_OK;
	}
	return db_end(db, rc);
}

const char *const queue_states[QUEUE_NSTATES] = {
	[QUEUE_STATE_SCHEDULED] = "scheduled",
	[QUEUE_STATE_SENDING] = "sending",
	[QUEUE_STATE_SENT] = "sent",
	[QUEUE_STATE_DEFERRED] = "deferred",
	[QUEUE_STATE_FAILED] = "failed",
	[QUEUE_STATE_CANCELLED] = "cancelled",
	[QUEUE_STATE_EXPIRED] = "expired",
	[QUEUE_STATE_SUPPRESSED] = "suppressed",
};
static const char sql_counts[] =
    "SELECT state, sum(n) FROM message_counts GROUP BY state";

/* Messages by state, in the order of queue_states. */
int
queue_counts(struct db *db, int64_t counts[QUEUE_NSTATES])
{
	sqlite3_stmt	*st = db_prepare(db, sql_counts);
	int		 rc;

	memset(counts, 0, QUEUE_NSTATES * sizeof(counts[0]));
	if (st == NULL)
		return DB_ERROR;
	while ((rc = db_step(db, st)) == SQLITE_ROW)
		for (int i = 0; i < QUEUE_NSTATES; i++)
			if (strcmp(queue_states[i],
			    (const char *)sqlite3_column_text(st, 0)) == 0)
				counts[i] = sqlite3_column_int64(st, 1);
	return rc == SQLITE_DONE ? DB_OK : rc;
}

void
queue_free(struct outgoing *o)
{
	buf_free(&o->text);
}
