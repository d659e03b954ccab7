//! `klog topics create|list|describe|alter|delete`, names and configs.

use std::fs;

use serde_json::Value;

use crate::util::{TestDir, assert_error, has_meta, segment_bases, segment_file};

/// The entry named `name` in a `topics list --json` or `configs` array.
fn named<'a>(arr: &'a Value, name: &str) -> &'a Value {
    arr.as_array()
        .expect("array")
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {arr}"))
}

/// A config of a `topics describe --json` document: (value, default).
fn config(d: &Value, name: &str) -> (String, bool) {
    let c = named(&d["configs"], name);
    let value = c["value"].as_str().expect("value is a string").to_string();
    (value, c["default"].as_bool().expect("default is a bool"))
}

/// Names of everything directly in the data directory (empty if it does not exist).
/// The data directory's entries, without Kafka's checkpoint files (checked elsewhere).
fn entries(t: &TestDir) -> Vec<String> {
    let Ok(rd) = fs::read_dir(t.data()) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-checkpoint"))
        .collect();
    v.sort();
    v
}

/// Sum of the `.log` sizes of a partition directory.
fn log_bytes(t: &TestDir, topic: &str, p: u32) -> u64 {
    let dir = t.partition_dir(topic, p);
    segment_bases(&dir)
        .iter()
        .map(|&b| crate::util::file_len(&segment_file(&dir, b, ".log")))
        .sum()
}

#[test]
fn create_list_describe() {
    let t = TestDir::new();
    assert_eq!(
        t.list(),
        serde_json::json!([]),
        "no data dir yet: no topics"
    );
    t.ok(&[
        "topics",
        "create",
        "orders",
        "-p",
        "3",
        "-c",
        "retention.ms=3600000",
        "--config",
        "cleanup.policy=compact",
    ]);
    t.ok(&["topics", "create", "plain"]);
    assert!(has_meta(t.data(), "orders"));
    for p in 0..3 {
        assert!(t.partition_dir("orders", p).is_dir());
    }

    let list = t.list();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let o = named(&list, "orders");
    assert_eq!(o["partitions"], 3);
    assert_eq!(o["records"], 0);
    assert_eq!(o["size_bytes"], 0);
    assert_eq!(o["retention_ms"], 3_600_000);
    assert_eq!(o["cleanup_policy"], "compact");
    let p = named(&list, "plain");
    assert_eq!(p["partitions"], 1);
    assert_eq!(p["retention_ms"], 604_800_000, "Kafka's default retention");
    assert_eq!(p["cleanup_policy"], "delete");

    // Records and sizes show up in list and describe.
    t.produce("orders", "a\nb\nc\n", &["-p", "1"]);
    t.produce("orders", "d\ne\n", &["-p", "2"]);
    let list = t.list();
    let o = named(&list, "orders");
    assert_eq!(o["records"], 5);
    let on_disk: u64 = (0..3).map(|p| log_bytes(&t, "orders", p)).sum();
    assert!(on_disk > 0);
    assert_eq!(o["size_bytes"].as_u64(), Some(on_disk));

    let d = t.describe("orders");
    assert_eq!(d["name"], "orders");
    let parts = d["partitions"].as_array().expect("partitions");
    let want = [(0, 0), (1, 3), (2, 2)];
    assert_eq!(parts.len(), want.len());
    for (p, (n, records)) in parts.iter().zip(want) {
        assert_eq!(p["partition"], n);
        assert_eq!(p["log_start_offset"], 0);
        assert_eq!(p["log_end_offset"], records);
        assert_eq!(p["records"], records);
        assert_eq!(p["size_bytes"].as_u64(), Some(log_bytes(&t, "orders", n)));
    }
    assert_eq!(config(&d, "retention.ms"), ("3600000".into(), false));
    assert_eq!(config(&d, "cleanup.policy"), ("compact".into(), false));
    assert_eq!(config(&d, "segment.bytes"), ("1073741824".into(), true));
    assert_eq!(config(&d, "max.message.bytes"), ("1048588".into(), true));
    let configs = &d["configs"];
    let overridden: Vec<&Value> = configs
        .as_array()
        .expect("configs")
        .iter()
        .filter(|c| c["default"] == false)
        .collect();
    assert_eq!(
        overridden.len(),
        2,
        "only the two -c configs are overrides: {configs}"
    );

    // Creating it again fails (1), unless --if-not-exists; nothing changes either way.
    let before = fs::read(t.data().join("klog-topics.json")).expect("meta");
    let out = t.run(&["topics", "create", "orders", "-p", "7"]);
    let err = assert_error(&out, 1);
    assert!(err.contains("'orders'") && err.contains("exists"), "{err}");
    t.ok(&["topics", "create", "orders", "-p", "7", "--if-not-exists"]);
    assert_eq!(
        fs::read(t.data().join("klog-topics.json")).expect("meta"),
        before
    );

    // Human-readable forms work too.
    let table = t.ok(&["topics", "list"]);
    assert!(
        table.contains("orders") && table.contains("plain"),
        "{table}"
    );
    let table = t.ok(&["topics", "describe", "orders"]);
    assert!(table.contains("retention.ms"), "{table}");
}

#[test]
fn alter_grows_partitions_and_changes_configs() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "t",
        "-p",
        "2",
        "-c",
        "retention.ms=1000",
    ]);
    t.produce("t", "x\ny\n", &["-p", "1"]);

    t.ok(&["topics", "alter", "t", "--partitions", "4"]);
    let d = t.describe("t");
    assert_eq!(d["partitions"].as_array().map(Vec::len), Some(4));
    assert!(t.partition_dir("t", 3).is_dir());
    assert_eq!(d["partitions"][1]["records"], 2, "data survives the alter");
    assert_eq!(t.consume("t", &["-p", "1"]), ["x", "y"]);

    // Shrinking is refused and changes nothing.
    let meta = fs::read(t.data().join("klog-topics.json")).expect("meta");
    let out = t.run(&["topics", "alter", "t", "--partitions", "3"]);
    assert_ne!(out.status.code(), Some(0));
    let err = assert_error(&out, out.status.code().unwrap_or(-1));
    assert!(err.contains("grow"), "{err}");
    assert_eq!(
        fs::read(t.data().join("klog-topics.json")).expect("meta"),
        meta
    );
    assert!(t.partition_dir("t", 3).is_dir());
    assert_eq!(
        t.describe("t")["partitions"].as_array().map(Vec::len),
        Some(4)
    );

    // Set one config, reset another to its default.
    t.ok(&[
        "topics",
        "alter",
        "t",
        "-c",
        "segment.bytes=1048576",
        "--delete-config",
        "retention.ms",
    ]);
    let d = t.describe("t");
    assert_eq!(config(&d, "segment.bytes"), ("1048576".into(), false));
    assert_eq!(config(&d, "retention.ms"), ("604800000".into(), true));

    // Bad alters: exit 2, nothing written.
    let meta = fs::read(t.data().join("klog-topics.json")).expect("meta");
    for args in [
        &["topics", "alter", "t", "-c", "segment.bytes=huge"][..],
        &["topics", "alter", "t", "-c", "no.such=1"],
        &["topics", "alter", "t", "--delete-config", "no.such"],
        &["topics", "alter", "t"],
    ] {
        let out = t.run(args);
        assert_error(&out, 2);
        assert_eq!(
            fs::read(t.data().join("klog-topics.json")).expect("meta"),
            meta,
            "{args:?}"
        );
    }
    let out = t.run(&["topics", "alter", "missing", "--partitions", "2"]);
    assert_error(&out, 1);
}

#[test]
fn bad_configs_are_usage_errors_listing_valid_keys() {
    let t = TestDir::new();
    let out = t.run(&["topics", "create", "t", "-c", "retention.hours=1"]);
    let err = assert_error(&out, 2);
    assert!(err.contains("retention.hours"), "names the bad key: {err}");
    for valid in [
        "segment.bytes",
        "segment.ms",
        "retention.ms",
        "retention.bytes",
        "cleanup.policy",
        "max.message.bytes",
    ] {
        assert!(err.contains(valid), "lists {valid}: {err}");
    }
    for (kv, expect) in [
        ("segment.bytes=abc", "abc"),
        ("segment.bytes=13", "13"),
        ("cleanup.policy=sometimes", "compact"),
        ("message.timestamp.type=Now", "LogAppendTime"),
        ("retention.ms=-5", "-5"),
        ("novalue", "KEY=VALUE"),
    ] {
        let out = t.run(&["topics", "create", "t", "-c", kv]);
        let err = assert_error(&out, 2);
        assert!(err.contains(expect), "{kv}: {err}");
    }
    assert_eq!(entries(&t), Vec::<String>::new(), "nothing created");
}

#[test]
fn bad_topic_names_are_usage_errors_and_create_nothing() {
    let t = TestDir::new();
    let long = "x".repeat(250);
    for name in ["a/b", "..", ".", &long, "", "a b", "naïve", "../escape"] {
        for args in [
            vec!["topics", "create", name],
            vec!["produce", name],
            vec!["consume", name],
            vec!["topics", "describe", name],
        ] {
            let out = t
                .klog()
                .args(&args)
                .write_stdin("r\n")
                .output()
                .expect("run");
            let err = assert_error(&out, 2);
            assert!(err.contains("topic name"), "{args:?}: {err}");
        }
    }
    assert_eq!(
        entries(&t),
        Vec::<String>::new(),
        "nothing created in the data dir"
    );
    assert!(!t.root().join("klog-topics.json").exists());
    // Legal names with every allowed character class.
    t.ok(&["topics", "create", "Az09._-"]);
    assert_eq!(entries(&t), ["Az09._--0", "klog-topics.json"]);
    assert_eq!(t.list()[0]["name"], "Az09._-");
}

#[test]
fn longest_legal_topic_name_works() {
    let t = TestDir::new();
    let name = "y".repeat(249);
    let out = t.run(&["topics", "create", &name]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.produce(&name, "r\n", &[]);
    assert_eq!(t.consume(&name, &[]), ["r"]);
    t.ok(&["topics", "delete", &name]);
    assert_eq!(
        entries(&t),
        ["klog-topics.json"],
        "only the (now empty) metadata file is left"
    );
    assert!(!has_meta(t.data(), &name));
}

#[test]
fn delete_removes_directories_and_metadata() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "a", "-p", "2"]);
    t.ok(&["topics", "create", "b"]);
    t.ok(&["topics", "create", "keep"]);
    t.produce("a", "1\n2\n", &[]);
    t.produce("keep", "k\n", &[]);

    // A missing name among them: nothing is deleted.
    let out = t.run(&["topics", "delete", "a", "missing"]);
    let err = assert_error(&out, 1);
    assert!(err.contains("'missing'"), "{err}");
    assert!(t.partition_dir("a", 0).is_dir() && has_meta(t.data(), "a"));

    t.ok(&["topics", "delete", "a", "b"]);
    assert_eq!(entries(&t), ["keep-0", "klog-topics.json"]);
    let list = t.list();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["name"], "keep");
    assert_eq!(t.consume("keep", &[]), ["k"]);

    // Deleted means gone: consuming it is an error, creating it again starts empty.
    assert_error(&t.run(&["consume", "a"]), 1);
    t.ok(&["topics", "create", "a"]);
    assert_eq!(t.consume("a", &[]), Vec::<String>::new());
}

#[test]
fn unknown_topic_is_a_runtime_error_with_a_hint() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "exists"]);
    for args in [
        &["consume", "ghost"][..],
        &["topics", "describe", "ghost"],
        &["topics", "delete", "ghost"],
    ] {
        let out = t.run(args);
        let err = assert_error(&out, 1);
        let ls: Vec<&str> = err.lines().collect();
        assert_eq!(ls.len(), 2, "error and hint: {err}");
        assert!(ls[0].contains("'ghost'"), "{err}");
        assert!(ls[1].starts_with("hint: "), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn topics_without_metadata_are_read_from_their_directories() {
    // Like a Kafka broker's log.dirs: partition directories, no klog metadata.
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "broker-topic",
        "-p",
        "3",
        "-c",
        "retention.ms=1000",
    ]);
    t.produce("broker-topic", "a\nb\n", &["-p", "0"]);
    t.produce("broker-topic", "c\n", &["-p", "2"]);
    fs::remove_file(t.data().join("klog-topics.json")).expect("remove metadata");

    let list = t.list();
    let bt = named(&list, "broker-topic");
    assert_eq!(bt["partitions"], 3);
    assert_eq!(bt["records"], 3);
    assert_eq!(
        bt["retention_ms"], 604_800_000,
        "default configs without metadata"
    );
    let d = t.describe("broker-topic");
    assert_eq!(d["partitions"][0]["log_end_offset"], 2);
    assert_eq!(d["partitions"][2]["log_end_offset"], 1);
    assert_eq!(config(&d, "retention.ms"), ("604800000".into(), true));
    assert_eq!(t.consume("broker-topic", &[]), ["a", "b", "c"]);
    assert_eq!(t.consume("broker-topic", &["-p", "2"]), ["c"]);
}

#[test]
fn partition_count_out_of_range_is_a_usage_error() {
    let t = TestDir::new();
    let mut codes = Vec::new();
    for p in ["0", "10001"] {
        let out = t.run(&["topics", "create", "t", "-p", p]);
        assert!(!out.status.success());
        let code = out.status.code().unwrap_or(-1);
        let err = assert_error(&out, code);
        assert!(err.contains(p), "{err}");
        codes.push(code);
    }
    let out = t
        .klog()
        .args(["produce", "t", "--partitions", "0"])
        .write_stdin("x\n")
        .output();
    let out = out.expect("run");
    assert!(!out.status.success());
    codes.push(out.status.code().unwrap_or(-1));
    assert_eq!(entries(&t), Vec::<String>::new(), "nothing created");
    assert_eq!(
        codes,
        [2, 2, 2],
        "exit codes of -p 0, -p 10001, --partitions 0"
    );
}
