//! Item 12: `topics list|describe` and `segments list` count the records there are (compacted
//! partitions too) and give magic 0/1 logs their real first and last timestamps.

use std::path::Path;

use klog::format::batch::{Peek, peek_entry};
use klog::format::legacy::{self, LegacyMessage};
use klog::format::{DECOMPRESS_LIMIT, RecordBatch};
use klog::storage::file_names::LOG_SUFFIX;

use crate::util::*;

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
