//! `produce`'s input side: the reader thread that moves input in chunks of up to 1 MiB
//! through a small bounded channel (so memory stays bounded whatever the input size; files
//! are mapped where they can be, see [`super::super::mapped`]), and the main thread's loop
//! that feeds the chunks to the library's [`RecordReader`].

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::time::Duration;

use anyhow::Result;

use super::super::mapped::{MappedInput, Window};
use super::super::timespec::now_ms;
use klog::produce::{Invalid, Producer, RecordReader, Rejected};

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

/// The reader thread: each input in turn, mapped where it can be, else read, in chunks of up
/// to [`CHUNK`], each input's end marked; it stops at the first failure (sent) or when the
/// main thread is gone.
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
            let Some(mut reader) = open_input(input.as_ref(), &name, &tx) else {
                return;
            };
            if !send_read(&mut *reader, &name, &tx, &recycle) || tx.send(Input::End).is_err() {
                return;
            }
        }
    })
}

/// Opens an input (`None`: standard input) and sends the windows of its mapped part; returns
/// what is left to read (nothing for a file mapped to its end), or `None` to stop.
fn open_input(
    input: Option<&PathBuf>,
    name: &str,
    tx: &SyncSender<Input>,
) -> Option<Box<dyn Read>> {
    let file = match input {
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
                return None;
            }
        },
    };
    Some(match file.map(MappedInput::new) {
        Some(Ok(mut mapped)) => loop {
            match mapped.next_window() {
                Ok(Some(w)) => {
                    let len = w.len();
                    let buf = Bytes::Mapped(w);
                    if tx.send(Input::Chunk { buf, len }).is_err() {
                        return None;
                    }
                }
                Ok(None) => break Box::new(io::empty()),
                // Mapping failed (memory, a file system that cannot): read the rest.
                Err(_) => match mapped.into_file() {
                    Ok(f) => break Box::new(f),
                    Err(e) => {
                        let _ = tx.send(Input::Failed(format!("read {name}"), e));
                        return None;
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
    })
}

/// Sends what is left of an input in chunks read into buffers the main thread gives back;
/// false when the run stops (a read failed, sent, or the main thread is gone).
fn send_read(
    reader: &mut dyn Read,
    name: &str,
    tx: &SyncSender<Input>,
    recycle: &Receiver<Vec<u8>>,
) -> bool {
    loop {
        // Buffers keep their full length from one use to the next, so each is zeroed once,
        // when first allocated; a few are in flight at a time.
        let mut buf = recycle.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
        match reader.read(&mut buf) {
            Ok(0) => return true,
            Ok(len) => {
                let buf = Bytes::Read(buf);
                if tx.send(Input::Chunk { buf, len }).is_err() {
                    return false;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = tx.send(Input::Failed(format!("read {name}"), e));
                return false;
            }
        }
    }
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
