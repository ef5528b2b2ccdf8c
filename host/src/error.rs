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
}
