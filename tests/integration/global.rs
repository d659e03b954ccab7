//! Global behaviour: choosing the data directory, exit codes of usage errors, help and version.

use std::fs;

use crate::util::{TestDir, bare_klog, has_meta, klog_at};

fn topic_names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn dir_flag_and_klog_dir_env_select_the_data_directory() {
    let t = TestDir::new();
    let env_dir = t.root().join("from-env");
    let flag_dir = t.root().join("from-flag");

    // KLOG_DIR alone.
    bare_klog()
        .env("KLOG_DIR", &env_dir)
        .args(["topics", "create", "in-env"])
        .assert()
        .success();
    assert!(has_meta(&env_dir, "in-env"));
    assert!(env_dir.join("in-env-0").is_dir());

    // --dir alone.
    bare_klog()
        .arg("--dir")
        .arg(&flag_dir)
        .args(["topics", "create", "in-flag"])
        .assert()
        .success();
    assert!(has_meta(&flag_dir, "in-flag"));

    // Both: --dir wins, also when given after the subcommand.
    bare_klog()
        .env("KLOG_DIR", &env_dir)
        .args(["produce", "both"])
        .arg("--dir")
        .arg(&flag_dir)
        .write_stdin("from both\n")
        .assert()
        .success();
    assert!(flag_dir.join("both-0").is_dir());
    assert!(!env_dir.join("both-0").exists() && !has_meta(&env_dir, "both"));

    let list = |env: &std::path::Path| {
        let out = bare_klog()
            .env("KLOG_DIR", env)
            .args(["topics", "list", "--json"])
            .output()
            .expect("run");
        assert!(out.status.success());
        topic_names(&crate::util::json(&String::from_utf8_lossy(&out.stdout)))
    };
    assert_eq!(list(&env_dir), ["in-env"]);
    assert_eq!(list(&flag_dir), ["both", "in-flag"]);
    let out = bare_klog()
        .env("KLOG_DIR", &env_dir)
        .arg("--dir")
        .arg(&flag_dir)
        .args(["consume", "both"])
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from both\n");
}

#[test]
fn without_dir_or_klog_dir_the_platform_data_dir_is_used() {
    let t = TestDir::new();
    let xdg = t.root().join("xdg-data");
    let home = t.root().join("home");
    fs::create_dir_all(&home).expect("home");
    bare_klog()
        .env("HOME", &home)
        .env("XDG_DATA_HOME", &xdg)
        .args(["topics", "create", "default-place"])
        .assert()
        .success();
    assert!(has_meta(&xdg.join("klog"), "default-place"));
    assert!(
        fs::read_dir(&home).expect("home").next().is_none(),
        "nothing in HOME"
    );
}

#[test]
fn usage_errors_exit_2_help_and_version_exit_0() {
    let t = TestDir::new();
    for args in [
        &["no-such-command"][..],
        &["topics"],
        &["topics", "create"],
        &["topics", "create", "t", "-p", "many"],
        &["produce"],
        &["consume", "t", "--no-such-flag"],
        &["--color", "sometimes", "topics", "list"],
    ] {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    assert!(!t.data().exists(), "usage errors write nothing");

    for args in [
        &["--help"][..],
        &["-h"],
        &["consume", "--help"],
        &["-V"],
        &["--version"],
    ] {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    let out = t.run(&["--version"]);
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(
        v.starts_with("klog ") && v.contains(env!("CARGO_PKG_VERSION")),
        "{v}"
    );

    // -q silences notes but not data.
    let out = klog_at(t.data())
        .args(["-q", "topics", "create", "quiet"])
        .output()
        .expect("run");
    assert!(out.status.success() && out.stderr.is_empty() && out.stdout.is_empty());
    let out = klog_at(t.data())
        .args(["topics", "create", "noisy"])
        .output()
        .expect("run");
    assert!(out.status.success() && !out.stderr.is_empty());
    let out = klog_at(t.data())
        .args(["--quiet", "topics", "list", "--json"])
        .output()
        .expect("run");
    assert_eq!(
        topic_names(&crate::util::json(&String::from_utf8_lossy(&out.stdout))),
        ["noisy", "quiet"]
    );
}

#[test]
fn a_data_dir_that_is_a_file_is_a_runtime_error_naming_it() {
    let t = TestDir::new();
    let file = t.root().join("not-a-dir");
    fs::write(&file, "x").expect("write");
    for args in [
        &["topics", "create", "t"][..],
        &["produce", "t"],
        &["topics", "list"],
        &["consume", "t"],
    ] {
        let out = klog_at(&file)
            .args(args)
            .write_stdin("r\n")
            .output()
            .expect("run");
        assert!(!out.status.success(), "{args:?}");
        let err = crate::util::assert_error(&out, out.status.code().unwrap_or(-1));
        if args[0] != "consume" {
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.contains("not-a-dir"), "{args:?}: {err}");
        }
    }
    assert_eq!(fs::read(&file).expect("read"), b"x");
}

/// Usage errors found while parsing the arguments are one `klog: error:` line naming what is
/// wrong, plus at most one hint line (clap's own report is several lines: a tip, the usage,
/// "For more information"), with exit status 2 and nothing written.
#[test]
fn regression_usage_errors_are_one_error_line_and_a_hint() {
    let t = TestDir::new();
    for (args, says) in [
        (
            &["consume", "t", "-n", "-1"][..],
            "invalid value '-1' for '--count <N>': it must not be negative",
        ),
        (&["consume", "t", "--count=-1"], "must not be negative"),
        (&["consume", "t", "-n", "x"], "expected a whole number"),
        (&["consume", "t", "--no-such-flag"], "'--no-such-flag'"),
        (
            &["groups", "reset", "g", "--topic", "t", "--to-offset", "-5"],
            "invalid --to-offset -5: an offset is never negative (--shift-by -5",
        ),
        (&["topics", "create"], "<TOPIC>"),
        (&["topics"], "'klog topics' needs a command: create, list,"),
        (&[], "'klog' needs a command: topics, produce, consume"),
        (
            &["no-such-command"],
            "unrecognized subcommand 'no-such-command'",
        ),
        (&["--color", "sometimes", "topics", "list"], "'sometimes'"),
        (
            &["consume", "t", "--json", "-K", ":"],
            "'--json' cannot be used with",
        ),
    ] {
        let out = t.run(args);
        let err = crate::util::assert_error(&out, 2);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(
            !err.contains("Usage:") && !err.contains("For more information"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Hints: a similar name when there is one, else where to look.
    let err = crate::util::assert_error(&t.run(&["consume", "t", "--cont", "3"]), 2);
    assert!(
        err.contains("hint: a similar argument exists: '--count'"),
        "{err}"
    );
    let err = crate::util::assert_error(&t.run(&["consume", "t", "--no-such-flag"]), 2);
    assert!(
        err.contains("hint: `klog consume --help` lists the options"),
        "{err}"
    );
    let err = crate::util::assert_error(&t.run(&["topics", "create"]), 2);
    assert!(err.contains("hint: usage: klog topics create"), "{err}");
    assert!(!t.data().exists(), "usage errors write nothing");

    // --help and --version stay clap's, on stdout.
    let out = t.run(&["consume", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: klog consume"), "{help}");
    assert!(help.contains("Options:"), "{help}");
    assert!(out.stderr.is_empty());
}

/// `KLOG_DIR=` (set, but empty) is as if it were unset: the platform data directory, not a
/// complaint about a `--dir` the user never typed.
#[test]
fn regression_an_empty_klog_dir_is_unset() {
    let t = TestDir::new();
    let xdg = t.root().join("xdg-data");
    let home = t.root().join("home");
    fs::create_dir_all(&home).expect("home");
    bare_klog()
        .env("KLOG_DIR", "")
        .env("HOME", &home)
        .env("XDG_DATA_HOME", &xdg)
        .args(["topics", "create", "empty-env"])
        .assert()
        .success();
    assert!(has_meta(&xdg.join("klog"), "empty-env"));
    // --dir still wins over it.
    let flag_dir = t.root().join("flag");
    bare_klog()
        .env("KLOG_DIR", "")
        .arg("--dir")
        .arg(&flag_dir)
        .args(["topics", "create", "in-flag"])
        .assert()
        .success();
    assert!(has_meta(&flag_dir, "in-flag"));
}
