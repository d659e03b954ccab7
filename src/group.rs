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
//! | `.klog-group.G.json.<pid>[.<k>].tmp` | a commit being written; renamed over `klog-group.G.json` |
//!
//! and in `T-0/` the member slots `.klog-group.G.member-<k>`, each held by one live member, so
//! that members can count each other. A member's rank among the live slots gives its share of
//! the partitions ([`fair_share`]: ⌊P/M⌋ or ⌈P/M⌉) and the range it tries first;
//! [`crate::consume::GroupMember`] takes and gives back partitions by these rules.
//!
//! Lock and member-slot files stay after their members exit (a member that comes back
//! reuses them); [`delete`] removes them with the offsets, while it holds every one of them.
//!
//! # Why files next to the data, replaced atomically
//! A committed offset is a small fact about one partition, so it lives in that partition's
//! directory: commits of different partitions never contend, nothing is read-modify-written,
//! deleting a topic deletes its groups' offsets (as in Kafka), and `cat` shows an offset
//! without klog. Each commit writes a temp file, fsyncs it and renames it over the old one, so
//! a crash leaves the old or the new offset, never a torn one; losing the very last commit in
//! a power cut only repeats records, which the at-least-once contract allows. Only the owner
//! of a partition's lock commits to it, so the member that takes a partition removes every
//! temp file its group left there (commits killed before their rename); a commit that fails
//! removes its own. A compacted
//! `__consumer_offsets` log (Kafka's way) would need compaction to stay small and a decoder to
//! be read.
//!
//! # A Kafka broker's groups
//! In a broker's data directory, the broker's groups' offsets are records of its compacted
//! `__consumer_offsets` topic; [`broker_commits`] reads them (never writes) the way the
//! group coordinator loads them, so that `groups list|describe` show them next to klog's.
//!
//! # Invariants
//! 1. A partition is owned by at most one live member of a group: ownership is an exclusive
//!    `flock` on its lock file, released by the OS when the member exits or is killed.
//! 2. The committed offset is the next offset to read; a member commits only offsets of
//!    records it has already written out.
//! 3. `G` in these names is the group name encoded by [`encode_group`] (every byte outside
//!    `[A-Za-z0-9._-]` as `%XX`), so any group id Kafka accepts (any non-empty string) is
//!    stored inside its partition directory, and every file name stays within the file
//!    system's 255 bytes ([`MAX_ENCODED_GROUP_NAME`]; longer names are refused).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::format::group_metadata::{OffsetsKey, decode_key, decode_offset_commit};
use crate::storage::clock::now_ms;
use crate::storage::failpoint as fp;
use crate::storage::fs as sfs;
use crate::storage::layout::{self, parse_partition_dir};
use crate::topic::{Topic, Topics};

/// Longest group name accepted, in bytes once encoded for file names (see [`encode_group`]):
/// the longest file name a group has, a commit's temp file
/// `.klog-group.<G>.json.<pid>.tmp` with a 10-digit pid, then takes the file system's 255
/// (concurrent commits of one offset file by one process add a slot to the pid only where
/// the name still fits: see `storage::fs::replace_file`).
pub const MAX_ENCODED_GROUP_NAME: usize = 255 - ".klog-group..json.4294967295.tmp".len();
const MAX_MEMBER_SLOTS: usize = 4096;

/// Whether a byte stands for itself in an encoded group name.
fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// A group name as it appears in file names: every byte outside `[A-Za-z0-9._-]` written as
/// `%XX` (upper-case hex). Names of that alphabet alone keep their own spelling, so offsets
/// committed before names could hold other characters are found under the same files; no
/// encoded name holds a `/` or is `.` or `..` on its own.
pub fn encode_group(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        if plain(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The group name an encoded one stands for; `None` unless `encoded` is exactly what
/// [`encode_group`] makes of some name (so that one group has one spelling on disk).
pub fn decode_group(encoded: &str) -> Option<String> {
    let b = encoded.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            if hex.bytes().any(|h| h.is_ascii_lowercase()) {
                return None;
            }
            let v = u8::from_str_radix(hex, 16).ok()?;
            if plain(v) {
                return None;
            }
            out.push(v);
            i += 3;
        } else if plain(c) {
            out.push(c);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}

/// Checks a group name. Kafka refuses only the empty group id; klog also needs the encoded
/// name (see [`encode_group`]) to keep every file name within the file system's 255 bytes.
pub fn validate_group_name(name: &str) -> Result<()> {
    let bad = |reason: String| {
        Err(Error::InvalidGroupName {
            name: name.escape_debug().to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty (Kafka refuses an empty group id)".into());
    }
    let encoded = encode_group(name).len();
    if encoded > MAX_ENCODED_GROUP_NAME {
        return bad(format!(
            "it is too long: {encoded} bytes in file names once encoded, at most \
             {MAX_ENCODED_GROUP_NAME} (each byte outside A-Z a-z 0-9 . _ - takes 3)"
        ));
    }
    Ok(())
}

fn offset_file(partition_dir: &Path, group: &str) -> PathBuf {
    partition_dir.join(layout::group_offset_file(&encode_group(group)))
}

fn lock_file(partition_dir: &Path, group: &str) -> PathBuf {
    partition_dir.join(layout::group_lock_file(&encode_group(group)))
}

fn member_file(topic: &Topic, group: &str, slot: usize) -> PathBuf {
    topic
        .partition_dir(0)
        .join(layout::group_member_file(&encode_group(group), slot))
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
    /// The metadata string a Kafka client committed with the offset (OffsetCommit's
    /// `metadata`, returned by OffsetFetch), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

/// The committed offset of `group` for one partition, if any.
pub fn committed(topic: &Topic, partition: u32, group: &str) -> Result<Option<Committed>> {
    let path = offset_file(&topic.partition_dir(partition), group);
    let text = match crate::storage::fs::read_regular(&path) {
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

/// Whether `file_name` is a commit's temp file of `group`, by any process and thread
/// (`.klog-group.G.json.<pid>[.<k>].tmp`, see `storage::layout::temp_file`).
fn is_tmp_file(file_name: &str, group: &str) -> bool {
    layout::is_temp_of(file_name, &layout::group_offset_file(&encode_group(group)))
}

/// Removes every commit temp file of `group` in a partition directory: what commits killed
/// between writing and renaming left. Only the owner of the partition's lock may call this:
/// it is the only committer of the partition, so no temp file there is being written.
fn sweep_tmp_files(partition_dir: &Path, group: &str) -> Result<()> {
    let rd = match fs::read_dir(partition_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read directory", partition_dir)(e)),
    };
    for e in rd.flatten() {
        if e.file_name()
            .to_str()
            .is_some_and(|n| is_tmp_file(n, group))
        {
            // Garbage either way: outside the fail-point layer, like the lock files.
            match fs::remove_file(e.path()) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::io("delete", e.path())(err)),
            }
        }
    }
    Ok(())
}

/// Stores `offset` as the committed offset of `group` for one partition (atomic replace;
/// the file is fsynced, the rename is not waited for: losing it only repeats records).
/// Call it only while owning the partition ([`try_own`]): the owner is its only committer.
/// A commit that fails removes its temp file; one killed midway leaves it for the next owner
/// to sweep.
pub fn commit(topic: &Topic, partition: u32, group: &str, offset: i64) -> Result<()> {
    commit_with_metadata(topic, partition, group, offset, None)
}

/// [`commit`] with a Kafka client's metadata string, stored with the offset.
pub fn commit_with_metadata(
    topic: &Topic,
    partition: u32,
    group: &str,
    offset: i64,
    metadata: Option<&str>,
) -> Result<()> {
    let dir = topic.partition_dir(partition);
    let path = offset_file(&dir, group);
    let c = Committed {
        group: group.to_string(),
        topic: topic.name.clone(),
        partition,
        offset,
        committed_ms: now_ms(),
        metadata: metadata.map(str::to_string),
    };
    let mut text = serde_json::to_vec(&c).unwrap_or_default();
    text.push(b'\n');
    sfs::replace_file(&path, &text, sfs::Durability::Synced, &sfs::GROUP_COMMIT)
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

/// Whether `f` is still the file at `path` (same device and inode).
fn still_at(f: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Tries to take an exclusive lock without blocking: `Ok(None)` if someone holds it. Creates
/// the file if needed.
///
/// [`delete`] unlinks lock files while it holds them. A process that opened such a file just
/// before and locks it just after would hold a lock nobody else can see (the next opener
/// creates a new file at the path), so a lock is kept only on the file still at `path`.
fn try_lock(path: &Path) -> Result<Option<File>> {
    for _ in 0..16 {
        let f = open_lock(path)?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", path)(e)),
        }
        if still_at(&f, path) {
            return Ok(Some(f));
        }
    }
    Ok(None)
}

/// Whether a live process holds the lock on the file at `path`; a missing file is held by
/// nobody. Probes with a shared lock on a read-only open, so it creates and changes nothing.
fn is_held(path: &Path) -> Result<bool> {
    let f = match crate::storage::fs::open_options_regular(OpenOptions::new().read(true)).open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("open", path)(e)),
    };
    match f.try_lock_shared() {
        Ok(()) => {
            let _ = f.unlock();
            Ok(false)
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", path)(e)),
    }
}

/// The pid a lock or member-slot file names (written by its holder), if any.
fn pid_in(path: &Path) -> Option<u32> {
    let bytes = crate::storage::fs::read_regular(path).ok()?;
    std::str::from_utf8(&bytes).ok()?.trim().parse().ok()
}

/// Writes this process's pid into a file it holds the lock of.
fn write_pid(f: &mut File) {
    let pid = std::process::id().to_string();
    let _ = f.set_len(0);
    let _ = f.rewind();
    let _ = f.write_all(pid.as_bytes());
}

/// The pid of the live member owning a partition, if one does.
pub fn owner(topic: &Topic, partition: u32, group: &str) -> Result<Option<u32>> {
    let path = lock_file(&topic.partition_dir(partition), group);
    if !is_held(&path)? {
        return Ok(None);
    }
    Ok(Some(pid_in(&path).unwrap_or(0)))
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
    write_pid(&mut f);
    sweep_tmp_files(&topic.partition_dir(partition), group)?;
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
            if let Some(mut f) = try_lock(&member_file(topic, group, slot))? {
                // Who holds it, for the error of a refused `groups delete`.
                write_pid(&mut f);
                return Ok(Member { slot, _file: f });
            }
        }
        Err(Error::Invalid(format!(
            "group '{group}' already has {MAX_MEMBER_SLOTS} live members"
        )))
    }
}

/// The member slot a file name is, for `group`.
fn member_slot_of(file_name: &str, group: &str) -> Option<usize> {
    layout::parse_group_member_file(file_name, &encode_group(group))
}

/// Every member-slot file of `group` on `topic`, live or not: (slot, path), by slot.
fn member_files(topic: &Topic, group: &str) -> Result<Vec<(usize, PathBuf)>> {
    let dir = topic.partition_dir(0);
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", &dir)(e)),
    };
    let mut out: Vec<(usize, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let slot = member_slot_of(e.file_name().to_str()?, group)?;
            Some((slot, e.path()))
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Slots of the live members of `group` on `topic`, ascending (this process's own member
/// included). A slot is live while its file is locked.
pub fn live_member_slots(topic: &Topic, group: &str) -> Result<Vec<usize>> {
    let mut slots = Vec::new();
    for (slot, path) in member_files(topic, group)? {
        if is_held(&path)? {
            slots.push(slot);
        }
    }
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

/// Where a committed offset lies outside its partition's log (Kafka's `OFFSET_OUT_OF_RANGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfRange {
    /// Below the log start offset: retention or trimming deleted records never read.
    BelowLogStart,
    /// Past the log end offset: the log lost its tail (a torn tail cut by recovery, a repair)
    /// after the group read it.
    PastLogEnd,
}

impl OutOfRange {
    /// Whether `offset` (the next offset to read) lies outside `[log_start, log_end]`.
    pub fn of(offset: i64, log_start: i64, log_end: i64) -> Option<OutOfRange> {
        if offset < log_start {
            Some(OutOfRange::BelowLogStart)
        } else if offset > log_end {
            Some(OutOfRange::PastLogEnd)
        } else {
            None
        }
    }

    /// "below the log start 5", "past the log end 11".
    pub fn describe(self, log_start: i64, log_end: i64) -> String {
        match self {
            OutOfRange::BelowLogStart => format!("below the log start {log_start}"),
            OutOfRange::PastLogEnd => format!("past the log end {log_end}"),
        }
    }
}

/// Where a committed offset is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// klog's own `klog-group.G.json` files.
    Klog,
    /// A Kafka broker's `__consumer_offsets` topic (read only).
    Kafka,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Klog => "klog",
            Source::Kafka => "kafka",
        }
    }
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
    /// Records left to read from the committed offset; `None` without one, or when it is out
    /// of range (where the next member starts then depends on its `--reset`).
    pub lag: Option<i64>,
    /// Pid of the live member owning the partition.
    pub member: Option<u32>,
    /// Set when the committed offset lies outside the log: the next member does not start
    /// there but where its `--reset` says, as Kafka's `auto.offset.reset` does.
    pub out_of_range: Option<OutOfRange>,
    /// Whose offset this is: klog's, or a Kafka broker's.
    pub source: Source,
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
            // (lock files stay behind after members leave, until `groups delete`).
            let group = layout::parse_group_offset_file(fname).or_else(|| {
                layout::parse_group_lock_file(fname)
                    .filter(|_| matches!(is_held(&f.path()), Ok(true)))
            });
            if let Some(g) = group.and_then(decode_group)
                && validate_group_name(&g).is_ok()
            {
                out.entry(g).or_default().insert(topic.to_string());
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(g, ts)| (g, ts.into_iter().collect()))
        .collect())
}

/// Whether `file_name` is one of `group`'s files: its committed offset, a partition lock, a
/// member slot or a commit's temp file.
fn is_group_file(file_name: &str, group: &str) -> bool {
    let enc = encode_group(group);
    file_name == layout::group_offset_file(&enc)
        || file_name == layout::group_lock_file(&enc)
        || member_slot_of(file_name, group).is_some()
        || is_tmp_file(file_name, group)
}

/// Names of the topics where `group` has any file (committed offsets, lock, member-slot or
/// temp files, live or left behind), sorted.
pub fn topics_with_files(topics: &Topics, group: &str) -> Result<Vec<String>> {
    let rd = match fs::read_dir(topics.dir()) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", topics.dir())(e)),
    };
    let mut out = std::collections::BTreeSet::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some((topic, _)) = name.to_str().and_then(parse_partition_dir) else {
            continue;
        };
        let Ok(inner) = fs::read_dir(e.path()) else {
            continue;
        };
        if inner.flatten().any(|f| {
            f.file_name()
                .to_str()
                .is_some_and(|n| is_group_file(n, group))
        }) {
            out.insert(topic.to_string());
        }
    }
    Ok(out.into_iter().collect())
}

/// Deletes `group` from `topics`: its committed offsets, and every lock, member-slot and temp
/// file it has there. Refused with [`Error::GroupNotEmpty`] while a live member holds a
/// partition or a member slot, as Kafka refuses to delete a group with members; nothing is
/// deleted then.
///
/// Every lock and slot is taken before anything goes and the files are unlinked while held,
/// so no member can start meanwhile; one that opened a file just before it was unlinked
/// finds it gone when it gets the lock and takes the new file instead (see `try_lock`).
pub fn delete(topics: &[Topic], group: &str) -> Result<()> {
    validate_group_name(group)?;
    let busy = |place: String, pid: Option<u32>| Error::GroupNotEmpty {
        group: group.escape_debug().to_string(),
        place,
        pid,
    };
    let mut held: Vec<(PathBuf, File)> = Vec::new();
    for t in topics {
        // A member waiting for a partition owns none, but holds its slot: it is live too.
        for (_, path) in member_files(t, group)? {
            match try_lock(&path)? {
                Some(f) => held.push((path, f)),
                None => return Err(busy(format!("topic '{}'", t.name), pid_in(&path))),
            }
        }
        for p in 0..t.partitions {
            let dir = t.partition_dir(p);
            if !dir.is_dir() {
                continue;
            }
            let path = lock_file(&dir, group);
            match try_lock(&path)? {
                Some(f) => held.push((path, f)),
                None => {
                    return Err(busy(
                        format!("{}-{p}", t.name),
                        Some(pid_in(&path).unwrap_or(0)),
                    ));
                }
            }
        }
    }
    for t in topics {
        for p in 0..t.partitions {
            let dir = t.partition_dir(p);
            if dir.is_dir() {
                forget(t, p, group)?;
                sweep_tmp_files(&dir, group)?;
            }
        }
    }
    for (path, _) in &held {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("delete", path)(e)),
        }
    }
    Ok(())
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
        let out_of_range = current.and_then(|c| OutOfRange::of(c, start, end));
        rows.push(GroupPartition {
            group: group.to_string(),
            topic: topic.name.clone(),
            partition: p,
            current_offset: current,
            log_start_offset: start,
            log_end_offset: end,
            lag: current.filter(|_| out_of_range.is_none()).map(|c| end - c),
            member: owner(topic, p, group)?,
            out_of_range,
            source: Source::Klog,
        });
    }
    Ok(rows)
}

/// The topic where a Kafka broker keeps its groups' committed offsets.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// An offset a Kafka broker committed for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerCommit {
    /// The next offset the group will read.
    pub offset: i64,
    pub commit_timestamp: i64,
}

/// Every (group, topic, partition) → commit.
pub type BrokerCommits = BTreeMap<(String, String, u32), BrokerCommit>;

/// The offsets committed in a Kafka broker's `__consumer_offsets` topic in this data
/// directory (empty without one): its partitions read in offset order, the latest commit per
/// (group, topic, partition) wins and a tombstone deletes, as the group coordinator loads
/// them. Reads only; records that do not decode as offset commits are passed over.
/// Commits of transactions are taken as they come (aborted ones are not told apart).
pub fn broker_commits(topics: &Topics) -> Result<BrokerCommits> {
    let mut out: BrokerCommits = BTreeMap::new();
    let topic = match topics.open(CONSUMER_OFFSETS) {
        Ok(t) => t,
        Err(Error::TopicNotFound(_)) => return Ok(out),
        Err(e) => return Err(e),
    };
    let mut apply = |key: Option<&[u8]>, value: Option<&[u8]>| {
        let Some(Ok(OffsetsKey::OffsetCommit {
            group,
            topic,
            partition,
        })) = key.map(decode_key)
        else {
            return;
        };
        let Ok(partition) = u32::try_from(partition) else {
            return;
        };
        let k = (group, topic, partition);
        match value.map(decode_offset_commit) {
            None => {
                out.remove(&k);
            }
            Some(Ok(v)) => {
                // A group lives in one partition of __consumer_offsets; should it show up in
                // two (their count changed), the later commit wins.
                let later = out
                    .get(&k)
                    .is_none_or(|c| c.commit_timestamp <= v.commit_timestamp);
                if later {
                    out.insert(
                        k,
                        BrokerCommit {
                            offset: v.offset,
                            commit_timestamp: v.commit_timestamp,
                        },
                    );
                }
            }
            Some(Err(_)) => {}
        }
    };
    let mut scratch = Vec::new();
    for p in 0..topic.partitions {
        let Some(mut reader) = topic.open_reader(p)? else {
            continue;
        };
        while let Some(b) = reader.next_batch()? {
            // Control batches (transaction markers) hold no commits.
            if b.batch.is_control() {
                continue;
            }
            let Ok(records) = b.batch.records_in(&mut scratch) else {
                continue;
            };
            for r in records.flatten() {
                apply(r.key, r.value);
            }
        }
    }
    Ok(out)
}

/// Every group with offsets in `commits`, and the topics it has them in.
pub fn broker_groups(commits: &BrokerCommits) -> Vec<(String, Vec<String>)> {
    let mut out: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (g, t, _) in commits.keys() {
        out.entry(g).or_default().insert(t);
    }
    out.into_iter()
        .map(|(g, ts)| (g.to_string(), ts.into_iter().map(str::to_string).collect()))
        .collect()
}

/// The rows of `group` from a broker's commits: one per partition it committed, with the log
/// offsets of that partition here (0 where the partition has no directory here).
pub fn describe_broker(
    topics: &Topics,
    commits: &BrokerCommits,
    group: &str,
) -> Result<Vec<GroupPartition>> {
    let mut rows = Vec::new();
    for ((g, t, p), c) in commits {
        if g != group {
            continue;
        }
        let (start, end) = match topics.open(t) {
            Ok(topic) if *p < topic.partitions => match topic.open_reader(*p)? {
                Some(mut r) => (r.log_start_offset(), r.log_end_offset()?),
                None => (0, 0),
            },
            Ok(_) | Err(Error::TopicNotFound(_)) | Err(Error::InvalidTopicName { .. }) => (0, 0),
            Err(e) => return Err(e),
        };
        let out_of_range = OutOfRange::of(c.offset, start, end);
        rows.push(GroupPartition {
            group: g.clone(),
            topic: t.clone(),
            partition: *p,
            current_offset: Some(c.offset),
            log_start_offset: start,
            log_end_offset: end,
            lag: out_of_range.is_none().then_some(end - c.offset),
            member: None,
            out_of_range,
            source: Source::Kafka,
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
        for bad in [
            "",
            &"g".repeat(MAX_ENCODED_GROUP_NAME + 1),
            &"/".repeat(MAX_ENCODED_GROUP_NAME / 3 + 1),
        ] {
            assert!(validate_group_name(bad).is_err(), "{bad}");
        }
        assert!(validate_group_name(&"g".repeat(MAX_ENCODED_GROUP_NAME)).is_ok());
        assert_eq!(MAX_ENCODED_GROUP_NAME, 223);
    }

    /// Group ids Kafka accepts (`app:etl`, spaces, any Unicode) were refused; they are stored
    /// percent-encoded, and simple names keep their old file names.
    #[test]
    fn regression_group_names_are_percent_encoded_in_file_names() {
        for (name, enc) in [
            ("etl.v2_x-1", "etl.v2_x-1"),
            ("app:etl", "app%3Aetl"),
            ("a b", "a%20b"),
            ("../x", "..%2Fx"),
            ("%41", "%2541"),
            ("\0", "%00"),
            ("☃", "%E2%98%83"),
            (".", "."),
        ] {
            assert!(validate_group_name(name).is_ok(), "{name:?}");
            assert_eq!(encode_group(name), enc, "{name:?}");
            assert_eq!(decode_group(enc).as_deref(), Some(name), "{enc}");
        }
        // Only the one spelling encode_group makes decodes.
        for not_canonical in ["%41", "%3a", "a b", "a/b", "%", "%4", "%zz", "%FF", ""] {
            assert_eq!(decode_group(not_canonical), None, "{not_canonical}");
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

    /// Commits of one partition from several threads of one process (as a server makes)
    /// wrote the same `.klog-group.g.json.<pid>.tmp`: one thread renamed another's
    /// half-written file into place, or failed to find its own. Each now has its own temp
    /// file, and the offset left is one that was committed, whole; a thread's temp file
    /// is still one the next owner sweeps.
    #[test]
    fn regression_concurrent_commits_of_one_partition_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.create("t", 1, BTreeMap::new()).unwrap();
        std::thread::scope(|s| {
            for thread in 0..8i64 {
                let t = &t;
                s.spawn(move || {
                    for i in 0..25 {
                        commit(t, 0, "g", thread * 1000 + i).unwrap();
                    }
                });
            }
        });
        let last = committed(&t, 0, "g").unwrap().unwrap().offset;
        assert!((0..8).any(|thread| last == thread * 1000 + 24), "{last}");
        let pid = std::process::id();
        assert!(is_tmp_file(&format!(".klog-group.g.json.{pid}.3.tmp"), "g"));
    }

    /// A failed commit left its `.klog-group.g.json.<pid>.tmp` behind for good.
    #[test]
    fn regression_a_failed_commit_removes_its_temp_file() {
        use crate::storage::failpoint::{self as fp, Action};
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.create("t", 1, BTreeMap::new()).unwrap();
        commit(&t, 0, "g", 1).unwrap();
        for point in ["group.write", "group.fsync", "group.rename"] {
            fp::reset();
            fp::arm(point, 0, Action::Error);
            assert!(commit(&t, 0, "g", 2).is_err(), "{point}");
            assert!(fp::fired(), "{point}");
            fp::reset();
            let left: Vec<String> = fs::read_dir(t.partition_dir(0))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert!(left.is_empty(), "{point}: {left:?}");
            assert_eq!(committed(&t, 0, "g").unwrap().unwrap().offset, 1, "{point}");
        }
    }

    /// Temp files of killed commits piled up: the owner of a partition sweeps its group's,
    /// and only its group's.
    #[test]
    fn regression_taking_a_partition_sweeps_its_groups_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.create("t", 1, BTreeMap::new()).unwrap();
        let d = t.partition_dir(0);
        let keep = [
            ".klog-group.h.json.4242.tmp",
            ".klog-group.g.json.tmp",
            ".klog-group.g.json.x1.tmp",
            "klog-group.g.json",
        ];
        let gone = [".klog-group.g.json.4242.tmp", ".klog-group.g.json.1.tmp"];
        for n in keep.iter().chain(&gone) {
            fs::write(d.join(n), b"{}").unwrap();
        }
        assert!(is_tmp_file(gone[0], "g") && !is_tmp_file(keep[0], "g"));
        let lock = try_own(&t, 0, "g").unwrap().unwrap();
        for n in keep {
            assert!(d.join(n).exists(), "{n} was removed");
        }
        for n in gone {
            assert!(!d.join(n).exists(), "{n} is still there");
        }
        drop(lock);
    }

    /// Deleting lock files could let a member keep a lock on an unlinked file while another
    /// locks the new file at the same path: a lock counts only on the file still there.
    #[test]
    fn a_lock_on_an_unlinked_file_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".klog-group.g.lock");
        let old = open_lock(&path).unwrap();
        fs::remove_file(&path).unwrap();
        assert!(!still_at(&old, &path));
        let new = try_lock(&path).unwrap().expect("the new file is free");
        assert!(still_at(&new, &path));
        // The unlinked file can still be locked, but that lock is not the path's.
        old.try_lock().unwrap();
        assert!(is_held(&path).unwrap());
        drop(new);
        assert!(!is_held(&path).unwrap());
        assert!(!is_held(&dir.path().join("missing")).unwrap());
        assert!(
            !dir.path().join("missing").exists(),
            "probing created a file"
        );
    }

    #[test]
    fn delete_refuses_a_live_member_and_removes_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new(dir.path());
        let t = topics.create("t", 2, BTreeMap::new()).unwrap();
        let m = Member::join(&t, "g").unwrap();
        let lock = try_own(&t, 1, "g").unwrap().unwrap();
        commit(&t, 1, "g", 5).unwrap();
        drop(lock);
        assert_eq!(
            topics_with_files(&topics, "g").unwrap(),
            vec!["t".to_string()]
        );
        match delete(std::slice::from_ref(&t), "g") {
            Err(Error::GroupNotEmpty { pid, place, .. }) => {
                assert_eq!(
                    (pid, place.as_str()),
                    (Some(std::process::id()), "topic 't'")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(committed(&t, 1, "g").unwrap().unwrap().offset, 5);
        drop(m);
        delete(std::slice::from_ref(&t), "g").unwrap();
        assert!(topics_with_files(&topics, "g").unwrap().is_empty());
        assert_eq!(committed(&t, 1, "g").unwrap(), None);
    }

    #[test]
    fn out_of_range_offsets() {
        assert_eq!(OutOfRange::of(4, 5, 11), Some(OutOfRange::BelowLogStart));
        assert_eq!(OutOfRange::of(5, 5, 11), None);
        assert_eq!(OutOfRange::of(11, 5, 11), None);
        assert_eq!(OutOfRange::of(20, 5, 11), Some(OutOfRange::PastLogEnd));
        assert_eq!(
            OutOfRange::PastLogEnd.describe(5, 11),
            "past the log end 11"
        );
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
