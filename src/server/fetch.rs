//! Fetch: the segments' bytes as they are, with long polling.
//!
//! # Invariants
//! 1. Records are whole entries copied from the segment files, never decoded and re-encoded;
//!    the first is the one holding the fetch offset (a batch may start before it: clients
//!    skip the records below their offset, as with a Kafka broker).
//! 2. Limits (KIP-74): the response holds at most `max_bytes` and each partition at most its
//!    `partition_max_bytes`, except that the first entry of the response is always whole, so
//!    that a consumer makes progress past a batch larger than its limits.
//! 3. High watermark = last stable offset = the log end offset (one replica, no
//!    transactions), and never below the end of what the response holds.
//! 4. A fetch outside `[log start, log end]` gets OFFSET_OUT_OF_RANGE for that partition.
//! 5. Long polling: a fetch with fewer than `min_bytes` waits up to `max_wait_ms`, and looks
//!    again as soon as anything is appended (by this server or another process: see
//!    [`Broker::watch`]), or answers at once when the server stops or a partition has an
//!    error.
//! 6. No fetch sessions (KIP-227): every response has session id 0, so clients send full
//!    fetch requests; a request naming a session gets FETCH_SESSION_ID_NOT_FOUND.
//! 7. Every entry sent was read and checked by the log reader (framing, CRC, offsets): a
//!    damaged batch is reported with its file and position, never sent. A partition whose
//!    records come to at most [`INLINE_MAX`] bytes copies them into the response, once;
//!    a larger one hands them over as ranges of the files the reader read
//!    ([`FileRecords`]), which the connection sends with `sendfile` ([`super::fetch_frame`]).
//!
//! Each connection keeps a reader per partition it fetched, positioned after what it last
//! returned, so that a consumer reading on pays no index lookup per fetch, and remembering
//! the log end offset while the last segment file is unchanged
//! ([`LogReader::log_end_offset_memo`]).

use std::collections::HashMap;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};

use super::Event;
use super::broker::{Broker, error_chain};
use super::fetch_frame::{FileRecords, INLINE_MAX, Spliced};
use crate::error::{Error, Result};
use crate::storage::file_names::log_file;
use crate::storage::{Entry, LogReader};

/// Longest a fetch waits, whatever it asks for.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// Partitions whose reader a connection keeps; past this the cache starts over.
const MAX_CURSORS: usize = 4096;

struct Cursor {
    /// Inode of the partition directory it reads: a topic deleted and created again under
    /// the same name gets a new one, and a new reader.
    dir_ino: u64,
    reader: LogReader,
    /// The offset whose batch the reader's next `next_batch` returns, when known.
    next: Option<i64>,
}

/// A connection's fetch readers (see the module doc).
#[derive(Default)]
pub struct FetchState {
    cursors: HashMap<(String, u32), Cursor>,
}

/// One partition's answer, and the bytes it holds.
fn partition_data(index: i32, code: i16, hw: i64, log_start: i64) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(code)
        .with_high_watermark(hw)
        .with_last_stable_offset(hw)
        .with_log_start_offset(log_start)
        .with_aborted_transactions(None)
        .with_records(Some(Bytes::new()))
}

/// Appends the raw bytes of an entry the reader returned to `out`.
fn put_entry(
    out: &mut BytesMut,
    reader_dir: &std::path::Path,
    e: &crate::storage::BatchRef<'_>,
) -> Result<()> {
    match &e.batch {
        Entry::Batch(b) => out.extend_from_slice(b.as_bytes()),
        Entry::Legacy(m) => {
            // The reader hands out legacy messages decoded: read their bytes again.
            let path = log_file(reader_dir, e.segment_base);
            let f = crate::storage::fs::open_regular(&path)?;
            let at = out.len();
            out.resize(at + m.size, 0);
            f.read_exact_at(&mut out[at..], e.position)
                .map_err(Error::io("read", &path))?;
        }
    }
    Ok(())
}

struct Budget {
    /// Bytes left for the whole response.
    left: usize,
    /// Whether nothing was put in the response yet (invariant 2).
    first: bool,
}

/// Reads one partition from `offset`: its answer, and its records when they stay in the
/// files (invariant 7).
#[allow(clippy::too_many_arguments)]
fn read_partition(
    broker: &Arc<Broker>,
    state: &mut FetchState,
    topic: &crate::topic::Topic,
    index: i32,
    offset: i64,
    partition_max: usize,
    budget: &mut Budget,
) -> Result<(PartitionData, Option<FileRecords>)> {
    let p = index as u32;
    let key = (topic.name.clone(), p);
    let dir = topic.partition_dir(p);
    let ino = std::fs::metadata(&dir).map_or(0, |m| m.ino());
    if state.cursors.get(&key).is_some_and(|c| c.dir_ino != ino) {
        state.cursors.remove(&key);
    }
    if !state.cursors.contains_key(&key) {
        let Some(reader) = topic.open_reader(p)? else {
            // No directory yet: an empty log.
            let code = if offset == 0 {
                0
            } else {
                ResponseError::OffsetOutOfRange.code()
            };
            return Ok((partition_data(index, code, 0, 0), None));
        };
        if state.cursors.len() >= MAX_CURSORS {
            state.cursors.clear();
        }
        broker.watch(&dir);
        state.cursors.insert(
            key.clone(),
            Cursor {
                dir_ino: ino,
                reader,
                next: None,
            },
        );
    }
    let Some(c) = state.cursors.get_mut(&key) else {
        return Err(Error::Internal("fetch cursor vanished"));
    };
    let mut leo = c.reader.log_end_offset_memo()?;
    if offset > leo {
        // Never out of range on a remembered end that may lag.
        leo = c.reader.log_end_offset()?;
    }
    let log_start = c.reader.log_start_offset();
    if offset < log_start || offset > leo {
        let code = ResponseError::OffsetOutOfRange.code();
        return Ok((partition_data(index, code, leo, log_start), None));
    }
    let mut hw = leo;
    // The entries, copied while they fit in INLINE_MAX, and where they are in the files.
    let mut inline = BytesMut::new();
    let mut files = FileRecords::default();
    let mut total = 0;
    if offset < leo {
        if c.next != Some(offset) {
            c.reader.seek(offset)?;
        }
        c.next = Some(offset);
        let limit = partition_max.min(budget.left);
        loop {
            // After an entry of this partition (the reader stands right after it, with no
            // batch below the fetch offset left to skip), one that cannot fit is not read
            // (whole: up to 1 MiB or more): the reader stays before it, where the next fetch
            // goes on without a seek.
            if total > 0
                && let Some(size) = c.reader.next_entry_size()?
                && total + size as usize > limit
            {
                break;
            }
            let Some(e) = c.reader.next_batch()? else {
                break;
            };
            let size = match &e.batch {
                Entry::Batch(b) => b.header.size(),
                Entry::Legacy(m) => m.size,
            };
            let next = e.batch.next_offset();
            if !(budget.first || total + size <= limit) {
                // Read past, not sent: the next fetch seeks.
                c.next = None;
                break;
            }
            let position = e.position;
            if total + size <= INLINE_MAX {
                if inline.is_empty() {
                    inline.reserve(if next < leo {
                        limit.min(INLINE_MAX).max(size)
                    } else {
                        size
                    });
                }
                put_entry(&mut inline, &dir, &e)?;
            }
            let Some((file, path)) = c.reader.current_file() else {
                return Err(Error::Internal("fetch reader without a file"));
            };
            files.push(file, path, position, size as u64);
            total += size;
            budget.first = false;
            c.next = Some(next);
            hw = hw.max(next);
            if total >= limit {
                break;
            }
        }
        budget.left = budget.left.saturating_sub(total);
    }
    let data = partition_data(index, 0, hw, log_start);
    Ok(if total <= INLINE_MAX {
        (data.with_records(Some(inline.freeze())), None)
    } else {
        (data, Some(files))
    })
}

/// One pass over every partition of the request.
struct Pass {
    resp: FetchResponse,
    /// The records that stay in the files, and where they go in `resp`.
    files: Spliced,
    /// Record bytes in all.
    total: usize,
    any_error: bool,
}

/// One pass over every partition of the request.
fn read_all(broker: &Arc<Broker>, state: &mut FetchState, req: &FetchRequest) -> Pass {
    let mut budget = Budget {
        left: req.max_bytes.max(0) as usize,
        first: true,
    };
    let mut total = 0;
    let mut any_error = false;
    let mut files = Spliced::new();
    let mut responses = Vec::with_capacity(req.topics.len());
    for (ti, t) in req.topics.iter().enumerate() {
        let topic = broker.topic(&t.topic).ok().flatten();
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for (pi, fp) in t.partitions.iter().enumerate() {
            let data = match &topic {
                Some(topic) if fp.partition >= 0 && (fp.partition as u32) < topic.partitions => {
                    match read_partition(
                        broker,
                        state,
                        topic,
                        fp.partition,
                        fp.fetch_offset,
                        fp.partition_max_bytes.max(0) as usize,
                        &mut budget,
                    ) {
                        Ok((d, None)) => d,
                        Ok((d, Some(f))) => {
                            total += f.len as usize;
                            files.push(((ti, pi), f));
                            d
                        }
                        Err(e) => {
                            broker.emit(Event::StorageError {
                                what: format!("fetch from {}-{}", t.topic.as_str(), fp.partition),
                                reason: error_chain(&e),
                            });
                            state
                                .cursors
                                .remove(&(t.topic.to_string(), fp.partition as u32));
                            partition_data(
                                fp.partition,
                                ResponseError::KafkaStorageError.code(),
                                -1,
                                -1,
                            )
                        }
                    }
                }
                _ => partition_data(
                    fp.partition,
                    ResponseError::UnknownTopicOrPartition.code(),
                    -1,
                    -1,
                ),
            };
            any_error |= data.error_code != 0;
            total += data.records.as_ref().map_or(0, Bytes::len);
            partitions.push(data);
        }
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_topic_id(t.topic_id)
                .with_partitions(partitions),
        );
    }
    Pass {
        resp: FetchResponse::default().with_responses(responses),
        files,
        total,
        any_error,
    }
}

/// Fetch v4 has no log start offset: it stays at its default.
fn without_log_start(mut resp: FetchResponse) -> FetchResponse {
    for t in &mut resp.responses {
        for p in &mut t.partitions {
            p.log_start_offset = -1;
        }
    }
    resp
}

/// Answers a Fetch request, waiting as invariant 5 says: the response, and the records of
/// it that stay in the files.
pub async fn fetch(
    broker: &Arc<Broker>,
    mut state: Box<FetchState>,
    req: FetchRequest,
    version: i16,
) -> std::result::Result<(FetchResponse, Spliced, Box<FetchState>), String> {
    if version >= 7 && (req.session_id != 0 || req.session_epoch > 0) {
        let resp = FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code())
            .with_session_id(0);
        return Ok((resp, Spliced::new(), state));
    }
    let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let min_bytes = req.min_bytes.max(0) as usize;
    let mut appends = broker.appends();
    let mut stop = broker.stop_signal();
    let req = Arc::new(req);
    loop {
        appends.borrow_and_update();
        let (b, r) = (broker.clone(), req.clone());
        let (pass, st) = tokio::task::spawn_blocking(move || {
            let pass = read_all(&b, &mut state, &r);
            (pass, state)
        })
        .await
        .map_err(|e| format!("the fetch failed: {e}"))?;
        state = st;
        if pass.total >= min_bytes
            || pass.any_error
            || broker.stopping()
            || tokio::time::Instant::now() >= deadline
        {
            let resp = if version < 5 {
                without_log_start(pass.resp)
            } else {
                pass.resp
            };
            return Ok((resp, pass.files, state));
        }
        tokio::select! {
            _ = appends.changed() => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = stop.changed() => {}
        }
    }
}
