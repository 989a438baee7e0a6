/* Reward coupons: pools of single-use codes, issued one to a message. */

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coupon.h"
#include "csvread.h"
#include "import.h"
#include "log.h"
#include "sale.h"
#include "timestamp.h"
#include "xmalloc.h"

/* A pool's name: letters, digits, '-' and '_', as a campaign's. */
int
coupon_pool_ok(const char *pool)
{
	size_t n = strlen(pool);

	if (n == 0 || n > COUPON_POOL_MAX)
		return 0;
	for (; *pool != '\0'; pool++)
		if (!isalnum((unsigned char)*pool) && *pool != '-' &&
		    *pool != '_')
			return 0;
	return 1;
}

/* One file of codes being imported into a pool. */
struct coupon_reader {
	struct db		*db;
	const char		*pool;
	const char		*name;	/* the file, for FILE:LINE */
	int64_t			 now;
	int64_t			 before;	/* ids above it are this import's */
	int			 started;	/* a line other than blank was read */
	long			 reports;
	struct coupon_import	*res;
};

static void coupon_bad(struct coupon_reader *r, long line, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/*
 * A bad line, said at FILE:LINE.  Past IMPORT_MAX_REPORTS the rest are
 * only counted, as sale import does, so the first are not buried.
 */
static void
coupon_bad(struct coupon_reader *r, long line, const char *fmt, ...)
{
	char	msg[SALE_ERROR_LEN];
	va_list	ap;

	r->res->bad++;
	if (++r->reports > IMPORT_MAX_REPORTS + 1)
		return;
	if (r->reports == IMPORT_MAX_REPORTS + 1) {
		log_warnx("%s: more bad lines are not shown one by one",
		    r->name);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s:%ld: %s", r->name, line, msg);
}

static const char sql_insert[] =
    "INSERT INTO coupons (pool, code, expires_at, imported_at)"
    " VALUES (?1, ?2, nullif(?3, 0), ?4) ON CONFLICT (pool, code) DO NOTHING";
static const char sql_find[] =
    "SELECT id FROM coupons WHERE pool = ?1 AND code = ?2";

/*
 * Store one code, unless the pool has it: a code the pool had before is
 * skipped (the same file imported twice adds nothing), one this file gave
 * already is a mistake in the file.  DB_OK, 1 (the latter), or DB_*.
 */
static int
coupon_store(struct coupon_reader *r, const char *code, int64_t expires)
{
	sqlite3_stmt	*st;
	int64_t		 id;
	int		 rc;

	if ((st = db_prepare(r->db, sql_insert)) == NULL)
		return DB_ERROR;
	sqlite3_bind_text(st, 1, r->pool, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires);
	sqlite3_bind_int64(st, 4, r->now);
	if ((rc = db_step(r->db, st)) != SQLITE_DONE)
		return rc;
	if (sqlite3_changes(r->db->sqlite) == 1) {
		r->res->stored++;
		return DB_OK;
	}
	if ((st = db_prepare(r->db, sql_find)) == NULL)
		return DB_ERROR;
	sqlite3_bind_text(st, 1, r->pool, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
	if ((rc = db_step(r->db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (id > r->before)
		return 1;
	r->res->known++;
	return DB_OK;
}

/* Is this first line "code" or "code,expires_at", a header? */
static int
coupon_header(char **v, int n)
{
	return strcasecmp(v[0], "code") == 0 &&
	    (n == 1 || strcasecmp(v[1], "expires_at") == 0);
}

/*
 * One line: a code, or a code and when it expires (TIME, or empty for
 * never).  Blank lines are passed over.  A bad line is reported and
 * counted, and reading goes on, so that all are said at once; past
 * IMPORT_MAX_BAD it stops.
 */
static int
coupon_line(void *arg, long line, enum csvread_problem problem, char **v,
    int n)
{
	struct coupon_reader	*r = arg;
	char			 err[SALE_ERROR_LEN];
	char			*code;
	int64_t			 expires = 0;
	int			 rc;

	if (problem == CSVREAD_NUL)
		coupon_bad(r, line, "the line contains a NUL byte");
	else if (problem != CSVREAD_OK)
		coupon_bad(r, line, "the line is longer than %d bytes",
		    CSVREAD_MAX_RECORD);
	if (problem != CSVREAD_OK)
		goto next;
	code = sale_trim(v[0]);
	if (n == 1 && *code == '\0')
		return 0;
	if (!r->started++ && coupon_header(v, n))
		return 0;
	if (n > 2) {
		coupon_bad(r, line, "%d fields; a line is a code, or a code "
		    "and when it expires: code,expires_at", n);
		goto next;
	}
	if (sale_check_text(code, "the code", 0, COUPON_CODE_MAX, err) == -1) {
		coupon_bad(r, line, "%s", err);
		goto next;
	}
	if (*code == '\0') {
		coupon_bad(r, line, "the code is empty");
		goto next;
	}
	if (n == 2 && *(v[1] = sale_trim(v[1])) != '\0' &&
	    timestamp_parse(v[1], &expires) == -1) {
		coupon_bad(r, line, "code \"%s\": expires_at \"%.40s\" is not a "
		    "time such as 2026-11-20T10:00:00Z or 2026-11-20", code,
		    v[1]);
		goto next;
	}
	if ((rc = coupon_store(r, code, expires)) < 0)
		return rc;
	if (rc == 1)
		coupon_bad(r, line, "code \"%s\" is in this file twice; a code "
		    "is given once", code);
next:
	if (r->res->bad >= IMPORT_MAX_BAD) {
		log_error("%s:%ld: stopping after %ld bad lines", r->name, line,
		    r->res->bad);
		return IMPORT_BAD;
	}
	return 0;
}

static const char sql_last_id[] = "SELECT coalesce(max(id), 0) FROM coupons";

/*
 * Import the codes of a file (name is what to call it) into a pool, all
 * or nothing, in one transaction: with any bad line, every one is
 * reported at FILE:LINE and nothing is stored.  IMPORT_OK, IMPORT_BAD, or
 * DB_* (an unreadable file is DB_ERROR, reported).
 */
int
coupon_import(struct db *db, const char *pool, FILE *fp, const char *name,
    int64_t now, struct coupon_import *res)
{
	struct coupon_reader	r = { db, pool, name, now, 0, 0, 0, res };
	int			rc;

	memset(res, 0, sizeof(*res));
	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	if ((rc = db_run(db, sql_last_id, 0, 0, NULL, &r.before)) == 1)
		rc = csvread(fp, name, coupon_line, &r);
	if (rc == CSVREAD_MALFORMED) {
		res->bad++;
		rc = IMPORT_BAD;
	} else if (rc == CSVREAD_IOERR) {
		rc = DB_ERROR;
	} else if (rc == 0 && res->bad > 0) {
		rc = IMPORT_BAD;
	}
	return db_end(db, rc);
}

static const char sql_list[] =
    "SELECT pool, count(*), count(message_id),"
    " count(*) FILTER (WHERE message_id IS NULL"
    "   AND (expires_at IS NULL OR expires_at > ?1)),"
    " count(sale_id)"
    " FROM coupons GROUP BY pool ORDER BY pool";

static json_t *
coupon_entry(const char *pool, int64_t total, int64_t issued,
    int64_t remaining, int64_t redeemed)
{
	/* What is neither issued nor left has expired unused. */
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "pool", pool,
	    "total", (json_int_t)total, "issued", (json_int_t)issued,
	    "remaining", (json_int_t)remaining, "redeemed", (json_int_t)redeemed,
	    "expired", (json_int_t)(total - issued - remaining));
}

/*
 * Every pool in the database, then those campaigns name that have no code
 * yet, as a JSON array: pool, total, issued, remaining (free and not
 * expired), redeemed, expired.  The caller owns *out.
 */
int
coupon_list(struct db *db, const struct config *cfg, int64_t now,
    json_t **out)
{
	sqlite3_stmt	*st = db_prepare(db, sql_list);
	json_t		*list = json_array(), *e;
	size_t		 i, j;
	int		 rc;

	if (st == NULL) {
		json_decref(list);
		return DB_ERROR;
	}
	sqlite3_bind_int64(st, 1, now);
	while ((rc = db_step(db, st)) == SQLITE_ROW)
		json_array_append_new(list, coupon_entry(
		    (const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4)));
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return rc;
	}
	for (i = 0; i < cfg->ncampaigns; i++) {
		const char *pool = cfg->campaigns[i].coupon;

		if (*pool == '\0')
			continue;
		json_array_foreach(list, j, e)
			if (strcmp(json_string_value(json_object_get(e, "pool")),
			    pool) == 0)
				break;
		if (j == json_array_size(list))
			json_array_append_new(list, coupon_entry(pool, 0, 0, 0, 0));
	}
	*out = list;
	return DB_OK;
}

static const char sql_take[] =
    "SELECT id, code, coalesce(expires_at, 0) FROM coupons"
    " WHERE pool = ?1 AND message_id IS NULL AND id > ?2"
    " AND (expires_at IS NULL OR expires_at > ?3) ORDER BY id LIMIT 1";

/*
 * The pool's next free code for a message being built, after those this
 * batch took already.  It is not issued yet: coupon_issue() does that
 * when the message's bytes are stored, and a message never stored leaves
 * it free.  1 and *out, 0 when the pool has none, or DB_*.
 */
int
coupon_take(struct db *db, struct coupon_batch *b, const char *pool,
    int64_t now, struct coupon *out)
{
	sqlite3_stmt	*st;
	int		 i, rc;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->pools[i].pool, pool) == 0)
			break;
	if (i == b->n) {
		/* A batch builds at most SENDER_MAX messages, one pool each. */
		assert(b->n < COUPON_BATCH_POOLS);
		b->pools[b->n].pool = pool;
		b->pools[b->n++].last = 0;
	}
	if ((st = db_prepare(db, sql_take)) == NULL)
		return DB_ERROR;
	sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, b->pools[i].last);
	sqlite3_bind_int64(st, 3, now);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : rc;
	out->id = b->pools[i].last = sqlite3_column_int64(st, 0);
	snprintf(out->code, sizeof(out->code), "%s",
	    (const char *)sqlite3_column_text(st, 1));
	out->expires_at = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	return 1;
}

static const char sql_issue[] =
    "UPDATE coupons SET message_id = ?2, issued_at = ?3"
    " WHERE id = ?1 AND message_id IS NULL";

/*
 * Issue a code to the message whose bytes carry it, inside the write
 * transaction that stores them: both are kept, or neither.  DB_OK, 1 when
 * the code is no longer free (the message must be built again), or DB_*.
 */
int
coupon_issue(struct db *db, int64_t coupon, int64_t message, int64_t now)
{
	sqlite3_stmt	*st = db_prepare(db, sql_issue);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, coupon);
	sqlite3_bind_int64(st, 2, message);
	sqlite3_bind_int64(st, 3, now);
	if ((rc = db_step(db, st)) != SQLITE_DONE)
		return rc;
	return sqlite3_changes(db->sqlite) == 1 ? DB_OK : 1;
}

static const char sql_return[] =
    "UPDATE coupons SET message_id = NULL, issued_at = NULL"
    " WHERE message_id = ?1";

/*
 * A message's code goes back to its pool, inside the caller's write
 * transaction: the message's bytes, which nobody was sent, are dropped.
 */
int
coupon_return(struct db *db, int64_t message)
{
	return db_write(db, sql_return, message, 0, NULL);
}

static const char sql_redeemable[] =
    "SELECT id, sale_id IS NULL FROM coupons"
    " WHERE code = ?1 AND message_id IS NOT NULL"
    " ORDER BY sale_id IS NOT NULL, id LIMIT 1";
static const char sql_redeem[] =
    "UPDATE coupons SET sale_id = ?2 WHERE id = ?1";

/*
 * A sale gave a code: if it is an issued coupon's, the sale redeems it
 * (inside the caller's write transaction; the first sale only).  1 when
 * the code is an issued coupon's, 0 when not, or DB_*.
 */
int
coupon_redeem(struct db *db, const char *code, int64_t sale)
{
	sqlite3_stmt	*st;
	int64_t		 id;
	int		 rc, unredeemed;

	if (*code == '\0')
		return 0;
	if ((st = db_prepare(db, sql_redeemable)) == NULL)
		return DB_ERROR;
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : rc;
	id = sqlite3_column_int64(st, 0);
	unredeemed = sqlite3_column_int(st, 1);
	sqlite3_reset(st);
	if (unredeemed && (rc = db_write(db, sql_redeem, id, sale,
	    NULL)) != DB_OK)
		return rc;
	return 1;
}

static const char sql_count[] =
    "SELECT count(*) FILTER (WHERE message_id IS NULL"
    "   AND (expires_at IS NULL OR expires_at > ?1)), count(*)"
    " FROM coupons WHERE pool = ?3";

/*
 * Look at how many codes a pool has left and say so when that got worse
 * since it was last said: empty, or low (below 10% of the pool or 20
 * codes, whichever comes first); once, not at every message.  DB_OK or
 * DB_*.
 */
int
coupon_watch(struct db *db, struct coupon_alarms *a, const char *pool,
    int64_t now)
{
	sqlite3_stmt		*st = db_prepare(db, sql_count);
	enum coupon_level	 level, *was = NULL;
	int64_t			 left, total;
	int			 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 3, pool, -1, SQLITE_STATIC);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	left = sqlite3_column_int64(st, 0);
	total = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);

	level = left == 0 ? COUPON_EMPTY : left < 20 || left * 10 < total ?
	    COUPON_LOW : COUPON_PLENTY;
	for (size_t i = 0; i < a->n && was == NULL; i++)
		if (strcmp(a->v[i].pool, pool) == 0)
			was = &a->v[i].level;
	if (was == NULL) {
		a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
		snprintf(a->v[a->n].pool, sizeof(a->v[a->n].pool), "%s", pool);
		was = &a->v[a->n++].level;
		*was = COUPON_PLENTY;
	}
	if (level == COUPON_EMPTY && *was != COUPON_EMPTY)
		log_warnx("coupon pool \"%s\" is empty (%lld code%s, none "
		    "free): messages that give one wait until it is refilled "
		    "(aftersale coupon import --pool %s FILE)", pool,
		    (long long)total, total == 1 ? "" : "s", pool);
	else if (level == COUPON_LOW && *was == COUPON_PLENTY)
		log_warnx("coupon pool \"%s\" is running low: %lld of %lld "
		    "codes left; import more with aftersale coupon import "
		    "--pool %s FILE", pool, (long long)left, (long long)total,
		    pool);
	else if (level < *was)
		log_info("coupon pool \"%s\": %lld code%s free again", pool,
		    (long long)left, left == 1 ? "" : "s");
	*was = level;
	return DB_OK;
}

void
coupon_alarms_free(struct coupon_alarms *a)
{
	free(a->v);
	a->v = NULL;
	a->n = 0;
}
