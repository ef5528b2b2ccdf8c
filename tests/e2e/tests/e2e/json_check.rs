//! A listing's body is checked to be JSON in one quick pass before anything of it is printed:
//! a body malformed anywhere, even far past the first screens of output, prints nothing on
//! stdout and fails with `serde_json`'s own words, as when `serde_json` was the check; a valid
//! body however laid out prints exactly as `serde_json` lays it out.

use baseten_e2e::{BackgroundEmulator, Sandbox, emulator, fixture_library, plugin_folder};
use serde_json::json;

fn answer_with(emulator: &BackgroundEmulator, body: &str) {
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 200, "body": body}),
    );
}

/// A valid listing of `count` keys, longer than any output buffer once indented.
fn listing(count: usize) -> String {
    let keys: Vec<String> = (0..count)
        .map(|n| {
            format!(
                r#"{{"prefix":"k{n:07}","type":"PERSONAL","name":"key \"{n}\" \u00e9","model_ids":[{n},-1.5e3],"team_name":null}}"#
            )
        })
        .collect();
    format!(r#"{{"keys":[{}],"next":null}}"#, keys.join(","))
}

/// `text` with the last `from` in it replaced by `to`.
fn replace_last(text: &str, from: &str, to: &str) -> String {
    let at = text.rfind(from).expect("in the text");
    format!("{}{to}{}", &text[..at], &text[at + from.len()..])
}

/// What `serde_json` says of `body`, which is not JSON.
fn serde_words(body: &str) -> String {
    serde_json::from_str::<&serde_json::value::RawValue>(body)
        .expect_err("not JSON")
        .to_string()
}

#[test]
fn a_body_malformed_far_into_it_prints_nothing_and_says_where() {
    let emulator = emulator();
    let folder = plugin_folder(&[(fixture_library("passthrough").as_path(), "passthrough")]);
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    let valid = listing(3000);
    let cut = valid.len() - 40;
    let late = valid.len() - 200;
    let malformed = [
        // Truncated.
        valid[..cut].to_owned(),
        valid[..valid.len() - 1].to_owned(),
        // A bad escape, a control character in a string, a bad number, a bad literal.
        format!("{}\\x{}", &valid[..late], &valid[late..]),
        format!("{}\u{1}{}", &valid[..late], &valid[late..]),
        replace_last(&valid, "-1.5e3]", "-1.5e]"),
        replace_last(&valid, "[2999,", "[02999,"),
        valid.replace(r#""next":null"#, r#""next":nul"#),
        // Trailing garbage, a trailing comma, brackets crossed.
        format!("{valid} x"),
        valid.replace("],\"next\"", ",],\"next\""),
        valid.replace("],\"next\"", "},\"next\""),
        // Deep nesting never closed.
        format!("{}{}", &valid[..late], "[".repeat(100_000)),
    ];
    for body in &malformed {
        let words = serde_words(body);
        for mode in ["json", "jsonl"] {
            // Checked by the plugin, which names what the request was for.
            answer_with(&emulator, body);
            let run = sandbox.run(&["org", "api-key", "list", "-o", mode]);
            run.assert_code(1);
            assert_eq!(run.stdout, "", "{words}");
            assert_eq!(
                run.stderr,
                format!(
                    "error: could not list API keys: unexpected response from the API: {words}\n"
                )
            );
            // Handed back unchecked by a plugin: checked by the host.
            answer_with(&emulator, body);
            let run = sandbox.run(&[
                "fixture",
                "passthrough",
                "--path",
                "/v1/api_keys",
                "-o",
                mode,
            ]);
            run.assert_code(1);
            assert_eq!(run.stdout, "", "{words}");
            assert_eq!(
                run.stderr,
                format!("error: unexpected response from the API: {words}\n")
            );
        }
    }
}

#[test]
fn a_valid_body_however_laid_out_prints_as_serde_json_lays_it_out() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    // As deep as `serde_json` reads into a tree (the host has no limit).
    let deep = format!("{}{}", "[".repeat(120), "]".repeat(120));
    let body = format!(
        " {{ \"keys\" :\n[ {{\"prefix\" : \"abcd1234\",\t\"type\":\"PERSONAL\" , \"s\":\"a \\\" [ }} , : \\\\ é 🔑\",\r\n\"empty\":{{ }},\"list\":[ ] , \"deep\":{deep}, \"n\":[0,-1,1.25,true,false,null]}} ,\n3 ], \"next\": null }} \n"
    );
    let value: serde_json::Value = serde_json::from_str(&body).expect("valid");
    for (mode, expected) in [
        (
            "json",
            serde_json::to_string_pretty(&value).expect("pretty"),
        ),
        ("jsonl", serde_json::to_string(&value).expect("compact")),
    ] {
        answer_with(&emulator, &body);
        let run = sandbox.run(&["org", "api-key", "list", "-o", mode]);
        run.assert_code(0);
        assert_eq!(run.stdout, format!("{expected}\n"), "{mode}");
    }
}
