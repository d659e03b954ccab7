"""kafka-python against `klog serve`: python3 kafka_python.py COMMAND BOOTSTRAP ...

The commands of confluent.py (topics, produce, consume, times, idempotent, group), with
kafka-python's codecs: none, gzip, snappy, lz4, zstd.
"""

import json
import sys
import time

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition

from records import dec, enc, line, record

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


def main():
    cmd, bs = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    if cmd == "topics":
        c = KafkaConsumer(bootstrap_servers=bs)
        print(json.dumps({t: len(c.partitions_for_topic(t)) for t in c.topics()}))
        c.close()
    elif cmd == "produce":
        topic, n, partitions = args[0], int(args[1]), int(args[2])
        per = (n + len(CODECS) - 1) // len(CODECS)
        for j, codec in enumerate(CODECS):
            p = KafkaProducer(bootstrap_servers=bs, compression_type=codec, linger_ms=5)
            futures = []
            for i in range(j * per, min(n, (j + 1) * per)):
                part, key, value, headers = record(i, partitions)
                futures.append(p.send(topic, key=enc(key), value=enc(value), partition=part,
                                      headers=[(k, enc(v)) for k, v in headers]))
                print(line(part, key, value, headers))
            p.flush(60)
            for f in futures:
                f.get(timeout=60)
            p.close()
    elif cmd == "consume":
        topic, partitions, n = args[0], int(args[1]), int(args[2])
        c = KafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False)
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        got = 0
        deadline = time.time() + 60
        while got < n and time.time() < deadline:
            for _tp, msgs in c.poll(500, max_records=10000).items():
                for m in msgs:
                    hs = [(k, dec(v)) for k, v in (m.headers or [])]
                    print(line(m.partition, dec(m.key), dec(m.value), hs, m.offset, m.timestamp))
                    got += 1
        c.close()
    elif cmd == "times":
        topic, partitions = args[0], int(args[1])
        c = KafkaConsumer(bootstrap_servers=bs)
        for ts in args[2:]:
            found = c.offsets_for_times({TopicPartition(topic, p): int(ts)
                                         for p in range(partitions)})
            for tp, o in sorted(found.items(), key=lambda kv: kv[0].partition):
                print(json.dumps({"partition": tp.partition, "timestamp": int(ts),
                                  "offset": -1 if o is None else o.offset}))
        c.close()
    elif cmd == "idempotent":
        topic, n = args[0], int(args[1])
        p = KafkaProducer(bootstrap_servers=bs, enable_idempotence=True, acks="all",
                          linger_ms=2, retries=1000000, delivery_timeout_ms=120000,
                          reconnect_backoff_ms=50, reconnect_backoff_max_ms=200)

        def acked(key, _md):
            print(key, flush=True)

        for i in range(n):
            key = "k%d" % i
            f = p.send(topic, key=key.encode(), value=b"v%d" % i, partition=0)
            f.add_callback(acked, key)
            if i % 200 == 0:
                time.sleep(0.01)
        p.flush(120)
        p.close()
    elif cmd == "group":
        group, topic, idle, limit = args[0], args[1], float(args[2]), float(args[3])
        start = time.time()
        c = KafkaConsumer(bootstrap_servers=bs, group_id=group, enable_auto_commit=False,
                          auto_offset_reset="earliest")

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, assigned):
                print(json.dumps({"assigned": sorted(p.partition for p in assigned)}),
                      flush=True)

        c.subscribe([topic], listener=Listener())
        last = None
        while True:
            batches = c.poll(timeout_ms=200)
            now = time.time()
            got = False
            for msgs in batches.values():
                for m in msgs:
                    if last is None:
                        print(json.dumps({"first_ms": int((now - start) * 1000)}), flush=True)
                    print(json.dumps({"partition": m.partition, "offset": m.offset,
                                      "value": dec(m.value)}), flush=True)
                    last = now
                    got = True
            if got:
                c.commit()
            if (last is not None and now - last > idle) or now - start > limit:
                break
        c.close()
    else:
        sys.exit("unknown command " + cmd)


main()
