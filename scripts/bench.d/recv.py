#!/usr/bin/env python3
"""recv.py SKIP COUNT OUT.json: reads lines from stdin as they arrive; each starts with a send
time (CLOCK_MONOTONIC ns). Ignores the first SKIP lines (warm-up), measures receive - send for
the next COUNT lines, exits, and writes {"n", "p50", "p99", "max", "mean"} in ms to OUT.json.
Gives up (with fewer lines, "n" says how many) after 10 s without input."""
import json
import os
import select
import sys
import time

skip, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lat = []
seen = 0
buf = b""
while seen < skip + count:
    if not select.select([0], [], [], 10)[0]:
        sys.stderr.write("recv.py: no input for 10 s, stopping after %d lines\n" % seen)
        break
    chunk = os.read(0, 65536)
    now = time.monotonic_ns()
    if not chunk:
        break
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        seen += 1
        if seen <= skip:
            continue
        if seen > skip + count:
            break
        lat.append((now - int(line.split(b" ", 1)[0])) / 1e6)
lat.sort()


def pct(p):
    return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] if lat else None


with open(out, "w") as f:
    json.dump({"n": len(lat), "p50": pct(50), "p99": pct(99), "max": lat[-1] if lat else None,
               "mean": sum(lat) / len(lat) if lat else None}, f)
