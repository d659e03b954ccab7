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
    move |e| Error::Partition {
        op,
        topic: topic.to_string(),
        partition: p,
        source: Box::new(e),
    }
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
