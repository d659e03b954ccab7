//! Following (`consume -f`) and live producers: a consumer without `-f` ends while a producer
//! keeps writing; a follower sees a trickle promptly, stops at `-u`, reads partitions added
//! while it runs, and ends cleanly on a signal, even while blocked writing.

use std::io::Write;
use std::process::{ChildStdin, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{TestDir, wait_until};

use crate::pipes::*;

/// Spawns `klog -q produce TOPIC` reading a pipe.
fn spawn_producer(t: &TestDir, topic: &str) -> (Spawned, ChildStdin) {
    let mut child = t
        .klog_std()
        .args(["-q", "produce", topic])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn klog produce");
    let stdin = child.stdin.take().expect("stdin");
    (Spawned(child), stdin)
}

#[test]
fn consume_without_follow_ends_while_a_producer_keeps_writing() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "live"]);
    let (mut producer, mut stdin) = spawn_producer(&t, "live");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let chunk: String = (n..n + 50).map(|i| format!("w-{i:08}\n")).collect();
                stdin
                    .write_all(chunk.as_bytes())
                    .expect("write to producer");
                stdin.flush().expect("flush");
                n += 50;
                thread::sleep(Duration::from_millis(1));
            }
            n // stdin closes here
        })
    };

    let check_prefix = |out: &Output| -> usize {
        assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(out));
        let ls = split_lines(&out.stdout);
        for (i, l) in ls.iter().enumerate() {
            assert!(
                *l == format!("w-{i:08}").as_bytes(),
                "line {i} is {:?}: not a dense prefix of the input",
                String::from_utf8_lossy(l)
            );
        }
        ls.len()
    };
    // Wait for the first records, then run consume at least five more times while the
    // producer writes: each run ends by itself with status 0 and prints a dense prefix; go on
    // until a run saw more than the first (the log grew in between).
    let start = Instant::now();
    let mut lengths = Vec::new();
    loop {
        let n = check_prefix(&t.run(&["consume", "live"]));
        assert!(
            lengths.last().is_none_or(|&l| n >= l),
            "a later run saw fewer records: {lengths:?} then {n}"
        );
        if n > 0 || !lengths.is_empty() {
            lengths.push(n);
        }
        if lengths.len() >= 6 && lengths.first() != lengths.last() {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the log did not grow during {DEADLINE:?}: {lengths:?}"
        );
    }
    assert!(!writer.is_finished(), "the producer was writing throughout");
    // With -n and -u as well.
    let out = t.run(&["consume", "live", "-n", "3"]);
    assert_eq!(check_prefix(&out), 3);
    let out = t.run(&["consume", "live", "-u", "end"]);
    check_prefix(&out);
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().expect("writer thread");
    let status = wait_within(&mut producer, "producer after stdin closed");
    assert!(status.success(), "producer: {}", read_stderr(&mut producer));
    eprintln!("consume runs during production saw {lengths:?} of {written} lines");
    let out = t.run(&["consume", "live"]);
    assert_eq!(check_prefix(&out) as u64, written);
}

#[test]
fn follow_sees_a_trickled_line_promptly_and_ends_cleanly_on_sigterm_and_sigint() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "f"]);
    let (mut producer, mut stdin) = spawn_producer(&t, "f");
    let mut term = spawn_consumer(&t, "f", &["-f"]);
    let mut int = spawn_consumer(&t, "f", &["--follow", "-F", r"%o %s\n"]);
    let term_rx = line_channel(term.stdout.take().expect("stdout"));
    let int_rx = line_channel(int.stdout.take().expect("stdout"));

    let mut latencies = Vec::new();
    for i in 0..5 {
        let line = format!("trickle-{i}");
        let sent = Instant::now();
        writeln!(stdin, "{line}").expect("write to producer");
        stdin.flush().expect("flush");
        assert_eq!(next_line(&term_rx, "follower (TERM)"), line);
        latencies.push(sent.elapsed());
        assert_eq!(next_line(&int_rx, "follower (INT)"), format!("{i} {line}"));
    }
    // The first includes the startup of both followers.
    eprintln!("follow latencies (producer stdin -> consumer stdout): {latencies:?}");

    signal(&term, "-TERM");
    let status = wait_within(&mut term, "follower after SIGTERM");
    let stderr = read_stderr(&mut term);
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM: {status:?}, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        term_rx.recv_timeout(DEADLINE).is_err(),
        "nothing more after the five lines"
    );

    // The other follower still follows: one more line, then SIGINT.
    writeln!(stdin, "trickle-5").expect("write");
    stdin.flush().expect("flush");
    assert_eq!(next_line(&int_rx, "follower (INT)"), "5 trickle-5");
    signal(&int, "-INT");
    let status = wait_within(&mut int, "follower after SIGINT");
    let stderr = read_stderr(&mut int);
    assert_eq!(
        status.code(),
        Some(0),
        "SIGINT: {status:?}, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    drop(stdin);
    let status = wait_within(&mut producer, "producer after stdin closed");
    assert!(status.success(), "producer: {}", read_stderr(&mut producer));
    assert_eq!(
        t.consume("f", &[]),
        (0..6).map(|i| format!("trickle-{i}")).collect::<Vec<_>>()
    );
}

#[test]
fn follow_until_an_offset_stops_there() {
    let t = TestDir::new();
    t.produce("fu", "r0\n", &["-q"]);
    let mut c = spawn_consumer(&t, "fu", &["-f", "-u", "3"]);
    let rx = line_channel(c.stdout.take().expect("stdout"));
    assert_eq!(next_line(&rx, "consume -f -u 3"), "r0");
    t.produce("fu", "r1\nr2\nr3\nr4\n", &["-q"]);
    assert_eq!(next_line(&rx, "consume -f -u 3"), "r1");
    assert_eq!(next_line(&rx, "consume -f -u 3"), "r2");
    let status = wait_within(&mut c, "consume -f -u 3 after offset 3 arrived");
    assert_eq!(status.code(), Some(0), "{}", read_stderr(&mut c));
    assert!(rx.recv_timeout(DEADLINE).is_err(), "nothing after r2");
}

#[test]
fn follow_until_a_time_stops_at_the_first_later_record() {
    let t = TestDir::new();
    let line = |ts: i64, v: &str| json!({"value": v, "timestamp": ts}).to_string() + "\n";
    t.produce("fut", line(1000, "old"), &["-q", "--json"]);
    let mut c = spawn_consumer(&t, "fut", &["-f", "-u", "@5000"]);
    let rx = line_channel(c.stdout.take().expect("stdout"));
    assert_eq!(next_line(&rx, "consume -f -u @5000"), "old");
    t.produce(
        "fut",
        line(9000, "late") + &line(9500, "later"),
        &["-q", "--json"],
    );
    let status = wait_within(&mut c, "consume -f -u @5000 after a record at 9000 arrived");
    assert_eq!(status.code(), Some(0), "{}", read_stderr(&mut c));
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(
        rest.is_empty(),
        "printed records at or after the stop time: {rest:?}"
    );
}

/// `topics alter t --partitions 2` while `consume t -f` ran (with or without a group): the
/// records of the new partition never appeared. Followers pick new partitions up and read
/// them from their beginning, even a group member with `--reset latest`; with `-p`, only the
/// partitions asked for.
#[test]
fn regression_followers_read_partitions_added_while_they_run() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "grow", "-p", "1"]);
    t.produce("grow", "old\n", &["-q"]);
    // Group l has read nothing yet: it starts at offset 0 of partition 0, then --reset latest.
    t.ok(&["groups", "reset", "l", "--topic", "grow", "--to-earliest"]);
    let followers = [
        vec!["-f"],
        vec!["-f", "-g", "g"],
        vec!["-f", "-g", "l", "--reset", "latest"],
        vec!["-f", "-p", "0"],
    ];
    let mut running: Vec<(Spawned, Receiver<String>)> = followers
        .iter()
        .map(|args| {
            let mut c = spawn_consumer(&t, "grow", args);
            let rx = line_channel(c.stdout.take().expect("stdout"));
            assert_eq!(next_line(&rx, &format!("{args:?}")), "old");
            (c, rx)
        })
        .collect();
    for g in ["g", "l"] {
        wait_until(&format!("group {g} owns partition 0"), || {
            let rows: Value =
                serde_json::from_str(&t.ok(&["groups", "describe", g, "--json"])).expect("JSON");
            rows[0]["member"].is_u64()
        });
    }
    // The new partition already holds a record when the topic grows (its directory filled
    // before the metadata names it): a member starting it at its end would skip "new".
    t.ok(&["topics", "create", "src", "-p", "1"]);
    t.produce("src", "new\n", &["-q"]);
    let grown = t.partition_dir("grow", 1);
    std::fs::create_dir(&grown).expect("create grow-1");
    let log = "00000000000000000000.log";
    std::fs::copy(t.partition_dir("src", 0).join(log), grown.join(log)).expect("copy");
    t.ok(&["topics", "alter", "grow", "--partitions", "2"]);
    t.produce("grow", "again\n", &["-q", "-p", "0"]);
    for (args, (_, rx)) in followers.iter().zip(&running) {
        let mut got = vec![next_line(rx, &format!("{args:?}"))];
        if args.contains(&"-p") {
            assert_eq!(got, ["again"], "{args:?} read a partition it was not given");
            continue;
        }
        got.push(next_line(rx, &format!("{args:?}")));
        got.sort();
        assert_eq!(got, ["again", "new"], "{args:?}");
    }
    // Appends to the new partition wake the followers too: its directory is watched.
    t.produce("grow", "more\n", &["-q", "-p", "1"]);
    for (args, (_, rx)) in followers.iter().zip(&running) {
        if !args.contains(&"-p") {
            assert_eq!(next_line(rx, &format!("{args:?}")), "more");
        }
    }
    for ((c, rx), args) in running.iter_mut().zip(&followers) {
        signal(c, "-TERM");
        let status = wait_within(c, &format!("{args:?}"));
        assert_eq!(status.code(), Some(0), "{args:?}: {}", read_stderr(c));
        assert_eq!(rx.try_recv().ok(), None, "{args:?} printed more");
    }
    // The members committed what they read of the new partition.
    for g in ["g", "l"] {
        let rows: Value =
            serde_json::from_str(&t.ok(&["groups", "describe", g, "--json"])).expect("JSON");
        assert_eq!(rows[1]["current_offset"], 2, "group {g}: {rows}");
    }
}

/// Regression: a follower blocked on a full stdout (a reader that stopped reading) ignored
/// Ctrl-C and SIGTERM, which it only looked at between records. A signal now ends it within
/// a moment anyway (status 130: it could not finish cleanly), and a second one at once;
/// nothing it did not flush is committed.
#[test]
fn regression_a_follower_blocked_writing_ends_on_a_signal() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "b"]);
    let line = "x".repeat(1000);
    let input: String = (0..2000).map(|_| format!("{line}\n")).collect();
    t.produce("b", input, &["-q"]);
    for (args, signals) in [
        (vec!["-f"], vec!["-TERM"]),
        (vec!["-f", "-g", "g"], vec!["-INT"]),
        (vec!["-f"], vec!["-INT", "-INT"]),
    ] {
        // Nobody reads its stdout: 2 MB do not fit in a pipe, so it blocks writing.
        let mut c = spawn_consumer(&t, "b", &args);
        let stalled = Instant::now() + Duration::from_millis(300);
        while Instant::now() < stalled {
            assert!(c.try_wait().expect("try_wait").is_none(), "{args:?} exited");
            thread::sleep(Duration::from_millis(10));
        }
        for s in &signals {
            signal(&c, s);
        }
        let status = wait_within(&mut c, &format!("consume {args:?} after {signals:?}"));
        assert_eq!(status.code(), Some(130), "{args:?} {signals:?}");
    }
    // The member committed nothing it did not write out: no offset yet, or one below the end.
    let out = t.run(&["groups", "describe", "g", "--json"]);
    if out.status.success() {
        let rows: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let committed = rows[0]["current_offset"].as_i64().unwrap_or(0);
        assert!(committed < 2000, "{rows}");
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("does not exist"), "{stderr}");
    }
}
