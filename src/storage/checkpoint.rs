//! Kafka's text checkpoint files (`CheckpointFile`), read and written.
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
//! # Crash safety
//! Files are replaced atomically (temp file, fsync, rename, fsync the directory). The
//! data-directory files hold every partition, so klog updates them under an exclusive lock
//! of the data directory and merges its entries into what is there.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

pub const RECOVERY_POINT: &str = "recovery-point-offset-checkpoint";
pub const LOG_START_OFFSET: &str = "log-start-offset-checkpoint";
pub const REPLICATION_OFFSET: &str = "replication-offset-checkpoint";
pub const CLEANER_OFFSET: &str = "cleaner-offset-checkpoint";
pub const LEADER_EPOCH: &str = "leader-epoch-checkpoint";

/// Entries of a data-directory checkpoint: (topic, partition) → offset.
pub type OffsetCheckpoint = BTreeMap<(String, u32), i64>;

/// Parses a `topic partition offset` checkpoint. A missing file is empty.
pub fn read_offsets(path: &Path) -> Result<OffsetCheckpoint> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
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
    let mut out = BTreeMap::new();
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
        out.insert((t.to_string(), p), o);
    }
    if out.len() != count {
        return Err(bad(&format!(
            "{count} entries announced, {} found",
            out.len()
        )));
    }
    Ok(out)
}

/// Formats a `topic partition offset` checkpoint.
pub fn format_offsets(entries: &OffsetCheckpoint) -> String {
    let mut s = format!("0\n{}\n", entries.len());
    for ((t, p), o) in entries {
        s.push_str(&format!("{t} {p} {o}\n"));
    }
    s
}

/// Merges `updates` into the data-directory checkpoint `name` (removing the (topic,
/// partition) keys in `remove`), under the data directory's lock, atomically.
pub fn update_offsets(
    data_dir: &Path,
    name: &str,
    updates: &OffsetCheckpoint,
    remove: &[(String, u32)],
) -> Result<()> {
    let _lock = super::fs::lock_dir(data_dir)?;
    let path = data_dir.join(name);
    let mut entries = read_offsets(&path).unwrap_or_default();
    let before = entries.clone();
    for k in remove {
        entries.remove(k);
    }
    entries.extend(updates.iter().map(|(k, v)| (k.clone(), *v)));
    if entries != before || !path.exists() {
        super::fs::atomic_write(&path, format_offsets(&entries).as_bytes())?;
    }
    Ok(())
}

/// Writes a partition's `leader-epoch-checkpoint` from (epoch, start offset) pairs.
pub fn write_leader_epochs(partition_dir: &Path, epochs: &[(i32, i64)]) -> Result<()> {
    let mut s = format!("0\n{}\n", epochs.len());
    for (e, o) in epochs {
        s.push_str(&format!("{e} {o}\n"));
    }
    let path = partition_dir.join(LEADER_EPOCH);
    if fs::read_to_string(&path).ok().as_deref() == Some(s.as_str()) {
        return Ok(());
    }
    super::fs::atomic_write(&path, s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
