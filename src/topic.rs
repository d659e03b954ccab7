//! Topics: named sets of partition logs in a data directory, with their configs.
//!
//! # Layout
//! ```text
//! <data dir>/
//!   klog-topics.json         klog's metadata: each topic's partition count and config overrides
//!   <topic>-<partition>/     one Kafka partition directory per partition
//!   klog-<pid>-<n>.delete/   a partition directory of a topic being deleted
//! ```
//! The metadata is one regular file at the top of the data directory, where a Kafka broker
//! looks only for its own checkpoint files (every *directory* there is a partition to Kafka).
//! One file rather than one per topic keeps every legal topic name (up to 249 characters)
//! within the file-name limit. A Kafka broker's `log.dirs` has no such file: its topics are
//! discovered from the `<topic>-<n>` directories and get Kafka's defaults, plus the configs a
//! broker gives its own topics ([`builtin_configs`]: `__consumer_offsets` and
//! `__transaction_state` are compacted, never deleted by time or size). [`config_entries`]
//! gives each config's value in effect and its source (override, internal or default).
//!
//! # Invariants
//! 1. Topic names follow Kafka's rule (1-249 ASCII letters, digits, `.`, `_`, `-`; not `.` or
//!    `..`), so a name can never reach outside the data directory; two topics may not differ
//!    only by `.` versus `_`.
//! 2. Metadata is written atomically (temp file, fsync, rename, fsync the directory), and only
//!    under an exclusive `flock` of the data directory, so two concurrent creates cannot both
//!    win and no update is lost. Readers take no lock.
//! 3. Partitions only grow.
//! 4. A topic marked `deleting` in the metadata is gone for every reader and for `list`,
//!    whatever of its partition directories is left.
//! 5. Nothing is written in a directory whose Kafka `.lock` a running broker holds, nor
//!    through a metadata file that does not parse ([`Topics::begin_write`]); readers
//!    ([`Topics::for_reading`]) fall back to the partition directories instead.
//!
//! # Crash safety
//! Deleting a topic: (1) mark it `deleting` in the metadata (durable); (2) rename each of its
//! partition directories to `klog-<pid>-<n>.delete` and fsync the data directory; (3) remove
//! those directories and the topic's checkpoint entries; (4) remove its metadata entry. A
//! crash before (1) leaves the topic whole; after it, the topic is gone for readers, and the
//! next writing command ([`Topics::begin_write`]), or a `create` of the same name, runs (2) to
//! (4) again: every step is idempotent. Leftover `*.delete` directories are removed the same
//! way; steps (2) to (4) and that sweep run under the data directory's lock.
//!
//! # Configs while writing
//! [`Topic::open_log`] gives the [`Log`] a [`ConfigSource`] that watches the metadata file
//! (its inode, size and times, one `stat`), so that a long-running writer applies a
//! `topics alter` to its next roll and retention decision.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::storage::checkpoint::{self, Merge};
use crate::storage::fs::{
    self as sfs, BrokerLockGuard, Durability, fsync_dir, hold_broker_lock, lock_dir, replace_file,
    try_lock_dir,
};
use crate::storage::layout::{
    self, PARTITION_METADATA_FILE, delete_dir_name, is_delete_dir, parse_partition_dir,
    partition_dir_name,
};
use crate::storage::{ConfigSource, Log, LogConfig, LogReader, now_ms, partition_checkpoints};

/// klog's metadata file in the data directory.
pub use layout::TOPICS_FILE as META_FILE;
const MAX_NAME_LEN: usize = 249;
/// Most partitions a topic may have (a sanity bound against typos such as `-p 1000000`).
pub const MAX_PARTITIONS: u32 = 10_000;

/// Checks a topic name against Kafka's rule (`Topic.validate`).
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidTopicName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 249 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(Error::InvalidTopicName {
            name: name.escape_debug().to_string(),
            reason: format!(
                "{:?} is not allowed (only ASCII letters, digits, '.', '_' and '-')",
                c
            ),
        });
    }
    Ok(())
}

/// The configs a Kafka broker gives its own topics when it creates them, which klog applies
/// under a topic's own overrides: `__consumer_offsets` (`GroupCoordinator.offsetsTopicConfigs`)
/// and `__transaction_state` (`TransactionLog.transactionTopicConfigs`) are compacted, never
/// deleted by time or size, in segments of `offsets.topic.segment.bytes` /
/// `transaction.state.log.segment.bytes` (100 MiB); the KRaft metadata log
/// (`__cluster_metadata`) loses segments only to the controller's snapshots, which klog does
/// not know, so klog deletes none.
pub fn builtin_configs(topic: &str) -> &'static [(&'static str, &'static str)] {
    match topic {
        "__consumer_offsets" => &[
            ("cleanup.policy", "compact"),
            ("compression.type", "producer"),
            ("segment.bytes", "104857600"),
        ],
        "__transaction_state" => &[
            ("cleanup.policy", "compact"),
            ("compression.type", "uncompressed"),
            ("segment.bytes", "104857600"),
        ],
        "__cluster_metadata" => &[("retention.bytes", "-1"), ("retention.ms", "-1")],
        _ => &[],
    }
}

/// The typed config of topic `name` with overrides `configs`: Kafka's defaults, then
/// [`builtin_configs`], then the overrides.
pub fn topic_config(name: &str, configs: &BTreeMap<String, String>) -> Result<LogConfig> {
    let mut all: BTreeMap<String, String> = builtin_configs(name)
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.extend(configs.iter().map(|(k, v)| (k.clone(), v.clone())));
    LogConfig::from_overrides(&all)
}

/// Where a topic's config value comes from, as Kafka's `DescribeConfigs` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigEntrySource {
    /// The topic's own override (`-c KEY=VALUE`; Kafka's `DYNAMIC_TOPIC_CONFIG`).
    TopicOverride,
    /// What a Kafka broker gives its own topics ([`builtin_configs`]).
    Internal,
    /// Kafka's default.
    Default,
}

impl ConfigEntrySource {
    /// `topic`, `internal` or `default`.
    pub fn name(self) -> &'static str {
        match self {
            ConfigEntrySource::TopicOverride => "topic",
            ConfigEntrySource::Internal => "internal",
            ConfigEntrySource::Default => "default",
        }
    }
}

/// One config of a topic: its value in effect and where that value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: &'static str,
    pub value: String,
    pub source: ConfigEntrySource,
}

/// Every config of [`CONFIGS`](crate::storage::CONFIGS) for topic `name` with overrides `configs`, in `CONFIGS`'
/// order: the override, else the [`builtin_configs`] value, else Kafka's default (the
/// precedence of [`topic_config`]).
pub fn config_entries(name: &str, configs: &BTreeMap<String, String>) -> Vec<ConfigEntry> {
    crate::storage::CONFIGS
        .iter()
        .map(|c| {
            let builtin = builtin_configs(name)
                .iter()
                .find(|(k, _)| *k == c.name)
                .map(|(_, v)| v.to_string());
            let (value, source) = match (configs.get(c.name), builtin) {
                (Some(v), _) => (v.clone(), ConfigEntrySource::TopicOverride),
                (None, Some(v)) => (v, ConfigEntrySource::Internal),
                (None, None) => (c.default.to_string(), ConfigEntrySource::Default),
            };
            ConfigEntry {
                name: c.name,
                value,
                source,
            }
        })
        .collect()
}

/// One topic's entry in `klog-topics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicMeta {
    pub partitions: u32,
    /// Config overrides, Kafka's names to string values.
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
    #[serde(default)]
    pub created_ms: i64,
    /// Kafka's topic id (22 characters of base64url), written to `partition.metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<String>,
    /// Being deleted: gone for readers; the next writer finishes the deletion.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
}

/// A new random topic id: a version-4 UUID from the operating system's random source, in
/// Kafka's base64url form without padding. As Kafka's `Uuid.randomUuid`, never one whose
/// text starts with `-` (command-line tools would take it for an option).
pub fn new_topic_id() -> String {
    use base64::Engine;
    loop {
        let id = uuid::Uuid::new_v4();
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes());
        if !text.starts_with('-') {
            return text;
        }
    }
}

/// Writes Kafka's `partition.metadata` (`version: 0`, `topic_id: …`, no trailing newline)
/// unless it is there already.
fn write_partition_metadata(dir: &Path, topic_id: &str) -> Result<()> {
    let path = dir.join(PARTITION_METADATA_FILE);
    if path.exists() {
        return Ok(());
    }
    replace_file(
        &path,
        format!("version: 0\ntopic_id: {topic_id}").as_bytes(),
        Durability::Durable,
        &sfs::ATOMIC,
    )
}

/// The whole of `klog-topics.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u32,
    #[serde(default)]
    pub topics: BTreeMap<String, TopicMeta>,
}

/// What identifies one version of the metadata file (it is only ever replaced by a rename, so
/// every update gives it a new inode): `None` when there is no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MetaStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

fn meta_stamp(path: &Path) -> Option<MetaStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).ok()?;
    Some(MetaStamp {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        ctime_ns: m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128,
    })
}

/// A topic as found in a data directory.
#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub partitions: u32,
    /// klog's config overrides for the topic (its metadata entry's), not the built-in ones.
    pub configs: BTreeMap<String, String>,
    /// Every config in effect: Kafka's defaults, [`builtin_configs`], then `configs`.
    pub config: LogConfig,
    /// False for a topic found only through its partition directories (a Kafka broker's).
    pub has_meta: bool,
    dir: PathBuf,
    /// The metadata file's version that `configs` came from.
    stamp: Option<MetaStamp>,
}

/// Follows a topic's configs in the metadata file for a long-running [`Log`].
struct ConfigWatcher {
    meta_path: PathBuf,
    name: String,
    stamp: Option<MetaStamp>,
    config: LogConfig,
}

impl ConfigWatcher {
    /// The topic's config if it changed since the last call; one `stat` when the file did
    /// not change. A file that does not parse, or no longer lists the topic, changes nothing.
    fn poll(&mut self) -> Option<LogConfig> {
        let now = meta_stamp(&self.meta_path);
        if now == self.stamp {
            return None;
        }
        self.stamp = now;
        let text = sfs::read_regular(&self.meta_path).ok()?;
        let meta: MetaFile = serde_json::from_slice(&text).ok()?;
        let entry = meta.topics.get(&self.name).filter(|m| !m.deleting)?;
        let config = topic_config(&self.name, &entry.configs).ok()?;
        if config == self.config {
            return None;
        }
        self.config = config.clone();
        Some(config)
    }
}

impl Topic {
    pub fn partition_dir(&self, partition: u32) -> PathBuf {
        self.dir.join(partition_dir_name(&self.name, partition))
    }

    fn check_partition(&self, partition: u32) -> Result<()> {
        if partition >= self.partitions {
            return Err(Error::PartitionNotFound {
                topic: self.name.clone(),
                partition,
                partitions: self.partitions,
            });
        }
        Ok(())
    }

    /// Opens a partition for appending. The log follows the topic's configs: a change
    /// (`topics alter`) applies from its next roll or retention decision on.
    pub fn open_log(&self, partition: u32) -> Result<Log> {
        self.check_partition(partition)?;
        let mut log = Log::open(&self.partition_dir(partition), self.config.clone())?;
        let mut watcher = ConfigWatcher {
            meta_path: self.dir.join(META_FILE),
            name: self.name.clone(),
            stamp: self.stamp,
            config: self.config.clone(),
        };
        log.set_config_source(ConfigSource(Box::new(move || watcher.poll())));
        Ok(log)
    }

    /// Brings Kafka's checkpoint files up to date for these partitions, so that the data
    /// directory looks like one a broker left: the recovery point (what klog has fsynced),
    /// the high watermark (the log end offset: one local replica), the log start offset where
    /// it is above the first segment, the first uncompacted offset where compaction ran, and
    /// an empty `leader-epoch-checkpoint` where there is none (klog writes no leader epochs).
    /// A broker's offsets are never lowered, and entries of other partitions, and existing
    /// leader epochs, are left as they are (see [`checkpoint`]).
    pub fn sync_checkpoints(&self, partitions: &[u32]) -> Result<()> {
        let (mut rps, mut hws, mut lsos) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let mut cleaned = BTreeMap::new();
        for &p in partitions {
            self.check_partition(p)?;
            let dir = self.partition_dir(p);
            if !dir.is_dir() {
                continue;
            }
            let c = partition_checkpoints(&dir)?;
            let key = (self.name.clone(), p);
            rps.insert(key.clone(), c.recovery_point);
            hws.insert(key.clone(), c.high_watermark);
            if let Some(lso) = c.log_start_offset {
                lsos.insert(key.clone(), lso);
            }
            if let Some(o) = c.cleaner_offset {
                cleaned.insert(key, o);
            }
            if !dir.join(checkpoint::LEADER_EPOCH).exists() {
                checkpoint::write_leader_epochs(&dir, &[])?;
            }
        }
        let _lock = lock_dir(&self.dir)?;
        let keep = |_: &str, _: u32| false;
        if !cleaned.is_empty() {
            checkpoint::update_offsets_locked(
                &self.dir,
                checkpoint::CLEANER_OFFSET,
                &cleaned,
                &keep,
                Merge::NeverLower,
            )?;
        }
        for (file, entries) in [
            (checkpoint::RECOVERY_POINT, &rps),
            (checkpoint::REPLICATION_OFFSET, &hws),
            (checkpoint::LOG_START_OFFSET, &lsos),
        ] {
            checkpoint::update_offsets_locked(&self.dir, file, entries, &keep, Merge::NeverLower)?;
        }
        Ok(())
    }

    /// Opens a partition for reading (a missing directory reads as an empty log).
    pub fn open_reader(&self, partition: u32) -> Result<Option<LogReader>> {
        self.check_partition(partition)?;
        let dir = self.partition_dir(partition);
        if !dir.is_dir() {
            return Ok(None);
        }
        LogReader::open(&dir).map(Some)
    }
}

/// The topics of one data directory.
#[derive(Debug, Clone)]
pub struct Topics {
    dir: PathBuf,
    /// Reading only: a metadata file that does not parse reads as absent.
    lenient: bool,
}

/// What a writing command holds while it writes (see [`Topics::begin_write`]).
#[derive(Debug)]
pub struct WriteGuard {
    _broker: Option<BrokerLockGuard>,
}

/// Removes a directory tree; one that is already gone is fine.
fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("delete", path)(e)),
    }
}

impl Topics {
    /// The topics of `dir`, for writing and for reading: a metadata file that does not parse
    /// is an error.
    pub fn new(dir: impl Into<PathBuf>) -> Topics {
        Topics {
            dir: dir.into(),
            lenient: false,
        }
    }

    /// The topics of `dir` for reading only: a metadata file that does not parse is taken as
    /// absent (topics are found from their partition directories, with default configs), and
    /// a topic whose stored configs are invalid gets the defaults. [`Topics::metadata_problem`]
    /// says whether that happens.
    pub fn for_reading(dir: impl Into<PathBuf>) -> Topics {
        Topics {
            dir: dir.into(),
            lenient: true,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn meta_path(&self) -> PathBuf {
        self.dir.join(META_FILE)
    }

    /// Reads the metadata file (lock-free: it is only ever replaced atomically).
    pub fn read_meta(&self) -> Result<MetaFile> {
        let path = self.meta_path();
        let text = match sfs::read_regular(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(MetaFile::default()),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        serde_json::from_slice(&text).map_err(|e| Error::BadMetadata {
            path: path.clone(),
            reason: e.to_string(),
        })
    }

    /// Why the metadata file cannot be used, if it cannot (it does not parse, or a topic's
    /// configs in it are invalid).
    pub fn metadata_problem(&self) -> Option<Error> {
        let meta = match self.read_meta() {
            Ok(m) => m,
            Err(e @ Error::BadMetadata { .. }) => return Some(e),
            Err(_) => return None,
        };
        meta.topics.iter().find_map(|(name, m)| {
            topic_config(name, &m.configs)
                .err()
                .map(|e| Error::BadMetadata {
                    path: self.meta_path(),
                    reason: format!("topic '{name}': {e}"),
                })
        })
    }

    /// The metadata for finding topics: in reading mode, a file that does not parse reads as
    /// absent.
    fn meta_for_lookup(&self) -> Result<MetaFile> {
        match self.read_meta() {
            Err(Error::BadMetadata { .. }) if self.lenient => Ok(MetaFile::default()),
            r => r,
        }
    }

    fn write_meta(&self, meta: &MetaFile) -> Result<()> {
        let mut meta = meta.clone();
        meta.version = 1;
        let mut text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        text.push(b'\n');
        replace_file(&self.meta_path(), &text, Durability::Durable, &sfs::ATOMIC)
    }

    /// Runs `f` on the metadata under the data directory's lock and writes it back if `f`
    /// changed it. Refused while a Kafka broker holds the directory.
    fn update<T>(&self, f: impl FnOnce(&mut MetaFile) -> Result<T>) -> Result<T> {
        fs::create_dir_all(&self.dir).map_err(Error::io("create directory", &self.dir))?;
        let _broker = hold_broker_lock(&self.dir)?;
        let _lock = lock_dir(&self.dir)?;
        let before = self.read_meta()?;
        let mut meta = before.clone();
        let out = f(&mut meta)?;
        if meta != before {
            self.write_meta(&meta)?;
        }
        Ok(out)
    }

    /// Gets the data directory ready for a writing command: refuses it while a Kafka broker
    /// holds the directory's `.lock` (and keeps one from starting while the guard lives),
    /// refuses a metadata file that does not parse, and finishes what a killed `topics
    /// delete` left (marked topics, `*.delete` directories) unless another process holds the
    /// data directory's lock right now (then the next writer does).
    pub fn begin_write(&self) -> Result<WriteGuard> {
        let broker = hold_broker_lock(&self.dir)?;
        // A file that does not parse stops every writer (an update would lose what it holds);
        // a topic with invalid configs in it stops only the writers of that topic.
        let meta = self.read_meta()?;
        let marked = meta.topics.values().any(|m| m.deleting);
        if (marked || !self.delete_leftovers()?.is_empty())
            && let Some(_lock) = try_lock_dir(&self.dir)?
        {
            let before = self.read_meta()?;
            let mut meta = before.clone();
            self.remove_delete_leftovers()?;
            let names: Vec<String> = meta
                .topics
                .iter()
                .filter(|(_, m)| m.deleting)
                .map(|(n, _)| n.clone())
                .collect();
            for name in names {
                self.finish_deletion_locked(&mut meta, &name)?;
            }
            if meta != before {
                self.write_meta(&meta)?;
            }
        }
        Ok(WriteGuard { _broker: broker })
    }

    /// Partition numbers present as `<name>-<n>` directories.
    fn partition_dirs(&self, name: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io("read directory", &self.dir)(e)),
        };
        for entry in rd.flatten() {
            if let Some(n) = entry.file_name().to_str()
                && let Some((t, p)) = parse_partition_dir(n)
                && t == name
                && entry.path().is_dir()
            {
                out.push(p);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The `klog-<pid>-<n>.delete` directories of deletions that did not finish.
    fn delete_leftovers(&self) -> Result<Vec<PathBuf>> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read directory", &self.dir)(e)),
        };
        Ok(rd
            .flatten()
            .filter(|e| e.file_name().to_str().is_some_and(is_delete_dir))
            .map(|e| e.path())
            .collect())
    }

    /// Removes [`Self::delete_leftovers`]. The caller holds the data directory's lock, which
    /// every deleter holds while it removes: no one else is removing them.
    fn remove_delete_leftovers(&self) -> Result<()> {
        for d in self.delete_leftovers()? {
            remove_tree(&d)?;
        }
        Ok(())
    }

    /// Steps 2 to 4 of a deletion (see the module's *Crash safety*) for topic `name` if it is
    /// marked in `meta`: idempotent. The caller holds the data directory's lock and writes
    /// `meta` back.
    fn finish_deletion_locked(&self, meta: &mut MetaFile, name: &str) -> Result<()> {
        if !meta.topics.get(name).is_some_and(|m| m.deleting) {
            return Ok(());
        }
        self.remove_delete_leftovers()?;
        let mut doomed = Vec::new();
        for p in self.partition_dirs(name)? {
            let d = self.dir.join(partition_dir_name(name, p));
            // Kafka's way (a `-delete` suffix), in a name short enough for any topic name:
            // the directory stops being a partition at once, for klog and for a broker.
            let to = self.dir.join(delete_dir_name(std::process::id(), p));
            fs::rename(&d, &to).map_err(Error::io("rename", &d))?;
            doomed.push(to);
        }
        // The renames are durable before the mark can go.
        fsync_dir(&self.dir)?;
        for d in doomed {
            remove_tree(&d)?;
        }
        let topic = |t: &str, _: u32| t == name;
        for file in [
            checkpoint::RECOVERY_POINT,
            checkpoint::LOG_START_OFFSET,
            checkpoint::REPLICATION_OFFSET,
            checkpoint::CLEANER_OFFSET,
        ] {
            if self.dir.join(file).exists() {
                checkpoint::update_offsets_locked(
                    &self.dir,
                    file,
                    &BTreeMap::new(),
                    &topic,
                    Merge::Replace,
                )?;
            }
        }
        meta.topics.remove(name);
        fsync_dir(&self.dir)
    }

    /// Creates a topic. Configs are validated before anything is written. A deletion of a
    /// topic of the same name that did not finish is finished first.
    pub fn create(
        &self,
        name: &str,
        partitions: u32,
        configs: BTreeMap<String, String>,
    ) -> Result<Topic> {
        validate_topic_name(name)?;
        if partitions == 0 || partitions > MAX_PARTITIONS {
            return Err(Error::Invalid(format!(
                "partitions must be between 1 and {MAX_PARTITIONS}, not {partitions}"
            )));
        }
        let mut clean = BTreeMap::new();
        for (k, v) in configs {
            let v = LogConfig::validate(&k, &v)?;
            clean.insert(k, v);
        }
        let config = topic_config(name, &clean)?;
        // Kafka refuses names that collide once '.' is read as '_'.
        let canon = name.replace('.', "_");
        for other in self.list_names()? {
            if other == name {
                return Err(Error::TopicExists(name.to_string()));
            }
            if other.replace('.', "_") == canon {
                return Err(Error::Invalid(format!(
                    "topic '{name}' collides with existing topic '{other}' ('.' and '_' are \
                     the same to Kafka's metrics)"
                )));
            }
        }
        let topic_id = new_topic_id();
        let entry = TopicMeta {
            partitions,
            configs: clean.clone(),
            created_ms: now_ms(),
            topic_id: Some(topic_id.clone()),
            deleting: false,
        };
        self.update(|meta| {
            // An old topic of this name whose deletion was interrupted goes first.
            self.finish_deletion_locked(meta, name)?;
            // Checked again under the lock: another process may have just created it.
            if meta.topics.contains_key(name) || !self.partition_dirs(name)?.is_empty() {
                return Err(Error::TopicExists(name.to_string()));
            }
            meta.topics.insert(name.to_string(), entry);
            Ok(())
        })?;
        let topic = Topic {
            name: name.to_string(),
            partitions,
            configs: clean,
            config,
            has_meta: true,
            dir: self.dir.clone(),
            stamp: meta_stamp(&self.meta_path()),
        };
        for p in 0..partitions {
            let d = topic.partition_dir(p);
            fs::create_dir_all(&d).map_err(Error::io("create directory", &d))?;
            write_partition_metadata(&d, &topic_id)?;
        }
        fsync_dir(&self.dir)?;
        // A broker lists every partition of a new topic in its checkpoints: so does klog.
        topic.sync_checkpoints(&(0..partitions).collect::<Vec<_>>())?;
        Ok(topic)
    }

    /// Opens an existing topic, from its metadata or, failing that, its partition directories.
    /// A topic being deleted is not found.
    pub fn open(&self, name: &str) -> Result<Topic> {
        validate_topic_name(name)?;
        // The stamp first: a change after it is seen by the config watcher of `open_log`.
        let stamp = meta_stamp(&self.meta_path());
        if let Some(meta) = self.meta_for_lookup()?.topics.remove(name) {
            if meta.deleting {
                return Err(Error::TopicNotFound(name.to_string()));
            }
            let config = match topic_config(name, &meta.configs) {
                Ok(c) => c,
                Err(_) if self.lenient => topic_config(name, &BTreeMap::new())?,
                Err(e) => {
                    return Err(Error::BadMetadata {
                        path: self.meta_path(),
                        reason: format!("topic '{name}': {e}"),
                    });
                }
            };
            return Ok(Topic {
                name: name.to_string(),
                partitions: meta.partitions,
                configs: meta.configs,
                config,
                has_meta: true,
                dir: self.dir.clone(),
                stamp,
            });
        }
        let parts = self.partition_dirs(name)?;
        match parts.last() {
            Some(&max) => Ok(Topic {
                name: name.to_string(),
                partitions: max + 1,
                configs: BTreeMap::new(),
                config: topic_config(name, &BTreeMap::new())?,
                has_meta: false,
                dir: self.dir.clone(),
                stamp,
            }),
            None => Err(Error::TopicNotFound(name.to_string())),
        }
    }

    /// Names of every topic, sorted: those with metadata and those with only partition dirs,
    /// without the ones being deleted.
    pub fn list_names(&self) -> Result<Vec<String>> {
        let mut names = std::collections::BTreeSet::new();
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read directory", &self.dir)(e)),
        };
        let meta = self.meta_for_lookup()?;
        for entry in rd.flatten() {
            let Some(n) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if let Some((t, _)) = parse_partition_dir(&n)
                && validate_topic_name(t).is_ok()
                && entry.path().is_dir()
            {
                names.insert(t.to_string());
            }
        }
        for (name, m) in meta.topics {
            if m.deleting {
                names.remove(&name);
            } else {
                names.insert(name);
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Opens a topic, creating it with default configs (and `partitions`) if it is missing.
    /// Returns whether it was created.
    pub fn open_or_create(&self, name: &str, partitions: u32) -> Result<(Topic, bool)> {
        match self.open(name) {
            Ok(t) => Ok((t, false)),
            Err(Error::TopicNotFound(_)) => match self.create(name, partitions, BTreeMap::new()) {
                Ok(t) => Ok((t, true)),
                Err(Error::TopicExists(_)) => Ok((self.open(name)?, false)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Changes a topic's partition count (grow only) and configs.
    pub fn alter(
        &self,
        name: &str,
        partitions: Option<u32>,
        set: BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<Topic> {
        let topic = self.open(name)?;
        if let Some(p) = partitions {
            if p < topic.partitions {
                return Err(Error::Invalid(format!(
                    "topic '{name}' has {} partition{}; partitions can only grow",
                    topic.partitions,
                    if topic.partitions == 1 { "" } else { "s" }
                )));
            }
            if p > MAX_PARTITIONS {
                return Err(Error::Invalid(format!(
                    "partitions must be at most {MAX_PARTITIONS}, not {p}"
                )));
            }
        }
        for k in delete {
            if !crate::storage::CONFIGS.iter().any(|c| c.name == k) {
                return Err(Error::Invalid(format!(
                    "cannot delete unknown config '{k}'; valid ones are {}",
                    crate::storage::config::config_names()
                )));
            }
        }
        let mut validated = BTreeMap::new();
        for (k, v) in set {
            let v = LogConfig::validate(&k, &v)?;
            validated.insert(k, v);
        }
        let new_partitions = self.update(|meta| {
            let entry = meta
                .topics
                .entry(name.to_string())
                .or_insert_with(|| TopicMeta {
                    partitions: topic.partitions,
                    configs: topic.configs.clone(),
                    created_ms: now_ms(),
                    topic_id: None,
                    deleting: false,
                });
            if let Some(p) = partitions {
                entry.partitions = entry.partitions.max(p);
            }
            for k in delete {
                entry.configs.remove(k);
            }
            entry.configs.extend(validated);
            topic_config(name, &entry.configs)?;
            Ok(entry.partitions)
        })?;
        let topic_id = self
            .read_meta()?
            .topics
            .get(name)
            .and_then(|m| m.topic_id.clone());
        for p in topic.partitions..new_partitions {
            let d = self.dir.join(partition_dir_name(name, p));
            fs::create_dir_all(&d).map_err(Error::io("create directory", &d))?;
            if let Some(id) = &topic_id {
                write_partition_metadata(&d, id)?;
            }
        }
        fsync_dir(&self.dir)?;
        self.open(name)
    }

    /// Deletes a topic, crash-safely (see the module's *Crash safety*): marks it, then
    /// removes its partition directories, checkpoint entries and metadata entry.
    pub fn delete(&self, name: &str) -> Result<()> {
        let topic = self.open(name)?;
        self.update(|meta| {
            let entry = meta
                .topics
                .entry(name.to_string())
                .or_insert_with(|| TopicMeta {
                    partitions: topic.partitions,
                    configs: topic.configs.clone(),
                    created_ms: now_ms(),
                    topic_id: None,
                    deleting: false,
                });
            entry.deleting = true;
            Ok(())
        })?;
        self.update(|meta| self.finish_deletion_locked(meta, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_entries_take_the_override_then_the_internal_value_then_the_default() {
        let overrides: BTreeMap<String, String> =
            [("segment.bytes".to_string(), "1024".to_string())].into();
        let entries = config_entries("__consumer_offsets", &overrides);
        assert_eq!(entries.len(), crate::storage::CONFIGS.len());
        assert!(
            entries
                .iter()
                .zip(crate::storage::CONFIGS)
                .all(|(e, c)| e.name == c.name)
        );
        let of = |name: &str| {
            let e = entries.iter().find(|e| e.name == name).unwrap();
            (e.value.as_str(), e.source.name())
        };
        // An override wins over the value Kafka gives its own topic.
        assert_eq!(of("segment.bytes"), ("1024", "topic"));
        assert_eq!(of("cleanup.policy"), ("compact", "internal"));
        assert_eq!(of("retention.ms"), ("604800000", "default"));
        // An ordinary topic has no internal values.
        let plain = config_entries("orders", &BTreeMap::new());
        assert!(plain.iter().all(|e| e.source == ConfigEntrySource::Default));
        assert_eq!(
            plain
                .iter()
                .find(|e| e.name == "cleanup.policy")
                .unwrap()
                .value,
            "delete"
        );
    }

    /// A topic id is a version-4 UUID (RFC 4122 variant) in base64url without padding, never
    /// starting with `-`, and a new one each time.
    #[test]
    fn topic_ids_are_random_v4_uuids_in_kafkas_form() {
        use base64::Engine as _;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = new_topic_id();
            assert_eq!(id.len(), 22, "{id}");
            assert!(!id.starts_with('-'), "{id}");
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&id)
                .unwrap();
            assert_eq!(bytes.len(), 16);
            assert_eq!(bytes[6] >> 4, 4, "version 4: {id}");
            assert_eq!(bytes[8] >> 6, 0b10, "RFC 4122 variant: {id}");
            assert!(seen.insert(id), "an id came twice");
        }
    }

    #[test]
    fn topic_names_follow_kafkas_rule() {
        for ok in ["a", "orders", "my.topic_1-x", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../etc",
            "a b",
            "naïve",
            &"x".repeat(250),
            "a\0b",
        ] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn create_open_alter_delete() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new(dir.path());
        let mut c = BTreeMap::new();
        c.insert("segment.bytes".to_string(), "1024".to_string());
        let t = topics.create("t.x", 2, c).unwrap();
        assert_eq!(t.config.segment_bytes, 1024);
        assert!(matches!(
            topics.create("t.x", 1, BTreeMap::new()),
            Err(Error::TopicExists(_))
        ));
        assert!(topics.create("t_x", 1, BTreeMap::new()).is_err());
        assert_eq!(topics.list_names().unwrap(), vec!["t.x".to_string()]);
        let t = topics
            .alter("t.x", Some(3), BTreeMap::new(), &["segment.bytes".into()])
            .unwrap();
        assert_eq!(t.partitions, 3);
        assert_eq!(t.config.segment_bytes, 1_073_741_824);
        assert!(dir.path().join("t.x-2").is_dir());
        assert!(topics.alter("t.x", Some(1), BTreeMap::new(), &[]).is_err());
        topics.delete("t.x").unwrap();
        assert!(matches!(topics.open("t.x"), Err(Error::TopicNotFound(_))));
        assert!(topics.list_names().unwrap().is_empty());
    }

    /// Before, syncing the checkpoints of a partition of a broker's directory rewrote its
    /// `leader-epoch-checkpoint` empty, set its recovery point to klog's (0: klog had flushed
    /// nothing there), and rewrote the data-directory files sorted, from what klog parsed.
    #[test]
    fn regression_checkpoint_sync_keeps_a_brokers_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let p0 = root.join("t-0");
        fs::create_dir(&p0).unwrap();
        let mut log = Log::open(&p0, LogConfig::default()).unwrap();
        let mut b = crate::format::BatchBuilder::new();
        b.append(1, None, Some(b"v"), &[]);
        log.append(&mut b.finish()).unwrap();
        drop(log);
        fs::remove_file(p0.join(crate::storage::layout::RECOVERY_POINT_FILE)).unwrap();
        // A broker's files: entries in its own order, one for a partition klog never touches.
        let rp = "0\n3\nz 7 5\nt 0 9\na 1 2\n";
        fs::write(root.join(checkpoint::RECOVERY_POINT), rp).unwrap();
        let epochs = "0\n2\n0 0\n3 1\n";
        fs::write(p0.join(checkpoint::LEADER_EPOCH), epochs).unwrap();
        let topic = Topics::new(root).open("t").unwrap();
        assert!(!topic.has_meta);
        topic.sync_checkpoints(&[0]).unwrap();
        assert_eq!(
            fs::read_to_string(root.join(checkpoint::RECOVERY_POINT)).unwrap(),
            rp,
            "never lowered, every line in its place"
        );
        assert_eq!(
            fs::read_to_string(p0.join(checkpoint::LEADER_EPOCH)).unwrap(),
            epochs
        );
        // The high watermark file gets the partition's log end offset.
        assert_eq!(
            fs::read_to_string(root.join(checkpoint::REPLICATION_OFFSET)).unwrap(),
            "0\n1\nt 0 1\n"
        );
        // A checkpoint that does not parse is refused, not replaced.
        fs::write(root.join(checkpoint::RECOVERY_POINT), "0\n2\nz 7 5\n").unwrap();
        assert!(topic.sync_checkpoints(&[0]).is_err());
        assert_eq!(
            fs::read_to_string(root.join(checkpoint::RECOVERY_POINT)).unwrap(),
            "0\n2\nz 7 5\n"
        );
    }

    #[test]
    fn internal_topics_get_kafkas_configs_under_their_overrides() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("__consumer_offsets-0")).unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.open("__consumer_offsets").unwrap();
        assert!(t.config.cleanup_policy.compact && !t.config.cleanup_policy.delete);
        assert_eq!(t.config.segment_bytes, 104_857_600);
        let mut c = BTreeMap::new();
        c.insert("segment.bytes".to_string(), "2048".to_string());
        let t = topics.alter("__consumer_offsets", None, c, &[]).unwrap();
        assert_eq!(t.config.segment_bytes, 2048);
        assert!(t.config.cleanup_policy.compact, "still compacted");
        let t = topics.create("plain", 1, BTreeMap::new()).unwrap();
        assert!(t.config.cleanup_policy.delete);
    }

    #[test]
    fn topics_without_metadata_are_found_by_their_directories() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("broker-topic-0")).unwrap();
        fs::create_dir(dir.path().join("broker-topic-2")).unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.open("broker-topic").unwrap();
        assert_eq!(t.partitions, 3);
        assert!(!t.has_meta);
    }
}
