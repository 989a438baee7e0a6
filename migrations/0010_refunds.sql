-- Refunds: facts someone hands us (sale refund, POST /api/refunds, the
-- platforms' refund events, the Shopify export's Refunded Amount), kept
-- like sales.  Amounts are minor units of the sale's currency.
CREATE TABLE refunds (
	id		INTEGER PRIMARY KEY,
	sale_id		INTEGER NOT NULL REFERENCES sales(id),
	refund_id	TEXT,			-- the shop's own id; NULL for none
	amount		INTEGER NOT NULL CHECK (amount > 0),
	refunded_at	INTEGER NOT NULL,
	reason		TEXT NOT NULL DEFAULT '',
	source		TEXT NOT NULL,		-- cli, import, api, shopify...
	recorded_at	INTEGER NOT NULL,
	UNIQUE (sale_id, refund_id)		-- the same refund again is a no-op
);

-- What a sale's refunds add up to, kept with the sale: stats are net of
-- refunds everywhere, and reading the refunds table for every sale they
-- sum would double their work.  A sale refunded in full (refunded =
-- amount, above 0) counts as no order.
ALTER TABLE sales ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
-- The few refunded sales: stats leave out those refunded in full without
-- reading every sale's row.
CREATE INDEX sales_refunded ON sales (id) WHERE refunded > 0;

-- A platform's own id of an order, where its refunds name the order by it
-- (Shopify's numeric id; our order id is its "#1001").
CREATE TABLE platform_orders (
	source		TEXT NOT NULL,		-- shopify | woocommerce | stripe
	platform_id	TEXT NOT NULL,
	sale_id		INTEGER NOT NULL REFERENCES sales(id),
	PRIMARY KEY (source, platform_id)
) WITHOUT ROWID;

-- Refunds up to last_refund_id have had their effect on messages: the
-- planner's memory for refunds, as last_sale_id is for sales.
ALTER TABLE planner ADD COLUMN last_refund_id INTEGER NOT NULL DEFAULT 0;
