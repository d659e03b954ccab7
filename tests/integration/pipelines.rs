//! `klog produce` and `klog consume` as parts of shell pipelines: volume, binary data, JSON
//! copies, Kafka's partitioner, every offset form, live producers and followers, closed
//! pipes, bad input, and the details of record framing.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::util::{TestDir, assert_error, has_meta, numbered_lines, wait_until};

/// Bound for anything that waits on another process: generous, so that it cannot flake; a
/// test only fails when it is reached.
const DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `klog produce TOPIC ARGS…` with `input` on stdin, whatever the outcome.
fn produce_run(t: &TestDir, topic: &str, args: &[&str], input: impl Into<Vec<u8>>) -> Output {
    t.klog()
        .arg("produce")
        .arg(topic)
        .args(args)
        .write_stdin(input)
        .output()
        .expect("run klog produce")
}

/// `klog consume TOPIC ARGS…`; asserts success and returns stdout as bytes.
fn consume_bytes(t: &TestDir, topic: &str, args: &[&str]) -> Vec<u8> {
    let mut all = vec!["consume", topic];
    all.extend_from_slice(args);
    let out = t.run(&all);
    assert!(
        out.status.success(),
        "klog {all:?} failed with {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `klog consume TOPIC --json ARGS…`, one parsed object per line.
fn consume_json(t: &TestDir, topic: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    t.consume(topic, &all)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Splits newline-terminated output into lines; every line must be terminated.
fn split_lines(b: &[u8]) -> Vec<&[u8]> {
    if b.is_empty() {
        return Vec::new();
    }
    assert_eq!(b.last(), Some(&b'\n'), "output does not end with a newline");
    b[..b.len() - 1].split(|&c| c == b'\n').collect()
}

fn none() -> Vec<String> {
    Vec::new()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// Kafka's murmur2 (`Utils.murmur2`), written from the format notes, checked against their
/// test vectors before use.
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

fn to_positive(h: u32) -> u32 {
    h & 0x7fff_ffff
}

/// A child's stdout as a channel of lines (without the newline), read by a thread; the channel
/// closes at EOF.
fn line_channel(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.ends_with('\n') {
                        line.pop();
                    }
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// The next line from a follower, or the test fails after `DEADLINE`.
fn next_line(rx: &Receiver<String>, what: &str) -> String {
    rx.recv_timeout(DEADLINE)
        .unwrap_or_else(|e| panic!("{what}: no line within {DEADLINE:?} ({e})"))
}

/// Waits for a child to exit; kills it and fails the test after `DEADLINE`.
fn wait_within(child: &mut Child, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} failed");
}

/// A spawned klog that is killed when dropped, so that a failing test leaves no follower
/// behind (killing an exited and reaped child does nothing).
struct Spawned(Child);

impl std::ops::Deref for Spawned {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Spawned {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Spawns `klog consume TOPIC ARGS…` with stdout and stderr piped.
fn spawn_consumer(t: &TestDir, topic: &str, args: &[&str]) -> Spawned {
    Spawned(
        t.klog_std()
            .arg("consume")
            .arg(topic)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn klog consume"),
    )
}

/// Spawns `klog -q produce TOPIC` reading a pipe.
fn spawn_producer(t: &TestDir, topic: &str) -> (Spawned, ChildStdin) {
    let mut child = t
        .klog_std()
        .args(["-q", "produce", topic])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn klog produce");
    let stdin = child.stdin.take().expect("stdin");
    (Spawned(child), stdin)
}

fn read_stderr(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut s).expect("read stderr");
    }
    s
}

/// Writes `bytes` to `dir/name` and returns the path.
fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write input file");
    p
}

// ---------------------------------------------------------------------------------------------
// 1. Volume
// ---------------------------------------------------------------------------------------------

#[test]
fn a_million_lines_through_four_partitions_come_back_complete() {
    const N: usize = 1_000_000;
    let t = TestDir::new();
    t.ok(&["topics", "create", "m", "-p", "4"]);
    // 8 MB of zero-padded numbers: sorted byte order is numeric order.
    let mut input = Vec::with_capacity(N * 8);
    for i in 0..N {
        writeln!(input, "{i:07}").expect("write to Vec");
    }
    t.produce("m", &input[..], &["-q"]);
    let expected = split_lines(&input);

    let all = consume_bytes(&t, "m", &[]);
    let mut got = split_lines(&all);
    assert_eq!(got.len(), N, "records consumed");
    got.sort_unstable();
    if let Some(i) = (0..N).find(|&i| got[i] != expected[i]) {
        panic!(
            "consumed multiset differs from produced at sorted index {i}: {:?} vs {:?}",
            String::from_utf8_lossy(got[i]),
            String::from_utf8_lossy(expected[i])
        );
    }

    // Each partition alone is in production order, non-empty, and as long as describe says.
    let d = t.describe("m");
    let outs: Vec<Vec<u8>> = (0..4u32)
        .map(|p| consume_bytes(&t, "m", &["-p", &p.to_string()]))
        .collect();
    let mut concatenated: Vec<&[u8]> = Vec::with_capacity(N);
    for (p, out) in outs.iter().enumerate() {
        let ls = split_lines(out);
        assert!(!ls.is_empty(), "partition {p} got no records");
        assert_eq!(
            d["partitions"][p]["records"].as_u64(),
            Some(ls.len() as u64),
            "partition {p} records in describe"
        );
        if let Some(w) = ls.windows(2).find(|w| w[0] >= w[1]) {
            panic!(
                "partition {p} out of order: {} before {}",
                String::from_utf8_lossy(w[0]),
                String::from_utf8_lossy(w[1])
            );
        }
        concatenated.extend(ls);
    }
    concatenated.sort_unstable();
    assert!(
        concatenated.len() == N && concatenated.iter().zip(&expected).all(|(a, b)| a == b),
        "the partitions read one by one are not the whole topic"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Binary round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn nul_delimited_binary_values_round_trip_byte_for_byte() {
    let t = TestDir::new();
    let all_but_nul: Vec<u8> = (1..=255).collect();
    let values: Vec<Vec<u8>> = vec![
        b"".to_vec(), // an empty record first
        all_but_nul.clone(),
        b"\xff\xfe invalid \xc3\x28 utf-8 \x80 \xed\xa0\x80".to_vec(),
        b"crlf\r\nlines\r\n".to_vec(),
        b"".to_vec(),
        b"".to_vec(),
        "snowman \u{2603}, \u{1F600}".as_bytes().to_vec(),
        b"\n".to_vec(),
        b"\r".to_vec(),
        b"%s %% %k \\0 \\n".to_vec(), // format tokens in the data are data
        all_but_nul.iter().rev().copied().collect(),
        vec![0xff; 70_000], // more than a pipe buffer
        b"".to_vec(),       // an empty record last
    ];
    let mut input = Vec::new();
    for v in &values {
        assert!(!v.contains(&0));
        input.extend_from_slice(v);
        input.push(0);
    }
    t.produce("bin", &input[..], &["-q", "-0"]);

    let out = consume_bytes(&t, "bin", &["-F", r"%s\0"]);
    assert!(
        out == input,
        "consume -F '%s\\0' differs from the -0 input ({} vs {} bytes)",
        out.len(),
        input.len()
    );
    // Lengths and offsets, one per record: empty values are empty, not null (-1).
    let lens = String::from_utf8(consume_bytes(&t, "bin", &["-F", r"%o:%S\n"])).expect("UTF-8");
    let want: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{i}:{}\n", v.len()))
        .collect();
    assert_eq!(lens, want);

    // And back again through a second pipeline: consume | produce -0 | consume.
    t.produce("bin2", &out[..], &["-q", "--null"]);
    assert!(consume_bytes(&t, "bin2", &["-F", r"%s\0"]) == input);

    // In JSON, invalid UTF-8 is base64 and decodes to the same bytes.
    let js = consume_json(&t, "bin", &[]);
    assert_eq!(js.len(), values.len());
    for (j, v) in js.iter().zip(&values) {
        let got = match &j["value"] {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Object(m) => STANDARD
                .decode(m["base64"].as_str().expect("base64 string"))
                .expect("valid base64"),
            other => panic!("value {other}"),
        };
        assert!(got == *v, "JSON value of offset {}", j["offset"]);
        assert_eq!(j["value"].is_object(), std::str::from_utf8(v).is_err());
    }
}

#[test]
fn raw_files_are_one_record_each_byte_for_byte() {
    let t = TestDir::new();
    let dir = t.root();
    let mut noise = Vec::with_capacity(200_000);
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        noise.push((x >> 16) as u8);
    }
    let all: Vec<u8> = (0..=255).collect();
    let stdin_bytes = b"from stdin\n\0with a NUL\r\nand no final newline".to_vec();
    let records: Vec<Vec<u8>> = vec![
        all.clone(),
        Vec::new(),
        b"line1\r\nline2\r\n".to_vec(),
        stdin_bytes.clone(),
        b"\0\0\xff\0".to_vec(),
        noise.clone(),
        b"\n".to_vec(),
    ];
    let files = [
        write_file(dir, "all.bin", &all),
        write_file(dir, "empty.bin", b""),
        write_file(dir, "crlf.txt", &records[2]),
        Path::new("-").to_path_buf(),
        write_file(dir, "nuls.bin", &records[4]),
        write_file(dir, "noise.bin", &noise),
        write_file(dir, "newline.txt", b"\n"),
    ];
    let out = t
        .klog()
        .args(["-q", "produce", "raw", "--raw"])
        .args(&files)
        .write_stdin(stdin_bytes)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));

    let lens = String::from_utf8(consume_bytes(&t, "raw", &["-F", r"%o %S\n"])).expect("UTF-8");
    let want: String = records
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{i} {}\n", r.len()))
        .collect();
    assert_eq!(lens, want, "one record per input, in order");
    for (i, r) in records.iter().enumerate() {
        let got = consume_bytes(&t, "raw", &["-F", "%s", "-n", "1", "-o", &i.to_string()]);
        assert!(
            got == *r,
            "record {i} ({:?}) differs: {} bytes instead of {}",
            files[i],
            got.len(),
            r.len()
        );
    }

    // All of stdin, newlines and NULs included, is one record when no file is given.
    let blob: Vec<u8> = b"a\nb\n\0c\n".repeat(1000);
    t.produce("raw-stdin", &blob[..], &["-q", "--raw"]);
    assert!(consume_bytes(&t, "raw-stdin", &["-F", "%s"]) == blob);
    assert_eq!(
        consume_bytes(&t, "raw-stdin", &["-F", r"%o\n"]),
        b"0\n",
        "one record"
    );
}

/// Removes the leading `"topic":"…",` of a `consume --json` line.
fn without_topic(line: &str, topic: &str) -> String {
    let prefix = format!("{{\"topic\":\"{topic}\",");
    let rest = line
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("line does not start with {prefix}: {line}"));
    format!("{{{rest}")
}

#[test]
fn json_copy_reproduces_keys_values_headers_timestamps_and_partitions() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "src", "-p", "3"]);
    t.ok(&["topics", "create", "dst", "-p", "3"]);
    let all: Vec<u8> = (0..=255).collect();
    let b64 = |b: &[u8]| json!({ "base64": STANDARD.encode(b) });
    let hdrs = json!([["a", "1"], ["a", "2"], ["b", null], ["a", "1"], ["", ""]]);
    let input_records = vec![
        json!({"key": "k1", "value": "v1", "headers": hdrs, "timestamp": 1_714_564_800_000_i64}),
        json!({"key": null, "value": b64(&all), "partition": 1, "timestamp": 5}),
        json!({"key": "k1", "value": null, "headers": [["tomb", null]], "timestamp": 0}),
        json!({"key": b64(b"\xff\x00key"), "value": "", "headers": [["bin", b64(b"\xfe\x00")]]}),
        json!({"key": "", "value": "q\"u\\o\n\t\u{1} \u{e9} \u{2603}", "partition": 2}),
        json!({"key": null, "value": null, "partition": 0, "timestamp": 42}),
        json!({"value": "keyless, no partition"}),
        json!({"key": b64(&all), "value": b64(b"\r\n"), "headers": [["x", b64(&all)], ["x", null]]}),
        json!({"key": "k2", "value": "x".repeat(100_000), "headers": []}),
    ];
    let mut input = String::new();
    for r in &input_records {
        input.push_str(&r.to_string());
        input.push('\n');
    }
    t.produce("src", input, &["--json", "-q"]);

    // What went in is what the input says.
    let src = consume_json(&t, "src", &[]);
    assert_eq!(src.len(), input_records.len());
    let find = |pred: &dyn Fn(&Value) -> bool| -> Value {
        let hits: Vec<&Value> = src.iter().filter(|v| pred(v)).collect();
        assert_eq!(hits.len(), 1, "records matching in {src:?}");
        hits[0].clone()
    };
    let r = find(&|v| v["value"] == "v1");
    assert_eq!(r["headers"], hdrs);
    assert_eq!(r["timestamp"], 1_714_564_800_000_i64);
    assert_eq!(r["timestamp_type"], "CreateTime");
    let r = find(&|v| v["timestamp"] == 5);
    assert_eq!(
        (r["key"].clone(), r["partition"].clone()),
        (Value::Null, json!(1))
    );
    assert_eq!(r["value"], b64(&all));
    assert_eq!(r["headers"], json!([]));
    let r = find(&|v| v["timestamp"] == 0);
    assert_eq!(r["value"], Value::Null, "tombstone");
    assert_eq!(r["key"], "k1");
    let r = find(&|v| v["value"] == "");
    assert_eq!(r["key"], b64(b"\xff\x00key"));
    assert_eq!(r["headers"], json!([["bin", b64(b"\xfe\x00")]]));
    let r = find(&|v| v["key"] == "");
    assert_eq!(r["partition"], 2);
    assert_eq!(r["value"], "q\"u\\o\n\t\u{1} \u{e9} \u{2603}");
    let r = find(&|v| v["timestamp"] == 42);
    assert_eq!((r["key"].is_null(), r["value"].is_null()), (true, true));
    let r = find(&|v| v["key"] == b64(&all));
    assert_eq!(r["headers"], json!([["x", b64(&all)], ["x", null]]));
    assert_eq!(r["value"], "\r\n");
    // Keyed records without a partition went where murmur2 says.
    for v in &src {
        if v["key"] == "k1" || v["key"] == "k2" {
            let k = v["key"].as_str().expect("key");
            assert_eq!(
                v["partition"].as_u64(),
                Some(u64::from(to_positive(murmur2(k.as_bytes())) % 3)),
                "{v}"
            );
        }
    }

    // consume --json | produce --json into another topic.
    let copied = t.ok(&["consume", "src", "--json"]);
    t.produce("dst", copied, &["--json", "-q"]);
    for p in 0..3 {
        let ps = p.to_string();
        let a = t.consume("src", &["--json", "-p", &ps]);
        let b = t.consume("dst", &["--json", "-p", &ps]);
        let a: Vec<String> = a.iter().map(|l| without_topic(l, "src")).collect();
        let b: Vec<String> = b.iter().map(|l| without_topic(l, "dst")).collect();
        assert_eq!(a, b, "partition {p} differs after the copy");
    }
    let total: usize = (0..3)
        .map(|p| {
            t.consume("dst", &["-p", &p.to_string(), "-F", r"%o\n"])
                .len()
        })
        .sum();
    assert_eq!(total, input_records.len());
}

// ---------------------------------------------------------------------------------------------
// 3. Kafka's partitioner
// ---------------------------------------------------------------------------------------------

/// `toPositive(murmur2(key))` from kafka-format.md §8 (Kafka's `UtilsTest`, librdkafka).
const VECTORS: &[(&str, u32)] = &[
    ("21", 1_173_551_340),
    ("foobar", 1_357_151_166),
    ("a-little-bit-long-string", 1_161_502_112),
    ("a-little-bit-longer-string", 661_178_819),
    (
        "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
        2_088_585_677,
    ),
    ("abc", 479_470_107),
    ("kafka", 1_348_980_580),
    ("giberish123456789", 257_239_820),
    ("1234", 0x9fc9_7b14 & 0x7fff_ffff),
    ("234", 0xe7c0_09ca & 0x7fff_ffff),
    ("34", 0x8739_30da & 0x7fff_ffff),
    ("4", 0x5a4b_5ca1 & 0x7fff_ffff),
    (
        "PreAmbleWillBeRemoved,ThePrePartThatIs",
        0x7842_4f1c & 0x7fff_ffff,
    ),
    ("", 275_646_681),
    ("amqp", 767_747_138),
];

#[test]
fn the_test_murmur2_matches_kafkas_vectors() {
    for &(k, want) in VECTORS {
        assert_eq!(to_positive(murmur2(k.as_bytes())), want, "key {k:?}");
    }
    assert_eq!(murmur2(b"kafka"), 0xd067_cf64);
    assert_eq!(murmur2(b"21") as i32, -973_932_308);
}

#[test]
fn keyed_records_land_where_murmur2_says() {
    let t = TestDir::new();
    for parts in [7u32, 13] {
        let topic = format!("keys{parts}");
        t.ok(&["topics", "create", &topic, "-p", &parts.to_string()]);
        // Three runs, the keys in a different order each time.
        let runs: [Vec<&str>; 3] = [
            VECTORS.iter().map(|v| v.0).collect(),
            VECTORS.iter().rev().map(|v| v.0).collect(),
            VECTORS.iter().map(|v| v.0).collect(),
        ];
        for (r, keys) in runs.iter().enumerate() {
            let input: String = keys.iter().map(|k| format!("{k}|run{r}\n")).collect();
            t.produce(&topic, input, &["-q", "-K", "|"]);
        }
        // Binary keys through --json: the partitioner hashes bytes, not text. (No '\n' nor
        // '|' in them: the text check below reads `%k|%s` lines and skips these.)
        let bin_keys: Vec<Vec<u8>> = (0..40u8)
            .map(|i| vec![0xff, 0x80 + i, 0, 0xc0 ^ i])
            .collect();
        let input: String = bin_keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                json!({"key": {"base64": STANDARD.encode(k)}, "value": format!("bin{i}")})
                    .to_string()
                    + "\n"
            })
            .collect();
        t.produce(&topic, input, &["-q", "--json"]);

        let mut seen = vec![0usize; VECTORS.len()];
        let mut bin_seen = 0;
        for p in 0..parts {
            // Binary keys print as they are: not UTF-8, so read bytes and skip those lines.
            let out = consume_bytes(
                &t,
                &topic,
                &[
                    "-p",
                    &p.to_string(),
                    "-F",
                    r"%k|%s\n",
                    "--null-literal",
                    "NULL",
                ],
            );
            let got: Vec<&str> = split_lines(&out)
                .into_iter()
                .filter(|l| !l.starts_with(b"\xff"))
                .map(|l| std::str::from_utf8(l).expect("text key"))
                .collect();
            let mut per_key: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            for line in &got {
                let (k, v) = line.rsplit_once('|').expect("key|value");
                assert_ne!(k, "NULL", "a key became null");
                let idx = VECTORS
                    .iter()
                    .position(|x| x.0 == k)
                    .unwrap_or_else(|| panic!("unknown key {k:?}"));
                assert_eq!(
                    VECTORS[idx].1 % parts,
                    p,
                    "key {k:?} is in partition {p} of {parts}"
                );
                per_key.entry(k).or_default().push(v);
                seen[idx] += 1;
            }
            for (k, vs) in per_key {
                assert_eq!(vs, ["run0", "run1", "run2"], "order of key {k:?}");
            }
            for v in consume_json(&t, &topic, &["-p", &p.to_string()]) {
                let Some(b) = v["key"].get("base64") else {
                    continue;
                };
                let k = STANDARD.decode(b.as_str().expect("str")).expect("base64");
                assert_eq!(
                    to_positive(murmur2(&k)) % parts,
                    p,
                    "binary key {k:?} in partition {p} of {parts}"
                );
                bin_seen += 1;
            }
        }
        assert_eq!(seen, vec![3; VECTORS.len()], "every key thrice");
        assert_eq!(bin_seen, bin_keys.len());
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Offset forms
// ---------------------------------------------------------------------------------------------

/// 2024-05-01T12:00:00Z in ms.
const T0: i64 = 1_714_564_800_000;

#[test]
fn every_start_and_stop_form_picks_the_right_record() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "ts"]);
    // m0..m9, one minute apart from T0.
    let input: String = (0..10)
        .map(|i| json!({"value": format!("m{i}"), "timestamp": T0 + i * 60_000}).to_string() + "\n")
        .collect();
    t.produce("ts", input, &["-q", "--json"]);
    let m = |r: std::ops::Range<i64>| r.map(|i| format!("m{i}")).collect::<Vec<_>>();
    let none = Vec::<String>::new();
    let at7 = format!("@{}", T0 + 7 * 60_000);
    let at7m1 = format!("@{}", T0 + 7 * 60_000 - 1);
    let at7p1 = format!("@{}", T0 + 7 * 60_000 + 1);
    let cases: Vec<(Vec<&str>, Vec<String>)> = vec![
        (vec![], m(0..10)),
        (vec!["-o", "beginning"], m(0..10)),
        (vec!["--from-beginning", "-n", "1"], m(0..1)),
        (vec!["-o", "end"], none.clone()),
        (vec!["-o", "end", "-n", "5"], none.clone()),
        (vec!["-o", "4"], m(4..10)),
        (vec!["-o", "9"], m(9..10)),
        (vec!["-o", "10"], none.clone()),
        (vec!["-o", "-2"], m(8..10)),
        (vec!["-o", "-2", "-n", "1"], m(8..9)),
        (vec!["-o", "-0"], none.clone()),
        // RFC 3339: UTC, positive, negative and half-hour offsets, fractions.
        (vec!["-o", "@2024-05-01T12:03:00Z"], m(3..10)),
        (vec!["-o", "@2024-05-01T12:03:00.001Z"], m(4..10)),
        (vec!["-o", "@2024-05-01T14:05:00+02:00"], m(5..10)),
        (vec!["-o", "@2024-05-01T07:36:00-04:30"], m(6..10)),
        (vec!["-o", "@2024-05-01T12:02:59.999+00:00"], m(3..10)),
        // Epoch ms: at, just before and just after a record's timestamp.
        (vec!["-o", &at7], m(7..10)),
        (vec!["-o", &at7m1], m(7..10)),
        (vec!["-o", &at7p1], m(8..10)),
        (vec!["-o", "@0"], m(0..10)),
        // A date is midnight UTC.
        (vec!["-o", "@2024-05-01"], m(0..10)),
        (vec!["-o", "@2024-05-02"], none.clone()),
        // Stops are exclusive.
        (vec!["-u", "3"], m(0..3)),
        (vec!["-o", "2", "-u", "5"], m(2..5)),
        (vec!["-o", "5", "-u", "5"], none.clone()),
        (vec!["-o", "6", "-u", "2"], none.clone()),
        (vec!["-u", "end"], m(0..10)),
        (vec!["-u", "100"], m(0..10)),
        (vec!["-u", "@2024-05-01T12:04:00Z"], m(0..4)),
        (vec!["-u", "@2024-05-01T12:03:59.999Z"], m(0..4)),
        (vec!["-u", &at7], m(0..7)),
        (vec!["-u", "@2024-05-02"], m(0..10)),
        (vec!["-u", "@2024-05-01"], none.clone()),
        (
            vec!["-o", "@2024-05-01T12:02:00Z", "-u", "@2024-05-01T12:05:00Z"],
            m(2..5),
        ),
        (
            vec!["-o", "@2024-05-01T12:02:00Z", "-u", "@2024-05-01T12:02:00Z"],
            none.clone(),
        ),
        // Counts.
        (vec!["-n", "2", "-o", "6"], m(6..8)),
        (vec!["-n", "3", "-o", "@2024-05-01T12:08:00Z"], m(8..10)),
        (vec!["-n", "0"], none.clone()),
        (vec!["-n", "5", "-u", "3"], m(0..3)),
        (vec!["-n", "2", "-u", "7", "-o", "3"], m(3..5)),
    ];
    for (args, want) in &cases {
        assert_eq!(&t.consume("ts", args), want, "consume ts {args:?}");
    }
    // The offsets and timestamps printed are the records'.
    assert_eq!(
        t.consume("ts", &["-o", "@2024-05-01T12:08:00Z", "-F", r"%o %T %s\n"]),
        [
            format!("8 {} m8", T0 + 8 * 60_000),
            format!("9 {} m9", T0 + 9 * 60_000)
        ]
    );
}

#[test]
fn relative_times_count_back_from_now() {
    let t = TestDir::new();
    let now = now_ms();
    let h = 3_600_000;
    let input: String = [
        (now - 2 * h, "two-hours-ago"),
        (now - h, "one-hour-ago"),
        (now, "now"),
        (now + h, "in-an-hour"),
    ]
    .iter()
    .map(|(ts, v)| json!({"value": v, "timestamp": ts}).to_string() + "\n")
    .collect();
    t.produce("rel", input, &["-q", "--json"]);
    // Margins of at least 30 minutes: nothing depends on how long the test takes.
    let cases: [(&[&str], &[&str]); 9] = [
        (&["-o", "@-90m"], &["one-hour-ago", "now", "in-an-hour"]),
        (&["-o", "@-5400s"], &["one-hour-ago", "now", "in-an-hour"]),
        (&["-o", "@-30m"], &["now", "in-an-hour"]),
        (
            &["-o", "@-3h"],
            &["two-hours-ago", "one-hour-ago", "now", "in-an-hour"],
        ),
        (
            &["-o", "@-2d"],
            &["two-hours-ago", "one-hour-ago", "now", "in-an-hour"],
        ),
        (&["-u", "@-30m"], &["two-hours-ago", "one-hour-ago"]),
        (&["-o", "@-150m", "-u", "@-90m"], &["two-hours-ago"]),
        (&["-o", "@-90m", "-u", "@-1800000ms"], &["one-hour-ago"]),
        (&["-o", "@-90m", "-n", "1"], &["one-hour-ago"]),
    ];
    for (args, want) in cases {
        assert_eq!(t.consume("rel", args), strs(want), "consume rel {args:?}");
    }
}

#[test]
fn a_time_finds_the_first_record_at_or_after_it_in_offset_order() {
    // Kafka's offsetsForTimes: timestamps need not grow with offsets; the answer is the first
    // offset whose timestamp is at or after the target.
    let t = TestDir::new();
    let line = |ts: i64, v: &str| json!({"value": v, "timestamp": ts}).to_string() + "\n";
    t.produce("nm", line(1000, "a") + &line(3000, "b"), &["-q", "--json"]);
    t.produce("nm", line(2000, "c") + &line(4000, "d"), &["-q", "--json"]);
    let cases: [(&str, &[&str]); 6] = [
        ("@500", &["a", "b", "c", "d"]),
        ("@1000", &["a", "b", "c", "d"]),
        ("@1500", &["b", "c", "d"]),
        ("@2000", &["b", "c", "d"]),
        ("@3500", &["d"]),
        ("@4001", &[]),
    ];
    for (spec, want) in cases {
        assert_eq!(t.consume("nm", &["-o", spec]), strs(want), "-o {spec}");
    }

    // Across segments: small segments, a late timestamp in the first one. Retention off: these
    // 1970 timestamps are older than any retention.ms, and segments would go on roll.
    t.ok(&[
        "topics",
        "create",
        "seg",
        "-c",
        "segment.bytes=2000",
        "-c",
        "retention.ms=-1",
    ]);
    let pad = "p".repeat(60);
    let mut input = line(1000, &format!("a-{pad}")) + &line(5000, &format!("big-{pad}"));
    for i in 0..60 {
        input += &line(2000 + i, &format!("m{i}-{pad}"));
    }
    input += &line(6000, &format!("last-{pad}"));
    t.produce("seg", input, &["-q", "--json"]);
    let segs = t.describe("seg")["partitions"][0]["segments"].as_u64();
    assert!(segs.is_some_and(|n| n >= 3), "segments: {segs:?}");
    for (spec, want) in [
        ("@1500", "1 big"),
        ("@4000", "1 big"),
        ("@5001", "62 last"),
        ("@1000", "0 a"),
    ] {
        let got = t.consume("seg", &["-o", spec, "-n", "1", "-F", r"%o %s\n"]);
        let got: Vec<&str> = got
            .iter()
            .map(|l| l.split('-').next().unwrap_or(""))
            .collect();
        assert_eq!(got, [want], "-o {spec}");
    }
    // -u @TIME stops at the first record at or after it, in offset order too: @2040 is the
    // record at offset 1 (5000), so nothing from offset 30; @5500 is offset 62.
    assert_eq!(t.consume("seg", &["-o", "30", "-u", "@2040"]), none());
    let got = t.consume("seg", &["-o", "30", "-u", "@5500", "-F", r"%o\n"]);
    assert_eq!(got, (30..62).map(|o| o.to_string()).collect::<Vec<_>>());
}

#[test]
fn offsets_apply_per_partition() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "pp", "-p", "3"]);
    let a: String = (0..10).map(|i| format!("a{i}\n")).collect();
    let b: String = (0..5).map(|i| format!("b{i}\n")).collect();
    t.produce("pp", a, &["-q", "-p", "0"]);
    t.produce("pp", b, &["-q", "-p", "1"]);
    // Partition 2 stays empty.
    let c = |args: &[&str]| {
        let mut all = vec!["-F", r"%p:%o:%s\n"];
        all.extend_from_slice(args);
        let mut v = t.consume("pp", &all);
        v.sort_unstable();
        v
    };
    let rec = |p: u32, o: u32| format!("{p}:{o}:{}{o}", if p == 0 { "a" } else { "b" });
    let want = |r: &[(u32, std::ops::Range<u32>)]| {
        let mut v: Vec<String> = r
            .iter()
            .flat_map(|(p, os)| os.clone().map(move |o| rec(*p, o)))
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(c(&["-o", "-3"]), want(&[(0, 7..10), (1, 2..5)]));
    assert_eq!(c(&["-o", "-7"]), want(&[(0, 3..10), (1, 0..5)]));
    assert_eq!(c(&["-o", "4"]), want(&[(0, 4..10), (1, 4..5)]));
    assert_eq!(c(&["-o", "5"]), want(&[(0, 5..10)]));
    assert_eq!(c(&["-u", "2"]), want(&[(0, 0..2), (1, 0..2)]));
    assert_eq!(c(&["-o", "1", "-u", "3"]), want(&[(0, 1..3), (1, 1..3)]));
    assert_eq!(c(&["-o", "end"]), want(&[]));
    assert_eq!(c(&["-p", "2"]), want(&[]));
    assert_eq!(c(&["-p", "2", "-o", "-1"]), want(&[]));
    assert_eq!(c(&["-p", "1", "-p", "2", "-o", "-1"]), want(&[(1, 4..5)]));
    // -n counts across partitions.
    assert_eq!(c(&["-n", "15"]).len(), 15);
    assert_eq!(c(&["-n", "100"]).len(), 15);
}

// ---------------------------------------------------------------------------------------------
// 5-7. Live producers, followers, closed pipes
// ---------------------------------------------------------------------------------------------

#[test]
fn consume_without_follow_ends_while_a_producer_keeps_writing() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "live"]);
    let (mut producer, mut stdin) = spawn_producer(&t, "live");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let chunk: String = (n..n + 50).map(|i| format!("w-{i:08}\n")).collect();
                stdin
                    .write_all(chunk.as_bytes())
                    .expect("write to producer");
                stdin.flush().expect("flush");
                n += 50;
                thread::sleep(Duration::from_millis(1));
            }
            n // stdin closes here
        })
    };

    let check_prefix = |out: &Output| -> usize {
        assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_of(out));
        let ls = split_lines(&out.stdout);
        for (i, l) in ls.iter().enumerate() {
            assert!(
                *l == format!("w-{i:08}").as_bytes(),
                "line {i} is {:?}: not a dense prefix of the input",
                String::from_utf8_lossy(l)
            );
        }
        ls.len()
    };
    // Wait for the first records, then run consume at least five more times while the
    // producer writes: each run ends by itself with status 0 and prints a dense prefix; go on
    // until a run saw more than the first (the log grew in between).
    let start = Instant::now();
    let mut lengths = Vec::new();
    loop {
        let n = check_prefix(&t.run(&["consume", "live"]));
        assert!(
            lengths.last().is_none_or(|&l| n >= l),
            "a later run saw fewer records: {lengths:?} then {n}"
        );
        if n > 0 || !lengths.is_empty() {
            lengths.push(n);
        }
        if lengths.len() >= 6 && lengths.first() != lengths.last() {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the log did not grow during {DEADLINE:?}: {lengths:?}"
        );
    }
    assert!(!writer.is_finished(), "the producer was writing throughout");
    // With -n and -u as well.
    let out = t.run(&["consume", "live", "-n", "3"]);
    assert_eq!(check_prefix(&out), 3);
    let out = t.run(&["consume", "live", "-u", "end"]);
    check_prefix(&out);
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().expect("writer thread");
    let status = wait_within(&mut producer, "producer after stdin closed");
    assert!(status.success(), "producer: {}", read_stderr(&mut producer));
    eprintln!("consume runs during production saw {lengths:?} of {written} lines");
    let out = t.run(&["consume", "live"]);
    assert_eq!(check_prefix(&out) as u64, written);
}

#[test]
fn follow_sees_a_trickled_line_promptly_and_ends_cleanly_on_sigterm_and_sigint() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "f"]);
    let (mut producer, mut stdin) = spawn_producer(&t, "f");
    let mut term = spawn_consumer(&t, "f", &["-f"]);
    let mut int = spawn_consumer(&t, "f", &["--follow", "-F", r"%o %s\n"]);
    let term_rx = line_channel(term.stdout.take().expect("stdout"));
    let int_rx = line_channel(int.stdout.take().expect("stdout"));

    let mut latencies = Vec::new();
    for i in 0..5 {
        let line = format!("trickle-{i}");
        let sent = Instant::now();
        writeln!(stdin, "{line}").expect("write to producer");
        stdin.flush().expect("flush");
        assert_eq!(next_line(&term_rx, "follower (TERM)"), line);
        latencies.push(sent.elapsed());
        assert_eq!(next_line(&int_rx, "follower (INT)"), format!("{i} {line}"));
    }
    // The first includes the startup of both followers.
    eprintln!("follow latencies (producer stdin -> consumer stdout): {latencies:?}");

    signal(&term, "-TERM");
    let status = wait_within(&mut term, "follower after SIGTERM");
    let stderr = read_stderr(&mut term);
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM: {status:?}, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        term_rx.recv_timeout(DEADLINE).is_err(),
        "nothing more after the five lines"
    );

    // The other follower still follows: one more line, then SIGINT.
    writeln!(stdin, "trickle-5").expect("write");
    stdin.flush().expect("flush");
    assert_eq!(next_line(&int_rx, "follower (INT)"), "5 trickle-5");
    signal(&int, "-INT");
    let status = wait_within(&mut int, "follower after SIGINT");
    let stderr = read_stderr(&mut int);
    assert_eq!(
        status.code(),
        Some(0),
        "SIGINT: {status:?}, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    drop(stdin);
    let status = wait_within(&mut producer, "producer after stdin closed");
    assert!(status.success(), "producer: {}", read_stderr(&mut producer));
    assert_eq!(
        t.consume("f", &[]),
        (0..6).map(|i| format!("trickle-{i}")).collect::<Vec<_>>()
    );
}

#[test]
fn follow_until_an_offset_stops_there() {
    let t = TestDir::new();
    t.produce("fu", "r0\n", &["-q"]);
    let mut c = spawn_consumer(&t, "fu", &["-f", "-u", "3"]);
    let rx = line_channel(c.stdout.take().expect("stdout"));
    assert_eq!(next_line(&rx, "consume -f -u 3"), "r0");
    t.produce("fu", "r1\nr2\nr3\nr4\n", &["-q"]);
    assert_eq!(next_line(&rx, "consume -f -u 3"), "r1");
    assert_eq!(next_line(&rx, "consume -f -u 3"), "r2");
    let status = wait_within(&mut c, "consume -f -u 3 after offset 3 arrived");
    assert_eq!(status.code(), Some(0), "{}", read_stderr(&mut c));
    assert!(rx.recv_timeout(DEADLINE).is_err(), "nothing after r2");
}

#[test]
fn follow_until_a_time_stops_at_the_first_later_record() {
    let t = TestDir::new();
    let line = |ts: i64, v: &str| json!({"value": v, "timestamp": ts}).to_string() + "\n";
    t.produce("fut", line(1000, "old"), &["-q", "--json"]);
    let mut c = spawn_consumer(&t, "fut", &["-f", "-u", "@5000"]);
    let rx = line_channel(c.stdout.take().expect("stdout"));
    assert_eq!(next_line(&rx, "consume -f -u @5000"), "old");
    t.produce(
        "fut",
        line(9000, "late") + &line(9500, "later"),
        &["-q", "--json"],
    );
    let status = wait_within(&mut c, "consume -f -u @5000 after a record at 9000 arrived");
    assert_eq!(status.code(), Some(0), "{}", read_stderr(&mut c));
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(
        rest.is_empty(),
        "printed records at or after the stop time: {rest:?}"
    );
}

/// Reads one line of a child's stdout in a thread, then closes the pipe (like `head -1`).
fn head_1(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let _ = tx.send(line);
        // r dropped: the pipe's read end closes.
    });
    rx.recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("no first line within {DEADLINE:?}"))
}

#[test]
fn closed_stdout_ends_json_and_follow_consumers_quietly() {
    let t = TestDir::new();
    // Several MB of JSON: far more than a pipe buffer plus klog's output buffer.
    let (input, _) = numbered_lines("j", 0..50_000);
    t.produce("pipe", input, &["-q"]);

    let mut c = spawn_consumer(&t, "pipe", &["--json"]);
    let first = head_1(&mut c);
    let v: Value = serde_json::from_str(&first).expect("first line is JSON");
    assert_eq!(v["value"], "j-00000000");
    let status = wait_within(&mut c, "consume --json | head -1");
    let stderr = read_stderr(&mut c);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr not empty: {stderr}");

    // A follower ends too, also while records keep coming (without them, see
    // `regression_a_follower_exits_when_its_reader_closes_the_pipe`).
    let mut c = spawn_consumer(&t, "pipe", &["-f", "-o", "-1"]);
    assert_eq!(head_1(&mut c), "j-00049999\n");
    // The reader is gone; keep producing (a bounded number of times) until it has exited.
    let start = Instant::now();
    let status = loop {
        t.produce("pipe", "more\n", &["-q"]);
        if let Some(s) = c.try_wait().expect("try_wait") {
            break s;
        }
        thread::sleep(Duration::from_millis(20));
        if let Some(s) = c.try_wait().expect("try_wait") {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = c.kill();
            panic!("consume -f | head -1 still running after {DEADLINE:?}");
        }
    };
    let stderr = read_stderr(&mut c);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr not empty: {stderr}");
}

/// kcat's `-e`, `-c N` and `-D DELIM` and kafka-console-consumer's `--max-messages N` were
/// unknown flags (exit 2) to `consume`.
#[test]
fn kcat_and_console_consumer_flags_on_consume() {
    let t = TestDir::new();
    let out = produce_run(
        &t,
        "k",
        &["-q", "-K", ":", "--null-marker", "NULL"],
        "k1:a\nk2:b\nNULL:c\n",
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = |args: &[&str]| String::from_utf8(consume_bytes(&t, "k", args)).expect("UTF-8");
    assert_eq!(text(&["-c", "2"]), "a\nb\n");
    assert_eq!(text(&["--max-messages", "1"]), "a\n");
    assert_eq!(text(&["--count", "1"]), "a\n");
    assert_eq!(text(&["-e"]), "a\nb\nc\n");
    assert_eq!(text(&["-e", "-c", "2", "-D", ";"]), "a;b;");
    assert_eq!(text(&["-D", "|"]), "a|b|c|");
    assert_eq!(text(&["-D", ""]), "abc");
    assert_eq!(text(&["--delimiter", "\\n"]), "a\nb\nc\n");
    assert_eq!(text(&["-D", "\\r\\n"]), "a\r\nb\r\nc\r\n");
    // With -K: key, separator, value, delimiter; a null key prints as --null-literal.
    assert_eq!(
        consume_bytes(&t, "k", &["-K", "=", "-D", "\\0"]),
        b"k1=a\0k2=b\0=c\0"
    );
    assert_eq!(
        consume_bytes(
            &t,
            "k",
            &["-K", "\\t", "-D", "\\x1e", "--null-literal", "NULL"]
        ),
        b"k1\ta\x1ek2\tb\x1eNULL\tc\x1e"
    );
    // Usage errors: -e with -f, -D with --json or --format, a bad escape.
    for args in [
        vec!["-e", "-f"],
        vec!["-D", ";", "--json"],
        vec!["-D", ";", "-F", "%s"],
        vec!["-D", "\\q"],
    ] {
        let mut all = vec!["consume", "k"];
        all.extend_from_slice(&args);
        let out = t.run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// How long a follower may take to exit once its reader closed the pipe: klog sees it within
/// milliseconds; this only bounds a slow machine.
const CLOSED_PIPE_EXIT: Duration = Duration::from_secs(5);

/// Waits up to [`CLOSED_PIPE_EXIT`] for a follower to exit; returns its status and how long
/// it took.
fn exits_within(child: &mut Child, what: &str) -> (ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status, start.elapsed());
        }
        assert!(
            start.elapsed() < CLOSED_PIPE_EXIT,
            "{what}: still running {CLOSED_PIPE_EXIT:?} after its reader closed the pipe, with \
             no new record"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// `klog consume t -f | head -1` never exited after `head` did: the follower saw the closed
/// pipe only at its next write, after the next record, and a group member kept its
/// partitions until then. No record is produced here after the reader leaves.
#[test]
fn regression_a_follower_exits_when_its_reader_closes_the_pipe() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "h", "-p", "2"]);
    t.produce("h", "a\nb\nc\n", &["-q"]);
    for args in [vec!["-f"], vec!["-f", "-g", "g"]] {
        let mut c = spawn_consumer(&t, "h", &args);
        let first = head_1(&mut c);
        assert!(["a\n", "b\n", "c\n"].contains(&first.as_str()), "{first:?}");
        let (status, took) = exits_within(&mut c, &format!("consume {args:?} | head -1"));
        let stderr = read_stderr(&mut c);
        assert_eq!(status.code(), Some(0), "{args:?}: stderr: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: stderr: {stderr}");
        eprintln!("consume {args:?}: exited {took:?} after its reader closed the pipe");
    }
    // The member gave its partitions back: another one takes both at once.
    let rows: Value =
        serde_json::from_str(&t.ok(&["groups", "describe", "g", "--json"])).expect("JSON");
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["member"].is_null()),
        "{rows}"
    );
    let mut c = spawn_consumer(&t, "h", &["-f", "-g", "g", "-o", "beginning"]);
    let rx = line_channel(c.stdout.take().expect("stdout"));
    let mut got: Vec<String> = (0..3).map(|_| next_line(&rx, "the next member")).collect();
    got.sort();
    assert_eq!(got, ["a", "b", "c"]);
    signal(&c, "-TERM");
    let status = wait_within(&mut c, "the next member");
    assert_eq!(status.code(), Some(0));
}

/// `topics alter t --partitions 2` while `consume t -f` ran (with or without a group): the
/// records of the new partition never appeared. Followers pick new partitions up and read
/// them from their beginning, even a group member with `--reset latest`; with `-p`, only the
/// partitions asked for.
#[test]
fn regression_followers_read_partitions_added_while_they_run() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "grow", "-p", "1"]);
    t.produce("grow", "old\n", &["-q"]);
    // Group l has read nothing yet: it starts at offset 0 of partition 0, then --reset latest.
    t.ok(&["groups", "reset", "l", "--topic", "grow", "--to-earliest"]);
    let followers = [
        vec!["-f"],
        vec!["-f", "-g", "g"],
        vec!["-f", "-g", "l", "--reset", "latest"],
        vec!["-f", "-p", "0"],
    ];
    let mut running: Vec<(Spawned, Receiver<String>)> = followers
        .iter()
        .map(|args| {
            let mut c = spawn_consumer(&t, "grow", args);
            let rx = line_channel(c.stdout.take().expect("stdout"));
            assert_eq!(next_line(&rx, &format!("{args:?}")), "old");
            (c, rx)
        })
        .collect();
    for g in ["g", "l"] {
        wait_until(&format!("group {g} owns partition 0"), || {
            let rows: Value =
                serde_json::from_str(&t.ok(&["groups", "describe", g, "--json"])).expect("JSON");
            rows[0]["member"].is_u64()
        });
    }
    // The new partition already holds a record when the topic grows (its directory filled
    // before the metadata names it): a member starting it at its end would skip "new".
    t.ok(&["topics", "create", "src", "-p", "1"]);
    t.produce("src", "new\n", &["-q"]);
    let grown = t.partition_dir("grow", 1);
    std::fs::create_dir(&grown).expect("create grow-1");
    let log = "00000000000000000000.log";
    std::fs::copy(t.partition_dir("src", 0).join(log), grown.join(log)).expect("copy");
    t.ok(&["topics", "alter", "grow", "--partitions", "2"]);
    t.produce("grow", "again\n", &["-q", "-p", "0"]);
    for (args, (_, rx)) in followers.iter().zip(&running) {
        let mut got = vec![next_line(rx, &format!("{args:?}"))];
        if args.contains(&"-p") {
            assert_eq!(got, ["again"], "{args:?} read a partition it was not given");
            continue;
        }
        got.push(next_line(rx, &format!("{args:?}")));
        got.sort();
        assert_eq!(got, ["again", "new"], "{args:?}");
    }
    // Appends to the new partition wake the followers too: its directory is watched.
    t.produce("grow", "more\n", &["-q", "-p", "1"]);
    for (args, (_, rx)) in followers.iter().zip(&running) {
        if !args.contains(&"-p") {
            assert_eq!(next_line(rx, &format!("{args:?}")), "more");
        }
    }
    for ((c, rx), args) in running.iter_mut().zip(&followers) {
        signal(c, "-TERM");
        let status = wait_within(c, &format!("{args:?}"));
        assert_eq!(status.code(), Some(0), "{args:?}: {}", read_stderr(c));
        assert_eq!(rx.try_recv().ok(), None, "{args:?} printed more");
    }
    // The members committed what they read of the new partition.
    for g in ["g", "l"] {
        let rows: Value =
            serde_json::from_str(&t.ok(&["groups", "describe", g, "--json"])).expect("JSON");
        assert_eq!(rows[1]["current_offset"], 2, "group {g}: {rows}");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_json_names_its_line_and_keeps_the_lines_before() {
    let t = TestDir::new();
    let input = "{\"value\":\"one\"}\n{\"value\":\"two\"}\n{\"value\": \n{\"value\":\"four\"}\n";
    let out = produce_run(&t, "bad", &["-q", "--json"], input);
    let err = assert_error(&out, 1);
    assert!(err.contains("stdin: line 3"), "{err}");
    assert!(err.to_lowercase().contains("json"), "{err}");
    assert_eq!(t.consume("bad", &[]), ["one", "two"]);

    // From a file, the file is named.
    let f = write_file(t.root(), "in.jsonl", input.as_bytes());
    let out = t
        .klog()
        .args(["-q", "produce", "bad2", "--json"])
        .arg(&f)
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert!(err.contains("in.jsonl: line 3"), "{err}");
    assert_eq!(t.consume("bad2", &[]), ["one", "two"]);

    // Not the record shape: a number as value, bad base64, a header without a value.
    for (bad, what) in [
        (r#"{"value": 1}"#, "value"),
        (r#"{"value": {"base64": "!!"}}"#, "base64"),
        (r#"{"headers": [["h"]]}"#, "header"),
        (r#"{"timestamp": -5}"#, "timestamp"),
        (r#"[1, 2]"#, "object"),
    ] {
        let input = format!("{{\"value\":\"ok\"}}\n{bad}\n");
        let out = produce_run(&t, "shape", &["-q", "--json"], input);
        let err = assert_error(&out, 1);
        assert!(err.contains("stdin: line 2"), "{bad}: {err}");
        assert!(err.contains(what), "{bad}: {err}");
    }
    assert_eq!(t.consume("shape", &[]), ["ok"; 5]);
}

#[test]
fn a_json_partition_out_of_range_names_its_line() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "two", "-p", "2"]);
    let input =
        "{\"value\":\"a\",\"partition\":1}\n{\"value\":\"b\",\"partition\":5}\n{\"value\":\"c\"}\n";
    let out = produce_run(&t, "two", &["--json"], input);
    let err = assert_error(&out, 1);
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("partition 5"), "{err}");
    assert_eq!(t.consume("two", &[]), ["a"]);
}

#[test]
fn a_record_over_max_message_bytes_names_its_line_and_keeps_the_lines_before() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "small", "-c", "max.message.bytes=1000"]);
    let input = format!("first\n{}\nafter\n", "x".repeat(2000));
    let out = produce_run(&t, "small", &[], input);
    let err = assert_error(&out, 1);
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("max.message.bytes"), "{err}");
    assert_eq!(t.consume("small", &[]), ["first"]);
    // Just below the limit is fine.
    t.produce("small", format!("{}\n", "y".repeat(900)), &["-q"]);
    assert_eq!(t.consume("small", &[]).len(), 2);

    // A too-long line that straddles the 1 MiB read chunk boundary: line numbers still count.
    let mut f = Vec::new();
    for i in 0..10_465 {
        writeln!(f, "{i:099}").expect("write"); // 100 bytes each
    }
    assert_eq!(f.len(), 1_046_500);
    f.extend_from_slice(&[b'z'; 3000]); // line 10466, crosses 1048576
    f.extend_from_slice(b"\nlast\n");
    let path = write_file(t.root(), "long.txt", &f);
    t.ok(&["topics", "create", "small2", "-c", "max.message.bytes=1000"]);
    let out = t
        .klog()
        .args(["produce", "small2"])
        .arg(&path)
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert!(err.contains("long.txt: line 10466"), "{err}");
    assert!(err.contains("max.message.bytes"), "{err}");
    assert_eq!(t.consume("small2", &["-F", r"%o\n"]).len(), 10_465);
}

#[test]
fn bad_escapes_and_offset_specs_are_usage_errors() {
    let t = TestDir::new();
    for (args, named) in [
        (vec!["-D", r"\q"], r"\q"),
        (vec!["-K", r"\x4"], r"\x4"),
        (vec!["-H", r"h=\z"], r"\z"),
        (vec!["--null-marker", "\\"], "\\"),
    ] {
        let out = produce_run(&t, "esc", &args, "a\nb\n");
        let err = assert_error(&out, 2);
        assert!(err.contains(named), "{args:?}: {err}");
        assert!(
            !has_meta(t.data(), "esc") && !t.partition_dir("esc", 0).exists(),
            "{args:?} created the topic"
        );
    }
    // Nothing written to an existing topic either.
    t.produce("esc", "keep\n", &["-q"]);
    let out = produce_run(&t, "esc", &["-D", r"\q"], "a\nb\n");
    assert_error(&out, 2);
    assert_eq!(t.consume("esc", &[]), ["keep"]);

    for (args, named) in [
        (["-o", "@yesterday"], "yesterday"),
        (["-o", "1.5"], "'1.5'"),
        (["-o", "@2024-13-01"], "2024-13-01"),
        (["-o", "@-1x"], "-1x"),
        (["-u", "-3"], "'-3'"),
        (["-u", "@soon"], "soon"),
        (["-u", "beginning"], "beginning"),
    ] {
        let out = t.run(&["consume", "esc", args[0], args[1]]);
        let err = assert_error(&out, 2);
        assert!(err.contains(named), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn consuming_an_unknown_topic_fails_with_a_hint() {
    let t = TestDir::new();
    t.produce("exists", "x\n", &["-q"]);
    let out = t.run(&["consume", "nope"]);
    let err = assert_error(&out, 1);
    assert!(err.contains("'nope'"), "{err}");
    assert!(
        err.lines().nth(1).is_some_and(|l| l.starts_with("hint: ")),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert!(!has_meta(t.data(), "nope") && !t.partition_dir("nope", 0).exists());
}

#[test]
fn no_create_refuses_a_missing_topic_and_creates_nothing() {
    let t = TestDir::new();
    for args in [
        &["--no-create"][..],
        &["--no-create", "--json"],
        &["--no-create", "--raw"],
    ] {
        let out = produce_run(&t, "missing", args, "{\"value\":\"x\"}\n");
        let err = assert_error(&out, 1);
        assert!(err.contains("'missing'"), "{args:?}: {err}");
        assert!(!has_meta(t.data(), "missing"), "{args:?}");
        assert!(!t.partition_dir("missing", 0).exists(), "{args:?}");
    }
    assert_eq!(t.list().as_array().map(Vec::len).unwrap_or(0), 0);
}

#[test]
fn skip_invalid_reports_each_bad_line_and_writes_the_good_ones() {
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "sk",
        "-p",
        "2",
        "-c",
        "max.message.bytes=1000",
    ]);
    let big = format!("{{\"value\":\"{}\"}}", "x".repeat(2000));
    let input = [
        r#"{"value":"g1"}"#,
        r#"{"value": nope}"#,
        r#"{"value":"g2","partition":1}"#,
        r#"{"value":"b","partition":9}"#,
        &big,
        r#"{"value":"g3"}"#,
        r#"{"value":{"base64":"%%"}}"#,
        r#"{"value":"g4"}"#,
    ]
    .join("\n");
    let out = produce_run(&t, "sk", &["--json", "--skip-invalid"], input);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    for n in [2, 4, 5, 7] {
        assert!(
            stderr.lines().any(
                |l| l.starts_with("klog: skipped ") && l.contains(&format!("stdin: line {n}:"))
            ),
            "line {n} not reported: {stderr}"
        );
    }
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("klog: skipped stdin:"))
            .count(),
        4,
        "{stderr}"
    );
    let mut got = t.consume("sk", &[]);
    got.sort_unstable();
    assert_eq!(got, ["g1", "g2", "g3", "g4"]);
    assert_eq!(t.consume("sk", &["-p", "1"]), ["g2"]);

    // Text lines too long for the topic, read from a file in one chunk.
    let mut f = Vec::new();
    f.extend_from_slice(b"t1\n");
    f.extend_from_slice(&[b'y'; 3000]);
    f.extend_from_slice(b"\nt2\n");
    let path = write_file(t.root(), "text.txt", &f);
    t.ok(&["topics", "create", "sk2", "-c", "max.message.bytes=1000"]);
    let out = t
        .klog()
        .args(["produce", "sk2", "--skip-invalid"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("skipped") && stderr.contains("text.txt: line 2"),
        "{stderr}"
    );
    assert_eq!(t.consume("sk2", &[]), ["t1", "t2"]);
}

#[test]
fn skip_invalid_skips_a_too_long_line_that_crosses_a_read_chunk() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "sk3", "-c", "max.message.bytes=1000"]);
    // 10465 lines of 100 bytes, then a 3000-byte line starting 2076 bytes before the 1 MiB
    // read chunk ends: klog sees more than max.message.bytes without a delimiter.
    let mut f = Vec::new();
    for i in 0..10_465 {
        writeln!(f, "{i:099}").expect("write");
    }
    f.extend_from_slice(&[b'z'; 3000]);
    f.extend_from_slice(b"\nlast\n");
    let path = write_file(t.root(), "long.txt", &f);
    let out = t
        .klog()
        .args(["produce", "sk3", "--skip-invalid"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("klog: skipped") && stderr.contains("long.txt: line 10466"),
        "{stderr}"
    );
    let got = t.consume("sk3", &[]);
    assert_eq!(got.len(), 10_466, "every line but the long one");
    assert_eq!(got.last().map(String::as_str), Some("last"));
}

#[test]
fn skip_invalid_skips_a_raw_input_over_max_message_bytes() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "rw", "-c", "max.message.bytes=1000"]);
    let big = write_file(t.root(), "big.bin", &[0xab; 2000]);
    let small = write_file(t.root(), "small.txt", b"ok\n");
    let out = t
        .klog()
        .args(["produce", "rw", "--raw", "--skip-invalid"])
        .arg(&big)
        .arg(&small)
        .output()
        .expect("run");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("klog: skipped") && stderr.contains("big.bin"),
        "{stderr}"
    );
    assert_eq!(consume_bytes(&t, "rw", &["-F", "%s"]), b"ok\n");
}

#[test]
fn errors_count_lines_from_the_start_of_each_input() {
    let t = TestDir::new();
    let a = write_file(
        t.root(),
        "a.jsonl",
        b"{\"value\":\"a1\"}\n{\"value\":\"a2\"}\n{\"value\":\"a3\"}\n",
    );
    let b = write_file(t.root(), "b.jsonl", b"{\"value\":\"b1\"}\n{bad\n");
    let out = t
        .klog()
        .args(["-q", "produce", "j", "--json"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert_eq!(t.consume("j", &[]), ["a1", "a2", "a3", "b1"]);
    assert!(err.contains("b.jsonl: line 2:"), "{err}");

    // The same for what --skip-invalid reports.
    t.ok(&["topics", "create", "s", "-c", "max.message.bytes=1000"]);
    let a = write_file(t.root(), "a.txt", b"a1\na2\na3\n");
    let mut text = b"b1\n".to_vec();
    text.extend_from_slice(&[b'x'; 2000]);
    text.extend_from_slice(b"\nb3\n");
    let b = write_file(t.root(), "b.txt", &text);
    let out = t
        .klog()
        .args(["-q", "produce", "s", "--skip-invalid"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(t.consume("s", &[]), ["a1", "a2", "a3", "b1", "b3"]);
    assert!(stderr.contains("b.txt: line 2:"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// 9. Produce details
// ---------------------------------------------------------------------------------------------

/// `||`-delimited input of more than 3 MiB whose delimiters straddle the 1 MiB and 2 MiB
/// chunk boundaries (`||` at 1048575-1048576, `||||` at 2097149-2097152 with an empty record
/// between, the second `||` straddling), ending with a record without a delimiter.
fn straddling_input() -> (Vec<u8>, Vec<String>) {
    const MIB: usize = 1 << 20;
    fn push(buf: &mut Vec<u8>, recs: &mut Vec<String>, r: String) {
        buf.extend_from_slice(r.as_bytes());
        buf.extend_from_slice(b"||");
        recs.push(r);
    }
    /// Records of about 100 bytes, then one sized so that its delimiter starts at `at`.
    fn fill_to(buf: &mut Vec<u8>, recs: &mut Vec<String>, at: usize) {
        while at - buf.len() > 300 {
            let r = format!("r{:06}-{}", recs.len(), "p".repeat(90));
            push(buf, recs, r);
        }
        let mut r = format!("r{:06}-", recs.len());
        let pad = at - buf.len() - r.len();
        r.push_str(&"q".repeat(pad));
        push(buf, recs, r);
    }
    let mut buf = Vec::new();
    let mut recs = Vec::new();
    fill_to(&mut buf, &mut recs, MIB - 1);
    assert_eq!(&buf[MIB - 2..=MIB], b"q||");
    fill_to(&mut buf, &mut recs, 2 * MIB - 3);
    push(&mut buf, &mut recs, String::new());
    assert_eq!(&buf[2 * MIB - 3..=2 * MIB], b"||||");
    fill_to(&mut buf, &mut recs, 3 * MIB + 10);
    buf.extend_from_slice(b"the-end");
    recs.push("the-end".into());
    (buf, recs)
}

#[test]
fn multi_byte_delimiters_survive_read_chunk_boundaries() {
    let t = TestDir::new();
    let (input, want) = straddling_input();
    assert!(input.len() > 3 << 20);
    // From a file: mapped in 2 MiB windows (read in 1 MiB chunks where it cannot be), so the
    // boundaries are where we put them.
    let path = write_file(t.root(), "delim.txt", &input);
    let out = t
        .klog()
        .args(["produce", "d", "-D", "||", "-v"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let summary = stderr_of(&out);
    assert!(
        summary.contains(&format!("{} records", want.len())),
        "{summary}"
    );
    let got = t.consume("d", &[]);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "records differ from the input");
    // From stdin (pipe reads of any size): the same records.
    t.produce("d2", &input[..], &["-q", "-D", "||"]);
    assert!(t.consume("d2", &[]) == want, "records from stdin differ");

    // Small cases: empty records between delimiters, one delimiter byte inside a value, the
    // last record without a delimiter, no record after a final delimiter, escapes.
    for (n, (delim, input, want)) in [
        ("||", "a||b||||c", &["a", "b", "", "c"][..]),
        ("||", "||x|y||", &["", "x|y"][..]),
        ("||", "|||", &["", "|"][..]),
        (r"\r\n", "a\r\nb\n\r\n\r\nc", &["a", "b\n", "", "c"][..]),
        (r"\x1e", "r1\x1er2\x1e", &["r1", "r2"][..]),
        (r"\t", "k\tv\t\t", &["k", "v", ""][..]),
        ("<END>", "one<END>two<EN", &["one", "two<EN"][..]),
    ]
    .into_iter()
    .enumerate()
    {
        let topic = format!("small-{n}");
        t.produce(&topic, input, &["-q", "-D", delim]);
        let got = t.consume(&topic, &["-F", r"[%s]\n"]);
        let want: Vec<String> = want.iter().map(|w| format!("[{w}]")).collect();
        // `b\n` prints over two lines: compare the joined output.
        assert_eq!(got.join("\n"), want.join("\n"), "-D {delim:?} on {input:?}");
    }
    // Newline framing keeps empty lines and a last line without newline.
    t.produce("nl", "\n\na\n\nb", &["-q"]);
    assert_eq!(t.consume("nl", &[]), ["", "", "a", "", "b"]);
}

#[test]
fn headers_null_markers_and_fixed_keys() {
    let t = TestDir::new();
    // -H: repeated names kept in order, '=' in values, escapes, empty values.
    t.produce(
        "h",
        "one\ntwo\n",
        &[
            "-q",
            "-H",
            "a=1",
            "-H",
            "a=2",
            "-H",
            "eq=x=y",
            "-H",
            r"tab=x\ty",
            "-H",
            "empty=",
            "-H",
            "a=3",
        ],
    );
    let hs = json!([
        ["a", "1"],
        ["a", "2"],
        ["eq", "x=y"],
        ["tab", "x\ty"],
        ["empty", ""],
        ["a", "3"]
    ]);
    let js = consume_json(&t, "h", &[]);
    assert_eq!(js.len(), 2);
    for j in &js {
        assert_eq!(j["headers"], hs, "{j}");
        assert_eq!(j["key"], Value::Null);
    }
    assert_eq!(
        t.consume("h", &["-F", r"%h\n", "-n", "1"]),
        ["a=1,a=2,eq=x=y,tab=x\ty,empty=,a=3"]
    );
    let out = produce_run(&t, "h", &["-H", "novalue"], "x\n");
    let err = assert_error(&out, 2);
    assert!(err.contains("novalue"), "{err}");

    // --null-marker with -K: null keys, tombstones, and empty (not null) keys and values.
    t.produce(
        "nm",
        "k1:v1\nNULL:v2\nk3:NULL\nNULL:NULL\nk5:\n:v6\nno-separator\nk8:NULLx\n",
        &["-q", "-K", ":", "--null-marker", "NULL"],
    );
    let kv: Vec<(Value, Value)> = consume_json(&t, "nm", &[])
        .into_iter()
        .map(|j| (j["key"].clone(), j["value"].clone()))
        .collect();
    let s = |x: &str| Value::String(x.into());
    assert_eq!(
        kv,
        [
            (s("k1"), s("v1")),
            (Value::Null, s("v2")),
            (s("k3"), Value::Null),
            (Value::Null, Value::Null),
            (s("k5"), s("")),
            (s(""), s("v6")),
            (Value::Null, s("no-separator")),
            (s("k8"), s("NULLx")),
        ]
    );
    // In text output, --null-literal shows them.
    assert_eq!(
        t.consume("nm", &["-K", "=", "--null-literal", "<null>", "-n", "4"]),
        ["k1=v1", "<null>=v2", "k3=<null>", "<null>=<null>"]
    );
    // Without -K the whole line is compared.
    t.produce("nm2", "-\nx\n-\n", &["-q", "--null-marker", "-"]);
    let vals: Vec<Value> = consume_json(&t, "nm2", &[])
        .into_iter()
        .map(|j| j["value"].clone())
        .collect();
    assert_eq!(vals, [Value::Null, s("x"), Value::Null]);

    // -k: every record has the key and lands in its murmur2 partition.
    t.ok(&["topics", "create", "fk", "-p", "7"]);
    t.produce("fk", "a\nb\nc\n", &["-q", "-k", "kafka"]);
    t.produce("fk", "d\n", &["-q", "-k", "kafka", "-H", "h=v"]);
    let want_p = 1_348_980_580 % 7;
    let js = consume_json(&t, "fk", &[]);
    assert_eq!(js.len(), 4);
    for (j, v) in js.iter().zip(["a", "b", "c", "d"]) {
        assert_eq!(j["key"], "kafka");
        assert_eq!(j["value"], v);
        assert_eq!(j["partition"], want_p);
    }
    // -k with -p: the partition wins over the key.
    t.produce("fk", "e\n", &["-q", "-k", "kafka", "-p", "0"]);
    assert_eq!(t.consume("fk", &["-p", "0", "-K", ":"]), ["kafka:e"]);
}

/// `count` lines of about 100 bytes, numbered, the last without a newline.
fn hundred_byte_lines(count: usize) -> Vec<u8> {
    let mut input = Vec::with_capacity(count * 101);
    for i in 0..count {
        write!(input, "{i:09}-{}", "x".repeat(90)).expect("write to Vec");
        if i + 1 < count {
            input.push(b'\n');
        }
    }
    input
}

#[test]
fn input_files_and_redirected_stdin_give_every_line_from_where_stdin_stood() {
    use std::io::{Seek, SeekFrom};
    let t = TestDir::new();
    // Over 5 MiB: several of the 2 MiB windows a regular file is mapped in, with lines
    // across each window boundary.
    let input = hundred_byte_lines(55_000);
    let path = write_file(t.root(), "in.txt", &input);
    let out = t
        .klog()
        .args(["produce", "f", "-q"])
        .arg(&path)
        .arg(&path)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let got = consume_bytes(&t, "f", &[]);
    let mut want = input.clone();
    want.push(b'\n');
    assert!(
        got == [&want[..], &want[..]].concat(),
        "records from two input files differ"
    );

    // `< in.txt` after something read part of it: from that byte on, and stdin is left at the
    // end for whoever reads it next, as reading it to the end would.
    let mut file = std::fs::File::open(&path).expect("open input");
    let from = 3_000_000 + 17;
    file.seek(SeekFrom::Start(from)).expect("seek");
    let shared = file.try_clone().expect("dup");
    let out = t
        .klog_std()
        .args(["produce", "s", "-q"])
        .stdin(Stdio::from(shared))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        consume_bytes(&t, "s", &[]),
        [&input[from as usize..], b"\n"].concat()
    );
    assert_eq!(
        file.stream_position().expect("position"),
        input.len() as u64
    );

    // A file whose size says nothing (/proc) is read, not mapped.
    let out = t
        .klog()
        .args(["produce", "proc", "-q", "/proc/self/status"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = t.consume("proc", &[]);
    assert!(
        lines.len() > 5 && lines[0].starts_with("Name:"),
        "/proc/self/status produced {lines:?}"
    );
}

#[test]
fn an_input_file_cut_short_while_produced_stops_with_an_error_and_keeps_the_log() {
    let t = TestDir::new();
    let input = hundred_byte_lines(640_000); // 64 MB
    let path = write_file(t.root(), "big.txt", &input);
    let mut child = t
        .klog_std()
        .args(["produce", "cut", "-q"])
        .arg(&path)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Cut the input as soon as the first batch is in the log: klog maps only a few MiB
    // ahead of what it has appended, so most of the file is still to be read.
    let log = t.partition_dir("cut", 0).join("00000000000000000000.log");
    let start = Instant::now();
    while std::fs::metadata(&log).map_or(0, |m| m.len()) == 0
        && child.try_wait().expect("wait").is_none()
    {
        assert!(
            start.elapsed() < DEADLINE,
            "no batch appended within {DEADLINE:?}"
        );
        thread::yield_now();
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(0))
        .expect("truncate the input");
    let status = wait_within(&mut child, "klog produce of a cut input");
    let stderr = read_stderr(&mut child);
    // Not killed by SIGBUS: an error (the usual case: windows were mapped), or a clean end at
    // the new end of file when the cut fell between two windows (or after klog was done).
    let want = [&input[..], b"\n"].concat();
    let got = consume_bytes(&t, "cut", &[]);
    match status.code() {
        Some(1) => {
            assert!(
                stderr.contains("an input file shrank while it was being read"),
                "{stderr}"
            );
            assert!(
                got.len() < want.len(),
                "all records appended despite the error"
            );
        }
        Some(0) => assert!(stderr.is_empty(), "{stderr}"),
        other => panic!("klog produce ended with {other:?} ({status:?}): {stderr}"),
    }
    // What readers see is whole lines from the start of the input.
    assert!(!got.is_empty(), "nothing appended");
    assert!(
        want.starts_with(&got),
        "the log is not a prefix of the input"
    );
    // The exit is as abrupt as a kill: a batch being written may be torn. The next writer
    // cuts it, and then the log verifies, with the lines above and the new one.
    t.produce("cut", "after", &["-q"]);
    t.ok(&["segments", "verify", "cut"]);
    assert_eq!(
        consume_bytes(&t, "cut", &[]),
        [&got[..], b"after\n"].concat()
    );
}

/// Regression: a follower blocked on a full stdout (a reader that stopped reading) ignored
/// Ctrl-C and SIGTERM, which it only looked at between records. A signal now ends it within
/// a moment anyway (status 130: it could not finish cleanly), and a second one at once;
/// nothing it did not flush is committed.
#[test]
fn regression_a_follower_blocked_writing_ends_on_a_signal() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "b"]);
    let line = "x".repeat(1000);
    let input: String = (0..2000).map(|_| format!("{line}\n")).collect();
    t.produce("b", input, &["-q"]);
    for (args, signals) in [
        (vec!["-f"], vec!["-TERM"]),
        (vec!["-f", "-g", "g"], vec!["-INT"]),
        (vec!["-f"], vec!["-INT", "-INT"]),
    ] {
        // Nobody reads its stdout: 2 MB do not fit in a pipe, so it blocks writing.
        let mut c = spawn_consumer(&t, "b", &args);
        let stalled = Instant::now() + Duration::from_millis(300);
        while Instant::now() < stalled {
            assert!(c.try_wait().expect("try_wait").is_none(), "{args:?} exited");
            thread::sleep(Duration::from_millis(10));
        }
        for s in &signals {
            signal(&c, s);
        }
        let status = wait_within(&mut c, &format!("consume {args:?} after {signals:?}"));
        assert_eq!(status.code(), Some(130), "{args:?} {signals:?}");
    }
    // The member committed nothing it did not write out: no offset yet, or one below the end.
    let out = t.run(&["groups", "describe", "g", "--json"]);
    if out.status.success() {
        let rows: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let committed = rows[0]["current_offset"].as_i64().unwrap_or(0);
        assert!(committed < 2000, "{rows}");
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("does not exist"), "{stderr}");
    }
}
