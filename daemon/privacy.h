/* Customers' data rights: what is held about one, erasure, retention. */
#ifndef AFTERSALE_PRIVACY_H
#define AFTERSALE_PRIVACY_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "db.h"

/* What erasing a customer takes away, or would. */
struct privacy_erasure {
	int64_t	bodies;		/* messages whose bytes go */
	int64_t	cancelled;	/* messages that were waiting */
	int64_t	click_days;	/* days of referral clicks */
	int64_t	sales;		/* kept, without a name, for the stats */
};

int	privacy_export(struct db *db, const char *email, int64_t now,
	    json_t **out);
int	privacy_count(struct db *db, int64_t customer,
	    struct privacy_erasure *e);
int	privacy_erase(struct db *db, int64_t customer, int64_t now,
	    struct privacy_erasure *e);
int	privacy_scrub(struct db *db);
void	privacy_tidy(struct db *db, const struct config *cfg, int64_t now);

#endif
