//! `klog mirror push` to the peer broker tansu (read back with confluent-kafka) and to a
//! `klog serve` killed mid-push; a pull from the peer back into a fresh directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use klog::format::{BatchBuilder, Compression};
use klog::topic::Topics;
use serde_json::Value;

use crate::harness::*;

fn peer(args: &[&str]) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mirror/clients/peer.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("run peer.py");
    assert!(
        out.status.success(),
        "peer.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn b64(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(|s| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64")
    })
}

/// `n` JSON records for `partitions` partitions: keys (some null), values (some null),
/// headers, explicit timestamps.
fn json_records(n: usize, partitions: usize, tag: &str) -> String {
    let mut s = String::new();
    for i in 0..n {
        let key = if i % 7 == 0 {
            "null".into()
        } else {
            format!("\"k{i}\"")
        };
        let value = if i % 11 == 0 {
            "null".into()
        } else {
            format!("\"{tag}{i}\"")
        };
        s.push_str(&format!(
            "{{\"key\":{key},\"value\":{value},\"headers\":[[\"h\",\"{tag}{i}\"],[\"e\",null]],\
             \"timestamp\":{},\"partition\":{}}}\n",
            1_700_000_000_000i64 + i as i64,
            i % partitions
        ));
    }
    s
}

/// The records of every partition of `topic` read back from the peer, compared with the
/// local ones (key, value, headers, timestamp, in order); the remote offsets of the first.
fn assert_peer_has(addr: &str, dir: &Path, topic: &str, partitions: u32) {
    let local: Vec<Vec<Rec>> = (0..partitions).map(|p| records(dir, topic, p)).collect();
    let counts: Vec<String> = local.iter().map(|r| r.len().to_string()).collect();
    let remote = peer(&["read", addr, topic, &counts.join(",")]);
    assert_eq!(
        remote.len(),
        local.iter().map(Vec::len).sum::<usize>(),
        "{topic}: records read back"
    );
    let mut at: BTreeMap<u32, usize> = BTreeMap::new();
    for r in &remote {
        let p = r["p"].as_u64().unwrap() as u32;
        let i = at.entry(p).or_default();
        let (_, key, value, headers, ts) = &local[p as usize][*i];
        *i += 1;
        assert_eq!(&b64(&r["k"]), key, "{topic}-{p}: key of record {i}");
        assert_eq!(&b64(&r["v"]), value, "{topic}-{p}: value");
        assert_eq!(r["ts"].as_i64().unwrap(), *ts, "{topic}-{p}: timestamp");
        let h: Vec<(String, Option<Vec<u8>>)> = r["h"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap().to_string(), b64(&h[1])))
            .collect();
        assert_eq!(&h, headers, "{topic}-{p}: headers");
    }
}

fn push_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["mirror", "push"];
    all.extend_from_slice(args);
    all.push("--json");
    let (out, _) = klog(dir, &all);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn pushed_batches(s: &Value) -> u64 {
    s["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["batches"].as_u64().unwrap())
        .sum()
}

/// A push to tansu keeps every record's key, value, headers and timestamp (plain, gzip and
/// zstd batches) in the same partitions; a rerun sends nothing, later records are sent on
/// their own; a remote topic with fewer partitions is refused; `--groups` commits the
/// translated offsets, at which a confluent-kafka consumer of the group resumes; a pull from
/// tansu into a fresh directory gives the same records.
#[test]
fn push_to_the_peer_keeps_every_record() {
    if !require_peer() {
        return;
    }
    let tansu = Tansu::start();
    let to = tansu.addr();
    let local = tempfile::tempdir().unwrap();
    let l = local.path();
    klog(l, &["topics", "create", "p", "--partitions", "3"]);
    klog_in(l, &["produce", "p", "--json"], json_records(300, 3, "a"));
    klog_in(
        l,
        &["produce", "p", "--json", "--compression", "gzip"],
        json_records(300, 3, "g"),
    );
    klog_in(
        l,
        &["produce", "p", "--json", "--compression", "zstd"],
        json_records(300, 3, "z"),
    );

    let dry = push_json(l, &["--to", &to, "p", "--dry-run"]);
    assert_eq!(dry["created_topics"], serde_json::json!(["p"]));
    let s = push_json(l, &["--to", &to, "p"]);
    assert_eq!(s["created_topics"], serde_json::json!(["p"]));
    assert_peer_has(&to, l, "p", 3);

    // Nothing new: nothing sent. New records: only they go.
    assert_eq!(pushed_batches(&push_json(l, &["--to", &to, "p"])), 0);
    klog_in(l, &["produce", "p", "--json"], json_records(30, 3, "b"));
    let s = push_json(l, &["--to", &to, "p"]);
    assert_eq!(pushed_batches(&s), 3, "{s}");
    assert_peer_has(&to, l, "p", 3);

    // A remote topic with fewer partitions than the local one is refused.
    let other = tempfile::tempdir().unwrap();
    klog_in(other.path(), &["produce", "few"], "1\n2\n");
    klog(other.path(), &["mirror", "push", "--to", &to, "few"]);
    klog(l, &["topics", "create", "few", "--partitions", "2"]);
    let out = klog_output(l, &["mirror", "push", "--to", &to, "few"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "topic 'few' has 1 partitions on {to}, the local one 2: a push keeps partition numbers"
        )),
        "{err}"
    );

    // --groups: remote offsets differ from local ones (the remote topic had 7 records
    // first), the group's offset is translated.
    klog_in(
        other.path(),
        &["produce", "shift"],
        "o1\no2\no3\no4\no5\no6\no7\n",
    );
    klog(other.path(), &["mirror", "push", "--to", &to, "shift"]);
    let lines: String = (0..20).map(|i| format!("s{i}\n")).collect();
    klog_in(l, &["produce", "shift"], lines);
    klog(
        l,
        &[
            "groups",
            "reset",
            "g",
            "--topic",
            "shift",
            "--to-offset",
            "5",
        ],
    );
    klog(
        l,
        &["groups", "reset", "g", "--topic", "p", "--to-offset", "40"],
    );
    let s = push_json(l, &["--to", &to, "shift", "p", "--groups"]);
    assert_eq!(s["group_offsets_committed"], 4, "{s}");
    let r = peer(&["resume", &to, "g", "shift", "1"]);
    assert_eq!(r[0]["committed"], 12, "local 5 is remote 7 + 5");
    assert_eq!(b64(&r[0]["v"]), Some(b"s5".to_vec()), "{r:?}");
    let r = peer(&["resume", &to, "g", "p", "3"]);
    for p in 0..3 {
        let (_, _, value, _, _) = records(l, "p", p).into_iter().find(|x| x.0 == 40).unwrap();
        assert_eq!(r[p as usize]["committed"], 40, "{r:?}");
        assert_eq!(b64(&r[p as usize]["v"]), value, "p-{p}: {r:?}");
    }

    // From the peer back into a fresh directory: the same records.
    let back = tempfile::tempdir().unwrap();
    klog(
        back.path(),
        &["mirror", "pull", "--from", &to, "p", "--verify"],
    );
    for p in 0..3 {
        let mine: Vec<Rec> = records(l, "p", p);
        let theirs: Vec<Rec> = records(back.path(), "p", p);
        assert_eq!(mine, theirs, "p-{p} pulled back from the peer");
    }
}

/// `n` batches of `per` records in each partition of `topic`, appended through the library.
fn many_batches(dir: &Path, topic: &str, partitions: u32, n: usize, per: usize, tag: &str) {
    let topics = Topics::new(dir);
    let t = match topics.open(topic) {
        Ok(t) => t,
        Err(_) => topics.create(topic, partitions, BTreeMap::new()).unwrap(),
    };
    for p in 0..partitions {
        let mut log = t.open_log(p).unwrap();
        for b in 0..n {
            let mut batch = BatchBuilder::new();
            for i in 0..per {
                let v = format!("{tag}-{p}-{b}-{i}");
                batch.append(1_700_000_000_000, Some(b"k"), Some(v.as_bytes()), &[]);
            }
            let mut bytes = if b % 2 == 0 {
                batch.finish()
            } else {
                let plain = batch.finish();
                let mut out = Vec::new();
                klog::format::batch::compress_batch(&plain, Compression::Gzip, &mut out);
                out
            };
            log.append(&mut bytes).unwrap();
        }
    }
}

fn total_records(dir: &Path, topic: &str, partitions: u32) -> i64 {
    (0..partitions).map(|p| record_count(dir, topic, p)).sum()
}

/// The destination broker (a `klog serve`) killed mid-push and restarted on the same port:
/// the push retries and finishes; then the push itself killed with -9 and run again. Each
/// time at most the batches in flight (one per partition) are written twice: counted.
#[test]
fn push_survives_a_broker_restart_and_a_killed_push() {
    let local = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let (l, d) = (local.path(), dest.path());
    let (parts, per) = (2u32, 20usize);
    many_batches(l, "k", parts, 1500, per, "a");
    let port = free_port();
    let mut serve = Serve::start_on(d, port);
    let to = serve.addr();
    let mut push = spawn_klog(l, &["mirror", "push", "--to", &to, "k"]);
    wait_until(Duration::from_secs(60), "the push to start", || {
        Topics::for_reading(d).open("k").is_ok() && total_records(d, "k", parts) > 2000
    });
    serve.guard.kill9();
    let at_kill = total_records(d, "k", parts);
    let local_total = total_records(l, "k", parts);
    assert!(
        at_kill < local_total,
        "killed mid-push ({at_kill} of {local_total})"
    );
    let _serve = Serve::start_on(d, port);
    let out = push.wait(Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dup = total_records(d, "k", parts) - local_total;
    let in_flight = parts as i64 * per as i64;
    assert!(
        (0..=in_flight).contains(&dup),
        "{dup} records written twice (at most {in_flight} in flight)"
    );

    // The push killed with -9 mid-way, then run again.
    many_batches(l, "k", parts, 1500, per, "b");
    let before = total_records(d, "k", parts);
    let mut push = spawn_klog(l, &["mirror", "push", "--to", &to, "k"]);
    wait_until(Duration::from_secs(60), "the second push to start", || {
        total_records(d, "k", parts) > before + 2000
    });
    push.kill9();
    klog(l, &["mirror", "push", "--to", &to, "k"]);
    let dup2 = total_records(d, "k", parts) - total_records(l, "k", parts) - dup;
    assert!(
        (0..=in_flight).contains(&dup2),
        "{dup2} records written twice after kill -9 (at most {in_flight} in flight)"
    );
    eprintln!("written twice: {dup} after the broker restart, {dup2} after kill -9 of the push");
    // Every local value is on the destination, in order, with at most those duplicates.
    for p in 0..parts {
        let mine: Vec<Option<Vec<u8>>> = records(l, "k", p).into_iter().map(|r| r.2).collect();
        let mut seen = std::collections::HashSet::new();
        let theirs: Vec<Option<Vec<u8>>> = records(d, "k", p)
            .into_iter()
            .map(|r| r.2)
            .filter(|v| seen.insert(v.clone()))
            .collect();
        assert_eq!(mine, theirs, "k-{p}: the values in order, duplicates aside");
    }
}

/// `-f` keeps pushing what is appended locally; SIGTERM ends it with its summary, after
/// committing the groups' offsets (`--groups`), here on a `klog serve`.
#[test]
fn push_follow_keeps_pushing_until_stopped() {
    let local = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let (l, d) = (local.path(), dest.path());
    klog(l, &["topics", "create", "f", "--partitions", "2"]);
    klog_in(l, &["produce", "f", "-p", "0"], "a\n");
    klog_in(l, &["produce", "f", "-p", "1"], "b\n");
    let serve = Serve::start(d);
    let to = serve.addr();
    let mut push = spawn_klog(l, &["mirror", "push", "--to", &to, "f", "-f", "--groups"]);
    for round in 0..3 {
        for p in ["0", "1"] {
            klog_in(l, &["produce", "f", "-p", p], format!("{round}\n"));
        }
        let want = total_records(l, "f", 2);
        wait_until(Duration::from_secs(30), "the push to keep up", || {
            Topics::for_reading(d).open("f").is_ok() && total_records(d, "f", 2) == want
        });
    }
    klog(l, &["groups", "reset", "g", "--topic", "f", "--to-latest"]);
    let out = push.terminate();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("pushed 8 records") && err.contains("2 group offsets committed"),
        "{err}"
    );
    let t = Topics::for_reading(d).open("f").unwrap();
    for p in 0..2 {
        let c = klog::group::committed(&t, p, "g").unwrap().unwrap();
        assert_eq!(
            c.offset,
            log_end(l, "f", p),
            "f-{p}: the group's offset, translated"
        );
    }
}
