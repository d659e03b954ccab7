//! One record inside a v2 batch (Kafka's `DefaultRecord`).
//!
//! # Layout
//! | field           | encoding | notes                                         |
//! |-----------------|----------|-----------------------------------------------|
//! | length          | varint   | bytes after this field                        |
//! | attributes      | int8     | unused, written 0                             |
//! | timestamp delta | varlong  | from the batch's base timestamp               |
//! | offset delta    | varint   | from the batch's base offset                  |
//! | key length      | varint   | -1 = null key                                 |
//! | key             | bytes    |                                               |
//! | value length    | varint   | -1 = null value (a tombstone)                 |
//! | value           | bytes    |                                               |
//! | header count    | varint   | >= 0                                          |
//! | headers         | repeated | key length varint (>= 0), key, value length varint (-1 = null), value |
//!
//! # Invariants
//! The bytes consumed by a record equal its length field; header names are kept as bytes, in
//! order, duplicates included.

use super::DecodeError;
use super::varint::{
    Cursor, put_varint, put_varlong, uvarint, varint_size, varlong_size, zigzag_encode32,
    zigzag_encode64, zigzag32, zigzag64,
};

/// A record header: a name and an optional value. Kafka requires the name to be UTF-8 text; it is
/// kept as bytes here so that decoding never fails on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub key: &'a [u8],
    pub value: Option<&'a [u8]>,
}

/// A decoded record, borrowing its key, value and headers from the batch bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record<'a> {
    pub attributes: i8,
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<Header<'a>>,
}

fn opt_len(b: Option<&[u8]>) -> i32 {
    b.map_or(-1, |b| b.len() as i32)
}

fn opt_size(b: Option<&[u8]>) -> usize {
    varint_size(opt_len(b)) + b.map_or(0, <[u8]>::len)
}

/// Size of the record body (everything after the length varint).
#[inline]
pub fn body_size(
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header<'_>],
) -> usize {
    let mut size = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta);
    size += opt_size(key) + opt_size(value);
    size += varint_size(headers.len() as i32);
    for h in headers {
        size += varint_size(h.key.len() as i32) + h.key.len() + opt_size(h.value);
    }
    size
}

/// Size of a whole encoded record, length varint included.
pub fn encoded_size(
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header<'_>],
) -> usize {
    let body = body_size(timestamp_delta, offset_delta, key, value, headers);
    varint_size(body as i32) + body
}

fn put_opt(out: &mut Vec<u8>, b: Option<&[u8]>) {
    put_varint(out, opt_len(b));
    if let Some(b) = b {
        out.extend_from_slice(b);
    }
}

/// Appends one record in the v2 layout. Lengths must fit in an i32, which the batch builder
/// guarantees by bounding batch sizes.
#[inline]
pub fn encode_record(
    out: &mut Vec<u8>,
    attributes: i8,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header<'_>],
) {
    if headers.is_empty() {
        encode_plain(out, attributes, timestamp_delta, offset_delta, key, value);
    } else {
        encode_general(
            out,
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        );
    }
}

/// [`encode_record`] of a record with a value, split around the value: appends to `prefix`
/// the bytes before the value and to `suffix` the bytes after it (the headers), so that a
/// large value can be written where it is, never copied.
pub fn encode_record_around_value(
    prefix: &mut Vec<u8>,
    suffix: &mut Vec<u8>,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value_len: usize,
    headers: &[Header<'_>],
) {
    // The body's size with a value of `value_len` bytes (its content does not matter).
    let body = body_size(timestamp_delta, offset_delta, key, Some(&[]), headers) - 1
        + varint_size(value_len as i32)
        + value_len;
    put_varint(prefix, body as i32);
    prefix.push(0);
    put_varlong(prefix, timestamp_delta);
    put_varint(prefix, offset_delta);
    put_opt(prefix, key);
    put_varint(prefix, value_len as i32);
    put_varint(suffix, headers.len() as i32);
    for h in headers {
        put_varint(suffix, h.key.len() as i32);
        suffix.extend_from_slice(h.key);
        put_opt(suffix, h.value);
    }
}

/// [`encode_record`] a field at a time: any record, headers included.
fn encode_general(
    out: &mut Vec<u8>,
    attributes: i8,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header<'_>],
) {
    let body = body_size(timestamp_delta, offset_delta, key, value, headers);
    out.reserve(body + 5);
    put_varint(out, body as i32);
    out.push(attributes as u8);
    put_varlong(out, timestamp_delta);
    put_varint(out, offset_delta);
    put_opt(out, key);
    put_opt(out, value);
    put_varint(out, headers.len() as i32);
    for h in headers {
        put_varint(out, h.key.len() as i32);
        out.extend_from_slice(h.key);
        put_opt(out, h.value);
    }
}

/// [`encode_record`] for a record without headers, the usual one: the varints are written
/// straight into `out` (see [`put_head`]), not a byte at a time through `Vec::push`.
#[inline(always)]
fn encode_plain(
    out: &mut Vec<u8>,
    attributes: i8,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) {
    let (klen, vlen) = (opt_len(key), opt_len(value));
    let body = body_size(timestamp_delta, offset_delta, key, value, &[]);
    out.reserve(body + 2 * HEAD);
    // Length, attributes, timestamp delta, offset delta, key length: at most 26 bytes; with
    // no key the value length follows at once (31 at most).
    let up_to_key = |head: &mut [u8; HEAD]| {
        let mut n = put_zigzag(head, 0, zigzag_encode32(body as i32));
        if let Some(b) = head.get_mut(n) {
            *b = attributes as u8;
        }
        n = put_zigzag(head, n + 1, zigzag_encode64(timestamp_delta));
        n = put_zigzag(head, n, zigzag_encode32(offset_delta));
        put_zigzag(head, n, zigzag_encode32(klen))
    };
    match key {
        Some(k) => {
            put_head(out, up_to_key);
            out.extend_from_slice(k);
            put_head(out, |head| put_zigzag(head, 0, zigzag_encode32(vlen)));
        }
        None => put_head(out, |head| {
            let n = up_to_key(head);
            put_zigzag(head, n, zigzag_encode32(vlen))
        }),
    }
    if let Some(v) = value {
        out.extend_from_slice(v);
    }
    out.push(0); // no headers
}

/// [`encode_record`] of a record with no key, a value and no headers (attributes 0): what
/// `klog produce` makes of a line. The same bytes, with the null key, the attributes and the
/// header count known in advance and one length computed from the three varint sizes.
#[inline(always)]
pub fn encode_value(out: &mut Vec<u8>, timestamp_delta: i64, offset_delta: i32, value: &[u8]) {
    let zt = zigzag_encode64(timestamp_delta);
    let zo = zigzag_encode32(offset_delta);
    let zv = zigzag_encode32(value.len() as i32);
    // Attributes, key length -1 and header count 0 take a byte each.
    let body = 3 + zigzag_size(zt) + zigzag_size(zo) + zigzag_size(zv) + value.len();
    out.reserve(HEAD + value.len() + 1);
    put_head(out, |head| {
        let mut n = put_zigzag(head, 0, zigzag_encode32(body as i32));
        // head[n] is the attributes byte, already 0.
        n = put_zigzag(head, n + 1, zt);
        n = put_zigzag(head, n, zo);
        n = put_zigzag(head, n, 1); // key length -1
        put_zigzag(head, n, zv)
    });
    out.extend_from_slice(value);
    out.push(0); // no headers
}

/// Bytes of the varint of an already zigzag-mapped value.
#[inline(always)]
fn zigzag_size(z: u64) -> usize {
    ((70 - (z | 1).leading_zeros()) / 7) as usize
}

/// Room [`put_head`] gives for a record's leading varints.
const HEAD: usize = 32;

/// Writes `z` as a varint at `head[n..]`, returning the position after it. Callers stay
/// below [`HEAD`]; the mask only lets the compiler drop the bounds checks.
#[inline(always)]
fn put_zigzag(head: &mut [u8; HEAD], mut n: usize, mut z: u64) -> usize {
    while z >= 0x80 {
        if let Some(b) = head.get_mut(n & (HEAD - 1)) {
            *b = z as u8 | 0x80;
        }
        z >>= 7;
        n += 1;
    }
    if let Some(b) = head.get_mut(n & (HEAD - 1)) {
        *b = z as u8;
    }
    n + 1
}

/// Appends the varints `fill` writes into [`HEAD`] zeroed bytes at the end of `out`, keeping
/// the count of bytes it returns: one wide store, the byte stores in place, the excess cut
/// off. Built in an array of their own and then copied, the copy had to wait for those byte
/// stores (no store-to-load forwarding): the largest cost per record.
#[inline(always)]
fn put_head(out: &mut Vec<u8>, fill: impl FnOnce(&mut [u8; HEAD]) -> usize) {
    let at = out.len();
    out.extend_from_slice(&[0u8; HEAD]);
    let n = out.last_chunk_mut::<HEAD>().map_or(0, fill);
    out.truncate(at + n);
}

impl<'a> Record<'a> {
    /// Encodes this record (see [`encode_record`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_record(
            out,
            self.attributes,
            self.timestamp_delta,
            self.offset_delta,
            self.key,
            self.value,
            &self.headers,
        );
    }

    /// Decodes one record at the cursor, checking that it consumes exactly its length field.
    #[inline]
    pub fn decode(c: &mut Cursor<'a>) -> Result<Record<'a>, DecodeError> {
        match Record::decode_fast(c) {
            Some(r) => Ok(r),
            None => Record::decode_checked(c),
        }
    }

    /// The hot path of [`Record::decode`]: the same checks, but a failure is only `None` (the
    /// cursor does not move) and [`Record::decode_checked`] then says what is wrong and where.
    #[inline(always)]
    pub(crate) fn decode_fast(c: &mut Cursor<'a>) -> Option<Record<'a>> {
        let (buf, mut p) = c.parts();
        let len = zigzag32(uvarint(buf, &mut p, 5)?)?;
        let end = p.checked_add(usize::try_from(len).ok()?)?;
        let body = buf.get(..end)?;
        let attributes = *body.get(p)? as i8;
        p += 1;
        let timestamp_delta = zigzag64(uvarint(body, &mut p, 10)?);
        let offset_delta = zigzag32(uvarint(body, &mut p, 5)?)?;
        let key = fast_opt(body, &mut p)?;
        let value = fast_opt(body, &mut p)?;
        let count = zigzag32(uvarint(body, &mut p, 5)?)?;
        let mut headers = Vec::new();
        if count != 0 {
            let count = usize::try_from(count).ok()?;
            if count > (end - p) / 2 {
                return None;
            }
            headers.reserve_exact(count);
            for _ in 0..count {
                let klen = zigzag32(uvarint(body, &mut p, 5)?)?;
                let kend = p.checked_add(usize::try_from(klen).ok()?)?;
                let key = body.get(p..kend)?;
                p = kend;
                let value = fast_opt(body, &mut p)?;
                headers.push(Header { key, value });
            }
        }
        if p != end {
            return None;
        }
        c.set_position(end);
        Some(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        })
    }

    /// The record at `*p` in `buf` when it is the usual kind: no headers, and its varints
    /// before the key one to three bytes long. Those are read from the 16 bytes at `*p` with
    /// no bounds check per byte. It accepts nothing that [`Record::decode_fast`] refuses and
    /// decodes what it accepts the same way; `None` (and `*p` unmoved) for any other record,
    /// which the caller then decodes in full.
    #[inline(always)]
    pub(crate) fn plain_fast(buf: &'a [u8], p: &mut usize) -> Option<Record<'a>> {
        let w = buf.get(*p..)?.first_chunk::<16>()?;
        // Length, attributes, timestamp delta, offset delta and key length: at most 13 bytes,
        // so every read below stays inside `w` (the masks only tell the compiler so).
        let mut q = 0;
        let len = short_uvarint(w, &mut q)?;
        if len & 1 != 0 {
            return None; // negative
        }
        let end = *p + q + (len >> 1) as usize;
        let attributes = *w.get(q & 15)? as i8;
        q += 1;
        let timestamp_delta = zigzag64(short_uvarint(w, &mut q)?);
        let offset_delta = zigzag32(short_uvarint(w, &mut q)?)?;
        let klen = short_uvarint(w, &mut q)?;
        let mut at = *p + q;
        let key = match klen {
            1 => None, // -1: no key
            k if k & 1 == 0 => {
                let start = at;
                at += (k >> 1) as usize;
                Some(buf.get(start..at)?)
            }
            _ => return None,
        };
        let value = fast_opt(buf, &mut at)?;
        // No headers (a count of zero is the byte 0), and the fields fill the length exactly.
        if buf.get(at) != Some(&0) || at + 1 != end {
            return None;
        }
        *p = end;
        Some(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers: Vec::new(),
        })
    }

    /// The offset delta (still zigzag-encoded, as [`Records`] checks it) and value of the
    /// record at `*p` in `buf`, for readers that want nothing else: what
    /// [`Record::plain_fast`] accepts and decodes, without the fields they drop.
    #[inline(always)]
    pub(crate) fn value_fast(buf: &'a [u8], p: &mut usize) -> Option<(u64, Option<&'a [u8]>)> {
        let w = buf.get(*p..)?.first_chunk::<16>()?;
        let mut q = 0;
        let len = short_uvarint(w, &mut q)?;
        if len & 1 != 0 {
            return None; // negative
        }
        let end = *p + q + (len >> 1) as usize;
        q += 1; // attributes
        short_uvarint(w, &mut q)?; // timestamp delta
        let offset_delta_zigzag = short_uvarint(w, &mut q)?;
        let klen = short_uvarint(w, &mut q)?;
        let mut at = *p + q;
        match klen {
            1 => {} // -1: no key
            k if k & 1 == 0 => at += (k >> 1) as usize,
            _ => return None,
        }
        let value = fast_opt(buf, &mut at)?;
        if buf.get(at) != Some(&0) || at + 1 != end {
            return None;
        }
        *p = end;
        Some((offset_delta_zigzag, value))
    }

    /// Decodes one record with a precise error for whatever is wrong with it.
    #[cold]
    fn decode_checked(c: &mut Cursor<'a>) -> Result<Record<'a>, DecodeError> {
        let start = c.position();
        let len = c.varint()?;
        if len < 0 {
            return Err(DecodeError::BadLength {
                at: start,
                what: "record length",
                value: len as i64,
            });
        }
        let body_start = c.position();
        // Bound the record to its declared length: a corrupt inner length cannot read past it.
        let body = c.bytes(len as usize)?;
        let mut_base = body_start;
        let mut r = Cursor::new(body);
        let shift = |e: DecodeError| e.shifted(mut_base);
        let attributes = r.i8().map_err(shift)?;
        let timestamp_delta = r.varlong().map_err(shift)?;
        let offset_delta = r.varint().map_err(shift)?;
        let key = read_opt(&mut r, "key length").map_err(shift)?;
        let value = read_opt(&mut r, "value length").map_err(shift)?;
        let count_at = r.position();
        let count = r.varint().map_err(shift)?;
        if count < 0 {
            return Err(DecodeError::BadLength {
                at: mut_base + count_at,
                what: "header count",
                value: count as i64,
            });
        }
        // Each header takes at least two bytes; a count larger than that is a lie.
        if count as usize > r.remaining() / 2 {
            return Err(DecodeError::BadLength {
                at: mut_base + count_at,
                what: "header count",
                value: count as i64,
            });
        }
        // Most records have no headers: no call into the allocator for them.
        let mut headers = if count == 0 {
            Vec::new()
        } else {
            Vec::with_capacity(count as usize)
        };
        for _ in 0..count {
            let at = r.position();
            let klen = r.varint().map_err(shift)?;
            if klen < 0 {
                return Err(DecodeError::BadLength {
                    at: mut_base + at,
                    what: "header key length",
                    value: klen as i64,
                });
            }
            let key = r.bytes(klen as usize).map_err(shift)?;
            let value = read_opt(&mut r, "header value length").map_err(shift)?;
            headers.push(Header { key, value });
        }
        if r.remaining() != 0 {
            return Err(DecodeError::BadRecord {
                at: start,
                reason: "record length does not match its fields",
            });
        }
        Ok(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        })
    }
}

/// A varint of one to three bytes at `w[*q]`, not zigzag-decoded; `None` if it is longer.
#[inline(always)]
fn short_uvarint(w: &[u8; 16], q: &mut usize) -> Option<u64> {
    let b0 = *w.get(*q & 15)?;
    if b0 < 0x80 {
        *q += 1;
        return Some(b0 as u64);
    }
    let b1 = *w.get((*q + 1) & 15)?;
    let z = (b0 & 0x7f) as u64 | ((b1 & 0x7f) as u64) << 7;
    if b1 < 0x80 {
        *q += 2;
        return Some(z);
    }
    let b2 = *w.get((*q + 2) & 15)?;
    if b2 < 0x80 {
        *q += 3;
        return Some(z | (b2 as u64) << 14);
    }
    None
}

/// A nullable length-prefixed field for [`Record::decode_fast`]: `Some(None)` is null.
#[inline(always)]
fn fast_opt<'a>(body: &'a [u8], p: &mut usize) -> Option<Option<&'a [u8]>> {
    match zigzag32(uvarint(body, p, 5)?)? {
        -1 => Some(None),
        n => {
            let end = p.checked_add(usize::try_from(n).ok()?)?;
            let b = body.get(*p..end)?;
            *p = end;
            Some(Some(b))
        }
    }
}

fn read_opt<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<Option<&'a [u8]>, DecodeError> {
    let at = c.position();
    let len = c.varint()?;
    match len {
        -1 => Ok(None),
        n if n < 0 => Err(DecodeError::BadLength {
            at,
            what,
            value: n as i64,
        }),
        n => Ok(Some(c.bytes(n as usize)?)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn golden_record_from_the_format_doc() {
        // Second record of the worked example: offset delta 1, key "6", value "6", no headers.
        let bytes = [0x10, 0x00, 0x00, 0x02, 0x02, 0x36, 0x02, 0x36, 0x00];
        let rec = Record::decode(&mut Cursor::new(&bytes)).unwrap();
        assert_eq!(rec.offset_delta, 1);
        assert_eq!(rec.key, Some(&b"6"[..]));
        assert_eq!(rec.value, Some(&b"6"[..]));
        let mut out = Vec::new();
        rec.encode(&mut out);
        assert_eq!(out, bytes);
        assert_eq!(encoded_size(0, 1, rec.key, rec.value, &[]), bytes.len());
    }

    #[test]
    fn null_empty_and_headers_round_trip() {
        let headers = [
            Header {
                key: b"h",
                value: None,
            },
            Header {
                key: b"h",
                value: Some(b""),
            },
            Header {
                key: b"",
                value: Some(b"x"),
            },
        ];
        for (key, value) in [
            (None, None),
            (Some(&b""[..]), Some(&b""[..])),
            (None, Some(&b"v"[..])),
        ] {
            let rec = Record {
                attributes: 0,
                timestamp_delta: -5,
                offset_delta: 7,
                key,
                value,
                headers: headers.to_vec(),
            };
            let mut out = Vec::new();
            rec.encode(&mut out);
            assert_eq!(out.len(), encoded_size(-5, 7, key, value, &headers));
            let mut c = Cursor::new(&out);
            assert_eq!(Record::decode(&mut c).unwrap(), rec);
            assert_eq!(c.remaining(), 0);
        }
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let mut bytes = vec![0x10, 0x00, 0x00, 0x02, 0x02, 0x36, 0x02, 0x36, 0x00, 0x00];
        bytes[0] = 0x12; // length 9, one byte too many
        assert!(matches!(
            Record::decode(&mut Cursor::new(&bytes)),
            Err(DecodeError::BadRecord { at: 0, .. })
        ));
    }

    /// The fast path accepts exactly what the checked decoder accepts, with the same result
    /// and the same bytes consumed; when it refuses, the checked decoder explains why.
    fn fast_and_checked_agree(bytes: &[u8]) {
        let mut fast = Cursor::new(bytes);
        let mut checked = Cursor::new(bytes);
        let slow = Record::decode_checked(&mut checked);
        // The window path accepts a subset, with the same result.
        let mut p = 0;
        match Record::plain_fast(bytes, &mut p) {
            Some(r) => {
                assert_eq!(Ok(&r), slow.as_ref(), "{bytes:?}");
                assert_eq!(p, checked.position());
            }
            None => assert_eq!(p, 0),
        }
        match Record::decode_fast(&mut fast) {
            Some(r) => {
                assert_eq!(Ok(&r), slow.as_ref(), "{bytes:?}");
                assert_eq!(fast.position(), checked.position());
            }
            None => {
                assert_eq!(fast.position(), 0);
                // Refused by the fast path: only varints the checked decoder truncates
                // (a 5-byte varint above 32 bits) may still decode there.
                if let Ok(r) = slow {
                    let mut again = Vec::new();
                    r.encode(&mut again);
                    assert_ne!(&again[..], &bytes[..checked.position()], "{bytes:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_encoding_matches_the_general_one(
            key in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)),
            value in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20000)),
            ts in proptest::prelude::any::<i64>(),
            delta in proptest::prelude::any::<i32>(),
            attributes in proptest::prelude::any::<i8>(),
        ) {
            let mut plain = vec![7u8; 3];
            encode_record(&mut plain, attributes, ts, delta, key.as_deref(), value.as_deref(), &[]);
            let mut general = vec![7u8; 3];
            encode_general(&mut general, attributes, ts, delta, key.as_deref(), value.as_deref(), &[]);
            proptest::prop_assert_eq!(plain.len(), 3 + encoded_size(ts, delta, key.as_deref(), value.as_deref(), &[]));
            proptest::prop_assert_eq!(plain, general);
        }

        #[test]
        fn value_encoding_matches_the_general_one(
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20000),
            ts in proptest::prelude::any::<i64>(),
            delta in proptest::prelude::any::<i32>(),
        ) {
            let mut fast = vec![7u8; 3];
            encode_value(&mut fast, ts, delta, &value);
            let mut general = vec![7u8; 3];
            encode_general(&mut general, 0, ts, delta, None, Some(&value), &[]);
            proptest::prop_assert_eq!(fast, general);
        }

        /// The usual record (no headers, short varints before the key) takes the window path,
        /// whatever follows it; any other is left to the full decoder. Both decode the same.
        #[test]
        fn plain_path_takes_the_usual_records(
            key in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..50)),
            value in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)),
            ts in -1_000_000i64..1_000_000,
            delta in 0i32..1_000_000,
            with_header in proptest::prelude::any::<bool>(),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
        ) {
            let headers = [Header { key: b"h", value: None }];
            let headers = if with_header { &headers[..] } else { &[] };
            let mut bytes = Vec::new();
            encode_record(&mut bytes, 0, ts, delta, key.as_deref(), value.as_deref(), headers);
            let len = bytes.len();
            bytes.extend_from_slice(&tail);
            let want = Record::decode(&mut Cursor::new(&bytes)).unwrap();
            let mut p = 0;
            match Record::plain_fast(&bytes, &mut p) {
                Some(r) => {
                    proptest::prop_assert_eq!(r, want);
                    proptest::prop_assert_eq!(p, len);
                }
                None => {
                    proptest::prop_assert_eq!(p, 0);
                    // Refused only for headers, or too few bytes for the 16-byte window.
                    proptest::prop_assert!(with_header || bytes.len() < 16);
                }
            }
        }

        #[test]
        fn fast_path_agrees_on_any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            fast_and_checked_agree(&bytes);
        }

        #[test]
        fn fast_path_agrees_on_damaged_records(
            key in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20)),
            value in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)),
            headers in proptest::collection::vec((proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6), proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6))), 0..3),
            ts in proptest::prelude::any::<i64>(),
            delta in proptest::prelude::any::<i32>(),
            flip in proptest::prelude::any::<(usize, u8)>(),
            cut in proptest::prelude::any::<usize>(),
        ) {
            let hs: Vec<Header<'_>> = headers.iter().map(|(k, v)| Header { key: k, value: v.as_deref() }).collect();
            let mut out = Vec::new();
            encode_record(&mut out, 0, ts, delta, key.as_deref(), value.as_deref(), &hs);
            fast_and_checked_agree(&out);
            let mut damaged = out.clone();
            let i = flip.0 % damaged.len();
            damaged[i] ^= flip.1;
            fast_and_checked_agree(&damaged);
            fast_and_checked_agree(&out[..cut % (out.len() + 1)]);
        }
    }
}
