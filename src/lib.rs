//! klog: Apache Kafka's log on a local directory.
//!
//! The library is the engine; the `klog` binary is a thin command line over it.
//!
//! - [`format`]: pure codecs for Kafka's on-disk record format (RecordBatch v2).
//! - [`storage`]: segments, offset and time indexes, the partition [`storage::Log`], recovery.
//! - [`topic`]: topics as sets of partition logs, their configs and metadata.
//!
//! Layering: `format` depends on nothing; `storage` on `format`; `topic` on `storage`. The CLI
//! depends on all of them and nothing here depends on the CLI.

pub mod error;
pub mod format;
pub mod storage;
pub mod topic;

pub use error::{Error, Result};
