//! [`LogSegment`]: one segment of a partition, named by its directory and base offset, and
//! what is done to it as a whole: its files' paths, reading its `.log`, validating its
//! batches, summarizing it, Kafka's sanity check of its indexes and their rebuild, creating
//! and deleting it.
//!
//! # Invariants
//! 1. A segment's base offset is ≤ every offset in it and > every offset in earlier segments;
//!    its three files (`.log`, `.index`, `.timeindex`) are named by it ([`layout`]).
//! 2. Its indexes are hints: [`LogSegment::lookup_offset`] checks the batch an entry points at
//!    before trusting it, and the indexes of a closed segment that fail Kafka's sanity check
//!    ([`LogSegment::indexes_look_sane`]) are rebuilt from the `.log`.
//! 3. From klog's recovery point on, in the last segment, the batches continue each other
//!    (`continues_after_recovery_point`): they are klog's own appends since its last fsync.
//!
//! # Crash safety
//! - [`LogSegment::create`]: the three files, then a directory fsync. A crash before it leaves
//!   some of them, empty: a `.log` alone is a valid empty segment whose indexes are created
//!   when it is loaded; index files without a `.log` are removed with deletion leftovers.
//! - [`LogSegment::delete`]: the `.log` is renamed to `.log.deleted` first, which takes the
//!   segment out of every listing at once; its indexes and the renamed file are removed
//!   after. A crash leaves at most `*.deleted` files and index files without a `.log`, which
//!   the next writer removes (`retention::remove_leftovers`). The caller fsyncs the directory.
//! - [`LogSegment::rebuild_indexes`]: new files are written aside and renamed into place
//!   ([`Durability::Durable`]), so readers holding the old ones are not disturbed.
//!
//! # Kafka
//! `LogSegment` (`sanityCheck`, `recover`'s index rebuild, `deleteIfExists`, `largestTimestamp`)
//! and `LogFileUtils`. Kafka's `LogSegment` holds its open files; klog's is a name, and each
//! operation opens what it needs, since readers, writers and tools in other processes share
//! the files.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::failpoint as fp;
use super::file_records::{ChunkReader, Scan, scan_batches, walk_headers};
use super::fs::{self, Durability};
use super::index::{
    self, FileSource, IndexBuilder, IndexSource, OFFSET_ENTRY_SIZE, TIME_ENTRY_SIZE,
    offset_entries, time_entries,
};
use super::layout::{self, DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::error::{Error, Result};
use crate::format::BatchHeader;

/// One segment: the partition directory it is in and its base offset. A handle, cheap to make:
/// it holds no file open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSegment<'a> {
    dir: &'a Path,
    base_offset: i64,
}

/// What one segment holds, from its batch headers and index sizes (no record decoding).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SegmentSummary {
    pub base_offset: i64,
    /// Last offset of the last whole batch, if any.
    pub last_offset: Option<i64>,
    pub batches: u64,
    pub records: u64,
    pub size_bytes: u64,
    pub first_timestamp: Option<i64>,
    pub last_timestamp: Option<i64>,
    pub index_entries: usize,
    pub time_index_entries: usize,
}

impl<'a> LogSegment<'a> {
    pub fn new(dir: &'a Path, base_offset: i64) -> LogSegment<'a> {
        LogSegment { dir, base_offset }
    }

    /// The partition directory.
    pub fn dir(&self) -> &'a Path {
        self.dir
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// `<dir>/<base><suffix>`: one of its files.
    pub fn file(&self, suffix: &str) -> PathBuf {
        layout::segment_file(self.dir, self.base_offset, suffix)
    }

    pub fn log_path(&self) -> PathBuf {
        self.file(LOG_SUFFIX)
    }

    pub fn index_path(&self) -> PathBuf {
        self.file(INDEX_SUFFIX)
    }

    pub fn time_index_path(&self) -> PathBuf {
        self.file(TIME_INDEX_SUFFIX)
    }

    /// Its three files, `.log` first.
    pub fn files(&self) -> [PathBuf; 3] {
        layout::SEGMENT_SUFFIXES.map(|s| self.file(s))
    }

    /// The `.log`'s length now.
    pub fn log_len(&self) -> Result<u64> {
        let path = self.log_path();
        Ok(std::fs::metadata(&path)
            .map_err(Error::io("stat", &path))?
            .len())
    }

    /// Opens the `.log` for reading in chunks (a non-regular file is refused).
    pub fn open_reader(&self) -> Result<ChunkReader> {
        ChunkReader::open(&self.log_path())
    }

    /// Validates the batches of the `.log` read by `r` from position `from` on (see
    /// [`scan_batches`]), the first one at or above the base offset.
    pub(crate) fn scan(
        &self,
        r: &mut ChunkReader,
        from: u64,
        on_batch: impl FnMut(u64, &BatchHeader),
    ) -> Result<Scan> {
        scan_batches(r, from, self.base_offset, on_batch)
    }

    /// Summarizes the segment by walking its entry headers (see `walk_headers`): every
    /// record in the file, and its smallest and largest timestamps.
    pub fn summarize(&self) -> Result<SegmentSummary> {
        let path = self.log_path();
        let len = self.log_len()?;
        let w = walk_headers(&path, i64::MIN)?;
        if let Some(e) = w.damage {
            return Err(e);
        }
        let mut s = SegmentSummary {
            base_offset: self.base_offset,
            last_offset: w.last_offset,
            batches: w.batches,
            records: w.records,
            size_bytes: len,
            first_timestamp: w.first_timestamp,
            last_timestamp: w.last_timestamp,
            ..SegmentSummary::default()
        };
        if let Ok(src) = FileSource::open(&self.index_path()) {
            s.index_entries = index::valid_entries(&src, OFFSET_ENTRY_SIZE);
        }
        if let Ok(src) = FileSource::open(&self.time_index_path()) {
            s.time_index_entries = index::valid_entries(&src, TIME_ENTRY_SIZE);
        }
        Ok(s)
    }

    /// Kafka's index sanity check for a closed segment whose `.log` is `log_len` bytes: both
    /// indexes there, whole entries, and a last entry that lies inside the segment.
    pub fn indexes_look_sane(&self, log_len: u64) -> bool {
        let base = self.base_offset;
        let (Ok(idx), Ok(tidx)) = (
            FileSource::open(&self.index_path()),
            FileSource::open(&self.time_index_path()),
        ) else {
            return false;
        };
        let whole = |f: &FileSource, size: usize| f.byte_len().is_multiple_of(size);
        if !whole(&idx, OFFSET_ENTRY_SIZE) || !whole(&tidx, TIME_ENTRY_SIZE) {
            return false;
        }
        let offsets = offset_entries(&idx, base);
        let times = time_entries(&tidx, base);
        let offsets_ok = offsets
            .last()
            .is_none_or(|e| e.offset > base && (e.position as u64) < log_len);
        let times_ok = match (times.first(), times.last()) {
            (Some(f), Some(l)) => l.timestamp >= f.timestamp && l.offset >= base,
            _ => true,
        };
        offsets_ok && times_ok
    }

    /// Rebuilds both indexes from the `.log` (an entry every `interval` bytes), written aside
    /// and renamed into place. Returns the paths of the new `.index` and `.timeindex`.
    pub fn rebuild_indexes(&self, interval: u32) -> Result<[PathBuf; 2]> {
        let mut reader = self.open_reader()?;
        let mut builder = IndexBuilder::new(self.base_offset, interval as u64);
        self.scan(&mut reader, 0, |pos, h| {
            builder.on_batch(pos, h.last_offset(), h.max_timestamp);
        })?;
        let (idx, tidx) = builder.finish();
        let paths = [self.index_path(), self.time_index_path()];
        for (path, bytes) in paths.iter().zip([idx, tidx]) {
            fs::replace_file(path, &bytes, Durability::Durable, &fs::ATOMIC)?;
        }
        Ok(paths)
    }

    /// Rebuilds a closed segment's indexes when they are missing or fail the sanity check
    /// ([`LogSegment::indexes_look_sane`]). Returns whether it did.
    pub fn rebuild_indexes_if_damaged(&self, interval: u32) -> Result<bool> {
        if self.indexes_look_sane(self.log_len()?) {
            return Ok(false);
        }
        self.rebuild_indexes(interval)?;
        Ok(true)
    }

    /// The (offset, position) of the largest offset-index entry at or below `target`, if the
    /// batch at its position really ends at its offset. `active`: the segment is the last one,
    /// whose index a roll may trim at any moment, so it is read with positioned reads rather
    /// than mapped (a mapping past the end of a file faults).
    pub fn lookup_offset(&self, target: i64, active: bool) -> Option<(i64, u64)> {
        let base = self.base_offset;
        let path = self.index_path();
        let found = if active {
            let src = FileSource::open(&path).ok()?;
            let n = index::valid_entries(&src, OFFSET_ENTRY_SIZE);
            index::lookup_offset(&src, n, base, target)
        } else {
            let f = fs::open_regular(&path).ok()?;
            // SAFETY: closed segments' indexes are never modified in place: they are only
            // replaced by rename or deleted, which leaves this mapping valid.
            #[allow(unsafe_code)]
            let m = unsafe { Mmap::map(&f) }.ok()?;
            let n = index::valid_entries(&m, OFFSET_ENTRY_SIZE);
            index::lookup_offset(&m, n, base, target)
        }?;
        // Trust the entry only if the batch at its position really ends at its offset.
        let log = fs::open_regular(&self.log_path()).ok()?;
        let r = ChunkReader::new(log, Path::new(""));
        let h = r.header_at(found.position as u64)?;
        (h.last_offset() == found.offset).then_some((found.offset, found.position as u64))
    }

    /// The largest timestamp of a closed segment (its last time index entry), or the `.log`'s
    /// modification time when it has none, as Kafka measures a segment's age.
    pub fn largest_timestamp(&self) -> Option<i64> {
        if let Ok(src) = FileSource::open(&self.time_index_path()) {
            let n = index::valid_entries(&src, TIME_ENTRY_SIZE);
            if let Some(e) = index::time_entries_last(&src, n, self.base_offset) {
                return Some(e.timestamp);
            }
        }
        let m = std::fs::metadata(self.log_path()).ok()?;
        let t = m.modified().ok()?;
        t.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as i64)
    }

    /// Creates the segment's three files, empty (leaving existing ones as they are), and
    /// fsyncs the directory.
    pub fn create(&self) -> Result<()> {
        for path in self.files() {
            fp::open(
                OpenOptions::new().write(true).create(true).truncate(false),
                &path,
                "segment.create",
            )
            .map_err(Error::io("create", &path))?;
        }
        fs::fsync_dir_at(self.dir, "segment.dir_fsync")
    }

    /// Deletes the segment's files (crash-safe order: the `.log` leaves listings first; see the
    /// module doc). The caller fsyncs the directory.
    pub fn delete(&self) -> Result<()> {
        let log = self.log_path();
        let doomed = layout::with_suffix(&log, DELETED_SUFFIX);
        fp::rename(&log, &doomed, "retention.rename_deleted").map_err(Error::io("rename", &log))?;
        for p in [self.index_path(), self.time_index_path()] {
            match fp::remove_file(&p, "retention.remove_index") {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("delete", &p)(e)),
            }
        }
        fp::remove_file(&doomed, "retention.remove_deleted").map_err(Error::io("delete", &doomed))
    }
}

/// Summarizes segment `base` of partition `dir` ([`LogSegment::summarize`]).
pub fn summarize_segment(dir: &Path, base: i64) -> Result<SegmentSummary> {
    LogSegment::new(dir, base).summarize()
}

/// The recovery point's rule for a v2 batch starting at `base_offset` whose last offset is at
/// or past klog's recovery point `rp`: batches from the point on are klog's own appends since
/// its last fsync, so they continue each other. `prev_next` is the offset after the batch
/// before (the segment's base at its start; `None` when not known). The first batch reaching
/// the point starts at it, or continues the batch before (then the point is off a batch
/// boundary: stale or damaged, not this batch); the ones after it continue exactly.
pub(crate) fn continues_after_recovery_point(
    rp: i64,
    prev_next: Option<i64>,
    base_offset: i64,
) -> bool {
    match prev_next {
        Some(p) if p > rp => base_offset == p,
        Some(p) => base_offset == rp || base_offset == p,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::BatchBuilder;
    use crate::storage::{Log, LogConfig};

    /// A log of `n` one-record batches of 100-byte values, rolled once: segments 0 and `n / 2`.
    fn two_segments(dir: &Path, n: i64) -> LogConfig {
        let mut m = std::collections::BTreeMap::new();
        m.insert("index.interval.bytes".to_string(), "300".to_string());
        m.insert("retention.ms".to_string(), "-1".to_string());
        let config = LogConfig::from_overrides(&m).unwrap();
        let mut log = Log::open(dir, config.clone()).unwrap();
        for o in 0..n {
            if o == n / 2 {
                log.roll().unwrap();
            }
            let mut b = BatchBuilder::new();
            b.append(1_000 + o, None, Some(&[b'v'; 100]), &[]);
            log.append(&mut b.finish()).unwrap();
        }
        config
    }

    #[test]
    fn a_segment_names_its_files_and_summarizes_itself() {
        let dir = tempfile::tempdir().unwrap();
        two_segments(dir.path(), 20);
        let seg = LogSegment::new(dir.path(), 0);
        assert_eq!(seg.log_path(), layout::log_file(dir.path(), 0));
        assert_eq!(
            seg.files().map(|p| p.file_name().unwrap().to_owned()),
            [
                "00000000000000000000.log",
                "00000000000000000000.index",
                "00000000000000000000.timeindex"
            ]
            .map(std::ffi::OsString::from)
        );
        let s = seg.summarize().unwrap();
        assert_eq!((s.batches, s.records, s.last_offset), (10, 10, Some(9)));
        assert_eq!(
            (s.first_timestamp, s.last_timestamp),
            (Some(1_000), Some(1_009))
        );
        assert_eq!(s.size_bytes, seg.log_len().unwrap());
        assert!(s.index_entries > 0);
        assert_eq!(seg.largest_timestamp(), Some(1_009));
    }

    /// Damaged indexes fail the sanity check and are rebuilt to what the writer wrote; an
    /// index entry is used only when the batch at its position ends at its offset.
    #[test]
    fn damaged_indexes_are_rebuilt_and_entries_checked() {
        let dir = tempfile::tempdir().unwrap();
        let config = two_segments(dir.path(), 20);
        let seg = LogSegment::new(dir.path(), 0);
        let (idx, tidx) = (
            std::fs::read(seg.index_path()).unwrap(),
            std::fs::read(seg.time_index_path()).unwrap(),
        );
        let len = seg.log_len().unwrap();
        assert!(seg.indexes_look_sane(len));
        assert!(
            !seg.rebuild_indexes_if_damaged(config.index_interval_bytes)
                .unwrap()
        );
        let found = seg.lookup_offset(9, false).unwrap();
        assert_eq!(found, seg.lookup_offset(9, true).unwrap());
        // A torn last entry, then a missing time index.
        std::fs::write(seg.index_path(), &idx[..idx.len() - 3]).unwrap();
        assert!(!seg.indexes_look_sane(len));
        std::fs::write(seg.index_path(), &idx).unwrap();
        std::fs::remove_file(seg.time_index_path()).unwrap();
        assert!(!seg.indexes_look_sane(len));
        assert!(
            seg.rebuild_indexes_if_damaged(config.index_interval_bytes)
                .unwrap()
        );
        assert_eq!(std::fs::read(seg.index_path()).unwrap(), idx);
        assert_eq!(std::fs::read(seg.time_index_path()).unwrap(), tidx);
        // An entry pointing at a batch that ends elsewhere is not trusted.
        let mut moved = idx.clone();
        let last = moved.len() - 1;
        moved[last] ^= 0x01;
        std::fs::write(seg.index_path(), &moved).unwrap();
        assert_eq!(seg.lookup_offset(9, false), None);
    }

    #[test]
    fn create_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let seg = LogSegment::new(dir.path(), 42);
        seg.create().unwrap();
        assert_eq!(layout::list_segments(dir.path()).unwrap(), [42]);
        assert!(seg.files().iter().all(|p| p.exists()));
        seg.delete().unwrap();
        assert_eq!(
            layout::list_segments(dir.path()).unwrap(),
            Vec::<i64>::new()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_recovery_points_rule() {
        // The first batch reaching the point starts at it, or continues the batch before.
        assert!(continues_after_recovery_point(10, Some(8), 10));
        assert!(continues_after_recovery_point(10, Some(8), 8));
        assert!(!continues_after_recovery_point(10, Some(8), 9));
        // After it, batches continue exactly.
        assert!(continues_after_recovery_point(10, Some(12), 12));
        assert!(!continues_after_recovery_point(10, Some(12), 13));
        assert!(continues_after_recovery_point(10, None, 99));
    }
}
