//! `klog consume TOPIC`: print records from a start position to a stop position, or follow
//! the log like `tail -f`.
//!
//! The reading is [`klog::consume`]'s (positions, stops, group membership and commits, the
//! watch of a follower): this module parses the arguments, prints records and warnings, and
//! ends the run on a signal or a reader gone away ([`super::stop`]). Output is flushed
//! whenever klog waits for new records; what was flushed is what a group member commits.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::escape::unescape;
use super::stop;
use super::timespec::{now_ms, parse_start, parse_stop};
use super::{Ctx, ExitCode, UsageError};
use klog::consume::{self, Consumer, FetchSpec, Fetched, MemberOptions, StartSpec, Step};
use klog::group;
use klog::render::{LARGE_FIELD, RecordOut, RecordView, Render, parse_format, value_line};

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

/// The output format the arguments ask for.
fn printer(a: &ConsumeArgs) -> Result<Render> {
    let null = match &a.null_literal {
        Some(s) => unescape(s, "--null-literal")?,
        None => Vec::new(),
    };
    if a.json {
        return Ok(Render::json());
    }
    if let Some(f) = &a.format {
        let tokens = parse_format(&unescape(f, "--format")?).map_err(UsageError)?;
        return Ok(Render::Format { tokens, null });
    }
    let esc = |s: &Option<String>, what| s.as_deref().map(|s| unescape(s, what)).transpose();
    Ok(Render::text(
        esc(&a.key_separator, "--key-separator")?,
        esc(&a.delimiter, "--delimiter")?,
        null,
    ))
}

pub fn run(ctx: &Ctx, a: ConsumeArgs) -> Result<ExitCode> {
    // Arguments first: nothing is read before they all parse.
    let now = now_ms();
    let spec = FetchSpec {
        start: match (&a.offset, a.from_beginning) {
            (Some(s), _) => Some(parse_start(s, now)?),
            (None, true) => Some(StartSpec::Beginning),
            (None, false) => None,
        },
        stop: a.until.as_deref().map(|s| parse_stop(s, now)).transpose()?,
        follow: a.follow,
    };
    let printer = printer(&a)?;
    if let Some(g) = &a.group {
        group::validate_group_name(g)?;
    }
    let topic = ctx.topics().open(&a.topic)?;
    let partitions = super::partitions_of(&topic, &a.partitions)?;
    let member = a.group.clone().map(|group| MemberOptions {
        group,
        reset: match a.reset {
            ResetPolicy::Earliest => consume::ResetPolicy::Earliest,
            ResetPolicy::Latest => consume::ResetPolicy::Latest,
        },
        commit: !a.no_commit,
    });
    let all = a.partitions.is_empty();
    let mut consumer = Consumer::new(ctx.topics(), topic, partitions, all, spec, member)?;
    stop::on_signal(consumer.waker());
    if a.follow {
        // A reader that goes away ends the run at once, even if no record ever comes.
        stop::watch_stdout(consumer.waker());
        if let Some(e) = consumer.watch()? {
            ctx.note(format_args!("{e:#}; checking for new records every 100 ms"));
        }
    }
    // A progress bar for a bounded read into a file or pipe (not for a group member).
    let bar = if a.until.is_some() && !a.follow && a.group.is_none() {
        super::progress::bar(ctx, consumer.offsets_left(), "consuming", true)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut run = Run {
        ctx,
        printer,
        out: RecordOut::new(std::io::stdout().lock()),
        left: a.count.unwrap_or(u64::MAX),
        scratch: Vec::new(),
        bar: &bar,
    };
    let result = run.consume(&mut consumer);
    bar.finish_and_clear();
    // Every exit path commits what was written out, and only that.
    let flushed = run.out.flush();
    let committed = consumer.close(flushed.is_ok());
    result?;
    flushed?;
    committed?;
    Ok(ExitCode::Success)
}

/// The output side of a consume run: its renderer and buffer (owned, see [`Run::print`]),
/// the records left to print (`--count`), the decompressed records of the current batch.
struct Run<'r, W: Write> {
    ctx: &'r Ctx,
    printer: Render,
    out: RecordOut<W>,
    left: u64,
    scratch: Vec<u8>,
    bar: &'r indicatif::ProgressBar,
}

impl<W: Write> Run<'_, W> {
    #[inline(always)]
    fn consume(&mut self, c: &mut Consumer) -> Result<()> {
        let started = c.start(Instant::now(), || -> Result<()> { Ok(self.out.flush()?) });
        self.warn(c);
        started?;
        let topic = c.topic().name.clone();
        loop {
            c.refresh(Instant::now())?;
            let mut progressed = false;
            for fetch in c.fetches_mut() {
                // (When following, a partition directory may appear later.)
                let idle = fetch.is_done() || self.left == 0 || stop::requested();
                if idle || !fetch.open_if_created()? {
                    continue;
                }
                let Some(mut b) = fetch.next_batch()? else {
                    continue;
                };
                progressed = true;
                self.print(&topic, &mut b)?;
            }
            if self.left == 0 || stop::requested() {
                return Ok(());
            }
            stop::stdout_closed()?;
            let flush = || -> Result<()> { Ok(self.out.flush()?) };
            let step = c.after_pass(progressed, Instant::now(), flush);
            self.warn(c);
            match step? {
                Step::Fetch => {}
                Step::Finished => return Ok(()),
                Step::Wait(timeout) => {
                    c.wait(timeout);
                    stop::stdout_closed()?;
                }
            }
        }
    }

    /// Prints the records of one batch that are in range. Inlined into [`run`], whose frame
    /// holds the buffer and renderer, with the closure inlined into the loop of each format
    /// (callgrind: with the output behind references, `--json` took 3 % more instructions).
    #[inline(always)]
    fn print(&mut self, topic: &str, b: &mut Fetched<'_>) -> Result<()> {
        // The common case on its own: values alone, and every record of the batch wanted
        // (none below the position, none at or past a stop, the count not running out).
        if let Render::Value {
            key_sep: None,
            null,
        } = &self.printer
            && b.entry().size() <= LARGE_FIELD
            && b.takes_whole(self.left)
        {
            let buf = self.out.buffer();
            let n = b.take_values(&mut self.scratch, |value| value_line(buf, value, null))?;
            self.out.spill_if_full()?;
            self.left -= n;
            self.bar.inc(n);
            return Ok(());
        }
        // No record of an entry smaller than LARGE_FIELD needs its own path; the timestamp
        // type is the entry's.
        let may_be_large = b.entry().size() > LARGE_FIELD;
        let timestamp_type = b.entry().timestamp_type_name();
        let (printer, out, partition) = (&mut self.printer, &mut self.out, b.partition());
        let moved = b.take_records(
            &mut self.scratch,
            &mut self.left,
            #[inline(always)]
            |rec| {
                let view = RecordView {
                    offset: rec.offset,
                    timestamp: rec.timestamp,
                    timestamp_type,
                    key: rec.key,
                    value: rec.value,
                    headers: &rec.headers,
                };
                out.record(printer, topic, partition, &view, may_be_large)
                    .map_err(anyhow::Error::from)
            },
        )?;
        self.bar.inc(moved);
        Ok(())
    }

    /// Tells of the offsets the out-of-range rule moved.
    fn warn(&self, c: &mut Consumer) {
        for r in c.take_resets() {
            self.ctx.note(format_args!(
                "warning: group '{}' {} {} of {}-{} is {}; starting at {} (--reset {})",
                c.member().map_or("", |m| m.group()).escape_debug(),
                r.what(),
                r.offset,
                c.topic().name,
                r.partition,
                r.why(),
                r.reset_to,
                r.policy.name()
            ));
        }
    }
}
