#!/usr/bin/env python3
"""`klog serve` against Kafka clients, and against a peer broker, side by side in one run.

    python3 scripts/bench.d/serve.py --klog target/release/klog [--tansu PATH] [--records N]
                                     [--python target/serve-clients/venv/bin/python]

For each broker (klog serve on a fresh temporary directory; tansu with memory storage when
--tansu names its binary): confluent-kafka producer and consumer (assign, from the
beginning) on one partition with 100-byte and 1 KB records, the CPU time of the client and
of the server over each (from /proc, in the same run), produce-to-fetch latency with a
long-polling consumer (p50, p99 of 1 000 records sent one at a time), and the server's RSS
with 1 000 open connections. Prints one markdown table. Needs confluent-kafka (the venv
`scripts/serve-clients` makes). Every server is started and stopped here, on loopback.
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
    def __init__(self, name, argv, ready):
        self.name = name
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.port = ready(self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_klog(klog, data):
    def ready(proc):
        line = proc.stderr.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            sys.exit("klog serve did not start: " + line)
        return int(m.group(1))

    return Server("klog serve", [klog, "--dir", data, "serve", "--listen", "127.0.0.1:0", "-q"],
                  ready)


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
    """Runs one client command; its stdout, and its CPU seconds."""
    before = os.times()
    out = subprocess.run([python, script] + [str(a) for a in args], check=True,
                         capture_output=True, text=True).stdout
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system -
                                                         before.children_system)
    return out.split(), cpu


def create_topic(python, bs, topic):
    subprocess.run([python, "-c", (
        "from confluent_kafka.admin import AdminClient, NewTopic;"
        "a = AdminClient({'bootstrap.servers': '%s'});"
        "[f.result() for f in a.create_topics([NewTopic('%s', 1, 1)]).values()]") % (bs, topic)],
        check=True)


def bench(server, python, script, records):
    bs = "127.0.0.1:%d" % server.port
    pid = server.proc.pid
    rows = []
    for size, n in ((100, records), (1000, max(records // 10, 1000))):
        topic = "bench-%d" % size
        create_topic(python, bs, topic)
        for mode in ("produce", "consume"):
            s0 = cpu_seconds(pid)
            out, ccpu = client(python, script, mode, bs, topic, n, size)
            scpu = cpu_seconds(pid) - s0
            secs = float(out[0])
            rows.append((server.name, "%s %d B" % (mode, size), "%.0f k rec/s" % (n / secs / 1e3),
                         "%.0f MB/s" % (n * size / secs / 1e6),
                         "%.2f / %.2f" % (scpu, ccpu)))
    create_topic(python, bs, "latency")
    out, _ = client(python, script, "latency", bs, "latency", 1000, 0)
    rows.append((server.name, "produce-to-fetch latency", "p50 %.2f ms" % float(out[0]),
                 "p99 %.2f ms" % float(out[1]), ""))
    conns = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(1000)]
    time.sleep(0.5)
    rows.append((server.name, "RSS with 1 000 connections", "%.0f MiB" % rss_mib(pid), "", ""))
    for c in conns:
        c.close()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--klog", default="target/release/klog")
    ap.add_argument("--tansu")
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--python", default="target/serve-clients/venv/bin/python")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="klog-bench-serve-")
    script = os.path.join(tmp, "client.py")
    with open(script, "w") as f:
        f.write(CLIENT)
    rows = []
    try:
        s = start_klog(a.klog, os.path.join(tmp, "data"))
        try:
            rows += bench(s, a.python, script, a.records)
        finally:
            s.stop()
        if a.tansu:
            s = start_tansu(a.tansu)
            try:
                rows += bench(s, a.python, script, a.records)
            finally:
                s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("| broker | what | rate | throughput | CPU s server / client |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


main()
