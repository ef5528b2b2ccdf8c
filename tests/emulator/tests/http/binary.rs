//! The `baseten-emulator` executable: its stdout contract, its exit on signals, and start-up
//! refusals.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::client::{api_key, get, send_tls};

const BINARY: &str = env!("CARGO_BIN_EXE_baseten-emulator");

fn spawn(args: &[&str]) -> Child {
    Command::new(BINARY)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads stdout lines on a thread, so a hung binary fails the test instead of hanging it.
fn lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn next_line(lines: &mpsc::Receiver<String>, child: &mut Child) -> String {
    match lines.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => line,
        Err(error) => {
            let _ = child.kill();
            panic!("no stdout line from the emulator: {error}");
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the emulator did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn address(line: &str) -> SocketAddr {
    line.strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap()
}

#[test]
fn prints_address_and_generated_key_then_exits_cleanly_on_sigterm() {
    let mut child = spawn(&["--team", "Research"]);
    let lines = lines(child.stdout.take().unwrap());
    let addr = address(&next_line(&lines, &mut child));
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    let second = next_line(&lines, &mut child);
    let key = second
        .strip_prefix("api key: ")
        .unwrap_or_else(|| panic!("unexpected second line {second:?}"));
    assert_eq!(key.split_once('.').unwrap().0.len(), 8);

    assert_eq!(get(addr, "/v1/users/me", key).status, 200);
    let teams = get(addr, "/v1/teams", key).json();
    assert_eq!(teams["teams"][1]["name"], "Research");

    signal(&child, "TERM");
    let status = wait(&mut child);
    assert!(status.success(), "{status}");
    assert!(
        lines.recv_timeout(Duration::from_secs(5)).is_err(),
        "nothing more on stdout"
    );
}

#[test]
fn prints_only_the_address_with_a_given_key_and_exits_cleanly_on_sigint() {
    let key = "abcd1234.given-secret-for-the-binary-test";
    let mut child = spawn(&["--listen", "127.0.0.1:0", "--api-key", key]);
    let lines = lines(child.stdout.take().unwrap());
    let addr = address(&next_line(&lines, &mut child));
    assert_eq!(get(addr, "/v1/api_keys", key).status, 200);
    signal(&child, "INT");
    assert!(wait(&mut child).success());
    assert!(
        lines.recv_timeout(Duration::from_secs(5)).is_err(),
        "no key line"
    );
}

#[test]
fn tls_writes_the_ca_certificate_and_serves_https() {
    let folder = tempfile::tempdir().unwrap();
    let ca_file = folder.path().join("ca.pem");
    let key = "abcd1234.given-secret-for-the-tls-test";
    let mut child = spawn(&["--tls", ca_file.to_str().unwrap(), "--api-key", key]);
    let lines = lines(child.stdout.take().unwrap());
    let first = next_line(&lines, &mut child);
    let addr: SocketAddr = first
        .strip_prefix("listening on https://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    // Written before the address is printed.
    let ca_pem = std::fs::read_to_string(&ca_file).unwrap();
    let reply = send_tls(
        addr,
        &ca_pem,
        "localhost",
        "GET",
        "/v1/api_keys",
        &[("Authorization", &api_key(key))],
        None,
    )
    .unwrap();
    assert_eq!(reply.status, 200);
    signal(&child, "TERM");
    assert!(wait(&mut child).success());
}

#[test]
fn refuses_a_corrupt_state_file_with_one_line_and_leaves_it_alone() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("state.json");
    std::fs::write(&path, "not json at all").unwrap();
    let mut child = spawn(&["--state", path.to_str().unwrap()]);
    let status = wait(&mut child);
    assert!(!status.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: state file"), "{stderr}");
    assert!(stderr.contains("corrupt"), "{stderr}");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_eq!(stdout, "");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json at all");
}

#[test]
fn refuses_unknown_arguments_with_usage() {
    let output = Command::new(BINARY).arg("--bogus").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: unknown argument `--bogus`"),
        "{stderr}"
    );
}
