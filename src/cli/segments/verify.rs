//! `klog segments verify`: check partitions, repair them under `--repair`, and report.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Target, VerifyArgs, resolve};
use crate::cli::output::human_bytes;
use crate::cli::{Ctx, ExitCode};
use klog::storage::file_names;
use klog::storage::verify::{Repair, repair_partition, verify_partition};

#[derive(Serialize)]
struct VerifyJson {
    path: PathBuf,
    segments: usize,
    batches: u64,
    records: u64,
    bytes: u64,
    problems: Vec<klog::storage::verify::Problem>,
    repairs: Vec<Repair>,
}

pub(super) fn verify(ctx: &Ctx, a: VerifyArgs) -> Result<ExitCode> {
    let mut dirs = Vec::new();
    for item in &a.targets {
        for t in resolve(ctx, item, &a.partitions)? {
            match t {
                Target::Dir(d) => dirs.push(d),
                Target::Log(p) | Target::Index(p) | Target::TimeIndex(p) | Target::Snapshot(p) => {
                    dirs.push(
                        p.parent()
                            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                    )
                }
            }
        }
    }
    let mut damaged = false;
    let mut docs = Vec::new();
    let mut out = crate::cli::stdout();
    let bar = crate::cli::progress::bar(ctx, dirs.len() as u64, "verifying", false);
    for dir in dirs {
        bar.inc(1);
        bar.set_message(dir.display().to_string());
        if !dir.is_dir() {
            continue;
        }
        let before = verify_partition(&dir).with_context(|| format!("verify {}", dir.display()))?;
        let mut repairs = Vec::new();
        let mut after = None;
        if a.repair && !before.problems.is_empty() {
            // Rebuilt indexes use the topic's index.interval.bytes when the topic is known.
            let interval = dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(file_names::parse_partition_dir)
                .and_then(|(t, _)| ctx.topics().open(t).ok())
                .map_or(4096, |t| t.config.index_interval_bytes);
            // A partition given by path may be in a broker's directory: never under a live one.
            let _broker = match dir.parent() {
                Some(data_dir) => klog::storage::fs::hold_broker_lock(data_dir)?,
                None => None,
            };
            repairs = repair_partition(&dir, interval)
                .with_context(|| format!("repair {}", dir.display()))?;
            after = Some(verify_partition(&dir)?);
        }
        let remaining = after.as_ref().unwrap_or(&before);
        damaged |= !remaining.problems.is_empty();
        if a.json {
            docs.push(VerifyJson {
                path: dir.clone(),
                segments: before.segments,
                batches: before.batches,
                records: before.records,
                bytes: before.bytes,
                problems: before.problems.clone(),
                repairs,
            });
            continue;
        }
        print_verify(&mut out, &dir, &before, &repairs, after.as_ref())?;
    }
    bar.finish_and_clear();
    if a.json {
        crate::cli::output::print_json(&mut out, &docs)?;
    }
    out.flush()?;
    if damaged {
        if !a.repair {
            ctx.note("damage found; `--repair` cuts it without changing any offset");
        }
        return Ok(ExitCode::Damage);
    }
    Ok(ExitCode::Success)
}

/// One partition's `segments verify` report in text: counts and status, each problem, each
/// repair, and what is left after repairs.
fn print_verify(
    out: &mut impl Write,
    dir: &Path,
    before: &klog::storage::verify::Verification,
    repairs: &[Repair],
    after: Option<&klog::storage::verify::Verification>,
) -> Result<()> {
    let status = if before.problems.is_empty() {
        "ok".to_string()
    } else {
        format!(
            "{} problem{}",
            before.problems.len(),
            if before.problems.len() == 1 { "" } else { "s" }
        )
    };
    writeln!(
        out,
        "{}: {}, {}, {}, {}: {status}",
        dir.display(),
        crate::cli::plural(before.segments as u64, "segment"),
        crate::cli::plural_of(before.batches, "batch", "batches"),
        crate::cli::plural(before.records, "record"),
        human_bytes(before.bytes)
    )?;
    for p in &before.problems {
        writeln!(
            out,
            "  {}:{}: {}: {}",
            p.path.display(),
            p.position,
            serde_json::to_value(p.kind)?.as_str().unwrap_or("problem"),
            p.detail
        )?;
    }
    for r in repairs {
        match r {
            Repair::Removed {
                path,
                position,
                bytes,
            } => writeln!(
                out,
                "  repaired: removed {} at {}:{position}",
                crate::cli::plural(*bytes, "byte"),
                path.display()
            )?,
            Repair::Moved {
                from,
                position,
                bytes,
                to,
                first_offset,
                last_offset,
            } => writeln!(
                out,
                "  repaired: moved {} of valid batches (offsets {first_offset}..={last_offset}) from {}:{position} to {}",
                crate::cli::plural(*bytes, "byte"),
                from.display(),
                to.display()
            )?,
            Repair::RebuiltIndex { path } => {
                writeln!(out, "  repaired: rebuilt {}", path.display())?
            }
        }
    }
    if let Some(after) = after {
        if after.problems.is_empty() {
            writeln!(out, "  now clean")?;
        } else {
            writeln!(
                out,
                "  still {} after repair",
                crate::cli::plural(after.problems.len() as u64, "problem")
            )?;
        }
    }
    Ok(())
}
