/* One customer's story: sales, referrals, consent and messages. */

#include "customer.h"
#include "money.h"
#include "reorder.h"
#include "store.h"
#include "timestamp.h"
#include "view.h"

static const char sql_customer[] =
    "SELECT id, email, name, referral_code, unsubscribed_at IS NOT NULL"
    " FROM customers WHERE lower(email) = lower(?1)";
static const char sql_referred_by[] =
    "SELECT c.email, r.state FROM referrals r"
    " JOIN customers c ON c.id = r.referrer_id WHERE r.referred_id = ?1";
static const char sql_referred[] =
    "SELECT c.email FROM referrals r JOIN customers c ON c.id = r.referred_id"
    " WHERE r.referrer_id = ?1 ORDER BY r.created_at, c.id";
static const char sql_sales[] =
    "SELECT id FROM sales WHERE customer_id = ?1 ORDER BY sold_at, id";
static const char sql_last_sale[] =
    "SELECT id, sold_at FROM sales WHERE customer_id = ?1"
    " ORDER BY sold_at DESC, id DESC LIMIT 1";
static const char sql_messages[] =
    "SELECT id, campaign, state, due_at, sent_at FROM messages"
    " WHERE customer_id = ?1 ORDER BY id";

/*
 * Run sql with ?1 the customer's id and append what `row` makes of each
 * row (a new reference) to the array `into`.  DB_OK or DB_*.
 */
int
customer_rows(struct db *db, const char *sql, int64_t id, json_t *into,
    json_t *(*row)(sqlite3_stmt *))
{
	sqlite3_stmt	*st = db_prepare(db, sql);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = db_step(db, st)) == SQLITE_ROW)
		json_array_append_new(into, row(st));
	return rc == SQLITE_DONE ? DB_OK : rc;
}

static json_t *
customer_email_row(sqlite3_stmt *st)
{
	return json_string(view_text(st, 0));
}

/* The customer's sales, each read whole, with its line items. */
static int
customer_sales(struct db *db, int64_t id, json_t *into)
{
	sqlite3_stmt	*st = db_prepare(db, sql_sales);
	struct sale	 sale;
	char		 amount[MONEY_TEXT_LEN], when[TIMESTAMP_LEN];
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		if ((rc = store_read_sale(db, sqlite3_column_int64(st, 0),
		    &sale)) != 1) {
			sqlite3_reset(st);
			return rc == 0 ? DB_ERROR : rc;
		}
		money_format(sale.amount, sale.currency, amount);
		timestamp_format(sale.sold_at, when);
		json_array_append_new(into, json_pack("{s:s, s:s, s:s, s:s, s:b, "
		    "s:o}", "order_id", sale.order_id, "sold_at", when,
		    "amount", amount, "currency", sale.currency,
		    "repeat", sale.is_repeat, "items", view_items(&sale)));
	}
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * When the customer is expected to order again (reorder.c), after their
 * latest sale: a time, or null when nothing predicts it.
 */
static int
customer_next_order(struct db *db, int64_t id, json_t *c)
{
	sqlite3_stmt	*st = db_prepare(db, sql_last_sale);
	int64_t		 sale, sold_at, expected;
	char		 when[TIMESTAMP_LEN];
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	json_object_set_new(c, "next_order_expected", json_null());
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_OK : rc;
	sale = sqlite3_column_int64(st, 0);
	sold_at = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if ((rc = reorder_expect(db, id, sale, sold_at, &expected)) != 1)
		return rc;
	timestamp_format(expected, when);
	json_object_set_new(c, "next_order_expected", json_string(when));
	return DB_OK;
}

static json_t *
customer_message_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "campaign", view_text(st, 1),
	    "state", view_text(st, 2),
	    "due_at", view_time(st, 3),
	    "sent_at", view_time(st, 4));
}

/*
 * The customer with this address (any case), in DESIGN's JSON shape.
 * Returns 1 with *out (the caller's to json_decref), 0 when there is no
 * such customer, or DB_*.  One read transaction: the parts agree.
 */
int
customer_collect(struct db *db, const char *email, json_t **out)
{
	sqlite3_stmt	*st;
	json_t		*c = NULL, *referred_by = NULL, *state = NULL;
	int64_t		 id;
	int		 rc;

	if ((rc = db_begin_read(db)) != DB_OK)
		return rc;
	if ((st = db_prepare(db, sql_customer)) == NULL) {
		rc = DB_ERROR;
		goto out;
	}
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	if ((rc = db_step(db, st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? 0 : rc;
		goto out;
	}
	id = sqlite3_column_int64(st, 0);
	c = json_pack("{s:s, s:s, s:s}", "email", view_text(st, 1),
	    "name", view_text(st, 2), "referral_code", view_text(st, 3));
	json_object_set_new(c, "unsubscribed", json_boolean(sqlite3_column_int(st, 4)));
	sqlite3_reset(st);

	if ((st = db_prepare(db, sql_referred_by)) == NULL) {
		rc = DB_ERROR;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step(db, st)) == SQLITE_ROW) {
		referred_by = json_string(view_text(st, 0));
		state = json_string(view_text(st, 1));
	} else if (rc != SQLITE_DONE)
		goto out;
	sqlite3_reset(st);
	json_object_set_new(c, "referred_by", referred_by ? referred_by : json_null());
	/* pending, review, confirmed or voided (referral list says more). */
	json_object_set_new(c, "referral_state", state ? state : json_null());
	json_object_set_new(c, "referred", json_array());
	json_object_set_new(c, "sales", json_array());
	json_object_set_new(c, "messages", json_array());
	if ((rc = customer_rows(db, sql_referred, id,
	    json_object_get(c, "referred"), customer_email_row)) != DB_OK ||
	    (rc = customer_sales(db, id, json_object_get(c, "sales"))) != DB_OK ||
	    (rc = customer_next_order(db, id, c)) != DB_OK ||
	    (rc = customer_rows(db, sql_messages, id,
	    json_object_get(c, "messages"), customer_message_row)) != DB_OK)
		goto out;
	*out = c;
	c = NULL;
	rc = 1;
out:
	rc = db_end(db, rc);
	json_decref(c);
	return rc;
}

static const char *
customer_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

/* The same, as text. */
void
customer_print(const json_t *c, FILE *out)
{
	const char	*state;
	const json_t	*v, *item;
	size_t		 i, j;

	state = json_string_value(json_object_get(c, "referral_state"));
	fprintf(out, "%s  %s\n  referral code %s, referred by %s%s%s%s, %s\n",
	    customer_str(c, "email"), customer_str(c, "name"),
	    customer_str(c, "referral_code"), customer_str(c, "referred_by"),
	    state ? " (" : "", state ? state : "", state ? ")" : "",
	    json_is_true(json_object_get(c, "unsubscribed")) ?
	    "unsubscribed" : "subscribed");
	fputs("  referred:", out);
	if (json_array_size(json_object_get(c, "referred")) == 0)
		fputs(" nobody yet", out);
	json_array_foreach(json_object_get(c, "referred"), i, v)
		fprintf(out, " %s", json_string_value(v));
	fputs("\n\nSales\n", out);
	json_array_foreach(json_object_get(c, "sales"), i, v) {
		fprintf(out, "  %-20s %s  %10s %s  %s\n", customer_str(v, "order_id"),
		    customer_str(v, "sold_at"), customer_str(v, "amount"),
		    customer_str(v, "currency"),
		    json_is_true(json_object_get(v, "repeat")) ? "repeat" : "first");
		json_array_foreach(json_object_get(v, "items"), j, item)
			fprintf(out, "    %5lld x %-20s %-30s %10s\n",
			    (long long)json_integer_value(json_object_get(item,
			    "quantity")), customer_str(item, "sku"),
			    customer_str(item, "product"),
			    customer_str(item, "amount"));
	}
	fprintf(out, "  next order expected: %s\n",
	    customer_str(c, "next_order_expected"));
	fputs("\nMessages\n", out);
	if (json_array_size(json_object_get(c, "messages")) == 0)
		fputs("  none\n", out);
	json_array_foreach(json_object_get(c, "messages"), i, v)
		fprintf(out, "  %6lld  %-20s %-10s due %s  sent %s\n",
		    (long long)json_integer_value(json_object_get(v, "id")),
		    customer_str(v, "campaign"), customer_str(v, "state"),
		    customer_str(v, "due_at"), customer_str(v, "sent_at"));
}
