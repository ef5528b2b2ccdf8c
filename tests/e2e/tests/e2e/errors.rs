//! The README's exit codes and one-line errors for the failures `org api-key` can meet.

use baseten_e2e::{Sandbox, emulator};
use serde_json::json;

use crate::support::requests;

#[test]
fn no_credential_is_exit_3_with_a_hint_and_nothing_is_sent() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.unset("BASETEN_API_KEY");
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(3);
    assert_eq!(
        run.stderr,
        "error: not logged in\nhint: run `baseten auth login` or set BASETEN_API_KEY\n"
    );
    assert!(requests(&emulator).is_empty());
}

#[test]
fn a_rejected_key_is_exit_3() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set(
        "BASETEN_API_KEY",
        "abcdefgh.wrongwrongwrongwrongwrongwrongwrong",
    );
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .starts_with("error: could not list API keys: HTTP 401"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("wrongwrong"),
        "the key leaked: {}",
        run.stderr
    );
}

#[test]
fn a_key_without_rights_is_exit_3() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let weak = sandbox
        .run(&["org", "api-key", "create", "--type", "workspace-invoke"])
        .stdout
        .trim_end()
        .to_owned();
    let mut weak_sandbox = Sandbox::for_emulator(&emulator);
    weak_sandbox.set("BASETEN_API_KEY", &weak);
    let run = weak_sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(3);
    assert!(run.stderr.contains("HTTP 403"), "{}", run.stderr);
}

#[test]
fn other_client_errors_are_exit_5_with_the_server_message() {
    let emulator = emulator();
    emulator.inject_fault(
        json!({"path": "/v1/api_keys", "status": 409, "body": "{\"message\":\"conflict here\"}"}),
    );
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list"]);
    run.assert_code(5);
    assert_eq!(
        run.stderr,
        "error: could not list API keys: HTTP 409: conflict here\n"
    );
}

#[test]
fn server_errors_are_exit_6() {
    let emulator = emulator();
    emulator.inject_fault(
        json!({"path": "/v1/api_keys", "status": 500, "body": "{\"detail\":\"db down\"}"}),
    );
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list"]);
    run.assert_code(6);
    assert!(
        run.stderr
            .starts_with("error: could not list API keys: HTTP 500: db down\nhint: "),
        "{}",
        run.stderr
    );
}

#[test]
fn no_server_is_exit_7() {
    let closed = baseten_e2e::ClosedPort::new();
    let port = closed.port();
    let mut sandbox = Sandbox::new();
    sandbox.set(
        "BASETEN_API_KEY",
        "abcdefgh.secretsecretsecretsecretsecretsecret",
    );
    sandbox.set(
        "BASETEN_MANAGEMENT_API_URL_OVERRIDE",
        format!("http://127.0.0.1:{port}"),
    );
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(7);
    assert!(
        run.stderr.starts_with(&format!(
            "error: could not list API keys: could not connect to http://127.0.0.1:{port}"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    // A GET is retried on a refused connection: three attempts, as `-v` counts them (no server
    // sees a refused connection).
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    run.assert_code(7);
    assert_eq!(run.stderr.matches("> GET").count(), 3, "{}", run.stderr);
}

#[test]
fn a_body_that_is_not_the_expected_json_is_exit_1() {
    let emulator = emulator();
    emulator
        .inject_fault(json!({"path": "/v1/api_keys", "status": 200, "body": "<html>oops</html>"}));
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .starts_with("error: could not list API keys: unexpected response from the API: "),
        "{}",
        run.stderr
    );
}

#[test]
fn plain_http_to_another_host_is_refused_before_connecting() {
    let mut sandbox = Sandbox::new();
    sandbox.set(
        "BASETEN_API_KEY",
        "abcdefgh.secretsecretsecretsecretsecretsecret",
    );
    sandbox.set("BASETEN_REMOTE_URL", "http://example.invalid");
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error: invalid remote URL `http://example.invalid`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_remote_url_with_a_path_is_a_usage_error() {
    let mut sandbox = Sandbox::new();
    sandbox.set(
        "BASETEN_API_KEY",
        "abcdefgh.secretsecretsecretsecretsecretsecret",
    );
    sandbox.set("BASETEN_REMOTE_URL", "https://app.baseten.co/v1");
    sandbox.run(&["org", "api-key", "list"]).assert_code(2);
}

#[test]
fn an_unknown_command_suggests_the_nearest() {
    let run = Sandbox::new().run(&["org", "api-key", "lst"]);
    run.assert_code(2);
    assert_eq!(
        run.stderr,
        "error: unrecognized subcommand 'lst'\nhint: a similar subcommand exists: 'list'\n"
    );
}

#[test]
fn an_unknown_flag_suggests_the_nearest() {
    let run = Sandbox::new().run(&[
        "org", "api-key", "create", "--type", "personal", "--nme", "x",
    ]);
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error: unexpected argument '--nme' found\nhint: "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--name"), "{}", run.stderr);
}

#[test]
fn version_names_the_host_plugin_api_and_plugins() {
    let run = Sandbox::new().run(&["version"]);
    run.assert_code(0);
    assert!(
        run.stdout.starts_with(&format!(
            "baseten {}\nplugin API 1.2.0\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("plugin org-api-key "), "{}", run.stdout);
    let run = Sandbox::new().run(&["--version"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!("baseten {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_user_agent_names_the_tool() {
    // The emulator does not record headers; `-vv` shows what was sent, with the key redacted.
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&["org", "api-key", "list", "-vv"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains(&format!(
            "user-agent: baseten/{}",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("authorization: Api-Key <redacted>"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(emulator.api_key()),
        "the key leaked: {}",
        run.stderr
    );
}

#[test]
fn verbose_output_of_create_never_shows_the_new_key() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator)
        .run(&["org", "api-key", "create", "--type", "personal", "-vv"]);
    run.assert_code(0);
    let key = run.stdout.trim_end();
    let secret = key.split('.').nth(1).expect("a secret");
    assert!(
        !run.stderr.contains(secret),
        "the new key leaked into the log: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(emulator.api_key()),
        "the credential leaked: {}",
        run.stderr
    );
}

#[test]
fn a_key_typed_as_an_argument_is_not_echoed_in_the_error() {
    let secret = "abcd1234.supersecretsecretsecretsecret";
    let run = Sandbox::new().run_with_stdin(
        &["auth", "login", "--with-api-key", "--profile", "x", secret],
        "",
    );
    run.assert_code(2);
    assert!(
        !run.stderr.contains("supersecret"),
        "the key was echoed: {}",
        run.stderr
    );
    assert!(
        run.stderr.starts_with("error: unexpected argument '<"),
        "{}",
        run.stderr
    );
}
