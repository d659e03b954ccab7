//! Consumer groups without a broker: committed offsets and partition ownership, kept in the
//! partition directories and coordinated by OS file locks.
//!
//! # Layout
//! For group `G` consuming topic `T`, inside each partition directory `T-<p>/`:
//!
//! | file                        | what                                                    |
//! |-----------------------------|---------------------------------------------------------|
//! | `klog-group.G.json`         | the committed offset: `{"group", "topic", "partition", "offset", "committed_ms"}` |
//! | `.klog-group.G.lock`        | held (`flock`) by the live member that owns the partition; holds its pid |
//!
//! and in `T-0/` the member slots `.klog-group.G.member-<k>`, each held by one live member, so
//! that members can count each other. A member's rank among the live slots gives its share of
//! the partitions ([`fair_share`]: ⌊P/M⌋ or ⌈P/M⌉) and the range it tries first.
//!
//! # Why files next to the data, replaced atomically
//! A committed offset is a small fact about one partition, so it lives in that partition's
//! directory: commits of different partitions never contend, nothing is read-modify-written,
//! deleting a topic deletes its groups' offsets (as in Kafka), and `cat` shows an offset
//! without klog. Each commit writes a temp file, fsyncs it and renames it over the old one, so
//! a crash leaves the old or the new offset, never a torn one; losing the very last commit in
//! a power cut only repeats records, which the at-least-once contract allows. A compacted
//! `__consumer_offsets` log (Kafka's way) would need compaction to stay small and a decoder to
//! be read.
//!
//! # Invariants
//! 1. A partition is owned by at most one live member of a group: ownership is an exclusive
//!    `flock` on its lock file, released by the OS when the member exits or is killed.
//! 2. The committed offset is the next offset to read; a member commits only offsets of
//!    records it has already written out.
//! 3. Group names follow the topic-name rule, at most [`MAX_GROUP_NAME`] characters, so that
//!    every file name above stays within the file-system limit.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::storage::failpoint as fp;
use crate::storage::file_names::parse_partition_dir;
use crate::topic::{Topic, Topics};

/// Longest group name accepted.
pub const MAX_GROUP_NAME: usize = 200;
const MAX_MEMBER_SLOTS: usize = 4096;

/// Checks a group name: the topic-name alphabet, 1 to [`MAX_GROUP_NAME`] characters.
pub fn validate_group_name(name: &str) -> Result<()> {
    let bad = |reason: String| {
        Err(Error::InvalidGroupName {
            name: name.escape_debug().to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty".into());
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not allowed".into());
    }
    if name.len() > MAX_GROUP_NAME {
        return bad(format!("it is longer than {MAX_GROUP_NAME} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return bad(format!(
            "{c:?} is not allowed (only ASCII letters, digits, '.', '_' and '-')"
        ));
    }
    Ok(())
}

fn offset_file(partition_dir: &Path, group: &str) -> PathBuf {
    partition_dir.join(format!("klog-group.{group}.json"))
}

fn lock_file(partition_dir: &Path, group: &str) -> PathBuf {
    partition_dir.join(format!(".klog-group.{group}.lock"))
}

fn member_file(topic: &Topic, group: &str, slot: usize) -> PathBuf {
    topic
        .partition_dir(0)
        .join(format!(".klog-group.{group}.member-{slot}"))
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub group: String,
    pub topic: String,
    pub partition: u32,
    /// The next offset the group will read.
    pub offset: i64,
    pub committed_ms: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The committed offset of `group` for one partition, if any.
pub fn committed(topic: &Topic, partition: u32, group: &str) -> Result<Option<Committed>> {
    let path = offset_file(&topic.partition_dir(partition), group);
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Error::BadMetadata {
            path,
            reason: e.to_string(),
        })
}

/// Stores `offset` as the committed offset of `group` for one partition (atomic replace;
/// the file is fsynced, the rename is not waited for: losing it only repeats records).
pub fn commit(topic: &Topic, partition: u32, group: &str, offset: i64) -> Result<()> {
    let dir = topic.partition_dir(partition);
    let path = offset_file(&dir, group);
    let c = Committed {
        group: group.to_string(),
        topic: topic.name.clone(),
        partition,
        offset,
        committed_ms: now_ms(),
    };
    let mut text = serde_json::to_vec(&c).unwrap_or_default();
    text.push(b'\n');
    let tmp = dir.join(format!(
        ".klog-group.{group}.json.{}.tmp",
        std::process::id()
    ));
    let mut f = fp::open(
        OpenOptions::new().write(true).create(true).truncate(true),
        &tmp,
        "group.create",
    )
    .map_err(Error::io("create", &tmp))?;
    fp::write_all(&mut f, &text, "group.write").map_err(Error::io("write", &tmp))?;
    fp::sync_data(&f, "group.fsync").map_err(Error::io("fsync", &tmp))?;
    drop(f);
    fp::rename(&tmp, &path, "group.rename").map_err(Error::io("rename", &tmp))
}

/// Removes the committed offset of `group` for one partition.
pub fn forget(topic: &Topic, partition: u32, group: &str) -> Result<()> {
    let path = offset_file(&topic.partition_dir(partition), group);
    match fp::remove_file(&path, "group.forget") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("delete", &path)(e)),
    }
}

fn open_lock(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(Error::io("open", path))
}

/// Tries to take an exclusive lock without blocking: `Ok(None)` if someone holds it.
fn try_lock(path: &Path) -> Result<Option<File>> {
    let f = open_lock(path)?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", path)(e)),
    }
}

/// The pid of the live member owning a partition, if one does.
pub fn owner(topic: &Topic, partition: u32, group: &str) -> Result<Option<u32>> {
    let path = lock_file(&topic.partition_dir(partition), group);
    if !path.exists() {
        return Ok(None);
    }
    match try_lock(&path)? {
        Some(f) => {
            let _ = f.unlock();
            Ok(None)
        }
        None => {
            let mut s = String::new();
            let _ = File::open(&path).and_then(|mut f| f.read_to_string(&mut s));
            Ok(Some(s.trim().parse().unwrap_or(0)))
        }
    }
}

/// Ownership of one partition: the lock is released when this is dropped.
#[derive(Debug)]
pub struct PartitionLock {
    pub partition: u32,
    _file: File,
}

/// Takes a partition for this process if no live member owns it.
pub fn try_own(topic: &Topic, partition: u32, group: &str) -> Result<Option<PartitionLock>> {
    let path = lock_file(&topic.partition_dir(partition), group);
    let Some(mut f) = try_lock(&path)? else {
        return Ok(None);
    };
    // Record who holds it, for `groups describe`.
    let pid = std::process::id().to_string();
    let _ = f.set_len(0);
    let _ = f.rewind();
    let _ = f.write_all(pid.as_bytes());
    Ok(Some(PartitionLock {
        partition,
        _file: f,
    }))
}

/// A live member of a group on a topic: holds one member slot while it lives.
#[derive(Debug)]
pub struct Member {
    pub slot: usize,
    _file: File,
}

impl Member {
    /// Joins `group` on `topic` by taking the first free member slot.
    pub fn join(topic: &Topic, group: &str) -> Result<Member> {
        validate_group_name(group)?;
        for slot in 0..MAX_MEMBER_SLOTS {
            if let Some(f) = try_lock(&member_file(topic, group, slot))? {
                return Ok(Member { slot, _file: f });
            }
        }
        Err(Error::Invalid(format!(
            "group '{group}' already has {MAX_MEMBER_SLOTS} live members"
        )))
    }
}

/// Slots of the live members of `group` on `topic`, ascending (this process's own member
/// included). A slot is live while its file is locked.
pub fn live_member_slots(topic: &Topic, group: &str) -> Result<Vec<usize>> {
    let dir = topic.partition_dir(0);
    let prefix = format!(".klog-group.{group}.member-");
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", &dir)(e)),
    };
    let mut slots = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(slot) = name
            .strip_prefix(&prefix)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        match try_lock(&e.path())? {
            Some(f) => {
                let _ = f.unlock();
            }
            None => slots.push(slot),
        }
    }
    slots.sort_unstable();
    Ok(slots)
}

/// Number of live members of `group` on `topic` (this process's own member included).
pub fn live_members(topic: &Topic, group: &str) -> Result<usize> {
    Ok(live_member_slots(topic, group)?.len())
}

/// How many of `partitions` the member of rank `rank` (0-based, among `members` live members
/// ordered by slot) should own: ⌈P/M⌉ for the first P mod M ranks and ⌊P/M⌋ for the others,
/// the sizes of Kafka's range assignor. The shares of all ranks add up to `partitions`.
pub fn fair_share(partitions: usize, members: usize, rank: usize) -> usize {
    let members = members.max(1);
    partitions / members + usize::from(rank < partitions % members)
}

/// Where the range of the member of rank `rank` starts among `partitions` (the shares of the
/// lower ranks added up): the partitions it tries first, so that members of a stable group
/// settle on disjoint ranges.
pub fn range_start(partitions: usize, members: usize, rank: usize) -> usize {
    let members = members.max(1);
    let rank = rank.min(members);
    rank * (partitions / members) + rank.min(partitions % members)
}

/// One row of `groups describe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupPartition {
    pub group: String,
    pub topic: String,
    pub partition: u32,
    pub current_offset: Option<i64>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub lag: Option<i64>,
    /// Pid of the live member owning the partition.
    pub member: Option<u32>,
}

/// Every group with committed offsets or live members, and the topics it has them in.
pub fn list_groups(topics: &Topics) -> Result<Vec<(String, Vec<String>)>> {
    let mut out: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let rd = match fs::read_dir(topics.dir()) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", topics.dir())(e)),
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((topic, _)) = parse_partition_dir(name) else {
            continue;
        };
        let Ok(inner) = fs::read_dir(e.path()) else {
            continue;
        };
        for f in inner.flatten() {
            let fname = f.file_name();
            let Some(fname) = fname.to_str() else {
                continue;
            };
            // A group exists where it has committed offsets, or a live member owns a partition
            // (lock files stay behind after members leave: deleting them could let a joining
            // member lock an unlinked file while another locks its replacement).
            let group = fname
                .strip_prefix("klog-group.")
                .and_then(|s| s.strip_suffix(".json"))
                .or_else(|| {
                    fname
                        .strip_prefix(".klog-group.")
                        .and_then(|s| s.strip_suffix(".lock"))
                        .filter(|_| matches!(try_lock(&f.path()), Ok(None)))
                });
            if let Some(g) = group
                && validate_group_name(g).is_ok()
            {
                out.entry(g.to_string())
                    .or_default()
                    .insert(topic.to_string());
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(g, ts)| (g, ts.into_iter().collect()))
        .collect())
}

/// The state of `group` on every partition of `topic`.
pub fn describe_topic(topic: &Topic, group: &str) -> Result<Vec<GroupPartition>> {
    let mut rows = Vec::new();
    for p in 0..topic.partitions {
        let (start, end) = match topic.open_reader(p)? {
            Some(mut r) => (r.log_start_offset(), r.log_end_offset()?),
            None => (0, 0),
        };
        let current = committed(topic, p, group)?.map(|c| c.offset);
        rows.push(GroupPartition {
            group: group.to_string(),
            topic: topic.name.clone(),
            partition: p,
            current_offset: current,
            log_start_offset: start,
            log_end_offset: end,
            lag: current.map(|c| (end - c.max(start)).max(0)),
            member: owner(topic, p, group)?,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn names() {
        assert!(validate_group_name("etl.v2_x-1").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", &"g".repeat(201)] {
            assert!(validate_group_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn commit_read_forget() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.create("t", 2, BTreeMap::new()).unwrap();
        assert_eq!(committed(&t, 1, "g").unwrap(), None);
        commit(&t, 1, "g", 42).unwrap();
        commit(&t, 1, "g", 43).unwrap();
        let c = committed(&t, 1, "g").unwrap().unwrap();
        assert_eq!((c.offset, c.partition, c.topic.as_str()), (43, 1, "t"));
        assert_eq!(committed(&t, 0, "g").unwrap(), None);
        assert_eq!(
            list_groups(&topics).unwrap(),
            vec![("g".into(), vec!["t".into()])]
        );
        forget(&t, 1, "g").unwrap();
        assert_eq!(committed(&t, 1, "g").unwrap(), None);
    }

    #[test]
    fn ownership_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.create("t", 2, BTreeMap::new()).unwrap();
        let lock = try_own(&t, 0, "g").unwrap().unwrap();
        // flock is per open file: a second open, even in this process, is refused.
        assert!(try_own(&t, 0, "g").unwrap().is_none());
        assert_eq!(owner(&t, 0, "g").unwrap(), Some(std::process::id()));
        assert!(try_own(&t, 1, "g").unwrap().is_some());
        drop(lock);
        assert_eq!(owner(&t, 0, "g").unwrap(), None);
        assert!(try_own(&t, 0, "g").unwrap().is_some());
    }

    #[test]
    fn members_count_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.create("t", 4, BTreeMap::new()).unwrap();
        assert_eq!(live_members(&t, "g").unwrap(), 0);
        let a = Member::join(&t, "g").unwrap();
        let b = Member::join(&t, "g").unwrap();
        assert_ne!(a.slot, b.slot);
        assert_eq!(live_members(&t, "g").unwrap(), 2);
        drop(a);
        assert_eq!(live_members(&t, "g").unwrap(), 1);
        assert_eq!(live_member_slots(&t, "g").unwrap(), vec![b.slot]);
    }

    /// 3 members on 4 partitions got 2/2/0: every member was given ⌈P/M⌉.
    #[test]
    fn regression_fair_share_is_floor_or_ceil_and_adds_up() {
        assert_eq!(
            (0..3).map(|r| fair_share(4, 3, r)).collect::<Vec<_>>(),
            [2, 1, 1]
        );
        assert_eq!(
            (0..3).map(|r| range_start(4, 3, r)).collect::<Vec<_>>(),
            [0, 2, 3]
        );
        assert_eq!(fair_share(3, 0, 0), 3);
        for p in 0..40 {
            for m in 1..12 {
                let shares: Vec<usize> = (0..m).map(|r| fair_share(p, m, r)).collect();
                assert_eq!(shares.iter().sum::<usize>(), p, "{p} on {m}");
                for (r, &s) in shares.iter().enumerate() {
                    assert!(
                        s == p / m || s == p.div_ceil(m),
                        "{p} on {m}: rank {r} gets {s}"
                    );
                    // The ranges are back to back and cover every partition.
                    assert_eq!(range_start(p, m, r), shares[..r].iter().sum::<usize>());
                }
            }
        }
    }
}
