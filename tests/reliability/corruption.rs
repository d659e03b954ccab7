//! Damaged files, one seed at a time: a small topic (several segments of several batches, some
//! compressed, index entries every few hundred bytes, a trimmed log start, a group's committed
//! offset) is built once; each seed copies it, then flips random bits in, or truncates at a
//! random position, one of: a `.log`, an `.index`, a `.timeindex`, `klog-topics.json`, the
//! group offset file `t-0/klog-group.g.json`, `.klog-recovery-point`, `.klog-log-start-offset`
//! or one of Kafka's checkpoint files. Then `consume` (from the start, from a random offset,
//! as the group), `segments dump`, `segments verify` and `groups describe` run, and:
//! - klog never crashes (no panic or backtrace, no status 101, no death by a signal);
//! - nothing printed is a record that was not written at that offset;
//! - with only an index damaged, a read from any offset still prints exactly the records from
//!   there (an index may cost time, never records);
//! - when a `.log` was damaged in a way that matters (any change but a batch's partition leader
//!   epoch, which no checksum covers; a cut inside a batch), `segments verify` exits 3 and names
//!   the file with a byte position; `verify --repair` then makes `verify` exit 0 and every record
//!   below the damaged batch's base offset reads back with its value;
//! - with anything else damaged, `produce` of one record either fails with a one-line error or
//!   appends it at the log end offset, all earlier records still readable.
//!
//! 15% of the `.log` damages are aimed at the batch header fields no CRC covers (base offset,
//! length, epoch, magic); seeds that changed only a base offset are counted as
//! `reader_base_offset` and checked like any other damage. A failing seed is replayed with
//! `KLOG_SEED=<test seed> KLOG_CORRUPTION_SEED=<seed>` and the ignored test
//! `corruption_replay_one_seed`, which also prints the damaged file's dump and verify.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{
    Klog, Out, Rng, Summary, by_mode, copy_tree, frames, klog_cmd, parse_json_record, run_command,
    segment_bases, segment_file,
};

fn value_at(o: i64) -> String {
    let pad = ((o as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 59) as usize;
    format!("v{o}-{}", "y".repeat(pad))
}

/// The pristine topic every seed starts from.
struct Template {
    k: Klog,
    /// Log start offset after the template's trim.
    start: i64,
    leo: i64,
}

fn build_template(rng: &mut Rng) -> Template {
    let k = Klog::new();
    k.ok(&[
        "topics",
        "create",
        "t",
        "-c",
        "segment.bytes=3000",
        "-c",
        "index.interval.bytes=200",
    ]);
    let mut leo = 0i64;
    let codecs = ["none", "none", "none", "gzip", "snappy", "lz4", "zstd"];
    // 24 batches, and more while the topic has fewer than 4 segments (about 1 seed in 100
    // draws batches small or compressible enough to fit in 3).
    let mut batches = 0;
    while batches < 24 || segment_bases(&k.partition_dir("t", 0)).len() < 4 {
        assert!(batches < 200, "no 4 segments after {batches} batches");
        batches += 1;
        let n = rng.range(3, 40) as i64;
        let input: String = (leo..leo + n)
            .map(|o| format!("{}\n", value_at(o)))
            .collect();
        let codec = *rng.pick(&codecs);
        let mut args = vec!["produce", "t", "-q", "--compression", codec];
        if rng.chance(0.3) {
            args.extend(["-H", "h=x"]);
        }
        k.ok_in(&args, input.as_bytes());
        leo += n;
    }
    let start = 3;
    k.ok(&["trim", "t", "--before", &start.to_string(), "-q"]);
    k.ok(&["consume", "t", "-g", "g", "-n", "37", "-q"]);
    let segs = segment_bases(&k.partition_dir("t", 0));
    assert!(
        segs.len() >= 4,
        "the template has several segments: {segs:?}"
    );
    Template { k, start, leo }
}

/// Which file a seed damages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Log,
    Index,
    TimeIndex,
    TopicsJson,
    GroupFile,
    RecoveryPoint,
    LogStart,
    Checkpoint,
}

/// What a `.log` damage did to the batches, from the pristine file's framing.
struct LogDamage {
    /// Base offset of the first damaged batch (where a cut inside a batch lands, too).
    damaged_base: i64,
    /// Whether verify must see it (false: only leader-epoch bytes changed, or a cut exactly
    /// between two batches).
    matters: bool,
    /// A batch's base offset changed in a way that was a bug once (see
    /// `regression_base_offset_flip_in_last_batch_is_caught`,
    /// `regression_repair_does_not_resume_at_a_batch_with_a_damaged_base_offset`).
    base_offset_changed: bool,
    /// Only a batch's base offset changed (readers once printed its records at the offsets it
    /// claimed: `regression_consume_refuses_a_batch_at_offsets_not_its_own`).
    readers_trust_base_offset: bool,
    /// ... and it moved into a gap between its neighbours: nothing can tell.
    undetectable: bool,
}

/// Flips 1 to 3 random bits in `0..limit`, or truncates at a random position; returns a
/// description and the damaged positions (the cut position for a truncation).
fn damage_file(path: &Path, rng: &mut Rng, limit: u64) -> (String, Vec<u64>, bool) {
    let mut bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let limit = limit.clamp(1, bytes.len().max(1) as u64);
    if bytes.is_empty() || rng.chance(0.35) {
        let at = rng.below(limit);
        let f = fs::OpenOptions::new().write(true).open(path).expect("open");
        f.set_len(at).expect("truncate");
        return (format!("truncated at {at}"), vec![at], true);
    }
    let flips = rng.range(1, 4);
    let mut at = Vec::new();
    for _ in 0..flips {
        let pos = rng.below(limit);
        let bit = rng.below(8);
        bytes[pos as usize] ^= 1 << bit;
        at.push(pos);
    }
    fs::write(path, &bytes).expect("write damaged file");
    at.sort_unstable();
    (format!("flipped bits at {at:?}"), at, false)
}

/// The used part of an index file: up to the last non-zero byte, rounded up to an entry, plus
/// one entry (so that a flip may also create a bogus entry past the real ones).
fn used_index_len(path: &Path, entry: u64) -> u64 {
    let bytes = fs::read(path).unwrap_or_default();
    let used = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i as u64 + 1);
    (used.div_ceil(entry) + 1) * entry
}

fn run(data: &Path, args: &[&str]) -> Out {
    let mut c = klog_cmd(data);
    c.args(args);
    run_command(c, args.iter().map(|s| s.to_string()).collect(), None)
}

/// Checks a `consume --json` run: no crash, exit 0 or a one-line error, every record printed
/// was written at that offset, offsets increasing, none below `from`. Returns the offsets.
fn check_consume(out: &Out, from: i64, what: &str, s: &mut Summary) -> Vec<i64> {
    if s.check_crash(out, what) {
        return Vec::new();
    }
    if !(out.success() || (out.code() == Some(1) && out.is_one_line_error())) {
        s.fail(format!(
            "{what}: neither success nor a one-line error: {}",
            out.show()
        ));
    }
    let mut offsets = Vec::new();
    let mut bad = 0;
    for line in out.stdout_str().lines() {
        match parse_json_record(line) {
            Ok((0, o, None, Some(v))) if v == value_at(o) && o >= from => {
                if offsets.last().is_some_and(|&l| l >= o) {
                    s.duplicated += 1;
                    s.fail(format!(
                        "{what}: offset {o} printed after {:?}",
                        offsets.last()
                    ));
                }
                offsets.push(o);
            }
            other => {
                s.corrupt += 1;
                if bad == 0 {
                    s.fail(format!(
                        "{what}: printed a record that was not written (or below {from}): \
                         {line:?} ({other:?})"
                    ));
                }
                bad += 1;
            }
        }
    }
    offsets
}

fn seed_round(t: &Template, work: &Path, seed: u64, s: &mut Summary) {
    let mut rng = Rng::new(seed);
    copy_tree(t.k.data(), work);
    let pdir = work.join("t-0");
    let bases = segment_bases(&pdir);
    let targets = [
        (Target::Log, 45),
        (Target::Index, 12),
        (Target::TimeIndex, 10),
        (Target::TopicsJson, 7),
        (Target::GroupFile, 8),
        (Target::RecoveryPoint, 8),
        (Target::LogStart, 5),
        (Target::Checkpoint, 5),
    ];
    let mut roll = rng.below(100);
    let target = targets
        .iter()
        .find(|(_, w)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map_or(Target::Log, |(t, _)| *t);
    let base = *rng.pick(&bases);
    let path: PathBuf = match target {
        Target::Log => segment_file(&pdir, base, ".log"),
        Target::Index => segment_file(&pdir, base, ".index"),
        Target::TimeIndex => segment_file(&pdir, base, ".timeindex"),
        Target::TopicsJson => work.join("klog-topics.json"),
        Target::GroupFile => pdir.join("klog-group.g.json"),
        Target::RecoveryPoint => pdir.join(".klog-recovery-point"),
        Target::LogStart => pdir.join(".klog-log-start-offset"),
        Target::Checkpoint => work.join(*rng.pick(&[
            "recovery-point-offset-checkpoint",
            "log-start-offset-checkpoint",
            "replication-offset-checkpoint",
            "t-0/partition.metadata",
            "t-0/leader-epoch-checkpoint",
        ])),
    };
    let pristine = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let limit = match target {
        Target::Index => used_index_len(&path, 8),
        Target::TimeIndex => used_index_len(&path, 12),
        _ => pristine.len() as u64,
    };
    let (how, positions, truncated) = if target == Target::Log && rng.chance(0.15) {
        // Aimed: a batch's header fields that no CRC covers (base offset, length, epoch,
        // magic), where random flips rarely land.
        let fr = frames(&pristine);
        let f = rng.pick(&fr);
        let pos = f.position + rng.below(17);
        let mut bytes = pristine.clone();
        bytes[pos as usize] ^= 1 << rng.below(8);
        fs::write(&path, &bytes).expect("write damaged file");
        (format!("flipped a header bit at {pos}"), vec![pos], false)
    } else {
        damage_file(&path, &mut rng, limit)
    };
    let file_name = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let what = format!("seed {seed}: {target:?} {file_name} {how}");
    s.bump(
        match target {
            Target::Log => "log",
            Target::Index | Target::TimeIndex => "index",
            _ => "meta",
        },
        1,
    );

    let log_damage = (target == Target::Log).then(|| {
        let fr = frames(&pristine);
        let first = positions[0];
        let len = pristine.len() as u64;
        let hit = fr
            .iter()
            .find(|f| f.position <= first && first < f.position + f.size);
        let damaged_base = hit.map_or(i64::MAX, |f| f.base_offset);
        let matters = if truncated {
            first < len && fr.iter().all(|f| f.position != first)
        } else {
            positions.iter().any(|&p| {
                fr.iter()
                    .find(|f| f.position <= p && p < f.position + f.size)
                    .is_none_or(|f| !(12..16).contains(&(p - f.position)))
            })
        };
        // Only one batch's base offset changed (it is outside the CRC): `(index, new base)`.
        let damaged = fs::read(&path).unwrap_or_default();
        let base_flip = (!truncated)
            .then(|| {
                fr.iter().enumerate().find_map(|(i, f)| {
                    let inside = positions
                        .iter()
                        .all(|&p| p >= f.position && p < f.position + 8);
                    let at = f.position as usize;
                    let new = damaged
                        .get(at..at + 8)
                        .map(|b| i64::from_be_bytes(b.try_into().expect("8")))?;
                    (inside && new != f.base_offset).then_some((i, new))
                })
            })
            .flatten();
        let last_segment = base == *bases.last().expect("a segment");
        // A base offset changed together with other damage: `--repair` once resumed after the
        // other damage at that batch and kept it at the wrong offsets.
        let base_changed_with_more = base_flip.is_none()
            && !truncated
            && fr.iter().any(|f| {
                let at = f.position as usize;
                damaged.get(at..at + 8) != pristine.get(at..at + 8)
            });
        // Upwards, in the last batch of the active segment: nothing noticed it once.
        let base_offset_changed = base_changed_with_more
            || base_flip.is_some_and(|(i, new)| {
                new > fr[i].base_offset && i + 1 == fr.len() && last_segment
            });
        // A base offset moved into a gap (what compaction leaves) without reaching another
        // batch, the segment's bounds or, at the end of the log, the log end offset: every
        // invariant of the offsets still holds, so no reader can tell (nor can Kafka's).
        let last_delta = |f: &crate::harness::Frame| {
            let at = f.position as usize + 23;
            pristine
                .get(at..at + 4)
                .map_or(0, |b| i32::from_be_bytes(b.try_into().expect("4")) as i64)
        };
        let next_segment = bases.iter().copied().find(|&b| b > base);
        let undetectable = base_flip.is_some_and(|(i, new)| {
            let lower = if i == 0 {
                base - 1
            } else {
                fr[i - 1].base_offset + last_delta(&fr[i - 1])
            };
            let upper = match fr.get(i + 1) {
                Some(n) => n.base_offset,
                None => next_segment.unwrap_or(t.leo),
            };
            new > lower && new.saturating_add(last_delta(&fr[i])) < upper
        });
        LogDamage {
            damaged_base,
            matters,
            base_offset_changed,
            readers_trust_base_offset: base_flip.is_some(),
            undetectable,
        }
    });

    if std::env::var_os("KLOG_CORRUPTION_SEED").is_some() {
        // Replaying one seed: show the damage.
        eprintln!("[corruption] {what}");
        let p = path.to_string_lossy().into_owned();
        for args in [
            &["segments", "dump", &p][..],
            &["segments", "list", "t"],
            &["segments", "verify", "t"],
        ] {
            let out = run(work, args);
            eprintln!(
                "$ klog {}\n{}{}",
                args.join(" "),
                out.stdout_str(),
                out.stderr
            );
        }
    }

    if log_damage.as_ref().is_some_and(|d| d.base_offset_changed) {
        // Checked like any other damage (these were known bugs, fixed): counted to show how
        // often the seeds hit them.
        s.bump("base_offset_changed", 1);
    }

    // Readers. Only a base offset damaged: they once printed records at the offsets it
    // claimed (`regression_consume_refuses_a_batch_at_offsets_not_its_own`); counted to show
    // how often the seeds hit it, and checked like any other damage.
    if log_damage
        .as_ref()
        .is_some_and(|d| d.readers_trust_base_offset)
    {
        s.bump("reader_base_offset", 1);
    }
    // A base offset moved into a gap is undetectable: then only crashes are checked before
    // the repair.
    let undetectable = log_damage.as_ref().is_some_and(|d| d.undetectable);
    if undetectable {
        s.bump("undetectable_base_offset", 1);
    }
    let mut scratch = Summary::quiet("corruption");
    let rs: &mut Summary = if undetectable { &mut scratch } else { &mut *s };
    let all = run(work, &["consume", "t", "--json"]);
    // Records below the log start were written too: a damaged log start offset may show them.
    let read = check_consume(&all, 0, &format!("{what}: consume"), rs);
    let x = rng.range(t.start as u64, t.leo as u64) as i64;
    let from = run(work, &["consume", "t", "--json", "-o", &x.to_string()]);
    let read_from = check_consume(&from, x, &format!("{what}: consume -o {x}"), rs);
    if matches!(target, Target::Index | Target::TimeIndex) {
        let want: Vec<i64> = (x..t.leo).collect();
        if read_from != want || !from.success() {
            rs.lost += 1;
            rs.fail(format!(
                "{what}: with only an index damaged, consume -o {x} printed {} records from \
                 {:?}, expected {} from {x}: {}",
                read_from.len(),
                read_from.first(),
                want.len(),
                from.show()
            ));
        }
        let want_all: Vec<i64> = (t.start..t.leo).collect();
        if read != want_all {
            rs.lost += 1;
            rs.fail(format!("{what}: consume printed {} records", read.len()));
        }
    }
    let g = run(work, &["consume", "t", "--json", "-g", "g", "--no-commit"]);
    check_consume(&g, 0, &format!("{what}: consume -g g"), rs);
    s.panics += scratch.panics;
    if scratch.panics > 0 {
        s.fail(format!("{what}: a reader crashed: {:?}", scratch.failures));
    }
    scratch.discard();
    for args in [
        vec!["segments", "dump", "t", "--records"],
        vec!["segments", "dump", "t", "--json", "--records"],
        vec!["groups", "describe", "g"],
        vec!["groups", "list"],
        vec!["topics", "describe", "t"],
        vec!["segments", "list", "t"],
    ] {
        let out = run(work, &args);
        s.check_crash(&out, &format!("{what}: {args:?}"));
        if out.code() == Some(2) || (!out.success() && !out.is_one_line_error()) {
            s.fail(format!("{what}: {}", out.show()));
        }
    }
    if matches!(target, Target::Log | Target::Index | Target::TimeIndex) {
        let p = path.to_string_lossy().into_owned();
        let out = run(work, &["segments", "dump", &p]);
        s.check_crash(&out, &format!("{what}: dump {file_name}"));
    }
    let v = run(work, &["segments", "verify", "t"]);
    s.check_crash(&v, &format!("{what}: verify"));
    if !matches!(v.code(), Some(0 | 1 | 3)) {
        s.fail(format!("{what}: verify: {}", v.show()));
    }

    if let Some(d) = log_damage {
        if d.matters {
            s.bump("log_damage_that_matters", 1);
            let text = v.stdout_str();
            let named = text.lines().any(|l| {
                l.split_once(&format!("{file_name}:"))
                    .is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_digit()))
            });
            if v.code() != Some(3) || !named {
                s.fail(format!(
                    "{what}: verify must exit 3 naming {file_name}:<byte>: {}",
                    v.show()
                ));
            }
        }
        if read.iter().any(|&o| o >= d.damaged_base) && d.matters && !truncated {
            s.bump("read_past_damage", 1);
        }
        let r = run(work, &["segments", "verify", "t", "--repair"]);
        s.check_crash(&r, &format!("{what}: verify --repair"));
        if !matches!(r.code(), Some(0 | 3)) {
            s.fail(format!("{what}: verify --repair: {}", r.show()));
        }
        let v2 = run(work, &["segments", "verify", "t"]);
        s.check_crash(&v2, &format!("{what}: verify after repair"));
        if v2.code() != Some(0) {
            s.fail(format!(
                "{what}: verify after --repair: {}\n{}",
                v2.show(),
                r.show()
            ));
        }
        let after = run(work, &["consume", "t", "--json"]);
        let got = check_consume(&after, t.start, &format!("{what}: consume after repair"), s);
        let keep_below = d.damaged_base.min(t.leo);
        let want: Vec<i64> = (t.start..keep_below.max(t.start)).collect();
        let kept: Vec<i64> = got.iter().copied().filter(|&o| o < keep_below).collect();
        s.acknowledged += want.len() as u64;
        if kept != want {
            let missing = want.iter().filter(|o| !kept.contains(o)).count() as u64;
            s.lost += missing;
            s.fail(format!(
                "{what}: after --repair, {} of the {} records below the damaged batch \
                 (base {keep_below}) read back; first missing: {:?}\n{}",
                kept.len(),
                want.len(),
                want.iter().find(|o| !kept.contains(o)),
                r.show()
            ));
        }
    } else {
        // Something other than a .log: the next writer either refuses cleanly or appends at
        // the log end offset.
        let p = {
            let mut c = klog_cmd(work);
            c.args(["produce", "t", "--no-create"]);
            run_command(c, vec!["produce".into()], Some(b"new\n"))
        };
        s.check_crash(&p, &format!("{what}: produce"));
        if p.success() {
            let tail = run(
                work,
                &["consume", "t", "-o", &t.leo.to_string(), "-F", "%o %s\\n"],
            );
            s.check_crash(&tail, &format!("{what}: consume the new record"));
            if tail.stdout_str() != format!("{} new\n", t.leo) {
                s.fail(format!(
                    "{what}: the record produced after the damage is not at offset {}: {}",
                    t.leo,
                    tail.show()
                ));
            }
            let all = run(work, &["consume", "t", "--json", "-u", &t.leo.to_string()]);
            let got = check_consume(&all, 0, &format!("{what}: consume after produce"), s);
            s.acknowledged += (t.leo - t.start) as u64;
            let want: Vec<i64> = (t.start..t.leo).collect();
            if target != Target::LogStart && got != want {
                s.lost += want.len().saturating_sub(got.len()) as u64;
                s.fail(format!(
                    "{what}: after produce, {} of {} records read back",
                    got.len(),
                    want.len()
                ));
            }
        } else if p.code() != Some(1) || !p.is_one_line_error() {
            s.fail(format!("{what}: produce: {}", p.show()));
        } else {
            s.bump("produce_refused", 1);
        }
    }
    let _ = fs::remove_dir_all(work);
}

#[test]
fn corruption() {
    let mut s = Summary::new("corruption");
    let mut rng = s.rng();
    let t = build_template(&mut rng);
    let seeds = by_mode(50, 500);
    let mut per_seed: BTreeMap<u64, usize> = BTreeMap::new();
    for i in 0..seeds {
        s.rounds += 1;
        let seed = rng.next_u64() % 1_000_000_000;
        let before = s.failures.len();
        seed_round(&t, &t.k.root().join(format!("work-{i}")), seed, &mut s);
        if s.failures.len() > before {
            per_seed.insert(seed, s.failures.len() - before);
        }
        if s.failures.len() >= 30 {
            break;
        }
    }
    if !per_seed.is_empty() {
        eprintln!(
            "[corruption] failing seeds: {:?}; replay one with KLOG_SEED={} \
             KLOG_CORRUPTION_SEED=N cargo test --test reliability -- --ignored \
             corruption_replay_one_seed",
            per_seed.keys().collect::<Vec<_>>(),
            s.seed
        );
    }
    s.finish();
}

/// Replays one per-seed round printed by `corruption`, with the template built from
/// `KLOG_SEED`: `KLOG_CORRUPTION_SEED=N cargo test --test reliability -- --ignored
/// corruption_replay_one_seed`. A tool for a failure at hand, so not part of the suite.
#[test]
#[ignore = "replays one seed given in KLOG_CORRUPTION_SEED"]
fn corruption_replay_one_seed() {
    let one = std::env::var("KLOG_CORRUPTION_SEED").expect("KLOG_CORRUPTION_SEED=N");
    let mut s = Summary::new("corruption_replay");
    let mut rng = s.rng();
    let t = build_template(&mut rng);
    s.rounds = 1;
    seed_round(
        &t,
        &t.k.root().join("work"),
        one.parse().expect("a number"),
        &mut s,
    );
    s.finish();
}

/// Regression test for a bug this suite found: a bit flipped (upwards) in the base offset of
/// the last batch of the active segment went unnoticed. The base offset is outside the batch
/// CRC, and every check only asked offsets to increase, so `segments verify` exited 0, and the
/// next `produce` continued after the bogus offset (1048596 instead of 10..19's successor),
/// leaving a hole of a million offsets although `.klog-recovery-point` said the log was valid
/// and fsynced up to offset 20. Now verify blames the batch (batches from the recovery point
/// on are klog's own appends, at consecutive offsets: the first one reaching it starts at it).
/// The batch lies below the recovery point and its checksum holds, so it is damage no crash
/// leaves: the next `produce` refuses to append, naming the file and position and the repair,
/// and cuts nothing; `segments verify --repair` cuts it, and the log continues after the last
/// good batch.
#[test]
fn regression_base_offset_flip_in_last_batch_is_caught() {
    let mut s = Summary::new("regression_base_offset_flip");
    let k = Klog::new();
    let first: String = (0..10).map(|i| format!("{}\n", value_at(i))).collect();
    let second: String = (10..20).map(|i| format!("{}\n", value_at(i))).collect();
    k.ok_in(&["produce", "t", "-q"], first.as_bytes());
    k.ok_in(&["produce", "t", "-q"], second.as_bytes());
    let log = segment_file(&k.partition_dir("t", 0), 0, ".log");
    let mut bytes = fs::read(&log).expect("read log");
    let last = frames(&bytes).last().copied().expect("two batches");
    assert_eq!(last.base_offset, 10);
    bytes[last.position as usize + 5] ^= 0x10; // base offset 10 -> 10 + 2^20
    fs::write(&log, &bytes).expect("write log");
    s.rounds = 1;
    s.acknowledged = 20;

    let v = k.run(&["segments", "verify", "t"]);
    let blamed = format!("00000000000000000000.log:{}:", last.position);
    if v.code() != Some(3) || !v.stdout_str().contains(&blamed) {
        s.fail(format!(
            "verify must blame the batch at byte {} (offset 10, now 1048586): {}",
            last.position,
            v.show()
        ));
    }
    let p = k.run_in(&["produce", "t"], b"next\n");
    if p.code() != Some(1)
        || !p.is_one_line_error()
        || !p.stderr.contains("00000000000000000000.log")
        || !p.stderr.contains("--repair")
    {
        s.fail(format!(
            "the next produce must refuse, naming the file and the repair: {}",
            p.show()
        ));
    }
    if fs::read(&log).expect("read log") != bytes {
        s.fail("the refused produce changed the log");
    }
    let r = k.run(&["segments", "verify", "t", "--repair"]);
    let cut = format!(
        "removed {} bytes at {}:{}",
        last.size,
        log.display(),
        last.position
    );
    if !r.success() || !r.stdout_str().contains(&cut) {
        s.fail(format!(
            "the repair must cut the damaged batch ({cut}): {}",
            r.show()
        ));
    }
    let p = k.run_in(&["produce", "t"], b"next\n");
    if !p.success() {
        s.fail(format!("produce after the repair: {}", p.show()));
    }
    let c = k.run(&["consume", "t", "--json"]);
    let mut offsets = Vec::new();
    for l in c.stdout_str().lines() {
        match parse_json_record(l) {
            Ok((0, o, None, Some(v))) if v == value_at(o) || (o == 10 && v == "next") => {
                offsets.push(o)
            }
            _ => {
                s.corrupt += 1;
                s.fail(format!("after recovery, a record at the wrong offset: {l}"));
            }
        }
    }
    if offsets != (0..11).collect::<Vec<_>>() {
        s.fail(format!(
            "after the repair, expected 0..9 and the new record at 10 (the damaged batch cut), \
             read {offsets:?}"
        ));
    }
    let v = k.run(&["segments", "verify", "t"]);
    if v.code() != Some(0) {
        s.fail(format!("verify after recovery and produce: {}", v.show()));
    }
    s.finish();
}

/// Appends records `value_at(10 r)..value_at(10 r + 9)` to topic `t` as one batch.
fn produce_ten(k: &Klog, r: i64) {
    let input: String = (r * 10..r * 10 + 10)
        .map(|i| format!("{}\n", value_at(i)))
        .collect();
    k.ok_in(&["produce", "t", "-q"], input.as_bytes());
}

/// Regression test for a bug this suite found (fixed in 6ada664): a base offset flipped
/// upwards by less than its batch's record count, in a batch with a successor in its segment
/// (offsets 10..19 become 14..23, overlapping the next batch, 20..29), made `segments verify`
/// blame the *next, valid* batch; `--repair` then cut the valid batches and kept the damaged
/// one, so readers printed records 10..19 at offsets 14..23 and lost 20..29. Now verify must
/// blame the damaged batch and repair keep every valid one.
#[test]
fn base_offset_flip_into_the_next_batch_is_blamed_on_the_right_batch() {
    let mut s = Summary::new("base_offset_blame");
    let k = Klog::new();
    for r in 0..4 {
        produce_ten(&k, r);
    }
    let log = segment_file(&k.partition_dir("t", 0), 0, ".log");
    let mut bytes = fs::read(&log).expect("read log");
    let second = frames(&bytes)[1];
    assert_eq!(second.base_offset, 10);
    bytes[second.position as usize + 7] ^= 0x04; // base offset 10 -> 14
    fs::write(&log, &bytes).expect("write log");
    s.rounds = 1;
    s.acknowledged = 40;

    let v = k.run(&["segments", "verify", "t"]);
    let blamed = format!("00000000000000000000.log:{}:", second.position);
    if v.code() != Some(3) || !v.stdout_str().contains(&blamed) {
        s.fail(format!(
            "verify must blame the batch at byte {} (offset 10, now 14): {}",
            second.position,
            v.show()
        ));
    }
    let r = k.run(&["segments", "verify", "t", "--repair"]);
    let c = k.run(&["consume", "t", "--json"]);
    let mut kept = Vec::new();
    for l in c.stdout_str().lines() {
        match parse_json_record(l) {
            Ok((0, o, None, Some(v))) if v == value_at(o) => kept.push(o),
            _ => {
                s.corrupt += 1;
                if s.corrupt == 1 {
                    s.fail(format!("after --repair, a record at the wrong offset: {l}"));
                }
            }
        }
    }
    let want: Vec<i64> = (0..10).chain(20..40).collect();
    if kept != want {
        s.lost += want.iter().filter(|o| !kept.contains(o)).count() as u64;
        s.fail(format!(
            "after --repair, expected offsets 0..10 and 20..40 (only the damaged batch cut), \
             read {kept:?}\n{}",
            r.show()
        ));
    }
    s.finish();
}

/// Regression test for a bug this suite found: readers trusted a batch's base offset, which no
/// CRC covers, when it jumped ahead. Two 10-record batches in segment 0 (offsets 0..9,
/// 10..19), then segment 20 (20..29); the second batch's base offset damaged 10 -> 26.
/// `segments verify` saw it (exit 3), but `consume` exited 0 printing `26 v10`, `27 v11`, …
/// (records at offsets they were never written at). Now a reader checks each batch's offsets
/// against the batch before it, the batch after it, the next segment's base and klog's
/// recovery point; what breaks them is confirmed under the partition lock (a compaction swap
/// in progress looks the same for a moment) and then reported as damage with the file and
/// byte position, before any of the batch's records is handed out.
#[test]
fn regression_consume_refuses_a_batch_at_offsets_not_its_own() {
    let mut s = Summary::new("regression_reader_base_offset");
    let k = Klog::new();
    for r in 0..3 {
        if r == 2 {
            k.ok(&["segments", "roll", "t", "-q"]);
        }
        produce_ten(&k, r);
    }
    let log = segment_file(&k.partition_dir("t", 0), 0, ".log");
    let mut bytes = fs::read(&log).expect("read log");
    let second = frames(&bytes)[1];
    assert_eq!(second.base_offset, 10);
    bytes[second.position as usize + 7] ^= 0x10; // base offset 10 -> 26
    fs::write(&log, &bytes).expect("write log");
    s.rounds = 1;
    s.acknowledged = 30;
    let v = k.run(&["segments", "verify", "t"]);
    assert_eq!(v.code(), Some(3), "verify sees this damage: {}", v.show());
    let c = k.run(&["consume", "t", "--json"]);
    check_consume(
        &c,
        0,
        "consume of a log whose second batch claims offset 26",
        &mut s,
    );
    s.finish();
}

/// Regression test for a bug this suite found: `verify --repair` resumed after a damaged batch
/// at a later batch whose base offset was damaged too, and kept it at the wrong offsets. Four
/// 10-record batches (0..9, 10..19, 20..29, 30..39); a CRC-covered byte of the second batch
/// flipped, and the third batch's base offset 20 -> 28. verify reported the CRC mismatch and
/// then blamed the valid fourth batch ("batch at offset 30 after offset 37"); --repair moved the
/// third batch into a new segment `…028.log` (records v20..v29 at offsets 28..37), removed the
/// valid fourth batch, and said "now clean". Seen as seed 411243738 of `corruption` with
/// KLOG_SEED=785629405046 (three flips). Cause: `resync` took the first well-formed batch whose
/// CRC held and whose offsets followed the damage, without checking it against the batch
/// after it. Now a batch where valid data resumes must not overlap the batch after it and must
/// be confirmed by a neighbour (here the fourth batch ends right before the recovery point, 40),
/// so the damaged second and third batches are cut and offsets 30..39 stay.
#[test]
fn regression_repair_does_not_resume_at_a_batch_with_a_damaged_base_offset() {
    let mut s = Summary::new("regression_repair_resume");
    let k = Klog::new();
    for r in 0..4 {
        produce_ten(&k, r);
    }
    let log = segment_file(&k.partition_dir("t", 0), 0, ".log");
    let mut bytes = fs::read(&log).expect("read log");
    let fr = frames(&bytes);
    bytes[fr[1].position as usize + 40] ^= 0x01; // a CRC-covered byte of batch 10..19
    bytes[fr[2].position as usize + 7] ^= 0x08; // base offset 20 -> 28
    fs::write(&log, &bytes).expect("write log");
    s.rounds = 1;
    s.acknowledged = 20;
    let r = k.run(&["segments", "verify", "t", "--repair"]);
    assert!(r.success(), "{}", r.show());
    let c = k.run(&["consume", "t", "--json"]);
    let got = check_consume(&c, 0, "consume after --repair", &mut s);
    for o in (0..10).chain(30..40) {
        if !got.contains(&o) {
            s.lost += 1;
        }
    }
    if s.lost > 0 {
        s.fail(format!(
            "after --repair, {} of the valid records (0..9, 30..39) are gone: read {got:?}\n{}",
            s.lost,
            r.show()
        ));
    }
    s.finish();
}
