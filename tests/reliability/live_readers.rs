//! Readers of a live partition that rolls all the time: bursty producers into a topic with
//! 4 KiB segments, so that segments are created while readers list the directory.
//!
//! - `followers_under_rolls`: three plain followers and two members of one group follow the
//!   topic while it is written. Each plain follower prints every offset exactly once, in
//!   order; the two members together print every record exactly once; the group commits the
//!   log end offset. (Regression: followers and a group member skipped whole segments, each
//!   on disk and clean, when one directory listing showed a newer segment without the one
//!   created just before it; the member committed past the records it never printed.)
//! - `verify_under_load`: `segments verify` in a loop while two producers write, segments
//!   roll and retention deletes old ones: it never reports damage, and never fails on a
//!   segment deleted meanwhile. (Regression: 672 of 801 runs exited 3, index entries "going
//!   back in time" or positions "not the start of a batch", and some exited 1 with "No such
//!   file".)

use std::collections::HashSet;
use std::io::Write;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::harness::{DEADLINE, Klog, Rng, Summary, by_mode, parse_offset_value, slurp};

/// A `klog produce TOPIC` process fed bursts of `p<i>-<n>` lines by a thread until `stop`;
/// returns the process, the feeding thread (which returns how many records it wrote) and
/// its stderr.
fn bursty_producer(
    k: &Klog,
    topic: &str,
    i: usize,
    mut rng: Rng,
    stop: Arc<AtomicBool>,
) -> (Child, JoinHandle<u64>, JoinHandle<Vec<u8>>) {
    let mut child = k
        .cmd()
        .args(["produce", topic, "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn producer");
    let err = slurp(child.stderr.take().expect("stderr"));
    let mut stdin = child.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let burst = rng.range(1, 50);
            let mut buf = String::new();
            for q in n..n + burst {
                buf.push_str(&format!("p{i}-{q}\n"));
            }
            stdin.write_all(buf.as_bytes()).expect("write to producer");
            n += burst;
            std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        }
        n
    });
    (child, feeder, err)
}

/// Stops the producers; returns how many records they wrote in all.
fn stop_producers(
    s: &mut Summary,
    stop: &AtomicBool,
    producers: Vec<(Child, JoinHandle<u64>, JoinHandle<Vec<u8>>)>,
) -> u64 {
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for (mut child, feeder, err) in producers {
        total += feeder.join().expect("feeder");
        let st = child.wait().expect("wait producer");
        let err = String::from_utf8_lossy(&err.join().expect("stderr")).into_owned();
        if !st.success() || !err.is_empty() {
            s.fail(format!("producer exited {st:?}: {err}"));
        }
    }
    total
}

#[test]
fn followers_under_rolls() {
    let mut s = Summary::new("followers_under_rolls");
    let mut rng = s.rng();
    let k = Klog::new();
    k.ok(&[
        "topics",
        "create",
        "t",
        "-c",
        "segment.bytes=4096",
        "-c",
        "retention.ms=-1",
    ]);
    let fmt = ["-F", "%o %s\\n"];
    let plain: Vec<_> = (0..3)
        .map(|_| k.follow(&["consume", "t", "-f", fmt[0], fmt[1]]))
        .collect();
    let members: Vec<_> = (0..2)
        .map(|_| k.follow(&["consume", "t", "-g", "g", "-f", fmt[0], fmt[1]]))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..2)
        .map(|i| bursty_producer(&k, "t", i, rng.fork(), stop.clone()))
        .collect();
    std::thread::sleep(by_mode(Duration::from_secs(4), Duration::from_secs(40)));
    let total = stop_producers(&mut s, &stop, producers);
    s.acknowledged = total;
    let segments = crate::harness::segment_bases(&k.partition_dir("t", 0)).len();
    s.bump("segments", segments as u64);

    // Everything is in the log once: wait for the followers to print it all.
    let deadline = Instant::now() + DEADLINE;
    for f in &plain {
        let left = deadline.saturating_duration_since(Instant::now());
        f.wait_for(left, |ls| ls.len() as u64 >= total);
    }
    let members_done = {
        let left = deadline.saturating_duration_since(Instant::now());
        let start = Instant::now();
        loop {
            let n: usize = members.iter().map(|m| m.count()).sum();
            if n as u64 >= total || start.elapsed() > left {
                break n as u64 >= total;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let check = |s: &mut Summary, name: &str, lines: &[String], seen: &mut HashSet<i64>| {
        let mut prev = -1i64;
        for l in lines {
            let Some((o, v)) = parse_offset_value(l) else {
                s.corrupt += 1;
                s.fail(format!("{name}: not a record line: {l:?}"));
                return;
            };
            let well_formed = v
                .strip_prefix('p')
                .and_then(|r| r.split_once('-'))
                .is_some_and(|(i, q)| i.parse::<u8>().is_ok() && q.parse::<u64>().is_ok());
            if !well_formed {
                s.corrupt += 1;
                s.fail(format!("{name}: garbage at offset {o}: {v:?}"));
            }
            if o <= prev {
                s.fail(format!("{name}: offset {o} after {prev}"));
            }
            prev = o;
            if !seen.insert(o) {
                s.duplicated += 1;
                s.fail(format!("{name}: offset {o} printed twice"));
            }
        }
    };
    for (i, f) in plain.into_iter().enumerate() {
        let e = f.terminate();
        let name = format!("follower {i}");
        if !e.status.success() {
            s.fail(format!("{name} ended {:?}: {}", e.status, e.stderr));
        }
        let mut seen = HashSet::new();
        check(&mut s, &name, &e.lines, &mut seen);
        let missing: Vec<i64> = (0..total as i64).filter(|o| !seen.contains(o)).collect();
        if !missing.is_empty() {
            s.lost += missing.len() as u64;
            s.fail(format!(
                "{name} never printed {} offsets, from {:?} to {:?}",
                missing.len(),
                missing.first(),
                missing.last()
            ));
        }
    }
    let mut seen = HashSet::new();
    for (i, m) in members.into_iter().enumerate() {
        let e = m.terminate();
        let name = format!("member {i}");
        if !e.status.success() {
            s.fail(format!("{name} ended {:?}: {}", e.status, e.stderr));
        }
        let mut mine = HashSet::new();
        check(&mut s, &name, &e.lines, &mut mine);
        for o in mine {
            if !seen.insert(o) {
                s.duplicated += 1;
                s.fail(format!("offset {o} printed by both members"));
            }
        }
    }
    if !members_done || seen.len() as u64 != total {
        s.lost += total.saturating_sub(seen.len() as u64);
        s.fail(format!(
            "the members printed {} of {total} records",
            seen.len()
        ));
    }
    let d = crate::harness::json(&k.ok(&["groups", "describe", "g", "--json"]));
    let committed = d[0]["current_offset"].as_i64();
    if committed != Some(total as i64) {
        s.fail(format!(
            "the group committed {committed:?}, the log ends at {total}"
        ));
    }
    s.rounds = 1;
    s.finish();
}

#[test]
fn verify_under_load() {
    let mut s = Summary::new("verify_under_load");
    let mut rng = s.rng();
    let k = Klog::new();
    k.ok(&[
        "topics",
        "create",
        "t",
        "-c",
        "segment.bytes=4096",
        "-c",
        "index.interval.bytes=128",
        "-c",
        "retention.bytes=40000",
    ]);
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..2)
        .map(|i| bursty_producer(&k, "t", i, rng.fork(), stop.clone()))
        .collect();
    let until = Instant::now() + by_mode(Duration::from_secs(4), Duration::from_secs(40));
    while Instant::now() < until {
        s.rounds += 1;
        let v = k.run(&["segments", "verify", "t"]);
        s.check_crash(&v, "verify");
        if !v.success() {
            s.fail(format!(
                "verify of a healthy topic under load: {}",
                v.show()
            ));
            break;
        }
    }
    s.acknowledged = stop_producers(&mut s, &stop, producers);
    let v = k.run(&["segments", "verify", "t"]);
    if !v.success() {
        s.fail(format!("verify once the producers stopped: {}", v.show()));
    }
    s.finish();
}
