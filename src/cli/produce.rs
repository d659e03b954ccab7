//! `klog produce TOPIC [FILE…]`: records from stdin or files, batched, appended to a topic.
//!
//! A reader thread moves input in chunks of up to 1 MiB through a small bounded channel, so
//! memory stays bounded whatever the input size. The main thread splits chunks into records
//! and adds them to per-partition batches. It hands a batch to the writer thread whenever the
//! input has nothing more ready (so a trickle such as `tail -f` reaches readers at once) or
//! the batch is full (so bulk input goes in batches of up to 1 MiB); two batches at most wait
//! for the writer. The writer owns the partition logs: it appends, fsyncs when `--sync` or
//! `flush.messages` say so and at the end, and starts a background fsync when `flush.ms`
//! does (so that a slow disk does not hold up the records behind it). It stops at its first
//! error, which the main thread sees at its next hand-over (or within a second when idle) and
//! reports; the command succeeds only once the writer has fsynced everything handed to it.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use super::escape::unescape;
use super::mapped::{MappedInput, Window};
use super::timespec::now_ms;
use super::{Ctx, ExitCode, Hint, UsageError, plural};
use klog::format::batch::{BatchParts, compress_batch};
use klog::format::{BatchBuilder, Compression, Header, RECORD_BATCH_OVERHEAD, partition_for_key};
use klog::input::{JsonRecord, Piece, Splitter, parse_record};
use klog::storage::Log;
use klog::topic::Topic;

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
    #[arg(long, value_enum, value_name = "CODEC")]
    pub compression: Option<Codec>,
    /// fsync every batch right after appending it, before appending the next
    #[arg(long)]
    pub sync: bool,
    /// Print a summary on stderr: records and bytes written, and for each partition written
    /// to, its records' count and first and last offset
    #[arg(short, long)]
    pub verbose: bool,
}

/// `--compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl From<Codec> for Compression {
    fn from(c: Codec) -> Compression {
        match c {
            Codec::None => Compression::None,
            Codec::Gzip => Compression::Gzip,
            Codec::Snappy => Compression::Snappy,
            Codec::Lz4 => Compression::Lz4,
            Codec::Zstd => Compression::Zstd,
        }
    }
}

const CHUNK: usize = 1 << 20;
/// Most bytes of batches under construction across partitions before they go to the writer.
const MAX_PENDING: usize = 8 << 20;

/// Input bytes as the reader thread hands them over.
enum Bytes {
    /// Read into a buffer, which goes back to the reader for reuse.
    Read(Vec<u8>),
    /// A window of a mapped file.
    Mapped(Window),
}

/// What the reader thread sends.
enum Input {
    /// Bytes read, `buf[..len]`.
    Chunk {
        buf: Bytes,
        len: usize,
    },
    /// The current input (file or stdin) ended.
    End,
    Failed(String, io::Error),
}

impl Bytes {
    fn get(&self, range: std::ops::RangeTo<usize>) -> Option<&[u8]> {
        match self {
            Bytes::Read(b) => b.get(range),
            Bytes::Mapped(w) => w.get(range),
        }
    }

    /// Gives a read buffer back to the reader (a window is unmapped when dropped).
    fn recycle(self, to: &SyncSender<Vec<u8>>) {
        if let Bytes::Read(b) = self {
            let _ = to.try_send(b);
        }
    }
}

fn spawn_reader(
    inputs: Vec<Option<PathBuf>>,
    tx: SyncSender<Input>,
    recycle: Receiver<Vec<u8>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for input in inputs {
            let name = input
                .as_ref()
                .map_or("stdin".to_string(), |p| p.display().to_string());
            let file = match &input {
                // Standard input is mapped too when it is a regular file (`< file`).
                None => io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .ok()
                    .map(File::from),
                Some(p) => match File::open(p) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        let _ = tx.send(Input::Failed(format!("open {name}"), e));
                        return;
                    }
                },
            };
            let mut reader: Box<dyn Read> = match file.map(MappedInput::new) {
                Some(Ok(mut mapped)) => loop {
                    match mapped.next_window() {
                        Ok(Some(w)) => {
                            let len = w.len();
                            let buf = Bytes::Mapped(w);
                            if tx.send(Input::Chunk { buf, len }).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break Box::new(io::empty()),
                        // Mapping failed (memory, a file system that cannot): read the rest.
                        Err(_) => match mapped.into_file() {
                            Ok(f) => break Box::new(f),
                            Err(e) => {
                                let _ = tx.send(Input::Failed(format!("read {name}"), e));
                                return;
                            }
                        },
                    }
                },
                Some(Err(f)) if input.is_some() => Box::new(f),
                Some(Err(f)) => {
                    super::mapped::widen_pipe(&f);
                    Box::new(io::stdin().lock())
                }
                _ => Box::new(io::stdin().lock()),
            };
            loop {
                // Buffers keep their full length from one use to the next, so each is zeroed
                // once, when first allocated; a few are in flight at a time.
                let mut buf = recycle.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(len) => {
                        let buf = Bytes::Read(buf);
                        if tx.send(Input::Chunk { buf, len }).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Input::Failed(format!("read {name}"), e));
                        return;
                    }
                }
            }
            if tx.send(Input::End).is_err() {
                return;
            }
        }
    })
}

/// How input bytes become records.
enum Framing {
    Delimited(Splitter),
    Raw,
}

/// One record as split from the input, before partitioning.
struct Rec<'a> {
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: &'a [Header<'a>],
    partition: Option<u32>,
    timestamp: i64,
}

/// What the main thread hands to the writer thread.
enum Job {
    /// A batch to finish (header and CRC, compression) and append. Finished on the writer's
    /// side, a batch is compressed while the main thread encodes the next one.
    Append {
        partition: u32,
        batch: BatchBuilder,
        records: u64,
    },
    /// A record in a batch of its own, written from the buffer that holds it.
    AppendLarge { partition: u32, record: LargeRecord },
    /// Append nothing more: fsync every partition written to, then stop.
    Finish,
}

/// Records of more than this many bytes go in a batch of their own, written straight from
/// the buffer the input was assembled in ([`Log::append_parts`]): a record of any size is in
/// memory once. Such a batch is not compressed (readers decompress at most 64 MiB a batch).
const LARGE_RECORD: usize = 4 << 20;

/// A record of more than [`LARGE_RECORD`] bytes and the buffer that holds its value.
struct LargeRecord {
    buf: Vec<u8>,
    /// Where the value is in `buf`.
    value: std::ops::Range<usize>,
    key: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    timestamp: i64,
}

impl LargeRecord {
    fn value(&self) -> &[u8] {
        self.buf.get(self.value.clone()).unwrap_or_default()
    }

    fn headers(&self) -> Vec<Header<'_>> {
        self.headers
            .iter()
            .map(|(k, v)| Header {
                key: k,
                value: v.as_deref(),
            })
            .collect()
    }
}

/// Batches records per partition; a batch that is full, or complete because the input has
/// nothing more ready, goes to the writer thread.
struct Producer<'a> {
    topic: &'a Topic,
    /// Batches under construction, indexed by partition.
    builders: Vec<Option<BatchBuilder>>,
    pending: usize,
    spare: Vec<Vec<u8>>,
    /// Partition for records without a key; moves on after each batch (Kafka's sticky
    /// partitioner, round-robin).
    sticky: u32,
    batch_limit: usize,
    jobs: SyncSender<Job>,
    /// Buffers the writer is done with, for reuse.
    returned: Receiver<Vec<u8>>,
}

impl<'a> Producer<'a> {
    fn new(topic: &'a Topic, jobs: SyncSender<Job>, returned: Receiver<Vec<u8>>) -> Self {
        // Batches of up to 1 MiB, never above max.message.bytes nor segment.bytes.
        let c = &topic.config;
        let batch_limit = (c.max_message_bytes.min(c.segment_bytes) as usize)
            .clamp(RECORD_BATCH_OVERHEAD + 1, CHUNK);
        Producer {
            topic,
            builders: (0..topic.partitions).map(|_| None).collect(),
            pending: 0,
            spare: Vec::new(),
            sticky: 0,
            batch_limit,
            jobs,
            returned,
        }
    }

    /// The partition of a record: the one asked for, else by its key, else the sticky one.
    fn partition_of(&self, asked: Option<u32>, key: Option<&[u8]>) -> Result<u32, String> {
        let n = self.topic.partitions;
        Ok(match (asked, key) {
            (Some(p), _) if p >= n => {
                return Err(format!(
                    "partition {p} does not exist (topic '{}' has {n})",
                    self.topic.name
                ));
            }
            (Some(p), _) => p,
            (None, Some(k)) => partition_for_key(k, n),
            (None, None) => self.sticky,
        })
    }

    /// The message when a record of `single` bytes (as a batch of its own) is larger than
    /// the topic allows.
    fn too_large(&self, single: usize) -> Option<String> {
        let c = &self.topic.config;
        let (name, max) = [
            ("max.message.bytes", c.max_message_bytes),
            ("segment.bytes", c.segment_bytes),
        ]
        .into_iter()
        .find(|&(_, max)| single > max as usize)?;
        Some(format!(
            "a record of {} (as a batch) is larger than {name} ({max}) of topic '{}'; raise it \
             with `klog topics alter {} -c {name}=N`",
            plural(single as u64, "byte"),
            self.topic.name,
            self.topic.name
        ))
    }

    /// Adds a record of more than [`LARGE_RECORD`] bytes, in a batch of its own that the
    /// writer writes from `r.buf` (see [`Producer::add`] for the errors).
    fn add_large(
        &mut self,
        partition: Option<u32>,
        r: LargeRecord,
    ) -> Result<(), Result<String, anyhow::Error>> {
        let p = self.partition_of(partition, r.key.as_deref()).map_err(Ok)?;
        let single = BatchBuilder::new().size_with(
            r.timestamp,
            r.key.as_deref(),
            Some(r.value()),
            &r.headers(),
        );
        if let Some(msg) = self.too_large(single) {
            return Err(Ok(msg));
        }
        // What came before it in this partition goes first.
        self.append(p).map_err(Err)?;
        self.jobs
            .send(Job::AppendLarge {
                partition: p,
                record: r,
            })
            .map_err(|_| Err(anyhow::anyhow!("the writer stopped")))?;
        if p == self.sticky {
            self.sticky = (self.sticky + 1) % self.topic.partitions.max(1);
        }
        Ok(())
    }

    /// Adds a record; `Err(Ok(msg))` is a problem with this record alone (skippable),
    /// `Err(Err(e))` a failure to write.
    fn add(&mut self, r: &Rec<'_>) -> Result<(), Result<String, anyhow::Error>> {
        let p = self.partition_of(r.partition, r.key).map_err(Ok)?;
        let slot = p as usize;
        let current = self.builders.get(slot).and_then(Option::as_ref);
        // The exact size only matters near the limit.
        let bound = BatchBuilder::record_size_bound(r.key, r.value, r.headers);
        let near =
            current.map_or(RECORD_BATCH_OVERHEAD, BatchBuilder::len) + bound > self.batch_limit;
        if near
            && current.map_or_else(
                || BatchBuilder::new().size_with(r.timestamp, r.key, r.value, r.headers),
                |b| b.size_with(r.timestamp, r.key, r.value, r.headers),
            ) > self.batch_limit
        {
            let single = BatchBuilder::new().size_with(r.timestamp, r.key, r.value, r.headers);
            if let Some(msg) = self.too_large(single) {
                return Err(Ok(msg));
            }
            self.append(p).map_err(Err)?;
        }
        let (spare, returned) = (&mut self.spare, &self.returned);
        let b = self
            .builders
            .get_mut(slot)
            .context("partition batch")
            .map_err(Err)?
            .get_or_insert_with(|| {
                // A new batch: into a buffer the writer is done with, when there is one.
                spare.extend(returned.try_iter());
                BatchBuilder::from_vec(spare.pop().unwrap_or_default())
            });
        let before = b.len();
        b.append(r.timestamp, r.key, r.value, r.headers);
        let added = b.len() - before;
        self.added(added).map_err(Err)
    }

    /// Counts `bytes` just added to a batch; past [`MAX_PENDING`], every batch goes to the
    /// writer.
    #[inline]
    fn added(&mut self, bytes: usize) -> Result<()> {
        self.pending += bytes;
        if self.pending > MAX_PENDING {
            self.append_all()?;
        }
        Ok(())
    }

    /// [`Producer::add`] of a record that is only a value, to the sticky partition (a line
    /// with no key, headers nor partition asked for): while that partition's batch surely has
    /// room, straight into it, without the general path's checks.
    #[inline]
    fn add_value(
        &mut self,
        value: &[u8],
        timestamp: i64,
    ) -> Result<(), Result<String, anyhow::Error>> {
        let bound = BatchBuilder::record_size_bound(None, Some(value), &[]);
        match self.builders.get_mut(self.sticky as usize) {
            Some(Some(b)) if b.len() + bound <= self.batch_limit => {
                let before = b.len();
                b.append_value(timestamp, value);
                let added = b.len() - before;
                self.added(added).map_err(Err)
            }
            _ => self.add(&Rec {
                key: None,
                value: Some(value),
                headers: &[],
                partition: None,
                timestamp,
            }),
        }
    }

    /// Hands partition `p`'s batch to the writer.
    fn append(&mut self, p: u32) -> Result<()> {
        let Some(b) = self.builders.get_mut(p as usize).and_then(Option::take) else {
            return Ok(());
        };
        // A builder exists only once a record is in it.
        self.pending = self.pending.saturating_sub(b.len() - RECORD_BATCH_OVERHEAD);
        let records = b.count() as u64;
        let job = Job::Append {
            partition: p,
            batch: b,
            records,
        };
        // A closed channel: the writer stopped on an error, which the caller gets from
        // `Writer::run` and reports instead of this one.
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the writer stopped"))?;
        if p == self.sticky {
            self.sticky = (self.sticky + 1) % self.topic.partitions.max(1);
        }
        Ok(())
    }

    /// Hands every batch under construction to the writer.
    fn append_all(&mut self) -> Result<()> {
        for p in 0..self.topic.partitions {
            self.append(p)?;
        }
        Ok(())
    }

    /// Hands over what is pending and asks the writer to fsync and stop.
    fn finish(&mut self) -> Result<()> {
        self.append_all()?;
        self.jobs
            .send(Job::Finish)
            .map_err(|_| anyhow::anyhow!("the writer stopped"))?;
        Ok(())
    }
}

/// The writer thread's side: finishes batches (header, CRC, compression), appends them to
/// the partition logs, fsyncs when `flush.messages` or `--sync` say so and at the end, in
/// the background when `flush.ms` does. Writing on a thread of its own lets the main thread
/// encode the next batch while this one goes to the page cache and the disk.
struct Writer<'a> {
    ctx: &'a Ctx,
    topic: &'a Topic,
    /// Open logs, indexed by partition.
    logs: Vec<Option<Log>>,
    sync: bool,
    codec: Compression,
    /// The buffer compressed batches are written into, kept for the next one.
    compressed: Option<Vec<u8>>,
    records: u64,
    bytes: u64,
    /// What was appended to each partition, indexed by partition.
    appended: Vec<Option<Appended>>,
}

/// What one run appended to one partition (for `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Appended {
    partition: u32,
    records: u64,
    first_offset: i64,
    last_offset: i64,
}

impl<'a> Writer<'a> {
    fn new(ctx: &'a Ctx, topic: &'a Topic, sync: bool, codec: Compression) -> Self {
        Writer {
            ctx,
            topic,
            logs: (0..topic.partitions).map(|_| None).collect(),
            sync,
            codec,
            compressed: None,
            records: 0,
            bytes: 0,
            appended: vec![None; topic.partitions as usize],
        }
    }

    /// Takes jobs until `Job::Finish` (or until the producer is gone), fsyncing on time in
    /// between; stops at the first error. Buffers it is done with go back by `returned`.
    fn run(
        &mut self,
        jobs: Receiver<Job>,
        returned: std::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<()> {
        loop {
            let job = match self.flush_due_in() {
                Some(wait) => match jobs.recv_timeout(wait) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => {
                        self.maybe_flush()?;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return self.finish(),
                },
                None => match jobs.recv() {
                    Ok(job) => job,
                    Err(_) => return self.finish(),
                },
            };
            match job {
                Job::Append {
                    partition,
                    batch,
                    records,
                } => {
                    let mut batch = batch.finish();
                    if self.codec != Compression::None {
                        let mut compressed = self.compressed.take().unwrap_or_default();
                        compress_batch(&batch, self.codec, &mut compressed);
                        let _ = returned.send(std::mem::replace(&mut batch, compressed));
                    }
                    self.append(partition, &mut batch, records)?;
                    if self.codec == Compression::None {
                        let _ = returned.send(batch);
                    } else {
                        self.compressed = Some(batch);
                    }
                }
                Job::AppendLarge { partition, record } => {
                    let value = record.value();
                    let mut parts = BatchParts::new(
                        record.timestamp,
                        record.key.as_deref(),
                        value,
                        &record.headers(),
                    );
                    let len = parts.len(value);
                    self.append_with(partition, 1, len, |log| log.append_parts(&mut parts, value))?;
                }
                Job::Finish => return self.finish(),
            }
        }
    }

    fn log(&mut self, p: u32) -> Result<&mut Log> {
        let slot = self.logs.get_mut(p as usize).context("partition log")?;
        if slot.is_none() {
            *slot = Some(self.topic.open_log(p)?);
        }
        slot.as_mut().context("partition log")
    }

    fn append(&mut self, p: u32, batch: &mut [u8], records: u64) -> Result<()> {
        let len = batch.len();
        self.append_with(p, records, len, |log| log.append(batch))
    }

    /// Appends a batch of `records` records and `len` bytes to partition `p` through
    /// `append`, then fsyncs as `--sync` and `flush.*` say.
    fn append_with(
        &mut self,
        p: u32,
        records: u64,
        len: usize,
        append: impl FnOnce(&mut Log) -> klog::Result<klog::storage::AppendInfo>,
    ) -> Result<()> {
        let (ctx, sync, topic) = (self.ctx, self.sync, self.topic);
        let log = self.log(p)?;
        let appended = append(log);
        for t in log.take_truncations() {
            ctx.note(format_args!(
                "recovered {}: removed {} from byte {} ({})",
                t.path.display(),
                plural(t.removed_bytes, "byte"),
                t.position,
                std::error::Error::source(&t.reason)
                    .map_or(t.reason.to_string(), |e| e.to_string())
            ));
        }
        let info = appended.with_context(|| format!("append to {}-{p}", topic.name))?;
        if let Some(slot) = self.appended.get_mut(p as usize) {
            let a = slot.get_or_insert(Appended {
                partition: p,
                records: 0,
                first_offset: info.base_offset,
                last_offset: info.last_offset,
            });
            a.records += records;
            a.last_offset = info.last_offset;
        }
        let log = self.log(p)?;
        if sync {
            log.flush()
                .with_context(|| format!("fsync {}-{p}", topic.name))?;
        }
        self.records += records;
        self.bytes += len as u64;
        // Every partition, not only this one: under steady traffic to some partitions the
        // writer rarely idles, and the others' flushes are due (or done) all the same.
        if !sync {
            self.maybe_flush()?;
        }
        Ok(())
    }

    /// The partitions written to, with their logs.
    fn written_mut(&mut self) -> impl Iterator<Item = (u32, &mut Log)> {
        (0u32..)
            .zip(&mut self.logs)
            .filter_map(|(p, log)| Some((p, log.as_mut()?)))
    }

    /// Partitions written to, in order.
    fn written(&self) -> Vec<u32> {
        (0u32..)
            .zip(&self.logs)
            .filter_map(|(p, log)| log.as_ref().map(|_| p))
            .collect()
    }

    /// How long until some partition's `flush.ms` is due.
    fn flush_due_in(&self) -> Option<Duration> {
        self.logs
            .iter()
            .flatten()
            .filter_map(Log::flush_due_in)
            .min()
    }

    /// Starts the background flushes `flush.ms` makes due, and takes those done.
    fn maybe_flush(&mut self) -> Result<()> {
        let topic = self.topic;
        for (p, log) in self.written_mut() {
            log.maybe_flush_in_background()
                .with_context(|| format!("fsync {}-{p}", topic.name))?;
        }
        Ok(())
    }

    /// fsyncs every partition written to.
    fn finish(&mut self) -> Result<()> {
        let topic = self.topic;
        for (p, log) in self.written_mut() {
            log.flush()
                .with_context(|| format!("fsync {}-{p}", topic.name))?;
        }
        Ok(())
    }
}

/// Record-level settings from the command line.
struct Shape {
    json: bool,
    key_sep: Option<Vec<u8>>,
    fixed_key: Option<Vec<u8>>,
    null_marker: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    partition: Option<u32>,
    /// `--ignore-partition`: a JSON line's "partition" does not count.
    ignore_partition: bool,
}

impl Shape {
    fn nullable<'b>(&self, b: &'b [u8]) -> Option<&'b [u8]> {
        match &self.null_marker {
            Some(m) if m.as_slice() == b => None,
            _ => Some(b),
        }
    }
}

/// Hands a record read from a `--json` line to the producer.
fn add_json(
    producer: &mut Producer<'_>,
    shape: &Shape,
    extra: &[Header<'_>],
    rec: JsonRecord,
    ts: i64,
) -> Result<(), Result<String, anyhow::Error>> {
    let JsonRecord {
        key,
        value,
        mut headers,
        partition,
        timestamp,
    } = rec;
    let partition = shape
        .partition
        .or(partition.filter(|_| !shape.ignore_partition));
    let timestamp = timestamp.unwrap_or(ts);
    let value = match value {
        Some(value) if value.len() > LARGE_RECORD => {
            headers.extend(owned_headers(extra));
            let len = value.len();
            return producer.add_large(
                partition,
                LargeRecord {
                    buf: value,
                    value: 0..len,
                    key,
                    headers,
                    timestamp,
                },
            );
        }
        value => value,
    };
    let mut hs: Vec<Header<'_>> = headers
        .iter()
        .map(|(k, v)| Header {
            key: k,
            value: v.as_deref(),
        })
        .collect();
    hs.extend_from_slice(extra);
    producer.add(&Rec {
        key: key.as_deref(),
        value: value.as_deref(),
        headers: &hs,
        partition,
        timestamp,
    })
}

fn owned_headers(extra: &[Header<'_>]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    extra
        .iter()
        .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
        .collect()
}

/// [`produce_one`] of a record that comes in a buffer of its own (a `--raw` input, a record
/// that spanned input chunks): a value of more than [`LARGE_RECORD`] bytes goes to the writer
/// in that buffer, never copied.
fn produce_owned(
    producer: &mut Producer<'_>,
    shape: &Shape,
    extra: &[Header<'_>],
    buf: Vec<u8>,
    ts: i64,
) -> Result<(), Result<String, anyhow::Error>> {
    if buf.len() <= LARGE_RECORD {
        return produce_one(producer, shape, extra, &buf, ts);
    }
    if shape.json {
        let rec = parse_record(&buf).map_err(|e| Ok(e.to_string()))?;
        // The line goes before the record is appended: its value is in `rec` now.
        drop(buf);
        return add_json(producer, shape, extra, rec, ts);
    }
    let (key, value) = match &shape.key_sep {
        Some(sep) => match memchr::memmem::find(&buf, sep) {
            Some(i) => (Some(0..i), i + sep.len()..buf.len()),
            None => (None, 0..buf.len()),
        },
        None => (None, 0..buf.len()),
    };
    let (Some(v), Some(k)) = (
        buf.get(value.clone()),
        key.clone().map_or(Some(&[][..]), |k| buf.get(k)),
    ) else {
        return produce_one(producer, shape, extra, &buf, ts);
    };
    if v.len() <= LARGE_RECORD || shape.nullable(v).is_none() {
        // A large key and a small value, or a value that is the null marker.
        return produce_one(producer, shape, extra, &buf, ts);
    }
    let key = match key {
        Some(_) => shape.nullable(k).map(<[u8]>::to_vec),
        None => shape.fixed_key.clone(),
    };
    producer.add_large(
        shape.partition,
        LargeRecord {
            buf,
            value,
            key,
            headers: owned_headers(extra),
            timestamp: ts,
        },
    )
}

/// Turns one input record's bytes into a record and hands it to the producer.
fn produce_one(
    producer: &mut Producer<'_>,
    shape: &Shape,
    extra: &[Header<'_>],
    bytes: &[u8],
    ts: i64,
) -> Result<(), Result<String, anyhow::Error>> {
    if shape.json {
        let rec = parse_record(bytes).map_err(|e| Ok(e.to_string()))?;
        return add_json(producer, shape, extra, rec, ts);
    }
    let (key, value) = match &shape.key_sep {
        Some(sep) => match memchr::memmem::find(bytes, sep) {
            Some(i) => (
                shape.nullable(&bytes[..i]),
                shape.nullable(&bytes[i + sep.len()..]),
            ),
            None => (None, shape.nullable(bytes)),
        },
        None => (shape.fixed_key.as_deref(), shape.nullable(bytes)),
    };
    producer.add(&Rec {
        key,
        value,
        headers: extra,
        partition: shape.partition,
        timestamp: ts,
    })
}

pub fn run(ctx: &Ctx, a: ProduceArgs) -> Result<ExitCode> {
    // Everything about the arguments is checked before any file is touched.
    let esc = |s: &Option<String>, what| s.as_deref().map(|s| unescape(s, what)).transpose();
    let key_sep = esc(&a.key_separator, "--key-separator")?;
    if key_sep.as_ref().is_some_and(Vec::is_empty) {
        return Err(UsageError("--key-separator must not be empty".into()).into());
    }
    let null_marker = esc(&a.null_marker, "--null-marker")?;
    let delimiter = if a.raw {
        None
    } else if a.null_delimited {
        Some(vec![0])
    } else if let Some(d) = esc(&a.delimiter, "--delimiter")? {
        if d.is_empty() {
            return Err(UsageError("--delimiter must not be empty".into()).into());
        }
        Some(d)
    } else {
        Some(vec![b'\n'])
    };
    let mut headers = Vec::new();
    for h in &a.headers {
        let Some((k, v)) = h.split_once('=') else {
            return Err(UsageError(format!("header '{h}' is not NAME=VALUE")).into());
        };
        headers.push((k.as_bytes().to_vec(), unescape(v, "--header")?));
    }

    // Every input file must be there and readable before anything is created. (Each is
    // opened again when its turn comes: thousands of --raw files are not all kept open.)
    for f in a.files.iter().filter(|f| f.as_os_str() != "-") {
        let file = File::open(f).with_context(|| format!("open {}", f.display()))?;
        let meta = file
            .metadata()
            .with_context(|| format!("stat {}", f.display()))?;
        if meta.is_dir() {
            anyhow::bail!("{} is a directory, not an input file", f.display());
        }
    }

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

    let shape = Shape {
        json: a.json,
        key_sep,
        fixed_key: a.key.as_ref().map(|k| k.as_bytes().to_vec()),
        null_marker,
        headers,
        partition: a.partition,
        ignore_partition: a.ignore_partition,
    };
    // Each record is just the input's bytes as its value, in the sticky partition.
    let plain = !shape.json
        && shape.key_sep.is_none()
        && shape.fixed_key.is_none()
        && shape.null_marker.is_none()
        && shape.headers.is_empty()
        && shape.partition.is_none();
    // --header: the same headers on every record.
    let extra: Vec<Header<'_>> = shape
        .headers
        .iter()
        .map(|(k, v)| Header {
            key: k,
            value: Some(v),
        })
        .collect();
    let inputs: Vec<Option<PathBuf>> = if a.files.is_empty() {
        vec![None]
    } else {
        a.files
            .iter()
            .map(|f| (f.as_os_str() != "-").then(|| f.clone()))
            .collect()
    };
    if inputs.iter().any(Option::is_none) && io::stdin().is_terminal() {
        ctx.note("reading records from the terminal, one per line; Ctrl-D ends");
    }
    let names: Vec<String> = inputs
        .iter()
        .map(|i| {
            i.as_ref()
                .map_or("stdin".into(), |p| p.display().to_string())
        })
        .collect();
    // A progress bar when every input is a file (their total size is known).
    let total: Option<u64> = inputs
        .iter()
        .map(|i| {
            i.as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
        })
        .sum();
    let bar = match total {
        Some(t) => super::progress::bytes_bar(ctx, t, "producing", false),
        None => indicatif::ProgressBar::hidden(),
    };
    let (tx, rx) = sync_channel::<Input>(4);
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(4);
    spawn_reader(inputs, tx, recycle_rx);

    let codec = a
        .compression
        .map(Compression::from)
        .or(topic.config.compression_type)
        .unwrap_or(Compression::None);
    let (job_tx, job_rx) = sync_channel::<Job>(2);
    let (returned_tx, returned_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let topic = &topic;
    let sync = a.sync;
    std::thread::scope(|scope| -> Result<ExitCode> {
        let writer = scope.spawn(move || {
            let mut w = Writer::new(ctx, topic, sync, codec);
            let r = w.run(job_rx, returned_tx);
            let appended: Vec<Appended> = w.appended.iter().flatten().copied().collect();
            (r, w.records, w.bytes, w.written(), appended)
        });
        let mut producer = Producer::new(topic, job_tx, returned_rx);
        let max_raw = topic.config.max_message_bytes as usize;
        // Newline-separated input (lines and JSON) names lines; other framings name records.
        let unit = match &delimiter {
            Some(d) if d.as_slice() == b"\n" => "line",
            _ => "record",
        };
        // A delimited record is buffered up to max.message.bytes: a longer one is refused anyway.
        let mut framing = match delimiter {
            Some(d) => Framing::Delimited(Splitter::new(&d, max_raw).hand_over_from(LARGE_RECORD)),
            None => Framing::Raw,
        };
        // --raw: the current input so far.
        let mut carry: Vec<u8> = Vec::new();
        let mut input_idx = 0usize;
        let mut record_no = 0u64;
        // --raw: dropping the rest of an input already reported as too large.
        let mut discarding = false;
        let mut skipped = 0u64;
        let mut failure: Option<anyhow::Error> = None;

        // Reports a skippable problem with record `n`, or stops.
        let mut on_bad = |n: u64, input: &str, msg: String| -> Result<()> {
            let what = format!("{input}: {unit} {n}: {msg}");
            if a.skip_invalid {
                skipped += 1;
                eprintln!("klog: skipped {what}");
                Ok(())
            } else {
                Err(anyhow::anyhow!(what))
            }
        };

        'input: loop {
            let msg = match rx.try_recv() {
                Ok(m) => m,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    // Nothing more is ready: hand the batches to the writer now, then wait (the
                    // writer fsyncs when flush.ms says so).
                    if let Err(e) = producer.append_all() {
                        failure = Some(e);
                        break;
                    }
                    loop {
                        match rx.recv_timeout(Duration::from_secs(1)) {
                            Ok(m) => break m,
                            // The writer stopped on an error (it is reported below).
                            Err(RecvTimeoutError::Timeout) if writer.is_finished() => break 'input,
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => break 'input,
                        }
                    }
                }
            };
            if let Input::Chunk { len, .. } = &msg {
                bar.inc(*len as u64);
            }
            let input_name = names.get(input_idx).map_or("input", String::as_str);
            let ts = now_ms();
            let step: Result<()> = match (msg, &mut framing) {
                (Input::Failed(what, e), _) => Err(anyhow::Error::new(e).context(what)),
                (Input::Chunk { buf, len }, Framing::Raw) => {
                    let chunk = buf.get(..len).unwrap_or_default();
                    let res = if discarding {
                        Ok(())
                    } else if carry.len() + chunk.len() > max_raw {
                        // Too large: report it (or stop), and ignore the rest of this input.
                        discarding = true;
                        carry.clear();
                        on_bad(
                            1,
                            input_name,
                            format!(
                                "a --raw record of more than {} is larger than \
                             max.message.bytes of topic '{}'",
                                plural(max_raw as u64, "byte"),
                                topic.name
                            ),
                        )
                    } else {
                        carry.extend_from_slice(chunk);
                        Ok(())
                    };
                    buf.recycle(&recycle_tx);
                    res
                }
                (Input::End, Framing::Raw) => {
                    input_idx += 1;
                    let r = if std::mem::take(&mut discarding) {
                        Ok(())
                    } else if carry.len() > LARGE_RECORD {
                        let buf = std::mem::take(&mut carry);
                        produce_owned(&mut producer, &shape, &extra, buf, ts)
                    } else {
                        produce_one(&mut producer, &shape, &extra, &carry, ts)
                    };
                    carry.clear();
                    match r {
                        Ok(()) => Ok(()),
                        Err(Ok(msg)) => on_bad(1, input_name, msg),
                        Err(Err(e)) => Err(e),
                    }
                }
                (Input::Chunk { buf, len }, Framing::Delimited(splitter)) => {
                    let res = splitter.push(buf.get(..len).unwrap_or_default(), |piece| {
                        record_no += 1;
                        match piece {
                            Piece::Record(bytes) => {
                                let added = if plain {
                                    producer.add_value(bytes, ts)
                                } else {
                                    produce_one(&mut producer, &shape, &extra, bytes, ts)
                                };
                                match added {
                                    Ok(()) => Ok(()),
                                    Err(Ok(msg)) => on_bad(record_no, input_name, msg),
                                    Err(Err(e)) => Err(e),
                                }
                            }
                            Piece::Owned(buf) => {
                                match produce_owned(&mut producer, &shape, &extra, buf, ts) {
                                    Ok(()) => Ok(()),
                                    Err(Ok(msg)) => on_bad(record_no, input_name, msg),
                                    Err(Err(e)) => Err(e),
                                }
                            }
                            // No delimiter within max.message.bytes: report it (or stop); the
                            // splitter drops bytes until the next delimiter.
                            Piece::TooLong => on_bad(
                                record_no,
                                input_name,
                                format!(
                                    "more than {} without a delimiter: larger than \
                                 max.message.bytes of topic '{}'",
                                    plural(max_raw as u64, "byte"),
                                    topic.name
                                ),
                            ),
                        }
                    });
                    buf.recycle(&recycle_tx);
                    res
                }
                (Input::End, Framing::Delimited(splitter)) => {
                    input_idx += 1;
                    let last = record_no + 1;
                    // Numbers count from the start of each input.
                    record_no = 0;
                    splitter.finish(|piece| {
                        let added = match piece {
                            Piece::Record(bytes) => {
                                produce_one(&mut producer, &shape, &extra, bytes, ts)
                            }
                            Piece::Owned(buf) => {
                                produce_owned(&mut producer, &shape, &extra, buf, ts)
                            }
                            Piece::TooLong => Ok(()),
                        };
                        match added {
                            Ok(()) => Ok(()),
                            Err(Ok(msg)) => on_bad(last, input_name, msg),
                            Err(Err(e)) => Err(e),
                        }
                    })
                }
            };
            if let Err(e) = step {
                failure = Some(e);
                break;
            }
        }
        drop(rx);
        bar.finish_and_clear();
        // Whatever happened, records accepted before it are written and fsynced.
        let handed_over = producer.finish();
        drop(producer);
        let (written_ok, records, bytes, written, appended) = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
        // The writer's own error first: the producer only sees that it stopped.
        written_ok.and(handed_over)?;
        // Kafka's checkpoint files, so that the directory looks like one a broker left (also
        // when a bad record stopped the input: what came before it is written).
        ctx.sync_checkpoints(topic, &written);
        if let Some(e) = failure {
            return Err(e);
        }
        if a.verbose {
            eprintln!(
                "klog: wrote {} ({}) to {} of '{}'",
                plural(records, "record"),
                plural(bytes, "byte"),
                plural(appended.len() as u64, "partition"),
                topic.name
            );
            for a in &appended {
                eprintln!(
                    "klog:   partition {}: {}, first offset {}, last offset {}",
                    a.partition,
                    plural(a.records, "record"),
                    a.first_offset,
                    a.last_offset
                );
            }
        }
        if skipped > 0 {
            ctx.note(format_args!(
                "skipped {}",
                plural(skipped, "invalid record")
            ));
        }
        Ok(ExitCode::Success)
    })
}
