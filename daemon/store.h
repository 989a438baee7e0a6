/* The facts: customers, sales and referrals, shared by CLI and daemon. */
#ifndef AFTERSALE_STORE_H
#define AFTERSALE_STORE_H

#include <stdint.h>

#include "db.h"
#include "message.h"
#include "refund.h"
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
	int			 coupon;	/* its code was an issued coupon's:
						   redeemed, and no referral */
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
 * SQL, spliced into literal statements: what an erased customer's
 * address and referral code become (privacy.c), for the customers row
 * `c`.  Unique as the unique columns must be, and never equal to an
 * address or a code, neither of which has a ':': no lookup finds the
 * row, and a later sale from the same address makes a new customer.
 * STORE_ERASED(c) is true for such a row.
 */
#define STORE_ERASED_AS(c)	"('erased:' || " c ".id)"
#define STORE_ERASED(c)		"(" c ".email = " STORE_ERASED_AS(c) ")"

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
struct store_bulk;
int	store_bulk_begin(struct db *db, struct store_bulk **out);
int	store_bulk_record_sale(struct store_bulk *b, const struct sale *sale,
	    int64_t now, struct store_result *res);
int	store_bulk_end(struct store_bulk *b, int rc);
const char *store_referral_text(enum store_referral r);
#define STORE_MISSING	1	/* store_message_facts: a row is gone */
int	store_message_facts(struct db *db, int64_t customer, int64_t sale,
	    struct message_facts *f);
int	store_unsubscribe_token(struct db *db, int64_t id, const char *stored,
	    char token[UNSUBSCRIBE_TOKEN_LEN + 1]);
int	store_customer_by_token(struct db *db, const char *token, int64_t *id);
int	store_find_order(struct db *db, const char *order_id, int64_t *sale,
	    int64_t *customer);
int	store_touch(struct db *db, int64_t customer, int64_t sent_at);
int	store_referrer_of_sale(struct db *db, int64_t sale, int64_t *referrer);
int	store_customer_by_code(struct db *db, const char *code, int64_t *id);
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

/*
 * SQL, spliced into literal statements: true when the sales row `s`
 * still counts as an order, that is, it is not refunded in full
 * (migration 0010).  A free sale cannot be refunded, so it counts.
 */
#define STORE_SALE_COUNTS(s) \
	"(" s ".refunded = 0 OR " s ".refunded < " s ".amount)"

enum store_refund_outcome {
	STORE_REFUND_ADDED,
	STORE_REFUND_DUPLICATE,	/* its refund id is recorded: nothing new */
	STORE_REFUND_CONFLICT,	/* its refund id is recorded with another amount */
	STORE_REFUND_UNKNOWN,	/* no such order */
	STORE_REFUND_SETTLED,	/* refund_settle() said no: verdict */
};

struct store_refund_result {
	enum store_refund_outcome outcome;
	enum refund_verdict	 verdict;	/* STORE_REFUND_SETTLED: which */
	int64_t			 sale;		/* the sale's row, when known */
	int64_t			 amount;	/* this refund (a duplicate's
						   as recorded then) */
	int64_t			 total;		/* the sale's amount */
	int64_t			 refunded;	/* its refunds in all, now */
	char			 order_id[SALE_TEXT_LEN];
	char			 currency[4];
	char			 why[SALE_ERROR_LEN];	/* but for ADDED */
};

int	store_record_refund(struct db *db, const struct refund *r,
	    const char *source, int64_t now, struct store_refund_result *res);
int	store_refund_known(const struct store_refund_result *res);
int	store_platform_order_add(struct db *db, const char *source,
	    const char *platform_id, int64_t sale);

#endif
