/*
 * The sender: one thread and one relay connection per
 * smtp.max_connections.  libcurl's multi interface waits, blocking, for the
 * reply to the end of DATA (curl issue 8555), so N connections can only
 * work at once on N threads.
 *
 * The loop owns the database and hands each worker claimed messages; a
 * worker holds one in transfer and up to SENDER_AHEAD waiting, so that it
 * starts the next transaction while the loop records the last answer and
 * never waits for a claim.  The dup bound of DESIGN holds because a worker
 * never ends a message's DATA (nor posts another answer) before its
 * previous answer is committed: a crash can duplicate at most one message
 * per connection.
 */

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queue.h"
#include "sender.h"
#include "smtp.h"
#include "xmalloc.h"

/*
 * A worker.  conn and current belong to the worker thread alone (no
 * lock).  Every other field but thread, wake and s is guarded by the
 * sender's lock (struct sender.lock).
 */
struct sender_worker {
	uv_thread_t		 thread;
	uv_cond_t		 wake;		/* waited on with sender.lock */
	struct sender		*s;
	struct smtp_conn	 conn;		/* the worker thread's own */
	struct outgoing		 next[SENDER_AHEAD];	/* claimed, a ring */
	int			 first;		/* of next, the oldest */
	struct outgoing		 current;	/* in transfer */
	struct outgoing		 done;		/* answered, not yet recorded */
	struct sender_result	 result;	/* its answer; .msg is &done */
	int			 queued;	/* messages in next */
	int			 sending;
	int			 answered;	/* result holds an answer */
	int			 collected;	/* given out by sender_results() */
	int			 stale;		/* settings changed: remake */
};

/*
 * The one lock guards: cfg, password, quitting, held, and in every worker
 * next, first, done, result, queued, sending, answered, collected and
 * stale.  It is never held across network I/O: transfers (smtp_send) and
 * closing a connection (smtp_conn_cleanup, which sends QUIT) run without
 * it.
 */
struct sender {
	uv_mutex_t		 lock;
	uv_async_t		*wake;		/* the loop: an answer or a free slot */
	const struct config	*cfg;		/* the loop's, swapped under lock */
	const char		*password;
	int			 quitting;
	int			 held;		/* workers waiting at the end */
	int			 n;
	struct sender_worker	*workers;
};

/*
 * Called by smtp_read() when the body is all out, before the end of DATA:
 * wait until this worker's previous answer is recorded.  0 aborts the
 * transfer (the daemon is going away).
 */
static int
sender_may_end(void *arg)
{
	struct sender_worker	*w = arg;
	struct sender		*s = w->s;
	int			 ok;

	uv_mutex_lock(&s->lock);
	if (w->answered && !s->quitting) {
		s->held++;
		while (w->answered && !s->quitting)
			uv_cond_wait(&w->wake, &s->lock);
		s->held--;
	}
	ok = !s->quitting;
	uv_mutex_unlock(&s->lock);
	return ok;
}

/*
 * Under the lock: make the handle with the current settings if there is
 * none.  No network here (curl_easy_init and setopt only); the old
 * handle, whose cleanup sends QUIT and waits, was closed outside the lock.
 */
static void
sender_ready(struct sender *s, struct sender_worker *w)
{
	if (w->conn.easy != NULL)
		return;
	/* Without a handle the transfer fails at once, as the relay's
	 * trouble: deferred, no attempt spent. */
	if (smtp_conn_init(&w->conn, s->cfg, s->password) == -1)
		log_error("cannot make a libcurl handle");
	w->conn.may_end = sender_may_end;
	w->conn.may_end_arg = w;
}

static void
sender_main(void *arg)
{
	struct sender_worker	*w = arg;
	struct sender		*s = w->s;
	struct smtp_result	 r;
	int			 remake;

	uv_mutex_lock(&s->lock);
	for (;;) {
		while (!w->queued && !s->quitting)
			uv_cond_wait(&w->wake, &s->lock);
		if (s->quitting)
			break;
		w->current = w->next[w->first];
		memset(&w->next[w->first], 0, sizeof(w->next[w->first]));
		w->first = (w->first + 1) % SENDER_AHEAD;
		w->queued--;
		w->sending = 1;
		/*
		 * Have the one after claimed.  When the answer just posted
		 * waits to be recorded, that answer's turn claims it: a wake
		 * of its own cost the loop a turn (issue 13).
		 */
		if (!w->answered)
			uv_async_send(s->wake);
		remake = w->stale;
		w->stale = 0;
		if (remake) {
			/* New settings: the old connection goes first, off
			 * the lock (QUIT waits for the relay). */
			uv_mutex_unlock(&s->lock);
			smtp_conn_cleanup(&w->conn);
			uv_mutex_lock(&s->lock);
		}
		sender_ready(s, w);
		uv_mutex_unlock(&s->lock);

		smtp_send(&w->conn, w->current.rcpt, w->current.text.data,
		    w->current.text.len, &r);
		/*
		 * A transaction that failed in any way leaves the connection
		 * in a state we cannot know (a late reply to the end of DATA
		 * would be read as the next command's): close it.
		 */
		if (!r.reusable)
			smtp_conn_cleanup(&w->conn);

		uv_mutex_lock(&s->lock);
		while (w->answered && !s->quitting)
			uv_cond_wait(&w->wake, &s->lock);
		w->sending = 0;
		if (s->quitting) {
			/* Still "sending" in the database: sent again at start. */
			queue_free(&w->current);
			break;
		}
		w->done = w->current;
		memset(&w->current, 0, sizeof(w->current));
		w->result.msg = &w->done;
		w->result.smtp = r;
		w->answered = 1;
		uv_async_send(s->wake);
	}
	uv_mutex_unlock(&s->lock);
}

/*
 * Start nworkers threads.  `wake` is sent when an answer waits for
 * sender_results() or a slot frees up; cfg and password stay the caller's,
 * and must outlive the sender or be swapped by sender_reconfigure() first.
 */
int
sender_start(struct sender **sp, int nworkers, uv_async_t *wake,
    const struct config *cfg, const char *password)
{
	struct sender	*s;
	int		 started = 0;

	s = xcalloc(1, sizeof(*s));
	s->workers = xcalloc((size_t)nworkers, sizeof(*s->workers));
	uv_mutex_init(&s->lock);
	s->wake = wake;
	s->cfg = cfg;
	s->password = password;
	s->n = nworkers;
	*sp = s;
	for (; started < nworkers; started++) {
		struct sender_worker *w = &s->workers[started];

		w->s = s;
		uv_cond_init(&w->wake);
		if (uv_thread_create(&w->thread, sender_main, w) != 0) {
			uv_cond_destroy(&w->wake);
			break;
		}
	}
	s->n = started;
	if (started < nworkers) {
		log_error("cannot start the sender's threads");
		return -1;
	}
	return 0;
}

/* How many more messages the workers would take now. */
int
sender_slots(struct sender *s)
{
	int n = 0;

	uv_mutex_lock(&s->lock);
	for (int i = 0; i < s->n; i++)
		n += SENDER_AHEAD - s->workers[i].queued;
	uv_mutex_unlock(&s->lock);
	return n;
}

/*
 * How many connections are held at the end of a message, waiting for
 * their last answer to be recorded: the loop should commit before it
 * does anything else.
 */
int
sender_held(struct sender *s)
{
	int n;

	uv_mutex_lock(&s->lock);
	n = s->held;
	uv_mutex_unlock(&s->lock);
	return n;
}

/* Messages claimed and not yet recorded: waiting, in transfer, answered. */
int
sender_busy(struct sender *s)
{
	int n = 0;

	uv_mutex_lock(&s->lock);
	for (int i = 0; i < s->n; i++) {
		const struct sender_worker *w = &s->workers[i];

		n += w->queued + w->sending + w->answered;
	}
	uv_mutex_unlock(&s->lock);
	return n;
}

/*
 * Hand over a claimed message (taken: *msg is emptied); needs a slot.  It
 * goes to the worker with the fewest waiting; among equals, an idle one.
 */
void
sender_give(struct sender *s, struct outgoing *msg)
{
	struct sender_worker *w = NULL;

	uv_mutex_lock(&s->lock);
	for (int i = 0; i < s->n; i++) {
		struct sender_worker *c = &s->workers[i];

		if (c->queued == SENDER_AHEAD)
			continue;
		if (w == NULL || c->queued < w->queued ||
		    (c->queued == w->queued && !c->sending && !c->answered))
			w = c;
	}
	if (w != NULL) {
		w->next[(w->first + w->queued) % SENDER_AHEAD] = *msg;
		w->queued++;
		uv_cond_signal(&w->wake);
	} else {
		/* Slots only free up between sender_slots() and here. */
		log_error("no connection for message %lld: it goes at the next "
		    "start", (long long)msg->id);
		queue_free(msg);
	}
	memset(msg, 0, sizeof(*msg));
	uv_mutex_unlock(&s->lock);
}

/*
 * The answers waiting to be recorded, at most SENDER_MAX.  They stay put
 * (and their workers hold back) until sender_recorded(); if recording
 * fails, the next call gives them out again.
 */
int
sender_results(struct sender *s, struct sender_result **out)
{
	int n = 0;

	uv_mutex_lock(&s->lock);
	for (int i = 0; i < s->n; i++) {
		struct sender_worker *w = &s->workers[i];

		w->collected = w->answered;
		if (w->answered)
			out[n++] = &w->result;
	}
	uv_mutex_unlock(&s->lock);
	return n;
}

/* What the last sender_results() gave out is committed: go on. */
void
sender_recorded(struct sender *s)
{
	uv_mutex_lock(&s->lock);
	for (int i = 0; i < s->n; i++) {
		struct sender_worker *w = &s->workers[i];

		if (!w->collected)
			continue;
		queue_free(&w->done);
		w->answered = w->collected = 0;
		uv_cond_signal(&w->wake);
	}
	uv_mutex_unlock(&s->lock);
}

/* Take back the messages no worker has started (when stopping). */
int
sender_take_back(struct sender *s, struct outgoing *out, int max)
{
	int n = 0;

	uv_mutex_lock(&s->lock);
	for (int i = 0; i < s->n; i++) {
		struct sender_worker *w = &s->workers[i];

		while (w->queued > 0 && n < max) {
			out[n++] = w->next[w->first];
			memset(&w->next[w->first], 0, sizeof(w->next[0]));
			w->first = (w->first + 1) % SENDER_AHEAD;
			w->queued--;
		}
	}
	uv_mutex_unlock(&s->lock);
	return n;
}

/* New settings: each connection is remade before its next message. */
void
sender_reconfigure(struct sender *s, const struct config *cfg,
    const char *password)
{
	uv_mutex_lock(&s->lock);
	s->cfg = cfg;
	s->password = password;
	for (int i = 0; i < s->n; i++)
		s->workers[i].stale = 1;
	uv_mutex_unlock(&s->lock);
}

/*
 * Stop and join the threads.  A transfer in progress ends first: within
 * smtp.timeout a reply, or smtp.data_timeout for the reply to the end of
 * DATA (the unit's TimeoutStopSec may cut that short; see there).
 */
void
sender_free(struct sender *s)
{
	if (s == NULL)
		return;
	uv_mutex_lock(&s->lock);
	s->quitting = 1;
	for (int i = 0; i < s->n; i++)
		uv_cond_signal(&s->workers[i].wake);
	uv_mutex_unlock(&s->lock);
	for (int i = 0; i < s->n; i++) {
		struct sender_worker *w = &s->workers[i];

		uv_thread_join(&w->thread);
		uv_cond_destroy(&w->wake);
		smtp_conn_cleanup(&w->conn);
		for (int j = 0; j < SENDER_AHEAD; j++)
			queue_free(&w->next[j]);
		queue_free(&w->done);
	}
	uv_mutex_destroy(&s->lock);
	free(s->workers);
	free(s);
}
