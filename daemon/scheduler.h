/* The scheduler: one timer at the earliest due message, and smtp.rate. */
#ifndef AFTERSALE_SCHEDULER_H
#define AFTERSALE_SCHEDULER_H

#include <stdint.h>
#include <uv.h>

#include "db.h"

struct scheduler {
	uv_timer_t	 timer;		/* the next turn: a message due, a retry */
	uv_timer_cb	 turn;		/* what the timer runs */
	double		 tokens;	/* smtp.rate's bucket */
	uint64_t	 tokens_at;	/* ms, loop time */
};

void	scheduler_init(struct scheduler *s, uv_loop_t *loop, uv_timer_cb turn,
	    void *data, double rate);
int	scheduler_arm(struct scheduler *s, struct db *db, int64_t now,
	    int64_t not_before);
void	scheduler_after(struct scheduler *s, uint64_t ms);
void	scheduler_stop(struct scheduler *s);
uint64_t scheduler_due_in(struct scheduler *s);
int	scheduler_allowance(struct scheduler *s, double rate, int want,
	    uint64_t *wait_ms);
void	scheduler_spent(struct scheduler *s, double rate, int n);

#endif
