"""sale import: CSV in, all or nothing, every bad row named by its line."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import SRCDIR, ShopTest, main  # noqa: E402

EX_DATAERR, EX_NOINPUT = 65, 66

HEADER = "order_id,email,name,sku,product,amount,currency,sold_at,referral_code\n"


class Import(ShopTest):

    def test_sample_file(self):
        out = self.shop.ok("sale", "import", os.path.join(SRCDIR, "conf", "sample-sales.csv"))
        self.assertEqual(out, "5 sales stored, 4 new customers, 1 repeat purchase, "
                              "0 duplicates skipped\n")
        self.assertEqual(self.shop.query(
            "SELECT s.order_id, c.name, s.product, s.amount, s.currency FROM sales s"
            " JOIN customers c ON c.id = s.customer_id WHERE order_id = 'A-1003'"),
            [("A-1003", "Chloé Martin", "Hand grinder, steel", 4900, "EUR")])

    def test_columns_in_any_order_and_any_case(self):
        path = self.shop.write("s.csv", "Amount,EMAIL,order_id\n9.99,ana@example.com,A-1\n")
        self.shop.ok("sale", "import", path)
        self.assertEqual(self.shop.query("SELECT order_id, amount FROM sales"), [("A-1", 999)])

    def test_quotes_bom_crlf_and_utf8(self):
        data = ("\ufefforder_id,email,name,product\r\n"
                "A-1,ana@example.com,\"Lima, Ana\",\"The \"\"Best\"\" Beans\"\r\n"
                "A-2,zoe@example.com,Zoë Ødegård,東京 blend\r\n").encode("utf-8")
        self.shop.ok("sale", "import", self.shop.write("s.csv", data))
        self.assertEqual(self.shop.query(
            "SELECT c.name, s.product FROM sales s JOIN customers c"
            " ON c.id = s.customer_id ORDER BY s.order_id"),
            [("Lima, Ana", 'The "Best" Beans'), ("Zoë Ødegård", "東京 blend")])

    def test_from_stdin(self):
        out = self.shop.ok("sale", "import", "-", input=HEADER +
                           "A-1,ana@example.com,,,,1.00,EUR,2026-11-01,\n")
        self.assertIn("1 sale stored", out)

    def test_reimport_is_idempotent(self):
        path = os.path.join(SRCDIR, "conf", "sample-sales.csv")
        self.shop.ok("sale", "import", path)
        before = self.shop.counts()
        out = self.shop.ok("sale", "import", path)
        self.assertEqual(out, "0 sales stored, 0 new customers, 0 repeat purchases, "
                              "5 duplicates skipped\n")
        self.assertEqual(self.shop.counts(), before)

    def test_out_of_order_repeat_detection(self):
        self.shop.ok("sale", "import", self.shop.write("new.csv", HEADER +
                     "B-3,bo@example.com,,,,5,EUR,2026-11-20T10:00:00Z,\n"
                     "B-2,bo@example.com,,,,5,EUR,2026-11-10T10:00:00Z,\n"))
        self.shop.ok("sale", "import", self.shop.write("old.csv", HEADER +
                     "B-1,BO@example.com,,,,5,EUR,2026-11-01T10:00:00Z,\n"))
        self.assertEqual(self.shop.query("SELECT order_id, is_repeat FROM sales ORDER BY sold_at"),
                         [("B-1", 0), ("B-2", 1), ("B-3", 1)])
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM customers"), 1)


class BadFiles(ShopTest):
    """Bad rows: exit 65, each named by line, and nothing stored."""

    def setUp(self):
        super().setUp()
        self.shop.sale("OK-1", "existing@example.com", amount="1.00")

    def test_every_bad_row_reported_and_nothing_stored(self):
        path = self.shop.write("s.csv", HEADER +
                               "A-1,ana@example.com,,,,1.00,EUR,,\n"        # 2: good
                               "A-2,not-an-email,,,,1.00,EUR,,\n"           # 3
                               "A-3,bo@example.com,,,,-1,EUR,,\n"           # 4
                               "A-4,cy@example.com,,,\"two\nlines\",1,EUR,,\n"  # 5-6
                               "A-5,di@example.com,,,,1.999,EUR,,\n"        # 7
                               "A-6,ed@example.com,,,,1,EURO,,\n"           # 8
                               "A-7,fi@example.com,,,,1,EUR,someday,\n"     # 9
                               "A-1,ana@example.com,,,,2.00,EUR,,\n"        # 10: conflict
                               "A-8,gu@example.com\n")                      # 11
        p = self.assertFails(EX_DATAERR, "sale", "import", path)
        for line, text in ((3, 'order "A-2": email "not-an-email"'),
                           (4, 'order "A-3": amount "-1" is negative'),
                           (5, 'order "A-4": product contains a line break'),
                           (7, 'order "A-5": amount "1.999"'),
                           (8, 'order "A-6": currency "EURO"'),
                           (9, 'order "A-7": sold_at "someday"'),
                           (10, 'order "A-1" is already recorded with a different amount'),
                           (11, "2 fields, but the header has 9 columns")):
            self.assertIn("%s:%d: %s" % (path, line, text), p.stderr)
        self.assertIn("8 bad rows; nothing was stored", p.stderr)

    def test_skip_invalid_keeps_the_good_rows(self):
        path = self.shop.write("s.csv", HEADER +
                               "A-1,ana@example.com,,,,1.00,EUR,,\n"
                               "A-2,bad@,,,,1.00,EUR,,\n"
                               "A-3,bo@example.com,,,,2.00,EUR,,\n")
        p = self.shop.run("sale", "import", "--skip-invalid", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("%s:3: order \"A-2\": email \"bad@\"" % path, p.stderr)
        self.assertIn("2 sales stored", p.stdout)
        self.assertIn("1 bad row skipped", p.stdout)
        self.assertEqual(self.shop.query("SELECT order_id FROM sales ORDER BY order_id"),
                         [("A-1",), ("A-3",), ("OK-1",)])

    def test_invalid_utf8(self):
        path = self.shop.write("s.csv", b"order_id,email,name\nA-1,ana@example.com,Jos\xe9\n")
        self.assertFails(EX_DATAERR, "sale", "import", path,
                         stderr="s.csv:2: order \"A-1\": name is not valid UTF-8")

    def test_over_long_field(self):
        path = self.shop.write("s.csv", "order_id,email,name\nA-1,ana@example.com,%s\n" % ("x" * 300))
        self.assertFails(EX_DATAERR, "sale", "import", path,
                         stderr="s.csv:2: order \"A-1\": name is longer than 200 bytes")

    def test_unknown_column(self):
        path = self.shop.write("s.csv", "order_id,email,ammount\nA-1,ana@example.com,1\n")
        self.assertFails(EX_DATAERR, "sale", "import", path,
                         stderr='s.csv:1: unknown column "ammount" (did you mean "amount"?)')

    def test_unknown_column_not_skipped_even_with_skip_invalid(self):
        path = self.shop.write("s.csv", "order_id,email,ammount\nA-1,ana@example.com,1\n")
        self.assertFails(EX_DATAERR, "sale", "import", "--skip-invalid", path,
                         stderr="unknown column")

    def test_missing_required_column(self):
        path = self.shop.write("s.csv", "order_id,amount\nA-1,1\n")
        self.assertFails(EX_DATAERR, "sale", "import", path,
                         stderr="s.csv:1: the header must name the columns order_id and email")

    def test_duplicate_column(self):
        path = self.shop.write("s.csv", "order_id,email,Email\nA-1,a@b.co,a@b.co\n")
        self.assertFails(EX_DATAERR, "sale", "import", path,
                         stderr='s.csv:1: column "email" appears twice')

    def test_malformed_quotes(self):
        path = self.shop.write("s.csv", "order_id,email,name\nA-1,a@b.co,\"Ana\n")
        self.assertFails(EX_DATAERR, "sale", "import", path,
                         stderr="s.csv:2: malformed CSV: a quoted field is not closed")
        path = self.shop.write("t.csv", "order_id,email,name\nA-1,a@b.co,An\"a\"\n")
        self.assertFails(EX_DATAERR, "sale", "import", "--skip-invalid", path,
                         stderr="t.csv:2: malformed CSV")

    def test_empty_file(self):
        path = self.shop.write("s.csv", "")
        self.assertFails(EX_DATAERR, "sale", "import", path, stderr="empty file")

    def test_missing_file(self):
        self.assertFails(EX_NOINPUT, "sale", "import", self.shop.path("nope.csv"),
                         stderr="cannot open")

    def test_conflict_inside_one_file(self):
        path = self.shop.write("s.csv", HEADER +
                               "A-1,ana@example.com,,,,1.00,EUR,2026-11-01,\n"
                               "A-1,ana@example.com,,,,1.00,EUR,2026-11-02,\n")
        self.assertFails(EX_DATAERR, "sale", "import", path,
                         stderr='s.csv:3: order "A-1" is already recorded with a '
                                'different sold_at')


if __name__ == "__main__":
    main()
