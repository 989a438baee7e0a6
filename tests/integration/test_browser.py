"""The unsubscribe page in a real browser: Debian's chromium, headless,
driven by chromedriver through python3-selenium.  GET /u/TOKEN for a real
customer shows the shop and the address and changes nothing; pressing its
one button unsubscribes (checked in the database).  Skipped, saying why,
where chromium, chromedriver or selenium is missing or cannot start."""

import email
import email.policy
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import THANK_YOU_NOW, TMPDIR, Daemon, DaemonTest, main, recent  # noqa: E402
from smtpd import SmtpServer, free_port  # noqa: E402
from browser import browser  # noqa: E402

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    pass        # browser() says so, and the test is skipped

SHOP_NAME = "Café Acme"


class UnsubscribePage(DaemonTest):

    def setUp(self):
        super().setUp()
        self.profile = tempfile.mkdtemp(prefix="aftersale-chromium-", dir=TMPDIR)
        self.driver, why = browser(self.profile)
        if self.driver is None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.skipTest(why)

    def tearDown(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)
        super().tearDown()

    def test_the_page_names_shop_and_address_and_its_button_unsubscribes(self):
        server = self.keep(SmtpServer().start())
        self.shop.sale("A-1", "ana@example.com", name="Ana", at=recent())
        port = free_port()
        self.shop.write_config(extra='http = { listen = [ "127.0.0.1:%d" ];'
                               ' public_url = "http://127.0.0.1:%d"; };' % (port, port),
                               campaigns=THANK_YOU_NOW, smtp_port=server.port)
        # No unsubscribe.link: the link defaults to PUBLIC_URL/u/TOKEN.
        with open(self.shop.config) as f:
            text = "".join(line for line in f if not line.startswith("unsubscribe "))
        with open(self.shop.config, "w") as f:
            f.write(text.replace('name = "Acme Coffee"', 'name = "%s"' % SHOP_NAME))
        self.daemon = Daemon(self.shop)
        self.daemon.wait_log("running")
        (_, _, raw), = server.wait_for(1)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        link = re.search(r"<(http://127\.0\.0\.1:%d/u/\w+)>" % port, msg["List-Unsubscribe"])
        self.assertIsNotNone(link, msg["List-Unsubscribe"])

        self.driver.get(link.group(1))
        body = self.driver.find_element(By.TAG_NAME, "body").text
        self.assertIn(SHOP_NAME, self.driver.title + "\n" + body)
        self.assertIn("ana@example.com", body)
        # Loading the page (what a link scanner does) changes nothing.
        self.assertIsNone(self.shop.scalar("SELECT unsubscribed_at FROM customers"))

        buttons = self.driver.find_elements(By.CSS_SELECTOR, "form[method=post] button,"
                                            " form[method=post] input[type=submit]")
        self.assertEqual(len(buttons), 1)
        buttons[0].click()
        WebDriverWait(self.driver, 10).until(
            expected_conditions.text_to_be_present_in_element(
                (By.TAG_NAME, "body"), "no more follow-up emails"))
        self.assertIsNotNone(self.shop.scalar("SELECT unsubscribed_at FROM customers"))
        self.assertEqual(self.shop.ok("customer", "ana@example.com").splitlines()[1].split(", ")[-1],
                         "unsubscribed")
        self.assertEqual(self.daemon.stop(), 0)


if __name__ == "__main__":
    main()
