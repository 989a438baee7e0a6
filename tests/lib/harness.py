"""What the integration tests share: a shop in a temporary folder, the real
aftersale binary, the real SQLite file it writes, and a TAP runner so that
automake counts every test case.

Runs under Debian's /usr/bin/python3 (it has aiosmtpd for the SMTP tests).
"""

import concurrent.futures
import contextlib
import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

AFTERSALE = os.environ.get("AFTERSALE", "daemon/aftersale")
SRCDIR = os.environ.get("AFTERSALE_SRCDIR", ".")
TMPDIR = os.environ.get("AFTERSALE_TMPDIR", tempfile.gettempdir())

# AddressSanitizer reserves terabytes of address space: no RLIMIT_AS there.
with open(AFTERSALE, "rb") as _f:
    ASAN = b"__asan_init" in _f.read()

# Run as root (CI is), `aftersale run` must be told whom to become, and
# that user must reach the shop's folder: see Daemon.
RUN_AS = "nobody" if os.geteuid() == 0 else None


def _traversable(path):
    """Whether every folder down to `path` lets other users through."""
    path = os.path.abspath(path)
    while True:
        if os.path.exists(path) and not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent

BASE_CONFIG = """\
database  = "{database}";
timezone  = "Europe/London";
templates = "templates";
shop = {{ name = "Acme Coffee"; url = "https://acme.example"; currency = "EUR"; }};
smtp = {{
  url = "smtp://127.0.0.1:{smtp_port}";
  from = "Acme Coffee <hello@acme.example>";
  {smtp}
}};
referral    = {{ link = "https://acme.example/r/{{{{referral.code}}}}"; }};
unsubscribe = {{ link = "https://acme.example/u?t={{{{unsubscribe.token}}}}"; }};
{extra}
campaigns = (
{campaigns}
);
"""

DEFAULT_CAMPAIGNS = """\
  { name = "thank-you";       on = "sale";  after = "2h";  template = "thank-you"; },
  { name = "review-request";  on = "sale";  after = "7d";  template = "review";
    stop_on = [ "repeat_purchase" ]; },
  { name = "refer-a-friend";  on = "first_sale"; after = "14d"; template = "refer"; },
  { name = "win-back";        on = "sale";  after = "60d"; template = "win-back";
    stop_on = [ "repeat_purchase" ]; },
  { name = "referral-thanks"; on = "referral_converted"; after = "0s";
    template = "referral-thanks"; }"""


def recent():
    """A sale time seconds ago: a message due then is within
    give_up_after, which counts from the due time, so it is deferred
    rather than given up when the relay refuses it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 10))


# Customers' names and products that are hard to carry in mail headers
# (issue 12): encoded-word look-alikes, "Last, First", repeated spaces,
# right-to-left scripts, emoji with a joiner, long ASCII and long Greek,
# quotes and backslashes; products of 150 characters, with and without
# spaces.
HOSTILE = [
    ("=?UTF-8?B?QWRtaW4=?= Team", "Kenya AA 250g"),
    ("Müller, Hans", "Kenya  AA   250g"),
    ("Ana  Lima", "Café =?utf-8?q?Gratis?= blend"),
    ("Zoë  Brontë", "Ethiopia Yirgacheffe, washed, " * 5),
    ("שרה כהן", "קפה אתיופי קלוי בהיר"),
    ("محمد بن عبد الله", "قهوة عربية"),
    ("Émilie 🌸 Dubois-Laurent 👩‍💻", "☕ Morning Blend 🌅 with a long tail of words"),
    ("Maria Anna Sophia Cecilia von Hohenzollern-Sigmaringen-Liechtenstein-Habsburg",
     "x" * 150),
    ("Ωμέγα Άλφα Βήτα Γάμμα Δέλτα Έψιλον Ζήτα Ήτα Θήτα Ιώτα Κάππα Λάμδα",
     "Ωμέγα" * 18),
    ('Ana "Ace" \\ Lima, Jr.', 'Grinder "Pro" (steel) <b>bold</b>'),
]

# A campaign whose messages are due as soon as a past-dated sale is planned.
THANK_YOU_NOW = '  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; }'


class Shop:
    """One shop: a folder with a config, the sample templates and a database."""

    database_name = "aftersale.db"      # in the config, relative to the folder

    def __init__(self, name, extra="", campaigns=DEFAULT_CAMPAIGNS, smtp_port=2525,
                 smtp='tls = "none";', base=None):
        if base is None:
            os.makedirs(TMPDIR, exist_ok=True)
            base = TMPDIR if RUN_AS is None or _traversable(TMPDIR) else tempfile.gettempdir()
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=base)
        shutil.copytree(os.path.join(SRCDIR, "conf", "templates"),
                        os.path.join(self.dir, "templates"))
        self.config = os.path.join(self.dir, "aftersale.conf")
        self.database = os.path.join(self.dir, self.database_name)
        self.write_config(extra=extra, campaigns=campaigns, smtp_port=smtp_port, smtp=smtp)

    def write_config(self, extra="", campaigns=DEFAULT_CAMPAIGNS, smtp_port=2525,
                     smtp='tls = "none";'):
        with open(self.config, "w") as f:
            f.write(BASE_CONFIG.format(extra=extra, campaigns=campaigns,
                                       smtp_port=smtp_port, smtp=smtp,
                                       database=self.database_name))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def move_database(self, name):
        """Keep the database at `name` in the shop's folder from now on."""
        self.database_name = name
        self.database = self.path(name)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(self.path(name), mode) as f:
            f.write(data)
        return self.path(name)

    def write_secret(self, name, data):
        """A secret file as aftersale wants it: readable by its owner only."""
        path = self.write(name, data)
        os.chmod(path, 0o600)
        return path

    def run(self, *args, input=None, config=True, env=None, timeout=60, binary=False,
            user=None, umask=-1):
        """Run aftersale (as `user`'s uid and gid if given, when root; with
        `umask` if given); returns the CompletedProcess (text unless
        binary, not checked)."""
        cmd = [AFTERSALE]
        if user is not None:
            cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
                   "--clear-groups"] + cmd
        if config:
            cmd += ["-c", self.config]
        environ = {k: v for k, v in os.environ.items() if k != "AFTERSALE_CONFIG"}
        environ.update(env or {})
        return subprocess.run(cmd + list(args), input=input, capture_output=True,
                              text=not binary, env=environ, timeout=timeout, umask=umask)

    def ok(self, *args, **kw):
        """Run and require exit 0; returns stdout."""
        p = self.run(*args, **kw)
        if p.returncode != 0:
            raise AssertionError("aftersale %s exited %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p.stdout

    def json(self, *args):
        return json.loads(self.ok(*args))

    def db(self):
        return sqlite3.connect(self.database)

    def query(self, sql, *params):
        # Closed here, not whenever the collector gets to it: the last
        # connection to close removes the -wal and -shm files.
        with contextlib.closing(self.db()) as conn, conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql, *params):
        return self.query(sql, *params)[0][0]

    def counts(self):
        """Rows in every table: to show that bad input stored nothing."""
        if not os.path.exists(self.database):
            return None
        return {t: self.scalar("SELECT count(*) FROM " + t)
                for t in ("customers", "sales", "sale_items", "referrals", "messages",
                          "refunds")}

    def sale(self, order, email, **fields):
        """Record one sale with `sale add`; options as keyword arguments."""
        args = ["sale", "add", "--order", order, "--email", email]
        for k, v in fields.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        return self.ok(*args)

    def code_of(self, email):
        return self.scalar("SELECT referral_code FROM customers WHERE lower(email) = ?",
                           email.lower())

    def token_of(self, email):
        """The unsubscribe token the customer's mail carries: one stored
        (drawn before migration 0016), else their id and 8 zero bytes
        enciphered with the shop's key (AES-128), in Crockford's base32:
        worked out here by openssl, not by aftersale."""
        cid, stored, key = self.query(
            "SELECT c.id, c.unsubscribe_token, k.key FROM customers c, unsubscribe_key k"
            " WHERE lower(c.email) = ?", email.lower())[0]
        if stored:      # an empty one is none, as aftersale reads it
            return stored
        block = subprocess.run(["openssl", "enc", "-aes-128-ecb", "-nopad", "-K", key.hex()],
                               input=cid.to_bytes(8, "big") + bytes(8), capture_output=True,
                               check=True).stdout
        n = int.from_bytes(block, "big")
        return "".join("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[n >> 5 * i & 31]
                       for i in range(25, -1, -1))


class ShopTest(unittest.TestCase):
    """A test case with a fresh shop in self.shop."""

    extra = ""
    campaigns = DEFAULT_CAMPAIGNS

    def setUp(self):
        self.shop = Shop(self.id().split(".")[-1], extra=self.extra,
                         campaigns=self.campaigns)

    def tearDown(self):
        # Keep the folder of a failed test: its database and logs explain it.
        result = self._outcome.result
        if all(test is not self for test, _ in result.failures + result.errors):
            self.shop.cleanup()

    def assertFails(self, status, *args, stderr=None, **kw):
        """Run, require exit `status` and (optionally) a piece of stderr,
        and require that no row was stored in any table."""
        before = self.shop.counts()
        p = self.shop.run(*args, **kw)
        self.assertEqual(p.returncode, status,
                         "exit %d, stderr: %s" % (p.returncode, p.stderr))
        if stderr is not None:
            self.assertIn(stderr, p.stderr)
        self.assertEqual(self.shop.counts(), before, "rows were stored")
        return p


class DaemonTest(ShopTest):
    """A shop with a daemon and SMTP servers, all stopped after the test."""

    def setUp(self):
        super().setUp()
        self.daemon = None
        self.servers = []

    def keep(self, server):
        """Stop `server` (started already) when the test ends."""
        self.servers.append(server)
        return server

    def tearDown(self):
        if self.daemon is not None and self.daemon.proc.poll() is None:
            self.daemon.kill()
        for server in self.servers:
            server.stop()
        super().tearDown()


class TapResult(unittest.TestResult):
    """Prints TAP for automake's tap-driver.sh."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, note=""):
        self.n += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, test.id(), note),
              flush=True)

    def _diag(self, err):
        for line in "".join(traceback.format_exception(*err)).splitlines():
            print("# " + line)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        self._diag(err)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)
        self._diag(err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, " # SKIP " + reason)

    def report(self, test, result):
        """Print what `result`, one case's own, says about `test`."""
        for _, err in result.failures:
            self.failures.append((test, err))
            self._line(False, test)
            print("# " + err.replace("\n", "\n# "))
        for _, err in result.errors:
            self.errors.append((test, err))
            self._line(False, test)
            print("# " + err.replace("\n", "\n# "))
        for _, reason in result.skipped:
            self._line(True, test, " # SKIP " + reason)
        if result.wasSuccessful() and not result.skipped:
            self._line(True, test)


def _cases(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _cases(test)
        else:
            yield test


def _units(cases):
    """What runs on its own: a case, or all the cases of a class that
    sets itself up once (setUpClass), which only a suite of them runs."""
    units = []
    for test in cases:
        shared = (type(test).setUpClass.__func__
                  is not unittest.TestCase.setUpClass.__func__)
        if shared and units and type(units[-1][0]) is type(test):
            units[-1].append(test)
        else:
            units.append([test])
    return units


def _run_unit(unit):
    """Run a unit's cases; returns one result for each case, and how long
    the unit took (wall time, seconds)."""
    start = time.monotonic()
    together = unittest.TestResult()
    unittest.TestSuite(unit).run(together)
    results = [unittest.TestResult() for _ in unit]
    for kind in ("failures", "errors", "skipped"):
        for test, detail in getattr(together, kind):
            # A failed setUpClass is charged to the unit's first case.
            i = unit.index(test) if test in unit else 0
            getattr(results[i], kind).append((test, detail))
    return results, time.monotonic() - start


def _chosen(cases):
    """All the cases, or those AFTERSALE_TEST_CASES names: a file with one
    FILE.Class.test_method a line, to time or rerun a set of them."""
    path = os.environ.get("AFTERSALE_TEST_CASES")
    if not path:
        return cases
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    with open(path) as f:
        wanted = {line.strip() for line in f}
    return [c for c in cases if name + c.id()[len("__main__"):] in wanted]


def main():
    """Run the calling module's test cases and print TAP.  Most of a case's
    time is spent waiting on a daemon or a server (a relay answering late,
    a retry due in a second), so AFTERSALE_TEST_JOBS cases (default 4) run
    at once, each in its own folder with its own ports; the lines come out
    in the cases' order, each unit followed by a comment saying how long it
    took (in the file's .log: where the suite's time goes).  A module whose cases change what the process
    shares (a preexec_fn, which is not safe beside threads) sets
    PARALLEL = False."""
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    cases = _chosen(list(_cases(suite)))
    jobs = int(os.environ.get("AFTERSALE_TEST_JOBS", "4"))
    if not getattr(module, "PARALLEL", True):
        jobs = 1
    print("1..%d" % len(cases), flush=True)
    tap = TapResult()
    units = _units(cases)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        for unit, (results, seconds) in zip(units, pool.map(_run_unit, units)):
            for test, result in zip(unit, results):
                tap.report(test, result)
            print("# %.2f s %s" % (seconds, unit[0].id() if len(unit) == 1
                                   else type(unit[0]).__name__ + " (%d cases)" % len(unit)),
                  flush=True)
    sys.exit(0 if tap.wasSuccessful() else 1)


LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


class Clock:
    """A wall clock the test sets from outside, for a daemon started with
    it: Debian's libfaketime reads the offset from a file at every call.
    Only the wall clock moves (what aftersale stores and compares); the
    monotonic clock that paces libuv's timers and libcurl stays true."""

    def __init__(self, shop):
        self.path = shop.path("clock")
        self.set(0)

    def set(self, seconds):
        """The daemon's now is real time plus `seconds` from now on."""
        with open(self.path + ".tmp", "w") as f:
            f.write("%+ds\n" % seconds)
        os.chmod(self.path + ".tmp", 0o644)
        os.replace(self.path + ".tmp", self.path)

    def env(self):
        asan = os.environ.get("ASAN_OPTIONS", "")
        return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": self.path,
                "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                # ASan wants to be first among the libraries; it still is
                # for everything but libfaketime's few time functions.
                "ASAN_OPTIONS": asan + (":" if asan else "") + "verify_asan_link_order=0"}


class Daemon:
    """`aftersale run` as a child process, its log in the shop's folder."""

    def __init__(self, shop, env=None, clock=None, umask=-1, launcher=()):
        """`launcher`: a command that starts aftersale, as systemd's
        socket activation does, put before it on the command line."""
        self.shop = shop
        self.terminated = False
        self.log_path = shop.path("daemon.log")
        self.log = open(self.log_path, "ab")
        environ = {k: v for k, v in os.environ.items() if k != "AFTERSALE_CONFIG"}
        environ.update(clock.env() if clock else {})
        environ.update(env or {})
        args = list(launcher) + [AFTERSALE, "-c", shop.config, "run"]
        if RUN_AS is not None:
            # The daemon refuses root; it becomes RUN_AS, which must own
            # the shop's folder and what is in it (the database above all).
            args += ["--user", RUN_AS]
            pw = pwd.getpwnam(RUN_AS)
            for top, dirs, files in os.walk(shop.dir):
                for name in [top] + [os.path.join(top, f) for f in files]:
                    try:
                        os.lchown(name, pw.pw_uid, pw.pw_gid)
                    except FileNotFoundError:
                        pass  # a server's file, gone meanwhile
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=environ,
                                     umask=umask)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, piece, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if piece in self.text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("%r not in the daemon's log:\n%s" % (piece, self.text()))

    def wait_states(self, expected, timeout=30):
        """Wait until messages by state equal `expected` (a dict)."""
        deadline = time.monotonic() + timeout
        while True:
            states = dict(self.shop.query("SELECT state, count(*) FROM messages"
                                          " GROUP BY state"))
            if states == expected or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if states != expected:
            raise AssertionError("messages by state %s, not %s\n%s"
                                 % (states, expected, self.text()))

    def signal(self, sig):
        self.proc.send_signal(sig)
        self.terminated = self.terminated or sig == signal.SIGTERM

    def stop(self, timeout=30):
        """SIGTERM, unless it was sent already (a second one may land after
        the daemon let go of its handler, and kill it); returns the exit
        status."""
        if not self.terminated and self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
