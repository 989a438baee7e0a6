/* The daemon: one libuv loop that plans, schedules and sends. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <uv.h>

#include "daemon.h"
#include "db.h"
#include "log.h"
#include "planner.h"
#include "queue.h"
#include "smtp.h"
#include "timestamp.h"

#define RELAY_BACKOFF_MIN	5	/* seconds, doubling while it stays down */
#define RELAY_BACKOFF_MAX	300
#define DAEMON_SETTLE_MS	50	/* after another process's last write */

struct daemon;

/* A connection and the message it is sending, if any. */
struct worker {
	uv_work_t		 work;
	struct daemon		*d;
	struct smtp_conn	 conn;
	struct outgoing		 msg;
	int			 busy;
	int			 done;		/* answered; result not yet recorded */
	int			 stale;		/* settings changed: remake */
	enum queue_outcome	 outcome;	/* of the transfer just done */
	char			 why[600];
	int64_t			 retry_at;
};

/* The daemon's whole state, owned by the loop thread. */
struct daemon {
	uv_loop_t	 loop;
	const char	*config_path;
	struct config	*cfg;
	struct db	*db;
	char		*password;

	struct worker	*workers;
	int		 nworkers;	/* smtp.max_connections at start */
	int		 busy;

	uv_timer_t	 due_timer;	/* the earliest due message */
	uv_timer_t	 plan_timer;	/* the next batch of a big import */
	uv_timer_t	 change_timer;	/* a commit by another process settles */
	uv_timer_t	 watchdog;	/* housekeeping: only under systemd */
	uv_fs_event_t	 db_watch;	/* other processes' commits */
	uv_check_t	 record;	/* after a loop turn's transfers finished */
	uv_signal_t	 sigterm, sigint, sighup;

	int64_t		 data_version;	/* of the last change we saw */
	int64_t		 relay_down_until;
	int		 backoff;
	double		 tokens;	/* smtp.rate's bucket */
	uint64_t	 tokens_at;	/* ms */
	int		 stopping;
	int		 failed;	/* fatal database trouble: exit non-zero */
	int		 notify;	/* run by systemd: NOTIFY_SOCKET is set */
	uint64_t	 status_at;	/* ms, when STATUS= was last sent */

	long		 sent, deferred, failures;
};

static void	daemon_pump(struct daemon *, int);
static void	daemon_plan(struct daemon *);

static void
daemon_due(uv_timer_t *t)
{
	daemon_pump(t->data, 0);
}

static int64_t
daemon_now(void)
{
	return (int64_t)time(NULL);
}

/*
 * Tell systemd how things stand, at most every few seconds: counting the
 * queue reads every message, which a busy sender must not do per message.
 */
static void
daemon_status(struct daemon *d)
{
	int64_t	counts[8], due;
	char	when[TIMESTAMP_LEN] = "nothing";

	if (!d->notify || uv_now(&d->loop) - d->status_at < 5000)
		return;
	d->status_at = uv_now(&d->loop);
	if (queue_counts(d->db, counts) != DB_OK)
		return;
	if (queue_next_due(d->db, &due) == 1)
		timestamp_format(due, when);
	sd_notifyf(0, "STATUS=%lld scheduled, %lld deferred, %d sending; "
	    "next due %s; sent %ld since start", (long long)counts[0],
	    (long long)counts[3], d->busy, when, d->sent);
}

/* A database error in the loop: log it (done), stop, exit non-zero. */
static void
daemon_db_failed(struct daemon *d, int rc)
{
	if (rc == DB_BUSY)
		return;		/* another process holds the lock: try later */
	log_error("stopping: the database cannot be used");
	d->failed = 1;
	d->stopping = 1;
	uv_stop(&d->loop);
}

/* Arm the timer for the earliest due message, or the relay's return. */
static void
daemon_arm(struct daemon *d)
{
	int64_t	due, now = daemon_now();
	int	rc;

	if (d->stopping)
		return;
	if ((rc = queue_next_due(d->db, &due)) < 0) {
		daemon_db_failed(d, rc);
		return;
	}
	if (rc == 0) {
		uv_timer_stop(&d->due_timer);
		return;
	}
	if (due < d->relay_down_until)
		due = d->relay_down_until;
	/*
	 * Never 0 ms: libuv runs a timer re-armed with 0 from its own
	 * callback again at once, and the loop would never poll.
	 */
	uv_timer_start(&d->due_timer, daemon_due,
	    due > now ? (uint64_t)(due - now) * 1000 : 1, 0);
}

/*
 * How many of `want` messages smtp.rate allows now: a token bucket that
 * holds one second's worth.  When none, *wait_ms says when one will be.
 */
static int
daemon_allowance(struct daemon *d, int want, uint64_t *wait_ms)
{
	double	 rate = d->cfg->smtp.rate;
	uint64_t now = uv_now(&d->loop);

	*wait_ms = 0;
	if (rate <= 0)
		return want;
	d->tokens += rate * (double)(now - d->tokens_at) / 1000.0;
	if (d->tokens > (rate < 1 ? 1 : rate))
		d->tokens = rate < 1 ? 1 : rate;
	d->tokens_at = now;
	if (d->tokens < 1) {
		*wait_ms = (uint64_t)ceil((1 - d->tokens) * 1000.0 / rate);
		return 0;
	}
	return want < (int)d->tokens ? want : (int)d->tokens;
}

static void
daemon_work(uv_work_t *req)
{
	struct worker *w = req->data;

	smtp_send(&w->conn, &w->msg);
}

static void
daemon_log_outcome(const struct outgoing *m, enum queue_outcome outcome,
    const char *why)
{
	static const char *const names[] = {
		[QUEUE_SENT] = "sent",
		[QUEUE_DEFERRED] = "deferred",
		[QUEUE_FAILED] = "failed",
		[QUEUE_BOUNCED] = "failed, address suppressed",
		[QUEUE_RELAY_DOWN] = "deferred, relay unusable",
	};
	if (outcome == QUEUE_SENT)
		log_info("message %lld (%s) to %s: %s: %s", (long long)m->id,
		    m->campaign, m->rcpt, names[outcome], why);
	else
		log_warnx("message %lld (%s) to %s: %s: %s", (long long)m->id,
		    m->campaign, m->rcpt, names[outcome], why);
}

static void
daemon_record(uv_check_t *h)
{
	uv_check_stop(h);
	daemon_pump(h->data, 1);
}

/* Back on the loop: judge the relay's answer, then record it and go on. */
static void
daemon_work_done(uv_work_t *req, int status)
{
	struct worker	*w = req->data;
	struct daemon	*d = w->d;
	int64_t		 now = daemon_now();

	(void)status;
	w->outcome = smtp_outcome(&w->conn, w->why, sizeof(w->why));
	w->retry_at = now;
	if (w->outcome == QUEUE_RELAY_DOWN) {
		if (now >= d->relay_down_until) {
			d->backoff = d->backoff ? d->backoff * 2 : RELAY_BACKOFF_MIN;
			if (d->backoff > RELAY_BACKOFF_MAX)
				d->backoff = RELAY_BACKOFF_MAX;
			d->relay_down_until = now + d->backoff;
			log_error("relay %s unusable: %s; sending paused for %d s",
			    d->cfg->smtp.url, w->why, d->backoff);
		}
		w->retry_at = d->relay_down_until;
	} else if (d->backoff != 0) {
		log_info("relay %s answers again", d->cfg->smtp.url);
		d->backoff = 0;
		d->relay_down_until = 0;
	}
	daemon_log_outcome(&w->msg, w->outcome, w->why);
	d->sent += w->outcome == QUEUE_SENT;
	d->deferred += w->outcome == QUEUE_DEFERRED || w->outcome == QUEUE_RELAY_DOWN;
	d->failures += w->outcome == QUEUE_FAILED || w->outcome == QUEUE_BOUNCED;
	/*
	 * Transfers that finish in the same turn of the loop are recorded
	 * together, in one transaction, once the turn's callbacks have run.
	 */
	w->done = 1;
	uv_check_start(&d->record, daemon_record);
}

/* Make the connection's handle if it has none, or settings changed. */
static void
daemon_worker_ready(struct daemon *d, struct worker *w)
{
	if (w->stale) {
		smtp_conn_cleanup(&w->conn);
		w->stale = 0;
	}
	if (w->conn.easy == NULL &&
	    smtp_conn_init(&w->conn, d->cfg, d->password) == -1)
		log_error("cannot make a libcurl handle");
}

/* How many messages to claim now: idle connections, the relay, the rate. */
static int
daemon_wanted(struct daemon *d, uint64_t *wait_ms)
{
	int want = d->nworkers - d->busy;

	*wait_ms = 0;
	if (d->stopping || want <= 0 || daemon_now() < d->relay_down_until)
		return 0;
	return daemon_allowance(d, want, wait_ms);
}

static void
daemon_dispatch(struct daemon *d, struct outgoing *batch, int n)
{
	for (int i = 0, k = 0; i < n; i++) {
		struct worker *w;

		while (d->workers[k].busy)
			k++;
		w = &d->workers[k];
		w->msg = batch[i];
		w->busy = 1;
		d->busy++;
		if (d->cfg->smtp.rate > 0)
			d->tokens -= 1;
		/* Without a handle the transfer fails at once, as the relay's
		 * trouble: deferred, no attempt spent. */
		daemon_worker_ready(d, w);
		uv_queue_work(&d->loop, &w->work, daemon_work, daemon_work_done);
	}
}

/*
 * One write transaction per turn: the answers workers brought back (if
 * `record`) are recorded, and as many due messages as there are idle
 * connections are claimed; the commit comes before any transfer starts.
 * Then sleep until the next message is due.
 */
static void
daemon_pump(struct daemon *d, int record)
{
	struct outgoing	 batch[64];
	uint64_t	 wait_ms = 0;
	int		 n = 0, want, rc;

	if ((rc = db_begin(d->db)) != DB_OK) {
		daemon_db_failed(d, rc);
		return;
	}
	for (int i = 0; record && i < d->nworkers && rc == DB_OK; i++) {
		struct worker *w = &d->workers[i];

		if (!w->done)
			continue;
		rc = queue_result(d->db, d->cfg, &w->msg, w->outcome, w->why,
		    daemon_now(), w->retry_at);
		queue_free(&w->msg);
		w->done = w->busy = 0;
		d->busy--;
	}
	want = rc == DB_OK ? daemon_wanted(d, &wait_ms) : 0;
	if (want > 0)
		rc = queue_claim(d->db, d->cfg, daemon_now(), batch, want, &n);
	if (rc == DB_OK)
		rc = db_commit(d->db);
	if (rc != DB_OK) {
		/* Recorded nothing: those messages stay "sending" and go again
		 * at the next start. */
		db_rollback(d->db);
		for (int i = 0; i < n; i++)
			queue_free(&batch[i]);
		daemon_db_failed(d, rc);
		return;
	}
	daemon_dispatch(d, batch, n);
	if (d->stopping) {
		if (d->busy == 0)
			uv_stop(&d->loop);
		return;
	}
	if (wait_ms > 0)
		uv_timer_start(&d->due_timer, daemon_due, wait_ms, 0);
	else if (d->busy < d->nworkers)
		daemon_arm(d);		/* idle connections: wake when due */
	else
		uv_timer_stop(&d->due_timer);	/* a finished transfer pumps */
	daemon_status(d);
}

static void
daemon_plan_timer(uv_timer_t *t)
{
	daemon_plan(t->data);
}

/* Plan a batch of new sales; come back for the next one after a turn. */
static void
daemon_plan(struct daemon *d)
{
	int planned, more, rc;

	if (d->stopping)
		return;
	if ((rc = planner_run(d->db, d->cfg, daemon_now(), &planned, &more)) != DB_OK) {
		daemon_db_failed(d, rc);
		return;
	}
	if (planned > 0)
		log_info("planned %d message%s", planned, planned == 1 ? "" : "s");
	if (more)
		uv_timer_start(&d->plan_timer, daemon_plan_timer, 0, 0);
	daemon_pump(d, 0);
}

static int64_t
daemon_data_version(struct daemon *d)
{
	sqlite3_stmt	*st = db_prepare(d->db, "PRAGMA data_version");
	int64_t		 v = -1;

	if (st != NULL && db_step(d->db, st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	if (st != NULL)
		sqlite3_reset(st);
	return v;
}

/* Is this file of the folder the database or its write-ahead log? */
static int
daemon_db_file(const struct daemon *d, const char *file)
{
	const char	*slash = strrchr(d->cfg->database_path, '/');
	const char	*base = slash ? slash + 1 : d->cfg->database_path;
	size_t		 len = strlen(base);

	return file != NULL && strncmp(file, base, len) == 0 &&
	    (file[len] == '\0' || strcmp(file + len, "-wal") == 0);
}

/*
 * Another process may have committed.  PRAGMA data_version moves only for
 * other connections' commits, so our own writes cost a cheap query.
 */
static void
daemon_check_changes(uv_timer_t *t)
{
	struct daemon	*d = t->data;
	int64_t		 v;

	if (d->stopping || (v = daemon_data_version(d)) == d->data_version)
		return;
	log_debug("the database changed: planning new sales");
	d->data_version = v;
	daemon_plan(d);
}

/*
 * The database or its WAL was written.  A commit's last WAL write comes
 * just before it updates the shared-memory index, which inotify cannot
 * see: look a moment after the writes stop, not at once.
 */
static void
daemon_db_changed(uv_fs_event_t *h, const char *file, int events, int status)
{
	struct daemon *d = h->data;

	(void)events;
	if (status < 0 || d->stopping || !daemon_db_file(d, file))
		return;
	uv_timer_start(&d->change_timer, daemon_check_changes,
	    DAEMON_SETTLE_MS, 0);
}

static int
daemon_password(struct daemon *d, const struct config *cfg)
{
	char *password;

	if (smtp_password(cfg, &password) == -1)
		return -1;
	if (cfg->smtp.username[0] != '\0' && password == NULL) {
		log_error("smtp.username is set but there is no password: set "
		    "smtp.password_file or the systemd credential smtp-password");
		return -1;
	}
	free(d->password);
	d->password = password;
	return 0;
}

/* SIGHUP: a bad configuration is reported and the running one kept. */
static void
daemon_reload(struct daemon *d)
{
	struct config	*cfg = NULL;
	int		 rc;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)uv_hrtime() / 1000);
	log_info("reloading %s", d->config_path);
	if (config_load(d->config_path, &cfg) == -1 ||
	    daemon_password(d, cfg) == -1) {
		if (cfg != NULL)
			config_free(cfg);
		/* config_load set TZ from the new file; put ours back. */
		timestamp_set_timezone(d->cfg->timezone);
		log_error("%s has errors; keeping the running configuration",
		    d->config_path);
		sd_notify(0, "READY=1");
		return;
	}
	if ((rc = queue_reconfigure(d->db, d->cfg, cfg, daemon_now())) != DB_OK) {
		config_free(cfg);
		timestamp_set_timezone(d->cfg->timezone);
		daemon_db_failed(d, rc);
		return;
	}
	config_free(d->cfg);
	d->cfg = cfg;
	log_set_level(cfg->log_level);
	if (cfg->smtp.max_connections != d->nworkers)
		log_warnx("smtp.max_connections changes at the next restart");
	for (int i = 0; i < d->nworkers; i++)
		d->workers[i].stale = 1;	/* remade before their next use */
	d->relay_down_until = 0;
	d->backoff = 0;
	log_info("reloaded %s: %zu campaigns", d->config_path, cfg->ncampaigns);
	sd_notify(0, "READY=1");
	daemon_plan(d);
}

static void
daemon_stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = 1;
	sd_notify(0, "STOPPING=1");
	log_info("%s: stopping after %d message%s in flight", why, d->busy,
	    d->busy == 1 ? "" : "s");
	uv_timer_stop(&d->due_timer);
	uv_timer_stop(&d->plan_timer);
	uv_timer_stop(&d->change_timer);
	uv_fs_event_stop(&d->db_watch);
	if (d->busy == 0)
		uv_stop(&d->loop);
}

static void
daemon_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (signum == SIGHUP)
		daemon_reload(d);
	else
		daemon_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
daemon_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

/* Watch the database's folder: the WAL file changes with every commit. */
static int
daemon_watch(struct daemon *d)
{
	char	*dir = strdup(d->cfg->database_path), *slash;
	int	 rc;

	if (dir == NULL)
		return -1;
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	rc = uv_fs_event_start(&d->db_watch, daemon_db_changed,
	    slash ? dir : ".", 0);
	if (rc < 0)
		log_error("cannot watch %s for new sales: %s", dir, uv_strerror(rc));
	free(dir);
	return rc < 0 ? -1 : 0;
}

static int
daemon_start(struct daemon *d)
{
	uint64_t	usec;
	int		recovered, rc;
	char		threads[16];

	/* One pool thread per connection, and one for libuv's own use. */
	snprintf(threads, sizeof(threads), "%d", d->nworkers + 1);
	setenv("UV_THREADPOOL_SIZE", threads, 1);
	if (uv_loop_init(&d->loop) != 0)
		return -1;
	d->loop.data = d;
	uv_timer_init(&d->loop, &d->due_timer);
	uv_timer_init(&d->loop, &d->plan_timer);
	uv_timer_init(&d->loop, &d->change_timer);
	uv_timer_init(&d->loop, &d->watchdog);
	uv_fs_event_init(&d->loop, &d->db_watch);
	uv_check_init(&d->loop, &d->record);
	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sighup);
	d->due_timer.data = d->plan_timer.data = d->change_timer.data = d;
	d->watchdog.data = d;
	d->db_watch.data = d->sigterm.data = d->sigint.data = d->sighup.data = d;
	d->record.data = d;
	uv_signal_start(&d->sigterm, daemon_signal, SIGTERM);
	uv_signal_start(&d->sigint, daemon_signal, SIGINT);
	uv_signal_start(&d->sighup, daemon_signal, SIGHUP);

	if ((rc = queue_recover(d->db, daemon_now(), &recovered)) != DB_OK)
		return -1;
	if (recovered > 0)
		log_warnx("%d message%s were being sent when aftersale last "
		    "stopped; sending them again", recovered,
		    recovered == 1 ? "" : "s");
	if (daemon_watch(d) == -1)
		return -1;
	d->data_version = daemon_data_version(d);
	if (sd_watchdog_enabled(0, &usec) > 0)
		uv_timer_start(&d->watchdog, daemon_watchdog, usec / 2000,
		    usec / 2000);
	d->notify = getenv("NOTIFY_SOCKET") != NULL;
	d->tokens_at = uv_now(&d->loop);
	d->tokens = d->cfg->smtp.rate;
	log_info("aftersale %s running: %zu campaigns, %d connection%s to %s",
	    PACKAGE_VERSION, d->cfg->ncampaigns, d->nworkers,
	    d->nworkers == 1 ? "" : "s", d->cfg->smtp.url);
	sd_notify(0, "READY=1");
	daemon_plan(d);
	return 0;
}

static void
daemon_close_handle(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/*
 * Run until SIGTERM or SIGINT.  Owns cfg from here on.  Returns an exit
 * status: 0 after a clean stop.
 */
int
daemon_run(const char *config_path, struct config *cfg)
{
	struct daemon	d;
	int		rc, status = EX_OK;

	memset(&d, 0, sizeof(d));
	d.config_path = config_path;
	d.cfg = cfg;
	d.nworkers = cfg->smtp.max_connections;
	log_init(LOG_STYLE_DAEMON);
	log_set_level(cfg->log_level);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot initialize libcurl");
		config_free(cfg);
		return EX_SOFTWARE;
	}
	if ((rc = db_open(cfg->database_path, &d.db)) != DB_OK) {
		status = rc == DB_BUSY ? EX_TEMPFAIL : EX_UNAVAILABLE;
		goto out;
	}
	if (daemon_password(&d, cfg) == -1) {
		status = EX_CONFIG;
		goto out;
	}
	if ((d.workers = calloc((size_t)d.nworkers, sizeof(*d.workers))) == NULL) {
		status = EX_SOFTWARE;
		goto out;
	}
	for (int i = 0; i < d.nworkers; i++) {
		d.workers[i].d = &d;
		d.workers[i].work.data = &d.workers[i];
	}
	if (daemon_start(&d) == -1) {
		status = EX_UNAVAILABLE;
		goto out;
	}
	uv_run(&d.loop, UV_RUN_DEFAULT);
	if (d.failed)
		status = EX_IOERR;
	log_info("stopped: %ld sent, %ld deferred, %ld failed since start",
	    d.sent, d.deferred, d.failures);

	uv_walk(&d.loop, daemon_close_handle, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);	/* let the closes finish */
	uv_loop_close(&d.loop);
out:
	for (int i = 0; d.workers != NULL && i < d.nworkers; i++) {
		smtp_conn_cleanup(&d.workers[i].conn);
		queue_free(&d.workers[i].msg);
	}
	free(d.workers);
	if (d.password != NULL)
		memset(d.password, 0, strlen(d.password));
	free(d.password);
	db_close(d.db);
	config_free(d.cfg);
	curl_global_cleanup();
	return status;
}
