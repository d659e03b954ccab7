//! `klog produce TOPIC [FILE…]`: records from stdin or files, batched, appended to a topic.
//!
//! The command line's part: the arguments and wiring here, the record shape, input files
//! and messages in [`shape`], the input side (the reader thread, the feeding loop) in
//! [`input`]. The main thread feeds chunks
//! to the library's [`RecordReader`], which cuts them into records for a [`Producer`];
//! whenever the input has nothing more ready it hands the batches under construction to the
//! producer's writer thread (so a trickle such as `tail -f` reaches readers at once). The
//! writer stops at its first error, which the main thread sees at its next hand-over (or
//! within a second when idle) and reports; the command succeeds only once the writer has
//! fsynced everything handed to it.

mod input;
mod shape;

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use clap::builder::TypedValueParser;

use super::{Ctx, ExitCode, Hint, UsageError, plural};
use input::Chunks;
use klog::format::Compression;
use klog::produce::{Invalid, ProduceSummary, Producer, ProducerConfig, RecordReader};
use klog::topic::Topic;
use shape::{check_files, inputs_of, invalid_message, progress_bar, shape_of};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  seq 1 1000 | klog produce numbers
  tail -f app.log | klog produce app
  klog produce users -K : users.txt                 # lines 'key:value'
  klog produce users -K : --null-marker NULL        # 'alice:NULL' is a tombstone
  find . -print0 | klog produce files -0
  klog produce images --raw a.png b.png             # one record per file
  klog consume a --json | klog produce b --json     # lossless copy, binary included
  klog consume a --json | klog produce c --json --partitions 6 --ignore-partition
                                                    # a copy spread over 6 partitions by key")]
pub struct ProduceArgs {
    /// Topic to append to (created with default configs if missing, unless --no-create)
    pub topic: String,
    /// Input files; standard input when none is given or for '-'
    pub files: Vec<PathBuf>,
    /// Write every record to this partition instead of choosing by key
    #[arg(short, long, value_name = "N")]
    pub partition: Option<u32>,
    /// Use this key for every record
    #[arg(short, long, value_name = "KEY", conflicts_with = "key_separator")]
    pub key: Option<String>,
    /// Split each record at the first SEP into key and value (escapes: \t \n \0 \xNN)
    #[arg(short = 'K', long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// Add this header to every record (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// Record delimiter instead of newline (escapes: \t \n \0 \xNN)
    #[arg(
        short = 'D',
        long,
        value_name = "SEP",
        conflicts_with_all = ["null_delimited", "raw", "json"]
    )]
    pub delimiter: Option<String>,
    /// Records are separated by NUL bytes (like find -print0)
    #[arg(short = '0', long = "null", conflicts_with_all = ["raw", "json"])]
    pub null_delimited: bool,
    /// Each file (or all of stdin) is one record, byte for byte
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
    /// Each line is a JSON object as `klog consume --json` prints it
    ///
    /// Fields: key, value, headers, partition, timestamp (ms; -1 is "no timestamp" and is kept;
    /// without one, the producer's clock); topic, offset and timestamp_type are ignored. Any
    /// other field, or a key given twice, is an error naming the line.
    #[arg(long, conflicts_with_all = ["key", "key_separator", "null_marker"])]
    pub json: bool,
    /// A key or value equal to STR is null (a value of null is a tombstone)
    #[arg(long, value_name = "STR")]
    pub null_marker: Option<String>,
    /// Report invalid records on stderr and go on instead of stopping
    #[arg(long)]
    pub skip_invalid: bool,
    /// Fail instead of creating a missing topic
    #[arg(long)]
    pub no_create: bool,
    /// Partitions of the topic if this command creates it (default 1); for a topic that
    /// exists, N must be its partition count (`klog topics alter` adds partitions)
    #[arg(long, value_name = "N")]
    pub partitions: Option<u32>,
    /// With --json: choose each record's partition by its key (Kafka's partitioner), ignoring
    /// the "partition" field, e.g. to copy a topic into one with more partitions
    #[arg(long, requires = "json")]
    pub ignore_partition: bool,
    /// Compress batches with this codec (default: the topic's compression.type, else none)
    #[arg(long, value_name = "CODEC", value_parser = codec_parser())]
    pub compression: Option<Compression>,
    /// fsync every batch right after appending it, before appending the next
    #[arg(long)]
    pub sync: bool,
    /// Print a summary on stderr: records and bytes written, and for each partition written
    /// to, its records' count and first and last offset
    #[arg(short, long)]
    pub verbose: bool,
}

/// `--compression`: Kafka's codec names, listed in `--help` and completions.
fn codec_parser() -> impl TypedValueParser<Value = Compression> {
    clap::builder::PossibleValuesParser::new(Compression::NAMES)
        .try_map(|name| name.parse::<Compression>())
}

pub fn run(ctx: &Ctx, a: ProduceArgs) -> Result<ExitCode> {
    let (shape, framing) = shape_of(&a)?;
    check_files(&a.files)?;
    let topic = open_topic(ctx, &a)?;
    let (inputs, names) = inputs_of(&a.files);
    if inputs.iter().any(Option::is_none) && io::stdin().is_terminal() {
        ctx.note("reading records from the terminal, one per line; Ctrl-D ends");
    }
    let bar = progress_bar(ctx, &inputs);
    let chunks = Chunks::start(inputs, &names, &bar);
    let mut producer = Producer::new(&topic, producer_config(ctx, &a, &topic));
    // A delimited record is buffered up to max.message.bytes: a longer one is refused anyway.
    let mut reader = RecordReader::new(shape, framing, topic.config.max_message_bytes as usize);
    let mut skipped = 0u64;
    // Reports a skippable problem with a record, or stops.
    let mut on_invalid = |bad: Invalid<'_>| -> Result<()> {
        let msg = invalid_message(&topic, &bad.reason);
        let what = format!("{}: {} {}: {msg}", bad.input, bad.unit, bad.number);
        if a.skip_invalid {
            skipped += 1;
            eprintln!("klog: skipped {what}");
            Ok(())
        } else {
            Err(anyhow::anyhow!(what))
        }
    };
    let failure = chunks
        .feed(&mut reader, &mut producer, &mut on_invalid)
        .err();
    drop(chunks);
    bar.finish_and_clear();
    // Whatever happened, records accepted before it are written and fsynced; the writer's
    // own error comes first.
    let summary = producer.close()?;
    // Kafka's checkpoint files, so that the directory looks like one a broker left (also
    // when a bad record stopped the input: what came before it is written).
    ctx.sync_checkpoints(&topic, &summary.written);
    if let Some(e) = failure {
        return Err(e);
    }
    if a.verbose {
        print_summary(&topic, &summary);
    }
    if skipped > 0 {
        ctx.note(format_args!(
            "skipped {}",
            plural(skipped, "invalid record")
        ));
    }
    Ok(ExitCode::Success)
}

/// The producer's settings: `--compression` (else the topic's `compression.type`), `--sync`,
/// and a note for each torn tail a partition's recovery cuts.
fn producer_config(ctx: &Ctx, a: &ProduceArgs, topic: &Topic) -> ProducerConfig {
    let quiet = ctx.quiet;
    ProducerConfig {
        compression: a
            .compression
            .or(topic.config.compression_type)
            .unwrap_or(Compression::None),
        sync: a.sync,
        on_truncation: Some(Box::new(move |_, t| {
            if !quiet {
                eprintln!(
                    "klog: recovered {}: removed {} from byte {} ({})",
                    t.path.display(),
                    plural(t.removed_bytes, "byte"),
                    t.position,
                    std::error::Error::source(&t.reason)
                        .map_or(t.reason.to_string(), |e| e.to_string())
                );
            }
        })),
        ..ProducerConfig::default()
    }
}

/// The topic to produce to, created if missing (unless `--no-create`), checked against
/// `--partitions` and `--partition`.
fn open_topic(ctx: &Ctx, a: &ProduceArgs) -> Result<Topic> {
    let topics = ctx.topics();
    let topic = match topics.open(&a.topic) {
        Ok(t) => t,
        Err(klog::Error::TopicNotFound(_)) if !a.no_create => {
            // Check what would fail after creating the topic before creating it.
            let partitions = a.partitions.unwrap_or(1);
            if let Some(p) = a.partition
                && p >= partitions
            {
                return Err(klog::Error::PartitionNotFound {
                    topic: a.topic.clone(),
                    partition: p,
                    partitions,
                }
                .into());
            }
            let (t, created) = topics.open_or_create(&a.topic, partitions)?;
            if created {
                ctx.note(format_args!(
                    "created topic '{}' with {} (default configs)",
                    t.name,
                    plural(u64::from(t.partitions), "partition")
                ));
            }
            t
        }
        Err(klog::Error::TopicNotFound(name)) => {
            return Err(anyhow::Error::new(Hint(format!(
                "create it with `klog topics create {name}`, or leave out --no-create"
            )))
            .context(format!("topic '{name}' does not exist")));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(n) = a.partitions
        && n != topic.partitions
    {
        let grow = if n > topic.partitions {
            format!(
                "; `klog topics alter {} --partitions {n}` adds partitions",
                topic.name
            )
        } else {
            String::new()
        };
        return Err(UsageError(format!(
            "topic '{}' has {}, not {n}: --partitions only sets the count of a topic produce \
             creates{grow}",
            topic.name,
            plural(u64::from(topic.partitions), "partition")
        ))
        .into());
    }
    if let Some(p) = a.partition {
        super::partitions_of(&topic, &[p])?;
    }

    Ok(topic)
}

/// `-v`: records and bytes written, and per partition its records and offsets.
fn print_summary(topic: &Topic, s: &ProduceSummary) {
    eprintln!(
        "klog: wrote {} ({}) to {} of '{}'",
        plural(s.records, "record"),
        plural(s.bytes, "byte"),
        plural(s.appended.len() as u64, "partition"),
        topic.name
    );
    for a in &s.appended {
        eprintln!(
            "klog:   partition {}: {}, first offset {}, last offset {}",
            a.partition,
            plural(a.records, "record"),
            a.first_offset,
            a.last_offset
        );
    }
}
