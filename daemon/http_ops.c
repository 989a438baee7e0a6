/* GET /healthz and GET /metrics: what monitoring asks the daemon. */

#include <sqlite3.h>
#include <string.h>

#include "http.h"
#include "queue.h"

/*
 * How long /healthz waits for the write lock.  The loop waits with it,
 * so it is short: a database another process holds longer is unusable
 * for the front door's writes, which is what /healthz says.
 */
#define HTTP_HEALTH_WAIT_MS	250

static const char sql_health[] = "SELECT count(*) FROM planner";

/*
 * 200 "ok" while the loop turns (it answers) and the database gives a
 * write transaction and a read in it; 503 otherwise.  The transaction is
 * rolled back: nothing is written.
 */
void
http_ops_healthz(struct http_request *r, struct http_response *res)
{
	struct db	*db = r->env->db;
	int		 rc;

	sqlite3_busy_timeout(db->sqlite, HTTP_HEALTH_WAIT_MS);
	if ((rc = db_begin(db)) == DB_OK) {
		if ((rc = db_run(db, sql_health, 0, 0, NULL, NULL)) == 1)
			rc = DB_OK;
		else if (rc == 0)
			rc = DB_ERROR;
		db_end(db, 1);		/* roll back */
	}
	sqlite3_busy_timeout(db->sqlite, DB_BUSY_TIMEOUT_MS);
	if (rc != DB_OK) {
		http_answer(res, 503, "database unusable", "database unusable");
		res->retry_after = 5;
		return;
	}
	http_answer(res, 200, NULL, "ok");
}

/* Prometheus' text exposition format, version 0.0.4. */
void
http_ops_metrics(struct http_request *r, struct http_response *res)
{
	const struct http_env	*e = r->env;
	struct buf		*b = &res->body;
	int64_t			 counts[QUEUE_NSTATES], due = 0;
	int			 rc;

	if ((rc = queue_counts(e->db, counts)) != DB_OK ||
	    (rc = queue_next_due(e->db, &due)) < 0) {
		http_db_failed(res, rc);
		return;
	}
	res->type = "text/plain; version=0.0.4; charset=utf-8";
	buf_addstr(b, "# HELP aftersale_messages Messages in the queue, by "
	    "state.\n# TYPE aftersale_messages gauge\n");
	for (int i = 0; i < QUEUE_NSTATES; i++)
		buf_printf(b, "aftersale_messages{state=\"%s\"} %lld\n",
		    queue_states[i], (long long)counts[i]);
	buf_printf(b, "# HELP aftersale_deliveries_total The relay's answers "
	    "since start, by outcome.\n"
	    "# TYPE aftersale_deliveries_total counter\n"
	    "aftersale_deliveries_total{outcome=\"sent\"} %ld\n"
	    "aftersale_deliveries_total{outcome=\"deferred\"} %ld\n"
	    "aftersale_deliveries_total{outcome=\"failed\"} %ld\n"
	    "aftersale_deliveries_total{outcome=\"bounced\"} %ld\n",
	    e->sent, e->deferred, e->failed, e->bounced);
	http_requests_metrics(r->server, b);
	http_sales_metrics(r->server, b);
	buf_printf(b, "# HELP aftersale_relay_up 1 while the relay answers, "
	    "0 while sending is paused because it cannot be used.\n"
	    "# TYPE aftersale_relay_up gauge\naftersale_relay_up %d\n",
	    e->relay->seconds == 0);
	buf_printf(b, "# HELP aftersale_oldest_due_seconds How long the "
	    "earliest waiting message has been due (0: none is).\n"
	    "# TYPE aftersale_oldest_due_seconds gauge\n"
	    "aftersale_oldest_due_seconds %lld\n",
	    rc == 1 && due < r->now ? (long long)(r->now - due) : 0LL);
}
