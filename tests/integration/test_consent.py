"""Consent: unsubscribe by address or token, resubscribe.  What waits is
suppressed and nothing more is sent, while new sales are still recorded."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Daemon, DaemonTest, main  # noqa: E402
from smtpd import SmtpServer  # noqa: E402

EX_USAGE, EX_DATAERR = 64, 65
CAMPAIGNS = """\
  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; },
  { name = "win-back"; on = "sale"; after = "60d"; template = "win-back"; }"""


class Consent(DaemonTest):

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer().start())
        self.shop.write_config(campaigns=CAMPAIGNS, smtp_port=self.server.port)

    def deliver(self, states):
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states(states)
        self.assertEqual(self.daemon.stop(), 0)

    def test_unsubscribe_suppresses_and_stops_mail(self):
        self.shop.sale("A-1", "ana@example.com", at="2026-11-20")
        self.deliver({"sent": 1, "scheduled": 1})
        out = self.shop.ok("unsubscribe", "ANA@example.com")
        self.assertEqual(out, "ANA@example.com unsubscribed; 1 waiting message suppressed\n")
        self.assertEqual(self.shop.query("SELECT state FROM messages ORDER BY id"),
                         [("sent",), ("suppressed",)])
        # A new sale is recorded and counted; its messages are planned
        # suppressed, and nothing goes out.
        self.shop.sale("A-2", "ana@example.com", amount="5.00", at="2026-11-22")
        self.deliver({"sent": 1, "suppressed": 3})
        self.assertEqual(len(self.server.received()), 1)
        self.assertEqual(self.shop.json("stats", "--json")["sales"]["orders"], 2)

    def test_unsubscribe_by_token(self):
        self.shop.sale("A-1", "ana@example.com", at="2026-11-20")
        # As the daemon drew it, before migration 0016, when it built the
        # first message.
        token = "K3X9QF2MK3X9QF2MK3X9QF2MAB"
        self.shop.query("UPDATE customers SET unsubscribe_token = ?", token)
        out = self.shop.ok("unsubscribe", "--token", token)
        self.assertIn("unsubscribed", out)
        self.assertIsNotNone(self.shop.scalar("SELECT unsubscribed_at FROM customers"))

    def test_unsubscribe_by_derived_token(self):
        # A new customer's token is derived from their id (issue 13): the
        # one in the message sent, never stored, taken by --token too.
        self.shop.sale("A-1", "ana@example.com", at="2026-11-20")
        self.shop.sale("B-1", "bo@example.com", at="2026-11-20")
        self.deliver({"sent": 2, "scheduled": 2})
        token = self.shop.token_of("ana@example.com")
        sent = [raw for _, to, raw in self.server.received() if to == ["ana@example.com"]]
        self.assertEqual(len(sent), 1)
        self.assertIn(("/u?t=%s>" % token).encode(), sent[0])
        self.assertEqual(self.shop.query("SELECT unsubscribe_token FROM customers"),
                         [(None,), (None,)])
        changed = token[:5] + ("7" if token[5] != "7" else "3") + token[6:]
        self.assertFails(EX_DATAERR, "unsubscribe", "--token", changed,
                         stderr='no customer has the unsubscribe token "%s"' % changed)
        out = self.shop.ok("unsubscribe", "--token", token)
        self.assertEqual(out, "customer unsubscribed; 1 waiting message suppressed\n")
        self.assertEqual(self.shop.query("SELECT email FROM customers"
                                         " WHERE unsubscribed_at IS NOT NULL"),
                         [("ana@example.com",)])
        # Erased, Ana is nobody: her token names no one.
        bo = self.shop.token_of("bo@example.com")
        self.shop.ok("customer", "erase", "ana@example.com", "--yes")
        self.assertFails(EX_DATAERR, "unsubscribe", "--token", token,
                         stderr='no customer has the unsubscribe token "%s"' % token)
        self.assertIn("unsubscribed", self.shop.ok("unsubscribe", "--token", bo))

    def test_resubscribe(self):
        self.shop.sale("A-1", "ana@example.com", at="2026-11-20")
        self.shop.ok("unsubscribe", "ana@example.com")
        self.assertEqual(self.shop.ok("resubscribe", "ana@example.com"),
                         "ana@example.com resubscribed\n")
        self.assertIsNone(self.shop.scalar("SELECT unsubscribed_at FROM customers"))
        self.deliver({"sent": 1, "scheduled": 1})

    def test_unknown_customer(self):
        self.shop.sale("A-1", "ana@example.com", at="2026-11-20")
        self.assertFails(EX_DATAERR, "unsubscribe", "bo@example.com",
                         stderr='no customer has the address "bo@example.com"')
        self.assertFails(EX_DATAERR, "unsubscribe", "--token", "NOPE",
                         stderr='no customer has the unsubscribe token "NOPE"')
        self.assertIsNone(self.shop.scalar("SELECT unsubscribed_at FROM customers"))

    def test_usage(self):
        self.assertFails(EX_USAGE, "unsubscribe")
        self.assertFails(EX_USAGE, "resubscribe", "--token", "X")
        self.assertFails(EX_USAGE, "unsubscribe", "a@b.co", "c@d.co")


if __name__ == "__main__":
    main()
