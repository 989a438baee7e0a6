/* The report: one self-contained HTML page of charts and their tables. */
#ifndef AFTERSALE_REPORT_H
#define AFTERSALE_REPORT_H

#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "series.h"
#include "stats.h"

int	report_html(struct db *db, const struct config *cfg,
	    const struct stats_filter *f, enum series_by by, int64_t now,
	    struct buf *page);

#endif
