//! `kill -9` of a consumer group member (`consume t -g g -f`) at random moments while a
//! producer keeps adding records, round after round; a fresh member resumes each time, and a
//! last non-following member drains the group at the end.
//!
//! The README's promise: a member commits only what it has written out and flushed, so a crash
//! repeats records and never skips them. Checked per partition and round, with `C` the group's
//! committed offset read from `klog-group.g.json` before and after the round:
//! - the member starts exactly at the committed offset (its first printed offset is `C_before`);
//! - it prints dense offsets from there, each with the value the log holds;
//! - the commit never goes back and never passes what the member printed
//!   (`C_before <= C_after <= C_before + printed`);
//! - so records printed again by the next member are exactly those at or after `C_after`
//!   (counted as `redelivered`; a record printed again below a commit is a violation);
//! - across all rounds every offset of every partition was printed at least once;
//! - no commit temp file (`.klog-group.g.json.<pid>.tmp`) is left once the drain has owned
//!   every partition.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::harness::{Klog, Summary, by_mode, parse_json_record, slurp};
use crate::kill_produce::value_of;

const PARTITIONS: u32 = 3;

/// The committed offset of group `g` for each partition (`None` where nothing is committed).
fn committed(k: &Klog) -> Vec<Option<i64>> {
    (0..PARTITIONS)
        .map(|p| {
            let path = k.partition_dir("t", p).join("klog-group.g.json");
            let text = std::fs::read(&path).ok()?;
            let v: serde_json::Value = serde_json::from_slice(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON ({e})", path.display()));
            Some(v["offset"].as_i64().expect("offset"))
        })
        .collect()
}

/// Parses `-F '%p %o %s\n'`.
fn parse_line(l: &str) -> Option<(u32, i64, &str)> {
    let mut it = l.splitn(3, ' ');
    let p = it.next()?.parse().ok()?;
    let o = it.next()?.parse().ok()?;
    Some((p, o, it.next()?))
}

#[test]
fn kill_group_member() {
    let mut s = Summary::new("kill_group_member");
    let mut rng = s.rng();
    let rounds_wanted = by_mode(12, 200);
    let k = Klog::new();
    k.ok(&[
        "topics",
        "create",
        "t",
        "-p",
        &PARTITIONS.to_string(),
        "-c",
        "segment.bytes=100000",
    ]);

    // One producer for the whole test, fed a trickle of keyed records.
    let mut producer = k
        .cmd()
        .args(["produce", "t", "-K", ":", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn producer");
    let perr = slurp(producer.stderr.take().expect("stderr"));
    let mut stdin = producer.stdin.take().expect("stdin");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut rng = rng.fork();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let burst = rng.range(1, 200);
                let mut buf = String::new();
                for i in n..n + burst {
                    buf.push_str(&format!("k{}:{}\n", i % 11, value_of(i)));
                }
                stdin.write_all(buf.as_bytes()).expect("write to producer");
                n += burst;
                std::thread::sleep(Duration::from_millis(rng.below(20)));
            }
            n
        })
    };

    // Everything printed by every member: (partition, offset, value).
    let mut printed: Vec<(u32, i64, String)> = Vec::new();
    let mut commit: Vec<i64> = vec![0; PARTITIONS as usize];
    let mut redelivered = 0u64;
    let mut check_member = |s: &mut Summary,
                            what: &str,
                            lines: &[String],
                            printed: &mut Vec<(u32, i64, String)>,
                            commit: &mut Vec<i64>,
                            now: &[Option<i64>]| {
        let mut next: Vec<Option<i64>> = vec![None; PARTITIONS as usize];
        let mut count = vec![0i64; PARTITIONS as usize];
        for l in lines {
            let Some((p, o, v)) = parse_line(l).filter(|(p, _, _)| *p < PARTITIONS) else {
                s.corrupt += 1;
                s.fail(format!("{what}: unparsable line {l:?}"));
                continue;
            };
            let pi = p as usize;
            let expected = next[pi].unwrap_or(commit[pi]);
            if o != expected {
                if o < commit[pi] {
                    s.duplicated += 1;
                }
                s.fail(format!(
                    "{what}: partition {p}: printed offset {o}, expected {expected} (committed \
                     before the round: {})",
                    commit[pi]
                ));
            }
            next[pi] = Some(o + 1);
            count[pi] += 1;
            printed.push((p, o, v.to_string()));
        }
        for p in 0..PARTITIONS as usize {
            let after = now[p].unwrap_or(0);
            if after < commit[p] || after > commit[p] + count[p] {
                s.fail(format!(
                    "{what}: partition {p}: commit moved from {} to {after} after printing {} \
                     records",
                    commit[p], count[p]
                ));
            }
            s.acknowledged += (after - commit[p]).max(0) as u64;
            redelivered += (commit[p] + count[p] - after).max(0) as u64;
            commit[p] = after;
        }
    };

    for round in 0..rounds_wanted {
        s.rounds += 1;
        let member = k.follow(&["consume", "t", "-g", "g", "-f", "-F", "%p %o %s\\n"]);
        let delay = if rng.chance(0.1) {
            rng.below(10)
        } else {
            rng.range(20, 1500)
        };
        std::thread::sleep(Duration::from_millis(delay));
        let ended = member.kill();
        // SIGKILL is the expected end; a panic before it is not.
        if ended.stderr.contains("panicked") || ended.stderr.contains("RUST_BACKTRACE") {
            s.panics += 1;
            s.fail(format!("round {round}: member stderr: {}", ended.stderr));
        }
        let now = committed(&k);
        check_member(
            &mut s,
            &format!("round {round} ({delay} ms)"),
            &ended.lines,
            &mut printed,
            &mut commit,
            &now,
        );
        if s.failures.len() > 10 {
            break;
        }
    }

    // Stop the producer cleanly, then drain with a member that stops at the end of the log.
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().expect("writer");
    let pstatus = producer.wait().expect("wait producer");
    let perr = String::from_utf8_lossy(&perr.join().expect("stderr")).into_owned();
    assert!(pstatus.success(), "producer: {pstatus:?} {perr}");
    let drain = k.run(&["consume", "t", "-g", "g", "-F", "%p %o %s\\n"]);
    s.check_crash(&drain, "drain");
    let text = drain.expect_ok();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let now = committed(&k);
    check_member(&mut s, "drain", &lines, &mut printed, &mut commit, &now);

    // The log as it is: every offset printed at least once, with the log's value.
    let all = k.ok(&["consume", "t", "--json"]);
    let mut log = std::collections::HashMap::new();
    let mut ends = vec![0i64; PARTITIONS as usize];
    for l in all.lines() {
        let (p, o, _, v) = parse_json_record(l).expect("consume --json line");
        ends[p as usize] = ends[p as usize].max(o + 1);
        log.insert((p, o), v.unwrap_or_default());
    }
    if log.len() as u64 != written {
        s.fail(format!(
            "{} records in the log, {written} produced",
            log.len()
        ));
    }
    let mut covered = BTreeSet::new();
    for (p, o, v) in &printed {
        if log.get(&(*p, *o)) != Some(v) {
            s.corrupt += 1;
            s.fail(format!(
                "printed {p}/{o} {v:?}, the log holds {:?}",
                log.get(&(*p, *o))
            ));
        }
        covered.insert((*p, *o));
    }
    for p in 0..PARTITIONS {
        let missing = (0..ends[p as usize])
            .filter(|o| !covered.contains(&(p, *o)))
            .count() as u64;
        if missing > 0 {
            s.lost += missing;
            s.fail(format!(
                "partition {p}: {missing} offsets never printed by any member"
            ));
        }
        if commit[p as usize] != ends[p as usize] {
            s.fail(format!(
                "partition {p}: committed {} after the drain, log end {}",
                commit[p as usize], ends[p as usize]
            ));
        }
    }
    // A commit killed between its temp file and the rename leaves the temp file; the next
    // owner of the partition sweeps it, so none is left once the drain has owned them all.
    for p in 0..PARTITIONS {
        let dir = k.partition_dir("t", p);
        for e in std::fs::read_dir(&dir).expect("read partition directory") {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            if name.starts_with(".klog-group.g.json.") && name.ends_with(".tmp") {
                s.fail(format!("partition {p}: {name} left after the drain"));
            }
        }
    }
    s.bump("redelivered", redelivered);
    s.bump("records", log.len() as u64);
    s.finish();
}
