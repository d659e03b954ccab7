//! ListOffsets: a partition's offsets by position or by time.
//!
//! - `-2` (earliest) and `-4` (earliest local): the log start offset;
//! - `-1` (latest): the log end offset;
//! - `-3` (max timestamp, KIP-734): the first record with the largest timestamp, found by a
//!   scan of the batch headers and then of the one batch that holds it;
//! - a time `T ≥ 0`: the first record whose timestamp is ≥ T (as `klog consume -o @T`
//!   starts), with that record's timestamp, or offset -1 when no record is that recent.

use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::Event;
use super::broker::{Broker, error_chain};
use crate::error::Result;
use crate::storage::{Entry, LogReader};

pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL: i64 = -4;

/// The timestamp of the record at `offset` (-1 if it has none or is gone).
fn timestamp_at(reader: &mut LogReader, offset: i64) -> Result<i64> {
    reader.seek(offset)?;
    let Some(e) = reader.next_batch()? else {
        return Ok(-1);
    };
    Ok(match &e.batch {
        Entry::Legacy(m) => m.timestamp,
        Entry::Batch(b) => {
            let mut scratch = Vec::new();
            let mut ts = -1;
            if let Ok(records) = b.records_in(&mut scratch) {
                for r in records.flatten() {
                    if b.offset_of(&r) == offset {
                        ts = b.timestamp_of(&r);
                        break;
                    }
                }
            }
            ts
        }
    })
}

/// The first record with the largest timestamp: `(timestamp, offset)`, or `(-1, -1)`.
fn max_timestamp(reader: &mut LogReader) -> Result<(i64, i64)> {
    let start = reader.log_start_offset();
    reader.seek(start)?;
    let mut best: Option<(i64, i64)> = None; // (timestamp, base offset of its entry)
    while let Some(e) = reader.next_batch()? {
        let (ts, at) = match &e.batch {
            Entry::Legacy(m) => (m.timestamp, m.offset),
            Entry::Batch(b) => (b.header.max_timestamp, b.header.base_offset),
        };
        if best.is_none_or(|(t, _)| ts > t) {
            best = Some((ts, at));
        }
    }
    let Some((ts, at)) = best else {
        return Ok((-1, -1));
    };
    // The record within the batch.
    reader.seek(at.max(start))?;
    if let Some(e) = reader.next_batch()?
        && let Entry::Batch(b) = &e.batch
    {
        let mut scratch = Vec::new();
        if let Ok(records) = b.records_in(&mut scratch) {
            for r in records.flatten() {
                let o = b.offset_of(&r);
                if o >= start && b.timestamp_of(&r) == ts {
                    return Ok((ts, o));
                }
            }
        }
        return Ok((ts, b.header.last_offset()));
    }
    Ok((ts, at))
}

/// `(timestamp, offset)` for one partition and one query.
fn lookup(reader: Option<LogReader>, timestamp: i64) -> Result<Result<(i64, i64), i16>> {
    let Some(mut r) = reader else {
        // No directory yet: an empty log.
        return Ok(Ok(match timestamp {
            EARLIEST | EARLIEST_LOCAL | LATEST => (-1, 0),
            _ => (-1, -1),
        }));
    };
    Ok(Ok(match timestamp {
        EARLIEST | EARLIEST_LOCAL => {
            let leo = r.log_end_offset()?;
            (-1, r.log_start_offset().min(leo))
        }
        LATEST => (-1, r.log_end_offset()?),
        MAX_TIMESTAMP => max_timestamp(&mut r)?,
        t if t >= 0 => match r.offset_for_timestamp(t)? {
            Some(o) => (timestamp_at(&mut r, o)?, o),
            None => (-1, -1),
        },
        _ => return Ok(Err(ResponseError::InvalidRequest.code())),
    }))
}

pub fn list_offsets(
    broker: &Arc<Broker>,
    req: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let topic = broker.topic(&t.name).ok().flatten();
        let partitions = t
            .partitions
            .iter()
            .map(|p| {
                let resp = ListOffsetsPartitionResponse::default()
                    .with_partition_index(p.partition_index)
                    .with_timestamp(-1)
                    .with_offset(-1)
                    .with_leader_epoch(if version >= 4 { 0 } else { -1 });
                let Some(topic) = topic.as_ref().filter(|tp| {
                    p.partition_index >= 0 && (p.partition_index as u32) < tp.partitions
                }) else {
                    return resp
                        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        .with_leader_epoch(-1);
                };
                let found = topic
                    .open_reader(p.partition_index as u32)
                    .and_then(|r| lookup(r, p.timestamp));
                match found {
                    Ok(Ok((ts, offset))) => resp.with_timestamp(ts).with_offset(offset),
                    Ok(Err(code)) => resp.with_error_code(code),
                    Err(e) => {
                        broker.emit(Event::StorageError {
                            what: format!("list offsets of {}-{}", topic.name, p.partition_index),
                            reason: error_chain(&e),
                        });
                        resp.with_error_code(ResponseError::KafkaStorageError.code())
                    }
                }
            })
            .collect();
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    ListOffsetsResponse::default().with_topics(topics)
}
