//! Hostile names and input: topic and group names with `/`, `..`, 300 characters, non-ASCII
//! (a NUL cannot be passed in argv, so it is not tried); configs with absurd values; offsets out
//! of range; a data directory that is a file; a read-only data directory. Each must end with
//! exit 1 or 2 and klog's one-line error (`klog: error: …`, at most a `hint:` line after it;
//! clap's own usage errors, for values of typed flags that do not parse, are accepted for exit
//! 2), print nothing on stdout, and write nothing outside the data directory (the parent
//! temporary directory is compared before and after) nor anything new in it. Files klog
//! creates honour the umask (run under `umask 077`: no group or other permission bits).
//!
//! Group ids are Kafka's: any non-empty string. The hostile names that are not refused as
//! group ids (all but the empty one and those too long for a file name once encoded) must
//! work, and leave files only inside the partition directory, which `groups delete` removes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::harness::{KLOG, Klog, Out, Summary, run_command, tree_listing};

/// Whether klog refuses `name` as a group id: Kafka refuses only the empty one, klog also one
/// whose file names would pass 255 bytes (each byte outside `[A-Za-z0-9._-]` is written as
/// `%XX`, and 223 bytes are left for the name).
fn group_refused(name: &str) -> bool {
    let encoded: usize = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                1
            } else {
                3
            }
        })
        .sum();
    name.is_empty() || encoded > 223
}

/// Runs one hostile command and checks how it ends.
fn expect_refusal(s: &mut Summary, out: &Out, codes: &[i32]) {
    s.rounds += 1;
    if s.check_crash(out, "hostile input") {
        return;
    }
    let code = out.code().unwrap_or(-1);
    let clap_usage = code == 2 && out.stderr.starts_with("error: ");
    if !codes.contains(&code) || !(out.is_one_line_error() || clap_usage) {
        s.fail(format!(
            "expected exit {codes:?} with one `klog: error:` line: {}",
            out.show()
        ));
    } else if !out.stdout.is_empty() {
        s.fail(format!("an error with output on stdout: {}", out.show()));
    }
}

fn long(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

#[test]
fn hostile_names_and_input() {
    let mut s = Summary::new("hostile");
    let k = Klog::new();
    k.ok_in(&["produce", "t", "-q"], b"a\nb\nc\n");
    k.ok(&["consume", "t", "-g", "g", "-q"]);
    let outside_before = tree_listing(k.root(), &[k.data()]);
    let data_before = tree_listing(k.data(), &[]);

    let long_topic = long('a', 300);
    let long_group = long('g', 300);
    let bad_names: Vec<String> = vec![
        "a/b".into(),
        "../escape".into(),
        "..".into(),
        ".".into(),
        "".into(),
        "/abs".into(),
        long_topic.clone(),
        "ünïcødé".into(),
        "emoji-🦀".into(),
        "tab\there".into(),
        "new\nline".into(),
        "t-0/../../x".into(),
    ];
    let mut cases: Vec<(Vec<String>, &[i32])> = Vec::new();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for name in &bad_names {
        let n = name.as_str();
        cases.push((v(&["topics", "create", n]), &[1, 2]));
        cases.push((v(&["produce", n]), &[1, 2]));
        cases.push((v(&["consume", n]), &[1, 2]));
        cases.push((v(&["topics", "describe", n]), &[1, 2]));
        cases.push((v(&["topics", "delete", n]), &[1, 2]));
        cases.push((v(&["segments", "list", n]), &[1, 2]));
        cases.push((v(&["trim", n, "--before", "1"]), &[1, 2]));
        cases.push((v(&["clean", n]), &[1, 2]));
        // Group names (the others must work: see below).
        if group_refused(n) {
            cases.push((v(&["consume", "t", "-g", n]), &[1, 2]));
            cases.push((v(&["groups", "describe", n]), &[1, 2]));
            cases.push((v(&["groups", "delete", n]), &[1, 2]));
            cases.push((
                v(&["groups", "reset", n, "--topic", "t", "--to-earliest"]),
                &[1, 2],
            ));
        }
    }
    cases.push((v(&["consume", "t", "-g", &long_group]), &[1, 2]));
    // Absurd configs.
    for cfg in [
        "segment.bytes=0",
        "segment.bytes=-1",
        "segment.bytes=99999999999999999999",
        "retention.ms=-5",
        "max.message.bytes=abc",
        "max.message.bytes=",
        "cleanup.policy=sometimes",
        "index.interval.bytes=-1",
        "segment.index.bytes=0",
        "flush.messages=0",
        "min.cleanable.dirty.ratio=7",
        "compression.type=rot13",
        "message.timestamp.type=Tomorrow",
        "no.such.config=1",
        "noequals",
        "=1",
    ] {
        cases.push((v(&["topics", "create", "x", "-c", cfg]), &[1, 2]));
        cases.push((v(&["topics", "alter", "t", "-c", cfg]), &[1, 2]));
    }
    cases.push((v(&["topics", "create", "x", "-p", "0"]), &[1, 2]));
    cases.push((v(&["topics", "create", "x", "-p", "-1"]), &[2]));
    cases.push((v(&["topics", "create", "x", "-p", "1000000000"]), &[1, 2]));
    cases.push((v(&["topics", "alter", "t", "--partitions", "0"]), &[1, 2]));
    cases.push((v(&["topics", "create", "t"]), &[1, 2]));
    // Offsets and partitions out of range.
    for args in [
        &["consume", "t", "-o", "99999999999999999999"][..],
        &["consume", "t", "-o", "-99999999999999999999"],
        &["consume", "t", "-o", "@not-a-time"],
        &["consume", "t", "-u", "sometime"],
        &["consume", "t", "-p", "7"],
        &["consume", "t", "-p", "-1"],
        &["consume", "t", "-n", "-3"],
        &["trim", "t", "--before", "999999"],
        &["trim", "t", "--before", "-5"],
        &["trim", "t", "--before", "@garbage"],
        // (--to-offset past the log end moves to the log end, as in Kafka: not an error.)
        &[
            "groups",
            "reset",
            "g",
            "--topic",
            "t",
            "--by-duration",
            "PT1H1H",
        ],
        &["groups", "reset", "g", "--topic", "t", "--to-offset", "-4"],
        &["groups", "reset", "g", "--topic", "t", "--shift-by", "x"],
        &[
            "groups",
            "reset",
            "g",
            "--topic",
            "t",
            "-p",
            "9",
            "--to-earliest",
        ],
        &["produce", "t", "-p", "9"],
        &["segments", "dump", "t", "-p", "9"],
        &["segments", "roll", "t", "-p", "9"],
        &["produce", "t", "-D", "\\xZZ"],
        &["produce", "missing", "--no-create"],
        &["consume", "missing"],
    ] {
        cases.push((v(args), &[1, 2]));
    }
    for (args, codes) in &cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = k.run_in(&refs, b"x\n");
        expect_refusal(&mut s, &out, codes);
    }
    // Hostile names that are valid group ids work, and their files stay inside the partition
    // directory until `groups delete` removes them all.
    let accepted = bad_names
        .iter()
        .map(String::as_str)
        .chain(["g/../../x"])
        .filter(|n| !group_refused(n));
    for n in accepted {
        // (Refused `groups reset g …` above rewrote g's lock file with their pids: compare
        // with the directory as it is now.)
        let before = tree_listing(k.data(), &[]);
        for (args, stdout) in [
            (vec!["consume", "t", "-g", n], Some("a\nb\nc\n")),
            (vec!["groups", "describe", n], None),
            (
                vec!["groups", "reset", n, "--topic", "t", "--to-earliest"],
                None,
            ),
        ] {
            s.rounds += 1;
            let out = k.run(&args);
            if s.check_crash(&out, "hostile group id") {
                continue;
            }
            if !out.success() || stdout.is_some_and(|o| out.stdout != o.as_bytes()) {
                s.fail(format!("group id {n:?}: {}", out.show()));
            }
        }
        let during = tree_listing(k.data(), &[]);
        let stray: Vec<_> = during
            .keys()
            .filter(|p| !before.contains_key(*p))
            .filter(|p| {
                !(p.parent() == Some(Path::new("t-0"))
                    && p.file_name().and_then(|f| f.to_str()).is_some_and(|f| {
                        f.starts_with("klog-group.") || f.starts_with(".klog-group.")
                    }))
            })
            .collect();
        if !stray.is_empty() {
            s.fail(format!(
                "group id {n:?} wrote outside its partition directory: {stray:?}"
            ));
        }
        s.rounds += 1;
        let out = k.run(&["groups", "delete", n]);
        if !out.success() {
            s.fail(format!("group id {n:?}: {}", out.show()));
        }
        let after = tree_listing(k.data(), &[]);
        if after != before {
            let changed: Vec<_> = after
                .iter()
                .filter(|(p, len)| before.get(*p) != Some(len))
                .chain(before.iter().filter(|(p, _)| !after.contains_key(*p)))
                .collect();
            s.fail(format!(
                "groups delete {n:?} left files behind: {changed:?}"
            ));
        }
    }

    // An offset past the end is a position, not an error: nothing printed, status 0.
    let out = k.run(&["consume", "t", "-o", "999999"]);
    if !out.success() || !out.stdout.is_empty() {
        s.fail(format!("consume -o past the end: {}", out.show()));
    }

    // Nothing was written outside the data directory, nor anything new inside it.
    let outside_after = tree_listing(k.root(), &[k.data()]);
    if outside_after != outside_before {
        s.fail(format!(
            "files appeared outside the data directory: {:?}",
            outside_after
                .keys()
                .filter(|p| !outside_before.contains_key(*p))
                .collect::<Vec<_>>()
        ));
    }
    let data_after = tree_listing(k.data(), &[]);
    let new: Vec<_> = data_after
        .keys()
        .filter(|p| !data_before.contains_key(*p))
        .collect();
    if !new.is_empty() {
        s.fail(format!(
            "refused commands left files in the data directory: {new:?}"
        ));
    }
    let gone: Vec<_> = data_before
        .keys()
        .filter(|p| !data_after.contains_key(*p))
        .collect();
    if !gone.is_empty() {
        s.fail(format!("refused commands removed files: {gone:?}"));
    }
    s.finish();
}

#[test]
fn data_dir_that_is_a_file() {
    let mut s = Summary::new("hostile_data_dir_file");
    let k = Klog::new();
    let file = k.root().join("plain-file");
    std::fs::write(&file, b"not a directory").expect("write file");
    let before = tree_listing(k.root(), &[]);
    for dir in [file.clone(), file.join("below")] {
        let commands: [&[&str]; 8] = [
            &["topics", "list"],
            &["topics", "create", "t"],
            &["produce", "t"],
            &["consume", "t"],
            &["groups", "list"],
            &["segments", "verify", "t"],
            &["clean"],
            &["consume", "t", "-g", "g"],
        ];
        for args in commands {
            let mut c = crate::harness::klog_cmd(&dir);
            c.args(args);
            let out = run_command(
                c,
                args.iter().map(|a| a.to_string()).collect(),
                Some(b"x\n"),
            );
            expect_refusal(&mut s, &out, &[1, 2]);
        }
    }
    if std::fs::read(&file).expect("read file") != b"not a directory" {
        s.fail("the file given as data directory was changed".to_string());
    }
    if tree_listing(k.root(), &[]) != before {
        s.fail("files appeared next to the data directory".to_string());
    }
    s.finish();
}

/// Whether this process can write into a directory whose permissions forbid it (root can).
fn permissions_bypassed(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    let ok = std::fs::write(&probe, b"x").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// A read-only data directory: chmod 0555 on the data and partition directories. Root
/// bypasses permissions, so as root the commands run as `nobody` through `setpriv` (for whom
/// the root-owned tree is read-only); without `setpriv` the test is skipped with a note.
#[test]
fn read_only_data_dir() {
    let mut s = Summary::new("hostile_read_only");
    let k = Klog::new();
    k.ok_in(&["produce", "t", "-q"], b"a\nb\n");
    let set_mode = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    let dirs = [k.data().to_path_buf(), k.partition_dir("t", 0)];
    for d in &dirs {
        set_mode(d, 0o555);
    }
    let bypass = permissions_bypassed(k.data());
    let setpriv = bypass
        && Command::new("setpriv")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if bypass && !setpriv {
        eprintln!(
            "[hostile_read_only] SKIPPED: running as root, which bypasses file permissions, \
             and no setpriv to run as another user"
        );
        s.bump("skipped", 1);
    } else {
        if setpriv {
            eprintln!("[hostile_read_only] running as root: klog runs as nobody via setpriv");
            // nobody must be able to reach the (read-only) data directory.
            set_mode(k.root(), 0o755);
        }
        let cmd = |args: &[&str]| -> Command {
            let mut c = if setpriv {
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid",
                    "65534",
                    "--regid",
                    "65534",
                    "--clear-groups",
                    KLOG,
                ]);
                c
            } else {
                Command::new(KLOG)
            };
            c.env_remove("KLOG_DIR")
                .arg("--dir")
                .arg(k.data())
                .args(args);
            c
        };
        let before = tree_listing(k.data(), &[]);
        for args in [
            &["produce", "t"][..],
            &["produce", "new-topic"],
            &["topics", "create", "u"],
            &["consume", "t", "-g", "g"],
            &["segments", "roll", "t"],
            &["trim", "t", "--before", "1"],
            &["topics", "delete", "t"],
        ] {
            let out = run_command(
                cmd(args),
                args.iter().map(|a| a.to_string()).collect(),
                Some(b"x\n"),
            );
            expect_refusal(&mut s, &out, &[1]);
        }
        // Reading still works.
        let out = run_command(cmd(&["consume", "t"]), vec!["consume".into()], None);
        if out.stdout_str() != "a\nb\n" || !out.success() {
            s.fail(format!(
                "consume of a read-only data directory: {}",
                out.show()
            ));
        }
        if tree_listing(k.data(), &[]) != before {
            s.fail("the read-only data directory changed".to_string());
        }
        set_mode(k.root(), 0o700);
    }
    for d in &dirs {
        set_mode(d, 0o755);
    }
    s.finish();
}

#[test]
fn created_files_honour_the_umask() {
    let mut s = Summary::new("hostile_umask");
    let k = Klog::new();
    let data = k.data().to_string_lossy().into_owned();
    let run = |script_args: &[&str], input: &[u8]| -> Out {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("umask 077; exec \"$@\"")
            .arg("sh")
            .arg(KLOG)
            .arg("--dir")
            .arg(&data)
            .args(script_args)
            .env_remove("KLOG_DIR");
        run_command(
            c,
            script_args.iter().map(|a| a.to_string()).collect(),
            Some(input),
        )
    };
    let input: String = (0..5000).map(|i| format!("k{i}:v{i}\n")).collect();
    for args in [
        &[
            "topics",
            "create",
            "c",
            "-p",
            "2",
            "-c",
            "cleanup.policy=compact",
            "-c",
            "segment.bytes=20000",
        ][..],
        &["produce", "t", "-K", ":"],
        &["produce", "c", "-K", ":"],
        &["produce", "c", "-K", ":"],
        &["consume", "t", "-g", "g"],
        &["segments", "roll", "t"],
        &["trim", "t", "--before", "10"],
        &["clean", "c"],
        &["groups", "reset", "g", "--topic", "t", "--to-earliest"],
        &["segments", "verify", "t", "--repair"],
    ] {
        s.rounds += 1;
        let out = run(args, input.as_bytes());
        s.check_crash(&out, "umask run");
        if !out.success() {
            s.fail(format!("under umask 077: {}", out.show()));
        }
    }
    let mut stack = vec![k.data().to_path_buf()];
    let mut checked = 0;
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).expect("stat");
        let mode = meta.permissions().mode() & 0o777;
        checked += 1;
        if mode & 0o077 != 0 {
            s.fail(format!(
                "{} has mode {mode:o} although klog ran under umask 077",
                p.display()
            ));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).expect("read dir").flatten() {
                stack.push(e.path());
            }
        }
    }
    s.bump("paths_checked", checked);
    s.finish();
}

/// Regression test for a bug this suite found (fixed in 6ada664): `klog segments verify PATH`
/// said "ok" (exit 0) for any existing directory, checking nothing: the data directory itself,
/// or a directory in the working directory that has a topic's name (`cd ~/work && klog
/// segments verify orders` verified `./orders`, not the damaged topic `orders`). Now it must
/// not say ok for either while the topic is damaged.
#[test]
fn verify_is_not_ok_for_a_directory_that_is_not_a_partition() {
    let mut s = Summary::new("verify_any_dir");
    let k = Klog::new();
    k.ok_in(&["produce", "orders", "-q"], b"a\nb\nc\n");
    // Damage the topic: flip a byte inside the batch (CRC-covered).
    let log = crate::harness::segment_file(&k.partition_dir("orders", 0), 0, ".log");
    let mut bytes = std::fs::read(&log).expect("read log");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&log, &bytes).expect("write log");
    let by_topic = k.run(&["segments", "verify", "orders"]);
    assert_eq!(by_topic.code(), Some(3), "{}", by_topic.show());

    // The data directory as PATH.
    let data = k.data().to_string_lossy().into_owned();
    let out = k.run(&["segments", "verify", &data]);
    s.rounds += 1;
    if out.code() == Some(0) {
        s.fail(format!(
            "verify of the data directory (holding a damaged topic) says ok: {}",
            out.show()
        ));
    }
    // A directory named like the topic in the working directory.
    let cwd = k.root().join("cwd");
    std::fs::create_dir_all(cwd.join("orders")).expect("mkdir");
    let mut c = k.cmd();
    c.current_dir(&cwd).args(["segments", "verify", "orders"]);
    let out = run_command(
        c,
        vec!["segments".into(), "verify".into(), "orders".into()],
        None,
    );
    s.rounds += 1;
    if out.code() == Some(0) {
        s.fail(format!(
            "verify of the damaged topic 'orders' from a directory holding an 'orders' folder \
             says ok: {}",
            out.show()
        ));
    }
    s.finish();
}

/// Regression test for a bug this suite found (fixed in 6ada664): `segments verify`/`dump`
/// echoed a name with a newline raw, so the "one line" error was two lines.
#[test]
fn segments_errors_stay_one_line_for_a_newline_name() {
    let mut s = Summary::new("segments_newline_name");
    let k = Klog::new();
    k.ok_in(&["produce", "t", "-q"], b"a\n");
    for cmd in ["verify", "dump"] {
        let out = k.run(&["segments", cmd, "new\nline"]);
        expect_refusal(&mut s, &out, &[1, 2]);
    }
    s.finish();
}
