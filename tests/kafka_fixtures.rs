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
//!    broker-written partition directories.
//!
//! The fixtures live outside the crate: when `../shared/fixtures` is absent every test prints a
//! note to stderr and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use klog::format::batch::{Peek, encode_batch, peek_entry};
use klog::format::{
    BatchHeader, Compression, DecodeError, RecordBatch, TimestampType, partition_for_key,
};
use klog::storage::LogReader;
use klog::storage::file_names::{self, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use klog::storage::index::{FileSource, offset_entries, time_entries};

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

/// `../shared/fixtures`, or `None` (after saying so on stderr) when it is not there.
fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures"));
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        eprintln!("skipping: ../shared/fixtures not found");
        None
    }
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
            Rec {
                offset: batch.offset_of(&r),
                timestamp: batch.timestamp_of(&r),
                key: r.key.map(<[u8]>::to_vec),
                value: r.value.map(<[u8]>::to_vec),
                headers: r
                    .headers
                    .iter()
                    .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
                    .collect(),
            }
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

/// Minimal standard base64 (RFC 4648, with or without padding) for `expected.json`.
fn base64(s: &str) -> Vec<u8> {
    let sextet = |c: u8| -> u32 {
        (match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {s:?}"),
        }) as u32
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s.trim_end_matches('=').as_bytes() {
        acc = (acc << 6) | sextet(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
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
