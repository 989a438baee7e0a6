"""make install into a DESTDIR: the binary runs check-config on the
installed sample configuration, a configuration already there is never
overwritten, the man pages render and document every command, key,
template variable and exit status, and the systemd unit passes
`systemd-analyze verify` and rates 1.5 or better in
`systemd-analyze security --offline=yes`."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import AFTERSALE, SRCDIR, TMPDIR, main  # noqa: E402

BUILDDIR = os.path.dirname(os.path.dirname(os.path.abspath(AFTERSALE)))
MAX_EXPOSURE = 1.5


def make(*args):
    """Run make in the build tree, outside the make that runs the tests."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return subprocess.run(["make", "-s", "-C", BUILDDIR] + list(args), env=env,
                          capture_output=True, text=True, timeout=300)


class Installed(unittest.TestCase):
    """One install for the whole class: it is the slow part."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(TMPDIR, exist_ok=True)
        cls.destdir = tempfile.mkdtemp(prefix="install-", dir=TMPDIR)
        p = make("install", "DESTDIR=" + cls.destdir)
        if p.returncode != 0:
            raise AssertionError("make install failed:\n" + p.stdout + p.stderr)
        cls.install_output = p.stdout + p.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir, ignore_errors=True)

    def find(self, pattern):
        found = glob.glob(os.path.join(self.destdir, "**", pattern), recursive=True)
        self.assertEqual(len(found), 1, "%s: %s" % (pattern, found))
        return found[0]

    def test_installed_binary_checks_the_installed_config(self):
        binary, conf = self.find("bin/aftersale"), self.find("aftersale/aftersale.conf")
        p = subprocess.run([binary, "-c", conf, "check-config"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ok, 6 campaigns", p.stdout)
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(conf), "templates",
                                                    "thank-you.txt")))

    def test_a_config_already_there_is_kept(self):
        conf = self.find("aftersale/aftersale.conf")
        template = os.path.join(os.path.dirname(conf), "templates", "review.txt")
        for path in (conf, template):
            with open(path, "a") as f:
                f.write("# the operator's own\n")
        p = make("install", "DESTDIR=" + self.destdir)
        self.assertEqual(p.returncode, 0, p.stderr)
        for path in (conf, template):
            with open(path) as f:
                self.assertTrue(f.read().endswith("# the operator's own\n"), path)
        self.assertIn("keeping", p.stdout)

    def test_man_pages_render_without_warnings(self):
        for page, title in (("man8/aftersale.8", "AFTERSALE(8)"),
                            ("man5/aftersale.conf.5", "AFTERSALE.CONF(5)")):
            p = subprocess.run(["man", "--warnings", "-l", self.find(page)],
                               capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)
            self.assertTrue(p.stdout.startswith(title), p.stdout[:200])

    def test_unit_is_generated_with_the_configured_paths(self):
        unit = open(self.find("aftersale.service")).read()
        self.assertEqual(re.findall(r"@\w+@", unit), [])
        exec_start = re.search(r"^ExecStart=(\S+) -c (\S+) run$", unit, re.M)
        self.assertIsNotNone(exec_start, unit)
        self.assertTrue(os.path.exists(self.destdir + exec_start.group(1)))
        self.assertTrue(os.path.exists(self.destdir + exec_start.group(2)))

    def test_unit_security_exposure(self):
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                            self.find("aftersale.service")], capture_output=True, text=True)
        level = re.search(r"Overall exposure level for aftersale.service: ([0-9.]+)", p.stdout)
        self.assertIsNotNone(level, p.stdout + p.stderr)
        self.assertLessEqual(float(level.group(1)), MAX_EXPOSURE, p.stdout)

    def test_unit_verifies(self):
        # verify wants ExecStart's binary to exist: point it at the
        # installed one, the only change.
        unit = open(self.find("aftersale.service")).read()
        binary = re.search(r"^ExecStart=(\S+)", unit, re.M).group(1)
        folder = tempfile.mkdtemp(dir=self.destdir)
        path = os.path.join(folder, "aftersale.service")
        with open(path, "w") as f:
            f.write(unit.replace("ExecStart=" + binary, "ExecStart=" + self.destdir + binary))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        # The socket hands its descriptor to the service beside it.
        socket_unit = os.path.join(folder, "aftersale.socket")
        shutil.copy(self.find("aftersale.socket"), socket_unit)
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", socket_unit],
                           capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        self.assertIn("ListenStream=127.0.0.1:8025\n", open(socket_unit).read())


class Documented(unittest.TestCase):
    """What the program knows, the man pages say."""

    def page(self, name):
        with open(os.path.join(SRCDIR, "man", name)) as f:
            return f.read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "") \
                .replace("\\fP", "").replace("\\fI", "")

    def source(self, name):
        with open(os.path.join(SRCDIR, "daemon", name)) as f:
            return f.read()

    def test_every_command(self):
        commands = re.findall(r'^\t\{ "([a-z -]+)", "', self.source("main.c"), re.M)
        self.assertGreaterEqual(len(commands), 12)
        page = self.page("aftersale.8")
        for command in commands:
            self.assertRegex(page, r"\n\.B %s\b" % re.escape(command), command)

    def test_every_config_key(self):
        config = self.source("config.c")
        page = self.page("aftersale.conf.5")
        tables = dict(re.findall(r"static const struct cfg_key (\w+)_keys\[\] = \{(.*?)CFG_END",
                                 config, re.S))
        self.assertGreaterEqual(len(tables), 8)
        for group, body in tables.items():
            for key, parse in re.findall(r'\{ "(\w+)", (\w+)', body):
                if parse in ("cfg_group", "NULL"):
                    continue
                # The sources' tables are a level down: sources.shopify.secret_file.
                # So are referral.rules': referral_rules_keys.
                prefix = "sources." + group if group in (
                    "shopify", "woocommerce", "stripe", "api") else group.replace("_", ".")
                name = key if group in ("top", "campaign") else prefix + "." + key
                self.assertRegex(page, r"\.BR? %s\b" % re.escape(name), name)

    def test_every_template_variable(self):
        variables = re.findall(r'\[VAR_\w+\] = "([a-z_.]+)"', self.source("template.c"))
        self.assertGreaterEqual(len(variables), 16)
        page = self.page("aftersale.conf.5")
        for variable in variables:
            self.assertIn(variable, page)

    def test_every_exit_status(self):
        used = set(re.findall(r"\bEX_([A-Z]+)\b", "".join(
            self.source(f) for f in os.listdir(os.path.join(SRCDIR, "daemon"))
            if f.endswith(".c"))))
        codes = {"OK": 0, "USAGE": 64, "DATAERR": 65, "NOINPUT": 66, "UNAVAILABLE": 69,
                 "SOFTWARE": 70, "OSERR": 71, "CANTCREAT": 73, "IOERR": 74, "TEMPFAIL": 75,
                 "CONFIG": 78}
        self.assertLessEqual(used, set(codes))
        status = self.page("aftersale.8").split(".SH EXIT STATUS")[1].split(".SH")[0]
        for name in used:
            self.assertIn(".B %d\n" % codes[name], status, name)


if __name__ == "__main__":
    main()
