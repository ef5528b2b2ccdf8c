//! `baseten completion SHELL`: a completion script for the whole command tree, plugin commands,
//! their flags and allowed values included, as found when the script is generated.

use clap_complete::Shell;
use serde_json::json;

use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec};

use crate::cli;
use crate::commands::{BuiltIn, Declare, Request};
use crate::error::CliError;

/// The shells, as typed, with clap_complete's generator for each.
const SHELLS: [(&str, Shell); 5] = [
    ("bash", Shell::Bash),
    ("zsh", Shell::Zsh),
    ("fish", Shell::Fish),
    ("powershell", Shell::PowerShell),
    ("elvish", Shell::Elvish),
];

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["completion"],
        "Print a shell completion script, plugin commands included",
    )
    .long_about(
        "Print a completion script for SHELL on stdout. It covers the built-in commands and \
         the commands of every plugin found now, with their flags and allowed values: \
         generate it again after installing or removing a plugin.",
    )
    .arg(
        ArgSpec::new("shell", "The shell to complete for")
            .value_name("SHELL")
            .allowed_values(SHELLS.map(|(name, _)| name))
            .required(),
    )
    .example(
        "Load completions in the current bash session",
        "source <(baseten completion bash)",
    )
    .example(
        "Install them for zsh",
        "baseten completion zsh > \"${fpath[1]}/_baseten\"",
    )
    .example(
        "Install them for fish",
        "baseten completion fish > ~/.config/fish/completions/baseten.fish",
    )
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let name = request.args.text("shell").unwrap_or_default();
    let Some((_, shell)) = SHELLS.iter().find(|(shell, _)| *shell == name) else {
        return Err(CliError::usage(format!("unknown shell `{name}`")));
    };
    let script = script(*shell, request);
    let lines = script.lines().map(str::to_owned).collect();
    Ok(CommandOutput::lines(
        json!({"shell": name, "script": script}),
        lines,
    ))
}

fn script(shell: Shell, request: &Request<'_>) -> String {
    let mut tree = cli::tree::visible(request.registry);
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut tree, "baseten", &mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}
