//! File-system helpers with the crash-safety rules the rest of storage relies on.
//!
//! # Crash safety
//! [`replace_file`] writes a temp file unique to the writer (`.<name>.<pid>[.<k>].tmp`), renames
//! it over `<name>`, and fsyncs as much as its [`Durability`] says (the content before the
//! rename, the directory after it, or nothing for a hint): after a crash the file holds the
//! old or the new content, never a mix, and concurrent writers never share a temp file.
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
use std::path::{Path, PathBuf};

use super::failpoint as fp;
use super::layout;
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

/// How durable a replacement made by [`replace_file`] is once it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The new content is fsynced before the rename, and the directory after it: a crash or
    /// a power loss after the call leaves the new content. For checkpoints, metadata and
    /// rebuilt indexes.
    Durable,
    /// The new content is fsynced before the rename; the directory is not. A power loss may
    /// bring the old file back (or none, for a new name), never a torn one. For files whose
    /// rename a later directory fsync commits (a compaction's `.cleaned` files), or whose
    /// last update may be lost (a group's committed offset: records are read again).
    Synced,
    /// Nothing is fsynced: after a power loss the file may hold the old content, the new one,
    /// or what never reached the disk of the new one (nothing, or zeros). For hints that are
    /// checked before use and whose loss only costs time (the recovery point).
    Unsynced,
}

/// The fail points one kind of replacement goes through (see [`fp`]): the power-loss tests
/// reach each, so each caller keeps its own names.
#[derive(Debug, Clone, Copy)]
pub struct ReplacePoints {
    pub create: &'static str,
    pub write: &'static str,
    /// The fsync of the new content: for [`Durability::Durable`] and [`Durability::Synced`].
    pub fsync: Option<&'static str>,
    pub rename: &'static str,
    /// Removing the temp file after a failed write, fsync or rename.
    pub cleanup: &'static str,
    /// The directory's fsync: for [`Durability::Durable`].
    pub dir_fsync: Option<&'static str>,
}

/// Checkpoints, metadata and rebuilt indexes.
pub const ATOMIC: ReplacePoints = ReplacePoints {
    create: "atomic.create",
    write: "atomic.write",
    fsync: Some("atomic.fsync"),
    rename: "atomic.rename",
    cleanup: "atomic.cleanup",
    dir_fsync: Some("atomic.dir_fsync"),
};

/// The recovery point hint.
pub const RECOVERY_POINT: ReplacePoints = ReplacePoints {
    create: "recovery_point.create",
    write: "recovery_point.write",
    fsync: None,
    rename: "recovery_point.rename",
    cleanup: "recovery_point.cleanup",
    dir_fsync: None,
};

/// A consumer group's committed offset.
pub const GROUP_COMMIT: ReplacePoints = ReplacePoints {
    create: "group.create",
    write: "group.write",
    fsync: Some("group.fsync"),
    rename: "group.rename",
    cleanup: "group.cleanup",
    dir_fsync: None,
};

/// The indexes of a compaction's output (`<base>.index.cleaned`, `<base>.timeindex.cleaned`).
pub const CLEANED_INDEX: ReplacePoints = ReplacePoints {
    create: "clean.index_create",
    write: "clean.index_write",
    fsync: Some("clean.index_fsync"),
    rename: "clean.index_rename",
    cleanup: "clean.index_cleanup",
    dir_fsync: None,
};

/// Replaces `path` with `contents` through a temp file in its directory and a rename, so that
/// no reader and no crash ever sees a mix of old and new content; how durable the result is
/// when this returns is `durability`'s to say. A write, fsync or rename that fails removes the
/// temp file; one killed midway leaves it ([`layout::temp_file`] names it, for sweeps). Two
/// writers never share a temp file (see `TempFile`).
pub fn replace_file(
    path: &Path,
    contents: &[u8],
    durability: Durability,
    points: &ReplacePoints,
) -> Result<()> {
    replace(path, contents, durability, points, None)
}

/// [`replace_file`], durably, for a file only its owner may read (mode 0600 from the moment
/// its temp file exists: users' keys, access rules).
pub fn replace_private_file(path: &Path, contents: &[u8]) -> Result<()> {
    replace(path, contents, Durability::Durable, &ATOMIC, Some(0o600))
}

fn replace(
    path: &Path,
    contents: &[u8],
    durability: Durability,
    points: &ReplacePoints,
    mode: Option<u32>,
) -> Result<()> {
    let fsync = match durability {
        Durability::Durable | Durability::Synced => points.fsync,
        Durability::Unsynced => None,
    };
    let dir_fsync = match durability {
        Durability::Durable => points.dir_fsync,
        Durability::Synced | Durability::Unsynced => None,
    };
    debug_assert!(
        (fsync.is_some() || durability == Durability::Unsynced)
            && (dir_fsync.is_some() || durability != Durability::Durable),
        "{points:?} has no fail point for a step of {durability:?}"
    );
    let temp = TempFile::claim(path);
    let tmp = temp.path.as_path();
    let mut opts = OpenOptions::new();
    opts.write(true);
    match mode {
        None => opts.create(true).truncate(true),
        Some(mode) => {
            use std::os::unix::fs::OpenOptionsExt;
            // A new file, so that the mode holds: the name is this process's alone (see
            // `TempFile`), and one a killed run of the same pid left goes first.
            let _ = std::fs::remove_file(tmp);
            opts.create_new(true).mode(mode)
        }
    };
    let mut f = fp::open(&opts, tmp, points.create).map_err(Error::io("create", tmp))?;
    let done = fp::write_all(&mut f, contents, points.write)
        .map_err(Error::io("write", tmp))
        .and_then(|()| {
            match (durability, fsync) {
                (Durability::Durable, Some(point)) => fp::sync_all(&f, point),
                (_, Some(point)) => fp::sync_data(&f, point),
                (_, None) => Ok(()),
            }
            .map_err(Error::io("fsync", tmp))
        });
    drop(f);
    let done =
        done.and_then(|()| fp::rename(tmp, path, points.rename).map_err(Error::io("rename", tmp)));
    if done.is_err() {
        // Best effort: the error that matters is the write's.
        let _ = fp::remove_file(tmp, points.cleanup);
    }
    done?;
    match dir_fsync {
        Some(point) => fsync_dir_at(path.parent().unwrap_or(Path::new(".")), point),
        None => Ok(()),
    }
}

/// The temp file of one [`replace_file`] call while it runs: [`layout::temp_file`] with this
/// process's pid and the lowest slot `k` that no other call of this process replacing the same
/// file holds, so that concurrent replacements of one file (threads committing the same
/// group's offset) never write the same temp file, and the name stays as short as the pid
/// alone but in such a race. Another process has another pid. A name that would pass the file
/// system's 255 bytes (the longest group ids leave room for a 10-digit pid alone) waits for a
/// lower slot instead.
#[derive(Debug)]
struct TempFile {
    target: PathBuf,
    k: u32,
    path: PathBuf,
}

/// The slots in flight: (target, k).
static TEMP_SLOTS: std::sync::Mutex<Vec<(PathBuf, u32)>> = std::sync::Mutex::new(Vec::new());
static TEMP_SLOT_FREED: std::sync::Condvar = std::sync::Condvar::new();
const NAME_MAX: usize = 255;

impl TempFile {
    fn claim(target: &Path) -> TempFile {
        let pid = std::process::id();
        let mut slots = TEMP_SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let k = (0..)
                .find(|k| !slots.iter().any(|(t, sk)| sk == k && t == target))
                .unwrap_or(0);
            let path = layout::temp_file(target, pid, k);
            let fits = path.file_name().is_none_or(|n| n.len() <= NAME_MAX);
            if k == 0 || fits {
                slots.push((target.to_path_buf(), k));
                return TempFile {
                    target: target.to_path_buf(),
                    k,
                    path,
                };
            }
            slots = TEMP_SLOT_FREED
                .wait(slots)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let mut slots = TEMP_SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = slots
            .iter()
            .position(|(t, k)| *k == self.k && *t == self.target)
        {
            slots.swap_remove(i);
        }
        drop(slots);
        TEMP_SLOT_FREED.notify_all();
    }
}

/// Allocates disk blocks for `len` bytes of `file` from `offset` without changing its length
/// (`fallocate` with `FALLOC_FL_KEEP_SIZE`). Writes into reserved blocks skip the file
/// system's per-block space accounting; a truncate to the file's own length gives back what
/// was not written. Fails on file systems (and systems) without it.
pub fn reserve_blocks(file: &File, offset: u64, len: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{FallocateFlags, fallocate};
        // (rustix refuses an offset or length past `i64::MAX` with EINVAL, as the kernel.)
        Ok(fallocate(file, FallocateFlags::KEEP_SIZE, offset, len)?)
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

    /// A private file is 0600 from its temp file on, replaces a file anyone could read, and
    /// is not held up by a temp file a killed run of the same pid left (readable by all).
    #[test]
    fn private_files_are_owner_only_from_the_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let leftover = layout::temp_file(&path, std::process::id(), 0);
        std::fs::write(&leftover, b"stale").unwrap();
        std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o644)).unwrap();
        replace_private_file(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temp file left");
    }

    /// What each durability promises after a power loss, under the fail-point layer's model:
    /// `Durable` keeps the new content, `Synced` and `Unsynced` may bring the old one back,
    /// and `Synced` never leaves anything but the old or the new content, whole.
    #[test]
    fn each_durability_survives_a_power_loss_as_documented() {
        use fp::Loss;
        let cases = [
            (Durability::Durable, &b"new"[..]),
            (Durability::Synced, b"old"),
            (Durability::Unsynced, b"old"),
        ];
        for (durability, after_loss) in cases {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            std::fs::write(&path, b"old").unwrap();
            fp::reset();
            fp::record(&[dir.path()]);
            replace_file(&path, b"new", durability, &ATOMIC).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"new", "{durability:?}");
            fp::power_loss(Loss::Synced);
            assert_eq!(std::fs::read(&path).unwrap(), after_loss, "{durability:?}");
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert_eq!(left.len(), 1, "{durability:?}: no temp file survives");
        }
        for seed in 0..32 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            std::fs::write(&path, b"old").unwrap();
            fp::reset();
            fp::record(&[dir.path()]);
            replace_file(&path, b"new content", Durability::Synced, &GROUP_COMMIT).unwrap();
            fp::power_loss(Loss::Garbage(seed));
            let got = std::fs::read(&path).unwrap();
            assert!(
                got == b"old" || got == b"new content",
                "seed {seed}: {got:?}"
            );
        }
        fp::reset();
    }

    /// Threads replacing one file at once (a server committing a group's offset from several
    /// threads) each get a temp file of their own: with one temp name per process, one thread
    /// renamed the other's half-written file into place, or found its own gone.
    #[test]
    fn concurrent_replacements_of_one_file_never_share_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("klog-group.g.json");
        let contents: Vec<Vec<u8>> = (0..8)
            .map(|t| vec![b'a' + t as u8; 1000 * (t + 1)])
            .collect();
        std::thread::scope(|s| {
            for c in &contents {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        replace_file(path, c, Durability::Unsynced, &RECOVERY_POINT).unwrap();
                    }
                });
            }
        });
        let got = std::fs::read(&path).unwrap();
        assert!(
            contents.contains(&got),
            "a torn or mixed file of {} bytes",
            got.len()
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["klog-group.g.json"]);
    }

    /// A temp file is named after the pid alone unless another replacement of the same file
    /// is in flight in this process; then it takes the lowest free slot, unless that name
    /// would be too long for the file system, and then it waits for the first to end.
    #[test]
    fn temp_files_take_the_lowest_free_slot() {
        let dir = tempfile::tempdir().unwrap();
        let pid = std::process::id();
        let target = dir.path().join("a");
        let first = TempFile::claim(&target);
        let second = TempFile::claim(&target);
        let other = TempFile::claim(&dir.path().join("b"));
        assert_eq!(first.path, dir.path().join(format!(".a.{pid}.tmp")));
        assert_eq!(second.path, dir.path().join(format!(".a.{pid}.1.tmp")));
        assert_eq!(other.path, dir.path().join(format!(".b.{pid}.tmp")));
        drop(first);
        let again = TempFile::claim(&target);
        assert_eq!(again.path, dir.path().join(format!(".a.{pid}.tmp")));
        drop((second, again, other));

        // A name that fits with the pid alone and not with a slot.
        let pid_len = pid.to_string().len();
        let long = dir
            .path()
            .join("x".repeat(NAME_MAX - ".x..tmp".len() - pid_len + 1));
        let held = TempFile::claim(&long);
        assert!(held.path.file_name().unwrap().len() <= NAME_MAX);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let long = &long;
            s.spawn(move || tx.send(TempFile::claim(long).path.clone()).unwrap());
            assert!(
                rx.recv_timeout(std::time::Duration::from_millis(200))
                    .is_err(),
                "a second claim did not wait for the first"
            );
            let first_path = held.path.clone();
            drop(held);
            assert_eq!(rx.recv().unwrap(), first_path);
        });
    }

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
