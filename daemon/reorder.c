/*
 * Reorder timing: when a customer is expected to order again.  Their own
 * median interval between orders when they have REORDER_OWN_MIN of them,
 * else the median interval between two purchases of the sale's SKU by one
 * customer, over every customer, when REORDER_SKU_MIN were seen; else no
 * prediction.  Gaps under a day are one order split in two, not a
 * rhythm, and do not count; nor do sales refunded in full.
 */

#include <stdlib.h>

#include "reorder.h"
#include "store.h"
#include "xmalloc.h"

#define REORDER_HISTORY	25	/* a buyer's latest orders that are read */

static int
reorder_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n), n > 0, sorting v. */
int64_t
reorder_median(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), reorder_cmp);
	return n % 2 ? v[n / 2] : v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

static const char sql_own[] =
    "SELECT sold_at FROM sales WHERE customer_id = ?1 AND sold_at <= ?2"
    " AND " STORE_SALE_COUNTS("sales") " ORDER BY sold_at DESC LIMIT ?3";
static const char sql_sku[] =
    "SELECT r.median FROM sale_items i JOIN reorder_skus r ON r.sku = i.sku"
    " WHERE i.sale_id = ?1 ORDER BY r.median LIMIT 1";

/*
 * The buyer's own median interval up to the sale at `sold_at`: 1 and
 * *interval, 0 with too few intervals, or DB_*.
 */
static int
reorder_own(struct db *db, int64_t customer, int64_t sold_at,
    int64_t *interval)
{
	sqlite3_stmt	*st = db_prepare(db, sql_own);
	int64_t		 gaps[REORDER_HISTORY], prev = 0;
	size_t		 n = 0, rows = 0;
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, customer);
	sqlite3_bind_int64(st, 2, sold_at);
	sqlite3_bind_int(st, 3, REORDER_HISTORY);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(st, 0);

		if (rows++ > 0 && prev - at >= REORDER_GAP_MIN)
			gaps[n++] = prev - at;
		prev = at;
	}
	if (rc != SQLITE_DONE)
		return rc;
	if (n < REORDER_OWN_MIN)
		return 0;
	*interval = reorder_median(gaps, n);
	return 1;
}

/*
 * When the buyer `customer` of sale `sale`, made at `sold_at`, is expected
 * to order again: 1 and *expected, 0 when nothing predicts it, or DB_*.
 * The SKU with the shortest interval among the sale's items speaks for
 * it: the first thing to run out.
 */
int
reorder_expect(struct db *db, int64_t customer, int64_t sale, int64_t sold_at,
    int64_t *expected)
{
	int64_t	interval;
	int	rc;

	if ((rc = reorder_own(db, customer, sold_at, &interval)) == 0)
		rc = db_run(db, sql_sku, sale, 0, NULL, &interval);
	if (rc == 1)
		*expected = sold_at + interval;
	return rc;
}

static const char sql_refresh[] =
    "INSERT INTO reorder_skus (sku, median, observed)"
    " WITH gaps AS (SELECT i.sku, s.sold_at - lag(s.sold_at) OVER ("
    "   PARTITION BY s.customer_id, i.sku ORDER BY s.sold_at, s.id) AS gap"
    "   FROM sale_items i JOIN sales s ON s.id = i.sale_id"
    "   WHERE i.sku <> '' AND " STORE_SALE_COUNTS("s") "),"
    " ranked AS (SELECT sku, gap,"
    "   row_number() OVER (PARTITION BY sku ORDER BY gap) AS k,"
    "   count(*) OVER (PARTITION BY sku) AS n"
    "   FROM gaps WHERE gap >= ?1)"
    " SELECT sku, min(gap) + (max(gap) - min(gap)) / 2, n FROM ranked"
    " WHERE n >= ?2 AND k IN ((n + 1) / 2, (n + 2) / 2) GROUP BY sku";

/*
 * Compute the median interval of every SKU seen REORDER_SKU_MIN times
 * anew, in one transaction: a scan of all sales, done at start and daily,
 * so that planning a sale reads one row.  Sets *skus to how many there
 * are.  DB_OK or DB_*.
 */
int
reorder_refresh(struct db *db, int *skus)
{
	int rc;

	*skus = 0;
	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	if ((rc = db_write(db, "DELETE FROM reorder_skus", 0, 0, NULL)) ==
	    DB_OK && (rc = db_write(db, sql_refresh, REORDER_GAP_MIN,
	    REORDER_SKU_MIN, NULL)) == DB_OK)
		*skus = sqlite3_changes(db->sqlite);
	return db_end(db, rc);
}

static const char sql_errors[] =
    "SELECT abs(next - expected_at) FROM (SELECT m.expected_at,"
    "  (SELECT min(n.sold_at) FROM sales n WHERE n.customer_id ="
    "   s.customer_id AND n.sold_at > s.sold_at AND "
    STORE_SALE_COUNTS("n") ") AS next"
    " FROM messages m JOIN sales s ON s.id = m.sale_id"
    " WHERE m.campaign = ?3 AND m.expected_at IS NOT NULL)"
    " WHERE next >= ?1 AND next < ?2";

/*
 * How far campaign's predictions were from the orders that came, for the
 * next orders made in [since, until): *count of them, and the median
 * absolute error in seconds when *count > 0.  DB_OK or DB_*.
 */
int
reorder_errors(struct db *db, const char *campaign, int64_t since,
    int64_t until, int64_t *median, int64_t *count)
{
	sqlite3_stmt	*st = db_prepare(db, sql_errors);
	int64_t		*v = NULL;
	size_t		 n = 0, cap = 0;
	int		 rc;

	*count = 0;
	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, until);
	sqlite3_bind_text(st, 3, campaign, -1, SQLITE_STATIC);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		if (n == cap)
			v = xreallocarray(v, cap = cap ? cap * 2 : 64,
			    sizeof(*v));
		v[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc == SQLITE_DONE && n > 0) {
		*median = reorder_median(v, n);
		*count = (int64_t)n;
	}
	free(v);
	return rc == SQLITE_DONE ? DB_OK : rc;
}
