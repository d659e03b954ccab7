//! The topic `produce` writes to and what it checks before creating or writing anything:
//! missing topics created unless `--no-create`, `--partitions` and `--partition` against the
//! topic, input files opened first; and the `-v` summary of what was written.

use std::fs;

use crate::util::{TestDir, assert_error, has_meta};

use crate::pipes::*;

#[test]
fn no_create_refuses_a_missing_topic_and_creates_nothing() {
    let t = TestDir::new();
    for args in [
        &["--no-create"][..],
        &["--no-create", "--json"],
        &["--no-create", "--raw"],
    ] {
        let out = produce_run(&t, "missing", args, "{\"value\":\"x\"}\n");
        let err = assert_error(&out, 1);
        assert!(err.contains("'missing'"), "{args:?}: {err}");
        assert!(!has_meta(t.data(), "missing"), "{args:?}");
        assert!(!t.partition_dir("missing", 0).exists(), "{args:?}");
    }
    assert_eq!(t.list().as_array().map(Vec::len).unwrap_or(0), 0);
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
