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
//!
//! # A broker's log directory
//! A Kafka broker locks its log directory through the `.lock` file in it ([`BROKER_LOCK_FILE`]),
//! with an exclusive `fcntl` lock (the JVM's `FileChannel.tryLock`). [`hold_broker_lock`] takes a
//! *shared* lock on that file (an open-file-description lock on Linux, which closing other
//! descriptors of the file does not drop): it fails while a broker runs there, which is how
//! klog refuses to write under a live broker, and while klog holds it a broker refuses to
//! start. klog never creates `.lock`; a directory without one is not a broker's.

use std::fs::{File, OpenOptions};
use std::path::Path;

use super::failpoint as fp;
pub use super::layout::BROKER_LOCK_FILE;
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

/// A shared hold on a broker directory's `.lock` (see the module doc), released on drop or
/// when the process dies.
#[derive(Debug)]
pub struct BrokerLockGuard {
    _file: File,
}

/// Whether a Kafka broker holds `<data_dir>/.lock`: `Err(Error::BrokerLocked)` if one does.
/// Otherwise, when the file exists, holds a shared lock on it until the guard is dropped, so
/// that a broker cannot start meanwhile. `Ok(None)` when there is no `.lock` (not a broker's
/// directory, or no directory yet).
pub fn hold_broker_lock(data_dir: &Path) -> Result<Option<BrokerLockGuard>> {
    let path = data_dir.join(BROKER_LOCK_FILE);
    let file = match open_options_regular(OpenOptions::new().read(true)).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", &path)(e)),
    };
    match shared_lock(&file) {
        Ok(()) => Ok(Some(BrokerLockGuard { _file: file })),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => {
            Err(Error::BrokerLocked {
                pid: lock_holder(&file),
                path,
            })
        }
        Err(e) => Err(Error::io("lock", &path)(e)),
    }
}

/// `fcntl` on the whole of `file` with a lock description of `kind`.
fn fcntl_lock(file: &File, cmd: libc::c_int, kind: libc::c_int) -> std::io::Result<libc::flock> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed `flock` is a valid value of this plain C struct (whole file from 0);
    // `fcntl` gets a descriptor that `file` keeps open and a pointer to that local struct,
    // which it only reads and writes within the call.
    #[allow(unsafe_code)]
    let (r, fl) = unsafe {
        let mut fl: libc::flock = std::mem::zeroed();
        fl.l_type = kind as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        let r = libc::fcntl(file.as_raw_fd(), cmd, &mut fl as *mut libc::flock);
        (r, fl)
    };
    if r == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(fl)
    }
}

/// A shared lock that conflicts with a broker's exclusive one, without blocking.
fn shared_lock(file: &File) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let cmd = libc::F_OFD_SETLK;
    // Elsewhere a process-associated lock: only a check (klog never closes another
    // descriptor of `.lock` while holding it, but keeps no promise about it).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let cmd = libc::F_SETLK;
    fcntl_lock(file, cmd, libc::F_RDLCK).map(|_| ())
}

/// The pid of the process holding a conflicting lock on `file`, when the system says (not for
/// open-file-description locks).
fn lock_holder(file: &File) -> Option<i32> {
    let fl = fcntl_lock(file, libc::F_GETLK, libc::F_RDLCK).ok()?;
    (fl.l_type != libc::F_UNLCK as libc::c_short && fl.l_pid > 0).then_some(fl.l_pid)
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

/// Takes the exclusive lock on `dir` if no one holds it: `Ok(None)` when someone does.
pub fn try_lock_dir(dir: &Path) -> Result<Option<DirLock>> {
    let file = File::open(dir).map_err(Error::io("open directory", dir))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(DirLock { file })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", dir)(e)),
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broker's exclusive lock on `.lock`, from another open file description (which on
    /// Linux conflicts as another process's would): klog's shared hold is refused, naming
    /// the file; without it, klog's holds are shared.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_brokers_lock_refuses_klogs_hold() {
        let dir = tempfile::tempdir().unwrap();
        assert!(hold_broker_lock(dir.path()).unwrap().is_none(), "no .lock");
        let path = dir.path().join(BROKER_LOCK_FILE);
        std::fs::write(&path, b"").unwrap();
        let a = hold_broker_lock(dir.path()).unwrap();
        let b = hold_broker_lock(dir.path()).unwrap();
        assert!(a.is_some() && b.is_some(), "klog's holds are shared");
        let broker = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        assert!(fcntl_lock(&broker, libc::F_OFD_SETLK, libc::F_WRLCK).is_err());
        drop((a, b));
        fcntl_lock(&broker, libc::F_OFD_SETLK, libc::F_WRLCK).unwrap();
        match hold_broker_lock(dir.path()) {
            Err(Error::BrokerLocked { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
    }
}
