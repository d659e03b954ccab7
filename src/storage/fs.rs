//! File-system helpers with the crash-safety rules the rest of storage relies on.
//!
//! # Crash safety
//! [`atomic_write`] writes a temp file unique to the writer (`.<name>.<pid>.<n>.tmp`), fsyncs
//! it, renames it over `<name>` and fsyncs the directory: after a crash the file holds either
//! the old or the new content, never a mix, and concurrent writers never share a temp file.
//! [`lock_dir`] takes an exclusive `flock` on a directory; the OS releases it when the process
//! dies, kill -9 included, so a crashed writer never leaves a partition locked.
//! [`reserve_blocks`] allocates disk blocks past a file's end without changing its length,
//! so what a reader of the file sees, and what a crash can leave, do not change.
//!
//! # Hostile files
//! Every file klog reads from a data directory is opened with [`open_regular`] (or
//! [`read_regular`]): without blocking, and refused unless it is a regular file. Opening a
//! FIFO named like a segment for reading would otherwise wait forever for a writer.

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

/// Allocates disk blocks for `len` bytes of `file` from `offset` without changing its length
/// (`fallocate` with `FALLOC_FL_KEEP_SIZE`). Writes into reserved blocks skip the file
/// system's per-block space accounting; a truncate to the file's own length gives back what
/// was not written. Fails on file systems (and systems) without it.
pub fn reserve_blocks(file: &File, offset: u64, len: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let invalid = |_| std::io::Error::from(std::io::ErrorKind::InvalidInput);
        let offset = libc::off_t::try_from(offset).map_err(invalid)?;
        let len = libc::off_t::try_from(len).map_err(invalid)?;
        // SAFETY: a system call on a descriptor that `file` keeps open; no memory is passed.
        #[allow(unsafe_code)]
        let r =
            unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, len) };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, offset, len);
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// Bytes of disk allocated to a file (what `du` counts), from its metadata.
pub fn allocated_bytes(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks().saturating_mul(512)
}

/// Opens `path` for reading. It never blocks: the open is non-blocking (a FIFO would wait for
/// a writer), and anything but a regular file (a FIFO, socket, device or directory named like
/// one of klog's files) is refused with [`Error::NotAFile`].
pub fn open_regular(path: &Path) -> Result<File> {
    let f = open_options_regular(OpenOptions::new().read(true))
        .open(path)
        .map_err(Error::io("open", path))?;
    ensure_regular(&f, path)?;
    Ok(f)
}

/// `opts` with the non-blocking flag [`open_regular`] uses, for files opened for writing too.
pub fn open_options_regular(opts: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    opts.custom_flags(libc::O_NONBLOCK)
}

/// Refuses an open file that is not a regular file (see [`open_regular`]).
pub fn ensure_regular(file: &File, path: &Path) -> Result<()> {
    let kind = file
        .metadata()
        .map_err(Error::io("stat", path))?
        .file_type();
    if kind.is_file() {
        return Ok(());
    }
    use std::os::unix::fs::FileTypeExt;
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    };
    Err(Error::NotAFile {
        path: path.to_path_buf(),
        what,
    })
}

/// The whole content of a small file (a checkpoint, a recovery point, metadata), read as
/// [`open_regular`] opens: a non-regular file is an `InvalidInput` error, never a hang.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = open_options_regular(OpenOptions::new().read(true)).open(path)?;
    if !f.metadata()?.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
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
