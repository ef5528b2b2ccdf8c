//! Hidden commands the host runs in a child process of itself, for work that must not be able
//! to kill the process that holds a user's data (a new key, the command tree): a crash there is
//! a reported failure here. Not part of the command line users see; never in `--help` or
//! completions.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::plugins::probe;
use crate::terminal::ProcessIo;

/// Runs the hidden command `args` names, if they name one.
pub fn run(args: &[OsString]) -> Option<ExitCode> {
    match args.get(1)?.to_str()? {
        // Loads a library and prints what it says about itself: a library that crashes while
        // loading takes only this child down.
        probe::COMMAND => Some(probe::serve(&args[2..], &mut ProcessIo::take().stdout)),
        // Runs a `--jq` filter: a filter that recurses forever takes only this child down.
        crate::jq_process::COMMAND => {
            Some(crate::jq_process::child_main(&args[2..], ProcessIo::take()))
        }
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
