//! Zigzag varints and varlongs, as Kafka's `ByteUtils` writes them.
//!
//! # Layout
//! A signed value is zigzag-mapped (`(n << 1) ^ (n >> 31)`, or `>> 63` for 64 bits) and then
//! written as unsigned LEB128: seven bits a byte, least significant group first, the high bit
//! set on every byte but the last. A varint takes at most 5 bytes and a varlong at most 10;
//! longer encodings are rejected, as Kafka rejects them.

use super::DecodeError;

/// Appends `value` as a zigzag varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, value: i32) {
    let mut z = zigzag_encode32(value) as u32;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Appends `value` as a zigzag varlong.
#[inline]
pub fn put_varlong(out: &mut Vec<u8>, value: i64) {
    let mut z = zigzag_encode64(value);
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Bytes `put_varint(value)` writes.
#[inline]
pub fn varint_size(value: i32) -> usize {
    let z = zigzag_encode32(value) as u32;
    // 1 byte per started group of 7 bits, at least one byte.
    ((38 - (z | 1).leading_zeros()) / 7) as usize
}

/// Bytes `put_varlong(value)` writes.
#[inline]
pub fn varlong_size(value: i64) -> usize {
    let z = zigzag_encode64(value);
    ((70 - (z | 1).leading_zeros()) / 7) as usize
}

/// A bounds-checked big-endian reader over a byte slice. Every read returns a [`DecodeError`]
/// carrying the position where the read started instead of panicking.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Cursor { buf, pos }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// The whole buffer and the current position, for decoders that parse ahead and then
    /// [`Cursor::set_position`].
    #[inline]
    pub(crate) fn parts(&self) -> (&'a [u8], usize) {
        (self.buf, self.pos)
    }

    #[inline]
    pub(crate) fn set_position(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(DecodeError::Truncated {
                at: self.pos,
                needed: n,
                available: self.remaining(),
            }),
        }
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_be_bytes(self.array()?))
    }
    #[inline]
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// Reads a zigzag varint (at most 5 bytes).
    #[inline]
    pub fn varint(&mut self) -> Result<i32, DecodeError> {
        let start = self.pos;
        // Fast path: one byte.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            let z = b as u32;
            return Ok(((z >> 1) as i32) ^ -((z & 1) as i32));
        }
        let mut z: u32 = 0;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(DecodeError::Truncated {
                    at: start,
                    needed: (self.pos - start) + 1,
                    available: self.buf.len().saturating_sub(start),
                });
            };
            self.pos += 1;
            z |= ((b & 0x7f) as u32).wrapping_shl(shift);
            if b < 0x80 {
                break;
            }
            shift += 7;
            if shift > 28 {
                return Err(DecodeError::BadVarint { at: start });
            }
        }
        Ok(((z >> 1) as i32) ^ -((z & 1) as i32))
    }

    /// Reads an unsigned varint (at most 5 bytes, no zigzag), as Kafka's compact lengths are.
    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        if let Some(v) = uvarint(self.buf, &mut self.pos, 5) {
            return Ok(v);
        }
        let available = self.buf.len().saturating_sub(start);
        if available < 5 && self.buf.iter().skip(start).all(|&b| b >= 0x80) {
            return Err(DecodeError::Truncated {
                at: start,
                needed: available + 1,
                available,
            });
        }
        Err(DecodeError::BadVarint { at: start })
    }

    /// Reads a zigzag varlong (at most 10 bytes).
    #[inline]
    pub fn varlong(&mut self) -> Result<i64, DecodeError> {
        let start = self.pos;
        let mut z: u64 = 0;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(DecodeError::Truncated {
                    at: start,
                    needed: (self.pos - start) + 1,
                    available: self.buf.len().saturating_sub(start),
                });
            };
            self.pos += 1;
            z |= ((b & 0x7f) as u64).wrapping_shl(shift);
            if b < 0x80 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(DecodeError::BadVarint { at: start });
            }
        }
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }
}

/// Reads an unsigned varint of at most `max_bytes` bytes at `*pos`, advancing it; `None` when
/// the bytes end first or the varint is longer. The fast path of record decoding: it builds
/// no error, and [`Cursor`] explains any failure afterwards.
#[inline(always)]
pub(crate) fn uvarint(buf: &[u8], pos: &mut usize, max_bytes: u32) -> Option<u64> {
    let b = *buf.get(*pos)?;
    if b < 0x80 {
        *pos += 1;
        return Some(b as u64);
    }
    let b1 = *buf.get(*pos + 1)?;
    let mut z = (b & 0x7f) as u64 | ((b1 & 0x7f) as u64) << 7;
    if b1 < 0x80 {
        *pos += 2;
        return Some(z);
    }
    let mut shift = 14u32;
    let mut p = *pos + 2;
    loop {
        let b = *buf.get(p)?;
        p += 1;
        z |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            *pos = p;
            return Some(z);
        }
        shift += 7;
        if shift >= 7 * max_bytes {
            return None;
        }
    }
}

/// Zigzag-decodes a 32-bit varint read by [`uvarint`] (5 bytes at most); `None` when it does
/// not fit in 32 bits.
#[inline(always)]
pub(crate) fn zigzag32(z: u64) -> Option<i32> {
    let z = u32::try_from(z).ok()?;
    Some(((z >> 1) as i32) ^ -((z & 1) as i32))
}

#[inline(always)]
pub(crate) fn zigzag64(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Zigzag-encodes a 32-bit value (what a varint holds), widened to `u64`.
#[inline(always)]
pub(crate) fn zigzag_encode32(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

/// Zigzag-encodes a 64-bit value (what a varlong holds).
#[inline(always)]
pub(crate) fn zigzag_encode64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn enc32(v: i32) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn examples_from_the_format_doc() {
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-2, &[0x03]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (-65, &[0x81, 0x01]),
            (8, &[0x10]),
            (300, &[0xd8, 0x04]),
        ];
        for &(v, bytes) in cases {
            assert_eq!(enc32(v), bytes, "encoding {v}");
            assert_eq!(Cursor::new(bytes).varint().unwrap(), v, "decoding {v}");
            assert_eq!(varint_size(v), bytes.len());
        }
    }

    #[test]
    fn extremes() {
        for v in [i32::MIN, i32::MAX] {
            let e = enc32(v);
            assert_eq!(e.len(), 5);
            assert_eq!(Cursor::new(&e).varint().unwrap(), v);
        }
        for v in [i64::MIN, i64::MAX] {
            let mut e = Vec::new();
            put_varlong(&mut e, v);
            assert_eq!(e.len(), 10);
            assert_eq!(Cursor::new(&e).varlong().unwrap(), v);
        }
    }

    #[test]
    fn unsigned_varints_and_their_errors() {
        let mut c = Cursor::new(&[0x05, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(c.uvarint().unwrap(), 5);
        assert_eq!(c.uvarint().unwrap(), 128);
        assert_eq!(c.uvarint().unwrap(), u32::MAX as u64);
        assert_eq!(c.remaining(), 0);
        assert!(matches!(
            Cursor::new(&[0x80, 0x80]).uvarint(),
            Err(DecodeError::Truncated {
                at: 0,
                available: 2,
                ..
            })
        ));
        assert!(matches!(
            Cursor::new(&[0x80; 6]).uvarint(),
            Err(DecodeError::BadVarint { at: 0 })
        ));
    }

    #[test]
    fn too_long_is_rejected() {
        let six = [0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert_eq!(
            Cursor::new(&six).varint(),
            Err(DecodeError::BadVarint { at: 0 })
        );
        let eleven = [0x80u8; 10].iter().copied().chain([0]).collect::<Vec<_>>();
        assert_eq!(
            Cursor::new(&eleven).varlong(),
            Err(DecodeError::BadVarint { at: 0 })
        );
    }

    #[test]
    fn truncated_is_reported_where_the_varint_starts() {
        let mut c = Cursor::at(&[0x00, 0x80, 0x80], 1);
        assert!(matches!(
            c.varint(),
            Err(DecodeError::Truncated { at: 1, .. })
        ));
    }

    proptest! {
        #[test]
        fn varint_round_trip(v in any::<i32>()) {
            let e = enc32(v);
            prop_assert_eq!(e.len(), varint_size(v));
            let mut c = Cursor::new(&e);
            prop_assert_eq!(c.varint().unwrap(), v);
            prop_assert_eq!(c.remaining(), 0);
        }

        #[test]
        fn varlong_round_trip(v in any::<i64>()) {
            let mut e = Vec::new();
            put_varlong(&mut e, v);
            prop_assert_eq!(e.len(), varlong_size(v));
            let mut c = Cursor::new(&e);
            prop_assert_eq!(c.varlong().unwrap(), v);
            prop_assert_eq!(c.remaining(), 0);
        }

        #[test]
        fn varint_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = Cursor::new(&bytes).varint();
            let _ = Cursor::new(&bytes).varlong();
        }
    }
}
