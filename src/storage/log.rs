//! `Log`: the writer side of one partition directory — append, roll, flush and recovery.
//!
//! # Invariants
//! 1. Every append happens under the partition lock (an exclusive `flock` on the directory),
//!    at the end of the active segment's `.log`, after the writer has checked that its view
//!    of the active segment is still what is on disk.
//! 2. An offset index entry `(last offset of batch, position of batch)` is added when more
//!    than `index.interval.bytes` were written since the previous entry's batch (so a
//!    segment's first batch is never indexed); a time index entry `(max timestamp so far, its
//!    offset)` goes with it when the timestamp is a new maximum, plus a final one on roll.
//! 3. The recovery point is only ever written after an fsync of everything below it.
//! 4. Roll, retention and flush decisions use the topic's current configs: a writer with a
//!    [`ConfigSource`] asks it for changes each time it takes the partition lock.
//! 5. No `Log` opens in a data directory whose Kafka `.lock` a running broker holds; while
//!    one is open, it holds that file shared, so no broker starts there.
//!
//! # Crash safety
//! - Append: batch bytes first, index entries after. A crash leaves at worst a torn batch at
//!   the end and index entries for it: both are cut by the next writer's recovery.
//! - Roll: final time index entry, fsync the `.log`, trim and fsync both indexes, then create
//!   the new segment's files and fsync the directory, then advance the recovery point. A crash
//!   before the new `.log` exists leaves the old segment active (trimmed indexes regrow); one
//!   after leaves an empty new segment, which is valid.
//! - Early writeback: every [`WRITEBACK_BYTES`] appended without a flush, the writer's helper
//!   thread (one per writer, started on first use, which runs the background flush too)
//!   fdatasyncs the active segment through a descriptor of its own, so that the disk works
//!   while the writer encodes and a flush finds little left to write. It is only a head
//!   start: nothing counts as flushed, and the recovery point does not move, until `flush`
//!   itself has fsynced. A write error it meets is still reported to the writer's own fsync
//!   (Linux reports it to every descriptor open at the time). It bypasses the fail points:
//!   the power-loss model then counts less as durable than the disk has, never more.
//! - Reserved blocks: from its first early writeback on, a writer reserves disk blocks
//!   [`RESERVE_AHEAD_BYTES`] at a time past the end of the active segment
//!   ([`fs::reserve_blocks`]), so that its writes skip the file system's per-block space
//!   accounting. The file's length, and so what readers and recovery see, does not change.
//!   What was not written is given back (a truncate to the file's own length) when the
//!   segment rolls and when the writer closes, and, after a writer died holding some, by the
//!   next writer that loads the segment. Like the early writeback, this bypasses the fail
//!   points: it changes no file's content.
//! - Background flush (`maybe_flush_in_background`, for `flush.ms`): the log end offset is
//!   noted and the active segment is fdatasynced on the helper thread while appends go on (it
//!   takes a waiting flush before a waiting writeback).
//!   Only once the fsync is seen done does the recovery point move, to the noted offset and
//!   never down; an fsync error is returned to the writer then, and what it covered counts as
//!   unflushed again. It fsyncs the writer's own open file (through a duplicate descriptor),
//!   so that a write error the early writeback dropped is still reported to it. `flush`
//!   first waits for the one in flight; a roll or a `flush.messages` fsync need not (each
//!   covers everything appended). The power-loss model counts what the file held when the
//!   fsync was handed over as durable once it is done.
//! - Recovery (first lock of a process, or when the disk no longer matches the writer's
//!   view): validate from the last index entry below the recovery point to the end of the
//!   active segment and rebuild the index entries passed. Batches from the recovery point on
//!   were appended by this code at consecutive offsets, so a base offset there (outside the
//!   CRC) that does not continue the log is damage too. The first invalid byte is cut, with
//!   everything after it, only if it is what a crash leaves: at or above the recovery point,
//!   and not the start of an entry whose checksum holds (a killed writer leaves an incomplete
//!   last entry; a power loss, bytes that never reached the disk). Any other damage is
//!   returned as [`Error::Corrupt`] with file and position, and no append goes in until
//!   `segments verify --repair` has cut it. A recovery point left above the log's end (the
//!   file ends cleanly below it) is lowered to it.
//!
//! - Replicated appends ([`Log::append_replica`], for a follower such as `klog mirror pull`):
//!   a batch keeps its own offsets, so a leader's compaction gaps come along. Since recovery
//!   and readers take the batches after the recovery point to be contiguous, a batch that
//!   leaves a gap is appended only after a flush that moves the recovery point to its base
//!   offset (the rename made durable). A crash leaves what an ordinary append leaves.
//! - Truncation ([`Log::truncate_to`], [`Log::truncate_fully_and_start_at`], a follower's
//!   answers to a diverged leader and to a leader whose log start passed its end): segments go
//!   last first, so a crash leaves a prefix of the old log ending at a batch boundary (or an
//!   empty log at the old or the new log start); doing it again finishes it.
//!
//! # Kafka
//! `UnifiedLog`/`LocalLog` (append, `appendAsFollower`, `truncateTo`,
//! `truncateFullyAndStartAt`, `maybeRoll`, `roll`, `flush`), `LogSegment` (append,
//! `shouldRoll`, `recover`) and `LogLoader` (recovery from the recovery point).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::checkpoint::{self, read_log_start, write_log_start, write_recovery_point};
/// The recovery point's files are read in `checkpoint`; here under their former paths.
pub use super::checkpoint::{read_recovery_point, recovery_point};
use super::cleaner::recover_cleaner_leftovers;
use super::clock::now_ms;
use super::config::LogConfig;
use super::failpoint as fp;
use super::file_records::{ChunkReader, Scan};
use super::fs::{self, fsync_dir_at};
use super::index::{OffsetIndex, TimeIndex};
use super::layout::list_segments;
use super::retention::{self, DeletedSegment};
use super::segment::{LogSegment, continues_after_recovery_point};
use super::verify::remove_repair_leftovers;
use crate::error::{Error, Result};
use crate::format::batch::{self as fbatch, BatchParts, RECORD_BATCH_OVERHEAD};
use crate::format::{BatchHeader, BuiltBatch, DecodeError, TimestampType};

pub use super::layout::RECOVERY_POINT_FILE;

/// A batch [`Log`] appends: in one buffer, or in parts around a value.
trait Appendable {
    fn len(&self) -> usize;
    fn header(&self) -> Result<BatchHeader>;
    fn set_base_offset(&mut self, offset: i64);
    fn set_log_append_time(&mut self, now: i64);
    /// Writes the whole batch at `pos` (in one write, or one per part).
    fn write_at(&self, file: &File, pos: u64) -> std::io::Result<()>;
    /// The offset a replicated batch keeps (`None`: the log assigns it). Constant per type,
    /// so the appends that assign offsets pay nothing for it.
    fn replica_base(&self) -> Option<i64> {
        None
    }
}

struct Whole<'a>(&'a mut [u8]);

impl Appendable for Whole<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn header(&self) -> Result<BatchHeader> {
        BatchHeader::parse(self.0).map_err(|e| Error::Invalid(e.to_string()))
    }
    fn set_base_offset(&mut self, offset: i64) {
        fbatch::set_base_offset(self.0, offset);
    }
    fn set_log_append_time(&mut self, now: i64) {
        fbatch::set_log_append_time(self.0, now);
    }
    fn write_at(&self, file: &File, pos: u64) -> std::io::Result<()> {
        fp::write_all_at(file, self.0, pos, "append.write")
    }
}

impl Appendable for &mut BuiltBatch {
    fn len(&self) -> usize {
        BuiltBatch::len(self)
    }
    fn header(&self) -> Result<BatchHeader> {
        Ok(*BuiltBatch::header(self))
    }
    fn set_base_offset(&mut self, offset: i64) {
        BuiltBatch::set_base_offset(self, offset);
    }
    fn set_log_append_time(&mut self, now: i64) {
        BuiltBatch::set_log_append_time(self, now);
    }
    fn write_at(&self, file: &File, pos: u64) -> std::io::Result<()> {
        fp::write_all_at(file, self.as_bytes(), pos, "append.write")
    }
}

/// A batch fetched from a leader, appended as it is at its own offsets
/// ([`Log::append_replica`]).
struct Replica<'a> {
    bytes: &'a [u8],
    header: BatchHeader,
}

impl Appendable for Replica<'_> {
    fn len(&self) -> usize {
        self.bytes.len()
    }
    fn header(&self) -> Result<BatchHeader> {
        Ok(self.header)
    }
    fn set_base_offset(&mut self, _offset: i64) {}
    fn set_log_append_time(&mut self, _now: i64) {}
    fn write_at(&self, file: &File, pos: u64) -> std::io::Result<()> {
        fp::write_all_at(file, self.bytes, pos, "append.write")
    }
    fn replica_base(&self) -> Option<i64> {
        Some(self.header.base_offset)
    }
}

struct Around<'a> {
    parts: &'a mut BatchParts,
    value: &'a [u8],
}

impl Appendable for Around<'_> {
    fn len(&self) -> usize {
        self.parts.len(self.value)
    }
    fn header(&self) -> Result<BatchHeader> {
        BatchHeader::parse(&self.parts.head).map_err(|e| Error::Invalid(e.to_string()))
    }
    fn set_base_offset(&mut self, offset: i64) {
        fbatch::set_base_offset(&mut self.parts.head, offset);
    }
    fn set_log_append_time(&mut self, now: i64) {
        self.parts.set_log_append_time(self.value, now);
    }
    fn write_at(&self, file: &File, pos: u64) -> std::io::Result<()> {
        let head = self.parts.head.len() as u64;
        fp::write_all_at(file, &self.parts.head, pos, "append.write")?;
        fp::write_all_at(file, self.value, pos + head, "append.write")?;
        let tail_at = pos + head + self.value.len() as u64;
        fp::write_all_at(file, &self.parts.tail, tail_at, "append.write")
    }
}

/// Where an appended batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// Max timestamp of the batch as stored (the append time for LogAppendTime topics).
    pub max_timestamp: i64,
    pub segment_base: i64,
    pub position: u64,
}

/// The writer's view of the active segment.
#[derive(Debug)]
struct ActiveSegment {
    base_offset: i64,
    log_path: PathBuf,
    log: File,
    size: u64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    next_offset: i64,
    /// Position of the batch the last offset index entry points at (0 when none).
    last_indexed_position: u64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    /// Max timestamp of the segment's first batch (segment.ms is measured from it).
    first_batch_timestamp: Option<i64>,
    /// When this process first saw the segment: segment.ms fallback without timestamps.
    opened: SystemTime,
    /// Once this writer streams (see the module doc): the end of the blocks it reserved.
    reserved_to: Option<u64>,
}

impl ActiveSegment {
    /// Reserves blocks ahead when a streaming writer's next `len` bytes pass what it reserved.
    /// Only a speed-up: when the file system cannot, the writer stops asking until its next
    /// early writeback.
    fn reserve_ahead(&mut self, len: u64, segment_bytes: u64) {
        let Some(reserved) = self.reserved_to else {
            return;
        };
        let end = self.size + len;
        if end <= reserved {
            return;
        }
        let to = (self.size + RESERVE_AHEAD_BYTES)
            .min(segment_bytes)
            .max(end);
        self.reserved_to = fs::reserve_blocks(&self.log, self.size, to - self.size)
            .ok()
            .map(|()| to);
    }

    /// Gives back the blocks reserved past the end (a truncate to the same length frees them).
    fn release_reserved(&mut self) {
        if self.reserved_to.take().is_some_and(|to| to > self.size) {
            let _ = self.log.set_len(self.size);
        }
    }
}

/// One partition's log, opened for appending.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    lock: File,
    config: LogConfig,
    active: Option<ActiveSegment>,
    unflushed_messages: i64,
    first_unflushed: Option<Instant>,
    recoveries: Vec<Truncation>,
    /// Whether this writer has checked the closed segments' indexes (once per `Log`).
    checked_closed: bool,
    /// Bytes appended since the last early writeback was started.
    pub(super) unwritten_back: u64,
    /// How many early writebacks this writer started (`None`: none yet).
    pub(super) writeback: Option<u64>,
    /// The helper thread (early writebacks, background flushes), started on first use, and
    /// the background flush it is running.
    syncer: Option<Syncer>,
    /// Where a fresh config comes from when the topic's configs change (see
    /// [`Log::set_config_source`]).
    config_source: Option<ConfigSource>,
    /// A shared hold on a Kafka broker's `.lock` in the data directory, if it has one: a
    /// broker cannot start there while this writer lives.
    _broker: Option<fs::BrokerLockGuard>,
}

/// A source of configs for a [`Log`]: called before each decision that depends on them, it
/// returns `Some` with the new config when the topic's configs changed since its last call,
/// and should cost no more than a `stat` when they did not.
pub struct ConfigSource(pub Box<dyn FnMut() -> Option<LogConfig> + Send>);

impl std::fmt::Debug for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigSource")
    }
}

/// How often a writer with a background flush in flight looks whether it is done.
pub const FLUSH_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// A writer's helper thread: it fdatasyncs the files it is handed, an early writeback
/// (errors dropped: see the module doc) or a background flush (answered on `done`). It holds
/// at most one of each waiting, and takes a flush first; a writer finding a writeback waiting
/// appends on.
#[derive(Debug)]
struct Syncer {
    jobs: std::sync::Arc<SyncJobs>,
    done: std::sync::mpsc::Receiver<std::io::Result<()>>,
    in_flight: Option<InFlight>,
}

/// The files handed to the helper thread and not yet taken, and its wake-up.
#[derive(Debug, Default)]
struct SyncJobs {
    waiting: std::sync::Mutex<Waiting>,
    wake: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct Waiting {
    writeback: Option<File>,
    flush: Option<File>,
    /// The writer is gone: the thread ends once nothing waits.
    closed: bool,
}

impl SyncJobs {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands over a file: `flush` (answered) or an early writeback (dropped when one waits).
    fn hand(&self, file: File, flush: bool) {
        let mut w = self.waiting();
        if flush {
            w.flush = Some(file);
        } else if w.writeback.is_none() {
            w.writeback = Some(file);
        }
        drop(w);
        self.wake.notify_one();
    }

    /// The next file for the thread, waiting for one: a flush first (`true`), else a
    /// writeback. `None` once the writer is gone and nothing waits.
    fn next(&self) -> Option<(File, bool)> {
        let mut w = self.waiting();
        loop {
            if let Some(f) = w.flush.take() {
                return Some((f, true));
            }
            if let Some(f) = w.writeback.take() {
                return Some((f, false));
            }
            if w.closed {
                return None;
            }
            w = self
                .wake
                .wait(w)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.jobs.waiting().closed = true;
        self.jobs.wake.notify_one();
    }
}

/// A background flush handed to the thread and not yet seen done.
#[derive(Debug)]
struct InFlight {
    /// The log end offset when it started: every offset below it is durable once it is done.
    target: i64,
    log_path: PathBuf,
    sync: fp::BackgroundSync,
}

fn spawn_syncer(dir: &Path) -> Result<Syncer> {
    let jobs = std::sync::Arc::new(SyncJobs::default());
    let (tx, done) = std::sync::mpsc::sync_channel(1);
    let theirs = jobs.clone();
    std::thread::Builder::new()
        .name("klog-fsync".into())
        .spawn(move || {
            while let Some((file, flush)) = theirs.next() {
                let r = file.sync_data();
                // A writeback's errors are the flush's to report (see the module doc).
                if flush && tx.send(r).is_err() {
                    return;
                }
            }
        })
        .map_err(Error::io("start the flush thread for", dir))?;
    Ok(Syncer {
        jobs,
        done,
        in_flight: None,
    })
}

/// Bytes appended between two early writebacks (see the module doc).
pub const WRITEBACK_BYTES: u64 = 16 << 20;

/// Allocated space past a segment's length that loading it leaves alone (file systems keep
/// some metadata blocks of large files in their count).
const RESERVED_SLACK: u64 = 1 << 20;

/// Disk space a streaming writer reserves at a time past the end of the active segment (see
/// the module doc).
pub const RESERVE_AHEAD_BYTES: u64 = 16 << 20;

/// What recovery cut from the end of a segment, and why.
#[derive(Debug)]
pub struct Truncation {
    pub path: PathBuf,
    /// Where the file now ends (the first byte that was removed).
    pub position: u64,
    pub removed_bytes: u64,
    /// The problem found at `position`.
    pub reason: Error,
}

impl Log {
    /// Opens the partition directory `dir` (creating it) for appending. Nothing is read or
    /// recovered until the first append or flush takes the lock.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Log> {
        // Never under a running Kafka broker (see `fs::hold_broker_lock`).
        let broker = match dir.parent() {
            Some(data_dir) => fs::hold_broker_lock(data_dir)?,
            None => None,
        };
        std::fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
        let lock = File::open(dir).map_err(Error::io("open directory", dir))?;
        Ok(Log {
            dir: dir.to_path_buf(),
            lock,
            config,
            active: None,
            unflushed_messages: 0,
            first_unflushed: None,
            recoveries: Vec::new(),
            checked_closed: false,
            unwritten_back: 0,
            writeback: None,
            syncer: None,
            config_source: None,
            _broker: broker,
        })
    }

    /// Installs where fresh configs come from: from now on the writer asks it each time it
    /// takes the partition lock (before any roll or retention decision) and goes on with the
    /// config it returns. `Topic::open_log` installs one that watches the topic's metadata.
    pub fn set_config_source(&mut self, source: ConfigSource) {
        self.config_source = Some(source);
    }

    /// Tails that recovery truncated since the last call (a torn write of a killed writer, or
    /// damage after a crash).
    pub fn take_truncations(&mut self) -> Vec<Truncation> {
        std::mem::take(&mut self.recoveries)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Runs `f` holding the partition lock, with the writer's view brought up to date.
    fn locked<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.lock.lock().map_err(Error::io("lock", &self.dir))?;
        if let Some(ConfigSource(source)) = &mut self.config_source
            && let Some(config) = source()
        {
            self.config = config;
        }
        let r = self.refresh().and_then(|()| f(self));
        let _ = self.lock.unlock();
        r
    }

    /// The log end offset, after bringing this writer's view up to date (takes the lock).
    pub fn log_end_offset(&mut self) -> Result<i64> {
        self.locked(|log| Ok(log.active.as_ref().map_or(0, |a| a.next_offset)))
    }

    /// The log start offset: the first offset readers get.
    pub fn log_start_offset(&self) -> Result<i64> {
        Ok(checkpoint::log_start_offset(
            &self.dir,
            &list_segments(&self.dir)?,
        ))
    }

    /// Moves the log start offset up to `offset` (Kafka's delete-records): records below it
    /// are no longer read, and segments holding only such records are deleted. An offset past
    /// the log end offset is refused. Returns the deleted segments.
    pub fn trim(&mut self, offset: i64) -> Result<Vec<DeletedSegment>> {
        self.locked(|log| {
            let (leo, base, size) = match &log.active {
                Some(a) => (a.next_offset, a.base_offset, a.size),
                None => return Err(Error::Internal("no active segment after refresh")),
            };
            if offset > leo {
                return Err(Error::Invalid(format!(
                    "offset {offset} is past the log end offset {leo} of {}",
                    log.dir.display()
                )));
            }
            let segments = list_segments(&log.dir)?;
            if offset <= checkpoint::log_start_offset(&log.dir, &segments) {
                return Ok(Vec::new());
            }
            write_log_start(&log.dir, offset)?;
            // Everything goes: roll so that an empty active segment remains at the end.
            if offset == leo && offset > base && size > 0 {
                log.roll_locked()?;
            }
            log.delete_old_segments_locked(now_ms())
        })
    }

    /// Applies retention (and the log start offset) now: deletes closed segments, oldest
    /// first, never the active one. Returns what was deleted.
    pub fn delete_old_segments(&mut self, now: i64) -> Result<Vec<DeletedSegment>> {
        self.locked(|log| log.delete_old_segments_locked(now))
    }

    fn delete_old_segments_locked(&mut self, now: i64) -> Result<Vec<DeletedSegment>> {
        let (log_start, doomed) = retention::due(&self.dir, &self.config, now)?;
        if let Some(last) = doomed.last()
            && last.end_offset > log_start
        {
            // The log start moves up to the first remaining segment, durably, before any
            // segment goes.
            write_log_start(&self.dir, last.end_offset)?;
        }
        for d in &doomed {
            LogSegment::new(&self.dir, d.base_offset).delete()?;
        }
        if !doomed.is_empty() {
            fsync_dir_at(&self.dir, "retention.dir_fsync")?;
        }
        Ok(doomed)
    }

    /// Appends one encoded v2 batch (built with base offset 0), assigning its offsets. The
    /// batch's base offset field is overwritten with the offset it gets.
    pub fn append(&mut self, batch: &mut [u8]) -> Result<AppendInfo> {
        self.append_batch(Whole(batch))
    }

    /// [`Log::append`] of a batch whose header is already parsed ([`BuiltBatch`], as a
    /// producer builds or checks one): the header is not read from the bytes again.
    pub fn append_built(&mut self, batch: &mut BuiltBatch) -> Result<AppendInfo> {
        self.append_batch(batch)
    }

    /// [`Log::append`] of a batch built around a value ([`BatchParts`]): the head, the value
    /// and the tail are written one after the other, so that a large value is never copied
    /// (readers see the batch once it is whole; a crash in between leaves a torn tail).
    pub fn append_parts(&mut self, parts: &mut BatchParts, value: &[u8]) -> Result<AppendInfo> {
        self.append_batch(Around { parts, value })
    }

    /// Appends a batch fetched from another log (a leader, as a follower replica does) as it
    /// is: at its own base offset, which must be at or past the log end offset (a compacted
    /// leader leaves gaps), with its bytes, CRC and timestamps unchanged. Only a whole v2 batch
    /// whose framing and CRC hold goes in; nothing is reassigned.
    pub fn append_replica(&mut self, batch: &[u8]) -> Result<AppendInfo> {
        let header = BatchHeader::parse(batch).map_err(|e| Error::Invalid(e.to_string()))?;
        if header.magic != fbatch::CURRENT_MAGIC {
            return Err(Error::Invalid(format!(
                "a replicated batch must be a v2 record batch (magic {})",
                header.magic
            )));
        }
        if header.size() == batch.len() {
            header.check(fbatch::compute_crc(batch)).map_err(|e| {
                Error::Invalid(format!("batch at offset {}: {e}", header.base_offset))
            })?;
        }
        self.append_batch(Replica {
            bytes: batch,
            header,
        })
    }

    /// A replicated batch never goes below the log end offset (offsets are never given twice).
    fn check_replica_base(&self, base: i64) -> Result<()> {
        let next = self.active.as_ref().map_or(0, |a| a.next_offset);
        if base < next {
            return Err(Error::Invalid(format!(
                "replicated batch at offset {base} is below the log end offset {next} of {}",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Before a replicated batch that leaves a gap after the log end: recovery and readers take
    /// the batches after the recovery point to be contiguous, so everything before the gap is
    /// flushed and the recovery point moved to the batch's base offset (nothing lies between),
    /// its rename made durable: after a crash the point is either there or unreadable (no
    /// check), never an older one that would make the batch look misplaced.
    fn prepare_offset_gap(&mut self, base: i64) -> Result<()> {
        let next = self.active.as_ref().map_or(0, |a| a.next_offset);
        if base == next {
            return Ok(());
        }
        self.flush_locked()?;
        write_recovery_point(&self.dir, base)?;
        fsync_dir_at(&self.dir, "atomic.dir_fsync")
    }

    /// Cuts the log back so that it ends at `offset` (Kafka's `truncateTo`, as a follower does
    /// when the leader's log diverged): the batches holding `offset` and after go, whole; a
    /// batch that straddles `offset` goes too. Returns the new log end offset (`offset` or
    /// below). An `offset` at or below the first segment's base empties the log and starts it
    /// at `offset` ([`Log::truncate_fully_and_start_at`]).
    ///
    /// Crash safety: segments go last first, then the one holding `offset` is cut: a crash
    /// leaves a prefix of the old log ending at a batch boundary, longer than asked.
    pub fn truncate_to(&mut self, offset: i64) -> Result<i64> {
        self.reap_background_flush(true)?;
        let segments = list_segments(&self.dir)?;
        if segments.first().is_none_or(|&first| offset <= first) {
            self.truncate_fully_and_start_at(offset)?;
            return Ok(offset);
        }
        self.locked(|log| {
            let leo = log.active.as_ref().map_or(0, |a| a.next_offset);
            if offset >= leo {
                return Ok(leo);
            }
            log.drop_active();
            let segments = list_segments(&log.dir)?;
            let Some(&holder) = segments.iter().rev().find(|&&b| b < offset) else {
                return Err(Error::Internal("no segment below the truncation offset"));
            };
            for &b in segments.iter().rev().filter(|&&b| b > holder) {
                LogSegment::new(&log.dir, b).delete()?;
            }
            fsync_dir_at(&log.dir, "retention.dir_fsync")?;
            let seg = LogSegment::new(&log.dir, holder);
            let start = seg
                .lookup_offset(offset - 1, true)
                .map_or(0, |(_, position)| position);
            let mut reader = seg.open_reader()?;
            let file_len = reader.file_len()?;
            let mut pos = start;
            while let Some((size, last)) = reader.peek(pos, file_len)? {
                if last >= offset {
                    break;
                }
                pos += size;
            }
            let log_path = seg.log_path();
            let file = fs::open_options_regular(OpenOptions::new().write(true))
                .open(&log_path)
                .map_err(Error::io("open", &log_path))?;
            fp::set_len(&file, pos, "recovery.truncate")
                .map_err(Error::io("truncate", &log_path))?;
            fp::sync_all(&file, "recovery.fsync").map_err(Error::io("fsync", &log_path))?;
            // The indexes' entries past the cut are dropped when the segment loads again.
            if read_recovery_point(&log.dir).is_some_and(|rp| rp > offset) {
                write_recovery_point(&log.dir, offset)?;
            }
            if checkpoint::read_cleaner_offset(&log.dir).is_some_and(|c| c > offset) {
                checkpoint::write_cleaner_offset(&log.dir, offset)?;
            }
            log.mark_flushed();
            log.refresh()?;
            Ok(log.active.as_ref().map_or(offset, |a| a.next_offset))
        })
    }

    /// Empties the log and starts it again at `offset` (Kafka's `truncateFullyAndStartAt`, as
    /// a follower does when the leader's log start moved past its end): every segment goes,
    /// the log start offset becomes `offset` and an empty segment starts there.
    ///
    /// Crash safety: segments go last first, then the log start is written (durably), then
    /// the new segment is created. A crash leaves a prefix of the old log, or an empty log at
    /// the old or the new log start; running it again finishes the job.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<()> {
        if offset < 0 {
            return Err(Error::Invalid(format!(
                "negative log start offset {offset}"
            )));
        }
        self.reap_background_flush(true)?;
        self.locked(|log| {
            log.drop_active();
            for &b in list_segments(&log.dir)?.iter().rev() {
                LogSegment::new(&log.dir, b).delete()?;
            }
            fsync_dir_at(&log.dir, "retention.dir_fsync")?;
            write_log_start(&log.dir, offset)?;
            LogSegment::new(&log.dir, offset).create()?;
            write_recovery_point(&log.dir, offset)?;
            if checkpoint::read_cleaner_offset(&log.dir).is_some() {
                checkpoint::write_cleaner_offset(&log.dir, offset)?;
            }
            log.mark_flushed();
            log.refresh()
        })
    }

    /// Forgets the active segment (giving back reserved blocks) before its files change under
    /// it; the next `refresh` loads what is then on disk.
    fn drop_active(&mut self) {
        if let Some(mut a) = self.active.take() {
            a.release_reserved();
        }
    }

    fn append_batch(&mut self, mut batch: impl Appendable) -> Result<AppendInfo> {
        let header = batch.header()?;
        if header.size() != batch.len() || batch.len() < RECORD_BATCH_OVERHEAD {
            return Err(Error::Invalid(format!(
                "batch length field says {} bytes, buffer holds {}",
                header.size(),
                batch.len()
            )));
        }
        // Kafka's limits: max.message.bytes for a whole batch, and no batch larger than a
        // segment (RecordBatchTooLargeException).
        if batch.len() > self.config.max_message_bytes as usize {
            return Err(Error::RecordTooLarge {
                size: batch.len(),
                max: self.config.max_message_bytes as usize,
                config: "max.message.bytes",
            });
        }
        if batch.len() > self.config.segment_bytes as usize {
            return Err(Error::RecordTooLarge {
                size: batch.len(),
                max: self.config.segment_bytes as usize,
                config: "segment.bytes",
            });
        }
        self.locked(|log| log.append_locked(&mut batch, &header))
    }

    fn append_locked(
        &mut self,
        batch: &mut impl Appendable,
        header: &BatchHeader,
    ) -> Result<AppendInfo> {
        let now = now_ms();
        let mut max_timestamp = header.max_timestamp;
        let replica_base = batch.replica_base();
        if let Some(base) = replica_base {
            self.check_replica_base(base)?;
        } else if self.config.message_timestamp_type == TimestampType::LogAppendTime {
            batch.set_log_append_time(now);
            max_timestamp = now;
        }
        self.maybe_roll(
            batch.len() as u64,
            max_timestamp,
            header.last_offset_delta,
            replica_base,
        )?;
        if let Some(base) = replica_base {
            self.prepare_offset_gap(base)?;
        }
        let active = self
            .active
            .as_mut()
            .ok_or(Error::Internal("no active segment after refresh"))?;
        active.reserve_ahead(batch.len() as u64, self.config.segment_bytes as u64);
        let base_offset = replica_base.unwrap_or(active.next_offset);
        batch.set_base_offset(base_offset);
        let last_offset = base_offset + header.last_offset_delta as i64;
        let position = active.size;
        if let Err(e) = batch.write_at(&active.log, position) {
            // Leave no partial batch behind for readers; recovery would cut it anyway.
            let _ = fp::set_len(&active.log, position, "append.truncate_failed");
            return Err(Error::io("write", &active.log_path)(e));
        }
        active.size += batch.len() as u64;
        active.next_offset = last_offset + 1;
        if active.first_batch_timestamp.is_none() {
            active.first_batch_timestamp = Some(max_timestamp);
        }
        if max_timestamp > active.max_timestamp {
            active.max_timestamp = max_timestamp;
            active.offset_of_max_timestamp = last_offset;
        }
        if position - active.last_indexed_position > self.config.index_interval_bytes as u64 {
            active.offset_index.append(last_offset, position as u32)?;
            active.time_index.maybe_append(
                active.max_timestamp,
                active.offset_of_max_timestamp,
                false,
            )?;
            active.last_indexed_position = position;
        }
        let info = AppendInfo {
            base_offset,
            last_offset,
            max_timestamp,
            segment_base: active.base_offset,
            position,
        };
        self.unwritten_back += batch.len() as u64;
        self.unflushed_messages += header.records_count.max(0) as i64;
        self.first_unflushed.get_or_insert_with(Instant::now);
        if self.unflushed_messages >= self.config.flush_messages {
            self.flush_locked()?;
        } else if self.unwritten_back >= WRITEBACK_BYTES {
            self.unwritten_back = 0;
            self.start_writeback();
        }
        Ok(info)
    }

    /// Hands the active segment to the helper thread for an early writeback, unless one
    /// already waits; from now on the writer reserves blocks ahead (see the module doc).
    fn start_writeback(&mut self) {
        let Some(a) = &mut self.active else {
            return;
        };
        a.reserved_to.get_or_insert(a.size);
        if self.syncer.is_none() {
            self.syncer = spawn_syncer(&self.dir).ok();
        }
        // A descriptor of its own: see the module doc.
        if let Some(f) = &self.syncer
            && let Ok(file) = File::open(&a.log_path)
        {
            f.jobs.hand(file, false);
            self.writeback = Some(self.writeback.map_or(1, |n| n + 1));
        }
    }

    /// fsyncs when `flush.messages` or `flush.ms` says so. Call it when idle too, so that a
    /// quiet producer's last records are flushed on time.
    pub fn maybe_flush(&mut self) -> Result<bool> {
        let due = self.unflushed_messages >= self.config.flush_messages
            || self
                .first_unflushed
                .is_some_and(|t| t.elapsed().as_millis() as i64 >= self.config.flush_ms);
        if due {
            self.flush()?;
        }
        Ok(due)
    }

    /// [`Log::maybe_flush`] for a writer that must not wait on the disk (a producer whose
    /// records readers follow): when `flush.ms` makes a flush due, the active segment's fsync
    /// starts on a helper thread and this returns at once, and appends go on meanwhile. A
    /// later call of this or of [`Log::finish_background_flush`] that finds it done moves the
    /// recovery point to the log end offset it started at and returns that offset, or returns
    /// its fsync error (everything since the last flush then counts as unflushed again);
    /// [`Log::flush`] waits for it first. One runs at a time; `flush.messages` still flushes
    /// in `append` itself.
    pub fn maybe_flush_in_background(&mut self) -> Result<Option<i64>> {
        let reached = self.reap_background_flush(false)?;
        let due = self
            .first_unflushed
            .is_some_and(|t| t.elapsed().as_millis() as i64 >= self.config.flush_ms);
        if due && self.syncer.as_ref().is_none_or(|f| f.in_flight.is_none()) {
            self.locked(Self::start_background_flush_locked)?;
        }
        Ok(reached)
    }

    /// Waits for the background flush in flight, if any; see
    /// [`Log::maybe_flush_in_background`].
    pub fn finish_background_flush(&mut self) -> Result<Option<i64>> {
        self.reap_background_flush(true)
    }

    fn start_background_flush_locked(&mut self) -> Result<()> {
        let Some(a) = &self.active else {
            return Ok(());
        };
        // The writer's own open file (a duplicate descriptor): a write error is reported to
        // it once, at its next fsync, whoever makes that fsync. A file opened now would not
        // report an error that the early writeback met (and dropped) before.
        let file = a.log.try_clone().map_err(Error::io("open", &a.log_path))?;
        let sync = fp::start_background_sync(&file, "log.flush_background")
            .map_err(Error::io("fsync", &a.log_path))?;
        let in_flight = InFlight {
            target: a.next_offset,
            log_path: a.log_path.clone(),
            sync,
        };
        if self.syncer.is_none() {
            self.syncer = Some(spawn_syncer(&self.dir)?);
        }
        let Some(f) = &mut self.syncer else {
            return Err(Error::Internal("no flush thread"));
        };
        f.jobs.hand(file, true);
        f.in_flight = Some(in_flight);
        // What was appended so far is being flushed: `flush.ms` counts from the next append.
        self.mark_flushed();
        Ok(())
    }

    /// Takes the result of the background flush in flight (waiting for it when `wait`);
    /// when it succeeded, raises the recovery point to its target.
    fn reap_background_flush(&mut self, wait: bool) -> Result<Option<i64>> {
        let Some(f) = &mut self.syncer else {
            return Ok(None);
        };
        if f.in_flight.is_none() {
            return Ok(None);
        }
        let result = if wait {
            f.done.recv().ok()
        } else {
            match f.done.try_recv() {
                Ok(r) => Some(r),
                Err(std::sync::mpsc::TryRecvError::Empty) => return Ok(None),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => None,
            }
        };
        let Some(done) = f.in_flight.take() else {
            return Ok(None);
        };
        let outcome = match result {
            Some(r) => done
                .sync
                .done(r, "log.flush_background_done")
                .map_err(Error::io("fsync", &done.log_path)),
            None => Err(Error::Internal("the flush thread stopped")),
        };
        if let Err(e) = outcome {
            // Nothing it covered counts as flushed: the next `flush` fsyncs again.
            self.unflushed_messages = self.unflushed_messages.max(1);
            self.first_unflushed.get_or_insert_with(Instant::now);
            return Err(e);
        }
        let target = done.target;
        self.locked(|log| {
            // Never lower it: a roll or a flush since may have moved it further. A hint, as
            // in `flush_locked`.
            if read_recovery_point(&log.dir).is_none_or(|rp| rp < target) {
                let _ = write_recovery_point(&log.dir, target);
            }
            Ok(())
        })?;
        Ok(Some(target))
    }

    /// Time until `flush.ms` makes a flush due, if anything is unflushed; while a background
    /// flush is in flight, [`FLUSH_POLL`] (no other starts before it ends), so that its end
    /// is seen soon.
    pub fn flush_due_in(&self) -> Option<std::time::Duration> {
        if self.syncer.as_ref().is_some_and(|f| f.in_flight.is_some()) {
            return Some(FLUSH_POLL);
        }
        let t = self.first_unflushed?;
        let ms = self.config.flush_ms.max(0) as u64;
        Some(std::time::Duration::from_millis(ms).saturating_sub(t.elapsed()))
    }

    /// fsyncs the active segment's `.log` (not its indexes: see `flush_locked`), then advances
    /// the recovery point.
    pub fn flush(&mut self) -> Result<()> {
        self.reap_background_flush(true)?;
        if self.first_unflushed.is_none() {
            return Ok(());
        }
        self.locked(Self::flush_locked)
    }

    fn flush_locked(&mut self) -> Result<()> {
        if let Some(a) = &self.active {
            // Only the log is fsynced: index entries are hints that recovery checks against
            // the log and rebuilds past the recovery point, so they need no fsync of their own
            // (they are fsynced when the segment rolls).
            fp::sync_data(&a.log, "log.fsync").map_err(Error::io("fsync", &a.log_path))?;
            // A hint: when it cannot be written (a full disk), recovery just scans more.
            let _ = write_recovery_point(&self.dir, a.next_offset);
        }
        self.mark_flushed();
        Ok(())
    }

    /// Everything appended so far is fsynced: nothing is due for `flush.ms`, `flush.messages`
    /// or an early writeback (which is for what no flush covers, so never under `--sync`).
    fn mark_flushed(&mut self) {
        self.unwritten_back = 0;
        self.unflushed_messages = 0;
        self.first_unflushed = None;
    }

    /// Closes the active segment now and starts a new one at the log end offset (unless the
    /// active segment is empty). Returns the new active segment's base offset.
    pub fn roll(&mut self) -> Result<i64> {
        self.locked(|log| {
            if log.active.as_ref().is_some_and(|a| a.size > 0) {
                log.roll_locked()?;
            }
            Ok(log.active.as_ref().map_or(0, |a| a.base_offset))
        })
    }

    fn maybe_roll(
        &mut self,
        size: u64,
        max_timestamp: i64,
        last_delta: i32,
        replica_base: Option<i64>,
    ) -> Result<()> {
        let Some(a) = &self.active else {
            return Ok(());
        };
        let c = &self.config;
        let full_size = a.size > 0 && a.size + size > c.segment_bytes as u64;
        let time_waited = match a.first_batch_timestamp {
            Some(first) if first >= 0 => max_timestamp - first,
            _ => SystemTime::now()
                .duration_since(a.opened)
                .map_or(0, |d| d.as_millis() as i64),
        };
        let jitter = 0; // segment.jitter.ms: deterministic 0 jitter for a single local writer
        let too_old = a.size > 0 && time_waited > c.segment_ms - jitter;
        let index_full = a.offset_index.is_full() || a.time_index.is_full();
        let first = replica_base.unwrap_or(a.next_offset);
        let overflow = first + last_delta as i64 - a.base_offset > i32::MAX as i64;
        if full_size || too_old || index_full || overflow {
            self.roll_locked()?;
        }
        Ok(())
    }

    fn roll_locked(&mut self) -> Result<()> {
        let Some(mut a) = self.active.take() else {
            return Ok(());
        };
        a.time_index
            .maybe_append(a.max_timestamp, a.offset_of_max_timestamp, true)?;
        let next = a.next_offset;
        a.release_reserved();
        fp::sync_data(&a.log, "log.fsync").map_err(Error::io("fsync", &a.log_path))?;
        a.offset_index.trim()?;
        a.time_index.trim()?;
        LogSegment::new(&self.dir, next).create()?;
        write_recovery_point(&self.dir, next)?;
        self.mark_flushed();
        self.active = Some(self.load_active(next, Some(next))?);
        // Retention runs when a segment rolls, as in Kafka.
        self.delete_old_segments_locked(now_ms())?;
        Ok(())
    }

    /// Brings the writer's view of the active segment up to date with the disk, recovering
    /// the segment's tail when loading it. Must hold the lock.
    fn refresh(&mut self) -> Result<()> {
        if let Some(a) = &self.active
            && self.still_current(a)
        {
            return Ok(());
        }
        self.active = None;
        if !self.checked_closed {
            // What an interrupted compaction swap or segment deletion left behind.
            recover_cleaner_leftovers(&self.dir)?;
            retention::remove_leftovers(&self.dir)?;
            remove_repair_leftovers(&self.dir)?;
        }
        let segments = list_segments(&self.dir)?;
        let base = match segments.last() {
            Some(&b) => b,
            None => {
                let base = read_log_start(&self.dir).unwrap_or(0).max(0);
                LogSegment::new(&self.dir, base).create()?;
                base
            }
        };
        if !self.checked_closed {
            // The last closed segment is the one a crash during a roll could have left with
            // untrimmed or missing indexes; older ones were checked when they were last in
            // that place (and `segments verify --repair` checks every one). Readers never
            // trust an index entry without checking it against the log.
            if let Some(&b) = segments.iter().rev().nth(1) {
                LogSegment::new(&self.dir, b)
                    .rebuild_indexes_if_damaged(self.config.index_interval_bytes)?;
            }
            self.checked_closed = true;
        }
        let rp = recovery_point(&self.dir);
        self.active = Some(self.load_active(base, rp)?);
        Ok(())
    }

    /// Cheap check that no other process appended, rolled or recovered since our last look.
    fn still_current(&self, a: &ActiveSegment) -> bool {
        let Ok(meta) = a.log.metadata() else {
            return false;
        };
        meta.len() == a.size
            && meta.nlink() > 0
            && !LogSegment::new(&self.dir, a.next_offset)
                .log_path()
                .exists()
            && a.offset_index.matches_disk()
            && a.time_index.matches_disk()
    }

    /// Opens segment `base` as the active one and recovers its tail from `recovery_point`.
    fn load_active(&mut self, base: i64, recovery_point: Option<i64>) -> Result<ActiveSegment> {
        let seg = LogSegment::new(&self.dir, base);
        let log_path = seg.log_path();
        let log = fp::open(
            fs::open_options_regular(
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false),
            ),
            &log_path,
            "segment.open",
        )
        .map_err(Error::io("open", &log_path))?;
        fs::ensure_regular(&log, &log_path)?;
        let max = self.config.segment_index_bytes;
        let mut offset_index = OffsetIndex::open(&seg.index_path(), base, max)?;
        let mut time_index = TimeIndex::open(&seg.time_index_path(), base, max)?;

        // Index entries at or past the recovery point may describe data that never reached
        // the disk: keep only the ones below it, and only if they point inside the file.
        let file_len = log.metadata().map_err(Error::io("stat", &log_path))?.len();
        let trusted_below = recovery_point.filter(|&rp| rp > base).unwrap_or(base);
        let keep = (0..offset_index.entries())
            .take_while(|&s| {
                offset_index.entry(s).is_some_and(|e| {
                    e.offset < trusted_below && (e.position as u64) < file_len && e.offset > base
                })
            })
            .count();
        offset_index.truncate_entries(keep)?;
        let mut reader = ChunkReader::new(
            log.try_clone().map_err(Error::io("open", &log_path))?,
            &log_path,
        );
        // Drop the last kept entry too if it does not point at the batch it claims.
        if let Some(last) = offset_index.last_entry()
            && reader
                .header_at(last.position as u64)
                .is_none_or(|h| h.last_offset() != last.offset)
        {
            offset_index.truncate_entries(0)?;
        }
        let interval = self.config.index_interval_bytes as u64;
        let mut first_batch_ts = None;
        // Re-validate from the batch of the last trusted index entry (its base offset is not
        // known, so the scan only asks it to be at or above the segment base). If that batch
        // is not whole, the entry is stale and the offset before it unknown: drop the index
        // and scan the segment from its start.
        let mut scan_all = false;
        let (scan, last_indexed, max_ts, max_ts_offset, contiguous) = loop {
            if scan_all {
                offset_index.truncate_entries(0)?;
            }
            let start_pos = offset_index.last_entry().map_or(0, |e| e.position as u64);
            time_index
                .truncate_to_offset(offset_index.last_entry().map_or(base, |e| e.offset + 1))?;
            let (mut max_ts, mut max_ts_offset) = time_index
                .last_entry()
                .map_or((-1, base), |e| (e.timestamp, e.offset));
            let mut last_indexed = start_pos;
            let mut index_error = None;
            let mut contiguous = Contiguous::from(recovery_point, base, start_pos);
            let scan = seg.scan(&mut reader, start_pos, |pos, h| {
                if !contiguous.accept(pos, h) {
                    return;
                }
                if pos == 0 {
                    first_batch_ts = Some(h.max_timestamp);
                }
                if h.max_timestamp > max_ts {
                    max_ts = h.max_timestamp;
                    max_ts_offset = h.last_offset();
                }
                if pos > last_indexed && pos - last_indexed > interval && index_error.is_none() {
                    index_error = offset_index
                        .append(h.last_offset(), pos as u32)
                        .and_then(|()| time_index.maybe_append(max_ts, max_ts_offset, false))
                        .err();
                    last_indexed = pos;
                }
            })?;
            if let Some(e) = index_error {
                return Err(e);
            }
            if start_pos > 0 && scan.valid_end == start_pos && !scan_all {
                scan_all = true;
                continue;
            }
            break (scan, last_indexed, max_ts, max_ts_offset, contiguous);
        };
        let scan = contiguous.apply(scan, &log_path);
        if scan.valid_end < file_len {
            // What a crash can leave is an incomplete last entry (a killed writer) and, after a
            // power loss, bytes that never reached the disk past the last fsync: all of it
            // above the recovery point, none of it with a checksum that holds. Anything else
            // is damage that the next append must not cut: bytes below the recovery point
            // were fsynced and acknowledged, and a batch whose checksum holds was written as
            // it is. No append goes in until `segments verify --repair` has dealt with it.
            if !scan.stopped_at_crash_debris(&mut reader, base, recovery_point)? {
                return Err(scan.damage.unwrap_or_else(|| {
                    Error::corrupt(
                        &log_path,
                        scan.valid_end,
                        DecodeError::Truncated {
                            at: 0,
                            needed: 17,
                            available: (file_len - scan.valid_end) as usize,
                        },
                    )
                }));
            }
            // A torn or garbage tail: everything from the first bad byte goes.
            fp::set_len(&log, scan.valid_end, "recovery.truncate")
                .map_err(Error::io("truncate", &log_path))?;
            fp::sync_all(&log, "recovery.fsync").map_err(Error::io("fsync", &log_path))?;
            if let Some(reason) = scan.damage {
                self.recoveries.push(Truncation {
                    path: log_path.clone(),
                    position: scan.valid_end,
                    removed_bytes: file_len - scan.valid_end,
                    reason,
                });
            }
        }
        if first_batch_ts.is_none() && scan.valid_end > 0 {
            first_batch_ts = reader.header_at(0).map(|h| h.max_timestamp);
        }
        let next_offset = if scan.valid_end == 0 {
            base
        } else {
            scan.next_offset
        };
        if recovery_point.is_some_and(|rp| rp >= base && rp > next_offset) {
            // The log now ends below its recovery point (cut here or before): lower the point,
            // or the batches appended from here on would straddle it. Everything below
            // `next_offset` is fsynced: below the old point, or by the truncation above.
            let _ = write_recovery_point(&self.dir, next_offset);
        }
        let meta = log.metadata().ok();
        if let Some(m) = &meta
            && fs::allocated_bytes(m) > m.len().next_multiple_of(RESERVED_SLACK) + RESERVED_SLACK
        {
            // Blocks reserved by a writer that died (or lost its view) before giving them
            // back: a truncate to the file's own length frees them and changes no byte.
            let _ = log.set_len(m.len());
        }
        let opened = meta
            .and_then(|m| m.created().or_else(|_| m.modified()).ok())
            .unwrap_or_else(SystemTime::now);
        Ok(ActiveSegment {
            base_offset: base,
            log_path,
            log,
            size: scan.valid_end,
            offset_index,
            time_index,
            next_offset,
            last_indexed_position: last_indexed,
            max_timestamp: max_ts,
            offset_of_max_timestamp: max_ts_offset,
            first_batch_timestamp: first_batch_ts,
            opened,
            reserved_to: None,
        })
    }
}

/// Recovery's check of the active segment's base offsets, which the CRC does not cover: the
/// batches from klog's recovery point on are klog's appends since its last flush, so they
/// continue each other (the rule is `continues_after_recovery_point`, which readers apply too;
/// gaps elsewhere are legal: compaction, or a broker replicating a compacted partition, leave
/// them). The scan goes on past a batch that breaks this, but recovery truncates there.
struct Contiguous {
    /// klog's recovery point, while the rule applies (`None`: no check).
    recovery_point: Option<i64>,
    /// Next offset after the last batch accepted (`None`: the scan started after a batch it
    /// did not see).
    next_offset: Option<i64>,
    /// The first batch that broke the rule: (position, its base offset).
    broken: Option<(u64, i64)>,
}

impl Contiguous {
    fn from(recovery_point: Option<i64>, base: i64, start_pos: u64) -> Contiguous {
        Contiguous {
            recovery_point: recovery_point.filter(|&rp| rp >= base),
            next_offset: (start_pos == 0).then_some(base),
            broken: None,
        }
    }

    /// Whether the batch at `pos` is still part of the valid log.
    fn accept(&mut self, pos: u64, h: &BatchHeader) -> bool {
        if self.broken.is_some() {
            return false;
        }
        if let Some(rp) = self.recovery_point
            && h.last_offset() >= rp
        {
            if h.magic != fbatch::CURRENT_MAGIC {
                // Legacy entries are never klog's: stop checking at one.
                self.recovery_point = None;
            } else if !continues_after_recovery_point(rp, self.next_offset, h.base_offset) {
                self.broken = Some((pos, h.base_offset));
                return false;
            }
        }
        self.next_offset = Some(h.next_offset());
        true
    }

    /// The scan, ending at the first batch that broke the rule.
    fn apply(self, scan: Scan, path: &Path) -> Scan {
        match self.broken {
            None => scan,
            Some((pos, got)) => Scan {
                valid_end: pos,
                next_offset: self.next_offset.unwrap_or(scan.next_offset),
                damage: Some(Error::corrupt(
                    path,
                    pos,
                    DecodeError::BadLength {
                        at: 0,
                        what: "base offset (the batches after the recovery point are contiguous)",
                        value: got,
                    },
                )),
            },
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        // Best effort: a clean exit leaves everything flushed. Errors are for `flush` callers.
        let _ = self.flush();
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.reserved_to.is_some())
        {
            // Under the lock and with a view checked against the disk: another writer may
            // have appended since. A stale view is reloaded instead, and loading gives back
            // a reservation that reaches 2 MiB or more past the end.
            let _ = self.locked(|log| {
                if let Some(a) = &mut log.active {
                    a.release_reserved();
                }
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The helper thread's queue: one writeback waits at most (a second one is dropped, the
    /// writer appends on), a flush goes before a waiting writeback, and the thread ends once
    /// the writer is gone and nothing waits.
    #[test]
    fn the_helper_takes_a_flush_first_and_keeps_one_writeback() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| File::create(dir.path().join(name)).unwrap();
        let ino = |f: &File| std::os::unix::fs::MetadataExt::ino(&f.metadata().unwrap());
        let jobs = SyncJobs::default();
        let (wb1, wb2, flush) = (open("wb1"), open("wb2"), open("flush"));
        let (wb1_ino, flush_ino) = (ino(&wb1), ino(&flush));
        jobs.hand(wb1, false);
        jobs.hand(wb2, false);
        jobs.hand(flush, true);
        let (f, is_flush) = jobs.next().unwrap();
        assert!(is_flush && ino(&f) == flush_ino);
        let (f, is_flush) = jobs.next().unwrap();
        assert!(
            !is_flush && ino(&f) == wb1_ino,
            "the first writeback, not the second"
        );
        jobs.waiting().closed = true;
        assert!(jobs.next().is_none());
    }
    /// A batch of `n` records with 100-byte values, at base offset `base` (its CRC holds).
    fn replica_batch(base: i64, n: usize, ts: i64) -> Vec<u8> {
        let mut b = crate::format::BatchBuilder::new();
        for i in 0..n {
            b.append(ts + i as i64, Some(b"k"), Some(&[b'v'; 100]), &[]);
        }
        let mut bytes = b.finish();
        fbatch::set_base_offset(&mut bytes, base);
        bytes
    }

    fn small_segments() -> LogConfig {
        let mut m = std::collections::BTreeMap::new();
        m.insert("segment.bytes".to_string(), "2000".to_string());
        m.insert("index.interval.bytes".to_string(), "300".to_string());
        m.insert("retention.ms".to_string(), "-1".to_string());
        LogConfig::from_overrides(&m).unwrap()
    }

    /// Every batch of the partition, as stored: (base offset, bytes).
    fn batches(dir: &Path) -> Vec<(i64, Vec<u8>)> {
        let mut r = super::super::reader::LogReader::open(dir).unwrap();
        let start = r.log_start_offset();
        r.seek(start).unwrap();
        let mut out = Vec::new();
        while let Some(b) = r.next_batch().unwrap() {
            let bytes = b.batch.as_batch().unwrap().as_bytes().to_vec();
            out.push((b.batch.as_batch().unwrap().header.base_offset, bytes));
        }
        out
    }

    /// Replicated batches keep their offsets (gaps too), bytes and timestamps, across rolls
    /// and a writer that dies without flushing; nothing goes below the log end.
    #[test]
    fn replicated_batches_keep_their_offsets_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t-0");
        let mut sent = Vec::new();
        {
            let mut log = Log::open(&p, small_segments()).unwrap();
            for (base, n) in [(0, 3), (3, 2), (10, 4), (14, 1), (40, 5), (45, 2)] {
                let b = replica_batch(base, n, 1_000 + base);
                let info = log.append_replica(&b).unwrap();
                assert_eq!(
                    (info.base_offset, info.last_offset),
                    (base, base + n as i64 - 1)
                );
                sent.push((base, b));
            }
            assert_eq!(log.log_end_offset().unwrap(), 47);
            // A batch below the log end is refused, whatever its content.
            let err = log.append_replica(&replica_batch(46, 1, 0)).unwrap_err();
            assert!(
                err.to_string().contains("below the log end offset 47"),
                "{err}"
            );
            // A batch whose CRC fails is refused.
            let mut bad = replica_batch(50, 1, 0);
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(
                log.append_replica(&bad)
                    .unwrap_err()
                    .to_string()
                    .contains("crc mismatch")
            );
            // Gone without a flush, as after kill -9.
            std::mem::forget(log);
        }
        assert!(list_segments(&p).unwrap().len() > 1, "it rolled");
        assert_eq!(batches(&p), sent);
        let mut log = Log::open(&p, small_segments()).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), 47, "recovery cut nothing");
        let b = replica_batch(60, 1, 5);
        log.append_replica(&b).unwrap();
        sent.push((60, b));
        drop(log);
        assert_eq!(batches(&p), sent);
        let report = super::super::verify::verify_partition(&p).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    /// Truncation cuts whole batches (one straddling the offset too) across segments, and
    /// replication goes on from the new end.
    #[test]
    fn truncate_to_cuts_whole_batches_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t-0");
        let mut log = Log::open(&p, small_segments()).unwrap();
        let mut sent = Vec::new();
        for i in 0..20 {
            let b = replica_batch(i * 3, 3, i);
            log.append_replica(&b).unwrap();
            sent.push((i * 3, b));
        }
        assert!(list_segments(&p).unwrap().len() > 3);
        // 31 is inside the batch 30..=32: it goes, the log ends at 30.
        assert_eq!(log.truncate_to(31).unwrap(), 30);
        assert_eq!(log.log_end_offset().unwrap(), 30);
        assert!(list_segments(&p).unwrap().iter().all(|&b| b <= 30));
        assert_eq!(batches(&p), sent[..10].to_vec());
        // Past the end: nothing changes.
        assert_eq!(log.truncate_to(100).unwrap(), 30);
        let b = replica_batch(30, 2, 0);
        log.append_replica(&b).unwrap();
        drop(log);
        let mut expected = sent[..10].to_vec();
        expected.push((30, b));
        assert_eq!(batches(&p), expected);
        assert!(read_recovery_point(&p).is_some_and(|rp| rp <= 32));
        let report = super::super::verify::verify_partition(&p).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    /// Starting again at an offset: everything goes, the log start and end are that offset,
    /// and a replicated batch lands there.
    #[test]
    fn truncate_fully_starts_the_log_at_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t-0");
        let mut log = Log::open(&p, small_segments()).unwrap();
        for i in 0..10 {
            log.append_replica(&replica_batch(i * 3, 3, i)).unwrap();
        }
        log.truncate_fully_and_start_at(500).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), 500);
        assert_eq!(log.log_start_offset().unwrap(), 500);
        assert_eq!(list_segments(&p).unwrap(), vec![500]);
        let b = replica_batch(500, 2, 7);
        log.append_replica(&b).unwrap();
        // And back down (a leader whose whole log diverged).
        log.truncate_fully_and_start_at(5).unwrap();
        assert_eq!(log.log_start_offset().unwrap(), 5);
        assert_eq!(log.log_end_offset().unwrap(), 5);
        let b = replica_batch(5, 2, 7);
        log.append_replica(&b).unwrap();
        drop(log);
        assert_eq!(batches(&p), vec![(5, b)]);
        // An offset at or below the first segment's base empties the log too.
        let mut log = Log::open(&p, small_segments()).unwrap();
        assert_eq!(log.truncate_to(5).unwrap(), 5);
        assert_eq!(log.log_end_offset().unwrap(), 5);
        drop(log);
        assert!(batches(&p).is_empty());
    }
}
