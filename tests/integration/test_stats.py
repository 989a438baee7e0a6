"""stats: every number in the sales section against figures computed here."""

import json
import os
import random
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ShopTest, main  # noqa: E402

EX_USAGE = 64


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Stats(ShopTest):

    def setUp(self):
        super().setUp()
        rng = random.Random(7)
        start = datetime(2026, 9, 1, tzinfo=timezone.utc)
        rows = []
        for i in range(300):
            email = "c%d@example.com" % rng.randrange(120)
            currency = rng.choice(["EUR", "EUR", "GBP", "JPY"])
            amount = rng.randrange(100, 10000)
            text = str(amount) if currency == "JPY" else "%d.%02d" % divmod(amount, 100)
            when = start + timedelta(minutes=rng.randrange(60 * 24 * 80))
            rows.append((("O-%d" % i), email, text, currency, when, amount))
        self.rows = rows
        csv = "order_id,email,amount,currency,sold_at\n" + "".join(
            "%s,%s,%s,%s,%s\n" % (o, e, t, c, iso(w)) for o, e, t, c, w, _ in rows)
        self.shop.ok("sale", "import", self.shop.write("sales.csv", csv))

    def expected(self, since=None, until=None):
        rows = [r for r in self.rows
                if (since is None or r[4] >= since) and (until is None or r[4] < until)]
        first = {}
        for o, e, t, c, w, a in sorted(self.rows, key=lambda r: (r[4], int(r[0][2:]))):
            first.setdefault(e, o)
        customers = {r[1] for r in rows}
        repeaters = {r[1] for r in rows if first[r[1]] != r[0]}
        revenue = defaultdict(int)
        for r in rows:
            revenue[r[3]] += r[5]
        fmt = {c: (str(v) if c == "JPY" else "%d.%02d" % divmod(v, 100))
               for c, v in revenue.items()}
        return {"orders": len(rows), "customers": len(customers),
                "repeat_customers": len(repeaters),
                "repeat_rate": round(len(repeaters) / len(customers), 4),
                "revenue": fmt, "refunds": {"orders": 0, "full": 0, "amount": {}}}

    def test_sales_numbers(self):
        stats = self.shop.json("stats", "--json")
        self.assertEqual(stats["sales"], self.expected())
        self.assertIsNone(stats["since"])
        self.assertIsNone(stats["until"])
        self.assertRegex(stats["generated_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_time_window(self):
        since = datetime(2026, 10, 1, tzinfo=timezone.utc)
        until = datetime(2026, 10, 15, 12, tzinfo=timezone.utc)
        stats = self.shop.json("stats", "--json", "--since", iso(since), "--until", iso(until))
        self.assertEqual(stats["sales"], self.expected(since, until))
        self.assertEqual((stats["since"], stats["until"]), (iso(since), iso(until)))

    def test_shape(self):
        stats = self.shop.json("stats", "--json")
        self.assertEqual(set(stats), {"generated_at", "since", "until", "sales", "messages",
                                      "campaigns", "referrals", "top_referrers",
                                      "coupons"})
        self.assertEqual(set(stats["messages"]), {"scheduled", "sending", "sent", "deferred",
                                                  "failed", "cancelled", "expired",
                                                  "suppressed"})
        self.assertEqual([c["name"] for c in stats["campaigns"]],
                         ["thank-you", "review-request", "refer-a-friend", "win-back",
                          "referral-thanks"])
        self.assertEqual(set(stats["campaigns"][0]),
                         {"name", "scheduled", "sent", "deferred", "failed", "cancelled",
                          "expired", "suppressed", "conversions", "revenue"})
        self.assertEqual(set(stats["referrals"]),
                         {"referred_customers", "referred_orders", "revenue", "pending",
                          "review", "confirmed", "voided"})

    def test_text_has_the_same_numbers(self):
        exp = self.expected()
        text = self.shop.ok("stats")
        self.assertRegex(text, r"orders\s+%d\n" % exp["orders"])
        self.assertRegex(text, r"customers\s+%d\n" % exp["customers"])
        self.assertRegex(text, r"repeat customers\s+%d\s+\(%.2f%%\)" %
                         (exp["repeat_customers"], 100 * exp["repeat_rate"]))
        for currency, amount in exp["revenue"].items():
            self.assertIn("%s %s" % (currency, amount), text)

    def test_bad_filters(self):
        p = self.shop.run("stats", "--since", "last week")
        self.assertEqual(p.returncode, EX_USAGE)
        self.assertIn('--since "last week" is not a time', p.stderr)
        p = self.shop.run("stats", "--campaign", "nope")
        self.assertEqual(p.returncode, EX_USAGE)
        self.assertIn('no campaign "nope"', p.stderr)
        p = self.shop.run("stats", "--since", "2026-11-02", "--until", "2026-11-01")
        self.assertEqual(p.returncode, EX_USAGE)


class EmptyStats(ShopTest):

    def test_empty_database(self):
        stats = self.shop.json("stats", "--json")
        self.assertEqual(stats["sales"], {"orders": 0, "customers": 0, "repeat_customers": 0,
                                          "repeat_rate": 0, "revenue": {},
                                          "refunds": {"orders": 0, "full": 0, "amount": {}}})
        self.assertEqual(stats["top_referrers"], [])


class Attribution(ShopTest):
    """Last touch within attribution.window (7 days by default)."""

    def sent(self, email, campaign, at):
        with self.shop.db() as db:
            db.execute("INSERT INTO messages (campaign, customer_id, sale_id, state, due_at,"
                       " created_at, updated_at, sent_at)"
                       " SELECT ?, c.id, s.id, 'sent', ?, 0, 0, ? FROM customers c"
                       " JOIN sales s ON s.customer_id = c.id WHERE c.email = ?"
                       " ORDER BY s.id LIMIT 1", (campaign, at, at, email))

    def test_last_touch(self):
        day = 86400
        t = int(datetime(2026, 10, 1, tzinfo=timezone.utc).timestamp())
        for email in ("a@example.com", "b@example.com", "c@example.com"):
            self.shop.sale("first-" + email, email, amount="1.00", at=iso_ts(t - day))
        self.sent("a@example.com", "thank-you", t)
        self.sent("b@example.com", "thank-you", t)
        self.sent("c@example.com", "review-request", t)
        self.sent("c@example.com", "win-back", t + 2 * day)
        self.shop.sale("A-2", "a@example.com", amount="10.00", at=iso_ts(t + day))
        self.shop.sale("A-3", "a@example.com", amount="3.00", currency="GBP",
                       at=iso_ts(t + 2 * day))
        self.shop.sale("B-2", "b@example.com", amount="99.00", at=iso_ts(t + 8 * day))
        self.shop.sale("C-2", "c@example.com", amount="7.50", at=iso_ts(t + 3 * day))
        campaigns = {c["name"]: c for c in self.shop.json("stats", "--json")["campaigns"]}
        self.assertEqual((campaigns["thank-you"]["conversions"],
                          campaigns["thank-you"]["revenue"]),
                         (2, {"EUR": "10.00", "GBP": "3.00"}))
        self.assertEqual((campaigns["win-back"]["conversions"],
                          campaigns["win-back"]["revenue"]), (1, {"EUR": "7.50"}))
        self.assertEqual(campaigns["review-request"]["conversions"], 0)
        # A window ending before the last sale leaves only what came before.
        campaigns = {c["name"]: c for c in self.shop.json(
            "stats", "--json", "--until", iso_ts(t + 2 * day))["campaigns"]}
        self.assertEqual(campaigns["thank-you"]["conversions"], 1)
        self.assertEqual(campaigns["win-back"]["conversions"], 0)

    def test_last_touch_through_an_import(self):
        # An import looks for last touches only when a message was ever
        # sent: here one was, before the import.
        t = int(datetime(2026, 10, 1, tzinfo=timezone.utc).timestamp())
        self.shop.sale("A-1", "a@example.com", amount="1.00", at=iso_ts(t - 86400))
        self.sent("a@example.com", "thank-you", t)
        self.shop.ok("sale", "import", self.shop.write("s.csv", "order_id,email,sold_at\n"
                     "A-2,a@example.com,%s\nB-1,b@example.com,%s\n"
                     % (iso_ts(t + 3600), iso_ts(t + 3600))))
        self.assertEqual(self.shop.query("SELECT order_id, touch_campaign, touch_at FROM sales"
                                         " ORDER BY order_id"),
                         [("A-1", None, None), ("A-2", "thank-you", t), ("B-1", None, None)])


def iso_ts(t):
    return iso(datetime.fromtimestamp(t, timezone.utc))


class ReferralStats(ShopTest):

    def test_referrals_section(self):
        self.shop.sale("A-1", "ana@example.com", amount="10.00", at="2026-10-01")
        code = self.shop.code_of("ana@example.com")
        self.shop.sale("B-1", "bo@example.com", amount="20.00", at="2026-10-02", referral=code)
        self.shop.sale("B-2", "bo@example.com", amount="5.50", at="2026-10-09")
        self.shop.sale("C-1", "cy@example.com", amount="7.00", currency="GBP",
                       at="2026-10-03", referral=code)
        stats = self.shop.json("stats", "--json")
        # Pending: no daemon has planned them.
        self.assertEqual(stats["referrals"], {"referred_customers": 2, "referred_orders": 3,
                                              "revenue": {"EUR": "25.50", "GBP": "7.00"},
                                              "pending": 2, "review": 0, "confirmed": 0,
                                              "voided": 0})
        self.assertEqual(stats["top_referrers"],
                         [{"email": "ana@example.com", "code": code, "referred_customers": 2,
                           "revenue": {"EUR": "25.50", "GBP": "7.00"}}])


if __name__ == "__main__":
    main()
