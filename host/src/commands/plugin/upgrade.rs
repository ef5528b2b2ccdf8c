//! `baseten plugin upgrade [NAME...] [--all] [--dry-run]`: installs a newer version of plugins
//! from where its receipt says it came from (the plugin index, or a URL), as atomically as
//! `plugin install`: an upgrade that fails leaves the installed version as it was.

use std::collections::HashSet;

use serde_json::{Value, json};

use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec, ErrorKind, FlagSpec};

use crate::commands::plugin::fetch::{Fetcher, LoadedIndex};
use crate::commands::plugin::install::{self, Options, is_newer};
use crate::commands::plugin::{in_user_folder, no_such_plugin, receipt_of, records_named};
use crate::commands::{BuiltIn, Declare, Request};
use crate::error::CliError;
use crate::plugins::PluginRecord;
use crate::plugins::index::HOST_TARGET;
use crate::plugins::receipt::Source;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["plugin", "upgrade"],
        "Upgrade installed plugins to their newest compatible version",
    )
    .long_about(
        "Upgrade a plugin installed with `baseten plugin install` from where its receipt says \
         it came from: the plugin index it was found in, or its URL. A newer version this \
         baseten can run is checked and installed as `plugin install` does; if anything fails, \
         the installed version stays as it was. Plugins installed as NAME@VERSION or with \
         --sha256 are pinned: --all leaves them alone, naming one upgrades it. Plugins \
         installed from a file, or copied in by hand, are not upgraded.",
    )
    .arg(
        ArgSpec::new("name", "The plugins to upgrade")
            .value_name("NAME")
            .multiple(),
    )
    .flag(FlagSpec::switch(
        "all",
        "Upgrade every plugin installed with a receipt, except pinned ones",
    ))
    .flag(FlagSpec::switch(
        "dry-run",
        "Say what would be upgraded, and change nothing",
    ))
    .example(
        "See which plugins have a newer version",
        "baseten plugin upgrade --all --dry-run",
    )
    .example(
        "Upgrade every plugin that is not pinned",
        "baseten plugin upgrade --all",
    )
    .built_in(run)
}

/// What happened to one plugin.
struct Outcome {
    name: String,
    from: Option<String>,
    to: Option<String>,
    status: &'static str,
    line: String,
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let mut names = request.args.list("name");
    let mut seen = HashSet::new();
    names.retain(|name| seen.insert(*name));
    let named = !names.is_empty();
    let all = request.args.switch("all");
    let dry_run = request.args.switch("dry-run");
    let records = match (named, all) {
        (true, true) => {
            return Err(CliError::usage("give plugin names or --all, not both"));
        }
        (false, false) => {
            return Err(CliError::usage("no plugin to upgrade")
                .with_hint("name a plugin, or pass --all to upgrade every one"));
        }
        // Every name is checked before anything is downloaded.
        (true, false) => names
            .iter()
            .map(|name| installed_named(request, name))
            .collect::<Result<Vec<_>, _>>()?,
        (false, true) => in_user_folder(request),
    };
    let fetcher = Fetcher::new(request.context, request.logger);
    let mut indexes: Vec<LoadedIndex> = Vec::new();
    let mut outcomes = Vec::new();
    let mut failures: Vec<(String, CliError)> = Vec::new();
    for record in records {
        let plugin = record.name();
        match upgrade_one(request, &fetcher, &mut indexes, record, named, dry_run) {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => failures.push((plugin, error)),
        }
    }
    let lines: Vec<String> = outcomes
        .iter()
        .map(|outcome| outcome.line.clone())
        .collect();
    if let Some((plugin, error)) = failures.into_iter().next() {
        let done: Vec<String> = outcomes
            .iter()
            .filter(|outcome| outcome.status == "upgraded")
            .map(|outcome| outcome.line.clone())
            .collect();
        let hint = match (done.is_empty(), error.hint.clone()) {
            (false, _) => Some(format!("upgraded all the same: {}", done.join("; "))),
            (true, hint) => hint,
        };
        let mut failed = CliError::new(
            error.kind,
            format!(
                "could not upgrade plugin `{plugin}`; the installed version is unchanged: {}",
                error.message
            ),
        );
        failed.hint = hint;
        return Err(failed);
    }
    let payload = json!({
        "dry_run": dry_run,
        "plugins": outcomes
            .iter()
            .map(|outcome| json!({
                "name": outcome.name,
                "from": outcome.from,
                "to": outcome.to,
                "status": outcome.status,
            }))
            .collect::<Vec<Value>>(),
    });
    let mut output = CommandOutput::lines(payload, lines);
    if outcomes.is_empty() {
        output = output.notice("No plugin installed with `baseten plugin install` to upgrade.");
    }
    Ok(output)
}

/// The user folder's copy of plugin `name`.
fn installed_named<'a>(request: &'a Request<'_>, name: &str) -> Result<&'a PluginRecord, CliError> {
    if records_named(request, name).is_empty() {
        return Err(no_such_plugin(name));
    }
    in_user_folder(request)
        .into_iter()
        .find(|record| record.name() == name)
        .ok_or_else(|| {
            CliError::failure(format!(
                "plugin `{name}` is not installed in the user plugin folder"
            ))
            .with_hint("only plugins installed with `baseten plugin install` can be upgraded")
        })
}

fn upgrade_one(
    request: &Request<'_>,
    fetcher: &Fetcher<'_>,
    indexes: &mut Vec<LoadedIndex>,
    record: &PluginRecord,
    named: bool,
    dry_run: bool,
) -> Result<Outcome, CliError> {
    let name = record.name();
    let current = record
        .manifest
        .as_ref()
        .map(|manifest| manifest.version.clone());
    let skipped = |status, line: String| Outcome {
        name: name.clone(),
        from: current.clone(),
        to: None,
        status,
        line,
    };
    let Some(receipt) = receipt_of(record) else {
        if named {
            return Err(CliError::failure(format!(
                "plugin `{name}` has no receipt, so where it came from is not known"
            ))
            .with_hint("install it again with `baseten plugin install SOURCE`"));
        }
        return Ok(skipped(
            "no_receipt",
            format!("{name}: no receipt (copied in by hand), skipped"),
        ));
    };
    let current = receipt.version.clone();
    if receipt.pinned && !named {
        return Ok(skipped(
            "pinned",
            format!("{name} {current} is pinned; name it to upgrade it"),
        ));
    }
    let options = Options {
        newer_than: Some(current.clone()),
        dry_run,
        ..Options::default()
    };
    let installed = match &receipt.source {
        Source::File { path } => {
            return Ok(skipped(
                "from_file",
                format!(
                    "{name} {current} was installed from the file `{path}`; install it again to upgrade it"
                ),
            ));
        }
        Source::Index {
            index,
            name: listed,
        } => {
            let position = match indexes.iter().position(|loaded| &loaded.location == index) {
                Some(position) => position,
                None => {
                    indexes.push(fetcher.index_at(index.clone())?);
                    indexes.len() - 1
                }
            };
            let loaded = &indexes[position];
            let plugin = loaded.index.plugin(listed).ok_or_else(|| {
                CliError::new(
                    ErrorKind::NotFound,
                    format!("the plugin index `{index}` no longer lists plugin `{listed}`"),
                )
            })?;
            let resolved = plugin
                .newest_installable(HOST_TARGET)
                .map_err(CliError::failure)?;
            if !is_newer(&resolved.version.version, &current) {
                return Ok(skipped(
                    "up_to_date",
                    format!("{name} {current} is up to date"),
                ));
            }
            if dry_run {
                let to = resolved.version.version.clone();
                return Ok(Outcome {
                    name: name.clone(),
                    from: Some(current.clone()),
                    line: format!("{name} {current} -> {to} (dry run: not installed)"),
                    to: Some(to),
                    status: "would_upgrade",
                });
            }
            install::install_resolved(request, fetcher, loaded, &resolved, None, options)?
        }
        Source::Url { url } => {
            let url = url::Url::parse(url).map_err(|error| {
                CliError::failure(format!(
                    "the receipt of plugin `{name}` holds an invalid URL: {error}"
                ))
            })?;
            install::install_url(request, fetcher, &url, None, &options)?
        }
    };
    let to = installed.manifest.version.clone();
    if !is_newer(&to, &current) {
        return Ok(skipped(
            "up_to_date",
            format!("{name} {current} is up to date"),
        ));
    }
    let (status, line) = if installed.changed {
        ("upgraded", format!("{name} {current} -> {to}"))
    } else {
        (
            "would_upgrade",
            format!("{name} {current} -> {to} (dry run: not installed)"),
        )
    };
    Ok(Outcome {
        name,
        from: Some(current),
        to: Some(to),
        status,
        line,
    })
}
