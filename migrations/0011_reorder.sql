-- Reorder campaigns (on = "reorder"): a message is due `before` the date
-- its sale's buyer is expected to order again, kept here so that stats can
-- compare each prediction with the order that came.  NULL for the others.
ALTER TABLE messages ADD COLUMN expected_at INTEGER;

-- The median time between two purchases of a SKU by one customer, over
-- all customers, for the SKUs seen often enough: the prediction for a
-- buyer without a history of their own.  Computed whole by the daemon
-- at start and daily (reorder.c), so planning a sale reads one row.
CREATE TABLE reorder_skus (
	sku		TEXT PRIMARY KEY,
	median		INTEGER NOT NULL,	-- seconds
	observed	INTEGER NOT NULL	-- the gaps seen
) WITHOUT ROWID;
