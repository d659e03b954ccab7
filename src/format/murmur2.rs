//! Kafka's default partitioner: murmur2 of the key bytes (Kafka's `Utils.murmur2`).
//!
//! `partition = (murmur2(key) & 0x7fffffff) % partitions`, so a key lands in the partition a
//! Kafka Java producer (or librdkafka's `murmur2` partitioner) would choose.

/// Kafka's variant of MurmurHash2, 32-bit, seed `0x9747b28c`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        // Kafka reads each 4-byte group little-endian.
        let mut k = u32::from_le_bytes(c.try_into().unwrap_or([0; 4]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if let Some(&b) = tail.get(2) {
        h ^= (b as u32) << 16;
    }
    if let Some(&b) = tail.get(1) {
        h ^= (b as u32) << 8;
    }
    if let Some(&b) = tail.first() {
        h ^= b as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a non-null key.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) & 0x7fff_ffff) as u32) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_and_librdkafka_test_vectors() {
        let cases: &[(&str, i32)] = &[
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
            ("kafka", 0xd067_cf64_u32 as i32),
            ("giberish123456789", 0x8f55_2b0c_u32 as i32),
            ("1234", 0x9fc9_7b14_u32 as i32),
            ("234", 0xe7c0_09ca_u32 as i32),
            ("34", 0x8739_30da_u32 as i32),
            ("4", 0x5a4b_5ca1_u32 as i32),
            ("PreAmbleWillBeRemoved,ThePrePartThatIs", 0x7842_4f1c),
            ("", 0x106e_08d9),
        ];
        for &(key, want) in cases {
            assert_eq!(murmur2(key.as_bytes()), want, "key {key:?}");
        }
        assert_eq!(murmur2(b"amqp") & 0x7fff_ffff, 767_747_138);
    }

    #[test]
    fn real_broker_placement_of_keys_0_to_9_over_3_partitions() {
        // cobyforrester/kafka TOPIC_NAME: "1","5","7","8" in 0; "4","6" in 1; the rest in 2.
        let want = [2, 0, 2, 2, 1, 0, 1, 0, 0, 2];
        for (k, &p) in want.iter().enumerate() {
            assert_eq!(partition_for_key(k.to_string().as_bytes(), 3), p, "key {k}");
        }
    }
}
