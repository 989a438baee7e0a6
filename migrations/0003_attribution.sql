-- Last-touch attribution: for a sale, the latest message sent to its
-- buyer before it.  Only sent messages are indexed.
CREATE INDEX messages_sent ON messages (customer_id, sent_at) WHERE state = 'sent';
