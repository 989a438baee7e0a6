"""The demo: a shop in a temporary folder, a capture SMTP server on
127.0.0.1 and the real daemon.  The sample sales are imported, two more
are recorded while it runs (one referred, one a repeat purchase that is
then refunded, losing its review request), each
message is shown as it arrives, then the stats.  The front door too: a
signed Shopify orders/paid webhook is posted and its order's messages
arrive; then the List-Unsubscribe link of a received message is
POSTed the way a mail provider's one-click does.  It ends by writing the
report, aftersale-demo-report.html in the current folder, and a
screenshot of it beside it when Debian's chromium can take one.
Everything it starts, it stops.  Run by "make demo" under Debian's
python3 (aiosmtpd).

With --save DIR, each message is also written to DIR as it arrived
(01.eml, 02.eml...): the deliverability tests read them, and pass
--no-screenshot (chromium's seconds are not theirs to spend)."""

import argparse
import base64
import email
import email.policy
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from smtpd import SmtpServer, free_port  # noqa: E402

AFTERSALE = os.environ.get("AFTERSALE", "daemon/aftersale")
SRCDIR = os.environ.get("AFTERSALE_SRCDIR", os.path.join(HERE, "..", ".."))
# A signing secret as Shopify's admin shows it (Settings, Notifications, Webhooks).
SHOPIFY_SECRET = "shpss_demo0c0ffee0ddba11d00d5ca1ab1e"
REPORT = os.path.abspath("aftersale-demo-report.html")
SCREENSHOT = os.path.abspath("aftersale-demo-report.png")


def shopify_order(order, email_, name, at):
    """An orders/paid body shaped like Shopify's documented order (the
    fixture of the webhook tests), for one bag of coffee."""
    with open(os.path.join(HERE, "..", "integration", "webhooks", "shopify_order.json")) as f:
        o = json.load(f)
    first, last = name.split(" ", 1)
    o.update(name=order, email=email_, contact_email=email_, currency="EUR",
             presentment_currency="EUR", processed_at=at, created_at=at,
             total_price="13.90", current_total_price="13.90", subtotal_price="13.90",
             current_subtotal_price="13.90", total_discounts="0.00",
             current_total_discounts="0.00", discount_codes=[], landing_site="/",
             shipping_lines=[])
    o["billing_address"].update(first_name=first, last_name=last, name=name)
    o["customer"].update(email=email_, first_name=first, last_name=last)
    o["line_items"] = [dict(o["line_items"][0], name="Ethiopia Yirgacheffe 250g",
                            title="Ethiopia Yirgacheffe 250g", sku="COFFEE-ETH",
                            price="13.90")]
    return json.dumps(o).encode()


def post(port, path, body, headers, method="POST"):
    """(status, body text) of one request to the daemon."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def wait_listening(port, daemon, timeout=30):
    """Until the daemon accepts connections on `port`: it is running."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the daemon did not start:\n" + daemon.stderr.read())
            time.sleep(0.02)


# What the daemon still has to do: sales and refunds it has not planned
# (the planner's watermarks), and messages not done that are due within
# a minute (the demo's campaigns wait seconds, not days).
UNSETTLED = """
SELECT (SELECT count(*) FROM sales WHERE id > (SELECT last_sale_id FROM planner))
     + (SELECT count(*) FROM refunds WHERE id > (SELECT last_refund_id FROM planner))
     + (SELECT count(*) FROM messages WHERE state IN ('scheduled', 'deferred', 'sending')
        AND due_at <= CAST(strftime('%s', 'now') AS INTEGER) + 60)"""


def unsettled(database):
    """How much the daemon has left to plan or send soon (0: all done)."""
    conn = sqlite3.connect("file:%s?mode=ro" % database, uri=True)
    try:
        return conn.execute(UNSETTLED).fetchone()[0]
    finally:
        conn.close()


def step(text):
    print("\n== " + text, flush=True)


def screenshot(page, png):
    """A picture of the page by Debian's headless chromium; True if taken.
    A demo without chromium just goes without."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return False
    profile = tempfile.mkdtemp(prefix="aftersale-demo-chromium-")
    args = [chromium, "--headless=new", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=" + profile, "--window-size=1000,3600",
            "--screenshot=" + png, "file://" + page]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")      # chromium's sandbox refuses root
    try:
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return os.path.exists(png)


def main():
    parser = argparse.ArgumentParser(description="Run the aftersale demo.")
    parser.add_argument("--save", metavar="DIR",
                        help="write each received message to DIR as NN.eml")
    parser.add_argument("--no-screenshot", action="store_true",
                        help="write the report without taking a picture of it")
    options = parser.parse_args()
    save = options.save
    folder = tempfile.mkdtemp(prefix="aftersale-demo-")
    server = SmtpServer().start()
    daemon = None
    try:
        shutil.copytree(os.path.join(SRCDIR, "conf", "templates"),
                        os.path.join(folder, "templates"))
        with open(os.path.join(HERE, "aftersale.conf")) as f:
            config = f.read().replace("127.0.0.1:2525", "127.0.0.1:%d" % server.port)
        http_port = free_port()
        config = config.replace("127.0.0.1:8025", "127.0.0.1:%d" % http_port)
        conf = os.path.join(folder, "aftersale.conf")
        with open(conf, "w") as f:
            f.write(config)
        # The secret file is readable by its owner only, or aftersale refuses it.
        fd = os.open(os.path.join(folder, "shopify-secret"), os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(SHOPIFY_SECRET + "\n")

        def aftersale(*args):
            return subprocess.run([AFTERSALE, "-c", conf] + list(args), check=True,
                                  capture_output=True, text=True).stdout

        step("checking the configuration")
        print(aftersale("check-config"), end="")
        step("importing the shop's sales export, conf/sample-sales.csv")
        print(aftersale("sale", "import", os.path.join(SRCDIR, "conf", "sample-sales.csv")),
              end="")

        step("starting the daemon (capture server on 127.0.0.1:%d, HTTP on 127.0.0.1:%d)"
             % (server.port, http_port))
        run = [AFTERSALE, "-c", conf, "run"]
        if os.geteuid() == 0:
            # aftersale refuses to run as root: it becomes nobody, who must
            # own the shop's folder (tempfile's is below world-enterable /tmp).
            run += ["--user", "nobody"]
            subprocess.run(["chown", "-R", "nobody:", folder], check=True)
        daemon = subprocess.Popen(run, stderr=subprocess.PIPE, text=True)
        wait_listening(http_port, daemon)
        code = subprocess.run(["sqlite3", os.path.join(folder, "aftersale.db"),
                               "SELECT referral_code FROM customers"
                               " WHERE lower(email) = 'ana@example.com'"],
                              check=True, capture_output=True, text=True).stdout.strip()
        step("Eve follows Ana's referral link and buys with its code %s; Bo buys again"
             % code)
        status, _ = post(http_port, "/r/" + code, None, {}, method="GET")
        print("  GET /r/%s -> %d" % (code, status))
        print(aftersale("sale", "add", "--order", "A-2001", "--email", "eve@example.com",
                        "--name", "Eve Adams", "--product", "Kenya AA 250g",
                        "--amount", "15.90", "--referral", code), end="")
        print(aftersale("sale", "add", "--order", "A-2002", "--email", "bo@example.com",
                        "--name", "Bo Jensen", "--product", "Colombia Huila 250g",
                        "--amount", "12.50"), end="")
        step("Bo sends A-2002 back: refunded in full, its waiting messages go")
        print(aftersale("sale", "refund", "--order", "A-2002", "--reason",
                        "arrived broken"), end="")

        step("Shopify posts a signed orders/paid webhook for Cy's order #1003")
        body = shopify_order("#1003", "cy@example.com", "Cy Okafor",
                             time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        signature = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), body,
                                              hashlib.sha256).digest()).decode()
        status, answer = post(http_port, "/hooks/shopify", body, {
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": "demo-1",
            "X-Shopify-Shop-Domain": "acme-coffee.myshopify.com"})
        result = json.loads(answer)
        print("  POST /hooks/shopify -> %d %s: %s %s %s" % (
            status, result.get("result"), result["sale"]["order_id"],
            result["sale"]["email"], result["sale"]["amount"]) if status == 200
            else "  POST /hooks/shopify -> %d %s" % (status, answer))

        step("messages as they arrive; Cy unsubscribes from the first one")
        # Until the daemon has nothing left to plan or send soon, and every
        # message it sent is shown (the capture server has it once the
        # daemon stores "sent": looked at before the database, it is
        # complete when the database says all is done).
        shown, unsubscribed, done = 0, False, False
        deadline = time.monotonic() + 120
        while not done:
            if time.monotonic() > deadline:
                raise SystemExit("the daemon still had messages to send after 2 minutes")
            done = unsettled(os.path.join(folder, "aftersale.db")) == 0
            received = server.received()
            for n, (_, rcpt, raw) in enumerate(received[shown:], shown + 1):
                if save:
                    with open(os.path.join(save, "%02d.eml" % n), "wb") as f:
                        f.write(raw)
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                print("  %s  to %-22s %s" % (time.strftime("%H:%M:%S"), rcpt[0],
                                            msg["Subject"]), flush=True)
                quiet_since = time.monotonic()
                link = re.search(r"<(http://[^>]+)/u/(\w+)>", msg["List-Unsubscribe"] or "")
                if rcpt[0] == "cy@example.com" and link and not unsubscribed:
                    # What a mail provider's "Unsubscribe" button does (RFC 8058).
                    status, _ = post(http_port, "/u/" + link.group(2),
                                     "List-Unsubscribe=One-Click",
                                     {"Content-Type": "application/x-www-form-urlencoded"})
                    print("  %s  POST %s/u/%s… List-Unsubscribe=One-Click -> %d"
                          % (time.strftime("%H:%M:%S"), link.group(1), link.group(2)[:6],
                             status), flush=True)
                    unsubscribed = True
                    done = False    # look again: what it suppressed, not sent
            shown = len(received)
            time.sleep(0.1)
        step("aftersale queue --state cancelled: Bo's refunded order lost its "
             "review request")
        print(aftersale("queue", "--state", "cancelled"), end="")
        step("aftersale customer cy@example.com")
        print("".join("  " + line if line.strip() else line for line in
                      aftersale("customer", "cy@example.com").splitlines(True)), end="")
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
        step("the daemon's log")
        print(daemon.stderr.read(), end="")
        daemon = None

        step("aftersale stats")
        print(aftersale("stats"), end="")
        step("aftersale stats --by week")
        print(aftersale("stats", "--by", "week"), end="")

        step("aftersale report --html %s --by week" % os.path.basename(REPORT))
        aftersale("report", "--html", REPORT, "--by", "week")
        if not options.no_screenshot and screenshot(REPORT, SCREENSHOT):
            print("  a screenshot of it: " + SCREENSHOT)
        print("  the report: " + REPORT)
    finally:
        if daemon is not None:
            daemon.kill()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
