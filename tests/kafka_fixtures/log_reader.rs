//! Item 7: `LogReader` reads, seeks, finds offsets by timestamp and the log end offset on
//! copies of broker-written partition directories.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use klog::storage::LogReader;
use klog::storage::file_names::{self, LOG_SUFFIX};
use klog::storage::index::{FileSource, offset_entries};

use crate::util::*;

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
