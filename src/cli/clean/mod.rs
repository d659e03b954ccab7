//! `klog trim` (move the log start offset, Kafka's delete-records) and `klog clean` (apply
//! retention and compaction now).
//!
//! `trim` is in [`trim`](mod@trim).

mod trim;

pub use trim::{TrimArgs, trim};

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;

use super::output::{human_bytes, print_table, table};
use super::timespec::now_ms;
use super::{Ctx, ExitCode, plural};
use klog::storage::cleaner;
use klog::storage::retention::{self, DeletedSegment};
use klog::topic::{Topic, Topics};

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
    let work = partitions_to_clean(&topics, names)?;
    let bar = super::progress::bar(ctx, work.len() as u64, "cleaning", false);
    for (topic, p) in work {
        bar.set_message(format!("{}-{p}", topic.name));
        clean_partition(ctx, &topic, p, now, a.dry_run, &mut rows)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    print_clean(ctx, &rows, a.dry_run, a.json)?;
    Ok(ExitCode::Success)
}

/// Every partition of these topics that has a directory.
fn partitions_to_clean(topics: &Topics, names: Vec<String>) -> Result<Vec<(Topic, u32)>> {
    let mut work = Vec::new();
    for name in names {
        let topic = topics.open(&name)?;
        for p in 0..topic.partitions {
            if topic.partition_dir(p).is_dir() {
                work.push((topic.clone(), p));
            }
        }
    }
    Ok(work)
}

/// Retention, then compaction (under `cleanup.policy` compact) of one partition, or under
/// `dry_run` what they would do; each thing done is added to `rows`.
fn clean_partition(
    ctx: &Ctx,
    topic: &Topic,
    p: u32,
    now: i64,
    dry_run: bool,
    rows: &mut Vec<CleanRow>,
) -> Result<()> {
    let dir = topic.partition_dir(p);
    let deleted = if dry_run {
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
        let report = cleaner::clean_partition(&dir, &topic.config, now, false, dry_run)
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
    if !dry_run && (changed || compacted) {
        ctx.sync_checkpoints(topic, &[p]);
    }
    Ok(())
}

/// What `clean` did: one JSON document, a table, or a note that there was nothing to do.
fn print_clean(ctx: &Ctx, rows: &[CleanRow], dry_run: bool, json: bool) -> Result<()> {
    let mut out = super::stdout();
    if json {
        super::output::print_json(&mut out, &rows)?;
    } else if rows.is_empty() {
        ctx.note("nothing to delete or compact");
    } else {
        let mut t = table(&["TOPIC", "PARTITION", "ACTION", "OFFSETS", "SIZE", "DETAIL"]);
        for r in rows {
            t.add_row(table_row(r, dry_run)?);
        }
        print_table(&mut out, &mut t)?;
        out.flush()?;
        if dry_run {
            ctx.note("dry run: nothing changed");
        }
    }
    out.flush()?;
    Ok(())
}

/// One row of `clean`'s table. A dry run says what would happen, not what did.
fn table_row(r: &CleanRow, dry_run: bool) -> Result<Vec<String>> {
    let (deleted, compacted) = if dry_run {
        ("would delete segment", "would compact")
    } else {
        ("deleted segment", "compacted")
    };
    Ok(match r {
        CleanRow::DeletedSegment {
            topic,
            partition,
            segment,
        } => vec![
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
        ],
        CleanRow::Compacted {
            topic,
            partition,
            report,
        } => vec![
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
                if dry_run { "to remove" } else { "removed" },
                plural(report.tombstones_removed, "tombstone")
            ),
        ],
    })
}
