"""Running out of memory is handled one way: "out of memory; stopping",
exit 71, nothing half stored, never a crash (issue 9 defect 13: config.c
ignored a failed asprintf, and message.c then read through the NULL).
The limit is on address space (RLIMIT_AS), set above what aftersale needs
to start and below what the work at hand takes."""

import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import AFTERSALE, ASAN, ShopTest, main  # noqa: E402

EX_OSERR = 71
LIMIT = 48 * 1024 * 1024    # aftersale starts in about 36 MiB of address space


# setrlimit in a preexec_fn: not beside other threads.
PARALLEL = False


class OutOfMemory(ShopTest):

    def setUp(self):
        super().setUp()
        if ASAN:
            self.skipTest("AddressSanitizer cannot run under RLIMIT_AS")

    def run_limited(self, *args):
        def cap():
            resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
        return subprocess.run([AFTERSALE, "-c", self.shop.config] + list(args),
                              capture_output=True, text=True, preexec_fn=cap, timeout=120)

    def assertRanOut(self, p):
        self.assertEqual(p.returncode, EX_OSERR, p.stderr)
        last = p.stderr.strip().splitlines()[-1]
        self.assertTrue(last.startswith("out of memory"), p.stderr)
        self.assertTrue(last.endswith("; stopping"), p.stderr)

    def test_a_big_import_runs_out_and_stores_nothing(self):
        # SQLite's page cache for the import grows past the limit.
        self.shop.sale("A-1", "ana@example.com")
        before = self.shop.counts()
        path = self.shop.path("big.csv")
        with open(path, "w") as f:
            f.write("order_id,email,name,amount\n")
            for i in range(200000):
                f.write("O-%d,c%d@example.com,Name %d,12.50\n" % (i, i, i))
        self.assertRanOut(self.run_limited("sale", "import", path))
        self.assertEqual(self.shop.counts(), before)

    def test_a_config_too_big_for_memory_runs_out(self):
        # Sixty campaigns, each loading its own copy of a 1 MB template.
        body = ("Subject: Thanks {{customer.first_name}}\n\n"
                + "Thank you for your order from {{shop.name}}.\n" * 22000)
        self.shop.write("templates/huge.txt", body)
        self.shop.write_config(campaigns=",\n".join(
            '  { name = "c%d"; on = "sale"; after = "1d"; template = "huge"; }' % i
            for i in range(60)))
        p = self.run_limited("check-config")
        self.assertRanOut(p)
        self.assertIn("out of memory allocating", p.stderr)


if __name__ == "__main__":
    main()
