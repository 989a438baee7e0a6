/* GET and POST /u/TOKEN: the unsubscribe page and RFC 8058's one click. */

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "store.h"
#include "token.h"

static const char sql_customer[] =
    "SELECT email, unsubscribed_at IS NOT NULL FROM customers WHERE id = ?1";

/* A token as we make them; anything else is unknown without a lookup. */
static int
http_unsubscribe_token_ok(const char *token)
{
	return strlen(token) == UNSUBSCRIBE_TOKEN_LEN &&
	    strspn(token, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") ==
	    UNSUBSCRIBE_TOKEN_LEN;
}

/*
 * 1 with the token's customer (a drawn token or a derived one: the
 * store's lookup), their address and consent; 0, or DB_*.
 */
static int
http_unsubscribe_find(struct db *db, const char *token, int64_t *id,
    char *email, size_t len, int *unsubscribed)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = store_customer_by_token(db, token, id)) != 1)
		return rc;
	if ((st = db_prepare(db, sql_customer)) == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, *id);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : rc;
	snprintf(email, len, "%s", (const char *)sqlite3_column_text(st, 0));
	*unsubscribed = sqlite3_column_int(st, 1);
	sqlite3_reset(st);
	return 1;
}

/* A small plain page: no script, no outside resource, readable anywhere. */
static void
http_unsubscribe_start(struct http_response *res, const char *shop,
    const char *heading)
{
	struct buf *b = &res->body;

	res->type = "text/html; charset=utf-8";
	res->page = 1;
	buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex\">\n<title>");
	http_html(b, heading);
	buf_addstr(b, " - ");
	http_html(b, shop);
	buf_addstr(b, "</title>\n<style>\n"
	    "body { font: 1.1rem/1.5 system-ui, sans-serif; color: #1a1a1a;"
	    " background: #fff; max-width: 34rem; margin: 3rem auto;"
	    " padding: 0 1rem; }\n"
	    "button { font: inherit; padding: .6rem 1.4rem; color: #fff;"
	    " background: #1a1a1a; border: 2px solid #1a1a1a;"
	    " border-radius: .3rem; cursor: pointer; }\n"
	    "button:focus-visible { outline: 3px solid #0b57d0;"
	    " outline-offset: 2px; }\n"
	    "</style>\n</head>\n<body>\n<main>\n<h1>");
	http_html(b, heading);
	buf_addstr(b, "</h1>\n");
}

static void
http_unsubscribe_end(struct http_response *res)
{
	buf_addstr(&res->body, "</main>\n</body>\n</html>\n");
}

static void
http_unsubscribe_unknown(struct http_response *res, const char *shop)
{
	http_unsubscribe_start(res, shop, "Link not recognised");
	buf_addstr(&res->body, "<p>This unsubscribe link is not known here. "
	    "If mail from <strong>");
	http_html(&res->body, shop);
	buf_addstr(&res->body, "</strong> keeps coming, reply to it and ask "
	    "to be taken off the list.</p>\n");
	http_unsubscribe_end(res);
	res->status = 404;
	res->reason = "unknown token";
}

static void
http_unsubscribe_done(struct http_response *res, const char *shop,
    const char *email)
{
	http_unsubscribe_start(res, shop, "You are unsubscribed");
	buf_addstr(&res->body, "<p><strong>");
	http_html(&res->body, email);
	buf_addstr(&res->body, "</strong> gets no more follow-up emails from "
	    "<strong>");
	http_html(&res->body, shop);
	buf_addstr(&res->body, "</strong>.</p>\n");
	http_unsubscribe_end(res);
	res->status = 200;
}

/*
 * The page behind the link.  Link scanners and mail previews fetch every
 * link in a message, so a GET changes nothing: the button POSTs.
 */
void
http_unsubscribe_page(struct http_request *r, struct http_response *res)
{
	const char	*shop = r->env->cfg->shop.name;
	char		 email[512];
	int64_t		 id;
	int		 rc, unsubscribed = 0;

	if (!http_unsubscribe_token_ok(r->arg) ||
	    (rc = http_unsubscribe_find(r->env->db, r->arg, &id, email,
	    sizeof(email), &unsubscribed)) == 0) {
		http_unsubscribe_unknown(res, shop);
		return;
	}
	if (rc < 0) {
		http_db_failed(res, rc);
		return;
	}
	if (unsubscribed) {
		http_unsubscribe_done(res, shop, email);
		return;
	}
	http_unsubscribe_start(res, shop, "Unsubscribe");
	buf_addstr(&res->body, "<p>Stop follow-up emails from <strong>");
	http_html(&res->body, shop);
	buf_addstr(&res->body, "</strong> to <strong>");
	http_html(&res->body, email);
	/* Relative: right behind a proxy that adds a path of its own. */
	buf_addstr(&res->body, "</strong>?</p>\n<form method=\"post\" "
	    "action=\"");
	http_html(&res->body, r->arg);
	buf_addstr(&res->body, "\">\n<input type=\"hidden\" "
	    "name=\"List-Unsubscribe\" value=\"One-Click\">\n"
	    "<button type=\"submit\">Unsubscribe</button>\n</form>\n");
	http_unsubscribe_end(res);
}

/*
 * RFC 8058's body is "List-Unsubscribe=One-Click", form-urlencoded (our
 * page's form sends just that); some mail providers post it as
 * multipart/form-data.
 */
static int
http_unsubscribe_body_ok(const char *body)
{
	return strstr(body, "List-Unsubscribe=One-Click") != NULL ||
	    (strstr(body, "name=\"List-Unsubscribe\"") != NULL &&
	    strstr(body, "One-Click") != NULL);
}

/*
 * Unsubscribe, idempotently, with the store's consent functions: what
 * waits to be sent is suppressed.  Consent is a fact someone handed us,
 * so it is committed with fsync (synchronous FULL for this transaction)
 * before the 200.
 */
void
http_unsubscribe_post(struct http_request *r, struct http_response *res)
{
	struct db	*db = r->env->db;
	const char	*shop = r->env->cfg->shop.name;
	char		 email[512];
	int64_t		 id;
	int		 rc, found = 0, was = 0, changed = 0;

	if (!http_unsubscribe_token_ok(r->arg)) {
		http_unsubscribe_unknown(res, shop);
		return;
	}
	if (!http_unsubscribe_body_ok(r->body)) {
		http_answer(res, 400, "not a one-click body", "the body must be "
		    "List-Unsubscribe=One-Click (RFC 8058)");
		return;
	}
	if ((rc = db_durable(db, 1)) == DB_OK && (rc = db_begin(db)) == DB_OK) {
		if ((found = http_unsubscribe_find(db, r->arg, &id, email,
		    sizeof(email), &was)) == 1)
			rc = store_set_consent(db, id, 0, r->now, &changed);
		else
			rc = found == 0 ? 1 : found;	/* 1: nothing to do */
		rc = db_end(db, rc);
	}
	db_durable(db, 0);
	if (rc < 0) {
		http_db_failed(res, rc);
		return;
	}
	if (found == 0) {
		http_unsubscribe_unknown(res, shop);
		return;
	}
	if (!was)
		log_info("%s unsubscribed by its link; %d waiting message%s "
		    "suppressed", email, changed, changed == 1 ? "" : "s");
	http_unsubscribe_done(res, shop, email);
}
