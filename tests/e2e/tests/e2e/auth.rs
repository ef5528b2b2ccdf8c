//! The README's profiles and authentication: `auth login | logout | switch | status | list`,
//! profiles in `auth.json` (the reference tool's format), the credential precedence, and the system
//! keyring or its plain-text fallback.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
// Only the keyring tests, which run on Linux, wait on anything.
#[cfg(target_os = "linux")]
use std::time::{Duration, Instant};

use baseten_e2e::{
    BackgroundEmulator, Emulator, Run, Sandbox, baseten_bin, emulator, finish, run_command,
};
use serde_json::{Value, json};

use crate::support::{prefix_of, request_lines};

#[cfg(target_os = "linux")]
const PLAIN_TEXT_WARNING: &str =
    "warning: could not store credentials in system keyring, storing in plain text\n";
const UNKNOWN_PROFILE_HINT: &str =
    "hint: list profiles with `baseten auth list`, or log in with `baseten auth login`\n";

/// `auth login` for `profile` against `emulator`, the key on stdin.
fn login(
    sandbox: &Sandbox,
    emulator: &BackgroundEmulator,
    profile: &str,
    key: &str,
    extra: &[&str],
) -> Run {
    let url = emulator.url();
    let mut args = vec![
        "auth",
        "login",
        "--with-api-key",
        "--profile",
        profile,
        "--remote-url",
        &url,
    ];
    args.extend_from_slice(extra);
    sandbox.run_with_stdin(&args, &format!("{key}\n"))
}

fn auth_file(sandbox: &Sandbox) -> PathBuf {
    sandbox.config_dir().join("auth.json")
}

fn auth_json(sandbox: &Sandbox) -> Value {
    let bytes = fs::read(auth_file(sandbox)).expect("auth.json exists");
    serde_json::from_slice(&bytes).expect("auth.json is JSON")
}

fn write_auth_json(sandbox: &Sandbox, document: &Value) {
    fs::create_dir_all(sandbox.config_dir()).expect("creates the config folder");
    fs::write(
        auth_file(sandbox),
        serde_json::to_string_pretty(document).expect("encodes"),
    )
    .expect("writes auth.json");
}

/// The secret half of a key `prefix.secret`.
fn secret_of(key: &str) -> &str {
    key.split_once('.').map_or(key, |(_, secret)| secret)
}

/// A key the emulator accepts when registered with `Emulator::builder().api_key(…)`.
fn key_with_prefix(prefix: &str) -> String {
    format!("{prefix}.{}", "s3cr3t".repeat(7))
}

/// The names in a folder, sorted.
fn folder_names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .expect("lists the folder")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// What login says when the user chose plain text (`--insecure-storage`, `BASETEN_NO_KEYRING=1`).
fn plain_text_note(sandbox: &Sandbox) -> String {
    format!(
        "note: storing the API key in plain text in {}\n",
        sandbox.config_dir().join("auth.json").display()
    )
}

#[test]
fn login_checks_the_key_stores_the_profile_and_makes_it_current() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let run = login(&sandbox, &emulator, "ci", emulator.api_key(), &[]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "Logged in as emulator@example.com (Emulator Workspace) as profile ci\n"
    );
    // The sandbox sets BASETEN_NO_KEYRING=1: the key is stored inline, with a note saying where
    // (no warning: the user asked for it).
    assert_eq!(run.stderr, plain_text_note(&sandbox));
    assert_eq!(request_lines(&emulator), ["GET /v1/users/me"]);
    assert_eq!(
        auth_json(&sandbox),
        json!({
            "version": 1,
            "current": "ci",
            "profiles": {"ci": {
                "remote_url": emulator.url(),
                "auth_type": "api_key",
                "api_key": emulator.api_key(),
            }},
        })
    );
}

#[test]
fn login_prints_the_user_as_json() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let run = login(
        &sandbox,
        &emulator,
        "ci",
        emulator.api_key(),
        &["-o", "json"],
    );
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "{\n  \"profile\": \"ci\",\n  \"user_id\": \"user-emulator\",\n  \"email\": \
         \"emulator@example.com\",\n  \"name\": \"Emulator User\",\n  \"workspace_name\": \
         \"Emulator Workspace\"\n}\n"
    );
    let run = login(
        &sandbox,
        &emulator,
        "ci",
        emulator.api_key(),
        &["--jq", ".email"],
    );
    run.assert_code(0);
    assert_eq!(run.stdout, "emulator@example.com\n");
}

#[test]
fn a_logged_in_profile_serves_org_api_key_with_no_environment_variables() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    login(&sandbox, &emulator, "work", emulator.api_key(), &[]).assert_code(0);
    // No BASETEN_API_KEY, no BASETEN_PROFILE, no API override: the current profile's remote.
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains(&format!("{}****", prefix_of(emulator.api_key()))),
        "{}",
        run.stdout
    );
    let run = sandbox.run(&[
        "org",
        "api-key",
        "create",
        "--type",
        "personal",
        "--name",
        "via-profile",
    ]);
    run.assert_code(0);
    let run = sandbox.run(&["org", "api-key", "delete", "--name", "via-profile"]);
    run.assert_code(0);
    assert_eq!(
        request_lines(&emulator),
        [
            "GET /v1/users/me",
            "GET /v1/api_keys",
            "POST /v1/api_keys",
            "GET /v1/api_keys",
            &format!(
                "DELETE /v1/api_keys/{}",
                run.stderr.trim_end().trim_start_matches("Deleted API key ")
            ),
        ]
    );
}

#[test]
fn a_rejected_key_stores_nothing() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let wrong = "abcdefgh.wrongwrongwrongwrongwrongwrongwrong";
    let run = login(&sandbox, &emulator, "ci", wrong, &[]);
    run.assert_code(3);
    assert!(
        run.stderr
            .starts_with("error: the API key was rejected: HTTP 401"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(
            "hint: check the key and the remote it belongs to (`--remote-url`); nothing was \
             stored\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wrongwrong"), "{}", run.stderr);
    assert!(!sandbox.config_dir().exists());

    // With profiles stored, a rejected key leaves the file as it was.
    login(&sandbox, &emulator, "good", emulator.api_key(), &[]).assert_code(0);
    let before = fs::read(auth_file(&sandbox)).expect("reads");
    login(&sandbox, &emulator, "good", wrong, &[]).assert_code(3);
    login(&sandbox, &emulator, "other", wrong, &["--insecure-storage"]).assert_code(3);
    assert_eq!(fs::read(auth_file(&sandbox)).expect("reads"), before);
}

#[test]
fn login_usage_errors_are_exit_2_and_send_nothing() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let url = emulator.url();
    let key = format!("{}\n", emulator.api_key());

    let run = sandbox.run_with_stdin(&["auth", "login", "--with-api-key"], &key);
    run.assert_code(2);
    assert_eq!(
        run.stderr,
        "error: `--profile` is required for `auth login`\n\
         hint: run `baseten auth login --with-api-key --profile NAME`\n"
    );

    let run = sandbox.run_with_stdin(
        &[
            "auth",
            "login",
            "--with-api-key",
            "--profile",
            "ci",
            "--remote-url",
            &url,
        ],
        "\n",
    );
    run.assert_code(2);
    assert!(
        run.stderr.starts_with("error: no API key given on stdin\n"),
        "{}",
        run.stderr
    );

    let run = sandbox.run_with_stdin(&["auth", "login", "--profile", "ci"], &key);
    run.assert_code(2);
    assert!(run.stderr.contains("--with-api-key"), "{}", run.stderr);

    // A key typed where the profile name belongs would be stored and listed in the clear.
    let typed = emulator.api_key().to_owned();
    let run = sandbox.run_with_stdin(
        &[
            "auth",
            "login",
            "--with-api-key",
            "--profile",
            &typed,
            "--remote-url",
            &url,
        ],
        &key,
    );
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error: the profile name looks like an API key"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(secret_of(&typed)), "{}", run.stderr);
    assert!(!auth_file(&sandbox).exists());

    for (remote, why) in [
        (
            "https://app.baseten.co/v1",
            "it may not have a path, query or fragment",
        ),
        (
            "https://app.baseten.co?x=1",
            "it may not have a path, query or fragment",
        ),
        (
            "http://example.invalid",
            "plain http is only allowed to this machine (127.0.0.1, ::1, localhost)",
        ),
    ] {
        let run = sandbox.run_with_stdin(
            &[
                "auth",
                "login",
                "--with-api-key",
                "--profile",
                "ci",
                "--remote-url",
                remote,
            ],
            &key,
        );
        run.assert_code(2);
        assert!(
            run.stderr
                .starts_with(&format!("error: invalid remote URL `{remote}`: {why}\n")),
            "{}",
            run.stderr
        );
    }
    assert!(request_lines(&emulator).is_empty());
    assert!(!sandbox.config_dir().exists());
}

#[test]
fn status_names_the_source_and_masks_the_key() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let url = emulator.url();
    let key = emulator.api_key();
    login(&sandbox, &emulator, "ci", key, &[]).assert_code(0);

    let run = sandbox.run(&["auth", "status"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "credential: profile ci (the current profile)\n\
             remote:     {url}\n\
             API:        {url}\n\
             auth type:  api_key\n\
             stored in:  auth.json (plain text)\n\
             API key:    {}.****\n",
            prefix_of(key)
        )
    );
    assert_eq!(run.stderr, "");

    let run = sandbox.run(&["auth", "status", "-o", "json", "-vv"]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        json!({
            "source": "profile",
            "profile": "ci",
            "chosen_by": "current",
            "remote_url": url,
            "api_base": url,
            "auth_type": "api_key",
            "storage": "file",
            "api_key": format!("{}.****", prefix_of(key)),
        })
    );
    assert!(!run.stdout.contains(secret_of(key)) && !run.stderr.contains(secret_of(key)));

    let mut with_key = Sandbox::new();
    with_key.set("BASETEN_API_KEY", key);
    let run = with_key.run(&["auth", "status"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "credential: BASETEN_API_KEY\n\
             remote:     https://app.baseten.co\n\
             API:        https://api.baseten.co\n\
             auth type:  api_key\n\
             stored in:  environment (BASETEN_API_KEY)\n\
             API key:    {}.****\n",
            prefix_of(key)
        )
    );

    // Status reads; it sends nothing.
    assert_eq!(request_lines(&emulator), ["GET /v1/users/me"]);

    let run = Sandbox::new().run(&["auth", "status"]);
    run.assert_code(3);
    assert_eq!(
        run.stderr,
        "error: not logged in\nhint: run `baseten auth login` or set BASETEN_API_KEY\n"
    );
}

#[test]
fn the_key_never_appears_in_logs_or_errors() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let key = emulator.api_key();
    let run = login(&sandbox, &emulator, "ci", key, &["-vv"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("authorization: Api-Key <redacted>"),
        "{}",
        run.stderr
    );
    // Errors, each from a server that echoes the key back: the error line is there, the key is not.
    let echo = json!({"message": format!("bad key {key}, secret {}", secret_of(key))});
    emulator.inject_fault(json!({
        "method": "GET", "path": "/v1/api_keys", "status": 500, "body": echo,
    }));
    let failed_list = sandbox.run(&["org", "api-key", "list", "-vv"]);
    failed_list.assert_code(6);
    emulator.inject_fault(json!({
        "method": "GET", "path": "/v1/users/me", "status": 401, "body": echo,
    }));
    let failed_login = login(&sandbox, &emulator, "other", key, &["-vv"]);
    failed_login.assert_code(3);
    for (run, error) in [
        (&failed_list, "error: could not list API keys: HTTP 500: "),
        (&failed_login, "error: the API key was rejected: HTTP 401: "),
    ] {
        assert!(
            run.stderr.lines().any(|line| line.starts_with(error)),
            "no {error:?} in:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains("<redacted>"), "{}", run.stderr);
    }

    for run in [
        run,
        sandbox.run(&["auth", "status", "-vv"]),
        sandbox.run(&["auth", "list", "-vv", "-o", "json"]),
        sandbox.run(&["org", "api-key", "list", "-vv"]),
        failed_list,
        failed_login,
        sandbox.run(&["auth", "logout", "-vv"]),
    ] {
        assert!(
            !run.stdout.contains(secret_of(key)) && !run.stderr.contains(secret_of(key)),
            "the key leaked: {run:?}"
        );
    }
}

#[test]
fn the_api_base_follows_the_profile_remote() {
    let sandbox = Sandbox::new();
    let key = key_with_prefix("abcdefgh");
    let profile =
        |remote: &str| json!({"remote_url": remote, "auth_type": "api_key", "api_key": key});
    write_auth_json(
        &sandbox,
        &json!({"version": 1, "profiles": {
            "default": {"auth_type": "api_key", "api_key": key},
            "app": profile("https://app.staging.baseten.co"),
            "bare": profile("https://example.test:8443"),
            "local": profile("http://localhost:9"),
            "ip": profile("https://10.1.2.3"),
            "path": profile("https://app.baseten.co/extra"),
            "plain": profile("http://example.test"),
        }}),
    );
    for (name, api_base) in [
        ("default", "https://api.baseten.co"),
        ("app", "https://api.staging.baseten.co"),
        ("bare", "https://api.example.test:8443"),
        ("local", "http://localhost:9"),
        ("ip", "https://10.1.2.3"),
    ] {
        let run = sandbox.run(&["auth", "status", "--profile", name, "-o", "json"]);
        run.assert_code(0);
        assert_eq!(run.json()["api_base"], api_base, "{name}");
    }
    for (name, remote) in [
        ("path", "https://app.baseten.co/extra"),
        ("plain", "http://example.test"),
    ] {
        let run = sandbox.run(&["org", "api-key", "list", "--profile", name]);
        run.assert_code(2);
        assert!(
            run.stderr
                .starts_with(&format!("error: invalid remote URL `{remote}`: ")),
            "{}",
            run.stderr
        );
    }
    // The override wins over every remote.
    let mut overridden = Sandbox::new();
    overridden.set("BASETEN_CONFIG_DIR", sandbox.config_dir());
    overridden.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", "http://127.0.0.1:9");
    let run = overridden.run(&["auth", "status", "--profile", "app", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["api_base"], "http://127.0.0.1:9");
    assert_eq!(run.json()["remote_url"], "https://app.staging.baseten.co");
}

#[test]
fn an_unknown_profile_is_exit_3_with_a_hint() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    login(&sandbox, &emulator, "ci", emulator.api_key(), &[]).assert_code(0);
    let expected = format!("error: unknown profile `nope`\n{UNKNOWN_PROFILE_HINT}");

    let mut by_variable = Sandbox::new();
    by_variable.set("BASETEN_CONFIG_DIR", sandbox.config_dir());
    by_variable.set("BASETEN_PROFILE", "nope");
    for run in [
        sandbox.run(&["org", "api-key", "list", "--profile", "nope"]),
        sandbox.run(&["auth", "status", "--profile", "nope"]),
        sandbox.run(&["auth", "switch", "--profile", "nope"]),
        sandbox.run(&["auth", "logout", "--profile", "nope"]),
        by_variable.run(&["org", "api-key", "list"]),
    ] {
        run.assert_code(3);
        assert_eq!(run.stderr, expected);
    }

    // A current profile that is not stored is unknown too.
    let mut document = auth_json(&sandbox);
    document["current"] = json!("nope");
    write_auth_json(&sandbox, &document);
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(3);
    assert_eq!(run.stderr, expected);
    assert_eq!(request_lines(&emulator), ["GET /v1/users/me"]);
}

#[test]
fn the_credential_follows_the_precedence_in_every_combination() {
    let flag_key = key_with_prefix("flagflag");
    let environment_key = key_with_prefix("envkey00");
    let variable_key = key_with_prefix("envprofl");
    let current_key = key_with_prefix("current0");
    let emulator = Emulator::builder()
        .api_key(&flag_key)
        .api_key(&environment_key)
        .api_key(&variable_key)
        .api_key(&current_key)
        .start_in_background()
        .expect("the emulator starts");
    let mut sandbox = Sandbox::new();
    login(&sandbox, &emulator, "flagged", &flag_key, &[]).assert_code(0);
    login(&sandbox, &emulator, "variable", &variable_key, &[]).assert_code(0);
    login(&sandbox, &emulator, "current", &current_key, &[]).assert_code(0);
    let with_current = auth_json(&sandbox);
    let mut without_current = with_current.clone();
    without_current
        .as_object_mut()
        .expect("an object")
        .remove("current");

    for combination in 0..16 {
        let flag = combination & 1 != 0;
        let api_key = combination & 2 != 0;
        let variable = combination & 4 != 0;
        let current = combination & 8 != 0;
        write_auth_json(
            &sandbox,
            if current {
                &with_current
            } else {
                &without_current
            },
        );
        if api_key {
            sandbox.set("BASETEN_API_KEY", &environment_key);
        } else {
            sandbox.unset("BASETEN_API_KEY");
        }
        if variable {
            sandbox.set("BASETEN_PROFILE", "variable");
        } else {
            sandbox.unset("BASETEN_PROFILE");
        }
        let mut args = vec!["auth", "status", "-o", "json"];
        if flag {
            args.extend(["--profile", "flagged"]);
        }
        let run = sandbox.run(&args);
        let expected = if flag {
            Some(("flagflag", "--profile"))
        } else if api_key {
            Some(("envkey00", "BASETEN_API_KEY"))
        } else if variable {
            Some(("envprofl", "BASETEN_PROFILE"))
        } else if current {
            Some(("current0", "current"))
        } else {
            None
        };
        let context = format!(
            "--profile: {flag}, BASETEN_API_KEY: {api_key}, BASETEN_PROFILE: {variable}, \
             current: {current}; {run:?}"
        );
        match expected {
            Some((prefix, chosen_by)) => {
                assert_eq!(run.code, 0, "{context}");
                let status = run.json();
                assert_eq!(status["api_key"], format!("{prefix}.****"), "{context}");
                if chosen_by == "BASETEN_API_KEY" {
                    assert_eq!(status["source"], "environment", "{context}");
                } else {
                    assert_eq!(status["chosen_by"], chosen_by, "{context}");
                }
            }
            None => {
                assert_eq!(run.code, 3, "{context}");
                assert!(
                    run.stderr.starts_with("error: not logged in\n"),
                    "{context}"
                );
            }
        }
    }
}

#[test]
fn switch_and_logout_round_trip() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    login(&sandbox, &emulator, "a", emulator.api_key(), &[]).assert_code(0);
    login(&sandbox, &emulator, "b", emulator.api_key(), &[]).assert_code(0);
    assert_eq!(auth_json(&sandbox)["current"], "b");

    let run = sandbox.run(&["auth", "switch", "--profile", "a"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Switched to a\n");
    assert_eq!(auth_json(&sandbox)["current"], "a");
    let run = sandbox.run(&["auth", "switch", "--profile", "b", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json(), json!({"profile": "b"}));

    let run = sandbox.run(&["auth", "logout"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Logged out b\n");
    assert_eq!(run.stderr, "");
    let document = auth_json(&sandbox);
    assert_eq!(document.get("current"), None);
    assert_eq!(
        document["profiles"]
            .as_object()
            .expect("profiles")
            .keys()
            .collect::<Vec<_>>(),
        ["a"]
    );
    sandbox.run(&["auth", "status"]).assert_code(3);

    let run = sandbox.run(&["auth", "logout", "--profile", "a", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json(), json!({"profile": "a"}));
    assert_eq!(auth_json(&sandbox)["profiles"], json!({}));

    let run = sandbox.run(&["auth", "logout"]);
    run.assert_code(3);
    assert_eq!(
        run.stderr,
        "error: not logged in: there is no current profile\n\
         hint: name the profile to log out of with `--profile NAME`\n"
    );
    let run = sandbox.run(&["auth", "switch"]);
    run.assert_code(2);
    assert_eq!(
        run.stderr,
        "error: `--profile` is required for `auth switch`\n\
         hint: run `baseten auth switch --profile NAME`\n"
    );
}

#[test]
fn no_switch_keeps_the_current_profile() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    login(&sandbox, &emulator, "main", emulator.api_key(), &[]).assert_code(0);
    login(
        &sandbox,
        &emulator,
        "side",
        emulator.api_key(),
        &["--no-switch"],
    )
    .assert_code(0);
    let document = auth_json(&sandbox);
    assert_eq!(document["current"], "main");
    assert!(document["profiles"]["side"].is_object());
}

#[test]
fn list_shows_each_profile_its_remote_type_and_the_current_one() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let url = emulator.url();
    let run = sandbox.run(&["auth", "list"]);
    run.assert_code(0);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("", "No profiles found.\n")
    );

    login(&sandbox, &emulator, "zeta", emulator.api_key(), &[]).assert_code(0);
    login(
        &sandbox,
        &emulator,
        "alpha",
        emulator.api_key(),
        &["--no-switch"],
    )
    .assert_code(0);
    let run = sandbox.run(&["auth", "list"]);
    run.assert_code(0);
    let width = url.len() + 2;
    assert_eq!(
        run.stdout,
        format!(
            "PROFILE  {:<width$}AUTH TYPE  CURRENT\n\
             alpha    {url:<width$}api_key\n\
             zeta     {url:<width$}api_key    *\n",
            "REMOTE"
        )
    );
    let run = sandbox.run(&["auth", "list", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        json!({"profiles": [
            {"name": "alpha", "remote_url": url, "auth_type": "api_key", "current": false},
            {"name": "zeta", "remote_url": url, "auth_type": "api_key", "current": true},
        ]})
    );
}

#[cfg(unix)]
#[test]
fn the_config_folder_and_file_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| fs::metadata(path).expect("exists").permissions().mode() & 0o777;
    let emulator = emulator();
    let sandbox = Sandbox::new();
    login(&sandbox, &emulator, "ci", emulator.api_key(), &[]).assert_code(0);
    assert_eq!(mode(&sandbox.config_dir()), 0o700);
    assert_eq!(mode(&auth_file(&sandbox)), 0o600);

    // A file another tool left readable by others is private once rewritten.
    fs::set_permissions(auth_file(&sandbox), fs::Permissions::from_mode(0o644)).expect("chmod");
    login(&sandbox, &emulator, "two", emulator.api_key(), &[]).assert_code(0);
    assert_eq!(mode(&auth_file(&sandbox)), 0o600);
    assert_eq!(
        folder_names(&sandbox.config_dir()),
        ["auth.json", "auth.json.lock"]
    );
}

#[test]
fn a_file_written_by_the_reference_tool_is_read_and_its_unknown_fields_survive() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let url = emulator.url();
    let legacy = json!({
        "remote_url": url,
        "auth_type": "api_key",
        "api_key": emulator.api_key(),
        "created_at": "2025-01-02T03:04:05Z",
        "labels": {"team": "ml"},
    });
    // As the Go tool writes it: tab-indented, its own fields beside ours.
    let text = format!(
        "{{\n\t\"version\": 1,\n\t\"current\": \"legacy\",\n\t\"telemetry\": {{\"opt_out\": \
         true}},\n\t\"profiles\": {{\n\t\t\"legacy\": {legacy}\n\t}},\n\t\"updated_by\": \
         \"baseten-go/0.9.1\"\n}}\n"
    );
    fs::create_dir_all(sandbox.config_dir()).expect("creates the config folder");
    fs::write(auth_file(&sandbox), &text).expect("writes");

    let run = sandbox.run(&["auth", "list"]);
    run.assert_code(0);
    assert!(run.stdout.contains("legacy"), "{}", run.stdout);
    let run = sandbox.run(&["auth", "status", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["profile"], "legacy");
    assert_eq!(run.json()["storage"], "file");
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);

    login(
        &sandbox,
        &emulator,
        "new",
        emulator.api_key(),
        &["--no-switch"],
    )
    .assert_code(0);
    let document = auth_json(&sandbox);
    assert_eq!(document["version"], 1);
    assert_eq!(document["current"], "legacy");
    assert_eq!(document["telemetry"], json!({"opt_out": true}));
    assert_eq!(document["updated_by"], "baseten-go/0.9.1");
    assert_eq!(document["profiles"]["legacy"], legacy);
    assert_eq!(document["profiles"]["new"]["auth_type"], "api_key");

    // Logging in again to the same profile keeps its unknown fields too.
    login(&sandbox, &emulator, "legacy", emulator.api_key(), &[]).assert_code(0);
    let document = auth_json(&sandbox);
    assert_eq!(
        document["profiles"]["legacy"]["labels"],
        json!({"team": "ml"})
    );
    assert_eq!(
        document["profiles"]["legacy"]["created_at"],
        "2025-01-02T03:04:05Z"
    );
    let keys: Vec<&String> = document.as_object().expect("an object").keys().collect();
    assert_eq!(
        keys,
        ["version", "current", "telemetry", "profiles", "updated_by"]
    );
}

#[test]
fn a_corrupt_file_is_reported_and_left_byte_for_byte() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let bytes: &[u8] = b"{\"version\": 1, \"profiles\": {\"ci\": {\"remote_url\": \xff\n";
    fs::create_dir_all(sandbox.config_dir()).expect("creates the config folder");
    fs::write(auth_file(&sandbox), bytes).expect("writes");
    let expected = format!(
        "error: corrupt profile file `{}`: ",
        auth_file(&sandbox).display()
    );
    let runs = [
        login(&sandbox, &emulator, "ci", emulator.api_key(), &[]),
        login(
            &sandbox,
            &emulator,
            "ci",
            emulator.api_key(),
            &["--insecure-storage"],
        ),
        sandbox.run(&["auth", "status"]),
        sandbox.run(&["auth", "list"]),
        sandbox.run(&["auth", "switch", "--profile", "ci"]),
        sandbox.run(&["auth", "logout"]),
        sandbox.run(&["auth", "logout", "--profile", "ci"]),
        sandbox.run(&["org", "api-key", "list"]),
    ];
    for run in runs {
        run.assert_code(1);
        assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
        assert!(
            run.stderr
                .ends_with("hint: fix or remove the file; it is left as it is\n"),
            "{}",
            run.stderr
        );
        assert_eq!(fs::read(auth_file(&sandbox)).expect("reads"), bytes);
    }
    assert_eq!(folder_names(&sandbox.config_dir()), ["auth.json"]);
    assert!(request_lines(&emulator).is_empty());
}

#[test]
fn twenty_concurrent_logins_leave_a_valid_file_with_all_twenty() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let url = emulator.url();
    let names: Vec<String> = (0..20).map(|index| format!("p{index:02}")).collect();
    let mut children = Vec::new();
    for name in &names {
        let mut command = sandbox.command(&baseten_bin());
        command
            .args(["auth", "login", "--with-api-key", "--profile", name])
            .args(["--remote-url", &url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        children.push(command.spawn().expect("starts"));
    }
    // All are started before any gets its key, so their writes overlap.
    for child in &mut children {
        let mut stdin = child.stdin.take().expect("a stdin");
        stdin
            .write_all(format!("{}\n", emulator.api_key()).as_bytes())
            .expect("writes the key");
    }
    for child in children {
        finish(child, "auth login").assert_code(0);
    }
    let document = auth_json(&sandbox);
    let mut stored: Vec<&String> = document["profiles"]
        .as_object()
        .expect("profiles")
        .keys()
        .collect();
    stored.sort();
    assert_eq!(stored, names.iter().collect::<Vec<_>>());
    for name in &names {
        assert_eq!(document["profiles"][name]["remote_url"], url.as_str());
    }
    assert!(
        names
            .iter()
            .any(|name| document["current"] == name.as_str())
    );
    assert_eq!(
        folder_names(&sandbox.config_dir()),
        ["auth.json", "auth.json.lock"]
    );
    let run = sandbox.run(&["auth", "list", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json()["profiles"].as_array().map(Vec::len),
        Some(names.len())
    );
}

/// A sandbox that may use a keyring, pointed at a D-Bus address where none answers (so that a
/// developer's own keyring is never touched).
#[cfg(target_os = "linux")]
fn sandbox_with_bus(address: &str) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    sandbox.set("DBUS_SESSION_BUS_ADDRESS", address);
    sandbox
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_keyring_the_key_is_stored_in_plain_text_with_the_warning() {
    let emulator = emulator();
    let sandbox = sandbox_with_bus("unix:path=/nonexistent/baseten-e2e/bus");
    let run = login(&sandbox, &emulator, "ci", emulator.api_key(), &[]);
    run.assert_code(0);
    assert_eq!(run.stderr, PLAIN_TEXT_WARNING);
    assert_eq!(
        auth_json(&sandbox)["profiles"]["ci"]["api_key"],
        emulator.api_key()
    );
    let run = sandbox.run(&["auth", "status"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("stored in:  auth.json (plain text)\n"),
        "{}",
        run.stdout
    );
    let run = sandbox.run(&["auth", "logout"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
}

#[cfg(target_os = "linux")]
#[test]
fn a_keyring_that_never_answers_is_given_up_on_after_3_seconds() {
    use std::os::unix::net::UnixListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let emulator = emulator();
    let folder = tempfile::tempdir().expect("a temp folder");
    let socket = folder.path().join("bus");
    let listener = UnixListener::bind(&socket).expect("binds");
    listener.set_nonblocking(true).expect("non-blocking");
    let stop = Arc::new(AtomicBool::new(false));
    let holder = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            // Accepts connections and never says a word.
            let mut held = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok((stream, _)) = listener.accept() {
                    held.push(stream);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let sandbox = sandbox_with_bus(&format!("unix:path={}", socket.display()));
    let started = Instant::now();
    let run = login(&sandbox, &emulator, "ci", emulator.api_key(), &[]);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    holder.join().expect("the socket thread ends");
    run.assert_code(0);
    assert_eq!(run.stderr, PLAIN_TEXT_WARNING);
    assert!(
        elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(20),
        "{elapsed:?}"
    );
    assert_eq!(
        auth_json(&sandbox)["profiles"]["ci"]["api_key"],
        emulator.api_key()
    );
}

/// With a real Secret Service (a private D-Bus session and `gnome-keyring-daemon`, as `.ci/run`
/// installs them), the key goes to the keyring and never into `auth.json`; `logout` removes it.
/// Where they are not installed, this says so and checks nothing (under CI it fails): the
/// fallback has its own test.
#[cfg(target_os = "linux")]
#[test]
fn with_a_secret_service_the_key_stays_out_of_auth_json() {
    if !baseten_e2e::programs_installed(
        &["dbus-run-session", "gnome-keyring-daemon"],
        "the system keyring path",
    ) {
        return;
    }
    let emulator = emulator();
    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    let home = sandbox.home().to_path_buf();
    let key = emulator.api_key();
    fs::write(home.join("key.txt"), format!("{key}\n")).expect("writes the key file");
    // After logout, a profile naming `desk` again, without a key: only the keyring could hold it.
    fs::write(
        home.join("desk-without-key.json"),
        json!({"version": 1, "profiles": {"desk": {
            "remote_url": emulator.url(), "auth_type": "api_key"}}})
        .to_string(),
    )
    .expect("writes");
    let script = format!(
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90\n\
         b='{baseten}'\n\
         step() {{ name=$1; shift; \"$b\" \"$@\" >\"$name.out\" 2>\"$name.err\"; echo $? >\"$name.code\"; }}\n\
         step login auth login --with-api-key --profile desk --remote-url {url} <key.txt\n\
         cp .config/baseten/auth.json after-login.json\n\
         step status auth status\n\
         step list org api-key list\n\
         step plain auth login --with-api-key --profile plain --remote-url {url} --insecure-storage <key.txt\n\
         step logout auth logout --profile desk\n\
         cp desk-without-key.json .config/baseten/auth.json\n\
         step gone auth status --profile desk\n",
        baseten = baseten_bin().display(),
        url = emulator.url(),
    );
    let mut command = sandbox.command(Path::new("dbus-run-session"));
    command.args(["--", "sh", "-c", &script]);
    let run = run_command(command, "");
    assert_eq!(run.code, 0, "{run:?}");
    let read = |name: &str| fs::read_to_string(home.join(name)).unwrap_or_default();
    let step = |name: &str| {
        (
            read(&format!("{name}.code")).trim().to_owned(),
            read(&format!("{name}.out")),
            read(&format!("{name}.err")),
        )
    };

    let (code, stdout, stderr) = step("login");
    assert_eq!(code, "0", "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "Logged in as emulator@example.com (Emulator Workspace) as profile desk\n"
    );
    assert_eq!(stderr, "", "no plain-text warning with a keyring");
    let stored: Value = serde_json::from_str(&read("after-login.json")).expect("JSON");
    assert_eq!(
        stored["profiles"]["desk"],
        json!({"remote_url": emulator.url(), "auth_type": "api_key"})
    );
    assert!(!read("after-login.json").contains(secret_of(key)));

    let (code, stdout, stderr) = step("status");
    assert_eq!(code, "0", "{stderr}");
    assert!(stdout.contains("stored in:  system keyring\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("API key:    {}.****\n", prefix_of(key))),
        "{stdout}"
    );
    let (code, _, stderr) = step("list");
    assert_eq!(code, "0", "org api-key list through the keyring: {stderr}");

    let (code, _, stderr) = step("plain");
    assert_eq!(code, "0", "{stderr}");
    assert_eq!(stderr, plain_text_note(&sandbox));

    let (code, stdout, _) = step("logout");
    assert_eq!((code.as_str(), stdout.as_str()), ("0", "Logged out desk\n"));
    let (code, _, stderr) = step("gone");
    assert_eq!(code, "3", "the keyring still holds the key: {stderr}");
    assert!(
        stderr.starts_with("error: profile `desk` has no stored API key\n"),
        "{stderr}"
    );
}

#[test]
fn at_a_terminal_the_key_is_asked_for_without_echo() {
    if !baseten_e2e::programs_installed(&["script"], "the terminal prompt") {
        return;
    }
    let emulator = emulator();
    let sandbox = Sandbox::new();
    let key = emulator.api_key();
    fs::write(sandbox.home().join("key.txt"), format!("{key}\n")).expect("writes the key file");
    let command_line = format!(
        "{} auth login --with-api-key --profile tty --remote-url {}",
        baseten_bin().display(),
        emulator.url()
    );
    // The key is typed once the prompt is up, as a person would.
    let mut command = sandbox.command(Path::new("sh"));
    command.args([
        "-c",
        &format!("(sleep 1; cat key.txt) | script -qec '{command_line}' /dev/null"),
    ]);
    let run = run_command(command, "");
    run.assert_code(0);
    assert!(run.stdout.contains("Paste your API key: "), "{run:?}");
    assert!(
        run.stdout
            .contains("Logged in as emulator@example.com (Emulator Workspace) as profile tty"),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains(secret_of(key)),
        "the key was echoed: {run:?}"
    );
    assert_eq!(auth_json(&sandbox)["profiles"]["tty"]["api_key"], key);
}
