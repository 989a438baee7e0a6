-- What the daemon needs to plan, send and respect consent.

-- Made when a customer's first message is built: a bulk import need not
-- draw a million of them.  Lookups by token come from unsubscribe links.
ALTER TABLE customers ADD COLUMN unsubscribe_token TEXT;
CREATE UNIQUE INDEX customers_unsubscribe ON customers (unsubscribe_token)
	WHERE unsubscribe_token IS NOT NULL;

-- No more mail: the customer asked, or their address bounced for good.
ALTER TABLE customers ADD COLUMN unsubscribed_at INTEGER;
ALTER TABLE customers ADD COLUMN bounced_at INTEGER;

-- When delivery was first tried: delivery.give_up_after counts from here.
ALTER TABLE messages ADD COLUMN first_attempt_at INTEGER;

-- Sales up to last_sale_id have their messages planned.  Sale ids only
-- grow (writers are serialized), so this one number is the planner's
-- whole memory.
CREATE TABLE planner (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	last_sale_id	INTEGER NOT NULL
);
INSERT INTO planner (id, last_sale_id) VALUES (1, 0);
