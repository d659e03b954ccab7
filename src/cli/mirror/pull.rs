//! `klog mirror pull`: its arguments, notes and summary.

use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::{Bars, SecurityArgs, configs_note, print_json, runtime, stop_flag};
use crate::cli::output::human_bytes;
use crate::cli::{Ctx, ExitCode, plural};
use klog::mirror::pull::{self, Event, PullOptions, PullSummary};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog mirror pull --from kafka:9092 orders            # copy one topic here
  klog mirror pull --from kafka:9092 --all -f          # every topic, and keep following
  klog mirror pull --from 10.0.0.5:9092 --all --verify # then check each last batch
  klog mirror pull --from kafka:9092 --all --dry-run   # what would be created and copied

A follower replica: each partition is fetched from its leader and every batch is appended as
it is, at the source's offsets, so the local log is an exact copy (same bytes, same CRCs,
compaction gaps included). Missing topics are created with the source's partition count and
topic configs. A pull resumes from the local log end after any stop or crash.

When the source's log start has moved past the local end (retention), the partition starts
again at the source's log start (reported). When the source has diverged (its log is shorter
than the local one, or the batch at the local end differs), the pull stops naming the
partition and both offsets; --truncate-on-divergence cuts the local log back to the last batch
both have instead.

One summary line on stderr at the end (--json: a JSON summary on stdout); progress bars per
partition when stderr is a terminal.")]
pub struct PullArgs {
    /// Broker to pull from (repeatable or comma-separated: several bootstrap brokers)
    #[arg(long, value_name = "HOST:PORT", required = true, value_delimiter = ',')]
    pub from: Vec<String>,
    /// Topics to pull
    #[arg(value_name = "TOPIC", required_unless_present = "all")]
    pub topics: Vec<String>,
    /// Pull every topic of the source (not its internal ones)
    #[arg(long, conflicts_with = "topics")]
    pub all: bool,
    /// Keep following the source until Ctrl-C or SIGTERM
    #[arg(short, long)]
    pub follow: bool,
    /// On divergence, cut the local log back to the last batch the source has too
    #[arg(long)]
    pub truncate_on_divergence: bool,
    /// After copying, check each partition's last batch against the source's
    #[arg(long)]
    pub verify: bool,
    /// Print what would be created and copied; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Most bytes fetched per partition per request (Kafka's max.partition.fetch.bytes)
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub max_partition_fetch_bytes: i32,
    #[command(flatten)]
    pub security: SecurityArgs,
}

pub fn run(ctx: &Ctx, a: PullArgs) -> Result<ExitCode> {
    let mut opts = PullOptions::new(a.from);
    opts.security = a.security.security(ctx)?;
    opts.topics = a.topics;
    opts.all = a.all;
    opts.follow = a.follow;
    opts.truncate_on_divergence = a.truncate_on_divergence;
    opts.verify = a.verify;
    opts.dry_run = a.dry_run;
    opts.partition_max_bytes = a.max_partition_fetch_bytes;
    let topics = ctx.topics();
    let rt = runtime()?;
    let stop = stop_flag(&rt);
    let started = Instant::now();
    let mut bars = Bars::new();
    let result = rt.block_on(pull::pull(&topics, &opts, stop, &mut |e| {
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
            skipped,
        } => {
            ctx.note(format_args!(
                "{} topic '{topic}' ({}{})",
                if dry_run { "would create" } else { "created" },
                plural(partitions as u64, "partition"),
                configs_note(&configs)
            ));
            if !skipped.is_empty() {
                ctx.note(format_args!(
                    "warning: configs of '{topic}' klog does not have, not copied: {}",
                    skipped.join(", ")
                ));
            }
        }
        Event::Started {
            topic,
            partition,
            local_end,
            source_end,
        } => {
            if dry_run {
                ctx.note(format_args!(
                    "would copy {topic}-{partition}: offsets {local_end} to {source_end}"
                ));
            }
            bars.start(ctx, &topic, partition, local_end, source_end);
        }
        Event::LogStartMoved {
            topic,
            partition,
            local_end,
            source_start,
        } => ctx.note(format_args!(
            "{topic}-{partition}: the source's log start {source_start} is past the local end \
             {local_end}: the partition starts again at {source_start}"
        )),
        Event::Truncated {
            topic,
            partition,
            from,
            to,
        } => ctx.note(format_args!(
            "{topic}-{partition}: diverged from the source: local log cut back from offset \
             {from} to {to}"
        )),
        Event::Appended {
            topic,
            partition,
            local_end,
            source_end,
            bytes,
            ..
        } => bars.advance(&topic, partition, local_end, source_end, bytes),
        Event::Verified { .. } => {}
    }
}

fn print_summary(ctx: &Ctx, s: &PullSummary, started: Instant) {
    let topics: std::collections::BTreeSet<&str> =
        s.partitions.iter().map(|p| p.topic.as_str()).collect();
    let verified = s.partitions.iter().filter(|p| p.verified).count();
    if s.dry_run {
        let offsets: i64 = s
            .partitions
            .iter()
            .map(|p| p.to_offset - p.from_offset)
            .sum();
        ctx.note(format_args!(
            "would pull up to {} into {} of {} from {} (nothing was changed)",
            plural(offsets.max(0) as u64, "offset"),
            plural(s.partitions.len() as u64, "partition"),
            plural(topics.len() as u64, "topic"),
            s.source,
        ));
        return;
    }
    ctx.note(format_args!(
        "pulled {} ({}) into {} of {} from {} in {:.1} s{}",
        plural(s.records(), "record"),
        human_bytes(s.bytes()),
        plural(s.partitions.len() as u64, "partition"),
        plural(topics.len() as u64, "topic"),
        s.source,
        started.elapsed().as_secs_f64(),
        if verified > 0 {
            format!(", last batches verified in {verified}")
        } else {
            String::new()
        }
    ));
}
