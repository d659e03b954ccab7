//! `klog segments dump` of the files beside a log: the offset index (checked against the
//! log), the time index (checked for order) and a producer state snapshot.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::dump_json::{IndexJson, TimeIndexJson, json_line};
use super::{base_of, file_name};
use klog::format::producer_snapshot;
use klog::storage::ChunkReader;
use klog::storage::index::{self, FileSource};

pub(super) fn dump_snapshot(out: &mut impl Write, path: &Path, json: bool) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let entries = producer_snapshot::decode(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if !json {
        writeln!(out, "Dumping {}", path.display())?;
    }
    for e in entries {
        if json {
            serde_json::to_writer(&mut *out, &e)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "producerId: {} producerEpoch: {} coordinatorEpoch: {} currentTxnFirstOffset: {} \
                 lastTimestamp: {} firstSequence: {} lastSequence: {} lastOffset: {} \
                 offsetDelta: {} timestamp: {}",
                e.producer_id,
                e.producer_epoch,
                e.coordinator_epoch,
                if e.current_txn_first_offset < 0 {
                    "None".to_string()
                } else {
                    e.current_txn_first_offset.to_string()
                },
                e.timestamp,
                e.last_sequence.wrapping_sub(e.offset_delta),
                e.last_sequence,
                e.last_offset,
                e.offset_delta,
                e.timestamp
            )?;
        }
    }
    Ok(())
}

pub(super) fn dump_index(out: &mut impl Write, path: &Path, json: bool) -> Result<()> {
    let base = base_of(path);
    let src = FileSource::open(path).with_context(|| format!("open {}", path.display()))?;
    let entries = index::offset_entries(&src, base);
    let log_path = path.with_extension("log");
    let mut log = ChunkReader::open(&log_path).ok();
    if !json {
        writeln!(out, "Dumping {}", path.display())?;
        if entries.is_empty() {
            writeln!(out, "{} is empty.", file_name(path))?;
        }
    }
    let mut mismatches = 0;
    for e in &entries {
        // Check the entry against the log: the batch at its position must end at its offset.
        let found = log
            .as_mut()
            .and_then(|r| r.header_at(e.position as u64))
            .map(|h| h.last_offset());
        let ok = log.is_none() || found == Some(e.offset);
        if !ok {
            mismatches += 1;
        }
        if json {
            let entry = IndexJson {
                file: path.display().to_string(),
                offset: e.offset,
                position: e.position.into(),
                matches_log: log.is_some().then_some(ok),
            };
            json_line(out, &entry)?;
        } else if ok {
            writeln!(out, "offset: {} position: {}", e.offset, e.position)?;
        } else {
            writeln!(
                out,
                "offset: {} position: {}  MISMATCH: the log has {} there",
                e.offset,
                e.position,
                found.map_or_else(
                    || "no batch".to_string(),
                    |o| format!("a batch ending at offset {o}")
                )
            )?;
        }
    }
    if !json && mismatches > 0 {
        writeln!(
            out,
            "{} {} not match {}",
            crate::cli::plural_of(mismatches as u64, "entry", "entries"),
            if mismatches == 1 { "does" } else { "do" },
            file_name(&log_path)
        )?;
    }
    Ok(())
}

pub(super) fn dump_time_index(out: &mut impl Write, path: &Path, json: bool) -> Result<()> {
    let base = base_of(path);
    let src = FileSource::open(path).with_context(|| format!("open {}", path.display()))?;
    let entries = index::time_entries(&src, base);
    if !json {
        writeln!(out, "Dumping {}", path.display())?;
        if entries.is_empty() {
            writeln!(out, "{} is empty.", file_name(path))?;
        }
    }
    let mut prev = i64::MIN;
    for e in &entries {
        let in_order = e.timestamp >= prev;
        prev = prev.max(e.timestamp);
        if json {
            let entry = TimeIndexJson {
                file: path.display().to_string(),
                timestamp: e.timestamp,
                offset: e.offset,
                in_order,
            };
            json_line(out, &entry)?;
        } else {
            writeln!(
                out,
                "timestamp: {} offset: {}{}",
                e.timestamp,
                e.offset,
                if in_order { "" } else { "  OUT OF ORDER" }
            )?;
        }
    }
    Ok(())
}
