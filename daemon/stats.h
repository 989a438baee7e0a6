/* The numbers: sales, messages, campaigns and referrals, as JSON. */
#ifndef AFTERSALE_STATS_H
#define AFTERSALE_STATS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "db.h"

struct stats_filter {
	int64_t		 since;		/* inclusive; INT64_MIN for none */
	int64_t		 until;		/* exclusive; INT64_MAX for none */
	const char	*campaign;	/* NULL for all */
};

int	stats_collect(struct db *db, const struct config *cfg,
	    const struct stats_filter *f, int64_t now, json_t **out);
void	stats_print(const json_t *stats, FILE *out);

#endif
