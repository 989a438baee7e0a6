"""What the daemon holds and who it runs as: root refused without --user,
privileges dropped for good with it, secrets out of reach of core dumps."""

import os
import pwd
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RUN_AS, Daemon, DaemonTest, main  # noqa: E402
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


if __name__ == "__main__":
    main()
