//! Item 9: what klog writes is what Kafka writes: its compressed batches (every codec, text
//! and binary records with headers) read back, carry the codec bits, and frame their streams
//! as kafka-python does; a directory it wrote verifies clean and has a broker's checkpoint
//! files, `partition.metadata` and `leader-epoch-checkpoint`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use klog::format::compression::{LZ4_FRAME_MAGIC, XERIAL_BLOCK_SIZE, XERIAL_MAGIC, decompress};
use klog::format::{BatchHeader, Compression, DECOMPRESS_LIMIT, RecordBatch, partition_for_key};

use crate::util::*;

/// Every v2 batch of a partition directory's `.log` files (headers and records, decompressed
/// with the library's `records_in`).
fn batches_of_partition(dir: &Path) -> Vec<(BatchHeader, Vec<u8>, Vec<Rec>)> {
    let mut out = Vec::new();
    for path in log_files(dir) {
        let data = read(&path);
        let what = path.display().to_string();
        walk_batches(&data, &what, |_, batch| {
            let mut scratch = Vec::new();
            let recs = batch
                .records_in(&mut scratch)
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .map(|r| {
                    let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
                    Rec::of(&batch, &r)
                })
                .collect();
            out.push((batch.header, batch.records_bytes().to_vec(), recs));
        });
    }
    out
}

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// Item 2: klog's own compressed output decodes back, through the CLI and the library, and
/// every batch carries its codec in attribute bits 0-2.
#[test]
fn klog_compressed_output_reads_back_for_every_codec() {
    let lines: Vec<String> = (0..300)
        .map(|i| format!("line {i}: {}", "abc ".repeat(i % 37)))
        .collect();
    let text = lines.join("\n") + "\n";
    // JSON input: null, UTF-8 and binary keys and values, headers with null, text and binary
    // values, explicit timestamps.
    let json_records: Vec<Rec> = (0..60)
        .map(|i: i64| Rec {
            offset: i,
            timestamp: 1_700_000_000_000 + i * 7,
            key: match i % 3 {
                0 => None,
                1 => Some(format!("key-{i}").into_bytes()),
                _ => Some(vec![0xFF, 0xFE, i as u8]),
            },
            value: match i % 5 {
                0 => None,
                1 => Some(Vec::new()),
                2 => Some(format!("välue {i} ✓").into_bytes()),
                _ => Some(
                    [&[0x80u8, 0x00, 0xC3][..], &[i as u8; 40]]
                        .concat()
                        .repeat(1 + i as usize % 4),
                ),
            },
            headers: match i % 4 {
                0 => Vec::new(),
                1 => vec![(b"trace".to_vec(), Some(format!("t{i}").into_bytes()))],
                2 => vec![
                    (b"n".to_vec(), None),
                    (b"bin".to_vec(), Some(vec![0xC0, 0xAF])),
                ],
                _ => vec![(b"e".to_vec(), Some(Vec::new()))],
            },
        })
        .collect();
    let bytes_json = |b: &Option<Vec<u8>>| match b {
        None => serde_json::Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => serde_json::Value::String(s.into()),
            Err(_) => {
                use base64::Engine as _;
                serde_json::json!({"base64": base64::engine::general_purpose::STANDARD.encode(b)})
            }
        },
    };
    let json_input: String = json_records
        .iter()
        .map(|r| {
            let headers: Vec<serde_json::Value> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    serde_json::json!([String::from_utf8(k.clone()).unwrap(), bytes_json(v)])
                })
                .collect();
            serde_json::json!({
                "key": bytes_json(&r.key),
                "value": bytes_json(&r.value),
                "headers": headers,
                "timestamp": r.timestamp,
            })
            .to_string()
                + "\n"
        })
        .collect();

    for codec in [Compression::None].into_iter().chain(CODECS) {
        let name = codec.name();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        klog_ok(
            dir,
            &["produce", "lines", "--compression", name],
            Some(text.as_bytes()),
        );
        klog_ok(
            dir,
            &["produce", "bin", "--json", "--compression", name],
            Some(json_input.as_bytes()),
        );

        let got = consume_json(dir, "lines", &[]);
        assert_eq!(got.len(), lines.len(), "{name}: lines");
        for (i, (_, _, r)) in got.iter().enumerate() {
            assert_eq!(r.offset, i as i64, "{name}");
            assert_eq!(r.key, None, "{name}");
            assert_eq!(
                r.value.as_deref(),
                Some(lines[i].as_bytes()),
                "{name}: line {i}"
            );
        }
        let got: Vec<Rec> = consume_json(dir, "bin", &[])
            .into_iter()
            .map(|(_, _, r)| r)
            .collect();
        assert_eq!(got, json_records, "{name}: --json records");

        // The library sees the codec in every batch and the same records.
        for (topic, want) in [("lines", lines.len()), ("bin", json_records.len())] {
            let batches = batches_of_partition(&dir.join(format!("{topic}-0")));
            assert!(!batches.is_empty(), "{name}: {topic}: no batches");
            let mut n = 0;
            for (h, section, recs) in &batches {
                assert_eq!(h.compression(), Some(codec), "{name}: {topic}: codec");
                assert_eq!(
                    h.attributes & 0x07,
                    i16::from(codec.id()),
                    "{name}: {topic}: attribute bits"
                );
                assert_eq!(recs.len(), h.records_count as usize, "{name}: {topic}");
                if codec != Compression::None {
                    let mut plain = Vec::new();
                    decompress(codec, section, &mut plain, DECOMPRESS_LIMIT).unwrap();
                    assert!(plain.len() > section.len() / 2, "{name}: {topic}: section");
                }
                n += recs.len();
            }
            assert_eq!(n, want, "{name}: {topic}: records in the files");
        }
        let lib: Vec<Rec> = batches_of_partition(&dir.join("bin-0"))
            .into_iter()
            .flat_map(|(_, _, r)| r)
            .collect();
        assert_eq!(lib, json_records, "{name}: records decoded by the library");
    }
}

/// The `[int32 length][raw snappy block]` blocks after a xerial header: the uncompressed length
/// of each (from the block's preamble), checking that they fill the section exactly.
fn xerial_blocks(section: &[u8], what: &str) -> Vec<usize> {
    let mut pos = 16;
    let mut sizes = Vec::new();
    while pos < section.len() {
        let len = i32::from_be_bytes(section[pos..pos + 4].try_into().unwrap());
        assert!(len > 0, "{what}: block length {len} at {pos}");
        let block = &section[pos + 4..pos + 4 + len as usize];
        let n = snap::raw::decompress_len(block).unwrap();
        assert_eq!(
            snap::raw::Decoder::new()
                .decompress_vec(block)
                .unwrap()
                .len(),
            n,
            "{what}: block at {pos}"
        );
        sizes.push(n);
        pos += 4 + len as usize;
    }
    assert_eq!(pos, section.len(), "{what}: blocks do not end the section");
    sizes
}

/// The data blocks of an LZ4 frame without content size or checksums: (stored?, size) each,
/// checking the end mark ends the section.
fn lz4_blocks(section: &[u8], what: &str) -> Vec<(bool, usize)> {
    let mut pos = 7;
    let mut blocks = Vec::new();
    loop {
        let word = u32::from_le_bytes(section[pos..pos + 4].try_into().unwrap());
        pos += 4;
        if word == 0 {
            break;
        }
        let size = (word & 0x7FFF_FFFF) as usize;
        blocks.push((word & 0x8000_0000 != 0, size));
        pos += size;
    }
    assert_eq!(
        pos,
        section.len(),
        "{what}: end mark does not end the section"
    );
    blocks
}

/// Item 3: the stream framing klog writes is the framing kafka-python (and Java Kafka) write.
#[test]
fn compressed_framing_matches_kafka_python() {
    let Some(fx) = fixtures() else { return };
    // ~150 KiB of compressible values: one batch, several snappy and lz4 blocks.
    let text: String = (0..300)
        .map(|i| format!("record {i:05} {}\n", "payload-payload ".repeat(30)))
        .collect();
    assert!(text.len() > 140 * 1024);
    let tmp = tempfile::tempdir().unwrap();
    // From a file, so that the input arrives at once and goes into one batch.
    let input = tmp.path().join("input.txt");
    fs::write(&input, &text).unwrap();
    for codec in CODECS {
        let name = codec.name();
        klog_ok(
            tmp.path(),
            &[
                "produce",
                name,
                "--compression",
                name,
                input.to_str().unwrap(),
            ],
            None,
        );
        let batches = batches_of_partition(&tmp.path().join(format!("{name}-0")));
        assert_eq!(
            batches.iter().map(|b| b.2.len()).sum::<usize>(),
            300,
            "{name}: records"
        );
        let (_, ours, _) = batches.iter().max_by_key(|b| b.2.len()).unwrap();
        let mut plain = Vec::new();
        decompress(codec, ours, &mut plain, DECOMPRESS_LIMIT).unwrap();
        assert!(plain.len() > 100 * 1024, "{name}: {} bytes", plain.len());

        let fixture = read(&fx.join(format!("kafka-python/{name}/00000000000000000000.log")));
        let theirs = RecordBatch::decode(&fixture)
            .unwrap()
            .records_bytes()
            .to_vec();
        match codec {
            Compression::Gzip => {
                // RFC 1952 magic and deflate.
                assert_eq!(ours[..3], [0x1f, 0x8b, 8], "{name}");
                assert_eq!(theirs[..3], ours[..3], "{name}: fixture");
            }
            Compression::Zstd => {
                assert_eq!(ours[..4], [0x28, 0xb5, 0x2f, 0xfd], "{name}");
                assert_eq!(theirs[..4], ours[..4], "{name}: fixture");
            }
            Compression::Snappy => {
                let mut header = XERIAL_MAGIC.to_vec();
                header.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
                assert_eq!(ours[..16], header[..], "{name}: xerial header");
                assert_eq!(theirs[..16], header[..], "{name}: fixture's xerial header");
                let sizes = xerial_blocks(ours, name);
                assert!(sizes.len() >= 4, "{name}: {} blocks", sizes.len());
                assert!(sizes.iter().all(|&n| n <= XERIAL_BLOCK_SIZE), "{sizes:?}");
                // snappy-java fills each block before starting the next.
                let (last, full) = sizes.split_last().unwrap();
                assert!(full.iter().all(|&n| n == XERIAL_BLOCK_SIZE), "{sizes:?}");
                assert!(*last > 0);
                assert_eq!(sizes.iter().sum::<usize>(), plain.len(), "{name}");
                // Every fixture batch walks the same way.
                let mut pos = 0;
                while pos < fixture.len() {
                    let b = RecordBatch::decode(&fixture[pos..]).unwrap();
                    let s = xerial_blocks(b.records_bytes(), "fixture");
                    assert!(s.iter().all(|&n| n <= XERIAL_BLOCK_SIZE), "fixture {s:?}");
                    pos += b.header.size();
                }
            }
            Compression::Lz4 => {
                assert_eq!(ours[..4], LZ4_FRAME_MAGIC.to_le_bytes(), "{name}");
                assert_eq!(theirs[..4], ours[..4], "{name}: fixture");
                // BD: 64 KiB maximum block size, as Java Kafka and kafka-python write.
                assert_eq!(ours[5], 0x40, "{name}: BD");
                assert_eq!(theirs[5], ours[5], "{name}: BD vs fixture");
                // FLG: version 01, independent blocks, no checksums, no dictionary. Java Kafka's
                // KafkaLZ4BlockOutputStream writes 0x60; kafka-python's writer also sets the
                // content-size bit (0x08, FLG 0x68) and stores the size: identical otherwise.
                assert_eq!(ours[4], 0x60, "{name}: FLG");
                assert_eq!(theirs[4] & !0x08, ours[4], "{name}: FLG vs fixture");
                let blocks = lz4_blocks(ours, name);
                assert!(blocks.len() >= 2, "{name}: {blocks:?}");
                assert!(blocks.iter().all(|&(_, n)| n <= 64 * 1024), "{blocks:?}");
            }
            Compression::None => unreachable!(),
        }
    }
}

/// A `leader-epoch-checkpoint` (`0\n<count>\n<epoch> <start offset>\n…`).
fn parse_leader_epochs(text: &str, what: &str) -> Vec<(i32, i64)> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("0"), "{what}: version");
    let count: usize = lines.next().unwrap().parse().unwrap();
    let entries: Vec<(i32, i64)> = lines
        .map(|l| {
            let (e, o) = l.split_once(' ').unwrap();
            (e.parse().unwrap(), o.parse().unwrap())
        })
        .collect();
    assert_eq!(entries.len(), count, "{what}: count");
    entries
}

/// `version: 0\ntopic_id: <22 chars of base64url>`, no newline: the topic id.
fn parse_partition_metadata(data: &[u8], what: &str) -> String {
    assert_eq!(data.len(), 43, "{what}: size");
    let text = std::str::from_utf8(data).unwrap();
    let id = text
        .strip_prefix("version: 0\ntopic_id: ")
        .unwrap_or_else(|| panic!("{what}: {text:?}"));
    assert_eq!(id.len(), 22, "{what}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{what}: {id:?}"
    );
    id.to_string()
}

/// The same parsers accept what real brokers wrote.
#[test]
fn checkpoint_parsers_accept_broker_files() {
    let Some(fx) = fixtures() else { return };
    let donald = fx.join("kafka/DonaldY__kafka-2.7.1/kafka-logs");
    for f in [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
    ] {
        let text = fs::read_to_string(donald.join(f)).unwrap();
        let entries = parse_offset_checkpoint(&text, f);
        assert_eq!(entries.len(), 53, "{f}");
        // The high watermark is the log end offset (20); the recovery point lags behind.
        let want = if f.starts_with("recovery") { 18 } else { 20 };
        assert_eq!(
            entries[&("__consumer_offsets".to_string(), 39)],
            want,
            "{f}"
        );
    }
    let lso = fs::read_to_string(donald.join("log-start-offset-checkpoint")).unwrap();
    assert_eq!(lso, "0\n0\n");
    let epochs = fs::read_to_string(donald.join("__consumer_offsets-39/leader-epoch-checkpoint"));
    assert_eq!(parse_leader_epochs(&epochs.unwrap(), "epochs"), [(0, 0)]);
    let patient = fx.join("kafka/andrei755006__patient-management-system/kafka/data/patient-0");
    parse_partition_metadata(
        &read(&patient.join("partition.metadata")),
        "partition.metadata",
    );
}

/// Item 6: a directory klog wrote verifies clean and has the files a broker would leave:
/// the three offset checkpoints with each partition's log end offset, and in every partition
/// directory `partition.metadata` (one topic id per topic) and `leader-epoch-checkpoint`.
#[test]
fn klog_written_directory_verifies_with_broker_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    klog_ok(
        dir,
        &[
            "topics",
            "create",
            "t3",
            "-p",
            "3",
            "-c",
            "segment.bytes=2048",
        ],
        None,
    );
    let keyed: String = (0..600).map(|i| format!("key-{i}:value {i}\n")).collect();
    klog_ok(dir, &["produce", "t3", "-K", ":"], Some(keyed.as_bytes()));
    let more: String = (600..900).map(|i| format!("key-{i}:value {i}\n")).collect();
    klog_ok(
        dir,
        &["produce", "t3", "-K", ":", "--compression", "lz4"],
        Some(more.as_bytes()),
    );
    let out = klog_run(dir, &["segments", "verify", "t3"], None);
    assert!(
        out.status.success(),
        "verify: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Each key went where Kafka's partitioner puts it.
    let consumed = consume_json(dir, "t3", &[]);
    assert_eq!(consumed.len(), 900);
    for (p, _, r) in &consumed {
        assert_eq!(partition_for_key(r.key.as_deref().unwrap(), 3), *p);
    }

    let mut ends = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for p in 0..3u32 {
        let pdir = dir.join(format!("t3-{p}"));
        let what = format!("t3-{p}");
        assert!(log_files(&pdir).len() >= 2, "{what}: segments");
        let batches = batches_of_partition(&pdir);
        let end = batches.last().map_or(0, |(h, _, _)| h.next_offset());
        let count: usize = batches.iter().map(|(_, _, r)| r.len()).sum();
        assert_eq!(end, count as i64, "{what}: dense offsets");
        ends.insert(("t3".to_string(), p), end);
        ids.insert(parse_partition_metadata(
            &read(&pdir.join("partition.metadata")),
            &what,
        ));
        let epochs = fs::read_to_string(pdir.join("leader-epoch-checkpoint"))
            .unwrap_or_else(|e| panic!("{what}: leader-epoch-checkpoint: {e}"));
        parse_leader_epochs(&epochs, &what);
    }
    assert_eq!(ends.values().sum::<i64>(), 900);
    assert_eq!(ids.len(), 1, "one topic id for every partition: {ids:?}");

    for f in [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
    ] {
        let text = fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(parse_offset_checkpoint(&text, f), ends, "{f}");
    }
    // No partition's log start is above its first segment's base: no entries.
    let lso = fs::read_to_string(dir.join("log-start-offset-checkpoint")).unwrap();
    assert!(parse_offset_checkpoint(&lso, "log-start-offset-checkpoint").is_empty());
}

/// A broker creates every partition of a new topic with its `leader-epoch-checkpoint`, and its
/// offset checkpoints list every partition of the log directory (with 0 for an empty one).
#[test]
fn empty_partitions_have_broker_files_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    klog_ok(dir, &["topics", "create", "e3", "-p", "3"], None);
    klog_ok(dir, &["produce", "e3", "-p", "1"], Some(b"a\nb\n"));
    for p in 0..3 {
        assert!(
            dir.join(format!("e3-{p}/leader-epoch-checkpoint"))
                .is_file(),
            "e3-{p}: no leader-epoch-checkpoint"
        );
    }
    let want: BTreeMap<(String, u32), i64> = [0, 2, 0]
        .into_iter()
        .enumerate()
        .map(|(p, o)| (("e3".to_string(), p as u32), o))
        .collect();
    for f in [
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
    ] {
        let text = fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(parse_offset_checkpoint(&text, f), want, "{f}");
    }
}
