/*
 * The scheduler: when the daemon takes its next turn.  One timer, armed
 * at the earliest due message (or later, while the relay is paused), or
 * sooner for a retry; and smtp.rate's token bucket, which says how many
 * messages a turn may claim.  An idle daemon sleeps on this timer alone.
 */

#include <math.h>

#include "queue.h"
#include "scheduler.h"

void
scheduler_init(struct scheduler *s, uv_loop_t *loop, uv_timer_cb turn,
    void *data, double rate)
{
	uv_timer_init(loop, &s->timer);
	s->timer.data = data;
	s->turn = turn;
	s->tokens = rate;
	s->tokens_at = uv_now(loop);
}

/* The next turn in `ms` milliseconds, whatever was armed before. */
void
scheduler_after(struct scheduler *s, uint64_t ms)
{
	/*
	 * Never 0 ms: libuv runs a timer re-armed with 0 from its own
	 * callback again at once, and the loop would never poll.
	 */
	uv_timer_start(&s->timer, s->turn, ms > 0 ? ms : 1, 0);
}

/*
 * Arm the timer for the earliest due message, not before `not_before`
 * (the relay's return); with nothing due, no timer: a new sale or an
 * answer wakes the daemon.  DB_OK, or DB_* (logged).
 */
int
scheduler_arm(struct scheduler *s, struct db *db, int64_t now,
    int64_t not_before)
{
	int64_t	due;
	int	rc;

	if ((rc = queue_next_due(db, &due)) < 0)
		return rc;
	if (rc == 0) {
		uv_timer_stop(&s->timer);
		return DB_OK;
	}
	if (due < not_before)
		due = not_before;
	scheduler_after(s, due > now ? (uint64_t)(due - now) * 1000 : 0);
	return DB_OK;
}

void
scheduler_stop(struct scheduler *s)
{
	uv_timer_stop(&s->timer);
}

/* Milliseconds until the armed turn (0 when none is armed). */
uint64_t
scheduler_due_in(struct scheduler *s)
{
	return uv_timer_get_due_in(&s->timer);
}

/*
 * How many of `want` messages smtp.rate allows now: a token bucket that
 * holds one second's worth (at least one message).  When none, *wait_ms
 * says when one will be.
 */
int
scheduler_allowance(struct scheduler *s, double rate, int want,
    uint64_t *wait_ms)
{
	uint64_t now = uv_now(s->timer.loop);

	*wait_ms = 0;
	if (rate <= 0)
		return want;
	s->tokens += rate * (double)(now - s->tokens_at) / 1000.0;
	if (s->tokens > (rate < 1 ? 1 : rate))
		s->tokens = rate < 1 ? 1 : rate;
	s->tokens_at = now;
	if (s->tokens < 1) {
		*wait_ms = (uint64_t)ceil((1 - s->tokens) * 1000.0 / rate);
		return 0;
	}
	return want < (int)s->tokens ? want : (int)s->tokens;
}

/* `n` messages were claimed: they take their tokens. */
void
scheduler_spent(struct scheduler *s, double rate, int n)
{
	if (rate > 0)
		s->tokens -= n;
}
