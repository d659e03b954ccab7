//! Waiting for a log to grow without polling: file-system notifications (inotify on Linux,
//! through the `notify` crate) on partition directories.
//!
//! The watcher only says "something changed in one of these directories"; readers then look
//! for new batches themselves. Events are coalesced by the caller draining the channel (as
//! [`crate::consume::Consumer::wait`] does).
//!
//! A follower also learns of new partitions this way: the watcher can watch the data directory
//! itself for the entries a caller names (the topic's metadata, its partition directories),
//! raising a flag besides waking the reader, and take more partition directories as they
//! appear. Changes to other entries of the data directory (other topics, checkpoint files)
//! wake nobody.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;

use notify::{RecursiveMode, Watcher as _};

use crate::error::{Error, Result};

/// Which entries of a parent directory (the data directory) matter, and the flag their changes
/// raise.
pub struct ParentWatch {
    pub dir: PathBuf,
    /// Whether a change to the entry of this name matters.
    pub relevant: Box<dyn Fn(&OsStr) -> bool + Send + Sync>,
    /// Set on every change to a relevant entry (the caller clears it when it looks).
    pub changed: Arc<AtomicBool>,
}

/// Watches partition directories and sends `()` on every change in them.
pub struct LogWatcher {
    inner: notify::RecommendedWatcher,
}

fn watch_error(path: &Path, e: notify::Error) -> Error {
    Error::Io {
        op: "watch",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

impl LogWatcher {
    /// Starts watching `dirs`; every modification, creation or removal inside them sends
    /// `()` on `wake`.
    pub fn new(dirs: &[PathBuf], wake: Sender<()>) -> Result<LogWatcher> {
        LogWatcher::with_parent(dirs, wake, None)
    }

    /// As [`LogWatcher::new`], and also watches `parent.dir` (not recursively): a change to
    /// an entry there that `parent.relevant` accepts raises `parent.changed`, then sends `()`.
    pub fn with_parent(
        dirs: &[PathBuf],
        wake: Sender<()>,
        parent: Option<ParentWatch>,
    ) -> Result<LogWatcher> {
        let parent_dir = parent.as_ref().map(|p| p.dir.clone());
        let mut inner = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            if ev.kind.is_access() {
                return;
            }
            if let Some(p) = &parent {
                let (in_parent, other): (Vec<&PathBuf>, Vec<&PathBuf>) = ev
                    .paths
                    .iter()
                    .partition(|path| path.parent() == Some(p.dir.as_path()));
                let relevant = in_parent
                    .iter()
                    .any(|path| path.file_name().is_some_and(|n| (p.relevant)(n)));
                if relevant {
                    p.changed.store(true, Ordering::SeqCst);
                } else if other.is_empty() && !ev.paths.is_empty() {
                    return;
                }
            }
            let _ = wake.send(());
        })
        .map_err(|e| watch_error(dirs.first().map_or(Path::new(""), |d| d), e))?;
        for d in dirs.iter().chain(&parent_dir) {
            inner
                .watch(d, RecursiveMode::NonRecursive)
                .map_err(|e| watch_error(d, e))?;
        }
        Ok(LogWatcher { inner })
    }

    /// Watches one more directory (a partition that appeared meanwhile).
    pub fn watch(&mut self, dir: &Path) -> Result<()> {
        self.inner
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| watch_error(dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn the_parent_wakes_only_for_relevant_entries_and_new_dirs_can_be_added() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let p0 = root.join("t-0");
        std::fs::create_dir(&p0).unwrap();
        let (tx, rx) = mpsc::channel();
        let changed = Arc::new(AtomicBool::new(false));
        let mut w = LogWatcher::with_parent(
            std::slice::from_ref(&p0),
            tx,
            Some(ParentWatch {
                dir: root.clone(),
                relevant: Box::new(|n| n == "meta.json" || n == "t-1"),
                changed: changed.clone(),
            }),
        )
        .unwrap();
        let wait = Duration::from_secs(10);
        std::fs::write(root.join("other-checkpoint"), b"x").unwrap();
        std::fs::write(p0.join("0.log"), b"x").unwrap();
        rx.recv_timeout(wait).expect("a change in t-0 wakes");
        assert!(
            !changed.load(Ordering::SeqCst),
            "an irrelevant entry raised the flag"
        );
        let p1 = root.join("t-1");
        std::fs::create_dir(&p1).unwrap();
        loop {
            rx.recv_timeout(wait)
                .expect("a new partition directory wakes");
            if changed.swap(false, Ordering::SeqCst) {
                break;
            }
        }
        w.watch(&p1).unwrap();
        while rx.try_recv().is_ok() {}
        std::fs::write(p1.join("0.log"), b"x").unwrap();
        rx.recv_timeout(wait)
            .expect("a change in the added t-1 wakes");
    }
}
