//! Every name klog gives, or looks for, in a data directory and its partition directories:
//! Kafka's own (`LogFileUtils`, `LogManager`, `LogCleanerManager`, the checkpoint files) and
//! klog's side files, with the listing of a partition's segments. Names only: what a file holds
//! belongs to the module named next to it below, which reads and writes it.
//!
//! # Layout
//! ```text
//! <data dir>/
//!   .lock                                a Kafka broker's lock; klog never creates it      fs
//!   klog-topics.json                     klog's topics: partitions, configs, ids           topic
//!   recovery-point-offset-checkpoint     Kafka's checkpoints: `topic partition offset`     checkpoint
//!   log-start-offset-checkpoint            lines, one file for every partition
//!   replication-offset-checkpoint
//!   cleaner-offset-checkpoint
//!   klog-<pid>-<n>.delete/               a partition directory of a topic being deleted    topic
//!   <topic>-<partition>/                 a partition
//!     <base>.log                         a segment: its batches, and its offset and time   segment
//!     <base>.index                         indexes; <base> is its base offset in 20
//!     <base>.timeindex                     zero-padded digits
//!     <base>.snapshot                    a broker's producer state (klog only reads it)
//!     <segment file>.cleaned             a compaction's output being written              cleaner
//!     <segment file>.swap                a compaction's output being swapped in           cleaner
//!     <segment file>.deleted             a segment file being deleted                     retention, cleaner
//!     <base>.log.repairing               a repair's copy of valid batches being written   verify
//!     .klog-recovery-point               klog's recovery point                            checkpoint
//!     .klog-log-start-offset             klog's log start offset, once moved              checkpoint
//!     .klog-cleaner-offset               klog's first dirty offset                        checkpoint
//!     partition.metadata                 Kafka's topic id of the partition                topic
//!     leader-epoch-checkpoint            Kafka's leader epochs (klog writes none)         checkpoint
//!     .klog-mirror-push.<D>.json         a push's progress and offset map to cluster D    mirror::push
//!     klog-group.<G>.json                group G's committed offset                       group
//!     .klog-group.<G>.lock               held by the member of G that owns the partition  group
//!     .klog-group.<G>.member-<k>         (in `<topic>-0`) member slot k of group G        group
//!   .<name>.<pid>[.<k>].tmp              a file `<name>` being replaced (see [`temp_file`]) fs
//! ```
//! `<G>` is a group id as `group::encode_group` writes it in file names.
//!
//! # Invariants
//! 1. A segment's three files share its base offset's name; a name that is not exactly 20
//!    digits and a suffix is no segment's ([`parse_offset`]), so transient suffixes
//!    (`.cleaned`, `.swap`, `.deleted`, `.repairing`) hide a file from every listing at once.
//! 2. A temp file's name starts with `.`, names the file it replaces and ends in `.tmp`
//!    ([`temp_file`], [`temp_targets`]): sweeps recognise the ones a killed writer left.
//!
//! # Kafka
//! `LogFileUtils` (offsets as 20 digits, `.log`/`.index`/`.timeindex`/`.snapshot`,
//! `.cleaned`/`.swap`/`.deleted`), `LogManager` (checkpoint file names, `.lock`) and
//! `PartitionMetadataFile`. klog's own names start with `klog-` or `.klog-`, which Kafka never
//! uses; a broker takes every directory of its log dir for a partition, so klog keeps no
//! directory of its own there but for an instant (a deletion's `klog-<pid>-<n>.delete`,
//! which a broker skips as it skips its own `-delete` directories).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

// ---------------------------------------------------------------------------------------------
// Segments

pub const LOG_SUFFIX: &str = ".log";
pub const INDEX_SUFFIX: &str = ".index";
pub const TIME_INDEX_SUFFIX: &str = ".timeindex";
/// A broker's producer-state snapshot (`ProducerStateManager`), next to the segments.
pub const SNAPSHOT_SUFFIX: &str = ".snapshot";
/// A segment's files, `.log` first.
pub const SEGMENT_SUFFIXES: [&str; 3] = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX];

/// Suffix of a segment file written by compaction, before its swap (Kafka's).
pub const CLEANED_SUFFIX: &str = ".cleaned";
/// Suffix of a compacted segment file being swapped in (Kafka's).
pub const SWAP_SUFFIX: &str = ".swap";
/// Suffix a segment's files get while being deleted (Kafka's).
pub const DELETED_SUFFIX: &str = ".deleted";
/// Suffix of the copy of a damaged segment's valid tail while a repair writes it
/// (`<first offset>.log.repairing`).
pub const REPAIRING_SUFFIX: &str = ".repairing";

/// `56` → `00000000000000000056`.
pub fn offset_name(offset: i64) -> String {
    format!("{offset:020}")
}

/// `<dir>/<base as 20 digits><suffix>`.
pub fn segment_file(dir: &Path, base_offset: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}{suffix}"))
}

pub fn log_file(dir: &Path, base_offset: i64) -> PathBuf {
    segment_file(dir, base_offset, LOG_SUFFIX)
}

pub fn index_file(dir: &Path, base_offset: i64) -> PathBuf {
    segment_file(dir, base_offset, INDEX_SUFFIX)
}

pub fn time_index_file(dir: &Path, base_offset: i64) -> PathBuf {
    segment_file(dir, base_offset, TIME_INDEX_SUFFIX)
}

/// `<path><suffix>`: a segment file's transient name (`.cleaned`, `.swap`, `.deleted`, …).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The base offset of a segment file named `<20 digits><suffix>`, or `None` for other names.
pub fn parse_offset(file_name: &str, suffix: &str) -> Option<i64> {
    let stem = file_name.strip_suffix(suffix)?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The base offset of any of a segment's files (`<20 digits>.{log,index,timeindex}`).
pub fn parse_segment_file(file_name: &str) -> Option<i64> {
    SEGMENT_SUFFIXES
        .iter()
        .find_map(|s| parse_offset(file_name, s))
}

/// Base offsets of the segments in `dir`, ascending (from the `.log` file names).
///
/// A listing taken while segments are created may show a new segment without another one
/// created just before it. Writers, the cleaner and repair list under the partition lock,
/// where no segment is created meanwhile; `LogReader` re-lists before it moves past a gap
/// in the offsets; `segments verify` re-checks under the lock what it would report.
pub fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let rd = std::fs::read_dir(dir).map_err(Error::io("read directory", dir))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(Error::io("read directory", dir))?;
        if let Some(name) = entry.file_name().to_str()
            && let Some(base) = parse_offset(name, LOG_SUFFIX)
        {
            out.push(base);
        }
    }
    out.sort_unstable();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// A partition's side files

/// klog's recovery point of a partition (Kafka ignores it).
pub const RECOVERY_POINT_FILE: &str = ".klog-recovery-point";
/// klog's log start offset of a partition, once moved past the first segment (Kafka ignores
/// it).
pub const LOG_START_FILE: &str = ".klog-log-start-offset";
/// klog's first dirty offset of a partition (Kafka ignores it).
pub const CLEANER_OFFSET_FILE: &str = ".klog-cleaner-offset";
/// Kafka's topic id of a partition (`PartitionMetadataFile`).
pub const PARTITION_METADATA_FILE: &str = "partition.metadata";
/// Kafka's leader epochs of a partition.
pub const LEADER_EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";

// ---------------------------------------------------------------------------------------------
// The data directory

/// A Kafka broker's lock file in its log directory.
pub const BROKER_LOCK_FILE: &str = ".lock";
/// klog's topics.
pub const TOPICS_FILE: &str = "klog-topics.json";
/// Kafka's data-directory checkpoints (`topic partition offset` lines).
pub const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";
pub const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";
pub const CLEANER_OFFSET_CHECKPOINT: &str = "cleaner-offset-checkpoint";
/// Suffix of a partition directory being deleted (`klog-<pid>-<n>.delete`).
pub const DELETE_DIR_SUFFIX: &str = ".delete";

/// Partition directory name: `<topic>-<partition>`.
pub fn partition_dir_name(topic: &str, partition: u32) -> String {
    format!("{topic}-{partition}")
}

/// Splits a partition directory name at its last `-` into topic and partition.
pub fn parse_partition_dir(name: &str) -> Option<(&str, u32)> {
    let (topic, p) = name.rsplit_once('-')?;
    if topic.is_empty() || p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((topic, p.parse().ok()?))
}

/// The name a deletion by process `pid` gives partition `partition`'s directory: short
/// enough for any topic name, and no partition's to klog or to a broker.
pub fn delete_dir_name(pid: u32, partition: u32) -> String {
    format!("klog-{pid}-{partition}{DELETE_DIR_SUFFIX}")
}

/// Whether `name` is a directory a deletion left ([`delete_dir_name`]).
pub fn is_delete_dir(name: &str) -> bool {
    name.starts_with("klog-") && name.ends_with(DELETE_DIR_SUFFIX)
}

// ---------------------------------------------------------------------------------------------
// Mirroring

/// `.klog-mirror-push.<D>.json`: how far `klog mirror push` got with the partition towards
/// destination `D` (a cluster id or address, reduced to `[A-Za-z0-9._-]`), and its local →
/// remote offset map.
pub fn mirror_push_file(destination: &str) -> String {
    let d: String = destination
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(".klog-mirror-push.{d}.json")
}

// ---------------------------------------------------------------------------------------------
// Consumer groups (`encoded` is a group id as `group::encode_group` writes it)

/// `klog-group.<G>.json`: the group's committed offset of the partition.
pub fn group_offset_file(encoded: &str) -> String {
    format!("klog-group.{encoded}.json")
}

/// `.klog-group.<G>.lock`: held by the member of the group that owns the partition.
pub fn group_lock_file(encoded: &str) -> String {
    format!(".klog-group.{encoded}.lock")
}

/// `.klog-group.<G>.member-<slot>`: a member slot, in the topic's partition 0.
pub fn group_member_file(encoded: &str, slot: usize) -> String {
    format!(".klog-group.{encoded}.member-{slot}")
}

/// The encoded group whose committed-offset file `file_name` is.
pub fn parse_group_offset_file(file_name: &str) -> Option<&str> {
    file_name.strip_prefix("klog-group.")?.strip_suffix(".json")
}

/// The encoded group whose lock file `file_name` is.
pub fn parse_group_lock_file(file_name: &str) -> Option<&str> {
    file_name
        .strip_prefix(".klog-group.")?
        .strip_suffix(".lock")
}

/// The slot of group `encoded` whose member file `file_name` is.
pub fn parse_group_member_file(file_name: &str, encoded: &str) -> Option<usize> {
    file_name
        .strip_prefix(".klog-group.")?
        .strip_prefix(encoded)?
        .strip_prefix(".member-")
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// Temp files

/// The temp file through which process `pid` replaces `path` (see `fs::replace_file`):
/// `.<name>.<pid>.tmp`, or `.<name>.<pid>.<k>.tmp` for the k-th of several replacements of
/// the same file in flight in one process at once (k ≥ 1), so that no two writers ever share
/// one. The token stays short (a pid has at most 10 digits, and k is 0 but in races): the
/// longest group name is measured with it.
pub fn temp_file(path: &Path, pid: u32, k: u32) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    if k == 0 {
        name.push(format!(".{pid}.tmp"));
    } else {
        name.push(format!(".{pid}.{k}.tmp"));
    }
    dir.join(name)
}

/// The names of the file that `file_name` may be a temp file of ([`temp_file`]): for
/// `.<a>.<b>.<c>.tmp` with `<b>` and `<c>` numbers, both `<a>.<b>` (with `<c>` the pid) and
/// `<a>` (with `<b>.<c>` the pid and slot). Nothing for a name of another shape.
pub fn temp_targets(file_name: &str) -> impl Iterator<Item = &str> {
    let one = file_name
        .strip_prefix('.')
        .and_then(|s| s.strip_suffix(".tmp"))
        .and_then(|s| s.rsplit_once('.'))
        .filter(|(name, n)| !name.is_empty() && is_number(n))
        .map(|(name, _)| name);
    let two = one
        .and_then(|s| s.rsplit_once('.'))
        .filter(|(name, n)| !name.is_empty() && is_number(n))
        .map(|(name, _)| name);
    one.into_iter().chain(two)
}

/// Whether `file_name` is a temp file replacing the file named `target` ([`temp_file`]).
pub fn is_temp_of(file_name: &str, target: &str) -> bool {
    temp_targets(file_name).any(|t| t == target)
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(offset_name(56), "00000000000000000056");
        assert_eq!(
            parse_offset("00000000000000000056.log", LOG_SUFFIX),
            Some(56)
        );
        assert_eq!(
            parse_offset("00000000000000000056.log.deleted", LOG_SUFFIX),
            None
        );
        assert_eq!(parse_offset("56.log", LOG_SUFFIX), None);
        assert_eq!(
            parse_partition_dir("__consumer_offsets-21"),
            Some(("__consumer_offsets", 21))
        );
        assert_eq!(parse_partition_dir("my-topic-3"), Some(("my-topic", 3)));
        assert_eq!(parse_partition_dir("topic"), None);
        assert_eq!(parse_partition_dir("topic-x"), None);
    }

    #[test]
    fn segment_files_and_their_transient_names() {
        let dir = Path::new("/d/t-0");
        let log = log_file(dir, 7);
        assert_eq!(log, Path::new("/d/t-0/00000000000000000007.log"));
        assert_eq!(
            with_suffix(&log, CLEANED_SUFFIX),
            Path::new("/d/t-0/00000000000000000007.log.cleaned")
        );
        assert_eq!(
            parse_segment_file("00000000000000000007.timeindex"),
            Some(7)
        );
        assert_eq!(parse_segment_file("00000000000000000007.log.swap"), None);
        assert_eq!(parse_segment_file("00000000000000000007.snapshot"), None);
    }

    #[test]
    fn group_names_round_trip() {
        assert_eq!(group_offset_file("app%3Aetl"), "klog-group.app%3Aetl.json");
        assert_eq!(parse_group_offset_file("klog-group.g.json"), Some("g"));
        assert_eq!(parse_group_lock_file(&group_lock_file("g")), Some("g"));
        assert_eq!(
            parse_group_member_file(&group_member_file("g", 12), "g"),
            Some(12)
        );
        assert_eq!(parse_group_member_file(".klog-group.g.member-", "g"), None);
        assert_eq!(parse_group_member_file(".klog-group.h.member-1", "g"), None);
    }

    /// Temp names are recognised by what they replace, whatever the pid and slot, and never
    /// confused with a file of another name.
    #[test]
    fn temp_files_name_what_they_replace() {
        let target = Path::new("/d/t-0/klog-group.g.json");
        let first = temp_file(target, 4242, 0);
        let second = temp_file(target, 4242, 3);
        assert_eq!(first, Path::new("/d/t-0/.klog-group.g.json.4242.tmp"));
        assert_eq!(second, Path::new("/d/t-0/.klog-group.g.json.4242.3.tmp"));
        for p in [&first, &second] {
            let name = p.file_name().unwrap().to_str().unwrap();
            assert!(is_temp_of(name, "klog-group.g.json"), "{name}");
            assert!(!is_temp_of(name, "klog-group.h.json"), "{name}");
            assert!(!is_temp_of(name, "klog-group.g"), "{name}");
        }
        let targets = |n| temp_targets(n).collect::<Vec<_>>();
        assert_eq!(
            targets(".klog-group.g.json.4242.tmp"),
            ["klog-group.g.json"]
        );
        assert_eq!(
            targets(".00000000000000000000.index.cleaned.4242.2.tmp"),
            [
                "00000000000000000000.index.cleaned.4242",
                "00000000000000000000.index.cleaned"
            ]
        );
        for other in [
            ".klog-group.g.json.tmp",
            ".klog-group.g.json.x1.tmp",
            "klog-group.g.json",
            ".klog-group.g.json.1.tmp.deleted",
        ] {
            assert!(!is_temp_of(other, "klog-group.g.json"), "{other}");
        }
        assert!(targets(".klog-group.g.json.x1.tmp").is_empty());
        assert!(targets("..1.tmp").is_empty());
    }
}
