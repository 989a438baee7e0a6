-- Reward coupons: single-use codes a shop imports into named pools
-- (coupon import --pool NAME).  A campaign with coupon = "NAME" gives one
-- to each of its messages: the code is issued in the transaction that
-- stores the message's bytes, so a crash before that commit leaves it
-- free, and a retry resends the bytes that carry it.  Codes compare
-- without case, as the shops' discount codes do.
CREATE TABLE coupons (
	id		INTEGER PRIMARY KEY,
	pool		TEXT NOT NULL,
	code		TEXT NOT NULL COLLATE NOCASE,
	expires_at	INTEGER,		-- NULL: never
	imported_at	INTEGER NOT NULL,
	message_id	INTEGER UNIQUE REFERENCES messages(id),	-- issued to
	issued_at	INTEGER,
	sale_id		INTEGER REFERENCES sales(id),	-- redeemed by
	UNIQUE (pool, code)
);
-- The free codes of a pool, in the order they are given: taking the next
-- one reads one index entry, however many were issued.
CREATE INDEX coupons_free ON coupons (pool, id) WHERE message_id IS NULL;
-- A sale's discount code, looked up when the sale is recorded.
CREATE INDEX coupons_code ON coupons (code) WHERE message_id IS NOT NULL;
