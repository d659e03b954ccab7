//! `klog serve`: the data directory as a single-node Kafka broker, speaking Kafka's wire
//! protocol, while the command line keeps working on the same directory.
//!
//! # Shape
//! - [`wire`]: framing (4-byte size prefix, [`MAX_REQUEST_BYTES`]), request and response
//!   headers, the table of APIs and versions advertised ([`wire::SUPPORTED`]).
//! - [`listener`]: Kafka's security protocols per listener (`PLAINTEXT`, `SSL`,
//!   `SASL_PLAINTEXT`, `SASL_SSL`), the TLS configuration, and the refusal of an unprotected
//!   listener off loopback.
//! - [`sasl`] (PLAIN, SCRAM-SHA-256/512 exchanges) and [`users`] (`klog-users.json`, SCRAM
//!   keys only); [`acl`] (`klog-acls.json`, allow rules), [`authz`] (what each request
//!   needs), on once a user exists, and [`acl_apis`] (CreateAcls, DescribeAcls, DeleteAcls).
//! - [`quota`]: connection limits (in all, per address) and produce/fetch byte-rate quotas
//!   per principal.
//! - [`connection`]: one task per connection, a request at a time: read a frame, decode it,
//!   answer it, then read the next one, so responses go out in request order (as a Kafka
//!   broker mutes a connection until its response is sent). A produce with `acks=0` gets no
//!   response; if it failed, its connection closes (the producer's only sign of it).
//! - [`broker`]: what every connection shares: the topics, one writer per partition (a
//!   [`crate::storage::Log`] and its producers' idempotence state), the producer-id block,
//!   and the wake-up that long-polling fetches wait on.
//! - The handlers, one module per family: [`produce`], [`fetch`] (whose large answers
//!   [`fetch_frame`] sends from the segment files with `sendfile`), [`list_offsets`],
//!   [`metadata`] (Metadata, topics, configs, the cluster), [`groups`] (coordinator lookup,
//!   offsets, groups).
//! - [`coordinator`]: the consumer-group coordinator (JoinGroup, SyncGroup, Heartbeat,
//!   LeaveGroup), whose members share groups, partition locks and offsets with
//!   `klog consume -g`.
//!
//! Record data is never decoded and re-encoded: a produced batch is validated (framing, CRC,
//! magic 2, offsets, `max.message.bytes`) and appended as it is; a fetch returns the
//! segment's bytes as they are, whole batches, the one holding the fetch offset first.
//!
//! # Threads
//! The runtime is tokio's multi-thread one: connections are tasks, storage work runs on
//! tokio's blocking pool (segment reads and appends are blocking file I/O under `flock`).
//! A long-polling fetch waits on [`broker::Broker::appends`] without holding a thread.
//!
//! # Invariants
//! 1. Nothing from a request that is rejected as a whole (a frame over the size cap, one that
//!    does not decode, an unknown API key or version) is written to the data directory: the
//!    request is decoded in full before any handler runs.
//! 2. A partition has at most one writer in the server ([`broker::Broker::writer`]); other
//!    processes (`klog produce`) serialize with it on the partition lock, as always.
//! 3. A duplicate of one of the last five batches of an idempotent producer on a partition
//!    is answered with the offsets it got the first time and appended nothing.
//! 4. A panic in a handler closes that connection only.
//! 5. On a SASL listener no request but ApiVersions, SaslHandshake and SaslAuthenticate
//!    reaches a handler before the connection has authenticated.
//! 6. Once a user exists, no part of a request that the ACLs do not allow its principal
//!    reaches a handler (see [`authz`]).
//!
//! # Crash safety
//! The server adds no state of its own to the data directory beyond `klog-server.json` (the
//! cluster id and the end of the producer-id block handed out, written atomically before any
//! id of a new block is given out) and reads `klog-users.json` and `klog-acls.json` (written
//! atomically by `klog users` and `klog acls`; reread when they change); offset commits, member slots and partition locks are
//! [`crate::group`]'s files, as the CLI writes them (groups' membership lives in memory: the
//! OS releases the locks of a server that dies). Appends are the storage layer's: a `kill -9` leaves what
//! `Log` recovery handles. Idempotence state is rebuilt from the tail of each partition's
//! log when the server first writes to it.
//!
//! # Kafka
//! `SocketServer` (framing, `socket.request.max.bytes`), `KafkaApis` (dispatch), the group
//! coordinator (the classic protocol; offset commits of members and "simple" commits,
//! generation -1), `ProducerStateManager` (de-duplication), `SaslServerAuthenticator` and
//! `ScramSaslServer` (KIP-152 framing, and the raw tokens after a SaslHandshake v0). The
//! ACLs are `AclAuthorizer`'s allow rules. Not here (yet): KIP-848's consumer groups,
//! transactions, DENY ACLs, quotas per client id or set through the API, re-authentication
//! (`session_lifetime_ms` is 0), GSSAPI and OAUTHBEARER, replication.

pub mod acl;
pub mod acl_apis;
pub mod authz;
pub mod broker;
pub mod connection;
pub mod coordinator;
pub mod fetch;
pub mod fetch_frame;
pub mod groups;
pub mod idempotence;
pub mod list_offsets;
pub mod listener;
pub mod metadata;
pub mod produce;
pub mod quota;
pub mod sasl;
pub mod users;
pub mod wire;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

pub use broker::Broker;

/// Kafka's `socket.request.max.bytes` default: larger frames close the connection.
pub const MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// The broker's node id, in Metadata, FindCoordinator and DescribeCluster.
pub const NODE_ID: i32 = 0;

/// How long a shutdown waits for in-flight requests before it flushes and returns anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything `klog serve` is told on its command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory.
    pub dir: PathBuf,
    /// Addresses to listen on (`[PROTOCOL://]host:port`, Kafka's security protocols, a
    /// bare address is `PLAINTEXT`; port 0 picks a free one).
    pub listen: Vec<String>,
    /// `[PROTOCOL://]host:port` given to the clients of each listener in Metadata and
    /// FindCoordinator, in the order of `listen`; default: the listener's own address.
    pub advertised_listeners: Vec<String>,
    /// Certificate, key and client CA of the TLS listeners (`SSL`, `SASL_SSL`).
    pub tls: Option<listener::TlsFiles>,
    /// Whether a listener off loopback may lack TLS or SASL.
    pub allow_insecure_listener: bool,
    /// Whether Metadata creates a topic a client asks for that does not exist (Kafka's
    /// `auto.create.topics.enable`).
    pub auto_create_topics: bool,
    /// Partitions of an auto-created topic, and of a CreateTopics without a count
    /// (`num.partitions`).
    pub default_partitions: u32,
    /// Kafka's `group.initial.rebalance.delay.ms`: how long the first rebalance of a group
    /// without members waits for more members to join.
    pub group_initial_rebalance_delay_ms: u64,
    /// Largest request frame (`socket.request.max.bytes`).
    pub max_request_bytes: usize,
    /// Connections open at once (`max.connections`); more are closed when accepted.
    pub max_connections: usize,
    /// Connections open at once from one address (`max.connections.per.ip`).
    pub max_connections_per_ip: usize,
    /// Produce bytes per second per principal (`producer_byte_rate`; `None`: unlimited).
    pub produce_byte_rate: Option<u64>,
    /// Fetch bytes per second per principal (`consumer_byte_rate`; `None`: unlimited).
    pub fetch_byte_rate: Option<u64>,
}

impl Config {
    /// The defaults of `klog serve` for a data directory.
    pub fn new(dir: impl Into<PathBuf>) -> Config {
        Config {
            dir: dir.into(),
            listen: vec!["127.0.0.1:9092".into()],
            advertised_listeners: Vec::new(),
            tls: None,
            allow_insecure_listener: false,
            auto_create_topics: true,
            default_partitions: 1,
            group_initial_rebalance_delay_ms: 3000,
            max_request_bytes: MAX_REQUEST_BYTES,
            max_connections: usize::MAX,
            max_connections_per_ip: usize::MAX,
            produce_byte_rate: None,
            fetch_byte_rate: None,
        }
    }
}

/// What the server reports while it runs (the CLI prints these on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A topic was created because a client asked for it (Metadata auto-creation).
    AutoCreated { topic: String, partitions: u32 },
    /// A connection ended with an error worth knowing (a bad frame, a failed write).
    ConnectionError { peer: SocketAddr, reason: String },
    /// A SASL authentication failed (rate-limited: `suppressed` failures were not reported
    /// since the last one that was).
    AuthenticationFailed {
        peer: SocketAddr,
        mechanism: String,
        user: Option<String>,
        reason: String,
        suppressed: u64,
    },
    /// Storage failed under a request: the error code sent, and why.
    StorageError { what: String, reason: String },
    /// Shutting down: requests in flight are being finished.
    Stopping,
}

/// Where [`Event`]s go.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// A bound, not yet running server.
pub struct Server {
    listeners: Vec<(TcpListener, listener::Listener)>,
    broker: Arc<Broker>,
}

impl Server {
    /// Checks the listeners (see [`listener::check_insecure`]), loads the TLS files, binds
    /// every listen address and opens the data directory. Nothing is accepted until
    /// [`Server::run`].
    pub fn bind(config: Config, events: EventSink) -> Result<Server> {
        let specs = config
            .listen
            .iter()
            .map(|l| listener::ListenerSpec::parse(l))
            .collect::<Result<Vec<_>>>()?;
        listener::check_insecure(&specs, config.allow_insecure_listener)?;
        if config.advertised_listeners.len() > specs.len() {
            return Err(Error::Invalid(format!(
                "{} advertised listeners for {} listeners",
                config.advertised_listeners.len(),
                specs.len()
            )));
        }
        let tls = match (&config.tls, specs.iter().find(|s| s.protocol.tls())) {
            (Some(files), Some(_)) => Some(tokio_rustls::TlsAcceptor::from(
                listener::server_config(files)?,
            )),
            (None, Some(s)) => {
                return Err(Error::Invalid(format!(
                    "the listener {}://{} needs --tls-cert and --tls-key",
                    s.protocol.name(),
                    s.bind_address()
                )));
            }
            (_, None) => None,
        };
        let mut listeners = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let a = spec.bind_address();
            let l = TcpListener::bind(a.as_str()).map_err(|e| Error::Io {
                op: "listen on",
                path: PathBuf::from(&a),
                source: e,
            })?;
            l.set_nonblocking(true).map_err(|e| Error::Io {
                op: "listen on",
                path: PathBuf::from(&a),
                source: e,
            })?;
            let bound = l.local_addr().map_err(|e| Error::Io {
                op: "listen on",
                path: PathBuf::from(&a),
                source: e,
            })?;
            let advertised = match config.advertised_listeners.get(i) {
                Some(adv) => {
                    let adv = listener::ListenerSpec::parse(adv)?;
                    (adv.host, adv.port)
                }
                None => (bound.ip().to_string(), bound.port()),
            };
            let info = listener::Listener {
                protocol: spec.protocol,
                advertised,
                tls: if spec.protocol.tls() {
                    tls.clone()
                } else {
                    None
                },
            };
            listeners.push((l, info));
        }
        let advertised = listeners
            .first()
            .map(|(_, info)| info.advertised.clone())
            .ok_or_else(|| Error::Invalid("no address to listen on".into()))?;
        let broker = Broker::open(config, advertised, events)?;
        Ok(Server {
            listeners,
            broker: Arc::new(broker),
        })
    }

    /// The addresses actually listened on (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// Each listener's security protocol and bound address (port 0 resolved).
    pub fn listeners(&self) -> Vec<(listener::SecurityProtocol, SocketAddr)> {
        self.listeners
            .iter()
            .filter_map(|(l, info)| Some((info.protocol, l.local_addr().ok()?)))
            .collect()
    }

    /// The shared broker state (for tests and embedding).
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests in flight
    /// finish (at most [`SHUTDOWN_GRACE`]), flushes every partition written and returns.
    pub fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("klog-serve")
            .build()
            .map_err(|e| Error::Io {
                op: "start the runtime for",
                path: self.broker.config().dir.clone(),
                source: e,
            })?;
        let broker = self.broker.clone();
        rt.block_on(connection::serve(self.listeners, broker.clone(), shutdown))?;
        // Idle keep-alive connections may still be parked on a read: they are dropped with
        // the runtime.
        rt.shutdown_timeout(Duration::from_millis(100));
        broker.close()
    }
}

/// Kafka's error code for a storage error under a request.
pub fn error_code(e: &Error) -> i16 {
    match e {
        Error::RecordTooLarge { .. } => kafka_protocol::ResponseError::MessageTooLarge.code(),
        Error::TopicNotFound(_) | Error::PartitionNotFound { .. } => {
            kafka_protocol::ResponseError::UnknownTopicOrPartition.code()
        }
        Error::InvalidTopicName { .. } => {
            kafka_protocol::ResponseError::InvalidTopicException.code()
        }
        Error::TopicExists(_) => kafka_protocol::ResponseError::TopicAlreadyExists.code(),
        Error::InvalidConfig { .. } => kafka_protocol::ResponseError::InvalidConfig.code(),
        Error::InvalidGroupName { .. } => kafka_protocol::ResponseError::InvalidGroupId.code(),
        Error::GroupNotEmpty { .. } => kafka_protocol::ResponseError::NonEmptyGroup.code(),
        Error::Invalid(_) => kafka_protocol::ResponseError::InvalidRequest.code(),
        _ => kafka_protocol::ResponseError::KafkaStorageError.code(),
    }
}

/// Splits `host:port` (an IPv6 host in brackets).
pub fn parse_host_port(s: &str) -> Result<(String, u16)> {
    let bad = || Error::Invalid(format!("invalid address '{s}': expected HOST:PORT"));
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod address_tests {
    use super::*;

    #[test]
    fn host_port_parsing() {
        assert_eq!(
            parse_host_port("localhost:9092").unwrap(),
            ("localhost".into(), 9092)
        );
        assert_eq!(parse_host_port("[::1]:1").unwrap(), ("::1".into(), 1));
        for bad in ["9092", ":9092", "h:", "h:x", "h:70000"] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod tests;
