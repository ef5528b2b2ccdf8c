//! The SDK's `serve`: org-team's definition built as the executable `org-team-executable`
//! speaks the pipe protocol as the library speaks the ABI: the same manifest, the same output,
//! its requests made through the host's services (here forwarded to a real emulator).

use std::path::{Path, PathBuf};
use std::process::Command;

use baseten_e2e::{Sandbox, built, emulator, private_temp_folder};
use serde_json::{Value, json};

use crate::pipe_driver::{canned, converse, describe, forward_to, invoke};
use crate::support::request_lines;

/// The built org-team executable plugin.
fn org_team_executable() -> PathBuf {
    built(&format!(
        "org-team-executable{}",
        std::env::consts::EXE_SUFFIX
    ))
}

/// What the host knows of a manifest: the fields `plugin info -o json` shows of it.
fn manifest_fields(manifest: &Value) -> Value {
    let fields = [
        "name",
        "version",
        "plugin_api_version",
        "description",
        "groups",
        "commands",
    ];
    Value::Object(
        fields
            .iter()
            .map(|field| ((*field).to_owned(), manifest[*field].clone()))
            .collect(),
    )
}

#[test]
fn the_executable_describes_the_same_manifest_as_the_library() {
    let conversation = converse(
        Command::new(org_team_executable()),
        &describe(),
        canned(500, ""),
    );
    assert_eq!(conversation.code, Some(0), "{}", conversation.stderr);
    assert_eq!(conversation.types(), ["manifest"]);

    // The library in the build folder, as the host reads it.
    let info = Sandbox::new().run(&["plugin", "info", "org-team", "-o", "json"]);
    info.assert_code(0);
    assert_eq!(
        manifest_fields(&conversation.last()["manifest"]),
        manifest_fields(&info.json())
    );
}

#[test]
fn the_executable_lists_teams_through_the_hosts_requests() {
    let emulator = emulator();
    let conversation = converse(
        Command::new(org_team_executable()),
        &invoke(&["org", "team", "list"], "text"),
        forward_to(&emulator),
    );
    assert_eq!(conversation.code, Some(0), "{}", conversation.stderr);
    assert_eq!(conversation.types(), ["http", "result"]);
    assert_eq!(conversation.lines[0]["id"], 1);
    assert_eq!(
        conversation.lines[0]["request"],
        json!({"method": "GET", "path": "/v1/teams", "query": [], "body": null})
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/teams"]);

    // The payload is the API's answer, as the library's `-o json` prints it.
    let output = &conversation.result()["ok"];
    let library = Sandbox::for_emulator(&emulator).run(&["org", "team", "list", "-o", "json"]);
    library.assert_code(0);
    assert_eq!(output["payload"], library.json());
    let teams = library.json()["teams"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!teams.is_empty());
    let table = &output["text"]["table"];
    assert_eq!(table["columns"], json!(["ID", "NAME", "DEFAULT"]));
    assert_eq!(table["rows"].as_array().map(Vec::len), Some(teams.len()));
    assert_eq!(table["rows"][0][0], teams[0]["id"]);
}

#[test]
fn the_executable_passes_a_failed_answer_on_for_the_host_to_classify() {
    let emulator = emulator();
    emulator.inject_fault(json!({"method": "GET", "path": "/v1/teams", "status": 503,
                                 "body": "{\"error\":\"down for maintenance\"}"}));
    let conversation = converse(
        Command::new(org_team_executable()),
        &invoke(&["org", "team", "list"], "json"),
        forward_to(&emulator),
    );
    assert_eq!(conversation.code, Some(0), "{}", conversation.stderr);
    let error = &conversation.result()["error"];
    assert_eq!(error["kind"], "server");
    assert_eq!(error["message"], "could not list teams: HTTP 503");
    assert_eq!(
        error["http"],
        json!({"method": "GET", "path": "/v1/teams", "status": 503,
               "body": "{\"error\":\"down for maintenance\"}"})
    );
}

#[test]
fn the_executable_passes_an_error_outcome_on() {
    let no_credential = |_: &Value| {
        json!({"error": {"kind": "auth", "message": "not logged in",
                         "hint": "run `baseten auth login`"}})
    };
    let conversation = converse(
        Command::new(org_team_executable()),
        &invoke(&["org", "team", "list"], "json"),
        no_credential,
    );
    assert_eq!(conversation.code, Some(0), "{}", conversation.stderr);
    let error = &conversation.result()["error"];
    assert_eq!(error["kind"], "auth");
    assert_eq!(error["message"], "could not list teams: not logged in");
}

#[test]
fn the_executable_answers_a_first_line_that_is_not_a_request_with_nothing() {
    let conversation = converse(
        Command::new(org_team_executable()),
        &json!({"type": "hello"}),
        canned(500, ""),
    );
    assert!(conversation.lines.is_empty(), "{:?}", conversation.lines);
    assert_eq!(conversation.code, Some(1));
    assert!(
        conversation
            .stderr
            .starts_with("error: could not read the host's request: "),
        "{}",
        conversation.stderr
    );
}

/// A plugin folder holding the org-team executable as `baseten-plugin-org-team`.
fn folder_with_org_team_executable() -> tempfile::TempDir {
    let folder = private_temp_folder("baseten-plugins-");
    let file = folder.path().join(format!(
        "baseten-plugin-org-team{}",
        std::env::consts::EXE_SUFFIX
    ));
    baseten_e2e::copy_plugin(&org_team_executable(), &file);
    folder
}

fn run_both(folder: &Path, emulator: &baseten_e2e::BackgroundEmulator, args: &[&str]) {
    let library = Sandbox::for_emulator(emulator).run(args);
    let mut sandbox = Sandbox::for_emulator(emulator);
    sandbox.set("BASETEN_PLUGIN_PATH", folder);
    let executable = sandbox.run(args);
    assert_eq!(
        (executable.code, &executable.stdout),
        (library.code, &library.stdout),
        "{args:?}: executable stderr:\n{}\nlibrary stderr:\n{}",
        executable.stderr,
        library.stderr
    );
}

#[test]
fn org_team_as_an_executable_prints_what_the_library_prints() {
    let emulator = emulator();
    let folder = folder_with_org_team_executable();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    let info = sandbox.run(&["plugin", "info", "org-team", "-o", "json"]);
    info.assert_code(0);
    assert_eq!(info.json()["kind"], "executable", "{}", info.stdout);

    for output in ["text", "json", "jsonl", "none"] {
        run_both(
            folder.path(),
            &emulator,
            &["org", "team", "list", "-o", output],
        );
    }
    run_both(
        folder.path(),
        &emulator,
        &["org", "team", "list", "--jq", ".teams[] | .name"],
    );
    // A failed answer reads the same: the host classifies it for either kind.
    // Three times: a GET answered 503 is tried three times in all.
    let fault = json!({"method": "GET", "path": "/v1/teams", "status": 503, "times": 3});
    emulator.inject_fault(fault.clone());
    let library = Sandbox::for_emulator(&emulator).run(&["org", "team", "list"]);
    emulator.inject_fault(fault);
    let executable = sandbox.run(&["org", "team", "list"]);
    executable.assert_code(6);
    assert_eq!(
        (executable.code, &executable.stdout, &executable.stderr),
        (library.code, &library.stdout, &library.stderr)
    );
    assert!(
        executable
            .stderr
            .starts_with("error: could not list teams: HTTP 503"),
        "{}",
        executable.stderr
    );
}

/// `plugin install` of a plugin already installed as the other kind replaces that copy: left
/// beside the new file, the executable's name would be found first and keep running.
#[test]
fn installing_a_plugin_as_the_other_kind_replaces_the_installed_copy() {
    let emulator = emulator();
    let folder = folder_with_org_team_executable();
    let executable = folder.path().join(format!(
        "baseten-plugin-org-team{}",
        std::env::consts::EXE_SUFFIX
    ));
    let sandbox = Sandbox::for_emulator(&emulator);
    let installed_kinds = || -> Vec<String> {
        let run = sandbox.run(&["plugin", "list", "-o", "json"]);
        run.assert_code(0);
        let listed = run.json();
        let mut kinds: Vec<String> = listed
            .as_array()
            .or_else(|| listed["plugins"].as_array())
            .expect("a list of plugins")
            .iter()
            .filter(|entry| entry["name"] == "org-team")
            .map(|entry| entry["kind"].as_str().unwrap_or("").to_owned())
            .collect();
        kinds.sort();
        kinds
    };
    let source = executable.to_str().expect("a UTF-8 path");
    sandbox
        .run(&["plugin", "install", "--force", source])
        .assert_code(0);
    // The installed executable, and the library the development build has beside baseten.
    assert_eq!(installed_kinds(), ["executable", "library"]);

    let library = baseten_e2e::plugin_library("org_team");
    let run = sandbox.run(&[
        "plugin",
        "install",
        "--force",
        library.to_str().expect("a UTF-8 path"),
    ]);
    run.assert_code(0);
    assert!(!run.stderr.contains("shadows"), "{}", run.stderr);
    assert_eq!(installed_kinds(), ["library", "library"]);
    let run = sandbox.run(&["-v", "org", "team", "list"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("/libbaseten_plugin_org_team")
            && !run.stderr.contains("baseten-plugin-org-team"),
        "{}",
        run.stderr
    );
}
