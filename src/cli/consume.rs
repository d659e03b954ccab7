//! `klog consume TOPIC`: print records, one value per line, from an offset to the end offsets
//! seen at start.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;

use super::{Ctx, ExitCode, UsageError};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog consume orders
  klog consume orders -o -10            # the last 10 records of each partition
  klog consume orders -p 0 -o 1200 -n 5
  klog consume orders | head -1")]
pub struct ConsumeArgs {
    /// Topic to read
    pub topic: String,
    /// Where to start: beginning, end, an offset N, or -N (N before the end of each partition)
    #[arg(short, long, value_name = "SPEC", allow_hyphen_values = true)]
    pub offset: Option<String>,
    /// Same as --offset beginning
    #[arg(long, conflicts_with = "offset")]
    pub from_beginning: bool,
    /// Read only this partition (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Stop after N records
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Print the key, SEP, then the value
    #[arg(short = 'K', long, value_name = "SEP")]
    pub key_separator: Option<String>,
}

/// A parsed `--offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartSpec {
    Beginning,
    End,
    Offset(i64),
    /// N records before the end of each partition.
    Last(i64),
}

pub fn parse_start(spec: &str) -> Result<StartSpec, UsageError> {
    match spec {
        "beginning" | "earliest" => Ok(StartSpec::Beginning),
        "end" | "latest" => Ok(StartSpec::End),
        s => {
            let bad = || {
                UsageError(format!(
                    "invalid offset '{s}': expected beginning, end, an offset N or -N"
                ))
            };
            if let Some(n) = s.strip_prefix('-') {
                n.parse::<u64>()
                    .ok()
                    .and_then(|n| i64::try_from(n).ok())
                    .map(StartSpec::Last)
                    .ok_or_else(bad)
            } else {
                s.parse::<u64>()
                    .ok()
                    .and_then(|n| i64::try_from(n).ok())
                    .map(StartSpec::Offset)
                    .ok_or_else(bad)
            }
        }
    }
}

pub fn run(ctx: &Ctx, a: ConsumeArgs) -> Result<ExitCode> {
    let start = match (&a.offset, a.from_beginning) {
        (Some(s), _) => parse_start(s)?,
        _ => StartSpec::Beginning,
    };
    let topic = ctx.topics().open(&a.topic)?;
    let partitions: Vec<u32> = if a.partitions.is_empty() {
        (0..topic.partitions).collect()
    } else {
        for &p in &a.partitions {
            if p >= topic.partitions {
                return Err(klog::Error::PartitionNotFound {
                    topic: topic.name.clone(),
                    partition: p,
                    partitions: topic.partitions,
                }
                .into());
            }
        }
        a.partitions.clone()
    };
    let sep = a.key_separator.as_deref().map(str::as_bytes);
    let mut out = super::stdout();
    let mut left = a.count.unwrap_or(u64::MAX);
    for p in partitions {
        if left == 0 {
            break;
        }
        let Some(mut reader) = topic.open_reader(p)? else {
            continue;
        };
        let name = format!("{}-{p}", topic.name);
        // Stop at the end offset seen now, like `cat`.
        let end = reader
            .log_end_offset()
            .with_context(|| format!("read {name}"))?;
        let log_start = reader.log_start_offset();
        let from = match start {
            StartSpec::Beginning => log_start,
            StartSpec::End => end,
            StartSpec::Offset(o) => o.max(log_start),
            StartSpec::Last(n) => (end - n).max(log_start),
        };
        if from >= end {
            continue;
        }
        reader.seek(from).with_context(|| format!("read {name}"))?;
        'batches: while let Some(b) = reader
            .next_batch()
            .with_context(|| format!("read {name}"))?
        {
            if b.batch.header.is_control() {
                continue;
            }
            let corrupt = |e: klog::format::DecodeError| {
                let source = e.shifted(b.position as usize);
                klog::Error::Corrupt {
                    path: klog::storage::file_names::log_file(
                        &topic.partition_dir(p),
                        b.segment_base,
                    ),
                    position: source.at() as u64,
                    source,
                }
            };
            for rec in b.batch.records().map_err(corrupt)? {
                let rec = rec.map_err(corrupt)?;
                let off = b.batch.offset_of(&rec);
                if off < from {
                    continue;
                }
                if off >= end || left == 0 {
                    break 'batches;
                }
                if let Some(sep) = sep {
                    out.write_all(rec.key.unwrap_or_default())?;
                    out.write_all(sep)?;
                }
                out.write_all(rec.value.unwrap_or_default())?;
                out.write_all(b"\n")?;
                left -= 1;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_specs() {
        assert_eq!(parse_start("beginning").unwrap(), StartSpec::Beginning);
        assert_eq!(parse_start("end").unwrap(), StartSpec::End);
        assert_eq!(parse_start("42").unwrap(), StartSpec::Offset(42));
        assert_eq!(parse_start("-3").unwrap(), StartSpec::Last(3));
        for bad in ["", "x", "-", "--3", "1.5", "99999999999999999999"] {
            assert!(parse_start(bad).is_err(), "{bad}");
        }
    }
}
