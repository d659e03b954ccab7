//! Idempotent producers: de-duplication of retried batches, per partition, by producer id,
//! epoch and sequence, as Kafka's `ProducerStateManager` does.
//!
//! # Invariants
//! 1. For each producer id seen on a partition, the epoch of its last batch and its last
//!    [`WINDOW`] batches (first and last sequence, offsets) are kept.
//! 2. A batch whose producer epoch and sequence range match one of those batches is a
//!    duplicate: it is answered with the offsets it got, and not appended again.
//! 3. Otherwise, with the same epoch, its first sequence must follow the last one
//!    (`last + 1`, or 0 after `i32::MAX`): a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, a sequence
//!    at or below the last one (a retry older than the window) is DUPLICATE_SEQUENCE_NUMBER.
//!    A higher epoch must start at sequence 0; a lower one is INVALID_PRODUCER_EPOCH. A
//!    producer id never seen (or forgotten) is taken at any sequence, as Kafka does.
//! 4. The state is rebuilt from the log: on first write to a partition the server reads the
//!    batch headers of its last [`REBUILD_SEGMENTS`] segments, oldest first. A retry of a
//!    batch that was appended before a segment rolled twice since is not recognised; Kafka's
//!    `.snapshot` files carry that state further back.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use crate::error::Result;
use crate::format::BatchHeader;
use crate::storage::file_names::log_file;
use crate::storage::{ChunkReader, list_segments};

/// Batches remembered per producer and partition (Kafka's `NUM_BATCHES_TO_RETAIN`).
pub const WINDOW: usize = 5;

/// Segments read back to rebuild the state (see invariant 4).
pub const REBUILD_SEGMENTS: usize = 2;

/// Kafka's error codes for the outcomes below.
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;

/// One batch of a producer, as appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
    /// The batch's max timestamp as stored (LogAppendTime included).
    pub max_timestamp: i64,
}

#[derive(Debug, Clone, Default)]
struct Producer {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// What to do with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Append,
    /// Already appended: answer with these offsets.
    Duplicate(BatchMeta),
    /// Refuse with this error code.
    Reject(i16),
}

/// The idempotence state of one partition.
#[derive(Debug, Default)]
pub struct ProducerStates {
    producers: HashMap<i64, Producer>,
}

fn in_sequence(last: i32, next: i32) -> bool {
    next == last.wrapping_add(1) || (last == i32::MAX && next == 0)
}

impl ProducerStates {
    /// Decides about a batch before it is appended.
    pub fn check(&self, h: &BatchHeader) -> Verdict {
        if h.producer_id < 0 {
            return Verdict::Append;
        }
        let Some(p) = self.producers.get(&h.producer_id) else {
            return Verdict::Append;
        };
        let (first, last) = (h.base_sequence, h.last_sequence());
        if h.producer_epoch < p.epoch {
            return Verdict::Reject(INVALID_PRODUCER_EPOCH);
        }
        if h.producer_epoch > p.epoch {
            return if first == 0 {
                Verdict::Append
            } else {
                Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        if let Some(b) = p
            .batches
            .iter()
            .find(|b| b.first_seq == first && b.last_seq == last)
        {
            return Verdict::Duplicate(*b);
        }
        match p.batches.back() {
            None => Verdict::Append,
            Some(b) if in_sequence(b.last_seq, first) => Verdict::Append,
            Some(b) if first <= b.last_seq => Verdict::Reject(DUPLICATE_SEQUENCE_NUMBER),
            Some(_) => Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER),
        }
    }

    /// Records a batch that was appended (or found in the log).
    pub fn record(&mut self, h: &BatchHeader, meta: BatchMeta) {
        if h.producer_id < 0 || h.is_control() {
            return;
        }
        let p = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch != p.epoch {
            p.epoch = h.producer_epoch;
            p.batches.clear();
        }
        p.batches.push_back(meta);
        while p.batches.len() > WINDOW {
            p.batches.pop_front();
        }
    }

    /// The state as the last [`REBUILD_SEGMENTS`] segments of the partition in `dir` leave
    /// it (see invariant 4). Reads batch headers only; stops at the first entry that is not
    /// a whole v2 batch (the end of what was written, or damage that the writer's own
    /// recovery will report).
    pub fn rebuild(dir: &Path) -> Result<ProducerStates> {
        let mut states = ProducerStates::default();
        let segments = match list_segments(dir) {
            Ok(s) => s,
            Err(crate::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(states);
            }
            Err(e) => return Err(e),
        };
        let from = segments.len().saturating_sub(REBUILD_SEGMENTS);
        for &base in &segments[from..] {
            let path = log_file(dir, base);
            let mut r = match ChunkReader::open(&path) {
                Ok(r) => r,
                Err(_) => continue,
            };
            let len = r.file_len()?;
            let mut pos = 0u64;
            while let Ok(Some((size, _))) = r.peek(pos, len) {
                if let Ok(Some(h)) = r.buffered_header(pos, len)
                    && h.producer_id >= 0
                {
                    let meta = BatchMeta {
                        first_seq: h.base_sequence,
                        last_seq: h.last_sequence(),
                        base_offset: h.base_offset,
                        last_offset: h.last_offset(),
                        max_timestamp: h.max_timestamp,
                    };
                    states.record(&h, meta);
                }
                pos += size;
            }
        }
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, first: i32, count: i32) -> BatchHeader {
        BatchHeader {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: first,
            last_offset_delta: count - 1,
            records_count: count,
            magic: 2,
            ..BatchHeader::default()
        }
    }

    fn meta(h: &BatchHeader, base: i64) -> BatchMeta {
        BatchMeta {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            base_offset: base,
            last_offset: base + h.last_offset_delta as i64,
            max_timestamp: 0,
        }
    }

    #[test]
    fn sequences_follow_and_retries_of_the_last_five_are_duplicates() {
        let mut s = ProducerStates::default();
        let mut offset = 0;
        let mut seq = 0;
        let mut sent = Vec::new();
        for _ in 0..7 {
            let h = header(7, 0, seq, 3);
            assert_eq!(s.check(&h), Verdict::Append);
            s.record(&h, meta(&h, offset));
            sent.push((h, offset));
            offset += 3;
            seq += 3;
        }
        // The last five are answered with their own offsets.
        for (h, base) in &sent[2..] {
            match s.check(h) {
                Verdict::Duplicate(m) => assert_eq!(m.base_offset, *base),
                v => panic!("{v:?}"),
            }
        }
        // Older ones are below the window: DUPLICATE_SEQUENCE_NUMBER.
        assert_eq!(
            s.check(&sent[0].0),
            Verdict::Reject(DUPLICATE_SEQUENCE_NUMBER)
        );
        // A gap: OUT_OF_ORDER_SEQUENCE_NUMBER.
        assert_eq!(
            s.check(&header(7, 0, seq + 1, 1)),
            Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(s.check(&header(7, 0, seq, 1)), Verdict::Append);
    }

    #[test]
    fn epochs_and_unknown_producers() {
        let mut s = ProducerStates::default();
        // Unknown producer: any sequence (Kafka: its state may have expired).
        let h = header(1, 3, 40, 2);
        assert_eq!(s.check(&h), Verdict::Append);
        s.record(&h, meta(&h, 0));
        assert_eq!(
            s.check(&header(1, 2, 42, 1)),
            Verdict::Reject(INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(
            s.check(&header(1, 4, 42, 1)),
            Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        let bumped = header(1, 4, 0, 1);
        assert_eq!(s.check(&bumped), Verdict::Append);
        s.record(&bumped, meta(&bumped, 2));
        assert_eq!(s.check(&header(1, 4, 1, 1)), Verdict::Append);
        // Non-idempotent batches are never checked.
        assert_eq!(s.check(&header(-1, -1, -1, 5)), Verdict::Append);
    }

    #[test]
    fn sequence_wraps_after_i32_max() {
        let mut s = ProducerStates::default();
        let h = header(9, 0, i32::MAX, 1);
        s.record(&h, meta(&h, 0));
        assert_eq!(s.check(&header(9, 0, 0, 1)), Verdict::Append);
    }

    #[test]
    fn the_state_comes_back_from_the_log() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t-0");
        let mut log =
            crate::storage::Log::open(&dir, crate::storage::LogConfig::default()).unwrap();
        let mut bases = Vec::new();
        for i in 0..3 {
            let mut b = crate::format::BatchBuilder::new();
            b.append(1, None, Some(b"v"), &[]);
            b.append(2, None, Some(b"w"), &[]);
            let mut bytes = b.finish();
            let mut h = BatchHeader::parse(&bytes).unwrap();
            h.producer_id = 5;
            h.producer_epoch = 1;
            h.base_sequence = i * 2;
            let mut head = [0u8; crate::format::batch::RECORD_BATCH_OVERHEAD];
            h.write(&mut head);
            bytes[..head.len()].copy_from_slice(&head);
            let crc = crate::format::batch::compute_crc(&bytes);
            bytes[17..21].copy_from_slice(&crc.to_be_bytes());
            bases.push(log.append(&mut bytes).unwrap().base_offset);
        }
        drop(log);
        let s = ProducerStates::rebuild(&dir).unwrap();
        match s.check(&header(5, 1, 2, 2)) {
            Verdict::Duplicate(m) => assert_eq!(m.base_offset, bases[1]),
            v => panic!("{v:?}"),
        }
        assert_eq!(s.check(&header(5, 1, 6, 1)), Verdict::Append);
        assert_eq!(
            s.check(&header(5, 1, 8, 1)),
            Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        // A partition never written has no state.
        assert!(
            ProducerStates::rebuild(&tmp.path().join("none-0"))
                .unwrap()
                .producers
                .is_empty()
        );
    }
}
