-- A message's bytes in a table of their own (issue 13), written once at
-- its first claim and read back at each retry.  In the messages row they
-- made it 2 KB, one message to a page: the first claim split the table's
-- pages to make room, and every later change of state (sending, sent)
-- wrote a whole page of bytes that did not change.  Here they are
-- appended in message-id order, and a messages row stays small, many to
-- a page.  No row: not built yet, or dropped (privacy).
CREATE TABLE message_bodies (
	message_id	INTEGER PRIMARY KEY REFERENCES messages(id),
	body		BLOB NOT NULL
);
INSERT INTO message_bodies (message_id, body)
	SELECT id, body FROM messages WHERE body IS NOT NULL ORDER BY id;
ALTER TABLE messages DROP COLUMN body;
