/* The numbers: sales, messages, campaigns and referrals, as JSON. */
#ifndef AFTERSALE_STATS_H
#define AFTERSALE_STATS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "db.h"
#include "store.h"

struct stats_filter {
	int64_t		 since;		/* inclusive; INT64_MIN for none */
	int64_t		 until;		/* exclusive; INT64_MAX for none */
	const char	*campaign;	/* NULL for all */
};

/*
 * DESIGN's last touch as an SQL condition on a row of sales: the sale
 * converts for its touch_campaign when that message went out within
 * attribution.window, the parameter `window`, before it, and the sale was
 * not refunded in full.  Everything that counts conversions says it with
 * this.
 */
#define STATS_CONVERTED(window) \
	"(touch_at >= sold_at - " window " AND " STORE_SALE_COUNTS("sales") ")"

json_t	*stats_time(int64_t t, int64_t none);
int	stats_collect(struct db *db, const struct config *cfg,
	    const struct stats_filter *f, int64_t now, json_t **out);
void	stats_print(const json_t *stats, FILE *out);

#endif
