//! Times and durations as Kafka's tools and their users write them: `groups reset
//! --by-duration` in ISO 8601, `--to-offset` outside the log moved to its nearest end,
//! compound relative times (`@-1h30m`), and dates as far ahead as RFC 3339 goes.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::{TestDir, assert_error, json};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// Topic `t` (one partition) with records stamped 48 h, 3 h, 2 h, 70 min and 10 min ago, at
/// offsets 0 to 4.
fn timed_topic() -> TestDir {
    let t = TestDir::new();
    let now = now_ms();
    let input: String = [48 * HOUR, 3 * HOUR, 2 * HOUR, 70 * MINUTE, 10 * MINUTE]
        .iter()
        .enumerate()
        .map(|(i, ago)| format!("{{\"value\":\"r{i}\",\"timestamp\":{}}}\n", now - ago))
        .collect();
    t.produce("t", input, &["--json"]);
    t
}

/// `groups reset g --topic t ARGS… --dry-run --json`: the new offset of partition 0, and the
/// notes on stderr.
fn reset_to(t: &TestDir, args: &[&str]) -> (i64, String) {
    let mut all = vec![
        "groups",
        "reset",
        "g",
        "--topic",
        "t",
        "--dry-run",
        "--json",
    ];
    all.extend_from_slice(args);
    let out = t.run(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = json(&String::from_utf8_lossy(&out.stdout));
    (
        rows[0]["new_offset"].as_i64().expect("new_offset"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--by-duration` takes Kafka's ISO 8601 durations (`PnDTnHnMnS`, as
/// kafka-consumer-groups does) as well as klog's compact form; it used to refuse `PT1H`.
#[test]
fn regression_by_duration_takes_iso_8601_like_kafka() {
    let t = timed_topic();
    for (duration, offset) in [
        ("PT1H30M", 3),
        ("pt1h30m", 3),
        ("1h30m", 3),
        ("PT2H30M", 2),
        ("P1DT2H", 1),
        ("P3D", 0),
        ("PT0.5S", 5),
        ("PT30M", 4),
        ("PT1800S", 4),
        ("PT1799.5S", 4),
        ("P1D", 1),
    ] {
        assert_eq!(
            reset_to(&t, &["--by-duration", duration]).0,
            offset,
            "{duration}"
        );
    }
    for bad in ["PT", "P1H", "PT1D", "1h30", "PT1S1H"] {
        let err = assert_error(
            &t.run(&["groups", "reset", "g", "--topic", "t", "--by-duration", bad]),
            2,
        );
        assert!(
            err.contains(&format!("invalid --by-duration '{bad}'")),
            "{err}"
        );
        assert!(err.contains("PT1H, P1DT2H, PT0.5S"), "{err}");
    }
}

/// `--to-offset` past the log end exited 2; Kafka's tool moves it to the log end (and one
/// below the log start to the log start), saying so.
#[test]
fn regression_to_offset_outside_the_log_moves_to_its_nearest_end() {
    let t = timed_topic();
    let (offset, notes) = reset_to(&t, &["--to-offset", "999"]);
    assert_eq!(offset, 5);
    assert!(
        notes.contains("offset 999 is past the log end of t-0: using the log end offset 5"),
        "{notes}"
    );
    let (offset, notes) = reset_to(&t, &["--to-offset", "3"]);
    assert_eq!(offset, 3);
    assert!(!notes.contains("using the log"), "{notes}");
    t.ok(&["trim", "t", "--before", "2"]);
    let (offset, notes) = reset_to(&t, &["--to-offset", "0"]);
    assert_eq!(offset, 2);
    assert!(
        notes.contains("offset 0 is below the log start of t-0: using the log start offset 2"),
        "{notes}"
    );
    // Without --dry-run the clamped offset is the one committed.
    t.ok(&[
        "groups",
        "reset",
        "g",
        "--topic",
        "t",
        "--to-offset",
        "1000",
    ]);
    let described = json(&t.ok(&["groups", "describe", "g", "--json"]));
    assert_eq!(described[0]["current_offset"], 5, "{described}");
}

/// Relative times made of several units (`-1h30m`, `-1d12h`) work wherever a time is taken:
/// consume's `-o @…` and `-u @…`, trim's `--before @…`, groups reset's `--to-time`.
#[test]
fn regression_compound_relative_times_everywhere() {
    let t = timed_topic();
    let values = |args: &[&str]| t.consume("t", args);
    assert_eq!(values(&["-o", "@-1h30m"]), ["r3", "r4"]);
    assert_eq!(values(&["-o", "@-1d12h"]), ["r1", "r2", "r3", "r4"]);
    assert_eq!(values(&["-o", "@-2h30m", "-u", "@-1h30m"]), ["r2"]);
    assert_eq!(reset_to(&t, &["--to-time", "-1h30m"]).0, 3);
    assert_eq!(reset_to(&t, &["--to-time", "-2d12h"]).0, 0);
    let err = assert_error(&t.run(&["consume", "t", "-o", "@-30m1h"]), 2);
    assert!(err.contains("invalid time '-30m1h'"), "{err}");
    t.ok(&["trim", "t", "--before", "@-1d12h"]);
    assert_eq!(values(&[]), ["r1", "r2", "r3", "r4"]);
}

/// `-o @9999-12-31` was refused as an invalid time (jiff's timestamps stop a day short of it):
/// every RFC 3339 date and time is taken, far ahead or before 1970.
#[test]
fn regression_far_dates_are_valid_times() {
    let t = timed_topic();
    let all = ["r0", "r1", "r2", "r3", "r4"];
    for spec in [
        "@9999-12-31",
        "@9999-12-31T23:59:59.999Z",
        "@9999-12-31T23:59:59-23:59",
        "@9999-12-30T23:00:00+00:00",
    ] {
        assert!(t.consume("t", &["-o", spec]).is_empty(), "{spec}");
        assert_eq!(t.consume("t", &["-u", spec]), all, "{spec}");
    }
    assert_eq!(t.consume("t", &["-o", "@0000-01-01"]), all);
    assert_eq!(t.consume("t", &["-o", "@1969-12-31T23:59:59Z"]), all);
    assert_eq!(reset_to(&t, &["--to-time", "9999-12-31"]).0, 5);
    // Not dates: still refused.
    for bad in ["@9999-12-32", "@10000-01-01", "@2024-05-01T12:00:00"] {
        let err = assert_error(&t.run(&["consume", "t", "-o", bad]), 2);
        assert!(err.contains("invalid time"), "{bad}: {err}");
    }
}
