"""Customers' data rights: `customer export` lists every fact the test put
in; `customer erase` takes the address and name out of the database file's
bytes (WAL included) while the daemon runs, leaves the stats as they were,
and sends old links nowhere; privacy.retention erases exactly the
customers with no sale for that long, and privacy.keep_message_bodies
drops only old bodies of messages that are done."""

import calendar
import contextlib
import http.client
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Clock, Daemon, DaemonTest, ShopTest, main  # noqa: E402
from smtpd import SmtpServer, free_port  # noqa: E402

EX_DATAERR, EX_TEMPFAIL, EX_CONFIG = 65, 75, 78
ANA, NAME, FIRST = "Anastasia.Quixote@Example.com", "Anastasia Quixote", "Anastasia"
CAMPAIGNS = """\
  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; },
  { name = "win-back"; on = "sale"; after = "60d"; template = "win-back"; }"""


ISO = "%Y-%m-%dT%H:%M:%SZ"


def iso(t):
    return time.strftime(ISO, time.gmtime(t))


class Rights(DaemonTest):
    """Cy referred Ana, Ana referred Bo; Ana bought twice and her link was
    clicked twice; each sale's thank-you went out through a real SMTP
    server, and its win-back waits.  The daemon listens for HTTP."""

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer().start())
        self.port = free_port()
        self.shop.write_config(campaigns=CAMPAIGNS, smtp_port=self.server.port, extra=(
            'http = { listen = [ "127.0.0.1:%d" ]; public_url = "https://acme.example/as"; };'
            % self.port))
        # The links default to http.public_url's: /u/TOKEN and /r/CODE.
        with open(self.shop.config) as f:
            text = "".join(line for line in f
                           if not line.startswith(("referral ", "unsubscribe ")))
        with open(self.shop.config, "w") as f:
            f.write(text)
        self.now = int(time.time())
        self.shop.sale("C-1", "cy@example.com", name="Cy Ode", at=iso(self.now - 9 * 86400))
        self.cy_code = self.shop.code_of("cy@example.com")
        self.shop.sale("A-1", ANA, name=NAME, amount="19.90", product="Beans",
                       at=iso(self.now - 8 * 86400), referral=self.cy_code)
        self.shop.sale("A-2", ANA, amount="5.00", sku="MUG-1", at=iso(self.now - 3 * 86400))
        # A refund whose reason names her: free text is personal data too.
        self.shop.ok("sale", "refund", "--order", "A-1", "--amount", "2.00", "--id", "RF-1",
                     "--at", iso(self.now - 7 * 86400), "--reason", "%s: a dented tin" % NAME)
        self.code = self.shop.code_of(ANA)
        self.shop.sale("B-1", "bo@example.com", name="Bo Vance", amount="7.00",
                       at=iso(self.now - 2 * 86400), referral=self.code.lower())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 4, "scheduled": 4})
        for _ in range(2):
            self.assertEqual(self.request("GET", "/r/" + self.code)[0], 302)
        self.ana = self.shop.scalar("SELECT id FROM customers WHERE email = ?", ANA)
        # Ana's token is derived from her id, not stored (issue 13): the
        # one her mail carries.
        self.token = self.shop.token_of(ANA)
        self.assertIsNone(self.shop.scalar("SELECT unsubscribe_token FROM customers WHERE id = ?",
                                           self.ana))
        links = {re.search(rb"^List-Unsubscribe: <https://acme\.example/as/u/(\w+)>",
                           m[2], re.M).group(1).decode()
                 for m in self.server.received() if m[1] == [ANA]}
        self.assertEqual(links, {self.token})

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded"} if body else {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Location"), resp.read()
        finally:
            conn.close()

    def file_bytes(self):
        data = b""
        for name in (self.shop.database, self.shop.database + "-wal"):
            if os.path.exists(name):
                with open(name, "rb") as f:
                    data += f.read()
        return data

    def stats(self):
        s = self.shop.json("stats", "--json")
        del s["generated_at"]
        return s

    def test_export_lists_every_fact(self):
        x = self.shop.json("customer", "export", ANA.lower())
        created, referred_at = self.shop.query(
            "SELECT c.created_at, r.created_at FROM customers c"
            " JOIN referrals r ON r.referred_id = c.id WHERE c.id = ?", self.ana)[0]
        self.assertEqual(x["customer"], {
            "email": ANA, "name": NAME, "referral_code": self.code,
            "unsubscribe_token": self.token, "created_at": iso(created),
            "unsubscribed_at": None, "bounced_at": None,
            "referred_by": {"order_id": "A-1", "code": self.cy_code, "at": iso(referred_at),
                            "state": "confirmed"}})
        self.assertLess(abs(calendar.timegm(time.strptime(x["exported_at"], ISO)) - time.time()),
                        60)
        sales = [(s["order_id"], s["sold_at"], s["amount"], s["currency"], s["sku"],
                  s["product"], s["repeat"], s["referral_code"]) for s in x["sales"]]
        self.assertEqual(sales, [
            ("A-1", iso(self.now - 8 * 86400), "19.90", "EUR", "", "Beans", False, self.cy_code),
            ("A-2", iso(self.now - 3 * 86400), "5.00", "EUR", "MUG-1", "", True, "")])
        self.assertEqual(x["sale_items"], [
            {"order_id": "A-1", "sku": "", "product": "Beans", "quantity": 1, "amount": "19.90"},
            {"order_id": "A-2", "sku": "MUG-1", "product": "", "quantity": 1, "amount": "5.00"}])
        self.assertEqual([(r["order_id"], r["refund_id"], r["amount"], r["reason"], r["source"])
                          for r in x["refunds"]],
                         [("A-1", "RF-1", "2.00", "%s: a dented tin" % NAME, "cli")])
        # Bo's referral, without Bo's address: it is Bo's.
        self.assertEqual([r["state"] for r in x["referred"]], ["confirmed"])
        self.assertNotIn("bo@example.com", str(x))
        self.assertEqual([c["clicks"] for c in x["referral_clicks"]], [2])
        self.assertEqual(x["referral_clicks"][0]["day"],
                         iso(int(time.time()) - int(time.time()) % 86400))

        # Every message, with the bytes that reached the SMTP server.
        received = {m[2].decode(): m[1] for m in self.server.received()}
        messages = [(m["campaign"], m["order_id"], m["state"]) for m in x["messages"]]
        self.assertEqual(sorted(messages), [("thank-you", "A-1", "sent"), ("thank-you", "A-2", "sent"),
                                            ("win-back", "A-1", "scheduled"),
                                            ("win-back", "A-2", "scheduled")])
        for m in x["messages"]:
            if m["state"] == "sent":
                self.assertEqual(received.get(m["text"]), [ANA])
                self.assertIn(NAME, m["text"])
                self.assertIn("Hello " + FIRST, m["text"])
                self.assertIsNotNone(m["sent_at"])
            else:
                self.assertIsNone(m["text"])
                self.assertIsNone(m["sent_at"])
        self.assertEqual(self.daemon.stop(), 0)

    def test_erase_takes_the_bytes_and_keeps_the_stats(self):
        before = self.stats()
        needles = [ANA.encode(), ANA.lower().encode(), NAME.encode(), FIRST.encode(),
                   self.token.encode()]
        # A writer without secure_delete (a SQLite built without it, the
        # sqlite3 shell told so) leaves old copies of Ana's messages in the
        # pages it frees: here, the overflow pages of a body grown and cut.
        with contextlib.closing(self.shop.db()) as db, db:
            db.execute("PRAGMA secure_delete = OFF")
            for grow in (8000, -8000):
                db.execute("UPDATE message_bodies SET body = substr(body || zeroblob(8000), 1,"
                           " length(body) + ?) WHERE message_id IN"
                           " (SELECT id FROM messages WHERE customer_id = ?)", (grow, self.ana))
        self.assertTrue(all(n in self.file_bytes() for n in needles[:3]))

        out = self.shop.ok("customer", "erase", ANA, "--yes")     # the daemon runs
        self.assertEqual(out, "customer %d erased:\n"
                         "  its address, name, referral code and unsubscribe token\n"
                         "  2 message bodies, 1 day of referral clicks\n"
                         "  2 waiting messages, cancelled\n"
                         "  2 sales kept, without a name, for the stats\n" % self.ana)
        self.assertNotIn("@", out)
        self.assertNotIn(FIRST, out)
        data = self.file_bytes()
        for n in needles:
            self.assertFalse(n in data, "%r is still in the database file" % n)

        # The stats are those of before: only the two win-backs that were
        # waiting are cancelled, and Ana, a top referrer, has no address.
        after = self.stats()
        before["messages"]["scheduled"] -= 2
        before["messages"]["cancelled"] += 2
        win_back = [c for c in before["campaigns"] if c["name"] == "win-back"][0]
        win_back["scheduled"] -= 2
        win_back["cancelled"] += 2
        ana = [r for r in before["top_referrers"] if r["email"] == ANA][0]
        ana["email"] = ana["code"] = "erased:%d" % self.ana
        self.assertEqual(after, before)

        # Old links lead nowhere; the daemon reads on and still sends.
        self.assertEqual(self.request("GET", "/u/" + self.token)[0], 404)
        self.assertEqual(self.request("POST", "/u/" + self.token,
                                      "List-Unsubscribe=One-Click")[0], 404)
        status, location, _ = self.request("GET", "/r/" + self.code)
        self.assertEqual((status, location), (302, "https://acme.example"))
        self.assertEqual(self.shop.scalar("SELECT sum(clicks) FROM referral_clicks"), None)
        self.assertFails(EX_DATAERR, "customer", "erase", ANA, "--yes",
                         stderr='no customer has the address "%s"' % ANA)
        self.assertFails(EX_DATAERR, "customer", "export", ANA)

        # The same order again changes nothing; a new sale is a new customer.
        self.assertIn("1 duplicate skipped", self.shop.sale("A-1", ANA, name=NAME, amount="19.90",
                                                             product="Beans",
                                                             at=iso(self.now - 8 * 86400)))
        self.shop.sale("A-3", ANA.lower(), at=iso(self.now))
        x = self.shop.json("customer", "export", ANA)
        self.assertEqual([s["order_id"] for s in x["sales"]], ["A-3"])
        self.assertEqual((x["customer"]["name"], x["customer"]["referred_by"]), ("", None))
        self.server.wait_for(5)
        self.assertEqual(self.shop.json("stats", "--json")["sales"]["customers"], 4)
        self.assertEqual(self.daemon.stop(), 0)

    def test_dry_run_changes_nothing(self):
        def dump():
            with self.shop.db() as db:
                return list(db.iterdump())
        before = dump()
        out = self.shop.ok("customer", "erase", ANA.upper())
        self.assertIn("customer %d would be erased" % self.ana, out)
        self.assertIn("2 message bodies", out)
        self.assertIn("add --yes to erase", out)
        self.assertEqual(dump(), before)
        self.assertEqual(self.daemon.stop(), 0)


class Unknown(ShopTest):

    def test_unknown_address_is_bad_input(self):
        self.shop.sale("A-1", "ana@example.com")
        for command in ("erase", "export"):
            self.assertFails(EX_DATAERR, "customer", command, "bo@example.com",
                             stderr='no customer has the address "bo@example.com"')
            self.assertFails(EX_DATAERR, "customer", command, "erased:1",
                             stderr='"erased:1" is not an address')
        self.assertEqual(self.shop.scalar("SELECT email FROM customers"), "ana@example.com")

    def test_erase_says_when_a_reader_keeps_the_old_pages(self):
        self.shop.sale("A-1", "ana@example.com", name="Ana Lima")
        reader = self.shop.db()
        reader.isolation_level = None
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM customers").fetchall()
        try:
            p = self.shop.run("customer", "erase", "ana@example.com", "--yes")
        finally:
            reader.execute("COMMIT")
            reader.close()
        self.assertEqual(p.returncode, EX_TEMPFAIL, p.stderr)
        self.assertIn("customer 1 erased", p.stdout)
        self.assertIn("another process kept reading", p.stderr)
        self.assertIn("old copies of the erased data may remain", p.stderr)
        self.assertEqual(self.shop.query("SELECT email, name FROM customers"), [("erased:1", "")])

    def test_privacy_keys_are_checked(self):
        self.shop.write_config(extra='privacy = {\n  retention = "3x";\n'
                               '  keep_message_bodies = "1h";\n  retension = "1y";\n};')
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, EX_CONFIG)
        line = [i for i, s in enumerate(open(self.shop.config), 1) if "retention" in s][0]
        self.assertIn('aftersale.conf:%d: privacy.retention: "3x" is not a duration' % line,
                      p.stderr)
        self.assertIn("aftersale.conf:%d: privacy.keep_message_bodies is 1h; it must be from "
                      "1d to" % (line + 1), p.stderr)
        self.assertIn('aftersale.conf:%d: unknown key "privacy.retension" (did you mean '
                      '"privacy.retention"?)' % (line + 2), p.stderr)


YEAR = 365 * 86400
DAY = 86400


class Retention(DaemonTest):
    """The daemon applies privacy.* at start, its clock moved from outside."""

    campaigns = ""

    def test_retention_erases_customers_with_no_recent_sale(self):
        self.shop.write_config(campaigns="", extra='privacy = { retention = "3y"; };')
        now = int(time.time())
        sales = [("O-1", "old@example.com", "Olga Old", now - 4 * YEAR),
                 ("O-2", "older@example.com", "Otto Older", now - 5 * YEAR),
                 ("O-3", "older@example.com", "", now - 4 * YEAR - 10 * DAY),
                 ("R-1", "recent@example.com", "Rita Recent", now - 2 * YEAR),
                 ("K-1", "kept@example.com", "Kim Kept", now - 4 * YEAR),
                 ("K-2", "kept@example.com", "", now - 30 * DAY)]
        for order, email, name, at in sales:
            self.shop.sale(order, email, name=name, amount="10.00", at=iso(at))
        stats = self.shop.json("stats", "--json")["sales"]

        clock = Clock(self.shop)
        clock.set(DAY)          # a day on: still, nothing is within the margin
        self.daemon = Daemon(self.shop, clock=clock)
        self.daemon.wait_log("privacy: erased 2 customers with no sale in 1095 days")
        emails = [r[0] for r in self.shop.query("SELECT email FROM customers ORDER BY id")]
        ids = [r[0] for r in self.shop.query("SELECT id FROM customers ORDER BY id")]
        self.assertEqual(emails, ["erased:%d" % ids[0], "erased:%d" % ids[1],
                                  "recent@example.com", "kept@example.com"])
        self.assertEqual(self.shop.query("SELECT name FROM customers ORDER BY id"),
                         [("",), ("",), ("Rita Recent",), ("Kim Kept",)])
        data = b""
        for name in (self.shop.database, self.shop.database + "-wal"):
            with open(name, "rb") as f:
                data += f.read()
        for gone in (b"old@example.com", b"older@example.com", b"Olga Old", b"Otto Older"):
            self.assertFalse(gone in data, "%r is still in the database file" % gone)
        privacy_lines = [s for s in self.daemon.text().splitlines() if "privacy" in s]
        self.assertFalse(any("@" in s for s in privacy_lines), privacy_lines)
        after = json.loads(self.shop.ok("stats", "--json", env=clock.env()))
        self.assertEqual(after["sales"], stats)
        self.assertEqual(self.daemon.stop(), 0)

        # Erased once: the next start finds only the one who is new.
        self.shop.sale("L-1", "late@example.com", at=iso(now - 4 * YEAR))
        self.daemon = Daemon(self.shop, clock=clock)
        self.daemon.wait_log("privacy: erased 1 customer with no sale in 1095 days")
        self.assertEqual(self.daemon.stop(), 0)

    def test_keep_message_bodies_drops_only_old_bodies_of_done_messages(self):
        self.shop.write_config(campaigns="", extra='privacy = { keep_message_bodies = "90d"; };')
        self.shop.sale("A-1", "ana@example.com", at=iso(time.time() - 200 * DAY))
        now = int(time.time())
        old, recent, later = now - 100 * DAY, now - 10 * DAY, now + 30 * DAY
        rows = {  # campaign: state, due, updated, sent
            "sent-old": ("sent", old, old, old),
            "sent-recent": ("sent", old, recent, recent),
            "failed-old": ("failed", old, old, None),
            "cancelled-recent": ("cancelled", old, recent, None),
            "deferred-old": ("deferred", later, old, None),
            "scheduled-old": ("scheduled", later, old, None),
        }
        for campaign, (state, due, updated, sent) in rows.items():
            self.shop.query("INSERT INTO messages (campaign, customer_id, sale_id, state,"
                            " due_at, created_at, updated_at, sent_at)"
                            " SELECT ?, customer_id, id, ?, ?, ?, ?, ? FROM sales",
                            campaign, state, due, old, updated, sent)
            self.shop.query("INSERT INTO message_bodies (message_id, body)"
                            " SELECT id, ? FROM messages WHERE campaign = ?",
                            b"To: ana@example.com\r\n\r\n" + campaign.encode(), campaign)
        clock = Clock(self.shop)
        self.daemon = Daemon(self.shop, clock=clock)
        self.daemon.wait_log("privacy: dropped 2 message bodies older than 90 days")
        kept = [r[0] for r in self.shop.query("SELECT campaign FROM messages JOIN"
                                              " message_bodies ON message_id = id"
                                              " ORDER BY campaign")]
        self.assertEqual(kept, ["cancelled-recent", "deferred-old", "scheduled-old",
                                "sent-recent"])
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM messages"), len(rows))
        self.assertEqual(self.daemon.stop(), 0)


if __name__ == "__main__":
    main()
