//! Whether a manifest is one this host can use: a compatible plugin API version, and commands
//! and flags that fit the command line without clashing with the host's own. The built-ins are
//! held to the same checks of their commands ([`check_commands`]).

use std::collections::HashSet;

use baseten_plugin_api::PLUGIN_API_VERSION;
use baseten_plugin_api::protocol::{CommandSpec, FlagKind, Manifest};
use semver::Version;

/// Long names the host uses on every command.
pub const GLOBAL_LONG_FLAGS: [&str; 6] = ["output", "jq", "profile", "verbose", "help", "version"];
/// Short names the host uses on every command.
pub const GLOBAL_SHORT_FLAGS: [char; 4] = ['o', 'q', 'v', 'h'];

/// `Ok` when usable; else why not, naming the plugin and what to do.
pub fn check(manifest: &Manifest) -> Result<(), String> {
    let version = check_api_version(manifest)?;
    if manifest.commands.is_empty() {
        return Err(format!("plugin `{}` declares no commands", manifest.name));
    }
    check_commands(&manifest.commands)?;
    for command in &manifest.commands {
        let named = command.path.join(" ");
        check_features(command, &version).map_err(|why| format!("command `{named}`: {why}"))?;
        // `help` too: clap answers it before any plugin could.
        if command
            .path
            .first()
            .is_some_and(|word| crate::commands::is_reserved_word(word))
        {
            return Err(format!(
                "command `{named}` takes over the built-in command `{}`",
                command.path[0]
            ));
        }
    }
    Ok(())
}

/// The checks every command passes, built-in or plugin: names, flags, arguments and flag groups
/// that fit the command line, and one tree.
pub fn check_commands(commands: &[CommandSpec]) -> Result<(), String> {
    for command in commands {
        check_command(command)
            .map_err(|why| format!("command `{}`: {why}", command.path.join(" ")))?;
    }
    check_tree(commands)
}

/// A 1.0 plugin cannot know what later minors added: a manifest that claims 1.0 and uses it was
/// not written by the SDK it names, and this host would not read it as its author meant.
fn check_features(command: &CommandSpec, version: &Version) -> Result<(), String> {
    if version.minor < 1 && (!command.args.is_empty() || command.hidden) {
        return Err(format!(
            "positional arguments and hidden commands need plugin API 1.1, the plugin claims {version}"
        ));
    }
    if version.minor < 2 && command.args.iter().any(|arg| arg.multiple) {
        return Err(format!(
            "arguments taking several values need plugin API 1.2, the plugin claims {version}"
        ));
    }
    Ok(())
}

/// The commands form one tree: no path declared twice, no command under another command.
fn check_tree(commands: &[CommandSpec]) -> Result<(), String> {
    for (index, command) in commands.iter().enumerate() {
        let named = command.path.join(" ");
        for other in &commands[index + 1..] {
            let shorter = command.path.len().min(other.path.len());
            if command.path[..shorter] == other.path[..shorter] {
                return Err(if command.path.len() == other.path.len() {
                    format!("command `{named}` is declared twice")
                } else {
                    format!(
                        "commands `{named}` and `{}` would sit one under the other",
                        other.path.join(" ")
                    )
                });
            }
        }
    }
    Ok(())
}

/// Whether a plugin built for plugin API `plugin` runs in this host: the rule
/// [`check_api_version`] applies to manifests, for versions read elsewhere (a plugin index).
pub fn api_is_compatible(plugin: &Version) -> bool {
    Version::parse(PLUGIN_API_VERSION)
        .is_ok_and(|host| plugin.major == host.major && plugin.minor <= host.minor)
}

/// Same major, and a minor no newer than the host's: the plugin may use only what the host has.
/// The plugin's version when it is one of those.
fn check_api_version(manifest: &Manifest) -> Result<Version, String> {
    let host = Version::parse(PLUGIN_API_VERSION).map_err(|error| error.to_string())?;
    let plugin = Version::parse(&manifest.plugin_api_version).map_err(|_| {
        format!(
            "plugin `{}` declares plugin API version `{}`, which is not a version",
            manifest.name, manifest.plugin_api_version
        )
    })?;
    if plugin.major != host.major {
        return Err(format!(
            "plugin `{}` is built for plugin API {plugin}, this baseten speaks {host}; \
             install a build of the plugin for plugin API {}.x",
            manifest.name, host.major
        ));
    }
    if plugin.minor > host.minor {
        return Err(format!(
            "plugin `{}` needs plugin API {plugin}, newer than this baseten's {host}; upgrade baseten",
            manifest.name
        ));
    }
    Ok(plugin)
}

fn check_command(command: &CommandSpec) -> Result<(), String> {
    if command.path.is_empty() {
        return Err("empty command path".to_owned());
    }
    for word in &command.path {
        if !is_word(word) {
            return Err(format!("invalid command word `{word}`"));
        }
    }
    let mut longs = HashSet::new();
    let mut shorts = HashSet::new();
    for flag in &command.flags {
        if !is_word(&flag.long) {
            return Err(format!("invalid flag name `{}`", flag.long));
        }
        if GLOBAL_LONG_FLAGS.contains(&flag.long.as_str()) {
            return Err(format!(
                "flag `--{}` clashes with a global option",
                flag.long
            ));
        }
        if !longs.insert(flag.long.as_str()) {
            return Err(format!("flag `--{}` is declared twice", flag.long));
        }
        if let Some(short) = flag.short {
            if !short.is_ascii_alphanumeric() || GLOBAL_SHORT_FLAGS.contains(&short) {
                return Err(format!(
                    "short flag `-{short}` is invalid or clashes with a global option"
                ));
            }
            if !shorts.insert(short) {
                return Err(format!("short flag `-{short}` is declared twice"));
            }
        }
        if flag.kind == FlagKind::Bool
            && (!flag.allowed_values.is_empty() || flag.default.is_some())
        {
            return Err(format!("switch `--{}` cannot have values", flag.long));
        }
        if let Some(default) = &flag.default
            && !flag.allowed_values.is_empty()
            && !flag.allowed_values.contains(default)
        {
            return Err(format!(
                "default of `--{}` is not one of its values",
                flag.long
            ));
        }
    }
    let mut names = HashSet::new();
    for arg in &command.args {
        if !is_word(&arg.name) {
            return Err(format!("invalid argument name `{}`", arg.name));
        }
        if longs.contains(arg.name.as_str()) || !names.insert(arg.name.as_str()) {
            return Err(format!(
                "argument `{}` is declared twice or named like a flag",
                arg.name
            ));
        }
        if arg.path && !arg.allowed_values.is_empty() {
            return Err(format!(
                "argument `{}` is a path and cannot have a closed set of values",
                arg.name
            ));
        }
    }
    // A later argument could never get a value after one taking all that remain.
    if let Some(arg) = command.args.iter().rev().skip(1).find(|arg| arg.multiple) {
        return Err(format!(
            "argument `{}` takes several values but is not the last argument",
            arg.name
        ));
    }
    // An optional argument before a required one could never be left out.
    if let Some(pair) = command
        .args
        .windows(2)
        .find(|pair| !pair[0].required && pair[1].required)
    {
        return Err(format!(
            "optional argument `{}` comes before required argument `{}`",
            pair[0].name, pair[1].name
        ));
    }
    for group in command.conflicts.iter().chain(&command.one_required) {
        if group.is_empty() {
            return Err("a flag group is empty".to_owned());
        }
        if group.len() < 2 && !command.one_required.contains(group) {
            return Err("a flag group needs two flags".to_owned());
        }
        for name in group {
            if !longs.contains(name.as_str()) {
                return Err(format!("flag group names unknown flag `{name}`"));
            }
        }
    }
    Ok(())
}

/// Lowercase letters, digits and inner `-`: what reads well on a command line.
fn is_word(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with('-')
        && !word.ends_with('-')
        && word
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::{ArgSpec, FlagSpec};

    use super::*;

    fn manifest(api: &str, command: CommandSpec) -> Manifest {
        Manifest {
            name: "x".to_owned(),
            version: "0.1.0".to_owned(),
            plugin_api_version: api.to_owned(),
            description: String::new(),
            groups: Vec::new(),
            commands: vec![command],
        }
    }

    fn list() -> CommandSpec {
        CommandSpec::new(["x", "list"], "List")
    }

    #[test]
    fn same_major_and_older_or_equal_minor_is_compatible() {
        assert!(check(&manifest("1.0.0", list())).is_ok());
        assert!(check(&manifest("1.0.7", list())).is_ok());
    }

    #[test]
    fn another_major_or_a_newer_minor_is_refused_with_both_versions() {
        let why = check(&manifest("2.0.0", list())).expect_err("refused");
        assert!(
            why.contains("2.0.0") && why.contains(PLUGIN_API_VERSION),
            "{why}"
        );
        let why = check(&manifest("1.3.0", list())).expect_err("refused");
        assert!(why.contains("upgrade baseten"), "{why}");
        assert!(check(&manifest("one", list())).is_err());
    }

    #[test]
    fn flags_may_not_clash_with_global_options() {
        let why = check(&manifest(
            "1.0.0",
            list().flag(FlagSpec::text("output", "o")),
        ))
        .expect_err("refused");
        assert!(why.contains("--output"), "{why}");
        assert!(
            check(&manifest(
                "1.0.0",
                list().flag(FlagSpec::switch("all", "a").short('v'))
            ))
            .is_err()
        );
        let twice = list()
            .flag(FlagSpec::text("a", "a"))
            .flag(FlagSpec::text("a", "a"));
        assert!(check(&manifest("1.0.0", twice)).is_err());
    }

    #[test]
    fn groups_must_name_declared_flags() {
        let spec = list()
            .flag(FlagSpec::text("a", "a"))
            .exactly_one_of(["a", "b"]);
        assert!(check(&manifest("1.0.0", spec)).is_err());
    }

    #[test]
    fn commands_form_one_tree_beside_the_built_ins() {
        let with = |paths: &[&[&str]]| Manifest {
            commands: paths
                .iter()
                .map(|path| CommandSpec {
                    path: path.iter().map(|word| (*word).to_owned()).collect(),
                    ..list()
                })
                .collect(),
            ..manifest(PLUGIN_API_VERSION, list())
        };
        assert!(check(&with(&[&["org", "x", "list"], &["org", "x", "create"]])).is_ok());
        for (paths, why) in [
            (
                &[&["auth", "status"][..]][..],
                "takes over the built-in command `auth`",
            ),
            (
                &[&["help", "me"][..]][..],
                "takes over the built-in command `help`",
            ),
            (
                &[&["org", "list"][..], &["org", "list"][..]][..],
                "declared twice",
            ),
            (
                &[&["org", "list"][..], &["org", "list", "x"][..]][..],
                "one under the other",
            ),
        ] {
            let error = check(&with(paths)).expect_err("refused");
            assert!(error.contains(why), "{error}");
        }
        let mut empty_group = list();
        empty_group.one_required = vec![vec![]];
        let error = check(&manifest(PLUGIN_API_VERSION, empty_group)).expect_err("refused");
        assert!(error.contains("a flag group is empty"), "{error}");
    }

    #[test]
    fn command_words_are_lowercase() {
        assert!(check(&manifest("1.0.0", CommandSpec::new(["X"], "x"))).is_err());
        assert!(check(&manifest("1.0.0", CommandSpec::new(["a b"], "x"))).is_err());
    }

    #[test]
    fn arguments_have_names_of_their_own_and_required_ones_come_first() {
        let name = || ArgSpec::new("name", "The name");
        let ok = list()
            .flag(FlagSpec::switch("all", "a"))
            .arg(name().required());
        assert!(check(&manifest(PLUGIN_API_VERSION, ok)).is_ok());
        for (spec, why) in [
            (list().arg(name()).arg(name()), "declared twice"),
            (
                list().flag(FlagSpec::text("name", "n")).arg(name()),
                "named like a flag",
            ),
            (
                list().arg(ArgSpec::new("Name", "n")),
                "invalid argument name",
            ),
            (
                list().arg(name().path().allowed_values(["a"])),
                "cannot have a closed set",
            ),
            (
                list()
                    .arg(name())
                    .arg(ArgSpec::new("other", "o").required()),
                "comes before required argument",
            ),
            (
                list()
                    .arg(name().multiple())
                    .arg(ArgSpec::new("other", "o")),
                "not the last argument",
            ),
        ] {
            let error = check(&manifest(PLUGIN_API_VERSION, spec)).expect_err("refused");
            assert!(error.contains(why), "{error}");
        }
    }

    #[test]
    fn several_values_for_the_last_argument_need_plugin_api_1_2() {
        let spec = || list().arg(ArgSpec::new("name", "n").multiple());
        assert!(check(&manifest(PLUGIN_API_VERSION, spec())).is_ok());
        let error = check(&manifest("1.1.0", spec())).expect_err("refused");
        assert!(error.contains("need plugin API 1.2"), "{error}");
    }

    #[test]
    fn a_manifest_claiming_1_0_cannot_use_what_1_1_added() {
        let error =
            check(&manifest("1.0.0", list().arg(ArgSpec::new("name", "n")))).expect_err("refused");
        assert!(error.contains("need plugin API 1.1"), "{error}");
        assert!(check(&manifest("1.0.0", list().hidden())).is_err());
        assert!(check(&manifest("1.1.0", list().hidden())).is_ok());
    }
}
