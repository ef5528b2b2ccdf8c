//! The text table of a large listing: its rows cross the plugin boundary without being copied
//! into a string each on the host's side (a cell is read borrowed from the plugin's answer), and
//! are made a row each as the plugin reads the keys (no vector of keys first). The table printed
//! is the same, byte for byte, cells that need unescaping or cleaning included.

use baseten_e2e::{Sandbox, emulator};
use baseten_emulator::Emulator;
use serde_json::json;

#[test]
fn cells_with_escapes_control_and_wide_characters_print_as_before() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    // Escaped quotes and backslashes, `\u` escapes, control characters (an escape sequence, a
    // tab, a line break, DEL), a bidirectional override, wide and combining characters, and
    // missing names and teams.
    let body = r#"{"keys":[
        {"prefix":"abcd1234","type":"PERSONAL","name":"say \"hi\" \\ now","team_name":"\u00c9quipe"},
        {"prefix":"wxyz9876","type":"WORKSPACE_INVOKE","name":"\u001b[31mred\ttab\nline\u007f","team_name":null},
        {"prefix":"efgh5678","type":"SOMETHING_NEW","name":"日本語 e\u0301","team_name":"\u202eevil"},
        {"prefix":"ijkl0000","type":"WORKSPACE_MANAGE_ALL"}
    ]}"#;
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 200, "body": body}),
    );
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "NAME                KEY           TYPE                  TEAM\n\
         say \"hi\" \\ now      abcd1234****  personal              Équipe\n\
         ?[31mred tab line?  wxyz9876****  workspace-invoke\n\
         日本語 e\u{301}            efgh5678****  something-new         ?evil\n                    \
         ijkl0000****  workspace-manage-all\n"
    );
    assert_eq!(run.stderr, "");

    // No keys: the message on stderr, nothing on stdout.
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 200, "body": r#"{"keys":[]}"#}),
    );
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(0);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("", "No API keys found.\n")
    );
}

/// A listing of 100,000 keys (the size the table's rows were made cheaper for): one line per
/// key, each holding that key's name, masked prefix, type and team, in the order of the JSON.
#[test]
fn a_table_of_100000_keys_shows_every_key_of_the_listing_in_order() {
    let emulator = Emulator::builder()
        .seed_keys(99_999)
        .start_in_background()
        .expect("the emulator starts");
    let sandbox = Sandbox::for_emulator(&emulator);
    let listing = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
    listing.assert_code(0);
    let run = sandbox.run(&["org", "api-key", "list"]);
    run.assert_code(0);
    let keys = listing.json()["keys"].as_array().expect("keys").clone();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(keys.len(), 100_000);
    assert_eq!(lines.len(), 100_001);
    assert!(lines[0].starts_with("NAME "), "{}", lines[0]);
    for (key, line) in keys.iter().zip(&lines[1..]) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let name = key["name"].as_str().unwrap_or_default();
        let masked = format!("{}****", key["prefix"].as_str().expect("a prefix"));
        let kind = key["type"]
            .as_str()
            .expect("a type")
            .to_ascii_lowercase()
            .replace('_', "-");
        let expected: Vec<&str> = [name, masked.as_str(), kind.as_str()]
            .into_iter()
            .filter(|cell| !cell.is_empty())
            .chain(
                key["team_name"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .collect();
        assert_eq!(cells, expected, "{line}");
    }
}
