//! `--jq` over a payload the host hands its filter's child in an in-memory file, read by a
//! strict reader whose strings point into that file, with results written straight from the
//! filter's values: every value, every layout and every error as before, whichever way the
//! payload arrives (the in-memory file, or a pipe where there is none).

use baseten_e2e::{Sandbox, baseten_bin, emulator, run_command};
use serde_json::json;

/// A listing whose first key is a key (the plugin checks that one) and whose other elements
/// the reader must read exactly as serde does; with `beyond`, also a number beyond `f64` and
/// nesting deeper than serde reads, which send the whole payload to jaq's own parser.
fn tricky_listing(beyond: bool) -> String {
    let extra = if beyond {
        format!(r#", 1e400, {}1{}"#, "[".repeat(150), "]".repeat(150))
    } else {
        String::new()
    };
    format!(
        r#"{{"keys":[{{"prefix":"abcd1234","type":"PERSONAL","name":"a\"b\\c\u00e9\ud83d\ude00\n"}},
        {{"n":[0,-0,1.5,-0.0,2E-3,1e5,12345678901234567,1234567890123456789,18446744073709551615,18446744073709551616,-9223372036854775808]}},
        {{"a":1,"a":2,"\u0062":3,"":[],"e":{{}}}},
        [[[1]]], true, false, null, "tab\there"{extra}]}}"#
    )
}

const FILTERS: [&str; 6] = [
    ".",
    ".keys[0]",
    ".keys | length",
    ".keys[1].n[] | [., type]",
    ".keys[2], (.keys[3] | flatten), .keys[4:]",
    r#".keys[] | select(type == "object" and .type == "PERSONAL") | .name"#,
];

/// What each filter prints, as jq prints it.
const EXPECTED: [&str; 6] = [
    "",
    "{\n  \"prefix\": \"abcd1234\",\n  \"type\": \"PERSONAL\",\n  \"name\": \"a\\\"b\\\\cé😀\\n\"\n}\n",
    "8\n",
    "",
    "{\n  \"a\": 2,\n  \"b\": 3,\n  \"\": [],\n  \"e\": {}\n}\n[\n  1\n]\n[\n  true,\n  false,\n  null,\n  \"tab\\there\"\n]\n",
    "a\"b\\cé😀\n\n",
];

#[test]
fn jq_reads_every_value_as_before_through_the_host_and_through_a_pipe() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for beyond in [false, true] {
        let body = tricky_listing(beyond);
        for (filter, expected) in FILTERS.iter().zip(EXPECTED) {
            for mode in ["json", "jsonl"] {
                emulator.inject_fault(
                    json!({"method": "GET", "path": "/v1/api_keys", "status": 200, "body": body}),
                );
                let through_host =
                    sandbox.run(&["org", "api-key", "list", "-o", mode, "--jq", filter]);
                through_host.assert_code(0);
                // The filter's child on its own, its payload through a pipe.
                let mut command = sandbox.command(&baseten_bin());
                command.args(["__jq", filter, mode]);
                let through_pipe = run_command(command, &body);
                assert_eq!(through_pipe.code, 0, "{}", through_pipe.stderr);
                assert_eq!(
                    through_host.stdout, through_pipe.stdout,
                    "{filter} -o {mode}"
                );
                if !beyond && !expected.is_empty() && mode == "json" {
                    assert_eq!(through_host.stdout, expected, "{filter}");
                }
            }
        }
    }
    // Numbers as serde reads them (`-0` a float), and as jaq's parser reads them when the
    // payload holds a number beyond `f64` (`-0` an integer, `1e5` as written).
    for (beyond, expected) in [(false, NUMBERS_BY_SERDE), (true, NUMBERS_BY_JAQ)] {
        let mut command = sandbox.command(&baseten_bin());
        command.args(["__jq", ".keys[1].n[] | [., type]", "jsonl"]);
        let run = run_command(command, &tricky_listing(beyond));
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, expected, "beyond f64: {beyond}");
    }
}

const NUMBERS_BY_SERDE: &str = "[0,\"number\"]\n[-0.0,\"number\"]\n[1.5,\"number\"]\n\
    [-0.0,\"number\"]\n[0.002,\"number\"]\n[100000.0,\"number\"]\n[12345678901234567,\"number\"]\n\
    [1234567890123456789,\"number\"]\n[18446744073709551615,\"number\"]\n\
    [1.8446744073709552e+19,\"number\"]\n[-9223372036854775808,\"number\"]\n";
const NUMBERS_BY_JAQ: &str = "[0,\"number\"]\n[0,\"number\"]\n[1.5,\"number\"]\n\
    [-0.0,\"number\"]\n[0.002,\"number\"]\n[100000.0,\"number\"]\n[12345678901234567,\"number\"]\n\
    [1234567890123456789,\"number\"]\n[18446744073709551615,\"number\"]\n\
    [1.8446744073709552e+19,\"number\"]\n[-9223372036854775808,\"number\"]\n";

#[test]
fn a_malformed_payload_is_refused_with_the_same_words_either_way() {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", "abcd1234.unused");
    for (payload, words) in [
        (
            r#"{"keys": [1,]}"#,
            "invalid JSON input: trailing comma at line 1 column 13",
        ),
        (
            "{\"keys\": \"a\u{1}b\"}",
            "invalid JSON input: control character (\\u0000-\\u001F) found while parsing a string at line 1 column 12",
        ),
        (
            r#"{"keys": "\ud800"}"#,
            "invalid JSON input: unexpected end of hex escape at line 1 column 17",
        ),
        (
            "[1] 2",
            "invalid JSON input: trailing characters at line 1 column 5",
        ),
    ] {
        let mut command = sandbox.command(&baseten_bin());
        command.args(["__jq", ".", "json"]);
        let run = run_command(command, payload);
        assert_eq!(run.code, 1, "{payload}");
        assert!(
            run.stderr.ends_with(&format!("{words}\n")),
            "{payload}: {}",
            run.stderr
        );
    }
}
