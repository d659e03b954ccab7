//! `klog serve` end to end: real Kafka clients (kcat, confluent-kafka, kafka-python,
//! kafkajs, installed by `scripts/serve-clients`) and raw sockets against a server started
//! and stopped by each test, on a free loopback port.
//!
//! - `harness`: servers (`Serve`), the clients and their scripts (`tests/serve/clients/`);
//!   `common` is the helpers every test binary shares (the fixture rule).
//! - `clients`: per client, metadata, produce (every codec it has), consume and ListOffsets
//!   by time, checked against the CLI on the same directory; a client's offset commits and
//!   `klog consume -g`'s shared.
//! - `bad_input`: oversize, negative and garbled frames, unknown keys and versions,
//!   truncated requests, vanishing clients, 1 000 idle connections, a reader that never
//!   drains its socket: each ends that connection only, and nothing is written.
//! - `long_poll`: a waiting fetch woken by an append of another process.
//! - `groups`: consumer groups of real clients through the coordinator: two instances split
//!   a topic, a restarted member resumes at its commit, a client and `klog consume -g` share
//!   one group, and a group's first record within a few seconds.
//! - `security`: SASL_SSL with SCRAM and PLAIN through kcat, confluent-kafka and
//!   kafka-python (certificates made by the test with rcgen); wrong passwords, unknown
//!   users, plaintext clients on a TLS port, untrusted and expired certificates, mutual TLS:
//!   each refused with nothing written; the insecure-listener refusal; `klog users`' file
//!   mode.
//! - `kill`: `kill -9` of the server under idempotent producers, then a restart: nothing
//!   acknowledged lost, nothing retried written twice, `segments verify` clean.

mod bad_input;
mod clients;
#[path = "../common/mod.rs"]
mod common;
mod groups;
mod harness;
mod kill;
mod long_poll;
mod security;
