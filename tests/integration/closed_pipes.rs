//! A reader that goes away: a closed stdout ends `consume` (plain, `--json`, following)
//! quietly with status 0, at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{self};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{TestDir, numbered_lines};

use crate::pipes::*;

/// Reads one line of a child's stdout in a thread, then closes the pipe (like `head -1`).
fn head_1(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let _ = tx.send(line);
        // r dropped: the pipe's read end closes.
    });
    rx.recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("no first line within {DEADLINE:?}"))
}

#[test]
fn closed_stdout_ends_json_and_follow_consumers_quietly() {
    let t = TestDir::new();
    // Several MB of JSON: far more than a pipe buffer plus klog's output buffer.
    let (input, _) = numbered_lines("j", 0..50_000);
    t.produce("pipe", input, &["-q"]);

    let mut c = spawn_consumer(&t, "pipe", &["--json"]);
    let first = head_1(&mut c);
    let v: Value = serde_json::from_str(&first).expect("first line is JSON");
    assert_eq!(v["value"], "j-00000000");
    let status = wait_within(&mut c, "consume --json | head -1");
    let stderr = read_stderr(&mut c);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr not empty: {stderr}");

    // A follower ends too, also while records keep coming (without them, see
    // `regression_a_follower_exits_when_its_reader_closes_the_pipe`).
    let mut c = spawn_consumer(&t, "pipe", &["-f", "-o", "-1"]);
    assert_eq!(head_1(&mut c), "j-00049999\n");
    // The reader is gone; keep producing (a bounded number of times) until it has exited.
    let start = Instant::now();
    let status = loop {
        t.produce("pipe", "more\n", &["-q"]);
        if let Some(s) = c.try_wait().expect("try_wait") {
            break s;
        }
        thread::sleep(Duration::from_millis(20));
        if let Some(s) = c.try_wait().expect("try_wait") {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = c.kill();
            panic!("consume -f | head -1 still running after {DEADLINE:?}");
        }
    };
    let stderr = read_stderr(&mut c);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr not empty: {stderr}");
}

/// How long a follower may take to exit once its reader closed the pipe: klog sees it within
/// milliseconds; this only bounds a slow machine.
const CLOSED_PIPE_EXIT: Duration = Duration::from_secs(5);

/// Waits up to [`CLOSED_PIPE_EXIT`] for a follower to exit; returns its status and how long
/// it took.
fn exits_within(child: &mut Child, what: &str) -> (ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status, start.elapsed());
        }
        assert!(
            start.elapsed() < CLOSED_PIPE_EXIT,
            "{what}: still running {CLOSED_PIPE_EXIT:?} after its reader closed the pipe, with \
             no new record"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// `klog consume t -f | head -1` never exited after `head` did: the follower saw the closed
/// pipe only at its next write, after the next record, and a group member kept its
/// partitions until then. No record is produced here after the reader leaves.
#[test]
fn regression_a_follower_exits_when_its_reader_closes_the_pipe() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "h", "-p", "2"]);
    t.produce("h", "a\nb\nc\n", &["-q"]);
    for args in [vec!["-f"], vec!["-f", "-g", "g"]] {
        let mut c = spawn_consumer(&t, "h", &args);
        let first = head_1(&mut c);
        assert!(["a\n", "b\n", "c\n"].contains(&first.as_str()), "{first:?}");
        let (status, took) = exits_within(&mut c, &format!("consume {args:?} | head -1"));
        let stderr = read_stderr(&mut c);
        assert_eq!(status.code(), Some(0), "{args:?}: stderr: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: stderr: {stderr}");
        eprintln!("consume {args:?}: exited {took:?} after its reader closed the pipe");
    }
    // The member gave its partitions back: another one takes both at once.
    let rows: Value =
        serde_json::from_str(&t.ok(&["groups", "describe", "g", "--json"])).expect("JSON");
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["member"].is_null()),
        "{rows}"
    );
    let mut c = spawn_consumer(&t, "h", &["-f", "-g", "g", "-o", "beginning"]);
    let rx = line_channel(c.stdout.take().expect("stdout"));
    let mut got: Vec<String> = (0..3).map(|_| next_line(&rx, "the next member")).collect();
    got.sort();
    assert_eq!(got, ["a", "b", "c"]);
    signal(&c, "-TERM");
    let status = wait_within(&mut c, "the next member");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn closed_stdout_ends_consume_quietly() {
    let t = TestDir::new();
    let (input, _) = numbered_lines("q", 0..200_000);
    t.produce("pipe", input, &["-q"]);
    let mut child = t
        .klog_std()
        .args(["consume", "pipe"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn klog consume");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read a line");
    assert_eq!(first, "q-00000000\n");
    drop(stdout); // like `head -1` exiting
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr not empty: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
