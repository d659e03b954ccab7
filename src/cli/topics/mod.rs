//! `klog topics create|list|describe|alter|delete`.
//!
//! `list` and `describe`, which read every partition, have their own files; this module
//! holds the clap definitions and the subcommands that only change metadata.

mod describe;
mod list;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use super::{Ctx, ExitCode, parse_configs, plural};
use klog::storage::PartitionStats;
use klog::topic::Topic;

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create a topic
    #[command(after_help = "Examples:
  klog topics create orders
  klog topics create clicks -p 6 -c retention.ms=3600000 -c segment.bytes=104857600
  klog topics create users -c cleanup.policy=compact --if-not-exists")]
    Create(CreateArgs),
    /// List topics with their size, record count, retention and cleanup policy
    #[command(after_help = "Examples:
  klog topics list
  klog topics list --json | jq -r '.[].name'

RECORDS counts the records a reader gets, from each partition's log start offset on (counted
from batch headers); a compacted topic has fewer than its offsets span.")]
    List(ListArgs),
    /// Show a topic's partitions (offsets, size, segments, timestamps) and configs
    #[command(after_help = "Examples:
  klog topics describe orders
  klog topics describe orders --json | jq '.partitions[].log_end_offset'

RECORDS counts the records a reader gets (fewer than LOG-END - LOG-START once compaction has
removed some); FIRST-TIMESTAMP and LAST-TIMESTAMP are the smallest and largest record
timestamps (a batch counts with its first record's), for Kafka's legacy magic 0/1 messages
too. A config's SOURCE is topic (set with -c), internal (what Kafka gives its own topics, such
as __consumer_offsets) or default.")]
    Describe(DescribeArgs),
    /// Add partitions or change configs
    #[command(after_help = "Examples:
  klog topics alter orders --partitions 6
  klog topics alter orders -c retention.ms=86400000 --delete-config segment.bytes")]
    Alter(AlterArgs),
    /// Delete topics and all their data
    #[command(after_help = "Examples:
  klog topics delete scratch
  klog topics delete a b c

A topic is marked deleted first: if the delete is interrupted, it is gone for readers anyway,
and the next command that writes (or a create of the same name) finishes it.")]
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Topic name: ASCII letters, digits, '.', '_' and '-', at most 249 characters
    pub topic: String,
    /// Number of partitions
    #[arg(short, long, default_value_t = 1)]
    pub partitions: u32,
    /// A topic config, Kafka's names (repeatable), e.g. -c retention.ms=3600000
    #[arg(short, long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Succeed without changes if the topic already exists
    #[arg(long)]
    pub if_not_exists: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Topic name
    pub topic: String,
    /// Print one JSON document instead of tables
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AlterArgs {
    /// Topic name
    pub topic: String,
    /// New partition count (partitions can only grow)
    #[arg(short, long)]
    pub partitions: Option<u32>,
    /// Set a config (repeatable)
    #[arg(short, long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Remove a config override, back to its default (repeatable)
    #[arg(long = "delete-config", value_name = "KEY")]
    pub delete_config: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Topics to delete
    #[arg(required = true)]
    pub topics: Vec<String>,
}

pub fn run(ctx: &Ctx, cmd: TopicsCommand) -> Result<ExitCode> {
    match cmd {
        TopicsCommand::Create(a) => create(ctx, a),
        TopicsCommand::List(a) => list::list(ctx, a),
        TopicsCommand::Describe(a) => describe::describe(ctx, a),
        TopicsCommand::Alter(a) => alter(ctx, a),
        TopicsCommand::Delete(a) => delete(ctx, a),
    }
}

fn create(ctx: &Ctx, a: CreateArgs) -> Result<ExitCode> {
    let configs = parse_configs(&a.config)?;
    match ctx.topics().create(&a.topic, a.partitions, configs) {
        Ok(t) => {
            ctx.note(format_args!(
                "created topic '{}' with {} in {}",
                t.name,
                plural(u64::from(t.partitions), "partition"),
                ctx.dir.display()
            ));
            Ok(ExitCode::Success)
        }
        Err(klog::Error::TopicExists(_)) if a.if_not_exists => Ok(ExitCode::Success),
        Err(e) => Err(e.into()),
    }
}

/// The statistics of each of a topic's partitions, in partition order.
pub(super) fn partition_stats(t: &Topic) -> Result<Vec<PartitionStats>> {
    (0..t.partitions)
        .map(|p| {
            Ok(match t.open_reader(p)? {
                Some(mut r) => r
                    .stats()
                    .with_context(|| format!("read partition {}-{p}", t.name))?,
                None => PartitionStats::default(),
            })
        })
        .collect()
}

fn alter(ctx: &Ctx, a: AlterArgs) -> Result<ExitCode> {
    let set = parse_configs(&a.config)?;
    if a.partitions.is_none() && set.is_empty() && a.delete_config.is_empty() {
        return Err(super::UsageError(
            "nothing to change: give --partitions, -c KEY=VALUE or --delete-config KEY".into(),
        )
        .into());
    }
    let t = ctx
        .topics()
        .alter(&a.topic, a.partitions, set, &a.delete_config)?;
    ctx.note(format_args!(
        "altered topic '{}' ({})",
        t.name,
        plural(u64::from(t.partitions), "partition")
    ));
    Ok(ExitCode::Success)
}

fn delete(ctx: &Ctx, a: DeleteArgs) -> Result<ExitCode> {
    let topics = ctx.topics();
    // Check them all first so that a typo deletes nothing.
    for name in &a.topics {
        topics.open(name)?;
    }
    for name in &a.topics {
        topics.delete(name)?;
        ctx.note(format_args!("deleted topic '{name}'"));
    }
    Ok(ExitCode::Success)
}
