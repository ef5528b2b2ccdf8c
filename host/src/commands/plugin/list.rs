//! `baseten plugin list`: every plugin file found, in search order, with whether it is used and,
//! when not, why.

use serde_json::json;

use baseten_plugin_api::{CommandOutput, CommandSpec, Table};

use crate::commands::plugin::{command_lines, receipt_of, record_json, source_text};
use crate::commands::{BuiltIn, Declare, Request};
use crate::plugins::search_folders;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["plugin", "list"],
        "List the plugins found, with their commands and status",
    )
    .long_about(
        "List every plugin found, in search order: BASETEN_PLUGIN_PATH, the user plugin \
             folder, then the folders bundled with baseten. A plugin that is not used says \
             why: shadowed by an earlier one, incompatible, failed to load, or unsafe \
             permissions. SOURCE is where `baseten plugin install` got it (`index NAME`, \
             `url URL` or `file PATH`), or `no receipt` for a plugin copied in by hand. Entries named like a plugin that are not plugin files (folders, \
             dangling symbolic links) and folders that cannot be read are named on stderr.",
    )
    .built_in(|request| Ok(run(request)))
}

pub fn run(request: &Request<'_>) -> CommandOutput {
    let records = &request.registry.records;
    let rows = records
        .iter()
        .map(|record| {
            let manifest = record.manifest.as_ref();
            vec![
                record.name(),
                record.kind.as_str().to_owned(),
                manifest
                    .map(|manifest| manifest.version.clone())
                    .unwrap_or_default(),
                manifest
                    .map(|manifest| manifest.plugin_api_version.clone())
                    .unwrap_or_default(),
                command_lines(manifest).join(", "),
                record.status.to_string(),
                source_text(receipt_of(record).as_ref()),
                record.path.display().to_string(),
            ]
        })
        .collect();
    let folders: Vec<String> = search_folders(request.context)
        .iter()
        .map(|folder| folder.display().to_string())
        .collect();
    let skipped = &request.registry.skipped;
    let payload = json!({
        "plugins": records.iter().map(record_json).collect::<Vec<_>>(),
        "skipped": skipped
            .iter()
            .map(|skipped| json!({
                "path": skipped.path.display().to_string(),
                "reason": skipped.reason,
            }))
            .collect::<Vec<_>>(),
        "folders": folders,
    });
    let mut output = CommandOutput::table(
        payload,
        Table {
            columns: [
                "NAME", "KIND", "VERSION", "API", "COMMANDS", "STATUS", "SOURCE", "PATH",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows,
            empty_message: Some(format!("No plugins found in {}.", folders.join(", "))),
        },
    );
    for skipped in skipped {
        output = output.notice(format!(
            "note: skipped `{}`: {}",
            skipped.path.display(),
            skipped.reason
        ));
    }
    output
}
