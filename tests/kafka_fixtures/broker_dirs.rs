//! Item 11: on a copy of each broker's `log.dirs`, reading commands change no file at all, and
//! `clean` applies Kafka's rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

/// Every file and directory under `root`: relative path → (size, modification time in ns).
fn full_listing(root: &Path) -> BTreeMap<String, (u64, i128)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let m = fs::symlink_metadata(&path).unwrap();
            if m.is_dir() {
                stack.push(path.clone());
            }
            let mtime = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
            out.insert(rel(root, &path), (m.len(), mtime));
        }
    }
    out
}

fn topic_names(dir: &Path) -> Vec<String> {
    let out = klog_ok(dir, &["topics", "list", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// Reading commands on a copy of every broker directory: `topics list|describe`, `consume`,
/// `segments list|dump|verify` (without `--repair`), `groups list|describe`, `clean
/// --dry-run` change no file, directory, size or modification time at all.
#[test]
fn reading_commands_change_no_file_of_a_broker_directory() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (i, d) in BROKER_DIRS.iter().enumerate() {
        let dir = tmp.path().join(i.to_string());
        copy_tree(&fx.join("kafka").join(d), &dir);
        let before = full_listing(&dir);
        let names = topic_names(&dir);
        assert!(!names.is_empty(), "{d}: no topics found");
        for t in &names {
            for args in [
                &["topics", "describe", t.as_str()][..],
                &["topics", "describe", t, "--json"],
                &["consume", t],
                &["consume", t, "--json", "-o", "-1"],
                &["segments", "list", t],
                &["segments", "dump", t, "--records"],
                &["groups", "describe", "no-such-group"],
            ] {
                let out = klog_run(&dir, args, None);
                assert!(
                    !String::from_utf8_lossy(&out.stderr).contains("panicked"),
                    "{d}: {args:?}"
                );
            }
            let out = klog_run(&dir, &["segments", "verify", t], None);
            assert_eq!(out.status.code(), Some(0), "{d}: verify {t}");
        }
        klog_ok(&dir, &["topics", "list"], None);
        klog_ok(&dir, &["groups", "list"], None);
        klog_ok(&dir, &["clean", "--dry-run"], None);
        let after = full_listing(&dir);
        let changed: Vec<_> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(v))
            .map(|(k, _)| k.as_str())
            .chain(
                after
                    .keys()
                    .filter(|k| !before.contains_key(*k))
                    .map(String::as_str),
            )
            .collect();
        assert!(changed.is_empty(), "{d}: reading changed {changed:?}");
    }
}

/// A record's key and value.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The records of every partition of `topic` in `dir`, by (partition, offset): key, value.
fn records_by_offset(dir: &Path, topic: &str) -> BTreeMap<(u32, i64), KeyValue> {
    consume_json(dir, topic, &[])
        .into_iter()
        .map(|(p, _, r)| ((p, r.offset), (r.key, r.value)))
        .collect()
}

/// `clean` on a copy of a Kafka 2.7 broker's `log.dirs`. Before, klog took topics without
/// klog metadata for `cleanup.policy=delete`: it deleted `__consumer_offsets` segments whose
/// records were older than 7 days, preallocated 10 MiB `.index`/`.timeindex` files in every
/// partition it looked at, rewrote every `leader-epoch-checkpoint` empty (dropping the
/// broker's entries) and set recovery points below the broker's. Now `__consumer_offsets` is
/// compacted (Kafka's built-in config), never deleted by age: every key keeps its latest
/// record; partitions clean leaves alone keep every byte and modification time; checkpoint
/// entries are kept line for line or raised, never dropped or lowered.
#[test]
fn regression_clean_applies_kafkas_rules_to_a_broker_directory() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kafka-logs");
    copy_tree(&fx.join("kafka/DonaldY__kafka-2.7.1/kafka-logs"), &dir);
    let before = full_listing(&dir);
    let records_before = records_by_offset(&dir, "__consumer_offsets");
    assert!(!records_before.is_empty());
    let checkpoints = [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
        "log-start-offset-checkpoint",
        "cleaner-offset-checkpoint",
    ];
    let text = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
    let cp_before: Vec<String> = checkpoints.iter().map(|f| text(f)).collect();
    let epochs_before: Vec<(PathBuf, Vec<u8>)> = files_with_suffix(&dir, "leader-epoch-checkpoint")
        .into_iter()
        .map(|p| (p.clone(), read(&p)))
        .collect();
    assert!(epochs_before.len() >= 50);

    let d = klog_ok(
        &dir,
        &["topics", "describe", "__consumer_offsets", "--json"],
        None,
    );
    let d: serde_json::Value = serde_json::from_slice(&d).unwrap();
    let cfg = |name: &str| {
        d["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(cfg("cleanup.policy")["value"], "compact");
    assert_eq!(cfg("cleanup.policy")["default"], false);
    assert_eq!(cfg("segment.bytes")["value"], "104857600");

    let out = klog_ok(&dir, &["clean", "--json"], None);
    let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let mut touched = BTreeSet::new();
    for r in rows.as_array().unwrap() {
        assert_eq!(r["action"], "compacted", "only compaction: {r}");
        assert_eq!(r["topic"], "__consumer_offsets", "{r}");
        touched.insert(format!(
            "__consumer_offsets-{}",
            r["partition"].as_u64().unwrap()
        ));
    }

    // Compaction keeps every key's latest record, at its offset; nothing else appears.
    let records_after = records_by_offset(&dir, "__consumer_offsets");
    let mut latest: BTreeMap<(u32, Vec<u8>), i64> = BTreeMap::new();
    for (&(p, o), (k, _)) in &records_before {
        latest.insert((p, k.clone().unwrap()), o);
    }
    for ((p, _), o) in latest {
        assert_eq!(
            records_after.get(&(p, o)),
            records_before.get(&(p, o)),
            "latest record at {p}/{o} kept"
        );
    }
    for (k, v) in &records_after {
        assert_eq!(records_before.get(k), Some(v), "{k:?} was there before");
    }

    // Partitions compaction did not touch are left exactly as they were, and no file grew
    // to an index's preallocation.
    let after = full_listing(&dir);
    for (path, v) in &before {
        let partition = path.split('/').next().unwrap();
        if path.contains('/') && !touched.contains(partition) {
            assert_eq!(after.get(path), Some(v), "{path} changed");
        }
    }
    for (path, (size, _)) in &after {
        assert!(*size < 1 << 20, "{path}: {size} bytes");
        if !before.contains_key(path) {
            let partition = path.split('/').next().unwrap();
            assert!(
                touched.contains(partition),
                "{path} created in a partition clean left alone"
            );
        }
    }

    // Leader epochs are the broker's, byte for byte.
    for (p, bytes) in &epochs_before {
        assert_eq!(&read(p), bytes, "{}", p.display());
    }
    // Checkpoints: every entry kept; a changed entry only went up, and only for a partition
    // clean touched; untouched entries keep their line.
    for (f, old) in checkpoints.iter().zip(&cp_before) {
        let new = text(f);
        let old_e = parse_offset_checkpoint(old, f);
        let new_e = parse_offset_checkpoint(&new, f);
        for (k, v) in &old_e {
            let now = new_e.get(k).unwrap_or_else(|| panic!("{f}: {k:?} dropped"));
            assert!(now >= v, "{f}: {k:?} lowered from {v} to {now}");
            if !touched.contains(&format!("{}-{}", k.0, k.1)) {
                assert_eq!(now, v, "{f}: {k:?} of an untouched partition changed");
            }
        }
        let old_lines: BTreeSet<&str> = old.lines().skip(2).collect();
        for line in new.lines().skip(2) {
            let key = line.rsplit_once(' ').unwrap().0;
            let (t, p) = key.split_once(' ').unwrap();
            if !touched.contains(&format!("{t}-{p}")) {
                assert!(old_lines.contains(line), "{f}: line {line:?} is new");
            }
        }
    }
}
