"""preview: the exact message a campaign would send, as mail readers parse it."""

import email
import email.policy
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ShopTest, main  # noqa: E402

EX_USAGE, EX_DATAERR = 64, 65


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


class Preview(ShopTest):

    def setUp(self):
        super().setUp()
        self.shop.sale("A-1", "chloe@example.com", name="Chloé Ødegård",
                       product="Kaffee ☕ & <Bohnen>", amount="12.50", at="2026-11-02")

    def preview(self, campaign="thank-you", order="A-1"):
        p = self.shop.run("preview", "--campaign", campaign, "--order", order, binary=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def assertWellFormed(self, raw):
        data = raw
        self.assertNotRegex(data, rb"[^\r]\n", "a bare LF")
        for line in data.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
        msg = parse(raw)
        self.assertEqual(msg.defects, [])
        for part in msg.walk():
            self.assertEqual(part.defects, [], part)
        return msg

    def test_multipart_message(self):
        msg = self.assertWellFormed(self.preview())
        self.assertEqual(msg["From"].addresses[0].display_name, "Acme Coffee")
        self.assertEqual(msg["From"].addresses[0].addr_spec, "hello@acme.example")
        self.assertEqual(msg["To"].addresses[0].display_name, "Chloé Ødegård")
        self.assertEqual(msg["To"].addresses[0].addr_spec, "chloe@example.com")
        self.assertEqual(str(msg["Subject"]), "Thank you for your order, Chloé!")
        self.assertRegex(msg["Message-ID"], r"^<[0-9A-Z]{20}@acme\.example>$")
        self.assertIsNotNone(msg["Date"].datetime)
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        text, html = msg.get_payload()
        self.assertEqual(text.get_content_type(), "text/plain")
        self.assertEqual(text.get_content_charset(), "utf-8")
        self.assertEqual(html.get_content_type(), "text/html")
        self.assertIn("Thank you for buying Kaffee ☕ & <Bohnen> from Acme Coffee.",
                      text.get_content())
        self.assertIn("Your order A-1 of 12.50 EUR", text.get_content())
        self.assertIn("Kaffee ☕ &amp; &lt;Bohnen&gt;", html.get_content())

    def test_unsubscribe_headers_and_link(self):
        # preview writes nothing (it works on a read-only database), and
        # needs not: a new customer's token is derived from their id, the
        # one the daemon will send.
        msg = self.assertWellFormed(self.preview())
        self.assertIsNone(self.shop.scalar("SELECT unsubscribe_token FROM customers"))
        derived = self.shop.token_of("chloe@example.com")
        self.assertRegex(derived, r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
        self.assertEqual(msg["List-Unsubscribe"], "<https://acme.example/u?t=%s>" % derived)
        self.assertIn("https://acme.example/u?t=" + derived,
                      msg.get_payload()[0].get_content())
        # A customer from before migration 0016 keeps the token drawn then.
        token = "K3X9QF2MK3X9QF2MK3X9QF2MAB"
        self.shop.query("UPDATE customers SET unsubscribe_token = ?", token)
        msg = self.assertWellFormed(self.preview())
        self.assertEqual(msg["List-Unsubscribe"],
                         "<https://acme.example/u?t=%s>" % token)
        self.assertEqual(msg["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        self.assertIn("https://acme.example/u?t=" + token,
                      msg.get_payload()[0].get_content())

    def test_plain_text_campaign(self):
        msg = self.assertWellFormed(self.preview("review-request"))
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        self.assertEqual(msg["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(str(msg["Subject"]), "How is your Kaffee ☕ & <Bohnen>?")

    def test_long_lines_are_wrapped(self):
        self.shop.write("templates/review.txt",
                        "Subject: " + "a long subject " * 12 + "\n\n" + "word " * 400 + "\n"
                        + "x" * 2000 + "\n.starts with a dot\n")
        raw = self.preview("review-request")
        msg = self.assertWellFormed(raw)
        for line in raw.split(b"\r\n"):
            self.assertLessEqual(len(line), 78, line)
        body = msg.get_content().replace("\r\n", "\n")
        self.assertIn("x" * 2000, body)
        self.assertIn("\n.starts with a dot\n", body)
        self.assertEqual(str(msg["Subject"]), ("a long subject " * 12).strip())

    def test_header_injection_is_impossible(self):
        # Input checks refuse CR and LF; this goes around them, straight to
        # the database, to prove the message builder holds the line too.
        with self.shop.db() as db:
            db.execute("UPDATE customers SET name = ?",
                       ("Eve\r\nBcc: victim@example.com\r\nX-Evil: 1",))
        raw = self.preview("review-request")
        msg = self.assertWellFormed(raw)
        self.assertIsNone(msg["Bcc"])
        self.assertIsNone(msg["X-Evil"])
        self.assertEqual(len(msg.get_all("To")), 1)
        self.assertEqual(msg["To"].addresses[0].addr_spec, "chloe@example.com")

    def test_invalid_utf8_in_the_database_ends(self):
        # Regression (issue 9 defect 17): 45+ continuation bytes made the
        # encoded-word chunk 0 bytes long and preview spun forever.  Input
        # checks refuse such names; this goes straight to the database.
        for name in (b"\x80" * 60, b"\xbf" + "Chloé".encode() + b"\xff\xc3"):
            with self.shop.db() as db:
                db.execute("UPDATE customers SET name = CAST(? AS TEXT)", (name,))
            p = self.shop.run("preview", "--campaign", "thank-you", "--order", "A-1",
                              binary=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            msg = self.assertWellFormed(p.stdout)
            # Python's address parser keeps the folding space between
            # encoded words, which RFC 2047 (6.2) drops: compare without it.
            shown = name.decode("utf-8", "replace")
            self.assertEqual(msg["To"].addresses[0].display_name.replace(" ", ""), shown)
            self.assertEqual(msg["To"].addresses[0].addr_spec, "chloe@example.com")

    def test_address_with_line_break_is_refused(self):
        # The display name was cleaned; the address itself was not (defect 17).
        with self.shop.db() as db:
            db.execute("UPDATE customers SET email = ?",
                       ("chloe@example.com\r\nBcc: victim@example.com",))
        p = self.shop.run("preview", "--campaign", "thank-you", "--order", "A-1",
                          binary=True, timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn(b"victim", p.stdout)
        self.assertIn(b"the To address contains a line break", p.stderr)

    def test_referral_thanks_goes_to_the_referrer(self):
        code = self.shop.code_of("chloe@example.com")
        self.shop.sale("B-1", "bo@example.com", name="Bo", referral=code)
        msg = self.assertWellFormed(self.preview("referral-thanks", "B-1"))
        self.assertEqual(msg["To"].addresses[0].addr_spec, "chloe@example.com")
        self.assertIn(code, msg.get_content())
        p = self.shop.run("preview", "--campaign", "referral-thanks", "--order", "A-1")
        self.assertEqual(p.returncode, EX_DATAERR)
        self.assertIn('order "A-1" did not convert a referral', p.stderr)

    def test_errors(self):
        p = self.shop.run("preview", "--campaign", "thank-you", "--order", "NOPE")
        self.assertEqual(p.returncode, EX_DATAERR)
        self.assertIn('order "NOPE" is not recorded', p.stderr)
        p = self.shop.run("preview", "--campaign", "nope", "--order", "A-1")
        self.assertEqual(p.returncode, EX_USAGE)
        p = self.shop.run("preview", "--order", "A-1")
        self.assertEqual(p.returncode, EX_USAGE)
        self.assertEqual(self.shop.scalar("SELECT count(*) FROM messages"), 0)


if __name__ == "__main__":
    main()
