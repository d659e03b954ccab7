//! What klog leaves on disk: segment rolls, file names, index sizes, and `.log` files that are
//! Kafka's v2 record batches back to back.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::util::{
    PREALLOCATED_INDEX, PREALLOCATED_TIME_INDEX, TestDir, decode_log, file_len, numbered_lines,
    segment_bases, segment_file,
};

/// The entries of an index file that are not preallocated zeros, as big-endian byte chunks.
fn used_entries(path: &Path, size: usize) -> Vec<Vec<u8>> {
    let bytes = fs::read(path).expect("read index");
    assert_eq!(bytes.len() % size, 0, "{} length", path.display());
    bytes
        .chunks(size)
        .take_while(|e| e.iter().any(|&b| b != 0))
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn small_segment_bytes_rolls_segments_named_by_their_first_offset() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "r", "-c", "segment.bytes=4096"]);
    let mut produced = Vec::new();
    for run in 0..30 {
        let (input, v) = numbered_lines(&format!("run{run:02}"), 0..40);
        t.produce("r", input, &[]);
        produced.extend(v);
    }
    let dir = t.partition_dir("r", 0);
    let bases = segment_bases(&dir);
    assert!(bases.len() >= 4, "several segments: {bases:?}");

    assert!(
        t.consume("r", &[]) == produced,
        "consume returns everything, in order"
    );

    let mut next = 0i64;
    for (i, &base) in bases.iter().enumerate() {
        let active = i + 1 == bases.len();
        let log = segment_file(&dir, base, ".log");
        let batches = decode_log(&log);
        assert!(!batches.is_empty(), "segment {base} is empty");
        // Named by its first offset, which follows the previous segment's last offset.
        assert_eq!(
            batches[0].base_offset, base,
            "first batch of {base:020}.log"
        );
        assert_eq!(base, next, "segment {base:020} after log end {next}");
        assert_eq!(
            t.consume("r", &["-o", &base.to_string(), "-n", "1"]),
            [produced[base as usize].clone()],
            "first record of segment {base:020}"
        );
        let size = file_len(&log);
        assert!(
            size <= 4096,
            "{base:020}.log is {size} bytes, above segment.bytes"
        );
        next = batches.last().map_or(base, |b| b.last_offset + 1);

        let index = segment_file(&dir, base, ".index");
        let time_index = segment_file(&dir, base, ".timeindex");
        if active {
            assert_eq!(
                file_len(&index),
                PREALLOCATED_INDEX,
                "active .index preallocated"
            );
            assert_eq!(
                file_len(&time_index),
                PREALLOCATED_TIME_INDEX,
                "active .timeindex"
            );
        } else {
            // Trimmed on roll: a segment under index.interval.bytes has no offset index
            // entry and exactly one time index entry, (max timestamp, its offset).
            let idx = file_len(&index);
            let tidx = file_len(&time_index);
            assert_eq!(idx % 8, 0);
            assert_eq!(tidx % 12, 0);
            assert!(
                idx < 4096 && tidx < 4096,
                "closed indexes trimmed: {idx}, {tidx}"
            );
            assert_eq!(idx, 0, "{base:020}.index");
            assert_eq!(tidx, 12, "{base:020}.timeindex");
            let e = fs::read(&time_index).expect("read time index");
            let ts = i64::from_be_bytes(e[..8].try_into().expect("8 bytes"));
            let rel = i32::from_be_bytes(e[8..12].try_into().expect("4 bytes"));
            let (mut max_ts, mut at) = (-1, base);
            for b in &batches {
                if b.max_timestamp > max_ts {
                    (max_ts, at) = (b.max_timestamp, b.last_offset);
                }
            }
            assert_eq!(
                (ts, rel as i64),
                (max_ts, at - base),
                "{base:020}.timeindex entry"
            );
        }
    }
    assert_eq!(next, produced.len() as i64);
    let d = t.describe("r");
    assert_eq!(
        d["partitions"][0]["segments"].as_u64(),
        Some(bases.len() as u64)
    );
    assert_eq!(d["partitions"][0]["log_end_offset"].as_i64(), Some(next));
}

#[test]
fn one_produce_run_respects_segment_bytes() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "s", "-c", "segment.bytes=4096"]);
    let (input, all) = numbered_lines("one-run", 0..3000);
    t.produce("s", input, &[]);
    let dir = t.partition_dir("s", 0);
    let bases = segment_bases(&dir);
    let sizes: Vec<u64> = bases
        .iter()
        .map(|&b| file_len(&segment_file(&dir, b, ".log")))
        .collect();
    assert!(
        sizes.iter().all(|&s| s <= 4096),
        "segment sizes {sizes:?} with segment.bytes=4096 (records are ~25 bytes)"
    );
    assert!(t.consume("s", &[]) == all);
}

#[test]
fn data_dir_looks_like_a_kafka_log_dir() {
    let t = TestDir::new();
    let topic = "app.events_v2-x";
    t.ok(&[
        "topics",
        "create",
        topic,
        "-p",
        "3",
        "-c",
        "segment.bytes=2048",
    ]);
    // A topic with offset index entries: small interval, one segment.
    t.ok(&[
        "topics",
        "create",
        "indexed",
        "-c",
        "index.interval.bytes=512",
    ]);
    for run in 0..8 {
        let keyed: String = (0..30)
            .map(|i| format!("user{}:{run}-{i}\n", i % 7))
            .collect();
        t.produce(topic, keyed, &["-K", ":"]);
        let (plain, _) = numbered_lines(&format!("plain{run}"), 0..30);
        t.produce(topic, plain.clone(), &[]);
        t.produce("indexed", plain, &[]);
    }

    let mut top: Vec<String> = fs::read_dir(t.data())
        .expect("data dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
        .collect();
    top.sort();
    let mut want: Vec<String> = (0..3).map(|p| format!("{topic}-{p}")).collect();
    want.extend(["indexed-0".to_string(), "klog-topics.json".to_string()]);
    // The checkpoint files a broker keeps next to its partitions.
    want.extend(
        [
            "log-start-offset-checkpoint",
            "recovery-point-offset-checkpoint",
            "replication-offset-checkpoint",
        ]
        .map(String::from),
    );
    want.sort();
    assert_eq!(top, want);
    let hw = fs::read_to_string(t.data().join("replication-offset-checkpoint")).expect("hw");
    let lines: Vec<&str> = hw.lines().collect();
    assert_eq!(lines[0], "0", "version");
    assert_eq!(lines[1], "4", "one entry per partition written: {hw}");

    let d = t.describe(topic);
    let mut total = 0;
    for p in 0..3u32 {
        let dir = t.partition_dir(topic, p);
        assert!(dir.is_dir());
        let bases = segment_bases(&dir);
        // Segment files (all three per segment), klog's recovery point, and the two small
        // files a broker keeps in a partition directory.
        let names: BTreeSet<String> = fs::read_dir(&dir)
            .expect("partition dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
            .collect();
        let mut expected: BTreeSet<String> = bases
            .iter()
            .flat_map(|b| ["log", "index", "timeindex"].map(|s| format!("{b:020}.{s}")))
            .collect();
        expected.insert(".klog-recovery-point".to_string());
        expected.insert("leader-epoch-checkpoint".to_string());
        expected.insert("partition.metadata".to_string());
        assert_eq!(names, expected, "files of {}", dir.display());
        let meta = fs::read_to_string(dir.join("partition.metadata")).expect("partition.metadata");
        assert!(meta.starts_with("version: 0\ntopic_id: "), "{meta:?}");
        assert_eq!(
            meta.len(),
            43,
            "Kafka's 43-byte partition.metadata: {meta:?}"
        );

        // Every .log is valid v2 batches back to back, offsets dense from 0.
        let mut next = 0;
        let mut values = Vec::new();
        for &base in &bases {
            assert_eq!(base, next, "segment name = first offset");
            for b in decode_log(&segment_file(&dir, base, ".log")) {
                assert_eq!(b.base_offset, next, "dense offsets in {}", dir.display());
                next = b.last_offset + 1;
                values.extend(
                    b.values
                        .into_iter()
                        .map(|v| String::from_utf8(v).expect("UTF-8")),
                );
            }
            assert_eq!(file_len(&segment_file(&dir, base, ".index")) % 8, 0);
            assert_eq!(file_len(&segment_file(&dir, base, ".timeindex")) % 12, 0);
        }
        assert_eq!(d["partitions"][p as usize]["log_end_offset"], next);
        // What consume prints is what the files hold.
        assert!(t.consume(topic, &["-p", &p.to_string()]) == values);
        total += next;
    }
    assert_eq!(total, 8 * 60);

    // Offset index entries point at the start of the batch whose last offset they name.
    let dir = t.partition_dir("indexed", 0);
    assert_eq!(segment_bases(&dir), [0]);
    let batches = decode_log(&segment_file(&dir, 0, ".log"));
    let entries = used_entries(&segment_file(&dir, 0, ".index"), 8);
    assert!(entries.len() >= 3, "index entries: {}", entries.len());
    for e in &entries {
        let rel = i32::from_be_bytes(e[..4].try_into().expect("4 bytes")) as i64;
        let pos = u32::from_be_bytes(e[4..].try_into().expect("4 bytes")) as u64;
        let b = batches
            .iter()
            .find(|b| b.position == pos)
            .unwrap_or_else(|| panic!("index entry {rel}@{pos} is not at a batch start"));
        assert_eq!(b.last_offset, rel, "index entry at {pos}");
    }
    assert!(
        entries.iter().all(|e| e[4..] != [0, 0, 0, 0]),
        "the first batch of a segment is never indexed"
    );
}

#[test]
fn any_offset_can_be_sought_through_the_indexes() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "seek",
        "-c",
        "segment.bytes=4096",
        "-c",
        "index.interval.bytes=256",
    ]);
    let mut produced = Vec::new();
    for run in 0..16 {
        let (input, v) = numbered_lines(&format!("s{run:02}"), 0..50);
        t.produce("seek", input, &[]);
        produced.extend(v);
    }
    let dir = t.partition_dir("seek", 0);
    let bases = segment_bases(&dir);
    assert!(bases.len() >= 3, "segments: {bases:?}");
    let closed_with_entries = bases[..bases.len() - 1]
        .iter()
        .filter(|&&b| file_len(&segment_file(&dir, b, ".index")) >= 8)
        .count();
    assert!(
        closed_with_entries > 0,
        "closed segments have index entries"
    );

    let n = produced.len() as i64;
    let mut offsets: BTreeSet<i64> = (0..n).step_by(37).collect();
    for &b in &bases {
        offsets.extend([b - 1, b, b + 1, b + 49, b + 50]);
    }
    offsets.extend([n - 1]);
    for o in offsets.into_iter().filter(|&o| (0..n).contains(&o)) {
        let got = t.consume("seek", &["-o", &o.to_string(), "-n", "2"]);
        let want = &produced[o as usize..(o as usize + 2).min(produced.len())];
        assert_eq!(got, want, "consume -o {o} -n 2");
    }
    // -N crossing segment boundaries.
    let last = t.consume("seek", &["-o", "-120"]);
    assert!(last == produced[produced.len() - 120..], "consume -o -120");
}

/// Every `.log` of a partition directory with its bytes.
fn logs_of(dir: &Path) -> Vec<(i64, Vec<u8>)> {
    segment_bases(dir)
        .into_iter()
        .map(|b| (b, fs::read(segment_file(dir, b, ".log")).expect("read log")))
        .collect()
}

/// `trim vt --before 5` on a topic whose partition 1 ends at 0 moved partition 0's log start,
/// then failed on partition 1 with exit status 2: half applied. Every partition is now checked
/// first; the error names the partitions the offset is past and nothing is trimmed.
#[test]
fn regression_trim_past_one_partitions_end_changes_nothing() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "vt",
        "-p",
        "3",
        "-c",
        "segment.bytes=200",
    ]);
    let (input, _) = numbered_lines("r", 0..10);
    t.produce("vt", input.as_str(), &["-p", "0"]);
    t.produce("vt", "x\ny\n", &["-p", "2"]);
    let dirs: Vec<_> = (0..3).map(|p| t.partition_dir("vt", p)).collect();
    let before: Vec<_> = dirs.iter().map(|d| logs_of(d)).collect();

    let out = t.run(&["trim", "vt", "--before", "5"]);
    let err = crate::util::assert_error(&out, 2);
    assert!(
        err.contains("vt-1 ends at 0") && err.contains("vt-2 ends at 2"),
        "{err}"
    );
    assert!(!err.contains("vt-0"), "{err}");
    assert!(err.contains("nothing was trimmed"), "{err}");
    let d = t.describe("vt");
    for p in 0..3 {
        assert_eq!(d["partitions"][p]["log_start_offset"], 0, "partition {p}");
    }
    let after: Vec<_> = dirs.iter().map(|d| logs_of(d)).collect();
    assert_eq!(after, before, "no segment deleted");
    assert_eq!(t.consume("vt", &["-p", "0"]).len(), 10);

    // Naming the partitions that have the offset works.
    t.ok(&["trim", "vt", "--before", "5", "-p", "0"]);
    let d = t.describe("vt");
    assert_eq!(d["partitions"][0]["log_start_offset"], 5);
    assert_eq!(d["partitions"][2]["log_start_offset"], 0);
    assert_eq!(t.consume("vt", &["-p", "0"]).len(), 5);
}

/// Compaction grouped segments by their size before cleaning, so segments near
/// `segment.bytes` whose records later ones supersede stayed one per group: after `clean`,
/// a run of 61-byte segments holding an empty batch each (46 in the report) remained. The
/// segments a cleaning empties or shrinks are now merged while their records fit a segment.
#[test]
fn regression_clean_merges_the_segments_it_empties() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "m",
        "-c",
        "cleanup.policy=compact",
        "-c",
        "segment.bytes=300",
    ]);
    let pad = "v".repeat(200);
    for i in 0..20 {
        // One batch per run, each rolling the segment before it (two do not fit 300 bytes).
        t.produce("m", format!("k:{i}-{pad}\n"), &["-K", ":"]);
    }
    let dir = t.partition_dir("m", 0);
    assert_eq!(segment_bases(&dir).len(), 20);
    t.ok(&["clean"]);
    let rows = crate::util::json(&t.ok(&["segments", "list", "m", "--json"]));
    let rows = rows.as_array().expect("rows");
    let summary: Vec<(i64, u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["base_offset"].as_i64().expect("base"),
                r["records"].as_u64().expect("records"),
                r["size_bytes"].as_u64().expect("size"),
            )
        })
        .collect();
    // One closed segment with the latest closed record (offset 18), then the active one.
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert_eq!((summary[0].0, summary[0].1), (0, 1), "{summary:?}");
    assert_eq!((summary[1].0, summary[1].1), (19, 1), "{summary:?}");
    let kept = t.consume("m", &["-F", "%o %s\\n"]);
    assert_eq!(kept, [format!("18 18-{pad}"), format!("19 19-{pad}")]);
    assert_eq!(
        t.run(&["segments", "verify", "m"]).status.code(),
        Some(0),
        "verifies clean"
    );
}
