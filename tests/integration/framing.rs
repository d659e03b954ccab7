//! How `produce` cuts its input into records: multi-byte delimiters across read chunks,
//! headers, null markers and fixed keys, input files and `-` for stdin, redirected stdin,
//! and an input file cut short while it is read.

use std::io::Write;
use std::process::Stdio;
use std::thread;
use std::time::Instant;

use serde_json::{Value, json};

use crate::util::{TestDir, assert_error};

use crate::pipes::*;

/// `||`-delimited input of more than 3 MiB whose delimiters straddle the 1 MiB and 2 MiB
/// chunk boundaries (`||` at 1048575-1048576, `||||` at 2097149-2097152 with an empty record
/// between, the second `||` straddling), ending with a record without a delimiter.
fn straddling_input() -> (Vec<u8>, Vec<String>) {
    const MIB: usize = 1 << 20;
    fn push(buf: &mut Vec<u8>, recs: &mut Vec<String>, r: String) {
        buf.extend_from_slice(r.as_bytes());
        buf.extend_from_slice(b"||");
        recs.push(r);
    }
    /// Records of about 100 bytes, then one sized so that its delimiter starts at `at`.
    fn fill_to(buf: &mut Vec<u8>, recs: &mut Vec<String>, at: usize) {
        while at - buf.len() > 300 {
            let r = format!("r{:06}-{}", recs.len(), "p".repeat(90));
            push(buf, recs, r);
        }
        let mut r = format!("r{:06}-", recs.len());
        let pad = at - buf.len() - r.len();
        r.push_str(&"q".repeat(pad));
        push(buf, recs, r);
    }
    let mut buf = Vec::new();
    let mut recs = Vec::new();
    fill_to(&mut buf, &mut recs, MIB - 1);
    assert_eq!(&buf[MIB - 2..=MIB], b"q||");
    fill_to(&mut buf, &mut recs, 2 * MIB - 3);
    push(&mut buf, &mut recs, String::new());
    assert_eq!(&buf[2 * MIB - 3..=2 * MIB], b"||||");
    fill_to(&mut buf, &mut recs, 3 * MIB + 10);
    buf.extend_from_slice(b"the-end");
    recs.push("the-end".into());
    (buf, recs)
}

#[test]
fn multi_byte_delimiters_survive_read_chunk_boundaries() {
    let t = TestDir::new();
    let (input, want) = straddling_input();
    assert!(input.len() > 3 << 20);
    // From a file: mapped in 2 MiB windows (read in 1 MiB chunks where it cannot be), so the
    // boundaries are where we put them.
    let path = write_file(t.root(), "delim.txt", &input);
    let out = t
        .klog()
        .args(["produce", "d", "-D", "||", "-v"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let summary = stderr_of(&out);
    assert!(
        summary.contains(&format!("{} records", want.len())),
        "{summary}"
    );
    let got = t.consume("d", &[]);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "records differ from the input");
    // From stdin (pipe reads of any size): the same records.
    t.produce("d2", &input[..], &["-q", "-D", "||"]);
    assert!(t.consume("d2", &[]) == want, "records from stdin differ");

    // Small cases: empty records between delimiters, one delimiter byte inside a value, the
    // last record without a delimiter, no record after a final delimiter, escapes.
    for (n, (delim, input, want)) in [
        ("||", "a||b||||c", &["a", "b", "", "c"][..]),
        ("||", "||x|y||", &["", "x|y"][..]),
        ("||", "|||", &["", "|"][..]),
        (r"\r\n", "a\r\nb\n\r\n\r\nc", &["a", "b\n", "", "c"][..]),
        (r"\x1e", "r1\x1er2\x1e", &["r1", "r2"][..]),
        (r"\t", "k\tv\t\t", &["k", "v", ""][..]),
        ("<END>", "one<END>two<EN", &["one", "two<EN"][..]),
    ]
    .into_iter()
    .enumerate()
    {
        let topic = format!("small-{n}");
        t.produce(&topic, input, &["-q", "-D", delim]);
        let got = t.consume(&topic, &["-F", r"[%s]\n"]);
        let want: Vec<String> = want.iter().map(|w| format!("[{w}]")).collect();
        // `b\n` prints over two lines: compare the joined output.
        assert_eq!(got.join("\n"), want.join("\n"), "-D {delim:?} on {input:?}");
    }
    // Newline framing keeps empty lines and a last line without newline.
    t.produce("nl", "\n\na\n\nb", &["-q"]);
    assert_eq!(t.consume("nl", &[]), ["", "", "a", "", "b"]);
}

#[test]
fn headers_null_markers_and_fixed_keys() {
    let t = TestDir::new();
    // -H: repeated names kept in order, '=' in values, escapes, empty values.
    t.produce(
        "h",
        "one\ntwo\n",
        &[
            "-q",
            "-H",
            "a=1",
            "-H",
            "a=2",
            "-H",
            "eq=x=y",
            "-H",
            r"tab=x\ty",
            "-H",
            "empty=",
            "-H",
            "a=3",
        ],
    );
    let hs = json!([
        ["a", "1"],
        ["a", "2"],
        ["eq", "x=y"],
        ["tab", "x\ty"],
        ["empty", ""],
        ["a", "3"]
    ]);
    let js = consume_json(&t, "h", &[]);
    assert_eq!(js.len(), 2);
    for j in &js {
        assert_eq!(j["headers"], hs, "{j}");
        assert_eq!(j["key"], Value::Null);
    }
    assert_eq!(
        t.consume("h", &["-F", r"%h\n", "-n", "1"]),
        ["a=1,a=2,eq=x=y,tab=x\ty,empty=,a=3"]
    );
    let out = produce_run(&t, "h", &["-H", "novalue"], "x\n");
    let err = assert_error(&out, 2);
    assert!(err.contains("novalue"), "{err}");

    // --null-marker with -K: null keys, tombstones, and empty (not null) keys and values.
    t.produce(
        "nm",
        "k1:v1\nNULL:v2\nk3:NULL\nNULL:NULL\nk5:\n:v6\nno-separator\nk8:NULLx\n",
        &["-q", "-K", ":", "--null-marker", "NULL"],
    );
    let kv: Vec<(Value, Value)> = consume_json(&t, "nm", &[])
        .into_iter()
        .map(|j| (j["key"].clone(), j["value"].clone()))
        .collect();
    let s = |x: &str| Value::String(x.into());
    assert_eq!(
        kv,
        [
            (s("k1"), s("v1")),
            (Value::Null, s("v2")),
            (s("k3"), Value::Null),
            (Value::Null, Value::Null),
            (s("k5"), s("")),
            (s(""), s("v6")),
            (Value::Null, s("no-separator")),
            (s("k8"), s("NULLx")),
        ]
    );
    // In text output, --null-literal shows them.
    assert_eq!(
        t.consume("nm", &["-K", "=", "--null-literal", "<null>", "-n", "4"]),
        ["k1=v1", "<null>=v2", "k3=<null>", "<null>=<null>"]
    );
    // Without -K the whole line is compared.
    t.produce("nm2", "-\nx\n-\n", &["-q", "--null-marker", "-"]);
    let vals: Vec<Value> = consume_json(&t, "nm2", &[])
        .into_iter()
        .map(|j| j["value"].clone())
        .collect();
    assert_eq!(vals, [Value::Null, s("x"), Value::Null]);

    // -k: every record has the key and lands in its murmur2 partition.
    t.ok(&["topics", "create", "fk", "-p", "7"]);
    t.produce("fk", "a\nb\nc\n", &["-q", "-k", "kafka"]);
    t.produce("fk", "d\n", &["-q", "-k", "kafka", "-H", "h=v"]);
    let want_p = 1_348_980_580 % 7;
    let js = consume_json(&t, "fk", &[]);
    assert_eq!(js.len(), 4);
    for (j, v) in js.iter().zip(["a", "b", "c", "d"]) {
        assert_eq!(j["key"], "kafka");
        assert_eq!(j["value"], v);
        assert_eq!(j["partition"], want_p);
    }
    // -k with -p: the partition wins over the key.
    t.produce("fk", "e\n", &["-q", "-k", "kafka", "-p", "0"]);
    assert_eq!(t.consume("fk", &["-p", "0", "-K", ":"]), ["kafka:e"]);
}

/// `count` lines of about 100 bytes, numbered, the last without a newline.
fn hundred_byte_lines(count: usize) -> Vec<u8> {
    let mut input = Vec::with_capacity(count * 101);
    for i in 0..count {
        write!(input, "{i:09}-{}", "x".repeat(90)).expect("write to Vec");
        if i + 1 < count {
            input.push(b'\n');
        }
    }
    input
}

#[test]
fn input_files_and_redirected_stdin_give_every_line_from_where_stdin_stood() {
    use std::io::{Seek, SeekFrom};
    let t = TestDir::new();
    // Over 5 MiB: several of the 2 MiB windows a regular file is mapped in, with lines
    // across each window boundary.
    let input = hundred_byte_lines(55_000);
    let path = write_file(t.root(), "in.txt", &input);
    let out = t
        .klog()
        .args(["produce", "f", "-q"])
        .arg(&path)
        .arg(&path)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let got = consume_bytes(&t, "f", &[]);
    let mut want = input.clone();
    want.push(b'\n');
    assert!(
        got == [&want[..], &want[..]].concat(),
        "records from two input files differ"
    );

    // `< in.txt` after something read part of it: from that byte on, and stdin is left at the
    // end for whoever reads it next, as reading it to the end would.
    let mut file = std::fs::File::open(&path).expect("open input");
    let from = 3_000_000 + 17;
    file.seek(SeekFrom::Start(from)).expect("seek");
    let shared = file.try_clone().expect("dup");
    let out = t
        .klog_std()
        .args(["produce", "s", "-q"])
        .stdin(Stdio::from(shared))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        consume_bytes(&t, "s", &[]),
        [&input[from as usize..], b"\n"].concat()
    );
    assert_eq!(
        file.stream_position().expect("position"),
        input.len() as u64
    );

    // A file whose size says nothing (/proc) is read, not mapped.
    let out = t
        .klog()
        .args(["produce", "proc", "-q", "/proc/self/status"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = t.consume("proc", &[]);
    assert!(
        lines.len() > 5 && lines[0].starts_with("Name:"),
        "/proc/self/status produced {lines:?}"
    );
}

#[test]
fn an_input_file_cut_short_while_produced_stops_with_an_error_and_keeps_the_log() {
    let t = TestDir::new();
    let input = hundred_byte_lines(640_000); // 64 MB
    let path = write_file(t.root(), "big.txt", &input);
    let mut child = t
        .klog_std()
        .args(["produce", "cut", "-q"])
        .arg(&path)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Cut the input as soon as the first batch is in the log: klog maps only a few MiB
    // ahead of what it has appended, so most of the file is still to be read.
    let log = t.partition_dir("cut", 0).join("00000000000000000000.log");
    let start = Instant::now();
    while std::fs::metadata(&log).map_or(0, |m| m.len()) == 0
        && child.try_wait().expect("wait").is_none()
    {
        assert!(
            start.elapsed() < DEADLINE,
            "no batch appended within {DEADLINE:?}"
        );
        thread::yield_now();
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(0))
        .expect("truncate the input");
    let status = wait_within(&mut child, "klog produce of a cut input");
    let stderr = read_stderr(&mut child);
    // Not killed by SIGBUS: an error (the usual case: windows were mapped), or a clean end at
    // the new end of file when the cut fell between two windows (or after klog was done).
    let want = [&input[..], b"\n"].concat();
    let got = consume_bytes(&t, "cut", &[]);
    match status.code() {
        Some(1) => {
            assert!(
                stderr.contains("an input file shrank while it was being read"),
                "{stderr}"
            );
            assert!(
                got.len() < want.len(),
                "all records appended despite the error"
            );
        }
        Some(0) => assert!(stderr.is_empty(), "{stderr}"),
        other => panic!("klog produce ended with {other:?} ({status:?}): {stderr}"),
    }
    // What readers see is whole lines from the start of the input.
    assert!(!got.is_empty(), "nothing appended");
    assert!(
        want.starts_with(&got),
        "the log is not a prefix of the input"
    );
    // The exit is as abrupt as a kill: a batch being written may be torn. The next writer
    // cuts it, and then the log verifies, with the lines above and the new one.
    t.produce("cut", "after", &["-q"]);
    t.ok(&["segments", "verify", "cut"]);
    assert_eq!(
        consume_bytes(&t, "cut", &[]),
        [&got[..], b"after\n"].concat()
    );
}

#[test]
fn produce_reads_files_and_dash_for_stdin() {
    let t = TestDir::new();
    let f1 = t.root().join("one.txt");
    let f2 = t.root().join("two.txt");
    std::fs::write(&f1, "1a\n1b\n").expect("write");
    std::fs::write(&f2, "2a\n2b").expect("write");
    let out = t
        .klog()
        .args(["-q", "produce", "files"])
        .arg(&f1)
        .arg("-")
        .arg(&f2)
        .write_stdin("in-a\nin-b\n")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(
        t.consume("files", &[]),
        ["1a", "1b", "in-a", "in-b", "2a", "2b"]
    );

    // A missing file is a runtime error naming it.
    let missing = t.root().join("missing.txt");
    let out = t
        .klog()
        .args(["produce", "files"])
        .arg(&missing)
        .output()
        .expect("run");
    let err = assert_error(&out, 1);
    assert!(err.contains("missing.txt"), "{err}");
    assert_eq!(t.consume("files", &[]).len(), 6);
}
