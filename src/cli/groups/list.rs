//! `klog groups list`: every group, klog's and a Kafka broker's, with its totals.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{AllGroups, ListArgs, with_source};
use crate::cli::output::{print_table, table};
use crate::cli::{Ctx, ExitCode};
use klog::group::Source;

#[derive(Serialize)]
struct GroupSummary {
    group: String,
    topics: Vec<String>,
    partitions: usize,
    members: usize,
    lag: i64,
    source: Source,
}

pub(super) fn list(ctx: &Ctx, a: ListArgs) -> Result<ExitCode> {
    let all = AllGroups::read(ctx)?;
    let mut rows = Vec::new();
    for (source, groups) in [(Source::Klog, &all.klog), (Source::Kafka, &all.kafka)] {
        for (g, names) in groups {
            let mut partitions = 0;
            let mut lag = 0;
            let mut members = std::collections::BTreeSet::new();
            for r in all.rows(ctx, g)?.iter().filter(|r| r.source == source) {
                if r.current_offset.is_some() {
                    partitions += 1;
                }
                lag += r.lag.unwrap_or(0);
                if let Some(pid) = r.member {
                    members.insert(pid);
                }
            }
            rows.push(GroupSummary {
                group: g.clone(),
                topics: names.clone(),
                partitions,
                members: members.len(),
                lag,
                source,
            });
        }
    }
    rows.sort_by(|a, b| (&a.group, a.source).cmp(&(&b.group, b.source)));
    let mut out = crate::cli::stdout();
    if a.json {
        crate::cli::output::print_json(&mut out, &rows)?;
    } else if rows.is_empty() {
        ctx.note("no consumer groups (consume with `--group G` to create one)");
    } else {
        let kafka = rows.iter().any(|r| r.source == Source::Kafka);
        let mut t = table(&with_source(
            vec!["GROUP", "TOPICS", "PARTITIONS", "MEMBERS", "LAG"],
            kafka,
        ));
        for r in &rows {
            let mut row = vec![
                r.group.clone(),
                r.topics.join(","),
                r.partitions.to_string(),
                r.members.to_string(),
                r.lag.to_string(),
            ];
            if kafka {
                row.push(r.source.name().to_string());
            }
            t.add_row(row);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}
