//! Executable plugins: a `baseten-plugin-<name>` program spoken to in JSON lines on its stdin and
//! stdout ([`baseten_plugin_api::pipe`]). This module owns the child process and the protocol:
//! reading a manifest (`describe`, given up on after [`DESCRIBE_TIMEOUT`]) and running a command
//! (`invoke`, serving the plugin's `http`, `log` and `confirm` through the same
//! [`HostFunctions`] a library is lent, until its `result`).
//!
//! The plugin never sees a secret-carrying variable ([`plugin_environment`]), never outlives the
//! host (killed on Ctrl-C through the terminal, `PR_SET_PDEATHSIG` on Linux, killed and reaped
//! by [`Plugin`]'s `Drop` on every way out of a run), and nothing it writes is quoted back: a bad
//! line is described by its length or the parser's position only.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use baseten_plugin_api::PLUGIN_API_VERSION;
use baseten_plugin_api::abi::HostFunctions;
use baseten_plugin_api::pipe::{self, HostMessage, PipeLogLevel, PluginMessage, ResultLine};

use super::cache::Examined;
use super::probe::ProbeAnswer;
use super::services::PluginServices;
use crate::context::Context;
use crate::log::Logger;
use crate::terminal::Terminal;

/// How long a plugin may take to answer `describe` before it is killed.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a variable may carry a secret: never passed to a plugin process.
pub fn is_secret_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper == crate::env_vars::API_KEY
        || [
            "TOKEN",
            "SECRET",
            "PASSWORD",
            "PASSWD",
            "API_KEY",
            "APIKEY",
            "CREDENTIAL",
            "PRIVATE_KEY",
        ]
        .iter()
        .any(|word| upper.contains(word))
        // `STRIPE_KEY`, `BASETEN_KEY`: a name ending in `KEY` names a key.
        || upper.ends_with("KEY")
        || ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"].contains(&upper.as_str())
}

/// Whether a value is a secret whatever its variable is called: an API key alone (a key kept as
/// `BASETEN_KEY`), or a URL with a password (`postgres://user:password@host`, a proxy under any
/// name).
pub fn is_secret_value(value: &str) -> bool {
    let value = value.trim();
    if crate::secrets::api_keys_in(value).first() == Some(&value) {
        return true;
    }
    value.match_indices("://").any(|(at, _)| {
        let rest = &value[at + 3..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        authority
            .rfind('@')
            .is_some_and(|end| authority[..end].contains(':'))
    })
}

/// The environment a plugin process gets: the user's, minus every secret-carrying variable.
pub fn plugin_environment(vars: &[(OsString, OsString)]) -> Vec<(OsString, OsString)> {
    vars.iter()
        .filter(|(name, value)| {
            !is_secret_variable(&name.to_string_lossy())
                && !is_secret_value(&value.to_string_lossy())
        })
        .cloned()
        .collect()
}

/// The longest line the plugin may write in this run: [`pipe::MAX_MESSAGE_BYTES`], or in a debug
/// build what `BASETEN_DEBUG_PIPE_LINE_LIMIT` says, so that the limit is tested end to end
/// without writing a gibibyte.
fn line_limit(context: &Context) -> usize {
    #[cfg(debug_assertions)]
    if let Some(limit) = context
        .var_os(crate::env_vars::DEBUG_PIPE_LINE_LIMIT)
        .and_then(|value| value.to_str()?.parse().ok())
    {
        return limit;
    }
    let _ = context;
    pipe::MAX_MESSAGE_BYTES
}

/// A line read from the plugin.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A complete line, without its line break.
    Text(Vec<u8>),
    /// Longer than the limit: the rest is not read.
    TooLong,
    /// The plugin closed its stdout.
    End,
}

/// Reads one line of at most `limit` bytes (its line break not counted).
fn read_line(reader: &mut impl BufRead, limit: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    let read = reader
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(Line::End);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        return Ok(Line::Text(line));
    }
    if line.len() > limit {
        return Ok(Line::TooLong);
    }
    // The last line, without a line break.
    Ok(Line::Text(line))
}

/// What a line that is not a message is, in words that never quote it.
fn unreadable(line: &[u8], error: &serde_json::Error) -> String {
    // A line that is a JSON object with an unknown `type` asks for a service this host lacks;
    // one with the `type` of a host's message (an answer echoed back) is out of turn.
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(line)
        && let Some(serde_json::Value::String(kind)) = object.get("type")
    {
        match kind.as_str() {
            "manifest" | "http" | "log" | "confirm" | "result" => {}
            "describe" | "invoke" | "http_outcome" | "confirm_answer" => {
                return format!("sent `{kind}` out of turn, a message only the host sends");
            }
            _ => {
                return format!(
                    "asked for an unknown service `{}`",
                    crate::sanitize::cut(&crate::sanitize::printable(kind), 40)
                );
            }
        }
    }
    format!(
        "wrote a line that is not a protocol message: {}",
        parser_words(error)
    )
}

/// What the parser said about a line, without any of the line: a syntax error names what was
/// expected and where; a value of the wrong type or an unknown variant, which the parser would
/// quote, is given by its position only.
pub fn parser_words(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Data => format!(
            "a value that does not fit the message at line {} column {}",
            error.line(),
            error.column()
        ),
        _ => error.to_string(),
    }
}

fn limit_words(limit: usize) -> String {
    if limit >= 1 << 30 && limit.is_multiple_of(1 << 30) {
        format!("{} GiB", limit >> 30)
    } else {
        format!("{limit} bytes")
    }
}

/// A started plugin process: killed and reaped when dropped, whatever happened.
struct Plugin<'a> {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Its stdout; a `describe` hands it to the thread that reads the answer.
    stdout: Option<ChildStdout>,
    /// The terminal whose Ctrl-C handler knows the pid, for a run.
    terminal: Option<&'a Terminal>,
}

impl<'a> Plugin<'a> {
    /// Starts `path` with the scrubbed environment, stdin and stdout piped.
    fn start(
        context: &Context,
        path: &Path,
        stderr: Stdio,
        terminal: Option<&'a Terminal>,
    ) -> io::Result<(Self, Option<std::process::ChildStderr>)> {
        let mut command = Command::new(path);
        command
            .env_clear()
            .envs(plugin_environment(context.vars()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            let host = i32::try_from(std::process::id()).unwrap_or(0);
            // SAFETY: prctl(2) and getppid(2) are async-signal-safe and touch no memory of the
            // parent. A host that died before the prctl took effect is caught by the check.
            unsafe {
                command.pre_exec(move || {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    if libc::getppid() != host {
                        return Err(io::Error::other("the host is gone"));
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn()?;
        if let Some(terminal) = terminal {
            terminal.plugin_child(Some(child.id()));
        }
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("no pipe to the plugin"));
        };
        Ok((
            Self {
                child,
                stdin,
                stdout: Some(stdout),
                terminal,
            },
            stderr,
        ))
    }

    /// Writes one message line; a plugin that stopped reading is noticed by what it does next.
    fn send(&mut self, message: &HostMessage) -> io::Result<()> {
        let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
        line.push(b'\n');
        match &mut self.stdin {
            Some(stdin) => stdin.write_all(&line).and_then(|()| stdin.flush()),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// The Ctrl-C handler no longer kills this process: done before it is reaped, after which its
    /// pid could be another process's. (On Linux it still dies with the host.)
    fn forget_pid(&mut self) {
        if let Some(terminal) = self.terminal.take() {
            terminal.plugin_child(None);
        }
    }

    /// Waits up to `grace` for the process to end by itself, then kills it.
    fn finish(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.stdin = None;
        self.forget_pid();
        let deadline = Instant::now() + grace;
        // Told of the exit by the kernel where it can (a pidfd), instead of looking repeatedly.
        #[cfg(target_os = "linux")]
        if let Some(exited) = wait_for_exit(self.child.id(), grace) {
            if exited && let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if !exited {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
        }
        // A plugin that sent its result is usually gone within microseconds: look again soon,
        // then less often, so that a run does not wait a whole polling step for it.
        let mut pause = Duration::from_micros(20);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(2));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return None;
                }
            }
        }
    }
}

impl Drop for Plugin<'_> {
    fn drop(&mut self) {
        self.stdin = None;
        // Killed first (a killed process keeps its pid until reaped), forgotten, then reaped.
        let _ = self.child.kill();
        self.forget_pid();
        let _ = self.child.wait();
    }
}

/// Waits up to `grace` for process `pid` (a child not yet reaped) to end, through a pidfd that
/// becomes readable when it does: whether it ended, or `None` where pidfds are missing (Linux
/// before 5.3), for the caller to look by itself.
#[cfg(target_os = "linux")]
fn wait_for_exit(pid: u32, grace: Duration) -> Option<bool> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1; it
    // touches no memory of this process.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: `fd` was just returned by pidfd_open and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let deadline = Instant::now() + grace;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match poll_one(fd.as_raw_fd(), left) {
            Ok(ready) => return Some(ready),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
}

/// Waits up to `timeout` for `fd` to be readable (or closed at the other end): whether it is.
#[cfg(unix)]
fn poll_one(fd: std::os::fd::RawFd, timeout: Duration) -> io::Result<bool> {
    let mut entry = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // Rounded up, so that a wait is never shorter than asked.
    let millis = timeout.as_micros().div_ceil(1000);
    let millis = libc::c_int::try_from(millis).unwrap_or(libc::c_int::MAX);
    // SAFETY: poll(2) reads and writes the one `pollfd` it is given.
    let ready = unsafe { libc::poll(&mut entry, 1, millis) };
    if ready < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ready > 0)
}

/// How a process that ended early ended, `before` what: `exited with status 3 before its
/// result`, `was killed by signal SIGSEGV before its manifest`.
fn ended(status: Option<ExitStatus>, before: &str) -> String {
    let Some(status) = status else {
        return format!("closed its output before {before}");
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!(
                "was killed by signal {} before {before}",
                super::probe::signal_name(signal)
            );
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code} before {before}"),
        None => format!("ended before {before}"),
    }
}

/// Reads the manifests of the executables at `paths`, all started at once and each given
/// [`DESCRIBE_TIMEOUT`]; answers in the order of `paths`.
pub fn read_manifests(context: &Context, paths: &[PathBuf]) -> Vec<ProbeAnswer> {
    let deadline = Instant::now() + DESCRIBE_TIMEOUT;
    let started: Vec<_> = paths
        .iter()
        .map(|path| start_describe(context, path))
        .collect();
    started
        .into_iter()
        .map(|started| {
            let (examined, timed_out) = match started {
                Ok(describing) => describing.finish(deadline),
                Err(why) => (Examined::Failed(why), false),
            };
            ProbeAnswer {
                examined,
                hint: Some(format!(
                    "an executable plugin answers `describe` with a manifest for plugin API {PLUGIN_API_VERSION}; see docs/plugin-protocol.md"
                )),
                interrupted: false,
                timed_out,
            }
        })
        .collect()
}

/// Reads one executable's manifest.
pub fn read_one(context: &Context, path: &Path) -> ProbeAnswer {
    read_manifests(context, &[path.to_path_buf()])
        .pop()
        .unwrap_or_else(|| ProbeAnswer {
            examined: Examined::Failed("could not be checked".to_owned()),
            hint: None,
            interrupted: false,
            timed_out: false,
        })
}

/// A plugin answering `describe`, with the thread reading its one line.
struct Describing {
    plugin: Plugin<'static>,
    line: mpsc::Receiver<io::Result<Line>>,
}

fn start_describe(context: &Context, path: &Path) -> Result<Describing, String> {
    let (mut plugin, _) = Plugin::start(context, path, Stdio::null(), None)
        .map_err(|error| format!("could not be started: {error}"))?;
    let _ = plugin.send(&HostMessage::Describe {
        plugin_api_version: PLUGIN_API_VERSION.to_owned(),
    });
    plugin.stdin = None;
    // The line is read by a thread, so a plugin that never answers can be given up on; the
    // thread ends when the killed plugin's pipe closes.
    let (sender, line) = mpsc::channel();
    let Some(stdout) = plugin.stdout.take() else {
        return Err("its output cannot be read".to_owned());
    };
    let limit = line_limit(context);
    std::thread::Builder::new()
        .name("plugin-describe".to_owned())
        .spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let _ = sender.send(read_line(&mut stdout, limit));
        })
        .map_err(|error| format!("could not start a thread: {error}"))?;
    Ok(Describing { plugin, line })
}

impl Describing {
    /// What the plugin's answer says, and whether it gave none in time.
    fn finish(self, deadline: Instant) -> (Examined, bool) {
        let timeout = deadline.saturating_duration_since(Instant::now());
        match self.line.recv_timeout(timeout) {
            Ok(line) => (self.read(line, deadline), false),
            Err(_) => {
                let mut plugin = self.plugin;
                let _ = plugin.child.kill();
                let why = format!(
                    "did not answer `describe` within {} s",
                    DESCRIBE_TIMEOUT.as_secs()
                );
                (Examined::Failed(why), true)
            }
        }
    }

    fn read(mut self, line: io::Result<Line>, deadline: Instant) -> Examined {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match line {
            Ok(Line::Text(line)) => {
                let message = match serde_json::from_slice::<PluginMessage>(&line) {
                    Ok(message) => message,
                    Err(error) => {
                        self.plugin.finish(Duration::ZERO);
                        return Examined::Failed(unreadable(&line, &error));
                    }
                };
                let PluginMessage::Manifest { manifest } = message else {
                    self.plugin.finish(Duration::ZERO);
                    return Examined::Failed(
                        "answered `describe` with another message than its manifest".to_owned(),
                    );
                };
                self.plugin.finish(remaining.min(Duration::from_secs(1)));
                let json = serde_json::to_string(&manifest).unwrap_or_default();
                super::read_manifest(&json)
            }
            Ok(Line::TooLong) => {
                self.plugin.finish(Duration::ZERO);
                Examined::Failed(format!(
                    "wrote a message over {}",
                    limit_words(pipe::MAX_MESSAGE_BYTES)
                ))
            }
            Ok(Line::End) | Err(_) => {
                let status = self.plugin.finish(remaining);
                Examined::Failed(ended(status, "its manifest"))
            }
        }
    }
}

/// The plugin's stderr, relayed to the `-v` log line by line prefixed `[NAME] `, made printable
/// and scrubbed; without `-v` it is read and dropped, so the plugin never blocks on a full pipe.
/// The receiver hears when the plugin's stderr has closed (or never, if no thread started);
/// `wrote` is set once a line with something to show was read.
fn relay_stderr(
    stderr: std::process::ChildStderr,
    name: String,
    logger: Logger,
    wrote: Arc<AtomicBool>,
) -> mpsc::Receiver<()> {
    let (closed, receiver) = mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("plugin-stderr".to_owned())
        .spawn(move || {
            let mut reader = BufReader::new(stderr);
            loop {
                let line = match read_line(&mut reader, 4096) {
                    Ok(Line::Text(line)) => String::from_utf8_lossy(&line).into_owned(),
                    Ok(Line::TooLong) => {
                        // The rest of the line is skipped too: shown alone, a piece of a key cut
                        // off from its prefix is not recognised by the scrubber.
                        let _ = reader.skip_until(b'\n');
                        "(a line too long to show)".to_owned()
                    }
                    Ok(Line::End) | Err(_) => {
                        let _ = closed.send(());
                        return;
                    }
                };
                if !line.trim().is_empty() {
                    wrote.store(true, Ordering::Relaxed);
                }
                if logger.enabled(1) {
                    logger.info(&format!("[{name}] {}", crate::sanitize::printable(&line)));
                }
            }
        });
    receiver
}

/// Runs one command of the executable plugin `name` at `path`: writes `invoke` with
/// `invocation`, serves its requests through `services` until its `result`, and returns that
/// `result` line (a [`ResultLine`]).
pub fn invoke(
    context: &Context,
    logger: &Logger,
    services: &PluginServices<'_>,
    name: &str,
    path: &Path,
    invocation: baseten_plugin_api::protocol::Invocation,
) -> Result<String, RunFailure> {
    let (mut plugin, stderr) =
        Plugin::start(context, path, Stdio::piped(), Some(context.terminal())).map_err(
            |error| RunFailure {
                why: format!("could not be started: {error}"),
                wrote_stderr: false,
            },
        )?;
    let wrote = Arc::new(AtomicBool::new(false));
    let stderr_closed = stderr
        .map(|stderr| relay_stderr(stderr, name.to_owned(), logger.clone(), Arc::clone(&wrote)));
    let outcome = converse(context, services, &mut plugin, invocation);
    // The process is gone; what it wrote on stderr is logged before what comes next (a process
    // of its own still holding the pipe is not waited for long).
    drop(plugin);
    if let Some(closed) = stderr_closed {
        let _ = closed.recv_timeout(Duration::from_secs(2));
    }
    outcome.map_err(|why| RunFailure {
        why,
        wrote_stderr: wrote.load(Ordering::Relaxed),
    })
}

/// Why a run of an executable plugin failed.
#[derive(Debug)]
pub struct RunFailure {
    /// A sentence to follow `plugin `NAME` `.
    pub why: String,
    /// Whether the plugin wrote anything on stderr (shown under `-v`).
    pub wrote_stderr: bool,
}

/// How often a run whose plugin is silent looks whether the plugin is still there.
const EXIT_POLL: Duration = Duration::from_millis(50);

/// The plugin's stdout, read line by line as the run asks: on Unix by this thread, waiting with
/// poll(2) (each message wakes the host once); elsewhere by a thread of its own. A wait gives up
/// after a while, so that a plugin that exited while a process it started keeps the pipe open
/// is noticed ([`has_exited`]).
struct Lines {
    #[cfg(unix)]
    stdout: ChildStdout,
    /// Read and not yet returned.
    #[cfg(unix)]
    buffer: Vec<u8>,
    /// What one read(2) fills, allocated (and zeroed) once.
    #[cfg(unix)]
    chunk: Vec<u8>,
    /// How much of `buffer` is known to hold no line break.
    #[cfg(unix)]
    searched: usize,
    /// The end of the output was read.
    #[cfg(unix)]
    ended: bool,
    #[cfg(unix)]
    limit: usize,
    #[cfg(not(unix))]
    lines: mpsc::Receiver<io::Result<Line>>,
}

impl Lines {
    #[cfg(unix)]
    fn new(stdout: ChildStdout, limit: usize) -> Result<Self, String> {
        Ok(Self {
            stdout,
            buffer: Vec::new(),
            chunk: vec![0; 64 * 1024],
            searched: 0,
            ended: false,
            limit,
        })
    }

    #[cfg(not(unix))]
    fn new(stdout: ChildStdout, limit: usize) -> Result<Self, String> {
        // No line is read ahead of the one being served: the plugin waits for each answer.
        let (sender, lines) = mpsc::sync_channel(0);
        std::thread::Builder::new()
            .name("plugin-stdout".to_owned())
            .spawn(move || {
                let mut stdout = BufReader::new(stdout);
                loop {
                    let line = read_line(&mut stdout, limit);
                    let last = !matches!(line, Ok(Line::Text(_)));
                    if sender.send(line).is_err() || last {
                        return;
                    }
                }
            })
            .map_err(|error| format!("could not start a thread: {error}"))?;
        Ok(Self { lines })
    }

    /// The next line, or `None` when none came within `timeout`.
    #[cfg(not(unix))]
    fn next(&mut self, timeout: Duration) -> Option<io::Result<Line>> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Some(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Ok(Line::End)),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
        }
    }

    /// The next line, or `None` when none came within `timeout`; as [`read_line`] reads them.
    #[cfg(unix)]
    fn next(&mut self, timeout: Duration) -> Option<io::Result<Line>> {
        use std::os::fd::AsRawFd;
        loop {
            if let Some(line) = self.take_line() {
                return Some(Ok(line));
            }
            match poll_one(self.stdout.as_raw_fd(), timeout) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Some(Err(error)),
            }
            // At most what the limit still allows, plus the line break, is read.
            let room = (self.limit + 1)
                .saturating_sub(self.buffer.len())
                .clamp(1, self.chunk.len());
            match self.stdout.read(&mut self.chunk[..room]) {
                Ok(0) => self.ended = true,
                Ok(read) => self.buffer.extend_from_slice(&self.chunk[..read]),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// A line complete in the buffer, taken out of it; or what the buffer holds once that can
    /// no longer become a line: over the limit, or the last line at the end of the output.
    #[cfg(unix)]
    fn take_line(&mut self) -> Option<Line> {
        let unsearched = &self.buffer[self.searched..];
        match unsearched.iter().position(|byte| *byte == b'\n') {
            Some(at) => {
                let at = self.searched + at;
                if at > self.limit {
                    return Some(Line::TooLong);
                }
                let mut line: Vec<u8> = self.buffer.drain(..=at).collect();
                self.searched = 0;
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Some(Line::Text(line))
            }
            None if self.buffer.len() > self.limit => Some(Line::TooLong),
            None => {
                self.searched = self.buffer.len();
                if !self.ended {
                    return None;
                }
                if self.buffer.is_empty() {
                    return Some(Line::End);
                }
                // The last line, without a line break.
                self.searched = 0;
                Some(Line::Text(std::mem::take(&mut self.buffer)))
            }
        }
    }
}

/// Whether the plugin process has ended. On Unix it is not reaped here (`WNOWAIT`): until it
/// is, its pid cannot be another process's, so the Ctrl-C handler may still hold it.
#[cfg(unix)]
fn has_exited(child: &mut Child) -> bool {
    let pid = libc::id_t::from(child.id());
    // SAFETY: waitid(2) writes only the zeroed `siginfo_t` it is given; with WNOHANG it does not
    // block and with WNOWAIT it leaves the child to be reaped by `Child`.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        ) == 0
            && info.si_pid() != 0
    }
}

#[cfg(not(unix))]
fn has_exited(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(Some(_)))
}

/// The conversation of one run, from `invoke` to `result`.
fn converse(
    context: &Context,
    services: &PluginServices<'_>,
    plugin: &mut Plugin<'_>,
    invocation: baseten_plugin_api::protocol::Invocation,
) -> Result<String, String> {
    let limit = line_limit(context);
    // A plugin that died at once is reported by how it ended, below.
    let _ = plugin.send(&HostMessage::Invoke {
        plugin_api_version: PLUGIN_API_VERSION.to_owned(),
        invocation,
    });
    let Some(stdout) = plugin.stdout.take() else {
        return Err("its output cannot be read".to_owned());
    };
    let mut lines = Lines::new(stdout, limit)?;
    // The process takes about a millisecond to start and ask for anything: the host sets up HTTP
    // meanwhile, instead of after the first request arrives.
    services.prepare();
    // When the plugin was first seen gone with its stdout still open (held by a process it
    // started): what it wrote before is still read, then the run ends.
    let mut gone_since: Option<Instant> = None;
    loop {
        let line = match lines.next(EXIT_POLL) {
            Some(line) => line,
            None => match gone_since {
                None => {
                    if has_exited(&mut plugin.child) {
                        gone_since = Some(Instant::now());
                    }
                    continue;
                }
                Some(since) if since.elapsed() < EXIT_POLL * 4 => continue,
                Some(_) => Ok(Line::End),
            },
        };
        let line = match line {
            Ok(Line::Text(line)) => line,
            Ok(Line::TooLong) => {
                return Err(format!("wrote a message over {}", limit_words(limit)));
            }
            Ok(Line::End) | Err(_) => {
                let status = plugin.finish(Duration::from_secs(1));
                return Err(ended(status, "its result"));
            }
        };
        let message = match serde_json::from_slice::<PluginMessage>(&line) {
            Ok(message) => message,
            Err(error) => {
                if serde_json::from_slice::<ResultLine<'_>>(&line).is_ok() {
                    // A result: its payload stays raw JSON, which a message tagged by `type`
                    // cannot hold, so it is read here and by dispatch (which also says when its
                    // inside is not one this host reads). The plugin gets its moment to exit.
                    plugin.finish(Duration::from_secs(1));
                    return String::from_utf8(line)
                        .map_err(|_| "wrote a result that is not UTF-8".to_owned());
                }
                return Err(unreadable(&line, &error));
            }
        };
        match message {
            PluginMessage::Http { id, request } => {
                let outcome = services.send_request(&request);
                plugin
                    .send(&HostMessage::HttpOutcome { id, outcome })
                    .map_err(|_| "stopped reading before the answer to its request".to_owned())?;
            }
            PluginMessage::Log { level, message } => {
                let level = match level {
                    PipeLogLevel::Info => 1,
                    PipeLogLevel::Debug => 2,
                };
                services.log(level, &message);
            }
            PluginMessage::Confirm { id, prompt } => {
                let yes = services.confirm(&prompt);
                plugin
                    .send(&HostMessage::ConfirmAnswer { id, yes })
                    .map_err(|_| "stopped reading before the answer to its question".to_owned())?;
            }
            PluginMessage::Result { .. } => {
                plugin.finish(Duration::from_secs(1));
                return String::from_utf8(line)
                    .map_err(|_| "wrote a result that is not UTF-8".to_owned());
            }
            PluginMessage::Manifest { .. } => {
                return Err("sent its manifest out of turn, during a command".to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_variables_are_not_passed_on() {
        for secret in [
            "BASETEN_API_KEY",
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "DB_PASSWORD",
            "MY_PASSWD",
            "OPENAI_API_KEY",
            "baseten_api_key",
            "Baseten_Api_Key",
            "STRIPE_KEY",
            "BASETEN_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "SOME_APIKEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "SSH_PRIVATE_KEY",
            "https_proxy",
            "HTTP_PROXY",
            "all_proxy",
        ] {
            assert!(is_secret_variable(secret), "{secret}");
        }
        for harmless in [
            "PATH",
            "HOME",
            "BASETEN_PROFILE",
            "LANG",
            "NO_PROXY",
            "KEYMAP",
        ] {
            assert!(!is_secret_variable(harmless), "{harmless}");
        }
        for secret in [
            "abcd1234.0123456789abcdefghij",
            " abcd1234.0123456789abcdefghij\n",
            "postgres://ada:hunter2@db.internal:5432/app",
            "http://user:pw@proxy:3128",
        ] {
            assert!(is_secret_value(secret), "{secret}");
        }
        for harmless in [
            "/usr/bin:/home/ada/projects.0123456789abcdefghij/bin",
            "https://api.baseten.co",
            "ssh://git@github.com/org/repo",
            "https://example.com/a:b@c",
            "en_US.UTF-8",
        ] {
            assert!(!is_secret_value(harmless), "{harmless}");
        }
        let vars = vec![
            (OsString::from("PATH"), OsString::from("/bin")),
            (
                OsString::from("BASETEN_API_KEY"),
                OsString::from("abcd1234.x"),
            ),
        ];
        assert_eq!(
            plugin_environment(&vars),
            vec![(OsString::from("PATH"), OsString::from("/bin"))]
        );
    }

    #[test]
    fn lines_over_the_limit_are_refused_without_reading_them_whole() {
        let mut input = io::Cursor::new(b"12345\n123456\nlast".to_vec());
        assert_eq!(
            read_line(&mut input, 5).expect("reads"),
            Line::Text(b"12345".to_vec())
        );
        assert_eq!(read_line(&mut input, 5).expect("reads"), Line::TooLong);
        let mut input = io::Cursor::new(b"ab\r\nlast".to_vec());
        assert_eq!(
            read_line(&mut input, 5).expect("reads"),
            Line::Text(b"ab".to_vec())
        );
        assert_eq!(
            read_line(&mut input, 5).expect("reads"),
            Line::Text(b"last".to_vec())
        );
        assert_eq!(read_line(&mut input, 5).expect("reads"), Line::End);
    }

    #[cfg(unix)]
    #[test]
    fn lines_read_with_poll_are_cut_as_read_line_cuts_them() {
        // A line in two writes, one over the limit after a short one, the last without a break.
        let mut child = Command::new("sh")
            .args(["-c", "printf 'ab\\r\\n12'; sleep 0.1; printf '345\\nlast'"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("starts sh");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = Lines::new(stdout, 5).expect("reads");
        let mut next = || {
            lines
                .next(Duration::from_secs(10))
                .expect("in time")
                .expect("reads")
        };
        assert_eq!(next(), Line::Text(b"ab".to_vec()));
        assert_eq!(next(), Line::Text(b"12345".to_vec()));
        assert_eq!(next(), Line::Text(b"last".to_vec()));
        assert_eq!(next(), Line::End);
        let _ = child.wait();

        let mut child = Command::new("sh")
            .args(["-c", "printf '1\\n123456\\n'; exec sleep 5"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("starts sh");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = Lines::new(stdout, 5).expect("reads");
        assert_eq!(
            lines
                .next(Duration::from_secs(10))
                .expect("in time")
                .expect("reads"),
            Line::Text(b"1".to_vec())
        );
        assert_eq!(
            lines
                .next(Duration::from_secs(10))
                .expect("in time")
                .expect("reads"),
            Line::TooLong
        );
        let _ = child.kill();
        let _ = child.wait();

        // A writer still there and silent: no line within the wait.
        let mut child = Command::new("sh")
            .args(["-c", "exec sleep 5"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("starts sh");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = Lines::new(stdout, 5).expect("reads");
        assert!(lines.next(Duration::from_millis(20)).is_none());
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn a_bad_line_is_described_never_quoted() {
        let line = br#"{"type":"launch_missiles","secret":"abcd1234.zzz"}"#;
        let error = serde_json::from_slice::<PluginMessage>(line).expect_err("unknown");
        assert_eq!(
            unreadable(line, &error),
            "asked for an unknown service `launch_missiles`"
        );
        let line = br#"{"type":"http","id":"abcd1234.zzz"}"#;
        let error = serde_json::from_slice::<PluginMessage>(line).expect_err("wrong type");
        let words = unreadable(line, &error);
        assert!(!words.contains("abcd1234"), "{words}");
        assert!(
            words.starts_with(
                "wrote a line that is not a protocol message: a value that does not fit"
            ),
            "{words}"
        );
        let line = b"hello abcd1234.zzz";
        let error = serde_json::from_slice::<PluginMessage>(line).expect_err("not json");
        let words = unreadable(line, &error);
        assert!(
            words.starts_with("wrote a line that is not a protocol message: expected"),
            "{words}"
        );
        assert!(!words.contains("abcd1234"), "{words}");
        assert_eq!(limit_words(pipe::MAX_MESSAGE_BYTES), "1 GiB");
    }
}
