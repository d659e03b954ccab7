//! Volume: every record of a large input comes back, in order per partition, across
//! partitions and batches.

use std::io::Write;

use crate::util::{TestDir, numbered_lines};

use crate::pipes::*;

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

#[test]
fn hundred_thousand_lines_through_three_partitions() {
    let t = TestDir::new();
    t.ok(&["topics", "create", "big", "-p", "3"]);
    // About 5 MB: keyless records go to one partition per batch (batches of up to 1 MiB), so
    // this is enough to reach all three partitions whatever the batching.
    let (input, expected) = numbered_lines(
        "line-padded-to-fill-several-one-megabyte-batches",
        0..100_000,
    );
    t.produce("big", input, &[]);

    // Every line comes back exactly once (the lines are zero-padded: sorted = numeric order).
    let all = t.consume("big", &[]);
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(sorted.len(), expected.len());
    assert!(
        sorted == expected,
        "consumed multiset differs from produced"
    );

    // Spread over all three partitions, and the counts add up.
    let d = t.describe("big");
    assert_eq!(d["name"], "big");
    let parts = d["partitions"].as_array().expect("partitions array");
    assert_eq!(parts.len(), 3);
    let mut total = 0;
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p["partition"], i as u64);
        let records = p["records"].as_i64().expect("records");
        assert!(records > 0, "partition {i} got no records: {d}");
        assert_eq!(p["log_start_offset"], 0);
        assert_eq!(p["log_end_offset"].as_i64(), Some(records));
        total += records;
    }
    assert_eq!(total, 100_000);

    // Each partition, read alone, is in production order; together they are the whole topic.
    let mut concatenated = Vec::new();
    for (p, stats) in parts.iter().enumerate() {
        let got = t.consume("big", &["-p", &p.to_string()]);
        assert_eq!(Some(got.len() as i64), stats["records"].as_i64());
        if let Some(w) = got.windows(2).find(|w| w[0] >= w[1]) {
            panic!("partition {p} out of order: {} before {}", w[0], w[1]);
        }
        concatenated.extend(got);
    }
    concatenated.sort_unstable();
    assert!(
        concatenated == sorted,
        "the partitions read one by one are not the whole topic"
    );
}
