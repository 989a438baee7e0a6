/* The message queue: states, claims and delivery outcomes in SQLite. */
#ifndef AFTERSALE_QUEUE_H
#define AFTERSALE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "email.h"
#include "message.h"

enum queue_outcome {
	QUEUE_SENT,
	QUEUE_DEFERRED,		/* 4xx, timeout, dropped connection */
	QUEUE_FAILED,		/* 5xx */
	QUEUE_BOUNCED,		/* 5xx to RCPT: the address is bad */
	QUEUE_RELAY_DOWN,	/* the relay is unusable: deferred, not an attempt */
};

/* A due message, read before any of them is changed. */
struct queue_due {
	int64_t	id;
	char	campaign[65];
	int64_t	customer;
	int64_t	sale;
	int64_t	due;
	int	attempts;
	int	no_consent;	/* unsubscribed or bounced */
	int	ever_sent;
	int64_t	last_sent;	/* or claimed: one in flight counts as sent */
	int	built;		/* its bytes are stored */
	int64_t	first_due;	/* when it was first due: give_up_after */
	char	rcpt[EMAIL_MAX + 1];
};

const char *queue_hold(const struct config *cfg, const struct campaign *c,
	    const struct queue_due *d, int64_t now, int64_t *postpone);
int	queue_recover(struct db *db, int64_t now, int *count);
int	queue_next_due(struct db *db, int64_t *due);
/* A due message whose bytes are not built yet. */
struct queue_unbuilt {
	int64_t	id;
	char	campaign[65];
	int64_t	customer;
	int64_t	sale;
};

int	queue_unbuilt(struct db *db, int64_t now, struct queue_unbuilt *out,
	    int max, int *n);
int	queue_claim(struct db *db, const struct config *cfg, int64_t now,
	    struct outgoing *built, int nbuilt, struct outgoing *out, int max,
	    int *n);
struct delivery_verdict;
int	queue_result(struct db *db, const struct outgoing *o,
	    const struct delivery_verdict *v, int64_t min_gap, int64_t now);
/* A due message that could not be built this turn. */
struct queue_setback {
	int64_t	id;
	int64_t	until;		/* it waits until then; 0: it fails for good */
	char	why[256];	/* why it waits */
};

int	queue_set_back(struct db *db, const struct queue_setback *b,
	    int64_t now);
int	queue_release(struct db *db, const struct outgoing *o, int64_t now);
int	queue_reconfigure(struct db *db, const struct config *old,
	    const struct config *cfg, int64_t now);
/* The message states, in the order of DESIGN's list. */
enum queue_state {
	QUEUE_STATE_SCHEDULED,
	QUEUE_STATE_SENDING,
	QUEUE_STATE_SENT,
	QUEUE_STATE_DEFERRED,
	QUEUE_STATE_FAILED,
	QUEUE_STATE_CANCELLED,
	QUEUE_STATE_EXPIRED,
	QUEUE_STATE_SUPPRESSED,
	QUEUE_NSTATES
};
/* Their names, as the messages table stores them. */
extern const char *const queue_states[QUEUE_NSTATES];

/*
 * SQL, spliced into literal statements: the states a message can still go
 * out from, which a stop_on event, a removed campaign or an unsubscribe
 * ends.
 */
#define QUEUE_OPEN	"('scheduled', 'deferred')"

int	queue_counts(struct db *db, int64_t counts[QUEUE_NSTATES]);
void	queue_free(struct outgoing *o);

#endif
