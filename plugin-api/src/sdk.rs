//! What a plugin author uses: command specs as data, typed flag access, a [`Host`] to call the
//! API through, and [`export_plugin!`](crate::export_plugin) to expose it all to the host.
//!
//! A plugin is a list of [`Command`]s, each a spec and a `run` function. The SDK builds the
//! manifest from the specs, routes an invocation to its command, and catches panics so that a
//! bug in a plugin is an error message, never a crashed host.
//!
//! Catching a panic needs unwinding: never build a plugin with `panic = "abort"` in a Cargo
//! profile, or a panic in a library plugin kills the `baseten` process that loaded it.
//!
//! This crate enables `serde_json`'s `preserve_order` feature, which Cargo turns on for every
//! crate using `serde_json` in the plugin: a [`Value`] payload (and `json!`) keeps its fields in
//! insertion order. A payload that must not depend on it is a `#[derive(Serialize)]` struct
//! (fields in declaration order) or an API's answer kept as text ([`Host::get_raw`]).

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::abi::HostServices;
use crate::protocol::ArgSpec;
use crate::protocol::{
    CommandOutput, CommandResult, CommandSpec, ErrorKind, Example, Field, FlagKind, FlagSpec,
    GroupSpec, HttpFailure, HttpOutcome, HttpRequest, Invocation, LogLevel, Manifest,
    PLUGIN_API_VERSION, PluginError, Table, TextView,
};

/// A whole plugin: identity, group descriptions and commands.
pub struct PluginDefinition {
    /// The plugin's name, e.g. `org-api-key`.
    pub name: String,
    /// The plugin's version, usually `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// One line about the plugin.
    pub description: String,
    /// Descriptions of the groups the commands sit in.
    pub groups: Vec<GroupSpec>,
    /// The commands.
    pub commands: Vec<Command>,
}

impl PluginDefinition {
    /// A plugin with no groups or commands yet.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            groups: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// Describes a command group, e.g. `group(["org", "api-key"], "Manage API keys")`.
    #[must_use]
    pub fn group<const N: usize>(mut self, path: [&str; N], about: impl Into<String>) -> Self {
        self.groups.push(GroupSpec {
            path: path.iter().map(|word| (*word).to_owned()).collect(),
            about: about.into(),
        });
        self
    }

    /// Adds a command.
    #[must_use]
    pub fn command(mut self, command: Command) -> Self {
        self.commands.push(command);
        self
    }

    /// The manifest the host reads.
    pub fn manifest(&self) -> Manifest {
        Manifest {
            name: self.name.clone(),
            version: self.version.clone(),
            plugin_api_version: PLUGIN_API_VERSION.to_owned(),
            description: self.description.clone(),
            groups: self.groups.clone(),
            commands: self
                .commands
                .iter()
                .map(|command| command.spec.clone())
                .collect(),
        }
    }

    /// Routes `invocation` to its command and runs it.
    pub fn invoke(
        &self,
        host: &Host<'_>,
        invocation: &Invocation,
    ) -> Result<CommandOutput, PluginError> {
        let command = self
            .commands
            .iter()
            .find(|command| command.spec.path == invocation.command)
            .ok_or_else(|| {
                PluginError::new(
                    ErrorKind::Plugin,
                    format!(
                        "plugin `{}` has no command `{}`",
                        self.name,
                        invocation.command.join(" ")
                    ),
                )
            })?;
        (command.run)(host, &Args::new(invocation))
    }
}

/// The signature of a command's body.
pub type RunFn = fn(&Host<'_>, &Args<'_>) -> Result<CommandOutput, PluginError>;

/// One leaf command: what it looks like and what it does.
pub struct Command {
    /// Path, help, flags and output, as the host shows them.
    pub spec: CommandSpec,
    /// The body.
    pub run: RunFn,
}

impl CommandSpec {
    /// A command at `path` with a one-line description.
    pub fn new<const N: usize>(path: [&str; N], about: impl Into<String>) -> Self {
        Self {
            path: path.iter().map(|word| (*word).to_owned()).collect(),
            about: about.into(),
            long_about: None,
            examples: Vec::new(),
            flags: Vec::new(),
            conflicts: Vec::new(),
            one_required: Vec::new(),
            output: crate::protocol::OutputSpec::default(),
            args: Vec::new(),
            hidden: false,
        }
    }

    /// The text of the command's own `--help`.
    #[must_use]
    pub fn long_about(mut self, text: impl Into<String>) -> Self {
        self.long_about = Some(text.into());
        self
    }

    /// Adds a flag.
    #[must_use]
    pub fn flag(mut self, flag: FlagSpec) -> Self {
        self.flags.push(flag);
        self
    }

    /// Adds an example to `--help`.
    #[must_use]
    pub fn example(mut self, description: impl Into<String>, command: impl Into<String>) -> Self {
        self.examples.push(Example {
            description: description.into(),
            command: command.into(),
        });
        self
    }

    /// Exactly one of these flags must be given.
    #[must_use]
    pub fn exactly_one_of<const N: usize>(mut self, flags: [&str; N]) -> Self {
        self.one_required
            .push(flags.iter().map(|flag| (*flag).to_owned()).collect());
        self
    }

    /// At most one of these flags may be given.
    #[must_use]
    pub fn at_most_one_of<const N: usize>(mut self, flags: [&str; N]) -> Self {
        self.conflicts
            .push(flags.iter().map(|flag| (*flag).to_owned()).collect());
        self
    }

    /// Names the JSON payload's type, e.g. `managementapi.APIKeys`.
    #[must_use]
    pub fn payload(mut self, type_name: impl Into<String>) -> Self {
        self.output.payload = Some(type_name.into());
        self
    }

    /// Refuses `-o none`: for output that can never be seen again.
    #[must_use]
    pub fn refuse_output_none(mut self) -> Self {
        self.output.allow_none = false;
        self
    }

    /// Pairs the spec with its body.
    pub fn run(self, run: RunFn) -> Command {
        Command { spec: self, run }
    }
}

/// Plugin API 1.1: positional arguments and hidden commands.
impl CommandSpec {
    /// Adds a positional argument, after those already added. Its value is read like a flag's,
    /// with [`Args::text`] and the argument's name.
    #[must_use]
    pub fn arg(mut self, arg: ArgSpec) -> Self {
        self.args.push(arg);
        self
    }

    /// Leaves the command out of `--help`, completions and man pages; it still runs when typed.
    #[must_use]
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
}

/// Plugin API 1.1: positional arguments.
impl ArgSpec {
    /// An optional positional argument called `name`.
    pub fn new(name: &str, help: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            help: help.into(),
            value_name: None,
            required: false,
            allowed_values: Vec::new(),
            path: false,
            multiple: false,
        }
    }

    /// The argument takes one or more values, read with [`Args::list`]; only the last argument
    /// of a command may (plugin API 1.2).
    #[must_use]
    pub fn multiple(mut self) -> Self {
        self.multiple = true;
        self
    }

    /// The value names a file or folder: shells complete it as a path.
    #[must_use]
    pub fn path(mut self) -> Self {
        self.path = true;
        self
    }

    /// The placeholder shown for the value.
    #[must_use]
    pub fn value_name(mut self, name: impl Into<String>) -> Self {
        self.value_name = Some(name.into());
        self
    }

    /// The argument must be given.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The argument accepts only these values.
    #[must_use]
    pub fn allowed_values<const N: usize>(mut self, values: [&str; N]) -> Self {
        self.allowed_values = values.iter().map(|value| (*value).to_owned()).collect();
        self
    }
}

impl FlagSpec {
    fn with_kind(long: &str, help: impl Into<String>, kind: FlagKind) -> Self {
        Self {
            long: long.to_owned(),
            short: None,
            help: help.into(),
            value_name: None,
            kind,
            required: false,
            allowed_values: Vec::new(),
            default: None,
        }
    }

    /// A flag that takes one value.
    pub fn text(long: &str, help: impl Into<String>) -> Self {
        Self::with_kind(long, help, FlagKind::Text)
    }

    /// A flag that may be repeated, each time with a value.
    pub fn repeated(long: &str, help: impl Into<String>) -> Self {
        Self::with_kind(long, help, FlagKind::Repeated)
    }

    /// A switch.
    pub fn switch(long: &str, help: impl Into<String>) -> Self {
        Self::with_kind(long, help, FlagKind::Bool)
    }

    /// A one-letter short form.
    #[must_use]
    pub fn short(mut self, letter: char) -> Self {
        self.short = Some(letter);
        self
    }

    /// The placeholder shown for the value.
    #[must_use]
    pub fn value_name(mut self, name: impl Into<String>) -> Self {
        self.value_name = Some(name.into());
        self
    }

    /// The flag must be given.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The flag accepts only these values.
    #[must_use]
    pub fn allowed_values<const N: usize>(mut self, values: [&str; N]) -> Self {
        self.allowed_values = values.iter().map(|value| (*value).to_owned()).collect();
        self
    }

    /// The value used when the flag is not given.
    #[must_use]
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default = Some(value.into());
        self
    }
}

/// The flag values of one invocation, typed.
pub struct Args<'a> {
    invocation: &'a Invocation,
}

impl<'a> Args<'a> {
    /// Wraps an invocation.
    pub fn new(invocation: &'a Invocation) -> Self {
        Self { invocation }
    }

    /// The value of a single-value flag or of a positional argument, if given.
    pub fn text(&self, long: &str) -> Option<&'a str> {
        self.invocation.flags.get(long).and_then(Value::as_str)
    }

    /// The values of a repeated flag or of an argument taking several values, in order; empty if
    /// not given.
    pub fn list(&self, long: &str) -> Vec<&'a str> {
        match self.invocation.flags.get(long) {
            Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(value)) => vec![value.as_str()],
            _ => Vec::new(),
        }
    }

    /// Whether a switch was given.
    pub fn switch(&self, long: &str) -> bool {
        self.invocation
            .flags
            .get(long)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Whether the user can be asked a question.
    pub fn interactive(&self) -> bool {
        self.invocation.interactive
    }

    /// The whole invocation.
    pub fn invocation(&self) -> &'a Invocation {
        self.invocation
    }
}

/// The host's services as a plugin sees them. Implemented over the ABI for real runs and by
/// [`crate::testing::RecordingHost`] in tests.
pub trait HostApi {
    /// Sends a request; the host adds the base URL, credentials, timeouts and retries.
    fn http(&self, request: &HttpRequest) -> HttpOutcome;
    /// Logs one line under `-v`.
    fn log(&self, level: LogLevel, message: &str);
    /// Asks the user a yes/no question.
    fn confirm(&self, prompt: &str) -> bool;
    /// Sends a request; the response body borrowed from the host when it offers that (plugin
    /// API 1.1), so that a large answer is neither escaped nor copied on its way to the plugin,
    /// and can be handed back as the payload by reference. By default [`Self::http`]'s body.
    fn http_body(&self, request: &HttpRequest) -> BodyOutcome<'_> {
        match self.http(request) {
            HttpOutcome::Response(response) => BodyOutcome::Response {
                status: response.status,
                body: Body::owned(response.body),
            },
            HttpOutcome::Error(error) => BodyOutcome::Error(error),
        }
    }
}

/// What [`HostApi::http_body`] answers.
#[derive(Debug)]
pub enum BodyOutcome<'a> {
    /// The server answered.
    Response {
        /// The HTTP status code.
        status: u16,
        /// The body.
        body: Body<'a>,
    },
    /// No usable answer, as in [`HttpOutcome::Error`].
    Error(PluginError),
}

/// A response body: borrowed from the host (which keeps it for the whole invocation) or owned.
/// Hand it back unchanged as the payload with [`CommandOutput::passthrough`].
pub struct Body<'a> {
    text: std::borrow::Cow<'a, str>,
    /// The host's name for it; 0 when it is not held by the host.
    id: u64,
}

impl<'a> Body<'a> {
    /// A body the plugin owns (from a host without `http_body`, or a test).
    pub fn owned(text: String) -> Self {
        Self {
            text: std::borrow::Cow::Owned(text),
            id: 0,
        }
    }

    /// The body as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The body as owned text (a copy only when it is borrowed).
    pub fn into_string(self) -> String {
        self.text.into_owned()
    }
}

/// A body can hold a new key: `Debug` gives its size, never its text.
impl std::fmt::Debug for Body<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Body")
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("id", &self.id)
            .finish()
    }
}

impl HostApi for HostServices {
    fn http(&self, request: &HttpRequest) -> HttpOutcome {
        let request = match serde_json::to_string(request) {
            Ok(request) => request,
            Err(error) => {
                return HttpOutcome::Error(PluginError::new(
                    ErrorKind::Plugin,
                    format!("could not encode request: {error}"),
                ));
            }
        };
        let answer = HostServices::http(self, &request);
        serde_json::from_str(&answer).unwrap_or_else(|error| {
            HttpOutcome::Error(PluginError::new(
                ErrorKind::Plugin,
                format!("could not read the host's answer: {error}"),
            ))
        })
    }

    fn log(&self, level: LogLevel, message: &str) {
        HostServices::log(self, level as u8, message);
    }

    fn http_body(&self, request: &HttpRequest) -> BodyOutcome<'_> {
        let encoded = match serde_json::to_string(request) {
            Ok(encoded) => encoded,
            Err(error) => {
                return BodyOutcome::Error(PluginError::new(
                    ErrorKind::Plugin,
                    format!("could not encode request: {error}"),
                ));
            }
        };
        let Some((head, bytes, id)) = HostServices::http_body(self, &encoded) else {
            // A host without the function: the body travels inside the answer.
            return match HostApi::http(self, request) {
                HttpOutcome::Response(response) => BodyOutcome::Response {
                    status: response.status,
                    body: Body::owned(response.body),
                },
                HttpOutcome::Error(error) => BodyOutcome::Error(error),
            };
        };
        match serde_json::from_str::<HttpOutcome>(&head) {
            Ok(HttpOutcome::Response(response)) if id == 0 => BodyOutcome::Response {
                status: response.status,
                body: Body::owned(response.body),
            },
            Ok(HttpOutcome::Response(response)) => match std::str::from_utf8(bytes) {
                Ok(text) => BodyOutcome::Response {
                    status: response.status,
                    body: Body {
                        text: std::borrow::Cow::Borrowed(text),
                        id,
                    },
                },
                Err(error) => BodyOutcome::Error(PluginError::new(
                    ErrorKind::Plugin,
                    format!("the host's answer is not UTF-8: {error}"),
                )),
            },
            Ok(HttpOutcome::Error(error)) => BodyOutcome::Error(error),
            Err(error) => BodyOutcome::Error(PluginError::new(
                ErrorKind::Plugin,
                format!("could not read the host's answer: {error}"),
            )),
        }
    }

    fn confirm(&self, prompt: &str) -> bool {
        HostServices::confirm(self, prompt)
    }
}

/// The host, with helpers for JSON APIs. Handed to every command's `run`.
pub struct Host<'a> {
    api: &'a dyn HostApi,
}

impl<'a> Host<'a> {
    /// Wraps a host implementation.
    pub fn new(api: &'a dyn HostApi) -> Self {
        Self { api }
    }

    /// Sends `request`; a 2xx answer's body parsed as `T`, anything else a [`PluginError`]:
    /// a non-2xx answer is passed on for the host to classify ([`PluginError::http`]).
    pub fn send<T: DeserializeOwned>(&self, request: &HttpRequest) -> Result<T, PluginError> {
        decode(&self.answer(request)?)
    }

    /// `GET path`, the answer kept as JSON text (checked to be JSON, not parsed into a tree):
    /// for payloads shown as received.
    pub fn get_raw(&self, path: &str) -> Result<Box<RawValue>, PluginError> {
        let response = self.answer(&request("GET", path, None))?;
        RawValue::from_string(response).map_err(unexpected_response)
    }

    /// `GET path`, the body of a 2xx answer borrowed from the host where it can be (anything
    /// else a [`PluginError`]): for a payload shown as received, checked by the plugin on the
    /// borrowed text and handed back with [`CommandOutput::passthrough`], never copied.
    pub fn get_body(&self, path: &str) -> Result<Body<'a>, PluginError> {
        let request = request("GET", path, None);
        match self.api.http_body(&request) {
            BodyOutcome::Error(error) => Err(error),
            BodyOutcome::Response { status, body } if (200..300).contains(&status) => Ok(body),
            BodyOutcome::Response { status, body } => Err(passed_on(
                &request.method,
                &request.path,
                status,
                body.into_string(),
            )),
        }
    }

    /// Sends `request`; the body of a 2xx answer, anything else a [`PluginError`].
    fn answer(&self, request: &HttpRequest) -> Result<String, PluginError> {
        match self.api.http(request) {
            HttpOutcome::Error(error) => Err(error),
            HttpOutcome::Response(response) if (200..300).contains(&response.status) => {
                Ok(response.body)
            }
            HttpOutcome::Response(response) => Err(passed_on(
                &request.method,
                &request.path,
                response.status,
                response.body,
            )),
        }
    }

    /// `POST path` with a JSON body; the body of a 2xx answer as text, as received (not
    /// checked to be JSON): for answers that must be shown even when they are not what was
    /// expected.
    pub fn post_text(&self, path: &str, body: Value) -> Result<String, PluginError> {
        self.answer(&request("POST", path, Some(body)))
    }

    /// `GET path`, parsed as `T`.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, PluginError> {
        self.send(&request("GET", path, None))
    }

    /// `POST path` with a JSON body, parsed as `T`.
    pub fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Value,
    ) -> Result<T, PluginError> {
        self.send(&request("POST", path, Some(body)))
    }

    /// `DELETE path`, parsed as `T`.
    pub fn delete_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, PluginError> {
        self.send(&request("DELETE", path, None))
    }

    /// Logs a line shown under `-v`.
    pub fn info(&self, message: &str) {
        self.api.log(LogLevel::Info, message);
    }

    /// Logs a line shown under `-vv`.
    pub fn debug(&self, message: &str) {
        self.api.log(LogLevel::Debug, message);
    }

    /// Asks the user a yes/no question (only when [`Args::interactive`]).
    pub fn confirm(&self, prompt: &str) -> bool {
        self.api.confirm(prompt)
    }
}

/// A value as JSON text. Serializing a `Value` cannot fail; `null` stands in if it ever did.
fn to_raw(value: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

fn request(method: &str, path: &str, body: Option<Value>) -> HttpRequest {
    HttpRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: Vec::new(),
        body,
    }
}

/// The error for a non-2xx answer to a request the SDK did not send (method and path unknown):
/// the answer passed on for the host to classify, as [`Host`]'s own requests do.
pub fn error_for_status(status: u16, body: &str) -> PluginError {
    passed_on("", "", status, body.to_owned())
}

/// A non-2xx answer passed on to the host, which classifies it (see [`PluginError::http`]):
/// the kind, the hint and the server's words are the host's, the same for every plugin. The
/// `kind` and `message` set here are only what a host older than that field shows: the status
/// class of the exit-code table, and `HTTP {status}`.
fn passed_on(method: &str, path: &str, status: u16, body: String) -> PluginError {
    let mut error = PluginError::new(ErrorKind::for_status(status), format!("HTTP {status}"));
    error.http = Some(Box::new(HttpFailure {
        method: method.to_owned(),
        path: path.to_owned(),
        status,
        body,
    }));
    error
}

/// Reads a typed view of an API payload (JSON text). A payload of another shape is the API
/// answering something unexpected: exit 1 with `unexpected response from the API`.
pub fn decode<'a, T: serde::Deserialize<'a>>(payload: &'a str) -> Result<T, PluginError> {
    serde_json::from_str(payload).map_err(unexpected_response)
}

/// Like [`decode`], for a payload already parsed into a [`Value`].
pub fn decode_value<'a, T: serde::Deserialize<'a>>(payload: &'a Value) -> Result<T, PluginError> {
    T::deserialize(payload).map_err(unexpected_response)
}

fn unexpected_response(error: serde_json::Error) -> PluginError {
    PluginError::new(
        ErrorKind::Failure,
        format!("unexpected response from the API: {error}"),
    )
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
pub fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(char::from(byte));
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

impl CommandOutput {
    /// Output shown as a table in text mode.
    pub fn table(payload: Value, table: Table) -> Self {
        Self::raw(to_raw(&payload), TextView::Table(table))
    }

    /// Output shown as lines on stdout in text mode.
    pub fn lines(payload: Value, lines: Vec<String>) -> Self {
        Self::raw(to_raw(&payload), TextView::Lines(lines))
    }

    /// Output showing one object as aligned `name:  value` lines in text mode (plugin API
    /// 1.2): the host aligns and sanitises them, so a plugin never pads labels itself.
    ///
    /// ```
    /// use baseten_plugin_api::{CommandOutput, TextView};
    /// use serde_json::json;
    ///
    /// let team = json!({"id": "t1", "name": "Research", "default": false});
    /// let output = CommandOutput::fields(
    ///     team.clone(),
    ///     [("ID", "t1"), ("Name", "Research"), ("Default", "no")],
    /// );
    /// assert_eq!(output.payload_value(), team);
    /// let TextView::Fields(fields) = &output.text else { unreachable!() };
    /// assert_eq!(fields[1].name, "Name");
    /// ```
    pub fn fields<N: Into<String>, V: Into<String>>(
        payload: Value,
        fields: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self::raw(to_raw(&payload), TextView::fields(fields))
    }

    /// Output whose payload is JSON text kept as it is, e.g. an API's answer from
    /// [`Host::get_raw`].
    pub fn raw(payload: Box<RawValue>, text: TextView) -> Self {
        Self {
            payload,
            text,
            notices: Vec::new(),
            if_unseen: None,
            payload_body: None,
        }
    }

    /// Output whose payload is a response body as received, passed back to the host by
    /// reference when the host holds it ([`Host::get_body`]), else as JSON text. A body that is
    /// not JSON is an unexpected response.
    pub fn passthrough(body: Body<'_>, text: TextView) -> Result<Self, PluginError> {
        if body.id != 0 {
            let mut output = Self::raw(RawValue::NULL.to_owned(), text);
            output.payload_body = Some(body.id);
            return Ok(output);
        }
        let payload = RawValue::from_string(body.into_string()).map_err(unexpected_response)?;
        Ok(Self::raw(payload, text))
    }

    /// The payload parsed, for tests and small payloads.
    pub fn payload_value(&self) -> Value {
        serde_json::from_str(self.payload.get()).unwrap_or(Value::Null)
    }

    /// Adds a message for stderr, shown in every output mode.
    #[must_use]
    pub fn notice(mut self, message: impl Into<String>) -> Self {
        self.notices.push(message.into());
        self
    }

    /// For output that cannot be shown again: if it cannot be written to stdout, the command
    /// fails (exit 1) with `message` and `hint` on stderr instead of ending quietly. No secret
    /// in either: they go to stderr.
    #[must_use]
    pub fn if_unseen(mut self, message: impl Into<String>, hint: impl Into<String>) -> Self {
        self.if_unseen = Some(PluginError::new(ErrorKind::Failure, message).with_hint(hint));
        self
    }
}

impl TextView {
    /// A [`TextView::Fields`] view from `(name, value)` pairs, in order (plugin API 1.2).
    pub fn fields<N: Into<String>, V: Into<String>>(
        fields: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self::Fields(
            fields
                .into_iter()
                .map(|(name, value)| Field {
                    name: name.into(),
                    value: value.into(),
                })
                .collect(),
        )
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static QUIET_PANIC_HOOK: Once = Once::new();

/// Replaces this library's panic hook with one that records the message instead of printing it:
/// the host reports the panic as an error, and no backtrace reaches the user.
pub(crate) fn install_quiet_panic_hook() {
    QUIET_PANIC_HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            let message = match info.location() {
                Some(location) => format!("{message} (at {}:{})", location.file(), location.line()),
                None => message,
            };
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(message));
        }));
    });
}

pub(crate) fn panic_error(plugin: &str) -> PluginError {
    let message = LAST_PANIC
        .with(|last| last.borrow_mut().take())
        .unwrap_or_else(|| "unknown panic".to_owned());
    PluginError::new(
        ErrorKind::Plugin,
        format!("plugin `{plugin}` panicked: {message}"),
    )
    .with_hint("this is a bug in the plugin; report it to its author")
}

/// Runs [`PluginDefinition::manifest`] as JSON, catching panics. Used by `export_plugin!`.
#[doc(hidden)]
pub fn manifest_entry(definition: fn() -> PluginDefinition) -> String {
    install_quiet_panic_hook();
    let manifest = catch_unwind(|| definition().manifest());
    manifest_json(manifest)
}

/// As [`manifest_entry`], but the manifest claims `plugin_api_version` instead of
/// [`PLUGIN_API_VERSION`]. Only for tests of a host's version checks, through
/// `export_plugin!(plugin, plugin_api_version = "…")`; a real plugin never lies about the
/// version it was built against.
#[doc(hidden)]
pub fn manifest_entry_claiming(
    definition: fn() -> PluginDefinition,
    plugin_api_version: &str,
) -> String {
    install_quiet_panic_hook();
    let manifest = catch_unwind(|| {
        let mut manifest = definition().manifest();
        manifest.plugin_api_version = plugin_api_version.to_owned();
        manifest
    });
    manifest_json(manifest)
}

fn manifest_json(manifest: std::thread::Result<Manifest>) -> String {
    match manifest.map(|manifest| serde_json::to_string(&manifest)) {
        Ok(Ok(json)) => json,
        // The host reads an empty object as a manifest it cannot parse, and says so.
        _ => "{}".to_owned(),
    }
}

/// Runs one invocation from JSON to JSON, catching panics. Used by `export_plugin!`.
#[doc(hidden)]
pub fn invoke_entry(
    definition: fn() -> PluginDefinition,
    host: &dyn HostApi,
    invocation: &str,
) -> String {
    install_quiet_panic_hook();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let definition = definition();
        let result = match serde_json::from_str::<Invocation>(invocation) {
            Ok(invocation) => definition.invoke(&Host::new(host), &invocation),
            Err(error) => Err(PluginError::new(
                ErrorKind::Plugin,
                format!(
                    "plugin `{}` could not read the invocation: {error}",
                    definition.name
                ),
            )),
        };
        (definition.name, result)
    }));
    let result = match outcome {
        Ok((_, Ok(output))) => CommandResult::Ok(output),
        Ok((_, Err(error))) => CommandResult::Error(error),
        Err(_) => {
            let name = catch_unwind(|| definition().name).unwrap_or_else(|_| "?".to_owned());
            CommandResult::Error(panic_error(&name))
        }
    };
    serde_json::to_string(&result).unwrap_or_else(|error| {
        format!(
            r#"{{"error":{{"kind":"plugin","message":{}}}}}"#,
            Value::String(format!("could not encode the command's result: {error}"))
        )
    })
}

/// Exposes a plugin to the host. Call it once, at the root of the plugin's `cdylib` crate, with
/// a function that returns the [`PluginDefinition`]:
///
/// ```
/// use baseten_plugin_api::{CommandOutput, CommandSpec, PluginDefinition};
/// use serde_json::json;
///
/// pub fn plugin() -> PluginDefinition {
///     PluginDefinition::new("hello", env!("CARGO_PKG_VERSION"), "Say hello").command(
///         CommandSpec::new(["hello", "greet"], "Greet")
///             .run(|_, _| Ok(CommandOutput::lines(json!({}), vec!["Hello.".to_owned()]))),
///     )
/// }
///
/// baseten_plugin_api::export_plugin!(plugin);
/// # fn main() {
/// #     // What the host reads first through the exported entry: the manifest.
/// #     use baseten_plugin_api::abi::PluginEntry;
/// #     let manifest: serde_json::Value =
/// #         serde_json::from_str(&__BasetenPluginEntry::manifest()).expect("a JSON manifest");
/// #     assert_eq!(manifest["name"], "hello");
/// # }
/// ```
///
/// Tests of a host's version checks can build a plugin that claims another plugin API version
/// with `export_plugin!(plugin, plugin_api_version = "2.0.0")`. A real plugin never does: the
/// version it claims is the one its SDK implements.
#[macro_export]
macro_rules! export_plugin {
    (@export $definition:path, $manifest:expr) => {
        #[doc(hidden)]
        pub struct __BasetenPluginEntry;

        impl $crate::abi::PluginEntry for __BasetenPluginEntry {
            fn manifest() -> ::std::string::String {
                $manifest
            }

            fn invoke(host: $crate::abi::HostServices, invocation: &str) -> ::std::string::String {
                $crate::sdk::invoke_entry($definition, &host, invocation)
            }
        }

        // The name is `abi_stable`'s root-module symbol (`abi::ROOT_MODULE_SYMBOL`), written out
        // because an attribute cannot take a constant.
        #[doc(hidden)]
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static __BASETEN_PLUGIN_HEADER: $crate::abi::LibHeader =
            $crate::abi::lib_header::<__BasetenPluginEntry>();
    };
    ($definition:path, plugin_api_version = $version:expr) => {
        $crate::export_plugin!(
            @export $definition,
            $crate::sdk::manifest_entry_claiming($definition, $version)
        );
    };
    ($definition:path) => {
        $crate::export_plugin!(@export $definition, $crate::sdk::manifest_entry($definition));
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Answering(u16, &'static str);

    impl HostApi for Answering {
        fn http(&self, _request: &HttpRequest) -> HttpOutcome {
            HttpOutcome::Response(crate::protocol::HttpResponse {
                status: self.0,
                body: self.1.to_owned(),
            })
        }
        fn log(&self, _level: LogLevel, _message: &str) {}
        fn confirm(&self, _prompt: &str) -> bool {
            false
        }
    }

    #[test]
    fn a_non_2xx_answer_is_passed_on_with_no_hint_of_the_sdks() {
        let host = Answering(500, r#"{"message":"boom"}"#);
        let error = Host::new(&host)
            .post_text("/v1/api_keys", Value::Null)
            .expect_err("a 500 fails");
        assert_eq!(error.message, "HTTP 500");
        assert_eq!(error.hint, None);
        assert_eq!(
            error.http,
            Some(Box::new(HttpFailure {
                method: "POST".to_owned(),
                path: "/v1/api_keys".to_owned(),
                status: 500,
                body: r#"{"message":"boom"}"#.to_owned(),
            }))
        );
        let error = Host::new(&Answering(404, ""))
            .get_json::<Value>("/v1/x")
            .expect_err("a 404 fails")
            .context("get x");
        assert_eq!(error.message, "could not get x: HTTP 404");
        assert_eq!(error.http_status(), Some(404));
    }

    #[test]
    fn older_hosts_still_see_the_status_class() {
        let kind = |status| error_for_status(status, "").kind;
        assert_eq!(kind(401), ErrorKind::Auth);
        assert_eq!(kind(403), ErrorKind::Auth);
        assert_eq!(kind(404), ErrorKind::NotFound);
        assert_eq!(kind(409), ErrorKind::Client);
        assert_eq!(kind(503), ErrorKind::Server);
        assert_eq!(kind(302), ErrorKind::Failure);
    }

    fn tiny_plugin() -> PluginDefinition {
        PluginDefinition::new("tiny", "0.1.0", "Tiny").command(
            CommandSpec::new(["tiny", "run"], "Run")
                .run(|_, _| Ok(CommandOutput::lines(Value::Null, Vec::new()))),
        )
    }

    #[test]
    fn the_manifest_claims_this_crates_plugin_api_version() {
        let manifest: Manifest =
            serde_json::from_str(&manifest_entry(tiny_plugin)).expect("a manifest");
        assert_eq!(manifest.plugin_api_version, PLUGIN_API_VERSION);
    }

    #[test]
    fn positional_arguments_and_hidden_commands_reach_the_manifest_and_the_args() {
        let spec = CommandSpec::new(["tiny", "get"], "Get")
            .arg(
                ArgSpec::new("name", "Which")
                    .value_name("NAME")
                    .required()
                    .path(),
            )
            .hidden();
        assert_eq!(spec.args.len(), 1);
        assert!(spec.hidden && spec.args[0].required && spec.args[0].path);
        let invocation: Invocation =
            serde_json::from_str(r#"{"command":["tiny","get"],"flags":{"name":"x"}}"#)
                .expect("parses");
        assert_eq!(Args::new(&invocation).text("name"), Some("x"));
    }

    #[test]
    fn tests_can_claim_another_plugin_api_version() {
        let manifest: Manifest =
            serde_json::from_str(&manifest_entry_claiming(tiny_plugin, "2.0.0"))
                .expect("a manifest");
        assert_eq!(manifest.plugin_api_version, "2.0.0");
        assert_eq!(manifest.commands.len(), 1);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_path_segment("abc.DEF-1_~"), "abc.DEF-1_~");
        assert_eq!(encode_path_segment("a/b c?é"), "a%2Fb%20c%3F%C3%A9");
        assert_eq!(encode_path_segment(".."), "..");
    }
}
