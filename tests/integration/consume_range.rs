//! Where `consume` starts and stops and how many records it prints: every offset and time
//! form of `-o`/`-u`, relative times, offsets per partition, `--count`, and kcat's and
//! kafka-console-consumer's flags.

use serde_json::json;

use crate::util::TestDir;

use crate::pipes::*;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

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

#[test]
fn consume_offsets_counts_and_partitions() {
    let t = two_partitions();
    let c = |args: &[&str]| t.consume("t", args);
    let a = |r: std::ops::Range<u32>| r.map(|i| format!("a-{i}")).collect::<Vec<_>>();
    let b = |r: std::ops::Range<u32>| r.map(|i| format!("b-{i}")).collect::<Vec<_>>();
    let cat = |x: Vec<String>, y: Vec<String>| [x, y].concat();

    assert_eq!(c(&[]), cat(a(0..10), b(0..5)));
    assert_eq!(c(&["--from-beginning"]), cat(a(0..10), b(0..5)));
    assert_eq!(c(&["-o", "beginning"]), cat(a(0..10), b(0..5)));
    assert_eq!(c(&["-o", "end"]), Vec::<String>::new());
    // -N: the last N of each partition.
    assert_eq!(c(&["-o", "-3"]), cat(a(7..10), b(2..5)));
    assert_eq!(c(&["-o", "-1"]), strs(&["a-9", "b-4"]));
    assert_eq!(c(&["-o", "-100"]), cat(a(0..10), b(0..5)));
    // N: absolute, per partition; past the end is nothing.
    assert_eq!(c(&["-o", "3"]), cat(a(3..10), b(3..5)));
    assert_eq!(c(&["-o", "8"]), a(8..10));
    assert_eq!(c(&["-o", "10"]), Vec::<String>::new());
    assert_eq!(c(&["--offset", "2", "-n", "3"]), a(2..5));
    // -n counts across partitions.
    assert_eq!(c(&["-n", "12"]), cat(a(0..10), b(0..2)));
    assert_eq!(c(&["--count", "0"]), Vec::<String>::new());
    // -p selects partitions.
    assert_eq!(c(&["-p", "1"]), b(0..5));
    assert_eq!(c(&["-p", "1", "-o", "-2"]), b(3..5));
    assert_eq!(c(&["-p", "0", "-o", "4", "-n", "1"]), strs(&["a-4"]));
}
