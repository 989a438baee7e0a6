"""The demo: a shop in a temporary folder, a capture SMTP server on
127.0.0.1 and the real daemon.  The sample sales are imported, two more
are recorded while it runs (one referred, one a repeat purchase), each
message is shown as it arrives, then the stats.  Everything it starts,
it stops.  Run by "make demo" under Debian's python3 (aiosmtpd)."""

import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from smtpd import SmtpServer  # noqa: E402

AFTERSALE = os.environ.get("AFTERSALE", "daemon/aftersale")
SRCDIR = os.environ.get("AFTERSALE_SRCDIR", os.path.join(HERE, "..", ".."))


def step(text):
    print("\n== " + text, flush=True)


def main():
    folder = tempfile.mkdtemp(prefix="aftersale-demo-")
    server = SmtpServer().start()
    daemon = None
    try:
        shutil.copytree(os.path.join(SRCDIR, "conf", "templates"),
                        os.path.join(folder, "templates"))
        with open(os.path.join(HERE, "aftersale.conf")) as f:
            config = f.read().replace("127.0.0.1:2525", "127.0.0.1:%d" % server.port)
        conf = os.path.join(folder, "aftersale.conf")
        with open(conf, "w") as f:
            f.write(config)

        def aftersale(*args):
            return subprocess.run([AFTERSALE, "-c", conf] + list(args), check=True,
                                  capture_output=True, text=True).stdout

        step("checking the configuration")
        print(aftersale("check-config"), end="")
        step("importing the shop's sales export, conf/sample-sales.csv")
        print(aftersale("sale", "import", os.path.join(SRCDIR, "conf", "sample-sales.csv")),
              end="")

        step("starting the daemon (capture server on 127.0.0.1:%d)" % server.port)
        run = [AFTERSALE, "-c", conf, "run"]
        if os.geteuid() == 0:
            # aftersale refuses to run as root: it becomes nobody, who must
            # own the shop's folder (tempfile's is below world-enterable /tmp).
            run += ["--user", "nobody"]
            subprocess.run(["chown", "-R", "nobody:", folder], check=True)
        daemon = subprocess.Popen(run, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        code = subprocess.run(["sqlite3", os.path.join(folder, "aftersale.db"),
                               "SELECT referral_code FROM customers"
                               " WHERE lower(email) = 'ana@example.com'"],
                              check=True, capture_output=True, text=True).stdout.strip()
        step("Eve buys now with Ana's referral code %s; Bo buys again" % code)
        print(aftersale("sale", "add", "--order", "A-2001", "--email", "eve@example.com",
                        "--name", "Eve Adams", "--product", "Kenya AA 250g",
                        "--amount", "15.90", "--referral", code), end="")
        print(aftersale("sale", "add", "--order", "A-2002", "--email", "bo@example.com",
                        "--name", "Bo Jensen", "--product", "Colombia Huila 250g",
                        "--amount", "12.50"), end="")

        step("messages as they arrive")
        shown, quiet_since = 0, time.monotonic()
        while time.monotonic() - quiet_since < 8:
            received = server.received()
            for _, rcpt, raw in received[shown:]:
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                print("  %s  to %-22s %s" % (time.strftime("%H:%M:%S"), rcpt[0],
                                            msg["Subject"]), flush=True)
                quiet_since = time.monotonic()
            shown = len(received)
            time.sleep(0.1)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
        step("the daemon's log")
        print(daemon.stderr.read(), end="")
        daemon = None

        step("aftersale stats")
        print(aftersale("stats"), end="")
    finally:
        if daemon is not None:
            daemon.kill()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
