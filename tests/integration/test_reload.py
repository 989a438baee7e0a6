"""SIGHUP and what it may not change under running threads."""

import email
import email.policy
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Daemon, DaemonTest, main  # noqa: E402
from smtpd import SmtpServer  # noqa: E402

NOW = '  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; }'


class Reload(DaemonTest):

    def test_timezone_change_waits_for_restart(self):
        # Issue 9 defect 12: setenv("TZ") on SIGHUP raced with libcurl's
        # threads reading the environment.  The zone now stays until restart.
        server = self.keep(SmtpServer().start())
        self.shop.write("templates/thank-you.txt", "Subject: Order {{sale.order_id}}\n\n"
                        "Sold on {{sale.date}}.\n{{unsubscribe.link}}\n")
        self.shop.write_config(campaigns=NOW, smtp_port=server.port)
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("running:")
        with open(self.shop.config) as f:
            text = f.read()
        self.shop.write("aftersale.conf", text.replace('"Europe/London"',
                                                       '"Pacific/Kiritimati"'))
        self.daemon.signal(signal.SIGHUP)
        self.daemon.wait_log("reloaded")
        self.assertIn('timezone "Pacific/Kiritimati": timezone changes take effect at '
                      'restart; "Europe/London" stays until then', self.daemon.text())
        # 23:30 UTC is still 1 November in London, already the 2nd at UTC+14.
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01T23:30:00Z")
        (_, _, raw), = server.wait_for(1)
        body = email.message_from_bytes(raw, policy=email.policy.default) \
            .get_body(("plain",)).get_content()
        self.assertIn("Sold on 2026-11-01.", body)
        self.assertEqual(self.daemon.stop(), 0)


if __name__ == "__main__":
    main()
