/* The SQLite database: opening, migrations, transactions, statements. */
#ifndef AFTERSALE_DB_H
#define AFTERSALE_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every db_* and storage function (store, queue, planner, stats, import)
 * returns DB_OK, a negative DB_* error (already logged), or a positive
 * count or verdict of its own (1: found; IMPORT_BAD) that its header names.
 */
#define DB_OK		0
#define DB_ERROR	(-1)	/* logged; the database is unusable for this */
#define DB_BUSY		(-2)	/* logged; another process holds the lock */
#define DB_NEWER	(-3)	/* logged; the schema is newer than we are */
#define DB_OLD		(-4)	/* logged; migrations are pending (read-only) */
#define DB_FULL		(-5)	/* logged once; the disk is full */

#define DB_BUSY_TIMEOUT_MS	5000
#define DB_CACHE_MAX		96	/* prepared statements kept; more is a bug
				   (the daemon prepares about 66) */
#define DB_CACHE_KIB		8192	/* page cache, by default */
#define DB_BULK_CACHE_KIB	16384	/* page cache for bulk imports */

struct db {
	sqlite3		*sqlite;
	char		*path;
	struct {
		const char	*sql;
		sqlite3_stmt	*stmt;
	}		 cache[DB_CACHE_MAX];
	size_t		 ncache;
	int		 full;		/* the disk was full: said once */
	int64_t		 changes_at_begin;	/* rows written, at db_begin */
	/* The shop's key to its referral codes, read once (store.c). */
	unsigned char	 referral_key[16];
	int		 referral_key_read;
	/* Its cipher for unsubscribe tokens, made once (store.c). */
	struct token_cipher *unsubscribe_cipher;
};

int	db_open(const char *path, struct db **out);
int	db_open_readonly(const char *path, struct db **out);
int	db_durable(struct db *db, int on);
void	db_close(struct db *db);
int	db_cache_size(struct db *db, int kib);
int	db_exec(struct db *db, const char *sql);
void	db_release_memory(struct db *db);
sqlite3_stmt *db_prepare(struct db *db, const char *sql);
int	db_step(struct db *db, sqlite3_stmt *stmt);
int	db_run(struct db *db, const char *sql, int64_t a, int64_t b,
	    const char *text, int64_t *out);
int	db_write(struct db *db, const char *sql, int64_t a, int64_t b,
	    const char *text);
int	db_begin(struct db *db);
int	db_begin_read(struct db *db);
int	db_end(struct db *db, int rc);
int	db_savepoint(struct db *db);
int	db_savepoint_end(struct db *db, int rc);
int	db_in_transaction(struct db *db);
int	db_checkpoint(struct db *db);
int	db_fail(struct db *db, int rc, const char *doing);

#endif
