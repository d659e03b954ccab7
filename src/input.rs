//! Parsers of `klog produce` input: delimiter framing, backslash escapes and the JSON record
//! shape. Pure functions of bytes, no I/O: the command line reads the input and appends what
//! these return.
//!
//! - [`Splitter`]: cuts a stream that arrives in chunks into records at a delimiter (a partial
//!   record, or a delimiter that straddles two chunks, is carried to the next chunk), with a
//!   bound on how much of one record it buffers.
//! - [`unescape`]: the escapes accepted in delimiters, separators and markers.
//! - [`parse_record`]: one line of `klog consume --json` output read back as a record;
//!   strictly: a field it does not know, or a key given twice, is an error, never a record
//!   quietly different from what the line says.
//!
//! # Invariants
//! 1. The splitter's records are exactly the input split at the leftmost non-overlapping
//!    occurrences of the delimiter, whatever the chunking, except that a record it had to
//!    buffer more than its maximum of is reported once as [`Piece::TooLong`] instead. A final
//!    record without a delimiter is a record; an empty one is not.
//! 2. It never buffers more than one record's maximum plus the delimiter's length (plus the
//!    chunk being split), and allocates nothing per record.
//! 3. Bytes written by `consume --json` parse back to the same record, binary included, and a
//!    timestamp of -1 (none, as magic 0 messages have) included.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use memchr::memmem;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Delimiter framing
// ---------------------------------------------------------------------------------------------

/// What [`Splitter`] hands out, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// One record, without its delimiter.
    Record(&'a [u8]),
    /// One record, without its delimiter, handed over with the buffer it was assembled in:
    /// a record spanning chunks, longer than [`Splitter::hand_over_from`] says (so that a
    /// large record is never copied again).
    Owned(Vec<u8>),
    /// A record of which more than the maximum had to be buffered: it is dropped, up to and
    /// including its delimiter. Reported once per record, in the record's place.
    TooLong,
}

/// Splits a stream of chunks into delimited records.
///
/// Each [`push`](Splitter::push) hands out the records that end in the chunk (the first one
/// may have begun in earlier chunks) and keeps the rest for the next; [`finish`](Splitter::finish)
/// hands out the last record when the input does not end with a delimiter, and readies the
/// splitter for another input.
///
/// A record is only buffered across chunks up to `max_len` bytes: when more than `max_len`
/// bytes of a record not yet delimited are pending at the end of a chunk, it is reported as
/// [`Piece::TooLong`] and the rest of it skipped. A longer record that lies within the chunk
/// it began in is handed out whole (it costs no buffering); the caller checks sizes itself.
#[derive(Debug)]
pub struct Splitter {
    delim: Vec<u8>,
    max_len: usize,
    /// The pending part of a record (and maybe the start of a delimiter) from earlier chunks;
    /// while `discarding`, only the last `delim.len() - 1` bytes, which may start a delimiter.
    carry: Vec<u8>,
    /// Skipping a record already reported as too long, up to its delimiter.
    discarding: bool,
    /// Records spanning chunks longer than this are handed out as [`Piece::Owned`].
    hand_over_from: usize,
}

impl Splitter {
    /// A splitter at `delim`, which must not be empty.
    ///
    /// # Panics
    /// If `delim` is empty.
    pub fn new(delim: &[u8], max_len: usize) -> Splitter {
        assert!(!delim.is_empty(), "an empty delimiter");
        Splitter {
            delim: delim.to_vec(),
            max_len,
            carry: Vec::new(),
            discarding: false,
            hand_over_from: usize::MAX,
        }
    }

    /// Records that span chunks and are longer than `len` bytes are handed out as
    /// [`Piece::Owned`], in the buffer they were assembled in, instead of as a slice of it.
    pub fn hand_over_from(mut self, len: usize) -> Splitter {
        self.hand_over_from = len;
        self
    }

    /// The carried record as a piece: a slice of the carry, or the carry itself when long.
    fn carried(&mut self) -> Piece<'_> {
        if self.carry.len() > self.hand_over_from {
            Piece::Owned(std::mem::take(&mut self.carry))
        } else {
            Piece::Record(&self.carry)
        }
    }

    /// Splits the next chunk of the input, calling `f` with every record (or too-long report)
    /// completed by it. Stops at the first error `f` returns; the splitter must then be
    /// [`reset`](Splitter::reset) before it is used again.
    ///
    /// Records that lie inside the chunk are handed out as slices of it; only the record that
    /// spans chunks is copied, and only its own bytes.
    pub fn push<E>(
        &mut self,
        chunk: &[u8],
        mut f: impl FnMut(Piece<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let dlen = self.delim.len();
        let mut rest = chunk;
        if !self.carry.is_empty() {
            // Complete the pending record first. Its delimiter may start in the pending bytes
            // (their last `dlen - 1`) and end in this chunk.
            let k = self.carry.len().min(dlen - 1);
            let mut bridge = self
                .carry
                .get(self.carry.len() - k..)
                .unwrap_or_default()
                .to_vec();
            bridge.extend_from_slice(chunk.get(..chunk.len().min(dlen - 1)).unwrap_or_default());
            let after = match memmem::find(&bridge, &self.delim) {
                Some(j) if j < k => {
                    self.carry.truncate(self.carry.len() - k + j);
                    Some(j + dlen - k)
                }
                _ => memmem::find(chunk, &self.delim).map(|i| {
                    if !self.discarding {
                        self.carry
                            .extend_from_slice(chunk.get(..i).unwrap_or_default());
                    }
                    i + dlen
                }),
            };
            let Some(after) = after else {
                // No delimiter yet: all of the chunk is pending.
                self.carry.extend_from_slice(chunk);
                return self.check_pending(f);
            };
            let result = if std::mem::take(&mut self.discarding) {
                Ok(())
            } else {
                f(self.carried())
            };
            self.carry.clear();
            result?;
            rest = chunk.get(after..).unwrap_or_default();
        }
        // A one-byte delimiter (a newline, NUL) is found 64 bytes at a time, which costs
        // less per record than a search from each record's start.
        let start = match *self.delim.as_slice() {
            [d] => cut(
                rest,
                1,
                BytePositions::new(d, rest),
                &mut self.discarding,
                &mut f,
            )?,
            _ => cut(
                rest,
                dlen,
                memmem::find_iter(rest, &self.delim),
                &mut self.discarding,
                &mut f,
            )?,
        };
        self.carry
            .extend_from_slice(rest.get(start..).unwrap_or_default());
        self.check_pending(f)
    }

    /// Bounds what is pending: while skipping a record, only what may start its delimiter is
    /// kept; more than `max_len` bytes that are surely a record's (the last `dlen - 1` may be
    /// the start of its delimiter) are reported as too long, and the record is skipped up to
    /// its delimiter.
    fn check_pending<E>(&mut self, mut f: impl FnMut(Piece<'_>) -> Result<(), E>) -> Result<(), E> {
        let dlen = self.delim.len();
        if !self.discarding && self.carry.len() > self.max_len.saturating_add(dlen - 1) {
            self.discarding = true;
            self.trim_to_delimiter_start();
            return f(Piece::TooLong);
        }
        if self.discarding {
            self.trim_to_delimiter_start();
        }
        Ok(())
    }

    fn trim_to_delimiter_start(&mut self) {
        let keep = self.carry.len().min(self.delim.len() - 1);
        self.carry.drain(..self.carry.len() - keep);
    }

    /// Ends the input: calls `f` with its last record if it did not end with a delimiter (and
    /// is not empty, nor being skipped as too long), then resets the splitter for the next one.
    pub fn finish<E>(&mut self, mut f: impl FnMut(Piece<'_>) -> Result<(), E>) -> Result<(), E> {
        let last = !self.discarding && !self.carry.is_empty();
        let result = if last { f(self.carried()) } else { Ok(()) };
        self.reset();
        result
    }

    /// Forgets anything pending (after an error, or to start a new input).
    pub fn reset(&mut self) {
        self.carry.clear();
        self.discarding = false;
    }
}

/// Hands out the records of `rest` that end at the delimiter positions `ends` (the first one
/// ends a record being skipped when `discarding`); returns where the unfinished rest begins.
#[inline(always)]
fn cut<E>(
    rest: &[u8],
    dlen: usize,
    ends: impl Iterator<Item = usize>,
    discarding: &mut bool,
    f: &mut impl FnMut(Piece<'_>) -> Result<(), E>,
) -> Result<usize, E> {
    let mut start = 0;
    for i in ends {
        if std::mem::take(discarding) {
            // The end of a record already reported as too long.
        } else if let Some(record) = rest.get(start..i) {
            f(Piece::Record(record))?;
        }
        start = i + dlen;
    }
    Ok(start)
}

/// Positions of the byte `d` in `hay`, in order. Each 64-byte block is compared at once into
/// a bit mask, and each set bit is one position: for lines of about 100 bytes, half the cost
/// of a memchr call per line, most of which is the call's own setup.
struct BytePositions<'a> {
    hay: &'a [u8],
    d: u8,
    /// Where the block after the one of `mask` starts.
    next: usize,
    /// Positions in the current block not handed out yet, one bit each.
    mask: u64,
}

impl<'a> BytePositions<'a> {
    fn new(d: u8, hay: &'a [u8]) -> Self {
        BytePositions {
            hay,
            d,
            next: 0,
            mask: 0,
        }
    }
}

impl Iterator for BytePositions<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            let block = self.hay.get(self.next..)?;
            self.mask = match block.first_chunk::<64>() {
                Some(b) => block_mask(b, self.d),
                // The last, shorter block (empty at the very end: then the next turn stops).
                None => mask_of(block, self.d),
            };
            self.next += 64;
        }
        let at = self.next - 64 + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// Bit `i` set where `b[i] == d`.
#[inline(always)]
fn block_mask(b: &[u8; 64], d: u8) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(unsafe_code)]
        // SAFETY: SSE2 is part of x86-64, so every CPU that runs this has it.
        unsafe {
            block_mask_sse2(b, d)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    mask_of(b, d)
}

/// Bit `i` set where `b[i] == d`, for up to 64 bytes, a byte at a time.
fn mask_of(b: &[u8], d: u8) -> u64 {
    (0..)
        .zip(b)
        .fold(0, |m, (i, &x)| m | u64::from(x == d) << i)
}

/// [`block_mask`] in four 16-byte compares. (A portable loop is not vectorized into these.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn block_mask_sse2(b: &[u8; 64], d: u8) -> u64 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8};
    let needle = _mm_set1_epi8(d as i8);
    let mut mask = 0u64;
    for (k, c) in (0..).zip(b.chunks_exact(16)) {
        let word = |at: usize| {
            c.get(at..at + 8)
                .and_then(|w| w.try_into().ok())
                .map_or(0, i64::from_le_bytes)
        };
        let v = _mm_set_epi64x(word(8), word(0));
        let hits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)) as u16;
        mask |= u64::from(hits) << (16 * k);
    }
    mask
}

// ---------------------------------------------------------------------------------------------
// Escapes
// ---------------------------------------------------------------------------------------------

/// An invalid backslash escape; displays what is wrong and which escapes exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    /// What is wrong, e.g. `unknown escape \q`.
    pub detail: String,
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (use \\n \\t \\r \\0 \\\\ or \\xNN)", self.detail)
    }
}

impl std::error::Error for EscapeError {}

/// Decodes the backslash escapes of `s` into bytes: `\n \t \r \0 \\ \xNN`; every other byte
/// stands for itself.
pub fn unescape(s: &str) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    let bad = |detail: &str| EscapeError {
        detail: detail.to_string(),
    };
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some((&e, tail)) = rest.split_first() else {
            return Err(bad("a lone backslash at the end"));
        };
        rest = tail;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = rest
                    .get(..2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| bad("\\x needs two hex digits"))?;
                out.push(hex);
                rest = rest.get(2..).unwrap_or_default();
            }
            _ => {
                // The whole (maybe multi-byte) character after the backslash.
                let at = s.len() - rest.len() - 1;
                let ch = s.get(at..).and_then(|t| t.chars().next()).unwrap_or('?');
                return Err(bad(&format!("unknown escape \\{ch}")));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// JSON records
// ---------------------------------------------------------------------------------------------

/// A `produce --json` line that is not a valid record; displays why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRecordError(pub String);

impl fmt::Display for JsonRecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonRecordError {}

impl From<String> for JsonRecordError {
    fn from(s: String) -> Self {
        JsonRecordError(s)
    }
}

impl From<&str> for JsonRecordError {
    fn from(s: &str) -> Self {
        JsonRecordError(s.to_string())
    }
}

/// Reads the JSON bytes shape: `null`, a string (its UTF-8 bytes), or `{"base64": "…"}`
/// (standard alphabet, padded). `what` names the field in errors.
/// It takes the value, so a string's bytes are moved, not copied.
pub fn read_bytes(v: Value, what: &str) -> Result<Option<Vec<u8>>, JsonRecordError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.into_bytes())),
        Value::Object(m) if m.len() == 1 => match m.get("base64") {
            Some(Value::String(s)) => STANDARD
                .decode(s)
                .map(Some)
                .map_err(|e| format!("{what}: invalid base64: {e}").into()),
            Some(_) => Err(format!("{what}: \"base64\" must be a string").into()),
            None => Err(not_bytes(what)),
        },
        _ => Err(not_bytes(what)),
    }
}

fn not_bytes(what: &str) -> JsonRecordError {
    format!("{what} must be null, a string, or {{\"base64\": \"...\"}}").into()
}

/// Kafka's timestamp of a record that has none (`RecordBatch.NO_TIMESTAMP`): what
/// `consume --json` prints for magic 0 messages and for records written without one.
pub const NO_TIMESTAMP: i64 = -1;

/// A record read from a `produce --json` line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JsonRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Name and value of each header, in order (names may repeat).
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    pub partition: Option<u32>,
    /// `None` when the line has no timestamp (or `null`); [`NO_TIMESTAMP`] when it says -1.
    pub timestamp: Option<i64>,
}

/// The fields of a `produce --json` line that make the record.
pub const RECORD_FIELDS: [&str; 5] = ["key", "value", "headers", "partition", "timestamp"];
/// Fields `consume --json` prints that `produce --json` reads and ignores.
pub const IGNORED_FIELDS: [&str; 3] = ["topic", "offset", "timestamp_type"];

/// Parses one `produce --json` line: a JSON object with optional `key`, `value`, `headers`
/// (`[[name, value], …]`), `partition` and `timestamp` (ms; -1 is Kafka's "no timestamp").
/// The other fields `consume --json` prints (`topic`, `offset`, `timestamp_type`) are
/// ignored; any other field is an error, and so is a key that appears twice in an object
/// (JSON parsers disagree about which one counts).
pub fn parse_record(line: &[u8]) -> Result<JsonRecord, JsonRecordError> {
    let StrictValue(v) = serde_json::from_slice(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut m) = v else {
        return Err("expected a JSON object".into());
    };
    if let Some(unknown) = m
        .keys()
        .find(|k| !RECORD_FIELDS.contains(&k.as_str()) && !IGNORED_FIELDS.contains(&k.as_str()))
    {
        return Err(format!(
            "unknown field {} (a record has {}; {} are ignored)",
            Value::String(unknown.clone()),
            RECORD_FIELDS.join(", "),
            IGNORED_FIELDS.join(", ")
        )
        .into());
    }
    let mut r = JsonRecord::default();
    if let Some(k) = m.remove("key") {
        r.key = read_bytes(k, "key")?;
    }
    if let Some(val) = m.remove("value") {
        r.value = read_bytes(val, "value")?;
    }
    match m.remove("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(hs)) => {
            for h in hs {
                let Value::Array(pair) = h else {
                    return Err("headers must be [[name, value], ...]".into());
                };
                let Ok([name, value]) = <[Value; 2]>::try_from(pair) else {
                    return Err("headers must be [[name, value], ...]".into());
                };
                let Value::String(name) = name else {
                    return Err("a header name must be a string".into());
                };
                let value = read_bytes(value, "header value")?;
                r.headers.push((name.into_bytes(), value));
            }
        }
        Some(_) => return Err("headers must be [[name, value], ...]".into()),
    }
    match m.get("partition") {
        None | Some(Value::Null) => {}
        Some(p) => {
            r.partition = Some(
                p.as_u64()
                    .and_then(|p| u32::try_from(p).ok())
                    .ok_or("partition must be a non-negative integer")?,
            )
        }
    }
    match m.get("timestamp") {
        None | Some(Value::Null) => {}
        Some(t) => {
            r.timestamp = Some(
                t.as_i64()
                    .filter(|&t| t >= 0 || t == NO_TIMESTAMP)
                    .ok_or("timestamp must be milliseconds since the epoch, or -1 for none")?,
            )
        }
    }
    Ok(r)
}

/// A JSON value, parsed as `serde_json::Value` is except that an object with a key twice is
/// an error naming the key.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_none<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(StrictValue(e)) = seq.next_element()? {
            v.push(e);
        }
        Ok(StrictValue(Value::Array(v)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut m = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if m.contains_key(&k) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate key {}",
                    Value::String(k)
                )));
            }
            let StrictValue(v) = map.next_value()?;
            m.insert(k, v);
        }
        Ok(StrictValue(Value::Object(m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs `input`, cut into chunks of the given sizes (cycled), through a splitter (which
    /// hands over the buffers of records spanning chunks longer than 3 bytes: the records
    /// must be the same either way).
    fn split(input: &[u8], delim: &[u8], max_len: usize, sizes: &[usize]) -> Vec<Option<Vec<u8>>> {
        let mut s = Splitter::new(delim, max_len).hand_over_from(3);
        let mut out = Vec::new();
        let mut collect = |p: Piece<'_>| -> Result<(), ()> {
            out.push(match p {
                Piece::Record(r) => Some(r.to_vec()),
                Piece::Owned(r) => Some(r),
                Piece::TooLong => None,
            });
            Ok(())
        };
        let mut rest = input;
        for &n in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(n.clamp(1, rest.len()));
            s.push(chunk, &mut collect).unwrap();
            rest = tail;
        }
        s.finish(&mut collect).unwrap();
        out
    }

    #[test]
    fn splits_at_delimiters_across_chunks() {
        let all = |input: &[u8], d: &[u8], sizes: &[usize]| split(input, d, 100, sizes);
        let recs = |v: &[&str]| -> Vec<Option<Vec<u8>>> {
            v.iter().map(|r| Some(r.as_bytes().to_vec())).collect()
        };
        for sizes in [&[1usize][..], &[2], &[3, 1], &[1000]] {
            assert_eq!(all(b"a||b||||c", b"||", sizes), recs(&["a", "b", "", "c"]));
            assert_eq!(all(b"||x|y||", b"||", sizes), recs(&["", "x|y"]));
            assert_eq!(all(b"|||", b"||", sizes), recs(&["", "|"]));
            assert_eq!(
                all(b"\n\na\n\nb", b"\n", sizes),
                recs(&["", "", "a", "", "b"])
            );
            assert_eq!(
                all(b"one<END>two<EN", b"<END>", sizes),
                recs(&["one", "two<EN"])
            );
            assert_eq!(all(b"", b"\n", sizes), recs(&[]));
        }
    }

    #[test]
    fn a_record_buffered_past_the_maximum_is_reported_once_and_skipped() {
        // 10 bytes max; a 25-byte line cut into chunks of 4: too long once, then the next.
        let input = b"ok\nxxxxxxxxxxxxxxxxxxxxxxxxx\nafter\n";
        assert_eq!(
            split(input, b"\n", 10, &[4]),
            vec![Some(b"ok".to_vec()), None, Some(b"after".to_vec())]
        );
        // In one chunk it costs no buffering: handed out whole.
        assert_eq!(
            split(input, b"\n", 10, &[1000])[1].as_ref().map(Vec::len),
            Some(25)
        );
        // A delimiter straddling two chunks while skipping still ends the skipped record.
        let input = b"xxxxxxxxxxxxxxxx<END>next<END>";
        for n in 1..input.len() {
            // Too long when a chunk ends after more than 8 + 4 of its bytes (the record and
            // maybe part of its delimiter) and before the delimiter is whole.
            let first = (!(13..21).contains(&n)).then(|| b"xxxxxxxxxxxxxxxx".to_vec());
            assert_eq!(
                split(input, b"<END>", 8, &[n, 64]),
                vec![first, Some(b"next".to_vec())],
                "first chunk {n}"
            );
        }
        assert_eq!(
            split(input, b"<END>", 8, &[14, 64]),
            vec![None, Some(b"next".to_vec())]
        );
        // A last record without delimiter that is too long is not handed out at the end.
        assert_eq!(
            split(b"a\nbbbbbbbb", b"\n", 3, &[5]),
            vec![Some(b"a".to_vec()), None]
        );
    }

    #[test]
    fn errors_from_the_callback_stop_the_split() {
        let mut s = Splitter::new(b"\n", 100);
        let mut seen = 0;
        let r = s.push(b"a\nb\nc\n", |_| {
            seen += 1;
            if seen == 2 { Err("stop") } else { Ok(()) }
        });
        assert_eq!((r, seen), (Err("stop"), 2));
        s.reset();
        let mut got = Vec::new();
        s.push(b"d\ne", |p| {
            got.push(p == Piece::Record(b"d"));
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(got, [true]);
    }

    proptest! {
        #[test]
        fn without_a_maximum_records_ignore_the_chunking(
            input in proptest::collection::vec(prop_oneof![Just(b'x'), Just(b'|'), any::<u8>()], 0..400),
            delim in proptest::collection::vec(prop_oneof![Just(b'x'), Just(b'|')], 1..=4),
            sizes in proptest::collection::vec(1usize..64, 1..8),
        ) {
            let whole = split(&input, &delim, usize::MAX, &[usize::MAX]);
            prop_assert!(whole.iter().all(Option::is_some));
            prop_assert_eq!(split(&input, &delim, usize::MAX, &sizes), whole);
        }

        /// Every position of the byte, in order, also in the last partial block and at block
        /// edges, whatever the other bytes (0x80 and up included).
        #[test]
        fn byte_positions_are_memchrs(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(0x8a), any::<u8>()], 0..400),
            start in 0usize..70,
        ) {
            let hay = input.get(start.min(input.len())..).unwrap();
            let got: Vec<usize> = BytePositions::new(b'\n', hay).collect();
            let want: Vec<usize> = memchr::memchr_iter(b'\n', hay).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"a\tb\n").unwrap(), b"a\tb\n");
        assert_eq!(
            unescape(r"\0\x00\xff\\\r").unwrap(),
            vec![0, 0, 255, b'\\', b'\r']
        );
        assert_eq!(unescape("::").unwrap(), b"::");
        assert_eq!(unescape("é").unwrap(), "é".as_bytes());
        assert_eq!(unescape(r"\xAb").unwrap(), vec![0xab]);
        for (bad, detail) in [
            (r"\q", r"unknown escape \q"),
            (r"\é", r"unknown escape \é"),
            (r"\x1", r"\x needs two hex digits"),
            (r"\xzz", r"\x needs two hex digits"),
            (r"\x+1", r"\x needs two hex digits"),
            (r"\x1é", r"\x needs two hex digits"),
            ("\\", "a lone backslash at the end"),
        ] {
            assert_eq!(unescape(bad).unwrap_err().detail, detail, "{bad}");
        }
    }

    #[test]
    fn a_record_without_a_timestamp_keeps_none() {
        let r = parse_record(br#"{"timestamp":-1,"timestamp_type":"CreateTime"}"#).unwrap();
        assert_eq!(r.timestamp, Some(NO_TIMESTAMP));
        assert_eq!(
            parse_record(br#"{"timestamp":null}"#).unwrap().timestamp,
            None
        );
        assert_eq!(parse_record(b"{}").unwrap().timestamp, None);
    }

    #[test]
    fn unknown_fields_and_duplicate_keys_are_named() {
        let e = parse_record(br#"{"vaule":"x"}"#).unwrap_err().to_string();
        assert!(
            e.starts_with(r#"unknown field "vaule" (a record has key, value,"#),
            "{e}"
        );
        let e = parse_record(br#"{"key":"a","value":"x","key":"b"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"duplicate key "key""#), "{e}");
        let e = parse_record(br#"{"headers":[["h",{"base64":"AA==","base64":"AQ=="}]]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"duplicate key "base64""#), "{e}");
        // The same name twice in headers is two headers, as Kafka allows.
        assert_eq!(
            parse_record(br#"{"headers":[["h","1"],["h","2"]]}"#)
                .unwrap()
                .headers
                .len(),
            2
        );
    }

    #[test]
    fn records() {
        let r = parse_record(
            br#"{"topic":"t","offset":3,"key":null,"value":{"base64":"AAE="},"headers":[["h","v"],["h",null]],"partition":2,"timestamp":5}"#,
        )
        .unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.value, Some(vec![0, 1]));
        assert_eq!(r.headers.len(), 2);
        assert_eq!(r.headers[1], (b"h".to_vec(), None));
        assert_eq!((r.partition, r.timestamp), (Some(2), Some(5)));
        for bad in [
            &b"{"[..],
            b"[1]",
            br#"{"value":1}"#,
            br#"{"value":{"base64":"!!"}}"#,
            br#"{"value":{"b64":"AA=="}}"#,
            br#"{"headers":[["h"]]}"#,
            br#"{"partition":-1}"#,
            br#"{"timestamp":1.5}"#,
            br#"{"timestamp":-2}"#,
            br#"{"vaule":"x"}"#,
            br#"{"value":"x","value":"y"}"#,
            br#"{"value":{"base64":"AA==","base64":"AQ=="}}"#,
        ] {
            assert!(
                parse_record(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
