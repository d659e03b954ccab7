//! Kafka's `Sender`: the thread that writes the batches a producer hands over.
//!
//! It owns the partition logs (opened when a partition is first written). For each batch it
//! finishes the header and CRC, compresses it (while the producer encodes the next one),
//! appends it, and then fsyncs that partition when `--sync` says so; otherwise it starts the
//! background fsyncs that `flush.ms` makes due, on every partition. Between batches it waits
//! no longer than the first `flush.ms` due, so that a quiet producer's last records are
//! fsynced on time. It stops at its first error and, at the end, fsyncs every partition it
//! wrote to.
//!
//! # Invariants
//! 1. Batches are appended in the order they were handed over.
//! 2. With `sync`, a batch is fsynced before the next one is appended.
//! 3. Nothing is reported as written ([`SenderReport`]) that the log did not accept; a run
//!    that ends without error has fsynced every partition it appended to.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use super::{Appended, Job, ProduceSummary, TruncationHook};
use crate::error::{Error, Result};
use crate::format::batch::BatchParts;
use crate::format::{BuiltBatch, Compression};
use crate::storage::log::Truncation;
use crate::storage::{AppendInfo, Log};

/// What the sender needs of a partition's log: [`Log`], or a stand-in in tests.
pub(crate) trait PartitionLog {
    fn append_built(&mut self, batch: &mut BuiltBatch) -> Result<AppendInfo>;
    fn append_parts(&mut self, parts: &mut BatchParts, value: &[u8]) -> Result<AppendInfo>;
    fn flush(&mut self) -> Result<()>;
    fn maybe_flush_in_background(&mut self) -> Result<Option<i64>>;
    fn flush_due_in(&self) -> Option<Duration>;
    fn take_truncations(&mut self) -> Vec<Truncation>;
}

impl PartitionLog for Log {
    #[inline]
    fn append_built(&mut self, batch: &mut BuiltBatch) -> Result<AppendInfo> {
        Log::append_built(self, batch)
    }
    fn append_parts(&mut self, parts: &mut BatchParts, value: &[u8]) -> Result<AppendInfo> {
        Log::append_parts(self, parts, value)
    }
    fn flush(&mut self) -> Result<()> {
        Log::flush(self)
    }
    fn maybe_flush_in_background(&mut self) -> Result<Option<i64>> {
        Log::maybe_flush_in_background(self)
    }
    fn flush_due_in(&self) -> Option<Duration> {
        Log::flush_due_in(self)
    }
    fn take_truncations(&mut self) -> Vec<Truncation> {
        Log::take_truncations(self)
    }
}

/// What a sender wrote.
#[derive(Debug, Default)]
pub(crate) struct SenderReport {
    records: u64,
    bytes: u64,
    appended: Vec<Appended>,
    written: Vec<u32>,
}

impl SenderReport {
    pub(crate) fn into_summary(self) -> ProduceSummary {
        ProduceSummary {
            records: self.records,
            bytes: self.bytes,
            appended: self.appended,
            written: self.written,
        }
    }
}

/// The writer of one topic's batches; see the module doc.
pub(crate) struct Sender<L, O> {
    topic: String,
    open: O,
    /// Open logs, indexed by partition.
    logs: Vec<Option<L>>,
    sync: bool,
    codec: Compression,
    /// The buffer compressed batches are written into, kept for the next one.
    compressed: Option<Vec<u8>>,
    records: u64,
    bytes: u64,
    /// What was appended to each partition, indexed by partition.
    appended: Vec<Option<Appended>>,
    on_truncation: Option<TruncationHook>,
}

/// `op` failed on partition `p`: the error names the partition.
fn on_partition(op: &'static str, topic: &str, p: u32) -> impl FnOnce(Error) -> Error {
    move |e| Error::on_partition(op, topic, p, e)
}

impl<L: PartitionLog, O: FnMut(u32) -> Result<L>> Sender<L, O> {
    /// A sender for `partitions` partitions of `topic`, opening a partition's log with
    /// `open` when it is first written to.
    pub(crate) fn new(
        topic: String,
        partitions: u32,
        open: O,
        sync: bool,
        codec: Compression,
        on_truncation: Option<TruncationHook>,
    ) -> Self {
        Sender {
            topic,
            open,
            logs: (0..partitions).map(|_| None).collect(),
            sync,
            codec,
            compressed: None,
            records: 0,
            bytes: 0,
            appended: vec![None; partitions as usize],
            on_truncation,
        }
    }

    /// Takes jobs until `Job::Finish` (or until the producer is gone), fsyncing on time in
    /// between; stops at the first error. Buffers it is done with go back by `returned`.
    pub(crate) fn run(
        &mut self,
        jobs: &Receiver<Job>,
        returned: &mpsc::Sender<Vec<u8>>,
    ) -> Result<()> {
        loop {
            let job = match self.flush_due_in() {
                Some(wait) => match jobs.recv_timeout(wait) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => {
                        self.maybe_flush()?;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return self.finish(),
                },
                None => match jobs.recv() {
                    Ok(job) => job,
                    Err(_) => return self.finish(),
                },
            };
            if !self.handle(job, returned)? {
                return self.finish();
            }
        }
    }

    /// Carries out one job; false for `Job::Finish`.
    pub(crate) fn handle(&mut self, job: Job, returned: &mpsc::Sender<Vec<u8>>) -> Result<bool> {
        match job {
            Job::Append { partition, batch } => {
                let records = batch.count() as u64;
                let mut batch = batch.build();
                if self.codec != Compression::None {
                    let out = self.compressed.take().unwrap_or_default();
                    let compressed = batch.compress(self.codec, out);
                    let plain = std::mem::replace(&mut batch, compressed);
                    let _ = returned.send(plain.into_vec());
                }
                let len = batch.len();
                self.append_with(partition, records, len, |log| log.append_built(&mut batch))?;
                if self.codec == Compression::None {
                    let _ = returned.send(batch.into_vec());
                } else {
                    self.compressed = Some(batch.into_vec());
                }
            }
            Job::AppendBuilt {
                partition,
                mut batch,
            } => {
                let records = batch.header().records_count.max(0) as u64;
                let len = batch.len();
                self.append_with(partition, records, len, |log| log.append_built(&mut batch))?;
            }
            Job::AppendLarge { partition, record } => {
                let value = record.value();
                let mut parts = BatchParts::new(
                    record.timestamp,
                    record.key.as_deref(),
                    value,
                    &record.headers(),
                );
                let len = parts.len(value);
                self.append_with(partition, 1, len, |log| log.append_parts(&mut parts, value))?;
            }
            Job::Finish => return Ok(false),
        }
        Ok(true)
    }

    fn log(&mut self, p: u32) -> Result<&mut L> {
        let slot = self
            .logs
            .get_mut(p as usize)
            .ok_or(Error::Internal("no log slot for the partition"))?;
        if slot.is_none() {
            *slot = Some((self.open)(p)?);
        }
        slot.as_mut()
            .ok_or(Error::Internal("no log for the partition"))
    }

    /// Appends a batch of `records` records and `len` bytes to partition `p` through
    /// `append`, then fsyncs as `sync` and `flush.*` say.
    fn append_with(
        &mut self,
        p: u32,
        records: u64,
        len: usize,
        append: impl FnOnce(&mut L) -> Result<AppendInfo>,
    ) -> Result<()> {
        let log = self.log(p)?;
        let appended = append(log);
        let truncations = log.take_truncations();
        if let Some(hook) = &mut self.on_truncation {
            for t in &truncations {
                hook(p, t);
            }
        }
        let info = appended.map_err(on_partition("append to", &self.topic, p))?;
        if let Some(slot) = self.appended.get_mut(p as usize) {
            let a = slot.get_or_insert(Appended {
                partition: p,
                records: 0,
                first_offset: info.base_offset,
                last_offset: info.last_offset,
            });
            a.records += records;
            a.last_offset = info.last_offset;
        }
        if self.sync {
            let log = self.log(p)?;
            let fsynced = log.flush();
            fsynced.map_err(on_partition("fsync", &self.topic, p))?;
        }
        self.records += records;
        self.bytes += len as u64;
        // Every partition, not only this one: under steady traffic to some partitions the
        // sender rarely idles, and the others' flushes are due (or done) all the same.
        if !self.sync {
            self.maybe_flush()?;
        }
        Ok(())
    }

    /// How long until some partition's `flush.ms` is due.
    pub(crate) fn flush_due_in(&self) -> Option<Duration> {
        self.logs
            .iter()
            .flatten()
            .filter_map(PartitionLog::flush_due_in)
            .min()
    }

    /// Starts the background flushes `flush.ms` makes due, and takes those done.
    pub(crate) fn maybe_flush(&mut self) -> Result<()> {
        let topic = &self.topic;
        for (p, log) in (0u32..).zip(&mut self.logs) {
            if let Some(log) = log {
                log.maybe_flush_in_background()
                    .map_err(on_partition("fsync", topic, p))?;
            }
        }
        Ok(())
    }

    /// fsyncs every partition written to.
    pub(crate) fn finish(&mut self) -> Result<()> {
        let topic = &self.topic;
        for (p, log) in (0u32..).zip(&mut self.logs) {
            if let Some(log) = log {
                log.flush().map_err(on_partition("fsync", topic, p))?;
            }
        }
        Ok(())
    }

    /// What was written so far.
    pub(crate) fn report(&self) -> SenderReport {
        SenderReport {
            records: self.records,
            bytes: self.bytes,
            appended: self.appended.iter().flatten().copied().collect(),
            written: (0u32..)
                .zip(&self.logs)
                .filter_map(|(p, log)| log.as_ref().map(|_| p))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use super::*;
    use crate::format::{BatchBuilder, RecordBatch};
    use crate::produce::test_clock::ManualClock;
    use crate::produce::{Clock, LargeRecord};

    type Events = Arc<Mutex<Vec<(u32, String)>>>;

    /// A partition log that keeps `flush.ms` on the test's clock and notes what is done to it.
    struct FakeLog {
        p: u32,
        clock: ManualClock,
        flush_ms: u64,
        first_unflushed: Option<Instant>,
        next_offset: i64,
        fail_appends: bool,
        events: Events,
    }

    impl FakeLog {
        fn note(&self, what: String) {
            self.events.lock().unwrap().push((self.p, what));
        }
        fn appended(&mut self, records: i64, what: String) -> Result<AppendInfo> {
            if self.fail_appends {
                return Err(Error::Invalid("the disk says no".into()));
            }
            self.note(what);
            self.first_unflushed.get_or_insert(self.clock.now());
            let base = self.next_offset;
            self.next_offset += records;
            Ok(AppendInfo {
                base_offset: base,
                last_offset: self.next_offset - 1,
                max_timestamp: -1,
                segment_base: 0,
                position: 0,
            })
        }
    }

    impl PartitionLog for FakeLog {
        fn append_built(&mut self, batch: &mut BuiltBatch) -> Result<AppendInfo> {
            // The bytes are a valid batch and agree with the header the sender passes on.
            let decoded = RecordBatch::decode(batch.as_bytes()).unwrap();
            assert_eq!(&decoded.header, batch.header());
            let h = *batch.header();
            let codec = h.compression().unwrap();
            self.appended(i64::from(h.records_count), format!("append {codec}"))
        }
        fn append_parts(&mut self, parts: &mut BatchParts, value: &[u8]) -> Result<AppendInfo> {
            self.appended(1, format!("append parts of {}", parts.len(value)))
        }
        fn flush(&mut self) -> Result<()> {
            if self.first_unflushed.take().is_some() {
                self.note("flush".into());
            }
            Ok(())
        }
        fn maybe_flush_in_background(&mut self) -> Result<Option<i64>> {
            let now = self.clock.now();
            if self
                .first_unflushed
                .is_some_and(|t| now - t >= Duration::from_millis(self.flush_ms))
            {
                self.first_unflushed = None;
                self.note("background flush".into());
            }
            Ok(None)
        }
        fn flush_due_in(&self) -> Option<Duration> {
            let t = self.first_unflushed?;
            Some(Duration::from_millis(self.flush_ms).saturating_sub(self.clock.now() - t))
        }
        fn take_truncations(&mut self) -> Vec<Truncation> {
            Vec::new()
        }
    }

    type TestSender = Sender<FakeLog, Box<dyn FnMut(u32) -> Result<FakeLog>>>;

    /// A sender over fake logs of 3 partitions with `flush.ms` of 100 (partition 2's appends
    /// fail), its clock and what happened to its logs.
    fn sender(sync: bool, codec: Compression) -> (TestSender, ManualClock, Events) {
        let clock = ManualClock::new();
        let events: Events = Arc::default();
        let (c, e) = (clock.clone(), events.clone());
        let open: Box<dyn FnMut(u32) -> Result<FakeLog>> = Box::new(move |p| {
            Ok(FakeLog {
                p,
                clock: c.clone(),
                flush_ms: 100,
                first_unflushed: None,
                next_offset: 10 * i64::from(p),
                fail_appends: p == 2,
                events: e.clone(),
            })
        });
        let s = Sender::new("t".into(), 3, open, sync, codec, None);
        (s, clock, events)
    }

    fn batch(records: usize) -> BatchBuilder {
        let mut b = BatchBuilder::new();
        for i in 0..records {
            b.append(
                1_700_000_000_000,
                None,
                Some(format!("value {i}").as_bytes()),
                &[],
            );
        }
        b
    }

    fn append(s: &mut TestSender, partition: u32, records: usize) -> Result<bool> {
        let (returned, _) = mpsc::channel();
        s.handle(
            Job::Append {
                partition,
                batch: batch(records),
            },
            &returned,
        )
    }

    fn taken(events: &Events) -> Vec<(u32, String)> {
        std::mem::take(&mut *events.lock().unwrap())
    }

    fn ev(p: u32, what: &str) -> (u32, String) {
        (p, what.to_string())
    }

    #[test]
    fn with_sync_each_batch_is_fsynced_before_the_next() {
        let (mut s, _, events) = sender(true, Compression::None);
        append(&mut s, 0, 3).unwrap();
        append(&mut s, 1, 1).unwrap();
        append(&mut s, 0, 2).unwrap();
        assert_eq!(
            taken(&events),
            [
                ev(0, "append none"),
                ev(0, "flush"),
                ev(1, "append none"),
                ev(1, "flush"),
                ev(0, "append none"),
                ev(0, "flush"),
            ]
        );
        assert_eq!(s.flush_due_in(), None, "nothing left unflushed");
    }

    #[test]
    fn flush_ms_is_waited_for_on_the_clock_and_flushes_only_what_is_due() {
        let (mut s, clock, events) = sender(false, Compression::None);
        assert_eq!(s.flush_due_in(), None, "nothing written: no wake-up");
        append(&mut s, 0, 1).unwrap();
        assert_eq!(s.flush_due_in(), Some(Duration::from_millis(100)));
        clock.advance(Duration::from_millis(60));
        append(&mut s, 1, 1).unwrap();
        // Partition 0 is due first.
        assert_eq!(s.flush_due_in(), Some(Duration::from_millis(40)));
        clock.advance(Duration::from_millis(39));
        s.maybe_flush().unwrap();
        assert_eq!(taken(&events), [ev(0, "append none"), ev(1, "append none")]);
        clock.advance(Duration::from_millis(1));
        s.maybe_flush().unwrap();
        assert_eq!(taken(&events), [ev(0, "background flush")]);
        assert_eq!(s.flush_due_in(), Some(Duration::from_millis(60)));
        // An append starts the flushes that are due on every partition, not only its own.
        clock.advance(Duration::from_millis(60));
        append(&mut s, 0, 1).unwrap();
        assert_eq!(
            taken(&events),
            [ev(0, "append none"), ev(1, "background flush")]
        );
    }

    #[test]
    fn the_end_fsyncs_every_partition_written_and_reports_offsets() {
        let (mut s, _, events) = sender(false, Compression::None);
        append(&mut s, 1, 3).unwrap();
        append(&mut s, 0, 2).unwrap();
        append(&mut s, 1, 4).unwrap();
        let (returned, _) = mpsc::channel();
        assert!(!s.handle(Job::Finish, &returned).unwrap());
        s.finish().unwrap();
        let flushed: Vec<_> = taken(&events)
            .into_iter()
            .filter(|e| e.1 == "flush")
            .collect();
        assert_eq!(flushed, [ev(0, "flush"), ev(1, "flush")]);
        let summary = s.report().into_summary();
        assert_eq!((summary.records, summary.written.clone()), (9, vec![0, 1]));
        assert_eq!(
            summary.appended,
            [
                Appended {
                    partition: 0,
                    records: 2,
                    first_offset: 0,
                    last_offset: 1
                },
                Appended {
                    partition: 1,
                    records: 7,
                    first_offset: 10,
                    last_offset: 16
                },
            ]
        );
    }

    #[test]
    fn an_append_error_names_the_partition_and_counts_nothing() {
        let (mut s, _, _) = sender(false, Compression::None);
        append(&mut s, 0, 1).unwrap();
        let e = append(&mut s, 2, 5).unwrap_err();
        assert_eq!(e.to_string(), "append to t-2");
        // The chain goes on with the log's own error, as it was.
        let source = std::error::Error::source(&e).unwrap();
        assert!(matches!(
            source.downcast_ref::<Error>(),
            Some(Error::Invalid(m)) if m == "the disk says no"
        ));
        let summary = s.report().into_summary();
        assert_eq!(summary.records, 1);
        assert_eq!(summary.appended.len(), 1);
    }

    #[test]
    fn batches_are_compressed_and_their_plain_buffers_come_back() {
        let (mut s, _, events) = sender(false, Compression::Zstd);
        let (returned, back) = mpsc::channel();
        for _ in 0..2 {
            let job = Job::Append {
                partition: 0,
                batch: batch(50),
            };
            s.handle(job, &returned).unwrap();
        }
        assert_eq!(taken(&events), [ev(0, "append zstd"), ev(0, "append zstd")]);
        // Each plain buffer went back for reuse; the compressed one is kept for the next.
        assert_eq!(back.try_iter().count(), 2);
        assert!(s.compressed.is_some());
    }

    #[test]
    fn a_large_record_is_written_in_parts_and_ready_made_batches_whole() {
        let (mut s, _, events) = sender(false, Compression::Gzip);
        let (returned, _) = mpsc::channel();
        let record = LargeRecord {
            buf: vec![1u8; 1000],
            value: 10..1000,
            key: Some(b"k".to_vec()),
            headers: Vec::new(),
            timestamp: 5,
        };
        s.handle(
            Job::AppendLarge {
                partition: 1,
                record,
            },
            &returned,
        )
        .unwrap();
        let ready = batch(3).build();
        s.handle(
            Job::AppendBuilt {
                partition: 1,
                batch: ready,
            },
            &returned,
        )
        .unwrap();
        let parts_len = BatchParts::new(5, Some(b"k"), &[1u8; 990], &[]).len(&[1u8; 990]);
        assert_eq!(
            taken(&events),
            [
                ev(1, &format!("append parts of {parts_len}")),
                // Ready-made batches are appended as they are: not compressed again.
                ev(1, "append none"),
            ]
        );
        assert_eq!(s.report().into_summary().records, 4);
    }
}
