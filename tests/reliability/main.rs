//! Reliability tests: they kill, corrupt and race the real `klog` binary and check the
//! promises of the README (durability after `kill -9`, at-least-once groups, crash-safe
//! maintenance, exactly-once under concurrency, damage found and repaired, a full disk
//! reported cleanly, hostile input refused).
//!
//! Short mode by default (CI); `KLOG_LONG=1` for many more rounds and seeds. Every randomized
//! test prints its seed; `KLOG_SEED=N` replays it. Each test prints one line
//! `RELIABILITY <name> rounds=… acknowledged=… lost=… duplicated=… corrupt=… panics=…` that
//! `scripts/reliability` tabulates.
//!
//! Known limits are kept as `#[ignore = "known limit: …"]` tests next to the test that found
//! them (`cargo test --test reliability -- --ignored` shows them failing); none is left. A
//! batch's base offset is outside its CRC: readers, `segments verify`, `--repair` and a
//! writer's recovery catch damage to it through the invariants of the offsets (they increase,
//! stay inside their segment, and are contiguous from klog's recovery point on); a base offset
//! moved into a gap of a compacted segment stays undetectable, as it is for Kafka. Bugs that
//! were fixed are kept as regression tests, named `regression_…` or after what they check
//! (their doc comments say what the bug was).
//!
//! `harness` runs the binary, seeds and summarises; `common` (`tests/common/`, shared with
//! the other test binaries) reads the framing of `.log` entries by hand.

#[path = "../common/mod.rs"]
mod common;
mod concurrency;
mod corruption;
mod full_disk;
mod harness;
mod hostile;
mod kill_delete;
mod kill_group;
mod kill_maintenance;
mod kill_produce;
mod live_readers;
