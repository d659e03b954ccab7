//! Topics: named sets of partition logs in a data directory, with their configs.
//!
//! # Layout
//! ```text
//! <data dir>/
//!   klog-topics.json         klog's metadata: each topic's partition count and config overrides
//!   <topic>-<partition>/     one Kafka partition directory per partition
//! ```
//! The metadata is one regular file at the top of the data directory, where a Kafka broker
//! looks only for its own checkpoint files (every *directory* there is a partition to Kafka).
//! One file rather than one per topic keeps every legal topic name (up to 249 characters)
//! within the file-name limit. A Kafka broker's `log.dirs` has no such file: its topics are
//! discovered from the `<topic>-<n>` directories and read with default configs.
//!
//! # Invariants
//! 1. Topic names follow Kafka's rule (1-249 ASCII letters, digits, `.`, `_`, `-`; not `.` or
//!    `..`), so a name can never reach outside the data directory; two topics may not differ
//!    only by `.` versus `_`.
//! 2. Metadata is written atomically (temp file, fsync, rename, fsync the directory), and only
//!    under an exclusive `flock` of the data directory, so two concurrent creates cannot both
//!    win and no update is lost. Readers take no lock.
//! 3. Partitions only grow.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::storage::checkpoint;
use crate::storage::file_names::{parse_partition_dir, partition_dir_name};
use crate::storage::fs::{atomic_write, fsync_dir};
use crate::storage::{Log, LogConfig, LogReader};

/// klog's metadata file in the data directory.
pub const META_FILE: &str = "klog-topics.json";
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
}

/// A new random topic id: a version-4 UUID in Kafka's base64url form, without padding.
pub fn new_topic_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        // RandomState is seeded from the OS; mix in time, pid and the chunk number.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Writes Kafka's `partition.metadata` (`version: 0`, `topic_id: …`, no trailing newline)
/// unless it is there already.
fn write_partition_metadata(dir: &Path, topic_id: &str) -> Result<()> {
    let path = dir.join("partition.metadata");
    if path.exists() {
        return Ok(());
    }
    atomic_write(
        &path,
        format!("version: 0\ntopic_id: {topic_id}").as_bytes(),
    )
}

/// The whole of `klog-topics.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u32,
    #[serde(default)]
    pub topics: BTreeMap<String, TopicMeta>,
}

/// A topic as found in a data directory.
#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub partitions: u32,
    pub configs: BTreeMap<String, String>,
    pub config: LogConfig,
    /// False for a topic found only through its partition directories (a Kafka broker's).
    pub has_meta: bool,
    dir: PathBuf,
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

    /// Opens a partition for appending.
    pub fn open_log(&self, partition: u32) -> Result<Log> {
        self.check_partition(partition)?;
        Log::open(&self.partition_dir(partition), self.config.clone())
    }

    /// Brings Kafka's checkpoint files up to date for these partitions, so that the data
    /// directory looks like one a broker left: the recovery point (what klog has fsynced),
    /// the high watermark (the log end offset: one local replica), the log start offset where
    /// it is above the first segment, the first uncompacted offset where compaction ran, and
    /// an empty `leader-epoch-checkpoint` (klog writes no leader epochs).
    pub fn sync_checkpoints(&self, partitions: &[u32]) -> Result<()> {
        let (mut rps, mut hws, mut lsos) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let mut cleaned = BTreeMap::new();
        let mut no_lso = Vec::new();
        for &p in partitions {
            let dir = self.partition_dir(p);
            let Some(mut r) = self.open_reader(p)? else {
                continue;
            };
            let leo = r.log_end_offset()?;
            let lso = r.log_start_offset();
            let key = (self.name.clone(), p);
            let rp = crate::storage::log::read_recovery_point(&dir)
                .unwrap_or(0)
                .min(leo);
            rps.insert(key.clone(), rp);
            hws.insert(key.clone(), leo);
            if r.segments().first().is_some_and(|&b| lso > b) {
                lsos.insert(key, lso);
            } else {
                no_lso.push(key);
            }
            if let Some(o) = crate::storage::cleaner::read_cleaner_offset(&dir) {
                cleaned.insert((self.name.clone(), p), o);
            }
            checkpoint::write_leader_epochs(&dir, &[])?;
        }
        if !cleaned.is_empty() {
            checkpoint::update_offsets(&self.dir, checkpoint::CLEANER_OFFSET, &cleaned, &[])?;
        }
        checkpoint::update_offsets(&self.dir, checkpoint::RECOVERY_POINT, &rps, &[])?;
        checkpoint::update_offsets(&self.dir, checkpoint::REPLICATION_OFFSET, &hws, &[])?;
        checkpoint::update_offsets(&self.dir, checkpoint::LOG_START_OFFSET, &lsos, &no_lso)
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
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Topics {
    pub fn new(dir: impl Into<PathBuf>) -> Topics {
        Topics { dir: dir.into() }
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
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(MetaFile::default()),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        serde_json::from_slice(&text).map_err(|e| Error::BadMetadata {
            path: path.clone(),
            reason: e.to_string(),
        })
    }

    /// Runs `f` on the metadata under the data directory's lock and writes it back if `f`
    /// changed it.
    fn update<T>(&self, f: impl FnOnce(&mut MetaFile) -> Result<T>) -> Result<T> {
        fs::create_dir_all(&self.dir).map_err(Error::io("create directory", &self.dir))?;
        let _lock = crate::storage::fs::lock_dir(&self.dir)?;
        let before = self.read_meta()?;
        let mut meta = before.clone();
        let out = f(&mut meta)?;
        if meta != before {
            meta.version = 1;
            let mut text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
            text.push(b'\n');
            atomic_write(&self.meta_path(), &text)?;
        }
        Ok(out)
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

    /// Creates a topic. Configs are validated before anything is written.
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
        let config = LogConfig::from_overrides(&clean)?;
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
        };
        self.update(|meta| {
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
    pub fn open(&self, name: &str) -> Result<Topic> {
        validate_topic_name(name)?;
        if let Some(meta) = self.read_meta()?.topics.remove(name) {
            let config =
                LogConfig::from_overrides(&meta.configs).map_err(|e| Error::BadMetadata {
                    path: self.meta_path(),
                    reason: e.to_string(),
                })?;
            return Ok(Topic {
                name: name.to_string(),
                partitions: meta.partitions,
                configs: meta.configs,
                config,
                has_meta: true,
                dir: self.dir.clone(),
            });
        }
        let parts = self.partition_dirs(name)?;
        match parts.last() {
            Some(&max) => Ok(Topic {
                name: name.to_string(),
                partitions: max + 1,
                configs: BTreeMap::new(),
                config: LogConfig::default(),
                has_meta: false,
                dir: self.dir.clone(),
            }),
            None => Err(Error::TopicNotFound(name.to_string())),
        }
    }

    /// Names of every topic, sorted: those with metadata and those with only partition dirs.
    pub fn list_names(&self) -> Result<Vec<String>> {
        let mut names = std::collections::BTreeSet::new();
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read directory", &self.dir)(e)),
        };
        names.extend(self.read_meta()?.topics.into_keys());
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
                });
            if let Some(p) = partitions {
                entry.partitions = entry.partitions.max(p);
            }
            for k in delete {
                entry.configs.remove(k);
            }
            entry.configs.extend(validated);
            LogConfig::from_overrides(&entry.configs)?;
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

    /// Deletes a topic: its partition directories, then its metadata.
    pub fn delete(&self, name: &str) -> Result<()> {
        let topic = self.open(name)?;
        self.update(|meta| {
            for p in self.partition_dirs(name)? {
                let d = topic.partition_dir(p);
                // Rename first (Kafka's `-delete` suffix, short enough for any topic name) so
                // that a crash mid-way never leaves a half-deleted partition looking live.
                let doomed = self
                    .dir
                    .join(format!("klog-{}-{p}.delete", std::process::id()));
                fs::rename(&d, &doomed).map_err(Error::io("rename", &d))?;
                fs::remove_dir_all(&doomed).map_err(Error::io("delete", &doomed))?;
            }
            meta.topics.remove(name);
            Ok(())
        })?;
        let gone: Vec<(String, u32)> = (0..topic.partitions)
            .map(|p| (name.to_string(), p))
            .collect();
        for file in [
            checkpoint::RECOVERY_POINT,
            checkpoint::LOG_START_OFFSET,
            checkpoint::REPLICATION_OFFSET,
            checkpoint::CLEANER_OFFSET,
        ] {
            if self.dir.join(file).exists() {
                checkpoint::update_offsets(&self.dir, file, &BTreeMap::new(), &gone)?;
            }
        }
        fsync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
