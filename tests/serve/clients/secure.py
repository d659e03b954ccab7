"""A Kafka client through a SASL_SSL listener of `klog serve`:
python3 secure.py LIBRARY BOOTSTRAP MECHANISM USER PASSWORD CAFILE COMMAND TOPIC N

LIBRARY is confluent-kafka or kafka-python; MECHANISM is PLAIN, SCRAM-SHA-256 or
SCRAM-SHA-512; CAFILE is the PEM CA the server's certificate must chain to.

produce TOPIC N     values v0..v(N-1), each acknowledged; prints each value
consume TOPIC N     N records from the beginning of partition 0; prints each value

Exits with status 1 and the client's error on stderr when the client fails (a refused
login, a failed TLS handshake).
"""

import sys
import time


def confluent(bs, mech, user, password, ca, cmd, topic, n):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

    errors = []
    conf = {"bootstrap.servers": bs, "security.protocol": "SASL_SSL", "sasl.mechanisms": mech,
            "sasl.username": user, "sasl.password": password, "ssl.ca.location": ca,
            "error_cb": lambda e: errors.append(str(e))}
    if cmd == "produce":
        failed = []
        p = Producer(dict(conf, **{"message.timeout.ms": 10000}))
        for i in range(n):
            p.produce(topic, value=b"v%d" % i,
                      on_delivery=lambda err, _m: err is not None and failed.append(str(err)))
        p.flush(20)
        if failed or errors:
            sys.exit("delivery failed: %s" % (failed + errors)[:3])
        for i in range(n):
            print("v%d" % i)
    else:
        c = Consumer(dict(conf, **{"group.id": "secure-test", "enable.auto.commit": False}))
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got = 0
        deadline = time.time() + 20
        while got < n and time.time() < deadline:
            if errors:
                sys.exit("client error: %s" % errors[:3])
            for m in c.consume(100, 0.5):
                if m.error():
                    sys.exit("consume error: %s" % m.error())
                print(m.value().decode())
                got += 1
        c.close()
        if got < n:
            sys.exit("consumed %d of %d; errors: %s" % (got, n, errors[:3]))


def kafka_python(bs, mech, user, password, ca, cmd, topic, n):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    conf = dict(bootstrap_servers=bs, security_protocol="SASL_SSL", sasl_mechanism=mech,
                sasl_plain_username=user, sasl_plain_password=password, ssl_cafile=ca)
    if cmd == "produce":
        p = KafkaProducer(**conf)
        for f in [p.send(topic, value=b"v%d" % i) for i in range(n)]:
            f.get(timeout=20)
        p.close()
        for i in range(n):
            print("v%d" % i)
    else:
        c = KafkaConsumer(enable_auto_commit=False, **conf)
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        got = 0
        deadline = time.time() + 20
        while got < n and time.time() < deadline:
            for _tp, msgs in c.poll(500).items():
                for m in msgs:
                    print(m.value.decode())
                    got += 1
        c.close()
        if got < n:
            sys.exit("consumed %d of %d" % (got, n))


def main():
    lib, bs, mech, user, password, ca, cmd, topic, n = sys.argv[1:10]
    run = {"confluent-kafka": confluent, "kafka-python": kafka_python}[lib]
    try:
        run(bs, mech, user, password, ca, cmd, topic, int(n))
    except Exception as e:  # the client's own error, for the test to read
        sys.exit("%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
