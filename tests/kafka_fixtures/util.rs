//! Helpers of the fixture tests: the expectations copied from `../shared/fixtures/kafka/SOURCES.md`,
//! finding and reading fixture files, decoding batches by hand (checking as it goes), running
//! the `klog` binary, and parsing what it prints.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use klog::format::batch::{Peek, peek_entry};
use klog::format::{BatchHeader, Compression, DecodeError, RecordBatch, TimestampType};
use klog::storage::file_names::{self, LOG_SUFFIX};

/// A non-empty magic-2, codec-none `.log`: (path under `fixtures/kafka`, bytes, batches,
/// records, first record offset, last record offset), from SOURCES.md's summary table (counts)
/// and per-repository tables (offset ranges).
#[rustfmt::skip]
pub(crate) const MAGIC2_LOGS: &[(&str, usize, usize, usize, i64, i64)] = &[
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-28/00000000000000000000.log", 127, 1, 1, 1, 1),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-28/00000000000000000002.log", 94, 1, 1, 2, 2),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-39/00000000000000000018.log", 148, 1, 2, 18, 19),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-39/00000000000000000000.log", 361, 3, 3, 4, 17),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-8/00000000000000000000.log", 610, 3, 3, 0, 2),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-17/00000000000000000001.log", 221, 2, 2, 1, 2),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-17/00000000000000000000.log", 390, 1, 1, 0, 0),
    ("DonaldY__kafka-2.7.1/kafka-logs/__consumer_offsets-33/00000000000000000000.log", 611, 3, 3, 0, 2),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/TOPIC_NAME-0/00000000000000000000.log", 143, 2, 2, 0, 1),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/first_topic-1/00000000000000000000.log", 227, 3, 3, 0, 2),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/__consumer_offsets-21/00000000000000000000.log", 4800, 20, 56, 0, 55),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/first_topic-2/00000000000000000000.log", 72, 1, 1, 0, 0),
    ("cobyforrester__kafka/history/32ed774168/data/kafka/first_topic-0/00000000000000000000.log", 294, 4, 4, 0, 3),
    ("cobyforrester__kafka/data/kafka/TOPIC_NAME-0/00000000000000000000.log", 97, 1, 4, 0, 3),
    ("cobyforrester__kafka/data/kafka/TOPIC_NAME-1/00000000000000000000.log", 79, 1, 2, 0, 1),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-28/00000000000000000000.log", 627, 3, 3, 0, 2),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-21/00000000000000000056.log", 188, 1, 4, 56, 59),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-21/00000000000000000000.log", 353, 2, 4, 52, 55),
    ("cobyforrester__kafka/data/kafka/TOPIC_NAME-2/00000000000000000000.log", 97, 1, 4, 0, 3),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-34/00000000000000000000.log", 627, 3, 3, 0, 2),
    ("cobyforrester__kafka/data/kafka/__consumer_offsets-6/00000000000000000000.log", 617, 3, 3, 0, 2),
    ("ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-31/00000000000000000000.log", 366, 1, 1, 2, 2),
    ("ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-31/00000000000000000003.log", 491, 2, 2, 3, 4),
    ("ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-44/00000000000000000000.log", 272, 2, 2, 6, 8),
    ("ronem123__rupia-transaction-service/kafka-logs/__consumer_offsets-44/00000000000000000009.log", 153, 1, 2, 9, 10),
    ("ronem123__rupia-transaction-service/kafka-logs/__cluster_metadata-0/00000000000001725413.log", 874_344, 12_105, 12_156, 1_725_413, 1_737_568),
];

/// A non-empty magic-1 `.log`: (path under `fixtures/kafka`, bytes, entries = records, first
/// offset, last offset). Every entry is a single uncompressed message.
#[rustfmt::skip]
pub(crate) const MAGIC1_LOGS: &[(&str, usize, usize, i64, i64)] = &[
    ("xpxwo100__bullShit/tmp/kafka-logs/TEST-TOPIC-0/00000000000000000000.log", 1_315_082, 21_211, 0, 21_210),
    ("xpxwo100__bullShit/tmp/kafka-logs/topic1-0/00000000000000000000.log", 215, 5, 0, 4),
    ("xpxwo100__bullShit/tmp/kafka-logs/__consumer_offsets-40/00000000000000000000.log", 70_141, 860, 0, 859),
    ("xpxwo100__bullShit/tmp/kafka-logs/foo-0/00000000000000000000.log", 8_730, 204, 0, 203),
];

/// The segment SOURCES.md describes in detail: 213 offset-index and 214 time-index entries.
pub(crate) const RONEM_METADATA: &str =
    "ronem123__rupia-transaction-service/kafka-logs/__cluster_metadata-0";

pub(crate) const RONEM_METADATA_BASE: i64 = 1_725_413;

/// `../shared/fixtures`, or `None` (after saying so on stderr) when it is not there; under
/// `CI=true` its absence fails the test (see `common/fixtures.rs`).
pub(crate) fn fixtures() -> Option<PathBuf> {
    crate::common::fixtures::shared_fixtures()
}

/// Every file under `root` whose name ends with `suffix`, recursively, sorted.
pub(crate) fn files_with_suffix(root: &Path, suffix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, suffix, out);
            } else if path.to_str().is_some_and(|p| p.ends_with(suffix)) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, suffix, &mut out);
    out.sort();
    out
}

/// `path` relative to `root`, with `/` separators.
pub(crate) fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap()
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

pub(crate) fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A record with everything owned, as it would be consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rec {
    pub(crate) offset: i64,
    pub(crate) timestamp: i64,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Rec {
    pub(crate) fn of(batch: &RecordBatch<'_>, r: &klog::format::Record<'_>) -> Rec {
        Rec {
            offset: batch.offset_of(r),
            timestamp: batch.timestamp_of(r),
            key: r.key.map(<[u8]>::to_vec),
            value: r.value.map(<[u8]>::to_vec),
            headers: r
                .headers
                .iter()
                .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
                .collect(),
        }
    }
}

/// The records of an uncompressed batch; panics (naming `what`) on any record-level error and
/// checks the count against the header.
pub(crate) fn batch_records(batch: &RecordBatch<'_>, what: &str) -> Vec<Rec> {
    let records = batch
        .records()
        .unwrap_or_else(|e| panic!("{what}: records of batch {}: {e}", batch.header.base_offset));
    let out: Vec<Rec> = records
        .map(|r| {
            let r = r.unwrap_or_else(|e| {
                panic!("{what}: record in batch {}: {e}", batch.header.base_offset)
            });
            Rec::of(batch, &r)
        })
        .collect();
    assert_eq!(
        out.len(),
        batch.header.records_count as usize,
        "{what}: record count of batch {}",
        batch.header.base_offset
    );
    out
}

/// Walks the magic-2 batches of `data` back to back and calls `f(position, batch)` for each.
/// Checks that every batch decodes (framing, magic, CRC), that the stored CRC is the CRC-32C
/// recomputed here and that a flipped bit is refused, that `peek_entry` frames the batch the
/// same way, that `as_bytes` is exactly its slice of the file, and that the batches end exactly
/// at the end of the data. Returns the number of batches.
pub(crate) fn walk_batches<'a>(
    data: &'a [u8],
    what: &str,
    mut f: impl FnMut(usize, RecordBatch<'a>),
) -> usize {
    let mut pos = 0;
    let mut count = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        let batch = RecordBatch::decode(rest)
            .unwrap_or_else(|e| panic!("{what}: batch at byte {pos}: {e}"));
        let h = batch.header;
        match peek_entry(rest) {
            Ok(Peek::Entry(frame)) => {
                assert_eq!(frame.offset, h.base_offset, "{what}: frame offset at {pos}");
                assert_eq!(frame.size, h.size(), "{what}: frame size at {pos}");
                assert_eq!(frame.magic, 2, "{what}: frame magic at {pos}");
            }
            other => panic!("{what}: peek_entry at byte {pos}: {other:?}"),
        }
        assert_eq!(h.magic, 2, "{what}: magic at {pos}");
        assert!(
            h.size() >= 61 && h.size() <= rest.len(),
            "{what}: size at {pos}"
        );
        assert_eq!(
            batch.as_bytes(),
            &rest[..h.size()],
            "{what}: bytes at {pos}"
        );
        // The stored CRC is the CRC-32C of bytes 21.. (computed here independently of the
        // decoder), and a flipped bit under it makes the decoder refuse the batch.
        let bytes = batch.as_bytes();
        assert_eq!(
            crc32c::crc32c(&bytes[21..]),
            h.crc,
            "{what}: stored CRC at {pos}"
        );
        let mut damaged = bytes.to_vec();
        *damaged.last_mut().unwrap() ^= 0x01;
        assert!(
            matches!(
                RecordBatch::decode(&damaged),
                Err(DecodeError::CrcMismatch { at: 17, .. })
            ),
            "{what}: damaged batch at {pos} not refused"
        );
        pos += h.size();
        count += 1;
        f(pos - h.size(), batch);
    }
    assert_eq!(
        pos,
        data.len(),
        "{what}: batches do not end at the end of the file"
    );
    count
}

/// Everything a fully decoded magic-2 file holds.
pub(crate) struct Decoded {
    /// (position, header) of every batch.
    pub(crate) batches: Vec<(usize, BatchHeader)>,
    pub(crate) records: Vec<Rec>,
}

/// Decodes a whole uncompressed magic-2 file, checking that batch and record offsets strictly
/// increase, that each record lies within its batch's offset range, and that CreateTime
/// timestamps do not exceed the batch's max timestamp.
pub(crate) fn decode_file(data: &[u8], what: &str) -> Decoded {
    let mut batches = Vec::new();
    let mut records: Vec<Rec> = Vec::new();
    let mut prev_last: Option<i64> = None;
    walk_batches(data, what, |pos, batch| {
        let h = batch.header;
        assert_eq!(
            h.compression(),
            Some(Compression::None),
            "{what}: codec at {pos}"
        );
        if let Some(prev) = prev_last {
            assert!(
                h.base_offset > prev,
                "{what}: base offset {} after {prev}",
                h.base_offset
            );
        }
        prev_last = Some(h.last_offset());
        for r in batch_records(&batch, what) {
            assert!(
                (h.base_offset..=h.last_offset()).contains(&r.offset),
                "{what}: record offset {} outside batch {}..={}",
                r.offset,
                h.base_offset,
                h.last_offset()
            );
            if let Some(last) = records.last() {
                assert!(
                    r.offset > last.offset,
                    "{what}: record offset {} after {}",
                    r.offset,
                    last.offset
                );
            }
            if h.timestamp_type() == TimestampType::CreateTime {
                assert!(
                    r.timestamp <= h.max_timestamp,
                    "{what}: record {} after max timestamp",
                    r.offset
                );
            }
            records.push(r);
        }
        batches.push((pos, h));
    });
    Decoded { batches, records }
}

/// Standard base64 (RFC 4648, with or without padding) for `expected.json`.
pub(crate) fn base64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    ENGINE
        .decode(s)
        .unwrap_or_else(|e| panic!("not base64: {s:?}: {e}"))
}

/// Copies the regular files of a (flat) partition directory into `dst`, writable.
pub(crate) fn copy_partition_dir(src: &Path, dst: &Path) {
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let to = dst.join(path.file_name().unwrap());
            fs::copy(&path, &to).unwrap();
            fs::set_permissions(&to, fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

pub(crate) fn expected_records(dir: &Path) -> Vec<Rec> {
    let json: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("expected.json"))).unwrap();
    let bytes = |v: &serde_json::Value| v.as_str().map(base64);
    json["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Rec {
            offset: r["offset"].as_i64().unwrap(),
            timestamp: r["timestamp"].as_i64().unwrap(),
            key: bytes(&r["key"]),
            value: bytes(&r["value"]),
            headers: r["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().as_bytes().to_vec(), bytes(&h[1])))
                .collect(),
        })
        .collect()
}

/// The base offset in a segment file's name.
pub(crate) fn base_of(path: &Path, suffix: &str) -> i64 {
    file_names::parse_offset(path.file_name().unwrap().to_str().unwrap(), suffix)
        .unwrap_or_else(|| panic!("{}: not a segment file name", path.display()))
}

/// Runs `klog --dir <dir> <args>` (with `stdin` piped in when given) and returns its output.
pub(crate) fn klog_run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_klog"));
    cmd.env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run klog");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// [`klog_run`], asserting exit status 0; returns stdout.
pub(crate) fn klog_ok(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let out = klog_run(dir, args, stdin);
    assert!(
        out.status.success(),
        "klog {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The JSON bytes shape of `consume --json`: null, a UTF-8 string, or `{"base64": …}`.
pub(crate) fn json_bytes(v: &serde_json::Value) -> Option<Vec<u8>> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        serde_json::Value::Object(m) if m.len() == 1 => {
            let b = base64(m["base64"].as_str().expect("base64 string"));
            assert!(
                std::str::from_utf8(&b).is_err(),
                "valid UTF-8 printed as base64: {v}"
            );
            Some(b)
        }
        other => panic!("not the JSON bytes shape: {other}"),
    }
}

/// `klog consume <topic> --json`, parsed: (partition, timestamp type, record) per line.
pub(crate) fn consume_json(dir: &Path, topic: &str, extra: &[&str]) -> Vec<(u32, String, Rec)> {
    let mut args = vec!["consume", topic, "--json"];
    args.extend_from_slice(extra);
    let out = klog_ok(dir, &args, None);
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_slice(line)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
            assert_eq!(v["topic"], topic, "{v}");
            let rec = Rec {
                offset: v["offset"].as_i64().unwrap(),
                timestamp: v["timestamp"].as_i64().unwrap(),
                key: json_bytes(&v["key"]),
                value: json_bytes(&v["value"]),
                headers: v["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| {
                        (
                            h[0].as_str().unwrap().as_bytes().to_vec(),
                            json_bytes(&h[1]),
                        )
                    })
                    .collect(),
            };
            (
                v["partition"].as_u64().unwrap() as u32,
                v["timestamp_type"].as_str().unwrap().to_string(),
                rec,
            )
        })
        .collect()
}

/// The `.log` files of a partition directory, by base offset.
pub(crate) fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<(i64, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let base = file_names::parse_offset(p.file_name()?.to_str()?, LOG_SUFFIX)?;
            Some((base, p))
        })
        .collect();
    logs.sort();
    logs.into_iter().map(|(_, p)| p).collect()
}

/// `len` bytes at `*pos`, advancing it.
pub(crate) fn take<'a>(b: &'a [u8], pos: &mut usize, len: usize) -> &'a [u8] {
    let s = &b[*pos..*pos + len];
    *pos += len;
    s
}

/// A Kafka text checkpoint file (`0\n<count>\n<topic> <partition> <offset>\n…`).
pub(crate) fn parse_offset_checkpoint(text: &str, what: &str) -> BTreeMap<(String, u32), i64> {
    assert!(text.ends_with('\n'), "{what}: no final newline");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("0"), "{what}: version");
    let count: usize = lines.next().unwrap().parse().unwrap();
    let entries: BTreeMap<(String, u32), i64> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 3, "{what}: {l:?}");
            (
                (f[0].to_string(), f[1].parse().unwrap()),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(entries.len(), count, "{what}: count");
    entries
}

/// The `log.dirs` of each fixture broker.
pub(crate) const BROKER_DIRS: &[&str] = &[
    "DonaldY__kafka-2.7.1/kafka-logs",
    "xpxwo100__bullShit/tmp/kafka-logs",
    "cobyforrester__kafka/data/kafka",
    "ronem123__rupia-transaction-service/kafka-logs",
    "andrei755006__patient-management-system/kafka/data",
];

/// Copies a directory tree into `dst`, every file and directory writable (the fixtures are
/// read-only), so that a command that writes would succeed and show.
pub(crate) fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    fs::set_permissions(dst, fs::Permissions::from_mode(0o755)).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let to = dst.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &to);
        } else {
            fs::copy(&path, &to).unwrap();
            fs::set_permissions(&to, fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}
