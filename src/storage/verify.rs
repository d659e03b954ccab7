//! Checking a partition against the rules of the format, and repairing what recovery would.
//!
//! [`verify_partition`] reads every segment: each entry's framing, each v2 batch's CRC and
//! records, offsets increasing across batches and segments, each offset index entry against
//! the batch it points at, and the time index's order. Every problem carries the file and the
//! byte position where it is.
//!
//! [`repair_partition`] fixes what can be fixed without changing any offset, holding the
//! partition lock:
//! - a damaged or torn region in a `.log` is cut; the valid batches after the damage (found
//!   by looking for the next well-formed batch whose CRC holds and whose offsets follow) are
//!   moved, byte for byte, into a new segment named by their first offset, so they keep their
//!   offsets and nothing before the damage is touched;
//! - indexes with any problem are rebuilt from the log.
//!
//! Every change is reported, with what it removed.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::file_names;
use super::index::{
    FileSource, IndexSource, OFFSET_ENTRY_SIZE, TIME_ENTRY_SIZE, offset_entries, relative_offset,
    time_entries,
};
use super::reader::{ChunkReader, RawAt, list_segments};
use crate::error::{Error, Result};
use crate::format::batch::{BatchHeader, CURRENT_MAGIC, RECORD_BATCH_OVERHEAD};
use crate::format::legacy::{self, LegacyMessage};
use crate::format::{DECOMPRESS_LIMIT, RecordBatch};

/// One thing wrong, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: PathBuf,
    /// Byte position in `path`.
    pub position: u64,
    pub kind: ProblemKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An entry whose size field cannot be right: nothing after it can be framed.
    Framing,
    /// An entry running past the end of the file.
    TornTail,
    /// A batch whose CRC does not match, or whose header is invalid.
    Corrupt,
    /// A batch whose records do not decode.
    Records,
    /// Offsets that do not increase.
    OffsetOrder,
    /// An offset index entry that does not point at the batch it names.
    IndexEntry,
    /// A time index whose entries are out of order or outside the segment.
    TimeIndex,
    /// An index file whose size is not a whole number of entries.
    IndexSize,
}

/// What verifying a partition found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    pub segments: usize,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

/// Result of checking one `.log` file.
struct LogCheck {
    /// Position of the first damage, if any.
    first_damage: Option<u64>,
    /// Last offset of the last valid batch before the damage (or the expected offset - 1).
    last_offset_before_damage: i64,
    /// (position, last offset) of every valid batch before the damage.
    batches: Vec<(u64, i64)>,
}

fn check_log(
    path: &Path,
    base: i64,
    mut next_offset: i64,
    before: i64,
    v: &mut Verification,
) -> Result<LogCheck> {
    let mut r = ChunkReader::open(path)?;
    let len = r.file_len()?;
    v.bytes += len;
    let mut pos = 0u64;
    let mut out = LogCheck {
        first_damage: None,
        last_offset_before_damage: next_offset - 1,
        batches: Vec::new(),
    };
    let mut problem = |out: &mut LogCheck, position: u64, kind, detail: String| {
        out.first_damage.get_or_insert(position);
        v.problems.push(Problem {
            path: path.to_path_buf(),
            position,
            kind,
            detail,
        });
    };
    let (mut batches, mut records) = (0u64, 0u64);
    // The last good entry: (position, first offset, record count, last offset before it).
    let mut prev: Option<(u64, i64, u64, i64)> = None;
    loop {
        // (size, first offset, last offset, records, problem)
        let step = match r.raw_at(pos, len)? {
            RawAt::End => {
                if pos < len {
                    problem(
                        &mut out,
                        pos,
                        ProblemKind::TornTail,
                        format!("{} bytes that are not a whole entry", len - pos),
                    );
                }
                break;
            }
            RawAt::BadFrame(e) => {
                problem(
                    &mut out,
                    pos,
                    ProblemKind::Framing,
                    e.shifted(pos as usize).to_string(),
                );
                break;
            }
            RawAt::Incomplete { frame, available } => {
                problem(
                    &mut out,
                    pos,
                    ProblemKind::TornTail,
                    format!(
                        "an entry of {} bytes with only {available} in the file",
                        frame.size
                    ),
                );
                break;
            }
            RawAt::Entry { frame, bytes } if frame.magic != CURRENT_MAGIC => {
                let size = frame.size as u64;
                match LegacyMessage::decode(bytes) {
                    Err(e) => (
                        size,
                        frame.offset,
                        frame.offset,
                        0,
                        Some((ProblemKind::Corrupt, e.shifted(pos as usize).to_string())),
                    ),
                    Ok(m) => match legacy::records(&m, DECOMPRESS_LIMIT) {
                        Ok(rs) => (
                            size,
                            rs.first().map_or(m.offset, |r| r.offset),
                            m.offset,
                            rs.len() as u64,
                            None,
                        ),
                        Err(e) => (
                            size,
                            m.offset,
                            m.offset,
                            0,
                            Some((ProblemKind::Records, e.shifted(pos as usize).to_string())),
                        ),
                    },
                }
            }
            RawAt::Entry { frame, bytes } => match RecordBatch::decode(bytes) {
                Err(e) => (
                    frame.size as u64,
                    frame.offset,
                    frame.offset,
                    0,
                    Some((ProblemKind::Corrupt, e.shifted(pos as usize).to_string())),
                ),
                Ok(b) => {
                    let h = b.header;
                    let mut scratch = Vec::new();
                    let mut n = 0u64;
                    let mut bad = None;
                    match b.records_in(&mut scratch) {
                        Err(e) => {
                            bad = Some((ProblemKind::Records, e.shifted(pos as usize).to_string()))
                        }
                        Ok(rs) => {
                            for rec in rs {
                                if let Err(e) = rec {
                                    bad = Some((
                                        ProblemKind::Records,
                                        e.shifted(pos as usize).to_string(),
                                    ));
                                    break;
                                }
                                n += 1;
                            }
                        }
                    }
                    (frame.size as u64, h.base_offset, h.last_offset(), n, bad)
                }
            },
        };
        let (size, first, last, n, bad) = step;
        if let Some((kind, detail)) = bad {
            problem(&mut out, pos, kind, detail);
        } else if last >= before {
            problem(
                &mut out,
                pos,
                ProblemKind::OffsetOrder,
                format!("batch reaches offset {last}, at or past the next segment's base {before}"),
            );
        } else if first < next_offset || (out.batches.is_empty() && first < base) {
            // Either this batch goes back, or the one before it jumped ahead (a damaged base
            // offset, which the CRC does not cover): blame the one out of line.
            match prev {
                Some((ppos, pfirst, pn, before_prev))
                    if out.first_damage.is_none()
                        && first > before_prev
                        && (pfirst > first || pfirst != before_prev + 1) =>
                {
                    out.batches.pop();
                    out.last_offset_before_damage = before_prev;
                    batches -= 1;
                    records -= pn;
                    problem(
                        &mut out,
                        ppos,
                        ProblemKind::OffsetOrder,
                        format!(
                            "batch at offset {pfirst} jumps ahead of the next batch, at offset {first}"
                        ),
                    );
                }
                _ => problem(
                    &mut out,
                    pos,
                    ProblemKind::OffsetOrder,
                    format!("batch at offset {first} after offset {}", next_offset - 1),
                ),
            }
        } else {
            batches += 1;
            records += n;
            if out.first_damage.is_none() {
                prev = Some((pos, first, n, out.last_offset_before_damage));
                out.batches.push((pos, last));
                out.last_offset_before_damage = last;
            }
            next_offset = last + 1;
        }
        pos += size;
    }
    v.batches += batches;
    v.records += records;
    Ok(out)
}

/// Checks the offset and time index of one segment against its log.
fn check_indexes(dir: &Path, base: i64, is_active: bool, log: &LogCheck, v: &mut Verification) {
    let idx_path = file_names::index_file(dir, base);
    let tidx_path = file_names::time_index_file(dir, base);
    for p in [&idx_path, &tidx_path] {
        if !is_active && !p.exists() {
            v.problems.push(Problem {
                path: p.clone(),
                position: 0,
                kind: ProblemKind::IndexSize,
                detail: "missing".to_string(),
            });
        }
    }
    if let Ok(src) = FileSource::open(&idx_path) {
        if src.byte_len() % OFFSET_ENTRY_SIZE != 0 && !is_active {
            v.problems.push(Problem {
                path: idx_path.clone(),
                position: 0,
                kind: ProblemKind::IndexSize,
                detail: format!(
                    "{} bytes is not a whole number of 8-byte entries",
                    src.byte_len()
                ),
            });
        }
        let mut prev: Option<(i64, u32)> = None;
        for (i, e) in offset_entries(&src, base).iter().enumerate() {
            let at = (i * OFFSET_ENTRY_SIZE) as u64;
            let claim = log
                .batches
                .binary_search_by_key(&(e.position as u64), |b| b.0);
            let bad = match claim {
                _ if prev.is_some_and(|(o, p)| e.offset <= o || e.position <= p) => {
                    Some("not above the previous entry".to_string())
                }
                Ok(i) if log.batches[i].1 == e.offset => None,
                Ok(i) => Some(format!(
                    "says offset {} but the batch at byte {} ends at offset {}",
                    e.offset, e.position, log.batches[i].1
                )),
                Err(_) if log.first_damage.is_some_and(|d| e.position as u64 >= d) => {
                    Some(format!("points at byte {}, past the damage", e.position))
                }
                Err(_) => Some(format!(
                    "points at byte {}, which is not the start of a batch",
                    e.position
                )),
            };
            if let Some(detail) = bad {
                v.problems.push(Problem {
                    path: idx_path.clone(),
                    position: at,
                    kind: ProblemKind::IndexEntry,
                    detail: format!(
                        "entry {i} (offset {}, position {}) {detail}",
                        e.offset, e.position
                    ),
                });
            }
            prev = Some((e.offset, e.position));
        }
    }
    if let Ok(src) = FileSource::open(&tidx_path) {
        if src.byte_len() % TIME_ENTRY_SIZE != 0 && !is_active {
            v.problems.push(Problem {
                path: tidx_path.clone(),
                position: 0,
                kind: ProblemKind::IndexSize,
                detail: format!(
                    "{} bytes is not a whole number of 12-byte entries",
                    src.byte_len()
                ),
            });
        }
        let last_offset = log.last_offset_before_damage;
        let mut prev: Option<(i64, i64)> = None;
        for (i, e) in time_entries(&src, base).iter().enumerate() {
            let at = (i * TIME_ENTRY_SIZE) as u64;
            let bad = if prev.is_some_and(|(t, o)| e.timestamp < t || e.offset < o) {
                Some("goes back in time or offset".to_string())
            } else if e.offset < base || (log.first_damage.is_none() && e.offset > last_offset) {
                Some(format!("offset {} is outside the segment", e.offset))
            } else {
                None
            };
            if let Some(detail) = bad {
                v.problems.push(Problem {
                    path: tidx_path.clone(),
                    position: at,
                    kind: ProblemKind::TimeIndex,
                    detail: format!(
                        "entry {i} (timestamp {}, offset {}) {detail}",
                        e.timestamp, e.offset
                    ),
                });
            }
            prev = Some((e.timestamp, e.offset));
        }
    }
}

/// Verifies every segment of a partition directory.
pub fn verify_partition(dir: &Path) -> Result<Verification> {
    let segments = list_segments(dir)?;
    let mut v = Verification {
        segments: segments.len(),
        ..Verification::default()
    };
    let mut next_offset = i64::MIN;
    for (i, &base) in segments.iter().enumerate() {
        let path = file_names::log_file(dir, base);
        if next_offset > base {
            v.problems.push(Problem {
                path: path.clone(),
                position: 0,
                kind: ProblemKind::OffsetOrder,
                detail: format!(
                    "segment starts at offset {base} but the previous one reaches offset {}",
                    next_offset - 1
                ),
            });
        }
        let before = segments.get(i + 1).copied().unwrap_or(i64::MAX);
        let check = check_log(&path, base, next_offset.max(base), before, &mut v)?;
        check_indexes(dir, base, i + 1 == segments.len(), &check, &mut v);
        next_offset = check.last_offset_before_damage + 1;
    }
    Ok(v)
}

/// One change made by [`repair_partition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Repair {
    /// Bytes cut from a `.log` (`position..position + bytes`).
    Removed {
        path: PathBuf,
        position: u64,
        bytes: u64,
    },
    /// Valid batches after the damage, moved unchanged into a new segment.
    Moved {
        from: PathBuf,
        position: u64,
        bytes: u64,
        to: PathBuf,
        first_offset: i64,
        last_offset: i64,
    },
    /// An index rebuilt from its log.
    RebuiltIndex { path: PathBuf },
}

/// Finds the next well-formed v2 batch after `from` whose base offset is above `after` and
/// below `before`: where valid data resumes after damage.
fn resync(
    r: &mut ChunkReader,
    from: u64,
    len: u64,
    after: i64,
    before: i64,
) -> Result<Option<u64>> {
    let mut pos = from;
    while pos + RECORD_BATCH_OVERHEAD as u64 <= len {
        if let RawAt::Entry { frame, bytes } = r.raw_at(pos, len)?
            && frame.magic == CURRENT_MAGIC
            && frame.offset > after
            && frame.offset < before
            && RecordBatch::decode(bytes).is_ok()
        {
            return Ok(Some(pos));
        }
        pos += 1;
    }
    Ok(None)
}

/// Repairs a partition (see the module doc). Returns what it changed; an empty list when the
/// partition verified clean.
pub fn repair_partition(dir: &Path, index_interval: u32) -> Result<Vec<Repair>> {
    let lock = File::open(dir).map_err(Error::io("open directory", dir))?;
    lock.lock().map_err(Error::io("lock", dir))?;
    let mut repairs = Vec::new();
    // Each round fixes the first damaged segment; moved batches are checked in the next.
    for _round in 0..1000 {
        let v = verify_partition(dir)?;
        if v.problems.is_empty() {
            break;
        }
        let segments = list_segments(dir)?;
        let mut log_fixed = false;
        let mut next_offset = i64::MIN;
        let mut scratch = Verification::default();
        for (i, &base) in segments.iter().enumerate() {
            let path = file_names::log_file(dir, base);
            let before = segments.get(i + 1).copied().unwrap_or(i64::MAX);
            let check = check_log(&path, base, next_offset.max(base), before, &mut scratch)?;
            if let Some(damage) = check.first_damage {
                let mut r = ChunkReader::open(&path)?;
                let len = r.file_len()?;
                let before = segments.get(i + 1).copied().unwrap_or(i64::MAX);
                let resume = resync(
                    &mut r,
                    damage + 1,
                    len,
                    check.last_offset_before_damage,
                    before,
                )?;
                let cut_end = resume.unwrap_or(len);
                if let Some(start) = resume
                    && r.header_at(start).is_some_and(|h| h.base_offset == base)
                {
                    // Nothing valid before the damage, and the batches after it start at this
                    // segment's own base offset: they stay in this segment, the damaged bytes
                    // are cut out of it (written aside and renamed into place).
                    let mut bytes = vec![0u8; len as usize];
                    r.file
                        .read_exact_at(&mut bytes, 0)
                        .map_err(Error::io("read", &path))?;
                    bytes.drain(damage as usize..start as usize);
                    super::fs::atomic_write(&path, &bytes)?;
                    repairs.push(Repair::Removed {
                        path: path.clone(),
                        position: damage,
                        bytes: start - damage,
                    });
                    rebuild_indexes(dir, base, index_interval, &mut repairs)?;
                    log_fixed = true;
                    break;
                }
                if let Some(start) = resume {
                    let first = r.header_at(start).map_or(0, |h| h.base_offset);
                    let target = file_names::log_file(dir, first);
                    if target.exists() {
                        return Err(Error::Invalid(format!(
                            "cannot move the valid batches at {}:{start}: {} exists",
                            path.display(),
                            target.display()
                        )));
                    }
                    // Copy the tail into the new segment, durably, before cutting anything.
                    let mut tail = vec![0u8; (len - start) as usize];
                    r.file
                        .read_exact_at(&mut tail, start)
                        .map_err(Error::io("read", &path))?;
                    let mut last = first;
                    let mut p = 0usize;
                    while let Some(h) = tail.get(p..).and_then(|t| BatchHeader::parse(t).ok()) {
                        if h.size() == 0 || p + h.size() > tail.len() {
                            break;
                        }
                        last = h.last_offset();
                        p += h.size();
                    }
                    let mut f = OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&target)
                        .map_err(Error::io("create", &target))?;
                    f.write_all(&tail).map_err(Error::io("write", &target))?;
                    f.sync_all().map_err(Error::io("fsync", &target))?;
                    super::fs::fsync_dir(dir)?;
                    repairs.push(Repair::Moved {
                        from: path.clone(),
                        position: start,
                        bytes: len - start,
                        to: target,
                        first_offset: first,
                        last_offset: last,
                    });
                    // The new segment gets its indexes at once (retention reads its age there).
                    rebuild_indexes(dir, first, index_interval, &mut repairs)?;
                }
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(Error::io("open", &path))?;
                f.set_len(damage).map_err(Error::io("truncate", &path))?;
                f.sync_all().map_err(Error::io("fsync", &path))?;
                repairs.push(Repair::Removed {
                    path: path.clone(),
                    position: damage,
                    bytes: cut_end - damage,
                });
                rebuild_indexes(dir, base, index_interval, &mut repairs)?;
                log_fixed = true;
                break;
            }
            next_offset = check.last_offset_before_damage + 1;
        }
        if !log_fixed {
            // Only index problems are left: rebuild the indexes they are in.
            let mut bases: Vec<i64> = v
                .problems
                .iter()
                .filter_map(|p| {
                    let name = p.path.file_name()?.to_str()?;
                    file_names::parse_offset(name, file_names::INDEX_SUFFIX)
                        .or_else(|| file_names::parse_offset(name, file_names::TIME_INDEX_SUFFIX))
                })
                .collect();
            bases.sort_unstable();
            bases.dedup();
            if bases.is_empty() {
                break;
            }
            for b in bases {
                rebuild_indexes(dir, b, index_interval, &mut repairs)?;
            }
        }
    }
    let _ = fs::remove_file(dir.join(super::log::RECOVERY_POINT_FILE));
    let _ = lock.unlock();
    Ok(repairs)
}

/// Rebuilds both indexes of a segment from its `.log`, written aside and renamed into place.
pub(crate) fn rebuild_indexes(
    dir: &Path,
    base: i64,
    interval: u32,
    repairs: &mut Vec<Repair>,
) -> Result<()> {
    let log_path = file_names::log_file(dir, base);
    let mut reader = ChunkReader::open(&log_path)?;
    let (mut idx, mut tidx) = (Vec::new(), Vec::new());
    let (mut last_indexed, mut max_ts, mut max_ts_offset, mut last_time) =
        (0u64, -1i64, base, -1i64);
    // Offsets out of the segment's range are not indexed (see `relative_offset`).
    super::reader::scan_batches(&mut reader, 0, base, |pos, h| {
        if h.max_timestamp > max_ts {
            max_ts = h.max_timestamp;
            max_ts_offset = h.last_offset();
        }
        if pos > last_indexed && pos - last_indexed > interval as u64 {
            if let Some(rel) = relative_offset(base, h.last_offset()) {
                idx.extend_from_slice(&rel.to_be_bytes());
                idx.extend_from_slice(&(pos as u32).to_be_bytes());
            }
            if max_ts > last_time
                && let Some(rel) = relative_offset(base, max_ts_offset)
            {
                tidx.extend_from_slice(&max_ts.to_be_bytes());
                tidx.extend_from_slice(&rel.to_be_bytes());
                last_time = max_ts;
            }
            last_indexed = pos;
        }
    })?;
    if max_ts > last_time
        && max_ts >= 0
        && let Some(rel) = relative_offset(base, max_ts_offset)
    {
        tidx.extend_from_slice(&max_ts.to_be_bytes());
        tidx.extend_from_slice(&rel.to_be_bytes());
    }
    for (path, bytes) in [
        (file_names::index_file(dir, base), idx),
        (file_names::time_index_file(dir, base), tidx),
    ] {
        super::fs::atomic_write(&path, &bytes)?;
        repairs.push(Repair::RebuiltIndex { path });
    }
    Ok(())
}
