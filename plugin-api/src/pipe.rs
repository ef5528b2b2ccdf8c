//! The messages of an executable plugin: the same [`crate::protocol`] types a library plugin
//! exchanges through the ABI, framed as one JSON object per line on the plugin's stdin (from the
//! host) and stdout (from the plugin).
//!
//! One line per message because every language can read a line and parse JSON with its standard
//! library, a JSON text never holds a raw line break (strings escape them), a truncated or
//! garbled message is caught by the parser rather than read as a wrong length, and a log of a
//! conversation reads as text. The cost, escaping a body as a JSON string, is the same one the
//! library ABI pays.
//!
//! A conversation is one process, started by the host for one of two things, named by the first
//! line the host writes:
//!
//! - [`HostMessage::Describe`]: the plugin answers [`PluginMessage::Manifest`] and exits 0;
//! - [`HostMessage::Invoke`]: the plugin runs the command, may send any number of
//!   [`PluginMessage::Http`], [`PluginMessage::Log`] and [`PluginMessage::Confirm`] (each `Http`
//!   and `Confirm` answered by the host with the same `id` before the plugin sends anything
//!   else that needs an answer), then sends [`PluginMessage::Result`] and exits 0.
//!
//! `docs/plugin-protocol.md` describes the same for authors in any language.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::protocol::{CommandResult, HttpOutcome, HttpRequest, Invocation, Manifest};

/// The longest line either side may write, in bytes: a longer one ends the conversation as a
/// broken plugin. Large enough for any answer the host accepts from the API.
pub const MAX_MESSAGE_BYTES: usize = 1 << 30;

/// The prefix of an executable plugin's file name: `baseten-plugin-<name>` (`.exe` on Windows).
pub const EXECUTABLE_PREFIX: &str = "baseten-plugin-";

/// What the host writes to the plugin's stdin, one per line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostMessage {
    /// The first and only message of a manifest request: answer with
    /// [`PluginMessage::Manifest`], then exit.
    Describe {
        /// The plugin API version of the host ([`crate::PLUGIN_API_VERSION`]).
        plugin_api_version: String,
    },
    /// The first message of a run: run `invocation`, then answer with [`PluginMessage::Result`].
    Invoke {
        /// The plugin API version of the host.
        plugin_api_version: String,
        /// The command and its flag values.
        invocation: Invocation,
    },
    /// The answer to the [`PluginMessage::Http`] with the same `id`.
    HttpOutcome {
        /// The request's `id`.
        id: u64,
        /// The server's answer, or why there is none.
        outcome: HttpOutcome,
    },
    /// The answer to the [`PluginMessage::Confirm`] with the same `id`.
    ConfirmAnswer {
        /// The question's `id`.
        id: u64,
        /// Whether the user answered yes. Always `false` when no one can be asked.
        yes: bool,
    },
}

/// What the plugin writes to its stdout, one per line. Nothing else may go to stdout: any other
/// line ends the command as a broken plugin. Diagnostics go to stderr, which the host shows
/// under `-v`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PluginMessage {
    /// The answer to [`HostMessage::Describe`].
    Manifest {
        /// What the plugin is and which commands it adds.
        manifest: Manifest,
    },
    /// Asks the host to send a request to the management API; the host adds the credential,
    /// base URL, timeouts, retries and logging, and answers with [`HostMessage::HttpOutcome`].
    Http {
        /// Chosen by the plugin; the answer carries it back.
        id: u64,
        /// The request.
        request: HttpRequest,
    },
    /// A line for the user's `-v` log. No answer.
    Log {
        /// `info` (shown with `-v`) or `debug` (shown with `-vv`).
        level: PipeLogLevel,
        /// One line of text.
        message: String,
    },
    /// Asks the user a yes/no question; answered with [`HostMessage::ConfirmAnswer`].
    Confirm {
        /// Chosen by the plugin; the answer carries it back.
        id: u64,
        /// The question, e.g. `Delete API key abcd1234?`.
        prompt: String,
    },
    /// The command's outcome; the last message of a run.
    Result {
        /// The output, or the error.
        result: CommandResult,
    },
}

/// The level of a [`PluginMessage::Log`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipeLogLevel {
    /// Shown with `-v`.
    Info,
    /// Shown with `-vv`.
    Debug,
}

/// A [`PluginMessage::Result`] as the host reads it: the result stays raw JSON text, so that its
/// payload is borrowed, not rebuilt, on its way to the output.
#[derive(Debug, Deserialize)]
pub struct ResultLine<'a> {
    /// The [`crate::protocol::CommandResult`] as written.
    #[serde(borrow)]
    pub result: &'a RawValue,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CommandOutput, HttpResponse, OutputMode};

    #[test]
    fn messages_are_one_line_tagged_by_type() {
        let invoke = HostMessage::Invoke {
            plugin_api_version: "1.1.0".to_owned(),
            invocation: Invocation {
                command: vec!["whoami".to_owned()],
                flags: serde_json::Map::new(),
                output: OutputMode::Json,
                interactive: false,
            },
        };
        let line = serde_json::to_string(&invoke).expect("encodes");
        assert!(line.starts_with(r#"{"type":"invoke","#), "{line}");
        assert!(!line.contains('\n'));

        let answer = HostMessage::HttpOutcome {
            id: 1,
            outcome: HttpOutcome::Response(HttpResponse {
                status: 200,
                body: "{\n}".to_owned(),
            }),
        };
        let line = serde_json::to_string(&answer).expect("encodes");
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.contains(r#""outcome":{"response":{"status":200"#),
            "{line}"
        );

        let log: PluginMessage =
            serde_json::from_str(r#"{"type":"log","level":"info","message":"hi"}"#)
                .expect("parses");
        assert!(matches!(
            log,
            PluginMessage::Log {
                level: PipeLogLevel::Info,
                ..
            }
        ));
    }

    #[test]
    fn the_host_reads_a_result_without_rebuilding_it() {
        let result = PluginMessage::Result {
            result: CommandResult::Ok(CommandOutput::lines(
                serde_json::json!({"email": "a@b.c"}),
                vec!["a@b.c".to_owned()],
            )),
        };
        let line = serde_json::to_string(&result).expect("encodes");
        let read: ResultLine<'_> = serde_json::from_str(&line).expect("parses");
        assert!(
            read.result.get().starts_with(r#"{"ok":"#),
            "{}",
            read.result.get()
        );
    }
}
