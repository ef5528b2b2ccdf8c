//! Stage four of a run: the chosen command is carried out, by a built-in or by the plugin that
//! declared it, and its output handed to [`show`](super::show). For a plugin this means loading
//! it, turning the matches into an [`Invocation`], lending it the host's services and reading
//! its result back.

use clap::ArgMatches;
use serde_json::{Map, Value};

use baseten_plugin_api::ErrorKind;
use baseten_plugin_api::protocol::{CommandResultRef, CommandSpec, FlagKind, Invocation};

use crate::commands;
use crate::context::Context;
use crate::error::CliError;
use crate::log::Logger;
use crate::plugins::{PluginRecord, PluginServices, Registry};

use super::settings::Settings;
use super::show::{show, show_as_received};

/// Runs the built-in at `path`.
pub fn built_in(
    context: &Context,
    logger: &Logger,
    registry: &Registry,
    path: &[String],
    leaf: &ArgMatches,
) -> Result<(), CliError> {
    let spec = commands::output_spec(path);
    let settings = Settings::read(leaf, path, &spec)?;
    let request = commands::Request {
        context,
        logger,
        registry,
        path,
        matches: leaf,
        profile: settings.profile.as_deref(),
    };
    let output = commands::run(&request)?;
    show(context, &(&output).into(), &settings, &spec)
}

/// Runs the plugin command `spec` of the plugin `record`.
pub fn plugin_command(
    context: &Context,
    logger: &Logger,
    record: &PluginRecord,
    spec: &CommandSpec,
    leaf: &ArgMatches,
) -> Result<(), CliError> {
    let settings = Settings::read(leaf, &spec.path, &spec.output)?;
    let loaded = record.load().map_err(|why| {
        CliError::new(
            ErrorKind::Plugin,
            format!("could not load plugin `{}`: {why}", record.name()),
        )
        .with_hint("reinstall the plugin, or see `baseten plugin list`")
    })?;
    logger.info(&format!(
        "* plugin `{}` from {}",
        record.name(),
        record.path.display()
    ));
    let invocation = Invocation {
        command: spec.path.clone(),
        flags: flag_values(leaf, spec),
        output: settings.mode,
        interactive: context.can_prompt(),
    };
    let invocation = serde_json::to_string(&invocation)
        .map_err(|error| CliError::failure(format!("could not encode the invocation: {error}")))?;
    let services = PluginServices::new(context, settings.profile.as_deref(), logger);
    let result = loaded.invoke_json(&services, &invocation);
    // The payload is borrowed from the plugin's answer, not copied out of it.
    let result: CommandResultRef<'_> = serde_json::from_str(&result).map_err(|error| {
        CliError::new(
            ErrorKind::Plugin,
            format!(
                "plugin `{}` returned an unreadable result: {error}",
                record.name()
            ),
        )
    })?;
    match result {
        CommandResultRef::Ok(output) => show(context, &output, &settings, &spec.output),
        CommandResultRef::Error(mut error) => {
            if let Some(text) = error.stdout.take() {
                show_as_received(context, &text);
            }
            Err(services.setup_error().unwrap_or(error).into())
        }
    }
}

/// The flag values a plugin receives, by long name.
fn flag_values(matches: &ArgMatches, spec: &CommandSpec) -> Map<String, Value> {
    let mut flags = Map::new();
    for flag in &spec.flags {
        let value = match flag.kind {
            FlagKind::Bool => Some(Value::Bool(matches.get_flag(&flag.long))),
            FlagKind::Text => matches
                .get_one::<String>(&flag.long)
                .map(|value| Value::String(value.clone())),
            FlagKind::Repeated => matches.get_many::<String>(&flag.long).map(|values| {
                Value::Array(values.map(|value| Value::String(value.clone())).collect())
            }),
        };
        if let Some(value) = value {
            flags.insert(flag.long.clone(), value);
        }
    }
    flags
}
