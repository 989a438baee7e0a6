"""Delivery benchmarks, each against a baseline or target in the same run.

1. Throughput: 20,000 due messages (planned before the daemon starts, so
   that sending alone is measured) of about 2 KB to smtp-sink -a on
   127.0.0.1 over 4 connections, against smtp-source -d -s 4 -m 20000
   -l 2000 to the same sink.  Target: at least 0.5x smtp-source's rate.
   Also measured: bench/smtp-floor, the daemon's sender (smtp.c over
   libcurl) alone, with no database or loop: the ceiling of any sender
   built on it.
2. The same against Postfix (as root, skipped otherwise): a private
   instance (postfix -c) with its own queue relays the same number of
   messages, injected by smtp-source -s 4 -l 2000, to a sink of its own.
   Target: aftersale at least 4x its rate.
3. Slow relay: a server that waits 1 s before answering each end of DATA;
   40 messages with max_connections = 8.  Target: 8 s or less.
4. Idle: 100,000 messages scheduled for next week; CPU time over 60 idle
   seconds, and RSS.  Targets: under 0.1 s CPU, under 16 MB RSS.
Runs under Debian's python3 (aiosmtpd)."""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from common import AFTERSALE, BENCH_DIR, fresh_shop, median, report, start_daemon  # noqa: E402
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


# A private Postfix that relays everything to one smtp-sink: nothing is
# delivered locally and no alias or NIS map is opened.  The configuration
# folder is apart from the queue: `postfix check` wants everything under it
# owned by root.
POSTFIX_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = %(dir)s/queue
data_directory = %(dir)s/data
maillog_file = %(dir)s/maillog
maillog_file_prefixes = %(dir)s
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.localdomain
mydestination =
alias_maps =
local_recipient_maps =
local_transport = error:no local delivery
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:%(sink)d
default_destination_concurrency_limit = 50
smtp_destination_concurrency_limit = 50
smtp_connection_cache_on_demand = yes
"""


@contextlib.contextmanager
def private_postfix(sink_port):
    """A Postfix instance of its own (postfix -c), relaying to sink_port;
    yields the port its smtpd listens on.  Stopped and removed on the way
    out, whatever happened."""
    top = os.path.join(BENCH_DIR, "postfix")
    shutil.rmtree(top, ignore_errors=True)
    conf = os.path.join(top, "conf")
    os.makedirs(conf)
    os.makedirs(os.path.join(top, "queue"))
    port = free_port()
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write(POSTFIX_MAIN_CF % {"dir": top, "sink": sink_port})
    with open("/etc/postfix/master.cf") as f:
        master = f.read().replace("\nsmtp      inet ", "\n127.0.0.1:%d inet " % port, 1)
    with open(os.path.join(conf, "master.cf"), "w") as f:
        f.write(master)
    try:
        subprocess.run(["postfix", "-c", conf, "start"], check=True, capture_output=True)
        wait_listening(port)
        yield port
    finally:
        subprocess.run(["postfix", "-c", conf, "stop"], capture_output=True)
        # stop only signals the master: wait for it before removing its queue.
        deadline = time.monotonic() + 30
        while (subprocess.run(["postfix", "-c", conf, "status"], capture_output=True)
               .returncode == 0 and time.monotonic() < deadline):
            time.sleep(0.1)
        shutil.rmtree(top, ignore_errors=True)


def wait_listening(port, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("nothing listens on 127.0.0.1:%d" % port)
            time.sleep(0.05)


def through_postfix():
    """Seconds from the first message injected into a private Postfix (by
    smtp-source over 4 connections, as a real one takes mail) to the last
    one its sink received.  The sink is the row's own, so that what it
    counts is Postfix's messages alone: it exits at the THROUGHPUT-th."""
    port = free_port()
    counter = sink(port, "-M", str(THROUGHPUT))
    try:
        with private_postfix(port) as smtpd:
            start = time.monotonic()
            subprocess.run(["smtp-source", "-s", "4", "-m", str(THROUGHPUT), "-l", "2000",
                            "-f", "from@example.com", "-t", "to@example.com",
                            "127.0.0.1:%d" % smtpd], check=True, capture_output=True)
            try:
                counter.wait(600)
            except subprocess.TimeoutExpired:
                raise SystemExit("Postfix did not relay %d messages in 10 minutes" % THROUGHPUT)
            return time.monotonic() - start
    finally:
        if counter.poll() is None:
            counter.terminate()
            counter.wait()


def postfix():
    """aftersale's rate over Postfix's, each sending the same messages to
    an smtp-sink, in turn, RUNS times."""
    title = "the same against Postfix: %d messages, a private instance (postfix -c), " \
            "its own queue, relaying to smtp-sink -a" % THROUGHPUT
    if os.geteuid() != 0:
        report(title, [("skipped", "a private Postfix instance must be started as root")])
        return
    ours, theirs = [], []
    port = free_port()
    server = sink(port)
    try:
        for run in range(RUNS):
            ours.append(THROUGHPUT / run_until_sent(due_shop("against-postfix", port), THROUGHPUT))
            theirs.append(THROUGHPUT / through_postfix())
            print("run %d: aftersale %.0f msg/s, Postfix %.0f msg/s"
                  % (run + 1, ours[-1], theirs[-1]), flush=True)
    finally:
        server.terminate()
        server.wait()
    ratio = median(ours) / median(theirs)
    report(title + ", median of %d runs" % RUNS, [
        ("aftersale run (messages due at start)", "%.0f msg/s" % median(ours)),
        ("Postfix, smtp-source -s 4 -l 2000 in", "%.0f msg/s" % median(theirs)),
        ("ratio", "%.2fx (target >= 4x): %s" % (ratio, "met" if ratio >= 4 else "MISSED")),
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
    which = sys.argv[1:] or ["throughput", "postfix", "slow", "idle"]
    for name in which:
        {"throughput": throughput, "postfix": postfix, "slow": slow_relay,
         "idle": idle}[name]()
