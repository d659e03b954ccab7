//! `klog segments list|dump|roll|verify`: looking inside segment files, klog's or a Kafka
//! broker's, and checking or repairing them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::json::{write_bytes, write_str};
use super::output::{escape_bytes, human_bytes, print_table, rfc3339_ms, table, write_escaped};
use super::{Ctx, ExitCode, UsageError};
use klog::format::batch::{BatchHeader, RECORD_BATCH_OVERHEAD, is_v2_magic};
use klog::format::control::{ControlRecordType, EndTransactionMarker};
use klog::format::legacy::LegacyMessage;
use klog::format::{Compression, RecordBatch, TimestampType};
use klog::format::{group_metadata, producer_snapshot};
use klog::storage::file_names::{self, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use klog::storage::index::{self, FileSource};
use klog::storage::verify::{Repair, repair_partition, verify_partition};
use klog::storage::{ChunkReader, Entry, LogRecord, RawAt, list_segments, summarize_segment};

#[derive(Debug, Subcommand)]
pub enum SegmentsCommand {
    /// One row per segment: offsets, records, bytes, timestamps, index entries, active or closed
    #[command(after_help = "Examples:
  klog segments list orders
  klog segments list orders -p 0 --json | jq '.[] | select(.active)'")]
    List(ListArgs),
    /// Print batches (and with --records, records) of segments, like kafka-dump-log
    #[command(after_help = "Examples:
  klog segments dump orders -p 0 --records
  klog segments dump /var/lib/kafka/data/orders-0/00000000000000000000.log --max-bytes 100000
  klog segments dump orders-0/00000000000000000000.index
  klog segments dump orders --offset 120000 --records --json | jq -c '.records[]'")]
    Dump(DumpArgs),
    /// Close the active segment now and start a new one
    #[command(after_help = "Examples:
  klog segments roll orders
  klog segments roll orders -p 2")]
    Roll(RollArgs),
    /// Check every batch, offset and index entry; --repair cuts damage without moving offsets
    #[command(after_help = "Examples:
  klog segments verify orders
  klog segments verify /var/lib/kafka/data/orders-0 --json
  klog segments verify orders -p 1 --repair

Exit status: 0 clean (or repaired), 3 damage found.")]
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Topic name
    pub topic: String,
    /// Only this partition (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Topics, partition directories, or .log, .index, .timeindex files
    #[arg(required = true, value_name = "PATH|TOPIC")]
    pub targets: Vec<String>,
    /// Only this partition of a topic (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Also print every record (key, value, headers)
    #[arg(long, visible_alias = "print-data-log")]
    pub records: bool,
    /// Start at the batch holding this offset (found through the offset index)
    #[arg(long, value_name = "N")]
    pub offset: Option<i64>,
    /// Read at most this many bytes of each log file
    #[arg(long, value_name = "N")]
    pub max_bytes: Option<u64>,
    /// One JSON object per batch (or index entry) and line
    #[arg(long)]
    pub json: bool,
    /// Decode records as the group coordinator's (__consumer_offsets) offset commits and
    /// group metadata (automatic for __consumer_offsets partitions)
    #[arg(long)]
    pub offsets_decoder: bool,
}

#[derive(Debug, Args)]
pub struct RollArgs {
    /// Topic name
    pub topic: String,
    /// Only this partition (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Topics or partition directories
    #[arg(required = true, value_name = "TOPIC|PATH")]
    pub targets: Vec<String>,
    /// Only this partition of a topic (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Cut damaged tails and regions (valid batches after them keep their offsets in a new
    /// segment) and rebuild damaged indexes
    #[arg(long)]
    pub repair: bool,
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, cmd: SegmentsCommand) -> Result<ExitCode> {
    match cmd {
        SegmentsCommand::List(a) => list(ctx, a),
        SegmentsCommand::Dump(a) => dump(ctx, a),
        SegmentsCommand::Roll(a) => roll(ctx, a),
        SegmentsCommand::Verify(a) => verify(ctx, a),
    }
}

/// What a PATH|TOPIC argument names.
enum Target {
    /// A partition directory.
    Dir(PathBuf),
    Log(PathBuf),
    Index(PathBuf),
    TimeIndex(PathBuf),
    Snapshot(PathBuf),
}

fn resolve(ctx: &Ctx, item: &str, partitions: &[u32]) -> Result<Vec<Target>> {
    let path = Path::new(item);
    if path.exists() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let is_partition = |d: &Path| {
            file_names::parse_partition_dir(name).is_some()
                || list_segments(d).is_ok_and(|s| !s.is_empty())
        };
        return Ok(vec![if path.is_dir() {
            if !is_partition(path) {
                return Err(UsageError(format!(
                    "{}: not a partition directory (no <topic>-<n> name and no .log files)",
                    item.escape_debug()
                ))
                .into());
            }
            Target::Dir(path.to_path_buf())
        } else if name.ends_with(LOG_SUFFIX) {
            Target::Log(path.to_path_buf())
        } else if name.ends_with(INDEX_SUFFIX) {
            Target::Index(path.to_path_buf())
        } else if name.ends_with(TIME_INDEX_SUFFIX) {
            Target::TimeIndex(path.to_path_buf())
        } else if name.ends_with(".snapshot") {
            Target::Snapshot(path.to_path_buf())
        } else {
            return Err(UsageError(format!(
                "{}: not a .log, .index, .timeindex or .snapshot file, nor a partition directory",
                item.escape_debug()
            ))
            .into());
        }]);
    }
    let topic = ctx.topics().open(item).map_err(|e| match e {
        klog::Error::TopicNotFound(_) | klog::Error::InvalidTopicName { .. } => {
            anyhow::Error::new(super::Hint(
                "give a topic of the data directory, a partition directory, or a segment file"
                    .into(),
            ))
            .context(format!("no topic or file named '{}'", item.escape_debug()))
        }
        e => e.into(),
    })?;
    Ok(super::partitions_of(&topic, partitions)?
        .into_iter()
        .map(|p| Target::Dir(topic.partition_dir(p)))
        .collect())
}

#[derive(Serialize)]
struct SegmentRow {
    partition: u32,
    #[serde(flatten)]
    summary: klog::storage::SegmentSummary,
    active: bool,
}

fn list(ctx: &Ctx, a: ListArgs) -> Result<ExitCode> {
    let topic = ctx.topics().open(&a.topic)?;
    let mut rows = Vec::new();
    for p in super::partitions_of(&topic, &a.partitions)? {
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
    let mut out = super::stdout();
    if a.json {
        super::output::print_json(&mut out, &rows)?;
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

fn roll(ctx: &Ctx, a: RollArgs) -> Result<ExitCode> {
    let topic = ctx.topics().open(&a.topic)?;
    for p in super::partitions_of(&topic, &a.partitions)? {
        let mut log = topic.open_log(p)?;
        let base = log
            .roll()
            .with_context(|| format!("roll {}-{p}", topic.name))?;
        drop(log);
        ctx.sync_checkpoints(&topic, &[p]);
        ctx.note(format_args!(
            "{}-{p}: active segment is now {}",
            topic.name,
            file_names::offset_name(base)
        ));
    }
    Ok(ExitCode::Success)
}

/// Base offset of a segment file from its name (0 when the name is not Kafka's).
fn base_of(path: &Path) -> i64 {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    stem.parse().unwrap_or(0)
}

fn dump(ctx: &Ctx, a: DumpArgs) -> Result<ExitCode> {
    let mut targets = Vec::new();
    for item in &a.targets {
        targets.extend(resolve(ctx, item, &a.partitions)?);
    }
    let mut out = super::stdout();
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
    let bar = super::progress::bytes_bar(ctx, logs_total, "dumping", true);
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

fn control_type(rec: &LogRecord<'_>) -> Option<ControlRecordType> {
    ControlRecordType::parse_key(rec.key?)
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

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
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

fn dump_batch(
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
    let codec = h.compression().map_or("invalid", Compression::name);
    let ts_type = h.timestamp_type().name();
    if a.json {
        let head = BatchJson {
            file: path.display().to_string(),
            position: pos,
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            count: h.records_count,
            size: h.size(),
            magic: 2,
            compression: codec,
            crc: h.crc,
            crc_valid: valid,
            timestamp_type: ts_type,
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
        };
        return json_entry(out, &head, decoded.ok().map(Entry::Batch), a, bufs);
    }
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
    let Some(b) = decoded.ok().filter(|_| a.records) else {
        if a.records && !valid {
            writeln!(out, "| (records not shown: the batch is not valid)")?;
        }
        return Ok(());
    };
    text_records(out, path, pos, &Entry::Batch(b), a, bufs)
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

/// Buffers reused from entry to entry of a dump.
#[derive(Default)]
struct DumpBufs {
    /// Decompressed records.
    records: Vec<u8>,
    /// A JSON object being written around keys and values.
    json: Vec<u8>,
}

/// `segments dump --json`: one object per v2 batch (the field names and their order are a
/// stable contract), with `records` after them under `--records`.
#[derive(Serialize)]
struct BatchJson {
    file: String,
    position: u64,
    base_offset: i64,
    last_offset: i64,
    count: i32,
    size: usize,
    magic: i8,
    compression: &'static str,
    crc: u32,
    crc_valid: bool,
    timestamp_type: &'static str,
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    last_sequence: i32,
    partition_leader_epoch: i32,
    is_transactional: bool,
    is_control: bool,
    delete_horizon_ms: Option<i64>,
}

/// `segments dump --json`: one object per legacy (magic 0 or 1) entry.
#[derive(Serialize)]
struct LegacyJson {
    file: String,
    position: u64,
    offset: i64,
    size: usize,
    magic: i8,
    compression: &'static str,
    crc: u32,
    crc_valid: bool,
    timestamp_type: &'static str,
    timestamp: i64,
}

/// A record's fields before its key, value and headers, which are written by
/// [`klog::render::write_json_bytes`] a piece at a time.
#[derive(Serialize)]
struct RecordJson {
    offset: i64,
    timestamp: i64,
}

/// After the headers of a control record.
#[derive(Serialize)]
struct ControlJson {
    control_type: i16,
    control: &'static str,
}

/// An entry whose framing is bad: the dump of the file stops there.
#[derive(Serialize)]
struct ErrorJson {
    file: String,
    position: u64,
    error: String,
}

/// Bytes at the end of a file that hold no whole entry.
#[derive(Serialize)]
struct TrailingJson {
    file: String,
    position: u64,
    invalid_bytes: u64,
}

/// An offset index entry, checked against the log (`null` without a log).
#[derive(Serialize)]
struct IndexJson {
    file: String,
    offset: i64,
    position: u64,
    matches_log: Option<bool>,
}

/// A time index entry.
#[derive(Serialize)]
struct TimeIndexJson {
    file: String,
    timestamp: i64,
    offset: i64,
    in_order: bool,
}

/// Writes `v` as one JSON object and a newline.
fn json_line(out: &mut impl Write, v: &impl Serialize) -> Result<()> {
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
fn json_entry(
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

fn dump_snapshot(out: &mut impl Write, path: &Path, json: bool) -> Result<()> {
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

fn dump_legacy(
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

fn dump_index(out: &mut impl Write, path: &Path, json: bool) -> Result<()> {
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
            super::plural_of(mismatches as u64, "entry", "entries"),
            if mismatches == 1 { "does" } else { "do" },
            file_name(&log_path)
        )?;
    }
    Ok(())
}

fn dump_time_index(out: &mut impl Write, path: &Path, json: bool) -> Result<()> {
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

fn verify(ctx: &Ctx, a: VerifyArgs) -> Result<ExitCode> {
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
    let mut out = super::stdout();
    let bar = super::progress::bar(ctx, dirs.len() as u64, "verifying", false);
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
        super::output::print_json(&mut out, &docs)?;
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
        super::plural(before.segments as u64, "segment"),
        super::plural_of(before.batches, "batch", "batches"),
        super::plural(before.records, "record"),
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
                super::plural(*bytes, "byte"),
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
                super::plural(*bytes, "byte"),
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
                super::plural(after.problems.len() as u64, "problem")
            )?;
        }
    }
    Ok(())
}
