//! Four producers at once into a 3-partition keyed topic, followed live by two members of one
//! group and one plain consumer; the followers are stopped with SIGTERM once everything is
//! visible (polled with a deadline, never a fixed sleep). Then:
//! - every record is in the log exactly once (`consume --json`), each key in one partition,
//!   and each producer's records keep their order within each partition (a per-producer
//!   sequence number in the value);
//! - the two members together printed every record exactly once (no crash, so no duplicate is
//!   allowed), and never the same (partition, offset) both;
//! - the plain consumer printed every record exactly once;
//! - every printed value is the log's value at that offset.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::{Child, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::harness::{DEADLINE, Klog, Summary, by_mode, parse_json_record, slurp};

const PRODUCERS: u64 = 4;
const PARTITIONS: u32 = 3;
const KEYS_PER_PRODUCER: u64 = 37;

#[test]
fn concurrent_producers_and_followers() {
    let mut s = Summary::new("concurrency");
    let mut rng = s.rng();
    let n = by_mode(20_000u64, 250_000);
    let total = n * PRODUCERS;
    let k = Klog::new();
    k.ok(&[
        "topics",
        "create",
        "q",
        "-p",
        &PARTITIONS.to_string(),
        "-c",
        "segment.bytes=1000000",
    ]);
    let json = ["consume", "q", "-f", "--json"];
    let m1 = k.follow(&["consume", "q", "-g", "g", "-f", "--json"]);
    let m2 = k.follow(&["consume", "q", "-g", "g", "-f", "--json"]);
    let plain = k.follow(&json);

    let start = Arc::new(Barrier::new(PRODUCERS as usize));
    let mut producers: Vec<(Child, std::thread::JoinHandle<()>, _)> = Vec::new();
    for i in 0..PRODUCERS {
        let mut child = k
            .cmd()
            .args(["produce", "q", "-K", "=", "-q"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn producer");
        let err = slurp(child.stderr.take().expect("stderr"));
        let mut stdin = child.stdin.take().expect("stdin");
        let start = start.clone();
        let mut rng = rng.fork();
        let feeder = std::thread::spawn(move || {
            start.wait();
            let mut seq = 0;
            while seq < n {
                let chunk = rng.range(1, 3000).min(n - seq);
                let mut buf = String::new();
                for q in seq..seq + chunk {
                    buf.push_str(&format!("p{i}-k{}=p{i}:{q}\n", q % KEYS_PER_PRODUCER));
                }
                stdin.write_all(buf.as_bytes()).expect("write to producer");
                seq += chunk;
                if rng.chance(0.2) {
                    std::thread::sleep(Duration::from_micros(rng.below(2000)));
                }
            }
        });
        producers.push((child, feeder, err));
    }
    for (mut child, feeder, err) in producers {
        feeder.join().expect("feeder");
        let st = child.wait().expect("wait producer");
        let err = String::from_utf8_lossy(&err.join().expect("stderr")).into_owned();
        if !st.success() || !err.is_empty() {
            s.fail(format!("producer exited {st:?}: {err}"));
        }
    }
    s.acknowledged = total;

    // Wait until the followers have printed everything (or the deadline passes).
    let all_seen = plain.wait_for(DEADLINE, |ls| ls.len() as u64 >= total);
    let start_wait = std::time::Instant::now();
    let members_seen = loop {
        if (m1.count() + m2.count()) as u64 >= total {
            break true;
        }
        if start_wait.elapsed() > DEADLINE {
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let ended: Vec<_> = [m1, m2, plain].into_iter().map(|f| f.terminate()).collect();
    for (name, e) in ["member 1", "member 2", "plain consumer"]
        .iter()
        .zip(&ended)
    {
        if !e.status.success() || crate::harness::crashed(&e.status, &e.stderr) {
            if e.stderr.contains("panicked") {
                s.panics += 1;
            }
            s.fail(format!("{name} ended {:?}: {}", e.status, e.stderr));
        }
    }
    if !all_seen || !members_seen {
        s.fail(format!(
            "after {DEADLINE:?}: plain consumer printed {}, members {} + {}, of {total}",
            ended[2].lines.len(),
            ended[0].lines.len(),
            ended[1].lines.len()
        ));
    }

    // The log itself.
    let text = k.ok(&["consume", "q", "--json"]);
    let mut log: HashMap<(u32, i64), String> = HashMap::new();
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut last_seq: HashMap<(u32, u64), u64> = HashMap::new();
    let mut key_partition: HashMap<String, u32> = HashMap::new();
    for line in text.lines() {
        let (p, o, key, value) = match parse_json_record(line) {
            Ok(r) => r,
            Err(e) => {
                s.corrupt += 1;
                s.fail(e);
                continue;
            }
        };
        let value = value.unwrap_or_default();
        let parsed = value
            .strip_prefix('p')
            .and_then(|r| r.split_once(':'))
            .and_then(|(i, q)| Some((i.parse::<u64>().ok()?, q.parse::<u64>().ok()?)));
        let Some((i, q)) = parsed.filter(|&(i, q)| i < PRODUCERS && q < n) else {
            s.corrupt += 1;
            s.fail(format!("garbage record {p}/{o}: {value:?}"));
            continue;
        };
        if key.as_deref() != Some(&format!("p{i}-k{}", q % KEYS_PER_PRODUCER)) {
            s.corrupt += 1;
            s.fail(format!("record {p}/{o} {value:?} has key {key:?}"));
        }
        if let Some(k) = key
            && *key_partition.entry(k.clone()).or_insert(p) != p
        {
            s.fail(format!("key {k} in two partitions"));
        }
        if !seen.insert((i, q)) {
            s.duplicated += 1;
            s.fail(format!(
                "record p{i}:{q} twice in the log (again at {p}/{o})"
            ));
        }
        if let Some(&prev) = last_seq.get(&(p, i))
            && prev >= q
        {
            s.fail(format!(
                "partition {p}: producer {i}'s record {q} at offset {o} after its record {prev}"
            ));
        }
        last_seq.insert((p, i), q);
        log.insert((p, o), value);
    }
    if seen.len() as u64 != total {
        s.lost += total - seen.len() as u64;
        s.fail(format!("{} of {total} records in the log", seen.len()));
    }

    // What the followers printed.
    let check_printed = |s: &mut Summary, name: &str, lines: &[String]| {
        let mut got = HashSet::new();
        for line in lines {
            let (p, o, _, v) = match parse_json_record(line) {
                Ok(r) => r,
                Err(e) => {
                    s.corrupt += 1;
                    s.fail(format!("{name}: {e}"));
                    continue;
                }
            };
            if log.get(&(p, o)) != v.as_ref() {
                s.corrupt += 1;
                s.fail(format!(
                    "{name}: printed {p}/{o} = {v:?}, the log holds {:?}",
                    log.get(&(p, o))
                ));
            }
            if !got.insert((p, o)) {
                s.duplicated += 1;
                s.fail(format!("{name}: printed {p}/{o} twice"));
            }
        }
        got
    };
    let a = check_printed(&mut s, "member 1", &ended[0].lines);
    let b = check_printed(&mut s, "member 2", &ended[1].lines);
    let both: Vec<_> = a.intersection(&b).take(5).collect();
    if !both.is_empty() {
        s.duplicated += a.intersection(&b).count() as u64;
        s.fail(format!("the members overlapped, e.g. {both:?}"));
    }
    let members = a.len() + b.len() - a.intersection(&b).count();
    if members != log.len() {
        s.lost += log.len().saturating_sub(members) as u64;
        s.fail(format!(
            "the members printed {members} of {} records",
            log.len()
        ));
    }
    let plain_got = check_printed(&mut s, "plain consumer", &ended[2].lines);
    if plain_got.len() != log.len() {
        s.lost += log.len().saturating_sub(plain_got.len()) as u64;
        s.fail(format!(
            "the plain consumer printed {} of {} records",
            plain_got.len(),
            log.len()
        ));
    }
    s.rounds = 1;
    s.bump("member1", a.len() as u64);
    s.bump("member2", b.len() as u64);
    s.finish();
}

/// Regression test for a bug this suite found: producers writing to one topic at once failed
/// with exit 1 and `klog: error: write checkpoint files: rename …/leader-epoch-checkpoint.tmp:
/// No such file or directory` when they finished at about the same time (every record was
/// appended; a caller retrying would have duplicated them). `storage::fs::atomic_write` used a
/// fixed temp name; fixed in 07e02d5 ("unique temp files"). Six producers finish together,
/// twenty times: all must exit 0 with nothing on stderr.
#[test]
fn concurrent_producers_finishing_together_all_exit_0() {
    let mut s = Summary::new("checkpoint_race");
    let k = Klog::new();
    k.ok(&["topics", "create", "q", "-p", "3"]);
    let tries = 20;
    for round in 0..tries {
        s.rounds += 1;
        let input: String = (0..300).map(|i| format!("k{i}=v{i}\n")).collect();
        let start = Arc::new(Barrier::new(6));
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let mut c = k.cmd();
                c.args(["produce", "q", "-K", "="]);
                let input = input.clone();
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    crate::harness::run_command(c, vec!["produce".into()], Some(input.as_bytes()))
                })
            })
            .collect();
        for h in handles {
            let out = h.join().expect("producer thread");
            s.acknowledged += 300;
            if !out.success() || !out.stderr.is_empty() {
                s.fail(format!("round {round}: {}", out.show()));
            }
        }
        if !s.failures.is_empty() {
            break;
        }
    }
    s.finish();
}
