//! `LogConfig`: a topic's configuration, under Kafka's config names and with Kafka's defaults.
//!
//! Topics store only their overrides (key → string value, as Kafka does); [`LogConfig`] is the
//! validated, typed view with every default filled in. Unknown keys and bad values are refused
//! with a reason, and [`CONFIGS`] lists what is valid.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::format::{Compression, TimestampType};

/// One config key: its name, default (as text) and a one-line description.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    pub name: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

const I64_MAX: &str = "9223372036854775807";

/// Every topic config klog knows, with Kafka's defaults (see `flush.ms`, the one exception).
pub const CONFIGS: &[ConfigDef] = &[
    ConfigDef {
        name: "cleanup.policy",
        default: "delete",
        doc: "delete, compact, or compact,delete",
    },
    ConfigDef {
        name: "compression.type",
        default: "producer",
        doc: "producer, none, gzip, snappy, lz4 or zstd",
    },
    ConfigDef {
        name: "delete.retention.ms",
        default: "86400000",
        doc: "how long tombstones survive compaction",
    },
    ConfigDef {
        name: "file.delete.delay.ms",
        default: "60000",
        doc: "delay before deleting *.deleted files",
    },
    ConfigDef {
        name: "flush.messages",
        default: I64_MAX,
        doc: "fsync after this many records",
    },
    ConfigDef {
        name: "flush.ms",
        default: "1000",
        doc: "fsync when the oldest unflushed record is this old (Kafka: unlimited)",
    },
    ConfigDef {
        name: "index.interval.bytes",
        default: "4096",
        doc: "bytes between offset index entries",
    },
    ConfigDef {
        name: "max.compaction.lag.ms",
        default: I64_MAX,
        doc: "longest a record stays uncompacted",
    },
    ConfigDef {
        name: "max.message.bytes",
        default: "1048588",
        doc: "largest record batch accepted",
    },
    ConfigDef {
        name: "message.timestamp.type",
        default: "CreateTime",
        doc: "CreateTime or LogAppendTime",
    },
    ConfigDef {
        name: "min.cleanable.dirty.ratio",
        default: "0.5",
        doc: "dirty share of the log that triggers compaction",
    },
    ConfigDef {
        name: "min.compaction.lag.ms",
        default: "0",
        doc: "shortest a record stays uncompacted",
    },
    ConfigDef {
        name: "preallocate",
        default: "false",
        doc: "preallocate segment files",
    },
    ConfigDef {
        name: "retention.bytes",
        default: "-1",
        doc: "largest size of a partition before old segments go (-1: unlimited)",
    },
    ConfigDef {
        name: "retention.ms",
        default: "604800000",
        doc: "age after which old segments go (-1: unlimited)",
    },
    ConfigDef {
        name: "segment.bytes",
        default: "1073741824",
        doc: "size at which a segment rolls",
    },
    ConfigDef {
        name: "segment.index.bytes",
        default: "10485760",
        doc: "preallocated size of each index file",
    },
    ConfigDef {
        name: "segment.jitter.ms",
        default: "0",
        doc: "random jitter subtracted from segment.ms",
    },
    ConfigDef {
        name: "segment.ms",
        default: "604800000",
        doc: "age at which a segment rolls",
    },
];

/// The names of every valid config, comma-separated, for error messages.
pub fn config_names() -> String {
    CONFIGS
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Cleanup policy: which of retention and compaction apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleanupPolicy {
    pub delete: bool,
    pub compact: bool,
}

/// A typed, validated topic configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub cleanup_policy: CleanupPolicy,
    /// `None` = `producer`: keep what the producer sent.
    pub compression_type: Option<Compression>,
    pub delete_retention_ms: i64,
    pub file_delete_delay_ms: i64,
    pub flush_messages: i64,
    pub flush_ms: i64,
    pub index_interval_bytes: u32,
    pub max_compaction_lag_ms: i64,
    pub max_message_bytes: u32,
    pub message_timestamp_type: TimestampType,
    pub min_cleanable_dirty_ratio: f64,
    pub min_compaction_lag_ms: i64,
    pub preallocate: bool,
    pub retention_bytes: i64,
    pub retention_ms: i64,
    pub segment_bytes: u32,
    pub segment_index_bytes: u32,
    pub segment_jitter_ms: i64,
    pub segment_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        match LogConfig::from_overrides(&BTreeMap::new()) {
            Ok(c) => c,
            Err(e) => unreachable!("defaults are valid: {e}"),
        }
    }
}

fn bad(key: &str, value: &str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn int(key: &str, v: &str, min: i64, max: i64) -> Result<i64> {
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|_| bad(key, v, "not an integer"))?;
    if n < min || n > max {
        return Err(bad(key, v, format!("must be between {min} and {max}")));
    }
    Ok(n)
}

impl LogConfig {
    /// Validates one key and value, returning the value normalised.
    pub fn validate(key: &str, value: &str) -> Result<String> {
        if !CONFIGS.iter().any(|c| c.name == key) {
            return Err(Error::InvalidConfig {
                key: key.to_string(),
                value: value.to_string(),
                reason: format!("unknown config; valid ones are {}", config_names()),
            });
        }
        let mut m = BTreeMap::new();
        m.insert(key.to_string(), value.trim().to_string());
        LogConfig::from_overrides(&m)?;
        Ok(value.trim().to_string())
    }

    /// Builds the typed config from a topic's overrides; everything else takes its default.
    pub fn from_overrides(overrides: &BTreeMap<String, String>) -> Result<LogConfig> {
        for k in overrides.keys() {
            if !CONFIGS.iter().any(|c| c.name == k) {
                return Err(bad(
                    k,
                    &overrides[k],
                    format!("unknown config; valid ones are {}", config_names()),
                ));
            }
        }
        let get = |name: &str| -> (String, String) {
            let v = overrides.get(name).cloned().unwrap_or_else(|| {
                CONFIGS
                    .iter()
                    .find(|c| c.name == name)
                    .map(|c| c.default.to_string())
                    .unwrap_or_default()
            });
            (name.to_string(), v)
        };
        let i = |name: &str, min: i64, max: i64| {
            let (k, v) = get(name);
            int(&k, &v, min, max)
        };
        let (k, v) = get("cleanup.policy");
        let mut cleanup_policy = CleanupPolicy::default();
        for part in v.split(',').map(str::trim) {
            match part {
                "delete" => cleanup_policy.delete = true,
                "compact" => cleanup_policy.compact = true,
                _ => return Err(bad(&k, &v, "expected delete, compact, or compact,delete")),
            }
        }
        let (k, v) = get("compression.type");
        let compression_type = match v.trim() {
            "producer" => None,
            "none" | "uncompressed" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "snappy" => Some(Compression::Snappy),
            "lz4" => Some(Compression::Lz4),
            "zstd" => Some(Compression::Zstd),
            _ => {
                return Err(bad(
                    &k,
                    &v,
                    "expected producer, none, gzip, snappy, lz4 or zstd",
                ));
            }
        };
        let (k, v) = get("message.timestamp.type");
        let message_timestamp_type = match v.trim() {
            "CreateTime" => TimestampType::CreateTime,
            "LogAppendTime" => TimestampType::LogAppendTime,
            _ => return Err(bad(&k, &v, "expected CreateTime or LogAppendTime")),
        };
        let (k, v) = get("min.cleanable.dirty.ratio");
        let ratio: f64 = v.trim().parse().map_err(|_| bad(&k, &v, "not a number"))?;
        if !(0.0..=1.0).contains(&ratio) {
            return Err(bad(&k, &v, "must be between 0 and 1"));
        }
        let (k, v) = get("preallocate");
        let preallocate = match v.trim() {
            "true" => true,
            "false" => false,
            _ => return Err(bad(&k, &v, "expected true or false")),
        };
        let max = i64::MAX;
        Ok(LogConfig {
            cleanup_policy,
            compression_type,
            delete_retention_ms: i("delete.retention.ms", 0, max)?,
            file_delete_delay_ms: i("file.delete.delay.ms", 0, max)?,
            flush_messages: i("flush.messages", 1, max)?,
            flush_ms: i("flush.ms", 0, max)?,
            index_interval_bytes: i("index.interval.bytes", 0, i32::MAX as i64)? as u32,
            max_compaction_lag_ms: i("max.compaction.lag.ms", 1, max)?,
            max_message_bytes: i("max.message.bytes", 0, i32::MAX as i64)? as u32,
            message_timestamp_type,
            min_cleanable_dirty_ratio: ratio,
            min_compaction_lag_ms: i("min.compaction.lag.ms", 0, max)?,
            preallocate,
            retention_bytes: i("retention.bytes", -1, max)?,
            retention_ms: i("retention.ms", -1, max)?,
            segment_bytes: i("segment.bytes", 14, i32::MAX as i64)? as u32,
            segment_index_bytes: i("segment.index.bytes", 12, i32::MAX as i64)? as u32,
            segment_jitter_ms: i("segment.jitter.ms", 0, max)?,
            segment_ms: i("segment.ms", 1, max)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafkas() {
        let c = LogConfig::default();
        assert_eq!(c.segment_bytes, 1_073_741_824);
        assert_eq!(c.segment_index_bytes, 10_485_760);
        assert_eq!(c.index_interval_bytes, 4096);
        assert_eq!(c.retention_ms, 604_800_000);
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(
            c.cleanup_policy,
            CleanupPolicy {
                delete: true,
                compact: false
            }
        );
        assert_eq!(c.compression_type, None);
    }

    #[test]
    fn bad_values_and_keys_are_refused() {
        for (k, v) in [
            ("segment.bytes", "abc"),
            ("segment.bytes", "1"),
            ("cleanup.policy", "remove"),
            ("message.timestamp.type", "Now"),
            ("min.cleanable.dirty.ratio", "2"),
            ("no.such.key", "1"),
            ("retention.ms", "-5"),
        ] {
            let err = LogConfig::validate(k, v).unwrap_err();
            assert!(matches!(err, Error::InvalidConfig { .. }), "{k}={v}");
        }
        let err = LogConfig::validate("no.such.key", "1").unwrap_err();
        assert!(err.to_string().contains("segment.bytes"));
        assert_eq!(
            LogConfig::validate("cleanup.policy", "compact,delete").unwrap(),
            "compact,delete"
        );
    }
}
