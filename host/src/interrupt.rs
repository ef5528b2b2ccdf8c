//! Ctrl-C: say `Canceled.` and exit 130 at any point, without unwinding through plugin code.
//!
//! Files the tool writes are written to a temporary file and renamed into place, so stopping at
//! any instruction leaves either the old file or the new one, never half of one; the temporary
//! file being written, if any, is removed first (`files::remove_temporaries`).
//!
//! Output that can never be fetched again (a new key) is published here before it is shown, and
//! withdrawn once it was fully written: Ctrl-C in between (a slow `--jq`, a stalled pipe) prints
//! it on stdout before `Canceled.`, so the key is not lost. A `--jq` child process is stopped too.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// The published output: a leaked buffer and its length (null when none).
static PENDING: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static PENDING_LEN: AtomicUsize = AtomicUsize::new(0);
/// The running `--jq` child process, 0 when none.
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Installs the handler. Cheap: one system call at start-up.
#[cfg(unix)]
pub fn install() {
    extern "C" fn on_interrupt(_signal: libc::c_int) {
        const MESSAGE: &[u8] = b"Canceled.\n";
        crate::files::remove_temporaries();
        let child = CHILD.load(Ordering::SeqCst);
        let pending = PENDING.load(Ordering::SeqCst);
        let length = PENDING_LEN.load(Ordering::SeqCst);
        // SAFETY: kill(2), write(2) and _exit(2) are async-signal-safe; the pending buffer is
        // leaked, so it stays valid whatever the interrupted code was doing; the message is a
        // static.
        unsafe {
            if child > 0 {
                libc::kill(child, libc::SIGKILL);
            }
            if !pending.is_null() {
                write_all(libc::STDOUT_FILENO, pending, length);
            }
            write_all(libc::STDERR_FILENO, MESSAGE.as_ptr(), MESSAGE.len());
            libc::_exit(130);
        }
    }
    let handler: extern "C" fn(libc::c_int) = on_interrupt;
    // SAFETY: the handler calls only async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
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

/// The published output was fully shown: Ctrl-C no longer prints it.
pub fn withdraw() {
    PENDING.store(std::ptr::null_mut(), Ordering::SeqCst);
}

/// The `--jq` child process to stop on Ctrl-C (0: none).
pub fn set_child(pid: u32) {
    CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}
