//! klog: Apache Kafka's log on a local directory.
//!
//! The library is the engine; the `klog` binary is a thin command line over it.
//!
//! - [`format`]: pure codecs for Kafka's on-disk formats (RecordBatch v2, legacy messages,
//!   compression, `__consumer_offsets` records, producer snapshots).
//! - [`storage`]: segments, offset and time indexes, the partition [`storage::Log`], recovery.
//! - [`topic`]: topics as sets of partition logs, their configs and metadata.
//! - [`group`]: consumer groups: committed offsets and partition ownership.
//! - [`consume`]: reading a topic for a front end: each partition's fetch state (start and
//!   stop resolution, position, follow wake-ups) and a group member (fair share, rebalance,
//!   commits of what was delivered).
//! - [`input`]: parsers of records to produce: delimiter framing, escapes, the JSON shape.
//! - [`produce`]: the producer: partitioner, record accumulator and the sender thread that
//!   appends, compresses and fsyncs; input bytes to records for it.
//! - [`render`]: records as text (value, kcat's format tokens, JSON), as `consume` prints them.
//! - [`server`]: the data directory as a Kafka broker (`klog serve`): Kafka's wire protocol.
//! - [`mirror`]: topics copied to and from any Kafka cluster over its wire protocol (`klog
//!   mirror`): a Kafka client, a follower replica (pull) and an idempotent producer (push).
//!
//! Layering: `format` depends on nothing; `storage` on `format`; `topic` on `storage`; `group`
//! on `topic`; `consume` on `group`; `input` on nothing; `produce` on `topic` and `input`;
//! `render` on `format`; `server` on `topic`, `group` and `storage`; `mirror` on `topic`,
//! `group` and `storage`. The CLI
//! depends on all of them and nothing here depends on the CLI.
//!
//! # Example
//!
//! Create a topic, append a batch to one of its partitions and read it back:
//!
//! ```
//! use std::collections::BTreeMap;
//! use klog::format::BatchBuilder;
//! use klog::topic::Topics;
//!
//! # fn main() -> klog::Result<()> {
//! # let tmp = tempfile::tempdir().unwrap();
//! let topics = Topics::new(tmp.path());
//! let topic = topics.create("greetings", 1, BTreeMap::new())?;
//!
//! let mut batch = BatchBuilder::new();
//! batch.append(1_700_000_000_000, Some(b"en"), Some(b"hello"), &[]);
//! batch.append(1_700_000_000_001, Some(b"fr"), Some(b"bonjour"), &[]);
//! let mut bytes = batch.finish();
//! let info = topic.open_log(0)?.append(&mut bytes)?;
//! assert_eq!((info.base_offset, info.last_offset), (0, 1));
//!
//! let mut reader = topic.open_reader(0)?.expect("partition directory exists");
//! reader.seek(1)?;
//! let found = reader.next_batch()?.expect("one batch");
//! let batch = found.batch.as_batch().expect("a v2 batch");
//! let values: Vec<Vec<u8>> = batch
//!     .records()
//!     .map_err(|e| klog::Error::Invalid(e.to_string()))?
//!     .filter_map(|r| r.ok())
//!     .filter(|r| batch.offset_of(r) >= 1)
//!     .filter_map(|r| r.value.map(<[u8]>::to_vec))
//!     .collect();
//! assert_eq!(values, vec![b"bonjour".to_vec()]);
//! # Ok(())
//! # }
//! ```

pub mod consume;
pub mod error;
pub mod format;
pub mod group;
pub mod input;
pub mod mirror;
pub mod produce;
pub mod render;
pub mod server;
pub mod storage;
pub mod topic;

pub use error::{Error, Result};
