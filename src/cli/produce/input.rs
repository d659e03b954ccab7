//! `produce`'s input side: the arguments that shape records, the reader thread that moves
//! input in chunks of up to 1 MiB through a small bounded channel (so memory stays bounded
//! whatever the input size; files are mapped where they can be, see [`super::super::mapped`]),
//! and the main thread's loop that feeds the chunks to the library's [`RecordReader`].

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::time::Duration;

use anyhow::{Context, Result};

use super::super::escape::unescape;
use super::super::mapped::{MappedInput, Window};
use super::super::timespec::now_ms;
use super::super::{Ctx, UsageError, plural};
use super::ProduceArgs;
use klog::produce::{
    Framing, Invalid, InvalidReason, Producer, RecordReader, RecordShape, Rejected,
};
use klog::topic::Topic;

/// The record shape and framing the arguments ask for; everything about the arguments is
/// checked before any file is touched.
pub fn shape_of(a: &ProduceArgs) -> Result<(RecordShape, Framing)> {
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

    let framing = match delimiter {
        Some(d) => Framing::Delimited(d),
        None => Framing::Raw,
    };
    let shape = RecordShape {
        json: a.json,
        key_separator: key_sep,
        key: a.key.as_ref().map(|k| k.as_bytes().to_vec()),
        null_marker,
        headers,
        partition: a.partition,
        ignore_partition: a.ignore_partition,
    };
    Ok((shape, framing))
}

/// Every input file must be there and readable before anything is created. (Each is opened
/// again when its turn comes: thousands of --raw files are not all kept open.)
pub fn check_files(files: &[PathBuf]) -> Result<()> {
    for f in files.iter().filter(|f| f.as_os_str() != "-") {
        let file = File::open(f).with_context(|| format!("open {}", f.display()))?;
        let meta = file
            .metadata()
            .with_context(|| format!("stat {}", f.display()))?;
        if meta.is_dir() {
            anyhow::bail!("{} is a directory, not an input file", f.display());
        }
    }
    Ok(())
}

/// The inputs in order (`None`: standard input) and their names in messages.
pub fn inputs_of(files: &[PathBuf]) -> (Vec<Option<PathBuf>>, Vec<String>) {
    let inputs: Vec<Option<PathBuf>> = if files.is_empty() {
        vec![None]
    } else {
        files
            .iter()
            .map(|f| (f.as_os_str() != "-").then(|| f.clone()))
            .collect()
    };
    let names = inputs
        .iter()
        .map(|i| {
            i.as_ref()
                .map_or("stdin".into(), |p| p.display().to_string())
        })
        .collect();
    (inputs, names)
}

/// A progress bar when every input is a file (their total size is known), else a hidden one.
pub fn progress_bar(ctx: &Ctx, inputs: &[Option<PathBuf>]) -> indicatif::ProgressBar {
    let total: Option<u64> = inputs
        .iter()
        .map(|i| {
            i.as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
        })
        .sum();
    match total {
        Some(t) => super::super::progress::bytes_bar(ctx, t, "producing", false),
        None => indicatif::ProgressBar::hidden(),
    }
}

/// Bytes read into each buffer the reader thread hands over.
pub const CHUNK: usize = 1 << 20;

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
    pub fn get(&self, range: std::ops::RangeTo<usize>) -> Option<&[u8]> {
        match self {
            Bytes::Read(b) => b.get(range),
            Bytes::Mapped(w) => w.get(range),
        }
    }

    /// Gives a read buffer back to the reader (a window is unmapped when dropped).
    pub fn recycle(self, to: &SyncSender<Vec<u8>>) {
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
                    super::super::mapped::widen_pipe(&f);
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

/// The input's chunks as the reader thread sends them, with what the main thread needs to
/// feed them on.
pub struct Chunks<'a> {
    rx: Receiver<Input>,
    recycle: SyncSender<Vec<u8>>,
    names: &'a [String],
    bar: &'a indicatif::ProgressBar,
}

impl<'a> Chunks<'a> {
    /// Starts the reader thread over `inputs`, named `names` in messages.
    pub fn start(
        inputs: Vec<Option<PathBuf>>,
        names: &'a [String],
        bar: &'a indicatif::ProgressBar,
    ) -> Chunks<'a> {
        let (tx, rx) = sync_channel::<Input>(4);
        let (recycle, recycle_rx) = sync_channel::<Vec<u8>>(4);
        spawn_reader(inputs, tx, recycle_rx);
        Chunks {
            rx,
            recycle,
            names,
            bar,
        }
    }

    /// Feeds every chunk to `reader` until the input ends, the writer stops, or a record
    /// stops the run (the error).
    pub fn feed(
        &self,
        reader: &mut RecordReader,
        producer: &mut Producer,
        on_invalid: &mut impl FnMut(Invalid<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut input_idx = 0usize;
        loop {
            let msg = match self.rx.try_recv() {
                Ok(m) => m,
                Err(TryRecvError::Disconnected) => return Ok(()),
                Err(TryRecvError::Empty) => {
                    // Nothing more is ready: hand the batches to the writer now, then wait
                    // (the writer fsyncs when flush.ms says so).
                    producer.hand_over().map_err(failed)?;
                    match self.wait(producer) {
                        Some(m) => m,
                        None => return Ok(()),
                    }
                }
            };
            if let Input::Chunk { len, .. } = &msg {
                self.bar.inc(*len as u64);
            }
            let name = self.names.get(input_idx).map_or("input", String::as_str);
            let ts = now_ms();
            match msg {
                Input::Failed(what, e) => return Err(anyhow::Error::new(e).context(what)),
                Input::Chunk { buf, len } => {
                    let chunk = buf.get(..len).unwrap_or_default();
                    let fed = reader.push(chunk, name, ts, producer, &mut *on_invalid);
                    buf.recycle(&self.recycle);
                    fed?;
                }
                Input::End => {
                    input_idx += 1;
                    reader.end_input(name, ts, producer, &mut *on_invalid)?;
                }
            }
        }
    }

    /// The next message once one comes; `None` when the input ended or the writer stopped on
    /// an error (reported by `close`).
    fn wait(&self, producer: &Producer) -> Option<Input> {
        loop {
            match self.rx.recv_timeout(Duration::from_secs(1)) {
                Ok(m) => return Some(m),
                Err(RecvTimeoutError::Timeout) if producer.is_stopped() => return None,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

/// A producer that cannot go on.
fn failed(r: Rejected) -> anyhow::Error {
    match r {
        Rejected::Failed(e) => e.into(),
        other => anyhow::Error::new(other),
    }
}

/// What is wrong with a record that did not go in, for `klog: skipped …` or the error.
pub fn invalid_message(topic: &Topic, reason: &InvalidReason) -> String {
    let name = &topic.name;
    match reason {
        InvalidReason::Rejected(Rejected::TooLarge { size, config, max }) => format!(
            "a record of {} (as a batch) is larger than {config} ({max}) of topic '{name}'; \
             raise it with `klog topics alter {name} -c {config}=N`",
            plural(*size as u64, "byte"),
        ),
        InvalidReason::Rejected(Rejected::UnknownPartition {
            partition,
            partitions,
        }) => format!("partition {partition} does not exist (topic '{name}' has {partitions})"),
        InvalidReason::Rejected(other) => other.to_string(),
        InvalidReason::Json(e) => e.to_string(),
        InvalidReason::NoDelimiter { max } => format!(
            "more than {} without a delimiter: larger than max.message.bytes of topic '{name}'",
            plural(*max as u64, "byte"),
        ),
        InvalidReason::RawTooLarge { max } => format!(
            "a --raw record of more than {} is larger than max.message.bytes of topic '{name}'",
            plural(*max as u64, "byte"),
        ),
    }
}
