//! Text from outside goes through one sanitiser before it is printed: an answer printed on
//! stdout as received keeps its lines and tabs but loses every character that could drive or
//! reorder a terminal, and text cut short always ends the same way.

use baseten_e2e::{Sandbox, emulator};
use serde_json::json;

#[test]
fn an_answer_printed_as_received_keeps_its_lines_but_no_terminal_control() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    emulator.inject_fault(json!({
        "method": "POST", "path": "/v1/api_keys", "status": 200, "after_processing": true,
        "body": "{\n\t\"unexpected\": \"a\u{202e}b\u{1b}[2J\"\r\n}",
    }));
    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "{\n\t\"unexpected\": \"a?b?[2J\" \n}\n");
    assert!(
        run.stderr
            .starts_with("error: could not create API key: unexpected response"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_jq_error_cut_short_ends_in_an_ellipsis() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org",
        "api-key",
        "list",
        "--jq",
        "(\"x\" * 400) | error",
    ]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        format!("error: jq error: {}…\n", "x".repeat(300))
    );
}
