/* The front door: HTTP/1.1 in the daemon's loop, on libmicrohttpd. */
#ifndef AFTERSALE_HTTP_H
#define AFTERSALE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "delivery.h"
#include "refund.h"
#include "sale.h"

/*
 * What the daemon shows the front door.  The daemon owns it and keeps it
 * current on the loop thread: cfg after a reload, the counters after each
 * answer from the relay.  The routes read it there, and change nothing
 * but the database, through db.
 */
struct http_env {
	struct db			*db;
	const struct config		*cfg;
	const struct delivery_backoff	*relay;
	const int			*stopping;	/* 503 from then on */
	long				 sent, deferred, failed, bounced;
	/* A route recorded a sale: the daemon plans it. */
	void				(*recorded)(void *owner);
	void				*owner;
};

struct http;
struct http_req;

struct http_request {
	struct http		*server;
	const struct http_env	*env;
	const char		*method;
	const char		*path;		/* public_url's path taken off */
	const char		*arg;		/* what follows the route's prefix */
	const char		*body;		/* NUL-terminated */
	size_t			 body_len;
	int64_t			 now;
	void			*conn;		/* for http_header() */
	struct http_req		*req;		/* http.c's own, for the batch */
};

/*
 * A sale or a refund a route recorded, said (logged, counted, planned)
 * once its batch is committed and not before: what a failed commit held
 * was never recorded.
 */
struct http_recorded {
	enum source	source;
	char		order_id[SALE_TEXT_LEN];
	int		refund;		/* a refund of the order, not its sale */
	int		full;		/* ... which refunded it in full */
	int		new_customer;
	char		warning[600];	/* a referral code ignored; "" if none */
};

struct http_response {
	int		 status;
	const char	*type;		/* Content-Type; NULL: plain UTF-8 text */
	struct buf	 body;
	char		*location;	/* owned; a redirect's target */
	int		 retry_after;	/* seconds; 0: no Retry-After */
	int		 page;		/* an HTML page: a strict CSP with it */
	const char	*reason;	/* why it was refused, for the log */
	const char	*authenticate;	/* a 401's WWW-Authenticate */
	struct http_recorded *recorded;	/* owned; said after the commit */
};

typedef void http_handler(struct http_request *, struct http_response *);

int	http_start(uv_loop_t *loop, const struct http_env *env,
	    struct http **out);
void	http_stop(struct http *h);
int	http_reload_check(const struct config *old, const struct config *cfg);

const char *http_header(const struct http_request *r, const char *name);
void	http_answer(struct http_response *res, int status, const char *reason,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	http_db_failed(struct http_response *res, int rc);
void	http_html(struct buf *b, const char *s);
void	http_requests_metrics(const struct http *h, struct buf *b);
const char *http_query(const struct http_request *r, const char *name);
void	http_json(struct http_response *res, int status, const char *reason,
	    json_t *body);
void	http_json_error(struct http_response *res, int status,
	    const char *reason, const char *error, const char *field);
void	http_sale_counted(struct http *h, enum source source);
void	http_sales_metrics(const struct http *h, struct buf *b);
int	http_batch_join(struct http_request *r);
int	http_batch_leave(struct http_request *r, int rc);

/* http_sales.c: a sale handed to the front door, recorded durably. */
void	http_sales_record(struct http_request *r, struct http_response *res,
	    enum source source, const char *delivery, const struct sale *sale,
	    const char *platform_id, int created);
json_t	*http_sales_json(const struct sale *sale);
void	http_sales_committed(struct http *h, const struct http_env *env,
	    const struct http_recorded *rec);

/* http_refunds.c: a refund handed to the front door, recorded durably. */
void	http_refunds_record(struct http_request *r, struct http_response *res,
	    enum source source, const char *delivery,
	    const struct refund *refund);

/* The routes, one file each (http.c holds their table). */
void	http_ops_healthz(struct http_request *, struct http_response *);
void	http_ops_metrics(struct http_request *, struct http_response *);
void	http_unsubscribe_page(struct http_request *, struct http_response *);
void	http_unsubscribe_post(struct http_request *, struct http_response *);
void	http_referral_click(struct http_request *, struct http_response *);
void	http_hooks_shopify(struct http_request *, struct http_response *);
void	http_hooks_woocommerce(struct http_request *, struct http_response *);
void	http_hooks_stripe(struct http_request *, struct http_response *);
void	http_api_sales(struct http_request *, struct http_response *);
void	http_api_refunds(struct http_request *, struct http_response *);
void	http_api_stats(struct http_request *, struct http_response *);

#endif
