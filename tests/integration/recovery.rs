//! Torn tails: a `.log` cut anywhere inside its last batch (a writer killed mid-append, before
//! it fsynced that batch) must read as the complete batches before it, and the next append
//! must remove the torn bytes and continue at the right offset.

use std::fs::{self, OpenOptions};
use std::path::Path;

use crate::util::{
    Frame, Snapshot, TestDir, assert_success, decode_log, frames, klog_at, lines, numbered_lines,
    segment_bases, segment_file,
};

const LAST_BATCH: &str = "last-0\nlast-1\nlast-2\n";
const NEW_RECORD: &str = "new-record";

/// A one-partition topic written by one `klog produce` run per entry of `runs` (that many
/// records each), then one run of three short records: the last batch, under 128 bytes.
struct Pristine {
    t: TestDir,
    /// Records of every batch but the last.
    complete: Vec<String>,
    /// Every record.
    all: Vec<String>,
    last: Frame,
    len: u64,
}

fn pristine(runs: &[u64]) -> Pristine {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t"]);
    let mut complete = Vec::new();
    for (i, &n) in runs.iter().enumerate() {
        let (input, v) = numbered_lines(&format!("r{i}"), 0..n);
        t.produce("t", input, &["-q"]);
        complete.extend(v);
    }
    t.produce("t", LAST_BATCH, &["-q"]);
    let mut all = complete.clone();
    all.extend(lines(LAST_BATCH));

    let dir = t.partition_dir("t", 0);
    assert_eq!(segment_bases(&dir), [0], "one segment");
    let bytes = fs::read(segment_file(&dir, 0, ".log")).expect("read log");
    let fr = frames(&bytes);
    assert_eq!(fr.len(), runs.len() + 1, "one batch per produce run");
    let last = *fr.last().expect("a batch");
    assert_eq!(
        last.position + last.size,
        bytes.len() as u64,
        "whole batches only"
    );
    assert_eq!(last.base_offset, complete.len() as i64);
    assert!(last.size < 128, "last batch is small: {last:?}");
    Pristine {
        t,
        complete,
        all,
        last,
        len: bytes.len() as u64,
    }
}

/// Cuts the log at byte `at`, as a writer killed while appending the batch at offset
/// `flushed` leaves it: that batch torn, and its recovery point (the log end offset at its
/// last fsync) at `flushed`. (A cut below the recovery point is damage, not a crash: see
/// `damage.rs`.)
fn cut_log(data: &Path, at: u64, flushed: i64) {
    let dir = data.join("t-0");
    let log = segment_file(&dir, 0, ".log");
    let f = OpenOptions::new().write(true).open(&log).expect("open log");
    f.set_len(at).expect("truncate");
    fs::write(
        dir.join(".klog-recovery-point"),
        format!("{{\"recovery_point\":{flushed}}}"),
    )
    .expect("write the recovery point");
}

fn consume_at(data: &Path, extra: &[&str]) -> Vec<String> {
    let out = klog_at(data)
        .arg("consume")
        .arg("t")
        .args(extra)
        .output()
        .expect("run consume");
    assert_success(&out, &["consume", "t"]);
    lines(&String::from_utf8(out.stdout).expect("UTF-8"))
}

/// For every cut position from the start of the last batch to the end of the file: consume,
/// append one record, consume again, and check the bytes on disk.
fn every_cut(p: &Pristine) {
    let snapshot = Snapshot::take(p.t.data());
    let work = p.t.root().join("work");
    let mut new_batch_size = None;
    for cut in p.last.position..=p.len {
        snapshot.restore(&work);
        cut_log(&work, cut, p.last.base_offset);
        let intact = cut == p.len;
        let expected = if intact { &p.all } else { &p.complete };

        // A reader sees exactly the complete batches.
        let got = consume_at(&work, &[]);
        assert!(
            &got == expected,
            "cut at byte {cut}: consume printed {} records, expected {} (last: {:?})",
            got.len(),
            expected.len(),
            got.last()
        );

        // The next writer cuts the torn bytes, says so, and appends right after.
        let out = klog_at(&work)
            .args(["produce", "t"])
            .write_stdin(format!("{NEW_RECORD}\n"))
            .output()
            .expect("run produce");
        assert_success(&out, &["produce", "t"]);
        let note = String::from_utf8_lossy(&out.stderr);
        let torn = cut - p.last.position;
        if intact || torn == 0 {
            assert!(
                note.is_empty(),
                "cut at byte {cut}: unexpected stderr {note}"
            );
        } else {
            let unit = if torn == 1 { "byte" } else { "bytes" };
            assert!(
                note.contains(&format!("removed {torn} {unit} ")),
                "cut at byte {cut}: recovery note should say {torn} bytes: {note}"
            );
        }
        let log = segment_file(&work.join("t-0"), 0, ".log");
        let bytes = fs::read(&log).expect("read log");
        let fr = frames(&bytes);
        let appended = *fr.last().expect("a batch");
        let start = if intact { p.len } else { p.last.position };
        assert_eq!(
            appended.position, start,
            "cut at byte {cut}: the new batch must start where the complete batches end"
        );
        assert_eq!(
            appended.base_offset,
            expected.len() as i64,
            "cut at byte {cut}: offset of the new record"
        );
        assert_eq!(
            bytes.len() as u64,
            start + appended.size,
            "cut at byte {cut}: torn bytes left in the file"
        );
        assert_eq!(*new_batch_size.get_or_insert(appended.size), appended.size);

        // Readers see the complete records, then the new one, at the next offset.
        let mut want = expected.clone();
        want.push(NEW_RECORD.to_string());
        assert!(
            consume_at(&work, &[]) == want,
            "cut at byte {cut}: records after the append"
        );
        let n = expected.len().to_string();
        assert_eq!(
            consume_at(&work, &["-o", &n, "-n", "1"]),
            [NEW_RECORD],
            "cut at byte {cut}: record at offset {n}"
        );
    }
}

#[test]
fn torn_tail_every_cut_position() {
    // Small batches: the segment stays below index.interval.bytes, so nothing is indexed.
    let p = pristine(&[20, 20, 20, 20]);
    let index = segment_file(&p.t.partition_dir("t", 0), 0, ".index");
    let entries = fs::read(index).expect("index");
    assert!(
        entries.iter().all(|&b| b == 0),
        "no offset index entry expected"
    );
    every_cut(&p);
}

/// Batches larger than index.interval.bytes (4096): every batch after the first, the torn
/// last one included, has an offset index entry.
fn indexed_pristine() -> Pristine {
    let p = pristine(&[400, 400, 400]);
    let index = segment_file(&p.t.partition_dir("t", 0), 0, ".index");
    let entries = fs::read(index).expect("index");
    let used = entries
        .chunks(8)
        .take_while(|e| e.iter().any(|&b| b != 0))
        .count();
    assert!(used > 0, "the segment has offset index entries");
    let last_entry = &entries[(used - 1) * 8..used * 8];
    let rel = u32::from_be_bytes(last_entry[..4].try_into().expect("4 bytes"));
    let pos = u32::from_be_bytes(last_entry[4..].try_into().expect("4 bytes"));
    assert_eq!(
        (rel as usize, pos as u64),
        (p.all.len() - 1, p.last.position),
        "the last batch is indexed"
    );
    p
}

#[test]
fn torn_tail_every_cut_position_when_last_batch_is_indexed() {
    every_cut(&indexed_pristine());
}

#[test]
fn append_after_torn_indexed_batch_gets_the_next_offset() {
    let p = indexed_pristine();
    // Header intact (61 bytes), records torn: the index entry still matches the header.
    cut_log(p.t.data(), p.last.position + 62, p.last.base_offset);
    p.t.produce("t", format!("{NEW_RECORD}\n"), &["-q"]);
    let batches = decode_log(&segment_file(&p.t.partition_dir("t", 0), 0, ".log"));
    let bases: Vec<i64> = batches.iter().map(|b| b.base_offset).collect();
    assert_eq!(
        bases,
        [0, 400, 800, 1200],
        "base offsets after recovery and one append"
    );
    assert_eq!(batches[3].position, p.last.position);
}

#[test]
fn reader_sees_complete_batches_before_a_torn_indexed_batch() {
    let p = indexed_pristine();
    cut_log(p.t.data(), p.last.position + 62, p.last.base_offset);
    let d = p.t.describe("t");
    assert_eq!(d["partitions"][0]["log_end_offset"], 1200);
    assert_eq!(p.t.consume("t", &[]).len(), 1200);
}
