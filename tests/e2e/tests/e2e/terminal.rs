//! The host's one terminal, through the real binary: prompts on a real pseudo-terminal (`script`),
//! the no-echo key prompt and Ctrl-C at it, and the environment `--jq` sees.

use std::fs;
use std::path::Path;

use baseten_e2e::{Sandbox, baseten_bin, emulator, run_command};

use crate::support::prefix_of;

/// Runs `command_line` (a shell command) under `script`, which gives it a pseudo-terminal, with
/// `typed` sent to the terminal after a second, as a person would type it.
fn on_terminal(sandbox: &Sandbox, command_line: &str, typed_file: &str) -> baseten_e2e::Run {
    let mut command = sandbox.command(Path::new("sh"));
    command.args([
        "-c",
        &format!("(sleep 1; cat {typed_file}) | script -qec '{command_line}' /dev/null"),
    ]);
    run_command(command, "")
}

#[test]
fn ctrl_c_at_the_key_prompt_cancels_and_puts_the_echo_back() {
    if !baseten_e2e::programs_installed(&["script", "stty"], "Ctrl-C at the key prompt") {
        return;
    }
    let emulator = emulator();
    let sandbox = Sandbox::new();
    // Half a key, then Ctrl-C (the terminal turns ^C into SIGINT).
    fs::write(sandbox.home().join("typed"), "abcd1234.half\x03").expect("writes");
    // The shell around the tool outlives the Ctrl-C (a trap), to look at the terminal after.
    let command_line = format!(
        "trap : INT; {} auth login --with-api-key --profile tty --remote-url {}; \
         echo \"exit=$?\"; stty -a | tr \" \" \"\\n\" | grep -x -e echo -e -echo",
        baseten_bin().display(),
        emulator.url()
    );
    let run = on_terminal(&sandbox, &command_line, "typed");
    assert!(run.stdout.contains("Paste your API key: "), "{run:?}");
    assert!(run.stdout.contains("Canceled."), "{run:?}");
    assert!(run.stdout.contains("exit=130"), "{run:?}");
    // The terminal echoes again once the tool is gone.
    let last = run.stdout.lines().last().unwrap_or_default().trim();
    assert_eq!(last, "echo", "{run:?}");
    assert!(!run.stdout.contains("abcd1234.half"), "echoed: {run:?}");
    assert!(
        !sandbox.config_dir().join("auth.json").exists(),
        "nothing is stored"
    );
}

#[test]
fn yes_at_the_delete_prompt_deletes() {
    if !baseten_e2e::programs_installed(&["script"], "the delete prompt") {
        return;
    }
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let created = sandbox.run(&[
        "org", "api-key", "create", "--type", "personal", "--name", "tty",
    ]);
    created.assert_code(0);
    let prefix = prefix_of(created.stdout.trim()).to_owned();
    fs::write(sandbox.home().join("typed"), "YES\n").expect("writes");
    let command_line = format!("{} org api-key delete --name tty", baseten_bin().display());
    let run = on_terminal(&sandbox, &command_line, "typed");
    run.assert_code(0);
    assert!(
        run.stdout
            .contains(&format!("Delete API key {prefix} (tty)? [y/N]")),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!("Deleted API key {prefix}")),
        "{run:?}"
    );
    assert!(
        emulator
            .keys()
            .iter()
            .all(|listed| listed["prefix"] != prefix.as_str())
    );
}

#[test]
fn without_a_terminal_delete_asks_nothing() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let created = sandbox.run(&[
        "org", "api-key", "create", "--type", "personal", "--name", "ci",
    ]);
    created.assert_code(0);
    // Scripts are not asked: the key goes without a question, and stdin is left unread.
    let run = sandbox.run_with_stdin(&["org", "api-key", "delete", "--name", "ci"], "n\n");
    run.assert_code(0);
    assert!(!run.stderr.contains("[y/N]"), "{run:?}");
    assert!(run.stderr.contains("Deleted API key"), "{run:?}");
}

#[test]
fn jq_env_holds_the_environment_the_tool_was_started_with() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("BASETEN_E2E_MARK", "marked");
    let run = sandbox.run(&["org", "api-key", "list", "--jq", "$ENV.BASETEN_E2E_MARK"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "marked\n");
    let run = sandbox.run(&["org", "api-key", "list", "--jq", "$ENV.BASETEN_E2E_UNSET"]);
    assert_eq!(run.stdout, "null\n");
}

/// The in-process snapshot tests (`host/src/snapshots.rs`) stand for the binary: runs whose
/// output has nothing that changes from run to run read the same from the real process.
#[test]
fn snapshots_read_as_the_binary_prints() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.unset("BASETEN_API_KEY");
    let cases: &[(&str, &[&str])] = &[
        ("help", &["--help"]),
        (
            "help-org-api-key-create",
            &["org", "api-key", "create", "--help"],
        ),
        ("help-auth-login", &["auth", "login", "--help"]),
        ("error-2-missing-flag", &["org", "api-key", "create"]),
        ("error-2-group-without-subcommand", &["org"]),
        ("error-3-not-logged-in", &["org", "api-key", "list"]),
    ];
    let folder = baseten_e2e::repository_root().join("host/src/snapshots");
    for (name, args) in cases {
        let snapshot = fs::read_to_string(folder.join(format!("{name}.snap")))
            .unwrap_or_else(|error| panic!("the snapshot {name} is missing: {error}"));
        // After insta's header (`---`, its fields, `---`).
        let (_, body) = snapshot
            .strip_prefix("---\n")
            .and_then(|rest| rest.split_once("\n---\n"))
            .unwrap_or_else(|| panic!("{name} has no insta header"));
        let run = sandbox.run(args);
        let printed = format!(
            "$ baseten {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            run.code,
            run.stdout,
            run.stderr
        );
        assert_eq!(printed.trim_end(), body.trim_end(), "{name}");
    }
}
