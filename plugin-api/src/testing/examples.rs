//! Whether the examples a plugin shows in `--help` are command lines `baseten` accepts.
//!
//! The host parses a plugin command's line from the manifest alone, so the same manifest tells,
//! without loading the plugin, whether an example names its command, uses only flags the command
//! or the host declares, gives each a value it accepts, and respects required flags and flag
//! groups. That the example then works against an API is for end-to-end tests to show.

use std::collections::HashMap;

use crate::protocol::{CommandSpec, FlagKind};
use crate::sdk::PluginDefinition;

/// The flags the host adds to every command: `(long, short, takes a value, allowed values)`.
const GLOBAL_FLAGS: [(&str, Option<char>, bool, &[&str]); 4] = [
    (
        "output",
        Some('o'),
        true,
        &["text", "json", "jsonl", "none"],
    ),
    ("jq", Some('q'), true, &[]),
    ("profile", None, true, &[]),
    ("verbose", Some('v'), false, &[]),
];

/// Checks every example of every command of `plugin`; panics naming each example `baseten`
/// would refuse, and why.
///
/// An example is a shell command line: `baseten`, the command's path, then flags. It passes when
/// each flag is the command's own or one of the host's global flags (`--output`/`-o`, `--jq`/`-q`,
/// `--profile`, `--verbose`/`-v`), a flag that takes a value has one, a value is among the
/// flag's allowed values, no flag but a repeated one is given twice, and the command's required
/// flags and flag groups are satisfied. A value written as a placeholder, such as `<name>`, is
/// accepted for any flag. Anything from an unquoted `|`, `>`, `<`, `;` or `&` on is the shell's,
/// not `baseten`'s, and is not checked.
///
/// Call it from a test of the plugin:
///
/// ```
/// use baseten_plugin_api::{CommandOutput, CommandSpec, FlagSpec, PluginDefinition};
/// use serde_json::json;
///
/// fn plugin() -> PluginDefinition {
///     PluginDefinition::new("hello", "0.1.0", "Say hello").command(
///         CommandSpec::new(["hello", "greet"], "Greet someone")
///             .flag(FlagSpec::text("name", "Who to greet"))
///             .example("Greet Ada", "baseten hello greet --name Ada")
///             .run(|_, _| Ok(CommandOutput::lines(json!({}), Vec::new()))),
///     )
/// }
///
/// // In the plugin's tests:
/// baseten_plugin_api::testing::check_examples(&plugin());
/// ```
#[track_caller]
pub fn check_examples(plugin: &PluginDefinition) {
    let problems: Vec<String> = plugin
        .manifest()
        .commands
        .iter()
        .flat_map(|command| {
            command.examples.iter().filter_map(|example| {
                example_problem(command, &example.command)
                    .map(|why| format!("`{}`: {why}", example.command))
            })
        })
        .collect();
    assert!(
        problems.is_empty(),
        "examples of plugin `{}` that `baseten` would refuse:\n  {}",
        plugin.name,
        problems.join("\n  ")
    );
}

/// Why `baseten` would refuse the command line `example` for `command`, if it would.
fn example_problem(command: &CommandSpec, example: &str) -> Option<String> {
    let words = match shell_words(example) {
        Ok(words) => words,
        Err(why) => return Some(why),
    };
    let mut words = words.into_iter();
    let expected: Vec<&str> = std::iter::once("baseten")
        .chain(command.path.iter().map(String::as_str))
        .collect();
    for wanted in &expected {
        match words.next() {
            Some(word) if word == *wanted => {}
            _ => return Some(format!("does not start with `{}`", expected.join(" "))),
        }
    }
    let mut given: HashMap<String, usize> = HashMap::new();
    while let Some(word) = words.next() {
        let (flag, inline_value) = if let Some(long) = word.strip_prefix("--") {
            match long.split_once('=') {
                Some((name, value)) => (find_long(command, name), Some(value.to_owned())),
                None => (find_long(command, long), None),
            }
        } else if let Some((letter, rest)) = word
            .strip_prefix('-')
            .and_then(|short| Some((short.chars().next()?, &short[1..])))
            .filter(|(letter, _)| letter.is_ascii_alphabetic())
        {
            let flag = find_short(command, letter);
            match &flag {
                // `-vv`: a switch repeated in one word.
                Some(found) if !found.takes_value && rest.chars().all(|c| c == letter) => {
                    (flag, None)
                }
                // `-ojson`: the value right after the letter.
                Some(found) if found.takes_value && !rest.is_empty() => {
                    (flag, Some(rest.to_owned()))
                }
                Some(_) if !rest.is_empty() => return Some(format!("`{word}` is not one flag")),
                _ => (flag, None),
            }
        } else {
            return Some(format!("unexpected argument `{word}`"));
        };
        let Some(flag) = flag else {
            return Some(format!("`{word}` is not a flag of this command"));
        };
        let value = match (flag.takes_value, inline_value) {
            (true, Some(value)) => Some(value),
            (true, None) => match words.next() {
                Some(value) => Some(value),
                None => return Some(format!("`{word}` needs a value")),
            },
            (false, Some(_)) => return Some(format!("`{word}` takes no value")),
            (false, None) => None,
        };
        if let Some(value) = value {
            let placeholder = value.starts_with('<') && value.ends_with('>');
            if !placeholder && !flag.allowed.is_empty() && !flag.allowed.contains(&value) {
                return Some(format!(
                    "`{value}` is not a value of `--{}` ({})",
                    flag.long,
                    flag.allowed.join(", ")
                ));
            }
            if flag.long == "output" && value == "none" && !command.output.allow_none {
                return Some("the command refuses `--output none`".to_owned());
            }
        }
        let count = given.entry(flag.long.clone()).or_default();
        *count += 1;
        if *count > 1 && !flag.repeatable {
            return Some(format!("`--{}` is given twice", flag.long));
        }
    }
    let is_given = |long: &String| given.contains_key(long);
    if let Some(flag) = command
        .flags
        .iter()
        .find(|flag| flag.required && !is_given(&flag.long))
    {
        return Some(format!("the required `--{}` is missing", flag.long));
    }
    for group in &command.one_required {
        if group.iter().filter(|long| is_given(long)).count() != 1 {
            return Some(format!("give exactly one of {}", dashed(group)));
        }
    }
    for group in &command.conflicts {
        if group.iter().filter(|long| is_given(long)).count() > 1 {
            return Some(format!("give at most one of {}", dashed(group)));
        }
    }
    None
}

/// `--a`, `--b` for the flags `a` and `b`.
fn dashed(group: &[String]) -> String {
    group
        .iter()
        .map(|long| format!("`--{long}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A flag an example may use: the command's own or a global one.
struct KnownFlag {
    long: String,
    takes_value: bool,
    repeatable: bool,
    allowed: Vec<String>,
}

fn find_long(command: &CommandSpec, long: &str) -> Option<KnownFlag> {
    find(command, |own_long, _| own_long == long)
}

fn find_short(command: &CommandSpec, short: char) -> Option<KnownFlag> {
    find(command, |_, own_short| own_short == Some(short))
}

fn find(command: &CommandSpec, matches: impl Fn(&str, Option<char>) -> bool) -> Option<KnownFlag> {
    let own = command
        .flags
        .iter()
        .find(|flag| matches(&flag.long, flag.short))
        .map(|flag| KnownFlag {
            long: flag.long.clone(),
            takes_value: flag.kind != FlagKind::Bool,
            repeatable: flag.kind == FlagKind::Repeated,
            allowed: flag.allowed_values.clone(),
        });
    own.or_else(|| {
        GLOBAL_FLAGS
            .iter()
            .find(|(long, short, _, _)| matches(long, *short))
            .map(|(long, _, takes_value, allowed)| KnownFlag {
                long: (*long).to_owned(),
                takes_value: *takes_value,
                // `-vv` asks for more detail; the others may be given once.
                repeatable: !takes_value,
                allowed: allowed.iter().map(|value| (*value).to_owned()).collect(),
            })
    })
}

/// How many characters after a `<` make the rest of a placeholder such as `<label>` or `<id-1>`:
/// letters, digits, `-` and `_`, then `>`.
fn placeholder_length(after: &str) -> Option<usize> {
    let name = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .count();
    (name > 0 && after[name..].starts_with('>')).then_some(name + 1)
}

/// The words a POSIX shell makes of `line`, quotes removed, up to the first unquoted `|`, `>`,
/// `<`, `;` or `&` (what follows is for the shell). A placeholder such as `<label>` stays a word,
/// as the reader of the example takes it.
fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a `'` is not closed".to_owned()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a `\"` is not closed".to_owned()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a `\"` is not closed".to_owned()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            // `<name>` is a placeholder for the reader to fill in, not a redirection.
            '<' if placeholder_length(chars.as_str()).is_some() => {
                in_word = true;
                let length = placeholder_length(chars.as_str()).unwrap_or_default();
                word.push('<');
                word.extend(chars.by_ref().take(length));
            }
            '|' | '>' | '<' | ';' | '&' => {
                // `2>` is a redirection too: the digits are not an argument.
                if !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) && c == '>' {
                    word.clear();
                    in_word = false;
                }
                break;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::{CommandOutput, FlagSpec};
    use crate::sdk::Command;

    fn create(examples: &[&str]) -> Command {
        let mut spec = CommandSpec::new(["org", "api-key", "create"], "Create an API key")
            .flag(
                FlagSpec::text("type", "Category")
                    .required()
                    .allowed_values(["personal", "workspace-invoke"]),
            )
            .flag(FlagSpec::text("name", "Name"))
            .flag(FlagSpec::text("prefix", "Prefix"))
            .flag(FlagSpec::repeated("model-id", "Model"))
            .flag(FlagSpec::switch("yes", "Do not ask").short('y'))
            .at_most_one_of(["name", "prefix"])
            .refuse_output_none();
        for example in examples {
            spec = spec.example("An example", *example);
        }
        spec.run(|_, _| Ok(CommandOutput::lines(json!({}), Vec::new())))
    }

    fn problem(example: &str) -> Option<String> {
        example_problem(&create(&[]).spec, example)
    }

    #[test]
    fn a_command_line_baseten_accepts_passes() {
        for example in [
            "baseten org api-key create --type personal",
            "baseten org api-key create --type=personal --name <label> -y",
            "baseten org api-key create --type workspace-invoke --model-id a --model-id b",
            "baseten org api-key create --type <type> -o json -vv --profile ci",
            "baseten org api-key create --type personal --jq '.keys[] | .prefix' > key.txt",
            "baseten org api-key create --type personal -ojson 2>/dev/null | head -n 1",
            r#"baseten org api-key create --type personal -q ".name == \"x\"""#,
        ] {
            assert_eq!(problem(example), None, "{example}");
        }
    }

    #[test]
    fn a_command_line_baseten_refuses_is_named_with_the_reason() {
        for (example, why) in [
            (
                "baseten org api-key list",
                "does not start with `baseten org api-key create`",
            ),
            ("baseten org api-key", "does not start with"),
            (
                "baseten org api-key create --type personal --team x",
                "`--team` is not a flag",
            ),
            (
                "baseten org api-key create --type personal extra",
                "unexpected argument `extra`",
            ),
            (
                "baseten org api-key create --type",
                "`--type` needs a value",
            ),
            (
                "baseten org api-key create --type team",
                "`team` is not a value of `--type`",
            ),
            (
                "baseten org api-key create --type personal -o yaml",
                "`yaml` is not a value",
            ),
            (
                "baseten org api-key create --type personal -o none",
                "refuses `--output none`",
            ),
            (
                "baseten org api-key create --type personal --yes=1",
                "`--yes=1` takes no value",
            ),
            (
                "baseten org api-key create --type personal -x",
                "`-x` is not a flag",
            ),
            (
                "baseten org api-key create --name a",
                "the required `--type` is missing",
            ),
            (
                "baseten org api-key create --type personal --name a --name b",
                "given twice",
            ),
            (
                "baseten org api-key create --type personal --name a --prefix b",
                "at most one",
            ),
            (
                "baseten org api-key create --type 'personal",
                "is not closed",
            ),
        ] {
            let found = problem(example).unwrap_or_default();
            assert!(found.contains(why), "{example}: {found:?}");
        }
    }

    #[test]
    fn every_problem_of_a_plugin_is_reported_at_once() {
        let plugin = PluginDefinition::new("demo", "0.1.0", "Demo").command(create(&[
            "baseten org api-key create --type personal",
            "baseten org api-key create --team x",
            "baseten org api-key create",
        ]));
        let panic = std::panic::catch_unwind(|| check_examples(&plugin))
            .expect_err("bad examples fail the check");
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("plugin `demo`"), "{message}");
        assert!(
            message.contains("`baseten org api-key create --team x`"),
            "{message}"
        );
        assert!(
            message.contains("`baseten org api-key create`: the required"),
            "{message}"
        );
        assert!(!message.contains("--type personal`"), "{message}");
    }

    #[test]
    fn a_plugin_whose_examples_all_pass_passes() {
        let plugin = PluginDefinition::new("demo", "0.1.0", "Demo").command(create(&[
            "baseten org api-key create --type personal --name bot",
        ]));
        check_examples(&plugin);
    }
}
