//! The Python example of an executable plugin, `examples/plugins/whoami-python`: spoken to
//! directly over the pipe protocol (its requests forwarded to a real emulator), and run through
//! `baseten` as a user runs it.

use std::path::PathBuf;
use std::process::Command;

use baseten_e2e::{
    BackgroundEmulator, Sandbox, emulator, private_temp_folder, programs_installed, repository_root,
};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::pipe_driver::{Conversation, canned, converse, describe, forward_to, invoke};
use crate::support::request_lines;

/// The example file.
fn example() -> PathBuf {
    repository_root()
        .join("examples")
        .join("plugins")
        .join("whoami-python")
        .join("baseten-plugin-whoami")
}

/// Whether Python is there to run the example; under CI a missing one fails the test.
fn python() -> bool {
    programs_installed(&["python3"], "the Python example plugin")
}

/// One conversation with the example, started with `python3`.
fn talk(first: &Value, answer: impl FnMut(&Value) -> Value) -> Conversation {
    let mut program = Command::new("python3");
    program.arg(example());
    converse(program, first, answer)
}

/// The emulator's answer to `GET /v1/users/me` for its bootstrap key.
const USER: &str = "emulator@example.com (Emulator Workspace)";

#[test]
fn the_python_example_is_an_executable_python_script() {
    let text = std::fs::read_to_string(example()).expect("the example is there");
    assert!(text.starts_with("#!/usr/bin/env python3\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(example())
            .expect("the example is there")
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "runnable by everyone: {mode:o}");
    }
}

#[test]
fn the_python_example_describes_whoami() {
    if !python() {
        return;
    }
    let conversation = talk(&describe(), canned(500, ""));
    assert_eq!(conversation.code, Some(0), "{}", conversation.stderr);
    assert_eq!(conversation.types(), ["manifest"]);
    let manifest = &conversation.last()["manifest"];
    assert_eq!(manifest["name"], "whoami");
    assert_eq!(manifest["plugin_api_version"], "1.1.0");
    let commands = manifest["commands"].as_array().expect("commands");
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0]["path"], json!(["whoami"]));
    assert!(
        commands[0]["about"]
            .as_str()
            .is_some_and(|about| !about.is_empty())
    );
    assert_eq!(commands[0]["examples"][0]["command"], "baseten whoami");
    assert_eq!(commands[0]["output"]["payload"], "managementapi.User");
}

#[test]
fn the_python_example_shows_the_user_of_the_credential() {
    if !python() {
        return;
    }
    let emulator = emulator();
    let conversation = talk(&invoke(&["whoami"], "text"), forward_to(&emulator));
    assert_eq!(conversation.code, Some(0), "{}", conversation.stderr);
    assert_eq!(conversation.types(), ["log", "http", "result"]);
    assert_eq!(conversation.lines[1]["request"]["method"], "GET");
    assert_eq!(conversation.lines[1]["request"]["path"], "/v1/users/me");
    assert_eq!(request_lines(&emulator), ["GET /v1/users/me"]);
    let output = &conversation.result()["ok"];
    assert_eq!(output["text"], json!({"lines": [USER]}));
    assert_eq!(output["payload"]["email"], "emulator@example.com");
    assert_eq!(output["payload"]["workspace_name"], "Emulator Workspace");
}

#[test]
fn the_python_example_passes_a_failed_answer_on() {
    if !python() {
        return;
    }
    let emulator = emulator();
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/users/me", "status": 503,
                                 "body": "{\"error\":\"down\"}"}),
    );
    let conversation = talk(&invoke(&["whoami"], "json"), forward_to(&emulator));
    assert_eq!(conversation.code, Some(0), "{}", conversation.stderr);
    let error = &conversation.result()["error"];
    assert_eq!(error["kind"], "server");
    assert_eq!(
        error["http"],
        json!({"method": "GET", "path": "/v1/users/me", "status": 503,
               "body": "{\"error\":\"down\"}"})
    );

    let conversation = talk(&invoke(&["whoami"], "json"), canned(401, ""));
    assert_eq!(conversation.result()["error"]["kind"], "auth");
}

#[test]
fn the_python_example_passes_an_error_outcome_on() {
    if !python() {
        return;
    }
    let failure = json!({"kind": "network", "message": "could not connect to the API",
                         "hint": "check your connection"});
    let outcome = json!({"error": failure});
    let conversation = talk(&invoke(&["whoami"], "json"), |_: &Value| outcome.clone());
    assert_eq!(conversation.code, Some(0), "{}", conversation.stderr);
    assert_eq!(conversation.result()["error"], failure);
}

/// A plugin folder holding the example under its file name.
fn folder_with_example() -> TempDir {
    let folder = private_temp_folder("baseten-plugins-");
    baseten_e2e::copy_plugin(&example(), &folder.path().join("baseten-plugin-whoami"));
    folder
}

fn sandbox_with_example(emulator: &BackgroundEmulator, folder: &TempDir) -> Sandbox {
    let mut sandbox = Sandbox::for_emulator(emulator);
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    sandbox
}

#[test]
fn whoami_runs_through_baseten_in_every_output_mode() {
    if !python() {
        return;
    }
    let emulator = emulator();
    let folder = folder_with_example();
    let sandbox = sandbox_with_example(&emulator, &folder);

    let run = sandbox.run(&["whoami"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{USER}\n"));
    assert_eq!(run.stderr, "");

    let run = sandbox.run(&["whoami", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["email"], "emulator@example.com");
    assert!(run.stdout.contains("\n  \"email\""), "{}", run.stdout);

    let run = sandbox.run(&["whoami", "-o", "jsonl"]);
    run.assert_code(0);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_eq!(run.json()["workspace_name"], "Emulator Workspace");

    let run = sandbox.run(&["whoami", "-o", "none"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");

    let run = sandbox.run(&["whoami", "--jq", ".email"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "emulator@example.com\n");
}

#[test]
fn whoami_logs_under_verbose_and_fails_as_the_host_classifies() {
    if !python() {
        return;
    }
    let emulator = emulator();
    let folder = folder_with_example();
    let sandbox = sandbox_with_example(&emulator, &folder);

    let run = sandbox.run(&["whoami", "-v"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{USER}\n"));
    assert!(
        run.stderr
            .contains("asking the API who the credential belongs to"),
        "{}",
        run.stderr
    );

    emulator
        .inject_fault(json!({"method": "GET", "path": "/v1/users/me", "status": 503, "times": 3}));
    let run = sandbox.run(&["whoami"]);
    run.assert_code(6);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("error: could not get the current user: HTTP 503"),
        "{}",
        run.stderr
    );

    let mut logged_out = sandbox_with_example(&emulator, &folder);
    logged_out.unset("BASETEN_API_KEY");
    let run = logged_out.run(&["whoami"]);
    run.assert_code(3);
}

#[test]
fn whoami_installs_from_the_examples_folder() {
    if !python() {
        return;
    }
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let example = example();
    let run = sandbox.run(&["plugin", "install", example.to_str().expect("a UTF-8 path")]);
    run.assert_code(0);
    let run = sandbox.run(&["whoami"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{USER}\n"));
    let run = sandbox.run(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    assert!(run.stdout.contains("\"executable\""), "{}", run.stdout);
}
