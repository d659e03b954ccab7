//! Fail points and a power-loss model: every write, fsync, truncation, creation, rename and
//! unlink that storage makes goes through the thin wrappers here, each under a named point.
//! The exceptions are `Log`'s early writeback, an extra fdatasync on a helper thread that
//! only makes data durable sooner (the model undercounts it, which is the safe side), and the
//! disk blocks `Log` reserves past a segment's end and gives back, which change no file's
//! length nor content. `Log`'s background flush also fsyncs on a helper thread, but is
//! modeled: see [`BackgroundSync`].
//!
//! Without the `failpoints` cargo feature and outside the crate's own tests, the wrappers are
//! `#[inline]` calls of the `std` functions and nothing else is compiled. With it, a test can,
//! on its own thread (all state is thread-local, so parallel tests never see each other's):
//!
//! - **stop** at the n-th hit of a point (`Action::Crash`): the call fails and the thread is
//!   *dead* from then on: every later call through this layer fails without touching the
//!   disk, so no error-handling or `Drop` code can do what a killed process could not;
//! - **tear** a write (`Action::Torn`): only a prefix of the buffer is written, then the
//!   thread is dead;
//! - **fail** a call (`Action::Error`): it returns an I/O error and the process goes on (a
//!   full disk, an `EIO`), so the error paths themselves are exercised;
//! - **lose power** (`power_loss`) after `record` armed the model on some directories.
//!
//! # The power-loss model
//! While armed, the layer keeps, for every file (inode), the content it had at its last fsync
//! (the content at arming counts as durable), and for every tracked directory, the names it
//! had at its last fsync plus the list of creations, renames and unlinks made since. Power
//! loss rewrites each tracked directory to a state that a crash could leave:
//!
//! - `Loss::Synced`: every un-fsynced directory operation is undone and every file holds
//!   exactly its last fsynced content (a file never fsynced since its creation is empty).
//! - `Loss::Partial`: a random prefix of the un-fsynced directory operations survives (a
//!   journaling file system commits metadata in order: ext4, XFS); each file gets either its
//!   fsynced or its current length, and each 512-byte sector where the two differ holds the
//!   old or the new bytes at random (writeback reaches the disk in any order; an old sector
//!   beyond the old end reads as zeros).
//! - `Loss::Garbage`: as `Partial`, but a differing sector may also hold random bytes: what
//!   a file system without ordered data (ext4 `data=writeback`) or a lying disk cache can
//!   expose in blocks that were allocated but never written.
//!
//! What a real ext4 `data=ordered` does is covered by `Partial`: fsync of a file persists its
//! data and size; rename and creation persist, in order, only with the directory's fsync (or
//! a later journal commit), and a replaced file's new content may be empty when it was never
//! fsynced. The model is harsher in two ways that POSIX allows: an fsync of a file does not
//! commit the directory operations made before it, and each directory's operations are cut
//! independently of the others. Not modeled: damage below the last fsync (bit rot, a disk
//! ignoring flushes), `mmap` writes (storage writes indexes with positioned writes only),
//! and writes made outside this layer (the CLI, `topic.rs`).

// Without fail points, the point names are unused.
#![cfg_attr(not(any(test, feature = "failpoints")), allow(unused_variables))]

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Every named point, for tests that must visit each one (a call with an unregistered name
/// panics in test builds, so this list cannot fall behind).
pub const POINTS: &[&str] = &[
    // Log::append: the batch write; cutting a failed write back.
    "append.write",
    "append.truncate_failed",
    // Index appends (Log::append, and recovery's rebuild of the active segment's entries).
    "index.append",
    "timeindex.append",
    // Index files: creation and preallocation, zeroing dropped entries, trim on roll.
    "index.open",
    "index.grow",
    "index.zero",
    "index.trim",
    "index.trim_fsync",
    // Log::flush (and the fsync before a roll).
    "log.fsync",
    // Log's background flush: handed to its thread; its outcome seen by the writer.
    "log.flush_background",
    "log.flush_background_done",
    // The recovery point hint, written after each fsync without one of its own.
    "recovery_point.create",
    "recovery_point.write",
    "recovery_point.rename",
    "recovery_point.cleanup",
    // Roll: the new segment's files and the directory fsync; opening the active .log.
    "segment.create",
    "segment.dir_fsync",
    "segment.open",
    // Recovery: cutting a torn tail, durably.
    "recovery.truncate",
    "recovery.fsync",
    // fs::replace_file (Durability::Durable), for every checkpoint rewrite (log start offset,
    // cleaner offset, data-directory checkpoints, leader epochs, rebuilt indexes, topic
    // metadata).
    "atomic.create",
    "atomic.write",
    "atomic.fsync",
    "atomic.cleanup",
    "atomic.rename",
    "atomic.dir_fsync",
    // Retention and trimming: segment deletion.
    "retention.rename_deleted",
    "retention.remove_index",
    "retention.remove_deleted",
    "retention.dir_fsync",
    "retention.remove_leftover",
    // Compaction: writing the cleaned segment, the swap steps, recovery of leftovers.
    "clean.create",
    "clean.write",
    "clean.fsync",
    "clean.index_create",
    "clean.index_write",
    "clean.index_fsync",
    "clean.index_rename",
    "clean.index_cleanup",
    "clean.remove_cleaned",
    "swap.rename_cleaned",
    "swap.dir_fsync",
    "swap.install",
    "swap.rename_deleted",
    "swap.deleted_dir_fsync",
    "swap.finalize",
    "swap.finalize_dir_fsync",
    "swap.remove_deleted",
    "clean.recover_remove",
    "clean.recover_dir_fsync",
    // segments verify --repair: a killed repair's leftover copy; copying a valid tail (or a
    // segment without its damaged prefix) aside, renaming it into place; cutting the damaged
    // segment; the final fsync before the recovery point moves.
    "repair.remove_leftover",
    "repair.leftover_dir_fsync",
    "repair.create",
    "repair.write",
    "repair.fsync",
    "repair.rename",
    "repair.dir_fsync",
    "repair.truncate",
    "repair.truncate_fsync",
    "repair.final_fsync",
    // Consumer group offset commit.
    "group.create",
    "group.write",
    "group.fsync",
    "group.rename",
    "group.cleanup",
    "group.forget",
];

#[cfg(any(test, feature = "failpoints"))]
pub use imp::*;

/// Writes all of `buf` at `pos`.
#[inline]
pub fn write_all_at(file: &File, buf: &[u8], pos: u64, point: &'static str) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    #[cfg(any(test, feature = "failpoints"))]
    if let Some(keep) = imp::before_write(point, buf.len())? {
        file.write_all_at(&buf[..keep], pos)?;
        return Err(imp::failed(point));
    }
    file.write_all_at(buf, pos)
}

/// Writes all of `buf` to `w`.
#[inline]
pub fn write_all(w: &mut impl Write, buf: &[u8], point: &'static str) -> io::Result<()> {
    #[cfg(any(test, feature = "failpoints"))]
    if let Some(keep) = imp::before_write(point, buf.len())? {
        w.write_all(&buf[..keep])?;
        w.flush()?;
        return Err(imp::failed(point));
    }
    w.write_all(buf)
}

/// `File::sync_data`.
#[inline]
pub fn sync_data(file: &File, point: &'static str) -> io::Result<()> {
    #[cfg(any(test, feature = "failpoints"))]
    imp::before(point)?;
    file.sync_data()?;
    #[cfg(any(test, feature = "failpoints"))]
    imp::synced(file);
    Ok(())
}

/// An fsync that another thread runs (`Log`'s background flush). [`start_background_sync`]
/// runs on the calling thread as the fsync is handed over: a fail point, and under the
/// power-loss model a snapshot of what the file holds then, which is exactly what the fsync
/// will make durable. [`BackgroundSync::done`] takes the fsync's outcome on the calling
/// thread: a second fail point (an fsync error from the disk), and when it succeeded, the
/// snapshot recorded as durable. Without fail points it is nothing at all.
#[derive(Debug)]
pub struct BackgroundSync {
    #[cfg(any(test, feature = "failpoints"))]
    snapshot: Option<imp::Snapshot>,
}

/// See [`BackgroundSync`].
#[inline]
pub fn start_background_sync(file: &File, point: &'static str) -> io::Result<BackgroundSync> {
    #[cfg(any(test, feature = "failpoints"))]
    {
        imp::before(point)?;
        Ok(BackgroundSync {
            snapshot: imp::snapshot(file),
        })
    }
    #[cfg(not(any(test, feature = "failpoints")))]
    Ok(BackgroundSync {})
}

impl BackgroundSync {
    /// The fsync ended with `result`; see [`BackgroundSync`].
    #[inline]
    pub fn done(self, result: io::Result<()>, point: &'static str) -> io::Result<()> {
        result?;
        #[cfg(any(test, feature = "failpoints"))]
        {
            imp::before(point)?;
            if let Some(s) = self.snapshot {
                imp::synced_snapshot(s);
            }
        }
        Ok(())
    }
}

/// `File::sync_all`.
#[inline]
pub fn sync_all(file: &File, point: &'static str) -> io::Result<()> {
    #[cfg(any(test, feature = "failpoints"))]
    imp::before(point)?;
    file.sync_all()?;
    #[cfg(any(test, feature = "failpoints"))]
    imp::synced(file);
    Ok(())
}

/// `File::set_len`.
#[inline]
pub fn set_len(file: &File, len: u64, point: &'static str) -> io::Result<()> {
    #[cfg(any(test, feature = "failpoints"))]
    imp::before(point)?;
    file.set_len(len)
}

/// `OpenOptions::open`, recording the creation of a new file.
#[inline]
pub fn open(opts: &OpenOptions, path: &Path, point: &'static str) -> io::Result<File> {
    #[cfg(any(test, feature = "failpoints"))]
    {
        imp::before(point)?;
        let existed = imp::recording() && path.exists();
        let f = opts.open(path)?;
        if !existed {
            imp::created(path, &f);
        }
        Ok(f)
    }
    #[cfg(not(any(test, feature = "failpoints")))]
    opts.open(path)
}

/// `std::fs::rename`.
#[inline]
pub fn rename(from: &Path, to: &Path, point: &'static str) -> io::Result<()> {
    #[cfg(any(test, feature = "failpoints"))]
    {
        imp::before(point)?;
        let ino = imp::recording().then(|| imp::inode_of_path(from)).flatten();
        std::fs::rename(from, to)?;
        imp::renamed(from, to, ino);
        Ok(())
    }
    #[cfg(not(any(test, feature = "failpoints")))]
    std::fs::rename(from, to)
}

/// `std::fs::remove_file`.
#[inline]
pub fn remove_file(path: &Path, point: &'static str) -> io::Result<()> {
    #[cfg(any(test, feature = "failpoints"))]
    imp::before(point)?;
    std::fs::remove_file(path)?;
    #[cfg(any(test, feature = "failpoints"))]
    imp::removed(path);
    Ok(())
}

/// fsync of an open directory.
#[inline]
pub fn sync_dir(dir_file: &File, dir: &Path, point: &'static str) -> io::Result<()> {
    #[cfg(any(test, feature = "failpoints"))]
    imp::before(point)?;
    dir_file.sync_all()?;
    #[cfg(any(test, feature = "failpoints"))]
    imp::dir_synced(dir);
    #[cfg(not(any(test, feature = "failpoints")))]
    let _ = dir;
    Ok(())
}

/// A `Write` whose every `write` call is a hit of `point` (for buffered writers, whose
/// writes happen when their buffer fills or is flushed).
#[derive(Debug)]
pub struct Writer<W> {
    inner: W,
    #[cfg_attr(not(any(test, feature = "failpoints")), allow(dead_code))]
    point: &'static str,
}

impl<W: Write> Writer<W> {
    pub fn new(inner: W, point: &'static str) -> Writer<W> {
        Writer { inner, point }
    }
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Writer<W> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(any(test, feature = "failpoints"))]
        if let Some(keep) = imp::before_write(self.point, buf.len())? {
            self.inner.write_all(&buf[..keep])?;
            return Err(imp::failed(self.point));
        }
        self.inner.write(buf)
    }
    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(any(test, feature = "failpoints"))]
mod imp {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashMap};
    use std::ffi::OsString;
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    /// What to do at the chosen hit of a point.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Action {
        /// Return an I/O error; the process goes on.
        Error,
        /// Return an I/O error and die: every later call fails without touching the disk.
        Crash,
        /// For a write: write only `seed % len` bytes of the `len` asked for (a strict prefix),
        /// then die. Elsewhere: the same as `Crash`.
        Torn(u64),
    }

    /// How much of what was not fsynced survives a power loss (see the module doc).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Loss {
        Synced,
        Partial(u64),
        Garbage(u64),
    }

    type Ino = (u64, u64);

    #[derive(Debug, Clone)]
    enum Op {
        Link(OsString, Ino),
        Rename(OsString, OsString, Ino),
        Unlink(OsString),
    }

    #[derive(Debug, Default)]
    struct DirModel {
        durable: BTreeMap<OsString, Ino>,
        pending: Vec<Op>,
    }

    #[derive(Debug, Default)]
    struct Model {
        /// Content of each inode at its last fsync (or at arming).
        files: HashMap<Ino, Vec<u8>>,
        dirs: BTreeMap<PathBuf, DirModel>,
    }

    #[derive(Debug, Default)]
    struct State {
        plan: Option<(&'static str, usize, Action)>,
        /// Every point hit since the last reset, in order.
        trace: Vec<&'static str>,
        dead: bool,
        fired: bool,
        model: Option<Model>,
    }

    thread_local! {
        static STATE: RefCell<State> = RefCell::new(State::default());
    }

    fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
        STATE.with(|s| f(&mut s.borrow_mut()))
    }

    /// Forgets every plan, trace, death and model of this thread.
    pub fn reset() {
        with(|s| *s = State::default());
    }

    /// Acts at the `nth` (0-based) hit of `point` from now on.
    pub fn arm(point: &'static str, nth: usize, action: Action) {
        with(|s| {
            s.plan = Some((point, nth, action));
            s.fired = false;
        });
    }

    /// Whether the armed point was reached.
    pub fn fired() -> bool {
        with(|s| s.fired)
    }

    /// Whether a crash happened (the thread is dead).
    pub fn dead() -> bool {
        with(|s| s.dead)
    }

    /// Points hit since the last reset, in order.
    pub fn trace() -> Vec<&'static str> {
        with(|s| s.trace.clone())
    }

    pub(crate) fn failed(point: &str) -> io::Error {
        io::Error::other(format!("fail point {point}"))
    }

    /// `Some(bytes to write)` when the write must be torn after that many bytes.
    pub(crate) fn before_write(point: &'static str, len: usize) -> io::Result<Option<usize>> {
        match hit(point)? {
            Some(seed) => Ok(Some((seed % len.max(1) as u64) as usize)),
            None => Ok(None),
        }
    }

    pub(crate) fn before(point: &'static str) -> io::Result<()> {
        match hit(point)? {
            Some(_) => Err(failed(point)),
            None => Ok(()),
        }
    }

    /// Ok(None): proceed; Ok(Some(seed)): tear the write (`seed % len` bytes); Err: fail.
    fn hit(point: &'static str) -> io::Result<Option<u64>> {
        assert!(
            super::POINTS.contains(&point),
            "fail point {point} is not in POINTS"
        );
        with(|s| {
            if s.dead {
                return Err(io::Error::other(format!(
                    "process is dead (crashed before {point})"
                )));
            }
            let nth = s.trace.iter().filter(|&&p| p == point).count();
            s.trace.push(point);
            match s.plan {
                Some((p, n, action)) if p == point && n == nth => {
                    s.fired = true;
                    match action {
                        Action::Error => Err(failed(point)),
                        Action::Crash => {
                            s.dead = true;
                            Err(failed(point))
                        }
                        Action::Torn(keep) => {
                            s.dead = true;
                            Ok(Some(keep))
                        }
                    }
                }
                _ => Ok(None),
            }
        })
    }

    fn ino(m: &std::fs::Metadata) -> Ino {
        (m.dev(), m.ino())
    }

    pub(crate) fn recording() -> bool {
        with(|s| s.model.is_some())
    }

    pub(crate) fn inode_of_path(path: &Path) -> Option<Ino> {
        std::fs::symlink_metadata(path).ok().map(|m| ino(&m))
    }

    /// The current bytes of an open file, whatever mode it was opened in.
    fn content_of(file: &File) -> Option<Vec<u8>> {
        use std::os::fd::AsRawFd;
        std::fs::read(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
    }

    /// The tracked directory holding `path`, and the file's name.
    fn tracked(model: &Model, path: &Path) -> Option<(PathBuf, OsString)> {
        let name = path.file_name()?.to_os_string();
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty())?;
        let dir = parent.canonicalize().ok()?;
        model.dirs.contains_key(&dir).then_some((dir, name))
    }

    /// A file's identity and content, for [`super::BackgroundSync`].
    #[derive(Debug)]
    pub(crate) struct Snapshot(Ino, Vec<u8>);

    /// What `file` holds now, when the model is armed.
    pub(crate) fn snapshot(file: &File) -> Option<Snapshot> {
        with(|s| {
            s.model.as_ref()?;
            Some(Snapshot(ino(&file.metadata().ok()?), content_of(file)?))
        })
    }

    /// The content of `snap` is durable (unless the thread is dead: a killed process
    /// learns nothing more). An fsync made meanwhile may already have made more durable: a
    /// durable content that extends the snapshot stays.
    pub(crate) fn synced_snapshot(snap: Snapshot) {
        with(|s| {
            if let Some(m) = &mut s.model
                && !s.dead
            {
                let Snapshot(ino, bytes) = snap;
                let durable = m.files.entry(ino).or_default();
                if !(durable.len() >= bytes.len() && durable.starts_with(&bytes)) {
                    *durable = bytes;
                }
            }
        });
    }

    pub(crate) fn synced(file: &File) {
        with(|s| {
            if let Some(m) = &mut s.model
                && let (Ok(meta), Some(bytes)) = (file.metadata(), content_of(file))
            {
                m.files.insert(ino(&meta), bytes);
            }
        });
    }

    pub(crate) fn created(path: &Path, file: &File) {
        with(|s| {
            if let Some(m) = &mut s.model
                && let Some((dir, name)) = tracked(m, path)
                && let Ok(meta) = file.metadata()
                && let Some(d) = m.dirs.get_mut(&dir)
            {
                d.pending.push(Op::Link(name, ino(&meta)));
            }
        });
    }

    pub(crate) fn renamed(from: &Path, to: &Path, ino: Option<Ino>) {
        with(|s| {
            let Some(m) = &mut s.model else { return };
            let (Some((fdir, fname)), Some((tdir, tname)), Some(ino)) =
                (tracked(m, from), tracked(m, to), ino)
            else {
                return;
            };
            if fdir == tdir
                && let Some(d) = m.dirs.get_mut(&fdir)
            {
                d.pending.push(Op::Rename(fname, tname, ino));
            }
        });
    }

    pub(crate) fn removed(path: &Path) {
        with(|s| {
            if let Some(m) = &mut s.model
                && let Some((dir, name)) = tracked(m, path)
                && let Some(d) = m.dirs.get_mut(&dir)
            {
                d.pending.push(Op::Unlink(name));
            }
        });
    }

    fn listing(dir: &Path) -> BTreeMap<OsString, Ino> {
        let mut out = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if let Ok(m) = e.metadata()
                    && m.is_file()
                {
                    out.insert(e.file_name(), ino(&m));
                }
            }
        }
        out
    }

    pub(crate) fn dir_synced(dir: &Path) {
        with(|s| {
            if let Some(m) = &mut s.model
                && let Ok(dir) = dir.canonicalize()
                && let Some(d) = m.dirs.get_mut(&dir)
            {
                d.durable = listing(&dir);
                d.pending.clear();
            }
        });
    }

    /// Arms the power-loss model on `dirs`: everything in them now counts as durable.
    pub fn record(dirs: &[&Path]) {
        let mut model = Model::default();
        for dir in dirs {
            let dir = dir.canonicalize().expect("tracked directory exists");
            let names = listing(&dir);
            for (name, ino) in &names {
                if let Ok(bytes) = std::fs::read(dir.join(name)) {
                    model.files.insert(*ino, bytes);
                }
            }
            model.dirs.insert(
                dir,
                DirModel {
                    durable: names,
                    pending: Vec::new(),
                },
            );
        }
        with(|s| s.model = Some(model));
    }

    /// splitmix64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            if n == 0 { 0 } else { self.next() % n }
        }
    }

    const SECTOR: usize = 512;

    /// What a file holds after the power loss, from its durable and current contents.
    fn survivor(durable: &[u8], current: Option<&[u8]>, loss: Loss, rng: &mut Rng) -> Vec<u8> {
        let (Some(current), Loss::Partial(_) | Loss::Garbage(_)) = (current, loss) else {
            return durable.to_vec();
        };
        if current == durable {
            return durable.to_vec();
        }
        let len = if rng.below(2) == 0 {
            durable.len()
        } else {
            current.len()
        };
        let mut out = vec![0u8; len];
        for (i, chunk) in out.chunks_mut(SECTOR).enumerate() {
            let at = i * SECTOR;
            let old = |j: usize| durable.get(at + j).copied().unwrap_or(0);
            let new = |j: usize| current.get(at + j).copied().unwrap_or(0);
            let differs = (0..chunk.len()).any(|j| old(j) != new(j));
            let pick = if !differs {
                0
            } else if matches!(loss, Loss::Garbage(_)) {
                rng.below(3)
            } else {
                rng.below(2)
            };
            for (j, b) in chunk.iter_mut().enumerate() {
                // Garbage only where the bytes were rewritten: what was fsynced and not
                // written since stays (damage below the last fsync is not modeled).
                let rewritten = at + j >= durable.len() || old(j) != new(j);
                *b = match pick {
                    0 => old(j),
                    1 => new(j),
                    _ if rewritten => rng.next() as u8,
                    _ => old(j),
                };
            }
        }
        out
    }

    /// Loses power: rewrites every tracked directory as `loss` says a crash could leave it,
    /// then disarms the model. Returns a description of what was kept, for failure messages.
    pub fn power_loss(loss: Loss) -> String {
        let Some(model) = with(|s| s.model.take()) else {
            return "no model".into();
        };
        let seed = match loss {
            Loss::Synced => 0,
            Loss::Partial(s) | Loss::Garbage(s) => s,
        };
        let mut rng = Rng(seed);
        let mut log = String::new();
        for (dir, d) in &model.dirs {
            let keep_ops = match loss {
                Loss::Synced => 0,
                _ => rng.below(d.pending.len() as u64 + 1) as usize,
            };
            let mut names = d.durable.clone();
            for op in d.pending.iter().take(keep_ops) {
                match op {
                    Op::Link(n, i) => {
                        names.insert(n.clone(), *i);
                    }
                    Op::Rename(f, t, i) => {
                        names.remove(f);
                        names.insert(t.clone(), *i);
                    }
                    Op::Unlink(n) => {
                        names.remove(n);
                    }
                }
            }
            log.push_str(&format!(
                "{}: kept {keep_ops} of {:?}\n",
                dir.display(),
                d.pending
            ));
            // Current contents by inode, for what is still linked.
            let mut current: HashMap<Ino, Vec<u8>> = HashMap::new();
            for (name, i) in listing(dir) {
                if let Ok(b) = std::fs::read(dir.join(&name)) {
                    current.insert(i, b);
                }
            }
            let mut after = Vec::new();
            for (name, i) in &names {
                let durable = model.files.get(i).map_or(&[][..], Vec::as_slice);
                let now = current.get(i).map(Vec::as_slice);
                let bytes = survivor(durable, now, loss, &mut rng);
                if now != Some(&bytes[..]) {
                    log.push_str(&format!(
                        "  {}: {} bytes now, {} fsynced, {} kept{}\n",
                        name.to_string_lossy(),
                        now.map_or(0, <[u8]>::len),
                        durable.len(),
                        bytes.len(),
                        if bytes == durable {
                            " (as fsynced)"
                        } else {
                            ""
                        },
                    ));
                }
                after.push((name.clone(), bytes));
            }
            for name in listing(dir).keys() {
                std::fs::remove_file(dir.join(name)).expect("power loss: remove");
            }
            for (name, bytes) in after {
                std::fs::write(dir.join(name), bytes).expect("power loss: write");
            }
        }
        log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_kills_the_thread_and_torn_writes_keep_a_prefix() {
        reset();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true);
        let f = open(&opts, &path, "segment.create").unwrap();
        arm("append.write", 1, Action::Torn(8));
        write_all_at(&f, b"hello", 0, "append.write").unwrap();
        assert!(write_all_at(&f, b"world", 5, "append.write").is_err());
        assert!(dead() && fired());
        assert!(
            sync_data(&f, "log.fsync").is_err(),
            "a dead thread does nothing"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"hellowor");
        reset();
    }

    #[test]
    fn power_loss_keeps_what_was_synced() {
        reset();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("old"), b"old").unwrap();
        record(&[d]);
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true);
        let f = open(&opts, &d.join("new"), "segment.create").unwrap();
        write_all_at(&f, b"synced", 0, "append.write").unwrap();
        sync_data(&f, "log.fsync").unwrap();
        write_all_at(&f, b"+lost", 6, "append.write").unwrap();
        rename(&d.join("old"), &d.join("moved"), "atomic.rename").unwrap();
        let dir_file = File::open(d).unwrap();
        // The creation of "new" and the rename are made durable here...
        sync_dir(&dir_file, d, "atomic.dir_fsync").unwrap();
        // ...this removal is not.
        remove_file(&d.join("moved"), "retention.remove_deleted").unwrap();
        power_loss(Loss::Synced);
        assert_eq!(std::fs::read(d.join("new")).unwrap(), b"synced");
        assert_eq!(std::fs::read(d.join("moved")).unwrap(), b"old");
        assert!(!d.join("old").exists());
        reset();
    }

    #[test]
    fn unsynced_creation_vanishes_and_unsynced_rename_is_undone() {
        reset();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a"), b"A").unwrap();
        record(&[d]);
        let mut opts = OpenOptions::new();
        opts.write(true).create(true);
        let f = open(&opts, &d.join("tmp"), "atomic.create").unwrap();
        write_all(&mut &f, b"B", "atomic.write").unwrap();
        sync_all(&f, "atomic.fsync").unwrap();
        rename(&d.join("tmp"), &d.join("a"), "atomic.rename").unwrap();
        power_loss(Loss::Synced);
        assert_eq!(std::fs::read(d.join("a")).unwrap(), b"A");
        assert!(!d.join("tmp").exists());
        reset();
    }
}
