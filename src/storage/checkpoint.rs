//! The offsets a partition checkpoints: Kafka's text checkpoint files (`CheckpointFile`) in
//! the data directory, and klog's own per-partition files for the same facts (the recovery
//! point, the log start offset, the first dirty offset), read and written.
//!
//! # Layout
//! ```text
//! <version>\n
//! <entry count>\n
//! <entry>\n          × count, fields separated by a space
//! ```
//! In the data directory, version 0, entries `topic partition offset`:
//! `recovery-point-offset-checkpoint` (everything below is flushed),
//! `log-start-offset-checkpoint` (only partitions whose log start is above their first
//! segment's base), `replication-offset-checkpoint` (the high watermark: for one local replica,
//! the log end offset), `cleaner-offset-checkpoint` (first offset not yet compacted). In a
//! partition directory, `leader-epoch-checkpoint` has entries `epoch start-offset`.
//!
//! klog's own, in each partition directory, one JSON object each:
//! `.klog-recovery-point` (`{"recovery_point": N}`: every offset below N is fsynced and
//! valid), `.klog-log-start-offset` (`{"log_start_offset": N}`, once the log start has moved
//! past the first segment's base offset) and `.klog-cleaner-offset` (`{"cleaner_offset": N}`:
//! the first offset compaction has not cleaned). A broker's files are read where klog has none
//! of its own ([`recovery_point`], [`broker_offset`]).
//!
//! # Invariants
//! 1. A rewrite keeps every entry it does not update, line for line and in its place (a
//!    broker's entries for partitions klog did not touch stay byte-identical), and a file
//!    that does not parse is never rewritten.
//! 2. klog never lowers a broker's offsets ([`Merge::NeverLower`]) and never rewrites a
//!    `leader-epoch-checkpoint` it finds (it writes an empty one only where there is none:
//!    klog writes no leader epochs).
//!
//! 3. The recovery point is only ever written after an fsync of everything below it, and is
//!    a hint: a file that is missing or does not parse counts as no recovery point (recovery
//!    then validates more).
//!
//! # Crash safety
//! Files are replaced atomically (temp file, fsync, rename, fsync the directory), but for the
//! recovery point, which is not fsynced ([`Durability::Unsynced`]: a hint). The
//! data-directory files hold every partition, so klog updates them under an exclusive lock
//! of the data directory and merges its entries into what is there.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fs::{
    ATOMIC, Durability, RECOVERY_POINT as RECOVERY_POINT_POINTS, lock_dir, read_regular,
    replace_file,
};
use super::layout::{
    CLEANER_OFFSET_FILE, LOG_START_FILE, RECOVERY_POINT_FILE, parse_partition_dir,
};
use crate::error::{Error, Result};

pub use super::layout::{
    CLEANER_OFFSET_CHECKPOINT as CLEANER_OFFSET, LEADER_EPOCH_CHECKPOINT as LEADER_EPOCH,
    LOG_START_OFFSET_CHECKPOINT as LOG_START_OFFSET, RECOVERY_POINT_CHECKPOINT as RECOVERY_POINT,
    REPLICATION_OFFSET_CHECKPOINT as REPLICATION_OFFSET,
};

/// Entries of a data-directory checkpoint: (topic, partition) → offset.
pub type OffsetCheckpoint = BTreeMap<(String, u32), i64>;

/// One entry of a data-directory checkpoint as found in the file: its key, its offset and its
/// line, kept to write it back byte for byte when it does not change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: (String, u32),
    offset: i64,
    line: String,
}

/// Parses a `topic partition offset` checkpoint into its entries, in file order. A missing
/// file is `None`.
fn read_entries(path: &Path) -> Result<Option<Vec<Entry>>> {
    let text = match read_regular(path)
        .and_then(|b| String::from_utf8(b).map_err(std::io::Error::other))
    {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path)(e)),
    };
    let bad = |reason: &str| Error::BadMetadata {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut lines = text.lines();
    let version: i32 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| bad("no version line"))?;
    if version != 0 {
        return Err(bad(&format!("unsupported checkpoint version {version}")));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| bad("no entry count line"))?;
    let mut out: Vec<Entry> = Vec::new();
    for line in lines.take(count) {
        let mut f = line.split_whitespace();
        let (Some(t), Some(p), Some(o)) = (f.next(), f.next(), f.next()) else {
            return Err(bad(&format!("malformed entry '{line}'")));
        };
        let p: u32 = p
            .parse()
            .map_err(|_| bad(&format!("bad partition in '{line}'")))?;
        let o: i64 = o
            .parse()
            .map_err(|_| bad(&format!("bad offset in '{line}'")))?;
        let key = (t.to_string(), p);
        if out.iter().any(|e| e.key == key) {
            return Err(bad(&format!("two entries for {t}-{p}")));
        }
        out.push(Entry {
            key,
            offset: o,
            line: line.to_string(),
        });
    }
    if out.len() != count {
        return Err(bad(&format!(
            "{count} entries announced, {} found",
            out.len()
        )));
    }
    Ok(Some(out))
}

/// Parses a `topic partition offset` checkpoint. A missing file is empty.
pub fn read_offsets(path: &Path) -> Result<OffsetCheckpoint> {
    Ok(read_entries(path)?
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.key, e.offset))
        .collect())
}

/// Formats a `topic partition offset` checkpoint.
pub fn format_offsets(entries: &OffsetCheckpoint) -> String {
    let mut s = format!("0\n{}\n", entries.len());
    for ((t, p), o) in entries {
        s.push_str(&format!("{t} {p} {o}\n"));
    }
    s
}

/// How an update combines with the entry already in a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// The update's offset replaces it.
    Replace,
    /// The larger of the two stays: for offsets that only move up (a broker's recovery point,
    /// high watermark, log start and first dirty offsets), which klog must never lower.
    NeverLower,
}

/// Merges `updates` into the data-directory checkpoint `name` (removing the (topic,
/// partition) keys in `remove`), under the data directory's lock, atomically; see
/// [`update_offsets_locked`].
pub fn update_offsets(
    data_dir: &Path,
    name: &str,
    updates: &OffsetCheckpoint,
    remove: &[(String, u32)],
) -> Result<()> {
    let _lock = lock_dir(data_dir)?;
    update_offsets_locked(
        data_dir,
        name,
        updates,
        &|t, p| remove.iter().any(|(rt, rp)| rt == t && *rp == p),
        Merge::Replace,
    )
}

/// Rewrites the data-directory checkpoint `name` with `updates` merged in by `merge` and the
/// entries `remove` picks taken out. Every other entry keeps its line byte for byte and its
/// place; new ones go at the end. The file is left alone when nothing changes, and a file that
/// does not parse is refused (an error), never replaced: it may hold entries klog cannot see.
/// A missing file is created. The caller holds the data directory's lock.
pub fn update_offsets_locked(
    data_dir: &Path,
    name: &str,
    updates: &OffsetCheckpoint,
    remove: &dyn Fn(&str, u32) -> bool,
    merge: Merge,
) -> Result<()> {
    let path = data_dir.join(name);
    let found = read_entries(&path)?;
    let existed = found.is_some();
    let mut entries = found.unwrap_or_default();
    let before = entries.clone();
    entries.retain(|e| !remove(&e.key.0, e.key.1));
    for (key, &offset) in updates {
        match entries.iter_mut().find(|e| &e.key == key) {
            Some(e) => {
                let new = match merge {
                    Merge::Replace => offset,
                    Merge::NeverLower => e.offset.max(offset),
                };
                if new != e.offset {
                    e.offset = new;
                    e.line = format!("{} {} {new}", key.0, key.1);
                }
            }
            None => entries.push(Entry {
                key: key.clone(),
                offset,
                line: format!("{} {} {offset}", key.0, key.1),
            }),
        }
    }
    if entries == before && existed {
        return Ok(());
    }
    let mut text = format!("0\n{}\n", entries.len());
    for e in &entries {
        text.push_str(&e.line);
        text.push('\n');
    }
    replace_file(&path, text.as_bytes(), Durability::Durable, &ATOMIC)
}

/// Writes a partition's `leader-epoch-checkpoint` from (epoch, start offset) pairs.
pub fn write_leader_epochs(partition_dir: &Path, epochs: &[(i32, i64)]) -> Result<()> {
    let mut s = format!("0\n{}\n", epochs.len());
    for (e, o) in epochs {
        s.push_str(&format!("{e} {o}\n"));
    }
    let path = partition_dir.join(LEADER_EPOCH);
    if read_regular(&path).ok().as_deref() == Some(s.as_bytes()) {
        return Ok(());
    }
    replace_file(&path, s.as_bytes(), Durability::Durable, &ATOMIC)
}

/// The offset of the partition in directory `partition_dir` in the data-directory checkpoint
/// `name` (one of a broker's: a partition's entry of `recovery-point-offset-checkpoint`, …), if
/// there is one and the file parses.
pub fn broker_offset(partition_dir: &Path, name: &str) -> Option<i64> {
    let (topic, partition) = parse_partition_dir(partition_dir.file_name()?.to_str()?)?;
    let path = partition_dir.parent()?.join(name);
    read_offsets(&path)
        .ok()?
        .get(&(topic.to_string(), partition))
        .copied()
}

/// Reads one of klog's per-partition JSON files.
fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = read_regular(path).ok()?;
    serde_json::from_slice(&text).ok()
}

#[derive(Debug, Serialize, Deserialize)]
struct RecoveryPoint {
    /// Every offset below this is fsynced and valid.
    recovery_point: i64,
}

/// The recovery point a writer's recovery starts from: klog's own, else the one a Kafka
/// broker left for the partition in its data directory's `recovery-point-offset-checkpoint`.
pub fn recovery_point(dir: &Path) -> Option<i64> {
    read_recovery_point(dir).or_else(|| broker_offset(dir, RECOVERY_POINT))
}

/// klog's recovery point of the partition (`.klog-recovery-point`): every offset below it is
/// fsynced and valid.
pub fn read_recovery_point(dir: &Path) -> Option<i64> {
    read_json::<RecoveryPoint>(&dir.join(RECOVERY_POINT_FILE)).map(|r| r.recovery_point)
}

/// Stores klog's recovery point, as a hint (not fsynced): call it only after an fsync of
/// everything below `offset`.
pub fn write_recovery_point(dir: &Path, offset: i64) -> Result<()> {
    let text = serde_json::to_vec(&RecoveryPoint {
        recovery_point: offset,
    })
    .unwrap_or_default();
    replace_file(
        &dir.join(RECOVERY_POINT_FILE),
        &text,
        Durability::Unsynced,
        &RECOVERY_POINT_POINTS,
    )
}

#[derive(Debug, Serialize, Deserialize)]
struct LogStart {
    log_start_offset: i64,
}

/// The stored log start offset of a partition, if it was ever moved.
pub fn read_log_start(dir: &Path) -> Option<i64> {
    read_json::<LogStart>(&dir.join(LOG_START_FILE)).map(|l| l.log_start_offset)
}

/// Stores the log start offset durably.
pub fn write_log_start(dir: &Path, offset: i64) -> Result<()> {
    let text = serde_json::to_vec(&LogStart {
        log_start_offset: offset,
    })
    .unwrap_or_default();
    replace_file(
        &dir.join(LOG_START_FILE),
        &text,
        Durability::Durable,
        &ATOMIC,
    )
}

/// The log start offset of a partition whose segments have these base offsets (ascending):
/// the stored one, or the first segment's base offset if that is larger.
pub fn log_start_offset(dir: &Path, segments: &[i64]) -> i64 {
    let first = segments.first().copied().unwrap_or(0);
    read_log_start(dir).map_or(first, |l| l.max(first))
}

#[derive(Debug, Serialize, Deserialize)]
struct CleanerOffset {
    cleaner_offset: i64,
}

/// The stored first dirty offset of a partition, if the cleaner ever ran on it.
pub fn read_cleaner_offset(dir: &Path) -> Option<i64> {
    read_json::<CleanerOffset>(&dir.join(CLEANER_OFFSET_FILE)).map(|c| c.cleaner_offset)
}

/// Stores the first dirty offset durably.
pub fn write_cleaner_offset(dir: &Path, offset: i64) -> Result<()> {
    let text = serde_json::to_vec(&CleanerOffset {
        cleaner_offset: offset,
    })
    .unwrap_or_default();
    replace_file(
        &dir.join(CLEANER_OFFSET_FILE),
        &text,
        Durability::Durable,
        &ATOMIC,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn kafkas_format_round_trips() {
        let text = "0\n2\n__consumer_offsets 31 3\n__consumer_offsets 44 9\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CLEANER_OFFSET);
        fs::write(&path, text).unwrap();
        let e = read_offsets(&path).unwrap();
        assert_eq!(e.get(&("__consumer_offsets".into(), 44)), Some(&9));
        assert_eq!(format_offsets(&e), text);
        for bad in ["", "1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt x 1\n"] {
            fs::write(&path, bad).unwrap();
            assert!(read_offsets(&path).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn updates_merge_with_other_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = OffsetCheckpoint::new();
        a.insert(("t".into(), 0), 5);
        update_offsets(dir.path(), RECOVERY_POINT, &a, &[]).unwrap();
        let mut b = OffsetCheckpoint::new();
        b.insert(("u".into(), 1), 7);
        update_offsets(dir.path(), RECOVERY_POINT, &b, &[]).unwrap();
        let text = fs::read_to_string(dir.path().join(RECOVERY_POINT)).unwrap();
        assert_eq!(text, "0\n2\nt 0 5\nu 1 7\n");
        update_offsets(
            dir.path(),
            RECOVERY_POINT,
            &OffsetCheckpoint::new(),
            &[("t".into(), 0)],
        )
        .unwrap();
        let text = fs::read_to_string(dir.path().join(RECOVERY_POINT)).unwrap();
        assert_eq!(text, "0\n1\nu 1 7\n");
    }
}
