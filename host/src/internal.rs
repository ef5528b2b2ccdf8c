//! Hidden commands the host runs in a child process of itself, for work that must not be able
//! to kill the process that holds a user's data (a new key, the command tree): a crash there is
//! a reported failure here. Not part of the command line users see; never in `--help` or
//! completions.

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs the hidden command `args` names, if they name one.
pub fn run(args: &[OsString]) -> Option<ExitCode> {
    match args.get(1)?.to_str()? {
        crate::jq_process::COMMAND => Some(crate::jq_process::child_main(&args[2..])),
        _ => None,
    }
}
