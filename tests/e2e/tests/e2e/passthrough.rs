//! A response body a library plugin hands back unchanged travels by reference (plugin API 1.1):
//! the host lends the body beside a small head instead of escaping it into the answer, and the
//! payload that names it is shown from the host's copy, byte for byte as received. A payload
//! naming a body the host never lent is an unreadable result.

use baseten_e2e::{BackgroundEmulator, Sandbox, emulator, fixture_library, plugin_folder};
use serde_json::json;

fn sandbox_with_fixture(emulator: &BackgroundEmulator) -> (Sandbox, tempfile::TempDir) {
    let folder = plugin_folder(&[(fixture_library("passthrough").as_path(), "passthrough")]);
    let mut sandbox = Sandbox::for_emulator(emulator);
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    (sandbox, folder)
}

/// A listing whose numbers no float could hold and whose strings need escapes.
const ODD_BODY: &str = "{\"keys\":[{\"prefix\":\"abcd1234\",\"type\":\"PERSONAL\",\"n\":12345678901234567890123,\"f\":1.000000000000000000001,\"e\":1E+2,\"s\":\"tab\\there \\u00e9 \\\"q\\\"\"}],\"next\":null}";

#[test]
fn a_passed_through_body_prints_exactly_as_received_in_every_mode() {
    let emulator = emulator();
    let (sandbox, _folder) = sandbox_with_fixture(&emulator);
    for args in [
        &["fixture", "passthrough", "--path", "/v1/api_keys"][..],
        &["org", "api-key", "list"][..],
    ] {
        for (mode, expected) in [
            (
                "json",
                "{\n  \"keys\": [\n    {\n      \"prefix\": \"abcd1234\",\n      \"type\": \"PERSONAL\",\n      \"n\": 12345678901234567890123,\n      \"f\": 1.000000000000000000001,\n      \"e\": 1E+2,\n      \"s\": \"tab\\there \\u00e9 \\\"q\\\"\"\n    }\n  ],\n  \"next\": null\n}\n",
            ),
            ("jsonl", &format!("{ODD_BODY}\n")),
        ] {
            emulator.inject_fault(json!({"path": "/v1/api_keys", "status": 200, "body": ODD_BODY}));
            let mut full = args.to_vec();
            full.extend(["-o", mode]);
            let run = sandbox.run(&full);
            run.assert_code(0);
            assert_eq!(run.stdout, expected, "{full:?}");
        }
        emulator.inject_fault(json!({"path": "/v1/api_keys", "status": 200, "body": ODD_BODY}));
        let mut full = args.to_vec();
        full.extend(["--jq", ".keys[0].prefix, .keys[0].s"]);
        let run = sandbox.run(&full);
        run.assert_code(0);
        assert_eq!(run.stdout, "abcd1234\ntab\there é \"q\"\n", "{full:?}");
    }

    // The second of two bodies lent in one run is the one shown.
    let run = sandbox.run(&["fixture", "twice", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json()["email"],
        "emulator@example.com",
        "{}",
        run.stdout
    );
    let run = sandbox.run(&["fixture", "twice"]);
    run.assert_code(0);
    assert!(run.stdout.ends_with(" bytes before\n"), "{}", run.stdout);
}

#[test]
fn a_body_that_is_not_json_is_refused_as_before() {
    let emulator = emulator();
    let (sandbox, _folder) = sandbox_with_fixture(&emulator);
    for (body, words) in [
        ("<html>oops</html>", "expected value at line 1 column 1"),
        (
            "{\"keys\":[]} trailing",
            "trailing characters at line 1 column 13",
        ),
    ] {
        for mode in ["json", "text"] {
            emulator.inject_fault(json!({"path": "/v1/api_keys", "status": 200, "body": body}));
            let run = sandbox.run(&["org", "api-key", "list", "-o", mode]);
            run.assert_code(1);
            assert_eq!(
                run.stderr,
                format!(
                    "error: could not list API keys: unexpected response from the API: {words}\n"
                ),
                "{body} in {mode}"
            );
        }
    }
    // Valid JSON of another shape keeps its own words.
    emulator.inject_fault(json!({"path": "/v1/api_keys", "status": 200, "body": "{\"items\":[]}"}));
    let run = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .starts_with("error: unexpected response from the API: missing field `keys`"),
        "{}",
        run.stderr
    );
    // A body the fixture hands back that is not JSON is an unreadable result of the plugin.
    emulator.inject_fault(json!({"path": "/v1/teams", "status": 200, "body": "not json"}));
    let run = sandbox.run(&[
        "fixture",
        "passthrough",
        "--path",
        "/v1/teams",
        "-o",
        "json",
    ]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        "error: unexpected response from the API: expected ident at line 1 column 2\n"
    );
}

#[test]
fn a_payload_naming_a_body_never_lent_is_an_unreadable_result() {
    let emulator = emulator();
    let (sandbox, _folder) = sandbox_with_fixture(&emulator);
    let run = sandbox.run(&["fixture", "unknown-body", "-o", "json"]);
    run.assert_code(8);
    assert_eq!(
        run.stdout, "",
        "nothing is shown for a payload that is not there"
    );
    assert_eq!(
        run.stderr,
        "error: plugin `passthrough` returned an unreadable result: its payload names no \
         response it was given\n"
    );
}

#[cfg(unix)]
#[test]
fn an_executable_plugin_is_lent_no_body_to_name() {
    use baseten_e2e::{executable_plugin_folder, repository_root};

    let emulator = emulator();
    let folder = executable_plugin_folder(&[(
        &repository_root().join("tests/e2e/fixtures/executables/fixture-exec"),
        "fixture-exec",
    )]);
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    sandbox.set("FIXTURE_EXEC_MODE", "payload-body");
    let run = sandbox.run(&["fixture", "exec", "-o", "json"]);
    run.assert_code(8);
    assert_eq!(
        run.stderr,
        "error: plugin `fixture-exec` returned an unreadable result: its payload names no \
         response it was given\n"
    );
}
