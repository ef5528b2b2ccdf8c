//! `baseten auth login | logout | switch | status | list`: stored profiles and the credential in
//! use (README, "Profiles and authentication"). Storage is `crate::profiles`; which credential a
//! command uses is `crate::credentials`.

pub mod list;
pub mod login;
pub mod logout;
pub mod status;
pub mod switch;

use clap::Command;

use baseten_plugin_api::CommandOutput;

use crate::commands::Request;
use crate::error::CliError;

pub fn command() -> Command {
    Command::new("auth")
        .about("Log in, switch between profiles and see the credential in use")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(login::command())
        .subcommand(logout::command())
        .subcommand(switch::command())
        .subcommand(status::command())
        .subcommand(list::command())
}

/// Runs `auth <verb>`.
pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    match request.path.get(1).map(String::as_str) {
        Some("login") => login::run(request),
        Some("logout") => logout::run(request),
        Some("switch") => switch::run(request),
        Some("status") => status::run(request),
        Some("list") => list::run(request),
        _ => Err(CliError::usage(format!(
            "unknown command `{}`",
            request.path.join(" ")
        ))),
    }
}

/// The global `--profile`, which `command` cannot do without; `usage` shows how to give it.
fn required_profile<'a>(
    request: &Request<'a>,
    command: &str,
    usage: &str,
) -> Result<&'a str, CliError> {
    match request.profile {
        Some(name) if !name.trim().is_empty() => Ok(name),
        Some(_) => Err(CliError::usage("`--profile` may not be empty")),
        None => Err(
            CliError::usage(format!("`--profile` is required for `{command}`"))
                .with_hint(format!("run `{usage}`")),
        ),
    }
}

/// An API key as it may be shown: its public prefix, the secret hidden.
pub fn mask(api_key: &str) -> String {
    match api_key.split_once('.') {
        Some((prefix, _)) if !prefix.is_empty() && prefix.len() <= 12 => format!("{prefix}.****"),
        _ => "****".to_owned(),
    }
}

/// `--help` examples, laid out as the plugin commands lay theirs out.
fn examples(examples: &[(&str, &str)]) -> String {
    let mut text = String::from("Examples:\n");
    for (description, command) in examples {
        text.push_str(&format!("  # {description}\n  $ {command}\n\n"));
    }
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_masked_down_to_its_prefix() {
        assert_eq!(mask("abcd1234.s3cretS3cret"), "abcd1234.****");
        assert_eq!(mask("no-dot-in-this-key"), "****");
        assert_eq!(mask(".leading"), "****");
        assert_eq!(mask("averyveryverylongprefix.x"), "****");
    }
}
