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
use serde_json::Value;

use crate::context::Context;
use crate::jq::{JqError, JqFilter, RunError};
use crate::output::write_jq_result;
use crate::terminal::ProcessIo;

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
    let child = Command::new(exe)
        .env_clear()
        .envs(context.vars().iter().map(|(name, value)| (name, value)))
        .arg(COMMAND)
        .arg(filter.expression())
        .arg(mode_name(mode))
        .stdin(Stdio::piped())
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
    let mut payload = String::new();
    if let Err(error) = stdin.lock().read_to_string(&mut payload) {
        return fail(
            &stderr,
            code::NOT_STARTED,
            &format!("could not read the payload: {error}"),
        );
    }
    let shared = std::sync::Arc::new((payload, environment, stdout));
    let spawn = |stack: usize| {
        let (expression, shared) = (expression.to_owned(), std::sync::Arc::clone(&shared));
        std::thread::Builder::new()
            .name("jq".to_owned())
            .stack_size(stack)
            .spawn(move || {
                let (payload, environment, stdout) = &*shared;
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
    payload: &str,
    environment: &[(std::ffi::OsString, std::ffi::OsString)],
    mode: OutputMode,
    (stdout, on_terminal): (&io::Stdout, bool),
) -> Result<u64, RunError> {
    let filter = JqFilter::compile(expression).map_err(RunError::Jq)?;
    let mut stdout = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut results: u64 = 0;
    let mut emit = |value: Value| {
        results += 1;
        write_jq_result(&value, mode, &mut stdout)?;
        if on_terminal {
            stdout.flush()?;
        }
        Ok(())
    };
    filter.run_streaming_before_exit(payload, environment, &mut emit)?;
    stdout.flush().map_err(RunError::Output)?;
    Ok(results)
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
