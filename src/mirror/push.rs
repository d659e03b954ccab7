//! `mirror push`: local topics into a Kafka cluster, partition for partition, with an
//! idempotent producer, continuing where the last push stopped.
//!
//! # Invariants
//! 1. Partition numbers are kept: a missing remote topic is created with the local partition
//!    count and config overrides; an existing one with fewer partitions is refused.
//! 2. Batches are sent as stored (keys, values, headers, timestamps, compression untouched);
//!    only the fields an idempotent producer owns change: producer id, epoch and base
//!    sequence (and so the CRC), base offset 0 and leader epoch -1. Control batches are not
//!    sent; legacy (magic 0/1) entries are refused.
//! 3. One batch per partition per request (Produce v3+ allows no more), acks=all. Sequences
//!    advance by a batch's offset span (`last offset delta + 1`), as a broker expects; a retry
//!    of a request resends the same sequences, so within a run the broker drops duplicates.
//! 4. The checkpoint of a partition (`.klog-mirror-push.<D>.json`, see
//!    [`crate::storage::layout::mirror_push_file`]; `D` is the cluster id) holds the next local
//!    offset to send and the local → remote offset map, as ranges `[local first, local next,
//!    remote first]` over which the offsets differ by a constant: one range for a dense log,
//!    one more per compaction gap. It is replaced atomically after each acknowledgement,
//!    never before.
//! 5. `--groups` commits each local group's offset of each pushed partition, translated
//!    through the map: an offset in a range maps within it, one in a gap to the next range's
//!    start, the end of what was pushed to the remote end of it. Offsets past what was pushed
//!    are not committed (reported).
//!
//! # Crash safety
//! The checkpoint only ever names batches the cluster acknowledged with acks=all. A push
//! killed between an acknowledgement and its checkpoint sends those batches again on the
//! next run, with a new producer id: at most the batches in flight (one per partition) are
//! duplicated on the cluster. A broker that loses the producer's state (a restart without
//! it) makes the push start a new producer id, with the same bound. After a power loss the
//! checkpoint may be older (it is not fsynced after every batch, only at the end): more
//! batches are sent again, none is lost.
//!
//! # Kafka
//! The Java producer's idempotence (`TransactionManager`: sequences per partition, a new
//! producer id on UNKNOWN_PRODUCER_ID), MirrorMaker 2's offset syncs and checkpoints
//! (`OffsetSyncStore`, `MirrorCheckpointTask`), kept here as a file per partition.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, FindCoordinatorRequest, GroupId, InitProducerIdRequest,
    OffsetCommitRequest, ProduceRequest, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};

use super::Error;
use super::client::{Backoff, Client};
use crate::format::BatchHeader;
use crate::format::batch::{BATCH_HEADER_LEN, TRANSACTIONAL_FLAG_MASK, compute_crc};
use crate::storage::fs::{ATOMIC, Durability, replace_file};
use crate::storage::layout::mirror_push_file;
use crate::storage::{Entry, LogReader};
use crate::topic::{Topic, Topics};

/// What to push, and how.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Bootstrap brokers of the destination.
    pub to: Vec<String>,
    /// TLS and SASL of the connections to the destination.
    pub security: super::security::Security,
    pub topics: Vec<String>,
    /// Every local topic but internal ones (`__…`).
    pub all: bool,
    /// Keep pushing what is appended until `stop` is set.
    pub follow: bool,
    /// Commit the local groups' offsets on the cluster, translated.
    pub groups: bool,
    pub dry_run: bool,
    /// How long retriable errors (a broker restart) are retried before the push stops.
    pub retry_for: Duration,
    /// How often a following push looks for new batches.
    pub poll: Duration,
}

impl PushOptions {
    pub fn new(to: Vec<String>) -> PushOptions {
        PushOptions {
            to,
            security: super::security::Security::default(),
            topics: Vec::new(),
            all: false,
            follow: false,
            groups: false,
            dry_run: false,
            retry_for: Duration::from_secs(60),
            poll: Duration::from_millis(200),
        }
    }
}

/// What happens during a push.
#[derive(Debug, Clone)]
pub enum Event {
    TopicCreated {
        topic: String,
        partitions: u32,
        configs: BTreeMap<String, String>,
    },
    Started {
        topic: String,
        partition: u32,
        from: i64,
        end: i64,
    },
    Sent {
        topic: String,
        partition: u32,
        next: i64,
        end: i64,
        bytes: u64,
        records: u64,
    },
    /// The cluster lost this producer's state: a new producer id goes on.
    NewProducerId { producer_id: i64 },
    GroupCommitted {
        group: String,
        topic: String,
        partition: u32,
        local: i64,
        remote: i64,
    },
    GroupSkipped {
        group: String,
        topic: String,
        partition: u32,
        local: i64,
        reason: String,
    },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PartitionSummary {
    pub topic: String,
    pub partition: u32,
    /// Local offsets pushed: from, to (next).
    pub from_offset: i64,
    pub to_offset: i64,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PushSummary {
    pub destination: String,
    pub created_topics: Vec<String>,
    pub partitions: Vec<PartitionSummary>,
    pub group_offsets_committed: u64,
    pub dry_run: bool,
}

impl PushSummary {
    pub fn records(&self) -> u64 {
        self.partitions.iter().map(|p| p.records).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.partitions.iter().map(|p| p.bytes).sum()
    }
}

/// A partition's push checkpoint towards one destination (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The cluster (id, else address) it is about.
    pub destination: String,
    /// The next local offset to send.
    pub next_offset: i64,
    /// `[local first, local next, remote first]`, ascending.
    pub ranges: Vec<[i64; 3]>,
}

impl Checkpoint {
    /// Records that local offsets `[first, next)` are at `remote` on.
    pub fn record(&mut self, first: i64, next: i64, remote: i64) {
        if let Some(last) = self.ranges.last_mut()
            && last[1] == first
            && last[2] + (last[1] - last[0]) == remote
        {
            last[1] = next;
        } else {
            self.ranges.push([first, next, remote]);
        }
        self.next_offset = next;
    }

    /// The remote offset of local offset `local` (a consumer's next offset), if pushed.
    pub fn translate(&self, local: i64) -> Option<i64> {
        let first = self.ranges.first()?;
        if local <= first[0] {
            return Some(first[2]);
        }
        for r in &self.ranges {
            if local < r[0] {
                return Some(r[2]);
            }
            if local < r[1] {
                return Some(r[2] + (local - r[0]));
            }
        }
        let last = self.ranges.last()?;
        (local == self.next_offset || local == last[1]).then_some(last[2] + (last[1] - last[0]))
    }

    pub fn path(partition_dir: &Path, destination: &str) -> PathBuf {
        partition_dir.join(mirror_push_file(destination))
    }

    pub fn read(partition_dir: &Path, destination: &str) -> Option<Checkpoint> {
        let text = std::fs::read(Checkpoint::path(partition_dir, destination)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn write(&self, partition_dir: &Path, durability: Durability) -> crate::Result<()> {
        let text = serde_json::to_vec(self).unwrap_or_default();
        replace_file(
            &Checkpoint::path(partition_dir, &self.destination),
            &text,
            durability,
            &ATOMIC,
        )
    }
}

/// A partition being pushed.
struct Part {
    topic: String,
    partition: u32,
    dir: PathBuf,
    reader: Option<LogReader>,
    /// The next local offset to send, and the local log end.
    next: i64,
    end: i64,
    seq: i32,
    checkpoint: Checkpoint,
    /// The batch in flight: (local base, local next, stamped bytes).
    pending: Option<(i64, i64, Bytes)>,
    summary: PartitionSummary,
}

/// The idempotent producer's identity.
#[derive(Debug, Clone, Copy)]
struct Producer {
    id: i64,
    epoch: i16,
}

/// Pushes the topics `opts` names from `topics`' directory to the cluster.
pub async fn push(
    topics: &Topics,
    opts: &PushOptions,
    stop: Arc<AtomicBool>,
    on_event: &mut dyn FnMut(Event),
) -> Result<PushSummary, Error> {
    let mut client = Client::connect(&opts.to, &opts.security).await?;
    client.retry_for = opts.retry_for;
    let broker = client.any().await?.broker().to_string();
    let names = local_topics(topics, opts)?;
    let m = client.refresh(&names).await?;
    let destination = m
        .cluster_id
        .as_ref()
        .map(|c| c.to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| opts.to[0].clone());
    let mut summary = PushSummary {
        destination: destination.clone(),
        dry_run: opts.dry_run,
        ..PushSummary::default()
    };
    let mut local = Vec::new();
    for name in &names {
        let topic = topics.open(name)?;
        let remote = client.topics.get(name).map(|t| t.leaders.len() as u32);
        match remote {
            Some(n) if n < topic.partitions => {
                return Err(Error::Invalid(format!(
                    "topic '{name}' has {n} partitions on {broker}, the local one {}: a push \
                     keeps partition numbers (add partitions on the cluster first)",
                    topic.partitions
                )));
            }
            Some(_) => {}
            None => {
                summary.created_topics.push(name.clone());
                on_event(Event::TopicCreated {
                    topic: name.clone(),
                    partitions: topic.partitions,
                    configs: topic.configs.clone(),
                });
                if !opts.dry_run {
                    create_topic(&mut client, &topic).await?;
                }
            }
        }
        local.push(topic);
    }
    let mut parts = Vec::new();
    for topic in &local {
        for p in 0..topic.partitions {
            let part = open_part(topic, p, &destination)?;
            on_event(Event::Started {
                topic: part.topic.clone(),
                partition: p,
                from: part.next,
                end: part.end,
            });
            parts.push(part);
        }
    }
    if opts.dry_run {
        for part in parts {
            let mut s = part.summary;
            s.to_offset = part.end.max(part.next);
            summary.partitions.push(s);
        }
        return Ok(summary);
    }
    let mut producer = init_producer(&mut client).await?;
    loop {
        send_all(
            &mut client,
            opts,
            &mut parts,
            &mut producer,
            &stop,
            on_event,
        )
        .await?;
        if !opts.follow || stop.load(Ordering::Relaxed) {
            break;
        }
        tokio::time::sleep(opts.poll).await;
        for part in &mut parts {
            if let Some(r) = &mut part.reader {
                part.end = r.log_end_offset()?;
            } else if let Ok(Some(r)) = local_reader(&local, &part.topic, part.partition) {
                part.reader = Some(r);
            }
        }
    }
    for part in &parts {
        if !part.checkpoint.ranges.is_empty() {
            part.checkpoint.write(&part.dir, Durability::Durable)?;
        }
    }
    if opts.groups {
        summary.group_offsets_committed =
            commit_groups(&mut client, topics, &local, &parts, on_event).await?;
    }
    for part in parts {
        let mut s = part.summary;
        s.to_offset = part.next;
        summary.partitions.push(s);
    }
    Ok(summary)
}

fn local_reader(local: &[Topic], topic: &str, partition: u32) -> crate::Result<Option<LogReader>> {
    match local.iter().find(|t| t.name == topic) {
        Some(t) => t.open_reader(partition),
        None => Ok(None),
    }
}

fn local_topics(topics: &Topics, opts: &PushOptions) -> Result<Vec<String>, Error> {
    if !opts.all {
        for t in &opts.topics {
            topics.open(t)?;
        }
        return Ok(opts.topics.clone());
    }
    Ok(topics
        .list_names()?
        .into_iter()
        .filter(|n| !n.starts_with("__"))
        .collect())
}

fn open_part(topic: &Topic, partition: u32, destination: &str) -> Result<Part, Error> {
    let dir = topic.partition_dir(partition);
    let mut reader = topic.open_reader(partition)?;
    let (start, end) = match &mut reader {
        Some(r) => (r.log_start_offset(), r.log_end_offset()?),
        None => (0, 0),
    };
    let checkpoint = Checkpoint::read(&dir, destination).unwrap_or_else(|| Checkpoint {
        destination: destination.to_string(),
        next_offset: start,
        ranges: Vec::new(),
    });
    let next = checkpoint.next_offset.max(start);
    Ok(Part {
        topic: topic.name.clone(),
        partition,
        dir,
        reader,
        next,
        end,
        seq: 0,
        checkpoint,
        pending: None,
        summary: PartitionSummary {
            topic: topic.name.clone(),
            partition,
            from_offset: next,
            to_offset: next,
            ..PartitionSummary::default()
        },
    })
}

/// CreateTopics on the controller: the local partition count and config overrides.
async fn create_topic(client: &mut Client, topic: &Topic) -> Result<(), Error> {
    let node = client.controller;
    let conn = match node {
        Some(n) => client.node(n).await?,
        None => client.any().await?,
    };
    let v = conn.version(ApiKey::CreateTopics)?;
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.name.clone())))
                .with_num_partitions(topic.partitions as i32)
                .with_replication_factor(if v >= 4 { -1 } else { 1 })
                .with_configs(
                    topic
                        .configs
                        .iter()
                        .map(|(k, val)| {
                            CreatableTopicConfig::default()
                                .with_name(StrBytes::from_string(k.clone()))
                                .with_value(Some(StrBytes::from_string(val.clone())))
                        })
                        .collect(),
                ),
        ]);
    let resp = conn.send(&req, v).await?;
    for t in &resp.topics {
        if t.error_code != 0 && t.error_code != ResponseError::TopicAlreadyExists.code() {
            return Err(conn.fatal(
                "CreateTopics",
                t.error_code,
                &format!("topic '{}'", topic.name),
            ));
        }
    }
    // Until the cluster has leaders for it.
    client.topics.remove(&topic.name);
    for p in 0..topic.partitions {
        client.wait_leader(&topic.name, p).await?;
    }
    Ok(())
}

async fn init_producer(client: &mut Client) -> Result<Producer, Error> {
    let conn = client.any().await?;
    let v = conn.version(ApiKey::InitProducerId)?;
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(-1)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let resp = conn.send(&req, v).await?;
    if resp.error_code != 0 {
        return Err(conn.fatal("InitProducerId", resp.error_code, ""));
    }
    Ok(Producer {
        id: resp.producer_id.0,
        epoch: resp.producer_epoch,
    })
}

/// The batch at the partition's next offset, stamped for the producer, or `None` at the end.
/// Control batches are passed over.
fn next_batch(part: &mut Part, producer: Producer) -> Result<Option<(i64, i64, Bytes)>, Error> {
    let Some(reader) = &mut part.reader else {
        return Ok(None);
    };
    loop {
        if part.next >= part.end {
            return Ok(None);
        }
        reader.seek(part.next)?;
        let Some(found) = reader.next_batch()? else {
            return Ok(None);
        };
        let batch = match &found.batch {
            Entry::Batch(b) => *b,
            _ => {
                return Err(Error::Invalid(format!(
                    "{}-{}: the entry at offset {} is a legacy (v0/v1) message: only v2 record \
                     batches can be pushed",
                    part.topic, part.partition, part.next
                )));
            }
        };
        let mut h = batch.header;
        let next = h.last_offset() + 1;
        if h.is_control() {
            part.next = next;
            continue;
        }
        let mut bytes = batch.as_bytes().to_vec();
        h.base_offset = 0;
        h.partition_leader_epoch = -1;
        h.producer_id = producer.id;
        h.producer_epoch = producer.epoch;
        h.base_sequence = part.seq;
        // Not transactional: no transaction is open.
        h.attributes &= !TRANSACTIONAL_FLAG_MASK;
        let Some(head) = bytes.first_chunk_mut::<BATCH_HEADER_LEN>() else {
            return Err(Error::Internal("short batch"));
        };
        h.write(head);
        h.crc = compute_crc(&bytes);
        if let Some(head) = bytes.first_chunk_mut::<BATCH_HEADER_LEN>() {
            h.write(head);
        }
        return Ok(Some((batch.header.base_offset, next, Bytes::from(bytes))));
    }
}

/// Sends every partition's batches up to its local end, one batch per partition per request.
async fn send_all(
    client: &mut Client,
    opts: &PushOptions,
    parts: &mut [Part],
    producer: &mut Producer,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Error> {
    let mut backoff = Backoff::new(opts.retry_for);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        for part in parts.iter_mut() {
            if part.pending.is_none() {
                part.pending = next_batch(part, *producer)?;
            }
        }
        let mut by_leader: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        for (i, p) in parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.pending.is_some())
        {
            let leader = client.wait_leader(&p.topic, p.partition).await?;
            by_leader.entry(leader.node).or_default().push(i);
        }
        if by_leader.is_empty() {
            return Ok(());
        }
        for (node, idx) in by_leader {
            match produce_once(client, node, parts, &idx, on_event).await {
                Ok(()) => backoff = Backoff::new(opts.retry_for),
                Err(Failure::NewProducer) => {
                    *producer = init_producer(client).await?;
                    on_event(Event::NewProducerId {
                        producer_id: producer.id,
                    });
                    for part in parts.iter_mut() {
                        part.seq = 0;
                        part.pending = None;
                    }
                    break;
                }
                Err(Failure::Retry(e)) => {
                    client.drop_node(node);
                    client.topics.clear();
                    if !backoff.wait().await {
                        return Err(e);
                    }
                    // Metadata again: the leader may have moved, the broker come back.
                    if let Err(e2) = client.refresh(&[]).await
                        && !e2.is_retriable()
                    {
                        return Err(e2);
                    }
                    break;
                }
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
    }
}

enum Failure {
    Retry(Error),
    /// The broker lost (or refused) this producer's state: start a new producer id.
    NewProducer,
    Fatal(Error),
}

async fn produce_once(
    client: &mut Client,
    node: i32,
    parts: &mut [Part],
    idx: &[usize],
    on_event: &mut dyn FnMut(Event),
) -> Result<(), Failure> {
    let classify = |e: Error| {
        if e.is_retriable() {
            Failure::Retry(e)
        } else {
            Failure::Fatal(e)
        }
    };
    let conn = client.node(node).await.map_err(classify)?;
    let v = conn.version(ApiKey::Produce).map_err(Failure::Fatal)?;
    let mut topic_data: Vec<TopicProduceData> = Vec::new();
    for &i in idx {
        let p = &parts[i];
        let Some((_, _, bytes)) = &p.pending else {
            continue;
        };
        let pd = PartitionProduceData::default()
            .with_index(p.partition as i32)
            .with_records(Some(bytes.clone()));
        match topic_data.last_mut() {
            Some(t) if t.name.0.as_str() == p.topic => t.partition_data.push(pd),
            _ => topic_data.push(
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(p.topic.clone())))
                    .with_partition_data(vec![pd]),
            ),
        }
    }
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(topic_data);
    let resp = conn.send(&req, v).await.map_err(classify)?;
    let broker = conn.broker().to_string();
    let mut failure = None;
    for t in &resp.responses {
        for pr in &t.partition_responses {
            let Some(&i) = idx.iter().find(|&&i| {
                parts[i].topic == t.name.0.as_str() && parts[i].partition as i32 == pr.index
            }) else {
                continue;
            };
            let part = &mut parts[i];
            let Some((first, next, bytes)) = part.pending.clone() else {
                continue;
            };
            let code = pr.error_code;
            let remote = if code == 0 {
                pr.base_offset
            } else if code == ResponseError::DuplicateSequenceNumber.code() {
                // Written before (a retry): it follows what was pushed last.
                part.checkpoint
                    .ranges
                    .last()
                    .map_or(pr.base_offset, |r| r[2] + (r[1] - r[0]))
            } else if code == ResponseError::UnknownProducerId.code()
                || code == ResponseError::OutOfOrderSequenceNumber.code()
                || code == ResponseError::InvalidProducerEpoch.code()
            {
                if !matches!(failure, Some(Failure::Fatal(_))) {
                    failure = Some(Failure::NewProducer);
                }
                continue;
            } else {
                let e = Error::Broker {
                    broker: broker.clone(),
                    api: "Produce".into(),
                    what: format!("{}-{}", part.topic, part.partition),
                    code,
                };
                // A fatal error wins over one worth retrying.
                if !matches!(failure, Some(Failure::Fatal(_))) {
                    failure = Some(classify(e));
                }
                continue;
            };
            let h = BatchHeader::parse(&bytes)
                .map_err(|e| Failure::Fatal(Error::Invalid(e.to_string())))?;
            part.seq = part.seq.wrapping_add(h.last_offset_delta + 1);
            part.checkpoint.record(first, next, remote);
            part.checkpoint
                .write(&part.dir, Durability::Unsynced)
                .map_err(|e| Failure::Fatal(e.into()))?;
            part.next = next;
            part.pending = None;
            part.summary.batches += 1;
            part.summary.records += h.records_count.max(0) as u64;
            part.summary.bytes += bytes.len() as u64;
            on_event(Event::Sent {
                topic: part.topic.clone(),
                partition: part.partition,
                next,
                end: part.end,
                bytes: bytes.len() as u64,
                records: h.records_count.max(0) as u64,
            });
        }
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// Commits each local group's offsets of the pushed partitions on the cluster, translated.
async fn commit_groups(
    client: &mut Client,
    topics: &Topics,
    local: &[Topic],
    parts: &[Part],
    on_event: &mut dyn FnMut(Event),
) -> Result<u64, Error> {
    let mut committed = 0;
    for (group, group_topics) in crate::group::list_groups(topics)? {
        let mut offsets: Vec<(String, u32, i64, i64)> = Vec::new();
        for topic in local.iter().filter(|t| group_topics.contains(&t.name)) {
            for p in 0..topic.partitions {
                let Some(c) = crate::group::committed(topic, p, &group)? else {
                    continue;
                };
                let Some(part) = parts
                    .iter()
                    .find(|x| x.topic == topic.name && x.partition == p)
                else {
                    continue;
                };
                match part.checkpoint.translate(c.offset) {
                    Some(remote) => offsets.push((topic.name.clone(), p, c.offset, remote)),
                    None => on_event(Event::GroupSkipped {
                        group: group.clone(),
                        topic: topic.name.clone(),
                        partition: p,
                        local: c.offset,
                        reason: if part.checkpoint.ranges.is_empty() {
                            "nothing of the partition was pushed".into()
                        } else {
                            format!(
                                "past what was pushed (up to {})",
                                part.checkpoint.next_offset
                            )
                        },
                    }),
                }
            }
        }
        if offsets.is_empty() {
            continue;
        }
        commit_group(client, &group, &offsets).await?;
        for (topic, partition, local, remote) in offsets {
            committed += 1;
            on_event(Event::GroupCommitted {
                group: group.clone(),
                topic,
                partition,
                local,
                remote,
            });
        }
    }
    Ok(committed)
}

async fn commit_group(
    client: &mut Client,
    group: &str,
    offsets: &[(String, u32, i64, i64)],
) -> Result<(), Error> {
    let mut backoff = Backoff::new(client.retry_for);
    loop {
        let conn = client.any().await?;
        let v = conn.version(ApiKey::FindCoordinator)?;
        let req = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(group.to_string()))
            .with_key_type(0);
        let resp = conn.send(&req, v).await?;
        if resp.error_code != 0 {
            if super::client::is_retriable(resp.error_code) && backoff.wait().await {
                continue;
            }
            return Err(conn.fatal(
                "FindCoordinator",
                resp.error_code,
                &format!("group '{group}'"),
            ));
        }
        let addr = format!("{}:{}", resp.host, resp.port);
        let mut conn = super::client::Connection::connect(&addr, client.security()).await?;
        let v = conn.version(ApiKey::OffsetCommit)?;
        let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
        for (topic, partition, _, remote) in offsets {
            let p = OffsetCommitRequestPartition::default()
                .with_partition_index(*partition as i32)
                .with_committed_offset(*remote)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(Some(StrBytes::from_static_str("")));
            match topics.last_mut() {
                Some(t) if t.name.0.as_str() == topic => t.partitions.push(p),
                _ => topics.push(
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.clone())))
                        .with_partitions(vec![p]),
                ),
            }
        }
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::from_static_str(""))
            .with_retention_time_ms(-1)
            .with_topics(topics);
        let resp = conn.send(&req, v).await?;
        let mut retry = false;
        for t in &resp.topics {
            for p in &t.partitions {
                if p.error_code == 0 {
                    continue;
                }
                if super::client::is_retriable(p.error_code) {
                    retry = true;
                } else {
                    return Err(conn.fatal(
                        "OffsetCommit",
                        p.error_code,
                        &format!("group '{group}' on {}-{}", t.name.0, p.partition_index),
                    ));
                }
            }
        }
        if !retry {
            return Ok(());
        }
        if !backoff.wait().await {
            return Err(conn.fatal(
                "OffsetCommit",
                ResponseError::CoordinatorNotAvailable.code(),
                &format!("group '{group}'"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_map_merges_dense_ranges_and_translates_gaps() {
        let mut c = Checkpoint::default();
        c.record(0, 10, 100);
        c.record(10, 20, 110);
        // A gap locally (20..25 compacted away): remote offsets are dense.
        c.record(25, 30, 120);
        assert_eq!(c.ranges, vec![[0, 20, 100], [25, 30, 120]]);
        assert_eq!(c.next_offset, 30);
        assert_eq!(c.translate(0), Some(100));
        assert_eq!(c.translate(15), Some(115));
        assert_eq!(c.translate(22), Some(120), "a gap maps to the next range");
        assert_eq!(c.translate(29), Some(124));
        assert_eq!(c.translate(30), Some(125), "the end of what was pushed");
        assert_eq!(c.translate(31), None, "past what was pushed");
        assert_eq!(Checkpoint::default().translate(0), None);
    }

    #[test]
    fn checkpoints_round_trip_per_destination() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoint {
            destination: "cluster:9092/x".into(),
            ..Checkpoint::default()
        };
        c.record(5, 9, 0);
        c.write(dir.path(), Durability::Durable).unwrap();
        assert_eq!(Checkpoint::read(dir.path(), "cluster:9092/x"), Some(c));
        assert_eq!(Checkpoint::read(dir.path(), "other"), None);
        assert!(
            dir.path()
                .join(".klog-mirror-push.cluster_9092_x.json")
                .is_file()
        );
    }
}
