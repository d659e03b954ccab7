#!/usr/bin/env python3
"""trickle.py COUNT INTERVAL_MS DELAY_S: after DELAY_S, writes COUNT lines to stdout, one every
INTERVAL_MS, each starting with its send time (CLOCK_MONOTONIC ns, system-wide) and padded to
100 bytes. Every line is written with its own write(2), unbuffered."""
import os
import sys
import time

count, interval, delay = int(sys.argv[1]), float(sys.argv[2]) / 1000, float(sys.argv[3])
time.sleep(delay)
due = time.monotonic()
for i in range(count):
    line = b"%d %d " % (time.monotonic_ns(), i)
    line = line.ljust(100, b"x") + b"\n"
    os.write(1, line)
    due += interval
    pause = due - time.monotonic()
    if pause > 0:
        time.sleep(pause)
