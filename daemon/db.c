/* The SQLite database: opening, migrations, transactions, statements. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "email.h"
#include "log.h"
#include "migrations.h"
#include "token.h"
#include "xmalloc.h"

/*
 * Log what failed in words a user can act on, and map SQLite's code to
 * ours: a lock held past the busy timeout is worth retrying, the rest not.
 */
int
db_fail(struct db *db, int rc, const char *doing)
{
	int primary = rc & 0xff;

	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
		log_error("database %s is locked by another process while %s; "
		    "try again later", db->path, doing);
		return DB_BUSY;
	}
	if (primary == SQLITE_NOMEM)
		xmalloc_fail(0);	/* one policy for running out of memory */
	if (primary == SQLITE_FULL) {
		/* Said once: the daemon retries until there is room. */
		if (!db->full)
			log_error("database %s: the disk is full while %s; free "
			    "some space", db->path, doing);
		db->full = 1;
		return DB_FULL;
	}
	log_error("database %s: %s while %s", db->path,
	    sqlite3_errmsg(db->sqlite), doing);
	return DB_ERROR;
}

/*
 * Run SQL text that is not kept prepared: pragmas, savepoints, and the
 * schema changes whose text is made at run time.  DB_OK or DB_ERROR.
 */
int
db_exec(struct db *db, const char *sql)
{
	int rc = sqlite3_exec(db->sqlite, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(db, rc, "running a statement");
	return DB_OK;
}

/*
 * Statements are prepared once and kept, keyed by the address of their
 * SQL text, which is always a string literal.  The statement comes back
 * reset and with its bindings cleared.  NULL (logged) on error.
 */
sqlite3_stmt *
db_prepare(struct db *db, const char *sql)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	for (size_t i = 0; i < db->ncache; i++) {
		if (db->cache[i].sql == sql) {
			stmt = db->cache[i].stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	}
	rc = sqlite3_prepare_v3(db->sqlite, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &stmt, NULL);
	if (rc != SQLITE_OK) {
		db_fail(db, rc, "preparing a statement");
		return NULL;
	}
	if (db->ncache == DB_CACHE_MAX)
		fatalx("db_prepare: more than %d distinct statements", DB_CACHE_MAX);
	db->cache[db->ncache].sql = sql;
	db->cache[db->ncache].stmt = stmt;
	db->ncache++;
	return stmt;
}

/* SQLITE_ROW, SQLITE_DONE, or DB_BUSY / DB_ERROR (logged, reset). */
int
db_step(struct db *db, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	sqlite3_reset(stmt);
	return db_fail(db, rc, "reading or writing");
}

/*
 * Run a cached one-line statement: ?1 and ?2 are integers, ?3 text (NULL:
 * none); parameters the statement lacks are not bound.  Returns 1 with the
 * first column of the first row in *out (if out), 0 when no row came back,
 * or DB_BUSY / DB_ERROR (logged).
 */
int
db_run(struct db *db, const char *sql, int64_t a, int64_t b, const char *text,
    int64_t *out)
{
	sqlite3_stmt	*st = db_prepare(db, sql);
	int		 params, rc;

	if (st == NULL)
		return DB_ERROR;
	params = sqlite3_bind_parameter_count(st);
	if (params >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (params >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (params >= 3 && text != NULL)
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	if ((rc = db_step(db, st)) == SQLITE_ROW) {
		if (out != NULL)
			*out = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

/* db_run() for a statement that writes: DB_OK, or DB_BUSY / DB_ERROR. */
int
db_write(struct db *db, const char *sql, int64_t a, int64_t b,
    const char *text)
{
	int rc = db_run(db, sql, a, b, text, NULL);

	return rc >= 0 ? DB_OK : rc;
}

/*
 * Kept prepared like any other statement: the daemon begins and commits
 * a transaction per turn, and parsing them each time was 2-3% of its
 * loop (issue 13).
 */
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_begin_read[] = "BEGIN";
static const char sql_commit[] = "COMMIT";

/*
 * A write transaction.  IMMEDIATE: take the write lock now, so a busy
 * database waits here, not at a write halfway through.  End it with
 * db_end().
 */
int
db_begin(struct db *db)
{
	db->changes_at_begin = sqlite3_total_changes64(db->sqlite);
	return db_write(db, sql_begin, 0, 0, NULL);
}

/* A read transaction: the reads until db_end() see one snapshot. */
int
db_begin_read(struct db *db)
{
	return db_write(db, sql_begin_read, 0, 0, NULL);
}

/*
 * End the transaction db_begin() or db_begin_read() opened, whatever
 * happened in it: commit when rc is DB_OK, else roll back; a positive rc
 * is the caller's own reason to keep nothing (bad input), a negative one
 * an error.  Returns rc, or the commit's error (rolled back too).
 */
int
db_end(struct db *db, int rc)
{
	/* Only rows written and committed show there is room again. */
	int wrote = sqlite3_txn_state(db->sqlite, NULL) == SQLITE_TXN_WRITE &&
	    sqlite3_total_changes64(db->sqlite) > db->changes_at_begin;

	if (rc == DB_OK && (rc = db_write(db, sql_commit, 0, 0, NULL)) == DB_OK) {
		if (wrote && db->full) {
			log_info("database %s: there is room on the disk again",
			    db->path);
			db->full = 0;
		}
		return DB_OK;
	}
	if (db_in_transaction(db))
		sqlite3_exec(db->sqlite, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * A savepoint in the transaction db_begin() opened, so that one part of
 * it can be undone alone (a request among those that share a commit).
 * End it with db_savepoint_end().
 */
int
db_savepoint(struct db *db)
{
	return db_exec(db, "SAVEPOINT part");
}

/*
 * End the savepoint: keep its writes when rc is DB_OK, else undo them,
 * the rest of the transaction going on.  Returns rc, or RELEASE's error.
 * An error such as a full disk may have rolled back the whole transaction
 * already (SQLite does so for some); db_in_transaction() tells.
 */
int
db_savepoint_end(struct db *db, int rc)
{
	if (rc == DB_OK)
		return db_exec(db, "RELEASE part");
	if (db_in_transaction(db)) {
		sqlite3_exec(db->sqlite, "ROLLBACK TO part", NULL, NULL, NULL);
		sqlite3_exec(db->sqlite, "RELEASE part", NULL, NULL, NULL);
	}
	return rc;
}

/* 1 while a transaction is open on this connection. */
int
db_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->sqlite);
}

/*
 * After a large write: copy the WAL back into the database and cut it to
 * nothing now, rather than leave a WAL as big as the import on a small
 * disk, or old copies of erased rows in it (privacy.c).  Readers in the
 * way are waited for as long as the busy timeout, then make it a partial
 * checkpoint: DB_BUSY, not logged, since the next one finishes it; an
 * import need not care.  DB_OK, DB_BUSY, or DB_ERROR (logged).
 */
int
db_checkpoint(struct db *db)
{
	int rc = sqlite3_wal_checkpoint_v2(db->sqlite, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);

	if (rc == SQLITE_OK)
		return DB_OK;
	if ((rc & 0xff) == SQLITE_BUSY)
		return DB_BUSY;
	return db_fail(db, rc, "checkpointing the WAL");
}

static int
db_user_version(struct db *db, int *version)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	rc = sqlite3_prepare_v2(db->sqlite, "PRAGMA user_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "reading the schema version");
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return db_fail(db, rc, "reading the schema version");
	}
	*version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return DB_OK;
}

/*
 * Apply every pending migration in one transaction, so that a database is
 * always at one version of the schema or the next, never between.
 */
static int
db_migrate(struct db *db)
{
	int	latest = migrations_count, version, rc;
	char	pragma[64];

	if ((rc = db_user_version(db, &version)) != DB_OK)
		return rc;
	if (version == latest)
		return DB_OK;
	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	if ((rc = db_user_version(db, &version)) != DB_OK)
		return db_end(db, rc);
	if (version > latest) {
		log_error("database %s has schema version %d, newer than this "
		    "aftersale knows (%d): upgrade aftersale, or point "
		    "`database` at another file", db->path, version, latest);
		return db_end(db, DB_NEWER);
	}
	for (int i = version; i < latest; i++) {
		rc = sqlite3_exec(db->sqlite, migrations[i].sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			rc = db_fail(db, rc, "applying a migration");
			log_error("migration %04d_%s failed; the database is "
			    "unchanged", migrations[i].version, migrations[i].name);
			return db_end(db, rc);
		}
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", latest);
	if ((rc = db_end(db, db_exec(db, pragma))) != DB_OK)
		return rc;
	if (version > 0)
		log_info("database %s migrated from schema %d to %d", db->path,
		    version, latest);
	return DB_OK;
}

/*
 * The database holds customers' names and addresses: create it 0600
 * whatever the umask.  SQLite gives its -wal and -shm files the mode of
 * the database file, so they follow.  A file that is already there keeps
 * the mode its owner gave it.
 */
static int
db_create_private(struct db *db)
{
	int fd;

	if (strcmp(db->path, ":memory:") == 0)
		return DB_OK;		/* SQLite's name for no file at all */
	fd = open(db->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd == -1) {
		log_warn("cannot open database %s (does its folder exist and "
		    "is it writable?)", db->path);
		return DB_ERROR;
	}
	close(fd);
	return DB_OK;
}

/*
 * Switch to (or find) WAL mode, which opens the -wal and -shm files.  A
 * process running as root that opens the database while no one else has
 * it (`aftersale stats` as root beside a daemon of its own user, between
 * two of the daemon's restarts) creates those files as root and hands
 * them to the database's owner a moment later; opening them in that
 * moment fails.  So a failure to open is tried again, for a second at
 * most, before it is one.
 */
static int
db_wal(struct db *db)
{
	int rc;

	for (int tries = 0; ; tries++) {
		rc = sqlite3_exec(db->sqlite, "PRAGMA journal_mode = WAL", NULL,
		    NULL, NULL);
		if ((rc & 0xff) != SQLITE_CANTOPEN || tries == 40)
			break;
		usleep(25000);
	}
	return rc == SQLITE_OK ? DB_OK : db_fail(db, rc, "opening the WAL");
}

/*
 * A big import grows the WAL to its size; once checkpointed, the file is
 * cut back to this instead of keeping that disk space for good.
 */
#define DB_JOURNAL_SIZE_LIMIT	"PRAGMA journal_size_limit = 16777216"

/* SQL email_key(ADDRESS): email.c's key, for migration 0012 to fill in. */
static void
db_sql_email_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*address = sqlite3_value_text(argv[0]);
	char			 key[EMAIL_KEY_SIZE];

	(void)argc;
	if (address == NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	email_key((const char *)address, key);
	sqlite3_result_text(ctx, key, -1, SQLITE_TRANSIENT);
}

static int
db_functions(struct db *db)
{
	int rc = sqlite3_create_function(db->sqlite, "email_key", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
	    db_sql_email_key, NULL, NULL);

	return rc == SQLITE_OK ? DB_OK : db_fail(db, rc, "adding a function");
}

/*
 * Open (creating if need be) and migrate the database.  WAL lets the CLI
 * read while the daemon writes; NORMAL sync is durable across application
 * crashes, which is what WAL needs it for.
 *
 * Foreign keys are declared in the schema but not enforced: store.c is the
 * only writer and takes every id it writes from a lookup in the same
 * transaction, and enforcement costs a random read of a customer row for
 * every sale, 40% of a bulk import's time (bench/import.py).
 */
int
db_open(const char *path, struct db **out)
{
	struct db	*db;
	int		 rc;

	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	/*
	 * No memory statistics: they take a mutex on every allocation.
	 * Only possible before SQLite initializes, so later calls fail and
	 * are ignored.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if ((rc = db_create_private(db)) != DB_OK) {
		db_close(db);
		return rc;
	}
	rc = sqlite3_open_v2(path, &db->sqlite, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error("cannot open database %s: %s (does its folder exist "
		    "and is it writable?)", path, db->sqlite ?
		    sqlite3_errmsg(db->sqlite) : sqlite3_errstr(rc));
		db_close(db);
		return DB_ERROR;
	}
	sqlite3_extended_result_codes(db->sqlite, 1);
	sqlite3_busy_timeout(db->sqlite, DB_BUSY_TIMEOUT_MS);
	if ((rc = db_wal(db)) != DB_OK ||
	    (rc = db_durable(db, 0)) != DB_OK ||
	    (rc = db_exec(db, DB_JOURNAL_SIZE_LIMIT)) != DB_OK ||
	    (rc = db_cache_size(db, DB_CACHE_KIB)) != DB_OK ||
	    (rc = db_functions(db)) != DB_OK ||
	    (rc = db_migrate(db)) != DB_OK) {
		db_close(db);
		return rc;
	}
	*out = db;
	return DB_OK;
}

/*
 * A file: URI for path with SQLite's "immutable" flag: every byte that is
 * not unreserved is percent-encoded, so no name can add a parameter.
 */
static char *
db_immutable_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	const char	*suffix = "?immutable=1";
	char		*uri, *p;

	uri = xmalloc(5 + 3 * strlen(path) + strlen(suffix) + 1);
	p = stpcpy(uri, "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (isalnum(*c) || strchr("/-._~", *c) != NULL) {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 0xf];
		}
	}
	strcpy(p, suffix);
	return uri;
}

/*
 * Open a read-only connection and read the schema version through it.
 * SQLite needs the -wal and -shm files to read a WAL database, and
 * cannot create them in a folder we may not write; with no -wal file
 * all the data is in the database file, and it is opened immutable.
 */
static int
db_connect_readonly(struct db *db, int *version)
{
	char	*wal, *uri = NULL;
	int	 rc, immutable = 0;

	for (;;) {
		rc = sqlite3_open_v2(uri ? uri : db->path, &db->sqlite,
		    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
		    NULL);
		free(uri);
		uri = NULL;
		if (rc != SQLITE_OK) {
			log_error("cannot open database %s: %s (is it readable?)",
			    db->path, db->sqlite ? sqlite3_errmsg(db->sqlite) :
			    sqlite3_errstr(rc));
			return DB_ERROR;
		}
		sqlite3_extended_result_codes(db->sqlite, 1);
		sqlite3_busy_timeout(db->sqlite, DB_BUSY_TIMEOUT_MS);
		if (immutable || ((rc = sqlite3_exec(db->sqlite,
		    "PRAGMA user_version", NULL, NULL, NULL)) & 0xff) !=
		    SQLITE_READONLY)
			break;
		wal = xasprintf("%s-wal", db->path);
		immutable = access(wal, F_OK) == -1 && errno == ENOENT;
		free(wal);
		if (!immutable)
			break;
		sqlite3_close(db->sqlite);
		db->sqlite = NULL;
		uri = db_immutable_uri(db->path);
	}
	return db_user_version(db, version);
}

/*
 * Open the database for reading only, for the commands that only look:
 * they work on a database they cannot write (a copy, a read-only mount,
 * the daemon's file seen by another user), and never switch its journal
 * mode or migrate it.  A database that is not there yet is created as
 * db_open() does, so that a new shop's stats are zeros, not an error.
 * DB_OLD when migrations are pending.
 */
int
db_open_readonly(const char *path, struct db **out)
{
	struct db	*db;
	int		 rc, version;

	if (access(path, F_OK) == -1 && errno == ENOENT)
		return db_open(path, out);
	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	if ((rc = db_connect_readonly(db, &version)) != DB_OK ||
	    (rc = db_cache_size(db, DB_CACHE_KIB)) != DB_OK) {
		db_close(db);
		return rc;
	}
	if (version != migrations_count) {
		if (version > migrations_count)
			log_error("database %s has schema version %d, newer than "
			    "this aftersale knows (%d): upgrade aftersale",
			    path, version, migrations_count);
		else
			log_error("database %s has schema version %d and this "
			    "aftersale needs %d: run `aftersale migrate` as a "
			    "user who can write it", path, version,
			    migrations_count);
		db_close(db);
		return version > migrations_count ? DB_NEWER : DB_OLD;
	}
	*out = db;
	return DB_OK;
}

/*
 * Facts someone hands us (a sale, a refund, an unsubscribe) must survive
 * a power cut once we say they are stored: with `on`, every commit on
 * this connection syncs the WAL.  The daemon's own delivery bookkeeping
 * commits without (NORMAL), where a power cut can only send a message
 * again (README).  Not inside a transaction.
 */
int
db_durable(struct db *db, int on)
{
	return db_exec(db, on ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL");
}

/* The page cache's ceiling, which is most of the process's memory. */
int
db_cache_size(struct db *db, int kib)
{
	char pragma[64];

	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = -%d", kib);
	return db_exec(db, pragma);
}

/*
 * Give back the page cache's unused pages (all of them, between
 * statements): the cache fills again from the kernel's as it is needed.
 */
void
db_release_memory(struct db *db)
{
	sqlite3_db_release_memory(db->sqlite);
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].stmt);
	sqlite3_close(db->sqlite);
	token_cipher_free(db->unsubscribe_cipher);
	free(db->path);
	free(db);
}
