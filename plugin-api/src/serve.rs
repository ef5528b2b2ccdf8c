//! Turns a [`PluginDefinition`] into an executable plugin: [`serve`] speaks the [`crate::pipe`]
//! messages on stdin and stdout, so the same definition that `export_plugin!` exposes as a
//! library also runs as a program of its own:
//!
//! ```no_run
//! # mod my_plugin {
//! #     pub fn plugin() -> baseten_plugin_api::PluginDefinition {
//! #         baseten_plugin_api::PluginDefinition::new("hello", "0.1.0", "Say hello")
//! #     }
//! # }
//! fn main() -> std::process::ExitCode {
//!     baseten_plugin_api::serve(my_plugin::plugin())
//! }
//! ```
//!
//! (Compiled, not run, by the documentation tests: it would wait for the host's first line on
//! the test's stdin. `tests/serve_stdio.rs` runs `serve` in a child process instead.)
//!
//! The host writes the first line: `describe` is answered with the manifest, `invoke` runs the
//! command with a [`HostApi`] whose calls are lines on the pipe, then the result is written.
//! Either way the conversation is one process; `serve` returns success once its last line is
//! written.

use std::cell::RefCell;
use std::io::{BufRead, BufWriter, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use serde::Serialize;

use crate::pipe::{HostMessage, MAX_MESSAGE_BYTES, PipeLogLevel, PluginMessage};
use crate::protocol::{
    CommandResult, ErrorKind, HttpOutcome, HttpRequest, Invocation, LogLevel, PluginError,
};
use crate::sdk::{Host, HostApi, PluginDefinition, install_quiet_panic_hook, panic_error};

/// Runs `plugin` as an executable plugin on this process's stdin and stdout, for one
/// conversation with the host, and returns the exit code to end the process with: success once
/// the manifest or the result is written, failure when the host's first line cannot be read or
/// the answer cannot be written (the host then reports the plugin as broken).
///
/// On Unix, the protocol keeps a duplicate of the original stdout and the process's stdout is
/// pointed at stderr, so that a stray `println!` in plugin code shows up as a diagnostic
/// instead of corrupting the protocol.
pub fn serve(plugin: PluginDefinition) -> ExitCode {
    #[allow(
        clippy::disallowed_methods,
        reason = "an executable plugin's protocol is its own stdin and stdout"
    )]
    let input = std::io::stdin().lock();
    let output = BufWriter::new(protocol_output());
    let code = serve_on(&plugin, input, output);
    if let Err(failure) = &code {
        #[allow(
            clippy::disallowed_methods,
            reason = "stderr is an executable plugin's diagnostics, shown by the host under -v"
        )]
        let _ = writeln!(std::io::stderr(), "error: {failure}");
    }
    match code {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// Where the protocol's lines go: on Unix a duplicate of fd 1, fd 1 itself then pointing at
/// stderr; elsewhere stdout as it is.
#[cfg(unix)]
fn protocol_output() -> Box<dyn Write> {
    use std::os::fd::AsFd;

    #[allow(
        clippy::disallowed_methods,
        reason = "an executable plugin's protocol is its own stdout"
    )]
    let stdout = std::io::stdout();
    // Nothing should be buffered yet; whatever is goes out before fd 1 moves.
    let _ = stdout.lock().flush();
    // `try_clone_to_owned` duplicates with close-on-exec: a program the plugin starts does not
    // inherit the protocol.
    let protocol = match stdout.as_fd().try_clone_to_owned() {
        Ok(protocol) => protocol,
        // Without a duplicate the protocol stays on fd 1, unprotected but working.
        Err(_) => return Box::new(stdout),
    };
    // SAFETY: `dup2` on two descriptors this process owns for its whole life (stderr and
    // stdout); it touches no memory. On failure fd 1 stays as it was: the protocol still works
    // through the duplicate, only a stray print could then reach it.
    unsafe {
        libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO);
    }
    Box::new(std::fs::File::from(protocol))
}

#[cfg(not(unix))]
fn protocol_output() -> Box<dyn Write> {
    #[allow(
        clippy::disallowed_methods,
        reason = "an executable plugin's protocol is its own stdout"
    )]
    Box::new(std::io::stdout())
}

/// Why a conversation ended without its last line: said on stderr, where the host shows it
/// under `-v`.
#[derive(Debug)]
pub(crate) enum ServeFailure {
    /// The first line was not `describe` or `invoke`, or could not be read.
    FirstLine(String),
    /// The manifest or the result could not be written.
    Write(std::io::Error),
}

impl std::fmt::Display for ServeFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FirstLine(why) => write!(formatter, "could not read the host's request: {why}"),
            Self::Write(error) => write!(formatter, "could not answer the host: {error}"),
        }
    }
}

/// One conversation over `input` and `output`: what [`serve`] runs on the real stdio, and tests
/// on memory.
pub(crate) fn serve_on(
    plugin: &PluginDefinition,
    mut input: impl BufRead,
    mut output: impl Write,
) -> Result<(), ServeFailure> {
    install_quiet_panic_hook();
    let line = match read_line(&mut input) {
        Ok(Some(line)) => line,
        Ok(None) => return Err(ServeFailure::FirstLine("no request on stdin".to_owned())),
        Err(why) => return Err(ServeFailure::FirstLine(why)),
    };
    let message = match serde_json::from_slice::<HostMessage>(&line) {
        Ok(message) => message,
        // An `invoke` whose invocation this SDK cannot read is still a run: it gets a result.
        Err(error) if first_type(&line).as_deref() == Some("invoke") => {
            let error = PluginError::new(
                ErrorKind::Plugin,
                format!(
                    "plugin `{}` could not read the invocation: {error}",
                    plugin.name
                ),
            );
            return write_result(&mut output, CommandResult::Error(error));
        }
        Err(error) => return Err(ServeFailure::FirstLine(error.to_string())),
    };
    match message {
        HostMessage::Describe { .. } => {
            let manifest = catch_unwind(AssertUnwindSafe(|| plugin.manifest()))
                .map_err(|_| ServeFailure::FirstLine("the manifest panicked".to_owned()))?;
            write_message(&mut output, &PluginMessage::Manifest { manifest })
                .map_err(ServeFailure::Write)
        }
        HostMessage::Invoke { invocation, .. } => {
            let result = run(plugin, &invocation, &mut input, &mut output);
            write_result(&mut output, result)
        }
        HostMessage::HttpOutcome { .. } | HostMessage::ConfirmAnswer { .. } => Err(
            ServeFailure::FirstLine("expected `describe` or `invoke` first".to_owned()),
        ),
    }
}

/// Runs the command, catching a panic as `export_plugin!` does.
fn run(
    plugin: &PluginDefinition,
    invocation: &Invocation,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> CommandResult {
    let pipe = PipeHost {
        plugin: &plugin.name,
        conversation: RefCell::new(Conversation {
            input,
            output,
            next_id: 1,
            broken: None,
        }),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        plugin.invoke(&Host::new(&pipe), invocation)
    }));
    match outcome {
        Ok(Ok(output)) => CommandResult::Ok(output),
        Ok(Err(error)) => CommandResult::Error(error),
        Err(_) => CommandResult::Error(panic_error(&plugin.name)),
    }
}

/// Writes the result line. One over the size limit becomes an error result saying so.
fn write_result(output: &mut dyn Write, result: CommandResult) -> Result<(), ServeFailure> {
    let message = PluginMessage::Result { result };
    let written = match encode(&message) {
        Ok(line) => write_line(output, &line),
        Err(why) => {
            let error = PluginError::new(
                ErrorKind::Plugin,
                format!("could not send the command's result: {why}"),
            );
            write_message(
                output,
                &PluginMessage::Result {
                    result: CommandResult::Error(error),
                },
            )
        }
    };
    written.map_err(ServeFailure::Write)
}

/// A message as one line, refused when over [`MAX_MESSAGE_BYTES`].
fn encode(message: &impl Serialize) -> Result<Vec<u8>, String> {
    encode_within(message, MAX_MESSAGE_BYTES)
}

fn encode_within(message: &impl Serialize, limit: usize) -> Result<Vec<u8>, String> {
    let line = serde_json::to_vec(message).map_err(|error| error.to_string())?;
    if line.len() > limit {
        return Err(format!(
            "the message is {} bytes, over the limit of {limit}",
            line.len()
        ));
    }
    Ok(line)
}

fn write_message(output: &mut dyn Write, message: &impl Serialize) -> std::io::Result<()> {
    let line = encode(message).map_err(std::io::Error::other)?;
    write_line(output, &line)
}

fn write_line(output: &mut dyn Write, line: &[u8]) -> std::io::Result<()> {
    output.write_all(line)?;
    output.write_all(b"\n")?;
    output.flush()
}

/// One line without its `\n`; `None` at the end of input. A line over [`MAX_MESSAGE_BYTES`] or
/// cut short by the end of input is an error.
fn read_line(input: &mut dyn BufRead) -> Result<Option<Vec<u8>>, String> {
    read_line_within(input, MAX_MESSAGE_BYTES)
}

fn read_line_within(input: &mut dyn BufRead, limit: usize) -> Result<Option<Vec<u8>>, String> {
    let mut line = Vec::new();
    // The line and its `\n`.
    let most = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    input
        .take(most)
        .read_until(b'\n', &mut line)
        .map_err(|error| error.to_string())?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(if line.len() > limit {
            format!("a line is over the limit of {limit} bytes")
        } else {
            "the input ended in the middle of a line".to_owned()
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// The `type` of a line that is a JSON object, whatever the rest holds.
fn first_type(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Tagged {
        r#type: String,
    }
    serde_json::from_slice::<Tagged>(line)
        .ok()
        .map(|tagged| tagged.r#type)
}

/// The host's services over the pipe: each call is a line out and, for `http` and `confirm`,
/// the matching line back.
struct PipeHost<'a> {
    plugin: &'a str,
    conversation: RefCell<Conversation<'a>>,
}

struct Conversation<'a> {
    input: &'a mut dyn BufRead,
    output: &'a mut dyn Write,
    next_id: u64,
    /// Why the conversation can no longer go on: every later call fails the same way, without
    /// reading or writing (the host ends the run anyway).
    broken: Option<String>,
}

impl Conversation<'_> {
    /// Sends a message that needs an answer, with a fresh id, and reads the answer.
    fn ask(&mut self, message: impl FnOnce(u64) -> PluginMessage) -> Result<HostMessage, String> {
        if let Some(why) = &self.broken {
            return Err(why.clone());
        }
        let id = self.next_id;
        self.next_id += 1;
        let answer = self.exchange(&message(id), id);
        if let Err(why) = &answer {
            self.broken = Some(why.clone());
        }
        answer
    }

    fn exchange(&mut self, message: &PluginMessage, id: u64) -> Result<HostMessage, String> {
        write_message(self.output, message)
            .map_err(|error| format!("could not write to the host: {error}"))?;
        let line = read_line(self.input)
            .map_err(|why| format!("could not read the host's answer: {why}"))?
            .ok_or_else(|| "the host ended the conversation before answering".to_owned())?;
        let answer: HostMessage = serde_json::from_slice(&line)
            .map_err(|error| format!("could not read the host's answer: {error}"))?;
        let answered = match &answer {
            HostMessage::HttpOutcome { id, .. } | HostMessage::ConfirmAnswer { id, .. } => *id,
            HostMessage::Describe { .. } | HostMessage::Invoke { .. } => {
                return Err("the host sent a request where an answer was due".to_owned());
            }
        };
        if answered != id {
            return Err(format!(
                "the host answered request {answered} where {id} was due"
            ));
        }
        Ok(answer)
    }
}

impl PipeHost<'_> {
    fn failure(&self, why: &str) -> PluginError {
        PluginError::new(
            ErrorKind::Plugin,
            format!("plugin `{}`: {why}", self.plugin),
        )
    }
}

impl HostApi for PipeHost<'_> {
    fn http(&self, request: &HttpRequest) -> HttpOutcome {
        let answer = self
            .conversation
            .borrow_mut()
            .ask(|id| PluginMessage::Http {
                id,
                request: request.clone(),
            });
        match answer {
            Ok(HostMessage::HttpOutcome { outcome, .. }) => outcome,
            Ok(_) => HttpOutcome::Error(self.failure("the host answered a request with a yes/no")),
            Err(why) => HttpOutcome::Error(self.failure(&why)),
        }
    }

    fn log(&self, level: LogLevel, message: &str) {
        let mut conversation = self.conversation.borrow_mut();
        if conversation.broken.is_some() {
            return;
        }
        let level = match level {
            LogLevel::Info => PipeLogLevel::Info,
            LogLevel::Debug => PipeLogLevel::Debug,
        };
        let message = PluginMessage::Log {
            level,
            message: message.to_owned(),
        };
        // A log line too long to send is dropped; a pipe that cannot be written is broken.
        if let Ok(line) = encode(&message)
            && let Err(error) = write_line(conversation.output, &line)
        {
            conversation.broken = Some(format!("could not write to the host: {error}"));
        }
    }

    fn confirm(&self, prompt: &str) -> bool {
        let answer = self
            .conversation
            .borrow_mut()
            .ask(|id| PluginMessage::Confirm {
                id,
                prompt: prompt.to_owned(),
            });
        // A question that got no answer is a no: nothing is done without the user's yes.
        matches!(answer, Ok(HostMessage::ConfirmAnswer { yes: true, .. }))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use serde_json::{Value, json};

    use super::*;
    use crate::CommandOutput;
    use crate::protocol::{CommandSpec, Manifest};

    fn tiny() -> PluginDefinition {
        PluginDefinition::new("tiny", "0.1.0", "Tiny")
            .group(["tiny"], "Tiny things")
            .command(
                CommandSpec::new(["tiny", "get"], "Get a thing").run(|host, _| {
                    host.info("getting");
                    let body = host.get_raw("/v1/thing")?;
                    let second = host.get_raw("/v1/other")?;
                    Ok(CommandOutput::raw(
                        body,
                        crate::TextView::Lines(vec![second.get().to_owned()]),
                    ))
                }),
            )
            .command(CommandSpec::new(["tiny", "ask"], "Ask").run(|host, _| {
                let yes = host.confirm("Sure?");
                Ok(CommandOutput::lines(json!(yes), Vec::new()))
            }))
            .command(
                CommandSpec::new(["tiny", "boom"], "Panic")
                    .run(|_, _| panic!("the thing is broken")),
            )
    }

    /// The lines `serve_on` writes for `input`, parsed, and how it ended.
    fn converse(input: &[Value]) -> (Vec<Value>, Result<(), ServeFailure>) {
        let mut text = String::new();
        for line in input {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        converse_text(&text)
    }

    fn converse_text(input: &str) -> (Vec<Value>, Result<(), ServeFailure>) {
        let mut output = Vec::new();
        let ended = serve_on(&tiny(), Cursor::new(input.as_bytes()), &mut output);
        let text = String::from_utf8(output).expect("the protocol is UTF-8");
        assert!(text.is_empty() || text.ends_with('\n'), "{text}");
        let lines = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("every line is JSON"))
            .collect();
        (lines, ended)
    }

    fn invoke(command: &[&str]) -> Value {
        json!({"type": "invoke", "plugin_api_version": "1.1.0",
               "invocation": {"command": command, "flags": {}, "output": "json"}})
    }

    fn response(id: u64, status: u16, body: &str) -> Value {
        json!({"type": "http_outcome", "id": id,
               "outcome": {"response": {"status": status, "body": body}}})
    }

    #[test]
    fn describe_is_answered_with_the_manifest() {
        let (lines, ended) =
            converse(&[json!({"type": "describe", "plugin_api_version": "1.1.0"})]);
        assert!(ended.is_ok());
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["type"], "manifest");
        let manifest: Manifest =
            serde_json::from_value(lines[0]["manifest"].clone()).expect("a manifest");
        assert_eq!(manifest, tiny().manifest());
    }

    #[test]
    fn a_run_asks_for_each_request_with_a_new_id_then_writes_the_result() {
        let (lines, ended) = converse(&[
            invoke(&["tiny", "get"]),
            response(1, 200, r#"{"a":1}"#),
            response(2, 200, r#""second""#),
        ]);
        assert!(ended.is_ok());
        let types: Vec<_> = lines.iter().map(|line| line["type"].clone()).collect();
        assert_eq!(types, ["log", "http", "http", "result"]);
        assert_eq!(lines[0]["message"], "getting");
        assert_eq!(lines[0]["level"], "info");
        assert_eq!(lines[1]["id"], 1);
        assert_eq!(lines[1]["request"]["method"], "GET");
        assert_eq!(lines[1]["request"]["path"], "/v1/thing");
        assert_eq!(lines[2]["id"], 2);
        assert_eq!(lines[3]["result"]["ok"]["payload"], json!({"a": 1}));
        assert_eq!(
            lines[3]["result"]["ok"]["text"]["lines"],
            json!([r#""second""#])
        );
    }

    #[test]
    fn a_non_2xx_answer_is_passed_on_in_the_error_result() {
        let (lines, _) = converse(&[invoke(&["tiny", "get"]), response(1, 404, "{}")]);
        let error = &lines[2]["result"]["error"];
        assert_eq!(error["kind"], "not_found");
        assert_eq!(error["http"]["status"], 404);
        assert_eq!(error["http"]["path"], "/v1/thing");
    }

    #[test]
    fn an_answer_with_another_id_fails_the_call_as_a_plugin_error() {
        let (lines, ended) = converse(&[invoke(&["tiny", "get"]), response(7, 200, "{}")]);
        assert!(ended.is_ok());
        let error = &lines[2]["result"]["error"];
        assert_eq!(error["kind"], "plugin");
        assert_eq!(
            error["message"],
            "plugin `tiny`: the host answered request 7 where 1 was due"
        );
    }

    #[test]
    fn the_end_of_input_or_a_bad_line_fails_the_call() {
        let (lines, _) = converse(&[invoke(&["tiny", "get"])]);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[2]["result"]["error"]["message"],
            "plugin `tiny`: the host ended the conversation before answering"
        );

        let text = format!("{}\nnot json\n", invoke(&["tiny", "get"]));
        let (lines, _) = converse_text(&text);
        let message = lines[2]["result"]["error"]["message"]
            .as_str()
            .expect("a message");
        assert!(
            message.starts_with("plugin `tiny`: could not read the host's answer: expected"),
            "{message}"
        );

        let text = format!("{}\n{}", invoke(&["tiny", "get"]), response(1, 200, "{}"));
        let (lines, _) = converse_text(&text);
        assert_eq!(
            lines[2]["result"]["error"]["message"],
            "plugin `tiny`: could not read the host's answer: the input ended in the middle of a line"
        );
    }

    #[test]
    fn confirm_carries_the_answer_and_no_answer_is_a_no() {
        let (lines, _) = converse(&[
            invoke(&["tiny", "ask"]),
            json!({"type": "confirm_answer", "id": 1, "yes": true}),
        ]);
        assert_eq!(lines[0]["type"], "confirm");
        assert_eq!(lines[0]["prompt"], "Sure?");
        assert_eq!(lines[1]["result"]["ok"]["payload"], true);

        let (lines, _) = converse(&[invoke(&["tiny", "ask"]), response(1, 200, "{}")]);
        assert_eq!(lines[1]["result"]["ok"]["payload"], false);
    }

    #[test]
    fn a_panic_becomes_an_error_result() {
        let (lines, ended) = converse(&[invoke(&["tiny", "boom"])]);
        assert!(ended.is_ok());
        assert_eq!(lines.len(), 1);
        let error = &lines[0]["result"]["error"];
        assert_eq!(error["kind"], "plugin");
        let message = error["message"].as_str().expect("a message");
        assert!(
            message.starts_with("plugin `tiny` panicked: the thing is broken (at "),
            "{message}"
        );
        assert_eq!(
            error["hint"],
            "this is a bug in the plugin; report it to its author"
        );
    }

    #[test]
    fn an_unknown_command_or_unreadable_invocation_is_an_error_result() {
        let (lines, _) = converse(&[invoke(&["tiny", "nope"])]);
        assert_eq!(
            lines[0]["result"]["error"]["message"],
            "plugin `tiny` has no command `tiny nope`"
        );
        let (lines, ended) =
            converse(&[json!({"type": "invoke", "plugin_api_version": "1.1.0", "invocation": 3})]);
        assert!(ended.is_ok());
        let message = lines[0]["result"]["error"]["message"]
            .as_str()
            .expect("a message");
        assert!(
            message.starts_with("plugin `tiny` could not read the invocation: "),
            "{message}"
        );
    }

    #[test]
    fn a_first_line_that_is_not_a_request_writes_nothing_and_fails() {
        for input in [
            "",
            "{}\n",
            "hello\n",
            &format!("{}\n", response(1, 200, "")),
        ] {
            let (lines, ended) = converse_text(input);
            assert!(lines.is_empty(), "{input:?}");
            assert!(
                matches!(ended, Err(ServeFailure::FirstLine(_))),
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_message_over_the_limit_is_refused_both_ways() {
        assert_eq!(encode_within(&"abc", 5).expect("fits"), br#""abc""#);
        let refused = encode_within(&"abcd", 5).expect_err("over the limit");
        assert_eq!(refused, "the message is 6 bytes, over the limit of 5");

        let mut input = Cursor::new(&b"12345\n123456\n"[..]);
        assert_eq!(
            read_line_within(&mut input, 5).expect("fits"),
            Some(b"12345".to_vec())
        );
        let refused = read_line_within(&mut input, 5).expect_err("over the limit");
        assert_eq!(refused, "a line is over the limit of 5 bytes");
    }

    /// Every message the protocol guide shows, in a `json` block or as a `→`/`←` line of a
    /// conversation, is one the SDK reads as that message.
    #[test]
    fn the_protocol_guide_shows_messages_as_they_are() {
        // Read at run time: the crate as published carries no guide, and its tests still build.
        let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let Ok(guide) = std::fs::read_to_string(repository.join("docs/plugin-protocol.md")) else {
            assert!(
                !repository.join("plugin-api").is_dir(),
                "docs/plugin-protocol.md is missing from the repository"
            );
            return;
        };
        let mut messages = Vec::new();
        for block in guide.split("```json\n").skip(1) {
            messages.push(block.split("```").next().unwrap_or_default().to_owned());
        }
        for line in guide.lines() {
            if let Some(message) = line.strip_prefix("→ ").or_else(|| line.strip_prefix("← ")) {
                messages.push(message.to_owned());
            }
        }
        assert!(messages.len() > 12, "{}", messages.len());
        let mut shown = std::collections::BTreeSet::new();
        for text in &messages {
            let value: Value = serde_json::from_str(text)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {text}"));
            if let Some(kind) = value["type"].as_str() {
                shown.insert(kind.to_owned());
            }
            match value["type"].as_str() {
                Some("describe" | "invoke" | "http_outcome" | "confirm_answer") => {
                    serde_json::from_str::<HostMessage>(text)
                        .unwrap_or_else(|error| panic!("{error}: {text}"));
                }
                // A tagged enum cannot hold a payload kept as text: the host reads a result as
                // `pipe::ResultLine`, then the result itself.
                Some("result") => {
                    let line: crate::pipe::ResultLine<'_> = serde_json::from_str(text)
                        .unwrap_or_else(|error| panic!("{error}: {text}"));
                    serde_json::from_str::<CommandResult>(line.result.get())
                        .unwrap_or_else(|error| panic!("{error}: {text}"));
                }
                Some(_) => {
                    serde_json::from_str::<PluginMessage>(text)
                        .unwrap_or_else(|error| panic!("{error}: {text}"));
                }
                None => panic!("no type: {text}"),
            }
        }
        // Every message of the protocol, each way, has an example.
        let every = [
            "describe",
            "manifest",
            "invoke",
            "http",
            "http_outcome",
            "log",
            "confirm",
            "confirm_answer",
            "result",
        ];
        assert_eq!(shown, every.iter().map(|kind| (*kind).to_owned()).collect());

        // The pieces shown inline, in backticks (a value may wrap onto the next line).
        let prose = guide.replace('\n', " ");
        let inline = |after: &str| -> String {
            let start = prose
                .find(after)
                .unwrap_or_else(|| panic!("the guide shows {after}"));
            let rest = &prose[start + after.len()..];
            rest[..rest.find('`').unwrap_or(rest.len())].to_owned()
        };
        let flag = inline("A flag: `");
        serde_json::from_str::<crate::protocol::FlagSpec>(&flag)
            .unwrap_or_else(|error| panic!("{error}: {flag}"));
        let arg = inline("A positional argument: `");
        serde_json::from_str::<crate::protocol::ArgSpec>(&arg)
            .unwrap_or_else(|error| panic!("{error}: {arg}"));
        let group = inline("| `groups` | `");
        serde_json::from_str::<Vec<crate::protocol::GroupSpec>>(&group)
            .unwrap_or_else(|error| panic!("{error}: {group}"));
        // The `if_unseen` example's hint quotes a command in backticks: it ends at "}`".
        let after = "cannot be shown again, e.g. `";
        let start = prose.find(after).expect("the guide shows an if_unseen") + after.len();
        let end = prose[start..].find("}`").expect("the example ends") + start + 1;
        let unseen = &prose[start..end];
        serde_json::from_str::<PluginError>(unseen)
            .unwrap_or_else(|error| panic!("{error}: {unseen}"));
    }
}
