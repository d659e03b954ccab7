//! Producing: records in, batches appended to a topic's partition logs, offsets out.
//!
//! A [`Producer`] is what every front end drives (the command line's `produce` today): it
//! takes records ([`Producer::send`]), large records in a buffer of their own
//! ([`Producer::send_large`]) or whole batches made elsewhere ([`Producer::send_batch`]), and
//! [`Producer::close`] reports what was written to each partition. Inside, as in Kafka's
//! producer:
//!
//! - the [`Partitioner`] picks each record's partition: the one asked for, else murmur2 of
//!   its key, else the sticky partition, which moves on round-robin after each batch;
//! - the record accumulator (`accumulator.rs`) batches records per partition and hands a
//!   batch to the sender when it is full (up to [`BATCH_SIZE`], never above
//!   `max.message.bytes` nor `segment.bytes`), when the front end says the input paused
//!   ([`Producer::hand_over`]), when its linger time passed ([`Producer::poll`]), or when more
//!   than [`MAX_PENDING`] bytes wait across partitions;
//! - the sender (`sender.rs`), a thread of its own, finishes each batch (header and CRC),
//!   compresses it, appends it, fsyncs as `--sync` and `flush.messages` say and starts a
//!   background fsync when `flush.ms` does, so that the front end encodes the next batch
//!   meanwhile and a slow disk does not hold up the records behind it. A record of more than
//!   [`LARGE_RECORD`] bytes goes in a batch of its own, uncompressed, written from the buffer
//!   that holds it ([`crate::storage::Log::append_parts`]).
//!
//! [`RecordReader`] turns input bytes (delimited lines, whole files, JSON lines) into records
//! for a producer, as Kafka's console producer's record readers do.
//!
//! # Example
//!
//! ```
//! use std::collections::BTreeMap;
//! use klog::produce::{Producer, ProducerConfig, ProducerRecord};
//! use klog::topic::Topics;
//!
//! # fn main() -> klog::Result<()> {
//! # let tmp = tempfile::tempdir().unwrap();
//! let topic = Topics::new(tmp.path()).create("greetings", 2, BTreeMap::new())?;
//! let mut producer = Producer::new(&topic, ProducerConfig::default());
//! for (key, value) in [("en", "hello"), ("fr", "bonjour"), ("en", "hi")] {
//!     producer.send(&ProducerRecord {
//!         key: Some(key.as_bytes()),
//!         value: Some(value.as_bytes()),
//!         headers: &[],
//!         partition: None,
//!         timestamp: 1_700_000_000_000,
//!     })?;
//! }
//! let summary = producer.close()?;
//! assert_eq!(summary.records, 3);
//! // Keyed records go where Kafka's partitioner sends them.
//! let en = klog::format::partition_for_key(b"en", 2);
//! let written = summary.appended.iter().find(|a| a.partition == en).unwrap();
//! assert!(written.records >= 2 && written.first_offset == 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Invariants
//! 1. Records of one partition are appended in the order they were sent: a batch, a large
//!    record or a ready-made batch first hands over what came before it in its partition.
//! 2. At most [`MAX_PENDING`] bytes of batches under construction, plus [`QUEUE_DEPTH`]
//!    batches queued for the sender, plus the one it writes: memory stays bounded whatever
//!    the input.
//! 3. The sender stops at its first error; the producer sees it at its next hand-over
//!    ([`Rejected::Failed`]) and [`Producer::close`] returns it (the sender's error first).
//!    `close` succeeds only once every batch handed over is appended and fsynced.
//! 4. A record that cannot go in ([`Rejected::TooLarge`], [`Rejected::UnknownPartition`])
//!    leaves the producer as it was: the caller may skip it and go on.
//!
//! # Crash safety
//! What a crash leaves is the log's business ([`crate::storage::log`]): batches appended
//! before it, the last one maybe torn and cut at the next open. Nothing counts as written
//! before `close` returns.
//!
//! # Kafka
//! `KafkaProducer` (`send`, `flush`, `close`), `RecordAccumulator` (`batch.size`,
//! `linger.ms`), `BuiltInPartitioner` (murmur2, sticky partitioning) and `Sender`.
//! Differences: no acks and no retries (the log is local), batches never wait for a sender
//! that is busy (two are queued, then `send` blocks), and without a linger time a batch
//! waits for the front end's [`Producer::hand_over`], not a timer.

mod accumulator;
mod partitioner;
mod reader;
mod sender;

use std::ops::Range;
use std::sync::mpsc::{self, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::format::{BuiltBatch, Compression, Header};
use crate::storage::log::Truncation;
use crate::topic::Topic;

use accumulator::RecordAccumulator;
pub use partitioner::Partitioner;
pub use reader::{Framing, Invalid, InvalidReason, RecordReader, RecordShape};
use sender::{Sender, SenderReport};

/// Largest batch the accumulator builds (Kafka's `batch.size`, here 1 MiB): big enough that
/// bulk input costs one append per MiB, small enough that a batch is quickly encoded.
pub const BATCH_SIZE: usize = 1 << 20;
/// Most bytes of batches under construction across partitions before every batch goes to
/// the sender.
pub const MAX_PENDING: usize = 8 << 20;
/// Records of more than this many bytes go in a batch of their own, written straight from
/// the buffer that holds them: a record of any size is in memory once. Such a batch is not
/// compressed (readers decompress at most [`crate::format::DECOMPRESS_LIMIT`] a batch).
pub const LARGE_RECORD: usize = 4 << 20;
/// Batches handed over that wait for the sender before a hand-over blocks.
pub const QUEUE_DEPTH: usize = 2;

/// Where a producer reads the time for `linger`: the system's monotonic clock, or a clock a
/// test moves by hand.
pub trait Clock: Send {
    fn now(&self) -> Instant;
}

/// [`Instant::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// One record to produce (Kafka's `ProducerRecord`), borrowing its bytes.
#[derive(Debug, Clone, Copy)]
pub struct ProducerRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [Header<'a>],
    /// The partition asked for; `None` lets the [`Partitioner`] choose.
    pub partition: Option<u32>,
    /// CreateTime in ms since the epoch (-1: none).
    pub timestamp: i64,
}

/// A record of more than [`LARGE_RECORD`] bytes, with the buffer that holds its value: it is
/// written from that buffer, never copied.
#[derive(Debug)]
pub struct LargeRecord {
    pub buf: Vec<u8>,
    /// Where the value is in `buf`.
    pub value: Range<usize>,
    pub key: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    pub timestamp: i64,
}

impl LargeRecord {
    pub fn value(&self) -> &[u8] {
        self.buf.get(self.value.clone()).unwrap_or_default()
    }

    pub fn headers(&self) -> Vec<Header<'_>> {
        self.headers
            .iter()
            .map(|(k, v)| Header {
                key: k,
                value: v.as_deref(),
            })
            .collect()
    }
}

/// Why a record (or batch) did not go in.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    /// The record, as a batch of its own, is larger than the topic allows (`config` is
    /// `max.message.bytes` or `segment.bytes`). The producer is unchanged: skip it or stop.
    #[error("a record of {size} bytes (as a batch) is larger than {config} ({max})")]
    TooLarge {
        size: usize,
        config: &'static str,
        max: u32,
    },
    /// The partition asked for is not one of the topic's. The producer is unchanged.
    #[error("partition {partition} does not exist (the topic has {partitions})")]
    UnknownPartition { partition: u32, partitions: u32 },
    /// A ready-made batch that is not one whole valid v2 batch. The producer is unchanged.
    #[error("invalid record batch: {0}")]
    InvalidBatch(crate::format::DecodeError),
    /// The producer cannot go on: the sender stopped on an error, which [`Producer::close`]
    /// returns.
    #[error(transparent)]
    Failed(Error),
}

impl From<Rejected> for Error {
    /// For callers that stop at any refusal (`producer.send(&r)?`): a record too large is
    /// [`Error::RecordTooLarge`], the producer's failure its own error, the rest
    /// [`Error::Invalid`].
    fn from(r: Rejected) -> Error {
        match r {
            Rejected::TooLarge { size, config, max } => Error::RecordTooLarge {
                size,
                max: max as usize,
                config,
            },
            Rejected::Failed(e) => e,
            other => Error::Invalid(other.to_string()),
        }
    }
}

/// What a producer appended to one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub partition: u32,
    pub records: u64,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// What [`Producer::close`] reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProduceSummary {
    /// Records and batch bytes appended.
    pub records: u64,
    pub bytes: u64,
    /// Per partition appended to, in partition order.
    pub appended: Vec<Appended>,
    /// The partitions whose logs were opened, in order.
    pub written: Vec<u32>,
}

/// Called on the sender's thread when opening a partition's log cut a torn or damaged tail
/// (what a crash left), with the partition and what was cut.
pub type TruncationHook = Box<dyn FnMut(u32, &Truncation) + Send>;

/// How a [`Producer`] batches and writes.
pub struct ProducerConfig {
    /// Codec of the batches written (large records' batches are never compressed).
    pub compression: Compression,
    /// fsync every batch right after appending it, before appending the next.
    pub sync: bool,
    /// How long a batch may wait for more records before [`Producer::poll`] hands it over
    /// (Kafka's `linger.ms`); `None`: until [`Producer::hand_over`] or until it is full.
    pub linger: Option<Duration>,
    /// Largest batch built (Kafka's `batch.size`), within the topic's limits.
    pub batch_size: usize,
    pub on_truncation: Option<TruncationHook>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            compression: Compression::None,
            sync: false,
            linger: None,
            batch_size: BATCH_SIZE,
            on_truncation: None,
        }
    }
}

/// What the producer hands to the sender thread.
pub(crate) enum Job {
    /// A batch to finish (header and CRC, compression) and append. Finished on the sender's
    /// side, a batch is compressed while the producer encodes the next one.
    Append {
        partition: u32,
        batch: crate::format::BatchBuilder,
    },
    /// A whole batch made elsewhere, checked.
    AppendBuilt { partition: u32, batch: BuiltBatch },
    /// A record in a batch of its own, written from the buffer that holds it.
    AppendLarge { partition: u32, record: LargeRecord },
    /// Append nothing more: fsync every partition written to, then stop.
    Finish,
}

type SenderOutcome = (Result<()>, SenderReport);

/// Produces to one topic: see the module doc.
pub struct Producer<C: Clock = SystemClock> {
    accumulator: RecordAccumulator<C>,
    sender: Option<JoinHandle<SenderOutcome>>,
}

impl Producer<SystemClock> {
    /// A producer to `topic`, with its sender thread started. Logs are opened as records
    /// reach their partitions.
    pub fn new(topic: &Topic, config: ProducerConfig) -> Producer<SystemClock> {
        Producer::with_clock(topic, config, SystemClock)
    }
}

impl<C: Clock> Producer<C> {
    /// [`Producer::new`] with the clock that `linger` is measured on.
    pub fn with_clock(topic: &Topic, config: ProducerConfig, clock: C) -> Producer<C> {
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(QUEUE_DEPTH);
        let (returned_tx, returned_rx) = mpsc::channel::<Vec<u8>>();
        let accumulator = RecordAccumulator::new(
            topic,
            config.batch_size,
            config.linger,
            clock,
            jobs_tx,
            returned_rx,
        );
        let owned = topic.clone();
        let mut sender = Sender::new(
            topic.name.clone(),
            topic.partitions,
            move |p| owned.open_log(p),
            config.sync,
            config.compression,
            config.on_truncation,
        );
        let handle = std::thread::spawn(move || {
            let r = sender.run(&jobs_rx, &returned_tx);
            (r, sender.report())
        });
        Producer {
            accumulator,
            sender: Some(handle),
        }
    }

    /// Adds a record to its partition's batch (see [`Rejected`] for what refuses it).
    #[inline]
    pub fn send(&mut self, record: &ProducerRecord<'_>) -> Result<(), Rejected> {
        self.accumulator.add(record)
    }

    /// [`Producer::send`] of a record that is only a value, to the sticky partition (no key,
    /// headers nor partition asked for): while that partition's batch surely has room,
    /// straight into it, without the general path's checks.
    #[inline]
    pub fn send_value(&mut self, value: &[u8], timestamp: i64) -> Result<(), Rejected> {
        self.accumulator.add_value(value, timestamp)
    }

    /// Adds a record of more than [`LARGE_RECORD`] bytes in a batch of its own, written from
    /// `record.buf`; `partition` as in [`ProducerRecord::partition`].
    pub fn send_large(
        &mut self,
        partition: Option<u32>,
        record: LargeRecord,
    ) -> Result<(), Rejected> {
        self.accumulator.add_large(partition, record)
    }

    /// Appends a whole v2 batch made elsewhere (a Kafka client's Produce request) to
    /// `partition`, after what was sent to it before. Its bytes are checked first (framing,
    /// magic, CRC); the log assigns its offsets.
    pub fn send_batch(&mut self, partition: u32, bytes: Vec<u8>) -> Result<(), Rejected> {
        let batch = BuiltBatch::from_vec(bytes).map_err(Rejected::InvalidBatch)?;
        self.accumulator.add_batch(partition, batch)
    }

    /// Hands every batch under construction to the sender: the input paused, so what came
    /// so far should reach readers now.
    pub fn hand_over(&mut self) -> Result<(), Rejected> {
        self.accumulator.append_all()
    }

    /// Hands over the batches that have waited `linger` or longer (nothing without a
    /// linger time).
    pub fn poll(&mut self) -> Result<(), Rejected> {
        self.accumulator.append_lingered()
    }

    /// When the next batch's linger time ends, if one waits.
    pub fn next_linger_deadline(&self) -> Option<Instant> {
        self.accumulator.next_linger_deadline()
    }

    /// Whether the sender thread has stopped (on an error: [`Producer::close`] returns it).
    pub fn is_stopped(&self) -> bool {
        self.sender.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Hands over what is pending, waits until the sender has appended and fsynced all of it,
    /// and reports what was written. The sender's error comes first: a hand-over only sees
    /// that it stopped.
    pub fn close(mut self) -> Result<ProduceSummary> {
        let handed_over = self.accumulator.finish();
        let Some(handle) = self.sender.take() else {
            return Err(Error::Internal("the writer thread is gone"));
        };
        drop(self);
        let (written, report) = handle
            .join()
            .map_err(|_| Error::Internal("the writer thread panicked"))?;
        written?;
        handed_over.map_err(|r| match r {
            Rejected::Failed(e) => e,
            other => Error::Invalid(other.to_string()),
        })?;
        Ok(report.into_summary())
    }
}

#[cfg(test)]
pub(crate) mod test_clock {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use crate::topic::Topic;

    /// (offset, key, value) of every record in partition `p` of `topic`.
    pub type Stored = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

    pub fn stored(topic: &Topic, p: u32) -> Vec<Stored> {
        let mut out = Vec::new();
        let Some(mut reader) = topic.open_reader(p).unwrap() else {
            return out;
        };
        while let Some(found) = reader.next_batch().unwrap() {
            let batch = found.batch.as_batch().unwrap();
            let mut scratch = Vec::new();
            for r in batch.records_in(&mut scratch).unwrap() {
                let r = r.unwrap();
                out.push((
                    batch.offset_of(&r),
                    r.key.map(<[u8]>::to_vec),
                    r.value.map(<[u8]>::to_vec),
                ));
            }
        }
        out
    }

    /// A clock that moves only when a test says so.
    #[derive(Debug, Clone)]
    pub struct ManualClock(Arc<Mutex<Instant>>);

    impl ManualClock {
        pub fn new() -> ManualClock {
            ManualClock(Arc::new(Mutex::new(Instant::now())))
        }
        pub fn advance(&self, by: Duration) {
            if let Ok(mut t) = self.0.lock() {
                *t += by;
            }
        }
    }

    impl super::Clock for ManualClock {
        fn now(&self) -> Instant {
            self.0.lock().map_or_else(|_| Instant::now(), |t| *t)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::collections::BTreeMap;

    use super::test_clock::stored;
    use super::*;
    use crate::format::BatchBuilder;
    use crate::topic::Topics;

    fn topic(partitions: u32) -> (tempfile::TempDir, Topic) {
        let tmp = tempfile::tempdir().unwrap();
        let t = Topics::new(tmp.path())
            .create("t", partitions, BTreeMap::new())
            .unwrap();
        (tmp, t)
    }

    fn record<'a>(
        key: Option<&'a [u8]>,
        value: &'a [u8],
        partition: Option<u32>,
    ) -> ProducerRecord<'a> {
        ProducerRecord {
            key,
            value: Some(value),
            headers: &[],
            partition,
            timestamp: 1_700_000_000_000,
        }
    }

    #[test]
    fn records_in_offsets_out() {
        let (_tmp, t) = topic(3);
        let config = ProducerConfig {
            compression: Compression::Lz4,
            ..ProducerConfig::default()
        };
        let mut p = Producer::new(&t, config);
        p.send(&record(None, b"a", Some(2))).unwrap();
        p.send(&record(None, b"b", Some(0))).unwrap();
        p.hand_over().unwrap();
        p.send(&record(None, b"c", Some(2))).unwrap();
        p.send_value(b"d", 0).unwrap();
        let summary = p.close().unwrap();
        assert_eq!(summary.records, 4);
        assert_eq!(summary.written, [0, 1, 2]);
        let offsets: Vec<(u32, u64, i64, i64)> = summary
            .appended
            .iter()
            .map(|a| (a.partition, a.records, a.first_offset, a.last_offset))
            .collect();
        // Keyless "d" went to the sticky partition: 0 at first, 1 after partition 0's batch
        // was handed over.
        assert_eq!(offsets, [(0, 1, 0, 0), (1, 1, 0, 0), (2, 2, 0, 1)]);
        assert_eq!(
            stored(&t, 2),
            [
                (0, None, Some(b"a".to_vec())),
                (1, None, Some(b"c".to_vec()))
            ]
        );
        assert_eq!(stored(&t, 1), [(0, None, Some(b"d".to_vec()))]);
    }

    #[test]
    fn ready_made_batches_are_checked_and_appended_in_order() {
        let (_tmp, t) = topic(1);
        let mut p = Producer::new(&t, ProducerConfig::default());
        p.send(&record(Some(b"k"), b"first", None)).unwrap();
        let mut b = BatchBuilder::new();
        b.append(5, Some(b"x"), Some(b"second"), &[]);
        b.append(6, Some(b"y"), Some(b"third"), &[]);
        let mut bytes = b.finish();
        p.send_batch(0, bytes.clone()).unwrap();
        // A damaged batch and an unknown partition are refused; the producer goes on.
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        assert!(matches!(
            p.send_batch(0, bytes),
            Err(Rejected::InvalidBatch(_))
        ));
        assert!(matches!(
            p.send_batch(1, BatchBuilder::new().finish()),
            Err(Rejected::UnknownPartition { partition: 1, .. })
        ));
        let summary = p.close().unwrap();
        assert_eq!(summary.records, 3);
        let values: Vec<_> = stored(&t, 0)
            .into_iter()
            .map(|r| (r.0, r.2.unwrap()))
            .collect();
        assert_eq!(
            values,
            [
                (0, b"first".to_vec()),
                (1, b"second".to_vec()),
                (2, b"third".to_vec())
            ]
        );
    }

    #[test]
    fn a_large_record_is_written_whole_from_its_buffer() {
        let mut configs = BTreeMap::new();
        configs.insert("max.message.bytes".to_string(), (16 << 20).to_string());
        let tmp = tempfile::tempdir().unwrap();
        let t = Topics::new(tmp.path()).create("t", 1, configs).unwrap();
        let mut p = Producer::new(&t, ProducerConfig::default());
        p.send(&record(None, b"before", None)).unwrap();
        let mut buf = vec![b'v'; LARGE_RECORD + 100];
        buf[..4].copy_from_slice(b"key:");
        let len = buf.len();
        let large = LargeRecord {
            buf,
            value: 4..len,
            key: Some(b"key".to_vec()),
            headers: Vec::new(),
            timestamp: 0,
        };
        p.send_large(None, large).unwrap();
        p.send(&record(None, b"after", None)).unwrap();
        let summary = p.close().unwrap();
        assert_eq!(summary.records, 3);
        let got = stored(&t, 0);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1.as_deref(), Some(&b"key"[..]));
        assert_eq!(got[1].2.as_ref().map(Vec::len), Some(LARGE_RECORD + 96));
        assert_eq!(got[2].2.as_deref(), Some(&b"after"[..]));
    }

    #[test]
    fn a_record_larger_than_the_topic_allows_is_refused_and_the_rest_goes_on() {
        let mut configs = BTreeMap::new();
        configs.insert("max.message.bytes".to_string(), "200".to_string());
        let tmp = tempfile::tempdir().unwrap();
        let t = Topics::new(tmp.path()).create("t", 1, configs).unwrap();
        let mut p = Producer::new(&t, ProducerConfig::default());
        let r = p.send(&record(None, &[b'x'; 300], None));
        assert!(matches!(
            r,
            Err(Rejected::TooLarge {
                config: "max.message.bytes",
                max: 200,
                ..
            })
        ));
        p.send(&record(None, b"small", None)).unwrap();
        assert_eq!(p.close().unwrap().records, 1);
    }
}
