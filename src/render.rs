//! Records as text: what `klog consume` prints. The value alone (optionally the key and a
//! separator first), kcat's `--format` tokens, or one JSON object per record.
//!
//! Rendering appends to a `Vec<u8>` and does no I/O, so that the formatting cost is
//! measured on its own (`cargo bench --bench render`) and the caller writes each
//! record with one call; [`RecordOut`] is that buffer in front of a caller's writer, written
//! out in large writes. It reads records; it never changes anything on disk. A [`Render`]
//! is used for one stream of records: the JSON one keeps the text that repeats from record to
//! record ([`JsonParts`]), and prints exactly what a fresh one would.
//!
//! # The JSON shape
//! ```text
//! {"topic":"t","partition":0,"offset":42,"timestamp":1714564800000,"timestamp_type":"CreateTime",
//!  "key":"k","value":{"base64":"AP8="},"headers":[["h","v"],["h",null]]}
//! ```
//! Bytes (key, value, header values) are `null` when absent, a JSON string when they are valid
//! UTF-8, otherwise `{"base64": "…"}` (standard alphabet, padded). Header names are strings
//! (invalid UTF-8 in a name is replaced by U+FFFD). `produce --json` reads the same shape back.
//!
//! The JSON strings are escaped here ([`json_str`]), not by `serde_json`: every key, value and
//! header of `consume --json` goes through it, and a string of printable ASCII without quotes
//! or backslashes (nearly every key and value) is checked in one pass, 32 bytes at a time
//! with AVX2 where the CPU has it, and copied whole into the record's buffer. That path was
//! measured with callgrind and `cargo bench --bench render` when it was written; the tests
//! check its output against `serde_json`'s, byte for byte.

use std::io::{self, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::format::{Header, Record, RecordBatch};

/// A record to print, from a v2 batch or a legacy message.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'r> {
    pub offset: i64,
    pub timestamp: i64,
    /// `CreateTime`, `LogAppendTime` or `NoTimestampType`.
    pub timestamp_type: &'static str,
    pub key: Option<&'r [u8]>,
    pub value: Option<&'r [u8]>,
    pub headers: &'r [Header<'r>],
}

impl<'r> RecordView<'r> {
    /// A record of a v2 batch, with its offset and timestamp resolved against the batch.
    #[inline(always)]
    pub fn of(batch: &RecordBatch<'_>, rec: &'r Record<'r>) -> Self {
        RecordView {
            offset: batch.offset_of(rec),
            timestamp: batch.timestamp_of(rec),
            timestamp_type: batch.header.timestamp_type().name(),
            key: rec.key,
            value: rec.value,
            headers: &rec.headers,
        }
    }
}

/// One piece of a `--format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Lit(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    Headers,
    KeyLen,
    ValueLen,
}

/// Parses kcat's format tokens (`%t %p %o %k %s %T %h %K %S %%`) in a format whose escapes
/// (`\n`, `\t`, …) are already resolved.
pub fn parse_format(bytes: &[u8]) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut lit = Vec::new();
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        if b != b'%' {
            lit.push(b);
            rest = tail;
            continue;
        }
        let tok = match tail.first() {
            Some(b'%') => {
                lit.push(b'%');
                rest = tail.get(1..).unwrap_or_default();
                continue;
            }
            Some(b't') => Token::Topic,
            Some(b'p') => Token::Partition,
            Some(b'o') => Token::Offset,
            Some(b'k') => Token::Key,
            Some(b's') => Token::Value,
            Some(b'T') => Token::Timestamp,
            Some(b'h') => Token::Headers,
            Some(b'K') => Token::KeyLen,
            Some(b'S') => Token::ValueLen,
            Some(&c) => {
                return Err(format!(
                    "unknown token %{} in --format (use %t %p %o %k %s %T %h %K %S %%)",
                    c as char
                ));
            }
            None => return Err("--format ends with a lone %".into()),
        };
        if !lit.is_empty() {
            out.push(Token::Lit(std::mem::take(&mut lit)));
        }
        out.push(tok);
        rest = tail.get(1..).unwrap_or_default();
    }
    if !lit.is_empty() {
        out.push(Token::Lit(lit));
    }
    Ok(out)
}

/// How records are printed.
#[derive(Debug, Clone)]
pub enum Render {
    /// The value and a newline; with `key_sep`, the key and the separator first. `null` stands
    /// for an absent key or value.
    Value {
        key_sep: Option<Vec<u8>>,
        null: Vec<u8>,
    },
    /// kcat's `--format`.
    Format { tokens: Vec<Token>, null: Vec<u8> },
    /// One JSON object and a newline (see [`Render::json`]).
    Json(JsonParts),
}

impl Render {
    /// One JSON object per record and a newline.
    pub fn json() -> Render {
        Render::Json(JsonParts::default())
    }

    /// The value, with `key_sep` the key and the separator first, then `delimiter` (default:
    /// a newline); `null` stands for an absent key or value. (kcat's `-K` and `-D`.)
    pub fn text(key_sep: Option<Vec<u8>>, delimiter: Option<Vec<u8>>, null: Vec<u8>) -> Render {
        match delimiter {
            // A delimiter other than a newline: the same output as format tokens.
            Some(d) if d != b"\n" => {
                let mut tokens = Vec::new();
                if let Some(sep) = key_sep {
                    tokens.extend([Token::Key, Token::Lit(sep)]);
                }
                tokens.extend([Token::Value, Token::Lit(d)]);
                Render::Format { tokens, null }
            }
            _ => Render::Value { key_sep, null },
        }
    }

    /// Appends one record to `out`.
    #[inline(always)]
    pub fn render(&mut self, out: &mut Vec<u8>, topic: &str, partition: u32, rec: &RecordView<'_>) {
        match self {
            Render::Value { key_sep, null } => {
                if let Some(sep) = key_sep {
                    out.extend_from_slice(rec.key.unwrap_or(null));
                    out.extend_from_slice(sep);
                }
                value_line(out, rec.value, null);
            }
            Render::Format { tokens, null } => {
                render_format(out, tokens, null, topic, partition, rec)
            }
            Render::Json(parts) => render_json(out, parts, topic, partition, rec),
        }
    }
}

impl Render {
    /// [`Render::render`] written to `w` instead of appended to a buffer: keys and values are
    /// written from the record as they are, or (JSON) encoded a chunk at a time, so that a
    /// record of any size takes no more memory than the record itself. Byte for byte what
    /// `render` appends. For records with a key or value over [`LARGE_FIELD`] bytes.
    pub fn render_to(
        &mut self,
        w: &mut impl Write,
        topic: &str,
        partition: u32,
        rec: &RecordView<'_>,
    ) -> io::Result<()> {
        let mut small = Vec::new();
        match self {
            Render::Value { key_sep, null } => {
                if let Some(sep) = key_sep {
                    w.write_all(rec.key.unwrap_or(null))?;
                    w.write_all(sep)?;
                }
                w.write_all(rec.value.unwrap_or(null))?;
                w.write_all(b"\n")
            }
            Render::Format { tokens, null } => {
                for t in tokens.iter() {
                    match t {
                        Token::Key => w.write_all(rec.key.unwrap_or(null))?,
                        Token::Value => w.write_all(rec.value.unwrap_or(null))?,
                        t => {
                            small.clear();
                            render_format(
                                &mut small,
                                std::slice::from_ref(t),
                                null,
                                topic,
                                partition,
                                rec,
                            );
                            w.write_all(&small)?;
                        }
                    }
                }
                Ok(())
            }
            Render::Json(parts) => {
                // The record without key and value, split where they go.
                let bare = RecordView {
                    key: None,
                    value: None,
                    ..*rec
                };
                render_json(&mut small, parts, topic, partition, &bare);
                let key_at = find(&small, b",\"key\":null").map(|i| i + 7);
                let value_at = find(&small, b",\"value\":null").map(|i| i + 9);
                let (Some(k), Some(v)) = (key_at, value_at) else {
                    return Err(io::Error::other("unexpected JSON record shape"));
                };
                w.write_all(small.get(..k).unwrap_or_default())?;
                write_json_bytes(w, rec.key)?;
                w.write_all(small.get(k + 4..v).unwrap_or_default())?;
                write_json_bytes(w, rec.value)?;
                w.write_all(small.get(v + 4..).unwrap_or_default())
            }
        }
    }
}

/// Buffered output that records are rendered into directly (no per-field write calls); it
/// goes to `inner` in large writes.
///
/// A write to `inner` that fails makes every later flush fail too: nothing after it reached
/// the reader, so what was rendered since must not count as delivered (nor be committed).
pub struct RecordOut<W: Write> {
    buf: Vec<u8>,
    inner: W,
    failed: Option<io::ErrorKind>,
}

/// Bytes [`RecordOut`] buffers before it writes them out.
const OUT_BUF: usize = 256 * 1024;

impl<W: Write> RecordOut<W> {
    pub fn new(inner: W) -> Self {
        RecordOut {
            buf: Vec::with_capacity(OUT_BUF + 4096),
            inner,
            failed: None,
        }
    }

    /// The buffer, for callers that append rendered records to it themselves (such as
    /// [`value_line`]); call [`RecordOut::spill_if_full`] after.
    #[inline(always)]
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    fn spill(&mut self) -> io::Result<()> {
        if let Some(kind) = self.failed {
            return Err(kind.into());
        }
        let r = self.inner.write_all(&self.buf);
        self.buf.clear();
        if let Err(e) = &r {
            self.failed = Some(e.kind());
        }
        r
    }

    /// Writes the buffer out once it is full.
    #[inline(always)]
    pub fn spill_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= OUT_BUF {
            self.spill()?;
        }
        Ok(())
    }

    /// Renders one record with `printer`: into the buffer, or, when `may_be_large` and its
    /// key or value is over [`LARGE_FIELD`] bytes, straight to `inner` after what is
    /// buffered, so that the record is never copied whole (see [`Render::render_to`]).
    #[inline(always)]
    pub fn record(
        &mut self,
        printer: &mut Render,
        topic: &str,
        partition: u32,
        view: &RecordView<'_>,
        may_be_large: bool,
    ) -> io::Result<()> {
        if may_be_large && is_large(view) {
            return self.render_large(printer, topic, partition, view);
        }
        printer.render(&mut self.buf, topic, partition, view);
        self.spill_if_full()
    }

    #[cold]
    fn render_large(
        &mut self,
        printer: &mut Render,
        topic: &str,
        partition: u32,
        view: &RecordView<'_>,
    ) -> io::Result<()> {
        self.spill()?;
        let r = printer.render_to(&mut self.inner, topic, partition, view);
        if let Err(e) = &r {
            self.failed = Some(e.kind());
        }
        r
    }
}

/// Whether a record is too large to render into an output buffer.
#[inline(always)]
fn is_large(view: &RecordView<'_>) -> bool {
    let len = |b: Option<&[u8]>| b.map_or(0, <[u8]>::len);
    len(view.key) > LARGE_FIELD || len(view.value) > LARGE_FIELD
}

impl<W: Write> Write for RecordOut<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        self.spill_if_full()?;
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() || self.failed.is_some() {
            self.spill()?;
        }
        self.inner.flush()
    }
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// [`Render::Value`] without a key separator: the value (`null` for none) and a newline. On
/// its own for callers that have only values (see `Records::try_for_each_value`).
#[inline(always)]
pub fn value_line(out: &mut Vec<u8>, value: Option<&[u8]>, null: &[u8]) {
    out.extend_from_slice(value.unwrap_or(null));
    out.push(b'\n');
}

fn int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline(never)]
fn render_format(
    out: &mut Vec<u8>,
    tokens: &[Token],
    null: &[u8],
    topic: &str,
    partition: u32,
    rec: &RecordView<'_>,
) {
    for t in tokens {
        match t {
            Token::Lit(b) => out.extend_from_slice(b),
            Token::Topic => out.extend_from_slice(topic.as_bytes()),
            Token::Partition => int(out, partition),
            Token::Offset => int(out, rec.offset),
            Token::Key => out.extend_from_slice(rec.key.unwrap_or(null)),
            Token::Value => out.extend_from_slice(rec.value.unwrap_or(null)),
            Token::Timestamp => int(out, rec.timestamp),
            Token::Headers => {
                for (i, h) in rec.headers.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(h.key);
                    out.push(b'=');
                    out.extend_from_slice(h.value.unwrap_or(null));
                }
            }
            Token::KeyLen => int(out, rec.key.map_or(-1, |k| k.len() as i64)),
            Token::ValueLen => int(out, rec.value.map_or(-1, |v| v.len() as i64)),
        }
    }
}

/// What `--json` output repeats from one record to the next, kept between records: the
/// opening up to the offset (the same for a whole partition), the run from the timestamp to
/// the key (the same for records stamped in the same millisecond, as a batch's usually are),
/// and the offset's digits (one more than the last, most of the time).
#[derive(Debug, Clone, Default)]
pub struct JsonParts {
    /// `{"topic":…,"partition":…,"offset":` for `head_of`.
    head: Vec<u8>,
    head_of: Option<(String, u32)>,
    /// `,"timestamp":…,"timestamp_type":"…","key":` for `mid_of`.
    mid: Vec<u8>,
    mid_of: Option<(i64, &'static str)>,
    offset: Digits,
}

/// A non-negative integer's decimal digits, right-aligned in a buffer, that can count up by
/// one in place.
#[derive(Debug, Clone, Copy)]
struct Digits {
    value: i64,
    buf: [u8; 20],
    start: usize,
}

impl Default for Digits {
    fn default() -> Self {
        Digits {
            value: -1,
            buf: [0; 20],
            start: 20,
        }
    }
}

impl Digits {
    /// The digits of `v`; counts up when `v` follows the last value, otherwise formats it.
    #[inline(always)]
    fn of(&mut self, v: i64) -> &[u8] {
        if self.value >= 0 && self.value.checked_add(1) == Some(v) && !self.carry_up() {
            self.value = v;
        } else {
            let mut itoa = itoa::Buffer::new();
            let text = itoa.format(v).as_bytes();
            // An i64 has at most 20 characters, sign included.
            self.start = 20usize.saturating_sub(text.len());
            if let Some(dst) = self.buf.get_mut(self.start..) {
                dst.copy_from_slice(text.get(..20 - self.start).unwrap_or_default());
            }
            // Only non-negative values count up.
            self.value = if v >= 0 { v } else { -1 };
        }
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Adds one to the digits in place; true when they would not fit (the caller formats).
    #[inline(always)]
    fn carry_up(&mut self) -> bool {
        let mut i = self.buf.len();
        while i > self.start {
            i -= 1;
            match self.buf.get_mut(i) {
                Some(d) if *d == b'9' => *d = b'0',
                Some(d) => {
                    *d += 1;
                    return false;
                }
                None => return true,
            }
        }
        // All nines: one more digit in front.
        match self.start.checked_sub(1) {
            Some(s) => {
                self.start = s;
                if let Some(d) = self.buf.get_mut(s) {
                    *d = b'1';
                }
                false
            }
            None => true,
        }
    }
}

#[inline(never)]
fn render_json(
    out: &mut Vec<u8>,
    parts: &mut JsonParts,
    topic: &str,
    partition: u32,
    rec: &RecordView<'_>,
) {
    if parts
        .head_of
        .as_ref()
        .is_none_or(|(t, p)| *p != partition || !same(t.as_bytes(), topic.as_bytes()))
    {
        parts.head.clear();
        parts.head.extend_from_slice(b"{\"topic\":");
        json_str(&mut parts.head, topic);
        parts.head.extend_from_slice(b",\"partition\":");
        int(&mut parts.head, partition);
        parts.head.extend_from_slice(b",\"offset\":");
        parts.head_of = Some((topic.to_owned(), partition));
    }
    // Timestamp type names are static strings: the same name is the same pointer, and the
    // contents are compared only when the pointers differ.
    if parts.mid_of.is_none_or(|(ts, ty)| {
        ts != rec.timestamp || !(std::ptr::eq(ty, rec.timestamp_type) || ty == rec.timestamp_type)
    }) {
        parts.mid.clear();
        parts.mid.extend_from_slice(b",\"timestamp\":");
        int(&mut parts.mid, rec.timestamp);
        parts.mid.extend_from_slice(b",\"timestamp_type\":\"");
        parts.mid.extend_from_slice(rec.timestamp_type.as_bytes());
        parts.mid.extend_from_slice(b"\",\"key\":");
        parts.mid_of = Some((rec.timestamp, rec.timestamp_type));
    }
    // Enough for a record without escapes, so that the appends below do not grow `out`.
    let len = |b: Option<&[u8]>| b.map_or(4, <[u8]>::len);
    out.reserve(
        64 + parts.head.len()
            + parts.mid.len()
            + len(rec.key)
            + len(rec.value)
            + rec
                .headers
                .iter()
                .map(|h| 8 + h.key.len() + len(h.value))
                .sum::<usize>(),
    );
    out.extend_from_slice(&parts.head);
    out.extend_from_slice(parts.offset.of(rec.offset));
    out.extend_from_slice(&parts.mid);
    json_bytes(out, rec.key);
    out.extend_from_slice(b",\"value\":");
    json_bytes(out, rec.value);
    out.extend_from_slice(b",\"headers\":[");
    for (i, h) in rec.headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        match std::str::from_utf8(h.key) {
            Ok(k) => json_str(out, k),
            Err(_) => json_str(out, &String::from_utf8_lossy(h.key)),
        }
        out.push(b',');
        json_bytes(out, h.value);
        out.push(b']');
    }
    out.extend_from_slice(b"]}\n");
}

/// `a == b` for the short strings that topic names are, inline rather than through a call
/// to `memcmp` (once per record).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 32 {
        return a == b;
    }
    a.iter().zip(b).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

/// Appends bytes in the JSON bytes shape: `null`, a string, or `{"base64":"…"}`.
pub fn json_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    let Some(b) = b else {
        out.extend_from_slice(b"null");
        return;
    };
    // Fast path, one pass: printable ASCII without `"` or `\` is valid UTF-8 and needs no
    // escaping.
    if plain_ascii(b) {
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
        return;
    }
    match std::str::from_utf8(b) {
        Ok(s) => json_str(out, s),
        Err(_) => {
            out.extend_from_slice(b"{\"base64\":\"");
            let start = out.len();
            out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
            if let Some(dst) = out.get_mut(start..) {
                let n = STANDARD.encode_slice(b, dst).unwrap_or(0);
                out.truncate(start + n);
            }
            out.extend_from_slice(b"\"}");
        }
    }
}

/// Bytes a streaming writer encodes at a time (a multiple of 3, for base64).
const STREAM_CHUNK: usize = 48 << 10;

/// Keys and values larger than this are written by [`Render::render_to`] straight from the
/// record (or encoded a chunk at a time), never copied whole into an output buffer.
pub const LARGE_FIELD: usize = 1 << 20;

/// [`json_bytes`] written to `w`, encoding a chunk at a time: a value of any size takes no
/// more memory than a chunk. The output is byte for byte `json_bytes`'.
pub fn write_json_bytes(w: &mut impl Write, b: Option<&[u8]>) -> io::Result<()> {
    let Some(b) = b else {
        return w.write_all(b"null");
    };
    if plain_ascii(b) {
        w.write_all(b"\"")?;
        w.write_all(b)?;
        return w.write_all(b"\"");
    }
    let mut buf = Vec::with_capacity(2 * STREAM_CHUNK + 16);
    match std::str::from_utf8(b) {
        Ok(s) => {
            w.write_all(b"\"")?;
            let mut rest = s;
            while !rest.is_empty() {
                let mut cut = rest.len().min(STREAM_CHUNK);
                while !rest.is_char_boundary(cut) {
                    cut += 1;
                }
                let (piece, after) = rest.split_at(cut);
                buf.clear();
                json_str(&mut buf, piece);
                // Without the quotes json_str puts around each piece.
                w.write_all(buf.get(1..buf.len() - 1).unwrap_or_default())?;
                rest = after;
            }
            w.write_all(b"\"")
        }
        Err(_) => {
            w.write_all(b"{\"base64\":\"")?;
            for piece in b.chunks(STREAM_CHUNK) {
                buf.clear();
                buf.resize(base64::encoded_len(piece.len(), true).unwrap_or(0), 0);
                let n = STANDARD.encode_slice(piece, &mut buf).unwrap_or(0);
                w.write_all(buf.get(..n).unwrap_or_default())?;
            }
            w.write_all(b"\"}")
        }
    }
}

/// Appends a JSON string literal.
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    if plain_ascii(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = c as usize;
                out.extend_from_slice(b"\\u00");
                out.push(HEX[n >> 4]);
                out.push(HEX[n & 15]);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Whether every byte is ASCII, not a control character, `"` nor `\\`: valid UTF-8 that a
/// JSON string holds as it is. With AVX2 (checked once, at run time), 32 bytes at a time;
/// otherwise 16 (SSE2 is part of x86-64).
#[inline]
fn plain_ascii(b: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code)]
        // SAFETY: this CPU has AVX2, checked just above; the function is safe otherwise.
        return unsafe { plain_ascii_avx2(b) };
    }
    plain_ascii_in::<16>(b)
}

/// [`plain_ascii`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn plain_ascii_avx2(b: &[u8]) -> bool {
    plain_ascii_in::<32>(b)
}

/// [`plain_ascii`] in blocks of `N` bytes (16 or 32), with byte-wide arithmetic and no early
/// exit inside a block, so that the compiler vectorizes each block; the last partial block is
/// checked as the `N` bytes that end the input (overlapping the block before), and an input
/// shorter than `N` in blocks of 16, or in one short pass.
#[inline(always)]
fn plain_ascii_in<const N: usize>(b: &[u8]) -> bool {
    #[inline(always)]
    fn block_ok(c: &[u8]) -> bool {
        let mut bad = false;
        for &x in c {
            // x < 0x20 or x >= 0x80 in one signed comparison.
            bad |= ((x as i8) < 0x20) | (x == b'"') | (x == b'\\');
        }
        !bad
    }
    if b.len() < N {
        return if N > 16 && b.len() >= 16 {
            plain_ascii_in::<16>(b)
        } else {
            block_ok(b)
        };
    }
    let mut chunks = b.chunks_exact(N);
    for c in &mut chunks {
        if !block_ok(c) {
            return false;
        }
    }
    chunks.remainder().is_empty() || block_ok(b.get(b.len() - N..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn view<'r>(
        key: Option<&'r [u8]>,
        value: Option<&'r [u8]>,
        headers: &'r [Header<'r>],
    ) -> RecordView<'r> {
        RecordView {
            offset: 42,
            timestamp: -1,
            timestamp_type: "CreateTime",
            key,
            value,
            headers,
        }
    }

    /// `render_to` writes exactly what `render` appends, for every format and for keys and
    /// values of every kind (absent, empty, ASCII, escaped, multi-byte across a chunk's
    /// edge, not UTF-8, larger than a chunk); and `write_json_bytes` what `json_bytes` does.
    #[test]
    fn streaming_renders_what_the_buffer_does() {
        let long_utf8: String = "é\"\n".repeat(40_000);
        let long_binary: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let fields: Vec<Option<&[u8]>> = vec![
            None,
            Some(b""),
            Some(b"plain"),
            Some(b"q\"u\\o\n\x01"),
            Some(b"\xff\xfe"),
            Some(long_utf8.as_bytes()),
            Some(&long_binary),
            Some(&long_binary[..STREAM_CHUNK + 1]),
        ];
        let hs = [Header {
            key: b"h",
            value: Some(b"v"),
        }];
        let formats = [
            Render::json(),
            Render::Value {
                key_sep: None,
                null: b"NULL".to_vec(),
            },
            Render::Value {
                key_sep: Some(b"=".to_vec()),
                null: Vec::new(),
            },
            Render::Format {
                tokens: parse_format(b"%t/%p/%o %T %k=%s %K %S [%h]\n").unwrap(),
                null: b"-".to_vec(),
            },
        ];
        for mut r in formats {
            for &k in &fields {
                for &v in &fields {
                    let rec = view(k, v, &hs);
                    let mut want = Vec::new();
                    r.clone().render(&mut want, "topic", 3, &rec);
                    let mut got = Vec::new();
                    r.render_to(&mut got, "topic", 3, &rec).unwrap();
                    assert!(
                        got == want,
                        "{r:?} key {:?} value {:?}",
                        k.map(<[u8]>::len),
                        v.map(<[u8]>::len)
                    );
                }
            }
        }
        for &b in &fields {
            let mut want = Vec::new();
            json_bytes(&mut want, b);
            let mut got = Vec::new();
            write_json_bytes(&mut got, b).unwrap();
            assert!(got == want, "{:?}", b.map(<[u8]>::len));
        }
    }

    fn json_of(b: Option<&[u8]>) -> String {
        let mut out = Vec::new();
        json_bytes(&mut out, b);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_bytes_agrees_with_serde_json() {
        let cases: &[&[u8]] = &[
            b"",
            b"plain ascii value that is longer than sixteen bytes",
            b"quote \" and backslash \\ and \x7f delete",
            b"tab\tnewline\ncr\rbell\x07nul\x00",
            "h\u{e9}llo w\u{f6}rld \u{1f600} \u{2028}".as_bytes(),
        ];
        for &c in cases {
            let got = json_of(Some(c));
            let parsed: serde_json::Value = serde_json::from_str(&got).unwrap();
            assert_eq!(parsed.as_str().unwrap().as_bytes(), c, "{got}");
        }
        assert_eq!(json_of(None), "null");
        assert_eq!(json_of(Some(b"\xff\x00")), r#"{"base64":"/wA="}"#);
        assert_eq!(json_of(Some(b"\xc3")), r#"{"base64":"ww=="}"#);
        // A byte that needs escaping (or is not ASCII) is seen at any position of any length:
        // in a full block, in the overlapping last block, or in a short input.
        // The run-time choice, and both block sizes whatever this CPU has.
        let checks: [fn(&[u8]) -> bool; 3] =
            [plain_ascii, plain_ascii_in::<16>, plain_ascii_in::<32>];
        for check in checks {
            for len in 0..=70 {
                let clean = vec![b' '; len];
                assert!(check(&clean));
                for pos in 0..len {
                    for x in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xff] {
                        let mut b = clean.clone();
                        b[pos] = x;
                        assert!(!check(&b), "byte {x:#x} at {pos} of {len}");
                    }
                    let mut b = clean.clone();
                    b[pos] = 0x7e;
                    assert!(check(&b));
                }
            }
        }
        // Every single byte, and each byte inside a longer plain run (the 16-byte blocks).
        for x in 0..=255u8 {
            for len in [1, 17, 40] {
                let mut b = vec![b'a'; len];
                b[len / 2] = x;
                let got = json_of(Some(&b));
                match std::str::from_utf8(&b) {
                    Ok(s) => assert_eq!(got, serde_json::to_string(s).unwrap(), "byte {x:#x}"),
                    Err(_) => assert!(got.starts_with(r#"{"base64":"#), "byte {x:#x}"),
                }
            }
        }
    }

    #[test]
    fn json_record_shape() {
        let headers = [
            Header {
                key: b"h",
                value: Some(b"v"),
            },
            Header {
                key: b"n",
                value: None,
            },
        ];
        let mut out = Vec::new();
        Render::json().render(&mut out, "t\"x", 7, &view(None, Some(b"\x01"), &headers));
        let line = String::from_utf8(out).unwrap();
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["topic"], "t\"x");
        assert_eq!(v["partition"], 7);
        assert_eq!(v["offset"], 42);
        assert_eq!(v["timestamp"], -1);
        assert_eq!(v["timestamp_type"], "CreateTime");
        assert!(v["key"].is_null());
        assert_eq!(v["value"], "\u{1}");
        assert_eq!(v["headers"], serde_json::json!([["h", "v"], ["n", null]]));
    }

    /// A reused JSON renderer prints, record after record, what a fresh one prints: its
    /// cached parts follow the topic, partition, timestamp and its type, and its offset digits
    /// count up across carries and restart after a jump.
    #[test]
    fn json_renderer_reused_prints_what_a_fresh_one_does() {
        let offsets = [
            0, 1, 2, 9, 10, 11, 99, 100, 999, 1000, 1001, 5, 6, 0, 19_999, 20_000,
        ];
        let offsets = offsets
            .into_iter()
            .chain([i64::MAX - 1, i64::MAX, 7, -1, 0, 99_999_999_999]);
        let mut reused = Render::json();
        let mut ts = 1_700_000_000_000;
        for (i, offset) in offsets.enumerate() {
            let (topic, partition) = match i % 7 {
                0 => ("t\"x", 1),
                1 | 2 => ("t\"x", 2),
                _ => ("orders", 2),
            };
            if i % 3 == 0 {
                ts += 1;
            }
            let mut rec = view(None, Some(b"v"), &[]);
            rec.offset = offset;
            rec.timestamp = ts;
            rec.timestamp_type = if i % 5 == 0 {
                "LogAppendTime"
            } else {
                "CreateTime"
            };
            let (mut got, mut want) = (Vec::new(), Vec::new());
            reused.render(&mut got, topic, partition, &rec);
            Render::json().render(&mut want, topic, partition, &rec);
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    #[test]
    fn formats() {
        assert_eq!(
            parse_format(b"%p:%o %k=%s\n%%").unwrap(),
            vec![
                Token::Partition,
                Token::Lit(b":".to_vec()),
                Token::Offset,
                Token::Lit(b" ".to_vec()),
                Token::Key,
                Token::Lit(b"=".to_vec()),
                Token::Value,
                Token::Lit(b"\n%".to_vec()),
            ]
        );
        assert!(parse_format(b"%q").is_err());
        assert!(parse_format(b"abc%").is_err());
        let mut r = Render::Format {
            tokens: parse_format(b"%t/%p/%o %T %K:%k %S:%s [%h]").unwrap(),
            null: b"-".to_vec(),
        };
        let headers = [Header {
            key: b"a",
            value: None,
        }];
        let mut out = Vec::new();
        r.render(&mut out, "t", 3, &view(None, Some(b"v"), &headers));
        assert_eq!(out, b"t/3/42 -1 -1:- 1:v [a=-]");
    }

    #[test]
    fn value_and_key_separator() {
        let mut r = Render::Value {
            key_sep: Some(b"\t".to_vec()),
            null: b"NULL".to_vec(),
        };
        let mut out = Vec::new();
        r.render(&mut out, "t", 0, &view(None, Some(b"v"), &[]));
        r.render(&mut out, "t", 0, &view(Some(b"k"), None, &[]));
        assert_eq!(out, b"NULL\tv\nk\tNULL\n");
    }

    /// A failed write to stdout must not let a later flush succeed: the group would then
    /// commit records the reader never got (found by `closed_pipe_commits_nothing_unread`).
    #[test]
    fn regression_record_out_failure_is_sticky() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut out = RecordOut::new(Closed);
        out.buf.resize(OUT_BUF, b'x');
        assert!(out.spill_if_full().is_err());
        assert!(out.buf.is_empty());
        assert_eq!(
            out.flush().map_err(|e| e.kind()),
            Err(std::io::ErrorKind::BrokenPipe)
        );
        out.write_all(b"more").unwrap_or(());
        assert!(out.flush().is_err());
    }
}
