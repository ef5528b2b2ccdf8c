//! `baseten completion SHELL`: a completion script for the whole command tree, plugin commands,
//! their flags and allowed values included, as found when the script is generated.

use clap::Command;
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
    let mut tree = without_hidden(cli::tree::build(request.registry));
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut tree, "baseten", &mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}

/// The tree as users see it: hidden commands (`man`) are left out of completions, as they are of
/// `--help`. clap cannot remove a subcommand, so the root is rebuilt with the visible ones.
fn without_hidden(tree: Command) -> Command {
    let mut root = Command::new(tree.get_name().to_owned())
        .args(tree.get_arguments().cloned())
        .subcommands(
            tree.get_subcommands()
                .filter(|command| !command.is_hide_set())
                .cloned(),
        );
    if let Some(about) = tree.get_about() {
        root = root.about(about.clone());
    }
    if let Some(version) = tree.get_version() {
        root = root.version(version.to_owned());
    }
    root
}

#[cfg(test)]
mod tests {
    use clap::Arg;

    use super::*;

    #[test]
    fn hidden_commands_are_left_out() {
        let tree = Command::new("baseten")
            .arg(Arg::new("output").long("output"))
            .subcommand(Command::new("auth"))
            .subcommand(Command::new("man").hide(true));
        let visible = without_hidden(tree);
        let names: Vec<&str> = visible.get_subcommands().map(Command::get_name).collect();
        assert_eq!(names, ["auth"]);
        assert!(visible.get_arguments().any(|arg| arg.get_id() == "output"));
    }
}
