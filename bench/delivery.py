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
5. Crash bound: the throughput setup, the daemon SIGKILLed 10 times while
   it sends, restarted each time.  Target, from what the sink received:
   no message lost, at most one duplicate per connection per kill.
   Exits non-zero when the bound is broken.
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
from sink import Sink  # noqa: E402
from smtpd import SmtpServer, free_port  # noqa: E402

THROUGHPUT = int(os.environ.get("BENCH_MESSAGES", "20000"))
SMTP_FLOOR = os.environ.get("SMTP_FLOOR", "bench/smtp-floor")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IDLE_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "60"))
CONNECTIONS = 4
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


def connect(conf):
    return contextlib.closing(sqlite3.connect(os.path.join(os.path.dirname(conf),
                                                          "aftersale.db")))


def count(conn, state):
    """Messages in a state, from the counts the daemon keeps (migration
    0017): a lookup on a connection kept open.  Counting every message, or
    opening the database (reading its schema) each time the benchmark
    looks, competes with the daemon for the CPU: at 100 looks a second it
    cost the send rate a quarter."""
    return conn.execute("SELECT coalesce(sum(n), 0) FROM message_counts"
                        " WHERE state = ?", (state,)).fetchone()[0]


def run_until_sent(conf, n):
    """Start the daemon, return seconds until n messages are sent, seen
    within 10 ms (a run takes about 3 s)."""
    start = time.monotonic()
    proc = start_daemon(conf, stderr=subprocess.DEVNULL)
    try:
        wait_sent(conf, n, proc, poll=0.01)
        return time.monotonic() - start
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def wait_sent(conf, n, proc, poll, timeout=600):
    """Wait until n messages are sent, polling the database every poll
    seconds; exit if the daemon does first."""
    deadline = time.monotonic() + timeout
    with connect(conf) as conn:
        while count(conn, "sent") < n:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the daemon did not send %d messages" % n)
            time.sleep(poll)


def sink(port, *options):
    return subprocess.Popen(["/usr/sbin/smtp-sink", "-a", "-u", "nobody"] + list(options)
                            + ["127.0.0.1:%d" % port, "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def due_shop(name, port):
    """A shop with THROUGHPUT messages of about 2 KB due now, sent to port
    over CONNECTIONS connections; returns its config path."""
    conf = fresh_shop(name, campaigns=TWO_KB, port=port, conns=CONNECTIONS)
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
            print("run %d: aftersale %.0f msg/s, smtp-source %.0f msg/s, smtp-floor %.0f msg/s;"
                  " %.2fx smtp-source, %.2fx smtp-floor"
                  % (run + 1, ours[-1], theirs[-1], floor[-1], ours[-1] / theirs[-1],
                     ours[-1] / floor[-1]), flush=True)
    finally:
        server.terminate()
        server.wait()
    # Each run's ratio to the baselines measured beside it, then their
    # median: this machine's speed drifts by a third over minutes, and a
    # ratio of medians would mix runs made at different speeds.
    to_source = median([a / b for a, b in zip(ours, theirs)])
    to_floor = median([a / b for a, b in zip(ours, floor)])
    report("throughput: %d messages of about 2 KB, 4 connections, smtp-sink -a, "
           "median of %d runs" % (THROUGHPUT, RUNS), [
               ("aftersale run (messages due at start)", "%.0f msg/s" % median(ours)),
               ("smtp-source -d -s 4 -l 2000", "%.0f msg/s" % median(theirs)),
               ("aftersale / smtp-source, same run", "%.2fx (target >= 0.5x): %s"
                % (to_source, "met" if to_source >= 0.5 else "MISSED")),
               ("smtp-floor: smtp.c alone, no database", "%.0f msg/s, %.2fx smtp-source"
                % (median(floor), median([a / b for a, b in zip(floor, theirs)]))),
               ("aftersale / smtp-floor, same run", "%.2fx (target >= 0.85x): %s"
                % (to_floor, "met" if to_floor >= 0.85 else "MISSED")),
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
    ratio = median([a / b for a, b in zip(ours, theirs)])    # as throughput() does
    report(title + ", median of %d runs" % RUNS, [
        ("aftersale run (messages due at start)", "%.0f msg/s" % median(ours)),
        ("Postfix, smtp-source -s 4 -l 2000 in", "%.0f msg/s" % median(theirs)),
        ("aftersale / Postfix, same run", "%.2fx (target >= 4x): %s"
         % (ratio, "met" if ratio >= 4 else "MISSED")),
    ])


def kill_while_sending(conf, kills, port, folder):
    """Run the daemon until every message is sent, SIGKILLing it and
    starting it again each time another 1/(kills + 1) of them are sent.
    Returns, for each kill, the names of the sink's files written before
    it."""
    before_kill = []
    proc = start_daemon(conf, stderr=subprocess.DEVNULL)
    try:
        for k in range(1, kills + 1):
            # Polled often: a kill after the last message would test nothing.
            wait_sent(conf, k * THROUGHPUT // (kills + 1), proc, poll=0.01)
            proc.kill()
            proc.wait()
            with connect(conf) as conn:
                done = count(conn, "sent") == THROUGHPUT
            if done:
                raise SystemExit("kill %d came after the last message was sent" % k)
            wait_sink_idle(port)
            before_kill.append(set(os.listdir(folder)))
            proc = start_daemon(conf, stderr=subprocess.DEVNULL)
        wait_sent(conf, THROUGHPUT, proc, poll=0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    return before_kill


def wait_sink_idle(port, timeout=60):
    """Wait until the sink has closed every connection a killed daemon
    left: it has then read all that came before their end, and written
    every message it accepted to a file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f][1:]
        # Local address is field 1 (ADDR:PORT in hex), state field 3:
        # 01 established, 08 close-wait (the peer has gone, we have not).
        if not any(int(r[1].split(":")[1], 16) == port and r[3] in ("01", "08")
                   for r in rows):
            return
        time.sleep(0.01)
    raise SystemExit("the sink kept a killed daemon's connections for %d s" % timeout)


def recipient(path):
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"X-Rcpt-Args: "):
                return line.split()[1].decode()


def arrivals(folder, before_kill):
    """For each recipient, the epochs its copies arrived in, in order:
    epoch k ended with kill k; the last is after the last kill."""
    copies = {}
    for name in os.listdir(folder):
        epoch = next((k for k, files in enumerate(before_kill) if name in files),
                     len(before_kill))
        copies.setdefault(recipient(os.path.join(folder, name)), []).append(epoch)
    return {to: sorted(epochs) for to, epochs in copies.items()}


def duplicates(copies, kills):
    """Duplicates each kill caused, and those no kill explains.  A copy
    after the first is the kill's that ended the previous copy's epoch: the
    daemon died before it recorded the relay's answer.  Two copies in one
    epoch had no kill between them."""
    per_kill, unexplained = [0] * kills, 0
    for epochs in copies.values():
        for previous, this in zip(epochs, epochs[1:]):
            if previous == this:
                unexplained += 1
            else:
                per_kill[previous] += 1
    return per_kill, unexplained


def crash_bound(kills=10):
    """SIGKILL the daemon 10 times while it sends THROUGHPUT messages, then
    count what the sink got: none may be missing, and a kill may cost at
    most one duplicate per connection (the message whose answer it lost)."""
    server = Sink(BENCH_DIR).start()
    try:
        conf = due_shop("crash", server.port)
        before_kill = kill_while_sending(conf, kills, server.port, server.dumps)
    finally:
        server.stop()
    copies = arrivals(server.dumps, before_kill)
    lost = len({"<customer%d@example.com>" % i for i in range(THROUGHPUT)} - set(copies))
    per_kill, unexplained = duplicates(copies, kills)
    broken = lost or max(per_kill) > CONNECTIONS or unexplained
    report("crash bound: SIGKILL x%d while sending %d messages over %d connections"
           % (kills, THROUGHPUT, CONNECTIONS), [
               ("arrived", "%d copies of %d messages" % (sum(map(len, copies.values())),
                                                       len(copies))),
               ("lost", "%d (target 0)" % lost),
               ("duplicates per kill", " ".join(map(str, per_kill))),
               ("most duplicates from one kill", "%d (target <= %d)"
                % (max(per_kill), CONNECTIONS)),
               ("duplicates with no kill between", "%d (target 0)" % unexplained),
               ("bound", "BROKEN" if broken else "held"),
           ])
    if broken:
        raise SystemExit("the crash bound is broken: what arrived is in " + server.dumps)
    shutil.rmtree(server.dumps)
    os.remove(server.dumps + ".log")


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
        with connect(conf) as conn:
            while count(conn, "scheduled") < 100000:
                time.sleep(0.2)
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
    which = sys.argv[1:] or ["throughput", "postfix", "slow", "idle", "crash"]
    for name in which:
        {"throughput": throughput, "postfix": postfix, "slow": slow_relay,
         "idle": idle, "crash": crash_bound}[name]()
