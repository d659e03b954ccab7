//! Several klog processes on one partition at once: writers serialize on the partition lock,
//! readers never see a partial batch.

use std::io::Write;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};

use crate::util::{TestDir, decode_log, numbered_lines, segment_bases, segment_file};

/// Spawns `klog produce TOPIC` with stdin piped.
fn spawn_producer(t: &TestDir, topic: &str) -> (Child, ChildStdin) {
    let mut child = t
        .klog_std()
        .args(["produce", topic])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn klog produce");
    let stdin = child.stdin.take().expect("stdin");
    (child, stdin)
}

/// Writes `lines` to `stdin` in chunks of `chunk` lines, after `start` lets it go; closes
/// stdin at the end.
fn feed(
    mut stdin: ChildStdin,
    lines: Vec<String>,
    chunk: usize,
    start: Arc<Barrier>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        start.wait();
        for c in lines.chunks(chunk) {
            let mut s = c.join("\n");
            s.push('\n');
            stdin
                .write_all(s.as_bytes())
                .expect("write to klog produce");
        }
    })
}

fn wait_ok(child: Child) -> String {
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "producer failed: {stderr}");
    stderr
}

/// Checks that the `.log` files of a partition hold dense offsets from 0 across segments,
/// each segment named by its first offset; returns the log end offset.
fn assert_dense(dir: &std::path::Path) -> i64 {
    let mut next = 0;
    for base in segment_bases(dir) {
        assert_eq!(
            base, next,
            "segment {base:020} does not start at the log end {next}"
        );
        for b in decode_log(&segment_file(dir, base, ".log")) {
            assert_eq!(
                b.base_offset, next,
                "batch at byte {} of {base:020}",
                b.position
            );
            next = b.last_offset + 1;
        }
    }
    next
}

#[test]
fn two_producers_at_once_lose_nothing() {
    // A few rounds: each is a different interleaving of the two writers' appends and rolls.
    for _ in 0..3 {
        two_producers_round();
    }
}

fn two_producers_round() {
    let t = TestDir::new();
    // Small segments so that rolls race too; small batches so that there are many appends.
    t.ok(&[
        "topics",
        "create",
        "c",
        "-c",
        "segment.bytes=65536",
        "-c",
        "max.message.bytes=2048",
    ]);
    let start = Arc::new(Barrier::new(2));
    let mut producers = Vec::new();
    let mut expected = Vec::new();
    for tag in ["A", "B"] {
        let (child, stdin) = spawn_producer(&t, "c");
        let (_, lines) = numbered_lines(tag, 0..20_000);
        expected.push(lines.clone());
        producers.push((child, feed(stdin, lines, 25, start.clone())));
    }
    for (child, writer) in producers {
        writer.join().expect("writer thread");
        let stderr = wait_ok(child);
        assert!(stderr.is_empty(), "no recovery expected: {stderr}");
    }

    let got = t.consume("c", &[]);
    assert_eq!(got.len(), 40_000);
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert!(sorted == expected.concat(), "every line exactly once");
    for (tag, lines) in ["A-", "B-"].iter().zip(&expected) {
        let mine: Vec<&String> = got.iter().filter(|l| l.starts_with(tag)).collect();
        assert!(
            mine.iter().zip(lines).all(|(a, b)| *a == b),
            "{tag} lines out of order"
        );
    }
    let switches = got
        .windows(2)
        .filter(|w| w[0].as_bytes()[0] != w[1].as_bytes()[0])
        .count();
    eprintln!("two producers: {switches} switches between A and B runs in the log");

    let d = t.describe("c");
    let p = &d["partitions"][0];
    assert_eq!(p["log_end_offset"], 40_000);
    assert_eq!(p["records"], 40_000);
    let dir = t.partition_dir("c", 0);
    assert!(segment_bases(&dir).len() > 2, "segments rolled");
    assert_eq!(
        p["segments"].as_u64(),
        Some(segment_bases(&dir).len() as u64)
    );
    assert_eq!(assert_dense(&dir), 40_000);
    for n in [0usize, 1, 12_345, 19_999, 20_000, 39_999] {
        assert_eq!(
            t.consume("c", &["-o", &n.to_string(), "-n", "1"]),
            [got[n].clone()],
            "record at offset {n}"
        );
    }
}

#[test]
fn concurrent_producers_create_a_missing_topic_once() {
    let t = TestDir::new();
    let start = Arc::new(Barrier::new(4));
    let mut producers = Vec::new();
    let mut expected = Vec::new();
    for tag in ["P", "Q", "R", "S"] {
        let (child, stdin) = spawn_producer(&t, "fresh");
        let (_, lines) = numbered_lines(tag, 0..1000);
        expected.extend(lines.clone());
        producers.push((child, feed(stdin, lines, 100, start.clone())));
    }
    for (child, writer) in producers {
        writer.join().expect("writer thread");
        wait_ok(child);
    }
    let list = t.list();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["name"], "fresh");
    assert_eq!(list[0]["records"], 4000);
    let mut got = t.consume("fresh", &[]);
    got.sort_unstable();
    expected.sort_unstable();
    assert!(got == expected, "every line exactly once");
    assert_eq!(assert_dense(&t.partition_dir("fresh", 0)), 4000);
}

#[test]
fn consumers_during_appends_see_whole_batches_in_order() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "live",
        "-c",
        "segment.bytes=16384",
        "-c",
        "max.message.bytes=1024",
    ]);
    let (_, lines) = numbered_lines("L", 0..30_000);
    let (child, stdin) = spawn_producer(&t, "live");
    let start = Arc::new(Barrier::new(1));
    let writer = feed(stdin, lines.clone(), 10, start);
    // Read while the producer appends and rolls: each read must be a prefix of the input.
    let mut reads = 0;
    let mut longest = 0;
    while !writer.is_finished() || reads == 0 {
        let out = t.run(&["consume", "live"]);
        let stdout = String::from_utf8(out.stdout).expect("UTF-8");
        assert!(
            out.status.success(),
            "consume during appends failed after {} records: {}",
            stdout.lines().count(),
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Vec<&str> = stdout.lines().collect();
        assert!(
            got.iter().zip(&lines).all(|(a, b)| a == b),
            "a read during appends is not a prefix of the input"
        );
        assert!(got.len() >= longest, "a later read saw fewer records");
        longest = got.len();
        reads += 1;
    }
    writer.join().expect("writer thread");
    wait_ok(child);
    eprintln!("{reads} reads during appends, longest {longest} records");
    assert!(t.consume("live", &[]) == lines);
}
