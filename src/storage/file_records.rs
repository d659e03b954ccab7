//! A segment's `.log` read entry by entry (the read side of Kafka's `FileRecords`):
//! [`ChunkReader`] reads the file in large chunks and frames, checks and hands out whole
//! entries (v2 batches and legacy messages); `scan_batches` validates a run of batches, which
//! recovery, index rebuilds and the log end offset rely on; `walk_headers` summarizes a file
//! from its entry headers alone.
//!
//! # Invariants
//! 1. Only bytes below the file length the caller saw are read: an entry running past it is the
//!    end of the data (a write in progress, or a torn tail), which only the caller can call
//!    damage (it is, in a closed segment).
//! 2. `ChunkReader::at` and `ChunkReader::checked_header_at` check an entry's framing and
//!    CRC before anything of it is handed out; [`ChunkReader::raw_at`], [`ChunkReader::peek`]
//!    and [`ChunkReader::header_at`] do not, and are for callers that check themselves.
//! 3. A v2 batch larger than the read chunk is checked as it streams through a chunk-sized
//!    buffer: scanning a log of huge records takes no more memory than one of small ones.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::fs::open_regular;
use crate::error::{Error, Result};
use crate::format::batch::{MAGIC_V1, Peek, is_legacy_magic, is_v2_magic, peek_entry};
use crate::format::legacy::LegacyMessage;
use crate::format::{BATCH_HEADER_LEN, BatchHeader, DECOMPRESS_LIMIT, DecodeError, RecordBatch};

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
    /// Shared, so that the bytes handed out can be sent from the file later (the server's
    /// Fetch responses) even after the reader moved on.
    pub(crate) file: std::sync::Arc<File>,
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
        let file = open_regular(path)?;
        Ok(ChunkReader::new(file, path))
    }

    pub fn new(file: File, path: &Path) -> ChunkReader {
        ChunkReader {
            file: std::sync::Arc::new(file),
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
        if is_legacy_magic(frame.magic) {
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
        let head = self
            .buf
            .fill(&self.file, path, pos, BATCH_HEADER_LEN, file_len)?;
        let frame = match peek_entry(head) {
            Ok(Peek::End) => return Ok(None),
            Ok(Peek::Entry(f)) | Ok(Peek::Incomplete(f)) => f,
            Err(e) => return Err(Error::corrupt(path, pos, e)),
        };
        if pos + frame.size as u64 > file_len {
            return Ok(None);
        }
        let last = match BatchHeader::parse(head) {
            _ if is_legacy_magic(frame.magic) => frame.offset,
            Ok(h) if is_v2_magic(frame.magic) && h.last_offset_delta >= 0 => h.last_offset(),
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
            RawAt::Entry { frame, bytes } if is_v2_magic(frame.magic) => BatchHeader::parse(bytes)
                .is_ok_and(|h| h.crc == crate::format::batch::compute_crc(bytes)),
            RawAt::Entry { frame, bytes } if is_legacy_magic(frame.magic) => bytes
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

    /// The size of the entry at `pos` (its 12-byte prefix: offset and length, the same for
    /// batches and legacy messages), from the read buffer when it holds the prefix, else with
    /// a 12-byte read: never reading the entry itself. `None` when the file ends before the
    /// prefix, or the length is not an entry's.
    pub fn entry_size_at(&mut self, pos: u64, file_len: u64) -> Result<Option<u64>> {
        const PREFIX: usize = 12;
        if pos + PREFIX as u64 > file_len {
            return Ok(None);
        }
        let b = &self.buf;
        let mut prefix = [0u8; PREFIX];
        if b.pos <= pos && pos + PREFIX as u64 <= b.pos + b.filled as u64 {
            let from = (pos - b.pos) as usize;
            prefix.copy_from_slice(&b.data[from..from + PREFIX]);
        } else {
            self.file
                .read_exact_at(&mut prefix, pos)
                .map_err(Error::io("read", &self.path))?;
        }
        let len = i32::from_be_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
        Ok((len > 0).then_some(PREFIX as u64 + len as u64))
    }

    /// Reads the batch header at `pos` without checking the CRC (index checks, timestamps).
    pub fn header_at(&self, pos: u64) -> Option<BatchHeader> {
        let mut b = [0u8; BATCH_HEADER_LEN];
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

/// What [`walk_headers`] found in one `.log`.
#[derive(Debug, Default)]
pub(crate) struct HeaderWalk {
    pub batches: u64,
    /// Records at or above the walk's `from` offset.
    pub records: u64,
    /// Last offset of the last whole entry.
    pub last_offset: Option<i64>,
    pub first_timestamp: Option<i64>,
    pub last_timestamp: Option<i64>,
    /// Why the walk stopped before the end of the file, if an entry could not be framed.
    pub damage: Option<Error>,
}

impl HeaderWalk {
    pub(crate) fn timestamps(&mut self, first: i64, last: i64) {
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
pub(crate) fn walk_headers(path: &Path, from: i64) -> Result<HeaderWalk> {
    let file = open_regular(path)?;
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
        } else if is_legacy_magic(frame.magic) {
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
                if frame.magic == MAGIC_V1
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
