//! `klog groups list|describe|reset|delete`: consumer groups' committed offsets and members.
//!
//! `list` and `describe` show klog's groups and, in a Kafka broker's data directory, the
//! broker's (from its `__consumer_offsets` topic, read only), each row marked with its source.//!
//! One file per subcommand: [`list`], [`describe`], [`reset`], [`delete`]. This module
//! holds the clap definitions and what they share: [`AllGroups`], the unknown-group error
//! and the table helpers.

mod delete;
mod describe;
mod list;
mod reset;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::{Ctx, ExitCode, Hint};
use klog::group::{self, GroupPartition};

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List consumer groups with their topics, live members and total lag (klog's, and a
    /// Kafka broker's from its __consumer_offsets topic)
    #[command(after_help = "Examples:
  klog groups list
  klog groups list --json | jq -r '.[] | select(.lag > 0) | .group'
  klog --dir /var/lib/kafka/data groups list   # a broker's groups (SOURCE kafka)")]
    List(ListArgs),
    /// Show a group's offsets, lag and owning member per partition (a committed offset outside
    /// the log is flagged: the next member starts where its --reset says)
    #[command(after_help = "Examples:
  klog groups describe etl
  klog groups describe etl --json | jq '[.[].lag] | add'")]
    Describe(DescribeArgs),
    /// Move a group's committed offsets (refused while a member owns an affected partition)
    #[command(after_help = "Examples:
  klog groups reset etl --topic orders --to-earliest --dry-run
  klog groups reset etl --topic orders -p 0 --to-offset 1200
  klog groups reset etl --topic orders --to-time 2026-11-26T08:00:00Z
  klog groups reset etl --topic orders --by-duration PT1H   # back to one hour ago (or 1h)
  klog groups reset etl --topic orders --by-duration P1DT12H
  klog groups reset etl --topic orders --shift-by -100")]
    Reset(ResetArgs),
    /// Delete a group: its committed offsets and its lock and member files (refused while it
    /// has live members, as in Kafka)
    #[command(after_help = "Examples:
  klog groups delete etl
  klog groups list --json | jq -r '.[] | select(.lag == 0) | .group' | xargs -n1 klog groups delete")]
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Consumer group name
    pub group: String,
    /// Only this topic
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args([
    "to_earliest", "to_latest", "to_offset", "to_time", "by_duration", "shift_by"
])))]
pub struct ResetArgs {
    /// Consumer group name
    pub group: String,
    /// Topic whose offsets to move
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
    /// Only this partition (repeatable; default: all)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// To the log start offset
    #[arg(long)]
    pub to_earliest: bool,
    /// To the log end offset (skip everything there is)
    #[arg(long)]
    pub to_latest: bool,
    /// To this offset; past the log end it goes to the log end, below the log start to the
    /// log start (as Kafka's tool does), with a note
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub to_offset: Option<i64>,
    /// To the first record at or after TIME (RFC 3339, epoch ms, or relative such as -1h,
    /// -1h30m)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to_time: Option<String>,
    /// To the first record at or after now minus DURATION: ISO 8601 as Kafka's tool takes it
    /// (PT1H, P1DT2H, PT0.5S), or 30m, 1h30m, 2d
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub by_duration: Option<String>,
    /// Move by N records (negative: back), kept within the log
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Show the old and new offsets without changing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Consumer group name
    pub group: String,
}

pub fn run(ctx: &Ctx, cmd: GroupsCommand) -> Result<ExitCode> {
    match cmd {
        GroupsCommand::List(a) => list::list(ctx, a),
        GroupsCommand::Describe(a) => describe::describe(ctx, a),
        GroupsCommand::Reset(a) => reset::reset(ctx, a),
        GroupsCommand::Delete(a) => delete::delete(ctx, a),
    }
}

/// "group 'G' does not exist", with a hint naming the known groups or the nearest ones.
pub(super) fn unknown_group(name: &str, known: &[&str]) -> anyhow::Error {
    let hint = if known.is_empty() {
        "no group has committed offsets here yet; `klog consume TOPIC --group G` creates one"
            .to_string()
    } else {
        let near = super::nearest(name, known.iter().copied());
        if near.is_empty() {
            format!("known groups: {}", known.join(", "))
        } else {
            super::did_you_mean(&near, "klog groups list")
        }
    };
    anyhow::Error::new(Hint(hint)).context(format!("group '{name}' does not exist"))
}

/// The groups of a data directory: klog's own, and a Kafka broker's from its
/// `__consumer_offsets` topic, each with the topics it has offsets (or members) in.
pub(super) struct AllGroups {
    pub(super) klog: Vec<(String, Vec<String>)>,
    pub(super) kafka: Vec<(String, Vec<String>)>,
    commits: group::BrokerCommits,
}

impl AllGroups {
    pub(super) fn read(ctx: &Ctx) -> Result<AllGroups> {
        let topics = ctx.topics();
        let commits = group::broker_commits(&topics)?;
        Ok(AllGroups {
            klog: group::list_groups(&topics)?,
            kafka: group::broker_groups(&commits),
            commits,
        })
    }

    /// Every group name, sorted, each once.
    pub(super) fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .klog
            .iter()
            .chain(&self.kafka)
            .map(|(g, _)| g.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The rows of `describe` for one group: klog's, then the broker's.
    pub(super) fn rows(&self, ctx: &Ctx, name: &str) -> Result<Vec<GroupPartition>> {
        let topics = ctx.topics();
        let mut rows = Vec::new();
        if let Some((_, names)) = self.klog.iter().find(|(g, _)| g == name) {
            for t in names {
                rows.extend(group::describe_topic(&topics.open(t)?, name)?);
            }
        }
        rows.extend(group::describe_broker(&topics, &self.commits, name)?);
        Ok(rows)
    }
}

/// A SOURCE column, shown where a broker's offsets are listed.
pub(super) fn with_source(mut columns: Vec<&'static str>, shown: bool) -> Vec<&'static str> {
    if shown {
        columns.push("SOURCE");
    }
    columns
}

/// An optional value in a table: `-` when there is none.
pub(super) fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}
