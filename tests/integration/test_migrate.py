"""The schema: created on first use, migrated in one step, never downgraded."""

import glob
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import SRCDIR, Shop, ShopTest, main  # noqa: E402

EX_IOERR, EX_UNAVAILABLE = 74, 69
MIGRATIONS = sorted(glob.glob(os.path.join(SRCDIR, "migrations", "*.sql")))
LATEST = len(MIGRATIONS)


def schema_at(db, version):
    """Make db a database of schema `version`, as a release had it."""
    # 0012 fills in email_key() over no rows: any function will do.
    db.create_function("email_key", 1, lambda address: address)
    for path in MIGRATIONS[:version]:
        with open(path) as f:
            db.executescript(f.read())
    db.execute("PRAGMA user_version = %d" % version)


def ana_and_her_sale(db):
    db.execute("INSERT INTO customers (email, referral_code, created_at)"
               " VALUES ('ana@example.com', 'ABCDEFGH', 0)")
    db.execute("INSERT INTO sales (order_id, customer_id, amount, currency,"
               " sold_at, recorded_at) VALUES ('A-1', 1, 100, 'EUR', 0, 0)")


class Migrate(ShopTest):

    def test_creates_database_in_wal_mode(self):
        self.assertFalse(os.path.exists(self.shop.database))
        out = self.shop.ok("migrate")
        self.assertIn("schema version %d" % LATEST, out)
        with sqlite3.connect(self.shop.database) as db:
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], LATEST)
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master"
                                               " WHERE type = 'table'")}
        self.assertEqual(tables, {"customers", "sales", "referrals", "messages", "planner",
                                  "referral_clicks", "webhook_deliveries", "sale_items",
                                  "refunds", "platform_orders", "reorder_skus",
                                  "coupons", "referral_key", "referral_codes",
                                  "message_bodies", "message_counts", "unsubscribe_key"})

    def test_upgrades_an_old_database_keeping_its_data(self):
        with sqlite3.connect(self.shop.database) as db:
            schema_at(db, 1)
            db.execute("INSERT INTO customers (email, referral_code, created_at)"
                       " VALUES ('ana@example.com', 'ABCDEFGH', 0)")
        out = self.shop.ok("migrate")
        self.assertIn("schema version %d" % LATEST, out)
        self.assertEqual(self.shop.scalar("PRAGMA user_version"), LATEST)
        self.assertEqual(self.shop.scalar("SELECT referral_code FROM customers"), "ABCDEFGH")
        # The code drawn before migration 0014 still names its customer.
        self.shop.ok("sale", "add", "--order", "B-1", "--email", "bo@example.com",
                     "--referral", "abcd-efgh")
        self.assertEqual(self.shop.query(
            "SELECT referrer.email, referred.email FROM referrals r"
            " JOIN customers referrer ON referrer.id = r.referrer_id"
            " JOIN customers referred ON referred.id = r.referred_id"),
            [("ana@example.com", "bo@example.com")])

    def test_bodies_of_version_14_move_to_their_own_table(self):
        # Migration 0015 moves the bytes out of the messages rows; a
        # message built before it is sent again as it was built.
        with sqlite3.connect(self.shop.database) as db:
            schema_at(db, 14)
            ana_and_her_sale(db)
            db.execute("INSERT INTO messages (campaign, customer_id, sale_id, state,"
                       " due_at, attempts, created_at, updated_at, body)"
                       " VALUES ('thank-you', 1, 1, 'deferred', 0, 1, 0, 0, ?)",
                       (b"To: ana@example.com\r\n\r\nbuilt before 0015\r\n",))
        self.shop.ok("migrate")
        self.assertEqual(self.shop.scalar("PRAGMA user_version"), LATEST)
        self.assertEqual(self.shop.query("SELECT message_id, body FROM message_bodies"),
                         [(1, b"To: ana@example.com\r\n\r\nbuilt before 0015\r\n")])
        self.assertEqual(self.shop.query("SELECT state, attempts FROM messages"),
                         [("deferred", 1)])
        columns = [r[1] for r in self.shop.query("PRAGMA table_info(messages)")]
        self.assertNotIn("body", columns)

    def test_counts_of_version_16_carry_over_and_follow_each_change(self):
        # Migration 0017 counts messages by campaign and state in a table
        # kept by triggers, in place of an index: stats and the queue's
        # totals read it, so it must start right and stay right.
        with sqlite3.connect(self.shop.database) as db:
            schema_at(db, 16)
            ana_and_her_sale(db)
            db.executemany("INSERT INTO messages (campaign, customer_id, sale_id, state,"
                           " due_at, created_at, updated_at) VALUES (?, 1, 1, ?, 0, 0, 0)",
                           [("thank-you", "sent"), ("review", "sent"),
                            ("refer", "scheduled")])
        self.shop.ok("migrate")
        counts = "SELECT campaign, state, n FROM message_counts WHERE n > 0 ORDER BY 1, 2"
        actual = ("SELECT campaign, state, count(*) FROM messages GROUP BY 1, 2 ORDER BY 1, 2")
        self.assertEqual(self.shop.query(counts),
                         [("refer", "scheduled", 1), ("review", "sent", 1),
                          ("thank-you", "sent", 1)])
        # Each kind of change: a new message, a state, a campaign, a deletion.
        with sqlite3.connect(self.shop.database) as db:
            db.execute("INSERT INTO messages (campaign, customer_id, sale_id, state,"
                       " due_at, created_at, updated_at)"
                       " VALUES ('win-back', 1, 1, 'scheduled', 0, 0, 0)")
            db.execute("UPDATE messages SET state = 'sending' WHERE campaign = 'refer'")
            db.execute("UPDATE messages SET campaign = 'renamed' WHERE campaign = 'thank-you'")
            db.execute("UPDATE messages SET due_at = 5")    # no state change: no count
            db.execute("DELETE FROM messages WHERE campaign = 'win-back'")
        self.assertEqual(self.shop.query(counts), self.shop.query(actual))
        self.assertEqual(self.shop.query(counts),
                         [("refer", "sending", 1), ("renamed", "sent", 1),
                          ("review", "sent", 1)])
        stats = self.shop.json("stats", "--json")
        self.assertEqual(stats["messages"]["sent"], 2)
        self.assertEqual(stats["messages"]["sending"], 1)
        self.assertEqual(self.shop.json("queue", "--json", "--state", "sent")["total"], 2)

    def test_sales_of_version_8_become_their_own_one_item(self):
        # Migration 0009 keeps line items; the sales recorded before it
        # read as they did: one item each, their sku, product and amount.
        with sqlite3.connect(self.shop.database) as db:
            schema_at(db, 8)
            db.execute("INSERT INTO customers (id, email, referral_code, created_at)"
                       " VALUES (1, 'ana@example.com', 'ABCDEFGH', 0)")
            db.executemany(
                "INSERT INTO sales (id, order_id, customer_id, sku, product, amount,"
                " currency, sold_at, recorded_at) VALUES (?, ?, 1, ?, ?, ?, 'EUR', ?, 0)",
                [(1, "A-1", "COFFEE-KE", "Kenya beans", 1990, 1772359200),
                 (2, "A-2", "", "", 500, 1772445600)])
        self.shop.ok("migrate")
        self.assertEqual(self.shop.query(
            "SELECT sale_id, position, sku, product, quantity, amount FROM sale_items"
            " ORDER BY sale_id, position"),
            [(1, 0, "COFFEE-KE", "Kenya beans", 1, 1990), (2, 0, "", "", 1, 500)])
        sales = self.shop.json("customer", "ana@example.com", "--json")["sales"]
        self.assertEqual([s["items"] for s in sales], [
            [{"sku": "COFFEE-KE", "product": "Kenya beans", "quantity": 1, "amount": "19.90"}],
            [{"sku": "", "product": "", "quantity": 1, "amount": "5.00"}]])
        # A sale recorded now without items is its own one item too.
        self.shop.sale("A-3", "bo@example.com", sku="TEA-1", amount="4.00")
        self.assertEqual(self.shop.query(
            "SELECT i.sku, i.quantity, i.amount FROM sale_items i JOIN sales s"
            " ON s.id = i.sale_id WHERE s.order_id = 'A-3'"), [("TEA-1", 1, 400)])

    def test_any_command_creates_it(self):
        self.shop.ok("stats")
        self.assertTrue(os.path.exists(self.shop.database))

    def test_second_run_is_a_no_op(self):
        self.shop.sale("A-1", "ana@example.com")
        self.shop.ok("migrate")
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM sales"), 1)

    def test_newer_database_is_refused(self):
        self.shop.ok("migrate")
        with sqlite3.connect(self.shop.database) as db:
            db.execute("PRAGMA user_version = 99")
        p = self.shop.run("sale", "add", "--order", "A-1", "--email", "ana@example.com")
        self.assertEqual(p.returncode, EX_UNAVAILABLE)
        self.assertIn("has schema version 99, newer than this aftersale knows (%d)" % LATEST, p.stderr)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM sales"), 0)
        self.assertEqual(self.shop.scalar("PRAGMA user_version"), 99)

    def test_not_a_database(self):
        self.shop.write("aftersale.db", "order_id,email\n" * 200)
        p = self.shop.run("migrate")
        self.assertEqual(p.returncode, EX_IOERR)
        self.assertIn("file is not a database", p.stderr)

    def test_missing_folder(self):
        with open(self.shop.config) as f:
            text = f.read().replace('"aftersale.db"', '"no/such/dir/a.db"')
        self.shop.write("aftersale.conf", text)
        p = self.shop.run("migrate")
        self.assertEqual(p.returncode, EX_IOERR)
        self.assertIn("cannot open database", p.stderr)
        self.assertIn("does its folder exist", p.stderr)


NOBODY = 65534


class ReadOnly(ShopTest):
    """The commands that only look work on a database they cannot write.
    Regression: stats, queue and customer switched the journal mode and
    migrated on open, so a read-only file could not even be read."""

    def setUp(self):
        # A folder an unprivileged user can reach wherever the checkout
        # lives (root's home is 0700): the reader runs as nobody when we
        # are root, since root writes through any file mode.
        self.base = tempfile.mkdtemp(prefix="aftersale-ro-", dir="/tmp")
        os.chmod(self.base, 0o755)
        self.shop = Shop(self.id().split(".")[-1], base=self.base)
        os.chmod(self.shop.dir, 0o755)
        self.user = NOBODY if os.geteuid() == 0 else None
        self.shop.sale("A-1", "ana@example.com", amount="12.00", currency="EUR")
        self.shop.sale("A-2", "ana@example.com", amount="8.00", currency="EUR")

    def tearDown(self):
        os.chmod(self.shop.dir, 0o755)
        shutil.rmtree(self.base, ignore_errors=True)

    def lock_down(self):
        for root, dirs, files in os.walk(self.shop.dir):
            for name in files:
                os.chmod(os.path.join(root, name), 0o444)
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o555)
        os.chmod(self.shop.dir, 0o555)

    def test_stats_queue_and_customer_read_a_read_only_database(self):
        before = open(self.shop.database, "rb").read()
        self.lock_down()
        for args in (["stats", "--json"], ["queue", "--json"],
                     ["customer", "ana@example.com", "--json"],
                     ["preview", "--campaign", "thank-you", "--order", "A-1"]):
            p = self.shop.run(*args, user=self.user)
            self.assertEqual(p.returncode, 0, "%s: %s" % (args, p.stderr))
        p = self.shop.run("stats", "--json", user=self.user)
        import json
        self.assertEqual(json.loads(p.stdout)["sales"]["orders"], 2)
        self.assertEqual(open(self.shop.database, "rb").read(), before)
        self.assertEqual(sorted(os.listdir(self.shop.dir)),
                         ["aftersale.conf", "aftersale.db", "templates"])
        p = self.shop.run("sale", "add", "--order", "A-3", "--email", "bo@example.com",
                          user=self.user)
        self.assertNotEqual(p.returncode, 0)

    def test_a_pending_migration_is_named_not_applied(self):
        self.shop.query("PRAGMA user_version = %d" % (LATEST - 1))
        self.lock_down()
        p = self.shop.run("stats", user=self.user)
        self.assertEqual(p.returncode, EX_UNAVAILABLE, p.stderr)
        self.assertIn("run `aftersale migrate`", p.stderr)
        # Read from the file's header: SQLite cannot open it read-only
        # without a -shm (we may not be root here).
        with open(self.shop.database, "rb") as f:
            header = f.read(100)
        self.assertEqual(int.from_bytes(header[60:64], "big"), LATEST - 1)


if __name__ == "__main__":
    main()
