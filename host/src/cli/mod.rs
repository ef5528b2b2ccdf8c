//! The host's pipeline for one run, stage by stage:
//!
//! 1. `--version` alone is answered at once; `-v` is counted ([`settings`]);
//! 2. plugins are discovered and the command tree built ([`tree`]): only the part the line
//!    names, the whole tree when that part cannot parse it; clap parses the arguments, and
//!    its errors, help and version become ours ([`clap_error`]);
//! 3. the command's settings are read and checked before anything is sent ([`settings`]);
//! 4. the command runs, built-in or plugin ([`dispatch`]);
//! 5. its output is rendered to stdout ([`show`]).
//!
//! Every stage returns a `Result`; `main` prints the error and picks the exit code.

mod clap_error;
mod dispatch;
mod settings;
mod show;
pub mod tree;

use std::ffi::OsString;
use std::io::Write;

use crate::commands;
use crate::context::Context;
use crate::error::CliError;
use crate::log::Logger;
use crate::plugins::{Registry, Scope};

/// Parses `args` and runs the command they name.
pub fn run(context: &mut Context, args: Vec<OsString>) -> Result<(), CliError> {
    // `baseten --version` alone needs no plugin: answer before discovery, at the process floor.
    if let [_, flag] = args.as_slice()
        && (flag == "--version" || flag == "-V")
    {
        let mut stdout = context.terminal().stdout();
        return match writeln!(stdout, "baseten {}", crate::VERSION) {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::failure(
                format!("could not write output: {error}"),
            )),
            _ => Ok(()),
        };
    }
    context.verbosity = settings::count_verbose_flags(&args);
    let logger = Logger::new(context.verbosity, context.terminal().shared_stderr());
    // Only the manifests of the plugins the line names are parsed; the rest when the whole
    // tree or a built-in needs them.
    let mut registry = Registry::discover_for(context, Scope::Named(&args));
    let width = context.terminal().help_width();
    let sized = |tree: clap::Command| match width {
        Some(width) => tree.term_width(width),
        None => tree,
    };
    // Built for the command the line names; anything it cannot parse (help, typos, a missing
    // subcommand) is parsed again on the whole tree, whose help and suggestions are shown.
    let mut logged = false;
    let matches = match sized(tree::for_args(&registry, &args)).try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(_) => {
            registry.complete(context);
            logged = true;
            registry.log_problems(&logger);
            match sized(tree::build(&registry)).try_get_matches_from(args) {
                Ok(matches) => matches,
                Err(error) => return clap_error::handle(context, &error),
            }
        }
    };
    let (path, leaf) = tree::command_path(&matches);
    if !logged {
        // Built-ins may list or describe every plugin.
        if commands::find(&path).is_some() {
            registry.complete(context);
        }
        registry.log_problems(&logger);
    }
    if path.is_empty() {
        return Err(CliError::usage("no command given").with_hint("run `baseten --help`"));
    }
    if let Some(built_in) = commands::find(&path) {
        // `plugin dev -- COMMAND…` runs a second command line, in this run's context with the
        // plugin just built searched first: it needs the context, so it is carried out here.
        if path == commands::plugin::dev::PATH
            && let Some(words) = leaf.get_many::<String>(commands::plugin::dev::COMMAND_ARG)
        {
            let words: Vec<OsString> = words.map(OsString::from).collect();
            let built = commands::plugin::dev::build(
                context,
                &logger,
                leaf.get_flag("release"),
                leaf.get_one::<String>("manifest-path")
                    .map(std::path::Path::new),
            )?;
            context.prepend_plugin_folder(&built.folder)?;
            let profile = leaf.get_one::<String>("profile").map(String::as_str);
            let args = commands::plugin::dev::command_line(context.verbosity, profile, words);
            return run(context, args);
        }
        return dispatch::built_in(context, &logger, &registry, built_in, leaf);
    }
    match registry.command(&path) {
        Some((record, spec)) => dispatch::plugin_command(context, &logger, record, spec, leaf),
        None => Err(
            CliError::usage(format!("unknown command `{}`", path.join(" ")))
                .with_hint("run `baseten --help`"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::{CommandOutput, CommandSpec, PluginDefinition};

    use crate::plugins::validate::{GLOBAL_LONG_FLAGS, GLOBAL_SHORT_FLAGS};

    /// The names plugins may not give their flags are the tree's global options and clap's own
    /// `--help`/`-h` and `--version`: the list `validate` keeps must be exactly those.
    #[test]
    fn plugins_are_kept_off_exactly_the_global_flags() {
        let (mut long, mut short): (Vec<String>, Vec<char>) = (Vec::new(), Vec::new());
        for arg in super::settings::global_args() {
            long.extend(arg.get_long().map(str::to_owned));
            short.extend(arg.get_short());
        }
        long.extend(["help".to_owned(), "version".to_owned()]);
        short.push('h');
        assert_eq!(long, GLOBAL_LONG_FLAGS);
        assert_eq!(short, GLOBAL_SHORT_FLAGS);
    }

    /// The plugin guide lists the global options a plugin's flags may not reuse; it must list
    /// exactly those the host keeps.
    #[test]
    fn the_plugin_guide_lists_the_global_flags() {
        let mut listed = crate::commands::guide_list("may not reuse the global options (");
        listed.sort_unstable();
        let mut kept: Vec<String> = GLOBAL_LONG_FLAGS
            .iter()
            .map(|long| format!("--{long}"))
            .chain(GLOBAL_SHORT_FLAGS.iter().map(|short| format!("-{short}")))
            .collect();
        kept.sort_unstable();
        assert_eq!(listed, kept);
    }

    /// The SDK's `check_examples` keeps its own list of the host's global flags (a plugin's
    /// tests have no host to ask): every global flag, in each of its forms, must pass there.
    #[test]
    fn the_sdks_example_check_knows_every_global_flag() {
        let mut spec = CommandSpec::new(["x", "get"], "Get");
        for arg in super::settings::global_args() {
            let value = match arg.get_possible_values().first() {
                Some(value) => format!(" {}", value.get_name()),
                None if arg.get_action().takes_values() => " .".to_owned(),
                None => String::new(),
            };
            let long = arg.get_long().map(|long| format!("--{long}"));
            let short = arg.get_short().map(|short| format!("-{short}"));
            for form in long.into_iter().chain(short) {
                spec = spec.example("A global flag", format!("baseten x get {form}{value}"));
            }
        }
        let plugin = PluginDefinition::new("x", "0.1.0", "X")
            .command(spec.run(|_, _| Ok(CommandOutput::lines(serde_json::json!({}), Vec::new()))));
        baseten_plugin_api::testing::check_examples(&plugin);
    }
}
