//! klog against real Kafka data: broker-written partition directories found in public
//! repositories (`../shared/fixtures/kafka`, catalogued in its `SOURCES.md`) and segments built by
//! an independent client, kafka-python (`../shared/fixtures/kafka-python`).
//!
//! Checked here, one subject per module (items as in the modules' docs):
//! 1. `broker_logs`: every non-empty magic-2 `.log` decodes completely with the batch and
//!    record counts and offset range SOURCES.md states; magic-1 logs are framed to exactly
//!    their end; the KRaft snapshot `.checkpoint` files decode too;
//! 2. `worked_example`: the format doc's worked example (`TOPIC_NAME-1`), field by field;
//! 3. `partitioner`: the default partitioner puts each real key in the partition the broker
//!    put it in;
//! 4. `reencode`: re-encoding every uncompressed batch reproduces its bytes exactly;
//! 5. `kafka_python`: kafka-python's uncompressed segment decodes to its `expected.json`; its
//!    compressed batches pass the CRC check and are refused with `UnsupportedCompression`;
//! 6. `indexes`: broker-written `.index`/`.timeindex` entries agree with the batches they
//!    point at;
//! 7. `log_reader`: `LogReader` reads, seeks, finds offsets by timestamp and the log end
//!    offset on copies of broker-written partition directories;
//! 8. `cli_reads`: the `klog` binary on the same data: kafka-python's segments (every codec)
//!    consume to exactly `expected.json`; every broker partition directory (magic 1 included)
//!    consumes to the offsets of its records and `segments dump --records` prints one line
//!    per record; `__consumer_offsets` partitions dump as readable offset commits, each
//!    agreeing with an independent decoding of its key and value;
//! 9. `klog_writes`: what klog writes is what Kafka writes: its compressed batches (every
//!    codec, text and binary records with headers) read back, carry the codec bits, and frame
//!    their streams as kafka-python does (xerial header and <= 32 KiB blocks, LZ4 frame
//!    descriptor, gzip and zstd magic); a directory it wrote verifies clean and has a
//!    broker's checkpoint files, `partition.metadata` and `leader-epoch-checkpoint`;
//! 10. `false_alarms`: the checks of damaged base offsets raise no false alarm on any of these
//!     partitions, in verify, repair or a writer's recovery;
//! 11. `broker_dirs`: on a copy of each broker's `log.dirs`, reading commands change no file
//!     at all, and `clean` applies Kafka's rules: `__consumer_offsets` is compacted and never
//!     deleted by age, untouched partitions stay byte for byte, no checkpoint entry is dropped
//!     or lowered, no `leader-epoch-checkpoint` is rewritten;
//! 12. `counts`: `topics list|describe` and `segments list` count the records there are
//!     (compacted partitions too) and give magic 0/1 logs their real first and last
//!     timestamps.
//!
//! `util` holds the expectations copied from SOURCES.md and the helpers more than one module
//! uses; `missing_fixtures` checks the rule below; `common` (`tests/common/`) is shared with
//! the other test binaries.
//!
//! The fixtures live outside the crate: when `../shared/fixtures` is absent every test prints a
//! note to stderr and passes, except under `CI=true`, where every test that needs them fails.

#[path = "../common/mod.rs"]
mod common;

mod broker_dirs;
mod broker_logs;
mod cli_reads;
mod counts;
mod false_alarms;
mod indexes;
mod kafka_python;
mod klog_writes;
mod log_reader;
mod missing_fixtures;
mod partitioner;
mod reencode;
mod util;
mod worked_example;
