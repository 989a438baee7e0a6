"""Fault injection with Postfix's smtp-sink: soft and hard rejections,
dropped connections, 421, and no relay at all.  Nothing is lost; what
was deferred goes out once the relay recovers."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import THANK_YOU_NOW as CAMPAIGN, Clock, Daemon, DaemonTest, main, recent  # noqa: E402
from sink import Sink  # noqa: E402

FAST_RETRY = 'delivery = { retry = [ "1s" ]; give_up_after = "1h"; };'


class Faults(DaemonTest):

    def setUp(self):
        super().setUp()
        self.sink = None

    def serve(self, *options):
        port = self.sink.port if self.sink else None
        if self.sink:
            self.sink.stop()
        self.sink = self.keep(Sink(self.shop.dir, *options, port=port).start())
        self.shop.write_config(extra=FAST_RETRY, campaigns=CAMPAIGN, smtp_port=self.sink.port)

    def run_until(self, states, at=None):
        self.shop.sale("A-1", "ana@example.com", at=at or recent())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states(states)

    def recovers(self):
        """The sink answers normally again: the message goes out, once.
        (smtp-sink dumps a message rejected at its end, so count anew.)"""
        before = len(self.sink.received())
        self.serve()
        self.daemon.wait_states({"sent": 1}, timeout=30)
        self.assertEqual(self.daemon.stop(), 0)     # nothing more goes out
        self.assertEqual(len(self.sink.received()) - before, 1)
        self.assertGreaterEqual(self.shop.scalar("SELECT attempts FROM messages"), 2)

    def test_4xx_on_rcpt_defers_then_sends(self):
        self.serve("-r", "rcpt")
        self.run_until({"deferred": 1})
        self.assertRegex(self.shop.scalar("SELECT last_error FROM messages"), r"^4\d\d .*RCPT")
        self.recovers()

    def test_4xx_on_data_defers_then_sends(self):
        self.serve("-r", "data")
        self.run_until({"deferred": 1})
        self.recovers()

    def test_4xx_on_end_of_data_defers_then_sends(self):
        self.serve("-r", ".")
        self.run_until({"deferred": 1})
        self.recovers()

    def test_disconnect_mid_transaction_defers(self):
        self.serve("-q", "data")
        self.run_until({"deferred": 1})
        self.recovers()

    def test_421_defers(self):
        self.serve("-Q", "rcpt")
        self.run_until({"deferred": 1})
        self.recovers()

    def test_5xx_on_rcpt_fails_and_suppresses(self):
        self.serve("-f", "rcpt", "-B", "550 5.1.1 Recipient address rejected")
        self.shop.write_config(extra=FAST_RETRY, smtp_port=self.sink.port,
                               campaigns=CAMPAIGN + ',\n  { name = "later"; on = "sale"; '
                               'after = "30d"; template = "review"; }')
        self.shop.sale("A-1", "ana@example.com", at="2026-11-20")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"failed": 1, "suppressed": 1})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertIsNotNone(self.shop.scalar("SELECT bounced_at FROM customers"))
        self.assertRegex(self.shop.scalar("SELECT last_error FROM messages WHERE state = 'failed'"),
                         r"^5\d\d .*RCPT")
        self.assertEqual(self.sink.received(), [])

    def test_5xx_on_data_fails_without_suppressing(self):
        self.serve("-f", "data")
        self.run_until({"failed": 1})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertIsNone(self.shop.scalar("SELECT bounced_at FROM customers"))

    def test_no_relay_at_start_then_it_appears(self):
        self.sink = self.keep(Sink(self.shop.dir))
        self.shop.write_config(extra=FAST_RETRY, campaigns=CAMPAIGN, smtp_port=self.sink.port)
        self.run_until({"deferred": 1})
        self.daemon.wait_log("sending paused")
        # Not the message's fault: no attempt is spent.
        self.assertEqual(self.shop.scalar("SELECT attempts FROM messages"), 0)
        self.sink.start()
        self.daemon.wait_states({"sent": 1}, timeout=40)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(len(self.sink.received()), 1)
        self.assertIn("answers again", self.daemon.text())

    def test_a_message_that_cannot_be_built_fails_alone(self):
        # A hand-edited address that would add a header: the message fails
        # with the reason, the daemon goes on (it stopped with "out of
        # memory" once message_build's refusal and a failed malloc were
        # one and the same -1).
        self.serve()
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.shop.sale("B-1", "bo@example.com", at=recent())
        self.shop.query("UPDATE customers SET email = 'bo@example.com\r\nBcc: evil@example.com'"
                        " WHERE email = 'bo@example.com'")
        # And one whose sale is gone (foreign keys are not enforced).
        self.shop.ok("migrate")
        self.shop.query("INSERT INTO messages (campaign, customer_id, sale_id, state, due_at,"
                        " created_at, updated_at) VALUES ('thank-you', 1, 999, 'scheduled',"
                        " 0, 0, 0)")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 1, "failed": 2})
        self.assertIn("customer 1 or sale 999 is gone", self.daemon.text())
        self.assertEqual(self.shop.query(
            "SELECT DISTINCT substr(last_error, 1, 15) FROM messages WHERE state = 'failed'"),
            [("cannot be built",)])
        self.assertIn("the To address contains a line break", self.daemon.text())
        self.assertEqual(self.daemon.stop(), 0)
        received = self.sink.received()
        self.assertEqual(len(received), 1)
        self.assertNotIn(b"evil", received[0])

    def test_give_up_after(self):
        self.serve("-r", "rcpt")
        self.shop.write_config(extra='delivery = { retry = [ "1s" ]; give_up_after = "1m"; };',
                               campaigns=CAMPAIGN, smtp_port=self.sink.port)
        self.shop.sale("A-1", "ana@example.com", at=recent())
        clock = Clock(self.shop)
        self.daemon = Daemon(self.shop, clock=clock)
        self.daemon.wait_states({"deferred": 1})
        clock.set(120)      # two minutes on: past give_up_after
        self.daemon.wait_states({"failed": 1}, timeout=20)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertIn("gave up after", self.shop.scalar("SELECT last_error FROM messages"))

    def test_give_up_counts_from_the_due_time(self):
        """Issue 9 defect 5: a message due long ago gives up at its first
        temporary failure, not give_up_after after that."""
        self.serve("-r", "rcpt")
        self.run_until({"failed": 1}, at="2026-11-01")
        self.assertEqual(self.daemon.stop(), 0)
        self.assertRegex(self.shop.scalar("SELECT last_error FROM messages"),
                         r"^gave up after 1 attempt: 4\d\d ")

    def test_give_up_when_the_relay_refuses_the_sender(self):
        """Issue 9 defect 5: a 5xx to MAIL pauses the relay and spends no
        attempt, but give_up_after still holds."""
        self.serve("-f", "mail")
        self.run_until({"failed": 1}, at="2026-11-01")
        self.assertEqual(self.daemon.stop(), 0)
        self.assertIn("sending paused", self.daemon.text())
        self.assertRegex(self.shop.scalar("SELECT last_error FROM messages"),
                         r"^gave up after 0 attempts: 5\d\d .*MAIL")
        self.assertEqual(self.shop.scalar("SELECT attempts FROM messages"), 0)

    def test_give_up_when_the_relay_is_down(self):
        """Issue 9 defect 5: nothing listening is "relay unusable", and
        still bounded by give_up_after."""
        self.sink = self.keep(Sink(self.shop.dir))
        self.shop.write_config(extra=FAST_RETRY, campaigns=CAMPAIGN, smtp_port=self.sink.port)
        self.shop.sale("A-1", "ana@example.com", at=recent())
        clock = Clock(self.shop)
        self.daemon = Daemon(self.shop, clock=clock)
        self.daemon.wait_states({"deferred": 1})
        self.daemon.wait_log("sending paused")
        clock.set(7200)     # two hours on: past give_up_after (1h)
        # and past the relay's pause: a new sale wakes the daemon, which
        # tries both messages, and both give up.
        self.shop.sale("A-2", "bo@example.com", at=recent())
        self.daemon.wait_states({"failed": 2}, timeout=20)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertIn("gave up after 0 attempts", self.shop.scalar(
            "SELECT last_error FROM messages WHERE id = 1"))


if __name__ == "__main__":
    main()
