/*
 * A CSV file through csvread, sale validation and the store, in memory;
 * or, when it starts with "C" (a header "Code..." or "C..."), through
 * coupon import.
 */

#include <string.h>

#include "fuzz.h"

#include "coupon.h"
#include "db.h"
#include "import.h"
#include "log.h"
#include "text.h"
#include "timestamp.h"

/* A fixed "now", so that an input always does the same thing. */
#define FUZZ_NOW	1782900000	/* 2026-07-01 */

static struct db *fuzz_db;

/* One in-memory database, migrated once, emptied after every input. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LEVEL_ERROR);
	if (timestamp_set_timezone("Europe/London") == -1 ||
	    db_open(":memory:", &fuzz_db) != DB_OK)
		abort();
	return 0;
}

/* What any import leaves behind: a database that still holds together. */
/* No stored id, SKU or currency holds an invisible formatting character. */
static void
fuzz_check_no_format_characters(void)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(fuzz_db->sqlite, "SELECT order_id, "
	    "coalesce(sku, ''), currency FROM sales UNION ALL SELECT '', sku, "
	    "'' FROM sale_items", -1, &st, NULL) != SQLITE_OK)
		abort();
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < 3; i++)
			FUZZ_CHECK(text_find_format((const char *)
			    sqlite3_column_text(st, i), 0) == 0);
	sqlite3_finalize(st);
}

static void
fuzz_check_store(void)
{
	int64_t n;

	/* Nothing half-done: the import committed or rolled back. */
	FUZZ_CHECK(sqlite3_get_autocommit(fuzz_db->sqlite));
	/*
	 * Foreign keys are not enforced (db.c says why): check them.  Every
	 * sale has its customer, every referral both of its customers.
	 */
	FUZZ_CHECK(db_run(fuzz_db, "SELECT count(*) FROM sales WHERE "
	    "customer_id NOT IN (SELECT id FROM customers)", 0, 0, NULL, &n) == 1);
	FUZZ_CHECK(n == 0);
	FUZZ_CHECK(db_run(fuzz_db, "SELECT count(*) FROM referrals WHERE "
	    "referrer_id NOT IN (SELECT id FROM customers) OR "
	    "referred_id NOT IN (SELECT id FROM customers)", 0, 0, NULL, &n) == 1);
	FUZZ_CHECK(n == 0);
	/*
	 * Every sale has its items, numbered from 0 on with no gap, the
	 * first its own sku and product; every item has its sale.
	 */
	FUZZ_CHECK(db_run(fuzz_db, "SELECT count(*) FROM sales s WHERE NOT"
	    " EXISTS (SELECT 1 FROM sale_items i WHERE i.sale_id = s.id AND"
	    " i.position = 0 AND i.sku = s.sku AND i.product = s.product) OR"
	    " (SELECT max(position) + 1 - count(*) FROM sale_items"
	    " WHERE sale_id = s.id) != 0", 0, 0, NULL, &n) == 1);
	FUZZ_CHECK(n == 0);
	FUZZ_CHECK(db_run(fuzz_db, "SELECT count(*) FROM sale_items WHERE "
	    "sale_id NOT IN (SELECT id FROM sales) OR quantity < 1 OR "
	    "position >= 100", 0, 0, NULL, &n) == 1);
	FUZZ_CHECK(n == 0);
	fuzz_check_no_format_characters();
}

/* A coupon file: all or nothing, and no code with a hidden character. */
static void
fuzz_coupons(const uint8_t *data, size_t size)
{
	struct coupon_import	 res;
	sqlite3_stmt		*st;
	FILE			*fp;
	int64_t			 n;
	int			 rc;

	if ((fp = fmemopen((void *)data, size, "rb")) == NULL)
		abort();
	rc = coupon_import(fuzz_db, "fuzz", fp, "fuzz.csv", FUZZ_NOW, &res);
	fclose(fp);
	FUZZ_CHECK(rc == IMPORT_OK || rc == IMPORT_BAD);
	FUZZ_CHECK(sqlite3_get_autocommit(fuzz_db->sqlite));
	FUZZ_CHECK(db_run(fuzz_db, "SELECT count(*) FROM coupons", 0, 0, NULL,
	    &n) == 1);
	FUZZ_CHECK(rc == IMPORT_BAD ? n == 0 : n == res.stored);
	if (sqlite3_prepare_v2(fuzz_db->sqlite, "SELECT code FROM coupons", -1,
	    &st, NULL) != SQLITE_OK)
		abort();
	while (sqlite3_step(st) == SQLITE_ROW)
		FUZZ_CHECK(text_find_format((const char *)
		    sqlite3_column_text(st, 0), 0) == 0);
	sqlite3_finalize(st);
	if (sqlite3_exec(fuzz_db->sqlite, "DELETE FROM coupons", NULL, NULL,
	    NULL) != SQLITE_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import	 im = { .db = fuzz_db, .currency = "EUR", .now = FUZZ_NOW };
	FILE		*fp;
	int		 rc;
	int64_t		 stored;

	if (size == 0)
		return 0;	/* fmemopen refuses an empty buffer */
	if (data[0] == 'C') {
		fuzz_coupons(data, size);
		return 0;
	}
	/* The odd inputs keep the good rows of a file with bad ones. */
	im.skip_invalid = data[0] & 1;
	/* A file whose header starts "Name" is read as Shopify's export. */
	im.format = data[0] == 'N' ? IMPORT_SHOPIFY : IMPORT_AFTERSALE;
	if ((fp = fmemopen((void *)data, size, "rb")) == NULL)
		abort();
	rc = import_csv(&im, fp, "fuzz.csv");
	fclose(fp);

	FUZZ_CHECK(rc == IMPORT_OK || rc == IMPORT_BAD);
	FUZZ_CHECK(db_run(fuzz_db, "SELECT count(*) FROM sales", 0, 0, NULL,
	    &stored) == 1);
	/* All or nothing: a failed import stores nothing. */
	if (rc == IMPORT_BAD)
		FUZZ_CHECK(stored == 0);
	else
		FUZZ_CHECK(stored == im.stored);
	FUZZ_CHECK(im.bad == 0 || rc == IMPORT_BAD || im.skip_invalid);
	fuzz_check_store();

	if (sqlite3_exec(fuzz_db->sqlite, "DELETE FROM referrals; "
	    "DELETE FROM messages; DELETE FROM planner; DELETE FROM sale_items; "
	    "DELETE FROM sales; "
	    "DELETE FROM customers", NULL, NULL, NULL) != SQLITE_OK)
		abort();
	return 0;
}
