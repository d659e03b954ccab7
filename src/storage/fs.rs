//! File-system helpers with the crash-safety rules the rest of storage relies on.
//!
//! # Crash safety
//! [`atomic_write`] writes a temp file unique to the writer (`.<name>.<pid>.<n>.tmp`), fsyncs
//! it, renames it over `<name>` and fsyncs the directory: after a crash the file holds either
//! the old or the new content, never a mix, and concurrent writers never share a temp file.
//! [`lock_dir`] takes an exclusive `flock` on a directory; the OS releases it when the process
//! dies, kill -9 included, so a crashed writer never leaves a partition locked.

use std::fs::{File, OpenOptions};
use std::path::Path;

use super::failpoint as fp;
use crate::error::{Error, Result};

/// fsyncs a directory so that entries created, renamed or removed in it are durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    fsync_dir_at(dir, "atomic.dir_fsync")
}

/// [`fsync_dir`] under a named fail point.
pub fn fsync_dir_at(dir: &Path, point: &'static str) -> Result<()> {
    let f = File::open(dir).map_err(Error::io("open directory", dir))?;
    fp::sync_dir(&f, dir, point).map_err(Error::io("fsync directory", dir))
}

/// A temp file name next to `path`, unique to this process and call: two processes (or
/// threads) replacing the same file never write the same temp file.
fn temp_path(path: &Path) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    dir.join(name)
}

/// Replaces `path` with `contents` atomically and durably.
pub fn atomic_write(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_path(path);
    let mut f = fp::open(
        OpenOptions::new().write(true).create(true).truncate(true),
        &tmp,
        "atomic.create",
    )
    .map_err(Error::io("create", &tmp))?;
    let written = fp::write_all(&mut f, contents, "atomic.write")
        .map_err(Error::io("write", &tmp))
        .and_then(|()| fp::sync_all(&f, "atomic.fsync").map_err(Error::io("fsync", &tmp)));
    drop(f);
    if let Err(e) = written {
        let _ = fp::remove_file(&tmp, "atomic.cleanup");
        return Err(e);
    }
    fp::rename(&tmp, path, "atomic.rename").map_err(Error::io("rename", &tmp))?;
    fsync_dir_at(dir, "atomic.dir_fsync")
}

/// Writes `path` through a temp file and a rename, without fsync: for hints whose loss or
/// staleness is harmless (the recovery point), never for data.
pub fn replace_unsynced(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let written = fp::open(
        OpenOptions::new().write(true).create(true).truncate(true),
        &tmp,
        "recovery_point.create",
    )
    .and_then(|mut f| fp::write_all(&mut f, contents, "recovery_point.write"));
    if let Err(e) = written {
        let _ = fp::remove_file(&tmp, "recovery_point.cleanup");
        return Err(Error::io("write", &tmp)(e));
    }
    fp::rename(&tmp, path, "recovery_point.rename").map_err(Error::io("rename", &tmp))
}

/// An exclusive advisory lock on a directory, released on drop or when the process dies.
#[derive(Debug)]
pub struct DirLock {
    file: File,
}

/// Blocks until this process holds the exclusive lock on `dir`.
pub fn lock_dir(dir: &Path) -> Result<DirLock> {
    let file = File::open(dir).map_err(Error::io("open directory", dir))?;
    file.lock().map_err(Error::io("lock", dir))?;
    Ok(DirLock { file })
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}
