"""Customers' data rights: `customer export` lists every fact the test put
in; `customer erase` takes the address and name out of the database file's
bytes (WAL included) while the daemon runs, leaves the stats as they were,
and sends old links nowhere."""

import calendar
import contextlib
import http.client
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Daemon, DaemonTest, ShopTest, main  # noqa: E402
from smtpd import SmtpServer, free_port  # noqa: E402

EX_DATAERR, EX_TEMPFAIL = 65, 75
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
        self.code = self.shop.code_of(ANA)
        self.shop.sale("B-1", "bo@example.com", name="Bo Vance", amount="7.00",
                       at=iso(self.now - 2 * 86400), referral=self.code.lower())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 4, "scheduled": 4})
        for _ in range(2):
            self.assertEqual(self.request("GET", "/r/" + self.code)[0], 302)
        self.ana = self.shop.scalar("SELECT id FROM customers WHERE email = ?", ANA)
        self.token = self.shop.scalar("SELECT unsubscribe_token FROM customers WHERE id = ?",
                                      self.ana)

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
            "referred_by": {"order_id": "A-1", "code": self.cy_code, "at": iso(referred_at)}})
        self.assertLess(abs(calendar.timegm(time.strptime(x["exported_at"], ISO)) - time.time()),
                        60)
        sales = [(s["order_id"], s["sold_at"], s["amount"], s["currency"], s["sku"],
                  s["product"], s["repeat"], s["referral_code"]) for s in x["sales"]]
        self.assertEqual(sales, [
            ("A-1", iso(self.now - 8 * 86400), "19.90", "EUR", "", "Beans", False, self.cy_code),
            ("A-2", iso(self.now - 3 * 86400), "5.00", "EUR", "MUG-1", "", True, "")])
        # Bo's referral, without Bo's address: it is Bo's.
        self.assertEqual(len(x["referred"]), 1)
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
                db.execute("UPDATE messages SET body = substr(body || zeroblob(8000), 1,"
                           " length(body) + ?) WHERE customer_id = ?", (grow, self.ana))
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


if __name__ == "__main__":
    main()
