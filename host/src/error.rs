//! The one error type of the host and the only mapping from errors to exit codes.

use baseten_plugin_api::{ErrorKind, PluginError};

/// A failure to report to the user: one `error:` line, maybe one `hint:` line, an exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// Picks the exit code.
    pub kind: ErrorKind,
    /// What failed and why.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failure, message)
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The exit code of the README's table.
    pub fn exit_code(&self) -> u8 {
        exit_code(self.kind)
    }
}

/// The exit code for each kind of failure.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Failure => 1,
        ErrorKind::Usage => 2,
        ErrorKind::Auth => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::Client => 5,
        ErrorKind::Server => 6,
        ErrorKind::Network => 7,
        ErrorKind::Plugin => 8,
        ErrorKind::Interrupted => 130,
    }
}

/// A plugin's error as the user sees it: an HTTP answer it passes on is classified by the host
/// ([`crate::http_errors::complete`]).
impl From<PluginError> for CliError {
    fn from(error: PluginError) -> Self {
        let error = crate::http_errors::complete(error);
        Self {
            kind: error.kind,
            message: error.message,
            hint: error.hint,
        }
    }
}

impl From<CliError> for PluginError {
    fn from(error: CliError) -> Self {
        let mut plugin_error = PluginError::new(error.kind, error.message);
        plugin_error.hint = error.hint;
        plugin_error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_spec_exit_code() {
        let codes: Vec<u8> = [
            ErrorKind::Failure,
            ErrorKind::Usage,
            ErrorKind::Auth,
            ErrorKind::NotFound,
            ErrorKind::Client,
            ErrorKind::Server,
            ErrorKind::Network,
            ErrorKind::Plugin,
            ErrorKind::Interrupted,
        ]
        .into_iter()
        .map(exit_code)
        .collect();
        assert_eq!(codes, [1, 2, 3, 4, 5, 6, 7, 8, 130]);
    }

    const GUIDE: &str = include_str!("../../docs/writing-a-plugin.md");

    /// The text of the plugin guide's section `heading`, up to the next section.
    fn guide_section(heading: &str) -> &'static str {
        let start = GUIDE
            .find(&format!("\n## {heading}\n"))
            .unwrap_or_else(|| panic!("the plugin guide has a section `{heading}`"));
        let rest = &GUIDE[start + 1..];
        let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3);
        &rest[..end]
    }

    /// The plugin guide's table of error kinds and exit codes is this host's.
    #[test]
    fn the_plugin_guide_gives_every_kind_its_exit_code() {
        let mut rows = 0;
        for line in guide_section("Errors").lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let [_, kind, code, ..] = cells.as_slice() else {
                continue;
            };
            let Ok(code) = code.parse::<u8>() else {
                continue;
            };
            let Some(kind) = kind
                .strip_prefix('`')
                .and_then(|kind| kind.strip_suffix('`'))
            else {
                continue;
            };
            let kind: ErrorKind = serde_json::from_value(serde_json::Value::String(
                // `NotFound` → `not_found`, the kind's name in the protocol.
                kind.chars().fold(String::new(), |mut name, character| {
                    if character.is_uppercase() && !name.is_empty() {
                        name.push('_');
                    }
                    name.push(character.to_ascii_lowercase());
                    name
                }),
            ))
            .expect("a kind");
            assert_eq!(code, exit_code(kind), "{line}");
            rows += 1;
        }
        assert_eq!(rows, 9, "one row per kind");
    }

    /// The plugin guide's errors example is the SDK's doc test of `PluginError`, which runs.
    #[test]
    fn the_plugin_guides_errors_example_is_the_sdks_doc_test() {
        let section = guide_section("Errors");
        let start = section.find("```rust\n").expect("an example") + "```rust\n".len();
        let example = &section[start..start + section[start..].find("```").expect("closed")];
        let source = include_str!("../../plugin-api/src/protocol.rs");
        let doc_test: String = source
            .split("/// ```\n")
            .nth(1)
            .expect("the doc test of `PluginError`")
            .lines()
            .map(|line| line.strip_prefix("///").unwrap_or(line))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .filter(|line| !line.starts_with('#'))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(example, doc_test);
    }
}
