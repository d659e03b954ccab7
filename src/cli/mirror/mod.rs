//! `klog mirror pull|push`: arguments, progress bars, the summary. The work is
//! [`klog::mirror`]'s.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use clap::Subcommand;
use indicatif::{MultiProgress, ProgressBar};

use super::output::human_bytes;
use super::{Ctx, ExitCode, progress};

mod pull;
mod push;

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Copy topics from a Kafka cluster (or a klog serve) here, batch for batch at the same offsets
    Pull(pull::PullArgs),
    /// Copy local topics into a Kafka cluster, partition for partition, with their groups' offsets
    Push(push::PushArgs),
}

impl MirrorCommand {
    /// Whether the command writes to the data directory.
    pub fn writes(&self) -> bool {
        match self {
            MirrorCommand::Pull(a) => !a.dry_run,
            MirrorCommand::Push(a) => !a.dry_run,
        }
    }
}

pub fn run(ctx: &Ctx, c: MirrorCommand) -> Result<ExitCode> {
    match c {
        MirrorCommand::Pull(a) => pull::run(ctx, a),
        MirrorCommand::Push(a) => push::run(ctx, a),
    }
}

/// A flag set by Ctrl-C or SIGTERM, watched from the runtime.
fn stop_flag(rt: &tokio::runtime::Runtime) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    rt.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let terminated = async {
            match &mut term {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        flag.store(true, Ordering::Relaxed);
    });
    stop
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Progress bars, one per partition (offsets done of the range, bytes, lag), on a terminal
/// only.
struct Bars {
    multi: MultiProgress,
    /// Per partition: its bar, the offset it started from, the bytes moved.
    bars: HashMap<(String, u32), (ProgressBar, i64, u64)>,
}

impl Bars {
    fn new() -> Bars {
        Bars {
            multi: MultiProgress::new(),
            bars: HashMap::new(),
        }
    }

    fn start(&mut self, ctx: &Ctx, topic: &str, partition: u32, from: i64, to: i64) {
        let bar = progress::bar(
            ctx,
            (to - from).max(0) as u64,
            &format!("{topic}-{partition}"),
            false,
        );
        let bar = self.multi.add(bar);
        self.bars
            .insert((topic.to_string(), partition), (bar, from, 0));
    }

    /// `bytes` more moved; the partition is at `offset` of `end`.
    fn advance(&mut self, topic: &str, partition: u32, offset: i64, end: i64, bytes: u64) {
        if let Some((b, from, moved)) = self.bars.get_mut(&(topic.to_string(), partition)) {
            *moved += bytes;
            let total = (end - *from).max(0) as u64;
            if total > b.length().unwrap_or(0) {
                b.set_length(total);
            }
            b.set_position((offset - *from).max(0) as u64);
            b.set_message(format!(
                "{} lag {}",
                human_bytes(*moved),
                (end - offset).max(0)
            ));
        }
    }

    fn finish(&self) {
        for (b, _, _) in self.bars.values() {
            b.finish_and_clear();
        }
    }
}

/// A summary as one JSON document on stdout.
fn print_json(summary: &impl serde::Serialize) -> Result<()> {
    let mut out = super::stdout();
    serde_json::to_writer(&mut out, summary)?;
    std::io::Write::write_all(&mut out, b"\n")?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}

/// `k=v, k=v`, or nothing.
fn configs_note(configs: &std::collections::BTreeMap<String, String>) -> String {
    let list: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if list.is_empty() {
        String::new()
    } else {
        format!(", {}", list.join(", "))
    }
}
