//! One record much larger than everything else (a 96 MiB value, `max.message.bytes` raised):
//! every command that moves it holds it in memory once, never twice. Peak RSS is measured
//! per command (by GNU time) and must stay under 64 MiB plus one copy of the record.
//!
//! Regression: a 1 GiB record peaked at 2.1 GB for produce and consume, 5.2 GB for
//! `segments dump --records` and 7.3 GB for `consume --json`: the record was copied into a
//! batch, a scan read a huge batch whole beside the one being written, a reader kept the
//! last segment's buffer while filling the next one's, and output formats copied or encoded
//! the whole value before writing it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::TestDir;

const RECORD: usize = 96 << 20;
/// 64 MiB for everything else, plus one copy of the record.
const LIMIT_KIB: u64 = ((64 << 20) + RECORD as u64) / 1024;

/// GNU time: it forks klog from a small process of its own and reports the child's peak RSS
/// (`wait4`'s `ru_maxrss`). A child forked from the test process would count the test
/// process's memory at the fork as its own. Missing: the test skips with a note, but fails
/// under `CI=true` (`.ci/run` installs it).
fn gnu_time() -> Option<&'static Path> {
    let time = Path::new("/usr/bin/time");
    if time.is_file() {
        return Some(time);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE"));
    assert!(
        !ci,
        "/usr/bin/time (Debian's `time`) is missing under CI=true"
    );
    eprintln!("skipping: /usr/bin/time (Debian's `time`) is missing");
    None
}

/// Runs `klog ARGS` (stdin from `input`, stdout to `out`) under GNU time; returns its exit
/// status and peak RSS in KiB.
fn run_measured(t: &TestDir, time: &Path, args: &[&str], input: &Path, out: &Path) -> (i32, u64) {
    let report = t.root().join("rss");
    let status = Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(crate::util::KLOG)
        .arg("--dir")
        .arg(t.data())
        .args(args)
        .env_remove("KLOG_DIR")
        .stdin(std::fs::File::open(input).expect("open the input"))
        .stdout(std::fs::File::create(out).expect("create the output"))
        .stderr(Stdio::null())
        .status()
        .expect("run klog under time");
    let text = std::fs::read_to_string(&report).expect("time's report");
    let kib = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .expect("a peak RSS in time's report");
    (status.code().unwrap_or(-1), kib)
}

#[test]
fn regression_a_large_record_is_in_memory_once() {
    let Some(time) = gnu_time() else {
        return;
    };
    let t = TestDir::new();
    t.ok(&[
        "topics",
        "create",
        "big",
        "-c",
        "max.message.bytes=400000000",
        "-c",
        "segment.bytes=400000000",
    ]);
    let line = t.root().join("line.txt");
    let mut bytes = vec![b'x'; RECORD];
    std::fs::write(t.root().join("record.bin"), &bytes).expect("write the record");
    bytes.push(b'\n');
    std::fs::write(&line, &bytes).expect("write the line");
    drop(bytes);
    let empty = t.root().join("empty");
    std::fs::write(&empty, b"").expect("write an empty input");
    let raw = t.root().join("record.bin");
    let raw = raw.to_str().expect("utf-8 path");
    let out = t.root().join("out");
    let mut over = Vec::new();
    // A pipe would do for stdin too; a file is what the test can give time's child.
    for (args, input) in [
        (&["produce", "big"][..], &line),
        (&["produce", "big", "--raw", raw][..], &empty),
    ] {
        let (code, kib) = run_measured(&t, time, args, input, &out);
        assert_eq!(code, 0, "{args:?}");
        if kib > LIMIT_KIB {
            over.push(format!("{args:?}: {kib} KiB"));
        }
    }
    for args in [
        &["consume", "big"][..],
        &["consume", "big", "--json"],
        &["consume", "big", "-F", "%o %k %s\\n"],
        &["segments", "dump", "big", "--records"],
        &["segments", "dump", "big", "--records", "--json"],
        &["segments", "verify", "big"],
    ] {
        let (code, kib) = run_measured(&t, time, args, &empty, &out);
        assert_eq!(code, 0, "{args:?}");
        let printed = std::fs::metadata(&out).expect("output").len();
        if args[0] == "consume" || args.contains(&"--records") {
            assert!(
                printed > 2 * RECORD as u64,
                "{args:?} printed {printed} bytes"
            );
        }
        if kib > LIMIT_KIB {
            over.push(format!("{args:?}: {kib} KiB"));
        }
    }
    assert!(
        over.is_empty(),
        "peak RSS over {LIMIT_KIB} KiB (64 MiB and one {RECORD}-byte record): {over:?}"
    );
}
