//! Small helpers shared by the test modules.

use std::process::{Child, Stdio};

use baseten_e2e::{BackgroundEmulator, Run, Sandbox, baseten_bin, finish};
use serde_json::Value;

/// The requests the emulator saw, oldest first.
pub fn requests(emulator: &BackgroundEmulator) -> Vec<Value> {
    match emulator.requests() {
        Value::Array(requests) => requests,
        Value::Object(mut fields) => match fields.remove("requests") {
            Some(Value::Array(requests)) => requests,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `METHOD path` of each request the emulator saw.
pub fn request_lines(emulator: &BackgroundEmulator) -> Vec<String> {
    requests(emulator)
        .iter()
        .map(|request| {
            format!(
                "{} {}",
                request["method"].as_str().unwrap_or("?"),
                request["path"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// The prefix of a key `prefix.secret`.
pub fn prefix_of(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}

/// Asserts that `key` is a whole, working key of `emulator`: a login with it succeeds. The
/// emulator keeps only a hash of each secret, so this is how a test tells the key a command
/// printed from a masked (`abcd1234.****`), cut or made-up one with the right prefix.
#[track_caller]
pub fn assert_live_key(emulator: &BackgroundEmulator, key: &str) {
    let url = emulator.url();
    let run = Sandbox::new().run_with_stdin(
        &[
            "auth",
            "login",
            "--with-api-key",
            "--profile",
            "check",
            "--remote-url",
            &url,
        ],
        &format!("{key}\n"),
    );
    assert_eq!(
        run.code,
        0,
        "`{}.…` is not a key the emulator accepts: {}",
        prefix_of(key),
        run.stderr
    );
}

/// Starts `baseten` with `args`, stdin, stdout and stderr piped.
pub fn spawn(sandbox: &Sandbox, args: &[&str]) -> Child {
    let mut command = sandbox.command(&baseten_bin());
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.spawn().expect("baseten starts")
}

/// Runs `baseten` with `args` and its stdout closed: `>&-`, the shell closes descriptor 1 before
/// running the tool.
pub fn run_with_stdout_closed(sandbox: &Sandbox, args: &[&str]) -> Run {
    let child = sandbox
        .command(std::path::Path::new("/bin/sh"))
        .arg("-c")
        .arg("exec \"$0\" \"$@\" >&-")
        .arg(baseten_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    finish(child, &format!("{} >&-", args.join(" ")))
}
