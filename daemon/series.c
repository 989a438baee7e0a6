/*
 * Stats over time: orders, new customers, repeat orders, revenue, messages
 * sent and conversions per day, ISO week or month; and the monthly
 * cohorts' repeat purchases.  Periods are calendar periods in the
 * configured timezone (TZ, which cli_open() sets), so a shop in London
 * sees its weeks start at its own Monday midnight.
 */

#include <math.h>
#include <string.h>
#include <time.h>

#include "money.h"
#include "series.h"
#include "view.h"

#define DAY		86400
#define LABEL_LEN	sizeof("2026-11-30")

/*
 * A sale's revenue, in minor units, as an SQL expression on a row of
 * sales: net of its refunds (DESIGN: revenue everywhere is); every sum of
 * revenue in this file goes through it.  A sale refunded in full is no
 * order at all (STORE_SALE_COUNTS).
 */
#define SERIES_REVENUE	"amount - refunded"

static const char *const series_names[] = {
	[SERIES_DAY] = "day",
	[SERIES_WEEK] = "week",
	[SERIES_MONTH] = "month",
};

/* "day", "week" or "month": 0, or -1 for anything else. */
int
series_by_parse(const char *text, enum series_by *by)
{
	for (size_t i = 0; i < sizeof(series_names) / sizeof(series_names[0]); i++)
		if (strcmp(text, series_names[i]) == 0) {
			*by = (enum series_by)i;
			return 0;
		}
	return -1;
}

/*
 * A period is named by its first day, counted in days since 1970-01-01
 * of the calendar (not of UTC: the day a shop's clock shows).
 */
static int64_t
series_day(int year, int mon, int mday)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon, .tm_mday = mday };

	return (int64_t)timegm(&tm) / DAY;
}

static void
series_date(int64_t day, struct tm *tm)
{
	time_t t = (time_t)(day * DAY);

	gmtime_r(&t, tm);
}

/* The first day of the period that holds the instant t, local time. */
static int64_t
series_period(enum series_by by, int64_t t)
{
	time_t		tt = (time_t)t;
	struct tm	tm;
	int64_t		day;

	localtime_r(&tt, &tm);
	day = series_day(tm.tm_year + 1900, tm.tm_mon,
	    by == SERIES_MONTH ? 1 : tm.tm_mday);
	if (by == SERIES_WEEK)		/* back to Monday; day 0 was a Thursday */
		day -= ((day + 3) % 7 + 7) % 7;
	return day;
}

static int64_t
series_next(enum series_by by, int64_t day)
{
	struct tm tm;

	switch (by) {
	case SERIES_DAY:
		return day + 1;
	case SERIES_WEEK:
		return day + 7;
	case SERIES_MONTH:
		break;
	}
	series_date(day, &tm);
	return series_day(tm.tm_year + 1900, tm.tm_mon + 1, 1);
}

static void
series_label(enum series_by by, int64_t day, char buf[LABEL_LEN])
{
	struct tm tm;

	series_date(day, &tm);
	switch (by) {
	case SERIES_DAY:
		strftime(buf, LABEL_LEN, "%Y-%m-%d", &tm);
		break;
	case SERIES_WEEK:
		strftime(buf, LABEL_LEN, "%G-W%V", &tm);
		break;
	case SERIES_MONTH:
		strftime(buf, LABEL_LEN, "%Y-%m", &tm);
		break;
	}
}

/* Months since year 0: the distance between two months is a subtraction. */
static int64_t
series_month(int64_t day)
{
	struct tm tm;

	series_date(day, &tm);
	return (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
}

/*
 * SQL series_period(t, by), so that queries group by the same periods
 * as the rest of this file computes.  SQLite's own 'localtime' would not
 * do: past 2037 it borrows the DST rules of a year around 2000.
 */
static void
series_sql_period(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_int64(ctx, series_period(
	    (enum series_by)sqlite3_value_int(argv[1]),
	    sqlite3_value_int64(argv[0])));
}

static int
series_register(struct db *db)
{
	int rc = sqlite3_create_function(db->sqlite, "series_period", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
	    series_sql_period, NULL, NULL);

	return rc == SQLITE_OK ? DB_OK : db_fail(db, rc, "adding a function");
}

/* Periods from the data: the earliest and latest seen so far. */
struct series_span {
	int64_t	first;		/* INT64_MAX while none */
	int64_t	last;		/* INT64_MIN while none */
};

static void
series_seen(struct series_span *span, int64_t day)
{
	if (day < span->first)
		span->first = day;
	if (day > span->last)
		span->last = day;
}

/*
 * The periods to show: from the one holding --since, else the first with
 * data, to the one holding the last second before --until, else the last
 * with data; the empty ones between included, so a chart does not close
 * the gaps.  Returns how many (0: none), or -1 when more than `max`.
 */
static int
series_span_count(enum series_by by, const struct stats_filter *f,
    struct series_span *span, int max)
{
	int n = 0;

	if (f->since != INT64_MIN)
		span->first = series_period(by, f->since);
	if (f->until != INT64_MAX)
		span->last = series_period(by, f->until - 1);
	for (int64_t day = span->first; day <= span->last;
	    day = series_next(by, day))
		if (++n > max)
			return -1;
	return n;
}

static void
series_bind(sqlite3_stmt *st, const struct stats_filter *f, enum series_by by)
{
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->until);
	sqlite3_bind_int(st, 3, (int)by);
}

static void
series_add(json_t *o, const char *key, json_int_t n)
{
	json_object_set_new(o, key,
	    json_integer(json_integer_value(json_object_get(o, key)) + n));
}

/* The entry of the period starting on `day`, made empty if need be. */
static json_t *
series_entry(json_t *by_label, enum series_by by, int64_t day)
{
	char	 label[LABEL_LEN];
	json_t	*e;

	series_label(by, day, label);
	if ((e = json_object_get(by_label, label)) != NULL)
		return e;
	e = json_pack("{s:s, s:i, s:i, s:i, s:{}, s:i, s:i}", "period", label,
	    "orders", 0, "new_customers", 0, "repeat_orders", 0, "revenue",
	    "messages_sent", 0, "conversions", 0);
	json_object_set_new(by_label, label, e);
	return e;
}

/*
 * A customer is new in the period of their first purchase: the sale that
 * is not a repeat (store.c keeps that flag right when sales come out of
 * order).  Conversions follow --campaign; orders and revenue do not.
 */
static const char sql_series_sales[] =
    "SELECT series_period(sold_at, ?3), currency, count(*), sum(is_repeat),"
    " sum(" STATS_CONVERTED("?4") " AND (?5 IS NULL OR touch_campaign = ?5)),"
    " sum(" SERIES_REVENUE ")"
    " FROM sales WHERE sold_at >= ?1 AND sold_at < ?2"
    " AND " STORE_SALE_COUNTS("sales") " GROUP BY 1, 2 ORDER BY 1, 2";
static const char sql_series_sent[] =
    "SELECT series_period(sent_at, ?3), count(*) FROM messages"
    " WHERE state = 'sent' AND sent_at >= ?1 AND sent_at < ?2"
    " AND (?4 IS NULL OR campaign = ?4) GROUP BY 1";

static int
series_sales(struct db *db, const struct config *cfg,
    const struct stats_filter *f, enum series_by by, json_t *by_label,
    struct series_span *span)
{
	sqlite3_stmt	*st = db_prepare(db, sql_series_sales);
	char		 amount[MONEY_TEXT_LEN];
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	series_bind(st, f, by);
	sqlite3_bind_int64(st, 4, cfg->attribution.window);
	sqlite3_bind_text(st, 5, f->campaign, -1, SQLITE_STATIC);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		int64_t		 day = sqlite3_column_int64(st, 0);
		const char	*currency = view_text(st, 1);
		json_int_t	 orders = sqlite3_column_int64(st, 2);
		json_int_t	 repeats = sqlite3_column_int64(st, 3);
		json_t		*e = series_entry(by_label, by, day);

		series_seen(span, day);
		series_add(e, "orders", orders);
		series_add(e, "new_customers", orders - repeats);
		series_add(e, "repeat_orders", repeats);
		series_add(e, "conversions", sqlite3_column_int64(st, 4));
		money_format(sqlite3_column_int64(st, 5), currency, amount);
		json_object_set_new(json_object_get(e, "revenue"), currency,
		    json_string(amount));
	}
	return rc == SQLITE_DONE ? DB_OK : rc;
}

static int
series_sent(struct db *db, const struct stats_filter *f, enum series_by by,
    json_t *by_label, struct series_span *span)
{
	sqlite3_stmt	*st = db_prepare(db, sql_series_sent);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	series_bind(st, f, by);
	sqlite3_bind_text(st, 4, f->campaign, -1, SQLITE_STATIC);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		int64_t day = sqlite3_column_int64(st, 0);

		series_seen(span, day);
		series_add(series_entry(by_label, by, day), "messages_sent",
		    sqlite3_column_int64(st, 1));
	}
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * The series over f's window, in DESIGN's words: { "by", "since", "until",
 * "series": [ { "period", "orders", "new_customers", "repeat_orders",
 * "revenue", "messages_sent", "conversions" } ] } in *out, the caller's
 * to json_decref.  DB_OK, SERIES_TOO_LONG, or DB_*.
 */
int
series_collect(struct db *db, const struct config *cfg,
    const struct stats_filter *f, enum series_by by, json_t **out)
{
	struct series_span	 span = { INT64_MAX, INT64_MIN };
	json_t			*by_label = json_object(), *series;
	int			 rc;

	if ((rc = series_register(db)) != DB_OK ||
	    (rc = db_begin_read(db)) != DB_OK)
		goto out;
	rc = series_sales(db, cfg, f, by, by_label, &span);
	if (rc == DB_OK)
		rc = series_sent(db, f, by, by_label, &span);
	if ((rc = db_end(db, rc)) != DB_OK)
		goto out;
	if (series_span_count(by, f, &span, SERIES_MAX_PERIODS) == -1) {
		rc = SERIES_TOO_LONG;
		goto out;
	}
	series = json_array();
	for (int64_t day = span.first; day <= span.last; day = series_next(by, day))
		json_array_append(series, series_entry(by_label, by, day));
	*out = json_pack("{s:s, s:o, s:o, s:o}", "by", series_names[by],
	    "since", stats_time(f->since, INT64_MIN),
	    "until", stats_time(f->until, INT64_MAX), "series", series);
out:
	json_decref(by_label);
	return rc;
}

/*
 * Cohorts: the customers whose first purchase falls in a month of the
 * window.  A cohort's month k is the k-th after its own; a customer counts
 * there when they made a repeat purchase in it (before --until) that was
 * not refunded in full, as the series counts orders.  The months run to
 * the window's last, as in the series.
 */
static const char sql_cohort_span[] =
    "SELECT series_period(min(sold_at) FILTER (WHERE NOT is_repeat), ?3),"
    " series_period(max(sold_at), ?3)"
    " FROM sales WHERE sold_at >= ?1 AND sold_at < ?2";
static const char sql_cohort_sizes[] =
    "SELECT series_period(sold_at, ?3), count(*) FROM sales"
    " WHERE NOT is_repeat AND sold_at >= ?1 AND sold_at < ?2 GROUP BY 1";
static const char sql_cohort_repeats[] =
    "SELECT series_period(f.sold_at, ?3), series_period(s.sold_at, ?3),"
    " count(DISTINCT s.customer_id)"
    " FROM sales f JOIN sales s ON s.customer_id = f.customer_id"
    " WHERE NOT f.is_repeat AND f.sold_at >= ?1 AND f.sold_at < ?2"
    " AND s.is_repeat AND s.sold_at < ?2 AND " STORE_SALE_COUNTS("s")
    " GROUP BY 1, 2";

static int
series_cohort_span(struct db *db, const struct stats_filter *f,
    struct series_span *span)
{
	sqlite3_stmt	*st = db_prepare(db, sql_cohort_span);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	series_bind(st, f, SERIES_MONTH);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL)
		span->first = sqlite3_column_int64(st, 0);
	if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		span->last = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return DB_OK;
}

/* One cohort per month of the span, each with its months 0 to the last. */
static json_t *
series_cohort_matrix(const struct series_span *span)
{
	json_t	*cohorts = json_array();
	char	 label[LABEL_LEN];

	for (int64_t day = span->first; day <= span->last;
	    day = series_next(SERIES_MONTH, day)) {
		json_t *months = json_array();

		for (int64_t k = 0; k <= series_month(span->last) -
		    series_month(day); k++)
			json_array_append_new(months, json_pack("{s:I, s:i, s:f}",
			    "offset", (json_int_t)k, "customers", 0, "share", 0.0));
		series_label(SERIES_MONTH, day, label);
		json_array_append_new(cohorts, json_pack("{s:s, s:i, s:o}",
		    "cohort", label, "customers", 0, "months", months));
	}
	return cohorts;
}

/* The cohort of the month starting on `day`; span->first is cohort 0. */
static json_t *
series_cohort(json_t *cohorts, const struct series_span *span, int64_t day)
{
	return json_array_get(cohorts,
	    (size_t)(series_month(day) - series_month(span->first)));
}

static int
series_cohort_counts(struct db *db, const struct stats_filter *f,
    const struct series_span *span, json_t *cohorts)
{
	sqlite3_stmt	*st = db_prepare(db, sql_cohort_sizes);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	series_bind(st, f, SERIES_MONTH);
	while ((rc = db_step(db, st)) == SQLITE_ROW)
		json_object_set_new(series_cohort(cohorts, span,
		    sqlite3_column_int64(st, 0)), "customers",
		    json_integer(sqlite3_column_int64(st, 1)));
	if (rc != SQLITE_DONE)
		return rc;

	if ((st = db_prepare(db, sql_cohort_repeats)) == NULL)
		return DB_ERROR;
	series_bind(st, f, SERIES_MONTH);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		int64_t	 first = sqlite3_column_int64(st, 0);
		int64_t	 again = sqlite3_column_int64(st, 1);
		json_t	*c = series_cohort(cohorts, span, first);
		json_t	*m = json_array_get(json_object_get(c, "months"),
			    (size_t)(series_month(again) - series_month(first)));
		double	 size = (double)json_integer_value(
			    json_object_get(c, "customers"));
		json_int_t n = sqlite3_column_int64(st, 2);

		json_object_set_new(m, "customers", json_integer(n));
		json_object_set_new(m, "share",
		    json_real(round(10000.0 * (double)n / size) / 10000.0));
	}
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * The monthly cohorts of f's window: { "since", "until", "cohorts": [ {
 * "cohort": "2026-09", "customers": N, "months": [ { "offset": 0,
 * "customers": N, "share": 0.25 }, ... ] } ] } in *out, the caller's to
 * json_decref.  DB_OK, SERIES_TOO_LONG, or DB_*.
 */
int
series_cohorts(struct db *db, const struct stats_filter *f, json_t **out)
{
	struct series_span	 span = { INT64_MAX, INT64_MIN };
	json_t			*cohorts = NULL;
	int			 rc;

	if ((rc = series_register(db)) != DB_OK ||
	    (rc = db_begin_read(db)) != DB_OK)
		return rc;
	rc = series_cohort_span(db, f, &span);
	if (rc == DB_OK && series_span_count(SERIES_MONTH, f, &span,
	    SERIES_MAX_COHORTS) == -1)
		rc = SERIES_TOO_LONG;
	if (rc == DB_OK) {
		cohorts = series_cohort_matrix(&span);
		rc = series_cohort_counts(db, f, &span, cohorts);
	}
	if ((rc = db_end(db, rc)) != DB_OK) {
		json_decref(cohorts);
		return rc;
	}
	*out = json_pack("{s:o, s:o, s:o}",
	    "since", stats_time(f->since, INT64_MIN),
	    "until", stats_time(f->until, INT64_MAX), "cohorts", cohorts);
	return DB_OK;
}

/* { "EUR": "12.34", "GBP": "3.00" } as "EUR 12.34, GBP 3.00"; "-" if none. */
void
series_revenue_text(const json_t *revenue, struct buf *b)
{
	const char	*currency, *sep = "";
	json_t		*v;

	if (json_object_size(revenue) == 0)
		buf_addc(b, '-');
	json_object_foreach((json_t *)revenue, currency, v) {
		buf_printf(b, "%s%s %s", sep, currency, json_string_value(v));
		sep = ", ";
	}
}

static json_int_t
series_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void
series_print_window(const char *what, const json_t *o, FILE *out)
{
	const json_t *since = json_object_get(o, "since");
	const json_t *until = json_object_get(o, "until");

	fprintf(out, "%s, from %s until %s\n", what,
	    json_is_string(since) ? json_string_value(since) : "the start",
	    json_is_string(until) ? json_string_value(until) : "now");
}

#define BAR_WIDTH	20

/* n of max as a bar of BAR_WIDTH columns, in eighths of a column. */
static void
series_bar(json_int_t n, json_int_t max, FILE *out)
{
	static const char *const eighths[] = {
		"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a",
		"\u2589"
	};
	json_int_t	units = max ? (n * BAR_WIDTH * 8 + max / 2) / max : 0;
	int		cols = 0;

	if (n > 0 && units == 0)
		units = 1;	/* what happened shows, however small */
	for (; units >= 8; units -= 8, cols++)
		fputs("\u2588", out);
	if (units > 0) {
		fputs(eighths[units], out);
		cols++;
	}
	fprintf(out, "%*s", BAR_WIDTH - cols, "");
}

/* The series as a table, with a bar of the orders. */
void
series_print(const json_t *series, FILE *out)
{
	const json_t	*rows = json_object_get(series, "series");
	const json_t	*e;
	json_int_t	 max = 0;
	struct buf	 revenue = { NULL, 0, 0 };
	char		 what[32];
	size_t		 i;

	snprintf(what, sizeof(what), "Sales by %s",
	    json_string_value(json_object_get(series, "by")));
	series_print_window(what, series, out);
	json_array_foreach(rows, i, e)
		if (series_int(e, "orders") > max)
			max = series_int(e, "orders");
	fprintf(out, "  %-10s %6s %6s %6s %6s %11s  %-*s  %s\n", "period",
	    "orders", "new", "repeat", "sent", "conversions", BAR_WIDTH, "",
	    "revenue");
	json_array_foreach(rows, i, e) {
		fprintf(out, "  %-10s %6lld %6lld %6lld %6lld %11lld  ",
		    json_string_value(json_object_get(e, "period")),
		    (long long)series_int(e, "orders"),
		    (long long)series_int(e, "new_customers"),
		    (long long)series_int(e, "repeat_orders"),
		    (long long)series_int(e, "messages_sent"),
		    (long long)series_int(e, "conversions"));
		series_bar(series_int(e, "orders"), max, out);
		revenue.len = 0;
		series_revenue_text(json_object_get(e, "revenue"), &revenue);
		fprintf(out, "  %s\n", revenue.data);
	}
	if (json_array_size(rows) == 0)
		fputs("  no sales yet\n", out);
	buf_free(&revenue);
}

/* The cohorts as a triangle: count and share of each month after the first. */
void
series_print_cohorts(const json_t *cohorts, FILE *out)
{
	const json_t	*rows = json_object_get(cohorts, "cohorts");
	const json_t	*c, *m;
	size_t		 i, k;
	char		 head[24];

	series_print_window("Repeat purchases by month of first purchase",
	    cohorts, out);
	if (json_array_size(rows) == 0) {
		fputs("  no sales yet\n", out);
		return;
	}
	fprintf(out, "  %-7s %9s", "cohort", "customers");
	json_array_foreach(json_object_get(json_array_get(rows, 0), "months"),
	    k, m) {
		snprintf(head, sizeof(head), "+%zu", k);
		fprintf(out, " %12s", head);
	}
	fputc('\n', out);
	json_array_foreach(rows, i, c) {
		fprintf(out, "  %-7s %9lld",
		    json_string_value(json_object_get(c, "cohort")),
		    (long long)series_int(c, "customers"));
		json_array_foreach(json_object_get(c, "months"), k, m)
			fprintf(out, " %5lld %5.1f%%",
			    (long long)series_int(m, "customers"),
			    100.0 * json_real_value(json_object_get(m, "share")));
		fputc('\n', out);
	}
}
