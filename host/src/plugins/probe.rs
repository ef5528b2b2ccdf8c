//! Reading a library's manifest in a child process, so that a library that crashes while it loads
//! (a constructor that dereferences null, calls `abort`, overflows its stack or never returns)
//! costs a line in `plugin list`, not the command the user ran.
//!
//! The child is this executable run as `baseten __read-manifest PATH`: it loads the library,
//! reads and checks the manifest, and prints a [`ProbeAnswer`] as JSON on stdout. The parent only
//! ever loads a library in-process once a child has loaded it cleanly; the manifest cache keeps
//! the answer against the file's stamp, so each version of a file is probed once.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use baseten_plugin_api::PLUGIN_API_VERSION;
use baseten_plugin_api::abi::{LoadError, LoadedPlugin};

pub use super::cache::Examined;
use super::read_manifest;

/// The hidden command's name.
pub const COMMAND: &str = "__read-manifest";

/// How long a library may take to load and answer before it is given up on.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What the child says about one library.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeAnswer {
    /// What loading it found out, as the manifest cache keeps it.
    pub examined: Examined,
    /// What a user installing it could do about a refusal.
    #[serde(default)]
    pub hint: Option<String>,
    /// The child was stopped by Ctrl-C: nothing is known about the library, nothing is cached.
    #[serde(skip)]
    pub interrupted: bool,
    /// It gave no answer in time: maybe a slow start, so it is asked once more on the next run.
    #[serde(skip)]
    pub timed_out: bool,
}

/// The child's side: `baseten __read-manifest PATH`. Always answers on stdout and exits 0, unless
/// the library takes the process down, which is what the parent watches for.
pub fn serve(args: &[OsString], stdout: &mut dyn Write) -> ExitCode {
    let [path] = args else {
        return ExitCode::from(2);
    };
    let answer = examine_here(Path::new(path));
    let Ok(json) = serde_json::to_vec(&answer) else {
        return ExitCode::from(1);
    };
    match stdout.write_all(&json).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// Loads `path` into this process and reads its manifest: only ever done in the child.
fn examine_here(path: &Path) -> ProbeAnswer {
    match LoadedPlugin::load(path) {
        Ok(plugin) => ProbeAnswer {
            examined: read_manifest(&plugin.manifest_json()),
            hint: Some(format!(
                "rebuild the plugin against the baseten plugin SDK for plugin API {PLUGIN_API_VERSION}"
            )),
            interrupted: false,
            timed_out: false,
        },
        Err(error) => {
            let hint = match &error {
                LoadError::NotALibrary(_) => format!(
                    "pass the plugin's built library, e.g. target/release/{}",
                    crate::plugins::file_name_for("NAME")
                ),
                LoadError::NotAPlugin => "a plugin calls `baseten_plugin_api::export_plugin!`; \
                                          see docs/writing-a-plugin.md"
                    .to_owned(),
                LoadError::IncompatibleAbi(_) => format!(
                    "rebuild the plugin against the baseten plugin SDK for plugin API {PLUGIN_API_VERSION}"
                ),
            };
            let examined = match error {
                LoadError::IncompatibleAbi(_) => Examined::Incompatible {
                    manifest: None,
                    reason: error.to_string(),
                },
                other => Examined::Failed(other.to_string()),
            };
            ProbeAnswer {
                examined,
                hint: Some(hint),
                interrupted: false,
                timed_out: false,
            }
        }
    }
}

/// Reads the manifests of `paths`, one child each, all at once: a cold start with several new
/// plugins costs about one load, not one per plugin. Answers come back in the order of `paths`.
/// The children run `executable`, the `baseten` binary.
pub fn read_manifests(executable: std::io::Result<PathBuf>, paths: &[PathBuf]) -> Vec<ProbeAnswer> {
    let started: Vec<Result<Running, String>> = paths
        .iter()
        .map(|path| match &executable {
            Ok(executable) => Running::start(executable, path),
            Err(error) => Err(format!("cannot find the baseten executable: {error}")),
        })
        .collect();
    let deadline = Instant::now() + TIMEOUT;
    started
        .into_iter()
        .map(|running| match running {
            Ok(running) => running.finish(deadline),
            Err(why) => failed(format!("could not be checked: {why}")),
        })
        .collect()
}

/// Reads one library's manifest in a child process.
pub fn read_one(executable: std::io::Result<PathBuf>, path: &Path) -> ProbeAnswer {
    read_manifests(executable, &[path.to_path_buf()])
        .pop()
        .unwrap_or_else(|| failed("could not be checked".to_owned()))
}

fn failed(reason: String) -> ProbeAnswer {
    ProbeAnswer {
        examined: Examined::Failed(reason),
        hint: None,
        interrupted: false,
        timed_out: false,
    }
}

/// A child reading one manifest, and the thread collecting what it prints.
struct Running {
    child: Child,
    output: mpsc::Receiver<Vec<u8>>,
}

impl Running {
    fn start(executable: &Path, library: &Path) -> Result<Self, String> {
        let mut child = Command::new(executable)
            .arg(COMMAND)
            .arg(library)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("could not start `{}`: {error}", executable.display()))?;
        let (sender, output) = mpsc::channel();
        if let Some(mut stdout) = child.stdout.take() {
            // A thread, so that a large manifest never fills the pipe while the parent waits.
            let spawned = std::thread::Builder::new()
                .name("manifest-reader".to_owned())
                .spawn(move || {
                    let mut bytes = Vec::new();
                    let _ = stdout.read_to_end(&mut bytes);
                    let _ = sender.send(bytes);
                });
            if let Err(error) = spawned {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("could not start a thread: {error}"));
            }
        }
        Ok(Self { child, output })
    }

    /// Waits for the child until `deadline`, killing it then; says what it found or how it died.
    fn finish(mut self, deadline: Instant) -> ProbeAnswer {
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(None) | Err(_) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        let Some(status) = status else {
            return failed(format!(
                "did not finish loading within {} s",
                TIMEOUT.as_secs()
            ));
        };
        if let Some(crash) = crashed(&status) {
            return ProbeAnswer {
                interrupted: crash.ends_with("SIGINT"),
                timed_out: false,
                ..failed(crash)
            };
        }
        // The child has exited: its stdout is closed, unless it left a process of its own
        // holding it; that is not waited for.
        let bytes = self
            .output
            .recv_timeout(Duration::from_secs(1))
            .unwrap_or_default();
        match serde_json::from_slice::<ProbeAnswer>(&bytes) {
            Ok(answer) if status.success() => answer,
            _ => failed(match status.code() {
                Some(code) if code != 0 => format!("exited with status {code} while loading"),
                _ => "gave no readable answer while loading".to_owned(),
            }),
        }
    }
}

/// `crashed while loading: SIGSEGV` when a signal ended the child.
#[cfg(unix)]
fn crashed(status: &ExitStatus) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal()?;
    Some(format!("crashed while loading: {}", signal_name(signal)))
}

#[cfg(not(unix))]
fn crashed(_status: &ExitStatus) -> Option<String> {
    None
}

#[cfg(unix)]
pub(crate) fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGSYS => "SIGSYS",
        libc::SIGINT => "SIGINT",
        libc::SIGPIPE => "SIGPIPE",
        other => return format!("signal {other}"),
    };
    name.to_owned()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn signals_are_named() {
        assert_eq!(signal_name(libc::SIGSEGV), "SIGSEGV");
        assert_eq!(signal_name(62), "signal 62");
    }
}
