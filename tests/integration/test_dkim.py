"""DKIM: messages signed with an RSA or an Ed25519 key verify with Debian's
dkimpy (python3-dkim), the public key handed to it through its DNS lookup
hook; a message changed after signing does not.  check-config names the
algorithm and prints the record to publish; preview shows the signed
message; the bytes the daemon stores and sends are the signed ones."""

import base64
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import HOSTILE, THANK_YOU_NOW, Daemon, DaemonTest, ShopTest, main, recent  # noqa: E402
from smtpd import SmtpServer  # noqa: E402

try:
    import dkim
except ImportError:
    dkim = None

DKIM_BLOCK = 'dkim = { domain = "acme.example"; selector = "as1"; key_file = "dkim-key"; };'
SIGNED = ["from", "to", "subject", "date", "message-id", "mime-version", "content-type",
          "list-id", "list-unsubscribe", "list-unsubscribe-post"]


def genkey(path, algorithm):
    """A private key as `openssl genpkey` writes it, readable by its owner."""
    args = ["openssl", "genpkey", "-algorithm", algorithm, "-out", path]
    if algorithm == "rsa":
        args += ["-pkeyopt", "rsa_keygen_bits:2048"]
    subprocess.run(args, check=True, capture_output=True)
    os.chmod(path, 0o600)


def dns_record(path, algorithm):
    """The TXT record for the key, made by openssl, not by aftersale: the
    DER public key for RSA, its last 32 bytes (the bare key) for Ed25519."""
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    key = der[-32:] if algorithm == "ed25519" else der
    return "v=DKIM1; k=%s; p=%s" % (algorithm, base64.b64encode(key).decode())


def verify(raw, record):
    """dkimpy's verdict, the record served for as1._domainkey.acme.example."""
    def dnsfunc(name, timeout=5):
        if name == b"as1._domainkey.acme.example.":
            return record.encode()
        return None
    return dkim.verify(raw, dnsfunc=dnsfunc)


@unittest.skipIf(dkim is None, "python3-dkim (dkimpy) is not installed")
class Signed(ShopTest):

    extra = DKIM_BLOCK

    def setUp(self):
        super().setUp()
        self.shop.sale("A-1", "chloe@example.com", name="Chloé Martin",
                       product="Hand grinder, steel", amount="49.00")

    def check_key(self, algorithm, describe):
        genkey(self.shop.path("dkim-key"), algorithm)
        record = dns_record(self.shop.path("dkim-key"), algorithm)
        out = self.shop.ok("check-config")
        self.assertIn("dkim: signs %s as d=acme.example s=as1" % describe, out)
        printed = "".join(re.findall(r'"([^"]*)"', out.split("IN TXT", 1)[1]))
        self.assertEqual(printed, record)

        raw = self.shop.ok("preview", "--campaign", "thank-you", "--order", "A-1",
                           binary=True)
        self.assertTrue(raw.startswith(b"DKIM-Signature: v=1; a=%s-sha256; c=relaxed/relaxed;"
                                       % algorithm.encode()), raw[:80])
        self.assertTrue(verify(raw, record))
        header = raw.split(b"\r\n\r\n", 1)[0].decode()
        signed = re.search(r"[;\s]h=([^;]*);", re.sub(r"\r\n[ \t]+", " ", header)).group(1)
        self.assertEqual(sorted(h.strip().lower() for h in signed.split(":")), sorted(SIGNED))

        # Changed after signing: the one-click link (RFC 8058's worry), a
        # byte of the body; or checked against another key.
        for before, after in ((b"<https://acme.example/", b"<https://evil.example/"),
                              (b"Hand grinder", b"Hand grindex")):
            self.assertIn(before, raw)
            self.assertFalse(verify(raw.replace(before, after), record))
        self.assertFalse(verify(raw, dns_record(self.other_key(algorithm), algorithm)))

    def other_key(self, algorithm):
        path = self.shop.path("other-key")
        genkey(path, algorithm)
        return path

    def test_rsa(self):
        self.check_key("rsa", "rsa-sha256 with a 2048-bit RSA key")

    def test_ed25519(self):
        self.check_key("ed25519", "ed25519-sha256 with an Ed25519 key")

    def test_body_hash_matches_libopendkim(self):
        """Ed25519 signatures are made here with libcrypto (libopendkim
        leaks with them), RSA ones by libopendkim: the same body hashes the
        same both ways, so the relaxed body is libopendkim's."""
        hashes = []
        for algorithm in ("rsa", "ed25519"):
            genkey(self.shop.path("dkim-key"), algorithm)
            raw = self.shop.ok("preview", "--campaign", "review-request", "--order", "A-1",
                               binary=True)
            self.assertTrue(verify(raw, dns_record(self.shop.path("dkim-key"), algorithm)))
            hashes.append(re.search(rb"bh=([^;]+);", raw).group(1))
            os.unlink(self.shop.path("dkim-key"))
        self.assertEqual(hashes[0], hashes[1])

    def test_hostile_headers_verify(self):
        """Folded encoded words, quoted names, long tokens: the relaxed
        header canonicalization holds for every one, with both keys."""
        for i, (name, product) in enumerate(HOSTILE):
            self.shop.sale("H-%d" % i, "h%d@example.com" % i, name=name, product=product)
        for algorithm in ("rsa", "ed25519"):
            genkey(self.shop.path("dkim-key"), algorithm)
            record = dns_record(self.shop.path("dkim-key"), algorithm)
            for i in range(len(HOSTILE)):
                for campaign in ("thank-you", "review-request"):
                    raw = self.shop.ok("preview", "--campaign", campaign, "--order",
                                       "H-%d" % i, binary=True)
                    self.assertTrue(verify(raw, record), (algorithm, HOSTILE[i]))
            os.unlink(self.shop.path("dkim-key"))

    def test_key_as_credential(self):
        """Without key_file, the systemd credential dkim-key."""
        os.mkdir(self.shop.path("credentials"))
        genkey(self.shop.path("credentials/dkim-key"), "ed25519")
        self.shop.write_config(extra=DKIM_BLOCK.replace(' key_file = "dkim-key";', ""))
        env = {"CREDENTIALS_DIRECTORY": self.shop.path("credentials")}
        self.assertIn("ed25519-sha256", self.shop.ok("check-config", env=env))
        raw = self.shop.ok("preview", "--campaign", "thank-you", "--order", "A-1",
                           binary=True, env=env)
        self.assertTrue(verify(raw, dns_record(self.shop.path("credentials/dkim-key"),
                                               "ed25519")))
        # Outside the service the credential is not there: said, not signed.
        self.assertIn("only the service sees", self.shop.ok("check-config"))
        p = self.shop.run("preview", "--campaign", "thank-you", "--order", "A-1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("not signed", p.stderr)
        self.assertFalse(p.stdout.startswith("DKIM-Signature"))

    def test_bad_keys_are_refused(self):
        path = self.shop.path("dkim-key")
        genkey(path, "ed25519")
        os.chmod(path, 0o640)
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn("aftersale.conf:12: dkim.key_file: %s is readable by its group" % path,
                      p.stderr)
        for text, why in (("not a key\n", "not an unencrypted private key in PEM form"),
                          (None, "a 512-bit RSA key is too weak")):
            os.unlink(path)
            if text is None:
                subprocess.run(["openssl", "genpkey", "-algorithm", "rsa", "-pkeyopt",
                                "rsa_keygen_bits:512", "-out", path], check=True,
                               capture_output=True)
                os.chmod(path, 0o600)
            else:
                self.shop.write_secret("dkim-key", text)
            p = self.shop.run("check-config")
            self.assertEqual(p.returncode, 78, p.stderr)
            self.assertIn("aftersale.conf:12: dkim.key_file %s: %s" % ("dkim-key", why),
                          p.stderr)
            self.assertNotIn("BEGIN", p.stderr)
            p = self.shop.run("preview", "--campaign", "thank-you", "--order", "A-1")
            self.assertEqual(p.returncode, 78, p.stderr)

    def test_domain_out_of_line_with_from_is_a_warning(self):
        genkey(self.shop.path("dkim-key"), "ed25519")
        self.shop.write_config(extra=DKIM_BLOCK.replace("acme.example", "other.example"))
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('dkim.domain "other.example" is neither smtp.from\'s domain', p.stderr)
        # A subdomain of the From domain is aligned.
        self.shop.write_config(extra=DKIM_BLOCK.replace("acme.example", "mail.acme.example"))
        self.assertEqual(self.shop.run("check-config").stderr, "")


@unittest.skipIf(dkim is None, "python3-dkim (dkimpy) is not installed")
class SentSigned(DaemonTest):
    """The daemon signs when it builds: what the relay receives verifies,
    and a retry resends the very bytes that were signed."""

    def test_received_message_verifies(self):
        server = self.keep(SmtpServer().start())
        server.handler.data_once.append("451 4.3.0 try again later")
        self.shop.write_config(campaigns=THANK_YOU_NOW, smtp_port=server.port,
                               extra=DKIM_BLOCK)
        genkey(self.shop.path("dkim-key"), "rsa")
        record = dns_record(self.shop.path("dkim-key"), "rsa")
        self.shop.sale("A-1", "ana@example.com", name="Ana Lima", at=recent())
        self.daemon = Daemon(self.shop)
        self.daemon.wait_states({"deferred": 1})
        self.shop.ok("retry", "1")
        raw = server.wait_for(1)[0][2]
        self.daemon.wait_states({"sent": 1})
        self.assertEqual(self.daemon.stop(), 0)
        self.assertTrue(verify(raw, record))
        self.assertEqual(raw, server.handler.refused[0])
        self.assertEqual(self.shop.scalar("SELECT body FROM message_bodies"), raw)
        # The private key reaches no log, message, database or output: no
        # 16-character piece of its base64 anywhere.
        with open(self.shop.path("dkim-key")) as f:
            secret = "".join(line for line in f.read().splitlines()
                             if not line.startswith("-----"))
        pieces = [secret[i:i + 16] for i in range(0, len(secret) - 16, 8)]
        places = {"the log": self.daemon.text().encode(), "the message": raw,
                  "check-config": self.shop.ok("check-config").encode()}
        for name in os.listdir(self.shop.dir):
            if name.startswith("aftersale.db"):
                with open(self.shop.path(name), "rb") as f:
                    places[name] = f.read()
        for where, data in places.items():
            for piece in pieces:
                self.assertNotIn(piece.encode(), data, where)


if __name__ == "__main__":
    main()
