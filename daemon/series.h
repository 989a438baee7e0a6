/* Stats over time: a series by day, week or month, and monthly cohorts. */
#ifndef AFTERSALE_SERIES_H
#define AFTERSALE_SERIES_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "stats.h"

enum series_by {
	SERIES_DAY,
	SERIES_WEEK,		/* ISO 8601: Monday to Sunday, "2026-W48" */
	SERIES_MONTH,
};

/*
 * The longest answers: a series of about 27 years of days, and 20 years
 * of monthly cohorts (the matrix grows with the square).  Past them
 * series_collect() and series_cohorts() return SERIES_TOO_LONG, a verdict
 * (positive), and build nothing.
 */
#define SERIES_MAX_PERIODS	10000
#define SERIES_MAX_COHORTS	240
#define SERIES_TOO_LONG		1

int	series_by_parse(const char *text, enum series_by *by);
int	series_collect(struct db *db, const struct config *cfg,
	    const struct stats_filter *f, enum series_by by, json_t **out);
int	series_cohorts(struct db *db, const struct stats_filter *f,
	    json_t **out);
void	series_print(const json_t *series, FILE *out);
void	series_print_cohorts(const json_t *cohorts, FILE *out);
void	series_revenue_text(const json_t *revenue, struct buf *b);

#endif
