//! `produce`'s input files read through memory maps instead of `read`: the page cache's own
//! pages are split into records, with no copy into a buffer first (about a tenth of a second
//! of system time per GB on Linux, where a page fault maps several file pages at once). It
//! stays in the binary: a library must not install signal handlers.
//!
//! A file is mapped a window at a time ([`WINDOW`] bytes, aligned), so the mapped pages that
//! count in the process's memory stay bounded whatever the input's size. The size is read
//! again at the end of each window, so a file that grows while it is read is read to its new
//! end, as `read` would.
//!
//! A mapped file that shrinks (`truncate`, logrotate's `copytruncate`) makes the next access
//! beyond its new end fault with `SIGBUS`. The handler installed here recognizes a fault in a
//! live window, writes one line to stderr and exits with status 1 at once: the batches
//! already appended stay in the log (they are complete or cut at recovery), but are not
//! fsynced. Any other `SIGBUS` goes to the handler that was there before (Rust's own).
//!
//! The handler is installed once per process, by the first thread that maps a window (a
//! `OnceLock`), and it reads the action it replaces in the same `sigaction` call that
//! installs it, so no change made meanwhile is lost. It assumes that nothing else in the
//! process changes `SIGBUS`'s action afterwards (nothing in klog does): such a change would
//! silently turn a shrinking input into a crash, or chain to a stale handler.
//!
//! Only Linux maps; elsewhere, and for anything but a regular file of at least one window
//! (pipes, terminals, `/proc` files whose size says nothing), `produce` reads. A pipe on
//! standard input is widened to 1 MiB first ([`widen_pipe`]): seven times fewer context
//! switches between the writer upstream and `produce` (29 000 to 4 000 for 1 GB here).

use std::fs::File;
use std::io;

/// Bytes per window, and their alignment in the file: 2 MiB, the size the kernel can map in
/// one piece.
pub const WINDOW: u64 = 2 << 20;

/// A mapped part of an input file, registered with the `SIGBUS` handler while it lives.
pub struct Window {
    map: memmap2::Mmap,
    #[cfg(target_os = "linux")]
    slot: usize,
}

impl std::ops::Deref for Window {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

#[cfg(target_os = "linux")]
impl Drop for Window {
    fn drop(&mut self) {
        sigbus::unregister(self.slot);
    }
}

/// A regular file read window by window from its current position.
pub struct MappedInput {
    file: File,
    pos: u64,
}

impl MappedInput {
    /// `file` to be read through maps, or `file` itself back when it is better read: not a
    /// regular file, smaller than one window, or not on Linux.
    pub fn new(file: File) -> Result<MappedInput, File> {
        if !cfg!(target_os = "linux") {
            return Err(file);
        }
        use std::io::Seek;
        let mut f = &file;
        let pos = match (file.metadata(), f.stream_position()) {
            (Ok(m), Ok(pos)) if m.is_file() && m.len() >= pos.saturating_add(WINDOW) => pos,
            _ => return Err(file),
        };
        Ok(MappedInput { file, pos })
    }

    /// The next window, or `None` at the end of the file as it is now. On `None` the file
    /// position is left at the end, as reading it to the end would (a shared standard input
    /// goes on from there).
    pub fn next_window(&mut self) -> io::Result<Option<Window>> {
        use std::io::{Seek, SeekFrom};
        let len = self.file.metadata()?.len();
        if self.pos >= len {
            (&self.file).seek(SeekFrom::Start(self.pos))?;
            return Ok(None);
        }
        let end = (self.pos / WINDOW + 1) * WINDOW;
        let n = (end.min(len) - self.pos) as usize;
        let map = map(&self.file, self.pos, n)?;
        self.pos += n as u64;
        Ok(Some(map))
    }

    /// The file, positioned after the windows mapped so far (to go on reading it).
    pub fn into_file(self) -> io::Result<File> {
        use std::io::{Seek, SeekFrom};
        (&self.file).seek(SeekFrom::Start(self.pos))?;
        Ok(self.file)
    }
}

/// Makes the pipe `file` is (if it is one) hold 1 MiB, up from 64 KiB: a writer that gets
/// ahead fills it in bigger steps, and each read takes more at once.
pub fn widen_pipe(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::FileTypeExt;
        if file.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
            // A failure (a limit lower than 1 MiB) leaves the pipe as it was.
            let _ = rustix::pipe::fcntl_setpipe_size(file, 1 << 20);
        }
    }
}

#[cfg(target_os = "linux")]
fn map(file: &File, pos: u64, n: usize) -> io::Result<Window> {
    sigbus::install();
    // Not populated here: the thread that splits the window faults its pages in, several at
    // a time (the kernel's fault-around). `MAP_POPULATE` on this thread walks them one by
    // one and measured slower, its CPU time taken from the writer thread's core.
    //
    // SAFETY: the mapping is read-only and private to this window. Another process may
    // still truncate the file under it: a read beyond the new end faults with SIGBUS, which
    // `sigbus` turns into an error exit for the addresses registered just below, before
    // anything reads the window.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::MmapOptions::new().offset(pos).len(n).map(file)? };
    let slot = sigbus::register(map.as_ptr() as usize, map.len())?;
    Ok(Window { map, slot })
}

#[cfg(not(target_os = "linux"))]
fn map(_: &File, _: u64, _: usize) -> io::Result<Window> {
    Err(io::Error::other("input maps are Linux only"))
}

/// The `SIGBUS` handler and the address ranges of the live windows it answers for.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod sigbus {
    use std::io;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// More than the windows that can be alive at once (those queued for the main thread,
    /// the one it splits and the one being mapped).
    const SLOTS: usize = 32;

    /// Start and end address of each live window; a start of 0 is a free slot.
    static START: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
    static END: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

    /// The action before ours, for faults that are not in a window (set once, before ours
    /// can run).
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    const MESSAGE: &[u8] = b"klog: error: an input file shrank while it was being read; \
        the records appended before are kept but not fsynced\n";

    pub fn install() {
        PREVIOUS.get_or_init(|| {
            // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value, and the
            // handler has the signature SA_SIGINFO asks for. One call installs ours and
            // returns the old action, so nothing set in between is lost. Until `PREVIOUS`
            // is set (no window is registered before it is), the handler falls back to the
            // default action.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(libc::SIGBUS, &action, &mut old);
                old
            }
        });
    }

    pub fn register(start: usize, len: usize) -> io::Result<usize> {
        for (slot, s) in START.iter().enumerate() {
            if s.load(Ordering::Acquire) == 0 {
                if let Some(e) = END.get(slot) {
                    e.store(start + len, Ordering::Release);
                }
                if s.compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return Ok(slot);
                }
            }
        }
        Err(io::Error::other("too many input windows mapped at once"))
    }

    pub fn unregister(slot: usize) {
        if let Some(s) = START.get(slot) {
            s.store(0, Ordering::Release);
        }
    }

    /// Only async-signal-safe calls: atomic loads, `write` and `_exit`.
    extern "C" fn on_sigbus(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let addr = unsafe { (*info).si_addr() } as usize;
        let ours = START.iter().zip(&END).any(|(s, e)| {
            let start = s.load(Ordering::Acquire);
            start != 0 && start <= addr && addr < e.load(Ordering::Acquire)
        });
        if ours {
            // SAFETY: write(2) and _exit(2) are async-signal-safe.
            unsafe {
                libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
                libc::_exit(1);
            }
        }
        // Not a window: hand the fault to the previous action. Put it back and return, so
        // the faulting access runs again under it (a handler, or the default: a core dump).
        // SAFETY: sigaction and signal are async-signal-safe; `old` is a copy of what
        // sigaction itself returned.
        unsafe {
            match PREVIOUS.get() {
                Some(old) => {
                    libc::sigaction(libc::SIGBUS, old, std::ptr::null_mut());
                }
                None => {
                    libc::signal(libc::SIGBUS, libc::SIG_DFL);
                }
            }
        }
        let _ = (signal, context);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    /// Windows start where the file position stood, end on 2 MiB boundaries, cover every byte
    /// once, pick up what was appended meanwhile, and leave the position at the end.
    #[test]
    fn windows_cover_the_file_from_its_position_and_follow_its_growth() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        let bytes: Vec<u8> = (0..5 * WINDOW + 123).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes[..3 * WINDOW as usize]).unwrap();
        let mut file = File::open(&path).unwrap();
        let from = 1000;
        file.seek(SeekFrom::Start(from)).unwrap();
        let shared = file.try_clone().unwrap();
        let mut input = MappedInput::new(shared).ok().unwrap();

        let mut got = Vec::new();
        let mut ends = Vec::new();
        while let Some(w) = input.next_window().unwrap() {
            got.extend_from_slice(&w);
            ends.push(from + got.len() as u64);
            if ends.len() == 1 {
                // The file grows while it is being read.
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                f.write_all(&bytes[3 * WINDOW as usize..]).unwrap();
            }
        }
        assert!(
            got == bytes[from as usize..],
            "the windows' bytes differ from the file's"
        );
        let len = bytes.len() as u64;
        assert!(
            ends.iter().all(|&e| e % WINDOW == 0 || e == len),
            "windows end off 2 MiB boundaries: {ends:?}"
        );
        assert_eq!(file.stream_position().unwrap(), len);
    }

    /// A file smaller than a window, or one whose size says nothing (/proc), comes back to
    /// be read.
    #[test]
    fn small_and_proc_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small");
        std::fs::write(&path, vec![b'x'; WINDOW as usize - 1]).unwrap();
        assert!(MappedInput::new(File::open(&path).unwrap()).is_err());
        assert!(MappedInput::new(File::open("/proc/self/status").unwrap()).is_err());
    }
}
