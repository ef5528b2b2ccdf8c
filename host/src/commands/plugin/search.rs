//! `baseten plugin search [TERM] [--all]`: the plugins of the plugin index this baseten can
//! install, and with `--all` the others too, each with why it cannot be installed.

use serde_json::json;

use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec, FlagSpec, Table};

use crate::commands::plugin::fetch::Fetcher;
use crate::commands::plugin::in_user_folder;
use crate::commands::{BuiltIn, Declare, Request};
use crate::error::CliError;
use crate::plugins::index::HOST_TARGET;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(["plugin", "search"], "Search the plugin index")
        .long_about(
            "List the plugins of the plugin index named by BASETEN_PLUGIN_INDEX (an https URL, \
             an http URL on this machine, or a file path) that have a version this baseten can \
             install: built for a compatible plugin API and for this platform. TERM keeps the \
             plugins whose name or description holds it. With --all, the others are listed \
             too, each with why it cannot be installed.",
        )
        .arg(
            ArgSpec::new("term", "Only plugins whose name or description holds this")
                .value_name("TERM"),
        )
        .flag(FlagSpec::switch(
            "all",
            "Also list plugins with no version this baseten can install, and why",
        ))
        .example(
            "List the plugins of the index (BASETEN_PLUGIN_INDEX) that can be installed here",
            "baseten plugin search",
        )
        .example(
            "Find plugins about greetings, with those that cannot be installed and why",
            "baseten plugin search hello --all",
        )
        .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let term = request.args.text("term");
    let all = request.args.switch("all");
    let fetcher = Fetcher::new(request.context, request.logger);
    let loaded = fetcher.index()?;
    // The version of the copy in the user plugin folder, where `plugin install` puts it.
    let user_plugins = in_user_folder(request);
    let installed = |name: &str| {
        user_plugins
            .iter()
            .find(|record| record.name() == name)
            .and_then(|record| {
                record
                    .manifest
                    .as_ref()
                    .map(|manifest| manifest.version.clone())
            })
    };
    let mut rows = Vec::new();
    let mut plugins = Vec::new();
    for plugin in loaded.index.matching(term) {
        let resolved = plugin.newest_installable(HOST_TARGET);
        if resolved.is_err() && !all {
            continue;
        }
        let installed = installed(&plugin.name);
        let (version, reason) = match &resolved {
            Ok(resolved) => (Some(resolved.version.version.clone()), None),
            Err(why) => (None, Some(why.clone())),
        };
        rows.push(vec![
            plugin.name.clone(),
            version.clone().unwrap_or_else(|| "-".to_owned()),
            installed.clone().unwrap_or_default(),
            match &reason {
                Some(why) => format!("cannot be installed: {why}"),
                None => plugin.description.clone(),
            },
        ]);
        plugins.push(json!({
            "name": plugin.name,
            "description": plugin.description,
            "homepage": plugin.homepage,
            "version": version,
            "installable": reason.is_none(),
            "reason": reason,
            "installed_version": installed,
            "versions": plugin
                .versions_newest_first()
                .iter()
                .map(|version| version.version.clone())
                .collect::<Vec<_>>(),
        }));
    }
    let payload = json!({
        "index": loaded.location,
        "target": HOST_TARGET,
        "plugins": plugins,
    });
    let empty = match (term, all) {
        (Some(term), _) => format!("No plugin of the index matches `{term}`."),
        (None, false) => {
            "No plugin of the index can be installed here; `--all` lists them all.".to_owned()
        }
        (None, true) => "The index lists no plugins.".to_owned(),
    };
    Ok(CommandOutput::table(
        payload,
        Table {
            columns: ["NAME", "VERSION", "INSTALLED", "DESCRIPTION"]
                .map(str::to_owned)
                .to_vec(),
            rows,
            empty_message: Some(empty),
        },
    ))
}
