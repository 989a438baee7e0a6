/*
 * The planner: new sales times campaigns become scheduled messages, and a
 * new full refund cancels what waits about its sale.
 */

#include <fnmatch.h>
#include <string.h>

#include "log.h"
#include "money.h"
#include "planner.h"
#include "queue.h"
#include "reorder.h"
#include "store.h"
#include "window.h"

static const char sql_cursor[] =
    "SELECT last_sale_id FROM planner WHERE id = 1";
/* Whether the sale is refunded in full comes first: column 0. */
static const char sql_new_sales[] =
    "SELECT NOT " STORE_SALE_COUNTS("s") ", " STORE_SALE_COLUMNS
    " FROM " STORE_SALE_FROM " WHERE s.id > ?1 ORDER BY s.id LIMIT ?2";
static const char sql_advance[] =
    "UPDATE planner SET last_sale_id = ?1 WHERE id = 1";
static const char sql_refund_cursor[] =
    "SELECT last_refund_id FROM planner WHERE id = 1";
/* Whether the sale is refunded in full, now: column 2. */
static const char sql_new_refunds[] =
    "SELECT r.id, r.sale_id, NOT " STORE_SALE_COUNTS("s") " FROM refunds r"
    " JOIN sales s ON s.id = r.sale_id WHERE r.id > ?1 ORDER BY r.id LIMIT ?2";
static const char sql_refund_advance[] =
    "UPDATE planner SET last_refund_id = ?1 WHERE id = 1";
static const char sql_plan[] =
    "INSERT INTO messages (campaign, customer_id, sale_id, state, due_at,"
    " created_at, updated_at, expected_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)"
    " ON CONFLICT (sale_id, campaign) DO NOTHING";
static const char sql_no_consent[] =
    "SELECT " STORE_NO_CONSENT("customers") " FROM customers WHERE id = ?1";
static const char sql_had_campaign[] =
    "SELECT EXISTS (SELECT 1 FROM messages WHERE customer_id = ?1"
    " AND campaign = ?3)";
static const char sql_later_purchase[] =
    "SELECT EXISTS (SELECT 1 FROM sales WHERE customer_id = ?1 AND sold_at > ?2)";
static const char sql_cancel_earlier[] =
    "UPDATE messages SET state = 'cancelled', updated_at = ?4"
    " WHERE campaign = ?3 AND state IN " QUEUE_OPEN
    " AND sale_id IN (SELECT id FROM sales WHERE customer_id = ?1 AND sold_at < ?2)";
static const char sql_cancel_refunded[] =
    "UPDATE messages SET state = 'cancelled', updated_at = ?2"
    " WHERE sale_id = ?1 AND campaign = ?3 AND state IN " QUEUE_OPEN;

/*
 * Whom campaign c writes to about sale s: the buyer, or for
 * referral_converted the friend who referred them; 0 when the campaign
 * does not want a message for this sale (trigger, sku, min_amount).  The
 * sku filter takes a sale when any of its items matches.
 * Pure: enabled, and what the database knows, are the caller's.
 */
int64_t
planner_recipient(const struct campaign *c, const struct sale *s)
{
	__int128	amount, minimum;
	int		decimals = money_decimals(s->currency), matched;

	switch (c->on) {
	case TRIGGER_SALE:
		break;
	case TRIGGER_FIRST_SALE:
		if (s->is_repeat)
			return 0;
		break;
	case TRIGGER_REPEAT_SALE:
		if (!s->is_repeat)
			return 0;
		break;
	case TRIGGER_REFERRAL_CONVERTED:
		if (s->referrer == 0)
			return 0;
		break;
	case TRIGGER_REORDER:
		break;
	}
	matched = c->sku.n == 0;
	for (size_t i = 0; i < c->sku.n && !matched; i++)
		for (size_t j = 0; j < s->nitems && !matched; j++)
			matched = fnmatch(c->sku.v[i], s->items[j].sku, 0) == 0;
	if (!matched)
		return 0;
	/* min_amount is in thousandths, the sale in its currency's units. */
	amount = (__int128)s->amount * 1000;
	minimum = (__int128)c->min_amount;
	for (int i = 0; i < decimals; i++)
		minimum *= 10;
	if (amount < minimum)
		return 0;
	return c->on == TRIGGER_REFERRAL_CONVERTED ? s->referrer : s->customer;
}

/*
 * When a message of campaign c about a sale made at sold_at is due: after
 * the sale, or for reorder before `expected`, the buyer's expected next
 * order; then in the campaign's send window.  Pure.
 */
int64_t
planner_due(const struct campaign *c, int64_t sold_at, int64_t expected)
{
	int64_t due = c->on == TRIGGER_REORDER ? expected - c->before :
	    sold_at + c->after;

	return window_next(&c->send_window, due);
}

/*
 * The state a message of campaign c starts in, or -1 for no message.  A
 * sale refunded in full gets none, unless the campaign keeps its messages
 * through a refund (on_refund = "keep"): then it is planned as any.  A
 * first_sale campaign writes to a customer once: when an older sale
 * arrives after the one first taken for the first, the message already
 * planned stands.  A message to a customer who unsubscribed or bounced is
 * planned suppressed: the sale counts, the mail does not go.  With
 * stop_on = repeat_purchase, a sale that arrives after a later one of the
 * same buyer is planned cancelled; suppressed says more, and wins.
 */
int
planner_state(const struct campaign *c, const struct planner_history *h)
{
	if (h->refunded && c->on_refund != ON_REFUND_KEEP)
		return -1;
	if (c->on == TRIGGER_FIRST_SALE && h->had_campaign)
		return -1;
	if (h->no_consent)
		return QUEUE_STATE_SUPPRESSED;
	if ((c->stop_on & STOP_ON_REPEAT_PURCHASE) && h->bought_later)
		return QUEUE_STATE_CANCELLED;
	return QUEUE_STATE_SCHEDULED;
}

/*
 * Read what planner_state needs for a message of c to `to` about s, no
 * more: nothing for a sale refunded in full that c does not keep, nothing
 * past a first_sale campaign's earlier message.  *later caches
 * bought_later across campaigns (-1: not read yet).  DB_OK or DB_*.
 */
static int
planner_history(struct db *db, const struct campaign *c, const struct sale *s,
    int refunded, int64_t to, int64_t *later, struct planner_history *h)
{
	int64_t	v = 0;
	int	rc;

	memset(h, 0, sizeof(*h));
	if ((h->refunded = refunded) && c->on_refund != ON_REFUND_KEEP)
		return DB_OK;
	if (c->on == TRIGGER_FIRST_SALE) {
		if ((rc = db_run(db, sql_had_campaign, to, 0, c->name, &v)) < 0)
			return rc;
		if ((h->had_campaign = v != 0))
			return DB_OK;
	}
	v = 0;
	if ((rc = db_run(db, sql_no_consent, to, 0, NULL, &v)) < 0)
		return rc;
	h->no_consent = v != 0;
	if (c->stop_on & STOP_ON_REPEAT_PURCHASE) {
		if (*later < 0 && (rc = db_run(db, sql_later_purchase,
		    s->customer, s->sold_at, NULL, later)) < 0)
			return rc;
		h->bought_later = *later > 0;
	}
	return DB_OK;
}

/*
 * stop_on = repeat_purchase: sale s cancels what still waits of campaign c
 * about the buyer's earlier sales.  DB_OK or DB_*.
 */
static int
planner_cancel_earlier(struct db *db, const struct campaign *c,
    const struct sale *s, int64_t now)
{
	sqlite3_stmt	*st = db_prepare(db, sql_cancel_earlier);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, s->customer);
	sqlite3_bind_int64(st, 2, s->sold_at);
	sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	rc = db_step(db, st);
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * Plan one sale (`refunded` in full, or not) for every enabled campaign.
 * stop_on = repeat_purchase follows purchase time, not arrival: the new
 * sale cancels what is still to be sent about the buyer's earlier sales
 * (planner_state says how the new one starts).
 */
static int
planner_sale(struct db *db, const struct config *cfg, const struct sale *s,
    int refunded, int64_t now, int *planned)
{
	int64_t	later = -1, expected = 0;
	int	predicted = -1, rc;

	for (size_t i = 0; i < cfg->ncampaigns; i++) {
		const struct campaign	*c = &cfg->campaigns[i];
		struct planner_history	 h;
		int64_t			 to;
		int			 state;
		sqlite3_stmt		*st;

		if (!c->enabled || (to = planner_recipient(c, s)) == 0)
			continue;
		if ((rc = planner_history(db, c, s, refunded, to, &later,
		    &h)) != DB_OK)
			return rc;
		if ((state = planner_state(c, &h)) < 0)
			continue;
		if ((c->stop_on & STOP_ON_REPEAT_PURCHASE) &&
		    (rc = planner_cancel_earlier(db, c, s, now)) != DB_OK)
			return rc;
		/* A reorder campaign writes only when the next order is foreseen. */
		if (c->on == TRIGGER_REORDER && predicted < 0 &&
		    (predicted = reorder_expect(db, s->customer, s->id,
		    s->sold_at, &expected)) < 0)
			return predicted;
		if (c->on == TRIGGER_REORDER && predicted == 0)
			continue;
		if ((st = db_prepare(db, sql_plan)) == NULL)
			return DB_ERROR;
		sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, to);
		sqlite3_bind_int64(st, 3, s->id);
		sqlite3_bind_text(st, 4, queue_states[state], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, planner_due(c, s->sold_at, expected));
		sqlite3_bind_int64(st, 6, now);
		if (c->on == TRIGGER_REORDER)
			sqlite3_bind_int64(st, 7, expected);
		else
			sqlite3_bind_null(st, 7);
		if ((rc = db_step(db, st)) != SQLITE_DONE)
			return rc;
		*planned += sqlite3_changes(db->sqlite);
	}
	return DB_OK;
}

/*
 * Plan the next PLANNER_BATCH sales not yet planned and move the cursor
 * past them; *n counts them.
 */
static int
planner_sales(struct db *db, const struct config *cfg, int64_t now,
    int *planned, int *n)
{
	sqlite3_stmt	*st;
	int64_t		 cursor = 0, last;
	int		 rc;

	if ((rc = db_run(db, sql_cursor, 0, 0, NULL, &cursor)) < 0)
		return rc;
	if ((st = db_prepare(db, sql_new_sales)) == NULL)
		return DB_ERROR;
	last = cursor;
	sqlite3_bind_int64(st, 1, cursor);
	sqlite3_bind_int(st, 2, PLANNER_BATCH);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		struct sale s;

		if ((rc = store_sale_row(db, st, 1, &s)) != DB_OK ||
		    (rc = planner_sale(db, cfg, &s, sqlite3_column_int(st, 0),
		    now, planned)) != DB_OK)
			return rc;
		last = s.id;
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		return rc;
	if (*n > 0 && (rc = db_run(db, sql_advance, last, 0, NULL, NULL)) < 0)
		return rc;
	return DB_OK;
}

/*
 * Take the next PLANNER_BATCH refunds and move their cursor past them; *n
 * counts them.  A sale that is refunded in full now has what still waits
 * about it cancelled (whoever it was to: the buyer, or the friend who
 * referred them), but for the campaigns that keep their messages through
 * a refund; *cancelled counts the messages.  A partial refund changes no
 * message.  A sale the planner has not reached yet needs nothing here:
 * planner_state plans it refunded.
 */
static int
planner_refunds(struct db *db, const struct config *cfg, int64_t now,
    int *cancelled, int *n)
{
	sqlite3_stmt	*st;
	int64_t		 cursor = 0, last, sale;
	int		 rc;

	if ((rc = db_run(db, sql_refund_cursor, 0, 0, NULL, &cursor)) < 0)
		return rc;
	if ((st = db_prepare(db, sql_new_refunds)) == NULL)
		return DB_ERROR;
	last = cursor;
	sqlite3_bind_int64(st, 1, cursor);
	sqlite3_bind_int(st, 2, PLANNER_BATCH);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		sale = sqlite3_column_int64(st, 1);
		(*n)++;
		if (!sqlite3_column_int(st, 2))
			continue;
		for (size_t i = 0; i < cfg->ncampaigns; i++) {
			if (cfg->campaigns[i].on_refund == ON_REFUND_KEEP)
				continue;
			if ((rc = db_write(db, sql_cancel_refunded, sale, now,
			    cfg->campaigns[i].name)) != DB_OK)
				return rc;
			*cancelled += sqlite3_changes(db->sqlite);
		}
	}
	if (rc != SQLITE_DONE)
		return rc;
	if (*n > 0 && (rc = db_run(db, sql_refund_advance, last, 0, NULL,
	    NULL)) < 0)
		return rc;
	return DB_OK;
}

/*
 * Plan the next batch of new sales and take the next batch of new
 * refunds, in one transaction.  *planned and *cancelled count messages;
 * *more says whether sales or refunds remain, so the caller can come back
 * after letting the loop run.  DB_OK or DB_*.
 */
int
planner_run(struct db *db, const struct config *cfg, int64_t now, int *planned,
    int *cancelled, int *more)
{
	int	sales = 0, refunds = 0, rc;

	*planned = 0;
	*cancelled = 0;
	*more = 0;
	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	if ((rc = planner_sales(db, cfg, now, planned, &sales)) == DB_OK)
		rc = planner_refunds(db, cfg, now, cancelled, &refunds);
	if ((rc = db_end(db, rc)) != DB_OK)
		return rc;
	*more = sales == PLANNER_BATCH || refunds == PLANNER_BATCH;
	return DB_OK;
}
