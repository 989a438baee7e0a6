-- Message counts by campaign and state, kept by triggers (issue 13), in
-- place of the index messages (campaign, state, due_at) that stats read
-- them from.  Every message changes state twice on its way out
-- (scheduled, sending, sent), and each change moved its entry between
-- three far-apart places of that index: three pages written to the WAL
-- at nearly every commit of the sender, a fifth of its time.  The counts
-- are one small table, a page written once per commit.  A row may count
-- 0; readers skip those.
CREATE TABLE message_counts (
	campaign	TEXT NOT NULL,
	state		TEXT NOT NULL,
	n		INTEGER NOT NULL,
	PRIMARY KEY (campaign, state)
) WITHOUT ROWID;
INSERT INTO message_counts (campaign, state, n)
	SELECT campaign, state, count(*) FROM messages GROUP BY campaign, state;

CREATE TRIGGER message_counts_insert AFTER INSERT ON messages
BEGIN
	INSERT INTO message_counts (campaign, state, n)
		VALUES (new.campaign, new.state, 1)
		ON CONFLICT (campaign, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER message_counts_delete AFTER DELETE ON messages
BEGIN
	UPDATE message_counts SET n = n - 1
		WHERE campaign = old.campaign AND state = old.state;
END;

CREATE TRIGGER message_counts_update AFTER UPDATE OF campaign, state
	ON messages
	WHEN old.campaign IS NOT new.campaign OR old.state IS NOT new.state
BEGIN
	UPDATE message_counts SET n = n - 1
		WHERE campaign = old.campaign AND state = old.state;
	INSERT INTO message_counts (campaign, state, n)
		VALUES (new.campaign, new.state, 1)
		ON CONFLICT (campaign, state) DO UPDATE SET n = n + 1;
END;

DROP INDEX messages_campaign_state;
