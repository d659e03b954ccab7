//! `klog produce TOPIC [FILE…]`: one record per input line, batched, appended to the topic.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;

use super::{Ctx, ExitCode, UsageError};
use klog::format::{BatchBuilder, RECORD_BATCH_OVERHEAD, partition_for_key};
use klog::storage::Log;
use klog::topic::Topic;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  seq 1 1000 | klog produce numbers
  tail -f app.log | klog produce app
  klog produce orders -K : orders.txt          # lines 'key:value'
  klog produce audit -p 0 --sync < events.txt")]
pub struct ProduceArgs {
    /// Topic to append to (created with default configs if missing, unless --no-create)
    pub topic: String,
    /// Input files; standard input when none is given or for '-'
    pub files: Vec<PathBuf>,
    /// Write every record to this partition instead of choosing by key
    #[arg(short, long)]
    pub partition: Option<u32>,
    /// Use this key for every record
    #[arg(short, long, conflicts_with = "key_separator")]
    pub key: Option<String>,
    /// Split each line at the first SEP into key and value
    #[arg(short = 'K', long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// Fail instead of creating a missing topic
    #[arg(long)]
    pub no_create: bool,
    /// Partitions of a topic created by this command
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub partitions: u32,
    /// fsync every batch before reading more input
    #[arg(long)]
    pub sync: bool,
    /// Print a summary of what was written on stderr
    #[arg(short, long)]
    pub verbose: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Batches records per partition and appends them.
struct Producer<'a> {
    topic: &'a Topic,
    logs: HashMap<u32, Log>,
    builders: HashMap<u32, BatchBuilder>,
    spare: Vec<Vec<u8>>,
    /// Partition for records without a key; moves on after each batch (Kafka's sticky
    /// partitioner, round-robin).
    sticky: u32,
    batch_limit: usize,
    sync: bool,
    records: u64,
    bytes: u64,
    ctx: &'a Ctx,
}

impl<'a> Producer<'a> {
    fn new(ctx: &'a Ctx, topic: &'a Topic, sync: bool) -> Self {
        // Batches of up to 1 MiB, never above max.message.bytes nor segment.bytes.
        let c = &topic.config;
        let batch_limit = (c.max_message_bytes.min(c.segment_bytes) as usize)
            .clamp(RECORD_BATCH_OVERHEAD + 1, 1 << 20);
        Producer {
            topic,
            logs: HashMap::new(),
            builders: HashMap::new(),
            spare: Vec::new(),
            sticky: 0,
            batch_limit,
            sync,
            records: 0,
            bytes: 0,
            ctx,
        }
    }

    fn add(
        &mut self,
        partition: Option<u32>,
        key: Option<&[u8]>,
        value: &[u8],
        ts: i64,
        line: u64,
    ) -> Result<()> {
        let p = match (partition, key) {
            (Some(p), _) => p,
            (None, Some(k)) => partition_for_key(k, self.topic.partitions),
            (None, None) => self.sticky,
        };
        let size = {
            let b = self
                .builders
                .entry(p)
                .or_insert_with(|| BatchBuilder::from_vec(self.spare.pop().unwrap_or_default()));
            b.size_with(ts, key, Some(value), &[])
        };
        if size > self.batch_limit {
            let single = BatchBuilder::new().size_with(ts, key, Some(value), &[]);
            let c = &self.topic.config;
            let limit = [
                ("max.message.bytes", c.max_message_bytes),
                ("segment.bytes", c.segment_bytes),
            ]
            .into_iter()
            .find(|&(_, max)| single > max as usize);
            if let Some((name, max)) = limit {
                self.flush_all()?;
                return Err(anyhow::Error::new(super::Hint(format!(
                    "raise it with `klog topics alter {} -c {name}=N`",
                    self.topic.name
                )))
                .context(format!(
                    "line {line}: a record of {single} bytes (as a batch) is larger than {name} ({max}) of topic '{}'",
                    self.topic.name
                )));
            }
            self.append(p)?;
        }
        let b = self
            .builders
            .entry(p)
            .or_insert_with(|| BatchBuilder::from_vec(self.spare.pop().unwrap_or_default()));
        b.append(ts, key, Some(value), &[]);
        Ok(())
    }

    fn log(&mut self, p: u32) -> Result<&mut Log> {
        if !self.logs.contains_key(&p) {
            let log = self.topic.open_log(p)?;
            self.logs.insert(p, log);
        }
        self.logs.get_mut(&p).context("partition log")
    }

    fn append(&mut self, p: u32) -> Result<()> {
        let Some(b) = self.builders.remove(&p) else {
            return Ok(());
        };
        if b.is_empty() {
            self.spare.push(b.finish());
            return Ok(());
        }
        let count = b.count() as u64;
        let mut bytes = b.finish();
        let sync = self.sync;
        let name = self.topic.name.clone();
        let log = self.log(p)?;
        log.append(&mut bytes)
            .with_context(|| format!("append to {name}-{p}"))?;
        for t in log.take_truncations() {
            self.ctx.note(format_args!(
                "recovered {}: removed {} bytes from byte {} ({})",
                t.path.display(),
                t.removed_bytes,
                t.position,
                t.reason
            ));
        }
        let log = self.log(p)?;
        if sync {
            log.flush()?;
        } else {
            log.maybe_flush()?;
        }
        self.records += count;
        self.bytes += bytes.len() as u64;
        self.spare.push(bytes);
        if p == self.sticky {
            self.sticky = (self.sticky + 1) % self.topic.partitions.max(1);
        }
        Ok(())
    }

    fn flush_all(&mut self) -> Result<()> {
        let mut ps: Vec<u32> = self.builders.keys().copied().collect();
        ps.sort_unstable();
        for p in ps {
            self.append(p)?;
        }
        Ok(())
    }

    /// Appends what is pending and fsyncs every partition written to.
    fn finish(mut self) -> Result<(u64, u64, usize)> {
        self.flush_all()?;
        for (p, log) in &mut self.logs {
            log.flush()
                .with_context(|| format!("flush {}-{p}", self.topic.name))?;
        }
        Ok((self.records, self.bytes, self.logs.len()))
    }
}

pub fn run(ctx: &Ctx, a: ProduceArgs) -> Result<ExitCode> {
    let topics = ctx.topics();
    let topic = match topics.open(&a.topic) {
        Ok(t) => t,
        Err(klog::Error::TopicNotFound(_)) if !a.no_create => {
            // Check what would fail after creating the topic before creating it.
            if let Some(p) = a.partition
                && p >= a.partitions
            {
                return Err(klog::Error::PartitionNotFound {
                    topic: a.topic.clone(),
                    partition: p,
                    partitions: a.partitions,
                }
                .into());
            }
            let (t, created) = topics.open_or_create(&a.topic, a.partitions)?;
            if created {
                ctx.note(format_args!(
                    "created topic '{}' with {} partition{} (default configs)",
                    t.name,
                    t.partitions,
                    if t.partitions == 1 { "" } else { "s" }
                ));
            }
            t
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(p) = a.partition
        && p >= topic.partitions
    {
        return Err(klog::Error::PartitionNotFound {
            topic: topic.name.clone(),
            partition: p,
            partitions: topic.partitions,
        }
        .into());
    }
    let key_sep = a.key_separator.as_deref().map(str::as_bytes);
    if key_sep.is_some_and(<[u8]>::is_empty) {
        return Err(UsageError("--key-separator must not be empty".into()).into());
    }
    let fixed_key = a.key.as_deref().map(str::as_bytes);
    let mut producer = Producer::new(ctx, &topic, a.sync);
    let inputs: Vec<Option<PathBuf>> = if a.files.is_empty() {
        vec![None]
    } else {
        a.files
            .iter()
            .map(|f| (f.as_os_str() != "-").then(|| f.clone()))
            .collect()
    };
    let mut line_no = 0u64;
    for input in inputs {
        let reader: Box<dyn Read> = match &input {
            None => Box::new(std::io::stdin().lock()),
            Some(path) => {
                Box::new(File::open(path).with_context(|| format!("open {}", path.display()))?)
            }
        };
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let buf = match reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    producer.flush_all()?;
                    return Err(e).context("read input");
                }
            };
            if buf.is_empty() {
                break;
            }
            let ts = now_ms();
            let len = buf.len();
            let mut rest: &[u8] = buf;
            while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
                line_no += 1;
                let line: &[u8] = if carry.is_empty() {
                    &rest[..nl]
                } else {
                    carry.extend_from_slice(&rest[..nl]);
                    &carry
                };
                let (key, value) = split(line, key_sep, fixed_key);
                producer.add(a.partition, key, value, ts, line_no)?;
                carry.clear();
                rest = &rest[nl + 1..];
            }
            carry.extend_from_slice(rest);
            reader.consume(len);
            // The input has nothing more buffered: append now rather than wait, so that a
            // trickle of lines reaches readers promptly.
            producer.flush_all()?;
        }
        if !carry.is_empty() {
            line_no += 1;
            let (key, value) = split(&carry, key_sep, fixed_key);
            producer.add(a.partition, key, value, now_ms(), line_no)?;
        }
    }
    let (records, bytes, partitions) = producer.finish()?;
    if a.verbose {
        eprintln!(
            "klog: wrote {records} records ({bytes} bytes) to {partitions} partition{} of '{}'",
            if partitions == 1 { "" } else { "s" },
            topic.name
        );
    }
    Ok(ExitCode::Success)
}

fn split<'a>(
    line: &'a [u8],
    sep: Option<&[u8]>,
    fixed_key: Option<&'a [u8]>,
) -> (Option<&'a [u8]>, &'a [u8]) {
    if let Some(sep) = sep
        && let Some(i) = line.windows(sep.len()).position(|w| w == sep)
    {
        return (Some(&line[..i]), &line[i + sep.len()..]);
    }
    (fixed_key, line)
}
