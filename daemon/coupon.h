/* Reward coupons: pools of single-use codes, issued one to a message. */
#ifndef AFTERSALE_COUPON_H
#define AFTERSALE_COUPON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "db.h"

/* As long as a sale's referral code may be, so that each can come back. */
#define COUPON_CODE_MAX		64
#define COUPON_POOL_MAX		64
/* The most pools one batch of messages takes codes from. */
#define COUPON_BATCH_POOLS	64

/* A code taken for a message being built; id 0 for none. */
struct coupon {
	int64_t	id;
	char	code[COUPON_CODE_MAX + 1];
	int64_t	expires_at;	/* 0: never */
};

/*
 * The codes taken for one batch of messages built before they are
 * claimed: not issued yet, so each pool's next free code is the one after
 * the last taken.
 */
struct coupon_batch {
	struct {
		const char	*pool;
		int64_t		 last;
	}	pools[COUPON_BATCH_POOLS];
	int	n;
};

/* What a pool was last said to be: its warning is logged once. */
enum coupon_level {
	COUPON_PLENTY,
	COUPON_LOW,		/* below 10% of the pool, or 20 codes */
	COUPON_EMPTY,
};

/* The daemon's memory of what it said about each pool. */
struct coupon_alarms {
	struct {
		char			pool[COUPON_POOL_MAX + 1];
		enum coupon_level	level;
	}	*v;
	size_t	 n;
};

/* What an import did. */
struct coupon_import {
	long	stored;
	long	known;		/* already in the pool: skipped */
	long	bad;		/* lines reported */
};

int	coupon_pool_ok(const char *pool);
int	coupon_import(struct db *db, const char *pool, FILE *fp,
	    const char *name, int64_t now, struct coupon_import *res);
int	coupon_list(struct db *db, const struct config *cfg, int64_t now,
	    json_t **out);
int	coupon_take(struct db *db, struct coupon_batch *b, const char *pool,
	    int64_t now, struct coupon *out);
int	coupon_issue(struct db *db, int64_t coupon, int64_t message,
	    int64_t now);
int	coupon_return(struct db *db, int64_t message);
int	coupon_redeem(struct db *db, const char *code, int64_t sale);
int	coupon_watch(struct db *db, struct coupon_alarms *a, const char *pool,
	    int64_t now);
void	coupon_alarms_free(struct coupon_alarms *a);

#endif
