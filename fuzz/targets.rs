//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (libFuzzer: nightly and
//! `cargo fuzz`) and `tests/fuzz_corpus.rs` (replays `fuzz/corpus/<target>/*` on stable, in CI).
//!
//! Each function feeds arbitrary bytes to code that reads untrusted input (segment files,
//! indexes, `produce` input) and checks what must hold whatever the input: no panic, output
//! within the limit, no output left behind on error, agreement with a simple reference. It
//! returns whether the input was well-formed (`true`) or refused or repaired (`false`); the
//! fuzz targets ignore that, the corpus test checks it against the `ok-`/`err-` prefix of the
//! seed's file name.
#![allow(dead_code)]

use std::path::Path;

use klog::format::batch::{self, BatchBuilder, RECORD_BATCH_OVERHEAD, RecordBatch};
use klog::format::compression::{compress, decompress};
use klog::format::legacy::{self, LegacyMessage};
use klog::format::{Compression, DecodeError};
use klog::input::{self, Piece, Splitter};
use klog::storage::index::{
    self, OFFSET_ENTRY_SIZE, OffsetIndex, OffsetPosition, TIME_ENTRY_SIZE, TimeIndex,
    TimestampOffset,
};
use klog::storage::verify::{repair_partition, verify_partition};
use klog::storage::{Log, LogConfig, LogReader};

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
    ("index_lookup", index_lookup),
    ("segment_recovery", segment_recovery),
    ("produce_split", produce_split),
    ("produce_json", produce_json),
    ("unescape", unescape),
    ("serve_request", serve_request),
    ("sasl_scram", sasl_scram),
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

// ---------------------------------------------------------------------------------------------
// Indexes
// ---------------------------------------------------------------------------------------------

/// Base offsets an index may belong to: any a segment file name can hold (20 digits, up to
/// `i64::MAX`).
const INDEX_BASES: [i64; 4] = [0, 1_000, i64::MAX - u32::MAX as i64, i64::MAX];

/// Input: `[base selector, split lo, split hi, .index bytes…, .timeindex bytes…]`. Runs the
/// lookups readers use on both byte slices and on the files opened as the active segment's
/// indexes: no panic; entries counted the same way everywhere; a lookup returns an entry at or
/// below its target, and when the entries are sorted the one a linear scan finds. Then appends
/// to, truncates, trims and reopens the files. `true` when both indexes are well-formed (whole
/// entries, strictly increasing).
pub fn index_lookup(data: &[u8]) -> bool {
    let [sel, lo, hi, rest @ ..] = data else {
        return false;
    };
    let base = INDEX_BASES[*sel as usize % INDEX_BASES.len()];
    let split = (usize::from(*lo) | usize::from(*hi) << 8).min(rest.len());
    let (idx, tidx) = rest.split_at(split);

    let (offsets, offsets_sorted) = check_offset_slice(idx, base);
    let (times, times_sorted) = check_time_slice(tidx, base);

    let tmp = tempfile::tempdir().expect("temp dir");
    check_offset_file(tmp.path(), idx, base, &offsets, offsets_sorted);
    check_time_file(tmp.path(), tidx, base, &times, times_sorted);

    let increasing = offsets.windows(2).all(|w| w[0].offset < w[1].offset)
        && times
            .windows(2)
            .all(|w| w[0].timestamp < w[1].timestamp && w[0].offset <= w[1].offset);
    idx.len().is_multiple_of(OFFSET_ENTRY_SIZE)
        && tidx.len().is_multiple_of(TIME_ENTRY_SIZE)
        && offsets_sorted
        && times_sorted
        && increasing
}

/// Targets worth looking up around `values`: each, its neighbours, and the extremes.
fn targets_around(values: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut t = vec![i64::MIN, -1, 0, i64::MAX];
    for v in values.take(64) {
        t.extend([v.saturating_sub(1), v, v.saturating_add(1)]);
    }
    t
}

/// The first all-zero slot (or the end) as the binary search must find it: a zero slot (or
/// the end) right after a non-zero one (or the start).
fn check_valid_entries(bytes: &[u8], entry: usize) -> usize {
    let n = index::valid_entries(bytes, entry);
    let slots = bytes.len() / entry;
    let zero = |s: usize| bytes[s * entry..(s + 1) * entry].iter().all(|&b| b == 0);
    assert!(n <= slots, "{n} entries in {slots} slots");
    assert!(n == slots || zero(n), "slot {n} is not zero");
    assert!(n == 0 || !zero(n - 1), "slot {} is zero", n - 1);
    n
}

/// The entries of an offset index, and whether every valid entry was read and they are sorted.
fn check_offset_slice(bytes: &[u8], base: i64) -> (Vec<OffsetPosition>, bool) {
    let n = check_valid_entries(bytes, OFFSET_ENTRY_SIZE);
    let entries = index::offset_entries(bytes, base);
    assert!(entries.len() <= n, "{} entries, {n} valid", entries.len());
    let sorted = entries.len() == n && entries.windows(2).all(|w| w[0].offset <= w[1].offset);
    for target in targets_around(entries.iter().map(|e| e.offset)) {
        let found = index::lookup_offset(bytes, n, base, target);
        if let Some(f) = found {
            assert!(f.offset <= target, "entry {f:?} above target {target}");
            assert!(
                entries.len() < n || entries.contains(&f),
                "{f:?} is not an entry"
            );
        }
        if sorted {
            let linear = entries.iter().rev().find(|e| e.offset <= target).copied();
            assert_eq!(found, linear, "offset lookup of {target}");
        }
    }
    (entries, sorted)
}

/// The entries of a time index, and whether every valid entry was read and they are sorted.
fn check_time_slice(bytes: &[u8], base: i64) -> (Vec<TimestampOffset>, bool) {
    let n = check_valid_entries(bytes, TIME_ENTRY_SIZE);
    let entries = index::time_entries(bytes, base);
    assert!(entries.len() <= n, "{} entries, {n} valid", entries.len());
    let sorted = entries.len() == n && entries.windows(2).all(|w| w[0].timestamp <= w[1].timestamp);
    for target in targets_around(entries.iter().map(|e| e.timestamp)) {
        let found = index::lookup_time(bytes, n, base, target);
        if let Some(f) = found {
            assert!(f.timestamp <= target, "entry {f:?} above target {target}");
            assert!(
                entries.len() < n || entries.contains(&f),
                "{f:?} is not an entry"
            );
        }
        if sorted {
            let linear = entries
                .iter()
                .rev()
                .find(|e| e.timestamp <= target)
                .copied();
            assert_eq!(found, linear, "time lookup of {target}");
        }
    }
    // (Entries past i64::MAX end `time_entries` early; the last one is looked at alone.)
    if entries.len() == n {
        assert_eq!(
            index::time_entries_last(bytes, n, base),
            entries.last().copied(),
            "last time entry"
        );
    }
    (entries, sorted)
}

/// The preallocation of the index files opened for writing: small, so each run is cheap.
const INDEX_MAX_BYTES: u32 = 1 << 10;

fn check_offset_file(
    dir: &Path,
    bytes: &[u8],
    base: i64,
    entries: &[OffsetPosition],
    sorted: bool,
) {
    let path = dir.join("00000000000000000000.index");
    std::fs::write(&path, bytes).expect("write index");
    let mut idx = OffsetIndex::open(&path, base, INDEX_MAX_BYTES).expect("open index");
    let n = index::valid_entries(&bytes[..bytes.len() / 8 * 8], OFFSET_ENTRY_SIZE);
    assert_eq!(idx.entries(), n, "entries of the opened index");
    if entries.len() == n {
        assert_eq!(idx.last_entry(), entries.last().copied(), "last entry");
    }
    for target in targets_around(entries.iter().map(|e| e.offset)) {
        assert_eq!(
            idx.lookup(target),
            index::lookup_offset(bytes, n, base, target),
            "file lookup of {target}"
        );
    }
    // An entry after the last one (if its relative offset fits), found by a lookup.
    let next = idx
        .last_entry()
        .map_or(base.checked_add(1), |e| e.offset.checked_add(1));
    // (Offsets more than i32::MAX past the base are not indexed: see `relative_offset`.)
    if let Some(next) = next.filter(|&o| index::relative_offset(base, o).is_some())
        && !idx.is_full()
    {
        idx.append(next, 1 << 20).expect("append");
        // The writer's view matches the file unless garbage follows (after a zero slot).
        let zero_after = bytes
            .iter()
            .skip((n + 1) * OFFSET_ENTRY_SIZE)
            .take(OFFSET_ENTRY_SIZE)
            .all(|&x| x == 0);
        assert_eq!(idx.matches_disk(), zero_after, "index after an append");
        assert_eq!(idx.entries(), n + 1, "entries after an append");
        if sorted {
            let e = idx.lookup(next).expect("the appended entry");
            assert_eq!((e.offset, e.position), (next, 1 << 20));
        }
    }
    let keep = n / 2;
    idx.truncate_entries(keep).expect("truncate");
    assert_eq!(idx.entries(), keep);
    idx.trim().expect("trim");
    let len = std::fs::metadata(&path).expect("stat").len();
    assert_eq!(len, (keep * OFFSET_ENTRY_SIZE) as u64, "trimmed index");
    // Entries are counted again from the file (by a binary search that takes the entries to be
    // a prefix: a zero slot among them, in a damaged index, ends them earlier).
    let kept = std::fs::read(&path).expect("read index");
    let idx = OffsetIndex::open(&path, base, INDEX_MAX_BYTES).expect("reopen index");
    assert_eq!(
        idx.entries(),
        index::valid_entries(&kept[..], OFFSET_ENTRY_SIZE),
        "entries after reopening"
    );
    if kept
        .chunks(OFFSET_ENTRY_SIZE)
        .all(|e| e.iter().any(|&x| x != 0))
    {
        assert_eq!(idx.entries(), keep, "entries after reopening");
    }
}

fn check_time_file(dir: &Path, bytes: &[u8], base: i64, entries: &[TimestampOffset], sorted: bool) {
    let path = dir.join("00000000000000000000.timeindex");
    std::fs::write(&path, bytes).expect("write time index");
    let mut t = TimeIndex::open(&path, base, INDEX_MAX_BYTES).expect("open time index");
    let n = index::valid_entries(&bytes[..bytes.len() / 12 * 12], TIME_ENTRY_SIZE);
    assert_eq!(t.entries(), n, "entries of the opened time index");
    if entries.len() == n {
        assert_eq!(t.last_entry(), entries.last().copied(), "last entry");
    }
    for target in targets_around(entries.iter().map(|e| e.timestamp)) {
        assert_eq!(
            t.lookup(target),
            index::lookup_time(bytes, n, base, target),
            "file time lookup of {target}"
        );
    }
    // A new maximum is taken (unless full); an old timestamp never is.
    let before = t.entries();
    if let Some(last) = t.last_entry() {
        t.maybe_append(last.timestamp, last.offset, true)
            .expect("append");
        assert_eq!(t.entries(), before, "a timestamp that is not a new maximum");
    }
    let next = t.last_entry().map_or(Some((0, base)), |e| {
        Some((e.timestamp.checked_add(1)?, e.offset))
    });
    if let Some((ts, offset)) = next
        && ts >= 0
        && index::relative_offset(base, offset).is_some()
        && before + 1 < t.inner().max_entries()
    {
        t.maybe_append(ts, offset, false).expect("append");
        assert_eq!(t.entries(), before + 1, "a new maximum");
        if sorted {
            assert_eq!(t.lookup(ts).map(|e| e.offset), Some(offset));
        }
    }
    // Truncation keeps a first entry below the offset unless it is garbage (a negative
    // timestamp: what a torn entry can leave).
    if let Some(first) = t.entry(0)
        && first.timestamp >= 0
        && let Some(after) = first.offset.checked_add(1)
    {
        t.truncate_to_offset(after).expect("truncate");
        assert!(t.entries() >= 1, "the first entry is below {after}");
    }
    t.trim().expect("trim");
}

// ---------------------------------------------------------------------------------------------
// Segment recovery
// ---------------------------------------------------------------------------------------------

/// Input: `[flags, interval, bytes…]`. A partition directory whose only `.log` holds
/// `min(flags & 3, 2)` batches written by klog followed by the bytes, which may be anything. The log is
/// then recovered by a writer (which cuts what a crash can leave, and refuses, cutting
/// nothing, damage no crash leaves) and repaired (in the order bit 2 of `flags` picks), and
/// read back: no panic; afterwards the partition verifies clean; every batch before the first
/// damage is still there, unchanged; a new batch appends after the last one and reads back.
/// `true` when the segment verified clean as written.
pub fn segment_recovery(data: &[u8]) -> bool {
    let [flags, interval, garbage @ ..] = data else {
        return false;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("t-0");
    std::fs::create_dir(&dir).expect("partition directory");
    let mut log_bytes = Vec::new();
    let mut next = 0i64;
    for b in 0..(*flags & 3).min(2) {
        let mut batch = BatchBuilder::new();
        for r in 0..=b {
            let value = format!("batch {b} record {r}");
            batch.append(
                1_700_000_000_000 + i64::from(b),
                None,
                Some(value.as_bytes()),
                &[],
            );
        }
        let mut bytes = batch.finish();
        bytes[..8].copy_from_slice(&next.to_be_bytes());
        next += i64::from(b) + 1;
        log_bytes.extend_from_slice(&bytes);
    }
    // The batches a reader of the bytes as written gets before the first damage.
    let prefix = valid_prefix(&log_bytes);
    log_bytes.extend_from_slice(garbage);
    let log_path = dir.join("00000000000000000000.log");
    std::fs::write(&log_path, &log_bytes).expect("write log");

    let clean = verify_partition(&dir)
        .expect("verify as written")
        .problems
        .is_empty();
    let config = LogConfig {
        index_interval_bytes: u32::from(*interval) * 16,
        segment_index_bytes: 1 << 12,
        retention_ms: -1,
        retention_bytes: -1,
        segment_ms: i64::MAX / 2,
        ..LogConfig::default()
    };
    let interval = config.index_interval_bytes;
    let mut log = Log::open(&dir, config).expect("open log");
    if flags & 4 == 0 {
        match log.log_end_offset() {
            Ok(leo) => {
                let cut = log.take_truncations();
                assert!(
                    !clean || cut.is_empty(),
                    "recovery cut a clean log: {cut:?}"
                );
                assert!(leo >= prefix.last().map_or(0, |b| b.1), "log end {leo}");
            }
            // Damage that no crash leaves (a batch whose checksum holds, at impossible
            // offsets): the writer names it and cuts nothing; the repair below deals with it.
            Err(klog::Error::Corrupt { .. }) => {
                assert!(!clean, "recovery refused a clean log");
                assert_eq!(
                    std::fs::read(&log_path).expect("read log"),
                    log_bytes,
                    "a refusing recovery changed the log"
                );
            }
            Err(e) => panic!("recovery: {e}"),
        }
        repair(&dir, interval, false);
    } else {
        repair(&dir, interval, clean);
        let leo = log.log_end_offset().expect("recover after repair");
        assert!(leo >= prefix.last().map_or(0, |b| b.1), "log end {leo}");
        assert!(
            log.take_truncations().is_empty(),
            "recovery after repair cut"
        );
    }
    assert_clean(&dir, "after recovery and repair");

    // Every batch before the damage survives, first, unchanged.
    let read = read_all(&dir);
    assert!(
        read.len() >= prefix.len(),
        "{} batches left of {}",
        read.len(),
        prefix.len()
    );
    for (got, want) in read.iter().zip(&prefix) {
        assert_eq!(got, want, "a batch before the damage changed");
    }
    if clean {
        assert_eq!(
            read.len(),
            valid_prefix(&log_bytes).len(),
            "batches of a clean log"
        );
    }

    // One more batch appends at the log end and reads back.
    let leo = log.log_end_offset().expect("log end");
    let mut batch = BatchBuilder::new();
    batch.append(1_700_000_000_500, Some(b"k"), Some(b"appended"), &[]);
    let mut bytes = batch.finish();
    let info = log.append(&mut bytes).expect("append after recovery");
    assert_eq!(info.base_offset, leo, "appended at the log end");
    log.flush().expect("flush");
    drop(log);
    assert_clean(&dir, "after an append");
    let mut reader = LogReader::open(&dir).expect("open reader");
    reader.seek(info.base_offset).expect("seek");
    let got = reader
        .next_batch()
        .expect("read the appended batch")
        .expect("the appended batch");
    let b = got.batch.as_batch().expect("a v2 batch");
    assert_eq!(b.header.base_offset, info.base_offset);
    let values: Vec<Vec<u8>> = b
        .records()
        .expect("records")
        .map(|r| {
            r.expect("record")
                .value
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(values, [b"appended".to_vec()]);
    clean
}

/// `(bytes, next offset)` of each v2 batch at the start of `log`, back to back with offsets
/// increasing, before the first that is not.
fn valid_prefix(log: &[u8]) -> Vec<(Vec<u8>, i64)> {
    let mut out = Vec::new();
    let (mut pos, mut next) = (0usize, 0i64);
    while let Some(rest) = log.get(pos..) {
        let Ok(b) = RecordBatch::decode(rest) else {
            break;
        };
        let h = b.header;
        if h.base_offset < next || b.records().is_err() {
            break;
        }
        let size = h.size();
        out.push((rest[..size].to_vec(), h.next_offset()));
        next = h.next_offset();
        pos += size;
    }
    out
}

/// Repairs the partition; `clean` says it verified clean (so nothing may change).
fn repair(dir: &Path, interval: u32, clean: bool) {
    let repairs = repair_partition(dir, interval).expect("repair");
    assert!(
        !clean || repairs.is_empty(),
        "repaired a clean log: {repairs:?}"
    );
}

fn assert_clean(dir: &Path, when: &str) {
    let v = verify_partition(dir).expect("verify");
    assert!(v.problems.is_empty(), "{when}: {:?}", v.problems);
}

/// `(bytes, next offset)` of every batch a reader hands out from offset 0 (no bytes for a
/// legacy message).
fn read_all(dir: &Path) -> Vec<(Vec<u8>, i64)> {
    let mut reader = LogReader::open(dir).expect("open reader");
    reader.seek(0).expect("seek");
    let mut out = Vec::new();
    while let Some(b) = reader.next_batch().expect("read a verified log") {
        out.push(match b.batch.as_batch() {
            Some(batch) => (batch.as_bytes().to_vec(), batch.header.next_offset()),
            // A legacy message among the bytes (never in the prefix klog writes).
            None => (Vec::new(), b.batch.next_offset()),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// produce input
// ---------------------------------------------------------------------------------------------

/// Input: `[d, delimiter (d % 4 + 1 bytes), max, chunk sizes (4 bytes), input…]`. Splits the
/// input in chunks of those sizes (cycled, 0 read as 1): no panic, and the pieces are those of
/// the reference split. `true` when no record was too long.
pub fn produce_split(data: &[u8]) -> bool {
    let Some((&d, rest)) = data.split_first() else {
        return false;
    };
    let dlen = usize::from(d) % 4 + 1;
    let Some((delim, rest)) = rest.split_at_checked(dlen) else {
        return false;
    };
    let [max, s0, s1, s2, s3, input @ ..] = rest else {
        return false;
    };
    let max_len = usize::from(*max);
    let sizes = [*s0, *s1, *s2, *s3].map(|s| usize::from(s).max(1));

    // Records spanning chunks are handed over in their buffer from some length on: the
    // records must be the same either way.
    let mut splitter = Splitter::new(delim, max_len).hand_over_from(usize::from(*s0));
    let mut got: Vec<Option<Vec<u8>>> = Vec::new();
    let mut collect = |p: Piece<'_>| -> Result<(), ()> {
        got.push(match p {
            Piece::Record(r) => Some(r.to_vec()),
            Piece::Owned(r) => Some(r),
            Piece::TooLong => None,
        });
        Ok(())
    };
    let mut ends = Vec::new();
    let mut at = 0;
    for &n in sizes.iter().cycle() {
        if at >= input.len() {
            break;
        }
        let end = (at + n).min(input.len());
        splitter.push(&input[at..end], &mut collect).expect("push");
        ends.push(end);
        at = end;
    }
    splitter.finish(&mut collect).expect("finish");
    let want = reference_split(input, delim, max_len, &ends);
    assert_eq!(got, want, "pieces differ from the reference split");
    // Nothing left over: the splitter is ready for the next input.
    let mut after = Vec::new();
    let mut note = |p: Piece<'_>| {
        after.push(p == Piece::Record(b""));
        Ok::<_, ()>(())
    };
    splitter.push(delim, &mut note).expect("push");
    splitter.finish(&mut note).expect("finish");
    assert_eq!(after, [true], "state left after finish");
    got.iter().all(Option::is_some)
}

/// Records at the leftmost non-overlapping occurrences of `delim`, and a last one if not empty.
/// A record is too long (`None`) when, at some chunk end in `ends`, more than
/// `max_len + delim.len() - 1` of its bytes (the record and maybe part of its delimiter) are
/// not yet delimited.
fn reference_split(
    input: &[u8],
    delim: &[u8],
    max_len: usize,
    ends: &[usize],
) -> Vec<Option<Vec<u8>>> {
    let d = delim.len();
    let mut out = Vec::new();
    let mut record = |s: usize, e: usize, done: usize| {
        let too_long = ends
            .iter()
            .any(|&b| b >= s && b < done && b - s > max_len + d - 1);
        out.push((!too_long).then(|| input[s..e].to_vec()));
    };
    let (mut start, mut i) = (0, 0);
    while i + d <= input.len() {
        if &input[i..i + d] == delim {
            record(start, i, i + d);
            i += d;
            start = i;
        } else {
            i += 1;
        }
    }
    if start < input.len() {
        record(start, input.len(), usize::MAX);
    }
    out
}

/// `parse_record` of one line: no panic; what it accepts, written back in the JSON shape of
/// `consume --json`, parses to the same record. `true` when the line was accepted.
pub fn produce_json(data: &[u8]) -> bool {
    let Ok(r) = input::parse_record(data) else {
        return false;
    };
    // Through klog's own `consume --json` writer and back. It always writes a partition and a
    // timestamp, so those come back set.
    let headers: Vec<klog::format::Header<'_>> = r
        .headers
        .iter()
        .map(|(key, value)| klog::format::Header {
            key,
            value: value.as_deref(),
        })
        .collect();
    let view = klog::render::RecordView {
        offset: 0,
        timestamp: r.timestamp.unwrap_or(0),
        timestamp_type: "CreateTime",
        key: r.key.as_deref(),
        value: r.value.as_deref(),
        headers: &headers,
    };
    let mut line = Vec::new();
    klog::render::Render::json().render(&mut line, "t", r.partition.unwrap_or(0), &view);
    let line = String::from_utf8(line).expect("JSON is UTF-8");
    let back = input::parse_record(line.as_bytes())
        .unwrap_or_else(|e| panic!("own line refused: {e}: {line}"));
    let want = input::JsonRecord {
        partition: Some(r.partition.unwrap_or(0)),
        timestamp: Some(r.timestamp.unwrap_or(0)),
        ..r.clone()
    };
    assert_eq!(back, want, "round trip through {line}");
    // Fields the parser reads agree with what a JSON parser sees.
    let v: serde_json::Value = serde_json::from_slice(data).expect("accepted JSON");
    if let Some(serde_json::Value::String(s)) = v.get("value") {
        assert_eq!(r.value.as_deref(), Some(s.as_bytes()), "string value");
    }
    if let Some(p) = v.get("partition").and_then(serde_json::Value::as_u64) {
        assert_eq!(r.partition.map(u64::from), Some(p), "partition");
    }
    true
}

/// `unescape` of the input (as UTF-8, invalid sequences replaced): no panic; the same verdict
/// and bytes as a table-driven reference; what it decodes is the input with each escape
/// replaced. `true` when the input decoded.
pub fn unescape(data: &[u8]) -> bool {
    let s = String::from_utf8_lossy(data);
    let got = input::unescape(&s);
    let want = reference_unescape(s.as_bytes());
    match (&got, &want) {
        (Ok(g), Some(w)) => assert_eq!(g, w, "bytes of {s:?}"),
        (Err(e), None) => {
            let text = e.to_string();
            assert!(text.ends_with(r"(use \n \t \r \0 \\ or \xNN)"), "{text}");
        }
        _ => panic!("{s:?}: got {got:?}, the reference says {want:?}"),
    }
    // Without a backslash, bytes stand for themselves; every byte survives `\xNN`.
    if !s.contains('\\') {
        assert_eq!(got.as_deref().ok(), Some(s.as_bytes()));
    }
    let hex: String = data.iter().map(|b| format!("\\x{b:02x}")).collect();
    assert_eq!(input::unescape(&hex).as_deref().ok(), Some(data), "{hex}");
    got.is_ok()
}

fn reference_unescape(s: &[u8]) -> Option<Vec<u8>> {
    const SIMPLE: [(u8, u8); 5] = [
        (b'n', b'\n'),
        (b't', b'\t'),
        (b'r', b'\r'),
        (b'0', 0),
        (b'\\', b'\\'),
    ];
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let e = *s.get(i + 1)?;
        if let Some(&(_, b)) = SIMPLE.iter().find(|&&(c, _)| c == e) {
            out.push(b);
            i += 2;
        } else if e == b'x' {
            out.push(hex(*s.get(i + 2)?)? * 16 + hex(*s.get(i + 3)?)?);
            i += 4;
        } else {
            return None;
        }
    }
    Some(out)
}

/// `klog serve`'s parsing of a request frame (the bytes after the size prefix), as a
/// connection does it: no panic (the header and body decoders are called again here without
/// the server's `catch_unwind`, so that a panic surfaces); a request that decodes encodes
/// again (with the client's encoder) to bytes that decode to the same request. `true` when
/// the frame is a request the server answers.
pub fn serve_request(data: &[u8]) -> bool {
    use kafka_protocol::messages::{RequestHeader, RequestKind};
    use kafka_protocol::protocol::Decodable;
    use klog::server::wire::{Parsed, parse_request, supported};
    let parsed = parse_request(bytes::Bytes::copy_from_slice(data));
    let (Some(&[k0, k1]), Some(&[v0, v1])) = (data.get(0..2), data.get(2..4)) else {
        assert!(matches!(parsed, Parsed::Reject(_)), "{parsed:?}");
        return false;
    };
    let (key, version) = (i16::from_be_bytes([k0, k1]), i16::from_be_bytes([v0, v1]));
    let Some((api, min, max)) = supported(key) else {
        assert!(matches!(parsed, Parsed::Reject(_)), "{parsed:?}");
        return false;
    };
    if version < min || version > max {
        return matches!(parsed, Parsed::ApiVersionsTooNew { .. });
    }
    let mut buf = bytes::Bytes::copy_from_slice(data);
    let decoded = RequestHeader::decode(&mut buf, api.request_header_version(version))
        .and_then(|h| Ok((h, RequestKind::decode(api, &mut buf, version)?)));
    match (decoded, parsed) {
        (
            Ok((h, body)),
            Parsed::Request {
                header, body: b, ..
            },
        ) => {
            assert_eq!((&h, &body), (&header, &*b));
            let mut again = bytes::BytesMut::new();
            body.encode(&mut again, version)
                .unwrap_or_else(|e| panic!("{api:?} v{version} decoded but does not encode: {e}"));
            let back = RequestKind::decode(api, &mut again.freeze(), version)
                .unwrap_or_else(|e| panic!("{api:?} v{version} does not decode again: {e}"));
            assert_eq!(back, body, "{api:?} v{version} round trip");
            true
        }
        (Err(_), Parsed::Reject(_)) => false,
        (d, p) => panic!("the decoders say {d:?}, the server {p:?}"),
    }
}

/// The users of the `sasl_scram` target: `alice`, password `pw` (few iterations, so that
/// each input is cheap).
struct SaslUsers;

impl klog::server::sasl::Credentials for SaslUsers {
    fn credential(
        &self,
        user: &str,
        mech: klog::server::sasl::Scram,
    ) -> Option<klog::server::sasl::Credential> {
        (user == "alice")
            .then(|| klog::server::sasl::Credential::new(mech, b"pw", b"salt".to_vec(), 16))
    }
}

/// The SASL messages `klog serve` reads before a client is authenticated. The first byte
/// picks what the rest is: 0 a SCRAM client-first message, 1 a client-final message, 2 a
/// PLAIN message, 3 a SCRAM-SHA-256 exchange (client-first NUL client-final). A parsed
/// message is a part of its input as the exchange needs it; PLAIN authenticates only
/// alice's password; a SCRAM exchange never succeeds without the server's random nonce,
/// and an exchange never panics. `true` when the message parsed (or, for 2, authenticated;
/// for 3, the first step was accepted).
pub fn sasl_scram(data: &[u8]) -> bool {
    use klog::server::sasl::{Exchange, Step, parse_client_final, parse_client_first};
    let Some((&kind, rest)) = data.split_first() else {
        return false;
    };
    match kind % 4 {
        0 => match parse_client_first(rest) {
            Ok(f) => {
                assert!(!f.user.is_empty() && !f.client_nonce.is_empty());
                assert_eq!(format!("{}{}", f.gs2_header, f.bare).as_bytes(), rest);
                true
            }
            Err(_) => false,
        },
        1 => match parse_client_final(rest) {
            Ok(f) => {
                assert!(rest.starts_with(f.without_proof.as_bytes()));
                assert!(f.without_proof.contains(&format!("r={}", f.nonce)));
                true
            }
            Err(_) => false,
        },
        2 => {
            let mut ex = Exchange::new("PLAIN").expect("PLAIN is served");
            match ex.step(rest, &SaslUsers) {
                Step::Done { user, reply } => {
                    assert_eq!(user, "alice");
                    assert!(reply.is_empty());
                    assert!(
                        rest == b"\0alice\0pw" || rest == b"alice\0alice\0pw",
                        "{rest:?}"
                    );
                    true
                }
                Step::Failed { .. } => false,
                Step::Continue(_) => panic!("PLAIN has one step"),
            }
        }
        _ => {
            let (first, fin) = match rest.iter().position(|&b| b == 0) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let mut ex = Exchange::new("SCRAM-SHA-256").expect("SCRAM-SHA-256 is served");
            match ex.step(first, &SaslUsers) {
                Step::Continue(reply) => {
                    assert!(reply.starts_with(b"r="));
                    let second = ex.step(fin, &SaslUsers);
                    assert!(matches!(second, Step::Failed { .. }), "{second:?}");
                    true
                }
                Step::Failed { .. } => false,
                Step::Done { .. } => panic!("SCRAM authenticated on its first message"),
            }
        }
    }
}
