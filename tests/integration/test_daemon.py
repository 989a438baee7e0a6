"""The daemon's life: SIGHUP reloads (and keeps a good config over a bad
one), SIGKILL loses nothing, SIGTERM drains, and under systemd it speaks
the notify protocol: READY, STATUS, WATCHDOG, RELOADING, STOPPING."""

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest
from email.parser import BytesHeaderParser

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RUN_AS, THANK_YOU_NOW as NOW, Daemon, DaemonTest, main  # noqa: E402
from sink import Sink  # noqa: E402

LATER = '  { name = "review-request"; on = "sale"; after = "%s"; template = "review"; }'


class Daemons(DaemonTest):

    def setUp(self):
        super().setUp()
        self.sink = self.keep(Sink(self.shop.dir).start())

    def configure(self, campaigns, extra=""):
        self.shop.write_config(campaigns=campaigns, extra=extra, smtp_port=self.sink.port)

    def reload(self):
        count = self.daemon.text().count("reloading")
        self.daemon.signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while self.daemon.text().count("reloading") == count:
            self.assertLess(time.monotonic(), deadline, "no reload")
            time.sleep(0.05)

    def test_sighup_moves_and_cancels(self):
        self.configure(NOW + ",\n" + LATER % "1d" + ",\n" +
                       '  { name = "win-back"; on = "sale"; after = "60d"; template = "win-back"; }')
        self.shop.sale("A-1", "ana@example.com")        # now: later ones are ahead
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 1, "scheduled": 2})
        due = self.shop.scalar("SELECT due_at FROM messages WHERE campaign = 'review-request'")
        self.configure(NOW + ",\n" + LATER % "2d")
        self.reload()
        # The database changes before the log line is written: wait for both.
        self.daemon.wait_log("reloaded")
        self.daemon.wait_states({"sent": 1, "scheduled": 1, "cancelled": 1})
        self.assertEqual(self.shop.scalar("SELECT campaign FROM messages WHERE state = 'cancelled'"),
                         "win-back")
        self.assertEqual(self.shop.scalar("SELECT due_at FROM messages"
                                          " WHERE campaign = 'review-request'"), due + 86400)
        self.assertEqual(self.daemon.stop(), 0)

    def test_sighup_turning_a_campaign_off_cancels_what_it_scheduled(self):
        # Regression: enabled = false only stopped planning; what the
        # campaign had scheduled still went out.
        self.configure(LATER % "1d")
        self.shop.sale("A-1", "ana@example.com")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"scheduled": 1})
        self.configure((LATER % "1d").replace("}", "enabled = false; }"))
        self.reload()
        self.daemon.wait_log("reloaded")
        self.daemon.wait_states({"cancelled": 1})
        self.assertEqual(self.daemon.stop(), 0)

    def test_sighup_with_a_broken_config_keeps_the_old_one(self):
        self.configure(NOW)
        with open(self.shop.config) as f:
            good = self.shop.write("good.conf", f.read())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("running")
        with open(self.shop.config, "a") as f:
            f.write("\nbogus = ;\n")
        self.reload()
        self.daemon.wait_log("keeping the running configuration")
        self.assertIn("aftersale.conf:", self.daemon.text())
        self.assertIsNone(self.daemon.proc.poll())
        # Still at work with the old configuration.
        self.shop.ok("-c", good, "sale", "add", "--order", "A-1", "--email",
                     "ana@example.com", "--at", "2026-11-01", config=False)
        self.daemon.wait_states({"sent": 1})
        self.assertEqual(self.daemon.stop(), 0)

    def test_sigkill_loses_nothing(self):
        self.configure(NOW, extra='delivery = { retry = [ "1s" ]; };')
        total = 2000
        rows = "".join("K-%d,c%d@example.com,2026-11-01\n" % (i, i) for i in range(total))
        self.shop.ok("sale", "import", self.shop.write("s.csv", "order_id,email,sold_at\n" + rows))
        self.daemon = Daemon(self.shop)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sent = self.shop.scalar("SELECT count(*) FROM messages WHERE state = 'sent'")
            if sent >= 300:
                break
            time.sleep(0.02)
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait()
        self.assertLess(self.shop.scalar("SELECT count(*) FROM messages WHERE state = 'sent'"),
                        total, "the kill came too late to test anything")
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": total}, timeout=120)
        self.assertEqual(self.daemon.stop(), 0)
        received = self.sink.received()
        recipients = [BytesHeaderParser().parsebytes(raw)["To"] for raw in received]
        self.assertEqual(len(set(recipients)), total)
        self.assertGreaterEqual(len(received), total)
        self.assertLessEqual(len(received) - total, 4, "more duplicates than connections")

    def start_claimed(self, sales, delay, claimed):
        """`sales` messages due, a sink that waits `delay` s before answering
        DATA, and a daemon started until it has claimed `claimed` of them."""
        self.sink.stop()
        self.sink = self.keep(Sink(self.shop.dir, "-w", str(delay)).start())
        self.configure(NOW)
        rows = "".join("A-%d,c%d@example.com,2026-11-01\n" % (i, i) for i in range(sales))
        self.shop.ok("sale", "import", self.shop.write("claimed.csv",
                                                      "order_id,email,sold_at\n" + rows))
        self.daemon = Daemon(self.shop)
        # The claims last as long as the sink keeps the first answers back.
        deadline = time.monotonic() + 60
        while self.shop.scalar("SELECT count(*) FROM messages WHERE state = 'sending'") < claimed:
            self.assertLess(time.monotonic(), deadline, "never %d claimed at once" % claimed)
            self.assertEqual(self.shop.scalar("SELECT count(*) FROM messages"
                                              " WHERE state = 'sent'"), 0,
                             "the sink answered before %d were claimed: a slow machine?"
                             % claimed)
            time.sleep(0.02)
        # Claimed is committed just before a connection takes the message
        # up: give them a moment to start, well inside the sink's delay.
        time.sleep(0.5)

    def test_sigterm_lets_in_flight_transfers_finish(self):
        self.start_claimed(1, delay=2, claimed=1)
        self.daemon.signal(signal.SIGTERM)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(self.shop.scalar("SELECT state FROM messages"), "sent")
        self.assertIn("stopping after 1 message in flight", self.daemon.text())

    def test_sigterm_gives_back_what_no_connection_started(self):
        # Four connections, each with a message in transfer and one waiting.
        self.start_claimed(12, delay=3, claimed=8)
        self.daemon.signal(signal.SIGTERM)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertIn("stopping after 4 messages in flight", self.daemon.text())
        self.assertEqual(self.shop.query(
            "SELECT state, attempts, first_due_at IS NULL, count(*) FROM messages"
            " GROUP BY 1, 2, 3 ORDER BY 1"), [("scheduled", 0, 1, 8), ("sent", 1, 0, 4)])
        # The bytes of those given back went with their claim.
        self.assertEqual(self.shop.query(
            "SELECT m.state, count(*) FROM message_bodies b JOIN messages m"
            " ON m.id = b.message_id GROUP BY 1"), [("sent", 4)])
        self.assertEqual(len(self.sink.received()), 4)

    def test_sighup_cancels_claimed_messages_no_connection_started(self):
        self.start_claimed(8, delay=3, claimed=8)
        self.configure(LATER % "7d")        # thank-you removed
        self.reload()
        self.daemon.wait_states({"sent": 4, "cancelled": 4})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(len(self.sink.received()), 4)

    def test_the_database_and_its_wal_are_private(self):
        # Regression: created 0644 under the usual umask, with customers'
        # names and addresses inside.
        self.configure(NOW)
        p = self.shop.run("sale", "add", "--order", "A-1", "--email", "ana@example.com",
                          umask=0o022)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.daemon = Daemon(self.shop, umask=0o022)
        self.daemon.wait_states({"sent": 1})
        for suffix in ("", "-wal", "-shm"):
            mode = os.stat(self.shop.database + suffix).st_mode & 0o777
            self.assertEqual(mode, 0o600, "aftersale.db%s is %o" % (suffix, mode))
        self.assertEqual(self.daemon.stop(), 0)

    def test_a_second_daemon_on_the_database_refuses_to_start(self):
        # Regression: the second one took the first's claims for a crashed
        # run's and sent all 8 in-flight messages again.
        self.start_claimed(8, delay=3, claimed=8)
        second = Daemon(self.shop)
        self.assertEqual(second.proc.wait(20), 75)
        second.log.close()
        self.assertIn("another aftersale run (pid %d) is using" % self.daemon.proc.pid,
                      second.text())
        # Under another name for the same file too: the lock is the file's.
        os.symlink("aftersale.db", self.shop.path("alias.db"))
        alias = self.shop.write("alias.conf", open(self.shop.config).read().replace(
            '"aftersale.db"', '"alias.db"'))
        user = ["--user", RUN_AS] if RUN_AS else []
        p = self.shop.run("-c", alias, "run", *user, config=False, timeout=20)
        self.assertEqual(p.returncode, 75, p.stderr)
        self.assertIn("(pid %d)" % self.daemon.proc.pid, p.stderr)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM messages"
                                          " WHERE state IN ('sending', 'sent')"), 8)
        # SIGKILL leaves no stale lock behind.
        self.daemon.kill()
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"sent": 8})
        self.assertEqual(self.daemon.stop(), 0)
        recipients = [BytesHeaderParser().parsebytes(raw)["To"] for raw in self.sink.received()]
        self.assertEqual(len(set(recipients)), 8)
        self.assertLessEqual(len(recipients), 8 + 4, "more duplicates than connections")

    @unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root")
    def test_a_full_disk_pauses_sending_instead_of_exiting(self):
        # Regression: on a small disk the daemon exited at every full WAL.
        disk = self.shop.path("disk")
        os.mkdir(disk)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", disk])
        self.shop.move_database("disk/aftersale.db")
        self.start_claimed(8, delay=3, claimed=8)
        filler = os.path.join(disk, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            self.assertEqual(e.errno, errno.ENOSPC)
        finally:
            os.close(fd)
        self.daemon.wait_log("the disk is full")
        p = self.shop.run("sale", "add", "--order", "B-1", "--email", "bo@example.com")
        self.assertEqual(p.returncode, 74)
        self.assertIn("the disk is full", p.stderr)
        time.sleep(1.5)     # a retry 1 s later fails too: still one error, still running
        self.assertIsNone(self.daemon.proc.poll())
        self.assertEqual(self.daemon.text().count("the disk is full"), 1)
        os.unlink(filler)
        self.daemon.wait_states({"sent": 8}, timeout=60)
        self.assertIn("there is room on the disk again", self.daemon.text())
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(len(self.sink.received()), 8)

    def test_a_lock_held_past_the_busy_timeout_only_delays(self):
        # Another process (a big import, say) holds the write lock for
        # longer than the 5 s busy timeout while answers wait to be
        # recorded: all 8 messages claimed (4 connections, each with one
        # waiting), so only the daemon's retry can record them.
        self.start_claimed(8, delay=2, claimed=8)
        with self.shop.db() as conn:
            conn.isolation_level = None
            conn.execute("BEGIN IMMEDIATE")
            # The answers come at 2 s and wait past the 5 s busy timeout:
            # held until the daemon says so (about 7 s), not a fixed 9 s.
            self.daemon.wait_log("the database is locked by another process", timeout=60)
            self.assertEqual(self.shop.scalar("SELECT count(*) FROM messages"
                                              " WHERE state = 'sent'"), 0)
            conn.execute("COMMIT")
        self.daemon.wait_states({"sent": 8}, timeout=30)
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(len(self.sink.received()), 8)


class Notify(DaemonTest):
    """A NOTIFY_SOCKET of our own stands in for systemd."""

    def setUp(self):
        super().setUp()
        self.sink = self.keep(Sink(self.shop.dir).start())
        self.shop.write_config(campaigns=LATER % "7d", smtp_port=self.sink.port)
        # An abstract socket: no path, so no length limit from deep build trees.
        self.address = "aftersale-test-notify-%d" % os.getpid()
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind("\0" + self.address)
        self.socket.settimeout(0.1)
        self.got = []

    def tearDown(self):
        self.socket.close()
        super().tearDown()

    def wait_for(self, piece, timeout=20):
        """Read notifications until one holds `piece`; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.got.append(self.socket.recv(4096).decode())
            except socket.timeout:
                continue
            if piece in self.got[-1]:
                return self.got[-1]
        raise AssertionError("no %r among %s\n%s" % (piece, self.got, self.daemon.text()))

    def test_notify_protocol(self):
        self.shop.sale("A-1", "ana@example.com")
        self.daemon = Daemon(self.shop, env={"NOTIFY_SOCKET": "@" + self.address,
                                             "WATCHDOG_USEC": "1000000"})
        self.wait_for("READY=1")
        status = self.wait_for("STATUS=")
        self.assertRegex(status, r"STATUS=1 scheduled, 0 deferred, 0 sending; next due "
                                 r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; sent 0 since start")
        # WatchdogSec=1s: a ping every half second.
        start = time.monotonic()
        self.wait_for("WATCHDOG=1")
        self.wait_for("WATCHDOG=1")
        self.assertLess(time.monotonic() - start, 3)
        self.daemon.signal(signal.SIGHUP)
        self.assertRegex(self.wait_for("RELOADING=1"), r"MONOTONIC_USEC=\d+")
        self.wait_for("READY=1")
        self.daemon.signal(signal.SIGTERM)
        self.wait_for("STOPPING=1")
        self.daemon.proc.wait(30)     # a second SIGTERM would not be a test of this one
        self.assertEqual(self.daemon.stop(), 0)


class Logs(DaemonTest):
    """Priority prefixes for journald only when stderr is its stream."""

    def run_daemon(self, journal_stream):
        sink = self.keep(Sink(self.shop.dir).start())
        self.shop.write_config(campaigns=NOW, smtp_port=sink.port)
        self.shop.sale("A-1", "ana@example.com", at="2026-11-01")
        open(self.shop.path("daemon.log"), "ab").close()
        st = os.stat(self.shop.path("daemon.log"))
        stream = journal_stream or "%d:%d" % (st.st_dev, st.st_ino)
        self.daemon = Daemon(self.shop, env={"JOURNAL_STREAM": stream})
        self.daemon.wait_states({"sent": 1})
        self.assertEqual(self.daemon.stop(), 0)
        return self.daemon.text().splitlines()

    def test_journal_gets_priorities(self):
        lines = self.run_daemon(None)
        self.assertTrue(all(re.match(r"<[3467]>", line) for line in lines), lines)
        self.assertTrue(any(line.startswith("<6>message 1 (thank-you) to ana@example.com: "
                                            "sent: 250") for line in lines), lines)

    def test_elsewhere_a_timestamp_and_level(self):
        lines = self.run_daemon("1:1")
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (info|warning|error): ")


if __name__ == "__main__":
    main()
