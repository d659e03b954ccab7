//! `produce`'s and `consume`'s own argument errors (bad escapes, offset specs: exit 2,
//! nothing created or printed) and a topic that does not exist.

use crate::util::{TestDir, assert_error, has_meta};

use crate::pipes::*;

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
fn consume_usage_errors_exit_2() {
    let t = two_partitions();
    let out = t.run(&["consume", "t", "-p", "2"]);
    let err = assert_error(&out, 2);
    assert!(err.contains("partition 2"), "{err}");
    assert!(out.stdout.is_empty());

    for bad in ["abc", "1.5", "--3", "-x", "99999999999999999999"] {
        let out = t.run(&["consume", "t", "-o", bad]);
        let err = assert_error(&out, 2);
        assert!(
            err.contains(&format!("'{bad}'")),
            "message must name {bad}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    // Not a number for -n / -p: clap's usage error, also 2.
    for args in [["-n", "many"], ["-p", "zero"]] {
        let out = t
            .klog()
            .arg("consume")
            .arg("t")
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
