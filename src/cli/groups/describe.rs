//! `klog groups describe`: a group's offsets, lag and owning member per partition.

use std::io::Write;

use anyhow::Result;

use super::{AllGroups, DescribeArgs, opt, unknown_group, with_source};
use crate::cli::output::{print_table, table};
use crate::cli::{Ctx, ExitCode, UsageError};
use klog::group::{self, OutOfRange, Source};

pub(super) fn describe(ctx: &Ctx, a: DescribeArgs) -> Result<ExitCode> {
    group::validate_group_name(&a.group)?;
    let all = AllGroups::read(ctx)?;
    let mut rows = all.rows(ctx, &a.group)?;
    if rows.is_empty() && !all.names().contains(&a.group.as_str()) {
        return Err(unknown_group(&a.group, &all.names()));
    }
    if let Some(t) = &a.topic {
        rows.retain(|r| &r.topic == t);
        if rows.is_empty() {
            ctx.topics().open(t)?;
            return Err(
                UsageError(format!("group '{}' has no offsets in topic '{t}'", a.group)).into(),
            );
        }
    }
    let mut out = crate::cli::stdout();
    if a.json {
        crate::cli::output::print_json(&mut out, &rows)?;
    } else {
        let kafka = rows.iter().any(|r| r.source == Source::Kafka);
        let mut t = table(&with_source(
            vec![
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "MEMBER",
            ],
            kafka,
        ));
        for r in &rows {
            let current = match (r.current_offset, r.out_of_range) {
                (Some(c), Some(OutOfRange::PastLogEnd)) => format!("{c} (past log end)"),
                (Some(c), Some(OutOfRange::BelowLogStart)) => format!("{c} (below log start)"),
                (c, _) => opt(c),
            };
            let mut row = vec![
                r.group.clone(),
                r.topic.clone(),
                r.partition.to_string(),
                current,
                r.log_end_offset.to_string(),
                opt(r.lag),
                r.member
                    .map_or_else(|| "-".to_string(), |p| format!("pid {p}")),
            ];
            if kafka {
                row.push(r.source.name().to_string());
            }
            t.add_row(row);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    for r in &rows {
        if let (Some(c), Some(o)) = (r.current_offset, r.out_of_range) {
            let who = match r.source {
                Source::Klog => "the group's next member starts where its --reset says",
                Source::Kafka => {
                    "a Kafka consumer of the group starts where its auto.offset.reset says"
                }
            };
            ctx.note(format_args!(
                "warning: committed offset {c} of {}-{} is {}: {who} (earliest: {}, latest: {})",
                r.topic,
                r.partition,
                o.describe(r.log_start_offset, r.log_end_offset),
                r.log_start_offset,
                r.log_end_offset
            ));
        }
    }
    Ok(ExitCode::Success)
}
