//! Stage two of a run: the command tree. Turns the [`CommandSpec`]s of the built-ins and of every
//! plugin into one clap [`Command`], the same way for both, and reads the chosen command's path
//! back out of clap's matches. Completions and man pages use the same tree.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgGroup, ArgMatches, Command, ValueHint, value_parser};

use baseten_plugin_api::protocol::{CommandSpec, FlagKind};

use crate::commands;
use crate::plugins::Registry;

/// The whole command tree.
pub fn build(registry: &Registry) -> Command {
    build_tree(registry, true, &|_| true)
}

/// The tree as users see it, for completions: hidden commands (`man`, a plugin's) left out, as
/// they are of `--help`, with any group left empty by that.
pub fn visible(registry: &Registry) -> Command {
    build_tree(registry, false, &|_| true)
}

/// The tree cut down to the top-level commands and groups whose word appears somewhere in
/// `args`: a command line that names a command parses on it exactly as on the whole tree (clap
/// matches a subcommand by its full word, and the subtree it picks is whole), at the cost of
/// one group instead of every plugin's. Anything else (help, a typo's suggestions, a missing
/// subcommand) must be parsed again on [`build`]'s whole tree, whose words are the ones shown.
pub fn for_args(registry: &Registry, args: &[OsString]) -> Command {
    let named = |word: &str| args.iter().skip(1).any(|arg| arg == word);
    build_tree(registry, true, &named)
}

fn build_tree(registry: &Registry, with_hidden: bool, keep: &dyn Fn(&str) -> bool) -> Command {
    let kept = |path: &[String]| path.first().is_some_and(|word| keep(word));
    let mut root = Command::new("baseten")
        .version(crate::VERSION)
        .about("Command-line tool for the Baseten platform")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .propagate_version(false)
        .max_term_width(100)
        .args(super::settings::global_args());
    let mut tree = Node::default();
    // The built-ins first: they come first in `--help`, and their group descriptions win.
    let built_ins = commands::built_ins();
    for built_in in built_ins.commands.iter().filter(|b| kept(&b.spec.path)) {
        tree.insert(&built_in.spec);
    }
    for group in built_ins.groups.iter().filter(|group| kept(&group.path)) {
        tree.describe(&group.path, &group.about);
    }
    for group in registry.groups().filter(|group| kept(&group.path)) {
        tree.describe(&group.path, &group.about);
    }
    for (_, spec) in registry.commands().filter(|(_, spec)| kept(&spec.path)) {
        tree.insert(spec);
    }
    if !with_hidden {
        tree.remove_hidden();
    }
    for child in tree.children {
        root = root.subcommand(child.into_command());
    }
    root
}

/// The words of the subcommand chain, and the leaf's matches.
pub fn command_path(matches: &ArgMatches) -> (Vec<String>, &ArgMatches) {
    let mut path = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(name.to_owned());
        current = sub;
    }
    (path, current)
}

/// A group or leaf of the command tree, before it becomes clap commands.
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

    /// Drops hidden leaves, then groups with nothing left under them.
    fn remove_hidden(&mut self) {
        for child in &mut self.children {
            child.remove_hidden();
        }
        self.children.retain(|child| match &child.spec {
            Some(spec) => !spec.hidden,
            None => !child.children.is_empty(),
        });
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
    let mut command = Command::new(word.to_owned())
        .about(spec.about.clone())
        .hide(spec.hidden);
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
    for positional in &spec.args {
        let mut arg = Arg::new(positional.name.clone())
            .help(positional.help.clone())
            .action(ArgAction::Set)
            .value_name(
                positional
                    .value_name
                    .clone()
                    .unwrap_or_else(|| positional.name.to_ascii_uppercase()),
            )
            .required(positional.required);
        if positional.path {
            // Any path the system takes, UTF-8 or not; shells complete it as one.
            arg = arg
                .value_parser(value_parser!(PathBuf))
                .value_hint(ValueHint::AnyPath);
        }
        if !positional.allowed_values.is_empty() {
            arg = arg.value_parser(PossibleValuesParser::new(positional.allowed_values.clone()));
        }
        if positional.multiple {
            arg = arg.action(ArgAction::Append).num_args(1..);
        }
        if commands::takes_trailing_words(spec, &positional.name) {
            // Every word after `--`, as written, flags of the command it names included.
            arg = arg.num_args(1..).last(true).allow_hyphen_values(true);
        }
        command = command.arg(arg);
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

#[cfg(test)]
mod tests {
    use baseten_plugin_api::ArgSpec;

    use super::*;

    fn names(node: &Node) -> Vec<&str> {
        node.children
            .iter()
            .map(|child| child.word.as_str())
            .collect()
    }

    #[test]
    fn hidden_commands_and_the_groups_they_empty_are_removed() {
        let mut tree = Node::default();
        tree.insert(&CommandSpec::new(["man"], "Man pages").hidden());
        tree.insert(&CommandSpec::new(["x", "list"], "List"));
        tree.insert(&CommandSpec::new(["x", "secret"], "Secret").hidden());
        tree.insert(&CommandSpec::new(["y", "secret"], "Secret").hidden());
        tree.remove_hidden();
        assert_eq!(names(&tree), ["x"]);
        assert_eq!(names(&tree.children[0]), ["list"]);
    }

    #[test]
    fn positional_arguments_become_clap_positionals_in_order() {
        let spec = CommandSpec::new(["x", "get"], "Get")
            .arg(ArgSpec::new("name", "Which").required())
            .arg(ArgSpec::new("style", "How").allowed_values(["a", "b"]));
        let command = leaf_command("get", &spec).no_binary_name(true);
        let matches = command
            .clone()
            .try_get_matches_from(["n", "b"])
            .expect("parses");
        assert_eq!(
            matches.get_one::<String>("name").map(String::as_str),
            Some("n")
        );
        assert_eq!(
            matches.get_one::<String>("style").map(String::as_str),
            Some("b")
        );
        assert!(command.clone().try_get_matches_from(["n", "c"]).is_err());
        assert!(command.try_get_matches_from(Vec::<&str>::new()).is_err());
    }
}
