//! What klog's tables and notes say, as a reader takes them: retention limits shown as set, a
//! dry run that says what it would do, counts with the right number, config errors that say
//! what is wrong.

use crate::util::{TestDir, assert_error};

/// The RETENTION cell of `topics list` for each topic, by name.
fn retention_cells(t: &TestDir) -> Vec<(String, String)> {
    let out = t.ok(&["topics", "list"]);
    let mut lines = out.lines();
    let header = lines.next().expect("header");
    let start = header.find("RETENTION").expect("RETENTION column");
    let end = header.find("CLEANUP").expect("CLEANUP column");
    lines
        .map(|l| {
            let name = l.split_whitespace().next().expect("name").to_string();
            (name, l[start..end].trim().to_string())
        })
        .collect()
}

/// A topic with only `retention.bytes` set showed `unlimited`: the column shows both limits.
#[test]
fn regression_topics_list_shows_both_retention_limits() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "by-size", "-c", "retention.ms=-1"]);
    t.ok(&[
        "topics",
        "alter",
        "by-size",
        "-c",
        "retention.bytes=1048576",
    ]);
    t.ok(&[
        "topics",
        "create",
        "both",
        "-c",
        "retention.bytes=1073741824",
    ]);
    t.ok(&["topics", "create", "by-time"]);
    t.ok(&["topics", "create", "forever", "-c", "retention.ms=-1"]);
    assert_eq!(
        retention_cells(&t),
        [
            ("both".to_string(), "7d, 1.0 GiB".to_string()),
            ("by-size".to_string(), "1.0 MiB".to_string()),
            ("by-time".to_string(), "7d".to_string()),
            ("forever".to_string(), "unlimited".to_string()),
        ]
    );
}

/// `clean --dry-run` printed "deleted segment …" and "compacted" for what it left alone.
#[test]
fn regression_clean_dry_run_says_would() {
    let t = TestDir::new();
    // Several closed segments beyond retention.bytes=0.
    t.ok(&[
        "topics",
        "create",
        "sized",
        "-c",
        "segment.bytes=2000",
        "-c",
        "retention.bytes=0",
    ]);
    let lines: String = (0..200)
        .map(|i| format!("record number {i:05}\n"))
        .collect();
    // Retention also runs when a segment rolls; drop it only after producing.
    t.ok(&["topics", "alter", "sized", "-c", "retention.bytes=-1"]);
    t.produce("sized", lines, &[]);
    t.ok(&["topics", "alter", "sized", "-c", "retention.bytes=0"]);
    // Keys written twice, in a closed segment: compaction has work.
    t.ok(&[
        "topics",
        "create",
        "compacted",
        "-c",
        "cleanup.policy=compact",
        "-c",
        "min.cleanable.dirty.ratio=0.01",
    ]);
    t.produce(
        "compacted",
        "a:1\nb:1\na:2\nb:2\nc:NULL\n",
        &["-K", ":", "--null-marker", "NULL"],
    );
    t.ok(&["segments", "roll", "compacted"]);
    t.produce("compacted", "d:1\n", &["-K", ":"]);

    let dry = t.ok(&["clean", "--dry-run"]);
    let rows: Vec<&str> = dry.lines().skip(1).collect();
    assert!(!rows.is_empty(), "{dry}");
    for r in &rows {
        assert!(
            r.contains("would delete segment ") || r.contains("would compact"),
            "{dry}"
        );
        assert!(
            !r.contains(" deleted segment ") && !r.contains(" compacted "),
            "{dry}"
        );
    }
    assert!(
        rows.iter()
            .any(|r| r.contains("would compact") && r.contains("to remove")),
        "{dry}"
    );
    let done = t.ok(&["clean"]);
    assert!(done.contains(" deleted segment "), "{done}");
    assert!(
        done.contains(" compacted ") && done.contains(" removed ("),
        "{done}"
    );
    assert!(!done.contains("would"), "{done}");
}

/// Counts of one read "1 partition", not "1 partitions", in every note.
#[test]
fn regression_counts_of_one_are_singular() {
    let t = TestDir::new();
    let out = t.run(&["topics", "create", "one"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("with 1 partition in "), "{err}");
    let out = t.run(&["topics", "alter", "one", "-c", "retention.ms=1000"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("altered topic 'one' (1 partition)"), "{err}");
    let out = t.run(&["topics", "alter", "one", "-p", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("altered topic 'one' (2 partitions)"), "{err}");
    let out = t
        .klog()
        .args(["produce", "auto"])
        .write_stdin("x\n")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("created topic 'auto' with 1 partition (default configs)"),
        "{err}"
    );
    let out = t
        .klog()
        .args(["produce", "auto", "--json", "--skip-invalid"])
        .write_stdin("{\"value\":\"ok\"}\nnot json\n")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped 1 invalid record\n"), "{err}");
    let err = assert_error(
        &t.run(&[
            "groups",
            "reset",
            "g",
            "--topic",
            "one",
            "--to-offset",
            "-1",
        ]),
        2,
    );
    assert!(err.contains("back by 1 record)"), "{err}");
    for out in [
        t.run(&["topics", "list"]),
        t.run(&["topics", "describe", "one"]),
    ] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains(" 1 partitions") && !all.contains(" 1 records"),
            "{all}"
        );
    }
}

/// `--delete-config nonexist.key` said "invalid config nonexist.key=": it says the key is
/// unknown and lists the valid ones, as `-c` does.
#[test]
fn regression_delete_config_of_an_unknown_key_says_unknown() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t"]);
    let err = assert_error(
        &t.run(&["topics", "alter", "t", "--delete-config", "nonexist.key"]),
        2,
    );
    assert!(
        err.contains("cannot delete unknown config 'nonexist.key'; valid ones are "),
        "{err}"
    );
    assert!(
        err.contains("retention.ms") && err.contains("cleanup.policy"),
        "{err}"
    );
    assert!(!err.contains("nonexist.key="), "{err}");
    // A known key without an override is fine.
    t.ok(&["topics", "alter", "t", "--delete-config", "retention.ms"]);
}
