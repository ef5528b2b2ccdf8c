//! Faults injected into the emulator: retries, timeouts, unknown outcomes, interrupts. Nothing is
//! created twice and every failure says what happened.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baseten_e2e::{ClosedPort, LocalServer, Sandbox, baseten_bin, emulator, finish};
use serde_json::json;

use crate::support::request_lines;

/// A key for servers that never check one.
const SOME_KEY: &str = "abcdefgh.secretsecretsecretsecretsecretsecret";

#[test]
fn a_get_survives_two_unavailable_answers() {
    let emulator = emulator();
    emulator
        .inject_fault(json!({"method": "GET", "path": "/v1/api_keys", "status": 503, "times": 2}));
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-o", "json", "-v"]);
    run.assert_code(0);
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"; 3]);
    // The README's backoff: 250 ms, then 500 ms, each ±50 %.
    let delays: Vec<u64> = run
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("* retrying in ")?.strip_suffix(" ms"))
        .map(|delay| delay.parse().expect("a whole number of milliseconds"))
        .collect();
    assert_eq!(delays.len(), 2, "{}", run.stderr);
    assert!((125..=375).contains(&delays[0]), "{delays:?}");
    assert!((250..=750).contains(&delays[1]), "{delays:?}");
}

#[test]
fn a_get_gives_up_after_three_attempts() {
    let emulator = emulator();
    emulator.inject_fault(json!({"method": "GET", "path": "/v1/api_keys", "status": 502, "times": 5,
        "body": "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"}));
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list"]);
    run.assert_code(6);
    assert!(
        run.stderr.starts_with(
            "error: could not list API keys: HTTP 502: 502 Bad Gateway Bad Gateway\nhint: "
        ),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&emulator).len(), 3);
}

#[test]
fn a_create_waits_for_retry_after_on_429_and_creates_once() {
    let emulator = emulator();
    emulator.inject_fault(
        json!({"method": "POST", "path": "/v1/api_keys", "status": 429, "retry_after": 1}),
    );
    let before = emulator.keys().len();
    let started = Instant::now();
    let run = Sandbox::for_emulator(&emulator)
        .run(&["org", "api-key", "create", "--type", "personal", "-v"]);
    run.assert_code(0);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was not honoured"
    );
    assert!(run.stderr.contains("retrying in 1000 ms"), "{}", run.stderr);
    assert_eq!(request_lines(&emulator), ["POST /v1/api_keys"; 2]);
    assert_eq!(emulator.keys().len(), before + 1);
}

#[test]
fn a_create_is_not_retried_on_a_server_error() {
    let emulator = emulator();
    emulator.inject_fault(json!({"method": "POST", "path": "/v1/api_keys", "status": 503}));
    let run =
        Sandbox::for_emulator(&emulator).run(&["org", "api-key", "create", "--type", "personal"]);
    run.assert_code(6);
    assert_eq!(request_lines(&emulator), ["POST /v1/api_keys"]);
}

#[test]
fn a_hung_server_hits_the_timeout() {
    // A server that takes every connection and never answers counts the attempts itself.
    let listener = LocalServer::silent();
    let url = listener.url();
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", SOME_KEY);
    sandbox.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", &url);
    sandbox.set("BASETEN_HTTP_TIMEOUT", "0.5");
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(7);
    assert!(
        run.stderr
            .contains(&format!("GET {url}/v1/api_keys timed out after 0.5 s")),
        "{}",
        run.stderr
    );
    // A GET is retried on a timeout: three attempts in all.
    assert_eq!(listener.connections(), 3, "{}", run.stderr);

    // A create that timed out may have been carried out: it is never sent again.
    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
    run.assert_code(7);
    assert!(run.stderr.contains("may exist"), "{}", run.stderr);
    assert_eq!(
        listener.connections(),
        4,
        "the create was sent again: {}",
        run.stderr
    );
}

#[test]
fn an_ambiguous_create_exits_7_and_leaves_exactly_one_key() {
    let emulator = emulator();
    emulator.inject_fault(
        json!({"method": "POST", "path": "/v1/api_keys", "drop": true, "after_processing": true}),
    );
    let before = emulator.keys().len();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org", "api-key", "create", "--type", "personal", "--name", "maybe",
    ]);
    run.assert_code(7);
    let mut lines = run.stderr.lines();
    let error = lines.next().unwrap_or_default();
    assert!(
        error.starts_with("error: could not create API key: "),
        "{}",
        run.stderr
    );
    assert!(error.ends_with("the key may exist"), "{}", run.stderr);
    assert_eq!(
        lines.next(),
        Some("hint: check with `baseten org api-key list` before creating it again")
    );
    assert_eq!(
        request_lines(&emulator),
        ["POST /v1/api_keys"],
        "the create was sent again"
    );
    assert_eq!(emulator.keys().len(), before + 1);
    assert_eq!(run.stdout, "");
}

#[test]
fn a_delete_after_a_dropped_connection_is_not_sent_again() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = sandbox
        .run(&["org", "api-key", "create", "--type", "personal"])
        .stdout;
    let prefix = key.split('.').next().unwrap_or_default().to_owned();
    emulator.reset();
    emulator.inject_fault(json!({"method": "DELETE", "drop": true}));
    let run = sandbox.run(&["org", "api-key", "delete", "--prefix", &prefix]);
    run.assert_code(7);
    assert_eq!(
        request_lines(&emulator),
        [format!("DELETE /v1/api_keys/{prefix}")]
    );
}

#[test]
fn a_connection_refused_or_never_set_up_is_retried_for_a_create() {
    // Refused: the socket on the port is bound but never listens. No server sees a refused
    // connection, so here the attempts are counted in the `-v` log.
    let closed = ClosedPort::new();
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", SOME_KEY);
    sandbox.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", closed.url());
    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal", "-v"]);
    run.assert_code(7);
    assert_eq!(run.stderr.matches("> POST").count(), 3, "{}", run.stderr);
    assert!(run.stderr.contains("connection refused"), "{}", run.stderr);
    assert!(!run.stderr.contains("may exist"), "{}", run.stderr);

    // Never set up: each connection is accepted, then closed before the TLS handshake ends, so
    // the request provably never left. The listener counts the three attempts itself.
    let listener = LocalServer::closing();
    sandbox.set(
        "BASETEN_MANAGEMENT_API_URL_OVERRIDE",
        format!("https://127.0.0.1:{}", listener.port()),
    );
    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
    run.assert_code(7);
    assert_eq!(listener.connections(), 3, "{}", run.stderr);
    assert!(!run.stderr.contains("may exist"), "{}", run.stderr);
}

#[test]
fn ctrl_c_during_a_request_exits_130_with_canceled() {
    // A server that reads the request and never answers: the emulator logs a delayed request
    // only once it answers, so waiting for its log raced the answer.
    let server = LocalServer::start(|_, connection| {
        std::thread::sleep(Duration::from_secs(30));
        drop(connection);
    });
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", "abcd1234.0123456789abcdefghij0123");
    sandbox.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", server.url());
    let mut command = sandbox.command(&baseten_bin());
    command
        .args(["org", "api-key", "list"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("starts");
    // Wait until the request is in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.heads().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let run = finish(child, "list interrupted while unanswered");
    run.assert_code(130);
    assert_eq!(run.stderr, "Canceled.\n");
    assert_eq!(run.stdout, "");
}

#[test]
fn verbose_logs_each_attempt_and_redact_secrets() {
    let emulator = emulator();
    emulator.inject_fault(json!({"method": "GET", "path": "/v1/api_keys", "status": 503}));
    // `-vv`: `-v` logs no headers, so only here could the credential show.
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-vv"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("(attempt 1/3)") && run.stderr.contains("(attempt 2/3)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .lines()
            .filter(|line| line.ends_with("authorization: Api-Key <redacted>"))
            .count(),
        2,
        "each attempt logs its authorization header, redacted:\n{}",
        run.stderr
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"; 2]);
    assert!(
        run.stderr.contains("< 503 Service Unavailable in "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("* credential from BASETEN_API_KEY"),
        "{}",
        run.stderr
    );
    let secret = emulator.api_key().split_once('.').map(|(_, secret)| secret);
    let secret = secret.expect("a key `prefix.secret`");
    assert!(!run.stderr.contains(secret), "{}", run.stderr);
}

#[test]
fn a_plain_http_base_ignores_http_proxy() {
    // A second emulator stands in for the proxy: a plain-http proxy would receive the request,
    // `Authorization` header in clear, and log it. Plain http goes only to this machine, directly.
    let emulator = emulator();
    let proxy = baseten_e2e::emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("HTTP_PROXY", proxy.url());
    sandbox
        .run(&["org", "api-key", "list", "-o", "json"])
        .assert_code(0);
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"]);
    assert!(request_lines(&proxy).is_empty(), "the proxy was used");
}
