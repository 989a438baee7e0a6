"""sale import --format shopify: Shopify's orders export as the admin writes
it, one row per line item, the order's own fields on its first row only."""

import csv
import io
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ShopTest, main  # noqa: E402

EX_USAGE, EX_DATAERR = 64, 65

# The columns of Shopify's orders export, in Shopify's order.
COLUMNS = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status",
    "Fulfilled at", "Accepts Marketing", "Currency", "Subtotal", "Shipping",
    "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
    "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name",
    "Billing Street", "Billing Address1", "Billing Address2", "Billing Company",
    "Billing City", "Billing Zip", "Billing Province", "Billing Country",
    "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1",
    "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes",
    "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference",
    "Refunded Amount", "Vendor", "Outstanding Balance", "Employee", "Location",
    "Device ID", "Id", "Tags", "Risk Level", "Source", "Lineitem discount",
    "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value", "Tax 3 Name",
    "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value",
    "Phone", "Receipt Number", "Duties", "Billing Province Name",
    "Shipping Province Name", "Payment ID", "Payment Terms Name",
    "Next Payment Due At", "Payment References",
]

# What Shopify writes on every row of an order, and on its first row only.
EVERY_ROW = ("Name", "Email")
ITEM = ("Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem sku",
        "Lineitem requires shipping", "Lineitem taxable",
        "Lineitem fulfillment status", "Vendor", "Lineitem discount")


def order(name, email, status, total, items, paid_at="", created_at="",
          currency="EUR", billing="", discount="", refunded="0.00", notes="",
          id="7410991464714"):
    """The rows of one order: its fields on the first, then one per item."""
    first = {
        "Name": name, "Email": email, "Financial Status": status,
        "Paid at": paid_at, "Fulfillment Status": "unfulfilled",
        "Accepts Marketing": "yes", "Currency": currency, "Subtotal": total,
        "Shipping": "0.00", "Taxes": "0.00", "Total": total,
        "Discount Code": discount, "Discount Amount": "0.00" if not discount else "5.00",
        "Shipping Method": "Standard", "Created at": created_at or paid_at,
        "Billing Name": billing, "Billing Street": "13-15 rue de Berri",
        "Billing City": "Paris", "Billing Zip": "'75008", "Billing Country": "FR",
        "Notes": notes, "Payment Method": "Shopify Payments",
        "Refunded Amount": refunded, "Outstanding Balance": "0.00",
        "Id": id, "Risk Level": "Low", "Source": "web",
        "Tax 1 Name": "TVA 20%", "Tax 1 Value": "0.00",
    }
    rows = []
    for i, (qty, product, price, sku) in enumerate(items):
        row = dict(first) if i == 0 else {k: first[k] for k in EVERY_ROW}
        row.update({"Lineitem quantity": str(qty), "Lineitem name": product,
                    "Lineitem price": price, "Lineitem sku": sku,
                    "Lineitem requires shipping": "true", "Lineitem taxable": "true",
                    "Lineitem fulfillment status": "pending", "Vendor": "Acme",
                    "Lineitem discount": "0.00"})
        rows.append(row)
    return rows


def export(*orders, newline="\n"):
    """The file's text, and the line each row starts on (quoted fields may
    hold line breaks, so rows and lines differ)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator=newline)
    w.writerow(COLUMNS)
    lines, line = [], 2
    for rows in orders:
        for row in rows:
            lines.append(line)
            before = out.tell()
            w.writerow([row.get(c, "") for c in COLUMNS])
            line += out.getvalue()[before:].count("\n")
    return out.getvalue(), lines


class Import(ShopTest):

    def setUp(self):
        super().setUp()
        # A customer already known, whose referral code a buyer used as a
        # discount code.
        self.shop.sale("OLD-1", "ana@example.com", amount="10.00",
                       at="2026-01-10T10:00:00Z")
        self.code = self.shop.code_of("ana@example.com")

    def the_export(self, newline="\n"):
        return export(
            order("#1001", "bo@example.com", "paid", "54.80",
                  [(2, "Masque au Bio-Collagène", "19.90", "MBC-50"),
                   (1, "Sérum, 30 ml", "15.00", "SER-30")],
                  paid_at="2026-03-01 10:00:00 +0100", billing="Lima, Bo",
                  discount=self.code.lower()),
            order("#1002", "cy@example.com", "partially_refunded", "39.90",
                  [(1, "Coffret \"Découverte\"", "39.90", "BOX-1")],
                  paid_at="2026-03-02 09:30:00 +0100", billing="Cy Tran",
                  refunded="10.00"),
            order("#1003", "di@example.com", "voided", "12.00",
                  [(1, "Savon", "6.00", "SOAP"), (1, "Savon", "6.00", "SOAP")],
                  created_at="2026-03-03 11:00:00 +0100"),
            order("#1004", "ed@example.com", "pending", "9.00",
                  [(1, "Baume", "9.00", "BALM")],
                  created_at="2026-03-04 11:00:00 +0100"),
            order("#1005", "fi@example.com", "paid", "49.00",
                  [(1, "Hand grinder, steel", "49.00", "GR-1")],
                  created_at="2026-03-05 15:00:00 -0500", billing="Fi O'Neill",
                  discount="SUMMER10",
                  notes="Please ring twice,\nthen leave it with the neighbour"),
            order("#1006", "", "paid", "20.00",
                  [(1, "Bougie", "20.00", "CANDLE")],
                  paid_at="2026-03-06 12:00:00 +0100"),
            order("#1007", "BO@example.com", "paid", "5300.00",
                  [(1, "Matcha", "5300", "MATCHA")], currency="JPY",
                  paid_at="2026-03-07 12:00:00 +0900"),
            newline=newline)

    def test_the_admins_export(self):
        text, _ = self.the_export()
        path = self.shop.write("orders_export_1.csv", text)
        out = self.shop.ok("sale", "import", "--format", "shopify", path)
        self.assertEqual(out, "4 sales stored, 3 new customers, 1 repeat purchase, "
                              "0 duplicates skipped, 2 unpaid orders skipped "
                              "(pending, voided...), 1 order without an email "
                              "address skipped, 1 refund recorded\n")
        # One sale per order, with its first line item; times with their
        # offsets; JPY's "5300.00" is 5300 yen.
        self.assertEqual(self.shop.query(
            "SELECT s.order_id, c.email, c.name, s.sku, s.product, s.amount,"
            " s.currency, s.sold_at, s.is_repeat FROM sales s"
            " JOIN customers c ON c.id = s.customer_id ORDER BY s.order_id"), [
            ("#1001", "bo@example.com", "Lima, Bo", "MBC-50",
             "Masque au Bio-Collagène", 5480, "EUR", 1772355600, 0),
            ("#1002", "cy@example.com", "Cy Tran", "BOX-1",
             'Coffret "Découverte"', 3990, "EUR", 1772440200, 0),
            ("#1005", "fi@example.com", "Fi O'Neill", "GR-1",
             "Hand grinder, steel", 4900, "EUR", 1772740800, 0),
            ("#1007", "bo@example.com", "Lima, Bo", "MATCHA", "Matcha", 5300,
             "JPY", 1772852400, 1),
            ("OLD-1", "ana@example.com", "", "", "", 1000, "EUR", 1768039200, 0)])
        # Every row of an order is one of its items: the price is for one,
        # the amount for the quantity.  A sale from sale add is one item.
        self.assertEqual(self.shop.query(
            "SELECT s.order_id, i.position, i.sku, i.product, i.quantity, i.amount"
            " FROM sale_items i JOIN sales s ON s.id = i.sale_id"
            " ORDER BY s.order_id, i.position"), [
            ("#1001", 0, "MBC-50", "Masque au Bio-Collagène", 2, 3980),
            ("#1001", 1, "SER-30", "Sérum, 30 ml", 1, 1500),
            ("#1002", 0, "BOX-1", 'Coffret "Découverte"', 1, 3990),
            ("#1005", 0, "GR-1", "Hand grinder, steel", 1, 4900),
            ("#1007", 0, "MATCHA", "Matcha", 1, 5300),
            ("OLD-1", 0, "", "", 1, 1000)])
        items = self.shop.json("customer", "bo@example.com", "--json")["sales"][0]["items"]
        self.assertEqual(items, [
            {"sku": "MBC-50", "product": "Masque au Bio-Collagène", "quantity": 2,
             "amount": "39.80"},
            {"sku": "SER-30", "product": "Sérum, 30 ml", "quantity": 1, "amount": "15.00"}])
        # The discount code that is Ana's referral code: Bo was referred.
        self.assertEqual(self.shop.query(
            "SELECT r.email, f.email FROM referrals JOIN customers r"
            " ON r.id = referrer_id JOIN customers f ON f.id = referred_id"),
            [("ana@example.com", "bo@example.com")])
        self.assertEqual(self.shop.scalar(
            "SELECT referral_code FROM sales WHERE order_id = '#1005'"), "")

    def test_crlf_and_reimport(self):
        text, _ = self.the_export(newline="\r\n")
        path = self.shop.write("orders.csv", text.encode("utf-8"))
        self.shop.ok("sale", "import", "--format", "shopify", path)
        before = self.shop.counts()
        out = self.shop.ok("sale", "import", "--format=shopify", path)
        self.assertTrue(out.startswith("0 sales stored, 0 new customers, "
                                       "0 repeat purchases, 4 duplicates skipped"), out)
        self.assertEqual(self.shop.counts(), before)

    def test_from_stdin(self):
        text, _ = self.the_export()
        out = self.shop.ok("sale", "import", "--format", "shopify", "-", input=text)
        self.assertTrue(out.startswith("4 sales stored"), out)

    def test_a_discount_code_that_is_no_referral_is_no_warning(self):
        text, _ = export(order("#2001", "gu@example.com", "paid", "9.00",
                               [(1, "Baume", "9.00", "BALM")],
                               paid_at="2026-03-04 11:00:00 +0100",
                               discount="FREESHIP"))
        p = self.shop.run("sale", "import", "--format", "shopify",
                          self.shop.write("o.csv", text))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        # A code that is a referral code but the buyer's own still warns.
        text, _ = export(order("#2002", "ana@example.com", "paid", "9.00",
                               [(1, "Baume", "9.00", "BALM")],
                               paid_at="2026-03-04 11:00:00 +0100",
                               discount=self.code))
        p = self.shop.run("sale", "import", "--format", "shopify",
                          self.shop.write("o2.csv", text))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('o2.csv:2: order "#2002": referral code "%s" ignored' % self.code,
                      p.stderr)

    def test_the_plain_format_points_at_the_option(self):
        text, _ = self.the_export()
        path = self.shop.write("orders.csv", text)
        self.assertFails(EX_DATAERR, "sale", "import", path,
                         stderr="orders.csv:1: this is Shopify's orders export; "
                                "import it with --format shopify")
        self.assertFails(EX_DATAERR, "sale", "import", "--format", "aftersale", path,
                         stderr="import it with --format shopify")

    def test_unknown_format(self):
        self.assertFails(EX_USAGE, "sale", "import", "--format", "woocommerce", "x.csv",
                         stderr='unknown format "woocommerce"')


class RefundedExports(ShopTest):
    """Refunded Amount is all that went back of an order so far: a refund
    records what it adds to what is recorded."""

    def export(self, refunded_2002="15.00", total_2001="30.00"):
        return export(
            order("#2001", "gu@example.com", "refunded", total_2001,
                  [(1, "Théière", total_2001, "POT-1")],
                  paid_at="2026-03-01 10:00:00 +0100", refunded="30.00",
                  id="5500000000001"),
            order("#2002", "ha@example.com", "partially_refunded", "40.00",
                  [(2, "Tasse", "20.00", "CUP-1")],
                  paid_at="2026-03-02 10:00:00 +0100", refunded=refunded_2002,
                  id="5500000000002"))[0]

    def test_refunded_and_partially_refunded_orders(self):
        path = self.shop.write("orders.csv", self.export())
        out = self.shop.ok("sale", "import", "--format", "shopify", path)
        self.assertEqual(out, "2 sales stored, 2 new customers, 0 repeat purchases, "
                              "0 duplicates skipped, 2 refunds recorded\n")
        self.assertEqual(self.shop.query(
            "SELECT s.order_id, r.amount, r.refund_id, r.source FROM refunds r"
            " JOIN sales s ON s.id = r.sale_id ORDER BY s.order_id"),
            [("#2001", 3000, None, "import"), ("#2002", 1500, None, "import")])
        # The numeric ids, for the refunds/create webhooks that name orders so.
        self.assertEqual(self.shop.query(
            "SELECT p.source, p.platform_id, s.order_id FROM platform_orders p"
            " JOIN sales s ON s.id = p.sale_id ORDER BY 2"),
            [("shopify", "5500000000001", "#2001"), ("shopify", "5500000000002", "#2002")])
        sales = self.shop.json("stats", "--json")["sales"]
        self.assertEqual((sales["orders"], sales["customers"], sales["revenue"],
                          sales["refunds"]),
                         (1, 1, {"EUR": "25.00"},
                          {"orders": 2, "full": 1, "amount": {"EUR": "45.00"}}))

        # The same export again adds nothing; a later one what went back since.
        out = self.shop.ok("sale", "import", "--format", "shopify", path)
        self.assertEqual(out, "0 sales stored, 0 new customers, 0 repeat purchases, "
                              "2 duplicates skipped\n")
        path = self.shop.write("later.csv", self.export(refunded_2002="20.00"))
        out = self.shop.ok("sale", "import", "--format", "shopify", path)
        self.assertTrue(out.endswith(", 1 refund recorded\n"), out)
        self.assertEqual(self.shop.query(
            "SELECT r.amount FROM refunds r JOIN sales s ON s.id = r.sale_id"
            " WHERE s.order_id = '#2002' ORDER BY r.id"), [(1500,), (500,)])
        self.assertEqual(self.shop.json("stats", "--json")["sales"]["revenue"],
                         {"EUR": "20.00"})

    def test_more_refunded_than_paid_is_a_bad_row(self):
        text, lines = export(
            order("#2003", "io@example.com", "partially_refunded", "40.00",
                  [(1, "Tasse", "40.00", "CUP-1")], paid_at="2026-03-02 10:00:00 +0100",
                  refunded="45.00"))
        self.shop.ok("migrate")
        p = self.assertFails(EX_DATAERR, "sale", "import", "--format", "shopify",
                             self.shop.write("orders.csv", text))
        self.assertIn('orders.csv:%d: order "#2003": a refund of 45.00 EUR is more than the '
                      '40.00 EUR left to refund' % lines[0], p.stderr)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM refunds"), 0)
        # --skip-invalid stores the good orders only: the bad row's sale
        # goes with its refund, and the counts say so.
        text, lines = export(
            order("#2003", "io@example.com", "partially_refunded", "40.00",
                  [(1, "Tasse", "40.00", "CUP-1")], paid_at="2026-03-02 10:00:00 +0100",
                  refunded="45.00"),
            order("#2004", "al@example.com", "paid", "12.00",
                  [(1, "Tee", "12.00", "TEA-1")], paid_at="2026-03-03 10:00:00 +0100"))
        p = self.shop.run("sale", "import", "--format", "shopify", "--skip-invalid",
                          self.shop.write("orders.csv", text))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1 sale stored", p.stdout)
        self.assertEqual(self.shop.query("SELECT order_id FROM sales"), [("#2004",)])


class BadExports(ShopTest):
    """All or nothing, as for our own columns: every bad row by its line."""

    def setUp(self):
        super().setUp()
        self.shop.sale("OLD-1", "ana@example.com", amount="10.00")

    def test_every_bad_row_reported_and_nothing_stored(self):
        good = order("#1", "ok@example.com", "paid", "10.00",
                     [(1, "A", "10.00", "A"), (1, "B, with a comma", "0.00", "B")],
                     paid_at="2026-03-01 10:00:00 +0100",
                     notes="two\nlines")
        orphan = order("#7", "gi@example.com", "paid", "5.00",
                       [(1, "A", "5.00", "A"), (1, "B", "0.00", "B")],
                       paid_at="2026-03-01 10:00:00 +0100")[1:]
        text, lines = export(
            good,                                                       # rows 0-1
            order("#2", "not-an-email", "paid", "10.00", [(1, "A", "1", "A")],
                  paid_at="2026-03-01 10:00:00 +0100"),                 # 2
            order("#3", "cy@example.com", "paid", "10.001", [(1, "A", "1", "A")],
                  paid_at="2026-03-01 10:00:00 +0100"),                 # 3
            order("#4", "di@example.com", "paid", "10.00", [(1, "A", "1", "A")],
                  paid_at="the first of March"),                        # 4
            order("#5", "ed@example.com", "payé", "10.00", [(1, "A", "1", "A")],
                  paid_at="2026-03-01 10:00:00 +0100"),                 # 5
            order("#6", "fi@example.com", "paid", "10.00",
                  [(1, "Two\nlines", "1", "A")],
                  paid_at="2026-03-01 10:00:00 +0100"),                 # 6
            orphan,                                                     # 7
            order("#8", "gu@example.com", "paid", "10.00", [(1, "A", "1", "A")],
                  currency="EURO", paid_at="2026-03-01 10:00:00 +0100"),  # 8
        )
        text += "#9,hu@example.com,paid\n"
        short = text.count("\n")
        path = self.shop.write("orders.csv", text)
        p = self.assertFails(EX_DATAERR, "sale", "import", "--format", "shopify", path)
        for row, message in (
                (2, 'order "#2": Email "not-an-email" is not a valid address'),
                (3, 'order "#3": Total "10.001" is not an amount of EUR'),
                (4, 'order "#4": Paid at "the first of March" is not a time'),
                (5, 'order "#5": Financial Status "payé" is none of Shopify\'s'),
                (6, 'order "#6": Lineitem name contains a line break'),
                (7, 'order "#7": no Financial Status; the first row of an order has it'),
                (8, 'order "#8": Currency "EURO" is not a three-letter')):
            self.assertIn("%s:%d: %s" % (path, lines[row], message), p.stderr)
        self.assertIn("%s:%d: 3 fields, but the header has %d columns"
                      % (path, short, len(COLUMNS)), p.stderr)
        self.assertIn("8 bad rows; nothing was stored", p.stderr)

    def test_skip_invalid(self):
        text, lines = export(
            order("#1", "ok@example.com", "paid", "10.00", [(1, "A", "10.00", "A")],
                  paid_at="2026-03-01 10:00:00 +0100"),
            order("#2", "bad@", "paid", "10.00", [(1, "A", "10.00", "A")],
                  paid_at="2026-03-01 10:00:00 +0100"))
        path = self.shop.write("orders.csv", text)
        p = self.shop.run("sale", "import", "--format", "shopify", "--skip-invalid", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('orders.csv:%d: order "#2": Email "bad@"' % lines[1], p.stderr)
        self.assertIn("1 sale stored", p.stdout)
        self.assertEqual(self.shop.query("SELECT order_id FROM sales ORDER BY order_id"),
                         [("#1",), ("OLD-1",)])

    def test_a_bad_item_row_is_the_orders(self):
        # The order's first row is good, two of its later rows are not:
        # each is reported at its line, and the order is not stored at
        # all, not stored without them.
        text, lines = export(
            order("#1", "ok@example.com", "paid", "10.00", [(1, "A", "10.00", "A")],
                  paid_at="2026-03-01 10:00:00 +0100"),
            order("#2", "bo@example.com", "paid", "30.00",
                  [(1, "A", "10.00", "A"), (0, "B", "10.00", "B"), (1, "C", "ten", "C"),
                   (1, "D", "10.00", "D\u200bE")],
                  paid_at="2026-03-01 10:00:00 +0100"))
        path = self.shop.write("orders.csv", text)
        p = self.assertFails(EX_DATAERR, "sale", "import", "--format", "shopify", path)
        for row, message in (
                (2, 'order "#2": Lineitem quantity "0" is not a whole number from 1 to '
                    '1000000'),
                (3, 'order "#2": Lineitem price "ten" is not an amount of EUR'),
                (4, 'order "#2": Lineitem sku contains the invisible formatting '
                    'character U+200B')):
            self.assertIn("%s:%d: %s" % (path, lines[row], message), p.stderr)
        self.assertIn("3 bad rows; nothing was stored", p.stderr)
        p = self.shop.run("sale", "import", "--format", "shopify", "--skip-invalid", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.shop.query("SELECT order_id FROM sales ORDER BY order_id"),
                         [("#1",), ("OLD-1",)])
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM sale_items"), 2)

    def test_more_items_than_a_sale_keeps(self):
        # Refused, said once, never cut short.
        text, lines = export(order("#1", "ok@example.com", "paid", "101.00",
                                   [(1, "A", "1.00", "A")] * 102,
                                   paid_at="2026-03-01 10:00:00 +0100"))
        path = self.shop.write("orders.csv", text)
        p = self.assertFails(EX_DATAERR, "sale", "import", "--format", "shopify", path)
        self.assertIn('%s:%d: order "#1": more than 100 line items: a sale keeps at most 100'
                      % (path, lines[100]), p.stderr)
        self.assertEqual(p.stderr.count("more than 100 line items"), 1, p.stderr)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM sales"), 1)

    def test_not_shopifys_columns(self):
        path = self.shop.write("s.csv", "order_id,email\nA-1,ana@example.com\n")
        p = self.assertFails(EX_DATAERR, "sale", "import", "--format", "shopify", path)
        self.assertIn('s.csv:1: no column "Name": this is not Shopify\'s orders export '
                      "as the admin writes it (Orders, Export); for aftersale's own "
                      "columns, leave out --format shopify", p.stderr)
        path = self.shop.write("s.csv", "Name,Email,Total,Currency,Created at\n")
        self.assertFails(EX_DATAERR, "sale", "import", "--format", "shopify", path,
                         stderr='s.csv:1: no column "Financial Status"')
        path = self.shop.write("s.csv", "Name,Email,Financial Status,Total,Currency\n")
        self.assertFails(EX_DATAERR, "sale", "import", "--format", "shopify", path,
                         stderr='s.csv:1: no column "Created at"')

    def test_conflict_with_an_order_already_recorded(self):
        self.shop.sale("#1", "ok@example.com", amount="9.00", at="2026-03-01T09:00:00Z")
        text, lines = export(
            order("#1", "ok@example.com", "paid", "10.00", [(1, "", "10.00", "")],
                  paid_at="2026-03-01 10:00:00 +0100"))
        path = self.shop.write("orders.csv", text)
        self.assertFails(EX_DATAERR, "sale", "import", "--format", "shopify", path,
                         stderr='orders.csv:2: order "#1" is already recorded with '
                                'a different amount')


if __name__ == "__main__":
    main()
