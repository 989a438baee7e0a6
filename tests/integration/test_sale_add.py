"""sale add: one sale from the command line, checked field by field."""

import os
import re
import shutil
import subprocess
import sys
import unittest
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import AFTERSALE, ShopTest, main  # noqa: E402

EX_USAGE, EX_DATAERR = 64, 65


class SaleAdd(ShopTest):

    def test_records_sale_and_customer(self):
        out = self.shop.sale("A-1", "Ana@Example.com", name="Ana Lima", sku="COFFEE-ETH",
                             product="Ethiopia 250g", amount="14.90", currency="eur",
                             at="2026-11-02T09:15:00+01:00")
        self.assertEqual(out, "1 sale stored, 1 new customer, 0 repeat purchases, "
                              "0 duplicates skipped\n")
        row = self.shop.query("SELECT s.order_id, s.sku, s.product, s.amount, s.currency,"
                              " s.sold_at, s.is_repeat, c.email, c.name,"
                              " c.referral_code FROM sales s JOIN customers c"
                              " ON c.id = s.customer_id")
        self.assertEqual(len(row), 1)
        order, sku, product, amount, currency, sold_at, rep, email, name, code = row[0]
        self.assertEqual((order, sku, product, amount, currency, sold_at, rep),
                         ("A-1", "COFFEE-ETH", "Ethiopia 250g", 1490, "EUR",
                          int(datetime(2026, 11, 2, 8, 15, tzinfo=timezone.utc).timestamp()), 0))
        self.assertEqual((email, name), ("Ana@Example.com", "Ana Lima"))
        self.assertRegex(code, r"^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{8}$")

    def test_plain_date_is_midnight_in_shop_timezone(self):
        self.shop.sale("A-1", "ana@example.com", at="2026-07-01")
        midnight = datetime(2026, 7, 1, tzinfo=ZoneInfo("Europe/London"))
        self.assertEqual(self.shop.scalar("SELECT sold_at FROM sales"),
                         int(midnight.timestamp()))

    def test_defaults_currency_time_and_amount(self):
        self.shop.sale("A-1", "ana@example.com")
        amount, currency, sold_at, recorded = self.shop.query(
            "SELECT amount, currency, sold_at, recorded_at FROM sales")[0]
        self.assertEqual((amount, currency), (0, "EUR"))
        self.assertEqual(sold_at, recorded)

    def test_same_order_again_is_a_no_op(self):
        self.shop.sale("A-1", "ana@example.com", amount="10.00", at="2026-11-01")
        before = self.shop.counts()
        out = self.shop.sale("A-1", "ANA@example.com", amount="10", at="2026-11-01")
        self.assertIn("0 sales stored", out)
        self.assertIn("1 duplicate skipped", out)
        self.assertEqual(self.shop.counts(), before)
        # Without --at the sale took "now"; a retry without it still matches.
        self.shop.sale("A-2", "bo@example.com")
        self.assertIn("1 duplicate skipped", self.shop.sale("A-2", "bo@example.com"))

    def test_same_order_with_other_data_is_an_error(self):
        self.shop.sale("A-1", "ana@example.com", amount="10.00", at="2026-11-01")
        for change, field in ((["--amount", "11.00"], "amount"),
                              (["--email", "bo@example.com"], "email"),
                              (["--sku", "X"], "sku"),
                              (["--at", "2026-11-02"], "sold_at")):
            args = {"--email": "ana@example.com", "--amount": "10.00", "--at": "2026-11-01"}
            args[change[0]] = change[1]
            flat = [x for kv in args.items() for x in kv]
            self.assertFails(EX_DATAERR, "sale", "add", "--order", "A-1", *flat,
                             stderr='order "A-1" is already recorded with a different '
                                    + field)

    def test_customers_match_whatever_the_case(self):
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        out = self.shop.sale("A-2", "ANA@EXAMPLE.COM", at="2026-11-05")
        self.assertIn("0 new customers, 1 repeat purchase", out)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM customers"), 1)
        self.assertEqual(self.shop.query("SELECT order_id, is_repeat FROM sales ORDER BY id"),
                         [("A-1", 0), ("A-2", 1)])

    def test_older_sale_makes_the_newer_one_a_repeat(self):
        self.shop.sale("A-2", "ana@example.com", at="2026-11-05")
        out = self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.assertIn("1 repeat purchase", out)
        self.assertEqual(self.shop.query("SELECT order_id, is_repeat FROM sales ORDER BY sold_at"),
                         [("A-1", 0), ("A-2", 1)])

    def test_name_is_kept_from_first_sale_or_filled_in(self):
        self.shop.sale("A-1", "ana@example.com")
        self.shop.sale("A-2", "ana@example.com", name="Ana Lima")
        self.shop.sale("A-3", "ana@example.com", name="Someone Else")
        self.assertEqual(self.shop.scalar("SELECT name FROM customers"), "Ana Lima")


BAD_INPUT = [
    # (what, options, piece of the message)
    ("no at sign", ["--email", "ana.example.com"], 'email "ana.example.com" is not a valid address'),
    ("no domain dot", ["--email", "ana@localhost"], "its domain has no dot"),
    ("space in address", ["--email", "ana lima@example.com"], "not allowed unquoted"),
    ("over-long email", ["--email", "a" * 60 + "@" + "b" * 200 + ".com"], "longer than 254"),
    ("over-long local part", ["--email", "a" * 65 + "@example.com"], "longer than 64"),
    ("CR LF in name", ["--name", "Ana\r\nBcc: victim@example.com"], "name contains a line break"),
    ("LF in product", ["--product", "Coffee\nX-Evil: 1"], "product contains a line break"),
    ("tab in sku", ["--sku", "A\tB"], "sku contains a line break or another control"),
    ("escape in name", ["--name", "Ana\x1b[31m"], "name contains a line break or another control"),
    ("negative amount", ["--amount", "-5.00"], 'amount "-5.00" is negative'),
    ("too many decimals", ["--amount", "12.345"], "at most 2 decimals"),
    ("decimals on yen", ["--amount", "12.5", "--currency", "JPY"], "at most 0 decimals"),
    ("amount not a number", ["--amount", "12,50"], 'amount "12,50" is not an amount'),
    ("amount too large", ["--amount", "99999999999999999"], "is not an amount"),
    ("two-letter currency", ["--currency", "EU"], 'currency "EU" is not a three-letter'),
    ("four-letter currency", ["--currency", "EURO"], 'currency "EURO" is not a three-letter'),
    ("digit in currency", ["--currency", "E1R"], 'currency "E1R"'),
    ("unparseable time", ["--at", "yesterday"], 'sold_at "yesterday" is not a time'),
    ("impossible date", ["--at", "2026-02-30"], 'sold_at "2026-02-30" is not a time'),
    ("bad offset", ["--at", "2026-11-20T10:00:00+25:00"], "is not a time"),
    ("over-long order id", ["--order", "A" * 129], "order_id is longer than 128 bytes"),
    ("over-long name", ["--name", "n" * 201], "name is longer than 200 bytes"),
    ("over-long product", ["--product", "p" * 201], "product is longer than 200 bytes"),
    ("over-long sku", ["--sku", "s" * 129], "sku is longer than 128 bytes"),
    ("over-long referral", ["--referral", "r" * 65], "referral_code is longer than 64"),
    ("empty order id", ["--order", ""], "order_id is missing"),
]


class Durable(ShopTest):

    @unittest.skipUnless(shutil.which("strace"), "strace is not installed")
    def test_a_recorded_sale_is_on_disk_before_it_is_reported(self):
        # Regression: the CLI committed with synchronous=NORMAL, which in
        # WAL mode syncs nothing at commit; only the last connection's
        # checkpoint at close did, and with the daemon running there is
        # always another connection.  A power cut could lose a sale that
        # was reported stored.
        self.shop.ok("migrate")
        trace = self.shop.path("strace.out")
        with self.shop.db() as reader:
            reader.execute("SELECT count(*) FROM sales").fetchall()
            # The first write after a checkpoint syncs the WAL's new header
            # whatever the setting: the second is the one that tells.
            self.shop.sale("A-0", "bo@example.com")
            # LeakSanitizer cannot run under ptrace.
            env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "")
                       + ":detect_leaks=0")
            subprocess.run(["strace", "-f", "-e", "trace=fsync,fdatasync", "-o", trace,
                            AFTERSALE, "-c", self.shop.config, "sale", "add",
                            "--order", "A-1", "--email", "ana@example.com"],
                           check=True, capture_output=True, env=env)
        with open(trace) as f:
            syncs = [line for line in f if "sync(" in line]
        self.assertGreater(len(syncs), 0, "the commit was not synced")


class BadInput(ShopTest):
    """Each class of bad input: exit 65, one clear message, nothing stored."""

    def setUp(self):
        super().setUp()
        # A database with a sale in it, so "nothing stored" is measured
        # against real rows, not an empty file.
        self.shop.sale("OK-1", "existing@example.com", amount="1.00")

    def test_invalid_utf8(self):
        p = subprocess.run(
            [os.environ.get("AFTERSALE", "aftersale"), "-c", self.shop.config, "sale",
             "add", "--order", b"A-\xff", "--email", "ana@example.com"],
            capture_output=True)
        self.assertEqual(p.returncode, EX_DATAERR)
        self.assertIn(b"order_id is not valid UTF-8", p.stderr)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM sales"), 1)


def _bad_input_test(options, message):
    def test(self):
        args = {"--order": "A-1", "--email": "ana@example.com"}
        for i in range(0, len(options), 2):
            args[options[i]] = options[i + 1]
        flat = [x for kv in args.items() for x in kv]
        p = self.assertFails(EX_DATAERR, "sale", "add", *flat, stderr=message)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
    return test


for _what, _options, _message in BAD_INPUT:
    setattr(BadInput, "test_" + re.sub(r"\W+", "_", _what),
            _bad_input_test(_options, _message))


class Usage(ShopTest):

    def test_order_and_email_are_required(self):
        self.assertFails(EX_USAGE, "sale", "add", "--email", "ana@example.com",
                         stderr="--order and --email are required")

    def test_unknown_option(self):
        self.assertFails(EX_USAGE, "sale", "add", "--order", "A", "--email", "a@b.co",
                         "--colour", "red", stderr="--colour")


if __name__ == "__main__":
    main()
