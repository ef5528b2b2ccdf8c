//! Hidden commands the host runs in a child process of itself, for work that must not be able
//! to kill the process that holds a user's data (a new key, the command tree): a crash there is
//! a reported failure here. Not part of the command line users see; never in `--help` or
//! completions.

use std::ffi::OsString;
use std::io;
use std::process::ExitCode;

use crate::plugins::probe;

/// Runs the hidden command `args` names, if they name one.
pub fn run(args: &[OsString]) -> Option<ExitCode> {
    match args.get(1)?.to_str()? {
        // Loads a library and prints what it says about itself: a library that crashes while
        // loading takes only this child down.
        probe::COMMAND => Some(probe::serve(&args[2..], &mut process_io().stdout)),
        // Runs a `--jq` filter: a filter that recurses forever takes only this child down.
        crate::jq_process::COMMAND => Some(crate::jq_process::child_main(&args[2..], process_io())),
        // A panic on purpose, in debug builds only, so that the end-to-end tests can check what
        // a host panic shows the user. Release builds have no such command.
        #[cfg(debug_assertions)]
        "__panic-for-tests" => panic!(
            "{}",
            args.get(2)
                .map(|message| message.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        _ => None,
    }
}

/// A hidden command's own streams and environment. A hidden command is the whole of its
/// process, spoken to over pipes by the host that started it, not by a user: it has no
/// [`Terminal`](crate::terminal::Terminal) or context, and takes the process's stdio here.
pub struct ProcessIo {
    pub stdin: io::Stdin,
    pub stdout: io::Stdout,
    pub stderr: io::Stderr,
    /// The variables it was started with (the user's, passed on by the host).
    pub environment: Vec<(OsString, OsString)>,
}

/// The process's stdio and environment, for the hidden commands only: everything else goes
/// through the run's [`Context`](crate::context::Context).
#[allow(
    clippy::disallowed_methods,
    reason = "hidden commands are child processes that own their stdio (see ProcessIo)"
)]
fn process_io() -> ProcessIo {
    ProcessIo {
        stdin: io::stdin(),
        stdout: io::stdout(),
        stderr: io::stderr(),
        environment: std::env::vars_os().collect(),
    }
}
