-- The facts aftersale keeps: customers, their sales, who referred whom,
-- and the messages planned for them.  Times are UTC seconds, money is
-- integer minor units beside an ISO 4217 code.

CREATE TABLE customers (
	id		INTEGER PRIMARY KEY,
	email		TEXT NOT NULL,			-- as first given
	name		TEXT NOT NULL DEFAULT '',
	referral_code	TEXT NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL
);

CREATE TABLE sales (
	id		INTEGER PRIMARY KEY,
	order_id	TEXT NOT NULL UNIQUE,
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	sku		TEXT NOT NULL DEFAULT '',
	product		TEXT NOT NULL DEFAULT '',
	amount		INTEGER NOT NULL CHECK (amount >= 0),
	currency	TEXT NOT NULL CHECK (length(currency) = 3),
	sold_at		INTEGER NOT NULL,
	is_repeat	INTEGER NOT NULL DEFAULT 0,	-- not the customer's first
	referral_code	TEXT NOT NULL DEFAULT '',	-- as given with the sale
	recorded_at	INTEGER NOT NULL
);

-- Customers are matched by address whatever its case.  Addresses are
-- ASCII (we do not speak SMTPUTF8), and lower() folds ASCII.
CREATE UNIQUE INDEX customers_email ON customers (lower(email));
-- The few customers whose name is not known yet, so that a later sale can
-- fill it in without reading every customer's row.
CREATE INDEX customers_nameless ON customers (lower(email)) WHERE name = '';

-- A customer's sales in purchase order: the first sale, repeat flags.
CREATE INDEX sales_customer ON sales (customer_id, sold_at);

-- A customer is referred at most once, hence the key.
CREATE TABLE referrals (
	referred_id	INTEGER PRIMARY KEY REFERENCES customers(id),
	referrer_id	INTEGER NOT NULL REFERENCES customers(id),
	sale_id		INTEGER NOT NULL REFERENCES sales(id),
	created_at	INTEGER NOT NULL,
	CHECK (referred_id != referrer_id)
);

CREATE INDEX referrals_referrer ON referrals (referrer_id);

CREATE TABLE messages (
	id		INTEGER PRIMARY KEY,
	campaign	TEXT NOT NULL,
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	sale_id		INTEGER NOT NULL REFERENCES sales(id),
	state		TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN
			    ('scheduled', 'sending', 'sent', 'deferred',
			     'failed', 'cancelled', 'expired', 'suppressed')),
	due_at		INTEGER NOT NULL,
	attempts	INTEGER NOT NULL DEFAULT 0,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	sent_at		INTEGER,
	last_error	TEXT NOT NULL DEFAULT '',
	UNIQUE (sale_id, campaign)			-- never planned twice
);

-- The scheduler's scan: the earliest message still to send.
CREATE INDEX messages_due ON messages (due_at)
	WHERE state IN ('scheduled', 'deferred');
-- A customer's messages.  Not by state: every delivery changes a state,
-- and each index keyed on it would be rewritten with it.
CREATE INDEX messages_customer ON messages (customer_id);
