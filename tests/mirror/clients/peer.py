"""confluent-kafka against the peer broker, for the mirror tests:
python3 peer.py COMMAND BOOTSTRAP ...

read TOPIC COUNTS            the first COUNTS[p] records of each partition p (COUNTS: comma-
                             separated), one JSON line each: {"p","o","k","v","h","ts"}, bytes
                             in base64 (null for null), headers as [[name, base64]]. (tansu
                             0.6's ListOffsets answers the batch count, not the end offset:
                             the counts come from the caller.)
resume GROUP TOPIC PARTITIONS
                             the group's committed offset of each partition, and the first
                             record a consumer of that group assigned the partition reads
                             there: {"p","committed","o","v"} ("o"/"v" null when there is
                             none within 5 s: the end)
"""

import base64
import json
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def b64(b):
    return None if b is None else base64.b64encode(b).decode()


def main():
    cmd, bs = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    if cmd == "read":
        topic, counts = args[0], [int(n) for n in args[1].split(",")]
        c = Consumer({"bootstrap.servers": bs, "group.id": "klog-mirror-read",
                      "enable.auto.commit": False})
        for p, n in enumerate(counts):
            if n == 0:
                continue
            c.assign([TopicPartition(topic, p, OFFSET_BEGINNING)])
            for _ in range(n):
                m = c.poll(20)
                if m is None:
                    sys.exit("timed out reading %s-%d" % (topic, p))
                if m.error():
                    sys.exit(str(m.error()))
                print(json.dumps({"p": p, "o": m.offset(), "k": b64(m.key()),
                                  "v": b64(m.value()),
                                  "h": [[k, b64(v)] for k, v in (m.headers() or [])],
                                  "ts": m.timestamp()[1]}))
        c.close()
    elif cmd == "resume":
        group, topic, partitions = args[0], args[1], int(args[2])
        c = Consumer({"bootstrap.servers": bs, "group.id": group,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = {tp.partition: tp.offset for tp in c.committed(tps, timeout=20)}
        for p in range(partitions):
            out = {"p": p, "committed": committed[p], "o": None, "v": None}
            if committed[p] >= 0:
                # Assigned without an offset: the group's committed one.
                c.assign([TopicPartition(topic, p)])
                m = c.poll(5)
                if m is not None and m.error():
                    sys.exit(str(m.error()))
                if m is not None:
                    out["o"], out["v"] = m.offset(), b64(m.value())
            print(json.dumps(out))
        c.close()
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
