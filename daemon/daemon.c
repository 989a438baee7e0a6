/* The daemon: one libuv loop that plans, schedules and sends. */

#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>	/* mallopt, malloc_trim */
#endif
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "checkpoint.h"
#include "coupon.h"
#include "daemon.h"
#include "db.h"
#include "instance.h"
#include "delivery.h"
#include "http.h"
#include "log.h"
#include "planner.h"
#include "privacy.h"
#include "queue.h"
#include "reorder.h"
#include "scheduler.h"
#include "sender.h"
#include "store.h"
#include "smtp.h"
#include "timestamp.h"
#include "xmalloc.h"

#define DAEMON_SETTLE_MS	50	/* after another process's last write */
#define DAEMON_LOOK_MS		50	/* while sending, for other commits */
#define DAEMON_SETTLE_MAX_MS	1000	/* 50 ms, 200, 800, then every second */
#define DAEMON_SETTLE_TRIES	30	/* looks, about half a minute */
#define DAEMON_BUSY_RETRY_MS	1000	/* after the busy timeout ran out */
#define DAEMON_FULL_RETRY_MS	1000	/* a full disk: doubling while it is */
#define DAEMON_FULL_RETRY_MAX_MS 60000
#define DAEMON_TIDY_MS		(24 * 3600 * 1000)	/* daily, from the start */
#define DAEMON_HOLD_LOOK_S	3600	/* a far hold end is looked at hourly */
#define DAEMON_IDLE_MS		5000	/* quiet this long: memory goes back */
#define DAEMON_HEAP_KEEP	(8 * 1024 * 1024)	/* freed, kept while busy */
#define DAEMON_HEAP_BLOCK	(1024 * 1024)	/* blocks up to it: from the heap */

/* The daemon's whole state, owned by the loop thread. */
struct daemon {
	uv_loop_t	 loop;
	const char	*config_path;
	struct config	*cfg;
	struct db	*db;
	struct checkpoint *checkpoint;	/* the WAL's, off the loop */

	struct sender	*sender;
	int		 nworkers;	/* smtp.max_connections at start */

	struct scheduler scheduler;	/* the next turn, smtp.rate */
	uv_timer_t	 plan_timer;	/* the next batch of a big import */
	uv_timer_t	 hold_timer;	/* the next referral's hold ends */
	uv_timer_t	 change_timer;	/* a commit by another process settles */
	int		 settle_tries;	/* looks left after the last write seen */
	uv_timer_t	 housekeeping;	/* systemd's watchdog, the daily tidy */
	uint64_t	 watchdog_ms;	/* its period under systemd; 0: none */
	uint64_t	 tidy_at;	/* loop ms of the last tidy */
	uv_timer_t	 idle_timer;	/* quiet a while: memory goes back */
	uv_fs_event_t	 db_watch;	/* other processes' commits */
	int		 watching;	/* db_watch is started */
	uv_async_t	 sender_wake;	/* an answer, or room for a message */
	uv_signal_t	 sigterm, sigint, sighup;

	int64_t		 data_version;	/* of the last change we saw */
	uint64_t	 version_at;	/* loop ms it was last looked at */
	struct delivery_backoff relay;	/* paused while the relay is down */
	uint64_t	 rng;		/* retry jitter; the loop thread's */
	uint64_t	 full_ms;	/* the disk is full: the next wait */
	int		 loop_open;	/* uv_loop_init() succeeded */
	int		 stopping;
	int		 failed;	/* fatal database trouble: exit non-zero */
	int		 notify;	/* run by systemd: NOTIFY_SOCKET is set */
	uint64_t	 status_at;	/* ms, when STATUS= was last sent */

	struct coupon_alarms coupons;	/* what was said of each pool */

	struct http_env	 front;		/* what the HTTP front door sees */
	struct http	*http;		/* NULL: no http block */
};

static void	daemon_pump(struct daemon *);
static void	daemon_plan(struct daemon *);
static void	daemon_reorder_refresh(struct daemon *);
static void	daemon_check_changes(uv_timer_t *);
static void	daemon_idle(uv_timer_t *);
static int64_t	daemon_data_version(struct daemon *);
static int	daemon_watch(struct daemon *);

static void
daemon_due(uv_timer_t *t)
{
	daemon_pump(t->data);
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
	int64_t	counts[QUEUE_NSTATES], due;
	char	when[TIMESTAMP_LEN] = "nothing";

	if (!d->notify || uv_now(&d->loop) - d->status_at < 5000)
		return;
	d->status_at = uv_now(&d->loop);
	if (queue_counts(d->db, counts) != DB_OK)
		return;
	if (queue_next_due(d->db, &due) == 1)
		timestamp_format(due, when);
	sd_notifyf(0, "STATUS=%lld scheduled, %lld deferred, %d sending; "
	    "next due %s; sent %ld since start",
	    (long long)counts[QUEUE_STATE_SCHEDULED],
	    (long long)counts[QUEUE_STATE_DEFERRED], sender_busy(d->sender),
	    when, d->front.sent);
}

/*
 * A database error in the loop: log it (done), stop, exit non-zero.  Two
 * are not errors, and the turn is tried again later, since answers may
 * be waiting with their connections held back: a lock held by another
 * process past the busy timeout (a big import), tried again a second
 * later; and a full disk, tried again after a wait that doubles up to a
 * minute, sending paused meanwhile.
 */
static void
daemon_db_failed(struct daemon *d, int rc)
{
	if (rc == DB_BUSY) {
		log_warnx("the database is locked by another process; trying "
		    "again in %d ms", DAEMON_BUSY_RETRY_MS);
		scheduler_after(&d->scheduler, DAEMON_BUSY_RETRY_MS);
		return;
	}
	if (rc == DB_FULL) {
		d->full_ms = d->full_ms ? d->full_ms * 2 : DAEMON_FULL_RETRY_MS;
		if (d->full_ms > DAEMON_FULL_RETRY_MAX_MS)
			d->full_ms = DAEMON_FULL_RETRY_MAX_MS;
		scheduler_after(&d->scheduler, d->full_ms);
		return;
	}
	log_error("stopping: the database cannot be used");
	d->failed = 1;
	d->stopping = 1;
	uv_stop(&d->loop);
}

/* Arm the timer for the earliest due message, or the relay's return. */
static void
daemon_arm(struct daemon *d)
{
	int rc;

	if (d->stopping)
		return;
	if ((rc = scheduler_arm(&d->scheduler, d->db, daemon_now(),
	    d->relay.until)) != DB_OK)
		daemon_db_failed(d, rc);
}

static void
daemon_log_outcome(const struct outgoing *m, const struct delivery_verdict *v)
{
	static const char *const names[] = {
		[QUEUE_SENT] = "sent",
		[QUEUE_DEFERRED] = "deferred",
		[QUEUE_FAILED] = "failed",
		[QUEUE_BOUNCED] = "failed, address suppressed",
	};
	const char *name = v->relay_down && v->outcome == QUEUE_DEFERRED ?
	    "deferred, relay unusable" : names[v->outcome];

	if (v->outcome == QUEUE_SENT)
		log_info("message %lld (%s) to %s: %s: %s", (long long)m->id,
		    m->campaign, m->rcpt, name, v->why);
	else
		log_warnx("message %lld (%s) to %s: %s: %s", (long long)m->id,
		    m->campaign, m->rcpt, name, v->why);
}

/*
 * What one turn makes of the relay's answers, applied only once they are
 * recorded: a turn whose commit fails is judged again from the start, and
 * must not log, count or back off twice.
 */
struct daemon_turn {
	struct delivery_backoff	relay;		/* the relay's pause after them */
	struct delivery_verdict	verdict[SENDER_MAX];
	char			down[DELIVERY_WHY_LEN];	/* why it paused */
	int			came_up;	/* the relay answers again */
};

/* delivery.c's verdict on each answer, and the relay's pause after them. */
static void
daemon_judge(struct daemon *d, struct sender_result **done, int ndone,
    int64_t now, struct daemon_turn *t)
{
	t->relay = d->relay;
	t->down[0] = '\0';
	t->came_up = 0;
	for (int i = 0; i < ndone; i++) {
		struct delivery_verdict	*v = &t->verdict[i];
		char			 why[DELIVERY_WHY_LEN];

		if (delivery_outcome(&done[i]->smtp, why, sizeof(why)) ==
		    QUEUE_RELAY_DOWN) {
			if (delivery_relay_down(&t->relay, now))
				snprintf(t->down, sizeof(t->down), "%s", why);
		} else if (delivery_relay_up(&t->relay)) {
			t->came_up = 1;
		}
		delivery_judge(d->cfg, &done[i]->smtp, done[i]->msg, now,
		    t->relay.until, &d->rng, v);
	}
}

/* The answers are recorded: log them, count them, pause or resume. */
static void
daemon_judged(struct daemon *d, struct sender_result **done, int ndone,
    const struct daemon_turn *t)
{
	if (t->came_up)
		log_info("relay %s answers again", d->cfg->smtp.url);
	if (t->down[0] != '\0')
		log_error("relay %s unusable: %s; sending paused for %d s",
		    d->cfg->smtp.url, t->down, t->relay.seconds);
	d->relay = t->relay;
	for (int i = 0; i < ndone; i++) {
		const struct delivery_verdict *v = &t->verdict[i];

		daemon_log_outcome(done[i]->msg, v);
		d->front.sent += v->outcome == QUEUE_SENT;
		d->front.deferred += v->outcome == QUEUE_DEFERRED;
		d->front.failed += v->outcome == QUEUE_FAILED;
		d->front.bounced += v->outcome == QUEUE_BOUNCED;
	}
}

/*
 * How many messages to claim now: free sender slots, the relay (as this
 * turn's answers leave it), the rate.
 */
static int
daemon_wanted(struct daemon *d, const struct delivery_backoff *relay,
    uint64_t *wait_ms)
{
	int want = sender_slots(d->sender);

	*wait_ms = 0;
	if (d->stopping || want <= 0 || daemon_now() < relay->until)
		return 0;
	if (want > SENDER_MAX)
		want = SENDER_MAX;
	return scheduler_allowance(&d->scheduler, d->cfg->smtp.rate, want,
	    wait_ms);
}

/*
 * Nothing was in flight for DAEMON_IDLE_MS: give back the memory the
 * work took.  Planning a big import or sending a batch fills SQLite's
 * page cache (DB_CACHE_KIB) and leaves freed blocks in the heap; a
 * daemon that sleeps until next week need keep neither (issue 13: 22 MB
 * idle with 100,000 messages scheduled), and the next batch reads its
 * pages back from the kernel's cache, not the disk.
 */
static void
daemon_idle(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if (d->stopping || sender_busy(d->sender) > 0 ||
	    uv_is_active((uv_handle_t *)&d->plan_timer))
		return;
	db_release_memory(d->db);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/*
 * Other processes' commits: while idle, inotify on the database's folder
 * says when to look.  While sending, our own commits would wake the loop
 * for nothing (and keep the settle timer from ever firing), so each turn
 * looks at data_version instead.
 */
static void
daemon_follow(struct daemon *d)
{
	uint64_t since;

	if (sender_busy(d->sender) > 0) {
		uv_timer_stop(&d->idle_timer);
		if (d->watching) {
			uv_fs_event_stop(&d->db_watch);
			d->watching = 0;
		}
		/*
		 * A read of its own: at most every DAEMON_LOOK_MS, and at the
		 * end of that if no turn comes sooner (a slow relay).
		 */
		since = uv_now(&d->loop) - d->version_at;
		if (since < DAEMON_LOOK_MS) {
			if (!uv_is_active((uv_handle_t *)&d->change_timer))
				uv_timer_start(&d->change_timer,
				    daemon_check_changes, DAEMON_LOOK_MS - since, 0);
			return;
		}
		d->version_at = uv_now(&d->loop);
		if (daemon_data_version(d) != d->data_version)
			uv_timer_start(&d->change_timer, daemon_check_changes, 1, 0);
		return;
	}
	/* Each turn that finds nothing in flight puts it off again. */
	uv_timer_start(&d->idle_timer, daemon_idle, DAEMON_IDLE_MS, 0);
	if (!d->watching && daemon_watch(d) == 0) {
		/* Look once for what came while we were not watching. */
		uv_timer_start(&d->change_timer, daemon_check_changes,
		    DAEMON_SETTLE_MS, 0);
	}
}

/*
 * Take a code from a campaign's pool for a message being built.  With
 * none free the message waits a retry interval, deferred with the
 * reason (*back, set back in the turn's commit), and the pool's warning
 * is logged (once, not per message).  DB_OK, 1 (it waits) or DB_*.
 */
static int
daemon_coupon(struct daemon *d, struct coupon_batch *b,
    const struct campaign *c, int64_t now, struct coupon *out,
    struct queue_setback *back)
{
	int rc;

	if ((rc = coupon_take(d->db, b, c->coupon, now, out)) != 0)
		return rc == 1 ? DB_OK : rc;
	if ((rc = coupon_watch(d->db, &d->coupons, c->coupon, now)) != DB_OK)
		return rc;
	back->until = now + d->cfg->delivery.retry.v[0];
	snprintf(back->why, sizeof(back->why), "coupon pool \"%s\" is empty: "
	    "the message waits for a code (aftersale coupon import --pool %s "
	    "FILE)", c->coupon, c->coupon);
	return 1;
}

/*
 * What a turn built, before its commit: the bytes of the due messages
 * that had none, and those that could not be built (set back).
 */
struct daemon_built {
	struct outgoing		msg[SENDER_MAX];
	int			n;
	struct queue_setback	back[SENDER_MAX];
	int			nback;
	struct coupon_batch	coupons;	/* the codes the bytes carry */
};

/*
 * Build the due messages that have no bytes yet, in one read transaction
 * and outside any write transaction: rendering templates then holds no
 * lock that another process (a sale being recorded) waits on.
 * queue_claim() stores the bytes, and issues the coupon codes taken for
 * them; queue_set_back() records the rest.  DB_OK or DB_*; b's messages
 * are the caller's to free either way.
 */
static int
daemon_build(struct daemon *d, int64_t now, int max, struct daemon_built *b)
{
	struct queue_unbuilt	todo[SENDER_MAX];
	int			ntodo, rc;

	if ((rc = db_begin_read(d->db)) != DB_OK)
		return rc;
	rc = queue_unbuilt(d->db, now, todo, max, &ntodo);
	for (int i = 0; i < ntodo && rc == DB_OK; i++) {
		/* A connection waits for the commit: the rest, next turn. */
		if (b->n > 0 && sender_held(d->sender) > 0)
			break;
		const struct campaign	*c = config_campaign(d->cfg,
					    todo[i].campaign);
		struct message_facts	 facts;
		struct outgoing		*o = &b->msg[b->n];
		struct queue_setback	*back = &b->back[b->nback];

		if (c == NULL)
			continue;	/* removed: queue_claim cancels it */
		memset(o, 0, sizeof(*o));
		memset(back, 0, sizeof(*back));
		o->id = back->id = todo[i].id;
		if ((rc = store_message_facts(d->db, todo[i].customer,
		    todo[i].sale, &facts)) < 0)
			break;
		if (rc == DB_OK && *c->coupon != '\0' &&
		    (rc = daemon_coupon(d, &b->coupons, c, now, &facts.coupon,
		    back)) != DB_OK) {
			if (rc == 1) {
				b->nback++;	/* no code free: it waits */
				rc = DB_OK;
			}
			continue;
		}
		if (rc == DB_OK && message_build(d->cfg, c, &facts, now,
		    &o->text) == 0) {
			o->coupon = facts.coupon.id;
			b->n++;
			continue;
		}
		/*
		 * Logged: its customer or sale gone, or an address that would
		 * break the header (a hand-edited database).  It cannot ever go.
		 */
		buf_free(&o->text);
		b->nback++;
		rc = DB_OK;
	}
	return db_end(d->db, rc);
}

/*
 * At start and after a reload: the pools the campaigns name that are
 * empty or running low are said now, not at their first message.  The
 * database holds the pools, so the configuration could not say.
 */
static void
daemon_coupons_check(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg->ncampaigns; i++) {
		const struct campaign *c = &d->cfg->campaigns[i];

		if (c->enabled && *c->coupon != '\0' && coupon_watch(d->db,
		    &d->coupons, c->coupon, daemon_now()) != DB_OK)
			return;
	}
}

/*
 * Say how the pools that gave codes stand, once the codes are issued: a
 * pool running low is logged once.  A failure to look is only logged.
 */
static void
daemon_coupons_watch(struct daemon *d, const struct coupon_batch *b,
    int64_t now)
{
	for (int i = 0; i < b->n; i++)
		if (coupon_watch(d->db, &d->coupons, b->pools[i].pool, now) !=
		    DB_OK)
			return;
}

/*
 * Record the answers the sender brought back and claim as many due
 * messages as it has room for, in one write transaction committed before
 * any claimed message reaches the relay: a commit is most of a turn's
 * cost, and each connection waits for its last answer's commit at the
 * end of its next message (sender.c).  The answers are judged first: they
 * say whether the relay is usable.  Messages are built before the
 * transaction, outside it, and no more once a connection waits.  Then
 * sleep until the next message is due, or the sender answers.
 */
static void
daemon_pump(struct daemon *d)
{
	struct sender_result	*done[SENDER_MAX];
	struct daemon_turn	 turn;
	struct daemon_built	 built;	/* 40 KB: only its counts are set */
	struct outgoing		 batch[SENDER_MAX];
	uint64_t		 wait_ms = 0;
	int64_t			 now = daemon_now();
	int			 n = 0, ndone, want, rc = DB_OK, built_rc = DB_OK;

	built.n = built.nback = built.coupons.n = 0;
	ndone = sender_results(d->sender, done);
	daemon_judge(d, done, ndone, now, &turn);
	/* A connection waits for this commit: building comes after it. */
	want = ndone > 0 && sender_held(d->sender) > 0 ? 0 :
	    daemon_wanted(d, &turn.relay, &wait_ms);
	/* A failed build claims nothing; the answers are recorded still. */
	if (want > 0 && (built_rc = daemon_build(d, now, want, &built)) !=
	    DB_OK)
		want = built.nback = 0;
	if ((ndone > 0 || want > 0) && (rc = db_begin(d->db)) == DB_OK) {
		for (int i = 0; i < ndone && rc == DB_OK; i++)
			rc = queue_result(d->db, done[i]->msg, &turn.verdict[i],
			    d->cfg->delivery.min_gap, now);
		for (int i = 0; i < built.nback && rc == DB_OK; i++)
			rc = queue_set_back(d->db, &built.back[i], now);
		if (rc == DB_OK && want > 0)
			rc = queue_claim(d->db, d->cfg, now, built.msg, built.n,
			    batch, want, &n);
		if ((rc = db_end(d->db, rc)) != DB_OK) {
			for (int i = 0; i < n; i++)
				queue_free(&batch[i]);
			n = 0;
		}
	}
	for (int i = 0; i < built.n; i++)
		queue_free(&built.msg[i]);
	if (rc != DB_OK) {
		/* Recorded nothing: judged and recorded next turn. */
		daemon_db_failed(d, rc);
		return;
	}
	if (ndone > 0) {
		daemon_judged(d, done, ndone, &turn);
		sender_recorded(d->sender);
	}
	if (built_rc != DB_OK) {
		daemon_db_failed(d, built_rc);
		return;
	}
	d->full_ms = 0;
	for (int i = 0; i < built.nback; i++)
		if (built.back[i].until == 0)
			log_warnx("message %lld cannot be built; it fails",
			    (long long)built.back[i].id);
	daemon_coupons_watch(d, &built.coupons, now);
	scheduler_spent(&d->scheduler, d->cfg->smtp.rate, n);
	for (int i = 0; i < n; i++)
		sender_give(d->sender, &batch[i]);
	if (d->stopping) {
		if (sender_busy(d->sender) == 0)
			uv_stop(&d->loop);
		return;
	}
	daemon_follow(d);
	if (wait_ms > 0)
		scheduler_after(&d->scheduler, wait_ms);
	else if (sender_slots(d->sender) > 0)
		daemon_arm(d);		/* room for more: wake when due */
	else
		scheduler_stop(&d->scheduler);	/* an answer pumps */
	daemon_status(d);
}

static void
daemon_sender_wake(uv_async_t *h)
{
	daemon_pump(h->data);
}

static void
daemon_plan_timer(uv_timer_t *t)
{
	daemon_plan(t->data);
}

/*
 * Plan a batch of new sales, take a batch of new refunds and move
 * referrals through their hold; come back for the next batch after a
 * turn, and when the next hold ends.  The hold's end is in the database,
 * so a restart finds it again.  Monotonic timers do not follow the wall
 * clock when it is set, so a far hold end is looked at hourly.
 */
static void
daemon_plan(struct daemon *d)
{
	struct planner_result	r;
	int64_t			now = daemon_now(), wait;
	int			rc;

	if (d->stopping)
		return;
	if ((rc = planner_run(d->db, d->cfg, now, &r)) != DB_OK) {
		daemon_db_failed(d, rc);
		/* A lock or a full disk passes: plan again with the turn. */
		if (rc == DB_BUSY || rc == DB_FULL)
			uv_timer_start(&d->plan_timer, daemon_plan_timer,
			    scheduler_due_in(&d->scheduler) + 1, 0);
		return;
	}
	if (r.planned > 0)
		log_info("planned %d message%s", r.planned,
		    r.planned == 1 ? "" : "s");
	if (r.cancelled > 0)
		log_info("cancelled %d waiting message%s of sales refunded in "
		    "full", r.cancelled, r.cancelled == 1 ? "" : "s");
	if (r.stopped > 0)
		log_info("cancelled %d waiting message%s of customers whose "
		    "referred friend bought (stop_on = referred_friend)",
		    r.stopped, r.stopped == 1 ? "" : "s");
	if (r.confirmed > 0 || r.voided > 0 || r.reviewed > 0)
		log_info("referrals: %d confirmed, %d voided by a refund, %d to "
		    "review", r.confirmed, r.voided, r.reviewed);
	uv_timer_stop(&d->hold_timer);
	if (r.hold_ends > 0) {
		wait = r.hold_ends - now;
		wait = wait < 0 ? 0 : wait > DAEMON_HOLD_LOOK_S ?
		    DAEMON_HOLD_LOOK_S : wait;
		uv_timer_start(&d->hold_timer, daemon_plan_timer,
		    (uint64_t)wait * 1000 + 1, 0);
	}
	/* 1 ms, not 0: libuv would run a timer re-armed with 0 from its own
	 * callback again at once, and never poll in between. */
	if (r.more)
		uv_timer_start(&d->plan_timer, daemon_plan_timer, 1, 0);
	daemon_pump(d);
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
	const char	*slash = strrchr(d->db->path, '/');
	const char	*base = slash ? slash + 1 : d->db->path;
	size_t		 len = strlen(base);

	return file != NULL && strncmp(file, base, len) == 0 &&
	    (file[len] == '\0' || strcmp(file + len, "-wal") == 0);
}

/*
 * Another process may have committed.  PRAGMA data_version moves only for
 * other connections' commits, so our own writes cost a cheap query.
 */
/* The wait before look n + 1 after a write: 50 ms, 200, 800, then 1 s. */
static uint64_t
daemon_settle_ms(int n)
{
	uint64_t ms = DAEMON_SETTLE_MS;

	while (n-- > 0 && ms < DAEMON_SETTLE_MAX_MS)
		ms *= 4;
	return ms < DAEMON_SETTLE_MAX_MS ? ms : DAEMON_SETTLE_MAX_MS;
}

static void
daemon_check_changes(uv_timer_t *t)
{
	struct daemon	*d = t->data;
	int64_t		 v;

	if (d->stopping)
		return;
	if ((v = daemon_data_version(d)) == d->data_version) {
		/*
		 * Not committed yet: a durable commit syncs the WAL after its
		 * last write, and only then shows in the index inotify cannot
		 * see.  A busy disk may take seconds to sync: look again, a
		 * little later each time, then every second for a while.
		 */
		if (d->settle_tries > 0 && --d->settle_tries > 0)
			uv_timer_start(&d->change_timer, daemon_check_changes,
			    daemon_settle_ms(DAEMON_SETTLE_TRIES - d->settle_tries),
			    0);
		return;
	}
	log_debug("the database changed: planning new sales and refunds");
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
	d->settle_tries = DAEMON_SETTLE_TRIES;
	uv_timer_start(&d->change_timer, daemon_check_changes,
	    DAEMON_SETTLE_MS, 0);
}

/*
 * The front door recorded a sale on our connection, which data_version
 * does not see: plan it a moment later, after the answer went out, so
 * that a burst of webhooks is planned in one batch.
 */
static void
daemon_front_recorded(void *owner)
{
	struct daemon *d = owner;

	if (!d->stopping && !uv_is_active((uv_handle_t *)&d->plan_timer))
		uv_timer_start(&d->plan_timer, daemon_plan_timer, 1, 0);
}

/* The relay password, or NULL: config_secrets() read it into cfg. */
static const char *
daemon_password(const struct config *cfg)
{
	return cfg->smtp.password != NULL ?
	    secret_value(cfg->smtp.password) : NULL;
}

/* Claimed messages that no connection started go back to the queue. */
static void
daemon_release(struct daemon *d)
{
	struct outgoing	taken[SENDER_MAX * SENDER_AHEAD];
	int		n = sender_take_back(d->sender, taken, SENDER_MAX *
			    SENDER_AHEAD), rc;

	if (n == 0)
		return;
	if ((rc = db_begin(d->db)) == DB_OK) {
		for (int i = 0; i < n && rc == DB_OK; i++)
			rc = queue_release(d->db, &taken[i], daemon_now());
		rc = db_end(d->db, rc);
	}
	if (rc != DB_OK) {
		/* They stay "sending", and go at the next start. */
		log_warnx("%d claimed message%s stay claimed until the next start",
		    n, n == 1 ? "" : "s");
	}
	for (int i = 0; i < n; i++)
		queue_free(&taken[i]);
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
	    config_secrets(cfg, 1) == -1) {
		if (cfg != NULL)
			config_free(cfg);
		log_error("%s has errors; keeping the running configuration",
		    d->config_path);
		sd_notify(0, "READY=1");
		return;
	}
	/* Messages no connection started yet follow the new campaigns too. */
	daemon_release(d);
	if ((rc = queue_reconfigure(d->db, d->cfg, cfg, daemon_now())) != DB_OK) {
		config_free(cfg);
		log_error("reloading %s failed; keeping the running configuration "
		    "(send SIGHUP again)", d->config_path);
		sd_notify(0, "READY=1");
		daemon_db_failed(d, rc);
		return;
	}
	/* The sender's threads let go of the old ones first. */
	sender_reconfigure(d->sender, cfg, daemon_password(cfg));
	http_reload_check(d->cfg, cfg);
	config_free(d->cfg);		/* and wipe the old password */
	d->cfg = cfg;
	d->front.cfg = cfg;
	log_set_level(cfg->log_level);
	/*
	 * TZ cannot change under the sender's threads (timestamp.c), and
	 * glibc knows no other way to name a zone.
	 */
	if (strcmp(cfg->timezone, timestamp_timezone()) != 0)
		log_warnx("timezone \"%s\": timezone changes take effect at "
		    "restart; \"%s\" stays until then", cfg->timezone,
		    timestamp_timezone());
	if (cfg->smtp.max_connections != d->nworkers)
		log_warnx("smtp.max_connections changes at the next restart");
	if (strcmp(cfg->database_path, d->db->path) != 0)
		log_warnx("database \"%s\": database changes take effect at "
		    "restart; %s stays until then", cfg->database_path,
		    d->db->path);
	delivery_relay_up(&d->relay);
	log_info("reloaded %s: %zu campaigns", d->config_path, cfg->ncampaigns);
	sd_notify(0, "READY=1");
	daemon_reorder_refresh(d);
	daemon_coupons_check(d);
	daemon_plan(d);
}

static void
daemon_stop(struct daemon *d, const char *why)
{
	int busy;

	if (d->stopping)
		return;
	d->stopping = 1;
	sd_notify(0, "STOPPING=1");
	daemon_release(d);
	busy = sender_busy(d->sender);
	log_info("%s: stopping after %d message%s in flight", why, busy,
	    busy == 1 ? "" : "s");
	scheduler_stop(&d->scheduler);
	uv_timer_stop(&d->plan_timer);
	uv_timer_stop(&d->hold_timer);
	uv_timer_stop(&d->change_timer);
	uv_timer_stop(&d->idle_timer);
	uv_fs_event_stop(&d->db_watch);
	d->watching = 0;
	if (busy == 0)
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

/*
 * Each SKU's reorder interval, computed anew over all sales when a
 * reorder campaign will plan with it: at start, after a reload, daily.
 * A failure keeps the last ones.
 */
static void
daemon_reorder_refresh(struct daemon *d)
{
	int	skus, wanted = 0;

	for (size_t i = 0; i < d->cfg->ncampaigns; i++)
		wanted |= d->cfg->campaigns[i].enabled &&
		    d->cfg->campaigns[i].on == TRIGGER_REORDER;
	if (!wanted)
		return;
	if (reorder_refresh(d->db, &skus) != DB_OK)
		log_warnx("computing the SKUs' reorder intervals failed; the "
		    "last ones stay until tomorrow");
	else
		log_info("reorder: %d SKU%s with enough repeat purchases to "
		    "predict from", skus, skus == 1 ? "" : "s");
}

/*
 * Daily, and at start before the first plan: forget what is kept for a
 * while only, and what privacy.* says not to keep, and compute the
 * SKUs' reorder intervals anew.  Erasing customers rewrites the file
 * (privacy.c), which holds the loop a while on a big database: systemd's
 * watchdog hears from us first.  A failure is logged and left for the
 * next day; nothing waits on it.
 */
static void
daemon_tidy(struct daemon *d)
{
	int count, rc;

	d->tidy_at = uv_now(&d->loop);
	if (d->watchdog_ms > 0)
		sd_notify(0, "WATCHDOG=1");
	if ((rc = store_delivery_prune(d->db, daemon_now() -
	    STORE_DELIVERY_KEEP, &count)) != DB_OK)
		log_warnx("forgetting old webhook deliveries failed; trying "
		    "again tomorrow");
	else if (count > 0)
		log_info("forgot %d webhook deliver%s older than %d days", count,
		    count == 1 ? "y" : "ies", STORE_DELIVERY_KEEP / 86400);
	privacy_tidy(d->db, d->cfg, daemon_now());
	daemon_reorder_refresh(d);
}

/*
 * The one periodic timer: at half systemd's watchdog interval when it
 * watches us, else daily.  Each tick tells the watchdog we live, and
 * tidies when a day has passed since the last tidy.
 */
static void
daemon_housekeeping(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if (d->watchdog_ms > 0)
		sd_notify(0, "WATCHDOG=1");
	if (uv_now(&d->loop) - d->tidy_at >= DAEMON_TIDY_MS)
		daemon_tidy(d);
}

/* Watch the database's folder: the WAL file changes with every commit. */
static int
daemon_watch(struct daemon *d)
{
	char	*dir, *slash;
	int	 rc;

	if (d->watching)
		return 0;
	dir = xstrdup(d->db->path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	rc = uv_fs_event_start(&d->db_watch, daemon_db_changed,
	    slash ? dir : ".", 0);
	if (rc < 0)
		log_error("cannot watch %s for new sales: %s", dir, uv_strerror(rc));
	free(dir);
	d->watching = rc == 0;
	return rc < 0 ? -1 : 0;
}

static int
daemon_start(struct daemon *d)
{
	uint64_t	usec;
	int		recovered, rc;

	if (uv_loop_init(&d->loop) != 0)
		return -1;
	d->loop_open = 1;
#ifdef __GLIBC__
	/*
	 * While sending, memory freed goes back to the kernel only when the
	 * daemon is idle (daemon_idle).  By default glibc gives it back as
	 * soon as 128 KiB are free at the top of the heap: each write that
	 * fires a trigger (migration 0017) allocates and frees a 64 KiB
	 * statement journal, and the heap grew and shrank with every one of
	 * them, a TLB flush on every CPU each time: a fifth of the loop's
	 * time (issue 13).  Setting one threshold stops glibc from moving
	 * the other as it goes: blocks up to 1 MiB (libcurl takes 128 KiB
	 * for each message it sends) come from the heap, not mmap.
	 */
	mallopt(M_TRIM_THRESHOLD, DAEMON_HEAP_KEEP);
	mallopt(M_MMAP_THRESHOLD, DAEMON_HEAP_BLOCK);
#endif
	d->loop.data = d;
	scheduler_init(&d->scheduler, &d->loop, daemon_due, d, d->cfg->smtp.rate);
	uv_timer_init(&d->loop, &d->plan_timer);
	uv_timer_init(&d->loop, &d->hold_timer);
	uv_timer_init(&d->loop, &d->change_timer);
	uv_timer_init(&d->loop, &d->housekeeping);
	uv_timer_init(&d->loop, &d->idle_timer);
	uv_fs_event_init(&d->loop, &d->db_watch);
	uv_async_init(&d->loop, &d->sender_wake, daemon_sender_wake);
	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sighup);
	d->plan_timer.data = d->hold_timer.data = d->change_timer.data = d;
	d->housekeeping.data = d->idle_timer.data = d;
	d->db_watch.data = d->sigterm.data = d->sigint.data = d->sighup.data = d;
	d->sender_wake.data = d;
	uv_signal_start(&d->sigterm, daemon_signal, SIGTERM);
	uv_signal_start(&d->sigint, daemon_signal, SIGINT);
	uv_signal_start(&d->sighup, daemon_signal, SIGHUP);

	if ((rc = queue_recover(d->db, daemon_now(), &recovered)) != DB_OK)
		return -1;
	if (recovered > 0)
		log_warnx("%d message%s were being sent when aftersale last "
		    "stopped; sending them again", recovered,
		    recovered == 1 ? "" : "s");
	if (checkpoint_start(&d->checkpoint, &d->loop, d->db) == -1 ||
	    daemon_watch(d) == -1 || sender_start(&d->sender, d->nworkers,
	    &d->sender_wake, d->cfg, daemon_password(d->cfg)) == -1)
		return -1;
	d->data_version = daemon_data_version(d);
	if (sd_watchdog_enabled(0, &usec) > 0)
		d->watchdog_ms = usec / 2000;
	d->notify = getenv("NOTIFY_SOCKET") != NULL;
	d->rng = delivery_seed();
	d->front.db = d->db;
	d->front.cfg = d->cfg;
	d->front.relay = &d->relay;
	d->front.stopping = &d->stopping;
	d->front.recorded = daemon_front_recorded;
	d->front.owner = d;
	/* Listening before READY=1: systemd may send requests from then on. */
	if (http_start(&d->loop, &d->front, &d->http) == -1)
		return -1;
	log_info("aftersale %s running: %zu campaigns, %d connection%s to %s",
	    PACKAGE_VERSION, d->cfg->ncampaigns, d->nworkers,
	    d->nworkers == 1 ? "" : "s", d->cfg->smtp.url);
	sd_notify(0, "READY=1");
	daemon_tidy(d);		/* before the first plan: reorder */
	uv_timer_start(&d->housekeeping, daemon_housekeeping, d->watchdog_ms ?
	    d->watchdog_ms : DAEMON_TIDY_MS, d->watchdog_ms ? d->watchdog_ms :
	    DAEMON_TIDY_MS);
	daemon_coupons_check(d);
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
 * Run until SIGTERM or SIGINT.  Owns cfg from here on, its secrets read
 * (config_secrets()).  Returns an exit
 * status: 0 after a clean stop.
 */
int
daemon_run(const char *config_path, struct config *cfg)
{
	struct daemon	d;
	int		rc, status = EX_OK, lock = -1;

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
	if ((rc = instance_lock(cfg->database_path, &lock)) != 0) {
		status = rc == INSTANCE_HELD ? EX_TEMPFAIL : EX_UNAVAILABLE;
		goto out;
	}
	if ((rc = db_open(cfg->database_path, &d.db)) != DB_OK) {
		status = rc == DB_BUSY ? EX_TEMPFAIL : EX_UNAVAILABLE;
		goto out;
	}
	if (daemon_start(&d) == -1) {
		/* What started stops, and the loop closes, as after a run. */
		status = EX_UNAVAILABLE;
		if (!d.loop_open)
			goto out;
	} else {
		uv_run(&d.loop, UV_RUN_DEFAULT);
		if (d.failed)
			status = EX_IOERR;
	}
	checkpoint_stop(d.checkpoint, d.db);	/* one running ends below */
	d.checkpoint = NULL;
	http_stop(d.http);		/* its handles close below */
	d.http = NULL;
	sender_free(d.sender);		/* before the handle its threads wake */
	d.sender = NULL;
	if (status != EX_UNAVAILABLE)
		log_info("stopped: %ld sent, %ld deferred, %ld failed since "
		    "start", d.front.sent, d.front.deferred,
		    d.front.failed + d.front.bounced);

	uv_walk(&d.loop, daemon_close_handle, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);	/* let the closes finish */
	uv_loop_close(&d.loop);
out:
	sender_free(d.sender);
	db_close(d.db);
	config_free(d.cfg);
	coupon_alarms_free(&d.coupons);
	curl_global_cleanup();
	if (lock != -1)
		close(lock);
	return status;
}
