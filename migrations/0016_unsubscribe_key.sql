-- Unsubscribe tokens from customer ids (issue 13): a new customer's
-- token is their id enciphered with this key (token_unsubscribe), so
-- it is computed whenever a message is built and never stored.  Drawn
-- and written, each new customer's token went into the unique index on
-- customers.unsubscribe_token at a random place: about 5% of the send
-- loop's time, and WAL pages with it.  The key is the shop's own, drawn
-- here once; without it a token gives away nothing and cannot be made.
-- Tokens drawn before stay in customers.unsubscribe_token, where they
-- are looked up first.  randomblob() is SQLite's ChaCha20 generator
-- (since 3.40, Debian 12's), seeded from /dev/urandom.
CREATE TABLE unsubscribe_key (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	key		BLOB NOT NULL CHECK (length(key) = 16)
);
INSERT INTO unsubscribe_key (id, key) VALUES (1, randomblob(16));
