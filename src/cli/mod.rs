//! The command-line interface: clap definitions, the data directory, error reporting and exit
//! codes. Everything here is binary-only; the engine lives in the library.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

mod acls;
mod clean;
mod consume;
mod escape;
mod generate;
mod groups;
mod json;
mod mapped;
mod output;
mod produce;
mod progress;
mod segments;
mod serve;
mod stop;
mod timespec;
mod topics;
mod usage;
mod users;

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

/// What a command has done when a write fails for lack of space: the hint of that error says
/// what is true for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullDisk {
    /// `produce`: every batch appended before the failing one stays.
    Produce,
    /// `consume --group`: the failing commit leaves the group's last committed offsets.
    Consume,
    /// `topics create NAME`: the metadata is written first, the partitions' files after it.
    CreateTopic(String),
    /// `topics alter`: the metadata is written first, new partitions' directories after it.
    AlterTopic,
    /// `topics delete`: each topic's partitions go before its metadata entry.
    DeleteTopics,
    /// `groups reset GROUP`: the partitions are committed one after the other.
    ResetGroup(String),
    /// Anything else.
    Other,
}

impl FullDisk {
    fn of(command: &Command) -> FullDisk {
        match command {
            Command::Produce(_) => FullDisk::Produce,
            Command::Consume(_) => FullDisk::Consume,
            Command::Topics(topics::TopicsCommand::Create(a)) => {
                FullDisk::CreateTopic(a.topic.clone())
            }
            Command::Topics(topics::TopicsCommand::Alter(_)) => FullDisk::AlterTopic,
            Command::Topics(topics::TopicsCommand::Delete(_)) => FullDisk::DeleteTopics,
            Command::Groups(groups::GroupsCommand::Reset(a)) => {
                FullDisk::ResetGroup(a.group.clone())
            }
            _ => FullDisk::Other,
        }
    }

    /// The hint for `err`, a write that failed for lack of space.
    fn hint(&self, err: &klog::Error) -> String {
        // klog-topics.json is replaced whole (a temp file, then a rename): when that write is
        // the one that failed, the metadata is as it was.
        let metadata_unchanged = matches!(err, klog::Error::Io { path, .. }
            if path.file_name().is_some_and(|n| n.to_string_lossy().contains(klog::topic::META_FILE)));
        match self {
            // Creating the topic it writes to (produce), or changing it.
            FullDisk::Produce | FullDisk::CreateTopic(_) | FullDisk::AlterTopic
                if metadata_unchanged =>
            {
                "free some space and run the command again; nothing was changed".into()
            }
            FullDisk::Produce => "free some space; records written before this one are kept".into(),
            FullDisk::Consume => "free some space; the group keeps its last committed offsets, so \
                                  the records printed since are printed again next time"
                .into(),
            FullDisk::CreateTopic(name) => format!(
                "free some space; topic '{name}' was created, but not all of its files were: \
                 `klog topics delete {name}`, then create it again"
            ),
            FullDisk::AlterTopic => "free some space; the change is saved (new partitions get \
                                     their directories when first written)"
                .into(),
            FullDisk::DeleteTopics => "free some space and run the command again; `klog topics \
                                       list` shows the topics still there"
                .into(),
            FullDisk::ResetGroup(group) => format!(
                "free some space; partitions reset before the one named above keep their new \
                 offsets (`klog groups describe {group}` shows them)"
            ),
            FullDisk::Other => "free some space and run the command again".into(),
        }
    }
}

impl Ctx {
    /// Prints a note on stderr unless `--quiet`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("klog: {msg}");
        }
    }

    /// Updates Kafka's checkpoint files for these partitions. They are hints for a broker that
    /// may read the directory later: failing to write them (a full disk) is a warning, never
    /// a failure of a command whose data is already written.
    pub fn sync_checkpoints(&self, topic: &klog::topic::Topic, partitions: &[u32]) {
        if let Err(e) = topic.sync_checkpoints(partitions) {
            let e = anyhow::Error::new(e);
            self.note(format_args!(
                "warning: Kafka's checkpoint files were not updated: {e:#}"
            ));
        }
    }

    pub fn topics(&self) -> klog::topic::Topics {
        if self.writing {
            klog::topic::Topics::new(&self.dir)
        } else {
            klog::topic::Topics::for_reading(&self.dir)
        }
    }

    /// Before a writing command: see `Topics::begin_write`. The guard is held until the
    /// command ends.
    fn begin_write(&self) -> Result<klog::topic::WriteGuard> {
        self.topics().begin_write().map_err(|e| {
            let hint = match &e {
                klog::Error::BrokerLocked { .. } => Some(
                    "stop the broker first; reading (`topics list`, `consume`, `segments dump`) \
                     works while it runs",
                ),
                klog::Error::BadMetadata { .. } => Some(METADATA_HINT),
                _ => None,
            };
            match hint {
                // The hint is the root of the chain, as `report` expects.
                Some(h) => anyhow::Error::new(Hint(h.to_string())).context(e.to_string()),
                None => anyhow::Error::new(e),
            }
        })
    }

    /// Before a reading command: warns when the metadata file cannot be used (the command
    /// then finds topics from their partition directories).
    fn warn_about_metadata(&self) {
        let topics = self.topics();
        let Some(e) = topics.metadata_problem() else {
            return;
        };
        if topics.read_meta().is_err() {
            self.note(format_args!(
                "warning: {e}; reading topics from their partition directories, with \
                 default configs"
            ));
            if !self.quiet {
                eprintln!("hint: {METADATA_HINT}");
            }
        } else {
            self.note(format_args!(
                "warning: {e}; reading that topic with default configs"
            ));
            if !self.quiet {
                eprintln!(
                    "hint: writing to that topic is refused until its configs in the file \
                     (JSON) are fixed or removed"
                );
            }
        }
    }
}

/// How to repair a metadata file that does not parse.
const METADATA_HINT: &str = "klog writes nothing until it parses: fix the JSON, or move the \
     file aside (topics are then found from their directories, and their config overrides \
     are lost)";

fn default_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("klog")
}

pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses the arguments, runs the command and returns the exit status.
pub fn main() -> i32 {
    // Help and usage errors follow --color and NO_COLOR too (clap colors them).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let never = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || args
            .windows(2)
            .any(|w| w[0] == "--color" && w[1] == "never")
        || args.iter().any(|a| a == "--color=never");
    let always = args
        .windows(2)
        .any(|w| w[0] == "--color" && w[1] == "always")
        || args.iter().any(|a| a == "--color=always");
    let choice = if always {
        clap::ColorChoice::Always
    } else if never {
        clap::ColorChoice::Never
    } else {
        clap::ColorChoice::Auto
    };
    let mut cmd = Cli::command().color(choice);
    // An empty KLOG_DIR is no data directory at all (as if unset), not an empty --dir.
    if std::env::var_os("KLOG_DIR").is_some_and(|v| v.is_empty()) {
        cmd = cmd.mut_arg("dir", |a| a.env(None::<&str>));
    }
    let parsed = cmd
        .clone()
        .try_get_matches_from(&args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version, as clap prints them (to a closed pipe too: no error).
            let _ = e.print();
            return ExitCode::Success as i32;
        }
        Err(e) => {
            let color = match choice {
                clap::ColorChoice::Always => true,
                clap::ColorChoice::Never => false,
                clap::ColorChoice::Auto => io::IsTerminal::is_terminal(&io::stderr()),
            };
            let (msg, hint) = usage::describe(&e, &mut cmd, &args);
            print_usage_error(&msg, hint.as_deref(), color);
            return ExitCode::Usage as i32;
        }
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
        Command::Users(c) => users::run(&ctx, c),
        Command::Acls(c) => acls::run(&ctx, c),
    };
    match result {
        Ok(code) => code as i32,
        Err(err) => report(&err, Some(&ctx)),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error as `klog: error: …` (plus a hint line) and picks the exit status.
fn report(err: &anyhow::Error, ctx: Option<&Ctx>) -> i32 {
    if is_broken_pipe(err) {
        return ExitCode::Success as i32;
    }
    let mut msg = String::new();
    let mut hint = None;
    for (i, cause) in err.chain().enumerate() {
        if let Some(h) = cause.downcast_ref::<Hint>() {
            hint = Some(h.0.clone());
            continue;
        }
        if i > 0 && !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&cause.to_string());
    }
    if hint.is_none() {
        hint = default_hint(err, ctx);
    }
    let stderr = io::stderr();
    let mut e = stderr.lock();
    if ctx.is_some_and(|c| c.color_stderr) {
        let _ = writeln!(e, "klog: \x1b[1;31merror:\x1b[0m {msg}");
    } else {
        let _ = writeln!(e, "klog: error: {msg}");
    }
    if let Some(h) = hint {
        let _ = writeln!(e, "hint: {h}");
    }
    let usage = err.chain().any(|c| {
        c.downcast_ref::<UsageError>().is_some()
            || matches!(
                c.downcast_ref::<klog::Error>(),
                Some(
                    klog::Error::InvalidConfig { .. }
                        | klog::Error::InvalidTopicName { .. }
                        | klog::Error::InvalidGroupName { .. }
                        | klog::Error::PartitionNotFound { .. }
                        | klog::Error::Invalid(_)
                )
            )
    });
    if usage {
        ExitCode::Usage as i32
    } else {
        ExitCode::Failure as i32
    }
}

/// Prints a usage error as [`report`] prints errors: `klog: error: MSG` and, if any,
/// `hint: HINT` on stderr.
fn print_usage_error(msg: &str, hint: Option<&str>, color: bool) {
    let stderr = io::stderr();
    let mut e = stderr.lock();
    if color {
        let _ = writeln!(e, "klog: \x1b[1;31merror:\x1b[0m {msg}");
    } else {
        let _ = writeln!(e, "klog: error: {msg}");
    }
    if let Some(h) = hint {
        let _ = writeln!(e, "hint: {h}");
    }
}

/// "did you mean 'a' or 'b'? (`LIST_CMD` shows them all)", for names [`nearest`] found.
pub fn did_you_mean(near: &[&str], list_cmd: &str) -> String {
    let names: Vec<String> = near.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "did you mean {}? (`{list_cmd}` shows them all)",
        names.join(" or ")
    )
}

/// Names within a small edit distance of `name`, closest first (at most three).
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|&(d, c)| d <= limit || c.contains(name) || name.contains(c))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

fn default_hint(err: &anyhow::Error, ctx: Option<&Ctx>) -> Option<String> {
    for c in err.chain() {
        match c.downcast_ref::<klog::Error>() {
            Some(klog::Error::TopicNotFound(name)) => {
                let names = ctx
                    .and_then(|c| c.topics().list_names().ok())
                    .unwrap_or_default();
                let near = nearest(name, names.iter().map(String::as_str));
                if !near.is_empty() {
                    return Some(did_you_mean(&near, "klog topics list"));
                }
                return Some("`klog topics list` shows the topics of this data directory".into());
            }
            Some(klog::Error::Corrupt { path, .. }) => {
                return Some(repair_hint(path, ctx));
            }
            Some(e) if e.is_no_space() => {
                return Some(ctx.map_or(&FullDisk::Other, |c| &c.on_full_disk).hint(e));
            }
            _ => {}
        }
    }
    None
}

/// The hint for damage in `path` (a segment file, or a partition directory): the repair
/// command for its partition. A writer's recovery cuts only what a crash leaves behind, which
/// readers read past quietly, so damage that reaches the user is for `--repair`.
fn repair_hint(path: &std::path::Path, ctx: Option<&Ctx>) -> String {
    let dir = if path.is_dir() {
        Some(path)
    } else {
        path.parent()
    };
    let partition = dir.and_then(|d| {
        let (topic, p) = klog::storage::file_names::parse_partition_dir(d.file_name()?.to_str()?)?;
        let in_data_dir = ctx.is_some_and(|c| d.parent() == Some(c.dir.as_path()));
        in_data_dir.then(|| format!("{topic} -p {p}"))
    });
    let target = match (partition, dir) {
        (Some(tp), _) => tp,
        (None, Some(d)) => shell_word(&d.display().to_string()),
        (None, None) => shell_word(&path.display().to_string()),
    };
    format!(
        "`klog segments verify {target} --repair` cuts the damage and keeps every later batch \
         at its offsets; until then nothing is appended to the partition"
    )
}

/// `s` quoted for a shell when it needs it.
fn shell_word(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `1 batch`, `2 batches`: [`plural`] for a noun whose plural is not the noun and an `s`.
pub fn plural_of(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `1 record`, `2 records`: a count and its noun, singular or plural as the count says.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A buffered stdout that turns a closed pipe into a quiet stop.
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(256 * 1024, io::stdout().lock())
}

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

    #[test]
    fn broken_pipe_is_success() {
        let err = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(report(&err, None), 0);
    }

    /// A write to `path` that failed for lack of space.
    fn no_space(path: &str) -> klog::Error {
        klog::Error::Io {
            op: "write",
            path: path.into(),
            source: io::Error::from_raw_os_error(28),
        }
    }

    #[test]
    fn full_disk_hints_say_what_is_true_for_each_command() {
        let metadata = no_space("/d/.klog-topics.json.12.0.tmp");
        let partition = no_space("/d/orders-0/partition.metadata");
        let log = no_space("/d/orders-0/00000000000000000000.log");
        let commit = no_space("/d/orders-2/.klog-group.etl.json.12.tmp");
        let nothing = "free some space and run the command again; nothing was changed";
        assert_eq!(
            FullDisk::Produce.hint(&log),
            "free some space; records written before this one are kept"
        );
        // produce creating its topic, create and alter: the metadata write is all or nothing.
        for kind in [
            FullDisk::Produce,
            FullDisk::CreateTopic("orders".into()),
            FullDisk::AlterTopic,
        ] {
            assert_eq!(kind.hint(&metadata), nothing, "{kind:?}");
        }
        assert!(
            FullDisk::CreateTopic("orders".into())
                .hint(&partition)
                .contains("topic 'orders' was created, but not all of its files were")
        );
        assert!(
            FullDisk::AlterTopic
                .hint(&partition)
                .contains("the change is saved")
        );
        assert!(
            FullDisk::Consume
                .hint(&commit)
                .contains("keeps its last committed offsets")
        );
        assert!(
            FullDisk::ResetGroup("etl".into())
                .hint(&commit)
                .contains("`klog groups describe etl`")
        );
        // Only produce keeps records, and nothing else claims it.
        for kind in [
            FullDisk::Consume,
            FullDisk::CreateTopic("orders".into()),
            FullDisk::AlterTopic,
            FullDisk::DeleteTopics,
            FullDisk::ResetGroup("etl".into()),
            FullDisk::Other,
        ] {
            for e in [&metadata, &partition, &log, &commit] {
                assert!(!kind.hint(e).contains("records written"), "{kind:?}");
            }
        }
        // The hint of an error goes by the command in the context.
        let ctx = Ctx {
            dir: PathBuf::from("/d"),
            quiet: true,
            color_stderr: false,
            on_full_disk: FullDisk::ResetGroup("etl".into()),
            writing: true,
        };
        let err = anyhow::Error::new(commit).context("commit orders-2");
        let hint = default_hint(&err, Some(&ctx)).unwrap_or_default();
        assert!(hint.contains("`klog groups describe etl`"), "{hint}");
    }

    #[test]
    fn nearest_names() {
        let names = ["orders", "orders-v2", "payments", "audit"];
        assert_eq!(nearest("ordres", names), vec!["orders"]);
        assert_eq!(nearest("orders-v", names), vec!["orders-v2", "orders"]);
        assert_eq!(nearest("payment", names), vec!["payments"]);
        assert!(nearest("zzzzzzzz", names).is_empty());
    }
}
