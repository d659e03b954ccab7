//! `kill -9` of `klog serve` while idempotent producers write, then a restart on the same
//! port: the producer finishes, `segments verify` is clean, every acknowledged record is
//! there, and no record is there twice (retries of batches appended before the kill are
//! recognised from the log).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{Client, Serve, json_lines, klog};

const RECORDS: usize = 30_000;

fn kill_during_idempotent_produce(client: Client) {
    if !client.require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    klog(&dir, &["topics", "create", "idem", "-q"]);
    let serve = Serve::start(&dir);
    let port = serve.port;
    let bs = serve.bootstrap();
    let mut producer = client
        .command(&["idempotent", &bs, "idem", &RECORDS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the producer");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let acked = acked.clone();
        let out = producer.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                acked.lock().unwrap().push(l);
            }
        })
    };
    // Kill the server once part of the records are acknowledged.
    let start = Instant::now();
    while acked.lock().unwrap().len() < RECORDS / 4 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the producer got no acknowledgements; server stderr:\n{}",
            serve.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    serve.kill9();
    let acked_before = acked.lock().unwrap().len();
    let serve = Serve::start_on(&dir, &format!("127.0.0.1:{port}"), &[]);
    let status = producer.wait().unwrap();
    reader.join().unwrap();
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(producer.stderr.as_mut().unwrap(), &mut err);
    assert!(status.success(), "{} producer failed: {err}", client.name());
    serve.stop();

    klog(&dir, &["segments", "verify", "idem"]);
    let records = json_lines(&klog(&dir, &["consume", "idem", "--json"]));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *seen
            .entry(r["key"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(
        twice.is_empty(),
        "{}: written twice: {twice:?}",
        client.name()
    );
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() > acked_before,
        "acknowledged after the restart too"
    );
    let lost: Vec<_> = acked
        .iter()
        .filter(|k| !seen.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        lost.is_empty(),
        "{}: acknowledged but lost: {lost:?}",
        client.name()
    );
    assert_eq!(
        records.len(),
        RECORDS,
        "{}: every record once",
        client.name()
    );
}

#[test]
fn kill_9_during_idempotent_produce_confluent_kafka() {
    kill_during_idempotent_produce(Client::Confluent);
}

#[test]
fn kill_9_during_idempotent_produce_kafka_python() {
    kill_during_idempotent_produce(Client::KafkaPython);
}
