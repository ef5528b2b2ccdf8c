//! `baseten plugin remove NAME`: deletes a plugin from the user plugin folder. Plugins bundled
//! with baseten or found through `BASETEN_PLUGIN_PATH` are not the user folder's to remove.

use std::fs;

use serde_json::json;

use baseten_plugin_api::{CommandOutput, CommandSpec};

use crate::commands::plugin::{identity, name_arg, no_such_plugin, records_named, user_folder};
use crate::commands::{BuiltIn, Declare, Request};
use crate::error::CliError;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["plugin", "remove"],
        "Remove a plugin from the user plugin folder",
    )
    .long_about(
        "Remove a plugin from the user plugin folder, with the receipt `baseten plugin install` \
         wrote beside it.",
    )
    .arg(name_arg())
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let name = request.args.text("name").unwrap_or_default();
    let records = records_named(request, name);
    if records.is_empty() {
        return Err(no_such_plugin(name));
    }
    let folder = user_folder(request.context).map(|folder| identity(&folder));
    let in_user_folder =
        |path: &std::path::Path| folder.is_some() && path.parent().map(identity) == folder;
    let Some(record) = records.iter().find(|record| in_user_folder(&record.path)) else {
        let found = &records[0].path;
        let from_plugin_path = request
            .context
            .var_os(crate::env_vars::PLUGIN_PATH)
            .is_some_and(|paths| {
                std::env::split_paths(&paths)
                    .any(|folder| Some(identity(&folder)) == found.parent().map(identity))
            });
        let hint = if from_plugin_path {
            "it comes from a folder in BASETEN_PLUGIN_PATH: delete it there or drop the folder from BASETEN_PLUGIN_PATH"
        } else {
            "plugins bundled with baseten go away with baseten itself"
        };
        return Err(CliError::failure(format!(
            "plugin `{name}` is not installed in the user plugin folder: it was found at `{}`",
            found.display()
        ))
        .with_hint(hint));
    };
    fs::remove_file(&record.path).map_err(|error| {
        CliError::failure(format!(
            "could not remove plugin `{name}` (`{}`): {error}",
            record.path.display()
        ))
    })?;
    // The receipt goes with the plugin; one left behind would describe nothing.
    let receipt_left = record
        .path
        .parent()
        .and_then(|folder| crate::plugins::receipt::remove(folder, name).err());
    let mut output = CommandOutput::lines(
        json!({
            "name": name,
            "version": record.manifest.as_ref().map(|manifest| manifest.version.clone()),
            "path": record.path.display().to_string(),
        }),
        Vec::new(),
    )
    .notice(format!(
        "Removed plugin `{name}` ({})",
        record.path.display()
    ));
    if let Some(error) = receipt_left {
        output = output.notice(format!(
            "warning: could not remove the receipt of plugin `{name}`: {error}"
        ));
    }
    if let Some(next) = records
        .iter()
        .find(|other| identity(&other.path) != identity(&record.path))
    {
        output = output.notice(format!(
            "Another copy of plugin `{name}` remains at {}",
            next.path.display()
        ));
    }
    Ok(output)
}
