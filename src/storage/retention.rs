//! The log start offset and retention (`retention.ms`, `retention.bytes`): which closed
//! segments go, and deleting them ([`LogSegment::delete`]) and what a deletion left.
//!
//! # Layout
//! `<partition>/.klog-log-start-offset` holds `{"log_start_offset": N}` once the log start has
//! been moved past the first segment's base offset (Kafka keeps the same fact in its
//! `log-start-offset-checkpoint`). The log start offset is the larger of that and the first
//! segment's base offset. `checkpoint` reads and writes the file.
//!
//! # Invariants
//! 1. Records below the log start offset are never returned to readers; the segments that
//!    hold only such records are deleted, the active segment never.
//! 2. Retention considers closed segments oldest first and stops at the first one it must
//!    keep, so the log stays a contiguous range of offsets.
//!
//! # Crash safety
//! The new log start offset is written (atomically, durably) before any segment goes. A
//! segment is deleted by renaming its `.log` to `.log.deleted` first, which removes it from
//! every listing at once; its indexes and the renamed file are removed after. A crash leaves
//! at most `*.deleted` files and index files without a `.log`, which the next writer removes
//! ([`remove_leftovers`]).

use std::fs;
use std::path::Path;

use serde::Serialize;

/// The log start offset's file is read and written in `checkpoint`; here under the former
/// paths.
pub use super::checkpoint::{log_start_offset, read_log_start, write_log_start};
use super::cleaner::recover_cleaner_leftovers;
use super::config::LogConfig;
use super::failpoint as fp;
use super::fs::{fsync_dir_at, hold_broker_lock, lock_dir};
use super::layout::{
    self, DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, list_segments,
};
use super::segment::LogSegment;
use crate::error::{Error, Result};

/// Removes what an interrupted deletion left behind: `*.deleted` files, and index files
/// whose `.log` is gone. Call with the partition lock held.
pub fn remove_leftovers(dir: &Path) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(Error::io("read directory", dir))?;
    let mut logs = std::collections::HashSet::new();
    let mut indexes = Vec::new();
    for e in rd.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.ends_with(DELETED_SUFFIX) {
            let _ = fp::remove_file(&e.path(), "retention.remove_leftover");
        } else if let Some(b) = layout::parse_offset(&name, LOG_SUFFIX) {
            logs.insert(b);
        } else if let Some(b) = layout::parse_offset(&name, INDEX_SUFFIX)
            .or_else(|| layout::parse_offset(&name, TIME_INDEX_SUFFIX))
        {
            indexes.push((b, e.path()));
        }
    }
    for (b, path) in indexes {
        if !logs.contains(&b) {
            let _ = fp::remove_file(&path, "retention.remove_leftover");
        }
    }
    Ok(())
}

/// Why a segment was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteReason {
    LogStartOffset,
    RetentionMs,
    RetentionBytes,
}

/// A segment removed by retention or trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletedSegment {
    pub base_offset: i64,
    /// One past its last offset (the next segment's base offset).
    pub end_offset: i64,
    pub size_bytes: u64,
    pub reason: DeleteReason,
}

/// Settings retention applies (from the topic config).
#[derive(Debug, Clone, Copy)]
pub struct RetentionRules {
    pub delete_policy: bool,
    pub retention_ms: i64,
    pub retention_bytes: i64,
}

impl RetentionRules {
    pub fn of(config: &LogConfig) -> RetentionRules {
        RetentionRules {
            delete_policy: config.cleanup_policy.delete,
            retention_ms: config.retention_ms,
            retention_bytes: config.retention_bytes,
        }
    }
}

/// The partition's log start offset and the segments retention would delete now under
/// `config` (see [`segments_to_delete`]): what a roll deletes, and what `clean --dry-run`
/// shows.
pub fn due(dir: &Path, config: &LogConfig, now: i64) -> Result<(i64, Vec<DeletedSegment>)> {
    let segments = list_segments(dir)?;
    let log_start = log_start_offset(dir, &segments);
    let rules = RetentionRules::of(config);
    let doomed = segments_to_delete(dir, &segments, log_start, rules, now);
    Ok((log_start, doomed))
}

/// Applies retention to partition `dir` now, as `klog clean` does: deletes the closed
/// segments [`due`] under `config` (oldest first, the log start moved up first), holding the
/// partition lock. Unlike a writer it never opens the active segment, so a partition with
/// nothing to delete is left exactly as it is. Refused while a Kafka broker holds the data
/// directory. Returns what was deleted.
pub fn apply(dir: &Path, config: &LogConfig, now: i64) -> Result<Vec<DeletedSegment>> {
    let _broker = match dir.parent() {
        Some(data_dir) => hold_broker_lock(data_dir)?,
        None => None,
    };
    let _lock = lock_dir(dir)?;
    // What an interrupted swap or deletion left, as a writer's first load does.
    recover_cleaner_leftovers(dir)?;
    remove_leftovers(dir)?;
    let (log_start, doomed) = due(dir, config, now)?;
    if let Some(last) = doomed.last()
        && last.end_offset > log_start
    {
        write_log_start(dir, last.end_offset)?;
    }
    for d in &doomed {
        LogSegment::new(dir, d.base_offset).delete()?;
    }
    if !doomed.is_empty() {
        fsync_dir_at(dir, "retention.dir_fsync")?;
    }
    Ok(doomed)
}

/// Which closed segments to delete, oldest first: those entirely below `log_start`, then (with
/// the delete policy) those past `retention.ms` or beyond `retention.bytes`. Stops at the first
/// segment to keep; never picks the last (active) segment.
pub fn segments_to_delete(
    dir: &Path,
    segments: &[i64],
    log_start: i64,
    rules: RetentionRules,
    now: i64,
) -> Vec<DeletedSegment> {
    // Sizes are only needed for retention.bytes: without it, nothing is stat'ed, so a roll
    // costs the same with ten or ten thousand segments.
    let by_bytes = rules.delete_policy && rules.retention_bytes >= 0;
    let sizes: Vec<u64> = segments
        .iter()
        .map(|&b| {
            if by_bytes {
                fs::metadata(LogSegment::new(dir, b).log_path())
                    .map(|m| m.len())
                    .unwrap_or(0)
            } else {
                0
            }
        })
        .collect();
    let mut total: u64 = sizes.iter().sum();
    let mut out = Vec::new();
    for i in 0..segments.len().saturating_sub(1) {
        let (base, next) = (segments[i], segments[i + 1]);
        let reason = if next <= log_start {
            Some(DeleteReason::LogStartOffset)
        } else if rules.delete_policy
            && rules.retention_ms >= 0
            && LogSegment::new(dir, base)
                .largest_timestamp()
                .is_some_and(|t| now - t > rules.retention_ms)
        {
            Some(DeleteReason::RetentionMs)
        } else if rules.delete_policy
            && rules.retention_bytes >= 0
            && total.saturating_sub(sizes[i]) >= rules.retention_bytes as u64
        {
            Some(DeleteReason::RetentionBytes)
        } else {
            None
        };
        let Some(reason) = reason else { break };
        total -= sizes[i];
        let size_bytes = if by_bytes {
            sizes[i]
        } else {
            fs::metadata(LogSegment::new(dir, base).log_path()).map_or(0, |m| m.len())
        };
        out.push(DeletedSegment {
            base_offset: base,
            end_offset: next,
            size_bytes,
            reason,
        });
    }
    out
}
