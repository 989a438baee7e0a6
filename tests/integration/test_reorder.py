"""Reorder campaigns (on = "reorder"; before = ...): a message due before
the buyer's expected next order, from their own median interval between
orders (two intervals or more), else their SKU's median repeat interval
across customers (20 or more seen), else none; re-planned by a new sale,
shown by customer --json, and checked against the orders that came."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Daemon, DaemonTest, ShopTest, main  # noqa: E402

DAY = 86400
EX_CONFIG = 78
REORDER = '  { name = "reorder"; on = "reorder"; before = "3d"; template = "thank-you"; }'


def at(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Reorder(DaemonTest):

    def setUp(self):
        super().setUp()
        # Whole seconds, a minute ago: the days below are exact.
        self.now = int(time.time()) - 60
        self.shop.write_config(campaigns=REORDER)

    def reorder_messages(self, email):
        return self.shop.query(
            "SELECT s.order_id, m.state, m.due_at, m.expected_at FROM messages m"
            " JOIN sales s ON s.id = m.sale_id JOIN customers c ON c.id = m.customer_id"
            " WHERE m.campaign = 'reorder' AND lower(c.email) = ? ORDER BY m.id", email)

    def wait_planned(self, count):
        deadline = time.monotonic() + 20
        while self.shop.scalar("SELECT count(*) FROM messages") < count:
            self.assertLess(time.monotonic(), deadline, self.daemon.text())
            time.sleep(0.05)

    def test_own_interval_then_sku_median_then_nothing(self):
        now = self.now
        # Ana: every 30 days, her SKU bought by nobody else.
        for i, days in enumerate((65, 35, 5)):
            self.shop.sale("A-%d" % i, "ana@example.com", sku="KIT", at=at(now - days * DAY))
        # 21 customers buy BEANS twice, 20 days apart: the SKU's median.
        for i in range(21):
            for j, days in enumerate((25, 5)):
                self.shop.sale("B-%d-%d" % (i, j), "b%d@example.com" % i, sku="BEANS",
                               at=at(now - days * DAY))
        # Zoe buys BEANS once; Yan buys what nobody bought twice.
        self.shop.sale("Z-1", "zoe@example.com", sku="BEANS", at=at(now - 2 * DAY))
        self.shop.sale("Y-1", "yan@example.com", sku="RARE", at=at(now - 2 * DAY))

        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("reorder: 1 SKU with enough repeat purchases")
        self.wait_planned(1 + 21 * 2 + 1)
        # Ana's own rhythm (gaps 30, 30): her third sale plans for in 25
        # days, due 3 days before; her first two had too few intervals.
        self.assertEqual(self.reorder_messages("ana@example.com"),
                         [("A-2", "scheduled", now + 22 * DAY, now + 25 * DAY)])
        # Zoe has no rhythm of her own: the SKU's median of 20 days.
        self.assertEqual(self.reorder_messages("zoe@example.com"),
                         [("Z-1", "scheduled", now + 15 * DAY, now + 18 * DAY)])
        # Each BEANS buyer's second sale replaced the first's message.
        self.assertEqual([m[:2] for m in self.reorder_messages("b0@example.com")],
                         [("B-0-0", "cancelled"), ("B-0-1", "scheduled")])
        # Too little to go on: nothing for Yan.
        self.assertEqual(self.reorder_messages("yan@example.com"), [])
        customer = self.shop.json("customer", "ana@example.com", "--json")
        self.assertEqual(customer["next_order_expected"], at(now + 25 * DAY))
        self.assertIsNone(self.shop.json("customer", "yan@example.com",
                                         "--json")["next_order_expected"])

        # Ana orders again today, 25 days before she was expected: the
        # waiting message is cancelled, a new one planned (gaps 30, 30, 5:
        # median 30), and stats compare the prediction with the order.
        self.shop.sale("A-3", "ana@example.com", sku="KIT", at=at(now))
        deadline = time.monotonic() + 20
        while len(self.reorder_messages("ana@example.com")) < 2:
            self.assertLess(time.monotonic(), deadline, self.daemon.text())
            time.sleep(0.05)
        self.assertEqual(self.reorder_messages("ana@example.com"),
                         [("A-2", "cancelled", now + 22 * DAY, now + 25 * DAY),
                          ("A-3", "scheduled", now + 27 * DAY, now + 30 * DAY)])
        # Zoe buys something nobody predicts: no new reminder, but the
        # one about her beans goes, since she has ordered again.
        self.shop.sale("Z-2", "zoe@example.com", sku="RARE", at=at(now))
        deadline = time.monotonic() + 20
        while self.reorder_messages("zoe@example.com")[0][1] != "cancelled":
            self.assertLess(time.monotonic(), deadline, self.daemon.text())
            time.sleep(0.05)
        self.assertEqual(self.reorder_messages("zoe@example.com"),
                         [("Z-1", "cancelled", now + 15 * DAY, now + 18 * DAY)])
        stats = self.shop.json("stats", "--json")
        entry = [c for c in stats["campaigns"] if c["name"] == "reorder"][0]
        # B-x-0's predictions (day -5) met B-x-1 at day -5: error 0; Ana's
        # was 25 days off, Zoe's 18.  The median of 21 zeros and those is 0.
        self.assertEqual((entry["predictions_checked"], entry["prediction_error_days"]),
                         (23, 0.0))
        self.assertIn("reorder predictions: 23 checked, median error 0.0 days",
                      self.shop.ok("stats"))
        self.assertEqual(self.daemon.stop(), 0)


class ReorderConfig(ShopTest):

    def test_before_and_after_each_in_their_place(self):
        for campaign, message in (
                ('{ name = "r"; on = "reorder"; after = "1d"; before = "3d"; template = "thank-you"; }',
                 '"after" does not apply to a reorder campaign'),
                ('{ name = "r"; on = "reorder"; template = "thank-you"; }',
                 'missing required key "before"'),
                ('{ name = "r"; on = "sale"; after = "1d"; before = "3d"; template = "thank-you"; }',
                 '"before" is for on = "reorder"'),
                ('{ name = "r"; on = "sale"; template = "thank-you"; }',
                 'missing required key "after"')):
            with self.subTest(campaign=campaign):
                self.shop.write_config(campaigns="  " + campaign)
                result = self.shop.run("check-config")
                self.assertEqual(result.returncode, EX_CONFIG, result.stderr)
                self.assertIn(message, result.stderr)
                self.assertRegex(result.stderr, r"aftersale\.conf:\d+: campaign \"r\": ")


if __name__ == "__main__":
    main()
