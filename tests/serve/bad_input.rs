//! Bad input and hostile clients on raw sockets: each closes or answers that connection
//! only, never stops the server or blocks other connections, and writes nothing from a
//! request it rejected.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use klog::format::BatchBuilder;

use crate::harness::{Serve, klog};

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// A request header v1: key, version, correlation id, client id "t".
fn header(key: i16, version: i16, correlation: i32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&key.to_be_bytes());
    h.extend_from_slice(&version.to_be_bytes());
    h.extend_from_slice(&correlation.to_be_bytes());
    h.extend_from_slice(&1i16.to_be_bytes());
    h.push(b't');
    h
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// A response frame, or `None` once the server closed the connection.
fn response(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut size = [0u8; 4];
    s.read_exact(&mut size).ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

/// ApiVersions v0 on `s`: its error code.
fn api_versions(s: &mut TcpStream, correlation: i32) -> i16 {
    s.write_all(&frame(&header(18, 0, correlation))).unwrap();
    let r = response(s).expect("an ApiVersions response");
    assert_eq!(i32::from_be_bytes(r[0..4].try_into().unwrap()), correlation);
    i16::from_be_bytes(r[4..6].try_into().unwrap())
}

/// The server still answers a new connection.
fn assert_alive(serve: &Serve) {
    let mut s = connect(serve.port);
    assert_eq!(api_versions(&mut s, 99), 0, "stderr:\n{}", serve.stderr());
}

/// Produce v3 of one batch to partition 0 of `topic`.
fn produce_v3(topic: &str, records: &[u8]) -> Vec<u8> {
    produce_v3_acks(topic, records, -1)
}

fn produce_v3_acks(topic: &str, records: &[u8], acks: i16) -> Vec<u8> {
    let mut b = header(0, 3, 5);
    b.extend_from_slice(&(-1i16).to_be_bytes()); // no transactional id
    b.extend_from_slice(&acks.to_be_bytes());
    b.extend_from_slice(&5000i32.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    b.extend_from_slice(topic.as_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&(records.len() as i32).to_be_bytes());
    b.extend_from_slice(records);
    b
}

/// Fetch v4 of partition 0 of `topic` from `offset`, up to `max` bytes.
fn fetch_v4(topic: &str, offset: i64, max: i32, correlation: i32) -> Vec<u8> {
    let mut b = header(1, 4, correlation);
    b.extend_from_slice(&(-1i32).to_be_bytes()); // replica
    b.extend_from_slice(&100i32.to_be_bytes()); // max wait
    b.extend_from_slice(&1i32.to_be_bytes()); // min bytes
    b.extend_from_slice(&max.to_be_bytes());
    b.push(0); // isolation level
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    b.extend_from_slice(topic.as_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&max.to_be_bytes());
    frame(&b)
}

fn log_end(dir: &Path, topic: &str) -> i64 {
    let d: serde_json::Value =
        serde_json::from_str(&klog(dir, &["topics", "describe", topic, "--json"])).unwrap();
    d["partitions"][0]["log_end_offset"].as_i64().unwrap()
}

fn one_batch() -> Vec<u8> {
    let mut b = BatchBuilder::new();
    b.append(1_700_000_000_000, Some(b"k"), Some(b"v"), &[]);
    b.finish()
}

#[test]
fn bad_frames_close_that_connection_only_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    klog(&dir, &["topics", "create", "t", "-q"]);
    let serve = Serve::start(&dir);
    // A client that stays connected through it all, and still gets answers at the end.
    let mut bystander = connect(serve.port);
    assert_eq!(api_versions(&mut bystander, 1), 0);

    let mut metadata_huge = header(3, 1, 3);
    metadata_huge.extend_from_slice(&i32::MAX.to_be_bytes());
    let mut garbled = header(3, 12, 4);
    garbled.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x13, 0x37]);
    let valid = produce_v3("t", &one_batch());
    let mut cut_batch = frame(&valid);
    // The frame says it ends 8 bytes before the batch does: the body does not decode.
    let n = cut_batch.len() as i32 - 4 - 8;
    cut_batch[0..4].copy_from_slice(&n.to_be_bytes());
    cut_batch.truncate(cut_batch.len() - 8);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("over 100 MiB", ((100 << 20) + 1i32).to_be_bytes().to_vec()),
        ("negative size", (-5i32).to_be_bytes().to_vec()),
        ("zero size", 0i32.to_be_bytes().to_vec()),
        ("no header", frame(&[0, 3, 0])),
        ("unknown API key", frame(&header(999, 0, 2))),
        ("unsupported version", frame(&header(0, 2, 2))),
        ("a coordinator API not served", frame(&header(11, 5, 2))),
        ("2^31 topics", frame(&metadata_huge)),
        ("garbled body", frame(&garbled)),
        ("a produce cut short", cut_batch),
    ];
    for (what, bytes) in cases {
        let mut s = connect(serve.port);
        s.write_all(&bytes).unwrap();
        assert!(response(&mut s).is_none(), "{what}: answered");
        assert_alive(&serve);
    }
    assert_eq!(log_end(&dir, "t"), 0, "a rejected produce wrote");

    // ApiVersions above ours: error 35, a v0 body listing our versions.
    let mut s = connect(serve.port);
    s.write_all(&frame(&header(18, 9, 8))).unwrap();
    let r = response(&mut s).expect("answered");
    assert_eq!(i32::from_be_bytes(r[0..4].try_into().unwrap()), 8);
    assert_eq!(i16::from_be_bytes(r[4..6].try_into().unwrap()), 35);
    let n = i32::from_be_bytes(r[6..10].try_into().unwrap()) as usize;
    assert_eq!(r.len(), 10 + 6 * n, "a v0 body: no throttle time, no tags");
    assert!(n >= 10);

    // A batch with a bad CRC is answered with an error, and not written either.
    let mut bad = one_batch();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let mut s = connect(serve.port);
    s.write_all(&frame(&produce_v3("t", &bad))).unwrap();
    let r = response(&mut s).expect("answered");
    // correlation, topics(1), name, partitions(1), index, error code
    let at = 4 + 4 + 2 + 1 + 4 + 4;
    assert_eq!(i16::from_be_bytes(r[at..at + 2].try_into().unwrap()), 2);
    assert_eq!(log_end(&dir, "t"), 0);
    // And the valid one goes in.
    s.write_all(&frame(&valid)).unwrap();
    let r = response(&mut s).expect("answered");
    assert_eq!(i16::from_be_bytes(r[at..at + 2].try_into().unwrap()), 0);
    assert_eq!(log_end(&dir, "t"), 1);

    assert_eq!(api_versions(&mut bystander, 2), 0);
    let stderr = serve.stop();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn acks_0_gets_no_response_and_a_failure_closes_the_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    klog(&dir, &["topics", "create", "t", "-q"]);
    let serve = Serve::start(&dir);
    let mut s = connect(serve.port);
    for _ in 0..3 {
        s.write_all(&frame(&produce_v3_acks("t", &one_batch(), 0)))
            .unwrap();
    }
    // The next answer on the connection is the ApiVersions one: none came for the produces.
    assert_eq!(api_versions(&mut s, 77), 0);
    assert_eq!(log_end(&dir, "t"), 3);
    s.write_all(&frame(&produce_v3_acks("nope", &one_batch(), 0)))
        .unwrap();
    // Closed by the server (end of stream), not merely silent (a read timeout).
    let mut byte = [0u8; 1];
    assert_eq!(s.read(&mut byte).ok(), Some(0), "the connection stays open");
    serve.stop();
}

#[test]
fn truncated_requests_and_vanishing_clients() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    klog(&dir, &["topics", "create", "t", "-q"]);
    let serve = Serve::start(&dir);
    // Announces 100 MiB and sends nothing: costs nothing, blocks no one.
    let mut waiting = connect(serve.port);
    waiting.write_all(&(100i32 << 20).to_be_bytes()).unwrap();
    // Half a produce, then gone.
    let valid = frame(&produce_v3("t", &one_batch()));
    for cut in [5, 20, valid.len() - 1] {
        let mut s = connect(serve.port);
        s.write_all(&valid[..cut]).unwrap();
        drop(s);
        assert_alive(&serve);
    }
    // A client that sends a request and goes before the answer.
    for _ in 0..20 {
        let mut s = connect(serve.port);
        s.write_all(&fetch_v4("t", 0, 1 << 20, 1)).unwrap();
        drop(s);
    }
    assert_alive(&serve);
    assert_eq!(log_end(&dir, "t"), 0);
    drop(waiting);
    serve.stop();
}

/// Resident memory of a process, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn idle_connections_and_a_reader_that_never_drains_block_no_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // 16 MiB in one partition, for fetches that fill a socket.
    let line = "x".repeat(1000);
    let input: String = (0..16_000).map(|_| format!("{line}\n")).collect();
    crate::harness::klog_with_input(&dir, &["produce", "big", "-q"], input);
    let serve = Serve::start(&dir);

    let mut idle: Vec<TcpStream> = (0..1000).map(|_| connect(serve.port)).collect();
    // Each of them has said something, so that the server holds a task for each.
    for (i, s) in idle.iter_mut().enumerate().step_by(10) {
        assert_eq!(api_versions(s, i as i32), 0);
    }
    let rss = rss_kib(serve.pid());
    eprintln!("server RSS with 1 000 connections: {} MiB", rss >> 10);
    assert!(
        rss < 100 << 10,
        "server RSS {rss} KiB with 1 000 connections"
    );

    // A reader that asks for 16 MiB again and again and never reads an answer.
    let mut slow = connect(serve.port);
    slow.set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    for i in 0..16 {
        if slow.write_all(&fetch_v4("big", 0, 16 << 20, i)).is_err() {
            break;
        }
    }
    // Everyone else is answered at once.
    let start = Instant::now();
    for i in 0..20 {
        let mut s = connect(serve.port);
        assert_eq!(api_versions(&mut s, i), 0);
        s.write_all(&fetch_v4("big", 15_990, 1 << 20, i)).unwrap();
        let r = response(&mut s).expect("a fetch answer");
        assert!(r.len() > 10_000, "records in the answer");
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "answers took {:?} while a reader stalled",
        start.elapsed()
    );
    for (i, s) in idle.iter_mut().enumerate().step_by(100) {
        assert_eq!(api_versions(s, i as i32), 0);
    }
    drop(idle);
    drop(slow);
    serve.stop();
}
