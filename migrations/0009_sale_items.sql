-- A sale's line items, as the shop listed them (issue 10): a campaign's
-- sku filter matches any of them.  The sale's own sku and product stay
-- its first item's, for templates.  Amounts are minor units of the sale's
-- currency, for the item's whole quantity, as the platform reports them:
-- they need not add up to the sale's amount (shipping, taxes, discounts).
CREATE TABLE sale_items (
	sale_id		INTEGER NOT NULL REFERENCES sales(id),
	position	INTEGER NOT NULL CHECK (position >= 0),	-- 0 is the first
	sku		TEXT NOT NULL DEFAULT '',
	product		TEXT NOT NULL DEFAULT '',
	quantity	INTEGER NOT NULL CHECK (quantity > 0),
	amount		INTEGER NOT NULL CHECK (amount >= 0),
	PRIMARY KEY (sale_id, position)
) WITHOUT ROWID;

-- Every sale has one item at least: the sales recorded before items were
-- kept are their own one item, so that they read as they did.
INSERT INTO sale_items (sale_id, position, sku, product, quantity, amount)
	SELECT id, 0, sku, product, 1, amount FROM sales;
