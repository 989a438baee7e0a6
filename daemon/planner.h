/* The planner: new sales times campaigns become scheduled messages. */
#ifndef AFTERSALE_PLANNER_H
#define AFTERSALE_PLANNER_H

#include <stdint.h>

#include "config.h"
#include "db.h"
#include "sale.h"

/* Sales, and refunds, per transaction: so the loop breathes. */
#define PLANNER_BATCH	500

/*
 * What the database says about a sale, its recipient and its buyer, as
 * far as planner_state asks: had_campaign only for a first_sale campaign,
 * bought_later only for one that stops on a repeat purchase.
 */
struct planner_history {
	int	refunded;	/* the sale is refunded in full */
	int	had_campaign;	/* the recipient has a message of the campaign */
	int	no_consent;	/* the recipient unsubscribed or bounced */
	int	bought_later;	/* the buyer has a sale after this one */
};

int64_t	planner_recipient(const struct campaign *c, const struct sale *s);
int64_t	planner_due(const struct campaign *c, int64_t sold_at,
	    int64_t expected);
int	planner_state(const struct campaign *c, const struct planner_history *h);
int	planner_run(struct db *db, const struct config *cfg, int64_t now,
	    int *planned, int *cancelled, int *more);

#endif
