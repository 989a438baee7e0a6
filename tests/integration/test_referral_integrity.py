"""Referral integrity (issue 11): a referral is pending through
referral.hold, then confirmed and only then thanked, or voided by a full
refund within the hold; addresses are compared by their key (case, Gmail's
dots and +tags); referral.rules send a referral to review, where referral
approve and reject decide; stop_on = referred_friend ends a reminder
series; and the figures in stats and customer --json."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Clock, Daemon, DaemonTest, ShopTest, main  # noqa: E402
from sink import Sink  # noqa: E402

EX_USAGE, EX_DATAERR, EX_CONFIG = 64, 65, 78
DAY = 86400
REFERRAL_LINE = 'referral    = { link = "https://acme.example/r/{{referral.code}}"; };'

CAMPAIGNS = """\
  { name = "refer-a-friend"; on = "first_sale"; after = "14d"; template = "refer"; },
  { name = "refer-reminder"; on = "first_sale"; after = "45d"; template = "refer";
    stop_on = [ "referred_friend" ]; },
  { name = "referral-thanks"; on = "referral_converted"; after = "0s";
    template = "referral-thanks"; }"""


def at(seconds_ago):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))


def configure(shop, referral, smtp_port=2525, campaigns=CAMPAIGNS):
    """The shop's config with `referral` inside its referral block."""
    shop.write_config(campaigns=campaigns, smtp_port=smtp_port)
    with open(shop.config) as f:
        text = f.read()
    assert REFERRAL_LINE in text
    text = text.replace(REFERRAL_LINE, 'referral = {\n  link = "https://acme.example/r/'
                        '{{referral.code}}";\n%s\n};' % referral)
    with open(shop.config, "w") as f:
        f.write(text)


class Base(DaemonTest):

    referral = 'hold = "14d";'

    def setUp(self):
        super().setUp()
        self.sink = self.keep(Sink(self.shop.dir).start())
        configure(self.shop, self.referral, smtp_port=self.sink.port)

    def state(self, email):
        return self.shop.scalar(
            "SELECT r.state FROM referrals r JOIN customers c ON c.id = r.referred_id"
            " WHERE c.email = ?", email)

    def messages(self, campaign):
        return self.shop.query(
            "SELECT c.email, m.state FROM messages m JOIN customers c ON c.id = m.customer_id"
            " WHERE m.campaign = ? ORDER BY m.id", campaign)

    def wait(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("%s never happened\n%s" % (what, self.daemon.text()))
            time.sleep(0.05)

    def thanked(self):
        return [m for m in self.sink.received() if b"Your friend just joined" in m]


class Hold(Base):

    def test_the_hold_ends_then_the_referrer_is_thanked(self):
        self.shop.sale("A-1", "ana@example.com", name="Ana Lima", at=at(30 * DAY))
        code = self.shop.code_of("ana@example.com")
        # Bo's hold ends 3 seconds from now: the daemon's timer, not a
        # change to the database, confirms it.
        self.shop.sale("B-1", "bo@example.com", referral=code, at=at(14 * DAY - 3))
        clock = Clock(self.shop)
        self.daemon = Daemon(self.shop, clock=clock)
        self.wait(lambda: self.state("bo@example.com") == "pending", "pending")
        self.assertEqual(self.messages("referral-thanks"), [])
        # A friend bought: Ana's reminder is cancelled, her 14-day one went.
        self.wait(lambda: ("ana@example.com", "cancelled") in self.messages("refer-reminder"),
                  "the reminder cancelled")
        self.assertIn(("bo@example.com", "scheduled"), self.messages("refer-reminder"))
        self.wait(lambda: self.state("bo@example.com") == "confirmed", "confirmed")
        self.wait(lambda: len(self.thanked()) == 1, "the thanks sent")
        self.assertIn(b"X-Rcpt-Args: <ana@example.com>", self.thanked()[0])

        # Cy buys now; the clock moves past the hold while the daemon is
        # stopped: the state is in the database, a restart confirms.
        self.shop.sale("C-1", "cy@example.com", referral=code, at=at(5))
        self.wait(lambda: self.state("cy@example.com") == "pending", "Cy pending")
        self.assertEqual(self.daemon.stop(), 0)
        clock.set(15 * DAY)
        self.daemon = Daemon(self.shop, clock=clock)
        self.wait(lambda: self.state("cy@example.com") == "confirmed", "Cy confirmed")
        self.wait(lambda: len(self.thanked()) == 2, "the second thanks")
        stats = json.loads(self.shop.ok("stats", "--json", env=clock.env()))["referrals"]
        self.assertEqual((stats["pending"], stats["review"], stats["confirmed"],
                          stats["voided"], stats["referred_customers"]), (0, 0, 2, 0, 2))
        self.assertEqual(self.daemon.stop(), 0)

    def test_a_full_refund_within_the_hold_voids(self):
        self.shop.sale("A-1", "ana@example.com", at=at(30 * DAY))
        code = self.shop.code_of("ana@example.com")
        self.shop.sale("B-1", "bo@example.com", referral=code, amount="20.00", at=at(5))
        self.shop.sale("C-1", "cy@example.com", referral=code, amount="30.00", at=at(5))
        clock = Clock(self.shop)
        self.daemon = Daemon(self.shop, clock=clock)
        self.wait(lambda: self.state("cy@example.com") == "pending", "pending")
        # In part: still pending.  In full: voided.
        self.shop.ok("sale", "refund", "--order", "B-1", "--amount", "5.00")
        self.shop.ok("sale", "refund", "--order", "C-1")
        self.wait(lambda: self.state("cy@example.com") == "voided", "voided")
        self.assertEqual(self.state("bo@example.com"), "pending")
        self.assertEqual(self.daemon.stop(), 0)
        clock.set(15 * DAY)
        self.daemon = Daemon(self.shop, clock=clock)
        self.wait(lambda: self.state("bo@example.com") == "confirmed", "Bo confirmed")
        self.wait(lambda: len(self.thanked()) == 1, "Bo's thanks")
        self.assertEqual(self.state("cy@example.com"), "voided")
        self.assertEqual([e for e, _ in self.messages("referral-thanks")], ["ana@example.com"])
        stats = json.loads(self.shop.ok("stats", "--json", env=clock.env()))["referrals"]
        self.assertEqual((stats["pending"], stats["confirmed"], stats["voided"]), (0, 1, 1))
        # Bo's 15.00 net; Cy's voided referral counts no revenue.
        self.assertEqual(stats["revenue"], {"EUR": "15.00"})
        self.assertEqual(self.daemon.stop(), 0)

    def test_a_refund_after_confirmation_voids_nothing(self):
        self.shop.sale("A-1", "ana@example.com", at=at(30 * DAY))
        code = self.shop.code_of("ana@example.com")
        self.shop.sale("B-1", "bo@example.com", referral=code, amount="20.00",
                       at=at(15 * DAY))
        self.daemon = Daemon(self.shop)
        self.wait(lambda: len(self.thanked()) == 1, "the thanks")
        self.shop.ok("sale", "refund", "--order", "B-1")
        # The daemon took the refund: it cancelled Bo's waiting reminder.
        self.daemon.wait_log("cancelled 1 waiting message of sales refunded in full")
        self.assertEqual(self.state("bo@example.com"), "confirmed")
        self.assertEqual(self.messages("referral-thanks"), [("ana@example.com", "sent")])
        self.assertEqual(self.daemon.stop(), 0)


class NoHold(Base):
    """Without a hold, as before holds: thanked as soon as planned."""

    referral = ""

    def test_confirmed_at_once(self):
        self.shop.sale("A-1", "ana@example.com", at=at(30 * DAY))
        self.shop.sale("B-1", "bo@example.com", referral=self.shop.code_of("ana@example.com"),
                       at=at(5))
        self.daemon = Daemon(self.shop)
        self.wait(lambda: len(self.thanked()) == 1, "the thanks")
        self.assertEqual(self.state("bo@example.com"), "confirmed")
        c = self.shop.json("customer", "bo@example.com", "--json")
        self.assertEqual(c["referral_state"], "confirmed")
        self.assertEqual(self.daemon.stop(), 0)


class Rules(Base):

    referral = ('hold = "14d";\nrules = { same_name = "review"; max_per_week = 2;\n'
                '  disposable_domains = "disposable.txt"; };')

    def setUp(self):
        super().setUp()
        self.shop.write("disposable.txt", "# throwaway mail\nmailinator.com\n"
                        "  Trashmail.EXAMPLE   # and its subdomains\n\n")

    def test_rules_send_to_review_and_a_person_decides(self):
        self.shop.sale("A-1", "ana@example.com", name="Ana Lima", at=at(60 * DAY))
        code = self.shop.code_of("ana@example.com")
        # Same name, another address; at a disposable domain's subdomain;
        # then a third and a fourth in a week (max_per_week = 2).
        self.shop.sale("B-1", "other@example.org", name=" ANA lima ", referral=code,
                       at=at(20 * DAY))
        self.shop.sale("C-1", "cy@x.trashmail.example", referral=code, at=at(20 * DAY - 60))
        self.shop.sale("D-1", "di@example.com", referral=code, at=at(3 * DAY))
        self.shop.sale("E-1", "ed@example.com", referral=code, at=at(2 * DAY))
        self.shop.sale("F-1", "fa@example.com", referral=code, at=at(DAY))
        self.daemon = Daemon(self.shop)
        self.wait(lambda: self.state("fa@example.com") == "review", "review")
        listed = self.shop.json("referral", "list", "--state", "review", "--json")
        self.assertEqual([(r["referred"], r["reason"]) for r in listed],
                         [("other@example.org", "same_name"),
                          ("cy@x.trashmail.example", "disposable_domains"),
                          ("fa@example.com", "max_per_week")])
        self.assertEqual(self.state("di@example.com"), "pending")
        self.assertEqual(self.state("ed@example.com"), "pending")
        self.assertIn("its referral goes to review (same_name)", self.daemon.text())
        ids = {r["referred"]: r["id"] for r in listed}
        text = self.shop.ok("referral", "list")
        self.assertIn("max_per_week", text)

        # Approved past its hold: confirmed, and thanked.  Approved within
        # it: pending again.  Rejected: voided.
        out = self.shop.ok("referral", "approve", str(ids["other@example.org"]))
        self.assertIn("approved: confirmed", out)
        out = self.shop.ok("referral", "approve", str(ids["fa@example.com"]))
        self.assertIn("approved: pending until its hold ends at", out)
        self.shop.ok("referral", "reject", str(ids["cy@x.trashmail.example"]))
        self.wait(lambda: len(self.thanked()) == 1, "the approved one's thanks")
        self.assertEqual(self.state("other@example.org"), "confirmed")
        self.assertEqual(self.state("fa@example.com"), "pending")
        self.assertEqual(self.state("cy@x.trashmail.example"), "voided")
        stats = self.shop.json("stats", "--json")["referrals"]
        self.assertEqual((stats["pending"], stats["review"], stats["confirmed"],
                          stats["voided"]), (3, 0, 1, 1))
        self.assertIn("referrals pending 3, in review 0, confirmed 1, voided 1",
                      self.shop.ok("stats"))

        # Only a referral in review waits for a decision; ids are numbers.
        for args in (("approve", str(ids["fa@example.com"])),
                     ("reject", str(ids["cy@x.trashmail.example"])),
                     ("approve", "99999"), ("reject", "x"), ("approve", "0")):
            self.assertFails(EX_DATAERR, "referral", *args)
        self.assertFails(EX_USAGE, "referral", "approve")
        self.assertFails(EX_USAGE, "referral", "list", "--state", "lost")
        self.assertEqual(self.daemon.stop(), 0)


class Aliases(ShopTest):
    """Addresses by their key: Gmail's dots and +tags, and case."""

    def test_a_gmail_alias_is_the_referrer_herself(self):
        self.shop.sale("A-1", "ana@gmail.com", at="2026-10-01")
        p = self.shop.run("sale", "add", "--order", "A-2", "--email", "A.n.a+x@GoogleMail.com",
                          "--referral", self.shop.code_of("ana@gmail.com"), "--at", "2026-10-05")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ignored: the code is the buyer's own", p.stderr)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM referrals"), 0)

    def test_a_customer_under_an_alias_is_not_new(self):
        self.shop.sale("B-1", "bo@example.com", at="2026-09-01")
        self.shop.sale("A-1", "ana@gmail.com", at="2026-10-01")
        p = self.shop.run("sale", "add", "--order", "A-2", "--email", "a.na+shop@gmail.com",
                          "--referral", self.shop.code_of("bo@example.com"), "--at", "2026-10-05")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("only a customer's first purchase can carry a referral", p.stderr)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM referrals"), 0)
        # Another provider's dots are its own: a new customer, referred.
        p = self.shop.run("sale", "add", "--order", "C-1", "--email", "a.na@example.com",
                          "--referral", self.shop.code_of("bo@example.com"), "--at", "2026-10-06")
        self.assertEqual(p.stderr, "")
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM referrals"), 1)


class Config(ShopTest):

    def line_of(self, piece):
        with open(self.shop.config) as f:
            return next(i for i, text in enumerate(f, 1) if piece in text)

    def check(self, referral, piece, message, campaigns=CAMPAIGNS):
        configure(self.shop, referral, campaigns=campaigns)
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("%s:%d: " % (self.shop.config, self.line_of(piece)), p.stderr)
        self.assertIn(message, p.stderr)
        self.assertFails(EX_CONFIG, "sale", "add", "--order", "X-1", "--email", "x@example.com")

    def test_bad_keys_have_their_lines(self):
        self.check('hold = "14 days";', "hold", 'referral.hold: "14 days" is not a duration')
        self.check('hold = "400d";', "hold", "referral.hold is 400d")
        self.check('rules = { same_name = "maybe"; };', "same_name", "same_name")
        self.check('rules = { max_per_week = -1; };', "max_per_week",
                   "referral.rules.max_per_week is -1")
        self.check('rules = { max_per_wek = 3; };', "max_per_wek", 'did you mean')
        self.check('rules = { disposable_domains = "missing.txt"; };', "disposable_domains",
                   "cannot read")
        self.check("", "referred_friends", "referred_friends", campaigns=CAMPAIGNS.replace(
            '"referred_friend"', '"referred_friends"'))

    def test_a_bad_line_of_the_rules_file_is_named(self):
        path = self.shop.write("disposable.txt", "mailinator.com\nnot a domain\n")
        configure(self.shop, 'rules = { disposable_domains = "disposable.txt"; };')
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn('%s:2: "not a domain" is not a domain' % path, p.stderr)

    def test_good_rules_pass(self):
        self.shop.write("disposable.txt", "# none yet\n")
        configure(self.shop, 'hold = "14d";\nrules = { same_name = "review"; '
                  'disposable_domains = "disposable.txt"; max_per_week = 10; };')
        self.shop.ok("check-config")


if __name__ == "__main__":
    main()
