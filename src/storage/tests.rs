//! Engine tests: append, roll, read back, recovery of torn tails, index rebuild.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::format::BatchBuilder;

/// A config with these overrides; retention is off unless asked for, since the tests use
/// small made-up timestamps that retention.ms would find ancient.
fn config(overrides: &[(&str, &str)]) -> LogConfig {
    let mut m = BTreeMap::new();
    m.insert("retention.ms".to_string(), "-1".to_string());
    m.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    LogConfig::from_overrides(&m).unwrap()
}

fn batch(values: &[String], ts: i64) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for v in values {
        b.append(ts, None, Some(v.as_bytes()), &[]);
    }
    b.finish()
}

/// Every (offset, value) in the log, read from the start.
fn read_all(dir: &Path) -> Vec<(i64, String)> {
    read_from(dir, 0)
}

fn read_from(dir: &Path, offset: i64) -> Vec<(i64, String)> {
    let mut r = LogReader::open(dir).unwrap();
    r.seek(offset).unwrap();
    let mut out = Vec::new();
    while let Some(b) = r.next_batch().unwrap() {
        let batch = b.batch.as_batch().unwrap();
        for rec in batch.records().unwrap() {
            let rec = rec.unwrap();
            let off = batch.offset_of(&rec);
            if off >= offset {
                out.push((off, String::from_utf8(rec.value.unwrap().to_vec()).unwrap()));
            }
        }
    }
    out
}

fn values(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("value-{i:06}")).collect()
}

#[test]
fn append_assigns_dense_offsets_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(&[])).unwrap();
    let a = log.append(&mut batch(&values(0..3), 1000)).unwrap();
    let b = log.append(&mut batch(&values(3..5), 1001)).unwrap();
    assert_eq!((a.base_offset, a.last_offset), (0, 2));
    assert_eq!((b.base_offset, b.last_offset), (3, 4));
    assert_eq!(log.log_end_offset().unwrap(), 5);
    let got = read_all(dir.path());
    assert_eq!(got.len(), 5);
    assert_eq!(got[4], (4, "value-000004".to_string()));
}

#[test]
fn rolls_on_segment_bytes_and_indexes_sparsely() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        config(&[("segment.bytes", "20000"), ("index.interval.bytes", "1000")]),
    )
    .unwrap();
    for i in 0..200 {
        log.append(&mut batch(&values(i * 10..i * 10 + 10), 1000 + i as i64))
            .unwrap();
    }
    drop(log);
    let segs = list_segments(dir.path()).unwrap();
    assert!(segs.len() >= 3, "{segs:?}");
    assert_eq!(segs[0], 0);
    // Closed segments have trimmed indexes with entries, the active one is preallocated.
    let idx = std::fs::metadata(file_names::index_file(dir.path(), segs[0])).unwrap();
    assert!(idx.len() > 0 && idx.len().is_multiple_of(8) && idx.len() < 20000 / 1000 * 8 + 8);
    let tidx = std::fs::metadata(file_names::time_index_file(dir.path(), segs[0])).unwrap();
    assert_eq!(tidx.len() % 12, 0);
    assert!(tidx.len() >= idx.len() / 8 * 12);
    // Every segment name is its first offset; everything reads back in order.
    let all = read_all(dir.path());
    assert_eq!(all.len(), 2000);
    assert!(all.iter().enumerate().all(|(i, (o, _))| *o == i as i64));
    // Seeking to any offset lands on it.
    for target in [0, 1, 9, 10, 777, 1500, 1999] {
        let got = read_from(dir.path(), target);
        assert_eq!(got.first().unwrap().0, target);
        assert_eq!(got.len(), 2000 - target as usize);
    }
    assert!(read_from(dir.path(), 2000).is_empty());
    // Timestamps: batch i has timestamp 1000 + i, so the first record at 1100 is offset 1000.
    let mut r = LogReader::open(dir.path()).unwrap();
    assert_eq!(r.offset_for_timestamp(1100).unwrap(), Some(1000));
    assert_eq!(r.offset_for_timestamp(0).unwrap(), Some(0));
    assert_eq!(r.offset_for_timestamp(5000).unwrap(), None);
}

#[test]
fn a_segment_cut_at_every_byte_of_its_last_batch_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&[("index.interval.bytes", "100")]);
    let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
    for i in 0..20 {
        log.append(&mut batch(&values(i * 3..i * 3 + 3), 5))
            .unwrap();
    }
    log.flush().unwrap();
    // The last batch is the one being written when the writer dies (no flush, no Drop).
    let last = log.append(&mut batch(&values(60..63), 5)).unwrap();
    std::mem::forget(log);
    let log_path = file_names::log_file(dir.path(), 0);
    let full = std::fs::read(&log_path).unwrap();
    let index_path = file_names::index_file(dir.path(), 0);
    let index_bytes = std::fs::read(&index_path).unwrap();
    let rp_path = dir.path().join(super::log::RECOVERY_POINT_FILE);
    let rp_bytes = std::fs::read(&rp_path).unwrap();
    for cut in last.position..full.len() as u64 {
        std::fs::write(&log_path, &full[..cut as usize]).unwrap();
        std::fs::write(&index_path, &index_bytes).unwrap();
        std::fs::write(&rp_path, &rp_bytes).unwrap();
        // Readers see only the complete batches, without any lock.
        assert_eq!(read_all(dir.path()).len(), 60, "cut at {cut}");
        let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), 60, "cut at {cut}");
        assert_eq!(std::fs::metadata(&log_path).unwrap().len(), last.position);
        let next = log.append(&mut batch(&values(100..101), 5)).unwrap();
        assert_eq!(next.base_offset, 60);
        drop(log);
        let all = read_all(dir.path());
        assert_eq!(all.len(), 61);
        assert_eq!(all[60], (60, "value-000100".to_string()));
    }
}

#[test]
fn garbage_after_the_recovery_point_is_cut_and_indexes_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&[("index.interval.bytes", "10")]);
    let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
    for i in 0..10 {
        log.append(&mut batch(&values(i..i + 1), 5)).unwrap();
    }
    log.flush().unwrap();
    let end = std::fs::metadata(file_names::log_file(dir.path(), 0))
        .unwrap()
        .len();
    for i in 10..20 {
        log.append(&mut batch(&values(i..i + 1), 5)).unwrap();
    }
    // Simulate lost writes after the flush: zeros over the unflushed tail.
    std::mem::forget(log);
    let path = file_names::log_file(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let tail = end as usize + 30;
    bytes[tail..].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    let mut log = Log::open(dir.path(), cfg).unwrap();
    let leo = log.log_end_offset().unwrap();
    assert_eq!(leo, 10, "only the flushed batches survive the zeroed tail");
    let cut = log.take_truncations();
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0].position, end);
    assert_eq!(
        log.append(&mut batch(&values(50..51), 5))
            .unwrap()
            .base_offset,
        10
    );
}

#[test]
fn two_writers_in_one_process_keep_offsets_dense() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&[("segment.bytes", "3000")]);
    let mut a = Log::open(dir.path(), cfg.clone()).unwrap();
    let mut b = Log::open(dir.path(), cfg).unwrap();
    let mut seen = Vec::new();
    for i in 0..100 {
        let w = if i % 3 == 0 { &mut a } else { &mut b };
        let info = w.append(&mut batch(&values(i * 2..i * 2 + 2), 5)).unwrap();
        seen.push(info.base_offset);
    }
    assert_eq!(seen, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    drop((a, b));
    let all = read_all(dir.path());
    assert_eq!(all.len(), 200);
    assert!(all.iter().enumerate().all(|(i, (o, _))| *o == i as i64));
}

#[test]
fn oversized_batches_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(&[("max.message.bytes", "100")])).unwrap();
    let big = vec!["x".repeat(200)];
    assert!(matches!(
        log.append(&mut batch(&big, 5)),
        Err(crate::Error::RecordTooLarge { .. })
    ));
    assert!(read_all(dir.path()).is_empty());
}

#[test]
fn log_append_time_is_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        config(&[("message.timestamp.type", "LogAppendTime")]),
    )
    .unwrap();
    let info = log.append(&mut batch(&values(0..2), 5)).unwrap();
    assert!(info.max_timestamp > 1_600_000_000_000);
    let mut r = LogReader::open(dir.path()).unwrap();
    let b = r.next_batch().unwrap().unwrap();
    assert_eq!(
        b.batch.as_batch().unwrap().header.max_timestamp,
        info.max_timestamp
    );
}

#[test]
fn missing_or_damaged_closed_indexes_are_rebuilt_identically() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&[("segment.bytes", "6000"), ("index.interval.bytes", "500")]);
    let mut log = Log::open(dir.path(), cfg.clone()).unwrap();
    for i in 0..100 {
        log.append(&mut batch(&values(i * 4..i * 4 + 4), 100 + i as i64))
            .unwrap();
    }
    drop(log);
    let segs = list_segments(dir.path()).unwrap();
    assert!(segs.len() >= 3);
    // The last closed segment is the one a crash during a roll can leave damaged: the next
    // writer rebuilds its indexes. Older ones are left to `verify --repair`.
    let last_closed = segs[segs.len() - 2];
    let idx = file_names::index_file(dir.path(), last_closed);
    let tidx = file_names::time_index_file(dir.path(), last_closed);
    let old_idx = file_names::index_file(dir.path(), segs[0]);
    let (orig_idx, orig_tidx, orig_old) = (
        std::fs::read(&idx).unwrap(),
        std::fs::read(&tidx).unwrap(),
        std::fs::read(&old_idx).unwrap(),
    );
    assert!(!orig_idx.is_empty() && !orig_tidx.is_empty() && !orig_old.is_empty());
    std::fs::remove_file(&idx).unwrap();
    let mut damaged = orig_tidx.clone();
    damaged.truncate(damaged.len() - 5);
    std::fs::write(&tidx, &damaged).unwrap();
    std::fs::remove_file(&old_idx).unwrap();
    // Readers still find every offset without the indexes.
    assert_eq!(read_from(dir.path(), 3).first().unwrap().0, 3);
    assert_eq!(
        read_from(dir.path(), last_closed + 1).first().unwrap().0,
        last_closed + 1
    );
    let mut log = Log::open(dir.path(), cfg).unwrap();
    log.append(&mut batch(&values(0..1), 500)).unwrap();
    drop(log);
    assert_eq!(std::fs::read(&idx).unwrap(), orig_idx);
    assert_eq!(std::fs::read(&tidx).unwrap(), orig_tidx);
    assert!(!old_idx.exists());
    crate::storage::verify::repair_partition(dir.path(), 500).unwrap();
    assert_eq!(std::fs::read(&old_idx).unwrap(), orig_old);
}

#[test]
fn rolls_when_relative_offsets_would_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(&[])).unwrap();
    log.append(&mut batch(&values(0..1), 5)).unwrap();
    // A batch whose last offset delta would take the segment past i32::MAX relative offsets.
    let one = batch(&values(1..2), 5);
    let decoded = crate::format::RecordBatch::decode(&one).unwrap();
    let mut h = decoded.header;
    h.last_offset_delta = i32::MAX;
    let recs: Vec<_> = decoded.records().unwrap().map(Result::unwrap).collect();
    let mut rebuilt = crate::format::batch::encode_batch(&h, &recs);
    let info = log.append(&mut rebuilt).unwrap();
    assert_eq!(info.base_offset, 1);
    assert_eq!(info.segment_base, 1, "the batch went to a new segment");
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 1]);
}

#[test]
fn rolls_on_segment_ms_measured_in_record_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(&[("segment.ms", "1000")])).unwrap();
    log.append(&mut batch(&values(0..1), 10_000)).unwrap();
    log.append(&mut batch(&values(1..2), 10_500)).unwrap();
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0]);
    log.append(&mut batch(&values(2..3), 11_001)).unwrap();
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 2]);
}

#[test]
fn rolls_when_the_offset_index_is_full() {
    let dir = tempfile::tempdir().unwrap();
    // Room for 2 offset index entries (16 bytes) and an entry every batch.
    let mut log = Log::open(
        dir.path(),
        config(&[("segment.index.bytes", "24"), ("index.interval.bytes", "0")]),
    )
    .unwrap();
    for i in 0..4 {
        log.append(&mut batch(&values(i..i + 1), 5)).unwrap();
    }
    let segs = list_segments(dir.path()).unwrap();
    assert!(segs.len() >= 2, "{segs:?}");
    assert_eq!(read_all(dir.path()).len(), 4);
}

/// A log of `n` one-record batches of ~100 bytes, timestamps `ts(i)`, segments of ~1000 bytes.
fn segmented_log(dir: &Path, n: usize, ts: impl Fn(usize) -> i64, extra: &[(&str, &str)]) -> Log {
    let mut o = vec![("segment.bytes", "1000")];
    o.extend_from_slice(extra);
    let mut log = Log::open(dir, config(&o)).unwrap();
    for i in 0..n {
        let v = vec![format!("{i:0>90}")];
        log.append(&mut batch(&v, ts(i))).unwrap();
    }
    log
}

#[test]
fn trim_moves_the_log_start_and_deletes_whole_segments_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = segmented_log(dir.path(), 50, |_| 5, &[]);
    let before = list_segments(dir.path()).unwrap();
    assert!(before.len() > 3);
    let target = before[2] + 1; // inside the third segment
    let deleted = log.trim(target).unwrap();
    assert_eq!(
        deleted.iter().map(|d| d.base_offset).collect::<Vec<_>>(),
        before[..2]
    );
    assert_eq!(list_segments(dir.path()).unwrap(), before[2..]);
    assert_eq!(log.log_start_offset().unwrap(), target);
    let mut r = LogReader::open(dir.path()).unwrap();
    assert_eq!(r.log_start_offset(), target);
    assert_eq!(read_from(dir.path(), 0).first().unwrap().0, target);
    assert_eq!(read_all(dir.path()).len(), 50 - target as usize);
    assert_eq!(r.log_end_offset().unwrap(), 50);
    // Trimming lower is a no-op; past the end is refused.
    assert!(log.trim(1).unwrap().is_empty());
    assert!(matches!(log.trim(51), Err(crate::Error::Invalid(_))));
    // Trimming everything leaves an empty active segment at the log end; appends go on.
    log.trim(50).unwrap();
    assert_eq!(list_segments(dir.path()).unwrap(), vec![50]);
    assert!(read_all(dir.path()).is_empty());
    let info = log.append(&mut batch(&values(0..1), 5)).unwrap();
    assert_eq!(info.base_offset, 50);
}

#[test]
fn retention_bytes_deletes_the_oldest_closed_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = segmented_log(dir.path(), 60, |_| 5, &[]);
    let segs = list_segments(dir.path()).unwrap();
    let sizes: std::collections::HashMap<i64, u64> = segs
        .iter()
        .map(|&b| {
            (
                b,
                std::fs::metadata(file_names::log_file(dir.path(), b))
                    .unwrap()
                    .len(),
            )
        })
        .collect();
    let size = |b: i64| sizes[&b];
    let total: u64 = segs.iter().map(|&b| size(b)).sum();
    // Keep at most half: delete oldest while what remains without it is still >= the limit.
    let limit = total / 2;
    let mut c = log.config().clone();
    c.retention_bytes = limit as i64;
    let mut log2 = Log::open(dir.path(), c).unwrap();
    let deleted = log2.delete_old_segments(i64::MAX / 2).unwrap();
    let mut remaining = total;
    let mut want = Vec::new();
    for &b in &segs[..segs.len() - 1] {
        if remaining - size(b) >= limit {
            remaining -= size(b);
            want.push(b);
        } else {
            break;
        }
    }
    assert!(!want.is_empty());
    assert_eq!(
        deleted.iter().map(|d| d.base_offset).collect::<Vec<_>>(),
        want
    );
    assert_eq!(list_segments(dir.path()).unwrap(), segs[want.len()..]);
    assert_eq!(
        LogReader::open(dir.path()).unwrap().log_start_offset(),
        segs[want.len()]
    );
    drop(log);
}

#[test]
fn retention_ms_deletes_old_segments_and_runs_on_roll() {
    let dir = tempfile::tempdir().unwrap();
    let now = 10_000_000i64;
    // Records 0..30 are old (timestamp 1000), 30.. are recent.
    let log = segmented_log(
        dir.path(),
        60,
        |i| if i < 30 { 1000 } else { now },
        &[("retention.ms", "-1")],
    );
    let segs = list_segments(dir.path()).unwrap();
    let mut c = log.config().clone();
    c.retention_ms = 60_000;
    drop(log);
    let mut log = Log::open(dir.path(), c).unwrap();
    let deleted = log.delete_old_segments(now).unwrap();
    assert!(!deleted.is_empty());
    // Exactly the segments whose newest record is old.
    for d in &deleted {
        assert!(d.end_offset <= 30, "{d:?}");
    }
    let first_kept = list_segments(dir.path()).unwrap()[0];
    assert!(first_kept <= 30 && segs.contains(&first_kept));
    // Every segment with only old records went: the first kept one holds a recent record.
    let got = read_all(dir.path());
    assert_eq!(got.first().unwrap().0, first_kept);
}

#[test]
fn leftovers_of_an_interrupted_deletion_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let log = segmented_log(dir.path(), 30, |_| 5, &[]);
    drop(log);
    let segs = list_segments(dir.path()).unwrap();
    // Crash after renaming the .log: the index files are orphans, the .deleted file remains.
    let doomed = file_names::log_file(dir.path(), segs[0]);
    let mut renamed = doomed.clone().into_os_string();
    renamed.push(".deleted");
    std::fs::rename(&doomed, &renamed).unwrap();
    assert_eq!(read_all(dir.path()).first().unwrap().0, segs[1]);
    let mut log = Log::open(dir.path(), config(&[("segment.bytes", "1000")])).unwrap();
    log.append(&mut batch(&values(0..1), 5)).unwrap();
    assert!(!std::path::Path::new(&renamed).exists());
    assert!(!file_names::index_file(dir.path(), segs[0]).exists());
    assert!(!file_names::time_index_file(dir.path(), segs[0]).exists());
}

mod verify_and_repair {
    use super::*;
    use crate::storage::verify::{ProblemKind, Repair, repair_partition, verify_partition};

    /// 20 one-record batches, indexed every batch, in one segment; returns (positions, log).
    fn sample(dir: &Path) -> Vec<u64> {
        let mut log = Log::open(dir, config(&[("index.interval.bytes", "0")])).unwrap();
        let mut positions = Vec::new();
        for i in 0..20 {
            positions.push(
                log.append(&mut batch(&values(i..i + 1), 100 + i as i64))
                    .unwrap()
                    .position,
            );
        }
        drop(log);
        positions
    }

    #[test]
    fn a_clean_log_verifies_clean() {
        let dir = tempfile::tempdir().unwrap();
        sample(dir.path());
        let v = verify_partition(dir.path()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!((v.batches, v.records, v.segments), (20, 20, 1));
        assert!(repair_partition(dir.path(), 0).unwrap().is_empty());
    }

    #[test]
    fn a_flipped_byte_is_found_and_repair_keeps_every_other_batch_at_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let pos = sample(dir.path());
        let path = file_names::log_file(dir.path(), 0);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[pos[7] as usize + 40] ^= 0x10; // inside batch 7's header, under the CRC
        std::fs::write(&path, &bytes).unwrap();
        let v = verify_partition(dir.path()).unwrap();
        let p = v.problems.iter().find(|p| p.path == path).unwrap();
        assert_eq!((p.position, p.kind), (pos[7], ProblemKind::Corrupt));
        let repairs = repair_partition(dir.path(), 0).unwrap();
        assert!(repairs.contains(&Repair::Removed {
            path: path.clone(),
            position: pos[7],
            bytes: pos[8] - pos[7],
        }));
        assert!(repairs.iter().any(|r| matches!(
            r,
            Repair::Moved {
                first_offset: 8,
                last_offset: 19,
                ..
            }
        )));
        assert!(verify_partition(dir.path()).unwrap().problems.is_empty());
        let got: Vec<i64> = read_all(dir.path()).iter().map(|r| r.0).collect();
        let want: Vec<i64> = (0..20).filter(|&o| o != 7).collect();
        assert_eq!(got, want);
        // The writer carries on after the last offset.
        let mut log = Log::open(dir.path(), config(&[])).unwrap();
        assert_eq!(
            log.append(&mut batch(&values(0..1), 5))
                .unwrap()
                .base_offset,
            20
        );
    }

    #[test]
    fn a_truncated_tail_is_found_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let pos = sample(dir.path());
        let path = file_names::log_file(dir.path(), 0);
        let len = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 5).unwrap();
        let v = verify_partition(dir.path()).unwrap();
        assert!(
            v.problems.iter().any(|p| p.path == path
                && p.position == pos[19]
                && p.kind == ProblemKind::TornTail)
        );
        repair_partition(dir.path(), 0).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), pos[19]);
        assert_eq!(read_all(dir.path()).len(), 19);
        assert!(verify_partition(dir.path()).unwrap().problems.is_empty());
    }

    #[test]
    fn bogus_index_entries_and_time_index_disorder_are_found_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let pos = sample(dir.path());
        let idx = file_names::index_file(dir.path(), 0);
        let tidx = file_names::time_index_file(dir.path(), 0);
        let mut b = std::fs::read(&idx).unwrap();
        // Entry 2 claims a position inside a batch.
        b[2 * 8 + 4..2 * 8 + 8].copy_from_slice(&((pos[3] + 5) as u32).to_be_bytes());
        std::fs::write(&idx, &b).unwrap();
        let mut t = std::fs::read(&tidx).unwrap();
        // Entry 3's timestamp goes back before entry 2's.
        t[3 * 12..3 * 12 + 8].copy_from_slice(&1i64.to_be_bytes());
        std::fs::write(&tidx, &t).unwrap();
        let v = verify_partition(dir.path()).unwrap();
        assert!(
            v.problems
                .iter()
                .any(|p| p.path == idx && p.position == 16 && p.kind == ProblemKind::IndexEntry)
        );
        assert!(
            v.problems
                .iter()
                .any(|p| p.path == tidx && p.position == 36 && p.kind == ProblemKind::TimeIndex)
        );
        let repairs = repair_partition(dir.path(), 0).unwrap();
        assert!(
            repairs
                .iter()
                .all(|r| matches!(r, Repair::RebuiltIndex { .. }))
        );
        assert!(verify_partition(dir.path()).unwrap().problems.is_empty());
        assert_eq!(read_all(dir.path()).len(), 20);
    }

    /// Found by the `segment_recovery` fuzz target: a CRC-valid batch whose base offset (not
    /// covered by the CRC) is 2^40 past the segment base. Recovery and index rebuilds wrote its
    /// relative offset truncated to 32 bits, an index entry that verify then reported as out of
    /// order and repair rebuilt the same way, forever. Such a batch is read but not indexed.
    #[test]
    fn regression_segment_recovery_batch_beyond_the_relative_offset_range_is_not_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = batch(&values(0..1), 100);
        let mut second = batch(&values(1..3), 101);
        second[..8].copy_from_slice(&1i64.to_be_bytes());
        let far = (1i64 << 40) + 3;
        let mut third = batch(&values(3..4), 102);
        third[..8].copy_from_slice(&far.to_be_bytes());
        bytes.extend_from_slice(&second);
        bytes.extend_from_slice(&third);
        std::fs::create_dir_all(dir.path()).unwrap();
        std::fs::write(file_names::log_file(dir.path(), 0), &bytes).unwrap();

        let mut log = Log::open(dir.path(), config(&[("index.interval.bytes", "0")])).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), far + 1);
        assert!(log.take_truncations().is_empty());
        drop(log);
        let v = verify_partition(dir.path()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert!(repair_partition(dir.path(), 0).unwrap().is_empty());
        // Rebuilt from scratch, the indexes verify too.
        std::fs::remove_file(file_names::index_file(dir.path(), 0)).unwrap();
        std::fs::remove_file(file_names::time_index_file(dir.path(), 0)).unwrap();
        repair_partition(dir.path(), 0).unwrap();
        let v = verify_partition(dir.path()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        let offsets: Vec<i64> = read_all(dir.path()).iter().map(|r| r.0).collect();
        assert_eq!(offsets, [0, 1, 2, far]);
        assert_eq!(read_from(dir.path(), far).len(), 1);
        // The next append rolls to a segment of its own (its relative offset would not fit).
        let mut log = Log::open(dir.path(), config(&[])).unwrap();
        let info = log.append(&mut batch(&values(4..5), 103)).unwrap();
        assert_eq!((info.base_offset, info.segment_base), (far + 1, far + 1));
    }

    /// Found by the `segment_recovery` fuzz target: garbage at the start of a segment, then
    /// valid batches from the segment's base offset. Repair wanted to move them into a new
    /// segment named by their first offset, the damaged segment's own name, and failed
    /// ("… exists"). They stay where they are; only the garbage is cut.
    #[test]
    fn regression_segment_recovery_repair_of_garbage_before_the_first_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_names::log_file(dir.path(), 0);
        let garbage = b"not a batch \xff\xff\xff\xff\xff\xff\xff at all";
        let mut second = batch(&values(1..3), 101);
        second[..8].copy_from_slice(&1i64.to_be_bytes());
        let bytes = [&garbage[..], &batch(&values(0..1), 100), &second].concat();
        std::fs::write(&path, &bytes).unwrap();
        let v = verify_partition(dir.path()).unwrap();
        assert_eq!(v.problems.first().map(|p| p.position), Some(0));

        let repairs = repair_partition(dir.path(), 0).unwrap();
        assert!(repairs.contains(&Repair::Removed {
            path: path.clone(),
            position: 0,
            bytes: garbage.len() as u64,
        }));
        let v = verify_partition(dir.path()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(std::fs::read(&path).unwrap(), bytes[garbage.len()..]);
        assert_eq!(
            read_all(dir.path()),
            [
                (0, values(0..1)[0].clone()),
                (1, values(1..2)[0].clone()),
                (2, values(2..3)[0].clone())
            ]
        );
        let mut log = Log::open(dir.path(), config(&[])).unwrap();
        assert_eq!(
            log.append(&mut batch(&values(3..4), 102))
                .unwrap()
                .base_offset,
            3
        );
    }
}

/// Appends 64 KiB batches until `total` bytes are in; returns how many batches.
fn append_bytes(log: &mut Log, total: u64, first: usize) -> usize {
    let value = "x".repeat(64 * 1024);
    let mut appended = 0u64;
    let mut n = 0usize;
    while appended < total {
        let mut b = batch(std::slice::from_ref(&value), 1000 + (first + n) as i64);
        appended += b.len() as u64;
        log.append(&mut b).unwrap();
        n += 1;
    }
    n
}

#[test]
fn early_writeback_starts_after_writeback_bytes_and_changes_nothing_read() {
    use super::log::{WRITEBACK_BYTES, read_recovery_point};
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(&[])).unwrap();
    let mut n = append_bytes(&mut log, WRITEBACK_BYTES - 128 * 1024, 0);
    assert!(
        log.writeback.is_none(),
        "no writeback before {WRITEBACK_BYTES} bytes"
    );
    n += append_bytes(&mut log, 128 * 1024, n);
    assert!(
        log.writeback.is_some(),
        "a writeback after {WRITEBACK_BYTES} bytes"
    );
    assert_eq!(log.unwritten_back, 0);
    // Only a flush moves the recovery point.
    assert_eq!(read_recovery_point(dir.path()), None);
    log.flush().unwrap();
    assert_eq!(read_recovery_point(dir.path()), Some(n as i64));
    let got = read_all(dir.path());
    assert_eq!(got.len(), n);
    assert!(got.iter().all(|(_, v)| v.len() == 64 * 1024));
}

#[test]
fn no_early_writeback_for_what_flushes_and_rolls_cover() {
    use super::log::WRITEBACK_BYTES;
    // A flush after every batch (`--sync`, flush.messages=1), or a roll every 8 MiB: never
    // 16 MiB appended without an fsync, so never a writeback.
    for overrides in [
        &[("flush.messages", "1")][..],
        &[("segment.bytes", "8388608")][..],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config(overrides)).unwrap();
        let n = append_bytes(&mut log, 2 * WRITEBACK_BYTES, 0);
        assert!(log.writeback.is_none(), "{overrides:?}: a writeback");
        assert!(log.unwritten_back < WRITEBACK_BYTES, "{overrides:?}");
        // Nor blocks reserved ahead, which start with the early writeback.
        let segments = super::reader::list_segments(dir.path()).unwrap();
        for base in segments {
            assert_eq!(reserved_past_end(dir.path(), base), 0, "{overrides:?}");
        }
        assert_eq!(read_all(dir.path()).len(), n);
    }
}

/// Disk bytes allocated to segment `base`'s `.log`, and its length.
fn allocated_and_len(dir: &Path, base: i64) -> (u64, u64) {
    let meta = std::fs::metadata(super::file_names::log_file(dir, base)).unwrap();
    (super::fs::allocated_bytes(&meta), meta.len())
}

/// Whether the file system under `dir` can reserve blocks past a file's end.
fn can_reserve(dir: &Path) -> bool {
    let f = std::fs::File::create(dir.join("probe")).unwrap();
    let ok = super::fs::reserve_blocks(&f, 0, 1 << 20).is_ok();
    std::fs::remove_file(dir.join("probe")).unwrap();
    if !ok {
        eprintln!("skipped: this file system cannot reserve blocks (fallocate KEEP_SIZE)");
    }
    ok
}

/// Allocated space past the length, beyond what a file system's own rounding explains.
fn reserved_past_end(dir: &Path, base: i64) -> u64 {
    let (allocated, len) = allocated_and_len(dir, base);
    allocated.saturating_sub(len.next_multiple_of(64 * 1024))
}

#[test]
fn a_streaming_writer_reserves_blocks_ahead_and_gives_them_back() {
    use super::log::{RESERVE_AHEAD_BYTES, WRITEBACK_BYTES};
    let dir = tempfile::tempdir().unwrap();
    if !can_reserve(dir.path()) {
        return;
    }
    let mut log = Log::open(dir.path(), config(&[])).unwrap();
    // Nothing reserved before the first early writeback.
    let mut n = append_bytes(&mut log, WRITEBACK_BYTES - 128 * 1024, 0);
    assert_eq!(reserved_past_end(dir.path(), 0), 0);
    n += append_bytes(&mut log, 256 * 1024, n);
    let reserved = reserved_past_end(dir.path(), 0);
    assert!(
        reserved > RESERVE_AHEAD_BYTES / 2,
        "{reserved} bytes reserved past the end"
    );
    // The length is what was appended (batches of one size), and readers see just that.
    let one = batch(&["x".repeat(64 * 1024)], 1000).len() as u64;
    assert_eq!(allocated_and_len(dir.path(), 0).1, n as u64 * one);
    assert_eq!(read_all(dir.path()).len(), n);
    // A roll gives back what the old segment did not use; the new one reserves in turn.
    let next = log.roll().unwrap();
    assert_eq!(reserved_past_end(dir.path(), 0), 0, "after the roll");
    let m = append_bytes(&mut log, WRITEBACK_BYTES + 256 * 1024, n);
    assert!(reserved_past_end(dir.path(), next) > 0, "the new segment");
    // So does closing the writer.
    drop(log);
    assert_eq!(reserved_past_end(dir.path(), next), 0, "after close");
    assert_eq!(read_all(dir.path()).len(), n + m);
}

#[test]
fn loading_a_segment_gives_back_what_a_dead_writer_reserved() {
    let dir = tempfile::tempdir().unwrap();
    if !can_reserve(dir.path()) {
        return;
    }
    let mut log = Log::open(dir.path(), config(&[])).unwrap();
    log.append(&mut batch(&["a".to_string()], 1)).unwrap();
    drop(log);
    // What a writer killed while streaming leaves: blocks reserved past the end.
    let path = super::file_names::log_file(dir.path(), 0);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let len = f.metadata().unwrap().len();
    super::fs::reserve_blocks(&f, len, 8 << 20).unwrap();
    assert!(reserved_past_end(dir.path(), 0) >= 4 << 20);
    let mut log = Log::open(dir.path(), config(&[])).unwrap();
    log.append(&mut batch(&["b".to_string()], 2)).unwrap();
    assert_eq!(reserved_past_end(dir.path(), 0), 0);
    assert_eq!(read_all(dir.path()).len(), 2);
}

#[test]
fn background_flush_moves_the_recovery_point_to_where_it_started() {
    use super::log::{FLUSH_POLL, read_recovery_point};
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(&[("flush.ms", "0")])).unwrap();
    let vals = |n: usize| (0..n).map(|i| format!("v{i}")).collect::<Vec<_>>();
    log.append(&mut batch(&vals(3), 1)).unwrap();
    assert_eq!(log.maybe_flush_in_background().unwrap(), None);
    // In flight: appends go on, nothing else starts, and the writer is told to look soon.
    log.append(&mut batch(&vals(2), 1)).unwrap();
    assert_eq!(log.flush_due_in(), Some(FLUSH_POLL));
    assert_eq!(log.finish_background_flush().unwrap(), Some(3));
    assert_eq!(read_recovery_point(dir.path()), Some(3));
    // Nothing in flight any more; the two records appended meanwhile are due now.
    assert_eq!(log.finish_background_flush().unwrap(), None);
    assert_eq!(log.flush_due_in(), Some(std::time::Duration::ZERO));
    log.maybe_flush_in_background().unwrap();
    // A flush waits for the one in flight, then covers everything.
    log.append(&mut batch(&vals(1), 1)).unwrap();
    log.flush().unwrap();
    assert_eq!(read_recovery_point(dir.path()), Some(6));
    assert_eq!(log.flush_due_in(), None);
    // A background flush that started before a synchronous one never lowers its point.
    log.append(&mut batch(&vals(1), 1)).unwrap();
    log.maybe_flush_in_background().unwrap();
    log.append(&mut batch(&vals(1), 1)).unwrap();
    log.roll().unwrap();
    assert_eq!(read_recovery_point(dir.path()), Some(8));
    assert_eq!(log.finish_background_flush().unwrap(), Some(7));
    assert_eq!(read_recovery_point(dir.path()), Some(8));
    assert_eq!(read_all(dir.path()).len(), 8);
}

#[test]
fn a_failed_background_flush_counts_as_no_flush() {
    use super::failpoint::{self as fp, Action};
    use super::log::read_recovery_point;
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(&[("flush.ms", "0")])).unwrap();
    let vals: Vec<String> = (0..3).map(|i| format!("v{i}")).collect();
    log.append(&mut batch(&vals, 1)).unwrap();
    fp::reset();
    // The fsync fails (the disk said EIO): the writer is told, the recovery point stays.
    fp::arm("log.flush_background_done", 0, Action::Error);
    log.maybe_flush_in_background().unwrap();
    assert!(log.finish_background_flush().is_err());
    assert!(fp::fired());
    assert_eq!(read_recovery_point(dir.path()), None);
    // What it covered is unflushed again: the next flush fsyncs instead of returning at once.
    fp::reset();
    log.flush().unwrap();
    assert!(fp::trace().contains(&"log.fsync"), "{:?}", fp::trace());
    assert_eq!(read_recovery_point(dir.path()), Some(3));
    fp::reset();
}

/// A batch appended in parts around its value reads back as any other, at the next offset,
/// also where the topic stamps LogAppendTime (which changes the header and so the CRC).
#[test]
fn a_batch_appended_in_parts_reads_back() {
    for stamp in ["CreateTime", "LogAppendTime"] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config(&[("message.timestamp.type", stamp)])).unwrap();
        log.append(&mut batch(&values(0..2), 1000)).unwrap();
        let value = "v".repeat(100_000);
        let mut parts = crate::format::batch::BatchParts::new(1001, None, value.as_bytes(), &[]);
        let info = log.append_parts(&mut parts, value.as_bytes()).unwrap();
        assert_eq!((info.base_offset, info.last_offset), (2, 2));
        log.append(&mut batch(&values(3..4), 1002)).unwrap();
        drop(log);
        let all = read_all(dir.path());
        assert_eq!(all.len(), 4, "{stamp}");
        assert_eq!(all[2], (2, value.clone()), "{stamp}");
        let v = crate::storage::verify::verify_partition(dir.path()).unwrap();
        assert!(v.problems.is_empty(), "{stamp}: {:?}", v.problems);
    }
}
