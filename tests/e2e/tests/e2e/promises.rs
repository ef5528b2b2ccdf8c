//! The README's promises that no other test holds to: timeouts and their defaults, which
//! requests are retried and which never are, the `Retry-After` cap at its edge, Ctrl-C outside a
//! request, `-vv` bodies, the environment variables, the plugin search order and trust, and the
//! "Decisions" list. Each test drives the built binary and checks what a user or a server would
//! see; none measures a duration except as an upper bound.

use std::fs;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
#[cfg(target_os = "linux")]
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
#[cfg(target_os = "linux")]
use std::process::Stdio;
use std::process::{Child, Command};
#[cfg(target_os = "linux")]
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(target_os = "linux")]
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baseten_e2e::{
    BackgroundEmulator, LocalServer, Run, Sandbox, baseten_bin, closed_port, emulator, finish,
    plugin_file_name, plugin_library, programs_installed, run_command,
};
use serde_json::{Value, json};

use crate::support::{prefix_of, request_lines, spawn};

/// A key the local servers never check.
const SOME_KEY: &str = "abcdefgh.secretsecretsecretsecretsecretsecret";

/// How long a test waits for something it expects before failing.
const PATIENCE: Duration = Duration::from_secs(30);

/// Holds a connection open without a word until the client gives up on it.
fn never_answer(_head: &str, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(None);
    let _ = std::io::copy(&mut stream, &mut std::io::sink());
}

/// Writes `answer` and closes the connection.
fn answer_with(mut stream: TcpStream, answer: &str) {
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// A 200 answer with a JSON body.
fn ok_json(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A sandbox whose requests go to `base` with a key nobody checks.
fn sandbox_for_base(base: &str) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", SOME_KEY);
    sandbox.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", base);
    sandbox
}

/// The `error:` line of a run.
fn error_line(run: &Run) -> String {
    run.stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in:\n{}", run.stderr))
        .to_owned()
}

/// How many attempts the `-v` log shows for `method`.
fn attempts_logged(run: &Run, method: &str) -> usize {
    run.stderr.matches(&format!("> {method} ")).count()
}

/// Creates a personal key through the emulator and returns its prefix.
fn create_key(sandbox: &Sandbox) -> String {
    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
    run.assert_code(0);
    prefix_of(run.stdout.trim()).to_owned()
}

fn key_exists(emulator: &BackgroundEmulator, prefix: &str) -> bool {
    emulator.keys().iter().any(|key| key["prefix"] == prefix)
}

// ---------------------------------------------------------------------------------------------
// Timeouts

/// With no `BASETEN_HTTP_TIMEOUT`, a request may take 60 s in all: a server that never answers a
/// create ends it with the 60 s limit named (a create is not sent twice). Were no limit applied,
/// the command would hang until the run's deadline and the test would fail.
#[test]
fn without_http_timeout_a_request_gives_up_after_60_seconds() {
    let server = LocalServer::start(never_answer);
    let sandbox = sandbox_for_base(&server.url());
    let started = Instant::now();
    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
    let elapsed = started.elapsed();
    run.assert_code(7);
    assert!(
        error_line(&run).contains(&format!(
            "POST {}/v1/api_keys timed out after 60 s",
            server.url()
        )),
        "{}",
        run.stderr
    );
    assert!(elapsed < Duration::from_secs(110), "{elapsed:?}");
    assert_eq!(server.heads().len(), 1, "a create was sent again");
}

/// A port whose listener never completes a connection: its accept queue is full, so new
/// connections are neither accepted nor refused (the kernel drops their SYN). The returned
/// values keep it so until dropped.
#[cfg(target_os = "linux")]
fn port_that_never_connects() -> (TcpListener, Vec<TcpStream>, SocketAddr) {
    use std::os::fd::AsRawFd;
    unsafe extern "C" {
        fn listen(fd: i32, backlog: i32) -> i32;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    // SAFETY: listen(2) on a socket this test owns; it only changes the queue's length.
    let lowered = unsafe { listen(listener.as_raw_fd(), 0) };
    assert_eq!(lowered, 0, "listen(fd, 0) failed");
    let address = listener.local_addr().expect("an address");
    let mut held = Vec::new();
    loop {
        match TcpStream::connect_timeout(&address, Duration::from_millis(300)) {
            Ok(stream) => held.push(stream),
            Err(_) => break,
        }
        assert!(held.len() < 64, "the accept queue never filled up");
    }
    (listener, held, address)
}

/// Connecting may take 10 s, not the whole request's limit: a server that never completes the
/// connection is given up on after 10 s per attempt, and, nothing having been sent, a `GET` is
/// tried three times.
#[cfg(target_os = "linux")]
#[test]
fn connecting_is_given_up_on_after_10_seconds_and_retried() {
    let (_listener, _held, address) = port_that_never_connects();
    let base = format!("http://{address}");
    let mut sandbox = sandbox_for_base(&base);
    sandbox.set("BASETEN_HTTP_TIMEOUT", "300");
    let started = Instant::now();
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    let elapsed = started.elapsed();
    run.assert_code(7);
    assert_eq!(
        error_line(&run),
        format!("error: could not list API keys: could not connect to {base} within 10 s")
    );
    assert_eq!(attempts_logged(&run, "GET"), 3, "{}", run.stderr);
    // Three attempts of 10 s and two short pauses, far less than the 300 s request limit.
    assert!(elapsed < Duration::from_secs(100), "{elapsed:?}");
}

// ---------------------------------------------------------------------------------------------
// Retries

#[test]
fn a_get_is_retried_on_504() {
    let emulator = emulator();
    emulator
        .inject_fault(json!({"method": "GET", "path": "/v1/api_keys", "status": 504, "times": 2}));
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"; 3]);
}

/// The first attempt gets no answer within the limit; the second is answered.
#[test]
fn a_get_is_retried_after_a_timeout() {
    let attempts = AtomicUsize::new(0);
    let server = LocalServer::start(move |head, stream| {
        if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
            never_answer(head, stream);
        } else {
            answer_with(stream, &ok_json(r#"{"keys":[]}"#));
        }
    });
    let mut sandbox = sandbox_for_base(&server.url());
    sandbox.set("BASETEN_HTTP_TIMEOUT", "2");
    let run = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json(), json!({"keys": []}));
    let heads = server.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(
        heads
            .iter()
            .all(|head| head.starts_with("GET /v1/api_keys ")),
        "{heads:?}"
    );
}

#[test]
fn a_get_is_retried_on_a_refused_connection() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let run = sandbox_for_base(&base).run(&["org", "api-key", "list", "-v"]);
    run.assert_code(7);
    assert_eq!(attempts_logged(&run, "GET"), 3, "{}", run.stderr);
    assert_eq!(
        error_line(&run),
        format!("error: could not list API keys: could not connect to {base}: connection refused")
    );
}

#[test]
fn a_delete_is_retried_on_429() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let prefix = create_key(&sandbox);
    emulator.reset();
    emulator.inject_fault(json!({"method": "DELETE", "status": 429, "retry_after": 0}));
    let run = sandbox.run(&["org", "api-key", "delete", "--prefix", &prefix]);
    run.assert_code(0);
    assert_eq!(
        request_lines(&emulator),
        vec![format!("DELETE /v1/api_keys/{prefix}"); 2]
    );
    assert!(!key_exists(&emulator, &prefix));
}

#[test]
fn a_delete_is_retried_on_a_refused_connection() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let run =
        sandbox_for_base(&base).run(&["org", "api-key", "delete", "--prefix", "abcd1234", "-v"]);
    run.assert_code(7);
    assert_eq!(attempts_logged(&run, "DELETE"), 3, "{}", run.stderr);
    // Never sent: nothing may have been deleted.
    assert!(
        !run.stderr.contains("may have been deleted"),
        "{}",
        run.stderr
    );
}

/// Once sent, a delete is never sent again: not when it times out, not on a 5xx.
#[test]
fn a_delete_is_not_retried_after_a_timeout_or_a_server_error() {
    let server = LocalServer::start(never_answer);
    let mut sandbox = sandbox_for_base(&server.url());
    sandbox.set("BASETEN_HTTP_TIMEOUT", "0.5");
    let run = sandbox.run(&["org", "api-key", "delete", "--prefix", "abcd1234"]);
    run.assert_code(7);
    assert!(
        error_line(&run).ends_with("; the key may have been deleted"),
        "{}",
        run.stderr
    );
    assert_eq!(server.heads().len(), 1, "{:?}", server.heads());

    for status in [500, 502, 503, 504] {
        let emulator = emulator();
        let sandbox = Sandbox::for_emulator(&emulator);
        let prefix = create_key(&sandbox);
        emulator.reset();
        emulator.inject_fault(json!({"method": "DELETE", "status": status, "times": 3}));
        let run = sandbox.run(&["org", "api-key", "delete", "--prefix", &prefix]);
        run.assert_code(6);
        assert_eq!(
            request_lines(&emulator),
            [format!("DELETE /v1/api_keys/{prefix}")],
            "HTTP {status}"
        );
    }
}

/// Without `Retry-After`, the pauses between attempts are 250 ms then 500 ms, each ±50 %, as the
/// `-v` log says before each wait.
#[test]
fn the_backoff_is_250_then_500_ms_with_jitter() {
    let emulator = emulator();
    for _ in 0..3 {
        emulator.reset();
        emulator.inject_fault(
            json!({"method": "GET", "path": "/v1/api_keys", "status": 503, "times": 2}),
        );
        let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-v"]);
        run.assert_code(0);
        let pauses: Vec<u64> = run
            .stderr
            .lines()
            .filter_map(|line| {
                line.strip_prefix("* retrying in ")?
                    .strip_suffix(" ms")?
                    .parse()
                    .ok()
            })
            .collect();
        assert_eq!(pauses.len(), 2, "{}", run.stderr);
        assert!((125..=375).contains(&pauses[0]), "{pauses:?}");
        assert!((250..=750).contains(&pauses[1]), "{pauses:?}");
        assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"; 3]);
    }
}

/// `Retry-After: 20` is waited for; 21 is more than the tool waits, and it says so at once.
#[test]
fn retry_after_is_honoured_up_to_20_seconds_and_not_beyond() {
    let emulator = emulator();
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 429, "retry_after": 20}),
    );
    let started = Instant::now();
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-v"]);
    let elapsed = started.elapsed();
    run.assert_code(0);
    assert!(
        run.stderr.contains("* retrying in 20000 ms\n"),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"; 2]);
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");

    let emulator = baseten_e2e::emulator();
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 429, "retry_after": 21,
        "body": {"message": "slow down"}}),
    );
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-v"]);
    run.assert_code(5);
    assert!(!run.stderr.contains("* retrying in"), "{}", run.stderr);
    assert_eq!(
        error_line(&run),
        "error: could not list API keys: HTTP 429: slow down; the server asked to wait 21 s \
         before trying again, more than the 20 s `baseten` waits"
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"]);
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C outside a request

/// Whether `child` has its own `SIGINT` handler in place (Linux: `SigCgt` in its status).
#[cfg(target_os = "linux")]
fn catches_sigint(child: &Child) -> bool {
    let status = fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << 1) != 0)
}

/// Sends `SIGINT` to the process this test started, by its id.
fn interrupt(child: &Child) {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -INT failed");
}

/// Waits until `done` holds, failing the test after [`PATIENCE`].
#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The names in `folder` (none if it does not exist), sorted.
#[cfg(target_os = "linux")]
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn login_args(emulator: &BackgroundEmulator, profile: &str) -> Vec<String> {
    [
        "auth",
        "login",
        "--with-api-key",
        "--profile",
        profile,
        "--remote-url",
        &emulator.url(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Ctrl-C while `auth login` waits for the key on stdin: `Canceled.`, exit 130, no file.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_at_the_login_prompt_writes_nothing() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let args = login_args(&emulator, "ci");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = spawn(&sandbox, &args);
    wait_for("the SIGINT handler", || catches_sigint(&child));
    // stdin stays open and empty: the key is being waited for.
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let run = finish(child, "login interrupted at its prompt");
    run.assert_code(130);
    assert_eq!(run.stderr, "Canceled.\n");
    assert_eq!(run.stdout, "");
    assert!(request_lines(&emulator).is_empty());
    assert_eq!(names_in(&sandbox.config_dir()), Vec::<String>::new());
}

/// A `SIGINT` ignored when `baseten` started (`trap '' INT`, `nohup`) stays ignored: the login
/// goes on and completes once the key arrives.
#[cfg(target_os = "linux")]
#[test]
fn an_interrupt_ignored_at_start_stays_ignored() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let args = login_args(&emulator, "ci");
    let script = format!("trap '' INT; exec '{}' \"$@\"", baseten_bin().display());
    let mut command = sandbox.command(Path::new("/bin/sh"));
    command
        .args(["-c", &script, "sh"])
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("sh starts");
    // After `exec`, the process is `baseten`, under the same id.
    wait_for("baseten to replace the shell", || {
        fs::read_link(format!("/proc/{}/exe", child.id())).is_ok_and(|exe| exe == baseten_bin())
    });
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("waits").is_none(),
        "the ignored SIGINT ended baseten"
    );
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{}\n", emulator.api_key()).as_bytes())
        .expect("writes the key");
    let run = finish(child, "login with SIGINT ignored");
    run.assert_code(0);
    assert!(!run.stderr.contains("Canceled."), "{}", run.stderr);
    assert!(sandbox.config_dir().join("auth.json").is_file());
}

/// Ctrl-C while `auth login` waits for another process's lock on `auth.json`: the file there
/// stays byte for byte, and no temporary file is left beside it.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_while_login_waits_to_write_leaves_auth_json_as_it_was() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let args = login_args(&emulator, "first");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox
        .run_with_stdin(&args, &format!("{}\n", emulator.api_key()))
        .assert_code(0);
    let auth_file = sandbox.config_dir().join("auth.json");
    let before = fs::read(&auth_file).expect("auth.json exists");
    let lock = fs::File::options()
        .read(true)
        .write(true)
        .open(sandbox.config_dir().join("auth.json.lock"))
        .expect("opens the lock file");
    lock.lock().expect("takes the lock");
    emulator.reset();

    let args = login_args(&emulator, "second");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = spawn(&sandbox, &args);
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{}\n", emulator.api_key()).as_bytes())
        .expect("writes the key");
    // The key was checked; what is left is the write, which waits for the lock (up to 10 s).
    wait_for("the key check", || !request_lines(&emulator).is_empty());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().expect("waits").is_none(),
        "login did not wait for the lock"
    );
    interrupt(&child);
    let run = finish(child, "login interrupted while waiting for the lock");
    drop(lock);
    run.assert_code(130);
    assert!(run.stderr.ends_with("Canceled.\n"), "{}", run.stderr);
    assert_eq!(fs::read(&auth_file).expect("auth.json exists"), before);
    assert_eq!(
        names_in(&sandbox.config_dir()),
        ["auth.json", "auth.json.lock"]
    );
}

/// Ctrl-C while `plugin install` copies a large plugin into the user folder: the temporary copy
/// is removed and no plugin file, whole or half, is left there.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_during_plugin_install_leaves_no_half_copy() {
    let sandbox = Sandbox::new();
    let source_folder = tempfile::tempdir().expect("a temp folder");
    let source = source_folder.path().join(plugin_file_name("big"));
    fs::copy(plugin_library("org_team"), &source).expect("copies the plugin");
    // Bytes after the end of a shared library are never read by the loader: a valid plugin
    // whose copy takes long enough to be interrupted.
    let file = fs::File::options()
        .write(true)
        .open(&source)
        .expect("opens the copy");
    let length = file.metadata().expect("metadata").len();
    file.set_len(length + 512 * 1024 * 1024)
        .expect("extends the copy");
    drop(file);
    let user_folder = sandbox.home().join(".local/share/baseten/plugins");

    let source_text = source.display().to_string();
    let mut child = spawn(&sandbox, &["plugin", "install", "--force", &source_text]);
    wait_for("the temporary copy", || {
        let exited = child.try_wait().expect("waits");
        assert!(
            exited.is_none(),
            "install ended before its copy was seen: {exited:?}"
        );
        names_in(&user_folder)
            .iter()
            .any(|name| name.starts_with('.') && name.ends_with(".tmp"))
    });
    interrupt(&child);
    let run = finish(child, "plugin install interrupted");
    run.assert_code(130);
    assert!(run.stderr.ends_with("Canceled.\n"), "{}", run.stderr);
    assert_eq!(names_in(&user_folder), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// -vv

/// `-vv` adds headers and both bodies, the request's and the answer's, with the new key and the
/// credential redacted; `-v` shows neither body.
#[test]
fn very_verbose_logs_both_bodies_with_secrets_redacted() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&[
        "org", "api-key", "create", "--type", "personal", "--name", "laptop", "-vv",
    ]);
    run.assert_code(0);
    let new_key = run.stdout.trim().to_owned();
    let secret = new_key
        .split_once('.')
        .map(|(_, secret)| secret)
        .unwrap_or_default();
    assert!(secret.len() >= 16, "{new_key}");
    let request_body = run
        .stderr
        .lines()
        .find(|line| line.starts_with("> {"))
        .unwrap_or_else(|| panic!("no request body line:\n{}", run.stderr));
    assert!(
        request_body.contains(r#""name":"laptop""#),
        "{request_body}"
    );
    assert!(
        request_body.contains(r#""type":"PERSONAL""#),
        "{request_body}"
    );
    let response_body = run
        .stderr
        .lines()
        .find(|line| line.starts_with("< {"))
        .unwrap_or_else(|| panic!("no response body line:\n{}", run.stderr));
    assert!(
        response_body.contains(r#""api_key":"<redacted>""#),
        "{response_body}"
    );
    assert!(
        run.stderr.contains("> authorization: Api-Key <redacted>")
            || run.stderr.contains("> authorization: <redacted>"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(secret), "{}", run.stderr);
    assert!(!run.stderr.contains(new_key.as_str()), "{}", run.stderr);
    let credential_secret = emulator
        .api_key()
        .split_once('.')
        .map(|(_, secret)| secret)
        .unwrap_or_default();
    assert!(!run.stderr.contains(credential_secret), "{}", run.stderr);

    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal", "-v"]);
    run.assert_code(0);
    assert!(
        !run.stderr
            .lines()
            .any(|line| line.starts_with("> {") || line.starts_with("< {")),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Environment

/// `BASETEN_REMOTE_URL` is where `BASETEN_API_KEY`'s requests go.
#[test]
fn remote_url_sends_the_environment_key_to_that_remote() {
    let emulator = emulator();
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", emulator.api_key());
    sandbox.set("BASETEN_REMOTE_URL", emulator.url());
    let run = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"]);
    let run = sandbox.run(&["auth", "status"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains(&format!("remote:     {}", emulator.url())),
        "{}",
        run.stdout
    );
}

/// Without `XDG_CONFIG_HOME`, profiles live in `~/.config/baseten/auth.json`; with it, there;
/// `BASETEN_CONFIG_DIR` wins over both.
#[test]
fn the_config_folder_falls_back_to_home_dot_config() {
    let emulator = emulator();
    let mut sandbox = Sandbox::new();
    sandbox.unset("XDG_CONFIG_HOME");
    let args = login_args(&emulator, "home");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox
        .run_with_stdin(&args, &format!("{}\n", emulator.api_key()))
        .assert_code(0);
    let in_home = sandbox.home().join(".config/baseten/auth.json");
    let document: Value =
        serde_json::from_slice(&fs::read(&in_home).expect("~/.config/baseten/auth.json exists"))
            .expect("JSON");
    assert_eq!(document["current"], "home");

    let elsewhere = tempfile::tempdir().expect("a temp folder");
    sandbox.set("XDG_CONFIG_HOME", elsewhere.path());
    let run = sandbox.run(&["auth", "list", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["profiles"], json!([]), "{}", run.stdout);
    let args = login_args(&emulator, "xdg");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox
        .run_with_stdin(&args, &format!("{}\n", emulator.api_key()))
        .assert_code(0);
    assert!(elsewhere.path().join("baseten/auth.json").is_file());

    sandbox.set("BASETEN_CONFIG_DIR", sandbox.home().join(".config/baseten"));
    let run = sandbox.run(&["auth", "status"]);
    run.assert_code(0);
    assert!(run.stdout.contains("profile home"), "{}", run.stdout);
}

/// `CLICOLOR_FORCE=1` colours output that goes to a pipe (the table's header on stdout, `error`
/// on stderr); `NO_COLOR` turns colour off even then, and on a terminal.
#[test]
fn clicolor_force_and_no_color_decide_colour_on_real_output() {
    const ESCAPE: char = '\u{1b}';
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    let table = |sandbox: &Sandbox| {
        let run = sandbox.run(&["org", "api-key", "list"]);
        run.assert_code(0);
        run.stdout
    };
    let error = |sandbox: &Sandbox| {
        let run = sandbox.run(&["org", "api-key", "delete", "--prefix", "zzzz9999"]);
        run.assert_code(4);
        run.stderr
    };

    assert!(!table(&sandbox).contains(ESCAPE));
    assert!(!error(&sandbox).contains(ESCAPE));

    sandbox.set("CLICOLOR_FORCE", "1");
    assert!(
        table(&sandbox).starts_with("\u{1b}[1mNAME"),
        "{:?}",
        table(&sandbox)
    );
    assert!(
        error(&sandbox).starts_with("\u{1b}[1;31merror\u{1b}[0m: "),
        "{:?}",
        error(&sandbox)
    );

    sandbox.set("NO_COLOR", "1");
    assert!(!table(&sandbox).contains(ESCAPE));
    assert!(!error(&sandbox).contains(ESCAPE));

    if programs_installed(&["script"], "colour at a terminal") {
        let on_terminal = |sandbox: &Sandbox| {
            let command_line = format!("{} org api-key list", baseten_bin().display());
            let mut command = sandbox.command(Path::new("script"));
            command.args(["-qec", &command_line, "/dev/null"]);
            let run = run_command(command, "");
            run.assert_code(0);
            run.stdout
        };
        sandbox.unset("CLICOLOR_FORCE");
        assert!(!on_terminal(&sandbox).contains(ESCAPE));
        sandbox.unset("NO_COLOR");
        assert!(on_terminal(&sandbox).contains("\u{1b}[1mNAME"));
    }
}

// ---------------------------------------------------------------------------------------------
// The keyring

/// A D-Bus address where a socket counts the connections made to it and never answers.
#[cfg(target_os = "linux")]
struct RecordingBus {
    _folder: tempfile::TempDir,
    address: String,
    connections: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
}

#[cfg(target_os = "linux")]
impl RecordingBus {
    fn start() -> Self {
        use std::os::unix::net::UnixListener;
        let folder = tempfile::tempdir().expect("a temp folder");
        let socket = folder.path().join("bus");
        let listener = UnixListener::bind(&socket).expect("binds");
        listener.set_nonblocking(true).expect("non-blocking");
        let connections = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let connections = Arc::clone(&connections);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut held = Vec::new();
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(300)
                {
                    if let Ok((stream, _)) = listener.accept() {
                        *connections.lock().expect("the lock") += 1;
                        held.push(stream);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
        }
        Self {
            address: format!("unix:path={}", socket.display()),
            _folder: folder,
            connections,
            stop,
        }
    }

    fn connections(&self) -> usize {
        *self.connections.lock().expect("the lock")
    }
}

#[cfg(target_os = "linux")]
impl Drop for RecordingBus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `auth login` of `profile` against `emulator`, the key on stdin.
#[cfg(unix)]
fn login(sandbox: &Sandbox, emulator: &BackgroundEmulator, profile: &str, extra: &[&str]) -> Run {
    let mut args = login_args(emulator, profile);
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox.run_with_stdin(&args, &format!("{}\n", emulator.api_key()))
}

/// `BASETEN_NO_KEYRING=1` never even connects to the session bus, through a whole profile's
/// life; `--insecure-storage` does not either. The same login with the keyring on does connect,
/// which shows the bus would have seen it.
#[cfg(target_os = "linux")]
#[test]
fn no_keyring_and_insecure_storage_never_connect_to_the_keyring() {
    let emulator = emulator();
    let bus = RecordingBus::start();
    let mut sandbox = Sandbox::new();
    sandbox.set("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    sandbox.set("BASETEN_NO_KEYRING", "1");
    login(&sandbox, &emulator, "ci", &[]).assert_code(0);
    sandbox.run(&["auth", "status"]).assert_code(0);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    sandbox.run(&["auth", "logout"]).assert_code(0);
    assert_eq!(
        bus.connections(),
        0,
        "BASETEN_NO_KEYRING=1 touched the keyring"
    );

    sandbox.unset("BASETEN_NO_KEYRING");
    let run = login(&sandbox, &emulator, "plain", &["--insecure-storage"]);
    run.assert_code(0);
    assert_eq!(
        run.stderr,
        format!(
            "note: storing the API key in plain text in {}\n",
            sandbox.config_dir().join("auth.json").display()
        )
    );
    assert_eq!(
        bus.connections(),
        0,
        "--insecure-storage touched the keyring"
    );

    // Every value that means "off" for the switch leaves the keyring in use.
    for value in ["0", "false", "no", "off", ""] {
        sandbox.set("BASETEN_NO_KEYRING", value);
        let before = bus.connections();
        let run = login(&sandbox, &emulator, "keyring", &[]);
        run.assert_code(0);
        assert!(
            bus.connections() > before,
            "BASETEN_NO_KEYRING={value:?} kept the keyring away"
        );
    }
}

/// `--insecure-storage` keeps the key in `auth.json`, a file only its owner can read.
#[cfg(unix)]
#[test]
fn insecure_storage_keeps_the_key_in_a_private_auth_json() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator();
    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    sandbox.set(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/baseten-e2e/bus",
    );
    login(&sandbox, &emulator, "ci", &["--insecure-storage"]).assert_code(0);
    let auth_file = sandbox.config_dir().join("auth.json");
    let mode = fs::metadata(&auth_file)
        .expect("auth.json exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let document: Value =
        serde_json::from_slice(&fs::read(&auth_file).expect("reads")).expect("JSON");
    assert_eq!(document["profiles"]["ci"]["api_key"], emulator.api_key());
    let run = sandbox.run(&["auth", "status"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("stored in:  auth.json (plain text)\n"),
        "{}",
        run.stdout
    );
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
}

/// With a real Secret Service: `BASETEN_NO_KEYRING=1` and `--insecure-storage` put nothing in
/// it (once `auth.json` no longer holds the keys, the keyring has none to give), while a plain
/// login does (the check can tell).
#[cfg(target_os = "linux")]
#[test]
fn with_a_secret_service_no_keyring_and_insecure_storage_leave_it_empty() {
    if !programs_installed(
        &["dbus-run-session", "gnome-keyring-daemon"],
        "BASETEN_NO_KEYRING against a real keyring",
    ) {
        return;
    }
    let emulator = emulator();
    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    let home = sandbox.home().to_path_buf();
    fs::write(home.join("key.txt"), format!("{}\n", emulator.api_key())).expect("writes");
    let profile = json!({"remote_url": emulator.url(), "auth_type": "api_key"});
    fs::write(
        home.join("without-keys.json"),
        json!({"version": 1, "profiles": {
            "off": profile, "plain": profile, "on": profile}})
        .to_string(),
    )
    .expect("writes");
    let script = format!(
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90\n\
         b='{baseten}'\n\
         step() {{ name=$1; shift; \"$@\" >\"$name.out\" 2>\"$name.err\"; echo $? >\"$name.code\"; }}\n\
         step off env BASETEN_NO_KEYRING=1 \"$b\" auth login --with-api-key --profile off --remote-url {url} <key.txt\n\
         step plain \"$b\" auth login --with-api-key --profile plain --remote-url {url} --insecure-storage <key.txt\n\
         step on \"$b\" auth login --with-api-key --profile on --remote-url {url} <key.txt\n\
         cp -p .config/baseten/auth.json after-login.json\n\
         cp without-keys.json .config/baseten/auth.json\n\
         step status-off \"$b\" auth status --profile off\n\
         step status-plain \"$b\" auth status --profile plain\n\
         step status-on \"$b\" auth status --profile on\n",
        baseten = baseten_bin().display(),
        url = emulator.url(),
    );
    let mut command = sandbox.command(Path::new("dbus-run-session"));
    command.args(["--", "sh", "-c", &script]);
    let run = run_command(command, "");
    assert_eq!(run.code, 0, "{run:?}");
    let read = |name: &str| fs::read_to_string(home.join(name)).unwrap_or_default();
    for name in ["off", "plain", "on"] {
        assert_eq!(
            read(&format!("{name}.code")).trim(),
            "0",
            "{}",
            read(&format!("{name}.err"))
        );
    }
    let stored: Value = serde_json::from_str(&read("after-login.json")).expect("JSON");
    assert_eq!(stored["profiles"]["off"]["api_key"], emulator.api_key());
    assert_eq!(stored["profiles"]["plain"]["api_key"], emulator.api_key());
    assert_eq!(stored["profiles"]["on"].get("api_key"), None, "{stored}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(home.join("after-login.json"))
            .expect("copied")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    assert_eq!(
        read("status-on.code").trim(),
        "0",
        "{}",
        read("status-on.err")
    );
    assert!(read("status-on.out").contains("stored in:  system keyring\n"));
    for name in ["off", "plain"] {
        assert_eq!(
            read(&format!("status-{name}.code")).trim(),
            "3",
            "the keyring holds a key for `{name}`: {}",
            read(&format!("status-{name}.out"))
        );
        assert!(
            read(&format!("status-{name}.err"))
                .starts_with(&format!("error: profile `{name}` has no stored API key\n")),
            "{}",
            read(&format!("status-{name}.err"))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Plugins

/// The file the `-v` log says `org-api-key` was run from.
fn org_api_key_used(sandbox: &Sandbox) -> PathBuf {
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    run.assert_code(0);
    run.stderr
        .lines()
        .find_map(|line| line.strip_prefix("* plugin `org-api-key` (library) from "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no plugin line in:\n{}", run.stderr))
}

/// `BASETEN_PLUGIN_PATH` folders are searched in the order given, all before the user folder,
/// which comes before the folders beside the executable.
#[test]
fn plugin_path_folders_are_searched_first_in_their_order() {
    let emulator = emulator();
    let library = plugin_library("org_api_key");
    let first = baseten_e2e::plugin_folder(&[(library.as_path(), "org-api-key")]);
    let second = baseten_e2e::plugin_folder(&[(library.as_path(), "org-api-key")]);
    let mut sandbox = Sandbox::for_emulator(&emulator);
    let user_folder = sandbox.home().join(".local/share/baseten/plugins");
    fs::create_dir_all(&user_folder).expect("creates the user folder");
    fs::copy(&library, user_folder.join(plugin_file_name("org-api-key"))).expect("copies");
    let file_in = |folder: &Path| folder.join(plugin_file_name("org-api-key"));

    let joined = |folders: &[&Path]| std::env::join_paths(folders).expect("folders without `:`");
    sandbox.set(
        "BASETEN_PLUGIN_PATH",
        joined(&[first.path(), second.path()]),
    );
    assert_eq!(org_api_key_used(&sandbox), file_in(first.path()));
    sandbox.set(
        "BASETEN_PLUGIN_PATH",
        joined(&[second.path(), first.path()]),
    );
    assert_eq!(org_api_key_used(&sandbox), file_in(second.path()));
    sandbox.set("BASETEN_PLUGIN_PATH", second.path());
    assert_eq!(org_api_key_used(&sandbox), file_in(second.path()));
    sandbox.unset("BASETEN_PLUGIN_PATH");
    assert_eq!(org_api_key_used(&sandbox), file_in(&user_folder));
}

/// A copy of the `baseten` binary in `folder/bin`, linked when the file system allows.
fn baseten_copy_in(folder: &Path) -> PathBuf {
    let bin = folder.join("bin");
    fs::create_dir_all(&bin).expect("creates bin");
    let copy = bin.join(baseten_bin().file_name().expect("a file name"));
    if fs::hard_link(baseten_bin(), &copy).is_err() {
        fs::copy(baseten_bin(), &copy).expect("copies baseten");
    }
    copy
}

/// Beside the executable, plugins are searched in `<exe dir>/plugins`, then
/// `<exe dir>/../lib/baseten/plugins`, then `<exe dir>`, with no variable set.
#[test]
fn plugins_beside_the_executable_are_found_in_their_order() {
    let emulator = emulator();
    let prefix = tempfile::tempdir().expect("a temp folder");
    let baseten = baseten_copy_in(prefix.path());
    let library = plugin_library("org_api_key");
    let folders = [
        prefix.path().join("bin/plugins"),
        prefix.path().join("lib/baseten/plugins"),
        prefix.path().join("bin"),
    ];
    for folder in &folders {
        fs::create_dir_all(folder).expect("creates the folder");
        fs::copy(&library, folder.join(plugin_file_name("org-api-key"))).expect("copies");
    }
    let sandbox = Sandbox::for_emulator(&emulator);
    let used = || {
        let mut command = sandbox.command(&baseten);
        command.args(["org", "api-key", "list", "-v"]);
        let run = run_command(command, "");
        run.assert_code(0);
        run.stderr
            .lines()
            .find_map(|line| line.strip_prefix("* plugin `org-api-key` (library) from "))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("no plugin line in:\n{}", run.stderr))
    };
    for folder in &folders {
        let file = folder.join(plugin_file_name("org-api-key"));
        assert_eq!(used(), file);
        fs::remove_file(&file).expect("removes the copy");
    }
    let mut command = sandbox.command(&baseten);
    command.args(["org", "api-key", "list"]);
    let run = run_command(command, "");
    run.assert_code(2);
}

/// A plugin file that group or others can write is not used: `plugin list` and `-v` say why,
/// and the next plugin claiming its commands runs them.
#[cfg(unix)]
#[test]
fn a_plugin_file_others_can_write_is_skipped_with_its_reason() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator();
    for mode in [0o666, 0o620, 0o602] {
        let folder =
            baseten_e2e::plugin_folder(&[(plugin_library("org_api_key").as_path(), "org-api-key")]);
        let file = folder.path().join(plugin_file_name("org-api-key"));
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).expect("chmod");
        let mut sandbox = Sandbox::for_emulator(&emulator);
        sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
        let reason = format!("`{}` is writable by group or others", file.display());

        let run = sandbox.run(&["plugin", "list", "-o", "json"]);
        run.assert_code(0);
        let listed = run.json()["plugins"]
            .as_array()
            .and_then(|plugins| {
                plugins
                    .iter()
                    .find(|plugin| plugin["path"] == file.display().to_string())
                    .cloned()
            })
            .unwrap_or_else(|| panic!("{mode:o}: not listed:\n{}", run.stdout));
        assert_eq!(listed["status"], "unsafe_permissions", "{mode:o}: {listed}");
        assert_eq!(listed["reason"], reason.as_str(), "{mode:o}: {listed}");

        let run = sandbox.run(&["org", "api-key", "list", "-v"]);
        run.assert_code(0);
        assert!(
            run.stderr.contains(&format!(
                "* skipped plugin `org-api-key` ({}): unsafe permissions: {reason}\n",
                file.display()
            )),
            "{mode:o}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!(
                "* plugin `org-api-key` (library) from {}\n",
                plugin_library("org_api_key").display()
            )),
            "{mode:o}: {}",
            run.stderr
        );
    }
}

/// A plugin that fails to load when its command runs is exit 8: here the manifest cache says
/// the file is a good plugin (as it was when cached), but the file no longer loads.
#[test]
fn a_plugin_that_fails_to_load_for_its_command_is_exit_8() {
    let folder = baseten_e2e::plugin_folder(&[(plugin_library("org_team").as_path(), "teams")]);
    let plugin = folder.path().join(plugin_file_name("teams"));
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    let cache_file = sandbox.home().join(".cache/baseten/plugins.json");
    let read_cache = || -> Value {
        serde_json::from_slice(&fs::read(&cache_file).expect("the cache exists")).expect("JSON")
    };
    sandbox.run(&["--help"]).assert_code(0);
    let key = plugin.display().to_string();
    let good = read_cache()["entries"][key.as_str()]["examined"].clone();
    assert!(good.get("manifest").is_some(), "{good}");

    // The file is replaced by one that is no library; the cache learns it, then is told
    // otherwise, as a file changed behind its stamp would leave it.
    fs::write(&plugin, b"not a library any more").expect("replaces the plugin");
    sandbox.run(&["--help"]).assert_code(0);
    let mut cache = read_cache();
    cache["entries"][key.as_str()]["examined"] = good;
    fs::write(&cache_file, cache.to_string()).expect("writes the cache");
    let warm = sandbox.run(&["--help", "-v"]);
    assert!(
        warm.stderr.contains("* plugin manifest cache: ") && warm.stderr.contains(", 0 loaded"),
        "{}",
        warm.stderr
    );

    let run = sandbox.run(&["org", "team", "list"]);
    run.assert_code(8);
    assert!(
        run.stderr
            .starts_with("error: could not load plugin `org-team`: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("hint: reinstall the plugin, or see `baseten plugin list`\n"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

// ---------------------------------------------------------------------------------------------
// Decisions

/// `Save this key now…` and `Deleted API key …` reach stderr in every output mode;
/// `No API keys found.` only in text mode.
#[test]
fn decision_stderr_messages_in_every_output_mode() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for mode in ["text", "json", "jsonl"] {
        let run = sandbox.run(&["org", "api-key", "create", "--type", "personal", "-o", mode]);
        run.assert_code(0);
        assert_eq!(
            run.stderr, "Save this key now. It will not be shown again.\n",
            "-o {mode}"
        );
    }
    for mode in ["text", "json", "jsonl", "none"] {
        let prefix = create_key(&sandbox);
        let run = sandbox.run(&["org", "api-key", "delete", "--prefix", &prefix, "-o", mode]);
        run.assert_code(0);
        assert_eq!(
            run.stderr,
            format!("Deleted API key {prefix}\n"),
            "-o {mode}"
        );
    }
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 200,
        "body": "{\"keys\":[]}", "times": 4}),
    );
    for (mode, stdout) in [
        ("text", ""),
        ("json", "{\n  \"keys\": []\n}\n"),
        ("jsonl", "{\"keys\":[]}\n"),
        ("none", ""),
    ] {
        let run = sandbox.run(&["org", "api-key", "list", "-o", mode]);
        run.assert_code(0);
        assert_eq!(run.stdout, stdout, "-o {mode}");
        let expected = if mode == "text" {
            "No API keys found.\n"
        } else {
            ""
        };
        assert_eq!(run.stderr, expected, "-o {mode}");
    }
}

/// Only `y` or `yes` deletes at the prompt; any other answer exits 1 with
/// `delete canceled: nothing was deleted` and keeps the key.
#[test]
fn decision_anything_but_yes_at_the_delete_prompt_cancels() {
    if !programs_installed(&["script"], "the delete prompt") {
        return;
    }
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let prefix = create_key(&sandbox);
    let on_terminal = |typed: &str| {
        let command_line = format!(
            "{} org api-key delete --prefix {prefix}",
            baseten_bin().display()
        );
        let mut command = sandbox.command(Path::new("script"));
        command.args(["-qec", &command_line, "/dev/null"]);
        run_command(command, typed)
    };
    for typed in ["n\n", "no\n", "\n", "yep\n", "y es\n", "sure\n"] {
        let run = on_terminal(typed);
        assert_eq!(run.code, 1, "{typed:?}: {run:?}");
        assert!(
            run.stdout.contains("delete canceled: nothing was deleted"),
            "{typed:?}: {}",
            run.stdout
        );
        assert!(key_exists(&emulator, &prefix), "{typed:?} deleted the key");
    }
    assert!(
        !request_lines(&emulator)
            .iter()
            .any(|line| line.starts_with("DELETE ")),
        "{:?}",
        request_lines(&emulator)
    );
    let run = on_terminal("yes\n");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!key_exists(&emulator, &prefix));
    // The letter case of the answer does not matter.
    let prefix = create_key(&sandbox);
    let run = {
        let command_line = format!(
            "{} org api-key delete --prefix {prefix}",
            baseten_bin().display()
        );
        let mut command = sandbox.command(Path::new("script"));
        command.args(["-qec", &command_line, "/dev/null"]);
        run_command(command, "Y\n")
    };
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!key_exists(&emulator, &prefix));
}

/// `delete --prefix` takes at most 8 letters or digits: `.`, `..`, 9 characters or a whole key
/// exit 2 before any request, the error giving the length and not the value.
#[test]
fn decision_delete_prefix_takes_only_what_a_prefix_can_be() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for value in [
        ".",
        "..",
        "abcd12345",
        "ab-cd",
        "ab/cd",
        "abcdefgh.abcdefghijklmnopqrst",
    ] {
        let run = sandbox.run(&["org", "api-key", "delete", "--prefix", value, "-v"]);
        run.assert_code(2);
        let error = error_line(&run);
        assert!(
            error.starts_with("error: invalid value for `--prefix`: "),
            "{value}: {}",
            run.stderr
        );
        assert!(
            error.contains(&format!("{} characters", value.chars().count())),
            "{value}: {error}"
        );
        if value.len() > 2 {
            assert!(!error.contains(value), "{value}: {error}");
        }
        assert!(!run.stderr.contains("> DELETE"), "{value}: {}", run.stderr);
    }
    assert!(request_lines(&emulator).is_empty());
    // Eight letters or digits are a prefix: the request is made (and finds nothing).
    sandbox
        .run(&["org", "api-key", "delete", "--prefix", "zzzz9999"])
        .assert_code(4);
}

/// `--help` at any level prints help on stdout and exits 0; stderr stays empty.
#[test]
fn decision_help_goes_to_stdout_with_exit_0() {
    let sandbox = Sandbox::new();
    for args in [
        vec!["--help"],
        vec!["org", "--help"],
        vec!["org", "api-key", "--help"],
        vec!["auth", "--help"],
    ] {
        let run = sandbox.run(&args);
        run.assert_code(0);
        assert!(
            run.stdout.contains("Usage: baseten"),
            "{args:?}: {}",
            run.stdout
        );
        assert_eq!(run.stderr, "", "{args:?}");
    }
}

/// A stray value of up to 24 characters is quoted in a usage error; a longer one (it could be a
/// key) is not, only its length.
#[test]
fn decision_a_usage_error_never_repeats_a_value_over_24_characters() {
    let sandbox = Sandbox::new();
    let short = "x".repeat(24);
    let run = sandbox.run(&["org", "api-key", "list", &short]);
    run.assert_code(2);
    assert!(run.stderr.contains(&format!("'{short}'")), "{}", run.stderr);
    for long in ["y".repeat(25), "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5".to_owned()] {
        let run = sandbox.run(&["org", "api-key", "list", &long]);
        run.assert_code(2);
        assert!(!run.stderr.contains(&long), "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("<{} characters, not shown>", long.len())),
            "{}",
            run.stderr
        );
        let run = sandbox.run(&["org", "api-key", "create", "--type", &long]);
        run.assert_code(2);
        assert!(!run.stderr.contains(&long), "{}", run.stderr);
    }
}

/// An error line quoting a huge value keeps the message's first 500 and last 300 characters
/// and says how many were left out.
#[test]
fn decision_a_huge_value_in_an_error_keeps_its_first_500_and_last_300_characters() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let message_for = |name: &str| {
        let run = sandbox.run(&["org", "api-key", "delete", "--name", name]);
        run.assert_code(4);
        error_line(&run)
            .strip_prefix("error: ")
            .expect("an error line")
            .to_owned()
    };
    let short = message_for("MARK");
    let name: String = (0..100_000)
        .map(|index| char::from(b'a' + u8::try_from(index % 26).unwrap_or(0)))
        .collect();
    let whole: Vec<char> = short.replace("MARK", &name).chars().collect();
    let shown = message_for(&name);
    let head: String = whole[..500].iter().collect();
    let tail: String = whole[whole.len() - 300..].iter().collect();
    assert!(shown.starts_with(&head), "{shown}");
    assert!(shown.ends_with(&tail), "{shown}");
    let left_out = whole.len() - 800;
    assert!(
        shown.contains(&left_out.to_string()),
        "{left_out} not in {shown}"
    );
    assert!(
        shown.chars().count() < 900,
        "{} characters",
        shown.chars().count()
    );
}

/// `https_proxy`, `ALL_PROXY` and `all_proxy` send `https` requests through the proxy (a
/// `CONNECT` to the API's host and port) just as `HTTPS_PROXY` does, and `no_proxy` names hosts
/// reached directly.
#[test]
fn every_proxy_variable_name_is_honoured_for_https() {
    let folder = tempfile::tempdir().expect("a temp folder");
    let ca = folder.path().join("ca.pem");
    let emulator = baseten_e2e::tls_emulator(&ca);
    let target = emulator
        .url()
        .strip_prefix("https://")
        .expect("an https URL")
        .to_owned();
    for name in ["https_proxy", "ALL_PROXY", "all_proxy"] {
        let proxy = crate::http_hardening::connect_proxy();
        let mut sandbox = Sandbox::for_emulator(&emulator);
        sandbox.set("BASETEN_CA_BUNDLE", ca.as_os_str());
        sandbox.set(name, proxy.url());
        sandbox.run(&["org", "api-key", "list"]).assert_code(0);
        let heads = proxy.heads();
        assert_eq!(heads.len(), 1, "{name}: {heads:?}");
        assert!(
            heads[0].starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
            "{name}: {heads:?}"
        );

        sandbox.set("no_proxy", "127.0.0.1");
        sandbox.run(&["org", "api-key", "list"]).assert_code(0);
        assert_eq!(proxy.heads().len(), 1, "{name}: no_proxy was not honoured");
    }
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"; 6]);
}

// ---------------------------------------------------------------------------------------------
// More limits

/// `BASETEN_HTTP_TIMEOUT` takes 0.001 and 86400 themselves; just outside them is exit 2.
#[test]
fn http_timeout_accepts_its_bounds_and_nothing_beyond() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("BASETEN_HTTP_TIMEOUT", "86400");
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    for value in ["86400.5", "0.0009", "0", "-1", "soon"] {
        sandbox.set("BASETEN_HTTP_TIMEOUT", value);
        let run = sandbox.run(&["org", "api-key", "list"]);
        run.assert_code(2);
        assert!(
            run.stderr
                .starts_with(&format!("error: invalid BASETEN_HTTP_TIMEOUT `{value}`")),
            "{}",
            run.stderr
        );
    }
    // A millisecond is allowed, though no request fits in it: a timeout, not a usage error.
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "delay_ms": 2000, "times": 3}),
    );
    sandbox.set("BASETEN_HTTP_TIMEOUT", "0.001");
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(7);
    assert!(
        error_line(&run).contains("timed out after 0.001 s"),
        "{}",
        run.stderr
    );
}

/// With no `BASETEN_MAX_RESPONSE_BYTES`, an answer announcing more than 512 MiB is not read.
#[test]
fn the_default_response_limit_is_512_mib() {
    let server = LocalServer::start(|_, stream| {
        answer_with(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 536870913\r\n\
             \r\n{\"keys\":[]}",
        );
    });
    let run = sandbox_for_base(&server.url()).run(&["org", "api-key", "list"]);
    run.assert_code(1);
    assert!(
        error_line(&run).contains("the response is larger than the limit of 536870912 bytes"),
        "{}",
        run.stderr
    );
    assert_eq!(server.heads().len(), 1);
}

/// Ctrl-C while a `DELETE` is unanswered warns that it may have been carried out.
#[test]
fn ctrl_c_while_a_delete_is_unanswered_warns_it_may_be_done() {
    let server = LocalServer::start(never_answer);
    let sandbox = sandbox_for_base(&server.url());
    let child = spawn(
        &sandbox,
        &["org", "api-key", "delete", "--prefix", "abcd1234"],
    );
    wait_for("the DELETE to arrive", || !server.heads().is_empty());
    std::thread::sleep(Duration::from_millis(100));
    interrupt(&child);
    let run = finish(child, "delete interrupted while unanswered");
    run.assert_code(130);
    assert_eq!(
        run.stderr,
        "warning: DELETE /v1/api_keys/abcd1234 was sent and not answered: it may have been \
         carried out\nCanceled.\n"
    );
    assert!(server.heads()[0].starts_with("DELETE /v1/api_keys/abcd1234 "));
}
