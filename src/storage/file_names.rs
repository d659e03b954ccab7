//! Kafka's file and directory names (`LogFileUtils`): 20-digit zero-padded base offsets with
//! `.log`, `.index` and `.timeindex` suffixes inside `<topic>-<partition>` directories.

use std::path::{Path, PathBuf};

pub const LOG_SUFFIX: &str = ".log";
pub const INDEX_SUFFIX: &str = ".index";
pub const TIME_INDEX_SUFFIX: &str = ".timeindex";

/// `56` → `00000000000000000056`.
pub fn offset_name(offset: i64) -> String {
    format!("{offset:020}")
}

pub fn log_file(dir: &Path, base_offset: i64) -> PathBuf {
    dir.join(format!("{}{LOG_SUFFIX}", offset_name(base_offset)))
}

pub fn index_file(dir: &Path, base_offset: i64) -> PathBuf {
    dir.join(format!("{}{INDEX_SUFFIX}", offset_name(base_offset)))
}

pub fn time_index_file(dir: &Path, base_offset: i64) -> PathBuf {
    dir.join(format!("{}{TIME_INDEX_SUFFIX}", offset_name(base_offset)))
}

/// The base offset of a segment file named `<20 digits><suffix>`, or `None` for other names.
pub fn parse_offset(file_name: &str, suffix: &str) -> Option<i64> {
    let stem = file_name.strip_suffix(suffix)?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

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
}
