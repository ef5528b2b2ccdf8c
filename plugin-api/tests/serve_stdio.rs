//! `serve` on a real process's stdio: a stray `println!` in a command reaches stderr, never the
//! protocol on stdout. The program runs itself as the plugin (with `SERVE_STDIO_CHILD` set).

#![allow(
    clippy::disallowed_methods,
    reason = "a test program reads its own environment and path to start itself as the plugin"
)]

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};

use baseten_plugin_api::{CommandOutput, CommandSpec, PluginDefinition};
use serde_json::{Value, json};

const CHILD: &str = "SERVE_STDIO_CHILD";

fn noisy() -> PluginDefinition {
    PluginDefinition::new("noisy", "0.1.0", "Prints where it should not").command(
        CommandSpec::new(["noisy"], "Print").run(|_, _| {
            #[allow(clippy::print_stdout, reason = "the stray print under test")]
            {
                println!("a stray line");
            }
            Ok(CommandOutput::lines(json!({"quiet": false}), Vec::new()))
        }),
    )
}

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        return baseten_plugin_api::serve(noisy());
    }
    if cfg!(unix) {
        a_stray_print_goes_to_stderr();
    }
    ExitCode::SUCCESS
}

fn a_stray_print_goes_to_stderr() {
    let mut child = Command::new(std::env::current_exe().expect("the test knows its path"))
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the plugin starts");
    let invoke = json!({"type": "invoke", "plugin_api_version": "1.1.0",
                        "invocation": {"command": ["noisy"], "output": "json"}});
    let mut stdin = child.stdin.take().expect("piped");
    writeln!(stdin, "{invoke}").expect("writes the request");
    drop(stdin);
    let output = child.wait_with_output().expect("the plugin ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout}");
    let result: Value = serde_json::from_str(&stdout).expect("one protocol line");
    assert_eq!(result["type"], "result");
    assert_eq!(result["result"]["ok"]["payload"], json!({"quiet": false}));
    assert_eq!(stderr, "a stray line\n");
    let _ = writeln!(
        std::io::stderr(),
        "serve_stdio: a stray print goes to stderr: ok"
    );
}
