//! Browser login and OAuth profiles: `auth login --web` (the device flow) against the emulator,
//! profiles stored as the reference tool stores them, every command with an OAuth profile,
//! renewal before expiry and on 401 (once, under the profile store's lock), and logout ending the
//! session on the server.

use std::fs;
#[cfg(target_os = "linux")]
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use baseten_e2e::{BackgroundEmulator, Emulator, EmulatorHandle, Run, Sandbox, finish};
use serde_json::{Value, json};

use crate::support::{requests, spawn};

const EMAIL: &str = "emulator@example.com";
const TOKEN_PATH: &str = "/v1/users/auth/device/token";
const LOGIN_AGAIN_HINT: &str = "hint: run `baseten auth login --web`\n";

/// An emulator whose browser logins are polled every second (the least a client may wait).
fn oauth_emulator(auto_approve: bool, token_ttl: u64) -> BackgroundEmulator {
    Emulator::builder()
        .device_interval(1)
        .auto_approve(auto_approve)
        .token_ttl(Duration::from_secs(token_ttl))
        .start_in_background()
        .expect("the emulator starts")
}

/// The profile a browser login against the emulator's own URL is named.
fn emulator_profile() -> String {
    format!("{EMAIL}:127.0.0.1")
}

fn auth_json(sandbox: &Sandbox) -> Value {
    let bytes = fs::read(sandbox.config_dir().join("auth.json")).expect("auth.json exists");
    serde_json::from_slice(&bytes).expect("auth.json is JSON")
}

fn write_auth_json(sandbox: &Sandbox, document: &Value) {
    fs::create_dir_all(sandbox.config_dir()).expect("creates the config folder");
    fs::write(
        sandbox.config_dir().join("auth.json"),
        serde_json::to_string_pretty(document).expect("encodes"),
    )
    .expect("writes auth.json");
}

/// `auth login --web --remote-url <emulator>` plus `extra`, with no browser.
fn web_login(sandbox: &Sandbox, emulator: &BackgroundEmulator, extra: &[&str]) -> Run {
    let url = emulator.url();
    let mut args = vec![
        "auth",
        "login",
        "--web",
        "--no-browser",
        "--remote-url",
        &url,
    ];
    args.extend_from_slice(extra);
    sandbox.run(&args)
}

/// Waits (at most 30 s) for a browser login to wait for approval; its user code.
fn pending_user_code(emulator: &EmulatorHandle) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(code) = emulator.oauth()["pending_user_codes"][0].as_str() {
            return code.to_owned();
        }
        assert!(Instant::now() < deadline, "no login waited for approval");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// On another thread: approves (or denies) the first login that waits; its user code.
fn decide_when_pending(emulator: &BackgroundEmulator, approve: bool) -> JoinHandle<String> {
    let emulator: EmulatorHandle = (**emulator).clone();
    std::thread::spawn(move || {
        let code = pending_user_code(&emulator);
        let decided = if approve {
            emulator.approve_login(&code)
        } else {
            emulator.deny_login(&code)
        };
        assert!(decided, "the login with `{code}` was waiting");
        code
    })
}

/// The stored OAuth credential of `profile` in the file (the plain-text fallback).
fn inline_credential(sandbox: &Sandbox, profile: &str) -> Value {
    auth_json(sandbox)["profiles"][profile]["oauth_credential"].clone()
}

/// A sandbox logged in through the browser against `emulator` (auto-approving), tokens in
/// `auth.json`.
fn logged_in(emulator: &BackgroundEmulator) -> Sandbox {
    let sandbox = Sandbox::new();
    web_login(&sandbox, emulator, &[]).assert_code(0);
    sandbox
}

/// Sets the stored expiry of `profile`'s access token (the server's token stays valid).
fn set_stored_expiry(sandbox: &Sandbox, profile: &str, expiry: &str) {
    let mut document = auth_json(sandbox);
    document["profiles"][profile]["oauth_credential"]["expiry"] = json!(expiry);
    write_auth_json(sandbox, &document);
}

/// `METHOD path status` of each request the emulator saw.
fn request_lines(emulator: &BackgroundEmulator) -> Vec<String> {
    requests(emulator)
        .iter()
        .map(|request| {
            format!(
                "{} {} {}",
                request["method"].as_str().unwrap_or("?"),
                request["path"].as_str().unwrap_or("?"),
                request["status"]
            )
        })
        .collect()
}

fn count(lines: &[String], line: &str) -> usize {
    lines.iter().filter(|seen| seen.as_str() == line).count()
}

#[test]
fn web_login_prints_the_code_waits_for_approval_and_stores_the_profile_named_by_email() {
    let emulator = oauth_emulator(false, 3600);
    let sandbox = Sandbox::new();
    let approver = decide_when_pending(&emulator, true);
    let run = web_login(&sandbox, &emulator, &[]);
    let code = approver.join().expect("the approver ends");
    run.assert_code(0);
    let profile = emulator_profile();
    assert_eq!(
        run.stdout,
        format!("Logged in as {EMAIL} (Emulator Workspace) as profile {profile}\n")
    );
    let config = sandbox.config_dir().join("auth.json");
    assert_eq!(
        run.stderr,
        format!(
            "To log in, open this URL in a browser:\n  {url}/device?user_code={code}\n\n\
             Verification code: {code}\n\nWaiting...\n\
             note: storing the login's tokens in plain text in {}\n",
            config.display(),
            url = emulator.url(),
        )
    );
    let document = auth_json(&sandbox);
    assert_eq!(document["current"], json!(profile));
    let stored = &document["profiles"][profile.as_str()];
    assert_eq!(stored["remote_url"], json!(emulator.url()));
    assert_eq!(stored["auth_type"], json!("oauth"));
    assert_eq!(stored.get("api_key"), None);
    let credential = stored["oauth_credential"]
        .as_object()
        .expect("inline tokens");
    let fields: Vec<&str> = credential.keys().map(String::as_str).collect();
    assert_eq!(fields, ["access_token", "refresh_token", "expiry"]);
    let expiry = credential["expiry"].as_str().expect("a time");
    assert!(
        expiry.len() == 20 && expiry.ends_with('Z') && expiry.as_bytes()[10] == b'T',
        "{expiry}"
    );
    // The device flow as the reference tool runs it: authorize, then polls until approved.
    let lines = request_lines(&emulator);
    assert_eq!(lines[0], "POST /v1/users/auth/device/authorize 200");
    assert!(
        count(&lines, &format!("POST {TOKEN_PATH} 200")) == 1,
        "{lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("GET /v1/users/me 200")
    );
    assert_eq!(emulator.oauth()["logins"], 1);
}

#[test]
fn web_login_names_the_profile_by_email_alone_on_the_default_remote_and_host_otherwise() {
    let emulator = oauth_emulator(true, 3600);
    // The default remote, its API pointed at the emulator.
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", emulator.url());
    let run = sandbox.run(&["auth", "login", "--web", "--no-browser"]);
    run.assert_code(0);
    assert!(
        run.stdout.ends_with(&format!("as profile {EMAIL}\n")),
        "{}",
        run.stdout
    );
    assert_eq!(
        auth_json(&sandbox)["profiles"][EMAIL]["remote_url"],
        json!("https://app.baseten.co")
    );
    // Another remote: `:<host>`, without `app.` or the port.
    let run = sandbox.run(&[
        "auth",
        "login",
        "--web",
        "--no-browser",
        "--remote-url",
        "https://app.staging.example.com:8443",
    ]);
    run.assert_code(0);
    let profile = format!("{EMAIL}:staging.example.com");
    assert!(
        run.stdout.ends_with(&format!("as profile {profile}\n")),
        "{}",
        run.stdout
    );
    // `--profile` names it, as is; `--no-switch` keeps the current one.
    let run = sandbox.run(&[
        "auth",
        "login",
        "--web",
        "--no-browser",
        "--profile",
        "work",
        "--no-switch",
    ]);
    run.assert_code(0);
    assert!(run.stdout.ends_with("as profile work\n"), "{}", run.stdout);
    let document = auth_json(&sandbox);
    assert_eq!(document["current"], json!(profile));
    assert_eq!(document["profiles"]["work"]["auth_type"], json!("oauth"));
}

#[test]
fn web_login_prints_json_like_an_api_key_login() {
    let emulator = oauth_emulator(true, 3600);
    let sandbox = Sandbox::new();
    let run = web_login(&sandbox, &emulator, &["-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        json!({
            "profile": emulator_profile(),
            "user_id": "user-emulator",
            "email": EMAIL,
            "name": "Emulator User",
            "workspace_name": "Emulator Workspace",
        })
    );
}

#[test]
fn a_denied_login_stores_nothing() {
    let emulator = oauth_emulator(false, 3600);
    let sandbox = Sandbox::new();
    let denier = decide_when_pending(&emulator, false);
    let run = web_login(&sandbox, &emulator, &[]);
    denier.join().expect("the denier ends");
    run.assert_code(3);
    assert!(
        run.stderr.ends_with(
            "Waiting...\nerror: the browser login was denied; nothing was stored\nhint: run \
                 `baseten auth login --web` again and approve it in the browser\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!sandbox.config_dir().join("auth.json").exists());
}

#[test]
fn an_expired_login_stores_nothing() {
    let emulator = oauth_emulator(false, 3600);
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 400, "body": {"error": "expired_token"}
    }));
    let sandbox = Sandbox::new();
    let run = web_login(&sandbox, &emulator, &[]);
    run.assert_code(3);
    assert!(
        run.stderr.ends_with(
            "Waiting...\nerror: the browser login expired before it was approved; nothing was \
             stored\nhint: run `baseten auth login --web` again and approve it in the browser \
             sooner\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!sandbox.config_dir().join("auth.json").exists());
}

#[test]
fn slow_down_adds_five_seconds_to_the_interval() {
    let emulator = oauth_emulator(true, 3600);
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 400, "body": {"error": "slow_down"}
    }));
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let run = web_login(&sandbox, &emulator, &["-v"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("* the server asked to poll more slowly: every 6 s\n"),
        "{}",
        run.stderr
    );
    // One poll after 1 s (slowed down), the next after 6 s more: never sooner.
    assert!(started.elapsed() >= Duration::from_secs(7));
    let lines = request_lines(&emulator);
    assert_eq!(
        count(&lines, &format!("POST {TOKEN_PATH} 400")),
        1,
        "{lines:?}"
    );
    assert_eq!(
        count(&lines, &format!("POST {TOKEN_PATH} 200")),
        1,
        "{lines:?}"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_while_waiting_cancels_and_stores_nothing() {
    let emulator = oauth_emulator(false, 3600);
    let sandbox = Sandbox::new();
    let url = emulator.url();
    let child = spawn(
        &sandbox,
        &[
            "auth",
            "login",
            "--web",
            "--no-browser",
            "--remote-url",
            &url,
        ],
    );
    // The first poll comes after `Waiting...` was written.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !request_lines(&emulator)
        .iter()
        .any(|line| line.starts_with(&format!("POST {TOKEN_PATH}")))
    {
        assert!(Instant::now() < deadline, "the login never polled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let run = finish(child, "auth login --web");
    run.assert_code(130);
    assert!(run.stderr.contains("Waiting...\n"), "{}", run.stderr);
    assert!(run.stderr.ends_with("Canceled.\n"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(!sandbox.config_dir().join("auth.json").exists());
    // The login the user walked away from is still pending: nothing was approved for it.
    assert_eq!(emulator.oauth()["logins"], 0);
}

#[test]
fn web_and_with_api_key_exclude_each_other_and_neither_is_assumed_without_a_terminal() {
    let emulator = oauth_emulator(true, 3600);
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["auth", "login", "--web", "--with-api-key", "--profile", "x"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--web"), "{}", run.stderr);
    let url = emulator.url();
    let run = sandbox.run(&["auth", "login", "--remote-url", &url]);
    run.assert_code(2);
    assert_eq!(
        run.stderr,
        "error: choose how to log in: `--web` or `--with-api-key`\n\
         hint: run `baseten auth login --web` to log in through the browser, or `baseten auth \
         login --with-api-key --profile NAME` with the key on stdin\n"
    );
    assert!(requests(&emulator).is_empty());
}

#[cfg(unix)]
#[test]
fn browser_is_opened_with_browser_unless_no_browser_and_a_failing_one_is_no_error() {
    let emulator = oauth_emulator(false, 3600);
    let mut sandbox = Sandbox::new();
    let opened = sandbox.home().join("opened.txt");
    let browser = sandbox.home().join("browser.sh");
    fs::write(
        &browser,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .expect("writes the browser");
    make_executable(&browser);
    sandbox.set("BROWSER", &browser);
    let url = emulator.url();
    let approver = decide_when_pending(&emulator, true);
    let run = sandbox.run(&["auth", "login", "--web", "--remote-url", &url]);
    let code = approver.join().expect("the approver ends");
    run.assert_code(0);
    assert!(
        run.stderr.starts_with(&format!(
            "A browser was opened to log in. If it did not open, visit:\n  \
             {url}/device?user_code={code}\n\nVerification code: {code}\n"
        )),
        "{}",
        run.stderr
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while fs::read_to_string(&opened).unwrap_or_default().is_empty() {
        assert!(Instant::now() < deadline, "the browser never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        fs::read_to_string(&opened).expect("the browser ran"),
        format!("{url}/device?user_code={code}")
    );

    // `--no-browser`: not run, the URL still printed.
    fs::remove_file(&opened).expect("removes");
    let approver = decide_when_pending(&emulator, true);
    let run = web_login(&sandbox, &emulator, &[]);
    approver.join().expect("the approver ends");
    run.assert_code(0);
    assert!(
        run.stderr
            .starts_with("To log in, open this URL in a browser:\n")
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!opened.exists(), "--no-browser ran the browser");

    // A browser that fails is no error: the URL and code are there to use.
    sandbox.set("BROWSER", "/nonexistent/browser");
    let approver = decide_when_pending(&emulator, true);
    let run = sandbox.run(&["auth", "login", "--web", "--remote-url", &url]);
    approver.join().expect("the approver ends");
    run.assert_code(0);
}

#[cfg(unix)]
fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn every_command_works_with_an_oauth_profile_and_never_shows_a_token() {
    let emulator = oauth_emulator(true, 3600);
    let sandbox = logged_in(&emulator);
    let profile = emulator_profile();
    let credential = inline_credential(&sandbox, &profile);
    let tokens = [
        credential["access_token"]
            .as_str()
            .expect("a token")
            .to_owned(),
        credential["refresh_token"]
            .as_str()
            .expect("a token")
            .to_owned(),
    ];
    let mut everything = String::new();
    let mut keep = |run: Run| {
        everything.push_str(&run.stdout);
        everything.push_str(&run.stderr);
        run
    };

    let run = keep(sandbox.run(&[
        "-vv", "org", "api-key", "create", "--type", "personal", "--name", "ci",
    ]));
    run.assert_code(0);
    assert!(
        run.stderr.contains("> authorization: Bearer <redacted>\n"),
        "{}",
        run.stderr
    );
    let run = keep(sandbox.run(&["org", "api-key", "list", "-o", "json"]));
    run.assert_code(0);
    assert_eq!(run.json()["keys"].as_array().map(Vec::len), Some(2));
    keep(sandbox.run(&["org", "api-key", "delete", "--name", "ci"])).assert_code(0);
    assert_eq!(emulator.keys().len(), 1);
    let lines = request_lines(&emulator);
    assert!(
        lines.iter().all(|line| !line.ends_with(" 401")),
        "{lines:?}"
    );
    assert!(
        requests(&emulator)
            .iter()
            .filter(|request| request["path"]
                .as_str()
                .is_some_and(|path| path.starts_with("/v1/api_keys")))
            .all(|request| request["auth_scheme"] == "Bearer")
    );

    let run = keep(sandbox.run(&["auth", "status"]));
    run.assert_code(0);
    assert!(run.stdout.contains("auth type:  oauth\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains("stored in:  auth.json (plain text)\n"),
        "{}",
        run.stdout
    );
    // Within the minute of the login: 59 or 60 whole minutes left.
    assert!(
        run.stdout.contains("token:      expires in 59 min\n")
            || run.stdout.contains("token:      expires in 60 min\n"),
        "{}",
        run.stdout
    );
    let run = keep(sandbox.run(&["auth", "status", "-o", "json"]));
    let status = run.json();
    assert_eq!(status["auth_type"], "oauth");
    assert_eq!(status["api_key"], Value::Null);
    assert_eq!(status["token_expiry"], credential["expiry"]);
    let run = keep(sandbox.run(&["auth", "list"]));
    run.assert_code(0);
    assert!(
        run.stdout
            .contains(&format!("{profile}  {}  oauth      *\n", emulator.url())),
        "{}",
        run.stdout
    );
    keep(sandbox.run(&["auth", "switch", "--profile", &profile])).assert_code(0);
    // A new login, all of it logged: the device code and tokens are redacted wherever they go.
    let run = keep(web_login(
        &sandbox,
        &emulator,
        &["-vv", "--profile", "second", "--no-switch"],
    ));
    run.assert_code(0);
    assert!(
        run.stderr.contains("device_code=<redacted>"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(r#""device_code":"<redacted>""#),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(r#""access_token":"<redacted>""#),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(r#""refresh_token":"<redacted>""#),
        "{}",
        run.stderr
    );
    let second = inline_credential(&sandbox, "second");
    set_stored_expiry(&sandbox, &profile, "2000-01-01T00:00:00Z");
    let run = keep(sandbox.run(&["auth", "status"]));
    assert!(
        run.stdout.contains("token:      expired; will refresh\n"),
        "{}",
        run.stdout
    );
    let run = keep(sandbox.run(&["-vv", "org", "api-key", "list"]));
    run.assert_code(0);
    assert!(
        run.stderr.contains("refresh_token=<redacted>"),
        "{}",
        run.stderr
    );
    let renewed = inline_credential(&sandbox, &profile);

    for token in tokens.iter().chain([
        &second["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        &second["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        &renewed["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        &renewed["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ]) {
        assert!(token.len() > 20);
        assert!(!everything.contains(token.as_str()), "a token was shown");
    }
}

#[test]
fn a_token_expiring_within_a_minute_is_renewed_before_the_request() {
    let emulator = oauth_emulator(true, 30);
    let sandbox = logged_in(&emulator);
    let before = inline_credential(&sandbox, &emulator_profile());
    emulator.reset();
    let run = sandbox.run(&["-v", "org", "api-key", "list"]);
    run.assert_code(0);
    assert!(run.stderr.contains("expires in"), "{}", run.stderr);
    assert_eq!(
        request_lines(&emulator),
        [
            format!("POST {TOKEN_PATH} 200"),
            "GET /v1/api_keys 200".to_owned()
        ]
    );
    assert_eq!(emulator.oauth()["refreshes"], 1);
    let after = inline_credential(&sandbox, &emulator_profile());
    assert_ne!(after["access_token"], before["access_token"]);
    assert_ne!(after["refresh_token"], before["refresh_token"]);
}

#[test]
fn ctrl_c_during_a_renewal_waits_until_the_new_tokens_are_saved() {
    use std::io::{BufRead, Read};
    let emulator = oauth_emulator(true, 30);
    let sandbox = logged_in(&emulator);
    let before = inline_credential(&sandbox, &emulator_profile());
    emulator.reset();
    // The server rotates the refresh token at once, and answers only seconds later: a client
    // stopped meanwhile would hold a spent refresh token.
    emulator.inject_fault(
        json!({"path": TOKEN_PATH, "delay_ms": 1500, "after_processing": true, "times": 1}),
    );
    let mut child = spawn(&sandbox, &["-v", "org", "api-key", "list"]);
    let pid = child.id().to_string();
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("a pipe"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = stderr.read_line(&mut line).expect("stderr is readable");
        assert!(read > 0, "the renewal was never sent: {seen}");
        seen.push_str(&line);
        if line.starts_with(&format!("> POST {TOKEN_PATH}")) || line.contains(TOKEN_PATH) {
            break;
        }
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let run = finish(child, "a renewal interrupted");
    let mut rest = String::new();
    stderr
        .read_to_string(&mut rest)
        .expect("stderr is readable");
    run.assert_code(130);
    assert!(
        rest.contains("Stopping once the renewed login is saved...\n"),
        "{rest}"
    );
    assert!(rest.ends_with("Canceled.\n"), "{rest}");
    assert_eq!(run.stdout, "");
    // The renewed tokens were saved: the next command renews with them and works.
    let after = inline_credential(&sandbox, &emulator_profile());
    assert_ne!(after["refresh_token"], before["refresh_token"]);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    assert_eq!(emulator.oauth()["refused_refreshes"], 0);
}

#[test]
fn a_401_renews_once_and_repeats_the_request_once() {
    let emulator = oauth_emulator(true, 3600);
    let sandbox = logged_in(&emulator);
    emulator.reset();
    emulator.expire_access_tokens();
    // A POST refused with 401 was not carried out: repeating it creates one key.
    let run = sandbox.run(&[
        "org", "api-key", "create", "--type", "personal", "--name", "once",
    ]);
    run.assert_code(0);
    assert_eq!(
        request_lines(&emulator),
        [
            "POST /v1/api_keys 401".to_owned(),
            format!("POST {TOKEN_PATH} 200"),
            "POST /v1/api_keys 200".to_owned(),
        ]
    );
    assert_eq!(emulator.keys().len(), 2);
    assert_eq!(emulator.oauth()["refreshes"], 1);

    // A renewed token refused again: exit 3, after one renewal.
    emulator.reset();
    emulator.inject_fault(json!({"path": "/v1/api_keys", "status": 401, "times": 2}));
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(3);
    assert!(run.stderr.ends_with(LOGIN_AGAIN_HINT), "{}", run.stderr);
    assert_eq!(
        request_lines(&emulator),
        [
            "GET /v1/api_keys 401".to_owned(),
            format!("POST {TOKEN_PATH} 200"),
            "GET /v1/api_keys 401".to_owned(),
        ]
    );

    // A session the server ended: the renewal is refused, exit 3.
    emulator.revoke_sessions();
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("has ended: the server refused to renew it (`invalid_grant`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.ends_with(LOGIN_AGAIN_HINT), "{}", run.stderr);
}

#[test]
fn ten_commands_renewing_at_once_all_succeed_with_one_refresh() {
    let emulator = oauth_emulator(true, 3600);
    let sandbox = logged_in(&emulator);
    // The stored token looks expired to every command; the server still takes it.
    set_stored_expiry(&sandbox, &emulator_profile(), "2000-01-01T00:00:00Z");
    let children: Vec<_> = (0..10)
        .map(|_| spawn(&sandbox, &["org", "api-key", "list", "-o", "json"]))
        .collect();
    for child in children {
        let run = finish(child, "org api-key list");
        run.assert_code(0);
        assert_eq!(run.json()["keys"].as_array().map(Vec::len), Some(1));
    }
    let oauth = emulator.oauth();
    assert_eq!(oauth["refreshes"], 1, "{oauth}");
    assert_eq!(oauth["refused_refreshes"], 0, "{oauth}");
}

#[test]
fn logout_ends_the_session_on_the_server() {
    let emulator = oauth_emulator(true, 3600);
    let sandbox = logged_in(&emulator);
    let profile = emulator_profile();
    emulator.reset();
    let run = sandbox.run(&["auth", "logout"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("Logged out {profile}\n"));
    assert_eq!(run.stderr, "");
    assert_eq!(request_lines(&emulator), ["POST /v1/users/auth/logout 200"]);
    assert_eq!(requests(&emulator)[0]["auth_scheme"], "Bearer");
    let oauth = emulator.oauth();
    assert_eq!(oauth["revocations"], 1);
    assert_eq!(oauth["live_access_tokens"], 0);
    assert_eq!(auth_json(&sandbox)["profiles"], json!({}));

    // An API-key profile sends nothing.
    emulator.reset();
    let run = sandbox.run_with_stdin(
        &[
            "auth",
            "login",
            "--with-api-key",
            "--profile",
            "ci",
            "--remote-url",
            &emulator.url(),
        ],
        &format!("{}\n", emulator.api_key()),
    );
    run.assert_code(0);
    emulator.reset();
    sandbox
        .run(&["auth", "logout", "--profile", "ci"])
        .assert_code(0);
    assert!(requests(&emulator).is_empty());
}

#[test]
fn a_failing_revocation_warns_and_removes_the_profile_anyway() {
    let emulator = oauth_emulator(true, 3600);
    let sandbox = logged_in(&emulator);
    let profile = emulator_profile();
    emulator.inject_fault(json!({"path": "/v1/users/auth/logout", "status": 500}));
    let run = sandbox.run(&["auth", "logout", "--profile", &profile]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("Logged out {profile}\n"));
    assert_eq!(
        run.stderr,
        "warning: server-side session revocation failed: HTTP 500: injected fault\n"
    );
    assert_eq!(auth_json(&sandbox)["profiles"], json!({}));
    assert_eq!(emulator.oauth()["revocations"], 0);
}

/// Tokens from a real login, for files written by hand as the reference tool writes them.
fn fresh_tokens(emulator: &BackgroundEmulator) -> (String, String) {
    let sandbox = logged_in(emulator);
    let credential = inline_credential(&sandbox, &emulator_profile());
    (
        credential["access_token"]
            .as_str()
            .expect("a token")
            .to_owned(),
        credential["refresh_token"]
            .as_str()
            .expect("a token")
            .to_owned(),
    )
}

/// `auth.json` as the reference tool writes an OAuth profile; `inline` is its
/// `oauth_credential`, present only without a keyring.
fn reference_auth_json(remote: &str, inline: Option<Value>) -> String {
    let mut profile = json!({"remote_url": remote, "auth_type": "oauth"});
    if let Some(inline) = inline {
        profile["oauth_credential"] = inline;
    }
    // Go's `json.MarshalIndent(af, "", "  ")`: version, current, profiles.
    let document =
        json!({"version": 1, "current": "me@example.com", "profiles": {"me@example.com": profile}});
    format!(
        "{}\n",
        serde_json::to_string_pretty(&document).expect("encodes")
    )
}

#[test]
fn a_plain_text_oauth_profile_written_by_the_reference_tool_is_used_and_renewed_as_is() {
    let emulator = oauth_emulator(true, 3600);
    let (access, refresh) = fresh_tokens(&emulator);
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.config_dir()).expect("creates");
    // Go writes `time.Time` with nanoseconds and the local offset.
    fs::write(
        sandbox.config_dir().join("auth.json"),
        reference_auth_json(
            &emulator.url(),
            Some(json!({"access_token": access, "refresh_token": refresh,
                        "expiry": "2099-01-02T03:04:05.123456789+01:00"})),
        ),
    )
    .expect("writes");
    emulator.reset();
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(0);
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys 200"]);
    let run = sandbox.run(&["auth", "status"]);
    assert!(run.stdout.contains("expires in"), "{}", run.stdout);

    // Expired by its own clock: renewed, and written back in the same format.
    set_stored_expiry(&sandbox, "me@example.com", "2001-01-01T00:00:00.5-07:00");
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    assert_eq!(emulator.oauth()["refreshes"], 1);
    let stored = &auth_json(&sandbox)["profiles"]["me@example.com"];
    assert_eq!(stored["auth_type"], "oauth");
    assert_eq!(stored["remote_url"], json!(emulator.url()));
    let credential = stored["oauth_credential"]
        .as_object()
        .expect("inline tokens");
    let fields: Vec<&str> = credential.keys().map(String::as_str).collect();
    assert_eq!(fields, ["access_token", "refresh_token", "expiry"]);
    assert_ne!(credential["refresh_token"], json!(refresh));
}

/// A private Secret Service for a test: a D-Bus session with `gnome-keyring-daemon` unlocked,
/// kept until dropped. Its address is what `baseten` and the test connect to.
#[cfg(target_os = "linux")]
pub(crate) struct SecretService {
    child: std::process::Child,
    done: PathBuf,
    pub(crate) address: String,
}

#[cfg(target_os = "linux")]
impl SecretService {
    /// `None` where the programs are missing (outside CI).
    pub(crate) fn start(sandbox: &Sandbox) -> Option<Self> {
        if !baseten_e2e::programs_installed(
            &["dbus-run-session", "gnome-keyring-daemon"],
            "the system keyring path",
        ) {
            return None;
        }
        let folder = sandbox.home().join("bus");
        fs::create_dir_all(&folder).expect("creates");
        let address_file = folder.join("address");
        let done = folder.join("done");
        let script = format!(
            "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90\n\
             printf '%s' \"$DBUS_SESSION_BUS_ADDRESS\" > '{address}.tmp' && mv '{address}.tmp' '{address}'\n\
             while [ ! -e '{done}' ]; do sleep 0.05; done\n",
            address = address_file.display(),
            done = done.display(),
        );
        let child = sandbox
            .command(std::path::Path::new("dbus-run-session"))
            .args(["--", "sh", "-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("dbus-run-session starts");
        let mut service = Self {
            child,
            done,
            address: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(address) = fs::read_to_string(&address_file) {
                service.address = address;
                return Some(service);
            }
            assert!(
                service.child.try_wait().ok().flatten().is_none(),
                "the Secret Service did not start"
            );
            assert!(
                Instant::now() < deadline,
                "the Secret Service took over 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stores `secret` for `account` exactly as the reference tool's keyring library does on
    /// Linux: attributes `username` and `service` only, its label and content type.
    pub(crate) fn store_like_the_reference_tool(&self, service: &str, account: &str, secret: &str) {
        use std::collections::HashMap;
        use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
        let connection = zbus::blocking::connection::Builder::address(self.address.as_str())
            .expect("a bus address")
            .build()
            .expect("connects to the bus");
        let bus = "org.freedesktop.secrets";
        let reply = connection
            .call_method(
                Some(bus),
                "/org/freedesktop/secrets",
                Some("org.freedesktop.Secret.Service"),
                "OpenSession",
                &("plain", Value::from("")),
            )
            .expect("opens a session");
        let (_, session): (OwnedValue, OwnedObjectPath) =
            reply.body().deserialize().expect("a session");
        let attributes: HashMap<&str, &str> =
            HashMap::from([("username", account), ("service", service)]);
        let label = format!("Password for '{account}' on '{service}'");
        let properties: HashMap<&str, Value<'_>> = HashMap::from([
            (
                "org.freedesktop.Secret.Item.Label",
                Value::from(label.as_str()),
            ),
            (
                "org.freedesktop.Secret.Item.Attributes",
                Value::from(attributes),
            ),
        ]);
        let secret = (
            session,
            Vec::<u8>::new(),
            secret.as_bytes().to_vec(),
            "text/plain; charset=utf8",
        );
        // The daemon unlocks its login collection after it answers on the bus: on a busy
        // machine the first calls can find it still locked.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match connection.call_method(
                Some(bus),
                "/org/freedesktop/secrets/aliases/default",
                Some("org.freedesktop.Secret.Collection"),
                "CreateItem",
                &(&properties, &secret, true),
            ) {
                Ok(_) => return,
                Err(zbus::Error::MethodError(name, _, _))
                    if Instant::now() < deadline && name.as_str().ends_with(".IsLocked") =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(error) => panic!("creates the item: {error:?}"),
            }
        }
    }
}

#[cfg(target_os = "linux")]
impl SecretService {
    /// The secret stored for `account` of `service` (as the reference tool would read it).
    pub(crate) fn read(&self, service: &str, account: &str) -> String {
        use std::collections::HashMap;
        use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
        let connection = zbus::blocking::connection::Builder::address(self.address.as_str())
            .expect("a bus address")
            .build()
            .expect("connects to the bus");
        let bus = "org.freedesktop.secrets";
        let reply = connection
            .call_method(
                Some(bus),
                "/org/freedesktop/secrets",
                Some("org.freedesktop.Secret.Service"),
                "OpenSession",
                &("plain", Value::from("")),
            )
            .expect("opens a session");
        let (_, session): (OwnedValue, OwnedObjectPath) =
            reply.body().deserialize().expect("a session");
        let attributes: HashMap<&str, &str> =
            HashMap::from([("username", account), ("service", service)]);
        let reply = connection
            .call_method(
                Some(bus),
                "/org/freedesktop/secrets",
                Some("org.freedesktop.Secret.Service"),
                "SearchItems",
                &(attributes,),
            )
            .expect("searches");
        let (unlocked, _locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) =
            reply.body().deserialize().expect("items");
        let item = unlocked.first().expect("a stored item");
        let reply = connection
            .call_method(
                Some(bus),
                item.as_str(),
                Some("org.freedesktop.Secret.Item"),
                "GetSecret",
                &(&session,),
            )
            .expect("reads the secret");
        let (_, _, value, _): (OwnedObjectPath, Vec<u8>, Vec<u8>, String) =
            reply.body().deserialize().expect("a secret");
        String::from_utf8(value).expect("UTF-8")
    }
}

#[cfg(target_os = "linux")]
impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = fs::write(&self.done, "");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `auth.json` and a keyring entry written exactly as the reference tool writes them are used as
/// they are; a browser login with a keyring keeps its tokens out of `auth.json`.
#[cfg(target_os = "linux")]
#[test]
fn an_oauth_profile_in_the_keyring_in_the_reference_format_is_used_as_is() {
    let emulator = oauth_emulator(true, 3600);
    let (access, refresh) = fresh_tokens(&emulator);
    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    let Some(keyring) = SecretService::start(&sandbox) else {
        return;
    };
    sandbox.set("DBUS_SESSION_BUS_ADDRESS", &keyring.address);
    fs::create_dir_all(sandbox.config_dir()).expect("creates");
    fs::write(
        sandbox.config_dir().join("auth.json"),
        reference_auth_json(&emulator.url(), None),
    )
    .expect("writes");
    // Go's `json.Marshal(OAuthCredential)`: the fields in order, the time with nanoseconds.
    keyring.store_like_the_reference_tool(
        "baseten-profile",
        "me@example.com",
        &format!(
            r#"{{"access_token":"{access}","refresh_token":"{refresh}","expiry":"2099-01-02T03:04:05.123456789Z"}}"#
        ),
    );
    emulator.reset();
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(0);
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys 200"]);
    let run = sandbox.run(&["auth", "status"]);
    assert!(
        run.stdout.contains("stored in:  system keyring\n"),
        "{}",
        run.stdout
    );
    assert_eq!(emulator.oauth()["refreshes"], 0);

    // Expired by its own clock: renewed in place, in the keyring; auth.json stays without tokens.
    keyring.store_like_the_reference_tool(
        "baseten-profile",
        "me@example.com",
        &format!(
            r#"{{"access_token":"{access}","refresh_token":"{refresh}","expiry":"2001-01-02T03:04:05.5+02:00"}}"#
        ),
    );
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    assert_eq!(emulator.oauth()["refreshes"], 1);
    assert_eq!(
        auth_json(&sandbox)["profiles"]["me@example.com"],
        json!({"remote_url": emulator.url(), "auth_type": "oauth"})
    );

    // A browser login of its own goes to the keyring too, never into auth.json.
    let run = web_login(&sandbox, &emulator, &["--profile", "desk"]);
    run.assert_code(0);
    assert_eq!(
        run.stderr.lines().last(),
        Some("Waiting..."),
        "{}",
        run.stderr
    );
    assert_eq!(
        auth_json(&sandbox)["profiles"]["desk"],
        json!({"remote_url": emulator.url(), "auth_type": "oauth"})
    );
    let run = sandbox.run(&["auth", "status", "--profile", "desk"]);
    assert!(
        run.stdout.contains("stored in:  system keyring\n"),
        "{}",
        run.stdout
    );
    sandbox
        .run(&["auth", "logout", "--profile", "desk"])
        .assert_code(0);
    assert_eq!(emulator.oauth()["revocations"], 1);
    drop(keyring);
}

/// At a terminal without `--web` or `--with-api-key`, the tool asks which; `1` is the browser.
#[cfg(unix)]
#[test]
fn at_a_terminal_without_a_method_the_tool_asks_which() {
    if !baseten_e2e::programs_installed(&["script"], "the login method question") {
        return;
    }
    let emulator = oauth_emulator(true, 3600);
    let sandbox = Sandbox::new();
    fs::write(sandbox.home().join("typed"), "1\n").expect("writes");
    let command_line = format!(
        "{} auth login --no-browser --remote-url {}",
        baseten_e2e::baseten_bin().display(),
        emulator.url()
    );
    let mut command = sandbox.command(std::path::Path::new("sh"));
    command.args([
        "-c",
        &format!("(sleep 1; cat typed) | script -qec '{command_line}' /dev/null"),
    ]);
    let run = baseten_e2e::run_command(command, "");
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "How do you want to log in?\r\n  1. through the browser\r\n  2. paste an API key\r\n\
             Choose 1 or 2: "
        ),
        "{run:?}"
    );
    assert!(run.stdout.contains("Verification code: "), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("as profile {}", emulator_profile())),
        "{run:?}"
    );
    assert_eq!(emulator.oauth()["logins"], 1);
}

/// An executable plugin's requests go out with the OAuth profile's token (renewed by the host
/// when due), and the plugin never sees a token: not in its environment, not in what it is sent.
#[cfg(unix)]
#[test]
fn a_plugin_process_is_served_by_an_oauth_profile_without_seeing_a_token() {
    let emulator = oauth_emulator(true, 3600);
    let mut sandbox = logged_in(&emulator);
    let profile = emulator_profile();
    let before = inline_credential(&sandbox, &profile);
    set_stored_expiry(&sandbox, &profile, "2000-01-01T00:00:00Z");
    let folder = baseten_e2e::executable_plugin_folder(&[(
        &baseten_e2e::repository_root().join("tests/e2e/fixtures/executables/fixture-exec"),
        "fixture-exec",
    )]);
    let seen = folder.path().join("environment.txt");
    sandbox
        .set("BASETEN_PLUGIN_PATH", folder.path())
        .set("FIXTURE_EXEC_ENV", &seen);
    emulator.reset();
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{EMAIL}\n"));
    assert_eq!(
        request_lines(&emulator),
        [
            format!("POST {TOKEN_PATH} 200"),
            "GET /v1/users/me 200".to_owned()
        ]
    );
    assert_eq!(requests(&emulator)[1]["auth_scheme"], "Bearer");
    let after = inline_credential(&sandbox, &profile);
    let environment = fs::read_to_string(&seen).expect("the plugin wrote its environment");
    for credential in [&before, &after] {
        for field in ["access_token", "refresh_token"] {
            let token = credential[field].as_str().expect("a token");
            assert!(!environment.contains(token), "a token reached the plugin");
            assert!(!run.stderr.contains(token) && !run.stdout.contains(token));
        }
    }
}

/// A server answering the device flow in the wrong shape, or with control characters in its
/// error, ends the login with one clean error line and stores nothing.
#[test]
fn a_login_answered_in_the_wrong_shape_ends_with_one_error_and_stores_nothing() {
    let emulator = oauth_emulator(true, 3600);
    let sandbox = Sandbox::new();
    emulator.inject_fault(json!({
        "path": "/v1/users/auth/device/authorize", "status": 200, "body": "<html>login</html>"
    }));
    let run = web_login(&sandbox, &emulator, &[]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        "error: could not start the browser login: the answer is not JSON\nhint: check the \
         remote (`--remote-url`), or log in with an API key: `baseten auth login --with-api-key \
         --profile NAME`\n"
    );
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 200, "body": {"token_type": "Bearer"}
    }));
    let run = web_login(&sandbox, &emulator, &[]);
    run.assert_code(1);
    assert!(
        run.stderr.ends_with(
            "Waiting...\nerror: could not finish the browser login: the server's tokens \
             cannot be read: no `access_token`\nhint: run `baseten auth login --web` again; \
             nothing was stored\n"
        ),
        "{}",
        run.stderr
    );
    // An error description with an escape sequence: shown defused.
    let started = Emulator::builder()
        .device_interval(1)
        .start_in_background()
        .expect("the emulator starts");
    let probe = Sandbox::new();
    let child = spawn(
        &probe,
        &[
            "auth",
            "login",
            "--web",
            "--no-browser",
            "--remote-url",
            &started.url(),
        ],
    );
    let _ = pending_user_code(&started);
    started.inject_fault(json!({
        "path": TOKEN_PATH, "status": 400,
        "body": {"error": "invalid_request", "error_description": "bad \u{1b}[31mcode"}
    }));
    let run = finish(child, "auth login --web");
    run.assert_code(3);
    assert!(
        run.stderr.ends_with(
            "error: the browser login failed: the server answered `invalid_request`: bad ?[31mcode; \
             nothing was stored\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!sandbox.config_dir().join("auth.json").exists());
    assert!(!probe.config_dir().join("auth.json").exists());
}

/// A poll cut off by the network ends the login (exit 7) saying to log in again, not that the
/// request may have been carried out.
#[test]
fn a_poll_cut_off_by_the_network_says_to_log_in_again() {
    let emulator = oauth_emulator(true, 3600);
    emulator.inject_fault(json!({"path": TOKEN_PATH, "drop": true}));
    let sandbox = Sandbox::new();
    let run = web_login(&sandbox, &emulator, &[]);
    run.assert_code(7);
    assert!(
        run.stderr.ends_with(
            "hint: check the network and run `baseten auth login --web` again; nothing was stored\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error: could not finish the browser login: "),
        "{}",
        run.stderr
    );
    assert!(!sandbox.config_dir().join("auth.json").exists());
}
