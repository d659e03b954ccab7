//! Consumer groups end to end: committed offsets and resuming, start positions (also of
//! committed offsets outside the log), members that share partitions evenly while a producer
//! writes, take-over after `kill -9`, the `groups` commands (describe, reset with every
//! target, delete and what it removes, errors), group ids of any characters, and a Kafka
//! broker's groups read from its `__consumer_offsets` (`../shared/fixtures/kafka`: skipped
//! with a note when absent, failed under `CI=true`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{
    TestDir, assert_error, frames, json, segment_bases, segment_file, send_signal, wait_until,
};

/// Lines `k<i>:v<i>` for `produce -K :` (murmur2 of the key spreads them over partitions),
/// and the values `v<i>` they carry.
fn keyed(range: Range<u64>) -> (String, Vec<String>) {
    let mut input = String::new();
    let mut values = Vec::new();
    for i in range {
        input.push_str(&format!("k{i}:v{i}\n"));
        values.push(format!("v{i}"));
    }
    (input, values)
}

/// Produces `k{i}:v{i}` for each `i` of `range` with `-K :`; returns the values.
fn produce_keyed(t: &TestDir, topic: &str, range: Range<u64>) -> Vec<String> {
    let (input, values) = keyed(range);
    t.produce(topic, input, &["-K", ":"]);
    values
}

/// Splits `input` after its first `n` lines.
fn split_lines(input: &str, n: usize) -> (&str, &str) {
    let at = input
        .match_indices('\n')
        .nth(n - 1)
        .map_or(input.len(), |(i, _)| i + 1);
    input.split_at(at)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v
}

/// `klog groups describe G --json`, parsed, if the group exists.
fn try_rows(t: &TestDir, group: &str) -> Option<Vec<Value>> {
    let out = t.run(&["groups", "describe", group, "--json"]);
    out.status.success().then(|| {
        json(&String::from_utf8_lossy(&out.stdout))
            .as_array()
            .expect("describe --json is an array")
            .clone()
    })
}

/// `klog groups describe G --json`, parsed; the group must exist.
fn rows(t: &TestDir, group: &str) -> Vec<Value> {
    try_rows(t, group).unwrap_or_else(|| panic!("group '{group}' does not exist"))
}

fn field(rows: &[Value], name: &str) -> Vec<Option<i64>> {
    rows.iter().map(|r| r[name].as_i64()).collect()
}

/// Committed offset per partition (None: nothing committed).
fn current(t: &TestDir, group: &str) -> Vec<Option<i64>> {
    field(&rows(t, group), "current_offset")
}

/// Pid of the owning member per partition, if the group exists.
fn owners(t: &TestDir, group: &str) -> Option<Vec<Option<u32>>> {
    try_rows(t, group).map(|rs| {
        rs.iter()
            .map(|r| r["member"].as_u64().map(|p| p as u32))
            .collect()
    })
}

/// `klog groups reset ARGS… --json`: the (old, new) offset per printed row.
fn reset(t: &TestDir, args: &[&str]) -> Vec<(Option<i64>, i64)> {
    let mut all = vec!["groups", "reset"];
    all.extend_from_slice(args);
    all.push("--json");
    json(&t.ok(&all))
        .as_array()
        .expect("reset --json is an array")
        .iter()
        .map(|r| {
            (
                r["old_offset"].as_i64(),
                r["new_offset"].as_i64().expect("new_offset"),
            )
        })
        .collect()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------
// Spawned producers and members

/// A `klog produce TOPIC ARGS…` child fed by a thread from a channel of chunks; dropping the
/// sender (in `finish`) closes its stdin.
struct Producer {
    child: Child,
    tx: Option<Sender<String>>,
    feeder: JoinHandle<()>,
}

impl Producer {
    /// `pace`: a pause after each chunk, so that the records arrive over a while.
    fn spawn(t: &TestDir, topic: &str, args: &[&str], pace: Duration) -> Producer {
        let mut child = t
            .klog_std()
            .arg("produce")
            .arg(topic)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn klog produce");
        let mut stdin = child.stdin.take().expect("stdin");
        let (tx, rx) = mpsc::channel::<String>();
        let feeder = thread::spawn(move || {
            for chunk in rx {
                stdin
                    .write_all(chunk.as_bytes())
                    .expect("write to klog produce");
                thread::sleep(pace);
            }
        });
        Producer {
            child,
            tx: Some(tx),
            feeder,
        }
    }

    /// Queues the lines of `input` in chunks of about `lines` lines.
    fn send(&self, input: &str, lines: usize) {
        let tx = self.tx.as_ref().expect("producer still open");
        let all: Vec<&str> = input.lines().collect();
        for c in all.chunks(lines) {
            let mut s = c.join("\n");
            s.push('\n');
            tx.send(s).expect("feeder alive");
        }
    }

    fn finish(mut self) {
        drop(self.tx.take());
        self.feeder.join().expect("feeder thread");
        let out = self.child.wait_with_output().expect("wait for producer");
        assert!(out.status.success(), "producer failed: {}", stderr_of(&out));
    }
}

/// One record as a member printed it with `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Rec {
    partition: u32,
    offset: i64,
    /// `i` of the record `k<i>:v<i>`.
    n: u64,
}

/// A `klog consume TOPIC -g G -f --json ARGS…` child whose stdout a thread parses. Killed
/// when dropped unfinished, so that a failing test leaves no follower behind.
struct Member {
    child: Child,
    pid: u32,
    seen: Arc<Mutex<Vec<Rec>>>,
    reader: Option<JoinHandle<()>>,
}

impl Member {
    /// `partitions`: the topic's partition count, to check the key partitioning.
    fn spawn(t: &TestDir, topic: &str, partitions: u32, group: &str, args: &[&str]) -> Member {
        let mut child = t
            .klog_std()
            .args(["consume", topic, "-g", group, "-f", "--json"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn klog consume");
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let reader = thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                stdout.read_line(&mut line).expect("read member output");
                // EOF, or a line torn by kill -9 in the middle of a write: not printed.
                let Some(line) = line.strip_suffix('\n') else {
                    break;
                };
                let v = json(line);
                let value = v["value"].as_str().expect("value is a string");
                let key = v["key"].as_str().expect("key is a string");
                let n: u64 = value[1..].parse().expect("value v<i>");
                assert_eq!(key, format!("k{n}"), "key and value of one record: {line}");
                let partition = v["partition"].as_u64().expect("partition") as u32;
                assert_eq!(
                    partition,
                    klog::format::partition_for_key(key.as_bytes(), partitions),
                    "partition of key {key} (murmur2)"
                );
                sink.lock().expect("lock").push(Rec {
                    partition,
                    offset: v["offset"].as_i64().expect("offset"),
                    n,
                });
            }
        });
        Member {
            child,
            pid,
            seen,
            reader: Some(reader),
        }
    }

    fn count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    fn records(&self) -> Vec<Rec> {
        self.seen.lock().expect("lock").clone()
    }

    /// Stops the member with SIGTERM, as a user would, and asserts it exits 0 (`what` names
    /// it in the failure); returns its stderr and every record it printed, in output order.
    fn terminate(self, what: &str) -> (String, Vec<Rec>) {
        send_signal(self.pid, "TERM");
        let (status, stderr, recs) = self.finish();
        assert_eq!(status.code(), Some(0), "{what} on SIGTERM: {stderr}");
        (stderr, recs)
    }

    /// Waits for the process to end (after a signal); returns its status, stderr and every
    /// record it printed, in output order.
    fn finish(mut self) -> (ExitStatus, String, Vec<Rec>) {
        let status = self.child.wait().expect("wait for member");
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut stderr).expect("read member stderr");
        }
        if let Some(r) = self.reader.take() {
            r.join().expect("member reader thread");
        }
        (status, stderr, self.records())
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Distinct (partition, offset) pairs printed by all `members`.
fn distinct(members: &[&Member]) -> usize {
    let mut set = HashSet::new();
    for m in members {
        for r in m.seen.lock().expect("lock").iter() {
            set.insert((r.partition, r.offset));
        }
    }
    set.len()
}

/// The pid written into a partition's group lock file by the member that took it last, read
/// without taking the lock (a test that polls with `groups describe`, which tries the locks,
/// could make a starting member find no partition free).
fn lock_pid(t: &TestDir, topic: &str, group: &str, partition: u32) -> Option<u32> {
    let path = t
        .partition_dir(topic, partition)
        .join(format!(".klog-group.{group}.lock"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Waits until the lock files of `partitions` of a group that had no member before name `pid`.
fn wait_taken(t: &TestDir, topic: &str, group: &str, partitions: &[u32], pid: u32) {
    wait_until(
        &format!("member {pid} owns partitions {partitions:?}"),
        || {
            partitions
                .iter()
                .all(|&p| lock_pid(t, topic, group, p) == Some(pid))
        },
    );
}

/// Holds a member slot of a group (`<topic>-0/.klog-group.<G>.member-<k>`, flock) as if one
/// more member were live: members count it when they compute their fair share.
fn hold_member_slot(t: &TestDir, topic: &str, group: &str) -> std::fs::File {
    for k in 0.. {
        let path = t
            .partition_dir(topic, 0)
            .join(format!(".klog-group.{group}.member-{k}"));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .expect("open member slot");
        if f.try_lock().is_ok() {
            return f;
        }
    }
    unreachable!()
}

/// Spawns a following member into a group where one member owns every partition of the
/// 4-partition `topic`, and waits until the two own 2 partitions each.
///
/// The test first holds a member slot itself: the owner sees two members and gives back two
/// partitions, the new member (the last of three, share 1) finds them free at its first look
/// and takes one, then the slot is let go and the new member (one of two, share 2) takes the
/// other, which nobody else wants. The hand-over is then the same in every run, whatever the
/// timing of the members' rebalance ticks (a member that finds nothing free waits: see
/// `a_standby_member_waits_and_takes_over`).
fn join_member(t: &TestDir, topic: &str, group: &str, owner: u32) -> Member {
    let slot = hold_member_slot(t, topic, group);
    wait_until("the owner gave back 2 of its 4 partitions", || {
        owners(t, group).is_some_and(|o| {
            o.iter().filter(|&&p| p == Some(owner)).count() == 2
                && o.iter().filter(|p| p.is_none()).count() == 2
        })
    });
    let mut m = Member::spawn(t, topic, 4, group, &[]);
    let owned_by_new = |m: &mut Member, n: usize| {
        if let Some(st) = m.child.try_wait().expect("try_wait") {
            panic!("the new member exited with {st:?}");
        }
        (0..4)
            .filter(|&p| lock_pid(t, topic, group, p) == Some(m.pid))
            .count()
            == n
    };
    wait_until("the new member owns 1 partition", || {
        owned_by_new(&mut m, 1)
    });
    drop(slot);
    wait_until("the new member owns 2 partitions", || {
        owned_by_new(&mut m, 2)
    });
    m
}

/// Waits until `members` have printed `total` distinct records together.
fn wait_printed(members: &[&Member], total: usize) {
    wait_until(&format!("the members printed {total} records"), || {
        members.iter().map(|m| m.count()).sum::<usize>() >= total && distinct(members) >= total
    });
}

/// Asserts that one member's output never repeats a (partition, offset) and that per
/// partition its offsets only go up.
fn assert_no_repeats(who: &str, recs: &[Rec]) {
    let mut last: BTreeMap<u32, i64> = BTreeMap::new();
    for r in recs {
        if let Some(&prev) = last.get(&r.partition) {
            assert!(
                r.offset > prev,
                "{who} printed {}-{} after {}-{prev}",
                r.partition,
                r.offset,
                r.partition
            );
        }
        last.insert(r.partition, r.offset);
    }
}

/// Log end offset per partition, from `topics describe`.
fn log_ends(t: &TestDir, topic: &str) -> Vec<i64> {
    t.describe(topic)["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| p["log_end_offset"].as_i64().expect("log_end_offset"))
        .collect()
}

/// Asserts that the records cover every offset of every partition and every `k<i>` once.
fn assert_complete(union: &BTreeSet<(u32, i64)>, ns: &BTreeSet<u64>, ends: &[i64], total: u64) {
    assert_eq!(ends.iter().sum::<i64>(), total as i64, "log end offsets");
    for (p, &end) in ends.iter().enumerate() {
        let got = union.range((p as u32, 0)..(p as u32 + 1, 0)).count();
        assert_eq!(got as i64, end, "distinct offsets printed of partition {p}");
    }
    assert_eq!(ns.len() as u64, total, "distinct records printed");
    assert_eq!(ns.iter().next_back(), Some(&(total - 1)));
}

// ---------------------------------------------------------------------------------------
// 1. Resume

#[test]
fn a_second_run_resumes_where_the_first_stopped() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "4"]);
    let values = produce_keyed(&t, "t", 0..1000);

    let first = t.consume("t", &["--group", "g", "--count", "100"]);
    assert_eq!(first.len(), 100);
    let out = t.run(&["consume", "t", "--group", "g"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(&out));
    let second: Vec<String> = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(second.len(), 900, "the second run prints the rest");
    assert!(
        sorted([first, second].concat()) == sorted(values),
        "each record exactly once across the two runs"
    );

    // Everything is committed: nothing left, and describe agrees.
    assert_eq!(t.consume("t", &["--group", "g"]), Vec::<String>::new());
    let rs = rows(&t, "g");
    assert_eq!(rs.len(), 4);
    assert_eq!(field(&rs, "current_offset"), field(&rs, "log_end_offset"));
    assert_eq!(field(&rs, "lag"), vec![Some(0); 4]);
    assert_eq!(
        field(&rs, "log_end_offset").iter().flatten().sum::<i64>(),
        1000
    );
}

// ---------------------------------------------------------------------------------------
// 2. Start position

/// A 2-partition topic with `k0..k9`.
fn ten_records() -> (TestDir, Vec<String>) {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "2"]);
    let values = produce_keyed(&t, "t", 0..10);
    let ends = log_ends(&t, "t");
    assert!(ends.iter().all(|&e| e > 0), "both partitions hold records");
    (t, values)
}

#[test]
fn reset_policy_and_no_commit() {
    let (t, values) = ten_records();

    // Earliest (also the default) reads everything there is.
    let all = t.consume("t", &["-g", "e", "--reset", "earliest"]);
    assert!(sorted(all) == sorted(values.clone()));
    let ends: Vec<Option<i64>> = log_ends(&t, "t").into_iter().map(Some).collect();
    assert_eq!(current(&t, "e"), ends);

    // --no-commit reads from the committed offsets and leaves them as they were.
    let some = t.consume("t", &["-g", "n", "-n", "3"]);
    assert_eq!(some.len(), 3);
    let before = current(&t, "n");
    let rest = t.consume("t", &["-g", "n", "--no-commit"]);
    assert!(sorted([some.clone(), rest].concat()) == sorted(values.clone()));
    assert_eq!(current(&t, "n"), before, "--no-commit changed the offsets");
    assert_eq!(t.consume("t", &["-g", "n", "--no-commit"]).len(), 7);
    // A new group read with --no-commit is not created.
    assert_eq!(t.consume("t", &["-g", "fresh", "--no-commit"]).len(), 10);
    let out = t.run(&["groups", "describe", "fresh"]);
    assert!(assert_error(&out, 1).contains("fresh"));
}

#[test]
fn reset_latest_follower_prints_only_new_records() {
    let (t, _) = ten_records();
    let m = Member::spawn(&t, "t", 2, "l", &["--reset", "latest"]);
    wait_taken(&t, "t", "l", &[0, 1], m.pid);
    // The member starts at the end and commits that position once caught up.
    let ends = log_ends(&t, "t");
    wait_until("the member owns both partitions at their end", || {
        try_rows(&t, "l").is_some_and(|rs| {
            field(&rs, "current_offset") == ends.iter().map(|&e| Some(e)).collect::<Vec<_>>()
                && rs
                    .iter()
                    .all(|r| r["member"].as_u64() == Some(m.pid as u64))
        })
    });
    produce_keyed(&t, "t", 10..15);
    wait_printed(&[&m], 5);
    let (_, recs) = m.terminate("the member");
    let ns: BTreeSet<u64> = recs.iter().map(|r| r.n).collect();
    assert_eq!(recs.len(), 5, "{recs:?}");
    assert_eq!(ns, (10..15).collect(), "only the new records");
    assert_eq!(
        current(&t, "l"),
        log_ends(&t, "t").into_iter().map(Some).collect::<Vec<_>>()
    );
}

#[test]
fn reset_latest_run_then_next_run_reads_only_new_records() {
    let (t, _) = ten_records();
    assert_eq!(
        t.consume("t", &["-g", "l", "--reset", "latest"]),
        Vec::<String>::new()
    );
    let new = produce_keyed(&t, "t", 10..15);
    // The first run positioned the group at the end (Kafka commits the position a consumer
    // started from, records or not): the next run reads what came since, whatever --reset.
    let next = t.consume("t", &["-g", "l", "--reset", "latest", "--no-commit"]);
    assert!(
        sorted(next.clone()) == sorted(new.clone()),
        "second `--reset latest` run printed {next:?}, expected the 5 new records"
    );
    let next = t.consume("t", &["-g", "l"]);
    assert!(
        sorted(next.clone()) == sorted(new),
        "second run without --reset printed {next:?}, expected the 5 new records"
    );
}

// ---------------------------------------------------------------------------------------
// 3. Two members sharing partitions while a producer writes

const TOTAL: u64 = 200_000;

#[test]
fn two_members_share_partitions_while_a_producer_writes() {
    let started = Instant::now();
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "4"]);
    let (input, _) = keyed(0..TOTAL);
    let (first_half, second_half) = split_lines(&input, TOTAL as usize / 2);

    let a = Member::spawn(&t, "t", 4, "g", &[]);
    wait_taken(&t, "t", "g", &[0, 1, 2, 3], a.pid);
    assert_eq!(owners(&t, "g"), Some(vec![Some(a.pid); 4]));
    // Paced, so that the first member catches up now and then while records keep coming.
    let producer = Producer::spawn(&t, "t", &["-K", ":"], Duration::from_millis(5));
    producer.send(first_half, 2000);
    wait_until(
        "the first member printed records of every partition",
        || {
            a.records()
                .iter()
                .map(|r| r.partition)
                .collect::<BTreeSet<_>>()
                .len()
                == 4
        },
    );
    // A second member joins while the first one reads: they split the partitions 2 and 2.
    let b = join_member(&t, "t", "g", a.pid);
    wait_until("each member owns 2 partitions", || {
        owners(&t, "g").is_some_and(|o| {
            o.iter().filter(|&&p| p == Some(a.pid)).count() == 2
                && o.iter().filter(|&&p| p == Some(b.pid)).count() == 2
        })
    });
    producer.send(second_half, 2000);
    producer.finish();
    wait_printed(&[&a, &b], TOTAL as usize);
    eprintln!(
        "two members: {} + {} records after {:?}",
        a.count(),
        b.count(),
        started.elapsed()
    );

    send_signal(a.pid, "TERM");
    send_signal(b.pid, "TERM");
    let (sa, ea, ra) = a.finish();
    let (sb, eb, rb) = b.finish();
    assert_eq!(sa.code(), Some(0), "first member on SIGTERM: {ea}");
    assert_eq!(sb.code(), Some(0), "second member on SIGTERM: {eb}");
    assert_no_repeats("first member", &ra);
    assert_no_repeats("second member", &rb);
    assert!(!rb.is_empty(), "the second member printed nothing");

    // Every record exactly once, across both.
    let mut by_partition: BTreeMap<u32, Vec<(i64, usize)>> = BTreeMap::new();
    for (who, recs) in [&ra, &rb].into_iter().enumerate() {
        for r in recs {
            by_partition
                .entry(r.partition)
                .or_default()
                .push((r.offset, who));
        }
    }
    let union: BTreeSet<(u32, i64)> = ra
        .iter()
        .chain(&rb)
        .map(|r| (r.partition, r.offset))
        .collect();
    assert_eq!(
        ra.len() + rb.len(),
        union.len(),
        "some records were printed twice"
    );
    let ns: BTreeSet<u64> = ra.iter().chain(&rb).map(|r| r.n).collect();
    let ends = log_ends(&t, "t");
    assert_complete(&union, &ns, &ends, TOTAL);

    // Members took turns on a partition, never read it at once: in offset order, the
    // printing member changes only at a hand-over.
    let mut switches = Vec::new();
    for (p, mut v) in by_partition {
        v.sort_unstable();
        let s = v.windows(2).filter(|w| w[0].1 != w[1].1).count();
        assert!(
            s <= 2,
            "partition {p}: the printing member changed {s} times"
        );
        switches.push(s);
    }
    // The first member had printed every partition when the second one took two of them.
    assert!(
        switches.iter().sum::<usize>() >= 2,
        "no hand-over between members: {switches:?}"
    );
    eprintln!("two members: owner switches per partition {switches:?}");

    // SIGTERM committed everything printed.
    let rs = rows(&t, "g");
    assert_eq!(
        field(&rs, "current_offset"),
        ends.iter().map(|&e| Some(e)).collect::<Vec<_>>()
    );
    assert!(rs.iter().all(|r| r["member"].is_null()), "{rs:?}");
}

#[test]
fn a_standby_member_waits_and_takes_over() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "1"]);
    produce_keyed(&t, "t", 0..10);
    let a = Member::spawn(&t, "t", 1, "g", &[]);
    wait_taken(&t, "t", "g", &[0], a.pid);
    wait_printed(&[&a], 10);
    let mut b = Member::spawn(&t, "t", 1, "g", &[]);
    // Nothing for the second member to own while the first lives: it must wait, not leave.
    // (A bounded look: this sleep can only let the bug go unnoticed, never fail a klog that
    // waits; the buggy member leaves within milliseconds.)
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if let Some(st) = b.child.try_wait().expect("try_wait") {
            panic!(
                "`klog consume t -g g -f` exited at once ({st:?}, printed {} records) while \
                 another member owned the only partition",
                b.count()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    a.terminate("the first member");
    wait_until("the standby member took the partition over", || {
        owners(&t, "g") == Some(vec![Some(b.pid)])
    });
    produce_keyed(&t, "t", 10..15);
    wait_printed(&[&b], 5);
    let (_, rb) = b.terminate("the standby member");
    let ns: BTreeSet<u64> = rb.iter().map(|r| r.n).collect();
    assert_eq!(
        ns,
        (10..15).collect(),
        "the standby printed only what came after"
    );
}

/// Partitions owned per member pid, from `groups describe` (every partition owned).
fn shares(t: &TestDir, group: &str, partitions: usize) -> Option<BTreeMap<u32, usize>> {
    let o = owners(t, group)?;
    if o.len() != partitions || o.iter().any(Option::is_none) {
        return None;
    }
    let mut by_pid = BTreeMap::new();
    for pid in o.into_iter().flatten() {
        *by_pid.entry(pid).or_insert(0) += 1;
    }
    Some(by_pid)
}

/// 3 members on 4 partitions got 2, 2 and 0 partitions (each rounded ⌈4/3⌉ up), though the
/// README says the members share them evenly: Kafka gives each ⌊P/M⌋ or ⌈P/M⌉.
#[test]
fn regression_three_members_on_four_partitions_share_two_one_one() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "4"]);
    produce_keyed(&t, "t", 0..100);
    let a = Member::spawn(&t, "t", 4, "g", &[]);
    wait_taken(&t, "t", "g", &[0, 1, 2, 3], a.pid);
    let b = Member::spawn(&t, "t", 4, "g", &[]);
    wait_until("two members own 2 partitions each", || {
        shares(&t, "g", 4).is_some_and(|s| s.get(&b.pid) == Some(&2))
    });
    let c = Member::spawn(&t, "t", 4, "g", &[]);
    let pids = [a.pid, b.pid, c.pid];
    let even = |s: &BTreeMap<u32, usize>| {
        let mut counts: Vec<usize> = pids
            .iter()
            .map(|p| s.get(p).copied().unwrap_or(0))
            .collect();
        counts.sort_unstable();
        counts == [1, 1, 2]
    };
    wait_until("the three members own 2, 1 and 1 partitions", || {
        shares(&t, "g", 4).is_some_and(|s| even(&s))
    });
    // Stable while membership is: the same owners over several rebalance ticks (250 ms).
    let settled = owners(&t, "g");
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        assert_eq!(owners(&t, "g"), settled, "the assignment changed");
        thread::sleep(Duration::from_millis(50));
    }
    // Every record printed once across the three.
    wait_printed(&[&a, &b, &c], 100);
    let mut all = Vec::new();
    for (m, what) in [(a, "a"), (b, "b"), (c, "c")] {
        let (_, recs) = m.terminate(what);
        all.extend(recs.into_iter().map(|r| r.n));
    }
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<u64>>());
}

// ---------------------------------------------------------------------------------------
// 4. kill -9 of a member mid-stream

#[test]
fn survivor_takes_over_after_kill_9_and_nothing_is_lost() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "4"]);
    let (input, _) = keyed(0..TOTAL);
    let (before, after) = split_lines(&input, TOTAL as usize * 3 / 4);

    let victim = Member::spawn(&t, "t", 4, "g", &[]);
    wait_taken(&t, "t", "g", &[0, 1, 2, 3], victim.pid);
    let survivor = join_member(&t, "t", "g", victim.pid);
    wait_until("each member owns 2 partitions", || {
        owners(&t, "g").is_some_and(|o| {
            o.iter().filter(|&&p| p == Some(victim.pid)).count() == 2
                && o.iter().filter(|&&p| p == Some(survivor.pid)).count() == 2
        })
    });
    let victim_parts: BTreeSet<u32> = owners(&t, "g")
        .expect("group")
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == Some(victim.pid))
        .map(|(p, _)| p as u32)
        .collect();

    let producer = Producer::spawn(&t, "t", &["-K", ":"], Duration::from_millis(5));
    producer.send(before, 1000);
    // Kill the victim while it streams, once it has committed a good part of what it printed
    // (it commits every second while it reads, and whenever it catches up).
    let committed_at_kill =
        |t: &TestDir| -> Vec<i64> { current(t, "g").iter().map(|o| o.unwrap_or(0)).collect() };
    wait_until("the victim committed 10 000 records", || {
        let c = committed_at_kill(&t);
        victim_parts.iter().map(|&p| c[p as usize]).sum::<i64>() >= 10_000
    });
    send_signal(victim.pid, "KILL");
    // Committed offsets only grow: what is read now is at most where the survivor restarts.
    let floor = committed_at_kill(&t);
    let (status, _, rv) = victim.finish();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    wait_until("the survivor owns all 4 partitions", || {
        owners(&t, "g") == Some(vec![Some(survivor.pid); 4])
    });
    // The producer is still running: the rest of the records arrive after the take-over.
    producer.send(after, 1000);
    producer.finish();
    let ends = log_ends(&t, "t");
    wait_until("every record was printed by one of the two members", || {
        let printed: HashSet<(u32, i64)> = rv
            .iter()
            .chain(survivor.records().iter())
            .map(|r| (r.partition, r.offset))
            .collect();
        printed.len() as u64 >= TOTAL
    });
    let (_, rs) = survivor.terminate("survivor");
    assert_no_repeats("killed member", &rv);
    assert_no_repeats("survivor", &rs);

    let union: BTreeSet<(u32, i64)> = rv
        .iter()
        .chain(&rs)
        .map(|r| (r.partition, r.offset))
        .collect();
    let ns: BTreeSet<u64> = rv.iter().chain(&rs).map(|r| r.n).collect();
    assert_complete(&union, &ns, &ends, TOTAL);

    // Duplicates: only records the killed member printed after its last commit, i.e. on each
    // of its partitions, every offset it printed from the survivor's restart point on.
    let printed_by = |recs: &[Rec], p: u32| -> BTreeSet<i64> {
        recs.iter()
            .filter(|r| r.partition == p)
            .map(|r| r.offset)
            .collect()
    };
    let mut dups = 0;
    for p in 0..4 {
        let v = printed_by(&rv, p);
        let s = printed_by(&rs, p);
        let both: BTreeSet<i64> = v.intersection(&s).copied().collect();
        if !victim_parts.contains(&p) {
            assert!(v.is_empty(), "the killed member printed partition {p}");
        }
        if victim_parts.contains(&p) {
            // The survivor never owned this partition before: its first offset is its restart.
            let restart = s.first().copied();
            assert!(
                restart.is_none_or(|r| r >= floor[p as usize]),
                "partition {p}: the survivor restarted at {restart:?}, below the committed \
                 offset {} of the killed member",
                floor[p as usize]
            );
        }
        if let Some(&from) = both.first() {
            let tail: BTreeSet<i64> = v.range(from..).copied().collect();
            assert_eq!(
                both, tail,
                "partition {p}: duplicates must be exactly what the killed member printed from \
                 offset {from} (its last commit) on"
            );
        }
        dups += both.len();
    }
    eprintln!(
        "kill -9: victim printed {}, survivor {}, {dups} printed twice",
        rv.len(),
        rs.len()
    );
    let rows = rows(&t, "g");
    assert_eq!(
        field(&rows, "current_offset"),
        ends.iter().map(|&e| Some(e)).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------
// 4b. Committed offsets outside the log

/// Cuts the active segment of `topic-p` at the batch that starts at `offset`, as recovery cuts
/// a torn tail: the log end falls back to `offset`.
fn cut_log_at(t: &TestDir, topic: &str, p: u32, offset: i64) {
    let dir = t.partition_dir(topic, p);
    let base = *segment_bases(&dir).last().expect("a segment");
    let path = segment_file(&dir, base, ".log");
    let bytes = std::fs::read(&path).expect("read the log");
    let at = frames(&bytes)
        .iter()
        .find(|f| f.base_offset == offset)
        .unwrap_or_else(|| panic!("no batch starts at {offset}"))
        .position;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open the log");
    f.set_len(at).expect("cut the log");
    assert_eq!(
        log_ends(t, topic)[p as usize],
        offset,
        "log end after the cut"
    );
}

/// A 1-partition topic with `k0..k19` in two batches (offsets 0-10 and 11-19), read to its
/// end by group `g`, whose log then loses its second batch: `g` has committed 20, the log
/// ends at 11.
fn committed_past_the_end(groups: &[&str]) -> (TestDir, Vec<String>) {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "1"]);
    let mut values = produce_keyed(&t, "t", 0..11);
    values.extend(produce_keyed(&t, "t", 11..20));
    for g in groups {
        assert_eq!(t.consume("t", &["-g", g]).len(), 20);
        assert_eq!(current(&t, g), vec![Some(20)]);
    }
    cut_log_at(&t, "t", 0, 11);
    (t, values)
}

/// Group committed at 20; the log end fell back to 11 and new records arrived at 11..25:
/// `consume -g` printed only 20..25 (skipping 11..19) and `groups describe` showed LAG 0.
/// Kafka resets an out-of-range committed offset by `auto.offset.reset`.
#[test]
fn regression_a_committed_offset_past_the_log_end_is_reset_by_reset() {
    let (t, values) = committed_past_the_end(&["e", "l"]);

    // describe flags it: no lag (where the next member starts depends on its --reset).
    let out = t.run(&["groups", "describe", "e", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rs = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rs[0]["current_offset"], 20);
    assert_eq!(rs[0]["log_end_offset"], 11);
    assert_eq!(rs[0]["out_of_range"], "past_log_end", "{rs}");
    assert!(rs[0]["lag"].is_null(), "{rs}");
    assert!(
        stderr_of(&out).contains("committed offset 20 of t-0 is past the log end 11"),
        "{}",
        stderr_of(&out)
    );
    let table = t.ok(&["groups", "describe", "e"]);
    assert!(table.contains("20 (past log end)"), "{table}");

    // --reset earliest (the default): from the log start, with a one-line warning naming the
    // partition and both offsets.
    let out = t.run(&["consume", "t", "-g", "e"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        values[..11]
    );
    assert_eq!(
        stderr_of(&out),
        "klog: warning: group 'e' committed offset 20 of t-0 is past the log end 11; starting \
         at 0 (--reset earliest)\n"
    );
    // --reset latest: from the log end.
    let out = t.run(&["consume", "t", "-g", "l", "--reset", "latest"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr_of(&out).contains(
            "committed offset 20 of t-0 is past the log end 11; starting at 11 (--reset latest)"
        ),
        "{}",
        stderr_of(&out)
    );
    for g in ["e", "l"] {
        assert_eq!(current(&t, g), vec![Some(11)], "group {g}");
        let rs = rows(&t, g);
        assert!(
            rs[0]["out_of_range"].is_null() && rs[0]["lag"] == 0,
            "{rs:?}"
        );
    }
    // New records at 11..25 are all read, not only those from 20 on.
    let new = produce_keyed(&t, "t", 100..114);
    for g in ["e", "l"] {
        assert_eq!(t.consume("t", &["-g", g]), new, "group {g}");
    }
}

/// Below the log start, the committed offset went to the log start whatever `--reset` said;
/// `--reset latest` goes to the log end, as Kafka does.
#[test]
fn regression_a_committed_offset_below_the_log_start_follows_reset() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "t",
        "-p",
        "1",
        "-c",
        "segment.bytes=300",
    ]);
    let values: Vec<String> = (0..20)
        .flat_map(|i| produce_keyed(&t, "t", i..i + 1))
        .collect();
    for g in ["e", "l"] {
        reset(&t, &[g, "--topic", "t", "--to-offset", "2"]);
    }
    t.ok(&["trim", "t", "--before", "10"]);
    let start = t.describe("t")["partitions"][0]["log_start_offset"]
        .as_i64()
        .expect("log start");
    assert!((3..=10).contains(&start), "log start {start}");
    assert_eq!(rows(&t, "l")[0]["out_of_range"], "below_log_start");

    let out = t.run(&["consume", "t", "-g", "l", "--reset", "latest"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr_of(&out).contains(&format!(
            "committed offset 2 of t-0 is below the log start {start}; starting at 20 (--reset latest)"
        )),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(current(&t, "l"), vec![Some(20)]);
    let out = t.run(&["consume", "t", "-g", "e"]);
    assert!(
        stderr_of(&out).contains(&format!("starting at {start} (--reset earliest)")),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        values[start as usize..]
    );
}

/// A following member whose log loses its tail under it waited at its old position, so
/// that it skipped the new records below it: it resets its position by --reset too.
#[test]
fn regression_a_follower_whose_log_loses_its_tail_resets_its_position() {
    let (t, _) = committed_past_the_end(&[]);
    assert_eq!(t.consume("t", &["-g", "f"]).len(), 11);
    // Put the group at 20 as if it had read the lost batch, then follow.
    let lost = produce_keyed(&t, "t", 11..20);
    assert_eq!(t.consume("t", &["-g", "f"]), lost);
    let m = Member::spawn(&t, "t", 1, "f", &["--reset", "latest"]);
    wait_until("the member owns the partition at offset 20", || {
        try_rows(&t, "f").is_some_and(|rs| {
            rs[0]["member"].as_u64() == Some(m.pid as u64) && rs[0]["current_offset"] == 20
        })
    });
    cut_log_at(&t, "t", 0, 11);
    wait_until("the member moved to the log end and committed it", || {
        current(&t, "f") == vec![Some(11)]
    });
    let new = produce_keyed(&t, "t", 100..114);
    wait_printed(&[&m], 14);
    let (stderr, recs) = m.terminate("the member");
    assert_eq!(
        recs.iter().map(|r| (r.offset, r.n)).collect::<Vec<_>>(),
        (11..25).zip(100..114).collect::<Vec<_>>(),
        "{new:?}"
    );
    assert!(
        stderr
            .contains("position 20 of t-0 is past the log end 11; starting at 11 (--reset latest)"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// 5. describe's lag and every reset target

const COUNTS: [i64; 4] = [40, 25, 7, 0];

#[test]
fn describe_lag_and_reset_targets() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "4"]);
    for (p, &n) in COUNTS.iter().enumerate() {
        if n > 0 {
            let input: String = (0..n).map(|i| format!("p{p}-{i}\n")).collect();
            t.produce("t", input, &["-p", &p.to_string()]);
        }
    }
    // Known committed offsets on three partitions; none on the fourth.
    for (p, o) in [(0, 10), (1, 25), (2, 0)] {
        let r = reset(
            &t,
            &[
                "g",
                "--topic",
                "t",
                "-p",
                &p.to_string(),
                "--to-offset",
                &o.to_string(),
            ],
        );
        assert_eq!(r, vec![(None, o)]);
    }
    let rs = rows(&t, "g");
    assert_eq!(rs.len(), 4);
    assert_eq!(
        field(&rs, "partition"),
        vec![Some(0), Some(1), Some(2), Some(3)]
    );
    assert_eq!(field(&rs, "log_start_offset"), vec![Some(0); 4]);
    assert_eq!(
        field(&rs, "log_end_offset"),
        COUNTS.iter().map(|&c| Some(c)).collect::<Vec<_>>()
    );
    assert_eq!(
        field(&rs, "current_offset"),
        vec![Some(10), Some(25), Some(0), None]
    );
    assert_eq!(field(&rs, "lag"), vec![Some(30), Some(0), Some(7), None]);
    assert!(
        rs.iter()
            .all(|r| r["member"].is_null() && r["group"] == "g")
    );
    let list = json(&t.ok(&["groups", "list", "--json"]));
    assert_eq!(
        list,
        serde_json::json!([
            {"group": "g", "topics": ["t"], "partitions": 3, "members": 0, "lag": 37, "source": "klog"}
        ])
    );
    // A consumer then reads exactly the lag.
    let lag_read = t.consume("t", &["-g", "g", "--no-commit"]);
    assert_eq!(lag_read.len(), 37);
    assert!(lag_read.contains(&"p0-10".to_string()) && !lag_read.contains(&"p0-9".to_string()));

    let cur = |t: &TestDir| current(t, "g");
    let to = |v: [i64; 4]| v.iter().map(|&o| Some(o)).collect::<Vec<_>>();
    let moved = |r: Vec<(Option<i64>, i64)>| r.iter().map(|x| x.1).collect::<Vec<_>>();

    let r = reset(&t, &["g", "--topic", "t", "--to-earliest"]);
    assert_eq!(
        r,
        vec![(Some(10), 0), (Some(25), 0), (Some(0), 0), (None, 0)]
    );
    assert_eq!(cur(&t), to([0, 0, 0, 0]));

    let r = reset(&t, &["g", "--topic", "t", "--to-latest"]);
    assert_eq!(moved(r), COUNTS);
    assert_eq!(cur(&t), to(COUNTS));
    assert_eq!(field(&rows(&t, "g"), "lag"), vec![Some(0); 4]);

    let r = reset(
        &t,
        &[
            "g",
            "--topic",
            "t",
            "-p",
            "0",
            "-p",
            "2",
            "--to-offset",
            "5",
        ],
    );
    assert_eq!(r, vec![(Some(40), 5), (Some(7), 5)]);
    assert_eq!(cur(&t), to([5, 25, 5, 0]));

    let r = reset(&t, &["g", "--topic", "t", "--shift-by", "-3"]);
    assert_eq!(moved(r), [2, 22, 2, 0]);
    assert_eq!(cur(&t), to([2, 22, 2, 0]));
    let r = reset(&t, &["g", "--topic", "t", "--shift-by", "-100"]);
    assert_eq!(moved(r), [0, 0, 0, 0], "clamped to the log start");
    let r = reset(&t, &["g", "--topic", "t", "--shift-by", "30"]);
    assert_eq!(moved(r), [30, 25, 7, 0], "clamped to the log end");
    assert_eq!(cur(&t), to([30, 25, 7, 0]));
    let r = reset(&t, &["g", "--topic", "t", "-p", "1", "--shift-by", "-1"]);
    assert_eq!(r, vec![(Some(25), 24)]);
    assert_eq!(
        field(&rows(&t, "g"), "lag"),
        vec![Some(10), Some(1), Some(0), Some(0)]
    );

    // --dry-run prints old and new, changes nothing.
    let out = t.run(&[
        "groups",
        "reset",
        "g",
        "--topic",
        "t",
        "--to-earliest",
        "--dry-run",
        "--json",
    ]);
    assert!(out.status.success(), "stderr: {}", stderr_of(&out));
    let printed = json(&String::from_utf8_lossy(&out.stdout));
    let pairs: Vec<(Option<i64>, Option<i64>)> = printed
        .as_array()
        .expect("array")
        .iter()
        .map(|r| (r["old_offset"].as_i64(), r["new_offset"].as_i64()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (Some(30), Some(0)),
            (Some(24), Some(0)),
            (Some(7), Some(0)),
            (Some(0), Some(0))
        ]
    );
    assert!(stderr_of(&out).contains("dry run"), "{}", stderr_of(&out));
    assert_eq!(cur(&t), to([30, 24, 7, 0]), "--dry-run changed offsets");
}

#[test]
fn reset_to_time_and_by_duration() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "ts", "-p", "1"]);
    let input: String = [1000, 2000, 3000, 4000]
        .iter()
        .enumerate()
        .map(|(i, ts)| format!("{{\"value\": \"r{i}\", \"timestamp\": {ts}}}\n"))
        .collect();
    t.produce("ts", input, &["--json"]);
    for (time, expected) in [
        ("0", 0),
        ("1000", 0),
        ("1001", 1),
        ("2500", 2),
        ("1970-01-01T00:00:02Z", 1),
        ("4000", 3),
        ("4001", 4),
    ] {
        let r = reset(&t, &["g", "--topic", "ts", "--to-time", time]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].1, expected, "--to-time {time}");
        assert_eq!(current(&t, "g"), vec![Some(expected)], "--to-time {time}");
    }

    // Records from two hours ago, one hour ago and now.
    t.ok(&["topics", "create", "recent", "-p", "1"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let hour = 3_600_000;
    let input: String = [now - 2 * hour, now - hour, now]
        .iter()
        .enumerate()
        .map(|(i, ts)| format!("{{\"value\": \"h{i}\", \"timestamp\": {ts}}}\n"))
        .collect();
    t.produce("recent", input, &["--json"]);
    for (dur, expected, value) in [("3h", 0, "h0"), ("90m", 1, "h1"), ("30m", 2, "h2")] {
        let r = reset(&t, &["g", "--topic", "recent", "--by-duration", dur]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].1, expected, "--by-duration {dur}");
        assert_eq!(
            t.consume("recent", &["-g", "g", "-n", "1", "--no-commit"]),
            [value],
            "first record after --by-duration {dur}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 6. reset and delete refuse while a member is live

#[test]
fn reset_and_delete_refuse_while_a_member_is_live() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "2"]);
    produce_keyed(&t, "t", 0..100);
    let ends: Vec<Option<i64>> = log_ends(&t, "t").into_iter().map(Some).collect();

    let member = Member::spawn(&t, "t", 2, "g", &[]);
    let pid = member.pid;
    wait_taken(&t, "t", "g", &[0, 1], pid);
    wait_until(
        "the member owns both partitions and committed their end",
        || {
            try_rows(&t, "g").is_some_and(|rs| {
                field(&rs, "current_offset") == ends
                    && rs.iter().all(|r| r["member"].as_u64() == Some(pid as u64))
            })
        },
    );
    let listed = json(&t.ok(&["groups", "list", "--json"]));
    assert_eq!(listed[0]["members"], 1, "{listed}");

    let out = t.run(&["groups", "reset", "g", "--topic", "t", "--to-earliest"]);
    let err = assert_error(&out, 1);
    assert!(
        err.contains(&pid.to_string()) && err.contains("live member"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(current(&t, "g"), ends, "a refused reset changed offsets");

    let out = t.run(&["groups", "delete", "g"]);
    let err = assert_error(&out, 1);
    assert!(
        err.contains(&pid.to_string()) && err.contains("live member"),
        "{err}"
    );
    assert_eq!(current(&t, "g"), ends, "a refused delete changed offsets");

    send_signal(pid, "TERM");
    let (status, stderr, recs) = member.finish();
    assert_eq!(status.code(), Some(0), "member stderr: {stderr}");
    assert!(stderr.is_empty(), "member stderr: {stderr}");
    assert_eq!(recs.len(), 100);
    assert_eq!(
        field(&rows(&t, "g"), "member"),
        vec![None, None],
        "no member after exit"
    );

    let r = reset(&t, &["g", "--topic", "t", "--to-earliest"]);
    assert_eq!(r, ends.iter().map(|&e| (e, 0)).collect::<Vec<_>>());
    assert_eq!(current(&t, "g"), vec![Some(0), Some(0)]);
    let out = t.run(&["groups", "delete", "g"]);
    assert!(out.status.success(), "delete: {}", stderr_of(&out));
    assert!(stderr_of(&out).contains("deleted group 'g'"));
    let err = assert_error(&t.run(&["groups", "describe", "g"]), 1);
    assert!(err.contains("'g'"), "{err}");
    assert_eq!(
        json(&t.ok(&["groups", "list", "--json"])),
        serde_json::json!([])
    );
    // Deleted means forgotten: a new run starts from the beginning.
    assert_eq!(t.consume("t", &["-g", "g"]).len(), 100);
}

/// Files of group `g` in every partition directory of `topic` (offsets, locks, member slots,
/// temp files), as `t-<p>/<name>`.
fn group_files(t: &TestDir, topic: &str, partitions: u32, group: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in 0..partitions {
        for n in names_in(&t.partition_dir(topic, p)) {
            if n.starts_with(&format!("klog-group.{group}."))
                || n.starts_with(&format!(".klog-group.{group}."))
            {
                out.push(format!("{topic}-{p}/{n}"));
            }
        }
    }
    out
}

/// `groups delete` removed the committed offsets but left `.klog-group.<g>.lock` in every
/// partition and the member slots in partition 0; a group read only with `--no-commit` (lock
/// and slot files, no offsets) could not be deleted at all.
#[test]
fn regression_delete_removes_lock_and_member_slot_files() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "2"]);
    let values = produce_keyed(&t, "t", 0..20);
    assert_eq!(t.consume("t", &["-g", "g"]).len(), 20);
    let before = group_files(&t, "t", 2, "g");
    for f in [
        "t-0/.klog-group.g.lock",
        "t-1/.klog-group.g.lock",
        "t-0/.klog-group.g.member-0",
    ] {
        assert!(before.contains(&f.to_string()), "{f} not in {before:?}");
    }

    // A live member that owns no partition (it holds only its slot) blocks the delete.
    let slot = hold_member_slot(&t, "t", "g");
    let err = assert_error(&t.run(&["groups", "delete", "g"]), 1);
    assert!(err.contains("live member") && err.contains("'g'"), "{err}");
    assert_eq!(
        group_files(&t, "t", 2, "g"),
        before,
        "a refused delete removed files"
    );
    drop(slot);

    let out = t.run(&["groups", "delete", "g"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(group_files(&t, "t", 2, "g"), Vec::<String>::new());
    assert_error(&t.run(&["groups", "describe", "g"]), 1);

    // A group read with --no-commit has no offsets, only files left behind: delete takes them.
    assert_eq!(t.consume("t", &["-g", "n", "--no-commit"]).len(), 20);
    assert!(!group_files(&t, "t", 2, "n").is_empty());
    let out = t.run(&["groups", "delete", "n"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(group_files(&t, "t", 2, "n"), Vec::<String>::new());
    assert_error(&t.run(&["groups", "delete", "n"]), 1);

    // A group deleted, then used again, works from the start.
    assert!(sorted(t.consume("t", &["-g", "g"])) == sorted(values));
}

#[test]
fn a_member_of_some_partitions_blocks_only_those() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "2"]);
    produce_keyed(&t, "t", 0..20);
    let ends = log_ends(&t, "t");
    let member = Member::spawn(&t, "t", 2, "g", &["-p", "0"]);
    let pid = member.pid;
    wait_taken(&t, "t", "g", &[0], pid);
    wait_until("describe shows the member on partition 0", || {
        owners(&t, "g") == Some(vec![Some(pid), None])
    });
    let r = reset(&t, &["g", "--topic", "t", "-p", "1", "--to-offset", "1"]);
    assert_eq!(r, vec![(None, 1)]);
    let err = assert_error(
        &t.run(&[
            "groups",
            "reset",
            "g",
            "--topic",
            "t",
            "-p",
            "0",
            "--to-earliest",
        ]),
        1,
    );
    assert!(err.contains(&pid.to_string()), "{err}");
    send_signal(pid, "TERM");
    let (status, stderr, recs) = member.finish();
    assert_eq!(status.code(), Some(0), "member stderr: {stderr}");
    assert!(recs.iter().all(|r| r.partition == 0));
    assert_eq!(recs.len() as i64, ends[0]);
    assert_eq!(current(&t, "g"), vec![Some(ends[0]), Some(1)]);
}

// ---------------------------------------------------------------------------------------
// 7. Bad input

#[test]
fn bad_group_commands_fail_with_clear_errors() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "4"]);
    produce_keyed(&t, "t", 0..50);
    assert_eq!(t.consume("t", &["-g", "g", "-n", "10"]).len(), 10);
    let before = current(&t, "g");

    for cmd in ["describe", "delete"] {
        let err = assert_error(&t.run(&["groups", cmd, "nosuchgroup"]), 1);
        assert!(err.contains("nosuchgroup"), "{cmd}: {err}");
    }
    let err = assert_error(
        &t.run(&[
            "groups",
            "reset",
            "g",
            "--topic",
            "nosuchtopic",
            "--to-earliest",
        ]),
        1,
    );
    assert!(err.contains("nosuchtopic"), "{err}");

    // An offset past the log end is moved to it, as Kafka's tool does (times.rs); a negative
    // one or a non-number is refused.
    for bad in ["-1".to_string(), "1x".to_string()] {
        let arg = format!("--to-offset={bad}");
        let err = assert_error(
            &t.run(&["groups", "reset", "g", "--topic", "t", "-p", "0", &arg]),
            2,
        );
        assert!(err.contains(&bad), "{err}");
    }
    assert_eq!(current(&t, "g"), before, "a refused reset changed offsets");

    let err = assert_error(
        &t.run(&[
            "groups",
            "reset",
            "g",
            "--topic",
            "t",
            "-p",
            "9",
            "--to-earliest",
        ]),
        2,
    );
    assert!(err.contains('9'), "{err}");
    assert_error(&t.run(&["consume", "t", "-g", "g", "-p", "9"]), 2);
    assert_eq!(current(&t, "g"), before);

    let too_long = "g".repeat(224);
    for name in ["", too_long.as_str()] {
        for args in [
            vec!["consume", "t", "-g", name],
            vec!["groups", "describe", name],
            vec!["groups", "delete", name],
            vec!["groups", "reset", name, "--topic", "t", "--to-earliest"],
        ] {
            let err = assert_error(&t.run(&args), 2);
            assert!(err.contains("invalid group name"), "{args:?}: {err}");
        }
    }

    // Usage errors from the argument parser.
    let out = t.run(&["consume", "t", "--reset", "latest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--group"), "{}", stderr_of(&out));
    let out = t.run(&["consume", "t", "--no-commit"]);
    assert_eq!(out.status.code(), Some(2));
    let out = t.run(&["groups", "reset", "g", "--topic", "t"]);
    assert_eq!(out.status.code(), Some(2), "a reset without a target");
    assert_eq!(current(&t, "g"), before);
    assert!(out.stdout.is_empty());
}

/// Every file name in a directory, sorted.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| {
            e.expect("entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name")
        })
        .collect();
    v.sort();
    v
}

/// Group ids that Kafka accepts (`app:etl`, spaces, any Unicode, even `/` and `..`) were
/// refused as "invalid group name"; they work, and are stored percent-encoded inside the
/// partition directory.
#[test]
fn regression_group_ids_with_any_characters_work_and_stay_in_their_directory() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "1"]);
    let values = produce_keyed(&t, "t", 0..10);
    let data_before = names_in(t.data());
    let longest = "x".repeat(223);
    let groups: [(&str, &str); 9] = [
        ("app:etl", "app%3Aetl"),
        ("with space", "with%20space"),
        ("ünï ☃", "%C3%BCn%C3%AF%20%E2%98%83"),
        ("../../escape", "..%2F..%2Fescape"),
        ("a/b", "a%2Fb"),
        ("%41", "%2541"),
        ("A", "A"),
        ("..", ".."),
        (&longest, &longest),
    ];
    for (i, (g, _)) in groups.iter().enumerate() {
        // Each group reads a different number of records, so that offsets tell them apart.
        let n = (i + 1).to_string();
        assert_eq!(
            t.consume("t", &["-g", g, "-n", &n]),
            values[..i + 1],
            "group {g:?}"
        );
    }
    // Nothing was written outside the partition directory, and there under encoded names.
    assert_eq!(names_in(t.data()), data_before);
    let files = names_in(&t.partition_dir("t", 0));
    for (g, enc) in groups {
        let json = format!("klog-group.{enc}.json");
        assert!(files.contains(&json), "no {json} for {g:?} in {files:?}");
        let text = std::fs::read_to_string(t.partition_dir("t", 0).join(&json)).expect("read");
        assert_eq!(json_value(&text)["group"], g, "{json}");
    }
    // list prints the decoded names; describe and a second run find each group's offset.
    let listed: BTreeSet<String> = json(&t.ok(&["groups", "list", "--json"]))
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["group"].as_str().expect("group").to_string())
        .collect();
    assert_eq!(listed, groups.iter().map(|(g, _)| g.to_string()).collect());
    let table = t.ok(&["groups", "list"]);
    assert!(
        table.contains("app:etl") && table.contains("ünï ☃"),
        "{table}"
    );
    for (i, (g, _)) in groups.iter().enumerate() {
        assert_eq!(current(&t, g), vec![Some(i as i64 + 1)], "group {g:?}");
        let rest = t.consume("t", &["-g", g]);
        assert_eq!(rest, values[i + 1..], "group {g:?}");
    }
    // One byte more than fits in a file name is refused, naming the limit.
    for name in ["x".repeat(224), "☃".repeat(25)] {
        let err = assert_error(&t.run(&["consume", "t", "-g", &name]), 2);
        assert!(err.contains("too long") && err.contains("223"), "{err}");
    }
    let out = t.run(&["groups", "delete", "a/b"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!names_in(&t.partition_dir("t", 0)).contains(&"klog-group.a%2Fb.json".to_string()));
    assert_eq!(
        t.consume("t", &["-g", "a/b"]),
        values,
        "deleted: read from the start"
    );
}

fn json_value(text: &str) -> Value {
    json(text.trim_end())
}

/// A member killed between writing its commit's temp file and renaming it left
/// `.klog-group.g.json.<pid>.tmp` behind, and nothing ever removed it.
#[test]
fn regression_temp_files_of_killed_commits_are_swept_by_the_next_owner() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "2"]);
    let values = produce_keyed(&t, "t", 0..20);
    // The pid of a process that has exited, as a killed member's would be.
    let mut gone = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let dead = gone.id();
    gone.wait().expect("wait");
    let torn = format!(".klog-group.g.json.{dead}.tmp");
    let other = format!(".klog-group.h.json.{dead}.tmp");
    for p in 0..2 {
        for name in [&torn, &other] {
            std::fs::write(t.partition_dir("t", p).join(name), "{\"group\":\"g\",\"to")
                .expect("plant a temp file");
        }
    }
    let read = t.consume("t", &["-g", "g"]);
    assert!(sorted(read) == sorted(values), "the member read everything");
    for p in 0..2 {
        let files = names_in(&t.partition_dir("t", p));
        assert!(
            !files.contains(&torn),
            "t-{p}: {torn} is still there: {files:?}"
        );
        assert!(
            files.contains(&other),
            "t-{p}: another group's temp file was removed: {files:?}"
        );
        assert!(
            files.contains(&"klog-group.g.json".to_string()),
            "{files:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 8. A closed pipe

#[test]
fn closed_pipe_commits_nothing_unread() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "4"]);
    // Far more than the pipe and klog's output buffer hold together.
    let values = produce_keyed(&t, "t", 0..100_000);

    let mut child = t
        .klog_std()
        .args(["consume", "t", "-g", "g"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn klog consume");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut read = Vec::new();
    for _ in 0..10 {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read a line");
        read.push(line.trim_end().to_string());
    }
    drop(stdout); // like `head` exiting
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(&out));
    assert!(out.stderr.is_empty(), "stderr: {}", stderr_of(&out));
    let committed: i64 = current(&t, "g").iter().flatten().sum();
    eprintln!("closed pipe: read 10 lines, {committed} records committed");

    let rest = t.consume("t", &["-g", "g"]);
    let union: BTreeSet<&String> = read.iter().chain(&rest).collect();
    let missing = values.iter().filter(|v| !union.contains(v)).count();
    assert_eq!(missing, 0, "records never printed to a reader");
    assert_eq!(
        rest.iter().collect::<BTreeSet<_>>().len(),
        rest.len(),
        "the second run repeats records"
    );
}

// ---------------------------------------------------------------------------------------
// 9. A Kafka broker's groups, from its __consumer_offsets topic

/// `../shared/fixtures/kafka` (broker data directories found in public repositories), or
/// `None` after a note on stderr when it is absent. Under `CI=true` its absence fails the test
/// instead: CI must not pass without having read the fixtures.
fn broker_fixtures() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/kafka"
    ));
    if dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing (CI=true: the fixtures must be there)",
        dir.display()
    );
    eprintln!("skipping: {} not found", dir.display());
    None
}

/// Copies a directory tree.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// Every file under `dir` with its size and modification time, to show that nothing changed.
fn listing(dir: &std::path::Path) -> BTreeMap<std::path::PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let e = e.expect("entry");
        let m = e.metadata().expect("metadata");
        if m.is_dir() {
            out.extend(listing(&e.path()));
        }
        out.insert(e.path(), (m.len(), m.modified().expect("mtime")));
    }
    out
}

/// What the broker's commits say, from `segments dump --records` of each `__consumer_offsets`
/// partition (whose lines `kafka_fixtures` checks against an independent decoder): in offset
/// order the last commit per (group, topic, partition) wins and a tombstone deletes.
fn commits_from_dump(t: &TestDir) -> BTreeMap<(String, String, u32), i64> {
    let mut out = BTreeMap::new();
    for entry in names_in(t.data()) {
        if !entry.starts_with("__consumer_offsets-") {
            continue;
        }
        let dir = t.data().join(&entry);
        let dump = t.ok(&["segments", "dump", dir.to_str().expect("path"), "--records"]);
        for line in dump.lines() {
            let Some(rest) = line.split("key: offset_commit::group=").nth(1) else {
                continue;
            };
            let (key, payload) = rest.split_once(" payload: ").expect("payload");
            let (group, rest) = key.split_once(",topic=").expect("topic");
            let (topic, partition) = rest.split_once(",partition=").expect("partition");
            let k = (
                group.to_string(),
                topic.to_string(),
                partition.parse::<u32>().expect("partition number"),
            );
            if payload == "<DELETE>" {
                out.remove(&k);
            } else {
                let offset = payload
                    .strip_prefix("offset=")
                    .and_then(|s| s.split(',').next())
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or_else(|| panic!("offset in {line}"));
                out.insert(k, offset);
            }
        }
    }
    out
}

/// `groups list` and `groups describe` on a Kafka broker's data directory showed no group:
/// the broker keeps its groups' offsets in `__consumer_offsets`, which klog only dumped.
#[test]
fn regression_groups_of_a_broker_come_from_its_consumer_offsets() {
    let Some(fx) = broker_fixtures() else { return };
    let dirs = [
        "xpxwo100__bullShit/tmp/kafka-logs",
        "cobyforrester__kafka/history/32ed774168/data/kafka",
        "cobyforrester__kafka/data/kafka",
        "DonaldY__kafka-2.7.1/kafka-logs",
        "ronem123__rupia-transaction-service/kafka-logs",
    ];
    let mut groups_seen = BTreeMap::new();
    for rel in dirs {
        let t = TestDir::new();
        copy_tree(&fx.join(rel), t.data());
        let before = listing(t.data());
        let want = commits_from_dump(&t);

        let list = json(&t.ok(&["groups", "list", "--json"]));
        let listed: BTreeSet<(String, String)> = list
            .as_array()
            .expect("array")
            .iter()
            .map(|r| {
                (
                    r["group"].as_str().expect("group").to_string(),
                    r["source"].as_str().expect("source").to_string(),
                )
            })
            .collect();
        let want_groups: BTreeSet<(String, String)> = want
            .keys()
            .map(|(g, _, _)| (g.clone(), "kafka".to_string()))
            .collect();
        assert_eq!(listed, want_groups, "{rel}");
        for (g, _) in &want_groups {
            let rs = rows(&t, g);
            let got: BTreeMap<(String, String, u32), i64> = rs
                .iter()
                .map(|r| {
                    assert_eq!(r["source"], "kafka", "{rel}: {r}");
                    assert!(r["member"].is_null(), "{rel}: {r}");
                    let topic = r["topic"].as_str().expect("topic").to_string();
                    let p = r["partition"].as_u64().expect("partition") as u32;
                    // The lag is against the partition's log here.
                    let end = log_ends(&t, &topic)[p as usize];
                    let offset = r["current_offset"].as_i64().expect("offset");
                    assert_eq!(r["log_end_offset"], end, "{rel}: {r}");
                    assert_eq!(r["lag"].as_i64(), Some(end - offset), "{rel}: {r}");
                    ((g.clone(), topic, p), offset)
                })
                .collect();
            let want_g: BTreeMap<_, _> = want
                .iter()
                .filter(|((wg, _, _), _)| wg == g)
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            assert_eq!(got, want_g, "{rel}: group {g}");
            let table = t.ok(&["groups", "describe", g]);
            assert!(
                table.contains("SOURCE") && table.contains("kafka"),
                "{table}"
            );
            groups_seen.insert(g.clone(), got);
        }
        // Reading the broker's offsets changed nothing in its directory.
        assert_eq!(listing(t.data()), before, "{rel}: files changed");
    }
    // Facts of these directories (SOURCES.md and the dumps): APP-NAME read first_topic to its
    // end; GroupA committed foo-0 at its end; DonaldY's and ronem123's groups were deleted
    // (tombstones) by the broker.
    let app: Vec<i64> = groups_seen["APP-NAME"].values().copied().collect();
    assert_eq!(app, [4, 3, 1]);
    assert_eq!(
        groups_seen["GroupA"],
        BTreeMap::from([(("GroupA".into(), "foo".into(), 0), 204)])
    );
    assert_eq!(groups_seen.len(), 2, "{groups_seen:?}");
}

/// Where klog's own offsets and a broker's exist for one group, both are shown, each marked
/// with its source; `groups delete` deletes klog's and leaves the broker's.
#[test]
fn klog_and_broker_offsets_of_one_group_are_both_shown_and_marked() {
    let Some(fx) = broker_fixtures() else { return };
    let t = TestDir::new();
    copy_tree(&fx.join("xpxwo100__bullShit/tmp/kafka-logs"), t.data());
    assert_eq!(t.consume("foo", &["-g", "GroupA", "-n", "5"]).len(), 5);
    let rs = rows(&t, "GroupA");
    let got: Vec<(String, Option<i64>)> = rs
        .iter()
        .map(|r| {
            (
                r["source"].as_str().expect("source").to_string(),
                r["current_offset"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("klog".to_string(), Some(5)),
            ("kafka".to_string(), Some(204))
        ]
    );
    let table = t.ok(&["groups", "describe", "GroupA"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].ends_with("SOURCE"), "{table}");
    assert!(
        lines[1].contains(" 5 ") && lines[1].trim_end().ends_with("klog"),
        "{table}"
    );
    assert!(
        lines[2].contains(" 204 ") && lines[2].trim_end().ends_with("kafka"),
        "{table}"
    );
    let list = json(&t.ok(&["groups", "list", "--json"]));
    let sources: Vec<(&str, &str, i64)> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["group"].as_str().expect("group"),
                r["source"].as_str().expect("source"),
                r["lag"].as_i64().expect("lag"),
            )
        })
        .collect();
    assert_eq!(sources, [("GroupA", "klog", 199), ("GroupA", "kafka", 0)]);

    let out = t.run(&["groups", "delete", "GroupA"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("__consumer_offsets are left as they are"));
    let got: Vec<String> = rows(&t, "GroupA")
        .iter()
        .map(|r| r["source"].as_str().expect("source").to_string())
        .collect();
    assert_eq!(got, ["kafka"]);
    let err = assert_error(&t.run(&["groups", "delete", "GroupA"]), 1);
    assert!(
        err.contains("only in the Kafka broker's __consumer_offsets"),
        "{err}"
    );
}
