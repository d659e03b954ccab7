//! Damage that a crash cannot leave: bytes flipped below the recovery point, and batches whose
//! checksum holds but whose offsets or record counts are impossible. Every such case is
//! reported by `segments verify` (exit 3), stops `consume` with an error (exit 1) after the
//! records before it, makes `produce` refuse to append (exit 1, naming the file and position
//! and pointing at `segments verify --repair`) without cutting a byte, and is cut only by
//! `--repair`, which keeps every later batch at its offsets.

use std::fs;

use klog::format::batch::{BatchHeader, encode_batch, set_base_offset};
use klog::format::record::Record;

use crate::util::{TestDir, assert_error, frames, segment_bases, segment_file};

/// `segments verify` found damage: exit 3, and no panic.
fn assert_damage_found(out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "verify: {out:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A CRC-valid batch of one-letter values with these offset deltas (and `last_delta`),
/// placed at `base`.
fn crafted(base: i64, deltas: &[i32], last_delta: i32) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let records: Vec<Record<'_>> = deltas
        .iter()
        .map(|&d| Record {
            attributes: 0,
            timestamp_delta: d as i64,
            offset_delta: d,
            key: None,
            value: Some(b"x"),
            headers: Vec::new(),
        })
        .collect();
    let header = BatchHeader {
        last_offset_delta: last_delta,
        base_timestamp: now,
        max_timestamp: now + last_delta as i64,
        ..BatchHeader::default()
    };
    let mut b = encode_batch(&header, &records);
    set_base_offset(&mut b, base);
    b
}

/// Files and sizes of a partition directory, to show that nothing was cut.
fn sizes(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().expect("stat").len(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The checks every kind of damage here must pass: consume prints `before` and exits 1,
/// verify exits 3, produce refuses and changes no `.log`; then `--repair` makes verify clean,
/// the log reads `after_repair`, and produce appends after it.
fn damage_is_refused_then_repaired(t: &TestDir, before: &[&str], after_repair: &[&str]) {
    let dir = t.partition_dir("t", 0);
    let out = t.run(&["consume", "t"]);
    let err = assert_error(&out, 1);
    assert!(err.contains(".log"), "names the file: {err}");
    assert!(
        err.contains("segments verify"),
        "hints at the repair: {err}"
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(printed.lines().collect::<Vec<_>>(), before, "consume");
    assert_damage_found(&t.run(&["segments", "verify", "t"]));
    let files = sizes(&dir);
    let out = t
        .klog()
        .args(["produce", "t"])
        .write_stdin("new\n")
        .output()
        .expect("run produce");
    let err = assert_error(&out, 1);
    assert!(
        err.contains(".log") && err.contains("segments verify") && err.contains("--repair"),
        "produce names the damage and the repair: {err}"
    );
    assert_eq!(sizes(&dir), files, "produce cut nothing");
    t.ok(&["segments", "verify", "t", "--repair"]);
    t.ok(&["segments", "verify", "t"]);
    let out = t
        .klog()
        .args(["produce", "t", "-q"])
        .write_stdin("new\n")
        .output()
        .expect("run produce");
    assert!(out.status.success(), "{out:?}");
    let mut all = after_repair.to_vec();
    all.push("new");
    assert_eq!(t.consume("t", &[]), all, "after the repair");
}

/// Regression: three single-record produces (recovery point 3), a group at 3, one byte of the
/// second record flipped. The next produce "recovered" by cutting from the damaged batch to
/// the end, the valid third record included, and wrote new records at offsets 1 and 2, which
/// the group never saw; `consume` meanwhile exited 0 after one record.
#[test]
fn regression_damage_below_the_recovery_point_is_never_cut() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t"]);
    for v in ["a", "b", "c"] {
        t.produce("t", format!("{v}\n"), &["-q"]);
    }
    t.ok(&["consume", "t", "-g", "g", "-q"]);
    let log = segment_file(&t.partition_dir("t", 0), 0, ".log");
    let mut bytes = fs::read(&log).expect("read log");
    let second = frames(&bytes)[1];
    // The last byte of the second batch is the record's (empty) header count: flip the
    // value's byte before it.
    bytes[(second.position + second.size - 2) as usize] ^= 0x01;
    fs::write(&log, &bytes).expect("damage");
    damage_is_refused_then_repaired(&t, &["a"], &["a", "c"]);
    // Offsets never changed: the group, at 3, sees only what came after the repair.
    assert_eq!(t.consume("t", &["-g", "g", "-F", "%o %s\\n"]), ["3 new"]);
}

/// Regression: a CRC-valid batch whose records' offset deltas are 0, 0, 0 made consume print
/// one record of three and exit 0, and verify call the segment ok.
#[test]
fn regression_offset_deltas_out_of_order_are_damage() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t"]);
    t.produce("t", "a\n", &["-q"]);
    let log = segment_file(&t.partition_dir("t", 0), 0, ".log");
    let mut bytes = fs::read(&log).expect("read log");
    bytes.extend(crafted(1, &[0, 0, 0], 2));
    fs::write(&log, &bytes).expect("append the crafted batch");
    let out = t.run(&["segments", "verify", "t"]);
    assert_damage_found(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("offset delta"),
        "{out:?}"
    );
    let out = t.run(&["consume", "t"]);
    assert_error(&out, 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().next(),
        Some("a")
    );
    t.ok(&["segments", "verify", "t", "--repair"]);
    t.ok(&["segments", "verify", "t"]);
    assert_eq!(t.consume("t", &[]), ["a"]);
}

/// Regression: the first batch of the active segment with a records count of -1 and a base
/// offset of -100 (the count under the CRC, the offset outside it): consume printed nothing
/// with exit 0 and `topics describe` said the log ended at 0.
#[test]
fn regression_an_impossible_first_batch_is_damage() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t"]);
    t.produce("t", "a\nb\n", &["-q"]);
    let log = segment_file(&t.partition_dir("t", 0), 0, ".log");
    let mut bytes = fs::read(&log).expect("read log");
    let first = frames(&bytes)[0];
    // records count = -1, then a CRC that holds again, then the base offset.
    bytes[57..61].copy_from_slice(&(-1i32).to_be_bytes());
    let crc = klog::format::batch::compute_crc(&bytes[..first.size as usize]);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    set_base_offset(&mut bytes, -100);
    fs::write(&log, &bytes).expect("damage");
    let out = t.run(&["topics", "describe", "t", "--json"]);
    assert!(
        !out.status.success()
            || !String::from_utf8_lossy(&out.stdout).contains("\"log_end_offset\":0"),
        "describe must not report the log as ending at 0: {out:?}"
    );
    damage_is_refused_then_repaired(&t, &[], &[]);
}

/// Regression: two segments whose offsets overlap (0..=9 and 5..=14): verify flagged it, but
/// consume, re-checking the first batch reaching into the second segment, sought its offset
/// again, landed in the second segment and silently took 5..=9 from there.
#[test]
fn regression_overlapping_segments_stop_consume() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t"]);
    let dir = t.partition_dir("t", 0);
    for half in [0..5, 5..10] {
        let input: String = half.map(|i| format!("a{i}\n")).collect();
        t.produce("t", input, &["-q"]);
    }
    t.ok(&["segments", "roll", "t", "-q"]);
    // The second segment claims offsets 5..=14: one crafted batch of ten records.
    let deltas: Vec<i32> = (0..10).collect();
    let mut batch = crafted(5, &deltas, 9);
    set_base_offset(&mut batch, 5);
    fs::remove_file(segment_file(&dir, 10, ".log")).expect("remove the empty segment");
    let _ = fs::remove_file(segment_file(&dir, 10, ".index"));
    let _ = fs::remove_file(segment_file(&dir, 10, ".timeindex"));
    fs::write(segment_file(&dir, 5, ".log"), &batch).expect("write the overlapping segment");
    assert_eq!(segment_bases(&dir), [0, 5]);
    let out = t.run(&["consume", "t"]);
    assert_error(&out, 1);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        ["a0", "a1", "a2", "a3", "a4"],
        "consume stops at the first batch reaching into the next segment"
    );
    assert_damage_found(&t.run(&["segments", "verify", "t"]));
}

/// Regression: a segment named 100 holding offsets 0..=9 was deleted whole by the next
/// produce.
#[test]
fn regression_a_segment_below_its_name_is_not_deleted_by_produce() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t"]);
    let dir = t.partition_dir("t", 0);
    fs::create_dir_all(&dir).expect("partition dir");
    let deltas: Vec<i32> = (0..10).collect();
    fs::write(segment_file(&dir, 100, ".log"), crafted(0, &deltas, 9)).expect("write");
    let files = sizes(&dir);
    let out = t
        .klog()
        .args(["produce", "t"])
        .write_stdin("new\n")
        .output()
        .expect("run produce");
    assert_error(&out, 1);
    assert_eq!(sizes(&dir), files, "produce deleted nothing");
    assert_error(&t.run(&["consume", "t"]), 1);
    assert_damage_found(&t.run(&["segments", "verify", "t"]));
}

/// Regression: a FIFO named like a segment (or its index) hung every reader in `open`, and a
/// blocked consume ignored Ctrl-C. Non-regular files are refused with an error naming them,
/// at once.
#[test]
fn regression_a_fifo_named_like_a_segment_is_refused_not_waited_for() {
    for name in ["00000000000000000005.log", "00000000000000000000.index"] {
        let t = TestDir::new();
        t.ok(&["topics", "create", "t"]);
        t.produce("t", "a\nb\nc\nd\ne\n", &["-q"]);
        t.ok(&["segments", "roll", "t", "-q"]);
        let dir = t.partition_dir("t", 0);
        let fifo = dir.join(name);
        let _ = fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(made.success());
        let quick = std::time::Duration::from_secs(20);
        for args in [
            &["consume", "t"][..],
            &["consume", "t", "-o", "3"],
            &["segments", "verify", "t"],
            &["topics", "describe", "t"],
        ] {
            let out = t.klog().args(args).timeout(quick).output().expect("run");
            let stderr = String::from_utf8_lossy(&out.stderr);
            if name.ends_with(".log") {
                assert!(
                    !out.status.success() && out.status.code().is_some(),
                    "{name} {args:?}: {out:?}"
                );
                assert!(stderr.contains("FIFO"), "{name} {args:?}: {stderr}");
            } else {
                // An index is only a hint: readers go on without it.
                assert!(out.status.code().is_some(), "{name} {args:?} hung: {out:?}");
            }
        }
        let out = t
            .klog()
            .args(["produce", "t"])
            .write_stdin("x\n")
            .timeout(quick)
            .output()
            .expect("run produce");
        if name.ends_with(".log") {
            let stderr = assert_error(&out, 1);
            assert!(stderr.contains("FIFO"), "{name}: {stderr}");
        } else {
            // The writer rebuilds a closed segment's unusable index from its log.
            assert!(out.status.success(), "{name}: {out:?}");
            t.ok(&["segments", "verify", "t"]);
        }
    }
}

/// Regression: a read error repeated its text (`crc mismatch at byte 3800 …: crc mismatch at
/// byte 3800 …`), and its hint said a torn tail is cut at the next append although the damage
/// was in a closed segment in the middle of the log, which nothing but `--repair` cuts.
#[test]
fn regression_read_errors_say_it_once_and_hint_at_the_repair() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "t"]);
    for v in ["a", "b", "c"] {
        t.produce("t", format!("{v}\n"), &["-q"]);
        t.ok(&["segments", "roll", "t", "-q"]);
    }
    let log = segment_file(&t.partition_dir("t", 0), 1, ".log");
    let mut bytes = fs::read(&log).expect("read the middle segment");
    let end = bytes.len() - 2;
    bytes[end] ^= 0x01;
    fs::write(&log, &bytes).expect("damage");
    let out = t.run(&["consume", "t"]);
    let stderr = assert_error(&out, 1);
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(first.matches("crc mismatch").count(), 1, "{stderr}");
    assert!(first.contains("00000000000000000001.log"), "{stderr}");
    let hint = stderr.lines().nth(1).unwrap_or_default();
    assert!(
        hint.contains("klog segments verify t -p 0 --repair") && !hint.contains("torn tail"),
        "{stderr}"
    );
}
