//! `klog segments roll`: close the active segment now and start a new one.

use anyhow::{Context, Result};

use super::RollArgs;
use crate::cli::{Ctx, ExitCode};
use klog::storage::file_names;

pub(super) fn roll(ctx: &Ctx, a: RollArgs) -> Result<ExitCode> {
    let topic = ctx.topics().open(&a.topic)?;
    for p in crate::cli::partitions_of(&topic, &a.partitions)? {
        let mut log = topic.open_log(p)?;
        let base = log
            .roll()
            .with_context(|| format!("roll {}-{p}", topic.name))?;
        drop(log);
        ctx.sync_checkpoints(&topic, &[p]);
        ctx.note(format_args!(
            "{}-{p}: active segment is now {}",
            topic.name,
            file_names::offset_name(base)
        ));
    }
    Ok(ExitCode::Success)
}
