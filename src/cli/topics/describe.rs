//! `klog topics describe`: a topic's partitions (offsets, size, segments, timestamps) and
//! its configs with their sources.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{DescribeArgs, partition_stats};
use crate::cli::output::{human_bytes, print_table, rfc3339_ms, table};
use crate::cli::{Ctx, ExitCode};
use klog::storage::PartitionStats;
use klog::topic::{ConfigEntrySource, config_entries};

#[derive(Serialize)]
struct PartitionJson {
    partition: u32,
    #[serde(flatten)]
    stats: PartitionStats,
}

#[derive(Serialize)]
struct ConfigJson {
    name: &'static str,
    value: String,
    default: bool,
    /// `topic` (the topic's own override), `internal` (Kafka's config for its own topics,
    /// such as `__consumer_offsets`) or `default`.
    source: &'static str,
}

#[derive(Serialize)]
struct DescribeJson {
    name: String,
    partitions: Vec<PartitionJson>,
    configs: Vec<ConfigJson>,
}

pub(super) fn describe(ctx: &Ctx, a: DescribeArgs) -> Result<ExitCode> {
    let t = ctx.topics().open(&a.topic)?;
    let stats = partition_stats(&t)?;
    let doc = DescribeJson {
        name: t.name.clone(),
        partitions: stats
            .into_iter()
            .enumerate()
            .map(|(p, s)| PartitionJson {
                partition: p as u32,
                stats: s,
            })
            .collect(),
        configs: config_entries(&t.name, &t.configs)
            .into_iter()
            .map(|c| ConfigJson {
                name: c.name,
                value: c.value,
                default: c.source == ConfigEntrySource::Default,
                source: c.source.name(),
            })
            .collect(),
    };
    let mut out = crate::cli::stdout();
    if a.json {
        crate::cli::output::print_json(&mut out, &doc)?;
    } else {
        print_describe(&mut out, &doc)?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

/// `topics describe` in text: a title line, the partitions' table and the configs' table.
fn print_describe(out: &mut impl Write, doc: &DescribeJson) -> Result<()> {
    writeln!(
        out,
        "Topic: {}  Partitions: {}",
        doc.name,
        doc.partitions.len()
    )?;
    writeln!(out)?;
    let mut tb = table(&[
        "PARTITION",
        "LOG-START",
        "LOG-END",
        "RECORDS",
        "SIZE",
        "SEGMENTS",
        "FIRST-TIMESTAMP",
        "LAST-TIMESTAMP",
    ]);
    let ts = |t: Option<i64>| t.map_or_else(|| "-".to_string(), rfc3339_ms);
    for p in &doc.partitions {
        tb.add_row(vec![
            p.partition.to_string(),
            p.stats.log_start_offset.to_string(),
            p.stats.log_end_offset.to_string(),
            p.stats.records.to_string(),
            human_bytes(p.stats.size_bytes),
            p.stats.segments.to_string(),
            ts(p.stats.first_timestamp),
            ts(p.stats.last_timestamp),
        ]);
    }
    print_table(out, &mut tb)?;
    writeln!(out)?;
    let mut tb = table(&["CONFIG", "VALUE", "SOURCE"]);
    for c in &doc.configs {
        tb.add_row(vec![
            c.name.to_string(),
            c.value.clone(),
            c.source.to_string(),
        ]);
    }
    print_table(out, &mut tb)?;
    Ok(())
}
