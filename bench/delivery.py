"""Delivery benchmarks, each against a baseline or target in the same run.

1. Throughput: 20,000 due messages (planned before the daemon starts, so
   that sending alone is measured) of about 2 KB to smtp-sink -a on
   127.0.0.1 over 4 connections, against smtp-source -d -s 4 -m 20000
   -l 2000 to the same sink.  Target: at least 0.5x smtp-source's rate.
   Also measured: bench/smtp-floor, the daemon's sender (smtp.c over
   libcurl) alone, with no database or loop: the ceiling of any sender
   built on it.
2. Slow relay: a server that waits 1 s before answering each end of DATA;
   40 messages with max_connections = 8.  Target: 8 s or less.
3. Idle: 100,000 messages scheduled for next week; CPU time over 60 idle
   seconds, and RSS.  Targets: under 0.1 s CPU, under 16 MB RSS.
Runs under Debian's python3 (aiosmtpd)."""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from common import AFTERSALE, fresh_shop, median, report, start_daemon  # noqa: E402
from smtpd import SmtpServer, free_port  # noqa: E402

THROUGHPUT = int(os.environ.get("BENCH_MESSAGES", "20000"))
SMTP_FLOOR = os.environ.get("SMTP_FLOOR", "bench/smtp-floor")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IDLE_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "60"))
NOW = '  { name = "thank-you"; on = "sale"; after = "0s"; template = "thank-you"; }'
TWO_KB = '  { name = "thank-you"; on = "sale"; after = "0s"; template = "bench"; }'
# A plain-text template that makes messages of about 2 KB on the wire.
BENCH_TEMPLATE = ("Subject: Thank you for your order {{sale.order_id}}, {{customer.first_name}}\n\n"
                  "Hello {{customer.first_name|there}},\n\n"
                  + "Thank you for buying {{sale.product}} from {{shop.name}}: it was roasted "
                    "this week and is on its way to you.\n" * 15
                  + "\nThe {{shop.name}} team\n")


def aftersale(conf, *args):
    subprocess.run([AFTERSALE, "-c", conf] + list(args), check=True, capture_output=True)


def import_sales(conf, n, at="2026-11-01"):
    path = os.path.join(os.path.dirname(conf), "sales.csv")
    with open(path, "w") as f:
        f.write("order_id,email,name,product,amount,sold_at\n")
        for i in range(n):
            f.write("B-%d,customer%d@example.com,Customer %d,Ethiopia Yirgacheffe 250g,"
                    "14.90,%s\n" % (i, i, i, at))
    aftersale(conf, "sale", "import", path)


def make_due(conf):
    """Plan every sale's message as the planner would, due now: the
    throughput run then measures sending alone."""
    db = os.path.join(os.path.dirname(conf), "aftersale.db")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO messages (campaign, customer_id, sale_id, state, due_at,"
                     " created_at, updated_at) SELECT 'thank-you', customer_id, id,"
                     " 'scheduled', 0, 0, 0 FROM sales")
        conn.execute("UPDATE planner SET last_sale_id = (SELECT max(id) FROM sales)")


def count(conn, state):
    """Messages in a state, from the counts the daemon keeps (migration
    0017): a lookup, where count(*) scanned every message each time the
    benchmark looked, competing with the daemon for the CPU."""
    return conn.execute("SELECT coalesce(sum(n), 0) FROM message_counts WHERE state = ?",
                        (state,)).fetchone()[0]


def run_until_sent(conf, n, timeout=600):
    """Start the daemon, return seconds until n messages are sent, seen
    within 10 ms (a run takes about 3 s)."""
    start = time.monotonic()
    proc = start_daemon(conf, stderr=subprocess.DEVNULL)
    conn = sqlite3.connect(os.path.join(os.path.dirname(conf), "aftersale.db"))
    try:
        while count(conn, "sent") < n:
            if time.monotonic() - start > timeout or proc.poll() is not None:
                raise SystemExit("the daemon did not send %d messages" % n)
            time.sleep(0.01)
        return time.monotonic() - start
    finally:
        conn.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def sink(port, *options):
    return subprocess.Popen(["/usr/sbin/smtp-sink", "-a", "-u", "nobody"] + list(options)
                            + ["127.0.0.1:%d" % port, "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def due_shop(name, port):
    """A shop with THROUGHPUT messages of about 2 KB due now, sent to port
    over 4 connections; returns its config path."""
    conf = fresh_shop(name, campaigns=TWO_KB, port=port, conns=4)
    with open(os.path.join(os.path.dirname(conf), "templates", "bench.txt"), "w") as f:
        f.write(BENCH_TEMPLATE)
    import_sales(conf, THROUGHPUT)
    make_due(conf)
    return conf


def throughput():
    ours, theirs, floor = [], [], []
    port = free_port()
    server = sink(port)
    time.sleep(0.5)
    try:
        for run in range(RUNS):
            conf = due_shop("throughput", port)
            seconds = run_until_sent(conf, THROUGHPUT)
            ours.append(THROUGHPUT / seconds)
            start = time.monotonic()
            subprocess.run(["smtp-source", "-d", "-s", "4", "-m", str(THROUGHPUT),
                            "-l", "2000", "127.0.0.1:%d" % port], check=True,
                           capture_output=True)
            theirs.append(THROUGHPUT / (time.monotonic() - start))
            out = subprocess.run([SMTP_FLOOR, conf, str(THROUGHPUT)], check=True,
                                 capture_output=True, text=True).stdout
            floor.append(THROUGHPUT / float(out))
            print("run %d: aftersale %.0f msg/s, smtp-source %.0f msg/s, smtp-floor %.0f msg/s"
                  % (run + 1, ours[-1], theirs[-1], floor[-1]), flush=True)
    finally:
        server.terminate()
        server.wait()
    ratio = median(ours) / median(theirs)
    report("throughput: %d messages of about 2 KB, 4 connections, smtp-sink -a, "
           "median of %d runs" % (THROUGHPUT, RUNS), [
               ("aftersale run (messages due at start)", "%.0f msg/s" % median(ours)),
               ("smtp-source -d -s 4 -l 2000", "%.0f msg/s" % median(theirs)),
               ("ratio", "%.2fx (target >= 0.5x): %s"
                % (ratio, "met" if ratio >= 0.5 else "MISSED")),
               ("smtp-floor: smtp.c alone, no database", "%.0f msg/s, %.2fx smtp-source"
                % (median(floor), median(floor) / median(theirs))),
               ("aftersale run / smtp-floor", "%.2fx" % (median(ours) / median(floor))),
           ])


class SlowHandler:
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(1)
        return "250 2.0.0 Ok: queued after a second"


def slow_relay():
    server = SmtpServer()
    server.controller.handler = SlowHandler()
    server.start()
    try:
        times = []
        for _ in range(RUNS):
            conf = fresh_shop("slow", campaigns=NOW, port=server.port, conns=8)
            import_sales(conf, 40)
            times.append(run_until_sent(conf, 40))
    finally:
        server.stop()
    report("slow relay: 1 s before each end-of-DATA reply, 40 messages, 8 connections", [
        ("aftersale run, median of %d" % RUNS, "%.2f s (target <= 8 s; one connection "
         "would take 40 s): %s" % (median(times), "met" if median(times) <= 8 else "MISSED")),
    ])


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        status = dict(line.split(":", 1) for line in f)
    return int(status["VmRSS"].split()[0]) / 1024.0, int(status["VmHWM"].split()[0]) / 1024.0


def idle():
    port = free_port()
    conf = fresh_shop("idle", campaigns=NOW.replace('"0s"', '"7d"'), port=port, conns=4)
    import_sales(conf, 100000, at=time.strftime("%Y-%m-%d"))
    proc = start_daemon(conf, stderr=subprocess.DEVNULL)
    try:
        conn = sqlite3.connect(os.path.join(os.path.dirname(conf), "aftersale.db"))
        while count(conn, "scheduled") < 100000:
            time.sleep(0.2)
        conn.close()
        time.sleep(1)
        before = proc_cpu(proc.pid)
        time.sleep(IDLE_SECONDS)
        cpu = proc_cpu(proc.pid) - before
        rss, peak = proc_rss(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    report("idle: 100,000 messages scheduled for next week", [
        ("CPU over %d idle seconds" % IDLE_SECONDS, "%.3f s (target < 0.1 s): %s"
         % (cpu, "met" if cpu < 0.1 else "MISSED")),
        ("RSS after planning", "%.1f MiB, peak %.1f MiB (target < 16 MB): %s"
         % (rss, peak, "met" if rss * 1.048576 < 16 else "MISSED")),
    ])


if __name__ == "__main__":
    which = sys.argv[1:] or ["throughput", "slow", "idle"]
    for name in which:
        {"throughput": throughput, "slow": slow_relay, "idle": idle}[name]()
