//! `baseten`: the command-line tool for the Baseten platform. The host owns profiles,
//! credentials, HTTP, logging and output; every command group is a plugin loaded at run time.

mod cli;
mod commands;
mod context;
mod credentials;
mod env_vars;
mod error;
mod files;
mod http;
mod http_errors;
mod internal;
mod interrupt;
mod jq;
mod jq_process;
mod log;
mod oauth;
mod output;
mod plugins;
mod profiles;
mod remote;
mod result;
mod rfc3339;
mod sanitize;
mod secrets;
mod system_keyring;
mod terminal;

use std::any::Any;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, Location};
use std::process::ExitCode;

use baseten_plugin_api::ErrorKind;

use crate::context::Context;
use crate::error::CliError;

/// The host's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    install_panic_hook();
    let args = context::process_args();
    // A key typed as an argument (where a name or a prefix belongs) is never echoed back, not
    // even in part: it is scrubbed like the credential in use.
    for arg in &args {
        if let Some(arg) = arg.to_str() {
            secrets::register_keys_in(arg);
        }
    }
    match guarded(|| internal::run(&args)) {
        Ok(Some(code)) => return code,
        Ok(None) => {}
        Err(error) => return report_early(&error),
    }
    interrupt::install();
    // Looks at stdout before anything is written.
    let mut context = Context::from_process();
    let color = context.color_stderr();
    match guarded(|| cli::run(&mut context, args)).and_then(|result| result) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error, color, &mut **context.terminal().stderr());
            ExitCode::from(error.exit_code())
        }
    }
}

/// Prints the error of a hidden command (a panic) on the process's stderr.
fn report_early(error: &CliError) -> ExitCode {
    report(
        error,
        false,
        &mut **terminal::Terminal::from_process().stderr(),
    );
    ExitCode::from(error.exit_code())
}

/// Prints `error` (scrubbed, one line and maybe a hint) on `stderr`.
fn report(error: &CliError, color: bool, stderr: &mut dyn std::io::Write) {
    if error.kind == ErrorKind::Interrupted {
        let _ = stderr.write_all(b"Canceled.\n");
    } else {
        let _ = output::write_error(error, color, stderr);
    }
}

thread_local! {
    /// Where this thread last panicked, noted by the hook for [`guarded`].
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the default panic hook, which prints the raw message (it could quote a secret or a
/// server's control characters) and a backtrace note: this one only notes where the panic
/// happened. Whoever catches the panic reports it: [`guarded`] as one `error: internal error: …`
/// line, the plugin host functions as a failed request.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|location: &Location<'_>| format!("{}:{}", location.file(), location.line()));
        PANIC_LOCATION.with(|slot| *slot.borrow_mut() = location);
    }));
}

/// Runs `body`; a panic becomes the one-line failure (exit 1) every other error is.
fn guarded<T>(body: impl FnOnce() -> T) -> Result<T, CliError> {
    std::panic::catch_unwind(AssertUnwindSafe(body)).map_err(|payload| {
        let location = PANIC_LOCATION.with(|slot| slot.borrow_mut().take());
        internal_error(payload.as_ref(), location.as_deref())
    })
}

/// The error a panic with `payload` at `location` is reported as; [`output::write_error`] makes
/// it one line and scrubs it.
fn internal_error(payload: &(dyn Any + Send), location: Option<&str>) -> CliError {
    const LIMIT: usize = 300;
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    // Scrubbed before it is cut: a cut key would no longer be recognised as one.
    let mut message = sanitize::cut(&secrets::scrub(&message), LIMIT);
    if let Some(location) = location {
        message.push_str(&format!(" (at {location})"));
    }
    CliError::failure(format!("internal error: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(error: &CliError) -> String {
        let mut stderr = Vec::new();
        output::write_error(error, false, &mut stderr).expect("writes");
        String::from_utf8(stderr).expect("utf8")
    }

    #[test]
    fn a_panic_is_one_scrubbed_error_line_and_exit_1() {
        let error = guarded(|| -> u8 {
            panic!(
                "boom: {}\n\u{1b}[2Jsecond line",
                "abcd1234.supersecretsupersecret"
            )
        })
        .expect_err("panicked");
        assert_eq!(error.exit_code(), 1);
        let printed = printed(&error);
        assert!(
            printed.starts_with("error: internal error: boom: <redacted> ?[2Jsecond line"),
            "{printed}"
        );
        assert_eq!(printed.lines().count(), 1, "{printed}");
    }

    #[test]
    fn the_location_is_kept_and_odd_payloads_are_named() {
        let error = internal_error(&42_u8, Some("host/src/x.rs:7"));
        assert_eq!(
            printed(&error),
            "error: internal error: unknown panic (at host/src/x.rs:7)\n"
        );
        let long = "x".repeat(1000);
        let error = internal_error(&long, None);
        assert!(printed(&error).len() < 400);
    }

    #[test]
    fn no_panic_passes_the_value_through() {
        assert_eq!(guarded(|| 7).expect("no panic"), 7);
    }
}

#[cfg(test)]
mod snapshots;
