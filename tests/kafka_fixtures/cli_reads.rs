//! Item 8: the `klog` binary on Kafka's data: kafka-python's segments (every codec) consume to
//! exactly `expected.json`; every broker partition directory (magic 1 included) consumes to
//! the offsets of its records and `segments dump --records` prints one line per record;
//! `__consumer_offsets` partitions dump as readable offset commits, each agreeing with an
//! independent decoding of its key and value.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use klog::format::batch::{Peek, peek_entry};
use klog::format::legacy::{self, LegacyMessage};
use klog::format::{DECOMPRESS_LIMIT, RecordBatch};
use klog::storage::file_names::LOG_SUFFIX;

use crate::util::*;

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
