//! What every connection of the server shares: the topics, one writer per partition, the
//! producer-id block, the cluster id, and the wake-up long-polling fetches wait on.
//!
//! # Layout
//! `klog-server.json` in the data directory (klog's own; a Kafka broker ignores it):
//! `{"cluster_id": "<22 characters>", "producer_id_block_end": N}`. Producer ids below
//! `producer_id_block_end` have been handed out (or may have been): a server takes the next
//! block of [`PRODUCER_ID_BLOCK`] ids by moving it up, under the data directory's lock,
//! before it gives out the first id of the block. A Kafka broker's `meta.properties`, when
//! the directory has one, gives the cluster id instead.
//!
//! # Invariants
//! 1. One [`Writer`] per partition directory in this process: appends of this server to a
//!    partition go through it, in the order its mutex grants them. A writer is dropped and
//!    reopened when the partition directory is no longer the one it opened (the topic was
//!    deleted and created again), and dropped when the topic is deleted through the server.
//! 2. Every append through a writer bumps the append counter; so does every change that the
//!    file-system watch sees in a partition directory that a fetch looked at (appends of
//!    other processes). Waiting fetches wake on either and look again.
//! 3. A producer id is never given out twice, across restarts and across servers on one
//!    directory (see the layout).

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::coordinator::{GroupCoordinator, system_clock};
use super::groups::Coordinator;
use super::idempotence::ProducerStates;
use super::{Config, Event, EventSink};
use crate::error::{Error, Result};
use crate::storage::Log;
use crate::storage::watch::LogWatcher;
use crate::topic::{Topic, Topics};

/// klog's server state file in the data directory (see the module doc).
pub const SERVER_FILE: &str = "klog-server.json";

/// Producer ids reserved at a time.
pub const PRODUCER_ID_BLOCK: i64 = 1000;

#[derive(Debug, Default, Serialize, Deserialize)]
struct ServerFile {
    #[serde(default)]
    cluster_id: Option<String>,
    #[serde(default)]
    producer_id_block_end: i64,
}

/// A partition: its topic's name and its number.
type PartitionKey = (String, u32);

/// One partition's writer in the server: its log and its idempotent producers.
pub struct Writer {
    pub topic: Topic,
    pub partition: u32,
    pub log: Log,
    pub producers: ProducerStates,
    /// Appended to since the last checkpoint sync.
    pub dirty: bool,
}

/// A writer in the map, with what tells whether it is still the partition's (readable
/// without waiting for a writer that is busy appending).
struct Slot {
    /// Inode of the partition directory when opened (see invariant 1).
    dir_ino: u64,
    /// The topic's partition count then.
    partitions: u32,
    writer: Arc<Mutex<Writer>>,
}

#[derive(Debug, Default)]
struct ProducerIds {
    next: i64,
    block_end: i64,
}

/// Directories the file-system watch covers, and the watcher itself (started on first use).
#[derive(Default)]
struct Watched {
    watcher: Option<LogWatcher>,
    dirs: HashSet<PathBuf>,
}

/// Window of the authentication-failure rate limit.
pub const AUTH_FAILURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// Authentication failures reported per [`AUTH_FAILURE_WINDOW`].
pub const AUTH_FAILURE_BURST: u32 = 10;

/// The shared state of a running server.
pub struct Broker {
    config: Config,
    topics: Topics,
    advertised: (String, u16),
    cluster_id: String,
    events: EventSink,
    writers: Mutex<HashMap<PartitionKey, Slot>>,
    producer_ids: Mutex<ProducerIds>,
    appended: watch::Sender<u64>,
    stop: watch::Sender<bool>,
    watched: Mutex<Watched>,
    /// Offset commits go one at a time (each takes the partition's group lock briefly).
    commits: Mutex<()>,
    coordinator: Arc<dyn Coordinator>,
    /// Rate limit of the authentication-failure events.
    auth_failures: super::sasl::FailureLog,
    /// Connection limits and byte-rate quotas.
    connections: Arc<super::quota::Connections>,
    quotas: super::quota::Quotas,
    /// Whether requests are authorized, and the rules ([`Broker::refresh_policy`]).
    policy: RwLock<Arc<Policy>>,
    /// Bumped at each change of `policy`: a connection rereads it only then.
    policy_generation: AtomicU64,
    /// What the users and ACL files were when `policy` was read.
    policy_stamp: Mutex<Option<[Option<FileStamp>; 2]>>,
}

/// Authorization as the data directory's files say: on once a user exists.
#[derive(Debug, Default)]
pub struct Policy {
    pub enabled: bool,
    pub acls: super::acl::Acls,
}

/// A file's identity and last change, to notice that it was replaced or written.
type FileStamp = (u64, i64, i64, u64);

fn stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.mtime(), m.mtime_nsec(), m.len()))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked holding a lock left the data consistent (every update is a
    // single assignment or a whole append): go on.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read_server_file(dir: &Path) -> Result<ServerFile> {
    let path = dir.join(SERVER_FILE);
    match crate::storage::fs::read_regular(&path) {
        Ok(text) => serde_json::from_slice(&text).map_err(|e| Error::BadMetadata {
            path,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ServerFile::default()),
        Err(e) => Err(Error::io("read", &path)(e)),
    }
}

fn write_server_file(dir: &Path, f: &ServerFile) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(f).unwrap_or_default();
    text.push(b'\n');
    crate::storage::fs::replace_file(
        &dir.join(SERVER_FILE),
        &text,
        crate::storage::fs::Durability::Durable,
        &crate::storage::fs::ATOMIC,
    )
}

/// The `cluster.id` of a Kafka broker's `meta.properties`, if the directory has one.
fn broker_cluster_id(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("meta.properties")).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("cluster.id="))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Broker {
    /// Opens the data directory for serving: creates it if needed and settles the cluster id.
    pub fn open(config: Config, advertised: (String, u16), events: EventSink) -> Result<Broker> {
        let dir = config.dir.clone();
        std::fs::create_dir_all(&dir).map_err(Error::io("create directory", &dir))?;
        let cluster_id = match broker_cluster_id(&dir) {
            Some(id) => id,
            None => {
                let _lock = crate::storage::fs::lock_dir(&dir)?;
                let mut f = read_server_file(&dir)?;
                match &f.cluster_id {
                    Some(id) => id.clone(),
                    None => {
                        let id = crate::topic::new_topic_id();
                        f.cluster_id = Some(id.clone());
                        write_server_file(&dir, &f)?;
                        id
                    }
                }
            }
        };
        let coordinator = Arc::new(GroupCoordinator::new(
            Topics::new(&dir),
            config.group_initial_rebalance_delay_ms,
            system_clock(),
        ));
        let connections =
            super::quota::Connections::new(config.max_connections, config.max_connections_per_ip);
        let quotas = super::quota::Quotas::new(config.produce_byte_rate, config.fetch_byte_rate);
        Ok(Broker {
            topics: Topics::new(&dir),
            config,
            advertised,
            cluster_id,
            events,
            writers: Mutex::new(HashMap::new()),
            producer_ids: Mutex::new(ProducerIds::default()),
            appended: watch::channel(0).0,
            stop: watch::channel(false).0,
            watched: Mutex::new(Watched::default()),
            commits: Mutex::new(()),
            coordinator,
            auth_failures: super::sasl::FailureLog::new(AUTH_FAILURE_WINDOW, AUTH_FAILURE_BURST),
            connections,
            quotas,
            policy: RwLock::new(Arc::new(Policy::default())),
            policy_generation: AtomicU64::new(0),
            policy_stamp: Mutex::new(None),
        })
        .inspect(|b| b.refresh_policy())
    }

    /// Installs the consumer-group coordinator (before the server runs).
    pub fn with_coordinator(mut self, c: Arc<dyn Coordinator>) -> Broker {
        self.coordinator = c;
        self
    }

    pub fn coordinator(&self) -> &dyn Coordinator {
        self.coordinator.as_ref()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Host and port given to clients.
    pub fn advertised(&self) -> (&str, u16) {
        (&self.advertised.0, self.advertised.1)
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    pub fn emit(&self, e: Event) {
        (self.events)(e);
    }

    pub fn connections(&self) -> &Arc<super::quota::Connections> {
        &self.connections
    }

    pub fn quotas(&self) -> &super::quota::Quotas {
        &self.quotas
    }

    /// The generation of the authorization policy: a connection rereads the policy when it
    /// changed (one atomic load per request otherwise).
    pub fn policy_generation(&self) -> u64 {
        self.policy_generation.load(Ordering::Acquire)
    }

    /// The authorization policy and its generation.
    pub fn policy(&self) -> (u64, Arc<Policy>) {
        let p = self.policy.read().unwrap_or_else(|e| e.into_inner());
        (self.policy_generation(), p.clone())
    }

    /// Rereads the users and ACL files if either changed since they were read (at open, at
    /// each tick, after CreateAcls and DeleteAcls). A users file that cannot be read keeps
    /// authorization on, with the rules last read (it fails closed).
    pub fn refresh_policy(&self) {
        let dir = &self.config.dir;
        let users_path = super::users::path(dir);
        let now = [stamp(&users_path), stamp(&super::acl::path(dir))];
        let mut last = lock(&self.policy_stamp);
        if last.as_ref() == Some(&now) {
            return;
        }
        let enabled = match super::users::Users::load(dir) {
            Ok(u) => !u.is_empty(),
            Err(e) => {
                self.emit(Event::StorageError {
                    what: format!("read of {}", users_path.display()),
                    reason: e.to_string(),
                });
                true
            }
        };
        let acls = match super::acl::Acls::load(dir) {
            Ok(a) => a,
            Err(e) => {
                self.emit(Event::StorageError {
                    what: "read of the ACLs".into(),
                    reason: e.to_string(),
                });
                self.policy().1.acls.clone()
            }
        };
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(Policy { enabled, acls });
        self.policy_generation.fetch_add(1, Ordering::Release);
        *last = Some(now);
    }

    /// Reports a failed SASL authentication, at most [`AUTH_FAILURE_BURST`] per
    /// [`AUTH_FAILURE_WINDOW`] (a password-guessing client does not flood the log).
    pub fn auth_failed(
        &self,
        peer: std::net::SocketAddr,
        mechanism: &str,
        user: Option<String>,
        reason: String,
    ) {
        if let Some(suppressed) = self.auth_failures.admit(std::time::Instant::now()) {
            self.emit(Event::AuthenticationFailed {
                peer,
                mechanism: mechanism.to_string(),
                user,
                reason,
                suppressed,
            });
        }
    }

    /// Holds offset commits off each other while alive.
    pub fn commit_lock(&self) -> MutexGuard<'_, ()> {
        lock(&self.commits)
    }

    /// A receiver that sees the append counter move (see invariant 2).
    pub fn appends(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// Wakes every waiting fetch.
    pub fn notify_append(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that turns true when the server begins to stop.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Stops accepting, ends the consumer groups and wakes every waiting fetch, which then
    /// answers at once.
    pub fn begin_shutdown(&self) {
        self.stop.send_replace(true);
        // JoinGroup and SyncGroup requests waiting for a rebalance are answered now.
        self.coordinator.close();
        self.notify_append();
    }

    /// Watches a partition directory for appends by other processes (once per directory).
    /// A directory that cannot be watched is only polled: fetches then wait out their
    /// `max_wait_ms` instead of waking early.
    pub fn watch(self: &Arc<Self>, dir: &Path) {
        let mut w = lock(&self.watched);
        if w.dirs.contains(dir) {
            return;
        }
        if w.watcher.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let Ok(watcher) = LogWatcher::new(&[], tx) else {
                return;
            };
            w.watcher = Some(watcher);
            let weak = Arc::downgrade(self);
            let _ = std::thread::Builder::new()
                .name("klog-serve-watch".into())
                .spawn(move || {
                    while rx.recv().is_ok() {
                        // Coalesce a burst of events into one wake-up.
                        while rx.try_recv().is_ok() {}
                        match weak.upgrade() {
                            Some(b) => b.notify_append(),
                            None => return,
                        }
                    }
                });
        }
        if let Some(watcher) = &mut w.watcher
            && watcher.watch(dir).is_ok()
        {
            w.dirs.insert(dir.to_path_buf());
        }
    }

    /// Opens a topic for a request: `Ok(None)` when it does not exist.
    pub fn topic(&self, name: &str) -> Result<Option<Topic>> {
        match self.topics.open(name) {
            Ok(t) => Ok(Some(t)),
            Err(Error::TopicNotFound(_) | Error::InvalidTopicName { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The writer of one partition of `topic` (see invariant 1), opening it on first use
    /// and rebuilding its producers' idempotence state from the log.
    pub fn writer(&self, topic: &Topic, partition: u32) -> Result<Arc<Mutex<Writer>>> {
        let key = (topic.name.clone(), partition);
        let dir = topic.partition_dir(partition);
        let current = |slot: &Slot| {
            let ino = std::fs::metadata(&dir).map_or(0, |m| m.ino());
            slot.dir_ino == ino && ino != 0 && slot.partitions == topic.partitions
        };
        if let Some(slot) = lock(&self.writers).get(&key).filter(|s| current(s)) {
            return Ok(slot.writer.clone());
        }
        // Opened without holding the map: reading the log back for the producers' state
        // may take a while, and other partitions' writers are not to wait for it.
        let log = topic.open_log(partition)?;
        let dir_ino = std::fs::metadata(&dir).map_or(0, |m| m.ino());
        let producers = ProducerStates::rebuild(&dir)?;
        let mut writers = lock(&self.writers);
        if let Some(slot) = writers.get(&key).filter(|s| current(s)) {
            // Another request opened it meanwhile: that one stays the only writer.
            return Ok(slot.writer.clone());
        }
        let w = Arc::new(Mutex::new(Writer {
            topic: topic.clone(),
            partition,
            log,
            producers,
            dirty: false,
        }));
        let old = writers.insert(
            key,
            Slot {
                dir_ino,
                partitions: topic.partitions,
                writer: w.clone(),
            },
        );
        drop(writers);
        if let Some(old) = old {
            let _ = finish_writer(&old.writer);
        }
        Ok(w)
    }

    /// Drops the writers of a topic (before deleting it), after flushing them.
    pub fn drop_writers(&self, topic: &str) {
        let mut writers = lock(&self.writers);
        let keys: Vec<_> = writers.keys().filter(|k| k.0 == topic).cloned().collect();
        for k in keys {
            if let Some(slot) = writers.remove(&k) {
                let _ = finish_writer(&slot.writer);
            }
        }
    }

    /// Periodic work: the group coordinator's timeouts, and the `flush.ms` fsyncs that are
    /// due, started without waiting on any writer that is busy.
    pub fn tick(&self) {
        self.coordinator.tick();
        self.refresh_policy();
        let writers: Vec<_> = lock(&self.writers)
            .values()
            .map(|s| s.writer.clone())
            .collect();
        for w in writers {
            let Ok(mut g) = w.try_lock() else { continue };
            if let Err(e) = g.log.maybe_flush_in_background() {
                let what = format!("flush of {}", g.log.dir().display());
                self.emit(Event::StorageError {
                    what,
                    reason: error_chain(&e),
                });
            }
        }
    }

    /// The next producer id (see the layout in the module doc).
    pub fn next_producer_id(&self) -> Result<i64> {
        let mut ids = lock(&self.producer_ids);
        if ids.next >= ids.block_end {
            let dir = &self.config.dir;
            let _lock = crate::storage::fs::lock_dir(dir)?;
            let mut f = read_server_file(dir)?;
            let start = f.producer_id_block_end.max(ids.next).max(0);
            f.producer_id_block_end = start + PRODUCER_ID_BLOCK;
            if f.cluster_id.is_none() && broker_cluster_id(dir).is_none() {
                f.cluster_id = Some(self.cluster_id.clone());
            }
            write_server_file(dir, &f)?;
            ids.next = start;
            ids.block_end = f.producer_id_block_end;
        }
        let id = ids.next;
        ids.next += 1;
        Ok(id)
    }

    /// Flushes every writer and brings Kafka's checkpoint files up to date for what was
    /// written: the end of a shutdown.
    pub fn close(&self) -> Result<()> {
        self.coordinator.close();
        let writers: Vec<_> = lock(&self.writers).drain().map(|(_, s)| s.writer).collect();
        let mut first_err = None;
        for w in writers {
            if let Err(e) = finish_writer(&w) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Flushes a writer that goes away and syncs its checkpoints when it wrote.
fn finish_writer(w: &Arc<Mutex<Writer>>) -> Result<()> {
    let mut g = lock(w);
    g.log.flush()?;
    if g.dirty {
        g.dirty = false;
        let p = g.partition;
        // Hints for a broker that may read the directory later (see `Topic::sync_checkpoints`).
        let _ = g.topic.sync_checkpoints(&[p]);
    }
    Ok(())
}

/// An error with its sources, on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
