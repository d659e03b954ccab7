//! Checking a partition against the rules of the format, and repairing what recovery would.
//!
//! [`verify_partition`] reads every segment: each entry's framing, each v2 batch's CRC and
//! records (their offset deltas included), offsets increasing across batches and segments,
//! each offset index entry against the batch it points at, and the time index's order. Every
//! problem carries the file and the byte position where it is. It takes no lock, so writers go
//! on; what it finds on a live partition is checked again under the partition lock before it
//! is reported (a batch being appended, or a segment deleted meanwhile, is no damage).
//!
//! # Base offsets
//! A batch's base offset is outside its CRC, so a damaged one is only seen through the
//! invariants offsets keep. The ones checked hold for every log, klog's or a broker's:
//! 1. offsets strictly increase, batch after batch and segment after segment;
//! 2. every batch of a segment lies in `[segment base, next segment's base)`;
//! 3. from klog's recovery point on (`.klog-recovery-point`, in the last segment), offsets are
//!    contiguous: those batches are klog's own appends since its last flush, and klog gives
//!    each batch the offset right after the previous one. The first batch reaching the
//!    recovery point starts exactly at it.
//!
//! Offsets elsewhere may have gaps: compaction leaves them, and a broker replicating a
//! compacted partition as a follower writes them into its active segment too, so "the active
//! segment is dense" is not an invariant of Kafka's logs (only of what klog appended). In
//! segments where compaction left no trace, a base offset moved into a gap is not detected.
//!
//! [`repair_partition`] fixes what can be fixed without changing any offset, holding the
//! partition lock:
//! - a damaged or torn region in a `.log` is cut; the valid batches after the damage are
//!   moved, byte for byte, into a new segment named by their first offset, so they keep their
//!   offsets and nothing before the damage is touched. Valid data resumes at the next
//!   well-formed batch whose CRC holds, whose offsets lie between the last good offset and the
//!   next segment's base, do not overlap the batch after it, and are confirmed by a neighbour:
//!   the batch after it starts right after it, or it ends right before the next segment's
//!   base, or it starts or ends at klog's recovery point. Only in a segment that shows
//!   compaction (a gap between good batches before the damage, a batch holding fewer records
//!   than its offset range, or a base below the cleaner offset) is an unconfirmed batch kept,
//!   since gaps are normal there. An unconfirmed batch is cut rather than kept at offsets that
//!   may not be its own;
//! - indexes with any problem are rebuilt from the log.
//!
//! Every change is reported, with what it removed. A repair killed at any point, or cut short
//! by a power loss, leaves what the next repair finishes with the same result (see
//! [`repair_partition`]); afterwards the recovery point is the log end offset.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::checkpoint;
use super::failpoint as fp;
use super::file_records::{ChunkReader, RawAt};
use super::fs::{fsync_dir_at, open_regular};
use super::index::{
    FileSource, IndexSource, OFFSET_ENTRY_SIZE, TIME_ENTRY_SIZE, offset_entries, time_entries,
};
use super::layout::{self, REPAIRING_SUFFIX, list_segments, with_suffix};
use super::reader::LogReader;
use super::segment::LogSegment;
use crate::error::{Error, Result};
use crate::format::batch::{RECORD_BATCH_OVERHEAD, is_v2_magic};
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
    /// (position, first offset, last offset) of every valid batch before the damage.
    batches: Vec<(u64, i64, i64)>,
    /// Whether the file shows compaction: a gap between valid batches before the damage (or
    /// before the first one), or a v2 batch with fewer records than its offset range.
    compacted: bool,
}

fn check_log(
    seg: LogSegment<'_>,
    mut next_offset: i64,
    before: i64,
    contiguous_from: Option<i64>,
    v: &mut Verification,
) -> Result<LogCheck> {
    let (base, path) = (seg.base_offset(), &seg.log_path());
    let mut r = seg.open_reader()?;
    let len = r.file_len()?;
    v.bytes += len;
    let mut pos = 0u64;
    let mut out = LogCheck {
        first_damage: None,
        last_offset_before_damage: next_offset - 1,
        batches: Vec::new(),
        compacted: false,
    };
    // Invariant 3 of the module doc: the offset the next batch reaching klog's recovery point
    // must start at.
    let mut contiguous_next = contiguous_from;
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
        // (size, first offset, last offset, records, problem, v2 batch)
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
            RawAt::Entry { frame, bytes } if !is_v2_magic(frame.magic) => {
                let size = frame.size as u64;
                match LegacyMessage::decode(bytes) {
                    Err(e) => (
                        size,
                        frame.offset,
                        frame.offset,
                        0,
                        Some((ProblemKind::Corrupt, e.shifted(pos as usize).to_string())),
                        false,
                    ),
                    Ok(m) => match legacy::records(&m, DECOMPRESS_LIMIT) {
                        Ok(rs) => (
                            size,
                            rs.first().map_or(m.offset, |r| r.offset),
                            m.offset,
                            rs.len() as u64,
                            None,
                            false,
                        ),
                        Err(e) => (
                            size,
                            m.offset,
                            m.offset,
                            0,
                            Some((ProblemKind::Records, e.shifted(pos as usize).to_string())),
                            false,
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
                    false,
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
                    (
                        frame.size as u64,
                        h.base_offset,
                        h.last_offset(),
                        n,
                        bad,
                        true,
                    )
                }
            },
        };
        let (size, first, last, n, bad, v2) = step;
        // Only compaction leaves a v2 batch with fewer records than offsets (both are under
        // the CRC, so this cannot be damage).
        if bad.is_none() && v2 && last.checked_sub(first) != (n as i64).checked_sub(1) {
            out.compacted = true;
        }
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
        } else if let Some(want) = contiguous_next.filter(|&w| v2 && last >= w && first != w)
            && out.first_damage.is_none()
            // The first batch reaching the recovery point may instead continue the batch
            // before it (or start the segment): then the point is not at a batch boundary,
            // so it is damaged or stale, not this batch.
            && !(contiguous_next == contiguous_from
                && first == if out.batches.is_empty() { base } else { next_offset })
        {
            // A batch klog appended after its last flush, not where the log continued: its base
            // offset was damaged (it is outside the CRC).
            problem(
                &mut out,
                pos,
                ProblemKind::OffsetOrder,
                format!(
                    "batch at offsets {first}..={last} is not where the log continues: offsets \
                     from the recovery point {} on are contiguous, so the batch reaching offset \
                     {want} starts at it",
                    contiguous_from.unwrap_or(want)
                ),
            );
            contiguous_next = None;
        } else {
            batches += 1;
            records += n;
            if out.first_damage.is_none() {
                if contiguous_next.is_some_and(|w| last >= w) {
                    contiguous_next = if v2 { Some(last + 1) } else { None };
                }
                prev = Some((pos, first, n, out.last_offset_before_damage));
                out.batches.push((pos, first, last));
                out.last_offset_before_damage = last;
            }
            next_offset = last + 1;
        }
        pos += size;
    }
    // A gap between good batches (or before the first one) is what compaction leaves.
    let start = out.batches.first().map(|b| b.1);
    out.compacted |=
        start.is_some_and(|f| f > base) || out.batches.windows(2).any(|w| w[1].1 > w[0].2 + 1);
    v.batches += batches;
    v.records += records;
    Ok(out)
}

/// Checks the offset and time index of one segment against its log.
fn check_indexes(seg: LogSegment<'_>, is_active: bool, log: &LogCheck, v: &mut Verification) {
    let base = seg.base_offset();
    let idx_path = seg.index_path();
    let tidx_path = seg.time_index_path();
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
                Ok(i) if log.batches[i].2 == e.offset => None,
                Ok(i) => Some(format!(
                    "says offset {} but the batch at byte {} ends at offset {}",
                    e.offset, e.position, log.batches[i].2
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

/// Where offsets must be contiguous from in segment `i` (invariant 3 of the module doc): klog's
/// recovery point, for the last segment when the point lies in it. A recovery point below the
/// last segment's base (a roll interrupted before it was written) says nothing about it.
fn contiguous_from(recovery_point: Option<i64>, segments: &[i64], i: usize) -> Option<i64> {
    let base = *segments.get(i)?;
    recovery_point.filter(|&rp| i + 1 == segments.len() && rp >= base)
}

/// Whether the segment lies below the cleaner offset: klog's `.klog-cleaner-offset` or the
/// partition's line in the data directory's `cleaner-offset-checkpoint`.
fn below_cleaner_offset(seg: LogSegment<'_>) -> bool {
    let dir = seg.dir();
    checkpoint::read_cleaner_offset(dir)
        .into_iter()
        .chain(checkpoint::broker_offset(dir, checkpoint::CLEANER_OFFSET))
        .any(|c| seg.base_offset() < c)
}

/// Verifies every segment of a partition directory.
///
/// The first pass takes no lock, so that writers go on. A live partition changes under it
/// (appends, index entries, rolls, retention), so when that pass finds a problem, the whole
/// partition is verified again holding the partition lock (shared: only writers, the cleaner
/// and repair are waited for), and only what that second pass finds is reported.
pub fn verify_partition(dir: &Path) -> Result<Verification> {
    let v = verify_unlocked(dir)?;
    if v.problems.is_empty() {
        return Ok(v);
    }
    let lock = File::open(dir).map_err(Error::io("open directory", dir))?;
    lock.lock_shared().map_err(Error::io("lock", dir))?;
    let v = verify_unlocked(dir);
    let _ = lock.unlock();
    v
}

/// [`verify_partition`] without the lock: the caller holds it (repair), or accepts that a
/// live partition may show passing problems. Segments deleted meanwhile are skipped.
fn verify_unlocked(dir: &Path) -> Result<Verification> {
    let segments = list_segments(dir)?;
    let mut v = Verification {
        segments: segments.len(),
        ..Verification::default()
    };
    let recovery_point = checkpoint::read_recovery_point(dir);
    let mut next_offset = i64::MIN;
    for (i, &base) in segments.iter().enumerate() {
        let seg = LogSegment::new(dir, base);
        let path = seg.log_path();
        let before = segments.get(i + 1).copied().unwrap_or(i64::MAX);
        let contiguous_from = contiguous_from(recovery_point, &segments, i);
        let mut scratch = Verification::default();
        let check = match check_log(
            seg,
            next_offset.max(base),
            before,
            contiguous_from,
            &mut scratch,
        ) {
            Ok(c) => c,
            // Deleted by retention, trimming or compaction since the listing.
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                v.segments -= 1;
                continue;
            }
            Err(e) => return Err(e),
        };
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
        v.batches += scratch.batches;
        v.records += scratch.records;
        v.bytes += scratch.bytes;
        v.problems.append(&mut scratch.problems);
        check_indexes(seg, i + 1 == segments.len(), &check, &mut v);
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

/// What a batch found after damage must agree with to be where valid data resumes.
struct Resume {
    /// Last offset of the last good batch before the damage.
    after: i64,
    /// The next segment's base (`i64::MAX` for the last segment).
    before: i64,
    /// klog's recovery point, when it lies in this (last) segment.
    contiguous_from: Option<i64>,
    /// Whether gaps between batches are normal in this segment (it shows compaction).
    gaps_normal: bool,
}

/// `(size, first offset, last offset)` of the well-formed v2 batch at `pos` whose CRC holds.
fn good_batch_at(r: &mut ChunkReader, pos: u64, len: u64) -> Result<Option<(u64, i64, i64)>> {
    Ok(match r.raw_at(pos, len)? {
        RawAt::Entry { frame, bytes } if is_v2_magic(frame.magic) => {
            RecordBatch::decode(bytes).ok().map(|b| {
                (
                    frame.size as u64,
                    b.header.base_offset,
                    b.header.last_offset(),
                )
            })
        }
        _ => None,
    })
}

/// Finds where valid data resumes after damage at `from`: the next well-formed v2 batch whose
/// CRC holds, whose offsets lie in `(after, before)` and do not overlap the batch after it, and
/// which is confirmed by a neighbour (see the module doc), unless gaps are normal here.
fn resync(r: &mut ChunkReader, from: u64, len: u64, rules: &Resume) -> Result<Option<u64>> {
    let mut pos = from;
    while pos + RECORD_BATCH_OVERHEAD as u64 <= len {
        let Some((size, first, last)) = good_batch_at(r, pos, len)? else {
            pos += 1;
            continue;
        };
        let end = pos + size;
        let next = good_batch_at(r, end, len)?;
        let in_range = first > rules.after && last < rules.before;
        // Two batches claiming the same offsets: one of them has a damaged base offset.
        let overlaps_next = next.is_some_and(|(_, nf, _)| nf <= last);
        let straddles_rp = rules
            .contiguous_from
            .is_some_and(|rp| first < rp && rp <= last);
        let confirmed = next.is_some_and(|(_, nf, _)| nf == last + 1)
            || (end == len && last + 1 == rules.before)
            || rules
                .contiguous_from
                .is_some_and(|rp| first == rp || last + 1 == rp);
        if in_range && !overlaps_next && !straddles_rp && (confirmed || rules.gaps_normal) {
            return Ok(Some(pos));
        }
        // A batch whose CRC holds is whole: nothing valid starts inside it.
        pos = end;
    }
    Ok(None)
}

/// Deletes what a killed repair left: the copy of a damaged segment's valid tail that
/// [`repair_partition`] writes as `<first offset>.log.repairing` ([`REPAIRING_SUFFIX`]). It
/// becomes a segment only by a rename, once complete and fsynced, and the damaged segment is
/// cut only after that rename is durable: so a leftover one means a repair died before the
/// rename, with the damaged segment still whole, and it is deleted (by the next repair, or the
/// next writer of the partition). The caller holds the partition lock, so no live repair is
/// writing one.
pub(crate) fn remove_repair_leftovers(dir: &Path) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(Error::io("read directory", dir))?;
    let mut removed = false;
    for e in rd.flatten() {
        let name = e.file_name();
        if name
            .to_str()
            .and_then(|n| n.strip_suffix(REPAIRING_SUFFIX))
            .is_some_and(|n| layout::parse_offset(n, layout::LOG_SUFFIX).is_some())
        {
            match fp::remove_file(&e.path(), "repair.remove_leftover") {
                Ok(()) => removed = true,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::io("delete", e.path())(err)),
            }
        }
    }
    if removed {
        fsync_dir_at(dir, "repair.leftover_dir_fsync")?;
    }
    Ok(())
}

/// Copies `ranges` of `from` (byte ranges, in order) into a new file `to`, then fsyncs it.
fn copy_ranges(from: &File, from_path: &Path, ranges: &[(u64, u64)], to: &Path) -> Result<()> {
    let f = fp::open(
        OpenOptions::new().write(true).create(true).truncate(true),
        to,
        "repair.create",
    )
    .map_err(Error::io("create", to))?;
    let mut buf =
        vec![0u8; (1 << 20).min(ranges.iter().map(|r| r.1 - r.0).max().unwrap_or(0)) as usize];
    let mut out = 0u64;
    for &(mut pos, end) in ranges {
        while pos < end {
            let n = ((end - pos) as usize).min(buf.len());
            from.read_exact_at(&mut buf[..n], pos)
                .map_err(Error::io("read", from_path))?;
            fp::write_all_at(&f, &buf[..n], out, "repair.write").map_err(Error::io("write", to))?;
            pos += n as u64;
            out += n as u64;
        }
    }
    fp::sync_all(&f, "repair.fsync").map_err(Error::io("fsync", to))
}

/// Repairs a partition (see the module doc). Returns what it changed; an empty list when the
/// partition verified clean.
///
/// # Crash safety
/// Every step goes through the fail points, and a repair killed at any step (or followed by a
/// power loss) leaves a partition that the next repair finishes with the same result: no byte
/// is cut from a segment while that segment holds its only complete copy.
/// - Valid batches after the damage are copied to `<first>.log.repairing`, which is fsynced,
///   renamed to `<first>.log`, and the directory fsynced; only then is the damaged segment cut
///   at the damage (and fsynced). Killed before the rename, the copy is a leftover that is
///   deleted, and the damaged segment is whole. Killed after it, the new segment is complete,
///   and the damaged segment's batches from its base offset on reach into it: the next repair
///   cuts them as the damage they are then.
/// - Damage at the very start of a segment whose valid batches start at the segment's own
///   base offset: the segment is rewritten without the damaged bytes, aside, and renamed over
///   the old one (old or new content after a crash, never a mix).
/// - Rebuilt indexes are written aside and renamed into place.
/// - At the end, the last segment is fsynced and the recovery point moved to the log end
///   offset: everything below it has just been verified, so the next writer's recovery
///   starts there.
pub fn repair_partition(dir: &Path, index_interval: u32) -> Result<Vec<Repair>> {
    let lock = File::open(dir).map_err(Error::io("open directory", dir))?;
    lock.lock().map_err(Error::io("lock", dir))?;
    let result = repair_locked(dir, index_interval);
    let _ = lock.unlock();
    result
}

fn repair_locked(dir: &Path, index_interval: u32) -> Result<Vec<Repair>> {
    remove_repair_leftovers(dir)?;
    let mut repairs = Vec::new();
    // Each round fixes the first damaged segment; moved batches are checked in the next.
    for _round in 0..1000 {
        let v = verify_unlocked(dir)?;
        if v.problems.is_empty() {
            break;
        }
        if repair_first_damaged_log(dir, index_interval, &mut repairs)? {
            continue;
        }
        // Only index problems are left: rebuild the indexes they are in.
        let mut bases: Vec<i64> = v
            .problems
            .iter()
            .filter_map(|p| {
                let name = p.path.file_name()?.to_str()?;
                layout::parse_offset(name, layout::INDEX_SUFFIX)
                    .or_else(|| layout::parse_offset(name, layout::TIME_INDEX_SUFFIX))
            })
            .collect();
        bases.sort_unstable();
        bases.dedup();
        if bases.is_empty() {
            break;
        }
        for b in bases {
            rebuild_indexes(LogSegment::new(dir, b), index_interval, &mut repairs)?;
        }
    }
    if !repairs.is_empty()
        && let Some(&last) = list_segments(dir)?.last()
    {
        // The recovery point moves to the log end offset, after an fsync of the last segment:
        // below it everything was just verified (or, if damage is left, is damage that no
        // writer may cut), and a point left where it was could lie in what was cut or moved.
        let path = LogSegment::new(dir, last).log_path();
        let f = open_regular(&path)?;
        fp::sync_data(&f, "repair.final_fsync").map_err(Error::io("fsync", &path))?;
        if let Ok(leo) = LogReader::open(dir).and_then(|mut r| r.log_end_offset()) {
            checkpoint::write_recovery_point(dir, leo)?;
        }
    }
    Ok(repairs)
}

/// Cuts the damage out of the first segment whose `.log` has any, moving the valid batches
/// after it into a segment of their own (see [`repair_partition`]). Returns whether it found
/// such a segment.
fn repair_first_damaged_log(
    dir: &Path,
    index_interval: u32,
    repairs: &mut Vec<Repair>,
) -> Result<bool> {
    let segments = list_segments(dir)?;
    let mut next_offset = i64::MIN;
    let mut scratch = Verification::default();
    let recovery_point = checkpoint::read_recovery_point(dir);
    for (i, &base) in segments.iter().enumerate() {
        let seg = LogSegment::new(dir, base);
        let path = seg.log_path();
        let before = segments.get(i + 1).copied().unwrap_or(i64::MAX);
        let contiguous_from = contiguous_from(recovery_point, &segments, i);
        let check = check_log(
            seg,
            next_offset.max(base),
            before,
            contiguous_from,
            &mut scratch,
        )?;
        let Some(damage) = check.first_damage else {
            next_offset = check.last_offset_before_damage + 1;
            continue;
        };
        let mut r = seg.open_reader()?;
        let len = r.file_len()?;
        let rules = Resume {
            after: check.last_offset_before_damage,
            before,
            contiguous_from,
            gaps_normal: check.compacted || below_cleaner_offset(seg),
        };
        let resume = resync(&mut r, damage + 1, len, &rules)?;
        let cut_end = resume.unwrap_or(len);
        if let Some(start) = resume
            && r.header_at(start).is_some_and(|h| h.base_offset == base)
        {
            // Nothing valid before the damage, and the batches after it start at this
            // segment's own base offset: they stay in this segment, the damaged bytes are cut
            // out of it (written aside and renamed into place).
            let tmp = with_suffix(&path, REPAIRING_SUFFIX);
            copy_ranges(&r.file, &path, &[(0, damage), (start, len)], &tmp)?;
            fp::rename(&tmp, &path, "repair.rename").map_err(Error::io("rename", &tmp))?;
            fsync_dir_at(dir, "repair.dir_fsync")?;
            repairs.push(Repair::Removed {
                path: path.clone(),
                position: damage,
                bytes: start - damage,
            });
            rebuild_indexes(seg, index_interval, repairs)?;
            return Ok(true);
        }
        if let Some(start) = resume {
            let first = r.header_at(start).map_or(0, |h| h.base_offset);
            let target = LogSegment::new(dir, first).log_path();
            if target.exists() {
                return Err(Error::Invalid(format!(
                    "cannot move the valid batches at {}:{start}: {} exists",
                    path.display(),
                    target.display()
                )));
            }
            let mut last = first;
            let mut p = start;
            while let Some((size, l)) = r.peek(p, len)? {
                if l == i64::MAX {
                    break;
                }
                last = l;
                p += size;
            }
            // The tail is copied, durably, under a name that is no segment; it becomes one by
            // a rename, made durable before anything is cut.
            let tmp = with_suffix(&target, REPAIRING_SUFFIX);
            copy_ranges(&r.file, &path, &[(start, len)], &tmp)?;
            fp::rename(&tmp, &target, "repair.rename").map_err(Error::io("rename", &tmp))?;
            fsync_dir_at(dir, "repair.dir_fsync")?;
            repairs.push(Repair::Moved {
                from: path.clone(),
                position: start,
                bytes: len - start,
                to: target,
                first_offset: first,
                last_offset: last,
            });
            // The new segment gets its indexes at once (retention reads its age there).
            rebuild_indexes(LogSegment::new(dir, first), index_interval, repairs)?;
        }
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(Error::io("open", &path))?;
        fp::set_len(&f, damage, "repair.truncate").map_err(Error::io("truncate", &path))?;
        fp::sync_all(&f, "repair.truncate_fsync").map_err(Error::io("fsync", &path))?;
        repairs.push(Repair::Removed {
            path: path.clone(),
            position: damage,
            bytes: cut_end - damage,
        });
        rebuild_indexes(seg, index_interval, repairs)?;
        return Ok(true);
    }
    Ok(false)
}

/// Rebuilds both indexes of a segment from its `.log` ([`LogSegment::rebuild_indexes`]),
/// noting them in `repairs`.
fn rebuild_indexes(seg: LogSegment<'_>, interval: u32, repairs: &mut Vec<Repair>) -> Result<()> {
    for path in seg.rebuild_indexes(interval)? {
        repairs.push(Repair::RebuiltIndex { path });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::BatchBuilder;
    use crate::format::batch::set_base_offset;
    use crate::storage::{Log, LogConfig};

    /// A batch of `n` records at offsets `base..base + n`.
    fn batch_at(base: i64, n: usize) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        for i in 0..n {
            b.append(1000, None, Some(format!("v{i}").as_bytes()), &[]);
        }
        let mut bytes = b.finish();
        set_base_offset(&mut bytes, base);
        bytes
    }

    fn write_rp(dir: &Path, rp: i64) {
        let text = format!("{{\"recovery_point\":{rp}}}");
        fs::write(dir.join(super::super::layout::RECOVERY_POINT_FILE), text).unwrap();
    }

    fn offset_problems(dir: &Path) -> Vec<(u64, String)> {
        verify_partition(dir)
            .unwrap()
            .problems
            .into_iter()
            .filter(|p| p.kind == ProblemKind::OffsetOrder)
            .map(|p| (p.position, p.detail))
            .collect()
    }

    #[test]
    fn gaps_are_legal_below_the_recovery_point_and_damage_from_it_on() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (batch_at(0, 5), batch_at(10, 5));
        fs::write(layout::log_file(dir.path(), 0), [a.clone(), b].concat()).unwrap();
        // Offsets 5..9 missing, as a broker replicating a compacted partition leaves them.
        assert_eq!(offset_problems(dir.path()), vec![]);
        write_rp(dir.path(), 15);
        assert_eq!(offset_problems(dir.path()), vec![]);
        // klog flushed at offset 5: what follows is its own appends, which start at 5.
        write_rp(dir.path(), 5);
        let p = offset_problems(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, a.len() as u64, "{p:?}");
        assert!(p[0].1.contains("recovery point 5"), "{p:?}");
    }

    #[test]
    fn a_recovery_point_above_a_cut_log_is_lowered_before_new_appends() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        for n in 0..3 {
            log.append(&mut batch_at(0, 10)).unwrap();
            assert_eq!(log.log_end_offset().unwrap(), 10 * (n + 1));
        }
        log.flush().unwrap();
        drop(log);
        // The third batch (20..29) is gone although it was flushed (the file ends cleanly
        // before it): the log ends at 20, below its recovery point.
        let path = layout::log_file(dir.path(), 0);
        let len = fs::metadata(&path).unwrap().len();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - batch_at(0, 10).len() as u64).unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), 20);
        assert!(log.take_truncations().is_empty());
        assert_eq!(
            crate::storage::log::read_recovery_point(dir.path()),
            Some(20)
        );
        // An append across the old recovery point (30), then a kill before any flush.
        log.append(&mut batch_at(0, 15)).unwrap();
        std::mem::forget(log);
        assert_eq!(offset_problems(dir.path()), vec![]);
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), 35);
        assert!(log.take_truncations().is_empty());
    }

    /// Regression test for a bug the corruption suite found: a recovery point damaged (or
    /// stale) to a value inside a batch (45, in the batch 40..49) made recovery cut that
    /// batch, acknowledged records included, as if its base offset were damaged. A batch that
    /// continues the one before it is not damaged: the point is, and nothing is cut.
    #[test]
    fn regression_a_recovery_point_inside_a_batch_cuts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        for _ in 0..5 {
            log.append(&mut batch_at(0, 10)).unwrap();
        }
        log.flush().unwrap();
        drop(log);
        write_rp(dir.path(), 45);
        assert_eq!(offset_problems(dir.path()), vec![]);
        let mut reader = crate::storage::LogReader::open(dir.path()).unwrap();
        reader.seek(0).unwrap();
        let mut next = 0;
        while let Some(b) = reader.next_batch().unwrap() {
            let h = &b.batch.as_batch().unwrap().header;
            assert_eq!(h.base_offset, next);
            next = h.next_offset();
        }
        assert_eq!(next, 50);
        // (The log is loaded, and recovered, on its first use.)
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), 50);
        assert!(log.take_truncations().is_empty());
        // A base offset that neither starts at the point nor continues the log still is
        // damage: the last batch 40..49 moved to 60..69.
        drop(log);
        write_rp(dir.path(), 50);
        let path = layout::log_file(dir.path(), 0);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - batch_at(0, 10).len();
        set_base_offset(&mut bytes[last..], 60);
        fs::write(&path, &bytes).unwrap();
        assert_eq!(offset_problems(dir.path()).len(), 1);
        let mut reader = crate::storage::LogReader::open(dir.path()).unwrap();
        reader.seek(0).unwrap();
        let mut seen = 0;
        let err = loop {
            match reader.next_batch() {
                Ok(Some(_)) => seen += 1,
                Ok(None) => panic!("read past the damaged batch"),
                Err(e) => break e,
            }
        };
        assert_eq!(seen, 4);
        assert!(matches!(err, crate::Error::Corrupt { position, .. } if position == last as u64));
        // Its checksum holds: no crash leaves that, so the writer does not cut it (nor
        // append after it) but names it, until a repair cuts it.
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        let err = log.log_end_offset().unwrap_err();
        assert!(matches!(err, crate::Error::Corrupt { position, .. } if position == last as u64));
        assert!(log.append(&mut batch_at(0, 1)).is_err());
        assert_eq!(fs::read(&path).unwrap().len(), bytes.len());
        drop(log);
        repair_partition(dir.path(), 4096).unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        assert_eq!(log.log_end_offset().unwrap(), 40);
        assert!(log.take_truncations().is_empty());
    }

    /// Damage in segment 0 (next segment at 100), then a good batch with a gap before it and
    /// nothing after it that confirms it: kept where the segment shows compaction, cut where it
    /// does not (its base offset could be damaged too).
    #[test]
    fn repair_keeps_an_unconfirmed_batch_only_where_gaps_are_normal() {
        for first in [0, 2] {
            let dir = tempfile::tempdir().unwrap();
            let a = batch_at(first, 5 - first as usize);
            let mut damaged = batch_at(5, 5);
            let last = damaged.len() - 1;
            damaged[last] ^= 0x01;
            let c = batch_at(12, 3);
            let log0 = [a.clone(), damaged.clone(), c].concat();
            fs::write(layout::log_file(dir.path(), 0), log0).unwrap();
            fs::write(layout::log_file(dir.path(), 100), b"").unwrap();
            let repairs = repair_partition(dir.path(), 4096).unwrap();
            let moved = repairs.iter().any(|r| {
                matches!(
                    r,
                    Repair::Moved {
                        first_offset: 12,
                        ..
                    }
                )
            });
            // A segment starting with a gap (first = 2) shows compaction.
            assert_eq!(moved, first == 2, "first batch at {first}: {repairs:?}");
            assert!(verify_partition(dir.path()).unwrap().problems.is_empty());
        }
    }
}
