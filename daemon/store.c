/* The facts: customers, sales and referrals, shared by CLI and daemon. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coupon.h"
#include "emailmap.h"
#include "log.h"
#include "money.h"
#include "queue.h"
#include "store.h"
#include "token.h"
#include "xmalloc.h"

/* Bind text that lives at least until the statement is reset. */
#define BIND_TEXT(stmt, i, s)	sqlite3_bind_text((stmt), (i), (s), -1, SQLITE_STATIC)

/* The customer, by address whatever its case, and their first purchase. */
struct customer {
	int64_t	id;
	int	new;		/* created by this sale */
	int	nameless;
	int	has_sales;
	int64_t	first_at;	/* when the first purchase was, if has_sales */
	int64_t	first_sale;	/* ... and which sale it was */
	struct emailmap_entry *entry;	/* a bulk import's memory of them */
};

/*
 * What a big import keeps in memory (store_bulk_begin): the customers it
 * has seen, so that most of its sales need not ask the database who
 * bought them; and the sales it found to be repeats after they were
 * stored, marked in order of their rows rather than one at a time.
 */
struct store_bulk {
	struct db	 *db;
	struct emailmap	 *customers;
	int		  full;		/* the map said no: ask the database */
	char		**dropped;	/* CREATE INDEX of indexes dropped */
	size_t		  ndropped;
	int64_t		 *repeats;	/* sales to mark as repeat purchases */
	size_t		  nrepeats;
	int		  untouched;	/* no message was ever sent */
};

/*
 * The memory a bulk import's map of customers may take: about 450,000
 * customers (64 bytes each with their address, and the table).  Past
 * that, the import goes on asking the database, with its indexes.
 */
#define STORE_BULK_MAP_BYTES	(32u << 20)
#define STORE_BULK_REPEATS	65536	/* deferred repeat marks at most */

/*
 * The indexes that a customer's lookup needs and a bulk import into an
 * empty shop does not (it knows every customer from its map): dropped at
 * its start and built again at its end, in the same transaction, by a
 * sort rather than by hundreds of thousands of inserts at random places.
 */
static const char *const store_bulk_indexes[] = {
	"customers_email", "customers_nameless", "sales_customer",
};

/*
 * One statement finds the customer and their first sale, from indexes
 * alone: a bulk import does this a million times, and reading customer or
 * sale rows at random would make it wait on the disk.  Nameless customers
 * have a small index of their own for the same reason.
 */
static const char sql_customer_by_email[] =
    "SELECT c.id,"
    " EXISTS (SELECT 1 FROM customers INDEXED BY customers_nameless"
    "   WHERE lower(email) = ?1 AND name = ''),"
    " (SELECT min(sold_at) FROM sales WHERE customer_id = c.id),"
    " (SELECT id FROM sales WHERE customer_id = c.id ORDER BY sold_at, id"
    "   LIMIT 1)"
    " FROM customers c WHERE lower(c.email) = ?1";

static const char sql_customer_insert[] =
    "INSERT INTO customers (id, email, name, referral_code, created_at,"
    " email_key) VALUES (?5, ?1, ?2, ?3, ?4, ?6)";
static const char sql_next_customer[] =
    "SELECT coalesce(max(id), 0) + 1 FROM customers";
static const char sql_referral_key[] =
    "SELECT key FROM referral_key WHERE id = 1";
static const char sql_code_drawn[] =
    "SELECT customer_id FROM referral_codes WHERE code = ?3";
static const char sql_code_add[] =
    "INSERT INTO referral_codes (code, customer_id) VALUES (?3, ?1)";
static const char sql_code_owner[] =
    "SELECT id FROM customers WHERE id = ?1 AND referral_code = ?3";

/* The shop's key to its referral codes (migration 0014), read once. */
static const unsigned char *
store_referral_key(struct db *db)
{
	sqlite3_stmt *st;

	if (db->referral_key_read)
		return db->referral_key;
	if ((st = db_prepare(db, sql_referral_key)) == NULL)
		return NULL;
	if (db_step(db, st) != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 0) != REFERRAL_KEY_LEN) {
		sqlite3_reset(st);
		log_error("database %s: no referral key (was the database "
		    "edited by hand?)", db->path);
		return NULL;
	}
	memcpy(db->referral_key, sqlite3_column_blob(st, 0), REFERRAL_KEY_LEN);
	sqlite3_reset(st);
	db->referral_key_read = 1;
	return db->referral_key;
}

static const char sql_unsubscribe_key[] =
    "SELECT key FROM unsubscribe_key WHERE id = 1";

/*
 * The shop's cipher for unsubscribe tokens (migration 0016), made from
 * its key once per connection: every message built needs it.
 */
static struct token_cipher *
store_unsubscribe_cipher(struct db *db)
{
	sqlite3_stmt *st;

	if (db->unsubscribe_cipher != NULL)
		return db->unsubscribe_cipher;
	if ((st = db_prepare(db, sql_unsubscribe_key)) == NULL)
		return NULL;
	if (db_step(db, st) != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 0) != UNSUBSCRIBE_KEY_LEN) {
		sqlite3_reset(st);
		log_error("database %s: no unsubscribe key (was the database "
		    "edited by hand?)", db->path);
		return NULL;
	}
	db->unsubscribe_cipher = token_cipher_new(sqlite3_column_blob(st, 0));
	sqlite3_reset(st);
	return db->unsubscribe_cipher;
}

/*
 * The unsubscribe token customer `id`'s mail carries: `stored` (the
 * customers.unsubscribe_token column) when they have one, drawn before
 * migration 0016, else their id's (token.c), which is computed every
 * time and never written.  DB_OK, or DB_ERROR (logged).
 */
int
store_unsubscribe_token(struct db *db, int64_t id, const char *stored,
    char token[UNSUBSCRIBE_TOKEN_LEN + 1])
{
	struct token_cipher *c;

	if (stored != NULL && *stored != '\0') {
		snprintf(token, UNSUBSCRIBE_TOKEN_LEN + 1, "%s", stored);
		return DB_OK;
	}
	if ((c = store_unsubscribe_cipher(db)) == NULL)
		return DB_ERROR;
	token_unsubscribe(c, id, token);
	return DB_OK;
}

static const char sql_token_stored[] =
    "SELECT id FROM customers WHERE unsubscribe_token = ?3";
/* An erased customer has no token: their derived one names nobody. */
static const char sql_token_owner[] =
    "SELECT id FROM customers WHERE id = ?1"
    " AND coalesce(unsubscribe_token, '') = ''"
    " AND NOT " STORE_ERASED("customers");

/*
 * The customer whose unsubscribe token this is: one drawn before
 * migration 0016 is found in its column, any other is decoded to its
 * customer, who must carry no drawn token (theirs is the one their mail
 * has) and not be erased.  1 with *id, 0 when nobody has it, or DB_*.
 */
int
store_customer_by_token(struct db *db, const char *token, int64_t *id)
{
	struct token_cipher	*c;
	int64_t			 owner;
	int			 rc;

	if ((rc = db_run(db, sql_token_stored, 0, 0, token, id)) != 0)
		return rc;
	if ((c = store_unsubscribe_cipher(db)) == NULL)
		return DB_ERROR;
	if ((owner = token_unsubscribe_id(c, token)) <= 0)
		return 0;
	return db_run(db, sql_token_owner, owner, 0, NULL, id);
}

/*
 * The customer whose referral code this is (as token_normalize spells
 * it): a code drawn at random is found in referral_codes, any other is
 * decoded to its customer, whose row must still carry it (an erased
 * customer's does not).  1 with *id, 0 when nobody has it, or DB_*.
 */
int
store_customer_by_code(struct db *db, const char *code, int64_t *id)
{
	const unsigned char	*key;
	int64_t			 owner;
	int			 rc;

	if ((rc = db_run(db, sql_code_drawn, 0, 0, code, id)) != 0)
		return rc;
	if ((key = store_referral_key(db)) == NULL)
		return DB_ERROR;
	if ((owner = token_referral_id(key, code)) <= 0)
		return 0;
	return db_run(db, sql_code_owner, owner, 0, code, id);
}

/*
 * The referral code of new customer `id`: the id's own (token.c), unless
 * a code drawn before is that one; then one drawn at random, which is
 * no other customer's, and kept in referral_codes.  Codes of ids to come
 * need no care: they are checked the same way when their turn comes.
 */
static int
store_new_code(struct db *db, int64_t id, char code[REFERRAL_CODE_LEN + 1])
{
	const unsigned char	*key;
	int64_t			 other;
	int			 rc;

	if ((key = store_referral_key(db)) == NULL)
		return DB_ERROR;
	if (id > REFERRAL_ID_MAX) {
		log_error("customer id %lld is past the %lld that referral "
		    "codes can name", (long long)id, (long long)REFERRAL_ID_MAX);
		return DB_ERROR;
	}
	token_referral_code(key, id, code);
	if ((rc = db_run(db, sql_code_drawn, 0, 0, code, &other)) <= 0)
		return rc;
	for (int attempt = 0; attempt < 8; attempt++) {
		if (token_generate(code, REFERRAL_CODE_LEN) == -1) {
			log_warn("cannot draw a referral code");
			return DB_ERROR;
		}
		if ((rc = store_customer_by_code(db, code, &other)) < 0)
			return rc;
		if (rc == 0 && token_referral_id(key, code) != id)
			return db_write(db, sql_code_add, id, 0, code);
	}
	log_error("cannot find a free referral code after 8 draws");
	return DB_ERROR;
}

static int	store_bulk_restore(struct store_bulk *b);

/* The customer as the database knows them: DB_OK, found or not (c->id). */
static int
store_customer_lookup(struct db *db, const struct sale *sale,
    struct customer *c)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, sql_customer_by_email)) == NULL)
		return DB_ERROR;
	BIND_TEXT(st, 1, sale->email_lower);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_OK : rc;
	c->id = sqlite3_column_int64(st, 0);
	c->nameless = sqlite3_column_int(st, 1);
	c->has_sales = sqlite3_column_type(st, 2) != SQLITE_NULL;
	c->first_at = sqlite3_column_int64(st, 2);
	c->first_sale = sqlite3_column_int64(st, 3);
	sqlite3_reset(st);
	return DB_OK;
}

/*
 * Find the sale's customer, or add them.  A bulk import asks its map
 * first; when the map holds every customer (an import into an empty
 * shop, whose lookup indexes are dropped), one it does not know is new.
 */
static int
store_customer(struct db *db, struct store_bulk *bulk,
    const struct sale *sale, int64_t now, struct customer *c)
{
	struct emailmap_entry	*e;
	sqlite3_stmt		*st;
	char			 code[REFERRAL_CODE_LEN + 1], key[EMAIL_KEY_SIZE];
	int			 rc;

	memset(c, 0, sizeof(*c));
	if (bulk != NULL && (e = emailmap_find(bulk->customers,
	    sale->email_lower)) != NULL) {
		c->id = e->id;
		c->nameless = e->nameless;
		c->has_sales = e->has_sales;
		c->first_at = e->first_at;
		c->first_sale = e->first_sale;
		c->entry = e;
		return DB_OK;
	}
	if (bulk == NULL || bulk->ndropped == 0) {
		if ((rc = store_customer_lookup(db, sale, c)) != DB_OK ||
		    c->id != 0)
			return rc;
	}

	/*
	 * Ids are chosen here rather than by the insert, for the code is
	 * made of the id.  Writers are serialized: the next one is free.
	 */
	if ((rc = db_run(db, sql_next_customer, 0, 0, NULL, &c->id)) != 1)
		return rc == 0 ? DB_ERROR : rc;
	if ((rc = store_new_code(db, c->id, code)) != DB_OK)
		return rc;
	email_key(sale->email, key);
	if ((st = db_prepare(db, sql_customer_insert)) == NULL)
		return DB_ERROR;
	BIND_TEXT(st, 1, sale->email);
	BIND_TEXT(st, 2, sale->name);
	BIND_TEXT(st, 3, code);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, c->id);
	BIND_TEXT(st, 6, key);
	if ((rc = db_step(db, st)) != SQLITE_DONE)
		return rc;
	c->new = 1;
	c->nameless = *sale->name == '\0';
	return DB_OK;
}

/* The order id is taken: nothing is inserted and changes() says so. */
static const char sql_sale_insert[] =
    "INSERT INTO sales (order_id, customer_id, sku, product, amount, currency,"
    " sold_at, is_repeat, referral_code, recorded_at, touch_campaign, touch_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    " ON CONFLICT (order_id) DO NOTHING";

/*
 * A sale's last touch: the latest message sent to its buyer before it
 * (ties: the later message).  Messages go out in real time, so a sale's
 * is known when it is recorded; only a sale dated in the future can gain
 * one later (store_touch).  Stats count conversions from it.
 */
static const char sql_last_touch[] =
    "SELECT campaign, sent_at FROM messages INDEXED BY messages_sent"
    " WHERE customer_id = ?1 AND state = 'sent' AND sent_at < ?2"
    " ORDER BY sent_at DESC, id DESC LIMIT 1";
static const char sql_touch[] =
    "UPDATE sales SET (touch_campaign, touch_at) = ("
    " SELECT campaign, sent_at FROM messages INDEXED BY messages_sent"
    " WHERE customer_id = sales.customer_id AND state = 'sent'"
    " AND sent_at < sales.sold_at ORDER BY sent_at DESC, id DESC LIMIT 1)"
    " WHERE customer_id = ?1 AND sold_at > ?2";

/* A message to the customer went out at `sent_at`: sales after it move. */
int
store_touch(struct db *db, int64_t customer, int64_t sent_at)
{
	return db_write(db, sql_touch, customer, sent_at, NULL);
}

/* Bind the sale's last touch to ?11 and ?12 of the insert. */
static int
store_bind_touch(struct db *db, sqlite3_stmt *insert, int64_t customer,
    int64_t sold_at)
{
	sqlite3_stmt	*st = db_prepare(db, sql_last_touch);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, customer);
	sqlite3_bind_int64(st, 2, sold_at);
	if ((rc = db_step(db, st)) == SQLITE_ROW) {
		sqlite3_bind_text(insert, 11, (const char *)sqlite3_column_text(st, 0),
		    -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(insert, 12, sqlite3_column_int64(st, 1));
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * Returns DB_OK with *id set, or with *id 0 when the order exists.  Only
 * a customer who bought before can have had a message.
 */
static int
store_insert_sale(struct db *db, const struct sale *sale, int64_t customer,
    int is_repeat, int64_t now, int known, int64_t *id)
{
	sqlite3_stmt	*st = db_prepare(db, sql_sale_insert);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_null(st, 11);
	sqlite3_bind_null(st, 12);
	if (known && (rc = store_bind_touch(db, st, customer, sale->sold_at)) != DB_OK)
		return rc;
	BIND_TEXT(st, 1, sale->order_id);
	sqlite3_bind_int64(st, 2, customer);
	BIND_TEXT(st, 3, sale->sku);
	BIND_TEXT(st, 4, sale->product);
	sqlite3_bind_int64(st, 5, sale->amount);
	BIND_TEXT(st, 6, sale->currency);
	sqlite3_bind_int64(st, 7, sale->sold_at);
	sqlite3_bind_int(st, 8, is_repeat);
	BIND_TEXT(st, 9, sale->referral_given);
	sqlite3_bind_int64(st, 10, now);
	if ((rc = db_step(db, st)) != SQLITE_DONE)
		return rc;
	*id = sqlite3_changes(db->sqlite) ? sqlite3_last_insert_rowid(db->sqlite) : 0;
	return DB_OK;
}

static const char sql_item_insert[] =
    "INSERT INTO sale_items (sale_id, position, sku, product, quantity, amount)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* The sale's line items, or the sale as its one item when it lists none. */
static int
store_insert_items(struct db *db, const struct sale *sale, int64_t sale_id)
{
	struct sale_item	 self;
	const struct sale_item	*items = sale->items;
	size_t			 n = sale->nitems;
	sqlite3_stmt		*st;
	int			 rc;

	if (n == 0) {
		memset(&self, 0, sizeof(self));
		snprintf(self.sku, sizeof(self.sku), "%s", sale->sku);
		snprintf(self.product, sizeof(self.product), "%s", sale->product);
		self.quantity = 1;
		self.amount = sale->amount;
		items = &self;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((st = db_prepare(db, sql_item_insert)) == NULL)
			return DB_ERROR;
		sqlite3_bind_int64(st, 1, sale_id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		BIND_TEXT(st, 3, items[i].sku);
		BIND_TEXT(st, 4, items[i].product);
		sqlite3_bind_int64(st, 5, items[i].quantity);
		sqlite3_bind_int64(st, 6, items[i].amount);
		if ((rc = db_step(db, st)) != SQLITE_DONE)
			return rc;
	}
	return DB_OK;
}

static const char sql_sale_by_order[] =
    "SELECT c.email, s.sku, s.product, s.amount, s.currency, s.sold_at,"
    " " STORE_ERASED("c")
    " FROM sales s JOIN customers c ON c.id = s.customer_id"
    " WHERE s.order_id = ?1";

/*
 * The order id is recorded already: a no-op when it says the same thing,
 * a conflict otherwise.  A sale recorded without a time took "now", so
 * its time is not held against a repeat without one.  Line items past the
 * first (whose sku and product are the sale's) are not compared: the
 * first recording's stand, so an order imported from an export that
 * lists its items one way and a webhook that lists them another is one
 * sale, not a conflict.
 */
static int
store_compare_order(struct db *db, const struct sale *sale,
    struct store_result *res)
{
	sqlite3_stmt	*st = db_prepare(db, sql_sale_by_order);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	BIND_TEXT(st, 1, sale->order_id);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	res->conflict = NULL;
	if (sqlite3_column_int(st, 6)) {
		/*
		 * Its customer was erased: the shop's export imported again,
		 * or a webhook's replay, must not bring them back.
		 */
		res->outcome = STORE_DUPLICATE;
		sqlite3_reset(st);
		return DB_OK;
	}
	if (strcasecmp((const char *)sqlite3_column_text(st, 0), sale->email) != 0)
		res->conflict = "email";
	else if (strcmp((const char *)sqlite3_column_text(st, 1), sale->sku) != 0)
		res->conflict = "sku";
	else if (strcmp((const char *)sqlite3_column_text(st, 2), sale->product) != 0)
		res->conflict = "product";
	else if (sqlite3_column_int64(st, 3) != sale->amount ||
	    strcmp((const char *)sqlite3_column_text(st, 4), sale->currency) != 0)
		res->conflict = "amount";
	else if (sale->sold_at_given && sqlite3_column_int64(st, 5) != sale->sold_at)
		res->conflict = "sold_at";
	res->outcome = res->conflict ? STORE_CONFLICT : STORE_DUPLICATE;
	sqlite3_reset(st);
	return DB_OK;
}

static const char sql_mark_repeat[] =
    "UPDATE sales SET is_repeat = 1 WHERE id = (SELECT id FROM sales"
    " WHERE customer_id = ?1 AND id != ?2 ORDER BY sold_at, id LIMIT 1)";
static const char sql_mark_repeat_id[] =
    "UPDATE sales SET is_repeat = 1 WHERE id = ?1";

static int
store_cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}
static const char sql_customer_name[] =
    "UPDATE customers SET name = ?3 WHERE id = ?1";
static const char sql_customer_forget[] =
    "DELETE FROM customers WHERE id = ?1";
static const char sql_customer_forget_code[] =
    "DELETE FROM referral_codes WHERE customer_id = ?1";

static const char sql_same_mailbox[] =
    "SELECT EXISTS (SELECT 1 FROM customers WHERE id = ?1 AND email_key = ?3)";
/* Another customer row of the buyer's mailbox, who bought by then. */
static const char sql_alias_bought[] =
    "SELECT EXISTS (SELECT 1 FROM customers c"
    " JOIN sales s ON s.customer_id = c.id"
    " WHERE c.email_key = ?3 AND c.id != ?1 AND s.sold_at <= ?2)";
static const char sql_is_referred[] =
    "SELECT 1 FROM referrals WHERE referred_id = ?1";
/* The daemon has done nothing about it yet (acted 0): see migration 0012. */
static const char sql_referral_insert[] =
    "INSERT INTO referrals (referred_id, referrer_id, sale_id, created_at,"
    " state, acted) VALUES (?1, ?2, ?3, ?4, 'pending', 0)";

/*
 * A referral counts only on the customer's first purchase (by purchase
 * time), only once per customer, and never from the buyer's own code.
 * Addresses are one buyer by their key (email_key: case, Gmail's dots and
 * +tags): the code of ana@gmail.com is a.n.a+x@gmail.com's own, and
 * a.n.a@gmail.com's first sale is no new customer's when ana@gmail.com
 * bought before.  A code that does not count never blocks the sale:
 * res->referral says why.  A referral taken starts pending; the daemon
 * checks referral.rules and the hold (planner.c).
 */
static int
store_referral(struct db *db, const struct sale *sale, int64_t customer,
    int64_t sale_id, int is_repeat, int64_t now, struct store_result *res)
{
	sqlite3_stmt	*st;
	char		 key[EMAIL_KEY_SIZE];
	int64_t		 referrer, v = 0;
	int		 rc;

	if (*sale->referral_given == '\0') {
		res->referral = REFERRAL_NONE;
		return DB_OK;
	}
	if (sale->referral_code[0] == '\0') {
		res->referral = REFERRAL_UNKNOWN;
		return DB_OK;
	}
	rc = store_customer_by_code(db, sale->referral_code, &referrer);
	if (rc <= 0) {
		res->referral = REFERRAL_UNKNOWN;
		return rc;
	}
	email_key(sale->email, key);
	if ((rc = db_run(db, sql_same_mailbox, referrer, 0, key, &v)) < 0)
		return rc;
	if (referrer == customer || v != 0) {
		res->referral = REFERRAL_SELF;
		return DB_OK;
	}
	if (!is_repeat && (rc = db_run(db, sql_alias_bought, customer,
	    sale->sold_at, key, &v)) < 0)
		return rc;
	if (is_repeat || v != 0) {
		res->referral = REFERRAL_NOT_FIRST;
		return DB_OK;
	}
	if ((rc = db_run(db, sql_is_referred, customer, 0, NULL, &v)) != 0) {
		res->referral = REFERRAL_ALREADY;
		return rc < 0 ? rc : DB_OK;
	}
	if ((st = db_prepare(db, sql_referral_insert)) == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, customer);
	sqlite3_bind_int64(st, 2, referrer);
	sqlite3_bind_int64(st, 3, sale_id);
	sqlite3_bind_int64(st, 4, now);
	if ((rc = db_step(db, st)) != SQLITE_DONE)
		return rc;
	res->referral = REFERRAL_ACCEPTED;
	return DB_OK;
}

/* Mark the deferred repeat purchases, in the order of their rows. */
static int
store_bulk_flush(struct store_bulk *b)
{
	int rc = DB_OK;

	qsort(b->repeats, b->nrepeats, sizeof(*b->repeats), store_cmp_id);
	for (size_t i = 0; i < b->nrepeats && rc == DB_OK; i++)
		rc = db_write(b->db, sql_mark_repeat_id, b->repeats[i], 0, NULL);
	b->nrepeats = 0;
	return rc;
}

/*
 * What the sale taught a bulk import's map of its customer.  A map that
 * is full stops learning: the customers it does not know are asked of
 * the database from then on, whose indexes are built again for that.
 */
static int
store_bulk_learn(struct store_bulk *b, const struct sale *sale,
    const struct customer *c, int64_t sale_id)
{
	struct emailmap_entry *e = c->entry;

	if (e == NULL && !b->full &&
	    (e = emailmap_add(b->customers, sale->email_lower)) == NULL) {
		b->full = 1;
		log_info("more customers than an import keeps in memory (%zu); "
		    "the rest are looked up", emailmap_count(b->customers));
		return store_bulk_restore(b);
	}
	if (e == NULL)
		return DB_OK;
	e->id = c->id;
	e->nameless = c->nameless && *sale->name == '\0';
	if (!c->has_sales || sale->sold_at < c->first_at) {
		e->first_at = sale->sold_at;
		e->first_sale = sale_id;
	} else {
		e->first_at = c->first_at;
		e->first_sale = c->first_sale;
	}
	e->has_sales = 1;
	return DB_OK;
}

/*
 * Record one sale inside the caller's write transaction, with a bulk
 * import's memory or without (bulk NULL).  Returns DB_OK with res filled
 * (which may say duplicate or conflict: nothing written), or a DB_* error
 * (logged) after which the caller rolls back.
 *
 * The new sale is a repeat purchase unless it predates all the customer's
 * sales; then the sale that was first becomes a repeat instead, because
 * imports arrive out of order and purchases do not.  Ties keep arrival
 * order.
 */
static int
store_record(struct db *db, struct store_bulk *bulk, const struct sale *sale,
    int64_t now, struct store_result *res)
{
	struct customer	c;
	int64_t		sale_id = 0;
	int		is_repeat, rc;

	memset(res, 0, sizeof(*res));
	if ((rc = store_customer(db, bulk, sale, now, &c)) != DB_OK)
		return rc;
	is_repeat = c.has_sales && sale->sold_at >= c.first_at;
	if ((rc = store_insert_sale(db, sale, c.id, is_repeat, now,
	    c.has_sales && (bulk == NULL || !bulk->untouched), &sale_id)) !=
	    DB_OK)
		return rc;
	if (sale_id == 0) {
		/* A customer made for a conflicting order must not stay behind. */
		if (c.new && ((rc = db_write(db, sql_customer_forget, c.id, 0,
		    NULL)) != DB_OK || (rc = db_write(db,
		    sql_customer_forget_code, c.id, 0, NULL)) != DB_OK))
			return rc;
		return store_compare_order(db, sale, res);
	}

	if ((rc = store_insert_items(db, sale, sale_id)) != DB_OK)
		return rc;
	res->outcome = STORE_ADDED;
	res->new_customer = c.new;
	if (c.has_sales) {
		res->repeats++;
		if (is_repeat)
			;
		else if (bulk != NULL && c.first_sale != 0) {
			bulk->repeats[bulk->nrepeats++] = c.first_sale;
			if (bulk->nrepeats == STORE_BULK_REPEATS &&
			    (rc = store_bulk_flush(bulk)) != DB_OK)
				return rc;
		} else if ((rc = db_write(db, sql_mark_repeat, c.id, sale_id,
		    NULL)) != DB_OK)
			return rc;
	}
	/* A later sale may name a customer whom the first did not. */
	if (c.nameless && !c.new && *sale->name != '\0' &&
	    (rc = db_write(db, sql_customer_name, c.id, 0, sale->name)) != DB_OK)
		return rc;
	if (bulk != NULL && (rc = store_bulk_learn(bulk, sale, &c,
	    sale_id)) != DB_OK)
		return rc;
	/* A reward coupon's code comes back: its redemption, no referral. */
	if ((rc = coupon_redeem(db, sale->referral_given, sale_id)) != 0) {
		res->coupon = rc == 1;
		return rc < 0 ? rc : DB_OK;
	}
	return store_referral(db, sale, c.id, sale_id, is_repeat, now, res);
}

/* Record one sale inside the caller's write transaction: store_record. */
int
store_record_sale(struct db *db, const struct sale *sale, int64_t now,
    struct store_result *res)
{
	return store_record(db, NULL, sale, now, res);
}

/* The same, for a bulk import (store_bulk_begin). */
int
store_bulk_record_sale(struct store_bulk *b, const struct sale *sale,
    int64_t now, struct store_result *res)
{
	return store_record(b->db, b, sale, now, res);
}

static const char sql_is_empty[] =
    "SELECT NOT EXISTS (SELECT 1 FROM customers)";
static const char sql_none_sent[] =
    "SELECT NOT EXISTS (SELECT 1 FROM messages INDEXED BY messages_sent"
    " WHERE state = 'sent')";
static const char sql_index_sql[] =
    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?3";

/*
 * Start a bulk import, inside the caller's write transaction: the sales
 * recorded with store_bulk_record_sale() until store_bulk_end() are
 * recorded as store_record_sale() would, faster.  Into an empty shop,
 * the indexes of store_bulk_indexes are dropped until the end (or until
 * the map is full); a rollback brings them back with the rest.  Returns
 * DB_OK with *out (the caller's to end), or DB_*.
 */
int
store_bulk_begin(struct db *db, struct store_bulk **out)
{
	struct store_bulk	*b = xcalloc(1, sizeof(*b));
	sqlite3_stmt		*st;
	int64_t			 empty = 0, untouched = 0;
	int			 rc;

	b->db = db;
	b->customers = emailmap_new(STORE_BULK_MAP_BYTES);
	b->repeats = xreallocarray(NULL, STORE_BULK_REPEATS,
	    sizeof(*b->repeats));
	*out = b;
	/*
	 * With no message sent, no sale has a last touch to look for, and
	 * none can be sent before the import commits: it holds the write
	 * lock that recording one would take.
	 */
	if ((rc = db_run(db, sql_none_sent, 0, 0, NULL, &untouched)) < 0)
		return rc;
	b->untouched = untouched != 0;
	if ((rc = db_run(db, sql_is_empty, 0, 0, NULL, &empty)) < 0)
		return rc;
	if (!empty)
		return DB_OK;
	b->dropped = xcalloc(sizeof(store_bulk_indexes) /
	    sizeof(store_bulk_indexes[0]), sizeof(*b->dropped));
	for (size_t i = 0; i < sizeof(store_bulk_indexes) /
	    sizeof(store_bulk_indexes[0]); i++) {
		char *drop;

		if ((st = db_prepare(db, sql_index_sql)) == NULL)
			return DB_ERROR;
		BIND_TEXT(st, 3, store_bulk_indexes[i]);
		if ((rc = db_step(db, st)) != SQLITE_ROW)
			return rc == SQLITE_DONE ? DB_ERROR : rc;
		b->dropped[b->ndropped++] = xstrdup((const char *)
		    sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		drop = xasprintf("DROP INDEX %s", store_bulk_indexes[i]);
		rc = db_exec(db, drop);
		free(drop);
		if (rc != DB_OK)
			return rc;
	}
	return DB_OK;
}

/* Build the dropped indexes again. */
static int
store_bulk_restore(struct store_bulk *b)
{
	int rc = DB_OK;

	for (size_t i = 0; i < b->ndropped; i++) {
		if (rc == DB_OK)
			rc = db_exec(b->db, b->dropped[i]);
		free(b->dropped[i]);
	}
	b->ndropped = 0;
	return rc;
}

/*
 * End a bulk import before its transaction ends: when rc is DB_OK, what
 * was deferred is done and the indexes are built again.  Frees b.
 * Returns rc, or the error that happened doing so.
 */
int
store_bulk_end(struct store_bulk *b, int rc)
{
	if (b == NULL)
		return rc;
	/* The map's memory goes back before the indexes' sort takes its own. */
	emailmap_free(b->customers);
	b->customers = NULL;
	if (rc == DB_OK && (rc = store_bulk_flush(b)) == DB_OK)
		rc = store_bulk_restore(b);
	for (size_t i = 0; i < b->ndropped; i++)
		free(b->dropped[i]);
	free(b->dropped);
	free(b->repeats);
	free(b);
	return rc;
}

const char *
store_referral_text(enum store_referral r)
{
	switch (r) {
	case REFERRAL_UNKNOWN:
		return "no customer has this referral code";
	case REFERRAL_SELF:
		return "the code is the buyer's own (the same mailbox)";
	case REFERRAL_NOT_FIRST:
		return "only a customer's first purchase can carry a referral "
		    "(under any alias of the address)";
	case REFERRAL_ALREADY:
		return "the customer was already referred";
	default:
		return "";
	}
}

static const char sql_message_facts[] =
    "SELECT c.email, c.name, c.referral_code, c.unsubscribe_token, "
    STORE_SALE_COLUMNS " FROM customers c, " STORE_SALE_FROM
    " WHERE c.id = ?1 AND s.id = ?2";

static void
store_copy(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", s ? s : "");
}

static const char sql_sale_items[] =
    "SELECT sku, product, quantity, amount FROM sale_items"
    " WHERE sale_id = ?1 ORDER BY position LIMIT ?2";

/* The line items of the sale with row id sale->id, into *sale. */
static int
store_sale_items(struct db *db, struct sale *sale)
{
	sqlite3_stmt	*st = db_prepare(db, sql_sale_items);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, sale->id);
	sqlite3_bind_int(st, 2, SALE_ITEMS_MAX);
	sale->nitems = 0;
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		struct sale_item *it = &sale->items[sale->nitems++];

		store_copy(it->sku, sizeof(it->sku), st, 0);
		store_copy(it->product, sizeof(it->product), st, 1);
		it->quantity = sqlite3_column_int64(st, 2);
		it->amount = sqlite3_column_int64(st, 3);
	}
	return rc == SQLITE_DONE ? DB_OK : rc;
}

/*
 * Read the sale in the STORE_SALE_COLUMNS of the row, from column `col`
 * on, and its line items, into *sale, whole: a sale read back is what
 * sale_parse and sale_item_parse would have made of it, and it no longer
 * needs the statement.  DB_OK or DB_*.
 */
int
store_sale_row(struct db *db, sqlite3_stmt *st, int col, struct sale *sale)
{
	sale_clear(sale);
	sale->id = sqlite3_column_int64(st, col);
	sale->customer = sqlite3_column_int64(st, col + 1);
	sale->referrer = sqlite3_column_int64(st, col + 2);
	sale->is_repeat = sqlite3_column_int(st, col + 3);
	store_copy(sale->order_id, sizeof(sale->order_id), st, col + 4);
	store_copy(sale->email, sizeof(sale->email), st, col + 5);
	store_copy(sale->name, sizeof(sale->name), st, col + 6);
	store_copy(sale->sku, sizeof(sale->sku), st, col + 7);
	store_copy(sale->product, sizeof(sale->product), st, col + 8);
	store_copy(sale->referral_given, sizeof(sale->referral_given), st,
	    col + 9);
	sale->amount = sqlite3_column_int64(st, col + 10);
	store_copy(sale->currency, sizeof(sale->currency), st, col + 11);
	sale->sold_at = sqlite3_column_int64(st, col + 12);
	sale->sold_at_given = 1;	/* a recorded sale has its time */
	sale_derive(sale);
	return store_sale_items(db, sale);
}

/* The facts as stored: 1 when a row is missing, else DB_OK or DB_*. */
static int
store_read_facts(struct db *db, int64_t customer, int64_t sale,
    struct message_facts *f)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, sql_message_facts)) == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, customer);
	sqlite3_bind_int64(st, 2, sale);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_MISSING : rc;
	store_copy(f->email, sizeof(f->email), st, 0);
	store_copy(f->name, sizeof(f->name), st, 1);
	store_copy(f->referral_code, sizeof(f->referral_code), st, 2);
	store_copy(f->unsubscribe_token, sizeof(f->unsubscribe_token), st, 3);
	memset(&f->coupon, 0, sizeof(f->coupon));	/* the builder's to take */
	rc = store_sale_row(db, st, 4, &f->sale);
	sqlite3_reset(st);
	return rc;
}

/*
 * What a message to `customer` about `sale` needs to know, the
 * customer's unsubscribe token with it (store_unsubscribe_token).  It
 * writes nothing, so a read-only look (preview) sees the real message.
 * DB_OK; STORE_MISSING (logged) when the customer or the sale is not
 * there (foreign keys are not enforced: a hand-edited database); DB_*.
 */
int
store_message_facts(struct db *db, int64_t customer, int64_t sale,
    struct message_facts *f)
{
	int rc;

	/* A token drawn before migration 0016 comes with the facts. */
	if ((rc = store_read_facts(db, customer, sale, f)) == DB_OK)
		return f->unsubscribe_token[0] != '\0' ? DB_OK :
		    store_unsubscribe_token(db, customer, NULL,
		    f->unsubscribe_token);
	if (rc == STORE_MISSING)
		log_error("customer %lld or sale %lld is gone (was the database "
		    "edited by hand?)", (long long)customer, (long long)sale);
	return rc;
}

static const char sql_sale_by_order_id[] =
    "SELECT id, customer_id FROM sales WHERE order_id = ?1";
static const char sql_referrer_of_sale[] =
    "SELECT referrer_id FROM referrals WHERE sale_id = ?1";

/* 1 and the ids when the order is recorded, 0 when not, or DB_*. */
int
store_find_order(struct db *db, const char *order_id, int64_t *sale,
    int64_t *customer)
{
	sqlite3_stmt	*st = db_prepare(db, sql_sale_by_order_id);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	BIND_TEXT(st, 1, order_id);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : rc;
	*sale = sqlite3_column_int64(st, 0);
	*customer = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return 1;
}

/* 1 and the referrer when the sale converted a referral, 0 if not, DB_*. */
int
store_referrer_of_sale(struct db *db, int64_t sale, int64_t *referrer)
{
	return db_run(db, sql_referrer_of_sale, sale, 0, NULL, referrer);
}

static const char sql_customer_by_address[] =
    "SELECT id FROM customers WHERE lower(email) = lower(?3)";
static const char sql_unsubscribe[] =
    "UPDATE customers SET unsubscribed_at = coalesce(unsubscribed_at, ?2)"
    " WHERE id = ?1";
static const char sql_resubscribe[] =
    "UPDATE customers SET unsubscribed_at = NULL, bounced_at = NULL"
    " WHERE id = ?1";
static const char sql_suppress_waiting[] =
    "UPDATE messages SET state = 'suppressed', updated_at = ?2"
    " WHERE customer_id = ?1 AND state IN " QUEUE_OPEN;

/*
 * 1 and the customer's id, by address (any case) or unsubscribe token
 * (store_customer_by_token); 0; DB_*.
 */
int
store_find_customer(struct db *db, const char *email, const char *token,
    int64_t *id)
{
	if (email == NULL)
		return store_customer_by_token(db, token, id);
	return db_run(db, sql_customer_by_address, 0, 0, email, id);
}

/*
 * Consent, inside the caller's write transaction.  Unsubscribing stops
 * what waits to be sent (it becomes "suppressed", for good); the
 * customer's sales are still recorded and counted.  Resubscribing (which
 * also forgets a hard bounce: the operator vouches for the address) lets
 * new messages be planned and sent again.  *changed counts the messages.
 */
int
store_set_consent(struct db *db, int64_t customer, int subscribed,
    int64_t now, int *changed)
{
	int rc;

	*changed = 0;
	if (subscribed)
		return db_write(db, sql_resubscribe, customer, 0, NULL);
	if ((rc = db_write(db, sql_unsubscribe, customer, now, NULL)) != DB_OK ||
	    (rc = db_write(db, sql_suppress_waiting, customer, now, NULL)) != DB_OK)
		return rc;
	*changed = sqlite3_changes(db->sqlite);
	return DB_OK;
}

static const char sql_sale_by_id[] =
    "SELECT " STORE_SALE_COLUMNS " FROM " STORE_SALE_FROM " WHERE s.id = ?1";

/* The sale of row `id`, whole: 1, 0 when there is none, or DB_*. */
int
store_read_sale(struct db *db, int64_t id, struct sale *sale)
{
	sqlite3_stmt	*st = db_prepare(db, sql_sale_by_id);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : rc;
	rc = store_sale_row(db, st, 0, sale);
	sqlite3_reset(st);
	return rc == DB_OK ? 1 : rc;
}

static const char sql_delivery_find[] =
    "SELECT sale_id FROM webhook_deliveries"
    " WHERE source = ?1 AND delivery_id = ?2";
static const char sql_delivery_add[] =
    "INSERT INTO webhook_deliveries (source, delivery_id, sale_id, received_at)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";

/*
 * A platform's delivery taken before (migration 0008): 1 with the sale it
 * recorded, 0 when it is new, or DB_*.  Read in the write transaction
 * that would record it, so that two copies of one delivery cannot both
 * find nothing.
 */
int
store_delivery_find(struct db *db, const char *source, const char *delivery,
    int64_t *sale)
{
	sqlite3_stmt	*st = db_prepare(db, sql_delivery_find);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	BIND_TEXT(st, 1, source);
	BIND_TEXT(st, 2, delivery);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : rc;
	*sale = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 1;
}

/* Remember a delivery with the sale it recorded, in the same transaction. */
int
store_delivery_add(struct db *db, const char *source, const char *delivery,
    int64_t sale, int64_t now)
{
	sqlite3_stmt	*st = db_prepare(db, sql_delivery_add);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	BIND_TEXT(st, 1, source);
	BIND_TEXT(st, 2, delivery);
	sqlite3_bind_int64(st, 3, sale);
	sqlite3_bind_int64(st, 4, now);
	rc = db_step(db, st);
	return rc == SQLITE_DONE ? DB_OK : rc;
}

static const char sql_delivery_prune[] =
    "DELETE FROM webhook_deliveries WHERE received_at < ?1";

/*
 * Forget the deliveries taken before `before`: the platforms stop
 * retrying long before (Shopify after 48 hours, Stripe after 3 days), and
 * a replay after that finds its order recorded anyway.  Sets *count.
 */
int
store_delivery_prune(struct db *db, int64_t before, int *count)
{
	int rc = db_write(db, sql_delivery_prune, before, 0, NULL);

	*count = rc == DB_OK ? sqlite3_changes(db->sqlite) : 0;
	return rc;
}

static const char sql_refund_sale[] =
    "SELECT id, order_id, amount, currency, refunded FROM sales"
    " WHERE order_id = ?1";
static const char sql_refund_sale_by_platform[] =
    "SELECT s.id, s.order_id, s.amount, s.currency, s.refunded"
    " FROM platform_orders p JOIN sales s ON s.id = p.sale_id"
    " WHERE p.source = ?2 AND p.platform_id = ?1";
static const char sql_refund_by_id[] =
    "SELECT amount FROM refunds WHERE sale_id = ?1 AND refund_id = ?2";
static const char sql_refund_insert[] =
    "INSERT INTO refunds (sale_id, refund_id, amount, refunded_at, reason,"
    " source, recorded_at) VALUES (?1, nullif(?2, ''), ?3, ?4, ?5, ?6, ?7)";
static const char sql_sale_refunded[] =
    "UPDATE sales SET refunded = refunded + ?2 WHERE id = ?1";

/*
 * The sale refund r is for, by our order id or by the platform's own id
 * of it: DB_OK with res's sale figures filled, or with STORE_REFUND_UNKNOWN.
 */
static int
store_refund_sale(struct db *db, const struct refund *r, const char *source,
    struct store_refund_result *res)
{
	sqlite3_stmt	*st;
	int		 rc, by_order = *r->order_id != '\0';

	if ((st = db_prepare(db, by_order ? sql_refund_sale :
	    sql_refund_sale_by_platform)) == NULL)
		return DB_ERROR;
	BIND_TEXT(st, 1, by_order ? r->order_id : r->platform_order);
	if (!by_order)
		BIND_TEXT(st, 2, source);
	if ((rc = db_step(db, st)) == SQLITE_DONE) {
		res->outcome = STORE_REFUND_UNKNOWN;
		if (by_order)
			snprintf(res->why, sizeof(res->why), "order \"%s\" is not "
			    "recorded; record its sale first", r->order_id);
		else
			snprintf(res->why, sizeof(res->why), "no recorded order "
			    "has %s id %s", source, r->platform_order);
		return DB_OK;
	}
	if (rc != SQLITE_ROW)
		return rc;
	res->sale = sqlite3_column_int64(st, 0);
	store_copy(res->order_id, sizeof(res->order_id), st, 1);
	res->total = sqlite3_column_int64(st, 2);
	store_copy(res->currency, sizeof(res->currency), st, 3);
	res->refunded = sqlite3_column_int64(st, 4);
	sqlite3_reset(st);
	return DB_OK;
}

/*
 * A refund id recorded for the sale before: a duplicate, or a conflict
 * when the refund names another amount of its own (what is left, or a
 * platform's running total, is no amount of its own).  1 when found, 0
 * when new, or DB_*.
 */
static int
store_refund_seen(struct db *db, const struct refund *r,
    struct store_refund_result *res)
{
	sqlite3_stmt	*st = db_prepare(db, sql_refund_by_id);
	char		 then[MONEY_TEXT_LEN];
	int64_t		 given;
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, res->sale);
	BIND_TEXT(st, 2, r->refund_id);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : rc;
	res->amount = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	money_format(res->amount, res->currency, then);
	res->outcome = STORE_REFUND_DUPLICATE;
	if (*r->amount != '\0' && !r->cumulative && (money_parse(r->amount,
	    money_decimals(res->currency), &given) == -1 ||
	    given != res->amount)) {
		res->outcome = STORE_REFUND_CONFLICT;
		snprintf(res->why, sizeof(res->why), "refund \"%.128s\" of "
		    "order \"%.128s\" is recorded already with %s %s, not %s; "
		    "a refund id names one refund", r->refund_id, res->order_id,
		    then, res->currency, r->amount);
	} else {
		snprintf(res->why, sizeof(res->why), "refund \"%.128s\" of "
		    "order \"%.128s\" (%s %s) is recorded already; nothing new",
		    r->refund_id, res->order_id, then, res->currency);
	}
	return 1;
}

/*
 * Record refund r, told by `source` (cli, import, api, a platform), inside
 * the caller's write transaction.  Returns DB_OK with res filled (which may
 * say that nothing was written, and why), or a DB_* error after which the
 * caller rolls back.  What a full refund does to messages is the
 * planner's (planner_run): this writes facts only.
 */
int
store_record_refund(struct db *db, const struct refund *r, const char *source,
    int64_t now, struct store_refund_result *res)
{
	struct refund_sale	 s;
	sqlite3_stmt		*st;
	int			 rc;

	memset(res, 0, sizeof(*res));
	if ((rc = store_refund_sale(db, r, source, res)) != DB_OK ||
	    res->outcome == STORE_REFUND_UNKNOWN)
		return rc;
	if (*r->refund_id != '\0' && (rc = store_refund_seen(db, r, res)) != 0)
		return rc < 0 ? rc : DB_OK;
	s.order_id = res->order_id;
	s.currency = res->currency;
	s.amount = res->total;
	s.refunded = res->refunded;
	if ((res->verdict = refund_settle(r, &s, &res->amount, res->why,
	    sizeof(res->why))) != REFUND_RECORD) {
		res->outcome = STORE_REFUND_SETTLED;
		return DB_OK;
	}

	if ((st = db_prepare(db, sql_refund_insert)) == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, res->sale);
	BIND_TEXT(st, 2, r->refund_id);
	sqlite3_bind_int64(st, 3, res->amount);
	sqlite3_bind_int64(st, 4, r->refunded_at);
	BIND_TEXT(st, 5, r->reason);
	BIND_TEXT(st, 6, source);
	sqlite3_bind_int64(st, 7, now);
	if ((rc = db_step(db, st)) != SQLITE_DONE)
		return rc;
	if ((rc = db_write(db, sql_sale_refunded, res->sale, res->amount,
	    NULL)) != DB_OK)
		return rc;
	res->outcome = STORE_REFUND_ADDED;
	res->refunded += res->amount;
	return DB_OK;
}

/*
 * Whether a refund that was not added is recorded already: its refund id,
 * or all it asks (the rest of the order, a platform's running total).
 * Those who tell us of refunds again and again (a webhook, an export)
 * take it as done.
 */
int
store_refund_known(const struct store_refund_result *res)
{
	return res->outcome == STORE_REFUND_DUPLICATE ||
	    (res->outcome == STORE_REFUND_SETTLED &&
	    (res->verdict == REFUND_COVERED ||
	    res->verdict == REFUND_NOTHING_LEFT));
}

static const char sql_platform_order_add[] =
    "INSERT INTO platform_orders (source, platform_id, sale_id)"
    " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

/*
 * Remember the platform's own id of a recorded sale, for the refunds that
 * name the order by it, in the transaction that records the sale.
 */
int
store_platform_order_add(struct db *db, const char *source,
    const char *platform_id, int64_t sale)
{
	sqlite3_stmt	*st = db_prepare(db, sql_platform_order_add);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	BIND_TEXT(st, 1, source);
	BIND_TEXT(st, 2, platform_id);
	sqlite3_bind_int64(st, 3, sale);
	rc = db_step(db, st);
	return rc == SQLITE_DONE ? DB_OK : rc;
}
