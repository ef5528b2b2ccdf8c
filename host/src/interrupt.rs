//! Ctrl-C: say `Canceled.` and exit 130 at any point, without unwinding through plugin code.
//!
//! Files the tool writes are written to a temporary file and renamed into place, so stopping at
//! any instruction leaves either the old file or the new one, never half of one; the temporary
//! file being written, if any, is removed first (`files::remove_temporaries`).

/// Installs the handler. Cheap: one system call at start-up.
#[cfg(unix)]
pub fn install() {
    extern "C" fn on_interrupt(_signal: libc::c_int) {
        const MESSAGE: &[u8] = b"Canceled.\n";
        crate::files::remove_temporaries();
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is a static.
        unsafe {
            libc::write(libc::STDERR_FILENO, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(130);
        }
    }
    let handler: extern "C" fn(libc::c_int) = on_interrupt;
    // SAFETY: the handler calls only async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// Elsewhere the platform's default (the process ends) stays.
#[cfg(not(unix))]
pub fn install() {}
