//! The messages that cross the plugin boundary, as plain serde types.
//!
//! Everything a plugin and the host say to each other is one of these types serialized as JSON.
//! Only a handful of function pointers (see [`crate::abi`]) are fixed binary layout; the messages
//! can grow new optional fields without breaking plugins built against an older version, which is
//! why every field added after the first release must be `#[serde(default)]`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The plugin API version this crate implements.
///
/// The host accepts a plugin whose API version has the same major and a minor no greater than its
/// own: a plugin may rely only on what its host already offers. Each field added after 1.0 says
/// in its documentation which minor added it.
///
/// - 1.1: positional arguments ([`CommandSpec::args`]) and hidden commands
///   ([`CommandSpec::hidden`]).
/// - 1.2: the key/value text view of a single object ([`TextView::Fields`]).
pub const PLUGIN_API_VERSION: &str = "1.2.0";

/// What a plugin says about itself: identity, and the commands it adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The plugin's name, e.g. `org-api-key`. Lowercase words joined by `-`.
    pub name: String,
    /// The plugin's own version (semver).
    pub version: String,
    /// The plugin API version the plugin was built against ([`PLUGIN_API_VERSION`]).
    pub plugin_api_version: String,
    /// One line about the plugin, shown by `baseten plugin list`.
    #[serde(default)]
    pub description: String,
    /// Descriptions of the command groups the plugin's commands sit in, e.g. `org` and
    /// `org api-key`. Several plugins may describe the same group; the first description wins,
    /// the plugins bundled with `baseten` before any other, so a plugin adding a command to a
    /// bundled group cannot change its help.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    /// One entry per leaf command.
    #[serde(default)]
    pub commands: Vec<CommandSpec>,
}

/// A command group: a word of a command path that has subcommands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSpec {
    /// The group's full path, e.g. `["org", "api-key"]`.
    pub path: Vec<String>,
    /// One line shown in `--help`.
    pub about: String,
}

/// A leaf command: its place in the tree, its help, its flags and what it prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// The full command path, e.g. `["org", "api-key", "create"]`.
    pub path: Vec<String>,
    /// One line shown in the parent's `--help`.
    pub about: String,
    /// Longer text shown by the command's own `--help`.
    #[serde(default)]
    pub long_about: Option<String>,
    /// Examples shown in `--help`; the plugin's tests check each with
    /// [`crate::testing::check_examples`].
    #[serde(default)]
    pub examples: Vec<Example>,
    /// The command's own flags (the host adds the global ones).
    #[serde(default)]
    pub flags: Vec<FlagSpec>,
    /// Sets of flags (by long name) of which at most one may be given.
    #[serde(default)]
    pub conflicts: Vec<Vec<String>>,
    /// Sets of flags (by long name) of which exactly one must be given.
    #[serde(default)]
    pub one_required: Vec<Vec<String>>,
    /// What the command prints.
    #[serde(default)]
    pub output: OutputSpec,

    // Plugin API 1.1: positional arguments and hidden commands. Left out of the JSON when unused,
    // so a manifest that does not use them reads the same to a 1.0 host.
    /// The command's positional arguments, in order (plugin API 1.1). Their values arrive in
    /// [`Invocation::flags`] under their names, as flag values do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgSpec>,
    /// Whether the command is left out of `--help`, completions and man pages; it still runs
    /// when typed (plugin API 1.1).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// One positional argument of a command (plugin API 1.1), e.g. the `SHELL` of
/// `baseten completion SHELL`. It takes one value, a JSON string in [`Invocation::flags`] under
/// [`ArgSpec::name`], absent when not given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArgSpec {
    /// The argument's name: lowercase words joined by `-`, distinct from the command's flags.
    /// Also its key in [`Invocation::flags`].
    pub name: String,
    /// Help text.
    pub help: String,
    /// The placeholder shown for the value; the name in capitals when not given.
    #[serde(default)]
    pub value_name: Option<String>,
    /// Whether the argument must be given.
    #[serde(default)]
    pub required: bool,
    /// The only values the argument accepts, when the set is closed.
    #[serde(default)]
    pub allowed_values: Vec<String>,
    /// Whether the value names a file or folder, which shells then complete as paths. A path
    /// has no closed set of values, and reaches a plugin only when it is UTF-8 (else the host
    /// refuses the command line).
    #[serde(default)]
    pub path: bool,
    /// Whether the argument takes one or more values (`NAME...`), reaching the plugin as an
    /// array; only the last argument may (plugin API 1.2).
    #[serde(default)]
    pub multiple: bool,
}

/// One example in a command's help.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// What the example does, e.g. `Create a personal API key`.
    pub description: String,
    /// The command line, starting with `baseten`.
    pub command: String,
}

/// One flag of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagSpec {
    /// The long name without dashes, e.g. `model-id`. Also the key in [`Invocation::flags`].
    pub long: String,
    /// An optional one-letter short form.
    #[serde(default)]
    pub short: Option<char>,
    /// Help text.
    pub help: String,
    /// The placeholder shown for the value, e.g. `TYPE`.
    #[serde(default)]
    pub value_name: Option<String>,
    /// Whether the flag is a switch, takes one value, or may be repeated.
    #[serde(default)]
    pub kind: FlagKind,
    /// Whether the flag must be given.
    #[serde(default)]
    pub required: bool,
    /// The only values the flag accepts, when the set is closed.
    #[serde(default)]
    pub allowed_values: Vec<String>,
    /// The value used when the flag is not given.
    #[serde(default)]
    pub default: Option<String>,
}

/// How a flag takes values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// A switch: present or not. Arrives as a JSON boolean.
    Bool,
    /// One value. Arrives as a JSON string, or is absent.
    #[default]
    Text,
    /// Any number of values, the flag repeated. Arrives as a JSON array of strings.
    Repeated,
}

/// What a command's output looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// The name of the JSON payload's type, shown in help, e.g. `managementapi.APIKeys`.
    #[serde(default)]
    pub payload: Option<String>,
    /// Whether the command prints a stream of records (`--jq` then implies `jsonl`).
    #[serde(default)]
    pub streamed: bool,
    /// Whether `-o none` is allowed. A command whose output can never be seen again (a new
    /// secret) refuses it before anything is sent.
    #[serde(default = "default_true")]
    pub allow_none: bool,
}

impl Default for OutputSpec {
    fn default() -> Self {
        Self {
            payload: None,
            streamed: false,
            allow_none: true,
        }
    }
}

fn default_true() -> bool {
    true
}

/// The output mode the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// The command's human form.
    #[default]
    Text,
    /// The payload, indented.
    Json,
    /// The payload on one line, or one record per line.
    Jsonl,
    /// Nothing on stdout.
    None,
}

/// One run of a command, as the host hands it to the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// The command path, e.g. `["org", "api-key", "list"]`.
    pub command: Vec<String>,
    /// Flag values by long name: a boolean for switches, a string for single values, an array of
    /// strings for repeated flags. Flags not given are absent (or `false` for switches).
    #[serde(default)]
    pub flags: Map<String, Value>,
    /// The output mode in force (after `--jq` has implied one).
    #[serde(default)]
    pub output: OutputMode,
    /// Whether the host can ask the user a question (stdin and stderr are terminals).
    #[serde(default)]
    pub interactive: bool,
}

/// An HTTP request to the management API, made by the host on the plugin's behalf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, `DELETE`, …
    pub method: String,
    /// The path below the API base, starting with `/`, path parameters already percent-encoded
    /// (see [`crate::sdk::encode_path_segment`]).
    pub path: String,
    /// Query parameters, in order.
    #[serde(default)]
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    #[serde(default)]
    pub body: Option<Value>,
}

/// What the host answers to an [`HttpRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpOutcome {
    /// The server answered. Any status; the SDK turns non-2xx into a [`PluginError`] that
    /// passes the answer on to the host ([`PluginError::http`]).
    Response(HttpResponse),
    /// No usable answer: no credential, a network failure, an interrupt. The plugin passes it on.
    Error(PluginError),
}

/// The server's answer.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// A body can hold a new key: `Debug` gives its size, never its text.
impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// What a command returns: its payload, and how to show it as text.
#[derive(Clone, Serialize, Deserialize)]
pub struct CommandOutput {
    /// The JSON payload, printed by `-o json`/`jsonl` and fed to `--jq`. Kept as JSON text, so
    /// an API's answer passes through as received (field order, unknown fields) without being
    /// parsed into a tree on either side of the plugin boundary.
    pub payload: Box<RawValue>,
    /// The human form, printed by `-o text`.
    pub text: TextView,
    /// Messages for stderr, shown in every output mode (e.g. `Deleted API key abc`).
    #[serde(default)]
    pub notices: Vec<String>,
    /// What to say if the output cannot be written to stdout (closed, a broken pipe, a full
    /// disk): the command then fails with this error instead of ending quietly, e.g. "the API
    /// key abcd1234 was created but could not be shown" with a hint on how to delete it. Never
    /// put a secret here: it goes to stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_unseen: Option<PluginError>,
    /// Plugin API 1.1: the payload is a response body the host still holds, named by the id it
    /// gave with it ([`crate::abi::HostVtable::http_body`]); `payload` is then `null` and
    /// ignored. Set by [`CommandOutput::passthrough`], never by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_body: Option<u64>,
}

/// A [`CommandResult`] read without copying its payload: what a host deserializes the JSON
/// answer of `invoke` into, borrowing the payload from that text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandResultRef<'a> {
    /// The command succeeded.
    #[serde(borrow)]
    Ok(CommandOutputRef<'a>),
    /// The command failed.
    Error(PluginError),
}

/// A [`CommandOutput`] whose payload borrows from the text it was read from.
#[derive(Deserialize)]
pub struct CommandOutputRef<'a> {
    /// The JSON payload, as text.
    #[serde(borrow)]
    pub payload: &'a RawValue,
    /// The human form.
    pub text: TextView,
    /// Messages for stderr.
    #[serde(default)]
    pub notices: Vec<String>,
    /// The error to fail with if the output cannot be written to stdout.
    #[serde(default)]
    pub if_unseen: Option<PluginError>,
    /// The host's response body that is the payload instead of `payload` (plugin API 1.1).
    #[serde(default)]
    pub payload_body: Option<u64>,
}

/// A command's output can hold a new key (`org api-key create`): `Debug` gives the payload's size
/// and the text's shape, never their content.
fn debug_output(
    formatter: &mut std::fmt::Formatter<'_>,
    payload: &RawValue,
    text: &TextView,
    notices: &[String],
) -> std::fmt::Result {
    let text = match text {
        TextView::Lines(lines) => format!("<{} lines>", lines.len()),
        TextView::Fields(fields) => format!("<{} fields>", fields.len()),
        TextView::Table(table) => format!(
            "<table of {} rows, {} columns>",
            table.rows.len(),
            table.columns.len()
        ),
    };
    formatter
        .debug_struct("CommandOutput")
        .field("payload", &format_args!("<{} bytes>", payload.get().len()))
        .field("text", &format_args!("{text}"))
        .field("notices", &notices)
        .finish()
}

impl std::fmt::Debug for CommandOutput {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_output(formatter, &self.payload, &self.text, &self.notices)
    }
}

impl std::fmt::Debug for CommandOutputRef<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_output(formatter, self.payload, &self.text, &self.notices)
    }
}

impl<'a> From<&'a CommandOutput> for CommandOutputRef<'a> {
    fn from(output: &'a CommandOutput) -> Self {
        Self {
            payload: &output.payload,
            text: output.text.clone(),
            notices: output.notices.clone(),
            if_unseen: output.if_unseen.clone(),
            payload_body: output.payload_body,
        }
    }
}

/// The human form of a command's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextView {
    /// A table: a header row, then one row per record, columns aligned.
    Table(Table),
    /// Lines for stdout, as they are.
    Lines(Vec<String>),
    /// One object as `name:  value` lines, the values aligned (plugin API 1.2): what a command
    /// showing a single record prints instead of hand-aligned lines. The host sanitises and
    /// aligns it as it does a table. A host older than 1.2 cannot read it, which is why a
    /// plugin built with this SDK needs a 1.2 host.
    Fields(Vec<Field>),
}

/// One line of a [`TextView::Fields`] view (plugin API 1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The field's label, e.g. `Name`; shown followed by `:`.
    pub name: String,
    /// The value, on one line (line breaks are shown as spaces).
    pub value: String,
}

/// A table for the text form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Column headers, e.g. `NAME`.
    pub columns: Vec<String>,
    /// Rows of cells, one cell per column.
    pub rows: Vec<Vec<String>>,
    /// What to say on stderr when there are no rows, e.g. `No API keys found.`.
    #[serde(default)]
    pub empty_message: Option<String>,
}

/// The result of [`crate::abi::PluginModule::invoke`]: the output or an error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandResult {
    /// The command succeeded.
    Ok(CommandOutput),
    /// The command failed.
    Error(PluginError),
}

/// A failure, with enough to pick the exit code and tell the user what to do.
///
/// The host prints it as `error: <message>` and, when there is one, `hint: <hint>` on the next
/// line, and exits with the code of its [`ErrorKind`]. A message is one line, lowercase, says
/// what failed and why, quotes values in backticks and has no trailing period; a hint is one
/// line saying what to do. [`PluginError::context`] puts what the command was doing in front of
/// an error it passes on.
///
/// ```
/// use baseten_plugin_api::models::{self, Team, User};
/// use baseten_plugin_api::{ErrorKind, Host, PluginError};
///
/// /// The team called `name`: exit 4 with a hint when there is none.
/// fn team_named(host: &Host<'_>, name: &str) -> Result<Team, PluginError> {
///     // A failed request is passed on as it is: `could not list teams: HTTP 403: …`.
///     let teams = models::teams(host)?;
///     teams
///         .into_iter()
///         .find(|team| team.name == name)
///         .ok_or_else(|| {
///             PluginError::new(ErrorKind::NotFound, format!("no team named `{name}`"))
///                 .with_hint("list teams with `baseten org team list`")
///         })
/// }
///
/// /// The email of the credential's user, saying what it was doing when it fails.
/// fn my_email(host: &Host<'_>) -> Result<String, PluginError> {
///     let me: User = host
///         .get_json(models::ME_PATH)
///         .map_err(|error| error.context("look up who you are"))?;
///     me.email.ok_or_else(|| {
///         PluginError::new(ErrorKind::Failure, "the API shares no email for this user")
///     })
/// }
/// #
/// # use baseten_plugin_api::testing::RecordingHost;
/// # use serde_json::json;
/// # let recording = RecordingHost::new().respond(200, json!({"teams": []}));
/// # let error = team_named(&Host::new(&recording), "Research").unwrap_err();
/// # assert_eq!(error.kind, ErrorKind::NotFound);
/// # assert_eq!(error.message, "no team named `Research`");
/// # assert_eq!(error.hint.as_deref(), Some("list teams with `baseten org team list`"));
/// # let recording = RecordingHost::new().respond(401, json!({"message": "bad key"}));
/// # let error = my_email(&Host::new(&recording)).unwrap_err();
/// # assert_eq!(error.kind, ErrorKind::Auth);
/// # assert_eq!(error.message, "could not look up who you are: HTTP 401");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginError {
    /// What kind of failure; picks the exit code.
    pub kind: ErrorKind,
    /// What failed and why, one line, lowercase, no trailing period.
    pub message: String,
    /// What the user can do about it, one line.
    #[serde(default)]
    pub hint: Option<String>,
    /// The request reached the server but no answer came back: the change it asked for may have
    /// been made. A command that creates something says so and how to check.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outcome_unknown: bool,
    /// Text the host prints on stdout, as it is, before the error: an answer that may hold
    /// something that cannot be fetched again (a new key in a body of an unexpected shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// The answer this error passes on: a non-2xx answer the plugin did not handle itself. The
    /// host classifies it, in one place for every plugin: the kind (so the exit code) follows
    /// the status, the hint is the host's unless the plugin set one, and the server's own words
    /// are added after the `HTTP {status}` in `message` (or make the whole message when it is
    /// empty). A host that predates this field shows `kind` and `message` as they are, so the
    /// SDK fills both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Box<HttpFailure>>,
}

/// A non-2xx answer, as a plugin reports it in a [`PluginError`] for the host to classify.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpFailure {
    /// The request's method, e.g. `POST`.
    pub method: String,
    /// The request's path below the API base, as sent.
    pub path: String,
    /// The answer's status code.
    pub status: u16,
    /// The answer's body as received: the host reads the server's own words from it.
    #[serde(default)]
    pub body: String,
}

/// A body can hold anything the server sent: `Debug` gives its size, never its text.
impl std::fmt::Debug for HttpFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("HttpFailure")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("status", &self.status)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl PluginError {
    /// An error of `kind` with `message` and no hint.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            outcome_unknown: false,
            stdout: None,
            http: None,
        }
    }

    /// The status of the answer this error passes on, if it passes one on: for a command that
    /// handles some statuses itself (a 5xx after a create may still have created something).
    pub fn http_status(&self) -> Option<u16> {
        self.http.as_ref().map(|http| http.status)
    }

    /// Says what failed in front of why: `could not {what}: {message}`.
    #[must_use]
    pub fn context(mut self, what: impl std::fmt::Display) -> Self {
        self.message = format!("could not {what}: {}", self.message);
        self
    }

    /// Adds a hint line.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Has the host print `text` on stdout, as it is, before the error.
    #[must_use]
    pub fn with_stdout(mut self, text: impl Into<String>) -> Self {
        self.stdout = Some(text.into());
        self
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// Kinds of failure; each maps to one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad flags or values (exit 2).
    Usage,
    /// Not authenticated or not allowed: HTTP 401/403, no credential (exit 3).
    Auth,
    /// HTTP 404, or nothing matched a given name (exit 4).
    NotFound,
    /// Any other HTTP 4xx (exit 5).
    Client,
    /// HTTP 5xx (exit 6).
    Server,
    /// No answer: refused, reset, timed out (exit 7).
    Network,
    /// The plugin itself failed, e.g. panicked (exit 8).
    Plugin,
    /// The user interrupted (exit 130).
    Interrupted,
    /// Anything else (exit 1).
    #[serde(other)]
    Failure,
}

impl ErrorKind {
    /// The kind a non-2xx HTTP status stands for: the exit-code table's one mapping, which the
    /// host classifies answers by and the SDK fills in for a host that predates
    /// [`PluginError::http`].
    pub fn for_status(status: u16) -> Self {
        match status {
            401 | 403 => Self::Auth,
            404 => Self::NotFound,
            400..=499 => Self::Client,
            500..=599 => Self::Server,
            _ => Self::Failure,
        }
    }
}

/// Severity of a log line sent through [`crate::sdk::HostApi::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LogLevel {
    /// Shown with `-v`.
    Info = 1,
    /// Shown with `-vv`.
    Debug = 2,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_new_key() {
        let output = CommandOutput::lines(
            serde_json::json!({"api_key": "abcd1234.newsecret"}),
            vec!["abcd1234.newsecret".to_owned()],
        );
        let response = HttpResponse {
            status: 200,
            body: r#"{"api_key":"abcd1234.newsecret"}"#.to_owned(),
        };
        for shown in [
            format!("{output:?}"),
            format!("{:?}", CommandOutputRef::from(&output)),
            format!("{response:?}"),
        ] {
            assert!(!shown.contains("newsecret"), "{shown}");
        }
    }

    #[test]
    fn unknown_error_kind_from_a_newer_plugin_reads_as_failure() {
        let error: PluginError =
            serde_json::from_str(r#"{"kind":"quota","message":"too many"}"#).expect("parses");
        assert_eq!(error.kind, ErrorKind::Failure);
    }

    #[test]
    fn a_minimal_manifest_fills_defaults() {
        let manifest: Manifest = serde_json::from_str(
            r#"{"name":"x","version":"0.1.0","plugin_api_version":"1.0.0",
                "commands":[{"path":["x","list"],"about":"List"}]}"#,
        )
        .expect("parses");
        let command = &manifest.commands[0];
        assert!(command.output.allow_none);
        assert!(command.flags.is_empty());
    }

    #[test]
    fn outputs_and_errors_from_older_plugins_read_without_the_newer_fields() {
        let output: CommandOutput =
            serde_json::from_str(r#"{"payload":{"a":1},"text":{"lines":["x"]},"notices":[]}"#)
                .expect("parses");
        assert!(output.if_unseen.is_none());
        let error: PluginError =
            serde_json::from_str(r#"{"kind":"failure","message":"m"}"#).expect("parses");
        assert!(error.stdout.is_none());
    }

    #[test]
    fn an_error_passing_on_an_answer_round_trips_and_older_errors_have_none() {
        let mut error = PluginError::new(ErrorKind::Server, "HTTP 500");
        error.http = Some(Box::new(HttpFailure {
            method: "GET".to_owned(),
            path: "/v1/api_keys".to_owned(),
            status: 500,
            body: r#"{"message":"abcd1234.newsecret"}"#.to_owned(),
        }));
        let json = serde_json::to_string(&error).expect("encodes");
        let back: PluginError = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, error);
        assert_eq!(back.http_status(), Some(500));
        assert!(!format!("{error:?}").contains("newsecret"));
        let older: PluginError =
            serde_json::from_str(r#"{"kind":"auth","message":"HTTP 401","hint":"h"}"#)
                .expect("parses");
        assert_eq!(older.http_status(), None);
        let plain =
            serde_json::to_string(&PluginError::new(ErrorKind::Failure, "m")).expect("encodes");
        assert!(!plain.contains("http"), "{plain}");
    }

    #[test]
    fn commands_without_arguments_are_written_as_before() {
        let spec: CommandSpec =
            serde_json::from_str(r#"{"path":["x","list"],"about":"List"}"#).expect("parses");
        assert!(spec.args.is_empty() && !spec.hidden);
        let json = serde_json::to_string(&spec).expect("encodes");
        assert!(!json.contains("args") && !json.contains("hidden"), "{json}");
    }

    #[test]
    fn a_fields_view_is_a_list_of_names_and_values() {
        let view = TextView::Fields(vec![Field {
            name: "ID".to_owned(),
            value: "t1".to_owned(),
        }]);
        let json = serde_json::to_string(&view).expect("encodes");
        assert_eq!(json, r#"{"fields":[{"name":"ID","value":"t1"}]}"#);
        assert_eq!(
            serde_json::from_str::<TextView>(&json).expect("parses"),
            view
        );
    }

    #[test]
    fn flag_kind_defaults_to_text() {
        let flag: FlagSpec =
            serde_json::from_str(r#"{"long":"name","help":"Name"}"#).expect("parses");
        assert_eq!(flag.kind, FlagKind::Text);
    }
}
