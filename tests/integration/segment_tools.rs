//! The segment tools and log-start moves: `klog segments list|dump|roll|verify`, `klog trim`
//! and `klog clean` (retention by time and by size), checked against the files on disk, the
//! broker-written fixtures catalogued in `../shared/fixtures/kafka/SOURCES.md` and the
//! kafka-python compressed segments.
//!
//! Tests that need `../shared/fixtures` print a note and pass when it is absent, except under
//! `CI=true`, where they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

use crate::util::{
    PREALLOCATED_INDEX, PREALLOCATED_TIME_INDEX, TestDir, assert_error, decode_log, file_len,
    frames, json, lines, segment_bases, segment_file,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `../shared/fixtures`, or `None` (after saying so on stderr) when it is not there; under
/// `CI=true` its absence fails the test.
fn fixtures() -> Option<PathBuf> {
    crate::fixtures::shared_fixtures()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

const HOUR: i64 = 3_600_000;

/// Every non-empty file under `dir` whose name ends with `suffix`, sorted.
fn walk(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let e = e.expect("dir entry");
            let path = e.path();
            if e.file_type().expect("file type").is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) && file_len(&path) > 0 {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// What SOURCES.md says about one `.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    bytes: u64,
    magic: u8,
    batches: u64,
    records: u64,
    first: i64,
    last: i64,
}

/// The `.log` rows of SOURCES.md, keyed by path under `fixtures/kafka`: the per-repository
/// tables (with offsets), checked against the summary table (batches and records).
fn sources_md(kafka: &Path) -> BTreeMap<String, Expected> {
    let md = fs::read_to_string(kafka.join("SOURCES.md")).expect("read SOURCES.md");
    let mut repo: Option<String> = None;
    let mut summary = BTreeMap::new();
    let mut detail = BTreeMap::new();
    let num = |s: &str| -> u64 { s.parse().unwrap_or_else(|_| panic!("number in {s:?}")) };
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            repo = h
                .trim()
                .split_once('/')
                .map(|(owner, name)| format!("{owner}__{name}"));
            continue;
        }
        if !line.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let file = cells[0];
        if !file.ends_with(".log") {
            continue;
        }
        match cells.len() {
            // | path | bytes | magic | codec | batches | records | CRC ok |
            7 => {
                assert_eq!(cells[6], "yes", "summary CRC column of {file}");
                summary.insert(file.to_string(), (num(cells[4]), num(cells[5])));
            }
            // | file | bytes | magic | codec | batches | records | offsets | CRC ok |
            8 => {
                let repo = repo
                    .as_deref()
                    .expect("a repository heading before its table");
                assert_eq!(cells[7], "True", "CRC column of {file}");
                assert_eq!(cells[3], "none", "codec of {file}");
                let (first, last) = cells[6].split_once("..").expect("offsets a..b");
                detail.insert(
                    format!("{repo}/{file}"),
                    Expected {
                        bytes: num(cells[1]),
                        magic: num(cells[2]) as u8,
                        batches: num(cells[4]),
                        records: num(cells[5]),
                        first: first.parse().expect("first offset"),
                        last: last.parse().expect("last offset"),
                    },
                );
            }
            n => panic!("unexpected table row with {n} cells: {line}"),
        }
    }
    assert_eq!(
        summary.keys().collect::<Vec<_>>(),
        detail.keys().collect::<Vec<_>>(),
        "SOURCES.md: summary and per-repository tables list the same .log files"
    );
    for (k, e) in &detail {
        assert_eq!(summary[k], (e.batches, e.records), "SOURCES.md rows of {k}");
    }
    detail
}

/// The value after `name` in a `key: value` dump line (`baseOffset: 12 lastOffset: 14 …`).
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let mut it = line.split_whitespace();
    while let Some(tok) = it.next() {
        if tok == name {
            return it.next().unwrap_or("");
        }
    }
    panic!("no {name} in {line:?}")
}

fn field_i64(line: &str, name: &str) -> i64 {
    field(line, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number in {line:?}"))
}

/// The batch lines of a text dump: `baseOffset: …` (v2) or `offset: … position: …` (legacy).
fn batch_lines(dump: &str) -> Vec<&str> {
    dump.lines()
        .filter(|l| l.starts_with("baseOffset: ") || l.starts_with("offset: "))
        .collect()
}

/// One line of `segments dump --json` for a `.log`: a v2 batch or a legacy entry.
#[derive(Debug, Deserialize)]
struct DumpEntry {
    file: String,
    position: u64,
    magic: i8,
    compression: String,
    crc_valid: bool,
    size: u64,
    /// v2 only.
    base_offset: Option<i64>,
    last_offset: Option<i64>,
    count: Option<i64>,
    /// Legacy only.
    offset: Option<i64>,
    /// With `--records`.
    records: Option<Vec<DumpRecord>>,
}

impl DumpEntry {
    fn first(&self) -> i64 {
        self.base_offset.or(self.offset).expect("an offset")
    }
    fn last(&self) -> i64 {
        self.last_offset.or(self.offset).expect("an offset")
    }
    /// Records the entry holds: its count (v2) or one (a legacy message).
    fn record_count(&self) -> u64 {
        match self.magic {
            2 => self.count.expect("count") as u64,
            _ => 1,
        }
    }
}

#[derive(Debug, Deserialize)]
struct DumpRecord {
    offset: i64,
    timestamp: i64,
    key: Value,
    value: Value,
    headers: Vec<(String, Value)>,
}

/// Parses `segments dump … --json` output line by line.
fn dump_entries(out: &str) -> Vec<DumpEntry> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("dump line ({e}): {l}")))
        .collect()
}

/// The JSON bytes shape back to bytes, checking that a string is used exactly when the bytes
/// are UTF-8.
fn shape_bytes(v: &Value, what: &str) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(m) if m.len() == 1 => {
            let b = STANDARD
                .decode(m["base64"].as_str().expect("base64 string"))
                .expect("valid base64");
            assert!(
                std::str::from_utf8(&b).is_err(),
                "{what}: UTF-8 bytes written as base64: {v}"
            );
            Some(b)
        }
        _ => panic!("{what}: not the JSON bytes shape: {v}"),
    }
}

fn b64_or_null(v: &Value) -> Option<Vec<u8>> {
    v.as_str()
        .map(|s| STANDARD.decode(s).expect("expected.json base64"))
}

/// `klog segments verify ARGS… --json`: exit status and the parsed document.
fn verify_json(t: &TestDir, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["segments", "verify"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = t.run(&all);
    let code = out.status.code().expect("exit status");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "panic in verify {args:?}: {stderr}"
    );
    (code, json(&stdout))
}

/// The problems of a one-partition verify document, as (file name, position, kind).
fn problems(doc: &Value) -> Vec<(String, u64, String)> {
    let docs = doc.as_array().expect("verify --json is an array");
    assert_eq!(docs.len(), 1, "one partition: {doc}");
    docs[0]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            let path = PathBuf::from(p["path"].as_str().expect("path"));
            (
                path.file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned(),
                p["position"].as_u64().expect("position"),
                p["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect()
}

fn repairs(doc: &Value) -> Vec<Value> {
    doc[0]["repairs"].as_array().expect("repairs").clone()
}

fn file_name_of(v: &Value) -> String {
    Path::new(v.as_str().expect("a path string"))
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

/// `{"value": V, "timestamp": T}` lines for `produce --json`.
fn json_lines(records: impl IntoIterator<Item = (String, i64)>) -> String {
    let mut s = String::new();
    for (v, ts) in records {
        s.push_str(&serde_json::json!({"value": v, "timestamp": ts}).to_string());
        s.push('\n');
    }
    s
}

/// `0\n1\n…` for the half-open range: values equal to the offsets they get in a fresh topic.
fn seq(range: std::ops::Range<u64>) -> String {
    range.map(|i| format!("{i}\n")).collect()
}

/// `consume -F '%o %s\n'` from the beginning, as (offset, value) pairs.
fn offsets_and_values(t: &TestDir, topic: &str) -> Vec<(i64, String)> {
    t.consume(topic, &["-F", "%o %s\\n"])
        .into_iter()
        .map(|l| {
            let (o, v) = l.split_once(' ').expect("'%o %s'");
            (o.parse().expect("offset"), v.to_string())
        })
        .collect()
}

/// Entries of an index file up to the first all-zero one (a preallocated tail).
fn used_entries(path: &Path, size: usize) -> Vec<Vec<u8>> {
    fs::read(path)
        .expect("read index")
        .chunks(size)
        .take_while(|e| e.len() == size && e.iter().any(|&b| b != 0))
        .map(<[u8]>::to_vec)
        .collect()
}

/// Names, sizes and contents (trailing zeros dropped) of every file of a directory.
fn dir_state(dir: &Path) -> BTreeMap<String, (u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).expect("read dir") {
        let e = e.expect("entry");
        let mut bytes = fs::read(e.path()).expect("read file");
        let len = bytes.len() as u64;
        let used = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        bytes.truncate(used);
        out.insert(e.file_name().to_string_lossy().into_owned(), (len, bytes));
    }
    out
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn log_start(t: &TestDir, topic: &str) -> i64 {
    t.describe(topic)["partitions"][0]["log_start_offset"]
        .as_i64()
        .expect("log_start_offset")
}

fn segments_json(t: &TestDir, topic: &str) -> Vec<Value> {
    json(&t.ok(&["segments", "list", topic, "--json"]))
        .as_array()
        .expect("segments list --json is an array")
        .clone()
}

/// Produces one group of records with the given timestamp (values `NAME-i`), then rolls.
fn produce_group(t: &TestDir, topic: &str, name: &str, n: usize, ts: i64, roll: bool) {
    t.produce(
        topic,
        json_lines((0..n).map(|i| (format!("{name}-{i}"), ts + i as i64))),
        &["--json"],
    );
    if roll {
        t.ok(&["segments", "roll", topic, "-q"]);
    }
}

// ---------------------------------------------------------------------------------------------
// 1. dump of broker-written and kafka-python segments
// ---------------------------------------------------------------------------------------------

#[test]
fn dump_of_every_broker_log_agrees_with_sources_md() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let expected = sources_md(&kafka);
    let found: Vec<String> = walk(&kafka, ".log")
        .iter()
        .map(|p| {
            p.strip_prefix(&kafka)
                .expect("under fixtures/kafka")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        found,
        expected.keys().cloned().collect::<Vec<_>>(),
        "every non-empty .log on disk is catalogued in SOURCES.md, and only those"
    );
    assert!(
        expected.values().any(|e| e.magic == 1) && expected.values().any(|e| e.magic == 2),
        "both magic 1 and magic 2 files"
    );

    let t = TestDir::new();
    for (rel, e) in &expected {
        let path = kafka.join(rel);
        assert_eq!(file_len(&path), e.bytes, "{rel}: size");
        let p = path.to_str().expect("UTF-8 path");

        // Text: one line per batch (legacy: per message), all valid.
        let text = t.ok(&["segments", "dump", p]);
        assert!(
            text.starts_with(&format!("Dumping {p}\n")),
            "{rel}: header: {}",
            &text[..text.len().min(200)]
        );
        assert!(!text.contains("invalid bytes"), "{rel}: {text}");
        let ls = batch_lines(&text);
        assert_eq!(ls.len() as u64, e.batches, "{rel}: batch lines");
        let (first_key, last_key) = match e.magic {
            2 => ("baseOffset:", "lastOffset:"),
            _ => ("offset:", "offset:"),
        };
        assert_eq!(field_i64(ls[0], first_key), e.first, "{rel}: first offset");
        assert_eq!(
            field_i64(ls[ls.len() - 1], last_key),
            e.last,
            "{rel}: last offset"
        );
        for l in &ls {
            assert_eq!(field(l, "isvalid:"), "true", "{rel}: {l}");
            assert_eq!(field_i64(l, "magic:"), i64::from(e.magic), "{rel}: {l}");
            assert_eq!(field(l, "compresscodec:"), "none", "{rel}: {l}");
        }

        // --json: one object per batch, counts and CRCs as catalogued.
        let entries = dump_entries(&t.ok(&["segments", "dump", p, "--json"]));
        assert_eq!(entries.len() as u64, e.batches, "{rel}: JSON batches");
        assert_eq!(
            entries.iter().map(DumpEntry::record_count).sum::<u64>(),
            e.records,
            "{rel}: JSON record count"
        );
        assert_eq!(entries[0].first(), e.first, "{rel}: JSON first offset");
        assert_eq!(
            entries[entries.len() - 1].last(),
            e.last,
            "{rel}: JSON last"
        );
        let mut pos = 0;
        for b in &entries {
            assert!(b.crc_valid, "{rel}: CRC of the batch at {}", b.position);
            assert_eq!(b.magic as u8, e.magic, "{rel}: magic at {}", b.position);
            assert_eq!(b.compression, "none", "{rel}");
            assert_eq!(b.file, p, "{rel}: file field");
            assert_eq!(b.position, pos, "{rel}: batches are back to back");
            assert!(b.records.is_none(), "{rel}: records only with --records");
            pos += b.size;
        }
        assert_eq!(pos, e.bytes, "{rel}: the batches cover the file");

        // --json --records: the records themselves.
        let entries = dump_entries(&t.ok(&["segments", "dump", p, "--json", "--records"]));
        assert_eq!(
            entries.len() as u64,
            e.batches,
            "{rel}: batches with records"
        );
        let mut n = 0u64;
        let mut prev = i64::MIN;
        for b in &entries {
            let recs = b.records.as_ref().expect("records with --records");
            if b.magic == 2 {
                assert_eq!(recs.len() as i64, b.count.expect("count"), "{rel}: count");
            } else {
                assert_eq!(recs.len(), 1, "{rel}: one record per legacy entry");
            }
            for r in recs {
                assert!(r.offset > prev, "{rel}: record offsets increase");
                assert!(
                    (b.first()..=b.last()).contains(&r.offset),
                    "{rel}: record offset {} outside its batch",
                    r.offset
                );
                prev = r.offset;
            }
            n += recs.len() as u64;
        }
        assert_eq!(n, e.records, "{rel}: records listed");
    }
}

#[test]
fn dump_of_kafka_python_compressed_segments_yields_the_expected_records() {
    let Some(fx) = fixtures() else { return };
    let t = TestDir::new();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let dir = fx.join("kafka-python").join(codec);
        let want = json(&fs::read_to_string(dir.join("expected.json")).expect("expected.json"));
        let want = want["records"].as_array().expect("records").clone();
        assert!(!want.is_empty(), "{codec}: expected.json has records");
        let log = dir.join("00000000000000000000.log");
        let out = t.ok(&[
            "segments",
            "dump",
            log.to_str().expect("UTF-8"),
            "--records",
            "--json",
        ]);
        let entries = dump_entries(&out);
        let mut got = Vec::new();
        for b in &entries {
            assert_eq!(b.compression, codec, "{codec}: every batch compressed");
            assert!(b.crc_valid, "{codec}: CRC at {}", b.position);
            let recs = b.records.as_ref().expect("records");
            assert_eq!(recs.len() as i64, b.count.expect("count"), "{codec}: count");
            got.extend(recs.iter());
        }
        assert_eq!(got.len(), want.len(), "{codec}: number of records");
        for (g, w) in got.iter().zip(&want) {
            let what = format!("{codec} offset {}", g.offset);
            assert_eq!(g.offset, w["offset"].as_i64().expect("offset"), "{what}");
            assert_eq!(g.timestamp, w["timestamp"].as_i64().expect("ts"), "{what}");
            assert_eq!(
                shape_bytes(&g.key, &what),
                b64_or_null(&w["key"]),
                "{what}: key"
            );
            assert_eq!(
                shape_bytes(&g.value, &what),
                b64_or_null(&w["value"]),
                "{what}: value"
            );
            let wh = w["headers"].as_array().expect("headers");
            assert_eq!(g.headers.len(), wh.len(), "{what}: headers");
            for ((name, v), w) in g.headers.iter().zip(wh) {
                assert_eq!(name, w[0].as_str().expect("header name"), "{what}");
                assert_eq!(shape_bytes(v, &what), b64_or_null(&w[1]), "{what}: header");
            }
        }
    }
}

#[test]
fn dump_of_broker_index_and_time_index() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("kafka/ronem123__rupia-transaction-service/kafka-logs/__cluster_metadata-0");
    let base = 1_725_413i64;
    let idx = segment_file(&dir, base, ".index");
    let tidx = segment_file(&dir, base, ".timeindex");
    let t = TestDir::new();

    // The raw entries: (relative offset u32, position u32).
    let raw = fs::read(&idx).expect("read .index");
    assert_eq!(raw.len(), 213 * 8, "a trimmed index of 213 entries");
    let want: Vec<(i64, u32)> = raw
        .chunks(8)
        .map(|c| {
            (
                base + i64::from(u32::from_be_bytes(c[..4].try_into().expect("4"))),
                u32::from_be_bytes(c[4..].try_into().expect("4")),
            )
        })
        .collect();
    let out = t.ok(&["segments", "dump", idx.to_str().expect("UTF-8")]);
    assert!(!out.contains("MISMATCH"), "{out}");
    assert!(!out.contains("do not match"), "{out}");
    let entries: Vec<(i64, u32)> = out
        .lines()
        .filter(|l| l.starts_with("offset: "))
        .map(|l| {
            (
                field_i64(l, "offset:"),
                field(l, "position:").parse().expect("position"),
            )
        })
        .collect();
    assert_eq!(entries.len(), 213, "{out}");
    assert_eq!(entries, want, "dumped entries are the file's");
    // Every entry names the batch at its position by its last offset.
    let js: Vec<Value> =
        lines(&t.ok(&["segments", "dump", idx.to_str().expect("UTF-8"), "--json"]))
            .iter()
            .map(|l| json(l))
            .collect();
    assert_eq!(js.len(), 213);
    assert!(
        js.iter().all(|e| e["matches_log"] == Value::Bool(true)),
        "every entry matches the log"
    );

    // The time index: (timestamp i64, relative offset u32), in order.
    let raw = fs::read(&tidx).expect("read .timeindex");
    assert_eq!(raw.len(), 214 * 12);
    let want: Vec<(i64, i64)> = raw
        .chunks(12)
        .map(|c| {
            (
                i64::from_be_bytes(c[..8].try_into().expect("8")),
                base + i64::from(u32::from_be_bytes(c[8..].try_into().expect("4"))),
            )
        })
        .collect();
    let out = t.ok(&["segments", "dump", tidx.to_str().expect("UTF-8")]);
    assert!(!out.contains("OUT OF ORDER"), "{out}");
    let entries: Vec<(i64, i64)> = out
        .lines()
        .filter(|l| l.starts_with("timestamp: "))
        .map(|l| (field_i64(l, "timestamp:"), field_i64(l, "offset:")))
        .collect();
    assert_eq!(entries, want, "dumped time index entries are the file's");
}

#[test]
fn verify_of_broker_partitions_is_clean() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let expected = sources_md(&kafka);
    // Batches per partition directory, from SOURCES.md.
    let mut per_dir: BTreeMap<PathBuf, u64> = BTreeMap::new();
    for (rel, e) in &expected {
        let dir = kafka.join(rel).parent().expect("dir").to_path_buf();
        *per_dir.entry(dir).or_default() += e.batches;
    }
    let t = TestDir::new();
    for (dir, batches) in &per_dir {
        let (code, doc) = verify_json(&t, &[dir.to_str().expect("UTF-8")]);
        assert_eq!(code, 0, "{}: {doc}", dir.display());
        assert!(problems(&doc).is_empty(), "{}: {doc}", dir.display());
        assert_eq!(doc[0]["batches"], *batches, "{}: batches", dir.display());
    }
}

#[test]
fn verify_counts_the_records_of_legacy_segments() {
    let Some(fx) = fixtures() else { return };
    let kafka = fx.join("kafka");
    let t = TestDir::new();
    for (rel, e) in sources_md(&kafka) {
        if e.magic != 1 {
            continue;
        }
        let dir = kafka.join(&rel).parent().expect("dir").to_path_buf();
        let (code, doc) = verify_json(&t, &[dir.to_str().expect("UTF-8")]);
        assert_eq!(code, 0);
        assert_eq!(doc[0]["records"], e.records, "{rel}: {doc}");
    }
}

#[test]
fn verify_finds_a_flipped_byte_in_a_legacy_message() {
    let Some(fx) = fixtures() else { return };
    let src = fx.join("kafka/xpxwo100__bullShit/tmp/kafka-logs/topic1-0/00000000000000000000.log");
    let t = TestDir::new();
    let dir = t.root().join("topic1-0");
    fs::create_dir_all(&dir).expect("mkdir");
    let log = dir.join("00000000000000000000.log");
    let mut bytes = fs::read(&src).expect("read fixture");
    // Second message (43 bytes at 43): flip a bit of its value.
    bytes[43 + 40] ^= 1;
    fs::write(&log, &bytes).expect("write copy");
    let dump = t.ok(&["segments", "dump", log.to_str().expect("UTF-8")]);
    assert!(dump.contains("isvalid: false"), "dump sees it: {dump}");
    let (code, doc) = verify_json(&t, &[dir.to_str().expect("UTF-8")]);
    assert_eq!(
        problems(&doc).first().map(|p| (p.0.as_str(), p.1)),
        Some(("00000000000000000000.log", 43)),
        "{doc}"
    );
    assert_eq!(code, 3, "{doc}");
}

// ---------------------------------------------------------------------------------------------
// 2. dump --max-bytes and --offset on a large segment
// ---------------------------------------------------------------------------------------------

/// A topic `big` with one segment of about 3 MB in batches of at most 2000 bytes (values
/// `record-00000000-xxx…`, equal offsets).
fn big_topic(t: &TestDir) -> PathBuf {
    t.ok(&["topics", "create", "big", "-c", "max.message.bytes=2000"]);
    let pad = "x".repeat(40);
    let input: String = (0..50_000)
        .map(|i| format!("record-{i:08}-{pad}\n"))
        .collect();
    t.produce("big", input, &[]);
    let log = segment_file(&t.partition_dir("big", 0), 0, ".log");
    assert!(file_len(&log) > 2_500_000, "a few MB");
    log
}

#[test]
fn dump_max_bytes_and_offset_on_a_large_segment() {
    let t = TestDir::new();
    let log = big_topic(&t);
    let bytes = fs::read(&log).expect("read log");
    let all = frames(&bytes);
    assert!(all.len() > 1000, "many batches: {}", all.len());
    let p = log.to_str().expect("UTF-8");

    // --max-bytes: only the batches starting within the first N bytes.
    for max in [1u64, 1000, 5000, 20_000] {
        let want: Vec<u64> = all
            .iter()
            .filter(|f| f.position < max)
            .map(|f| f.position)
            .collect();
        let text = t.ok(&["segments", "dump", "big", "--max-bytes", &max.to_string()]);
        let got: Vec<u64> = batch_lines(&text)
            .iter()
            .map(|l| field_i64(l, "position:") as u64)
            .collect();
        assert_eq!(got, want, "--max-bytes {max}");
        let js = dump_entries(&t.ok(&[
            "segments",
            "dump",
            p,
            "--max-bytes",
            &max.to_string(),
            "--json",
        ]));
        assert_eq!(
            js.iter().map(|e| e.position).collect::<Vec<_>>(),
            want,
            "--max-bytes {max} --json"
        );
    }

    // --offset: starts at the batch holding N and goes on to the end.
    let batches = decode_log(&log);
    for n in [
        0,
        batches[1].base_offset,
        batches[7].last_offset,
        30_000,
        batches[batches.len() - 1].last_offset,
    ] {
        let i = batches
            .iter()
            .position(|b| b.base_offset <= n && n <= b.last_offset)
            .expect("a batch holds n");
        let js = dump_entries(&t.ok(&[
            "segments",
            "dump",
            "big",
            "--offset",
            &n.to_string(),
            "--json",
        ]));
        let first = js.first().expect("at least one batch");
        assert!(
            first.first() <= n && first.last() >= n,
            "--offset {n}: first batch {}..{}",
            first.first(),
            first.last()
        );
        assert_eq!(first.position, batches[i].position, "--offset {n}");
        assert_eq!(
            js.len(),
            batches.len() - i,
            "--offset {n}: then every later batch"
        );
        let text = t.ok(&["segments", "dump", "big", "--offset", &n.to_string()]);
        let first_line = batch_lines(&text)[0];
        assert!(
            field_i64(first_line, "baseOffset:") <= n && field_i64(first_line, "lastOffset:") >= n,
            "--offset {n}: {first_line}"
        );
    }

    // --offset with --records: the first record printed is in the batch holding N.
    let js = dump_entries(&t.ok(&[
        "segments",
        "dump",
        p,
        "--offset",
        "30000",
        "--records",
        "--json",
        "--max-bytes",
        "100000",
    ]));
    let recs = js[0].records.as_ref().expect("records");
    assert!(recs.iter().any(|r| r.offset == 30_000));
    assert_eq!(
        shape_bytes(&recs[(30_000 - js[0].first()) as usize].value, "value"),
        Some(format!("record-{:08}-{}", 30_000, "x".repeat(40)).into_bytes())
    );
}

#[test]
fn dump_offset_with_max_bytes_prints_the_batch_holding_the_offset() {
    let t = TestDir::new();
    big_topic(&t);
    for max in [1u64, 2000, 5000] {
        let js = dump_entries(&t.ok(&[
            "segments",
            "dump",
            "big",
            "--offset",
            "30000",
            "--max-bytes",
            &max.to_string(),
            "--json",
        ]));
        let first = js
            .first()
            .unwrap_or_else(|| panic!("--max-bytes {max}: no batch printed"));
        assert!(first.first() <= 30_000 && first.last() >= 30_000);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. segments list and roll
// ---------------------------------------------------------------------------------------------

/// Checks `segments list --json` and the table against the files of partition 0.
fn check_list(t: &TestDir, topic: &str) -> Vec<Value> {
    let dir = t.partition_dir(topic, 0);
    let bases = segment_bases(&dir);
    let rows = segments_json(t, topic);
    assert_eq!(rows.len(), bases.len(), "one row per segment: {rows:?}");
    for (i, (row, &base)) in rows.iter().zip(&bases).enumerate() {
        let active = i + 1 == bases.len();
        let log = segment_file(&dir, base, ".log");
        let batches = decode_log(&log);
        assert_eq!(row["partition"], 0);
        assert_eq!(row["base_offset"], base, "{row}");
        assert_eq!(
            row["last_offset"].as_i64(),
            batches.last().map(|b| b.last_offset),
            "{row}"
        );
        assert_eq!(row["batches"], batches.len(), "{row}");
        assert_eq!(
            row["records"],
            batches.iter().map(|b| b.values.len()).sum::<usize>(),
            "{row}"
        );
        assert_eq!(row["size_bytes"], file_len(&log), "{row}");
        assert_eq!(row["active"], active, "{row}");
        assert_eq!(
            row["index_entries"],
            used_entries(&segment_file(&dir, base, ".index"), 8).len(),
            "{row}"
        );
        assert_eq!(
            row["time_index_entries"],
            used_entries(&segment_file(&dir, base, ".timeindex"), 12).len(),
            "{row}"
        );
        if let Some(b) = batches.last() {
            assert_eq!(row["last_timestamp"], b.max_timestamp, "{row}");
        }
    }
    // The table says the same.
    let table = t.ok(&["segments", "list", topic]);
    let tl = lines(&table);
    assert!(tl[0].starts_with("PARTITION"), "{table}");
    assert_eq!(tl.len(), rows.len() + 1, "{table}");
    for (line, row) in tl[1..].iter().zip(&rows) {
        // PARTITION BASE LAST RECORDS SIZE(2 tokens) FIRST-TS LAST-TS INDEX STATE
        let c: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(c.len(), 10, "{line}");
        assert_eq!(c[1], row["base_offset"].to_string(), "{line}");
        let last = row["last_offset"]
            .as_i64()
            .map_or_else(|| "-".to_string(), |o| o.to_string());
        assert_eq!(c[2], last, "{line}");
        assert_eq!(c[3], row["records"].to_string(), "{line}");
        assert_eq!(
            c[8],
            format!("{}/{}", row["index_entries"], row["time_index_entries"]),
            "{line}"
        );
        let state = if row["active"] == true {
            "active"
        } else {
            "closed"
        };
        assert_eq!(c[9], state, "{line}");
    }
    rows
}

#[test]
fn segments_list_and_roll_match_the_files() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "l",
        "-c",
        "segment.bytes=3000",
        "-c",
        "max.message.bytes=400",
        "-c",
        "index.interval.bytes=200",
    ]);
    t.produce("l", seq(0..1000), &[]);
    let dir = t.partition_dir("l", 0);
    let before = segment_bases(&dir);
    assert!(before.len() >= 3, "several segments: {before:?}");
    let rows = check_list(&t, "l");
    let active_row = rows.last().expect("rows").clone();
    assert!(
        active_row["index_entries"].as_u64().expect("n") > 0,
        "the active segment has index entries: {active_row}"
    );

    // Roll: a new, empty active segment named by the log end offset.
    let out = t.run(&["segments", "roll", "l"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("active segment is now 00000000000000001000"),
        "{stderr}"
    );
    let after = segment_bases(&dir);
    assert_eq!(
        after[..after.len() - 1],
        before[..],
        "older segments unchanged"
    );
    assert_eq!(
        *after.last().expect("bases"),
        1000,
        "named by the log end offset"
    );
    let rows = check_list(&t, "l");
    let closed = &rows[rows.len() - 2];
    let new = &rows[rows.len() - 1];
    assert_eq!(closed["base_offset"], active_row["base_offset"]);
    assert_eq!(closed["active"], false);
    assert_eq!(closed["last_offset"], 999);
    assert_eq!(closed["index_entries"], active_row["index_entries"]);
    assert_eq!(new["active"], true);
    assert_eq!(new["records"], 0);
    assert_eq!(new["size_bytes"], 0);
    assert_eq!(new["last_offset"], Value::Null);
    // Every closed segment's indexes are trimmed to their entries; the new one's preallocated.
    for (i, &b) in after.iter().enumerate() {
        let idx = file_len(&segment_file(&dir, b, ".index"));
        let tidx = file_len(&segment_file(&dir, b, ".timeindex"));
        if i + 1 == after.len() {
            assert_eq!((idx, tidx), (PREALLOCATED_INDEX, PREALLOCATED_TIME_INDEX));
        } else {
            assert_eq!(
                idx,
                8 * rows[i]["index_entries"].as_u64().expect("n"),
                "{b}"
            );
            assert_eq!(
                tidx,
                12 * rows[i]["time_index_entries"].as_u64().expect("n"),
                "{b}"
            );
            assert!(
                tidx >= 12,
                "{b}: a closed segment has its largest timestamp"
            );
        }
    }

    // Rolling an empty active segment changes nothing.
    t.ok(&["segments", "roll", "l"]);
    assert_eq!(segment_bases(&dir), after);
    // Producing goes on in the new segment.
    t.produce("l", "next\n", &[]);
    let rows = check_list(&t, "l");
    assert_eq!(rows.last().expect("rows")["last_offset"], 1000);
    assert_eq!(t.consume("l", &["-o", "1000"]), ["next"]);
}

// ---------------------------------------------------------------------------------------------
// 4. verify and repair
// ---------------------------------------------------------------------------------------------

/// A topic `v`: a closed segment 0 holding offsets 0..1000 and an active segment 1000 holding
/// 1000..1100, in batches of at most 500 bytes, index entries every 300 bytes, each record's
/// value its offset and its timestamp rising with it.
fn verify_topic(t: &TestDir) -> PathBuf {
    t.ok(&[
        "topics",
        "create",
        "v",
        "-c",
        "max.message.bytes=500",
        "-c",
        "index.interval.bytes=300",
    ]);
    let t0 = now_ms() - HOUR;
    let recs = |r: std::ops::Range<i64>| r.map(move |i| (i.to_string(), t0 + 10 * i));
    t.produce("v", json_lines(recs(0..1000)), &["--json"]);
    t.ok(&["segments", "roll", "v", "-q"]);
    t.produce("v", json_lines(recs(1000..1100)), &["--json"]);
    let dir = t.partition_dir("v", 0);
    assert_eq!(segment_bases(&dir), [0, 1000]);
    dir
}

fn all_values(range: std::ops::Range<i64>) -> Vec<(i64, String)> {
    range.map(|i| (i, i.to_string())).collect()
}

#[test]
fn verify_a_clean_log_exits_0() {
    let t = TestDir::new();
    verify_topic(&t);
    let (code, doc) = verify_json(&t, &["v"]);
    assert_eq!(code, 0, "{doc}");
    assert!(problems(&doc).is_empty(), "{doc}");
    assert_eq!(doc[0]["segments"], 2);
    assert_eq!(doc[0]["records"], 1100);
    let text = t.ok(&["segments", "verify", "v"]);
    assert!(text.trim_end().ends_with(": ok"), "{text}");
    // --repair on a clean log changes nothing.
    let state = dir_state(&t.partition_dir("v", 0));
    let (code, doc) = verify_json(&t, &["v", "--repair"]);
    assert_eq!(code, 0);
    assert!(repairs(&doc).is_empty(), "{doc}");
    assert_eq!(dir_state(&t.partition_dir("v", 0)), state);
}

#[test]
fn verify_finds_a_flipped_byte_and_repair_keeps_every_other_record() {
    let t = TestDir::new();
    let dir = verify_topic(&t);
    let log = segment_file(&dir, 0, ".log");
    let mut bytes = fs::read(&log).expect("read");
    let all = frames(&bytes);
    let k = all.len() / 2;
    let damaged = all[k];
    let next = all[k + 1];
    let batches = decode_log(&log);
    let (lost_first, lost_last) = (batches[k].base_offset, batches[k].last_offset);
    // A byte inside the records of batch k.
    bytes[(damaged.position + damaged.size - 5) as usize] ^= 0x5a;
    fs::write(&log, &bytes).expect("write");

    let (code, doc) = verify_json(&t, &["v"]);
    assert_eq!(code, 3, "damage found: {doc}");
    let ps = problems(&doc);
    let log_problems: Vec<_> = ps.iter().filter(|p| p.0.ends_with(".log")).collect();
    assert_eq!(
        log_problems,
        [&(
            "00000000000000000000.log".to_string(),
            damaged.position,
            "corrupt".to_string()
        )],
        "{doc}"
    );
    assert_eq!(
        ps[0].1, damaged.position,
        "the first problem is the damage: {doc}"
    );
    // Text mode names the same place and exits 3.
    let out = t.run(&["segments", "verify", "v"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "00000000000000000000.log:{}: corrupt",
            damaged.position
        )),
        "{text}"
    );

    let (code, doc) = verify_json(&t, &["v", "--repair"]);
    assert_eq!(code, 0, "repaired: {doc}");
    let rs = repairs(&doc);
    let removed: Vec<&Value> = rs.iter().filter(|r| r["action"] == "removed").collect();
    assert_eq!(removed.len(), 1, "{doc}");
    assert_eq!(
        file_name_of(&removed[0]["path"]),
        "00000000000000000000.log"
    );
    assert_eq!(removed[0]["position"], damaged.position, "{doc}");
    assert_eq!(
        removed[0]["bytes"], damaged.size,
        "exactly the damaged batch: {doc}"
    );
    let moved: Vec<&Value> = rs.iter().filter(|r| r["action"] == "moved").collect();
    assert_eq!(moved.len(), 1, "{doc}");
    assert_eq!(moved[0]["position"], next.position);
    assert_eq!(moved[0]["first_offset"], lost_last + 1);
    assert_eq!(moved[0]["last_offset"], 999);
    assert_eq!(
        file_name_of(&moved[0]["to"]),
        format!("{:020}.log", lost_last + 1)
    );
    let (code, doc) = verify_json(&t, &["v"]);
    assert_eq!((code, problems(&doc)), (0, vec![]), "clean after repair");

    // Every record but those of the damaged batch, at its old offset.
    let want: Vec<(i64, String)> = all_values(0..1100)
        .into_iter()
        .filter(|(o, _)| !(lost_first..=lost_last).contains(o))
        .collect();
    assert_eq!(offsets_and_values(&t, "v"), want);
    t.produce("v", "next\n", &[]);
    assert_eq!(
        t.consume("v", &["-o", "-1", "-F", "%o %s\\n"]),
        ["1100 next"]
    );
}

#[test]
fn verify_finds_a_torn_tail_and_repair_cuts_it() {
    let t = TestDir::new();
    let dir = verify_topic(&t);
    let log = segment_file(&dir, 1000, ".log");
    let bytes = fs::read(&log).expect("read");
    let all = frames(&bytes);
    assert!(all.len() >= 2, "several batches in the active segment");
    let torn = all[all.len() - 1];
    let kept_until = decode_log(&log)[all.len() - 2].last_offset;
    let cut = torn.position + torn.size / 2;
    fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open")
        .set_len(cut)
        .expect("truncate");

    let (code, doc) = verify_json(&t, &["v"]);
    assert_eq!(code, 3, "{doc}");
    let ps = problems(&doc);
    assert_eq!(
        ps[0],
        (
            "00000000000000001000.log".to_string(),
            torn.position,
            "torn_tail".to_string()
        ),
        "{doc}"
    );
    // Besides, only index entries of that segment pointing at the torn batch.
    assert!(
        ps[1..]
            .iter()
            .all(|p| p.0 == "00000000000000001000.index" && p.2 == "index_entry"),
        "{doc}"
    );

    let (code, doc) = verify_json(&t, &["v", "--repair"]);
    assert_eq!(code, 0, "{doc}");
    let rs = repairs(&doc);
    let removed: Vec<&Value> = rs.iter().filter(|r| r["action"] == "removed").collect();
    assert_eq!(removed.len(), 1, "{doc}");
    assert_eq!(
        file_name_of(&removed[0]["path"]),
        "00000000000000001000.log"
    );
    assert_eq!(removed[0]["position"], torn.position);
    assert_eq!(removed[0]["bytes"], cut - torn.position);
    assert!(rs.iter().all(|r| r["action"] != "moved"), "{doc}");
    assert_eq!(file_len(&log), torn.position);

    assert_eq!(offsets_and_values(&t, "v"), all_values(0..kept_until + 1));
    t.produce("v", "next\n", &[]);
    assert_eq!(
        t.consume("v", &["-o", "-1", "-F", "%o %s\\n"]),
        [format!("{} next", kept_until + 1)]
    );
    let (code, doc) = verify_json(&t, &["v"]);
    assert_eq!(code, 0, "{doc}");
}

#[test]
fn verify_finds_a_bogus_index_entry() {
    let t = TestDir::new();
    let dir = verify_topic(&t);
    let idx = segment_file(&dir, 0, ".index");
    let mut bytes = fs::read(&idx).expect("read");
    assert!(bytes.len() >= 5 * 8, "index entries: {}", bytes.len());
    // Slot 3 points one byte past its batch: between its neighbours, not a batch start.
    let slot = 3;
    let at = slot * 8 + 4;
    let pos = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4"));
    bytes[at..at + 4].copy_from_slice(&(pos + 1).to_be_bytes());
    fs::write(&idx, &bytes).expect("write");

    let (code, doc) = verify_json(&t, &["v"]);
    assert_eq!(code, 3, "{doc}");
    assert_eq!(
        problems(&doc),
        [(
            "00000000000000000000.index".to_string(),
            (slot * 8) as u64,
            "index_entry".to_string()
        )],
        "{doc}"
    );

    let state = fs::read(segment_file(&dir, 0, ".log")).expect("read log");
    let (code, doc) = verify_json(&t, &["v", "--repair"]);
    assert_eq!(code, 0, "{doc}");
    assert!(
        repairs(&doc).iter().any(|r| r["action"] == "rebuilt_index"
            && file_name_of(&r["path"]) == "00000000000000000000.index"),
        "{doc}"
    );
    assert!(
        repairs(&doc).iter().all(|r| r["action"] == "rebuilt_index"),
        "{doc}"
    );
    assert_eq!(fs::read(segment_file(&dir, 0, ".log")).expect("log"), state);
    assert_eq!(verify_json(&t, &["v"]).0, 0);
    assert_eq!(offsets_and_values(&t, "v"), all_values(0..1100));
}

#[test]
fn verify_finds_an_out_of_order_time_index() {
    let t = TestDir::new();
    let dir = verify_topic(&t);
    let tidx = segment_file(&dir, 0, ".timeindex");
    let mut bytes = fs::read(&tidx).expect("read");
    assert!(bytes.len() >= 4 * 12, "time index entries: {}", bytes.len());
    // Slot 2 goes back before slot 1's timestamp (and stays below slot 3's).
    let slot = 2;
    let prev = i64::from_be_bytes(bytes[12..20].try_into().expect("8"));
    bytes[slot * 12..slot * 12 + 8].copy_from_slice(&(prev - 1).to_be_bytes());
    fs::write(&tidx, &bytes).expect("write");

    let (code, doc) = verify_json(&t, &["v"]);
    assert_eq!(code, 3, "{doc}");
    assert_eq!(
        problems(&doc),
        [(
            "00000000000000000000.timeindex".to_string(),
            (slot * 12) as u64,
            "time_index".to_string()
        )],
        "{doc}"
    );
    let (code, doc) = verify_json(&t, &["v", "--repair"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(verify_json(&t, &["v"]).0, 0);
    let dump = t.ok(&["segments", "dump", tidx.to_str().expect("UTF-8")]);
    assert!(!dump.contains("OUT OF ORDER"), "{dump}");
}

#[test]
fn repair_of_a_corrupted_base_offset_keeps_the_valid_batches_after_it() {
    let t = TestDir::new();
    let dir = verify_topic(&t);
    let log = segment_file(&dir, 0, ".log");
    let mut bytes = fs::read(&log).expect("read");
    let all = frames(&bytes);
    let k = all.len() / 2;
    let damaged = all[k];
    let batches = decode_log(&log);
    let (lost_first, lost_last) = (batches[k].base_offset, batches[k].last_offset);
    // Bit 24 of the batch's base offset: a field the CRC does not cover.
    bytes[damaged.position as usize + 4] ^= 1;
    fs::write(&log, &bytes).expect("write");

    let (code, doc) = verify_json(&t, &["v"]);
    assert_eq!(code, 3, "damage found: {doc}");
    let (code, doc) = verify_json(&t, &["v", "--repair"]);
    assert_eq!(code, 0, "repaired: {doc}");
    assert_eq!(verify_json(&t, &["v"]).0, 0, "clean after repair");
    let want: Vec<(i64, String)> = all_values(0..1100)
        .into_iter()
        .filter(|(o, _)| !(lost_first..=lost_last).contains(o))
        .collect();
    assert_eq!(offsets_and_values(&t, "v"), want);
}

#[test]
fn clean_dry_run_after_a_repair_lists_what_clean_deletes() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "v",
        "-c",
        "max.message.bytes=500",
        "-c",
        "index.interval.bytes=300",
    ]);
    let t0 = now_ms() - 10 * HOUR;
    t.produce(
        "v",
        json_lines((0..1000).map(|i| (i.to_string(), t0 + i))),
        &["--json"],
    );
    t.ok(&["segments", "roll", "v", "-q"]);
    t.produce("v", seq(1000..1100), &[]);
    let dir = t.partition_dir("v", 0);
    let log = segment_file(&dir, 0, ".log");
    let mut bytes = fs::read(&log).expect("read");
    let all = frames(&bytes);
    let damaged = all[all.len() / 2];
    bytes[(damaged.position + damaged.size - 5) as usize] ^= 0x5a;
    fs::write(&log, &bytes).expect("write");
    assert_eq!(verify_json(&t, &["v", "--repair"]).0, 0);
    let moved = segment_bases(&dir)[1];
    assert!(moved > 0 && moved < 1000, "a segment of moved batches");
    t.ok(&[
        "topics",
        "alter",
        "v",
        "-c",
        &format!("retention.ms={HOUR}"),
    ]);
    let dry = json(&t.ok(&["clean", "v", "--dry-run", "--json"]));
    let done = json(&t.ok(&["clean", "v", "--json"]));
    assert_eq!(dry, done, "--dry-run lists what clean deletes");
    assert_eq!(done.as_array().expect("array").len(), 2, "{done}");
}

// ---------------------------------------------------------------------------------------------
// 5. retention
// ---------------------------------------------------------------------------------------------

#[test]
fn retention_ms_deletes_old_closed_segments_oldest_first() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "r"]);
    let now = now_ms();
    // Closed segments aged 10 h, 8 h, 6 h, 1 h, 9 h; the active one 7 h.
    for (i, age) in [10, 8, 6, 1, 9].into_iter().enumerate() {
        produce_group(&t, "r", &format!("g{i}"), 20, now - age * HOUR, true);
    }
    produce_group(&t, "r", "g5", 20, now - 7 * HOUR, false);
    let dir = t.partition_dir("r", 0);
    let bases = segment_bases(&dir);
    assert_eq!(bases, [0, 20, 40, 60, 80, 100]);
    assert_eq!(
        t.ok(&["clean", "r", "--json"]).trim(),
        "[]",
        "nothing old yet"
    );

    t.ok(&[
        "topics",
        "alter",
        "r",
        "-c",
        &format!("retention.ms={}", 5 * HOUR),
    ]);
    // --dry-run: the three oldest (not the 9 h one behind the 1 h one, not the active one).
    let state = dir_state(&dir);
    let dry = json(&t.ok(&["clean", "r", "--dry-run", "--json"]));
    let listed: Vec<(i64, i64, &str)> = dry
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            (
                d["base_offset"].as_i64().expect("base"),
                d["end_offset"].as_i64().expect("end"),
                d["reason"].as_str().expect("reason"),
            )
        })
        .collect();
    let want = [
        (0, 20, "retention_ms"),
        (20, 40, "retention_ms"),
        (40, 60, "retention_ms"),
    ];
    assert_eq!(listed, want, "{dry}");
    for d in dry.as_array().expect("array") {
        let b = d["base_offset"].as_i64().expect("base");
        assert_eq!(d["size_bytes"], file_len(&segment_file(&dir, b, ".log")));
        assert_eq!(d["topic"], "r");
    }
    let text = t.run(&["clean", "r", "--dry-run"]);
    assert!(String::from_utf8_lossy(&text.stderr).contains("dry run"));
    assert_eq!(
        lines(&String::from_utf8_lossy(&text.stdout)).len(),
        4,
        "a header and three rows"
    );
    assert_eq!(dir_state(&dir), state, "--dry-run deletes nothing");
    assert_eq!(log_start(&t, "r"), 0);

    let done = json(&t.ok(&["clean", "r", "--json"]));
    assert_eq!(done, dry, "clean deletes what --dry-run listed");
    assert_eq!(segment_bases(&dir), [60, 80, 100]);
    for b in [0, 20, 40] {
        for suffix in [".log", ".index", ".timeindex"] {
            assert!(
                !segment_file(&dir, b, suffix).exists(),
                "{b}{suffix} is gone"
            );
        }
    }
    assert_eq!(t.consume("r", &["-n", "1"]), ["g3-0"]);
    assert_eq!(log_start(&t, "r"), 60);
    assert_eq!(t.ok(&["clean", "r", "--json"]).trim(), "[]", "nothing more");

    // Even when everything is old, the active segment stays.
    t.ok(&["topics", "alter", "r", "-c", "retention.ms=1000"]);
    let done = json(&t.ok(&["clean", "--json"]));
    assert_eq!(done.as_array().expect("array").len(), 2, "{done}");
    assert_eq!(segment_bases(&dir), [100]);
    assert_eq!(t.consume("r", &[]).len(), 20);
    assert_eq!(log_start(&t, "r"), 100);
}

#[test]
fn retention_bytes_deletes_the_oldest_while_the_rest_stays_above_the_limit() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "b"]);
    let now = now_ms();
    for i in 0..5 {
        produce_group(&t, "b", &format!("g{i}"), 20 + 5 * i, now, true);
    }
    produce_group(&t, "b", "g5", 10, now, false);
    let dir = t.partition_dir("b", 0);
    let bases = segment_bases(&dir);
    assert_eq!(bases.len(), 6);
    let sizes: Vec<u64> = bases
        .iter()
        .map(|&b| file_len(&segment_file(&dir, b, ".log")))
        .collect();
    let keep3: u64 = sizes[3..].iter().sum();

    // A limit one byte above the last three segments: segments 0 and 1 go, 2 must stay.
    t.ok(&[
        "topics",
        "alter",
        "b",
        "-c",
        &format!("retention.bytes={}", keep3 + 1),
    ]);
    let done = json(&t.ok(&["clean", "b", "--json"]));
    let got: Vec<(i64, &str)> = done
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            (
                d["base_offset"].as_i64().expect("b"),
                d["reason"].as_str().expect("r"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(bases[0], "retention_bytes"), (bases[1], "retention_bytes")]
    );
    assert_eq!(segment_bases(&dir), bases[2..]);

    // Exactly the size of the last three: segment 2 goes too.
    t.ok(&[
        "topics",
        "alter",
        "b",
        "-c",
        &format!("retention.bytes={keep3}"),
    ]);
    let done = json(&t.ok(&["clean", "b", "--json"]));
    assert_eq!(done.as_array().expect("array").len(), 1, "{done}");
    assert_eq!(done[0]["base_offset"], bases[2]);
    assert_eq!(segment_bases(&dir), bases[3..]);
    assert_eq!(t.consume("b", &["-n", "1"]), ["g3-0"]);
    assert_eq!(log_start(&t, "b"), bases[3]);

    // A limit of 0 leaves only the active segment.
    t.ok(&["topics", "alter", "b", "-c", "retention.bytes=0"]);
    t.ok(&["clean", "b"]);
    assert_eq!(segment_bases(&dir), bases[5..]);
    assert_eq!(t.consume("b", &[]).len(), 10);
}

#[test]
fn retention_runs_when_a_segment_rolls() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "o", "-c", "segment.bytes=1000"]);
    let now = now_ms();
    // Old records (3 h) fill several segments; the default retention (7 d) keeps them.
    produce_group(&t, "o", "old", 300, now - 3 * HOUR, false);
    let dir = t.partition_dir("o", 0);
    let old = segment_bases(&dir);
    assert!(old.len() >= 3, "several segments: {old:?}");
    let last_old = *old.last().expect("bases");

    t.ok(&[
        "topics",
        "alter",
        "o",
        "-c",
        &format!("retention.ms={HOUR}"),
    ]);
    assert_eq!(segment_bases(&dir), old, "altering alone deletes nothing");
    // New records fill segments that roll: retention runs at each roll.
    produce_group(&t, "o", "new", 300, now, false);
    let bases = segment_bases(&dir);
    assert!(bases.len() >= 2, "the new records rolled: {bases:?}");
    // Every closed segment holding only old records is gone, files and all; the first one
    // left holds new records (the last old segment stays only if new records joined it).
    for &b in old.iter().filter(|&&b| b < bases[0]) {
        for suffix in [".log", ".index", ".timeindex"] {
            assert!(
                !segment_file(&dir, b, suffix).exists(),
                "{b}{suffix} is gone"
            );
        }
    }
    assert!(
        bases[0] == last_old || bases[0] == 300,
        "retention deleted every old-only segment: {old:?} -> {bases:?}"
    );
    let first_seg = decode_log(&segment_file(&dir, bases[0], ".log"));
    assert!(
        first_seg.iter().any(|b| b.max_timestamp >= now),
        "the first segment left holds new records"
    );
    assert_eq!(log_start(&t, "o"), bases[0]);
    let value = |o: i64| {
        if o < 300 {
            format!("old-{o}")
        } else {
            format!("new-{}", o - 300)
        }
    };
    let got = offsets_and_values(&t, "o");
    assert_eq!(
        got[0],
        (bases[0], value(bases[0])),
        "consume starts at the log start"
    );
    assert_eq!(got.len() as i64, 600 - bases[0]);
    assert!(got.iter().all(|(o, v)| *v == value(*o)));
}

// ---------------------------------------------------------------------------------------------
// 6. trim
// ---------------------------------------------------------------------------------------------

/// A topic `t` of 300 records (values = offsets) in segments of at most 1000 bytes.
fn trim_topic(t: &TestDir) -> (PathBuf, Vec<i64>) {
    t.ok(&["topics", "create", "t", "-c", "segment.bytes=1000"]);
    t.produce("t", seq(0..300), &[]);
    let dir = t.partition_dir("t", 0);
    let bases = segment_bases(&dir);
    assert!(bases.len() >= 4, "{bases:?}");
    (dir, bases)
}

#[test]
fn trim_before_an_offset_moves_the_log_start() {
    let t = TestDir::new();
    let (dir, bases) = trim_topic(&t);
    let n = bases[1] + 10;
    let out = json(&t.ok(&["trim", "t", "--before", &n.to_string(), "--json"]));
    assert_eq!(out[0]["partition"], 0);
    assert_eq!(out[0]["old_log_start_offset"], 0);
    assert_eq!(out[0]["new_log_start_offset"], n);
    let deleted = out[0]["deleted_segments"].as_array().expect("deleted");
    assert_eq!(deleted.len(), 1, "{out}");
    assert_eq!(deleted[0]["base_offset"], 0);
    assert_eq!(deleted[0]["end_offset"], bases[1]);
    assert_eq!(deleted[0]["reason"], "log_start_offset");
    assert_eq!(
        segment_bases(&dir),
        bases[1..],
        "the segment holding {n} stays"
    );
    for suffix in [".log", ".index", ".timeindex"] {
        assert!(!segment_file(&dir, 0, suffix).exists(), "0{suffix} is gone");
    }
    let want: Vec<String> = (n..300).map(|i| i.to_string()).collect();
    assert_eq!(t.consume("t", &[]), want);
    assert_eq!(
        t.consume("t", &["-o", "beginning", "-n", "1"]),
        [n.to_string()]
    );
    assert_eq!(t.consume("t", &["-o", "0", "-n", "1"]), [n.to_string()]);
    assert_eq!(log_start(&t, "t"), n);

    // At a segment's base offset: the segments below it go, that one stays.
    let n2 = bases[3];
    t.ok(&["trim", "t", "--before", &n2.to_string()]);
    assert_eq!(segment_bases(&dir), bases[3..]);
    assert_eq!(t.consume("t", &["-n", "1"]), [n2.to_string()]);
    // Trimming below the log start changes nothing.
    let out = json(&t.ok(&["trim", "t", "--before", "5", "--json"]));
    assert_eq!(out[0]["new_log_start_offset"], n2);
    assert_eq!(out[0]["deleted_segments"], serde_json::json!([]));
    // The next produce goes on at the log end offset.
    t.produce("t", "x\n", &[]);
    assert_eq!(t.consume("t", &["-o", "-1", "-F", "%o %s\\n"]), ["300 x"]);
}

#[test]
fn trim_past_the_end_is_refused_and_changes_nothing() {
    let t = TestDir::new();
    let (dir, bases) = trim_topic(&t);
    t.ok(&["trim", "t", "--before", "50"]);
    let state = dir_state(&dir);
    let out = t.run(&["trim", "t", "--before", "301"]);
    let err = assert_error(&out, 2);
    assert!(err.contains("301") && err.contains("300"), "{err}");
    assert_eq!(dir_state(&dir), state, "nothing changed");
    assert_eq!(log_start(&t, "t"), 50);
    assert_eq!(t.consume("t", &[]).len(), 250);
    // Up to the end exactly: every record goes, an empty active segment remains.
    let out = json(&t.ok(&["trim", "t", "--before", "300", "--json"]));
    assert_eq!(out[0]["new_log_start_offset"], 300);
    assert_eq!(segment_bases(&dir), [300]);
    assert!(
        bases
            .iter()
            .all(|b| !segment_file(&dir, *b, ".log").exists())
    );
    assert!(t.consume("t", &[]).is_empty());
    t.produce("t", "x\n", &[]);
    assert_eq!(t.consume("t", &["-F", "%o %s\\n"]), ["300 x"]);
}

#[test]
fn trim_before_a_time() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "tt", "-c", "segment.bytes=1000"]);
    let t0 = now_ms() - 2 * HOUR;
    t.produce(
        "tt",
        json_lines((0..300).map(|i| (i.to_string(), t0 + 1000 * i))),
        &["--json"],
    );
    let dir = t.partition_dir("tt", 0);
    let bases = segment_bases(&dir);
    assert!(bases.len() >= 3, "{bases:?}");
    // The first record at or after t0 + 150.5 s is offset 151.
    let at = format!("@{}", t0 + 150_500);
    let out = json(&t.ok(&["trim", "tt", "--before", &at, "--json"]));
    assert_eq!(out[0]["new_log_start_offset"], 151, "{out}");
    let holding = *bases.iter().filter(|&&b| b <= 151).max().expect("segment");
    assert_eq!(segment_bases(&dir)[0], holding);
    assert_eq!(t.consume("tt", &["-n", "1"]), ["151"]);
    assert_eq!(log_start(&t, "tt"), 151);
    // A time before every record changes nothing.
    let out = json(&t.ok(&[
        "trim",
        "tt",
        "--before",
        &format!("@{}", t0 - HOUR),
        "--json",
    ]));
    assert_eq!(out[0]["new_log_start_offset"], 151);
}

#[test]
fn trim_below_a_group_offset_resumes_the_group_at_the_new_start() {
    let t = TestDir::new();
    let (_, bases) = trim_topic(&t);
    assert_eq!(
        t.consume("t", &["-g", "g", "-n", "5"]),
        ["0", "1", "2", "3", "4"]
    );
    t.ok(&["groups", "reset", "g", "--topic", "t", "--to-offset", "0"]);
    let n = bases[2] + 3;
    t.ok(&["trim", "t", "--before", &n.to_string()]);
    let out = t.run(&["consume", "t", "-g", "g", "-n", "3"]);
    assert!(out.status.success(), "{out:?}");
    let got = lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got, [n, n + 1, n + 2].map(|i| i.to_string()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning")
            && stderr.contains("log start")
            && stderr.contains(&n.to_string()),
        "a warning on stderr: {stderr}"
    );
    // It committed where it stopped: the next member run goes on without a warning.
    let out = t.run(&["consume", "t", "-g", "g", "-n", "1"]);
    assert_eq!(
        lines(&String::from_utf8_lossy(&out.stdout)),
        [(n + 3).to_string()]
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{out:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. an interrupted deletion
// ---------------------------------------------------------------------------------------------

#[test]
fn an_interrupted_segment_deletion_leaves_a_readable_log() {
    let t = TestDir::new();
    let (dir, bases) = trim_topic(&t);
    // Retention's first step (rename of the .log) done, the rest not.
    let log = segment_file(&dir, 0, ".log");
    let doomed = dir.join("00000000000000000000.log.deleted");
    fs::rename(&log, &doomed).expect("rename");
    assert!(segment_file(&dir, 0, ".index").exists());
    assert!(segment_file(&dir, 0, ".timeindex").exists());

    let out = t.run(&["consume", "t"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no error or warning"
    );
    let want: Vec<String> = (bases[1]..300).map(|i| i.to_string()).collect();
    assert_eq!(lines(&String::from_utf8_lossy(&out.stdout)), want);
    assert_eq!(log_start(&t, "t"), bases[1]);
    let rows = segments_json(&t, "t");
    assert_eq!(rows[0]["base_offset"], bases[1]);
    assert_eq!(verify_json(&t, &["t"]).0, 0, "the leftovers are not damage");

    t.produce("t", "x\n", &[]);
    let names = file_names(&dir);
    for gone in [
        "00000000000000000000.log.deleted",
        "00000000000000000000.index",
        "00000000000000000000.timeindex",
    ] {
        assert!(!names.contains(gone), "{gone} removed: {names:?}");
    }
    assert_eq!(segment_bases(&dir), bases[1..]);
    assert_eq!(t.consume("t", &["-o", "-1", "-F", "%o %s\\n"]), ["300 x"]);
    assert_eq!(t.consume("t", &["-n", "1"]), [bases[1].to_string()]);
}
