//! The command-line interface: clap definitions, the data directory and exit codes.
//! Everything here is binary-only; the engine lives in the library.
//!
//! One module per command, a directory for those with subcommands (`topics/`, `groups/`,
//! `segments/`, and `clean/` with `trim`); errors are printed with their hints and exit
//! status in `report`, and [`Ctx`]'s methods are in `ctx`.

use std::io;
use std::path::PathBuf;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

mod acls;
mod args;
mod clean;
mod consume;
mod ctx;
mod escape;
mod generate;
mod groups;
mod json;
mod mapped;
mod mirror;
mod output;
mod produce;
mod progress;
mod report;
mod segments;
mod serve;
mod stop;
mod timespec;
mod topics;
mod usage;
mod users;

pub use args::{parse_configs, partitions_of};
pub use output::{plural, plural_of, stdout};
pub use report::{FullDisk, did_you_mean, nearest};
use report::{print_usage_error, report};

/// Exit statuses, as documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    Failure = 1,
    Usage = 2,
    Damage = 3,
}

/// An error that should exit with status 2 (a value on the command line that does not parse
/// or make sense), as opposed to a runtime failure.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A hint printed on its own line after an error.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

const AFTER_HELP: &str = "\
Examples:
  klog topics create orders --partitions 3
  seq 1 5 | klog produce orders
  klog consume orders | head -1
  klog --dir /var/lib/kafka/data topics list

Environment: KLOG_DIR is the data directory when --dir is not given; NO_COLOR (not empty)
turns colors off.

A Kafka broker's log.dirs can be given as --dir. Reading changes nothing there, even while
the broker runs; commands that write refuse while a broker holds its .lock, and give topics
without klog metadata Kafka's configs (__consumer_offsets is compacted, never deleted by age).

Exit status: 0 success, 1 runtime error, 2 usage error, 3 damage found by a check.";

/// Apache Kafka's log on a local directory: produce, consume and inspect Kafka segments
/// without a broker.
#[derive(Debug, Parser)]
#[command(name = "klog", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Data directory (default: $KLOG_DIR, else the platform data dir, e.g. ~/.local/share/klog)
    #[arg(long, global = true, env = "KLOG_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Print nothing but data and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// When to use colors (honours NO_COLOR)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, describe, alter and delete topics
    #[command(subcommand)]
    Topics(topics::TopicsCommand),
    /// Append records from stdin or files to a topic
    Produce(produce::ProduceArgs),
    /// Print a topic's records
    Consume(consume::ConsumeArgs),
    /// List, describe, reset and delete consumer groups
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Print shell completions for bash, zsh, fish, elvish or powershell
    Completions(generate::CompletionsArgs),
    /// Write the man pages to a directory
    #[command(hide = true)]
    Man(generate::ManArgs),
    /// List topic or group names for the shell completions
    #[command(name = "__complete-names", hide = true)]
    CompleteNames(generate::CompleteNamesArgs),
    /// List, dump, roll and verify segments (klog's or a Kafka broker's)
    #[command(subcommand)]
    Segments(segments::SegmentsCommand),
    /// Move a topic's log start offset up (Kafka's delete-records)
    Trim(clean::TrimArgs),
    /// Apply retention (retention.ms, retention.bytes) and compaction now
    Clean(clean::CleanArgs),
    /// Serve the data directory to Kafka clients (a single-node Kafka broker)
    Serve(serve::ServeArgs),
    /// Copy topics to or from a Kafka cluster over Kafka's protocol
    #[command(subcommand)]
    Mirror(mirror::MirrorCommand),
    /// Add, list and delete the SASL users of `klog serve`
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Add, list and remove the ACLs `klog serve` checks once users exist
    #[command(subcommand)]
    Acls(acls::AclsCommand),
}

impl Command {
    /// Whether the command may write to the data directory (with the arguments given): such
    /// commands are refused under a running Kafka broker and through damaged metadata, which
    /// commands that only read work around (see `klog::topic::Topics::begin_write`).
    fn writes(&self) -> bool {
        match self {
            Command::Topics(c) => !matches!(
                c,
                topics::TopicsCommand::List(_) | topics::TopicsCommand::Describe(_)
            ),
            Command::Produce(_) | Command::Trim(_) | Command::Serve(_) => true,
            // A group member commits offsets and takes lock files in the partitions.
            Command::Consume(a) => a.group.is_some(),
            Command::Groups(c) => match c {
                groups::GroupsCommand::List(_) | groups::GroupsCommand::Describe(_) => false,
                groups::GroupsCommand::Reset(a) => !a.dry_run,
                groups::GroupsCommand::Delete(_) => true,
            },
            Command::Segments(c) => match c {
                segments::SegmentsCommand::List(_) | segments::SegmentsCommand::Dump(_) => false,
                segments::SegmentsCommand::Roll(_) => true,
                segments::SegmentsCommand::Verify(a) => a.repair,
            },
            Command::Clean(a) => !a.dry_run,
            Command::Mirror(c) => c.writes(),
            Command::Completions(_) | Command::Man(_) | Command::CompleteNames(_) => false,
            Command::Users(c) => !matches!(c, users::UsersCommand::List(_)),
            Command::Acls(c) => !matches!(c, acls::AclsCommand::List(_)),
        }
    }
}

/// Global settings every command receives.
pub struct Ctx {
    pub dir: PathBuf,
    pub quiet: bool,
    /// Colors on stderr (errors): `--color`, `NO_COLOR` and whether stderr is a terminal.
    pub color_stderr: bool,
    /// What the command leaves behind when the disk fills up (for the hint).
    pub on_full_disk: FullDisk,
    /// Whether the command writes (see `Command::writes`): the metadata is then read
    /// strictly, else a damaged metadata file is read around.
    pub writing: bool,
}

fn default_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("klog")
}

pub fn command() -> clap::Command {
    Cli::command()
}

/// The color of help and usage errors, which are printed before `--color` is parsed: they
/// follow --color and NO_COLOR too (clap colors them).
fn color_choice(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let never = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || args
            .windows(2)
            .any(|w| w[0] == "--color" && w[1] == "never")
        || args.iter().any(|a| a == "--color=never");
    let always = args
        .windows(2)
        .any(|w| w[0] == "--color" && w[1] == "always")
        || args.iter().any(|a| a == "--color=always");
    if always {
        clap::ColorChoice::Always
    } else if never {
        clap::ColorChoice::Never
    } else {
        clap::ColorChoice::Auto
    }
}

/// Parses the command line. Help, the version and usage errors are printed here, and give
/// the exit status instead of a command.
fn parse(args: &[std::ffi::OsString], choice: clap::ColorChoice) -> Result<Cli, i32> {
    let mut cmd = Cli::command().color(choice);
    // An empty KLOG_DIR is no data directory at all (as if unset), not an empty --dir.
    if std::env::var_os("KLOG_DIR").is_some_and(|v| v.is_empty()) {
        cmd = cmd.mut_arg("dir", |a| a.env(None::<&str>));
    }
    let parsed = cmd
        .clone()
        .try_get_matches_from(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    match parsed {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => {
            // --help and --version, as clap prints them (to a closed pipe too: no error).
            let _ = e.print();
            Err(ExitCode::Success as i32)
        }
        Err(e) => {
            let color = match choice {
                clap::ColorChoice::Always => true,
                clap::ColorChoice::Never => false,
                clap::ColorChoice::Auto => io::IsTerminal::is_terminal(&io::stderr()),
            };
            let (msg, hint) = usage::describe(&e, &mut cmd, args);
            print_usage_error(&msg, hint.as_deref(), color);
            Err(ExitCode::Usage as i32)
        }
    }
}

/// Parses the arguments, runs the command and returns the exit status.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match parse(&args, color_choice(&args)) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let color_stderr = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && io::IsTerminal::is_terminal(&io::stderr())
        }
    };
    let writing = cli.command.writes();
    let ctx = Ctx {
        dir: cli.dir.clone().unwrap_or_else(default_dir),
        quiet: cli.quiet,
        color_stderr,
        on_full_disk: FullDisk::of(&cli.command),
        writing,
    };
    let _write_guard = if writing {
        match ctx.begin_write() {
            Ok(g) => Some(g),
            Err(err) => return report(&err, Some(&ctx)),
        }
    } else {
        if !matches!(
            cli.command,
            Command::Completions(_) | Command::Man(_) | Command::CompleteNames(_)
        ) {
            ctx.warn_about_metadata();
        }
        None
    };
    let result = match cli.command {
        Command::Topics(c) => topics::run(&ctx, c),
        Command::Produce(a) => produce::run(&ctx, a),
        Command::Consume(a) => consume::run(&ctx, a),
        Command::Groups(c) => groups::run(&ctx, c),
        Command::Completions(a) => generate::completions(a),
        Command::Man(a) => generate::man(a),
        Command::CompleteNames(a) => generate::complete_names(&ctx, a),
        Command::Segments(c) => segments::run(&ctx, c),
        Command::Trim(a) => clean::trim(&ctx, a),
        Command::Clean(a) => clean::clean(&ctx, a),
        Command::Serve(a) => serve::run(&ctx, a),
        Command::Mirror(c) => mirror::run(&ctx, c),
        Command::Users(c) => users::run(&ctx, c),
        Command::Acls(c) => acls::run(&ctx, c),
    };
    match result {
        Ok(code) => code as i32,
        Err(err) => report(&err, Some(&ctx)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_are_stable() {
        assert_eq!(ExitCode::Success as i32, 0);
        assert_eq!(ExitCode::Failure as i32, 1);
        assert_eq!(ExitCode::Usage as i32, 2);
        assert_eq!(ExitCode::Damage as i32, 3);
    }
}
