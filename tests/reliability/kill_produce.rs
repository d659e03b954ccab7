//! `kill -9` of `klog produce` while it appends, round after round on one growing log.
//!
//! Each round: a follower (`consume -f`) watches from the round's first offset, a producer
//! reads numbered records from a pipe that a thread fills in random bursts, and the producer
//! is SIGKILLed at a random moment. The records the follower printed before the kill are the
//! *acknowledged* ones (with `--sync`, what a concurrent reader saw is what klog had appended;
//! visibility is the only acknowledgement observable from outside). Then:
//! - with `--sync`, the recovery point (written after each fsync) has reached at least the
//!   base offset of the batch holding the last acknowledged record: every batch before it was
//!   fsynced before it was appended. Counted as `sync_checked`.
//! - `segments verify` right after the kill may report a torn tail (exit 3, `torn_tail`
//!   problems only, in the last `.log`): the README says the *next writer* cuts it. Anything
//!   else there is a violation. Counted as `torn_before_recovery`.
//! - one `klog produce` of a marker record (the next writer: it recovers the tail) succeeds,
//!   and `segments verify` exits 0 after it;
//! - the round's records are dense offsets holding exactly the numbers first, first+1, … in
//!   order (a prefix of what was written), the marker last; every acknowledged record is there
//!   exactly once at the offset the follower printed; nothing else (no garbage).
//!
//! In 30% of the rounds a second writer is started and killed within 15 ms, while it recovers
//! the tail or appends one record (`premarker-N`, kept or not, right before the marker).

use std::io::Write;
use std::process::{ChildStdin, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::harness::{DEADLINE, Klog, Rng, Summary, by_mode, parse_offset_value, slurp};

/// Length of the filler after a number: derived from the number, so a reader can tell a
/// whole record from garbage.
fn pad_len(n: u64) -> usize {
    (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize
}

pub fn value_of(n: u64) -> String {
    format!("{n}.{}", "x".repeat(pad_len(n)))
}

/// The number a value holds, if the value is exactly `value_of(n)`.
pub fn parse_value(v: &str) -> Option<u64> {
    let (n, pad) = v.split_once('.')?;
    let n: u64 = n.parse().ok()?;
    (pad.len() == pad_len(n) && pad.bytes().all(|b| b == b'x')).then_some(n)
}

/// What one round left in the log.
struct Round {
    start: i64,
    first: u64,
    count: u64,
    /// The record of a second writer killed during its recovery, if it got appended.
    premarker: Option<String>,
    marker: String,
}

/// The expected value at every offset, from the rounds so far.
fn expected_at(rounds: &[Round], offset: i64) -> Option<String> {
    let i = rounds
        .partition_point(|r| r.start <= offset)
        .checked_sub(1)?;
    let r = &rounds[i];
    let rel = (offset - r.start) as u64;
    let pre = r.premarker.is_some() as u64;
    if rel < r.count {
        Some(value_of(r.first + rel))
    } else if rel == r.count && pre == 1 {
        r.premarker.clone()
    } else if rel == r.count + pre {
        Some(r.marker.clone())
    } else {
        None
    }
}

/// Fills the producer's stdin with numbered records in random bursts until `max` are
/// written or the pipe breaks, then keeps it open until `stop`. Returns how many records may
/// have reached the pipe (a burst cut by a broken pipe counts whole: part of it may have).
fn spawn_writer(
    mut stdin: ChildStdin,
    mut rng: Rng,
    first: u64,
    max: u64,
    stop: Arc<AtomicBool>,
) -> JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut next = first;
        let mut buf = String::new();
        while next - first < max && !stop.load(Ordering::Relaxed) {
            let burst = match rng.below(4) {
                0 => 1,
                1 => rng.range(1, 50),
                _ => rng.range(50, 4000),
            }
            .min(max - (next - first));
            buf.clear();
            for n in next..next + burst {
                buf.push_str(&value_of(n));
                buf.push('\n');
            }
            if stdin.write_all(buf.as_bytes()).is_err() {
                return next + burst - first;
            }
            next += burst;
            if rng.chance(0.3) {
                std::thread::sleep(Duration::from_micros(rng.below(3000)));
            }
        }
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
        }
        next - first
    })
}

fn kill_produce(name: &'static str, sync: bool) {
    let mut s = Summary::new(name);
    let mut rng = s.rng();
    let rounds_wanted = by_mode(15, 200);
    let max_per_round = by_mode(20_000, 20_000);
    let k = Klog::new();
    k.ok(&[
        "topics",
        "create",
        "t",
        "-c",
        "segment.bytes=300000",
        "-c",
        "index.interval.bytes=1024",
    ]);
    let mut rounds: Vec<Round> = Vec::new();
    let mut leo: i64 = 0;
    let mut next_number: u64 = 0;
    for round in 0..rounds_wanted {
        s.rounds += 1;
        let start = leo;
        let first = next_number;
        let follower = k.follow(&[
            "consume",
            "t",
            "-f",
            "-o",
            &start.to_string(),
            "-F",
            "%o %s\\n",
        ]);
        let mut args = vec!["produce", "t", "-q"];
        if sync {
            args.push("--sync");
        }
        let mut producer = k
            .cmd()
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn klog produce");
        let perr = slurp(producer.stderr.take().expect("stderr"));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = spawn_writer(
            producer.stdin.take().expect("stdin"),
            rng.fork(),
            first,
            max_per_round,
            stop.clone(),
        );
        let delay = match rng.below(10) {
            0 => rng.below(5),
            1..=6 => rng.range(5, 200),
            _ => rng.range(200, 600),
        };
        std::thread::sleep(Duration::from_millis(delay));
        // What a reader saw before the kill: these records must survive it.
        let acked = follower.snapshot();
        producer.kill().expect("kill producer");
        let pstatus = producer.wait().expect("wait producer");
        stop.store(true, Ordering::Relaxed);
        let sent = writer.join().expect("writer thread");
        let pstderr = String::from_utf8_lossy(&perr.join().expect("stderr")).into_owned();
        if pstderr.contains("panicked") || pstderr.contains("RUST_BACKTRACE") {
            s.panics += 1;
            s.fail(format!("round {round}: producer stderr: {pstderr}"));
        }
        if pstatus.success() {
            s.bump("exited_before_kill", 1);
        }

        // Before the next writer: clean, or a torn tail that the next writer will cut.
        let v = k.run(&["segments", "verify", "t", "--json"]);
        s.check_crash(&v, "verify after kill");
        let mut torn = false;
        match v.code() {
            Some(0) => {}
            Some(3) => {
                let doc: serde_json::Value =
                    serde_json::from_slice(&v.stdout).unwrap_or(serde_json::Value::Null);
                let problems = doc[0]["problems"].as_array().cloned().unwrap_or_default();
                let all_torn =
                    !problems.is_empty() && problems.iter().all(|p| p["kind"] == "torn_tail");
                if all_torn {
                    torn = true;
                    s.bump("torn_before_recovery", 1);
                } else {
                    s.fail(format!(
                        "round {round} ({delay} ms): verify right after the kill found more than \
                         a torn tail: {}",
                        v.show()
                    ));
                }
            }
            _ => s.fail(format!("round {round}: verify after kill: {}", v.show())),
        }

        // --sync: a batch is fsynced before the next one is appended, so the recovery point
        // (written after each fsync) reaches the base offset of the batch holding the last
        // record a reader saw, at least.
        if sync
            && let Some(last) = acked
                .iter()
                .filter_map(|l| parse_offset_value(l))
                .map(|(o, _)| o)
                .max()
        {
            let dump = k.run(&["segments", "dump", "t", "--json"]);
            let base = String::from_utf8_lossy(&dump.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|b| Some((b["base_offset"].as_i64()?, b["last_offset"].as_i64()?)))
                .find(|&(b, l)| b <= last && last <= l)
                .map(|(b, _)| b);
            // No file yet: nothing was flushed, the point is the log's start.
            let rp = match std::fs::read(k.data().join("t-0/.klog-recovery-point")) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(0),
                r => r
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .and_then(|v| v["recovery_point"].as_i64()),
            };
            match (base, rp) {
                (Some(base), Some(rp)) if rp >= base => s.bump("sync_checked", 1),
                _ => s.fail(format!(
                    "round {round} (--sync): a reader saw offset {last} (batch base {base:?}), \
                     but the recovery point is {rp:?}"
                )),
            }
        }

        // Sometimes a second writer is killed too, early: while it recovers the tail or
        // appends its one record (which may or may not be kept, right before the marker).
        let premarker = format!("premarker-{round}");
        if rng.chance(0.3) {
            let mut p2 = k
                .cmd()
                .args(["produce", "t", "-q"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn second producer");
            let mut stdin = p2.stdin.take().expect("stdin");
            let _ = stdin.write_all(format!("{premarker}\n").as_bytes());
            drop(stdin);
            std::thread::sleep(Duration::from_micros(rng.below(15_000)));
            let _ = p2.kill();
            let st = p2.wait().expect("wait second producer");
            s.bump(
                if st.success() {
                    "second_completed"
                } else {
                    "second_killed"
                },
                1,
            );
        }

        // The next writer recovers the tail and appends the marker right after the records.
        let marker = format!("marker-{round}");
        let m = k.run_in(&["produce", "t"], format!("{marker}\n").as_bytes());
        s.check_crash(&m, "marker produce");
        if !m.success() {
            s.fail(format!(
                "round {round}: marker produce failed: {}",
                m.show()
            ));
            break;
        }
        let recovered = m.stderr.contains("recovered");
        if recovered {
            s.bump("recoveries", 1);
        }
        let v = k.run(&["segments", "verify", "t"]);
        s.check_crash(&v, "verify after marker");
        if v.code() != Some(0) {
            s.fail(format!(
                "round {round}: verify after the next writer opened the log: {}",
                v.show()
            ));
        }

        // The follower reaches the marker, then stops on SIGTERM with status 0 (also when it
        // had stopped at a torn tail the next writer cut: see
        // `follower_continues_after_torn_tail_recovery`).
        let marker_line_seen = follower.wait_for(DEADLINE, |ls| {
            ls.last()
                .is_some_and(|l| l.ends_with(&format!(" {marker}")))
        });
        let ended = follower.terminate();
        if !marker_line_seen {
            s.fail(format!(
                "round {round}: the follower never printed the marker (a torn tail was cut \
                 this round: {})",
                recovered || torn
            ));
        }
        if crate::harness::crashed(&ended.status, &ended.stderr) || !ended.status.success() {
            s.fail(format!(
                "round {round}: follower ended with {:?}: {}",
                ended.status, ended.stderr
            ));
        }

        // What is in the log from the round's start.
        let out = k.run(&["consume", "t", "-o", &start.to_string(), "-F", "%o %s\\n"]);
        s.check_crash(&out, "consume");
        let text = out.expect_ok();
        let lines: Vec<&str> = text.lines().collect();
        let mut count = 0u64;
        let mut seen = std::collections::HashSet::new();
        let mut marker_at = None;
        let mut pre_at = None;
        for (i, line) in lines.iter().enumerate() {
            let Some((o, v)) = parse_offset_value(line) else {
                s.corrupt += 1;
                s.fail(format!("round {round}: unparsable line {line:?}"));
                continue;
            };
            if o != start + i as i64 {
                s.fail(format!(
                    "round {round}: offsets not dense: line {i} has offset {o}, expected {}",
                    start + i as i64
                ));
            }
            if v == premarker {
                if pre_at.is_some() || i + 2 != lines.len() {
                    s.fail(format!(
                        "round {round}: {premarker} at offset {o}, not just before the marker"
                    ));
                }
                pre_at = Some(o);
                continue;
            }
            if v == marker {
                marker_at = Some(o);
                if i + 1 != lines.len() {
                    s.fail(format!("round {round}: records after the marker"));
                }
                continue;
            }
            match parse_value(v) {
                None => {
                    s.corrupt += 1;
                    s.fail(format!(
                        "round {round}: garbage record at offset {o}: {v:?}"
                    ));
                }
                Some(n) => {
                    if !seen.insert(n) {
                        s.duplicated += 1;
                        s.fail(format!("round {round}: number {n} twice (offset {o})"));
                    } else if n != first + count {
                        s.fail(format!(
                            "round {round}: offset {o} holds {n}, expected {} (order or gap)",
                            first + count
                        ));
                    }
                    count += 1;
                }
            }
        }
        let pre = pre_at.is_some() as i64;
        if marker_at != Some(start + count as i64 + pre) {
            s.fail(format!(
                "round {round}: marker at {marker_at:?}, expected at {}",
                start + count as i64 + pre
            ));
        }
        if count > sent {
            s.fail(format!(
                "round {round}: {count} records in the log, only {sent} written"
            ));
        }
        rounds.push(Round {
            start,
            first,
            count,
            premarker: pre_at.map(|_| premarker.clone()),
            marker: marker.clone(),
        });

        // Everything a reader saw survived, at the same offset.
        let check_seen = |s: &mut Summary, l: &str, acked: bool| {
            let ok = parse_offset_value(l)
                .is_some_and(|(o, v)| expected_at(&rounds, o).as_deref() == Some(v));
            if !ok {
                if acked {
                    s.lost += 1;
                }
                s.fail(format!(
                    "round {round}: the follower printed {l:?}{}, not in the log after the kill",
                    if acked { " before the kill" } else { "" }
                ));
            }
        };
        for l in &acked {
            check_seen(&mut s, l, true);
        }
        for (i, l) in ended.lines.iter().enumerate() {
            if i >= acked.len() {
                check_seen(&mut s, l, false);
            }
            if parse_offset_value(l).map(|(o, _)| o) != Some(start + i as i64) {
                s.fail(format!(
                    "round {round}: follower line {i} is {l:?}, expected offset {}",
                    start + i as i64
                ));
                break;
            }
        }
        s.acknowledged += acked.len() as u64;
        s.bump("records_kept", count);
        leo = start + count as i64 + pre + 1;
        next_number = first + sent.max(count);
        let (_, end) = k.offsets("t", 0);
        if end != leo {
            s.fail(format!(
                "round {round}: log end offset {end}, expected {leo}"
            ));
            leo = end;
        }
        if !s.failures.is_empty() {
            break;
        }
        if round % 25 == 24 || round + 1 == rounds_wanted {
            full_check(&k, &rounds, leo, &mut s);
        }
    }
    s.finish();
}

/// The whole log, from offset 0: dense, every record the model says, the last marker last.
fn full_check(k: &Klog, rounds: &[Round], leo: i64, s: &mut Summary) {
    let text = k.ok(&["consume", "t", "-F", "%o %s\\n"]);
    let mut n = 0i64;
    for line in text.lines() {
        match parse_offset_value(line) {
            Some((o, v)) if o == n && expected_at(rounds, o).as_deref() == Some(v) => {}
            _ => {
                s.fail(format!(
                    "full check: line {n} is {line:?}, expected offset {n} = {:?}",
                    expected_at(rounds, n)
                ));
                return;
            }
        }
        n += 1;
    }
    if n != leo {
        s.fail(format!("full check: {n} records, expected {leo}"));
    }
}

#[test]
fn kill_produce_sync() {
    kill_produce("kill_produce_sync", true);
}

#[test]
fn kill_produce_default_flush() {
    kill_produce("kill_produce_default", false);
}

/// Regression test for a bug this suite found (long mode, seed 870242327918, round 39 of
/// `kill_produce_default`: "the follower never printed the marker"; fixed in 6ada664): a
/// follower (`consume -f`) that stopped at a torn tail stalled after the next writer cut the
/// tail and appended, until the log grew past the torn batch's declared size, because
/// `ChunkReader::fill` (src/storage/reader.rs) kept serving the stale frame header from its
/// buffer. Two batches, then half of a third (a torn write); the follower prints the 20
/// records; `produce` of "marker" cuts the torn half and appends at offset 20; the follower
/// must print it.
#[test]
fn follower_continues_after_torn_tail_recovery() {
    let mut s = Summary::new("follower_after_torn_tail");
    let k = Klog::new();
    k.ok_in(
        &["produce", "t", "-q"],
        (0..10)
            .map(|n| value_of(n) + "\n")
            .collect::<String>()
            .as_bytes(),
    );
    k.ok_in(
        &["produce", "t", "-q"],
        (10..20)
            .map(|n| value_of(n) + "\n")
            .collect::<String>()
            .as_bytes(),
    );
    // A torn third batch: the first half of a copy of the second, with base offset 20.
    let log = k.partition_dir("t", 0).join("00000000000000000000.log");
    let mut bytes = std::fs::read(&log).expect("read log");
    let second = *crate::harness::frames(&bytes).last().expect("two batches");
    let mut torn =
        bytes[second.position as usize..(second.position + second.size) as usize].to_vec();
    torn[..8].copy_from_slice(&20i64.to_be_bytes());
    torn.truncate(torn.len() / 2);
    bytes.extend_from_slice(&torn);
    std::fs::write(&log, &bytes).expect("write torn tail");

    let follower = k.follow(&["consume", "t", "-f", "-F", "%o %s\\n"]);
    let saw_all = follower.wait_for(DEADLINE, |ls| ls.len() == 20);
    assert!(saw_all, "the follower prints the 20 whole records");
    let m = k.run_in(&["produce", "t"], b"marker\n");
    assert!(m.stderr.contains("recovered"), "{}", m.show());
    s.rounds = 1;
    s.acknowledged = 21;
    let seen = follower.wait_for(Duration::from_secs(10), |ls| {
        ls.last().is_some_and(|l| l == "20 marker")
    });
    let ended = follower.terminate();
    if !seen {
        s.fail(format!(
            "10 s after the next writer cut the torn tail and appended offset 20, the follower \
             still ends at {:?}",
            ended.lines.last()
        ));
    }
    s.finish();
}
