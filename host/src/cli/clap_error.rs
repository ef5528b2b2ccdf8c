//! Clap's errors, help and version, made ours: help asked for goes to stdout; everything else
//! becomes one scrubbed `error:` line and one hint, with long stray values (a key typed as an
//! argument) not repeated.

use std::io::Write;

use crate::context::Context;
use crate::error::CliError;

/// Help and version asked for go to stdout with exit 0. A command missing its subcommand
/// (`baseten`, `baseten org`) is a usage error: the help goes to stderr, where it cannot be
/// mistaken for data, then one error line, exit 2. Anything else becomes one error line and a
/// hint.
pub fn handle(context: &Context, error: &clap::Error) -> Result<(), CliError> {
    use clap::error::ErrorKind as ClapKind;
    match error.kind() {
        ClapKind::DisplayHelp | ClapKind::DisplayVersion => {
            let text = error.render().to_string();
            let mut stdout = context.terminal().stdout();
            // Plugins describe their commands: no control character of theirs reaches the
            // terminal.
            for line in text.lines() {
                let _ = writeln!(stdout, "{}", crate::sanitize::printable(line));
            }
            let _ = stdout.flush();
            Ok(())
        }
        ClapKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let text = error.render().to_string();
            let mut stderr = context.terminal().stderr();
            // Plugins describe their commands: their words are scrubbed line by line.
            for line in text.lines() {
                let _ = writeln!(stderr, "{}", crate::secrets::scrub(line).trim_end());
            }
            let _ = stderr.flush();
            Err(CliError::usage("a subcommand is required")
                .with_hint("pick one of the commands listed above"))
        }
        _ => {
            let (message, hint) = one_line_clap_error(&error.render().to_string());
            Err(CliError::usage(message).with_hint(hint))
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
