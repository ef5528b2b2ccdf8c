//! The README's output rules: each output mode and each `--jq` form, on real command output.

use baseten_e2e::{Sandbox, emulator};
use serde_json::{Value, json};

use crate::support::{assert_live_key, prefix_of, requests};

#[test]
fn json_keeps_the_api_payload_with_two_space_indent() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
    run.assert_code(0);
    let payload = run.json();
    assert_eq!(
        serde_json::to_string_pretty(&payload).expect("serializes") + "\n",
        run.stdout
    );
    let first = &payload["keys"][0];
    let fields: Vec<&String> = first.as_object().expect("an object").keys().collect();
    assert_eq!(
        fields,
        ["prefix", "type", "name", "model_ids", "team_name"],
        "field order is the API's"
    );
}

#[test]
fn unknown_fields_from_the_api_are_kept() {
    let emulator = emulator();
    emulator.inject_fault(json!({
        "method": "GET", "path": "/v1/api_keys", "status": 200,
        "body": "{\"keys\":[{\"prefix\":\"abcd1234\",\"type\":\"PERSONAL\",\"created\":\"2026\",\"name\":null}],\"cursor\":7}"
    }));
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-o", "jsonl"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "{\"keys\":[{\"prefix\":\"abcd1234\",\"type\":\"PERSONAL\",\"created\":\"2026\",\"name\":null}],\"cursor\":7}\n"
    );
}

#[test]
fn jsonl_is_one_compact_line() {
    let emulator = emulator();
    let run =
        Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "--output", "jsonl"]);
    run.assert_code(0);
    assert_eq!(run.stdout.lines().count(), 1);
    let _: Value = serde_json::from_str(run.stdout.trim_end()).expect("one JSON line");
}

#[test]
fn none_prints_nothing_on_stdout_but_keeps_messages() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&["org", "api-key", "list", "-o", "none"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    let key = sandbox
        .run(&[
            "org", "api-key", "create", "--type", "personal", "--name", "n",
        ])
        .stdout;
    let run = sandbox.run(&["org", "api-key", "delete", "--name", "n", "-o", "none"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "Deleted API key {}\n",
            key.split('.').next().unwrap_or_default()
        )
    );
}

#[test]
fn jq_non_string_results_print_as_json_indented_or_compact() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&[
        "org",
        "api-key",
        "list",
        "--jq",
        "{n: (.keys | length), t: [.keys[].type][0:1]}",
    ]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "{\n  \"n\": 1,\n  \"t\": [\n    \"PERSONAL\"\n  ]\n}\n"
            .replace("PERSONAL", &first_type(&emulator))
    );
    let run = sandbox.run(&[
        "org",
        "api-key",
        "list",
        "--jq",
        ".keys | length",
        "-o",
        "jsonl",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout, "1\n");
}

fn first_type(emulator: &baseten_e2e::BackgroundEmulator) -> String {
    emulator.keys()[0]["type"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn jq_prints_each_result_on_its_own_line() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    sandbox
        .run(&[
            "org", "api-key", "create", "--type", "personal", "--name", "a",
        ])
        .assert_code(0);
    let run = sandbox.run(&["org", "api-key", "list", "-q", ".keys[].type"]);
    run.assert_code(0);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    assert!(run.stdout.lines().all(|line| !line.starts_with('"')));
}

#[test]
fn a_bad_jq_expression_is_a_usage_error_and_nothing_is_sent() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let keys_before = emulator.keys();
    let run = sandbox.run(&[
        "org",
        "api-key",
        "create",
        "--type",
        "personal",
        "--jq",
        ".api_key |",
    ]);
    run.assert_code(2);
    assert!(
        run.stderr.starts_with("error: invalid jq expression"),
        "{}",
        run.stderr
    );
    assert!(requests(&emulator).is_empty());
    assert_eq!(emulator.keys(), keys_before, "a key was created");
}

#[test]
fn jq_with_explicit_text_or_none_is_a_usage_error() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for mode in ["text", "none"] {
        let run = sandbox.run(&["org", "api-key", "list", "--jq", ".", "-o", mode]);
        run.assert_code(2);
        assert!(
            run.stderr.contains(&format!("--output {mode}")),
            "{}",
            run.stderr
        );
    }
    assert!(requests(&emulator).is_empty());
}

#[test]
fn a_jq_runtime_error_exits_1() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org",
        "api-key",
        "list",
        "--jq",
        ".keys | error(\"boom\")",
    ]);
    run.assert_code(1);
    assert!(
        run.stderr.starts_with("error: jq error: "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn a_jq_runtime_error_on_create_still_shows_the_new_key() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org",
        "api-key",
        "create",
        "--type",
        "personal",
        "--jq",
        ".api_key | error(\"boom\")",
    ]);
    run.assert_code(1);
    let created = emulator
        .keys()
        .into_iter()
        .last()
        .expect("the key was created");
    let prefix = created["prefix"].as_str().expect("a prefix");
    // The unfiltered payload, with the whole key: a masked one would be as lost.
    let key = run.json()["api_key"].as_str().expect("a key").to_owned();
    assert_eq!(prefix_of(&key), prefix, "{}", run.stdout);
    assert_live_key(&emulator, &key);
    assert!(run.stderr.contains("jq error"), "{}", run.stderr);
}

#[test]
fn jq_reads_payloads_with_huge_numbers_and_deep_nesting_as_jq_does() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
    for body in [
        r#"{"keys":[{"prefix":"abcd1234","type":"PERSONAL","n":1e400},{"prefix":"wxyz9876","type":"PERSONAL","n":12345678901234567890123}]}"#.to_owned(),
        format!(r#"{{"keys":[{{"prefix":"abcd1234","type":"PERSONAL","deep":{deep}}},{{"prefix":"wxyz9876","type":"PERSONAL"}}]}}"#),
    ] {
        emulator.inject_fault(
            json!({"method": "GET", "path": "/v1/api_keys", "status": 200, "body": body}),
        );
        let run = sandbox.run(&["org", "api-key", "list", "--jq", ".keys | length"]);
        run.assert_code(0);
        assert_eq!(run.stdout, "2\n");
    }
}
