//! Stage three of a run: the global options every command takes, declared here once, and the
//! settings of one command read from them and checked before anything is sent: the `-v` count
//! (known before parsing), the output mode, the compiled `--jq` filter and `--profile`.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches};

use baseten_plugin_api::OutputMode;
use baseten_plugin_api::protocol::OutputSpec;

use crate::error::CliError;
use crate::jq::JqFilter;

/// Where `--help` lists the options every command takes.
const GLOBAL_HEADING: &str = "Global Options";

/// The options every command takes, before or after the command's words.
pub(super) fn global_args() -> Vec<Arg> {
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

/// How one command runs and shows its output.
pub struct Settings {
    pub mode: OutputMode,
    pub jq: Option<JqFilter>,
    /// `--profile`, if given.
    pub profile: Option<String>,
}

impl Settings {
    /// The settings of the command at `path`, whose output follows `spec`.
    pub fn read(
        matches: &ArgMatches,
        path: &[String],
        spec: &OutputSpec,
    ) -> Result<Self, CliError> {
        let (mode, jq) = output_settings(matches, path, spec)?;
        Ok(Self {
            mode,
            jq,
            profile: matches.get_one::<String>("profile").cloned(),
        })
    }
}

/// How many `-v` the arguments hold (`-v`, `-vv`, `--verbose`), before a `--`. Known before
/// parsing, so that discovery can be logged even for `--help`.
pub fn count_verbose_flags(args: &[OsString]) -> u8 {
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
}
