//! `klog mirror pull|push`: arguments, progress bars, the summary. The work is
//! [`klog::mirror`]'s.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use clap::{Args, Subcommand};
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

/// The connection's security: flags, and a Kafka `client.properties` file under them.
#[derive(Debug, Args)]
#[command(next_help_heading = "Security")]
pub struct SecurityArgs {
    /// Kafka's security.protocol
    #[arg(long, value_name = "PROTOCOL",
          value_parser = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"], ignore_case = true)]
    pub security_protocol: Option<String>,
    /// SASL mechanism
    #[arg(long, value_name = "MECHANISM",
          value_parser = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], ignore_case = true)]
    pub sasl_mechanism: Option<String>,
    /// SASL user name (the password: KLOG_SASL_PASSWORD or --sasl-password-file)
    #[arg(long, value_name = "NAME")]
    pub sasl_username: Option<String>,
    /// File whose first line is the SASL password
    #[arg(long, value_name = "FILE")]
    pub sasl_password_file: Option<PathBuf>,
    /// PEM CA certificates the brokers' certificates must chain to [default: Mozilla's roots]
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate chain, for mutual TLS (with --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Kafka client.properties file (security.protocol, sasl.*, ssl.* as PEM); flags override it
    #[arg(long, value_name = "FILE")]
    pub client_config: Option<PathBuf>,
}

/// The environment variable of the SASL password.
const PASSWORD_ENV: &str = "KLOG_SASL_PASSWORD";

impl SecurityArgs {
    /// The checked settings: flags, the environment's password, then the file.
    fn security(&self, ctx: &Ctx) -> Result<klog::mirror::security::Security> {
        use klog::mirror::security::{Mechanism, Settings, parse_protocol};
        let file = match &self.client_config {
            Some(path) => {
                let (settings, unknown) = Settings::from_file(path)?;
                if !unknown.is_empty() {
                    ctx.note(format_args!(
                        "warning: {}: keys klog does not use, ignored: {}",
                        path.display(),
                        unknown.join(", ")
                    ));
                }
                settings
            }
            None => Settings::default(),
        };
        let password = match &self.sasl_password_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("cannot read the password file {}: {e}", path.display())
                })?;
                Some(text.lines().next().unwrap_or("").to_string())
            }
            None => std::env::var(PASSWORD_ENV).ok(),
        };
        let flags = Settings {
            protocol: self
                .security_protocol
                .as_deref()
                .map(parse_protocol)
                .transpose()?,
            mechanism: self
                .sasl_mechanism
                .as_deref()
                .map(Mechanism::parse)
                .transpose()?,
            username: self.sasl_username.clone(),
            password,
            tls_ca: self.tls_ca.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
        };
        if let Some(e) = flags.unused_with(flags.protocol.or(file.protocol)) {
            anyhow::bail!(e);
        }
        Ok(flags.or(file).prepare()?)
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
