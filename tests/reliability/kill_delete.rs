//! `kill -9` of `klog topics delete` of a many-partition topic at random moments (uniform over
//! the command's measured run time, a little beyond it so that some runs complete).
//! Afterwards:
//! - the topic is whole (listed, every partition reading every record written to it) or
//!   looks gone (not listed; `consume` and `describe` say it does not exist), never listed
//!   with some partitions emptied; a completed delete always looks gone;
//! - the next writing command (a `produce` to another topic, or a `create` of the deleted
//!   name) finishes the job: no `<topic>-<n>` or `klog-*.delete` directory is left, no
//!   metadata entry and no checkpoint entry of the topic;
//! - the other topic is untouched, and the topic created again starts empty.

use std::fs;
use std::time::Duration;

use crate::harness::{Klog, Summary, by_mode};
use crate::kill_maintenance::{Timing, killed_and_completed, run_and_kill};

const TOPIC: &str = "doomed";

/// Names of the topics `topics list` shows.
fn listed(k: &Klog) -> Vec<String> {
    let v = crate::harness::json(&k.ok(&["topics", "list", "--json"]));
    v.as_array()
        .expect("list")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_string())
        .collect()
}

/// What of the topic is left on disk: its partition directories, `*.delete` directories,
/// its metadata entry, and checkpoint files naming it.
fn leftovers(k: &Klog) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(k.data()).expect("read data dir") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{TOPIC}-")) || name.ends_with(".delete") {
            out.push(name);
        } else if name.ends_with("-checkpoint")
            && fs::read_to_string(k.data().join(&name))
                .expect("checkpoint")
                .lines()
                .any(|l| l.starts_with(&format!("{TOPIC} ")))
        {
            out.push(format!("{name} entries"));
        }
    }
    let meta = fs::read_to_string(k.data().join("klog-topics.json")).expect("metadata");
    let meta = crate::harness::json(&meta);
    if meta["topics"].get(TOPIC).is_some() {
        out.push(format!("metadata entry {}", meta["topics"][TOPIC]));
    }
    out.sort();
    out
}

#[test]
fn kill_topics_delete() {
    let parts: u32 = by_mode(48, 120);
    let per_partition = 5u32;
    let mut s = Summary::new("kill_topics_delete");
    let mut rng = s.rng();
    let rounds = by_mode(10, 200);
    let k = Klog::new();
    k.ok(&["topics", "create", "keep"]);
    k.ok_in(&["produce", "keep", "-q"], b"k0\n");
    let mut keep = 1;
    let mut timing = Timing::new(Duration::from_millis(20));
    let mut created = false;
    for round in 0..rounds {
        s.rounds += 1;
        if !created {
            k.ok(&["topics", "create", TOPIC, "-p", &parts.to_string(), "-q"]);
        }
        let input: String = (0..parts)
            .flat_map(|p| {
                (0..per_partition)
                    .map(move |i| format!("{{\"partition\":{p},\"value\":\"{p}-{i}\"}}\n"))
            })
            .collect();
        k.ok_in(&["produce", TOPIC, "--json", "-q"], input.as_bytes());
        let written = parts * per_partition;

        let delay = timing.pick(&mut rng);
        let done = run_and_kill(&k, &["topics", "delete", TOPIC], delay, &mut timing, &mut s);
        let what = format!(
            "round {round} (topics delete killed after {delay:?}: {})",
            done.is_none()
        );

        // Straight after the kill, before any writer: whole, or gone for readers.
        let names = listed(&k);
        if names.iter().any(|n| n == TOPIC) {
            s.bump("whole", 1);
            if done.is_some() {
                s.fail(format!("{what}: completed, but still listed"));
            }
            let d = crate::harness::json(&k.ok(&["topics", "describe", TOPIC, "--json"]));
            let n = d["partitions"].as_array().map_or(0, Vec::len);
            let records: u64 = d["partitions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["records"].as_u64().unwrap_or(0))
                .sum();
            let read = k.ok(&["consume", TOPIC, "-F", "%p %s\\n"]);
            let lines = read.lines().count() as u64;
            if n != parts as usize || records != written as u64 || lines != written as u64 {
                s.lost += (written as u64).saturating_sub(lines);
                s.fail(format!(
                    "{what}: listed with {n} partitions, {records} records, {lines} read; \
                     written {written} in {parts}"
                ));
            }
            let bad = read.lines().find(|l| {
                l.split_once(' ')
                    .is_none_or(|(p, v)| !v.starts_with(&format!("{p}-")))
            });
            if let Some(l) = bad {
                s.corrupt += 1;
                s.fail(format!("{what}: read {l:?}"));
            }
        } else {
            s.bump("gone", 1);
            if !leftovers(&k).is_empty() {
                // Killed half-way: the next writer has something to finish.
                s.bump("half_deleted", 1);
            }
            for args in [&["consume", TOPIC][..], &["topics", "describe", TOPIC]] {
                let out = k.run(args);
                s.check_crash(&out, &what);
                if out.code() != Some(1) || !out.stderr.contains("does not exist") {
                    s.fail(format!(
                        "{what}: {args:?} on a deleted topic: {}",
                        out.show()
                    ));
                }
            }
        }
        if !names.iter().any(|n| n == "keep") {
            s.fail(format!("{what}: the other topic is not listed"));
        }

        // The next writing command finishes whatever the kill left.
        let gone = !names.iter().any(|n| n == TOPIC);
        let by_create = gone && rng.chance(0.5);
        if by_create {
            let out = k.run(&["topics", "create", TOPIC, "-p", &parts.to_string(), "-q"]);
            s.check_crash(&out, &what);
            if !out.success() {
                s.fail(format!("{what}: create after the kill: {}", out.show()));
                break;
            }
            let d = crate::harness::json(&k.ok(&["topics", "describe", TOPIC, "--json"]));
            let left: u64 = d["partitions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["log_end_offset"].as_u64().unwrap_or(0))
                .sum();
            if left != 0 {
                s.fail(format!("{what}: created again with {left} old records"));
            }
            let dirs = leftovers(&k)
                .into_iter()
                .filter(|l| !l.starts_with(&format!("{TOPIC}-")) && !l.starts_with("metadata"))
                .filter(|l| !l.contains("checkpoint"))
                .collect::<Vec<_>>();
            if !dirs.is_empty() {
                s.fail(format!("{what}: after create: {dirs:?}"));
            }
        } else {
            let out = k.run_in(&["produce", "keep", "-q"], format!("k{keep}\n").as_bytes());
            s.check_crash(&out, &what);
            if !out.success() {
                s.fail(format!("{what}: produce after the kill: {}", out.show()));
                break;
            }
            keep += 1;
            if gone {
                let left = leftovers(&k);
                if !left.is_empty() {
                    s.fail(format!("{what}: the next writer left {left:?}"));
                }
            } else {
                // The delete never began: finish it now.
                k.ok(&["topics", "delete", TOPIC, "-q"]);
                let left = leftovers(&k);
                if !left.is_empty() {
                    s.fail(format!("{what}: a completed delete left {left:?}"));
                }
            }
        }
        created = by_create;
        let kept = k.ok(&["consume", "keep"]);
        let want: String = (0..keep).map(|i| format!("k{i}\n")).collect();
        if kept != want {
            s.lost += 1;
            s.fail(format!("{what}: the other topic reads {kept:?}"));
        }
        s.acknowledged += written as u64;
        if !s.failures.is_empty() {
            break;
        }
    }
    killed_and_completed(&mut s);
    s.finish();
}
