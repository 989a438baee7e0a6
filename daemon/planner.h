/* The planner: new sales times campaigns become scheduled messages. */
#ifndef AFTERSALE_PLANNER_H
#define AFTERSALE_PLANNER_H

#include <stdint.h>

#include "config.h"
#include "db.h"

#define PLANNER_BATCH	500	/* sales per transaction, so the loop breathes */

int	planner_run(struct db *db, const struct config *cfg, int64_t now,
	    int *planned, int *more);

#endif
