"""The operator's queue tools: `queue` lists messages (text and --json),
`retry` puts failed or deferred ones back, all or nothing; a running daemon
sends what was retried."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import THANK_YOU_NOW, Daemon, DaemonTest, ShopTest, main  # noqa: E402
from smtpd import SmtpServer  # noqa: E402


def add_messages(shop, rows):
    """Messages in given states, one per (order, state, error)."""
    with shop.db() as db:
        for order, state, error in rows:
            db.execute("INSERT INTO messages (campaign, customer_id, sale_id, state, due_at,"
                       " created_at, updated_at, attempts, last_error)"
                       " SELECT 'thank-you', customer_id, id, ?, sold_at, 0, 0, 3, ?"
                       " FROM sales WHERE order_id = ?", (state, error, order))


class Queue(ShopTest):

    def setUp(self):
        super().setUp()
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.shop.sale("B-1", "bo@example.com", at="2026-11-02")
        self.shop.sale("C-1", "cy@example.com", at="2026-11-03")
        add_messages(self.shop, [("A-1", "failed", "554 5.7.1 rejected after DATA"),
                                 ("B-1", "deferred", "451 4.3.0 try later after RCPT"),
                                 ("C-1", "sent", "")])

    def states(self):
        return dict(self.shop.query("SELECT id, state FROM messages"))

    def test_json_lists_next_due_first(self):
        listing = self.shop.json("queue", "--json")
        self.assertEqual(listing["total"], 3)
        self.assertEqual([m["email"] for m in listing["messages"]],
                         ["ana@example.com", "bo@example.com", "cy@example.com"])
        self.assertEqual(listing["messages"][0], {
            "id": 1, "campaign": "thank-you", "state": "failed", "email": "ana@example.com",
            "order_id": "A-1", "due_at": "2026-11-01T00:00:00Z", "sent_at": None,
            "attempts": 3, "last_error": "554 5.7.1 rejected after DATA"})

    def test_filters_and_limit(self):
        listing = self.shop.json("queue", "--json", "--state", "deferred")
        self.assertEqual([m["order_id"] for m in listing["messages"]], ["B-1"])
        listing = self.shop.json("queue", "--json", "--limit", "1")
        self.assertEqual((listing["total"], len(listing["messages"])), (3, 1))
        self.assertIn("2 more", self.shop.ok("queue", "--limit", "1"))
        self.assertEqual(self.shop.json("queue", "--json", "--campaign", "win-back")["total"], 0)

    def test_text_shows_the_reply(self):
        out = self.shop.ok("queue", "--state", "failed")
        self.assertIn("ana@example.com", out)
        self.assertIn("554 5.7.1 rejected after DATA", out)
        self.assertNotIn("bo@example.com", out)

    def test_bad_options(self):
        for args, piece in ((["--state", "lost"], "not a message state"),
                            (["--limit", "-3"], "--limit"),
                            (["--campaign", "thank-yuo"], "no campaign")):
            p = self.shop.run("queue", *args)
            self.assertEqual(p.returncode, 64, p.stderr)
            self.assertIn(piece, p.stderr)

    def test_retry_puts_back_due_now(self):
        self.assertIn("2 messages back", self.shop.ok("retry", "1", "2"))
        rows = self.shop.query("SELECT state, attempts, first_due_at, due_at > 1790000000"
                               " FROM messages WHERE id IN (1, 2)")
        self.assertEqual(rows, [("scheduled", 0, None, 1)] * 2)

    def test_retry_is_all_or_nothing(self):
        before = self.states()
        for ids, piece in ((["1", "3"], "message 3 is sent"), (["2", "99"], "no message 99")):
            p = self.shop.run("retry", *ids)
            self.assertEqual(p.returncode, 65, p.stderr)
            self.assertIn(piece, p.stderr)
            self.assertIn("nothing was retried", p.stderr)
            self.assertEqual(self.states(), before)
        p = self.shop.run("retry", "x1")
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertEqual(self.shop.run("retry").returncode, 64)

    def test_retry_failed_leaves_bounced_customers(self):
        self.shop.sale("D-1", "dee@example.com", at="2026-11-04")
        add_messages(self.shop, [("D-1", "failed", "550 5.1.1 no such user after RCPT")])
        with self.shop.db() as db:
            db.execute("UPDATE customers SET bounced_at = 1 WHERE email = 'dee@example.com'")
        out = self.shop.ok("retry", "--failed")
        self.assertIn("1 message back", out)
        self.assertIn("1 failed message left", out)
        self.assertEqual(self.states(), {1: "scheduled", 2: "deferred", 3: "sent", 4: "failed"})
        p = self.shop.run("retry", "4")
        self.assertEqual(p.returncode, 65)
        self.assertIn("resubscribe dee@example.com first", p.stderr)
        self.shop.ok("resubscribe", "dee@example.com")
        self.shop.ok("retry", "4")
        self.assertEqual(self.states()[4], "scheduled")


class RetryWhileRunning(DaemonTest):

    def test_daemon_sends_what_was_retried(self):
        server = self.keep(SmtpServer().start())
        server.handler.rcpt_replies["ana@example.com"] = "550 5.1.1 <ana@example.com>: no mailbox"
        self.shop.write_config(campaigns=THANK_YOU_NOW, smtp_port=server.port)
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"failed": 1})
        # The mailbox is fixed; the operator vouches for it and retries.
        del server.handler.rcpt_replies["ana@example.com"]
        self.shop.ok("resubscribe", "ana@example.com")
        self.shop.ok("retry", "--failed")
        self.daemon.wait_states({"sent": 1})
        self.assertEqual([to for _, to, _ in server.received()], [["ana@example.com"]])
        self.assertEqual(self.daemon.stop(), 0)
        listing = json.loads(self.shop.ok("queue", "--json"))
        self.assertEqual(listing["messages"][0]["state"], "sent")
        self.assertIsNotNone(listing["messages"][0]["sent_at"])


if __name__ == "__main__":
    main()
