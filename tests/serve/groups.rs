//! Consumer groups of real clients through the server's coordinator: two instances of a
//! client split a topic's partitions with no overlap and commit, a restarted member resumes
//! at the commit, `klog consume -g` and a client share one group, and a group's first record
//! comes within a few seconds (Kafka's initial rebalance delay, not half a session timeout).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{CLIENT_TIMEOUT, Client, KLOG, Serve, json_lines, klog, klog_with_input};

const PARTITIONS: u32 = 4;
/// Records per partition in each round.
const PER_PARTITION: usize = 100;
/// Seconds a member waits without a record (after one came) before it leaves.
const IDLE: &str = "3";
/// Seconds a member runs at most.
const LIMIT: &str = "90";
/// Longest a group may take to settle (joins, the initial delay, rebalances for CLI members).
const SETTLE: Duration = Duration::from_secs(60);

/// A process whose stdout lines are collected as they come.
struct Running {
    name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Running {
    fn spawn(name: &str, mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(l);
            }
        });
        Running {
            name: name.to_string(),
            child,
            lines,
            reader: Some(reader),
        }
    }

    fn json(&self) -> Vec<Value> {
        json_lines(&self.lines.lock().unwrap().join("\n"))
    }

    /// The partitions of its last assignment, if it had one.
    fn assigned(&self) -> Option<Vec<u64>> {
        self.json().iter().rev().find_map(|v| {
            v.get("assigned")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
        })
    }

    /// Waits until `ok` holds of it (panics after [`SETTLE`]).
    fn wait_for(&mut self, what: &str, ok: impl Fn(&Running) -> bool) {
        let start = Instant::now();
        while !ok(self) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before {what}: {:?}",
                    self.name,
                    self.json()
                );
            }
            assert!(
                start.elapsed() < SETTLE,
                "{}: no {what} after {SETTLE:?}: {:?}",
                self.name,
                self.json()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for it to exit, which must be a success; its stdout as JSON lines.
    fn finish(mut self) -> Vec<Value> {
        let start = Instant::now();
        let status = loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                break s;
            }
            if start.elapsed() > CLIENT_TIMEOUT {
                let _ = self.child.kill();
                panic!("{} did not exit: {:?}", self.name, self.json());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        assert!(status.success(), "{} failed ({status}): {err}", self.name);
        self.json()
    }

    /// SIGTERM, then [`Running::finish`].
    fn stop(self) -> Vec<Value> {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -TERM {}", self.name);
        self.finish()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A member of `group` on `topic`: the client's `group` command, or kcat's balanced
/// consumer (which leaves once its partitions are read to their end).
fn member(client: Client, bs: &str, group: &str, topic: &str, name: &str) -> Running {
    let cmd = if client == Client::Kcat {
        let mut c = Command::new("kcat");
        c.args(["-b", bs, "-G", group, topic, "-e", "-J", "-q"])
            .args(["-X", "auto.offset.reset=earliest"]);
        c
    } else {
        client.command(&["group", bs, group, topic, IDLE, LIMIT])
    };
    Running::spawn(name, cmd)
}

/// The records in a member's output, as (partition, offset).
fn records(lines: &[Value]) -> Vec<(u64, i64)> {
    lines
        .iter()
        .filter_map(|v| Some((v["partition"].as_u64()?, v["offset"].as_i64()?)))
        .collect()
}

/// `n` records on every partition of `topic` (values "p<partition>-<i>").
fn produce(dir: &Path, topic: &str, from: usize, n: usize) {
    let mut input = String::new();
    for p in 0..PARTITIONS {
        for i in from..from + n {
            input.push_str(&format!("{{\"partition\":{p},\"value\":\"p{p}-{i}\"}}\n"));
        }
    }
    klog_with_input(dir, &["produce", topic, "--json", "-q"], input);
}

/// Asserts that the members read every offset in `[from, to)` of every partition, each
/// once, and returns how many each read.
fn assert_each_once(outputs: &[&[(u64, i64)]], from: i64, to: i64) -> Vec<usize> {
    let mut seen: BTreeMap<(u64, i64), usize> = BTreeMap::new();
    for (m, out) in outputs.iter().enumerate() {
        for r in out.iter() {
            if let Some(other) = seen.insert(*r, m) {
                panic!("record {r:?} read by member {other} and member {m}");
            }
        }
    }
    let want: BTreeSet<(u64, i64)> = (0..PARTITIONS as u64)
        .flat_map(|p| (from..to).map(move |o| (p, o)))
        .collect();
    let got: BTreeSet<(u64, i64)> = seen.keys().copied().collect();
    let missing: Vec<_> = want.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&want).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, unexpected {extra:?}"
    );
    outputs.iter().map(|o| o.len()).collect()
}

/// The group's committed offsets per partition, as `klog groups describe` shows them.
fn committed(dir: &Path, group: &str) -> Vec<Option<i64>> {
    let d: Value =
        serde_json::from_str(&klog(dir, &["groups", "describe", group, "--json"])).unwrap();
    d.as_array()
        .unwrap()
        .iter()
        .map(|r| r["current_offset"].as_i64())
        .collect()
}

fn setup(topic: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let n = PARTITIONS.to_string();
    klog(&dir, &["topics", "create", topic, "--partitions", &n, "-q"]);
    (tmp, dir)
}

/// Two instances of `client` in one group split the partitions with no overlap and commit
/// what they read; one started again reads only what came since.
fn group_of_two(client: Client) {
    if !client.require() {
        return;
    }
    let (_tmp, dir) = setup("orders");
    let serve = Serve::start(&dir);
    let bs = serve.bootstrap();
    let (a, b) = if client == Client::Kcat {
        // kcat leaves at the end of its partitions: the records are there before it starts,
        // and both join within the initial rebalance delay.
        produce(&dir, "orders", 0, PER_PARTITION);
        let a = member(client, &bs, "etl", "orders", "member a");
        let b = member(client, &bs, "etl", "orders", "member b");
        (a.finish(), b.finish())
    } else {
        let mut a = member(client, &bs, "etl", "orders", "member a");
        let mut b = member(client, &bs, "etl", "orders", "member b");
        for m in [&mut a, &mut b] {
            m.wait_for("assignment of 2 partitions", |m| {
                m.assigned().is_some_and(|p| p.len() == 2)
            });
        }
        let (pa, pb) = (a.assigned().unwrap(), b.assigned().unwrap());
        assert!(
            pa.iter().all(|p| !pb.contains(p)),
            "{pa:?} and {pb:?} overlap"
        );
        // `klog groups describe` shows the server as the owner of every partition.
        let d: Value =
            serde_json::from_str(&klog(&dir, &["groups", "describe", "etl", "--json"])).unwrap();
        for row in d.as_array().unwrap() {
            assert_eq!(row["member"], serde_json::json!(serve.pid()), "{d}");
        }
        produce(&dir, "orders", 0, PER_PARTITION);
        (a.finish(), b.finish())
    };
    let (ra, rb) = (records(&a), records(&b));
    let counts = assert_each_once(&[&ra, &rb], 0, PER_PARTITION as i64);
    assert!(
        counts.iter().all(|&c| c > 0),
        "{}: one member read everything: {counts:?}",
        client.name()
    );
    assert_eq!(
        committed(&dir, "etl"),
        vec![Some(PER_PARTITION as i64); PARTITIONS as usize],
        "{}",
        client.name()
    );
    // A member started again resumes at the commits.
    produce(&dir, "orders", PER_PARTITION, 10);
    let again = member(client, &bs, "etl", "orders", "member a again");
    let ra = records(&again.finish());
    assert_each_once(&[&ra], PER_PARTITION as i64, PER_PARTITION as i64 + 10);
    assert_eq!(
        committed(&dir, "etl"),
        vec![Some(PER_PARTITION as i64 + 10); PARTITIONS as usize]
    );
    let stderr = serve.stop();
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn group_of_two_kcat() {
    group_of_two(Client::Kcat);
}

#[test]
fn group_of_two_confluent_kafka() {
    group_of_two(Client::Confluent);
}

#[test]
fn group_of_two_kafka_python() {
    group_of_two(Client::KafkaPython);
}

#[test]
fn group_of_two_kafkajs() {
    group_of_two(Client::Kafkajs);
}

/// `klog consume -g g` and a Kafka client in `g` share the partitions, whichever comes
/// first: each takes its fair share, and every record is read once.
#[test]
fn klog_consume_and_a_client_share_one_group() {
    let client = Client::Confluent;
    if !client.require() {
        return;
    }
    let (_tmp, dir) = setup("orders");
    let serve = Serve::start(&dir);
    let bs = serve.bootstrap();
    let cli = || {
        let mut c = Command::new(KLOG);
        c.env_remove("KLOG_DIR")
            .arg("--dir")
            .arg(&dir)
            .args(["consume", "orders", "-g", "etl", "-f", "--json"]);
        Running::spawn("klog consume -g", c)
    };
    // The CLI member first (it takes every partition), then the client: the CLI member
    // gives back half, and the client gets them.
    let first = cli();
    std::thread::sleep(Duration::from_millis(300));
    let mut kafka = member(client, &bs, "etl", "orders", "client");
    kafka.wait_for("assignment of 2 partitions", |m| {
        m.assigned().is_some_and(|p| p.len() == 2)
    });
    produce(&dir, "orders", 0, PER_PARTITION);
    let from_client = records(&kafka.finish());
    let from_cli = records(&first.stop());
    let counts = assert_each_once(&[&from_client, &from_cli], 0, PER_PARTITION as i64);
    assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    // The client first, then the CLI member: the group rebalances to make room for it.
    let mut kafka = member(client, &bs, "etl", "orders", "client");
    kafka.wait_for("assignment of 4 partitions", |m| {
        m.assigned().is_some_and(|p| p.len() == 4)
    });
    let second = cli();
    kafka.wait_for("assignment of 2 partitions", |m| {
        m.assigned().is_some_and(|p| p.len() == 2)
    });
    produce(&dir, "orders", PER_PARTITION, PER_PARTITION);
    let from_client = records(&kafka.finish());
    // The CLI member reads its share once the client is gone, and whatever it left.
    std::thread::sleep(Duration::from_secs(2));
    let from_cli = records(&second.stop());
    let counts = assert_each_once(
        &[&from_client, &from_cli],
        PER_PARTITION as i64,
        2 * PER_PARTITION as i64,
    );
    assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    assert_eq!(
        committed(&dir, "etl"),
        vec![Some(2 * PER_PARTITION as i64); PARTITIONS as usize]
    );
    serve.stop();
}

/// A group's first record comes after the initial rebalance delay (3 s by default), not
/// half a session timeout; with the delay at 0, at once. Generous bounds: the machine may be
/// busy (the benchmark measures it precisely).
#[test]
fn a_groups_first_record_comes_after_the_initial_delay_only() {
    let client = Client::Confluent;
    if !client.require() {
        return;
    }
    let (_tmp, dir) = setup("orders");
    produce(&dir, "orders", 0, 1);
    for (args, bound) in [
        (&["--group-initial-rebalance-delay-ms", "0"][..], 3_000),
        (&[][..], 7_000),
    ] {
        let serve = Serve::start_on(&dir, "127.0.0.1:0", args);
        let group = format!("first-{}", args.len());
        let out = member(client, &serve.bootstrap(), &group, "orders", "client").finish();
        let first = out
            .iter()
            .find_map(|v| v["first_ms"].as_u64())
            .unwrap_or_else(|| panic!("no record: {out:?}"));
        eprintln!("first record of a group with {args:?}: {first} ms");
        assert!(first < bound, "{args:?}: first record after {first} ms");
        if args.is_empty() {
            assert!(
                first >= 3_000,
                "the initial delay was not waited: {first} ms"
            );
        }
        serve.stop();
    }
}
