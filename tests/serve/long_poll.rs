//! A waiting fetch wakes as soon as a batch lands, whoever appends it: `klog produce` in
//! another process, or a client through the server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::harness::{Serve, klog, klog_with_input};

/// Fetch v4 of partition 0 of `topic` at `offset`, waiting up to `wait_ms` for one byte.
fn fetch(topic: &str, offset: i64, wait_ms: i32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&1i16.to_be_bytes());
    b.extend_from_slice(&4i16.to_be_bytes());
    b.extend_from_slice(&7i32.to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&wait_ms.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&(1i32 << 20).to_be_bytes());
    b.push(0);
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    b.extend_from_slice(topic.as_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&(1i32 << 20).to_be_bytes());
    let mut f = (b.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(&b);
    f
}

fn answer(s: &mut TcpStream) -> Vec<u8> {
    let mut size = [0u8; 4];
    s.read_exact(&mut size).expect("a fetch answer");
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut body).unwrap();
    body
}

#[test]
fn a_waiting_fetch_wakes_when_another_process_appends() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    klog(&dir, &["topics", "create", "t", "-q"]);
    let serve = Serve::start(&dir);
    let mut s = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    for offset in 0..3 {
        // Asked to wait up to 30 s at the log end; an append ends the wait at once.
        s.write_all(&fetch("t", offset, 30_000)).unwrap();
        let start = Instant::now();
        klog_with_input(&dir, &["produce", "t", "-q"], format!("r{offset}\n"));
        let r = answer(&mut s);
        let waited = start.elapsed();
        assert!(
            waited < Duration::from_secs(10),
            "the fetch waited {waited:?} after the append"
        );
        let value = format!("r{offset}");
        assert!(
            r.windows(value.len()).any(|w| w == value.as_bytes()),
            "the record is in the answer"
        );
    }
    // With nothing appended, it answers empty after its wait.
    s.write_all(&fetch("t", 3, 200)).unwrap();
    let start = Instant::now();
    answer(&mut s);
    assert!(start.elapsed() >= Duration::from_millis(150));
    serve.stop();
}
