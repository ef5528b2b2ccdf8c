//! A new key is never lost: `--jq` runs isolated and streams, a failure to show a new key says
//! so and how to delete it, Ctrl-C prints it, an odd success answer is shown as received, and
//! `-o json` passes numbers through exactly.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baseten_e2e::{BackgroundEmulator, Run, Sandbox, baseten_bin, emulator, finish};
use serde_json::json;

use crate::support::{assert_live_key, request_lines, run_with_stdout_closed};

/// Upper bound for anything a test waits for; only reached when the tool hangs.
const PATIENCE: Duration = Duration::from_secs(60);

/// The prefix of the key the emulator created last.
fn newest_prefix(emulator: &BackgroundEmulator) -> String {
    let keys = emulator.keys();
    let newest = keys.last().expect("a key was created");
    newest["prefix"].as_str().expect("a prefix").to_owned()
}

/// A `--jq` failure is one `error: jq error: …` line with exit 1: no abort, no runtime message.
#[track_caller]
fn assert_clean_jq_failure(run: &Run) {
    run.assert_code(1);
    assert!(
        run.stderr
            .lines()
            .any(|line| line.starts_with("error: jq error: ")),
        "{}",
        run.stderr
    );
    for word in ["overflow", "panicked", "fatal", "abort"] {
        assert!(!run.stderr.contains(word), "{}", run.stderr);
    }
}

#[test]
fn a_filter_that_recurses_forever_on_create_still_shows_the_key() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org",
        "api-key",
        "create",
        "--type",
        "personal",
        "--jq",
        "def f: [f]; f",
    ]);
    assert_clean_jq_failure(&run);
    assert!(run.stderr.contains("recursed too deeply"), "{}", run.stderr);
    let prefix = newest_prefix(&emulator);
    let shown = run.json();
    let key = shown["api_key"].as_str().expect("the payload is printed");
    assert!(key.starts_with(&format!("{prefix}.")), "{key}");
    assert_live_key(&emulator, key);
    assert!(!run.stderr.contains(key), "{}", run.stderr);
}

#[test]
fn a_filter_that_leaves_nothing_of_a_new_key_still_shows_it() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for filter in ["empty", "select(.missing)", ".api_key | select(false)"] {
        let run = sandbox.run(&[
            "org", "api-key", "create", "--type", "personal", "--jq", filter,
        ]);
        assert_clean_jq_failure(&run);
        assert!(
            run.stderr.contains("the filter printed nothing"),
            "{}",
            run.stderr
        );
        let prefix = newest_prefix(&emulator);
        let key = run.json()["api_key"]
            .as_str()
            .expect("the payload is printed")
            .to_owned();
        assert!(key.starts_with(&format!("{prefix}.")), "{key}");
        assert_live_key(&emulator, &key);
        assert!(!run.stderr.contains(&key), "{}", run.stderr);
    }
    // Anything else may filter its output down to nothing.
    let run = sandbox.run(&["org", "api-key", "list", "--jq", "empty"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn filters_that_would_overflow_the_stack_on_list_fail_cleanly() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for filter in [
        "def f: [f]; f",
        "def f: 1 + f; f",
        "\"[\" * 100000 | fromjson",
    ] {
        let run = sandbox.run(&["org", "api-key", "list", "--jq", filter]);
        assert_clean_jq_failure(&run);
    }
    // Deep enough to overflow a normal stack; it may succeed, or fail with one error line.
    let run = sandbox.run(&[
        "org",
        "api-key",
        "list",
        "--jq",
        "reduce range(100000) as $x (null; {a:.}) | tojson | length",
    ]);
    if run.code != 0 {
        assert_clean_jq_failure(&run);
    }
}

#[test]
fn deep_but_finite_filters_keep_working() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org",
        "api-key",
        "list",
        "-o",
        "jsonl",
        "--jq",
        "[range(10000)] | reduce .[] as $x (null; [.])",
    ]);
    run.assert_code(0);
    let expected = format!("{}null{}\n", "[".repeat(10000), "]".repeat(10000));
    assert!(
        run.stdout == expected,
        "unexpected output: {} bytes",
        run.stdout.len()
    );
}

#[test]
fn an_endless_filter_stops_when_its_reader_goes_away() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let mut child = start(
        &sandbox,
        &["org", "api-key", "list", "--jq", "repeat(1)"],
        Stdio::piped(),
    );
    let mut stdout = child.stdout.take().expect("a pipe");
    let mut first = [0_u8; 1];
    stdout.read_exact(&mut first).expect("a first result");
    assert_eq!(&first, b"1");
    drop(stdout);
    let run = finish(child, "`--jq 'repeat(1)'` after its reader left");
    // Like any command piped into `head`: a quiet end.
    run.assert_code(0);
    assert_eq!(run.stderr, "");
}

/// Starts `baseten` with `args` in `sandbox`: no stdin, `stdout` as given, stderr piped.
fn start(sandbox: &Sandbox, args: &[&str], stdout: Stdio) -> Child {
    sandbox
        .command(&baseten_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts")
}

/// Runs `create` with `stdout` as its standard output, returning what it printed on stderr.
fn create_into(emulator: &BackgroundEmulator, extra: &[&str], stdout: Stdio) -> Run {
    let sandbox = Sandbox::for_emulator(emulator);
    let child = start(
        &sandbox,
        &[
            &["org", "api-key", "create", "--type", "personal"][..],
            extra,
        ]
        .concat(),
        stdout,
    );
    finish(child, "create")
}

/// The failure says the key was created, names its prefix and how to delete it, and does not
/// print the secret.
#[track_caller]
fn assert_reports_unseen_key(run: &Run, emulator: &BackgroundEmulator) {
    run.assert_code(1);
    let prefix = newest_prefix(emulator);
    assert!(
        run.stderr.starts_with(&format!(
            "error: the API key {prefix} was created but could not be shown: could not write output: "
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "hint: delete it with `baseten org api-key delete --prefix {prefix}`"
        )),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&format!("{prefix}.")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_new_key_written_to_a_closed_stdout_is_reported() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for extra in [&[][..], &["--jq", ".api_key"][..]] {
        // `>&-`: the shell closes descriptor 1 before running the tool.
        let child = sandbox
            .command(Path::new("/bin/sh"))
            .arg("-c")
            .arg("exec \"$0\" \"$@\" >&-")
            .arg(baseten_bin())
            .args(["org", "api-key", "create", "--type", "personal"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let run = finish(child, "create >&-");
        assert_reports_unseen_key(&run, &emulator);
    }
}

#[test]
fn a_new_key_written_to_a_full_disk_is_reported() {
    let emulator = emulator();
    for extra in [&[][..], &["--jq", ".api_key"][..], &["-o", "json"][..]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full opens");
        let run = create_into(&emulator, extra, Stdio::from(full));
        assert_reports_unseen_key(&run, &emulator);
    }
}

#[test]
fn a_new_key_written_to_a_broken_pipe_is_reported() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for extra in [&[][..], &["--jq", ".api_key"][..]] {
        let mut child = start(
            &sandbox,
            &[
                &["org", "api-key", "create", "--type", "personal"][..],
                extra,
            ]
            .concat(),
            Stdio::piped(),
        );
        // `| head -c0`: the reader is gone before anything is written.
        drop(child.stdout.take());
        let run = finish(child, "create | head -c0");
        assert_reports_unseen_key(&run, &emulator);
    }
    // A listing can be fetched again: a broken pipe stays a quiet end.
    let mut child = start(&sandbox, &["org", "api-key", "list"], Stdio::piped());
    drop(child.stdout.take());
    let run = finish(child, "list | head -c0");
    run.assert_code(0);
    assert_eq!(run.stderr, "");
}

#[test]
fn a_notice_that_cannot_be_written_after_the_key_was_shown_is_no_failure() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full opens");
    let child = sandbox
        .command(&baseten_bin())
        .args(["org", "api-key", "create", "--type", "personal"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(full))
        .spawn()
        .expect("starts");
    let run = finish(child, "create 2>/dev/full");
    run.assert_code(0);
    let prefix = newest_prefix(&emulator);
    assert!(
        run.stdout.starts_with(&format!("{prefix}.")),
        "{}",
        run.stdout
    );
}

/// Runs `create` with a filter that runs for hours, sends `signal` (`kill -SIGNAL`) once the key
/// exists and the filter runs, and checks the new key was printed on stdout anyway.
fn signal_during_a_slow_filter(signal: &str) -> Run {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let child = start(
        &sandbox,
        &[
            "org",
            "api-key",
            "create",
            "--type",
            "personal",
            "--jq",
            "last(range(1e12))",
        ],
        Stdio::piped(),
    );
    let pid = child.id().to_string();
    // The key exists and the filter runs (the tool has started its `--jq` child process).
    let children = format!("/proc/{pid}/task/{pid}/children");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let created = request_lines(&emulator).contains(&"POST /v1/api_keys".to_owned());
        let filtering = std::fs::read_to_string(&children)
            .map(|list| !list.trim().is_empty())
            .unwrap_or(false);
        if created && filtering {
            break;
        }
        assert!(Instant::now() < deadline, "the filter never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let run = finish(child, "create signalled during --jq");
    let prefix = newest_prefix(&emulator);
    let shown = run.json();
    let key = shown["api_key"].as_str().expect("the new key is printed");
    assert!(key.starts_with(&format!("{prefix}.")), "{key}");
    assert!(!run.stderr.contains(key), "{}", run.stderr);
    run
}

#[test]
fn ctrl_c_during_a_slow_filter_prints_the_new_key_first() {
    let run = signal_during_a_slow_filter("INT");
    run.assert_code(130);
    assert!(run.stderr.ends_with("Canceled.\n"), "{}", run.stderr);
}

#[test]
fn sigterm_during_a_slow_filter_prints_the_new_key_first() {
    let run = signal_during_a_slow_filter("TERM");
    run.assert_code(143);
    assert_eq!(run.stderr, "Terminated.\n");
}

#[test]
fn sighup_during_a_slow_filter_prints_the_new_key_first() {
    let run = signal_during_a_slow_filter("HUP");
    run.assert_code(129);
    assert_eq!(run.stderr, "");
}

#[test]
fn ctrl_c_while_a_create_is_unanswered_says_it_may_have_been_done() {
    use std::io::BufRead;
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    emulator.inject_fault(json!({"method": "POST", "path": "/v1/api_keys", "delay_ms": 3000}));
    let mut child = start(
        &sandbox,
        &["-v", "org", "api-key", "create", "--type", "personal"],
        Stdio::piped(),
    );
    let pid = child.id().to_string();
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("a pipe"));
    let mut seen = String::new();
    // `-v` logs the request as it goes out.
    loop {
        let mut line = String::new();
        let read = stderr.read_line(&mut line).expect("stderr is readable");
        assert!(read > 0, "the request was never sent: {seen}");
        seen.push_str(&line);
        if line.starts_with("> POST ") {
            break;
        }
    }
    // Sent, and answered only seconds from now.
    let status = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    // Ended first, within the deadline: then the rest of stderr is there to read.
    let run = finish(child, "create interrupted while unanswered");
    let mut rest = String::new();
    stderr
        .read_to_string(&mut rest)
        .expect("stderr is readable");
    run.assert_code(130);
    assert!(
        rest.ends_with(
            "warning: POST /v1/api_keys was sent and not answered: it may have been carried out\n\
             Canceled.\n"
        ),
        "{rest}"
    );
    // The emulator drops a request whose client went away during its delay, so it keeps no
    // trace of it: `-v` above showed that it was sent.
}

#[test]
fn a_success_answer_of_another_shape_is_shown_and_says_the_key_may_exist() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for body in [
        r#"{"unexpected":1}"#,
        "<html><body>ok</body></html>",
        r#"{"api_key":""}"#,
    ] {
        emulator.inject_fault(
            json!({"method": "POST", "path": "/v1/api_keys", "status": 200,
            "body": body, "after_processing": true}),
        );
        let run = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
        run.assert_code(1);
        assert_eq!(run.stdout, format!("{body}\n"));
        assert!(
            run.stderr
                .starts_with("error: could not create API key: unexpected response"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .ends_with("hint: the key may exist; check with `baseten org api-key list`\n"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn json_output_keeps_numbers_exactly_as_received() {
    let emulator = emulator();
    let body = r#"{"keys":[{"prefix":"abcd1234","type":"PERSONAL","name":null,"huge":1e400,"wide":12345678901234567890123,"money":1.10}]}"#;
    emulator.inject_fault(
        json!({"method": "GET", "path": "/v1/api_keys", "status": 200, "body": body}),
    );
    let run = Sandbox::for_emulator(&emulator).run(&["org", "api-key", "list", "-o", "json"]);
    run.assert_code(0);
    for exact in [
        "\"huge\": 1e400,",
        "\"wide\": 12345678901234567890123,",
        "\"money\": 1.10\n",
    ] {
        assert!(
            run.stdout.contains(exact),
            "{exact} missing:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.ends_with("}\n"), "{}", run.stdout);
}

#[test]
fn halt_error_keeps_its_message_and_halt_stops_cleanly() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&["org", "api-key", "list", "--jq", "\"boom\" | halt_error"]);
    run.assert_code(1);
    assert_eq!(run.stderr, "error: jq error: boom\n");
    let run = sandbox.run(&["org", "api-key", "list", "--jq", "1, halt, 2"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "1\n");
}

#[test]
fn a_jq_error_quoting_a_piece_of_a_new_key_does_not_print_it() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for filter in [
        ".api_key | split(\".\")[1] | error",
        ".api_key | split(\".\") | .[1] + \" \" + .[0] | error",
    ] {
        let run = sandbox.run(&[
            "org", "api-key", "create", "--type", "personal", "--jq", filter,
        ]);
        run.assert_code(1);
        let key = run.json()["api_key"]
            .as_str()
            .expect("the payload is printed")
            .to_owned();
        let (_, secret) = key.split_once('.').expect("a key");
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
        assert!(run.stderr.contains("<redacted>"), "{}", run.stderr);
    }
}

#[test]
fn a_long_jq_error_is_cut_after_its_secrets_are_scrubbed() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&[
        "org",
        "api-key",
        "list",
        "--jq",
        "(\"x\" * 260) + env.BASETEN_API_KEY | error",
    ]);
    run.assert_code(1);
    let key = emulator.api_key();
    let (_, secret) = key.split_once('.').expect("a key");
    // No run of 8 characters of the secret survives.
    for start in 0..secret.len().saturating_sub(8) {
        let piece = &secret[start..start + 8];
        assert!(!run.stderr.contains(piece), "{piece}: {}", run.stderr);
    }
    assert!(
        run.stderr
            .starts_with(&format!("error: jq error: {}<redacted>", "x".repeat(260))),
        "{}",
        run.stderr
    );
}

#[test]
fn any_output_to_a_closed_stdout_is_a_failure() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for extra in [&[][..], &["-o", "json"][..], &["--jq", ".keys"][..]] {
        let run =
            run_with_stdout_closed(&sandbox, &[&["org", "api-key", "list"][..], extra].concat());
        run.assert_code(1);
        assert_eq!(
            run.stderr, "error: could not write output: stdout is closed\n",
            "{extra:?}"
        );
    }
}

#[test]
fn a_filter_that_succeeds_without_the_new_key_prints_it_unfiltered() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    for filter in [".apikey", ".prefix", ".api_key | ascii_downcase"] {
        let run = sandbox.run(&[
            "org", "api-key", "create", "--type", "personal", "--jq", filter,
        ]);
        assert_clean_jq_failure(&run);
        assert!(
            run.stderr.contains(
                "error: jq error: the filter's output does not include the new key\n\
                 hint: the result is printed above unfiltered; it cannot be fetched again\n"
            ),
            "{}",
            run.stderr
        );
        let prefix = newest_prefix(&emulator);
        // The filter's results, then the payload.
        let (results, payload) = run.stdout.split_once("\n{").expect("the payload follows");
        assert!(!results.contains('{'), "{filter}: {}", run.stdout);
        let payload: serde_json::Value =
            serde_json::from_str(&format!("{{{payload}")).expect("the payload is JSON");
        let key = payload["api_key"].as_str().expect("the key is printed");
        assert!(key.starts_with(&format!("{prefix}.")), "{key}");
        assert_live_key(&emulator, key);
        assert!(!run.stderr.contains(key), "{}", run.stderr);
    }
    // Filters that keep the key whole, in any shape, succeed.
    for filter in [
        ".api_key",
        "{k: .api_key, p: .prefix}",
        "[.api_key] | tojson",
    ] {
        let run = sandbox.run(&[
            "org", "api-key", "create", "--type", "personal", "--jq", filter,
        ]);
        run.assert_code(0);
        let prefix = newest_prefix(&emulator);
        assert!(run.stdout.contains(&format!("{prefix}.")), "{}", run.stdout);
    }
}

#[test]
fn endless_output_holding_a_new_key_prints_it_unfiltered() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let mut child = start(
        &sandbox,
        &[
            "org",
            "api-key",
            "create",
            "--type",
            "personal",
            "--jq",
            ".api_key, repeat(1)",
        ],
        Stdio::piped(),
    );
    // `| head -c 60`
    let mut stdout = child.stdout.take().expect("a pipe");
    let mut first = [0_u8; 60];
    stdout.read_exact(&mut first).expect("60 bytes");
    drop(stdout);
    let run = finish(child, "create --jq '.api_key, repeat(1)' | head -c 60");
    assert_clean_jq_failure(&run);
    assert!(
        run.stderr
            .contains("error: jq error: the filter's output is larger than 16 MiB\n"),
        "{}",
        run.stderr
    );
    // What the reader got is the payload, unfiltered.
    assert!(
        String::from_utf8_lossy(&first).starts_with("{\n  \""),
        "{}",
        String::from_utf8_lossy(&first)
    );
}
