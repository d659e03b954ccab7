//! `klog topics list`: every topic with its size, record count, retention and cleanup
//! policy.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{ListArgs, partition_stats};
use crate::cli::output::{human_bytes, human_ms, print_table, table};
use crate::cli::{Ctx, ExitCode};
use klog::topic::Topic;

#[derive(Serialize)]
struct TopicSummary {
    name: String,
    partitions: u32,
    /// Records there are (not log end - log start: compaction leaves gaps).
    records: u64,
    size_bytes: u64,
    retention_ms: i64,
    retention_bytes: i64,
    cleanup_policy: String,
}

fn cleanup_policy(t: &Topic) -> String {
    let p = t.config.cleanup_policy;
    match (p.compact, p.delete) {
        (true, true) => "compact,delete",
        (true, false) => "compact",
        _ => "delete",
    }
    .to_string()
}

/// The RETENTION column: both of a topic's limits, `retention.ms` and `retention.bytes`
/// (segments go when either is passed), or `unlimited` when it has neither.
fn retention(ms: i64, bytes: i64) -> String {
    match (ms >= 0, u64::try_from(bytes)) {
        (false, Err(_)) => "unlimited".to_string(),
        (true, Err(_)) => human_ms(ms),
        (false, Ok(b)) => human_bytes(b),
        (true, Ok(b)) => format!("{}, {}", human_ms(ms), human_bytes(b)),
    }
}

pub(super) fn list(ctx: &Ctx, a: ListArgs) -> Result<ExitCode> {
    let topics = ctx.topics();
    let mut rows = Vec::new();
    for name in topics.list_names()? {
        let t = topics.open(&name)?;
        let stats = partition_stats(&t)?;
        rows.push(TopicSummary {
            name: t.name.clone(),
            partitions: t.partitions,
            records: stats.iter().map(|s| s.records).sum(),
            size_bytes: stats.iter().map(|s| s.size_bytes).sum(),
            retention_ms: t.config.retention_ms,
            retention_bytes: t.config.retention_bytes,
            cleanup_policy: cleanup_policy(&t),
        });
    }
    let mut out = crate::cli::stdout();
    if a.json {
        crate::cli::output::print_json(&mut out, &rows)?;
    } else if rows.is_empty() {
        ctx.note(format_args!(
            "no topics in {} (create one with `klog topics create NAME`)",
            ctx.dir.display()
        ));
    } else {
        let mut t = table(&[
            "TOPIC",
            "PARTITIONS",
            "RECORDS",
            "SIZE",
            "RETENTION",
            "CLEANUP",
        ]);
        for r in &rows {
            t.add_row(vec![
                r.name.clone(),
                r.partitions.to_string(),
                r.records.to_string(),
                human_bytes(r.size_bytes),
                retention(r.retention_ms, r.retention_bytes),
                r.cleanup_policy.clone(),
            ]);
        }
        print_table(&mut out, &mut t)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}
