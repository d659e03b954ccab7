//! `klog mirror` end to end, on loopback only: `klog serve` processes and the peer broker
//! tansu (installed by `scripts/serve-clients`), each started and killed by its test.
//!
//! - `harness`: the servers (guards that kill on drop), `klog` runs, comparing two data
//!   directories batch by batch.
//! - `pull`: klog → klog: byte-identical batches (keys, null values, headers, gzip and zstd,
//!   a compacted topic with offset gaps, a log start above 0) for 1 M records, resume after
//!   `kill -9`, `-f` following (across a restart of the source) and the source's log start
//!   moving, divergence and its repair, `--verify`, `--dry-run`, connection refused and a
//!   topic deleted mid-pull.
//! - `push`: to tansu, read back with confluent-kafka (`clients/peer.py`): every record's key,
//!   value, headers and timestamp; checkpoints; fewer remote partitions refused; `--groups`
//!   translated; a pull back from tansu. To a `klog serve` killed and restarted mid-push, and
//!   a push killed with -9: duplicates at most the batches in flight, counted; `-f` with
//!   `--groups` until SIGTERM.
//! - `security`: pull and push through `SASL_SSL` (SCRAM-SHA-512) with certificates made in
//!   the test, by flags and by `client.properties` files (SCRAM and PLAIN); a wrong
//!   password, an untrusted CA, an expired certificate, one for another name and a
//!   plaintext client on a TLS port refused in one line, with nothing written; mutual TLS
//!   with and without the client certificate.

#[allow(dead_code)]
mod harness;
mod pull;
mod push;
mod security;
