/* The sender: one thread and one relay connection per smtp.max_connections. */
#ifndef AFTERSALE_SENDER_H
#define AFTERSALE_SENDER_H

#include <uv.h>

#include "config.h"
#include "smtp.h"

#define SENDER_MAX	64	/* smtp.max_connections at most */
#define SENDER_AHEAD	2	/* claimed messages waiting, per connection */

struct sender;
struct outgoing;		/* queue.h: the sender only carries it */

/* What the relay made of a message, waiting to be recorded. */
struct sender_result {
	struct outgoing		*msg;	/* the sender's until sender_recorded() */
	struct smtp_result	 smtp;
};

int	sender_start(struct sender **s, int nworkers, uv_async_t *wake,
	    const struct config *cfg, const char *password);
int	sender_slots(struct sender *s);
int	sender_busy(struct sender *s);
int	sender_held(struct sender *s);
void	sender_give(struct sender *s, struct outgoing *msg);
int	sender_results(struct sender *s, struct sender_result **out);
void	sender_recorded(struct sender *s);
int	sender_take_back(struct sender *s, struct outgoing *out, int max);
void	sender_reconfigure(struct sender *s, const struct config *cfg,
	    const char *password);
void	sender_free(struct sender *s);

#endif
