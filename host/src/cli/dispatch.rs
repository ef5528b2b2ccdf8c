//! Stage four of a run: the chosen command is carried out, by a built-in or by the plugin that
//! declared it, and its output handed to [`show`](super::show). For a plugin this means loading
//! it, turning the matches into an [`Invocation`], lending it the host's services and reading
//! its result back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ArgMatches;
use serde_json::{Map, Value};

use baseten_plugin_api::pipe::ResultLine;
use baseten_plugin_api::protocol::{CommandSpec, FlagKind, Invocation};
use baseten_plugin_api::{Args, ErrorKind};

use crate::commands::{self, BuiltIn};
use crate::context::Context;
use crate::error::CliError;
use crate::log::Logger;
use crate::plugins::{PluginKind, PluginRecord, PluginServices, Registry, executable};
use crate::result::CommandResultRef;

use super::settings::Settings;
use super::show::{show, show_as_received};

/// Runs the built-in `built_in`: its values arrive as a plugin's do.
pub fn built_in(
    context: &Context,
    logger: &Logger,
    registry: &Registry,
    built_in: &BuiltIn,
    leaf: &ArgMatches,
) -> Result<(), CliError> {
    let spec = &built_in.spec;
    let settings = Settings::read(leaf, &spec.path, &spec.output)?;
    let invocation = invocation(context, spec, &settings, leaf);
    let request = commands::Request {
        context,
        logger,
        registry,
        args: Args::new(&invocation),
        paths: path_values(leaf, spec),
        profile: settings.profile.as_deref(),
    };
    let output = (built_in.run)(&request)?;
    show(context, &(&output).into(), &settings, &spec.output)
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
    // A path reaches a plugin as JSON text, which only UTF-8 can be.
    if let Some((name, _)) = path_values(leaf, spec)
        .into_iter()
        .find(|(_, path)| path.to_str().is_none())
    {
        return Err(CliError::usage(format!(
            "the `{name}` argument of `baseten {}` must be valid UTF-8",
            spec.path.join(" ")
        )));
    }
    let services = PluginServices::new(context, settings.profile.as_deref(), logger);
    let invocation = invocation(context, spec, &settings, leaf);
    let answer = match record.kind {
        PluginKind::Library => {
            let loaded = record.load().map_err(|why| {
                CliError::new(
                    ErrorKind::Plugin,
                    format!("could not load plugin `{}`: {why}", record.name()),
                )
                .with_hint("reinstall the plugin, or see `baseten plugin list`")
            })?;
            log_plugin(logger, record);
            let invocation = serde_json::to_string(&invocation).map_err(|error| {
                CliError::failure(format!("could not encode the invocation: {error}"))
            })?;
            loaded.invoke_json(&services, &invocation)
        }
        PluginKind::Executable => {
            log_plugin(logger, record);
            executable::invoke(
                context,
                logger,
                &services,
                &record.name(),
                &record.path,
                invocation,
            )
            .map_err(|failure| {
                let error = CliError::new(
                    ErrorKind::Plugin,
                    format!("plugin `{}` {}", record.name(), failure.why),
                );
                // Pointing at the plugin's stderr only when it wrote something there.
                if failure.wrote_stderr && !logger.enabled(1) {
                    error.with_hint("run with -v to see what the plugin wrote on stderr")
                } else {
                    error
                }
            })?
        }
    };
    let unreadable = |error: serde_json::Error| {
        // An executable's words are never quoted back, even in a parser's message.
        let why = match record.kind {
            PluginKind::Library => error.to_string(),
            PluginKind::Executable => executable::parser_words(&error),
        };
        CliError::new(
            ErrorKind::Plugin,
            format!(
                "plugin `{}` returned an unreadable result: {why}",
                record.name()
            ),
        )
    };
    // A library's answer is the result; an executable's is its `result` line, which holds it.
    let result = match record.kind {
        PluginKind::Library => answer.as_str(),
        PluginKind::Executable => serde_json::from_str::<ResultLine<'_>>(&answer)
            .map_err(unreadable)?
            .result
            .get(),
    };
    // The payload is borrowed from the plugin's answer, not copied out of it.
    let result: CommandResultRef<'_> = serde_json::from_str(result).map_err(unreadable)?;
    match result {
        CommandResultRef::Ok(mut output) => {
            // A payload that is a response body the host holds: shown from there, not copied.
            if let Some(id) = output.payload_body {
                output.payload = services
                    .body(id)
                    .ok_or_else(|| {
                        CliError::new(
                            ErrorKind::Plugin,
                            format!(
                                "plugin `{}` returned an unreadable result: its payload names no \
                                 response it was given",
                                record.name()
                            ),
                        )
                    })
                    .and_then(|body| {
                        // The API's answer, handed back unchecked: worded as the SDK words an
                        // answer that is not JSON. Checked whole before anything is printed.
                        baseten_plugin_api::json::check(body).map_err(|error| {
                            CliError::failure(format!("unexpected response from the API: {error}"))
                        })
                    })?;
            }
            show(context, &output, &settings, &spec.output)
        }
        CommandResultRef::Error(mut error) => {
            if let Some(text) = error.stdout.take() {
                show_as_received(context, &text);
            }
            Err(services.setup_error().unwrap_or(error).into())
        }
    }
}

/// Says under `-v` which plugin runs the command: which file, of which kind (a working copy
/// from `plugin dev` or `BASETEN_PLUGIN_PATH`, or an installed one).
fn log_plugin(logger: &Logger, record: &PluginRecord) {
    logger.info(&format!(
        "* plugin `{}` ({}) from {}",
        record.name(),
        record.kind.as_str(),
        record.path.display()
    ));
}

/// What the command at `spec` is asked to do: the same for a built-in and a plugin.
fn invocation(
    context: &Context,
    spec: &CommandSpec,
    settings: &Settings,
    leaf: &ArgMatches,
) -> Invocation {
    Invocation {
        command: spec.path.clone(),
        flags: flag_values(leaf, spec),
        output: settings.mode,
        interactive: context.can_prompt(),
    }
}

/// The flag and positional argument values a command receives, by name.
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
    for positional in &spec.args {
        if commands::takes_trailing_words(spec, &positional.name) {
            if let Some(words) = matches.get_many::<String>(&positional.name) {
                let words = words.map(|word| Value::String(word.clone())).collect();
                flags.insert(positional.name.clone(), Value::Array(words));
            }
            continue;
        }
        if positional.multiple {
            let values: Vec<Value> = if positional.path {
                matches
                    .get_many::<PathBuf>(&positional.name)
                    .into_iter()
                    .flatten()
                    .filter_map(|path| path.to_str())
                    .map(|path| Value::String(path.to_owned()))
                    .collect()
            } else {
                matches
                    .get_many::<String>(&positional.name)
                    .into_iter()
                    .flatten()
                    .map(|value| Value::String(value.clone()))
                    .collect()
            };
            if !values.is_empty() {
                flags.insert(positional.name.clone(), Value::Array(values));
            }
            continue;
        }
        let value = if positional.path {
            matches
                .get_one::<PathBuf>(&positional.name)
                .and_then(|path| path.to_str())
        } else {
            matches
                .get_one::<String>(&positional.name)
                .map(String::as_str)
        };
        if let Some(value) = value {
            flags.insert(positional.name.clone(), Value::String(value.to_owned()));
        }
    }
    flags
}

/// The path arguments as given, UTF-8 or not, by name.
fn path_values(matches: &ArgMatches, spec: &CommandSpec) -> BTreeMap<String, PathBuf> {
    spec.args
        .iter()
        .filter(|positional| positional.path)
        .filter_map(|positional| {
            matches
                .get_one::<PathBuf>(&positional.name)
                .map(|path| (positional.name.clone(), path.clone()))
        })
        .collect()
}
