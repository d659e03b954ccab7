//! The fetch state of one partition: where reading starts and stops, the position, what the
//! front end has delivered, and the records of each batch that are in range.
//!
//! # Invariants
//! 1. The position (the next offset to hand out) only moves forward while reading: past a
//!    record taken, or past a whole entry read to its end (compaction leaves gaps). Only the
//!    out-of-range rule ([`PartitionFetch::reset_if_out_of_range`]) moves it elsewhere.
//! 2. A record is handed out only if its offset is at or past the position and before the
//!    stop offset, and its timestamp before the stop time; the first record at or past a
//!    stop ends the fetch.
//! 3. The delivered position never passes the position: it is the position as of the last
//!    [`PartitionFetch::mark_delivered`], what a group member may commit.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::group::{OutOfRange, PartitionLock};
use crate::storage::file_names::log_file;
use crate::storage::{BatchRef, Entry, LogReader, LogRecord};
use crate::topic::Topic;

/// Where to start reading a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartSpec {
    /// The log start offset.
    Beginning,
    /// The log end offset: only records appended from now on.
    End,
    /// This offset (the log start offset if it is below it).
    Offset(i64),
    /// N records before the end of each partition.
    Last(i64),
    /// The first record with a timestamp at or after this (ms).
    Time(i64),
}

/// Where to stop reading a partition (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSpec {
    /// The log end offset seen when the partition was opened.
    End,
    Offset(i64),
    /// The first record with a timestamp at or after this (ms).
    Time(i64),
}

/// Where a group member starts on a partition without a committed offset, or whose
/// committed offset (or position) lies outside the log: Kafka's `auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetPolicy {
    Earliest,
    Latest,
}

impl ResetPolicy {
    /// `earliest` or `latest`, as Kafka spells the policy.
    pub fn name(self) -> &'static str {
        match self {
            ResetPolicy::Earliest => "earliest",
            ResetPolicy::Latest => "latest",
        }
    }

    /// Where the policy starts reading.
    pub fn start(self) -> StartSpec {
        match self {
            ResetPolicy::Earliest => StartSpec::Beginning,
            ResetPolicy::Latest => StartSpec::End,
        }
    }
}

/// A position moved by the out-of-range rule: the caller tells the user (Kafka's consumer
/// logs the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetReset {
    pub partition: u32,
    /// True for a committed offset found when taking the partition; false for the position
    /// of a partition being read (its log lost its head or its tail meanwhile).
    pub committed: bool,
    /// The offset outside the log.
    pub offset: i64,
    pub out_of_range: OutOfRange,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    /// Where reading goes on.
    pub reset_to: i64,
    pub policy: ResetPolicy,
}

impl OffsetReset {
    /// "committed offset" or "position": which offset was outside the log.
    pub fn what(&self) -> &'static str {
        if self.committed {
            "committed offset"
        } else {
            "position"
        }
    }

    /// "below the log start 5", "past the log end 11".
    pub fn why(&self) -> String {
        self.out_of_range
            .describe(self.log_start_offset, self.log_end_offset)
    }
}

/// What a record or a fetch position is next to the range being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// Below the position: read already.
    Skip,
    Take,
    /// At or past a stop: the fetch is done.
    Stop,
}

/// The moving part of a fetch: the position and where to stop.
#[derive(Debug, Clone, Copy)]
struct Range {
    /// Next offset to hand out.
    next: i64,
    /// Stop before this offset (None: never, when following).
    stop: Option<i64>,
    /// Following with a stop time before any record that late exists: stop at the first
    /// record whose timestamp reaches this.
    stop_time: Option<i64>,
    done: bool,
}

impl Range {
    #[inline(always)]
    fn admit(&mut self, offset: i64, timestamp: i64) -> Admit {
        if offset < self.next {
            return Admit::Skip;
        }
        if self.stop.is_some_and(|stop| offset >= stop)
            || self.stop_time.is_some_and(|t| timestamp >= t)
        {
            self.done = true;
            return Admit::Stop;
        }
        Admit::Take
    }

    /// Moves the position to `next` (past what was read), ending the fetch at its stop.
    #[inline(always)]
    fn move_to(&mut self, next: i64) {
        self.next = next;
        if self.stop.is_some_and(|stop| next >= stop) {
            self.done = true;
        }
    }
}

/// The fetch state of one partition: its reader, the position, where to stop, and (for a
/// group member) its ownership and what was committed.
pub struct PartitionFetch {
    partition: u32,
    topic: String,
    dir: PathBuf,
    reader: Option<LogReader>,
    follow: bool,
    range: Range,
    /// The position as of the last [`PartitionFetch::mark_delivered`]: what may be committed.
    delivered: i64,
    log_start: i64,
    log_end: i64,
    /// What the group has committed for this partition (or what it started from).
    pub(super) committed: Option<i64>,
    /// Ownership of the partition in a group.
    pub(super) lock: Option<PartitionLock>,
}

impl PartitionFetch {
    /// Opens a partition and resolves where to start and stop: `start` against the log
    /// start and end offsets (or the time index), `stop` the same, the end being the log end
    /// offset seen now. When following, there is no stop unless one is given, and a stop time
    /// that no record reaches yet stops at the first record that does. A partition without a
    /// directory yet is empty; when following, its reader is opened once it appears.
    ///
    /// Damage in the last segment hides the log end offset: reading then goes up to the
    /// damage, where the reader stops with the error (unless `start` itself needs the end).
    pub fn open(
        topic: &Topic,
        partition: u32,
        start: StartSpec,
        stop: Option<StopSpec>,
        follow: bool,
    ) -> Result<PartitionFetch> {
        let dir = topic.partition_dir(partition);
        let Some(reader) = topic.open_reader(partition)? else {
            return Ok(Self::empty(topic, partition, dir, start, stop, follow));
        };
        Self::with_reader(topic, partition, dir, reader, start, stop, follow)
            .map_err(Error::partition("read", &topic.name, partition))
    }

    /// A partition without a directory.
    fn empty(
        topic: &Topic,
        partition: u32,
        dir: PathBuf,
        start: StartSpec,
        stop: Option<StopSpec>,
        follow: bool,
    ) -> PartitionFetch {
        let stop_offset = match stop {
            Some(StopSpec::Offset(o)) => Some(o),
            Some(StopSpec::Time(_)) if follow => None,
            Some(_) => Some(0),
            None if follow => None,
            None => Some(0),
        };
        let stop_time = match stop {
            Some(StopSpec::Time(t)) if follow => Some(t),
            _ => None,
        };
        let next = match start {
            StartSpec::Offset(o) => o.max(0),
            _ => 0,
        };
        Self::new(
            topic,
            partition,
            dir,
            None,
            follow,
            next,
            stop_offset,
            stop_time,
            (0, 0),
        )
    }

    fn with_reader(
        topic: &Topic,
        partition: u32,
        dir: PathBuf,
        mut reader: LogReader,
        start: StartSpec,
        stop: Option<StopSpec>,
        follow: bool,
    ) -> Result<PartitionFetch> {
        let (end, damage) = match reader.log_end_offset() {
            Ok(end) => (end, None),
            Err(e @ Error::Corrupt { .. }) => (i64::MAX, Some(e)),
            Err(e) => return Err(e),
        };
        let log_start = reader.log_start_offset();
        if let (Some(e), StartSpec::End | StartSpec::Last(_)) = (damage, start) {
            return Err(e);
        }
        let next = match start {
            StartSpec::Beginning => log_start,
            StartSpec::End => end,
            StartSpec::Offset(o) => o.max(log_start),
            StartSpec::Last(n) => end.saturating_sub(n).max(log_start),
            StartSpec::Time(t) => reader.offset_for_timestamp(t)?.unwrap_or(end),
        };
        let mut stop_time = None;
        let stop_offset = match stop {
            Some(StopSpec::End) => Some(end),
            Some(StopSpec::Offset(o)) => Some(o),
            Some(StopSpec::Time(t)) => match reader.offset_for_timestamp(t)? {
                Some(o) => Some(o),
                // No record that late yet: a follower stops at the first one to arrive.
                None if follow => {
                    stop_time = Some(t);
                    None
                }
                None => Some(end),
            },
            None if follow => None,
            None => Some(end),
        };
        reader.seek(next)?;
        Ok(Self::new(
            topic,
            partition,
            dir,
            Some(reader),
            follow,
            next,
            stop_offset,
            stop_time,
            (log_start, end),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        topic: &Topic,
        partition: u32,
        dir: PathBuf,
        reader: Option<LogReader>,
        follow: bool,
        next: i64,
        stop: Option<i64>,
        stop_time: Option<i64>,
        (log_start, log_end): (i64, i64),
    ) -> PartitionFetch {
        PartitionFetch {
            partition,
            topic: topic.name.clone(),
            dir,
            reader,
            follow,
            range: Range {
                next,
                done: stop.is_some_and(|s| next >= s),
                stop,
                stop_time,
            },
            delivered: next,
            log_start,
            log_end,
            committed: None,
            lock: None,
        }
    }

    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The next offset to hand out.
    pub fn position(&self) -> i64 {
        self.range.next
    }

    /// Where reading stops (exclusive), if it does at an offset.
    pub fn stop_offset(&self) -> Option<i64> {
        self.range.stop
    }

    /// Whether the fetch reached its stop (or, not following, the end of the log).
    pub fn is_done(&self) -> bool {
        self.range.done
    }

    /// The log start offset when the partition was opened.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start
    }

    /// The log end offset when the partition was opened (`i64::MAX` when damage hid it).
    pub fn log_end_offset(&self) -> i64 {
        self.log_end
    }

    /// The position as of the last [`PartitionFetch::mark_delivered`].
    pub fn delivered(&self) -> i64 {
        self.delivered
    }

    /// The front end has delivered everything handed out so far (written and flushed it):
    /// the position is what may be committed now.
    pub fn mark_delivered(&mut self) {
        self.delivered = self.range.next;
    }

    /// Opens the reader of a partition whose directory did not exist when it was opened;
    /// false while it still does not (nothing to read yet).
    pub fn open_if_created(&mut self) -> Result<bool> {
        if self.reader.is_some() {
            return Ok(true);
        }
        if !self.dir.is_dir() {
            return Ok(false);
        }
        let mut r = LogReader::open(&self.dir)?;
        r.seek(self.range.next)?;
        self.reader = Some(r);
        Ok(true)
    }

    /// The next entry of the partition, with what it takes to hand out its records in
    /// range; `None` when there is nothing new (then, when not following, the fetch is
    /// done), when it is done, or before its directory exists (see
    /// [`PartitionFetch::open_if_created`]).
    pub fn next_batch(&mut self) -> Result<Option<Fetched<'_>>> {
        if self.range.done {
            return Ok(None);
        }
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        let found =
            reader
                .next_batch()
                .map_err(Error::partition("read", &self.topic, self.partition))?;
        let Some(batch) = found else {
            if !self.follow {
                self.range.done = true;
            }
            return Ok(None);
        };
        Ok(Some(Fetched {
            batch,
            partition: self.partition,
            dir: &self.dir,
            range: &mut self.range,
        }))
    }

    /// The out-of-range rule while reading: a position outside the log (its tail cut by
    /// recovery, its head by retention) moves to its start or end as `policy` says. Returns
    /// the reset, for the caller to tell.
    pub fn reset_if_out_of_range(&mut self, policy: ResetPolicy) -> Result<Option<OffsetReset>> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        let ctx = || Error::partition("read", &self.topic, self.partition);
        let end = reader.log_end_offset().map_err(ctx())?;
        let start = reader.log_start_offset();
        let Some(out_of_range) = OutOfRange::of(self.range.next, start, end) else {
            return Ok(None);
        };
        let next = match policy {
            ResetPolicy::Latest => end,
            ResetPolicy::Earliest => start,
        };
        reader.seek(next).map_err(ctx())?;
        let reset = OffsetReset {
            partition: self.partition,
            committed: false,
            offset: self.range.next,
            out_of_range,
            log_start_offset: start,
            log_end_offset: end,
            reset_to: next,
            policy,
        };
        self.range.next = next;
        Ok(Some(reset))
    }
}

/// An entry just read from a partition, and the fetch state to hand out its records with:
/// only those in range, moving the position past them.
pub struct Fetched<'a> {
    pub batch: BatchRef<'a>,
    partition: u32,
    dir: &'a Path,
    range: &'a mut Range,
}

impl<'a> Fetched<'a> {
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The entry.
    pub fn entry(&self) -> &Entry<'a> {
        &self.batch.batch
    }

    /// The damage `e` found in this entry, as an error naming its file and position.
    fn corrupt(&self, e: crate::format::DecodeError) -> Error {
        Error::corrupt(
            log_file(self.dir, self.batch.segment_base),
            self.batch.position,
            e,
        )
    }

    /// Whether every record of the entry is wanted, so that [`Fetched::take_values`] may
    /// hand them all out with no check per record: a v2 batch of data records, none below
    /// the position or at or past a stop offset, no stop time, and more than its records
    /// left of `left`.
    #[inline(always)]
    pub fn takes_whole(&self, left: u64) -> bool {
        let Entry::Batch(batch) = &self.batch.batch else {
            return false;
        };
        let h = &batch.header;
        !h.is_control()
            && self.range.stop_time.is_none()
            && h.base_offset >= self.range.next
            && self.range.stop.is_none_or(|s| h.last_offset() < s)
            && left > h.records_count.max(0) as u64
    }

    /// Hands out the value of every record of an entry [`Fetched::takes_whole`] accepted,
    /// and moves the position past it. Returns how many records there were. On damage, `f`
    /// has seen the records before it and the position has not moved.
    ///
    /// Out of line: its loop is compiled on its own with `f` inlined into it (inlined into
    /// `consume`'s larger loop instead, it took 8 % more instructions per record).
    #[inline(never)]
    pub fn take_values<'s>(
        &mut self,
        scratch: &'s mut Vec<u8>,
        mut f: impl FnMut(Option<&'s [u8]>),
    ) -> Result<u64>
    where
        'a: 's,
    {
        let mut n = 0u64;
        self.batch
            .batch
            .records_in(scratch)
            .map_err(|e| self.corrupt(e))?
            .try_for_each_value(|value| {
                f(value);
                n += 1;
            })
            .map_err(|e| self.corrupt(e))?;
        self.range.move_to(self.batch.batch.next_offset());
        Ok(n)
    }

    /// Hands each record of the entry that is in range to `f`, in order, until the fetch
    /// reaches its stop or `left` runs out (`f` counts it down by one per record), moving
    /// the position past each record taken; then past the entry's last offset, unless the
    /// count ran out inside it. Control batches hand out nothing. Returns how far the
    /// records taken moved the position (for progress).
    #[inline(always)]
    pub fn take_records<'s, E: From<Error>>(
        &mut self,
        scratch: &'s mut Vec<u8>,
        left: &mut u64,
        mut f: impl FnMut(&LogRecord<'s>) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E>
    where
        'a: 's,
    {
        let before = self.range.next;
        if !self.batch.batch.is_control() {
            let records = self
                .batch
                .batch
                .records_in(scratch)
                .map_err(|e| self.corrupt(e))?;
            // The range in locals through the loop (`f` cannot touch it), written back after.
            let mut range = *self.range;
            let mut n = *left;
            let (dir, base, position) = (self.dir, self.batch.segment_base, self.batch.position);
            let flow = records.try_for_each_record(
                #[inline(always)]
                |rec| {
                    let rec = match rec {
                        Ok(r) => r,
                        Err(e) => {
                            let e = Error::corrupt(log_file(dir, base), position, e);
                            return ControlFlow::Break(Err(E::from(e)));
                        }
                    };
                    match range.admit(rec.offset, rec.timestamp) {
                        Admit::Skip => return ControlFlow::Continue(()),
                        Admit::Stop => return ControlFlow::Break(Ok(())),
                        Admit::Take => {}
                    }
                    if let Err(e) = f(&rec) {
                        return ControlFlow::Break(Err(e));
                    }
                    range.next = rec.offset + 1;
                    n -= 1;
                    if n == 0 {
                        return ControlFlow::Break(Ok(()));
                    }
                    ControlFlow::Continue(())
                },
            );
            *self.range = range;
            *left = n;
            if let ControlFlow::Break(Err(e)) = flow {
                return Err(e);
            }
        }
        let moved = (self.range.next - before).max(0) as u64;
        // Past the entry's last record (offsets may have gaps after compaction), unless the
        // count ran out inside it.
        if !self.range.done && *left > 0 {
            self.range
                .move_to(self.range.next.max(self.batch.batch.next_offset()));
        }
        Ok(moved)
    }
}
