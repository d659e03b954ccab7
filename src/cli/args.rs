//! Checks of argument values several commands share: partition numbers and `KEY=VALUE`
//! configs.

use anyhow::Result;

use super::UsageError;

/// A topic's partitions, all or the ones asked for (checked).
pub fn partitions_of(topic: &klog::topic::Topic, asked: &[u32]) -> Result<Vec<u32>> {
    if asked.is_empty() {
        return Ok((0..topic.partitions).collect());
    }
    for &p in asked {
        if p >= topic.partitions {
            return Err(klog::Error::PartitionNotFound {
                topic: topic.name.clone(),
                partition: p,
                partitions: topic.partitions,
            }
            .into());
        }
    }
    let mut v = asked.to_vec();
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// Parses `KEY=VALUE` config arguments.
pub fn parse_configs(items: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            return Err(UsageError(format!(
                "config '{item}' is not KEY=VALUE (e.g. -c retention.ms=3600000)"
            ))
            .into());
        };
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}
