//! Kafka's record-batch compression codecs: the stream framings and the decompression bound.
//!
//! In a v2 batch only the records section (the bytes after the 61-byte header) is compressed,
//! as one stream that decodes to the concatenation of the batch's records; in a v0/v1 wrapper
//! message the value is the compressed inner message set. This module turns such a stream into
//! bytes and back, in the framing Java Kafka uses for each codec (attribute bits 0-2). It knows
//! nothing about records: callers decode the bytes it produces.
//!
//! # Layout
//! | id | codec  | stream written                                  | stream accepted                                   |
//! |----|--------|-------------------------------------------------|---------------------------------------------------|
//! | 0  | none   | the bytes                                       | the bytes                                         |
//! | 1  | gzip   | one RFC 1952 member, deflate level 6            | one or more concatenated members                  |
//! | 2  | snappy | xerial framing, blocks of <= 32 KiB of input    | xerial framing (concatenated streams too), or one bare raw snappy block |
//! | 3  | lz4    | one LZ4 frame: 64 KiB independent blocks, no content size, no checksums | any LZ4 frame(s), skippable frames skipped |
//! | 4  | zstd   | one zstd frame, level 3                         | any zstd frame(s)                                 |
//!
//! xerial framing (snappy-java's `SnappyOutputStream`), all integers big-endian:
//! | offset | size | field                                                       |
//! |--------|------|-------------------------------------------------------------|
//! | 0      | 8    | magic `82 53 4E 41 50 50 59 00` ("\x82SNAPPY\0")             |
//! | 8      | 4    | int32 version (1)                                           |
//! | 12     | 4    | int32 minimum compatible version (1)                        |
//! | 16     | ...  | blocks: int32 compressed length, then a raw snappy block    |
//!
//! LZ4 frame (the lz4 project's frame format; its integers are little-endian): magic
//! `04 22 4D 18`, descriptor FLG, BD, [content size u64], [dictionary id u32], header checksum
//! byte = `(xxh32(descriptor) >> 8) & 0xFF`; blocks of `[u32 size, high bit = stored][data]
//! [xxh32 if block checksums]`; end mark `0u32`; `[xxh32 of content if content checksum]`.
//!
//! # Invariants
//! 1. [`decompress`] never produces more than `limit` bytes and never allocates much beyond
//!    `limit` for its output: it decodes in chunks, grows `out` itself with a capacity capped at
//!    `limit` (+1 for zstd), and checks every length field against the bytes actually present
//!    and the room left under `limit` before using it. Codec-internal state is bounded
//!    independently of the input: gzip's 32 KiB window, lz4 none (blocks are decoded straight
//!    from the input into `out`), snappy none, zstd a window of at most the power of two at or
//!    above `limit` (a frame declaring a larger window is decoded single-shot into at most
//!    `limit` bytes of `out`, which needs no window).
//! 2. Arbitrary input never panics: it decompresses or returns a [`DecodeError`].
//! 3. Errors carry `at: 0`, the start of the compressed stream; the caller shifts them to the
//!    stream's position in the file. Their `reason` names the stream offset where known.
//! 4. An empty stream decompresses to nothing, whatever the codec (Kafka's writers never produce
//!    one: an empty batch is written uncompressed; the caller's record count check applies).
//! 5. `decompress(c, compress(c, x)) == x` for every codec and input.
//!
//! # Kafka
//! Mirrors `org.apache.kafka.common.compress.{Gzip,Snappy,Lz4,Zstd}Compression`,
//! `Lz4BlockOutputStream`/`Lz4BlockInputStream` and snappy-java's `SnappyInputStream`.
//! Deliberate choices and differences:
//! * gzip: like `java.util.zip.GZIPInputStream`, bytes after a complete member that do not
//!   parse as a gzip header are ignored; a second member with a valid header but bad data is
//!   an error.
//! * lz4: for magic 0 Kafka's old writer computed the header checksum over magic + descriptor
//!   instead of the descriptor alone, and Kafka's reader skips that check for magic 0: use
//!   [`decompress_with`] and [`DecompressOptions::for_magic`]. Kafka's Java reader refuses
//!   linked blocks and stops at the first end mark; this reader accepts both kinds of blocks and
//!   reads frames until the stream ends. Dictionary frames and the legacy (0x184C2102) format
//!   are refused: no Kafka writer produces them. This is why the lz4 frame is parsed here,
//!   with only its blocks decoded by `lz4_flex`: `lz4_flex`'s frame reader always checks the
//!   header checksum (`HeaderChecksumError`), so it cannot read Kafka's magic 0 lz4 messages;
//!   writing uses its frame writer.
//! * snappy: like snappy-java, a stream that does not start with the 16-byte xerial header is
//!   read as one raw snappy block (some non-Java clients write that), a header of version < 1
//!   is refused, and a header found where a block length is expected starts a concatenated
//!   stream.
//! * zstd: standard frames only (no dictionaries, no legacy pre-v0.8 formats); written with
//!   the content size, which Java's streaming writer omits.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use super::DecodeError;

/// A compression codec, as attribute bits 0-2 of a batch (or of a v0/v1 wrapper message) name
/// it: the one list of codecs klog knows. Its text form is Kafka's name (`compression.type`,
/// the producer's `--compression`): [`Compression::NAMES`], in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// Every codec, in id order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// Kafka's names of [`Compression::ALL`], in the same order (Kafka's `CompressionType`).
    pub const NAMES: [&'static str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];

    /// The codec of attribute bits 0-2; `None` for the ids no codec has (5-7).
    pub fn from_id(id: u8) -> Option<Self> {
        Compression::ALL.get(usize::from(id)).copied()
    }

    /// The id in attribute bits 0-2.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Kafka's name: `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is none of [`Compression::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown compression codec '{0}': expected none, gzip, snappy, lz4 or zstd")]
pub struct UnknownCompression(pub String);

impl FromStr for Compression {
    type Err = UnknownCompression;

    /// Kafka's names, exactly (`CompressionType.forName`): lower case, no spaces. A topic's
    /// `compression.type` also takes `producer` and `uncompressed`, which are the config's
    /// words, not codecs: its parser maps those before asking this one.
    fn from_str(s: &str) -> Result<Compression, UnknownCompression> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| UnknownCompression(s.to_string()))
    }
}

/// snappy-java's stream magic, the first 8 bytes of the xerial header.
pub const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// The magic's first 4 bytes: what a block length field holds where a concatenated stream
/// starts (as an int32 it is negative, so never a real length).
const XERIAL_MAGIC_HEAD: [u8; 4] = [0x82, b'S', b'N', b'A'];
/// Magic + version + minimum compatible version.
const XERIAL_HEADER_LEN: usize = 16;
/// The version snappy-java writes in both header fields.
const XERIAL_VERSION: i32 = 1;
/// Input bytes per xerial block, as snappy-java's `SnappyOutputStream` writes them.
pub const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

/// The LZ4 frame magic number (stored little-endian: `04 22 4D 18`).
pub const LZ4_FRAME_MAGIC: u32 = 0x184D_2204;
/// Skippable LZ4 frames: any magic in this range, then a u32 size and that many bytes.
const LZ4_SKIPPABLE_MAGIC: std::ops::RangeInclusive<u32> = 0x184D_2A50..=0x184D_2A5F;
/// Bytes of history a linked LZ4 block may refer to.
const LZ4_WINDOW: usize = 64 * 1024;
const LZ4_FLG_VERSION_MASK: u8 = 0xC0;
const LZ4_FLG_VERSION_1: u8 = 0x40;
const LZ4_FLG_BLOCK_INDEPENDENCE: u8 = 0x20;
const LZ4_FLG_BLOCK_CHECKSUM: u8 = 0x10;
const LZ4_FLG_CONTENT_SIZE: u8 = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM: u8 = 0x04;
const LZ4_FLG_RESERVED: u8 = 0x02;
const LZ4_FLG_DICT_ID: u8 = 0x01;
const LZ4_BD_RESERVED: u8 = 0x8F;
const LZ4_BLOCK_STORED: u32 = 0x8000_0000;

/// Kafka's default levels: gzip `Deflater.DEFAULT_COMPRESSION` (6), zstd `CLEVEL_DEFAULT` (3).
const GZIP_LEVEL: u32 = 6;
const ZSTD_LEVEL: i32 = 3;
/// zstd's default `ZSTD_d_windowLogMax` (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`, 128 MiB) and the
/// smallest window log a frame can declare.
const ZSTD_WINDOW_LOG_DEFAULT_MAX: u32 = 27;
const ZSTD_WINDOW_LOG_MIN: u32 = 10;

/// Bytes decoded per step by the streaming decoders.
const CHUNK: usize = 32 * 1024;

/// Reader options that only matter for old data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecompressOptions {
    /// lz4 only: do not verify the frame descriptor's header checksum. Kafka's writer for magic
    /// 0 (`useBrokenFlagDescriptorChecksum`) hashed the magic number too, so those frames fail
    /// the check; Kafka's reader skips it for magic 0 and only for magic 0.
    pub ignore_header_checksum: bool,
}

impl DecompressOptions {
    /// The options Kafka's reader uses for a batch or wrapper message of this `magic`.
    pub fn for_magic(magic: i8) -> Self {
        DecompressOptions {
            ignore_header_checksum: magic == super::batch::MAGIC_V0,
        }
    }
}

/// Decompresses `data` (a batch's records section) into `out` (cleared first), refusing to
/// produce more than `limit` bytes (a hostile batch must not make klog allocate unboundedly:
/// stream-decode in chunks and stop with an error past the limit; never trust a length field
/// to pre-allocate more than `limit`).
///
/// Errors are [`DecodeError::Decompress`] (bad data) and [`DecodeError::DecompressLimit`]
/// (more than `limit` bytes), with `at: 0`.
pub fn decompress(
    codec: Compression,
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), DecodeError> {
    decompress_with(codec, data, out, limit, DecompressOptions::default())
}

/// [`decompress`] with reader options; see [`DecompressOptions::for_magic`].
pub fn decompress_with(
    codec: Compression,
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    options: DecompressOptions,
) -> Result<(), DecodeError> {
    out.clear();
    if data.is_empty() {
        return Ok(());
    }
    let result = match codec {
        Compression::None => push_bounded(out, data, limit),
        Compression::Gzip => gzip_decompress(data, out, limit),
        Compression::Snappy => snappy_decompress(data, out, limit),
        Compression::Lz4 => lz4_decompress(data, out, limit, options.ignore_header_checksum),
        Compression::Zstd => zstd_decompress(data, out, limit),
    };
    result.map_err(|fail| {
        out.clear();
        match fail {
            Fail::Corrupt(reason) => DecodeError::Decompress {
                at: 0,
                codec: codec.name(),
                reason,
            },
            Fail::Limit => DecodeError::DecompressLimit {
                at: 0,
                codec: codec.name(),
                limit,
            },
        }
    })
}

/// Compresses `data` with `codec` into `out` (cleared first), in the framing Java Kafka writes.
pub fn compress(codec: Compression, data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match codec {
        Compression::None => out.extend_from_slice(data),
        Compression::Gzip => gzip_compress(data, out),
        Compression::Snappy => snappy_compress(data, out),
        Compression::Lz4 => lz4_compress(data, out),
        Compression::Zstd => zstd_compress(data, out),
    }
}

/// Why a stream could not be decompressed, before the codec name is attached.
#[derive(Debug)]
enum Fail {
    Corrupt(String),
    Limit,
}

fn corrupt(reason: impl Into<String>) -> Fail {
    Fail::Corrupt(reason.into())
}

/// Makes room in `out` for `additional` more bytes, growing geometrically but never past
/// `cap` unless `additional` itself requires it.
fn grow(out: &mut Vec<u8>, additional: usize, cap: usize) {
    let needed = out.len().saturating_add(additional);
    if needed > out.capacity() {
        let target = needed
            .max(out.capacity().saturating_mul(2))
            .min(cap.max(needed));
        out.reserve_exact(target - out.len());
    }
}

/// Appends `chunk` to `out` if the result stays within `limit`.
fn push_bounded(out: &mut Vec<u8>, chunk: &[u8], limit: usize) -> Result<(), Fail> {
    if chunk.len() > limit.saturating_sub(out.len()) {
        return Err(Fail::Limit);
    }
    grow(out, chunk.len(), limit);
    out.extend_from_slice(chunk);
    Ok(())
}

/// Reads `r` to its end into `out`, in chunks, failing once more than `limit` bytes came out.
fn read_bounded(r: &mut impl Read, out: &mut Vec<u8>, limit: usize) -> Result<(), Fail> {
    let mut buf = [0u8; CHUNK];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(e.to_string())),
        };
        let chunk = buf
            .get(..n)
            .ok_or_else(|| corrupt("decoder returned more bytes than asked"))?;
        push_bounded(out, chunk, limit)?;
    }
}

/// A little-endian u32 at `pos`, or a truncation error naming `what`.
fn le_u32(data: &[u8], pos: usize, what: &str) -> Result<u32, Fail> {
    pos.checked_add(4)
        .and_then(|end| data.get(pos..end))
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| corrupt(format!("truncated {what} at stream byte {pos}")))
}

/// `len` bytes at `pos`, or a truncation error naming `what`.
fn take<'a>(data: &'a [u8], pos: usize, len: usize, what: &str) -> Result<&'a [u8], Fail> {
    pos.checked_add(len)
        .and_then(|end| data.get(pos..end))
        .ok_or_else(|| {
            corrupt(format!(
                "truncated {what} at stream byte {pos}: {len} bytes needed, {} available",
                data.len().saturating_sub(pos)
            ))
        })
}

// ---------------------------------------------------------------------------------------------
// gzip

fn gzip_decompress(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), Fail> {
    let mut rest = data;
    let mut first = true;
    while !rest.is_empty() {
        let mut member = flate2::bufread::GzDecoder::new(rest);
        match read_bounded(&mut member, out, limit) {
            Ok(()) => {}
            // GZIPInputStream ignores what follows a member when it is not a gzip header.
            Err(Fail::Corrupt(_)) if !first && member.header().is_none() => return Ok(()),
            Err(e) => return Err(e),
        }
        let left = member.into_inner();
        if left.len() >= rest.len() {
            return Err(corrupt("gzip member consumed no input"));
        }
        rest = left;
        first = false;
    }
    Ok(())
}

fn gzip_compress(data: &[u8], out: &mut Vec<u8>) {
    let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::new(GZIP_LEVEL));
    encoder
        .write_all(data)
        .and_then(|()| encoder.try_finish())
        .expect("writing gzip into a Vec cannot fail");
}

// ---------------------------------------------------------------------------------------------
// snappy

fn snappy_decompress(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), Fail> {
    let mut decoder = snap::raw::Decoder::new();
    if data.len() < XERIAL_HEADER_LEN || !data.starts_with(&XERIAL_MAGIC) {
        // No xerial header: one bare raw block, as snappy-java's fallback reads it.
        return snappy_block(&mut decoder, data, out, limit, 0);
    }
    let mut pos = 0;
    while pos < data.len() {
        let head = take(data, pos, 4, "xerial block length")?;
        if head == XERIAL_MAGIC_HEAD {
            // A header, at the start or where a concatenated stream begins.
            let header = take(data, pos, XERIAL_HEADER_LEN, "xerial header")?;
            if !header.starts_with(&XERIAL_MAGIC) {
                return Err(corrupt(format!("bad xerial magic at stream byte {pos}")));
            }
            let version = be_i32(header, 8);
            if version < XERIAL_VERSION {
                return Err(corrupt(format!(
                    "xerial version {version} at stream byte {pos}, at least 1 required"
                )));
            }
            pos += XERIAL_HEADER_LEN;
            continue;
        }
        let len = be_i32(head, 0);
        let len = usize::try_from(len).map_err(|_| {
            corrupt(format!(
                "negative xerial block length {len} at stream byte {pos}"
            ))
        })?;
        let block = take(data, pos + 4, len, "xerial block")?;
        snappy_block(&mut decoder, block, out, limit, pos + 4)?;
        pos += 4 + len;
    }
    Ok(())
}

/// The big-endian i32 at `pos` of a slice known to be long enough (0 otherwise).
fn be_i32(b: &[u8], pos: usize) -> i32 {
    b.get(pos..pos + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i32::from_be_bytes)
}

/// Appends one raw snappy block, checking its declared length against the room left first.
fn snappy_block(
    decoder: &mut snap::raw::Decoder,
    block: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    at: usize,
) -> Result<(), Fail> {
    let n = snap::raw::decompress_len(block)
        .map_err(|e| corrupt(format!("snappy block at stream byte {at}: {e}")))?;
    if n > limit.saturating_sub(out.len()) {
        return Err(Fail::Limit);
    }
    let start = out.len();
    grow(out, n, limit);
    out.resize(start + n, 0);
    let written = match out.get_mut(start..) {
        Some(dst) => decoder.decompress(block, dst),
        None => Ok(0),
    };
    match written {
        Ok(w) if w == n => Ok(()),
        Ok(w) => Err(corrupt(format!(
            "snappy block at stream byte {at}: {w} bytes decoded, {n} declared"
        ))),
        Err(e) => Err(corrupt(format!("snappy block at stream byte {at}: {e}"))),
    }
}

fn snappy_compress(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    let mut encoder = snap::raw::Encoder::new();
    let mut block = vec![0u8; snap::raw::max_compress_len(XERIAL_BLOCK_SIZE)];
    for chunk in data.chunks(XERIAL_BLOCK_SIZE) {
        let n = encoder
            .compress(chunk, &mut block)
            .expect("a 32 KiB chunk fits its max_compress_len buffer");
        let compressed = block.get(..n).unwrap_or_default();
        out.extend_from_slice(&(n as u32).to_be_bytes());
        out.extend_from_slice(compressed);
    }
}

// ---------------------------------------------------------------------------------------------
// lz4

fn lz4_decompress(
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    ignore_header_checksum: bool,
) -> Result<(), Fail> {
    let mut pos = 0;
    while pos < data.len() {
        let magic = le_u32(data, pos, "lz4 magic")?;
        if LZ4_SKIPPABLE_MAGIC.contains(&magic) {
            let size = le_u32(data, pos + 4, "lz4 skippable frame size")? as usize;
            take(data, pos + 8, size, "lz4 skippable frame")?;
            pos += 8 + size;
        } else if magic == LZ4_FRAME_MAGIC {
            pos = lz4_frame(data, pos + 4, out, limit, ignore_header_checksum)?;
        } else {
            return Err(corrupt(format!(
                "no lz4 frame magic at stream byte {pos} (found {magic:#010x})"
            )));
        }
    }
    Ok(())
}

/// Decodes the frame whose descriptor starts at `pos` (just after the magic); returns the
/// position after the frame.
fn lz4_frame(
    data: &[u8],
    mut pos: usize,
    out: &mut Vec<u8>,
    limit: usize,
    ignore_header_checksum: bool,
) -> Result<usize, Fail> {
    let &[flg, bd] = take(data, pos, 2, "lz4 frame descriptor")? else {
        return Err(corrupt("lz4 frame descriptor"));
    };
    if flg & LZ4_FLG_VERSION_MASK != LZ4_FLG_VERSION_1 {
        return Err(corrupt(format!("lz4 frame version bits {:#04x}", flg >> 6)));
    }
    if flg & LZ4_FLG_RESERVED != 0 || bd & LZ4_BD_RESERVED != 0 {
        return Err(corrupt(format!(
            "lz4 reserved descriptor bits set (FLG {flg:#04x}, BD {bd:#04x})"
        )));
    }
    if flg & LZ4_FLG_DICT_ID != 0 {
        return Err(corrupt("lz4 frame needs a dictionary"));
    }
    let block_max = match (bd >> 4) & 0x07 {
        id @ 4..=7 => 1usize << (2 * id + 8),
        id => return Err(corrupt(format!("lz4 block maximum size id {id}"))),
    };
    let independent = flg & LZ4_FLG_BLOCK_INDEPENDENCE != 0;
    let block_checksums = flg & LZ4_FLG_BLOCK_CHECKSUM != 0;
    let content_checksum = flg & LZ4_FLG_CONTENT_CHECKSUM != 0;
    let descriptor_len = if flg & LZ4_FLG_CONTENT_SIZE != 0 {
        10
    } else {
        2
    };
    let descriptor = take(data, pos, descriptor_len, "lz4 frame descriptor")?;
    let content_size = descriptor
        .get(2..10)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes);
    let &[stored] = take(data, pos + descriptor_len, 1, "lz4 header checksum")? else {
        return Err(corrupt("lz4 header checksum"));
    };
    let computed = (twox_hash::XxHash32::oneshot(0, descriptor) >> 8) as u8;
    if !ignore_header_checksum && stored != computed {
        return Err(corrupt(format!(
            "lz4 header checksum: stored {stored:#04x}, computed {computed:#04x}"
        )));
    }
    pos += descriptor_len + 1;

    let frame_start = out.len();
    loop {
        let word = le_u32(data, pos, "lz4 block size")?;
        pos += 4;
        if word == 0 {
            break;
        }
        let len = (word & !LZ4_BLOCK_STORED) as usize;
        if len > block_max {
            return Err(corrupt(format!(
                "lz4 block of {len} bytes at stream byte {} exceeds the frame's {block_max}",
                pos - 4
            )));
        }
        let block = take(data, pos, len, "lz4 block")?;
        let block_at = pos;
        pos += len;
        if block_checksums {
            let stored = le_u32(data, pos, "lz4 block checksum")?;
            pos += 4;
            if stored != twox_hash::XxHash32::oneshot(0, block) {
                return Err(corrupt(format!(
                    "lz4 block checksum mismatch at stream byte {block_at}"
                )));
            }
        }
        if word & LZ4_BLOCK_STORED != 0 {
            push_bounded(out, block, limit)?;
        } else {
            lz4_block(
                block,
                out,
                limit,
                block_max,
                independent,
                frame_start,
                block_at,
            )?;
        }
    }
    let produced = out.get(frame_start..).unwrap_or_default();
    if content_checksum {
        let stored = le_u32(data, pos, "lz4 content checksum")?;
        pos += 4;
        if stored != twox_hash::XxHash32::oneshot(0, produced) {
            return Err(corrupt("lz4 content checksum mismatch"));
        }
    }
    if let Some(size) = content_size
        && size != produced.len() as u64
    {
        return Err(corrupt(format!(
            "lz4 frame declares {size} bytes of content, holds {}",
            produced.len()
        )));
    }
    Ok(pos)
}

/// Decodes one compressed block straight into `out`, with at most `block_max` bytes of room,
/// fewer if `limit` is closer.
fn lz4_block(
    block: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    block_max: usize,
    independent: bool,
    frame_start: usize,
    at: usize,
) -> Result<(), Fail> {
    let start = out.len();
    let room = block_max.min(limit.saturating_sub(start));
    grow(out, room, limit);
    out.resize(start + room, 0);
    let Some((head, tail)) = out.split_at_mut_checked(start) else {
        return Err(corrupt("lz4 output split"));
    };
    let result = if independent {
        lz4_flex::block::decompress_into(block, tail)
    } else {
        // Linked blocks may refer to the frame's previous 64 KiB of output.
        let dict_start = frame_start.max(start.saturating_sub(LZ4_WINDOW));
        let dict = head.get(dict_start..).unwrap_or_default();
        lz4_flex::block::decompress_into_with_dict(block, tail, dict)
    };
    match result {
        Ok(n) => {
            out.truncate(start + n);
            Ok(())
        }
        Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) if room < block_max => {
            out.truncate(start);
            Err(Fail::Limit)
        }
        Err(e) => {
            out.truncate(start);
            Err(corrupt(format!("lz4 block at stream byte {at}: {e}")))
        }
    }
}

fn lz4_compress(data: &[u8], out: &mut Vec<u8>) {
    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
    // Lz4BlockOutputStream's settings: FLG 0x60 (version 1, independent blocks), BD 0x40.
    let info = FrameInfo::new()
        .block_size(BlockSize::Max64KB)
        .block_mode(BlockMode::Independent)
        .block_checksums(false)
        .content_checksum(false)
        .content_size(None);
    let mut encoder = FrameEncoder::with_frame_info(info, out);
    encoder
        .write_all(data)
        .map_err(lz4_flex::frame::Error::from)
        .and_then(|()| encoder.try_finish())
        .expect("writing an lz4 frame into a Vec cannot fail");
}

// ---------------------------------------------------------------------------------------------
// zstd

/// The largest window log the streaming decoder accepts for `limit`: the power of two at or
/// above `limit`, within zstd's own bounds.
fn zstd_window_log_max(limit: usize) -> u32 {
    let ceil_log2 = usize::BITS - limit.saturating_sub(1).leading_zeros();
    ceil_log2.clamp(ZSTD_WINDOW_LOG_MIN, ZSTD_WINDOW_LOG_DEFAULT_MAX)
}

fn zstd_error(code: usize) -> Fail {
    corrupt(zstd::zstd_safe::get_error_name(code))
}

thread_local! {
    /// One streaming zstd decoder per thread, reset for each frame: its buffers are allocated
    /// once, not once per batch.
    static ZSTD_DCTX: std::cell::RefCell<Option<zstd::zstd_safe::DCtx<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn zstd_decompress(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), Fail> {
    ZSTD_DCTX.with_borrow_mut(|slot| {
        let dctx = match slot {
            Some(dctx) => dctx,
            None => slot.insert(
                zstd::zstd_safe::DCtx::try_create()
                    .ok_or_else(|| corrupt("cannot create a zstd context"))?,
            ),
        };
        zstd_decompress_with(dctx, data, out, limit)
    })
}

fn zstd_decompress_with(
    dctx: &mut zstd::zstd_safe::DCtx<'static>,
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), Fail> {
    use zstd::zstd_safe::{
        DParameter, InBuffer, OutBuffer, ResetDirective, is_error_kind, zstd_sys,
    };
    // Whatever the last frame left (an error half way included) goes.
    dctx.reset(ResetDirective::SessionAndParameters)
        .map_err(zstd_error)?;
    dctx.set_parameter(DParameter::WindowLogMax(zstd_window_log_max(limit)))
        .map_err(zstd_error)?;
    let mut input = InBuffer::around(data);
    // One byte more than the limit, to tell "exactly limit" from "more".
    let cap = limit.saturating_add(1);
    loop {
        grow(out, CHUNK.min(cap - out.len()), cap);
        let before = (input.pos(), out.len());
        let len = out.len();
        let result = dctx.decompress_stream(&mut OutBuffer::around_pos(out, len), &mut input);
        let hint = match result {
            Ok(hint) => hint,
            Err(code)
                if is_error_kind(
                    code,
                    zstd_sys::ZSTD_ErrorCode::ZSTD_error_frameParameter_windowTooLarge,
                ) =>
            {
                return zstd_decompress_whole(data, out, limit);
            }
            Err(code) => return Err(zstd_error(code)),
        };
        if out.len() > limit {
            return Err(Fail::Limit);
        }
        if hint == 0 && input.pos() == data.len() {
            return Ok(());
        }
        if (input.pos(), out.len()) == before && out.len() < out.capacity() {
            return Err(corrupt(format!(
                "truncated zstd frame at stream byte {}",
                input.pos()
            )));
        }
    }
}

/// Single-shot decoding for frames that declare a window larger than the streaming decoder
/// allows: the output buffer is the window, so nothing beyond `limit` is allocated.
fn zstd_decompress_whole(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), Fail> {
    use zstd::zstd_safe::{DCtx, is_error_kind, zstd_sys};
    out.clear();
    if out.capacity() < limit {
        out.try_reserve_exact(limit)
            .map_err(|_| corrupt(format!("cannot allocate {limit} bytes for a zstd frame")))?;
    }
    let mut dctx = DCtx::try_create().ok_or_else(|| corrupt("cannot create a zstd context"))?;
    match dctx.decompress(out, data) {
        Ok(_) if out.len() <= limit => Ok(()),
        Ok(_) => Err(Fail::Limit),
        Err(code) if is_error_kind(code, zstd_sys::ZSTD_ErrorCode::ZSTD_error_dstSize_tooSmall) => {
            Err(Fail::Limit)
        }
        Err(code) => Err(zstd_error(code)),
    }
}

fn zstd_compress(data: &[u8], out: &mut Vec<u8>) {
    out.reserve_exact(zstd::zstd_safe::compress_bound(data.len()));
    zstd::zstd_safe::compress(out, data, ZSTD_LEVEL)
        .expect("zstd compression into a compress_bound buffer cannot fail");
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::format::record::Record;
    use crate::format::varint::Cursor;
    use proptest::prelude::*;
    use std::path::Path;

    const CODECS: [Compression; 4] = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    const MIB: usize = 1024 * 1024;

    /// Deterministic incompressible bytes (xorshift64*).
    fn random_bytes(n: usize, mut seed: u64) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            v.extend_from_slice(&seed.wrapping_mul(0x2545_F491_4F6C_DD1D).to_be_bytes());
        }
        v.truncate(n);
        v
    }

    fn compressible(n: usize) -> Vec<u8> {
        let text = b"event 42 user-7 {\"status\":\"ok\",\"items\":[1,2,3]} ";
        text.iter().copied().cycle().take(n).collect()
    }

    fn packed(codec: Compression, data: &[u8]) -> Vec<u8> {
        let mut c = Vec::new();
        compress(codec, data, &mut c);
        c
    }

    fn unpacked(codec: Compression, data: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        let mut out = vec![0xAA; 3]; // must be cleared
        decompress(codec, data, &mut out, limit).map(|()| out)
    }

    fn is_limit(r: &Result<Vec<u8>, DecodeError>) -> bool {
        matches!(r, Err(DecodeError::DecompressLimit { at: 0, .. }))
    }

    fn is_corrupt(r: &Result<Vec<u8>, DecodeError>) -> bool {
        matches!(r, Err(DecodeError::Decompress { at: 0, .. }))
    }

    #[test]
    fn codec_names_are_kafkas_both_ways() {
        for (i, (codec, name)) in Compression::ALL
            .into_iter()
            .zip(Compression::NAMES)
            .enumerate()
        {
            assert_eq!(codec.id() as usize, i);
            assert_eq!(Compression::from_id(i as u8), Some(codec));
            assert_eq!(codec.to_string(), name);
            assert_eq!(name.parse::<Compression>(), Ok(codec));
        }
        assert_eq!(Compression::from_id(5), None);
        for bad in ["", "GZIP", "uncompressed", "producer", " lz4"] {
            let e = bad.parse::<Compression>().unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "unknown compression codec '{bad}': expected none, gzip, snappy, lz4 or zstd"
                )
            );
        }
    }

    #[test]
    fn round_trip_every_codec() {
        let inputs: [(&str, Vec<u8>); 5] = [
            ("empty", Vec::new()),
            ("one byte", vec![7]),
            ("small", b"hello, kafka".to_vec()),
            ("1 MiB random", random_bytes(MIB, 1)),
            ("1 MiB compressible", compressible(MIB)),
        ];
        for codec in ALL {
            for (name, data) in &inputs {
                let c = packed(codec, data);
                let back = unpacked(codec, &c, data.len());
                assert_eq!(back.as_ref().ok(), Some(data), "{} {name}", codec.name());
                if !data.is_empty() {
                    let short = unpacked(codec, &c, data.len() - 1);
                    assert!(is_limit(&short), "{} {name}: {short:?}", codec.name());
                }
            }
        }
        let c = packed(Compression::Zstd, &compressible(MIB));
        assert!(c.len() < MIB / 100, "zstd actually compresses: {}", c.len());
    }

    #[test]
    fn limit_is_enforced_without_allocating_past_it() {
        let zeros = vec![0u8; 10_000_000];
        let limit = 1_000_000;
        for codec in ALL {
            let c = packed(codec, &zeros);
            let mut out = Vec::new();
            let r = decompress(codec, &c, &mut out, limit);
            assert!(
                matches!(
                    r,
                    Err(DecodeError::DecompressLimit {
                        at: 0,
                        limit: 1_000_000,
                        ..
                    })
                ),
                "{}: {r:?}",
                codec.name()
            );
            assert!(out.is_empty());
            assert!(
                out.capacity() <= limit + 1,
                "{}: capacity {}",
                codec.name(),
                out.capacity()
            );
            // Exactly at the limit is fine.
            let c = packed(codec, &zeros[..limit]);
            assert_eq!(unpacked(codec, &c, limit).unwrap().len(), limit);
        }
        // A limit of zero admits only empty output.
        for codec in ALL {
            assert_eq!(unpacked(codec, &packed(codec, b""), 0).unwrap(), b"");
            assert!(is_limit(&unpacked(codec, &packed(codec, b"x"), 0)));
        }
    }

    #[test]
    fn error_display_names_codec_and_position() {
        let e = unpacked(Compression::Gzip, b"not gzip", 100).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid gzip data at byte 0: "),
            "{e}"
        );
        assert_eq!(e.clone().shifted(61).at(), 61);
        let e = unpacked(Compression::Lz4, &packed(Compression::Lz4, &[1; 100]), 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lz4 data at byte 0 decompresses to more than 10 bytes"
        );
        assert_eq!(e.shifted(5).at(), 5);
    }

    #[test]
    fn empty_stream_is_empty_for_every_codec() {
        for codec in ALL {
            assert_eq!(unpacked(codec, b"", 0).unwrap(), b"");
        }
    }

    #[test]
    fn truncated_streams_are_errors() {
        let data = compressible(100_000);
        for codec in [Compression::Gzip, Compression::Lz4, Compression::Zstd] {
            let c = packed(codec, &data);
            for cut in 1..c.len() {
                let r = unpacked(codec, &c[..cut], data.len());
                assert!(is_corrupt(&r), "{} cut at {cut}: {r:?}", codec.name());
            }
        }
        // xerial can only be cut inside a header or a block to be wrong.
        let c = packed(Compression::Snappy, &compressible(70_000));
        for cut in 1..c.len() {
            let r = unpacked(Compression::Snappy, &c[..cut], data.len());
            if let Ok(out) = r {
                assert!(out.len() < 70_000 && out.len() % XERIAL_BLOCK_SIZE == 0);
            }
        }
    }

    // --- snappy -------------------------------------------------------------------------------

    #[test]
    fn snappy_writes_xerial_header_and_32k_blocks() {
        let data = random_bytes(100_000, 3);
        let c = packed(Compression::Snappy, &data);
        assert_eq!(&c[..8], b"\x82SNAPPY\0");
        assert_eq!(&c[8..16], &[0, 0, 0, 1, 0, 0, 0, 1]);
        let mut pos = 16;
        let mut sizes = Vec::new();
        while pos < c.len() {
            let len = u32::from_be_bytes(c[pos..pos + 4].try_into().unwrap()) as usize;
            let block = &c[pos + 4..pos + 4 + len];
            sizes.push(snap::raw::decompress_len(block).unwrap());
            pos += 4 + len;
        }
        assert_eq!(pos, c.len());
        assert_eq!(sizes, [32768, 32768, 32768, 100_000 - 3 * 32768]);
        // Empty input: just the header.
        assert_eq!(packed(Compression::Snappy, b""), &c[..16]);
    }

    #[test]
    fn snappy_reads_bare_raw_block() {
        for data in [b"x".to_vec(), compressible(200_000), random_bytes(5000, 4)] {
            let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
            assert_eq!(
                unpacked(Compression::Snappy, &raw, data.len()).unwrap(),
                data
            );
            assert!(is_limit(&unpacked(
                Compression::Snappy,
                &raw,
                data.len() - 1
            )));
        }
        // A raw block that happens to be shorter than a header.
        let raw = snap::raw::Encoder::new().compress_vec(b"").unwrap();
        assert_eq!(unpacked(Compression::Snappy, &raw, 10).unwrap(), b"");
    }

    #[test]
    fn snappy_reads_concatenated_xerial_streams_and_big_blocks() {
        let (a, b) = (compressible(40_000), random_bytes(1000, 5));
        let mut c = packed(Compression::Snappy, &a);
        c.extend_from_slice(&packed(Compression::Snappy, &b));
        let mut both = a.clone();
        both.extend_from_slice(&b);
        assert_eq!(unpacked(Compression::Snappy, &c, MIB).unwrap(), both);

        // Other writers may use blocks bigger than 32 KiB.
        let big = compressible(300_000);
        let block = snap::raw::Encoder::new().compress_vec(&big).unwrap();
        let mut c = packed(Compression::Snappy, b"");
        c.extend_from_slice(&(block.len() as u32).to_be_bytes());
        c.extend_from_slice(&block);
        assert_eq!(unpacked(Compression::Snappy, &c, MIB).unwrap(), big);
        assert!(is_limit(&unpacked(Compression::Snappy, &c, 299_999)));
    }

    #[test]
    fn snappy_rejects_bad_framing() {
        let good = packed(Compression::Snappy, &compressible(1000));
        // Version 0.
        let mut c = good.clone();
        c[11] = 0;
        assert!(is_corrupt(&unpacked(Compression::Snappy, &c, MIB)));
        // Negative block length.
        let mut c = good.clone();
        c[16] = 0xFF;
        assert!(is_corrupt(&unpacked(Compression::Snappy, &c, MIB)));
        // Block length past the end.
        let mut c = good.clone();
        c[19] = c[19].wrapping_add(1);
        assert!(is_corrupt(&unpacked(Compression::Snappy, &c, MIB)));
        // A block whose declared length is huge never allocates it.
        let mut c = packed(Compression::Snappy, b"");
        let lie = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]; // varint u32::MAX, then junk
        c.extend_from_slice(&(lie.len() as u32).to_be_bytes());
        c.extend_from_slice(&lie);
        let mut out = Vec::new();
        let r = decompress(Compression::Snappy, &c, &mut out, MIB);
        assert!(r.is_err() && out.capacity() <= MIB);
    }

    // --- gzip ---------------------------------------------------------------------------------

    fn gzip_member(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_reads_concatenated_members() {
        let mut c = gzip_member(b"first member, ");
        c.extend_from_slice(&gzip_member(b"second member"));
        assert_eq!(
            unpacked(Compression::Gzip, &c, 100).unwrap(),
            b"first member, second member"
        );
        assert!(is_limit(&unpacked(Compression::Gzip, &c, 20)));
    }

    #[test]
    fn gzip_trailing_bytes_follow_java() {
        let member = gzip_member(b"payload");
        // Not a gzip header after the member: ignored, as GZIPInputStream does.
        for junk in [
            &b"\0"[..],
            b"\0\0\0\0",
            b"garbage that is not gzip",
            b"\x1f",
        ] {
            let mut c = member.clone();
            c.extend_from_slice(junk);
            assert_eq!(unpacked(Compression::Gzip, &c, 100).unwrap(), b"payload");
        }
        // A valid second header with a broken body is an error.
        let second = gzip_member(b"more data here");
        let mut c = member.clone();
        c.extend_from_slice(&second[..second.len() - 3]);
        assert!(is_corrupt(&unpacked(Compression::Gzip, &c, 100)));
        // Garbage first is an error; so is a bad CRC.
        assert!(is_corrupt(&unpacked(Compression::Gzip, b"junk", 100)));
        let mut c = member.clone();
        let crc_at = c.len() - 8;
        c[crc_at] ^= 1;
        assert!(is_corrupt(&unpacked(Compression::Gzip, &c, 100)));
    }

    // --- lz4 ----------------------------------------------------------------------------------

    fn xxh32(data: &[u8]) -> u32 {
        twox_hash::XxHash32::oneshot(0, data)
    }

    #[test]
    fn lz4_writes_kafka_frame() {
        let data = random_bytes(200_000, 6);
        let c = packed(Compression::Lz4, &data);
        let hc = (xxh32(&[0x60, 0x40]) >> 8) as u8;
        assert_eq!(&c[..7], &[0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, hc]);
        assert_eq!(
            &c[c.len() - 4..],
            &[0, 0, 0, 0],
            "end mark, no content checksum"
        );
        // Blocks of at most 64 KiB, stored when incompressible, no block checksums.
        let mut pos = 7;
        let mut sizes = Vec::new();
        loop {
            let word = u32::from_le_bytes(c[pos..pos + 4].try_into().unwrap());
            pos += 4;
            if word == 0 {
                break;
            }
            let len = (word & 0x7FFF_FFFF) as usize;
            assert!(len <= 65536);
            sizes.push((word & LZ4_BLOCK_STORED != 0, len));
            pos += len;
        }
        assert_eq!(pos, c.len());
        assert_eq!(
            sizes,
            [(true, 65536), (true, 65536), (true, 65536), (true, 3392)]
        );
        // The lz4 reference frame reader agrees.
        let mut back = Vec::new();
        lz4_flex::frame::FrameDecoder::new(&c[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn lz4_reads_any_frame() {
        use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
        let data = {
            let mut d = compressible(200_000);
            d.extend_from_slice(&random_bytes(100_000, 7));
            d
        };
        for block_size in [BlockSize::Max64KB, BlockSize::Max256KB, BlockSize::Max4MB] {
            for mode in [BlockMode::Independent, BlockMode::Linked] {
                for checksums in [false, true] {
                    for size in [None, Some(data.len() as u64)] {
                        let info = FrameInfo::new()
                            .block_size(block_size)
                            .block_mode(mode)
                            .block_checksums(checksums)
                            .content_checksum(checksums)
                            .content_size(size);
                        let mut e = FrameEncoder::with_frame_info(info, Vec::new());
                        // Small writes, so that linked blocks really refer back.
                        for piece in data.chunks(10_000) {
                            e.write_all(piece).unwrap();
                        }
                        let mut c = e.finish().unwrap();
                        let what = format!("{block_size:?} {mode:?} {checksums} {size:?}");
                        assert_eq!(
                            unpacked(Compression::Lz4, &c, data.len()).as_ref(),
                            Ok(&data),
                            "{what}"
                        );
                        assert!(
                            is_limit(&unpacked(Compression::Lz4, &c, data.len() - 1)),
                            "{what}"
                        );
                        // Two frames in a row, with a skippable frame between them.
                        let one = c.clone();
                        c.extend_from_slice(&[0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3]);
                        c.extend_from_slice(&one);
                        let out = unpacked(Compression::Lz4, &c, 2 * data.len()).unwrap();
                        assert!(out.len() == 2 * data.len() && out[data.len()..] == data[..]);
                    }
                }
            }
        }
    }

    #[test]
    fn lz4_checks_checksums_and_sizes() {
        use lz4_flex::frame::{FrameEncoder, FrameInfo};
        let data = compressible(5000);
        let info = FrameInfo::new()
            .block_checksums(true)
            .content_checksum(true)
            .content_size(Some(5000));
        let mut e = FrameEncoder::with_frame_info(info, Vec::new());
        e.write_all(&data).unwrap();
        let good = e.finish().unwrap();
        assert_eq!(unpacked(Compression::Lz4, &good, 5000).unwrap(), data);
        // Flip a bit in each byte after the header checksum: always an error, never a panic.
        for i in 15..good.len() {
            let mut c = good.clone();
            c[i] ^= 0x10;
            assert!(unpacked(Compression::Lz4, &c, 5000).is_err(), "byte {i}");
        }
        // Wrong content size.
        let mut c = good.clone();
        c[6] = c[6].wrapping_add(1);
        let hc = (xxh32(&c[4..14]) >> 8) as u8;
        c[14] = hc;
        let r = unpacked(Compression::Lz4, &c, MIB);
        assert!(format!("{r:?}").contains("declares"), "{r:?}");
        // Unknown block size id, reserved bits, dictionary frames, wrong magic.
        for (i, v) in [(5, 0x30u8), (5, 0x41), (4, 0x61), (4, 0x62), (0, 0x05)] {
            let mut c = packed(Compression::Lz4, b"abc");
            c[i] = v;
            c[6] = (xxh32(&c[4..6]) >> 8) as u8;
            assert!(
                is_corrupt(&unpacked(Compression::Lz4, &c, MIB)),
                "{i} {v:#x}"
            );
        }
    }

    #[test]
    fn lz4_header_checksum_of_kafka_magic_0() {
        let data = compressible(1000);
        let mut c = packed(Compression::Lz4, &data);
        // Kafka's magic-0 writer hashed magic + descriptor.
        let broken = (xxh32(&c[0..6]) >> 8) as u8;
        assert_ne!(broken, c[6]);
        c[6] = broken;
        let r = unpacked(Compression::Lz4, &c, MIB);
        assert!(format!("{r:?}").contains("header checksum"), "{r:?}");
        let mut out = Vec::new();
        let lenient = DecompressOptions::for_magic(0);
        assert!(lenient.ignore_header_checksum);
        decompress_with(Compression::Lz4, &c, &mut out, MIB, lenient).unwrap();
        assert_eq!(out, data);
        for magic in [1, 2] {
            let r = decompress_with(
                Compression::Lz4,
                &c,
                &mut out,
                MIB,
                DecompressOptions::for_magic(magic),
            );
            assert!(r.is_err());
        }
    }

    // --- zstd ---------------------------------------------------------------------------------

    /// A frame as Java's streaming writer makes it: no content size, a window from the level.
    fn zstd_streamed(data: &[u8], window_log: u32) -> Vec<u8> {
        use zstd::zstd_safe::CParameter;
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.set_parameter(CParameter::WindowLog(window_log)).unwrap();
        e.include_contentsize(false).unwrap();
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn zstd_reads_large_window_frames_within_limit() {
        let data = compressible(50_000);
        for window_log in [20, 24, 27, 30] {
            let c = zstd_streamed(&data, window_log);
            assert_eq!(c[4] & 0x20, 0, "not single-segment");
            assert_eq!(10 + u32::from(c[5] >> 3), window_log, "declared window");
            // Streaming decoder allows at most a 64 KiB window for this limit: single-shot path.
            let mut out = Vec::new();
            decompress(Compression::Zstd, &c, &mut out, 60_000).unwrap();
            assert_eq!(out, data, "window log {window_log}");
            assert!(out.capacity() <= 60_001);
            let r = unpacked(Compression::Zstd, &c, 49_999);
            assert!(is_limit(&r), "window log {window_log}: {r:?}");
        }
    }

    #[test]
    fn zstd_reads_concatenated_frames() {
        let mut c = packed(Compression::Zstd, b"one ");
        c.extend_from_slice(&zstd_streamed(b"two", 20));
        assert_eq!(unpacked(Compression::Zstd, &c, 7).unwrap(), b"one two");
        assert!(is_limit(&unpacked(Compression::Zstd, &c, 6)));
        c.push(0);
        assert!(is_corrupt(&unpacked(Compression::Zstd, &c, 100)));
    }

    #[test]
    fn zstd_window_log_follows_limit() {
        assert_eq!(zstd_window_log_max(0), 10);
        assert_eq!(zstd_window_log_max(1024), 10);
        assert_eq!(zstd_window_log_max(1025), 11);
        assert_eq!(zstd_window_log_max(MIB), 20);
        assert_eq!(zstd_window_log_max(MIB + 1), 21);
        assert_eq!(zstd_window_log_max(usize::MAX), 27);
    }

    // --- arbitrary input ----------------------------------------------------------------------

    /// Prefixes that get random bytes past each codec's magic check.
    fn codec_prefix(codec: Compression) -> Vec<u8> {
        match codec {
            Compression::Gzip => vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255],
            Compression::Snappy => packed(Compression::Snappy, b""),
            Compression::Lz4 => packed(Compression::Lz4, b"")[..7].to_vec(),
            Compression::Zstd => vec![0x28, 0xb5, 0x2f, 0xfd],
            Compression::None => Vec::new(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn garbage_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            prefixed in any::<bool>(),
            limit in 0usize..100_000,
        ) {
            for codec in CODECS {
                let mut data = if prefixed { codec_prefix(codec) } else { Vec::new() };
                data.extend_from_slice(&bytes);
                let mut out = Vec::new();
                match decompress(codec, &data, &mut out, limit) {
                    Ok(()) => prop_assert!(out.len() <= limit),
                    Err(e) => {
                        prop_assert_eq!(e.at(), 0);
                        prop_assert!(out.is_empty());
                    }
                }
                prop_assert!(out.capacity() <= (limit + 1).max(64 * 1024));
            }
        }

        #[test]
        fn any_bytes_round_trip(
            bytes in proptest::collection::vec(any::<u8>(), 0..5000),
            repeat in 1usize..50,
        ) {
            let data = bytes.repeat(repeat);
            for codec in ALL {
                let c = packed(codec, &data);
                prop_assert_eq!(unpacked(codec, &c, data.len()).unwrap(), data.clone());
            }
        }

        #[test]
        fn corrupted_streams_never_panic(
            seed in any::<u64>(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let data = {
                let mut d = compressible(20_000);
                d.extend_from_slice(&random_bytes(3000, seed));
                d
            };
            for codec in CODECS {
                let mut c = packed(codec, &data);
                for &(i, x) in &flips {
                    let i = i % c.len();
                    c[i] ^= x | 1;
                }
                let mut out = Vec::new();
                if decompress(codec, &c, &mut out, 30_000).is_ok() {
                    prop_assert!(out.len() <= 30_000);
                }
            }
        }
    }

    // --- real Kafka data ----------------------------------------------------------------------

    /// A record's key and value, `None` for null.
    type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

    fn expected_records(dir: &Path) -> Vec<KeyValue> {
        use base64::Engine as _;
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let field = |v: &serde_json::Value| {
            v.as_str()
                .map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap())
        };
        json["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (field(&r["key"]), field(&r["value"])))
            .collect()
    }

    #[test]
    fn kafka_python_fixtures() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/kafka-python");
        for codec in CODECS {
            let dir = root.join(codec.name());
            let Ok(log) = std::fs::read(dir.join("00000000000000000000.log")) else {
                eprintln!("skipping {}: no fixture in {}", codec.name(), dir.display());
                continue;
            };
            let expected = expected_records(&dir);
            let mut seen = 0;
            let mut batches = 0;
            let mut pos = 0;
            let mut section = Vec::new();
            while pos < log.len() {
                let length = i32::from_be_bytes(log[pos + 8..pos + 12].try_into().unwrap());
                let batch = &log[pos..pos + 12 + length as usize];
                pos += batch.len();
                batches += 1;
                let attributes = i16::from_be_bytes(batch[21..23].try_into().unwrap());
                assert_eq!(
                    Compression::from_id((attributes & 7) as u8),
                    Some(codec),
                    "batch {batches}"
                );
                let count = i32::from_be_bytes(batch[57..61].try_into().unwrap());
                decompress(codec, &batch[61..], &mut section, 16 * MIB).unwrap();

                let mut cursor = Cursor::new(&section);
                for _ in 0..count {
                    let record = Record::decode(&mut cursor).unwrap();
                    let (key, value) = &expected[seen];
                    assert_eq!(record.key, key.as_deref(), "{} record {seen}", codec.name());
                    assert_eq!(
                        record.value,
                        value.as_deref(),
                        "{} record {seen}",
                        codec.name()
                    );
                    seen += 1;
                }
                assert_eq!(cursor.remaining(), 0, "{} batch {batches}", codec.name());

                let again = packed(codec, &section);
                assert_eq!(unpacked(codec, &again, section.len()).unwrap(), section);
            }
            assert_eq!(batches, 4, "{}", codec.name());
            assert_eq!(seen, expected.len(), "{}", codec.name());
        }
    }
}
