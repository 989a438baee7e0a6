/* Reorder timing: when a customer is expected to order again. */
#ifndef AFTERSALE_REORDER_H
#define AFTERSALE_REORDER_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define REORDER_OWN_MIN		2	/* a buyer's own intervals that suffice */
#define REORDER_SKU_MIN		20	/* intervals of a SKU that suffice */
#define REORDER_GAP_MIN		86400	/* shorter gaps are one order, split */

int64_t	reorder_median(int64_t *v, size_t n);
int	reorder_expect(struct db *db, int64_t customer, int64_t sale,
	    int64_t sold_at, int64_t *expected);
int	reorder_refresh(struct db *db, int *skus);
int	reorder_errors(struct db *db, const char *campaign, int64_t since,
	    int64_t until, int64_t *median, int64_t *count);

#endif
