-- give_up_after counts from the time a message was first due, not from its
-- first attempt: a message held back by a relay that refuses or is down
-- spends no attempt and must still give up.  The first attempt's time is
-- the best guess there is for messages already waiting.
ALTER TABLE messages RENAME COLUMN first_attempt_at TO first_due_at;
