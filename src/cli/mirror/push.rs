//! `klog mirror push`: its arguments, notes and summary.

use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::{Bars, SecurityArgs, configs_note, print_json, runtime, stop_flag};
use crate::cli::output::human_bytes;
use crate::cli::{Ctx, ExitCode, plural};
use klog::mirror::push::{self, Event, PushOptions, PushSummary};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog mirror push --to kafka:9092 --all --groups      # every topic, and the groups' offsets
  klog mirror push --to kafka:9092 orders -f           # keep pushing what is appended
  klog mirror push --to kafka:9092 --all --dry-run     # what would be created and sent

Each local partition goes to the same partition number on the cluster. A missing topic is
created with the local partition count and configs; an existing one with fewer partitions is
refused. Keys, values, headers and timestamps are kept: batches are sent as they are stored
(compressed ones too), with an idempotent producer, acks=all.

A checkpoint in each partition directory (.klog-mirror-push.<cluster id>.json) records, once
the cluster acknowledged, how far the push got and the local to remote offset map: a rerun
or -f continues where it stopped. Within a run retries never duplicate; after a crash at most
the batches in flight (one per partition) are sent twice.

--groups commits each local consumer group's offsets on the cluster, translated through the
offset map, so that the group continues there where it stopped here: once everything is
pushed (with -f, when the push stops).")]
pub struct PushArgs {
    /// Broker of the cluster to push to (repeatable or comma-separated)
    #[arg(long, value_name = "HOST:PORT", required = true, value_delimiter = ',')]
    pub to: Vec<String>,
    /// Topics to push
    #[arg(value_name = "TOPIC", required_unless_present = "all")]
    pub topics: Vec<String>,
    /// Push every local topic
    #[arg(long, conflicts_with = "topics")]
    pub all: bool,
    /// Keep pushing what is appended until Ctrl-C or SIGTERM
    #[arg(short, long)]
    pub follow: bool,
    /// Commit the local consumer groups' offsets on the cluster, translated
    #[arg(long)]
    pub groups: bool,
    /// Print what would be created and sent; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub security: SecurityArgs,
}

pub fn run(ctx: &Ctx, a: PushArgs) -> Result<ExitCode> {
    let mut opts = PushOptions::new(a.to);
    opts.security = a.security.security(ctx)?;
    opts.topics = a.topics;
    opts.all = a.all;
    opts.follow = a.follow;
    opts.groups = a.groups;
    opts.dry_run = a.dry_run;
    let topics = ctx.topics();
    let rt = runtime()?;
    let stop = stop_flag(&rt);
    let started = Instant::now();
    let mut bars = Bars::new();
    let result = rt.block_on(push::push(&topics, &opts, stop, &mut |e| {
        on_event(ctx, &mut bars, a.dry_run, e)
    }));
    bars.finish();
    let summary = result?;
    if a.json {
        print_json(&summary)?;
    } else {
        print_summary(ctx, &summary, started);
    }
    Ok(ExitCode::Success)
}

fn on_event(ctx: &Ctx, bars: &mut Bars, dry_run: bool, e: Event) {
    match e {
        Event::TopicCreated {
            topic,
            partitions,
            configs,
        } => ctx.note(format_args!(
            "{} topic '{topic}' on the cluster ({}{})",
            if dry_run { "would create" } else { "created" },
            plural(partitions as u64, "partition"),
            configs_note(&configs)
        )),
        Event::Started {
            topic,
            partition,
            from,
            end,
        } => {
            if dry_run {
                ctx.note(format_args!(
                    "would send {topic}-{partition}: offsets {from} to {end}"
                ));
            }
            bars.start(ctx, &topic, partition, from, end);
        }
        Event::Sent {
            topic,
            partition,
            next,
            end,
            bytes,
            ..
        } => bars.advance(&topic, partition, next, end, bytes),
        Event::NewProducerId { producer_id } => ctx.note(format_args!(
            "the cluster lost the producer's state: going on as producer {producer_id} (the \
             batches in flight may be written twice)"
        )),
        Event::GroupCommitted { .. } => {}
        Event::GroupSkipped {
            group,
            topic,
            partition,
            local,
            reason,
        } => ctx.note(format_args!(
            "warning: group '{group}': offset {local} of {topic}-{partition} not committed: \
             {reason}"
        )),
    }
}

fn print_summary(ctx: &Ctx, s: &PushSummary, started: Instant) {
    let topics: std::collections::BTreeSet<&str> =
        s.partitions.iter().map(|p| p.topic.as_str()).collect();
    if s.dry_run {
        let offsets: i64 = s
            .partitions
            .iter()
            .map(|p| p.to_offset - p.from_offset)
            .sum();
        ctx.note(format_args!(
            "would push up to {} from {} of {} to {} (nothing was changed)",
            plural(offsets.max(0) as u64, "offset"),
            plural(s.partitions.len() as u64, "partition"),
            plural(topics.len() as u64, "topic"),
            s.destination,
        ));
        return;
    }
    ctx.note(format_args!(
        "pushed {} ({}) from {} of {} to {} in {:.1} s{}",
        plural(s.records(), "record"),
        human_bytes(s.bytes()),
        plural(s.partitions.len() as u64, "partition"),
        plural(topics.len() as u64, "topic"),
        s.destination,
        started.elapsed().as_secs_f64(),
        if s.group_offsets_committed > 0 {
            format!(
                ", {} committed",
                plural(s.group_offsets_committed, "group offset")
            )
        } else {
            String::new()
        }
    ));
}
