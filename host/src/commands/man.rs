//! `baseten man DIR` (hidden): writes a man page per command, plugin commands included, into DIR.
//! `scripts/install` uses it to lay out `share/man/man1`.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Command;
use clap_mangen::Man;
use serde_json::json;

use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec};

use crate::cli;
use crate::commands::{BuiltIn, Declare, Request};
use crate::error::CliError;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(["man"], "Write a man page per command into a folder")
        .hidden()
        .arg(
            ArgSpec::new(
                "dir",
                "The folder to write `baseten*.1` into; created if missing",
            )
            .value_name("DIR")
            .path()
            .required(),
        )
        .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let Some(folder) = request.path("dir") else {
        return Err(CliError::usage("no folder given"));
    };
    let failed = |error: std::io::Error| {
        CliError::failure(format!(
            "could not write man pages to `{}`: {error}",
            folder.display()
        ))
    };
    fs::create_dir_all(folder).map_err(failed)?;
    let mut tree = cli::tree::build(request.registry).disable_help_subcommand(true);
    tree.build();
    let mut written = Vec::new();
    write_pages(&tree, folder, &mut written).map_err(failed)?;
    let files: Vec<String> = written
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    Ok(
        CommandOutput::lines(json!({ "files": files }), Vec::new()).notice(format!(
            "Wrote {} man pages to {}",
            files.len(),
            folder.display()
        )),
    )
}

/// One page for `command` and one for each of its visible subcommands, recursively.
fn write_pages(
    command: &Command,
    folder: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    written.push(Man::new(command.clone()).generate_to(folder)?);
    for subcommand in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(subcommand, folder, written)?;
    }
    Ok(())
}
