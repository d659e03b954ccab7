//! Input bytes to records, as Kafka's console producer's record readers make them: framing
//! (a delimiter, or a whole input per record), the record's shape (key separator, fixed key,
//! null marker, headers, partition, or a JSON object per line), and each record handed to a
//! [`Producer`].
//!
//! The front end reads its inputs and feeds their bytes in chunks ([`RecordReader::push`]),
//! saying where each input ends ([`RecordReader::end_input`]). A record that cannot go in is
//! handed to the caller's `on_invalid` with its input's name and number ([`Invalid`]): the
//! caller skips it (returns `Ok`) or stops (returns its error). A producer that failed stops
//! the reader with the producer's error.
//!
//! # Invariants
//! 1. Records are numbered from 1 in each input; the number names a line when the delimiter
//!    is a newline ([`RecordReader::unit`]).
//! 2. A record of more than [`LARGE_RECORD`] bytes that arrives in a buffer of its own (a
//!    whole `--raw` input, a record that spanned chunks) is handed over in that buffer, never
//!    copied ([`Producer::send_large`]).
//! 3. A record longer than `max.message.bytes` is never buffered whole: the splitter drops
//!    it once that much of it is pending ([`InvalidReason::NoDelimiter`]), and so does raw
//!    framing ([`InvalidReason::RawTooLarge`]).

use super::{Clock, LARGE_RECORD, LargeRecord, Producer, ProducerRecord, Rejected};
use crate::error::Error;
use crate::format::Header;
use crate::input::{JsonRecord, JsonRecordError, Piece, Splitter, parse_record};

/// How records are cut from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// At each occurrence of the delimiter (not empty).
    Delimited(Vec<u8>),
    /// Each input whole.
    Raw,
}

/// What a record is made of, from its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordShape {
    /// Each record is a JSON object as `klog consume --json` prints it.
    pub json: bool,
    /// Split each record at the first occurrence into key and value.
    pub key_separator: Option<Vec<u8>>,
    /// The key of every record.
    pub key: Option<Vec<u8>>,
    /// A key or value equal to this is null.
    pub null_marker: Option<Vec<u8>>,
    /// Headers added to every record.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The partition of every record.
    pub partition: Option<u32>,
    /// With `json`: a line's "partition" does not count.
    pub ignore_partition: bool,
}

impl RecordShape {
    fn nullable<'b>(&self, b: &'b [u8]) -> Option<&'b [u8]> {
        match &self.null_marker {
            Some(m) if m.as_slice() == b => None,
            _ => Some(b),
        }
    }

    /// Each record is the input's bytes as its value, in the sticky partition.
    fn is_plain(&self) -> bool {
        !self.json
            && self.key_separator.is_none()
            && self.key.is_none()
            && self.null_marker.is_none()
            && self.headers.is_empty()
            && self.partition.is_none()
    }
}

/// Why a record did not go in.
#[derive(Debug)]
pub enum InvalidReason {
    /// The producer refused it (too large, unknown partition).
    Rejected(Rejected),
    /// A JSON line that is no record.
    Json(JsonRecordError),
    /// More than `max` bytes without a delimiter: the record is dropped, up to its delimiter.
    NoDelimiter { max: usize },
    /// A raw input of more than `max` bytes: the rest of it is dropped.
    RawTooLarge { max: usize },
}

/// A record that did not go in, and where it was.
#[derive(Debug)]
pub struct Invalid<'a> {
    /// The input's name, as the front end gave it.
    pub input: &'a str,
    /// `line` or `record`: see [`RecordReader::unit`].
    pub unit: &'static str,
    /// Its number in its input, from 1.
    pub number: u64,
    pub reason: InvalidReason,
}

/// Framing state.
enum Frames {
    Delimited(Splitter),
    Raw {
        /// The current input so far.
        carry: Vec<u8>,
        /// Dropping the rest of an input already reported as too large.
        discarding: bool,
    },
}

/// Cuts input into records and hands them to a producer; see the module doc.
pub struct RecordReader {
    shape: RecordShape,
    plain: bool,
    frames: Frames,
    unit: &'static str,
    max_len: usize,
    /// Records so far in the current input.
    record_no: u64,
}

/// How a record fared, before it is numbered.
type Outcome = Result<(), InvalidReason>;

impl RecordReader {
    /// A reader of records of at most `max_len` bytes (the topic's `max.message.bytes`: a
    /// longer one is refused anyway, so no more of it is buffered).
    pub fn new(shape: RecordShape, framing: Framing, max_len: usize) -> RecordReader {
        // Newline-separated input (lines and JSON) names lines; other framings name records.
        let unit = match &framing {
            Framing::Delimited(d) if d.as_slice() == b"\n" => "line",
            _ => "record",
        };
        let frames = match framing {
            Framing::Delimited(d) => {
                Frames::Delimited(Splitter::new(&d, max_len).hand_over_from(LARGE_RECORD))
            }
            Framing::Raw => Frames::Raw {
                carry: Vec::new(),
                discarding: false,
            },
        };
        RecordReader {
            plain: shape.is_plain(),
            shape,
            frames,
            unit,
            max_len,
            record_no: 0,
        }
    }

    /// What a record is called in messages: `line` when the delimiter is a newline, else
    /// `record`.
    pub fn unit(&self) -> &'static str {
        self.unit
    }

    /// Feeds the next bytes of input `input`; records stamped `timestamp` unless they carry
    /// their own (JSON).
    pub fn push<C: Clock, E: From<Error>>(
        &mut self,
        chunk: &[u8],
        input: &str,
        timestamp: i64,
        producer: &mut Producer<C>,
        mut on_invalid: impl FnMut(Invalid<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let unit = self.unit;
        let (shape, plain, max_len) = (&self.shape, self.plain, self.max_len);
        let extra = extra_headers(shape);
        match &mut self.frames {
            Frames::Raw { carry, discarding } => {
                if *discarding {
                    Ok(())
                } else if carry.len() + chunk.len() > max_len {
                    // Too large: report it (or stop), and ignore the rest of this input.
                    *discarding = true;
                    carry.clear();
                    let reason = InvalidReason::RawTooLarge { max: max_len };
                    settle(Err(reason), input, unit, 1, &mut on_invalid)
                } else {
                    carry.extend_from_slice(chunk);
                    Ok(())
                }
            }
            Frames::Delimited(splitter) => {
                let record_no = &mut self.record_no;
                splitter.push(chunk, |piece| {
                    *record_no += 1;
                    let outcome = match piece {
                        // The common case first, with nothing to settle when it goes in.
                        Piece::Record(bytes) if plain => {
                            match producer.send_value(bytes, timestamp) {
                                Ok(()) => return Ok(()),
                                Err(r) => Err(InvalidReason::Rejected(r)),
                            }
                        }
                        Piece::Record(bytes) => {
                            produce_one(producer, shape, &extra, bytes, timestamp)
                        }
                        Piece::Owned(buf) => produce_owned(producer, shape, &extra, buf, timestamp),
                        // No delimiter within max.message.bytes: report it (or stop); the
                        // splitter drops bytes until the next delimiter.
                        Piece::TooLong => Err(InvalidReason::NoDelimiter { max: max_len }),
                    };
                    settle(outcome, input, unit, *record_no, &mut on_invalid)
                })
            }
        }
    }

    /// Input `input` ended: its last record (without a delimiter, or a raw input) goes in,
    /// and numbering starts again for the next input.
    pub fn end_input<C: Clock, E: From<Error>>(
        &mut self,
        input: &str,
        timestamp: i64,
        producer: &mut Producer<C>,
        mut on_invalid: impl FnMut(Invalid<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let unit = self.unit;
        let shape = &self.shape;
        let extra = extra_headers(shape);
        match &mut self.frames {
            Frames::Raw { carry, discarding } => {
                let outcome = if std::mem::take(discarding) {
                    Ok(())
                } else if carry.len() > LARGE_RECORD {
                    let buf = std::mem::take(carry);
                    produce_owned(producer, shape, &extra, buf, timestamp)
                } else {
                    produce_one(producer, shape, &extra, carry, timestamp)
                };
                carry.clear();
                settle(outcome, input, unit, 1, &mut on_invalid)
            }
            Frames::Delimited(splitter) => {
                let last = self.record_no + 1;
                self.record_no = 0;
                splitter.finish(|piece| {
                    let outcome = match piece {
                        Piece::Record(bytes) => {
                            produce_one(producer, shape, &extra, bytes, timestamp)
                        }
                        Piece::Owned(buf) => produce_owned(producer, shape, &extra, buf, timestamp),
                        Piece::TooLong => Ok(()),
                    };
                    settle(outcome, input, unit, last, &mut on_invalid)
                })
            }
        }
    }
}

/// A record's outcome for the caller: a failed producer stops, an invalid record goes to
/// `on_invalid`.
#[inline(always)]
fn settle<E: From<Error>>(
    outcome: Outcome,
    input: &str,
    unit: &'static str,
    number: u64,
    on_invalid: &mut impl FnMut(Invalid<'_>) -> Result<(), E>,
) -> Result<(), E> {
    match outcome {
        Ok(()) => Ok(()),
        Err(reason) => settle_invalid(reason, input, unit, number, on_invalid),
    }
}

/// [`settle`] of a record that did not go in.
#[cold]
#[inline(never)]
fn settle_invalid<E: From<Error>>(
    reason: InvalidReason,
    input: &str,
    unit: &'static str,
    number: u64,
    on_invalid: &mut impl FnMut(Invalid<'_>) -> Result<(), E>,
) -> Result<(), E> {
    match reason {
        InvalidReason::Rejected(Rejected::Failed(e)) => Err(e.into()),
        reason => on_invalid(Invalid {
            input,
            unit,
            number,
            reason,
        }),
    }
}

/// The headers added to every record (allocates only when there are some).
fn extra_headers(shape: &RecordShape) -> Vec<Header<'_>> {
    shape
        .headers
        .iter()
        .map(|(k, v)| Header {
            key: k,
            value: Some(v),
        })
        .collect()
}

fn owned_headers(extra: &[Header<'_>]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    extra
        .iter()
        .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
        .collect()
}

/// Hands a record read from a JSON line to the producer.
fn add_json<C: Clock>(
    producer: &mut Producer<C>,
    shape: &RecordShape,
    extra: &[Header<'_>],
    rec: JsonRecord,
    ts: i64,
) -> Outcome {
    let JsonRecord {
        key,
        value,
        mut headers,
        partition,
        timestamp,
    } = rec;
    let partition = shape
        .partition
        .or(partition.filter(|_| !shape.ignore_partition));
    let timestamp = timestamp.unwrap_or(ts);
    let value = match value {
        Some(value) if value.len() > LARGE_RECORD => {
            headers.extend(owned_headers(extra));
            let len = value.len();
            let large = LargeRecord {
                buf: value,
                value: 0..len,
                key,
                headers,
                timestamp,
            };
            return producer
                .send_large(partition, large)
                .map_err(InvalidReason::Rejected);
        }
        value => value,
    };
    let mut hs: Vec<Header<'_>> = headers
        .iter()
        .map(|(k, v)| Header {
            key: k,
            value: v.as_deref(),
        })
        .collect();
    hs.extend_from_slice(extra);
    producer
        .send(&ProducerRecord {
            key: key.as_deref(),
            value: value.as_deref(),
            headers: &hs,
            partition,
            timestamp,
        })
        .map_err(InvalidReason::Rejected)
}

/// [`produce_one`] of a record that comes in a buffer of its own (a raw input, a record that
/// spanned input chunks): a value of more than [`LARGE_RECORD`] bytes goes to the producer in
/// that buffer, never copied.
fn produce_owned<C: Clock>(
    producer: &mut Producer<C>,
    shape: &RecordShape,
    extra: &[Header<'_>],
    buf: Vec<u8>,
    ts: i64,
) -> Outcome {
    if buf.len() <= LARGE_RECORD {
        return produce_one(producer, shape, extra, &buf, ts);
    }
    if shape.json {
        let rec = parse_record(&buf).map_err(InvalidReason::Json)?;
        // The line goes before the record is appended: its value is in `rec` now.
        drop(buf);
        return add_json(producer, shape, extra, rec, ts);
    }
    let (key, value) = match &shape.key_separator {
        Some(sep) => match memchr::memmem::find(&buf, sep) {
            Some(i) => (Some(0..i), i + sep.len()..buf.len()),
            None => (None, 0..buf.len()),
        },
        None => (None, 0..buf.len()),
    };
    let (Some(v), Some(k)) = (
        buf.get(value.clone()),
        key.clone().map_or(Some(&[][..]), |k| buf.get(k)),
    ) else {
        return produce_one(producer, shape, extra, &buf, ts);
    };
    if v.len() <= LARGE_RECORD || shape.nullable(v).is_none() {
        // A large key and a small value, or a value that is the null marker.
        return produce_one(producer, shape, extra, &buf, ts);
    }
    let key = match key {
        Some(_) => shape.nullable(k).map(<[u8]>::to_vec),
        None => shape.key.clone(),
    };
    let large = LargeRecord {
        buf,
        value,
        key,
        headers: owned_headers(extra),
        timestamp: ts,
    };
    producer
        .send_large(shape.partition, large)
        .map_err(InvalidReason::Rejected)
}

/// Turns one input record's bytes into a record and hands it to the producer.
fn produce_one<C: Clock>(
    producer: &mut Producer<C>,
    shape: &RecordShape,
    extra: &[Header<'_>],
    bytes: &[u8],
    ts: i64,
) -> Outcome {
    if shape.json {
        let rec = parse_record(bytes).map_err(InvalidReason::Json)?;
        return add_json(producer, shape, extra, rec, ts);
    }
    let (key, value) = match &shape.key_separator {
        Some(sep) => match memchr::memmem::find(bytes, sep) {
            Some(i) => (
                shape.nullable(bytes.get(..i).unwrap_or_default()),
                shape.nullable(bytes.get(i + sep.len()..).unwrap_or_default()),
            ),
            None => (None, shape.nullable(bytes)),
        },
        None => (shape.key.as_deref(), shape.nullable(bytes)),
    };
    producer
        .send(&ProducerRecord {
            key,
            value,
            headers: extra,
            partition: shape.partition,
            timestamp: ts,
        })
        .map_err(InvalidReason::Rejected)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::collections::BTreeMap;

    use super::*;
    use crate::produce::ProducerConfig;
    use crate::produce::test_clock::{Stored, stored};
    use crate::topic::{Topic, Topics};

    /// What `on_invalid` was told: (input, unit, number, reason).
    type Told = Vec<(String, &'static str, u64, String)>;

    /// Feeds `chunks` (one input, named "in") through a reader of `shape` and `framing`
    /// into a new topic of two partitions with `max.message.bytes` 300, skipping invalid
    /// records; returns what partitions 0 and 1 hold and what was skipped.
    fn run(
        shape: RecordShape,
        framing: Framing,
        chunks: &[&[u8]],
    ) -> (Vec<Stored>, Vec<Stored>, Told) {
        let tmp = tempfile::tempdir().unwrap();
        let mut configs = BTreeMap::new();
        configs.insert("max.message.bytes".to_string(), "300".to_string());
        let topic: Topic = Topics::new(tmp.path()).create("t", 2, configs).unwrap();
        let mut producer = Producer::new(&topic, ProducerConfig::default());
        let mut reader = RecordReader::new(shape, framing, 300);
        let mut told = Told::new();
        let mut on_invalid = |bad: Invalid<'_>| -> Result<(), Error> {
            let reason = format!("{:?}", bad.reason);
            told.push((bad.input.to_string(), bad.unit, bad.number, reason));
            Ok(())
        };
        for c in chunks {
            reader
                .push(c, "in", 7, &mut producer, &mut on_invalid)
                .unwrap();
        }
        reader
            .end_input("in", 7, &mut producer, &mut on_invalid)
            .unwrap();
        producer.close().unwrap();
        (stored(&topic, 0), stored(&topic, 1), told)
    }

    fn lines() -> Framing {
        Framing::Delimited(b"\n".to_vec())
    }

    fn kv(offset: i64, k: Option<&str>, v: Option<&str>) -> Stored {
        (
            offset,
            k.map(|k| k.as_bytes().to_vec()),
            v.map(|v| v.as_bytes().to_vec()),
        )
    }

    #[test]
    fn plain_lines_across_chunks_are_records_in_order() {
        let (p0, p1, told) = run(RecordShape::default(), lines(), &[b"one\ntw", b"o\nthree"]);
        assert_eq!(
            p0,
            [
                kv(0, None, Some("one")),
                kv(1, None, Some("two")),
                kv(2, None, Some("three"))
            ]
        );
        assert_eq!((p1, told), (vec![], vec![]));
    }

    #[test]
    fn key_separator_null_marker_and_partition_shape_each_record() {
        let shape = RecordShape {
            key_separator: Some(b":".to_vec()),
            null_marker: Some(b"NULL".to_vec()),
            partition: Some(1),
            ..RecordShape::default()
        };
        let (p0, p1, _) = run(shape, lines(), &[b"a:1\nb:NULL\nNULL:3\nnokey\n"]);
        assert_eq!(p0, []);
        assert_eq!(
            p1,
            [
                kv(0, Some("a"), Some("1")),
                kv(1, Some("b"), None),
                kv(2, None, Some("3")),
                kv(3, None, Some("nokey")),
            ]
        );
    }

    #[test]
    fn invalid_records_are_numbered_in_their_input_and_the_rest_goes_in() {
        let shape = RecordShape {
            json: true,
            ..RecordShape::default()
        };
        let long = format!("{{\"value\":\"{}\"}}\n", "x".repeat(400));
        let input = format!(
            "{{\"value\":\"a\",\"partition\":1}}\nnot json\n{long}{{\"value\":\"b\",\"partition\":5}}\n{{\"key\":\"k\",\"value\":\"c\",\"partition\":1}}"
        );
        let (p0, p1, told) = run(shape, lines(), &[input.as_bytes()]);
        assert_eq!(p0, []);
        assert_eq!(p1, [kv(0, None, Some("a")), kv(1, Some("k"), Some("c"))]);
        let where_: Vec<(u64, &str)> = told.iter().map(|t| (t.2, t.1)).collect();
        assert_eq!(where_, [(2, "line"), (3, "line"), (4, "line")]);
        assert!(told[0].3.starts_with("Json("), "{told:?}");
        assert!(told[1].3.contains("TooLarge"), "{told:?}");
        assert!(told[2].3.contains("UnknownPartition"), "{told:?}");
    }

    #[test]
    fn a_record_without_a_delimiter_within_the_maximum_is_dropped_once() {
        let framing = Framing::Delimited(b"\0".to_vec());
        let big = vec![b'x'; 200];
        // 400 bytes without a delimiter over two chunks: reported once, as record 2.
        let (p0, _, told) = run(
            RecordShape::default(),
            framing,
            &[b"a\0", &big, &big, b"\0b"],
        );
        assert_eq!(p0, [kv(0, None, Some("a")), kv(1, None, Some("b"))]);
        let where_: Vec<(u64, &str, &str)> =
            told.iter().map(|t| (t.2, t.1, t.3.as_str())).collect();
        assert_eq!(where_, [(2, "record", "NoDelimiter { max: 300 }")]);
    }

    #[test]
    fn a_raw_input_is_one_record_and_a_too_large_one_is_dropped_whole() {
        let (p0, _, told) = run(RecordShape::default(), Framing::Raw, &[b"a\nb", b"\nc"]);
        assert_eq!((p0, told), (vec![kv(0, None, Some("a\nb\nc"))], vec![]));
        let big = vec![b'x'; 200];
        let (p0, _, told) = run(RecordShape::default(), Framing::Raw, &[&big, &big]);
        assert_eq!(p0, []);
        let where_: Vec<(u64, &str)> = told.iter().map(|t| (t.2, t.3.as_str())).collect();
        assert_eq!(where_, [(1, "RawTooLarge { max: 300 }")]);
    }

    #[test]
    fn a_failed_producer_stops_the_reader_with_its_error() {
        let tmp = tempfile::tempdir().unwrap();
        let topic = Topics::new(tmp.path())
            .create("t", 1, BTreeMap::new())
            .unwrap();
        let config = ProducerConfig {
            batch_size: 150,
            ..ProducerConfig::default()
        };
        let mut producer = Producer::new(&topic, config);
        // Stop the sender as an error would: every later hand-over fails.
        producer.accumulator.finish().unwrap();
        while !producer.is_stopped() {
            std::thread::yield_now();
        }
        let mut reader = RecordReader::new(RecordShape::default(), lines(), 1000);
        let mut told = 0;
        let mut on_invalid = |_: Invalid<'_>| -> Result<(), Error> {
            told += 1;
            Ok(())
        };
        let line = [b'x'; 60];
        let r = reader.push(
            &[&line[..], b"\n"].concat(),
            "in",
            0,
            &mut producer,
            &mut on_invalid,
        );
        assert!(r.is_ok(), "one record only goes into a batch");
        // The second does not fit: its batch is handed over, and that fails.
        let r = reader.push(
            &[&line[..], b"\n"].concat(),
            "in",
            0,
            &mut producer,
            &mut on_invalid,
        );
        assert!(
            matches!(r, Err(Error::Internal("the writer stopped"))),
            "{r:?}"
        );
        assert_eq!(told, 0, "a failure is no invalid record");
    }
}
