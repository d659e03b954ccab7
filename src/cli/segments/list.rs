//! `klog segments list`: one row per segment.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

use super::ListArgs;
use crate::cli::output::{human_bytes, print_table, rfc3339_ms, table};
use crate::cli::{Ctx, ExitCode};
use klog::storage::{list_segments, summarize_segment};

#[derive(Serialize)]
struct SegmentRow {
    partition: u32,
    #[serde(flatten)]
    summary: klog::storage::SegmentSummary,
    active: bool,
}

pub(super) fn list(ctx: &Ctx, a: ListArgs) -> Result<ExitCode> {
    let topic = ctx.topics().open(&a.topic)?;
    let mut rows = Vec::new();
    for p in crate::cli::partitions_of(&topic, &a.partitions)? {
        let dir = topic.partition_dir(p);
        if !dir.is_dir() {
            continue;
        }
        let segs = list_segments(&dir)?;
        for (i, &b) in segs.iter().enumerate() {
            rows.push(SegmentRow {
                partition: p,
                summary: summarize_segment(&dir, b)
                    .with_context(|| format!("read {}", dir.display()))?,
                active: i + 1 == segs.len(),
            });
        }
    }
    let mut out = crate::cli::stdout();
    if a.json {
        crate::cli::output::print_json(&mut out, &rows)?;
    } else {
        let ts = |t: Option<i64>| t.map_or_else(|| "-".to_string(), rfc3339_ms);
        let mut t = table(&[
            "PARTITION",
            "BASE-OFFSET",
            "LAST-OFFSET",
            "RECORDS",
            "SIZE",
            "FIRST-TIMESTAMP",
            "LAST-TIMESTAMP",
            "INDEX",
            "STATE",
        ]);
        for r in &rows {
            let s = &r.summary;
            t.add_row(vec![
                r.partition.to_string(),
                s.base_offset.to_string(),
                s.last_offset
                    .map_or_else(|| "-".to_string(), |o| o.to_string()),
                s.records.to_string(),
                human_bytes(s.size_bytes),
                ts(s.first_timestamp),
                ts(s.last_timestamp),
                format!("{}/{}", s.index_entries, s.time_index_entries),
                if r.active { "active" } else { "closed" }.to_string(),
            ]);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}
