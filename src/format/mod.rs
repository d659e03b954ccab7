//! Kafka's on-disk record format, as pure codecs over byte slices.
//!
//! This module owns the byte layout of RecordBatch v2 (magic 2) and of the records inside it,
//! and what a reader of Kafka's files meets besides: legacy v0/v1 messages, the compression
//! codecs, control records (transaction markers), Kafka's murmur2 partitioner,
//! `__consumer_offsets` records and producer state snapshots. It does no I/O, reads no clock
//! and holds no `unsafe`: everything here takes `&[u8]` and returns values or a
//! [`DecodeError`] carrying the byte position (relative to the slice it was given) of what was
//! wrong. The storage layer adds the file name and the slice's position in the file.
//!
//! Decoders of bytes read from files never panic (the lints below). Encoders of klog's own
//! buffers either cannot fail (they write into a [`batch::HeaderBytes`], a fixed 61-byte
//! array) or panic on a buffer that is no batch, which is a bug in the caller: none returns
//! a partial or unchanged buffer quietly.
//!
//! # Invariants
//! 1. Every multi-byte integer in a batch header is big-endian two's complement.
//! 2. A batch is `12 + batch_length` bytes, at least [`RECORD_BATCH_OVERHEAD`] (61).
//! 3. The CRC-32C covers bytes `[21, end)`: base offset and partition leader epoch can be
//!    rewritten without recomputing it, which is what the log does when it assigns offsets.
//! 4. Decoding arbitrary bytes never panics: lengths are checked before every slice.
//!
//! # Kafka
//! Mirrors `DefaultRecordBatch`, `DefaultRecord` and `ByteUtils` of Apache Kafka's clients.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

pub mod batch;
pub mod compression;
pub mod control;
pub mod error;
pub mod group_metadata;
pub mod legacy;
pub mod murmur2;
pub mod producer_snapshot;
pub mod record;
pub mod varint;

pub use batch::{
    BATCH_HEADER_LEN, BatchBuilder, BatchHeader, BuiltBatch, DECOMPRESS_LIMIT,
    RECORD_BATCH_OVERHEAD, RecordBatch, TimestampType, peek_entry,
};
pub use compression::Compression;
pub use error::DecodeError;
pub use murmur2::{murmur2, partition_for_key};
pub use record::{Header, Record};
