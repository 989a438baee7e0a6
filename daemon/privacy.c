/* Customers' data rights: what is held about one, erasure, retention. */

#include <stdlib.h>

#include "customer.h"
#include "log.h"
#include "money.h"
#include "privacy.h"
#include "queue.h"
#include "store.h"
#include "timestamp.h"
#include "view.h"
#include "xmalloc.h"

#define PRIVACY_BATCH		256	/* customers erased per transaction */
#define PRIVACY_ID_SPAN		10000	/* message ids per transaction */

static const char sql_customer[] =
    "SELECT c.id, c.email, c.name, c.referral_code, c.unsubscribe_token,"
    " c.created_at, c.unsubscribed_at, c.bounced_at,"
    " s.order_id, s.referral_code, r.created_at, r.state"
    " FROM customers c LEFT JOIN referrals r ON r.referred_id = c.id"
    " LEFT JOIN sales s ON s.id = r.sale_id"
    " WHERE c.id = ?1";

/*
 * The customer row, with the referral their first sale carried.  Who
 * referred them, and whom they referred, are other customers: their
 * addresses are theirs, so the export says when and with which code only.
 * The unsubscribe token is the one their mail carries, whether it was
 * drawn and stored or is derived from their id.  NULL (logged) when the
 * shop's key to tokens cannot be read.
 */
static json_t *
privacy_customer(struct db *db, sqlite3_stmt *st)
{
	char	 token[UNSUBSCRIBE_TOKEN_LEN + 1];
	json_t	*c;

	if (store_unsubscribe_token(db, sqlite3_column_int64(st, 0),
	    (const char *)sqlite3_column_text(st, 4), token) != DB_OK)
		return NULL;
	c = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
	    "email", view_text(st, 1),
	    "name", view_text(st, 2),
	    "referral_code", view_text(st, 3),
	    "unsubscribe_token", token,
	    "created_at", view_time(st, 5),
	    "unsubscribed_at", view_time(st, 6),
	    "bounced_at", view_time(st, 7));
	json_object_set_new(c, "referred_by",
	    sqlite3_column_type(st, 8) == SQLITE_NULL ? json_null() :
	    json_pack("{s:s, s:s, s:o, s:s}", "order_id", view_text(st, 8),
	    "code", view_text(st, 9), "at", view_time(st, 10),
	    "state", view_text(st, 11)));
	return c;
}

static const char sql_sales[] =
    "SELECT order_id, sold_at, recorded_at, sku, product, amount, currency,"
    " is_repeat, referral_code, touch_campaign, touch_at FROM sales"
    " WHERE customer_id = ?1 ORDER BY sold_at, id";

static json_t *
privacy_sale(sqlite3_stmt *st)
{
	char amount[MONEY_TEXT_LEN];

	money_format(sqlite3_column_int64(st, 5), view_text(st, 6), amount);
	return json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:b, s:s,"
	    " s:s?, s:o}",
	    "order_id", view_text(st, 0),
	    "sold_at", view_time(st, 1),
	    "recorded_at", view_time(st, 2),
	    "sku", view_text(st, 3),
	    "product", view_text(st, 4),
	    "amount", amount,
	    "currency", view_text(st, 6),
	    "repeat", sqlite3_column_int(st, 7),
	    "referral_code", view_text(st, 8),
	    "last_touch_campaign", (const char *)sqlite3_column_text(st, 9),
	    "last_touch_at", view_time(st, 10));
}

static const char sql_items[] =
    "SELECT s.order_id, i.sku, i.product, i.quantity, i.amount, s.currency"
    " FROM sale_items i JOIN sales s ON s.id = i.sale_id"
    " WHERE s.customer_id = ?1 ORDER BY s.sold_at, s.id, i.position";

static json_t *
privacy_item(sqlite3_stmt *st)
{
	char amount[MONEY_TEXT_LEN];

	money_format(sqlite3_column_int64(st, 4), view_text(st, 5), amount);
	return json_pack("{s:s, s:s, s:s, s:I, s:s}",
	    "order_id", view_text(st, 0),
	    "sku", view_text(st, 1),
	    "product", view_text(st, 2),
	    "quantity", (json_int_t)sqlite3_column_int64(st, 3),
	    "amount", amount);
}

static const char sql_refunds[] =
    "SELECT s.order_id, r.refund_id, r.amount, s.currency, r.refunded_at,"
    " r.reason, r.source, r.recorded_at"
    " FROM refunds r JOIN sales s ON s.id = r.sale_id"
    " WHERE s.customer_id = ?1 ORDER BY r.id";

static json_t *
privacy_refund(sqlite3_stmt *st)
{
	char amount[MONEY_TEXT_LEN];

	money_format(sqlite3_column_int64(st, 2), view_text(st, 3), amount);
	return json_pack("{s:s, s:s?, s:s, s:s, s:o, s:s, s:s, s:o}",
	    "order_id", view_text(st, 0),
	    "refund_id", (const char *)sqlite3_column_text(st, 1),
	    "amount", amount,
	    "currency", view_text(st, 3),
	    "refunded_at", view_time(st, 4),
	    "reason", view_text(st, 5),
	    "source", view_text(st, 6),
	    "recorded_at", view_time(st, 7));
}

static const char sql_referred[] =
    "SELECT created_at, state FROM referrals WHERE referrer_id = ?1"
    " ORDER BY created_at, referred_id";

static json_t *
privacy_referred(sqlite3_stmt *st)
{
	return json_pack("{s:o, s:s}", "at", view_time(st, 0),
	    "state", view_text(st, 1));
}

static const char sql_clicks[] =
    "SELECT day, clicks FROM referral_clicks WHERE customer_id = ?1"
    " ORDER BY day";

static json_t *
privacy_click(sqlite3_stmt *st)
{
	return json_pack("{s:o, s:I}", "day", view_time(st, 0),
	    "clicks", (json_int_t)sqlite3_column_int64(st, 1));
}

static const char sql_messages[] =
    "SELECT m.id, m.campaign, s.order_id, m.state, m.attempts, m.due_at,"
    " m.first_due_at, m.created_at, m.updated_at, m.sent_at, m.last_error,"
    " b.body FROM messages m LEFT JOIN sales s ON s.id = m.sale_id"
    " LEFT JOIN message_bodies b ON b.message_id = m.id"
    " WHERE m.customer_id = ?1 ORDER BY m.id";

/*
 * A message with the bytes it was sent as (or will be: they are built at
 * the first claim), null before that or once they are dropped.
 * message.c writes 7-bit text; bytes that are not UTF-8 (a hand-edited
 * row) show as null rather than break the JSON.
 */
static json_t *
privacy_message(sqlite3_stmt *st)
{
	json_t *m, *text = NULL;

	m = json_pack("{s:I, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:s}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "campaign", view_text(st, 1),
	    "order_id", view_text(st, 2),
	    "state", view_text(st, 3),
	    "attempts", sqlite3_column_int(st, 4),
	    "due_at", view_time(st, 5),
	    "first_due_at", view_time(st, 6),
	    "created_at", view_time(st, 7),
	    "updated_at", view_time(st, 8),
	    "sent_at", view_time(st, 9),
	    "last_error", view_text(st, 10));
	if (sqlite3_column_type(st, 11) != SQLITE_NULL)
		text = json_stringn(sqlite3_column_blob(st, 11),
		    (size_t)sqlite3_column_bytes(st, 11));
	json_object_set_new(m, "text", text != NULL ? text : json_null());
	return m;
}

/*
 * Every table that holds something about a customer, one array each in
 * the export: ?1 is the customer.  A new table of such facts (coupons)
 * is one more statement, row function and line here.
 */
static const struct {
	const char	*name;
	const char	*sql;
	json_t		*(*row)(sqlite3_stmt *);
} privacy_parts[] = {
	{ "sales", sql_sales, privacy_sale },
	{ "sale_items", sql_items, privacy_item },
	{ "refunds", sql_refunds, privacy_refund },
	{ "referred", sql_referred, privacy_referred },
	{ "referral_clicks", sql_clicks, privacy_click },
	{ "messages", sql_messages, privacy_message },
};

/*
 * Everything stored about the customer with this address (any case), as
 * JSON.  Returns 1 with *out (the caller's to json_decref), 0 when there
 * is no such customer, or DB_*.  One read transaction: the parts agree.
 */
int
privacy_export(struct db *db, const char *email, int64_t now, json_t **out)
{
	sqlite3_stmt	*st;
	json_t		*x = NULL, *part;
	char		 when[TIMESTAMP_LEN];
	int64_t		 id;
	int		 rc;

	if ((rc = db_begin_read(db)) != DB_OK)
		return rc;
	if ((rc = store_find_customer(db, email, NULL, &id)) != 1)
		goto out;
	if ((st = db_prepare(db, sql_customer)) == NULL) {
		rc = DB_ERROR;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step(db, st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? 0 : rc;
		goto out;
	}
	timestamp_format(now, when);
	part = privacy_customer(db, st);
	sqlite3_reset(st);
	if (part == NULL) {
		rc = DB_ERROR;
		goto out;
	}
	x = json_pack("{s:s, s:o}", "exported_at", when, "customer", part);
	for (size_t i = 0; i < sizeof(privacy_parts) / sizeof(privacy_parts[0]);
	    i++) {
		part = json_array();
		json_object_set_new(x, privacy_parts[i].name, part);
		if ((rc = customer_rows(db, privacy_parts[i].sql, id, part,
		    privacy_parts[i].row)) != DB_OK)
			goto out;
	}
	*out = x;
	x = NULL;
	rc = 1;
out:
	rc = db_end(db, rc);
	json_decref(x);
	return rc;
}

/*
 * What is freed from here on is overwritten with zeros, not left in free
 * space for the file to keep.  Debian's SQLite does this by default;
 * others do not.  The connection keeps it: it costs writes only where
 * rows are deleted or shrink.
 */
static int
privacy_secure_delete(struct db *db)
{
	int rc = sqlite3_exec(db->sqlite, "PRAGMA secure_delete = ON", NULL,
	    NULL, NULL);

	return rc == SQLITE_OK ? DB_OK : db_fail(db, rc, "turning on "
	    "secure_delete");
}

static const char sql_count[] =
    "SELECT (SELECT count(*) FROM messages m JOIN message_bodies b"
    "   ON b.message_id = m.id WHERE m.customer_id = ?1),"
    " (SELECT count(*) FROM messages WHERE customer_id = ?1"
    "   AND state IN " QUEUE_OPEN "),"
    " (SELECT count(*) FROM referral_clicks WHERE customer_id = ?1),"
    " (SELECT count(*) FROM sales WHERE customer_id = ?1)";

/* What erasing the customer would take away: DB_OK or DB_*. */
int
privacy_count(struct db *db, int64_t customer, struct privacy_erasure *e)
{
	sqlite3_stmt	*st = db_prepare(db, sql_count);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, customer);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	e->bodies = sqlite3_column_int64(st, 0);
	e->cancelled = sqlite3_column_int64(st, 1);
	e->click_days = sqlite3_column_int64(st, 2);
	e->sales = sqlite3_column_int64(st, 3);
	sqlite3_reset(st);
	return DB_OK;
}

/*
 * Erasing a customer, in order, with ?1 the customer and ?2 now.  The
 * sales stay (order ids, amounts, times, products) and so do the
 * referrals: once the customer row names nobody they are about nobody,
 * and the stats count them.  A new table that holds something about a
 * person gets its statement here.
 */
static const char *const sql_erase[] = {
	/* What waits would go to nobody. */
	"UPDATE messages SET state = 'cancelled', updated_at = ?2"
	" WHERE customer_id = ?1 AND state IN " QUEUE_OPEN,
	/* The bytes name the customer, and a relay's error may quote them. */
	"DELETE FROM message_bodies WHERE message_id IN"
	" (SELECT id FROM messages WHERE customer_id = ?1)",
	"UPDATE messages SET last_error = ''"
	" WHERE customer_id = ?1 AND last_error != ''",
	"DELETE FROM referral_clicks WHERE customer_id = ?1",
	/* A refund's reason is free text a person may have written about them. */
	"UPDATE refunds SET reason = '' WHERE reason != ''"
	" AND sale_id IN (SELECT id FROM sales WHERE customer_id = ?1)",
	"DELETE FROM referral_codes WHERE customer_id = ?1",
	/*
	 * Old links lead nowhere: no stored token (and the one derived
	 * from the id names no erased row: store_customer_by_token), and a
	 * code no link can spell.
	 * Unsubscribed, so that nothing planned for the row later (a
	 * referral_converted) is ever sent.
	 */
	"UPDATE customers SET email = " STORE_ERASED_AS("customers") ","
	" email_key = " STORE_ERASED_AS("customers") ", name = '', referral_code = " STORE_ERASED_AS("customers") ","
	" unsubscribe_token = NULL, unsubscribed_at = ?2, bounced_at = NULL"
	" WHERE id = ?1",
};

/*
 * Erase the customer's personal data inside the caller's write
 * transaction, counting what goes into *e.  It cannot be undone.  The
 * bytes leave the tables here, and the file only with privacy_scrub()
 * after the commit.  DB_OK or DB_*.
 */
int
privacy_erase(struct db *db, int64_t customer, int64_t now,
    struct privacy_erasure *e)
{
	int rc;

	if ((rc = privacy_secure_delete(db)) != DB_OK ||
	    (rc = privacy_count(db, customer, e)) != DB_OK)
		return rc;
	for (size_t i = 0; i < sizeof(sql_erase) / sizeof(sql_erase[0]); i++)
		if ((rc = db_write(db, sql_erase[i], customer, now, NULL)) != DB_OK)
			return rc;
	return DB_OK;
}

/*
 * After an erasure: make its bytes leave the file, not only the tables.
 * secure_delete zeroed what the erasure freed, but older copies of the
 * rows stay where SQLite left them: in the free space of pages rebuilt
 * since they were written (it does not clear what a rebuilt page leaves
 * between its cells), in pages freed by a connection without
 * secure_delete, and in the WAL.  VACUUM writes every page afresh from
 * the live rows, and a TRUNCATE checkpoint copies them home and empties
 * the WAL.  Both wait for other processes as long as the busy timeout.
 * DB_OK; DB_BUSY when one of them could not finish (logged: the erasure
 * stands, old copies may remain); DB_*.
 */
int
privacy_scrub(struct db *db)
{
	int rc = sqlite3_exec(db->sqlite, "VACUUM", NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		rc = db_fail(db, rc, "rewriting it without the erased data");
		if (rc == DB_BUSY)
			log_error("old copies of the erased data may remain in "
			    "the free space of %s until it is rewritten: run "
			    "sqlite3 %s VACUUM when it is free", db->path,
			    db->path);
		return rc;
	}
	if ((rc = db_checkpoint(db)) == DB_BUSY)
		log_error("another process kept reading %s past the busy "
		    "timeout, so the rewritten pages are not all home yet: "
		    "old copies of the erased data may remain in it and its "
		    "WAL until the last process using it closes it",
		    db->path);
	return rc;
}

static const char sql_expired[] =
    "SELECT c.id FROM customers c WHERE NOT " STORE_ERASED("c")
    " AND (SELECT max(sold_at) FROM sales WHERE customer_id = c.id) < ?1";

/*
 * The customers with no sale since `before` into *ids (the caller's to
 * free), *n of them.  Read before any is erased, so that the erasures
 * can go in short transactions.  DB_OK or DB_*.
 */
static int
privacy_expired(struct db *db, int64_t before, int64_t **ids, size_t *n)
{
	sqlite3_stmt	*st = db_prepare(db, sql_expired);
	size_t		 size = 0;
	int		 rc;

	*ids = NULL;
	*n = 0;
	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, before);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		if (*n == size) {
			size = size ? 2 * size : 64;
			*ids = xreallocarray(*ids, size, sizeof(**ids));
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * privacy.retention: erase the customers with no sale since `before`,
 * PRIVACY_BATCH to a transaction so that the lock is never held long.
 * *erased counts them, also when an error stops the work halfway.
 */
static int
privacy_expire(struct db *db, int64_t before, int64_t now, int64_t *erased)
{
	struct privacy_erasure	 e;
	int64_t			*ids;
	size_t			 n, i = 0;
	int			 rc;

	*erased = 0;
	if ((rc = privacy_expired(db, before, &ids, &n)) != DB_OK)
		goto out;
	while (i < n) {
		size_t end = n - i > PRIVACY_BATCH ? i + PRIVACY_BATCH : n;

		if ((rc = db_begin(db)) != DB_OK)
			goto out;
		for (size_t j = i; j < end && rc == DB_OK; j++)
			rc = privacy_erase(db, ids[j], now, &e);
		if ((rc = db_end(db, rc)) != DB_OK)
			goto out;
		*erased += (int64_t)(end - i);
		i = end;
	}
out:
	free(ids);
	return rc;
}

/*
 * Stored bytes of a message that neither waits nor is being sent, last
 * sent or changed before ?3, among message ids ?1 + 1 to ?2.  A message
 * put back in the queue later (retry) is built again.
 */
static const char sql_drop_bodies[] =
    "DELETE FROM message_bodies WHERE message_id > ?1 AND message_id <= ?2"
    " AND message_id IN (SELECT id FROM messages WHERE id > ?1 AND id <= ?2"
    " AND state NOT IN " QUEUE_OPEN " AND state != 'sending'"
    " AND coalesce(sent_at, updated_at) < ?3)";
static const char sql_last_message[] =
    "SELECT coalesce(max(id), 0) FROM messages";

/* One span of ids, in its own transaction; adds to *dropped. */
static int
privacy_drop_span(struct db *db, int64_t from, int64_t before,
    int64_t *dropped)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	if ((st = db_prepare(db, sql_drop_bodies)) == NULL)
		return db_end(db, DB_ERROR);
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, from + PRIVACY_ID_SPAN);
	sqlite3_bind_int64(st, 3, before);
	if ((rc = db_step(db, st)) == SQLITE_DONE) {
		*dropped += sqlite3_changes(db->sqlite);
		rc = DB_OK;
	}
	return db_end(db, rc);
}

/*
 * privacy.keep_message_bodies: drop the bodies of messages sent or done
 * with before `before`, a span of message ids to a transaction.  A whole
 * pass over the table, once a day: an index on the time would cost every
 * delivery a write.  *dropped counts them, also when an error stops the
 * work halfway.
 */
static int
privacy_drop_bodies(struct db *db, int64_t before, int64_t *dropped)
{
	int64_t	last;
	int	rc;

	*dropped = 0;
	if ((rc = privacy_secure_delete(db)) != DB_OK ||
	    (rc = db_run(db, sql_last_message, 0, 0, NULL, &last)) < 0)
		return rc;
	for (int64_t from = 0; from < last; from += PRIVACY_ID_SPAN)
		if ((rc = privacy_drop_span(db, from, before, dropped)) != DB_OK)
			return rc;
	return DB_OK;
}

/*
 * The daemon's daily privacy step (and at start): privacy.retention and
 * privacy.keep_message_bodies, each when set.  Counts only are logged,
 * never whom.  What an error leaves undone is done the next day; when
 * the file cannot be rewritten, privacy_scrub() says what may remain.
 */
void
privacy_tidy(struct db *db, const struct config *cfg, int64_t now)
{
	int64_t	erased = 0, dropped = 0;
	int	rc = DB_OK;

	if (cfg->privacy.retention > 0)
		rc = privacy_expire(db, now - cfg->privacy.retention, now,
		    &erased);
	if (rc == DB_OK && cfg->privacy.keep_message_bodies > 0)
		rc = privacy_drop_bodies(db, now -
		    cfg->privacy.keep_message_bodies, &dropped);
	if (rc != DB_OK)
		log_warnx("privacy: stopped by a database error; the rest is "
		    "done tomorrow");
	/* The bytes leave the file before the counts are told. */
	if (erased > 0)
		privacy_scrub(db);
	else if (dropped > 0)
		db_checkpoint(db);	/* at best: a reader keeps the WAL's copies */
	if (erased > 0)
		log_info("privacy: erased %lld customer%s with no sale in %lld "
		    "days", (long long)erased, erased == 1 ? "" : "s",
		    (long long)(cfg->privacy.retention / 86400));
	if (dropped > 0)
		log_info("privacy: dropped %lld message bod%s older than %lld "
		    "days", (long long)dropped, dropped == 1 ? "y" : "ies",
		    (long long)(cfg->privacy.keep_message_bodies / 86400));
}
