//! A Kafka client for the mirror, on the `kafka-protocol` crate: one tokio connection per
//! broker, framing, version choice from ApiVersions, the brokers and partition leaders of a
//! cluster from Metadata, and backoff for retriable errors.
//!
//! # Invariants
//! 1. A request goes out at the highest version both sides have: the broker's range from its
//!    ApiVersions answer, ours from [`VERSIONS`]. An API the broker lacks in our range is a
//!    fatal [`Error::Unsupported`] naming the broker.
//! 2. One request at a time per connection; each response's correlation id is checked
//!    against its request's, and a response larger than [`MAX_RESPONSE_BYTES`] closes the
//!    connection.
//! 3. Record data stays raw bytes both ways (the crate's `records: Option<Bytes>`): nothing
//!    here decodes or re-encodes a batch.
//! 4. A connection that failed is dropped; the next request to that broker connects again.
//! 5. Every connection has the cluster's [`Security`]: TLS before anything is sent, then
//!    ApiVersions, then (SASL protocols) SaslHandshake v1 and SaslAuthenticate before any
//!    other request. A TLS or authentication failure is fatal, not retried.
//!
//! # Crash safety
//! No state: everything is in memory, learned again from the cluster on the next run.
//!
//! # Kafka
//! The Java client's `NetworkClient` (ApiVersions on connect, `NodeApiVersions`), `Metadata`
//! (leaders per partition, refresh on `NOT_LEADER_OR_FOLLOWER`) and `retry.backoff.ms`.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::format::BatchHeader;
use crate::format::batch::{CURRENT_MAGIC, Peek, peek_entry};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslHandshakeRequest, TopicName,
    metadata_request::MetadataRequestTopic,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::Error;
use super::security::{Mechanism, Sasl, ScramClient, Security, Stream, looks_like_tls};

/// The versions of each API this client speaks (Kafka 4.1 numbering; see the README for the
/// Kafka releases they correspond to). Fetch stops at 12 and Produce at 9: later versions
/// name topics by id only.
pub const VERSIONS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::SaslHandshake, 1, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

/// Largest response accepted (a fetch asks for far less).
pub const MAX_RESPONSE_BYTES: usize = 512 << 20;

/// The client id sent in every request header.
pub const CLIENT_ID: &str = "klog-mirror";

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request may wait for its response (beyond a fetch's own wait).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Kafka's name of an error code: `NOT_LEADER_OR_FOLLOWER (6)`.
pub fn error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "NONE (0)".into(),
        Some(ResponseError::Unknown(c)) => format!("UNKNOWN ({c})"),
        Some(e) => {
            let mut out = String::new();
            for (i, c) in format!("{e}").chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            format!("{out} ({code})")
        }
    }
}

/// Whether a Kafka error code is worth retrying (after a metadata refresh and a backoff).
pub fn is_retriable(code: i16) -> bool {
    ResponseError::try_from_code(code).is_some_and(|e| e.is_retriable())
}

/// Exponential backoff between retries: `retry.backoff.ms` 100 doubling to 1 s, for at most
/// `limit` in all.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    spent: Duration,
    limit: Duration,
}

impl Backoff {
    pub fn new(limit: Duration) -> Backoff {
        Backoff {
            next: Duration::from_millis(100),
            spent: Duration::ZERO,
            limit,
        }
    }

    /// The next wait, or `None` once the limit is spent.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.spent >= self.limit {
            return None;
        }
        let d = self.next.min(self.limit - self.spent);
        self.spent += d;
        self.next = (self.next * 2).min(Duration::from_secs(1));
        Some(d)
    }

    /// Waits the next delay; `false` once the limit is spent.
    pub async fn wait(&mut self) -> bool {
        match self.next_delay() {
            Some(d) => {
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }
}

/// One connection to one broker, with the versions it speaks.
#[derive(Debug)]
pub struct Connection {
    broker: String,
    stream: BufReader<Stream>,
    /// Whether the stream is TLS (else a TLS record in answer is a misconfiguration).
    tls: bool,
    versions: HashMap<i16, (i16, i16)>,
    correlation: i32,
}

impl Connection {
    /// Connects to `broker` (`host:port`) with `security` (TLS handshake first), asks its
    /// API versions and authenticates (SASL).
    pub async fn connect(broker: &str, security: &Security) -> Result<Connection, Error> {
        let refused = |reason: String| Error::Connect {
            broker: broker.to_string(),
            reason,
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(broker))
            .await
            .map_err(|_| refused("timed out".into()))?
            .map_err(|e| refused(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let stream = security.wrap(broker, stream).await?;
        let mut conn = Connection {
            broker: broker.to_string(),
            tls: matches!(stream, Stream::Tls(_)),
            stream: BufReader::with_capacity(1 << 20, stream),
            versions: HashMap::new(),
            correlation: 0,
        };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("klog"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut resp: ApiVersionsResponse = conn.send(&req, 3).await?;
        if resp.error_code == ResponseError::UnsupportedVersion.code() {
            resp = conn.send(&ApiVersionsRequest::default(), 0).await?;
        }
        if resp.error_code != 0 {
            return Err(conn.fatal("ApiVersions", resp.error_code, ""));
        }
        conn.versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        if let Some(sasl) = &security.sasl {
            conn.authenticate(sasl).await?;
        }
        Ok(conn)
    }

    /// SaslHandshake v1, then the mechanism's tokens in SaslAuthenticate requests.
    async fn authenticate(&mut self, sasl: &Sasl) -> Result<(), Error> {
        let failed = |broker: &str, reason: String| Error::Auth {
            broker: broker.to_string(),
            reason,
        };
        let name = sasl.mechanism.name();
        let v = self.version(ApiKey::SaslHandshake)?;
        let req = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(name));
        let resp = self.send(&req, v).await?;
        if resp.error_code != 0 {
            let offered: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(failed(
                &self.broker,
                format!(
                    "it does not offer {name} (it offers {}): {}",
                    if offered.is_empty() {
                        "none".into()
                    } else {
                        offered.join(", ")
                    },
                    error_name(resp.error_code)
                ),
            ));
        }
        let v = self.version(ApiKey::SaslAuthenticate)?;
        match sasl.mechanism {
            Mechanism::Plain => {
                let message = [
                    &b"\0"[..],
                    sasl.username.as_bytes(),
                    b"\0",
                    sasl.password().as_bytes(),
                ];
                self.sasl_token(v, message.concat()).await?;
            }
            Mechanism::Scram(mech) => {
                let nonce = super::security::client_nonce().map_err(|e| failed(&self.broker, e))?;
                let mut scram = ScramClient::new(mech, &sasl.username, nonce);
                let server_first = self.sasl_token(v, scram.first()).await?;
                let last = scram
                    .last(&server_first, sasl.password())
                    .map_err(|e| failed(&self.broker, e))?;
                let server_final = self.sasl_token(v, last).await?;
                scram
                    .verify(&server_final)
                    .map_err(|e| failed(&self.broker, e))?;
            }
        }
        Ok(())
    }

    /// One SaslAuthenticate request: the broker's token, or its refusal.
    async fn sasl_token(&mut self, version: i16, token: Vec<u8>) -> Result<Bytes, Error> {
        let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
        let resp = self.send(&req, version).await?;
        if resp.error_code != 0 {
            let message = resp.error_message.as_ref().map_or("", |m| m.as_str());
            return Err(Error::Auth {
                broker: self.broker.clone(),
                reason: if message.is_empty() {
                    error_name(resp.error_code)
                } else {
                    format!("{message} ({})", error_name(resp.error_code))
                },
            });
        }
        Ok(resp.auth_bytes)
    }

    /// The broker's address, as given.
    pub fn broker(&self) -> &str {
        &self.broker
    }

    /// The version to use for `api`: the highest both sides have.
    pub fn version(&self, api: ApiKey) -> Result<i16, Error> {
        let (ours_min, ours_max) = VERSIONS
            .iter()
            .find(|(k, _, _)| *k == api)
            .map(|&(_, a, b)| (a, b))
            .unwrap_or((0, 0));
        let theirs = self.versions.get(&(api as i16)).copied();
        match theirs {
            Some((min, max)) if min <= ours_max && ours_min <= max => Ok(max.min(ours_max)),
            _ => Err(Error::Unsupported {
                broker: self.broker.clone(),
                api: format!("{api:?}"),
                detail: match theirs {
                    Some((min, max)) => {
                        format!("it speaks versions {min} to {max}, klog {ours_min} to {ours_max}")
                    }
                    None => "it does not support it".into(),
                },
            }),
        }
    }

    /// Sends `req` at `version` and waits for its response.
    pub async fn send<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response, Error> {
        self.correlation = self.correlation.wrapping_add(1);
        let correlation = self.correlation;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
        let mut out = BytesMut::with_capacity(128);
        out.put_i32(0);
        header
            .encode(&mut out, R::header_version(version))
            .and_then(|()| req.encode(&mut out, version))
            .map_err(|e| self.protocol(format!("cannot encode a request: {e}")))?;
        let size = (out.len() - 4) as i32;
        out[0..4].copy_from_slice(&size.to_be_bytes());
        let stream = &mut self.stream;
        // Only a connection's first answer can be a TLS listener's alert (later sizes are
        // the frames of a broker that spoke Kafka already).
        let plain_first = !self.tls && correlation == 1;
        let frame = tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(30), async {
            stream.get_mut().write_all(&out).await?;
            let size = stream.read_i32().await?;
            if plain_first && looks_like_tls(size) {
                return Err(std::io::Error::other(TLS_ANSWER));
            }
            if size < 0 || size as usize > MAX_RESPONSE_BYTES {
                return Err(std::io::Error::other(format!("response of {size} bytes")));
            }
            // Read into spare capacity: no zeroing of a fetch's megabytes first. What the
            // buffer holds already is taken from it, the rest read from the socket straight
            // into the frame (through the buffer, its last part would be copied twice).
            let size = size as usize;
            let mut frame = Vec::with_capacity(size);
            let held = stream.buffer().len().min(size);
            frame.extend_from_slice(&stream.buffer()[..held]);
            stream.consume(held);
            stream
                .get_mut()
                .take((size - held) as u64)
                .read_to_end(&mut frame)
                .await?;
            if frame.len() < size {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            Ok(Bytes::from(frame))
        })
        .await;
        let mut frame: Bytes = match frame {
            Ok(Err(e)) if e.to_string() == TLS_ANSWER => {
                return Err(Error::Tls {
                    broker: self.broker.clone(),
                    reason: TLS_ANSWER.into(),
                });
            }
            // A TLS alert (a client certificate the broker refused, say) is not retried.
            Ok(Err(e)) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
                return Err(Error::Tls {
                    broker: self.broker.clone(),
                    reason: e.to_string(),
                });
            }
            Ok(r) => r.map_err(|e| self.lost(e.to_string()))?,
            Err(_) => return Err(self.lost("no response in time".into())),
        };
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let h = ResponseHeader::decode(&mut frame, R::Response::header_version(version))?;
            let body = R::Response::decode(&mut frame, version)?;
            Ok::<_, anyhow::Error>((h, body))
        }));
        match decoded {
            Ok(Ok((h, body))) if h.correlation_id == correlation => {
                let _ = frame.remaining();
                Ok(body)
            }
            Ok(Ok((h, _))) => Err(self.protocol(format!(
                "response to request {correlation} has correlation id {}",
                h.correlation_id
            ))),
            Ok(Err(e)) => Err(self.protocol(format!("malformed response: {e}"))),
            Err(_) => Err(self.protocol("malformed response".into())),
        }
    }

    /// A fatal error code of `api`, about `what` (a topic or partition, or nothing).
    pub fn fatal(&self, api: &str, code: i16, what: &str) -> Error {
        Error::Broker {
            broker: self.broker.clone(),
            api: api.to_string(),
            what: what.to_string(),
            code,
        }
    }

    fn lost(&self, reason: String) -> Error {
        Error::Lost {
            broker: self.broker.clone(),
            reason,
        }
    }

    fn protocol(&self, reason: String) -> Error {
        Error::Protocol {
            broker: self.broker.clone(),
            reason,
        }
    }
}

/// Why a plaintext connection failed when a TLS record came back.
const TLS_ANSWER: &str =
    "the broker answered with TLS: it is a TLS listener (--security-protocol SSL or SASL_SSL)";

/// A partition's leader, as Metadata gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leader {
    pub node: i32,
    pub epoch: i32,
}

/// A topic as Metadata described it.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub name: String,
    pub internal: bool,
    /// Leader of each partition (index = partition), `None` while it has none.
    pub leaders: Vec<Option<Leader>>,
}

/// A cluster: its brokers (from Metadata), one connection per broker, made when first
/// needed, and the leader of each partition.
#[derive(Debug)]
pub struct Client {
    bootstrap: Vec<String>,
    /// node id → `host:port`.
    brokers: HashMap<i32, String>,
    conns: HashMap<i32, Connection>,
    /// A connection to any broker (a bootstrap one at first), for Metadata.
    any: Option<Connection>,
    /// Learned from the last Metadata.
    pub topics: HashMap<String, TopicInfo>,
    pub controller: Option<i32>,
    /// How long a retriable failure is retried before it is reported.
    pub retry_for: Duration,
    /// TLS and SASL of every connection.
    security: Security,
}

impl Client {
    /// Connects to the first bootstrap broker that answers (each tried in turn) and reads the
    /// cluster's brokers. The error names every broker tried.
    pub async fn connect(bootstrap: &[String], security: &Security) -> Result<Client, Error> {
        let mut client = Client {
            bootstrap: bootstrap.to_vec(),
            brokers: HashMap::new(),
            conns: HashMap::new(),
            any: None,
            topics: HashMap::new(),
            controller: None,
            retry_for: Duration::from_secs(30),
            security: security.clone(),
        };
        client.any = Some(client.connect_any().await?);
        client.refresh(&[]).await?;
        Ok(client)
    }

    async fn connect_any(&mut self) -> Result<Connection, Error> {
        let mut errors = Vec::new();
        let known: Vec<String> = self.brokers.values().cloned().collect();
        for b in self.bootstrap.iter().chain(known.iter()) {
            match Connection::connect(b, &self.security).await {
                Ok(c) => return Ok(c),
                Err(e @ (Error::Unsupported { .. } | Error::Tls { .. } | Error::Auth { .. })) => {
                    return Err(e);
                }
                Err(e) => errors.push(e),
            }
        }
        match errors.len() {
            1 => Err(errors.remove(0)),
            _ => Err(Error::Connect {
                broker: self.bootstrap.join(", "),
                reason: errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
        }
    }

    /// The bootstrap connection (any broker), reconnecting if it was lost.
    pub async fn any(&mut self) -> Result<&mut Connection, Error> {
        if self.any.is_none() {
            self.any = Some(self.connect_any().await?);
        }
        self.any.as_mut().ok_or(Error::Internal("no connection"))
    }

    /// Drops the bootstrap connection (after it failed).
    pub fn drop_any(&mut self) {
        self.any = None;
    }

    /// Reads Metadata for `topics` (every topic when empty), without creating any, and keeps
    /// the brokers and leaders it gives. Retries lost connections and retriable errors.
    pub async fn refresh(&mut self, topics: &[String]) -> Result<MetadataResponse, Error> {
        let mut backoff = Backoff::new(self.retry_for);
        loop {
            match self.try_refresh(topics).await {
                Ok(m) => return Ok(m),
                Err(e) if e.is_retriable() => {
                    self.drop_any();
                    if !backoff.wait().await {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_refresh(&mut self, topics: &[String]) -> Result<MetadataResponse, Error> {
        let conn = self.any().await?;
        let v = conn.version(ApiKey::Metadata)?;
        let req = MetadataRequest::default()
            .with_topics(if topics.is_empty() {
                None
            } else {
                Some(
                    topics
                        .iter()
                        .map(|t| {
                            MetadataRequestTopic::default()
                                .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                        })
                        .collect(),
                )
            })
            .with_allow_auto_topic_creation(false);
        let resp = match conn.send(&req, v).await {
            Ok(r) => r,
            Err(e) => {
                self.drop_any();
                return Err(e);
            }
        };
        for b in &resp.brokers {
            let addr = format!("{}:{}", b.host, b.port);
            if self.brokers.get(&b.node_id.0) != Some(&addr) {
                self.conns.remove(&b.node_id.0);
                self.brokers.insert(b.node_id.0, addr);
            }
        }
        self.controller = Some(resp.controller_id.0).filter(|&c| c >= 0);
        for t in &resp.topics {
            let Some(name) = &t.name else { continue };
            let name = name.0.to_string();
            if t.error_code != 0 {
                self.topics.remove(&name);
                continue;
            }
            let n = t
                .partitions
                .iter()
                .map(|p| p.partition_index + 1)
                .max()
                .unwrap_or(0);
            let mut leaders = vec![None; n.max(0) as usize];
            for p in &t.partitions {
                if p.leader_id.0 >= 0 && p.partition_index >= 0 {
                    leaders[p.partition_index as usize] = Some(Leader {
                        node: p.leader_id.0,
                        epoch: p.leader_epoch,
                    });
                }
            }
            self.topics.insert(
                name.clone(),
                TopicInfo {
                    name,
                    internal: t.is_internal,
                    leaders,
                },
            );
        }
        Ok(resp)
    }

    /// The address of broker `node`.
    pub fn broker_addr(&self, node: i32) -> String {
        self.brokers
            .get(&node)
            .cloned()
            .unwrap_or_else(|| format!("node {node}"))
    }

    /// The connection to broker `node`, connecting if needed.
    pub async fn node(&mut self, node: i32) -> Result<&mut Connection, Error> {
        if !self.conns.contains_key(&node) {
            let Some(addr) = self.brokers.get(&node).cloned() else {
                return Err(Error::Lost {
                    broker: format!("node {node}"),
                    reason: "not in the cluster's metadata".into(),
                });
            };
            let c = Connection::connect(&addr, &self.security).await?;
            self.conns.insert(node, c);
        }
        self.conns
            .get_mut(&node)
            .ok_or(Error::Internal("no connection"))
    }

    /// The security of the client's connections (for connections of its own, to a group
    /// coordinator).
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// Drops the connection to `node` (after it failed): the next request connects again.
    pub fn drop_node(&mut self, node: i32) {
        self.conns.remove(&node);
    }

    /// The leader of `topic`'s `partition` from the last Metadata.
    pub fn leader(&self, topic: &str, partition: u32) -> Option<Leader> {
        self.topics
            .get(topic)
            .and_then(|t| t.leaders.get(partition as usize).copied().flatten())
    }

    /// The leader of a partition, refreshing Metadata (with backoff) until it has one.
    pub async fn wait_leader(&mut self, topic: &str, partition: u32) -> Result<Leader, Error> {
        let mut backoff = Backoff::new(self.retry_for);
        loop {
            if let Some(l) = self.leader(topic, partition) {
                return Ok(l);
            }
            let m = self.refresh(&[topic.to_string()]).await?;
            if let Some(l) = self.leader(topic, partition) {
                return Ok(l);
            }
            let code = m
                .topics
                .iter()
                .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
                .map_or(0, |t| t.error_code);
            if code != 0 && !is_retriable(code) || !backoff.wait().await {
                let broker = self.any().await.map(|c| c.broker().to_string())?;
                return Err(Error::Broker {
                    broker,
                    api: "Metadata".into(),
                    what: format!("{topic}-{partition}"),
                    code: if code == 0 {
                        ResponseError::LeaderNotAvailable.code()
                    } else {
                        code
                    },
                });
            }
        }
    }
}

/// One entry of a fetch response's records, whole: its framing, its last offset (the base
/// offset for legacy messages) and its bytes, sharing the response's buffer.
#[derive(Debug, Clone)]
pub struct FetchedBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub magic: i8,
    /// Records in it (v2 batches; 1 for a legacy message).
    pub records: i32,
    pub bytes: Bytes,
}

/// A response's partition data as whole entries, in order; a partial entry at the end (a
/// fetch size limit cut it) and anything after a malformed frame are left out, as Kafka's
/// clients do.
pub fn whole_batches(records: &Bytes) -> impl Iterator<Item = FetchedBatch> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let rest = records.get(pos..)?;
        let Ok(Peek::Entry(frame)) = peek_entry(rest) else {
            return None;
        };
        let bytes = records.slice(pos..pos + frame.size);
        pos += frame.size;
        let (last_offset, count) = match BatchHeader::parse(&bytes) {
            Ok(h) if frame.magic == CURRENT_MAGIC => (h.last_offset(), h.records_count),
            _ => (frame.offset, 1),
        };
        Some(FetchedBatch {
            base_offset: frame.offset,
            last_offset,
            magic: frame.magic,
            records: count,
            bytes,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::BatchBuilder;
    use crate::format::batch::set_base_offset;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(error_name(6), "NOT_LEADER_OR_FOLLOWER (6)");
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION (3)");
        assert!(is_retriable(6) && !is_retriable(29));
    }

    #[test]
    fn backoff_doubles_to_a_second_within_its_limit() {
        let mut b = Backoff::new(Duration::from_millis(2500));
        let waits: Vec<u64> = std::iter::from_fn(|| b.next_delay())
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000]);
    }

    #[test]
    fn whole_batches_splits_and_leaves_a_partial_one_out() {
        let mut all = Vec::new();
        for (base, n) in [(0i64, 2usize), (5, 3)] {
            let mut b = BatchBuilder::new();
            for i in 0..n {
                b.append(i as i64, None, Some(b"v"), &[]);
            }
            let mut bytes = b.finish();
            set_base_offset(&mut bytes, base);
            all.extend_from_slice(&bytes);
        }
        let full = Bytes::from(all.clone());
        let got: Vec<(i64, i64, i32)> = whole_batches(&full)
            .map(|b| (b.base_offset, b.last_offset, b.records))
            .collect();
        assert_eq!(got, [(0, 1, 2), (5, 7, 3)]);
        let cut = Bytes::from(all[..all.len() - 3].to_vec());
        let got: Vec<i64> = whole_batches(&cut).map(|b| b.base_offset).collect();
        assert_eq!(got, [0]);
    }

    /// A fake broker that answers ApiVersions and then closes: the version chosen is the
    /// highest common one, and an API outside our ranges is refused naming the broker.
    #[tokio::test]
    async fn versions_are_the_highest_common_ones() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let size = s.read_i32().await.unwrap();
            let mut frame = vec![0u8; size as usize];
            s.read_exact(&mut frame).await.unwrap();
            let correlation = i32::from_be_bytes(frame[4..8].try_into().unwrap());
            let resp = ApiVersionsResponse::default().with_api_keys(vec![
                kafka_protocol::messages::api_versions_response::ApiVersion::default()
                    .with_api_key(ApiKey::Fetch as i16)
                    .with_min_version(0)
                    .with_max_version(17),
                kafka_protocol::messages::api_versions_response::ApiVersion::default()
                    .with_api_key(ApiKey::Produce as i16)
                    .with_min_version(0)
                    .with_max_version(2),
            ]);
            let mut out = BytesMut::new();
            out.put_i32(0);
            out.put_i32(correlation);
            resp.encode(&mut out, 3).unwrap();
            let n = (out.len() - 4) as i32;
            out[0..4].copy_from_slice(&n.to_be_bytes());
            s.write_all(&out).await.unwrap();
        });
        let conn = Connection::connect(&addr, &Security::default())
            .await
            .unwrap();
        server.await.unwrap();
        assert_eq!(conn.version(ApiKey::Fetch).unwrap(), 12);
        let err = conn.version(ApiKey::Produce).unwrap_err().to_string();
        assert!(err.contains(&addr) && err.contains("Produce"), "{err}");
        let err = conn.version(ApiKey::Metadata).unwrap_err().to_string();
        assert!(err.contains("does not support"), "{err}");
    }

    #[tokio::test]
    async fn connection_refused_names_the_broker() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let err = Client::connect(std::slice::from_ref(&addr), &Security::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(&addr) && err.contains("refused"), "{err}");
    }
}
