"""confluent-kafka (librdkafka) against `klog serve`: python3 confluent.py COMMAND BOOTSTRAP ...

topics                               JSON object: topic -> partition count
produce TOPIC N PARTITIONS           records 0..N (see records.py), one codec per fifth;
                                     prints what was produced, in order
consume TOPIC PARTITIONS N           every record from the beginning, as records.py prints
times TOPIC PARTITIONS TS...         offsets_for_times: {"partition","timestamp","offset"}
idempotent TOPIC N                   keys k0..kN in order with idempotence; prints each key
                                     acknowledged
commit GROUP TOPIC PARTITION OFFSET METADATA
                                     a commit without joining the group
committed GROUP TOPIC PARTITIONS     {"partition","offset","metadata"} per partition
group GROUP TOPIC IDLE LIMIT         a member of GROUP subscribed to TOPIC: prints
                                     {"assigned": [partitions]} at each assignment,
                                     {"first_ms": ms from joining to the first record}, then
                                     each record {"partition","offset","value"}, and commits
                                     after each batch; leaves once IDLE s pass without a
                                     record after one came, or after LIMIT s
"""

import json
import sys
import time

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient

from records import dec, enc, line, record

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def main():
    cmd, bs = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    base = {"bootstrap.servers": bs}
    if cmd == "topics":
        md = AdminClient(base).list_topics(timeout=20)
        print(json.dumps({t: len(m.partitions) for t, m in md.topics.items()}))
    elif cmd == "produce":
        topic, n, partitions = args[0], int(args[1]), int(args[2])
        errors = []

        def report(err, _msg):
            if err is not None:
                errors.append(str(err))

        per = (n + len(CODECS) - 1) // len(CODECS)
        for j, codec in enumerate(CODECS):
            p = Producer(dict(base, **{"compression.type": codec, "linger.ms": 5,
                                       "enable.idempotence": True}))
            for i in range(j * per, min(n, (j + 1) * per)):
                part, key, value, headers = record(i, partitions)
                while True:
                    try:
                        p.produce(topic, key=enc(key), value=enc(value), partition=part,
                                  headers=[(k, enc(v)) for k, v in headers], on_delivery=report)
                        break
                    except BufferError:
                        p.poll(0.05)
                print(line(part, key, value, headers))
            if p.flush(60) != 0:
                errors.append("not all delivered")
        if errors:
            sys.exit("delivery failed: %s" % errors[:3])
    elif cmd == "consume":
        topic, partitions, n = args[0], int(args[1]), int(args[2])
        c = Consumer(dict(base, **{"group.id": "klog-test", "enable.auto.commit": False}))
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        got = 0
        deadline = time.time() + 60
        while got < n and time.time() < deadline:
            for m in c.consume(10000, 0.5):
                if m.error():
                    sys.exit("consume error: %s" % m.error())
                hs = [(k, dec(v)) for k, v in (m.headers() or [])]
                print(line(m.partition(), dec(m.key()), dec(m.value()), hs, m.offset(),
                           m.timestamp()[1]))
                got += 1
        c.close()
    elif cmd == "times":
        topic, partitions = args[0], int(args[1])
        c = Consumer(dict(base, **{"group.id": "klog-test"}))
        for ts in args[2:]:
            tps = [TopicPartition(topic, p, int(ts)) for p in range(partitions)]
            for tp in c.offsets_for_times(tps, timeout=20):
                print(json.dumps({"partition": tp.partition, "timestamp": int(ts),
                                  "offset": tp.offset}))
        c.close()
    elif cmd == "idempotent":
        topic, n = args[0], int(args[1])
        p = Producer(dict(base, **{"enable.idempotence": True, "acks": "all",
                                   "linger.ms": 2, "message.timeout.ms": 120000,
                                   "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 200}))

        def acked(err, msg):
            if err is None:
                print(msg.key().decode(), flush=True)

        for i in range(n):
            p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=0, on_delivery=acked)
            p.poll(0)
            if i % 200 == 0:
                time.sleep(0.01)
        left = p.flush(120)
        if left:
            sys.exit("%d not delivered" % left)
    elif cmd == "commit":
        group, topic, part, offset, meta = args[0], args[1], int(args[2]), int(args[3]), args[4]
        c = Consumer(dict(base, **{"group.id": group, "enable.auto.commit": False}))
        tp = TopicPartition(topic, part, offset, meta)
        for r in c.commit(offsets=[tp], asynchronous=False):
            if r.error:
                sys.exit("commit failed: %s" % r.error)
        c.close()
    elif cmd == "committed":
        group, topic, partitions = args[0], args[1], int(args[2])
        c = Consumer(dict(base, **{"group.id": group}))
        for tp in c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20):
            print(json.dumps({"partition": tp.partition, "offset": tp.offset,
                              "metadata": tp.metadata}))
        c.close()
    elif cmd == "group":
        group, topic, idle, limit = args[0], args[1], float(args[2]), float(args[3])
        start = time.time()
        c = Consumer(dict(base, **{"group.id": group, "enable.auto.commit": False,
                                   "auto.offset.reset": "earliest"}))

        def assigned(_consumer, parts):
            print(json.dumps({"assigned": sorted(p.partition for p in parts)}), flush=True)

        c.subscribe([topic], on_assign=assigned)
        last = None
        while True:
            msgs = c.consume(1000, 0.2)
            now = time.time()
            for m in msgs:
                if m.error():
                    sys.exit("consume error: %s" % m.error())
                if last is None:
                    print(json.dumps({"first_ms": int((now - start) * 1000)}), flush=True)
                print(json.dumps({"partition": m.partition(), "offset": m.offset(),
                                  "value": dec(m.value())}), flush=True)
                last = now
            if msgs:
                try:
                    c.commit(asynchronous=False)
                except KafkaException as e:
                    if e.args[0].code() != KafkaError._NO_OFFSET:
                        sys.exit("commit failed: %s" % e)
            if (last is not None and now - last > idle) or now - start > limit:
                break
        c.close()
    else:
        sys.exit("unknown command " + cmd)


main()
