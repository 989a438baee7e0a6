/* The front door: HTTP/1.1 on libmicrohttpd, driven by the daemon's loop. */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "xmalloc.h"

/*
 * libmicrohttpd runs without a thread of its own (MHD_USE_EPOLL, no
 * MHD_USE_INTERNAL_POLLING_THREAD): each listener's epoll descriptor is
 * watched by a uv_poll, MHD_get_timeout() arms a uv_timer, and MHD_run()
 * does the work, on the loop thread, as systemd-journal-remote does with
 * sd-event.  The routes can then use the daemon's database connection as
 * the rest of the loop does, with no lock.
 */

#define HTTP_MAX_LISTENERS	16
#define HTTP_MAX_CONNECTIONS	256	/* per listener: well under 1024 fds */
#define HTTP_MEMORY_LIMIT	(32 * 1024)	/* one connection's buffers */
#define HTTP_SWEEP_MS		250
/*
 * A chunked body says nothing of its size up front, and libmicrohttpd
 * 0.9.75 cannot answer while a body is still coming: one that passes
 * http.max_body is read and dropped, and answered 413 at its end, unless
 * it goes on past this many times max_body: then the connection is cut.
 */
#define HTTP_DISCARD_TIMES	8

/*
 * Group commit.  A sale or a refund is answered only once an fsync of
 * the WAL has made it durable, and one fsync per request would hold the
 * front door to the disk's rate of syncs.  So the sales (and refunds)
 * handled in one MHD_run() join one write transaction, the batch, each
 * inside a savepoint of its own (a conflict or an error undoes that
 * request alone), and wait with
 * their answers set and their connections suspended.  When the run is
 * over (or the batch full), one commit makes them all durable and they
 * are answered; if it fails, nothing of theirs is stored and each is
 * answered as any failed write is (503 for a full disk or a lock).  No
 * batch outlives the run that opened it: between two runs the daemon
 * uses the same database connection for its own work, and any other
 * route commits the batch before it runs, as its transaction cannot
 * nest in the batch's.
 */
#define HTTP_BATCH_MAX		64	/* bounds a batch's wait for its fsync */
/*
 * How long a batch waits for the write lock.  The loop waits with it,
 * and every other client with the loop, so it is short: a lock held
 * longer (a big import) is answered 503 with Retry-After, and the
 * platform comes back, as it does for any failed delivery.  Waited once
 * a run: the sales after the first in the same run are refused at once.
 */
#define HTTP_BATCH_WAIT_MS	1000

static const struct http_route {
	const char	*method;
	const char	*prefix;	/* ending in '/': one path segment below */
	http_handler	*handler;
	int		 batched;	/* its writes join the batch */
} http_routes[] = {
	{ "GET", "/healthz", http_ops_healthz, 0 },
	{ "GET", "/metrics", http_ops_metrics, 0 },
	{ "GET", "/u/", http_unsubscribe_page, 0 },
	{ "POST", "/u/", http_unsubscribe_post, 0 },
	{ "GET", "/r/", http_referral_click, 0 },
	{ "POST", "/hooks/shopify", http_hooks_shopify, 1 },
	{ "POST", "/hooks/woocommerce", http_hooks_woocommerce, 1 },
	{ "POST", "/hooks/stripe", http_hooks_stripe, 1 },
	{ "POST", "/api/sales", http_api_sales, 1 },
	{ "POST", "/api/refunds", http_api_refunds, 1 },
	{ "GET", "/api/stats", http_api_stats, 0 },
};

#define HTTP_NROUTES	(sizeof(http_routes) / sizeof(http_routes[0]))

struct http_listener {
	struct http		*h;
	struct MHD_Daemon	*mhd;
	uv_poll_t		 poll;		/* MHD's epoll descriptor */
	uv_timer_t		 timer;		/* MHD_get_timeout() */
	uv_idle_t		 idle;		/* MHD has work now: run it again */
};

/* One client connection, from accept() to close. */
struct http_conn {
	struct http_conn	*prev, *next;
	int			 fd;
	uint64_t		 deadline;	/* uv_now(); 0: being answered */
	char			 peer[INET6_ADDRSTRLEN + 8];
};

/* One request, from its headers to its answer. */
struct http_req {
	struct buf		 body;
	uint64_t		 got;		/* body bytes seen, kept or not */
	int			 too_big;
	/* Its answer, and what sending it needs once the batch commits. */
	struct http_response	 res;
	struct MHD_Connection	*conn;
	int			 route;
	const char		*method;	/* libmicrohttpd's, as long as */
	const char		*path;		/* the request lasts */
	int			 batched;	/* waits, suspended, in the batch */
};

/* The requests waiting for one commit; see HTTP_BATCH_MAX. */
struct http_batch {
	int		 open;		/* its transaction is */
	int		 lost;		/* DB_*: an error took it; DB_OK */
	int		 refused;	/* DB_*: no lock this run; DB_OK */
	size_t		 n;
	struct http_req	*members[HTTP_BATCH_MAX];
	long		 commits;	/* aftersale_http_commits_total */
};

/* Answers by route and status, for aftersale_http_requests_total. */
struct http_count {
	int	route;			/* index in http_routes, or -1 */
	int	status;
	long	n;
};

struct http {
	uv_loop_t		*loop;
	const struct http_env	*env;
	struct http_listener	 listeners[HTTP_MAX_LISTENERS];
	size_t			 nlisteners;
	struct http_conn	*conns;
	uv_timer_t		 sweep;		/* cuts off slow requests */
	uint64_t		 timeout_ms;	/* http.timeout at start */
	int			 open_handles;	/* freed when none is left */
	struct http_count	*counts;
	size_t			 ncounts;
	long			 sales[SOURCE_COUNT];	/* recorded, by source */
	struct http_batch	 batch;
};

static void	http_run(struct http_listener *);
static size_t	http_batch_commit(struct http *);

static void http_mhd_log(void *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/* libmicrohttpd's own complaints, one line each. */
static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	msg[512];
	size_t	len;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	log_info("http: %s", msg);
}

static struct http_conn *
http_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info != NULL ? info->socket_context : NULL;
}

const char *
http_header(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Set a plain-text answer. */
void
http_answer(struct http_response *res, int status, const char *reason,
    const char *fmt, ...)
{
	va_list	ap;
	char	text[1024];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	res->status = status;
	res->reason = reason;
	res->type = NULL;
	res->body.len = 0;
	buf_addstr(&res->body, text);
	buf_addc(&res->body, '\n');
}

/*
 * A database error (logged already): a lock held elsewhere or a full disk
 * pass, so the client is asked to come back; anything else is ours.
 */
void
http_db_failed(struct http_response *res, int rc)
{
	if (rc == DB_BUSY || rc == DB_FULL) {
		http_answer(res, 503, "database busy", "busy; try again shortly");
		res->retry_after = 5;
	} else {
		http_answer(res, 500, "database error", "internal error");
	}
}

/* Append s with &, <, >, " and ' escaped: safe in text and attributes. */
void
http_html(struct buf *b, const char *s)
{
	size_t run;

	while (*s != '\0') {
		run = strcspn(s, "&<>\"'");
		buf_add(b, s, run);
		s += run;
		switch (*s) {
		case '&':	buf_addstr(b, "&amp;"); break;
		case '<':	buf_addstr(b, "&lt;"); break;
		case '>':	buf_addstr(b, "&gt;"); break;
		case '"':	buf_addstr(b, "&quot;"); break;
		case '\'':	buf_addstr(b, "&#39;"); break;
		default:	return;
		}
		s++;
	}
}

static void
http_count(struct http *h, int route, int status)
{
	for (size_t i = 0; i < h->ncounts; i++)
		if (h->counts[i].route == route && h->counts[i].status == status) {
			h->counts[i].n++;
			return;
		}
	h->counts = xreallocarray(h->counts, h->ncounts + 1, sizeof(*h->counts));
	h->counts[h->ncounts++] = (struct http_count){ route, status, 1 };
}

/* The aftersale_http_requests_total family, in Prometheus' text format. */
void
http_requests_metrics(const struct http *h, struct buf *b)
{
	buf_addstr(b, "# HELP aftersale_http_requests_total HTTP requests "
	    "answered since start, by route and status.\n"
	    "# TYPE aftersale_http_requests_total counter\n");
	for (size_t i = 0; i < h->ncounts; i++)
		buf_printf(b, "aftersale_http_requests_total{route=\"%s\","
		    "code=\"%d\"} %ld\n", h->counts[i].route >= 0 ?
		    http_routes[h->counts[i].route].prefix : "other",
		    h->counts[i].status, h->counts[i].n);
}

/* A sale recorded by a route: aftersale_sales_recorded_total{source}. */
void
http_sale_counted(struct http *h, enum source source)
{
	h->sales[source]++;
}

/* With the durable commits they took: fewer when sales shared one. */
void
http_sales_metrics(const struct http *h, struct buf *b)
{
	buf_addstr(b, "# HELP aftersale_sales_recorded_total Sales recorded "
	    "through the front door since start, by source.\n"
	    "# TYPE aftersale_sales_recorded_total counter\n");
	for (int i = 0; i < SOURCE_COUNT; i++)
		buf_printf(b, "aftersale_sales_recorded_total{source=\"%s\"} "
		    "%ld\n", config_source_names[i], h->sales[i]);
	buf_printf(b, "# HELP aftersale_http_commits_total Durable commits "
	    "(an fsync each) of the front door's sales and refunds since "
	    "start; those answered together share one.\n"
	    "# TYPE aftersale_http_commits_total counter\n"
	    "aftersale_http_commits_total %ld\n", h->batch.commits);
}

/*
 * Join the request to the batch, opening the batch's transaction (with
 * synchronous FULL) if it is the first, and a savepoint for the request
 * in it; end the savepoint with http_batch_leave().  From then on the
 * answer the route sets waits for the commit.  Returns DB_OK, or a DB_*
 * error (logged): the request is not in the batch and the route answers
 * it now.
 */
int
http_batch_join(struct http_request *req)
{
	struct http		*h = req->server;
	struct http_batch	*b = &h->batch;
	struct db		*db = h->env->db;
	int			 rc;

	if (b->open && (b->n == HTTP_BATCH_MAX || b->lost != DB_OK))
		http_batch_commit(h);
	if (!b->open) {
		if (b->refused != DB_OK)
			return b->refused;
		sqlite3_busy_timeout(db->sqlite, HTTP_BATCH_WAIT_MS);
		if ((rc = db_durable(db, 1)) == DB_OK &&
		    (rc = db_begin(db)) != DB_OK)
			db_durable(db, 0);
		sqlite3_busy_timeout(db->sqlite, DB_BUSY_TIMEOUT_MS);
		if (rc != DB_OK)
			return b->refused = rc;
		b->open = 1;
	}
	if ((rc = db_savepoint(db)) != DB_OK) {
		if (!db_in_transaction(db))
			b->lost = rc;
		return rc;
	}
	b->members[b->n++] = req->req;
	req->req->batched = 1;
	return DB_OK;
}

/*
 * The request's writes are over: keep them when rc is DB_OK, else undo
 * them.  Returns rc, or the error that ended the savepoint.  An error
 * that took the whole transaction with it (SQLite rolls back on some, a
 * full disk among them) fails the batch: every member is then answered
 * as its commit failed.
 */
int
http_batch_leave(struct http_request *req, int rc)
{
	struct http_batch	*b = &req->server->batch;
	struct db		*db = req->server->env->db;
	int			 end = db_savepoint_end(db, rc);

	if (!db_in_transaction(db) || (rc == DB_OK && end != DB_OK))
		b->lost = end < 0 ? end : DB_ERROR;
	return end;
}

/* A query parameter (?since=...), decoded, or NULL. */
const char *
http_query(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Set a JSON answer; takes the reference to body. */
void
http_json(struct http_response *res, int status, const char *reason,
    json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_REAL_PRECISION(10));

	json_decref(body);
	res->status = status;
	res->reason = reason;
	res->type = "application/json";
	res->body.len = 0;
	/* Only a NULL body can fail: jansson allocates through xmalloc. */
	buf_addstr(&res->body, text != NULL ? text : "{}");
	buf_addc(&res->body, '\n');
	free(text);
}

/*
 * {"error": "...", "field": "email"}: what a client's developer reads.
 * reason goes to the log instead, and never quotes the body.
 */
void
http_json_error(struct http_response *res, int status, const char *reason,
    const char *error, const char *field)
{
	json_t *body = json_object(), *text = json_string(error);

	/* A why may quote a value cut short inside a character. */
	json_object_set_new(body, "error", text != NULL ? text :
	    json_string("the request was refused"));
	if (field != NULL)
		json_object_set_new(body, "field", json_string(field));
	http_json(res, status, reason, body);
}

/* A path for the log: printable ASCII, cut short. */
static void
http_log_path(const char *path, char *out, size_t len)
{
	size_t i;

	for (i = 0; path[i] != '\0' && i + 1 < len && i < 80; i++)
		out[i] = path[i] > ' ' && path[i] < 0x7f ? path[i] : '?';
	out[i] = '\0';
}

/*
 * Queue the answer, count it, and log it when it refuses the request:
 * the route, never the whole path (an unsubscribe token is a key to one
 * customer's consent) unless no route took it, and never a body.
 */
static enum MHD_Result
http_respond(struct http *h, struct MHD_Connection *c, int route,
    const char *method, const char *path, struct http_response *res)
{
	struct MHD_Response	*resp;
	struct http_conn	*conn = http_conn_of(c);
	enum MHD_Result		 ok;
	char			 num[32], shown[96];

	resp = MHD_create_response_from_buffer(res->body.len,
	    res->body.data != NULL ? res->body.data : (char *)"",
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    res->type != NULL ? res->type : "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* A page's address may hold a token: never pass it on. */
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (res->page)
		MHD_add_response_header(resp, "Content-Security-Policy",
		    "default-src 'none'; style-src 'unsafe-inline'; "
		    "form-action 'self'; frame-ancestors 'none'");
	if (res->location != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
		    res->location);
	if (res->authenticate != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    res->authenticate);
	if (res->retry_after > 0) {
		snprintf(num, sizeof(num), "%d", res->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	if (res->status == 405 && route >= 0) {
		struct buf allow = { 0 };

		for (size_t i = 0; i < HTTP_NROUTES; i++)
			if (strcmp(http_routes[i].prefix,
			    http_routes[route].prefix) == 0)
				buf_printf(&allow, "%s%s%s", allow.len > 0 ?
				    ", " : "", http_routes[i].method,
				    strcmp(http_routes[i].method, "GET") == 0 ?
				    ", HEAD" : "");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow.data);
		buf_free(&allow);
	}
	ok = MHD_queue_response(c, (unsigned)res->status, resp);
	MHD_destroy_response(resp);
	http_count(h, route, res->status);
	if (conn != NULL)
		conn->deadline = 0;	/* answered: the client is in time */
	if (res->status >= 400) {
		http_log_path(path, shown, sizeof(shown));
		if (res->status >= 500)
			log_warnx("http: %s %s from %s: %d %s", method, route >= 0 ?
			    http_routes[route].prefix : shown, conn ? conn->peer :
			    "?", res->status, res->reason ? res->reason : "");
		else
			log_info("http: %s %s from %s: %d %s", method, route >= 0 ?
			    http_routes[route].prefix : shown, conn ? conn->peer :
			    "?", res->status, res->reason ? res->reason : "");
	}
	return ok;
}

/*
 * Behind a proxy that passes the path on, requests come with
 * http.public_url's path in front ("/as/u/TOKEN"): take it off.
 */
static const char *
http_local_path(const struct config *cfg, const char *url)
{
	const char	*base = cfg->http.public_base, *path;
	size_t		 len;

	if (base == NULL || (path = strstr(base, "://")) == NULL ||
	    (path = strchr(path + 3, '/')) == NULL)
		return url;
	len = strlen(path);
	if (strncmp(url, path, len) == 0 && url[len] == '/')
		return url + len;
	return url;
}

/*
 * The route for a path and method: its index, or -1 with *status 404 (no
 * route has the path) or 405 (one has, for another method; *route_out
 * names it then).  HEAD goes where GET does.
 */
static int
http_route(const char *path, const char *method, int *status, int *route_out)
{
	int any = -1;

	for (size_t i = 0; i < HTTP_NROUTES; i++) {
		const char	*prefix = http_routes[i].prefix;
		size_t		 len = strlen(prefix);

		if (prefix[len - 1] == '/') {
			if (strncmp(path, prefix, len) != 0 || path[len] == '\0' ||
			    strchr(path + len, '/') != NULL)
				continue;
		} else if (strcmp(path, prefix) != 0) {
			continue;
		}
		any = (int)i;
		if (strcmp(method, http_routes[i].method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(http_routes[i].method, "GET") == 0))
			return (int)i;
	}
	*status = any >= 0 ? 405 : 404;
	*route_out = any;
	return -1;
}

/* A request's headers are in: refuse now what can be refused now. */
static enum MHD_Result
http_begin(struct http *h, struct MHD_Connection *c, const char *method,
    const char *path)
{
	struct http_response	 res;
	const char		*length;
	enum MHD_Result		 ok;
	int			 route, named, status;
	unsigned long long	 n;

	memset(&res, 0, sizeof(res));
	if ((route = http_route(path, method, &status, &named)) < 0) {
		if (status == 404)
			http_answer(&res, 404, "no such path", "not found");
		else
			http_answer(&res, 405, "method not allowed",
			    "method not allowed");
		route = named;
	} else if (*h->env->stopping) {
		http_answer(&res, 503, "stopping", "stopping; try again shortly");
		res.retry_after = 5;
	} else if ((length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH)) != NULL &&
	    sscanf(length, "%llu", &n) == 1 &&
	    n > (unsigned long long)h->env->cfg->http.max_body)
		http_answer(&res, 413, "body over http.max_body",
		    "the body is larger than %lld bytes",
		    (long long)h->env->cfg->http.max_body);
	else
		return MHD_YES;		/* read the body, then answer */
	/* Answered before the body: libmicrohttpd closes the connection. */
	ok = http_respond(h, c, route, method, path, &res);
	buf_free(&res.body);
	return ok;
}

/* Send the request's answer, and free it. */
static enum MHD_Result
http_send(struct http *h, struct http_req *r)
{
	enum MHD_Result ok = http_respond(h, r->conn, r->route, r->method,
	    r->path, &r->res);

	buf_free(&r->res.body);
	free(r->res.location);
	free(r->res.recorded);
	memset(&r->res, 0, sizeof(r->res));
	return ok;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **req_cls)
{
	struct http_listener	*l = cls;
	struct http		*h = l->h;
	struct http_req		*r = *req_cls;
	struct http_request	 req;
	struct http_response	*res;
	struct http_conn	*conn;
	const char		*path = http_local_path(h->env->cfg, url);
	int			 route, named, status;
	int64_t			 max = h->env->cfg->http.max_body;

	(void)version;
	if (r == NULL) {
		*req_cls = r = xcalloc(1, sizeof(*r));
		return http_begin(h, c, method, path);
	}
	/* Answered by the batch, yet called again: the answer was refused. */
	if (r->batched)
		return MHD_NO;
	if (*upload_size > 0) {
		r->got += *upload_size;
		if (!r->too_big && r->got <= (uint64_t)max) {
			buf_add(&r->body, upload, *upload_size);
		} else {
			r->too_big = 1;
			buf_free(&r->body);
		}
		*upload_size = 0;
		/* MHD_NO: libmicrohttpd closes the connection. */
		return r->got > (uint64_t)max * HTTP_DISCARD_TIMES ? MHD_NO :
		    MHD_YES;
	}

	res = &r->res;
	route = http_route(path, method, &status, &named);
	r->conn = c;
	r->route = route;
	r->method = method;
	r->path = path;
	if (route < 0) {
		/* A reload moved http.public_url meanwhile. */
		http_answer(res, 404, "no such path", "not found");
	} else if (r->too_big) {
		http_answer(res, 413, "body over http.max_body",
		    "the body is larger than %lld bytes", (long long)max);
	} else if (*h->env->stopping) {
		/* As http_begin() would have, and no batch for http_stop(). */
		http_answer(res, 503, "stopping", "stopping; try again shortly");
		res->retry_after = 5;
	} else {
		if (!http_routes[route].batched)
			http_batch_commit(h);
		memset(&req, 0, sizeof(req));
		req.server = h;
		req.env = h->env;
		req.method = method;
		req.path = path;
		req.arg = path + strlen(http_routes[route].prefix);
		req.body = r->body.data != NULL ? r->body.data : "";
		req.body_len = r->body.len;
		req.now = (int64_t)time(NULL);
		req.conn = c;
		req.req = r;
		res->status = 200;
		http_routes[route].handler(&req, res);
	}
	if (!r->batched)
		return http_send(h, r);
	/* In time: the client waits for the commit, not on its own. */
	if ((conn = http_conn_of(c)) != NULL)
		conn->deadline = 0;
	MHD_suspend_connection(c);
	return MHD_YES;
}

/*
 * End the batch: one commit makes every sale in it durable (one fsync),
 * then each member is sent the answer its route set or, when the commit
 * failed, the answer to a failed write (nothing of theirs is stored), and
 * its connection resumed.  The sales are said (logged, counted, planned)
 * only once committed.  Returns how many requests were answered.
 */
static size_t
http_batch_commit(struct http *h)
{
	struct http_batch	*b = &h->batch;
	struct db		*db = h->env->db;
	size_t			 n = b->n;
	int			 rc;

	if (!b->open)
		return 0;
	rc = db_end(db, b->lost);
	db_durable(db, 0);
	if (rc == DB_OK)
		b->commits++;
	else if (n > 0)
		log_warnx("http: the commit %zu request%s waited for failed; "
		    "nothing of %s is stored", n, n == 1 ? "" : "s",
		    n == 1 ? "its" : "theirs");
	for (size_t i = 0; i < n; i++) {
		struct http_req *r = b->members[i];

		if (rc != DB_OK) {
			free(r->res.recorded);
			r->res.recorded = NULL;
			http_db_failed(&r->res, rc);
		} else if (r->res.recorded != NULL) {
			http_sales_committed(h, h->env, r->res.recorded);
		}
		/* A suspended connection takes its answer at any time. */
		http_send(h, r);
		MHD_resume_connection(r->conn);
		b->members[i] = NULL;
	}
	b->open = 0;
	b->lost = DB_OK;
	b->n = 0;
	return n;
}

static void
http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_listener	*l = cls;
	struct http_req		*r = *req_cls;
	struct http_conn	*conn = http_conn_of(c);

	(void)toe;
	if (r != NULL) {
		buf_free(&r->body);
		free(r);
		*req_cls = NULL;
	}
	/* The next request on this connection has its own time. */
	if (conn != NULL)
		conn->deadline = uv_now(l->h->loop) + l->h->timeout_ms;
}

static void
http_peer(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info != NULL ? info->client_addr : NULL;
	char addr[INET6_ADDRSTRLEN] = "?";

	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		snprintf(out, len, "%s:%u", addr, ntohs(in->sin_port));
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		snprintf(out, len, "[%s]:%u", addr, ntohs(in6->sin6_port));
	} else {
		snprintf(out, len, "a local socket");
	}
}

static void
http_sweep(uv_timer_t *t)
{
	struct http	*h = t->data;
	uint64_t	 now = uv_now(h->loop);

	for (struct http_conn *c = h->conns; c != NULL; c = c->next) {
		if (c->deadline == 0 || now < c->deadline)
			continue;
		/*
		 * libmicrohttpd's own timeout is for idleness, and a byte a
		 * second is not idle.  shutdown() ends the connection but
		 * keeps the descriptor, which libmicrohttpd still owns: it
		 * reads the end and closes it.
		 */
		log_info("http: %s sent no whole request within %llu s; "
		    "connection closed", c->peer,
		    (unsigned long long)(h->timeout_ms / 1000));
		shutdown(c->fd, SHUT_RDWR);
		c->deadline = 0;
	}
}

static void
http_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct http_listener		*l = cls;
	struct http			*h = l->h;
	struct http_conn		*conn = *socket_context;
	const union MHD_ConnectionInfo	*info;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		conn = xcalloc(1, sizeof(*conn));
		info = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		conn->fd = info != NULL ? info->connect_fd : -1;
		conn->deadline = uv_now(h->loop) + h->timeout_ms;
		http_peer(c, conn->peer, sizeof(conn->peer));
		if ((conn->next = h->conns) != NULL)
			conn->next->prev = conn;
		h->conns = conn;
		*socket_context = conn;
		if (!uv_is_active((uv_handle_t *)&h->sweep))
			uv_timer_start(&h->sweep, http_sweep, HTTP_SWEEP_MS,
			    HTTP_SWEEP_MS);
		return;
	}
	if (conn == NULL)
		return;
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		h->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	free(conn);
	*socket_context = NULL;
	if (h->conns == NULL)
		uv_timer_stop(&h->sweep);
}

static void
http_poll_cb(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	http_run(p->data);
}

static void
http_timer_cb(uv_timer_t *t)
{
	http_run(t->data);
}

static void
http_idle_cb(uv_idle_t *i)
{
	http_run(i->data);
}

/*
 * Let libmicrohttpd do what is ready, commit the batch it filled, then
 * wait for what it waits for.  A timeout of 0 means data it has read but
 * not handled yet (edge-triggered epoll will not say so again): an idle
 * handle runs it on the loop's next turn, after the other handles had
 * theirs.
 */
static void
http_run(struct http_listener *l)
{
	struct http		*h = l->h;
	MHD_UNSIGNED_LONG_LONG	 ms;

	MHD_run(l->mhd);
	if (http_batch_commit(h) > 0) {
		/*
		 * The answers out now rather than a turn of the loop later.
		 * That run may take new sales, whose batch may not outlive it
		 * either: they are answered on the next turn.
		 */
		MHD_run(l->mhd);
		http_batch_commit(h);
	}
	h->batch.refused = DB_OK;
	if (MHD_get_timeout(l->mhd, &ms) != MHD_YES) {
		uv_timer_stop(&l->timer);
		uv_idle_stop(&l->idle);
	} else if (ms == 0) {
		uv_timer_stop(&l->timer);
		uv_idle_start(&l->idle, http_idle_cb);
	} else {
		uv_idle_stop(&l->idle);
		uv_timer_start(&l->timer, http_timer_cb, ms, 0);
	}
}

static int
http_listen_address(const struct config *cfg, const struct listen_address *a)
{
	int fd, one = 1;

	fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("%s:%d: http.listen \"%s\": cannot make a socket",
		    cfg->path, a->line, a->text);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->addr, a->len) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		log_warn("%s:%d: http.listen \"%s\": cannot listen there",
		    cfg->path, a->line, a->text);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The listening sockets: systemd's (aftersale.socket) when it passed
 * some, else http.listen's.  Returns how many, or -1 (logged; the ones
 * made are closed).
 */
static int
http_sockets(const struct config *cfg, int fds[HTTP_MAX_LISTENERS])
{
	int n = sd_listen_fds(1);

	if (n > HTTP_MAX_LISTENERS) {
		log_error("systemd passed %d sockets; at most %d are used", n,
		    HTTP_MAX_LISTENERS);
		return -1;
	}
	if (n > 0) {
		if (cfg->http.listen.n > 0)
			log_info("listening on the %d socket%s systemd passed; "
			    "http.listen is not used", n, n == 1 ? "" : "s");
		for (int i = 0; i < n; i++) {
			fds[i] = SD_LISTEN_FDS_START + i;
			if (sd_is_socket(fds[i], AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
				log_error("systemd passed descriptor %d, which is "
				    "not a listening stream socket: check "
				    "aftersale.socket", fds[i]);
				return -1;
			}
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
			fcntl(fds[i], F_SETFD, FD_CLOEXEC);
		}
		return n;
	}
	if (cfg->http.listen.n == 0) {
		log_error("%s: http.listen is empty and systemd passed no "
		    "socket: nowhere to listen (start aftersale.socket, or list "
		    "addresses)", cfg->path);
		return -1;
	}
	for (size_t i = 0; i < cfg->http.listen.n; i++) {
		if ((fds[i] = http_listen_address(cfg,
		    &cfg->http.listen.v[i])) == -1) {
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	return (int)cfg->http.listen.n;
}

static void
http_closed(uv_handle_t *handle)
{
	struct http *h = handle->data;

	if (--h->open_handles > 0)
		return;
	while (h->conns != NULL) {
		struct http_conn *c = h->conns;

		h->conns = c->next;
		free(c);
	}
	free(h->counts);
	free(h);
}

/*
 * Listen when the configuration has an http block: *out is NULL without
 * one.  Everything that can fail is done before the loop sees a handle,
 * so a failure leaves nothing to close.  Returns 0, or -1 (logged).
 */
int
http_start(uv_loop_t *loop, const struct http_env *env, struct http **out)
{
	const struct config	*cfg = env->cfg;
	struct http		*h;
	int			 fds[HTTP_MAX_LISTENERS], n;

	*out = NULL;
	if (!cfg->http.enabled) {
		if ((n = sd_listen_fds(1)) > 0)
			log_warnx("systemd passed %d socket%s but %s has no http "
			    "block: not listening", n, n == 1 ? "" : "s",
			    cfg->path);
		return 0;
	}
	if ((n = http_sockets(cfg, fds)) == -1)
		return -1;
	h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	h->env = env;
	h->timeout_ms = (uint64_t)cfg->http.timeout * 1000;
	for (int i = 0; i < n; i++) {
		struct http_listener *l = &h->listeners[i];

		l->h = h;
		l->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
		    MHD_ALLOW_SUSPEND_RESUME, 0,
		    NULL, NULL, http_access, l,
		    /* First, so that every message of the start goes there. */
		    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, l,
		    MHD_OPTION_LISTEN_SOCKET, fds[i],
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->http.timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, l,
		    MHD_OPTION_NOTIFY_CONNECTION, http_connection, l,
		    MHD_OPTION_END);
		if (l->mhd == NULL) {
			log_error("cannot start the HTTP server (libmicrohttpd) "
			    "on descriptor %d", fds[i]);
			for (int j = 0; j < i; j++)
				MHD_stop_daemon(h->listeners[j].mhd);
			for (int j = i; j < n; j++)
				close(fds[j]);
			free(h);
			return -1;
		}
	}
	h->nlisteners = (size_t)n;
	uv_timer_init(loop, &h->sweep);
	h->sweep.data = h;
	h->open_handles = 1;
	for (size_t i = 0; i < h->nlisteners; i++) {
		struct http_listener		*l = &h->listeners[i];
		const union MHD_DaemonInfo	*info = MHD_get_daemon_info(l->mhd,
						    MHD_DAEMON_INFO_EPOLL_FD);

		/* Both succeed for an epoll descriptor on Linux. */
		if (info == NULL || uv_poll_init(loop, &l->poll,
		    info->epoll_fd) != 0)
			fatalx("cannot watch libmicrohttpd's epoll descriptor");
		uv_timer_init(loop, &l->timer);
		uv_idle_init(loop, &l->idle);
		l->poll.data = l->timer.data = l->idle.data = l;
		h->open_handles += 3;
		uv_poll_start(&l->poll, UV_READABLE, http_poll_cb);
		http_run(l);
	}
	if (sd_listen_fds(0) <= 0)
		for (size_t i = 0; i < cfg->http.listen.n; i++)
			log_info("listening for HTTP on %s",
			    cfg->http.listen.v[i].text);
	*out = h;
	return 0;
}

/*
 * Stop listening and close every connection.  The handles close with the
 * loop's next turn, and h is freed with the last of them.
 */
void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	uv_timer_stop(&h->sweep);
	for (size_t i = 0; i < h->nlisteners; i++) {
		struct http_listener *l = &h->listeners[i];

		/*
		 * The answers of the last batches go out: resuming takes a
		 * run, and sending the next.  No new batch opens (stopping).
		 */
		for (int run = 0; run < 2; run++) {
			MHD_run(l->mhd);
			http_batch_commit(h);
		}
		/* libmicrohttpd may not stop with a connection suspended. */
		assert(!h->batch.open);
		/* Out of the loop's epoll set before the descriptor goes. */
		l->poll.data = l->timer.data = l->idle.data = h;
		uv_close((uv_handle_t *)&l->poll, http_closed);
		uv_close((uv_handle_t *)&l->timer, http_closed);
		uv_close((uv_handle_t *)&l->idle, http_closed);
		MHD_stop_daemon(l->mhd);
		l->mhd = NULL;
	}
	uv_close((uv_handle_t *)&h->sweep, http_closed);
}

/* A reload: say what waits for a restart.  Returns 1 if anything does. */
int
http_reload_check(const struct config *old, const struct config *cfg)
{
	int later = old->http.enabled != cfg->http.enabled ||
	    old->http.timeout != cfg->http.timeout ||
	    old->http.listen.n != cfg->http.listen.n;

	for (size_t i = 0; !later && i < cfg->http.listen.n; i++)
		later = strcmp(old->http.listen.v[i].text,
		    cfg->http.listen.v[i].text) != 0;
	if (later)
		log_warnx("the http block's listen and timeout, and whether "
		    "there is one, change at the next restart");
	return later;
}
