"""Refunds: sale refund, POST /api/refunds and the platforms' refund events
(Shopify's refunds/create and orders/cancelled, WooCommerce's refunded
status, Stripe's charge.refunded with its running amount_refunded), end to
end: what is stored, what a full refund does to the messages that wait
(cancelled, but where the campaign says on_refund = "keep"), and stats
net of refunds."""

import json
import os
import sys
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Daemon, DaemonTest, ShopTest, main, recent  # noqa: E402
from sink import Sink  # noqa: E402
from test_webhooks import (Front, fixture, shopify_headers, stripe_headers,  # noqa: E402
                           woo_headers)

EX_USAGE, EX_DATAERR = 64, 65

# Messages that wait a while after the sale, so that a refund finds them.
WAITING = """\
  { name = "review-request"; on = "sale"; after = "7d"; template = "review"; },
  { name = "win-back"; on = "sale"; after = "60d"; template = "win-back";
    on_refund = "keep"; }"""


def ts(text):
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=timezone.utc).timestamp())


class RefundCommand(ShopTest):

    def refunds(self):
        return self.shop.query("SELECT s.order_id, r.amount, r.refund_id, r.reason, r.source,"
                               " r.refunded_at FROM refunds r"
                               " JOIN sales s ON s.id = r.sale_id ORDER BY r.id")

    def test_partial_full_and_the_same_id_again(self):
        self.shop.sale("A-1", "ana@example.com", amount="19.90", at="2026-10-01T10:00:00Z")
        out = self.shop.ok("sale", "refund", "--order", "A-1", "--amount", "5.00", "--id",
                           "R-1", "--reason", "a dented lid", "--at", "2026-10-03T09:00:00Z")
        self.assertEqual(out, 'order "A-1": 5.00 EUR refunded; 5.00 of 19.90 EUR refunded '
                              'in all\n')
        # The same refund id again: nothing new, and said so.
        out = self.shop.ok("sale", "refund", "--order", "A-1", "--amount", "5.00", "--id", "R-1")
        self.assertEqual(out, 'refund "R-1" of order "A-1" (5.00 EUR) is recorded already; '
                              'nothing new\n')
        # Without --amount: all that is left.
        out = self.shop.ok("sale", "refund", "--order", "A-1")
        self.assertTrue(out.startswith('order "A-1": 14.90 EUR refunded; it is refunded in '
                                       'full'), out)
        got = self.refunds()
        self.assertEqual([r[:5] for r in got], [("A-1", 500, "R-1", "a dented lid", "cli"),
                                                 ("A-1", 1490, None, "", "cli")])
        self.assertEqual(got[0][5], ts("2026-10-03T09:00:00Z"))
        self.assertLess(abs(got[1][5] - time.time()), 60)      # --at defaults to now
        self.assertEqual(self.shop.scalar("SELECT refunded FROM sales"), 1990)

    def test_bad_input_exits_65_storing_nothing(self):
        self.shop.sale("A-1", "ana@example.com", amount="19.90")
        self.shop.sale("J-1", "jo@example.com", amount="1250", currency="JPY")
        self.shop.ok("sale", "refund", "--order", "A-1", "--amount", "5.00", "--id", "R-1")
        cases = [
            (["--order", "A-2"], 'order "A-2" is not recorded; record its sale first'),
            (["--order", "A-1", "--amount", "15.00"],
             'order "A-1": a refund of 15.00 EUR is more than the 14.90 EUR left to refund'),
            (["--order", "A-1", "--amount", "1.999"],
             'amount "1.999" is not an amount of EUR with at most 2 decimals'),
            (["--order", "J-1", "--amount", "12.50"],
             'amount "12.50" is not an amount of JPY with at most 0 decimals'),
            (["--order", "A-1", "--amount", "-5.00"], 'amount "-5.00" is not an amount'),
            (["--order", "A-1", "--amount", "0.00"], 'amount "0.00" is zero'),
            (["--order", "A-1", "--amount", "1e3"], 'amount "1e3" is not an amount'),
            (["--order", "A-1", "--at", "next week"], 'refunded_at "next week" is not a time'),
            (["--order", "A-1", "--id", "R\u200b2"],
             "refund_id contains the invisible formatting character U+200B"),
            (["--order", "A-1", "--id", "R\x1b2"], "refund_id contains a line break or another"),
            (["--order", "A-1", "--reason", "dented\nlid"],
             "reason contains a line break or another control character"),
            (["--order", "A-1\u202e"], "order_id contains the invisible formatting character"),
            (["--order", "A-1", "--id", "x" * 129], "refund_id is longer than 128 bytes"),
            (["--order", "A-1", "--amount", "6.00", "--id", "R-1"],
             'refund "R-1" of order "A-1" is recorded already with 5.00 EUR, not 6.00'),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assertFails(EX_DATAERR, "sale", "refund", *args, stderr=message)
        self.shop.ok("sale", "refund", "--order", "A-1")
        self.assertFails(EX_DATAERR, "sale", "refund", "--order", "A-1",
                         stderr='order "A-1" is refunded in full already; nothing is left')
        self.assertFails(EX_USAGE, "sale", "refund", "--amount", "1.00",
                         stderr="--order is required")
        self.assertEqual(len(self.refunds()), 2)

    def test_stats_are_net_of_refunds(self):
        day = 86400
        t = ts("2026-10-01T10:00:00Z")
        iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))  # noqa: E731
        self.shop.sale("A-1", "ana@example.com", amount="10.00", at=iso(t))
        code = self.shop.code_of("ana@example.com")
        self.shop.sale("B-1", "bo@example.com", amount="7.00", currency="GBP",
                       at=iso(t + day), referral=code)
        # Messages went to both before their next sales: conversions.
        with self.shop.db() as db:
            db.execute("INSERT INTO messages (campaign, customer_id, sale_id, state, due_at,"
                       " created_at, updated_at, sent_at) SELECT 'review-request', customer_id,"
                       " id, 'sent', ?1, 0, 0, ?1 FROM sales", (t + 2 * day,))
        self.shop.sale("A-2", "ana@example.com", amount="20.00", at=iso(t + 3 * day))
        self.shop.sale("B-2", "bo@example.com", amount="5.00", currency="GBP",
                       at=iso(t + 3 * day))
        before = self.shop.json("stats", "--json")
        self.assertEqual((before["sales"]["orders"], before["sales"]["repeat_customers"]),
                         (4, 2))

        self.shop.ok("sale", "refund", "--order", "A-2")                     # in full
        self.shop.ok("sale", "refund", "--order", "B-2", "--amount", "2.00")  # in part
        stats = self.shop.json("stats", "--json")
        self.assertEqual(stats["sales"], {
            "orders": 3, "customers": 2, "repeat_customers": 1, "repeat_rate": 0.5,
            "revenue": {"EUR": "10.00", "GBP": "10.00"},
            "refunds": {"orders": 2, "full": 1, "amount": {"EUR": "20.00", "GBP": "2.00"}}})
        review = next(c for c in stats["campaigns"] if c["name"] == "review-request")
        self.assertEqual((review["conversions"], review["revenue"]), (1, {"GBP": "3.00"}))
        # No daemon planned it: the referral is pending, and counts.
        self.assertEqual(stats["referrals"], {"referred_customers": 1, "referred_orders": 2,
                                              "revenue": {"GBP": "10.00"}, "pending": 1,
                                              "review": 0, "confirmed": 0, "voided": 0})
        self.assertEqual(stats["top_referrers"][0]["revenue"], {"GBP": "10.00"})
        # A window counts the refunds of its own sales.
        window = self.shop.json("stats", "--json", "--since", iso(t + 2 * day))["sales"]
        self.assertEqual((window["orders"], window["revenue"], window["refunds"]),
                         (1, {"GBP": "3.00"}, {"orders": 2, "full": 1,
                                               "amount": {"EUR": "20.00", "GBP": "2.00"}}))
        text = self.shop.ok("stats")
        self.assertRegex(text, r"orders\s+3\n")
        self.assertRegex(text, r"refunded orders\s+2\s+\(1 in full\)\s+EUR 20.00, GBP 2.00")

        # The referred friend's first sale refunded in full: the referral
        # still stands (a later sale of theirs is a referred order); without
        # a hold (and without a daemon here) it is not voided.
        self.shop.ok("sale", "refund", "--order", "B-1")
        referrals = self.shop.json("stats", "--json")["referrals"]
        self.assertEqual(referrals, {"referred_customers": 1, "referred_orders": 1,
                                     "revenue": {"GBP": "3.00"}, "pending": 1, "review": 0,
                                     "confirmed": 0, "voided": 0})


class RefundEffects(DaemonTest):
    """What the daemon does with a full refund."""

    campaigns = '  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; },\n' \
        + WAITING

    def setUp(self):
        super().setUp()
        self.sink = self.keep(Sink(self.shop.dir).start())
        self.shop.write_config(campaigns=self.campaigns, smtp_port=self.sink.port)

    def states(self, order):
        return dict(self.shop.query(
            "SELECT m.campaign, m.state FROM messages m JOIN sales s ON s.id = m.sale_id"
            " WHERE s.order_id = ?", order))

    def test_a_full_refund_cancels_what_waits_but_what_is_kept(self):
        self.shop.sale("A-1", "ana@example.com", amount="19.90", at=recent())
        self.shop.sale("B-1", "bo@example.com", amount="9.00", at=recent())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 2, "scheduled": 4})
        # In part first: nothing changes.  Then B-1 in full, whose effect
        # shows after A-1's: refunds are taken in order.
        self.shop.ok("sale", "refund", "--order", "A-1", "--amount", "9.90")
        self.shop.ok("sale", "refund", "--order", "B-1")
        self.daemon.wait_states({"sent": 2, "scheduled": 3, "cancelled": 1})
        self.assertEqual(self.states("B-1"), {"thank-you": "sent", "review-request": "cancelled",
                                              "win-back": "scheduled"})
        self.assertEqual(self.states("A-1"), {"thank-you": "sent", "review-request": "scheduled",
                                              "win-back": "scheduled"})
        self.daemon.wait_log("cancelled 1 waiting message of sales refunded in full")
        # The rest of A-1, too.
        self.shop.ok("sale", "refund", "--order", "A-1")
        self.daemon.wait_states({"sent": 2, "scheduled": 2, "cancelled": 2})
        self.assertEqual(self.daemon.stop(), 0)

        # A sale refunded in full before the daemon saw it gets no message
        # but those its campaigns keep.
        self.shop.sale("C-1", "cy@example.com", amount="5.00", at=recent())
        self.shop.ok("sale", "refund", "--order", "C-1")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 2, "scheduled": 3, "cancelled": 2})
        self.assertEqual(self.states("C-1"), {"win-back": "scheduled"})
        self.assertEqual(self.shop.json("stats", "--json")["sales"]["orders"], 0)
        self.assertEqual(self.daemon.stop(), 0)


class OnRefundConfig(ShopTest):

    def test_a_bad_on_refund_has_its_line(self):
        self.shop.write_config(campaigns='  { name = "review-request"; on = "sale";\n'
                                         '    after = "7d"; template = "review";\n'
                                         '    on_refund = "forget"; }')
        with open(self.shop.config) as f:
            line = next(i for i, text in enumerate(f, 1) if "on_refund" in text)
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn("%s:%d: " % (self.shop.config, line), p.stderr)
        self.assertIn("on_refund", p.stderr)
        self.assertIn('"keep"', p.stderr)


class FrontRefunds(Front):
    """The API and each platform's refund events, end to end."""

    campaigns = WAITING

    def refunds(self):
        return self.shop.query("SELECT s.order_id, r.amount, r.refund_id, r.source FROM refunds r"
                               " JOIN sales s ON s.id = r.sale_id ORDER BY r.id")

    def test_api_refunds(self):
        self.start()
        sale = {"order_id": "A-1", "email": "ana@example.com", "amount": "19.90",
                "sold_at": recent()}
        self.assertEqual(self.post("/api/sales", json.dumps(sale).encode(), self.bearer())[0], 201)
        self.daemon.wait_states({"scheduled": 2})
        self.assertRefused(401, "/api/refunds", b'{"order_id": "A-1"}', self.bearer("wrong"))

        body = json.dumps({"order_id": "A-1", "amount": "5.00", "refund_id": "R-1",
                           "reason": "a dented lid", "refunded_at": "2026-10-03T09:00:00Z"})
        status, _, answer = self.post("/api/refunds", body.encode(), self.bearer())
        self.assertEqual(status, 201, answer)
        self.assertEqual(answer, {"result": "recorded", "refund": {
            "order_id": "A-1", "refund_id": "R-1", "amount": "5.00", "currency": "EUR",
            "refunded_at": "2026-10-03T09:00:00Z", "reason": "a dented lid",
            "refunded": "5.00", "full": False}})
        # Committed before the answer: another connection sees it at once.
        self.assertEqual(self.refunds(), [("A-1", 500, "R-1", "api")])
        status, _, answer = self.post("/api/refunds", body.encode(), self.bearer())
        self.assertEqual((status, answer["result"]), (200, "already recorded"), answer)

        for fields, status, field, message in (
                ({"amount": "6.00", "refund_id": "R-1"}, 409, "amount",
                 "recorded already with 5.00 EUR, not 6.00"),
                ({"order_id": "A-9"}, 422, "order_id", 'order "A-9" is not recorded'),
                ({"amount": "50.00"}, 422, "amount",
                 "a refund of 50.00 EUR is more than the 14.90 EUR left to refund"),
                ({"amount": 12.5}, 422, "amount", 'amount must be a string such as "12.34"'),
                ({"amount": "1.999"}, 422, "amount", "at most 2 decimals"),
                ({"refunded_at": "someday"}, 422, "refunded_at", "is not a time"),
                ({"refund_id": "R\u200b3"}, 422, "refund_id", "invisible formatting"),
                ({"reason": "a\r\nb"}, 422, "reason", "control character"),
                ({"colour": "red"}, 422, "colour", 'unknown field "colour"')):
            with self.subTest(fields=fields):
                refund = dict({"order_id": "A-1"}, **fields)
                answer = self.assertRefused(status, "/api/refunds",
                                            json.dumps(refund).encode(), self.bearer(), field)
                self.assertIn(message, answer["error"])
        self.assertRefused(400, "/api/refunds", b'{"order_id": ', self.bearer())

        status, _, answer = self.post("/api/refunds", b'{"order_id": "A-1"}', self.bearer())
        self.assertEqual((status, answer["refund"]["amount"], answer["refund"]["full"]),
                         (201, "14.90", True), answer)
        # The daemon sees its own front door's refunds too: win-back keeps.
        self.daemon.wait_states({"scheduled": 1, "cancelled": 1})
        self.assertEqual(self.shop.scalar("SELECT campaign FROM messages WHERE state = "
                                          "'scheduled'"), "win-back")
        stats = json.loads(self.get("/api/stats", self.bearer())[2])
        self.assertEqual(stats["sales"]["refunds"], {"orders": 1, "full": 1,
                                                     "amount": {"EUR": "19.90"}})
        self.assertEqual((stats["sales"]["orders"], stats["sales"]["revenue"]), (0, {}))
        self.assertEqual(stats["sales"], self.shop.json("stats", "--json")["sales"])
        self.assertNoSecrets()
        self.assertEqual(self.daemon.stop(), 0)

    def test_refunds_and_sales_arriving_together_share_commits(self):
        """Refund webhooks join the sales' group commit: 40 refunds and 40
        new orders from WooCommerce, from 12 clients at once, are all
        recorded, in fewer commits than requests."""
        self.start()
        paid = '"date_paid_gmt": "%s"' % recent().rstrip("Z")

        def order(number, status="processing"):
            return fixture("woocommerce_order.json", **{
                '"date_paid_gmt": "2017-03-22T19:28:08"': paid,
                '"number": "727"': '"number": "%d"' % number,
                '"status": "processing"': '"status": "%s"' % status})

        for i in range(40):
            body = order(1000 + i)
            self.assertEqual(self.post("/hooks/woocommerce", body,
                                       woo_headers(body, delivery="s%d" % i))[0], 200)
        commits = self.metric("aftersale_http_commits_total")
        work = [(order(1000 + i, "refunded"), "r%d" % i) for i in range(40)]
        work += [(order(2000 + i), "n%d" % i) for i in range(40)]
        answers, lock = [], threading.Lock()

        def client(part):
            for body, delivery in part:
                status, _, answer = self.post("/hooks/woocommerce", body, woo_headers(
                    body, topic="order.updated", delivery=delivery))
                with lock:
                    answers.append((status, answer["result"] if isinstance(answer, dict)
                                    else answer))

        threads = [threading.Thread(target=client, args=(work[i::12],)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(answers, [(200, "recorded")] * 80)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM refunds"), 40)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM sales"), 80)
        self.assertLess(self.metric("aftersale_http_commits_total") - commits, 80)
        self.assertEqual(self.daemon.stop(), 0)

    def shopify_refund(self, order_id=820982911946154508, refund_id=929361464,
                       transactions=None, line_items=None):
        """A refunds/create body as Shopify documents the Refund resource."""
        refund = {"id": refund_id, "order_id": order_id, "created_at": recent(),
                  "processed_at": recent(), "note": "wrong size", "restock": True,
                  "admin_graphql_api_id": "gid://shopify/Refund/%d" % refund_id,
                  "refund_line_items": line_items or [], "transactions": transactions or [],
                  "order_adjustments": []}
        return json.dumps(refund).encode()

    def transaction(self, amount, status="success", kind="refund"):
        return {"id": 1072844685, "order_id": 820982911946154508, "kind": kind,
                "gateway": "bogus", "status": status, "amount": amount, "currency": "USD",
                "created_at": recent(), "test": False, "parent_id": 801038806}

    def test_shopify_refunds_and_cancellation(self):
        self.start()
        order = fixture("shopify_order.json", **{
            '"processed_at": "2026-03-01T10:00:00-05:00"': '"processed_at": "%s"' % recent()})
        self.assertEqual(self.post("/hooks/shopify", order, shopify_headers(order))[0], 200)
        self.daemon.wait_states({"scheduled": 2})
        # Its numeric id is kept: refunds name the order by it.
        self.assertEqual(self.shop.query("SELECT source, platform_id FROM platform_orders"),
                         [("shopify", "820982911946154508")])

        # The refund transactions that did not fail, and not the others.
        body = self.shopify_refund(transactions=[
            self.transaction("100.00"), self.transaction("50.00", status="failure"),
            self.transaction("403.00", kind="sale")])
        status, _, answer = self.post("/hooks/shopify", body,
                                      shopify_headers(body, "refunds/create", "r-1"))
        self.assertEqual((status, answer["result"], answer["refund"]["amount"],
                          answer["refund"]["order_id"]), (200, "recorded", "100.00", "#9999"))
        # The same delivery, and the same refund in another delivery: once.
        status, _, answer = self.post("/hooks/shopify", body,
                                      shopify_headers(body, "refunds/create", "r-1"))
        self.assertEqual(answer["result"], "already recorded (a replayed delivery)")
        status, _, answer = self.post("/hooks/shopify", body,
                                      shopify_headers(body, "refunds/create", "r-2"))
        self.assertEqual((status, answer["result"]), (200, "already recorded"), answer)
        # Without transactions, what the line items come to with their tax.
        item = {"id": 1058498311, "quantity": 1, "line_item_id": 518995019,
                "restock_type": "return", "subtotal": 199.0, "total_tax": 3.98,
                "subtotal_set": {"shop_money": {"amount": "199.00", "currency_code": "USD"},
                                 "presentment_money": {"amount": "199.00",
                                                       "currency_code": "USD"}},
                "total_tax_set": {"shop_money": {"amount": "3.98", "currency_code": "USD"},
                                  "presentment_money": {"amount": "3.98",
                                                        "currency_code": "USD"}}}
        body = self.shopify_refund(refund_id=929361465, line_items=[item])
        status, _, answer = self.post("/hooks/shopify", body,
                                      shopify_headers(body, "refunds/create", "r-3"))
        self.assertEqual((status, answer["refund"]["amount"]), (200, "202.98"), answer)
        # An order we do not know: taken, logged, nothing stored.
        body = self.shopify_refund(order_id=1, transactions=[self.transaction("1.00")])
        answer = self.assertRefused(200, "/hooks/shopify", body,
                                    shopify_headers(body, "refunds/create", "r-4"))
        self.assertEqual(answer["result"], "ignored")
        self.daemon.wait_log("shopify: refund not recorded: no recorded order has shopify "
                             "id 1")

        # Cancelled: all that is left goes back, once.
        cancelled = fixture("shopify_order.json", **{
            '"cancelled_at": null': '"cancelled_at": "%s"' % recent(),
            '"financial_status": "paid"': '"financial_status": "refunded"'})
        status, _, answer = self.post("/hooks/shopify", cancelled,
                                      shopify_headers(cancelled, "orders/cancelled", "c-1"))
        self.assertEqual((status, answer["refund"]["amount"], answer["refund"]["full"]),
                         (200, "100.02", True), answer)
        status, _, answer = self.post("/hooks/shopify", cancelled,
                                      shopify_headers(cancelled, "orders/cancelled", "c-2"))
        self.assertEqual((status, answer["result"]), (200, "already recorded"), answer)
        self.assertEqual(self.refunds(), [("#9999", 10000, "929361464", "shopify"),
                                          ("#9999", 20298, "929361465", "shopify"),
                                          ("#9999", 10002, None, "shopify")])
        self.daemon.wait_states({"scheduled": 1, "cancelled": 1})
        self.assertNoSecrets()
        self.assertEqual(self.daemon.stop(), 0)

    def test_woocommerce_refunded(self):
        self.start()
        body = fixture("woocommerce_order.json", **{
            '"date_paid_gmt": "2017-03-22T19:28:08"':
            '"date_paid_gmt": "%s"' % recent().rstrip("Z")})
        self.assertEqual(self.post("/hooks/woocommerce", body, woo_headers(body))[0], 200)
        refunded = fixture("woocommerce_order.json", **{'"status": "processing"':
                                                         '"status": "refunded"'})
        headers = woo_headers(refunded, topic="order.updated", delivery="2")
        status, _, answer = self.post("/hooks/woocommerce", refunded, headers)
        self.assertEqual((status, answer["refund"]["amount"], answer["refund"]["full"],
                          answer["refund"]["refunded_at"]),
                         (200, "29.35", True, "2017-03-22T19:28:08Z"), answer)
        self.assertEqual(self.post("/hooks/woocommerce", refunded, headers)[2]["result"],
                         "already recorded (a replayed delivery)")
        # Another update of the refunded order adds nothing.
        status, _, answer = self.post("/hooks/woocommerce", refunded,
                                      woo_headers(refunded, topic="order.updated", delivery="3"))
        self.assertEqual((status, answer["result"]), (200, "already recorded"), answer)
        # Another shop's order, or one from before the webhook: logged, taken.
        other = fixture("woocommerce_order.json", **{'"status": "processing"':
                                                      '"status": "refunded"',
                                                      '"number": "727"': '"number": "728"'})
        answer = self.assertRefused(200, "/hooks/woocommerce", other,
                                    woo_headers(other, topic="order.updated", delivery="4"))
        self.assertIn('order "728" is not recorded', answer["why"])
        self.assertEqual(self.refunds(), [("727", 2935, None, "woocommerce")])
        self.daemon.wait_states({"cancelled": 1, "scheduled": 1})
        self.assertEqual(self.daemon.stop(), 0)

    def charge_refunded(self, event, amount_refunded, refund_ids, payment_intent=None):
        """A charge.refunded event as Stripe documents it: the charge, its
        amount_refunded all that was refunded so far, its refunds newest first."""
        charge = {"id": "ch_3MtwBwLkdIwHu7ix28a3tqPa", "object": "charge", "amount": 2000,
                  "amount_captured": 2000, "amount_refunded": amount_refunded,
                  "currency": "eur", "paid": True, "refunded": amount_refunded == 2000,
                  "payment_intent": payment_intent or "pi_3MtwBwLkdIwHu7ix28a3tqPa",
                  "refunds": {"object": "list", "has_more": False,
                              "data": [{"id": r, "object": "refund", "reason":
                                        "requested_by_customer"} for r in refund_ids]}}
        return json.dumps({"id": event, "object": "event", "api_version": "2024-06-20",
                           "created": int(time.time()) - 5, "type": "charge.refunded",
                           "data": {"object": charge}}).encode()

    def test_stripe_running_amount_refunded(self):
        self.start()
        body = fixture("stripe_checkout_completed.json",
                       **{'"created": 1772380800': '"created": %d' % (time.time() - 10)})
        self.assertEqual(self.post("/hooks/stripe", body, stripe_headers(body))[0], 200)
        first = self.charge_refunded("evt_r1", 500, ["re_1"])
        status, _, answer = self.post("/hooks/stripe", first, stripe_headers(first))
        self.assertEqual((status, answer["refund"]["amount"]), (200, "5.00"), answer)
        self.assertEqual(self.post("/hooks/stripe", first, stripe_headers(first))[2]["result"],
                         "already recorded (a replayed delivery)")
        # 12.00 refunded in all now: the second refund is the difference.
        second = self.charge_refunded("evt_r2", 1200, ["re_2", "re_1"])
        status, _, answer = self.post("/hooks/stripe", second, stripe_headers(second))
        self.assertEqual((status, answer["refund"]["amount"], answer["refund"]["refunded"]),
                         (200, "7.00", "12.00"), answer)
        # An event about the first refund arriving late adds nothing.
        late = self.charge_refunded("evt_r0", 500, [])
        status, _, answer = self.post("/hooks/stripe", late, stripe_headers(late))
        self.assertEqual((status, answer["result"]), (200, "already recorded"), answer)
        # A PaymentIntent we never saw: logged, taken, nothing stored.
        unknown = self.charge_refunded("evt_r3", 500, ["re_9"], payment_intent="pi_unknown")
        answer = self.assertRefused(200, "/hooks/stripe", unknown, stripe_headers(unknown))
        self.assertIn('order "pi_unknown" is not recorded', answer["why"])
        self.assertEqual(self.refunds(), [("pi_3MtwBwLkdIwHu7ix28a3tqPa", 500, "re_1", "stripe"),
                                          ("pi_3MtwBwLkdIwHu7ix28a3tqPa", 700, "re_2", "stripe")])
        self.assertEqual(self.shop.scalar("SELECT refunded FROM sales"), 1200)
        sales = self.shop.json("stats", "--json")["sales"]
        self.assertEqual((sales["revenue"], sales["refunds"]),
                         ({"EUR": "8.00"}, {"orders": 1, "full": 0, "amount": {"EUR": "12.00"}}))
        self.assertNoSecrets()
        self.assertEqual(self.daemon.stop(), 0)


if __name__ == "__main__":
    main()
