//! Reading a partition: segment listing, chunked batch reads, and [`LogReader`], which finds
//! the first batch for an offset or a timestamp through the indexes and then streams batches
//! across segments.
//!
//! # Invariants
//! 1. A reader takes no lock and only returns whole batches whose framing and CRC it checked,
//!    at offsets that keep the log's invariants (see [`LogReader::next_batch`]); only to
//!    confirm that an offset anomaly is damage does it wait for the partition lock, shared.
//! 2. A batch running past the end of the active segment is a write in progress (or a torn
//!    tail awaiting recovery): it is the current end of the log, not an error. The same in a
//!    closed segment, or a bad CRC anywhere, is corruption, reported with file and position.
//! 3. Index entries are hints: the reader checks that the batch at an entry's position holds
//!    the entry's offset before using it, and falls back to the segment start otherwise.
//! 4. A reader never moves to a segment whose base offset is not the next offset it expects
//!    without a listing of the directory known to miss no segment before it (two listings
//!    that both show the next segment): a segment a roll has just created is never skipped.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::checkpoint;
use super::index::{self, FileSource, OFFSET_ENTRY_SIZE, TIME_ENTRY_SIZE};
pub use super::layout::list_segments;
use super::layout::{self, CLEANED_SUFFIX, SWAP_SUFFIX};
use crate::error::{Error, Result};
use crate::format::batch::{Peek, peek_entry};
use crate::format::legacy::LegacyMessage;
use crate::format::{BatchHeader, DECOMPRESS_LIMIT, DecodeError, RecordBatch};

/// What the bytes at a position of a `.log` hold.
pub(crate) enum At<'a> {
    /// A whole batch (magic 2, CRC checked).
    Batch(RecordBatch<'a>),
    /// A whole legacy message (magic 0 or 1, CRC checked).
    Legacy(LegacyMessage<'a>),
    /// Fewer than 17 bytes left, or an entry running past the end of the file: `needed` is
    /// how many bytes from the position a whole entry would take.
    End { needed: usize },
}

/// What [`ChunkReader::checked_header_at`] finds at a position.
pub(crate) enum Checked {
    /// A whole entry whose checksum holds: its header.
    Header(BatchHeader),
    /// As [`At::End`].
    End { needed: usize },
}

/// A log entry as framed on disk, before any check of its contents.
pub enum RawAt<'a> {
    /// Fewer than 17 bytes left.
    End,
    /// A frame whose entry runs past the end of the file.
    Incomplete {
        frame: crate::format::batch::EntryFrame,
        available: u64,
    },
    /// A size field no entry format allows: nothing after it can be framed.
    BadFrame(DecodeError),
    Entry {
        frame: crate::format::batch::EntryFrame,
        bytes: &'a [u8],
    },
}

/// Reads a `.log` file in large chunks, handing out whole batches.
#[derive(Debug)]
pub struct ChunkReader {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
    buf: ReadBuf,
}

/// A window of a file's bytes: `data[..filled]` holds the file from `pos`. The vector is
/// zeroed once when it grows, never before each read. It comes from, and goes back to, a
/// spare kept per thread, so that a reader opened after another (the log end offset, then
/// the first batch wanted) reuses memory already touched instead of faulting in a fresh
/// megabyte (which costs more than reading it).
#[derive(Debug)]
struct ReadBuf {
    data: Vec<u8>,
    filled: usize,
    pos: u64,
}

thread_local! {
    /// The largest vector a dropped [`ReadBuf`] left on this thread.
    static SPARE_READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Default for ReadBuf {
    fn default() -> Self {
        ReadBuf {
            data: SPARE_READ_BUF.try_with(|s| s.take()).unwrap_or_default(),
            filled: 0,
            pos: 0,
        }
    }
}

impl Drop for ReadBuf {
    fn drop(&mut self) {
        let data = std::mem::take(&mut self.data);
        let _ = SPARE_READ_BUF.try_with(|s| {
            let mut spare = s.borrow_mut();
            if data.capacity() > spare.capacity() {
                *spare = data;
            }
        });
    }
}

const CHUNK: usize = 256 * 1024;

const REACHES_NEXT_SEGMENT: &str = "batch reaching the next segment's base offset";

/// Whether an interrupted compaction swap left its files (`.cleaned`, `.swap`) in `dir`: until
/// the next writer finishes or undoes it, a merged segment may overlap the ones it replaces,
/// which readers then read past (their position only goes up: nothing is handed out twice).
fn swap_left_over(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(SWAP_SUFFIX) || name.ends_with(CLEANED_SUFFIX)
        })
    })
}

/// The recovery point's rule for a v2 batch starting at `base_offset` whose last offset is at
/// or past klog's recovery point `rp`: batches from the point on are klog's own appends since
/// its last fsync, so they continue each other. `prev_next` is the offset after the batch
/// before (the segment's base at its start; `None` when not known). The first batch reaching
/// the point starts at it, or continues the batch before (then the point is off a batch
/// boundary: stale or damaged, not this batch); the ones after it continue exactly.
pub(crate) fn continues_after_recovery_point(
    rp: i64,
    prev_next: Option<i64>,
    base_offset: i64,
) -> bool {
    match prev_next {
        Some(p) if p > rp => base_offset == p,
        Some(p) => base_offset == rp || base_offset == p,
        None => true,
    }
}

/// Bytes of a v2 batch header (up to the records count).
const BATCH_HEADER_LEN: usize = 61;

impl ReadBuf {
    /// Makes `[pos, pos + len)` available, reading at most up to `file_len`.
    fn fill(
        &mut self,
        file: &File,
        path: &Path,
        pos: u64,
        len: usize,
        file_len: u64,
    ) -> Result<&[u8]> {
        // Nothing past the end of the file can be asked of the buffer: a range reaching past
        // it is held once the buffer reaches the end (else the last batch of a followed log
        // would be read twice).
        let end = (pos + len as u64).min(file_len.max(pos));
        let have = self.pos <= pos && end <= self.pos + self.filled as u64;
        if !have {
            let want = (len.max(CHUNK) as u64).min(file_len.saturating_sub(pos)) as usize;
            let want = want.max(len.min(file_len.saturating_sub(pos) as usize));
            if self.data.len() < want {
                self.data.resize(want, 0);
            }
            self.filled = 0;
            let mut got = 0;
            while got < want {
                match file.read_at(&mut self.data[got..want], pos + got as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io("read", path)(e)),
                }
            }
            self.filled = got;
            self.pos = pos;
        }
        let from = (pos - self.pos) as usize;
        let to = (from + len).min(self.filled);
        Ok(&self.data[from..to])
    }
}

impl ChunkReader {
    pub fn open(path: &Path) -> Result<ChunkReader> {
        let file = super::fs::open_regular(path)?;
        Ok(ChunkReader::new(file, path))
    }

    pub fn new(file: File, path: &Path) -> ChunkReader {
        ChunkReader {
            file,
            path: path.to_path_buf(),
            buf: ReadBuf::default(),
        }
    }

    /// Forgets buffered bytes, so that the next read goes to the file.
    pub fn invalidate(&mut self) {
        self.buf.filled = 0;
    }

    pub fn file_len(&self) -> Result<u64> {
        Ok(self
            .file
            .metadata()
            .map_err(Error::io("stat", &self.path))?
            .len())
    }

    fn fill(&mut self, pos: u64, len: usize, file_len: u64) -> Result<&[u8]> {
        self.buf.fill(&self.file, &self.path, pos, len, file_len)
    }

    /// The entry at `pos`, for a file currently `file_len` bytes long.
    pub(crate) fn at(&mut self, pos: u64, file_len: u64) -> Result<At<'_>> {
        let path = &self.path;
        let head = self.buf.fill(&self.file, path, pos, 17, file_len)?;
        let frame = match peek_entry(head) {
            Ok(Peek::End) => return Ok(At::End { needed: 17 }),
            Ok(Peek::Entry(f)) | Ok(Peek::Incomplete(f)) => f,
            Err(e) => return Err(Error::corrupt(path, pos, e)),
        };
        if pos + frame.size as u64 > file_len {
            return Ok(At::End { needed: frame.size });
        }
        let bytes = self.buf.fill(&self.file, path, pos, frame.size, file_len)?;
        if bytes.len() < frame.size {
            return Ok(At::End { needed: frame.size });
        }
        if frame.magic == 0 || frame.magic == 1 {
            return match LegacyMessage::decode(bytes) {
                Ok(m) => Ok(At::Legacy(m)),
                Err(e) => Err(Error::corrupt(path, pos, e)),
            };
        }
        match RecordBatch::decode(bytes) {
            Ok(b) => Ok(At::Batch(b)),
            Err(e) => Err(Error::corrupt(path, pos, e)),
        }
    }

    /// What [`ChunkReader::at`] tells of the entry at `pos`, but only its header (a legacy
    /// message's as a v2 header): for scans that need no records. A v2 batch larger than the
    /// read chunk is checked (CRC and header fields) as it streams through a chunk-sized
    /// buffer, never held whole, so that scanning a log of huge records takes no more memory
    /// than one of small ones.
    pub(crate) fn checked_header_at(&mut self, pos: u64, file_len: u64) -> Result<Checked> {
        let path = &self.path;
        let head = self
            .buf
            .fill(&self.file, path, pos, BATCH_HEADER_LEN, file_len)?;
        let frame = match peek_entry(head) {
            Ok(Peek::Entry(f)) | Ok(Peek::Incomplete(f)) => Some(f),
            _ => None,
        };
        let Some(frame) = frame.filter(|f| {
            f.size > CHUNK
                && f.magic == crate::format::batch::CURRENT_MAGIC
                && pos + f.size as u64 <= file_len
                && head.len() >= BATCH_HEADER_LEN
        }) else {
            return Ok(match self.at(pos, file_len)? {
                At::Batch(b) => Checked::Header(b.header),
                At::Legacy(m) => Checked::Header(legacy_header(&m)),
                At::End { needed } => Checked::End { needed },
            });
        };
        let header = BatchHeader::parse(head).map_err(|e| Error::corrupt(path, pos, e))?;
        let mut crc = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
        let mut chunk = vec![0u8; CHUNK];
        let mut at = pos + crate::format::batch::ATTRIBUTES_OFFSET as u64;
        let end = pos + frame.size as u64;
        while at < end {
            let n = ((end - at) as usize).min(CHUNK);
            let Some(buf) = chunk.get_mut(..n) else {
                break;
            };
            self.file
                .read_exact_at(buf, at)
                .map_err(Error::io("read", path))?;
            crc.update(buf);
            at += n as u64;
        }
        header
            .check(crc.finalize() as u32)
            .map_err(|e| Error::corrupt(path, pos, e))?;
        Ok(Checked::Header(header))
    }

    /// The headers of the whole v2 batch at `pos` and of the v2 batch after it (when the file
    /// holds that one's header), unchecked; the buffer then holds both, so that [`ChunkReader::at`]
    /// reads nothing more. `None` when no whole v2 batch is at `pos`.
    pub(crate) fn headers_at(
        &mut self,
        pos: u64,
        file_len: u64,
    ) -> Result<Option<(BatchHeader, Option<BatchHeader>)>> {
        let path = &self.path;
        let head = self.buf.fill(&self.file, path, pos, 17, file_len)?;
        let frame = match peek_entry(head) {
            Ok(Peek::Entry(f)) | Ok(Peek::Incomplete(f)) => f,
            _ => return Ok(None),
        };
        if frame.magic != crate::format::batch::CURRENT_MAGIC || pos + frame.size as u64 > file_len
        {
            return Ok(None);
        }
        let bytes = self.buf.fill(
            &self.file,
            path,
            pos,
            frame.size + BATCH_HEADER_LEN,
            file_len,
        )?;
        let Some(h) = BatchHeader::parse(bytes).ok() else {
            return Ok(None);
        };
        let next = bytes
            .get(frame.size..)
            .filter(|b| b.len() >= BATCH_HEADER_LEN)
            .and_then(|b| BatchHeader::parse(b).ok())
            .filter(|n| n.magic == crate::format::batch::CURRENT_MAGIC);
        Ok(Some((h, next)))
    }

    /// The raw entry at `pos`, whatever its magic, without checking its contents.
    pub fn raw_at(&mut self, pos: u64, file_len: u64) -> Result<RawAt<'_>> {
        let head = self.fill(pos, 17, file_len)?;
        let frame = match peek_entry(head) {
            Ok(Peek::End) => return Ok(RawAt::End),
            Ok(Peek::Entry(f)) | Ok(Peek::Incomplete(f)) => f,
            Err(e) => return Ok(RawAt::BadFrame(e)),
        };
        if pos + frame.size as u64 > file_len {
            return Ok(RawAt::Incomplete {
                frame,
                available: file_len - pos,
            });
        }
        let bytes = self.fill(pos, frame.size, file_len)?;
        if bytes.len() < frame.size {
            return Ok(RawAt::Incomplete {
                frame,
                available: bytes.len() as u64,
            });
        }
        Ok(RawAt::Entry { frame, bytes })
    }

    /// Size and last offset of the entry at `pos` from its header alone (no CRC check), or
    /// `None` at the end of the data. Entries that are not well-formed v2 batches report
    /// `i64::MAX` as last offset so that [`ChunkReader::at`] gets to report them.
    pub fn peek(&mut self, pos: u64, file_len: u64) -> Result<Option<(u64, i64)>> {
        let path = &self.path;
        let head = self.buf.fill(&self.file, path, pos, 61, file_len)?;
        let frame = match peek_entry(head) {
            Ok(Peek::End) => return Ok(None),
            Ok(Peek::Entry(f)) | Ok(Peek::Incomplete(f)) => f,
            Err(e) => return Err(Error::corrupt(path, pos, e)),
        };
        if pos + frame.size as u64 > file_len {
            return Ok(None);
        }
        let last = match BatchHeader::parse(head) {
            _ if frame.magic == 0 || frame.magic == 1 => frame.offset,
            Ok(h) if frame.magic == 2 && h.last_offset_delta >= 0 => h.last_offset(),
            _ => i64::MAX,
        };
        Ok(Some((frame.size as u64, last)))
    }

    /// Whether a whole entry at `pos` carries a checksum that holds: such bytes were written
    /// as they are (a crash leaves only an incomplete last entry, and a power loss unwritten
    /// or stale sectors, whose checksum fails), so whatever else is wrong with them is damage
    /// that only a repair may cut.
    pub(crate) fn crc_holds_at(&mut self, pos: u64, file_len: u64) -> Result<bool> {
        Ok(match self.raw_at(pos, file_len)? {
            RawAt::Entry { frame, bytes } if frame.magic == crate::format::batch::CURRENT_MAGIC => {
                BatchHeader::parse(bytes)
                    .is_ok_and(|h| h.crc == crate::format::batch::compute_crc(bytes))
            }
            RawAt::Entry { frame, bytes } if frame.magic == 0 || frame.magic == 1 => bytes
                .get(12..16)
                .and_then(|b| b.try_into().ok())
                .is_some_and(|b: [u8; 4]| {
                    u32::from_be_bytes(b) == crate::format::legacy::compute_crc(bytes)
                }),
            _ => false,
        })
    }

    /// The framing of the entry at `pos`, if a whole one is there.
    pub fn frame_at(
        &mut self,
        pos: u64,
        file_len: u64,
    ) -> Result<Option<crate::format::batch::EntryFrame>> {
        Ok(match self.raw_at(pos, file_len)? {
            RawAt::Entry { frame, .. } => Some(frame),
            _ => None,
        })
    }

    /// The v2 batch header at `pos`, through the read buffer (no CRC check): for walking a
    /// segment entry by entry after [`ChunkReader::peek`].
    pub fn buffered_header(&mut self, pos: u64, file_len: u64) -> Result<Option<BatchHeader>> {
        let head = self
            .buf
            .fill(&self.file, &self.path, pos, BATCH_HEADER_LEN, file_len)?;
        Ok(BatchHeader::parse(head)
            .ok()
            .filter(|h| h.magic == crate::format::batch::CURRENT_MAGIC))
    }

    /// Reads the batch header at `pos` without checking the CRC (index checks, timestamps).
    pub fn header_at(&self, pos: u64) -> Option<BatchHeader> {
        let mut b = [0u8; 61];
        self.file.read_exact_at(&mut b, pos).ok()?;
        BatchHeader::parse(&b).ok()
    }
}

/// Outcome of validating batches from a position to the end of a file.
#[derive(Debug)]
pub(crate) struct Scan {
    /// End of the last valid batch.
    pub valid_end: u64,
    /// Next offset after the last valid batch (or the expected one if there was none).
    pub next_offset: i64,
    /// Why the scan stopped before the end of the file, if it did.
    pub damage: Option<Error>,
}

impl Scan {
    /// Whether what stopped this scan of segment `base` (read by `r`) is what a crash leaves
    /// at the end of the log, and so what the next writer cuts: bytes at or above the
    /// recovery point `rp` that are not an entry whose checksum holds (a killed writer leaves
    /// an incomplete last entry, a power loss bytes that never reached the disk). Anything
    /// else is damage: below the point everything was fsynced, and an entry whose checksum
    /// holds was written as it is.
    pub(crate) fn stopped_at_crash_debris(
        &self,
        r: &mut ChunkReader,
        base: i64,
        rp: Option<i64>,
    ) -> Result<bool> {
        if rp.is_some_and(|rp| rp > base && self.next_offset < rp) {
            return Ok(false);
        }
        // An entry running past the end of the file as the scan saw it: a write in progress
        // (it may be whole by now), or a killed writer's.
        if let Some(Error::Corrupt {
            source: DecodeError::Truncated { .. },
            ..
        }) = &self.damage
        {
            return Ok(true);
        }
        Ok(!r.crc_holds_at(self.valid_end, r.file_len()?)?)
    }

    /// The log end offset this scan of the last segment `base` shows: where it stopped, when
    /// that is the end of the data or what a crash left there (see
    /// [`Scan::stopped_at_crash_debris`]: a write in progress looks the same). Damage before
    /// the end is an error: the log goes on after it, and a log end offset taken from it
    /// would make readers stop there quietly.
    pub(crate) fn end_offset(self, r: &mut ChunkReader, base: i64, rp: Option<i64>) -> Result<i64> {
        if self.damage.is_none() || self.stopped_at_crash_debris(r, base, rp)? {
            return Ok(self.next_offset);
        }
        Err(self
            .damage
            .unwrap_or(Error::Internal("a scan stopped without damage")))
    }
}

/// Validates batches from `pos` on: framing, CRC, and offsets increasing from `next_offset`.
/// Calls `on_batch(position, header)` for each valid batch.
pub(crate) fn scan_batches(
    r: &mut ChunkReader,
    mut pos: u64,
    mut next_offset: i64,
    mut on_batch: impl FnMut(u64, &BatchHeader),
) -> Result<Scan> {
    let file_len = r.file_len()?;
    loop {
        let step = match r.checked_header_at(pos, file_len) {
            Ok(Checked::End { needed }) => {
                if pos < file_len {
                    Some(Err(Error::corrupt(
                        &r.path,
                        pos,
                        DecodeError::Truncated {
                            at: 0,
                            needed,
                            available: (file_len - pos) as usize,
                        },
                    )))
                } else {
                    None
                }
            }
            Ok(Checked::Header(h)) => {
                if h.base_offset < next_offset {
                    Some(Err(Error::corrupt(
                        &r.path,
                        pos,
                        DecodeError::BadLength {
                            at: 0,
                            what: "base offset (not above the previous batch)",
                            value: h.base_offset,
                        },
                    )))
                } else {
                    Some(Ok(h))
                }
            }
            Err(e @ Error::Corrupt { .. }) => Some(Err(e)),
            Err(e) => return Err(e),
        };
        match step {
            None => {
                return Ok(Scan {
                    valid_end: pos,
                    next_offset,
                    damage: None,
                });
            }
            Some(Err(e)) => {
                return Ok(Scan {
                    valid_end: pos,
                    next_offset,
                    damage: Some(e),
                });
            }
            Some(Ok(h)) => {
                on_batch(pos, &h);
                next_offset = h.next_offset();
                pos += h.size() as u64;
            }
        }
    }
}

/// What a partition holds, from file sizes, the batch headers of every segment (no record is
/// decoded but in the rare batches noted at `walk_headers`) and the validated tail of the
/// last segment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PartitionStats {
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    /// Records from the log start offset on: what a reader gets, control records included.
    /// Below `log_end_offset - log_start_offset` where compaction removed records.
    pub records: u64,
    pub size_bytes: u64,
    pub segments: usize,
    /// The smallest record timestamp (a batch counts with its first record's), if any.
    pub first_timestamp: Option<i64>,
    /// The largest record timestamp, if any record has one.
    pub last_timestamp: Option<i64>,
}

/// What [`walk_headers`] found in one `.log`.
#[derive(Debug, Default)]
struct HeaderWalk {
    batches: u64,
    /// Records at or above the walk's `from` offset.
    records: u64,
    /// Last offset of the last whole entry.
    last_offset: Option<i64>,
    first_timestamp: Option<i64>,
    last_timestamp: Option<i64>,
    /// Why the walk stopped before the end of the file, if an entry could not be framed.
    damage: Option<Error>,
}

impl HeaderWalk {
    fn timestamps(&mut self, first: i64, last: i64) {
        if first >= 0 {
            self.first_timestamp = Some(self.first_timestamp.map_or(first, |t| t.min(first)));
        }
        if last >= 0 {
            self.last_timestamp = Some(self.last_timestamp.map_or(last, |t| t.max(last)));
        }
    }
}

/// Bytes read at a time while entries are small; for large ones (past [`SMALL_ENTRY`]) only
/// the next header is read, so that walking a segment of 1 MiB batches reads a few bytes per
/// megabyte.
const WALK_WINDOW: usize = 64 * 1024;
const SMALL_ENTRY: usize = 8 * 1024;
/// Bytes of an entry's head the walk looks at: a v2 batch header, or a legacy message's
/// offset, size, CRC, magic, attributes and timestamp.
const ENTRY_HEAD: usize = BATCH_HEADER_LEN;

/// Walks the entries of the `.log` at `path` through their headers alone, without checking
/// CRCs: batches, records at or above offset `from` (the log start: records below it are no
/// longer read), the last offset, and the smallest and largest record timestamps, ignoring
/// records without one (-1). A v2 batch's smallest timestamp is taken as its first record's
/// (the base timestamp; the max timestamp for `LogAppendTime`), as producers write them in
/// order. Records are decoded only where the headers do not tell: the one batch that straddles
/// `from` when compaction left gaps in it, a batch whose base timestamp is a delete horizon,
/// and a compressed legacy wrapper. Emptied batches (kept by compaction, no records) count
/// for nothing. The walk stops at an entry that cannot be framed or runs past the end (a
/// write in progress), noting the damage in the first case.
fn walk_headers(path: &Path, from: i64) -> Result<HeaderWalk> {
    let file = super::fs::open_regular(path)?;
    let len = file.metadata().map_err(Error::io("stat", path))?.len();
    let mut w = HeaderWalk::default();
    let (mut buf, mut buf_pos) = (Vec::new(), 0u64);
    let mut pos = 0u64;
    let mut prev_size = 0usize;
    let read_at = |buf: &mut Vec<u8>, at: u64, want: usize| -> Result<()> {
        buf.resize(want, 0);
        let mut got = 0;
        while got < want {
            match file.read_at(&mut buf[got..], at + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("read", path)(e)),
            }
        }
        buf.truncate(got);
        Ok(())
    };
    while pos < len {
        let need = ENTRY_HEAD.min((len - pos) as usize);
        if pos < buf_pos || pos + need as u64 > buf_pos + buf.len() as u64 {
            let window = if prev_size > SMALL_ENTRY {
                ENTRY_HEAD
            } else {
                WALK_WINDOW
            };
            read_at(&mut buf, pos, window.min((len - pos) as usize))?;
            buf_pos = pos;
        }
        let head = &buf[(pos - buf_pos) as usize..];
        let frame = match peek_entry(head) {
            Ok(Peek::End) => break,
            Ok(Peek::Entry(f)) | Ok(Peek::Incomplete(f)) => f,
            Err(e) => {
                w.damage = Some(Error::corrupt(path, pos, e));
                break;
            }
        };
        if pos + frame.size as u64 > len {
            break;
        }
        let whole = |buf: &mut Vec<u8>| -> Result<Vec<u8>> {
            let mut entry = Vec::new();
            read_at(&mut entry, pos, frame.size)?;
            buf.clear();
            Ok(entry)
        };
        if frame.magic == crate::format::batch::CURRENT_MAGIC {
            let Ok(h) = BatchHeader::parse(head) else {
                w.damage = Some(Error::corrupt(
                    path,
                    pos,
                    DecodeError::Truncated {
                        at: 0,
                        needed: BATCH_HEADER_LEN,
                        available: head.len(),
                    },
                ));
                break;
            };
            w.batches += 1;
            w.last_offset = Some(h.last_offset());
            let count = h.records_count.max(0) as u64;
            let dense = i64::from(h.records_count) == i64::from(h.last_offset_delta) + 1;
            let straddles = h.base_offset < from && h.last_offset() >= from;
            let horizon = h.has_delete_horizon()
                && h.timestamp_type() == crate::format::TimestampType::CreateTime;
            if count > 0 && h.last_offset() >= from {
                if (straddles && !dense) || horizon {
                    // Only the records tell: decode them (CRC checked; on damage the header's
                    // counts stand).
                    let entry = whole(&mut buf)?;
                    let mut scratch = Vec::new();
                    match RecordBatch::decode(&entry).and_then(|b| {
                        let mut kept = (0u64, None::<i64>);
                        for r in b.records_in(&mut scratch)? {
                            let r = r?;
                            if b.offset_of(&r) >= from {
                                kept.0 += 1;
                                let t = b.timestamp_of(&r);
                                if t >= 0 {
                                    kept.1 = Some(kept.1.map_or(t, |m| m.min(t)));
                                }
                            }
                        }
                        Ok(kept)
                    }) {
                        Ok((n, first)) => {
                            w.records += n;
                            w.timestamps(first.unwrap_or(-1), h.max_timestamp);
                        }
                        Err(_) => {
                            w.records += count;
                            w.timestamps(h.max_timestamp, h.max_timestamp);
                        }
                    }
                } else {
                    w.records += if straddles {
                        (h.last_offset() - from + 1) as u64
                    } else {
                        count
                    };
                    w.timestamps(h.first_timestamp().unwrap_or(-1), h.max_timestamp);
                }
            }
        } else if frame.magic == 0 || frame.magic == 1 {
            w.batches += 1;
            w.last_offset = Some(frame.offset);
            // offset 8, size 4, crc 4, magic 1, attributes 1, timestamp 8 (magic 1).
            let codec = head.get(17).map_or(0, |a| a & 0x07);
            if codec != 0 {
                let entry = whole(&mut buf)?;
                let records = LegacyMessage::decode(&entry)
                    .and_then(|m| crate::format::legacy::records(&m, DECOMPRESS_LIMIT));
                match records {
                    Ok(records) => {
                        for r in records.iter().filter(|r| r.offset >= from) {
                            w.records += 1;
                            w.timestamps(r.timestamp, r.timestamp);
                        }
                    }
                    Err(e) => {
                        w.damage = Some(Error::corrupt(path, pos, e));
                        break;
                    }
                }
            } else if frame.offset >= from {
                w.records += 1;
                if frame.magic == 1
                    && let Some(ts) = head.get(18..26)
                {
                    let ts = i64::from_be_bytes(ts.try_into().unwrap_or([0xff; 8]));
                    w.timestamps(ts, ts);
                }
            }
        } else {
            w.damage = Some(Error::corrupt(
                path,
                pos,
                DecodeError::UnsupportedMagic {
                    at: 16,
                    magic: frame.magic,
                },
            ));
            break;
        }
        prev_size = frame.size;
        pos += frame.size as u64;
    }
    Ok(w)
}

/// Scans the last segment from `start` (the position of an index entry's batch) to its end,
/// falling back to the segment start when the batch at `start` is not whole: then the offset
/// before it is unknown, and the index entry itself is stale.
fn scan_tail(
    r: &mut ChunkReader,
    start: Option<(i64, u64)>,
    base: i64,
    mut on_batch: impl FnMut(u64, &BatchHeader),
) -> Result<Scan> {
    if let Some((_, pos)) = start.filter(|&(_, p)| p > 0) {
        let scan = scan_batches(r, pos, base, &mut on_batch)?;
        if scan.valid_end > pos {
            return Ok(scan);
        }
    }
    scan_batches(r, 0, base, on_batch)
}

/// What Kafka's checkpoint files say of one partition, as klog's files and segments show it:
/// the entries a broker would find for it in its data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionCheckpoints {
    /// klog's recovery point (0 without one), never above the log end offset
    /// (`recovery-point-offset-checkpoint`).
    pub recovery_point: i64,
    /// The log end offset: one local replica's high watermark (`replication-offset-checkpoint`).
    pub high_watermark: i64,
    /// The log start offset, when it is above the first segment's base offset (the only ones
    /// `log-start-offset-checkpoint` lists).
    pub log_start_offset: Option<i64>,
    /// The first dirty offset, where compaction ran (`cleaner-offset-checkpoint`).
    pub cleaner_offset: Option<i64>,
}

/// The checkpoint entries of the partition in directory `dir` (which must exist).
pub fn partition_checkpoints(dir: &Path) -> Result<PartitionCheckpoints> {
    let mut r = LogReader::open(dir)?;
    let leo = r.log_end_offset()?;
    let lso = r.log_start_offset();
    Ok(PartitionCheckpoints {
        recovery_point: checkpoint::read_recovery_point(dir).unwrap_or(0).min(leo),
        high_watermark: leo,
        log_start_offset: r
            .segments()
            .first()
            .is_some_and(|&b| lso > b)
            .then_some(lso),
        cleaner_offset: checkpoint::read_cleaner_offset(dir),
    })
}

/// What one segment holds, from its batch headers and index sizes (no record decoding).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SegmentSummary {
    pub base_offset: i64,
    /// Last offset of the last whole batch, if any.
    pub last_offset: Option<i64>,
    pub batches: u64,
    pub records: u64,
    pub size_bytes: u64,
    pub first_timestamp: Option<i64>,
    pub last_timestamp: Option<i64>,
    pub index_entries: usize,
    pub time_index_entries: usize,
}

/// Summarizes segment `base` of partition `dir` by walking its entry headers (see
/// `walk_headers`): every record in the file, and its smallest and largest timestamps.
pub fn summarize_segment(dir: &Path, base: i64) -> Result<SegmentSummary> {
    let path = layout::log_file(dir, base);
    let len = std::fs::metadata(&path)
        .map_err(Error::io("stat", &path))?
        .len();
    let w = walk_headers(&path, i64::MIN)?;
    if let Some(e) = w.damage {
        return Err(e);
    }
    let mut s = SegmentSummary {
        base_offset: base,
        last_offset: w.last_offset,
        batches: w.batches,
        records: w.records,
        size_bytes: len,
        first_timestamp: w.first_timestamp,
        last_timestamp: w.last_timestamp,
        ..SegmentSummary::default()
    };
    if let Ok(src) = FileSource::open(&layout::index_file(dir, base)) {
        s.index_entries = index::valid_entries(&src, OFFSET_ENTRY_SIZE);
    }
    if let Ok(src) = FileSource::open(&layout::time_index_file(dir, base)) {
        s.time_index_entries = index::valid_entries(&src, TIME_ENTRY_SIZE);
    }
    Ok(s)
}

/// A log entry: a v2 record batch, or a legacy (magic 0/1) message.
pub enum Entry<'a> {
    Batch(RecordBatch<'a>),
    Legacy(LegacyMessage<'a>),
}

impl<'a> Entry<'a> {
    /// The v2 batch, if this entry is one.
    pub fn as_batch(&self) -> Option<&RecordBatch<'a>> {
        match self {
            Entry::Batch(b) => Some(b),
            Entry::Legacy(_) => None,
        }
    }

    /// Offset after this entry's last record.
    pub fn next_offset(&self) -> i64 {
        match self {
            Entry::Batch(b) => b.header.next_offset(),
            Entry::Legacy(m) => m.offset.saturating_add(1),
        }
    }
}

/// A log entry handed out by [`LogReader`], with where it was found.
pub struct BatchRef<'a> {
    pub batch: Entry<'a>,
    pub segment_base: i64,
    pub position: u64,
}

/// The header fields a legacy message has, as a v2 header: its offset as base and last
/// offset (a compressed wrapper carries the offset of its last inner message), its timestamp.
fn legacy_header(m: &LegacyMessage<'_>) -> BatchHeader {
    BatchHeader {
        base_offset: m.offset,
        batch_length: (m.size - crate::format::batch::LOG_OVERHEAD) as i32,
        magic: m.magic,
        max_timestamp: m.timestamp,
        base_timestamp: m.timestamp,
        records_count: 1,
        ..BatchHeader::default()
    }
}

struct Current {
    base: i64,
    reader: ChunkReader,
    pos: u64,
    /// File size when last looked at; re-read when the reader reaches it.
    file_len: u64,
    /// Base offset of the segment after this one when it was opened (its batches end below).
    next_base: Option<i64>,
}

/// Streams batches of one partition from an offset or a timestamp, across segments.
pub struct LogReader {
    dir: PathBuf,
    segments: Vec<i64>,
    /// The listing before `segments` (see [`LogReader::listed_twice`]).
    prev_segments: Vec<i64>,
    cur: Option<Current>,
    /// Batches whose last offset is below this are skipped.
    skip_below: i64,
    /// Next offset after the last v2 batch handed out from the current segment: the next
    /// one must start at or after it.
    prev_next: Option<i64>,
    /// klog's recovery point, read when the last segment is opened: from it on, batches are
    /// contiguous (see [`LogReader::offset_anomaly`]).
    recovery_point: Option<i64>,
    /// Re-reading under the partition lock to confirm an anomaly: a second one is damage.
    confirming: bool,
}

impl LogReader {
    /// Opens a reader positioned at the log start.
    pub fn open(dir: &Path) -> Result<LogReader> {
        let segments = list_segments(dir)?;
        Ok(LogReader {
            dir: dir.to_path_buf(),
            segments,
            prev_segments: Vec::new(),
            cur: None,
            skip_below: i64::MIN,
            prev_next: None,
            recovery_point: None,
            confirming: false,
        })
    }

    pub fn segments(&self) -> &[i64] {
        &self.segments
    }

    /// First offset of the log (the first segment's base offset).
    pub fn log_start_offset(&self) -> i64 {
        checkpoint::log_start_offset(&self.dir, &self.segments)
    }

    /// The log end offset: the offset the next appended record will get.
    pub fn log_end_offset(&mut self) -> Result<i64> {
        self.refresh_segments()?;
        let Some(&base) = self.segments.last() else {
            return Ok(0);
        };
        let log_path = layout::log_file(&self.dir, base);
        let mut r = ChunkReader::open(&log_path)?;
        let start = self.active_index_lookup(base, i64::MAX);
        let rp = checkpoint::recovery_point(&self.dir);
        scan_tail(&mut r, start, base, |_, _| {})?.end_offset(&mut r, base, rp)
    }

    /// Offsets, sizes and timestamps of the partition.
    pub fn stats(&mut self) -> Result<PartitionStats> {
        self.refresh_segments()?;
        let mut st = PartitionStats {
            log_start_offset: self.log_start_offset(),
            segments: self.segments.len(),
            ..PartitionStats::default()
        };
        let Some(&last_base) = self.segments.last() else {
            return Ok(st);
        };
        // Records and timestamps from every segment's headers; a segment that vanished
        // meanwhile (retention, compaction) is skipped.
        let mut tail = HeaderWalk::default();
        for &b in &self.segments {
            let p = layout::log_file(&self.dir, b);
            let w = match walk_headers(&p, st.log_start_offset) {
                Ok(w) => w,
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            st.size_bytes += std::fs::metadata(&p).map_or(0, |m| m.len());
            st.records += w.records;
            tail.timestamps(
                w.first_timestamp.unwrap_or(-1),
                w.last_timestamp.unwrap_or(-1),
            );
        }
        st.first_timestamp = tail.first_timestamp;
        st.last_timestamp = tail.last_timestamp;
        // The log end offset from the validated tail of the last segment.
        let mut r = ChunkReader::open(&layout::log_file(&self.dir, last_base))?;
        let start = self.active_index_lookup(last_base, i64::MAX);
        let scan = scan_tail(&mut r, start, last_base, |_, _| {})?;
        let rp = checkpoint::recovery_point(&self.dir);
        st.log_end_offset = scan.end_offset(&mut r, last_base, rp)?;
        Ok(st)
    }

    fn refresh_segments(&mut self) -> Result<()> {
        let fresh = list_segments(&self.dir)?;
        #[cfg(test)]
        let fresh = tests::hide_in_listing(fresh);
        self.prev_segments = std::mem::replace(&mut self.segments, fresh);
        Ok(())
    }

    /// Whether segment `base` was in the last two listings. A directory listing runs while
    /// segments are created, and may show one without another created just before it (seen
    /// on ext4: `readdir` walks names in hash order). A listing that started after `base`
    /// existed shows every segment created before `base`, and the second of two listings
    /// showing `base` started after the first had seen it: so when both show it, the second
    /// misses no segment below it.
    fn listed_twice(&self, base: i64) -> bool {
        self.segments.binary_search(&base).is_ok()
            && self.prev_segments.binary_search(&base).is_ok()
    }

    /// Index in `segments` of the segment to read after segment `base`, whose batches
    /// continue at `expected` (when known). A segment starting exactly there is the next one
    /// (a roll creates it at the log end offset); any other is taken only once the listing
    /// is known to miss none before it ([`LogReader::listed_twice`]), re-listing if need
    /// be. `None` when there is no later segment.
    fn next_segment_after(&mut self, base: i64, expected: Option<i64>) -> Result<Option<usize>> {
        let mut relisted = false;
        for _ in 0..8 {
            match self.segments.iter().position(|&b| b > base) {
                None if relisted => return Ok(None),
                Some(i)
                    if expected == Some(self.segments[i])
                        || self.listed_twice(self.segments[i]) =>
                {
                    return Ok(Some(i));
                }
                _ => {}
            }
            self.refresh_segments()?;
            relisted = true;
        }
        Ok(self.segments.iter().position(|&b| b > base))
    }

    /// Index in `segments` of the segment holding `offset` (the last one starting at or
    /// before it), or the first one when all start after it, which is taken only once the
    /// listing is known to miss none before it (see [`LogReader::listed_twice`]).
    fn segment_for(&mut self, offset: i64) -> Result<Option<usize>> {
        for _ in 0..8 {
            match self.segments.partition_point(|&b| b <= offset) {
                0 if self.segments.is_empty() => return Ok(None),
                0 if !self.listed_twice(self.segments[0]) => self.refresh_segments()?,
                0 => return Ok(Some(0)),
                n => return Ok(Some(n - 1)),
            }
        }
        Ok((!self.segments.is_empty()).then_some(0))
    }

    /// The lowest base offset a compacted-away segment may have been merged into: the segment
    /// being read (or the log start before any was read).
    fn cur_base_floor(&self) -> i64 {
        self.cur.as_ref().map_or(i64::MIN, |c| c.base)
    }

    /// Index lookup in segment `base`: (offset, position) of the largest entry ≤ target,
    /// checked against the log.
    fn active_index_lookup(&self, base: i64, target: i64) -> Option<(i64, u64)> {
        let path = layout::index_file(&self.dir, base);
        let is_last = self.segments.last() == Some(&base);
        let found = if is_last {
            let src = FileSource::open(&path).ok()?;
            let n = index::valid_entries(&src, OFFSET_ENTRY_SIZE);
            index::lookup_offset(&src, n, base, target)
        } else {
            let f = super::fs::open_regular(&path).ok()?;
            // SAFETY: closed segments' indexes are never modified in place: they are only
            // replaced by rename or deleted, which leaves this mapping valid.
            #[allow(unsafe_code)]
            let m = unsafe { Mmap::map(&f) }.ok()?;
            let n = index::valid_entries(&m, OFFSET_ENTRY_SIZE);
            index::lookup_offset(&m, n, base, target)
        }?;
        // Trust the entry only if the batch at its position really ends at its offset.
        let log = super::fs::open_regular(&layout::log_file(&self.dir, base)).ok()?;
        let r = ChunkReader::new(log, Path::new(""));
        let h = r.header_at(found.position as u64)?;
        (h.last_offset() == found.offset).then_some((found.offset, found.position as u64))
    }

    /// Positions the reader so that the next batch returned is the one holding `offset` (or
    /// the first after it). Offsets below the log start go to the log start.
    pub fn seek(&mut self, offset: i64) -> Result<()> {
        self.refresh_segments()?;
        let offset = offset.max(self.log_start_offset());
        self.skip_below = offset;
        self.cur = None;
        let Some(idx) = self.segment_for(offset)? else {
            return Ok(());
        };
        let base = self.segments[idx];
        let pos = self.active_index_lookup(base, offset).map_or(0, |(_, p)| p);
        self.open_segment(idx, pos)
    }

    fn open_segment(&mut self, idx: usize, pos: u64) -> Result<()> {
        let mut base = self.segments[idx];
        let mut pos = pos;
        // The segment being left goes first: its read buffer (as large as its largest batch)
        // is then the one the new reader takes up, not a second one beside it.
        let floor = self.cur_base_floor();
        self.cur = None;
        let mut path = layout::log_file(&self.dir, base);
        let mut tries = 0;
        let reader = loop {
            match super::fs::open_regular(&path) {
                Ok(f) => break ChunkReader::new(f, &path),
                // Gone meanwhile: deleted by retention or trimming (go on with the next
                // segment), or merged into an earlier one by compaction (read that one again:
                // the batches already returned are skipped, offsets never change).
                Err(Error::Io { source: e, .. })
                    if e.kind() == std::io::ErrorKind::NotFound && tries < 16 =>
                {
                    tries += 1;
                    self.refresh_segments()?;
                    let missing = base;
                    let merged_into = self.segments.iter().rev().find(|&&b| b < missing);
                    let next = self.segments.iter().find(|&&b| b > missing);
                    let pick = match (merged_into, next) {
                        (Some(&b), _) if b >= floor => Some(b),
                        (_, Some(&b)) => Some(b),
                        _ => None,
                    };
                    match pick {
                        Some(b) => {
                            base = b;
                            pos = 0;
                            path = layout::log_file(&self.dir, base);
                        }
                        None => return Err(Error::io("open", &path)(e)),
                    }
                }
                Err(e) => return Err(e),
            }
        };
        let file_len = reader.file_len()?;
        let next_base = self
            .segments
            .get(self.segments.partition_point(|&b| b <= base));
        self.cur = Some(Current {
            base,
            reader,
            pos,
            file_len,
            next_base: next_base.copied(),
        });
        // A segment's batches start at or after its base offset.
        self.prev_next = (pos == 0).then_some(base);
        self.recovery_point = if self.segments.last() == Some(&base) {
            checkpoint::read_recovery_point(&self.dir).filter(|&rp| rp >= base)
        } else {
            None
        };
        Ok(())
    }

    /// Why the v2 batch `h` of the current segment, followed by `next` (the header after it,
    /// when the file holds one), cannot have the base offset it claims; `None` when it
    /// can. A base offset is outside the batch's CRC, so damage to it shows only against the
    /// offsets' invariants, the ones Kafka keeps too: base offsets go up within a segment, a
    /// segment's batches end below the next segment's base, and klog's appends since its
    /// last fsync (from its recovery point on, in the last segment) are contiguous.
    fn offset_anomaly(&self, h: &BatchHeader, next: Option<&BatchHeader>) -> Option<&'static str> {
        self.offset_anomaly_in(h, next).filter(|&why| {
            !(why == REACHES_NEXT_SEGMENT && self.confirming && swap_left_over(&self.dir))
        })
    }

    fn offset_anomaly_in(
        &self,
        h: &BatchHeader,
        next: Option<&BatchHeader>,
    ) -> Option<&'static str> {
        let last = h.last_offset();
        if self.prev_next.is_some_and(|p| h.base_offset < p) {
            return Some("base offset below the end of the batch before it");
        }
        if next.is_some_and(|n| n.base_offset <= last) {
            return Some("batch reaching the base offset of the batch after it");
        }
        if let Some(next_base) = self.cur.as_ref().and_then(|c| c.next_base)
            && last >= next_base
        {
            return Some(REACHES_NEXT_SEGMENT);
        }
        if let Some(rp) = self.recovery_point
            && last >= rp
            && !continues_after_recovery_point(rp, self.prev_next, h.base_offset)
        {
            return Some("base offset that does not continue the log after its recovery point");
        }
        None
    }

    /// An offset anomaly may be a compaction swap or a writer's recovery caught half way
    /// (readers take no lock): wait for the partition lock (shared, so only writers and the
    /// cleaner are waited for), look at the directory again and re-read from where the
    /// caller is; the same anomaly then is damage.
    fn confirm_anomaly(&mut self) -> Result<Option<BatchRef<'_>>> {
        let lock = File::open(&self.dir).map_err(Error::io("open directory", &self.dir))?;
        lock.lock_shared().map_err(Error::io("lock", &self.dir))?;
        let prev_next = self.prev_next;
        let next = self.skip_below;
        self.confirming = true;
        let reread = if self.cur.as_ref().is_some_and(|c| self.still_on_disk(c)) {
            // The same file: read the same position again (seeking by offset could land in
            // another segment claiming the same offsets, and hide the anomaly).
            self.reread_current()
        } else {
            // Replaced (a compaction swap) or deleted: find the offset again.
            self.seek(next)
        }
        .map(|()| {
            self.prev_next = prev_next;
        });
        // The lock is released when `lock` goes out of scope, after the batch is read: a swap
        // that starts later replaces files by rename, which leaves what was read intact.
        match reread {
            Ok(()) => self.next_batch_inner(),
            Err(e) => Err(e),
        }
    }

    /// Whether the file `c` reads is still the segment's file in the directory (not replaced
    /// by a compaction swap, nor deleted).
    fn still_on_disk(&self, c: &Current) -> bool {
        use std::os::unix::fs::MetadataExt;
        let (Ok(open), Ok(named)) = (
            c.reader.file.metadata(),
            std::fs::metadata(layout::log_file(&self.dir, c.base)),
        ) else {
            return false;
        };
        open.ino() == named.ino() && open.dev() == named.dev()
    }

    /// Re-reads the current segment from the current position: a fresh listing (for the next
    /// segment's base), the file's size, and no buffered bytes.
    fn reread_current(&mut self) -> Result<()> {
        self.refresh_segments()?;
        let Some(c) = self.cur.as_mut() else {
            return Ok(());
        };
        c.reader.invalidate();
        c.file_len = c.reader.file_len()?;
        let base = c.base;
        c.next_base = self
            .segments
            .get(self.segments.partition_point(|&b| b <= base))
            .copied();
        self.recovery_point = if self.segments.last() == Some(&base) {
            checkpoint::read_recovery_point(&self.dir).filter(|&rp| rp >= base)
        } else {
            None
        };
        Ok(())
    }

    /// The offset of the first record with a timestamp ≥ `timestamp`, or `None` when no
    /// record is that recent. Goes through the time index, then the offset index, then a scan.
    pub fn offset_for_timestamp(&mut self, timestamp: i64) -> Result<Option<i64>> {
        self.refresh_segments()?;
        let segments = self.segments.clone();
        for (i, &base) in segments.iter().enumerate() {
            // Skip segments whose largest timestamp is below the target (cheap: the last
            // time-index entry of a closed segment; the active one is scanned from its hint).
            let is_last = i + 1 == segments.len();
            let tpath = layout::time_index_file(&self.dir, base);
            let hint = FileSource::open(&tpath).ok().map(|src| {
                let n = index::valid_entries(&src, TIME_ENTRY_SIZE);
                let last = index::time_entries_last(&src, n, base);
                let lb = index::lookup_time(&src, n, base, timestamp);
                (last, lb)
            });
            if !is_last
                && let Some((Some(last), _)) = hint
                && last.timestamp < timestamp
            {
                continue;
            }
            let from_offset = hint.and_then(|(_, lb)| lb).map_or(base, |e| e.offset);
            let pos = self
                .active_index_lookup(base, from_offset)
                .map_or(0, |(_, p)| p);
            let path = layout::log_file(&self.dir, base);
            let mut r = ChunkReader::open(&path)?;
            let file_len = r.file_len()?;
            let mut pos = pos;
            loop {
                match r.at(pos, file_len)? {
                    At::End { .. } => break,
                    At::Legacy(m) => {
                        let recs = crate::format::legacy::records(&m, DECOMPRESS_LIMIT)
                            .map_err(|e| Error::corrupt(&path, pos, e))?;
                        if let Some(r) = recs.iter().find(|r| r.timestamp >= timestamp) {
                            return Ok(Some(r.offset));
                        }
                        pos += m.size as u64;
                    }
                    At::Batch(b) => {
                        if b.header.max_timestamp >= timestamp {
                            let mut scratch = Vec::new();
                            for rec in b
                                .records_in(&mut scratch)
                                .map_err(|e| Error::corrupt(&path, pos, e))?
                            {
                                let rec = rec.map_err(|e| Error::corrupt(&path, pos, e))?;
                                if b.timestamp_of(&rec) >= timestamp {
                                    return Ok(Some(b.offset_of(&rec)));
                                }
                            }
                        }
                        pos += b.header.size() as u64;
                    }
                }
            }
        }
        Ok(None)
    }

    /// The next batch at or after the sought offset, or `None` at the current end of the log.
    /// Call again later to see batches appended since.
    ///
    /// A v2 batch is handed out only if its base offset (which its CRC does not cover) keeps
    /// the offsets' invariants; otherwise this returns [`Error::Corrupt`] with the file and
    /// position, before any of its records is seen.
    pub fn next_batch(&mut self) -> Result<Option<BatchRef<'_>>> {
        self.confirming = false;
        self.next_batch_inner()
    }

    fn next_batch_inner(&mut self) -> Result<Option<BatchRef<'_>>> {
        if self.cur.is_none() {
            self.refresh_segments()?;
            if self.segments.is_empty() {
                return Ok(None);
            }
            self.skip_below = self.skip_below.max(self.log_start_offset());
            let Some(idx) = self.segment_for(self.skip_below)? else {
                return Ok(None);
            };
            self.open_segment(idx, 0)?;
        }
        loop {
            let Some(cur) = self.cur.as_mut() else {
                return Ok(None);
            };
            match cur.reader.peek(cur.pos, cur.file_len)? {
                Some((size, last_offset)) => {
                    // Batches below the sought offset are passed over by their headers, unless
                    // one goes back below the batch before it (or below the segment's base):
                    // that is damage, for the checks below to report.
                    if last_offset < self.skip_below
                        && self.prev_next.is_none_or(|p| last_offset >= p)
                    {
                        cur.pos += size;
                        // Base offsets go up from here on, skipped batches included.
                        self.prev_next = last_offset.checked_add(1);
                        continue;
                    }
                    break;
                }
                None => {
                    // Maybe the file grew since we last looked. Buffered bytes past this point
                    // may be stale: a writer's recovery can cut a torn tail and write anew.
                    cur.reader.invalidate();
                    let len = cur.reader.file_len()?;
                    if len != cur.file_len {
                        cur.file_len = len;
                        continue;
                    }
                    // End of this segment: move to the next one if there is one.
                    let (base, pos) = (cur.base, cur.pos);
                    // Never move to a segment that does not continue this one without making
                    // sure that the listing misses none in between.
                    let Some(i) = self.next_segment_after(base, self.prev_next)? else {
                        return Ok(None);
                    };
                    let Some(cur) = self.cur.as_ref() else {
                        return Ok(None);
                    };
                    // Re-check the size: the writer may have finished a batch just before it
                    // rolled. Anything still incomplete before a later segment is damage.
                    let len = cur.reader.file_len()?;
                    if len != cur.file_len {
                        if let Some(c) = self.cur.as_mut() {
                            c.file_len = len;
                        }
                        continue;
                    }
                    if pos + 17 <= len {
                        return Err(Error::corrupt(
                            &cur.reader.path,
                            pos,
                            DecodeError::Truncated {
                                at: 0,
                                needed: 17,
                                available: (len - pos) as usize,
                            },
                        ));
                    }
                    self.open_segment(i, 0)?;
                }
            }
        }
        let Some(cur) = self.cur.as_mut() else {
            return Ok(None);
        };
        let pos = cur.pos;
        let base = cur.base;
        // Check the batch's offsets first (from its header, and the next one's, in the
        // buffer), so that a batch at offsets that are not its own is never handed out.
        if let Some((h, next)) = cur.reader.headers_at(pos, cur.file_len)?
            && let Some(why) = self.offset_anomaly(&h, next.as_ref())
        {
            if !self.confirming {
                return self.confirm_anomaly();
            }
            let path = layout::log_file(&self.dir, base);
            return Err(Error::corrupt(
                &path,
                pos,
                DecodeError::BadLength {
                    at: 0,
                    what: why,
                    value: h.base_offset,
                },
            ));
        }
        let Some(cur) = self.cur.as_mut() else {
            return Ok(None);
        };
        match cur.reader.at(pos, cur.file_len)? {
            At::Batch(batch) => {
                self.prev_next = Some(batch.header.next_offset());
                cur.pos += batch.header.size() as u64;
                // Never hand out an older batch again (a segment re-read after compaction).
                self.skip_below = self.skip_below.max(batch.header.next_offset());
                Ok(Some(BatchRef {
                    batch: Entry::Batch(batch),
                    segment_base: base,
                    position: pos,
                }))
            }
            At::Legacy(m) => {
                cur.pos += m.size as u64;
                self.skip_below = self.skip_below.max(m.offset.saturating_add(1));
                Ok(Some(BatchRef {
                    batch: Entry::Legacy(m),
                    segment_base: base,
                    position: pos,
                }))
            }
            At::End { .. } => Ok(None),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::format::BatchBuilder;
    use crate::storage::{Log, LogConfig, now_ms};

    thread_local! {
        /// Segments that the next listings of this thread leave out: (base offset, how many
        /// listings), as a `readdir` racing with a roll can.
        static HIDDEN: RefCell<Vec<(i64, usize)>> = const { RefCell::new(Vec::new()) };
    }

    /// `LogReader`'s listings go through this in tests (see [`HIDDEN`]).
    pub(in crate::storage) fn hide_in_listing(mut listing: Vec<i64>) -> Vec<i64> {
        HIDDEN.with(|h| {
            for (base, left) in h.borrow_mut().iter_mut() {
                if *left > 0 {
                    *left -= 1;
                    listing.retain(|b| b != base);
                }
            }
        });
        listing
    }

    /// Appends offsets `from..to`, one record per batch, rolling before each multiple of 10.
    fn append_rolling(log: &mut Log, from: i64, to: i64) {
        for o in from..to {
            if o > 0 && o % 10 == 0 {
                log.roll().unwrap();
            }
            let mut b = BatchBuilder::new();
            b.append(now_ms(), None, Some(format!("v{o}").as_bytes()), &[]);
            log.append(&mut b.finish()).unwrap();
        }
    }

    fn read_all(r: &mut LogReader) -> Vec<i64> {
        let mut out = Vec::new();
        while let Some(b) = r.next_batch().unwrap() {
            out.push(b.batch.as_batch().unwrap().header.base_offset);
        }
        out
    }

    /// The checkpoint entries of a partition: the recovery point capped at the log end
    /// offset, the log start only where it is above the first segment, the cleaner offset
    /// only where compaction ran.
    #[test]
    fn partition_checkpoints_are_what_a_broker_would_find() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        append_rolling(&mut log, 0, 30);
        log.flush().unwrap();
        let c = partition_checkpoints(dir.path()).unwrap();
        assert_eq!(
            c,
            PartitionCheckpoints {
                recovery_point: 30,
                high_watermark: 30,
                log_start_offset: None,
                cleaner_offset: None,
            }
        );
        log.trim(15).unwrap();
        checkpoint::write_cleaner_offset(dir.path(), 20).unwrap();
        // A recovery point past the end (a log cut since) says no more than the end.
        checkpoint::write_recovery_point(dir.path(), 99).unwrap();
        let c = partition_checkpoints(dir.path()).unwrap();
        assert_eq!(list_segments(dir.path()).unwrap(), [10, 20]);
        assert_eq!((c.recovery_point, c.high_watermark), (30, 30));
        assert_eq!(c.log_start_offset, Some(15));
        assert_eq!(c.cleaner_offset, Some(20));
    }

    /// Regression: the log end offset a reader computed while another process appended
    /// failed as "damage" now and then: its scan saw the last batch incomplete (a write in
    /// progress), and the check that followed found it whole, with a checksum that holds,
    /// which is no crash's debris. An entry the scan saw running past the end is a write in
    /// progress (or a killed writer's), whatever it has become since.
    #[test]
    fn regression_a_batch_completed_after_the_scan_is_no_damage() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        append_rolling(&mut log, 0, 3);
        drop(log);
        let path = layout::log_file(dir.path(), 0);
        let len = std::fs::metadata(&path).unwrap().len();
        let mut r = ChunkReader::open(&path).unwrap();
        let last = r.header_at(0).unwrap().size() as u64 * 2;
        // What a scan of the file, taken while the third batch was half written, says.
        let scan = Scan {
            valid_end: last,
            next_offset: 2,
            damage: Some(Error::corrupt(
                &path,
                last,
                DecodeError::Truncated {
                    at: 0,
                    needed: (len - last) as usize,
                    available: 10,
                },
            )),
        };
        assert!(scan.stopped_at_crash_debris(&mut r, 0, Some(2)).unwrap());
        assert_eq!(scan.end_offset(&mut r, 0, Some(2)).unwrap(), 2);
    }

    /// Regression: a follower, and a group member that then committed past them, skipped
    /// whole segments that a roll had just created: one directory listing showed a newer
    /// segment but not the one created just before it, and the reader moved on to the newer
    /// one. Here a follower has read segment `0..10` to its end; the log rolls to segments 10
    /// and 20, and the reader's next listing leaves out segment 10 (as a `readdir` racing
    /// with the rolls can; the listing after it shows it, as a real one does).
    #[test]
    fn regression_a_listing_missing_a_segment_skips_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        append_rolling(&mut log, 0, 10);
        let mut r = LogReader::open(dir.path()).unwrap();
        r.seek(0).unwrap();
        assert_eq!(read_all(&mut r), (0..10).collect::<Vec<_>>());
        append_rolling(&mut log, 10, 30);
        HIDDEN.with(|h| *h.borrow_mut() = vec![(10, 1)]);
        assert_eq!(read_all(&mut r), (10..30).collect::<Vec<_>>());
        HIDDEN.with(|h| h.borrow_mut().clear());
    }
}
