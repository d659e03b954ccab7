//! What `klog produce` makes of its input and arguments: `--json` lines as `consume --json`
//! prints them (magic 0 and 1 data without timestamps included) and nothing else, the `-v`
//! summary, and the checks made before anything is created.

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::{TestDir, assert_error, json, klog_at, lines};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// `klog produce TOPIC ARGS…` with `input` on stdin, whatever the outcome.
fn produce_run(t: &TestDir, topic: &str, args: &[&str], input: impl Into<Vec<u8>>) -> Output {
    t.klog()
        .arg("produce")
        .arg(topic)
        .args(args)
        .write_stdin(input)
        .output()
        .expect("run klog produce")
}

/// `klog --dir DIR consume TOPIC --json`, as bytes.
fn consume_json_at(dir: &Path, topic: &str) -> Vec<u8> {
    let out = klog_at(dir)
        .args(["consume", topic, "--json"])
        .output()
        .expect("run klog consume");
    assert!(
        out.status.success(),
        "consume {topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// One magic 0 message (no timestamp field) as a broker before 0.10 wrote it.
fn magic0_message(offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![0u8, 0u8];
    for field in [key, value] {
        match field {
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                body.extend_from_slice(b);
            }
        }
    }
    let mut out = offset.to_be_bytes().to_vec();
    out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

// ---------------------------------------------------------------------------------------------
// --json: lossless for data without timestamps
// ---------------------------------------------------------------------------------------------

/// `consume --json | produce --json` copies a broker's magic 1 partitions exactly, the one
/// whose messages carry no timestamp (-1) included: consuming the copy prints the same lines.
#[test]
fn regression_json_copy_of_magic_1_data_without_timestamps_is_exact() {
    let Some(fx) = crate::fixtures::shared_fixtures() else {
        return;
    };
    let broker = fx.join("kafka/xpxwo100__bullShit/tmp/kafka-logs");
    let t = TestDir::new();
    // TEST-TOPIC: 21 211 messages with timestamp -1; topic1 and foo: real timestamps.
    for topic in ["TEST-TOPIC", "topic1", "foo"] {
        let original = consume_json_at(&broker, topic);
        let first: Value = json(&lines(&String::from_utf8_lossy(&original))[0]);
        if topic == "TEST-TOPIC" {
            assert_eq!(first["timestamp"], -1, "the fixture has no timestamps");
        }
        let out = produce_json(&t, topic, &original);
        assert!(
            out.status.success(),
            "{topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let copy = consume_json_at(t.data(), topic);
        assert!(copy == original, "{topic}: the copy differs");
    }
}

/// Produces `input` with `--json` into `topic` of `t`.
fn produce_json(t: &TestDir, topic: &str, input: &[u8]) -> Output {
    produce_run(t, topic, &["--json"], input.to_vec())
}

/// Magic 0 messages have no timestamp at all: their copy keeps -1 (Kafka's NO_TIMESTAMP), and
/// every other field, offsets included.
#[test]
fn regression_json_copy_of_magic_0_data_keeps_no_timestamp() {
    let src = TestDir::new();
    let dir = src.partition_dir("legacy", 0);
    fs::create_dir_all(&dir).expect("partition dir");
    let log: Vec<u8> = [
        magic0_message(0, Some(b"k0"), Some(b"v0")),
        magic0_message(1, None, Some(&[0, 159, 146, 150])),
        magic0_message(2, Some(b"k2"), None),
    ]
    .concat();
    fs::write(dir.join("00000000000000000000.log"), log).expect("write log");
    let original = consume_json_at(src.data(), "legacy");
    let original: Vec<Value> = lines(&String::from_utf8_lossy(&original))
        .iter()
        .map(|l| json(l))
        .collect();
    assert_eq!(original.len(), 3);
    assert!(
        original.iter().all(|r| r["timestamp"] == -1),
        "{original:?}"
    );

    let t = TestDir::new();
    let input: Vec<u8> = original
        .iter()
        .flat_map(|r| format!("{r}\n").into_bytes())
        .collect();
    let out = produce_json(&t, "legacy", &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = consume_json_at(t.data(), "legacy");
    let copy: Vec<Value> = lines(&String::from_utf8_lossy(&copy))
        .iter()
        .map(|l| json(l))
        .collect();
    assert_eq!(copy.len(), original.len());
    for (c, o) in copy.iter().zip(&original) {
        for field in [
            "topic",
            "partition",
            "offset",
            "timestamp",
            "key",
            "value",
            "headers",
        ] {
            assert_eq!(c[field], o[field], "{field}: {c} vs {o}");
        }
    }
}

/// A line without a timestamp (or with null) gets the producer's clock, as Kafka's producer
/// stamps a record created without one; -1 stays -1; other negative values are refused.
#[test]
fn json_timestamps_missing_null_and_none() {
    let t = TestDir::new();
    let before = now_ms();
    let out = produce_json(
        &t,
        "ts",
        br#"{"value":"missing"}
{"value":"null","timestamp":null}
{"value":"none","timestamp":-1}
{"value":"given","timestamp":5}
"#,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = now_ms();
    let got: Vec<Value> = t
        .consume("ts", &["--json"])
        .iter()
        .map(|l| json(l))
        .collect();
    for r in &got[..2] {
        let ts = r["timestamp"].as_i64().expect("timestamp");
        assert!((before..=after).contains(&ts), "{r}");
    }
    assert_eq!(got[2]["timestamp"], -1);
    assert_eq!(got[3]["timestamp"], 5);

    let out = produce_json(&t, "ts", br#"{"value":"x","timestamp":-2}"#);
    let err = assert_error(&out, 1);
    assert!(
        err.contains("line 1: timestamp must be milliseconds since the epoch, or -1 for none"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// --json: strict about fields and keys
// ---------------------------------------------------------------------------------------------

/// `{"vaule":"x"}` used to be a record with a null value (a tombstone): now an unknown field
/// is an error naming it and the line, before anything of that line is written; with
/// `--skip-invalid` the line is reported and skipped.
#[test]
fn regression_produce_json_refuses_unknown_fields() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "users"]);
    let input = b"{\"key\":\"alice\",\"value\":\"ok\"}\n{\"key\":\"bob\",\"vaule\":\"x\"}\n";
    let out = produce_json(&t, "users", input);
    let err = assert_error(&out, 1);
    assert!(
        err.contains("stdin: line 2: unknown field \"vaule\""),
        "{err}"
    );
    assert!(
        err.contains("key, value, headers, partition, timestamp"),
        "{err}"
    );
    // The line before it is written, the bad one is not.
    assert_eq!(t.consume("users", &["-K", "="]), ["alice=ok"]);

    let out = produce_run(&t, "users", &["--json", "--skip-invalid"], input.to_vec());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("skipped stdin: line 2: unknown field \"vaule\""),
        "{stderr}"
    );
    assert_eq!(t.consume("users", &["-K", "="]), ["alice=ok", "alice=ok"]);
    // No tombstone for bob anywhere.
    assert!(
        !t.consume("users", &["--json"])
            .iter()
            .any(|l| l.contains("bob")),
        "bob was written"
    );
}

/// A key given twice in one object is refused, naming the key (serde keeps the last one;
/// other JSON parsers keep the first).
#[test]
fn regression_produce_json_refuses_duplicate_keys() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "dup"]);
    for (line, key) in [
        (&br#"{"value":"a","value":"b"}"#[..], "value"),
        (br#"{"key":"k","partition":0,"partition":0}"#, "partition"),
        (br#"{"value":{"base64":"AA==","base64":"AQ=="}}"#, "base64"),
    ] {
        let out = produce_json(&t, "dup", line);
        let err = assert_error(&out, 1);
        assert!(
            err.contains(&format!("line 1: invalid JSON: duplicate key \"{key}\"")),
            "{err}"
        );
    }
    assert!(t.consume("dup", &[]).is_empty());
}

// ---------------------------------------------------------------------------------------------
// -v
// ---------------------------------------------------------------------------------------------

/// `(partition, records, first offset, last offset)` from `produce -v`'s per-partition lines.
fn verbose_ranges(stderr: &str) -> Vec<(u32, u64, i64, i64)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("klog:   partition "))
        .map(|l| {
            let nums: Vec<i64> = l
                .split(|c: char| !c.is_ascii_digit())
                .filter(|w| !w.is_empty())
                .map(|w| w.parse().expect("number"))
                .collect();
            assert_eq!(nums.len(), 4, "{l}");
            (nums[0] as u32, nums[1] as u64, nums[2], nums[3])
        })
        .collect()
}

/// `produce -v` says, per partition written, how many records went there and the first and
/// last offset they got, as the contract's summary has it; the offsets are the ones consume
/// then shows.
#[test]
fn regression_produce_verbose_lists_the_offsets_written() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "orders", "-p", "3"]);
    let keyed: String = (0..30).map(|i| format!("key-{i}:v{i}\n")).collect();
    let mut want_next = [0i64; 3];
    for run in 0..2 {
        let out = produce_run(&t, "orders", &["-K", ":", "-v"], keyed.clone());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("klog: wrote 30 records (")
                && stderr.contains(") to 3 partitions of 'orders'"),
            "{stderr}"
        );
        let ranges = verbose_ranges(&stderr);
        assert_eq!(ranges.len(), 3, "{stderr}");
        // What consume shows of this run, per partition.
        let consumed = t.consume("orders", &["-F", "%p %o\n"]);
        for (p, records, first, last) in ranges {
            let offsets: Vec<i64> = consumed
                .iter()
                .filter_map(|l| l.split_once(' '))
                .filter(|(pp, _)| pp.parse::<u32>().ok() == Some(p))
                .map(|(_, o)| o.parse().expect("offset"))
                .filter(|&o| o >= want_next[p as usize])
                .collect();
            assert_eq!(first, want_next[p as usize], "run {run}, partition {p}");
            assert_eq!(offsets.first(), Some(&first), "run {run}, partition {p}");
            assert_eq!(offsets.last(), Some(&last), "run {run}, partition {p}");
            assert_eq!(offsets.len() as u64, records, "run {run}, partition {p}");
            want_next[p as usize] = last + 1;
        }
    }
    // One record: singular.
    let out = produce_run(&t, "orders", &["-p", "1", "-v"], "one\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("klog: wrote 1 record (") && stderr.contains(" to 1 partition of 'orders'"),
        "{stderr}"
    );
    assert_eq!(
        verbose_ranges(&stderr),
        [(1, 1, want_next[1], want_next[1])],
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Checked before anything is created
// ---------------------------------------------------------------------------------------------

/// `produce t --raw missing.bin` used to create `t` and then fail: every named input is
/// opened first, and a missing one (or a directory) fails before the topic exists.
#[test]
fn regression_missing_input_files_create_nothing() {
    let t = TestDir::new();
    let present = t.root().join("present.bin");
    fs::write(&present, b"bytes").expect("write");
    let missing = t.root().join("missing.bin");
    let p = present.to_str().expect("UTF-8 path");
    let m = missing.to_str().expect("UTF-8 path");
    for args in [
        vec!["produce", "t", "--raw", m],
        vec!["produce", "t", "--raw", p, m],
        vec!["produce", "t", p, "-", m],
        vec!["produce", "t", m, "--no-create"],
    ] {
        let out = t
            .klog()
            .args(&args)
            .write_stdin("x\n")
            .output()
            .expect("run");
        let err = assert_error(&out, 1);
        assert!(
            err.contains("open ") && err.contains("missing.bin"),
            "{args:?}: {err}"
        );
        assert!(
            !t.data().exists(),
            "{args:?} created {}",
            t.data().display()
        );
    }
    let out = t
        .klog()
        .args(["produce", "t", "--raw"])
        .arg(t.root())
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert!(err.contains("is a directory"), "{err}");
    assert!(!t.data().exists());

    // Into an existing topic: nothing appended either.
    t.ok(&["topics", "create", "t"]);
    let out = t.run(&["produce", "t", "--raw", p, m]);
    assert_error(&out, 1);
    assert!(t.consume("t", &[]).is_empty());
}

/// `--partitions` that disagrees with an existing topic's count is an error, not silently
/// ignored; the same count is fine, and a topic produce creates gets it.
#[test]
fn regression_partitions_flag_must_match_an_existing_topic() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "two", "-p", "2"]);
    for (n, grow) in [("5", true), ("1", false)] {
        let out = produce_run(&t, "two", &["--partitions", n], "x\n");
        let err = assert_error(&out, 2);
        assert!(
            err.contains(&format!("topic 'two' has 2 partitions, not {n}")),
            "{err}"
        );
        assert_eq!(
            err.contains(&format!("klog topics alter two --partitions {n}")),
            grow,
            "{err}"
        );
    }
    assert!(t.consume("two", &[]).is_empty(), "nothing written");
    t.produce("two", "x\n", &["--partitions", "2"]);
    assert_eq!(t.consume("two", &[]), ["x"]);
    t.produce("new", "y\n", &["--partitions", "3"]);
    assert_eq!(
        t.describe("new")["partitions"].as_array().map(Vec::len),
        Some(3)
    );
}

/// The README's copy into a topic with more partitions put everything in partition 0, since
/// each JSON line says `"partition":0`. `--ignore-partition` chooses by key instead, exactly
/// as producing the same keys with `-K` does.
#[test]
fn regression_ignore_partition_spreads_a_json_copy_by_key() {
    let t = TestDir::new();
    let keyed: String = (0..40).map(|i| format!("user-{i}:v{i}\n")).collect();
    t.produce("src", keyed.clone(), &["-K", ":"]);
    // The reference: the same records produced with keys into 3 partitions.
    t.produce("by-key", keyed, &["-K", ":", "--partitions", "3"]);
    let json_lines = t.ok(&["consume", "src", "--json"]);

    let out = produce_run(
        &t,
        "copy",
        &["--json", "--partitions", "3", "--ignore-partition"],
        json_lines.clone(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let placed = |topic: &str| {
        let mut v = t.consume(topic, &["-F", "%p %k=%s\n"]);
        v.sort();
        v
    };
    let copy = placed("copy");
    assert_eq!(copy, placed("by-key"));
    assert!(
        copy.iter().any(|l| !l.starts_with("0 ")),
        "all in partition 0: {copy:?}"
    );

    // Without it, the "partition" field counts (all 0 here), as before.
    let out = produce_run(&t, "kept", &["--json", "--partitions", "3"], json_lines);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(placed("kept").iter().all(|l| l.starts_with("0 ")));
    // It means nothing without --json.
    assert_error(&produce_run(&t, "kept", &["--ignore-partition"], "x\n"), 2);
}
