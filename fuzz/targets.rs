//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (libFuzzer: nightly and
//! `cargo fuzz`) and `tests/fuzz_corpus.rs` (replays `fuzz/corpus/<target>/*` on stable, in CI).
//!
//! Each function feeds arbitrary bytes to the decoder a reader of untrusted segment files uses
//! and checks what must hold whatever the input: no panic, output within the limit, no output
//! left behind on error. It returns whether the input decoded cleanly (`true`) or was refused
//! with an error (`false`); the fuzz targets ignore that, the corpus test checks it against the
//! `ok-`/`err-` prefix of the seed's file name.
#![allow(dead_code)]

use klog::format::batch::{self, RECORD_BATCH_OVERHEAD, RecordBatch};
use klog::format::compression::{compress, decompress};
use klog::format::legacy::{self, LegacyMessage};
use klog::format::{Compression, DecodeError};

/// The output limit the decompression and legacy targets pass (1 MiB).
pub const LIMIT: usize = 1 << 20;

/// A target's body: `true` when the input decoded cleanly, `false` when it was refused.
pub type Target = fn(&[u8]) -> bool;

/// Every target: its name (the directory under `fuzz/corpus/`) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("decompress_gzip", decompress_gzip),
    ("decompress_snappy", decompress_snappy),
    ("decompress_lz4", decompress_lz4),
    ("decompress_zstd", decompress_zstd),
    ("decode_batch", decode_batch),
    ("decode_legacy", decode_legacy),
];

pub fn decompress_gzip(data: &[u8]) -> bool {
    decompress_bounded(Compression::Gzip, data)
}

pub fn decompress_snappy(data: &[u8]) -> bool {
    decompress_bounded(Compression::Snappy, data)
}

pub fn decompress_lz4(data: &[u8]) -> bool {
    decompress_bounded(Compression::Lz4, data)
}

pub fn decompress_zstd(data: &[u8]) -> bool {
    decompress_bounded(Compression::Zstd, data)
}

/// `decompress` with a 1 MiB limit: at most `LIMIT` bytes out (and not much more capacity), an
/// empty output on error, errors at stream position 0, and what came out compresses and
/// decompresses back to itself.
fn decompress_bounded(codec: Compression, data: &[u8]) -> bool {
    let mut out = Vec::new();
    let result = decompress(codec, data, &mut out, LIMIT);
    assert!(
        out.capacity() <= LIMIT + 1,
        "{}: output capacity {} above the limit",
        codec.name(),
        out.capacity()
    );
    match result {
        Ok(()) => {
            assert!(
                out.len() <= LIMIT,
                "{}: {} bytes out",
                codec.name(),
                out.len()
            );
            let mut again = Vec::new();
            compress(codec, &out, &mut again);
            let mut back = Vec::new();
            decompress(codec, &again, &mut back, LIMIT)
                .unwrap_or_else(|e| panic!("{}: own output refused: {e}", codec.name()));
            assert!(back == out, "{}: round trip differs", codec.name());
            true
        }
        Err(e) => {
            assert!(
                matches!(
                    e,
                    DecodeError::Decompress { .. } | DecodeError::DecompressLimit { .. }
                ),
                "{}: unexpected error kind {e:?}",
                codec.name()
            );
            assert_eq!(e.at(), 0, "{}: error position", codec.name());
            assert!(out.is_empty(), "{}: output left on error", codec.name());
            false
        }
    }
}

/// `RecordBatch::decode` and every record of the batch (decompressed with `records_in` when
/// the batch is compressed), using what a consumer uses: offsets, timestamps, the header's
/// offset range. Then the same bytes again with the length and CRC made to fit, so that the
/// fuzzer gets past the CRC check to the records.
pub fn decode_batch(data: &[u8]) -> bool {
    let ok = read_batch(data);
    if data.len() >= RECORD_BATCH_OVERHEAD
        && let Ok(length) = i32::try_from(data.len() - 12)
    {
        let mut fixed = data.to_vec();
        fixed[8..12].copy_from_slice(&length.to_be_bytes());
        let crc = batch::compute_crc(&fixed);
        fixed[17..21].copy_from_slice(&crc.to_be_bytes());
        read_batch(&fixed);
    }
    ok
}

fn read_batch(data: &[u8]) -> bool {
    let Ok(b) = RecordBatch::decode(data) else {
        return false;
    };
    let h = b.header;
    assert_eq!(b.as_bytes().len(), h.size(), "batch size");
    assert!(h.size() <= data.len(), "batch past the input");
    let (first, last, next) = (h.base_offset, h.last_offset(), h.next_offset());
    assert!(
        first <= last && last < next,
        "offset range {first}..={last}, next {next}"
    );
    let _ = (h.compression(), h.timestamp_type(), h.last_sequence());
    let _ = (h.is_control(), h.is_transactional(), h.delete_horizon_ms());
    let mut scratch = Vec::new();
    let Ok(records) = b.records_in(&mut scratch) else {
        return false;
    };
    let mut count = 0i64;
    for r in records {
        let Ok(r) = r else {
            return false;
        };
        count += 1;
        let _ = (b.offset_of(&r), b.timestamp_of(&r));
        let _ = (r.key.map(<[u8]>::len), r.value.map(<[u8]>::len));
        for hd in &r.headers {
            let _ = (hd.key.len(), hd.value.map(<[u8]>::len));
        }
    }
    assert_eq!(count, i64::from(h.records_count), "records handed out");
    true
}

/// `LegacyMessage::decode` and `legacy::records` (1 MiB limit for a compressed wrapper's
/// inner messages); then again with the size and CRC made to fit.
pub fn decode_legacy(data: &[u8]) -> bool {
    let ok = read_legacy(data);
    if data.len() >= 26
        && let Ok(size) = i32::try_from(data.len() - 12)
    {
        let mut fixed = data.to_vec();
        fixed[8..12].copy_from_slice(&size.to_be_bytes());
        let crc = legacy::compute_crc(&fixed);
        fixed[12..16].copy_from_slice(&crc.to_be_bytes());
        read_legacy(&fixed);
    }
    ok
}

fn read_legacy(data: &[u8]) -> bool {
    let Ok(m) = LegacyMessage::decode(data) else {
        return false;
    };
    assert!(m.size <= data.len(), "message past the input");
    assert!(m.magic == 0 || m.magic == 1, "magic {}", m.magic);
    let _ = (m.compression(), m.timestamp_type());
    let Ok(records) = legacy::records(&m, LIMIT) else {
        return false;
    };
    assert!(!records.is_empty(), "no records from a message");
    let inner: usize = records
        .iter()
        .map(|r| r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len))
        .sum();
    assert!(
        inner <= LIMIT.max(data.len()),
        "{inner} bytes of keys and values"
    );
    true
}
