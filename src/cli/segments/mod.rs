//! `klog segments list|dump|roll|verify`: looking inside segment files, klog's or a Kafka
//! broker's, and checking or repairing them.
//!
//! One file per subcommand: [`list`], [`roll`], [`dump`] (with [`batch`] for log entries,
//! [`index`] for index and snapshot files, [`dump_json`] for `--json`), [`verify`]. This
//! module holds the clap definitions and what every subcommand shares: turning a PATH|TOPIC
//! argument into [`Target`]s.

mod batch;
mod dump;
mod dump_json;
mod index;
mod list;
mod roll;
mod verify;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};

use super::{Ctx, ExitCode, UsageError};
use klog::storage::file_names::{self, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use klog::storage::list_segments;

#[derive(Debug, Subcommand)]
pub enum SegmentsCommand {
    /// One row per segment: offsets, records, bytes, timestamps, index entries, active or closed
    #[command(after_help = "Examples:
  klog segments list orders
  klog segments list orders -p 0 --json | jq '.[] | select(.active)'")]
    List(ListArgs),
    /// Print batches (and with --records, records) of segments, like kafka-dump-log
    #[command(after_help = "Examples:
  klog segments dump orders -p 0 --records
  klog segments dump /var/lib/kafka/data/orders-0/00000000000000000000.log --max-bytes 100000
  klog segments dump orders-0/00000000000000000000.index
  klog segments dump orders --offset 120000 --records --json | jq -c '.records[]'")]
    Dump(DumpArgs),
    /// Close the active segment now and start a new one
    #[command(after_help = "Examples:
  klog segments roll orders
  klog segments roll orders -p 2")]
    Roll(RollArgs),
    /// Check every batch, offset and index entry; --repair cuts damage without moving offsets
    #[command(after_help = "Examples:
  klog segments verify orders
  klog segments verify /var/lib/kafka/data/orders-0 --json
  klog segments verify orders -p 1 --repair

Exit status: 0 clean (or repaired), 3 damage found.")]
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Topic name
    pub topic: String,
    /// Only this partition (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Topics, partition directories, or .log, .index, .timeindex files
    #[arg(required = true, value_name = "PATH|TOPIC")]
    pub targets: Vec<String>,
    /// Only this partition of a topic (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Also print every record (key, value, headers)
    #[arg(long, visible_alias = "print-data-log")]
    pub records: bool,
    /// Start at the batch holding this offset (found through the offset index)
    #[arg(long, value_name = "N")]
    pub offset: Option<i64>,
    /// Read at most this many bytes of each log file
    #[arg(long, value_name = "N")]
    pub max_bytes: Option<u64>,
    /// One JSON object per batch (or index entry) and line
    #[arg(long)]
    pub json: bool,
    /// Decode records as the group coordinator's (__consumer_offsets) offset commits and
    /// group metadata (automatic for __consumer_offsets partitions)
    #[arg(long)]
    pub offsets_decoder: bool,
}

#[derive(Debug, Args)]
pub struct RollArgs {
    /// Topic name
    pub topic: String,
    /// Only this partition (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Topics or partition directories
    #[arg(required = true, value_name = "TOPIC|PATH")]
    pub targets: Vec<String>,
    /// Only this partition of a topic (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Cut damaged tails and regions (valid batches after them keep their offsets in a new
    /// segment) and rebuild damaged indexes
    #[arg(long)]
    pub repair: bool,
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, cmd: SegmentsCommand) -> Result<ExitCode> {
    match cmd {
        SegmentsCommand::List(a) => list::list(ctx, a),
        SegmentsCommand::Dump(a) => dump::dump(ctx, a),
        SegmentsCommand::Roll(a) => roll::roll(ctx, a),
        SegmentsCommand::Verify(a) => verify::verify(ctx, a),
    }
}

/// What a PATH|TOPIC argument names.
pub(super) enum Target {
    /// A partition directory.
    Dir(PathBuf),
    Log(PathBuf),
    Index(PathBuf),
    TimeIndex(PathBuf),
    Snapshot(PathBuf),
}

pub(super) fn resolve(ctx: &Ctx, item: &str, partitions: &[u32]) -> Result<Vec<Target>> {
    let path = Path::new(item);
    if path.exists() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let is_partition = |d: &Path| {
            file_names::parse_partition_dir(name).is_some()
                || list_segments(d).is_ok_and(|s| !s.is_empty())
        };
        return Ok(vec![if path.is_dir() {
            if !is_partition(path) {
                return Err(UsageError(format!(
                    "{}: not a partition directory (no <topic>-<n> name and no .log files)",
                    item.escape_debug()
                ))
                .into());
            }
            Target::Dir(path.to_path_buf())
        } else if name.ends_with(LOG_SUFFIX) {
            Target::Log(path.to_path_buf())
        } else if name.ends_with(INDEX_SUFFIX) {
            Target::Index(path.to_path_buf())
        } else if name.ends_with(TIME_INDEX_SUFFIX) {
            Target::TimeIndex(path.to_path_buf())
        } else if name.ends_with(".snapshot") {
            Target::Snapshot(path.to_path_buf())
        } else {
            return Err(UsageError(format!(
                "{}: not a .log, .index, .timeindex or .snapshot file, nor a partition directory",
                item.escape_debug()
            ))
            .into());
        }]);
    }
    let topic = ctx.topics().open(item).map_err(|e| match e {
        klog::Error::TopicNotFound(_) | klog::Error::InvalidTopicName { .. } => {
            anyhow::Error::new(super::Hint(
                "give a topic of the data directory, a partition directory, or a segment file"
                    .into(),
            ))
            .context(format!("no topic or file named '{}'", item.escape_debug()))
        }
        e => e.into(),
    })?;
    Ok(super::partitions_of(&topic, partitions)?
        .into_iter()
        .map(|p| Target::Dir(topic.partition_dir(p)))
        .collect())
}

/// Base offset of a segment file from its name (0 when the name is not Kafka's).
pub(super) fn base_of(path: &Path) -> i64 {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    stem.parse().unwrap_or(0)
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
