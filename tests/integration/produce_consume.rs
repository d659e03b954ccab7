//! `klog produce` and `klog consume` end to end: volume, partitioning, keys, offsets, pipes.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::util::{TestDir, assert_error, has_meta, numbered_lines};

#[test]
fn hundred_thousand_lines_through_three_partitions() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "big", "-p", "3"]);
    // About 5 MB: keyless records go to one partition per batch (batches of up to 1 MiB), so
    // this is enough to reach all three partitions whatever the batching.
    let (input, expected) = numbered_lines(
        "line-padded-to-fill-several-one-megabyte-batches",
        0..100_000,
    );
    t.produce("big", input, &[]);

    // Every line comes back exactly once (the lines are zero-padded: sorted = numeric order).
    let all = t.consume("big", &[]);
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(sorted.len(), expected.len());
    assert!(
        sorted == expected,
        "consumed multiset differs from produced"
    );

    // Spread over all three partitions, and the counts add up.
    let d = t.describe("big");
    assert_eq!(d["name"], "big");
    let parts = d["partitions"].as_array().expect("partitions array");
    assert_eq!(parts.len(), 3);
    let mut total = 0;
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p["partition"], i as u64);
        let records = p["records"].as_i64().expect("records");
        assert!(records > 0, "partition {i} got no records: {d}");
        assert_eq!(p["log_start_offset"], 0);
        assert_eq!(p["log_end_offset"].as_i64(), Some(records));
        total += records;
    }
    assert_eq!(total, 100_000);

    // Each partition, read alone, is in production order; together they are the whole topic.
    let mut concatenated = Vec::new();
    for (p, stats) in parts.iter().enumerate() {
        let got = t.consume("big", &["-p", &p.to_string()]);
        assert_eq!(Some(got.len() as i64), stats["records"].as_i64());
        if let Some(w) = got.windows(2).find(|w| w[0] >= w[1]) {
            panic!("partition {p} out of order: {} before {}", w[0], w[1]);
        }
        concatenated.extend(got);
    }
    concatenated.sort_unstable();
    assert!(
        concatenated == sorted,
        "the partitions read one by one are not the whole topic"
    );
}

#[test]
fn keyed_records_follow_kafkas_murmur2_partitioner() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "keys", "-p", "3"]);
    let first: String = (0..10).map(|k| format!("{k}:first-{k}\n")).collect();
    t.produce("keys", first, &["-K", ":"]);
    // A second run, keys in the opposite order: the same key must go to the same partition.
    let second: String = (0..10).rev().map(|k| format!("{k}:second-{k}\n")).collect();
    t.produce("keys", second, &["-K", ":"]);

    // Where a real Kafka broker put keys "0".."9" of a 3-partition topic.
    let kafka: [(u32, &[u32]); 3] = [(0, &[1, 5, 7, 8]), (1, &[4, 6]), (2, &[0, 2, 3, 9])];
    for (p, keys) in kafka {
        let got = t.consume("keys", &["-p", &p.to_string(), "-K", ":"]);
        let mut want: Vec<String> = keys.iter().map(|k| format!("{k}:first-{k}")).collect();
        want.extend(keys.iter().rev().map(|k| format!("{k}:second-{k}")));
        assert_eq!(got, want, "partition {p}");
    }

    // -k gives every record the same key: one partition, the one -K picks for that key.
    t.produce("keys", "a\nb\nc\nd\n", &["-k", "user-42"]);
    t.produce("keys", "user-42:e\n", &["-K", ":"]);
    let mut holders = Vec::new();
    for p in 0..3u32 {
        let got = t.consume("keys", &["-p", &p.to_string(), "-K", "="]);
        let mine: Vec<&String> = got.iter().filter(|l| l.starts_with("user-42=")).collect();
        if !mine.is_empty() {
            let values: Vec<&str> = mine.iter().map(|l| &l["user-42=".len()..]).collect();
            assert_eq!(values, ["a", "b", "c", "d", "e"], "partition {p}");
            holders.push(p);
        }
    }
    assert_eq!(
        holders.len(),
        1,
        "key user-42 spread over partitions {holders:?}"
    );
}

#[test]
fn closed_stdout_ends_consume_quietly() {
    let t = TestDir::new();
    let (input, _) = numbered_lines("q", 0..200_000);
    t.produce("pipe", input, &["-q"]);
    let mut child = t
        .klog_std()
        .args(["consume", "pipe"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn klog consume");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read a line");
    assert_eq!(first, "q-00000000\n");
    drop(stdout); // like `head -1` exiting
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr not empty: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two partitions with known content: `a-0`..`a-9` in partition 0, `b-0`..`b-4` in 1.
fn two_partitions() -> TestDir {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "2"]);
    let a: String = (0..10).map(|i| format!("a-{i}\n")).collect();
    let b: String = (0..5).map(|i| format!("b-{i}\n")).collect();
    t.produce("t", a, &["-p", "0"]);
    t.produce("t", b, &["-p", "1"]);
    t
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn consume_offsets_counts_and_partitions() {
    let t = two_partitions();
    let c = |args: &[&str]| t.consume("t", args);
    let a = |r: std::ops::Range<u32>| r.map(|i| format!("a-{i}")).collect::<Vec<_>>();
    let b = |r: std::ops::Range<u32>| r.map(|i| format!("b-{i}")).collect::<Vec<_>>();
    let cat = |x: Vec<String>, y: Vec<String>| [x, y].concat();

    assert_eq!(c(&[]), cat(a(0..10), b(0..5)));
    assert_eq!(c(&["--from-beginning"]), cat(a(0..10), b(0..5)));
    assert_eq!(c(&["-o", "beginning"]), cat(a(0..10), b(0..5)));
    assert_eq!(c(&["-o", "end"]), Vec::<String>::new());
    // -N: the last N of each partition.
    assert_eq!(c(&["-o", "-3"]), cat(a(7..10), b(2..5)));
    assert_eq!(c(&["-o", "-1"]), strs(&["a-9", "b-4"]));
    assert_eq!(c(&["-o", "-100"]), cat(a(0..10), b(0..5)));
    // N: absolute, per partition; past the end is nothing.
    assert_eq!(c(&["-o", "3"]), cat(a(3..10), b(3..5)));
    assert_eq!(c(&["-o", "8"]), a(8..10));
    assert_eq!(c(&["-o", "10"]), Vec::<String>::new());
    assert_eq!(c(&["--offset", "2", "-n", "3"]), a(2..5));
    // -n counts across partitions.
    assert_eq!(c(&["-n", "12"]), cat(a(0..10), b(0..2)));
    assert_eq!(c(&["--count", "0"]), Vec::<String>::new());
    // -p selects partitions.
    assert_eq!(c(&["-p", "1"]), b(0..5));
    assert_eq!(c(&["-p", "1", "-o", "-2"]), b(3..5));
    assert_eq!(c(&["-p", "0", "-o", "4", "-n", "1"]), strs(&["a-4"]));
}

#[test]
fn consume_usage_errors_exit_2() {
    let t = two_partitions();
    let out = t.run(&["consume", "t", "-p", "2"]);
    let err = assert_error(&out, 2);
    assert!(err.contains("partition 2"), "{err}");
    assert!(out.stdout.is_empty());

    for bad in ["abc", "1.5", "--3", "-x", "99999999999999999999"] {
        let out = t.run(&["consume", "t", "-o", bad]);
        let err = assert_error(&out, 2);
        assert!(
            err.contains(&format!("'{bad}'")),
            "message must name {bad}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    // Not a number for -n / -p: clap's usage error, also 2.
    for args in [["-n", "many"], ["-p", "zero"]] {
        let out = t
            .klog()
            .arg("consume")
            .arg("t")
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn produce_creates_missing_topics_unless_told_not_to() {
    let t = TestDir::new();
    let out = t.run(&["produce", "nope", "--no-create"]);
    let err = assert_error(&out, 1);
    assert!(err.contains("'nope'"), "{err}");
    assert!(!has_meta(t.data(), "nope"));
    assert!(!t.partition_dir("nope", 0).exists());

    // Auto-creation says so on stderr, -q silences it.
    let out = t
        .klog()
        .args(["produce", "auto", "--partitions", "2", "-p", "0"])
        .write_stdin("x\n")
        .output()
        .expect("run");
    assert!(out.status.success());
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("created topic 'auto'"), "{note}");
    assert_eq!(
        t.describe("auto")["partitions"].as_array().map(Vec::len),
        Some(2)
    );
    let out = t
        .klog()
        .args(["-q", "produce", "auto2"])
        .write_stdin("x\n")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // -p past the partitions of an existing topic is a usage error and writes nothing.
    let out = t
        .klog()
        .args(["produce", "auto", "-p", "2"])
        .write_stdin("y\n")
        .output()
        .expect("run");
    assert_error(&out, 2);
    assert_eq!(t.consume("auto", &[]), ["x"]);

    // -p N writes there; a last line without a newline is still a record; -v reports.
    let out = t
        .klog()
        .args(["produce", "auto", "-p", "1", "-v"])
        .write_stdin("p1-a\n\np1-c")
        .output()
        .expect("run");
    assert!(out.status.success());
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("3 records"), "{summary}");
    assert_eq!(t.consume("auto", &["-p", "1"]), ["p1-a", "", "p1-c"]);
}

#[test]
fn produce_reads_files_and_dash_for_stdin() {
    let t = TestDir::new();
    let f1 = t.root().join("one.txt");
    let f2 = t.root().join("two.txt");
    std::fs::write(&f1, "1a\n1b\n").expect("write");
    std::fs::write(&f2, "2a\n2b").expect("write");
    let out = t
        .klog()
        .args(["-q", "produce", "files"])
        .arg(&f1)
        .arg("-")
        .arg(&f2)
        .write_stdin("in-a\nin-b\n")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(
        t.consume("files", &[]),
        ["1a", "1b", "in-a", "in-b", "2a", "2b"]
    );

    // A missing file is a runtime error naming it.
    let missing = t.root().join("missing.txt");
    let out = t
        .klog()
        .args(["produce", "files"])
        .arg(&missing)
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert!(err.contains("missing.txt"), "{err}");
    assert_eq!(t.consume("files", &[]).len(), 6);
}

#[test]
fn produce_to_a_missing_partition_of_a_new_topic_creates_nothing() {
    let t = TestDir::new();
    let out = t
        .klog()
        .args(["produce", "new", "-p", "3"])
        .write_stdin("x\n")
        .output()
        .expect("run");
    assert_error(&out, 2);
    assert!(
        !has_meta(t.data(), "new") && !t.partition_dir("new", 0).exists(),
        "a refused produce created the topic"
    );
}
