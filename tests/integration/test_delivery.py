"""aftersale run against a real SMTP server (aiosmtpd on 127.0.0.1): every
message arrives once, well-formed, to the right envelope, over STARTTLS
with AUTH when the relay asks for them."""

import base64
import email
import email.policy
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import AFTERSALE, Daemon, DaemonTest, main, recent  # noqa: E402
from relay import Relay  # noqa: E402
from smtpd import SmtpServer, make_ca  # noqa: E402

NOW_CAMPAIGNS = """\
  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; },
  { name = "review-request"; on = "sale"; after = "0s"; template = "review"; },
  { name = "refer-a-friend"; on = "first_sale"; after = "0s"; template = "refer"; },
  { name = "referral-thanks"; on = "referral_converted"; after = "0s";
    template = "referral-thanks"; }"""


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


class Delivery(DaemonTest):

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer().start())
        self.shop.write_config(campaigns=NOW_CAMPAIGNS, smtp_port=self.server.port)

    def test_every_message_arrives_once(self):
        self.shop.sale("A-1", "ana@example.com", name="Ana Lima", at="2026-11-01")
        self.shop.sale("A-2", "ana@example.com", name="Ana Lima", at="2026-11-03")
        code = self.shop.code_of("ana@example.com")
        self.shop.sale("B-1", "bo@example.com", name="Bo", at="2026-11-04", referral=code)
        self.daemon = Daemon(self.shop)
        # thank-you and review for 3 sales, refer for 2 first sales, 1 referral.
        received = self.server.wait_for(9)
        self.daemon.wait_states({"sent": 9})
        time.sleep(0.5)
        self.assertEqual(len(self.server.received()), 9)
        self.assertEqual(self.daemon.stop(), 0)
        envelopes = sorted((frm, tuple(to)) for frm, to, _ in received)
        self.assertEqual(envelopes.count(("hello@acme.example", ("ana@example.com",))), 6)
        self.assertEqual(envelopes.count(("hello@acme.example", ("bo@example.com",))), 3)
        for _, to, raw in received:
            msg = parse(raw)
            self.assertEqual(msg.defects, [])
            self.assertEqual(msg["To"].addresses[0].addr_spec, to[0])
            self.assertEqual(msg["From"].addresses[0].addr_spec, "hello@acme.example")
        subjects = sorted(str(parse(raw)["Subject"]) for _, _, raw in received)
        self.assertEqual(subjects.count("Your friend just joined Acme Coffee"), 1)
        ids = {parse(raw)["Message-ID"] for _, _, raw in received}
        self.assertEqual(len(ids), 9)

    def test_utf8_round_trip(self):
        self.shop.sale("A-1", "zoe@example.com", name="Zoë Ødegård", product="東京 blend",
                       at="2026-11-01")
        self.shop.write_config(campaigns='  { name = "review-request"; on = "sale"; '
                               'after = "0s"; template = "review"; }',
                               smtp_port=self.server.port)
        self.daemon = Daemon(self.shop)
        (_, _, raw), = self.server.wait_for(1)
        msg = parse(raw)
        self.assertEqual(msg["To"].addresses[0].display_name, "Zoë Ødegård")
        self.assertEqual(str(msg["Subject"]), "How is your 東京 blend?")
        self.assertIn("you bought 東京 blend from Acme Coffee", msg.get_content())
        self.assertEqual(self.daemon.stop(), 0)

    def test_sales_recorded_while_running_are_sent(self):
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("running")
        start = time.monotonic()
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.server.wait_for(3, timeout=10)
        # Planned and sent without waiting for any poll interval.
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertIn("planned 3 messages", self.daemon.text())

    @unittest.skipUnless(shutil.which("strace"), "strace is not installed")
    def test_a_sale_whose_commit_syncs_slowly_is_still_noticed(self):
        # Regression: the daemon looked 50 ms after the last WAL write; a
        # durable commit shows only after its fsync, and a slow disk made
        # the daemon miss the sale for good.  Then it looked again for
        # 4.25 s, and a busier disk still did.  strace makes each fsync of
        # `sale add` take 4.5 s.
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("running")
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "")
                   + ":detect_leaks=0")        # LeakSanitizer cannot run under ptrace
        subprocess.run(["strace", "-f", "-o", "/dev/null",
                        "-e", "inject=fsync,fdatasync:delay_enter=4500000",
                        AFTERSALE, "-c", self.shop.config, "sale", "add",
                        "--order", "A-1", "--email", "ana@example.com",
                        "--at", "2026-11-01"], check=True, capture_output=True, env=env)
        self.server.wait_for(3, timeout=10)
        self.assertEqual(self.daemon.stop(), 0)

    def test_log_line_per_outcome(self):
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 3})
        self.assertEqual(self.daemon.stop(), 0)
        log = self.daemon.text()
        self.assertRegex(log, r"message \d+ \(thank-you\) to ana@example.com: sent: 250 ")

    def test_rate_limit_spreads_messages(self):
        self.shop.write_config(campaigns=NOW_CAMPAIGNS.splitlines()[0].rstrip(","),
                               smtp_port=self.server.port, smtp='tls = "none"; rate = 4.0;')
        for i in range(16):
            self.shop.sale("R-%d" % i, "r%d@example.com" % i, at="2026-11-01")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 16})
        self.assertEqual(self.daemon.stop(), 0)
        # A bucket of 4, refilled at 4 a second: the last 12 start over 3 s.
        # sent_at is when the reply came, and a first connection under a
        # sanitizer can take most of a second: allow one second for it.
        first, last = self.shop.query("SELECT min(sent_at), max(sent_at) FROM messages")[0]
        self.assertGreaterEqual(last - first, 2)

    def test_min_gap_postpones_the_second_message(self):
        """The gap counts from the relay's answer: here it comes 2 s after
        the claim, which once left the others due 2 s early."""
        relay = Relay(late={1: 2, 2: 2}).start()
        self.addCleanup(relay.stop)
        self.shop.write_config(campaigns=NOW_CAMPAIGNS, smtp_port=relay.port,
                               extra='delivery = { min_gap = "20h"; };')
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.shop.sale("B-1", "bo@example.com", at="2026-11-01")
        self.daemon = Daemon(self.shop)
        # One message per customer now; the others wait 20 hours.
        self.daemon.wait_states({"sent": 2, "scheduled": 4})
        self.assertEqual(self.daemon.stop(), 0)
        for customer, in self.shop.query("SELECT DISTINCT customer_id FROM messages"):
            sent_at = self.shop.scalar("SELECT sent_at FROM messages WHERE customer_id = ?"
                                       " AND state = 'sent'", customer)
            for due, in self.shop.query("SELECT due_at FROM messages WHERE customer_id = ?"
                                        " AND state = 'scheduled'", customer):
                self.assertGreaterEqual(due, sent_at + 20 * 3600)

    def test_sigterm_exits_cleanly_when_idle(self):
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("running")
        self.daemon.signal(signal.SIGTERM)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertIn("stopped", self.daemon.text())


class Secure(DaemonTest):
    """STARTTLS with a certificate from a test CA, and AUTH."""

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer(tls_folder=self.shop.dir,
                                           users={"acme": "s3cret pass"}).start())
        self.shop.write_secret("password", "s3cret pass\n")
        self.smtp = ('tls = "starttls"; username = "acme"; password_file = "%s"; '
                     'ca_file = "%s";' % (self.shop.path("password"), self.server.ca))

    def configure(self, smtp):
        self.shop.write_config(campaigns=NOW_CAMPAIGNS.splitlines()[0].rstrip(","),
                               smtp_port=self.server.port, smtp=smtp)

    def test_starttls_and_auth(self):
        self.configure(self.smtp)
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.daemon = Daemon(self.shop)
        self.server.wait_for(1)
        self.daemon.wait_states({"sent": 1})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertNotIn("s3cret", self.daemon.text())

    def test_wrong_ca_defers_with_a_clear_tls_error(self):
        other = os.path.join(self.shop.dir, "other")
        os.mkdir(other)
        wrong_ca, _, _ = make_ca(other)
        self.configure(self.smtp.replace(self.server.ca, wrong_ca))
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("unusable")
        self.daemon.wait_states({"deferred": 1})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(self.server.received(), [])
        self.assertRegex(self.daemon.text(), r"(?i)certificate|SSL|TLS")
        self.assertEqual(self.shop.scalar("SELECT attempts FROM messages"), 0)

    def test_wrong_password_backs_off(self):
        self.shop.write_secret("password", "wrong\n")
        self.configure(self.smtp)
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("sending paused")
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(self.server.received(), [])
        self.assertNotIn("wrong", self.daemon.text().replace("wrong password", ""))
        self.assertEqual(self.shop.scalar("SELECT state FROM messages"), "deferred")

    def test_missing_password_file_refuses_to_start(self):
        self.configure(self.smtp.replace(self.shop.path("password"), self.shop.path("nope")))
        self.daemon = Daemon(self.shop)
        self.assertEqual(self.daemon.proc.wait(20), 78)
        self.assertIn("smtp.password_file: cannot read %s" % self.shop.path("nope"),
                      self.daemon.text())


class AuthSecrets(DaemonTest):
    """Issue 9 defect 2: a refused login leaves no piece of the credential
    anywhere: log, database (WAL included), queue --json, check-config."""

    PASSWORD = "hunter2"

    def pieces(self):
        """Every 4+ character piece of the password, of the PLAIN and LOGIN
        base64 lines, exact and upper/lower-cased."""
        secrets = [self.PASSWORD,
                   base64.b64encode(b"\0a\0" + self.PASSWORD.encode()).decode(),
                   base64.b64encode(self.PASSWORD.encode()).decode()]
        out = set()
        for s in secrets:
            for i in range(len(s)):
                for j in range(i + 4, len(s) + 1):
                    for v in (s[i:j], s[i:j].upper(), s[i:j].lower()):
                        out.add(v)
        return out

    def assertNoSecret(self, where, text):
        if isinstance(text, str):
            text = text.encode()
        for piece in self.pieces():
            self.assertNotIn(piece.encode(), text, "%r in %s" % (piece, where))

    def refused(self, mechanism):
        server = self.keep(SmtpServer(tls_folder=self.shop.dir, users={"a": "other"},
                                      auth_exclude=[mechanism]).start())
        self.shop.write_secret("password", self.PASSWORD + "\n")
        self.shop.write_config(campaigns=NOW_CAMPAIGNS.splitlines()[0].rstrip(","),
                               smtp_port=server.port,
                               smtp='tls = "starttls"; username = "a"; password_file = "%s"; '
                               'ca_file = "%s";' % (self.shop.path("password"), server.ca))
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("sending paused")
        self.daemon.wait_states({"deferred": 1})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(server.received(), [])
        # The failure is there, named by its stage, just not the secret.
        self.assertIn("after AUTH", self.daemon.text())
        self.assertNoSecret("the log", self.daemon.text())
        for path in glob.glob(self.shop.database + "*"):
            try:
                with open(path, "rb") as f:
                    self.assertNoSecret(path, f.read())
            except FileNotFoundError:
                pass    # the -wal or -shm, removed as its last reader closed
        self.assertNoSecret("queue --json", self.shop.ok("queue", "--json"))
        p = self.shop.run("check-config")
        self.assertNoSecret("check-config", p.stdout + p.stderr)

    def test_plain_refused_leaves_no_secret(self):
        self.refused("LOGIN")

    def test_login_refused_leaves_no_secret(self):
        self.refused("PLAIN")


class LateReplies(DaemonTest):
    """Issue 9 defect 4: timeouts per reply, and a connection whose
    transaction failed is closed, so a late reply to the end of DATA is
    never read as the reply to the next message's command."""

    def start(self, relay, smtp, messages=5):
        self.relay = relay.start()
        self.addCleanup(self.relay.stop)
        self.shop.write_config(campaigns=NOW_CAMPAIGNS.splitlines()[0].rstrip(","),
                               smtp_port=self.relay.port,
                               smtp='tls = "none"; max_connections = 1; ' + smtp,
                               extra='delivery = { retry = [ "1s" ]; };')
        for i in range(messages):
            self.shop.sale("L-%d" % i, "l%d@example.com" % i, at=recent())
        self.daemon = Daemon(self.shop)

    def ids(self):
        return [parse(raw)["Message-ID"] for _, raw in self.relay.received()]

    def test_slow_end_of_data_reply_is_waited_for(self):
        """The dot answered after 2 s, with smtp.timeout 1 s: the long
        end-of-DATA wait covers it, and nothing is sent twice."""
        self.start(Relay(late={1: 2}), 'timeout = "1s";')
        self.daemon.wait_states({"sent": 5}, timeout=40)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(len(self.ids()), 5)
        self.assertEqual(len(set(self.ids())), 5)
        self.assertEqual(self.shop.scalar("SELECT max(attempts) FROM messages"), 1)

    def test_end_of_data_timeout_closes_the_connection(self):
        """The dot answered 451 after 3 s, past smtp.data_timeout (2 s):
        that message is deferred, its connection closed, and the late 451
        never taken for another message's reply."""
        self.start(Relay(late={1: 3}, late_reply="451 4.3.0 try later"),
                   'timeout = "1s"; data_timeout = "2s";')
        self.daemon.wait_states({"sent": 5}, timeout=40)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(len(self.ids()), 5)
        self.assertEqual(len(set(self.ids())), 5)
        # The connection that timed out saw nothing after the dot but QUIT.
        first = self.relay.sessions[0]
        after = first[first.index("END") + 1:]
        self.assertIn(after, ([], ["QUIT"]), self.relay.sessions)
        self.assertGreaterEqual(len(self.relay.sessions), 2)
        self.assertIn("no reply in time after end of DATA", self.daemon.text())

    def test_retry_after_end_of_data_timeout_is_the_same_message(self):
        """The dot answered 250 after 3 s, past smtp.data_timeout (2 s):
        the relay took the message, which the daemon cannot know.  The
        retry is the same message, Message-ID and bytes, so that the
        receiver can tell the copy for what it is."""
        self.start(Relay(late={1: 3}), 'timeout = "1s"; data_timeout = "2s";', messages=1)
        self.daemon.wait_states({"sent": 1}, timeout=40)
        self.assertEqual(self.daemon.stop(), 0)
        deadline = time.monotonic() + 10
        while len(self.relay.received()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        first, again = [raw for _, raw in self.relay.received()]
        self.assertEqual(parse(first)["Message-ID"], parse(again)["Message-ID"])
        self.assertEqual(first, again)
        self.assertEqual(self.shop.scalar("SELECT attempts FROM messages"), 2)

    def test_slow_relay_is_not_a_dead_relay(self):
        """Every reply 0.6 s late, smtp.timeout 1 s: slow, not down; each
        transaction (about 4 s) takes longer than smtp.timeout and still
        succeeds."""
        self.start(Relay(line_delay=0.6), 'timeout = "1s";', messages=1)
        self.daemon.wait_states({"sent": 1}, timeout=60)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(len(set(self.ids())), 1)
        self.assertNotIn("unusable", self.daemon.text())


if __name__ == "__main__":
    main()
