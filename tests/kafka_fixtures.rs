//! klog against real Kafka data: broker-written partition directories found in public
//! repositories (`../shared/fixtures/kafka`, catalogued in its `SOURCES.md`) and segments built by
//! an independent client, kafka-python (`../shared/fixtures/kafka-python`).
//!
//! Checked here:
//! 1. every non-empty magic-2 `.log` decodes completely (batches back to back, CRCs valid,
//!    offsets increasing) with the batch and record counts and offset range SOURCES.md states;
//!    magic-1 logs are framed by `peek_entry` to exactly their end; the KRaft snapshot
//!    `.checkpoint` files decode too;
//! 2. the format doc's worked example (`TOPIC_NAME-1`), field by field;
//! 3. the default partitioner puts each real key in the partition the broker put it in;
//! 4. re-encoding every uncompressed batch reproduces its bytes exactly;
//! 5. kafka-python's uncompressed segment decodes to its `expected.json`; its compressed batches
//!    pass the CRC check and are refused with `UnsupportedCompression`;
//! 6. broker-written `.index`/`.timeindex` entries agree with the batches they point at;
//! 7. `LogReader` reads, seeks, finds offsets by timestamp and the log end offset on copies of
//!    broker-written partition directories;
//! 8. the `klog` binary on the same data: kafka-python's segments (every codec) consume to
//!    exactly `expected.json`; every broker partition directory (magic 1 included) consumes to
//!    the offsets of its records and `segments dump --records` prints one line per record;
//!    `__consumer_offsets` partitions dump as readable offset commits, each agreeing with an
//!    independent decoding of its key and value;
//! 9. what klog writes is what Kafka writes: its compressed batches (every codec, text and
//!    binary records with headers) read back, carry the codec bits, and frame their streams as
//!    kafka-python does (xerial header and <= 32 KiB blocks, LZ4 frame descriptor, gzip and zstd
//!    magic); a directory it wrote verifies clean and has a broker's checkpoint files,
//!    `partition.metadata` and `leader-epoch-checkpoint`;
//! 10. the checks of damaged base offsets raise no false alarm on any of these partitions, in
//!     verify, repair or a writer's recovery;
//! 11. on a copy of each broker's `log.dirs`, reading commands change no file at all, and
//!     `clean` applies Kafka's rules: `__consumer_offsets` is compacted and never deleted by
//!     age, untouched partitions stay byte for byte, no checkpoint entry is dropped or
//!     lowered, no `leader-epoch-checkpoint` is rewritten;
//! 12. `topics list|describe` and `segments list` count the records there are (compacted
//!     partitions too) and give magic 0/1 logs their real first and last timestamps.
//!
//! The fixtures live outside the crate: when `../shared/fixtures` is absent every test prints a
//! note to stderr and passes, except under `CI=true`, where every test that needs them fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use klog::format::batch::{Peek, encode_batch, peek_entry};
use klog::format::compression::{LZ4_FRAME_MAGIC, XERIAL_BLOCK_SIZE, XERIAL_MAGIC, decompress};
use klog::format::legacy::{self, LegacyMessage};
use klog::format::{
    BatchHeader, Compression, DECOMPRESS_LIMIT, DecodeError, RecordBatch, TimestampType,
    partition_for_key,
};
use klog::storage::file_names::{self, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use klog::storage::index::{FileSource, offset_entries, time_entries};
use klog::storage::log::RECOVERY_POINT_FILE;
use klog::storage::verify::{
    ProblemKind, Repair, Verification, repair_partition, verify_partition,
};
use klog::storage::{Log, LogConfig, LogReader};

#[path = "common/mod.rs"]
mod common;

// ---------------------------------------------------------------------------------------------
// Expectations copied from ../shared/fixtures/kafka/SOURCES.md
// ---------------------------------------------------------------------------------------------

/// A non-empty magic-2, codec-none `.log`: (path under `fixtures/kafka`, bytes, batches,
/// records, first record offset, last record offset), from SOURCES.md's summary table (counts)
/// and per-repository tables (offset ranges).
#[rustfmt::skip]
const MAGIC2_LOGS: &[(&str, usize, usize, usize, i64, i64)] = &[
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-28/00000000000000000000.log", 127, 1, 1, 1, 1),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-28/00000000000000000002.log", 94, 1, 1, 2, 2),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-39/00000000000000000018.log", 148, 1, 2, 18, 19),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-39/00000000000000000000.log", 361, 3, 3, 4, 17),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-8/00000000000000000000.log", 610, 3, 3, 0, 2),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-17/00000000000000000001.log", 221, 2, 2, 1, 2),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-17/00000000000000000000.log", 390, 1, 1, 0, 0),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-33/00000000000000000000.log", 611, 3, 3, 0, 2),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/TOPIC_NAME-0/00000000000000000000.log", 143, 2, 2, 0, 1),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/first_topic-1/00000000000000000000.log", 227, 3, 3, 0, 2),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/__consumer_offsets-21/00000000000000000000.log", 4800, 20, 56, 0, 55),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/first_topic-2/00000000000000000000.log", 72, 1, 1, 0, 0),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/first_topic-0/00000000000000000000.log", 294, 4, 4, 0, 3),
    ("cobyforrester__kafka/data/kafka/TOPIC_NAME-0/00000000000000000000.log", 97, 1, 4, 0, 3),
    ("cobyforrester__kafka/data/kafka/TOPIC_NAME-1/00000000000000000000.log", 79, 1, 2, 0, 1),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-28/00000000000000000000.log", 627, 3, 3, 0, 2),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-21/00000000000000000056.log", 188, 1, 4, 56, 59),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-21/00000000000000000000.log", 353, 2, 4, 52, 55),
    ("cobyforrester__kafka/data/kafka/TOPIC_NAME-2/00000000000000000000.log", 97, 1, 4, 0, 3),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-34/00000000000000000000.log", 627, 3, 3, 0, 2),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-6/00000000000000000000.log", 617, 3, 3, 0, 2),
    ("ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-31/00000000000000000000.log", 366, 1, 1, 2, 2),
    ("ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-31/00000000000000000003.log", 491, 2, 2, 3, 4),
    ("ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-44/00000000000000000000.log", 272, 2, 2, 6, 8),
    ("ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-44/00000000000000000009.log", 153, 1, 2, 9, 10),
    ("ronem123__rupia-transaction-service/kafka-logs/__cluster_metadata-0/00000000000001725413.log", 874_344, 12_105, 12_156, 1_725_413, 1_737_568),
];

/// A non-empty magic-1 `.log`: (path under `fixtures/kafka`, bytes, entries = records, first
/// offset, last offset). Every entry is a single uncompressed message.
#[rustfmt::skip]
const MAGIC1_LOGS: &[(&str, usize, usize, i64, i64)] = &[
    ("xpxwo100__bullShit/tmp/kafka-logs/TEST-TOPIC-0/00000000000000000000.log", 1_315_082, 21_211, 0, 21_210),
    ("xpxwo100__bullShit/tmp/kafka-logs/topic1-0/00000000000000000000.log", 215, 5, 0, 4),
    ("xpxwo100__bullShit/tmp/kafka-logs/__consumer_offsets-40/00000000000000000000.log", 70_141, 860, 0, 859),
    ("xpxwo100__bullShit/tmp/kafka-logs/foo-0/00000000000000000000.log", 8_730, 204, 0, 203),
];

/// KRaft snapshot files SOURCES.md gives counts for: (path, bytes, batches, records, first
/// offset, last offset). All other `.checkpoint` files are only checked to decode.
#[rustfmt::skip]
const CHECKPOINTS: &[(&str, usize, usize, usize, i64, i64)] = &[
    ("ronem123__rupia-transaction-service/kafka-logs/__cluster_metadata-0/00000000000000852953-0000000001.checkpoint", 4973, 3, 68, 0, 67),
    ("ronem123__rupia-transaction-service/kafka-logs/bootstrap.checkpoint", 355, 3, 6, 0, 5),
    ("andrei755006__patient-management-system/history/0f61f348c1/kafka/data/__cluster_metadata-0/00000000000000227430-0000000031.checkpoint", 991, 3, 12, 0, 11),
    ("andrei755006__patient-management-system/kafka/data/bootstrap.checkpoint", 309, 3, 5, 0, 4),
];

/// The segment SOURCES.md describes in detail: 213 offset-index and 214 time-index entries.
const RONEM_METADATA: &str = "ronem123__rupia-transaction-service/kafka-logs/__cluster_metadata-0";
const RONEM_METADATA_BASE: i64 = 1_725_413;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `../shared/fixtures`, or `None` (after saying so on stderr) when it is not there; under
/// `CI=true` its absence fails the test (see `common/fixtures.rs`).
fn fixtures() -> Option<PathBuf> {
    common::fixtures::shared_fixtures()
}

/// Every file under `root` whose name ends with `suffix`, recursively, sorted.
fn files_with_suffix(root: &Path, suffix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, suffix, out);
            } else if path.to_str().is_some_and(|p| p.ends_with(suffix)) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, suffix, &mut out);
    out.sort();
    out
}

/// `path` relative to `root`, with `/` separators.
fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap()
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A record with everything owned, as it would be consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    offset: i64,
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Rec {
    fn of(batch: &RecordBatch<'_>, r: &klog::format::Record<'_>) -> Rec {
        Rec {
            offset: batch.offset_of(r),
            timestamp: batch.timestamp_of(r),
            key: r.key.map(<[u8]>::to_vec),
            value: r.value.map(<[u8]>::to_vec),
            headers: r
                .headers
                .iter()
                .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
                .collect(),
        }
    }
}

/// The records of an uncompressed batch; panics (naming `what`) on any record-level error and
/// checks the count against the header.
fn batch_records(batch: &RecordBatch<'_>, what: &str) -> Vec<Rec> {
    let records = batch
        .records()
        .unwrap_or_else(|e| panic!("{what}: records of batch {}: {e}", batch.header.base_offset));
    let out: Vec<Rec> = records
        .map(|r| {
            let r = r.unwrap_or_else(|e| {
                panic!("{what}: record in batch {}: {e}", batch.header.base_offset)
            });
            Rec::of(batch, &r)
        })
        .collect();
    assert_eq!(
        out.len(),
        batch.header.records_count as usize,
        "{what}: record count of batch {}",
        batch.header.base_offset
    );
    out
}

/// Walks the magic-2 batches of `data` back to back and calls `f(position, batch)` for each.
/// Checks that every batch decodes (framing, magic, CRC), that the stored CRC is the CRC-32C
/// recomputed here and that a flipped bit is refused, that `peek_entry` frames the batch the
/// same way, that `as_bytes` is exactly its slice of the file, and that the batches end exactly
/// at the end of the data. Returns the number of batches.
fn walk_batches<'a>(
    data: &'a [u8],
    what: &str,
    mut f: impl FnMut(usize, RecordBatch<'a>),
) -> usize {
    let mut pos = 0;
    let mut count = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        let batch = RecordBatch::decode(rest)
            .unwrap_or_else(|e| panic!("{what}: batch at byte {pos}: {e}"));
        let h = batch.header;
        match peek_entry(rest) {
            Ok(Peek::Entry(frame)) => {
                assert_eq!(frame.offset, h.base_offset, "{what}: frame offset at {pos}");
                assert_eq!(frame.size, h.size(), "{what}: frame size at {pos}");
                assert_eq!(frame.magic, 2, "{what}: frame magic at {pos}");
            }
            other => panic!("{what}: peek_entry at byte {pos}: {other:?}"),
        }
        assert_eq!(h.magic, 2, "{what}: magic at {pos}");
        assert!(
            h.size() >= 61 && h.size() <= rest.len(),
            "{what}: size at {pos}"
        );
        assert_eq!(
            batch.as_bytes(),
            &rest[..h.size()],
            "{what}: bytes at {pos}"
        );
        // The stored CRC is the CRC-32C of bytes 21.. (computed here independently of the
        // decoder), and a flipped bit under it makes the decoder refuse the batch.
        let bytes = batch.as_bytes();
        assert_eq!(
            crc32c::crc32c(&bytes[21..]),
            h.crc,
            "{what}: stored CRC at {pos}"
        );
        let mut damaged = bytes.to_vec();
        *damaged.last_mut().unwrap() ^= 0x01;
        assert!(
            matches!(
                RecordBatch::decode(&damaged),
                Err(DecodeError::CrcMismatch { at: 17, .. })
            ),
            "{what}: damaged batch at {pos} not refused"
        );
        pos += h.size();
        count += 1;
        f(pos - h.size(), batch);
    }
    assert_eq!(
        pos,
        data.len(),
        "{what}: batches do not end at the end of the file"
    );
    count
}

/// Everything a fully decoded magic-2 file holds.
struct Decoded {
    /// (position, header) of every batch.
    batches: Vec<(usize, BatchHeader)>,
    records: Vec<Rec>,
}

/// Decodes a whole uncompressed magic-2 file, checking that batch and record offsets strictly
/// increase, that each record lies within its batch's offset range, and that CreateTime
/// timestamps do not exceed the batch's max timestamp.
fn decode_file(data: &[u8], what: &str) -> Decoded {
    let mut batches = Vec::new();
    let mut records: Vec<Rec> = Vec::new();
    let mut prev_last: Option<i64> = None;
    walk_batches(data, what, |pos, batch| {
        let h = batch.header;
        assert_eq!(
            h.compression(),
            Some(Compression::None),
            "{what}: codec at {pos}"
        );
        if let Some(prev) = prev_last {
            assert!(
                h.base_offset > prev,
                "{what}: base offset {} after {prev}",
                h.base_offset
            );
        }
        prev_last = Some(h.last_offset());
        for r in batch_records(&batch, what) {
            assert!(
                (h.base_offset..=h.last_offset()).contains(&r.offset),
                "{what}: record offset {} outside batch {}..={}",
                r.offset,
                h.base_offset,
                h.last_offset()
            );
            if let Some(last) = records.last() {
                assert!(
                    r.offset > last.offset,
                    "{what}: record offset {} after {}",
                    r.offset,
                    last.offset
                );
            }
            if h.timestamp_type() == TimestampType::CreateTime {
                assert!(
                    r.timestamp <= h.max_timestamp,
                    "{what}: record {} after max timestamp",
                    r.offset
                );
            }
            records.push(r);
        }
        batches.push((pos, h));
    });
    Decoded { batches, records }
}

/// Standard base64 (RFC 4648, with or without padding) for `expected.json`.
fn base64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    ENGINE
        .decode(s)
        .unwrap_or_else(|e| panic!("not base64: {s:?}: {e}"))
}

/// Copies the regular files of a (flat) partition directory into `dst`, writable.
fn copy_partition_dir(src: &Path, dst: &Path) {
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let to = dst.join(path.file_name().unwrap());
            fs::copy(&path, &to).unwrap();
            fs::set_permissions(&to, fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Every broker-written log decodes completely
// ---------------------------------------------------------------------------------------------

#[test]
fn every_broker_log_decodes_with_the_documented_counts() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let mut seen_v2 = BTreeSet::new();
    let mut seen_v1 = BTreeSet::new();
    for path in files_with_suffix(&kafka, LOG_SUFFIX) {
        let data = read(&path);
        if data.is_empty() {
            continue;
        }
        let name = rel(&kafka, &path);
        assert!(
            data.len() >= 17,
            "{name}: {} bytes, too short for a batch",
            data.len()
        );
        match data[16] {
            2 => {
                let &(_, bytes, batches, records, first, last) = MAGIC2_LOGS
                    .iter()
                    .find(|e| e.0 == name)
                    .unwrap_or_else(|| panic!("{name}: magic-2 log not in SOURCES.md's table"));
                assert_eq!(data.len(), bytes, "{name}: size");
                let d = decode_file(&data, &name);
                assert_eq!(d.batches.len(), batches, "{name}: batches");
                assert_eq!(d.records.len(), records, "{name}: records");
                assert_eq!(
                    d.records.first().map(|r| r.offset),
                    Some(first),
                    "{name}: first offset"
                );
                assert_eq!(
                    d.records.last().map(|r| r.offset),
                    Some(last),
                    "{name}: last offset"
                );
                // The segment's file name is its base offset: no batch may start below it.
                let base = file_names::parse_offset(
                    path.file_name().unwrap().to_str().unwrap(),
                    LOG_SUFFIX,
                )
                .unwrap();
                assert!(
                    d.batches[0].1.base_offset >= base,
                    "{name}: batch below the segment base"
                );
                seen_v2.insert(name);
            }
            1 => {
                let &(_, bytes, entries, first, last) = MAGIC1_LOGS
                    .iter()
                    .find(|e| e.0 == name)
                    .unwrap_or_else(|| panic!("{name}: magic-1 log not in SOURCES.md's table"));
                assert_eq!(data.len(), bytes, "{name}: size");
                // Not decodable as v2 (refused, not misread)...
                assert_eq!(
                    RecordBatch::decode(&data).unwrap_err(),
                    DecodeError::UnsupportedMagic { at: 16, magic: 1 },
                    "{name}"
                );
                // ...but framed entry by entry to exactly the end of the file.
                let (mut pos, mut offsets) = (0usize, Vec::new());
                loop {
                    match peek_entry(&data[pos..]) {
                        Ok(Peek::Entry(frame)) => {
                            assert_eq!(frame.magic, 1, "{name}: magic at {pos}");
                            assert_eq!(data[pos + 16], 1, "{name}: byte 16 at {pos}");
                            offsets.push(frame.offset);
                            pos += frame.size;
                        }
                        Ok(Peek::End) => break,
                        other => panic!("{name}: peek_entry at byte {pos}: {other:?}"),
                    }
                }
                assert_eq!(
                    pos,
                    data.len(),
                    "{name}: entries do not end at the end of the file"
                );
                assert_eq!(offsets.len(), entries, "{name}: entries");
                assert!(
                    offsets.windows(2).all(|w| w[0] < w[1]),
                    "{name}: offsets not increasing"
                );
                assert_eq!(
                    (offsets[0], *offsets.last().unwrap()),
                    (first, last),
                    "{name}: offsets"
                );
                seen_v1.insert(name);
            }
            m => panic!("{name}: unexpected magic {m}"),
        }
    }
    let want_v2: BTreeSet<String> = MAGIC2_LOGS.iter().map(|e| e.0.to_string()).collect();
    let want_v1: BTreeSet<String> = MAGIC1_LOGS.iter().map(|e| e.0.to_string()).collect();
    assert_eq!(seen_v2, want_v2, "magic-2 logs found vs SOURCES.md");
    assert_eq!(seen_v1, want_v1, "magic-1 logs found vs SOURCES.md");
}

#[test]
fn kraft_snapshot_checkpoints_decode() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let files = files_with_suffix(&kafka, ".checkpoint");
    assert!(files.len() >= 100, "only {} .checkpoint files", files.len());
    let mut counted = 0;
    for path in &files {
        let name = rel(&kafka, path);
        let data = read(path);
        let d = decode_file(&data, &name);
        // A snapshot opens with a control batch whose first record is the SnapshotHeader
        // (control type 3) and closes with one holding the SnapshotFooter (type 4).
        let (first, last) = (d.batches[0].1, d.batches.last().unwrap().1);
        assert!(
            first.is_control() && last.is_control(),
            "{name}: control batches"
        );
        assert!(d.batches.len() >= 2, "{name}: batches");
        let mut first_recs = Vec::new();
        let mut last_recs = Vec::new();
        walk_batches(&data, &name, |pos, b| {
            if pos == 0 {
                first_recs = batch_records(&b, &name);
            } else if pos == d.batches.last().unwrap().0 {
                last_recs = batch_records(&b, &name);
            }
        });
        assert_eq!(
            first_recs[0].key.as_deref(),
            Some(&[0u8, 0, 0, 3][..]),
            "{name}: header"
        );
        assert_eq!(last_recs.len(), 1, "{name}: footer batch");
        assert_eq!(
            last_recs[0].key.as_deref(),
            Some(&[0u8, 0, 0, 4][..]),
            "{name}: footer"
        );
        // Offsets are dense from 0 in a snapshot.
        let offsets: Vec<i64> = d.records.iter().map(|r| r.offset).collect();
        assert_eq!(
            offsets,
            (0..offsets.len() as i64).collect::<Vec<_>>(),
            "{name}: offsets"
        );
        if let Some(&(_, bytes, batches, records, first_off, last_off)) =
            CHECKPOINTS.iter().find(|e| e.0 == name)
        {
            assert_eq!(data.len(), bytes, "{name}: size");
            assert_eq!(d.batches.len(), batches, "{name}: batches");
            assert_eq!(d.records.len(), records, "{name}: records");
            assert_eq!(d.records[0].offset, first_off, "{name}: first offset");
            assert_eq!(
                d.records.last().unwrap().offset,
                last_off,
                "{name}: last offset"
            );
            counted += 1;
        }
    }
    assert_eq!(
        counted,
        CHECKPOINTS.len(),
        "checkpoints with documented counts"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. The worked example of docs/kafka-format.md §1.4
// ---------------------------------------------------------------------------------------------

#[test]
fn worked_example_topic_name_1() {
    let Some(fx) = fixtures() else { return };
    let path =
        fx.join("kafka/cobyforrester__kafka/data/kafka/TOPIC_NAME-1/00000000000000000000.log");
    let data = read(&path);
    assert_eq!(data.len(), 79);
    let batch = RecordBatch::decode(&data).unwrap();
    let h = batch.header;
    assert_eq!(h.base_offset, 0);
    assert_eq!(h.batch_length, 67);
    assert_eq!(h.size(), 79);
    assert_eq!(h.partition_leader_epoch, 0);
    assert_eq!(h.magic, 2);
    assert_eq!(h.crc, 0xE115_E118);
    assert_eq!(h.attributes, 0);
    assert_eq!(h.compression(), Some(Compression::None));
    assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    assert!(!h.is_transactional() && !h.is_control());
    assert_eq!(h.last_offset_delta, 1);
    assert_eq!(h.last_offset(), 1);
    assert_eq!(h.base_timestamp, 1_611_544_132_675);
    assert_eq!(h.max_timestamp, 1_611_544_132_675);
    assert_eq!(
        (h.producer_id, h.producer_epoch, h.base_sequence),
        (-1, -1, -1)
    );
    assert_eq!(h.records_count, 2);
    assert_eq!(batch.as_bytes(), &data[..]);

    let recs = batch_records(&batch, "TOPIC_NAME-1");
    let got: Vec<_> = recs
        .iter()
        .map(|r| {
            (
                r.offset,
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
                r.headers.len(),
            )
        })
        .collect();
    let ts = 1_611_544_132_675;
    assert_eq!(
        got,
        vec![
            (0, ts, Some(&b"4"[..]), Some(&b"4"[..]), 0),
            (1, ts, Some(&b"6"[..]), Some(&b"6"[..]), 0),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Partitioner parity with a real broker
// ---------------------------------------------------------------------------------------------

#[test]
fn default_partitioner_matches_the_brokers_placement() {
    let Some(fx) = fixtures() else { return };
    let mut keys = BTreeSet::new();
    for partition in 0..3u32 {
        let path = fx.join(format!(
            "kafka/cobyforrester__kafka/data/kafka/TOPIC_NAME-{partition}/00000000000000000000.log"
        ));
        let what = format!("TOPIC_NAME-{partition}");
        let d = decode_file(&read(&path), &what);
        assert!(!d.records.is_empty(), "{what}: no records");
        for r in &d.records {
            let key = r
                .key
                .as_deref()
                .unwrap_or_else(|| panic!("{what}: null key"));
            assert_eq!(
                partition_for_key(key, 3),
                partition,
                "{what}: key {:?}",
                String::from_utf8_lossy(key)
            );
            assert!(keys.insert(key.to_vec()), "{what}: key seen twice");
        }
    }
    // SOURCES.md: the keys are "0".."9", each produced once.
    let want: BTreeSet<Vec<u8>> = (0..10).map(|k: u32| k.to_string().into_bytes()).collect();
    assert_eq!(keys, want);
}

// ---------------------------------------------------------------------------------------------
// 4. Re-encoding reproduces the bytes
// ---------------------------------------------------------------------------------------------

#[test]
fn re_encoding_every_uncompressed_batch_reproduces_its_bytes() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let mut files: Vec<PathBuf> = files_with_suffix(&kafka, LOG_SUFFIX)
        .into_iter()
        .chain(files_with_suffix(&kafka, ".checkpoint"))
        .collect();
    files.push(fx.join("kafka-python/none/00000000000000000000.log"));
    let (mut from_logs, mut total) = (0, 0);
    for path in &files {
        let data = read(path);
        if data.len() < 17 || data[16] != 2 {
            continue;
        }
        let name = rel(&fx, path);
        let n = walk_batches(&data, &name, |pos, batch| {
            assert_eq!(
                batch.header.compression(),
                Some(Compression::None),
                "{name}"
            );
            let records: Vec<_> = batch.records().unwrap().map(Result::unwrap).collect();
            let again = encode_batch(&batch.header, &records);
            assert!(
                again == batch.as_bytes(),
                "{name}: batch at byte {pos} (base offset {}) re-encodes differently",
                batch.header.base_offset
            );
        });
        total += n;
        if path.starts_with(&kafka) && path.extension().is_some_and(|e| e == "log") {
            from_logs += n;
        }
    }
    let want: usize = MAGIC2_LOGS.iter().map(|e| e.2).sum();
    assert_eq!(from_logs, want, "batches re-encoded from broker .log files");
    assert!(
        total > want,
        "checkpoints and kafka-python batches were re-encoded too"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. kafka-python's segments
// ---------------------------------------------------------------------------------------------

fn expected_records(dir: &Path) -> Vec<Rec> {
    let json: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("expected.json"))).unwrap();
    let bytes = |v: &serde_json::Value| v.as_str().map(base64);
    json["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Rec {
            offset: r["offset"].as_i64().unwrap(),
            timestamp: r["timestamp"].as_i64().unwrap(),
            key: bytes(&r["key"]),
            value: bytes(&r["value"]),
            headers: r["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().as_bytes().to_vec(), bytes(&h[1])))
                .collect(),
        })
        .collect()
}

#[test]
fn base64_helper_decodes_rfc4648_vectors() {
    for (enc, dec) in [
        ("", ""),
        ("Zg==", "f"),
        ("Zm8=", "fo"),
        ("Zm9v", "foo"),
        ("Zm9vYg==", "foob"),
        ("Zm9vYmE=", "fooba"),
        ("Zm9vYmFy", "foobar"),
        ("dXNlci00", "user-4"),
    ] {
        assert_eq!(base64(enc), dec.as_bytes(), "{enc}");
    }
    assert_eq!(base64("+/8="), [0xfb, 0xff]);
}

#[test]
fn kafka_python_uncompressed_segment_matches_expected_json() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("kafka-python/none");
    let want = expected_records(&dir);
    let data = read(&dir.join("00000000000000000000.log"));
    let d = decode_file(&data, "kafka-python/none");
    assert_eq!(d.batches.len(), 4, "README: four batches");
    assert_eq!(d.records.len(), want.len());
    for (got, want) in d.records.iter().zip(&want) {
        assert_eq!(got, want, "offset {}", want.offset);
    }
    // The fixture exercises what it claims to: null keys and values, headers, non-UTF-8 bytes.
    assert!(want.iter().any(|r| r.key.is_none()));
    assert!(want.iter().any(|r| r.value.is_none()));
    assert!(want.iter().any(|r| !r.headers.is_empty()));
    assert!(want.iter().any(|r| {
        r.value
            .as_ref()
            .is_some_and(|v| std::str::from_utf8(v).is_err())
    }));
}

#[test]
fn kafka_python_compressed_batches_pass_crc_and_are_refused() {
    let Some(fx) = fixtures() else { return };
    for (codec, id) in [
        (Compression::Gzip, 1u8),
        (Compression::Snappy, 2),
        (Compression::Lz4, 3),
        (Compression::Zstd, 4),
    ] {
        let name = codec.name();
        let dir = fx.join("kafka-python").join(name);
        let want = expected_records(&dir);
        let data = read(&dir.join("00000000000000000000.log"));
        let mut next_offset = 0;
        let mut count = 0;
        let batches = walk_batches(&data, name, |pos, batch| {
            let h = batch.header;
            assert_eq!(h.compression(), Some(codec), "{name}: codec at {pos}");
            assert_eq!(h.compression_id(), id, "{name}: codec id at {pos}");
            assert!(
                !batch.records_bytes().is_empty(),
                "{name}: no compressed stream"
            );
            match batch.records() {
                Err(DecodeError::UnsupportedCompression { codec: c, .. }) => assert_eq!(c, id),
                Err(e) => panic!("{name}: batch at {pos}: unexpected error {e}"),
                Ok(_) => panic!("{name}: batch at {pos}: compressed records handed out"),
            }
            // The header alone must agree with expected.json: dense offsets, the record count,
            // the first record's timestamp as base and the largest as max.
            assert_eq!(h.base_offset, next_offset, "{name}: base offset at {pos}");
            assert_eq!(
                h.records_count,
                h.last_offset_delta + 1,
                "{name}: count at {pos}"
            );
            let in_batch: Vec<&Rec> = want
                .iter()
                .filter(|r| (h.base_offset..=h.last_offset()).contains(&r.offset))
                .collect();
            assert_eq!(
                in_batch.len(),
                h.records_count as usize,
                "{name}: records at {pos}"
            );
            assert_eq!(
                h.base_timestamp, in_batch[0].timestamp,
                "{name}: base ts at {pos}"
            );
            let max = in_batch.iter().map(|r| r.timestamp).max().unwrap();
            assert_eq!(h.max_timestamp, max, "{name}: max ts at {pos}");
            next_offset = h.next_offset();
            count += h.records_count as usize;
        });
        assert_eq!(batches, 4, "{name}: README: four batches");
        assert_eq!(count, want.len(), "{name}: records");
        assert_eq!(next_offset, want.len() as i64, "{name}: offsets");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Broker-written indexes
// ---------------------------------------------------------------------------------------------

/// The base offset in a segment file's name.
fn base_of(path: &Path, suffix: &str) -> i64 {
    file_names::parse_offset(path.file_name().unwrap().to_str().unwrap(), suffix)
        .unwrap_or_else(|| panic!("{}: not a segment file name", path.display()))
}

/// Batch headers by position of the magic-2 `.log` next to an index, if there is one.
fn segment_batches(index_path: &Path, suffix: &str) -> Option<BTreeMap<u32, BatchHeader>> {
    let base = base_of(index_path, suffix);
    let log = file_names::log_file(index_path.parent().unwrap(), base);
    let data = fs::read(&log).ok()?;
    if data.len() < 17 || data[16] != 2 {
        return None;
    }
    let d = decode_file(&data, &log.display().to_string());
    Some(d.batches.into_iter().map(|(p, h)| (p as u32, h)).collect())
}

#[test]
fn offset_index_entries_point_at_the_batches_they_name() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let (mut checked_entries, mut checked_files) = (0usize, 0usize);
    let mut ronem_entries = None;
    for path in files_with_suffix(&kafka, INDEX_SUFFIX) {
        let name = rel(&kafka, &path);
        let base = base_of(&path, INDEX_SUFFIX);
        let entries = offset_entries(&FileSource::open(&path).unwrap(), base);
        // Trimmed (rolled or cleanly closed): exactly its entries, none all-zero.
        let len = fs::metadata(&path).unwrap().len() as usize;
        assert_eq!(len, entries.len() * 8, "{name}: not exactly its entries");
        for w in entries.windows(2) {
            assert!(
                w[0].offset < w[1].offset,
                "{name}: offsets not increasing: {w:?}"
            );
            assert!(
                w[0].position < w[1].position,
                "{name}: positions not increasing: {w:?}"
            );
        }
        if let Some(e) = entries.first() {
            // The first batch of a segment is never indexed.
            assert!(
                e.offset > base && e.position > 0,
                "{name}: first entry {e:?}"
            );
        }
        let Some(batches) = segment_batches(&path, INDEX_SUFFIX) else {
            continue;
        };
        for e in &entries {
            let h = batches.get(&e.position).unwrap_or_else(|| {
                panic!("{name}: entry {e:?} does not point at the start of a batch")
            });
            assert_eq!(
                h.last_offset(),
                e.offset,
                "{name}: entry {e:?}: batch's last offset"
            );
        }
        checked_entries += entries.len();
        checked_files += 1;
        if path.parent().unwrap().ends_with(RONEM_METADATA) && base == RONEM_METADATA_BASE {
            ronem_entries = Some(entries.len());
        }
    }
    assert_eq!(
        ronem_entries,
        Some(213),
        "ronem123 __cluster_metadata-0 index entries"
    );
    assert!(
        checked_files >= 2,
        "offset indexes checked against their log: {checked_files}"
    );
    assert_eq!(
        checked_entries, 213,
        "every entry with a log next to it was checked"
    );
}

#[test]
fn time_index_entries_are_running_maxima_of_batch_timestamps() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let (mut checked_entries, mut checked_files) = (0usize, 0usize);
    let mut ronem_entries = None;
    for path in files_with_suffix(&kafka, TIME_INDEX_SUFFIX) {
        let name = rel(&kafka, &path);
        let base = base_of(&path, TIME_INDEX_SUFFIX);
        let entries = time_entries(&FileSource::open(&path).unwrap(), base);
        let len = fs::metadata(&path).unwrap().len() as usize;
        assert_eq!(len, entries.len() * 12, "{name}: not exactly its entries");
        for w in entries.windows(2) {
            assert!(
                w[0].timestamp < w[1].timestamp,
                "{name}: timestamps not increasing: {w:?}"
            );
            assert!(
                w[0].offset < w[1].offset,
                "{name}: offsets not increasing: {w:?}"
            );
        }
        assert!(
            entries.iter().all(|e| e.offset >= base),
            "{name}: offset below base"
        );
        let Some(batches) = segment_batches(&path, TIME_INDEX_SUFFIX) else {
            continue;
        };
        // Running maximum of batch max timestamps, with the last offset of the batch that
        // first reached it: what each entry records ("shallow offset of max timestamp").
        let mut running = Vec::new();
        let mut max: Option<(i64, i64)> = None;
        for h in batches.values() {
            if max.is_none_or(|(ts, _)| h.max_timestamp > ts) {
                max = Some((h.max_timestamp, h.last_offset()));
            }
            running.push(max.unwrap());
        }
        for e in &entries {
            assert!(
                running.contains(&(e.timestamp, e.offset)),
                "{name}: entry {e:?} is not a running maximum of the batches' timestamps"
            );
        }
        // The final entry, written on roll or close, holds the segment's largest timestamp.
        let last = entries
            .last()
            .unwrap_or_else(|| panic!("{name}: no entries"));
        assert_eq!(
            (last.timestamp, last.offset),
            *running.last().unwrap(),
            "{name}: final entry"
        );
        checked_entries += entries.len();
        checked_files += 1;
        if path.parent().unwrap().ends_with(RONEM_METADATA) && base == RONEM_METADATA_BASE {
            ronem_entries = Some(entries.len());
        }
    }
    assert_eq!(
        ronem_entries,
        Some(214),
        "ronem123 __cluster_metadata-0 time index entries"
    );
    assert!(
        checked_files >= 2,
        "time indexes checked against their log: {checked_files}"
    );
    assert!(
        checked_entries > 214,
        "time index entries checked: {checked_entries}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. LogReader on copies of broker partition directories
// ---------------------------------------------------------------------------------------------

/// A record as the reader hands it out, with where its batch was found.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Located {
    rec: Rec,
    segment_base: i64,
    position: u64,
}

/// The partition's records decoded straight from its `.log` files, in segment order.
fn records_from_files(dir: &Path) -> Vec<Located> {
    let mut logs: Vec<(i64, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let base = file_names::parse_offset(p.file_name()?.to_str()?, LOG_SUFFIX)?;
            Some((base, p))
        })
        .collect();
    logs.sort();
    let mut out = Vec::new();
    for (base, path) in logs {
        let data = read(&path);
        let what = path.display().to_string();
        walk_batches(&data, &what, |pos, batch| {
            for rec in batch_records(&batch, &what) {
                out.push(Located {
                    rec,
                    segment_base: base,
                    position: pos as u64,
                });
            }
        });
    }
    out
}

/// Reads records from the reader's current position: all of them, or the first `limit`.
/// Records of the first batch below `from` are dropped, as a consumer would.
fn read_records(reader: &mut LogReader, from: i64, limit: usize) -> Vec<Located> {
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(b) = reader.next_batch().unwrap() else {
            break;
        };
        let what = format!("segment {} position {}", b.segment_base, b.position);
        for rec in batch_records(b.batch.as_batch().expect("a v2 batch"), &what) {
            if rec.offset >= from {
                out.push(Located {
                    rec,
                    segment_base: b.segment_base,
                    position: b.position,
                });
            }
        }
    }
    out.truncate(limit);
    out
}

/// Checks a reader over a copy of `src` against the records decoded from the files.
fn check_reader(src: &Path, want_records: usize, want_end: i64, extra_seeks: &[i64]) {
    let tmp = tempfile::tempdir().unwrap();
    copy_partition_dir(src, tmp.path());
    let dir = tmp.path();
    let what = src.display().to_string();
    let all = records_from_files(dir);
    assert_eq!(all.len(), want_records, "{what}: records in files");
    let first = all[0].rec.offset;
    let last = all.last().unwrap().rec.offset;
    assert_eq!(last + 1, want_end, "{what}: last offset");

    // From the beginning: every record, in offset order, from the right segment and position.
    let mut reader = LogReader::open(dir).unwrap();
    let got = read_records(&mut reader, i64::MIN, usize::MAX);
    assert_eq!(got.len(), all.len(), "{what}: records read");
    assert!(
        got.windows(2).all(|w| w[0].rec.offset < w[1].rec.offset),
        "{what}: order"
    );
    assert!(
        got == all,
        "{what}: records read from the start differ from the files"
    );
    assert!(
        reader.next_batch().unwrap().is_none(),
        "{what}: more after the end"
    );
    assert_eq!(
        reader.log_end_offset().unwrap(),
        want_end,
        "{what}: log end offset"
    );

    // Seeks: below the start, into the middle (every index entry and its neighbours via
    // `extra_seeks`, plus a stride), the last offset, and past the end. (`i64::MIN` is left to
    // `seek_to_i64_min_goes_to_the_log_start`.)
    let mut targets: BTreeSet<i64> = [-1, 0, first - 1, first, first + 1, last, last + 1]
        .into_iter()
        .collect();
    targets.extend(extra_seeks.iter().flat_map(|&o| [o - 1, o, o + 1]));
    let stride = (all.len() / 40).max(1);
    targets.extend(all.iter().step_by(stride).map(|r| r.rec.offset));
    targets.extend(all.iter().step_by(stride).map(|r| r.rec.offset + 1));
    for &t in &targets {
        let mut reader = LogReader::open(dir).unwrap();
        reader.seek(t).unwrap();
        let idx = all.partition_point(|r| r.rec.offset < t);
        let want: Vec<Located> = all[idx..].iter().take(50).cloned().collect();
        let got = read_records(&mut reader, t, 50);
        assert!(
            got == want,
            "{what}: seek({t}) read {:?}, want {:?}",
            got.first(),
            want.first()
        );
    }
    // One seek into the middle read through to the end.
    let mid = all[all.len() / 2].rec.offset;
    let mut reader = LogReader::open(dir).unwrap();
    reader.seek(mid).unwrap();
    let got = read_records(&mut reader, mid, usize::MAX);
    assert!(
        got == all[all.len() / 2..],
        "{what}: seek({mid}) to the end"
    );
    assert_eq!(
        reader.log_end_offset().unwrap(),
        want_end,
        "{what}: log end offset after reading"
    );

    // Offset for timestamp: the first record, in offset order, at or after the timestamp.
    let mut stamps: BTreeSet<i64> = all
        .iter()
        .step_by(stride)
        .map(|r| r.rec.timestamp)
        .collect();
    let (lo, hi) = all.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| {
        (lo.min(r.rec.timestamp), hi.max(r.rec.timestamp))
    });
    stamps.extend([lo - 1, lo, hi, hi + 1]);
    stamps.extend(stamps.clone().iter().map(|t| t + 1));
    let mut reader = LogReader::open(dir).unwrap();
    for &ts in &stamps {
        let want = all
            .iter()
            .find(|r| r.rec.timestamp >= ts)
            .map(|r| r.rec.offset);
        assert_eq!(
            reader.offset_for_timestamp(ts).unwrap(),
            want,
            "{what}: timestamp {ts}"
        );
    }
}

#[test]
fn log_reader_on_ronem123_cluster_metadata() {
    let Some(fx) = fixtures() else { return };
    let src = fx.join("kafka").join(RONEM_METADATA);
    let index = file_names::index_file(&src, RONEM_METADATA_BASE);
    let indexed: Vec<i64> = offset_entries(&FileSource::open(&index).unwrap(), RONEM_METADATA_BASE)
        .iter()
        .map(|e| e.offset)
        .collect();
    assert_eq!(indexed.len(), 213);
    check_reader(&src, 12_156, 1_737_569, &indexed);
}

#[test]
fn log_reader_across_two_compacted_segments() {
    // cobyforrester __consumer_offsets-21: a cleaned segment 0 (offsets 52..55, gaps before
    // them) and a rolled segment 56 (56..59).
    let Some(fx) = fixtures() else { return };
    let src = fx.join("kafka/cobyforrester__kafka/data/kafka/__consumer_offsets-21");
    check_reader(&src, 8, 60, &[52, 54, 55, 56, 58]);
}

#[test]
fn log_reader_on_a_multi_batch_user_topic() {
    // cobyforrester first_topic-0 before retention: 4 batches, offsets 0..3, no index.
    let Some(fx) = fixtures() else { return };
    let src = fx.join("kafka/cobyforrester__kafka/history/32ed774168/data/kafka/first_topic-0");
    check_reader(&src, 4, 4, &[1, 2]);
}

/// `seek(i64::MIN)` is "below the log start", so it must go to the log start. Regression: the
/// index lookup once computed `target - base_offset` unchecked, which overflowed (a panic in
/// debug builds; in release the reader started at the *last* index entry and skipped the rest).
#[test]
fn seek_to_i64_min_goes_to_the_log_start() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    copy_partition_dir(&fx.join("kafka").join(RONEM_METADATA), tmp.path());
    let mut reader = LogReader::open(tmp.path()).unwrap();
    reader.seek(i64::MIN).unwrap();
    let first = reader.next_batch().unwrap().expect("a batch");
    assert_eq!(
        first
            .batch
            .as_batch()
            .expect("a v2 batch")
            .header
            .base_offset,
        RONEM_METADATA_BASE
    );
    assert_eq!(first.position, 0);
}

// ---------------------------------------------------------------------------------------------
// 8. The klog CLI on Kafka data, and Kafka-shaped data from klog
// ---------------------------------------------------------------------------------------------

/// Runs `klog --dir <dir> <args>` (with `stdin` piped in when given) and returns its output.
fn klog_run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_klog"));
    cmd.env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run klog");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// [`klog_run`], asserting exit status 0; returns stdout.
fn klog_ok(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let out = klog_run(dir, args, stdin);
    assert!(
        out.status.success(),
        "klog {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The JSON bytes shape of `consume --json`: null, a UTF-8 string, or `{"base64": …}`.
fn json_bytes(v: &serde_json::Value) -> Option<Vec<u8>> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        serde_json::Value::Object(m) if m.len() == 1 => {
            let b = base64(m["base64"].as_str().expect("base64 string"));
            assert!(
                std::str::from_utf8(&b).is_err(),
                "valid UTF-8 printed as base64: {v}"
            );
            Some(b)
        }
        other => panic!("not the JSON bytes shape: {other}"),
    }
}

/// `klog consume <topic> --json`, parsed: (partition, timestamp type, record) per line.
fn consume_json(dir: &Path, topic: &str, extra: &[&str]) -> Vec<(u32, String, Rec)> {
    let mut args = vec!["consume", topic, "--json"];
    args.extend_from_slice(extra);
    let out = klog_ok(dir, &args, None);
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_slice(line)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
            assert_eq!(v["topic"], topic, "{v}");
            let rec = Rec {
                offset: v["offset"].as_i64().unwrap(),
                timestamp: v["timestamp"].as_i64().unwrap(),
                key: json_bytes(&v["key"]),
                value: json_bytes(&v["value"]),
                headers: v["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| {
                        (
                            h[0].as_str().unwrap().as_bytes().to_vec(),
                            json_bytes(&h[1]),
                        )
                    })
                    .collect(),
            };
            (
                v["partition"].as_u64().unwrap() as u32,
                v["timestamp_type"].as_str().unwrap().to_string(),
                rec,
            )
        })
        .collect()
}

/// The `.log` files of a partition directory, by base offset.
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<(i64, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let base = file_names::parse_offset(p.file_name()?.to_str()?, LOG_SUFFIX)?;
            Some((base, p))
        })
        .collect();
    logs.sort();
    logs.into_iter().map(|(_, p)| p).collect()
}

/// Every v2 batch of a partition directory's `.log` files (headers and records, decompressed
/// with the library's `records_in`).
fn batches_of_partition(dir: &Path) -> Vec<(BatchHeader, Vec<u8>, Vec<Rec>)> {
    let mut out = Vec::new();
    for path in log_files(dir) {
        let data = read(&path);
        let what = path.display().to_string();
        walk_batches(&data, &what, |_, batch| {
            let mut scratch = Vec::new();
            let recs = batch
                .records_in(&mut scratch)
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .map(|r| {
                    let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
                    Rec::of(&batch, &r)
                })
                .collect();
            out.push((batch.header, batch.records_bytes().to_vec(), recs));
        });
    }
    out
}

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// Item 1: kafka-python's segments, dropped into a data directory as a broker's partition
/// directory would be (no klog metadata), consume to exactly `expected.json`.
#[test]
fn cli_consumes_kafka_python_segments_to_expected_json() {
    let Some(fx) = fixtures() else { return };
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let src = fx.join("kafka-python").join(codec);
        let want = expected_records(&src);
        let tmp = tempfile::tempdir().unwrap();
        let topic = format!("kp-{codec}");
        let part = tmp.path().join(format!("{topic}-0"));
        fs::create_dir(&part).unwrap();
        fs::copy(
            src.join("00000000000000000000.log"),
            part.join("00000000000000000000.log"),
        )
        .unwrap();
        let got = consume_json(tmp.path(), &topic, &[]);
        assert_eq!(got.len(), want.len(), "{codec}: records");
        for ((partition, ts_type, got), want) in got.iter().zip(&want) {
            assert_eq!(*partition, 0, "{codec}");
            assert_eq!(ts_type, "CreateTime", "{codec}: offset {}", want.offset);
            assert_eq!(got, want, "{codec}: offset {}", want.offset);
        }
        // Nothing klog-specific was written next to the broker-style directory.
        assert!(
            !tmp.path().join("klog-topics.json").exists(),
            "{codec}: consume wrote metadata"
        );
    }
}

/// Item 2: klog's own compressed output decodes back, through the CLI and the library, and
/// every batch carries its codec in attribute bits 0-2.
#[test]
fn klog_compressed_output_reads_back_for_every_codec() {
    let lines: Vec<String> = (0..300)
        .map(|i| format!("line {i}: {}", "abc ".repeat(i % 37)))
        .collect();
    let text = lines.join("\n") + "\n";
    // JSON input: null, UTF-8 and binary keys and values, headers with null, text and binary
    // values, explicit timestamps.
    let json_records: Vec<Rec> = (0..60)
        .map(|i: i64| Rec {
            offset: i,
            timestamp: 1_700_000_000_000 + i * 7,
            key: match i % 3 {
                0 => None,
                1 => Some(format!("key-{i}").into_bytes()),
                _ => Some(vec![0xFF, 0xFE, i as u8]),
            },
            value: match i % 5 {
                0 => None,
                1 => Some(Vec::new()),
                2 => Some(format!("välue {i} ✓").into_bytes()),
                _ => Some(
                    [&[0x80u8, 0x00, 0xC3][..], &[i as u8; 40]]
                        .concat()
                        .repeat(1 + i as usize % 4),
                ),
            },
            headers: match i % 4 {
                0 => Vec::new(),
                1 => vec![(b"trace".to_vec(), Some(format!("t{i}").into_bytes()))],
                2 => vec![
                    (b"n".to_vec(), None),
                    (b"bin".to_vec(), Some(vec![0xC0, 0xAF])),
                ],
                _ => vec![(b"e".to_vec(), Some(Vec::new()))],
            },
        })
        .collect();
    let bytes_json = |b: &Option<Vec<u8>>| match b {
        None => serde_json::Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => serde_json::Value::String(s.into()),
            Err(_) => {
                use base64::Engine as _;
                serde_json::json!({"base64": base64::engine::general_purpose::STANDARD.encode(b)})
            }
        },
    };
    let json_input: String = json_records
        .iter()
        .map(|r| {
            let headers: Vec<serde_json::Value> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    serde_json::json!([String::from_utf8(k.clone()).unwrap(), bytes_json(v)])
                })
                .collect();
            serde_json::json!({
                "key": bytes_json(&r.key),
                "value": bytes_json(&r.value),
                "headers": headers,
                "timestamp": r.timestamp,
            })
            .to_string()
                + "\n"
        })
        .collect();

    for codec in [Compression::None].into_iter().chain(CODECS) {
        let name = codec.name();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        klog_ok(
            dir,
            &["produce", "lines", "--compression", name],
            Some(text.as_bytes()),
        );
        klog_ok(
            dir,
            &["produce", "bin", "--json", "--compression", name],
            Some(json_input.as_bytes()),
        );

        let got = consume_json(dir, "lines", &[]);
        assert_eq!(got.len(), lines.len(), "{name}: lines");
        for (i, (_, _, r)) in got.iter().enumerate() {
            assert_eq!(r.offset, i as i64, "{name}");
            assert_eq!(r.key, None, "{name}");
            assert_eq!(
                r.value.as_deref(),
                Some(lines[i].as_bytes()),
                "{name}: line {i}"
            );
        }
        let got: Vec<Rec> = consume_json(dir, "bin", &[])
            .into_iter()
            .map(|(_, _, r)| r)
            .collect();
        assert_eq!(got, json_records, "{name}: --json records");

        // The library sees the codec in every batch and the same records.
        for (topic, want) in [("lines", lines.len()), ("bin", json_records.len())] {
            let batches = batches_of_partition(&dir.join(format!("{topic}-0")));
            assert!(!batches.is_empty(), "{name}: {topic}: no batches");
            let mut n = 0;
            for (h, section, recs) in &batches {
                assert_eq!(h.compression(), Some(codec), "{name}: {topic}: codec");
                assert_eq!(
                    h.attributes & 0x07,
                    i16::from(codec.id()),
                    "{name}: {topic}: attribute bits"
                );
                assert_eq!(recs.len(), h.records_count as usize, "{name}: {topic}");
                if codec != Compression::None {
                    let mut plain = Vec::new();
                    decompress(codec, section, &mut plain, DECOMPRESS_LIMIT).unwrap();
                    assert!(plain.len() > section.len() / 2, "{name}: {topic}: section");
                }
                n += recs.len();
            }
            assert_eq!(n, want, "{name}: {topic}: records in the files");
        }
        let lib: Vec<Rec> = batches_of_partition(&dir.join("bin-0"))
            .into_iter()
            .flat_map(|(_, _, r)| r)
            .collect();
        assert_eq!(lib, json_records, "{name}: records decoded by the library");
    }
}

/// The `[int32 length][raw snappy block]` blocks after a xerial header: the uncompressed length
/// of each (from the block's preamble), checking that they fill the section exactly.
fn xerial_blocks(section: &[u8], what: &str) -> Vec<usize> {
    let mut pos = 16;
    let mut sizes = Vec::new();
    while pos < section.len() {
        let len = i32::from_be_bytes(section[pos..pos + 4].try_into().unwrap());
        assert!(len > 0, "{what}: block length {len} at {pos}");
        let block = &section[pos + 4..pos + 4 + len as usize];
        let n = snap::raw::decompress_len(block).unwrap();
        assert_eq!(
            snap::raw::Decoder::new()
                .decompress_vec(block)
                .unwrap()
                .len(),
            n,
            "{what}: block at {pos}"
        );
        sizes.push(n);
        pos += 4 + len as usize;
    }
    assert_eq!(pos, section.len(), "{what}: blocks do not end the section");
    sizes
}

/// The data blocks of an LZ4 frame without content size or checksums: (stored?, size) each,
/// checking the end mark ends the section.
fn lz4_blocks(section: &[u8], what: &str) -> Vec<(bool, usize)> {
    let mut pos = 7;
    let mut blocks = Vec::new();
    loop {
        let word = u32::from_le_bytes(section[pos..pos + 4].try_into().unwrap());
        pos += 4;
        if word == 0 {
            break;
        }
        let size = (word & 0x7FFF_FFFF) as usize;
        blocks.push((word & 0x8000_0000 != 0, size));
        pos += size;
    }
    assert_eq!(
        pos,
        section.len(),
        "{what}: end mark does not end the section"
    );
    blocks
}

/// Item 3: the stream framing klog writes is the framing kafka-python (and Java Kafka) write.
#[test]
fn compressed_framing_matches_kafka_python() {
    let Some(fx) = fixtures() else { return };
    // ~150 KiB of compressible values: one batch, several snappy and lz4 blocks.
    let text: String = (0..300)
        .map(|i| format!("record {i:05} {}\n", "payload-payload ".repeat(30)))
        .collect();
    assert!(text.len() > 140 * 1024);
    let tmp = tempfile::tempdir().unwrap();
    // From a file, so that the input arrives at once and goes into one batch.
    let input = tmp.path().join("input.txt");
    fs::write(&input, &text).unwrap();
    for codec in CODECS {
        let name = codec.name();
        klog_ok(
            tmp.path(),
            &[
                "produce",
                name,
                "--compression",
                name,
                input.to_str().unwrap(),
            ],
            None,
        );
        let batches = batches_of_partition(&tmp.path().join(format!("{name}-0")));
        assert_eq!(
            batches.iter().map(|b| b.2.len()).sum::<usize>(),
            300,
            "{name}: records"
        );
        let (_, ours, _) = batches.iter().max_by_key(|b| b.2.len()).unwrap();
        let mut plain = Vec::new();
        decompress(codec, ours, &mut plain, DECOMPRESS_LIMIT).unwrap();
        assert!(plain.len() > 100 * 1024, "{name}: {} bytes", plain.len());

        let fixture = read(&fx.join(format!("kafka-python/{name}/00000000000000000000.log")));
        let theirs = RecordBatch::decode(&fixture)
            .unwrap()
            .records_bytes()
            .to_vec();
        match codec {
            Compression::Gzip => {
                // RFC 1952 magic and deflate.
                assert_eq!(ours[..3], [0x1f, 0x8b, 8], "{name}");
                assert_eq!(theirs[..3], ours[..3], "{name}: fixture");
            }
            Compression::Zstd => {
                assert_eq!(ours[..4], [0x28, 0xb5, 0x2f, 0xfd], "{name}");
                assert_eq!(theirs[..4], ours[..4], "{name}: fixture");
            }
            Compression::Snappy => {
                let mut header = XERIAL_MAGIC.to_vec();
                header.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
                assert_eq!(ours[..16], header[..], "{name}: xerial header");
                assert_eq!(theirs[..16], header[..], "{name}: fixture's xerial header");
                let sizes = xerial_blocks(ours, name);
                assert!(sizes.len() >= 4, "{name}: {} blocks", sizes.len());
                assert!(sizes.iter().all(|&n| n <= XERIAL_BLOCK_SIZE), "{sizes:?}");
                // snappy-java fills each block before starting the next.
                let (last, full) = sizes.split_last().unwrap();
                assert!(full.iter().all(|&n| n == XERIAL_BLOCK_SIZE), "{sizes:?}");
                assert!(*last > 0);
                assert_eq!(sizes.iter().sum::<usize>(), plain.len(), "{name}");
                // Every fixture batch walks the same way.
                let mut pos = 0;
                while pos < fixture.len() {
                    let b = RecordBatch::decode(&fixture[pos..]).unwrap();
                    let s = xerial_blocks(b.records_bytes(), "fixture");
                    assert!(s.iter().all(|&n| n <= XERIAL_BLOCK_SIZE), "fixture {s:?}");
                    pos += b.header.size();
                }
            }
            Compression::Lz4 => {
                assert_eq!(ours[..4], LZ4_FRAME_MAGIC.to_le_bytes(), "{name}");
                assert_eq!(theirs[..4], ours[..4], "{name}: fixture");
                // BD: 64 KiB maximum block size, as Java Kafka and kafka-python write.
                assert_eq!(ours[5], 0x40, "{name}: BD");
                assert_eq!(theirs[5], ours[5], "{name}: BD vs fixture");
                // FLG: version 01, independent blocks, no checksums, no dictionary. Java Kafka's
                // KafkaLZ4BlockOutputStream writes 0x60; kafka-python's writer also sets the
                // content-size bit (0x08, FLG 0x68) and stores the size: identical otherwise.
                assert_eq!(ours[4], 0x60, "{name}: FLG");
                assert_eq!(theirs[4] & !0x08, ours[4], "{name}: FLG vs fixture");
                let blocks = lz4_blocks(ours, name);
                assert!(blocks.len() >= 2, "{name}: {blocks:?}");
                assert!(blocks.iter().all(|&(_, n)| n <= 64 * 1024), "{blocks:?}");
            }
            Compression::None => unreachable!(),
        }
    }
}

/// (record offsets of non-control batches, records of every batch) of a partition directory
/// as the library reads it: v2 batches, and magic 0/1 messages entry by entry.
fn library_offsets(dir: &Path) -> (Vec<i64>, usize) {
    let (mut offsets, mut all) = (Vec::new(), 0);
    for path in log_files(dir) {
        let data = read(&path);
        let mut pos = 0;
        while let Ok(Peek::Entry(frame)) = peek_entry(&data[pos..]) {
            let entry = &data[pos..pos + frame.size];
            if frame.magic == 2 {
                let b = RecordBatch::decode(entry).unwrap();
                let recs = batch_records(&b, &path.display().to_string());
                all += recs.len();
                if !b.header.is_control() {
                    offsets.extend(recs.iter().map(|r| r.offset));
                }
            } else {
                let m = LegacyMessage::decode(entry).unwrap();
                for r in legacy::records(&m, DECOMPRESS_LIMIT).unwrap() {
                    all += 1;
                    offsets.push(r.offset);
                }
            }
            pos += frame.size;
        }
        assert_eq!(pos, data.len(), "{}: entries", path.display());
    }
    (offsets, all)
}

/// Item 4: every broker-written partition directory consumes, through the CLI, to exactly the
/// offsets of its records; `segments dump --records` prints one line per record.
#[test]
fn cli_consumes_every_broker_partition_with_the_documented_offsets() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let dirs: BTreeSet<PathBuf> = files_with_suffix(&kafka, LOG_SUFFIX)
        .into_iter()
        .filter(|p| fs::metadata(p).unwrap().len() > 0)
        .map(|p| p.parent().unwrap().to_path_buf())
        .collect();
    let (mut consumed, mut stored, mut checked_dirs, mut magic1_dirs) = (0, 0, 0, 0);
    for src in &dirs {
        let name = rel(&kafka, src);
        let dir_name = src.file_name().unwrap().to_str().unwrap();
        let (topic, partition) = dir_name.rsplit_once('-').unwrap();
        // What SOURCES.md says this directory's logs hold.
        let documented: Vec<(usize, i64, i64)> = MAGIC2_LOGS
            .iter()
            .map(|e| (e.0, e.3, e.4, e.5))
            .chain(MAGIC1_LOGS.iter().map(|e| (e.0, e.2, e.3, e.4)))
            .filter(|e| Path::new(e.0).parent() == Some(Path::new(&name)))
            .map(|e| (e.1, e.2, e.3))
            .collect();
        assert!(!documented.is_empty(), "{name}: not in SOURCES.md");
        let (want, all) = library_offsets(src);
        assert_eq!(
            all,
            documented.iter().map(|d| d.0).sum::<usize>(),
            "{name}: records vs SOURCES.md"
        );
        assert_eq!(
            want.first().copied(),
            documented.iter().map(|d| d.1).min(),
            "{name}: first offset vs SOURCES.md"
        );
        assert_eq!(
            want.last().copied(),
            documented.iter().map(|d| d.2).max(),
            "{name}: last offset vs SOURCES.md"
        );

        let tmp = tempfile::tempdir().unwrap();
        let dst = tmp.path().join(dir_name);
        fs::create_dir(&dst).unwrap();
        copy_partition_dir(src, &dst);
        let out = klog_ok(
            tmp.path(),
            &["consume", topic, "-p", partition, "-F", "%o\\n"],
            None,
        );
        let got: Vec<i64> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert!(
            got == want,
            "{name}: consumed offsets differ ({} vs {})",
            got.len(),
            want.len()
        );

        let dump = klog_ok(
            tmp.path(),
            &["segments", "dump", topic, "-p", partition, "--records"],
            None,
        );
        let dump = String::from_utf8_lossy(&dump);
        let record_lines = dump.lines().filter(|l| l.starts_with("| offset: ")).count();
        assert_eq!(record_lines, all, "{name}: dump --records lines");
        consumed += got.len();
        stored += all;
        checked_dirs += 1;
        if MAGIC1_LOGS
            .iter()
            .any(|e| Path::new(e.0).parent() == Some(Path::new(&name)))
        {
            magic1_dirs += 1;
        }
    }
    let total: usize = MAGIC2_LOGS.iter().map(|e| e.3).sum::<usize>()
        + MAGIC1_LOGS.iter().map(|e| e.2).sum::<usize>();
    assert_eq!(checked_dirs, 24, "partition directories with data");
    assert_eq!(magic1_dirs, 4, "magic-1 partition directories");
    assert_eq!(stored, total, "records in all .log files");
    // The .log files hold no control batches (the KRaft ones are in the snapshots), so every
    // record is a consumer's record.
    assert_eq!(consumed, total, "records consumed");
}

/// `len` bytes at `*pos`, advancing it.
fn take<'a>(b: &'a [u8], pos: &mut usize, len: usize) -> &'a [u8] {
    let s = &b[*pos..*pos + len];
    *pos += len;
    s
}

/// An int16-length string at `*pos`.
fn kafka_string(b: &[u8], pos: &mut usize) -> String {
    let len = i16::from_be_bytes(take(b, pos, 2).try_into().unwrap()) as usize;
    String::from_utf8(take(b, pos, len).to_vec()).unwrap()
}

/// What a `__consumer_offsets` record says, decoded here independently of klog (key versions
/// 0-2; every value version starts with int16 version, int64 offset).
fn expected_dump_parts(key: &[u8], value: Option<&[u8]>) -> Vec<String> {
    let mut pos = 0;
    let version = i16::from_be_bytes(take(key, &mut pos, 2).try_into().unwrap());
    let group = kafka_string(key, &mut pos);
    let mut parts = Vec::new();
    if version <= 1 {
        let topic = kafka_string(key, &mut pos);
        let partition = i32::from_be_bytes(take(key, &mut pos, 4).try_into().unwrap());
        parts.push(format!(
            "key: offset_commit::group={group},topic={topic},partition={partition} payload: "
        ));
        match value {
            Some(v) => {
                let offset = i64::from_be_bytes(v[2..10].try_into().unwrap());
                parts.push(format!("payload: offset={offset},"));
            }
            None => parts.push("payload: <DELETE>".into()),
        }
    } else {
        assert_eq!(version, 2, "key version");
        parts.push(format!("key: group_metadata::group={group} payload: "));
    }
    parts
}

/// Item 5: `segments dump` of broker `__consumer_offsets` partitions prints readable offset
/// commits, each agreeing with an independent decoding of its key and value.
#[test]
fn consumer_offsets_dump_as_readable_commits() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    // (partition directory, a known record: offset, text the dump line must contain)
    let cases = [
        (
            "DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-39",
            16,
            "key: offset_commit::group=console-consumer-65070,topic=test_topic_0603,partition=0 \
             payload: offset=9,leader_epoch=-1,metadata=,commit_timestamp=1685814551579",
        ),
        (
            "cobyforrester__kafka/data/kafka/__consumer_offsets-21",
            52,
            "key: offset_commit::group=APP-NAME,topic=first_topic,partition=0 payload: offset=4,",
        ),
        (
            "cobyforrester__kafka/history/32ed774168/data/kafka/__consumer_offsets-21",
            2,
            "key: offset_commit::group=APP-NAME,topic=first_topic,partition=1 payload: offset=3,",
        ),
        (
            "xpxwo100__bullShit/tmp/kafka-logs/__consumer_offsets-40",
            1,
            "key: offset_commit::group=GroupA,topic=foo,partition=0 payload: offset=2,metadata=,\
             commit_timestamp=1479457455691,expire_timestamp=1479543855691",
        ),
        (
            "ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-44",
            6,
            "key: offset_commit::group=rupia-transaction-group,topic=topic_transactions,\
             partition=0 payload: offset=5,",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut commits = BTreeMap::new();
    for (rel_dir, known_offset, known) in cases {
        let src = kafka.join(rel_dir);
        let dump = klog_ok(
            tmp.path(),
            &["segments", "dump", src.to_str().unwrap(), "--records"],
            None,
        );
        let dump = String::from_utf8(dump).unwrap();
        let lines: Vec<&str> = dump
            .lines()
            .filter(|l| l.starts_with("| offset: "))
            .collect();
        // The records as stored, decoded by the library, in file order.
        let mut stored: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        for path in log_files(&src) {
            let data = read(&path);
            let mut pos = 0;
            while let Ok(Peek::Entry(frame)) = peek_entry(&data[pos..]) {
                let entry = &data[pos..pos + frame.size];
                if frame.magic == 2 {
                    let b = RecordBatch::decode(entry).unwrap();
                    for r in batch_records(&b, rel_dir) {
                        stored.push((r.offset, r.key.unwrap(), r.value));
                    }
                } else {
                    let m = LegacyMessage::decode(entry).unwrap();
                    stored.push((
                        m.offset,
                        m.key.unwrap().to_vec(),
                        m.value.map(<[u8]>::to_vec),
                    ));
                }
                pos += frame.size;
            }
        }
        assert_eq!(lines.len(), stored.len(), "{rel_dir}: record lines");
        let mut n_commits = 0;
        for (line, (offset, key, value)) in lines.iter().zip(&stored) {
            assert!(
                line.starts_with(&format!("| offset: {offset} ")),
                "{rel_dir}: {line}"
            );
            for part in expected_dump_parts(key, value.as_deref()) {
                assert!(line.contains(&part), "{rel_dir}: {line:?} lacks {part:?}");
            }
            if line.contains("key: offset_commit::") && !line.ends_with("<DELETE>") {
                n_commits += 1;
            }
        }
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("| offset: {known_offset} ")))
            .unwrap_or_else(|| panic!("{rel_dir}: no record at {known_offset}"));
        assert!(line.contains(known), "{rel_dir}: {line:?} lacks {known:?}");
        commits.insert(rel_dir, n_commits);
    }
    // Commits (not tombstones) per partition directory.
    let want: BTreeMap<&str, usize> = [
        ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-39", 1),
        ("cobyforrester__kafka/data/kafka/__consumer_offsets-21", 3),
        (
            "cobyforrester__kafka/history/32ed774168/data/kafka/__consumer_offsets-21",
            54,
        ),
        (
            "xpxwo100__bullShit/tmp/kafka-logs/__consumer_offsets-40",
            855,
        ),
        (
            "ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-44",
            1,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(commits, want);
}

/// A Kafka text checkpoint file (`0\n<count>\n<topic> <partition> <offset>\n…`).
fn parse_offset_checkpoint(text: &str, what: &str) -> BTreeMap<(String, u32), i64> {
    assert!(text.ends_with('\n'), "{what}: no final newline");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("0"), "{what}: version");
    let count: usize = lines.next().unwrap().parse().unwrap();
    let entries: BTreeMap<(String, u32), i64> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 3, "{what}: {l:?}");
            (
                (f[0].to_string(), f[1].parse().unwrap()),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(entries.len(), count, "{what}: count");
    entries
}

/// A `leader-epoch-checkpoint` (`0\n<count>\n<epoch> <start offset>\n…`).
fn parse_leader_epochs(text: &str, what: &str) -> Vec<(i32, i64)> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("0"), "{what}: version");
    let count: usize = lines.next().unwrap().parse().unwrap();
    let entries: Vec<(i32, i64)> = lines
        .map(|l| {
            let (e, o) = l.split_once(' ').unwrap();
            (e.parse().unwrap(), o.parse().unwrap())
        })
        .collect();
    assert_eq!(entries.len(), count, "{what}: count");
    entries
}

/// `version: 0\ntopic_id: <22 chars of base64url>`, no newline: the topic id.
fn parse_partition_metadata(data: &[u8], what: &str) -> String {
    assert_eq!(data.len(), 43, "{what}: size");
    let text = std::str::from_utf8(data).unwrap();
    let id = text
        .strip_prefix("version: 0\ntopic_id: ")
        .unwrap_or_else(|| panic!("{what}: {text:?}"));
    assert_eq!(id.len(), 22, "{what}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{what}: {id:?}"
    );
    id.to_string()
}

/// The same parsers accept what real brokers wrote.
#[test]
fn checkpoint_parsers_accept_broker_files() {
    let Some(fx) = fixtures() else { return };
    let donald = fx.join("kafka/DonaldY__kafka-2.7.1/kafka-logs");
    for f in [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
    ] {
        let text = fs::read_to_string(donald.join(f)).unwrap();
        let entries = parse_offset_checkpoint(&text, f);
        assert_eq!(entries.len(), 53, "{f}");
        // The high watermark is the log end offset (20); the recovery point lags behind.
        let want = if f.starts_with("recovery") { 18 } else { 20 };
        assert_eq!(
            entries[&("__consumer_offsets".to_string(), 39)],
            want,
            "{f}"
        );
    }
    let lso = fs::read_to_string(donald.join("log-start-offset-checkpoint")).unwrap();
    assert_eq!(lso, "0\n0\n");
    let epochs = fs::read_to_string(donald.join("__consumer_offsets-39/leader-epoch-checkpoint"));
    assert_eq!(parse_leader_epochs(&epochs.unwrap(), "epochs"), [(0, 0)]);
    let patient = fx.join("kafka/andrei755006__patient-management-system/kafka/data/patient-0");
    parse_partition_metadata(
        &read(&patient.join("partition.metadata")),
        "partition.metadata",
    );
}

/// Item 6: a directory klog wrote verifies clean and has the files a broker would leave:
/// the three offset checkpoints with each partition's log end offset, and in every partition
/// directory `partition.metadata` (one topic id per topic) and `leader-epoch-checkpoint`.
#[test]
fn klog_written_directory_verifies_with_broker_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    klog_ok(
        dir,
        &[
            "topics",
            "create",
            "t3",
            "-p",
            "3",
            "-c",
            "segment.bytes=2048",
        ],
        None,
    );
    let keyed: String = (0..600).map(|i| format!("key-{i}:value {i}\n")).collect();
    klog_ok(dir, &["produce", "t3", "-K", ":"], Some(keyed.as_bytes()));
    let more: String = (600..900).map(|i| format!("key-{i}:value {i}\n")).collect();
    klog_ok(
        dir,
        &["produce", "t3", "-K", ":", "--compression", "lz4"],
        Some(more.as_bytes()),
    );
    let out = klog_run(dir, &["segments", "verify", "t3"], None);
    assert!(
        out.status.success(),
        "verify: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Each key went where Kafka's partitioner puts it.
    let consumed = consume_json(dir, "t3", &[]);
    assert_eq!(consumed.len(), 900);
    for (p, _, r) in &consumed {
        assert_eq!(partition_for_key(r.key.as_deref().unwrap(), 3), *p);
    }

    let mut ends = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for p in 0..3u32 {
        let pdir = dir.join(format!("t3-{p}"));
        let what = format!("t3-{p}");
        assert!(log_files(&pdir).len() >= 2, "{what}: segments");
        let batches = batches_of_partition(&pdir);
        let end = batches.last().map_or(0, |(h, _, _)| h.next_offset());
        let count: usize = batches.iter().map(|(_, _, r)| r.len()).sum();
        assert_eq!(end, count as i64, "{what}: dense offsets");
        ends.insert(("t3".to_string(), p), end);
        ids.insert(parse_partition_metadata(
            &read(&pdir.join("partition.metadata")),
            &what,
        ));
        let epochs = fs::read_to_string(pdir.join("leader-epoch-checkpoint"))
            .unwrap_or_else(|e| panic!("{what}: leader-epoch-checkpoint: {e}"));
        parse_leader_epochs(&epochs, &what);
    }
    assert_eq!(ends.values().sum::<i64>(), 900);
    assert_eq!(ids.len(), 1, "one topic id for every partition: {ids:?}");

    for f in [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
    ] {
        let text = fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(parse_offset_checkpoint(&text, f), ends, "{f}");
    }
    // No partition's log start is above its first segment's base: no entries.
    let lso = fs::read_to_string(dir.join("log-start-offset-checkpoint")).unwrap();
    assert!(parse_offset_checkpoint(&lso, "log-start-offset-checkpoint").is_empty());
}

/// A broker creates every partition of a new topic with its `leader-epoch-checkpoint`, and its
/// offset checkpoints list every partition of the log directory (with 0 for an empty one).
#[test]
fn empty_partitions_have_broker_files_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    klog_ok(dir, &["topics", "create", "e3", "-p", "3"], None);
    klog_ok(dir, &["produce", "e3", "-p", "1"], Some(b"a\nb\n"));
    for p in 0..3 {
        assert!(
            dir.join(format!("e3-{p}/leader-epoch-checkpoint"))
                .is_file(),
            "e3-{p}: no leader-epoch-checkpoint"
        );
    }
    let want: BTreeMap<(String, u32), i64> = [0, 2, 0]
        .into_iter()
        .enumerate()
        .map(|(p, o)| (("e3".to_string(), p as u32), o))
        .collect();
    for f in [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
    ] {
        let text = fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(parse_offset_checkpoint(&text, f), want, "{f}");
    }
}

// ---------------------------------------------------------------------------------------------
// 10. No false alarm on real logs
// ---------------------------------------------------------------------------------------------

/// Every fixture directory holding `.log` files, sorted.
fn fixture_partition_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = files_with_suffix(root, LOG_SUFFIX)
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The log end offset as the files say: the next offset after the last segment's last entry,
/// or that segment's base when it is empty.
fn log_end_offset_from_files(dir: &Path) -> i64 {
    let last = log_files(dir).pop().expect("a .log");
    let mut end = base_of(&last, LOG_SUFFIX);
    let data = read(&last);
    let mut pos = 0;
    while let Ok(Peek::Entry(frame)) = peek_entry(&data[pos..]) {
        end = if frame.magic == 2 {
            BatchHeader::parse(&data[pos..]).unwrap().next_offset()
        } else {
            frame.offset + 1
        };
        pos += frame.size;
    }
    end
}

/// Problems of a `.log` itself (not of its indexes).
fn log_problems(v: &Verification) -> Vec<String> {
    v.problems
        .iter()
        .filter(|p| {
            !matches!(
                p.kind,
                ProblemKind::IndexEntry | ProblemKind::TimeIndex | ProblemKind::IndexSize
            )
        })
        .map(|p| format!("{}:{}: {}", p.path.display(), p.position, p.detail))
        .collect()
}

/// Item 10: the checks of damaged base offsets (offsets increasing, inside their segment,
/// contiguous from klog's recovery point on) raise no false alarm on any broker-written or
/// kafka-python partition: `verify_partition` finds nothing wrong in any `.log`;
/// `repair_partition` on a copy cuts and moves nothing; a writer opening a copy recovers
/// nothing and takes the log end offset from the last batch, with no recovery point, and with
/// klog's recovery point at the log end offset (as after klog appended and flushed); and the
/// copy still verifies then.
#[test]
fn base_offset_checks_raise_no_false_alarm_on_any_fixture_partition() {
    let Some(root) = fixtures() else { return };
    let dirs = fixture_partition_dirs(&root);
    assert!(dirs.len() > 100, "fixture partitions: {}", dirs.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut batches_checked = 0u64;
    for (i, dir) in dirs.iter().enumerate() {
        let what = rel(&root, dir);
        let v = verify_partition(dir).unwrap_or_else(|e| panic!("{what}: verify: {e}"));
        assert_eq!(log_problems(&v), Vec::<String>::new(), "{what}: verify");
        batches_checked += v.batches;
        let leo = log_end_offset_from_files(dir);

        for with_recovery_point in [false, true] {
            // The directory name is kept: it names the partition in a data directory.
            let copy = tmp
                .path()
                .join(format!("{i}-{with_recovery_point}"))
                .join(dir.file_name().unwrap());
            fs::create_dir_all(&copy).unwrap();
            copy_partition_dir(dir, &copy);
            let repairs =
                repair_partition(&copy, 4096).unwrap_or_else(|e| panic!("{what}: repair: {e}"));
            let cut: Vec<&Repair> = repairs
                .iter()
                .filter(|r| !matches!(r, Repair::RebuiltIndex { .. }))
                .collect();
            assert!(cut.is_empty(), "{what}: repair changed a log: {cut:?}");
            if with_recovery_point {
                let rp = format!("{{\"recovery_point\":{leo}}}");
                fs::write(copy.join(RECOVERY_POINT_FILE), rp).unwrap();
                let v = verify_partition(&copy).unwrap();
                assert_eq!(
                    log_problems(&v),
                    Vec::<String>::new(),
                    "{what}: verify with klog's recovery point at {leo:?}"
                );
            }
            let mut log = Log::open(&copy, LogConfig::default()).unwrap();
            let end = log
                .log_end_offset()
                .unwrap_or_else(|e| panic!("{what}: recovery: {e}"));
            let cut: Vec<String> = log
                .take_truncations()
                .iter()
                .map(|t| format!("{}:{}: {}", t.path.display(), t.position, t.reason))
                .collect();
            assert_eq!(cut, Vec::<String>::new(), "{what}: recovery cut");
            assert_eq!(end, leo, "{what}: log end offset after recovery");
            drop(log);
            let v = verify_partition(&copy).unwrap();
            assert_eq!(
                log_problems(&v),
                Vec::<String>::new(),
                "{what}: after recovery"
            );
        }
    }
    eprintln!(
        "{} fixture partitions, {batches_checked} entries: no false alarm",
        dirs.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The rule for a missing ../shared/fixtures
// ---------------------------------------------------------------------------------------------

/// Runs one test of this target in a child process, with the fixtures pointed at a directory
/// that does not exist and `CI` as given (`None`: unset).
fn run_without_fixtures(test: &str, ci: Option<&str>) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--test-threads", "1", "--nocapture"])
        .env("KLOG_SHARED_FIXTURES", tmp.path().join("absent"))
        .env_remove("CI");
    if let Some(ci) = ci {
        cmd.env("CI", ci);
    }
    cmd.output().unwrap()
}

/// Under `CI=true` a test that reads `../shared/fixtures` fails when it is missing instead of
/// passing without having checked anything; outside CI it skips with a note.
#[test]
fn regression_missing_fixtures_fail_under_ci() {
    let test = "checkpoint_parsers_accept_broker_files";
    let out = run_without_fixtures(test, Some("true"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "passed under CI=true: {text}");
    assert!(text.contains("absent not found"), "{text}");
    assert!(text.contains("1 failed"), "{text}");

    for ci in [None, Some("false"), Some("")] {
        let out = run_without_fixtures(test, ci);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "CI={ci:?}: {text}");
        assert!(
            text.contains("skipping: ") && text.contains("1 passed"),
            "{text}"
        );
    }
}
// 11. A broker's log.dirs: reading changes nothing, writing follows Kafka's rules
// ---------------------------------------------------------------------------------------------

/// The `log.dirs` of each fixture broker.
const BROKER_DIRS: &[&str] = &[
    "DonaldY__kafka-2.7.1/kafka-logs",
    "xpxwo100__bullShit/tmp/kafka-logs",
    "cobyforrester__kafka/data/kafka",
    "ronem123__rupia-transaction-service/kafka-logs",
    "andrei755006__patient-management-system/kafka/data",
];

/// Copies a directory tree into `dst`, every file and directory writable (the fixtures are
/// read-only), so that a command that writes would succeed and show.
fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    fs::set_permissions(dst, fs::Permissions::from_mode(0o755)).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let to = dst.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &to);
        } else {
            fs::copy(&path, &to).unwrap();
            fs::set_permissions(&to, fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

/// Every file and directory under `root`: relative path → (size, modification time in ns).
fn full_listing(root: &Path) -> BTreeMap<String, (u64, i128)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let m = fs::symlink_metadata(&path).unwrap();
            if m.is_dir() {
                stack.push(path.clone());
            }
            let mtime = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
            out.insert(rel(root, &path), (m.len(), mtime));
        }
    }
    out
}

fn topic_names(dir: &Path) -> Vec<String> {
    let out = klog_ok(dir, &["topics", "list", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// Reading commands on a copy of every broker directory: `topics list|describe`, `consume`,
/// `segments list|dump|verify` (without `--repair`), `groups list|describe`, `clean
/// --dry-run` change no file, directory, size or modification time at all.
#[test]
fn reading_commands_change_no_file_of_a_broker_directory() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (i, d) in BROKER_DIRS.iter().enumerate() {
        let dir = tmp.path().join(i.to_string());
        copy_tree(&fx.join("kafka").join(d), &dir);
        let before = full_listing(&dir);
        let names = topic_names(&dir);
        assert!(!names.is_empty(), "{d}: no topics found");
        for t in &names {
            for args in [
                &["topics", "describe", t.as_str()][..],
                &["topics", "describe", t, "--json"],
                &["consume", t],
                &["consume", t, "--json", "-o", "-1"],
                &["segments", "list", t],
                &["segments", "dump", t, "--records"],
                &["groups", "describe", "no-such-group"],
            ] {
                let out = klog_run(&dir, args, None);
                assert!(
                    !String::from_utf8_lossy(&out.stderr).contains("panicked"),
                    "{d}: {args:?}"
                );
            }
            let out = klog_run(&dir, &["segments", "verify", t], None);
            assert_eq!(out.status.code(), Some(0), "{d}: verify {t}");
        }
        klog_ok(&dir, &["topics", "list"], None);
        klog_ok(&dir, &["groups", "list"], None);
        klog_ok(&dir, &["clean", "--dry-run"], None);
        let after = full_listing(&dir);
        let changed: Vec<_> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(v))
            .map(|(k, _)| k.as_str())
            .chain(
                after
                    .keys()
                    .filter(|k| !before.contains_key(*k))
                    .map(String::as_str),
            )
            .collect();
        assert!(changed.is_empty(), "{d}: reading changed {changed:?}");
    }
}

/// A record's key and value.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The records of every partition of `topic` in `dir`, by (partition, offset): key, value.
fn records_by_offset(dir: &Path, topic: &str) -> BTreeMap<(u32, i64), KeyValue> {
    consume_json(dir, topic, &[])
        .into_iter()
        .map(|(p, _, r)| ((p, r.offset), (r.key, r.value)))
        .collect()
}

/// `clean` on a copy of a Kafka 2.7 broker's `log.dirs`. Before, klog took topics without
/// klog metadata for `cleanup.policy=delete`: it deleted `__consumer_offsets` segments whose
/// records were older than 7 days, preallocated 10 MiB `.index`/`.timeindex` files in every
/// partition it looked at, rewrote every `leader-epoch-checkpoint` empty (dropping the
/// broker's entries) and set recovery points below the broker's. Now `__consumer_offsets` is
/// compacted (Kafka's built-in config), never deleted by age: every key keeps its latest
/// record; partitions clean leaves alone keep every byte and modification time; checkpoint
/// entries are kept line for line or raised, never dropped or lowered.
#[test]
fn regression_clean_applies_kafkas_rules_to_a_broker_directory() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kafka-logs");
    copy_tree(&fx.join("kafka/DonaldY__kafka-2.7.1/kafka-logs"), &dir);
    let before = full_listing(&dir);
    let records_before = records_by_offset(&dir, "__consumer_offsets");
    assert!(!records_before.is_empty());
    let checkpoints = [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
        "log-start-offset-checkpoint",
        "cleaner-offset-checkpoint",
    ];
    let text = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
    let cp_before: Vec<String> = checkpoints.iter().map(|f| text(f)).collect();
    let epochs_before: Vec<(PathBuf, Vec<u8>)> = files_with_suffix(&dir, "leader-epoch-checkpoint")
        .into_iter()
        .map(|p| (p.clone(), read(&p)))
        .collect();
    assert!(epochs_before.len() >= 50);

    let d = klog_ok(
        &dir,
        &["topics", "describe", "__consumer_offsets", "--json"],
        None,
    );
    let d: serde_json::Value = serde_json::from_slice(&d).unwrap();
    let cfg = |name: &str| {
        d["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(cfg("cleanup.policy")["value"], "compact");
    assert_eq!(cfg("cleanup.policy")["default"], false);
    assert_eq!(cfg("segment.bytes")["value"], "104857600");

    let out = klog_ok(&dir, &["clean", "--json"], None);
    let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let mut touched = BTreeSet::new();
    for r in rows.as_array().unwrap() {
        assert_eq!(r["action"], "compacted", "only compaction: {r}");
        assert_eq!(r["topic"], "__consumer_offsets", "{r}");
        touched.insert(format!(
            "__consumer_offsets-{}",
            r["partition"].as_u64().unwrap()
        ));
    }

    // Compaction keeps every key's latest record, at its offset; nothing else appears.
    let records_after = records_by_offset(&dir, "__consumer_offsets");
    let mut latest: BTreeMap<(u32, Vec<u8>), i64> = BTreeMap::new();
    for (&(p, o), (k, _)) in &records_before {
        latest.insert((p, k.clone().unwrap()), o);
    }
    for ((p, _), o) in latest {
        assert_eq!(
            records_after.get(&(p, o)),
            records_before.get(&(p, o)),
            "latest record at {p}/{o} kept"
        );
    }
    for (k, v) in &records_after {
        assert_eq!(records_before.get(k), Some(v), "{k:?} was there before");
    }

    // Partitions compaction did not touch are left exactly as they were, and no file grew
    // to an index's preallocation.
    let after = full_listing(&dir);
    for (path, v) in &before {
        let partition = path.split('/').next().unwrap();
        if path.contains('/') && !touched.contains(partition) {
            assert_eq!(after.get(path), Some(v), "{path} changed");
        }
    }
    for (path, (size, _)) in &after {
        assert!(*size < 1 << 20, "{path}: {size} bytes");
        if !before.contains_key(path) {
            let partition = path.split('/').next().unwrap();
            assert!(
                touched.contains(partition),
                "{path} created in a partition clean left alone"
            );
        }
    }

    // Leader epochs are the broker's, byte for byte.
    for (p, bytes) in &epochs_before {
        assert_eq!(&read(p), bytes, "{}", p.display());
    }
    // Checkpoints: every entry kept; a changed entry only went up, and only for a partition
    // clean touched; untouched entries keep their line.
    for (f, old) in checkpoints.iter().zip(&cp_before) {
        let new = text(f);
        let old_e = parse_offset_checkpoint(old, f);
        let new_e = parse_offset_checkpoint(&new, f);
        for (k, v) in &old_e {
            let now = new_e.get(k).unwrap_or_else(|| panic!("{f}: {k:?} dropped"));
            assert!(now >= v, "{f}: {k:?} lowered from {v} to {now}");
            if !touched.contains(&format!("{}-{}", k.0, k.1)) {
                assert_eq!(now, v, "{f}: {k:?} of an untouched partition changed");
            }
        }
        let old_lines: BTreeSet<&str> = old.lines().skip(2).collect();
        for line in new.lines().skip(2) {
            let key = line.rsplit_once(' ').unwrap().0;
            let (t, p) = key.split_once(' ').unwrap();
            if !touched.contains(&format!("{t}-{p}")) {
                assert!(old_lines.contains(line), "{f}: line {line:?} is new");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Record counts and timestamps of broker partitions
// ---------------------------------------------------------------------------------------------

/// Records and (smallest, largest) real record timestamp of one `.log`, decoded here record
/// by record: magic 2 through `RecordBatch`, magic 0/1 through `LegacyMessage` (a compressed
/// wrapper through its inner messages). Timestamps of -1 are none.
fn count_log(path: &Path) -> (u64, Option<i64>, Option<i64>) {
    let data = read(path);
    let what = path.display().to_string();
    let (mut n, mut lo, mut hi) = (0u64, None::<i64>, None::<i64>);
    let mut note = |t: i64| {
        if t >= 0 {
            lo = Some(lo.map_or(t, |l: i64| l.min(t)));
            hi = Some(hi.map_or(t, |h: i64| h.max(t)));
        }
    };
    let mut pos = 0;
    while let Ok(Peek::Entry(frame)) = peek_entry(&data[pos..]) {
        let entry = &data[pos..pos + frame.size];
        if frame.magic == 2 {
            let b = RecordBatch::decode(entry).unwrap_or_else(|e| panic!("{what}: {e}"));
            for r in b.records().unwrap() {
                n += 1;
                note(b.timestamp_of(&r.unwrap()));
            }
        } else {
            let m = LegacyMessage::decode(entry).unwrap_or_else(|e| panic!("{what}: {e}"));
            for r in legacy::records(&m, DECOMPRESS_LIMIT).unwrap() {
                n += 1;
                note(r.timestamp);
            }
        }
        pos += frame.size;
    }
    assert_eq!(pos, data.len(), "{what}: trailing bytes");
    (n, lo, hi)
}

/// `topics list` showed log end − log start as RECORDS (32 for DonaldY's
/// `__consumer_offsets`, which holds 16 records after compaction), `topics describe` took a
/// magic 0/1 message for a v2 batch header (first timestamps in 2820 or 2011 for 2016 data)
/// and showed `-` for partitions whose first batch had no timestamp. On every broker's
/// partitions, the counts and the smallest and largest timestamps now match an independent
/// decoding of every record, in `topics list`, `topics describe` and `segments list`.
#[test]
fn regression_records_and_timestamps_of_broker_partitions() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut compacted_seen = false;
    let mut legacy_seen = false;
    for (i, d) in BROKER_DIRS.iter().enumerate() {
        let dir = tmp.path().join(i.to_string());
        copy_tree(&fx.join("kafka").join(d), &dir);
        let list = klog_ok(&dir, &["topics", "list", "--json"], None);
        let list: serde_json::Value = serde_json::from_slice(&list).unwrap();
        for t in list.as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            let desc = klog_ok(&dir, &["topics", "describe", name, "--json"], None);
            let desc: serde_json::Value = serde_json::from_slice(&desc).unwrap();
            let segs = klog_ok(&dir, &["segments", "list", name, "--json"], None);
            let segs: serde_json::Value = serde_json::from_slice(&segs).unwrap();
            let mut topic_records = 0;
            for p in desc["partitions"].as_array().unwrap() {
                let n = p["partition"].as_u64().unwrap();
                let what = format!("{d}: {name}-{n}");
                let pdir = dir.join(format!("{name}-{n}"));
                let (mut records, mut lo, mut hi) = (0, None::<i64>, None::<i64>);
                for log in log_files(&pdir) {
                    let base = base_of(&log, LOG_SUFFIX);
                    let (r, l, h) = count_log(&log);
                    legacy_seen |= read(&log).get(16).is_some_and(|&m| m < 2);
                    records += r;
                    lo = [lo, l].into_iter().flatten().min();
                    hi = [hi, h].into_iter().flatten().max();
                    let row = segs
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["partition"] == n && s["base_offset"] == base)
                        .unwrap_or_else(|| panic!("{what}: no segment row for {base}"));
                    assert_eq!(row["records"], r, "{what}/{base}: segments list");
                    assert_eq!(row["first_timestamp"].as_i64(), l, "{what}/{base}");
                    assert_eq!(row["last_timestamp"].as_i64(), h, "{what}/{base}");
                }
                let span =
                    p["log_end_offset"].as_i64().unwrap() - p["log_start_offset"].as_i64().unwrap();
                compacted_seen |= span > records as i64 && records > 0;
                assert_eq!(p["records"], records, "{what}: records");
                assert_eq!(p["first_timestamp"].as_i64(), lo, "{what}: first timestamp");
                assert_eq!(p["last_timestamp"].as_i64(), hi, "{what}: last timestamp");
                topic_records += records;
            }
            assert_eq!(t["records"], topic_records, "{d}: {name}: topics list");
        }
    }
    assert!(
        compacted_seen && legacy_seen,
        "the fixtures cover both cases"
    );
}
