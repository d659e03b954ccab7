//! Reading a partition: [`LogReader`], which finds the first batch for an offset or a timestamp
//! through the indexes and then streams batches across segments (each read through
//! [`ChunkReader`]); the partition's offsets and sizes ([`PartitionStats`]) and checkpoint
//! entries ([`partition_checkpoints`]).
//!
//! # Invariants
//! 1. A reader takes no lock and only returns whole batches whose framing and CRC it checked,
//!    at offsets that keep the log's invariants (see [`LogReader::next_batch`]); only to
//!    confirm that an offset anomaly is damage does it wait for the partition lock, shared.
//! 2. A batch running past the end of the active segment is a write in progress (or a torn
//!    tail awaiting recovery): it is the current end of the log, not an error. The same in a
//!    closed segment, or a bad CRC anywhere, is corruption, reported with file and position.
//! 3. Index entries are hints: the reader checks that the batch at an entry's position holds
//!    the entry's offset before using it, and falls back to the segment start otherwise.
//! 4. A reader never moves to a segment whose base offset is not the next offset it expects
//!    without a listing of the directory known to miss no segment before it (two listings
//!    that both show the next segment): a segment a roll has just created is never skipped.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::checkpoint;
use super::file_records::{At, HeaderWalk, Scan, walk_headers};
pub use super::file_records::{ChunkReader, RawAt};
use super::fs::open_regular;
use super::index::{self, FileSource, TIME_ENTRY_SIZE};
pub use super::layout::list_segments;
use super::layout::{CLEANED_SUFFIX, SWAP_SUFFIX};
use super::segment::{LogSegment, continues_after_recovery_point};
use crate::error::{Error, Result};
use crate::format::legacy::LegacyMessage;
use crate::format::{BatchHeader, DECOMPRESS_LIMIT, DecodeError, RecordBatch};

const REACHES_NEXT_SEGMENT: &str = "batch reaching the next segment's base offset";

/// Whether an interrupted compaction swap left its files (`.cleaned`, `.swap`) in `dir`: until
/// the next writer finishes or undoes it, a merged segment may overlap the ones it replaces,
/// which readers then read past (their position only goes up: nothing is handed out twice).
fn swap_left_over(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(SWAP_SUFFIX) || name.ends_with(CLEANED_SUFFIX)
        })
    })
}

/// What a partition holds, from file sizes, the batch headers of every segment (no record is
/// decoded but in the rare batches noted at `walk_headers`) and the validated tail of the
/// last segment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PartitionStats {
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    /// Records from the log start offset on: what a reader gets, control records included.
    /// Below `log_end_offset - log_start_offset` where compaction removed records.
    pub records: u64,
    pub size_bytes: u64,
    pub segments: usize,
    /// The smallest record timestamp (a batch counts with its first record's), if any.
    pub first_timestamp: Option<i64>,
    /// The largest record timestamp, if any record has one.
    pub last_timestamp: Option<i64>,
}

/// Scans the last segment from `start` (the position of an index entry's batch) to its end,
/// falling back to the segment start when the batch at `start` is not whole: then the offset
/// before it is unknown, and the index entry itself is stale.
fn scan_tail(
    seg: LogSegment<'_>,
    r: &mut ChunkReader,
    start: Option<(i64, u64)>,
    mut on_batch: impl FnMut(u64, &BatchHeader),
) -> Result<Scan> {
    if let Some((_, pos)) = start.filter(|&(_, p)| p > 0) {
        let scan = seg.scan(r, pos, &mut on_batch)?;
        if scan.valid_end > pos {
            return Ok(scan);
        }
    }
    seg.scan(r, 0, on_batch)
}

/// What Kafka's checkpoint files say of one partition, as klog's files and segments show it:
/// the entries a broker would find for it in its data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionCheckpoints {
    /// klog's recovery point (0 without one), never above the log end offset
    /// (`recovery-point-offset-checkpoint`).
    pub recovery_point: i64,
    /// The log end offset: one local replica's high watermark (`replication-offset-checkpoint`).
    pub high_watermark: i64,
    /// The log start offset, when it is above the first segment's base offset (the only ones
    /// `log-start-offset-checkpoint` lists).
    pub log_start_offset: Option<i64>,
    /// The first dirty offset, where compaction ran (`cleaner-offset-checkpoint`).
    pub cleaner_offset: Option<i64>,
}

/// The checkpoint entries of the partition in directory `dir` (which must exist).
pub fn partition_checkpoints(dir: &Path) -> Result<PartitionCheckpoints> {
    let mut r = LogReader::open(dir)?;
    let leo = r.log_end_offset()?;
    let lso = r.log_start_offset();
    Ok(PartitionCheckpoints {
        recovery_point: checkpoint::read_recovery_point(dir).unwrap_or(0).min(leo),
        high_watermark: leo,
        log_start_offset: r
            .segments()
            .first()
            .is_some_and(|&b| lso > b)
            .then_some(lso),
        cleaner_offset: checkpoint::read_cleaner_offset(dir),
    })
}

/// A log entry: a v2 record batch, or a legacy (magic 0/1) message.
pub enum Entry<'a> {
    Batch(RecordBatch<'a>),
    Legacy(LegacyMessage<'a>),
}

impl<'a> Entry<'a> {
    /// The v2 batch, if this entry is one.
    pub fn as_batch(&self) -> Option<&RecordBatch<'a>> {
        match self {
            Entry::Batch(b) => Some(b),
            Entry::Legacy(_) => None,
        }
    }

    /// Offset after this entry's last record.
    pub fn next_offset(&self) -> i64 {
        match self {
            Entry::Batch(b) => b.header.next_offset(),
            Entry::Legacy(m) => m.offset.saturating_add(1),
        }
    }
}

/// A log entry handed out by [`LogReader`], with where it was found.
pub struct BatchRef<'a> {
    pub batch: Entry<'a>,
    pub segment_base: i64,
    pub position: u64,
}

struct Current {
    base: i64,
    reader: ChunkReader,
    pos: u64,
    /// File size when last looked at; re-read when the reader reaches it.
    file_len: u64,
    /// Base offset of the segment after this one when it was opened (its batches end below).
    next_base: Option<i64>,
}

/// Streams batches of one partition from an offset or a timestamp, across segments.
pub struct LogReader {
    dir: PathBuf,
    segments: Vec<i64>,
    /// The listing before `segments` (see [`LogReader::listed_twice`]).
    prev_segments: Vec<i64>,
    cur: Option<Current>,
    /// Batches whose last offset is below this are skipped.
    skip_below: i64,
    /// Next offset after the last v2 batch handed out from the current segment: the next
    /// one must start at or after it.
    prev_next: Option<i64>,
    /// klog's recovery point, read when the last segment is opened: from it on, batches are
    /// contiguous (see [`LogReader::offset_anomaly`]).
    recovery_point: Option<i64>,
    /// Re-reading under the partition lock to confirm an anomaly: a second one is damage.
    confirming: bool,
    /// What [`LogReader::log_end_offset_memo`] last computed, and from what: the last
    /// segment's base offset, device, inode, length and modification time.
    leo_memo: Option<(LastSegment, i64)>,
}

/// The identity and state of a partition's last segment file: while none of it changes,
/// nothing was appended, cut or rolled, and the log end offset is what it was.
#[derive(Clone, Copy, PartialEq, Eq)]
struct LastSegment {
    base: i64,
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
}

impl LogReader {
    /// Opens a reader positioned at the log start.
    pub fn open(dir: &Path) -> Result<LogReader> {
        let segments = list_segments(dir)?;
        Ok(LogReader {
            dir: dir.to_path_buf(),
            segments,
            prev_segments: Vec::new(),
            cur: None,
            skip_below: i64::MIN,
            prev_next: None,
            recovery_point: None,
            confirming: false,
            leo_memo: None,
        })
    }

    pub fn segments(&self) -> &[i64] {
        &self.segments
    }

    /// The file the last batch handed out was read from, and its path: the batches handed
    /// out are its bytes at their positions, which never change (a segment replaced or
    /// deleted meanwhile stays readable through this handle).
    pub fn current_file(&self) -> Option<(&std::sync::Arc<File>, &Path)> {
        self.cur
            .as_ref()
            .map(|c| (&c.reader.file, c.reader.path.as_path()))
    }

    /// First offset of the log (the first segment's base offset).
    pub fn log_start_offset(&self) -> i64 {
        checkpoint::log_start_offset(&self.dir, &self.segments)
    }

    /// The log end offset: the offset the next appended record will get.
    pub fn log_end_offset(&mut self) -> Result<i64> {
        self.refresh_segments()?;
        let Some(&base) = self.segments.last() else {
            return Ok(0);
        };
        let seg = LogSegment::new(&self.dir, base);
        let mut r = seg.open_reader()?;
        let start = self.active_index_lookup(base, i64::MAX);
        let rp = checkpoint::recovery_point(&self.dir);
        scan_tail(seg, &mut r, start, |_, _| {})?.end_offset(&mut r, base, rp)
    }

    /// [`LogReader::log_end_offset`], remembered while the last segment file keeps its base
    /// offset, inode, length and modification time (a directory listing and a `stat`, where
    /// finding the end reads the segment's index and tail). The offset may lag an append
    /// made within the file's timestamp granularity that left its length as it was (a torn
    /// tail cut and written anew to the same length): a caller that must not answer with a
    /// stale end (an offset above it being out of range) asks [`LogReader::log_end_offset`].
    pub fn log_end_offset_memo(&mut self) -> Result<i64> {
        use std::os::unix::fs::MetadataExt;
        self.refresh_segments()?;
        let Some(&base) = self.segments.last() else {
            self.leo_memo = None;
            return Ok(0);
        };
        let last = std::fs::metadata(LogSegment::new(&self.dir, base).log_path())
            .ok()
            .map(|m| LastSegment {
                base,
                dev: m.dev(),
                ino: m.ino(),
                len: m.len(),
                mtime: (m.mtime(), m.mtime_nsec()),
            });
        if let (Some(now), Some((then, leo))) = (last, self.leo_memo)
            && now == then
        {
            return Ok(leo);
        }
        // Looked at before the end is found: an append in between changes it, and the next
        // call finds the end again.
        let leo = self.log_end_offset()?;
        self.leo_memo = last.map(|l| (l, leo));
        Ok(leo)
    }

    /// Offsets, sizes and timestamps of the partition.
    pub fn stats(&mut self) -> Result<PartitionStats> {
        self.refresh_segments()?;
        let mut st = PartitionStats {
            log_start_offset: self.log_start_offset(),
            segments: self.segments.len(),
            ..PartitionStats::default()
        };
        let Some(&last_base) = self.segments.last() else {
            return Ok(st);
        };
        // Records and timestamps from every segment's headers; a segment that vanished
        // meanwhile (retention, compaction) is skipped.
        let mut tail = HeaderWalk::default();
        for &b in &self.segments {
            let p = LogSegment::new(&self.dir, b).log_path();
            let w = match walk_headers(&p, st.log_start_offset) {
                Ok(w) => w,
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            st.size_bytes += std::fs::metadata(&p).map_or(0, |m| m.len());
            st.records += w.records;
            tail.timestamps(
                w.first_timestamp.unwrap_or(-1),
                w.last_timestamp.unwrap_or(-1),
            );
        }
        st.first_timestamp = tail.first_timestamp;
        st.last_timestamp = tail.last_timestamp;
        // The log end offset from the validated tail of the last segment.
        let seg = LogSegment::new(&self.dir, last_base);
        let mut r = seg.open_reader()?;
        let start = self.active_index_lookup(last_base, i64::MAX);
        let scan = scan_tail(seg, &mut r, start, |_, _| {})?;
        let rp = checkpoint::recovery_point(&self.dir);
        st.log_end_offset = scan.end_offset(&mut r, last_base, rp)?;
        Ok(st)
    }

    fn refresh_segments(&mut self) -> Result<()> {
        let fresh = list_segments(&self.dir)?;
        #[cfg(test)]
        let fresh = tests::hide_in_listing(fresh);
        self.prev_segments = std::mem::replace(&mut self.segments, fresh);
        Ok(())
    }

    /// Whether segment `base` was in the last two listings. A directory listing runs while
    /// segments are created, and may show one without another created just before it (seen
    /// on ext4: `readdir` walks names in hash order). A listing that started after `base`
    /// existed shows every segment created before `base`, and the second of two listings
    /// showing `base` started after the first had seen it: so when both show it, the second
    /// misses no segment below it.
    fn listed_twice(&self, base: i64) -> bool {
        self.segments.binary_search(&base).is_ok()
            && self.prev_segments.binary_search(&base).is_ok()
    }

    /// Index in `segments` of the segment to read after segment `base`, whose batches
    /// continue at `expected` (when known). A segment starting exactly there is the next one
    /// (a roll creates it at the log end offset); any other is taken only once the listing
    /// is known to miss none before it ([`LogReader::listed_twice`]), re-listing if need
    /// be. `None` when there is no later segment.
    fn next_segment_after(&mut self, base: i64, expected: Option<i64>) -> Result<Option<usize>> {
        let mut relisted = false;
        for _ in 0..8 {
            match self.segments.iter().position(|&b| b > base) {
                None if relisted => return Ok(None),
                Some(i)
                    if expected == Some(self.segments[i])
                        || self.listed_twice(self.segments[i]) =>
                {
                    return Ok(Some(i));
                }
                _ => {}
            }
            self.refresh_segments()?;
            relisted = true;
        }
        Ok(self.segments.iter().position(|&b| b > base))
    }

    /// Index in `segments` of the segment holding `offset` (the last one starting at or
    /// before it), or the first one when all start after it, which is taken only once the
    /// listing is known to miss none before it (see [`LogReader::listed_twice`]).
    fn segment_for(&mut self, offset: i64) -> Result<Option<usize>> {
        for _ in 0..8 {
            match self.segments.partition_point(|&b| b <= offset) {
                0 if self.segments.is_empty() => return Ok(None),
                0 if !self.listed_twice(self.segments[0]) => self.refresh_segments()?,
                0 => return Ok(Some(0)),
                n => return Ok(Some(n - 1)),
            }
        }
        Ok((!self.segments.is_empty()).then_some(0))
    }

    /// The lowest base offset a compacted-away segment may have been merged into: the segment
    /// being read (or the log start before any was read).
    fn cur_base_floor(&self) -> i64 {
        self.cur.as_ref().map_or(i64::MIN, |c| c.base)
    }

    /// Index lookup in segment `base`: (offset, position) of the largest entry ≤ target,
    /// checked against the log.
    fn active_index_lookup(&self, base: i64, target: i64) -> Option<(i64, u64)> {
        let is_last = self.segments.last() == Some(&base);
        LogSegment::new(&self.dir, base).lookup_offset(target, is_last)
    }

    /// Positions the reader so that the next batch returned is the one holding `offset` (or
    /// the first after it). Offsets below the log start go to the log start.
    pub fn seek(&mut self, offset: i64) -> Result<()> {
        self.refresh_segments()?;
        let offset = offset.max(self.log_start_offset());
        self.skip_below = offset;
        self.cur = None;
        let Some(idx) = self.segment_for(offset)? else {
            return Ok(());
        };
        let base = self.segments[idx];
        let pos = self.active_index_lookup(base, offset).map_or(0, |(_, p)| p);
        self.open_segment(idx, pos)
    }

    fn open_segment(&mut self, idx: usize, pos: u64) -> Result<()> {
        let mut base = self.segments[idx];
        let mut pos = pos;
        // The segment being left goes first: its read buffer (as large as its largest batch)
        // is then the one the new reader takes up, not a second one beside it.
        let floor = self.cur_base_floor();
        self.cur = None;
        let mut path = LogSegment::new(&self.dir, base).log_path();
        let mut tries = 0;
        let reader = loop {
            match open_regular(&path) {
                Ok(f) => break ChunkReader::new(f, &path),
                // Gone meanwhile: deleted by retention or trimming (go on with the next
                // segment), or merged into an earlier one by compaction (read that one again:
                // the batches already returned are skipped, offsets never change).
                Err(Error::Io { source: e, .. })
                    if e.kind() == std::io::ErrorKind::NotFound && tries < 16 =>
                {
                    tries += 1;
                    self.refresh_segments()?;
                    let missing = base;
                    let merged_into = self.segments.iter().rev().find(|&&b| b < missing);
                    let next = self.segments.iter().find(|&&b| b > missing);
                    let pick = match (merged_into, next) {
                        (Some(&b), _) if b >= floor => Some(b),
                        (_, Some(&b)) => Some(b),
                        _ => None,
                    };
                    match pick {
                        Some(b) => {
                            base = b;
                            pos = 0;
                            path = LogSegment::new(&self.dir, base).log_path();
                        }
                        None => return Err(Error::io("open", &path)(e)),
                    }
                }
                Err(e) => return Err(e),
            }
        };
        let file_len = reader.file_len()?;
        let next_base = self
            .segments
            .get(self.segments.partition_point(|&b| b <= base));
        self.cur = Some(Current {
            base,
            reader,
            pos,
            file_len,
            next_base: next_base.copied(),
        });
        // A segment's batches start at or after its base offset.
        self.prev_next = (pos == 0).then_some(base);
        self.recovery_point = if self.segments.last() == Some(&base) {
            checkpoint::read_recovery_point(&self.dir).filter(|&rp| rp >= base)
        } else {
            None
        };
        Ok(())
    }

    /// Why the v2 batch `h` of the current segment, followed by `next` (the header after it,
    /// when the file holds one), cannot have the base offset it claims; `None` when it
    /// can. A base offset is outside the batch's CRC, so damage to it shows only against the
    /// offsets' invariants, the ones Kafka keeps too: base offsets go up within a segment, a
    /// segment's batches end below the next segment's base, and klog's appends since its
    /// last fsync (from its recovery point on, in the last segment) are contiguous.
    fn offset_anomaly(&self, h: &BatchHeader, next: Option<&BatchHeader>) -> Option<&'static str> {
        self.offset_anomaly_in(h, next).filter(|&why| {
            !(why == REACHES_NEXT_SEGMENT && self.confirming && swap_left_over(&self.dir))
        })
    }

    fn offset_anomaly_in(
        &self,
        h: &BatchHeader,
        next: Option<&BatchHeader>,
    ) -> Option<&'static str> {
        let last = h.last_offset();
        if self.prev_next.is_some_and(|p| h.base_offset < p) {
            return Some("base offset below the end of the batch before it");
        }
        if next.is_some_and(|n| n.base_offset <= last) {
            return Some("batch reaching the base offset of the batch after it");
        }
        if let Some(next_base) = self.cur.as_ref().and_then(|c| c.next_base)
            && last >= next_base
        {
            return Some(REACHES_NEXT_SEGMENT);
        }
        if let Some(rp) = self.recovery_point
            && last >= rp
            && !continues_after_recovery_point(rp, self.prev_next, h.base_offset)
        {
            return Some("base offset that does not continue the log after its recovery point");
        }
        None
    }

    /// An offset anomaly may be a compaction swap or a writer's recovery caught half way
    /// (readers take no lock): wait for the partition lock (shared, so only writers and the
    /// cleaner are waited for), look at the directory again and re-read from where the
    /// caller is; the same anomaly then is damage.
    fn confirm_anomaly(&mut self) -> Result<Option<BatchRef<'_>>> {
        let lock = File::open(&self.dir).map_err(Error::io("open directory", &self.dir))?;
        lock.lock_shared().map_err(Error::io("lock", &self.dir))?;
        let prev_next = self.prev_next;
        let next = self.skip_below;
        self.confirming = true;
        let reread = if self.cur.as_ref().is_some_and(|c| self.still_on_disk(c)) {
            // The same file: read the same position again (seeking by offset could land in
            // another segment claiming the same offsets, and hide the anomaly).
            self.reread_current()
        } else {
            // Replaced (a compaction swap) or deleted: find the offset again.
            self.seek(next)
        }
        .map(|()| {
            self.prev_next = prev_next;
        });
        // The lock is released when `lock` goes out of scope, after the batch is read: a swap
        // that starts later replaces files by rename, which leaves what was read intact.
        match reread {
            Ok(()) => self.next_batch_inner(),
            Err(e) => Err(e),
        }
    }

    /// Whether the file `c` reads is still the segment's file in the directory (not replaced
    /// by a compaction swap, nor deleted).
    fn still_on_disk(&self, c: &Current) -> bool {
        use std::os::unix::fs::MetadataExt;
        let (Ok(open), Ok(named)) = (
            c.reader.file.metadata(),
            std::fs::metadata(LogSegment::new(&self.dir, c.base).log_path()),
        ) else {
            return false;
        };
        open.ino() == named.ino() && open.dev() == named.dev()
    }

    /// Re-reads the current segment from the current position: a fresh listing (for the next
    /// segment's base), the file's size, and no buffered bytes.
    fn reread_current(&mut self) -> Result<()> {
        self.refresh_segments()?;
        let Some(c) = self.cur.as_mut() else {
            return Ok(());
        };
        c.reader.invalidate();
        c.file_len = c.reader.file_len()?;
        let base = c.base;
        c.next_base = self
            .segments
            .get(self.segments.partition_point(|&b| b <= base))
            .copied();
        self.recovery_point = if self.segments.last() == Some(&base) {
            checkpoint::read_recovery_point(&self.dir).filter(|&rp| rp >= base)
        } else {
            None
        };
        Ok(())
    }

    /// The offset of the first record with a timestamp ≥ `timestamp`, or `None` when no
    /// record is that recent. Goes through the time index, then the offset index, then a scan.
    pub fn offset_for_timestamp(&mut self, timestamp: i64) -> Result<Option<i64>> {
        self.refresh_segments()?;
        let segments = self.segments.clone();
        for (i, &base) in segments.iter().enumerate() {
            // Skip segments whose largest timestamp is below the target (cheap: the last
            // time-index entry of a closed segment; the active one is scanned from its hint).
            let is_last = i + 1 == segments.len();
            let seg = LogSegment::new(&self.dir, base);
            let tpath = seg.time_index_path();
            let hint = FileSource::open(&tpath).ok().map(|src| {
                let n = index::valid_entries(&src, TIME_ENTRY_SIZE);
                let last = index::time_entries_last(&src, n, base);
                let lb = index::lookup_time(&src, n, base, timestamp);
                (last, lb)
            });
            if !is_last
                && let Some((Some(last), _)) = hint
                && last.timestamp < timestamp
            {
                continue;
            }
            let from_offset = hint.and_then(|(_, lb)| lb).map_or(base, |e| e.offset);
            let pos = self
                .active_index_lookup(base, from_offset)
                .map_or(0, |(_, p)| p);
            let path = seg.log_path();
            let mut r = ChunkReader::open(&path)?;
            let file_len = r.file_len()?;
            let mut pos = pos;
            loop {
                match r.at(pos, file_len)? {
                    At::End { .. } => break,
                    At::Legacy(m) => {
                        let recs = crate::format::legacy::records(&m, DECOMPRESS_LIMIT)
                            .map_err(|e| Error::corrupt(&path, pos, e))?;
                        if let Some(r) = recs.iter().find(|r| r.timestamp >= timestamp) {
                            return Ok(Some(r.offset));
                        }
                        pos += m.size as u64;
                    }
                    At::Batch(b) => {
                        if b.header.max_timestamp >= timestamp {
                            let mut scratch = Vec::new();
                            for rec in b
                                .records_in(&mut scratch)
                                .map_err(|e| Error::corrupt(&path, pos, e))?
                            {
                                let rec = rec.map_err(|e| Error::corrupt(&path, pos, e))?;
                                if b.timestamp_of(&rec) >= timestamp {
                                    return Ok(Some(b.offset_of(&rec)));
                                }
                            }
                        }
                        pos += b.header.size() as u64;
                    }
                }
            }
        }
        Ok(None)
    }

    /// The size of the entry the next [`LogReader::next_batch`] would return, when it is the
    /// next one in the current segment and the file holds its length prefix; read from that
    /// prefix alone (nothing is checked: the entry may still turn out damaged or incomplete).
    /// `None` when it cannot be told without reading on. For a caller deciding whether the
    /// next entry fits before it reads it whole.
    pub fn next_entry_size(&mut self) -> Result<Option<u64>> {
        let Some(cur) = self.cur.as_mut() else {
            return Ok(None);
        };
        cur.reader.entry_size_at(cur.pos, cur.file_len)
    }

    /// The next batch at or after the sought offset, or `None` at the current end of the log.
    /// Call again later to see batches appended since.
    ///
    /// A v2 batch is handed out only if its base offset (which its CRC does not cover) keeps
    /// the offsets' invariants; otherwise this returns [`Error::Corrupt`] with the file and
    /// position, before any of its records is seen.
    pub fn next_batch(&mut self) -> Result<Option<BatchRef<'_>>> {
        self.confirming = false;
        self.next_batch_inner()
    }

    fn next_batch_inner(&mut self) -> Result<Option<BatchRef<'_>>> {
        if self.cur.is_none() {
            self.refresh_segments()?;
            if self.segments.is_empty() {
                return Ok(None);
            }
            self.skip_below = self.skip_below.max(self.log_start_offset());
            let Some(idx) = self.segment_for(self.skip_below)? else {
                return Ok(None);
            };
            self.open_segment(idx, 0)?;
        }
        loop {
            let Some(cur) = self.cur.as_mut() else {
                return Ok(None);
            };
            match cur.reader.peek(cur.pos, cur.file_len)? {
                Some((size, last_offset)) => {
                    // Batches below the sought offset are passed over by their headers, unless
                    // one goes back below the batch before it (or below the segment's base):
                    // that is damage, for the checks below to report.
                    if last_offset < self.skip_below
                        && self.prev_next.is_none_or(|p| last_offset >= p)
                    {
                        cur.pos += size;
                        // Base offsets go up from here on, skipped batches included.
                        self.prev_next = last_offset.checked_add(1);
                        continue;
                    }
                    break;
                }
                None => {
                    // Maybe the file grew since we last looked. Buffered bytes past this point
                    // may be stale: a writer's recovery can cut a torn tail and write anew.
                    cur.reader.invalidate();
                    let len = cur.reader.file_len()?;
                    if len != cur.file_len {
                        cur.file_len = len;
                        continue;
                    }
                    // End of this segment: move to the next one if there is one.
                    let (base, pos) = (cur.base, cur.pos);
                    // Never move to a segment that does not continue this one without making
                    // sure that the listing misses none in between.
                    let Some(i) = self.next_segment_after(base, self.prev_next)? else {
                        return Ok(None);
                    };
                    let Some(cur) = self.cur.as_ref() else {
                        return Ok(None);
                    };
                    // Re-check the size: the writer may have finished a batch just before it
                    // rolled. Anything still incomplete before a later segment is damage.
                    let len = cur.reader.file_len()?;
                    if len != cur.file_len {
                        if let Some(c) = self.cur.as_mut() {
                            c.file_len = len;
                        }
                        continue;
                    }
                    if pos + 17 <= len {
                        return Err(Error::corrupt(
                            &cur.reader.path,
                            pos,
                            DecodeError::Truncated {
                                at: 0,
                                needed: 17,
                                available: (len - pos) as usize,
                            },
                        ));
                    }
                    self.open_segment(i, 0)?;
                }
            }
        }
        let Some(cur) = self.cur.as_mut() else {
            return Ok(None);
        };
        let pos = cur.pos;
        let base = cur.base;
        // Check the batch's offsets first (from its header, and the next one's, in the
        // buffer), so that a batch at offsets that are not its own is never handed out.
        if let Some((h, next)) = cur.reader.headers_at(pos, cur.file_len)?
            && let Some(why) = self.offset_anomaly(&h, next.as_ref())
        {
            if !self.confirming {
                return self.confirm_anomaly();
            }
            let path = LogSegment::new(&self.dir, base).log_path();
            return Err(Error::corrupt(
                &path,
                pos,
                DecodeError::BadLength {
                    at: 0,
                    what: why,
                    value: h.base_offset,
                },
            ));
        }
        let Some(cur) = self.cur.as_mut() else {
            return Ok(None);
        };
        match cur.reader.at(pos, cur.file_len)? {
            At::Batch(batch) => {
                self.prev_next = Some(batch.header.next_offset());
                cur.pos += batch.header.size() as u64;
                // Never hand out an older batch again (a segment re-read after compaction).
                self.skip_below = self.skip_below.max(batch.header.next_offset());
                Ok(Some(BatchRef {
                    batch: Entry::Batch(batch),
                    segment_base: base,
                    position: pos,
                }))
            }
            At::Legacy(m) => {
                cur.pos += m.size as u64;
                self.skip_below = self.skip_below.max(m.offset.saturating_add(1));
                Ok(Some(BatchRef {
                    batch: Entry::Legacy(m),
                    segment_base: base,
                    position: pos,
                }))
            }
            At::End { .. } => Ok(None),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::format::BatchBuilder;
    use crate::storage::{Log, LogConfig, layout, now_ms};

    thread_local! {
        /// Segments that the next listings of this thread leave out: (base offset, how many
        /// listings), as a `readdir` racing with a roll can.
        static HIDDEN: RefCell<Vec<(i64, usize)>> = const { RefCell::new(Vec::new()) };
    }

    /// `LogReader`'s listings go through this in tests (see [`HIDDEN`]).
    pub(in crate::storage) fn hide_in_listing(mut listing: Vec<i64>) -> Vec<i64> {
        HIDDEN.with(|h| {
            for (base, left) in h.borrow_mut().iter_mut() {
                if *left > 0 {
                    *left -= 1;
                    listing.retain(|b| b != base);
                }
            }
        });
        listing
    }

    /// Appends offsets `from..to`, one record per batch, rolling before each multiple of 10.
    fn append_rolling(log: &mut Log, from: i64, to: i64) {
        for o in from..to {
            if o > 0 && o % 10 == 0 {
                log.roll().unwrap();
            }
            let mut b = BatchBuilder::new();
            b.append(now_ms(), None, Some(format!("v{o}").as_bytes()), &[]);
            log.append(&mut b.finish()).unwrap();
        }
    }

    fn read_all(r: &mut LogReader) -> Vec<i64> {
        let mut out = Vec::new();
        while let Some(b) = r.next_batch().unwrap() {
            out.push(b.batch.as_batch().unwrap().header.base_offset);
        }
        out
    }

    /// The remembered log end offset follows appends, rolls and truncations by a writer the
    /// reader knows nothing of, and a topic's last segment replaced under the same name.
    #[test]
    fn log_end_offset_memo_follows_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        let mut r = LogReader::open(dir.path()).unwrap();
        assert_eq!(r.log_end_offset_memo().unwrap(), 0);
        append_rolling(&mut log, 0, 5);
        assert_eq!(r.log_end_offset_memo().unwrap(), 5);
        assert_eq!(r.log_end_offset_memo().unwrap(), 5, "unchanged");
        append_rolling(&mut log, 5, 13);
        assert_eq!(
            r.log_end_offset_memo().unwrap(),
            13,
            "appended across a roll"
        );
        log.roll().unwrap();
        assert_eq!(
            r.log_end_offset_memo().unwrap(),
            13,
            "an empty last segment"
        );
        append_rolling(&mut log, 13, 14);
        assert_eq!(r.log_end_offset_memo().unwrap(), 14);
        log.truncate_to(11).unwrap();
        assert_eq!(r.log_end_offset_memo().unwrap(), 11, "truncated");
        log.trim(10).unwrap();
        assert_eq!(r.log_end_offset_memo().unwrap(), 11, "trimmed at the start");
        drop(log);
        // The partition written anew: a fresh log with fewer offsets.
        std::fs::remove_dir_all(dir.path()).unwrap();
        std::fs::create_dir(dir.path()).unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        append_rolling(&mut log, 0, 3);
        assert_eq!(
            r.log_end_offset_memo().unwrap(),
            3,
            "a new log in its place"
        );
        assert_eq!(r.log_end_offset().unwrap(), 3);
    }

    /// `next_entry_size` tells the size of the batch `next_batch` returns next, within a
    /// segment, and nothing at a segment's end or before the first read.
    #[test]
    fn next_entry_size_is_the_next_batch_s() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        append_rolling(&mut log, 0, 12);
        let mut r = LogReader::open(dir.path()).unwrap();
        assert_eq!(r.next_entry_size().unwrap(), None, "before the first read");
        let mut sizes = Vec::new();
        let mut told = Vec::new();
        while let Some(b) = r.next_batch().unwrap() {
            sizes.push(b.batch.as_batch().unwrap().header.size() as u64);
            told.push(r.next_entry_size().unwrap());
        }
        assert_eq!(sizes.len(), 12);
        for i in 0..11 {
            // Offset 9 ends the first segment: what follows is in the next one.
            let expected = (i != 9).then_some(sizes[i + 1]);
            assert_eq!(told[i], expected, "after offset {i}");
        }
        assert_eq!(told[11], None, "at the end of the log");
    }

    /// The checkpoint entries of a partition: the recovery point capped at the log end
    /// offset, the log start only where it is above the first segment, the cleaner offset
    /// only where compaction ran.
    #[test]
    fn partition_checkpoints_are_what_a_broker_would_find() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        append_rolling(&mut log, 0, 30);
        log.flush().unwrap();
        let c = partition_checkpoints(dir.path()).unwrap();
        assert_eq!(
            c,
            PartitionCheckpoints {
                recovery_point: 30,
                high_watermark: 30,
                log_start_offset: None,
                cleaner_offset: None,
            }
        );
        log.trim(15).unwrap();
        checkpoint::write_cleaner_offset(dir.path(), 20).unwrap();
        // A recovery point past the end (a log cut since) says no more than the end.
        checkpoint::write_recovery_point(dir.path(), 99).unwrap();
        let c = partition_checkpoints(dir.path()).unwrap();
        assert_eq!(list_segments(dir.path()).unwrap(), [10, 20]);
        assert_eq!((c.recovery_point, c.high_watermark), (30, 30));
        assert_eq!(c.log_start_offset, Some(15));
        assert_eq!(c.cleaner_offset, Some(20));
    }

    /// Regression: the log end offset a reader computed while another process appended
    /// failed as "damage" now and then: its scan saw the last batch incomplete (a write in
    /// progress), and the check that followed found it whole, with a checksum that holds,
    /// which is no crash's debris. An entry the scan saw running past the end is a write in
    /// progress (or a killed writer's), whatever it has become since.
    #[test]
    fn regression_a_batch_completed_after_the_scan_is_no_damage() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        append_rolling(&mut log, 0, 3);
        drop(log);
        let path = layout::log_file(dir.path(), 0);
        let len = std::fs::metadata(&path).unwrap().len();
        let mut r = ChunkReader::open(&path).unwrap();
        let last = r.header_at(0).unwrap().size() as u64 * 2;
        // What a scan of the file, taken while the third batch was half written, says.
        let scan = Scan {
            valid_end: last,
            next_offset: 2,
            damage: Some(Error::corrupt(
                &path,
                last,
                DecodeError::Truncated {
                    at: 0,
                    needed: (len - last) as usize,
                    available: 10,
                },
            )),
        };
        assert!(scan.stopped_at_crash_debris(&mut r, 0, Some(2)).unwrap());
        assert_eq!(scan.end_offset(&mut r, 0, Some(2)).unwrap(), 2);
    }

    /// Regression: a follower, and a group member that then committed past them, skipped
    /// whole segments that a roll had just created: one directory listing showed a newer
    /// segment but not the one created just before it, and the reader moved on to the newer
    /// one. Here a follower has read segment `0..10` to its end; the log rolls to segments 10
    /// and 20, and the reader's next listing leaves out segment 10 (as a `readdir` racing
    /// with the rolls can; the listing after it shows it, as a real one does).
    #[test]
    fn regression_a_listing_missing_a_segment_skips_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        append_rolling(&mut log, 0, 10);
        let mut r = LogReader::open(dir.path()).unwrap();
        r.seek(0).unwrap();
        assert_eq!(read_all(&mut r), (0..10).collect::<Vec<_>>());
        append_rolling(&mut log, 10, 30);
        HIDDEN.with(|h| *h.borrow_mut() = vec![(10, 1)]);
        assert_eq!(read_all(&mut r), (10..30).collect::<Vec<_>>());
        HIDDEN.with(|h| h.borrow_mut().clear());
    }
}
