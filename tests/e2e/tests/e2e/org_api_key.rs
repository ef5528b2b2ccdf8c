//! `baseten org api-key list | create | delete`: as the README describes them, and every example
//! their `--help` shows.

use baseten_e2e::{Emulator, Sandbox, emulator, run_command};
use serde_json::{Value, json};

use crate::support::{assert_live_key, prefix_of, request_lines, requests};

fn create(sandbox: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["org", "api-key", "create"];
    all.extend_from_slice(args);
    let run = sandbox.run(&all);
    run.assert_code(0);
    run.stdout.trim_end().to_owned()
}

#[test]
fn create_prints_the_bare_key_once_and_sends_only_given_fields() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&[
        "org", "api-key", "create", "--type", "personal", "--name", "laptop",
    ]);
    run.assert_code(0);
    let key = run.stdout.strip_suffix('\n').expect("one line");
    assert!(!key.contains('\n'));
    let (prefix, secret) = key.split_once('.').expect("prefix.secret");
    assert_eq!(prefix.len(), 8);
    assert!(secret.len() >= 32);
    assert_eq!(
        run.stderr,
        "Save this key now. It will not be shown again.\n"
    );

    let sent = requests(&emulator);
    let post = sent.last().expect("a request");
    assert_eq!(post["method"], "POST");
    assert_eq!(post["path"], "/v1/api_keys");
    assert_eq!(post["auth_scheme"], "Api-Key");
    assert_eq!(post["body"], json!({"type": "PERSONAL", "name": "laptop"}));
    let listed = emulator.keys();
    assert!(
        listed
            .iter()
            .any(|listed| listed["prefix"] == prefix && listed["name"] == "laptop")
    );
}

#[test]
fn the_new_key_works_as_a_credential() {
    let emulator = emulator();
    let key = create(
        &Sandbox::for_emulator(&emulator),
        &["--type", "workspace-manage-all"],
    );
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("BASETEN_API_KEY", &key);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
}

#[test]
fn create_scoped_to_models_sends_model_ids_in_order() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    create(
        &sandbox,
        &[
            "--type",
            "workspace-invoke",
            "--model-id",
            "model-b",
            "--model-id",
            "model-a",
        ],
    );
    let post = requests(&emulator).pop().expect("a request");
    assert_eq!(
        post["body"],
        json!({"type": "WORKSPACE_INVOKE", "model_ids": ["model-b", "model-a"]})
    );
}

#[test]
fn every_type_maps_to_its_api_name() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for (cli, api) in [
        ("personal", "PERSONAL"),
        ("workspace-export-metrics", "WORKSPACE_EXPORT_METRICS"),
        ("workspace-invoke", "WORKSPACE_INVOKE"),
        ("workspace-manage-all", "WORKSPACE_MANAGE_ALL"),
    ] {
        create(&sandbox, &["--type", cli]);
        let post = requests(&emulator).pop().expect("a request");
        assert_eq!(post["body"]["type"], api);
    }
}

#[test]
fn model_id_with_another_type_is_refused_before_any_request() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&[
        "org",
        "api-key",
        "create",
        "--type",
        "personal",
        "--model-id",
        "m1",
    ]);
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("workspace-export-metrics") && run.stderr.contains("workspace-invoke"),
        "{}",
        run.stderr
    );
    assert!(requests(&emulator).is_empty());
}

#[test]
fn create_with_output_none_is_refused_before_any_request() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org", "api-key", "create", "--type", "personal", "-o", "none",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("--output none"), "{}", run.stderr);
    assert!(requests(&emulator).is_empty());
}

#[test]
fn create_without_type_is_a_usage_error() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "create"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--type"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    assert!(requests(&emulator).is_empty());
}

#[test]
fn create_with_an_unknown_type_lists_the_allowed_ones() {
    let emulator = emulator();
    let run =
        Sandbox::for_emulator(&emulator).run(&["org", "api-key", "create", "--type", "admin"]);
    run.assert_code(2);
    assert_eq!(
        run.stderr,
        "error: invalid value 'admin' for '--type <TYPE>'\n\
         hint: possible values: personal, workspace-export-metrics, workspace-invoke, workspace-manage-all\n"
    );
    assert!(requests(&emulator).is_empty());
}

#[test]
fn create_jq_prints_the_raw_key() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org", "api-key", "create", "--type", "personal", "--jq", ".api_key",
    ]);
    run.assert_code(0);
    let key = run.stdout.strip_suffix('\n').expect("one line");
    assert!(!key.starts_with('"'));
    assert!(
        emulator
            .keys()
            .iter()
            .any(|listed| listed["prefix"] == prefix_of(key))
    );
    assert_live_key(&emulator, key);
}

#[test]
fn create_json_is_the_api_payload() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org", "api-key", "create", "--type", "personal", "-o", "json",
    ]);
    run.assert_code(0);
    let payload = run.json();
    assert_eq!(payload.as_object().map(|fields| fields.len()), Some(1));
    assert_live_key(&emulator, payload["api_key"].as_str().expect("a key"));
    assert!(
        run.stdout.starts_with("{\n  \"api_key\": "),
        "{}",
        run.stdout
    );
}

#[test]
fn create_in_a_team_by_name_or_id() {
    let emulator = Emulator::builder()
        .team("Research")
        .start_in_background()
        .expect("starts");
    let sandbox = Sandbox::for_emulator(&emulator);
    create(&sandbox, &["--type", "personal", "--team", "Research"]);
    let teams = Sandbox::for_emulator(&emulator);
    let _ = teams;
    let sent = request_lines(&emulator);
    assert_eq!(sent[0], "GET /v1/teams");
    assert!(
        sent[1].starts_with("POST /v1/teams/") && sent[1].ends_with("/api_keys"),
        "{sent:?}"
    );
    let team_id = sent[1]
        .trim_start_matches("POST /v1/teams/")
        .trim_end_matches("/api_keys")
        .to_owned();
    let created = emulator.keys().into_iter().last().expect("a key");
    assert_eq!(created["team_name"], "Research");

    emulator.reset();
    create(&sandbox, &["--type", "personal", "--team", &team_id]);
    assert_eq!(
        request_lines(&emulator)[1],
        format!("POST /v1/teams/{team_id}/api_keys")
    );
}

#[test]
fn create_in_an_unknown_team_creates_nothing() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let before = emulator.keys().len();
    let run = sandbox.run(&[
        "org", "api-key", "create", "--type", "personal", "--team", "Nobody",
    ]);
    run.assert_code(4);
    assert!(
        run.stderr
            .starts_with("error: no team with ID or name \"Nobody\""),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/teams"]);
    assert_eq!(emulator.keys().len(), before);
}

#[test]
fn create_in_an_ambiguous_team_creates_nothing() {
    let emulator = emulator();
    let teams = json!({"teams": [
        {"id": "team0001", "name": "Twins", "default": false, "created_at": "2026-01-01T00:00:00Z"},
        {"id": "team0002", "name": "Twins", "default": false, "created_at": "2026-01-01T00:00:00Z"}
    ]});
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/teams", "status": 200, "body": teams.to_string()}),
    );
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org", "api-key", "create", "--type", "personal", "--team", "Twins",
    ]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        "error: multiple teams named \"Twins\"; pass the team ID instead\n"
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/teams"]);
}

#[test]
fn list_shows_a_table_with_masked_keys() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let first = create(&sandbox, &["--type", "personal", "--name", "ci"]);
    let second = create(&sandbox, &["--type", "workspace-invoke", "--model-id", "m"]);
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    let lines: Vec<&str> = run.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["NAME", "KEY", "TYPE", "TEAM"]);
    let first_row = lines
        .iter()
        .find(|line| line.contains(prefix_of(&first)))
        .expect("first key listed");
    assert_eq!(
        first_row
            .split("  ")
            .filter(|cell| !cell.is_empty())
            .map(str::trim)
            .collect::<Vec<_>>(),
        [
            "ci",
            &format!("{}****", prefix_of(&first)),
            "personal",
            "Default Team"
        ]
    );
    let second_row = lines
        .iter()
        .find(|line| line.contains(prefix_of(&second)))
        .expect("second key listed");
    assert!(
        second_row.starts_with(' '),
        "an empty NAME cell: {second_row:?}"
    );
    assert!(second_row.contains("workspace-invoke"));
    // Columns line up: every KEY cell starts where the header's does.
    let key_column = lines[0].find("KEY").expect("KEY header");
    assert_eq!(first_row.find(prefix_of(&first)), Some(key_column));
    assert!(
        !run.stdout
            .contains(first.split('.').nth(1).expect("secret")),
        "a secret was printed"
    );
    assert!(lines.iter().all(|line| !line.ends_with(' ')));
}

#[test]
fn list_with_no_keys_prints_nothing_and_says_so_on_stderr() {
    let emulator = emulator();
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 200, "body": "{\"keys\":[]}"}),
    );
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list"]);
    run.assert_code(0);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("", "No API keys found.\n")
    );
}

#[test]
fn list_jq_example_prints_prefixes_of_personal_keys() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let personal = create(&sandbox, &["--type", "personal"]);
    create(&sandbox, &["--type", "workspace-invoke"]);
    let run = sandbox.run(&[
        "org",
        "api-key",
        "list",
        "--jq",
        ".keys[] | select(.type == \"PERSONAL\") | .prefix",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{}\n", prefix_of(&personal)));
}

#[test]
fn delete_by_name_removes_the_key_and_says_so_on_stderr() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = create(&sandbox, &["--type", "personal", "--name", "old"]);
    emulator.reset();
    let run = sandbox.run(&["org", "api-key", "delete", "--name", "old"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, format!("Deleted API key {}\n", prefix_of(&key)));
    assert_eq!(
        request_lines(&emulator),
        [
            "GET /v1/api_keys".to_owned(),
            format!("DELETE /v1/api_keys/{}", prefix_of(&key))
        ]
    );
    assert!(
        !emulator
            .keys()
            .iter()
            .any(|listed| listed["prefix"] == prefix_of(&key))
    );
}

#[test]
fn delete_by_prefix_with_jq_prints_the_prefix() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = create(&sandbox, &["--type", "personal"]);
    emulator.reset();
    let run = sandbox.run(&[
        "org",
        "api-key",
        "delete",
        "--prefix",
        prefix_of(&key),
        "--jq",
        ".prefix",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{}\n", prefix_of(&key)));
    assert_eq!(
        request_lines(&emulator),
        [format!("DELETE /v1/api_keys/{}", prefix_of(&key))]
    );
}

#[test]
fn delete_json_is_the_tombstone() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = create(&sandbox, &["--type", "personal", "--name", "gone"]);
    let run = sandbox.run(&["org", "api-key", "delete", "--name", "gone", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json(), json!({"prefix": prefix_of(&key)}));
}

#[test]
fn delete_by_name_with_no_match_is_not_found_and_deletes_nothing() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&["org", "api-key", "delete", "--name", "nobody"]);
    run.assert_code(4);
    assert!(
        run.stderr
            .starts_with("error: no API key named \"nobody\"\n"),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"]);
}

#[test]
fn delete_by_name_with_two_matches_deletes_nothing() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    create(&sandbox, &["--type", "personal", "--name", "twin"]);
    create(&sandbox, &["--type", "personal", "--name", "twin"]);
    let before = emulator.keys().len();
    emulator.reset();
    let run = sandbox.run(&["org", "api-key", "delete", "--name", "twin"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        "error: multiple API keys named \"twin\"; pass --prefix instead\n"
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/api_keys"]);
    assert_eq!(emulator.keys().len(), before);
}

#[test]
fn delete_needs_exactly_one_of_name_and_prefix() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for args in [
        vec!["org", "api-key", "delete"],
        vec!["org", "api-key", "delete", "--name", "a", "--prefix", "b"],
    ] {
        let run = sandbox.run(&args);
        run.assert_code(2);
        assert!(
            run.stderr.contains("--name") && run.stderr.contains("--prefix"),
            "{}",
            run.stderr
        );
    }
    assert!(requests(&emulator).is_empty());
}

#[test]
fn delete_of_an_unknown_prefix_is_not_found() {
    let emulator = emulator();
    let run =
        Sandbox::for_emulator(&emulator).run(&["org", "api-key", "delete", "--prefix", "zzzzzzzz"]);
    run.assert_code(4);
    assert!(
        run.stderr
            .starts_with("error: could not delete API key zzzzzzzz: HTTP 404"),
        "{}",
        run.stderr
    );
}

/// Runs `baseten` under `script`, which gives it a real pseudo-terminal for stdin and stderr.
fn run_on_terminal(sandbox: &Sandbox, args: &str, typed: &str) -> baseten_e2e::Run {
    let command_line = format!("{} {args}", baseten_e2e::baseten_bin().display());
    let mut command = sandbox.command(std::path::Path::new("script"));
    command.args(["-qec", &command_line, "/dev/null"]);
    run_command(command, typed)
}

#[test]
fn delete_on_a_terminal_asks_first_and_no_keeps_the_key() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = create(&sandbox, &["--type", "personal", "--name", "precious"]);
    let run = run_on_terminal(&sandbox, "org api-key delete --name precious", "n\n");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "Delete API key {} (precious)? [y/N]",
            prefix_of(&key)
        )),
        "{}",
        run.stdout
    );
    assert!(
        emulator
            .keys()
            .iter()
            .any(|listed| listed["prefix"] == prefix_of(&key))
    );
}

#[test]
fn delete_on_a_terminal_deletes_after_yes() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = create(&sandbox, &["--type", "personal", "--name", "temp"]);
    let run = run_on_terminal(&sandbox, "org api-key delete --name temp", "y\n");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("Deleted API key {}", prefix_of(&key))),
        "{}",
        run.stdout
    );
    assert!(
        !emulator
            .keys()
            .iter()
            .any(|listed| listed["prefix"] == prefix_of(&key))
    );
}

#[test]
fn delete_with_yes_on_a_terminal_does_not_ask() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let key = create(&sandbox, &["--type", "personal"]);
    let run = run_on_terminal(
        &sandbox,
        &format!("org api-key delete --prefix {} --yes", prefix_of(&key)),
        "",
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("[y/N]"), "{}", run.stdout);
}

#[test]
fn without_a_terminal_delete_does_not_ask() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    create(&sandbox, &["--type", "personal", "--name", "script"]);
    let run = sandbox.run_with_stdin(&["org", "api-key", "delete", "--name", "script"], "n\n");
    run.assert_code(0);
    assert!(!run.stderr.contains("[y/N]"));
}

#[test]
fn help_shows_descriptions_flags_values_and_examples() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["org", "api-key", "create", "--help"]);
    run.assert_code(0);
    for expected in [
        "Create a new API key. The key value is printed to stdout exactly once",
        "--type <TYPE>",
        "workspace-export-metrics",
        "--model-id <ID>",
        "--team <TEAM>",
        "Create a workspace-invoke key scoped to specific models",
        "baseten org api-key create --type personal --jq '.api_key'",
        "Global Options",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            run.stdout
        );
    }
    let run = sandbox.run(&["org", "api-key", "--help"]);
    run.assert_code(0);
    for expected in ["list", "create", "delete", "Manage API keys"] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            run.stdout
        );
    }
    let run = sandbox.run(&["org", "api-key", "delete", "--help"]);
    assert!(
        run.stdout.contains("Delete by visible prefix"),
        "{}",
        run.stdout
    );
    let run = sandbox.run(&["org", "api-key", "list", "--help"]);
    assert!(
        run.stdout
            .contains(".keys[] | select(.type == \"PERSONAL\") | .prefix"),
        "{}",
        run.stdout
    );
}

#[test]
fn global_options_work_before_and_after_the_command() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let before = sandbox.run(&["-o", "json", "org", "api-key", "list"]);
    let after = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
    before.assert_code(0);
    after.assert_code(0);
    assert_eq!(before.stdout, after.stdout);
    let payload: Value = before.json();
    assert!(payload["keys"].is_array());
}
