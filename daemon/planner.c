/*
 * The planner: new sales times campaigns become scheduled messages, a new
 * full refund cancels what waits about its sale, and referrals go through
 * their rules and their hold before their referrers are thanked.
 */

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
static const char sql_referred_friend[] =
    "SELECT EXISTS (SELECT 1 FROM referrals WHERE referrer_id = ?1"
    " AND state IN ('pending', 'confirmed'))";
static const char sql_referrer_name[] =
    "SELECT name FROM customers WHERE id = ?1";
/* The referrer's referrals by sale time, up to this one, in 7 days. */
static const char sql_referrals_week[] =
    "SELECT count(*) FROM referrals r JOIN sales s ON s.id = r.sale_id"
    " WHERE r.referrer_id = ?1 AND s.sold_at > ?2 - 7 * 86400"
    " AND (s.sold_at < ?2 OR (s.sold_at = ?2 AND s.id <= ?3))";
static const char sql_review[] =
    "UPDATE referrals SET state = 'review', reason = ?3"
    " WHERE sale_id = ?1 AND state = 'pending'";
/*
 * A referral not confirmed yet whose sale was refunded in full, the
 * last refund within the hold (?2 seconds): voided.
 */
static const char sql_void[] =
    "UPDATE referrals SET state = 'voided', decided_at = ?1"
    " WHERE state IN ('pending', 'review') AND EXISTS (SELECT 1 FROM sales s"
    " WHERE s.id = referrals.sale_id AND NOT " STORE_SALE_COUNTS("s")
    " AND (SELECT max(refunded_at) FROM refunds f WHERE f.sale_id = s.id)"
    " < s.sold_at + ?2)";
/*
 * A pending referral whose sale has lived through the hold: confirmed,
 * at the hold's end.  Only once its sale is planned, which checked the
 * rules that may have sent it to review.
 */
static const char sql_confirm[] =
    "UPDATE referrals SET state = 'confirmed', decided_at ="
    " (SELECT sold_at FROM sales WHERE id = referrals.sale_id) + ?2"
    " WHERE state = 'pending'"
    " AND sale_id <= (SELECT last_sale_id FROM planner WHERE id = 1)"
    " AND (SELECT sold_at FROM sales WHERE id = referrals.sale_id) <= ?1 - ?2";
/* What the daemon still has to do about a referral (migration 0012). */
static const char sql_to_act[] =
    "SELECT referred_id FROM referrals"
    " WHERE ((state = 'pending' AND acted = 0)"
    " OR (state = 'confirmed' AND acted < 2))"
    " AND sale_id <= (SELECT last_sale_id FROM planner WHERE id = 1)"
    " ORDER BY referred_id LIMIT ?1";
static const char sql_referral[] =
    "SELECT r.referrer_id, r.sale_id, r.state = 'confirmed', r.decided_at,"
    " NOT " STORE_SALE_COUNTS("s")
    " FROM referrals r JOIN sales s ON s.id = r.sale_id"
    " WHERE r.referred_id = ?1";
static const char sql_cancel_referred[] =
    "UPDATE messages SET state = 'cancelled', updated_at = ?2"
    " WHERE customer_id = ?1 AND campaign = ?3 AND state IN " QUEUE_OPEN;
static const char sql_acted[] =
    "UPDATE referrals SET acted = ?2 WHERE referred_id = ?1";
static const char sql_hold_ends[] =
    "SELECT min(s.sold_at) FROM referrals r JOIN sales s ON s.id = r.sale_id"
    " WHERE r.state = 'pending'";

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
 * same buyer is planned cancelled; suppressed says more, and wins.  So
 * is one with stop_on = referred_friend to a customer a friend of whom
 * has bought with their code (a referral pending or confirmed).
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
	if ((c->stop_on & STOP_ON_REFERRED_FRIEND) && h->referred_friend)
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
	v = 0;
	if ((c->stop_on & STOP_ON_REFERRED_FRIEND) &&
	    (rc = db_run(db, sql_referred_friend, to, 0, NULL, &v)) < 0)
		return rc;
	h->referred_friend = v != 0;
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
 * Plan one sale (`refunded` in full, or not) for every enabled campaign;
 * or, when its referral was confirmed at `confirmed` (not 0), for the
 * referral_converted ones alone, due `after` the confirmation.  The sale
 * itself plans no referral_converted message: its referral is not
 * confirmed yet.  stop_on = repeat_purchase follows purchase time, not
 * arrival: the new sale cancels what is still to be sent about the
 * buyer's earlier sales (planner_state says how the new one starts).
 */
static int
planner_sale(struct db *db, const struct config *cfg, const struct sale *s,
    int refunded, int64_t confirmed, int64_t now, int *planned)
{
	int64_t	later = -1, expected = 0;
	int	predicted = -1, rc;

	for (size_t i = 0; i < cfg->ncampaigns; i++) {
		const struct campaign	*c = &cfg->campaigns[i];
		struct planner_history	 h;
		int64_t			 to;
		int			 state;
		sqlite3_stmt		*st;

		if (!c->enabled || (c->on == TRIGGER_REFERRAL_CONVERTED) !=
		    (confirmed != 0) || (to = planner_recipient(c, s)) == 0)
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
		sqlite3_bind_int64(st, 5, planner_due(c, confirmed != 0 ?
		    confirmed : s->sold_at, expected));
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

/* Letters compared without their case, and the spaces around ignored. */
static int
planner_same_name(const char *a, const char *b)
{
	size_t	la, lb;

	a += strspn(a, " \t");
	b += strspn(b, " \t");
	for (la = strlen(a); la > 0 && (a[la - 1] == ' ' || a[la - 1] == '\t');)
		la--;
	for (lb = strlen(b); lb > 0 && (b[lb - 1] == ' ' || b[lb - 1] == '\t');)
		lb--;
	return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

static void
planner_reason(char reasons[PLANNER_REASONS_LEN], const char *rule)
{
	size_t n = strlen(reasons);

	snprintf(reasons + n, PLANNER_REASONS_LEN - n, "%s%s", n > 0 ? "," : "",
	    rule);
}

/*
 * Whether a referral breaks referral.rules: the buyer (their address and
 * name) is named as the referrer, writes from a disposable domain, or is
 * one of more than max_per_week referrals of the referrer within 7 days
 * (this_week counts them, this one included).  1 with the rules' names,
 * comma-separated, in reasons; 0 with it empty.  Pure.
 */
int
planner_review(const struct referral_rules *rules, const char *buyer,
    const char *buyer_name, const char *referrer_name, int this_week,
    char reasons[PLANNER_REASONS_LEN])
{
	*reasons = '\0';
	if (rules->same_name && planner_same_name(buyer_name, referrer_name))
		planner_reason(reasons, "same_name");
	if (config_disposable(rules, buyer))
		planner_reason(reasons, "disposable_domains");
	if (rules->max_per_week > 0 && this_week > rules->max_per_week)
		planner_reason(reasons, "max_per_week");
	return *reasons != '\0';
}

/*
 * The rules, for the referral sale s carries: it goes to review when it
 * breaks one, and res counts it.  Checked once, when the sale is planned,
 * so that an approval is not undone.  DB_OK or DB_*.
 */
static int
planner_rules(struct db *db, const struct config *cfg, const struct sale *s,
    struct planner_result *res)
{
	const struct referral_rules	*rules = &cfg->referral.rules;
	char				 name[SALE_TEXT_LEN] = "";
	char				 reasons[PLANNER_REASONS_LEN];
	sqlite3_stmt			*st;
	int				 week = 0, rc;

	if (rules->same_name) {
		if ((st = db_prepare(db, sql_referrer_name)) == NULL)
			return DB_ERROR;
		sqlite3_bind_int64(st, 1, s->referrer);
		if ((rc = db_step(db, st)) == SQLITE_ROW)
			snprintf(name, sizeof(name), "%s",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return rc;
	}
	if (rules->max_per_week > 0) {
		if ((st = db_prepare(db, sql_referrals_week)) == NULL)
			return DB_ERROR;
		sqlite3_bind_int64(st, 1, s->referrer);
		sqlite3_bind_int64(st, 2, s->sold_at);
		sqlite3_bind_int64(st, 3, s->id);
		if ((rc = db_step(db, st)) != SQLITE_ROW)
			return rc;
		week = sqlite3_column_int(st, 0);
		sqlite3_reset(st);
	}
	if (!planner_review(rules, s->email, s->name, name, week, reasons))
		return DB_OK;
	if ((rc = db_write(db, sql_review, s->id, 0, reasons)) != DB_OK)
		return rc;
	res->reviewed += sqlite3_changes(db->sqlite);
	log_warnx("order \"%s\": its referral goes to review (%s); see "
	    "`aftersale referral list --state review`", s->order_id, reasons);
	return DB_OK;
}

/*
 * Plan the next PLANNER_BATCH sales not yet planned and move the cursor
 * past them; *n counts them.
 */
static int
planner_sales(struct db *db, const struct config *cfg, int64_t now,
    struct planner_result *res, int *n)
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
		    (s.referrer != 0 && (rc = planner_rules(db, cfg, &s,
		    res)) != DB_OK) ||
		    (rc = planner_sale(db, cfg, &s, sqlite3_column_int(st, 0),
		    0, now, &res->planned)) != DB_OK)
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
 * Do what a referral's state asks and was not done yet: the referrer's
 * waiting messages of stop_on = referred_friend campaigns are cancelled
 * once it is pending or confirmed (a friend bought), and once it is
 * confirmed the referral_converted campaigns are planned, due after the
 * confirmation.  DB_OK or DB_*.
 */
static int
planner_act(struct db *db, const struct config *cfg, int64_t referred,
    int64_t now, struct planner_result *res)
{
	struct sale	 s;
	sqlite3_stmt	*st;
	int64_t		 referrer, sale, decided;
	int		 confirmed, refunded, rc;

	if ((st = db_prepare(db, sql_referral)) == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, referred);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	referrer = sqlite3_column_int64(st, 0);
	sale = sqlite3_column_int64(st, 1);
	confirmed = sqlite3_column_int(st, 2);
	decided = sqlite3_column_int64(st, 3);
	refunded = sqlite3_column_int(st, 4);
	sqlite3_reset(st);

	for (size_t i = 0; i < cfg->ncampaigns; i++) {
		if (!(cfg->campaigns[i].stop_on & STOP_ON_REFERRED_FRIEND))
			continue;
		if ((rc = db_write(db, sql_cancel_referred, referrer, now,
		    cfg->campaigns[i].name)) != DB_OK)
			return rc;
		res->stopped += sqlite3_changes(db->sqlite);
	}
	if (confirmed) {
		if ((rc = store_read_sale(db, sale, &s)) != 1)
			return rc == 0 ? DB_ERROR : rc;
		if ((rc = planner_sale(db, cfg, &s, refunded, decided, now,
		    &res->planned)) != DB_OK)
			return rc;
	}
	return db_write(db, sql_acted, referred, confirmed ? 2 : 1, NULL);
}

/*
 * Referrals through their hold (referral.hold): voided when their sale
 * was refunded in full within it, confirmed once it is over; then what
 * their new states ask, PLANNER_BATCH referrals at a time; and when the
 * next hold ends.  *n counts the referrals acted on.
 */
static int
planner_referrals(struct db *db, const struct config *cfg, int64_t now,
    struct planner_result *res, int *n)
{
	int64_t		 hold = cfg->referral.hold, ids[PLANNER_BATCH], first = 0;
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = db_write(db, sql_void, now, hold, NULL)) != DB_OK)
		return rc;
	res->voided = sqlite3_changes(db->sqlite);
	if ((rc = db_write(db, sql_confirm, now, hold, NULL)) != DB_OK)
		return rc;
	res->confirmed = sqlite3_changes(db->sqlite);

	/* Read first, then act: acting updates the rows the query reads. */
	if ((st = db_prepare(db, sql_to_act)) == NULL)
		return DB_ERROR;
	sqlite3_bind_int(st, 1, PLANNER_BATCH);
	while ((rc = db_step(db, st)) == SQLITE_ROW)
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE)
		return rc;
	for (int i = 0; i < *n; i++)
		if ((rc = planner_act(db, cfg, ids[i], now, res)) != DB_OK)
			return rc;

	if ((rc = db_run(db, sql_hold_ends, 0, 0, NULL, &first)) < 0)
		return rc;
	res->hold_ends = first != 0 ? first + hold : 0;
	return DB_OK;
}

/*
 * Plan the next batch of new sales, take the next batch of new refunds,
 * and move referrals through their hold, in one transaction.  res says
 * what was done, whether sales, refunds or referrals remain (so that the
 * caller can come back after letting the loop run), and when the next
 * pending referral's hold ends.  DB_OK or DB_*.
 */
int
planner_run(struct db *db, const struct config *cfg, int64_t now,
    struct planner_result *res)
{
	int	sales = 0, refunds = 0, referrals = 0, rc;

	memset(res, 0, sizeof(*res));
	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	if ((rc = planner_sales(db, cfg, now, res, &sales)) == DB_OK &&
	    (rc = planner_refunds(db, cfg, now, &res->cancelled,
	    &refunds)) == DB_OK)
		rc = planner_referrals(db, cfg, now, res, &referrals);
	if ((rc = db_end(db, rc)) != DB_OK)
		return rc;
	res->more = sales == PLANNER_BATCH || refunds == PLANNER_BATCH ||
	    referrals == PLANNER_BATCH;
	return DB_OK;
}
