//! The engine's error type: every I/O error names its path, every decode error its file and
//! byte position.

use std::io;
use std::path::PathBuf;

use crate::format::DecodeError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from the storage or topic layer. Display is one lower-case line naming the thing
/// involved; an I/O error's own text is its `source`, so print the chain (`{:#}` in anyhow).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{op} {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Damage: the file and byte position, with what is wrong there as the `source`.
    #[error("corrupt data in {}", path.display())]
    Corrupt {
        path: PathBuf,
        /// Byte position of the problem in the file (already included in `source`).
        position: u64,
        source: DecodeError,
    },
    /// A FIFO, socket, device or directory where klog expects a file of its own (a segment,
    /// an index): refused rather than read (reading a FIFO would block forever).
    #[error("{} is {what}, not a regular file", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("topic '{0}' does not exist")]
    TopicNotFound(String),
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    #[error("invalid topic name '{name}': {reason}")]
    InvalidTopicName { name: String, reason: String },
    #[error("invalid group name '{name}': {reason}")]
    InvalidGroupName { name: String, reason: String },
    /// A change a live member of the group forbids (Kafka's `GROUP_NOT_EMPTY`).
    #[error(
        "group '{group}' has a live member{} on {place}",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    GroupNotEmpty {
        group: String,
        /// Where: `topic-partition`, or `topic 'T'` for a member that owns no partition.
        place: String,
        pid: Option<u32>,
    },
    #[error("invalid config {key}={value}: {reason}")]
    InvalidConfig {
        key: String,
        value: String,
        reason: String,
    },
    #[error("topic '{topic}' has no partition {partition} (it has {partitions})")]
    PartitionNotFound {
        topic: String,
        partition: u32,
        partitions: u32,
    },
    #[error("record batch of {size} bytes is larger than {config} ({max})")]
    RecordTooLarge {
        size: usize,
        max: usize,
        config: &'static str,
    },
    #[error("invalid metadata in {}: {reason}", path.display())]
    BadMetadata { path: PathBuf, reason: String },
    /// A running Kafka broker holds the lock of this log directory (its `.lock` file).
    #[error(
        "{} is locked by a running Kafka broker{}: klog does not write to a log directory a \
         broker is using",
        path.display(),
        pid.map_or_else(String::new, |p| format!(" (pid {p})"))
    )]
    BrokerLocked { path: PathBuf, pid: Option<i32> },
    /// A request that makes no sense (a bad argument): the caller's mistake.
    #[error("{0}")]
    Invalid(String),
    /// A broken internal invariant: a bug in klog.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// An operation on one partition failed: what was done to which partition (`read t-0`,
    /// `append to orders-0`, `commit t-1`), with the error itself as its `source`, so that a
    /// caller walking the chain finds it (a full disk, damage) right after.
    #[error(transparent)]
    Partition(PartitionError),
}

/// What [`Error::Partition`] holds: what was done to which partition, and the error.
#[derive(Debug)]
pub struct PartitionError {
    /// `read`, `commit`.
    pub op: &'static str,
    pub topic: String,
    pub partition: u32,
    pub source: Box<Error>,
}

impl std::fmt::Display for PartitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}-{}", self.op, self.topic, self.partition)
    }
}

impl std::error::Error for PartitionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl Error {
    /// `op` failed on `partition` of `topic` because of `source`.
    pub fn on_partition(op: &'static str, topic: &str, partition: u32, source: Error) -> Error {
        Error::Partition(PartitionError {
            op,
            topic: topic.to_string(),
            partition,
            source: Box::new(source),
        })
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, file_position: u64, e: DecodeError) -> Error {
        let source = e.shifted(file_position as usize);
        Error::Corrupt {
            path: path.into(),
            position: source.at() as u64,
            source,
        }
    }

    /// Wraps an error of one partition of `topic` (see [`Error::Partition`]).
    pub(crate) fn partition(
        op: &'static str,
        topic: &str,
        partition: u32,
    ) -> impl FnOnce(Error) -> Error {
        let topic = topic.to_string();
        move |source| {
            Error::Partition(PartitionError {
                op,
                topic,
                partition,
                source: Box::new(source),
            })
        }
    }

    /// True when the error is the disk being full.
    pub fn is_no_space(&self) -> bool {
        match self {
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::StorageFull,
            Error::Partition(p) => p.source.is_no_space(),
            _ => false,
        }
    }
}
