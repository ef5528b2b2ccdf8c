//! `--jq` filters run in a child process of the host (`baseten __jq EXPR MODE`), so that no
//! filter can take the host down with it: a filter that recurses without end overflows the
//! child's stack, and the host, still holding the payload (maybe a new key that can never be
//! fetched again), reports one error line instead of dying.
//!
//! The payload goes to the child on its stdin; the child writes each result to the user's
//! stdout as soon as it is produced (stdout is inherited), so results stream and a closed pipe
//! stops the filter. Its stderr comes back to the host: anything a filter printed there
//! (`debug`, `stderr`), then, after a marker, the one line saying why it failed.

use std::io::{self, Read, Write};
use std::process::{Command, ExitCode, ExitStatus, Stdio};

use baseten_plugin_api::OutputMode;

use crate::context::Context;
use crate::jq::{JqError, JqFilter, JqOutput, RunError};
use crate::terminal::ProcessIo;

/// Every allocation of the process goes through [`arena::Allocator`]: the system's, except
/// while the `__jq` child reads its payload.
#[global_allocator]
static ALLOCATOR: arena::Allocator = arena::Allocator;

/// The hidden command's name.
pub const COMMAND: &str = "__jq";

/// Stack of the thread that runs a filter: deep but finite filters (a value nested ten
/// thousand levels) fit; the memory is only committed as it is used.
const FILTER_STACK_BYTES: usize = 256 << 20;

/// The stack tried next when the system refuses to reserve the large one (strict overcommit
/// limits): shallower filters still run.
const FALLBACK_STACK_BYTES: usize = 16 << 20;

/// Starts the child's last stderr line, the reason it failed.
const MARKER: &[u8] = b"\x1ejq-failure:";

/// The child's exit codes.
mod code {
    /// The filter failed; the reason follows the marker.
    pub const FILTER_FAILED: u8 = 1;
    /// Stdout was closed under the filter (a broken pipe).
    pub const STDOUT_CLOSED: u8 = 3;
    /// Writing to stdout failed otherwise (a full disk); the reason follows the marker.
    pub const STDOUT_FAILED: u8 = 4;
    /// The child could not start its work (bad arguments, unreadable stdin).
    pub const NOT_STARTED: u8 = 5;
    /// The filter ran to its end without a single result.
    pub const NOTHING_PRINTED: u8 = 6;
}

/// How a filter run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every result was written.
    Done,
    /// The filter ended without a result: nothing was written.
    Empty,
    /// The filter failed; one line saying why (no `jq error:` in front).
    Failed(String),
    /// Writing a result to stdout failed.
    Output(io::Error),
    /// Every result, captured rather than written (see [`run`]'s `capture`).
    Captured(Vec<u8>),
    /// The results outgrew the capture limit; the filter was stopped.
    TooLarge,
}

/// Runs `filter` over `payload` in a child process, its results going straight to this
/// process's stdout (flush anything buffered for stdout first), or, with `capture`, collected
/// up to that many bytes and returned (beyond, the filter is stopped). What the filter printed
/// on stderr is passed on to `stderr`.
/// The child is `context`'s executable, started with its environment (the filter's `$ENV`).
pub fn run(
    context: &Context,
    filter: &JqFilter,
    payload: &str,
    mode: OutputMode,
    capture: Option<usize>,
    stderr: &mut dyn Write,
) -> Outcome {
    let exe = match context.current_exe() {
        Ok(exe) => exe,
        Err(error) => return Outcome::Failed(format!("could not start the filter: {error}")),
    };
    let payload_file = payload_file(payload);
    let child = Command::new(exe)
        .env_clear()
        .envs(context.vars().iter().map(|(name, value)| (name, value)))
        .arg(COMMAND)
        .arg(filter.expression())
        .arg(mode_name(mode))
        .stdin(match &payload_file {
            Some(file) => match file.try_clone() {
                Ok(file) => Stdio::from(file),
                Err(_) => Stdio::piped(),
            },
            None => Stdio::piped(),
        })
        .stdout(if capture.is_some() {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => return Outcome::Failed(format!("could not start the filter: {error}")),
    };
    context.terminal().filter_child(Some(child.id()));
    // Read beside stderr, so that neither pipe fills up; past the limit the pipe is closed,
    // and the filter's next write stops it.
    let collector = match (capture, child.stdout.take()) {
        (Some(limit), Some(output)) => Some(std::thread::spawn(move || {
            let mut results = Vec::new();
            let limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            let _ = output.take(limit).read_to_end(&mut results);
            results
        })),
        _ => None,
    };
    drop(payload_file);
    if let Some(mut input) = child.stdin.take() {
        // A child that stopped early (stdout closed at once) reads nothing: its status says why.
        let _ = input.write_all(payload.as_bytes());
    }
    let mut report = Vec::new();
    if let Some(mut output) = child.stderr.take() {
        let _ = output.read_to_end(&mut report);
    }
    let status = child.wait();
    context.terminal().filter_child(None);
    let captured = collector.map(|collector| collector.join().unwrap_or_default());
    let (printed, reason) = split_report(&report);
    // After a crash, stderr ends with the runtime's own words: not for users.
    let ended_normally = status.as_ref().is_ok_and(|status| status.code().is_some());
    if ended_normally && !printed.is_empty() {
        for line in String::from_utf8_lossy(printed).lines() {
            let _ = writeln!(stderr, "{}", crate::secrets::scrub(line));
        }
    }
    if let (Some(limit), Some(captured)) = (capture, &captured)
        && captured.len() > limit
    {
        return Outcome::TooLarge;
    }
    match (status, captured) {
        (Ok(status), Some(captured)) => match outcome(status, reason) {
            Outcome::Done => Outcome::Captured(captured),
            other => other,
        },
        (Ok(status), None) => outcome(status, reason),
        (Err(error), _) => Outcome::Failed(format!("could not wait for the filter: {error}")),
    }
}

/// What the filter printed, and the failure line after the marker (if any).
fn split_report(report: &[u8]) -> (&[u8], Option<String>) {
    let found = report
        .windows(MARKER.len())
        .rposition(|window| window == MARKER);
    match found {
        Some(at) => {
            let reason = String::from_utf8_lossy(&report[at + MARKER.len()..])
                .trim()
                .to_owned();
            (&report[..at], Some(reason))
        }
        None => (report, None),
    }
}

fn outcome(status: ExitStatus, reason: Option<String>) -> Outcome {
    let reason_or = |fallback: &str| reason.clone().unwrap_or_else(|| fallback.to_owned());
    match status.code() {
        Some(0) => Outcome::Done,
        Some(code) if code == i32::from(code::NOTHING_PRINTED) => Outcome::Empty,
        Some(code) if code == i32::from(code::FILTER_FAILED) => {
            Outcome::Failed(reason_or("the filter failed"))
        }
        Some(code) if code == i32::from(code::STDOUT_CLOSED) => Outcome::Output(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "stdout is closed",
        )),
        Some(code) if code == i32::from(code::STDOUT_FAILED) => {
            Outcome::Output(io::Error::other(reason_or("write failed")))
        }
        Some(code) if code == i32::from(code::NOT_STARTED) => {
            Outcome::Failed(reason_or("the filter could not start"))
        }
        // Killed by a signal (a stack overflow aborts), or a crash with an odd code.
        _ => Outcome::Failed(
            "the filter recursed too deeply or ran out of memory, and was stopped".to_owned(),
        ),
    }
}

fn mode_name(mode: OutputMode) -> &'static str {
    if mode == OutputMode::Jsonl {
        "jsonl"
    } else {
        "json"
    }
}

/// The child's side: `args` are `EXPR MODE`; the payload is on stdin.
pub fn child_main(args: &[std::ffi::OsString], process: ProcessIo) -> ExitCode {
    let ProcessIo {
        stdin,
        stdout,
        stderr,
        stdout_is_terminal,
        environment,
    } = process;
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag of this process. If the host dies
    // (Ctrl-C), the filter dies with it instead of running on.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let (Some(expression), Some(mode)) = (
        args.first().and_then(|arg| arg.to_str()),
        args.get(1).and_then(|arg| arg.to_str()),
    ) else {
        return fail(&stderr, code::NOT_STARTED, "usage: __jq EXPR json|jsonl");
    };
    let mode = if mode == "jsonl" {
        OutputMode::Jsonl
    } else {
        OutputMode::Json
    };
    let payload = match read_payload(&stdin) {
        Ok(payload) => payload,
        Err(error) => {
            return fail(
                &stderr,
                code::NOT_STARTED,
                &format!("could not read the payload: {error}"),
            );
        }
    };
    let shared = std::sync::Arc::new((environment, stdout));
    let spawn = |stack: usize| {
        let (expression, shared) = (expression.to_owned(), std::sync::Arc::clone(&shared));
        std::thread::Builder::new()
            .name("jq".to_owned())
            .stack_size(stack)
            .spawn(move || {
                let (environment, stdout) = &*shared;
                filter_to_stdout(
                    &expression,
                    payload,
                    environment,
                    mode,
                    (stdout, stdout_is_terminal),
                )
            })
    };
    let worker = spawn(FILTER_STACK_BYTES).or_else(|_| spawn(FALLBACK_STACK_BYTES));
    let result = match worker {
        Ok(worker) => worker.join().unwrap_or_else(|_| {
            Err(RunError::Jq(JqError::Runtime(
                "the filter stopped unexpectedly".to_owned(),
            )))
        }),
        Err(error) => Err(RunError::Jq(JqError::Runtime(format!(
            "could not start the filter: {error}"
        )))),
    };
    match result {
        Ok(0) => ExitCode::from(code::NOTHING_PRINTED),
        Ok(_) => ExitCode::SUCCESS,
        Err(RunError::Jq(error)) => fail(&stderr, code::FILTER_FAILED, &error.to_string()),
        Err(RunError::Output(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(code::STDOUT_CLOSED)
        }
        Err(RunError::Output(error)) => fail(&stderr, code::STDOUT_FAILED, &error.to_string()),
    }
}

/// Compiles and runs the filter, each result written to stdout as it comes (on a terminal, each
/// one shown at once; into a pipe or file, in large writes). Returns how many results there were.
fn filter_to_stdout(
    expression: &str,
    payload: &'static str,
    environment: &[(std::ffi::OsString, std::ffi::OsString)],
    mode: OutputMode,
    (stdout, on_terminal): (&io::Stdout, bool),
) -> Result<u64, RunError> {
    let filter = JqFilter::compile(expression).map_err(RunError::Jq)?;
    let mut stdout = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut results: u64 = 0;
    let mut emit = |output: JqOutput<'_>| {
        results += 1;
        output.write(mode, &mut stdout)?;
        if on_terminal {
            stdout.flush().map_err(RunError::Output)?;
        }
        Ok(())
    };
    filter.run_streaming_before_exit(payload, environment, &mut emit)?;
    stdout.flush().map_err(RunError::Output)?;
    Ok(results)
}

/// The payload in an anonymous in-memory file, to be the child's stdin: the child maps it
/// instead of reading it through a pipe (no copy on either side of a pipe, no wait for each
/// other). `None` where there is no such file: the payload then goes through a pipe.
#[cfg(target_os = "linux")]
fn payload_file(payload: &str) -> Option<std::fs::File> {
    use std::io::Seek;
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create takes a NUL-terminated name and flags; it returns a new descriptor
    // that nothing else owns, or -1.
    let fd = unsafe { libc::memfd_create(c"baseten-jq".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a new descriptor owned by nothing else; the file closes it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(payload.as_bytes()).ok()?;
    file.rewind().ok()?;
    Some(file)
}

#[cfg(not(target_os = "linux"))]
fn payload_file(_payload: &str) -> Option<std::fs::File> {
    None
}

/// The payload on stdin, for the rest of the process's life: mapped when stdin is a file (what
/// the host hands over), else read whole. Either way never freed: the filter's strings point
/// into it.
fn read_payload(stdin: &io::Stdin) -> io::Result<&'static str> {
    #[cfg(unix)]
    if let Some(mapped) = map_stdin() {
        return std::str::from_utf8(mapped).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        });
    }
    let mut payload = String::new();
    stdin.lock().read_to_string(&mut payload)?;
    Ok(payload.leak())
}

/// Stdin mapped into memory, if it is a regular file that is not empty.
#[cfg(unix)]
fn map_stdin() -> Option<&'static [u8]> {
    // SAFETY: fstat writes into the zeroed struct it is given.
    let mut status: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: descriptor 0 is this process's stdin; fstat only reads it.
    if unsafe { libc::fstat(0, &mut status) } != 0 || status.st_mode & libc::S_IFMT != libc::S_IFREG
    {
        return None;
    }
    let length = usize::try_from(status.st_size)
        .ok()
        .filter(|&length| length > 0)?;
    #[cfg(target_os = "linux")]
    let flags = libc::MAP_PRIVATE | libc::MAP_POPULATE;
    #[cfg(not(target_os = "linux"))]
    let flags = libc::MAP_PRIVATE;
    // SAFETY: a new read-only private mapping of `length` bytes of stdin, at an address the
    // system chooses; checked for failure below.
    let address = unsafe { libc::mmap(std::ptr::null_mut(), length, libc::PROT_READ, flags, 0, 0) };
    if address == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: the mapping is `length` readable bytes and is never unmapped. The host wrote the
    // file before starting this process and keeps no other handle on it.
    Some(unsafe { std::slice::from_raw_parts(address.cast::<u8>(), length) })
}

fn fail(stderr: &io::Stderr, exit: u8, reason: &str) -> ExitCode {
    let mut stderr = stderr.lock();
    let _ = stderr.write_all(MARKER);
    let _ = writeln!(stderr, "{reason}");
    ExitCode::from(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_line_is_split_from_what_the_filter_printed() {
        let mut report = b"[\"debug\",1]\n".to_vec();
        report.extend_from_slice(MARKER);
        report.extend_from_slice(b"boom\n");
        let (printed, reason) = split_report(&report);
        assert_eq!(printed, b"[\"debug\",1]\n");
        assert_eq!(reason.as_deref(), Some("boom"));
        assert_eq!(split_report(b"fatal runtime error\n").1, None);
    }
}

/// Allocation for the payload's values in the `__jq` child: from one large mapping, by moving
/// a pointer, never freed. The child reads a payload into a million small values (a box per
/// string, a table per object) that live until it exits: `malloc` would spend most of its time
/// on bookkeeping that is never used, and grows a thread's heap a few pages at a time (a
/// system call each). Only the reading allocates here ([`arena::reading`]); the filter's own
/// allocations, freed as it goes, use the system allocator, and so does everything else. A
/// block from the mapping is never reused: freeing one does nothing.
pub mod arena {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// The system allocator, with the mapping beside it while [`reading`] runs.
    pub struct Allocator;

    static START: AtomicUsize = AtomicUsize::new(0);
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    static END: AtomicUsize = AtomicUsize::new(0);
    static ACTIVE: AtomicBool = AtomicBool::new(false);

    /// Address space reserved per byte of payload: the values of a listing take about six
    /// times its text; beyond the mapping, allocations go to the system allocator.
    const RESERVE_PER_BYTE: usize = 16;
    /// Address space reserved besides.
    const RESERVE_BASE: usize = 64 << 20;

    /// Runs `read` (reading a payload of `length` bytes into values that are never freed)
    /// with its allocations served from a mapping of their own, when one can be made.
    pub fn reading<T>(length: usize, read: impl FnOnce() -> T) -> T {
        let reserved = reserve(
            length
                .saturating_mul(RESERVE_PER_BYTE)
                .saturating_add(RESERVE_BASE),
        );
        let result = read();
        if reserved {
            ACTIVE.store(false, Ordering::Release);
        }
        result
    }

    /// Maps `bytes` of address space, committed only as it is touched.
    #[cfg(unix)]
    fn reserve(bytes: usize) -> bool {
        if START.load(Ordering::Acquire) != 0 {
            // Once per process: blocks of the first mapping must still be told apart.
            return false;
        }
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANON;
        // SAFETY: a new anonymous mapping at an address the system chooses; checked below.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return false;
        }
        let start = address as usize;
        NEXT.store(start, Ordering::Relaxed);
        END.store(start + bytes, Ordering::Relaxed);
        START.store(start, Ordering::Release);
        ACTIVE.store(true, Ordering::Release);
        true
    }

    #[cfg(not(unix))]
    fn reserve(_bytes: usize) -> bool {
        false
    }

    /// A block of the mapping, if it has room.
    fn bump(layout: Layout) -> Option<*mut u8> {
        let end = END.load(Ordering::Relaxed);
        let mut next = NEXT.load(Ordering::Relaxed);
        loop {
            let start = next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
            let stop = start.checked_add(layout.size())?;
            if stop > end {
                return None;
            }
            match NEXT.compare_exchange_weak(next, stop, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(start as *mut u8),
                Err(moved) => next = moved,
            }
        }
    }

    fn owns(pointer: *mut u8) -> bool {
        let address = pointer as usize;
        let start = START.load(Ordering::Acquire);
        start != 0 && address >= start && address < END.load(Ordering::Relaxed)
    }

    // SAFETY: every block is either the system allocator's, handled by it, or a block of the
    // mapping: aligned as asked (`bump`), never handed out twice, zeroed (fresh anonymous
    // memory never reused) and never unmapped, so valid until the process ends.
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if ACTIVE.load(Ordering::Acquire)
                && let Some(block) = bump(layout)
            {
                return block;
            }
            // SAFETY: the caller's layout, passed on.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if ACTIVE.load(Ordering::Acquire)
                && let Some(block) = bump(layout)
            {
                return block;
            }
            // SAFETY: the caller's layout, passed on.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
            if !owns(pointer) {
                // SAFETY: a block of the system allocator, with the layout it was given.
                unsafe { System.dealloc(pointer, layout) }
            }
        }

        unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, size: usize) -> *mut u8 {
            if !owns(pointer) {
                // SAFETY: a block of the system allocator, with its layout and a valid size.
                return unsafe { System.realloc(pointer, layout, size) };
            }
            // SAFETY: the caller guarantees that `size` with this alignment is a valid layout.
            let grown = unsafe { Layout::from_size_align_unchecked(size, layout.align()) };
            // SAFETY: as `alloc`.
            let moved = unsafe { self.alloc(grown) };
            if !moved.is_null() {
                // SAFETY: both blocks hold at least the smaller size and do not overlap (a
                // block of the mapping is never handed out twice).
                unsafe { std::ptr::copy_nonoverlapping(pointer, moved, layout.size().min(size)) };
            }
            moved
        }
    }
}
