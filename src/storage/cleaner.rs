//! Log compaction (`cleanup.policy=compact`): keep only the latest record of every key in the
//! closed segments of a partition, as Kafka's log cleaner does.
//!
//! [`clean_partition`] holds the partition lock for the whole run and:
//! 1. picks the *cleanable range*: the closed segments from the first one holding a record at
//!    or above the log start offset, up to (not including) the first segment that is the active
//!    one or whose largest timestamp is newer than `min.compaction.lag.ms`;
//! 2. splits it at the *first dirty offset* (`.klog-cleaner-offset`, `{"cleaner_offset": N}`,
//!    Kafka's `cleaner-offset-checkpoint`; absent = the log start offset) into a clean and a
//!    dirty part, and cleans only if `dirty bytes / (clean + dirty bytes)` reaches
//!    `min.cleanable.dirty.ratio` (or when forced);
//! 3. builds the offset map, key → latest offset, over the dirty part;
//! 4. recopies every segment of the range, in groups of consecutive segments whose summed
//!    sizes fit `segment.bytes` / `segment.index.bytes` (and whose offsets fit a relative i32
//!    offset), into one new segment per group named by the group's first base offset, keeping
//!    a record iff it is the latest of its key (its offset ≥ the map's, or its key is not in the
//!    map) and it has a value or is a tombstone whose delete horizon has not passed, and swaps
//!    each group in (see *Crash safety*);
//! 5. the merge pass: groups the segments step 4 left (those it left alone included) into
//!    runs of consecutive ones whose *cleaned* sizes fit one segment (the same limits, each
//!    counted without a final empty header but the run's last), and merges each run of two or
//!    more into one segment the same way, copying every batch as it is but the empty headers
//!    that do not end the merged segment; so that a clean leaves no run of small or emptied
//!    segments behind;
//! 6. stores the new first dirty offset.
//!
//! # Layout
//! Next to the segments: `.klog-cleaner-offset` (JSON, written atomically by
//! `checkpoint`), and while a group
//! is being swapped `<base>.{log,index,timeindex}.cleaned`, then `.swap`, and the replaced
//! segments' files as `<name>.deleted`.
//!
//! # Invariants
//! 1. Offsets never change: a surviving record keeps its offset, a rewritten batch keeps its
//!    base offset, last offset delta, partition leader epoch, producer id/epoch/base sequence,
//!    timestamp type, max timestamp and compression codec. Gaps appear where records went.
//! 2. The active segment is never read for the map nor rewritten; nothing at or past the first
//!    uncleanable offset is touched.
//! 3. A record disappears only if a later record of the same key exists in the log, or it is a
//!    tombstone whose delete horizon (attribute bit 6, base timestamp = the time of the first
//!    cleaning that kept it + `delete.retention.ms`) has passed. The first cleaning that keeps
//!    a tombstone sets the horizon; record timestamps are unchanged (deltas are rewritten).
//! 4. Keyless records are kept (Kafka refuses them on compacted topics at produce time; klog
//!    keeps them so that nothing vanishes silently). Control and transactional batches are
//!    copied as they are and take no part in the map: klog does not track transactions, so
//!    it cannot tell aborted records from committed ones, and keeping them never loses data.
//!    Legacy (magic 0/1) entries are copied as they are.
//! 5. A batch left without records is dropped, except the last batch of each output segment,
//!    kept as an empty header (records count 0, base timestamp -1, the old max timestamp).
//!    Kafka keeps the last batch of the cleaned range; keeping the last one of every group
//!    also makes each swapped segment say, by its own last offset, which old segments it
//!    replaces (recovery relies on that).
//! 6. The offset map maps a 128-bit keyed hash of each key (not the key bytes) to an offset,
//!    24 bytes a key, and stops taking segments at [`MAX_MAP_ENTRIES`] keys (≈ 100 MiB): when
//!    the dirty part has more distinct keys, the range cleaned this round ends at the segment
//!    where the map filled, and the rest is cleaned by the next round, as in Kafka. The check
//!    is per batch, and the first dirty segment is always taken whole so that every round
//!    makes progress: the bound is exceeded by at most one batch's keys, or by a first dirty
//!    segment that alone holds more keys.
//!
//! # Crash safety
//! Groups are swapped one at a time, those of the merge pass after those of step 4, all the
//! same way; the group being swapped has base offset `B`. Steps, and
//! what a crash right after each leaves (recovery = [`recover_cleaner_leftovers`]):
//! 1. **Cleaned**: `B.log.cleaned`, `B.index.cleaned`, `B.timeindex.cleaned` written and
//!    fsynced (the indexes each through a temp file renamed into place). The old segments are
//!    untouched; recovery deletes every `*.cleaned` and such a temp file (and any `.swap` of a
//!    base that still has a `.cleaned`).
//! 2. **Swapped**: renamed to `.swap`, `.log` last (the commit point), then the directory is
//!    fsynced. From here on the group is committed: a base with a `.swap` and no `.cleaned`
//!    is completed by recovery, which runs the remaining steps below.
//! 3. **Installed**: `B.log.swap` renamed over `B.log` and `B.timeindex.swap` over
//!    `B.timeindex` (atomic replacement: the name `B.log` always exists, and readers holding
//!    the old file keep reading it). `B.index.swap` stays as the marker that the group is not
//!    finished. The old segments after `B` are still listed, overlapping the new `B`.
//! 4. **OldDeleted**: every file of the group's other old segments (bases in `(B, end)`, where
//!    recovery takes `end` = the next offset of the new `B.log`) renamed to `<name>.deleted`,
//!    `.log` first; directory fsynced.
//! 5. **Finalized**: `B.index.swap` renamed over `B.index`; directory fsynced.
//! 6. The `.deleted` files are removed, then (after the last group) the cleaner offset is
//!    written. A crash before that only makes the next run clean the same range again.
//!
//! Every step is idempotent, so a crash during recovery is recovered the same way. After a
//! crash each group holds either its old segments or its cleaned one: never neither.
//!
//! # Concurrency
//! Writers are excluded by the partition lock. Readers take no lock: a reader holding an old
//! segment open keeps reading it (an unlinked file stays readable), and offsets are unchanged,
//! so a reader positioned at offset N goes on correctly in the new files. When a group merges
//! several old segments, a reader may find the next old segment gone (merged away): it then
//! reads the segment it was merged into again, and since a reader never hands out an offset
//! below one it already handed out, it goes on with the survivors after its position, neither
//! repeating nor skipping any. A reader that meets offsets that look out of place while a swap
//! is half done re-checks under a shared lock of the partition before calling it damage.
//!
//! # Kafka
//! `LogCleaner.Cleaner` (`doClean`, `cleanSegments`, `cleanInto`, `groupSegmentsBySize`,
//! `buildOffsetMap`), `SkimpyOffsetMap`, `LogCleanerManager` (dirty ratio, cleanable range),
//! `MemoryRecords.filterTo`, `LocalLog.replaceSegments` and `LogLoader` (swap recovery).
//! Differences: the checkpoint is per partition and JSON; the map is keyed by a 128-bit keyed
//! SipHash instead of MD5; segments are also grouped by their cleaned sizes (the merge pass:
//! Kafka groups by the sizes before cleaning, so mostly superseded segments stay small until a
//! later round); `.deleted` files are removed at once (no `file.delete.delay.ms`);
//! the old first segment of a group is replaced by rename-over instead of being renamed to
//! `.deleted` first, so that no listing ever lacks the group's first offsets.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::hash::RandomState;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The cleaner offset's file is read in `checkpoint`; here under its former path.
pub use super::checkpoint::read_cleaner_offset;
use super::checkpoint::{self, write_cleaner_offset};
use super::config::LogConfig;
use super::failpoint as fp;
use super::file_records::{ChunkReader, RawAt};
use super::fs::{self as sfs, Durability, fsync_dir_at, lock_dir, replace_file};
use super::index::IndexBuilder;
use super::layout::{
    self, CLEANED_SUFFIX, DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, SEGMENT_SUFFIXES, SWAP_SUFFIX,
    TIME_INDEX_SUFFIX, list_segments, parse_segment_file, with_suffix,
};
use super::segment::LogSegment;
use crate::error::{Error, Result};
use crate::format::batch::{Compression, EntryFrame, compress_batch, encode_batch, is_v2_magic};
use crate::format::{BatchHeader, DecodeError, Record, RecordBatch, TimestampType};

/// Most keys the offset map holds in one round: 4 Mi hash buckets of 25 bytes at the
/// map's 7/8 load factor, so the map never grows past ≈ 100 MiB.
pub const MAX_MAP_ENTRIES: usize = 3_670_016;

/// Attribute bit 6: the batch's base timestamp is its delete horizon (KIP-534).
const DELETE_HORIZON_BIT: i16 = 0x40;
/// Attribute bits kept on an emptied batch: timestamp type, transactional, control.
const EMPTY_BATCH_ATTRIBUTES: i16 = 0x08 | 0x10 | 0x20;

/// What [`clean_partition`] did (or, with `dry_run`, would do).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CleanReport {
    /// Dirty bytes / (clean + dirty bytes) over the cleanable range (0 when it is empty).
    pub dirty_ratio: f64,
    /// Whether the range was cleaned (with `dry_run`: whether a real run would clean it).
    pub cleaned: bool,
    /// Segments of the whole partition, active one included, before and after.
    pub segments_before: usize,
    pub segments_after: usize,
    /// Bytes of all `.log` files of the partition before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Records dropped, tombstones included.
    pub records_removed: u64,
    /// Tombstones dropped because their delete horizon had passed (or a later record of
    /// their key superseded them).
    pub tombstones_removed: u64,
    /// The first dirty offset this run started from.
    pub first_dirty_offset: i64,
    /// The first dirty offset after this run: the end of the cleaned range (unchanged when
    /// nothing was cleaned).
    pub cleaned_up_to: i64,
}

/// Compacts the closed segments of partition `dir` if its dirty ratio reaches
/// min.cleanable.dirty.ratio (or `force`), holding the partition lock. With `dry_run`, only
/// computes what it would do. Refuses a config whose cleanup.policy lacks `compact`.
pub fn clean_partition(
    dir: &Path,
    config: &LogConfig,
    now_ms: i64,
    force: bool,
    dry_run: bool,
) -> Result<CleanReport> {
    let opts = CleanOptions {
        now_ms,
        force,
        dry_run,
        max_map_entries: MAX_MAP_ENTRIES,
        stop_after: None,
        merge: true,
    };
    clean_with(dir, config, &opts)
}

/// The steps of a group's swap (see the module's *Crash safety*), for crash tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(not(test), allow(dead_code))]
enum Step {
    Cleaned,
    Swapped,
    Installed,
    OldDeleted,
    Finalized,
}

#[derive(Debug, Clone, Copy)]
struct CleanOptions {
    now_ms: i64,
    force: bool,
    dry_run: bool,
    max_map_entries: usize,
    /// Stop (as if the process died) right after this step of the n-th swapped group
    /// (counted over both passes).
    stop_after: Option<(usize, Step)>,
    /// Whether the merge pass runs (always, but in tests that need the first pass alone).
    merge: bool,
}

/// Key → offset of its latest record in the dirty range, keyed by a 128-bit keyed hash of
/// the key bytes (two SipHash-1-3 with random keys: collisions, which would drop a record,
/// have probability ~n²/2¹²⁹ and cannot be provoked by choosing keys).
struct OffsetMap {
    map: HashMap<[u64; 2], i64>,
    hashers: [RandomState; 2],
    max_entries: usize,
}

impl OffsetMap {
    fn new(max_entries: usize) -> OffsetMap {
        OffsetMap {
            map: HashMap::new(),
            hashers: [RandomState::new(), RandomState::new()],
            max_entries,
        }
    }

    fn hash(&self, key: &[u8]) -> [u64; 2] {
        [self.hashers[0].hash_one(key), self.hashers[1].hash_one(key)]
    }

    fn put(&mut self, key: &[u8], offset: i64) {
        let h = self.hash(key);
        self.map.insert(h, offset);
    }

    fn get(&self, key: &[u8]) -> Option<i64> {
        self.map.get(&self.hash(key)).copied()
    }

    fn is_full(&self) -> bool {
        self.map.len() >= self.max_entries
    }
}

/// One closed segment of the cleanable range.
#[derive(Debug, Clone, Copy)]
struct Source {
    base: i64,
    /// The next segment's base offset: every offset of this one is below it.
    end: i64,
    size: u64,
    index_size: u64,
    time_index_size: u64,
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

fn total_log_bytes(dir: &Path, segments: &[i64]) -> u64 {
    segments
        .iter()
        .map(|&b| file_len(&LogSegment::new(dir, b).log_path()))
        .sum()
}

fn clean_with(dir: &Path, config: &LogConfig, opts: &CleanOptions) -> Result<CleanReport> {
    if !config.cleanup_policy.compact {
        return Err(Error::Invalid(format!(
            "cleanup.policy of {} does not include compact",
            dir.display()
        )));
    }
    // Never under a running Kafka broker (a dry run only reads).
    let _broker = match dir.parent() {
        Some(data_dir) if !opts.dry_run => sfs::hold_broker_lock(data_dir)?,
        _ => None,
    };
    let _lock = lock_dir(dir)?;
    if !opts.dry_run {
        recover_cleaner_leftovers(dir)?;
    }
    let segments = list_segments(dir)?;
    let log_start = checkpoint::log_start_offset(dir, &segments);
    let bytes_before = total_log_bytes(dir, &segments);

    // The cleanable range: closed segments holding something at or above the log start, up
    // to the first one too recent for min.compaction.lag.ms.
    let lag = config.min_compaction_lag_ms.max(0);
    let mut sources = Vec::new();
    for w in segments.windows(2) {
        let (base, end) = (w[0], w[1]);
        if end <= log_start {
            continue; // wholly below the log start: retention's to delete
        }
        let seg = LogSegment::new(dir, base);
        if lag > 0
            && seg
                .largest_timestamp()
                .is_none_or(|t| t > opts.now_ms.saturating_sub(lag))
        {
            break;
        }
        sources.push(Source {
            base,
            end,
            size: file_len(&seg.log_path()),
            index_size: file_len(&seg.index_path()),
            time_index_size: file_len(&seg.time_index_path()),
        });
    }

    // First dirty offset: the checkpoint, unless it is below the log start or past anything
    // a closed segment can hold (a log that was replaced since).
    let active_base = segments.last().copied().unwrap_or(0);
    let first_dirty = read_cleaner_offset(dir)
        .filter(|&o| o >= log_start && o <= active_base)
        .unwrap_or(log_start);
    let (mut clean_bytes, mut dirty_bytes) = (0u64, 0u64);
    for s in &sources {
        if s.end <= first_dirty {
            clean_bytes += s.size;
        } else {
            dirty_bytes += s.size;
        }
    }
    let total = clean_bytes + dirty_bytes;
    let dirty_ratio = if total == 0 {
        0.0
    } else {
        dirty_bytes as f64 / total as f64
    };
    let mut report = CleanReport {
        dirty_ratio,
        cleaned: false,
        segments_before: segments.len(),
        segments_after: segments.len(),
        bytes_before,
        bytes_after: bytes_before,
        records_removed: 0,
        tombstones_removed: 0,
        first_dirty_offset: first_dirty,
        cleaned_up_to: first_dirty,
    };
    let worth_it = dirty_bytes > 0 && dirty_ratio >= config.min_cleanable_dirty_ratio;
    if sources.is_empty() || !(opts.force || worth_it) {
        return Ok(report);
    }

    // The offset map over the dirty part; a full map ends this round's range early.
    let mut map = OffsetMap::new(opts.max_map_entries);
    let taken = build_offset_map(dir, &sources, first_dirty, &mut map)?;
    sources.truncate(taken);
    let clean_end = sources.last().map_or(first_dirty, |s| s.end);

    let groups = group_segments(&sources, config);
    let mut cleaner = Cleaner {
        merge_only: false,
        map,
        now_ms: opts.now_ms,
        delete_retention_ms: config.delete_retention_ms,
        index_interval: config.index_interval_bytes as u64,
        records_removed: 0,
        tombstones_removed: 0,
    };
    let mut predicted_bytes = bytes_before;
    let mut predicted_segments = segments.len();
    let mut swapped = 0usize;
    // What each group became: the sources of the merge pass.
    let mut outputs = Vec::with_capacity(groups.len());
    for group in &groups {
        let Some(first) = group.first() else { continue };
        let (base, end) = (first.base, group.last().map_or(first.end, |s| s.end));
        let outcome = cleaner.clean_group(dir, group, !opts.dry_run)?;
        predicted_bytes =
            predicted_bytes - group.iter().map(|s| s.size).sum::<u64>() + outcome.size;
        predicted_segments = predicted_segments + 1 - group.len();
        outputs.push(Output2 {
            source: Source {
                base,
                end,
                size: outcome.size,
                index_size: outcome.index_size,
                time_index_size: outcome.time_index_size,
            },
            kept: outcome.kept,
        });
        if opts.dry_run {
            continue;
        }
        if !outcome.changed && group.len() == 1 {
            // Nothing to do for this segment: leave it alone.
            remove_group_files(LogSegment::new(dir, base), CLEANED_SUFFIX);
            continue;
        }
        let stop = opts
            .stop_after
            .filter(|&(n, _)| n == swapped)
            .map(|(_, step)| step);
        swapped += 1;
        if swap_in(LogSegment::new(dir, base), end, stop)? {
            report.cleaned = true;
            return Ok(report);
        }
    }
    // The merge pass: consecutive cleaned segments whose records fit one segment become one
    // (Kafka groups by the sizes before cleaning; a segment mostly superseded then stays
    // small until the next round, and one emptied to a header stays a segment of 61 bytes).
    cleaner.merge_only = true;
    let merges = if opts.merge {
        merge_groups(&outputs, config)
    } else {
        Vec::new()
    };
    for merge in merges {
        let (Some(first), Some(last)) = (merge.first(), merge.last()) else {
            continue;
        };
        let merged = merge.iter().map(|o| o.kept).sum::<u64>() + (last.source.size - last.kept);
        predicted_bytes =
            predicted_bytes - merge.iter().map(|o| o.source.size).sum::<u64>() + merged;
        predicted_segments = predicted_segments + 1 - merge.len();
        if opts.dry_run {
            continue;
        }
        let (base, end) = (first.source.base, last.source.end);
        let group: Vec<Source> = merge.iter().map(|o| o.source).collect();
        cleaner.clean_group(dir, &group, true)?;
        let stop = opts
            .stop_after
            .filter(|&(n, _)| n == swapped)
            .map(|(_, step)| step);
        swapped += 1;
        if swap_in(LogSegment::new(dir, base), end, stop)? {
            report.cleaned = true;
            return Ok(report);
        }
    }
    report.cleaned = true;
    report.records_removed = cleaner.records_removed;
    report.tombstones_removed = cleaner.tombstones_removed;
    report.cleaned_up_to = clean_end.max(first_dirty);
    if opts.dry_run {
        report.bytes_after = predicted_bytes;
        report.segments_after = predicted_segments;
    } else {
        write_cleaner_offset(dir, report.cleaned_up_to)?;
        let after = list_segments(dir)?;
        report.segments_after = after.len();
        report.bytes_after = total_log_bytes(dir, &after);
    }
    Ok(report)
}

/// Iterates the entries of a closed segment's `.log`: `f(position, frame, bytes)` for each.
/// Anything that is not a whole entry is corruption (closed segments have no torn tail).
fn for_each_entry(
    path: &Path,
    mut f: impl FnMut(u64, EntryFrame, &[u8]) -> Result<bool>,
) -> Result<()> {
    let mut r = ChunkReader::open(path)?;
    let len = r.file_len()?;
    let mut pos = 0u64;
    loop {
        match r.raw_at(pos, len)? {
            RawAt::End => {
                if pos < len {
                    return Err(Error::corrupt(
                        path,
                        pos,
                        DecodeError::Truncated {
                            at: 0,
                            needed: 17,
                            available: (len - pos) as usize,
                        },
                    ));
                }
                return Ok(());
            }
            RawAt::Incomplete { frame, available } => {
                return Err(Error::corrupt(
                    path,
                    pos,
                    DecodeError::Truncated {
                        at: 0,
                        needed: frame.size,
                        available: available as usize,
                    },
                ));
            }
            RawAt::BadFrame(e) => return Err(Error::corrupt(path, pos, e)),
            RawAt::Entry { frame, bytes } => {
                if !f(pos, frame, bytes)? {
                    return Ok(());
                }
                pos += frame.size as u64;
            }
        }
    }
}

/// Whether the cleaner may drop or rewrite records of this batch.
fn is_compactable(h: &BatchHeader) -> bool {
    !h.is_control() && !h.is_transactional()
}

/// Fills `map` with key → latest offset over the dirty part of `sources` (offsets ≥
/// `first_dirty`). Returns how many sources this round cleans: all of them, unless the map
/// filled in a dirty segment after the first one, which then ends the range.
fn build_offset_map(
    dir: &Path,
    sources: &[Source],
    first_dirty: i64,
    map: &mut OffsetMap,
) -> Result<usize> {
    let mut first_dirty_seen = false;
    let mut scratch = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        if s.end <= first_dirty {
            continue;
        }
        let may_stop = first_dirty_seen;
        first_dirty_seen = true;
        let path = LogSegment::new(dir, s.base).log_path();
        let mut filled = false;
        for_each_entry(&path, |pos, frame, bytes| {
            if !is_v2_magic(frame.magic) {
                return Ok(true);
            }
            let batch = RecordBatch::decode(bytes).map_err(|e| Error::corrupt(&path, pos, e))?;
            if !is_compactable(&batch.header) || batch.header.last_offset() < first_dirty {
                return Ok(true);
            }
            let records = batch
                .records_in(&mut scratch)
                .map_err(|e| Error::corrupt(&path, pos, e))?;
            for r in records {
                let r = r.map_err(|e| Error::corrupt(&path, pos, e))?;
                let offset = batch.offset_of(&r);
                if let Some(key) = r.key
                    && offset >= first_dirty
                {
                    map.put(key, offset);
                }
            }
            if may_stop && map.is_full() {
                filled = true;
                return Ok(false);
            }
            Ok(true)
        })?;
        if filled {
            return Ok(i);
        }
    }
    Ok(sources.len())
}

/// Splits the sources into runs of consecutive segments that fit one output segment.
fn group_segments<'a>(sources: &'a [Source], config: &LogConfig) -> Vec<&'a [Source]> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < sources.len() {
        let first = sources[start];
        let (mut size, mut idx, mut tidx) = (first.size, first.index_size, first.time_index_size);
        let mut end = start + 1;
        while let Some(next) = sources.get(end) {
            let fits = size + next.size <= config.segment_bytes as u64
                && idx + next.index_size <= config.segment_index_bytes as u64
                && tidx + next.time_index_size <= config.segment_index_bytes as u64
                && next.end - 1 - first.base <= i32::MAX as i64;
            if !fits {
                break;
            }
            size += next.size;
            idx += next.index_size;
            tidx += next.time_index_size;
            end += 1;
        }
        groups.push(&sources[start..end]);
        start = end;
    }
    groups
}

/// A segment as the first pass left it: the merge pass's unit.
#[derive(Debug, Clone, Copy)]
struct Output2 {
    source: Source,
    /// Its size without a final empty header (which a merge drops unless it ends the merge).
    kept: u64,
}

/// Splits what the first pass left into runs of consecutive segments whose merged segment fits
/// one segment (`segment.bytes`, `segment.index.bytes`, offsets within an i32 of the base): a
/// merge copies every batch but empty headers, and keeps the last segment's final one. Only
/// runs of two or more are returned.
fn merge_groups<'a>(outputs: &'a [Output2], config: &LogConfig) -> Vec<&'a [Output2]> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < outputs.len() {
        let first = outputs[start];
        let (mut size, mut idx, mut tidx) = (
            first.kept,
            first.source.index_size,
            first.source.time_index_size,
        );
        let mut end = start + 1;
        while let Some(next) = outputs.get(end) {
            // `next` would end the run: its final empty header, if any, stays.
            let fits = size + next.source.size <= config.segment_bytes as u64
                && idx + next.source.index_size <= config.segment_index_bytes as u64
                && tidx + next.source.time_index_size <= config.segment_index_bytes as u64
                && next.source.end - 1 - first.source.base <= i32::MAX as i64;
            if !fits {
                break;
            }
            size += next.kept;
            idx += next.source.index_size;
            tidx += next.source.time_index_size;
            end += 1;
        }
        if end - start > 1 {
            groups.push(&outputs[start..end]);
        }
        start = end;
    }
    groups
}

/// Where a group's cleaned batches go: `<base>.log.cleaned`, or nowhere for a dry run.
struct Output {
    file: Option<(BufWriter<fp::Writer<File>>, PathBuf)>,
    pos: u64,
    /// Bytes of the batches written but a final empty header: what the segment brings to a
    /// merge (see [`merge_groups`]).
    kept: u64,
    index: IndexBuilder,
}

impl Output {
    fn push(&mut self, bytes: &[u8], last_offset: i64, max_timestamp: i64) -> Result<()> {
        if let Some((w, path)) = &mut self.file {
            w.write_all(bytes)
                .map_err(Error::io("write", path.as_path()))?;
        }
        self.index.on_batch(self.pos, last_offset, max_timestamp);
        self.pos += bytes.len() as u64;
        self.kept += bytes.len() as u64;
        Ok(())
    }

    /// The group's last batch, an empty header: written, but not kept by a merge.
    fn push_empty_header(
        &mut self,
        bytes: &[u8],
        last_offset: i64,
        max_timestamp: i64,
    ) -> Result<()> {
        self.push(bytes, last_offset, max_timestamp)?;
        self.kept -= bytes.len() as u64;
        Ok(())
    }
}

/// What cleaning one batch gives.
enum Filtered {
    /// Keep the batch byte for byte.
    Same,
    /// Some records went, or a delete horizon was set: the new batch.
    Rewritten(Vec<u8>),
    /// No record survives.
    Emptied,
}

/// What writing one group's cleaned segment gave.
struct GroupOutcome {
    size: u64,
    /// `size` without a final empty header.
    kept: u64,
    /// Sizes of its `.index` and `.timeindex`.
    index_size: u64,
    time_index_size: u64,
    /// Whether any batch was dropped or rewritten.
    changed: bool,
}

struct Cleaner {
    /// Only merging (the second pass, see [`merge_groups`]): every batch is copied as it is,
    /// but empty headers that do not end the merged segment.
    merge_only: bool,
    map: OffsetMap,
    now_ms: i64,
    delete_retention_ms: i64,
    index_interval: u64,
    records_removed: u64,
    tombstones_removed: u64,
}

impl Cleaner {
    /// Whether a record of a compactable batch survives.
    fn keep(&mut self, h: &BatchHeader, offset: i64, r: &Record<'_>) -> bool {
        let Some(key) = r.key else {
            return true; // keyless: kept (see the module doc)
        };
        let latest = self.map.get(key).is_none_or(|o| offset >= o);
        let keep = latest
            && (r.value.is_some()
                || h.delete_horizon_ms()
                    .is_none_or(|horizon| self.now_ms < horizon));
        if !keep {
            self.records_removed += 1;
            if r.value.is_none() {
                self.tombstones_removed += 1;
            }
        }
        keep
    }

    fn filter(&mut self, batch: &RecordBatch<'_>) -> std::result::Result<Filtered, DecodeError> {
        let h = batch.header;
        if !is_compactable(&h) {
            return Ok(Filtered::Same);
        }
        if self.merge_only {
            return Ok(if h.records_count == 0 {
                Filtered::Emptied
            } else {
                Filtered::Same
            });
        }
        let mut scratch = Vec::new();
        let mut kept = Vec::new();
        let mut dropped = false;
        for r in batch.records_in(&mut scratch)? {
            let r = r?;
            if self.keep(&h, batch.offset_of(&r), &r) {
                kept.push(r);
            } else {
                dropped = true;
            }
        }
        if kept.is_empty() {
            // Emptied now, or an empty header an earlier cleaning kept.
            return Ok(Filtered::Emptied);
        }
        let set_horizon =
            !h.has_delete_horizon() && kept.iter().any(|r| r.key.is_some() && r.value.is_none());
        if !dropped && !set_horizon {
            return Ok(Filtered::Same);
        }
        // Record timestamps as stored (base + delta), kept as they are under the new base.
        let stored_ts = |r: &Record<'_>| h.base_timestamp.wrapping_add(r.timestamp_delta);
        let new_base = if set_horizon {
            self.now_ms.saturating_add(self.delete_retention_ms)
        } else if h.has_delete_horizon() || h.timestamp_type() == TimestampType::LogAppendTime {
            h.base_timestamp
        } else {
            kept.first().map_or(h.base_timestamp, stored_ts) // Kafka: the first record's
        };
        for r in &mut kept {
            r.timestamp_delta = stored_ts(r).wrapping_sub(new_base);
        }
        let codec = h.compression().unwrap_or(Compression::None);
        let mut header = h;
        header.base_timestamp = new_base;
        header.attributes &= !0x07;
        if set_horizon {
            header.attributes |= DELETE_HORIZON_BIT;
        }
        let plain = encode_batch(&header, &kept);
        if codec == Compression::None {
            return Ok(Filtered::Rewritten(plain));
        }
        let mut out = Vec::new();
        compress_batch(&plain, codec, &mut out);
        Ok(Filtered::Rewritten(out))
    }

    /// Writes the cleaned copy of `group` (to `<base>.*.cleaned` when `write`, fsynced).
    fn clean_group(&mut self, dir: &Path, group: &[Source], write: bool) -> Result<GroupOutcome> {
        let base = group.first().map_or(0, |s| s.base);
        let seg = LogSegment::new(dir, base);
        let file = if write {
            let path = with_suffix(&seg.log_path(), CLEANED_SUFFIX);
            let f = fp::open(
                OpenOptions::new().write(true).create(true).truncate(true),
                &path,
                "clean.create",
            )
            .map_err(Error::io("create", &path))?;
            let f = fp::Writer::new(f, "clean.write");
            Some((BufWriter::with_capacity(1 << 20, f), path))
        } else {
            None
        };
        let mut out = Output {
            file,
            pos: 0,
            kept: 0,
            index: IndexBuilder::new(base, self.index_interval),
        };
        let result = self.copy_group(dir, group, &mut out);
        let result = result.and_then(|changed| {
            let (index, time_index) =
                std::mem::replace(&mut out.index, IndexBuilder::new(base, self.index_interval))
                    .finish();
            let (index_size, time_index_size) = (index.len() as u64, time_index.len() as u64);
            if let Some((w, path)) = out.file.take() {
                let f = w
                    .into_inner()
                    .map_err(|e| Error::io("write", &path)(e.into_error()))?
                    .into_inner();
                fp::sync_all(&f, "clean.fsync").map_err(Error::io("fsync", &path))?;
                for (suffix, bytes) in [(INDEX_SUFFIX, index), (TIME_INDEX_SUFFIX, time_index)] {
                    let p = with_suffix(&seg.file(suffix), CLEANED_SUFFIX);
                    // Synced: the swap fsyncs the directory once they are renamed.
                    replace_file(&p, &bytes, Durability::Synced, &sfs::CLEANED_INDEX)?;
                }
            }
            Ok(GroupOutcome {
                size: out.pos,
                kept: out.kept,
                index_size,
                time_index_size,
                changed,
            })
        });
        if result.is_err() && write {
            remove_group_files(LogSegment::new(dir, base), CLEANED_SUFFIX);
        }
        result
    }

    /// Copies the group's batches through the filter. Returns whether anything changed.
    fn copy_group(&mut self, dir: &Path, group: &[Source], out: &mut Output) -> Result<bool> {
        let mut changed = false;
        // The last batch seen, if it has no records left: written as an empty header only if
        // it turns out to be the group's last. An empty batch of an earlier cleaning keeps its
        // bytes then.
        let mut empty_last: Option<(BatchHeader, Option<Vec<u8>>)> = None;
        for s in group {
            let path = LogSegment::new(dir, s.base).log_path();
            for_each_entry(&path, |pos, frame, bytes| {
                if !is_v2_magic(frame.magic) {
                    changed |= empty_last.take().is_some();
                    out.push(bytes, frame.offset, -1)?;
                    return Ok(true);
                }
                let batch =
                    RecordBatch::decode(bytes).map_err(|e| Error::corrupt(&path, pos, e))?;
                let h = batch.header;
                let filtered = self
                    .filter(&batch)
                    .map_err(|e| Error::corrupt(&path, pos, e))?;
                if !matches!(filtered, Filtered::Emptied) {
                    changed |= empty_last.take().is_some();
                }
                match filtered {
                    Filtered::Same => out.push(bytes, h.last_offset(), h.max_timestamp)?,
                    Filtered::Rewritten(b) => {
                        changed = true;
                        out.push(&b, h.last_offset(), h.max_timestamp)?;
                    }
                    Filtered::Emptied => {
                        changed |= empty_last.is_some();
                        if h.records_count > 0 {
                            changed = true;
                            empty_last = Some((h, None));
                        } else {
                            empty_last = Some((h, Some(bytes.to_vec())));
                        }
                    }
                }
                Ok(true)
            })?;
        }
        if let Some((h, original)) = empty_last {
            let bytes = original.unwrap_or_else(|| {
                let header = BatchHeader {
                    attributes: h.attributes & EMPTY_BATCH_ATTRIBUTES,
                    base_timestamp: -1,
                    ..h
                };
                encode_batch(&header, &[])
            });
            out.push_empty_header(&bytes, h.last_offset(), h.max_timestamp)?;
        }
        Ok(changed)
    }
}

/// Best-effort removal of the segment's files with `suffix` (`<base>.log<suffix>`, …).
fn remove_group_files(seg: LogSegment<'_>, suffix: &str) {
    for f in seg.files() {
        let _ = fp::remove_file(&with_suffix(&f, suffix), "clean.remove_cleaned");
    }
}

fn rename(from: &Path, to: &Path, point: &'static str) -> Result<()> {
    fp::rename(from, to, point).map_err(Error::io("rename", from))
}

/// Steps 2 to 6 for the group `[seg's base, end)` whose `.cleaned` files are complete.
/// Returns true when it stopped early for a crash test.
fn swap_in(seg: LogSegment<'_>, end: i64, stop: Option<Step>) -> Result<bool> {
    if stop == Some(Step::Cleaned) {
        return Ok(true);
    }
    // .log last: its .swap is the commit point.
    for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX] {
        let name = seg.file(suffix);
        rename(
            &with_suffix(&name, CLEANED_SUFFIX),
            &with_suffix(&name, SWAP_SUFFIX),
            "swap.rename_cleaned",
        )?;
    }
    fsync_dir_at(seg.dir(), "swap.dir_fsync")?;
    if stop == Some(Step::Swapped) {
        return Ok(true);
    }
    finish_swap(seg, Some(end), stop)
}

/// The offset after the last entry of a segment's `.log` (its base offset when empty).
fn next_offset_of(seg: LogSegment<'_>) -> Result<i64> {
    let path = &seg.log_path();
    let mut next = seg.base_offset();
    for_each_entry(path, |pos, frame, bytes| {
        next = if is_v2_magic(frame.magic) {
            BatchHeader::parse(bytes)
                .map_err(|e| Error::corrupt(path, pos, e))?
                .next_offset()
        } else {
            frame.offset + 1
        };
        Ok(true)
    })?;
    Ok(next)
}

/// Steps 3 to 6 of a committed swap of the group starting at `seg`: idempotent, so recovery
/// can run it from any point. `end` is the group's end when known; recovery derives it from
/// the new segment's last offset.
fn finish_swap(seg: LogSegment<'_>, end: Option<i64>, stop: Option<Step>) -> Result<bool> {
    let (dir, base) = (seg.dir(), seg.base_offset());
    // 3. The new .log and .timeindex replace the old ones in one rename each.
    for suffix in [LOG_SUFFIX, TIME_INDEX_SUFFIX] {
        let name = seg.file(suffix);
        let swap = with_suffix(&name, SWAP_SUFFIX);
        if swap.exists() {
            rename(&swap, &name, "swap.install")?;
        }
    }
    if stop == Some(Step::Installed) {
        return Ok(true);
    }
    let end = match end {
        Some(e) => e,
        None => next_offset_of(seg)?,
    };
    // 4. Every file of the other old segments of the group goes, .log first.
    let mut old: Vec<(i64, usize, PathBuf)> = Vec::new();
    let rd = fs::read_dir(dir).map_err(Error::io("read directory", dir))?;
    for entry in rd {
        let entry = entry.map_err(Error::io("read directory", dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        for (rank, suffix) in SEGMENT_SUFFIXES.iter().enumerate() {
            if let Some(b) = layout::parse_offset(&name, suffix)
                && b > base
                && b < end
            {
                old.push((b, rank, entry.path()));
            }
        }
    }
    old.sort();
    let mut doomed = Vec::new();
    for (_, _, path) in old {
        let to = with_suffix(&path, DELETED_SUFFIX);
        rename(&path, &to, "swap.rename_deleted")?;
        doomed.push(to);
    }
    fsync_dir_at(dir, "swap.deleted_dir_fsync")?;
    if stop == Some(Step::OldDeleted) {
        return Ok(true);
    }
    // 5. The index last: its .swap marks the group unfinished until here.
    let index = seg.index_path();
    let swap = with_suffix(&index, SWAP_SUFFIX);
    if swap.exists() {
        rename(&swap, &index, "swap.finalize")?;
        fsync_dir_at(dir, "swap.finalize_dir_fsync")?;
    }
    if stop == Some(Step::Finalized) {
        return Ok(true);
    }
    // 6.
    for p in doomed {
        match fp::remove_file(&p, "swap.remove_deleted") {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("delete", &p)(e)),
        }
    }
    Ok(false)
}

/// Finishes or undoes what an interrupted cleaning left in `dir` (see the module's *Crash
/// safety*): deletes every `*.cleaned` (with the `.swap` files of a base that still has
/// one, and the temp file of a `.cleaned` index killed before its rename), completes every
/// committed swap, and deletes `*.deleted`. Call with the partition
/// lock held, before listing segments (a writer's first load, next to
/// `retention::remove_leftovers`).
pub fn recover_cleaner_leftovers(dir: &Path) -> Result<()> {
    let mut cleaned: BTreeMap<i64, Vec<PathBuf>> = BTreeMap::new();
    let mut swaps: BTreeMap<i64, Vec<PathBuf>> = BTreeMap::new();
    let mut deleted = Vec::new();
    let rd = fs::read_dir(dir).map_err(Error::io("read directory", dir))?;
    for entry in rd {
        let entry = entry.map_err(Error::io("read directory", dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some(b) = name
            .strip_suffix(CLEANED_SUFFIX)
            .and_then(parse_segment_file)
        {
            cleaned.entry(b).or_default().push(entry.path());
        } else if let Some(b) = name.strip_suffix(SWAP_SUFFIX).and_then(parse_segment_file) {
            swaps.entry(b).or_default().push(entry.path());
        } else if name.ends_with(DELETED_SUFFIX)
            || layout::temp_targets(&name).any(|t| {
                t.strip_suffix(CLEANED_SUFFIX)
                    .and_then(parse_segment_file)
                    .is_some()
            })
        {
            deleted.push(entry.path());
        }
    }
    if cleaned.is_empty() && swaps.is_empty() && deleted.is_empty() {
        return Ok(());
    }
    for (base, files) in &swaps {
        if cleaned.contains_key(base) {
            // Interrupted before the commit point: the old segments are whole.
            for f in files {
                let _ = fp::remove_file(f, "clean.recover_remove");
            }
        } else {
            finish_swap(LogSegment::new(dir, *base), None, None)?;
        }
    }
    for f in cleaned.values().flatten().chain(&deleted) {
        match fp::remove_file(f, "clean.recover_remove") {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("delete", f)(e)),
        }
    }
    fsync_dir_at(dir, "clean.recover_dir_fsync")
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use super::*;
    use crate::format::BatchBuilder;
    use crate::storage::layout::CLEANER_OFFSET_FILE;
    use crate::storage::verify::verify_partition;
    use crate::storage::{Log, LogReader};

    const NOW: i64 = 10_000_000_000_000;
    const STEPS: [Step; 5] = [
        Step::Cleaned,
        Step::Swapped,
        Step::Installed,
        Step::OldDeleted,
        Step::Finalized,
    ];

    fn config(overrides: &[(&str, &str)]) -> LogConfig {
        let mut m = std::collections::BTreeMap::new();
        m.insert("retention.ms".to_string(), "-1".to_string());
        m.insert("cleanup.policy".to_string(), "compact".to_string());
        m.insert("delete.retention.ms".to_string(), "0".to_string());
        for (k, v) in overrides {
            m.insert(k.to_string(), v.to_string());
        }
        LogConfig::from_overrides(&m).unwrap()
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Rec {
        offset: i64,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        ts: i64,
    }

    /// One record to append: key, value (None = tombstone), timestamp.
    type In<'a> = (Option<&'a str>, Option<&'a str>, i64);

    fn encode(recs: &[In<'_>], codec: Compression) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        for (k, v, ts) in recs {
            b.append(*ts, k.map(str::as_bytes), v.map(str::as_bytes), &[]);
        }
        let plain = b.finish();
        if codec == Compression::None {
            return plain;
        }
        let mut out = Vec::new();
        compress_batch(&plain, codec, &mut out);
        out
    }

    /// Appends one batch; returns its records with their offsets.
    fn append(log: &mut Log, recs: &[In<'_>], codec: Compression) -> Vec<Rec> {
        let info = log.append(&mut encode(recs, codec)).unwrap();
        recs.iter()
            .enumerate()
            .map(|(i, (k, v, ts))| Rec {
                offset: info.base_offset + i as i64,
                key: k.map(|k| k.as_bytes().to_vec()),
                value: v.map(|v| v.as_bytes().to_vec()),
                ts: *ts,
            })
            .collect()
    }

    /// Every batch of the log, read from the start, with its records.
    fn read_batches(dir: &Path) -> Vec<(BatchHeader, Vec<Rec>)> {
        let mut r = LogReader::open(dir).unwrap();
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        while let Some(b) = r.next_batch().unwrap() {
            let batch = b.batch.as_batch().unwrap();
            let recs = batch
                .records_in(&mut scratch)
                .unwrap()
                .map(|rec| {
                    let rec = rec.unwrap();
                    Rec {
                        offset: batch.offset_of(&rec),
                        key: rec.key.map(<[u8]>::to_vec),
                        value: rec.value.map(<[u8]>::to_vec),
                        ts: batch.timestamp_of(&rec),
                    }
                })
                .collect();
            out.push((batch.header, recs));
        }
        out
    }

    fn read_all(dir: &Path) -> Vec<Rec> {
        read_batches(dir).into_iter().flat_map(|(_, r)| r).collect()
    }

    /// Every file of the directory with its bytes.
    fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        snapshot(dir)
            .into_keys()
            .filter(|n| {
                n.ends_with(CLEANED_SUFFIX) || n.ends_with(SWAP_SUFFIX) || n.ends_with(".deleted")
            })
            .collect()
    }

    fn copy_dir(from: &Path) -> tempfile::TempDir {
        let to = tempfile::tempdir().unwrap();
        for (name, bytes) in snapshot(from) {
            fs::write(to.path().join(name), bytes).unwrap();
        }
        to
    }

    fn assert_verifies(dir: &Path) {
        let v = verify_partition(dir).unwrap();
        assert!(v.problems.is_empty(), "{:#?}", v.problems);
    }

    /// What a full compaction must leave: in the closed segments (offsets below
    /// `active_base`) the latest record of each key, tombstones too unless `drop_tombstones`,
    /// and every keyless record; the active segment as it was.
    fn model(appended: &[Rec], active_base: i64, drop_tombstones: bool) -> Vec<Rec> {
        let mut latest = HashMap::new();
        for r in appended.iter().filter(|r| r.offset < active_base) {
            if let Some(k) = &r.key {
                latest.insert(k.clone(), r.offset);
            }
        }
        appended
            .iter()
            .filter(|r| {
                r.offset >= active_base
                    || match &r.key {
                        None => true,
                        Some(k) => latest[k] == r.offset && (r.value.is_some() || !drop_tombstones),
                    }
            })
            .cloned()
            .collect()
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
        }
    }

    struct Scenario {
        dir: tempfile::TempDir,
        cfg: LogConfig,
        appended: Vec<Rec>,
        /// (base offset, last offset, codec) of every appended batch.
        batches: Vec<(i64, i64, Compression)>,
    }

    impl Scenario {
        fn active_base(&self) -> i64 {
            *list_segments(self.dir.path()).unwrap().last().unwrap()
        }
        fn leo(&self) -> i64 {
            self.appended.last().map_or(0, |r| r.offset + 1)
        }
    }

    /// A random log of a few keys, values, tombstones and keyless records, in random batch
    /// sizes and codecs, with random rolls.
    fn random_log(seed: u64, segment_bytes: u32, roll_per_mille: u64) -> Scenario {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let interval = ["0", "100", "4096"][rng.below(3) as usize];
        let cfg = config(&[
            ("segment.bytes", &segment_bytes.to_string()),
            ("index.interval.bytes", interval),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
        let keys = ["a", "b", "c", "d", "e", "f"];
        let values: Vec<String> = (0..200).map(|i| format!("value-{i}")).collect();
        let mut appended = Vec::new();
        let mut batches = Vec::new();
        let mut ts = 1_000_000i64;
        let n = 20 + rng.below(100) as usize;
        let mut rolled_once = false;
        while appended.len() < n {
            let size = 1 + rng.below(6) as usize;
            let mut recs = Vec::new();
            for _ in 0..size {
                ts += rng.below(20) as i64;
                let roll = rng.below(100);
                let key = (roll >= 8).then(|| keys[rng.below(keys.len() as u64) as usize]);
                let is_value = !(8..28).contains(&roll);
                let value =
                    is_value.then(|| values[rng.below(values.len() as u64) as usize].as_str());
                recs.push((key, value, ts));
            }
            let codec = match rng.below(10) {
                0 => Compression::Gzip,
                1 => Compression::Snappy,
                2 => Compression::Lz4,
                3 => Compression::Zstd,
                _ => Compression::None,
            };
            let got = append(&mut log, &recs, codec);
            batches.push((got[0].offset, got[got.len() - 1].offset, codec));
            appended.extend(got);
            let halfway = appended.len() >= n / 2 && !rolled_once;
            if rng.below(1000) < roll_per_mille || halfway {
                log.roll().unwrap();
                rolled_once = true;
            }
        }
        drop(log);
        Scenario {
            dir,
            cfg,
            appended,
            batches,
        }
    }

    fn force(dir: &Path, cfg: &LogConfig, now: i64) -> CleanReport {
        clean_partition(dir, cfg, now, true, false).unwrap()
    }

    /// Batches keep their base and last offsets and their codec; only the last batch of a
    /// cleaned segment may be an empty header.
    fn check_batches(s: &Scenario) {
        let originals: HashMap<i64, (i64, Compression)> =
            s.batches.iter().map(|&(b, l, c)| (b, (l, c))).collect();
        for (h, recs) in read_batches(s.dir.path()) {
            let (last, codec) = originals[&h.base_offset];
            assert_eq!(h.last_offset(), last, "batch {}", h.base_offset);
            if h.records_count > 0 {
                assert_eq!(h.compression(), Some(codec), "batch {}", h.base_offset);
            } else {
                assert!(recs.is_empty());
                let next_segment = list_segments(s.dir.path())
                    .unwrap()
                    .into_iter()
                    .find(|&b| b > h.base_offset);
                assert_eq!(next_segment, Some(h.next_offset()), "empty batch not last");
            }
        }
    }

    #[test]
    fn compaction_matches_the_latest_value_per_key_model() {
        for seed in 0..50u64 {
            let segment_bytes = [400, 1500, 1 << 20][seed as usize % 3];
            let s = random_log(seed, segment_bytes, 250);
            let dir = s.dir.path();
            let active = s.active_base();
            let active_bytes = fs::read(layout::log_file(dir, active)).unwrap();

            let r1 = force(dir, &s.cfg, NOW);
            assert!(r1.cleaned, "seed {seed}");
            assert_eq!(r1.cleaned_up_to, active, "seed {seed}");
            assert_eq!(
                read_all(dir),
                model(&s.appended, active, false),
                "seed {seed}"
            );
            assert_verifies(dir);
            check_batches(&s);
            // Kept tombstones carry their horizon (now + delete.retention.ms = now).
            for (h, recs) in read_batches(dir) {
                if h.base_offset < active
                    && recs.iter().any(|r| r.key.is_some() && r.value.is_none())
                {
                    assert_eq!(h.delete_horizon_ms(), Some(NOW), "seed {seed}");
                }
            }

            let r2 = force(dir, &s.cfg, NOW);
            assert!(r2.cleaned);
            assert_eq!(r2.first_dirty_offset, active);
            assert_eq!(
                read_all(dir),
                model(&s.appended, active, true),
                "seed {seed}"
            );
            assert_verifies(dir);
            check_batches(&s);
            assert!(leftovers(dir).is_empty());
            assert_eq!(
                fs::read(layout::log_file(dir, active)).unwrap(),
                active_bytes,
                "active segment touched, seed {seed}"
            );
            assert_eq!(*list_segments(dir).unwrap().last().unwrap(), active);

            // Nothing new is dirty: without force nothing happens.
            let before = snapshot(dir);
            let r3 = clean_partition(dir, &s.cfg, NOW, false, false).unwrap();
            assert!(!r3.cleaned);
            assert_eq!(snapshot(dir), before);

            // The writer goes on at the same log end offset.
            let mut log = Log::open(dir, s.cfg.clone()).unwrap();
            assert_eq!(log.log_end_offset().unwrap(), s.leo());
            let info = log
                .append(&mut encode(
                    &[(Some("z"), Some("after"), 1)],
                    Compression::None,
                ))
                .unwrap();
            assert_eq!(info.base_offset, s.leo(), "seed {seed}");
        }
    }

    #[test]
    fn a_small_offset_map_cleans_in_several_rounds_to_the_same_result() {
        for seed in 100..115u64 {
            let s = random_log(seed, 1 << 20, 300);
            let dir = s.dir.path();
            let active = s.active_base();
            let mut opts = CleanOptions {
                now_ms: NOW,
                force: true,
                dry_run: false,
                max_map_entries: 2,
                stop_after: None,
                merge: true,
            };
            let mut rounds = 0;
            loop {
                let r = clean_with(dir, &s.cfg, &opts).unwrap();
                rounds += 1;
                assert!(r.cleaned_up_to > r.first_dirty_offset || r.cleaned_up_to == active);
                if r.cleaned_up_to == active {
                    break;
                }
                assert!(rounds < 100);
            }
            // Two more rounds: tombstones get their horizon, then go.
            opts.max_map_entries = MAX_MAP_ENTRIES;
            clean_with(dir, &s.cfg, &opts).unwrap();
            clean_with(dir, &s.cfg, &opts).unwrap();
            assert_eq!(
                read_all(dir),
                model(&s.appended, active, true),
                "seed {seed}"
            );
            assert_verifies(dir);
        }
    }

    #[test]
    fn tombstones_live_until_their_horizon_with_record_timestamps_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&[("delete.retention.ms", "1000000")]);
        let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
        let none = Compression::None;
        let mut all = append(
            &mut log,
            &[
                (Some("k1"), Some("v1"), 100),
                (Some("k2"), Some("v2"), 101),
                (Some("k1"), None, 102),
            ],
            none,
        );
        log.roll().unwrap();
        all.extend(append(&mut log, &[(Some("k3"), Some("v3"), 200)], none));
        log.roll().unwrap();
        all.extend(append(&mut log, &[(Some("k4"), Some("v4"), 300)], none));
        drop(log);
        let dir = dir.path();

        let r = force(dir, &cfg, 10_000);
        assert_eq!((r.records_removed, r.tombstones_removed), (1, 0));
        let batches = read_batches(dir);
        let (h, recs) = &batches[0];
        assert!(h.has_delete_horizon());
        assert_eq!(h.base_timestamp, 1_010_000);
        assert_eq!(h.delete_horizon_ms(), Some(1_010_000));
        assert_eq!(
            (h.base_offset, h.last_offset_delta, h.max_timestamp),
            (0, 2, 102)
        );
        assert_eq!(recs, &vec![all[1].clone(), all[2].clone()]);
        // Batches without tombstones keep their timestamps and get no horizon.
        assert!(!batches[1].0.has_delete_horizon());
        assert_eq!(batches[1].0.base_timestamp, 200);

        // Later cleanings before the horizon keep the tombstone and its horizon.
        let r = force(dir, &cfg, 20_000);
        assert_eq!(r.records_removed, 0);
        let batches = read_batches(dir);
        assert_eq!(batches[0].0.delete_horizon_ms(), Some(1_010_000));
        assert_eq!(batches[0].1, vec![all[1].clone(), all[2].clone()]);

        // At the horizon it goes; the rest of its batch stays.
        let r = force(dir, &cfg, 1_010_000);
        assert_eq!((r.records_removed, r.tombstones_removed), (1, 1));
        let got = read_all(dir);
        assert_eq!(got, vec![all[1].clone(), all[3].clone(), all[4].clone()]);
        assert_verifies(dir);
    }

    #[test]
    fn the_dirty_ratio_decides_unless_forced_and_dry_run_writes_nothing() {
        let s = random_log(7, 1 << 20, 200);
        let dir = s.dir.path();
        let cfg = config(&[("min.cleanable.dirty.ratio", "0.5")]);
        let active = s.active_base();

        // A first run would clean everything (all dirty): a dry run says so, touching nothing.
        let before = snapshot(dir);
        let dry = clean_partition(dir, &cfg, NOW, false, true).unwrap();
        assert!(dry.cleaned);
        assert_eq!(dry.dirty_ratio, 1.0);
        assert_eq!(snapshot(dir), before);
        let real = clean_partition(dir, &cfg, NOW, false, false).unwrap();
        assert_eq!(real, dry, "the dry run predicted the real one");
        assert_eq!(read_cleaner_offset(dir), Some(active));

        // A little new dirt: below the ratio, nothing happens, even in a dry run.
        let mut log = Log::open(dir, cfg.clone()).unwrap();
        append(&mut log, &[(Some("a"), Some("x"), 5)], Compression::None);
        let new_active = log.roll().unwrap();
        drop(log);
        let before = snapshot(dir);
        for dry_run in [true, false] {
            let r = clean_partition(dir, &cfg, NOW, false, dry_run).unwrap();
            assert!(!r.cleaned);
            assert!(r.dirty_ratio > 0.0 && r.dirty_ratio < 0.5, "{r:?}");
            assert_eq!((r.first_dirty_offset, r.cleaned_up_to), (active, active));
            assert_eq!(snapshot(dir), before);
        }
        let r = clean_partition(dir, &cfg, NOW, true, false).unwrap();
        assert!(r.cleaned);
        assert_eq!(r.cleaned_up_to, new_active);
        assert_eq!(read_cleaner_offset(dir), Some(new_active));

        // Not a compacted topic: refused.
        let err = clean_partition(dir, &LogConfig::default(), NOW, true, false).unwrap_err();
        assert!(err.to_string().contains("compact"), "{err}");
    }

    #[test]
    fn min_compaction_lag_leaves_recent_segments_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&[("min.compaction.lag.ms", "1000")]);
        let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
        let none = Compression::None;
        append(&mut log, &[(Some("k"), Some("1"), 100)], none);
        let second = log.roll().unwrap();
        append(&mut log, &[(Some("k"), Some("2"), 5_000)], none);
        log.roll().unwrap();
        append(&mut log, &[(Some("k"), Some("3"), 5_500)], none);
        drop(log);
        // At 5_600 only the first segment is old enough; the map covers it alone.
        let r = force(dir.path(), &cfg, 5_600);
        assert_eq!(r.cleaned_up_to, second);
        assert_eq!(read_all(dir.path()).len(), 3);
        // At 7_000 the second one too: its record supersedes the first segment's.
        let r = force(dir.path(), &cfg, 7_000);
        assert!(r.cleaned);
        let values: Vec<_> = read_all(dir.path()).into_iter().map(|r| r.value).collect();
        assert_eq!(values, vec![Some(b"2".to_vec()), Some(b"3".to_vec())]);
    }

    #[test]
    fn compressed_batches_stay_compressed_with_their_codec() {
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let cfg = config(&[]);
            let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
            let mut all = Vec::new();
            for round in 0..4i64 {
                let recs: Vec<(Option<String>, String)> = (0..5)
                    .map(|i| (Some(format!("key-{i}")), format!("value-{round}-{i}")))
                    .collect();
                let ins: Vec<In<'_>> = recs
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v))| (k.as_deref(), Some(v.as_str()), round * 10 + i as i64))
                    .collect();
                // Round 3 supersedes only some keys, so its batch is rewritten, not dropped.
                let ins = if round == 3 { &ins[..2] } else { &ins[..] };
                all.extend(append(&mut log, ins, codec));
                log.roll().unwrap();
            }
            drop(log);
            let active = list_segments(dir.path()).unwrap().last().copied().unwrap();
            force(dir.path(), &cfg, NOW);
            let batches = read_batches(dir.path());
            assert!(!batches.is_empty());
            for (h, _) in &batches {
                assert_eq!(h.compression(), Some(codec));
            }
            // Round 2's batch lost key-0 and key-1 to round 3: rewritten, still compressed.
            assert_eq!(batches[0].0.base_offset, 10);
            assert_eq!(batches[0].0.records_count, 3);
            assert_eq!(read_all(dir.path()), model(&all, active, true));
            assert_verifies(dir.path());
        }
    }

    #[test]
    fn offsets_and_batch_base_offsets_are_preserved() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&[]);
        let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
        let none = Compression::None;
        let b0 = append(
            &mut log,
            &[(Some("a"), Some("1"), 1), (Some("b"), Some("1"), 1)],
            none,
        );
        let b1 = append(
            &mut log,
            &[(Some("a"), Some("2"), 2), (Some("c"), Some("1"), 2)],
            none,
        );
        log.roll().unwrap();
        let b2 = append(
            &mut log,
            &[(Some("b"), Some("2"), 3), (Some("a"), Some("3"), 3)],
            none,
        );
        let b3 = append(
            &mut log,
            &[(Some("c"), Some("2"), 4), (Some("d"), Some("1"), 4)],
            none,
        );
        log.roll().unwrap();
        append(&mut log, &[(Some("a"), Some("4"), 5)], none);
        drop(log);
        force(dir.path(), &cfg, NOW);
        // b0 is emptied and dropped; b1 keeps nothing either (a:2 and c:1 superseded); b2
        // and b3 survive whole, in one merged segment based at 0.
        assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 8]);
        let batches = read_batches(dir.path());
        let heads: Vec<(i64, i64, i32)> = batches
            .iter()
            .map(|(h, _)| (h.base_offset, h.last_offset(), h.records_count))
            .collect();
        assert_eq!(heads, vec![(4, 5, 2), (6, 7, 2), (8, 8, 1)]);
        let offsets: Vec<i64> = read_all(dir.path()).iter().map(|r| r.offset).collect();
        assert_eq!(offsets, vec![4, 5, 6, 7, 8]);
        assert_eq!(b2[0].offset, 4);
        assert_eq!((b0.len(), b1.len(), b3.len()), (2, 2, 2));

        // Supersede b3 entirely: emptied, and not the last batch of its group, it goes.
        let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
        append(
            &mut log,
            &[(Some("c"), Some("3"), 6), (Some("d"), Some("2"), 6)],
            none,
        );
        assert_eq!(log.roll().unwrap(), 11);
        drop(log);
        force(dir.path(), &cfg, NOW);
        assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 11]);
        let heads: Vec<(i64, i64, i32, i64, i64)> = read_batches(dir.path())
            .iter()
            .map(|(h, _)| {
                (
                    h.base_offset,
                    h.last_offset(),
                    h.records_count,
                    h.base_timestamp,
                    h.max_timestamp,
                )
            })
            .collect();
        assert_eq!(
            heads,
            vec![(4, 5, 1, 3, 3), (8, 8, 1, 5, 5), (9, 10, 2, 6, 6)],
            "b3 (6..7) emptied but not last of its group: gone"
        );
        assert_verifies(dir.path());
    }

    /// Segments were grouped by their size before cleaning: with segments near
    /// `segment.bytes` whose records later segments supersede, each group was one segment, and
    /// `clean` left a run of 61-byte segments holding an empty header each (46 of them in the
    /// report). Consecutive segments whose cleaned sizes fit one segment are now merged in
    /// the same run, and the merged segment keeps a single empty header.
    #[test]
    fn regression_segments_emptied_by_cleaning_are_merged() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&[("segment.bytes", "400")]);
        let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
        let none = Compression::None;
        let value = "v".repeat(250);
        let mut all = Vec::new();
        for round in 0..12i64 {
            // One ~320-byte batch per segment: two never fit in 400 bytes.
            all.extend(append(&mut log, &[(Some("k"), Some(&value), round)], none));
            log.roll().unwrap();
        }
        all.extend(append(&mut log, &[(Some("k"), Some("last"), 99)], none));
        drop(log);
        let active = list_segments(dir.path()).unwrap().last().copied().unwrap();
        assert_eq!(list_segments(dir.path()).unwrap().len(), 13);

        let dry = clean_partition(dir.path(), &cfg, NOW, true, true).unwrap();
        let r = force(dir.path(), &cfg, NOW);
        assert_eq!((dry.segments_after, r.segments_after), (2, 2), "{r:?}");
        assert_eq!(dry.bytes_after, r.bytes_after);
        // The eleven emptied segments and the last closed one are one segment now, which
        // holds the one record left of them (no empty header: it does not end the segment).
        let segments = list_segments(dir.path()).unwrap();
        assert_eq!(segments, vec![0, active]);
        let heads: Vec<(i64, i64, i32)> = read_batches(dir.path())
            .iter()
            .map(|(h, _)| (h.base_offset, h.last_offset(), h.records_count))
            .collect();
        assert_eq!(heads, vec![(11, 11, 1), (12, 12, 1)]);
        assert_eq!(read_all(dir.path()), model(&all, active, true));
        assert!(leftovers(dir.path()).is_empty());
        assert_verifies(dir.path());
        // Nothing more to merge: a second run changes no file.
        let before = snapshot(dir.path());
        force(dir.path(), &cfg, NOW);
        let mut after = snapshot(dir.path());
        after.remove(CLEANER_OFFSET_FILE);
        let mut before = before;
        before.remove(CLEANER_OFFSET_FILE);
        assert_eq!(after, before);
    }

    #[test]
    fn an_emptied_last_batch_of_a_group_stays_as_an_empty_header() {
        let dir = tempfile::tempdir().unwrap();
        // Time indexes of one entry (12 bytes): no two segments merge, each is its own group.
        let cfg = config(&[("segment.bytes", "100"), ("segment.index.bytes", "12")]);
        let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
        let none = Compression::None;
        append(&mut log, &[(Some("a"), Some("1"), 7)], none);
        log.roll().unwrap();
        append(&mut log, &[(Some("a"), Some("2"), 8)], none);
        log.roll().unwrap();
        append(&mut log, &[(Some("a"), Some("3"), 9)], none);
        drop(log);
        force(dir.path(), &cfg, NOW);
        assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 1, 2]);
        let heads: Vec<(i64, i32, i64, i64)> = read_batches(dir.path())
            .iter()
            .map(|(h, _)| {
                (
                    h.base_offset,
                    h.records_count,
                    h.base_timestamp,
                    h.max_timestamp,
                )
            })
            .collect();
        // Segment 1's record is the latest of the cleanable range (the active segment is not
        // mapped): it stays.
        assert_eq!(heads, vec![(0, 0, -1, 7), (1, 1, 8, 8), (2, 1, 9, 9)]);
        // Cleaning again changes nothing: empty headers are kept byte for byte.
        let before = snapshot(dir.path());
        force(dir.path(), &cfg, NOW);
        let mut after = snapshot(dir.path());
        after.remove(CLEANER_OFFSET_FILE);
        let mut before = before;
        before.remove(CLEANER_OFFSET_FILE);
        assert_eq!(after, before);
        assert_verifies(dir.path());
    }

    /// The pre- and post-cleaning content of each output segment's offset range of the first
    /// pass, and whether that output segment is swapped in (merged or changed) rather than
    /// left alone; and how many groups the merge pass swaps in after it (which changes no
    /// record).
    struct Ranges {
        /// (start, end, swapped) of each output segment of the first pass, ascending.
        ranges: Vec<(i64, i64, bool)>,
        pre: Vec<Rec>,
        post: Vec<Rec>,
        merges: usize,
    }

    fn ranges(pristine: &Path, cfg: &LogConfig) -> Ranges {
        let pre = read_all(pristine);
        let pre_segments = list_segments(pristine).unwrap();
        let done = copy_dir(pristine);
        let first_pass = CleanOptions {
            now_ms: NOW,
            force: true,
            dry_run: false,
            max_map_entries: MAX_MAP_ENTRIES,
            stop_after: None,
            merge: false,
        };
        clean_with(done.path(), cfg, &first_pass).unwrap();
        let post = read_all(done.path());
        let post_segments = list_segments(done.path()).unwrap();
        // Both passes: each final segment covering several first-pass ones is one group the
        // merge pass swapped in, and the records are the same.
        let merged = copy_dir(pristine);
        force(merged.path(), cfg, NOW);
        assert_eq!(
            read_all(merged.path()),
            post,
            "the merge pass changes no record"
        );
        let final_segments = list_segments(merged.path()).unwrap();
        let merges = final_segments
            .windows(2)
            .filter(|w| {
                post_segments
                    .iter()
                    .filter(|&&b| b >= w[0] && b < w[1])
                    .count()
                    > 1
            })
            .count();
        let ranges = post_segments
            .windows(2)
            .map(|w| {
                let merged = pre_segments
                    .iter()
                    .filter(|&&b| b >= w[0] && b < w[1])
                    .count()
                    > 1;
                let changed = fs::read(layout::log_file(pristine, w[0])).unwrap()
                    != fs::read(layout::log_file(done.path(), w[0])).unwrap();
                (w[0], w[1], merged || changed)
            })
            .collect();
        Ranges {
            ranges,
            pre,
            post,
            merges,
        }
    }

    #[test]
    fn a_crash_at_any_step_of_any_swap_recovers_to_old_or_new_segments() {
        let (mut cases, mut logs, mut merge_cases) = (0, 0, 0);
        for seed in 0..40u64 {
            // Small manual rolls and segment.bytes 600: several groups, most merging.
            let mut s = random_log(seed, 600, 350);
            // Tombstones keep a horizon in the future, so that cleaning again after the crash
            // gives what one uninterrupted cleaning gives.
            s.cfg.delete_retention_ms = 1_000_000;
            let pristine = s.dir.path();
            let active = s.active_base();
            let r = ranges(pristine, &s.cfg);
            let swapped = r.ranges.iter().filter(|x| x.2).count();
            if swapped < 2 || r.ranges.len() == list_segments(pristine).unwrap().len() - 1 {
                continue; // want several swapped groups, some merging
            }
            logs += 1;
            if logs > 4 {
                break;
            }
            let must_see: BTreeSet<i64> = r.post.iter().map(|x| x.offset).collect();
            // Groups of the first pass, then the first two of the merge pass (after which
            // every range of the first pass is cleaned, whatever the step).
            for g in 0..swapped + r.merges.min(2) {
                for step in STEPS {
                    cases += 1;
                    merge_cases += usize::from(g >= swapped);
                    let what = format!("seed {seed}, group {g}, after {step:?}");
                    let crashed = copy_dir(pristine);
                    let dir = crashed.path();
                    let opts = CleanOptions {
                        now_ms: NOW,
                        force: true,
                        dry_run: false,
                        max_map_entries: MAX_MAP_ENTRIES,
                        stop_after: Some((g, step)),
                        merge: true,
                    };
                    clean_with(dir, &s.cfg, &opts).unwrap();
                    assert_eq!(read_cleaner_offset(dir), None, "{what}");

                    // Before recovery a reader may see records twice, never lose one.
                    let seen: BTreeSet<i64> = read_all(dir).iter().map(|x| x.offset).collect();
                    assert!(seen.is_superset(&must_see), "{what}");

                    recover_cleaner_leftovers(dir).unwrap();
                    assert!(leftovers(dir).is_empty(), "{what}: {:?}", leftovers(dir));
                    assert_verifies(dir);
                    let mut expected = Vec::new();
                    let mut ordinal = 0;
                    for &(start, end, is_swapped) in &r.ranges {
                        let cleaned =
                            is_swapped && (ordinal < g || (ordinal == g && step >= Step::Swapped));
                        ordinal += usize::from(is_swapped);
                        let from = if cleaned { &r.post } else { &r.pre };
                        expected.extend(
                            from.iter()
                                .filter(|x| x.offset >= start && x.offset < end)
                                .cloned(),
                        );
                    }
                    expected.extend(r.pre.iter().filter(|x| x.offset >= active).cloned());
                    assert_eq!(read_all(dir), expected, "{what}");

                    // The writer opens and appends at the right offset.
                    let mut log = Log::open(dir, s.cfg.clone()).unwrap();
                    let info = log
                        .append(&mut encode(&[(None, Some("after"), 1)], Compression::None))
                        .unwrap();
                    assert_eq!(info.base_offset, s.leo(), "{what}");
                    drop(log);

                    // Cleaning again finishes the job.
                    force(dir, &s.cfg, NOW);
                    let mut again = read_all(dir);
                    assert_eq!(again.pop().map(|x| x.offset), Some(s.leo()));
                    assert_eq!(again, r.post, "{what}");
                    assert_verifies(dir);
                }
            }
        }
        assert!(logs >= 3 && cases >= 40, "{logs} logs, {cases} cases");
        assert!(merge_cases >= 5, "{merge_cases} cases in the merge pass");
    }

    #[test]
    fn recovery_is_idempotent_and_ignores_a_clean_directory() {
        let s = random_log(5, 1000, 350);
        let dir = s.dir.path();
        let before = snapshot(dir);
        recover_cleaner_leftovers(dir).unwrap();
        assert_eq!(snapshot(dir), before);
        let opts = CleanOptions {
            now_ms: NOW,
            force: true,
            dry_run: false,
            max_map_entries: MAX_MAP_ENTRIES,
            stop_after: Some((0, Step::Installed)),
            merge: true,
        };
        clean_with(dir, &s.cfg, &opts).unwrap();
        recover_cleaner_leftovers(dir).unwrap();
        let once = snapshot(dir);
        recover_cleaner_leftovers(dir).unwrap();
        assert_eq!(snapshot(dir), once);
        assert_verifies(dir);
    }

    #[test]
    fn a_reader_inside_an_old_segment_reads_on_across_a_clean() {
        // Segments as big as segment.bytes allows: no merging, so each one is swapped alone.
        let s = random_log(9, 400, 0);
        let dir = s.dir.path();
        let segments = list_segments(dir).unwrap();
        assert!(segments.len() >= 4);
        let mut reader = LogReader::open(dir).unwrap();
        let first = reader.next_batch().unwrap().unwrap();
        let mut seen = vec![first.batch.next_offset() - 1];
        force(dir, &s.cfg, NOW);
        let mut scratch = Vec::new();
        while let Some(b) = reader.next_batch().unwrap() {
            let batch = b.batch.as_batch().unwrap();
            for rec in batch.records_in(&mut scratch).unwrap() {
                seen.push(batch.offset_of(&rec.unwrap()));
            }
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        let after: Vec<i64> = read_all(dir)
            .iter()
            .map(|r| r.offset)
            .filter(|&o| o > seen[0])
            .collect();
        let seen: BTreeSet<i64> = seen.into_iter().collect();
        assert!(after.iter().all(|o| seen.contains(o)));
    }
}
