//! Mirroring topics between the data directory and any Kafka-protocol cluster, over Kafka's
//! wire protocol, in both directions (`klog mirror pull` and `klog mirror push`).
//!
//! # Shape
//! - [`client`]: the Kafka client: connections, framing, versions from ApiVersions, brokers
//!   and partition leaders from Metadata, backoff.
//! - [`pull`]: a follower replica: fetches from each partition's leader and appends the
//!   fetched batches byte for byte at the same offsets ([`crate::storage::Log::append_replica`]),
//!   creating missing topics with the source's partition count and topic configs.
//! - [`security`]: TLS and SASL (PLAIN, SCRAM) of the client's connections, and Kafka's
//!   `client.properties` settings for them.
//! - [`push`]: local topics into a cluster with an idempotent producer, through a checkpoint
//!   per destination in each partition directory.
//!
//! # Invariants
//! 1. Record batches stay raw bytes both ways: a pulled batch is appended as it was fetched
//!    (same offsets, bytes and CRC); a pushed batch is sent as it is stored, but for the
//!    producer id, epoch and sequence an idempotent producer must stamp (and so its CRC).
//! 2. A pull never gives an offset twice and never leaves a gap that the source does not
//!    have: it resumes from the local log end, and stops at a divergence (the source's log
//!    is shorter than the local one, or the batch at the local end differs) unless told to
//!    truncate.
//! 3. Every fatal error is one line naming the broker (and the partition where there is
//!    one); retriable ones (a leader change, a broker that went away) are retried with
//!    backoff after a Metadata refresh.
//!
//! # Crash safety
//! A pull holds no state beyond the local logs: a killed pull leaves at most a torn last
//! batch, which the next writer's recovery cuts; it then resumes from the log end. A push's
//! checkpoint is written (atomically) only after the cluster acknowledged with acks=all, so
//! a killed push sends again at most the batches in flight (see [`push`]).
//!
//! # Kafka
//! `ReplicaFetcherThread`/`AbstractFetcherThread` (a follower's fetch, truncation and
//! `truncateFullyAndStartAt`), MirrorMaker 2 (`MirrorSourceConnector`, its offset syncs and
//! `MirrorCheckpointConnector`'s translated group offsets).

pub mod client;
pub mod pull;
pub mod push;
pub mod security;

/// What can stop a mirror: one line each, naming the broker and the partition concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The broker cannot be reached (refused, unknown host, timed out).
    #[error("cannot connect to {broker}: {reason}")]
    Connect { broker: String, reason: String },
    /// The connection broke or a response did not come (retriable).
    #[error("lost the connection to {broker}: {reason}")]
    Lost { broker: String, reason: String },
    /// The TLS handshake failed, or a TLS listener was reached without TLS.
    #[error("TLS handshake with {broker} failed: {reason}")]
    Tls { broker: String, reason: String },
    /// SASL authentication was refused (with the broker's message) or could not be done.
    #[error("authentication to {broker} failed: {reason}")]
    Auth { broker: String, reason: String },
    /// The broker answered something that is not Kafka's protocol.
    #[error("{broker} broke the protocol: {reason}")]
    Protocol { broker: String, reason: String },
    /// The broker does not speak an API this needs at a version klog has.
    #[error("{broker} does not support {api} at a version klog speaks: {detail}")]
    Unsupported {
        broker: String,
        api: String,
        detail: String,
    },
    /// An error code in a response.
    #[error(
        "{broker}: {api}{} failed: {}",
        if what.is_empty() { String::new() } else { format!(" of {what}") },
        client::error_name(*code)
    )]
    Broker {
        broker: String,
        api: String,
        what: String,
        code: i16,
    },
    /// A topic asked for that the cluster does not have.
    #[error("topic '{topic}' does not exist on {broker}")]
    UnknownTopic { broker: String, topic: String },
    /// The source's log and the local one disagree (see [`pull`]).
    #[error(
        "partition {topic}-{partition} has diverged from {broker}: {detail} (the local log \
         ends at offset {local_end}, the source's at {source_end}); \
         --truncate-on-divergence cuts the local log back to the last batch both have"
    )]
    Diverged {
        broker: String,
        topic: String,
        partition: u32,
        local_end: i64,
        source_end: i64,
        detail: String,
    },
    /// Something the command asked for that cannot be done.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] crate::Error),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl Error {
    /// Whether retrying (after a backoff and a Metadata refresh) may help.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Lost { .. } | Error::Connect { .. } => true,
            Error::Broker { code, .. } => client::is_retriable(*code),
            _ => false,
        }
    }
}

/// A topic and partition.
pub type TopicPartition = (String, u32);
