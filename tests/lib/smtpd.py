"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, in this process,
recording every message it accepts.  Optionally STARTTLS with a
certificate from a CA made for the test, and AUTH."""

import os
import random
import socket
import ssl
import subprocess
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


_ports_lock = threading.Lock()
_ports_given = set()


def free_port():
    """A port on 127.0.0.1 to listen on, never the same twice in this
    process (cases run side by side), and outside the kernel's ephemeral
    range, where the daemon's own outgoing connections take theirs."""
    with _ports_lock:
        while True:
            port = random.randrange(20000, 32000)
            if port in _ports_given:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _ports_given.add(port)
            return port


def make_ca(folder, name="localhost"):
    """A CA and a server certificate for 127.0.0.1/localhost it signed.
    Returns (ca.pem, server.pem, server.key)."""
    ca_key, ca = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.pem")
    key, csr = os.path.join(folder, "server.key"), os.path.join(folder, "server.csr")
    cert, ext = os.path.join(folder, "server.pem"), os.path.join(folder, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s,IP:127.0.0.1\n" % name)

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
            "-days", "2", "-subj", "/CN=aftersale test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class Handler:
    """Records what arrives; `rcpt_replies` maps an address to the reply
    its RCPT gets, `data_reply` (if set) answers every end of DATA;
    `data_once` holds replies for the next ends of DATA, one each, and what
    they refused is kept in `refused`."""

    def __init__(self):
        self.messages = []
        self.rcpt_replies = {}
        self.data_reply = None
        self.data_once = []
        self.refused = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        with self.lock:
            if self.data_once:
                self.refused.append(envelope.original_content)
                return self.data_once.pop(0)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content))
        return "250 2.0.0 Ok: queued"

    def received(self):
        with self.lock:
            return list(self.messages)


class SmtpServer:
    def __init__(self, tls_folder=None, users=None, port=None, auth_exclude=None):
        self.port = port or free_port()
        self.handler = Handler()
        kwargs = {}
        if tls_folder:
            self.ca, cert, key = make_ca(tls_folder)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            kwargs.update(tls_context=context, require_starttls=True)
        if users:
            def authenticate(server, session, envelope, mechanism, data):
                ok = (isinstance(data, LoginPassword)
                      and users.get(data.login.decode()) == data.password.decode())
                # handled=False: aiosmtpd then answers 535 itself.
                return AuthResult(success=ok, handled=False)
            kwargs.update(authenticator=authenticate, auth_required=True,
                          auth_exclude_mechanism=auth_exclude or [])
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", ready_timeout=10, **kwargs)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def received(self):
        return self.handler.received()

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received()) >= count:
                return self.received()
            time.sleep(0.05)
        raise AssertionError("%d messages arrived, not %d" % (len(self.received()), count))
