//! How a `consume` run is told to stop from outside the library: Ctrl-C and SIGTERM, and a
//! reader of stdout that goes away. Binary-only: the library installs no signal handler and
//! owns no stdout; both wake the consumer through the channel it waits on
//! ([`klog::consume::Consumer::waker`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// Set by Ctrl-C or SIGTERM.
static STOP: AtomicBool = AtomicBool::new(false);
/// Set when the reader of stdout has gone away (see [`watch_stdout`]).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// How long a run stopped by a signal has to finish cleanly before it is ended anyway.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Whether Ctrl-C or SIGTERM asked the run to stop.
#[inline(always)]
pub fn requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The error of a reader gone away, if it has: a write to a closed pipe gives it, and
/// `report` turns it into a quiet exit 0.
pub fn stdout_closed() -> anyhow::Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
    }
    Ok(())
}

/// Ctrl-C and SIGTERM end a run cleanly: what was read is flushed (and committed), status 0.
/// A run that cannot get there (blocked writing to a reader that stopped reading, or in a
/// read that does not return) is ended anyway, a moment later or at a second signal, with
/// the status of a process killed by SIGINT: nothing is committed that was not flushed.
pub fn on_signal(wake: Sender<()>) {
    let _ = ctrlc::set_handler(move || {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        let _ = wake.send(());
        std::thread::spawn(|| {
            std::thread::sleep(STOP_GRACE);
            std::process::exit(130);
        });
    });
}

/// Watches stdout on a thread of its own and, when its reader goes away, sets
/// [`STDOUT_CLOSED`] and wakes the consume loop through `wake`. poll(2) reports `POLLERR` on
/// a pipe whose read end is closed and `POLLHUP` on a socket or terminal that hung up, with
/// nothing written: a follower waiting for records would otherwise see the closed pipe only
/// at its next write, after the next record, and a group member would keep its partitions
/// until then. A file or /dev/null never reports either, so the thread just waits.
pub fn watch_stdout(wake: Sender<()>) {
    let spawned = std::thread::Builder::new()
        .name("stdout-watch".into())
        .spawn(move || {
            loop {
                let mut fd = libc::pollfd {
                    fd: libc::STDOUT_FILENO,
                    events: 0,
                    revents: 0,
                };
                // SAFETY: `fd` is one valid, initialized pollfd, and the count passed is 1.
                #[allow(unsafe_code)]
                let n = unsafe { libc::poll(&mut fd, 1, -1) };
                if n < 0 {
                    if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    return;
                }
                if fd.revents & libc::POLLNVAL != 0 {
                    // No stdout at all: writes report that themselves.
                    return;
                }
                if fd.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                    STDOUT_CLOSED.store(true, Ordering::SeqCst);
                    let _ = wake.send(());
                    return;
                }
            }
        });
    // Without the thread, a closed pipe is still seen at the next write.
    drop(spawned);
}
