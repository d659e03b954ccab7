//! Item 6: broker-written `.index`/`.timeindex` entries agree with the batches they point at.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use klog::format::BatchHeader;
use klog::storage::file_names::{self, INDEX_SUFFIX, TIME_INDEX_SUFFIX};
use klog::storage::index::{FileSource, offset_entries, time_entries};

use crate::util::*;

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
