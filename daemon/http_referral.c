/* GET /r/CODE: a referral link's click, counted, then on to the shop. */

#include <sqlite3.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "store.h"
#include "template.h"
#include "token.h"
#include "xmalloc.h"

/*
 * One row per referrer and UTC day (migration 0007); an unknown code
 * inserts nothing.  Here rather than in store.c for now: it is the front
 * door's only write of its own.
 */
static const char sql_click[] =
    "INSERT INTO referral_clicks (customer_id, day, clicks)"
    " VALUES (?1, ?2, 1)"
    " ON CONFLICT (customer_id, day) DO UPDATE SET clicks = clicks + 1";

/* 1 when the code is a customer's (the click counted), 0, or DB_*. */
static int
http_referral_count(struct db *db, const char *code, int64_t now)
{
	int64_t	id;
	int	rc, known;

	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	if ((known = rc = store_customer_by_code(db, code, &id)) == 1)
		rc = db_write(db, sql_click, id, now - now % 86400, NULL);
	if ((rc = db_end(db, rc < 0 ? rc : DB_OK)) != DB_OK)
		return rc;
	return known;
}

/*
 * 302 to referral.landing with the code.  A code no customer has goes
 * to the shop's front page instead; a click that cannot be counted (the
 * database busy) still goes on: the customer's way comes first, and a
 * lost click costs a number, not a sale.  Counted clicks need no fsync
 * for the same reason.
 */
void
http_referral_click(struct http_request *r, struct http_response *res)
{
	const struct config	*cfg = r->env->cfg;
	const char		*values[VAR_COUNT] = { 0 };
	char			 code[REFERRAL_CODE_LEN + 1];
	int			 known = 0;

	if (token_normalize(r->arg, code, REFERRAL_CODE_LEN) == 0 &&
	    (known = http_referral_count(r->env->db, code, r->now)) < 0) {
		log_warnx("http: a referral click was not counted");
		known = 1;
	}
	if (known || *cfg->shop.url == '\0') {
		values[VAR_REFERRAL_CODE] = known ? code : "";
		res->location = template_render(&cfg->referral.landing_text,
		    values, 0);
	} else {
		res->location = xstrdup(cfg->shop.url);
	}
	http_answer(res, 302, NULL, "%s", res->location);
}
