/* The numbers: sales, messages, campaigns, referrals and coupons, as JSON. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "queue.h"
#include "reorder.h"
#include "stats.h"
#include "store.h"
#include "timestamp.h"
#include "xmalloc.h"


/* A time as "2026-11-20T10:00:00Z", or null when it is `none`. */
json_t *
stats_time(int64_t t, int64_t none)
{
	char buf[TIMESTAMP_LEN];

	if (t == none)
		return json_null();
	timestamp_format(t, buf);
	return json_string(buf);
}

/* ?1 and ?2, the window's bounds, when the statement has them. */
static void
stats_bind_window(sqlite3_stmt *st, const struct stats_filter *f)
{
	if (sqlite3_bind_parameter_count(st) < 2)
		return;
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->until);
}

/* Rows of (currency, minor units) into { "EUR": "12.34", ... }. */
static int
stats_revenue(struct db *db, sqlite3_stmt *st, json_t *into)
{
	char	buf[MONEY_TEXT_LEN];
	int	rc;

	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		const char *currency = (const char *)sqlite3_column_text(st, 0);

		money_format(sqlite3_column_int64(st, 1), currency, buf);
		json_object_set_new(into, currency, json_string(buf));
	}
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * The statements that read every sale or message come in two spellings:
 * [STATS_WINDOW] with the window's bounds ?1 and ?2, and [STATS_WHOLE]
 * without, for all time (stats' default), where SQLite then has no
 * comparison to make per row: a third of their time on bench/stats.py's
 * 1,000,000 sales and 4,000,000 messages (2.4 s -> 1.6 s in all).
 */
enum { STATS_WINDOW, STATS_WHOLE };

static int
stats_whole(const struct stats_filter *f)
{
	return f->since == INT64_MIN && f->until == INT64_MAX ? STATS_WHOLE :
	    STATS_WINDOW;
}

/*
 * Orders and customers in the window, from the (customer, time) index.  A
 * sale refunded in full is no order, and makes no customer a repeat one:
 * the few such sales come from the index of refunded sales, so that the
 * sales themselves are still read from the first index alone.
 */
#define STATS_SQL_SALES(n, first) \
    "SELECT sum(n), count(*), sum(n > 1 OR first > origin) FROM (" \
    " SELECT " n " AS n, " first " AS first, min(sold_at) AS origin" \
    " FROM sales INDEXED BY sales_customer WHERE id NOT IN (" \
    "  SELECT id FROM sales INDEXED BY sales_refunded" \
    "  WHERE refunded > 0 AND NOT " STORE_SALE_COUNTS("sales") ")" \
    " GROUP BY customer_id) WHERE n > 0"
static const char *const sql_sales[] = {
	[STATS_WINDOW] = STATS_SQL_SALES(
	    "count(*) FILTER (WHERE sold_at >= ?1 AND sold_at < ?2)",
	    "min(sold_at) FILTER (WHERE sold_at >= ?1 AND sold_at < ?2)"),
	[STATS_WHOLE] = STATS_SQL_SALES("count(*)", "min(sold_at)"),
};
/* Revenue is net of refunds, here and everywhere. */
static const char *const sql_sales_revenue[] = {
	[STATS_WINDOW] = "SELECT currency, sum(amount - refunded) FROM sales"
	    " WHERE sold_at >= ?1 AND sold_at < ?2 AND "
	    STORE_SALE_COUNTS("sales") " GROUP BY currency ORDER BY currency",
	[STATS_WHOLE] = "SELECT currency, sum(amount - refunded) FROM sales"
	    " WHERE " STORE_SALE_COUNTS("sales")
	    " GROUP BY currency ORDER BY currency",
};
/* The window's refunded sales: any refund, and refunded in full. */
static const char sql_refunds[] =
    "SELECT currency, count(*), sum(NOT " STORE_SALE_COUNTS("sales") "),"
    " sum(refunded) FROM sales INDEXED BY sales_refunded"
    " WHERE refunded > 0 AND sold_at >= ?1 AND sold_at < ?2"
    " GROUP BY currency ORDER BY currency";

/*
 * Sales of the window with any refund, those refunded in full, and what
 * went back, per currency.  Refunds count with their sale's time, as the
 * revenue they take from.
 */
static int
stats_refunds(struct db *db, const struct stats_filter *f, json_t *sales)
{
	sqlite3_stmt	*st = db_prepare(db, sql_refunds);
	json_t		*amount;
	json_int_t	 orders = 0, full = 0;
	char		 buf[MONEY_TEXT_LEN];
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	stats_bind_window(st, f);
	amount = json_object();
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		const char *currency = (const char *)sqlite3_column_text(st, 0);

		orders += sqlite3_column_int64(st, 1);
		full += sqlite3_column_int64(st, 2);
		money_format(sqlite3_column_int64(st, 3), currency, buf);
		json_object_set_new(amount, currency, json_string(buf));
	}
	json_object_set_new(sales, "refunds", json_pack("{s:I, s:I, s:o}",
	    "orders", orders, "full", full, "amount", amount));
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * Within a time filter a repeat customer is one who made a repeat
 * purchase in it (two sales in it, or one after an earlier sale); without
 * one that is a customer with two or more orders.
 */
static int
stats_sales(struct db *db, const struct stats_filter *f, json_t *root)
{
	sqlite3_stmt	*st;
	json_t		*sales, *revenue;
	int64_t		 customers, repeaters;
	int		 rc;

	if ((st = db_prepare(db, sql_sales[stats_whole(f)])) == NULL)
		return DB_ERROR;
	stats_bind_window(st, f);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	customers = sqlite3_column_int64(st, 1);
	repeaters = sqlite3_column_int64(st, 2);
	sales = json_pack("{s:I, s:I, s:I, s:f}",
	    "orders", (json_int_t)sqlite3_column_int64(st, 0),
	    "customers", (json_int_t)customers,
	    "repeat_customers", (json_int_t)repeaters,
	    "repeat_rate", customers ? round(10000.0 * (double)repeaters /
	    (double)customers) / 10000.0 : 0.0);
	sqlite3_reset(st);
	json_object_set_new(root, "sales", sales);

	if ((st = db_prepare(db, sql_sales_revenue[stats_whole(f)])) == NULL)
		return DB_ERROR;
	stats_bind_window(st, f);
	revenue = json_object();
	json_object_set_new(sales, "revenue", revenue);
	if ((rc = stats_revenue(db, st, revenue)) != DB_OK)
		return rc;
	return stats_refunds(db, f, sales);
}

static json_t *
stats_state_counts(void)
{
	json_t *o = json_object();

	for (int i = 0; i < QUEUE_NSTATES; i++)
		json_object_set_new(o, queue_states[i], json_integer(0));
	return o;
}

static const char *const sql_messages[] = {
	[STATS_WINDOW] = "SELECT campaign, state, count(*) FROM messages"
	    " WHERE due_at >= ?1 AND due_at < ?2 GROUP BY campaign, state",
	[STATS_WHOLE] = "SELECT campaign, state, n FROM message_counts"
	    " WHERE n > 0",
};

/*
 * Message counts by state, overall and per campaign.  Campaigns are the
 * configured ones in config order, then any that only the database still
 * knows (removed from the config, their messages kept).
 */
static int
stats_messages(struct db *db, const struct config *cfg,
    const struct stats_filter *f, json_t *root)
{
	json_t		*total = stats_state_counts(), *campaigns = json_array();
	json_t		*by_name = json_object();
	sqlite3_stmt	*st;
	int		 rc;

	json_object_set_new(root, "messages", total);
	json_object_set_new(root, "campaigns", campaigns);
	for (size_t i = 0; i < cfg->ncampaigns; i++) {
		const char *name = cfg->campaigns[i].name;

		if (f->campaign == NULL || strcmp(f->campaign, name) == 0)
			json_object_set_new(by_name, name, stats_state_counts());
	}
	if ((st = db_prepare(db, sql_messages[stats_whole(f)])) == NULL) {
		json_decref(by_name);
		return DB_ERROR;
	}
	stats_bind_window(st, f);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		const char	*name = (const char *)sqlite3_column_text(st, 0);
		const char	*state = (const char *)sqlite3_column_text(st, 1);
		json_int_t	 n = sqlite3_column_int64(st, 2);
		json_t		*c;

		if (f->campaign != NULL && strcmp(f->campaign, name) != 0)
			continue;
		json_object_set_new(total, state, json_integer(
		    json_integer_value(json_object_get(total, state)) + n));
		if ((c = json_object_get(by_name, name)) == NULL) {
			c = stats_state_counts();
			json_object_set_new(by_name, name, c);
		}
		json_object_set_new(c, state, json_integer(n));
	}
	if (rc == SQLITE_DONE) {
		const char	*name;
		json_t		*c;

		json_object_foreach(by_name, name, c) {
			json_t *entry = json_pack("{s:s}", "name", name);

			for (int i = 0; i < QUEUE_NSTATES; i++)
				if (i != QUEUE_STATE_SENDING)
					json_object_set(entry, queue_states[i],
					    json_object_get(c, queue_states[i]));
			json_object_set_new(entry, "conversions", json_integer(0));
			json_object_set_new(entry, "revenue", json_object());
			json_array_append_new(campaigns, entry);
		}
		rc = DB_OK;
	}
	json_decref(by_name);
	return rc;
}

/*
 * Last touch: a sale converts for the campaign of the latest message sent
 * to its buyer before it (recorded with the sale: migration 0004), when
 * that message went within attribution.window.
 */
static const char *const sql_conversions[] = {
	[STATS_WINDOW] = "SELECT touch_campaign, currency, count(*),"
	    " sum(amount - refunded) FROM sales"
	    " WHERE sold_at >= ?1 AND sold_at < ?2 AND " STATS_CONVERTED("?3")
	    " GROUP BY touch_campaign, currency"
	    " ORDER BY touch_campaign, currency",
	[STATS_WHOLE] = "SELECT touch_campaign, currency, count(*),"
	    " sum(amount - refunded) FROM sales"
	    " WHERE " STATS_CONVERTED("?3")
	    " GROUP BY touch_campaign, currency"
	    " ORDER BY touch_campaign, currency",
};

static json_t *
stats_campaign_entry(json_t *campaigns, const char *name)
{
	size_t	 i;
	json_t	*c;

	json_array_foreach(campaigns, i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return c;
	return NULL;
}

/* Conversions and their revenue, per campaign and currency. */
static int
stats_conversions(struct db *db, const struct config *cfg,
    const struct stats_filter *f, json_t *root)
{
	json_t		*campaigns = json_object_get(root, "campaigns");
	sqlite3_stmt	*st = db_prepare(db, sql_conversions[stats_whole(f)]);
	char		 buf[MONEY_TEXT_LEN];
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	stats_bind_window(st, f);
	sqlite3_bind_int64(st, 3, cfg->attribution.window);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		const char	*currency = (const char *)sqlite3_column_text(st, 1);
		json_t		*c = stats_campaign_entry(campaigns,
				    (const char *)sqlite3_column_text(st, 0));

		if (c == NULL)		/* filtered out by --campaign */
			continue;
		json_object_set_new(c, "conversions", json_integer(
		    json_integer_value(json_object_get(c, "conversions")) +
		    sqlite3_column_int64(st, 2)));
		money_format(sqlite3_column_int64(st, 3), currency, buf);
		json_object_set_new(json_object_get(c, "revenue"), currency,
		    json_string(buf));
	}
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * Referred customers' orders: those that count, net of refunds, of
 * referrals not voided.  A pending referral's, or one in review, count:
 * the friend bought, though the referrer's reward may wait.  CROSS JOIN
 * keeps SQLite's planner from its own choice, a scan of every sale with a
 * lookup of its buyer among the referred: the referred customers' sales,
 * found by their index (sales_customer), are a small part of all (1 in
 * 20 customers in bench/stats.py: 0.45 s -> 0.16 s a query).
 */
#define STATS_REFERRED_SALES_JOIN \
    " CROSS JOIN sales s ON s.customer_id = r.referred_id"
#define STATS_REFERRED_SALES_WHERE \
    " WHERE s.sold_at >= ?1 AND s.sold_at < ?2 AND " STORE_SALE_COUNTS("s") \
    " AND r.state != 'voided'"
#define STATS_REFERRED_SALES \
    STATS_REFERRED_SALES_JOIN STATS_REFERRED_SALES_WHERE
/*
 * For each reorder campaign, how far its predictions were from the next
 * orders that came in the window: "predictions_checked" and the median
 * absolute error in days, "prediction_error_days" (null until an order
 * came).
 */
static int
stats_reorder(struct db *db, const struct config *cfg,
    const struct stats_filter *f, json_t *root)
{
	json_t	*campaigns = json_object_get(root, "campaigns"), *c;
	int64_t	 median, count;
	int	 rc;

	for (size_t i = 0; i < cfg->ncampaigns; i++) {
		if (cfg->campaigns[i].on != TRIGGER_REORDER || (c =
		    stats_campaign_entry(campaigns, cfg->campaigns[i].name)) ==
		    NULL)
			continue;
		if ((rc = reorder_errors(db, cfg->campaigns[i].name, f->since,
		    f->until, &median, &count)) != DB_OK)
			return rc;
		json_object_set_new(c, "predictions_checked",
		    json_integer(count));
		json_object_set_new(c, "prediction_error_days", count > 0 ?
		    json_real(round(median / 8640.0) / 10) : json_null());
	}
	return DB_OK;
}

/*
 * The referred customers' orders in one pass: referrals in referred_id
 * order, each one's sales by their index.  Counting, summing and ranking
 * the referrers happen here rather than in three statements that each
 * made the pass again (0.5 s -> 0.2 s on bench/stats.py's 18,000
 * referred customers).
 */
static const char sql_referred_sales[] =
    "SELECT r.referred_id, r.referrer_id, s.currency, count(*),"
    " sum(s.amount - s.refunded) FROM referrals r" STATS_REFERRED_SALES
    " GROUP BY r.referred_id, s.currency";
static const char sql_referrer[] =
    "SELECT email, referral_code FROM customers WHERE id = ?1";
/* Referrals by state, of the first sales made in the window. */
static const char sql_referral_states[] =
    "SELECT sum(r.state = 'pending'), sum(r.state = 'review'),"
    " sum(r.state = 'confirmed'), sum(r.state = 'voided')"
    " FROM referrals r JOIN sales s ON s.id = r.sale_id"
    " WHERE s.sold_at >= ?1 AND s.sold_at < ?2";
static const char sql_referrer_revenue[] =
    "SELECT s.currency, sum(s.amount - s.refunded) FROM referrals r"
    STATS_REFERRED_SALES " AND r.referrer_id = ?3"
    " GROUP BY s.currency ORDER BY s.currency";

static const char *const stats_referral_states[] = {
	"pending", "review", "confirmed", "voided"
};

#define STATS_TOP_REFERRERS	10

/* A currency's total, in minor units. */
struct stats_sum {
	char	currency[4];
	int64_t	amount;
};

/* A referrer and how many of the customers they referred bought. */
struct stats_referrer {
	int64_t	id;
	int64_t	referred;
};

static int
stats_cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
stats_cmp_sum(const void *a, const void *b)
{
	return strcmp(((const struct stats_sum *)a)->currency,
	    ((const struct stats_sum *)b)->currency);
}

/* The most referred first; ties by id, as ORDER BY 4 DESC, c.id did. */
static int
stats_cmp_referrer(const void *a, const void *b)
{
	const struct stats_referrer *x = a, *y = b;

	if (x->referred != y->referred)
		return x->referred < y->referred ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Add amount to currency's total among sums[0 .. *n). */
static void
stats_add(struct stats_sum **sums, size_t *n, const char *currency,
    int64_t amount)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*sums)[i].currency, currency) == 0)
			break;
	if (i == *n) {
		*sums = xreallocarray(*sums, *n + 1, sizeof(**sums));
		snprintf((*sums)[i].currency, sizeof((*sums)[i].currency),
		    "%s", currency);
		(*sums)[i].amount = 0;
		(*n)++;
	}
	(*sums)[i].amount += amount;
}

/*
 * The referrers of referred[0 .. n) (one entry per referred customer who
 * bought), ranked: the first STATS_TOP_REFERRERS into top, *ntop set.
 * Sorts referred.
 */
static void
stats_rank(int64_t *referred, size_t n, struct stats_referrer *top,
    size_t *ntop)
{
	struct stats_referrer	*all = xreallocarray(NULL, n ? n : 1,
				    sizeof(*all));
	size_t			 nall = 0;

	if (n == 0) {
		*ntop = 0;
		free(all);
		return;
	}
	qsort(referred, n, sizeof(*referred), stats_cmp_id);
	for (size_t i = 0; i < n; i++) {
		if (nall == 0 || all[nall - 1].id != referred[i]) {
			all[nall].id = referred[i];
			all[nall++].referred = 0;
		}
		all[nall - 1].referred++;
	}
	qsort(all, nall, sizeof(*all), stats_cmp_referrer);
	*ntop = nall < STATS_TOP_REFERRERS ? nall : STATS_TOP_REFERRERS;
	memcpy(top, all, *ntop * sizeof(*top));
	free(all);
}

/* One top referrer's entry: address, code, and their referred's revenue. */
static int
stats_referrer_entry(struct db *db, const struct stats_filter *f,
    const struct stats_referrer *r, json_t *top)
{
	sqlite3_stmt	*st, *rev;
	json_t		*revenue;
	int		 rc;

	if ((st = db_prepare(db, sql_referrer)) == NULL ||
	    (rev = db_prepare(db, sql_referrer_revenue)) == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, r->id);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	revenue = json_object();
	json_array_append_new(top, json_pack("{s:s, s:s, s:I, s:o}",
	    "email", (const char *)sqlite3_column_text(st, 0),
	    "code", (const char *)sqlite3_column_text(st, 1),
	    "referred_customers", (json_int_t)r->referred,
	    "revenue", revenue));
	sqlite3_reset(st);
	stats_bind_window(rev, f);
	sqlite3_bind_int64(rev, 3, r->id);
	return stats_revenue(db, rev, revenue);
}

/* Referred customers' orders and revenue, and who brought the most. */
static int
stats_referrals(struct db *db, const struct stats_filter *f, json_t *root)
{
	struct stats_referrer	 top[STATS_TOP_REFERRERS];
	struct stats_sum	*sums = NULL;
	sqlite3_stmt		*st;
	json_t			*revenue = json_object(), *ranked = json_array();
	int64_t			*referrers = NULL, last = 0, orders = 0;
	size_t			 nreferred = 0, nsums = 0, ntop = 0;
	char			 buf[MONEY_TEXT_LEN];
	int			 rc;

	json_object_set_new(root, "top_referrers", ranked);
	json_object_set_new(root, "referrals", json_pack("{s:I, s:I, s:o}",
	    "referred_customers", (json_int_t)0, "referred_orders",
	    (json_int_t)0, "revenue", revenue));
	if ((st = db_prepare(db, sql_referral_states)) == NULL)
		return DB_ERROR;
	stats_bind_window(st, f);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	for (int i = 0; i < 4; i++)
		json_object_set_new(json_object_get(root, "referrals"),
		    stats_referral_states[i], json_integer(
		    sqlite3_column_int64(st, i)));
	sqlite3_reset(st);
	if ((st = db_prepare(db, sql_referred_sales)) == NULL)
		return DB_ERROR;
	stats_bind_window(st, f);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		int64_t referred = sqlite3_column_int64(st, 0);

		/* Rows come in referred_id order, ids from 1. */
		if (referred != last) {
			referrers = xreallocarray(referrers, nreferred + 1,
			    sizeof(*referrers));
			referrers[nreferred++] = sqlite3_column_int64(st, 1);
			last = referred;
		}
		orders += sqlite3_column_int64(st, 3);
		stats_add(&sums, &nsums, (const char *)sqlite3_column_text(st,
		    2), sqlite3_column_int64(st, 4));
	}
	if (rc != SQLITE_DONE)
		goto out;
	json_object_set_new(json_object_get(root, "referrals"),
	    "referred_customers", json_integer((json_int_t)nreferred));
	json_object_set_new(json_object_get(root, "referrals"),
	    "referred_orders", json_integer(orders));
	if (nsums > 0)
		qsort(sums, nsums, sizeof(*sums), stats_cmp_sum);
	for (size_t i = 0; i < nsums; i++) {
		money_format(sums[i].amount, sums[i].currency, buf);
		json_object_set_new(revenue, sums[i].currency, json_string(buf));
	}
	stats_rank(referrers, nreferred, top, &ntop);
	rc = DB_OK;
	for (size_t i = 0; i < ntop && rc == DB_OK; i++)
		rc = stats_referrer_entry(db, f, &top[i], ranked);
out:
	free(referrers);
	free(sums);
	return rc;
}

/*
 * Each pool's codes issued in the window (to the campaign's messages,
 * with --campaign) and those of them redeemed by a sale in the window.
 */
static const char sql_coupons[] =
    "SELECT k.pool, count(*) FILTER (WHERE k.issued_at >= ?1"
    "   AND k.issued_at < ?2),"
    " count(*) FILTER (WHERE s.sold_at >= ?1 AND s.sold_at < ?2)"
    " FROM coupons k JOIN messages m ON m.id = k.message_id"
    " LEFT JOIN sales s ON s.id = k.sale_id"
    " WHERE ?3 IS NULL OR m.campaign = ?3"
    " GROUP BY k.pool ORDER BY k.pool";

static int
stats_coupons(struct db *db, const struct stats_filter *f, json_t *root)
{
	sqlite3_stmt	*st = db_prepare(db, sql_coupons);
	json_t		*coupons = json_array();
	int		 rc;

	json_object_set_new(root, "coupons", coupons);
	if (st == NULL)
		return DB_ERROR;
	stats_bind_window(st, f);
	if (f->campaign != NULL)
		sqlite3_bind_text(st, 3, f->campaign, -1, SQLITE_STATIC);
	while ((rc = db_step(db, st)) == SQLITE_ROW)
		json_array_append_new(coupons, json_pack("{s:s, s:I, s:I}",
		    "pool", (const char *)sqlite3_column_text(st, 0),
		    "issued", (json_int_t)sqlite3_column_int64(st, 1),
		    "redeemed", (json_int_t)sqlite3_column_int64(st, 2)));
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * Gather every number in DESIGN's shape.  The reads share one snapshot
 * (a read transaction), so the sections agree with each other.
 */
int
stats_collect(struct db *db, const struct config *cfg,
    const struct stats_filter *f, int64_t now, json_t **out)
{
	json_t	*root;
	int	 rc;

	root = json_pack("{s:o, s:o, s:o}",
	    "generated_at", stats_time(now, INT64_MIN),
	    "since", stats_time(f->since, INT64_MIN),
	    "until", stats_time(f->until, INT64_MAX));
	if (root == NULL)
		return DB_ERROR;
	if ((rc = db_begin_read(db)) != DB_OK) {
		json_decref(root);
		return rc;
	}
	if ((rc = stats_sales(db, f, root)) == DB_OK &&
	    (rc = stats_messages(db, cfg, f, root)) == DB_OK &&
	    (rc = stats_conversions(db, cfg, f, root)) == DB_OK &&
	    (rc = stats_reorder(db, cfg, f, root)) == DB_OK &&
	    (rc = stats_referrals(db, f, root)) == DB_OK)
		rc = stats_coupons(db, f, root);
	if ((rc = db_end(db, rc)) != DB_OK) {
		json_decref(root);
		return rc;
	}
	*out = root;
	return DB_OK;
}

static void
stats_print_revenue(const json_t *revenue, FILE *out)
{
	const char	*currency;
	json_t		*v;
	int		 first = 1;

	if (json_object_size(revenue) == 0)
		fputs("-", out);
	json_object_foreach((json_t *)revenue, currency, v) {
		fprintf(out, "%s%s %s", first ? "" : ", ", currency,
		    json_string_value(v));
		first = 0;
	}
}

static json_int_t
stats_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The same numbers as readable tables. */
void
stats_print(const json_t *stats, FILE *out)
{
	const json_t	*sales = json_object_get(stats, "sales");
	const json_t	*refunds = json_object_get(sales, "refunds");
	const json_t	*messages = json_object_get(stats, "messages");
	const json_t	*referrals = json_object_get(stats, "referrals");
	const json_t	*since = json_object_get(stats, "since");
	const json_t	*until = json_object_get(stats, "until");
	const json_t	*c;
	size_t		 i;

	fprintf(out, "Sales from %s until %s\n",
	    json_is_string(since) ? json_string_value(since) : "the start",
	    json_is_string(until) ? json_string_value(until) : "now");
	fprintf(out, "  orders            %10lld\n", (long long)stats_int(sales, "orders"));
	fprintf(out, "  customers         %10lld\n", (long long)stats_int(sales, "customers"));
	fprintf(out, "  repeat customers  %10lld  (%.2f%%)\n",
	    (long long)stats_int(sales, "repeat_customers"),
	    100.0 * json_real_value(json_object_get(sales, "repeat_rate")));
	fputs("  revenue           ", out);
	stats_print_revenue(json_object_get(sales, "revenue"), out);
	fprintf(out, "\n  refunded orders   %10lld  (%lld in full)  ",
	    (long long)stats_int(refunds, "orders"),
	    (long long)stats_int(refunds, "full"));
	stats_print_revenue(json_object_get(refunds, "amount"), out);

	fputs("\n\nMessages\n ", out);
	for (i = 0; i < QUEUE_NSTATES; i++)
		fprintf(out, " %s %lld", queue_states[i],
		    (long long)stats_int(messages, queue_states[i]));

	fprintf(out, "\n\nCampaigns\n  %-20s %9s %6s %8s %6s %9s %7s %10s %11s  %s\n",
	    "name", "scheduled", "sent", "deferred", "failed", "cancelled",
	    "expired", "suppressed", "conversions", "revenue");
	json_array_foreach(json_object_get(stats, "campaigns"), i, c) {
		fprintf(out, "  %-20s %9lld %6lld %8lld %6lld %9lld %7lld %10lld %11lld  ",
		    json_string_value(json_object_get(c, "name")),
		    (long long)stats_int(c, "scheduled"), (long long)stats_int(c, "sent"),
		    (long long)stats_int(c, "deferred"), (long long)stats_int(c, "failed"),
		    (long long)stats_int(c, "cancelled"), (long long)stats_int(c, "expired"),
		    (long long)stats_int(c, "suppressed"),
		    (long long)stats_int(c, "conversions"));
		stats_print_revenue(json_object_get(c, "revenue"), out);
		fputc('\n', out);
		if (json_is_real(json_object_get(c, "prediction_error_days")))
			fprintf(out, "  %-20s reorder predictions: %lld checked, "
			    "median error %.1f days\n", "",
			    (long long)stats_int(c, "predictions_checked"),
			    json_real_value(json_object_get(c,
			    "prediction_error_days")));
	}

	fprintf(out, "\nReferrals\n  referred customers %lld, their orders %lld, revenue ",
	    (long long)stats_int(referrals, "referred_customers"),
	    (long long)stats_int(referrals, "referred_orders"));
	stats_print_revenue(json_object_get(referrals, "revenue"), out);
	fprintf(out, "\n  referrals pending %lld, in review %lld, confirmed %lld, "
	    "voided %lld", (long long)stats_int(referrals, "pending"),
	    (long long)stats_int(referrals, "review"),
	    (long long)stats_int(referrals, "confirmed"),
	    (long long)stats_int(referrals, "voided"));
	fputs("\n\nTop referrers\n", out);
	if (json_array_size(json_object_get(stats, "top_referrers")) == 0)
		fputs("  none yet\n", out);
	json_array_foreach(json_object_get(stats, "top_referrers"), i, c) {
		fprintf(out, "  %-40s %-8s %5lld  ",
		    json_string_value(json_object_get(c, "email")),
		    json_string_value(json_object_get(c, "code")),
		    (long long)stats_int(c, "referred_customers"));
		stats_print_revenue(json_object_get(c, "revenue"), out);
		fputc('\n', out);
	}

	if (json_array_size(json_object_get(stats, "coupons")) == 0)
		return;
	fprintf(out, "\nCoupons\n  %-24s %8s %8s\n", "pool", "issued",
	    "redeemed");
	json_array_foreach(json_object_get(stats, "coupons"), i, c)
		fprintf(out, "  %-24s %8lld %8lld\n",
		    json_string_value(json_object_get(c, "pool")),
		    (long long)stats_int(c, "issued"),
		    (long long)stats_int(c, "redeemed"));
}
