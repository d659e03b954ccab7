//! The rule for a missing `../shared/fixtures`: a skip with a note, a failure under `CI=true`
//! (this target's own tests, run in a child process with the fixtures pointed elsewhere).

use std::process::{Command, Output};

/// Runs one test of this target in a child process, with the fixtures pointed at a directory
/// that does not exist and `CI` as given (`None`: unset).
fn run_without_fixtures(test: &str, ci: Option<&str>) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--test-threads", "1", "--nocapture"])
        .env("KLOG_SHARED_FIXTURES", tmp.path().join("absent"))
        .env_remove("CI");
    if let Some(ci) = ci {
        cmd.env("CI", ci);
    }
    cmd.output().unwrap()
}

/// Under `CI=true` a test that reads `../shared/fixtures` fails when it is missing instead of
/// passing without having checked anything; outside CI it skips with a note.
#[test]
fn regression_missing_fixtures_fail_under_ci() {
    let test = "klog_writes::checkpoint_parsers_accept_broker_files";
    let out = run_without_fixtures(test, Some("true"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "passed under CI=true: {text}");
    assert!(text.contains("absent not found"), "{text}");
    assert!(text.contains("1 failed"), "{text}");

    for ci in [None, Some("false"), Some("")] {
        let out = run_without_fixtures(test, ci);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "CI={ci:?}: {text}");
        assert!(
            text.contains("skipping: ") && text.contains("1 passed"),
            "{text}"
        );
    }
}
