//! `klog mirror pull` from a `klog serve` on another directory.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

/// Records in the main pull test (the figure of the issue: it runs in seconds).
const RECORDS: usize = 1_000_000;

/// `n` lines `kI:PREFIX-I`.
fn keyed_lines(n: usize, prefix: &str) -> String {
    let mut s = String::with_capacity(n * 24);
    for i in 0..n {
        s.push_str(&format!("k{}:{prefix}-{i}\n", i % 5000));
    }
    s
}

/// Topic `big` (4 partitions, `n` records: plain, gzip and zstd batches, and JSON records
/// with null values, null keys and headers), `compacted` (offset gaps in the middle) and
/// `trimmed` (log start above 0, inside a batch).
fn fill_source(dir: &Path, n: usize) {
    klog(dir, &["topics", "create", "big", "--partitions", "4"]);
    let json_n = 2_000;
    let rest = n - json_n;
    klog_in(
        dir,
        &["produce", "big", "-K", ":"],
        keyed_lines(rest / 2, "plain"),
    );
    klog_in(
        dir,
        &["produce", "big", "-K", ":", "--compression", "gzip"],
        keyed_lines(rest / 4, "gz"),
    );
    klog_in(
        dir,
        &["produce", "big", "-K", ":", "--compression", "zstd"],
        keyed_lines(rest - rest / 2 - rest / 4, "zs"),
    );
    let mut json = String::new();
    for i in 0..json_n {
        let key = if i % 3 == 0 {
            "null".to_string()
        } else {
            format!("\"j{i}\"")
        };
        let value = if i % 5 == 0 {
            "null".to_string()
        } else {
            format!("\"v{i}\"")
        };
        json.push_str(&format!(
            "{{\"key\":{key},\"value\":{value},\"headers\":[[\"h\",\"x{i}\"],[\"n\",null]],\
             \"partition\":{}}}\n",
            i % 4
        ));
    }
    klog_in(dir, &["produce", "big", "--json"], json);

    klog(
        dir,
        &[
            "topics",
            "create",
            "compacted",
            "--config",
            "cleanup.policy=compact",
            "--config",
            "min.cleanable.dirty.ratio=0.01",
        ],
    );
    for batch in ["x:1\n", "a:1\nb:1\n", "c:1\n", "a:2\nb:2\n", "c:2\n"] {
        klog_in(dir, &["produce", "compacted", "-K", ":"], batch);
    }
    klog(dir, &["segments", "roll", "compacted"]);
    klog_in(dir, &["produce", "compacted", "-K", ":"], "e:1\n");
    klog(dir, &["clean", "compacted"]);
    let (_, b) = batches(dir, "compacted", 0);
    let offsets: Vec<i64> = b.iter().map(|(o, _)| *o).collect();
    assert_eq!(
        offsets,
        [0, 4, 6, 7],
        "compaction left gaps between batches"
    );

    klog(dir, &["topics", "create", "trimmed"]);
    klog_in(
        dir,
        &["produce", "trimmed"],
        keyed_lines(100, "t").replace(':', "="),
    );
    klog_in(dir, &["produce", "trimmed"], "one\ntwo\nthree\n");
    klog(dir, &["trim", "trimmed", "--before", "101"]);
}

fn pull_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["mirror", "pull"];
    all.extend_from_slice(args);
    all.push("--json");
    let (out, _) = klog(dir, &all);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Every batch of every topic arrives byte for byte at its offsets: 1 M records, codecs,
/// null values and headers, compaction gaps, a log start above 0; the topics are created
/// with the source's partitions and configs; `--verify` checks each last batch; a second
/// pull copies nothing.
#[test]
fn pull_copies_every_batch_byte_for_byte() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    fill_source(a.path(), RECORDS);
    let serve = Serve::start(a.path());
    let from = serve.addr();

    let dry = pull_json(b.path(), &["--from", &from, "--all", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["created_topics"].as_array().unwrap().len(), 3);
    assert!(
        !b.path().join("klog-topics.json").exists(),
        "a dry run writes nothing"
    );

    let s = pull_json(b.path(), &["--from", &from, "--all", "--verify"]);
    let records: u64 = s["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["records"].as_u64().unwrap())
        .sum();
    // Compacted: 5 records kept; trimmed: the whole batch holding the log start (3 records).
    assert_eq!(
        records,
        RECORDS as u64 + 5 + 3,
        "every record of the source"
    );
    assert!(
        s["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["verified"] == true || p["to_offset"] == p["from_offset"]),
        "{s}"
    );
    let mut n = 0;
    for topic in ["big", "compacted", "trimmed"] {
        n += assert_same_topic(a.path(), b.path(), topic);
    }
    assert!(n >= 12, "{n} batches compared");
    // The codecs of the copied batches: none, gzip (1) and zstd (4).
    let mut codecs = std::collections::BTreeSet::new();
    for p in 0..4 {
        for (_, bytes) in batches(b.path(), "big", p).1 {
            codecs.insert(i16::from_be_bytes([bytes[21], bytes[22]]) & 7);
        }
    }
    assert_eq!(codecs.into_iter().collect::<Vec<_>>(), [0, 1, 4]);
    let (start, _) = batches(b.path(), "trimmed", 0);
    assert_eq!(start, 101, "the log start followed the source's");

    // Nothing new: nothing copied, nothing changed.
    let again = pull_json(b.path(), &["--from", &from, "big", "compacted", "trimmed"]);
    assert!(
        again["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["batches"] == 0),
        "{again}"
    );
    assert_same_topic(a.path(), b.path(), "big");
}

/// `kill -9` of a pull mid-way, then a rerun: the copy is identical, nothing missing or
/// doubled.
#[test]
fn pull_resumes_after_kill_9() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // Batches of at most 4 KiB (about 200 records), fetched one at a time: the pull needs
    // hundreds of round trips per partition, and the source is frozen (SIGSTOP) before the
    // pull is killed, so the kill always lands mid-way.
    klog(
        a.path(),
        &[
            "topics",
            "create",
            "t",
            "--partitions",
            "2",
            "-c",
            "max.message.bytes=4096",
        ],
    );
    klog_in(
        a.path(),
        &["produce", "t", "-K", ":"],
        keyed_lines(300_000, "v"),
    );
    let serve = Serve::start(a.path());
    let total = log_end(a.path(), "t", 0) + log_end(a.path(), "t", 1);
    let from = serve.addr();
    let args = [
        "mirror",
        "pull",
        "--from",
        &from,
        "t",
        "--max-partition-fetch-bytes",
        "2048",
    ];
    let mut pull = spawn_klog(b.path(), &args);
    wait_until(
        Duration::from_secs(60),
        "the pull to copy something",
        || log_end(b.path(), "t", 0) + log_end(b.path(), "t", 1) > 1000,
    );
    let signal = |sig: &str| {
        let pid = serve.guard.pid().to_string();
        let status = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill {sig} {pid}");
    };
    signal("-STOP");
    pull.kill9();
    signal("-CONT");
    let copied = log_end(b.path(), "t", 0) + log_end(b.path(), "t", 1);
    assert!(copied < total, "killed mid-way ({copied} of {total})");
    let s = pull_json(b.path(), &["--from", &from, "t"]);
    let records: i64 = s["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["to_offset"].as_i64().unwrap() - p["from_offset"].as_i64().unwrap())
        .sum();
    assert!(records > 0 && records <= total, "{s}");
    assert_same_topic(a.path(), b.path(), "t");
    let (out, _) = klog(b.path(), &["segments", "verify", "t"]);
    assert!(!out.contains("damage"), "{out}");
}

/// `-f` keeps the copy within a batch of the source while it is produced to, also across a
/// restart of the source broker; when the
/// source's log start moves past the local end, the partition starts again there (reported);
/// SIGTERM ends the pull with its summary.
#[test]
fn follow_keeps_up_and_follows_the_log_start() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    klog(a.path(), &["topics", "create", "f"]);
    klog_in(a.path(), &["produce", "f"], "1\n2\n3\n");
    let port = free_port();
    let mut serve = Serve::start_on(a.path(), port);
    let from = serve.addr();
    let mut pull = spawn_klog(b.path(), &["mirror", "pull", "--from", &from, "f", "-f"]);
    for round in 0..6 {
        if round == 3 {
            // The source broker goes away and comes back: the follower reconnects.
            serve.guard.kill9();
            serve = Serve::start_on(a.path(), port);
        }
        klog_in(
            a.path(),
            &["produce", "f"],
            format!("r{round}\nr{round}b\n"),
        );
        let end = log_end(a.path(), "f", 0);
        wait_until(Duration::from_secs(30), "the follower to catch up", || {
            log_end(b.path(), "f", 0) == end
        });
    }
    let out = pull.terminate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pulled 15 records"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_topic(a.path(), b.path(), "f");

    // Retention on the source (a delete-records past the copy's end) while it is stopped.
    klog_in(a.path(), &["produce", "f"], "x\ny\nz\n");
    let end = log_end(a.path(), "f", 0);
    klog(a.path(), &["trim", "f", "--before", &(end - 1).to_string()]);
    let (_, err) = klog(b.path(), &["mirror", "pull", "--from", &from, "f"]);
    assert!(
        err.contains(&format!(
            "the source's log start {} is past the local end 15",
            end - 1
        )),
        "{err}"
    );
    assert_same_topic(a.path(), b.path(), "f");

    // The source's log start moving within the copy is followed too.
    klog_in(a.path(), &["produce", "f"], "p\nq\n");
    klog(a.path(), &["trim", "f", "--before", &(end + 1).to_string()]);
    klog(b.path(), &["mirror", "pull", "--from", &from, "f"]);
    assert_same_topic(a.path(), b.path(), "f");
}

/// A source whose log is shorter than the copy, or whose batch at the copy's end differs,
/// stops the pull naming the partition and both offsets; `--truncate-on-divergence` cuts the
/// copy back to the last batch both have and copies on.
#[test]
fn divergence_stops_the_pull_or_is_repaired() {
    let a = tempfile::tempdir().unwrap();
    let a2 = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    klog(a.path(), &["topics", "create", "d"]);
    for i in 0..5 {
        klog_in(
            a.path(),
            &["produce", "d"],
            format!("shared{i}\nshared{i}b\n"),
        );
    }
    // A second source sharing the first five batches (an old replica of the same log).
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", a.path().display()))
        .arg(a2.path())
        .status()
        .unwrap();
    assert!(status.success());
    for i in 0..5 {
        klog_in(a.path(), &["produce", "d"], format!("first{i}\n"));
    }
    for i in 0..3 {
        klog_in(a2.path(), &["produce", "d"], format!("second{i}\n"));
    }
    let serve = Serve::start(a.path());
    klog(b.path(), &["mirror", "pull", "--from", &serve.addr(), "d"]);
    assert_eq!(log_end(b.path(), "d", 0), 15);
    drop(serve);

    // The other source: 13 offsets, the last 3 batches differ.
    let serve2 = Serve::start(a2.path());
    let out = klog_output(b.path(), &["mirror", "pull", "--from", &serve2.addr(), "d"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "partition d-0 has diverged from {}: the source's log ends at offset 13 (the local \
             log ends at offset 15, the source's at 13)",
            serve2.addr()
        )),
        "{err}"
    );
    assert_eq!(log_end(b.path(), "d", 0), 15, "nothing changed");

    // One more batch on the second source: as long as the copy, but different at its end.
    klog_in(a2.path(), &["produce", "d"], "second3\nsecond4\n");
    let out = klog_output(b.path(), &["mirror", "pull", "--from", &serve2.addr(), "d"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("partition d-0 has diverged")
            && err.contains("its batch at offset 14 differs"),
        "{err}"
    );

    let (_, err) = klog(
        b.path(),
        &[
            "mirror",
            "pull",
            "--from",
            &serve2.addr(),
            "d",
            "--truncate-on-divergence",
        ],
    );
    assert!(
        err.contains("d-0: diverged from the source: local log cut back from offset 15 to 10"),
        "{err}"
    );
    assert_same_topic(a2.path(), b.path(), "d");
    klog(
        b.path(),
        &["mirror", "pull", "--from", &serve2.addr(), "d", "--verify"],
    );
}

/// Connection refused and unknown topics are one-line errors naming the broker; a topic
/// deleted on the source while a pull follows it stops the pull the same way.
#[test]
fn unreachable_brokers_and_missing_topics_are_named() {
    let b = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = klog_output(
        b.path(),
        &[
            "mirror",
            "pull",
            "--from",
            &format!("127.0.0.1:{port}"),
            "t",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines().next().unwrap_or(""),
        format!(
            "klog: error: cannot connect to 127.0.0.1:{port}: Connection refused (os error 111)"
        )
    );

    let a = tempfile::tempdir().unwrap();
    klog(a.path(), &["topics", "create", "gone"]);
    klog_in(a.path(), &["produce", "gone"], keyed_lines(1000, "g"));
    let serve = Serve::start(a.path());
    let out = klog_output(
        b.path(),
        &["mirror", "pull", "--from", &serve.addr(), "nope"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "klog: error: topic 'nope' does not exist on {}",
            serve.addr()
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut pull = spawn_klog(
        b.path(),
        &["mirror", "pull", "--from", &serve.addr(), "gone", "-f"],
    );
    wait_until(Duration::from_secs(20), "the copy", || {
        log_end(b.path(), "gone", 0) == 1000
    });
    klog(a.path(), &["topics", "delete", "gone"]);
    let out = pull.wait(Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "klog: error: topic 'gone' does not exist on {}",
            serve.addr()
        )),
        "{err}"
    );
}
