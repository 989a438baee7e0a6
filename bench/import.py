"""Import 1,000,000 sales (about 400,000 customers) from CSV, against the
sqlite3 shell's .import of the same file into a plain table keyed on
order_id, in the same run.  Target: at least 0.33x the sqlite3 rate, and
aftersale's peak RSS under 64 MB."""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (AFTERSALE, BENCH_DIR, SQLITE3, fresh_shop, measure,  # noqa: E402
                    median, report)

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
CUSTOMERS = ROWS * 2 // 5
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def generate(path):
    """Sales spread over 300 days of 2026, in random order of time."""
    rng = random.Random(1)
    skus = ["COFFEE-ETH", "COFFEE-COL", "COFFEE-KEN", "GRINDER-1", "FILTER-100"]
    base = 1767225600  # 2026-01-01T00:00:00Z
    with open(path, "w") as f:
        f.write("order_id,email,name,sku,product,amount,currency,sold_at\n")
        for i in range(ROWS):
            c = rng.randrange(CUSTOMERS)
            t = time.gmtime(base + rng.randrange(300 * 86400))
            f.write("O-%07d,customer%d@example.com,Customer %d,%s,\"Product, %d\",%d.%02d,"
                    "EUR,%s\n" % (i, c, c, rng.choice(skus), i % 97, rng.randrange(5, 80),
                                  rng.randrange(100), time.strftime("%Y-%m-%dT%H:%M:%SZ", t)))


def main():
    os.makedirs(BENCH_DIR, exist_ok=True)
    csv = os.path.join(BENCH_DIR, "sales-%d.csv" % ROWS)
    if not os.path.exists(csv):
        print("generating %s ..." % csv, flush=True)
        generate(csv + ".tmp")
        os.rename(csv + ".tmp", csv)

    ours, theirs, rss = [], [], []
    for run in range(RUNS):
        conf = fresh_shop("import")
        wall, _, peak = measure([AFTERSALE, "-c", conf, "sale", "import", csv])
        ours.append(wall)
        rss.append(peak)

        db = os.path.join(BENCH_DIR, "import", "plain.db")
        measure([SQLITE3, db, "CREATE TABLE sales (order_id TEXT PRIMARY KEY, email TEXT,"
                 " name TEXT, sku TEXT, product TEXT, amount TEXT, currency TEXT,"
                 " sold_at TEXT)"])
        wall, _, _ = measure([SQLITE3, db, "-cmd", ".mode csv",
                              ".import --skip 1 %s sales" % csv])
        theirs.append(wall)
        print("run %d: aftersale %.2f s, sqlite3 %.2f s, peak RSS %.1f MiB"
              % (run + 1, ours[-1], theirs[-1], rss[-1]), flush=True)

    ratio = median(theirs) / median(ours)
    report("import of %d rows (%d customers), median of %d runs" % (ROWS, CUSTOMERS, RUNS), [
        ("aftersale sale import", "%.2f s, %.0f rows/s" % (median(ours), ROWS / median(ours))),
        ("sqlite3 .import (plain keyed table)", "%.2f s, %.0f rows/s"
         % (median(theirs), ROWS / median(theirs))),
        ("rate ratio aftersale / sqlite3", "%.2fx (target >= 0.33x): %s"
         % (ratio, "met" if ratio >= 0.33 else "MISSED")),
        ("aftersale peak RSS (max of runs)", "%.1f MiB (target < 64 MB): %s"
         % (max(rss), "met" if max(rss) * 1.048576 < 64 else "MISSED")),
    ])


if __name__ == "__main__":
    main()
