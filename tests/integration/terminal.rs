//! What a person sees in a terminal versus what a pipe gets: progress bars and tables appear
//! on a terminal (a pseudo-terminal made by util-linux `script`), never in a pipe.

use std::process::Command;

use serde_json::json;

use crate::util::{KLOG, TestDir};

/// Runs `klog --dir D ARGS…` inside a pseudo-terminal; returns what the terminal showed.
fn in_terminal(t: &TestDir, args: &[&str]) -> Option<String> {
    in_terminal_with(t, args, &[])
}

/// [`in_terminal`] with these environment variables set.
fn in_terminal_with(t: &TestDir, args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: util-linux `script` is not installed");
        return None;
    }
    let mut cmd = format!("'{KLOG}' --dir '{}'", t.data().display());
    for a in args {
        cmd.push_str(&format!(" '{a}'"));
    }
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("KLOG_DIR")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .output()
        .expect("run script");
    // `script -e` exits with klog's status; callers check the screen, and the status of the
    // same command run in a pipe.
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_bars_and_tables_show_in_a_terminal_and_never_in_a_pipe() {
    let t = TestDir::new();
    // Retention off while producing (it runs on every roll), on for the clean below.
    t.ok(&[
        "topics",
        "create",
        "old",
        "-p",
        "3",
        "-c",
        "segment.bytes=2000",
        "-c",
        "retention.ms=-1",
    ]);
    // Records from 1970: retention finds every closed segment ancient.
    let mut input = String::new();
    for i in 0..300 {
        input += &(json!({"key": format!("k{i}"), "value": "x".repeat(40), "timestamp": 1000 + i})
            .to_string()
            + "\n");
    }
    t.produce("old", input, &["-q", "--json"]);
    t.ok(&["topics", "alter", "old", "-c", "retention.ms=3600000"]);

    let Some(screen) = in_terminal(&t, &["clean", "--dry-run"]) else {
        return;
    };
    assert!(
        screen.contains("cleaning ["),
        "a progress bar in the terminal: {screen:?}"
    );
    assert!(
        screen.contains("TOPIC") && screen.contains("PARTITION"),
        "a table: {screen:?}"
    );

    // The same command in a pipe: the table on stdout, no bar and no escape codes anywhere.
    let out = t.run(&["clean", "--dry-run"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("TOPIC"), "{stdout}");
    assert!(
        !stderr.contains("cleaning ["),
        "no bar in a pipe: {stderr:?}"
    );
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "no escape codes in a pipe"
    );

    // Errors are red in a terminal only, and NO_COLOR turns that off.
    let Some(screen) = in_terminal(&t, &["consume", "olf"]) else {
        return;
    };
    assert!(screen.contains("\x1b[1;31merror:"), "{screen:?}");
    assert!(screen.contains("did you mean 'old'?"), "{screen:?}");
    let out = t.run(&["consume", "olf"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\x1b'));
    let plain = in_terminal_with(&t, &["consume", "olf"], &[("NO_COLOR", "1")]).expect("script");
    assert!(plain.contains("error:"), "{plain:?}");
    assert!(!plain.contains("\x1b[1;31m"), "NO_COLOR: {plain:?}");
}
