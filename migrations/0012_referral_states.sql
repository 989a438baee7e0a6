-- Referral integrity.  A referral is pending until its sale has lived
-- through referral.hold without a full refund, then confirmed (only then
-- is the referrer thanked), or voided by a full refund within the hold;
-- one that breaks a rule of referral.rules waits in review for a person
-- (referral approve, referral reject).  The referrals made before this
-- were thanked at once: they are confirmed, and all was done for them.
ALTER TABLE referrals ADD COLUMN state TEXT NOT NULL DEFAULT 'confirmed'
	CHECK (state IN ('pending', 'review', 'confirmed', 'voided'));
ALTER TABLE referrals ADD COLUMN reason TEXT NOT NULL DEFAULT '';	-- why review
-- When it was confirmed (the end of its hold, or its approval), the time
-- a referral_converted campaign's `after` counts from; or voided.
ALTER TABLE referrals ADD COLUMN decided_at INTEGER;
-- What the daemon did about it, as its state asked: 0 nothing yet; 1 the
-- referrer's waiting stop_on = referred_friend messages are cancelled;
-- 2 that, and the referral_converted messages are planned.
ALTER TABLE referrals ADD COLUMN acted INTEGER NOT NULL DEFAULT 2;
UPDATE referrals SET decided_at = (SELECT sold_at FROM sales
	WHERE sales.id = referrals.sale_id);
-- The daemon's look at what is still to do: few rows among many.
CREATE INDEX referrals_state ON referrals (state, acted);

-- Customers by the key of their address (email_key(): case, and Gmail's
-- dots and +tags), so that an alias is known for the customer it is.
ALTER TABLE customers ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
UPDATE customers SET email_key = email_key(email);
CREATE INDEX customers_email_key ON customers (email_key);
