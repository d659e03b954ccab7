//! `kill -9` of the maintenance commands half-way: `klog clean` (compaction), `klog trim` and
//! `klog segments roll`. The kill moment is uniform over the command's measured run time (a
//! little beyond it, so that some runs complete). Afterwards:
//! - a reader straight after the kill (no writer has recovered anything yet) prints only
//!   records that were written, at their offsets, offsets increasing;
//! - `produce` of one record works, at the next offset (the log end offset before the kill);
//! - `segments verify` exits 0;
//! - the log reads back as it must: after clean, every key's latest record is there with its
//!   offset and value, nothing that was not written, offsets increasing; after trim, the log
//!   start offset is the old one or the requested one and the records from it are dense;
//!   after roll, every partition's records are all there.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{
    Klog, Out, Rng, Summary, by_mode, frames, segment_file, slurp, wait_deadline,
};

/// Run times of the completed runs of a command, to aim the kills.
pub(crate) struct Timing {
    avg_us: f64,
}

impl Timing {
    pub(crate) fn new(guess: Duration) -> Timing {
        Timing {
            avg_us: guess.as_micros() as f64,
        }
    }

    /// A kill moment: uniform over 0..1.3 × the average run time.
    pub(crate) fn pick(&self, rng: &mut Rng) -> Duration {
        Duration::from_micros(rng.below((self.avg_us * 1.3) as u64 + 1))
    }

    /// A kill that came before the end: aim a little later next time, so that the window
    /// grows until it covers whole runs.
    fn killed(&mut self) {
        self.avg_us *= 1.1;
    }

    fn completed(&mut self, took: Duration) {
        self.avg_us = 0.7 * self.avg_us + 0.3 * took.as_micros() as f64;
    }
}

/// Spawns `klog ARGS` and SIGKILLs it after `delay` unless it exits first. Returns its output
/// when it completed, `None` when it was killed.
pub(crate) fn run_and_kill(
    k: &Klog,
    args: &[&str],
    delay: Duration,
    timing: &mut Timing,
    s: &mut Summary,
) -> Option<Out> {
    let started = Instant::now();
    let mut child = k
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn klog");
    let out = slurp(child.stdout.take().expect("stdout"));
    let err = slurp(child.stderr.take().expect("stderr"));
    let done = wait_deadline(&mut child, delay);
    let took = started.elapsed();
    let killed = done.is_none();
    if killed {
        child.kill().expect("kill");
    }
    let status = child.wait().expect("wait");
    let out = Out {
        args: args.iter().map(|a| a.to_string()).collect(),
        status,
        stdout: out.join().expect("stdout"),
        stderr: String::from_utf8_lossy(&err.join().expect("stderr")).into_owned(),
    };
    if out.stderr.contains("panicked") || out.stderr.contains("RUST_BACKTRACE") {
        s.panics += 1;
        s.fail(format!("{args:?}: {}", out.show()));
    }
    if killed {
        timing.killed();
        s.bump("killed", 1);
        None
    } else {
        timing.completed(took);
        s.bump("completed", 1);
        if !out.success() {
            s.fail(format!("{args:?} completed with an error: {}", out.show()));
        }
        Some(out)
    }
}

/// In long mode (hundreds of rounds), some runs must have been killed and some must have
/// completed: otherwise the kills were not aimed where the work happens and the test showed
/// nothing. (The short mode's few rounds may land all on one side.)
pub(crate) fn killed_and_completed(s: &mut Summary) {
    let (killed, completed) = (s.extra.get("killed"), s.extra.get("completed"));
    if crate::harness::long_mode() && (killed.is_none() || completed.is_none()) {
        s.fail(format!(
            "{} rounds: {killed:?} killed, {completed:?} completed; the kills miss the work",
            s.rounds
        ));
    }
}

/// Parses `-F '%o %k %s\n'`.
fn parse_okv(l: &str) -> Option<(i64, &str, &str)> {
    let mut it = l.splitn(3, ' ');
    Some((it.next()?.parse().ok()?, it.next()?, it.next()?))
}

fn key_of(o: i64, keys: u64) -> String {
    format!(
        "k{}",
        ((o as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) % keys
    )
}

/// The compacted topic's model: what was written at each offset, and each key's latest.
struct CompactModel {
    keys: u64,
    markers: HashMap<i64, String>,
    latest: HashMap<String, i64>,
}

impl CompactModel {
    fn at(&self, o: i64) -> (String, String) {
        match self.markers.get(&o) {
            Some(m) => ("marker".into(), m.clone()),
            None => (key_of(o, self.keys), format!("v{o}")),
        }
    }

    /// Checks a `-F '%o %k %s\n'` read of the whole topic: every line a written record at its
    /// offset, offsets increasing; with `complete`, every key's latest record present.
    fn check(&self, text: &str, leo: i64, complete: bool, what: &str, s: &mut Summary) {
        let mut prev = -1i64;
        let mut present = std::collections::HashSet::new();
        for line in text.lines() {
            let Some((o, key, value)) = parse_okv(line) else {
                s.corrupt += 1;
                s.fail(format!("{what}: unparsable line {line:?}"));
                continue;
            };
            if o >= leo || self.at(o) != (key.to_string(), value.to_string()) {
                s.corrupt += 1;
                s.fail(format!(
                    "{what}: offset {o} printed as {key}={value}, written as {:?}",
                    self.at(o)
                ));
            }
            if o <= prev {
                s.duplicated += 1;
                s.fail(format!("{what}: offset {o} after offset {prev}"));
            }
            prev = prev.max(o);
            present.insert(o);
        }
        if complete {
            let missing: Vec<(&String, &i64)> = self
                .latest
                .iter()
                .filter(|(_, o)| !present.contains(o))
                .collect();
            if !missing.is_empty() {
                s.lost += missing.len() as u64;
                s.fail(format!(
                    "{what}: {} keys lost their latest record, e.g. {:?}",
                    missing.len(),
                    &missing[..missing.len().min(5)]
                ));
            }
        }
    }
}

#[test]
fn kill_clean() {
    let mut s = Summary::new("kill_clean");
    let mut rng = s.rng();
    let rounds = by_mode(8, 200);
    let k = Klog::new();
    k.ok(&[
        "topics",
        "create",
        "c",
        "-c",
        "cleanup.policy=compact",
        "-c",
        "segment.bytes=100000",
        "-c",
        "min.cleanable.dirty.ratio=0.01",
    ]);
    let mut m = CompactModel {
        keys: 3000,
        markers: HashMap::new(),
        latest: HashMap::new(),
    };
    let mut leo = 0i64;
    let mut timing = Timing::new(Duration::from_millis(300));
    for round in 0..rounds {
        s.rounds += 1;
        let n = rng.range(10_000, by_mode(40_000, 60_000)) as i64;
        let mut input = String::new();
        for o in leo..leo + n {
            let key = key_of(o, m.keys);
            input.push_str(&format!("{key}:v{o}\n"));
            m.latest.insert(key, o);
        }
        k.ok_in(&["produce", "c", "-K", ":", "-q"], input.as_bytes());
        leo += n;
        if rng.chance(0.5) {
            k.ok(&["segments", "roll", "c", "-q"]);
        }

        let delay = timing.pick(&mut rng);
        let done = run_and_kill(&k, &["clean", "c"], delay, &mut timing, &mut s);
        let what = format!(
            "round {round} (clean killed after {delay:?}: {})",
            done.is_none()
        );

        // A reader right after the crash, before any writer recovers.
        let r = k.run(&["consume", "c", "-F", "%o %k %s\\n"]);
        s.check_crash(&r, &what);
        if r.success() {
            m.check(
                &r.stdout_str(),
                leo,
                false,
                &format!("{what}, read before recovery"),
                &mut s,
            );
        } else {
            s.fail(format!("{what}: consume before recovery: {}", r.show()));
        }
        if rng.chance(0.3) {
            // The next clean recovers what the killed one left, and cleans.
            let again = k.run(&["clean", "c"]);
            s.check_crash(&again, &what);
            if !again.success() {
                s.fail(format!("{what}: clean after the kill: {}", again.show()));
            }
        }

        let marker = format!("marker-{round}");
        let p = k.run_in(
            &["produce", "c", "-K", ":"],
            format!("marker:{marker}\n").as_bytes(),
        );
        s.check_crash(&p, &what);
        if !p.success() {
            s.fail(format!("{what}: produce after the kill: {}", p.show()));
            break;
        }
        m.markers.insert(leo, marker.clone());
        m.latest.insert("marker".into(), leo);
        let got = k.run(&["consume", "c", "-o", &leo.to_string(), "-F", "%o %k %s\\n"]);
        let want = format!("{leo} marker {marker}\n");
        if got.stdout_str() != want {
            s.fail(format!(
                "{what}: the record produced after the kill is not at offset {leo}: {}",
                got.show()
            ));
        }
        leo += 1;
        let v = k.run(&["segments", "verify", "c"]);
        s.check_crash(&v, &what);
        if v.code() != Some(0) {
            s.fail(format!("{what}: verify: {}", v.show()));
        }
        let all = k.run(&["consume", "c", "-F", "%o %k %s\\n"]);
        s.check_crash(&all, &what);
        m.check(&all.expect_ok(), leo, true, &what, &mut s);
        s.acknowledged += m.latest.len() as u64;
        if !s.failures.is_empty() {
            break;
        }
    }
    s.bump("avg_clean_ms", (timing.avg_us / 1000.0) as u64);
    killed_and_completed(&mut s);
    s.finish();
}

#[test]
fn kill_trim() {
    let mut s = Summary::new("kill_trim");
    let mut rng = s.rng();
    let rounds = by_mode(25, 300);
    let k = Klog::new();
    k.ok(&["topics", "create", "r", "-c", "segment.bytes=20000"]);
    let mut markers: HashMap<i64, String> = HashMap::new();
    let value_at = |markers: &HashMap<i64, String>, o: i64| {
        markers.get(&o).cloned().unwrap_or_else(|| format!("v{o}"))
    };
    let (mut start, mut leo) = (0i64, 0i64);
    let mut timing = Timing::new(Duration::from_millis(10));
    for round in 0..rounds {
        s.rounds += 1;
        let n = rng.range(1000, 8000) as i64;
        let input: String = (leo..leo + n).map(|o| format!("v{o}\n")).collect();
        k.ok_in(&["produce", "r", "-q"], input.as_bytes());
        leo += n;
        let target = rng.range(start as u64, leo as u64 + 1) as i64;
        let delay = timing.pick(&mut rng);
        let done = run_and_kill(
            &k,
            &["trim", "r", "--before", &target.to_string()],
            delay,
            &mut timing,
            &mut s,
        );
        let what = format!(
            "round {round} (trim --before {target} from {start}, killed after {delay:?}: {})",
            done.is_none()
        );
        let (new_start, end) = k.offsets("r", 0);
        if new_start != start && new_start != target {
            s.fail(format!("{what}: log start offset is {new_start}"));
        }
        if done.is_some() && new_start != target.max(start) {
            s.fail(format!(
                "{what}: completed, but the log start offset is {new_start}"
            ));
        }
        if end != leo {
            s.fail(format!("{what}: log end offset {end}, expected {leo}"));
        }
        let marker = format!("marker-{round}");
        let p = k.run_in(&["produce", "r"], format!("{marker}\n").as_bytes());
        s.check_crash(&p, &what);
        if !p.success() {
            s.fail(format!("{what}: produce after the kill: {}", p.show()));
            break;
        }
        markers.insert(leo, marker);
        leo += 1;
        let v = k.run(&["segments", "verify", "r"]);
        s.check_crash(&v, &what);
        if v.code() != Some(0) {
            s.fail(format!("{what}: verify: {}", v.show()));
        }
        let all = k.run(&["consume", "r", "-F", "%o %s\\n"]);
        s.check_crash(&all, &what);
        let text = all.expect_ok();
        let mut want = new_start;
        for line in text.lines() {
            match crate::harness::parse_offset_value(line) {
                Some((o, v)) if o == want && v == value_at(&markers, o) => {}
                _ => {
                    s.corrupt += 1;
                    s.fail(format!(
                        "{what}: line {line:?}, expected offset {want} = {}",
                        value_at(&markers, want)
                    ));
                    break;
                }
            }
            want += 1;
        }
        if want != leo {
            s.lost += (leo - want).max(0) as u64;
            s.fail(format!("{what}: read up to {want}, log end {leo}"));
        }
        s.acknowledged += (leo - new_start) as u64;
        start = new_start;
        if !s.failures.is_empty() {
            break;
        }
    }
    killed_and_completed(&mut s);
    s.finish();
}

#[test]
fn kill_roll() {
    const PARTS: u32 = 3;
    let mut s = Summary::new("kill_roll");
    let mut rng = s.rng();
    let rounds = by_mode(25, 300);
    let k = Klog::new();
    k.ok(&[
        "topics",
        "create",
        "s",
        "-p",
        &PARTS.to_string(),
        "-c",
        "segment.bytes=50000",
    ]);
    let mut leo = [0i64; PARTS as usize];
    let mut timing = Timing::new(Duration::from_millis(5));
    for round in 0..rounds {
        s.rounds += 1;
        for p in 0..PARTS {
            let n = rng.range(0, 1500) as i64;
            let pi = p as usize;
            let input: String = (leo[pi]..leo[pi] + n)
                .map(|o| format!("p{p}-v{o}\n"))
                .collect();
            k.ok_in(
                &["produce", "s", "-q", "-p", &p.to_string()],
                input.as_bytes(),
            );
            leo[pi] += n;
        }
        let delay = timing.pick(&mut rng);
        let done = run_and_kill(&k, &["segments", "roll", "s"], delay, &mut timing, &mut s);
        let what = format!(
            "round {round} (roll killed after {delay:?}: {})",
            done.is_none()
        );
        for p in 0..PARTS {
            let pi = p as usize;
            let pr = k.run_in(
                &["produce", "s", "-q", "-p", &p.to_string()],
                format!("p{p}-v{}\n", leo[pi]).as_bytes(),
            );
            s.check_crash(&pr, &what);
            if !pr.success() {
                s.fail(format!("{what}: produce to partition {p}: {}", pr.show()));
            }
            let got = k.run(&[
                "consume",
                "s",
                "-p",
                &p.to_string(),
                "-o",
                &leo[pi].to_string(),
                "-F",
                "%o %s\\n",
            ]);
            if got.stdout_str() != format!("{0} p{p}-v{0}\n", leo[pi]) {
                s.fail(format!(
                    "{what}: partition {p}: the record after the kill is not at {}: {}",
                    leo[pi],
                    got.show()
                ));
            }
            leo[pi] += 1;
        }
        let v = k.run(&["segments", "verify", "s"]);
        s.check_crash(&v, &what);
        if v.code() != Some(0) {
            s.fail(format!("{what}: verify: {}", v.show()));
        }
        if round % 5 == 4 || round + 1 == rounds {
            for p in 0..PARTS {
                let text = k.ok(&["consume", "s", "-p", &p.to_string(), "-F", "%o %s\\n"]);
                let mut want = 0i64;
                for line in text.lines() {
                    if line != format!("{want} p{p}-v{want}") {
                        s.corrupt += 1;
                        s.fail(format!("{what}: partition {p}: {line:?} at offset {want}"));
                        break;
                    }
                    want += 1;
                }
                if want != leo[p as usize] {
                    s.lost += (leo[p as usize] - want).max(0) as u64;
                    s.fail(format!("{what}: partition {p} reads {want} records"));
                }
            }
        }
        s.acknowledged = leo.iter().sum::<i64>() as u64;
        if !s.failures.is_empty() {
            break;
        }
    }
    s.bump("avg_roll_us", timing.avg_us as u64);
    killed_and_completed(&mut s);
    s.finish();
}

/// `kill -9` of `segments verify --repair` while it moves the valid batches after a damaged
/// one into a segment of their own. Regression: repair copied them straight into the new
/// segment, then cut the old one; a second repair after a kill during the copy took the
/// partial copy for a torn tail and cut the old segment at the damage, losing most of the
/// partition. Each round copies one template (a single large segment with a bit flipped in a
/// batch near its start), runs a repair killed at a random moment (in half of the rounds as
/// soon as its copy of the tail shows up in the directory), then a repair that completes.
/// Every record but the damaged batch's reads back at its offset, and produce goes on at the
/// log end offset.
#[test]
fn kill_repair() {
    let mut s = Summary::new("kill_repair");
    let mut rng = s.rng();
    let rounds = by_mode(8, 80);
    let template = Klog::new();
    template.ok(&["topics", "create", "r"]);
    let leo = by_mode(300_000i64, 1_000_000);
    let input: String = (0..leo).map(|o| format!("v{o}\n")).collect();
    template.ok_in(&["produce", "r", "-q"], input.as_bytes());
    let log = segment_file(&template.partition_dir("r", 0), 0, ".log");
    let mut bytes = std::fs::read(&log).expect("read the segment");
    let batches = frames(&bytes);
    assert!(batches.len() > 4, "{} batches", batches.len());
    let damaged = batches[1];
    let lost = (damaged.base_offset, batches[2].base_offset - 1);
    bytes[(damaged.position + damaged.size - 3) as usize] ^= 0x10;
    std::fs::write(&log, &bytes).expect("damage the segment");
    drop(bytes);
    let mut timing = Timing::new(Duration::from_millis(50));
    for round in 0..rounds {
        s.rounds += 1;
        let k = Klog::new();
        crate::harness::copy_tree(template.data(), k.data());
        let dir = k.partition_dir("r", 0);
        let on_copy = rng.chance(0.5);
        let delay = timing.pick(&mut rng);
        let started = Instant::now();
        let mut child = k
            .cmd()
            .args(["segments", "verify", "r", "--repair", "-q"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn klog");
        // Kill at the delay, or (on_copy) as soon as a second file named after an offset
        // appears: the copy of the valid tail.
        let killed = loop {
            if let Ok(Some(_)) = child.try_wait() {
                break false;
            }
            let copying = on_copy
                && std::fs::read_dir(&dir).is_ok_and(|rd| {
                    rd.flatten().any(|e| {
                        let n = e.file_name();
                        let n = n.to_string_lossy();
                        n.contains(".log") && !n.starts_with("00000000000000000000")
                    })
                });
            if copying || (!on_copy && started.elapsed() >= delay) {
                let _ = child.kill();
                break true;
            }
            if started.elapsed() > crate::harness::CMD_TIMEOUT {
                let _ = child.kill();
                s.fail(format!("round {round}: the repair did not end"));
                break true;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        let status = child.wait().expect("wait");
        if killed && !status.success() {
            timing.killed();
            s.bump("killed", 1);
        } else {
            timing.completed(started.elapsed());
            s.bump("completed", 1);
        }
        let what = format!(
            "round {round} (repair killed {}: {killed})",
            if on_copy {
                "once its copy appeared".to_string()
            } else {
                format!("after {delay:?}")
            }
        );
        let again = k.run(&["segments", "verify", "r", "--repair"]);
        s.check_crash(&again, &what);
        if again.code() != Some(0) {
            s.fail(format!("{what}: the second repair: {}", again.show()));
        }
        let v = k.run(&["segments", "verify", "r"]);
        if v.code() != Some(0) {
            s.fail(format!("{what}: verify after the repairs: {}", v.show()));
        }
        let p = k.run_in(&["produce", "r"], b"after\n");
        s.check_crash(&p, &what);
        if !p.success() {
            s.fail(format!("{what}: produce after the repairs: {}", p.show()));
        }
        let all = k.run(&["consume", "r", "-F", "%o %s\\n"]);
        s.check_crash(&all, &what);
        let text = all.stdout_str();
        let mut want = 0i64;
        let mut read = 0u64;
        for line in text.lines() {
            if want == lost.0 {
                want = lost.1 + 1;
            }
            let expected = if want == leo {
                "after".to_string()
            } else {
                format!("v{want}")
            };
            match crate::harness::parse_offset_value(line) {
                Some((o, v)) if o == want && v == expected => {}
                _ => {
                    s.corrupt += 1;
                    s.fail(format!("{what}: line {line:?}, expected {want} {expected}"));
                    break;
                }
            }
            read += 1;
            want += 1;
        }
        let kept = (leo - (lost.1 - lost.0 + 1)) as u64 + 1;
        if read < kept {
            s.lost += kept - read;
            s.fail(format!(
                "{what}: {read} records read, {kept} expected (consume: {})",
                all.show()
            ));
        }
        s.acknowledged += kept;
        if !s.failures.is_empty() {
            break;
        }
    }
    killed_and_completed(&mut s);
    s.finish();
}
