"""Refunds, referral integrity and reward coupons over six weeks (issue 11),
against a real SMTP server, with the daemon's clock moved from outside
(libfaketime) past the referral hold instead of waiting for it: refunds in
full and in part, before and after messages went out, within and after the
hold; a self-referral by a Gmail alias; a referral from a disposable
domain; a referrer over max_per_week; review approved and rejected; two
coupon pools, one running dry mid-run and refilled; redemptions.  The test
keeps its own model of what the contracts (DESIGN.md, aftersale(8),
aftersale.conf(5)) say every message, referral, coupon and figure of
`stats --json` must become, and compares the daemon's database, its mail
and its stats with it."""

import email
import email.utils
import os
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Clock, Daemon, DaemonTest, main  # noqa: E402
from smtpd import SmtpServer  # noqa: E402

DAY = 86400
HOLD = 14 * DAY
MAX_PER_WEEK = 2
WINDOW = 7 * DAY        # attribution.window's default
REFERRAL_LINE = 'referral    = { link = "https://acme.example/r/{{referral.code}}"; };'
REFERRAL = """\
referral = {
  link = "https://acme.example/r/{{referral.code}}";
  hold = "14d";
  rules = { max_per_week = 2; disposable_domains = "disposable.txt"; };
};
delivery = { retry = [ "1s" ]; give_up_after = "60d"; };"""

# A double-sided programme with a 14-day hold, a reminder series that stops
# once it worked, and a win-back that a refund does not stop.
CAMPAIGNS = """\
  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; },
  { name = "friend-reward"; on = "first_sale"; after = "0s"; template = "friend-reward";
    coupon = "welcome"; },
  { name = "review-request"; on = "sale"; after = "7d"; template = "review";
    stop_on = [ "repeat_purchase" ]; },
  { name = "refer-reminder"; on = "first_sale"; after = "35d"; template = "refer";
    stop_on = [ "referred_friend" ]; },
  { name = "win-back"; on = "sale"; after = "60d"; template = "win-back";
    on_refund = "keep"; },
  { name = "referral-thanks"; on = "referral_converted"; after = "0s";
    template = "referral-reward"; coupon = "rewards"; }"""
# name, trigger, delay, stop_on, on_refund keep, coupon pool
MODEL_CAMPAIGNS = [("thank-you", "sale", 0, None, False, None),
                   ("friend-reward", "first_sale", 0, None, False, "welcome"),
                   ("review-request", "sale", 7 * DAY, "repeat_purchase", False, None),
                   ("refer-reminder", "first_sale", 35 * DAY, "referred_friend", False, None),
                   ("win-back", "sale", 60 * DAY, None, True, None),
                   ("referral-thanks", "referral_converted", 0, None, False, "rewards")]
STATES = ("scheduled", "sending", "sent", "deferred", "failed", "cancelled",
          "expired", "suppressed")
OPEN = ("scheduled", "deferred")


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(cents):
    return "%d.%02d" % divmod(cents, 100)


def email_key(address):
    """One mailbox: case aside, and for Gmail without dots and +tags."""
    local, _, domain = address.lower().rpartition("@")
    if domain in ("gmail.com", "googlemail.com"):
        return local.split("+")[0].replace(".", "") + "@gmail.com"
    return local + "@" + domain


class Model:
    """What the contracts say must happen, computed without the daemon."""

    def __init__(self, disposable):
        self.disposable = disposable
        self.customers = {}         # lower-case email -> {"name", "seq", "code"}
        self.sales = []             # in the order they were recorded
        self.referrals = {}         # referred email -> {"referrer", "sale", "state"}
        self.messages = {}          # (order, campaign) -> {"to", "due", "state", "seq"}
        self.pools = defaultdict(list)  # pool -> [{"code", "holder", "redeemed"}]
        self.unsubscribed = set()
        self.planned = 0            # sales the daemon has planned, by recording order

    # Facts, as the CLI records them.

    def record(self, order, address, at, cents, currency, given=None, code_of=None):
        """A sale; returns the warning the CLI must print (or None)."""
        key = address.lower()
        new = key not in self.customers
        if new:
            self.customers[key] = {"seq": len(self.customers)}
        sale = {"order": order, "customer": key, "sold_at": at, "cents": cents,
                "currency": currency, "refunded": 0, "refunded_at": None}
        self.sales.append(sale)
        if not given:
            return None
        coupon = self.coupon(given)
        if coupon is not None and coupon["holder"] is not None:
            coupon["redeemed"] = order          # a redemption, no referral
            return None
        referrer = code_of.get(given.upper())
        if referrer is None:
            return "unknown"
        if email_key(referrer) == email_key(key):
            return "self"
        if (not new or any(s["sold_at"] < at for s in self.sales if s["customer"] == key)
                or any(email_key(s["customer"]) == email_key(key) and s["customer"] != key
                       and s["sold_at"] <= at for s in self.sales)):
            return "not first"
        if key in self.referrals:
            return "already"
        self.referrals[key] = {"referrer": referrer, "sale": sale, "state": "pending"}
        return None

    def full(self, sale):
        return sale["refunded"] == sale["cents"]

    def refund(self, order, cents, at):
        """A refund (None: what is left).  A running daemon cancels what
        waits about a sale refunded in full, but what is kept."""
        sale = next(s for s in self.sales if s["order"] == order)
        sale["refunded"] += sale["cents"] - sale["refunded"] if cents is None else cents
        sale["refunded_at"] = at
        if self.full(sale) and self.sales.index(sale) < self.planned:
            for name, _, _, _, keep, _ in MODEL_CAMPAIGNS:
                m = self.messages.get((order, name))
                if m and not keep and m["state"] in OPEN:
                    m["state"] = "cancelled"

    def unsubscribe(self, address):
        self.unsubscribed.add(address)
        for m in self.messages.values():
            if m["to"] == address and m["state"] in OPEN:
                m["state"] = "suppressed"

    def import_codes(self, pool, codes):
        self.pools[pool] += [{"code": c, "holder": None, "redeemed": None} for c in codes]

    def coupon(self, code):
        return next((k for p in self.pools.values() for k in p
                     if k["code"].upper() == code.upper()), None)

    def decide(self, referred, approve, now):
        r = self.referrals[referred]
        assert r["state"] == "review"
        if not approve:
            r["state"] = "voided"
        elif r["sale"]["sold_at"] + HOLD <= now:
            r["state"] = "confirmed"
            r["decided"] = now
            r["acted"] = False
        else:
            r["state"] = "pending"

    # The daemon's part.

    def add_message(self, sale, name, to, due, state):
        self.messages[(sale["order"], name)] = {"to": to, "due": due, "state": state,
                                                "seq": len(self.messages)}

    def plan(self):
        """The planner's pass over the sales recorded since the last one."""
        for sale in self.sales[self.planned:]:
            buyer = sale["customer"]
            r = self.referrals.get(buyer)
            if r is not None and r["sale"] is sale:
                self.rules(r)
            for name, on, after, stop, keep, _ in MODEL_CAMPAIGNS:
                if on == "referral_converted" or (self.full(sale) and not keep):
                    continue
                if on == "first_sale" and (
                        any(s["customer"] == buyer and s["sold_at"] < sale["sold_at"]
                            for s in self.sales) or
                        any(m["to"] == buyer and c == name
                            for (_, c), m in self.messages.items())):
                    continue
                state = "suppressed" if buyer in self.unsubscribed else "scheduled"
                if stop == "repeat_purchase":
                    for s in self.sales:
                        m = self.messages.get((s["order"], name))
                        if (m and s["customer"] == buyer and s["sold_at"] < sale["sold_at"]
                                and m["state"] in OPEN):
                            m["state"] = "cancelled"
                    if state == "scheduled" and any(
                            s["customer"] == buyer and s["sold_at"] > sale["sold_at"]
                            for s in self.sales):
                        state = "cancelled"
                if (stop == "referred_friend" and state == "scheduled" and any(
                        f["referrer"] == buyer and f["state"] in ("pending", "confirmed")
                        for f in self.referrals.values())):
                    state = "cancelled"
                self.add_message(sale, name, buyer, sale["sold_at"] + after, state)
        self.planned = len(self.sales)

    def rules(self, r):
        """referral.rules, checked once, when the friend's sale is planned."""
        sale, referred = r["sale"], r["sale"]["customer"]
        week = sum(1 for f in self.referrals.values()
                   if f["referrer"] == r["referrer"]
                   and sale["sold_at"] - 7 * DAY < f["sale"]["sold_at"] <= sale["sold_at"])
        domain = referred.rpartition("@")[2]
        reasons = []
        if any(domain == d or domain.endswith("." + d) for d in self.disposable):
            reasons.append("disposable_domains")
        if week > MAX_PER_WEEK:
            reasons.append("max_per_week")
        if reasons:
            r["state"] = "review"
            r["reason"] = ",".join(reasons)

    def advance(self, now):
        """Referrals through their hold: voided by a full refund within it,
        confirmed once it is over, and then the referrer thanked, due at
        the confirmation; a friend who bought stops the referrer's
        referred_friend series."""
        for r in self.referrals.values():
            sale = r["sale"]
            if (r["state"] in ("pending", "review") and self.full(sale)
                    and sale["refunded_at"] < sale["sold_at"] + HOLD):
                r["state"] = "voided"
        for r in self.referrals.values():
            if r["state"] == "pending" and r["sale"]["sold_at"] + HOLD <= now:
                r["state"] = "confirmed"
                r["decided"] = r["sale"]["sold_at"] + HOLD
                r["acted"] = False
        for r in self.referrals.values():
            if r["state"] in ("pending", "confirmed"):
                for (_, name), m in self.messages.items():
                    if (m["to"] == r["referrer"] and m["state"] in OPEN and
                            name == "refer-reminder"):
                        m["state"] = "cancelled"
            if r["state"] == "confirmed" and not r["acted"]:
                r["acted"] = True
                if not self.full(r["sale"]):
                    to = r["referrer"]
                    self.add_message(r["sale"], "referral-thanks", to, r["decided"],
                                     "suppressed" if to in self.unsubscribed else "scheduled")

    def deliver(self, now):
        """What is due goes, in order of due time; a message whose pool has
        no free code waits, deferred, and takes the first one imported."""
        pools = {name: pool for name, _, _, _, _, pool in MODEL_CAMPAIGNS}
        due = [(m["due"], m["seq"], key, m) for key, m in self.messages.items()
               if m["state"] in OPEN and m["due"] <= now]
        for _, _, (order, name), m in sorted(due):
            if pools[name] is not None and "code" not in m:
                free = [k for k in self.pools[pools[name]] if k["holder"] is None]
                if not free:
                    m["state"] = "deferred"
                    continue
                free[0]["holder"] = m["to"]
                m["code"] = free[0]["code"]
            m["state"] = "sent"

    # What the daemon must show.

    def state_counts(self):
        return dict(Counter(m["state"] for m in self.messages.values()))

    def coupon_list(self):
        return {pool: {"pool": pool, "total": len(codes),
                       "issued": sum(k["holder"] is not None for k in codes),
                       "remaining": sum(k["holder"] is None for k in codes),
                       "redeemed": sum(k["redeemed"] is not None for k in codes),
                       "expired": 0}
                for pool, codes in self.pools.items()}

    @staticmethod
    def revenue(sales):
        total = defaultdict(int)
        for s in sales:
            total[s["currency"]] += s["cents"] - s["refunded"]
        return {c: money(v) for c, v in sorted(total.items())}

    def stats(self, sent):
        """stats --json without filters.  `sent` holds the daemon's sent
        messages as (id, campaign, customer email, sent_at): when they went
        is the one thing only the daemon knows."""
        counting = [s for s in self.sales if not self.full(s)]
        orders = Counter(s["customer"] for s in counting)
        refunded = [s for s in self.sales if s["refunded"]]
        amount = defaultdict(int)
        for s in refunded:
            amount[s["currency"]] += s["refunded"]
        repeaters = sum(1 for n in orders.values() if n >= 2)
        result = {"sales": {"orders": len(counting), "customers": len(orders),
                            "repeat_customers": repeaters,
                            "repeat_rate": round(repeaters / len(orders), 4),
                            "revenue": self.revenue(counting),
                            "refunds": {"orders": len(refunded),
                                        "full": sum(self.full(s) for s in refunded),
                                        "amount": {c: money(v)
                                                   for c, v in sorted(amount.items())}}},
                  "messages": {s: 0 for s in STATES}}
        result["messages"].update(self.state_counts())

        # Last touch, for sales that still count.
        converted, conversions = Counter(), defaultdict(list)
        for s in counting:
            touches = [(t, i, c) for i, c, who, t in sent
                       if who == s["customer"] and s["sold_at"] - WINDOW <= t < s["sold_at"]]
            if touches:
                campaign = max(touches)[2]
                converted[campaign] += 1
                conversions[campaign].append(s)
        result["campaigns"] = []
        for name, *_ in MODEL_CAMPAIGNS:
            entry = {"name": name}
            entry.update({s: 0 for s in STATES if s != "sending"})
            entry.update(Counter(m["state"] for (_, c), m in self.messages.items()
                                 if c == name))
            entry["conversions"] = converted[name]
            entry["revenue"] = self.revenue(conversions[name])
            result["campaigns"].append(entry)

        # Referred customers' orders that count, of referrals not voided.
        standing = {k: r for k, r in self.referrals.items() if r["state"] != "voided"}
        by_referred = [s for s in counting if s["customer"] in standing]
        states = Counter(r["state"] for r in self.referrals.values())
        result["referrals"] = {"referred_customers": len({s["customer"] for s in by_referred}),
                               "referred_orders": len(by_referred),
                               "revenue": self.revenue(by_referred)}
        result["referrals"].update({s: states[s] for s in
                                    ("pending", "review", "confirmed", "voided")})
        friends = defaultdict(set)
        for s in by_referred:
            friends[standing[s["customer"]]["referrer"]].add(s["customer"])
        result["top_referrers"] = [
            {"email": r, "referred_customers": len(f),
             "revenue": self.revenue([s for s in by_referred if s["customer"] in f])}
            for r, f in sorted(friends.items(),
                               key=lambda kv: (-len(kv[1]), self.customers[kv[0]]["seq"]))]
        result["coupons"] = [
            {"pool": pool, "issued": sum(k["holder"] is not None for k in codes),
             "redeemed": sum(k["redeemed"] is not None for k in codes)}
            for pool, codes in sorted(self.pools.items())
            if any(k["holder"] is not None for k in codes)]
        return result


class Integrity(DaemonTest):

    campaigns = CAMPAIGNS

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer().start())
        self.shop.write_config(campaigns=CAMPAIGNS, smtp_port=self.server.port)
        with open(self.shop.config) as f:
            text = f.read()
        assert REFERRAL_LINE in text
        with open(self.shop.config, "w") as f:
            f.write(text.replace(REFERRAL_LINE, REFERRAL))
        self.shop.write("disposable.txt", "# throwaway mail\nmailinator.com\n")
        self.clock = Clock(self.shop)
        self.offset = 0
        self.model = Model(["mailinator.com"])
        self.codes = {}             # referral code -> lower-case email
        self.base = int(time.time()) - 30 * DAY - 2 * 3600  # day 30 is two hours ago

    # Driving the shop.

    def day(self, n):
        return self.base + int(n * DAY)

    def now(self):
        return int(time.time()) + self.offset

    def move_clock(self, seconds):
        self.offset = seconds
        self.clock.set(seconds)

    def cli(self, *args, **kw):
        return self.shop.ok(*args, env=self.clock.env(), **kw)

    def sales(self, rows):
        """Record (order, email, time, cents, currency, code) rows with
        `sale import`, and in the model; the CLI's warnings must be the
        model's."""
        lines = ["order_id,email,amount,currency,sold_at,referral_code"]
        warnings = []
        for order, address, at, cents, currency, given in rows:
            lines.append("%s,%s,%s,%s,%s,%s" % (order, address, money(cents), currency,
                                                iso(at), given or ""))
            w = self.model.record(order, address, at, cents, currency, given, self.codes)
            if w:
                warnings.append((order, w))
        p = self.shop.run("sale", "import", self.shop.write("sales.csv", "\n".join(lines) + "\n"),
                          env=self.clock.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.count("warning"), len(warnings), (p.stderr, warnings))
        for address in {r[1].lower() for r in rows}:
            self.codes[self.shop.code_of(address)] = address
        return p.stderr

    def code(self, address):
        return next(c for c, e in self.codes.items() if e == address)

    def refund(self, order, cents=None):
        args = ["sale", "refund", "--order", order]
        if cents is not None:
            args += ["--amount", money(cents)]
        self.cli(*args)
        self.model.refund(order, cents, self.now())

    def coupons(self, pool, codes):
        self.cli("coupon", "import", "--pool", pool, input="".join(c + "\n" for c in codes))
        self.model.import_codes(pool, codes)

    # What the daemon shows.

    def messages_now(self):
        return {(order, campaign): (to, state) for order, campaign, to, state in self.shop.query(
            "SELECT s.order_id, m.campaign, lower(c.email), m.state FROM messages m"
            " JOIN sales s ON s.id = m.sale_id JOIN customers c ON c.id = m.customer_id")}

    def referrals_now(self):
        return dict(self.shop.query(
            "SELECT lower(c.email), r.state FROM referrals r"
            " JOIN customers c ON c.id = r.referred_id"))

    def expected(self):
        return ({key: (m["to"], m["state"]) for key, m in self.model.messages.items()},
                {k: r["state"] for k, r in self.model.referrals.items()})

    def settle(self, timeout=20):
        """Wait until every message and referral is in the model's state."""
        deadline = time.monotonic() + timeout
        want = self.expected()
        while True:
            got = (self.messages_now(), self.referrals_now())
            if got == want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(got[1], want[1], self.daemon.text())
        self.assertEqual(got[0], want[0], self.daemon.text())

    def start(self):
        self.daemon = Daemon(self.shop, clock=self.clock)

    def check_stats(self):
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
        return want

    def check_coupons(self):
        """Every code's holder and redeeming order, in the database and in
        `coupon list`, and the code each reward message carried."""
        got = {code: (pool, holder, order) for pool, code, holder, order in self.shop.query(
            "SELECT k.pool, k.code, lower(c.email), s.order_id FROM coupons k"
            " LEFT JOIN messages m ON m.id = k.message_id"
            " LEFT JOIN customers c ON c.id = m.customer_id"
            " LEFT JOIN sales s ON s.id = k.sale_id")}
        want = {k["code"]: (pool, k["holder"], k["redeemed"])
                for pool, codes in self.model.pools.items() for k in codes}
        self.assertEqual(got, want)
        self.assertEqual({p["pool"]: p for p in self.shop.json("coupon", "list", "--json")},
                         self.model.coupon_list())
        carried = {}
        for _, rcpts, raw in self.server.received():
            msg = email.message_from_bytes(raw)
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode()
                    for code in re.findall(r"^  ((?:WEL|RWD)-\d+) ", text, re.M):
                        self.assertNotIn(code, carried, "code %s sent twice" % code)
                        carried[code] = email.utils.parseaddr(msg["To"])[1].lower()
        self.assertEqual(carried, {code: holder for code, (_, holder, _) in want.items()
                                   if holder is not None})

    def test_refunds_referrals_and_coupons(self):
        m = self.model
        self.coupons("welcome", ["WEL-%02d" % i for i in range(1, 15)])
        self.coupons("rewards", ["RWD-1", "RWD-2"])

        # Day 0 to day 29 of the shop, recorded before the daemon runs.
        self.sales([("A-1", "ana@gmail.com", self.day(0), 4000, "EUR", None),
                    ("H-1", "hal@example.com", self.day(1), 2500, "EUR", None)])
        ana, hal = self.code("ana@gmail.com"), self.code("hal@example.com")
        warnings = self.sales([
            ("B-1", "bo@example.com", self.day(3), 3000, "EUR", ana),
            # Ana again, by a Gmail alias: her own code, ignored.
            ("S-1", "A.n.a+shop@gmail.com", self.day(5), 1500, "EUR", ana.lower()),
            ("D-1", "dee@example.com", self.day(10), 2000, "EUR", hal),
            ("E-1", "eve@example.com", self.day(11), 2200, "EUR", hal),
            ("F-1", "fay@example.com", self.day(12), 1800, "EUR", hal),     # 3 in a week
            ("C-1", "cy@mailinator.com", self.day(18), 1200, "GBP", ana),   # disposable
            ("G-1", "gus@example.com", self.day(24), 5000, "EUR", ana),
            ("I-1", "ivy@example.com", self.day(26), 3500, "EUR", ana),
            ("K-1", "kim@example.com", self.day(27), 900, "EUR", None),
            ("J-1", "jo@example.com", self.day(29), 1600, "EUR", None)])
        self.assertIn("own", warnings)
        self.assertNotIn("a.n.a+shop@gmail.com", m.referrals)
        # Before any message went out: in part (nothing changes), and in
        # full (only what the win-back keeps is planned).
        self.refund("K-1", 400)
        self.refund("J-1")

        # The daemon plans it all on day 30: Bo's, Dee's and Eve's holds are
        # over, and the rewards pool has two codes for three thanks.
        self.start()
        now = self.now()
        m.plan()
        m.advance(now)
        m.deliver(now)
        self.settle()
        self.assertEqual(m.messages[("E-1", "referral-thanks")]["state"], "deferred")
        self.assertEqual(m.messages[("J-1", "win-back")]["state"], "scheduled")
        self.assertNotIn(("J-1", "thank-you"), m.messages)
        self.assertEqual(m.messages[("A-1", "refer-reminder")]["state"], "cancelled")
        self.daemon.wait_log('coupon pool "rewards" is empty')
        self.assertIn('pool "rewards" is empty',
                      self.shop.scalar("SELECT m.last_error FROM messages m JOIN sales s"
                                       " ON s.id = m.sale_id WHERE s.order_id = 'E-1'"
                                       " AND m.campaign = 'referral-thanks'"))
        review = self.shop.json("referral", "list", "--state", "review", "--json")
        self.assertEqual(sorted((r["referred"], r["reason"]) for r in review),
                         [("cy@mailinator.com", "disposable_domains"),
                          ("fay@example.com", "max_per_week")])
        self.assertEqual([(k, r["reason"]) for k, r in sorted(m.referrals.items())
                          if r["state"] == "review"],
                         [("cy@mailinator.com", "disposable_domains"),
                          ("fay@example.com", "max_per_week")])
        ids = {r["referred"]: r["id"] for r in review}

        # The pool refilled: the waiting thanks takes the first new code.
        self.coupons("rewards", ["RWD-3", "RWD-4", "RWD-5"])
        m.deliver(self.now())
        self.settle()

        # A person decides: Cy approved within the hold (pending again), Fay
        # rejected.  Gus's order refunded in full within the hold, after his
        # thank-you went out: voided, his review request cancelled.  Ivy's
        # in part: still pending.  Kim unsubscribes.
        self.assertIn("approved: pending until its hold ends at",
                      self.cli("referral", "approve", str(ids["cy@mailinator.com"])))
        m.decide("cy@mailinator.com", True, self.now())
        self.cli("referral", "reject", str(ids["fay@example.com"]))
        m.decide("fay@example.com", False, self.now())
        self.refund("G-1")
        self.refund("I-1", 1000)
        self.cli("unsubscribe", "kim@example.com")
        m.unsubscribe("kim@example.com")
        m.advance(self.now())
        self.settle()
        self.assertEqual(m.referrals["gus@example.com"]["state"], "voided")
        self.assertEqual(m.messages[("G-1", "thank-you")]["state"], "sent")
        self.assertEqual(m.messages[("G-1", "review-request")]["state"], "cancelled")
        self.assertEqual(m.messages[("G-1", "win-back")]["state"], "scheduled")
        self.check_stats()
        self.check_coupons()
        self.assertEqual(self.daemon.stop(), 0)

        # Day 40: Cy's and Ivy's holds are over while the daemon was
        # stopped; it confirms them at its start and thanks Ana twice.
        self.move_clock(10 * DAY)
        self.start()
        now = self.now()
        m.advance(now)
        m.deliver(now)
        self.settle()
        self.assertEqual(m.referrals["ivy@example.com"]["state"], "confirmed")
        self.assertEqual(m.messages[("I-1", "referral-thanks")]["state"], "sent")

        # Refunds after the hold void nothing: Eve's and Bo's in full (Eve's
        # reminder is cancelled, the thanks for her stays sent), Dee's in part.
        self.refund("E-1")
        self.refund("B-1")
        self.refund("D-1", 500)
        m.advance(self.now())
        self.settle()
        self.assertEqual(m.referrals["eve@example.com"]["state"], "confirmed")
        self.assertEqual(m.messages[("E-1", "refer-reminder")]["state"], "cancelled")

        # A minute on, Ana and Dee come back with their reward codes.
        self.move_clock(10 * DAY + 60)
        reward = next(k["code"] for k in m.pools["rewards"] if k["holder"] == "ana@gmail.com")
        gift = next(k["code"] for k in m.pools["welcome"] if k["holder"] == "dee@example.com")
        self.sales([("A-2", "ana@gmail.com", self.now(), 6000, "EUR", reward.lower()),
                    ("D-2", "dee@example.com", self.now(), 800, "GBP", gift)])
        m.plan()
        m.advance(self.now())
        m.deliver(self.now())
        self.settle()
        self.assertEqual(self.daemon.stop(), 0)

        # Every message went where the model says, every code to its holder,
        # and every figure of the stats is the model's.
        self.settle(timeout=0)
        delivered = Counter(to[0].lower() for _, to, _ in self.server.received())
        self.assertEqual(delivered, Counter(x["to"] for x in m.messages.values()
                                            if x["state"] == "sent"))
        self.check_coupons()
        want = self.check_stats()
        listed = self.shop.json("referral", "list", "--json")
        self.assertEqual({r["referred"]: r["state"] for r in listed},
                         {k: r["state"] for k, r in m.referrals.items()})

        # The cases the scenario exists for are really in it.
        self.assertEqual(want["sales"]["refunds"],
                         {"orders": 7, "full": 4, "amount": {"EUR": "137.00"}})
        self.assertEqual({k: want["referrals"][k] for k in
                          ("pending", "review", "confirmed", "voided")},
                         {"pending": 0, "review": 0, "confirmed": 5, "voided": 2})
        self.assertEqual(want["coupons"], [{"pool": "rewards", "issued": 5, "redeemed": 1},
                                           {"pool": "welcome", "issued": 11, "redeemed": 1}])
        self.assertEqual(m.coupon_list()["rewards"]["remaining"], 0)
        thanks = next(c for c in want["campaigns"] if c["name"] == "referral-thanks")
        self.assertEqual((thanks["sent"], thanks["conversions"], thanks["revenue"]),
                         (5, 1, {"EUR": "60.00"}))
        self.assertEqual(want["messages"]["suppressed"], 3)


if __name__ == "__main__":
    main()
