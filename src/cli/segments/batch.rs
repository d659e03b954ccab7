//! `klog segments dump` of one log entry: a v2 batch or a legacy (magic 0/1) message, as
//! Kafka's `kafka-dump-log` prints it (and its records under `--records`), or as JSON.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::DumpArgs;
use super::dump::DumpBufs;
use super::dump_json::{BatchJson, LegacyJson, json_entry};
use crate::cli::output::{escape_bytes, write_escaped};
use klog::format::batch::{BatchHeader, RECORD_BATCH_OVERHEAD};
use klog::format::control::{ControlRecordType, EndTransactionMarker};
use klog::format::group_metadata;
use klog::format::legacy::LegacyMessage;
use klog::format::{Compression, RecordBatch, TimestampType};
use klog::storage::{Entry, LogRecord};

/// One v2 batch: its header line (or JSON object), then its records under `--records`.
pub(super) fn dump_batch(
    out: &mut impl Write,
    path: &Path,
    pos: u64,
    bytes: &[u8],
    a: &DumpArgs,
    bufs: &mut DumpBufs,
) -> Result<()> {
    let Ok(h) = BatchHeader::parse(bytes) else {
        writeln!(
            out,
            "Invalid batch at position {pos}: shorter than {RECORD_BATCH_OVERHEAD} bytes"
        )?;
        return Ok(());
    };
    // Decoding checks the CRC (and the rest of the framing) once, for `isvalid` and the records.
    let decoded = RecordBatch::decode(bytes);
    let valid = decoded.is_ok();
    if a.json {
        let head = batch_json(path, pos, &h, valid);
        return json_entry(out, &head, decoded.ok().map(Entry::Batch), a, bufs);
    }
    batch_line(out, pos, &h, valid)?;
    let Some(b) = decoded.ok().filter(|_| a.records) else {
        if a.records && !valid {
            writeln!(out, "| (records not shown: the batch is not valid)")?;
        }
        return Ok(());
    };
    text_records(out, path, pos, &Entry::Batch(b), a, bufs)
}

/// A v2 batch's header as `--json` shows it; `valid`: whether the batch decodes (CRC and
/// framing).
fn batch_json(path: &Path, pos: u64, h: &BatchHeader, valid: bool) -> BatchJson {
    BatchJson {
        file: path.display().to_string(),
        position: pos,
        base_offset: h.base_offset,
        last_offset: h.last_offset(),
        count: h.records_count,
        size: h.size(),
        magic: 2,
        compression: h.compression().map_or("invalid", Compression::name),
        crc: h.crc,
        crc_valid: valid,
        timestamp_type: h.timestamp_type().name(),
        base_timestamp: h.base_timestamp,
        max_timestamp: h.max_timestamp,
        producer_id: h.producer_id,
        producer_epoch: h.producer_epoch,
        base_sequence: h.base_sequence,
        last_sequence: h.last_sequence(),
        partition_leader_epoch: h.partition_leader_epoch,
        is_transactional: h.is_transactional(),
        is_control: h.is_control(),
        delete_horizon_ms: h.delete_horizon_ms(),
    }
}

/// A v2 batch's header line, as Kafka's `kafka-dump-log` prints it.
fn batch_line(out: &mut impl Write, pos: u64, h: &BatchHeader, valid: bool) -> Result<()> {
    let codec = h.compression().map_or("invalid", Compression::name);
    let ts_type = h.timestamp_type().name();
    writeln!(
        out,
        "baseOffset: {:<10} lastOffset: {:<10} count: {:<6} position: {:<10} {ts_type}: {:<13} \
         size: {:<8} magic: 2 compresscodec: {:<6} crc: {:<10} isvalid: {:<5} \
         baseSequence: {} lastSequence: {} producerId: {} producerEpoch: {} \
         partitionLeaderEpoch: {} isTransactional: {} isControl: {} deleteHorizonMs: {}",
        h.base_offset,
        h.last_offset(),
        h.records_count,
        pos,
        h.max_timestamp,
        h.size(),
        codec,
        h.crc,
        valid,
        h.base_sequence,
        h.last_sequence(),
        h.producer_id,
        h.producer_epoch,
        h.partition_leader_epoch,
        h.is_transactional(),
        h.is_control(),
        h.delete_horizon_ms().map_or_else(
            || "OptionalLong.empty".to_string(),
            |t| format!("OptionalLong[{t}]")
        ),
    )?;
    Ok(())
}

/// The records of an entry in `--print-data-log` text, one line each. The lines of a v2
/// batch's records add the sequence number and header keys, and control records show their
/// type; damage in a v2 batch's records is shown where it is (a legacy entry whose records
/// do not decode shows none, as Kafka's tool does).
fn text_records(
    out: &mut impl Write,
    path: &Path,
    pos: u64,
    entry: &Entry<'_>,
    a: &DumpArgs,
    bufs: &mut DumpBufs,
) -> Result<()> {
    let v2 = entry.as_batch().map(|b| b.header);
    let records = match entry.records_in(&mut bufs.records) {
        Ok(r) => r,
        Err(e) if v2.is_some() => {
            writeln!(out, "| (records not readable: {})", e.shifted(pos as usize))?;
            return Ok(());
        }
        Err(_) => return Ok(()),
    };
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                writeln!(out, "| (record not readable: {})", e.shifted(pos as usize))?;
                break;
            }
        };
        write!(
            out,
            "| offset: {:<10} {}: {:<13} keySize: {:<4} valueSize: {:<6}",
            rec.offset,
            rec.timestamp_type_name(),
            rec.timestamp,
            rec.key.map_or(-1, |k| k.len() as i64),
            rec.value.map_or(-1, |v| v.len() as i64),
        )?;
        let Some(h) = &v2 else {
            key_payload(out, path, a, rec.key, rec.value)?;
            writeln!(out)?;
            continue;
        };
        // Offsets of a valid batch are its base offset plus the record's offset delta.
        let seq = if h.base_sequence < 0 {
            -1
        } else {
            h.base_sequence
                .wrapping_add((rec.offset - h.base_offset) as i32)
        };
        let keys: Vec<String> = rec.headers.iter().map(|x| escape_bytes(x.key)).collect();
        write!(out, " sequence: {} headerKeys: [{}]", seq, keys.join(","))?;
        if h.is_control() {
            let t = control_type(&rec);
            match t.and_then(|t| EndTransactionMarker::parse(t, rec.value.unwrap_or(&[]))) {
                Some(m) => {
                    let (name, epoch) = (m.control_type.name(), m.coordinator_epoch.unwrap_or(-1));
                    write!(out, " endTxnMarker: {name} coordinatorEpoch: {epoch}")?;
                }
                None => {
                    if let Some(t) = t {
                        write!(out, " controlType: {}({})", t.name(), t.id())?;
                    }
                }
            }
        } else {
            key_payload(out, path, a, rec.key, rec.value)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

pub(super) fn dump_legacy(
    out: &mut impl Write,
    path: &Path,
    pos: u64,
    bytes: &[u8],
    a: &DumpArgs,
    bufs: &mut DumpBufs,
) -> Result<()> {
    let crc_stored = bytes
        .get(12..16)
        .map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    let decoded = LegacyMessage::decode(bytes);
    let valid = decoded.is_ok();
    let magic = bytes.get(16).copied().unwrap_or(0) as i8;
    let offset = bytes
        .get(..8)
        .map_or(0, |o| i64::from_be_bytes(o.try_into().unwrap_or([0; 8])));
    let (ts_type, ts, codec) = match &decoded {
        Ok(m) => (
            m.timestamp_type()
                .map_or("NoTimestampType", TimestampType::name),
            m.timestamp,
            m.compression().map_or("invalid", Compression::name),
        ),
        Err(_) => ("NoTimestampType", -1, "unknown"),
    };
    if a.json {
        let head = LegacyJson {
            file: path.display().to_string(),
            position: pos,
            offset,
            size: bytes.len(),
            magic,
            compression: codec,
            crc: crc_stored,
            crc_valid: valid,
            timestamp_type: ts_type,
            timestamp: ts,
        };
        return json_entry(out, &head, decoded.ok().map(Entry::Legacy), a, bufs);
    }
    writeln!(
        out,
        "offset: {offset:<10} position: {pos:<10} {ts_type}: {ts:<13} size: {:<8} magic: {magic} \
         compresscodec: {codec:<6} crc: {crc_stored:<10} isvalid: {valid}",
        bytes.len()
    )?;
    match decoded {
        Ok(m) if a.records => text_records(out, path, pos, &Entry::Legacy(m), a, bufs),
        _ => Ok(()),
    }
}

/// A record's ` key: … payload: …` in `--print-data-log` text: decoded for the group
/// coordinator's records, escaped bytes otherwise (nothing for an absent one).
fn key_payload(
    out: &mut impl Write,
    path: &Path,
    a: &DumpArgs,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<()> {
    if offsets_decoder(path, a) {
        let key = key.unwrap_or(&[]);
        let k = group_metadata::describe_key(key).unwrap_or_else(|e| format!("<{e}>"));
        let v = group_metadata::describe_value(key, value).unwrap_or_else(|e| format!("<{e}>"));
        write!(out, " key: {k} payload: {v}")?;
        return Ok(());
    }
    if let Some(k) = key {
        out.write_all(b" key: ")?;
        write_escaped(out, k)?;
    }
    if let Some(v) = value {
        out.write_all(b" payload: ")?;
        write_escaped(out, v)?;
    }
    Ok(())
}

/// Whether records of this file are the group coordinator's.
fn offsets_decoder(path: &Path, a: &DumpArgs) -> bool {
    a.offsets_decoder
        || path
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("__consumer_offsets-"))
}

pub(super) fn control_type(rec: &LogRecord<'_>) -> Option<ControlRecordType> {
    ControlRecordType::parse_key(rec.key?)
}
