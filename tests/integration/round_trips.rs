//! Round trips, byte for byte: NUL-delimited binary values, `--raw` files, and JSON copies
//! (`consume --json | produce --json`) with keys, values, headers, timestamps (missing, null,
//! -1, and magic 0/1 data without them) and partitions, or spread by key with
//! `--ignore-partition`.

use std::fs;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::util::{TestDir, assert_error, json, klog_at, lines};

use crate::pipes::*;

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

/// `klog --dir DIR consume TOPIC --json`, as bytes.
fn consume_json_at(dir: &Path, topic: &str) -> Vec<u8> {
    let out = klog_at(dir)
        .args(["consume", topic, "--json"])
        .output()
        .expect("run klog consume");
    assert!(
        out.status.success(),
        "consume {topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// One magic 0 message (no timestamp field) as a broker before 0.10 wrote it.
fn magic0_message(offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![0u8, 0u8];
    for field in [key, value] {
        match field {
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                body.extend_from_slice(b);
            }
        }
    }
    let mut out = offset.to_be_bytes().to_vec();
    out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// `consume --json | produce --json` copies a broker's magic 1 partitions exactly, the one
/// whose messages carry no timestamp (-1) included: consuming the copy prints the same lines.
#[test]
fn regression_json_copy_of_magic_1_data_without_timestamps_is_exact() {
    let Some(fx) = crate::fixtures::shared_fixtures() else {
        return;
    };
    let broker = fx.join("kafka/xpxwo100__bullShit/tmp/kafka-logs");
    let t = TestDir::new();
    // TEST-TOPIC: 21 211 messages with timestamp -1; topic1 and foo: real timestamps.
    for topic in ["TEST-TOPIC", "topic1", "foo"] {
        let original = consume_json_at(&broker, topic);
        let first: Value = json(&lines(&String::from_utf8_lossy(&original))[0]);
        if topic == "TEST-TOPIC" {
            assert_eq!(first["timestamp"], -1, "the fixture has no timestamps");
        }
        let out = produce_json(&t, topic, &original);
        assert!(
            out.status.success(),
            "{topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let copy = consume_json_at(t.data(), topic);
        assert!(copy == original, "{topic}: the copy differs");
    }
}

/// Magic 0 messages have no timestamp at all: their copy keeps -1 (Kafka's NO_TIMESTAMP), and
/// every other field, offsets included.
#[test]
fn regression_json_copy_of_magic_0_data_keeps_no_timestamp() {
    let src = TestDir::new();
    let dir = src.partition_dir("legacy", 0);
    fs::create_dir_all(&dir).expect("partition dir");
    let log: Vec<u8> = [
        magic0_message(0, Some(b"k0"), Some(b"v0")),
        magic0_message(1, None, Some(&[0, 159, 146, 150])),
        magic0_message(2, Some(b"k2"), None),
    ]
    .concat();
    fs::write(dir.join("00000000000000000000.log"), log).expect("write log");
    let original = consume_json_at(src.data(), "legacy");
    let original: Vec<Value> = lines(&String::from_utf8_lossy(&original))
        .iter()
        .map(|l| json(l))
        .collect();
    assert_eq!(original.len(), 3);
    assert!(
        original.iter().all(|r| r["timestamp"] == -1),
        "{original:?}"
    );

    let t = TestDir::new();
    let input: Vec<u8> = original
        .iter()
        .flat_map(|r| format!("{r}\n").into_bytes())
        .collect();
    let out = produce_json(&t, "legacy", &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = consume_json_at(t.data(), "legacy");
    let copy: Vec<Value> = lines(&String::from_utf8_lossy(&copy))
        .iter()
        .map(|l| json(l))
        .collect();
    assert_eq!(copy.len(), original.len());
    for (c, o) in copy.iter().zip(&original) {
        for field in [
            "topic",
            "partition",
            "offset",
            "timestamp",
            "key",
            "value",
            "headers",
        ] {
            assert_eq!(c[field], o[field], "{field}: {c} vs {o}");
        }
    }
}

/// A line without a timestamp (or with null) gets the producer's clock, as Kafka's producer
/// stamps a record created without one; -1 stays -1; other negative values are refused.
#[test]
fn json_timestamps_missing_null_and_none() {
    let t = TestDir::new();
    let before = now_ms();
    let out = produce_json(
        &t,
        "ts",
        br#"{"value":"missing"}
{"value":"null","timestamp":null}
{"value":"none","timestamp":-1}
{"value":"given","timestamp":5}
"#,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = now_ms();
    let got: Vec<Value> = t
        .consume("ts", &["--json"])
        .iter()
        .map(|l| json(l))
        .collect();
    for r in &got[..2] {
        let ts = r["timestamp"].as_i64().expect("timestamp");
        assert!((before..=after).contains(&ts), "{r}");
    }
    assert_eq!(got[2]["timestamp"], -1);
    assert_eq!(got[3]["timestamp"], 5);

    let out = produce_json(&t, "ts", br#"{"value":"x","timestamp":-2}"#);
    let err = assert_error(&out, 1);
    assert!(
        err.contains("line 1: timestamp must be milliseconds since the epoch, or -1 for none"),
        "{err}"
    );
}

/// The README's copy into a topic with more partitions put everything in partition 0, since
/// each JSON line says `"partition":0`. `--ignore-partition` chooses by key instead, exactly
/// as producing the same keys with `-K` does.
#[test]
fn regression_ignore_partition_spreads_a_json_copy_by_key() {
    let t = TestDir::new();
    let keyed: String = (0..40).map(|i| format!("user-{i}:v{i}\n")).collect();
    t.produce("src", keyed.clone(), &["-K", ":"]);
    // The reference: the same records produced with keys into 3 partitions.
    t.produce("by-key", keyed, &["-K", ":", "--partitions", "3"]);
    let json_lines = t.ok(&["consume", "src", "--json"]);

    let out = produce_run(
        &t,
        "copy",
        &["--json", "--partitions", "3", "--ignore-partition"],
        json_lines.clone(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let placed = |topic: &str| {
        let mut v = t.consume(topic, &["-F", "%p %k=%s\n"]);
        v.sort();
        v
    };
    let copy = placed("copy");
    assert_eq!(copy, placed("by-key"));
    assert!(
        copy.iter().any(|l| !l.starts_with("0 ")),
        "all in partition 0: {copy:?}"
    );

    // Without it, the "partition" field counts (all 0 here), as before.
    let out = produce_run(&t, "kept", &["--json", "--partitions", "3"], json_lines);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(placed("kept").iter().all(|l| l.starts_with("0 ")));
    // It means nothing without --json.
    assert_error(&produce_run(&t, "kept", &["--ignore-partition"], "x\n"), 2);
}
