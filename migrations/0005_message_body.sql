-- A message's bytes, built once at its first claim (RFC 5322, CRLF line
-- ends): every retry sends exactly these, with the same Message-ID, and a
-- reload of the templates changes only messages not yet built.  NULL until
-- then.
ALTER TABLE messages ADD COLUMN body BLOB;
