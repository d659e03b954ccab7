#!/usr/bin/env python3
"""gen.py N [START]: N newline-separated records with 100-byte values on stdout.

Each value is a 10-digit sequence number followed by 90 bytes of a rotating alphabet, so
consecutive records differ (101 bytes per line with the newline)."""
import sys

n = int(sys.argv[1])
start = int(sys.argv[2]) if len(sys.argv) > 2 else 0
alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
pads = [(alphabet * 3)[i:i + 90] for i in range(len(alphabet))]
out = sys.stdout.buffer
chunk = 100_000
end = start + n
try:
    for a in range(start, end, chunk):
        out.write(b"".join(b"%010d%s\n" % (i, pads[i % 62]) for i in range(a, min(end, a + chunk))))
    out.flush()
except BrokenPipeError:
    sys.exit(1)
