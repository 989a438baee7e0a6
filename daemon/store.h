/* The facts: customers, sales and referrals, shared by CLI and daemon. */
#ifndef AFTERSALE_STORE_H
#define AFTERSALE_STORE_H

#include <stdint.h>

#include "db.h"
#include "message.h"
#include "sale.h"

enum store_outcome {
	STORE_ADDED,
	STORE_DUPLICATE,	/* the same order again: nothing to do */
	STORE_CONFLICT,		/* the same order id with other data */
};

/* Why a referral code given with a sale was not taken. */
enum store_referral {
	REFERRAL_NONE,		/* no code given */
	REFERRAL_ACCEPTED,
	REFERRAL_UNKNOWN,
	REFERRAL_SELF,
	REFERRAL_NOT_FIRST,
	REFERRAL_ALREADY,
};

struct store_result {
	enum store_outcome	 outcome;
	enum store_referral	 referral;
	int			 new_customer;
	int			 repeats;	/* sales now known to be repeats */
	const char		*conflict;	/* the field that differs */
};

/*
 * SQL, spliced into literal statements: true when the customers row
 * `c` (a table name or alias) may not be mailed: they unsubscribed, or
 * their address bounced.
 */
#define STORE_NO_CONSENT(c) \
	"(" c ".unsubscribed_at IS NOT NULL OR " c ".bounced_at IS NOT NULL)"

/*
 * SQL, spliced into literal statements: the columns store_sale_row reads,
 * from sales `s` with its buyer `b` and its referral `r` joined as
 * STORE_SALE_FROM joins them (left joins: a sale without a referral still
 * comes, its referrer 0).
 */
#define STORE_SALE_COLUMNS \
	"s.id, s.customer_id, coalesce(r.referrer_id, 0), s.is_repeat," \
	" s.order_id, b.email, b.name, s.sku, s.product, s.referral_code," \
	" s.amount, s.currency, s.sold_at"
#define STORE_SALE_FROM \
	"sales s LEFT JOIN customers b ON b.id = s.customer_id" \
	" LEFT JOIN referrals r ON r.sale_id = s.id"

int	store_record_sale(struct db *db, const struct sale *sale, int64_t now,
	    struct store_result *res);
int	store_sale_row(struct db *db, sqlite3_stmt *st, int col,
	    struct sale *sale);
const char *store_referral_text(enum store_referral r);
#define STORE_MISSING	1	/* store_message_facts: a row is gone */
int	store_message_facts(struct db *db, int64_t customer, int64_t sale,
	    struct message_facts *f);
int	store_find_order(struct db *db, const char *order_id, int64_t *sale,
	    int64_t *customer);
int	store_touch(struct db *db, int64_t customer, int64_t sent_at);
int	store_referrer_of_sale(struct db *db, int64_t sale, int64_t *referrer);
int	store_find_customer(struct db *db, const char *email, const char *token,
	    int64_t *id);
int	store_read_sale(struct db *db, int64_t id, struct sale *sale);
int	store_delivery_find(struct db *db, const char *source,
	    const char *delivery, int64_t *sale);
int	store_delivery_add(struct db *db, const char *source,
	    const char *delivery, int64_t sale, int64_t now);
#define STORE_DELIVERY_KEEP	(30 * 86400)	/* seconds a delivery id is kept */
int	store_delivery_prune(struct db *db, int64_t before, int *count);
int	store_set_consent(struct db *db, int64_t customer, int subscribed,
	    int64_t now, int *changed);

#endif
