//! `klog groups reset`: move a group's committed offsets, as Kafka's
//! `kafka-consumer-groups --reset-offsets` does, while owning every affected partition.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{ResetArgs, opt};
use crate::cli::output::{print_table, table};
use crate::cli::timespec::{now_ms, parse_duration_ms, parse_iso_duration_ms, parse_time};
use crate::cli::{Ctx, ExitCode, Hint, UsageError};
use klog::group;
use klog::topic::Topic;

#[derive(Serialize)]
struct ResetRow {
    group: String,
    topic: String,
    partition: u32,
    old_offset: Option<i64>,
    new_offset: i64,
}

/// Where `groups reset` moves a group's offsets.
#[derive(Debug, Clone, Copy)]
enum ResetTo {
    Earliest,
    Latest,
    Offset(i64),
    /// The first record at or after this time (ms).
    Time(i64),
    ShiftBy(i64),
}

/// The target of `groups reset`, parsed before anything is touched (`None`: none given).
fn reset_target(a: &ResetArgs, now: i64) -> Result<Option<ResetTo>> {
    if let Some(o) = a.to_offset
        && o < 0
    {
        return Err(UsageError(format!(
            "invalid --to-offset {o}: an offset is never negative (--shift-by {o} moves the \
             group back by {})",
            crate::cli::plural(o.unsigned_abs(), "record")
        ))
        .into());
    }
    let to_time = a
        .to_time
        .as_deref()
        .map(|t| parse_time(t, now))
        .transpose()?;
    let by_duration = match &a.by_duration {
        Some(d) => {
            let ms = parse_iso_duration_ms(d)
                .or_else(|| parse_duration_ms(d))
                .ok_or_else(|| {
                    UsageError(format!(
                        "invalid --by-duration '{d}': expected an ISO 8601 duration such as \
                         PT1H, P1DT2H, PT0.5S (Kafka's PnDTnHnMnS), or 30m, 1h30m, 2d"
                    ))
                })?;
            Some(now.saturating_sub(ms))
        }
        None => None,
    };
    Ok(if a.to_earliest {
        Some(ResetTo::Earliest)
    } else if a.to_latest {
        Some(ResetTo::Latest)
    } else if let Some(o) = a.to_offset {
        Some(ResetTo::Offset(o))
    } else if let Some(t) = to_time.or(by_duration) {
        Some(ResetTo::Time(t))
    } else {
        a.shift_by.map(ResetTo::ShiftBy)
    })
}

/// The group's committed offset of a partition, and the offset `to` moves it to. Kafka's
/// kafka-consumer-groups moves an offset outside the log to its nearest end, with a note.
fn reset_offset(
    ctx: &Ctx,
    topic: &Topic,
    p: u32,
    group: &str,
    to: Option<ResetTo>,
) -> Result<(Option<i64>, i64)> {
    let (start, end, mut reader) = match topic.open_reader(p)? {
        Some(mut r) => (r.log_start_offset(), r.log_end_offset()?, Some(r)),
        None => (0, 0, None),
    };
    let old = group::committed(topic, p, group)?.map(|c| c.offset);
    let Some(to) = to else {
        return Err(UsageError("give a reset target".into()).into());
    };
    let new = match to {
        ResetTo::Earliest => start,
        ResetTo::Latest => end,
        ResetTo::Offset(o) if o > end => {
            ctx.note(format_args!(
                "offset {o} is past the log end of {}-{p}: using the log end offset {end}",
                topic.name
            ));
            end
        }
        ResetTo::Offset(o) if o < start => {
            ctx.note(format_args!(
                "offset {o} is below the log start of {}-{p}: using the log start offset \
                 {start}",
                topic.name
            ));
            start
        }
        ResetTo::Offset(o) => o,
        ResetTo::Time(t) => match reader.as_mut() {
            Some(r) => r.offset_for_timestamp(t)?.unwrap_or(end),
            None => end,
        },
        ResetTo::ShiftBy(n) => old.unwrap_or(start).saturating_add(n).clamp(start, end),
    };
    Ok((old, new))
}

pub(super) fn reset(ctx: &Ctx, a: ResetArgs) -> Result<ExitCode> {
    group::validate_group_name(&a.group)?;
    // Parse every target before touching anything.
    let target = reset_target(&a, now_ms())?;
    let topic = ctx.topics().open(&a.topic)?;
    let partitions = crate::cli::partitions_of(&topic, &a.partitions)?;
    let known = group::list_groups(&ctx.topics())?
        .iter()
        .any(|(g, _)| g == &a.group);
    // Own every affected partition for the duration of the reset: no member can start
    // reading from the old offsets meanwhile, and a live member makes the reset fail.
    let mut locks = Vec::new();
    for &p in &partitions {
        match group::try_own(&topic, p, &a.group)? {
            Some(l) => locks.push(l),
            None => {
                let pid = group::owner(&topic, p, &a.group)?.unwrap_or(0);
                return Err(anyhow::Error::new(Hint(format!(
                    "stop the consumer (pid {pid}) first, or reset other partitions with -p"
                )))
                .context(format!(
                    "partition {}-{p} is owned by a live member of group '{}' (pid {pid})",
                    topic.name, a.group
                )));
            }
        }
    }
    let mut rows = Vec::new();
    for &p in &partitions {
        let (old_offset, new_offset) = reset_offset(ctx, &topic, p, &a.group, target)?;
        rows.push(ResetRow {
            group: a.group.clone(),
            topic: topic.name.clone(),
            partition: p,
            old_offset,
            new_offset,
        });
    }
    if !a.dry_run {
        if !known {
            ctx.note(format_args!("group '{}' is new", a.group));
        }
        for r in &rows {
            group::commit(&topic, r.partition, &a.group, r.new_offset)
                .with_context(|| format!("commit {}-{}", topic.name, r.partition))?;
        }
    }
    drop(locks);
    print_reset(&rows, a.json)?;
    if a.dry_run {
        ctx.note("dry run: nothing changed");
    }
    Ok(ExitCode::Success)
}

/// The rows of `groups reset`: a table, or one JSON document.
fn print_reset(rows: &[ResetRow], json: bool) -> Result<()> {
    let mut out = crate::cli::stdout();
    if json {
        crate::cli::output::print_json(&mut out, &rows)?;
    } else {
        let mut t = table(&["GROUP", "TOPIC", "PARTITION", "OLD-OFFSET", "NEW-OFFSET"]);
        for r in rows {
            t.add_row(vec![
                r.group.clone(),
                r.topic.clone(),
                r.partition.to_string(),
                opt(r.old_offset),
                r.new_offset.to_string(),
            ]);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    Ok(())
}
