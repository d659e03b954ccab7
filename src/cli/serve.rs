//! `klog serve`: run the data directory as a Kafka broker until Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{ArgAction, Args};

use super::{Ctx, ExitCode, UsageError};
use klog::server::listener::{ListenerSpec, SecurityProtocol, TlsFiles};
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
transactions.

Listeners take Kafka's security protocols: PLAINTEXT (a bare HOST:PORT), SSL,
SASL_PLAINTEXT and SASL_SSL, with SASL mechanisms PLAIN, SCRAM-SHA-256 and
SCRAM-SHA-512 for the users of `klog users`; once a user exists, requests are checked
against the rules of `klog acls`. A listener off loopback must be SASL_SSL unless
--allow-insecure-listener is given:
  klog users add alice                          # asks for the password
  klog serve --listen SASL_SSL://0.0.0.0:9093 --tls-cert server.pem --tls-key server.key")]
pub struct ServeArgs {
    /// Address to listen on, with an optional security protocol: PLAINTEXT, SSL,
    /// SASL_PLAINTEXT or SASL_SSL (repeatable; port 0 picks a free port)
    #[arg(
        long,
        value_name = "[PROTOCOL://]HOST:PORT",
        default_value = "127.0.0.1:9092"
    )]
    pub listen: Vec<String>,
    /// Address given to clients in metadata, one per --listen in the same order (default:
    /// the listener's own address)
    #[arg(long, value_name = "HOST:PORT")]
    pub advertised_listener: Vec<String>,
    /// PEM certificate chain of the SSL and SASL_SSL listeners
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// PEM CA certificates: TLS clients must present a certificate it signed (mutual TLS)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<std::path::PathBuf>,
    /// Allow a listener on an address other than loopback without TLS and SASL
    #[arg(long)]
    pub allow_insecure_listener: bool,
    /// Connections open at once; more are closed as they come (Kafka's max.connections)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Connections open at once from one address (Kafka's max.connections.per.ip)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_ip: Option<u32>,
    /// Produce bytes per second per user; more is throttled (Kafka's producer_byte_rate)
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub producer_byte_rate: Option<u64>,
    /// Fetched bytes per second per user; more is throttled (Kafka's consumer_byte_rate)
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub consumer_byte_rate: Option<u64>,
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
        Event::AuthenticationFailed {
            peer,
            mechanism,
            user,
            reason,
            suppressed,
        } => {
            let user = user
                .map(|u| format!(" as '{}'", u.escape_debug()))
                .unwrap_or_default();
            let more = if suppressed > 0 {
                format!(" ({suppressed} more not shown)")
            } else {
                String::new()
            };
            eprintln!("klog: authentication failed from {peer}{user} ({mechanism}): {reason}{more}")
        }
        Event::StorageError { what, reason } => eprintln!("klog: warning: {what}: {reason}"),
        Event::Stopping => eprintln!("klog: stopping: finishing the requests in flight"),
    }
}

pub fn run(ctx: &Ctx, a: ServeArgs) -> Result<ExitCode> {
    for l in a.listen.iter().chain(&a.advertised_listener) {
        ListenerSpec::parse(l).map_err(|e| UsageError(e.to_string()))?;
    }
    if a.advertised_listener.len() > a.listen.len() {
        return Err(UsageError(format!(
            "{} --advertised-listener for {} --listen",
            a.advertised_listener.len(),
            a.listen.len()
        ))
        .into());
    }
    let mut config = Config::new(&ctx.dir);
    config.listen = a.listen;
    config.advertised_listeners = a.advertised_listener;
    config.allow_insecure_listener = a.allow_insecure_listener;
    if let Some(n) = a.max_connections {
        config.max_connections = n as usize;
    }
    if let Some(n) = a.max_connections_per_ip {
        config.max_connections_per_ip = n as usize;
    }
    config.produce_byte_rate = a.producer_byte_rate;
    config.fetch_byte_rate = a.consumer_byte_rate;
    if let (Some(cert), Some(key)) = (a.tls_cert, a.tls_key) {
        config.tls = Some(TlsFiles {
            cert,
            key,
            client_ca: a.tls_client_ca,
        });
    }
    config.auto_create_topics = a.auto_create_topics;
    config.default_partitions = a.default_partitions;
    config.group_initial_rebalance_delay_ms = a.group_initial_rebalance_delay_ms;
    let quiet = ctx.quiet;
    let server = Server::bind(config, Arc::new(move |e| print_event(quiet, e)))?;
    let addrs: Vec<String> = server
        .listeners()
        .iter()
        .map(|(protocol, addr)| match protocol {
            SecurityProtocol::Plaintext => addr.to_string(),
            p => format!("{}://{addr}", p.name()),
        })
        .collect();
    eprintln!("klog: listening on {}", addrs.join(", "));
    server
        .run(stop_signal())
        .context("flush the partitions written")?;
    Ok(ExitCode::Success)
}
