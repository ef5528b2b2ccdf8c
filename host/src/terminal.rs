//! The one terminal of a run. [`Terminal`] holds the three standard streams, whether each is a
//! terminal, whether stdout was closed before the tool started, and the Ctrl-C hand-over of
//! output that cannot be shown again; it asks yes/no questions and reads a secret without echo
//! (termios on Unix, `rpassword` elsewhere). [`Context`](crate::context::Context) owns it, and
//! nothing else in the host touches the process's stdio or the terminal's settings: `clippy.toml`
//! disallows those functions everywhere but here. [`Terminal::from_process`] is the real one;
//! tests build one over in-memory streams (`Terminal::memory`) and read back what a command
//! wrote, so a whole run can be checked without a process. The signal handler in
//! [`interrupt`](crate::interrupt) is the one exception: it must write with raw descriptors from
//! a signal context, where no lock may be taken.

use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// An output stream shared by everything that writes to it in one run (rendering, the `-v`
/// logger, prompts); each writer takes the lock for as long as its lines must stay together.
pub type SharedWriter = Arc<Mutex<Box<dyn Write + Send>>>;

/// Where stdin is read from.
enum Input {
    /// The process's stdin: its lines are read through the runtime's own buffer, so nothing
    /// past the line asked for is taken from the process.
    Process(io::Stdin),
    /// Bytes given by a test.
    #[cfg(test)]
    Memory(io::Cursor<Vec<u8>>),
}

/// The standard streams and what is known about them (see the module documentation).
pub struct Terminal {
    stdin: Mutex<Input>,
    stdout: SharedWriter,
    stderr: SharedWriter,
    stdin_is_terminal: bool,
    stdout_is_terminal: bool,
    stderr_is_terminal: bool,
    stdout_closed: bool,
    /// The streams are the process's own: child processes may write to stdout directly, and the
    /// Ctrl-C handler prints on them.
    process: bool,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Terminal")
            .field("process", &self.process)
            .field("stdin_is_terminal", &self.stdin_is_terminal)
            .field("stdout_is_terminal", &self.stdout_is_terminal)
            .field("stderr_is_terminal", &self.stderr_is_terminal)
            .field("stdout_closed", &self.stdout_closed)
            .finish_non_exhaustive()
    }
}

/// Takes a lock even if a panic poisoned it: a stream stays usable for the error line.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Terminal {
    /// The process's own streams. Looks at stdout before anything is written to it.
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place the process's standard streams are taken"
    )]
    pub fn from_process() -> Self {
        use std::io::IsTerminal;
        let (stdin, stdout, stderr) = (io::stdin(), io::stdout(), io::stderr());
        Self {
            stdin_is_terminal: stdin.is_terminal(),
            stdout_is_terminal: stdout.is_terminal(),
            stderr_is_terminal: stderr.is_terminal(),
            stdout_closed: stdout_is_runtime_dev_null(),
            stdin: Mutex::new(Input::Process(stdin)),
            stdout: Arc::new(Mutex::new(Box::new(stdout))),
            stderr: Arc::new(Mutex::new(Box::new(stderr))),
            process: true,
        }
    }

    /// A terminal over memory: `stdin` is what is read, and what is written lands in the
    /// returned [`Captured`] buffers. Nothing is a terminal unless [`Terminal::pretend`] says so.
    #[cfg(test)]
    pub fn memory(stdin: &[u8]) -> (Self, Captured) {
        let captured = Captured::default();
        let terminal = Self {
            stdin: Mutex::new(Input::Memory(io::Cursor::new(stdin.to_vec()))),
            stdout: Arc::new(Mutex::new(Box::new(captured.stdout.clone()))),
            stderr: Arc::new(Mutex::new(Box::new(captured.stderr.clone()))),
            stdin_is_terminal: false,
            stdout_is_terminal: false,
            stderr_is_terminal: false,
            stdout_closed: false,
            process: false,
        };
        (terminal, captured)
    }

    /// Says which streams count as terminals (a test of prompts or colour).
    #[cfg(test)]
    pub fn pretend(mut self, stdin: bool, stdout: bool, stderr: bool) -> Self {
        self.stdin_is_terminal = stdin;
        self.stdout_is_terminal = stdout;
        self.stderr_is_terminal = stderr;
        self
    }

    pub fn stdin_is_terminal(&self) -> bool {
        self.stdin_is_terminal
    }

    pub fn stdout_is_terminal(&self) -> bool {
        self.stdout_is_terminal
    }

    pub fn stderr_is_terminal(&self) -> bool {
        self.stderr_is_terminal
    }

    /// Whether the user can be asked a question: stdin and stderr are both terminals.
    pub fn can_prompt(&self) -> bool {
        self.stdin_is_terminal && self.stderr_is_terminal
    }

    /// Whether stdout was closed when the process started (`>&-`). The Rust runtime then opens
    /// `/dev/null` read-write in its place, which a shell redirection never does, so output
    /// would vanish without an error: this tells that case apart.
    pub fn stdout_closed(&self) -> bool {
        self.stdout_closed
    }

    /// Whether stdout is the process's own, so that a child process may write to it directly
    /// (`--jq` results stream that way); in memory, such work stays in this process.
    pub fn stdout_is_inheritable(&self) -> bool {
        self.process
    }

    /// How wide help is wrapped, when the terminal says so rather than clap asking the process:
    /// in memory, 100 columns, what help gets without a terminal.
    pub fn help_width(&self) -> Option<usize> {
        (!self.process).then_some(100)
    }

    /// Stdout, locked until the guard is dropped.
    pub fn stdout(&self) -> MutexGuard<'_, Box<dyn Write + Send>> {
        lock(&self.stdout)
    }

    /// Stderr, locked until the guard is dropped. Take stdout first when both are needed.
    pub fn stderr(&self) -> MutexGuard<'_, Box<dyn Write + Send>> {
        lock(&self.stderr)
    }

    /// Stderr, for a writer that lives beside the terminal (the `-v` logger).
    pub fn shared_stderr(&self) -> SharedWriter {
        Arc::clone(&self.stderr)
    }

    /// The first line of stdin, at most `limit` bytes of it, line break included.
    pub fn read_line(&self, limit: u64) -> io::Result<String> {
        let mut line = String::new();
        match &mut *lock(&self.stdin) {
            Input::Process(stdin) => stdin.lock().take(limit).read_line(&mut line)?,
            #[cfg(test)]
            Input::Memory(bytes) => bytes.take(limit).read_line(&mut line)?,
        };
        Ok(line)
    }

    /// Asks `question` on stderr and reads the answer from stdin: `y` or `yes` (any case) is
    /// yes, anything else no. Whether to ask at all is the caller's ([`Terminal::can_prompt`]).
    pub fn confirm(&self, question: &str) -> io::Result<bool> {
        {
            let mut stderr = self.stderr();
            write!(stderr, "{question} ")?;
            stderr.flush()?;
        }
        let answer = self.read_line(u64::MAX)?;
        Ok(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        ))
    }

    /// Shows `prompt` on stderr and reads one line (at most `limit` bytes) from stdin without
    /// echo when stdin is the process's terminal. Ctrl-C still cancels, and the terminal's
    /// settings are put back as they were even then.
    pub fn read_secret(&self, prompt: &str, limit: u64) -> io::Result<String> {
        {
            let mut stderr = self.stderr();
            stderr.write_all(prompt.as_bytes())?;
            stderr.flush()?;
        }
        let mut input = lock(&self.stdin);
        match &mut *input {
            Input::Process(stdin) if self.stdin_is_terminal => hidden::read_line(stdin, limit),
            Input::Process(stdin) => {
                let mut line = String::new();
                stdin.lock().take(limit).read_line(&mut line)?;
                Ok(line)
            }
            #[cfg(test)]
            Input::Memory(bytes) => {
                let mut line = String::new();
                bytes.take(limit).read_line(&mut line)?;
                Ok(line)
            }
        }
    }

    /// Hands `output`, which can never be fetched again, to the Ctrl-C handler until
    /// [`Terminal::withdraw_unseen`]: an interruption prints it before `Canceled.`.
    pub fn publish_unseen(&self, output: Vec<u8>) {
        if self.process {
            crate::interrupt::publish(output);
        }
    }

    /// The published output was shown: Ctrl-C no longer prints it.
    pub fn withdraw_unseen(&self) {
        if self.process {
            crate::interrupt::withdraw();
        }
    }

    /// A request that may change something is about to be sent: until
    /// [`Terminal::request_answered`], Ctrl-C warns that it may have been carried out. Only the
    /// method and the path are quoted.
    pub fn request_sending(&self, method: &str, path: &str) {
        if self.process {
            crate::interrupt::sending(method, path);
        }
    }

    /// The request sent last was answered, or failed: Ctrl-C no longer warns about it.
    pub fn request_answered(&self) {
        if self.process {
            crate::interrupt::answered();
        }
    }

    /// The executable plugin's process Ctrl-C kills, or none.
    pub fn plugin_child(&self, pid: Option<u32>) {
        if self.process {
            crate::interrupt::set_plugin(pid.unwrap_or(0));
        }
    }

    /// The `--jq` child process Ctrl-C stops, or none.
    pub fn filter_child(&self, pid: Option<u32>) {
        if self.process {
            crate::interrupt::set_child(pid.unwrap_or(0));
        }
    }
}

/// A hidden command's own streams and environment. A hidden command is the whole of its
/// process, spoken to over pipes by the host that started it, not by a user: it has no
/// [`Terminal`] or [`Context`](crate::context::Context), and takes the process's stdio as it is.
pub struct ProcessIo {
    pub stdin: io::Stdin,
    pub stdout: io::Stdout,
    pub stderr: io::Stderr,
    /// Whether stdout is a terminal (results are then flushed one by one).
    pub stdout_is_terminal: bool,
    /// The variables it was started with (the user's, passed on by the host).
    pub environment: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

impl ProcessIo {
    /// The process's stdio and environment, for the hidden commands only: everything else goes
    /// through the run's [`Context`](crate::context::Context).
    #[allow(
        clippy::disallowed_methods,
        reason = "hidden commands are child processes that own their stdio (see ProcessIo)"
    )]
    pub fn take() -> Self {
        use std::io::IsTerminal;
        let stdout = io::stdout();
        Self {
            stdin: io::stdin(),
            stdout_is_terminal: stdout.is_terminal(),
            stdout,
            stderr: io::stderr(),
            environment: std::env::vars_os().collect(),
        }
    }
}

/// What a terminal over memory was given to write.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct Captured {
    pub stdout: Buffer,
    pub stderr: Buffer,
}

/// A growable byte buffer several writers share.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Buffer {
    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

#[cfg(test)]
impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
fn stdout_is_runtime_dev_null() -> bool {
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(null) = std::fs::metadata("/dev/null") else {
        return false;
    };
    // SAFETY: descriptor 1 is open (the runtime sees to it); the file is never dropped, so it
    // is never closed.
    let stdout =
        std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(libc::STDOUT_FILENO) });
    let Ok(opened) = stdout.metadata() else {
        return false;
    };
    // SAFETY: F_GETFL only reads the flags of descriptor 1.
    let flags = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFL) };
    opened.file_type().is_char_device()
        && null.file_type().is_char_device()
        && opened.rdev() == null.rdev()
        && flags >= 0
        && (flags & libc::O_ACCMODE) == libc::O_RDWR
}

#[cfg(not(unix))]
fn stdout_is_runtime_dev_null() -> bool {
    false
}

/// A line typed at the terminal without echo.
#[cfg(unix)]
mod hidden {
    use std::io::{self, BufRead, Read};
    use std::os::fd::AsRawFd;
    use std::sync::OnceLock;

    /// The terminal's settings before the prompt, for the interrupt handler to put back.
    static SAVED: OnceLock<(libc::c_int, libc::termios)> = OnceLock::new();

    extern "C" fn on_interrupt(_signal: libc::c_int) {
        const MESSAGE: &[u8] = b"\nCanceled.\n";
        // SAFETY: tcsetattr(3), write(2) and _exit(2) are async-signal-safe; `SAVED` is set
        // before this handler is installed and never changes after.
        #[allow(
            clippy::disallowed_methods,
            reason = "the terminal's settings are put back here, from the signal handler"
        )]
        unsafe {
            if let Some((fd, settings)) = SAVED.get() {
                libc::tcsetattr(*fd, libc::TCSANOW, settings);
            }
            libc::write(libc::STDERR_FILENO, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(130);
        }
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "echo is turned off and back on here, and nowhere else"
    )]
    pub fn read_line(stdin: &io::Stdin, limit: u64) -> io::Result<String> {
        let fd = stdin.as_raw_fd();
        let mut original = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: `fd` is this process's stdin; tcgetattr fills `original` when it returns 0.
        let original = if unsafe { libc::tcgetattr(fd, original.as_mut_ptr()) } == 0 {
            // SAFETY: tcgetattr returned 0, so it initialised the value.
            Some(unsafe { original.assume_init() })
        } else {
            None
        };
        let mut previous_handler = None;
        if let Some(original) = original {
            let _ = SAVED.set((fd, original));
            let handler: extern "C" fn(libc::c_int) = on_interrupt;
            let mut hidden = original;
            // No echo, but the Enter still moves to the next line.
            hidden.c_lflag &= !libc::ECHO;
            hidden.c_lflag |= libc::ECHONL;
            // SAFETY: the handler calls only async-signal-safe functions; `hidden` is a valid
            // copy of the terminal's own settings.
            unsafe {
                previous_handler = Some(libc::signal(libc::SIGINT, handler as libc::sighandler_t));
                libc::tcsetattr(fd, libc::TCSANOW, &hidden);
            }
        }
        let mut line = String::new();
        let result = stdin.lock().take(limit).read_line(&mut line);
        if let Some(original) = original {
            // SAFETY: puts back the settings read above and the handler that was in place.
            unsafe {
                libc::tcsetattr(fd, libc::TCSANOW, &original);
                if let Some(previous) = previous_handler {
                    libc::signal(libc::SIGINT, previous);
                }
            }
        }
        result.map(|_| line)
    }
}

/// A line typed at the console without echo.
#[cfg(not(unix))]
mod hidden {
    use std::io;

    #[allow(
        clippy::disallowed_methods,
        reason = "the console's echo is turned off here, and nowhere else"
    )]
    pub fn read_line(_stdin: &io::Stdin, _limit: u64) -> io::Result<String> {
        rpassword::read_password()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_terminal_reads_lines_and_keeps_what_is_written() {
        let (terminal, captured) = Terminal::memory(b"yes\nsecond\n");
        assert!(terminal.confirm("Delete?").expect("asks"));
        assert_eq!(terminal.read_line(3).expect("reads"), "sec");
        writeln!(terminal.stdout(), "out").expect("writes");
        assert_eq!(captured.stdout.text(), "out\n");
        assert_eq!(captured.stderr.text(), "Delete? ");
    }

    #[test]
    fn anything_but_yes_is_no() {
        for answer in ["n\n", "\n", "yess\n", ""] {
            let (terminal, _) = Terminal::memory(answer.as_bytes());
            assert!(!terminal.confirm("Go?").expect("asks"), "{answer:?}");
        }
        let (terminal, _) = Terminal::memory(b" Y \n");
        assert!(terminal.confirm("Go?").expect("asks"));
    }

    #[test]
    fn a_secret_in_memory_is_read_after_its_prompt() {
        let (terminal, captured) = Terminal::memory(b"abcd1234.secret\nmore");
        assert_eq!(
            terminal.read_secret("Key: ", 4096).expect("reads"),
            "abcd1234.secret\n"
        );
        assert_eq!(captured.stderr.text(), "Key: ");
        assert!(!terminal.can_prompt());
        assert!(terminal.pretend(true, false, true).can_prompt());
    }
}
