//! RecordBatch v2 (magic 2): the 61-byte header, CRC-32C, and the records it carries.
//!
//! # Layout
//! Offsets are bytes from the start of the batch; every integer is big-endian.
//!
//! | off | size | field                  | notes                                             |
//! |----:|-----:|------------------------|---------------------------------------------------|
//! |   0 |    8 | base_offset            | offset of the record with offset delta 0          |
//! |   8 |    4 | batch_length           | bytes after this field; batch size = 12 + this    |
//! |  12 |    4 | partition_leader_epoch | -1 = unknown; not covered by the CRC              |
//! |  16 |    1 | magic                  | 2 (byte 16 is the magic in every format)          |
//! |  17 |    4 | crc                    | CRC-32C of bytes [21, end)                        |
//! |  21 |    2 | attributes             | codec 0-2, timestamp type 3, txn 4, control 5, delete horizon 6 |
//! |  23 |    4 | last_offset_delta      |                                                   |
//! |  27 |    8 | base_timestamp         |                                                   |
//! |  35 |    8 | max_timestamp          |                                                   |
//! |  43 |    8 | producer_id            | -1 = none                                         |
//! |  51 |    2 | producer_epoch         | -1 = none                                         |
//! |  53 |    4 | base_sequence          | -1 = none                                         |
//! |  57 |    4 | records_count          |                                                   |
//! |  61 |    … | records                | `records_count` records, or one compressed stream |
//!
//! # Invariants
//! 1. `decode` checks framing, magic, CRC, non-negative counts (last offset delta, records)
//!    and a base offset whose last offset does not overflow before handing out a batch;
//!    record-level checks (count, lengths, no trailing bytes) happen while iterating records.
//! 2. A writer may patch `base_offset` and `partition_leader_epoch` in place after building a
//!    batch: the CRC does not cover them.

use super::DecodeError;
pub use super::compression::Compression;
use super::record::{self, Header, Record};
use super::varint::{Cursor, zigzag_encode32, zigzag32};

pub const BASE_OFFSET_OFFSET: usize = 0;
pub const LENGTH_OFFSET: usize = BASE_OFFSET_OFFSET + 8;
pub const PARTITION_LEADER_EPOCH_OFFSET: usize = LENGTH_OFFSET + 4;
pub const MAGIC_OFFSET: usize = PARTITION_LEADER_EPOCH_OFFSET + 4;
pub const CRC_OFFSET: usize = MAGIC_OFFSET + 1;
pub const ATTRIBUTES_OFFSET: usize = CRC_OFFSET + 4;
pub const LAST_OFFSET_DELTA_OFFSET: usize = ATTRIBUTES_OFFSET + 2;
pub const BASE_TIMESTAMP_OFFSET: usize = LAST_OFFSET_DELTA_OFFSET + 4;
pub const MAX_TIMESTAMP_OFFSET: usize = BASE_TIMESTAMP_OFFSET + 8;
pub const PRODUCER_ID_OFFSET: usize = MAX_TIMESTAMP_OFFSET + 8;
pub const PRODUCER_EPOCH_OFFSET: usize = PRODUCER_ID_OFFSET + 8;
pub const BASE_SEQUENCE_OFFSET: usize = PRODUCER_EPOCH_OFFSET + 2;
pub const RECORDS_COUNT_OFFSET: usize = BASE_SEQUENCE_OFFSET + 4;
pub const RECORDS_OFFSET: usize = RECORDS_COUNT_OFFSET + 4;
/// Size of the fixed v2 batch header: 61 bytes.
pub const BATCH_HEADER_LEN: usize = RECORDS_OFFSET;
/// Kafka's name for [`BATCH_HEADER_LEN`] (`DefaultRecordBatch.RECORD_BATCH_OVERHEAD`).
pub const RECORD_BATCH_OVERHEAD: usize = BATCH_HEADER_LEN;
/// The 61 header bytes of a v2 batch, as klog's own encoders handle them: a fixed size, so
/// that writing a field into them cannot miss.
pub type HeaderBytes = [u8; BATCH_HEADER_LEN];
/// Offset + size prefix shared by every log entry format (Kafka's `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = LENGTH_OFFSET + 4;
/// Bytes needed to see an entry's magic (Kafka's `HEADER_SIZE_UP_TO_MAGIC`).
pub const HEADER_SIZE_UP_TO_MAGIC: usize = MAGIC_OFFSET + 1;
/// Smallest size field any entry format accepts (a v0 message: Kafka's `RECORD_OVERHEAD_V0`).
pub const MIN_ENTRY_SIZE_FIELD: i32 = 14;
/// Magic of v0 messages (Kafka 0.8 to 0.9): no timestamp.
pub const MAGIC_V0: i8 = 0;
/// Magic of v1 messages (Kafka 0.10): a timestamp per message.
pub const MAGIC_V1: i8 = 1;
/// Magic of RecordBatch v2 (Kafka 0.11 on), the only format klog writes.
pub const MAGIC_V2: i8 = 2;
/// The magic klog writes: [`MAGIC_V2`].
pub const CURRENT_MAGIC: i8 = MAGIC_V2;

/// Whether `magic` is one of the legacy message formats (v0 or v1, [`super::legacy`]).
#[inline]
pub fn is_legacy_magic(magic: i8) -> bool {
    magic == MAGIC_V0 || magic == MAGIC_V1
}

/// Whether `magic` is RecordBatch v2's.
#[inline]
pub fn is_v2_magic(magic: i8) -> bool {
    magic == MAGIC_V2
}

const _: () = assert!(BATCH_HEADER_LEN == 61);

/// Attribute bits 0-2: the codec id ([`Compression::from_id`]). Kafka's
/// `COMPRESSION_CODEC_MASK`, the same in v0/v1 message attributes.
pub const COMPRESSION_CODEC_MASK: i16 = 0x07;
/// Attribute bit 3: set for LogAppendTime ([`TimestampType`]), clear for CreateTime.
pub const TIMESTAMP_TYPE_MASK: i16 = 0x08;
/// Attribute bit 4: the batch belongs to a transaction.
pub const TRANSACTIONAL_FLAG_MASK: i16 = 0x10;
/// Attribute bit 5: the batch holds one control record ([`super::control`]).
pub const CONTROL_FLAG_MASK: i16 = 0x20;
/// Attribute bit 6: the base timestamp is the delete horizon the cleaner set (KIP-534).
pub const DELETE_HORIZON_FLAG_MASK: i16 = 0x40;

/// Attribute bit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    #[default]
    CreateTime,
    LogAppendTime,
}

impl TimestampType {
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// The framing every log entry shares: 8-byte offset, 4-byte size, magic at byte 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryFrame {
    /// Base offset (v2) or the entry's offset (v0/v1).
    pub offset: i64,
    /// Whole entry size: 12 + the size field.
    pub size: usize,
    pub magic: i8,
}

/// What the next bytes of a log hold, by Kafka's `FileLogInputStream` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peek {
    /// Fewer than 17 bytes left: the end of the data.
    End,
    /// A well-framed entry whose bytes run past the end of the buffer.
    Incomplete(EntryFrame),
    /// A whole entry is available.
    Entry(EntryFrame),
}

/// Reads the framing of the entry at the start of `buf` without checking its contents.
pub fn peek_entry(buf: &[u8]) -> Result<Peek, DecodeError> {
    if buf.len() < HEADER_SIZE_UP_TO_MAGIC {
        return Ok(Peek::End);
    }
    let mut c = Cursor::new(buf);
    let offset = c.i64()?;
    let size_field = c.i32()?;
    if size_field < MIN_ENTRY_SIZE_FIELD {
        return Err(DecodeError::BadLength {
            at: LENGTH_OFFSET,
            what: "batch length",
            value: size_field as i64,
        });
    }
    let mut c = Cursor::at(buf, MAGIC_OFFSET);
    let magic = c.i8()?;
    let frame = EntryFrame {
        offset,
        size: LOG_OVERHEAD + size_field as usize,
        magic,
    };
    Ok(if frame.size > buf.len() {
        Peek::Incomplete(frame)
    } else {
        Peek::Entry(frame)
    })
}

/// Every field of the 61-byte v2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl Default for BatchHeader {
    fn default() -> Self {
        BatchHeader {
            base_offset: 0,
            batch_length: (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32,
            partition_leader_epoch: -1,
            magic: CURRENT_MAGIC,
            crc: 0,
            attributes: 0,
            last_offset_delta: 0,
            base_timestamp: -1,
            max_timestamp: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            records_count: 0,
        }
    }
}

impl BatchHeader {
    /// Parses the 61 header bytes at the start of `buf` (no CRC or magic check).
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, DecodeError> {
        match buf.first_chunk::<BATCH_HEADER_LEN>() {
            Some(head) => Ok(BatchHeader::read(head)),
            None => Err(DecodeError::Truncated {
                at: 0,
                needed: BATCH_HEADER_LEN,
                available: buf.len(),
            }),
        }
    }

    /// Reads every field of 61 header bytes (no CRC or magic check): it cannot fail.
    pub fn read(head: &HeaderBytes) -> BatchHeader {
        BatchHeader {
            base_offset: i64::from_be_bytes(field(head, BASE_OFFSET_OFFSET)),
            batch_length: i32::from_be_bytes(field(head, LENGTH_OFFSET)),
            partition_leader_epoch: i32::from_be_bytes(field(head, PARTITION_LEADER_EPOCH_OFFSET)),
            magic: i8::from_be_bytes(field(head, MAGIC_OFFSET)),
            crc: u32::from_be_bytes(field(head, CRC_OFFSET)),
            attributes: i16::from_be_bytes(field(head, ATTRIBUTES_OFFSET)),
            last_offset_delta: i32::from_be_bytes(field(head, LAST_OFFSET_DELTA_OFFSET)),
            base_timestamp: i64::from_be_bytes(field(head, BASE_TIMESTAMP_OFFSET)),
            max_timestamp: i64::from_be_bytes(field(head, MAX_TIMESTAMP_OFFSET)),
            producer_id: i64::from_be_bytes(field(head, PRODUCER_ID_OFFSET)),
            producer_epoch: i16::from_be_bytes(field(head, PRODUCER_EPOCH_OFFSET)),
            base_sequence: i32::from_be_bytes(field(head, BASE_SEQUENCE_OFFSET)),
            records_count: i32::from_be_bytes(field(head, RECORDS_COUNT_OFFSET)),
        }
    }

    /// Writes the 61 header bytes, fields exactly as they are (CRC included).
    pub fn write(&self, out: &mut HeaderBytes) {
        put(out, BASE_OFFSET_OFFSET, self.base_offset.to_be_bytes());
        put(out, LENGTH_OFFSET, self.batch_length.to_be_bytes());
        put(
            out,
            PARTITION_LEADER_EPOCH_OFFSET,
            self.partition_leader_epoch.to_be_bytes(),
        );
        put(out, MAGIC_OFFSET, self.magic.to_be_bytes());
        put(out, CRC_OFFSET, self.crc.to_be_bytes());
        put(out, ATTRIBUTES_OFFSET, self.attributes.to_be_bytes());
        put(
            out,
            LAST_OFFSET_DELTA_OFFSET,
            self.last_offset_delta.to_be_bytes(),
        );
        put(
            out,
            BASE_TIMESTAMP_OFFSET,
            self.base_timestamp.to_be_bytes(),
        );
        put(out, MAX_TIMESTAMP_OFFSET, self.max_timestamp.to_be_bytes());
        put(out, PRODUCER_ID_OFFSET, self.producer_id.to_be_bytes());
        put(
            out,
            PRODUCER_EPOCH_OFFSET,
            self.producer_epoch.to_be_bytes(),
        );
        put(out, BASE_SEQUENCE_OFFSET, self.base_sequence.to_be_bytes());
        put(out, RECORDS_COUNT_OFFSET, self.records_count.to_be_bytes());
    }

    pub fn size(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(self.last_offset_delta as i64)
    }
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }
    /// The codec id in bits 0-2 (5-7 are invalid; see [`Compression::from_id`]).
    pub fn compression_id(&self) -> u8 {
        (self.attributes & COMPRESSION_CODEC_MASK) as u8
    }
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_id(self.compression_id())
    }
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_MASK != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// Timestamp of the batch's first record: the append time for LogAppendTime batches,
    /// the base timestamp otherwise; `None` when there is none (-1).
    pub fn first_timestamp(&self) -> Option<i64> {
        let ts = match self.timestamp_type() {
            TimestampType::LogAppendTime => self.max_timestamp,
            TimestampType::CreateTime => self.base_timestamp,
        };
        (ts >= 0).then_some(ts)
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_FLAG_MASK != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_FLAG_MASK != 0
    }
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & DELETE_HORIZON_FLAG_MASK != 0
    }
    /// The delete horizon set by the log cleaner (KIP-534), if any.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        self.has_delete_horizon().then_some(self.base_timestamp)
    }
    /// Marks the header LogAppendTime with `now` as its max timestamp (the CRC is left as
    /// it was: the caller computes it over the bytes).
    pub fn set_log_append_time(&mut self, now: i64) {
        self.attributes |= TIMESTAMP_TYPE_MASK;
        self.max_timestamp = now;
    }

    /// Sequence number of the last record, wrapping as Kafka does.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let s = self.base_sequence as i64 + self.last_offset_delta as i64;
        if s > i32::MAX as i64 {
            (s - i32::MAX as i64 - 1) as i32
        } else {
            s as i32
        }
    }
}

/// The `N` bytes of the header field at `at` (one of the `*_OFFSET` constants).
#[inline(always)]
#[expect(
    clippy::indexing_slicing,
    reason = "a field's constant offset and size lie inside the 61-byte array"
)]
fn field<const N: usize>(head: &HeaderBytes, at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&head[at..at + N]);
    out
}

/// Writes the header field at `at` (one of the `*_OFFSET` constants).
#[inline(always)]
#[expect(
    clippy::indexing_slicing,
    reason = "a field's constant offset and size lie inside the 61-byte array"
)]
fn put<const N: usize>(head: &mut HeaderBytes, at: usize, bytes: [u8; N]) {
    head[at..at + N].copy_from_slice(&bytes);
}

/// The 61 header bytes at the start of a batch that klog built or checked.
///
/// # Panics
/// If `batch` is shorter than a header: such a buffer is no batch, and writing into it is a
/// bug in the caller.
fn head_mut<'a>(batch: &'a mut [u8], what: &str) -> &'a mut HeaderBytes {
    let len = batch.len();
    match batch.first_chunk_mut::<BATCH_HEADER_LEN>() {
        Some(head) => head,
        None => panic!("{what}: a buffer of {len} bytes is no record batch"),
    }
}

/// CRC-32C over `batch[21..]`: the range Kafka's `DefaultRecordBatch` checksums.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c(batch.get(ATTRIBUTES_OFFSET..).unwrap_or(&[]))
}

/// CRC-32C (Castagnoli, Kafka's `Crc32C`) of `bytes`, with the widest instructions the CPU
/// has (carry-less multiply folding where available).
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, bytes) as u32
}

/// A validated v2 batch borrowing its bytes: framing, magic and CRC have been checked.
#[derive(Debug, Clone, Copy)]
pub struct RecordBatch<'a> {
    pub header: BatchHeader,
    bytes: &'a [u8],
}

impl<'a> RecordBatch<'a> {
    /// Decodes the v2 batch at the start of `buf`, checking its size, magic and CRC. `buf` may
    /// hold more bytes after the batch; they are not looked at.
    pub fn decode(buf: &'a [u8]) -> Result<RecordBatch<'a>, DecodeError> {
        let frame = match peek_entry(buf)? {
            Peek::End => {
                return Err(DecodeError::Truncated {
                    at: 0,
                    needed: HEADER_SIZE_UP_TO_MAGIC,
                    available: buf.len(),
                });
            }
            Peek::Incomplete(f) => {
                return Err(DecodeError::Truncated {
                    at: 0,
                    needed: f.size,
                    available: buf.len(),
                });
            }
            Peek::Entry(f) => f,
        };
        if frame.magic != CURRENT_MAGIC {
            return Err(DecodeError::UnsupportedMagic {
                at: MAGIC_OFFSET,
                magic: frame.magic,
            });
        }
        if frame.size < RECORD_BATCH_OVERHEAD {
            return Err(DecodeError::BadLength {
                at: LENGTH_OFFSET,
                what: "batch length",
                value: (frame.size - LOG_OVERHEAD) as i64,
            });
        }
        let bytes = buf.get(..frame.size).ok_or(DecodeError::Truncated {
            at: 0,
            needed: frame.size,
            available: buf.len(),
        })?;
        let header = BatchHeader::parse(bytes)?;
        let computed = compute_crc(bytes);
        header.check(computed)?;
        Ok(RecordBatch { header, bytes })
    }

    /// The whole batch, header included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl BatchHeader {
    /// The checks [`RecordBatch::decode`] makes once the entry is framed as a whole v2 batch:
    /// its CRC (`computed` over the bytes it covers, see [`compute_crc`]), then the header
    /// fields that must agree with each other. For readers that stream a large batch through
    /// the CRC instead of holding it.
    pub fn check(&self, computed: u32) -> Result<(), DecodeError> {
        let header = self;
        if computed != header.crc {
            return Err(DecodeError::CrcMismatch {
                at: CRC_OFFSET,
                stored: header.crc,
                computed,
            });
        }
        if header.last_offset_delta < 0 {
            return Err(DecodeError::BadLength {
                at: LAST_OFFSET_DELTA_OFFSET,
                what: "last offset delta",
                value: header.last_offset_delta as i64,
            });
        }
        // Each record has an offset delta of its own within 0..=last_offset_delta.
        if header.records_count < 0
            || header.records_count as i64 > header.last_offset_delta as i64 + 1
        {
            return Err(DecodeError::BadLength {
                at: RECORDS_COUNT_OFFSET,
                what: "records count",
                value: header.records_count as i64,
            });
        }
        // The base offset is outside the CRC: a damaged one must not make offsets overflow.
        if header.base_offset < 0
            || header
                .base_offset
                .checked_add(header.last_offset_delta as i64 + 1)
                .is_none()
        {
            return Err(DecodeError::BadLength {
                at: BASE_OFFSET_OFFSET,
                what: "base offset",
                value: header.base_offset,
            });
        }
        Ok(())
    }
}

impl<'a> RecordBatch<'a> {
    /// The bytes after the header: the records, or their compressed stream.
    pub fn records_bytes(&self) -> &'a [u8] {
        self.bytes.get(RECORDS_OFFSET..).unwrap_or(&[])
    }

    /// Iterates the records of any batch, decompressing a compressed one into `scratch`
    /// (bounded by [`DECOMPRESS_LIMIT`]). Errors inside a compressed stream are reported at
    /// the start of the records section.
    pub fn records_in<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<Records<'s>, DecodeError>
    where
        'a: 's,
    {
        let codec = self
            .header
            .compression()
            .ok_or(DecodeError::UnsupportedCompression {
                at: ATTRIBUTES_OFFSET,
                codec: self.header.compression_id(),
            })?;
        if codec == Compression::None {
            return self.records();
        }
        super::compression::decompress(codec, self.records_bytes(), scratch, DECOMPRESS_LIMIT)
            .map_err(|e| e.shifted(RECORDS_OFFSET))?;
        Ok(Records {
            cursor: Cursor::new(scratch),
            left: self.header.records_count,
            done: false,
            compressed: true,
            next_zigzag: 0,
            min_delta: 0,
            last_delta: self.header.last_offset_delta,
        })
    }

    /// Iterates the records of an uncompressed batch, checking each record's framing, the
    /// record count and that no bytes are left over. Compressed batches need
    /// [`RecordBatch::records_in`].
    pub fn records(&self) -> Result<Records<'a>, DecodeError> {
        match self.header.compression() {
            Some(Compression::None) => Ok(Records {
                cursor: Cursor::new(self.records_bytes()),
                left: self.header.records_count,
                done: false,
                compressed: false,
                next_zigzag: 0,
                min_delta: 0,
                last_delta: self.header.last_offset_delta,
            }),
            _ => Err(DecodeError::UnsupportedCompression {
                at: ATTRIBUTES_OFFSET,
                codec: self.header.compression_id(),
            }),
        }
    }

    /// Absolute offset of a record of this batch.
    pub fn offset_of(&self, r: &Record<'_>) -> i64 {
        self.header
            .base_offset
            .saturating_add(r.offset_delta as i64)
    }

    /// Timestamp of a record of this batch: `max_timestamp` for LogAppendTime batches,
    /// base timestamp plus delta otherwise.
    pub fn timestamp_of(&self, r: &Record<'_>) -> i64 {
        match self.header.timestamp_type() {
            TimestampType::LogAppendTime => self.header.max_timestamp,
            TimestampType::CreateTime => self.header.base_timestamp.wrapping_add(r.timestamp_delta),
        }
    }
}

/// Most bytes a compressed batch may decompress to: a hostile batch cannot make a reader
/// allocate more.
pub const DECOMPRESS_LIMIT: usize = 64 << 20;

/// Iterator over the records of a batch; positions in its errors are relative to the start
/// of the batch (for a compressed batch, the start of its records section).
///
/// Besides each record's framing it checks the records' offset deltas, which the CRC covers
/// but nothing else does: they increase from record to record and stay within the batch's
/// `last_offset_delta` (0, 1, 2, … as a producer writes them; compaction leaves gaps, never
/// disorder). A record breaking that is reported as damage, never handed out at an offset
/// that is not its own.
pub struct Records<'a> {
    cursor: Cursor<'a>,
    left: i32,
    done: bool,
    compressed: bool,
    /// The next record's offset delta, zigzag-encoded (twice the delta), while every record
    /// so far followed the one before it; `u64::MAX` (no varint's value) after a gap.
    next_zigzag: u64,
    /// After a gap: the smallest offset delta the next record may have.
    min_delta: i64,
    last_delta: i32,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left > 0 && !self.done {
            let (buf, mut p) = self.cursor.parts();
            let start = p;
            let r = match Record::plain_fast(buf, &mut p) {
                Some(r) => {
                    self.cursor.set_position(p);
                    Some(r)
                }
                None => Record::decode_fast(&mut self.cursor),
            };
            if let Some(r) = r {
                if let Err(e) = self.check_delta(zigzag_encode32(r.offset_delta), start) {
                    return Some(Err(e));
                }
                self.left -= 1;
                return Some(Ok(r));
            }
        }
        self.next_checked()
    }
}

impl<'a> Records<'a> {
    /// Calls `f` with the value of each remaining record, in order: what iterating and
    /// taking `record.value` gives, errors included, without decoding the other fields of
    /// records that have no headers. On an error, `f` has seen every record before it.
    #[inline]
    pub fn try_for_each_value(
        mut self,
        mut f: impl FnMut(Option<&'a [u8]>),
    ) -> Result<(), DecodeError> {
        let (buf, mut p) = self.cursor.parts();
        while self.left > 0 && !self.done {
            let start = p;
            if let Some((delta, value)) = Record::value_fast(buf, &mut p) {
                self.check_delta(delta, start)?;
                self.left -= 1;
                f(value);
                continue;
            }
            // A record with headers, or one that does not decode: the full decoder takes it.
            self.cursor.set_position(p);
            match self.next() {
                Some(Ok(r)) => f(r.value),
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
            p = self.cursor.position();
        }
        self.cursor.set_position(p);
        for r in self {
            f(r?.value);
        }
        Ok(())
    }

    /// Checks the offset delta (zigzag-encoded, as records carry it) of the record that
    /// started at `start` (see [`Records`]): one comparison while each record follows the
    /// one before, as in every batch compaction left whole. Such a record is within
    /// `last_offset_delta` without a check: deltas from 0 on, one per record, and
    /// [`RecordBatch::decode`] bounds the records count by `last_offset_delta + 1`.
    #[inline(always)]
    fn check_delta(&mut self, zigzag: u64, start: usize) -> Result<(), DecodeError> {
        if zigzag == self.next_zigzag {
            self.next_zigzag += 2;
            return Ok(());
        }
        self.check_delta_gap(zigzag, start)
    }

    /// [`Records::check_delta`] of a record that does not follow the one before: after a gap
    /// (compaction removed records), or damage.
    #[cold]
    fn check_delta_gap(&mut self, zigzag: u64, start: usize) -> Result<(), DecodeError> {
        let delta = zigzag32(zigzag).unwrap_or(i32::MIN);
        let min = if self.next_zigzag == u64::MAX {
            self.min_delta
        } else {
            (self.next_zigzag >> 1) as i64
        };
        if (delta as i64) < min || delta > self.last_delta {
            return Err(self.bad_delta(delta, start));
        }
        self.min_delta = delta as i64 + 1;
        self.next_zigzag = u64::MAX;
        Ok(())
    }

    #[cold]
    fn bad_delta(&mut self, delta: i32, start: usize) -> DecodeError {
        self.done = true;
        DecodeError::BadLength {
            at: if self.compressed {
                RECORDS_OFFSET
            } else {
                RECORDS_OFFSET + start
            },
            what: if delta > self.last_delta {
                "offset delta (past the batch's last offset delta)"
            } else {
                "offset delta (not above the record before it)"
            },
            value: delta as i64,
        }
    }

    /// [`Iterator::next`] past the fast path: the end of the records, or a record that the
    /// fast path refused, decoded again to say what is wrong with it.
    #[cold]
    fn next_checked(&mut self) -> Option<Result<Record<'a>, DecodeError>> {
        if self.done {
            return None;
        }
        if self.left == 0 {
            self.done = true;
            if self.cursor.remaining() != 0 {
                return Some(Err(DecodeError::BadRecord {
                    at: if self.compressed {
                        RECORDS_OFFSET
                    } else {
                        RECORDS_OFFSET + self.cursor.position()
                    },
                    reason: "bytes left after the last record",
                }));
            }
            return None;
        }
        self.left -= 1;
        let start = self.cursor.position();
        let r = Record::decode(&mut self.cursor).map_err(|e| {
            if self.compressed {
                DecodeError::BadRecord {
                    at: RECORDS_OFFSET,
                    reason: "a record inside the compressed stream does not decode",
                }
            } else {
                e.shifted(RECORDS_OFFSET)
            }
        });
        if r.is_err() {
            self.done = true;
        }
        if let Ok(rec) = &r
            && let Err(e) = self.check_delta(zigzag_encode32(rec.offset_delta), start)
        {
            return Some(Err(e));
        }
        Some(r)
    }
}

/// Sets the base offset of an encoded batch in place (not covered by the CRC).
///
/// # Panics
/// If `batch` is shorter than the base offset field: no batch.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    let len = batch.len();
    match batch.first_chunk_mut::<8>() {
        Some(dst) => *dst = base_offset.to_be_bytes(),
        None => panic!("set_base_offset: a buffer of {len} bytes is no record batch"),
    }
}

/// Marks an encoded batch LogAppendTime with `now` as its max timestamp, as a broker does on
/// append, and recomputes the CRC.
///
/// # Panics
/// If `batch` is shorter than a batch header: no batch.
pub fn set_log_append_time(batch: &mut [u8], now: i64) {
    let head = head_mut(batch, "set_log_append_time");
    let mut h = BatchHeader::read(head);
    h.set_log_append_time(now);
    h.write(head);
    let crc = compute_crc(batch);
    put(
        head_mut(batch, "set_log_append_time"),
        CRC_OFFSET,
        crc.to_be_bytes(),
    );
}

/// Compresses an uncompressed batch's records section with `codec` into `out` (cleared first):
/// same header fields, the codec in the attributes, and a new length and CRC.
///
/// # Panics
/// If `batch` is shorter than a batch header: no batch. (A batch klog built compresses
/// through [`BuiltBatch::compress`], whose header is already parsed.)
pub fn compress_batch(batch: &[u8], codec: Compression, out: &mut Vec<u8>) {
    let header = match BatchHeader::parse(batch) {
        Ok(h) => h,
        Err(e) => panic!("compress_batch of a buffer that is no record batch: {e}"),
    };
    compress_records(&header, batch, codec, out);
}

/// [`compress_batch`] of a batch whose header is `header`, already read from `batch`;
/// returns the header written into `out`.
fn compress_records(
    header: &BatchHeader,
    batch: &[u8],
    codec: Compression,
    out: &mut Vec<u8>,
) -> BatchHeader {
    out.clear();
    out.resize(BATCH_HEADER_LEN, 0);
    let mut compressed = Vec::new();
    super::compression::compress(
        codec,
        batch.get(RECORDS_OFFSET..).unwrap_or(&[]),
        &mut compressed,
    );
    out.extend_from_slice(&compressed);
    let mut h = *header;
    h.attributes = (h.attributes & !COMPRESSION_CODEC_MASK) | i16::from(codec.id());
    finish_header(out, h)
}

/// Encodes a batch with the given header fields and records, recomputing `batch_length`,
/// `records_count` and the CRC. Re-encoding a decoded uncompressed batch this way reproduces
/// its bytes.
pub fn encode_batch(header: &BatchHeader, records: &[Record<'_>]) -> Vec<u8> {
    let mut out = vec![0u8; RECORD_BATCH_OVERHEAD];
    for r in records {
        r.encode(&mut out);
    }
    let mut h = *header;
    h.records_count = records.len() as i32;
    finish_header(&mut out, h);
    out
}

/// Writes `h` into the header of `out` with the batch length of `out` and its CRC; returns
/// the header as written.
fn finish_header(out: &mut [u8], mut h: BatchHeader) -> BatchHeader {
    h.batch_length = (out.len() - LOG_OVERHEAD) as i32;
    h.crc = 0;
    h.write(head_mut(out, "finish_header"));
    h.crc = compute_crc(out);
    put(
        head_mut(out, "finish_header"),
        CRC_OFFSET,
        h.crc.to_be_bytes(),
    );
    h
}

/// A batch of one record, uncompressed, encoded around its value so that the value is never
/// copied: `head` (the batch header and the record up to its value), the value where the
/// caller holds it, then `tail` (the record's headers). The CRC covers all three. A producer
/// writes the three parts one after the other; see [`BatchParts::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchParts {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

impl BatchParts {
    /// The batch (base offset 0) of one record: CreateTime `timestamp`, `key`, a value of which
    /// `value` is the content, and `headers`.
    pub fn new(
        timestamp: i64,
        key: Option<&[u8]>,
        value: &[u8],
        headers: &[Header<'_>],
    ) -> BatchParts {
        let mut head = vec![0u8; RECORD_BATCH_OVERHEAD];
        let mut tail = Vec::new();
        record::encode_record_around_value(&mut head, &mut tail, 0, 0, key, value.len(), headers);
        let h = BatchHeader {
            batch_length: (head.len() + value.len() + tail.len() - LOG_OVERHEAD) as i32,
            base_timestamp: timestamp,
            max_timestamp: timestamp,
            records_count: 1,
            ..BatchHeader::default()
        };
        let mut parts = BatchParts { head, tail };
        parts.set_header(&h, value);
        parts
    }

    /// The whole batch's size.
    pub fn len(&self, value: &[u8]) -> usize {
        self.head.len() + value.len() + self.tail.len()
    }

    /// The header, as [`BatchParts::new`] or [`BatchParts::set_header`] wrote it.
    ///
    /// # Panics
    /// If `head` was cut below a batch header (it is a public field).
    pub fn header(&self) -> BatchHeader {
        match self.head.first_chunk::<BATCH_HEADER_LEN>() {
            Some(head) => BatchHeader::read(head),
            None => panic!("BatchParts::header: a head of {} bytes", self.head.len()),
        }
    }

    /// [`set_log_append_time`] for a batch in parts (the CRC is computed again over all).
    ///
    /// # Panics
    /// As [`BatchParts::header`].
    pub fn set_log_append_time(&mut self, value: &[u8], now: i64) {
        let mut h = self.header();
        h.set_log_append_time(now);
        self.set_header(&h, value);
    }

    /// Writes `h` (but its CRC) into the head, then the CRC of the whole batch.
    ///
    /// # Panics
    /// As [`BatchParts::header`].
    pub fn set_header(&mut self, h: &BatchHeader, value: &[u8]) {
        let head = head_mut(&mut self.head, "BatchParts::set_header");
        BatchHeader { crc: 0, ..*h }.write(head);
        let mut crc = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
        crc.update(self.head.get(ATTRIBUTES_OFFSET..).unwrap_or_default());
        crc.update(value);
        crc.update(&self.tail);
        let crc = crc.finalize() as u32;
        put(
            head_mut(&mut self.head, "BatchParts::set_header"),
            CRC_OFFSET,
            crc.to_be_bytes(),
        );
    }
}

/// Builds one uncompressed v2 batch record by record, into a buffer that can be reused.
///
/// Offsets are assigned later: the batch is built with base offset 0 and the log patches the
/// real one in with [`set_base_offset`] when it appends.
#[derive(Debug)]
pub struct BatchBuilder {
    buf: Vec<u8>,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::from_vec(Vec::new())
    }

    /// A builder writing into `buf` (cleared), keeping its capacity.
    pub fn from_vec(mut buf: Vec<u8>) -> Self {
        buf.clear();
        buf.resize(RECORD_BATCH_OVERHEAD, 0);
        BatchBuilder {
            buf,
            count: 0,
            base_timestamp: -1,
            max_timestamp: -1,
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn count(&self) -> usize {
        self.count as usize
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// At least what a record adds to a batch (varints at their longest), without computing
    /// any varint: a batch whose length plus this stays under a limit needs no
    /// [`BatchBuilder::size_with`].
    #[inline]
    pub fn record_size_bound(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> usize {
        // Length, attributes, timestamp delta, offset delta, key and value lengths, header
        // count; then per header its two lengths.
        let mut n = 5 + 1 + 10 + 5 + 5 + 5 + 5;
        n += key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len);
        for h in headers {
            n += 10 + h.key.len() + h.value.map_or(0, <[u8]>::len);
        }
        n
    }

    /// Size of the batch if this record were appended.
    pub fn size_with(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> usize {
        let base = if self.count == 0 {
            timestamp
        } else {
            self.base_timestamp
        };
        self.buf.len()
            + record::encoded_size(
                timestamp.wrapping_sub(base),
                self.count,
                key,
                value,
                headers,
            )
    }

    /// Appends a record with the next offset delta. `timestamp` is its CreateTime in ms.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) {
        let delta = self.timestamp_delta(timestamp);
        record::encode_record(&mut self.buf, 0, delta, self.count, key, value, headers);
        self.count += 1;
    }

    /// `append(timestamp, None, Some(value), &[])`, through the shorter path of
    /// [`record::encode_value`].
    #[inline]
    pub fn append_value(&mut self, timestamp: i64, value: &[u8]) {
        let delta = self.timestamp_delta(timestamp);
        record::encode_value(&mut self.buf, delta, self.count, value);
        self.count += 1;
    }

    /// Takes the next record's timestamp into the batch's base (the first record's) and
    /// maximum; returns its delta from the base.
    #[inline(always)]
    fn timestamp_delta(&mut self, timestamp: i64) -> i64 {
        if self.count == 0 {
            self.base_timestamp = timestamp;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        timestamp.wrapping_sub(self.base_timestamp)
    }

    /// Finishes the header (base offset 0) and returns the batch bytes.
    pub fn finish(self) -> Vec<u8> {
        self.build().into_vec()
    }

    /// Finishes the header (base offset 0) and returns the batch with it, so that nothing
    /// after (compression, the log's append) parses it again.
    pub fn build(mut self) -> BuiltBatch {
        let h = BatchHeader {
            last_offset_delta: (self.count - 1).max(0),
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            records_count: self.count,
            ..BatchHeader::default()
        };
        let header = finish_header(&mut self.buf, h);
        BuiltBatch {
            header,
            buf: self.buf,
        }
    }
}

/// A whole v2 batch in a buffer of its own, with its header parsed once: built by
/// [`BatchBuilder::build`], compressed by [`BuiltBatch::compress`], or bytes from elsewhere
/// checked by [`BuiltBatch::from_vec`]. Its changes ([`BuiltBatch::set_base_offset`],
/// [`BuiltBatch::set_log_append_time`]) keep header and bytes in agreement.
///
/// # Invariants
/// 1. The buffer is the whole batch: at least [`BATCH_HEADER_LEN`] bytes, exactly
///    `header.size()` of them.
/// 2. `header` is what the buffer's first 61 bytes say, CRC included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltBatch {
    header: BatchHeader,
    buf: Vec<u8>,
}

impl BuiltBatch {
    /// Checks that `buf` is exactly one whole v2 batch (framing, magic, CRC and header fields,
    /// as [`RecordBatch::decode`]; records are not decoded) and takes it, for batches made
    /// elsewhere (a Kafka producer's).
    pub fn from_vec(buf: Vec<u8>) -> Result<BuiltBatch, DecodeError> {
        let header = RecordBatch::decode(&buf)?.header;
        if header.size() != buf.len() {
            return Err(DecodeError::BadRecord {
                at: header.size(),
                reason: "bytes after the batch",
            });
        }
        Ok(BuiltBatch { header, buf })
    }

    pub fn header(&self) -> &BatchHeader {
        &self.header
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// Never true: a batch has a header (for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// The buffer, to reuse (a [`BatchBuilder::from_vec`]) or keep.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    fn head_mut(&mut self) -> &mut HeaderBytes {
        head_mut(&mut self.buf, "BuiltBatch")
    }

    /// Sets the base offset (not covered by the CRC), as the log does when it appends.
    pub fn set_base_offset(&mut self, base_offset: i64) {
        self.header.base_offset = base_offset;
        put(
            self.head_mut(),
            BASE_OFFSET_OFFSET,
            base_offset.to_be_bytes(),
        );
    }

    /// [`set_log_append_time`] of this batch.
    pub fn set_log_append_time(&mut self, now: i64) {
        self.header.set_log_append_time(now);
        let h = BatchHeader {
            crc: 0,
            ..self.header
        };
        h.write(self.head_mut());
        self.header.crc = compute_crc(&self.buf);
        let crc = self.header.crc.to_be_bytes();
        put(self.head_mut(), CRC_OFFSET, crc);
    }

    /// This (uncompressed) batch with its records section compressed with `codec`, into
    /// `out`'s buffer: the same header fields, the codec in the attributes, and a new length
    /// and CRC ([`compress_batch`] without parsing the header again).
    pub fn compress(&self, codec: Compression, mut out: Vec<u8>) -> BuiltBatch {
        let header = compress_records(&self.header, &self.buf, codec, &mut out);
        BuiltBatch { header, buf: out }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// The 79-byte batch of the format doc's worked example (a real broker-written batch).
    pub(crate) const GOLDEN: [u8; 79] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // base offset 0
        0x00, 0x00, 0x00, 0x43, // batch length 67
        0x00, 0x00, 0x00, 0x00, // partition leader epoch 0
        0x02, // magic
        0xe1, 0x15, 0xe1, 0x18, // crc
        0x00, 0x00, // attributes
        0x00, 0x00, 0x00, 0x01, // last offset delta
        0x00, 0x00, 0x01, 0x77, 0x37, 0x83, 0xfc, 0x43, // base timestamp
        0x00, 0x00, 0x01, 0x77, 0x37, 0x83, 0xfc, 0x43, // max timestamp
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // producer id
        0xff, 0xff, // producer epoch
        0xff, 0xff, 0xff, 0xff, // base sequence
        0x00, 0x00, 0x00, 0x02, // records count
        0x10, 0x00, 0x00, 0x00, 0x02, 0x34, 0x02, 0x34, 0x00, // record "4" -> "4"
        0x10, 0x00, 0x00, 0x02, 0x02, 0x36, 0x02, 0x36, 0x00, // record "6" -> "6"
    ];

    #[test]
    fn golden_batch_decodes_field_by_field() {
        let b = RecordBatch::decode(&GOLDEN).unwrap();
        let h = b.header;
        assert_eq!(h.base_offset, 0);
        assert_eq!(h.batch_length, 67);
        assert_eq!(h.size(), 79);
        assert_eq!(h.partition_leader_epoch, 0);
        assert_eq!(h.magic, 2);
        assert_eq!(h.crc, 0xE115_E118);
        assert_eq!(h.compression(), Some(Compression::None));
        assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
        assert_eq!(h.last_offset_delta, 1);
        assert_eq!(h.base_timestamp, 1_611_544_132_675);
        assert_eq!(h.max_timestamp, 1_611_544_132_675);
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (-1, -1, -1)
        );
        assert_eq!(h.records_count, 2);
        let recs: Vec<_> = b.records().unwrap().map(Result::unwrap).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(
            (recs[0].key, recs[0].value),
            (Some(&b"4"[..]), Some(&b"4"[..]))
        );
        assert_eq!(b.offset_of(&recs[1]), 1);
        assert_eq!(b.timestamp_of(&recs[1]), 1_611_544_132_675);
    }

    #[test]
    fn golden_batch_re_encodes_byte_for_byte() {
        let b = RecordBatch::decode(&GOLDEN).unwrap();
        let recs: Vec<_> = b.records().unwrap().map(Result::unwrap).collect();
        assert_eq!(encode_batch(&b.header, &recs), GOLDEN);
        let mut head = [0u8; RECORD_BATCH_OVERHEAD];
        b.header.write(&mut head);
        assert_eq!(head[..], GOLDEN[..61]);
    }

    #[test]
    fn builder_reproduces_the_golden_batch() {
        let mut bb = BatchBuilder::new();
        bb.append(1_611_544_132_675, Some(b"4"), Some(b"4"), &[]);
        bb.append(1_611_544_132_675, Some(b"6"), Some(b"6"), &[]);
        let mut bytes = bb.finish();
        // The broker stamped leader epoch 0; the builder leaves it unknown (-1).
        bytes[12..16].copy_from_slice(&0i32.to_be_bytes());
        assert_eq!(bytes, GOLDEN);
    }

    #[test]
    fn truncation_at_every_byte_is_a_typed_error() {
        for cut in 0..GOLDEN.len() {
            let err = RecordBatch::decode(&GOLDEN[..cut]).unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "cut at {cut}: {err:?}"
            );
        }
    }

    #[test]
    fn every_crc_covered_byte_is_checked() {
        for i in ATTRIBUTES_OFFSET..GOLDEN.len() {
            let mut bad = GOLDEN;
            bad[i] ^= 0x01;
            let err = RecordBatch::decode(&bad).unwrap_err();
            assert!(
                matches!(err, DecodeError::CrcMismatch { at: CRC_OFFSET, .. }),
                "byte {i}: {err:?}"
            );
        }
    }

    #[test]
    fn corrupt_header_fields_give_their_own_errors() {
        // Magic.
        let mut bad = GOLDEN;
        bad[MAGIC_OFFSET] = 7;
        assert_eq!(
            RecordBatch::decode(&bad).unwrap_err(),
            DecodeError::UnsupportedMagic { at: 16, magic: 7 }
        );
        // Length below the smallest entry.
        let mut bad = GOLDEN;
        bad[8..12].copy_from_slice(&5i32.to_be_bytes());
        assert!(matches!(
            RecordBatch::decode(&bad).unwrap_err(),
            DecodeError::BadLength { at: 8, .. }
        ));
        // Length below the v2 header but above the v0 minimum.
        let mut bad = GOLDEN;
        bad[8..12].copy_from_slice(&30i32.to_be_bytes());
        assert!(matches!(
            RecordBatch::decode(&bad).unwrap_err(),
            DecodeError::BadLength { at: 8, .. }
        ));
        // Length past the end.
        let mut bad = GOLDEN;
        bad[8..12].copy_from_slice(&1000i32.to_be_bytes());
        assert!(matches!(
            RecordBatch::decode(&bad).unwrap_err(),
            DecodeError::Truncated { needed: 1012, .. }
        ));
        // CRC itself.
        let mut bad = GOLDEN;
        bad[CRC_OFFSET] ^= 0xff;
        assert!(matches!(
            RecordBatch::decode(&bad).unwrap_err(),
            DecodeError::CrcMismatch { .. }
        ));
        // Base offset and leader epoch are outside the CRC: still valid.
        let mut ok = GOLDEN;
        set_base_offset(&mut ok, 1234);
        ok[12] = 9;
        assert_eq!(RecordBatch::decode(&ok).unwrap().header.base_offset, 1234);
    }

    /// Corrupts a field under the CRC, then fixes the CRC so record-level checks are reached.
    fn with_fixed_crc(mut b: Vec<u8>) -> Vec<u8> {
        let crc = compute_crc(&b);
        b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn record_level_damage_is_reported_with_its_position() {
        // Count says 3, more than the offset deltas 0..=1 leave room for.
        let mut b = GOLDEN.to_vec();
        b[57..61].copy_from_slice(&3i32.to_be_bytes());
        let b = with_fixed_crc(b);
        assert!(matches!(
            RecordBatch::decode(&b),
            Err(DecodeError::BadLength {
                at: RECORDS_COUNT_OFFSET,
                value: 3,
                ..
            })
        ));
        // Count says 3 (and the last offset delta 2) but only 2 records follow.
        let mut b = GOLDEN.to_vec();
        b[57..61].copy_from_slice(&3i32.to_be_bytes());
        b[LAST_OFFSET_DELTA_OFFSET..LAST_OFFSET_DELTA_OFFSET + 4]
            .copy_from_slice(&2i32.to_be_bytes());
        let b = with_fixed_crc(b);
        let batch = RecordBatch::decode(&b).unwrap();
        let errs: Vec<_> = batch.records().unwrap().filter_map(Result::err).collect();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].at() >= RECORDS_OFFSET);

        // Count says 1 but 2 records follow: trailing bytes.
        let mut b = GOLDEN.to_vec();
        b[57..61].copy_from_slice(&1i32.to_be_bytes());
        let b = with_fixed_crc(b);
        let batch = RecordBatch::decode(&b).unwrap();
        let errs: Vec<_> = batch.records().unwrap().filter_map(Result::err).collect();
        assert_eq!(
            errs,
            vec![DecodeError::BadRecord {
                at: 70,
                reason: "bytes left after the last record"
            }]
        );

        // A key length pointing past the record.
        let mut b = GOLDEN.to_vec();
        b[65] = 0x7e; // key length 63
        let b = with_fixed_crc(b);
        let batch = RecordBatch::decode(&b).unwrap();
        let first = batch.records().unwrap().next().unwrap().unwrap_err();
        assert!(
            matches!(first, DecodeError::Truncated { at: 66, .. }),
            "{first:?}"
        );

        // Negative record count.
        let mut b = GOLDEN.to_vec();
        b[57..61].copy_from_slice(&(-2i32).to_be_bytes());
        let b = with_fixed_crc(b);
        assert!(matches!(
            RecordBatch::decode(&b).unwrap_err(),
            DecodeError::BadLength { at: 57, .. }
        ));
    }

    /// A batch built around its value is byte for byte the one the builder makes.
    #[test]
    fn batch_parts_are_the_builders_batch() {
        let hs = [Header {
            key: b"h",
            value: Some(b"x"),
        }];
        for (key, value, headers) in [
            (None, &b""[..], &[][..]),
            (Some(&b"k"[..]), &b"value"[..], &hs[..]),
            (None, &[7u8; 70_000][..], &hs[..]),
        ] {
            let parts = BatchParts::new(1_700_000_000_000, key, value, headers);
            let mut b = BatchBuilder::new();
            b.append(1_700_000_000_000, key, Some(value), headers);
            let whole = b.finish();
            assert_eq!([&parts.head[..], value, &parts.tail[..]].concat(), whole);
            assert_eq!(parts.len(value), whole.len());
        }
    }

    /// Regression: a CRC-valid batch whose records' offset deltas were 0, 0, 0 made `consume`
    /// print one record of three (the others looked already printed) and exit 0. Deltas that
    /// do not increase, or pass the batch's last offset delta, are damage to every reader:
    /// the iterator, the value-only scan, with and without compression.
    #[test]
    fn regression_offset_deltas_out_of_order_are_damage() {
        let rec = |delta: i32| Record {
            attributes: 0,
            timestamp_delta: 0,
            offset_delta: delta,
            key: None,
            value: Some(b"v"),
            headers: Vec::new(),
        };
        let header = |last_delta: i32| BatchHeader {
            last_offset_delta: last_delta,
            ..BatchHeader::default()
        };
        let cases: [(&[i32], i32, usize); 5] = [
            (&[0, 0, 0], 2, 1),
            (&[0, 2, 1], 2, 2),
            (&[0, 1, 3], 2, 2),
            (&[1, 2, 3], 3, 3),
            (&[0, 2, 5], 5, 3),
        ];
        for (deltas, last_delta, good) in cases {
            let records: Vec<Record<'_>> = deltas.iter().map(|&d| rec(d)).collect();
            let plain = encode_batch(&header(last_delta), &records);
            let mut compressed = Vec::new();
            compress_batch(&plain, Compression::Lz4, &mut compressed);
            for bytes in [&plain, &compressed] {
                let batch = RecordBatch::decode(bytes).unwrap();
                let mut scratch = Vec::new();
                let all: Vec<_> = batch.records_in(&mut scratch).unwrap().collect();
                let ok = all.iter().take_while(|r| r.is_ok()).count();
                assert_eq!(ok, good, "deltas {deltas:?}: {all:?}");
                let err = all.get(good).map(|r| r.as_ref().err());
                assert!(
                    good == deltas.len()
                        || matches!(err, Some(Some(DecodeError::BadLength { .. }))),
                    "deltas {deltas:?}: {all:?}"
                );
                let mut values = 0;
                let scan = batch
                    .records_in(&mut scratch)
                    .unwrap()
                    .try_for_each_value(|_| values += 1);
                assert_eq!(values, good, "deltas {deltas:?}");
                assert_eq!(scan.is_ok(), good == deltas.len(), "deltas {deltas:?}");
            }
        }
    }

    #[test]
    fn compressed_batches_are_refused_not_misread() {
        let mut b = GOLDEN.to_vec();
        b[22] = 1; // gzip
        let b = with_fixed_crc(b);
        let batch = RecordBatch::decode(&b).unwrap();
        assert!(matches!(
            batch.records(),
            Err(DecodeError::UnsupportedCompression { codec: 1, .. })
        ));
    }

    use proptest::prelude::*;

    type OwnedHeader = (Vec<u8>, Option<Vec<u8>>);
    type OwnedRecord = (i64, Option<Vec<u8>>, Option<Vec<u8>>, Vec<OwnedHeader>);

    fn arb_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))
    }

    fn arb_record() -> impl Strategy<Value = OwnedRecord> {
        (
            0i64..1_000_000_000_000,
            arb_bytes(),
            arb_bytes(),
            proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..8), arb_bytes()),
                0..4,
            ),
        )
    }

    /// `try_for_each_value` hands out what the record iterator does, up to the same error.
    fn value_scan_agrees(b: &RecordBatch<'_>) -> Result<(), TestCaseError> {
        let mut want = Vec::new();
        let mut want_err = None;
        for r in b.records().unwrap() {
            match r {
                Ok(r) => want.push(r.value),
                Err(e) => {
                    want_err = Some(e);
                    break;
                }
            }
        }
        let mut got = Vec::new();
        let got_err = b
            .records()
            .unwrap()
            .try_for_each_value(|v| got.push(v))
            .err();
        prop_assert_eq!(got, want);
        prop_assert_eq!(got_err, want_err);
        Ok(())
    }

    proptest! {
        #[test]
        fn builder_round_trips_every_field(
            records in proptest::collection::vec(arb_record(), 1..30),
            base_offset in 0i64..i64::MAX / 2,
        ) {
            let mut bb = BatchBuilder::new();
            for (ts, k, v, hs) in &records {
                let hs: Vec<Header<'_>> = hs.iter().map(|(k, v)| Header { key: k, value: v.as_deref() }).collect();
                bb.append(*ts, k.as_deref(), v.as_deref(), &hs);
            }
            let mut bytes = bb.finish();
            set_base_offset(&mut bytes, base_offset);
            let b = RecordBatch::decode(&bytes).unwrap();
            prop_assert_eq!(b.header.size(), bytes.len());
            prop_assert_eq!(b.header.records_count as usize, records.len());
            prop_assert_eq!(b.header.last_offset(), base_offset + records.len() as i64 - 1);
            prop_assert_eq!(b.header.max_timestamp, records.iter().map(|r| r.0).max().unwrap());
            let decoded: Vec<_> = b.records().unwrap().map(Result::unwrap).collect();
            prop_assert_eq!(decoded.len(), records.len());
            for (i, (d, (ts, k, v, hs))) in decoded.iter().zip(&records).enumerate() {
                prop_assert_eq!(b.offset_of(d), base_offset + i as i64);
                prop_assert_eq!(b.timestamp_of(d), *ts);
                prop_assert_eq!(d.key, k.as_deref());
                prop_assert_eq!(d.value, v.as_deref());
                let got: Vec<OwnedHeader> = d.headers.iter().map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec))).collect();
                prop_assert_eq!(&got, hs);
            }
            // Re-encoding the decoded batch reproduces it byte for byte.
            prop_assert_eq!(encode_batch(&b.header, &decoded), bytes);
        }

        #[test]
        fn value_scan_agrees_with_the_record_iterator(
            records in proptest::collection::vec(arb_record(), 1..12),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            cut in any::<usize>(),
        ) {
            let mut bb = BatchBuilder::new();
            for (ts, k, v, hs) in &records {
                let hs: Vec<Header<'_>> = hs.iter().map(|(k, v)| Header { key: k, value: v.as_deref() }).collect();
                bb.append(*ts, k.as_deref(), v.as_deref(), &hs);
            }
            let mut bytes = bb.finish();
            // Damage only the records section, then make the CRC right again so that record
            // decoding is what sees the damage.
            let n = bytes.len() - RECORDS_OFFSET;
            for (i, x) in &flips {
                bytes[RECORDS_OFFSET + i % n] ^= x;
            }
            // Also cut short inside the records, with the length field and the CRC made to
            // agree, so that the batch decodes and its records run out early.
            let mut short = bytes[..RECORDS_OFFSET + cut % (n + 1)].to_vec();
            let len = (short.len() - LOG_OVERHEAD) as i32;
            short[LENGTH_OFFSET..LOG_OVERHEAD].copy_from_slice(&len.to_be_bytes());
            for buf in [with_fixed_crc(bytes), with_fixed_crc(short)] {
                // Damage before the records can make the header itself undecodable.
                if let Ok(b) = RecordBatch::decode(&buf) {
                    value_scan_agrees(&b)?;
                }
            }
        }

        #[test]
        fn value_scan_agrees_on_long_batches(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            key_every in 1usize..5,
        ) {
            // Offset deltas past 8191 take three varint bytes; some records have keys or
            // headers, some values are null or long.
            let mut bb = BatchBuilder::new();
            for i in 0..9000usize {
                let key = (i % key_every == 0).then(|| i.to_be_bytes());
                let value = vec![b'v'; (i * 7) % 300];
                let value = (i % 11 != 5).then_some(&value[..]);
                let hs = if i % 97 == 0 { vec![Header { key: b"h", value: None }] } else { vec![] };
                bb.append(i as i64 * 1000, key.as_ref().map(|k| &k[..]), value, &hs);
            }
            let mut bytes = bb.finish();
            let n = bytes.len() - RECORDS_OFFSET;
            for (i, x) in &flips {
                bytes[RECORDS_OFFSET + i % n] ^= x;
            }
            let bytes = with_fixed_crc(bytes);
            value_scan_agrees(&RecordBatch::decode(&bytes).unwrap())?;
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(b) = RecordBatch::decode(&bytes)
                && let Ok(recs) = b.records() {
                    for r in recs { let _ = r; }
                }
        }

        #[test]
        fn damaged_batches_give_errors_not_panics(
            flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..4),
            cut in 0usize..200,
        ) {
            let mut bb = BatchBuilder::new();
            bb.append(5, Some(b"key"), Some(b"value"), &[Header { key: b"h", value: Some(b"v") }]);
            bb.append(6, None, None, &[]);
            let mut bytes = bb.finish();
            for (i, x) in flips {
                let n = bytes.len();
                bytes[i % n] ^= x;
            }
            // Also with the CRC made right again, so that record decoding sees the damage.
            let fixed = with_fixed_crc(bytes.clone());
            for buf in [&bytes[..], &bytes[..cut.min(bytes.len())], &fixed[..]] {
                if let Ok(b) = RecordBatch::decode(buf)
                    && let Ok(recs) = b.records()
                {
                    for r in recs {
                        if let Err(e) = r {
                            prop_assert!(e.at() <= buf.len());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn compressed_batches_round_trip_for_every_codec() {
        let mut bb = BatchBuilder::new();
        for i in 0..500u32 {
            let v = format!("value {i} {}", "x".repeat((i % 50) as usize));
            bb.append(
                1000 + i as i64,
                Some(&i.to_be_bytes()),
                Some(v.as_bytes()),
                &[],
            );
        }
        let plain = bb.finish();
        type Kv = (Option<Vec<u8>>, Option<Vec<u8>>);
        let want: Vec<Kv> = RecordBatch::decode(&plain)
            .unwrap()
            .records()
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (r.key.map(<[u8]>::to_vec), r.value.map(<[u8]>::to_vec))
            })
            .collect();
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut out = Vec::new();
            compress_batch(&plain, codec, &mut out);
            assert!(out.len() < plain.len(), "{codec:?} compresses");
            let b = RecordBatch::decode(&out).unwrap();
            assert_eq!(b.header.compression(), Some(codec));
            assert_eq!(b.header.records_count, 500);
            assert_eq!(b.header.max_timestamp, 1499);
            let mut scratch = Vec::new();
            let got: Vec<_> = b
                .records_in(&mut scratch)
                .unwrap()
                .map(|r| {
                    let r = r.unwrap();
                    (r.key.map(<[u8]>::to_vec), r.value.map(<[u8]>::to_vec))
                })
                .collect();
            assert_eq!(got, want, "{codec:?}");
            // A damaged compressed stream (CRC fixed up) is an error at the records section.
            let mut bad = out.clone();
            let n = bad.len();
            bad[n - 3] ^= 0xff;
            let bad = with_fixed_crc(bad);
            let b = RecordBatch::decode(&bad).unwrap();
            let mut scratch = Vec::new();
            let errs: Vec<_> = match b.records_in(&mut scratch) {
                Err(e) => vec![e],
                Ok(rs) => rs.filter_map(Result::err).collect(),
            };
            // Some codecs carry no checksum of their own and may decode to different bytes
            // that still frame as records; what must never happen is a panic.
            for e in errs {
                assert!(e.at() >= RECORDS_OFFSET, "{codec:?}: {e:?}");
            }
        }
    }

    /// A built batch is the builder's bytes with the header they hold, and stays so through
    /// every change the produce path makes.
    #[test]
    fn built_batches_keep_header_and_bytes_in_agreement() {
        let build = || {
            let mut bb = BatchBuilder::new();
            bb.append(100, Some(b"k"), Some(b"a"), &[]);
            bb.append(90, None, Some(b"b"), &[]);
            bb
        };
        let bytes = build().finish();
        let mut built = build().build();
        let agrees = |b: &BuiltBatch| {
            let decoded = RecordBatch::decode(b.as_bytes()).unwrap();
            assert_eq!(&decoded.header, b.header());
            assert_eq!(b.header().size(), b.len());
        };
        assert_eq!(built.as_bytes(), &bytes[..]);
        agrees(&built);
        built.set_base_offset(42);
        agrees(&built);
        assert_eq!(built.header().base_offset, 42);
        built.set_log_append_time(5000);
        agrees(&built);
        assert_eq!(
            built.header().timestamp_type(),
            TimestampType::LogAppendTime
        );
        let mut by_slice = bytes.clone();
        set_base_offset(&mut by_slice, 42);
        set_log_append_time(&mut by_slice, 5000);
        assert_eq!(built.as_bytes(), &by_slice[..]);
        for codec in Compression::ALL {
            let plain = build().build();
            let compressed = plain.compress(codec, Vec::new());
            agrees(&compressed);
            let mut want = Vec::new();
            compress_batch(plain.as_bytes(), codec, &mut want);
            assert_eq!(compressed.as_bytes(), &want[..], "{codec}");
            assert_eq!(compressed.header().compression(), Some(codec));
        }
    }

    #[test]
    fn batches_from_elsewhere_are_checked_whole() {
        let ok = BuiltBatch::from_vec(GOLDEN.to_vec()).unwrap();
        assert_eq!(ok.header().records_count, 2);
        let mut bad = GOLDEN.to_vec();
        bad[70] ^= 1;
        assert!(matches!(
            BuiltBatch::from_vec(bad),
            Err(DecodeError::CrcMismatch { .. })
        ));
        let mut long = GOLDEN.to_vec();
        long.push(0);
        assert!(matches!(
            BuiltBatch::from_vec(long),
            Err(DecodeError::BadRecord { at: 79, .. })
        ));
        assert!(BuiltBatch::from_vec(GOLDEN[..60].to_vec()).is_err());
    }

    #[test]
    #[should_panic(expected = "no record batch")]
    fn log_append_time_of_a_short_buffer_fails_loudly() {
        set_log_append_time(&mut [0u8; 60], 1);
    }

    #[test]
    #[should_panic(expected = "no record batch")]
    fn base_offset_of_a_short_buffer_fails_loudly() {
        set_base_offset(&mut [0u8; 7], 1);
    }

    #[test]
    #[should_panic(expected = "no record batch")]
    fn compressing_a_short_buffer_fails_loudly() {
        compress_batch(&GOLDEN[..60], Compression::Gzip, &mut Vec::new());
    }

    #[test]
    fn header_fields_read_and_write_back_at_their_offsets() {
        let head: &HeaderBytes = GOLDEN.first_chunk().unwrap();
        let h = BatchHeader::read(head);
        assert_eq!(h, BatchHeader::parse(&GOLDEN).unwrap());
        let mut out = [0u8; BATCH_HEADER_LEN];
        h.write(&mut out);
        assert_eq!(&out, head);
    }

    #[test]
    fn attribute_bits_are_kafkas() {
        let with = |attributes| BatchHeader {
            attributes,
            ..BatchHeader::default()
        };
        assert_eq!(with(0x04).compression(), Some(Compression::Zstd));
        assert_eq!(with(0x07).compression(), None);
        assert_eq!(
            with(TIMESTAMP_TYPE_MASK).timestamp_type(),
            TimestampType::LogAppendTime
        );
        assert!(with(0x10).is_transactional() && !with(0x10).is_control());
        assert!(with(0x20).is_control() && !with(0x20).is_transactional());
        assert!(with(0x40).has_delete_horizon());
        assert!(is_v2_magic(2) && !is_v2_magic(1));
        assert!(is_legacy_magic(0) && is_legacy_magic(1) && !is_legacy_magic(2));
    }

    #[test]
    fn log_append_time_stamps_max_timestamp() {
        let mut bb = BatchBuilder::new();
        bb.append(100, None, Some(b"a"), &[]);
        bb.append(90, None, Some(b"b"), &[]);
        let mut bytes = bb.finish();
        let b = RecordBatch::decode(&bytes).unwrap();
        assert_eq!(b.header.base_timestamp, 100);
        assert_eq!(b.header.max_timestamp, 100);
        let ts: Vec<_> = b
            .records()
            .unwrap()
            .map(|r| b.timestamp_of(&r.unwrap()))
            .collect();
        assert_eq!(ts, vec![100, 90]);
        set_log_append_time(&mut bytes, 5000);
        let b = RecordBatch::decode(&bytes).unwrap();
        assert_eq!(b.header.timestamp_type(), TimestampType::LogAppendTime);
        let ts: Vec<_> = b
            .records()
            .unwrap()
            .map(|r| b.timestamp_of(&r.unwrap()))
            .collect();
        assert_eq!(ts, vec![5000, 5000]);
    }
}
