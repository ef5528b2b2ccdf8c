//! Browser logins against a token endpoint that misbehaves: tokens echoed into long error texts,
//! numbers too large to use, a 5xx dressed as an OAuth error, answers that cannot be read, a
//! login page that is no web page, and stored credentials with fields this tool does not know.

use std::fs;
use std::time::Duration;

use baseten_e2e::{BackgroundEmulator, Emulator, Run, Sandbox};
use serde_json::{Value, json};

const TOKEN_PATH: &str = "/v1/users/auth/device/token";
const AUTHORIZE_PATH: &str = "/v1/users/auth/device/authorize";
const PROFILE: &str = "emulator@example.com:127.0.0.1";

fn auto_approving_emulator() -> BackgroundEmulator {
    Emulator::builder()
        .device_interval(1)
        .auto_approve(true)
        .token_ttl(Duration::from_secs(3600))
        .start_in_background()
        .expect("the emulator starts")
}

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

fn auth_json(sandbox: &Sandbox) -> Value {
    let bytes = fs::read(sandbox.config_dir().join("auth.json")).expect("auth.json exists");
    serde_json::from_slice(&bytes).expect("auth.json is JSON")
}

fn write_auth_json(sandbox: &Sandbox, document: &Value) {
    fs::write(
        sandbox.config_dir().join("auth.json"),
        serde_json::to_string_pretty(document).expect("encodes"),
    )
    .expect("writes auth.json");
}

/// The stored tokens of `profile` (plain-text storage).
fn stored(sandbox: &Sandbox, profile: &str) -> Value {
    auth_json(sandbox)["profiles"][profile]["oauth_credential"].clone()
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

/// A sandbox logged in through the browser (tokens in `auth.json`), its access token expired by
/// its own clock so that the next command renews it.
fn logged_in_and_expiring(emulator: &BackgroundEmulator) -> Sandbox {
    let sandbox = Sandbox::new();
    web_login(&sandbox, emulator, &[]).assert_code(0);
    let mut document = auth_json(&sandbox);
    document["profiles"][PROFILE]["oauth_credential"]["expiry"] = json!("2001-01-01T00:00:00Z");
    write_auth_json(&sandbox, &document);
    sandbox
}

/// No part of `secret` long enough to matter (12 characters of it) is in `text`.
fn assert_no_part_of(secret: &str, text: &str) {
    assert!(
        !text.contains(&secret[..12]),
        "part of a secret was shown: {text}"
    );
}

/// A token echoed in a long error text is redacted before the text is cut: cut first, its first
/// part would no longer be recognised and would be shown. So in an OAuth error description, in
/// an API error message and in a `-vv` body.
#[test]
fn a_token_echoed_where_a_long_text_is_cut_is_redacted_whole() {
    let emulator = auto_approving_emulator();
    let sandbox = logged_in_and_expiring(&emulator);
    let refresh = text(&stored(&sandbox, PROFILE)["refresh_token"]);
    let padding = "y".repeat(170);

    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 400,
        "body": {"error": "invalid_grant", "error_description": format!("{padding} refresh token {refresh} was spent")}
    }));
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(3);
    assert!(run.stderr.contains("`invalid_grant`"), "{}", run.stderr);
    assert_no_part_of(&refresh, &run.stderr);

    // Renewed, then refused twice by the API, which quotes the token it was sent.
    let sandbox = logged_in_and_expiring(&emulator);
    let access = text(&stored(&sandbox, PROFILE)["access_token"]);
    emulator.inject_fault(json!({
        "path": "/v1/api_keys", "status": 401, "times": 2,
        "body": {"message": format!("{padding} token {access} is not valid")}
    }));
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(3);
    let renewed = text(&stored(&sandbox, PROFILE)["access_token"]);
    assert_ne!(renewed, access);
    assert!(run.stderr.contains("even after renewing"), "{}", run.stderr);
    assert_no_part_of(&access, &run.stderr);

    // A non-JSON body longer than a -vv line shows, the token across the cut.
    let page = format!("<p>{}</p> {renewed} </p>", "z".repeat(4070));
    emulator.inject_fault(json!({"path": "/v1/api_keys", "status": 500, "body": page}));
    let run = sandbox.run(&["org", "api-key", "list", "-vv"]);
    run.assert_code(6);
    assert!(run.stderr.contains("zzzz"), "{}", run.stderr);
    assert_no_part_of(&renewed, &run.stderr);
}

/// An `expires_in` too large for any date is stored as the latest expiry RFC 3339 can write:
/// the profile stays readable (by this tool and the reference tool) instead of being lost.
#[test]
fn a_huge_expires_in_is_stored_as_the_latest_expiry_both_tools_read() {
    let emulator = auto_approving_emulator();
    let sandbox = Sandbox::new();
    web_login(&sandbox, &emulator, &[]).assert_code(0);
    let access = text(&stored(&sandbox, PROFILE)["access_token"]);
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 200,
        "body": {"access_token": access, "refresh_token": "refresh-of-a-long-login",
                 "token_type": "Bearer", "expires_in": i64::MAX}
    }));
    web_login(&sandbox, &emulator, &["--profile", "long"]).assert_code(0);
    assert_eq!(
        stored(&sandbox, "long")["expiry"],
        json!("9999-12-31T23:59:59Z")
    );
    let run = sandbox.run(&["auth", "status", "--profile", "long"]);
    run.assert_code(0);
    assert!(run.stdout.contains("expires in "), "{}", run.stdout);
    sandbox
        .run(&["org", "api-key", "list", "--profile", "long"])
        .assert_code(0);
}

/// A device login whose `expires_in` is too far to count waits without a deadline, and a
/// `slow_down` on an interval already at the top of the range is no crash: one error line.
#[test]
fn device_login_numbers_too_large_to_count_are_no_crash() {
    let emulator = auto_approving_emulator();
    let sandbox = Sandbox::new();
    web_login(&sandbox, &emulator, &[]).assert_code(0);
    let access = text(&stored(&sandbox, PROFILE)["access_token"]);

    emulator.inject_fault(json!({
        "path": AUTHORIZE_PATH, "status": 200,
        "body": {"device_code": "device-code-of-a-long-wait", "user_code": "WAIT-LONG",
                 "verification_uri": "http://127.0.0.1:1/device", "expires_in": u64::MAX,
                 "interval": 1}
    }));
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 200,
        "body": {"access_token": access, "refresh_token": "r-of-a-long-wait", "expires_in": 3600}
    }));
    let run = web_login(&sandbox, &emulator, &["--profile", "patient"]);
    run.assert_code(0);
    assert!(!run.stderr.contains("internal error"), "{}", run.stderr);

    emulator.inject_fault(json!({
        "path": AUTHORIZE_PATH, "status": 200,
        "body": {"device_code": "device-code-of-a-slow-poll", "user_code": "SLOW-POLL",
                 "verification_uri": "http://127.0.0.1:1/device", "expires_in": 1,
                 "interval": u64::MAX - 2}
    }));
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 400, "body": {"error": "slow_down"}
    }));
    let run = web_login(&sandbox, &emulator, &["--profile", "slow"]);
    run.assert_code(3);
    assert!(
        run.stderr.ends_with(
            "error: the browser login expired before it was approved; nothing was stored\nhint: \
             run `baseten auth login --web` again and approve it in the browser sooner\n"
        ),
        "{}",
        run.stderr
    );
}

/// A 5xx from the token endpoint is the server's trouble (exit 6, try later) even when its body
/// reads as an OAuth error: the login has not ended, and the stored tokens stay as they were.
#[test]
fn a_5xx_from_the_token_endpoint_is_the_servers_trouble_not_an_ended_login() {
    let emulator = auto_approving_emulator();
    let sandbox = logged_in_and_expiring(&emulator);
    let before = stored(&sandbox, PROFILE);
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 503,
        "body": {"error": "server_error", "error_description": "maintenance"}
    }));
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(6);
    assert!(!run.stderr.contains("has ended"), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(
            "HTTP 503: server_error\nhint: the Baseten API had a problem; try again later\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(stored(&sandbox, PROFILE), before);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);

    // The same while a browser login waits.
    let fresh = Sandbox::new();
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 500, "body": {"error": "temporarily_unavailable"}
    }));
    let run = web_login(&fresh, &emulator, &[]);
    run.assert_code(6);
    assert!(
        run.stderr
            .contains("error: could not finish the browser login: HTTP 500"),
        "{}",
        run.stderr
    );
    assert!(!fresh.config_dir().join("auth.json").exists());
}

/// A renewal answered with something that is not tokens names the step that failed and says
/// what to do; the stored tokens stay as they were.
#[test]
fn an_unreadable_renewal_answer_names_the_renewal_and_says_what_to_do() {
    let emulator = auto_approving_emulator();
    let sandbox = logged_in_and_expiring(&emulator);
    let before = stored(&sandbox, PROFILE);
    emulator.inject_fault(json!({"path": TOKEN_PATH, "status": 200, "body": "not json"}));
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        format!(
            "error: could not list API keys: could not renew the login of profile `{PROFILE}`: \
             the server's tokens cannot be read: the answer is not JSON\nhint: try again; if \
             this keeps failing, run `baseten auth login --web`\n"
        )
    );
    assert_eq!(stored(&sandbox, PROFILE), before);
}

/// The login page the server names is opened only when it is a web page: a `file:` URL (or any
/// other scheme) is printed for the user to judge, never handed to `$BROWSER`.
#[cfg(unix)]
#[test]
fn a_login_page_that_is_no_web_page_is_never_opened() {
    use std::os::unix::fs::PermissionsExt as _;
    let emulator = auto_approving_emulator();
    let mut sandbox = Sandbox::new();
    web_login(&sandbox, &emulator, &[]).assert_code(0);
    let access = text(&stored(&sandbox, PROFILE)["access_token"]);
    let opened = sandbox.home().join("opened");
    let browser = sandbox.home().join("browser");
    fs::write(
        &browser,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n",
            opened.display()
        ),
    )
    .expect("writes the browser");
    fs::set_permissions(&browser, fs::Permissions::from_mode(0o755)).expect("chmod");
    sandbox.set("BROWSER", browser.as_os_str());
    emulator.inject_fault(json!({
        "path": AUTHORIZE_PATH, "status": 200,
        "body": {"device_code": "device-code-of-a-file-page", "user_code": "FILE-PAGE",
                 "verification_uri": "file:///etc/passwd", "expires_in": 600, "interval": 1}
    }));
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 200,
        "body": {"access_token": access, "refresh_token": "r-of-a-file-page", "expires_in": 3600}
    }));
    let url = emulator.url();
    let run = sandbox.run(&[
        "auth",
        "login",
        "--web",
        "--remote-url",
        &url,
        "--profile",
        "f",
    ]);
    run.assert_code(0);
    assert!(
        run.stderr
            .starts_with("To log in, open this URL in a browser:\n  file:///etc/passwd\n"),
        "{}",
        run.stderr
    );
    assert!(!opened.exists(), "the browser was started");
}

/// Renewing tokens kept in `auth.json` keeps the fields of the stored credential this tool does
/// not know (a newer reference tool's), as it keeps them everywhere else in the file.
#[test]
fn a_renewal_keeps_fields_of_the_stored_credential_it_does_not_know() {
    let emulator = auto_approving_emulator();
    let sandbox = logged_in_and_expiring(&emulator);
    let mut document = auth_json(&sandbox);
    let credential = &mut document["profiles"][PROFILE]["oauth_credential"];
    credential["token_type"] = json!("Bearer");
    credential["scope_hint"] = json!({"kept": [1, 2]});
    let old_access = text(&credential["access_token"]);
    write_auth_json(&sandbox, &document);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    assert_eq!(emulator.oauth()["refreshes"], 1);
    let renewed = stored(&sandbox, PROFILE);
    assert_ne!(text(&renewed["access_token"]), old_access);
    assert_eq!(renewed["token_type"], json!("Bearer"));
    assert_eq!(renewed["scope_hint"], json!({"kept": [1, 2]}));
}

/// Commands that wait for another one's renewal wait as long as its refresh request may take:
/// with a token endpoint slower than the usual wait for `auth.json`'s lock, every command still
/// succeeds on the one renewal, none fails on the lock.
#[test]
fn commands_waiting_for_a_slow_renewal_all_succeed_on_it() {
    let emulator = auto_approving_emulator();
    let sandbox = logged_in_and_expiring(&emulator);
    // Longer than the 10 s a change of `auth.json` usually waits for the lock.
    emulator.inject_fault(json!({"path": TOKEN_PATH, "delay_ms": 12_000}));
    let children: Vec<_> = (0..3)
        .map(|_| crate::support::spawn(&sandbox, &["org", "api-key", "list"]))
        .collect();
    for child in children {
        let run = baseten_e2e::finish(child, "org api-key list");
        run.assert_code(0);
    }
    assert_eq!(emulator.oauth()["refreshes"], 1);
}

/// Ctrl-C while a command waits for `auth.json`'s lock before renewing (another command holds
/// it) stops at once: only the renewal itself, from its request until its tokens are saved, holds
/// an interruption back.
#[cfg(unix)]
#[test]
fn ctrl_c_while_waiting_to_renew_stops_at_once() {
    use std::io::{BufRead as _, Read as _};
    let emulator = auto_approving_emulator();
    let sandbox = logged_in_and_expiring(&emulator);
    // Another process changing `auth.json`: this test holds its lock.
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(sandbox.config_dir().join("auth.json.lock"))
        .expect("opens the lock file");
    lock.try_lock().expect("locks");
    let mut child = crate::support::spawn(&sandbox, &["-v", "org", "api-key", "list"]);
    let pid = child.id().to_string();
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("a pipe"));
    let mut seen = String::new();
    while !seen.contains("renewing it") {
        let mut line = String::new();
        let read = stderr.read_line(&mut line).expect("stderr is readable");
        assert!(read > 0, "no renewal was started: {seen}");
        seen.push_str(&line);
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    // A safety bound: the command waits for the lock far longer than this.
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    lock.unlock().expect("unlocks");
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("Ctrl-C was held back while waiting for the lock");
    };
    let mut rest = String::new();
    stderr
        .read_to_string(&mut rest)
        .expect("stderr is readable");
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.ends_with("Canceled.\n"), "{rest}");
    assert!(!rest.contains("Stopping once"), "{rest}");
    assert_eq!(emulator.oauth()["refreshes"], 0);
}

/// Renewing tokens kept in the keyring keeps the fields of the stored JSON this tool does not
/// know, as in `auth.json`.
#[cfg(target_os = "linux")]
#[test]
fn a_renewal_in_the_keyring_keeps_fields_it_does_not_know() {
    let emulator = auto_approving_emulator();
    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    let Some(keyring) = crate::oauth::SecretService::start(&sandbox) else {
        return;
    };
    sandbox.set("DBUS_SESSION_BUS_ADDRESS", &keyring.address);
    web_login(&sandbox, &emulator, &["--profile", "desk"]).assert_code(0);
    let stored: Value =
        serde_json::from_str(&keyring.read("baseten-profile", "desk")).expect("JSON");
    let old_access = text(&stored["access_token"]);
    keyring.store_like_the_reference_tool(
        "baseten-profile",
        "desk",
        &format!(
            r#"{{"access_token":"{old_access}","token_type":"Bearer","refresh_token":"{}","expiry":"2001-01-01T00:00:00Z","extra":{{"kept":true}}}}"#,
            text(&stored["refresh_token"])
        ),
    );
    sandbox
        .run(&["org", "api-key", "list", "--profile", "desk"])
        .assert_code(0);
    assert_eq!(emulator.oauth()["refreshes"], 1);
    let renewed: Value =
        serde_json::from_str(&keyring.read("baseten-profile", "desk")).expect("JSON");
    assert_ne!(text(&renewed["access_token"]), old_access);
    assert_eq!(renewed["token_type"], json!("Bearer"));
    assert_eq!(renewed["extra"], json!({"kept": true}));
    drop(keyring);
}

/// Every way a browser login or a renewal can be refused by an answer that is no OAuth error
/// ends with one error line, the exit code of its status, and a hint saying what to do.
#[test]
fn every_refusal_of_a_browser_login_or_renewal_says_what_to_do() {
    let emulator = auto_approving_emulator();
    let sandbox = Sandbox::new();
    // A remote without browser login.
    emulator.inject_fault(json!({
        "path": AUTHORIZE_PATH, "status": 404, "body": {"detail": "Not Found"}
    }));
    let run = web_login(&sandbox, &emulator, &[]);
    run.assert_code(4);
    assert_eq!(
        run.stderr,
        "error: could not start the browser login: HTTP 404: Not Found\nhint: check the remote \
         (`--remote-url`), or log in with an API key: `baseten auth login --with-api-key \
         --profile NAME`\n"
    );
    // A poll answered by something that is no OAuth error.
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 400, "body": "<html>Bad request</html>"
    }));
    let run = web_login(&sandbox, &emulator, &[]);
    run.assert_code(5);
    assert!(
        run.stderr.ends_with(
            "Waiting...\nerror: could not finish the browser login: HTTP 400: Bad request\nhint: \
             run `baseten auth login --web` again; nothing was stored\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!sandbox.config_dir().join("auth.json").exists());
    // A renewal answered the same way.
    let sandbox = logged_in_and_expiring(&emulator);
    emulator.inject_fault(json!({
        "path": TOKEN_PATH, "status": 404, "body": "<html>Not here</html>"
    }));
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(4);
    assert_eq!(
        run.stderr,
        format!(
            "error: could not list API keys: could not renew the login of profile `{PROFILE}`: \
             HTTP 404: Not here\nhint: try again; if this keeps failing, run `baseten auth login \
             --web`\n"
        )
    );
}

/// Logging out of an OAuth profile whose tokens sit in a keyring that does not answer removes
/// the profile with two warnings, which speak of its tokens, not of an API key.
#[test]
fn logout_with_the_keyring_away_warns_about_the_tokens() {
    let emulator = auto_approving_emulator();
    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    sandbox.set(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", sandbox.home().join("no-bus").display()),
    );
    fs::create_dir_all(sandbox.config_dir()).expect("creates");
    write_auth_json(
        &sandbox,
        &json!({"version": 1, "current": "me@example.com", "profiles": {
            "me@example.com": {"remote_url": emulator.url(), "auth_type": "oauth"}}}),
    );
    let run = sandbox.run(&["auth", "logout"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Logged out me@example.com\n");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with("warning: server-side session revocation failed: "),
        "{}",
        run.stderr
    );
    assert!(
        lines[1].starts_with(
            "warning: the tokens of `me@example.com` may remain in the system keyring: "
        ),
        "{}",
        run.stderr
    );
    assert_eq!(auth_json(&sandbox)["profiles"], json!({}));
}
