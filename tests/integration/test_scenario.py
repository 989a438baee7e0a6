"""A small shop over six weeks, against a real SMTP server: sales dated in
the past (so their messages are due now), referrals good and bad, repeat
purchases in and out of order, an unsubscribe, a hard bounce, two
currencies, then sales that follow the messages.  The test keeps its own
model of what every message should become and of every figure in
`stats --json`, and compares the daemon's database and stats with it."""

import os
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import DEFAULT_CAMPAIGNS, Daemon, DaemonTest, main  # noqa: E402
from smtpd import SmtpServer  # noqa: E402

DAY = 86400
# DESIGN's five campaigns, the thank-you due at the sale.
CAMPAIGNS = DEFAULT_CAMPAIGNS.replace('after = "2h"', 'after = "0s"')
# name, trigger, delay, stop_on repeat purchase
MODEL_CAMPAIGNS = [("thank-you", "sale", 0, False),
                   ("review-request", "sale", 7 * DAY, True),
                   ("refer-a-friend", "first_sale", 14 * DAY, False),
                   ("win-back", "sale", 60 * DAY, True),
                   ("referral-thanks", "referral_converted", 0, False)]
STATES = ("scheduled", "sending", "sent", "deferred", "failed", "cancelled",
          "expired", "suppressed")
WINDOW = 7 * DAY        # attribution.window's default
BOUNCING = "kim@example.com"


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(cents):
    return "%d.%02d" % divmod(cents, 100)


class Model:
    """What the contracts say must happen, computed without the daemon."""

    def __init__(self):
        self.sales = []             # dicts, in the order they were recorded
        self.customers = {}         # lower-case email -> {"code", "referrer", ...}
        self.messages = {}          # (order, campaign) -> {"to", "due", "state"}
        self.unsubscribed = set()

    def record(self, order, email, day_or_time, cents, currency="EUR", referral=None,
               code_of=None):
        key = email.lower()
        new = key not in self.customers
        if new:
            self.customers[key] = {"referrer": None}
        sold_at = day_or_time
        sale = {"order": order, "customer": key, "sold_at": sold_at, "cents": cents,
                "currency": currency, "referrer": None}
        referrer = code_of.get(referral.upper()) if referral else None
        if new and referrer is not None and referrer != key:
            self.customers[key]["referrer"] = referrer
            sale["referrer"] = referrer
        self.sales.append(sale)
        return sale

    def later_sale(self, sale):
        return any(s["customer"] == sale["customer"] and s["sold_at"] > sale["sold_at"]
                   for s in self.sales)

    def is_repeat(self, sale):
        return any(s["customer"] == sale["customer"] and s["sold_at"] < sale["sold_at"]
                   for s in self.sales)

    def plan(self, sales):
        """The planner's pass over newly recorded sales, in recording order."""
        for sale in sales:
            for name, on, after, stop in MODEL_CAMPAIGNS:
                to = sale["customer"]
                if on == "first_sale":
                    if self.is_repeat(sale) or any(
                            m["to"] == to and c == name for (_, c), m in self.messages.items()):
                        continue
                if on == "referral_converted":
                    if sale["referrer"] is None:
                        continue
                    to = sale["referrer"]
                state = "suppressed" if to in self.unsubscribed else "scheduled"
                if stop:
                    for s in self.sales:
                        m = self.messages.get((s["order"], name))
                        if (m and s["customer"] == sale["customer"] and
                                s["sold_at"] < sale["sold_at"] and m["state"] == "scheduled"):
                            m["state"] = "cancelled"
                    if state == "scheduled" and self.later_sale(sale):
                        state = "cancelled"
                self.messages[(sale["order"], name)] = {
                    "to": to, "due": sale["sold_at"] + after, "state": state}

    def deliver(self, now):
        """The daemon sends whatever is due; the bouncing address fails once
        and everything else waiting for it is suppressed."""
        for m in sorted(self.messages.values(), key=lambda m: m["due"]):
            if m["state"] != "scheduled" or m["due"] > now:
                continue
            if m["to"] == BOUNCING:
                m["state"] = "failed"
                self.unsubscribe(BOUNCING)
            else:
                m["state"] = "sent"

    def unsubscribe(self, email):
        self.unsubscribed.add(email)
        for m in self.messages.values():
            if m["to"] == email and m["state"] == "scheduled":
                m["state"] = "suppressed"

    def state_counts(self):
        return dict(Counter(m["state"] for m in self.messages.values()))

    def stats(self, sent):
        """stats --json without filters.  `sent` holds the daemon's sent
        messages as (id, campaign, customer email, sent_at): when they went
        is the one thing only the daemon knows."""
        orders = Counter(s["customer"] for s in self.sales)
        revenue = defaultdict(int)
        for s in self.sales:
            revenue[s["currency"]] += s["cents"]
        customers = len(orders)
        repeaters = sum(1 for n in orders.values() if n >= 2)
        result = {"sales": {"orders": len(self.sales), "customers": customers,
                            "repeat_customers": repeaters,
                            "repeat_rate": round(repeaters / customers, 4),
                            "revenue": {c: money(v) for c, v in sorted(revenue.items())},
                            "refunds": {"orders": 0, "full": 0, "amount": {}}},
                  "messages": {s: 0 for s in STATES}}
        result["messages"].update(self.state_counts())

        conversions = defaultdict(lambda: defaultdict(int))
        converted = Counter()
        for s in self.sales:
            touches = [(t, i, c) for i, c, who, t in sent
                       if who == s["customer"] and s["sold_at"] - WINDOW <= t < s["sold_at"]]
            if touches:
                _, _, campaign = max(touches)
                converted[campaign] += 1
                conversions[campaign][s["currency"]] += s["cents"]
        result["campaigns"] = []
        for name, _, _, _ in MODEL_CAMPAIGNS:
            entry = {"name": name}
            entry.update({s: 0 for s in STATES if s != "sending"})
            entry.update(Counter(m["state"] for (_, c), m in self.messages.items()
                                 if c == name))
            entry["conversions"] = converted[name]
            entry["revenue"] = {c: money(v) for c, v in sorted(conversions[name].items())}
            result["campaigns"].append(entry)

        referred = {k for k, c in self.customers.items() if c["referrer"]}
        by_referred = [s for s in self.sales if s["customer"] in referred]
        result["referrals"] = {"referred_customers": len(referred),
                               "referred_orders": len(by_referred),
                               "revenue": self.revenue(by_referred),
                               # No hold: confirmed once the daemon planned them.
                               "pending": 0, "review": 0, "confirmed": len(referred),
                               "voided": 0}
        referrers = defaultdict(set)
        for k in referred:
            referrers[self.customers[k]["referrer"]].add(k)
        result["top_referrers"] = [
            {"email": r, "referred_customers": len(friends),
             "revenue": self.revenue([s for s in self.sales if s["customer"] in friends])}
            for r, friends in sorted(referrers.items(), key=lambda kv: -len(kv[1]))]
        result["coupons"] = []          # no campaign here names a pool
        return result

    @staticmethod
    def revenue(sales):
        total = defaultdict(int)
        for s in sales:
            total[s["currency"]] += s["cents"]
        return {c: money(v) for c, v in sorted(total.items())}


class Scenario(DaemonTest):

    campaigns = CAMPAIGNS

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer().start())
        self.server.handler.rcpt_replies[BOUNCING] = "550 5.1.1 <%s>: no such user" % BOUNCING
        self.shop.write_config(campaigns=CAMPAIGNS, smtp_port=self.server.port)
        self.model = Model()
        self.codes = {}
        self.start = int(time.time())
        self.base = self.start - 40 * DAY - 2 * 3600     # day 40 is two hours ago

    def day(self, n):
        return self.base + n * DAY

    def import_sales(self, rows):
        """Record rows (order, email, day, cents, currency, referral) with
        `sale import`, and the same in the model; returns the model's sales
        and the command's stderr (its warnings)."""
        lines = ["order_id,email,amount,currency,sold_at,referral_code"]
        sales = []
        for order, email, day, cents, currency, referral in rows:
            at = self.day(day) if day is not None else int(time.time())
            lines.append("%s,%s,%s,%s,%s,%s" % (order, email, money(cents), currency,
                                                iso(at), referral or ""))
            sales.append(self.model.record(order, email, at, cents, currency, referral,
                                           self.codes))
        p = self.shop.run("sale", "import", self.shop.write("sales.csv", "\n".join(lines) + "\n"))
        self.assertEqual(p.returncode, 0, p.stderr)
        for email in {r[1].lower() for r in rows}:
            self.codes[self.shop.code_of(email)] = email
        return sales, p.stderr

    def code(self, email):
        return next(c for c, e in self.codes.items() if e == email)

    def settle(self):
        """Wait until the daemon's message states are the model's."""
        self.daemon.wait_states(self.model.state_counts(), timeout=60)

    def messages_by_sale(self):
        return {(order, campaign): (to, state) for order, campaign, to, state in self.shop.query(
            "SELECT s.order_id, m.campaign, lower(c.email), m.state FROM messages m"
            " JOIN sales s ON s.id = m.sale_id JOIN customers c ON c.id = m.customer_id")}

    def test_six_weeks_of_a_shop(self):
        # Weeks of history, in the order the shop's exports arrive.
        self.import_sales([
            ("A-1", "ana@example.com", 0, 2000, "EUR", None),
            ("H-1", "hal@example.com", 1, 800, "EUR", None),
            ("G-1", "gus@example.com", 2, 1100, "EUR", None),
            ("D-1", "dee@example.com", 5, 1490, "EUR", None),
            ("A-2", "ana@example.com", 12, 3550, "EUR", None),
            ("J-1", "jo@example.com", 20, 500, "EUR", None),
            ("L-2", "lee@example.com", 26, 2200, "EUR", None),
            ("I-1", "ivy@example.com", 35, 1800, "EUR", None),
            ("K-1", BOUNCING, 36, 1000, "EUR", None)])
        ana, dee = self.code("ana@example.com"), self.code("dee@example.com")
        _, warnings = self.import_sales([
            ("B-1", "bo@example.com", 3, 1500, "EUR", ana),
            ("C-1", "cy@example.com", 30, 1200, "GBP", ana.lower()),
            ("F-1", "fay@example.com", 10, 900, "EUR", "ZZZZ2222"),          # unknown
            ("G-2", "gus@example.com", 15, 1300, "EUR", ana),                 # not new
            ("D-2", "DEE@EXAMPLE.COM", 21, 750, "EUR", dee)])                 # own code
        self.assertEqual(warnings.count("warning"), 3, warnings)
        bo, cy = self.code("bo@example.com"), self.code("cy@example.com")
        self.import_sales([
            ("E-1", "eve@example.com", 8, 999, "EUR", bo),
            ("H-2", "hal@example.com", 25, 600, "GBP", bo),                   # had a sale
            ("B-2", "bo@example.com", 18, 400, "EUR", cy)])                   # referred already
        self.shop.ok("unsubscribe", "jo@example.com")
        self.model.unsubscribe("jo@example.com")

        # The daemon plans all of it and sends what is due.
        self.daemon = Daemon(self.shop)
        self.model.plan(self.model.sales)
        self.model.deliver(int(time.time()))
        self.settle()

        # Ivy unsubscribes with messages still to come; Lee's older sale
        # arrives after his newer one.
        self.shop.ok("unsubscribe", "ivy@example.com")
        self.model.unsubscribe("ivy@example.com")
        late, _ = self.import_sales([("L-1", "lee@example.com", 4, 900, "EUR", None)])
        self.model.plan(late)
        self.model.deliver(int(time.time()))
        self.settle()

        # Customers come back after the messages: last-touch conversions.
        # Wait for a new second, so that the sales come after every send.
        time.sleep(1.1)
        fresh, _ = self.import_sales([
            ("A-3", "ana@example.com", None, 5000, "EUR", None),
            ("B-3", "bo@example.com", None, 700, "EUR", None),
            ("C-2", "cy@example.com", None, 400, "GBP", None),
            ("N-1", "nat@example.com", None, 2500, "EUR", None),
            ("P-1", "bo@example.com", 42, 1900, "EUR", None)])           # a pre-order
        self.model.plan(fresh)
        self.model.deliver(int(time.time()))
        self.settle()
        self.assertEqual(self.daemon.stop(), 0)
        # The pre-order's last touch is the thank-you sent after it was recorded.
        self.assertEqual(self.shop.query("SELECT touch_campaign, touch_at FROM sales"
                                         " WHERE order_id = 'P-1'"),
                         self.shop.query("SELECT m.campaign, m.sent_at FROM messages m"
                                         " JOIN sales s ON s.id = m.sale_id"
                                         " WHERE s.order_id = 'B-3' AND m.campaign = 'thank-you'"))

        # Every message is what the model says, and went where it should.
        expected = {key: (m["to"], m["state"]) for key, m in self.model.messages.items()}
        self.assertEqual(self.messages_by_sale(), expected)
        delivered = Counter(to[0] for _, to, _ in self.server.received())
        self.assertEqual(delivered, Counter(m["to"] for m in self.model.messages.values()
                                            if m["state"] == "sent"))
        self.assertNotIn(BOUNCING, delivered)
        self.assertEqual(self.shop.query(
            "SELECT count(*) FROM customers WHERE bounced_at IS NOT NULL"), [(1,)])

        # And so is every number of the stats.
        sent = self.shop.query(
            "SELECT m.id, m.campaign, lower(c.email), m.sent_at FROM messages m"
            " JOIN customers c ON c.id = m.customer_id WHERE m.state = 'sent'")
        want = self.model.stats(sent)
        for r in want["top_referrers"]:
            r["code"] = self.code(r["email"])
        got = self.shop.json("stats", "--json")
        for key in ("generated_at", "since", "until"):
            got.pop(key)
        self.assertEqual(got, want)
        # --campaign keeps one campaign's messages; sales are all sales.
        one = self.shop.json("stats", "--json", "--campaign", "review-request")
        review = next(c for c in want["campaigns"] if c["name"] == "review-request")
        self.assertEqual(one["campaigns"], [review])
        self.assertEqual(one["messages"], dict(
            {s: 0 for s in STATES}, **{s: review[s] for s in STATES if s != "sending"}))
        self.assertEqual(one["sales"], want["sales"])
        # The case the scenario exists for is really in it.
        self.assertEqual(want["sales"]["revenue"], {"EUR": "312.89", "GBP": "22.00"})
        self.assertGreater(sum(c["conversions"] for c in want["campaigns"]), 0)
        self.assertEqual(self.model.messages[("L-1", "review-request")]["state"], "cancelled")
        self.assertNotIn(("L-1", "refer-a-friend"), self.model.messages)

        # customer export holds, for every customer, what the model says
        # of them: their sales, how many friends they brought, and every
        # message to them, with its text once it was built.
        for key in self.model.customers:
            with self.subTest(customer=key):
                x = self.shop.json("customer", "export", key)
                self.assertEqual(x["customer"]["email"].lower(), key)
                self.assertEqual(
                    sorted((s["order_id"], s["sold_at"], s["amount"], s["currency"])
                           for s in x["sales"]),
                    sorted((s["order"], iso(s["sold_at"]), money(s["cents"]), s["currency"])
                           for s in self.model.sales if s["customer"] == key))
                self.assertEqual(len(x["referred"]), sum(
                    c["referrer"] == key for c in self.model.customers.values()))
                self.assertEqual(
                    sorted((m["order_id"], m["campaign"], m["state"]) for m in x["messages"]),
                    sorted((order, campaign, m["state"])
                           for (order, campaign), m in self.model.messages.items()
                           if m["to"] == key))
                for m in x["messages"]:
                    if m["state"] == "sent":
                        self.assertIn("Message-ID: ", m["text"])


if __name__ == "__main__":
    main()
