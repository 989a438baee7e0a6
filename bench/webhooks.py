"""The front door's throughput, against the server's own ceiling in the same run.

Signed Shopify webhooks (orders/paid, one new order and customer each,
Shopify's documented test order of about 3 KB) over 16 keep-alive
connections, 20,000 of them into a fresh database: requests/s and p50/p99
latency; beside them the same client doing GET /healthz 20,000 times
against the same daemon (no database write: the ceiling of the HTTP
server, the loop and this client).  Median of 3 runs.  Target: at least
1,000 durable webhooks/s and p99 under 100 ms.

The client is Python's http.client in 16 threads; it shares the machine's
cores with the daemon, which is why the /healthz figure is measured with
the very same client rather than quoted from elsewhere."""

import base64
import hashlib
import hmac
import http.client
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from common import SQLITE3, SRCDIR, fresh_shop, median, report, start_daemon  # noqa: E402
from smtpd import free_port  # noqa: E402

WEBHOOKS = int(os.environ.get("BENCH_WEBHOOKS", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CLIENTS = 16
SECRET = "shpss_bench0c0ffee0ddba11d00d5ca1ab1e"
# A realistic campaign: every sale is planned, nothing falls due in the run.
CAMPAIGN = '  { name = "thank-you"; on = "sale"; after = "2h"; template = "thank-you"; }'
FIXTURE = os.path.join(SRCDIR, "tests", "integration", "webhooks", "shopify_order.json")


def payloads(n):
    with open(FIXTURE) as f:
        template = f.read()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 10))
    template = template.replace('"processed_at": "2026-03-01T10:00:00-05:00"',
                                '"processed_at": "%s"' % now, 1)
    out = []
    for i in range(n):
        body = (template.replace('"name": "#9999"', '"name": "#W-%d"' % i, 1)
                .replace("jon@example.com", "buyer%d@example.com" % i)).encode()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        out.append(("POST", "/hooks/shopify", body, {
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Webhook-Id": "bench-%d" % i,
            "X-Shopify-Shop-Domain": "acme.myshopify.com"}))
    return out


def burst(port, requests):
    """Send `requests` over CLIENTS keep-alive connections; returns
    (requests/s, sorted latencies in seconds).  Anything but a 2xx fails
    the benchmark: a figure over refused requests means nothing."""
    latencies = [[] for _ in range(CLIENTS)]
    errors = []
    lock = threading.Lock()
    it = iter(requests)

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = latencies[k]
        try:
            while True:
                with lock:
                    req = next(it, None)
                if req is None:
                    return
                method, path, body, headers = req
                t = time.monotonic()
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                mine.append(time.monotonic() - t)
                if not 200 <= resp.status < 300:
                    errors.append(resp.status)
                    return
        except (OSError, http.client.HTTPException) as e:
            errors.append(repr(e))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    if errors:
        raise SystemExit("webhooks benchmark: %d clients failed, e.g. %s" % (len(errors),
                                                                            errors[0]))
    all_latencies = sorted(x for mine in latencies for x in mine)
    return len(all_latencies) / seconds, all_latencies


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def wait_healthy(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the daemon exited (%d)" % proc.returncode)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("the daemon did not answer /healthz")


def one_run(hooks):
    port = free_port()
    conf = fresh_shop("webhooks", campaigns=CAMPAIGN)
    folder = os.path.dirname(conf)
    secret = os.path.join(folder, "shopify-secret")
    with open(secret, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(secret, 0o600)
    with open(conf, "a") as f:
        f.write('http = { listen = [ "127.0.0.1:%d" ]; };\n'
                'referral = { landing = "https://bench.example/"; };\n'
                'sources = { shopify = { secret_file = "%s"; }; };\n' % (port, secret))
    proc = start_daemon(conf, stderr=open(os.path.join(folder, "daemon.log"), "w"))
    try:
        wait_healthy(port, proc)
        ceiling = burst(port, [("GET", "/healthz", None, {})] * len(hooks))
        ours = burst(port, hooks)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    stored = subprocess.run([SQLITE3, os.path.join(folder, "aftersale.db"),
                             "SELECT count(*) FROM sales"], capture_output=True,
                            text=True).stdout.strip()
    if stored != str(len(hooks)):
        raise SystemExit("webhooks benchmark: %s sales stored, not %d" % (stored, len(hooks)))
    return ours, ceiling


def main():
    hooks = payloads(WEBHOOKS)
    rates, p50s, p99s, hrates, hp50s, hp99s = [], [], [], [], [], []
    for run in range(RUNS):
        (rate, lat), (hrate, hlat) = one_run(hooks)
        rates.append(rate)
        p50s.append(pct(lat, 0.50))
        p99s.append(pct(lat, 0.99))
        hrates.append(hrate)
        hp50s.append(pct(hlat, 0.50))
        hp99s.append(pct(hlat, 0.99))
        print("run %d: webhooks %.0f/s p50 %.1f ms p99 %.1f ms; /healthz %.0f/s p50 %.1f ms "
              "p99 %.1f ms" % (run + 1, rate, p50s[-1] * 1e3, p99s[-1] * 1e3, hrate,
                               hp50s[-1] * 1e3, hp99s[-1] * 1e3), flush=True)
    rate, p99 = median(rates), median(p99s)
    report("webhooks: %d signed Shopify orders/paid into a fresh database, %d keep-alive "
           "connections, median of %d runs" % (WEBHOOKS, CLIENTS, RUNS), [
               ("POST /hooks/shopify (durable 2xx)", "%.0f/s, p50 %.1f ms, p99 %.1f ms"
                % (rate, median(p50s) * 1e3, p99 * 1e3)),
               ("GET /healthz, same client and daemon", "%.0f/s, p50 %.1f ms, p99 %.1f ms"
                % (median(hrates), median(hp50s) * 1e3, median(hp99s) * 1e3)),
               ("ratio webhooks / healthz", "%.2fx" % (rate / median(hrates))),
               ("target >= 1,000/s", "met" if rate >= 1000 else "MISSED"),
               ("target p99 < 100 ms", "met" if p99 < 0.1 else "MISSED"),
           ])


if __name__ == "__main__":
    main()
