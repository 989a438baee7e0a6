/*
 * Delivery policy: what the relay's answer means for the message (sent,
 * deferred, failed, bounced, or the relay is unusable), when it goes
 * again, and how long the whole sender pauses while the relay is down.
 * The transport (smtp.c) only reports; the queue (queue.c) only records.
 */

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"

/*
 * The outcome of one transaction, and in `why` one line for the log and
 * last_error (the relay's reply and the stage, or libcurl's words).  A
 * relay that cannot be used at all (unreachable, TLS, login, a refused
 * sender) is not the message's fault: the caller pauses the sender.  In a
 * transaction, 4xx and broken connections defer, 5xx fails, and
 * 550/551/553 to RCPT says the address is bad.
 */
enum queue_outcome
delivery_outcome(const struct smtp_result *r, char *why, size_t size)
{
	const char	*stage = smtp_stage_name(r->stage);
	int		 code = r->code;

	if (r->error == SMTP_OK) {
		snprintf(why, size, "%s", r->reply);
		return QUEUE_SENT;
	}
	if (r->reply[0] != '\0' && code >= 400)
		snprintf(why, size, "%s after %s", r->reply, stage);
	else if (r->error == SMTP_TIMEOUT)
		snprintf(why, size, "no reply in time after %s", stage);
	else
		snprintf(why, size, "%s", r->detail);

	switch (r->error) {
	case SMTP_UNREACHABLE:
	case SMTP_TLS:
	case SMTP_LOGIN:
	case SMTP_LOCAL:
		return QUEUE_RELAY_DOWN;
	default:
		break;
	}
	if (r->stage == SMTP_STAGE_RCPT &&
	    (code == 550 || code == 551 || code == 553))
		return QUEUE_BOUNCED;
	/* Before MAIL FROM was accepted the trouble is the relay's or ours. */
	if (r->stage == SMTP_STAGE_CONNECT || r->stage == SMTP_STAGE_EHLO ||
	    r->stage == SMTP_STAGE_STARTTLS || r->stage == SMTP_STAGE_AUTH ||
	    (r->stage == SMTP_STAGE_MAIL && code >= 500))
		return code >= 400 && code < 500 ? QUEUE_DEFERRED :
		    QUEUE_RELAY_DOWN;
	if (r->error == SMTP_REPLY && code >= 500 && code < 600)
		return QUEUE_FAILED;
	return QUEUE_DEFERRED;
}

/* xorshift64*: jitter needs spread, not secrecy. */
static uint64_t
delivery_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A nonzero seed for delivery_retry_at()'s generator. */
uint64_t
delivery_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return seed != 0 ? seed : 0x9E3779B97F4A7C15ULL;
}

/*
 * The next retry after `attempts` attempts: delivery.retry by attempt
 * (the last repeats), +-10%.  Jitter spreads retries so that a recovering
 * relay is not stampeded.  rng is the caller's generator state (one
 * owner, no lock: the loop thread's).
 */
int64_t
delivery_retry_at(const struct config *cfg, int attempts, int64_t now,
    uint64_t *rng)
{
	const struct durations	*r = &cfg->delivery.retry;
	size_t			 i = attempts < 1 ? 0 : (size_t)attempts - 1;
	int64_t			 delay = r->v[i < r->n ? i : r->n - 1];
	int64_t			 jitter = delay / 10;

	if (jitter > 0)
		delay += (int64_t)(delivery_random(rng) %
		    (uint64_t)(2 * jitter + 1)) - jitter;
	return now + delay;
}

/*
 * The relay could not be used: pause sending, doubling the pause while it
 * stays down.  Answers that come back during a pause (transfers already
 * under way) do not double it again.  Returns 1 when a new pause starts.
 */
int
delivery_relay_down(struct delivery_backoff *b, int64_t now)
{
	if (now < b->until)
		return 0;
	b->seconds = b->seconds ? b->seconds * 2 : DELIVERY_BACKOFF_MIN;
	if (b->seconds > DELIVERY_BACKOFF_MAX)
		b->seconds = DELIVERY_BACKOFF_MAX;
	b->until = now + b->seconds;
	return 1;
}

/* The relay answered: no pause.  Returns 1 when it had been paused. */
int
delivery_relay_up(struct delivery_backoff *b)
{
	int was = b->seconds != 0;

	b->seconds = 0;
	b->until = 0;
	return was;
}

/*
 * Whether a message still not sent is given up: delivery.give_up_after
 * after the time it was due, whatever kept it (a refusing relay, one
 * that is down or too slow); a time in the future is never given up.
 */
int
delivery_gives_up(const struct config *cfg, int64_t due, int64_t now)
{
	return now - due >= cfg->delivery.give_up_after;
}

/*
 * The verdict on one message: the outcome of the relay's answer, and for
 * a deferral when it goes again (after the relay's pause, when the relay
 * was unusable), unless delivery.give_up_after has passed since it was
 * first due, whatever held it back: then it fails.  The caller logs and
 * records it.
 */
void
delivery_judge(const struct config *cfg, const struct smtp_result *r,
    const struct outgoing *o, int64_t now, int64_t relay_until, uint64_t *rng,
    struct delivery_verdict *v)
{
	char	reply[sizeof(v->why) - 40];	/* room for "gave up after..." */
	int	tried;

	memset(v, 0, sizeof(*v));
	v->outcome = delivery_outcome(r, reply, sizeof(reply));
	v->relay_down = v->outcome == QUEUE_RELAY_DOWN;
	snprintf(v->why, sizeof(v->why), "%s", reply);
	if (v->outcome != QUEUE_DEFERRED && !v->relay_down)
		return;
	if (delivery_gives_up(cfg, o->first_due, now)) {
		tried = o->attempts - v->relay_down;
		v->outcome = QUEUE_FAILED;
		snprintf(v->why, sizeof(v->why), "gave up after %d attempt%s: %s",
		    tried, tried == 1 ? "" : "s", reply);
		return;
	}
	v->outcome = QUEUE_DEFERRED;
	v->retry_at = v->relay_down ? relay_until :
	    delivery_retry_at(cfg, o->attempts, now, rng);
}
