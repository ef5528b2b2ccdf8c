//! A stand-in host for plugin unit tests: answers requests from a script and records them.
//!
//! Plugin crates build as `rlib` too, so their tests call the [`PluginDefinition`] directly with
//! a [`RecordingHost`] instead of loading a library.

use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::Value;

use crate::protocol::{
    CommandOutput, HttpOutcome, HttpRequest, HttpResponse, Invocation, LogLevel, OutputMode,
    PluginError,
};
use crate::sdk::{Host, HostApi, PluginDefinition};

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

    /// Runs `command` (a path like `["org", "api-key", "list"]`) of `plugin` with `flags` (a JSON
    /// object) in `output` mode.
    pub fn run(
        &self,
        plugin: &PluginDefinition,
        command: &[&str],
        flags: Value,
        output: OutputMode,
        interactive: bool,
    ) -> Result<CommandOutput, PluginError> {
        let invocation = Invocation {
            command: command.iter().map(|word| (*word).to_owned()).collect(),
            flags: match flags {
                Value::Object(flags) => flags,
                _ => serde_json::Map::new(),
            },
            output,
            interactive,
        };
        plugin.invoke(&Host::new(self), &invocation)
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
