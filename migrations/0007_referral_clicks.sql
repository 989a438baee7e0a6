-- Clicks on referral links (GET /r/CODE), counted per referrer and UTC
-- day: the first step of the funnel clicks -> referred customers ->
-- revenue.  Nothing about who clicked is kept, no address above all.
CREATE TABLE referral_clicks (
	customer_id	INTEGER NOT NULL REFERENCES customers(id),
	day		INTEGER NOT NULL,	-- UTC seconds at the day's midnight
	clicks		INTEGER NOT NULL CHECK (clicks > 0),
	PRIMARY KEY (customer_id, day)
) WITHOUT ROWID;
