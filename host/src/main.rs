//! `baseten`: the command-line tool for the Baseten platform. The host owns profiles,
//! credentials, HTTP, logging and output; every command group is a plugin loaded at run time.

mod cli;
mod commands;
mod context;
mod credentials;
mod env_vars;
mod error;
mod http;
mod internal;
mod interrupt;
mod jq;
mod jq_process;
mod log;
mod output;
mod plugins;
mod profiles;
mod remote;
mod secrets;
mod system_keyring;

use std::process::ExitCode;

use baseten_plugin_api::ErrorKind;

use crate::cli::Outcome;
use crate::context::Context;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = internal::run(&args) {
        return code;
    }
    interrupt::install();
    // Looked at once, before anything is written.
    output::stdout_closed();
    let context = Context::from_process();
    let color = context.color_stderr();
    match cli::run(context, args) {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failed(error) => {
            let mut stderr = std::io::stderr().lock();
            if error.kind == ErrorKind::Interrupted {
                let _ = std::io::Write::write_all(&mut stderr, b"Canceled.\n");
            } else {
                let _ = output::write_error(&error, color, &mut stderr);
            }
            ExitCode::from(error.exit_code())
        }
    }
}
