//! End-to-end tests of the `klog` binary on private temporary data directories.
//!
//! - `util`: the harness (`TestDir`, commands, on-disk readers).
//! - `common` (`tests/common/`, shared with the other test binaries): `fixtures`, where
//!   `../shared/fixtures` is and the rule when it is missing (a skip with a note, a failure
//!   under `CI=true`); `frames`, the framing of `.log` entries read by hand.
//! - `global`: `--dir`/`KLOG_DIR`, usage errors, help, version, `-q`.
//! - `completion`: topic and group names in shell completions (`klog __complete-names` and
//!   the committed scripts that call it).
//! - `topics`: create, list, describe, alter, delete; names and configs; a broker's lock held
//!   by another process, a damaged metadata file, an interrupted delete, configs altered under
//!   a running producer, record counts and timestamps of compacted topics.
//! - `produce_consume`: volume, partitioning, keys, offsets, closed pipes.
//! - `segments`: rolls, file names, indexes, Kafka's batch format on disk; `trim` checked on
//!   every partition first; `clean` merging the segments compaction empties.
//! - `recovery`: torn tails cut at every byte of the last batch.
//! - `damage`: damage no crash leaves (below the recovery point, impossible batches): refused
//!   by readers and writers alike, cut only by `--repair`.
//! - `terminal`: progress bars, tables and colors in a pseudo-terminal, never in a pipe.
//! - `full_disk`: the hint after a full disk, per command (on a tmpfs, where root can mount).
//! - `times`: times and durations as Kafka's tools write them: ISO 8601 `--by-duration`,
//!   `--to-offset` moved into the log, compound relative times, far dates.
//! - `concurrency`: producers and consumers in parallel processes.
//! - `pipelines`: produce/consume pipelines: volume, binary and JSON round trips, partitioner,
//!   offset forms, live producers and followers, closed pipes, bad input, framing details.
//! - `produce_input`: what `produce` accepts: `--json` exactly as `consume --json` prints it
//!   (magic 0/1 data without timestamps too) and nothing else, `-v`, checks made before
//!   anything is created.
//! - `messages`: what tables and notes say: both retention limits, "would" in dry runs,
//!   singular counts, config errors.
//! - `groups`: consumer groups: committed offsets, members sharing partitions, `groups` commands.
//! - `segment_tools`: `segments list|dump|roll|verify`, `trim`, `clean` (retention): dumps of
//!   broker-written and kafka-python fixtures, damage found and repaired, segments deleted.

#[path = "../common/mod.rs"]
mod common;
mod completion;
mod concurrency;
mod damage;
mod full_disk;
mod global;
mod groups;
mod large_records;
mod messages;
mod pipelines;
mod produce_consume;
mod produce_input;
mod recovery;
mod segment_tools;
mod segments;
mod terminal;
mod times;
mod topics;
mod util;

use common::fixtures;
