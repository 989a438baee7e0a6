"""What the daemon holds and who it runs as: root refused without --user,
privileges dropped for good with it, secrets out of reach of core dumps."""

import os
import pwd
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import AFTERSALE, RUN_AS, Daemon, DaemonTest, main  # noqa: E402
from smtpd import SmtpServer  # noqa: E402

unittest_skip_unless_root = unittest.skipUnless(RUN_AS, "needs root")
EX_USAGE = 64
NOW = '  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; }'


def proc_ids(pid, field):
    """The real, effective, saved and filesystem ids from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


class Privileges(DaemonTest):

    def setUp(self):
        super().setUp()
        self.server = self.keep(SmtpServer().start())
        self.shop.write_config(campaigns=NOW, smtp_port=self.server.port)

    @unittest_skip_unless_root
    def test_root_without_user_is_refused(self):
        # Issue 9 defect 9: as root, no word and no start.
        p = self.shop.run("run", timeout=10)
        self.assertEqual(p.returncode, EX_USAGE, p.stderr)
        self.assertIn("refusing to run as root: give --user NAME", p.stderr)
        self.assertFalse(os.path.exists(self.shop.database), "it opened the database")
        for user, status in (("root", EX_USAGE), ("no-such-user-here", EX_USAGE)):
            p = self.shop.run("run", "--user", user, timeout=10)
            self.assertEqual(p.returncode, status, p.stderr)

    @unittest_skip_unless_root
    def test_user_drops_privileges_and_delivers(self):
        pw = pwd.getpwnam(RUN_AS)
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        self.daemon = Daemon(self.shop)  # adds --user nobody as root
        self.server.wait_for(1)
        self.daemon.wait_states({"sent": 1})
        pid = self.daemon.proc.pid
        self.assertEqual(proc_ids(pid, "Uid"), [pw.pw_uid] * 4)
        self.assertEqual(proc_ids(pid, "Gid"), [pw.pw_gid] * 4)
        self.assertNotIn(0, proc_ids(pid, "Groups"))
        # What SQLite made after the drop belongs to the daemon's user.
        for name in ("aftersale.db", "aftersale.db-wal", "aftersale.db-shm"):
            self.assertEqual(os.stat(self.shop.path(name)).st_uid, pw.pw_uid, name)
        self.assertEqual(self.daemon.stop(), 0)

    def start_unprivileged(self):
        """`aftersale run` started by an unprivileged user, without --user:
        only the daemon itself can then make it non-dumpable."""
        kw, binary = {}, AFTERSALE
        if RUN_AS is not None:
            # A copy it can reach: the build folder may be private (/root).
            binary = shutil.copy(AFTERSALE, self.shop.path("aftersale"))
            pw = pwd.getpwnam(RUN_AS)
            for top, _, files in os.walk(self.shop.dir):
                for name in [top] + [os.path.join(top, f) for f in files]:
                    os.lchown(name, pw.pw_uid, pw.pw_gid)
            kw = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        log = open(self.shop.path("daemon.log"), "ab")
        self.addCleanup(log.close)
        proc = subprocess.Popen([binary, "-c", self.shop.config, "run"],
                                stdout=log, stderr=log, **kw)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait()))
        deadline = time.monotonic() + 30
        while "running:" not in open(self.shop.path("daemon.log")).read():
            self.assertIsNone(proc.poll(), open(self.shop.path("daemon.log")).read())
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        return proc

    def test_password_stays_out_of_core_dumps(self):
        # Issue 9 defect 7: a gcore of the daemon held 10 copies.
        password = b"hunter2-correct-horse"
        path = self.shop.write_secret("password", password.decode() + "\n")
        self.shop.write_config(campaigns=NOW, smtp_port=self.server.port,
                               smtp='tls = "none"; username = "acme"; '
                                    'password_file = "%s";' % path)
        proc = self.start_unprivileged()
        # A non-dumpable process's /proc files belong to root, whoever runs it.
        self.assertEqual(os.stat("/proc/%d/environ" % proc.pid).st_uid, 0,
                         "the daemon is dumpable")
        if RUN_AS is None:
            return  # reading its memory below needs root
        # The password sits in pages marked "dd" (MADV_DONTDUMP).
        found = False
        with open("/proc/%d/smaps" % proc.pid) as smaps, \
                open("/proc/%d/mem" % proc.pid, "rb") as mem:
            start = end = None
            for line in smaps:
                first = line.split()[0]
                if "-" in first and not first.endswith(":"):
                    start, end = (int(x, 16) for x in first.split("-"))
                elif (line.startswith("VmFlags:") and "dd" in line.split()[1:]
                      and end - start <= 1 << 20):  # not ASan's shadow
                    try:
                        mem.seek(start)
                        found = found or password in mem.read(end - start)
                    except OSError:
                        pass  # [vvar] and the like cannot be read
        self.assertTrue(found, "no page left out of core dumps holds the password")
        # And a core file taken from outside holds no copy (no connection
        # was made, so libcurl has none yet).
        with open("/proc/%d/maps" % proc.pid) as f:
            asan = "libasan" in f.read()  # terabytes of shadow: gcore takes ages
        if shutil.which("gcore") is None or asan:
            return
        subprocess.run(["gcore", "-o", self.shop.path("core"), str(proc.pid)],
                       capture_output=True, timeout=120, check=True)
        with open(self.shop.path("core.%d" % proc.pid), "rb") as f:
            core = f.read()
        os.remove(self.shop.path("core.%d" % proc.pid))
        self.assertGreater(len(core), 0)
        self.assertEqual(core.count(password), 0, "the password is in the core file")


if __name__ == "__main__":
    main()
