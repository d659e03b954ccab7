//! Servers and clients for the `klog serve` tests: a server per test on a free loopback port
//! (read from its ready line), stopped by the test; the Kafka clients `scripts/serve-clients`
//! installs, found or skipped (a failure under `CI=true`, as for the shared fixtures).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `klog` binary Cargo built for this test run.
pub const KLOG: &str = env!("CARGO_BIN_EXE_klog");

/// Longest a server may take to print its ready line, or to exit once told to stop.
const START_STOP: Duration = Duration::from_secs(30);

/// Longest a client command may run.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);

/// A running `klog serve` on a data directory.
pub struct Serve {
    child: Option<Child>,
    pub port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    /// `klog serve --listen 127.0.0.1:0` on `dir`.
    pub fn start(dir: &Path) -> Serve {
        Serve::start_on(dir, "127.0.0.1:0", &[])
    }

    /// `klog serve --listen LISTEN ARGS…` on `dir`, once its ready line is printed (LISTEN
    /// on 127.0.0.1, with or without a security protocol).
    pub fn start_on(dir: &Path, listen: &str, args: &[&str]) -> Serve {
        let mut child = Command::new(KLOG)
            .env_remove("KLOG_DIR")
            .env("RUST_BACKTRACE", "1")
            .arg("--dir")
            .arg(dir)
            .args(["serve", "--listen", listen])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start klog serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr");
        let buf = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(line.clone());
                }
                let mut b = buf.lock().unwrap();
                b.push_str(&line);
                b.push('\n');
            }
        });
        let Ok(line) = rx.recv_timeout(START_STOP) else {
            let _ = child.kill();
            panic!(
                "klog serve printed no ready line; stderr:\n{}",
                stderr.lock().unwrap()
            );
        };
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in the ready line {line:?}"));
        // A listener with a security protocol is named with it.
        let protocol = listen
            .split_once("://")
            .map(|(p, _)| format!("{p}://"))
            .unwrap_or_default();
        assert_eq!(
            line,
            format!("klog: listening on {protocol}127.0.0.1:{port}"),
            "the ready line"
        );
        Serve {
            child: Some(child),
            port,
            stderr,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// What the server printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGTERM, then waits: the server must exit with status 0. Returns its stderr.
    pub fn stop(mut self) -> String {
        let mut child = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM")
            .success();
        assert!(ok, "kill -TERM failed");
        let status = wait(&mut child, START_STOP);
        let stderr = self.stderr();
        assert!(
            status.is_some_and(|s| s.success()),
            "klog serve did not exit 0 after SIGTERM ({status:?}); stderr:\n{stderr}"
        );
        stderr
    }

    /// SIGKILL, as a crash.
    pub fn kill9(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits for a child to exit, at most `limit`.
fn wait(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `klog --dir DIR ARGS…`, which must succeed; its stdout.
pub fn klog(dir: &Path, args: &[&str]) -> String {
    let out = assert_cmd::Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .timeout(CLIENT_TIMEOUT)
        .output()
        .expect("run klog");
    assert!(
        out.status.success(),
        "klog {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `klog --dir DIR ARGS…` with `input` on stdin, which must succeed.
pub fn klog_with_input(dir: &Path, args: &[&str], input: String) {
    let out = assert_cmd::Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .write_stdin(input)
        .timeout(CLIENT_TIMEOUT)
        .output()
        .expect("run klog");
    assert!(
        out.status.success(),
        "klog {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// JSON lines, parsed.
pub fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Where `scripts/serve-clients` installs the clients (`$KLOG_SERVE_CLIENTS` overrides).
pub fn clients_dir() -> PathBuf {
    std::env::var_os("KLOG_SERVE_CLIENTS")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/serve-clients"),
            PathBuf::from,
        )
}

/// The client scripts of this test target.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve/clients")
}

/// The Kafka clients the tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Kcat,
    Confluent,
    KafkaPython,
    Kafkajs,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Kcat => "kcat",
            Client::Confluent => "confluent-kafka",
            Client::KafkaPython => "kafka-python",
            Client::Kafkajs => "kafkajs",
        }
    }

    fn python() -> PathBuf {
        clients_dir().join("venv/bin/python")
    }

    fn available(self) -> bool {
        let works = |c: &mut Command| {
            c.stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        match self {
            Client::Kcat => works(Command::new("kcat").arg("-V")),
            Client::Confluent => {
                works(Command::new(Client::python()).args(["-c", "import confluent_kafka"]))
            }
            Client::KafkaPython => works(
                Command::new(Client::python()).args(["-c", "import kafka, snappy, lz4, zstandard"]),
            ),
            Client::Kafkajs => {
                clients_dir().join("node/node_modules/kafkajs").is_dir()
                    && works(Command::new("node").arg("--version"))
            }
        }
    }

    /// Whether the client is installed; when it is not, fails under `CI=true` and otherwise
    /// says so and returns false (the test skips).
    pub fn require(self) -> bool {
        if self.available() {
            return true;
        }
        assert!(
            !crate::common::fixtures::in_ci(),
            "{} is not installed: under CI=true the tests that drive it fail instead of \
             skipping (scripts/serve-clients installs it)",
            self.name()
        );
        eprintln!(
            "skipping: {} is not installed (scripts/serve-clients installs it; under CI=true \
             this fails)",
            self.name()
        );
        false
    }

    /// The command running one of the client scripts (not kcat).
    pub fn command(self, args: &[&str]) -> Command {
        let scripts = scripts_dir();
        let mut c = match self {
            Client::Confluent => {
                let mut c = Command::new(Client::python());
                c.arg(scripts.join("confluent.py"));
                c
            }
            Client::KafkaPython => {
                let mut c = Command::new(Client::python());
                c.arg(scripts.join("kafka_python.py"));
                c
            }
            Client::Kafkajs => {
                let mut c = Command::new("node");
                c.arg(scripts.join("kafkajs.js"))
                    .env("NODE_PATH", clients_dir().join("node/node_modules"));
                c
            }
            Client::Kcat => panic!("kcat has no script"),
        };
        c.args(args);
        c
    }

    /// Runs a client script, which must succeed; its stdout.
    pub fn run(self, args: &[&str]) -> String {
        let out = assert_cmd::Command::from_std(self.command(args))
            .timeout(CLIENT_TIMEOUT)
            .output()
            .expect("run the client");
        assert!(
            out.status.success(),
            "{} {args:?} failed ({:?}): {}",
            self.name(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}
