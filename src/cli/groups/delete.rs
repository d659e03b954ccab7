//! `klog groups delete`: a group's offsets, lock and member files.

use anyhow::Result;

use super::{AllGroups, DeleteArgs, unknown_group};
use crate::cli::{Ctx, ExitCode, Hint};
use klog::group;

pub(super) fn delete(ctx: &Ctx, a: DeleteArgs) -> Result<ExitCode> {
    group::validate_group_name(&a.group)?;
    let topics = ctx.topics();
    // Every topic with a file of the group, offsets or not: a run with --no-commit leaves only
    // lock and member-slot files, which delete removes too.
    let names = group::topics_with_files(&topics, &a.group)?;
    let all = AllGroups::read(ctx)?;
    let in_broker = all.kafka.iter().any(|(g, _)| g == &a.group);
    if names.is_empty() {
        if in_broker {
            return Err(anyhow::Error::new(Hint(
                "delete it with Kafka's tools (kafka-consumer-groups --delete) while the broker \
                 runs"
                    .into(),
            ))
            .context(format!(
                "group '{}' has offsets only in the Kafka broker's {}, which klog reads but \
                 never changes",
                a.group,
                group::CONSUMER_OFFSETS
            )));
        }
        return Err(unknown_group(&a.group, &all.names()));
    }
    let ts = names
        .iter()
        .map(|t| topics.open(t))
        .collect::<Result<Vec<_>, _>>()?;
    match group::delete(&ts, &a.group) {
        Err(e @ klog::Error::GroupNotEmpty { .. }) => {
            return Err(anyhow::Error::new(Hint(
                "stop its members first (Kafka too refuses to delete a group with members)".into(),
            ))
            .context(e.to_string()));
        }
        r => r?,
    }
    ctx.note(format_args!("deleted group '{}'", a.group));
    if in_broker {
        ctx.note(format_args!(
            "the offsets of '{}' in the Kafka broker's {} are left as they are",
            a.group,
            group::CONSUMER_OFFSETS
        ));
    }
    Ok(ExitCode::Success)
}
