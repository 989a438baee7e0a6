"""Reward coupons (issue 11): coupon import and coupon list, a campaign
that gives each message its own code from a pool, an empty pool that
defers with the reason and one warning, a refill that sends, exclusivity
over 8 connections across a SIGKILL, and redemption by a later sale."""

import collections
import email
import email.utils
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import DaemonTest, Daemon, ShopTest, main  # noqa: E402
from sink import Sink  # noqa: E402

REWARD = ('  { name = "reward"; on = "sale"; after = "0s"; template = "reward";'
          ' coupon = "thanks"; }')
TEMPLATE = ("Subject: A gift for you\n\n"
            "Hello {{customer.first_name|there}},\n\n"
            "Your code: <{{coupon.code}}>, valid until {{coupon.expires|forever}}.\n")


def pools(shop):
    return {p["pool"]: p for p in shop.json("coupon", "list", "--json")}


def code_in(raw):
    """The code and the addressee of a received message."""
    msg = email.message_from_bytes(raw)
    body = msg.get_payload(decode=True).decode()
    return msg["To"], re.search(r"Your code: <([^>]*)>", body).group(1)


class Import(ShopTest):

    def test_file_and_stdin_then_list(self):
        path = self.shop.write("codes.csv", "code,expires_at\r\nGIFT-1,2099-01-31\r\n"
                               "GIFT-2,\r\n\r\n GIFT-3 ,2099-02-01T10:00:00Z\r\n")
        out = self.shop.ok("coupon", "import", "--pool", "thanks", path)
        self.assertIn("3 codes stored", out)
        out = self.shop.ok("coupon", "import", "--pool", "thanks", "-",
                           input="GIFT-4\nGIFT-5\ngift-1\n")
        self.assertIn("2 codes stored, 1 already there skipped", out)
        # The same codes in another pool are that pool's.
        self.shop.ok("coupon", "import", "--pool", "friends", input="GIFT-1\n")
        self.assertEqual(pools(self.shop), {
            "friends": {"pool": "friends", "total": 1, "issued": 0, "remaining": 1,
                        "redeemed": 0, "expired": 0},
            "thanks": {"pool": "thanks", "total": 5, "issued": 0, "remaining": 5,
                       "redeemed": 0, "expired": 0}})
        self.assertEqual(self.shop.query("SELECT code, expires_at IS NULL FROM coupons"
                                         " WHERE pool = 'thanks' ORDER BY id"),
                         [("GIFT-1", 0), ("GIFT-2", 1), ("GIFT-3", 0), ("GIFT-4", 1),
                          ("GIFT-5", 1)])
        text = self.shop.ok("coupon", "list")
        self.assertRegex(text, r"thanks\s+5\s+0\s+5\s+0\s+0")

    def test_bad_lines_exit_65_with_line_numbers_and_store_nothing(self):
        self.shop.ok("coupon", "import", "--pool", "thanks", input="KEEP-1\n")
        data = ("OK-1\n"
                "BAD\x01CODE\n"
                "%s\n"
                "OK-2,not a time\n"
                "OK-3,2099-01-01,extra\n"
                "OK-1\n"
                "ZERO\u200bWIDTH\n"
                ",2099-01-01\n" % ("X" * 65))
        p = self.assertFails(65, "coupon", "import", "--pool", "thanks", "-", input=data)
        for line in range(2, 9):
            self.assertIn("<stdin>:%d:" % line, p.stderr)
        self.assertNotIn("<stdin>:1:", p.stderr)
        self.assertIn("in this file twice", p.stderr)
        self.assertIn("7 bad lines; nothing was stored", p.stderr)
        self.assertEqual(self.shop.query("SELECT code FROM coupons"), [("KEEP-1",)])

    def test_usage(self):
        p = self.shop.run("coupon", "import", "codes.txt")
        self.assertEqual(p.returncode, 64)
        self.assertIn("--pool is required", p.stderr)
        p = self.shop.run("coupon", "import", "--pool", "no spaces", input="A\n")
        self.assertEqual(p.returncode, 64)
        p = self.shop.run("coupon", "import", "--pool", "thanks", self.shop.path("none.txt"))
        self.assertEqual(p.returncode, 66)

    def test_config(self):
        # {{coupon.*}} needs a pool; a pool name is checked.
        self.shop.write("templates/reward.txt", TEMPLATE)
        self.shop.write_config(campaigns=REWARD.replace(' coupon = "thanks";', ""))
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, 78)
        self.assertIn("reward.txt:5: variable {{coupon.code}} needs a coupon", p.stderr)
        self.shop.write_config(campaigns=REWARD.replace('"thanks"', '"no way"'))
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, 78)
        self.assertIn('coupon "no way" must be a pool', p.stderr)
        # Without a database, nothing to say; with one, an empty pool is said.
        self.shop.write_config(campaigns=REWARD)
        p = self.shop.run("check-config")
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.shop.ok("migrate")
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, 0)
        with open(self.shop.config) as f:
            line = [n for n, text in enumerate(f, 1) if '"reward"' in text][0]
        self.assertIn('aftersale.conf:%d: campaign "reward": coupon pool "thanks" has no '
                      'free code' % line, p.stderr)
        self.assertEqual(pools(self.shop)["thanks"]["remaining"], 0)
        self.shop.ok("coupon", "import", "--pool", "thanks", input="A1\n")
        self.assertEqual(self.shop.run("check-config").stderr, "")
        # A preview issues nothing.
        self.shop.sale("A-1", "ana@example.com")
        out = self.shop.ok("preview", "--campaign", "reward", "--order", "A-1")
        self.assertIn("Your code: <XXXXXXXX>", out)
        self.assertEqual(pools(self.shop)["thanks"]["issued"], 0)


class Campaign(DaemonTest):

    def setUp(self):
        super().setUp()
        self.sink = self.keep(Sink(self.shop.dir).start())
        self.shop.write("templates/reward.txt", TEMPLATE)

    def configure(self, smtp='tls = "none";'):
        self.shop.write_config(campaigns=REWARD, smtp_port=self.sink.port, smtp=smtp,
                               extra='delivery = { retry = [ "1s" ]; };')

    def codes_received(self):
        return [code_in(raw) for raw in self.sink.received()]

    def test_distinct_codes_empty_pool_defers_once_refill_sends(self):
        self.configure()
        self.shop.ok("coupon", "import", "--pool", "thanks",
                     input="C-1,2099-03-01\nC-2\nC-3\n")
        for i in range(5):
            self.shop.sale("A-%d" % i, "c%d@example.com" % i, at="2026-11-01")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 3, "deferred": 2})
        got = self.codes_received()
        self.assertEqual(sorted(code for _, code in got), ["C-1", "C-2", "C-3"])
        self.assertEqual(len({to for to, _ in got}), 3)
        self.assertIn("valid until 2099-03-01.", b"".join(self.sink.received()).decode())
        self.assertIn("valid until forever.", b"".join(self.sink.received()).decode())
        # The database holds the same: each code's message went to its holder.
        issued = self.shop.query("SELECT k.code, c.email FROM coupons k"
                                 " JOIN messages m ON m.id = k.message_id"
                                 " JOIN customers c ON c.id = m.customer_id")
        self.assertEqual(sorted(issued), sorted((code, email.utils.parseaddr(to)[1])
                                                for to, code in got))
        errors = self.shop.query("SELECT last_error, attempts FROM messages"
                                 " WHERE state = 'deferred'")
        for error, attempts in errors:
            self.assertIn('coupon pool "thanks" is empty', error)
            self.assertEqual(attempts, 0)
        self.assertEqual(pools(self.shop)["thanks"]["remaining"], 0)
        self.assertEqual(pools(self.shop)["thanks"]["issued"], 3)
        time.sleep(2.5)         # a few retries of the waiting messages
        self.assertEqual(self.daemon.text().count('coupon pool "thanks" is empty'), 1)
        self.assertIn('coupon pool "thanks" is running low: 3 of 3', self.daemon.text())

        self.shop.ok("coupon", "import", "--pool", "thanks", input="C-4\nC-5\nC-6\n")
        self.daemon.wait_states({"sent": 5})
        self.daemon.wait_log("free again")
        self.assertEqual(self.daemon.stop(), 0)
        codes = [code for _, code in self.codes_received()]
        self.assertEqual(sorted(codes), ["C-1", "C-2", "C-3", "C-4", "C-5"])
        self.assertEqual(pools(self.shop)["thanks"],
                         {"pool": "thanks", "total": 6, "issued": 5, "remaining": 1,
                          "redeemed": 0, "expired": 0})

    def test_redemption_by_a_later_sale(self):
        self.configure()
        self.shop.ok("coupon", "import", "--pool", "thanks", input="R-1\nR-2\n")
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 1})
        self.assertEqual(self.daemon.stop(), 0)
        (_, code), = self.codes_received()
        # Codes compare without case, as the shops' discount codes do; the
        # code is no referral, and no warning.
        p = self.shop.run("sale", "add", "--order", "B-1", "--email", "bo@example.com",
                          "--referral", code.lower(), "--at", "2026-11-03")
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM referrals"), 0)
        self.assertEqual(self.shop.scalar("SELECT s.order_id FROM coupons k"
                                          " JOIN sales s ON s.id = k.sale_id"), "B-1")
        # A code never issued is no redemption: an unknown referral code.
        p = self.shop.run("sale", "add", "--order", "B-2", "--email", "cy@example.com",
                          "--referral", "R-2" if code == "R-1" else "R-1")
        self.assertIn("referral code", p.stderr)
        self.assertEqual(pools(self.shop)["thanks"]["redeemed"], 1)
        stats = self.shop.json("stats", "--json")
        self.assertEqual(stats["coupons"], [{"pool": "thanks", "issued": 1, "redeemed": 1}])
        self.assertEqual(stats["referrals"]["referred_customers"], 0)
        self.assertEqual(self.shop.json("stats", "--json", "--since", "2026-11-02",
                                        "--until", "2026-11-04")["coupons"],
                         [{"pool": "thanks", "issued": 0, "redeemed": 1}])
        self.assertRegex(self.shop.ok("stats"), r"Coupons\n\s+pool\s+issued\s+redeemed\n"
                                                 r"\s+thanks\s+1\s+1\n")

    def test_exclusive_under_load_across_sigkill(self):
        self.configure(smtp='tls = "none"; max_connections = 8;')
        total, spare = 2000, 150
        self.shop.ok("coupon", "import", "--pool", "thanks",
                     input="".join("Z%05d\n" % i for i in range(total + spare)))
        rows = "".join("K-%d,c%d@example.com,2026-11-01\n" % (i, i) for i in range(total))
        self.shop.ok("sale", "import", self.shop.write("s.csv", "order_id,email,sold_at\n" + rows))
        self.daemon = Daemon(self.shop)
        deadline = time.monotonic() + 60
        while self.shop.scalar("SELECT count(*) FROM messages WHERE state = 'sent'") < 300:
            self.assertLess(time.monotonic(), deadline, "never 300 sent")
            time.sleep(0.02)
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait()
        self.assertLess(self.shop.scalar("SELECT count(*) FROM messages WHERE state = 'sent'"),
                        total, "the kill came too late to test anything")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": total}, timeout=120)
        self.assertEqual(self.daemon.stop(), 0)

        # What arrived: every recipient one code, no code to two recipients;
        # a message sent again after the kill carries the same code.
        holder = {}
        by_recipient = collections.defaultdict(set)
        for to, code in self.codes_received():
            self.assertEqual(holder.setdefault(code, to), to, "code %s given twice" % code)
            by_recipient[to].add(code)
        self.assertEqual(len(by_recipient), total)
        self.assertTrue(all(len(c) == 1 for c in by_recipient.values()))
        # The database: each message one code, the one it carried; the rest free.
        issued = dict(self.shop.query("SELECT c.email, k.code FROM coupons k"
                                      " JOIN messages m ON m.id = k.message_id"
                                      " JOIN customers c ON c.id = m.customer_id"))
        self.assertEqual(len(issued), total)
        self.assertEqual({email.utils.parseaddr(to)[1]: codes.pop()
                          for to, codes in by_recipient.items()}, issued)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM coupons"
                                          " WHERE message_id IS NULL"), spare)
        self.assertEqual(pools(self.shop)["thanks"]["remaining"], spare)
        # Bodies stored are the bytes sent: each names its own code.
        for body, code in self.shop.query("SELECT b.body, k.code FROM message_bodies b"
                                          " JOIN coupons k ON k.message_id = b.message_id"
                                          " LIMIT 50"):
            self.assertIn(("<%s>" % code).encode(), bytes(body))


if __name__ == "__main__":
    main()
