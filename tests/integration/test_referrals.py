"""Referral codes and the rules for taking them: new customers only, once,
never one's own, and an unknown code never blocks a sale."""

import contextlib
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ShopTest, main  # noqa: E402


class Referrals(ShopTest):

    def setUp(self):
        super().setUp()
        self.shop.sale("A-1", "ana@example.com", at="2026-10-01")
        self.code = self.shop.code_of("ana@example.com")

    def referrals(self):
        return self.shop.query(
            "SELECT referred.email, referrer.email, s.order_id FROM referrals r"
            " JOIN customers referred ON referred.id = r.referred_id"
            " JOIN customers referrer ON referrer.id = r.referrer_id"
            " JOIN sales s ON s.id = r.sale_id")

    def add(self, order, email, code, at="2026-11-01"):
        p = self.shop.run("sale", "add", "--order", order, "--email", email,
                          "--referral", code, "--at", at)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM sales WHERE order_id = ?",
                                          order), 1)
        return p.stderr

    def test_codes_are_crockford_base32_and_distinct(self):
        for i in range(30):
            self.shop.sale("C-%d" % i, "c%d@example.com" % i)
        codes = [c for (c,) in self.shop.query("SELECT referral_code FROM customers")]
        self.assertEqual(len(codes), 31)
        self.assertEqual(len(set(codes)), 31)
        for c in codes:
            self.assertRegex(c, r"^[0-9A-HJKMNP-TV-Z]{8}$")

    def test_a_code_is_the_customers_id_under_the_shops_key(self):
        # Migration 0014: made of the id, so the next customer's code is
        # known before it is given; the key is the shop's, so another
        # shop's customer 1 has another code.
        self.assertEqual(self.shop.scalar("SELECT id FROM customers"), 1)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM referral_codes"), 0)
        self.assertEqual(len(self.shop.scalar("SELECT key FROM referral_key")), 16)
        self.shop.ok("sale", "add", "--order", "B-1", "--email", "bo@example.com")
        self.assertEqual(self.shop.scalar("SELECT id FROM customers WHERE email = ?",
                                          "bo@example.com"), 2)
        self.assertNotEqual(self.shop.code_of("bo@example.com"), self.code)

    def test_a_drawn_code_that_is_the_next_customers_own(self):
        """A code drawn at random before migration 0014 may be the code a
        later id makes: that customer gets a drawn code instead, and each
        code still names its own customer."""
        code2 = self.next_code()
        # Ana's code was drawn (before migration 0014), and it is that one.
        with contextlib.closing(self.shop.db()) as db, db:
            db.execute("UPDATE customers SET referral_code = ? WHERE id = 1", (code2,))
            db.execute("INSERT INTO referral_codes (code, customer_id) VALUES (?, 1)", (code2,))
        self.shop.sale("B-1", "bo@example.com", at="2026-10-02")
        bo = self.shop.code_of("bo@example.com")
        self.assertNotEqual(bo, code2)
        self.assertEqual(self.shop.query("SELECT code, customer_id FROM referral_codes"
                                         " ORDER BY customer_id"), [(code2, 1), (bo, 2)])
        self.assertEqual(self.add("C-1", "cy@example.com", code2), "")
        self.assertEqual(self.add("D-1", "di@example.com", bo), "")
        self.assertEqual(sorted(self.referrals()),
                         [("cy@example.com", "ana@example.com", "C-1"),
                          ("di@example.com", "bo@example.com", "D-1")])

    def next_code(self):
        """The code the next customer gets, seen in a throwaway copy."""
        copy = os.path.join(os.path.dirname(self.shop.database), "copy.db")
        with contextlib.closing(sqlite3.connect(self.shop.database)) as db, \
                contextlib.closing(sqlite3.connect(copy)) as dest:
            db.backup(dest)
        with open(self.shop.config) as f:
            conf = self.shop.write("copy.conf", f.read().replace('"aftersale.db"', '"copy.db"'))
        self.shop.ok("-c", conf, "sale", "add", "--order", "N-1", "--email", "next@example.com",
                     config=False)
        with contextlib.closing(sqlite3.connect(copy)) as db:
            return db.execute("SELECT referral_code FROM customers WHERE email = ?",
                              ("next@example.com",)).fetchone()[0]

    def test_first_sale_with_a_code_is_referred(self):
        self.assertEqual(self.add("B-1", "bo@example.com", self.code), "")
        self.assertEqual(self.referrals(), [("bo@example.com", "ana@example.com", "B-1")])

    def test_code_as_humans_type_it(self):
        typed = self.code.lower()
        typed = typed[:4] + "-" + typed[4:]
        typed = typed.replace("0", "o").replace("1", "l")
        self.assertEqual(self.add("B-1", "bo@example.com", typed), "")
        self.assertEqual(len(self.referrals()), 1)

    def test_unknown_code_stores_the_sale_and_warns(self):
        other = "ZZZZZZZZ" if self.code != "ZZZZZZZZ" else "YYYYYYYY"
        err = self.add("B-1", "bo@example.com", other)
        self.assertIn('order "B-1": referral code "%s" ignored: no customer has this '
                      'referral code; the sale is recorded' % other, err)
        err = self.add("B-2", "cy@example.com", "not a code!")
        self.assertIn("ignored: no customer has this referral code", err)
        self.assertEqual(self.referrals(), [])

    def test_own_code_is_ignored_whatever_the_case(self):
        err = self.add("A-2", "ANA@Example.COM", self.code)
        self.assertIn("ignored: the code is the buyer's own", err)
        self.assertEqual(self.referrals(), [])

    def test_existing_customer_is_not_referred(self):
        self.shop.sale("B-1", "bo@example.com", at="2026-10-15")
        err = self.add("B-2", "bo@example.com", self.code)
        self.assertIn("ignored: only a customer's first purchase can carry a referral", err)
        self.assertEqual(self.referrals(), [])

    def test_referred_at_most_once(self):
        self.shop.sale("C-1", "cy@example.com", at="2026-09-01")
        other = self.shop.code_of("cy@example.com")
        self.add("B-2", "bo@example.com", self.code, at="2026-11-10")
        # An older first purchase, imported late, carrying another code.
        err = self.add("B-1", "bo@example.com", other, at="2026-11-01")
        self.assertIn("ignored: the customer was already referred", err)
        self.assertEqual(self.referrals(), [("bo@example.com", "ana@example.com", "B-2")])

    def test_warning_names_the_line_in_an_import(self):
        path = self.shop.write("s.csv", "order_id,email,referral_code\n"
                                        "B-1,bo@example.com,%s\n"
                                        "B-2,bo@example.com,%s\n" % (self.code, self.code))
        p = self.shop.run("sale", "import", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, re.escape(path) + r':3: order "B-2": referral code '
                         r'"\w+" ignored: only a customer\'s first purchase')
        self.assertEqual(len(self.referrals()), 1)


if __name__ == "__main__":
    main()
