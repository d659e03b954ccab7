//! Kafka's partitioner: the test's murmur2 against Kafka's vectors, and keyed records in the
//! partition murmur2 gives.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::util::TestDir;

use crate::pipes::*;

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

#[test]
fn keyed_records_follow_kafkas_murmur2_partitioner() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "keys", "-p", "3"]);
    let first: String = (0..10).map(|k| format!("{k}:first-{k}\n")).collect();
    t.produce("keys", first, &["-K", ":"]);
    // A second run, keys in the opposite order: the same key must go to the same partition.
    let second: String = (0..10).rev().map(|k| format!("{k}:second-{k}\n")).collect();
    t.produce("keys", second, &["-K", ":"]);

    // Where a real Kafka broker put keys "0".."9" of a 3-partition topic.
    let kafka: [(u32, &[u32]); 3] = [(0, &[1, 5, 7, 8]), (1, &[4, 6]), (2, &[0, 2, 3, 9])];
    for (p, keys) in kafka {
        let got = t.consume("keys", &["-p", &p.to_string(), "-K", ":"]);
        let mut want: Vec<String> = keys.iter().map(|k| format!("{k}:first-{k}")).collect();
        want.extend(keys.iter().rev().map(|k| format!("{k}:second-{k}")));
        assert_eq!(got, want, "partition {p}");
    }

    // -k gives every record the same key: one partition, the one -K picks for that key.
    t.produce("keys", "a\nb\nc\nd\n", &["-k", "user-42"]);
    t.produce("keys", "user-42:e\n", &["-K", ":"]);
    let mut holders = Vec::new();
    for p in 0..3u32 {
        let got = t.consume("keys", &["-p", &p.to_string(), "-K", "="]);
        let mine: Vec<&String> = got.iter().filter(|l| l.starts_with("user-42=")).collect();
        if !mine.is_empty() {
            let values: Vec<&str> = mine.iter().map(|l| &l["user-42=".len()..]).collect();
            assert_eq!(values, ["a", "b", "c", "d", "e"], "partition {p}");
            holders.push(p);
        }
    }
    assert_eq!(
        holders.len(),
        1,
        "key user-42 spread over partitions {holders:?}"
    );
}
