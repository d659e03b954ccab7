//! The harness shared by the reliability tests: the mode (short for CI, long with
//! `KLOG_LONG=1`), replayable seeds, a small PRNG, running the real `klog` binary with
//! deadlines, following its output from a thread, and the machine-readable summary line that
//! `scripts/reliability` tabulates.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tempfile::TempDir;

/// The `klog` binary Cargo built for this test run.
pub const KLOG: &str = env!("CARGO_BIN_EXE_klog");

/// Longest any single klog invocation may take before the test fails instead of hanging.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(180);

/// How long a test waits for something other processes bring about (records becoming
/// visible, a follower catching up) before it fails.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// `KLOG_LONG=1`: many more rounds and seeds, for `scripts/reliability`.
pub fn long_mode() -> bool {
    std::env::var("KLOG_LONG").is_ok_and(|v| v == "1")
}

/// `short` in the default (CI) mode, `long` with `KLOG_LONG=1`.
pub fn by_mode<T>(short: T, long: T) -> T {
    if long_mode() { long } else { short }
}

/// The seed of a randomized test: `KLOG_SEED` (decimal or 0x-hex) if set, else one derived
/// from the clock and the test's name. Printed so that a failure can be replayed.
pub fn test_seed(test: &str) -> u64 {
    let seed = match std::env::var("KLOG_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse::<u64>(),
            };
            parsed.unwrap_or_else(|e| panic!("KLOG_SEED={s} is not a number: {e}"))
        }
        Err(_) => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            for b in test.bytes() {
                h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
            // Keep it short enough to type.
            Rng::new(nanos ^ h ^ std::process::id() as u64).next_u64() % 1_000_000_000_000
        }
    };
    eprintln!(
        "[{test}] seed {seed} ({} mode); replay with: KLOG_SEED={seed} cargo test --test \
         reliability {test}",
        if long_mode() { "long" } else { "short" }
    );
    seed
}

/// splitmix64: small, fast, and good enough to pick sizes, delays and bit positions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo))
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// An independent generator (for a thread), derived from this one.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What one klog run did.
#[derive(Debug)]
pub struct Out {
    pub args: Vec<String>,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Out {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// A panic, a backtrace, status 101, or death by a signal (SIGBUS, SIGSEGV, SIGABRT…):
    /// nothing a user can cause may end klog like this.
    pub fn crashed(&self) -> bool {
        crashed(&self.status, &self.stderr)
    }

    /// One-line description for failure messages.
    pub fn show(&self) -> String {
        let mut stdout = self.stdout_str();
        if stdout.len() > 2000 {
            let mut cut = 2000;
            while !stdout.is_char_boundary(cut) {
                cut -= 1;
            }
            stdout.truncate(cut);
            stdout.push('…');
        }
        format!(
            "`klog {}` exited {:?}\n  stdout: {}\n  stderr: {}",
            self.args.join(" "),
            self.status,
            stdout.trim_end(),
            self.stderr.trim_end()
        )
    }

    /// Asserts exit 0 and returns stdout as text.
    pub fn expect_ok(&self) -> String {
        assert!(self.success(), "{}", self.show());
        self.stdout_str()
    }

    /// Whether stderr is klog's error format: one `klog: error: …` line, optionally one
    /// `hint: …` line after it (notes such as `klog: created topic …` may come before).
    pub fn is_one_line_error(&self) -> bool {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.is_empty())
            .skip_while(|l| l.starts_with("klog: ") && !l.starts_with("klog: error: "))
            .collect();
        match lines.as_slice() {
            [first] => first.starts_with("klog: error: "),
            [first, hint] => first.starts_with("klog: error: ") && hint.starts_with("hint: "),
            _ => false,
        }
    }
}

pub fn crashed(status: &ExitStatus, stderr: &str) -> bool {
    stderr.contains("panicked")
        || stderr.contains("RUST_BACKTRACE")
        || stderr.contains("stack backtrace")
        || status.code() == Some(101)
        || status.signal().is_some()
}

/// Waits for `child` at most `limit`; `None` if it is still running then.
pub fn wait_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if start.elapsed() >= limit => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("wait for child: {e}"),
        }
    }
}

/// Reads all of a pipe in a thread.
pub fn slurp<R: Read + Send + 'static>(mut r: R) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// Runs a command to completion (stdin fed from `input`, or empty), with [`CMD_TIMEOUT`].
pub fn run_command(mut cmd: Command, args: Vec<String>, input: Option<&[u8]>) -> Out {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn klog {args:?}: {e}"));
    let out = slurp(child.stdout.take().expect("stdout"));
    let err = slurp(child.stderr.take().expect("stderr"));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.map(<[u8]>::to_vec);
    let feeder = std::thread::spawn(move || {
        if let Some(bytes) = input {
            let _ = stdin.write_all(&bytes);
        }
    });
    let status = match wait_deadline(&mut child, CMD_TIMEOUT) {
        Some(st) => st,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("klog {args:?} still running after {CMD_TIMEOUT:?}");
        }
    };
    let _ = feeder.join();
    Out {
        args,
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned(),
    }
}

/// A private temporary directory holding one data directory (`<tmp>/data`).
pub struct Klog {
    tmp: TempDir,
    data: PathBuf,
}

impl Klog {
    pub fn new() -> Klog {
        let tmp = tempfile::Builder::new()
            .prefix("klog-rel-")
            .tempdir()
            .expect("create temp dir");
        let data = tmp.path().join("data");
        Klog { tmp, data }
    }

    /// A data directory at a given path (e.g. on a small tmpfs); the temp dir is still used
    /// for scratch files.
    pub fn with_data(data: PathBuf) -> Klog {
        let mut k = Klog::new();
        k.data = data;
        k
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub fn data(&self) -> &Path {
        &self.data
    }

    pub fn partition_dir(&self, topic: &str, p: u32) -> PathBuf {
        self.data.join(format!("{topic}-{p}"))
    }

    /// `klog --dir <data>` with a clean environment, as a std command.
    pub fn cmd(&self) -> Command {
        klog_cmd(&self.data)
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_in(args, b"")
    }

    pub fn run_in(&self, args: &[&str], input: &[u8]) -> Out {
        let mut c = self.cmd();
        c.args(args);
        run_command(c, args.iter().map(|s| s.to_string()).collect(), Some(input))
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args).expect_ok()
    }

    pub fn ok_in(&self, args: &[&str], input: &[u8]) -> String {
        self.run_in(args, input).expect_ok()
    }

    /// Spawns a long-running klog with stdout read line by line into a shared vector.
    pub fn follow(&self, args: &[&str]) -> Follower {
        Follower::spawn(self.cmd(), args)
    }

    /// `topics describe --json`, parsed.
    pub fn describe(&self, topic: &str) -> Value {
        json(&self.ok(&["topics", "describe", topic, "--json"]))
    }

    /// Log start and end offsets of one partition, from `topics describe`.
    pub fn offsets(&self, topic: &str, p: u32) -> (i64, i64) {
        let d = self.describe(topic);
        let part = &d["partitions"][p as usize];
        (
            part["log_start_offset"].as_i64().expect("log_start_offset"),
            part["log_end_offset"].as_i64().expect("log_end_offset"),
        )
    }
}

/// `klog --dir DIR`, with no `KLOG_DIR`/`NO_COLOR` from outside and `RUST_BACKTRACE=1` so that
/// a panic shows up loudly.
pub fn klog_cmd(data: &Path) -> Command {
    let mut c = Command::new(KLOG);
    c.env_remove("KLOG_DIR")
        .env_remove("NO_COLOR")
        .env("RUST_BACKTRACE", "1")
        .arg("--dir")
        .arg(data);
    c
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Sends a signal by name (`TERM`, `KILL`…) with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let st = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .expect("run kill");
    // The process may have exited already; that is not an error here.
    let _ = st;
}

/// A running klog whose stdout lines are collected by a thread as they come.
pub struct Follower {
    pub child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    args: Vec<String>,
}

/// How a follower ended.
pub struct Ended {
    pub status: ExitStatus,
    pub lines: Vec<String>,
    pub stderr: String,
}

impl Follower {
    pub fn spawn(mut cmd: Command, args: &[&str]) -> Follower {
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn klog {args:?}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        // A last line without its newline was cut short by a kill: klog ends
                        // every record with one, so it is no record.
                        if buf.pop() != Some(b'\n') {
                            break;
                        }
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        sink.lock().expect("lines").push(line);
                    }
                }
            }
        });
        let stderr = slurp(child.stderr.take().expect("stderr"));
        Follower {
            child,
            lines,
            reader: Some(reader),
            stderr: Some(stderr),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn count(&self) -> usize {
        self.lines.lock().expect("lines").len()
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// Runs `f` on the lines read so far.
    pub fn with_lines<T>(&self, f: impl FnOnce(&[String]) -> T) -> T {
        f(&self.lines.lock().expect("lines"))
    }

    /// Polls every 10 ms until `cond` holds on the lines read so far; false after `limit`.
    pub fn wait_for(&self, limit: Duration, mut cond: impl FnMut(&[String]) -> bool) -> bool {
        let start = Instant::now();
        loop {
            if self.with_lines(&mut cond) {
                return true;
            }
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL (`Child::kill`), then collects everything it printed.
    pub fn kill(mut self) -> Ended {
        let _ = self.child.kill();
        self.finish()
    }

    /// SIGTERM, then waits for it to exit (killing it after [`DEADLINE`]).
    pub fn terminate(mut self) -> Ended {
        send_signal(self.child.id(), "TERM");
        self.finish()
    }

    fn finish(&mut self) -> Ended {
        let status = match wait_deadline(&mut self.child, DEADLINE) {
            Some(st) => st,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("klog {:?} did not exit within {DEADLINE:?}", self.args);
            }
        };
        if let Some(r) = self.reader.take() {
            r.join().expect("reader thread");
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().expect("stderr thread"))
            .unwrap_or_default();
        Ended {
            status,
            lines: std::mem::take(&mut *self.lines.lock().expect("lines")),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        // A test that failed half-way leaves no klog behind.
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The counters every reliability test reports, as one machine-readable line:
/// `RELIABILITY <name> rounds=… acknowledged=… lost=… duplicated=… corrupt=… panics=…`.
/// Violations are collected (with their messages) so that the line is printed before the
/// test fails.
pub struct Summary {
    pub name: &'static str,
    pub seed: u64,
    pub rounds: u64,
    pub acknowledged: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub corrupt: u64,
    pub panics: u64,
    pub extra: BTreeMap<&'static str, u64>,
    pub failures: Vec<String>,
    started: Instant,
    quiet: bool,
}

impl Summary {
    pub fn new(name: &'static str) -> Summary {
        let seed = test_seed(name);
        Summary {
            name,
            seed,
            rounds: 0,
            acknowledged: 0,
            lost: 0,
            duplicated: 0,
            corrupt: 0,
            panics: 0,
            extra: BTreeMap::new(),
            failures: Vec::new(),
            started: Instant::now(),
            quiet: false,
        }
    }

    /// A summary that counts without printing a seed, for checks whose verdicts cannot hold
    /// (damage nothing can detect); drop it with [`Summary::discard`].
    pub fn quiet(name: &'static str) -> Summary {
        Summary {
            name,
            seed: 0,
            rounds: 0,
            acknowledged: 0,
            lost: 0,
            duplicated: 0,
            corrupt: 0,
            panics: 0,
            extra: BTreeMap::new(),
            failures: Vec::new(),
            started: Instant::now(),
            quiet: true,
        }
    }

    /// Ends a quiet summary without printing or asserting anything.
    pub fn discard(self) {}

    pub fn rng(&self) -> Rng {
        Rng::new(self.seed)
    }

    /// Records a violation (printed at once, kept for the final assertion).
    pub fn fail(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        if !self.quiet {
            eprintln!("[{}] VIOLATION (seed {}): {msg}", self.name, self.seed);
        }
        if self.failures.len() < 40 {
            self.failures.push(msg);
        }
    }

    /// Counts and reports a crash of a klog run; true if it crashed.
    pub fn check_crash(&mut self, out: &Out, context: &str) -> bool {
        if out.crashed() {
            self.panics += 1;
            self.fail(format!("{context}: klog crashed: {}", out.show()));
            return true;
        }
        false
    }

    pub fn bump(&mut self, key: &'static str, n: u64) {
        *self.extra.entry(key).or_default() += n;
    }

    /// Prints the summary line, then fails the test if anything was violated.
    pub fn finish(self) {
        let extra: String = self
            .extra
            .iter()
            .map(|(k, v)| format!(" {k}={v}"))
            .collect();
        let line = format!(
            "RELIABILITY {} rounds={} acknowledged={} lost={} duplicated={} corrupt={} \
             panics={} seed={} secs={:.1}{extra}",
            self.name,
            self.rounds,
            self.acknowledged,
            self.lost,
            self.duplicated,
            self.corrupt,
            self.panics,
            self.seed,
            self.started.elapsed().as_secs_f64()
        );
        println!("{line}");
        assert!(
            self.failures.is_empty()
                && self.lost == 0
                && self.duplicated == 0
                && self.corrupt == 0
                && self.panics == 0,
            "{} (seed {}, replay with KLOG_SEED={}): {} violation(s):\n{}",
            self.name,
            self.seed,
            self.seed,
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// Copies a directory tree, keeping the zero tails of preallocated index files sparse so
/// that restoring a template many times stays cheap.
pub fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).expect("create copy");
    for e in fs::read_dir(src).expect("read dir") {
        let e = e.expect("dir entry");
        let to = dst.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            let mut bytes = fs::read(e.path()).expect("read file");
            let len = bytes.len() as u64;
            let used = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            bytes.truncate(used);
            fs::write(&to, &bytes).expect("write file");
            let f = fs::OpenOptions::new().write(true).open(&to).expect("open");
            f.set_len(len).expect("set_len");
        }
    }
}

/// Every path under `root` (relative), with its size for files; `skip` subtrees left out.
pub fn tree_listing(root: &Path, skip: &[&Path]) -> BTreeMap<PathBuf, Option<u64>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if skip.iter().any(|s| p.starts_with(s)) {
                continue;
            }
            let rel = p.strip_prefix(root).expect("under root").to_path_buf();
            let meta = fs::symlink_metadata(&p).expect("stat");
            if meta.is_dir() {
                out.insert(rel, None);
                stack.push(p);
            } else {
                out.insert(rel, Some(meta.len()));
            }
        }
    }
    out
}

/// Base offsets of a partition directory's segments, ascending.
pub fn segment_bases(dir: &Path) -> Vec<i64> {
    let mut v: Vec<i64> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let stem = name.strip_suffix(".log")?;
                    (stem.len() == 20).then(|| stem.parse().ok())?
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// `<dir>/<20-digit base><suffix>`.
pub fn segment_file(dir: &Path, base: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base:020}{suffix}"))
}

pub use crate::common::frames::{Frame, frames};

/// Parses `consume --json` lines into `(partition, offset, key, value)`; a line that is not
/// such an object is returned as an error.
pub type Rec = (u32, i64, Option<String>, Option<String>);

pub fn parse_json_record(line: &str) -> Result<Rec, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e}): {line}"))?;
    let p = v["partition"]
        .as_u64()
        .ok_or_else(|| format!("no partition: {line}"))? as u32;
    let o = v["offset"]
        .as_i64()
        .ok_or_else(|| format!("no offset: {line}"))?;
    let text = |x: &Value| -> Result<Option<String>, String> {
        match x {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            other => Err(format!("binary or odd field {other}: {line}")),
        }
    };
    Ok((p, o, text(&v["key"])?, text(&v["value"])?))
}

/// Parses `-F '%o %s\n'` lines into `(offset, value)`.
pub fn parse_offset_value(line: &str) -> Option<(i64, &str)> {
    let (o, v) = line.split_once(' ')?;
    Some((o.parse().ok()?, v))
}
