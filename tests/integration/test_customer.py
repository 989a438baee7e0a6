"""customer EMAIL [--json]: one customer's sales, referrals, consent and
messages, in DESIGN's JSON shape and as text."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ShopTest, main  # noqa: E402

EX_DATAERR = 65


class Customer(ShopTest):

    def setUp(self):
        super().setUp()
        self.shop.sale("A-2", "ana@example.com", name="Ana Lima", amount="5.00",
                       at="2026-11-10T09:00:00Z")
        self.shop.sale("A-1", "ana@example.com", amount="19.90",
                       at="2026-03-01T10:00:00Z", sku="COFFEE-KE", product="Kenya beans")
        self.code = self.shop.code_of("ana@example.com")
        self.shop.sale("B-1", "bo@example.com", at="2026-11-12", referral=self.code)

    def test_json(self):
        c = self.shop.json("customer", "ANA@example.com", "--json")
        self.assertEqual(c, {
            "email": "ana@example.com", "name": "Ana Lima", "referral_code": self.code,
            "referred_by": None, "referral_state": None, "referred": ["bo@example.com"],
            "unsubscribed": False,
            "sales": [
                {"order_id": "A-1", "sold_at": "2026-03-01T10:00:00Z", "amount": "19.90",
                 "currency": "EUR", "repeat": False,
                 "items": [{"sku": "COFFEE-KE", "product": "Kenya beans", "quantity": 1,
                            "amount": "19.90"}]},
                # A sale without a product is still its own one item.
                {"order_id": "A-2", "sold_at": "2026-11-10T09:00:00Z", "amount": "5.00",
                 "currency": "EUR", "repeat": True,
                 "items": [{"sku": "", "product": "", "quantity": 1, "amount": "5.00"}]}],
            # One interval between two orders predicts nothing yet.
            "next_order_expected": None,
            "messages": []})
        bo = self.shop.json("customer", "bo@example.com", "--json")
        self.assertEqual(bo["referred_by"], "ana@example.com")
        # No daemon has planned it: no hold is over yet, it is pending.
        self.assertEqual(bo["referral_state"], "pending")
        self.assertEqual(bo["referred"], [])

    def test_messages_and_consent(self):
        with self.shop.db() as db:
            db.execute("INSERT INTO messages (campaign, customer_id, sale_id, state, due_at,"
                       " created_at, updated_at, sent_at) SELECT 'thank-you', customer_id, id,"
                       " 'sent', 1772359200, 0, 0, 1772359203 FROM sales WHERE order_id = 'A-1'")
        self.shop.ok("unsubscribe", "ana@example.com")
        c = self.shop.json("customer", "ana@example.com", "--json")
        self.assertTrue(c["unsubscribed"])
        self.assertEqual(len(c["messages"]), 1)
        m = c["messages"][0]
        self.assertEqual((m["campaign"], m["state"], m["due_at"], m["sent_at"]),
                         ("thank-you", "sent", "2026-03-01T10:00:00Z", "2026-03-01T10:00:03Z"))

    def test_text(self):
        out = self.shop.ok("customer", "ana@example.com")
        self.assertIn("ana@example.com  Ana Lima", out)
        self.assertIn("referral code %s, referred by -, subscribed" % self.code, out)
        self.assertIn("referred: bo@example.com", out)
        self.assertRegex(out, r"A-1\s+2026-03-01T10:00:00Z\s+19.90 EUR  first\n"
                              r"\s+1 x COFFEE-KE\s+Kenya beans\s+19.90\n")
        self.assertRegex(out, r"A-2\s+2026-11-10T09:00:00Z\s+5.00 EUR  repeat")

    def test_unknown(self):
        self.assertFails(EX_DATAERR, "customer", "nobody@example.com",
                         stderr='no customer has the address "nobody@example.com"')


if __name__ == "__main__":
    main()
