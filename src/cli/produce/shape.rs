//! `produce`'s arguments and messages: the record shape and framing the arguments ask for,
//! the input files (checked before anything is created), the progress bar, and the text of
//! a record that did not go in.

use std::fs::File;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::super::escape::unescape;
use super::super::{Ctx, UsageError, plural};
use super::ProduceArgs;
use klog::produce::{Framing, InvalidReason, RecordShape, Rejected};
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
