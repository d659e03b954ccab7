#!/usr/bin/env python3
"""tool.py: the JSON chores of scripts/bench. Rows go to a JSON-lines file, one object per row
of the final table; `report` turns them into the markdown table.

  tool.py row ROWS k=v...                 a row as given
  tool.py runrow ROWS MEASURES k=v...     a row from "wall_us rss_kb" lines: median wall, max RSS
  tool.py hfrow ROWS HF.json RSS k=v...   a row from a hyperfine export (median, p50/p99/max of runs)
  tool.py latrow ROWS LAT.json k=v...     a row from recv.py's latencies
  tool.py strace FILE                     "fsync fdatasync" call counts from strace -c output
  tool.py batches < segments-list.json    "segments batches records bytes"
  tool.py describe < describe.json        "segments log_end_offset"
  tool.py median FILE                     median of the numbers in FILE (one a line)
  tool.py report ROWS MACHINE.json        the markdown report
"""
import json
import statistics
import sys


def value(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def kv(args):
    d = {}
    for a in args:
        k, _, v = a.partition("=")
        d[k] = value(v)
    return d


def append(rows, row):
    with open(rows, "a") as f:
        f.write(json.dumps(row) + "\n")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def cmd_row(rows, *args):
    append(rows, kv(args))


def cmd_runrow(rows, measures, *args):
    walls, rss, cpus = [], [], []
    for line in open(measures):
        f = line.split()
        walls.append(int(f[0]) / 1e6)
        rss.append(int(f[1]))
        if len(f) >= 4:
            cpus.append(float(f[2]) + float(f[3]))
    row = kv(args)
    row.update(wall=statistics.median(walls), runs=len(walls), rss_kb=max(rss),
               wall_min=min(walls), wall_max=max(walls))
    if cpus:
        row["cpu"] = statistics.median(cpus)
    append(rows, row)


def cmd_hfrow(rows, hf, rss, *args):
    times = json.load(open(hf))["results"][0]["times"]
    row = kv(args)
    row.update(wall=statistics.median(times), runs=len(times), p50=pct(times, 50) * 1e3,
               p99=pct(times, 99) * 1e3, max=max(times) * 1e3)
    try:
        row["rss_kb"] = int(open(rss).read().split()[-1])
    except (OSError, ValueError, IndexError):
        pass
    append(rows, row)


def cmd_latrow(rows, lat, *args):
    row = kv(args)
    row.update(json.load(open(lat)))
    append(rows, row)


def cmd_strace(path):
    calls = {"fsync": 0, "fdatasync": 0}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[-1] in calls:
            calls[f[-1]] = int(f[3])
    print(calls["fsync"], calls["fdatasync"])


def cmd_batches():
    segs = json.load(sys.stdin)
    print(len(segs), sum(s["batches"] for s in segs), sum(s["records"] for s in segs),
          sum(s["size_bytes"] for s in segs))


def cmd_describe():
    d = json.load(sys.stdin)
    print(sum(p["segments"] for p in d["partitions"]),
          sum(p["log_end_offset"] for p in d["partitions"]))


def cmd_median(path):
    print(statistics.median(float(x) for x in open(path) if x.strip()))


def fmt_time(s):
    if s is None:
        return ""
    if s >= 100:
        return "%.0f s" % s
    if s >= 1:
        return "%.2f s" % s
    if s >= 0.01:
        return "%.0f ms" % (s * 1e3) if s >= 0.1 else "%.1f ms" % (s * 1e3)
    return "%.2f ms" % (s * 1e3)


def fmt_ms(ms):
    return "" if ms is None else fmt_time(ms / 1e3)


def fmt_rate(r):
    if r is None:
        return ""
    if r >= 1e6:
        return "%.2f M" % (r / 1e6)
    if r >= 1e3:
        return "%.0f k" % (r / 1e3)
    return "%.0f" % r


def fmt_ratio(x):
    if x >= 100:
        return "%.0f×" % x
    if x >= 10:
        return "%.1f×" % x
    return "%.2f×" % x


def cmd_report(rows_path, machine_path):
    m = json.load(open(machine_path))
    rows = [json.loads(line) for line in open(rows_path)]
    by_key = {r["key"]: r for r in rows if "key" in r}
    out = []
    w = out.append
    w("## klog vs the physical limit (%s)" % m["mode"])
    w("")
    w("- date: %s" % m["date"])
    w("- machine: %s, nproc %s, %s RAM, Linux %s; 1-minute load average %s"
      % (m["cpu"], m["nproc"], m["mem"], m["kernel"], m["load"]))
    w("- data dir: `%s`, %s on %s" % (m["dir"], m["fstype"], m["device"]))
    w("- klog: %s, %s, release build (copied before the run)" % (m["git"], m["rustc"]))
    w("- input: %s records of 100-byte values, no keys, one partition (%s MB of lines); page "
      "cache warm; throughput rows are medians of %s interleaved runs; latency rows use %s"
      % (f"{m['records']:,}".replace(",", " "), "%.1f" % (m["input_bytes"] / 1e6),
         m["reps"], m["timer"]))
    w("")
    w("| # | what | wall | CPU | records/s | MB/s | vs limit | peak RSS | p50 | p99 | max | notes |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        wall = r.get("wall")
        n, b = r.get("records"), r.get("bytes")
        rate = n / wall if n and wall else None
        mbs = "%.0f" % (b / wall / 1e6) if b and wall else ""
        ratio = ""
        if r.get("ref") == "self":
            ratio = "limit"
        elif r.get("ref") in by_key and wall:
            ratio = fmt_ratio(wall / by_key[r["ref"]]["wall"])
        rss = "%.1f MiB" % (r["rss_kb"] / 1024) if r.get("rss_kb") else ""
        note = str(r.get("note", ""))
        if r.get("cmp") in by_key and wall:
            c = by_key[r["cmp"]]
            note = ("%.2f× the time at %s" % (wall / c["wall"], r.get("cmp_label", c["what"]))
                    + ("; " + note if note else ""))
        if "wall_min" in r and r.get("runs", 0) > 1:
            # The spread over the interleaved runs, and the ratio of the fastest runs: on a
            # machine whose page-cache allocation cost swings from run to run, the medians of
            # a limit row can move by 2x between otherwise equal runs.
            spread = "runs %s to %s" % (fmt_time(r["wall_min"]), fmt_time(r["wall_max"]))
            ref = by_key.get(r.get("ref"))
            if ref and ref is not r and ref.get("wall_min"):
                spread += ", fastest %s the limit's" % fmt_ratio(r["wall_min"] / ref["wall_min"])
            note = spread + ("; " + note if note else "")
        if r.get("expected") and r.get("n", 0) < r["expected"]:
            note = "only %d of %d lines arrived; " % (r.get("n", 0), r["expected"]) + note
        what = r["what"].replace("|", "\\|")
        note = note.replace("|", "\\|")
        cpu = "%.2f s" % r["cpu"] if r.get("cpu") is not None else ""
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r.get("sec", ""), what, fmt_time(wall), cpu, fmt_rate(rate), mbs, ratio, rss,
            fmt_ms(r.get("p50")), fmt_ms(r.get("p99")), fmt_ms(r.get("max")), note))
    w("")
    w("Columns: *wall* is the median wall time (the whole command, process start included); "
      "*CPU* is the median user + system time of the command (of the klog side of a pipe); "
      "*records/s* is records ÷ wall; *MB/s* is 10^6 bytes ÷ wall, of the input lines for "
      "produce rows (1, 5) and of the `.log` files for consume rows (2); *vs limit* is wall ÷ "
      "the wall of the section's *limit* row (1.00× = as fast as cat/dd/ls/du); *peak RSS* is "
      "GNU time's maximum resident set (the follow consumer's VmHWM); *p50/p99/max* are "
      "per-record latency in section 4 and the spread over runs elsewhere.")
    print("\n".join(out))


def main():
    cmd, *args = sys.argv[1:]
    globals()["cmd_" + cmd](*args)


if __name__ == "__main__":
    main()
