//! `klog segments dump --json`: the objects written per entry, and writing them with
//! records whose keys and values are streamed a piece at a time.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::DumpArgs;
use super::batch::control_type;
use super::dump::DumpBufs;
use crate::cli::json::{write_bytes, write_str};
use klog::storage::{Entry, LogRecord};

/// `segments dump --json`: one object per v2 batch (the field names and their order are a
/// stable contract), with `records` after them under `--records`.
#[derive(Serialize)]
pub(super) struct BatchJson {
    pub(super) file: String,
    pub(super) position: u64,
    pub(super) base_offset: i64,
    pub(super) last_offset: i64,
    pub(super) count: i32,
    pub(super) size: usize,
    pub(super) magic: i8,
    pub(super) compression: &'static str,
    pub(super) crc: u32,
    pub(super) crc_valid: bool,
    pub(super) timestamp_type: &'static str,
    pub(super) base_timestamp: i64,
    pub(super) max_timestamp: i64,
    pub(super) producer_id: i64,
    pub(super) producer_epoch: i16,
    pub(super) base_sequence: i32,
    pub(super) last_sequence: i32,
    pub(super) partition_leader_epoch: i32,
    pub(super) is_transactional: bool,
    pub(super) is_control: bool,
    pub(super) delete_horizon_ms: Option<i64>,
}

/// `segments dump --json`: one object per legacy (magic 0 or 1) entry.
#[derive(Serialize)]
pub(super) struct LegacyJson {
    pub(super) file: String,
    pub(super) position: u64,
    pub(super) offset: i64,
    pub(super) size: usize,
    pub(super) magic: i8,
    pub(super) compression: &'static str,
    pub(super) crc: u32,
    pub(super) crc_valid: bool,
    pub(super) timestamp_type: &'static str,
    pub(super) timestamp: i64,
}

/// A record's fields before its key, value and headers, which are written by
/// [`klog::render::write_json_bytes`] a piece at a time.
#[derive(Serialize)]
pub(super) struct RecordJson {
    pub(super) offset: i64,
    pub(super) timestamp: i64,
}

/// After the headers of a control record.
#[derive(Serialize)]
pub(super) struct ControlJson {
    pub(super) control_type: i16,
    pub(super) control: &'static str,
}

/// An entry whose framing is bad: the dump of the file stops there.
#[derive(Serialize)]
pub(super) struct ErrorJson {
    pub(super) file: String,
    pub(super) position: u64,
    pub(super) error: String,
}

/// Bytes at the end of a file that hold no whole entry.
#[derive(Serialize)]
pub(super) struct TrailingJson {
    pub(super) file: String,
    pub(super) position: u64,
    pub(super) invalid_bytes: u64,
}

/// An offset index entry, checked against the log (`null` without a log).
#[derive(Serialize)]
pub(super) struct IndexJson {
    pub(super) file: String,
    pub(super) offset: i64,
    pub(super) position: u64,
    pub(super) matches_log: Option<bool>,
}

/// A time index entry.
#[derive(Serialize)]
pub(super) struct TimeIndexJson {
    pub(super) file: String,
    pub(super) timestamp: i64,
    pub(super) offset: i64,
    pub(super) in_order: bool,
}

/// Writes `v` as one JSON object and a newline.
pub(super) fn json_line(out: &mut impl Write, v: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Writes the object `v` without its closing brace, for more fields to follow; `buf` is
/// scratch space.
fn json_open(out: &mut impl Write, v: &impl Serialize, buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    serde_json::to_writer(&mut *buf, v)?;
    out.write_all(buf.strip_suffix(b"}").unwrap_or(buf))?;
    Ok(())
}

/// Writes the fields of the object `v` after others: a comma, then the fields.
fn json_more(out: &mut impl Write, v: &impl Serialize, buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    serde_json::to_writer(&mut *buf, v)?;
    out.write_all(b",")?;
    let fields = buf.strip_prefix(b"{").and_then(|f| f.strip_suffix(b"}"));
    out.write_all(fields.unwrap_or_default())?;
    Ok(())
}

/// One entry of `--json`: `head`, then under `--records` its records (none when the entry
/// does not decode; up to the first damaged one), then a newline.
pub(super) fn json_entry(
    out: &mut impl Write,
    head: &impl Serialize,
    entry: Option<Entry<'_>>,
    a: &DumpArgs,
    bufs: &mut DumpBufs,
) -> Result<()> {
    json_open(out, head, &mut bufs.json)?;
    if a.records {
        out.write_all(b",\"records\":[")?;
        if let Some(e) = entry
            && let Ok(records) = e.records_in(&mut bufs.records)
        {
            for (i, rec) in records.enumerate() {
                let Ok(rec) = rec else { break };
                if i > 0 {
                    out.write_all(b",")?;
                }
                json_record(out, &rec, &mut bufs.json)?;
            }
        }
        out.write_all(b"]")?;
    }
    out.write_all(b"}\n")?;
    Ok(())
}

/// One record of `--json --records`: keys and values (and header values) written a piece at
/// a time, in the JSON bytes shape.
fn json_record(out: &mut impl Write, rec: &LogRecord<'_>, buf: &mut Vec<u8>) -> Result<()> {
    let head = RecordJson {
        offset: rec.offset,
        timestamp: rec.timestamp,
    };
    json_open(out, &head, buf)?;
    out.write_all(b",\"key\":")?;
    write_bytes(out, rec.key)?;
    out.write_all(b",\"value\":")?;
    write_bytes(out, rec.value)?;
    out.write_all(b",\"headers\":[")?;
    for (j, hd) in rec.headers.iter().enumerate() {
        if j > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"[")?;
        write_str(out, &String::from_utf8_lossy(hd.key))?;
        out.write_all(b",")?;
        write_bytes(out, hd.value)?;
        out.write_all(b"]")?;
    }
    out.write_all(b"]")?;
    if rec.is_control
        && let Some(t) = control_type(rec)
    {
        let (control_type, control) = (t.id(), t.name());
        json_more(
            out,
            &ControlJson {
                control_type,
                control,
            },
            buf,
        )?;
    }
    out.write_all(b"}")?;
    Ok(())
}
