"""A burst of signed Shopify webhooks (orders/paid, one order each) from 16
concurrent clients, each a thread with its own keep-alive http.client
connection: every delivery answered 2xx is stored exactly once, none lost.
Then the same burst with the daemon SIGKILLed in the middle and restarted:
every order answered 2xx before the kill is in the database, and the
clients' retries of the rest (same delivery ids, as Shopify retries) store
nothing twice.  Concurrent sales share their durable commits (group
commit, counted by aftersale_http_commits_total), and a shared commit that
fails (a full disk) answers every sale in it 503 and stores none.

BURST_WEBHOOKS (default 2000) sets the burst's size; bench/webhooks.py
measures its throughput."""

import base64
import errno
import hashlib
import hmac
import http.client
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Daemon, DaemonTest, main, recent  # noqa: E402
from smtpd import free_port  # noqa: E402

# The two cases each run a burst that keeps the machine's cores busy; side
# by side they would only slow each other down past the clients' timeouts.
PARALLEL = False

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "webhooks")
SECRET = "shpss_b0a7c0ffee0ddba11d00d5ca1ab1e99"
WEBHOOKS = int(os.environ.get("BURST_WEBHOOKS", "2000"))
CLIENTS = 16
KILL_AFTER = WEBHOOKS // 4     # 2xx answers before the SIGKILL


def shopify_order(i):
    """Shopify's documented test order as order #B-i of customer i (its
    payload and its delivery id are the same on every retry)."""
    with open(os.path.join(FIXTURES, "shopify_order.json")) as f:
        text = f.read()
    text = text.replace('"name": "#9999"', '"name": "#B-%d"' % i, 1)
    text = text.replace("jon@example.com", "buyer%d@example.com" % i)
    text = text.replace('"processed_at": "2026-03-01T10:00:00-05:00"',
                        '"processed_at": "%s"' % recent(), 1)
    body = text.encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return body, {"Content-Type": "application/json", "X-Shopify-Topic": "orders/paid",
                  "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
                  "X-Shopify-Webhook-Id": "burst-%d" % i,
                  "X-Shopify-Shop-Domain": "acme.myshopify.com"}


class Burst:
    """CLIENTS threads that post the given orders, each over one keep-alive
    connection (opened again after an error).  answers[i] is the status of
    order i's last answer, or None when it got none (refused, reset);
    timeouts counts the requests that got none within the timeout."""

    def __init__(self, port, orders, payloads, on_answer=None):
        self.port = port
        self.payloads = payloads
        self.todo = queue.Queue()
        for i in orders:
            self.todo.put(i)
        self.answers = {i: None for i in orders}
        self.ok = 0
        self.timeouts = 0
        self.lock = threading.Lock()
        self.on_answer = on_answer

    def client(self):
        conn = None
        while True:
            try:
                i = self.todo.get_nowait()
            except queue.Empty:
                break
            body, headers = self.payloads[i]
            status = None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                conn.request("POST", "/hooks/shopify", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                if isinstance(e, TimeoutError):
                    with self.lock:
                        self.timeouts += 1
                if conn is not None:
                    conn.close()
                conn = None
            with self.lock:
                self.answers[i] = status
                if status is not None and 200 <= status < 300:
                    self.ok += 1
                    ok = self.ok
                else:
                    ok = None
            if ok is not None and self.on_answer is not None:
                self.on_answer(ok)
        if conn is not None:
            conn.close()

    def run(self):
        threads = [threading.Thread(target=self.client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return self

    def stored(self):
        return [i for i, s in self.answers.items() if s is not None and 200 <= s < 300]


class WebhookBurst(DaemonTest):

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.secret = self.shop.write_secret("shopify-secret", SECRET + "\n")
        self.configure()
        self.payloads = {i: shopify_order(i) for i in range(WEBHOOKS)}

    def configure(self):
        # The default campaigns: nothing is due within the test, so the
        # daemon's work is the webhooks alone.
        self.shop.write_config(
            extra='http = { listen = [ "127.0.0.1:%d" ]; };\n'
                  'sources = { shopify = { secret_file = "%s"; }; };'
                  % (self.port, self.secret))

    def metrics(self):
        """/metrics' samples, by name with labels."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            text = resp.read().decode()
        finally:
            conn.close()
        return {name: float(value) for name, value in
                (line.rsplit(" ", 1) for line in text.splitlines()
                 if not line.startswith("#"))}

    def start(self):
        """Start the daemon; wait until it says it runs (once more than its
        log said so before) and answers."""
        before = (open(self.shop.path("daemon.log")).read().count("running")
                  if os.path.exists(self.shop.path("daemon.log")) else 0)
        self.daemon = Daemon(self.shop)
        deadline = time.monotonic() + 30
        while self.daemon.text().count("running") <= before:
            self.assertIsNone(self.daemon.proc.poll(), self.daemon.text())
            self.assertLess(time.monotonic(), deadline, self.daemon.text())
            time.sleep(0.05)

    def assertStoredOnce(self, orders):
        """Exactly `orders` are stored, each once, with its delivery."""
        want = sorted("#B-%d" % i for i in orders)
        self.assertEqual(sorted(o for o, in self.shop.query("SELECT order_id FROM sales")),
                         want)
        self.assertEqual(sorted(d for d, in self.shop.query(
            "SELECT delivery_id FROM webhook_deliveries WHERE source = 'shopify'")),
            sorted("burst-%d" % i for i in orders))
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM customers"), len(orders))
        self.assertEqual(self.shop.scalar(
            "SELECT count(*) FROM webhook_deliveries w JOIN sales s ON s.id = w.sale_id"
            " WHERE s.order_id = '#B-' || substr(w.delivery_id, 7)"), len(orders))

    def test_burst_every_2xx_stored_once(self):
        self.start()
        start = time.monotonic()
        burst = Burst(self.port, range(WEBHOOKS), self.payloads).run()
        seconds = time.monotonic() - start
        print("# %d webhooks from %d clients in %.1f s (%.0f/s)"
              % (WEBHOOKS, CLIENTS, seconds, WEBHOOKS / seconds), flush=True)
        stored = burst.stored()
        # A 503 (busy) is allowed, and its order then is not stored; but on
        # a quiet machine every one of them should be taken.
        self.assertEqual(len(stored), WEBHOOKS,
                         {s: list(burst.answers.values()).count(s)
                          for s in set(burst.answers.values())})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertStoredOnce(stored)

    def test_concurrent_sales_share_commits(self):
        # Group commit: the sales taken in one turn of the loop are made
        # durable by one commit, one fsync.  16 clients always have more
        # than one request waiting while a commit runs.
        n = min(WEBHOOKS, 320)
        self.start()
        burst = Burst(self.port, range(n), self.payloads).run()
        self.assertEqual(sorted(burst.stored()), list(range(n)))
        m = self.metrics()
        commits = m["aftersale_http_commits_total"]
        print("# %d sales from %d clients in %d commits" % (n, CLIENTS, commits), flush=True)
        self.assertEqual(m['aftersale_sales_recorded_total{source="shopify"}'], n)
        self.assertGreaterEqual(commits, 1)
        self.assertLess(commits, n, "every sale had a commit of its own")
        self.assertEqual(self.daemon.stop(), 0)
        self.assertStoredOnce(range(n))

    @unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root")
    def test_a_failed_commit_answers_every_sale_in_it_503(self):
        # The database on a small disk, which fills while the daemon runs:
        # a shared commit fails, and each sale that waited for it is told
        # 503 (with Retry-After), none stored, logged or counted as
        # recorded; their retries are taken once there is room.
        disk = self.shop.path("disk")
        os.mkdir(disk)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", disk])
        self.shop.move_database("disk/aftersale.db")
        self.configure()
        self.start()
        self.assertEqual(sorted(Burst(self.port, range(16), self.payloads).run().stored()),
                         list(range(16)))
        before = self.metrics()
        filler = os.path.join(disk, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            self.assertEqual(e.errno, errno.ENOSPC)
        finally:
            os.close(fd)
        refused = Burst(self.port, range(16, 64), self.payloads).run()
        self.assertEqual(set(refused.answers.values()), {503}, refused.answers)
        after = self.metrics()
        for name in ("aftersale_http_commits_total",
                     'aftersale_sales_recorded_total{source="shopify"}'):
            self.assertEqual(after[name], before[name], name)
        self.assertEqual(after['aftersale_http_requests_total{route="/hooks/shopify",'
                               'code="503"}'], 48)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM sales"), 16)
        log = self.daemon.text()
        self.assertIn("the disk is full", log)
        failed = re.findall(r"the commit (\d+) requests? waited for failed", log)
        print("# 48 sales refused by %d failed commits (of %s)"
              % (len(failed), ", ".join(failed)), flush=True)
        self.assertEqual(sum(map(int, failed)), 48)
        for i in range(16, 64):
            self.assertNotIn('order "#B-%d" recorded' % i, log)
        os.unlink(filler)
        retry = Burst(self.port, range(16, 64), self.payloads).run()
        self.assertEqual(sorted(retry.stored()), list(range(16, 64)), retry.answers)
        self.assertIn("there is room on the disk again", self.daemon.text())
        self.assertEqual(self.daemon.stop(), 0)
        self.assertStoredOnce(range(64))

    def test_sigterm_in_the_middle_answers_every_waiting_sale(self):
        # Sales wait, suspended, for their batch's commit: a stop answers
        # every one whose commit held before libmicrohttpd lets go, and
        # leaves no client waiting for an answer that cannot come.
        self.start()
        stopped = threading.Event()
        daemon = self.daemon

        def on_answer(ok):
            if ok >= KILL_AFTER and not stopped.is_set():
                stopped.set()
                daemon.signal(signal.SIGTERM)

        burst = Burst(self.port, range(WEBHOOKS), self.payloads, on_answer).run()
        self.assertTrue(stopped.is_set(), "the burst ended before the stop")
        self.assertEqual(daemon.stop(), 0)
        self.assertEqual(burst.timeouts, 0, "clients were left waiting")
        answers = list(burst.answers.values())
        print("# SIGTERM after %d answers: %s" % (KILL_AFTER, {
            s: answers.count(s) for s in set(answers)}), flush=True)
        self.assertLessEqual(set(answers), {200, 503, None})
        have = sorted(int(o[3:]) for o, in self.shop.query("SELECT order_id FROM sales"))
        self.assertEqual(have, sorted(burst.stored()), "stored and answered differ")

    def test_sigkill_in_the_middle_loses_no_2xx(self):
        self.start()
        killed = threading.Event()
        daemon = self.daemon

        def on_answer(ok):
            if ok >= KILL_AFTER and not killed.is_set():
                killed.set()
                daemon.proc.send_signal(signal.SIGKILL)

        burst = Burst(self.port, range(WEBHOOKS), self.payloads, on_answer).run()
        self.assertTrue(killed.is_set(), "the burst ended before the kill")
        daemon.proc.wait()
        daemon.log.close()
        acknowledged = burst.stored()
        print("# SIGKILL after %d answers: %d acknowledged, %d to retry"
              % (KILL_AFTER, len(acknowledged), WEBHOOKS - len(acknowledged)), flush=True)
        self.assertGreaterEqual(len(acknowledged), KILL_AFTER)
        self.assertLess(len(acknowledged), WEBHOOKS, "nothing was cut off by the kill")

        # Every order acknowledged before the kill is there, read by
        # another process before the daemon is back (no recovery of ours
        # involved, only SQLite's).
        have = {o for o, in self.shop.query("SELECT order_id FROM sales")}
        missing = sorted(i for i in acknowledged if "#B-%d" % i not in have)
        self.assertEqual(missing, [], "acknowledged but lost")
        print("# %d committed but not acknowledged when killed (retried: 'already recorded')"
              % (len(have) - len(acknowledged)), flush=True)

        # Back up, the clients retry what got no 2xx, with the same ids.
        self.start()
        rest = [i for i in range(WEBHOOKS) if i not in set(acknowledged)]
        retry = Burst(self.port, rest, self.payloads).run()
        self.assertEqual(sorted(retry.stored()), rest,
                         {s: list(retry.answers.values()).count(s)
                          for s in set(retry.answers.values())})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertStoredOnce(range(WEBHOOKS))


if __name__ == "__main__":
    main()
