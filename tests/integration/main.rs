//! End-to-end tests of the `klog` binary on private temporary data directories.
//!
//! - `util`: the harness (`TestDir`, commands, on-disk readers).
//! - `global`: `--dir`/`KLOG_DIR`, usage errors, help, version, `-q`.
//! - `topics`: create, list, describe, alter, delete; names and configs; a broker's lock held
//!   by another process, a damaged metadata file, an interrupted delete, configs altered under
//!   a running producer, record counts and timestamps of compacted topics.
//! - `produce_consume`: volume, partitioning, keys, offsets, closed pipes.
//! - `segments`: rolls, file names, indexes, Kafka's batch format on disk; `trim` checked on
//!   every partition first; `clean` merging the segments compaction empties.
//! - `recovery`: torn tails cut at every byte of the last batch.
//! - `terminal`: progress bars, tables and colors in a pseudo-terminal, never in a pipe.
//! - `concurrency`: producers and consumers in parallel processes.
//! - `pipelines`: produce/consume pipelines: volume, binary and JSON round trips, partitioner,
//!   offset forms, live producers and followers, closed pipes, bad input, framing details.
//! - `groups`: consumer groups: committed offsets, members sharing partitions, `groups` commands.
//! - `segment_tools`: `segments list|dump|roll|verify`, `trim`, `clean` (retention): dumps of
//!   broker-written and kafka-python fixtures, damage found and repaired, segments deleted.

mod concurrency;
mod global;
mod groups;
mod pipelines;
mod produce_consume;
mod recovery;
mod segment_tools;
mod segments;
mod terminal;
mod topics;
mod util;
