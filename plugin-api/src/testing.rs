//! What plugin tests share: a stand-in host that answers requests from a script and records
//! them, and a check of the examples a plugin shows in `--help`.
//!
//! Plugin crates build as `rlib` too, so their tests call the [`PluginDefinition`] directly with
//! a [`RecordingHost`] instead of loading a library, and hand it to [`check_examples`].

use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::Value;

use crate::protocol::{
    CommandOutput, HttpOutcome, HttpRequest, HttpResponse, Invocation, LogLevel, OutputMode,
    PluginError,
};
use crate::sdk::{Host, HostApi, PluginDefinition};

mod examples;

pub use examples::check_examples;

/// A host whose HTTP answers are queued in advance and whose requests are recorded.
#[derive(Default)]
pub struct RecordingHost {
    answers: RefCell<VecDeque<HttpOutcome>>,
    requests: RefCell<Vec<HttpRequest>>,
    logs: RefCell<Vec<String>>,
    prompts: RefCell<Vec<String>>,
    confirm_answer: bool,
}

impl RecordingHost {
    /// A host with no answers queued that says no to every question.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an answer with `status` and a JSON body.
    #[must_use]
    pub fn respond(self, status: u16, body: Value) -> Self {
        self.answers
            .borrow_mut()
            .push_back(HttpOutcome::Response(HttpResponse {
                status,
                body: body.to_string(),
            }));
        self
    }

    /// Queues a failure (no answer from the server).
    #[must_use]
    pub fn fail(self, error: PluginError) -> Self {
        self.answers
            .borrow_mut()
            .push_back(HttpOutcome::Error(error));
        self
    }

    /// Makes every question answered with `answer`.
    #[must_use]
    pub fn confirm_with(mut self, answer: bool) -> Self {
        self.confirm_answer = answer;
        self
    }

    /// The requests made so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.borrow().clone()
    }

    /// The questions asked so far.
    pub fn prompts(&self) -> Vec<String> {
        self.prompts.borrow().clone()
    }

    /// The log lines written so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.borrow().clone()
    }

    /// A run of `command` (a path like `["org", "api-key", "list"]`) of `plugin` against this
    /// host, with no flags, in text mode and without a terminal until the builder says otherwise:
    ///
    /// ```
    /// # use baseten_plugin_api::{CommandOutput, CommandSpec, FlagSpec, OutputMode, PluginDefinition};
    /// # use baseten_plugin_api::testing::RecordingHost;
    /// # use serde_json::json;
    /// # let plugin = PluginDefinition::new("hello", "0.1.0", "Say hello").command(
    /// #     CommandSpec::new(["hello", "greet"], "Greet")
    /// #         .flag(FlagSpec::text("name", "Who"))
    /// #         .run(|_, args| Ok(CommandOutput::lines(json!({}), vec![args.text("name").unwrap_or("").to_owned()]))),
    /// # );
    /// let host = RecordingHost::new();
    /// let output = host
    ///     .command(&plugin, &["hello", "greet"])
    ///     .flag("name", "Ada")
    ///     .output(OutputMode::Json)
    ///     .run()
    ///     .expect("greets");
    /// ```
    pub fn command<'a>(&'a self, plugin: &'a PluginDefinition, command: &[&str]) -> Call<'a> {
        Call {
            host: self,
            plugin,
            invocation: Invocation {
                command: command.iter().map(|word| (*word).to_owned()).collect(),
                flags: serde_json::Map::new(),
                output: OutputMode::Text,
                interactive: false,
            },
        }
    }
}

/// One command run against a [`RecordingHost`], built up flag by flag; made by
/// [`RecordingHost::command`], started by [`Call::run`].
#[must_use = "a call does nothing until `run`"]
pub struct Call<'a> {
    host: &'a RecordingHost,
    plugin: &'a PluginDefinition,
    invocation: Invocation,
}

impl Call<'_> {
    /// Gives flag `long` as the host would pass it: a string for a flag with one value, an array
    /// of strings for a repeated flag, `true` for a switch.
    pub fn flag(mut self, long: &str, value: impl Into<Value>) -> Self {
        self.invocation.flags.insert(long.to_owned(), value.into());
        self
    }

    /// Runs in `output` mode instead of text.
    pub fn output(mut self, output: OutputMode) -> Self {
        self.invocation.output = output;
        self
    }

    /// Runs as if on a terminal, where the user can be asked a question (see
    /// [`RecordingHost::confirm_with`]).
    pub fn interactive(mut self) -> Self {
        self.invocation.interactive = true;
        self
    }

    /// Runs the command, as the host would after parsing its command line.
    pub fn run(self) -> Result<CommandOutput, PluginError> {
        self.plugin.invoke(&Host::new(self.host), &self.invocation)
    }
}

impl HostApi for RecordingHost {
    fn http(&self, request: &HttpRequest) -> HttpOutcome {
        self.requests.borrow_mut().push(request.clone());
        self.answers.borrow_mut().pop_front().unwrap_or_else(|| {
            HttpOutcome::Error(PluginError::new(
                crate::protocol::ErrorKind::Failure,
                format!(
                    "RecordingHost: no answer queued for {} {}",
                    request.method, request.path
                ),
            ))
        })
    }

    fn log(&self, _level: LogLevel, message: &str) {
        self.logs.borrow_mut().push(message.to_owned());
    }

    fn confirm(&self, prompt: &str) -> bool {
        self.prompts.borrow_mut().push(prompt.to_owned());
        self.confirm_answer
    }
}
