//! `klog mirror pull|push`: arguments, progress bars, the summary. The work is
//! [`klog::mirror`]'s.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar};

use super::output::human_bytes;
use super::{Ctx, ExitCode, plural, progress};
use klog::mirror::pull::{self, PullOptions, PullSummary};
use klog::mirror::push::{self, PushOptions, PushSummary};

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets
    Pull(PullArgs),
    /// Copy local topics into a Kafka cluster, partition for partition, with their groups' offsets
    Push(PushArgs),
}

impl MirrorCommand {
    /// Whether the command writes to the data directory.
    pub fn writes(&self) -> bool {
        match self {
            MirrorCommand::Pull(a) => !a.dry_run,
            MirrorCommand::Push(a) => !a.dry_run,
        }
    }
}

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
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub max_partition_fetch_bytes: i32,
}

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
offset map, so that the group continues there where it stopped here.")]
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
}

pub fn run(ctx: &Ctx, c: MirrorCommand) -> Result<ExitCode> {
    match c {
        MirrorCommand::Pull(a) => run_pull(ctx, a),
        MirrorCommand::Push(a) => run_push(ctx, a),
    }
}

/// A flag set by Ctrl-C or SIGTERM, watched from the runtime.
fn stop_flag(rt: &tokio::runtime::Runtime) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    rt.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let terminated = async {
            match &mut term {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        flag.store(true, Ordering::Relaxed);
    });
    stop
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Progress bars, one per partition, on a terminal only.
struct Bars {
    multi: MultiProgress,
    bars: HashMap<(String, u32), ProgressBar>,
}

impl Bars {
    fn new() -> Bars {
        Bars {
            multi: MultiProgress::new(),
            bars: HashMap::new(),
        }
    }

    fn start(&mut self, ctx: &Ctx, topic: &str, partition: u32, from: i64, to: i64) {
        let bar = progress::bar(
            ctx,
            (to - from).max(0) as u64,
            &format!("{topic}-{partition}"),
            false,
        );
        let bar = self.multi.add(bar);
        self.bars.insert((topic.to_string(), partition), bar);
    }

    fn advance(&mut self, topic: &str, partition: u32, done: i64, total: i64, msg: String) {
        if let Some(b) = self.bars.get(&(topic.to_string(), partition)) {
            if total as u64 > b.length().unwrap_or(0) {
                b.set_length(total.max(0) as u64);
            }
            b.set_position(done.max(0) as u64);
            b.set_message(msg);
        }
    }

    fn finish(&self) {
        for b in self.bars.values() {
            b.finish_and_clear();
        }
    }
}

fn run_pull(ctx: &Ctx, a: PullArgs) -> Result<ExitCode> {
    let mut opts = PullOptions::new(a.from);
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
    let mut starts: HashMap<(String, u32), (i64, u64)> = HashMap::new();
    let dry_run = opts.dry_run;
    let result = rt.block_on(pull::pull(&topics, &opts, stop, &mut |e| match e {
        pull::Event::TopicCreated {
            topic,
            partitions,
            configs,
            skipped,
        } => {
            let configs: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            ctx.note(format_args!(
                "{} topic '{topic}' ({}{})",
                if dry_run { "would create" } else { "created" },
                plural(partitions as u64, "partition"),
                if configs.is_empty() {
                    String::new()
                } else {
                    format!(", {}", configs.join(", "))
                }
            ));
            if !skipped.is_empty() {
                ctx.note(format_args!(
                    "warning: configs of '{topic}' klog does not have, not copied: {}",
                    skipped.join(", ")
                ));
            }
        }
        pull::Event::Started {
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
            starts.insert((topic.clone(), partition), (local_end, 0));
            bars.start(ctx, &topic, partition, local_end, source_end);
        }
        pull::Event::LogStartMoved {
            topic,
            partition,
            local_end,
            source_start,
        } => ctx.note(format_args!(
            "{topic}-{partition}: the source's log start {source_start} is past the local end \
             {local_end}: the partition starts again at {source_start}"
        )),
        pull::Event::Truncated {
            topic,
            partition,
            from,
            to,
        } => ctx.note(format_args!(
            "{topic}-{partition}: diverged from the source: local log cut back from offset \
             {from} to {to}"
        )),
        pull::Event::Appended {
            topic,
            partition,
            local_end,
            source_end,
            bytes,
            ..
        } => {
            let s = starts.entry((topic.clone(), partition)).or_insert((0, 0));
            s.1 += bytes;
            let msg = format!(
                "{} lag {}",
                human_bytes(s.1),
                (source_end - local_end).max(0)
            );
            bars.advance(&topic, partition, local_end - s.0, source_end - s.0, msg);
        }
        pull::Event::Verified { .. } => {}
    }));
    bars.finish();
    let summary = result?;
    print_pull_summary(ctx, &summary, a.json, started)?;
    Ok(ExitCode::Success)
}

fn print_pull_summary(ctx: &Ctx, s: &PullSummary, json: bool, started: Instant) -> Result<()> {
    if json {
        let mut out = super::stdout();
        serde_json::to_writer(&mut out, s)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        std::io::Write::flush(&mut out)?;
        return Ok(());
    }
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
        return Ok(());
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
    Ok(())
}

fn run_push(ctx: &Ctx, a: PushArgs) -> Result<ExitCode> {
    let mut opts = PushOptions::new(a.to);
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
    let mut sent: HashMap<(String, u32), (i64, u64)> = HashMap::new();
    let dry_run = opts.dry_run;
    let result = rt.block_on(push::push(&topics, &opts, stop, &mut |e| match e {
        push::Event::TopicCreated {
            topic,
            partitions,
            configs,
        } => {
            let configs: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            ctx.note(format_args!(
                "{} topic '{topic}' on the cluster ({}{})",
                if dry_run { "would create" } else { "created" },
                plural(partitions as u64, "partition"),
                if configs.is_empty() {
                    String::new()
                } else {
                    format!(", {}", configs.join(", "))
                }
            ));
        }
        push::Event::Started {
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
            sent.insert((topic.clone(), partition), (from, 0));
            bars.start(ctx, &topic, partition, from, end);
        }
        push::Event::Sent {
            topic,
            partition,
            next,
            end,
            bytes,
            ..
        } => {
            let s = sent.entry((topic.clone(), partition)).or_insert((0, 0));
            s.1 += bytes;
            let msg = format!("{} lag {}", human_bytes(s.1), (end - next).max(0));
            bars.advance(&topic, partition, next - s.0, end - s.0, msg);
        }
        push::Event::NewProducerId { producer_id } => ctx.note(format_args!(
            "the cluster lost the producer's state: going on as producer {producer_id} (the \
             batches in flight may be written twice)"
        )),
        push::Event::GroupCommitted { .. } => {}
        push::Event::GroupSkipped {
            group,
            topic,
            partition,
            local,
            reason,
        } => ctx.note(format_args!(
            "warning: group '{group}': offset {local} of {topic}-{partition} not committed: \
             {reason}"
        )),
    }));
    bars.finish();
    let summary = result?;
    print_push_summary(ctx, &summary, a.json, started)?;
    Ok(ExitCode::Success)
}

fn print_push_summary(ctx: &Ctx, s: &PushSummary, json: bool, started: Instant) -> Result<()> {
    if json {
        let mut out = super::stdout();
        serde_json::to_writer(&mut out, s)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        std::io::Write::flush(&mut out)?;
        return Ok(());
    }
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
        return Ok(());
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
    Ok(())
}
