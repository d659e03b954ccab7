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
//! - `pipes`: helpers of the produce and consume tests (child processes, murmur2).
//! - `volume`: every record of a large input back, in order per partition.
//! - `round_trips`: binary values, `--raw` files and JSON copies byte for byte (timestamps,
//!   magic 0/1 data, `--ignore-partition`).
//! - `partitioner`: keyed records where Kafka's murmur2 puts them.
//! - `consume_range`: where `consume` starts and stops: offset and time forms, per partition,
//!   counts, kcat's and kafka-console-consumer's flags.
//! - `follow`: `consume -f` and live producers: trickles, stops, added partitions, signals.
//! - `closed_pipes`: a reader that goes away ends `consume` quietly.
//! - `bad_input`: records `produce` refuses, named by input and line; `--skip-invalid`.
//! - `framing`: how `produce` cuts input into records: delimiters across chunks, headers,
//!   null markers, fixed keys, files and stdin, a file cut short.
//! - `produce_checks`: the topic `produce` creates or checks before writing anything, and
//!   its `-v` summary.
//! - `arguments`: `produce`'s and `consume`'s own argument errors, an unknown topic.
//! - `large_records`: one record far larger than the rest is held in memory once by every
//!   command that moves it.
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
//! - `messages`: what tables and notes say: both retention limits, "would" in dry runs,
//!   singular counts, config errors.
//! - `groups`: consumer groups: committed offsets, members sharing partitions, `groups` commands.
//! - `segment_tools`: `segments list|dump|roll|verify`, `trim`, `clean` (retention): dumps of
//!   broker-written and kafka-python fixtures, damage found and repaired, segments deleted.

mod arguments;
mod bad_input;
mod closed_pipes;
#[path = "../common/mod.rs"]
mod common;
mod completion;
mod concurrency;
mod consume_range;
mod damage;
mod follow;
mod framing;
mod full_disk;
mod global;
mod groups;
mod large_records;
mod messages;
mod partitioner;
mod pipes;
mod produce_checks;
mod recovery;
mod round_trips;
mod segment_tools;
mod segments;
mod terminal;
mod times;
mod topics;
mod util;
mod volume;

use common::fixtures;
