//! Speaks the executable-plugin protocol to a plugin program directly, as the host does: writes
//! the first line, answers each `http` (forwarded to an emulator, or canned) and `confirm`, and
//! collects everything up to the `result` or `manifest`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use baseten_e2e::BackgroundEmulator;
use serde_json::{Value, json};

/// How long a plugin may take to write its next line before the test fails: far beyond any
/// real pause, short of stalling the suite.
const LINE_DEADLINE: Duration = Duration::from_secs(60);

/// One conversation, as it went.
#[derive(Debug)]
pub struct Conversation {
    /// Every line the plugin wrote, parsed, in order.
    pub lines: Vec<Value>,
    /// How the plugin exited.
    pub code: Option<i32>,
    /// What it wrote on stderr.
    pub stderr: String,
}

impl Conversation {
    /// The last line, which ends a conversation: the manifest or the result.
    #[track_caller]
    pub fn last(&self) -> &Value {
        self.lines.last().expect("the plugin wrote a line")
    }

    /// The `result` of the result line.
    #[track_caller]
    pub fn result(&self) -> &Value {
        let last = self.last();
        assert_eq!(last["type"], "result", "{:?}", self.lines);
        &last["result"]
    }

    /// The `type` of each line.
    pub fn types(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|line| line["type"].as_str().unwrap_or("?").to_owned())
            .collect()
    }
}

/// The first line of a run of `command` in `output` mode.
pub fn invoke(command: &[&str], output: &str) -> Value {
    json!({"type": "invoke", "plugin_api_version": "1.1.0",
           "invocation": {"command": command, "flags": {}, "output": output, "interactive": false}})
}

/// The first line of a manifest request.
pub fn describe() -> Value {
    json!({"type": "describe", "plugin_api_version": "1.1.0"})
}

/// Starts `program` with an empty environment but `PATH`, writes `first`, answers each request
/// with `answer(request)` (an `outcome` as in `http_outcome`) and each question with no, until
/// the plugin writes its last line; then closes its stdin and waits for it.
pub fn converse(
    mut program: Command,
    first: &Value,
    mut answer: impl FnMut(&Value) -> Value,
) -> Conversation {
    program.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        program.env("PATH", path);
    }
    let mut child = program
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the plugin starts");
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (lines_out, lines_in) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_out.send(line).is_err() {
                break;
            }
        }
    });
    writeln!(stdin, "{first}").expect("writes the first line");

    let mut lines = Vec::new();
    loop {
        let line = match lines_in.recv_timeout(LINE_DEADLINE) {
            Ok(Ok(line)) => line,
            // The plugin closed stdout.
            Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the plugin wrote nothing for {LINE_DEADLINE:?} after {lines:?}");
            }
        };
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("not a protocol line ({error}): {line}"));
        let reply = match message["type"].as_str() {
            Some("http") => Some(json!({"type": "http_outcome", "id": message["id"],
                                        "outcome": answer(&message["request"])})),
            Some("confirm") => Some(json!({"type": "confirm_answer", "id": message["id"],
                                           "yes": false})),
            _ => None,
        };
        let done = matches!(message["type"].as_str(), Some("result" | "manifest"));
        lines.push(message);
        if let Some(reply) = reply {
            // A plugin that has already exited no longer reads; its end shows in the lines.
            let _ = writeln!(stdin, "{reply}");
        }
        if done {
            break;
        }
    }
    drop(stdin);
    let run = baseten_e2e::finish(child, "the plugin");
    Conversation {
        lines,
        code: Some(run.code),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// An `answer` for [`converse`] that sends each request to `emulator` with its bootstrap key and
/// passes its answer back, as the host would.
pub fn forward_to(emulator: &BackgroundEmulator) -> impl FnMut(&Value) -> Value + '_ {
    move |request| forward(emulator, request)
}

/// An `answer` that answers every request with `status` and `body`.
pub fn canned(status: u16, body: &str) -> impl FnMut(&Value) -> Value + '_ {
    move |_| json!({"response": {"status": status, "body": body}})
}

/// Sends `request` (an `http` line's `request`) to `emulator` over HTTP/1.0 and returns the
/// `outcome`: HTTP/1.0 so that the answer is the bytes up to the close, never chunked.
fn forward(emulator: &BackgroundEmulator, request: &Value) -> Value {
    let method = request["method"].as_str().expect("a method");
    let mut target = request["path"].as_str().expect("a path").to_owned();
    let query: Vec<String> = request["query"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            format!(
                "{}={}",
                encode(pair[0].as_str().unwrap_or_default()),
                encode(pair[1].as_str().unwrap_or_default())
            )
        })
        .collect();
    if !query.is_empty() {
        target = format!("{target}?{}", query.join("&"));
    }
    let body = match &request["body"] {
        Value::Null => String::new(),
        body => body.to_string(),
    };
    let mut head = format!(
        "{method} {target} HTTP/1.0\r\nHost: {}\r\nAuthorization: Api-Key {}\r\n",
        emulator.addr(),
        emulator.api_key()
    );
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(emulator.addr()).expect("the emulator listens");
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .expect("sends the request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("reads the answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status line");
    json!({"response": {"status": status, "body": body}})
}

/// Percent-encodes a query component.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
