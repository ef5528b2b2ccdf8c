//! The README's reliability rules for secrets and the terminal: no secret on stderr (errors, hints,
//! notices, prompts, logs), no key typed as an argument sent or echoed, and nothing from outside
//! that drives the terminal.

use std::fs;

use baseten_e2e::{Run, Sandbox, emulator, run_command};
use serde_json::{Value, json};

use crate::support::{prefix_of, request_lines};

/// A key that is not the credential in use: only its shape can give it away.
const FOREIGN_KEY: &str = "Zyxw9876.foreignsecretforeignsecret42";
/// What a terminal would obey: set the window title, clear the screen, a C1 CSI, a bell.
const CONTROL: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";

/// The secret half of a key `prefix.secret`.
fn secret_of(key: &str) -> &str {
    key.split_once('.').map_or(key, |(_, secret)| secret)
}

#[track_caller]
fn assert_no_control_characters(text: &str) {
    assert!(
        !text
            .chars()
            .any(|character| character.is_control() && character != '\n'),
        "a control character got through: {text:?}"
    );
}

#[track_caller]
fn assert_hidden(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stderr.contains(secret),
            "`{secret}` leaked to stderr:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_server_echoing_keys_in_errors_gets_them_redacted_for_every_status() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = emulator.api_key().to_owned();
    for (status, code) in [(400, 5), (401, 3), (500, 6)] {
        emulator.inject_fault(json!({
            "method": "GET",
            "path": "/v1/api_keys",
            "status": status,
            "body": {"message": format!(
                "invalid key {key}; secret {}; also {FOREIGN_KEY}", secret_of(&key)
            )},
        }));
        let run = sandbox.run(&["org", "api-key", "list"]);
        run.assert_code(code);
        assert_hidden(&run, &[secret_of(&key), secret_of(FOREIGN_KEY)]);
        assert!(run.stderr.contains("<redacted>"), "{}", run.stderr);
        assert!(
            run.stderr
                .starts_with(&format!("error: could not list API keys: HTTP {status}")),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn secret_fields_in_a_server_error_are_redacted() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    emulator.inject_fault(json!({
        "path": "/v1/api_keys",
        "status": 400,
        "body": {"message": {"reason": "bad", "access_token": "tok-123-abc", "Password": "hunter2"}},
    }));
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(5);
    assert_hidden(&run, &["tok-123-abc", "hunter2"]);
    assert!(run.stderr.contains("bad"), "{}", run.stderr);
}

#[test]
fn the_secret_part_of_a_key_typed_to_login_is_redacted_when_echoed() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let typed = "Qwer5678.typedatloginsecret";
    emulator.inject_fault(json!({
        "path": "/v1/users/me",
        "status": 401,
        "body": {"message": format!("no such secret: {}", secret_of(typed))},
    }));
    let run = sandbox.run_with_stdin(
        &["auth", "login", "--with-api-key", "--profile", "p"],
        &format!("{typed}\n"),
    );
    run.assert_code(3);
    assert_hidden(&run, &[secret_of(typed)]);
    assert!(run.stderr.contains("<redacted>"), "{}", run.stderr);
}

#[test]
fn a_notice_quoting_the_server_is_scrubbed() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    emulator.inject_fault(json!({
        "method": "DELETE",
        "path": "/v1/api_keys/abcd1234",
        "status": 200,
        "body": {"prefix": format!("{FOREIGN_KEY} {CONTROL}")},
    }));
    let run = sandbox.run(&["org", "api-key", "delete", "--prefix", "abcd1234"]);
    run.assert_code(0);
    assert_hidden(&run, &[secret_of(FOREIGN_KEY)]);
    assert_no_control_characters(&run.stderr);
    assert!(
        run.stderr.starts_with("Deleted API key <redacted>"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_whole_key_given_as_a_prefix_is_refused_unsent_and_unechoed() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = emulator.api_key().to_owned();
    for prefix in [key.as_str(), "abcd12345", "ab/cd"] {
        let run = sandbox.run(&["org", "api-key", "delete", "--prefix", prefix]);
        run.assert_code(2);
        assert!(
            run.stderr
                .starts_with("error: invalid value for `--prefix`: "),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains(prefix), "{}", run.stderr);
    }
    let run = sandbox.run(&["org", "api-key", "delete", "--prefix", &key]);
    assert!(
        run.stderr
            .contains(&format!("({} characters)", key.chars().count())),
        "{}",
        run.stderr
    );
    assert!(request_lines(&emulator).is_empty());
}

#[test]
fn a_key_typed_as_a_name_team_profile_or_jq_is_not_echoed() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for (args, code) in [
        (vec!["org", "api-key", "delete", "--name", FOREIGN_KEY], 4),
        (
            vec![
                "org",
                "api-key",
                "create",
                "--type",
                "personal",
                "--team",
                FOREIGN_KEY,
            ],
            4,
        ),
        (vec!["org", "api-key", "list", "--profile", FOREIGN_KEY], 3),
        (vec!["org", "api-key", "list", "--jq", FOREIGN_KEY], 2),
        (
            vec![
                "org",
                "api-key",
                "list",
                "--jq",
                &format!(". | {FOREIGN_KEY}"),
            ],
            2,
        ),
    ] {
        let run = sandbox.run(&args);
        run.assert_code(code);
        assert_hidden(&run, &[secret_of(FOREIGN_KEY)]);
        assert!(
            run.stderr.contains("<redacted>"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_key_typed_as_a_flag_is_not_echoed() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let credential = emulator.api_key().to_owned();
    for key in [FOREIGN_KEY, credential.as_str()] {
        let flag = format!("--{key}");
        let run = sandbox.run(&["org", "api-key", "list", &flag]);
        run.assert_code(2);
        assert_hidden(&run, &[secret_of(key)]);
        assert!(run.stderr.contains("<redacted>"), "{}", run.stderr);
    }
}

#[test]
fn a_password_in_a_url_is_not_echoed() {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", FOREIGN_KEY);
    sandbox.set(
        "BASETEN_MANAGEMENT_API_URL_OVERRIDE",
        "http://user:hunter2pass@127.0.0.1:1/path",
    );
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(2);
    assert!(!run.stderr.contains("hunter2pass"), "{}", run.stderr);
    assert!(run.stderr.contains("user:<redacted>@"), "{}", run.stderr);
}

#[test]
fn a_huge_value_echoed_in_an_error_is_shortened() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let name = "n".repeat(100_000);
    let run = sandbox.run(&["org", "api-key", "delete", "--name", &name]);
    run.assert_code(4);
    let error = run.stderr.lines().next().unwrap_or_default();
    assert!(error.len() < 1200, "{} bytes", error.len());
    assert!(error.starts_with("error: no API key named"), "{error}");
    assert!(error.contains("characters not shown"), "{error}");
}

#[test]
fn verbose_bodies_redact_every_secret_field_and_the_credential() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = emulator.api_key().to_owned();
    let values: Vec<String> = (1..=11).map(|n| format!("value-{n}-of-a-secret")).collect();
    let body = json!({
        "keys": [],
        "api_key": values[0],
        "apiKey": values[1],
        "API_KEY": values[2],
        "key": values[3],
        "token": values[4],
        "nested": [{"access_token": values[5], "refresh_token": values[6]}],
        "client_secret": values[7],
        "Secret": values[8],
        "password": values[9],
        "Authorization": values[10],
        "note": format!("the secret is {}", secret_of(&key)),
    });
    emulator.inject_fault(json!({"path": "/v1/api_keys", "status": 200, "body": body}));
    let run = sandbox.run(&["org", "api-key", "list", "-vv"]);
    run.assert_code(0);
    let mut secrets: Vec<&str> = values.iter().map(String::as_str).collect();
    secrets.push(secret_of(&key));
    assert_hidden(&run, &secrets);
    assert!(
        run.stderr.contains("\"apiKey\":\"<redacted>\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Api-Key <redacted>"), "{}", run.stderr);
}

#[test]
fn server_text_on_stdout_and_stderr_has_no_control_characters() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    emulator.inject_fault(json!({
        "path": "/v1/users/me",
        "status": 200,
        "body": {"user_id": "u1", "email": format!("me@example.com{CONTROL}"),
                 "workspace_name": format!("Acme{CONTROL}")},
    }));
    let run = sandbox.run_with_stdin(
        &["auth", "login", "--with-api-key", "--profile", "p"],
        &format!("{}\n", emulator.api_key()),
    );
    run.assert_code(0);
    assert!(
        run.stdout.starts_with("Logged in as me@example.com"),
        "{}",
        run.stdout
    );
    assert_no_control_characters(&run.stdout);
    assert_no_control_characters(&run.stderr);

    emulator.inject_fault(json!({
        "path": "/v1/api_keys",
        "status": 500,
        "body": format!("<html>down {CONTROL} again</html>"),
    }));
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(6);
    assert_no_control_characters(&run.stderr);
}

#[test]
fn user_values_echoed_in_errors_have_no_control_characters_and_stay_one_line() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let value = format!("x{CONTROL}\nsecond line");
    for (args, code) in [
        (vec!["org", "api-key", "delete", "--name", &value], 4),
        (vec!["org", "api-key", "create", "--type", &value], 2),
        (vec!["org", "api-key", "list", "--profile", &value], 3),
        (vec!["org", "api-key", "list", "--jq", &value], 2),
    ] {
        let run = sandbox.run(&args);
        run.assert_code(code);
        assert_no_control_characters(&run.stderr);
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.lines().count() <= 2
                && run
                    .stderr
                    .lines()
                    .nth(1)
                    .is_none_or(|line| line.starts_with("hint: ")),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn auth_status_shows_a_profile_name_from_the_file_without_control_characters() {
    let sandbox = Sandbox::new();
    let name = format!("ci{CONTROL}");
    fs::create_dir_all(sandbox.config_dir()).expect("creates the config folder");
    let document: Value = json!({
        "version": 1,
        "current": name,
        "profiles": {name.clone(): {
            "remote_url": "https://app.baseten.co",
            "auth_type": "api_key",
            "api_key": "abcd1234.storedsecretstoredsecret",
        }},
    });
    fs::write(
        sandbox.config_dir().join("auth.json"),
        serde_json::to_string(&document).expect("encodes"),
    )
    .expect("writes auth.json");
    let run = sandbox.run(&["auth", "status"]);
    run.assert_code(0);
    assert!(
        run.stdout.starts_with("credential: profile ci"),
        "{}",
        run.stdout
    );
    assert_no_control_characters(&run.stdout);
}

#[test]
fn the_delete_prompt_quoting_a_server_name_is_scrubbed() {
    if !baseten_e2e::programs_installed(&["script"], "the delete prompt") {
        return;
    }
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let created = sandbox.run(&[
        "org", "api-key", "create", "--type", "personal", "-o", "json",
    ]);
    created.assert_code(0);
    let key = created.json()["api_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let prefix = prefix_of(&key).to_owned();
    emulator.inject_fault(json!({
        "method": "GET",
        "path": "/v1/api_keys",
        "status": 200,
        "body": {"keys": [{
            "prefix": prefix, "type": "PERSONAL", "model_ids": null, "team_name": "Default Team",
            "name": format!("{FOREIGN_KEY}{CONTROL}"),
        }]},
    }));
    let command_line = format!(
        "{} org api-key delete --prefix {prefix}",
        baseten_e2e::baseten_bin().display()
    );
    let mut command = sandbox.command(std::path::Path::new("script"));
    command.args(["-qec", &command_line, "/dev/null"]);
    let run = run_command(command, "n\n");
    assert_eq!(run.code, 1, "{run:?}");
    // `script` puts the terminal's output, the prompt included, on its stdout.
    assert!(
        run.stdout
            .contains(&format!("Delete API key {prefix} (<redacted>")),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(secret_of(FOREIGN_KEY)),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("\u{1b}]0;pwned"), "{:?}", run.stdout);
    assert!(!run.stdout.contains('\u{9b}'), "{:?}", run.stdout);
}

#[test]
fn an_empty_model_id_is_a_usage_error_and_nothing_is_sent() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&[
        "org",
        "api-key",
        "create",
        "--type",
        "workspace-invoke",
        "--model-id",
        "",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("`--model-id`"), "{}", run.stderr);
    assert!(request_lines(&emulator).is_empty());
}

#[test]
fn a_command_group_without_a_subcommand_shows_help_on_stderr_and_exits_2() {
    let sandbox = Sandbox::new();
    for args in [vec![], vec!["org"], vec!["org", "api-key"], vec!["auth"]] {
        let run = sandbox.run(&args);
        run.assert_code(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.contains("Usage: baseten"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.ends_with(
                "error: a subcommand is required\nhint: pick one of the commands listed above\n"
            ),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_host_panic_is_one_scrubbed_error_line_and_exit_1() {
    // The debug build the tests run has a hidden command that panics with the given message.
    // The key starts near the 300 characters a panic message is cut to: scrubbed before the
    // cut, or its first characters would get through unrecognised.
    let message = format!("\u{1b}[31m{}boom\n{FOREIGN_KEY}", "x".repeat(275));
    let run = Sandbox::new().run(&["__panic-for-tests", &message]);
    run.assert_code(1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: internal error: ?[31mxxx"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("<redacted>"), "{}", run.stderr);
    assert_hidden(&run, &[secret_of(FOREIGN_KEY), &FOREIGN_KEY[..12]]);
    assert_no_control_characters(&run.stderr);
    for word in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!run.stderr.contains(word), "{}", run.stderr);
    }
}
