//! Which partition a record goes to: the one asked for, else by its key (Kafka's murmur2),
//! else the sticky partition.
//!
//! # Invariants
//! 1. A record with a key goes where Kafka's default partitioner sends it:
//!    `toPositive(murmur2(key)) % partitions` ([`crate::format::partition_for_key`]), so keyed
//!    records land in the partition a Kafka producer would pick.
//! 2. Records without a key go to the sticky partition, which moves on (round-robin) each
//!    time a batch of it is closed: consecutive keyless batches spread over the partitions.
//! 3. A partition asked for that the topic does not have is refused, never clamped.
//!
//! # Kafka
//! `BuiltInPartitioner` and the `DefaultPartitioner`'s keyed rule. Kafka's sticky partition
//! moves on after `batch.size` bytes; here after each batch handed over, which is the same
//! for full batches and moves sooner for a trickle.

use super::Rejected;
use crate::format::partition_for_key;

/// Picks partitions for one topic's records.
#[derive(Debug, Clone)]
pub struct Partitioner {
    partitions: u32,
    sticky: u32,
}

impl Partitioner {
    /// A partitioner over `partitions` partitions, sticky to partition 0 first.
    pub fn new(partitions: u32) -> Partitioner {
        Partitioner {
            partitions,
            sticky: 0,
        }
    }

    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// The partition for keyless records now.
    #[inline]
    pub fn sticky(&self) -> u32 {
        self.sticky
    }

    /// The partition of a record: the one `asked` for, else by its key, else the sticky one.
    #[inline]
    pub fn partition(&self, asked: Option<u32>, key: Option<&[u8]>) -> Result<u32, Rejected> {
        let n = self.partitions;
        Ok(match (asked, key) {
            (Some(p), _) if p >= n => {
                return Err(Rejected::UnknownPartition {
                    partition: p,
                    partitions: n,
                });
            }
            (Some(p), _) => p,
            (None, Some(k)) => partition_for_key(k, n),
            (None, None) => self.sticky,
        })
    }

    /// A batch of partition `p` was closed (handed to the sender): keyless records move on
    /// to the next partition if `p` was theirs.
    #[inline]
    pub fn on_batch_closed(&mut self, p: u32) {
        if p == self.sticky {
            self.sticky = (self.sticky + 1) % self.partitions.max(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Keys and the partitions Kafka's `DefaultPartitioner` gives them (murmur2 values from
    /// Kafka's `UtilsTest.testMurmur2`, reduced as `Utils.toPositive(h) % n`).
    #[test]
    fn keys_go_where_kafkas_partitioner_sends_them() {
        let kafka_murmur2: [(&[u8], i32); 4] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
        ];
        for n in [1u32, 3, 7, 12] {
            let p = Partitioner::new(n);
            for (key, hash) in kafka_murmur2 {
                let want = ((hash & 0x7fff_ffff) as u32) % n;
                assert_eq!(
                    p.partition(None, Some(key)).unwrap(),
                    want,
                    "{key:?} of {n}"
                );
            }
        }
    }

    #[test]
    fn an_explicit_partition_wins_over_the_key_and_an_unknown_one_is_refused() {
        let p = Partitioner::new(3);
        assert_eq!(p.partition(Some(2), Some(b"foobar")).unwrap(), 2);
        assert_eq!(p.partition(Some(0), None).unwrap(), 0);
        assert!(matches!(
            p.partition(Some(3), None),
            Err(Rejected::UnknownPartition {
                partition: 3,
                partitions: 3
            })
        ));
    }

    #[test]
    fn keyless_records_stick_to_a_partition_until_its_batch_closes() {
        let mut p = Partitioner::new(3);
        assert_eq!(p.partition(None, None).unwrap(), 0);
        // Another partition's batch closing does not move it.
        p.on_batch_closed(2);
        assert_eq!(p.partition(None, None).unwrap(), 0);
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(p.partition(None, None).unwrap());
            p.on_batch_closed(p.sticky());
        }
        assert_eq!(seen, [0, 1, 2, 0, 1, 2]);
        // One partition: always 0.
        let mut one = Partitioner::new(1);
        one.on_batch_closed(0);
        assert_eq!(one.sticky(), 0);
    }
}
