//! `klog trim`: move the log start offset of a topic's partitions (Kafka's delete-records).

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;

use crate::cli::output::{print_table, table};
use crate::cli::timespec::{OffsetOrTime, now_ms, parse_offset_or_time};
use crate::cli::{Ctx, ExitCode, UsageError};
use klog::storage::retention::DeletedSegment;
use klog::topic::Topic;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog trim orders --before 120000           # offsets below 120000 are gone for readers
  klog trim orders --before @-7d -p 0        # everything older than a week in partition 0
Every partition is checked first: an OFFSET past a partition's log end offset refuses the
whole command and nothing is trimmed (give -p to trim only some partitions). With @TIME each
partition moves to its first record at or after TIME, or to its log end offset when it has
none. Consumer groups whose committed offset is below the new log start resume at it, with a
warning.")]
pub struct TrimArgs {
    /// Topic name
    pub topic: String,
    /// New log start offset: an offset, or @TIME (the first record at or after TIME)
    #[arg(long, value_name = "OFFSET|@TIME", allow_hyphen_values = true)]
    pub before: String,
    /// Only this partition (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct TrimRow {
    partition: u32,
    old_log_start_offset: i64,
    new_log_start_offset: i64,
    deleted_segments: Vec<DeletedSegment>,
}

pub fn trim(ctx: &Ctx, a: TrimArgs) -> Result<ExitCode> {
    let spec = a.before.trim();
    let target = parse_offset_or_time(spec, now_ms(), || {
        UsageError(format!(
            "invalid --before '{spec}': expected an offset or @TIME"
        ))
    })?;
    let topic = ctx.topics().open(&a.topic)?;
    let parts = crate::cli::partitions_of(&topic, &a.partitions)?;
    let plan = plan(&topic, parts, target)?;
    let mut rows = Vec::new();
    let bar = crate::cli::progress::bar(ctx, plan.len() as u64, "trimming", false);
    for (p, old, offset) in plan {
        bar.inc(1);
        let mut log = topic.open_log(p)?;
        let deleted = log
            .trim(offset)
            .with_context(|| format!("trim {}-{p}", topic.name))?;
        rows.push(TrimRow {
            partition: p,
            old_log_start_offset: old,
            new_log_start_offset: log.log_start_offset()?,
            deleted_segments: deleted,
        });
    }
    bar.finish_and_clear();
    let trimmed: Vec<u32> = rows.iter().map(|r| r.partition).collect();
    ctx.sync_checkpoints(&topic, &trimmed);
    print_trim(&rows, a.json)?;
    Ok(ExitCode::Success)
}

/// Each partition's log start offset and the offset it moves to, `(partition, old, new)`.
/// Every partition is checked before any changes: an offset past one partition's log end
/// refuses the whole command, so that a typo never trims some partitions and not others.
fn plan(topic: &Topic, parts: Vec<u32>, target: OffsetOrTime) -> Result<Vec<(u32, i64, i64)>> {
    let mut plan = Vec::new();
    let mut past_end = Vec::new();
    for p in parts {
        let Some(mut reader) = topic.open_reader(p)? else {
            continue;
        };
        let old = reader.log_start_offset();
        let end = reader.log_end_offset()?;
        let offset = match target {
            OffsetOrTime::Offset(o) => o,
            OffsetOrTime::Time(t) => reader.offset_for_timestamp(t)?.unwrap_or(end),
        };
        if offset > end {
            past_end.push(format!("{}-{p} ends at {end}", topic.name));
        }
        plan.push((p, old, offset));
    }
    if !past_end.is_empty() {
        let offset = match target {
            OffsetOrTime::Offset(o) => o,
            OffsetOrTime::Time(_) => 0,
        };
        return Err(UsageError(format!(
            "offset {offset} is past the log end offset of {} partition{} ({}); nothing was \
             trimmed (-p N trims only the partitions named)",
            past_end.len(),
            if past_end.len() == 1 { "" } else { "s" },
            past_end.join(", ")
        ))
        .into());
    }
    Ok(plan)
}

/// The rows of `trim`: a table, or one JSON document.
fn print_trim(rows: &[TrimRow], json: bool) -> Result<()> {
    let mut out = crate::cli::stdout();
    if json {
        crate::cli::output::print_json(&mut out, &rows)?;
    } else {
        let mut t = table(&[
            "PARTITION",
            "OLD-LOG-START",
            "NEW-LOG-START",
            "SEGMENTS-DELETED",
        ]);
        for r in rows {
            t.add_row(vec![
                r.partition.to_string(),
                r.old_log_start_offset.to_string(),
                r.new_log_start_offset.to_string(),
                r.deleted_segments.len().to_string(),
            ]);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    Ok(())
}
