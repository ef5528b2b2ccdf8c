//! What a run sets up before its first request: the platform's certificates are loaded only for
//! an API over `https` (reading and parsing them was three quarters of a small command's work),
//! and an executable plugin's HTTP set-up overlaps the plugin's start without looking for a
//! credential. Without any system certificate (`SSL_CERT_FILE` and `SSL_CERT_DIR` pointing
//! nowhere), a plain `http` run still works and an `https` one fails as it always did.

#![cfg(target_os = "linux")]

use baseten_e2e::{Sandbox, emulator, executable_plugin_folder, repository_root, tls_emulator};

use crate::support::request_lines;

/// No certificate anywhere the platform verifier looks.
fn without_system_certificates(sandbox: &mut Sandbox) {
    sandbox.set("SSL_CERT_FILE", "/nonexistent/baseten/certs.pem");
    sandbox.set("SSL_CERT_DIR", "/nonexistent/baseten/certs");
}

/// A plugin folder holding the fixture executable as `baseten-plugin-fixture-exec`.
fn fixture_exec_folder() -> tempfile::TempDir {
    executable_plugin_folder(&[(
        &repository_root().join("tests/e2e/fixtures/executables/fixture-exec"),
        "fixture-exec",
    )])
}

#[test]
fn a_plain_http_run_never_loads_the_platform_certificates() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    without_system_certificates(&mut sandbox);
    let run = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json()["keys"].as_array().map(Vec::len),
        Some(emulator.keys().len())
    );

    // The same through an executable plugin, whose HTTP is set up while it starts.
    let folder = fixture_exec_folder();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "emulator@example.com\n");
}

#[test]
fn an_https_run_without_any_trusted_root_fails_before_sending_as_before() {
    let folder = tempfile::tempdir().expect("a temp folder");
    let ca = folder.path().join("ca.pem");
    let emulator = tls_emulator(&ca);
    let plugins = fixture_exec_folder();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    without_system_certificates(&mut sandbox);
    sandbox.set("BASETEN_PLUGIN_PATH", plugins.path());
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        "error: could not set up HTTP: builder error: unexpected error: No CA certificates were \
         loaded from the system\n"
    );
    assert_eq!(request_lines(&emulator), Vec::<String>::new());

    // The bundle's roots alone are enough, for a library and for an executable plugin (whose
    // certificates load on a thread of their own while it starts).
    sandbox.set("BASETEN_CA_BUNDLE", ca.as_os_str());
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "emulator@example.com\n");
}

#[test]
fn an_executable_command_that_sends_nothing_looks_for_no_credential_nor_bundle() {
    let plugins = fixture_exec_folder();
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", plugins.path());
    // Any credential lookup would fail on the unknown profile, any bundle read on the file.
    sandbox.set("BASETEN_PROFILE", "nobody");
    sandbox.set("BASETEN_CA_BUNDLE", "/nonexistent/ca.pem");
    sandbox.set("FIXTURE_EXEC_MODE", "confirm");
    let run = sandbox.run(&["fixture", "exec", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json(), serde_json::json!({"yes": false}));
    assert_eq!(run.stderr, "");
}
