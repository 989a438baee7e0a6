"""A message's bytes are built once, at its first claim, and stored: a retry
sends the same bytes with the same Message-ID, and a reload of the
templates changes only the messages not built yet (DESIGN, "Messages:
stable, signed, listed")."""

import email
import email.policy
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import THANK_YOU_NOW, Daemon, DaemonTest, main, recent  # noqa: E402
from smtpd import SmtpServer  # noqa: E402


def header(raw, name):
    return email.message_from_bytes(raw, policy=email.policy.default)[name]


class StoredBytes(DaemonTest):

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer().start())
        # The first end of DATA is answered 451: the message is deferred.
        self.server.handler.data_once.append("451 4.3.0 try again later")
        self.shop.write_config(campaigns=THANK_YOU_NOW, smtp_port=self.server.port)
        self.shop.sale("A-1", "ana@example.com", name="Ana Lima", at=recent())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"deferred": 1})
        self.first = self.server.handler.refused[0]

    def retry_now(self):
        # The operator's retry makes it due now: no waiting on the schedule.
        self.shop.ok("retry", "1")
        return self.server.wait_for(1)[0][2]

    def test_retry_sends_the_same_bytes(self):
        again = self.retry_now()
        self.daemon.wait_states({"sent": 1})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(header(again, "Message-ID"), header(self.first, "Message-ID"))
        self.assertEqual(again, self.first)
        self.assertEqual(self.shop.scalar("SELECT body FROM message_bodies"), self.first)

    def test_reload_leaves_built_messages_alone(self):
        with open(self.shop.path("templates/thank-you.txt"), "w") as f:
            f.write("Subject: Reworded thanks\n\nA new text, {{customer.name}}.\n")
        self.daemon.signal(signal.SIGHUP)
        self.daemon.wait_log("reloaded")
        again = self.retry_now()
        self.assertEqual(again, self.first)
        # A message built after the reload has the new text.
        self.shop.sale("B-1", "bo@example.com", name="Bo", at=recent())
        fresh = self.server.wait_for(2)[1][2]
        self.daemon.wait_states({"sent": 2})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(str(header(fresh, "Subject")), "Reworded thanks")
        self.assertNotEqual(str(header(again, "Subject")), "Reworded thanks")


if __name__ == "__main__":
    main()
