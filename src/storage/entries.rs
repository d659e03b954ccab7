//! The records of a log entry, whatever its format: one iterator over a v2 batch and a legacy
//! (magic 0 or 1) message alike, so that readers (`consume`, `segments dump`, the group
//! offsets of a broker) never branch on the format themselves.
//!
//! [`Entry::records_in`] hands out [`LogRecord`]s with their absolute offset and timestamp
//! resolved, their timestamp type, key, value, headers and whether they are control records.
//! A compressed entry (a v2 batch, or a legacy wrapper) is decompressed into a caller's
//! scratch buffer, never more than [`DECOMPRESS_LIMIT`] bytes; keys and values borrow from
//! that buffer or from the entry, never copied.
//!
//! # Invariants
//! 1. The records come in the order the entry holds them, with the offsets and timestamps
//!    [`RecordBatch::offset_of`], [`RecordBatch::timestamp_of`] and
//!    [`legacy::records`] give; a decode error ends the iteration (after the error).
//! 2. Nothing here reads a file: the entry's bytes are already in memory (see
//!    [`super::LogReader`]).

use std::ops::ControlFlow;

use super::reader::Entry;
use crate::format::batch::Records;
use crate::format::legacy::{self, LegacyRecordRef};
use crate::format::{DECOMPRESS_LIMIT, DecodeError, Header, Record, RecordBatch, TimestampType};

/// A record of any entry, as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord<'a> {
    pub offset: i64,
    pub timestamp: i64,
    /// `None` for a magic 0 message, which has no timestamp (Kafka's `NoTimestampType`).
    pub timestamp_type: Option<TimestampType>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Always empty for a legacy message.
    pub headers: Vec<Header<'a>>,
    /// A control record (a transaction marker): not data for consumers.
    pub is_control: bool,
}

impl LogRecord<'_> {
    /// `CreateTime`, `LogAppendTime`, or `NoTimestampType` (magic 0), as Kafka's tools print it.
    #[inline(always)]
    pub fn timestamp_type_name(&self) -> &'static str {
        self.timestamp_type
            .map_or("NoTimestampType", TimestampType::name)
    }
}

/// The records of one [`Entry`] (see [`Entry::records_in`]).
pub struct EntryRecords<'s> {
    inner: Inner<'s>,
}

enum Inner<'s> {
    Batch {
        batch: RecordBatch<'s>,
        records: Records<'s>,
        /// The batch's, for each record.
        timestamp_type: Option<TimestampType>,
        is_control: bool,
    },
    Legacy(std::vec::IntoIter<LegacyRecordRef<'s>>),
}

impl<'a> Entry<'a> {
    /// Iterates the records of the entry, decompressing a compressed one into `scratch`
    /// (bounded by [`DECOMPRESS_LIMIT`]). Errors are positioned relative to the entry (for a
    /// compressed v2 batch, to the start of its records section), as
    /// [`RecordBatch::records_in`] positions them.
    #[inline]
    pub fn records_in<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<EntryRecords<'s>, DecodeError>
    where
        'a: 's,
    {
        let inner = match self {
            Entry::Batch(batch) => Inner::Batch {
                batch: *batch,
                records: batch.records_in(scratch)?,
                timestamp_type: Some(batch.header.timestamp_type()),
                is_control: batch.header.is_control(),
            },
            Entry::Legacy(m) => {
                Inner::Legacy(legacy::records_in(m, scratch, DECOMPRESS_LIMIT)?.into_iter())
            }
        };
        Ok(EntryRecords { inner })
    }

    /// Whether this is a control batch (transaction markers): no records for consumers.
    pub fn is_control(&self) -> bool {
        matches!(self, Entry::Batch(b) if b.header.is_control())
    }

    /// The timestamp type of every record of the entry (`None`: a magic 0 message, which has
    /// no timestamp).
    pub fn timestamp_type(&self) -> Option<TimestampType> {
        match self {
            Entry::Batch(b) => Some(b.header.timestamp_type()),
            Entry::Legacy(m) => m.timestamp_type(),
        }
    }

    /// [`LogRecord::timestamp_type_name`] of every record of the entry.
    pub fn timestamp_type_name(&self) -> &'static str {
        self.timestamp_type()
            .map_or("NoTimestampType", TimestampType::name)
    }

    /// Bytes the entry takes in the log.
    pub fn size(&self) -> usize {
        match self {
            Entry::Batch(b) => b.header.size(),
            Entry::Legacy(m) => m.size,
        }
    }
}

/// A record of a v2 batch, resolved against it.
#[inline(always)]
fn v2_record<'s>(
    batch: &RecordBatch<'_>,
    r: Record<'s>,
    timestamp_type: Option<TimestampType>,
    is_control: bool,
) -> LogRecord<'s> {
    LogRecord {
        offset: batch.offset_of(&r),
        timestamp: batch.timestamp_of(&r),
        timestamp_type,
        key: r.key,
        value: r.value,
        headers: r.headers,
        is_control,
    }
}

/// A message of a legacy entry.
#[inline(always)]
fn legacy_record(r: LegacyRecordRef<'_>) -> LogRecord<'_> {
    LogRecord {
        offset: r.offset,
        timestamp: r.timestamp,
        timestamp_type: r.timestamp_type,
        key: r.key,
        value: r.value,
        headers: Vec::new(),
        is_control: false,
    }
}

impl<'s> Iterator for EntryRecords<'s> {
    type Item = Result<LogRecord<'s>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Batch {
                batch,
                records,
                timestamp_type,
                is_control,
            } => Some(
                records
                    .next()?
                    .map(|r| v2_record(batch, r, *timestamp_type, *is_control)),
            ),
            Inner::Legacy(records) => records.next().map(|r| Ok(legacy_record(r))),
        }
    }
}

impl<'s> EntryRecords<'s> {
    /// Calls `f` with each remaining record (or decode error) in order until it breaks:
    /// what iterating gives, with the format looked at once per entry rather than once per
    /// record, for readers that go through every record of every entry (`consume`). Inlined,
    /// so that `f` is compiled into the loop of each format.
    #[inline(always)]
    pub fn try_for_each_record<B>(
        self,
        mut f: impl FnMut(Result<LogRecord<'s>, DecodeError>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        match self.inner {
            Inner::Batch {
                batch,
                records,
                timestamp_type,
                is_control,
            } => {
                for r in records {
                    f(r.map(|r| v2_record(&batch, r, timestamp_type, is_control)))?;
                }
            }
            Inner::Legacy(records) => {
                for r in records {
                    f(Ok(legacy_record(r)))?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Calls `f` with the value of each remaining record, in order: what iterating and taking
    /// `record.value` gives, errors included, but for a v2 batch without decoding the other
    /// fields of records that have no headers (see [`Records::try_for_each_value`]).
    #[inline]
    pub fn try_for_each_value(
        self,
        mut f: impl FnMut(Option<&'s [u8]>),
    ) -> Result<(), DecodeError> {
        match self.inner {
            Inner::Batch { records, .. } => records.try_for_each_value(f),
            Inner::Legacy(records) => {
                records.for_each(|r| f(r.value));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::legacy::LegacyMessage;
    use crate::format::{BatchBuilder, Compression, compression};

    fn legacy_message(offset: i64, magic: i8, attrs: i8, ts: i64, value: &[u8]) -> Vec<u8> {
        let mut body = vec![magic as u8, attrs as u8];
        if magic == 1 {
            body.extend_from_slice(&ts.to_be_bytes());
        }
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&(value.len() as i32).to_be_bytes());
        body.extend_from_slice(value);
        let mut out = offset.to_be_bytes().to_vec();
        out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn values(records: EntryRecords<'_>) -> Vec<(i64, i64, Option<Vec<u8>>)> {
        records
            .map(|r| {
                let r = r.unwrap();
                (r.offset, r.timestamp, r.value.map(<[u8]>::to_vec))
            })
            .collect()
    }

    /// A v2 batch, compressed or not, gives what its own records iterator gives, with offsets
    /// and timestamps resolved against the batch; the value-only walk agrees.
    #[test]
    fn v2_batches_give_their_records() {
        for codec in [Compression::None, Compression::Zstd] {
            let mut b = BatchBuilder::new();
            b.append(1000, Some(b"k"), Some(b"a"), &[]);
            b.append(
                1002,
                None,
                None,
                &[Header {
                    key: b"h",
                    value: Some(b"v"),
                }],
            );
            let mut bytes = b.finish();
            crate::format::batch::set_base_offset(&mut bytes, 40);
            let mut batch = bytes.clone();
            if codec != Compression::None {
                batch.clear();
                crate::format::batch::compress_batch(&bytes, codec, &mut batch);
            }
            let entry = Entry::Batch(RecordBatch::decode(&batch).unwrap());
            let mut scratch = Vec::new();
            let all: Vec<LogRecord<'_>> = entry
                .records_in(&mut scratch)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(all.len(), 2);
            assert_eq!((all[0].offset, all[0].timestamp), (40, 1000));
            assert_eq!((all[1].offset, all[1].timestamp), (41, 1002));
            assert_eq!(all[0].key, Some(&b"k"[..]));
            assert_eq!(all[1].value, None);
            assert_eq!(
                all[1].headers,
                vec![Header {
                    key: b"h",
                    value: Some(b"v")
                }]
            );
            assert_eq!(all[0].timestamp_type_name(), "CreateTime");
            assert!(!all[0].is_control && !entry.is_control());
            let mut seen = Vec::new();
            let mut scratch = Vec::new();
            entry
                .records_in(&mut scratch)
                .unwrap()
                .try_for_each_value(|v| seen.push(v.map(<[u8]>::to_vec)))
                .unwrap();
            assert_eq!(seen, vec![Some(b"a".to_vec()), None]);
        }
    }

    /// The internal iteration gives what the iterator gives, and stops where `f` breaks.
    #[test]
    fn try_for_each_record_is_the_iteration() {
        let mut b = BatchBuilder::new();
        for i in 0..5 {
            b.append(100 + i, None, Some(format!("v{i}").as_bytes()), &[]);
        }
        let bytes = b.finish();
        let entry = Entry::Batch(RecordBatch::decode(&bytes).unwrap());
        let mut scratch = Vec::new();
        let all: Vec<LogRecord<'_>> = entry
            .records_in(&mut scratch)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut scratch = Vec::new();
        let mut seen = Vec::new();
        let flow = entry
            .records_in(&mut scratch)
            .unwrap()
            .try_for_each_record(|r| {
                let r = r.unwrap();
                if r.offset == 3 {
                    return ControlFlow::Break(r.timestamp);
                }
                seen.push(r);
                ControlFlow::Continue(())
            });
        assert_eq!(flow, ControlFlow::Break(103));
        assert_eq!(seen, all[..3]);
        let plain = legacy_message(7, 1, 0, 5, b"v");
        let entry = Entry::Legacy(LegacyMessage::decode(&plain).unwrap());
        let mut n = 0;
        let flow = entry
            .records_in(&mut Vec::new())
            .unwrap()
            .try_for_each_record(|r| {
                assert_eq!(r.unwrap().value, Some(&b"v"[..]));
                n += 1;
                ControlFlow::<()>::Continue(())
            });
        assert_eq!((flow, n), (ControlFlow::Continue(()), 1));
        assert_eq!(entry.timestamp_type_name(), "CreateTime");
    }

    /// A legacy message is one record; a compressed wrapper gives its inner messages with
    /// absolute offsets, borrowed from the scratch buffer; magic 0 has no timestamp type.
    #[test]
    fn legacy_entries_give_their_records() {
        let plain = legacy_message(7, 0, 0, -1, b"v");
        let entry = Entry::Legacy(LegacyMessage::decode(&plain).unwrap());
        let mut scratch = Vec::new();
        let rec = entry
            .records_in(&mut scratch)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(
            (rec.offset, rec.timestamp, rec.value),
            (7, -1, Some(&b"v"[..]))
        );
        assert_eq!(rec.timestamp_type_name(), "NoTimestampType");
        assert!(rec.headers.is_empty() && !rec.is_control);

        let mut set = Vec::new();
        for i in 0..3 {
            set.extend(legacy_message(
                i,
                1,
                0,
                5000 + i,
                format!("v{i}").as_bytes(),
            ));
        }
        let mut compressed = Vec::new();
        compression::compress(Compression::Gzip, &set, &mut compressed);
        let wrapper = legacy_message(102, 1, Compression::Gzip.id() as i8, 9999, &compressed);
        let entry = Entry::Legacy(LegacyMessage::decode(&wrapper).unwrap());
        let mut scratch = Vec::new();
        assert_eq!(
            values(entry.records_in(&mut scratch).unwrap()),
            vec![
                (100, 5000, Some(b"v0".to_vec())),
                (101, 5001, Some(b"v1".to_vec())),
                (102, 5002, Some(b"v2".to_vec())),
            ]
        );
        let LegacyRecordRef { timestamp_type, .. } = legacy::records_in(
            &LegacyMessage::decode(&wrapper).unwrap(),
            &mut Vec::new(),
            DECOMPRESS_LIMIT,
        )
        .unwrap()[0];
        assert_eq!(timestamp_type, Some(TimestampType::CreateTime));
        // The owned records are the borrowed ones, copied.
        let owned =
            legacy::records(&LegacyMessage::decode(&wrapper).unwrap(), DECOMPRESS_LIMIT).unwrap();
        assert_eq!(owned.len(), 3);
        assert_eq!(owned[2].value.as_deref(), Some(&b"v2"[..]));
    }

    /// A batch whose records do not decode fails the iteration, never hands out a record
    /// at a wrong offset.
    #[test]
    fn a_damaged_record_is_an_error() {
        let mut b = BatchBuilder::new();
        b.append(1, None, Some(b"a"), &[]);
        b.append(2, None, Some(b"b"), &[]);
        let mut bytes = b.finish();
        // The last record's header count (its last byte) made 1, with no header after it;
        // then the CRC fixed up.
        let n = bytes.len();
        bytes[n - 1] = 0x02;
        let crc = crate::format::batch::compute_crc(&bytes);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let entry = Entry::Batch(RecordBatch::decode(&bytes).unwrap());
        let mut scratch = Vec::new();
        let got: Vec<_> = entry.records_in(&mut scratch).unwrap().collect();
        assert!(got.iter().any(Result::is_err), "{got:?}");
        assert!(got.iter().flatten().all(|r| r.offset == 0));
    }
}
