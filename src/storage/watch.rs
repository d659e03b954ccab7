//! Waiting for a log to grow without polling: file-system notifications (inotify on Linux,
//! through the `notify` crate) on partition directories.
//!
//! The watcher only says "something changed in one of these directories"; readers then look
//! for new batches themselves. Events are coalesced by the caller draining the channel.

use std::path::PathBuf;
use std::sync::mpsc::Sender;

use notify::{RecursiveMode, Watcher as _};

use crate::error::{Error, Result};

/// Watches partition directories and sends `()` on every change in them.
pub struct LogWatcher {
    _inner: notify::RecommendedWatcher,
}

impl LogWatcher {
    /// Starts watching `dirs`; every modification, creation or removal inside them sends
    /// `()` on `wake`.
    pub fn new(dirs: &[PathBuf], wake: Sender<()>) -> Result<LogWatcher> {
        let mut inner = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res
                && !ev.kind.is_access()
            {
                let _ = wake.send(());
            }
        })
        .map_err(|e| Error::Io {
            op: "watch",
            path: dirs.first().cloned().unwrap_or_default(),
            source: std::io::Error::other(e),
        })?;
        for d in dirs {
            inner
                .watch(d, RecursiveMode::NonRecursive)
                .map_err(|e| Error::Io {
                    op: "watch",
                    path: d.clone(),
                    source: std::io::Error::other(e),
                })?;
        }
        Ok(LogWatcher { _inner: inner })
    }
}
