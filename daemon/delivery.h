/* Delivery policy: an SMTP result -> a message outcome and a retry time. */
#ifndef AFTERSALE_DELIVERY_H
#define AFTERSALE_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queue.h"
#include "smtp.h"

#define DELIVERY_BACKOFF_MIN	5	/* seconds, doubling while it stays down */
#define DELIVERY_BACKOFF_MAX	300

/* The relay's pause while it cannot be used; zeroed: not paused. */
struct delivery_backoff {
	int64_t	until;		/* no claims before this time */
	int	seconds;	/* the last pause, 0 when the relay answers */
};

#define DELIVERY_WHY_LEN	600

/* What to record of a relay's answer about one message. */
struct delivery_verdict {
	enum queue_outcome outcome;	/* SENT, DEFERRED, FAILED or BOUNCED */
	int		 relay_down;	/* the relay was unusable: no attempt */
	int64_t		 retry_at;	/* DEFERRED: when it goes again */
	char		 why[DELIVERY_WHY_LEN];	/* the reply, or why we gave up */
};

enum queue_outcome delivery_outcome(const struct smtp_result *r, char *why,
	    size_t size);
void	delivery_judge(const struct config *cfg, const struct smtp_result *r,
	    const struct outgoing *o, int64_t now, int64_t relay_until,
	    uint64_t *rng, struct delivery_verdict *v);
int64_t	delivery_retry_at(const struct config *cfg, int attempts, int64_t now,
	    uint64_t *rng);
int	delivery_gives_up(const struct config *cfg, int64_t due, int64_t now);
int	delivery_relay_down(struct delivery_backoff *b, int64_t now);
int	delivery_relay_up(struct delivery_backoff *b);
uint64_t delivery_seed(void);

#endif
