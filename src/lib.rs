//! klog: Apache Kafka's log on a local directory.
//!
//! The library is the engine; the `klog` binary is a thin command line over it.
//!
//! - [`format`](mod@format): pure codecs for Kafka's on-disk formats (RecordBatch v2, legacy
//!   messages, compression, `__consumer_offsets` records, producer snapshots).
//! - [`storage`]: segments, offset and time indexes, the partition [`storage::Log`], recovery.
//! - [`topic`]: topics as sets of partition logs, their configs and metadata.
//! - [`group`]: consumer groups: committed offsets and partition ownership.
//! - [`consume`]: reading a topic for a front end: each partition's fetch state (start and
//!   stop resolution, position, follow wake-ups) and a group member (fair share, rebalance,
//!   commits of what was delivered), and owned records a poll at a time for front ends
//!   that keep them.
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
//! Create a topic, produce to it and read everything back:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::time::Duration;
//! use klog::consume::{Consumer, FetchSpec};
//! use klog::produce::{Producer, ProducerConfig, ProducerRecord};
//! use klog::topic::Topics;
//!
//! # fn main() -> klog::Result<()> {
//! # let tmp = tempfile::tempdir().unwrap();
//! let topics = Topics::new(tmp.path());
//! let topic = topics.create("greetings", 2, BTreeMap::new())?;
//!
//! let mut producer = Producer::new(&topic, ProducerConfig::default());
//! for (key, value) in [("en", "hello"), ("fr", "bonjour")] {
//!     let (key, value) = (Some(key.as_bytes()), Some(value.as_bytes()));
//!     let timestamp = 1_700_000_000_000;
//!     producer.send(&ProducerRecord { key, value, headers: &[], partition: None, timestamp })?;
//! }
//! producer.close()?;
//!
//! let partitions = (0..topic.partitions).collect();
//! let mut consumer = Consumer::new(topics, topic, partitions, true, FetchSpec::default(), None)?;
//! let mut values = Vec::new();
//! while !consumer.is_finished() {
//!     values.extend(consumer.poll(Duration::ZERO)?.into_iter().map(|r| r.value));
//! }
//! values.sort();
//! assert_eq!(values, [Some(b"bonjour".to_vec()), Some(b"hello".to_vec())]);
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
