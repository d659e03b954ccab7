//! Records `produce` refuses, named by input and line, the lines before them kept: invalid
//! JSON, unknown or duplicate JSON fields, a partition out of range, a record over
//! `max.message.bytes`; and `--skip-invalid`, which reports each and goes on.

use std::io::Write;

use crate::util::{TestDir, assert_error};

use crate::pipes::*;

#[test]
fn invalid_json_names_its_line_and_keeps_the_lines_before() {
    let t = TestDir::new();
    let input = "{\"value\":\"one\"}\n{\"value\":\"two\"}\n{\"value\": \n{\"value\":\"four\"}\n";
    let out = produce_run(&t, "bad", &["-q", "--json"], input);
    let err = assert_error(&out, 1);
    assert!(err.contains("stdin: line 3"), "{err}");
    assert!(err.to_lowercase().contains("json"), "{err}");
    assert_eq!(t.consume("bad", &[]), ["one", "two"]);

    // From a file, the file is named.
    let f = write_file(t.root(), "in.jsonl", input.as_bytes());
    let out = t
        .klog()
        .args(["-q", "produce", "bad2", "--json"])
        .arg(&f)
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert!(err.contains("in.jsonl: line 3"), "{err}");
    assert_eq!(t.consume("bad2", &[]), ["one", "two"]);

    // Not the record shape: a number as value, bad base64, a header without a value.
    for (bad, what) in [
        (r#"{"value": 1}"#, "value"),
        (r#"{"value": {"base64": "!!"}}"#, "base64"),
        (r#"{"headers": [["h"]]}"#, "header"),
        (r#"{"timestamp": -5}"#, "timestamp"),
        (r#"[1, 2]"#, "object"),
    ] {
        let input = format!("{{\"value\":\"ok\"}}\n{bad}\n");
        let out = produce_run(&t, "shape", &["-q", "--json"], input);
        let err = assert_error(&out, 1);
        assert!(err.contains("stdin: line 2"), "{bad}: {err}");
        assert!(err.contains(what), "{bad}: {err}");
    }
    assert_eq!(t.consume("shape", &[]), ["ok"; 5]);
}

#[test]
fn a_json_partition_out_of_range_names_its_line() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "two", "-p", "2"]);
    let input =
        "{\"value\":\"a\",\"partition\":1}\n{\"value\":\"b\",\"partition\":5}\n{\"value\":\"c\"}\n";
    let out = produce_run(&t, "two", &["--json"], input);
    let err = assert_error(&out, 1);
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("partition 5"), "{err}");
    assert_eq!(t.consume("two", &[]), ["a"]);
}

#[test]
fn a_record_over_max_message_bytes_names_its_line_and_keeps_the_lines_before() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "small", "-c", "max.message.bytes=1000"]);
    let input = format!("first\n{}\nafter\n", "x".repeat(2000));
    let out = produce_run(&t, "small", &[], input);
    let err = assert_error(&out, 1);
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("max.message.bytes"), "{err}");
    assert_eq!(t.consume("small", &[]), ["first"]);
    // Just below the limit is fine.
    t.produce("small", format!("{}\n", "y".repeat(900)), &["-q"]);
    assert_eq!(t.consume("small", &[]).len(), 2);

    // A too-long line that straddles the 1 MiB read chunk boundary: line numbers still count.
    let mut f = Vec::new();
    for i in 0..10_465 {
        writeln!(f, "{i:099}").expect("write"); // 100 bytes each
    }
    assert_eq!(f.len(), 1_046_500);
    f.extend_from_slice(&[b'z'; 3000]); // line 10466, crosses 1048576
    f.extend_from_slice(b"\nlast\n");
    let path = write_file(t.root(), "long.txt", &f);
    t.ok(&["topics", "create", "small2", "-c", "max.message.bytes=1000"]);
    let out = t
        .klog()
        .args(["produce", "small2"])
        .arg(&path)
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert!(err.contains("long.txt: line 10466"), "{err}");
    assert!(err.contains("max.message.bytes"), "{err}");
    assert_eq!(t.consume("small2", &["-F", r"%o\n"]).len(), 10_465);
}

#[test]
fn skip_invalid_reports_each_bad_line_and_writes_the_good_ones() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "sk",
        "-p",
        "2",
        "-c",
        "max.message.bytes=1000",
    ]);
    let big = format!("{{\"value\":\"{}\"}}", "x".repeat(2000));
    let input = [
        r#"{"value":"g1"}"#,
        r#"{"value": nope}"#,
        r#"{"value":"g2","partition":1}"#,
        r#"{"value":"b","partition":9}"#,
        &big,
        r#"{"value":"g3"}"#,
        r#"{"value":{"base64":"%%"}}"#,
        r#"{"value":"g4"}"#,
    ]
    .join("\n");
    let out = produce_run(&t, "sk", &["--json", "--skip-invalid"], input);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    for n in [2, 4, 5, 7] {
        assert!(
            stderr.lines().any(
                |l| l.starts_with("klog: skipped ") && l.contains(&format!("stdin: line {n}:"))
            ),
            "line {n} not reported: {stderr}"
        );
    }
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("klog: skipped stdin:"))
            .count(),
        4,
        "{stderr}"
    );
    let mut got = t.consume("sk", &[]);
    got.sort_unstable();
    assert_eq!(got, ["g1", "g2", "g3", "g4"]);
    assert_eq!(t.consume("sk", &["-p", "1"]), ["g2"]);

    // Text lines too long for the topic, read from a file in one chunk.
    let mut f = Vec::new();
    f.extend_from_slice(b"t1\n");
    f.extend_from_slice(&[b'y'; 3000]);
    f.extend_from_slice(b"\nt2\n");
    let path = write_file(t.root(), "text.txt", &f);
    t.ok(&["topics", "create", "sk2", "-c", "max.message.bytes=1000"]);
    let out = t
        .klog()
        .args(["produce", "sk2", "--skip-invalid"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("skipped") && stderr.contains("text.txt: line 2"),
        "{stderr}"
    );
    assert_eq!(t.consume("sk2", &[]), ["t1", "t2"]);
}

#[test]
fn skip_invalid_skips_a_too_long_line_that_crosses_a_read_chunk() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "sk3", "-c", "max.message.bytes=1000"]);
    // 10465 lines of 100 bytes, then a 3000-byte line starting 2076 bytes before the 1 MiB
    // read chunk ends: klog sees more than max.message.bytes without a delimiter.
    let mut f = Vec::new();
    for i in 0..10_465 {
        writeln!(f, "{i:099}").expect("write");
    }
    f.extend_from_slice(&[b'z'; 3000]);
    f.extend_from_slice(b"\nlast\n");
    let path = write_file(t.root(), "long.txt", &f);
    let out = t
        .klog()
        .args(["produce", "sk3", "--skip-invalid"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("klog: skipped") && stderr.contains("long.txt: line 10466"),
        "{stderr}"
    );
    let got = t.consume("sk3", &[]);
    assert_eq!(got.len(), 10_466, "every line but the long one");
    assert_eq!(got.last().map(String::as_str), Some("last"));
}

#[test]
fn skip_invalid_skips_a_raw_input_over_max_message_bytes() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "rw", "-c", "max.message.bytes=1000"]);
    let big = write_file(t.root(), "big.bin", &[0xab; 2000]);
    let small = write_file(t.root(), "small.txt", b"ok\n");
    let out = t
        .klog()
        .args(["produce", "rw", "--raw", "--skip-invalid"])
        .arg(&big)
        .arg(&small)
        .output()
        .expect("run");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("klog: skipped") && stderr.contains("big.bin"),
        "{stderr}"
    );
    assert_eq!(consume_bytes(&t, "rw", &["-F", "%s"]), b"ok\n");
}

#[test]
fn errors_count_lines_from_the_start_of_each_input() {
    let t = TestDir::new();
    let a = write_file(
        t.root(),
        "a.jsonl",
        b"{\"value\":\"a1\"}\n{\"value\":\"a2\"}\n{\"value\":\"a3\"}\n",
    );
    let b = write_file(t.root(), "b.jsonl", b"{\"value\":\"b1\"}\n{bad\n");
    let out = t
        .klog()
        .args(["-q", "produce", "j", "--json"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert_eq!(t.consume("j", &[]), ["a1", "a2", "a3", "b1"]);
    assert!(err.contains("b.jsonl: line 2:"), "{err}");

    // The same for what --skip-invalid reports.
    t.ok(&["topics", "create", "s", "-c", "max.message.bytes=1000"]);
    let a = write_file(t.root(), "a.txt", b"a1\na2\na3\n");
    let mut text = b"b1\n".to_vec();
    text.extend_from_slice(&[b'x'; 2000]);
    text.extend_from_slice(b"\nb3\n");
    let b = write_file(t.root(), "b.txt", &text);
    let out = t
        .klog()
        .args(["-q", "produce", "s", "--skip-invalid"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(t.consume("s", &[]), ["a1", "a2", "a3", "b1", "b3"]);
    assert!(stderr.contains("b.txt: line 2:"), "{stderr}");
}

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
