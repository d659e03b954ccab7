//! Kafka's legacy message formats, magic 0 (Kafka ≤ 0.9) and magic 1 (0.10): read-only.
//!
//! # Layout
//! | off     | size | field                                                     |
//! |--------:|-----:|-----------------------------------------------------------|
//! |       0 |    8 | offset (of the message; of its last inner message for a compressed wrapper) |
//! |       8 |    4 | message size (bytes after this field)                     |
//! |      12 |    4 | CRC-32 (IEEE) of bytes [16, end)                          |
//! |      16 |    1 | magic (0 or 1)                                            |
//! |      17 |    1 | attributes: codec in bits 0-2, timestamp type in bit 3 (v1) |
//! |      18 |    8 | timestamp (v1 only)                                       |
//! | 18 / 26 |    4 | key length (-1 = null), then the key                      |
//! |       … |    4 | value length (-1 = null), then the value                  |
//!
//! A compressed message (a "wrapper") has a null key and, as its value, the compressed bytes of
//! an inner message set. Inner offsets are absolute in v0 and relative (0..n-1) in v1, where
//! the absolute offset is `wrapper offset - last inner relative offset + inner relative offset`.

use super::DecodeError;
use super::batch::{
    COMPRESSION_CODEC_MASK, Compression, MAGIC_V0, MAGIC_V1, TIMESTAMP_TYPE_MASK, TimestampType,
    is_legacy_magic,
};
use super::compression::{DecompressOptions, decompress_with};
use super::varint::Cursor;

/// One legacy message, borrowing its key and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyMessage<'a> {
    pub offset: i64,
    /// Whole entry size: 12 + the size field.
    pub size: usize,
    pub crc: u32,
    pub magic: i8,
    pub attributes: i8,
    /// The message's timestamp (v1), -1 when none.
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

/// CRC-32 (IEEE) over bytes [16, end) of a legacy entry.
pub fn compute_crc(entry: &[u8]) -> u32 {
    crc32fast::hash(entry.get(16..).unwrap_or(&[]))
}

fn opt_bytes<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<Option<&'a [u8]>, DecodeError> {
    let at = c.position();
    match c.i32()? {
        -1 => Ok(None),
        n if n < 0 => Err(DecodeError::BadLength {
            at,
            what,
            value: n as i64,
        }),
        n => Ok(Some(c.bytes(n as usize)?)),
    }
}

impl<'a> LegacyMessage<'a> {
    /// Decodes the legacy message at the start of `buf`, checking its CRC and that its fields
    /// fill exactly its size.
    pub fn decode(buf: &'a [u8]) -> Result<LegacyMessage<'a>, DecodeError> {
        let mut c = Cursor::new(buf);
        let offset = c.i64()?;
        let size_field = c.i32()?;
        let min = 14;
        if size_field < min {
            return Err(DecodeError::BadLength {
                at: 8,
                what: "message size",
                value: size_field as i64,
            });
        }
        let size = 12 + size_field as usize;
        let entry = buf.get(..size).ok_or(DecodeError::Truncated {
            at: 0,
            needed: size,
            available: buf.len(),
        })?;
        let mut c = Cursor::at(entry, 12);
        let crc = c.u32()?;
        let magic = c.i8()?;
        if !is_legacy_magic(magic) {
            return Err(DecodeError::UnsupportedMagic { at: 16, magic });
        }
        let computed = compute_crc(entry);
        if computed != crc {
            return Err(DecodeError::CrcMismatch {
                at: 12,
                stored: crc,
                computed,
            });
        }
        // The offset is outside the CRC: a damaged one must not make offsets overflow.
        if offset < 0 || offset == i64::MAX {
            return Err(DecodeError::BadLength {
                at: 0,
                what: "offset",
                value: offset,
            });
        }
        let attributes = c.i8()?;
        let timestamp = if magic == MAGIC_V1 { c.i64()? } else { -1 };
        let key = opt_bytes(&mut c, "key length")?;
        let value = opt_bytes(&mut c, "value length")?;
        if c.remaining() != 0 {
            return Err(DecodeError::BadRecord {
                at: c.position(),
                reason: "bytes left after the value",
            });
        }
        Ok(LegacyMessage {
            offset,
            size,
            crc,
            magic,
            attributes,
            timestamp,
            key,
            value,
        })
    }

    pub fn compression_id(&self) -> u8 {
        (i16::from(self.attributes) & COMPRESSION_CODEC_MASK) as u8
    }

    pub fn compression(&self) -> Option<Compression> {
        Compression::from_id(self.compression_id())
    }

    pub fn timestamp_type(&self) -> Option<TimestampType> {
        match (
            self.magic,
            i16::from(self.attributes) & TIMESTAMP_TYPE_MASK != 0,
        ) {
            (MAGIC_V0, _) => None,
            (_, true) => Some(TimestampType::LogAppendTime),
            (_, false) => Some(TimestampType::CreateTime),
        }
    }
}

/// A message of a legacy entry as a reader sees it: absolute offset and timestamp resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: Option<TimestampType>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// [`LegacyRecord`] borrowing its key and value: from the entry itself, or from the buffer
/// a compressed wrapper was decompressed into (see [`records_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyRecordRef<'a> {
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: Option<TimestampType>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

impl LegacyRecordRef<'_> {
    pub fn to_owned(&self) -> LegacyRecord {
        LegacyRecord {
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            key: self.key.map(<[u8]>::to_vec),
            value: self.value.map(<[u8]>::to_vec),
        }
    }
}

/// Most inner messages a compressed wrapper may hold.
const MAX_INNER: usize = 1 << 20;

/// The records of a legacy entry: the message itself, or the inner messages of a compressed
/// wrapper (decompressed, bounded by `limit` bytes).
pub fn records(m: &LegacyMessage<'_>, limit: usize) -> Result<Vec<LegacyRecord>, DecodeError> {
    let mut scratch = Vec::new();
    Ok(records_in(m, &mut scratch, limit)?
        .iter()
        .map(LegacyRecordRef::to_owned)
        .collect())
}

/// [`records`] without copying keys and values: a compressed wrapper is decompressed into
/// `scratch` (bounded by `limit` bytes), and the records borrow from it or from the entry.
pub fn records_in<'s>(
    m: &LegacyMessage<'s>,
    scratch: &'s mut Vec<u8>,
    limit: usize,
) -> Result<Vec<LegacyRecordRef<'s>>, DecodeError> {
    let codec = m.compression().ok_or(DecodeError::UnsupportedCompression {
        at: 17,
        codec: m.compression_id(),
    })?;
    if codec == Compression::None {
        return Ok(vec![LegacyRecordRef {
            offset: m.offset,
            timestamp: m.timestamp,
            timestamp_type: m.timestamp_type(),
            key: m.key,
            value: m.value,
        }]);
    }
    decompress_with(
        codec,
        m.value.unwrap_or(&[]),
        scratch,
        limit,
        DecompressOptions::for_magic(m.magic),
    )?;
    let inner: &'s [u8] = scratch;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < inner.len() {
        if out.len() == MAX_INNER {
            // Refused, not cut short: what follows would be lost without a word, and a magic 1
            // wrapper's offsets are relative to its last inner message.
            return Err(DecodeError::BadRecord {
                at: 0,
                reason: "a compressed wrapper with more than 2^20 inner messages",
            });
        }
        let rest = inner.get(pos..).unwrap_or(&[]);
        let im = LegacyMessage::decode(rest).map_err(|_| DecodeError::BadRecord {
            at: 0,
            reason: "an inner message of a compressed wrapper does not decode",
        })?;
        if im.magic != m.magic {
            return Err(DecodeError::BadRecord {
                at: 0,
                reason: "inner message magic differs from its wrapper's",
            });
        }
        let ts = match m.timestamp_type() {
            Some(TimestampType::LogAppendTime) => m.timestamp,
            _ => im.timestamp,
        };
        out.push(LegacyRecordRef {
            offset: im.offset,
            timestamp: ts,
            timestamp_type: m.timestamp_type(),
            key: im.key,
            value: im.value,
        });
        pos += im.size;
    }
    if out.is_empty() {
        return Err(DecodeError::BadRecord {
            at: 0,
            reason: "a compressed wrapper with no inner messages",
        });
    }
    if m.magic == MAGIC_V1 {
        // Relative inner offsets (KIP-31): the wrapper's offset is the last inner one.
        let last_rel = out.last().map_or(0, |r| r.offset);
        let shift = m
            .offset
            .checked_sub(last_rel)
            .ok_or(DecodeError::BadRecord {
                at: 0,
                reason: "inner offsets do not fit below the wrapper's offset",
            })?;
        for r in &mut out {
            r.offset =
                r.offset
                    .checked_add(shift)
                    .filter(|&o| o >= 0)
                    .ok_or(DecodeError::BadRecord {
                        at: 0,
                        reason: "inner offsets do not fit below the wrapper's offset",
                    })?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn message(
        offset: i64,
        magic: i8,
        attrs: i8,
        ts: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut body = vec![magic as u8, attrs as u8];
        if magic == 1 {
            body.extend_from_slice(&ts.to_be_bytes());
        }
        for b in [key, value] {
            match b {
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(b) => {
                    body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    body.extend_from_slice(b);
                }
            }
        }
        let crc = crc32fast::hash(&body);
        let mut out = offset.to_be_bytes().to_vec();
        out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        out.extend_from_slice(&crc.to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn real_magic_1_message_from_a_broker() {
        // The first entry of xpxwo100 TEST-TOPIC-0 (Kafka 0.10.1): "1000" -> "hello kafka message 1000".
        let m = message(
            0,
            1,
            0,
            -1,
            Some(b"1000"),
            Some(b"hello kafka message 1000"),
        );
        assert_eq!(
            &m[..16],
            &[
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x32, 0xf0, 0x72, 0xb0, 0x26
            ]
        );
        let d = LegacyMessage::decode(&m).unwrap();
        assert_eq!((d.offset, d.magic, d.timestamp), (0, 1, -1));
        assert_eq!(d.key, Some(&b"1000"[..]));
        assert_eq!(d.value, Some(&b"hello kafka message 1000"[..]));
    }

    #[test]
    fn damage_is_an_error_at_every_byte() {
        let m = message(7, 0, 0, -1, None, Some(b"v"));
        assert!(LegacyMessage::decode(&m).is_ok());
        for cut in 0..m.len() {
            assert!(LegacyMessage::decode(&m[..cut]).is_err());
        }
        for i in 12..m.len() {
            let mut bad = m.clone();
            bad[i] ^= 1;
            assert!(LegacyMessage::decode(&bad).is_err(), "byte {i}");
        }
    }

    #[test]
    fn compressed_wrappers_give_their_inner_messages() {
        for (magic, codec) in [
            (0i8, Compression::Gzip),
            (1, Compression::Snappy),
            (1, Compression::Gzip),
        ] {
            let mut set = Vec::new();
            for i in 0..3i64 {
                let off = if magic == 0 { 100 + i } else { i };
                set.extend(message(
                    off,
                    magic,
                    0,
                    5000 + i,
                    Some(b"k"),
                    Some(format!("v{i}").as_bytes()),
                ));
            }
            let mut compressed = Vec::new();
            super::super::compression::compress(codec, &set, &mut compressed);
            let w = message(102, magic, codec.id() as i8, 9999, None, Some(&compressed));
            let d = LegacyMessage::decode(&w).unwrap();
            let rs = records(&d, 1 << 20).unwrap();
            assert_eq!(
                rs.iter().map(|r| r.offset).collect::<Vec<_>>(),
                vec![100, 101, 102]
            );
            assert_eq!(rs[2].value.as_deref(), Some(&b"v2"[..]));
            if magic == 1 {
                assert_eq!(rs[0].timestamp, 5000);
            }
        }
    }

    #[test]
    fn a_wrapper_past_the_inner_message_cap_is_refused_not_cut() {
        let one = message(0, 0, 0, -1, None, None);
        for (n, ok) in [(MAX_INNER, true), (MAX_INNER + 1, false)] {
            let set = one.repeat(n);
            let mut compressed = Vec::new();
            super::super::compression::compress(Compression::Zstd, &set, &mut compressed);
            let w = message(
                0,
                0,
                Compression::Zstd.id() as i8,
                -1,
                None,
                Some(&compressed),
            );
            let d = LegacyMessage::decode(&w).unwrap();
            match records(&d, 64 << 20) {
                Ok(rs) => assert!(
                    ok && rs.len() == n,
                    "{n} inner messages: {} records",
                    rs.len()
                ),
                Err(e) => assert!(!ok, "{n} inner messages: {e}"),
            }
        }
    }
}
