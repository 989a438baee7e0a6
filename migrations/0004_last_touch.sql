-- Each sale remembers its last touch: the latest message sent to its
-- buyer before it (see store.c).  Stats then count conversions in one pass
-- over the sales instead of one index search per sale.
ALTER TABLE sales ADD COLUMN touch_campaign TEXT;
ALTER TABLE sales ADD COLUMN touch_at INTEGER;
UPDATE sales SET (touch_campaign, touch_at) = (
	SELECT campaign, sent_at FROM messages INDEXED BY messages_sent
	WHERE customer_id = sales.customer_id AND state = 'sent'
	AND sent_at < sales.sold_at ORDER BY sent_at DESC, id DESC LIMIT 1);

-- Message counts by campaign and state, read from the index alone.
CREATE INDEX messages_campaign_state ON messages (campaign, state, due_at);
