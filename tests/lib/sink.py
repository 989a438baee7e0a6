"""Postfix's smtp-sink on 127.0.0.1, for fault injection and load: it
answers as told (-r soft-rejects commands, -f hard-rejects them, -q drops
the connection, -Q answers 421) and dumps each message it accepts to a
file, so a test can count what arrived."""

import os
import subprocess
import time

from smtpd import free_port

SMTP_SINK = "/usr/sbin/smtp-sink"


class Sink:
    def __init__(self, folder, *options, port=None):
        self.port = port or free_port()
        self.dumps = os.path.join(folder, "sink-%d" % self.port)
        os.makedirs(self.dumps, exist_ok=True)
        # smtp-sink drops to nobody when run as root: let nobody write here.
        os.chmod(self.dumps, 0o777)
        self.options = list(options)
        self.proc = None

    def start(self):
        # -a: do not announce AUTH, which smtp-sink would accept blindly.
        self.log = open(self.dumps + ".log", "ab")
        if os.geteuid() == 0:
            # It must drop to an unprivileged user, who may not be able to
            # reach a folder under /root: it chroots into the dumps first.
            where = ["-u", "nobody", "-R", self.dumps, "-d", "/%M%S."]
        else:
            where = ["-d", os.path.join(self.dumps, "%M%S.")]
        self.proc = subprocess.Popen(
            [SMTP_SINK, "-a"] + where + self.options + ["127.0.0.1:%d" % self.port, "64"],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("smtp-sink did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc is not None:
            self.log.close()
        self.proc = None

    def received(self):
        """The messages accepted so far, as bytes."""
        out = []
        for name in sorted(os.listdir(self.dumps)):
            with open(os.path.join(self.dumps, name), "rb") as f:
                out.append(f.read())
        return out
