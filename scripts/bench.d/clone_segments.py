#!/usr/bin/env python3
"""clone_segments.py PARTITION_DIR COUNT: replaces the segments of a partition written by klog
with a small segment.bytes by COUNT copies of one of its closed segments (the second one), each
with its batch base offsets moved to follow the previous copy. Index and time index entries are
relative to the segment's base offset, so they are copied byte for byte; in a .log only the
8-byte baseOffset of each batch changes, which the batch CRC (from attributes on) does not cover.

This builds a 10 000-segment topic in seconds, where rolling 10 000 times through `klog produce`
takes minutes; `klog produce` then appends to it and `klog segments verify` checks it."""
import os
import struct
import sys

pdir, count = sys.argv[1], int(sys.argv[2])
bases = sorted(int(f[:-4]) for f in os.listdir(pdir) if f.endswith(".log"))
if len(bases) < 3:
    sys.exit(f"clone_segments: need at least 3 segments in {pdir}, found {len(bases)}")
tbase = bases[1]
name = lambda base, ext: os.path.join(pdir, "%020d.%s" % (base, ext))
log = open(name(tbase, "log"), "rb").read()
index = open(name(tbase, "index"), "rb").read()
tindex = open(name(tbase, "timeindex"), "rb").read()
# Batches in the template: (position, offset delta from the segment base, length).
batches, pos = [], 0
while pos + 12 <= len(log):
    off, length = struct.unpack_from(">qi", log, pos)
    batches.append((pos, off - tbase))
    pos += 12 + length
if pos != len(log):
    sys.exit(f"clone_segments: {name(tbase, 'log')} does not end at a batch boundary")
# Records per segment: the last batch's lastOffsetDelta (bytes 23..27 of the batch) + 1.
last_pos, last_rel = batches[-1]
per_seg = last_rel + struct.unpack_from(">i", log, last_pos + 23)[0] + 1
for b in bases:
    for ext in ("log", "index", "timeindex"):
        try:
            os.unlink(name(b, ext))
        except FileNotFoundError:
            pass
buf = bytearray(log)
for i in range(count):
    base = i * per_seg
    for p, rel in batches:
        struct.pack_into(">q", buf, p, base + rel)
    with open(name(base, "log"), "wb") as f:
        f.write(buf)
    with open(name(base, "index"), "wb") as f:
        f.write(index)
    with open(name(base, "timeindex"), "wb") as f:
        f.write(tindex)
print(count * per_seg)
