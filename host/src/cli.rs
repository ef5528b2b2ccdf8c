//! The command line: global options, the built-in commands and every plugin command, built with
//! clap's builder API from the plugins' specs; then parsing and dispatch.

use std::ffi::OsString;
use std::io::Write;

use clap::builder::PossibleValuesParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgGroup, ArgMatches, Command};
use serde_json::{Map, Value};

use baseten_plugin_api::protocol::{
    CommandOutputRef, CommandResultRef, CommandSpec, FlagKind, Invocation, OutputSpec,
};
use baseten_plugin_api::{ErrorKind, OutputMode};

use crate::commands;
use crate::context::Context;
use crate::error::CliError;
use crate::jq::JqFilter;
use crate::log::Logger;
use crate::output::{self, RenderError, Rendering};
use crate::plugins::{PluginServices, Registry};

/// The host's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where `--help` lists the options every command takes.
const GLOBAL_HEADING: &str = "Global Options";

/// How a run ends.
pub enum Outcome {
    Success,
    Failed(CliError),
}

/// Parses `args` and runs the command they name.
pub fn run(mut context: Context, args: Vec<OsString>) -> Outcome {
    // `baseten --version` alone needs no plugin: answer before discovery, at the process floor.
    if let [_, flag] = args.as_slice()
        && (flag == "--version" || flag == "-V")
    {
        let mut stdout = std::io::stdout().lock();
        return match writeln!(stdout, "baseten {VERSION}") {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Outcome::Failed(
                CliError::failure(format!("could not write output: {error}")),
            ),
            _ => Outcome::Success,
        };
    }
    // Known before parsing, so that discovery can be logged even for `--help`.
    context.verbosity = count_verbose_flags(&args);
    let logger = Logger::new(context.verbosity);
    let registry = Registry::discover(&context);
    registry.log_problems(&logger);
    let command = build(&registry);
    let matches = match command.try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(error) => return clap_error(&error),
    };

    let (path, leaf) = command_path(&matches);
    if path.is_empty() {
        return Outcome::Failed(
            CliError::usage("no command given").with_hint("run `baseten --help`"),
        );
    }
    if commands::is_built_in(&path) {
        return run_built_in(&context, &logger, &registry, &path, leaf);
    }
    match registry.command(&path) {
        Some((record, spec)) => run_plugin_command(&context, &logger, record, spec, leaf),
        None => Outcome::Failed(
            CliError::usage(format!("unknown command `{}`", path.join(" ")))
                .with_hint("run `baseten --help`"),
        ),
    }
}

/// How many `-v` the arguments hold (`-v`, `-vv`, `--verbose`), before a `--`.
fn count_verbose_flags(args: &[OsString]) -> u8 {
    let mut count: u8 = 0;
    for arg in args.iter().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        if arg == "--" {
            break;
        }
        if arg == "--verbose" {
            count = count.saturating_add(1);
        } else if let Some(letters) = arg.strip_prefix('-')
            && !letters.is_empty()
            && letters.bytes().all(|letter| letter == b'v')
        {
            count = count.saturating_add(u8::try_from(letters.len()).unwrap_or(u8::MAX));
        }
    }
    count
}

/// The whole command tree.
pub fn build(registry: &Registry) -> Command {
    let mut root = Command::new("baseten")
        .version(VERSION)
        .about("Command-line tool for the Baseten platform")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .propagate_version(false)
        .max_term_width(100)
        .args(global_args())
        .subcommands(commands::commands());
    let mut tree = Node::default();
    for group in registry.groups() {
        tree.describe(&group.path, &group.about);
    }
    for (_, spec) in registry.commands() {
        tree.insert(spec);
    }
    for child in tree.children {
        root = root.subcommand(child.into_command());
    }
    root
}

fn global_args() -> Vec<Arg> {
    vec![
        Arg::new("output")
            .short('o')
            .long("output")
            .value_name("FORMAT")
            .help("Output format")
            .value_parser(["text", "json", "jsonl", "none"])
            .default_value("text")
            .help_heading(GLOBAL_HEADING)
            .global(true),
        Arg::new("jq")
            .short('q')
            .long("jq")
            .value_name("EXPR")
            .help("Filter JSON output with a jq expression; implies --output json (or jsonl for streamed commands)")
            .help_heading(GLOBAL_HEADING)
            .global(true),
        Arg::new("profile")
            .long("profile")
            .value_name("NAME")
            .help("Use a specific stored profile for this command, overriding BASETEN_PROFILE and the current profile")
            .help_heading(GLOBAL_HEADING)
            .global(true),
        Arg::new("verbose")
            .short('v')
            .long("verbose")
            .help("Enable verbose logging (-vv for headers and bodies)")
            .action(ArgAction::Count)
            .help_heading(GLOBAL_HEADING)
            .global(true),
    ]
}

/// A group or leaf of the plugin command tree, before it becomes clap commands.
#[derive(Default)]
struct Node {
    word: String,
    about: Option<String>,
    spec: Option<CommandSpec>,
    children: Vec<Node>,
}

impl Node {
    fn child(&mut self, word: &str) -> &mut Node {
        let index = match self.children.iter().position(|child| child.word == word) {
            Some(index) => index,
            None => {
                self.children.push(Node {
                    word: word.to_owned(),
                    ..Node::default()
                });
                self.children.len() - 1
            }
        };
        &mut self.children[index]
    }

    fn describe(&mut self, path: &[String], about: &str) {
        let mut node = self;
        for word in path {
            node = node.child(word);
        }
        node.about.get_or_insert_with(|| about.to_owned());
    }

    fn insert(&mut self, spec: &CommandSpec) {
        let mut node = self;
        for word in &spec.path {
            node = node.child(word);
        }
        node.spec = Some(spec.clone());
    }

    fn into_command(self) -> Command {
        if let Some(spec) = self.spec {
            return leaf_command(&self.word, &spec);
        }
        let about = self
            .about
            .unwrap_or_else(|| format!("Commands under `{}`", self.word));
        let mut command = Command::new(self.word)
            .about(about)
            .subcommand_required(true)
            .arg_required_else_help(true);
        for child in self.children {
            command = command.subcommand(child.into_command());
        }
        command
    }
}

fn leaf_command(word: &str, spec: &CommandSpec) -> Command {
    let mut command = Command::new(word.to_owned()).about(spec.about.clone());
    if let Some(long_about) = &spec.long_about {
        command = command.long_about(long_about.clone());
    }
    for flag in &spec.flags {
        let mut arg = Arg::new(flag.long.clone())
            .long(flag.long.clone())
            .help(flag.help.clone());
        if let Some(short) = flag.short {
            arg = arg.short(short);
        }
        arg = match flag.kind {
            FlagKind::Bool => arg.action(ArgAction::SetTrue),
            FlagKind::Text => arg.action(ArgAction::Set),
            FlagKind::Repeated => arg.action(ArgAction::Append),
        };
        if flag.kind != FlagKind::Bool {
            arg = arg.value_name(
                flag.value_name
                    .clone()
                    .unwrap_or_else(|| flag.long.to_ascii_uppercase()),
            );
            if !flag.allowed_values.is_empty() {
                arg = arg.value_parser(PossibleValuesParser::new(flag.allowed_values.clone()));
            }
            if let Some(default) = &flag.default {
                arg = arg.default_value(default.clone());
            }
        }
        command = command.arg(arg.required(flag.required));
    }
    for (index, group) in spec.one_required.iter().enumerate() {
        command = command.group(
            ArgGroup::new(format!("one-of-{index}"))
                .args(group.clone())
                .required(true)
                .multiple(false),
        );
    }
    for (index, group) in spec.conflicts.iter().enumerate() {
        command = command.group(
            ArgGroup::new(format!("at-most-one-of-{index}"))
                .args(group.clone())
                .multiple(false),
        );
    }
    let mut after_help = String::new();
    if !spec.examples.is_empty() {
        after_help.push_str("Examples:\n");
        for example in &spec.examples {
            after_help.push_str(&format!(
                "  # {}\n  $ {}\n\n",
                example.description, example.command
            ));
        }
    }
    if let Some(payload) = &spec.output.payload {
        after_help.push_str(&format!(
            "JSON output (--output json): payload type `{payload}`."
        ));
    }
    if !after_help.is_empty() {
        command = command.after_help(after_help.trim_end().to_owned());
    }
    command
}

/// The words of the subcommand chain, and the leaf's matches.
fn command_path(matches: &ArgMatches) -> (Vec<String>, &ArgMatches) {
    let mut path = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(name.to_owned());
        current = sub;
    }
    (path, current)
}

/// The output mode and compiled `--jq` filter, checked before anything is sent.
fn output_settings(
    matches: &ArgMatches,
    path: &[String],
    spec: &OutputSpec,
) -> Result<(OutputMode, Option<JqFilter>), CliError> {
    let explicit = matches.value_source("output") == Some(ValueSource::CommandLine);
    let mode = match matches.get_one::<String>("output").map(String::as_str) {
        Some("json") => OutputMode::Json,
        Some("jsonl") => OutputMode::Jsonl,
        Some("none") => OutputMode::None,
        _ => OutputMode::Text,
    };
    let jq = match matches.get_one::<String>("jq") {
        Some(expression) => Some(JqFilter::compile(expression).map_err(|error| {
            let error = crate::jq::shorten(&crate::secrets::scrub(&error.to_string()));
            CliError::usage(format!("invalid jq expression `{expression}`: {error}"))
        })?),
        None => None,
    };
    let mode = match (&jq, explicit, mode) {
        (Some(_), true, OutputMode::Text | OutputMode::None) => {
            return Err(CliError::usage(format!(
                "`--jq` cannot be used with `--output {}`",
                if mode == OutputMode::Text {
                    "text"
                } else {
                    "none"
                }
            ))
            .with_hint("drop --output, or use --output json or jsonl"));
        }
        (Some(_), true, mode) => mode,
        (Some(_), false, _) if spec.streamed => OutputMode::Jsonl,
        (Some(_), false, _) => OutputMode::Json,
        (None, _, mode) => mode,
    };
    if mode == OutputMode::None && !spec.allow_none {
        return Err(CliError::usage(format!(
            "`baseten {}` does not allow `--output none`: its output cannot be shown again",
            path.join(" ")
        ))
        .with_hint("use --output text or json, and keep what it prints"));
    }
    Ok((mode, jq))
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

fn run_plugin_command(
    context: &Context,
    logger: &Logger,
    record: &crate::plugins::PluginRecord,
    spec: &CommandSpec,
    leaf: &ArgMatches,
) -> Outcome {
    let (mode, jq) = match output_settings(leaf, &spec.path, &spec.output) {
        Ok(settings) => settings,
        Err(error) => return Outcome::Failed(error),
    };
    let loaded = match record.load() {
        Ok(loaded) => loaded,
        Err(why) => {
            return Outcome::Failed(
                CliError::new(
                    ErrorKind::Plugin,
                    format!("could not load plugin `{}`: {why}", record.name()),
                )
                .with_hint("reinstall the plugin, or see `baseten plugin list`"),
            );
        }
    };
    logger.info(&format!(
        "* plugin `{}` from {}",
        record.name(),
        record.path.display()
    ));
    let invocation = Invocation {
        command: spec.path.clone(),
        flags: flag_values(leaf, spec),
        output: mode,
        interactive: context.can_prompt(),
    };
    let invocation = match serde_json::to_string(&invocation) {
        Ok(invocation) => invocation,
        Err(error) => {
            return Outcome::Failed(CliError::failure(format!(
                "could not encode the invocation: {error}"
            )));
        }
    };
    let profile = leaf.get_one::<String>("profile").map(String::as_str);
    let services = PluginServices::new(context, profile, logger);
    let result = loaded.invoke_json(&services, &invocation);
    // The payload is borrowed from the plugin's answer, not copied out of it.
    let result: CommandResultRef<'_> = match serde_json::from_str(&result) {
        Ok(result) => result,
        Err(error) => {
            return Outcome::Failed(CliError::new(
                ErrorKind::Plugin,
                format!(
                    "plugin `{}` returned an unreadable result: {error}",
                    record.name()
                ),
            ));
        }
    };
    match result {
        CommandResultRef::Ok(output) => show(context, &output, mode, jq.as_ref(), &spec.output),
        CommandResultRef::Error(mut error) => {
            if let Some(text) = error.stdout.take() {
                crate::secrets::register_keys_in(&text);
                // An answer that may hold something unrepeatable: shown as received, whatever
                // else goes wrong, but with no control character that could drive a terminal.
                let text = crate::sanitize::printable_lines(&text);
                let mut stdout = std::io::stdout().lock();
                let newline = if text.ends_with('\n') { "" } else { "\n" };
                let _ = write!(stdout, "{text}{newline}");
                let _ = stdout.flush();
            }
            Outcome::Failed(services.setup_error().unwrap_or(error).into())
        }
    }
}

fn run_built_in(
    context: &Context,
    logger: &Logger,
    registry: &Registry,
    path: &[String],
    leaf: &ArgMatches,
) -> Outcome {
    let spec = commands::output_spec(path);
    let (mode, jq) = match output_settings(leaf, path, &spec) {
        Ok(settings) => settings,
        Err(error) => return Outcome::Failed(error),
    };
    let request = commands::Request {
        context,
        logger,
        registry,
        path,
        matches: leaf,
        profile: leaf.get_one::<String>("profile").map(String::as_str),
    };
    match commands::run(&request) {
        Ok(output) => show(context, &(&output).into(), mode, jq.as_ref(), &spec),
        Err(error) => Outcome::Failed(error),
    }
}

/// Renders a command's output to the real stdout and stderr.
///
/// Output that cannot be shown again (a new key) is also handed to the Ctrl-C handler until it
/// was fully written, and a failure to write it is an error that says what was lost (the
/// output's `if_unseen`), never a quiet end.
fn show(
    context: &Context,
    output: &CommandOutputRef<'_>,
    mode: OutputMode,
    jq: Option<&JqFilter>,
    spec: &OutputSpec,
) -> Outcome {
    let rendering = Rendering {
        mode,
        jq,
        isolated: true,
        streamed: spec.streamed,
        unrepeatable: !spec.allow_none,
        bold: context.color_stdout(),
    };
    if rendering.unrepeatable {
        // A new key, or a piece of it a filter cuts out, is never echoed on stderr.
        crate::secrets::register_keys_in(output.payload.get());
        crate::interrupt::publish(output::prerender(output, &rendering));
    }
    if output::stdout_closed() {
        crate::interrupt::withdraw();
        let closed = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout is closed");
        // Unlike a reader leaving halfway (`| head`), nothing could ever be read: a failure,
        // unless there was nothing to print.
        if output.if_unseen.is_none() && (jq.is_some() || mode != OutputMode::None) {
            return Outcome::Failed(CliError::failure(format!(
                "could not write output: {closed}"
            )));
        }
        return output_failed(output, closed);
    }
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let stderr = std::io::stderr();
    let mut stderr = stderr.lock();
    let result = output::render(output, &rendering, &mut stdout, &mut stderr);
    crate::interrupt::withdraw();
    match result {
        Ok(()) => Outcome::Success,
        Err(RenderError::Io(error)) => output_failed(output, error),
        Err(RenderError::Failed(error)) => Outcome::Failed(error),
    }
}

/// Writing stdout failed: a broken pipe ends quietly (`| head`), unless the output cannot be
/// shown again; then the command fails saying what was lost.
fn output_failed(output: &CommandOutputRef<'_>, error: std::io::Error) -> Outcome {
    if let Some(unseen) = &output.if_unseen {
        let mut failure: CliError = unseen.clone().into();
        failure.message = format!("{}: could not write output: {error}", failure.message);
        return Outcome::Failed(failure);
    }
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Outcome::Success
    } else {
        Outcome::Failed(CliError::failure(format!(
            "could not write output: {error}"
        )))
    }
}

/// Help and version asked for go to stdout with exit 0. A command missing its subcommand
/// (`baseten`, `baseten org`) is a usage error: the help goes to stderr, where it cannot be
/// mistaken for data, then one error line, exit 2. Anything else becomes one error line and a
/// hint.
fn clap_error(error: &clap::Error) -> Outcome {
    use clap::error::ErrorKind as ClapKind;
    match error.kind() {
        ClapKind::DisplayHelp | ClapKind::DisplayVersion => {
            let text = error.render().to_string();
            let mut stdout = std::io::stdout().lock();
            // Plugins describe their commands: no control character of theirs reaches the
            // terminal.
            for line in text.lines() {
                let _ = writeln!(stdout, "{}", crate::sanitize::printable(line));
            }
            let _ = stdout.flush();
            Outcome::Success
        }
        ClapKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let text = error.render().to_string();
            let mut stderr = std::io::stderr().lock();
            // Plugins describe their commands: their words are scrubbed line by line.
            for line in text.lines() {
                let _ = writeln!(stderr, "{}", crate::secrets::scrub(line).trim_end());
            }
            let _ = stderr.flush();
            Outcome::Failed(
                CliError::usage("a subcommand is required")
                    .with_hint("pick one of the commands listed above"),
            )
        }
        _ => {
            let (message, hint) = one_line_clap_error(&error.render().to_string());
            Outcome::Failed(CliError::usage(message).with_hint(hint))
        }
    }
}

/// A stray value long enough to be a secret (an API key typed as an argument) is not repeated
/// in the error: errors end up in CI logs. Flags and short words stay, so typos stay visible.
fn hide_long_values(message: &str) -> String {
    const LONGEST_SHOWN: usize = 24;
    let mut shown = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find('\'') {
        shown.push_str(&rest[..=start]);
        rest = &rest[start + 1..];
        let Some(end) = rest.find('\'') else { break };
        let quoted = &rest[..end];
        if quoted.len() > LONGEST_SHOWN && !quoted.starts_with('-') {
            shown.push_str(&format!(
                "<{} characters, not shown>",
                quoted.chars().count()
            ));
        } else {
            shown.push_str(quoted);
        }
        shown.push('\'');
        rest = &rest[end + 1..];
    }
    shown.push_str(rest);
    shown
}

/// Folds clap's multi-line error text into our one error line and one hint: the first line (with
/// any indented list under it), then clap's tip, the allowed values, or where to find usage.
fn one_line_clap_error(rendered: &str) -> (String, String) {
    let lines: Vec<&str> = rendered.lines().collect();
    let first = lines.first().copied().unwrap_or("invalid arguments");
    let mut message = hide_long_values(first.strip_prefix("error: ").unwrap_or(first).trim());
    if message.ends_with(':') {
        let listed: Vec<&str> = lines[1..]
            .iter()
            .take_while(|line| line.starts_with("  ") && !line.trim().is_empty())
            .map(|line| line.trim())
            .collect();
        if !listed.is_empty() {
            message = format!("{} {}", message, listed.join(", "));
        }
    }
    let trimmed = || lines.iter().map(|line| line.trim());
    let tip = trimmed()
        .find_map(|line| line.strip_prefix("tip: "))
        .map(str::to_owned);
    let values = trimmed()
        .find_map(|line| {
            line.strip_prefix("[possible values: ")
                .and_then(|rest| rest.strip_suffix(']'))
        })
        .map(|values| format!("possible values: {values}"));
    let usage = trimmed()
        .find_map(|line| line.strip_prefix("Usage: "))
        .map(|usage| {
            let command: Vec<&str> = usage
                .split_whitespace()
                .take_while(|word| !word.starts_with(['[', '-', '<']))
                .collect();
            format!("run `{} --help` for usage", command.join(" "))
        });
    let hint = tip
        .or(values)
        .or(usage)
        .unwrap_or_else(|| "run `baseten --help` for usage".to_owned());
    (message, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_flags_are_counted_before_parsing() {
        let args = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            count_verbose_flags(&args(&["baseten", "-v", "org", "--verbose"])),
            2
        );
        assert_eq!(count_verbose_flags(&args(&["baseten", "-vv"])), 2);
        assert_eq!(count_verbose_flags(&args(&["baseten", "--", "-v"])), 0);
        assert_eq!(count_verbose_flags(&args(&["baseten", "-q", ".v"])), 0);
    }

    #[test]
    fn clap_lists_fold_into_the_error_line() {
        let rendered = "error: the following required arguments were not provided:\n  --type <TYPE>\n\nUsage: baseten org api-key create --type <TYPE>\n\nFor more information, try '--help'.\n";
        let (message, hint) = one_line_clap_error(rendered);
        assert_eq!(
            message,
            "the following required arguments were not provided: --type <TYPE>"
        );
        assert_eq!(hint, "run `baseten org api-key create --help` for usage");
    }

    #[test]
    fn long_stray_values_are_not_repeated() {
        let rendered = "error: unexpected argument 'abcd1234.supersecretsecretsecret' found\n\nUsage: baseten auth login [OPTIONS]\n";
        let (message, _) = one_line_clap_error(rendered);
        assert_eq!(
            message,
            "unexpected argument '<32 characters, not shown>' found"
        );
        let (message, _) = one_line_clap_error("error: unexpected argument '--nme' found\n");
        assert_eq!(message, "unexpected argument '--nme' found");
        let (message, _) =
            one_line_clap_error("error: invalid value 'admin' for '--type <TYPE>'\n");
        assert_eq!(message, "invalid value 'admin' for '--type <TYPE>'");
    }

    #[test]
    fn allowed_values_become_the_hint() {
        let rendered = "error: invalid value 'foo' for '--type <TYPE>'\n  [possible values: personal, workspace-invoke]\n\nFor more information, try '--help'.\n";
        let (message, hint) = one_line_clap_error(rendered);
        assert_eq!(message, "invalid value 'foo' for '--type <TYPE>'");
        assert_eq!(hint, "possible values: personal, workspace-invoke");
    }

    #[test]
    fn suggestions_become_the_hint() {
        let rendered = "error: unrecognized subcommand 'lst'\n\n  tip: a similar subcommand exists: 'list'\n\nUsage: baseten org api-key <COMMAND>\n";
        assert_eq!(
            one_line_clap_error(rendered).1,
            "a similar subcommand exists: 'list'"
        );
    }
}
