//! Storage: one partition's log on disk, as Kafka lays it out.
//!
//! A partition is a directory `<topic>-<partition>/` holding segments: `<base>.log` (record
//! batches back to back), `<base>.index` and `<base>.timeindex`, where `<base>` is the first
//! offset of the segment as 20 zero-padded digits. [`Log`] appends to the last (active)
//! segment and rolls to a new one; [`LogReader`] reads from any offset or timestamp, and
//! [`Entry::records_in`] lists the records of what it reads, v2 batches and legacy messages
//! alike.
//!
//! # Invariants
//! 1. Offsets are increasing across batches and segments (dense as appended; compaction
//!    leaves gaps); a segment's base offset is ≤ every offset in it and > every offset in
//!    earlier segments. An offset never changes.
//! 2. Only whole batches are written, each with a single positioned write at the end of the
//!    active `.log`, by a process holding the partition lock.
//! 3. Closed segments change only as a whole (compaction writes a replacement aside and
//!    renames it into place; retention and trim delete them) or by `segments verify --repair`
//!    cutting damage off; their indexes are trimmed and their data fsynced on roll.
//!
//! # Crash safety
//! Append writes the batch, then the index entries. A crash can leave a torn batch at the end
//! of the active segment (or, after power loss, unflushed garbage anywhere after the last
//! fsync) and index entries past it. The recovery point (`.klog-recovery-point`, written after
//! each fsync; a broker's `recovery-point-offset-checkpoint` where klog has none) bounds what
//! the next writer may cut: it re-validates the active segment from the last index entry
//! below the point, checking every batch's framing, CRC and offsets, and truncates at the first
//! bad byte only when that byte lies at or above the point and is no batch whose checksum
//! holds: exactly what a crash leaves. Damage below the point, or a batch whose checksum holds
//! at offsets that cannot be its own, is no crash's doing: the writer reports it with file and
//! position, cuts nothing and appends nothing until `segments verify --repair` deals with it.
//! So flushed data is never lost and no offset is ever given out twice.
//!
//! # Concurrency
//! Writers in any number of processes serialize on an exclusive `flock` of the partition
//! directory, held for one append. After taking it a writer checks, with a couple of cheap
//! `stat`s, whether another process appended, rolled or recovered since, and reloads the active
//! segment if so. Readers take no lock to read: they read only whole batches within the file
//! size they see, treating an incomplete last batch as the current end, and take a shared lock
//! only to re-check offsets that look damaged (a compaction swap looks the same for a moment).
//! Writers never work under a running Kafka broker: in a data directory with a broker's
//! `.lock`, they hold it shared and refuse to start while a broker holds it (see [`fs`]).

pub mod checkpoint;
pub mod cleaner;
pub mod config;
pub mod entries;
pub mod failpoint;
pub mod file_names;
pub mod fs;
pub mod index;
pub mod log;
pub mod reader;
pub mod retention;
pub mod verify;
pub mod watch;

pub use config::{CONFIGS, CleanupPolicy, LogConfig};
pub use entries::{EntryRecords, LogRecord};
pub use log::{AppendInfo, ConfigSource, Log};
pub use reader::{
    BatchRef, ChunkReader, Entry, LogReader, PartitionStats, RawAt, SegmentSummary, list_segments,
    summarize_segment,
};

#[cfg(test)]
mod power_loss_tests;
#[cfg(test)]
mod tests;
