//! `klog segments dump`: the targets to dump, and the walk through a `.log` file from
//! `--offset` for `--max-bytes`, entry by entry, down to damage or the end.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::batch::{dump_batch, dump_legacy};
use super::dump_json::{ErrorJson, TrailingJson, json_line};
use super::index::{dump_index, dump_snapshot, dump_time_index};
use super::{DumpArgs, Target, base_of, file_name, resolve};
use crate::cli::{Ctx, ExitCode};
use klog::format::batch::{BatchHeader, is_v2_magic};
use klog::storage::file_names;
use klog::storage::index::{self, FileSource};
use klog::storage::{ChunkReader, RawAt, list_segments};

pub(super) fn dump(ctx: &Ctx, a: DumpArgs) -> Result<ExitCode> {
    let mut targets = Vec::new();
    for item in &a.targets {
        targets.extend(resolve(ctx, item, &a.partitions)?);
    }
    let mut out = crate::cli::stdout();
    let mut logs_total = 0u64;
    for t in &targets {
        match t {
            Target::Dir(dir) => {
                for b in list_segments(dir)? {
                    logs_total +=
                        std::fs::metadata(file_names::log_file(dir, b)).map_or(0, |m| m.len());
                }
            }
            Target::Log(p) => logs_total += std::fs::metadata(p).map_or(0, |m| m.len()),
            _ => {}
        }
    }
    let bar = crate::cli::progress::bytes_bar(ctx, logs_total, "dumping", true);
    for t in targets {
        match t {
            Target::Dir(dir) => {
                for b in list_segments(&dir)? {
                    let path = file_names::log_file(&dir, b);
                    dump_log(&mut out, &path, &a)?;
                    bar.inc(std::fs::metadata(&path).map_or(0, |m| m.len()));
                }
            }
            Target::Log(p) => {
                dump_log(&mut out, &p, &a)?;
                bar.inc(std::fs::metadata(&p).map_or(0, |m| m.len()));
            }
            Target::Index(p) => dump_index(&mut out, &p, a.json)?,
            Target::TimeIndex(p) => dump_time_index(&mut out, &p, a.json)?,
            Target::Snapshot(p) => dump_snapshot(&mut out, &p, a.json)?,
        }
    }
    bar.finish_and_clear();
    out.flush()?;
    Ok(ExitCode::Success)
}

/// Where to start in a `.log` for `--offset`: the offset index entry at or below it.
fn start_position(path: &Path, base: i64, offset: Option<i64>) -> u64 {
    let Some(target) = offset else { return 0 };
    let idx = path.with_extension("index");
    let Ok(src) = FileSource::open(&idx) else {
        return 0;
    };
    let n = index::valid_entries(&src, index::OFFSET_ENTRY_SIZE);
    index::lookup_offset(&src, n, base, target).map_or(0, |e| e.position as u64)
}

fn dump_log(out: &mut impl Write, path: &Path, a: &DumpArgs) -> Result<()> {
    let base = base_of(path);
    let mut r = ChunkReader::open(path)?;
    let len = r.file_len()?;
    let mut pos = start_position(path, base, a.offset);
    // --max-bytes counts from the first batch shown (after --offset's skipping).
    let mut stop = len;
    let mut started = false;
    if !a.json {
        writeln!(out, "Dumping {}", path.display())?;
        writeln!(out, "Log starting offset: {base}")?;
    }
    let mut bufs = DumpBufs::default();
    while pos < stop {
        let size = match r.raw_at(pos, len)? {
            RawAt::End | RawAt::Incomplete { .. } => {
                trailing(out, path, pos, len - pos, a.json)?;
                break;
            }
            RawAt::BadFrame(e) => {
                if a.json {
                    let file = path.display().to_string();
                    let error = e.to_string();
                    json_line(
                        out,
                        &ErrorJson {
                            file,
                            position: pos,
                            error,
                        },
                    )?;
                } else {
                    writeln!(out, "Invalid entry at position {pos}: {e}")?;
                    writeln!(
                        out,
                        "Found {} invalid bytes at the end of {}",
                        len - pos,
                        file_name(path)
                    )?;
                }
                break;
            }
            RawAt::Entry { frame, bytes } => {
                let last = match frame.magic {
                    2 => BatchHeader::parse(bytes).map_or(i64::MAX, |h| h.last_offset()),
                    _ => frame.offset,
                };
                if a.offset.is_some_and(|o| last < o) {
                    pos += frame.size as u64;
                    continue;
                }
                if !started {
                    started = true;
                    stop = a.max_bytes.map_or(len, |m| len.min(pos.saturating_add(m)));
                    if pos >= stop {
                        break;
                    }
                }
                if is_v2_magic(frame.magic) {
                    dump_batch(out, path, pos, bytes, a, &mut bufs)?;
                } else {
                    dump_legacy(out, path, pos, bytes, a, &mut bufs)?;
                }
                frame.size as u64
            }
        };
        pos += size;
    }
    Ok(())
}

fn trailing(out: &mut impl Write, path: &Path, pos: u64, n: u64, json: bool) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    if json {
        let file = path.display().to_string();
        json_line(
            out,
            &TrailingJson {
                file,
                position: pos,
                invalid_bytes: n,
            },
        )?;
    } else {
        writeln!(
            out,
            "Found {n} invalid bytes at the end of {}",
            file_name(path)
        )?;
    }
    Ok(())
}

/// Buffers reused from entry to entry of a dump.
#[derive(Default)]
pub(super) struct DumpBufs {
    /// Decompressed records.
    pub(super) records: Vec<u8>,
    /// A JSON object being written around keys and values.
    pub(super) json: Vec<u8>,
}
