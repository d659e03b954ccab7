//! `klog serve`: run the data directory as a Kafka broker until Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{ArgAction, Args};

use super::{Ctx, ExitCode, UsageError};
use klog::server::{Config, Event, Server};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog serve                                   # Kafka clients connect to 127.0.0.1:9092
  klog serve --listen 127.0.0.1:0              # a free port, named on stderr when ready
  kcat -b 127.0.0.1:9092 -L                    # the topics, as a Kafka client sees them
  echo hello | kcat -b 127.0.0.1:9092 -P -t greetings
  klog consume greetings                       # the same directory, at the same time

When ready it prints one line on stderr naming the addresses it listens on
(klog: listening on 127.0.0.1:9092). Ctrl-C or SIGTERM stop it: it stops accepting,
finishes the requests in flight, flushes what it wrote and exits with status 0.

A single broker (node 0) with Kafka's wire protocol: produce (idempotent producers too),
fetch with long polling, list offsets, metadata, topics and their configs, delete-records,
and consumer groups shared with `klog consume -g` (the same members, partition locks and
committed offsets). No replication, no
transactions, no ACLs, no TLS or SASL: it listens on loopback unless told otherwise.")]
pub struct ServeArgs {
    /// Address to listen on (repeatable; port 0 picks a free port)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9092")]
    pub listen: Vec<String>,
    /// Address given to clients in metadata (default: the first listen address)
    #[arg(long, value_name = "HOST:PORT")]
    pub advertised_listener: Option<String>,
    /// Create a missing topic when a client asks for it (Kafka's auto.create.topics.enable)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub auto_create_topics: bool,
    /// Partitions of a topic created without a count (Kafka's num.partitions)
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=klog::topic::MAX_PARTITIONS as i64))]
    pub default_partitions: u32,
    /// Delay before a new consumer group's first rebalance completes (Kafka's
    /// group.initial.rebalance.delay.ms)
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub group_initial_rebalance_delay_ms: u64,
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
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
}

fn print_event(quiet: bool, e: Event) {
    if quiet && !matches!(e, Event::StorageError { .. }) {
        return;
    }
    match e {
        Event::AutoCreated { topic, partitions } => eprintln!(
            "klog: created topic '{topic}' ({}) for a client",
            super::plural(partitions as u64, "partition")
        ),
        Event::ConnectionError { peer, reason } => {
            eprintln!("klog: closed the connection from {peer}: {reason}")
        }
        Event::StorageError { what, reason } => eprintln!("klog: warning: {what}: {reason}"),
        Event::Stopping => eprintln!("klog: stopping: finishing the requests in flight"),
    }
}

pub fn run(ctx: &Ctx, a: ServeArgs) -> Result<ExitCode> {
    if let Some(adv) = &a.advertised_listener {
        klog::server::parse_host_port(adv).map_err(|e| UsageError(e.to_string()))?;
    }
    let mut config = Config::new(&ctx.dir);
    config.listen = a.listen;
    config.advertised_listener = a.advertised_listener;
    config.auto_create_topics = a.auto_create_topics;
    config.default_partitions = a.default_partitions;
    config.group_initial_rebalance_delay_ms = a.group_initial_rebalance_delay_ms;
    let quiet = ctx.quiet;
    let server = Server::bind(config, Arc::new(move |e| print_event(quiet, e)))?;
    let addrs: Vec<String> = server
        .local_addrs()
        .iter()
        .map(ToString::to_string)
        .collect();
    eprintln!("klog: listening on {}", addrs.join(", "));
    server
        .run(stop_signal())
        .context("flush the partitions written")?;
    Ok(ExitCode::Success)
}
