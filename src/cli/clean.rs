//! `klog trim` (move the log start offset, Kafka's delete-records) and `klog clean` (apply
//! retention and compaction now).

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;

use super::output::{human_bytes, print_table, table};
use super::timespec::{OffsetOrTime, now_ms, parse_offset_or_time};
use super::{Ctx, ExitCode, UsageError, plural};
use klog::storage::cleaner;
use klog::storage::retention::{self, DeletedSegment};

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

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog clean                     # every topic
  klog clean orders --dry-run    # what retention would delete now

Retention deletes closed segments past retention.ms or retention.bytes (cleanup.policy
delete); compaction keeps each key's latest record (cleanup.policy compact) and merges
consecutive segments while what is left of them fits segment.bytes, so that no run of small
or emptied segments remains. Partitions with nothing to do are not touched. Topics of a Kafka broker's directory get Kafka's configs:
__consumer_offsets and __transaction_state are compacted, never deleted by age or size.")]
pub struct CleanArgs {
    /// Topics to clean (default: all)
    pub topics: Vec<String>,
    /// Show what would be deleted without deleting anything
    #[arg(long)]
    pub dry_run: bool,
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
    let parts = super::partitions_of(&topic, &a.partitions)?;
    // Every partition is checked before any changes: an offset past one partition's log end
    // refuses the whole command, so that a typo never trims some partitions and not others.
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
    let mut rows = Vec::new();
    let bar = super::progress::bar(ctx, plan.len() as u64, "trimming", false);
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
    let mut out = super::stdout();
    if a.json {
        super::output::print_json(&mut out, &rows)?;
    } else {
        let mut t = table(&[
            "PARTITION",
            "OLD-LOG-START",
            "NEW-LOG-START",
            "SEGMENTS-DELETED",
        ]);
        for r in &rows {
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
    Ok(ExitCode::Success)
}

/// One thing `clean` did (or, with --dry-run, would do).
#[derive(Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum CleanRow {
    /// A segment deleted by retention or the log start offset.
    DeletedSegment {
        topic: String,
        partition: u32,
        #[serde(flatten)]
        segment: DeletedSegment,
    },
    /// A partition compacted.
    Compacted {
        topic: String,
        partition: u32,
        #[serde(flatten)]
        report: cleaner::CleanReport,
    },
}

pub fn clean(ctx: &Ctx, a: CleanArgs) -> Result<ExitCode> {
    let topics = ctx.topics();
    let names = if a.topics.is_empty() {
        topics.list_names()?
    } else {
        a.topics.clone()
    };
    let now = now_ms();
    let mut rows = Vec::new();
    let mut work = Vec::new();
    for name in names {
        let topic = topics.open(&name)?;
        for p in 0..topic.partitions {
            if topic.partition_dir(p).is_dir() {
                work.push((topic.clone(), p));
            }
        }
    }
    let bar = super::progress::bar(ctx, work.len() as u64, "cleaning", false);
    for (topic, p) in work {
        let dir = topic.partition_dir(p);
        bar.set_message(format!("{}-{p}", topic.name));
        let deleted = if a.dry_run {
            retention::due(&dir, &topic.config, now)?.1
        } else {
            retention::apply(&dir, &topic.config, now)
                .with_context(|| format!("clean {}-{p}", topic.name))?
        };
        let changed = !deleted.is_empty();
        rows.extend(deleted.into_iter().map(|segment| CleanRow::DeletedSegment {
            topic: topic.name.clone(),
            partition: p,
            segment,
        }));
        let mut compacted = false;
        if topic.config.cleanup_policy.compact {
            let report = cleaner::clean_partition(&dir, &topic.config, now, false, a.dry_run)
                .with_context(|| format!("compact {}-{p}", topic.name))?;
            if report.cleaned {
                compacted = true;
                rows.push(CleanRow::Compacted {
                    topic: topic.name.clone(),
                    partition: p,
                    report,
                });
            }
        }
        if !a.dry_run && (changed || compacted) {
            ctx.sync_checkpoints(&topic, &[p]);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut out = super::stdout();
    if a.json {
        super::output::print_json(&mut out, &rows)?;
    } else if rows.is_empty() {
        ctx.note("nothing to delete or compact");
    } else {
        let mut t = table(&["TOPIC", "PARTITION", "ACTION", "OFFSETS", "SIZE", "DETAIL"]);
        // A dry run says what would happen, not what did.
        let (deleted, compacted) = if a.dry_run {
            ("would delete segment", "would compact")
        } else {
            ("deleted segment", "compacted")
        };
        for r in &rows {
            match r {
                CleanRow::DeletedSegment {
                    topic,
                    partition,
                    segment,
                } => t.add_row(vec![
                    topic.clone(),
                    partition.to_string(),
                    format!(
                        "{deleted} {}",
                        klog::storage::file_names::offset_name(segment.base_offset)
                    ),
                    format!("{}..{}", segment.base_offset, segment.end_offset),
                    human_bytes(segment.size_bytes),
                    serde_json::to_value(segment.reason)?
                        .as_str()
                        .unwrap_or("")
                        .replace('_', "."),
                ]),
                CleanRow::Compacted {
                    topic,
                    partition,
                    report,
                } => t.add_row(vec![
                    topic.clone(),
                    partition.to_string(),
                    compacted.to_string(),
                    format!("{}..{}", report.first_dirty_offset, report.cleaned_up_to),
                    format!(
                        "{} -> {}",
                        human_bytes(report.bytes_before),
                        human_bytes(report.bytes_after)
                    ),
                    format!(
                        "dirty ratio {:.2}, {} {} ({})",
                        report.dirty_ratio,
                        plural(report.records_removed, "record"),
                        if a.dry_run { "to remove" } else { "removed" },
                        plural(report.tombstones_removed, "tombstone")
                    ),
                ]),
            };
        }
        print_table(&mut out, &mut t)?;
        out.flush()?;
        if a.dry_run {
            ctx.note("dry run: nothing changed");
        }
    }
    out.flush()?;
    Ok(ExitCode::Success)
}
