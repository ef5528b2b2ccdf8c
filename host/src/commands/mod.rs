//! The host's built-in commands, one module each (a group is a folder).
//!
//! A built-in is declared as a plugin command is: a [`CommandSpec`] (path, help, examples, flags,
//! arguments, output) and a run function that gets its values as a plugin gets them and returns
//! a [`CommandOutput`]. The command tree, completions, man pages, flag checks, output modes and
//! `--jq` then work the same for every command, and the names plugins may not take are derived
//! from [`built_ins`]. Adding one is a module and a line in [`built_ins`].

pub mod auth;
pub mod completion;
pub mod man;
pub mod plugin;
pub mod version;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use baseten_plugin_api::protocol::{CommandSpec, GroupSpec};
use baseten_plugin_api::{Args, CommandOutput};

use crate::context::Context;
use crate::error::CliError;
use crate::log::Logger;
use crate::plugins::Registry;

/// What a built-in command gets.
pub struct Request<'a> {
    pub context: &'a Context,
    pub logger: &'a Logger,
    pub registry: &'a Registry,
    /// The command's flag and argument values, as a plugin receives them.
    pub args: Args<'a>,
    /// The path arguments as given: a path need not be UTF-8, which `args` holds only.
    pub paths: BTreeMap<String, PathBuf>,
    /// `--profile`, if given.
    pub profile: Option<&'a str>,
}

impl Request<'_> {
    /// The value of the path argument `name`, if given.
    pub fn path(&self, name: &str) -> Option<&Path> {
        self.paths.get(name).map(PathBuf::as_path)
    }
}

/// The body of a built-in command.
pub type RunFn = fn(&Request<'_>) -> Result<CommandOutput, CliError>;

/// One built-in leaf command: what it looks like and what it does.
pub struct BuiltIn {
    pub spec: CommandSpec,
    pub run: RunFn,
}

/// Pairs a spec with its body: `CommandSpec::new(..).built_in(run)`, as a plugin's
/// `.run(run)`.
pub trait Declare {
    fn built_in(self, run: RunFn) -> BuiltIn;
}

impl Declare for CommandSpec {
    fn built_in(self, run: RunFn) -> BuiltIn {
        BuiltIn { spec: self, run }
    }
}

/// Every built-in command, and the groups they sit in: what a plugin's manifest says, for the
/// host's own commands.
pub struct BuiltIns {
    pub groups: Vec<GroupSpec>,
    pub commands: Vec<BuiltIn>,
}

/// The built-ins, declared once per process. Their order is the order of `--help`.
pub fn built_ins() -> &'static BuiltIns {
    static BUILT_INS: OnceLock<BuiltIns> = OnceLock::new();
    BUILT_INS.get_or_init(|| BuiltIns {
        groups: vec![auth::group(), plugin::group()],
        commands: vec![
            auth::login::built_in(),
            auth::logout::built_in(),
            auth::switch::built_in(),
            auth::status::built_in(),
            auth::list::built_in(),
            version::built_in(),
            plugin::list::built_in(),
            plugin::info::built_in(),
            plugin::search::built_in(),
            plugin::install::built_in(),
            plugin::upgrade::built_in(),
            plugin::remove::built_in(),
            plugin::dev::built_in(),
            plugin::new::built_in(),
            plugin::pack::built_in(),
            completion::built_in(),
            man::built_in(),
        ],
    })
}

/// Whether `positional` of `spec` takes the rest of the command line after `--`: the command
/// `baseten plugin dev` runs. Only a built-in can (plugins cannot declare `plugin dev`).
pub fn takes_trailing_words(spec: &CommandSpec, positional: &str) -> bool {
    spec.path == plugin::dev::PATH && positional == plugin::dev::COMMAND_ARG
}

/// The built-in at exactly `path`.
pub fn find(path: &[String]) -> Option<&'static BuiltIn> {
    built_ins()
        .commands
        .iter()
        .find(|built_in| built_in.spec.path == path)
}

/// The built-in command names (first words), in `--help` order, derived from [`built_ins`] once
/// per process: plugin manifests are checked against them on every run, cached ones included.
pub fn built_in_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<String> = Vec::new();
        for built_in in &built_ins().commands {
            if let Some(first) = built_in.spec.path.first()
                && !names.contains(first)
            {
                names.push(first.clone());
            }
        }
        names
    })
}

/// The command-line parser's own `help` subcommand: a word no plugin command may start with
/// either.
pub const HELP_COMMAND: &str = "help";

/// The first words of the command tree the host keeps: the built-in names and `help`.
pub fn reserved_words() -> impl Iterator<Item = &'static str> {
    built_in_names()
        .iter()
        .map(String::as_str)
        .chain([HELP_COMMAND])
}

/// Whether `word` is a first word the host keeps for itself.
pub fn is_reserved_word(word: &str) -> bool {
    reserved_words().any(|reserved| reserved == word)
}

/// The words in backticks of the plugin guide's parenthesised list that follows `opening`
/// (which ends with the `(`), for tests that hold the guide to the code.
#[cfg(test)]
pub fn guide_list(opening: &str) -> Vec<String> {
    let guide = include_str!("../../../docs/writing-a-plugin.md").replace('\n', " ");
    let start = guide
        .find(opening)
        .unwrap_or_else(|| panic!("the plugin guide says `{opening}`"));
    let rest = &guide[start + opening.len()..];
    rest[..rest.find(')').expect("a closed list")]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_derived_from_the_declarations() {
        assert_eq!(
            built_in_names(),
            ["auth", "version", "plugin", "completion", "man"]
        );
        assert!(is_reserved_word("help") && is_reserved_word("man"));
        assert!(!is_reserved_word("org"));
    }

    #[test]
    fn every_built_in_is_found_by_its_path() {
        for built_in in &built_ins().commands {
            let found = find(&built_in.spec.path).expect("found");
            assert_eq!(found.spec.path, built_in.spec.path);
        }
        assert!(find(&["auth".to_owned()]).is_none());
    }

    #[test]
    fn built_ins_pass_the_checks_plugin_commands_pass() {
        let specs: Vec<CommandSpec> = built_ins()
            .commands
            .iter()
            .map(|built_in| built_in.spec.clone())
            .collect();
        crate::plugins::validate::check_commands(&specs).expect("the built-ins are valid");
    }

    /// The plugin guide lists the words a plugin may not start its commands with; it must list
    /// exactly the ones the host keeps.
    #[test]
    fn the_plugin_guide_lists_the_reserved_words() {
        let listed = guide_list("may not be under a built-in command (");
        assert_eq!(listed, reserved_words().collect::<Vec<_>>());
    }
}
