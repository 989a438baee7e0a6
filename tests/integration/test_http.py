"""The daemon's front door with real clients (http.client, curl, raw
sockets): /healthz, /metrics, the unsubscribe link from a message that
aiosmtpd received, /r/CODE, the answers 404, 405 and 413, a client too
slow to finish its request, and the http block's checks."""

import email
import email.policy
import http.client
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Daemon, DaemonTest, ShopTest, main, recent  # noqa: E402
from smtpd import SmtpServer, free_port  # noqa: E402

THANK_YOU_NOW_REVIEW_LATER = """\
  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; },
  { name = "review-request"; on = "sale"; after = "7d"; template = "review"; }"""

# Prometheus' text format: comments, or `name{label="v",...} value`.
METRIC_LINE = re.compile(r'^(# (HELP|TYPE) \w+ .+|[a-z_]+(\{(\w+="[^"]*",?)+\})? -?[0-9.e+]+)$')


def http_config(port, extra=""):
    return ('http = { listen = [ "127.0.0.1:%d" ]; public_url = "https://acme.example/as";'
            ' max_body = "1kB"; %s };' % (port, extra))


class Front(DaemonTest):
    """A daemon listening for HTTP on a free port of 127.0.0.1."""

    http_extra = ""

    def start(self, campaigns=THANK_YOU_NOW_REVIEW_LATER, smtp_port=2525, shop_name=None,
              more=""):
        self.port = free_port()
        self.shop.write_config(extra=http_config(self.port, self.http_extra),
                               campaigns=campaigns, smtp_port=smtp_port)
        # The links default to http.public_url's when the file sets none.
        with open(self.shop.config) as f:
            text = "".join(line for line in f if not line.startswith(("referral ", "unsubscribe ")))
        if shop_name is not None:
            text = text.replace('name = "Acme Coffee"', 'name = "%s"' % shop_name)
        text += more
        with open(self.shop.config, "w") as f:
            f.write(text)
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("running")

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body) from one request on its own connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp, resp.read().decode()
        finally:
            conn.close()

    def curl(self, *args):
        p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                            "10"] + list(args), capture_output=True, text=True)
        return int(p.stdout or 0)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


class Health(Front):

    def test_healthz_answers_ok(self):
        self.start()
        status, _, body = self.request("GET", "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))
        self.assertEqual(self.curl("-I", self.url("/healthz")), 200)   # HEAD
        self.assertEqual(self.daemon.stop(), 0)

    def test_healthz_is_503_while_the_database_is_locked(self):
        self.start()
        holder = self.shop.db()
        holder.isolation_level = None
        holder.execute("BEGIN IMMEDIATE")          # the write lock, held
        try:
            start = time.monotonic()
            status, resp, _ = self.request("GET", "/healthz")
            self.assertEqual(status, 503)
            self.assertEqual(resp.getheader("Retry-After"), "5")
            self.assertLess(time.monotonic() - start, 2)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.assertEqual(self.request("GET", "/healthz")[0], 200)
        self.assertEqual(self.daemon.stop(), 0)

    def test_metrics_parse_as_prometheus_text(self):
        server = self.keep(SmtpServer().start())
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.start(smtp_port=server.port)
        server.wait_for(1)
        self.daemon.wait_states({"sent": 1, "scheduled": 1})
        self.request("GET", "/healthz")
        self.request("GET", "/nope")
        status, resp, body = self.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        values = {}
        for line in body.splitlines():
            self.assertRegex(line, METRIC_LINE)
            if not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        self.assertEqual(values['aftersale_messages{state="sent"}'], 1)
        self.assertEqual(values['aftersale_messages{state="scheduled"}'], 1)
        self.assertEqual(values['aftersale_deliveries_total{outcome="sent"}'], 1)
        self.assertEqual(values['aftersale_deliveries_total{outcome="failed"}'], 0)
        self.assertEqual(values['aftersale_http_requests_total{route="/healthz",code="200"}'], 1)
        self.assertEqual(values['aftersale_http_requests_total{route="other",code="404"}'], 1)
        self.assertEqual(values["aftersale_relay_up"], 1)
        self.assertEqual(values["aftersale_oldest_due_seconds"], 0)
        for family in ("aftersale_messages", "aftersale_deliveries_total",
                       "aftersale_http_requests_total", "aftersale_relay_up",
                       "aftersale_oldest_due_seconds"):
            self.assertIn("# TYPE %s " % family, body)
        self.assertEqual(self.daemon.stop(), 0)

    def test_no_http_block_no_listener(self):
        self.port = free_port()
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("running")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.assertNotIn("HTTP", self.daemon.text())
        self.assertEqual(self.daemon.stop(), 0)

    @unittest.skipUnless(shutil.which("systemd-socket-activate"),
                         "needs systemd-socket-activate (Debian's systemd)")
    def test_socket_passed_by_systemd(self):
        # As aftersale.socket does: the socket is made first, and the
        # daemon, started on the first connection, gets it (LISTEN_FDS).
        self.port = free_port()
        self.shop.write_config(extra="http = { listen = [ ]; };")
        self.daemon = Daemon(self.shop, launcher=["systemd-socket-activate", "-l",
                                                  "127.0.0.1:%d" % self.port])
        deadline = time.monotonic() + 10
        while True:         # the socket is there a moment after the start
            try:
                status, _, body = self.request("GET", "/healthz")
                break
            except ConnectionRefusedError:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
        self.assertEqual((status, body), (200, "ok\n"))
        self.assertNotIn("listening for HTTP on", self.daemon.text())
        self.assertEqual(self.daemon.stop(), 0)

    def test_an_address_in_use_stops_the_start(self):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        self.shop.write_config(extra=http_config(port))
        self.daemon = Daemon(self.shop)
        try:
            self.assertEqual(self.daemon.proc.wait(30), 69)
        finally:
            taken.close()
        self.assertIn('http.listen "127.0.0.1:%d": cannot listen there: Address already in use'
                      % port, self.daemon.text())


class Unsubscribe(Front):

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer().start())

    def consent(self):
        return self.shop.query("SELECT unsubscribed_at FROM customers")[0][0]

    def states(self):
        return dict(self.shop.query("SELECT state, count(*) FROM messages GROUP BY state"))

    def sent_token(self):
        """The token in the List-Unsubscribe of the one message sent."""
        (_, _, raw), = self.server.wait_for(1)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        link = re.fullmatch(r"<https://acme\.example/as/u/(\w+)>", msg["List-Unsubscribe"])
        self.assertIsNotNone(link, msg["List-Unsubscribe"])
        return link.group(1)

    def click(self, token):
        """The one-click POST: its status and page."""
        status, _, page = self.request(
            "POST", "/u/" + token, body="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        return status, page

    def test_the_link_in_the_message_unsubscribes_by_post_only(self):
        self.shop.sale("A-1", "ana@example.com", name="Ana", at=recent())
        self.start(smtp_port=self.server.port, shop_name="Acme <b>&</b> Co")
        (_, _, raw), = self.server.wait_for(1)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        link = re.fullmatch(r"<(https://acme\.example/as/u/\w+)>", msg["List-Unsubscribe"])
        self.assertIsNotNone(link, msg["List-Unsubscribe"])
        # The proxy passes http.public_url's path on: /as/u/TOKEN.
        path = urllib.parse.urlsplit(link.group(1)).path
        self.daemon.wait_states({"sent": 1, "scheduled": 1})

        # A GET (a link scanner, a preview) changes nothing.
        status, resp, page = self.request("GET", path)
        self.assertEqual(status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/html"))
        self.assertIn("default-src 'none'", resp.getheader("Content-Security-Policy"))
        self.assertIn("ana@example.com", page)
        self.assertIn("Acme &lt;b&gt;&amp;&lt;/b&gt; Co", page)
        self.assertNotIn("<b>&", page)
        self.assertIn('<form method="post"', page)
        self.assertIsNone(self.consent())
        self.assertEqual(self.states(), {"sent": 1, "scheduled": 1})

        # RFC 8058's one click, as a mail provider sends it.
        status, _, page = self.request(
            "POST", path, body="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.assertIn("no more follow-up emails", page)
        self.assertIsNotNone(self.consent())
        self.assertEqual(self.states(), {"sent": 1, "suppressed": 1})
        first = self.consent()

        # Again (a retry, the page's button after the provider's click):
        # still 200, nothing moves.
        self.assertEqual(self.curl("-d", "List-Unsubscribe=One-Click",
                                   self.url(path.replace("/as", "", 1))), 200)
        self.assertEqual(self.consent(), first)
        self.assertIn("unsubscribed by its link; 1 waiting message suppressed",
                      self.daemon.text())
        self.assertEqual(self.daemon.stop(), 0)

    def test_unknown_token_and_bad_body(self):
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.start(smtp_port=self.server.port)
        token = self.sent_token()
        self.daemon.wait_states({"sent": 1, "scheduled": 1})
        unknown = "0" * len(token)
        self.assertEqual(self.request("GET", "/u/" + unknown)[0], 404)
        self.assertEqual(self.request("POST", "/u/" + unknown,
                                      body="List-Unsubscribe=One-Click")[0], 404)
        self.assertEqual(self.request("POST", "/u/not-a-token",
                                      body="List-Unsubscribe=One-Click")[0], 404)
        self.assertEqual(self.request("POST", "/u/" + token, body="hello")[0], 400)
        self.assertIsNone(self.consent())
        # The multipart form some providers post is one click too.
        self.assertEqual(self.curl("-F", "List-Unsubscribe=One-Click",
                                   self.url("/u/" + token)), 200)
        self.assertIsNotNone(self.consent())
        self.assertNotIn(token, self.daemon.text())
        self.assertEqual(self.daemon.stop(), 0)

    def test_a_new_customers_token_is_derived_not_stored(self):
        # Issue 13: the token is the customer id enciphered with the
        # shop's key, so building and sending a message writes none.
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.start(smtp_port=self.server.port)
        token = self.sent_token()
        self.daemon.wait_states({"sent": 1, "scheduled": 1})
        self.assertEqual(token, self.shop.token_of("ana@example.com"))
        self.assertIsNone(self.shop.scalar("SELECT unsubscribe_token FROM customers"))
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM customers"
                                          " WHERE unsubscribe_token IS NOT NULL"), 0)

        # One symbol changed, anywhere: unknown, like a token nobody has.
        _, _, nobody = self.request("GET", "/u/" + "0" * 26)
        for i in range(len(token)):
            bad = token[:i] + ("7" if token[i] != "7" else "3") + token[i + 1:]
            status, _, page = self.request("GET", "/u/" + bad)
            self.assertEqual((status, page), (404, nobody), bad)
            self.assertEqual(self.click(bad)[0], 404, bad)
        self.assertIsNone(self.consent())

        status, _, page = self.request("GET", "/u/" + token)
        self.assertEqual(status, 200)
        self.assertIn("ana@example.com", page)
        self.assertIsNone(self.consent())
        status, page = self.click(token)
        self.assertEqual(status, 200)
        self.assertIn("no more follow-up emails", page)
        self.assertIsNotNone(self.consent())
        self.assertEqual(self.states(), {"sent": 1, "suppressed": 1})
        self.assertIsNone(self.shop.scalar("SELECT unsubscribe_token FROM customers"))
        self.assertEqual(self.daemon.stop(), 0)

    def test_a_token_drawn_before_keeps_working(self):
        # A customer from before migration 0016 has a drawn token in
        # their row, and old mail carrying it: it stays theirs, and the
        # one their id would give is nobody's.
        self.shop.sale("A-1", "ana@example.com", at=recent())
        derived = self.shop.token_of("ana@example.com")
        drawn = "K3X9QF2MK3X9QF2MK3X9QF2MAB"
        self.shop.query("UPDATE customers SET unsubscribe_token = ?", drawn)
        self.start(smtp_port=self.server.port)
        self.assertEqual(self.sent_token(), drawn)
        self.daemon.wait_states({"sent": 1, "scheduled": 1})
        self.assertEqual(self.request("GET", "/u/" + derived)[0], 404)
        self.assertEqual(self.click(derived)[0], 404)
        self.assertIsNone(self.consent())
        status, _, page = self.request("GET", "/u/" + drawn)
        self.assertEqual(status, 200)
        self.assertIn("ana@example.com", page)
        self.assertEqual(self.click(drawn)[0], 200)
        self.assertIsNotNone(self.consent())
        self.assertEqual(self.states(), {"sent": 1, "suppressed": 1})
        self.assertEqual(self.shop.scalar("SELECT unsubscribe_token FROM customers"), drawn)
        self.assertEqual(self.daemon.stop(), 0)

    def test_an_empty_stored_token_is_no_token(self):
        # A hand-edited row with '' for a token: the mail carries the
        # derived token, and that token must then be the customer's.
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.shop.query("UPDATE customers SET unsubscribe_token = ''")
        self.start(smtp_port=self.server.port)
        token = self.sent_token()
        self.assertEqual(token, self.shop.token_of("ana@example.com"))
        self.daemon.wait_states({"sent": 1, "scheduled": 1})
        self.assertEqual(self.click(token)[0], 200)
        self.assertIsNotNone(self.consent())
        self.assertEqual(self.daemon.stop(), 0)

    def test_an_erased_customers_token_is_unknown(self):
        # As with a drawn token (erasure clears it), the page for a
        # derived one answers as for a token nobody ever had.
        self.shop.sale("A-1", "ana@example.com", at=recent())
        self.shop.sale("B-1", "bo@example.com", at=recent())
        self.start(smtp_port=self.server.port)
        self.daemon.wait_states({"sent": 2, "scheduled": 2})
        token = self.shop.token_of("ana@example.com")
        self.assertEqual(self.request("GET", "/u/" + token)[0], 200)
        _, _, nobody = self.request("GET", "/u/" + "0" * 26)
        self.shop.ok("customer", "erase", "ana@example.com", "--yes")
        status, _, page = self.request("GET", "/u/" + token)
        self.assertEqual((status, page), (404, nobody))
        self.assertEqual(self.click(token), (404, nobody))
        self.assertEqual(self.request("GET", "/u/" + self.shop.token_of("bo@example.com"))[0],
                         200)
        self.assertEqual(self.daemon.stop(), 0)


class Referral(Front):

    def test_redirect_with_the_code_and_count(self):
        self.shop.sale("A-1", "ana@example.com", at=recent())
        code = self.shop.code_of("ana@example.com")
        self.start()
        status, resp, _ = self.request("GET", "/r/" + code)
        self.assertEqual(status, 302)
        self.assertEqual(resp.getheader("Location"), "https://acme.example/?ref=" + code)
        # As typed by a person: lower case, a hyphen.
        status, resp, _ = self.request("GET", "/as/r/%s-%s" % (code[:4].lower(), code[4:]))
        self.assertEqual((status, resp.getheader("Location")),
                         (302, "https://acme.example/?ref=" + code))
        self.assertEqual(self.shop.query("SELECT c.email, k.clicks FROM referral_clicks k"
                                         " JOIN customers c ON c.id = k.customer_id"),
                         [("ana@example.com", 2)])
        day = self.shop.scalar("SELECT day FROM referral_clicks")
        self.assertEqual(day % 86400, 0)
        self.assertLessEqual(time.time() - day, 86400)
        # An unknown code goes to the shop, and counts nothing.
        status, resp, _ = self.request("GET", "/r/ZZZZZZZZ")
        self.assertEqual((status, resp.getheader("Location")), (302, "https://acme.example"))
        self.assertEqual(self.shop.scalar("SELECT sum(clicks) FROM referral_clicks"), 2)
        self.assertEqual(self.daemon.stop(), 0)

    def test_landing_is_configurable(self):
        self.shop.sale("A-1", "ana@example.com")
        code = self.shop.code_of("ana@example.com")
        self.start(more='referral = { landing = "https://shop.example/discount/'
                   '{{referral.code}}"; };\n')
        status, resp, _ = self.request("GET", "/r/" + code)
        self.assertEqual(resp.getheader("Location"), "https://shop.example/discount/" + code)
        self.assertEqual(self.daemon.stop(), 0)


class Limits(Front):

    http_extra = 'timeout = "2s";'

    def test_404_and_405(self):
        self.start()
        self.assertEqual(self.request("GET", "/nope")[0], 404)
        self.assertEqual(self.request("GET", "/u/")[0], 404)
        self.assertEqual(self.request("GET", "/u/A/B")[0], 404)
        status, resp, _ = self.request("DELETE", "/healthz")
        self.assertEqual((status, resp.getheader("Allow")), (405, "GET, HEAD"))
        status, resp, _ = self.request("PUT", "/u/ABC")
        self.assertEqual((status, resp.getheader("Allow")), (405, "GET, HEAD, POST"))
        self.assertEqual(self.curl("-X", "POST", self.url("/r/ABC")), 405)
        self.assertIn("http: GET /nope from 127.0.0.1:", self.daemon.text())
        self.assertEqual(self.daemon.stop(), 0)

    def test_413_from_content_length_before_the_body(self):
        self.start()
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        # 10 MB announced, none of it sent: the answer comes anyway.
        sock.sendall(b"POST /u/ABC HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        answer = sock.recv(4096).decode()
        sock.close()
        self.assertTrue(answer.startswith("HTTP/1.1 413 "), answer)
        # Within the limit, the body is read and judged.
        self.assertEqual(self.request("POST", "/u/ABC", body="x" * 1024)[0], 404)
        self.assertEqual(self.request("POST", "/u/ABC", body="x" * 1025)[0], 413)
        self.assertEqual(self.daemon.stop(), 0)

    def test_413_for_a_chunked_body(self):
        self.start()
        big = self.shop.write("big", "x" * 5000)
        self.assertEqual(self.curl("-H", "Transfer-Encoding: chunked", "--data-binary",
                                   "@" + big, self.url("/u/ABC")), 413)
        small = self.shop.write("small", "x" * 100)
        self.assertEqual(self.curl("-H", "Transfer-Encoding: chunked", "--data-binary",
                                   "@" + small, self.url("/u/ABC")), 404)
        # A chunked body that goes on and on is cut off, not read for ever:
        # past 8 times max_body the connection closes, with no answer.
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(b"POST /u/ABC HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(16):
                sock.sendall(b"400\r\n" + b"x" * 1024 + b"\r\n")
            answer = sock.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""
        sock.close()
        self.assertEqual(answer, b"")
        self.assertEqual(self.request("GET", "/healthz")[0], 200)
        self.assertEqual(self.daemon.stop(), 0)

    def test_a_slow_client_is_cut_off_while_others_are_served(self):
        self.start()
        slow = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n\r\n"
        start = time.monotonic()
        closed_after = None
        served = 0
        for byte in request:
            try:
                slow.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - start
                break
            # Another client, meanwhile, is answered at once.
            t = time.monotonic()
            self.assertEqual(self.request("GET", "/healthz")[0], 200)
            self.assertLess(time.monotonic() - t, 0.5)
            served += 1
            ready, _, _ = select.select([slow], [], [], 1.0)
            if ready:
                try:
                    data = slow.recv(4096)
                except ConnectionResetError:
                    data = b""
                self.assertEqual(data, b"", "the slow client was answered")
                closed_after = time.monotonic() - start
                break
        slow.close()
        self.assertIsNotNone(closed_after, "the slow client was never cut off")
        # http.timeout is 2 s; the sweep looks every quarter second.
        self.assertGreaterEqual(closed_after, 1.9)
        self.assertLess(closed_after, 4)
        self.assertGreaterEqual(served, 2)
        self.daemon.wait_log("sent no whole request within 2 s; connection closed")
        self.assertEqual(self.daemon.stop(), 0)


class Config(ShopTest):

    def check(self, http_block):
        self.shop.write_config(extra=http_block)
        p = self.shop.run("check-config")
        line = 1 + open(self.shop.config).read().split("http = {")[0].count("\n")
        return p, line

    def test_bad_values_name_file_and_line(self):
        for value, piece in (('listen = [ "127.0.0.1" ];',
                              'http.listen: "127.0.0.1" is not an address and port'),
                             ('listen = [ "127.0.0.1:0" ];', "is not an address and port"),
                             ('listen = [ "[::1:80" ];', "is not an address and port"),
                             ('listen = "127.0.0.1:80";', "http.listen must be a list"),
                             ('max_body = "lots";', 'http.max_body: "lots" is not a size'),
                             ('max_body = "1GB";', "http.max_body is 1073741824 bytes; it must "
                              "be from 1kB to 64MB"),
                             ('public_url = "ftp://acme.example";', "http.public_url"),
                             ('timeout = "soon";', "http.timeout")):
            p, line = self.check("http = {\n  %s\n};" % value)
            self.assertEqual(p.returncode, 78, value)
            self.assertIn("%s:%d: " % (self.shop.config, line + 1), p.stderr, value)
            self.assertIn(piece, p.stderr, value)

    def test_good_values(self):
        p, _ = self.check('http = { listen = [ "127.0.0.1:8025", "[::1]:8025", "*:80" ];'
                          ' public_url = "https://acme.example/as/"; max_body = "512kB";'
                          ' timeout = "30s"; };')
        self.assertEqual(p.returncode, 0, p.stderr)
        p, _ = self.check("http = { listen = [ ]; max_body = 2048; };")
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    main()
