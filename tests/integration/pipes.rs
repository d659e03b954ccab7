//! Helpers of the produce and consume tests: running `produce` and `consume`, child
//! processes with deadlines and signals, Kafka's murmur2 written from the format notes, and
//! reading what the commands print.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::TestDir;

/// Bound for anything that waits on another process: generous, so that it cannot flake; a
/// test only fails when it is reached.
pub(crate) const DEADLINE: Duration = Duration::from_secs(10);

/// `klog produce TOPIC ARGS…` with `input` on stdin, whatever the outcome.
pub(crate) fn produce_run(
    t: &TestDir,
    topic: &str,
    args: &[&str],
    input: impl Into<Vec<u8>>,
) -> Output {
    t.klog()
        .arg("produce")
        .arg(topic)
        .args(args)
        .write_stdin(input)
        .output()
        .expect("run klog produce")
}

/// `klog consume TOPIC ARGS…`; asserts success and returns stdout as bytes.
pub(crate) fn consume_bytes(t: &TestDir, topic: &str, args: &[&str]) -> Vec<u8> {
    let mut all = vec!["consume", topic];
    all.extend_from_slice(args);
    let out = t.run(&all);
    assert!(
        out.status.success(),
        "klog {all:?} failed with {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `klog consume TOPIC --json ARGS…`, one parsed object per line.
pub(crate) fn consume_json(t: &TestDir, topic: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    t.consume(topic, &all)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Splits newline-terminated output into lines; every line must be terminated.
pub(crate) fn split_lines(b: &[u8]) -> Vec<&[u8]> {
    if b.is_empty() {
        return Vec::new();
    }
    assert_eq!(b.last(), Some(&b'\n'), "output does not end with a newline");
    b[..b.len() - 1].split(|&c| c == b'\n').collect()
}

pub(crate) fn none() -> Vec<String> {
    Vec::new()
}

pub(crate) fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// Kafka's murmur2 (`Utils.murmur2`), written from the format notes, checked against their
/// test vectors before use.
pub(crate) fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

pub(crate) fn to_positive(h: u32) -> u32 {
    h & 0x7fff_ffff
}

/// A child's stdout as a channel of lines (without the newline), read by a thread; the channel
/// closes at EOF.
pub(crate) fn line_channel(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.ends_with('\n') {
                        line.pop();
                    }
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// The next line from a follower, or the test fails after `DEADLINE`.
pub(crate) fn next_line(rx: &Receiver<String>, what: &str) -> String {
    rx.recv_timeout(DEADLINE)
        .unwrap_or_else(|e| panic!("{what}: no line within {DEADLINE:?} ({e})"))
}

/// Waits for a child to exit; kills it and fails the test after `DEADLINE`.
pub(crate) fn wait_within(child: &mut Child, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn signal(child: &Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} failed");
}

/// A spawned klog that is killed when dropped, so that a failing test leaves no follower
/// behind (killing an exited and reaped child does nothing).
pub(crate) struct Spawned(pub(crate) Child);

impl std::ops::Deref for Spawned {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Spawned {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Spawns `klog consume TOPIC ARGS…` with stdout and stderr piped.
pub(crate) fn spawn_consumer(t: &TestDir, topic: &str, args: &[&str]) -> Spawned {
    Spawned(
        t.klog_std()
            .arg("consume")
            .arg(topic)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn klog consume"),
    )
}

pub(crate) fn read_stderr(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut s).expect("read stderr");
    }
    s
}

/// Writes `bytes` to `dir/name` and returns the path.
pub(crate) fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write input file");
    p
}

/// Two partitions with known content: `a-0`..`a-9` in partition 0, `b-0`..`b-4` in 1.
pub(crate) fn two_partitions() -> TestDir {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t", "-p", "2"]);
    let a: String = (0..10).map(|i| format!("a-{i}\n")).collect();
    let b: String = (0..5).map(|i| format!("b-{i}\n")).collect();
    t.produce("t", a, &["-p", "0"]);
    t.produce("t", b, &["-p", "1"]);
    t
}

/// Produces `input` with `--json` into `topic` of `t`.
pub(crate) fn produce_json(t: &TestDir, topic: &str, input: &[u8]) -> Output {
    produce_run(t, topic, &["--json"], input.to_vec())
}
