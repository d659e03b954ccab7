//! Kafka's `RecordAccumulator`: records batched per partition, batches handed to the sender.
//!
//! # Invariants
//! 1. A batch never exceeds the batch limit (`batch.size`, `max.message.bytes` and
//!    `segment.bytes`, whichever is least) unless it holds a single record, which is then
//!    within `max.message.bytes` and `segment.bytes` (else refused as too large).
//! 2. A batch is handed over when the next record would not fit, when the front end hands
//!    everything over, when its linger time passed, or when more than [`MAX_PENDING`] bytes
//!    wait across partitions (then every batch goes).
//! 3. Each handed-over batch of the sticky partition moves the sticky partition on.
//! 4. Buffers come back from the sender once appended and are reused for new batches, so that
//!    a steady stream allocates nothing per batch.

use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

use super::{Clock, Job, LargeRecord, MAX_PENDING, Partitioner, ProducerRecord, Rejected};
use crate::error::Error;
use crate::format::{BATCH_HEADER_LEN, BatchBuilder, BuiltBatch};
use crate::topic::Topic;

/// Batches under construction, one per partition at most.
pub(crate) struct RecordAccumulator<C: Clock> {
    /// Batches under construction, indexed by partition.
    builders: Vec<Option<BatchBuilder>>,
    /// With a linger time: when each batch under construction got its first record.
    opened: Vec<Option<Instant>>,
    /// Record bytes in the batches under construction.
    pending: usize,
    /// Buffers the sender is done with, for new batches.
    spare: Vec<Vec<u8>>,
    batch_limit: usize,
    max_message_bytes: u32,
    segment_bytes: u32,
    linger: Option<Duration>,
    clock: C,
    partitioner: Partitioner,
    jobs: SyncSender<Job>,
    returned: Receiver<Vec<u8>>,
}

/// The sender stopped: the producer cannot go on ([`crate::produce::Producer::close`] says why).
fn stopped() -> Rejected {
    Rejected::Failed(Error::Internal("the writer stopped"))
}

impl<C: Clock> RecordAccumulator<C> {
    pub(crate) fn new(
        topic: &Topic,
        batch_size: usize,
        linger: Option<Duration>,
        clock: C,
        jobs: SyncSender<Job>,
        returned: Receiver<Vec<u8>>,
    ) -> Self {
        let c = &topic.config;
        // Batches of up to batch_size, never above max.message.bytes nor segment.bytes.
        let batch_limit = (c.max_message_bytes.min(c.segment_bytes) as usize)
            .clamp(BATCH_HEADER_LEN + 1, batch_size.max(BATCH_HEADER_LEN + 1));
        let n = topic.partitions as usize;
        RecordAccumulator {
            builders: (0..n).map(|_| None).collect(),
            opened: vec![None; n],
            pending: 0,
            spare: Vec::new(),
            batch_limit,
            max_message_bytes: c.max_message_bytes,
            segment_bytes: c.segment_bytes,
            linger,
            clock,
            partitioner: Partitioner::new(topic.partitions),
            jobs,
            returned,
        }
    }

    /// The refusal of a record of `single` bytes (as a batch of its own) that is larger than
    /// the topic allows.
    fn too_large(&self, single: usize) -> Option<Rejected> {
        [
            ("max.message.bytes", self.max_message_bytes),
            ("segment.bytes", self.segment_bytes),
        ]
        .into_iter()
        .find(|&(_, max)| single > max as usize)
        .map(|(config, max)| Rejected::TooLarge {
            size: single,
            config,
            max,
        })
    }

    /// Adds a record to its partition's batch, handing that batch over first when the record
    /// would not fit.
    pub(crate) fn add(&mut self, r: &ProducerRecord<'_>) -> Result<(), Rejected> {
        let p = self.partitioner.partition(r.partition, r.key)?;
        let slot = p as usize;
        let current = self.builders.get(slot).and_then(Option::as_ref);
        // The exact size only matters near the limit.
        let bound = BatchBuilder::record_size_bound(r.key, r.value, r.headers);
        let near = current.map_or(BATCH_HEADER_LEN, BatchBuilder::len) + bound > self.batch_limit;
        if near
            && current.map_or_else(
                || BatchBuilder::new().size_with(r.timestamp, r.key, r.value, r.headers),
                |b| b.size_with(r.timestamp, r.key, r.value, r.headers),
            ) > self.batch_limit
        {
            let single = BatchBuilder::new().size_with(r.timestamp, r.key, r.value, r.headers);
            if let Some(refused) = self.too_large(single) {
                return Err(refused);
            }
            self.append(p)?;
        }
        if self.linger.is_some()
            && let Some(opened @ None) = self.opened.get_mut(slot)
        {
            *opened = Some(self.clock.now());
        }
        let (spare, returned) = (&mut self.spare, &self.returned);
        let b = self
            .builders
            .get_mut(slot)
            .ok_or(Rejected::Failed(Error::Internal(
                "no batch for the partition",
            )))?
            .get_or_insert_with(|| {
                // A new batch: into a buffer the sender is done with, when there is one.
                spare.extend(returned.try_iter());
                BatchBuilder::from_vec(spare.pop().unwrap_or_default())
            });
        let before = b.len();
        b.append(r.timestamp, r.key, r.value, r.headers);
        let added = b.len() - before;
        self.added(added)
    }

    /// Counts `bytes` just added to a batch; past [`MAX_PENDING`], every batch goes to the
    /// sender.
    #[inline]
    fn added(&mut self, bytes: usize) -> Result<(), Rejected> {
        self.pending += bytes;
        if self.pending > MAX_PENDING {
            self.append_all()?;
        }
        Ok(())
    }

    /// [`RecordAccumulator::add`] of a record that is only a value, to the sticky partition:
    /// while that partition's batch surely has room, straight into it.
    #[inline]
    pub(crate) fn add_value(&mut self, value: &[u8], timestamp: i64) -> Result<(), Rejected> {
        let bound = BatchBuilder::record_size_bound(None, Some(value), &[]);
        match self.builders.get_mut(self.partitioner.sticky() as usize) {
            Some(Some(b)) if b.len() + bound <= self.batch_limit => {
                let before = b.len();
                b.append_value(timestamp, value);
                let added = b.len() - before;
                self.added(added)
            }
            _ => self.add(&ProducerRecord {
                key: None,
                value: Some(value),
                headers: &[],
                partition: None,
                timestamp,
            }),
        }
    }

    /// Adds a record of more than [`super::LARGE_RECORD`] bytes, in a batch of its own that
    /// the sender writes from `r.buf`.
    pub(crate) fn add_large(
        &mut self,
        partition: Option<u32>,
        r: LargeRecord,
    ) -> Result<(), Rejected> {
        let p = self.partitioner.partition(partition, r.key.as_deref())?;
        let single = BatchBuilder::new().size_with(
            r.timestamp,
            r.key.as_deref(),
            Some(r.value()),
            &r.headers(),
        );
        if let Some(refused) = self.too_large(single) {
            return Err(refused);
        }
        // What came before it in this partition goes first.
        self.append(p)?;
        self.jobs
            .send(Job::AppendLarge {
                partition: p,
                record: r,
            })
            .map_err(|_| stopped())?;
        self.partitioner.on_batch_closed(p);
        Ok(())
    }

    /// Adds a whole batch made elsewhere to partition `p`, after what came before it there.
    pub(crate) fn add_batch(&mut self, p: u32, batch: BuiltBatch) -> Result<(), Rejected> {
        let p = self.partitioner.partition(Some(p), None)?;
        if let Some(refused) = self.too_large(batch.len()) {
            return Err(refused);
        }
        self.append(p)?;
        self.jobs
            .send(Job::AppendBuilt {
                partition: p,
                batch,
            })
            .map_err(|_| stopped())
    }

    /// Hands partition `p`'s batch to the sender.
    fn append(&mut self, p: u32) -> Result<(), Rejected> {
        let Some(b) = self.builders.get_mut(p as usize).and_then(Option::take) else {
            return Ok(());
        };
        if let Some(opened) = self.opened.get_mut(p as usize) {
            *opened = None;
        }
        // A builder exists only once a record is in it.
        self.pending = self.pending.saturating_sub(b.len() - BATCH_HEADER_LEN);
        // A closed channel: the sender stopped on an error, which `close` returns.
        self.jobs
            .send(Job::Append {
                partition: p,
                batch: b,
            })
            .map_err(|_| stopped())?;
        self.partitioner.on_batch_closed(p);
        Ok(())
    }

    /// Hands every batch under construction to the sender.
    pub(crate) fn append_all(&mut self) -> Result<(), Rejected> {
        for p in 0..self.partitioner.partitions() {
            self.append(p)?;
        }
        Ok(())
    }

    /// Hands over the batches whose linger time has passed.
    pub(crate) fn append_lingered(&mut self) -> Result<(), Rejected> {
        let Some(linger) = self.linger else {
            return Ok(());
        };
        let now = self.clock.now();
        for p in 0..self.partitioner.partitions() {
            let due = self
                .opened
                .get(p as usize)
                .copied()
                .flatten()
                .is_some_and(|t| now.saturating_duration_since(t) >= linger);
            if due {
                self.append(p)?;
            }
        }
        Ok(())
    }

    /// When the oldest batch's linger time ends.
    pub(crate) fn next_linger_deadline(&self) -> Option<Instant> {
        let linger = self.linger?;
        self.opened.iter().flatten().min().map(|&t| t + linger)
    }

    /// Hands over what is pending and asks the sender to fsync and stop.
    pub(crate) fn finish(&mut self) -> Result<(), Rejected> {
        self.append_all()?;
        self.jobs.send(Job::Finish).map_err(|_| stopped())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::collections::BTreeMap;
    use std::sync::mpsc::{Receiver, sync_channel};

    use super::*;
    use crate::produce::test_clock::ManualClock;
    use crate::topic::Topics;

    /// An accumulator for a new topic of `partitions` partitions with `configs`, and the
    /// receiving end of its jobs (room for every job a test makes: nothing is written).
    fn setup(
        partitions: u32,
        configs: &[(&str, &str)],
        batch_size: usize,
        linger: Option<Duration>,
    ) -> (
        tempfile::TempDir,
        RecordAccumulator<ManualClock>,
        Receiver<Job>,
        ManualClock,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let configs: BTreeMap<String, String> = configs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let topic = Topics::new(tmp.path())
            .create("t", partitions, configs)
            .unwrap();
        let (jobs_tx, jobs_rx) = sync_channel(10_000);
        let (_returned_tx, returned_rx) = std::sync::mpsc::channel();
        let clock = ManualClock::new();
        let acc = RecordAccumulator::new(
            &topic,
            batch_size,
            linger,
            clock.clone(),
            jobs_tx,
            returned_rx,
        );
        (tmp, acc, jobs_rx, clock)
    }

    /// (partition, records, bytes) of each batch handed over so far.
    fn handed_over(jobs: &Receiver<Job>) -> Vec<(u32, usize, usize)> {
        jobs.try_iter()
            .map(|j| match j {
                Job::Append { partition, batch } => (partition, batch.count(), batch.len()),
                Job::AppendLarge { partition, .. } => (partition, 1, usize::MAX),
                Job::AppendBuilt { partition, batch } => (
                    partition,
                    batch.header().records_count as usize,
                    batch.len(),
                ),
                Job::Finish => (u32::MAX, 0, 0),
            })
            .collect()
    }

    /// Bytes a keyless record of `v` adds to a batch.
    fn per_record(v: &[u8]) -> usize {
        let mut b = BatchBuilder::new();
        b.append_value(1_700_000_000_000, v);
        b.len() - BATCH_HEADER_LEN
    }

    fn value(acc: &mut RecordAccumulator<ManualClock>, v: &[u8]) {
        acc.add_value(v, 1_700_000_000_000).unwrap();
    }

    fn keyed(acc: &mut RecordAccumulator<ManualClock>, k: &[u8], v: &[u8], p: Option<u32>) {
        acc.add(&ProducerRecord {
            key: Some(k),
            value: Some(v),
            headers: &[],
            partition: p,
            timestamp: 1_700_000_000_000,
        })
        .unwrap();
    }

    #[test]
    fn a_batch_is_handed_over_when_the_next_record_would_not_fit() {
        let per = per_record(&[b'x'; 100]);
        let (_tmp, mut acc, jobs, _) = setup(1, &[], 61 + 10 * per, None);
        for _ in 0..10 {
            value(&mut acc, &[b'x'; 100]);
        }
        assert_eq!(handed_over(&jobs), [], "ten records fit exactly");
        value(&mut acc, &[b'x'; 100]);
        assert_eq!(handed_over(&jobs), [(0, 10, 61 + 10 * per)]);
        acc.append_all().unwrap();
        assert_eq!(handed_over(&jobs), [(0, 1, 61 + per)]);
    }

    #[test]
    fn batches_stop_at_max_message_bytes_and_larger_records_are_refused() {
        let (_tmp, mut acc, jobs, _) = setup(1, &[("max.message.bytes", "500")], 1 << 20, None);
        let per = per_record(&[b'x'; 100]);
        assert!(61 + 4 * per <= 500 && 61 + 5 * per > 500);
        for _ in 0..5 {
            value(&mut acc, &[b'x'; 100]);
        }
        // Four fit under 500 bytes: the fifth went into a batch of its own.
        assert_eq!(handed_over(&jobs), [(0, 4, 61 + 4 * per)]);
        let refused = acc.add_value(&[b'x'; 500], 0).unwrap_err();
        assert!(
            matches!(
                refused,
                Rejected::TooLarge {
                    config: "max.message.bytes",
                    max: 500,
                    ..
                }
            ),
            "{refused:?}"
        );
        // Refused, the record changed nothing: the pending batch is still there, whole.
        acc.append_all().unwrap();
        assert_eq!(handed_over(&jobs), [(0, 1, 61 + per)]);
    }

    #[test]
    fn each_partition_batches_on_its_own() {
        let (_tmp, mut acc, jobs, _) = setup(3, &[], 61 + 2 * 110, None);
        keyed(&mut acc, b"k", b"a", Some(0));
        keyed(&mut acc, b"k", b"b", Some(1));
        keyed(&mut acc, b"k", b"c", Some(0));
        keyed(&mut acc, b"k", b"d", Some(2));
        assert_eq!(handed_over(&jobs), []);
        acc.append_all().unwrap();
        let got: Vec<(u32, usize)> = handed_over(&jobs).iter().map(|j| (j.0, j.1)).collect();
        assert_eq!(got, [(0, 2), (1, 1), (2, 1)]);
    }

    #[test]
    fn past_max_pending_every_batch_goes() {
        // Eight partitions, batches of up to 2 MiB: MAX_PENDING (8 MiB) is reached before
        // any batch is full.
        let (_tmp, mut acc, jobs, _) = setup(8, &[("max.message.bytes", "4194304")], 2 << 20, None);
        let v = vec![b'x'; 1000];
        let mut sent = 0usize;
        let mut p = 0u32;
        while handed_over_count(&jobs, &mut sent) == 0 {
            keyed(&mut acc, b"k", &v, Some(p));
            p = (p + 1) % 8;
        }
        // Every partition's batch went at once, none of them full.
        assert_eq!(sent, 8);
        assert_eq!(acc.pending, 0);
    }

    fn handed_over_count(jobs: &Receiver<Job>, n: &mut usize) -> usize {
        *n += jobs.try_iter().count();
        *n
    }

    #[test]
    fn keyless_records_move_to_the_next_partition_after_each_batch() {
        let per = per_record(&[b'x'; 100]);
        let (_tmp, mut acc, jobs, _) = setup(3, &[], 61 + 2 * per, None);
        for _ in 0..6 {
            value(&mut acc, &[b'x'; 100]);
        }
        acc.append_all().unwrap();
        let got: Vec<(u32, usize)> = handed_over(&jobs).iter().map(|j| (j.0, j.1)).collect();
        // Two records fill a batch. The third closes partition 0's batch and starts the next
        // one there; the fourth goes to partition 1, and so on.
        assert_eq!(got, [(0, 2), (1, 2), (0, 1), (1, 1)]);
        assert_eq!(acc.partitioner.sticky(), 2);
    }

    #[test]
    fn an_unknown_partition_is_refused_and_changes_nothing() {
        let (_tmp, mut acc, jobs, _) = setup(2, &[], 1 << 20, None);
        keyed(&mut acc, b"k", b"a", Some(1));
        let r = acc.add(&ProducerRecord {
            key: None,
            value: Some(b"v"),
            headers: &[],
            partition: Some(2),
            timestamp: 0,
        });
        assert!(matches!(
            r,
            Err(Rejected::UnknownPartition {
                partition: 2,
                partitions: 2
            })
        ));
        acc.append_all().unwrap();
        assert_eq!(handed_over(&jobs).len(), 1);
    }

    #[test]
    fn a_large_record_goes_after_what_came_before_it_in_its_partition() {
        let (_tmp, mut acc, jobs, _) =
            setup(2, &[("max.message.bytes", "20000000")], 1 << 20, None);
        keyed(&mut acc, b"k", b"small", Some(1));
        keyed(&mut acc, b"k", b"other", Some(0));
        let large = LargeRecord {
            buf: vec![7u8; 5 << 20],
            value: 0..5 << 20,
            key: None,
            headers: Vec::new(),
            timestamp: 0,
        };
        acc.add_large(Some(1), large).unwrap();
        let got: Vec<(u32, usize, usize)> = handed_over(&jobs);
        assert_eq!(got[0].0, 1, "partition 1's batch first");
        assert_eq!(got[1], (1, 1, usize::MAX), "then the large record");
        assert_eq!(got.len(), 2, "partition 0's batch stays");
        // Over max.message.bytes even alone: refused.
        let (_tmp, mut acc, _jobs, _) = setup(1, &[], 1 << 20, None);
        let huge = LargeRecord {
            buf: vec![7u8; 5 << 20],
            value: 0..5 << 20,
            key: None,
            headers: Vec::new(),
            timestamp: 0,
        };
        assert!(matches!(
            acc.add_large(None, huge),
            Err(Rejected::TooLarge {
                config: "max.message.bytes",
                ..
            })
        ));
    }

    #[test]
    fn a_batch_waits_its_linger_time_on_the_clock() {
        let linger = Duration::from_millis(5);
        let (_tmp, mut acc, jobs, clock) = setup(2, &[], 1 << 20, Some(linger));
        let start = clock.now();
        keyed(&mut acc, b"k", b"a", Some(0));
        assert_eq!(acc.next_linger_deadline(), Some(start + linger));
        clock.advance(Duration::from_millis(3));
        keyed(&mut acc, b"k", b"b", Some(1));
        keyed(&mut acc, b"k", b"c", Some(0));
        acc.append_lingered().unwrap();
        assert_eq!(handed_over(&jobs), [], "4 ms < 5 ms");
        clock.advance(Duration::from_millis(2));
        acc.append_lingered().unwrap();
        let got: Vec<(u32, usize)> = handed_over(&jobs).iter().map(|j| (j.0, j.1)).collect();
        assert_eq!(got, [(0, 2)], "partition 0 waited 5 ms, partition 1 only 2");
        assert_eq!(
            acc.next_linger_deadline(),
            Some(start + Duration::from_millis(3) + linger)
        );
        clock.advance(Duration::from_millis(3));
        acc.append_lingered().unwrap();
        assert_eq!(
            handed_over(&jobs).iter().map(|j| j.0).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(acc.next_linger_deadline(), None);
    }

    #[test]
    fn without_a_linger_time_batches_wait_for_the_hand_over() {
        let (_tmp, mut acc, jobs, clock) = setup(1, &[], 1 << 20, None);
        value(&mut acc, b"a");
        clock.advance(Duration::from_secs(3600));
        acc.append_lingered().unwrap();
        assert_eq!(handed_over(&jobs), []);
        assert_eq!(acc.next_linger_deadline(), None);
        acc.append_all().unwrap();
        assert_eq!(handed_over(&jobs).len(), 1);
    }

    #[test]
    fn a_stopped_sender_fails_the_hand_over() {
        let (_tmp, mut acc, jobs, _) = setup(1, &[], 1 << 20, None);
        drop(jobs);
        value(&mut acc, b"a");
        assert!(matches!(acc.append_all(), Err(Rejected::Failed(_))));
    }
}
