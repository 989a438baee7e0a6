"""check-config and configuration errors, through the real binary."""

import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import AFTERSALE, SRCDIR, ShopTest, main  # noqa: E402

EX_CONFIG = 78


class CheckConfig(ShopTest):

    def sample(self, edit=None):
        """A copy of the sample config and templates, optionally edited."""
        shutil.rmtree(self.shop.path("templates"))
        shutil.copytree(os.path.join(SRCDIR, "conf", "templates"), self.shop.path("templates"))
        with open(os.path.join(SRCDIR, "conf", "aftersale.conf")) as f:
            text = f.read()
        if edit:
            text = edit(text)
        return self.shop.write("sample.conf", text)

    def test_sample_config_is_valid(self):
        p = self.shop.run("-c", os.path.join(SRCDIR, "conf", "aftersale.conf"),
                          "check-config", config=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ok, 6 campaigns", p.stdout)

    def test_one_misspelt_key(self):
        path = self.sample(lambda t: t.replace("give_up_after", "give_up_afer"))
        line = [n for n, l in enumerate(open(path), 1) if "give_up_afer" in l][0]
        p = self.shop.run("-c", path, "check-config", config=False)
        self.assertEqual(p.returncode, EX_CONFIG)
        self.assertIn('%s:%d: unknown key "delivery.give_up_afer" (did you mean '
                      '"delivery.give_up_after"?)' % (path, line), p.stderr)

    def test_misspelt_campaign_key(self):
        path = self.sample(lambda t: t.replace('after = "60d"', 'afer = "60d"'))
        line = [n for n, l in enumerate(open(path), 1) if "afer" in l][0]
        p = self.shop.run("-c", path, "check-config", config=False)
        self.assertEqual(p.returncode, EX_CONFIG)
        self.assertIn('%s:%d: campaign "win-back": unknown key "afer" (did you mean '
                      '"after"?)' % (path, line), p.stderr)

    def test_every_problem_is_listed(self):
        def edit(t):
            t = t.replace('after = "7d"', 'after = "7 days"')
            t = t.replace('template = "refer"', 'template = "refr"')
            return t.replace('after = "60d"; template = "win-back"',
                             'after = "60d"; template = "win-back"; enabled = "yes"')
        path = self.sample(edit)
        os.remove(self.shop.path("templates/win-back.txt"))
        self.shop.write("templates/referral-thanks.txt",
                        "Subject: Thanks {{customer.frist_name}}\n\nHi.\n")
        p = self.shop.run("-c", path, "check-config", config=False)
        self.assertEqual(p.returncode, EX_CONFIG)
        for piece in ('campaign "review-request": after: "7 days" is not a duration',
                      'campaign "refer-a-friend": template "refr" not found',
                      'campaign "win-back": enabled must be true or false',
                      'referral-thanks.txt:1: unknown variable {{customer.frist_name}} '
                      '(did you mean {{customer.first_name}}?)'):
            self.assertIn(piece, p.stderr)
        for line in p.stderr.splitlines():
            self.assertRegex(line, r"^\S+:\d+: ")

    def test_missing_file(self):
        p = self.shop.run("-c", self.shop.path("nope.conf"), "check-config", config=False)
        self.assertEqual(p.returncode, EX_CONFIG)
        self.assertIn("nope.conf: cannot read the configuration: No such file", p.stderr)

    def test_environment_names_the_default(self):
        p = self.shop.run("check-config", config=False,
                          env={"AFTERSALE_CONFIG": self.shop.config})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(self.shop.config, p.stdout)

    def test_commands_refuse_a_broken_config(self):
        self.shop.write("aftersale.conf", open(self.shop.config).read() + "\nbogus = 1;\n")
        self.assertFails(EX_CONFIG, "sale", "add", "--order", "A-1", "--email",
                         "ana@example.com", stderr='unknown key "bogus"')
        self.assertFalse(os.path.exists(self.shop.database))

    def test_secrets_are_not_config_keys(self):
        self.shop.write("aftersale.conf", open(self.shop.config).read().replace(
            'tls = "none";', 'tls = "none"; password = "hunter2";'))
        p = self.shop.run("check-config")
        self.assertEqual(p.returncode, EX_CONFIG)
        self.assertIn('unknown key "smtp.password" (did you mean "smtp.password_file"?)',
                      p.stderr)
        self.assertNotIn("hunter2", p.stderr)

    def config_line(self, piece):
        return [n for n, l in enumerate(open(self.shop.config), 1) if piece in l][0]

    def test_password_in_smtp_url_is_refused(self):
        # Issue 9 defect 3: the URL is logged; a password in it would be too.
        for url in ("smtp://acme:hunter2@127.0.0.1:2525",
                    "smtps://acme:hunter2@127.0.0.1:465/",
                    "smtp://hunter2@127.0.0.1"):
            self.shop.write("aftersale.conf", open(self.shop.config).read().replace(
                "smtp://127.0.0.1:2525", url))
            line = self.config_line(url)
            for args in (["check-config"], ["run"]):
                p = self.shop.run(*args, timeout=10)
                self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
                self.assertIn("%s:%d: smtp.url must not hold a user name or password"
                              % (self.shop.config, line), p.stderr)
                self.assertIn("smtp.username", p.stderr)
                self.assertIn("smtp.password_file", p.stderr)
                self.assertNotIn("hunter2", p.stdout + p.stderr)
            self.shop.write("aftersale.conf", open(self.shop.config).read().replace(
                url, "smtp://127.0.0.1:2525"))
        # An '@' after the host (in a path) is no userinfo.
        self.assertEqual(self.shop.run("check-config").returncode, 0)

    def test_secret_file_readable_by_others_is_refused(self):
        # Issue 9 defect 6: one rule for every secret file.
        path = self.shop.write("password", "hunter2\n")
        self.shop.write("aftersale.conf", open(self.shop.config).read().replace(
            'tls = "none";', 'tls = "none"; username = "acme";\n  password_file = "%s";'
            % path))
        line = self.config_line("password_file")
        for mode, who in ((0o644, "every user"), (0o640, "its group"), (0o604, "every user")):
            os.chmod(path, mode)
            for args in (["check-config"], ["run"]):
                p = self.shop.run(*args, timeout=10)
                self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
                self.assertIn("%s:%d: smtp.password_file: %s is readable by %s: run "
                              "chmod 600 %s" % (self.shop.config, line, path, who, path),
                              p.stderr)
                self.assertNotIn("hunter2", p.stdout + p.stderr)
        os.chmod(path, 0o600)
        self.assertEqual(self.shop.run("check-config").returncode, 0)
        for text, why in (("", "is empty"), ("\n", "is empty"),
                          ("two\nlines\n", "holds more than one line")):
            self.shop.write_secret("password", text)
            p = self.shop.run("check-config")
            self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
            self.assertIn("%s:%d: smtp.password_file: %s %s" % (self.shop.config, line,
                                                               path, why), p.stderr)
        # A systemd credential is systemd's to protect (secret.c says why).
        creds = os.path.join(self.shop.dir, "credentials")
        os.mkdir(creds)
        with open(os.path.join(creds, "smtp-password"), "w") as f:
            f.write("hunter2")
        os.chmod(os.path.join(creds, "smtp-password"), 0o444)
        self.shop.write("aftersale.conf", open(self.shop.config).read().replace(
            'password_file = "%s";' % path, ""))
        p = self.shop.run("check-config", env={"CREDENTIALS_DIRECTORY": creds})
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.shop.run("run", env={"CREDENTIALS_DIRECTORY": self.shop.dir})
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("smtp.username is set but there is no password", p.stderr)

    def test_a_relay_without_login_reads_no_password(self):
        # The README says: no login, leave the unit's credential file empty.
        creds = os.path.join(self.shop.dir, "credentials")
        os.mkdir(creds)
        open(os.path.join(creds, "smtp-password"), "w").close()
        p = self.shop.run("check-config", env={"CREDENTIALS_DIRECTORY": creds})
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    main()
