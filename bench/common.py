"""What the benchmarks share: timing a child process with its peak RSS,
medians, and a shop folder for the real binary."""

import os
import shutil
import statistics
import subprocess
import time

AFTERSALE = os.environ.get("AFTERSALE", "daemon/aftersale")
SRCDIR = os.environ.get("AFTERSALE_SRCDIR", ".")
# As root the daemon runs as nobody, who may not reach the build folder
# (a checkout under /root): the shops then go under /tmp.
BENCH_DIR = os.environ.get("BENCH_DIR") or (
    "/tmp/aftersale-bench" if os.geteuid() == 0 else "bench/out")
SQLITE3 = os.environ.get("SQLITE3") or "sqlite3"

CONFIG = """\
database  = "aftersale.db";
timezone  = "UTC";
templates = "templates";
shop = { name = "Bench"; currency = "EUR"; };
smtp = { url = "smtp://127.0.0.1:%(port)d"; tls = "none";
         from = "Bench <bench@example.com>"; max_connections = %(conns)d; };
campaigns = (
%(campaigns)s
);
"""


def measure(cmd, stdin=None, env=None):
    """Run cmd; return (wall seconds, CPU seconds, peak RSS in MiB)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, err[-2000:]))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def start_daemon(conf, **popen):
    """`aftersale run` on conf's shop.  As root it must become another
    user (it refuses root), who must own the shop's folder and reach it."""
    cmd = [AFTERSALE, "-c", conf, "run"]
    if os.geteuid() == 0:
        cmd += ["--user", "nobody"]
        folder = os.path.dirname(os.path.abspath(conf))
        subprocess.run(["chown", "-R", "nobody:", folder], check=True)
        path = folder
        while path != "/":
            path = os.path.dirname(path)
            if not os.stat(path).st_mode & 0o001:
                raise SystemExit("%s is not reachable by nobody: set BENCH_DIR to a folder "
                                 "under /tmp" % folder)
    return subprocess.Popen(cmd, **popen)


def median(xs):
    return statistics.median(xs)


def fresh_shop(name, campaigns="", port=2525, conns=4):
    """A new folder with a config and the sample templates; returns its config path."""
    d = os.path.join(BENCH_DIR, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copytree(os.path.join(SRCDIR, "conf", "templates"), os.path.join(d, "templates"))
    path = os.path.join(d, "aftersale.conf")
    with open(path, "w") as f:
        f.write(CONFIG % {"campaigns": campaigns, "port": port, "conns": conns})
    return path


def report(title, rows):
    print("\n== " + title)
    for label, value in rows:
        print("  %-40s %s" % (label, value))
