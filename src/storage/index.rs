//! `OffsetIndex` and `TimeIndex`: Kafka's sparse, memory-mapped segment indexes.
//!
//! # Layout
//! Both are flat arrays of fixed-size big-endian entries, offsets relative to the segment base:
//!
//! | file         | entry | fields                                                        |
//! |--------------|------:|---------------------------------------------------------------|
//! | `.index`     |     8 | `u32` relative offset, `u32` byte position of a batch's start |
//! | `.timeindex` |    12 | `i64` timestamp, `u32` relative offset                        |
//!
//! # Invariants
//! 1. Entries are strictly increasing in offset (and, for the offset index, in position); time
//!    index timestamps strictly increase, since an entry is only added for a new maximum.
//! 2. The active segment's index files are preallocated to `segment.index.bytes` (rounded down
//!    to whole entries) and zero-filled; the valid entries are a prefix and the first all-zero
//!    entry ends them (no valid entry is all zero: the first batch of a segment is never
//!    indexed, so every offset-index entry has a relative offset and a position above 0).
//! 3. On roll the files are trimmed to exactly their entries. Only the writer holding the
//!    partition lock writes. It reads entries through a shared mapping but writes them with
//!    positioned writes, so that a full disk is an `ENOSPC` error instead of a fault on a
//!    page of the preallocated (sparse) file. Readers use a read-only mapping for
//!    closed segments and positioned reads for the active one, whose file may be trimmed by a
//!    roll at any moment (a mapping past the end of a file faults).
//! 4. Indexes carry no checksum: they are hints, rebuilt from the `.log` whenever in doubt, and
//!    every position they give is checked against the log before it is trusted.
//!
//! # Kafka
//! Mirrors `AbstractIndex`, `OffsetIndex` and `TimeIndex`: `largestLowerBoundSlotFor` lookups,
//! `trimToValidSize` on roll, and the time index's reserved last slot for the roll entry.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::failpoint as fp;
use super::fs;
use crate::error::{Error, Result};

pub const OFFSET_ENTRY_SIZE: usize = 8;
pub const TIME_ENTRY_SIZE: usize = 12;

/// An offset index entry, with the offset made absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPosition {
    pub offset: i64,
    pub position: u32,
}

/// A time index entry, with the offset made absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: i64,
}

/// Read access to an index file's bytes.
pub trait IndexSource {
    /// Length in bytes.
    fn byte_len(&self) -> usize;
    /// Copies `buf.len()` bytes from `at`; false if they are not all there.
    fn read_at(&self, at: usize, buf: &mut [u8]) -> bool;
}

impl IndexSource for [u8] {
    fn byte_len(&self) -> usize {
        self.len()
    }
    fn read_at(&self, at: usize, buf: &mut [u8]) -> bool {
        match self.get(at..at + buf.len()) {
            Some(s) => {
                buf.copy_from_slice(s);
                true
            }
            None => false,
        }
    }
}

impl IndexSource for Mmap {
    fn byte_len(&self) -> usize {
        self.len()
    }
    fn read_at(&self, at: usize, buf: &mut [u8]) -> bool {
        self[..].read_at(at, buf)
    }
}

/// An index file read with positioned reads (for files another process may trim).
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: usize,
}

impl FileSource {
    /// Opens an index file for reading; anything but a regular file is refused (as
    /// [`super::fs::open_regular`] does), with an `InvalidInput` error.
    pub fn open(path: &Path) -> std::io::Result<FileSource> {
        let file = fs::open_options_regular(std::fs::OpenOptions::new().read(true)).open(path)?;
        let meta = file.metadata()?;
        if !meta.file_type().is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok(FileSource {
            file,
            len: meta.len() as usize,
        })
    }
}

impl IndexSource for FileSource {
    fn byte_len(&self) -> usize {
        self.len
    }
    fn read_at(&self, at: usize, buf: &mut [u8]) -> bool {
        self.file.read_exact_at(buf, at as u64).is_ok()
    }
}

fn read_entry<const N: usize, S: IndexSource + ?Sized>(src: &S, slot: usize) -> Option<[u8; N]> {
    let mut b = [0u8; N];
    src.read_at(slot * N, &mut b).then_some(b)
}

fn offset_entry<S: IndexSource + ?Sized>(src: &S, slot: usize) -> Option<(u32, u32)> {
    let b: [u8; 8] = read_entry(src, slot)?;
    Some((
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    ))
}

fn time_entry<S: IndexSource + ?Sized>(src: &S, slot: usize) -> Option<(i64, u32)> {
    let b: [u8; 12] = read_entry(src, slot)?;
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&b[..8]);
    Some((
        i64::from_be_bytes(ts),
        u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
    ))
}

/// The absolute offset of an entry: `None` when it is past `i64::MAX` (a segment whose base
/// offset, taken from its file name, is near `i64::MAX` cannot hold it: the entry is garbage).
fn absolute(base_offset: i64, rel: u32) -> Option<i64> {
    base_offset.checked_add(i64::from(rel))
}

/// The relative offset an index entry stores for `offset` in the segment at `base_offset`:
/// `None` when it is not in `0..=i32::MAX` (Kafka's range for relative offsets). A batch out of
/// that range (its base offset, which the CRC does not cover, damaged) is not indexed: its
/// offset truncated to 32 bits would name another one.
pub fn relative_offset(base_offset: i64, offset: i64) -> Option<u32> {
    let rel = i32::try_from(offset.checked_sub(base_offset)?).ok()?;
    u32::try_from(rel).ok()
}

/// The offset and time indexes of a segment, built in memory as its batches go by in order,
/// by the rule appends follow: an entry when more than `index.interval.bytes` were written
/// since the previous entry's batch, and a final time index entry. Offsets out of the
/// segment's range are not indexed (see [`relative_offset`]). Compaction builds the indexes
/// of what it writes with it, and repair those of a segment it re-indexes.
pub(crate) struct IndexBuilder {
    base: i64,
    interval: u64,
    index: Vec<u8>,
    time_index: Vec<u8>,
    last_indexed: u64,
    max_ts: i64,
    max_ts_offset: i64,
    last_time: i64,
}

impl IndexBuilder {
    pub(crate) fn new(base: i64, interval: u64) -> IndexBuilder {
        IndexBuilder {
            base,
            interval,
            index: Vec::new(),
            time_index: Vec::new(),
            last_indexed: 0,
            max_ts: -1,
            max_ts_offset: base,
            last_time: -1,
        }
    }

    fn push_time(&mut self) {
        if let Some(rel) = relative_offset(self.base, self.max_ts_offset) {
            self.time_index
                .extend_from_slice(&self.max_ts.to_be_bytes());
            self.time_index.extend_from_slice(&rel.to_be_bytes());
            self.last_time = self.max_ts;
        }
    }

    /// The batch at byte `pos` of the `.log`.
    pub(crate) fn on_batch(&mut self, pos: u64, last_offset: i64, max_timestamp: i64) {
        if max_timestamp > self.max_ts {
            self.max_ts = max_timestamp;
            self.max_ts_offset = last_offset;
        }
        if pos > self.last_indexed && pos - self.last_indexed > self.interval {
            if let Some(rel) = relative_offset(self.base, last_offset) {
                self.index.extend_from_slice(&rel.to_be_bytes());
                self.index.extend_from_slice(&(pos as u32).to_be_bytes());
            }
            if self.max_ts > self.last_time {
                self.push_time();
            }
            self.last_indexed = pos;
        }
    }

    /// The `.index` and `.timeindex` bytes.
    pub(crate) fn finish(mut self) -> (Vec<u8>, Vec<u8>) {
        if self.max_ts > self.last_time && self.max_ts >= 0 {
            self.push_time();
        }
        (self.index, self.time_index)
    }
}

/// Number of valid entries: those before the first all-zero entry (binary search; valid entries
/// are a prefix, see the module invariants).
pub fn valid_entries<S: IndexSource + ?Sized>(src: &S, entry_size: usize) -> usize {
    let slots = src.byte_len() / entry_size;
    let is_zero = |slot: usize| -> bool {
        let mut b = [0u8; TIME_ENTRY_SIZE];
        let b = &mut b[..entry_size];
        !src.read_at(slot * entry_size, b) || b.iter().all(|&x| x == 0)
    };
    // First slot that is zero, in [0, slots].
    let (mut lo, mut hi) = (0usize, slots);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if is_zero(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Largest entry whose offset is ≤ `target`, Kafka's `OffsetIndex.lookup`; `None` when the
/// target is below every entry (start from position 0 then).
pub fn lookup_offset<S: IndexSource + ?Sized>(
    src: &S,
    entries: usize,
    base_offset: i64,
    target: i64,
) -> Option<OffsetPosition> {
    let rel = target.checked_sub(base_offset).filter(|&r| r >= 0)?;
    let slot = largest_lower_bound(entries, |slot| {
        offset_entry(src, slot).map(|(r, _)| r as i64 <= rel)
    })?;
    let (r, position) = offset_entry(src, slot)?;
    Some(OffsetPosition {
        offset: absolute(base_offset, r)?,
        position,
    })
}

/// Largest entry whose timestamp is ≤ `timestamp`, Kafka's `TimeIndex.lookup`.
pub fn lookup_time<S: IndexSource + ?Sized>(
    src: &S,
    entries: usize,
    base_offset: i64,
    timestamp: i64,
) -> Option<TimestampOffset> {
    let slot = largest_lower_bound(entries, |slot| {
        time_entry(src, slot).map(|(ts, _)| ts <= timestamp)
    })?;
    let (ts, r) = time_entry(src, slot)?;
    Some(TimestampOffset {
        timestamp: ts,
        offset: absolute(base_offset, r)?,
    })
}

/// Last slot for which `le` holds, given `le` is true on a prefix. Unreadable slots count as
/// past the end.
fn largest_lower_bound(entries: usize, le: impl Fn(usize) -> Option<bool>) -> Option<usize> {
    let (mut lo, mut hi) = (0usize, entries);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if le(mid).unwrap_or(false) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo.checked_sub(1)
}

/// The last of the first `entries` time index entries.
pub fn time_entries_last<S: IndexSource + ?Sized>(
    src: &S,
    entries: usize,
    base_offset: i64,
) -> Option<TimestampOffset> {
    let (timestamp, r) = time_entry(src, entries.checked_sub(1)?)?;
    Some(TimestampOffset {
        timestamp,
        offset: absolute(base_offset, r)?,
    })
}

/// Reads every offset index entry (for dumps and checks), up to the first whose offset is
/// past `i64::MAX`.
pub fn offset_entries<S: IndexSource + ?Sized>(src: &S, base_offset: i64) -> Vec<OffsetPosition> {
    let n = valid_entries(src, OFFSET_ENTRY_SIZE);
    (0..n)
        .filter_map(|slot| offset_entry(src, slot))
        .map_while(|(r, position)| {
            Some(OffsetPosition {
                offset: absolute(base_offset, r)?,
                position,
            })
        })
        .collect()
}

/// Reads every time index entry, up to the first whose offset is past `i64::MAX`.
pub fn time_entries<S: IndexSource + ?Sized>(src: &S, base_offset: i64) -> Vec<TimestampOffset> {
    let n = valid_entries(src, TIME_ENTRY_SIZE);
    (0..n)
        .filter_map(|slot| time_entry(src, slot))
        .map_while(|(timestamp, r)| {
            Some(TimestampOffset {
                timestamp,
                offset: absolute(base_offset, r)?,
            })
        })
        .collect()
}

/// A writable, memory-mapped, preallocated index: the active segment's `.index` or
/// `.timeindex`.
#[derive(Debug)]
pub struct MmapIndex {
    path: PathBuf,
    file: File,
    mmap: Mmap,
    entry_size: usize,
    entries: usize,
}

impl MmapIndex {
    /// Opens (creating if needed) an index for writing and grows it to `max_bytes` rounded
    /// down to whole entries. Valid entries are counted from the existing contents.
    pub fn open(path: &Path, max_bytes: u32, entry_size: usize) -> Result<MmapIndex> {
        let file = fp::open(
            fs::open_options_regular(
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false),
            ),
            path,
            "index.open",
        )
        .map_err(Error::io("open index", path))?;
        fs::ensure_regular(&file, path)?;
        let len = file
            .metadata()
            .map_err(Error::io("stat index", path))?
            .len();
        let want = (max_bytes as u64 / entry_size as u64).max(2) * entry_size as u64;
        if len < want {
            fp::set_len(&file, want, "index.grow").map_err(Error::io("grow index", path))?;
        }
        // SAFETY: the mapping is only read, by the writer holding the partition lock. The file
        // is trimmed only on roll, by a lock holder: this one drops the mapping first (`trim`),
        // and another one's roll is detected by `Log` (a new segment exists) before this
        // mapping is touched again, then the mapping is dropped unread.
        #[allow(unsafe_code)]
        let mmap = unsafe { Mmap::map(&file) }.map_err(Error::io("map index", path))?;
        // Entries can only be in what the file held before it was grown. They are counted
        // with positioned reads: probing holes of the sparse file through the mapping makes
        // the kernel read and zero pages (and faults with SIGBUS on a full tmpfs).
        let old_len = (len.min(mmap.len() as u64) as usize) / entry_size * entry_size;
        let entries = valid_entries(
            &FileSource {
                file: file.try_clone().map_err(Error::io("open index", path))?,
                len: old_len,
            },
            entry_size,
        );
        Ok(MmapIndex {
            path: path.to_path_buf(),
            file,
            mmap,
            entry_size,
            entries,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn entries(&self) -> usize {
        self.entries
    }
    pub fn max_entries(&self) -> usize {
        self.mmap.len() / self.entry_size
    }
    pub fn source(&self) -> &Mmap {
        &self.mmap
    }

    /// True when the slot after the last entry is still unused and the last entry is set:
    /// the file holds exactly the entries this writer believes it does.
    pub fn matches_disk(&self) -> bool {
        // Positioned reads, not the mapping: the slot after the last entry is usually a hole
        // of the sparse file, and faulting it in through a mapping on a full tmpfs is SIGBUS.
        let zero = |slot: usize| {
            let mut b = [0u8; TIME_ENTRY_SIZE];
            let b = &mut b[..self.entry_size];
            self.file
                .read_exact_at(b, (slot * self.entry_size) as u64)
                .map_or(true, |()| b.iter().all(|&x| x == 0))
        };
        zero(self.entries) && (self.entries == 0 || !zero(self.entries - 1))
    }

    fn put(&mut self, bytes: &[u8], point: &'static str) -> Result<()> {
        if self.entries >= self.max_entries() {
            return Ok(());
        }
        let at = (self.entries * self.entry_size) as u64;
        fp::write_all_at(&self.file, bytes, at, point)
            .map_err(Error::io("write index", &self.path))?;
        self.entries += 1;
        Ok(())
    }

    /// Drops entries from slot `n` on (zeroing them).
    pub fn truncate_entries(&mut self, n: usize) -> Result<()> {
        if n < self.entries {
            let from = n * self.entry_size;
            let zeros = vec![0u8; (self.entries - n) * self.entry_size];
            fp::write_all_at(&self.file, &zeros, from as u64, "index.zero")
                .map_err(Error::io("write index", &self.path))?;
            self.entries = n;
        }
        Ok(())
    }

    /// Unmaps the index and trims the file to its entries (`trimToValidSize`), durably.
    pub fn trim(self) -> Result<()> {
        let MmapIndex {
            path,
            file,
            mmap,
            entry_size,
            entries,
        } = self;
        drop(mmap);
        fp::set_len(&file, (entries * entry_size) as u64, "index.trim")
            .map_err(Error::io("trim index", &path))?;
        fp::sync_all(&file, "index.trim_fsync").map_err(Error::io("fsync index", &path))
    }
}

/// The offset index of the active segment.
#[derive(Debug)]
pub struct OffsetIndex {
    pub base_offset: i64,
    inner: MmapIndex,
}

impl OffsetIndex {
    pub fn open(path: &Path, base_offset: i64, max_bytes: u32) -> Result<OffsetIndex> {
        Ok(OffsetIndex {
            base_offset,
            inner: MmapIndex::open(path, max_bytes, OFFSET_ENTRY_SIZE)?,
        })
    }
    pub fn inner(&self) -> &MmapIndex {
        &self.inner
    }
    pub fn entries(&self) -> usize {
        self.inner.entries
    }
    pub fn is_full(&self) -> bool {
        self.inner.entries >= self.inner.max_entries()
    }
    pub fn last_entry(&self) -> Option<OffsetPosition> {
        let slot = self.inner.entries.checked_sub(1)?;
        let (r, position) = offset_entry(self.inner.source(), slot)?;
        Some(OffsetPosition {
            offset: absolute(self.base_offset, r)?,
            position,
        })
    }
    pub fn lookup(&self, target: i64) -> Option<OffsetPosition> {
        lookup_offset(
            self.inner.source(),
            self.inner.entries,
            self.base_offset,
            target,
        )
    }
    pub fn entry(&self, slot: usize) -> Option<OffsetPosition> {
        if slot >= self.inner.entries {
            return None;
        }
        let (r, position) = offset_entry(self.inner.source(), slot)?;
        Some(OffsetPosition {
            offset: absolute(self.base_offset, r)?,
            position,
        })
    }
    /// Appends an entry; the caller keeps offsets and positions increasing. An offset out of
    /// the segment's range (see [`relative_offset`]) is not indexed.
    pub fn append(&mut self, offset: i64, position: u32) -> Result<()> {
        let Some(rel) = relative_offset(self.base_offset, offset) else {
            return Ok(());
        };
        let mut b = [0u8; OFFSET_ENTRY_SIZE];
        b[..4].copy_from_slice(&rel.to_be_bytes());
        b[4..].copy_from_slice(&position.to_be_bytes());
        self.inner.put(&b, "index.append")
    }
    pub fn truncate_entries(&mut self, n: usize) -> Result<()> {
        self.inner.truncate_entries(n)
    }
    pub fn matches_disk(&self) -> bool {
        self.inner.matches_disk()
    }
    pub fn trim(self) -> Result<()> {
        self.inner.trim()
    }
}

/// The time index of the active segment.
#[derive(Debug)]
pub struct TimeIndex {
    pub base_offset: i64,
    inner: MmapIndex,
}

impl TimeIndex {
    pub fn open(path: &Path, base_offset: i64, max_bytes: u32) -> Result<TimeIndex> {
        Ok(TimeIndex {
            base_offset,
            inner: MmapIndex::open(path, max_bytes, TIME_ENTRY_SIZE)?,
        })
    }
    pub fn inner(&self) -> &MmapIndex {
        &self.inner
    }
    pub fn entries(&self) -> usize {
        self.inner.entries
    }
    /// Full one slot early: the last slot is kept for the entry written on roll.
    pub fn is_full(&self) -> bool {
        self.inner.entries + 1 >= self.inner.max_entries()
    }
    pub fn entry(&self, slot: usize) -> Option<TimestampOffset> {
        if slot >= self.inner.entries {
            return None;
        }
        let (timestamp, r) = time_entry(self.inner.source(), slot)?;
        Some(TimestampOffset {
            timestamp,
            offset: absolute(self.base_offset, r)?,
        })
    }
    pub fn last_entry(&self) -> Option<TimestampOffset> {
        self.entry(self.inner.entries.checked_sub(1)?)
    }
    pub fn lookup(&self, timestamp: i64) -> Option<TimestampOffset> {
        lookup_time(
            self.inner.source(),
            self.inner.entries,
            self.base_offset,
            timestamp,
        )
    }
    /// Appends `(timestamp, offset)` if the timestamp is a new maximum (Kafka's `maybeAppend`)
    /// and the offset is in the segment's range. `allow_last_slot` is set for the final entry
    /// on roll.
    pub fn maybe_append(
        &mut self,
        timestamp: i64,
        offset: i64,
        allow_last_slot: bool,
    ) -> Result<()> {
        if timestamp < 0 || (!allow_last_slot && self.is_full()) {
            return Ok(());
        }
        if let Some(last) = self.last_entry()
            && (timestamp <= last.timestamp || offset < last.offset)
        {
            return Ok(());
        }
        let Some(rel) = relative_offset(self.base_offset, offset) else {
            return Ok(());
        };
        let mut b = [0u8; TIME_ENTRY_SIZE];
        b[..8].copy_from_slice(&timestamp.to_be_bytes());
        b[8..].copy_from_slice(&rel.to_be_bytes());
        self.inner.put(&b, "timeindex.append")
    }
    /// Keeps only the entries whose offset is below `offset`, and stops at the first one that
    /// does not follow its predecessor (a later timestamp, an offset not going back): what a
    /// torn write of an entry leaves (12-byte entries straddle sectors and pages).
    pub fn truncate_to_offset(&mut self, offset: i64) -> Result<()> {
        let mut prev: Option<TimestampOffset> = None;
        let keep = (0..self.inner.entries)
            .map_while(|s| {
                let e = self.entry(s)?;
                let follows =
                    prev.is_none_or(|p| e.timestamp > p.timestamp && e.offset >= p.offset);
                prev = Some(e);
                (e.offset < offset && e.timestamp >= 0 && follows).then_some(())
            })
            .count();
        self.inner.truncate_entries(keep)
    }
    pub fn matches_disk(&self) -> bool {
        self.inner.matches_disk()
    }
    pub fn trim(self) -> Result<()> {
        self.inner.trim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn offset_bytes(entries: &[(u32, u32)], padding: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for &(r, p) in entries {
            v.extend_from_slice(&r.to_be_bytes());
            v.extend_from_slice(&p.to_be_bytes());
        }
        v.resize(v.len() + padding * OFFSET_ENTRY_SIZE, 0);
        v
    }

    #[test]
    fn empty_index_looks_up_nothing() {
        let b = offset_bytes(&[], 4);
        assert_eq!(valid_entries(&b[..], OFFSET_ENTRY_SIZE), 0);
        assert_eq!(lookup_offset(&b[..], 0, 100, 150), None);
    }

    #[test]
    fn lookup_finds_the_largest_lower_bound() {
        let b = offset_bytes(&[(5, 4100), (9, 8200), (20, 12300)], 3);
        let n = valid_entries(&b[..], OFFSET_ENTRY_SIZE);
        assert_eq!(n, 3);
        assert_eq!(lookup_offset(&b[..], n, 100, 104), None);
        assert_eq!(
            lookup_offset(&b[..], n, 100, 105),
            Some(OffsetPosition {
                offset: 105,
                position: 4100
            })
        );
        assert_eq!(lookup_offset(&b[..], n, 100, 119).unwrap().position, 8200);
        assert_eq!(lookup_offset(&b[..], n, 100, 9999).unwrap().position, 12300);
        assert_eq!(lookup_offset(&b[..], n, 100, 50), None);
    }

    proptest! {
        #[test]
        fn offset_lookup_matches_a_linear_scan(
            deltas in proptest::collection::vec(1u32..1000, 0..200),
            padding in 0usize..50,
            target in -10i64..250_000,
        ) {
            let mut rel = 0u32;
            let entries: Vec<(u32, u32)> = deltas.iter().map(|d| { rel += d; (rel, rel * 3) }).collect();
            let b = offset_bytes(&entries, padding);
            let n = valid_entries(&b[..], OFFSET_ENTRY_SIZE);
            prop_assert_eq!(n, entries.len());
            let base = 0i64;
            let linear = entries.iter().rev().find(|&&(r, _)| r as i64 <= target - base)
                .map(|&(r, p)| OffsetPosition { offset: base + r as i64, position: p });
            prop_assert_eq!(lookup_offset(&b[..], n, base, target), linear);
        }

        #[test]
        fn time_lookup_matches_a_linear_scan(
            deltas in proptest::collection::vec((1i64..1000, 1u32..100), 0..200),
            target in -10i64..250_000,
        ) {
            let (mut ts, mut rel) = (0i64, 0u32);
            let mut b = Vec::new();
            let mut entries = Vec::new();
            for &(dt, dr) in &deltas {
                ts += dt; rel += dr;
                entries.push((ts, rel));
                b.extend_from_slice(&ts.to_be_bytes());
                b.extend_from_slice(&rel.to_be_bytes());
            }
            b.resize(b.len() + 5 * TIME_ENTRY_SIZE, 0);
            let n = valid_entries(&b[..], TIME_ENTRY_SIZE);
            prop_assert_eq!(n, entries.len());
            let linear = entries.iter().rev().find(|&&(t, _)| t <= target)
                .map(|&(t, r)| TimestampOffset { timestamp: t, offset: 7 + r as i64 });
            prop_assert_eq!(lookup_time(&b[..], n, 7, target), linear);
        }
    }

    /// Found by the `index_lookup` fuzz target: a segment named `09223372036854775807` (a
    /// valid 20-digit name) whose index holds entries made `base + relative offset` overflow.
    #[test]
    fn regression_index_of_a_segment_at_i64_max_with_entries_does_not_overflow() {
        let base = i64::MAX;
        let b = offset_bytes(&[(1, 100), (u32::MAX, 200)], 1);
        let n = valid_entries(&b[..], OFFSET_ENTRY_SIZE);
        assert_eq!(n, 2);
        assert_eq!(offset_entries(&b[..], base), vec![]);
        assert_eq!(lookup_offset(&b[..], n, base, i64::MAX), None);
        let mut t = Vec::new();
        for (ts, r) in [(10i64, 0u32), (20, 1)] {
            t.extend_from_slice(&ts.to_be_bytes());
            t.extend_from_slice(&r.to_be_bytes());
        }
        let entries = time_entries(&t[..], base);
        assert_eq!(
            entries,
            vec![TimestampOffset {
                timestamp: 10,
                offset: i64::MAX
            }]
        );
        assert_eq!(
            lookup_time(&t[..], 2, base, 15).map(|e| e.offset),
            Some(i64::MAX)
        );
        assert_eq!(lookup_time(&t[..], 2, base, 25), None);
        assert_eq!(time_entries_last(&t[..], 2, base), None);

        // The same through the files of an active segment.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("09223372036854775807.index");
        std::fs::write(&path, &b).unwrap();
        let idx = OffsetIndex::open(&path, base, 80).unwrap();
        assert_eq!(
            (idx.entries(), idx.last_entry(), idx.entry(0)),
            (2, None, None)
        );
        assert_eq!(idx.lookup(i64::MAX), None);
        let tpath = dir.path().join("09223372036854775807.timeindex");
        std::fs::write(&tpath, &t).unwrap();
        let mut ti = TimeIndex::open(&tpath, base, 120).unwrap();
        assert_eq!(ti.last_entry(), None);
        ti.truncate_to_offset(i64::MAX).unwrap();
        assert_eq!(ti.entries(), 0);
    }

    #[test]
    fn mmap_index_preallocates_appends_and_trims() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000100.index");
        let mut idx = OffsetIndex::open(&path, 100, 80).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 80);
        idx.append(105, 4100).unwrap();
        idx.append(109, 8200).unwrap();
        assert!(idx.matches_disk());
        assert_eq!(idx.lookup(107).unwrap().position, 4100);
        idx.trim().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);
        // Reopened for writing it grows back and still knows its two entries.
        let idx = OffsetIndex::open(&path, 100, 80).unwrap();
        assert_eq!(idx.entries(), 2);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 80);
        let src = FileSource::open(&path).unwrap();
        assert_eq!(offset_entries(&src, 100).len(), 2);
    }

    #[test]
    fn time_index_only_takes_new_maxima_and_reserves_the_last_slot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.timeindex");
        let mut t = TimeIndex::open(&path, 0, 36).unwrap(); // 3 slots
        t.maybe_append(10, 1, false).unwrap();
        t.maybe_append(10, 2, false).unwrap(); // not greater: skipped
        t.maybe_append(5, 3, false).unwrap(); // smaller: skipped
        assert_eq!(t.entries(), 1);
        t.maybe_append(20, 4, false).unwrap();
        assert!(t.is_full());
        t.maybe_append(30, 5, false).unwrap(); // full: skipped
        assert_eq!(t.entries(), 2);
        t.maybe_append(30, 5, true).unwrap(); // the roll entry may use the last slot
        assert_eq!(t.entries(), 3);
        assert_eq!(t.lookup(25).unwrap().offset, 4);
    }
}
