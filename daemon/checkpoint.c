/*
 * The daemon's WAL checkpoints, on a libuv worker instead of the loop.
 *
 * SQLite's automatic checkpoint runs inside the commit that takes the WAL
 * past 1000 pages: it copies them home and syncs, milliseconds in which
 * the loop records nothing, and every sender thread waits at the end of
 * its next message for that commit (sender.c).  Here the loop's commits
 * only note the WAL's size, and a worker thread checkpoints on a
 * connection of its own, passively: the loop goes on committing, and a
 * reader in the way only makes it a partial checkpoint, finished by the
 * next one (issue 13).
 */

#include <stdlib.h>

#include "checkpoint.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Three times SQLite's own automatic mark: each checkpoint ends with the
 * loop copying the last frames and syncing (checkpoint_done), so fewer of
 * them leave the loop more time; 12 MB of WAL stays under its size limit
 * (db.c).
 */
#define CHECKPOINT_SQLITE_PAGES	1000
#define CHECKPOINT_PAGES	(3 * CHECKPOINT_SQLITE_PAGES)

/*
 * The loop thread's, but for sqlite and rc, which belong to the worker
 * thread while busy is set (from uv_queue_work() until checkpoint_done()).
 */
struct checkpoint {
	uv_loop_t	*loop;
	uv_work_t	 work;
	sqlite3		*sqlite;	/* a connection of its own */
	sqlite3		*loop_sqlite;	/* the loop's, whose WAL it is */
	int		 rc;		/* the last checkpoint's */
	int		 frames;	/* in the WAL, as it began */
	int		 copied;	/* of them, copied home */
	int		 busy;		/* a checkpoint is queued or running */
	int		 closing;	/* checkpoint_stop() came while busy */
};

/* On a worker thread. */
static void
checkpoint_run(uv_work_t *w)
{
	struct checkpoint *c = w->data;

	c->rc = sqlite3_wal_checkpoint_v2(c->sqlite, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, &c->frames, &c->copied);
}

static void
checkpoint_free(struct checkpoint *c)
{
	sqlite3_close(c->sqlite);
	free(c);
}

static void
checkpoint_done(uv_work_t *w, int status)
{
	struct checkpoint *c = w->data;

	c->busy = 0;
	if (c->closing) {
		checkpoint_free(c);
		return;
	}
	/* Busy: another process checkpoints.  Either way, the next commit
	 * past the mark tries again. */
	if (status != 0 || c->rc != SQLITE_OK) {
		if (status == 0 && (c->rc & 0xff) != SQLITE_BUSY)
			log_warnx("checkpointing the WAL failed: %s; trying "
			    "again after the next commit",
			    sqlite3_errstr(c->rc));
		return;
	}
	/*
	 * The loop committed meanwhile, and SQLite starts the WAL over only
	 * once all of it is home: the few frames written since are copied
	 * here, on the loop, or the WAL would grow for as long as sending
	 * goes on.  A reader in the way leaves it for the next time.
	 */
	if (c->copied == c->frames)
		sqlite3_wal_checkpoint_v2(c->loop_sqlite, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

/* sqlite3_wal_hook(): after each of the loop's commits, on the loop. */
static int
checkpoint_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct checkpoint *c = arg;

	(void)db;
	(void)name;
	if (pages < CHECKPOINT_PAGES || c->busy || c->closing)
		return SQLITE_OK;
	c->work.data = c;
	if (uv_queue_work(c->loop, &c->work, checkpoint_run,
	    checkpoint_done) == 0)
		c->busy = 1;
	return SQLITE_OK;
}

/*
 * Checkpoint db's WAL on loop's worker threads from now on.  Without a
 * connection of its own, SQLite's automatic checkpoints stay (logged):
 * slower, not wrong.  Returns 0; *out is NULL in that case.
 */
int
checkpoint_start(struct checkpoint **out, uv_loop_t *loop, struct db *db)
{
	struct checkpoint	*c = xcalloc(1, sizeof(*c));
	int			 rc;

	*out = NULL;
	c->loop = loop;
	c->loop_sqlite = db->sqlite;
	rc = sqlite3_open_v2(db->path, &c->sqlite, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	/*
	 * A connection learns that the database is in WAL mode at its first
	 * read; until then sqlite3_wal_checkpoint_v2() on it does nothing
	 * and says -1 frames, and the whole checkpoint fell to the loop.
	 */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->sqlite, "SELECT count(*) FROM sqlite_schema",
		    NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("cannot open and read %s a second time for "
		    "checkpoints: %s; the WAL is checkpointed as it is written",
		    db->path,
		    sqlite3_errstr(rc));
		checkpoint_free(c);
		return 0;
	}
	sqlite3_wal_hook(db->sqlite, checkpoint_hook, c);	/* replaces SQLite's */
	*out = c;
	return 0;
}

/*
 * SQLite's automatic checkpoints again, and the worker's connection
 * closed, once a checkpoint running now ends: the loop must run once more
 * for that (daemon_run() does, to close its handles).
 */
void
checkpoint_stop(struct checkpoint *c, struct db *db)
{
	if (c == NULL)
		return;
	sqlite3_wal_autocheckpoint(db->sqlite, CHECKPOINT_SQLITE_PAGES);
	if (c->busy)
		c->closing = 1;
	else
		checkpoint_free(c);
}
