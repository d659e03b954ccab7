"""The records every client produces in the `klog serve` tests, and how they are printed.

Record i: key "k<i>" (none when i % 10 == 3), value "v<i>" and i % 50 "x"s (none when
i % 7 == 5 and the key is not none: kafka-python refuses a record with neither), headers ("h", "<i>") and, when i % 3 == 0, ("e", ""); partition i % P. Printed
as `klog consume --json` prints records (the keys that matter here): one JSON object a line.
"""

import json


def record(i, partitions):
    key = None if i % 10 == 3 else "k%d" % i
    value = None if i % 7 == 5 and key is not None else "v%d" % i + "x" * (i % 50)
    headers = [("h", str(i))] + ([("e", "")] if i % 3 == 0 else [])
    return i % partitions, key, value, headers


def enc(s):
    return None if s is None else s.encode()


def dec(b):
    return None if b is None else b.decode()


def line(partition, key, value, headers, offset=None, timestamp=None):
    d = {"partition": partition}
    if offset is not None:
        d["offset"] = offset
    if timestamp is not None:
        d["timestamp"] = timestamp
    d["key"] = key
    d["value"] = value
    d["headers"] = [[k, v] for k, v in headers]
    return json.dumps(d, separators=(",", ":"))
