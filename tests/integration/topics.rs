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

// ---------------------------------------------------------------------------------------------
// A Kafka broker's lock
// ---------------------------------------------------------------------------------------------

/// Environment variable that makes [`broker_lock_holder`] act: the path of the `.lock` to lock.
const HOLD_LOCK: &str = "KLOG_TEST_BROKER_LOCK";

/// `fcntl(F_SETLK)` on the whole of `file`, as the JVM's `FileChannel.tryLock` locks a
/// broker's `.lock` (a process-associated POSIX lock, independent of `flock`).
fn fcntl_setlk(file: &fs::File, kind: libc::c_int) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed `flock` is a valid value of this plain C struct; `fcntl` gets a
    // descriptor `file` keeps open and a pointer to that local struct, used only in the call.
    #[allow(unsafe_code)]
    let r = unsafe {
        let mut fl: libc::flock = std::mem::zeroed();
        fl.l_type = kind as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &mut fl as *mut libc::flock)
    };
    if r == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Not a test of its own: the "broker" of [`writing_commands_refuse_a_directory_a_broker_has_locked`],
/// run in a child process (this test binary again) when [`HOLD_LOCK`] is set. Mode `hold`:
/// takes an exclusive `fcntl` lock on the file, prints `locked` and keeps it until stdin
/// closes. Mode `try`: prints whether it could take that lock (`got` or `busy`) and exits.
#[test]
fn broker_lock_holder() {
    let Ok(spec) = std::env::var(HOLD_LOCK) else {
        return;
    };
    let (mode, path) = spec.split_once(':').expect("MODE:PATH");
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open .lock");
    let got = fcntl_setlk(&f, libc::F_WRLCK);
    if mode == "try" {
        println!("{}", if got.is_ok() { "got" } else { "busy" });
        return;
    }
    got.expect("lock .lock");
    println!("locked");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut rest);
}

/// Runs [`broker_lock_holder`] in a child process in `mode` on `lock`.
fn lock_child(mode: &str, lock: &std::path::Path) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "topics::broker_lock_holder", "--nocapture"])
        .args(["--test-threads", "1", "-q"])
        .env(HOLD_LOCK, format!("{mode}:{}", lock.display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the lock holder")
}

/// Reads the child's stdout until a line that is one of `words`; returns it.
fn wait_for_word(child: &mut std::process::Child, words: &[&str]) -> String {
    use std::io::BufRead;
    let out = child.stdout.as_mut().expect("stdout");
    let mut lines = std::io::BufReader::new(out).lines();
    loop {
        let line = lines
            .next()
            .expect("the lock holder ended early")
            .expect("read");
        if words.contains(&line.trim()) {
            return line.trim().to_string();
        }
    }
}

/// Every file and directory under `root` with its size and modification time.
fn listing(root: &std::path::Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read dir") {
            let e = e.expect("entry");
            let m = e.metadata().expect("stat");
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((
                e.path().display().to_string(),
                m.len(),
                m.modified().expect("mtime"),
            ));
        }
    }
    out.sort();
    out
}

/// A broker holds its log directory's `.lock` with an `fcntl` lock while it runs. Before,
/// klog ignored it: `produce` appended to a live broker's partitions (and `clean`, `trim`,
/// `topics delete` … changed them under it). Every writing command now refuses with one line
/// naming the lock, changing nothing; reading commands still work; and a klog writer that
/// holds the directory keeps a broker from locking it.
#[test]
fn writing_commands_refuse_a_directory_a_broker_has_locked() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "2"]);
    t.produce("t", "a\nb\nc\n", &["-p", "0"]);
    // Garbage after partition 1's last batch: damage that `--repair` would cut.
    let p1 = t.partition_dir("t", 1);
    fs::write(segment_file(&p1, 0, ".log"), [0u8; 20]).expect("damage partition 1");
    let lock = t.data().join(".lock");
    fs::write(&lock, b"").expect("create .lock");

    let mut broker = lock_child("hold", &lock);
    assert_eq!(wait_for_word(&mut broker, &["locked"]), "locked");
    let before = listing(t.data());

    let writing: &[&[&str]] = &[
        &["produce", "t"],
        &["topics", "create", "u"],
        &["topics", "alter", "t", "-c", "retention.ms=1000"],
        &["topics", "delete", "t"],
        &["clean"],
        &["trim", "t", "--before", "1", "-p", "0"],
        &["segments", "roll", "t"],
        &["segments", "verify", "t", "--repair"],
        &["consume", "t", "--group", "g"],
        &["groups", "reset", "g", "--topic", "t", "--to-earliest"],
        &["groups", "delete", "g"],
    ];
    for args in writing {
        let out = t
            .klog()
            .args(*args)
            .write_stdin("x\n")
            .output()
            .expect("run");
        let err = assert_error(&out, 1);
        assert!(
            err.contains(&lock.display().to_string()) && err.contains("Kafka broker"),
            "{args:?}: {err}"
        );
    }
    // The damaged partition given by path to `--repair`, from another data directory.
    let elsewhere = t.root().join("elsewhere");
    let out = crate::util::klog_at(&elsewhere)
        .args([
            "segments",
            "verify",
            p1.to_str().expect("utf-8"),
            "--repair",
        ])
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert!(err.contains("Kafka broker"), "{err}");
    assert_eq!(
        listing(t.data()),
        before,
        "nothing changed under the broker"
    );

    // Reading works while the broker runs.
    assert_eq!(t.consume("t", &[]), ["a", "b", "c"]);
    assert_eq!(t.list()[0]["name"], "t");
    t.ok(&["topics", "describe", "t"]);
    t.ok(&["segments", "list", "t", "-p", "0"]);
    t.ok(&["segments", "dump", "t", "-p", "0", "--records"]);
    assert_eq!(t.run(&["segments", "verify", "t"]).status.code(), Some(3));
    t.ok(&["groups", "list"]);
    t.ok(&["clean", "--dry-run"]);
    assert_eq!(listing(t.data()), before, "reading changed nothing");

    // The broker stops: writing works again.
    drop(broker.stdin.take());
    assert!(broker.wait().expect("wait").success());
    t.produce("t", "d\n", &["-p", "0"]);
    assert_eq!(t.consume("t", &[]), ["a", "b", "c", "d"]);

    // A running klog writer keeps a broker from taking the lock.
    let mut producer = t
        .klog_std()
        .args(["produce", "t", "-p", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn produce");
    {
        use std::io::Write;
        let stdin = producer.stdin.as_mut().expect("stdin");
        stdin.write_all(b"e\n").expect("write");
        stdin.flush().expect("flush");
    }
    crate::util::wait_until("the producer's record is readable", || {
        t.consume("t", &["-p", "1"]) == ["e"]
    });
    let mut attempt = lock_child("try", &lock);
    assert_eq!(wait_for_word(&mut attempt, &["got", "busy"]), "busy");
    assert!(attempt.wait().expect("wait").success());
    drop(producer.stdin.take());
    assert!(producer.wait().expect("wait").success());
    let mut attempt = lock_child("try", &lock);
    assert_eq!(wait_for_word(&mut attempt, &["got", "busy"]), "got");
    assert!(attempt.wait().expect("wait").success());
}

// ---------------------------------------------------------------------------------------------
// Damaged metadata, interrupted deletes
// ---------------------------------------------------------------------------------------------

/// A `klog-topics.json` that does not parse stopped every command, reading ones included,
/// although readers need no metadata. Now reading commands warn (naming the file, with a
/// hint) and read the partition directories with default configs; writing commands refuse
/// with one error line naming the file, and write nothing.
#[test]
fn regression_a_corrupt_metadata_file_does_not_stop_reading() {
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
    t.produce("t", "a\nb\n", &["-p", "1"]);
    let meta = t.data().join("klog-topics.json");
    fs::write(&meta, b"{\"version\": 1, \"topics\": {\"t\": {").expect("damage");
    let before = listing(t.data());

    let out = t.run(&["topics", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = crate::util::json(&String::from_utf8_lossy(&out.stdout));
    let tt = named(&list, "t");
    assert_eq!(tt["partitions"], 2);
    assert_eq!(tt["records"], 2);
    assert_eq!(tt["retention_ms"], 604_800_000, "default configs meanwhile");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ls: Vec<&str> = stderr.lines().collect();
    assert_eq!(ls.len(), 2, "a warning and a hint: {stderr}");
    assert!(
        ls[0].starts_with("klog: warning: ") && ls[0].contains(&meta.display().to_string()),
        "{stderr}"
    );
    assert!(ls[1].starts_with("hint: "), "{stderr}");
    assert_eq!(t.consume("t", &[]), ["a", "b"]);
    t.ok(&["topics", "describe", "t"]);
    t.ok(&["segments", "list", "t"]);
    assert_eq!(listing(t.data()), before, "reading wrote nothing");

    for args in [
        &["produce", "t"][..],
        &["topics", "create", "u"],
        &["topics", "alter", "t", "-c", "retention.ms=5"],
        &["topics", "delete", "t"],
        &["clean"],
        &["consume", "t", "--group", "g"],
    ] {
        let out = t
            .klog()
            .args(args)
            .write_stdin("c\n")
            .output()
            .expect("run");
        let err = assert_error(&out, 1);
        assert!(
            err.contains(&meta.display().to_string()) && err.lines().count() == 2,
            "{args:?}: error naming the file and a hint: {err}"
        );
    }
    assert_eq!(listing(t.data()), before, "writing commands wrote nothing");
}

/// The metadata a killed `topics delete` leaves: `topic` marked as being deleted.
fn mark_deleting(t: &TestDir, topic: &str) {
    let path = t.data().join("klog-topics.json");
    let mut v = crate::util::json(&fs::read_to_string(&path).expect("meta"));
    v["topics"][topic]["deleting"] = serde_json::Value::Bool(true);
    fs::write(&path, serde_json::to_vec_pretty(&v).expect("json")).expect("write meta");
}

/// A killed `topics delete` left a topic that looked alive (listed, with some partitions
/// already empty) and `klog-<pid>-<p>.delete` directories that nothing removed. A topic
/// marked as being deleted is now gone for readers and `topics list`; the next writing
/// command finishes its deletion and removes leftover `*.delete` directories; creating the
/// same name again finishes the old deletion first and starts empty.
#[test]
fn regression_an_interrupted_delete_looks_gone_and_is_finished_by_the_next_writer() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "doomed", "-p", "3"]);
    t.ok(&["topics", "create", "keep"]);
    t.produce("doomed", "1\n2\n3\n4\n5\n6\n", &[]);
    t.produce("keep", "k\n", &[]);
    // As left by a delete killed after renaming partition 0 and before the others.
    mark_deleting(&t, "doomed");
    let leftover = t.data().join("klog-4194303-0.delete");
    fs::rename(t.partition_dir("doomed", 0), &leftover).expect("rename");
    let before = listing(t.data());

    let names: Vec<String> = t
        .list()
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["name"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(names, ["keep"]);
    for args in [
        &["consume", "doomed"][..],
        &["topics", "describe", "doomed"],
    ] {
        let err = assert_error(&t.run(args), 1);
        assert!(err.contains("'doomed' does not exist"), "{err}");
    }
    assert_eq!(listing(t.data()), before, "readers leave it as it is");

    // Any writing command finishes the job.
    t.produce("keep", "k2\n", &[]);
    assert_eq!(entries(&t), ["keep-0", "klog-topics.json"]);
    assert!(!has_meta(t.data(), "doomed"));
    for f in [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
    ] {
        let text = fs::read_to_string(t.data().join(f)).expect("checkpoint");
        assert!(!text.contains("doomed"), "{f}: {text}");
    }
    assert_eq!(t.consume("keep", &[]), ["k", "k2"]);

    // Interrupted again, before any rename; then the same name is created anew.
    t.ok(&["topics", "create", "doomed", "-p", "2"]);
    t.produce("doomed", "old\n", &["-p", "1"]);
    mark_deleting(&t, "doomed");
    assert!(t.partition_dir("doomed", 1).is_dir());
    t.ok(&["topics", "create", "doomed"]);
    let d = t.describe("doomed");
    assert_eq!(d["partitions"].as_array().map(Vec::len), Some(1));
    assert!(!t.partition_dir("doomed", 1).exists());
    assert_eq!(t.consume("doomed", &[]), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Configs of a running writer
// ---------------------------------------------------------------------------------------------

/// `topics alter s -c retention.ms=-1` while a producer ran: its next rolls still deleted
/// segments under the `retention.ms=2000` it had started with. A writer now re-reads the
/// topic's configs when the metadata changes, before every roll and retention decision.
#[test]
fn regression_a_running_producer_applies_altered_configs() {
    use std::io::Write;
    let t = TestDir::new();
    // Every append of one ~270-byte record rolls a 300-byte segment, and retention runs.
    t.ok(&[
        "topics",
        "create",
        "s",
        "-c",
        "retention.ms=2000",
        "-c",
        "segment.bytes=300",
    ]);
    let mut producer = t
        .klog_std()
        .args(["produce", "s", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn produce");
    let mut stdin = producer.stdin.take().expect("stdin");
    // Records an hour old: past retention.ms=2000 as soon as their segment is closed.
    let hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
        - 3_600_000;
    let mut sent = 0;
    let mut send = |stdin: &mut std::process::ChildStdin| {
        let line = format!(
            "{{\"value\":\"r{sent}-{}\",\"timestamp\":{hour_ago}}}\n",
            "x".repeat(200)
        );
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.flush().expect("flush");
        sent += 1;
        let want = sent;
        crate::util::wait_until("the record is appended", || {
            t.describe("s")["partitions"][0]["log_end_offset"] == want
        });
    };
    send(&mut stdin);
    t.ok(&["topics", "alter", "s", "-c", "retention.ms=-1"]);
    for _ in 0..6 {
        send(&mut stdin);
    }
    let d = t.describe("s");
    assert!(d["partitions"][0]["segments"].as_u64() >= Some(6), "{d}");
    assert_eq!(
        d["partitions"][0]["log_start_offset"], 0,
        "nothing deleted once retention.ms=-1: {d}"
    );
    assert_eq!(t.consume("s", &[]).len(), 7);

    // And back: the next roll applies retention.ms=2000 again.
    t.ok(&["topics", "alter", "s", "-c", "retention.ms=2000"]);
    send(&mut stdin);
    let d = t.describe("s");
    assert!(
        d["partitions"][0]["log_start_offset"].as_i64() >= Some(6),
        "old segments deleted again: {d}"
    );
    drop(stdin);
    let out = producer.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Records and timestamps of compacted topics
// ---------------------------------------------------------------------------------------------

/// `topics list|describe` showed log end − log start as RECORDS (a compacted topic showed
/// 2 000 000 where 40 748 remained) and `-` as FIRST-TIMESTAMP when compaction had emptied the
/// first batch (kept as an empty header). They now count the records there are, and give the
/// smallest and largest timestamps of those records.
#[test]
fn regression_records_and_first_timestamp_of_a_compacted_topic() {
    let t = TestDir::new();
    // 200-byte segments: one record each, and the emptied first one stays on its own.
    t.ok(&[
        "topics",
        "create",
        "c",
        "-c",
        "cleanup.policy=compact",
        "-c",
        "segment.bytes=200",
    ]);
    let pad = "v".repeat(90);
    for (k, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")] {
        t.produce("c", format!("{k}:{v}{pad}\n"), &["-K", ":"]);
    }
    t.ok(&["clean"]);
    let out = t.ok(&["consume", "c", "--json"]);
    let kept: Vec<serde_json::Value> = out.lines().map(crate::util::json).collect();
    let offsets: Vec<i64> = kept
        .iter()
        .map(|r| r["offset"].as_i64().expect("offset"))
        .collect();
    assert_eq!(offsets, [1, 2, 3], "a:1 compacted away");
    let stamps: Vec<i64> = kept
        .iter()
        .map(|r| r["timestamp"].as_i64().expect("timestamp"))
        .collect();

    let d = t.describe("c");
    let p = &d["partitions"][0];
    assert_eq!(
        (p["log_start_offset"].as_i64(), p["log_end_offset"].as_i64()),
        (Some(0), Some(4))
    );
    assert_eq!(p["records"], 3, "{d}");
    assert_eq!(
        p["first_timestamp"].as_i64(),
        stamps.iter().min().copied(),
        "{d}"
    );
    assert_eq!(
        p["last_timestamp"].as_i64(),
        stamps.iter().max().copied(),
        "{d}"
    );
    assert_eq!(named(&t.list(), "c")["records"], 3);
    let table = t.ok(&["topics", "describe", "c"]);
    let row = table
        .lines()
        .find(|l| l.starts_with('0'))
        .expect("partition row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[3], "3", "RECORDS: {row}");
    assert_ne!(cells[6], "-", "FIRST-TIMESTAMP: {row}");
}
