//! Ctrl-C: say `Canceled.` and exit 130 at any point, without unwinding through plugin code.
//! `SIGTERM` and `SIGHUP` are handled the same way (exit 143 with `Terminated.`, exit 129), so
//! `timeout`, `kill` or a closed terminal never lose a new key either.
//!
//! Files the tool writes are written to a temporary file and renamed into place, so stopping at
//! any instruction leaves either the old file or the new one, never half of one; the temporary
//! file being written, if any, is removed first (`files::remove_temporaries`).
//!
//! Output that can never be fetched again (a new key) is published here before it is shown, and
//! withdrawn once it was fully written: Ctrl-C in between (a slow `--jq`, a stalled pipe) prints
//! it on stdout before `Canceled.`, so the key is not lost. A `--jq` child process and an
//! executable plugin's process are killed too.
//!
//! This is the one writer that goes around the run's [`Terminal`](crate::terminal::Terminal):
//! the handler runs in a signal context, where only async-signal-safe calls are allowed, so it
//! cannot take the terminal's locks (the interrupted code may hold them) and writes to
//! descriptors 1 and 2 with `write(2)`. Its state is process-wide for the same reason. Commands
//! publish output through [`Terminal::publish_unseen`](crate::terminal::Terminal::publish_unseen),
//! and requests in flight and the `--jq` child reach it through the terminal too, which leaves
//! this state alone for a terminal over memory.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// The published output: a leaked buffer and its length (null when none).
static PENDING: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static PENDING_LEN: AtomicUsize = AtomicUsize::new(0);
/// The running `--jq` child process, 0 when none.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// The running executable plugin's process, 0 when none.
static PLUGIN: AtomicI32 = AtomicI32::new(0);
/// A warning about a request sent and not yet answered (a leaked buffer; null when none).
static IN_FLIGHT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static IN_FLIGHT_LEN: AtomicUsize = AtomicUsize::new(0);
/// Whether an interruption waits for the end of a [`Hold`].
static HOLDING: AtomicBool = AtomicBool::new(false);
/// The signal that arrived during a [`Hold`], 0 when none.
static HELD: AtomicI32 = AtomicI32::new(0);

/// Installs the handler for `SIGINT`, `SIGTERM` and `SIGHUP`. Cheap: a few system calls at
/// start-up. A signal ignored when the tool started (`nohup`) stays ignored.
#[cfg(unix)]
pub fn install() {
    extern "C" fn on_signal(signal: libc::c_int) {
        // The first signal during a hold waits for its end; a second one stops at once.
        if HOLDING.load(Ordering::SeqCst)
            && HELD
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            let note: &[u8] = b"Stopping once the renewed login is saved...\n";
            // SAFETY: write(2) is async-signal-safe; the note is a static.
            unsafe { write_all(libc::STDERR_FILENO, note.as_ptr(), note.len()) };
            return;
        }
        let message: &[u8] = match signal {
            libc::SIGINT => b"Canceled.\n",
            libc::SIGTERM => b"Terminated.\n",
            // The terminal is gone: nobody would read a word.
            _ => b"",
        };
        crate::files::remove_temporaries();
        let child = CHILD.load(Ordering::SeqCst);
        let plugin = PLUGIN.load(Ordering::SeqCst);
        let pending = PENDING.load(Ordering::SeqCst);
        let length = PENDING_LEN.load(Ordering::SeqCst);
        let in_flight = IN_FLIGHT.load(Ordering::SeqCst);
        let in_flight_length = IN_FLIGHT_LEN.load(Ordering::SeqCst);
        // SAFETY: kill(2), write(2) and _exit(2) are async-signal-safe; the pending buffer and
        // the warning are leaked, so they stay valid whatever the interrupted code was doing;
        // the message is a static.
        unsafe {
            if child > 0 {
                libc::kill(child, libc::SIGKILL);
            }
            if plugin > 0 {
                libc::kill(plugin, libc::SIGKILL);
            }
            if !pending.is_null() {
                write_all(libc::STDOUT_FILENO, pending, length);
            }
            if !in_flight.is_null() {
                write_all(libc::STDERR_FILENO, in_flight, in_flight_length);
            }
            write_all(libc::STDERR_FILENO, message.as_ptr(), message.len());
            libc::_exit(128 + signal);
        }
    }
    let handler: extern "C" fn(libc::c_int) = on_signal;
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler calls only async-signal-safe functions; a previous disposition
        // of "ignore" is put back at once.
        unsafe {
            let previous = libc::signal(signal, handler as libc::sighandler_t);
            if previous == libc::SIG_IGN {
                libc::signal(signal, libc::SIG_IGN);
            }
        }
    }
}

/// Writes `length` bytes from `data` to `fd`, retrying short writes; gives up on an error.
///
/// # Safety
/// `data` must be valid for `length` bytes.
#[cfg(unix)]
unsafe fn write_all(fd: libc::c_int, mut data: *const u8, mut length: usize) {
    while length > 0 {
        // SAFETY: the caller guarantees `data` is valid for `length` bytes.
        let written = unsafe { libc::write(fd, data.cast(), length) };
        let Ok(written) = usize::try_from(written) else {
            return;
        };
        if written == 0 {
            return;
        }
        // SAFETY: `written <= length`, so the pointer stays within the buffer.
        data = unsafe { data.add(written) };
        length -= written;
    }
}

/// Elsewhere the platform's default (the process ends) stays.
#[cfg(not(unix))]
pub fn install() {}

/// Publishes `output` for the handler to print on Ctrl-C, until [`withdraw`]. The buffer is
/// leaked on purpose: the handler may read it at any instant, so it is never freed.
pub fn publish(output: Vec<u8>) {
    let leaked: &'static mut [u8] = Vec::leak(output);
    PENDING.store(std::ptr::null_mut(), Ordering::SeqCst);
    PENDING_LEN.store(leaked.len(), Ordering::SeqCst);
    PENDING.store(leaked.as_mut_ptr(), Ordering::SeqCst);
}

/// Holds an interruption back until dropped: for the few steps that must not be cut in two, such
/// as renewing an OAuth login, where the server has spent the old refresh token as soon as it
/// read the request, and stopping before the new one is saved would log the profile out. The
/// first Ctrl-C says it waits, and takes effect when the hold ends; a second one stops at once.
#[must_use = "the hold ends when this is dropped"]
pub struct Hold(());

/// Starts a [`Hold`].
pub fn hold() -> Hold {
    HOLDING.store(true, Ordering::SeqCst);
    Hold(())
}

impl Drop for Hold {
    fn drop(&mut self) {
        HOLDING.store(false, Ordering::SeqCst);
        let signal = HELD.swap(0, Ordering::SeqCst);
        #[cfg(unix)]
        if signal != 0 {
            // SAFETY: raise(3) delivers the signal to this thread; the handler, no longer
            // holding, ends the process as it would have.
            unsafe {
                libc::raise(signal);
            }
        }
        #[cfg(not(unix))]
        let _ = signal;
    }
}

/// The published output was fully shown: Ctrl-C no longer prints it.
pub fn withdraw() {
    PENDING.store(std::ptr::null_mut(), Ordering::SeqCst);
}

/// The `--jq` child process to stop on Ctrl-C (0: none).
pub fn set_child(pid: u32) {
    CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}

/// The executable plugin's process to kill on Ctrl-C (0: none).
pub fn set_plugin(pid: u32) {
    PLUGIN.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}

/// A request that may change something (`POST`, `DELETE`) is about to be sent: until
/// [`answered`], an interruption warns that it may have been carried out. Only the method and
/// the path are quoted, never a query or a credential.
pub fn sending(method: &str, path: &str) {
    if method == "GET" || method == "HEAD" {
        return;
    }
    let warning = format!(
        "warning: {method} {} was sent and not answered: it may have been carried out\n",
        crate::secrets::scrub(path)
    );
    let leaked: &'static mut [u8] = Vec::leak(warning.into_bytes());
    IN_FLIGHT.store(std::ptr::null_mut(), Ordering::SeqCst);
    IN_FLIGHT_LEN.store(leaked.len(), Ordering::SeqCst);
    IN_FLIGHT.store(leaked.as_mut_ptr(), Ordering::SeqCst);
}

/// The request sent last was answered (or failed): no warning any more.
pub fn answered() {
    IN_FLIGHT.store(std::ptr::null_mut(), Ordering::SeqCst);
}
