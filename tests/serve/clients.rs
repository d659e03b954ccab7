//! Each real client against `klog serve`: metadata lists the topics `klog topics create`
//! made; what the client produces (keys, headers, null values, every codec it has) is what
//! `klog consume --json` prints; what `klog produce` wrote is what the client consumes;
//! ListOffsets by time agrees with `klog consume -o @TIME`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::harness::{Client, Serve, json_lines, klog, klog_with_input};

/// Records each client produces (the figure).
const PRODUCED: usize = 100_000;
/// Records each client consumes.
const CONSUMED: usize = 20_000;
const PARTITIONS: usize = 3;
/// Timestamp of record 0 written by `klog produce`; record i has BASE_TS + 10 i.
const BASE_TS: i64 = 1_700_000_000_000;

/// Records by partition, each reduced to the given fields, in offset order.
fn by_partition(lines: &[Value], fields: &[&str]) -> BTreeMap<u64, Vec<Value>> {
    let mut out: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for l in lines {
        let p = l["partition"].as_u64().expect("partition");
        let reduced: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| (f.to_string(), l[*f].clone()))
            .collect();
        out.entry(p).or_default().push(Value::Object(reduced));
    }
    out
}

fn assert_same(
    client: Client,
    what: &str,
    got: BTreeMap<u64, Vec<Value>>,
    want: BTreeMap<u64, Vec<Value>>,
) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (p, w) in &want {
        let g = &got[p];
        assert_eq!(
            g.len(),
            w.len(),
            "{} {what}: partition {p} count",
            client.name()
        );
        if let Some(i) = (0..w.len()).find(|&i| g[i] != w[i]) {
            panic!(
                "{} {what}: partition {p}, record {i}: got {}, want {}",
                client.name(),
                g[i],
                w[i]
            );
        }
    }
}

/// What kcat produces: per codec and partition one run of `kcat -P` (its headers are per
/// run, its null values empty lines with -Z). Returns the expected records.
fn kcat_produce(bootstrap: &str, topic: &str, n: usize) -> Vec<Value> {
    let codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    let per = n.div_ceil(codecs.len() * PARTITIONS);
    let mut expected = Vec::new();
    let mut i = 0;
    for codec in codecs {
        for p in 0..PARTITIONS {
            let mut input = String::new();
            for _ in 0..per {
                if i >= n {
                    break;
                }
                let value = if i % 7 == 5 {
                    None
                } else {
                    Some(format!("v{i}{}", "x".repeat(i % 50)))
                };
                input.push_str(&format!("k{i}\t{}\n", value.as_deref().unwrap_or("")));
                expected.push(json!({
                    "partition": p, "key": format!("k{i}"), "value": value,
                    "headers": [["codec", codec]],
                }));
                i += 1;
            }
            let out = assert_cmd::Command::new("kcat")
                .args(["-P", "-b", bootstrap, "-t", topic, "-p", &p.to_string()])
                .args([
                    "-z",
                    codec,
                    "-K",
                    "\t",
                    "-Z",
                    "-H",
                    &format!("codec={codec}"),
                ])
                .write_stdin(input)
                .timeout(crate::harness::CLIENT_TIMEOUT)
                .output()
                .expect("kcat -P");
            assert!(
                out.status.success(),
                "kcat -P failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    expected
}

/// kcat's `-J` output as `klog consume --json` prints records.
fn kcat_consume(bootstrap: &str, topic: &str) -> Vec<Value> {
    let out = assert_cmd::Command::new("kcat")
        .args([
            "-C",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-J",
            "-q",
        ])
        .timeout(crate::harness::CLIENT_TIMEOUT)
        .output()
        .expect("kcat -C");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .map(|m| {
            let flat = m["headers"].as_array().cloned().unwrap_or_default();
            let headers: Vec<Value> = flat.chunks(2).map(|c| json!([c[0], c[1]])).collect();
            json!({
                "partition": m["partition"], "offset": m["offset"], "timestamp": m["ts"],
                "key": m["key"], "value": m["payload"], "headers": headers,
            })
        })
        .collect()
}

/// kcat's offsets for a time (`-Q`), per partition.
fn kcat_times(bootstrap: &str, topic: &str, ts: i64) -> Vec<Value> {
    let mut args = vec!["-Q".to_string(), "-b".into(), bootstrap.into()];
    for p in 0..PARTITIONS {
        args.push("-t".into());
        args.push(format!("{topic}:{p}:{ts}"));
    }
    let out = assert_cmd::Command::new("kcat")
        .args(&args)
        .timeout(crate::harness::CLIENT_TIMEOUT)
        .output()
        .expect("kcat -Q");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "orders [1] offset 17"
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let p: u64 = l.split('[').nth(1)?.split(']').next()?.parse().ok()?;
            let o: i64 = l.rsplit(' ').next()?.parse().ok()?;
            Some(json!({"partition": p, "timestamp": ts, "offset": o}))
        })
        .collect()
}

/// `klog produce --json` of `n` records with keys, headers and timestamps, over the
/// partitions.
fn klog_produce(dir: &Path, topic: &str, n: usize) {
    let mut input = String::new();
    for i in 0..n {
        let key = if i % 10 == 3 {
            Value::Null
        } else {
            json!(format!("k{i}"))
        };
        let line = json!({
            "partition": i % PARTITIONS, "timestamp": BASE_TS + 10 * i as i64,
            "key": key, "value": format!("v{i}"), "headers": [["h", i.to_string()]],
        });
        input.push_str(&line.to_string());
        input.push('\n');
    }
    klog_with_input(dir, &["produce", topic, "--json", "-q"], input);
}

fn run(client: Client) {
    if !client.require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let p = PARTITIONS.to_string();
    for (t, n) in [
        ("listed", "2"),
        ("produced", p.as_str()),
        ("consumed", p.as_str()),
    ] {
        klog(&dir, &["topics", "create", t, "--partitions", n, "-q"]);
    }
    klog_produce(&dir, "consumed", CONSUMED);
    let serve = Serve::start(&dir);
    let bs = serve.bootstrap();

    // Metadata: the topics the CLI made, with their partition counts.
    let topics: Value = if client == Client::Kcat {
        let out = assert_cmd::Command::new("kcat")
            .args(["-L", "-J", "-b", &bs])
            .timeout(crate::harness::CLIENT_TIMEOUT)
            .output()
            .expect("kcat -L");
        let md: Value = serde_json::from_slice(&out.stdout).expect("kcat -L -J");
        let mut m = serde_json::Map::new();
        for t in md["topics"].as_array().unwrap() {
            m.insert(
                t["topic"].as_str().unwrap().into(),
                json!(t["partitions"].as_array().unwrap().len()),
            );
        }
        Value::Object(m)
    } else {
        serde_json::from_str(client.run(&["topics", &bs]).trim()).unwrap()
    };
    assert_eq!(topics["listed"], json!(2), "{}: {topics}", client.name());
    assert_eq!(
        topics["produced"],
        json!(PARTITIONS),
        "{}: {topics}",
        client.name()
    );

    // Produce: klog reads back exactly what the client sent.
    let expected = if client == Client::Kcat {
        kcat_produce(&bs, "produced", PRODUCED)
    } else {
        json_lines(&client.run(&["produce", &bs, "produced", &PRODUCED.to_string(), &p]))
    };
    assert_eq!(expected.len(), PRODUCED);
    let fields = ["key", "value", "headers"];
    let got = json_lines(&klog(&dir, &["consume", "produced", "--json"]));
    assert_same(
        client,
        "produce",
        by_partition(&got, &fields),
        by_partition(&expected, &fields),
    );

    // Consume: the client reads exactly what klog wrote.
    let consumed = if client == Client::Kcat {
        kcat_consume(&bs, "consumed")
    } else {
        json_lines(&client.run(&["consume", &bs, "consumed", &p, &CONSUMED.to_string()]))
    };
    let fields = ["offset", "timestamp", "key", "value", "headers"];
    let want = json_lines(&klog(&dir, &["consume", "consumed", "--json"]));
    assert_same(
        client,
        "consume",
        by_partition(&consumed, &fields),
        by_partition(&want, &fields),
    );

    // ListOffsets by time: the offset `klog consume -o @TIME` starts at.
    let times = [
        BASE_TS + 505,
        BASE_TS + 10 * CONSUMED as i64 + 1,
        BASE_TS - 1,
    ];
    let found: Vec<Value> = if client == Client::Kcat {
        times
            .iter()
            .flat_map(|&t| kcat_times(&bs, "consumed", t))
            .collect()
    } else {
        let args: Vec<String> = times.iter().map(i64::to_string).collect();
        let mut all = vec!["times", &bs, "consumed", &p];
        all.extend(args.iter().map(String::as_str));
        json_lines(&client.run(&all))
    };
    assert_eq!(found.len(), times.len() * PARTITIONS, "{found:?}");
    for f in &found {
        let part = f["partition"].as_u64().unwrap().to_string();
        let ts = f["timestamp"].as_i64().unwrap();
        let first = json_lines(&klog(
            &dir,
            &[
                "consume",
                "consumed",
                "-p",
                &part,
                "-o",
                &format!("@{ts}"),
                "-n",
                "1",
                "--json",
            ],
        ));
        let want = match first.first() {
            Some(r) => r["offset"].as_i64().unwrap(),
            // No record that recent: -1, which kafkajs reports as the log end offset.
            None if client == Client::Kafkajs => {
                let d = klog(&dir, &["topics", "describe", "consumed", "--json"]);
                let d: Value = serde_json::from_str(&d).unwrap();
                d["partitions"][part.parse::<usize>().unwrap()]["log_end_offset"]
                    .as_i64()
                    .unwrap()
            }
            None => -1,
        };
        assert_eq!(f["offset"].as_i64(), Some(want), "{}: {f}", client.name());
    }
    let stderr = serve.stop();
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(!stderr.contains("closed the connection"), "{stderr}");
}

#[test]
fn kcat() {
    run(Client::Kcat);
}

#[test]
fn confluent_kafka() {
    run(Client::Confluent);
}

#[test]
fn kafka_python() {
    run(Client::KafkaPython);
}

#[test]
fn kafkajs() {
    run(Client::Kafkajs);
}

/// A Kafka client's commits and `klog consume -g`'s are one set of offsets: each resumes
/// where the other committed, and the client's metadata string comes back.
#[test]
fn commits_are_shared_with_klog_consume_group() {
    let client = Client::Confluent;
    if !client.require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    klog(&dir, &["topics", "create", "c", "--partitions", "2", "-q"]);
    let input: String = (0..100).map(|i| format!("r{i}\n")).collect();
    klog_with_input(&dir, &["produce", "c", "-p", "0", "-q"], input);
    let serve = Serve::start(&dir);
    let bs = serve.bootstrap();
    client.run(&["commit", &bs, "etl", "c", "0", "40", "from-kafka"]);
    // klog's member starts at the client's commit and commits where it stops.
    let out = klog(&dir, &["consume", "c", "-g", "etl", "-n", "10"]);
    assert_eq!(out.lines().next(), Some("r40"), "{out}");
    let got = json_lines(&client.run(&["committed", &bs, "etl", "c", "2"]));
    assert_eq!(got[0]["offset"], json!(50), "{got:?}");
    // The client's metadata string round-trips.
    client.run(&["commit", &bs, "etl", "c", "1", "0", "meta data"]);
    let got = json_lines(&client.run(&["committed", &bs, "etl", "c", "2"]));
    assert_eq!(got[1]["metadata"], json!("meta data"), "{got:?}");
    let described: Value =
        serde_json::from_str(&klog(&dir, &["groups", "describe", "etl", "--json"])).unwrap();
    assert_eq!(described[0]["current_offset"], json!(50), "{described}");
    serve.stop();
}
