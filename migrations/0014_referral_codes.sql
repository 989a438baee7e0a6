-- Referral codes from customer ids (issue 13): a new customer's code is a
-- keyed permutation of their id (token_referral_code), unique by
-- construction, so adding a customer no longer inserts into a unique
-- index at a random place, a sixth of a bulk import's time.  The key is
-- the shop's own, drawn here once.
CREATE TABLE referral_key (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	key		BLOB NOT NULL CHECK (length(key) = 16)
);
INSERT INTO referral_key (id, key) VALUES (1, randomblob(16));

-- The codes that were drawn at random: those handed out before this
-- migration, and the rare one drawn since because a customer's own code
-- was one of them.  A code is looked up here first, then decoded.
CREATE TABLE referral_codes (
	code		TEXT PRIMARY KEY,
	customer_id	INTEGER NOT NULL REFERENCES customers(id)
) WITHOUT ROWID;
INSERT INTO referral_codes (code, customer_id)
	SELECT referral_code, id FROM customers
	WHERE email != 'erased:' || id;

-- customers again without the UNIQUE on referral_code (SQLite drops a
-- constraint only with its table): the table copied, its indexes made
-- again.  Foreign keys are not enforced (db.c), and the other tables
-- name it, not its rows' places.
CREATE TABLE customers_new (
	id		INTEGER PRIMARY KEY,
	email		TEXT NOT NULL,			-- as first given
	name		TEXT NOT NULL DEFAULT '',
	referral_code	TEXT NOT NULL,			-- token_referral_code, or drawn
	created_at	INTEGER NOT NULL,
	unsubscribe_token TEXT,
	unsubscribed_at	INTEGER,
	bounced_at	INTEGER,
	email_key	TEXT NOT NULL DEFAULT ''	-- email_key(): see 0012
);
INSERT INTO customers_new (id, email, name, referral_code, created_at,
    unsubscribe_token, unsubscribed_at, bounced_at, email_key)
	SELECT id, email, name, referral_code, created_at, unsubscribe_token,
	    unsubscribed_at, bounced_at, email_key FROM customers;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
CREATE UNIQUE INDEX customers_email ON customers (lower(email));
CREATE INDEX customers_nameless ON customers (lower(email)) WHERE name = '';
CREATE UNIQUE INDEX customers_unsubscribe ON customers (unsubscribe_token)
	WHERE unsubscribe_token IS NOT NULL;
CREATE INDEX customers_email_key ON customers (email_key);
