//! `klog topics create|list|describe|alter|delete`.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{human_bytes, human_ms, print_table, rfc3339_ms, table};
use super::{Ctx, ExitCode, parse_configs, plural};
use klog::storage::{CONFIGS, PartitionStats};
use klog::topic::{Topic, builtin_configs};

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
        TopicsCommand::List(a) => list(ctx, a),
        TopicsCommand::Describe(a) => describe(ctx, a),
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

fn partition_stats(t: &Topic) -> Result<Vec<PartitionStats>> {
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

#[derive(Serialize)]
struct TopicSummary {
    name: String,
    partitions: u32,
    /// Records there are (not log end - log start: compaction leaves gaps).
    records: u64,
    size_bytes: u64,
    retention_ms: i64,
    retention_bytes: i64,
    cleanup_policy: String,
}

fn cleanup_policy(t: &Topic) -> String {
    let p = t.config.cleanup_policy;
    match (p.compact, p.delete) {
        (true, true) => "compact,delete",
        (true, false) => "compact",
        _ => "delete",
    }
    .to_string()
}

/// The RETENTION column: both of a topic's limits, `retention.ms` and `retention.bytes`
/// (segments go when either is passed), or `unlimited` when it has neither.
fn retention(ms: i64, bytes: i64) -> String {
    match (ms >= 0, u64::try_from(bytes)) {
        (false, Err(_)) => "unlimited".to_string(),
        (true, Err(_)) => human_ms(ms),
        (false, Ok(b)) => human_bytes(b),
        (true, Ok(b)) => format!("{}, {}", human_ms(ms), human_bytes(b)),
    }
}

fn list(ctx: &Ctx, a: ListArgs) -> Result<ExitCode> {
    let topics = ctx.topics();
    let mut rows = Vec::new();
    for name in topics.list_names()? {
        let t = topics.open(&name)?;
        let stats = partition_stats(&t)?;
        rows.push(TopicSummary {
            name: t.name.clone(),
            partitions: t.partitions,
            records: stats.iter().map(|s| s.records).sum(),
            size_bytes: stats.iter().map(|s| s.size_bytes).sum(),
            retention_ms: t.config.retention_ms,
            retention_bytes: t.config.retention_bytes,
            cleanup_policy: cleanup_policy(&t),
        });
    }
    let mut out = super::stdout();
    if a.json {
        super::output::print_json(&mut out, &rows)?;
    } else if rows.is_empty() {
        ctx.note(format_args!(
            "no topics in {} (create one with `klog topics create NAME`)",
            ctx.dir.display()
        ));
    } else {
        let mut t = table(&[
            "TOPIC",
            "PARTITIONS",
            "RECORDS",
            "SIZE",
            "RETENTION",
            "CLEANUP",
        ]);
        for r in &rows {
            t.add_row(vec![
                r.name.clone(),
                r.partitions.to_string(),
                r.records.to_string(),
                human_bytes(r.size_bytes),
                retention(r.retention_ms, r.retention_bytes),
                r.cleanup_policy.clone(),
            ]);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

#[derive(Serialize)]
struct PartitionJson {
    partition: u32,
    #[serde(flatten)]
    stats: PartitionStats,
}

#[derive(Serialize)]
struct ConfigJson {
    name: &'static str,
    value: String,
    default: bool,
    /// `topic` (the topic's own override), `internal` (Kafka's config for its own topics,
    /// such as `__consumer_offsets`) or `default`.
    source: &'static str,
}

#[derive(Serialize)]
struct DescribeJson {
    name: String,
    partitions: Vec<PartitionJson>,
    configs: Vec<ConfigJson>,
}

fn describe(ctx: &Ctx, a: DescribeArgs) -> Result<ExitCode> {
    let t = ctx.topics().open(&a.topic)?;
    let stats = partition_stats(&t)?;
    let doc = DescribeJson {
        name: t.name.clone(),
        partitions: stats
            .into_iter()
            .enumerate()
            .map(|(p, s)| PartitionJson {
                partition: p as u32,
                stats: s,
            })
            .collect(),
        configs: CONFIGS
            .iter()
            .map(|c| {
                let builtin = builtin_configs(&t.name)
                    .iter()
                    .find(|(k, _)| *k == c.name)
                    .map(|(_, v)| v.to_string());
                let (value, source) = match (t.configs.get(c.name), builtin) {
                    (Some(v), _) => (v.clone(), "topic"),
                    (None, Some(v)) => (v, "internal"),
                    (None, None) => (c.default.to_string(), "default"),
                };
                ConfigJson {
                    name: c.name,
                    value,
                    default: source == "default",
                    source,
                }
            })
            .collect(),
    };
    let mut out = super::stdout();
    if a.json {
        super::output::print_json(&mut out, &doc)?;
    } else {
        writeln!(
            out,
            "Topic: {}  Partitions: {}",
            doc.name,
            doc.partitions.len()
        )?;
        writeln!(out)?;
        let mut tb = table(&[
            "PARTITION",
            "LOG-START",
            "LOG-END",
            "RECORDS",
            "SIZE",
            "SEGMENTS",
            "FIRST-TIMESTAMP",
            "LAST-TIMESTAMP",
        ]);
        let ts = |t: Option<i64>| t.map_or_else(|| "-".to_string(), rfc3339_ms);
        for p in &doc.partitions {
            tb.add_row(vec![
                p.partition.to_string(),
                p.stats.log_start_offset.to_string(),
                p.stats.log_end_offset.to_string(),
                p.stats.records.to_string(),
                human_bytes(p.stats.size_bytes),
                p.stats.segments.to_string(),
                ts(p.stats.first_timestamp),
                ts(p.stats.last_timestamp),
            ]);
        }
        print_table(&mut out, &mut tb)?;
        writeln!(out)?;
        let mut tb = table(&["CONFIG", "VALUE", "SOURCE"]);
        for c in &doc.configs {
            tb.add_row(vec![
                c.name.to_string(),
                c.value.clone(),
                c.source.to_string(),
            ]);
        }
        print_table(&mut out, &mut tb)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
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
