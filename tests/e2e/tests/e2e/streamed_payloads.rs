//! Large listings read with less work: `--jq` reads the payload straight into the filter's
//! values with object keys shared between objects, and `-o json` checks the shape of a listing
//! on its first key, then only that the rest is JSON.

use baseten_e2e::{EmulatorHandle, Sandbox, emulator};
use serde_json::json;

fn answer_with(emulator: &EmulatorHandle, body: &str) {
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 200, "body": body}),
    );
}

#[test]
fn jq_sees_every_object_with_its_own_keys_and_values() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    // The same keys in many objects, a key written with an escape, a repeated key (the last
    // one counts, as in jq), more distinct keys than are shared, and a long one.
    let many: String = (0..40).map(|n| format!(r#""k{n}":{n},"#)).collect();
    let long = "x".repeat(100);
    let body = format!(
        r#"{{"keys":[{{"prefix":"abcd1234","type":"PERSONAL","name":"a"}},{{"prefix":"wxyz9876","type":"WORKSPACE_INVOKE","name":"b","na\u006de":"c"}},{{{many}"{long}":1,"prefix":"efgh5678","type":"PERSONAL"}}]}}"#
    );
    answer_with(&emulator, &body);
    let run = sandbox.run(&[
        "org",
        "api-key",
        "list",
        "--jq",
        r#".keys[] | select(.type == "PERSONAL") | .prefix"#,
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout, "abcd1234\nefgh5678\n");
    answer_with(&emulator, &body);
    let run = sandbox.run(&[
        "org",
        "api-key",
        "list",
        "-o",
        "jsonl",
        "--jq",
        r#"(.keys | map(keys_unsorted | length)), (.keys[1] | [.name, (keys_unsorted | join(","))]), (.keys[0] | .prefix |= ascii_upcase), .keys[0].prefix, (.keys[2] | .k39)"#,
    ]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "[3,3,43]\n[\"c\",\"prefix,type,name\"]\n\
         {\"prefix\":\"ABCD1234\",\"type\":\"PERSONAL\",\"name\":\"a\"}\nabcd1234\n39\n",
    );
}

#[test]
fn json_output_checks_the_first_key_and_that_the_rest_is_json() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    // A listing whose first key is a key: printed as received, whatever else it holds.
    let body = r#"{"keys":[{"prefix":"abcd1234","type":"PERSONAL"},{"other":true},3]}"#;
    answer_with(&emulator, body);
    let run = sandbox.run(&["org", "api-key", "list", "-o", "jsonl"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{body}\n"));
    // The table needs every key: it still says the answer is not a listing.
    answer_with(&emulator, body);
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("unexpected response from the API:"),
        "{}",
        run.stderr
    );
    // A first element that is not a key, or a body that is not JSON further on, is refused.
    for body in [
        r#"{"keys":[{"other":true},{"prefix":"abcd1234","type":"PERSONAL"}]}"#,
        r#"{"keys":[{"prefix":"abcd1234","type":"PERSONAL"},{"prefix":"wxyz9876",]}"#,
    ] {
        answer_with(&emulator, body);
        let run = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
        run.assert_code(1);
        assert_eq!(run.stdout, "", "{body}");
        assert!(
            run.stderr.contains("unexpected response from the API:"),
            "{body}: {}",
            run.stderr
        );
    }
}
