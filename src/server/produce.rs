//! Produce and InitProducerId: batches from clients appended as they are.
//!
//! # Invariants
//! 1. A partition's records are exactly one v2 record batch that passes every check before
//!    anything is written: its framing and size, magic 2, CRC-32C, header fields that agree
//!    (records count = last offset delta + 1), every record decoding at offset delta 0, 1, …
//!    (compressed ones too, as Kafka's `LogValidator` checks them), no transactional or
//!    control batch (klog has no transactions), and `max.message.bytes`.
//! 2. The batch is appended as the client built it: the log sets its base offset, and, for
//!    a `LogAppendTime` topic, its max timestamp and CRC.
//! 3. An idempotent producer's retry of one of its last batches is answered with the
//!    offsets of the first append ([`super::idempotence`]).
//! 4. A partition's outcome never depends on another's: each gets its own error code.

use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::Event;
use super::broker::{Broker, error_chain};
use super::idempotence::{BatchMeta, Verdict};
use crate::Error;
use crate::format::{BatchHeader, DecodeError, RecordBatch, TimestampType};
use crate::topic::Topic;

/// A refused batch: the error code and a message for the client.
type Refusal = (i16, String);

fn invalid(msg: impl Into<String>) -> Refusal {
    (ResponseError::InvalidRecord.code(), msg.into())
}

/// Checks a produced partition's records (invariant 1); the header of its one batch.
pub fn validate(records: &[u8], topic: &Topic) -> Result<BatchHeader, Refusal> {
    let batch = RecordBatch::decode(records).map_err(|e| match e {
        DecodeError::CrcMismatch { .. } => (ResponseError::CorruptMessage.code(), e.to_string()),
        DecodeError::UnsupportedMagic { .. } => invalid(format!(
            "{e}: produce requests of version 3 and later carry magic 2 batches only"
        )),
        _ => (ResponseError::CorruptMessage.code(), e.to_string()),
    })?;
    let h = batch.header;
    if records.len() != h.size() {
        return Err(invalid(format!(
            "a produce request carries exactly one record batch per partition, not {} bytes \
             after the first",
            records.len() - h.size()
        )));
    }
    if h.is_transactional() {
        return Err((
            ResponseError::InvalidTxnState.code(),
            "klog serve has no transactions".into(),
        ));
    }
    if h.is_control() {
        return Err(invalid("control batches are written by the broker only"));
    }
    if h.records_count <= 0 || h.records_count as i64 != h.last_offset_delta as i64 + 1 {
        return Err(invalid(format!(
            "records count {} does not match last offset delta {}",
            h.records_count, h.last_offset_delta
        )));
    }
    let max = topic.config.max_message_bytes as usize;
    if records.len() > max {
        return Err((
            ResponseError::MessageTooLarge.code(),
            format!(
                "record batch of {} bytes is larger than max.message.bytes ({max})",
                records.len()
            ),
        ));
    }
    let mut scratch = Vec::new();
    let mut n: i64 = 0;
    let it = batch
        .records_in(&mut scratch)
        .map_err(|e| invalid(e.to_string()))?;
    for r in it {
        let r = r.map_err(|e| invalid(e.to_string()))?;
        if r.offset_delta as i64 != n {
            return Err(invalid(format!(
                "record {n} has offset delta {}",
                r.offset_delta
            )));
        }
        n += 1;
    }
    if n != h.records_count as i64 {
        return Err(invalid(format!(
            "batch says {} records, holds {n}",
            h.records_count
        )));
    }
    Ok(h)
}

fn partition_error(
    index: i32,
    code: i16,
    msg: Option<String>,
    version: i16,
) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_error_message(msg.filter(|_| version >= 8).map(StrBytes::from_string))
}

/// Appends one partition's batch.
fn produce_partition(
    broker: &Broker,
    topic: &Topic,
    index: i32,
    records: &[u8],
    version: i16,
) -> PartitionProduceResponse {
    if index < 0 || index as u32 >= topic.partitions {
        return partition_error(
            index,
            ResponseError::UnknownTopicOrPartition.code(),
            None,
            version,
        );
    }
    let h = match validate(records, topic) {
        Ok(h) => h,
        Err((code, msg)) => return partition_error(index, code, Some(msg), version),
    };
    let storage_error = |e: Error| {
        let code = super::error_code(&e);
        if code == ResponseError::KafkaStorageError.code() {
            broker.emit(Event::StorageError {
                what: format!("produce to {}-{index}", topic.name),
                reason: error_chain(&e),
            });
        }
        partition_error(index, code, Some(e.to_string()), version)
    };
    let writer = match broker.writer(topic, index as u32) {
        Ok(w) => w,
        Err(e) => return storage_error(e),
    };
    let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
    let log_append_time = w.log.config().message_timestamp_type == TimestampType::LogAppendTime;
    let meta = match w.producers.check(&h) {
        Verdict::Reject(code) => return partition_error(index, code, None, version),
        Verdict::Duplicate(m) => m,
        Verdict::Append => {
            let mut batch = records.to_vec();
            let info = match w.log.append(&mut batch) {
                Ok(i) => i,
                Err(e) => return storage_error(e),
            };
            let meta = BatchMeta {
                first_seq: h.base_sequence,
                last_seq: h.last_sequence(),
                base_offset: info.base_offset,
                last_offset: info.last_offset,
                max_timestamp: info.max_timestamp,
            };
            w.producers.record(&h, meta);
            w.dirty = true;
            broker.notify_append();
            meta
        }
    };
    let log_start = if version >= 5 {
        w.log.log_start_offset().unwrap_or(-1)
    } else {
        -1
    };
    PartitionProduceResponse::default()
        .with_index(index)
        .with_base_offset(meta.base_offset)
        .with_log_append_time_ms(if log_append_time {
            meta.max_timestamp
        } else {
            -1
        })
        .with_log_start_offset(log_start)
}

/// Answers a Produce request (the caller sends nothing back for `acks=0`).
pub fn produce(broker: &Arc<Broker>, req: ProduceRequest, version: i16) -> ProduceResponse {
    let refuse_all = if req.transactional_id.is_some() {
        Some(ResponseError::TransactionalIdAuthorizationFailed.code())
    } else if !matches!(req.acks, -1..=1) {
        Some(ResponseError::InvalidRequiredAcks.code())
    } else {
        None
    };
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for t in req.topic_data {
        let topic = match refuse_all {
            Some(_) => None,
            None => broker.topic(&t.name).ok().flatten(),
        };
        let code = refuse_all.unwrap_or(ResponseError::UnknownTopicOrPartition.code());
        let partitions = t
            .partition_data
            .iter()
            .map(|p| match (&topic, &p.records) {
                (Some(topic), Some(records)) => {
                    produce_partition(broker, topic, p.index, records, version)
                }
                (Some(_), None) => partition_error(
                    p.index,
                    ResponseError::InvalidRecord.code(),
                    Some("no records".into()),
                    version,
                ),
                (None, _) => partition_error(p.index, code, None, version),
            })
            .collect();
        responses.push(
            TopicProduceResponse::default()
                .with_name(t.name)
                .with_partition_responses(partitions),
        );
    }
    ProduceResponse::default().with_responses(responses)
}

/// Answers InitProducerId: a new producer id with epoch 0, or, for a producer that names its
/// own id and epoch (KIP-360), the same id with the next epoch.
pub fn init_producer_id(
    broker: &Arc<Broker>,
    req: InitProducerIdRequest,
    _version: i16,
) -> InitProducerIdResponse {
    let fail = |code: i16| {
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id((-1).into())
            .with_producer_epoch(-1)
    };
    if req.transactional_id.as_ref().is_some_and(|t| !t.is_empty()) {
        // No transaction coordinator: a transactional producer cannot work here.
        return fail(ResponseError::TransactionalIdAuthorizationFailed.code());
    }
    let (id, epoch) = if req.producer_id.0 >= 0 && (0..i16::MAX - 1).contains(&req.producer_epoch) {
        (req.producer_id.0, req.producer_epoch + 1)
    } else {
        match broker.next_producer_id() {
            Ok(id) => (id, 0),
            Err(e) => {
                broker.emit(Event::StorageError {
                    what: "producer id allocation".into(),
                    reason: error_chain(&e),
                });
                return fail(ResponseError::CoordinatorNotAvailable.code());
            }
        }
    };
    InitProducerIdResponse::default()
        .with_producer_id(id.into())
        .with_producer_epoch(epoch)
}
