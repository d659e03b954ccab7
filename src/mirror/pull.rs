//! `mirror pull`: the data directory as a follower replica of topics on any Kafka-protocol
//! broker. Each partition is fetched from its leader from the local log end on, and every
//! fetched batch is appended as it is, at its own offsets ([`Log::append_replica`]).
//!
//! # Invariants
//! 1. The local log is a copy of the source's: the same batches (bytes, CRCs) at the same
//!    offsets, gaps included (a compacted source), and the same log start once the source's
//!    has moved (retention or delete-records on the source trims the local log too).
//! 2. Before appending to a partition that has data, the pull checks that the source still
//!    has it: the source's log must reach the local end, and its batch at the last local
//!    batch's offset must be the same batch (offsets and CRC). Otherwise the partition has
//!    diverged (an unclean leader election, a source recreated): [`Error::Diverged`] names
//!    the partition and both offsets, unless truncation was asked for; then the local log is
//!    cut back to the last batch both have (a binary search over the local batches, each
//!    compared with the source's), as a Kafka follower does with leader epochs.
//! 3. When the source's log start is past the local end (retention went further than the
//!    copy), the local partition is emptied and started at the source's log start
//!    ([`Log::truncate_fully_and_start_at`]), and that is reported.
//! 4. A fetch error that may pass (a leader change, a broker restart, a lost connection) is
//!    retried after a Metadata refresh with backoff; a topic that no longer exists on the
//!    source, or any other error, stops the pull with one line naming the broker.
//! 5. Pipelined: the batches of one fetch response are appended on a blocking thread while
//!    the next fetch (asked from the ends just past them) is on the wire; that next response
//!    is gone through only once those appends are done, so at most two responses are held
//!    (one being appended, one arriving) and a log's operations keep their order. Appended
//!    batches are written from the response's buffer (no copy), and nothing is flushed per
//!    batch: the topic's flush policy applies, and the pull flushes every log at its end.
//!
//! # Crash safety
//! Nothing but the local logs: a killed pull leaves at most a torn last batch, which the next
//! writer's recovery cuts, and the next pull resumes from the log end. Nothing is missing or
//! doubled: offsets are the source's, and an offset below the log end is never appended. A
//! pull stopped by an error waits for the appends under way first: the local ends it reports
//! are on disk (in the page cache) when it returns.
//!
//! # Kafka
//! `ReplicaFetcherThread` / `AbstractFetcherThread` (fetch from the leader, append as
//! follower, `truncateFullyAndStartAt` on an out-of-range fetch, truncation on divergence),
//! `Partition.appendRecordsToFollowerOrFutureReplica` (a first batch that starts below the
//! log start).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeConfigsRequest, FetchRequest, ListOffsetsRequest, TopicName,
    describe_configs_request::DescribeConfigsResource,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::Error;
use super::client::{Backoff, Client, whole_batches};
use crate::storage::{ChunkReader, Log, LogConfig, RawAt, list_segments};
use crate::topic::{Topic, Topics};

/// What to pull, and how.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Bootstrap brokers, `host:port`.
    pub from: Vec<String>,
    /// TLS and SASL of the connections to the source.
    pub security: super::security::Security,
    /// Topics to pull; with `all`, every topic of the source but its internal ones.
    pub topics: Vec<String>,
    pub all: bool,
    /// Keep following (long-poll fetches) until `stop` is set.
    pub follow: bool,
    /// Cut the local log back to the last batch it shares with the source on divergence.
    pub truncate_on_divergence: bool,
    /// After copying, compare each partition's last batch with the source's.
    pub verify: bool,
    /// Say what would be created and copied, change nothing.
    pub dry_run: bool,
    /// How long a fetch waits for new records when following.
    pub follow_wait: Duration,
    /// How long retriable errors are retried before the pull stops.
    pub retry_for: Duration,
    /// Most bytes asked per partition per fetch (Kafka's `max.partition.fetch.bytes`, 1 MiB by
    /// default as there: larger responses measured slower here, each copy of a response
    /// leaving the CPU caches).
    pub partition_max_bytes: i32,
}

impl PullOptions {
    pub fn new(from: Vec<String>) -> PullOptions {
        PullOptions {
            from,
            security: super::security::Security::default(),
            topics: Vec::new(),
            all: false,
            follow: false,
            truncate_on_divergence: false,
            verify: false,
            dry_run: false,
            follow_wait: Duration::from_millis(500),
            retry_for: Duration::from_secs(30),
            partition_max_bytes: 1 << 20,
        }
    }
}

/// What happens during a pull, for progress and notes.
#[derive(Debug, Clone)]
pub enum Event {
    /// A local topic created like the source's.
    TopicCreated {
        topic: String,
        partitions: u32,
        configs: BTreeMap<String, String>,
        /// Source configs klog does not have, not copied.
        skipped: Vec<String>,
    },
    /// A partition about to be copied: from the local end to the source's end now.
    Started {
        topic: String,
        partition: u32,
        local_end: i64,
        source_end: i64,
    },
    /// The source's log start was past the local end: the partition starts again there.
    LogStartMoved {
        topic: String,
        partition: u32,
        local_end: i64,
        source_start: i64,
    },
    /// Divergence repaired: the local log was cut back.
    Truncated {
        topic: String,
        partition: u32,
        from: i64,
        to: i64,
    },
    /// Batches appended to a partition.
    Appended {
        topic: String,
        partition: u32,
        local_end: i64,
        source_end: i64,
        bytes: u64,
        records: u64,
    },
    /// A partition's last batch is the source's.
    Verified {
        topic: String,
        partition: u32,
        offset: i64,
    },
}

/// One partition's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PartitionSummary {
    pub topic: String,
    pub partition: u32,
    /// The local log end before and after.
    pub from_offset: i64,
    pub to_offset: i64,
    /// The source's log end (high watermark) last seen.
    pub source_end: i64,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
    /// Whether the last batch was compared with the source's (`--verify`).
    pub verified: bool,
}

/// A pull's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullSummary {
    pub source: String,
    pub created_topics: Vec<String>,
    pub partitions: Vec<PartitionSummary>,
    pub dry_run: bool,
}

impl PullSummary {
    pub fn records(&self) -> u64 {
        self.partitions.iter().map(|p| p.records).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.partitions.iter().map(|p| p.bytes).sum()
    }
    pub fn batches(&self) -> u64 {
        self.partitions.iter().map(|p| p.batches).sum()
    }
}

/// A partition being pulled.
struct Part {
    topic: String,
    partition: u32,
    log: Option<Log>,
    /// Local log end and log start.
    end: i64,
    local_start: i64,
    /// Where a non-following pull stops: the source's end when it started.
    target: i64,
    done: bool,
    max_bytes: i32,
    summary: PartitionSummary,
}

/// Pulls the topics `opts` names from the source into `topics`' directory.
pub async fn pull(
    topics: &Topics,
    opts: &PullOptions,
    stop: Arc<AtomicBool>,
    on_event: &mut dyn FnMut(Event),
) -> Result<PullSummary, Error> {
    let mut client = Client::connect(&opts.from, &opts.security).await?;
    client.retry_for = opts.retry_for;
    let source = client.any().await?.broker().to_string();
    let names = source_topics(&mut client, opts).await?;
    let mut summary = PullSummary {
        source: source.clone(),
        dry_run: opts.dry_run,
        ..PullSummary::default()
    };
    let mut parts = Vec::new();
    for name in &names {
        let count = client.topics.get(name).map_or(0, |t| t.leaders.len()) as u32;
        let local = match topics.open(name) {
            Ok(t) => {
                if t.partitions < count {
                    return Err(Error::Invalid(format!(
                        "local topic '{name}' has {} partitions, the source's {count}: \
                         `klog topics alter {name} --partitions {count}` first",
                        t.partitions
                    )));
                }
                Some(t)
            }
            Err(crate::Error::TopicNotFound(_)) => {
                let (configs, skipped) = source_configs(&mut client, name).await?;
                summary.created_topics.push(name.clone());
                on_event(Event::TopicCreated {
                    topic: name.clone(),
                    partitions: count,
                    configs: configs.clone(),
                    skipped,
                });
                if opts.dry_run {
                    None
                } else {
                    Some(topics.create(name, count, configs)?)
                }
            }
            Err(e) => return Err(e.into()),
        };
        for p in 0..count {
            parts.push(open_part(local.as_ref(), name, p)?);
        }
    }
    for part in &mut parts {
        prepare(&mut client, opts, part, on_event).await?;
    }
    if !opts.dry_run {
        fetch_loop(&mut client, opts, &mut parts, &stop, on_event).await?;
        if opts.verify {
            for part in &mut parts {
                verify_last_batch(&mut client, part).await?;
                on_event(Event::Verified {
                    topic: part.topic.clone(),
                    partition: part.partition,
                    offset: part.end,
                });
            }
        }
    }
    for mut part in parts {
        if let Some(log) = &mut part.log {
            log.flush()?;
        }
        part.summary.to_offset = if opts.dry_run {
            part.target.max(part.end)
        } else {
            part.end
        };
        summary.partitions.push(part.summary);
    }
    Ok(summary)
}

/// The source topics to pull: the ones named (each must exist), or every one but internal
/// ones and names starting with `__`.
async fn source_topics(client: &mut Client, opts: &PullOptions) -> Result<Vec<String>, Error> {
    let m = client.refresh(&opts.topics).await?;
    let broker = client.any().await?.broker().to_string();
    if opts.all {
        let mut names: Vec<String> = client
            .topics
            .values()
            .filter(|t| !t.internal && !t.name.starts_with("__"))
            .map(|t| t.name.clone())
            .collect();
        names.sort();
        return Ok(names);
    }
    for t in &opts.topics {
        let code = m
            .topics
            .iter()
            .find(|x| x.name.as_ref().is_some_and(|n| n.0.as_str() == t))
            .map_or(3, |x| x.error_code);
        if code == ResponseError::UnknownTopicOrPartition.code() {
            return Err(Error::UnknownTopic {
                broker,
                topic: t.clone(),
            });
        }
        if code != 0 {
            return Err(Error::Broker {
                broker,
                api: "Metadata".into(),
                what: format!("topic '{t}'"),
                code,
            });
        }
    }
    Ok(opts.topics.clone())
}

/// The topic configs set on the source's topic (DescribeConfigs, source DYNAMIC_TOPIC_CONFIG)
/// that klog has, and the names of those it does not.
async fn source_configs(
    client: &mut Client,
    topic: &str,
) -> Result<(BTreeMap<String, String>, Vec<String>), Error> {
    const RESOURCE_TOPIC: i8 = 2;
    const SOURCE_DYNAMIC_TOPIC: i8 = 1;
    let conn = client.any().await?;
    let v = conn.version(ApiKey::DescribeConfigs)?;
    let req = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_TOPIC)
            .with_resource_name(StrBytes::from_string(topic.to_string()))
            .with_configuration_keys(None),
    ]);
    let resp = conn.send(&req, v).await?;
    let mut configs = BTreeMap::new();
    let mut skipped = Vec::new();
    for r in &resp.results {
        if r.error_code != 0 {
            return Err(conn.fatal("DescribeConfigs", r.error_code, &format!("topic '{topic}'")));
        }
        for c in &r.configs {
            let Some(value) = &c.value else { continue };
            if c.config_source != SOURCE_DYNAMIC_TOPIC || c.is_sensitive {
                continue;
            }
            match LogConfig::validate(&c.name, value) {
                Ok(v) => {
                    configs.insert(c.name.to_string(), v);
                }
                Err(_) => skipped.push(c.name.to_string()),
            }
        }
    }
    Ok((configs, skipped))
}

fn open_part(local: Option<&Topic>, topic: &str, partition: u32) -> Result<Part, Error> {
    let (log, end, local_start) = match local {
        Some(t) => {
            let mut log = t.open_log(partition)?;
            let end = log.log_end_offset()?;
            let start = log.log_start_offset()?;
            (Some(log), end, start)
        }
        None => (None, 0, 0),
    };
    Ok(Part {
        topic: topic.to_string(),
        partition,
        log,
        end,
        local_start,
        target: end,
        done: false,
        max_bytes: 0,
        summary: PartitionSummary {
            topic: topic.to_string(),
            partition,
            from_offset: end,
            to_offset: end,
            ..PartitionSummary::default()
        },
    })
}

/// Before fetching: the source's log start and end; the divergence check of the local end;
/// a fresh start at the source's log start when it is past the local end.
async fn prepare(
    client: &mut Client,
    opts: &PullOptions,
    part: &mut Part,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Error> {
    part.max_bytes = opts.partition_max_bytes;
    let src_start = offset_at(client, &part.topic, part.partition, -2).await?;
    let src_end = source_end(client, &part.topic, part.partition, part.end).await?;
    part.target = src_end;
    part.summary.source_end = src_end;
    if part.log.is_some() && part.end > part.local_start {
        check_divergence(client, opts, part, src_start, src_end, on_event).await?;
    }
    if src_start > part.end {
        if let Some(log) = &mut part.log {
            log.truncate_fully_and_start_at(src_start)?;
        }
        if part.end > part.local_start || part.end > 0 {
            on_event(Event::LogStartMoved {
                topic: part.topic.clone(),
                partition: part.partition,
                local_end: part.end,
                source_start: src_start,
            });
        }
        part.end = src_start;
        part.local_start = src_start;
    }
    part.summary.from_offset = part.end;
    part.done = !opts.follow && part.end >= part.target;
    on_event(Event::Started {
        topic: part.topic.clone(),
        partition: part.partition,
        local_end: part.end,
        source_end: src_end,
    });
    Ok(())
}

/// The local batches' (base offset, last offset, CRC), from the headers alone.
fn local_batches(dir: &std::path::Path) -> Result<Vec<(i64, i64, u32)>, Error> {
    let mut out = Vec::new();
    for base in list_segments(dir)? {
        let path = crate::storage::layout::log_file(dir, base);
        let mut r = ChunkReader::open(&path)?;
        let len = r.file_len()?;
        let mut pos = 0;
        while let Some((size, last)) = r.peek(pos, len)? {
            if let Some(h) = r.buffered_header(pos, len)? {
                out.push((h.base_offset, last, h.crc));
            }
            pos += size;
        }
    }
    Ok(out)
}

/// The last local batch, whole.
fn last_local_batch(dir: &std::path::Path) -> Result<Option<(i64, i64, Vec<u8>)>, Error> {
    for base in list_segments(dir)?.into_iter().rev() {
        let path = crate::storage::layout::log_file(dir, base);
        let mut r = ChunkReader::open(&path)?;
        let len = r.file_len()?;
        let (mut pos, mut last_at) = (0, None);
        while let Some((size, last)) = r.peek(pos, len)? {
            last_at = Some((pos, last));
            pos += size;
        }
        if let Some((pos, last)) = last_at
            && let RawAt::Entry { frame, bytes } = r.raw_at(pos, len)?
        {
            return Ok(Some((frame.offset, last, bytes.to_vec())));
        }
    }
    Ok(None)
}

async fn check_divergence(
    client: &mut Client,
    opts: &PullOptions,
    part: &mut Part,
    src_start: i64,
    src_end: i64,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Error> {
    let Some(log) = &part.log else { return Ok(()) };
    let dir = log.dir().to_path_buf();
    let detail = if src_end < part.end {
        Some(format!("the source's log ends at offset {src_end}"))
    } else {
        match last_local_batch(&dir)? {
            Some((base, last, bytes)) if last >= src_start => {
                let at = base.max(src_start);
                match source_batch(client, &part.topic, part.partition, at).await? {
                    Some((b, l, src)) if b == base && l == last && src[..] == bytes[..] => None,
                    Some((b, l, _)) => Some(format!(
                        "its batch at offset {base} differs (the source has offsets {b} to {l} \
                         there, the local log {base} to {last})"
                    )),
                    None => Some(format!("the source has no batch at offset {base}")),
                }
            }
            _ => None,
        }
    };
    let Some(detail) = detail else { return Ok(()) };
    let broker = client.any().await?.broker().to_string();
    if !opts.truncate_on_divergence {
        return Err(Error::Diverged {
            broker,
            topic: part.topic.clone(),
            partition: part.partition,
            local_end: part.end,
            source_end: src_end,
            detail,
        });
    }
    // The last local batch the source has too: batches match up to a point and no further.
    let batches = local_batches(&dir)?;
    let (mut lo, mut hi) = (0usize, batches.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        let (base, last, crc) = batches[mid];
        let same = if last < src_start {
            true
        } else if last >= src_end {
            false
        } else {
            source_batch(client, &part.topic, part.partition, base.max(src_start))
                .await?
                .is_some_and(|(b, l, bytes)| {
                    b == base
                        && l == last
                        && crate::format::BatchHeader::parse(&bytes).is_ok_and(|h| h.crc == crc)
                })
        };
        if same {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let to = match lo {
        0 => part.local_start,
        n => batches[n - 1].1 + 1,
    };
    let from = part.end;
    let log = part.log.as_mut().ok_or(Error::Internal("no local log"))?;
    part.end = log.truncate_to(to)?;
    part.local_start = log.log_start_offset()?;
    on_event(Event::Truncated {
        topic: part.topic.clone(),
        partition: part.partition,
        from,
        to: part.end,
    });
    Ok(())
}

/// The source's offset of a partition for a ListOffsets timestamp (-2: log start, -1: end).
async fn offset_at(
    client: &mut Client,
    topic: &str,
    partition: u32,
    timestamp: i64,
) -> Result<i64, Error> {
    let mut backoff = Backoff::new(client.retry_for);
    loop {
        let leader = client.wait_leader(topic, partition).await?;
        let r = async {
            let conn = client.node(leader.node).await?;
            let v = conn.version(ApiKey::ListOffsets)?;
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![
                    ListOffsetsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partitions(vec![
                            ListOffsetsPartition::default()
                                .with_partition_index(partition as i32)
                                .with_current_leader_epoch(-1)
                                .with_timestamp(timestamp),
                        ]),
                ]);
            let resp = conn.send(&req, v).await?;
            let p = resp
                .topics
                .iter()
                .flat_map(|t| t.partitions.iter())
                .find(|p| p.partition_index == partition as i32)
                .ok_or(Error::Internal("no partition in the ListOffsets response"))?;
            if p.error_code != 0 {
                return Err(conn.fatal(
                    "ListOffsets",
                    p.error_code,
                    &format!("{topic}-{partition}"),
                ));
            }
            Ok(p.offset)
        }
        .await;
        match r {
            Ok(o) => return Ok(o),
            Err(e) if e.is_retriable() => {
                retry_after(client, leader.node, topic, &e).await?;
                if !backoff.wait().await {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// The source's log end (high watermark) as a fetch at `at` gives it; a ListOffsets for the
/// latest offset when `at` is out of its range. (A fetch first: tansu 0.6 answers ListOffsets
/// with the number of batches, not the end offset.)
async fn source_end(
    client: &mut Client,
    topic: &str,
    partition: u32,
    at: i64,
) -> Result<i64, Error> {
    let leader = client.wait_leader(topic, partition).await?;
    let probe = Part {
        topic: topic.to_string(),
        partition,
        log: None,
        end: at,
        local_start: 0,
        target: 0,
        done: false,
        max_bytes: 1,
        summary: PartitionSummary::default(),
    };
    let r = async {
        let conn = client.node(leader.node).await?;
        let v = conn.version(ApiKey::Fetch)?;
        conn.send(&fetch_request(SHORT_WAIT_MS, &[&probe]), v).await
    }
    .await;
    let hw = match r {
        Ok(resp) => resp
            .responses
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.error_code == 0)
            .map(|p| p.high_watermark),
        Err(e) if e.is_retriable() => {
            client.drop_node(leader.node);
            None
        }
        Err(e) => return Err(e),
    };
    match hw {
        Some(hw) if hw >= 0 => Ok(hw),
        _ => offset_at(client, topic, partition, -1).await,
    }
}

/// How long a fetch that should not wait may wait: some brokers (tansu 0.6) hold a fetch with
/// `max_wait_ms` 0 until data comes.
const SHORT_WAIT_MS: i32 = 100;

/// After a retriable failure on `node`: drops its connection and refreshes the topic's
/// metadata. A topic the source no longer has is fatal.
async fn retry_after(client: &mut Client, node: i32, topic: &str, e: &Error) -> Result<(), Error> {
    client.drop_node(node);
    client.topics.remove(topic);
    let m = client.refresh(&[topic.to_string()]).await?;
    let gone = m.topics.iter().any(|t| {
        t.name.as_ref().is_some_and(|n| n.0.as_str() == topic)
            && t.error_code == ResponseError::UnknownTopicOrPartition.code()
    });
    if gone {
        let broker = match e {
            Error::Broker { broker, .. } | Error::Lost { broker, .. } => broker.clone(),
            _ => client.any().await?.broker().to_string(),
        };
        return Err(Error::UnknownTopic {
            broker,
            topic: topic.to_string(),
        });
    }
    Ok(())
}

fn fetch_request(max_wait_ms: i32, parts: &[&Part]) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for p in parts {
        let fp = FetchPartition::default()
            .with_partition(p.partition as i32)
            .with_current_leader_epoch(-1)
            .with_fetch_offset(p.end)
            .with_last_fetched_epoch(-1)
            .with_log_start_offset(-1)
            .with_partition_max_bytes(p.max_bytes);
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == p.topic => t.partitions.push(fp),
            _ => topics.push(
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(p.topic.clone())))
                    .with_partitions(vec![fp]),
            ),
        }
    }
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(64 << 20)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics)
}

/// The source's batch holding `offset` (the first whole one a fetch there returns).
async fn source_batch(
    client: &mut Client,
    topic: &str,
    partition: u32,
    offset: i64,
) -> Result<Option<(i64, i64, Bytes)>, Error> {
    let leader = client.wait_leader(topic, partition).await?;
    let conn = client.node(leader.node).await?;
    let v = conn.version(ApiKey::Fetch)?;
    let probe = Part {
        topic: topic.to_string(),
        partition,
        log: None,
        end: offset,
        local_start: 0,
        target: 0,
        done: false,
        max_bytes: 1 << 20,
        summary: PartitionSummary::default(),
    };
    let resp = conn
        .send(&fetch_request(SHORT_WAIT_MS, &[&probe]), v)
        .await?;
    let Some(p) = resp
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .next()
    else {
        return Ok(None);
    };
    if p.error_code == ResponseError::OffsetOutOfRange.code() {
        return Ok(None);
    }
    if p.error_code != 0 {
        return Err(conn.fatal("Fetch", p.error_code, &format!("{topic}-{partition}")));
    }
    let Some(records) = &p.records else {
        return Ok(None);
    };
    Ok(whole_batches(records)
        .find(|b| b.last_offset >= offset)
        .map(|b| (b.base_offset, b.last_offset, b.bytes)))
}

/// Fetches until every partition reached its target (or, following, until `stop`). The
/// appends of one response run on a blocking thread while the next fetch is on the wire
/// (invariant 5); whatever way this ends, they are waited for before it returns.
async fn fetch_loop(
    client: &mut Client,
    opts: &PullOptions,
    parts: &mut [Part],
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Error> {
    let mut appending = None;
    let r = fetch_rounds(client, opts, parts, stop, &mut appending, on_event).await;
    let settled = settle(&mut appending, parts, on_event).await;
    r?;
    settled
}

async fn fetch_rounds(
    client: &mut Client,
    opts: &PullOptions,
    parts: &mut [Part],
    stop: &AtomicBool,
    appending: &mut Option<Appending>,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Error> {
    let mut backoff = Backoff::new(opts.retry_for);
    while !stop.load(Ordering::Relaxed) && parts.iter().any(|p| !p.done) {
        // The partitions to fetch, grouped by leader.
        let mut by_leader: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        for (i, p) in parts.iter().enumerate().filter(|(_, p)| !p.done) {
            let leader = client.wait_leader(&p.topic, p.partition).await?;
            by_leader.entry(leader.node).or_default().push(i);
        }
        for (node, idx) in by_leader {
            let wait = if opts.follow {
                opts.follow_wait.as_millis() as i32
            } else {
                SHORT_WAIT_MS
            };
            let result =
                fetch_once(client, node, wait, parts, &idx, opts, appending, on_event).await;
            match result {
                Ok(()) => backoff = Backoff::new(opts.retry_for),
                Err(Failure::Retry { error, topic }) => {
                    retry_after(client, node, &topic, &error).await?;
                    if !backoff.wait().await {
                        return Err(error);
                    }
                }
                Err(Failure::Fatal(e)) => return Err(e),
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }
    Ok(())
}

/// What a fetch response leaves to do to a partition's log, in order.
enum Op {
    /// [`Log::append_replica`] of one fetched batch.
    Append(Bytes),
    /// [`Log::trim`] to the source's log start.
    Trim(i64),
}

/// The log operations of one fetch response, running on a blocking thread with the logs
/// they need (taken out of their partitions until [`settle`] gives them back).
struct Appending {
    task: tokio::task::JoinHandle<Result<Vec<(usize, Log)>, Error>>,
    /// Reported once the operations are done.
    events: Vec<Event>,
}

/// Starts the operations planned from one response, if any.
fn start_appending(jobs: Vec<(usize, Log, Vec<Op>)>, events: Vec<Event>) -> Option<Appending> {
    if jobs.is_empty() {
        return None;
    }
    let task = tokio::task::spawn_blocking(move || {
        let mut logs = Vec::with_capacity(jobs.len());
        for (i, mut log, ops) in jobs {
            for op in ops {
                match op {
                    Op::Append(batch) => {
                        log.append_replica(&batch)?;
                    }
                    Op::Trim(offset) => {
                        log.trim(offset)?;
                    }
                }
            }
            logs.push((i, log));
        }
        Ok(logs)
    });
    Some(Appending { task, events })
}

/// Waits for the running operations, gives their logs back and reports their events.
async fn settle(
    appending: &mut Option<Appending>,
    parts: &mut [Part],
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Error> {
    let Some(a) = appending.take() else {
        return Ok(());
    };
    let logs = a
        .task
        .await
        .map_err(|_| Error::Internal("the append thread panicked"))??;
    for (i, log) in logs {
        parts[i].log = Some(log);
    }
    for e in a.events {
        on_event(e);
    }
    Ok(())
}

enum Failure {
    /// Retry after a metadata refresh of `topic`.
    Retry {
        error: Error,
        topic: String,
    },
    Fatal(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Fatal(e)
    }
}

/// One fetch from `node` of the partitions `idx`: its response waits for the operations of
/// the previous one (so that every log is back and in order), then its own start. Operations
/// already done when the fetch goes out are reported first, so that a following pull's
/// progress does not wait for a long poll.
#[allow(clippy::too_many_arguments)]
async fn fetch_once(
    client: &mut Client,
    node: i32,
    wait_ms: i32,
    parts: &mut [Part],
    idx: &[usize],
    opts: &PullOptions,
    appending: &mut Option<Appending>,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Failure> {
    if appending.as_ref().is_some_and(|a| a.task.is_finished()) {
        // Done already: report them now, not after a long poll.
        settle(appending, parts, on_event).await?;
    }
    let first_topic = parts[idx[0]].topic.clone();
    let conn = client
        .node(node)
        .await
        .map_err(|e| retry(e, &first_topic))?;
    let broker = conn.broker().to_string();
    let v = conn.version(ApiKey::Fetch)?;
    let req = fetch_request(wait_ms, &idx.iter().map(|&i| &parts[i]).collect::<Vec<_>>());
    let resp = conn
        .send(&req, v)
        .await
        .map_err(|e| retry(e, &first_topic))?;
    settle(appending, parts, on_event).await?;
    if resp.error_code != 0 {
        let e = conn.fatal("Fetch", resp.error_code, "");
        return Err(retry(e, &first_topic));
    }
    let (mut jobs, mut events) = (Vec::new(), Vec::new());
    let r = plan_response(
        client,
        &broker,
        &resp,
        parts,
        idx,
        opts,
        &mut jobs,
        &mut events,
        on_event,
    )
    .await;
    *appending = start_appending(jobs, events);
    r
}

/// A failure worth retrying, or a fatal one.
fn retry(error: Error, topic: &str) -> Failure {
    if error.is_retriable() {
        Failure::Retry {
            error,
            topic: topic.to_string(),
        }
    } else {
        Failure::Fatal(error)
    }
}

/// Goes through a fetch response: moves each partition's end past the batches it brings
/// and plans their appends (into `jobs`, with the events to report once done); anything
/// else it calls for (a moved log start, a divergence) is done here and now. Whatever
/// it returns, `jobs` holds every append planned: the ends were moved past them.
#[allow(clippy::too_many_arguments)]
async fn plan_response(
    client: &mut Client,
    broker: &str,
    resp: &kafka_protocol::messages::FetchResponse,
    parts: &mut [Part],
    idx: &[usize],
    opts: &PullOptions,
    jobs: &mut Vec<(usize, Log, Vec<Op>)>,
    events: &mut Vec<Event>,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Failure> {
    for t in &resp.responses {
        for pd in &t.partitions {
            let Some(&i) = idx.iter().find(|&&i| {
                parts[i].topic == t.topic.0.as_str()
                    && parts[i].partition as i32 == pd.partition_index
            }) else {
                continue;
            };
            let part = &mut parts[i];
            let what = format!("{}-{}", part.topic, part.partition);
            match pd.error_code {
                0 => {}
                1 => {
                    // OFFSET_OUT_OF_RANGE: the log start moved past us, or the source's log
                    // is now shorter than ours.
                    let src_start = offset_at(client, &part.topic, part.partition, -2).await?;
                    let src_end = offset_at(client, &part.topic, part.partition, -1).await?;
                    if src_start > part.end {
                        if let Some(log) = &mut part.log {
                            log.truncate_fully_and_start_at(src_start)
                                .map_err(Error::from)?;
                        }
                        on_event(Event::LogStartMoved {
                            topic: part.topic.clone(),
                            partition: part.partition,
                            local_end: part.end,
                            source_start: src_start,
                        });
                        part.end = src_start;
                        part.local_start = src_start;
                        part.target = part.target.max(src_start);
                    } else if src_end < part.end {
                        check_divergence(client, opts, part, src_start, src_end, on_event).await?;
                    }
                    return Ok(());
                }
                code => {
                    let e = Error::Broker {
                        broker: broker.to_string(),
                        api: "Fetch".into(),
                        what,
                        code,
                    };
                    return Err(retry(e, &part.topic));
                }
            }
            part.summary.source_end = pd.high_watermark;
            let Some(records) = &pd.records else { continue };
            let mut ops = Vec::new();
            let mut appended = (0u64, 0u64, 0u64);
            let mut whole = false;
            let mut failure = None;
            for fetched in whole_batches(records) {
                let (base, last, magic) = (fetched.base_offset, fetched.last_offset, fetched.magic);
                whole = true;
                if last < part.end {
                    continue;
                }
                if base < part.end {
                    if part.end == part.local_start && part.log.is_some() {
                        // A first batch that starts below the log start (the source trimmed
                        // inside it): start the local log at the batch, then trim back up.
                        let log = part.log.as_mut().ok_or(Error::Internal("no log"))?;
                        log.truncate_fully_and_start_at(base).map_err(Error::from)?;
                        part.local_start = base;
                    } else {
                        failure = Some(Failure::Fatal(Error::Diverged {
                            broker: broker.to_string(),
                            topic: part.topic.clone(),
                            partition: part.partition,
                            local_end: part.end,
                            source_end: pd.high_watermark,
                            detail: format!(
                                "the source's batch at offsets {base} to {last} straddles the \
                                 local end"
                            ),
                        }));
                        break;
                    }
                }
                if magic != 2 {
                    failure = Some(Failure::Fatal(Error::Invalid(format!(
                        "{what}: the source has a message of format v{magic} at offset {base}: \
                         only v2 record batches can be mirrored"
                    ))));
                    break;
                }
                appended.0 += 1;
                appended.1 += fetched.records.max(0) as u64;
                appended.2 += fetched.bytes.len() as u64;
                ops.push(Op::Append(fetched.bytes));
                part.end = last + 1;
            }
            if failure.is_none()
                && pd.log_start_offset > part.local_start
                && pd.log_start_offset <= part.end
            {
                ops.push(Op::Trim(pd.log_start_offset));
                part.local_start = pd.log_start_offset;
            }
            if !ops.is_empty() {
                let log = part.log.take().ok_or(Error::Internal("no log"))?;
                jobs.push((i, log, ops));
            }
            if !records.is_empty() && !whole {
                // One batch larger than we asked for: ask for more next time.
                part.max_bytes = part.max_bytes.saturating_mul(2);
            }
            if appended.0 > 0 {
                part.summary.batches += appended.0;
                part.summary.records += appended.1;
                part.summary.bytes += appended.2;
                events.push(Event::Appended {
                    topic: part.topic.clone(),
                    partition: part.partition,
                    local_end: part.end,
                    source_end: pd.high_watermark,
                    bytes: appended.2,
                    records: appended.1,
                });
            }
            if let Some(f) = failure {
                return Err(f);
            }
            if !opts.follow
                && (part.end >= part.target
                    || (records.is_empty() && pd.high_watermark <= part.end))
            {
                part.done = true;
            }
        }
    }
    Ok(())
}

/// Compares the last local batch of a partition with the source's at its offset.
async fn verify_last_batch(client: &mut Client, part: &mut Part) -> Result<(), Error> {
    let Some(log) = &part.log else { return Ok(()) };
    let Some((base, last, bytes)) = last_local_batch(log.dir())? else {
        return Ok(());
    };
    let src_start = offset_at(client, &part.topic, part.partition, -2).await?;
    let src = source_batch(client, &part.topic, part.partition, base.max(src_start)).await?;
    if src.is_some_and(|(b, l, s)| b == base && l == last && s[..] == bytes[..]) {
        part.summary.verified = true;
        return Ok(());
    }
    let broker = client.any().await?.broker().to_string();
    let source_end = offset_at(client, &part.topic, part.partition, -1).await?;
    Err(Error::Diverged {
        broker,
        topic: part.topic.clone(),
        partition: part.partition,
        local_end: part.end,
        source_end,
        detail: format!("its batch at offset {base} differs from the local one"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::BatchBuilder;
    use crate::server::{Config, Server};

    /// A `klog serve` of `dir` in a thread, stopped when the returned sender drops.
    fn serve(dir: &std::path::Path) -> (String, tokio::sync::oneshot::Sender<()>) {
        let mut config = Config::new(dir);
        config.listen = vec!["127.0.0.1:0".into()];
        let server = Server::bind(config, Arc::new(|_| {})).unwrap();
        let addr = server.local_addrs()[0].to_string();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = server.run(async move {
                let _ = rx.await;
            });
        });
        (addr, tx)
    }

    /// `n` one-record batches with values `tag-i`, into partition 0 of `topic`.
    fn produce(topics: &Topics, topic: &str, n: usize, tag: &str) {
        let t = topics
            .open(topic)
            .or_else(|_| topics.create(topic, 1, BTreeMap::new()))
            .unwrap();
        let mut log = t.open_log(0).unwrap();
        for i in 0..n {
            let mut b = BatchBuilder::new();
            b.append(
                1_000 + i as i64,
                None,
                Some(format!("{tag}-{i}").as_bytes()),
                &[],
            );
            log.append(&mut b.finish()).unwrap();
        }
    }

    fn run_pull(
        dest: &Topics,
        opts: &PullOptions,
        events: &mut Vec<Event>,
    ) -> Result<PullSummary, Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        rt.block_on(pull(dest, opts, stop, &mut |e| events.push(e)))
    }

    /// The `.log` files of partition 0 of `topic`, concatenated.
    fn log_bytes(topics: &Topics, topic: &str) -> Vec<u8> {
        let dir = topics.open(topic).unwrap().partition_dir(0);
        let mut out = Vec::new();
        for base in list_segments(&dir).unwrap() {
            out.extend(std::fs::read(crate::storage::layout::log_file(&dir, base)).unwrap());
        }
        out
    }

    /// One batch per fetch (a 1-byte limit), so that every append overlaps the next fetch:
    /// the copy is byte for byte the source, the progress events come in offset order once
    /// their batches are appended, and a rerun resumes where the copy ends.
    #[test]
    fn pipelined_fetches_copy_every_batch_in_order() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (src, dest) = (Topics::new(a.path()), Topics::new(b.path()));
        produce(&src, "t", 40, "x");
        let (addr, _stop) = serve(a.path());
        let mut opts = PullOptions::new(vec![addr]);
        opts.topics = vec!["t".into()];
        opts.partition_max_bytes = 1;
        let mut events = Vec::new();
        let s = run_pull(&dest, &opts, &mut events).unwrap();
        assert_eq!((s.batches(), s.partitions[0].to_offset), (40, 40));
        assert_eq!(log_bytes(&dest, "t"), log_bytes(&src, "t"));
        let ends: Vec<i64> = events
            .iter()
            .filter_map(|e| match e {
                Event::Appended { local_end, .. } => Some(*local_end),
                _ => None,
            })
            .collect();
        assert_eq!(ends, (1..=40).collect::<Vec<_>>());

        produce(&src, "t", 3, "y");
        let s = run_pull(&dest, &opts, &mut events).unwrap();
        assert_eq!(
            (s.partitions[0].from_offset, s.partitions[0].to_offset),
            (40, 43)
        );
        assert_eq!(log_bytes(&dest, "t"), log_bytes(&src, "t"));
    }

    /// A pull copies and resumes; a source recreated shorter is a divergence naming the
    /// partition and both offsets, and truncation cuts back to the last shared batch.
    #[test]
    fn pulls_resume_and_divergence_is_named_or_repaired() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (src, dest) = (Topics::new(a.path()), Topics::new(b.path()));
        produce(&src, "t", 5, "x");
        let (addr, _stop) = serve(a.path());
        let mut opts = PullOptions::new(vec![addr.clone()]);
        opts.topics = vec!["t".into()];
        let mut events = Vec::new();
        let s = run_pull(&dest, &opts, &mut events).unwrap();
        assert_eq!((s.records(), s.batches()), (5, 5));
        assert!(matches!(
            events[0],
            Event::TopicCreated { partitions: 1, .. }
        ));
        produce(&src, "t", 2, "y");
        let s = run_pull(&dest, &opts, &mut events).unwrap();
        assert_eq!(
            (s.partitions[0].from_offset, s.partitions[0].to_offset),
            (5, 7)
        );

        // The source loses its last four batches and gets two others.
        src.delete("t").unwrap();
        produce(&src, "t", 3, "x");
        produce(&src, "t", 2, "z");
        let err = run_pull(&dest, &opts, &mut events).unwrap_err();
        match &err {
            Error::Diverged {
                topic,
                partition,
                local_end,
                source_end,
                ..
            } => assert_eq!(
                (topic.as_str(), *partition, *local_end, *source_end),
                ("t", 0, 7, 5)
            ),
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains(&addr), "{err}");

        opts.truncate_on_divergence = true;
        events.clear();
        let s = run_pull(&dest, &opts, &mut events).unwrap();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Truncated { from: 7, to: 3, .. })),
            "{events:?}"
        );
        assert_eq!(
            (s.partitions[0].from_offset, s.partitions[0].to_offset),
            (3, 5)
        );
    }
}
