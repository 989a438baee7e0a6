"""The command line: help, version, usage errors and exit statuses."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ShopTest, main  # noqa: E402

EX_USAGE = 64
COMMANDS = [["run"], ["check-config"], ["migrate"], ["preview"], ["sale", "add"],
            ["sale", "import"], ["customer"], ["customer", "export"], ["customer", "erase"],
            ["unsubscribe"], ["resubscribe"], ["stats"]]


class Cli(ShopTest):

    def test_help_lists_every_command(self):
        out = self.shop.ok("--help", config=False)
        self.assertIn("usage: aftersale [-c FILE] COMMAND", out)
        for words in COMMANDS:
            self.assertIn(" ".join(words), out)

    def test_every_command_has_help(self):
        for words in COMMANDS:
            out = self.shop.ok(*words, "--help", config=False)
            self.assertTrue(out.startswith("usage: aftersale [-c FILE] " + " ".join(words)),
                            out)

    def test_version(self):
        self.assertRegex(self.shop.ok("--version", config=False), r"^aftersale \d+\.\d+\.\d+\n$")

    def test_unknown_command(self):
        p = self.shop.run("send-everything")
        self.assertEqual(p.returncode, EX_USAGE)
        self.assertIn('unknown command "send-everything"', p.stderr)
        p = self.shop.run("sale", "delete")
        self.assertEqual(p.returncode, EX_USAGE)
        self.assertIn('unknown command "sale delete"', p.stderr)

    def test_no_command(self):
        self.assertEqual(self.shop.run().returncode, EX_USAGE)

    def test_config_option_after_the_command(self):
        out = self.shop.ok("check-config", "-c", self.shop.config, config=False)
        self.assertIn("ok", out)

    def test_stray_argument(self):
        p = self.shop.run("stats", "extra")
        self.assertEqual(p.returncode, EX_USAGE)
        self.assertIn('unexpected argument "extra"', p.stderr)


if __name__ == "__main__":
    main()
