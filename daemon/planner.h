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
	int	referred_friend; /* a friend the recipient referred bought */
};

/* What one planner_run did, and when it wants to run again. */
struct planner_result {
	int	planned;	/* messages */
	int	cancelled;	/* messages of sales refunded in full */
	int	stopped;	/* messages: stop_on = referred_friend */
	int	reviewed;	/* referrals sent to review by referral.rules */
	int	confirmed;	/* referrals through their hold */
	int	voided;		/* referrals refunded in full within it */
	int	more;		/* sales, refunds or referrals remain */
	int64_t	hold_ends;	/* the next pending referral's hold ends; 0 */
};

/* Room for planner_review's reasons: every rule's name. */
#define PLANNER_REASONS_LEN	64

int64_t	planner_recipient(const struct campaign *c, const struct sale *s);
int64_t	planner_due(const struct campaign *c, int64_t sold_at,
	    int64_t expected);
int	planner_state(const struct campaign *c, const struct planner_history *h);
int	planner_review(const struct referral_rules *rules, const char *buyer,
	    const char *buyer_name, const char *referrer_name, int this_week,
	    char reasons[PLANNER_REASONS_LEN]);
int	planner_run(struct db *db, const struct config *cfg, int64_t now,
	    struct planner_result *res);

#endif
