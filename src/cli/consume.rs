//! `klog consume TOPIC`: print records from a start position to a stop position, or follow
//! the log like `tail -f`.
//!
//! Without `--follow`, klog stops at the end offsets it saw when it started and exits 0 (like
//! `cat`), however fast others keep producing. Partitions are read in turn, a batch at a time.
//! Output is buffered and flushed whenever klog waits for new records. In follow mode klog
//! sleeps until the file system reports a change in one of the partition directories (no
//! polling), or in the data directory for partitions added meanwhile, which it then reads
//! from their beginning (not with `-p`). Ctrl-C or SIGTERM flushes what was read and exits
//! 0, and so does a reader that closes the pipe (`consume -f | head -1`), seen by a thread
//! polling stdout as soon as it happens rather than at the next write.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use super::escape::unescape;
use super::timespec::{OffsetOrTime, now_ms, parse_offset_or_time, parse_time};
use super::{Ctx, ExitCode, UsageError};
use klog::format::legacy;
use klog::format::{DECOMPRESS_LIMIT, TimestampType};
use klog::group;
use klog::render::{LARGE_FIELD, RecordView, Render, Token, parse_format, value_line};
use klog::storage::Entry;
use klog::storage::LogReader;
use klog::storage::file_names::log_file;
use klog::storage::file_names::parse_partition_dir;
use klog::storage::watch::{LogWatcher, ParentWatch};
use klog::topic::{META_FILE, Topic};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  klog consume orders | head -1
  klog consume orders -o -10                  # the last 10 records of each partition
  klog consume orders -o @-1h -u @-30m        # what arrived between 1 h and 30 min ago
  klog consume orders -o @2024-05-01T00:00:00Z -f
  klog consume orders --json | jq -c 'select(.key == \"alice\")'
  klog consume orders -F '%p/%o %k=%s\\n' -n 5
  klog consume orders -e -c 100 -D '\\0' | xargs -0 -n1 echo   # kcat's -e, -c and -D
  klog consume orders -g etl -f | ./load.sh     # a group member; run more to share partitions")]
pub struct ConsumeArgs {
    /// Topic to read
    pub topic: String,
    /// Where to start: beginning, end, an offset N, -N (N records before the end of each
    /// partition), or @TIME (first record at or after TIME: RFC 3339, epoch ms, or relative
    /// such as @-1h)
    #[arg(short, long, value_name = "SPEC", allow_hyphen_values = true)]
    pub offset: Option<String>,
    /// Same as --offset beginning
    #[arg(long, conflicts_with = "offset")]
    pub from_beginning: bool,
    /// Where to stop (exclusive): end, an offset N, or @TIME
    #[arg(short, long, value_name = "SPEC", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Stop after N records in all (-c as in kcat, --max-messages as in
    /// kafka-console-consumer)
    #[arg(
        short = 'n',
        long,
        value_name = "N",
        visible_short_alias = 'c',
        visible_alias = "max-messages"
    )]
    pub count: Option<u64>,
    /// Exit at the end of the log (kcat's -e): what consume does without --follow
    #[arg(short = 'e', long = "exit", conflicts_with = "follow")]
    pub exit_at_end: bool,
    /// Read only this partition (repeatable)
    #[arg(short, long = "partition", value_name = "N")]
    pub partitions: Vec<u32>,
    /// Keep waiting for new records, like tail -f
    #[arg(short, long)]
    pub follow: bool,
    /// Print the key, SEP, then the value (escapes: \t \n \0 \xNN)
    #[arg(short = 'K', long, value_name = "SEP", conflicts_with_all = ["format", "json"])]
    pub key_separator: Option<String>,
    /// Print DELIM after each record instead of a newline, in the default and -K output
    /// (kcat's -D; escapes: \t \n \0 \xNN)
    #[arg(short = 'D', long, value_name = "DELIM", conflicts_with_all = ["format", "json"])]
    pub delimiter: Option<String>,
    /// Output format with kcat's tokens: %t topic, %p partition, %o offset, %k key, %s value,
    /// %T timestamp (ms), %h headers, %K/%S key/value length, %% a percent sign; escapes \n \t
    #[arg(short = 'F', long, value_name = "FMT", conflicts_with = "json")]
    pub format: Option<String>,
    /// One JSON object per record and line (bytes that are not UTF-8 as {"base64": …})
    #[arg(long)]
    pub json: bool,
    /// Print null keys and values as STR in text output (default: nothing)
    #[arg(long, value_name = "STR")]
    pub null_literal: Option<String>,
    /// Consume as a member of this group (any non-empty id, as in Kafka): start at its
    /// committed offsets, commit what was printed, and share the partitions with the group's
    /// other live members
    #[arg(short, long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Where a group starts on a partition it has no committed offset for, or whose committed
    /// offset lies outside the log (Kafka's auto.offset.reset; a warning names the partition)
    #[arg(long, value_enum, default_value_t = ResetPolicy::Earliest, requires = "group")]
    pub reset: ResetPolicy,
    /// Read with the group's offsets and partition sharing, but commit nothing
    #[arg(long, requires = "group")]
    pub no_commit: bool,
}

/// `--reset`: where a group starts without a committed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ResetPolicy {
    Earliest,
    Latest,
}

/// A parsed `--offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartSpec {
    Beginning,
    End,
    Offset(i64),
    /// N records before the end of each partition.
    Last(i64),
    /// First record with a timestamp at or after this (ms).
    Time(i64),
}

/// A parsed `--until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSpec {
    End,
    Offset(i64),
    Time(i64),
}

fn parse_offset_number(s: &str) -> Option<i64> {
    s.parse::<u64>().ok().and_then(|n| i64::try_from(n).ok())
}

pub fn parse_start(spec: &str, now: i64) -> Result<StartSpec, UsageError> {
    let bad = || {
        UsageError(format!(
            "invalid offset '{spec}': expected beginning, end, an offset N, -N, or @TIME"
        ))
    };
    match spec {
        "beginning" | "earliest" => Ok(StartSpec::Beginning),
        "end" | "latest" => Ok(StartSpec::End),
        s if s.starts_with('@') => parse_time(&s[1..], now).map(StartSpec::Time),
        s => match s.strip_prefix('-') {
            Some(n) => parse_offset_number(n).map(StartSpec::Last).ok_or_else(bad),
            None => parse_offset_number(s)
                .map(StartSpec::Offset)
                .ok_or_else(bad),
        },
    }
}

pub fn parse_stop(spec: &str, now: i64) -> Result<StopSpec, UsageError> {
    if matches!(spec, "end" | "latest") {
        return Ok(StopSpec::End);
    }
    let bad = || {
        UsageError(format!(
            "invalid --until '{spec}': expected end, an offset N, or @TIME"
        ))
    };
    Ok(match parse_offset_or_time(spec, now, bad)? {
        OffsetOrTime::Offset(o) => StopSpec::Offset(o),
        OffsetOrTime::Time(t) => StopSpec::Time(t),
    })
}

/// Reading state of one partition.
struct Part {
    partition: u32,
    dir: PathBuf,
    reader: Option<LogReader>,
    /// Next offset to print.
    next: i64,
    /// Stop before this offset (None: never, in follow mode).
    stop: Option<i64>,
    /// Following with `--until @TIME` before any record that late exists: stop at the first
    /// record whose timestamp reaches this.
    stop_time: Option<i64>,
    done: bool,
    /// Next offset as of the last successful flush of stdout: what may be committed.
    flushed_next: i64,
    /// What the group has committed for this partition (or what it started from).
    committed: Option<i64>,
    /// The log start and end offsets when the partition was opened.
    log_start: i64,
    log_end: i64,
    /// Ownership of the partition in the group, if consuming with one.
    lock: Option<group::PartitionLock>,
}

static STOP: AtomicBool = AtomicBool::new(false);

/// How long a run stopped by a signal has to finish cleanly before it is ended anyway.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// Set when the reader of stdout has gone away (see [`watch_stdout`]).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Watches stdout on a thread of its own and, when its reader goes away, sets
/// [`STDOUT_CLOSED`] and wakes the consume loop through `wake` (the channel the file watcher
/// uses). poll(2) reports `POLLERR` on a pipe whose read end is closed and `POLLHUP` on a
/// socket or terminal that hung up, with nothing written: a follower waiting for records
/// would otherwise see the closed pipe only at its next write, after the next record, and
/// a group member would keep its partitions until then. A file or /dev/null never reports
/// either, so the thread just waits.
fn watch_stdout(wake: mpsc::Sender<()>) {
    let spawned = std::thread::Builder::new()
        .name("stdout-watch".into())
        .spawn(move || {
            loop {
                let mut fd = libc::pollfd {
                    fd: libc::STDOUT_FILENO,
                    events: 0,
                    revents: 0,
                };
                // SAFETY: `fd` is one valid, initialized pollfd, and the count passed is 1.
                #[allow(unsafe_code)]
                let n = unsafe { libc::poll(&mut fd, 1, -1) };
                if n < 0 {
                    if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    return;
                }
                if fd.revents & libc::POLLNVAL != 0 {
                    // No stdout at all: writes report that themselves.
                    return;
                }
                if fd.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                    STDOUT_CLOSED.store(true, Ordering::SeqCst);
                    let _ = wake.send(());
                    return;
                }
            }
        });
    // Without the thread, a closed pipe is still seen at the next write.
    drop(spawned);
}

/// The error a write to a closed pipe gives: `report` turns it into a quiet exit 0.
fn stdout_closed() -> anyhow::Error {
    std::io::Error::from(std::io::ErrorKind::BrokenPipe).into()
}

/// How often a following group member commits and looks for partitions to take or give.
const GROUP_TICK: Duration = Duration::from_millis(250);
const COMMIT_EVERY: Duration = Duration::from_secs(1);

/// Consumer-group settings of a consume run.
struct GroupCtx {
    name: String,
    member: group::Member,
    reset_latest: bool,
    commit: bool,
    /// Partitions this run may read (all, or those given with -p).
    wanted: Vec<u32>,
    /// Partitions added to the topic during the run: without a committed offset they start
    /// at their beginning, whatever --reset says (their records are all new).
    added: BTreeSet<u32>,
}

/// The file-system watch of a follower.
struct Watch {
    watcher: LogWatcher,
    /// Raised when the topic's metadata or its set of partition directories changed.
    changed: Arc<AtomicBool>,
    /// Partition directories to watch once they exist.
    pending: Vec<PathBuf>,
}

/// Everything a consume run needs, shared by its loop and its exit paths.
struct Session<'a> {
    ctx: &'a Ctx,
    topic: Topic,
    start: StartSpec,
    /// Whether --offset was given (with a group it overrides the committed offset).
    explicit_start: bool,
    until: Option<StopSpec>,
    follow: bool,
    /// No -p: partitions added to the topic while following are read too.
    all_partitions: bool,
    parts: Vec<Part>,
    group: Option<GroupCtx>,
    /// The file-system watch while following (`None`: checking every 100 ms instead).
    watch: Option<Watch>,
}

impl Session<'_> {
    /// Picks up partitions added to the topic while following (`topics alter --partitions`),
    /// as Kafka consumers do after a metadata refresh: a plain follower reads them from their
    /// beginning, a group member adds them to those it shares. Then watches the new partition
    /// directories that exist by now, before they are read, so that no append goes unseen.
    fn refresh_partitions(&mut self) -> Result<()> {
        if !self.follow || !self.all_partitions {
            return Ok(());
        }
        // Metadata being rewritten, or the topic deleted meanwhile: look again next time.
        let Ok(now) = self.ctx.topics().open(&self.topic.name) else {
            return Ok(());
        };
        let old = self.topic.partitions;
        if now.partitions > old {
            self.topic = now;
            for p in old..self.topic.partitions {
                match &mut self.group {
                    Some(g) => {
                        g.wanted.push(p);
                        g.added.insert(p);
                    }
                    None => {
                        let part =
                            open_part(&self.topic, p, StartSpec::Beginning, self.until, true)?;
                        self.parts.push(part);
                    }
                }
                if let Some(w) = &mut self.watch {
                    w.pending.push(self.topic.partition_dir(p));
                }
            }
        }
        if let Some(w) = &mut self.watch {
            let watcher = &mut w.watcher;
            w.pending
                .retain(|d| !(d.is_dir() && watcher.watch(d).is_ok()));
        }
        Ok(())
    }

    /// Marks everything printed so far as flushed (call after a successful flush).
    fn flushed(&mut self) {
        for p in &mut self.parts {
            p.flushed_next = p.next;
        }
    }

    /// Commits the flushed position of every owned partition that moved.
    fn commit(&mut self) -> Result<()> {
        let Some(g) = &self.group else {
            return Ok(());
        };
        if !g.commit {
            return Ok(());
        }
        for p in &mut self.parts {
            if p.lock.is_some() && p.committed != Some(p.flushed_next) {
                group::commit(&self.topic, p.partition, &g.name, p.flushed_next)
                    .with_context(|| format!("commit {}-{}", self.topic.name, p.partition))?;
                p.committed = Some(p.flushed_next);
            }
        }
        Ok(())
    }

    /// Takes free partitions up to a fair share (⌊P/M⌋ or ⌈P/M⌉ by rank, see
    /// [`group::fair_share`]; or every free one with records left, when not following and the
    /// owned ones are done) and gives back partitions beyond the share. `out` is flushed and
    /// offsets committed before a partition is given back.
    fn rebalance(&mut self, out: &mut impl Write) -> Result<()> {
        let Some(g) = &self.group else {
            return Ok(());
        };
        // This member's rank among the live ones, by slot: its share and where its range
        // starts (members see each other's slots, so their shares add up to the partitions).
        let slots = group::live_member_slots(&self.topic, &g.name)?;
        let rank = slots.iter().filter(|&&s| s < g.member.slot).count();
        let members = slots.len().max(rank + 1);
        let n = g.wanted.len();
        let share = group::fair_share(n, members, rank);
        let owned = self.parts.len();
        if owned > share {
            out.flush()?;
            self.flushed();
            self.commit()?;
            // Give back the partitions that are furthest behind the share: the last taken.
            let extra = owned - share;
            for _ in 0..extra {
                self.parts.pop();
            }
            return Ok(());
        }
        let all_done = self.parts.iter().all(|p| p.done);
        let limit = if !self.follow && all_done {
            g.wanted.len()
        } else {
            share
        };
        if owned >= limit {
            return Ok(());
        }
        let first = group::range_start(n, members, rank) % n.max(1);
        let name = g.name.clone();
        for i in 0..n {
            if self.parts.len() >= limit {
                break;
            }
            let p = g.wanted[(first + i) % n];
            if self.parts.iter().any(|x| x.partition == p) {
                continue;
            }
            let Some(lock) = group::try_own(&self.topic, p, &name)? else {
                continue;
            };
            // Kept even when there is nothing to read (its start reaches its stop): the start
            // position is committed at exit, as Kafka commits a consumer's position.
            let part = self.open_group_part(p, lock)?;
            self.parts.push(part);
        }
        Ok(())
    }

    fn open_group_part(&self, partition: u32, lock: group::PartitionLock) -> Result<Part> {
        let Some(g) = &self.group else {
            return open_part(&self.topic, partition, self.start, self.until, self.follow);
        };
        let committed = group::committed(&self.topic, partition, &g.name)?.map(|c| c.offset);
        let reset = if g.reset_latest {
            StartSpec::End
        } else {
            StartSpec::Beginning
        };
        let start = match (self.explicit_start, committed) {
            (true, _) => self.start,
            (false, Some(c)) => StartSpec::Offset(c),
            (false, None) if g.added.contains(&partition) => StartSpec::Beginning,
            (false, None) => reset,
        };
        let mut part = open_part(&self.topic, partition, start, self.until, self.follow)?;
        // A committed offset outside the log (records deleted before they were read, or a
        // tail the log lost after they were) is reset by --reset, as Kafka's
        // auto.offset.reset does: reading on from it would skip records or wait for offsets
        // that new records reach only later.
        if let (false, Some(c)) = (self.explicit_start, committed)
            && let Some(out) = group::OutOfRange::of(c, part.log_start, part.log_end)
        {
            let (start, end) = (part.log_start, part.log_end);
            part = open_part(&self.topic, partition, reset, self.until, self.follow)?;
            let why = out.describe(start, end);
            self.warn_out_of_range(partition, "committed offset", c, why, part.next);
        }
        part.committed = committed;
        part.lock = Some(lock);
        Ok(part)
    }

    /// The one-line warning for a committed offset reset by `--reset`.
    fn warn_out_of_range(&self, partition: u32, what: &str, offset: i64, why: String, next: i64) {
        let Some(g) = &self.group else {
            return;
        };
        let policy = if g.reset_latest { "latest" } else { "earliest" };
        self.ctx.note(format_args!(
            "warning: group '{}' {what} {offset} of {}-{partition} is {why}; starting at \
             {next} (--reset {policy})",
            g.name.escape_debug(),
            self.topic.name
        ));
    }

    /// While following, the log of an owned partition may lose its tail (recovery cuts a torn
    /// one) or its head (retention) under the member: a position outside the log is reset by
    /// `--reset`, as at the start. (Not with an explicit --offset, which is kept as given.)
    fn check_positions(&mut self) -> Result<()> {
        let Some(g) = &self.group else {
            return Ok(());
        };
        if self.explicit_start || !self.follow {
            return Ok(());
        }
        let latest = g.reset_latest;
        let mut warnings = Vec::new();
        for part in &mut self.parts {
            let Some(reader) = part.reader.as_mut() else {
                continue;
            };
            let name = format!("{}-{}", self.topic.name, part.partition);
            let end = reader
                .log_end_offset()
                .with_context(|| format!("read {name}"))?;
            let start = reader.log_start_offset();
            let Some(out) = group::OutOfRange::of(part.next, start, end) else {
                continue;
            };
            let next = if latest { end } else { start };
            reader.seek(next).with_context(|| format!("read {name}"))?;
            warnings.push((part.partition, part.next, out.describe(start, end), next));
            part.next = next;
        }
        for (partition, offset, why, next) in warnings {
            self.warn_out_of_range(partition, "position", offset, why, next);
        }
        Ok(())
    }
}

pub fn run(ctx: &Ctx, a: ConsumeArgs) -> Result<ExitCode> {
    // Arguments first: nothing is read before they all parse.
    let now = now_ms();
    let explicit_start = a.offset.is_some() || a.from_beginning;
    let start = match (&a.offset, a.from_beginning) {
        (Some(s), _) => parse_start(s, now)?,
        _ => StartSpec::Beginning,
    };
    let until = a.until.as_deref().map(|s| parse_stop(s, now)).transpose()?;
    let null = match &a.null_literal {
        Some(s) => unescape(s, "--null-literal")?,
        None => Vec::new(),
    };
    let mut printer = if a.json {
        Render::json()
    } else if let Some(f) = &a.format {
        Render::Format {
            tokens: parse_format(&unescape(f, "--format")?).map_err(UsageError)?,
            null,
        }
    } else {
        let key_sep = a
            .key_separator
            .as_deref()
            .map(|s| unescape(s, "--key-separator"))
            .transpose()?;
        let delimiter = a
            .delimiter
            .as_deref()
            .map(|s| unescape(s, "--delimiter"))
            .transpose()?;
        match delimiter {
            // A delimiter other than a newline: the same output as format tokens.
            Some(d) if d != b"\n" => {
                let mut tokens = Vec::new();
                if let Some(sep) = key_sep {
                    tokens.extend([Token::Key, Token::Lit(sep)]);
                }
                tokens.extend([Token::Value, Token::Lit(d)]);
                Render::Format { tokens, null }
            }
            _ => Render::Value { key_sep, null },
        }
    };
    if let Some(g) = &a.group {
        group::validate_group_name(g)?;
    }
    let topic = ctx.topics().open(&a.topic)?;
    let partitions = super::partitions_of(&topic, &a.partitions)?;

    let group = match &a.group {
        Some(name) => Some(GroupCtx {
            name: name.clone(),
            member: group::Member::join(&topic, name)?,
            reset_latest: a.reset == ResetPolicy::Latest,
            commit: !a.no_commit,
            wanted: partitions.clone(),
            added: BTreeSet::new(),
        }),
        None => None,
    };
    let mut session = Session {
        ctx,
        topic,
        start,
        explicit_start,
        until,
        follow: a.follow,
        all_partitions: a.partitions.is_empty(),
        parts: Vec::new(),
        group,
        watch: None,
    };
    if session.group.is_none() {
        for p in partitions {
            let part = open_part(&session.topic, p, start, until, a.follow)?;
            session.parts.push(part);
        }
    }

    // Ctrl-C and SIGTERM end a run cleanly: what was read is flushed (and committed), status 0.
    // A run that cannot get there (blocked writing to a reader that stopped reading, or in a
    // read that does not return) is ended anyway, a moment later or at a second signal, with
    // the status of a process killed by SIGINT: nothing is committed that was not flushed.
    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    {
        let tx = wake_tx.clone();
        let _ = ctrlc::set_handler(move || {
            if STOP.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            let _ = tx.send(());
            std::thread::spawn(|| {
                std::thread::sleep(STOP_GRACE);
                std::process::exit(130);
            });
        });
    }
    if a.follow {
        // A reader that goes away ends the run at once, even if no record ever comes.
        watch_stdout(wake_tx.clone());
    }
    if a.follow {
        let dirs: Vec<PathBuf> = (0..session.topic.partitions)
            .map(|p| session.topic.partition_dir(p))
            .collect();
        for d in &dirs {
            std::fs::create_dir_all(d).with_context(|| format!("create {}", d.display()))?;
        }
        // The data directory too, for the topic's metadata and new partition directories.
        let changed = Arc::new(AtomicBool::new(false));
        let name = session.topic.name.clone();
        let parent = session.all_partitions.then(|| ParentWatch {
            dir: ctx.topics().dir().to_path_buf(),
            relevant: Box::new(move |entry: &std::ffi::OsStr| {
                entry == META_FILE
                    || entry
                        .to_str()
                        .and_then(parse_partition_dir)
                        .is_some_and(|(t, _)| t == name)
            }),
            changed: changed.clone(),
        });
        match LogWatcher::with_parent(&dirs, wake_tx.clone(), parent) {
            Ok(watcher) => {
                session.watch = Some(Watch {
                    watcher,
                    changed,
                    pending: Vec::new(),
                })
            }
            Err(e) => {
                ctx.note(format_args!("{e:#}; checking for new records every 100 ms"));
            }
        }
    }

    // A progress bar for a bounded read into a file or pipe (not for groups: their
    // partitions come and go).
    let bar = if a.until.is_some() && !a.follow && session.group.is_none() {
        let total: i64 = session
            .parts
            .iter()
            .map(|p| p.stop.map_or(0, |s| (s - p.next).max(0)))
            .sum();
        super::progress::bar(ctx, total as u64, "consuming", true)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut out = RecordOut::new(std::io::stdout().lock());
    let result = consume_loop(
        &mut session,
        &mut printer,
        &mut out,
        a.count,
        &wake_rx,
        &bar,
    );
    bar.finish_and_clear();
    // Every exit path commits what was written out, and only that.
    let flushed = out.flush();
    if flushed.is_ok() {
        session.flushed();
    }
    let committed = session.commit();
    result?;
    flushed?;
    committed?;
    Ok(ExitCode::Success)
}

fn consume_loop<W: Write>(
    s: &mut Session<'_>,
    printer: &mut Render,
    out: &mut RecordOut<W>,
    count: Option<u64>,
    wake_rx: &mpsc::Receiver<()>,
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    let poll = s.watch.is_none();
    let mut left = count.unwrap_or(u64::MAX);
    // Decompressed records of the current batch, reused from batch to batch.
    let mut scratch = Vec::new();
    let mut last_commit = Instant::now();
    let mut last_tick = Instant::now();
    let mut last_refresh = Instant::now();
    s.rebalance(out)?;
    loop {
        // New partitions: when the watcher saw the metadata or a partition directory change,
        // or every tick when there is no watcher.
        let changed = s
            .watch
            .as_ref()
            .is_some_and(|w| w.changed.swap(false, Ordering::SeqCst));
        if changed || (s.follow && poll && last_refresh.elapsed() >= GROUP_TICK) {
            s.refresh_partitions()?;
            last_refresh = Instant::now();
        }
        let mut progressed = false;
        let topic_name = s.topic.name.as_str();
        for part in s.parts.iter_mut() {
            if part.done || left == 0 || STOP.load(Ordering::Relaxed) {
                continue;
            }
            if part.reader.is_none() {
                // In follow mode a partition directory may appear later.
                if part.dir.is_dir() {
                    let mut r = LogReader::open(&part.dir)?;
                    r.seek(part.next)?;
                    part.reader = Some(r);
                } else {
                    continue;
                }
            }
            let Some(reader) = part.reader.as_mut() else {
                continue;
            };
            let Some(b) = reader
                .next_batch()
                .with_context(|| format!("read {topic_name}-{}", part.partition))?
            else {
                if !s.follow {
                    part.done = true;
                }
                continue;
            };
            progressed = true;
            let before = part.next;
            let corrupt = |e: klog::format::DecodeError| klog::Error::Corrupt {
                path: log_file(&part.dir, b.segment_base),
                position: e.at() as u64 + b.position,
                source: e.shifted(b.position as usize),
            };
            // The common case on its own: values alone, and every record of the batch wanted
            // (none below the position, none at or past a stop, the count not running out).
            if let Entry::Batch(batch) = &b.batch
                && !batch.header.is_control()
                && let Render::Value {
                    key_sep: None,
                    null,
                } = printer
                && part.stop_time.is_none()
                && batch.header.size() <= LARGE_FIELD
                && batch.header.base_offset >= part.next
                && part.stop.is_none_or(|s| batch.header.last_offset() < s)
                && left > batch.header.records_count.max(0) as u64
            {
                let mut n = 0u64;
                let buf = &mut out.buf;
                batch
                    .records_in(&mut scratch)
                    .map_err(corrupt)?
                    .try_for_each_value(|value| {
                        value_line(buf, value, null);
                        n += 1;
                    })
                    .map_err(corrupt)?;
                out.spill_if_full()?;
                left -= n;
                part.next = batch.header.next_offset();
                if part.stop.is_some_and(|stop| part.next >= stop) {
                    part.done = true;
                }
                bar.inc(n);
                continue;
            }
            let mut range = PartRange {
                partition: part.partition,
                next: &mut part.next,
                stop: part.stop,
                stop_time: part.stop_time,
                done: &mut part.done,
            };
            // No record of an entry smaller than LARGE_FIELD needs its own path.
            let may_be_large = match &b.batch {
                Entry::Batch(batch) => batch.header.size() > LARGE_FIELD,
                Entry::Legacy(m) => m.size > LARGE_FIELD,
            };
            let mut take = |view: &RecordView<'_>, out: &mut RecordOut<W>| {
                take_record(
                    &mut range,
                    &mut left,
                    printer,
                    topic_name,
                    view,
                    out,
                    may_be_large,
                )
            };
            match &b.batch {
                // Control batches (transaction markers) are not records for consumers.
                Entry::Batch(batch) if batch.header.is_control() => {}
                Entry::Batch(batch) => {
                    for rec in batch.records_in(&mut scratch).map_err(corrupt)? {
                        let rec = rec.map_err(corrupt)?;
                        if !take(&RecordView::of(batch, &rec), out)? {
                            break;
                        }
                    }
                }
                Entry::Legacy(m) => {
                    for r in legacy::records(m, DECOMPRESS_LIMIT).map_err(corrupt)? {
                        let view = RecordView {
                            offset: r.offset,
                            timestamp: r.timestamp,
                            timestamp_type: r
                                .timestamp_type
                                .map_or("NoTimestampType", TimestampType::name),
                            key: r.key.as_deref(),
                            value: r.value.as_deref(),
                            headers: &[],
                        };
                        if !take(&view, out)? {
                            break;
                        }
                    }
                }
            }
            bar.inc((part.next - before).max(0) as u64);
            // Past the batch's last record (offsets may have gaps after compaction), unless
            // the count ran out inside it.
            if !part.done && left > 0 {
                part.next = part.next.max(b.batch.next_offset());
                if part.stop.is_some_and(|stop| part.next >= stop) {
                    part.done = true;
                }
            }
        }
        if left == 0 || STOP.load(Ordering::Relaxed) {
            return Ok(());
        }
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Err(stdout_closed());
        }
        // A following group member that owns nothing yet waits for partitions to free up.
        let idle_member = s.follow && s.group.is_some() && s.parts.is_empty();
        if !idle_member && s.parts.iter().all(|p| p.done) {
            if s.group.is_none() || s.follow {
                return Ok(());
            }
            // A group member that is not following finishes its partitions, then any free
            // ones with records left; it stops when none is left.
            let before = s.parts.len();
            s.rebalance(out)?;
            if s.parts.len() == before {
                return Ok(());
            }
            continue;
        }
        let group_due = s.group.is_some() && last_tick.elapsed() >= GROUP_TICK;
        if !progressed || group_due {
            // Caught up (or time to look around): show what we have, commit, rebalance.
            out.flush()?;
            s.flushed();
            if s.group.is_some() && (last_commit.elapsed() >= COMMIT_EVERY || !progressed) {
                s.commit()?;
                last_commit = Instant::now();
            }
            if group_due || !progressed {
                if group_due {
                    s.check_positions()?;
                }
                s.rebalance(out)?;
                last_tick = Instant::now();
            }
        }
        if !progressed {
            let wait = if poll {
                Duration::from_millis(100)
            } else if s.group.is_some() {
                GROUP_TICK
            } else {
                Duration::from_secs(3600)
            };
            match wake_rx.recv_timeout(wait) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            while wake_rx.try_recv().is_ok() {}
            if STDOUT_CLOSED.load(Ordering::Relaxed) {
                return Err(stdout_closed());
            }
        }
    }
}

/// Buffered output that records are rendered into directly (no per-field write calls); it
/// goes to `inner` in large writes.
struct RecordOut<W: Write> {
    buf: Vec<u8>,
    inner: W,
    /// A write to `inner` failed: nothing after it reached the reader, so every later flush
    /// fails too (what was rendered must not count as written, nor be committed).
    failed: Option<std::io::ErrorKind>,
}

const OUT_BUF: usize = 256 * 1024;

impl<W: Write> RecordOut<W> {
    fn new(inner: W) -> Self {
        RecordOut {
            buf: Vec::with_capacity(OUT_BUF + 4096),
            inner,
            failed: None,
        }
    }

    fn spill(&mut self) -> std::io::Result<()> {
        if let Some(kind) = self.failed {
            return Err(kind.into());
        }
        let r = self.inner.write_all(&self.buf);
        self.buf.clear();
        if let Err(e) = &r {
            self.failed = Some(e.kind());
        }
        r
    }

    #[inline(always)]
    fn spill_if_full(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= OUT_BUF {
            self.spill()?;
        }
        Ok(())
    }

    /// Renders a record with a key or value too large for the buffer straight to `inner`
    /// (after what is buffered): the record is never copied whole (see
    /// [`Render::render_to`]).
    #[cold]
    fn render_large(
        &mut self,
        printer: &mut Render,
        topic: &str,
        partition: u32,
        view: &RecordView<'_>,
    ) -> std::io::Result<()> {
        self.spill()?;
        let r = printer.render_to(&mut self.inner, topic, partition, view);
        if let Err(e) = &r {
            self.failed = Some(e.kind());
        }
        r
    }
}

/// Whether a record is too large to render into the output buffer.
#[inline(always)]
fn is_large(view: &RecordView<'_>) -> bool {
    let len = |b: Option<&[u8]>| b.map_or(0, <[u8]>::len);
    len(view.key) > LARGE_FIELD || len(view.value) > LARGE_FIELD
}

impl<W: Write> Write for RecordOut<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        self.spill_if_full()?;
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() || self.failed.is_some() {
            self.spill()?;
        }
        self.inner.flush()
    }
}

/// What [`take_record`] needs of a [`Part`].
struct PartRange<'p> {
    partition: u32,
    next: &'p mut i64,
    stop: Option<i64>,
    stop_time: Option<i64>,
    done: &'p mut bool,
}

/// Prints one record if it is in the partition's range; false once the partition is done or
/// the count has run out. The per-record step of [`consume_loop`], kept inline.
#[inline(always)]
fn take_record<W: Write>(
    part: &mut PartRange<'_>,
    left: &mut u64,
    printer: &mut Render,
    topic_name: &str,
    view: &RecordView<'_>,
    out: &mut RecordOut<W>,
    may_be_large: bool,
) -> Result<bool> {
    if view.offset < *part.next {
        return Ok(true);
    }
    if part.stop.is_some_and(|stop| view.offset >= stop)
        || part.stop_time.is_some_and(|t| view.timestamp >= t)
    {
        *part.done = true;
        return Ok(false);
    }
    if may_be_large && is_large(view) {
        out.render_large(printer, topic_name, part.partition, view)?;
    } else {
        printer.render(&mut out.buf, topic_name, part.partition, view);
        out.spill_if_full()?;
    }
    *part.next = view.offset + 1;
    *left -= 1;
    Ok(*left > 0)
}

/// Resolves the start and stop offsets of one partition.
fn open_part(
    topic: &Topic,
    partition: u32,
    start: StartSpec,
    until: Option<StopSpec>,
    follow: bool,
) -> Result<Part> {
    let dir = topic.partition_dir(partition);
    let name = format!("{}-{partition}", topic.name);
    let Some(mut reader) = topic.open_reader(partition)? else {
        // No directory yet: an empty partition.
        let stop = match until {
            Some(StopSpec::Offset(o)) => Some(o),
            Some(StopSpec::Time(_)) if follow => None,
            Some(_) => Some(0),
            None if follow => None,
            None => Some(0),
        };
        let stop_time = match until {
            Some(StopSpec::Time(t)) if follow => Some(t),
            _ => None,
        };
        let next = match start {
            StartSpec::Offset(o) => o.max(0),
            _ => 0,
        };
        return Ok(Part {
            partition,
            dir,
            reader: None,
            next,
            done: stop.is_some_and(|s| next >= s),
            stop,
            stop_time,
            flushed_next: next,
            committed: None,
            log_start: 0,
            log_end: 0,
            lock: None,
        });
    };
    // Damage in the last segment hides the log end offset: read up to the damage, where the
    // reader stops with the error (unless the start itself needs the end).
    let (end, damage) = match reader.log_end_offset() {
        Ok(end) => (end, None),
        Err(e @ klog::Error::Corrupt { .. }) => (i64::MAX, Some(e)),
        Err(e) => return Err(e).with_context(|| format!("read {name}")),
    };
    let log_start = reader.log_start_offset();
    if let (Some(e), StartSpec::End | StartSpec::Last(_)) = (damage, start) {
        return Err(e).with_context(|| format!("read {name}"));
    }
    let next = match start {
        StartSpec::Beginning => log_start,
        StartSpec::End => end,
        StartSpec::Offset(o) => o.max(log_start),
        StartSpec::Last(n) => end.saturating_sub(n).max(log_start),
        StartSpec::Time(t) => reader
            .offset_for_timestamp(t)
            .with_context(|| format!("read {name}"))?
            .unwrap_or(end),
    };
    let mut stop_time = None;
    let stop = match until {
        Some(StopSpec::End) => Some(end),
        Some(StopSpec::Offset(o)) => Some(o),
        Some(StopSpec::Time(t)) => match reader
            .offset_for_timestamp(t)
            .with_context(|| format!("read {name}"))?
        {
            Some(o) => Some(o),
            // No record that late yet: a follower stops at the first one to arrive.
            None if follow => {
                stop_time = Some(t);
                None
            }
            None => Some(end),
        },
        None if follow => None,
        None => Some(end),
    };
    reader.seek(next).with_context(|| format!("read {name}"))?;
    Ok(Part {
        partition,
        dir,
        reader: Some(reader),
        next,
        done: stop.is_some_and(|s| next >= s),
        stop,
        stop_time,
        flushed_next: next,
        committed: None,
        log_start,
        log_end: end,
        lock: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_specs() {
        let now = 1_000_000;
        assert_eq!(parse_start("beginning", now).unwrap(), StartSpec::Beginning);
        assert_eq!(parse_start("end", now).unwrap(), StartSpec::End);
        assert_eq!(parse_start("42", now).unwrap(), StartSpec::Offset(42));
        assert_eq!(parse_start("-3", now).unwrap(), StartSpec::Last(3));
        assert_eq!(parse_start("@-1s", now).unwrap(), StartSpec::Time(999_000));
        assert_eq!(parse_start("@123", now).unwrap(), StartSpec::Time(123));
        for bad in [
            "",
            "x",
            "-",
            "--3",
            "1.5",
            "99999999999999999999",
            "@",
            "@soon",
        ] {
            assert!(parse_start(bad, now).is_err(), "{bad}");
        }
        assert_eq!(parse_stop("end", now).unwrap(), StopSpec::End);
        assert_eq!(parse_stop("7", now).unwrap(), StopSpec::Offset(7));
        assert!(parse_stop("-7", now).is_err());
    }

    /// A failed write to stdout must not let a later flush succeed: the group would then
    /// commit records the reader never got (found by `closed_pipe_commits_nothing_unread`).
    #[test]
    fn regression_record_out_failure_is_sticky() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut out = RecordOut::new(Closed);
        out.buf.resize(OUT_BUF, b'x');
        assert!(out.spill_if_full().is_err());
        assert!(out.buf.is_empty());
        assert_eq!(
            out.flush().map_err(|e| e.kind()),
            Err(std::io::ErrorKind::BrokenPipe)
        );
        out.write_all(b"more").unwrap_or(());
        assert!(out.flush().is_err());
    }
}
