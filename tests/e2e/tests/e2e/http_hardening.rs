//! The HTTP client's edges: answers that leave a change in doubt, proxies, redirects, requests
//! that cannot be built, environment values that cannot be read, oversized bodies and
//! `Retry-After`. Some tests use a [`LocalServer`] that records what it was sent, where the
//! emulator cannot play the part (a proxy, a redirect target, an endless body).

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use baseten_e2e::{LocalServer, Sandbox, emulator, relay, tls_emulator};
use serde_json::json;

use crate::support::{prefix_of, request_lines};

/// A key the local servers never check.
const SOME_KEY: &str = "abcdefgh.secretsecretsecretsecretsecretsecret";

fn answer_with(response: &'static str) -> impl Fn(&str, TcpStream) + Send + Sync + 'static {
    move |_, mut stream| {
        let _ = stream.write_all(response.as_bytes());
        let _ = stream.shutdown(Shutdown::Write);
    }
}

/// A proxy that tunnels `CONNECT` to its target and answers anything else with 502.
pub(crate) fn connect_proxy() -> LocalServer {
    LocalServer::start(|head, mut client| {
        let target = head
            .strip_prefix("CONNECT ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned);
        let Some(upstream) = target.and_then(|target| TcpStream::connect(target).ok()) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        relay(client, upstream);
    })
}

fn sandbox_for(server: &LocalServer) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", SOME_KEY);
    sandbox.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", server.url());
    sandbox
}

fn error_and_hint(stderr: &str) -> (String, String) {
    let mut lines = stderr.lines();
    (
        lines.next().unwrap_or_default().to_owned(),
        lines.next().unwrap_or_default().to_owned(),
    )
}

#[test]
fn a_create_answered_with_a_server_error_says_the_key_may_exist() {
    for status in [500, 502, 504] {
        let emulator = emulator();
        emulator.inject_fault(
            json!({"method": "POST", "path": "/v1/api_keys", "status": status,
            "body": "<html><body><h1>Gateway trouble</h1></body></html>"}),
        );
        let run = Sandbox::for_emulator(&emulator)
            .run(&["org", "api-key", "create", "--type", "personal"]);
        run.assert_code(6);
        let (error, hint) = error_and_hint(&run.stderr);
        assert_eq!(
            error,
            format!(
                "error: could not create API key: HTTP {status}: Gateway trouble; the key may exist"
            )
        );
        assert_eq!(
            hint,
            "hint: check with `baseten org api-key list` before creating it again"
        );
        assert!(!run.stderr.contains("try again"), "{}", run.stderr);
        assert_eq!(request_lines(&emulator), ["POST /v1/api_keys"]);
    }
}

#[test]
fn a_delete_cut_off_says_the_key_may_have_been_deleted() {
    for after_processing in [false, true] {
        let emulator = emulator();
        let sandbox = Sandbox::for_emulator(&emulator);
        let created = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
        created.assert_code(0);
        let prefix = prefix_of(created.stdout.trim()).to_owned();
        emulator.reset();
        emulator.inject_fault(
            json!({"method": "DELETE", "drop": true, "after_processing": after_processing}),
        );
        let run = sandbox.run(&["org", "api-key", "delete", "--prefix", &prefix]);
        run.assert_code(7);
        let (error, hint) = error_and_hint(&run.stderr);
        assert!(
            error.starts_with(&format!("error: could not delete API key {prefix}: ")),
            "{}",
            run.stderr
        );
        assert!(
            error.ends_with("; the key may have been deleted"),
            "{}",
            run.stderr
        );
        assert_eq!(
            hint,
            "hint: check with `baseten org api-key list` whether it is still there"
        );
        assert!(
            !run.stderr.contains("BASETEN_HTTP_TIMEOUT"),
            "{}",
            run.stderr
        );
        assert_eq!(
            request_lines(&emulator),
            [format!("DELETE /v1/api_keys/{prefix}")]
        );
        let still_there = emulator.keys().iter().any(|key| key["prefix"] == prefix);
        assert_eq!(still_there, !after_processing);
    }
}

#[test]
fn a_plain_http_base_never_goes_through_a_proxy() {
    let emulator = emulator();
    let proxy = LocalServer::start(answer_with(
        "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n",
    ));
    let mut sandbox = Sandbox::for_emulator(&emulator);
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        sandbox.set(name, proxy.url());
    }
    sandbox
        .run(&["org", "api-key", "list", "-o", "json"])
        .assert_code(0);
    sandbox
        .run(&["org", "api-key", "create", "--type", "personal"])
        .assert_code(0);
    assert_eq!(
        proxy.heads(),
        Vec::<String>::new(),
        "the proxy saw the credential in clear"
    );
    assert_eq!(
        request_lines(&emulator),
        ["GET /v1/api_keys", "POST /v1/api_keys"]
    );
}

#[test]
fn an_https_base_goes_through_https_proxy_unless_no_proxy_names_it() {
    let folder = tempfile::tempdir().expect("a temp folder");
    let ca = folder.path().join("ca.pem");
    let emulator = tls_emulator(&ca);
    let port = emulator
        .url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let proxy = connect_proxy();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("BASETEN_CA_BUNDLE", ca.as_os_str());

    // HTTP_PROXY is for plain http, which is never proxied.
    sandbox.set("HTTP_PROXY", proxy.url());
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    assert!(proxy.heads().is_empty(), "{:?}", proxy.heads());

    sandbox.set("HTTPS_PROXY", proxy.url());
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    let heads = proxy.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n")),
        "{heads:?}"
    );
    // The tunnel carries TLS: the proxy never sees the credential.
    assert!(!heads[0].contains(emulator.api_key()));

    sandbox.set("NO_PROXY", "127.0.0.1");
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    assert_eq!(proxy.heads().len(), 1, "NO_PROXY was not honoured");
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"; 3]);
}

#[test]
fn a_redirect_is_an_error_and_nothing_is_sent_to_its_location() {
    let elsewhere = LocalServer::start(answer_with(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"keys\":[]}",
    ));
    let location = format!("{}/v1/api_keys", elsewhere.url());
    let response: &'static str = Box::leak(
        format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n")
            .into_boxed_str(),
    );
    let redirecting = LocalServer::start(answer_with(response));
    let sandbox = sandbox_for(&redirecting);

    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(1);
    let (error, hint) = error_and_hint(&run.stderr);
    assert_eq!(
        error,
        format!("error: could not list API keys: HTTP 302 redirect to `{location}`, not followed")
    );
    assert!(
        hint.starts_with("hint: the management API never redirects"),
        "{}",
        run.stderr
    );

    sandbox
        .run(&["org", "api-key", "create", "--type", "personal"])
        .assert_code(1);
    assert!(elsewhere.heads().is_empty(), "{:?}", elsewhere.heads());
    assert_eq!(redirecting.heads().len(), 2, "a redirect was retried");
}

#[test]
fn a_path_parameter_too_long_for_a_request_is_a_usage_error_before_any_attempt() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let huge = "a".repeat(100_000);
    let run = sandbox.run(&["org", "api-key", "delete", "--prefix", &huge, "-v"]);
    run.assert_code(2);
    assert!(!run.stderr.contains("> DELETE"), "{}", run.stderr);
    assert!(request_lines(&emulator).is_empty());

    // The same from a value the server gave: a team ID far too long for a URL.
    let huge_id = "t".repeat(100_000);
    emulator.inject_fault(json!({"method": "GET", "path": "/v1/teams", "status": 200,
        "body": {"teams": [{"id": huge_id, "name": "Huge", "default": false,
            "created_at": "2026-01-01T00:00:00Z"}]}}));
    let run = sandbox.run(&[
        "org", "api-key", "create", "--type", "personal", "--team", "Huge", "-v",
    ]);
    run.assert_code(2);
    let error = run
        .stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_default();
    assert!(
        error.starts_with("error: could not create API key: cannot send a request to a URL of "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("> POST"), "{}", run.stderr);
    assert_eq!(request_lines(&emulator), ["GET /v1/teams"]);
}

#[test]
fn a_line_break_in_the_api_key_is_a_credential_error_before_any_attempt() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("BASETEN_API_KEY", "abcdefgh.first-half\nsecond-half");
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains(
            "error: invalid API key from BASETEN_API_KEY: it holds a line break or another \
             control character\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("first-half"), "{}", run.stderr);
    assert!(!run.stderr.contains("second-half"), "{}", run.stderr);
    assert!(!run.stderr.contains("> GET"), "{}", run.stderr);
    assert!(request_lines(&emulator).is_empty());
}

#[cfg(unix)]
#[test]
fn environment_values_that_are_not_utf8_are_errors_naming_the_variable() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    let emulator = emulator();
    let not_utf8 = || OsString::from_vec(vec![b'1', 0xff]);
    for name in [
        "BASETEN_API_KEY",
        "BASETEN_HTTP_TIMEOUT",
        "BASETEN_MANAGEMENT_API_URL_OVERRIDE",
    ] {
        let mut sandbox = Sandbox::for_emulator(&emulator);
        sandbox.set(name, not_utf8());
        let run = sandbox.run(&["org", "api-key", "list"]);
        run.assert_code(2);
        assert_eq!(
            run.stderr,
            format!(
                "error: invalid {name}: the value is not valid UTF-8\nhint: set {name} to text, \
                 or unset it\n"
            )
        );
    }
    assert!(request_lines(&emulator).is_empty());

    // Switches and paths take any bytes: they do not stop a command.
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("NO_COLOR", not_utf8());
    sandbox.set("CLICOLOR_FORCE", not_utf8());
    sandbox.set("BASETEN_NO_KEYRING", not_utf8());
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
}

#[test]
fn an_http_timeout_outside_a_millisecond_to_a_day_is_a_usage_error() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    for value in ["0.0000001", "100000"] {
        sandbox.set("BASETEN_HTTP_TIMEOUT", value);
        let run = sandbox.run(&["org", "api-key", "list"]);
        run.assert_code(2);
        assert_eq!(
            run.stderr,
            format!(
                "error: invalid BASETEN_HTTP_TIMEOUT `{value}`: expected a number of seconds \
                 from 0.001 to 86400 (a day)\n"
            )
        );
    }
    assert!(request_lines(&emulator).is_empty());
}

/// A server whose answer to anything is a 200 with a body of `total` bytes, announced or not;
/// it counts what it managed to write before the client hung up.
fn endless_body(announce: bool, total: u64) -> (LocalServer, Arc<AtomicU64>, Arc<AtomicBool>) {
    let written = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let server = {
        let written = Arc::clone(&written);
        let finished = Arc::clone(&finished);
        LocalServer::start(move |_, mut stream| {
            let head = if announce {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \
                     {total}\r\n\r\n"
                )
            } else {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                    .to_owned()
            };
            let chunk = vec![b' '; 64 * 1024];
            if stream.write_all(head.as_bytes()).is_ok() {
                while written.load(Ordering::Relaxed) < total {
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                    written.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            }
            let _ = stream.shutdown(Shutdown::Both);
            finished.store(true, Ordering::Relaxed);
        })
    };
    (server, written, finished)
}

#[test]
fn a_body_over_the_limit_stops_the_read_and_exits_1_naming_the_limit() {
    const TOTAL: u64 = 512 * 1024 * 1024;
    for announce in [false, true] {
        let (server, written, finished) = endless_body(announce, TOTAL);
        let mut sandbox = sandbox_for(&server);
        sandbox.set("BASETEN_MAX_RESPONSE_BYTES", "1000000");
        let run = sandbox.run(&["org", "api-key", "list"]);
        run.assert_code(1);
        assert_eq!(
            run.stderr,
            format!(
                "error: could not list API keys: GET {}/v1/api_keys: the response is larger than \
                 the limit of 1000000 bytes; reading stopped there\nhint: if an answer this large \
                 is expected, raise BASETEN_MAX_RESPONSE_BYTES (bytes)\n",
                server.url()
            )
        );
        assert_eq!(server.heads().len(), 1, "the request was retried");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !finished.load(Ordering::Relaxed) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Socket buffers hold a few megabytes at most; the rest was never read.
        let sent = written.load(Ordering::Relaxed);
        assert!(
            sent < 64 * 1024 * 1024,
            "the client read {sent} bytes past a limit of 1000000"
        );
    }
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    let emulator = emulator();
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(4));
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 429,
        "retry_after": date}),
    );
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-v"]);
    run.assert_code(0);
    let delay: u64 = run
        .stderr
        .lines()
        .find_map(|line| {
            line.strip_prefix("* retrying in ")?
                .strip_suffix(" ms")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no retry logged:\n{}", run.stderr));
    // The date has whole seconds and a little time passed: between 2 and 4 s, never the
    // backoff's few hundred milliseconds.
    assert!((2000..=4000).contains(&delay), "{delay} ms\n{}", run.stderr);
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"; 2]);
}

#[test]
fn a_retry_after_beyond_the_cap_is_reported_as_such() {
    let emulator = emulator();
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 429,
        "retry_after": 120, "body": {"message": "slow down"}}),
    );
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list"]);
    run.assert_code(5);
    assert_eq!(
        run.stderr,
        "error: could not list API keys: HTTP 429: slow down; the server asked to wait 120 s \
         before trying again, more than the 20 s `baseten` waits\nhint: try again in 120 s\n"
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"]);
}
