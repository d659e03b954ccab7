//! Item 1: every non-empty magic-2 `.log` decodes completely (batches back to back, CRCs
//! valid, offsets increasing) with the counts and offset range SOURCES.md states; magic-1 logs
//! are framed by `peek_entry` to exactly their end; the KRaft snapshot `.checkpoint` files
//! decode too.

use std::collections::BTreeSet;

use klog::format::batch::{Peek, peek_entry};
use klog::format::{DecodeError, RecordBatch};
use klog::storage::file_names::{self, LOG_SUFFIX};

use crate::util::*;

/// KRaft snapshot files SOURCES.md gives counts for: (path, bytes, batches, records, first
/// offset, last offset). All other `.checkpoint` files are only checked to decode.
#[rustfmt::skip]
const CHECKPOINTS: &[(&str, usize, usize, usize, i64, i64)] = &[
    ("ronem123__rupia-transaction-service/kafka-logs/__cluster_metadata-0/00000000000000852953-0000000001.checkpoint", 4973, 3, 68, 0, 67),
    ("ronem123__rupia-transaction-service/kafka-logs/bootstrap.checkpoint", 355, 3, 6, 0, 5),
    ("andrei755006__patient-management-system/history/0f61f348c1/kafka/data/__cluster_metadata-0/00000000000000227430-0000000031.checkpoint", 991, 3, 12, 0, 11),
    ("andrei755006__patient-management-system/kafka/data/bootstrap.checkpoint", 309, 3, 5, 0, 4),
];

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
