-- Webhook deliveries already taken (POST /hooks/...).  A platform sends a
-- delivery again until it gets a 2xx, and a replay carries the same id
-- (X-Shopify-Webhook-Id, X-WC-Webhook-Delivery-ID, Stripe's event id).
-- The row is written in the transaction that records the delivery's sale,
-- so a replay finds it and stores nothing: the two cannot disagree.
CREATE TABLE webhook_deliveries (
	source		TEXT NOT NULL,		-- shopify | woocommerce | stripe
	delivery_id	TEXT NOT NULL,
	sale_id		INTEGER NOT NULL REFERENCES sales(id),
	received_at	INTEGER NOT NULL,	-- UTC seconds
	PRIMARY KEY (source, delivery_id)
) WITHOUT ROWID;
