//! `LogConfig`: a topic's configuration, under Kafka's config names and with Kafka's defaults.
//!
//! Topics store only their overrides (key → string value, as Kafka does); [`LogConfig`] is the
//! validated, typed view with every default filled in. [`CONFIGS`] is the registry, like
//! Kafka's `ConfigDef`: each entry has its name, default, description, and the parser that
//! checks a value (its range, or the words it takes) and sets its field. Unknown keys and bad
//! values are refused with a reason.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::format::{Compression, TimestampType};

/// One config key, like Kafka's `ConfigDef.ConfigKey`: its name, its default (as text), a
/// one-line description, and how a value is parsed and checked into its field of
/// [`LogConfig`].
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    pub name: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
    /// Parses a value (as stored: surrounding spaces are allowed) into its field of the
    /// config, or gives the reason it is invalid.
    set: fn(&mut LogConfig, &str) -> std::result::Result<(), String>,
}

const I64_MAX: &str = "9223372036854775807";
const MAX: i64 = i64::MAX;
const I32_MAX: i64 = i32::MAX as i64;

/// Every topic config klog knows, with Kafka's defaults (see `flush.ms`, the one exception),
/// sorted by name.
pub const CONFIGS: &[ConfigDef] = &[
    ConfigDef {
        name: "cleanup.policy",
        default: "delete",
        doc: "delete, compact, or compact,delete",
        set: |c, v| {
            c.cleanup_policy = CleanupPolicy::default();
            for part in v.split(',').map(str::trim) {
                match part {
                    "delete" => c.cleanup_policy.delete = true,
                    "compact" => c.cleanup_policy.compact = true,
                    _ => return Err("expected delete, compact, or compact,delete".into()),
                }
            }
            Ok(())
        },
    },
    ConfigDef {
        name: "compression.type",
        default: "producer",
        doc: "producer, none, gzip, snappy, lz4 or zstd",
        set: |c, v| {
            // `producer` and `uncompressed` are the config's words, not codecs.
            c.compression_type = match v.trim() {
                "producer" => None,
                "uncompressed" => Some(Compression::None),
                codec => match codec.parse() {
                    Ok(c) => Some(c),
                    Err(_) => {
                        return Err("expected producer, none, gzip, snappy, lz4 or zstd".into());
                    }
                },
            };
            Ok(())
        },
    },
    ConfigDef {
        name: "delete.retention.ms",
        default: "86400000",
        doc: "how long tombstones survive compaction",
        set: |c, v| int(v, 0, MAX).map(|n| c.delete_retention_ms = n),
    },
    ConfigDef {
        name: "file.delete.delay.ms",
        default: "60000",
        doc: "delay before deleting *.deleted files",
        set: |c, v| int(v, 0, MAX).map(|n| c.file_delete_delay_ms = n),
    },
    ConfigDef {
        name: "flush.messages",
        default: I64_MAX,
        doc: "fsync after this many records",
        set: |c, v| int(v, 1, MAX).map(|n| c.flush_messages = n),
    },
    ConfigDef {
        name: "flush.ms",
        default: "1000",
        doc: "fsync when the oldest unflushed record is this old (Kafka: unlimited)",
        set: |c, v| int(v, 0, MAX).map(|n| c.flush_ms = n),
    },
    ConfigDef {
        name: "index.interval.bytes",
        default: "4096",
        doc: "bytes between offset index entries",
        set: |c, v| int(v, 0, I32_MAX).map(|n| c.index_interval_bytes = n as u32),
    },
    ConfigDef {
        name: "max.compaction.lag.ms",
        default: I64_MAX,
        doc: "longest a record stays uncompacted",
        set: |c, v| int(v, 1, MAX).map(|n| c.max_compaction_lag_ms = n),
    },
    ConfigDef {
        name: "max.message.bytes",
        default: "1048588",
        doc: "largest record batch accepted",
        set: |c, v| int(v, 0, I32_MAX).map(|n| c.max_message_bytes = n as u32),
    },
    ConfigDef {
        name: "message.timestamp.type",
        default: "CreateTime",
        doc: "CreateTime or LogAppendTime",
        set: |c, v| {
            c.message_timestamp_type = match v.trim() {
                "CreateTime" => TimestampType::CreateTime,
                "LogAppendTime" => TimestampType::LogAppendTime,
                _ => return Err("expected CreateTime or LogAppendTime".into()),
            };
            Ok(())
        },
    },
    ConfigDef {
        name: "min.cleanable.dirty.ratio",
        default: "0.5",
        doc: "dirty share of the log that triggers compaction",
        set: |c, v| {
            let ratio: f64 = v.trim().parse().map_err(|_| "not a number")?;
            if !(0.0..=1.0).contains(&ratio) {
                return Err("must be between 0 and 1".into());
            }
            c.min_cleanable_dirty_ratio = ratio;
            Ok(())
        },
    },
    ConfigDef {
        name: "min.compaction.lag.ms",
        default: "0",
        doc: "shortest a record stays uncompacted",
        set: |c, v| int(v, 0, MAX).map(|n| c.min_compaction_lag_ms = n),
    },
    ConfigDef {
        name: "preallocate",
        default: "false",
        doc: "preallocate segment files",
        set: |c, v| {
            c.preallocate = match v.trim() {
                "true" => true,
                "false" => false,
                _ => return Err("expected true or false".into()),
            };
            Ok(())
        },
    },
    ConfigDef {
        name: "retention.bytes",
        default: "-1",
        doc: "largest size of a partition before old segments go (-1: unlimited)",
        set: |c, v| int(v, -1, MAX).map(|n| c.retention_bytes = n),
    },
    ConfigDef {
        name: "retention.ms",
        default: "604800000",
        doc: "age after which old segments go (-1: unlimited)",
        set: |c, v| int(v, -1, MAX).map(|n| c.retention_ms = n),
    },
    ConfigDef {
        name: "segment.bytes",
        default: "1073741824",
        doc: "size at which a segment rolls",
        set: |c, v| int(v, 14, I32_MAX).map(|n| c.segment_bytes = n as u32),
    },
    ConfigDef {
        name: "segment.index.bytes",
        default: "10485760",
        doc: "preallocated size of each index file",
        set: |c, v| int(v, 12, I32_MAX).map(|n| c.segment_index_bytes = n as u32),
    },
    ConfigDef {
        name: "segment.jitter.ms",
        default: "0",
        doc: "random jitter subtracted from segment.ms",
        set: |c, v| int(v, 0, MAX).map(|n| c.segment_jitter_ms = n),
    },
    ConfigDef {
        name: "segment.ms",
        default: "604800000",
        doc: "age at which a segment rolls",
        set: |c, v| int(v, 1, MAX).map(|n| c.segment_ms = n),
    },
];

/// An integer config value within `[min, max]`.
fn int(v: &str, min: i64, max: i64) -> std::result::Result<i64, String> {
    let n: i64 = v.trim().parse().map_err(|_| "not an integer")?;
    if n < min || n > max {
        return Err(format!("must be between {min} and {max}"));
    }
    Ok(n)
}

/// The names of every valid config, comma-separated, for error messages.
pub fn config_names() -> String {
    CONFIGS
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The definition of config `name`.
pub fn config_def(name: &str) -> Option<&'static ConfigDef> {
    CONFIGS.iter().find(|c| c.name == name)
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

fn unknown(key: &str, value: &str) -> Error {
    bad(
        key,
        value,
        format!("unknown config; valid ones are {}", config_names()),
    )
}

impl LogConfig {
    /// Every field zero, before the [`CONFIGS`] set each one.
    fn unset() -> LogConfig {
        LogConfig {
            cleanup_policy: CleanupPolicy::default(),
            compression_type: None,
            delete_retention_ms: 0,
            file_delete_delay_ms: 0,
            flush_messages: 0,
            flush_ms: 0,
            index_interval_bytes: 0,
            max_compaction_lag_ms: 0,
            max_message_bytes: 0,
            message_timestamp_type: TimestampType::CreateTime,
            min_cleanable_dirty_ratio: 0.0,
            min_compaction_lag_ms: 0,
            preallocate: false,
            retention_bytes: 0,
            retention_ms: 0,
            segment_bytes: 0,
            segment_index_bytes: 0,
            segment_jitter_ms: 0,
            segment_ms: 0,
        }
    }

    /// Validates one key and value, returning the value normalised.
    pub fn validate(key: &str, value: &str) -> Result<String> {
        let def = config_def(key).ok_or_else(|| unknown(key, value))?;
        let value = value.trim();
        (def.set)(&mut LogConfig::unset(), value).map_err(|reason| bad(key, value, reason))?;
        Ok(value.to_string())
    }

    /// Builds the typed config from a topic's overrides; everything else takes its default.
    pub fn from_overrides(overrides: &BTreeMap<String, String>) -> Result<LogConfig> {
        if let Some((k, v)) = overrides.iter().find(|(k, _)| config_def(k).is_none()) {
            return Err(unknown(k, v));
        }
        let mut config = LogConfig::unset();
        for def in CONFIGS {
            let value = overrides.get(def.name).map_or(def.default, String::as_str);
            (def.set)(&mut config, value).map_err(|reason| bad(def.name, value, reason))?;
        }
        Ok(config)
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

    /// Each entry of the registry sets its own field: a valid value other than the default
    /// changes the config, and only in that entry's field (the others still equal the
    /// defaults when each is set back).
    #[test]
    fn every_entry_parses_into_its_own_field() {
        let other = [
            ("cleanup.policy", "compact"),
            ("compression.type", "zstd"),
            ("delete.retention.ms", "1"),
            ("file.delete.delay.ms", "1"),
            ("flush.messages", "1"),
            ("flush.ms", "1"),
            ("index.interval.bytes", "1"),
            ("max.compaction.lag.ms", "1"),
            ("max.message.bytes", "1"),
            ("message.timestamp.type", "LogAppendTime"),
            ("min.cleanable.dirty.ratio", "0.25"),
            ("min.compaction.lag.ms", "1"),
            ("preallocate", "true"),
            ("retention.bytes", "1"),
            ("retention.ms", "1"),
            ("segment.bytes", "1000"),
            ("segment.index.bytes", "1000"),
            ("segment.jitter.ms", "1"),
            ("segment.ms", "1"),
        ];
        let names: Vec<&str> = CONFIGS.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            other.map(|(k, _)| k),
            "one test value per config, in order"
        );
        let mut changed = Vec::new();
        for (k, v) in other {
            let mut m = BTreeMap::new();
            m.insert(k.to_string(), v.to_string());
            let c = LogConfig::from_overrides(&m).unwrap();
            assert_ne!(c, LogConfig::default(), "{k}={v} changes nothing");
            // Setting the default back on that config gives the defaults again.
            let mut back = c.clone();
            let def = config_def(k).unwrap();
            (def.set)(&mut back, def.default).unwrap();
            assert_eq!(back, LogConfig::default(), "{k} sets another field too");
            changed.push(format!("{c:?}"));
        }
        changed.sort();
        changed.dedup();
        assert_eq!(changed.len(), other.len(), "two configs set the same field");
    }

    /// `compression.type` takes the config's own words and every codec name, and nothing
    /// else (not a codec name in other case).
    #[test]
    fn compression_type_takes_the_configs_words_and_the_codec_names() {
        let parsed = |v: &str| {
            let m = BTreeMap::from([("compression.type".to_string(), v.to_string())]);
            LogConfig::from_overrides(&m).map(|c| c.compression_type)
        };
        assert_eq!(parsed("producer").unwrap(), None);
        assert_eq!(parsed("uncompressed").unwrap(), Some(Compression::None));
        for codec in Compression::ALL {
            assert_eq!(parsed(&format!(" {codec} ")).unwrap(), Some(codec));
        }
        for bad in ["ZSTD", "lz5", ""] {
            match parsed(bad).unwrap_err() {
                Error::InvalidConfig { reason, .. } => {
                    assert_eq!(reason, "expected producer, none, gzip, snappy, lz4 or zstd")
                }
                e => panic!("{e:?}"),
            }
        }
    }

    /// The reasons, and which value a refusal names (as stored, or trimmed when validated).
    #[test]
    fn refusals_keep_their_words() {
        let reason = |k: &str, v: &str| match LogConfig::validate(k, v).unwrap_err() {
            Error::InvalidConfig { key, value, reason } => {
                assert_eq!(key, k);
                format!("{value}: {reason}")
            }
            e => panic!("{e:?}"),
        };
        assert_eq!(reason("segment.bytes", " abc "), "abc: not an integer");
        assert_eq!(
            reason("segment.bytes", "1"),
            "1: must be between 14 and 2147483647"
        );
        assert_eq!(
            reason("cleanup.policy", "remove"),
            "remove: expected delete, compact, or compact,delete"
        );
        assert_eq!(reason("min.cleanable.dirty.ratio", "x"), "x: not a number");
        assert_eq!(
            reason("min.cleanable.dirty.ratio", "2"),
            "2: must be between 0 and 1"
        );
        assert_eq!(reason("preallocate", "yes"), "yes: expected true or false");
        assert!(reason("no.such", " 1").starts_with(" 1: unknown config; valid ones are cleanup"));
        let mut m = BTreeMap::new();
        m.insert("retention.ms".to_string(), " -5".to_string());
        match LogConfig::from_overrides(&m).unwrap_err() {
            Error::InvalidConfig { value, reason, .. } => {
                assert_eq!(
                    (value.as_str(), reason.as_str()),
                    (" -5", "must be between -1 and 9223372036854775807")
                );
            }
            e => panic!("{e:?}"),
        }
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
