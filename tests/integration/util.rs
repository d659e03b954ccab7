//! The test harness: a private data directory per test, `klog` commands preset to use it, and
//! readers for what klog leaves on disk (segment files, batches, index sizes).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The `klog` binary Cargo built for this test run.
pub const KLOG: &str = env!("CARGO_BIN_EXE_klog");

/// Longest any single klog invocation may take before the test fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Size of a freshly preallocated offset index (`segment.index.bytes` default, 10 MiB).
pub const PREALLOCATED_INDEX: u64 = 10_485_760;
/// Size of a freshly preallocated time index: 10 MiB rounded down to a multiple of 12.
pub const PREALLOCATED_TIME_INDEX: u64 = 10_485_756;

/// A `klog` command with a clean environment: no `KLOG_DIR`, no `NO_COLOR`, and
/// `RUST_BACKTRACE=1` so that a panic would show up loudly in stderr.
pub fn bare_klog() -> Command {
    let mut c = Command::cargo_bin("klog").expect("klog binary");
    c.env_remove("KLOG_DIR")
        .env_remove("NO_COLOR")
        .env("RUST_BACKTRACE", "1")
        .timeout(TIMEOUT);
    c
}

/// A `klog --dir DIR` command with a clean environment.
pub fn klog_at(dir: &Path) -> Command {
    let mut c = bare_klog();
    c.arg("--dir").arg(dir);
    c
}

/// A `std::process::Command` for `klog --dir DIR`, for tests that need to spawn and stream.
pub fn klog_std_at(dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(KLOG);
    c.env_remove("KLOG_DIR")
        .env_remove("NO_COLOR")
        .env("RUST_BACKTRACE", "1")
        .arg("--dir")
        .arg(dir);
    c
}

/// A unique temporary directory holding one data directory (`<tmp>/data`, not created until
/// klog writes to it). Removed when dropped.
pub struct TestDir {
    tmp: TempDir,
    data: PathBuf,
}

impl TestDir {
    pub fn new() -> TestDir {
        let tmp = tempfile::Builder::new()
            .prefix("klog-it-")
            .tempdir()
            .expect("create temp dir");
        let data = tmp.path().join("data");
        TestDir { tmp, data }
    }

    /// The temporary directory (the data directory's parent), for scratch files.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// The data directory every `klog()` command uses.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// `klog --dir <data>` with a clean environment.
    pub fn klog(&self) -> Command {
        klog_at(&self.data)
    }

    /// `klog --dir <data>` as a `std::process::Command`.
    pub fn klog_std(&self) -> std::process::Command {
        klog_std_at(&self.data)
    }

    /// Runs `klog --dir <data> ARGS…`, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.klog().args(args).output().expect("run klog");
        assert_success(&out, args);
        String::from_utf8(out.stdout).expect("stdout is UTF-8")
    }

    /// Runs `klog --dir <data> ARGS…` and returns the whole output, whatever the status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.klog().args(args).output().expect("run klog")
    }

    /// `klog produce TOPIC EXTRA…` with `input` on stdin; asserts success.
    pub fn produce(&self, topic: &str, input: impl Into<Vec<u8>>, extra: &[&str]) {
        let out = self
            .klog()
            .arg("produce")
            .arg(topic)
            .args(extra)
            .write_stdin(input)
            .output()
            .expect("run klog produce");
        assert_success(&out, &["produce", topic]);
    }

    /// `klog consume TOPIC EXTRA…`; asserts success and returns stdout's lines.
    pub fn consume(&self, topic: &str, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["consume", topic];
        args.extend_from_slice(extra);
        lines(&self.ok(&args))
    }

    /// `klog topics describe TOPIC --json`, parsed.
    pub fn describe(&self, topic: &str) -> Value {
        json(&self.ok(&["topics", "describe", topic, "--json"]))
    }

    /// `klog topics list --json`, parsed.
    pub fn list(&self) -> Value {
        json(&self.ok(&["topics", "list", "--json"]))
    }

    pub fn partition_dir(&self, topic: &str, partition: u32) -> PathBuf {
        self.data.join(format!("{topic}-{partition}"))
    }
}

/// Asserts that a klog run exited 0, showing its output otherwise.
pub fn assert_success(out: &Output, what: &[&str]) {
    assert!(
        out.status.success(),
        "klog {what:?} failed with {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts a failed run's status code and that stderr is klog's error format: one
/// `klog: error: …` line, optionally one `hint: …` line, and no panic or backtrace.
/// Returns stderr.
pub fn assert_error(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status; stderr: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "panic in stderr: {stderr}"
    );
    let ls: Vec<&str> = stderr.lines().collect();
    assert!(
        !ls.is_empty() && ls.len() <= 2,
        "expected one error line and at most one hint line, got: {stderr}"
    );
    assert!(ls[0].starts_with("klog: error: "), "error line: {stderr}");
    if let Some(h) = ls.get(1) {
        assert!(
            h.starts_with("hint: "),
            "second line must be a hint: {stderr}"
        );
    }
    stderr
}

/// Splits stdout into lines (without the newlines).
pub fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// `n` lines `PREFIX-00000000` … with a trailing newline each, and the same lines as a Vec.
pub fn numbered_lines(prefix: &str, range: std::ops::Range<u64>) -> (String, Vec<String>) {
    let v: Vec<String> = range.map(|i| format!("{prefix}-{i:08}")).collect();
    let mut s = v.join("\n");
    s.push('\n');
    (s, v)
}

/// Base offsets of the segments in a partition directory, from its `.log` names, ascending.
/// Asserts every `.log` is named by exactly 20 digits.
pub fn segment_bases(dir: &Path) -> Vec<i64> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let name = e
            .expect("dir entry")
            .file_name()
            .into_string()
            .expect("UTF-8 name");
        if let Some(stem) = name.strip_suffix(".log") {
            assert!(
                stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()),
                "segment file {name} is not named by a 20-digit offset"
            );
            out.push(stem.parse::<i64>().expect("offset"));
        }
    }
    out.sort_unstable();
    out
}

/// `<dir>/<20-digit base><suffix>`.
pub fn segment_file(dir: &Path, base: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base:020}{suffix}"))
}

pub fn file_len(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .len()
}

pub use crate::common::frames::Frame;

/// Reads the framing of every entry of a `.log` ([`crate::common::frames::frames`]). Stops at
/// a tail too short for a whole entry, which the caller can detect by comparing the end of
/// the last frame with the file length; an entry with a negative length fails the test.
pub fn frames(bytes: &[u8]) -> Vec<Frame> {
    let out = crate::common::frames::frames(bytes);
    let end = out.last().map_or(0, Frame::end);
    let len = crate::common::frames::batch_length_at(bytes, end);
    assert!(
        len.is_none_or(|l| l >= 0),
        "negative batch length at byte {end}"
    );
    out
}

/// One batch of a `.log`, decoded and checked by the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub position: u64,
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub values: Vec<Vec<u8>>,
}

/// Decodes a whole `.log` as a concatenation of valid v2 batches (magic byte 16 == 2, CRC,
/// record framing), failing the test on any byte that is not part of one.
pub fn decode_log(path: &Path) -> Vec<Batch> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        assert!(
            rest.len() >= 17,
            "{}: {} stray bytes at {pos}",
            path.display(),
            rest.len()
        );
        assert_eq!(
            rest[16],
            2,
            "{}: magic at byte {}",
            path.display(),
            pos + 16
        );
        let b = klog::format::RecordBatch::decode(rest)
            .unwrap_or_else(|e| panic!("{}: bad batch at byte {pos}: {e}", path.display()));
        let h = b.header;
        let mut values = Vec::new();
        let records = b
            .records()
            .unwrap_or_else(|e| panic!("{}: records at byte {pos}: {e}", path.display()));
        for (i, r) in records.enumerate() {
            let r = r.unwrap_or_else(|e| panic!("{}: record at byte {pos}: {e}", path.display()));
            assert_eq!(
                b.offset_of(&r),
                h.base_offset + i as i64,
                "record offsets inside the batch at byte {pos} are not dense"
            );
            values.push(r.value.unwrap_or_default().to_vec());
        }
        assert_eq!(
            values.len() as i32,
            h.records_count,
            "records count at {pos}"
        );
        out.push(Batch {
            position: pos as u64,
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            max_timestamp: h.max_timestamp,
            values,
        });
        pos += h.size();
    }
    out
}

/// A copy of a directory tree kept in memory, index files included without reading their
/// preallocated zeros back onto the disk (only the non-zero prefix is stored and the file is
/// extended sparsely on restore), so that restoring it many times stays cheap.
pub struct Snapshot {
    dirs: Vec<PathBuf>,
    files: Vec<(PathBuf, Vec<u8>, u64)>,
}

impl Snapshot {
    pub fn take(root: &Path) -> Snapshot {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            dirs.push(rel.clone());
            for e in fs::read_dir(root.join(&rel)).expect("read dir") {
                let e = e.expect("dir entry");
                let rel_child = rel.join(e.file_name());
                if e.file_type().expect("file type").is_dir() {
                    stack.push(rel_child);
                } else {
                    let mut bytes = fs::read(e.path()).expect("read file");
                    let len = bytes.len() as u64;
                    let used = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                    bytes.truncate(used);
                    files.push((rel_child, bytes, len));
                }
            }
        }
        Snapshot { dirs, files }
    }

    /// Replaces `root` with the snapshot's content.
    pub fn restore(&self, root: &Path) {
        if root.exists() {
            fs::remove_dir_all(root).expect("remove old copy");
        }
        for rel in &self.dirs {
            fs::create_dir_all(root.join(rel)).expect("create dir");
        }
        for (rel, bytes, len) in &self.files {
            let path = root.join(rel);
            fs::write(&path, bytes).expect("write file");
            let f = fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .expect("open");
            f.set_len(*len).expect("set_len");
        }
    }
}

/// The entry klog keeps for `topic` in the data directory's `klog-topics.json`, if any.
pub fn meta_entry(data: &Path, topic: &str) -> Option<Value> {
    let text = fs::read(data.join("klog-topics.json")).ok()?;
    let v: Value = serde_json::from_slice(&text).expect("klog-topics.json is JSON");
    v["topics"].get(topic).cloned()
}

/// Whether klog's metadata lists `topic`.
pub fn has_meta(data: &Path, topic: &str) -> bool {
    meta_entry(data, topic).is_some()
}

/// How long a test waits for a condition that other processes bring about.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `cond` every 20 ms until it holds; fails the test naming `what` after [`DEADLINE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends a signal (`"TERM"`, `"KILL"`, …) to a process with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let st = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -{signal} {pid} failed: {st:?}");
}
