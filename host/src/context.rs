//! What every command shares: the terminal, colour, verbosity, the environment and the
//! executable's path. Commands ask the context, never the process: a test builds one over an
//! in-memory terminal and a fixed environment and runs whole commands without a process.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::env_vars;
use crate::error::CliError;
use crate::terminal::Terminal;

/// Read once at start-up and passed down; commands ask it instead of the process.
pub struct Context {
    terminal: Terminal,
    /// `-v` count: 1 logs requests, 2 adds headers and bodies.
    pub verbosity: u8,
    environment: Vec<(OsString, OsString)>,
    /// The `baseten` executable child processes run (manifest probes, `--jq`): the running one
    /// unless a test names the built binary.
    executable: Option<PathBuf>,
}

/// The environment holds `BASETEN_API_KEY`: `Debug` names the variables, never their values.
impl std::fmt::Debug for Context {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Context")
            .field("terminal", &self.terminal)
            .field("verbosity", &self.verbosity)
            .field(
                "environment",
                &self
                    .environment
                    .iter()
                    .map(|(name, _)| name.to_string_lossy())
                    .collect::<Vec<_>>(),
            )
            .field("executable", &self.executable)
            .finish()
    }
}

/// The process's arguments, for `main`.
#[allow(
    clippy::disallowed_methods,
    reason = "the one place the process's arguments are read"
)]
pub fn process_args() -> Vec<OsString> {
    std::env::args_os().collect()
}

impl Context {
    /// The real process's context: its terminal and its environment.
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place the process's environment is read"
    )]
    pub fn from_process() -> Self {
        Self::new(
            Terminal::from_process(),
            std::env::vars_os().collect(),
            None,
        )
    }

    /// A context over `terminal` whose environment is exactly `environment` (raw values
    /// allowed); child processes run `executable`, or the running executable when `None`.
    pub fn new(
        terminal: Terminal,
        environment: Vec<(OsString, OsString)>,
        executable: Option<PathBuf>,
    ) -> Self {
        Self {
            terminal,
            verbosity: 0,
            environment,
            executable,
        }
    }

    /// The run's terminal: its streams, prompts and Ctrl-C hand-over.
    pub fn terminal(&self) -> &Terminal {
        &self.terminal
    }

    /// Every variable, as the process got them (for jq's `$ENV` and child processes).
    pub fn vars(&self) -> &[(OsString, OsString)] {
        &self.environment
    }

    /// The `baseten` executable, for child processes of the host.
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place the running executable's path is asked for"
    )]
    pub fn current_exe(&self) -> std::io::Result<PathBuf> {
        match &self.executable {
            Some(executable) => Ok(executable.clone()),
            None => std::env::current_exe(),
        }
    }

    /// A variable's value as text; unset and empty are the same. A value that is not UTF-8 is
    /// an error naming the variable: ignoring it would quietly do something the user did not ask.
    pub fn var(&self, name: &str) -> Result<Option<String>, CliError> {
        match self.var_os(name) {
            None => Ok(None),
            Some(value) => value.into_string().map(Some).map_err(|_| {
                CliError::usage(format!("invalid {name}: the value is not valid UTF-8"))
                    .with_hint(format!("set {name} to text, or unset it"))
            }),
        }
    }

    /// Whether a variable is set to anything but empty, `0`, `false`, `no` or `off` (any case;
    /// raw bytes count: a switch needs no text).
    pub fn switch(&self, name: &str) -> bool {
        self.var_os(name).is_some_and(|value| {
            let value = value.as_encoded_bytes().trim_ascii();
            !["0", "false", "no", "off"]
                .iter()
                .any(|off| value.eq_ignore_ascii_case(off.as_bytes()))
        })
    }

    /// Puts `folder` first in `BASETEN_PLUGIN_PATH` for the rest of this run and for its child
    /// processes (`plugin dev`).
    pub fn prepend_plugin_folder(&mut self, folder: &std::path::Path) -> Result<(), CliError> {
        let name = crate::env_vars::PLUGIN_PATH;
        let mut folders = vec![folder.to_path_buf()];
        if let Some(existing) = self.var_os(name) {
            folders.extend(std::env::split_paths(&existing));
        }
        let joined = std::env::join_paths(folders).map_err(|error| {
            CliError::failure(format!(
                "could not add `{}` to {name}: {error}",
                folder.display()
            ))
        })?;
        self.environment.retain(|(key, _)| key != name);
        self.environment.push((OsString::from(name), joined));
        Ok(())
    }

    /// A variable's raw value, if set and not empty.
    pub fn var_os(&self, name: &str) -> Option<OsString> {
        self.environment
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    }

    /// Whether the user can be asked a question: stdin and stderr are both terminals.
    pub fn can_prompt(&self) -> bool {
        self.terminal.can_prompt()
    }

    /// Whether to style what goes to stdout.
    pub fn color_stdout(&self) -> bool {
        self.color(self.terminal.stdout_is_terminal())
    }

    /// Whether to style what goes to stderr.
    pub fn color_stderr(&self) -> bool {
        self.color(self.terminal.stderr_is_terminal())
    }

    fn color(&self, is_terminal: bool) -> bool {
        // `NO_COLOR` takes any value, whatever its bytes.
        if self.var_os(env_vars::NO_COLOR).is_some() {
            return false;
        }
        if self.switch(env_vars::CLICOLOR_FORCE) {
            return true;
        }
        is_terminal
    }

    /// A context over an in-memory terminal with nothing on stdin, whose environment is
    /// exactly `environment`, raw values allowed.
    #[cfg(test)]
    pub fn for_tests_os(environment: Vec<(OsString, OsString)>) -> Self {
        Self::new(Terminal::memory(b"").0, environment, None)
    }

    #[cfg(test)]
    pub fn for_tests(environment: &[(&str, &str)]) -> Self {
        Self::for_tests_os(
            environment
                .iter()
                .map(|(key, value)| (OsString::from(key), OsString::from(value)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_variables_but_never_their_values() {
        let context = Context::for_tests(&[("BASETEN_API_KEY", "abcd1234.s3cretvalue")]);
        let shown = format!("{context:?}");
        assert!(shown.contains("BASETEN_API_KEY"), "{shown}");
        assert!(!shown.contains("s3cretvalue"), "{shown}");
    }

    #[test]
    fn no_color_wins_over_force() {
        let context = Context::for_tests(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
        assert!(!context.color_stdout());
    }

    #[test]
    fn force_turns_colour_on_without_a_terminal() {
        let context = Context::for_tests(&[("CLICOLOR_FORCE", "1")]);
        assert!(context.color_stdout());
        assert!(!Context::for_tests(&[("CLICOLOR_FORCE", "0")]).color_stdout());
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let context = Context::for_tests(&[("BASETEN_API_KEY", "")]);
        assert_eq!(context.var("BASETEN_API_KEY"), Ok(None));
    }

    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_is_an_error_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let context = Context::for_tests_os(vec![(
            OsString::from("BASETEN_PROFILE"),
            OsString::from_vec(vec![b'a', 0xff]),
        )]);
        let error = context.var("BASETEN_PROFILE").expect_err("an error");
        assert_eq!(error.exit_code(), 2);
        assert_eq!(
            error.message,
            "invalid BASETEN_PROFILE: the value is not valid UTF-8"
        );
        assert!(context.switch("BASETEN_PROFILE"));
    }

    #[test]
    fn switches_read_common_words_for_off() {
        for (value, on) in [
            ("1", true),
            ("yes", true),
            ("0", false),
            ("false", false),
            ("No", false),
            (" OFF ", false),
            ("", false),
        ] {
            let context = Context::for_tests(&[("BASETEN_NO_KEYRING", value)]);
            assert_eq!(context.switch("BASETEN_NO_KEYRING"), on, "{value:?}");
        }
    }
}
