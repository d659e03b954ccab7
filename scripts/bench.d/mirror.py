#!/usr/bin/env python3
"""`klog mirror` against its limits, in one run: pull against `cat`, push against a
confluent-kafka producer.

    python3 scripts/bench.d/mirror.py --klog target/release/klog [--bytes 1G]
                                      [--push-records N] [--reps N] [--tansu PATH]
                                      [--python target/serve-clients/venv/bin/python]

Pull: a topic of about --bytes (4 partitions, 100-byte values) is written with `klog produce`
and served by `klog serve` on loopback; each run pulls it into a fresh directory with
`klog mirror pull`, against `cat` of the same segment files into one file (the input read
into the page cache before each run). Push (when --tansu names the binary of tansu, the
peer broker of `scripts/serve-clients`): --push-records records of 100 bytes in one partition
pushed with `klog mirror push` to a fresh tansu (memory storage), against a confluent-kafka
producer (linger.ms 5, idempotent) sending the same values to another fresh tansu. Medians of
--reps runs, interleaved. Prints one markdown table: time, MB/s and records/s, and the CPU
time (user + system) of the client and of the server side of each run (`cat` has no server;
the producer's client CPU includes Python's start and its reading of the input).
Every server is started and stopped here, on loopback; temporary data goes to $BENCH_TMP
(default: target/bench-data).
"""

import argparse
import os
import resource
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PRODUCER = r'''
import sys, time
from confluent_kafka import Producer
bs, topic, path = sys.argv[1], sys.argv[2], sys.argv[3]
values = open(path, "rb").read().split(b"\n")[:-1]
p = Producer({"bootstrap.servers": bs, "linger.ms": 5, "enable.idempotence": True,
              "queue.buffering.max.messages": 2000000})
t0 = time.time()
for v in values:
    while True:
        try:
            p.produce(topic, v, partition=0)
            break
        except BufferError:
            p.poll(0.01)
left = p.flush(120)
print(time.time() - t0)
sys.exit(1 if left else 0)
'''


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s.upper())
    if not m:
        sys.exit("mirror.py: --bytes takes N, NK, NM or NG")
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def proc_cpu(p):
    """CPU seconds (user + system) a running child has used so far."""
    with open("/proc/%d/stat" % p.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(cmd, server=None, **kw):
    """(wall seconds, client CPU seconds, server CPU seconds or None) of one run of cmd."""
    s0 = proc_cpu(server) if server else None
    c0 = children_cpu()
    t0 = time.perf_counter()
    run(cmd, **kw)
    wall = time.perf_counter() - t0
    cpu = children_cpu() - c0
    return wall, cpu, (proc_cpu(server) - s0) if server else None


def start_serve(klog, data):
    p = subprocess.Popen([klog, "--dir", data, "serve", "--listen", "127.0.0.1:0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        p.kill()
        sys.exit("mirror.py: klog serve did not start: " + line)
    return p, m.group(1)


def start_tansu(tansu):
    port = free_port()
    url = "tcp://127.0.0.1:%d" % port
    p = subprocess.Popen([tansu, "broker", "--listener-url", url, "--advertised-listener-url",
                          url, "--storage-engine", "memory://tansu/"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, "127.0.0.1:%d" % port
        except OSError:
            if time.time() > deadline:
                p.kill()
                sys.exit("mirror.py: tansu did not start")
            time.sleep(0.05)


def stop(p):
    p.terminate()
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def write_input(path, n):
    with open(path, "wb") as f:
        chunk = []
        for i in range(n):
            chunk.append(b"%099d" % i)
            if len(chunk) == 100000:
                f.write(b"\n".join(chunk) + b"\n")
                chunk = []
        if chunk:
            f.write(b"\n".join(chunk) + b"\n")


def segment_files(data, topic):
    out = []
    for d in sorted(os.listdir(data)):
        if d.startswith(topic + "-"):
            out += [os.path.join(data, d, f) for f in sorted(os.listdir(os.path.join(data, d)))
                    if f.endswith(".log")]
    return out


def warm(files):
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass


def row(what, nbytes, records, runs):
    """A table row from (wall, client CPU, server CPU) runs: medians, and the range of walls.
    MB/s and records/s count the records' values (pull: the segment files' bytes)."""
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    server = [r[2] for r in runs if r[2] is not None]
    walls = [r[0] for r in runs]
    return (what, "%.0f MB, %d records" % (nbytes / 1e6, records), "%.2f s" % wall,
            "%.0f" % (nbytes / 1e6 / wall), "%.0f" % (records / wall / 1000), "%.2f s" % cpu,
            "%.2f s" % statistics.median(server) if server else "–",
            "%.2f–%.2f s" % (min(walls), max(walls)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--klog", required=True)
    ap.add_argument("--bytes", default="1G")
    ap.add_argument("--push-records", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tansu")
    ap.add_argument("--python", default="target/serve-clients/venv/bin/python")
    a = ap.parse_args()
    klog = os.path.abspath(a.klog)
    root = os.environ.get("BENCH_TMP", "target/bench-data")
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="mirror-", dir=root)
    rows = []
    procs = []
    try:
        # Pull: klog serve on A, pulls into fresh directories, against cat of the files.
        size = parse_size(a.bytes)
        records = max(1000, size // 110)
        inp = os.path.join(tmp, "input")
        write_input(inp, records)
        src = os.path.join(tmp, "A")
        run([klog, "--dir", src, "-q", "topics", "create", "t", "--partitions", "4"])
        with open(inp, "rb") as f:
            run([klog, "--dir", src, "-q", "produce", "t"], stdin=f)
        files = segment_files(src, "t")
        total = sum(os.path.getsize(f) for f in files)
        serve, addr = start_serve(klog, src)
        procs.append(serve)
        pull, cat = [], []
        for r in range(a.reps):
            dst = os.path.join(tmp, "B%d" % r)
            warm(files)
            pull.append(timed([klog, "--dir", dst, "-q", "mirror", "pull", "--from", addr, "t"],
                              server=serve))
            shutil.rmtree(dst)
            warm(files)
            with open(os.path.join(tmp, "cat.out"), "wb") as out:
                cat.append(timed(["cat"] + files, stdout=out))
            os.remove(os.path.join(tmp, "cat.out"))
        stop(serve)
        procs.remove(serve)
        for what, ts in [("`cat` of the segment files into one file", cat),
                         ("`klog mirror pull` from `klog serve` (loopback)", pull)]:
            rows.append(row(what, total, records, ts))

        # Push: klog mirror push against a confluent-kafka producer, each to a fresh tansu.
        if a.tansu:
            pinp = os.path.join(tmp, "push-input")
            write_input(pinp, a.push_records)
            local = os.path.join(tmp, "L")
            run([klog, "--dir", local, "-q", "topics", "create", "p"])
            with open(pinp, "rb") as f:
                run([klog, "--dir", local, "-q", "produce", "p"], stdin=f)
            script = os.path.join(tmp, "producer.py")
            with open(script, "w") as f:
                f.write(PRODUCER)
            push, conf = [], []
            for r in range(a.reps):
                t, taddr = start_tansu(a.tansu)
                procs.append(t)
                for fn in os.listdir(os.path.join(local, "p-0")):
                    if fn.startswith(".klog-mirror-push."):
                        os.remove(os.path.join(local, "p-0", fn))
                push.append(timed([klog, "--dir", local, "-q", "mirror", "push", "--to", taddr,
                                   "p"], server=t))
                stop(t)
                procs.remove(t)
                t, taddr = start_tansu(a.tansu)
                procs.append(t)
                s0, c0 = proc_cpu(t), children_cpu()
                out = subprocess.run([a.python, script, taddr, "p", pinp], check=True,
                                     capture_output=True, text=True)
                conf.append((float(out.stdout.strip()), children_cpu() - c0, proc_cpu(t) - s0))
                stop(t)
                procs.remove(t)
            for what, ts in [("confluent-kafka producer → tansu (values only)", conf),
                             ("`klog mirror push` → tansu", push)]:
                rows.append(row(what, a.push_records * 100, a.push_records, ts))
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("| what | data | median | MB/s | k rec/s | CPU client | CPU server | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %s |" % " | ".join(r))


if __name__ == "__main__":
    main()
