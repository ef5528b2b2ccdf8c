//! The host's built-in commands, one module each (a group is a folder).
//!
//! A built-in declares its clap command and returns a [`CommandOutput`] like a plugin does, so
//! output modes, `--jq` and errors work the same for every command. Adding one is a module, a
//! line in [`commands`] and a line in [`run`].

pub mod auth;
pub mod completion;
pub mod man;
pub mod plugin;
pub mod version;

use clap::{ArgMatches, Command};

use baseten_plugin_api::CommandOutput;
use baseten_plugin_api::protocol::OutputSpec;

use crate::context::Context;
use crate::error::CliError;
use crate::log::Logger;
use crate::plugins::Registry;

/// What a built-in command gets.
pub struct Request<'a> {
    pub context: &'a Context,
    pub logger: &'a Logger,
    pub registry: &'a Registry,
    /// The command path, e.g. `["auth", "login"]`.
    pub path: &'a [String],
    /// The leaf command's matches (global options included).
    pub matches: &'a ArgMatches,
    /// `--profile`, if given.
    pub profile: Option<&'a str>,
}

/// The top-level built-in commands, for the command tree.
pub fn commands() -> Vec<Command> {
    vec![
        auth::command(),
        version::command(),
        plugin::command(),
        completion::command(),
        man::command(),
    ]
}

/// Whether `path` names a built-in command.
pub fn is_built_in(path: &[String]) -> bool {
    path.first()
        .is_some_and(|first| built_in_names().iter().any(|name| name == first))
}

/// The built-in command names, derived from their declarations once per process: plugin
/// manifests are checked against them on every run, cached ones included.
pub fn built_in_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        commands()
            .iter()
            .map(|command| command.get_name().to_owned())
            .collect()
    })
}

/// How a built-in's output may be shown.
pub fn output_spec(_path: &[String]) -> OutputSpec {
    OutputSpec::default()
}

/// Runs the built-in at `request.path`.
pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    match request.path.first().map(String::as_str) {
        Some("auth") => auth::run(request),
        Some("version") => Ok(version::run(request.registry)),
        Some("plugin") => plugin::run(request),
        Some("completion") => completion::run(request),
        Some("man") => man::run(request),
        _ => Err(CliError::usage(format!(
            "unknown command `{}`",
            request.path.join(" ")
        ))),
    }
}
