//! Executable plugins: a `baseten-plugin-NAME` program found in a plugin folder, asked for its
//! manifest once, run for its command over JSON lines with the host's HTTP, log and confirm, and
//! every way it can go wrong ending the command with one exit-8 line naming it. The plugin is
//! `tests/e2e/fixtures/executables/fixture-exec`, a POSIX shell script writing fixed protocol
//! lines, misbehaving as `FIXTURE_EXEC_MODE` says.

#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use baseten_e2e::{
    BackgroundEmulator, Run, Sandbox, baseten_bin, copy_plugin, emulator, executable_plugin_folder,
    finish, private_temp_folder, repository_root,
};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{request_lines, run_with_stdout_closed, spawn};

/// The fixture script.
fn fixture_script() -> PathBuf {
    repository_root().join("tests/e2e/fixtures/executables/fixture-exec")
}

/// A plugin folder holding the fixture as `baseten-plugin-fixture-exec`.
fn exec_folder() -> TempDir {
    executable_plugin_folder(&[(&fixture_script(), "fixture-exec")])
}

/// A sandbox against `emulator` whose plugin path holds the fixture.
fn sandbox_with_fixture(emulator: &BackgroundEmulator, folder: &TempDir) -> Sandbox {
    let mut sandbox = Sandbox::for_emulator(emulator);
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    sandbox
}

/// The `plugin list -o json` entry of the plugin called `name`.
fn listed(sandbox: &Sandbox, name: &str) -> Value {
    let run = sandbox.run(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    run.json()["plugins"]
        .as_array()
        .and_then(|plugins| plugins.iter().find(|plugin| plugin["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("plugin `{name}` is not listed:\n{}", run.stdout))
}

/// The lines of stderr that start with `error:`, and asserts there is exactly one.
#[track_caller]
fn one_error_line(run: &Run) -> String {
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    errors[0].to_owned()
}

/// How many times the fixture started, from the file it appends its pid to.
fn starts(file: &Path) -> usize {
    fs::read_to_string(file).unwrap_or_default().lines().count()
}

#[test]
fn an_executable_plugin_runs_its_command_through_the_host() {
    let emulator = emulator();
    let folder = exec_folder();
    let sandbox = sandbox_with_fixture(&emulator, &folder);

    let entry = listed(&sandbox, "fixture-exec");
    assert_eq!(entry["kind"], "executable");
    assert_eq!(entry["status"], "ok");
    assert_eq!(entry["version"], "0.3.0");
    assert_eq!(entry["commands"], serde_json::json!(["fixture exec"]));
    assert_eq!(listed(&sandbox, "org-api-key")["kind"], "library");
    let run = sandbox.run(&["plugin", "list"]);
    let row = run
        .stdout
        .lines()
        .find(|line| line.starts_with("fixture-exec "))
        .expect("listed");
    assert!(row.contains(" executable "), "{row}");
    let run = sandbox.run(&["plugin", "info", "fixture-exec"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("Kind:         executable"),
        "{}",
        run.stdout
    );

    let run = sandbox.run(&["fixture", "exec", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!({"email": "emulator@example.com"})
    );
    assert_eq!(run.stderr, "");
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "emulator@example.com\n");

    // Under -v: the plugin's log line through the host's logger, its stderr prefixed with its
    // name, and the request logged as the host logs its own, the key redacted.
    let run = sandbox.run(&["-v", "fixture", "exec"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("\nfixture exec got the user\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("[fixture-exec] running fixture exec"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("> GET "), "{}", run.stderr);
    assert!(!run.stderr.contains(emulator.api_key()), "{}", run.stderr);
    assert_eq!(
        request_lines(&emulator),
        ["GET /v1/users/me", "GET /v1/users/me", "GET /v1/users/me"]
    );
}

#[test]
fn a_question_is_answered_no_when_no_one_can_be_asked() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    sandbox.set("FIXTURE_EXEC_MODE", "confirm");
    // stdin is a pipe, not a terminal: the host answers the plugin's question with no.
    let run = sandbox.run(&["fixture", "exec", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json(), serde_json::json!({"yes": false}));
}

#[test]
fn a_question_reaches_the_user_through_the_host_terminal() {
    if !baseten_e2e::programs_installed(&["script"], "a plugin's question on a terminal") {
        return;
    }
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    sandbox.run(&["plugin", "list"]).assert_code(0);
    sandbox.set("FIXTURE_EXEC_MODE", "confirm");
    fs::write(sandbox.home().join("typed"), "y\n").expect("writes");
    // `script` gives the host a pseudo-terminal; `y` is typed after a second.
    let mut command = sandbox.command(Path::new("sh"));
    command.args([
        "-c",
        &format!(
            "(sleep 1; cat typed) | script -qec '{} fixture exec' /dev/null",
            baseten_bin().display()
        ),
    ]);
    let run = baseten_e2e::run_command(command, "");
    run.assert_code(0);
    assert!(run.stdout.contains("Go on? "), "{run:?}");
    assert_eq!(
        run.stdout.lines().last().map(str::trim),
        Some("true"),
        "{run:?}"
    );
}

#[test]
fn the_plugin_never_sees_a_secret_variable() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    let seen = folder.path().join("environment.txt");
    sandbox
        .set("FIXTURE_EXEC_ENV", &seen)
        .set("GITHUB_TOKEN", "ghp_tokenvalue")
        .set("DB_PASSWORD", "hunter2")
        .set("HTTPS_PROXY", "http://user:pw@127.0.0.1:9")
        .set("https_proxy", "http://user:pw@127.0.0.1:9")
        .set("baseten_api_key", "abcd1234.lowercasesecret0123")
        .set("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI")
        .set("BASETEN_KEY", "abcd1234.keptunderanothername")
        // Secrets by their value, whatever the name.
        .set("KEPT_FOR_LATER", emulator.api_key())
        .set("DATABASE_URL", "postgres://ada:hunter3@127.0.0.1:9/app")
        .set("HARMLESS_SETTING", "kept");
    // The proxy is never used by the host for 127.0.0.1 either way: the run still works.
    sandbox.set("NO_PROXY", "127.0.0.1");
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    let environment = fs::read_to_string(&seen).expect("the plugin wrote its environment");
    let names: Vec<&str> = environment
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .collect();
    assert!(names.contains(&"HARMLESS_SETTING"), "{names:?}");
    for secret in [
        "BASETEN_API_KEY",
        "GITHUB_TOKEN",
        "DB_PASSWORD",
        "HTTPS_PROXY",
        "https_proxy",
        "baseten_api_key",
        "AWS_SECRET_ACCESS_KEY",
        "BASETEN_KEY",
        "KEPT_FOR_LATER",
        "DATABASE_URL",
    ] {
        assert!(!names.contains(&secret), "{secret} reached the plugin");
    }
    assert!(!environment.contains(emulator.api_key()));
    for value in [
        "hunter2",
        "hunter3",
        "lowercasesecret",
        "wJalr",
        "keptunder",
        ":pw@",
    ] {
        assert!(!environment.contains(value), "{value} reached the plugin");
    }
}

#[test]
fn help_and_completions_on_a_warm_cache_start_no_plugin_and_a_command_starts_one() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    let log = folder.path().join("starts.txt");
    sandbox.set("FIXTURE_EXEC_STARTS", &log);

    // Cold: the manifest is read once.
    sandbox.run(&["--help"]).assert_code(0);
    assert_eq!(starts(&log), 1);
    // Warm: help, the command tree and completions start nothing.
    let run = sandbox.run(&["--help"]);
    run.assert_code(0);
    assert!(run.stdout.contains("fixture"), "{}", run.stdout);
    sandbox.run(&["fixture", "--help"]).assert_code(0);
    sandbox.run(&["fixture", "exec", "--help"]).assert_code(0);
    let run = sandbox.run(&["completion", "bash"]);
    run.assert_code(0);
    assert!(run.stdout.contains("exec"), "{}", run.stdout);
    sandbox.run(&["plugin", "list"]).assert_code(0);
    assert_eq!(starts(&log), 1);
    // Running the command starts exactly one process.
    sandbox.run(&["fixture", "exec"]).assert_code(0);
    assert_eq!(starts(&log), 2);
}

#[test]
fn every_way_a_run_goes_wrong_is_one_exit_8_line_naming_the_plugin() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    // Read the manifest once, well-behaved.
    sandbox.run(&["plugin", "list"]).assert_code(0);
    let cases = [
        (
            "crash",
            "error: plugin `fixture-exec` was killed by signal SIGSEGV before its result",
        ),
        (
            "exit",
            "error: plugin `fixture-exec` exited with status 3 before its result",
        ),
        (
            "malformed",
            "error: plugin `fixture-exec` wrote a line that is not a protocol message: expected ident at line 1 column 2",
        ),
        (
            "stdout",
            "error: plugin `fixture-exec` wrote a line that is not a protocol message: expected value at line 1 column 1",
        ),
        (
            "unknown",
            "error: plugin `fixture-exec` asked for an unknown service `launch_rocket`",
        ),
        (
            "oversized",
            "error: plugin `fixture-exec` wrote a message over 1000 bytes",
        ),
        (
            "out-of-turn",
            "error: plugin `fixture-exec` sent its manifest out of turn, during a command",
        ),
        (
            "answer",
            "error: plugin `fixture-exec` sent `http_outcome` out of turn, a message only the host sends",
        ),
    ];
    // The limit is 1 GiB; a debug build lets a test lower it rather than write that much.
    sandbox.set("BASETEN_DEBUG_PIPE_LINE_LIMIT", "1000");
    for (mode, expected) in cases {
        sandbox.set("FIXTURE_EXEC_MODE", mode);
        let run = sandbox.run(&["fixture", "exec"]);
        run.assert_code(8);
        assert_eq!(one_error_line(&run), expected, "mode {mode}");
        assert_eq!(run.stdout, "", "mode {mode}");
        // What the plugin wrote is never quoted back.
        for written in ["abcd1234", "not json", "stray print", "xxxxxxxx"] {
            assert!(!run.stderr.contains(written), "{mode}: {}", run.stderr);
        }
        // Under -v its stderr is shown, prefixed with its name.
        let run = sandbox.run(&["-v", "fixture", "exec"]);
        run.assert_code(8);
        assert!(
            run.stderr.contains("[fixture-exec] running fixture exec"),
            "{mode}: {}",
            run.stderr
        );
        assert_eq!(one_error_line(&run), expected, "mode {mode} under -v");
    }
    // No case asked for a request.
    assert!(request_lines(&emulator).is_empty());

    // A result line whose result this host cannot read.
    sandbox.set("FIXTURE_EXEC_MODE", "bad-result");
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(8);
    assert!(
        one_error_line(&run)
            .starts_with("error: plugin `fixture-exec` returned an unreadable result: "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("abcd1234"), "{}", run.stderr);
}

#[test]
fn a_plugin_that_does_not_answer_describe_is_skipped_with_its_reason() {
    let emulator = emulator();
    for (mode, reason) in [
        ("describe-hang", "did not answer `describe` within 5 s"),
        (
            "describe-crash",
            "was killed by signal SIGSEGV before its manifest",
        ),
    ] {
        let folder = exec_folder();
        let mut sandbox = sandbox_with_fixture(&emulator, &folder);
        sandbox.set("FIXTURE_EXEC_MODE", mode);
        let started = Instant::now();
        let entry = listed(&sandbox, "fixture-exec");
        // An upper bound only: the 5 s limit, with room for a slow machine.
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{mode}: {:?}",
            started.elapsed()
        );
        assert_eq!(entry["kind"], "executable");
        assert_eq!(entry["status"], "failed_to_load", "{mode}");
        assert_eq!(entry["reason"], reason, "{mode}");
        // Other commands keep working, and the refused plugin's command does not exist.
        sandbox.run(&["org", "team", "list"]).assert_code(0);
        sandbox.run(&["fixture", "exec"]).assert_code(2);
    }

    // A manifest for another plugin API is refused in the words a library's is.
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    sandbox.set("FIXTURE_EXEC_MODE", "describe-next-major");
    let entry = listed(&sandbox, "fixture-exec");
    assert_eq!(entry["status"], "incompatible");
    assert_eq!(entry["plugin_api_version"], "2.0.0");
    assert_eq!(
        entry["reason"],
        "plugin `fixture-exec` is built for plugin API 2.0.0, this baseten speaks 1.2.0; \
         install a build of the plugin for plugin API 1.x"
    );
}

#[test]
fn a_file_named_like_an_executable_plugin_without_an_execute_bit_is_skipped() {
    let folder = exec_folder();
    let path = folder.path().join("baseten-plugin-fixture-exec");
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    let run = sandbox.run(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    let skipped = &run.json()["skipped"];
    assert_eq!(skipped[0]["path"], path.display().to_string(), "{skipped}");
    assert_eq!(
        skipped[0]["reason"],
        "named like an executable plugin, but not executable"
    );
}

#[test]
fn install_copies_an_executable_plugin_with_its_execute_bit_and_remove_deletes_it() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    let source_folder = private_temp_folder("baseten-exec-source-");
    let source = source_folder.path().join("whoami-tool");
    copy_plugin(&fixture_script(), &source);
    let run = sandbox.run(&["plugin", "install", &source.display().to_string()]);
    run.assert_code(0);
    let installed = sandbox
        .home()
        .join(".local/share/baseten/plugins/baseten-plugin-fixture-exec");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&installed)
            .expect("installed")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    assert_eq!(fs::read(&installed).ok(), fs::read(fixture_script()).ok());
    assert_eq!(listed(&sandbox, "fixture-exec")["kind"], "executable");
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "emulator@example.com\n");

    // A program that does not answer describe is refused, and nothing is copied.
    sandbox.set("FIXTURE_EXEC_MODE", "describe-crash");
    let other = source_folder.path().join("crashing-tool");
    copy_plugin(&fixture_script(), &other);
    let run = sandbox.run(&["plugin", "install", &other.display().to_string()]);
    run.assert_code(8);
    assert!(
        one_error_line(&run).ends_with("was killed by signal SIGSEGV before its manifest"),
        "{}",
        run.stderr
    );
    sandbox.unset("FIXTURE_EXEC_MODE");

    sandbox
        .run(&["plugin", "remove", "fixture-exec"])
        .assert_code(0);
    assert!(!installed.exists());
}

/// Whether a process with id `pid` exists (a zombie not yet reaped counts as gone).
fn alive(pid: &str) -> bool {
    let state = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name in parentheses: `Z` is a zombie.
    let state = state
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("");
    !state.is_empty() && state != "Z"
}

/// A sandbox whose fixture, cached, runs its command in `mode` (one that hangs after writing its
/// pid), and the file that pid is written to.
#[cfg(target_os = "linux")]
fn hanging(emulator: &BackgroundEmulator, folder: &TempDir, mode: &str) -> (Sandbox, PathBuf) {
    let mut sandbox = sandbox_with_fixture(emulator, folder);
    sandbox.run(&["plugin", "list"]).assert_code(0);
    let pid_file = folder.path().join("plugin.pid");
    sandbox
        .set("FIXTURE_EXEC_MODE", mode)
        .set("FIXTURE_EXEC_PID", &pid_file);
    (sandbox, pid_file)
}

/// Waits until the pid file holds a line, and returns it.
fn pid_from(pid_file: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pid = fs::read_to_string(pid_file).unwrap_or_default();
        if pid.ends_with('\n') {
            return pid.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "the plugin never started");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_plugin_still_running_after_a_bad_line_is_killed_and_reaped() {
    let emulator = emulator();
    let folder = exec_folder();
    let (sandbox, pid_file) = hanging(&emulator, &folder, "bad-then-hang");
    let started = Instant::now();
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(8);
    // An upper bound: the plugin sleeps 60 s unless the host kills it.
    assert!(started.elapsed() < Duration::from_secs(45));
    assert!(!alive(&pid_from(&pid_file)));
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_during_a_run_kills_the_plugin_and_exits_130() {
    let emulator = emulator();
    let folder = exec_folder();
    let (sandbox, pid_file) = hanging(&emulator, &folder, "hang");
    let child = spawn(&sandbox, &["fixture", "exec"]);
    let pid = pid_from(&pid_file);
    assert!(alive(&pid));
    // Only the host is signalled, as by `kill -INT`: the plugin must be killed by the host.
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let run = finish(child, "a run interrupted while its plugin hangs");
    run.assert_code(130);
    assert_eq!(run.stderr, "Canceled.\n");
    assert_dies(&pid);
}

/// The parent-death signal: a host killed outright, with no chance to kill its plugin, still
/// takes the plugin with it.
#[cfg(target_os = "linux")]
#[test]
fn a_plugin_dies_with_a_host_killed_by_sigkill() {
    let emulator = emulator();
    let folder = exec_folder();
    let (sandbox, pid_file) = hanging(&emulator, &folder, "hang");
    let mut child = spawn(&sandbox, &["fixture", "exec"]);
    let pid = pid_from(&pid_file);
    assert!(alive(&pid));
    // Only the host, the process this test started, is killed.
    child.kill().expect("the host is killed");
    let _ = child.wait();
    assert_dies(&pid);
}

/// Waits, up to an upper bound, for the plugin process `pid` to be gone.
#[cfg(target_os = "linux")]
fn assert_dies(pid: &str) {
    // The plugin sleeps 60 s unless it is killed: 30 s is a safe upper bound.
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the plugin process {pid} outlived the host"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A key a plugin got in an answer and then wrote on its stderr, in a log line and in its error
/// reaches the terminal only scrubbed, under `-v` as without.
#[test]
fn a_key_a_plugin_writes_on_stderr_or_logs_is_redacted() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    sandbox.set("FIXTURE_EXEC_MODE", "leak");
    for verbose in [&[][..], &["-v"][..], &["-vv"][..]] {
        let run = sandbox.run(&[verbose, &["fixture", "exec"][..]].concat());
        run.assert_code(1);
        for secret in ["LeakedSecretPart", "StraddlingSecretPart"] {
            assert!(!run.stderr.contains(secret), "{verbose:?}: {}", run.stderr);
        }
        assert!(
            run.stderr
                .contains("error: gave up after abcd1234.<redacted>\n")
                || run.stderr.contains("error: gave up after <redacted>\n"),
            "{verbose:?}: {}",
            run.stderr
        );
        if !verbose.is_empty() {
            assert!(
                run.stderr.contains("[fixture-exec] made "),
                "{verbose:?}: {}",
                run.stderr
            );
            assert!(
                run.stderr
                    .lines()
                    .filter(|line| line.contains("<redacted>"))
                    .count()
                    >= 3,
                "{verbose:?}: {}",
                run.stderr
            );
        }
    }
}

/// Rendering is the host's for both kinds: an executable's new key that cannot be written to
/// stdout fails the command with the plugin's `if_unseen` words, as a library's does.
#[test]
fn an_executable_plugins_unseen_output_fails_with_its_own_words() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    let log = folder.path().join("starts.log");
    sandbox
        .set("FIXTURE_EXEC_MODE", "unseen")
        .set("FIXTURE_EXEC_STARTS", &log);
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "abcd1234.UnseenSecretPart0123456789\n");
    // Its manifest says the output cannot be shown again: `-o none` never starts it.
    assert_eq!(starts(&log), 2);
    let run = sandbox.run(&["fixture", "exec", "-o", "none"]);
    run.assert_code(2);
    assert!(
        run.stderr.starts_with(
            "error: `baseten fixture exec` does not allow `--output none`: its output cannot be \
             shown again\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(starts(&log), 2);
    let run = run_with_stdout_closed(&sandbox, &["fixture", "exec"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        "error: the new key abcd1234 was created but could not be shown: could not write output: \
         stdout is closed\nhint: delete it and create another\n"
    );
}

/// Ctrl-C once an executable's new key is in hand (here while a slow `--jq` filter runs on it)
/// still prints the key first, as for a library: the output the host published is the plugin's.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_after_an_executables_result_prints_its_new_key_first() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    sandbox.set("FIXTURE_EXEC_MODE", "unseen");
    let child = spawn(&sandbox, &["fixture", "exec", "--jq", "last(range(1e12))"]);
    let pid = child.id().to_string();
    // The plugin is gone and the filter runs: the host's child is now its own `--jq` process
    // (known by its hidden command: a child forked to start the plugin is a `baseten` too
    // until it runs the plugin).
    let children = format!("/proc/{pid}/task/{pid}/children");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let filtering = fs::read_to_string(&children)
            .unwrap_or_default()
            .split_whitespace()
            .any(|child| {
                fs::read(format!("/proc/{child}/cmdline"))
                    .is_ok_and(|line| line.split(|byte| *byte == 0).any(|arg| arg == b"__jq"))
            });
        if filtering {
            break;
        }
        assert!(Instant::now() < deadline, "the filter never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let run = finish(child, "an executable's result interrupted during --jq");
    run.assert_code(130);
    assert_eq!(run.stderr, "Canceled.\n");
    assert_eq!(
        run.json()["key"],
        "abcd1234.UnseenSecretPart0123456789",
        "{}",
        run.stdout
    );
}

/// A plugin that exits before its result ends the run when it exits, even while a process it
/// started still holds its stdout open.
#[cfg(target_os = "linux")]
#[test]
fn a_plugin_that_exits_leaving_its_output_open_ends_the_run() {
    let emulator = emulator();
    let folder = exec_folder();
    let (sandbox, pid_file) = hanging(&emulator, &folder, "orphan");
    let started = Instant::now();
    let run = sandbox.run(&["fixture", "exec"]);
    let left = pid_from(&pid_file);
    // The process the plugin left behind, which this test started through it, is stopped.
    let _ = Command::new("kill").arg(&left).status();
    run.assert_code(8);
    assert_eq!(
        one_error_line(&run),
        "error: plugin `fixture-exec` exited with status 3 before its result"
    );
    // An upper bound: the process left behind holds the pipe for 60 s.
    assert!(started.elapsed() < Duration::from_secs(45));
}

#[test]
fn the_verbose_hint_is_given_only_when_the_plugin_wrote_on_stderr() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    sandbox.set("FIXTURE_EXEC_MODE", "quiet-exit");
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(8);
    assert_eq!(
        run.stderr,
        "error: plugin `fixture-exec` exited with status 3 before its result\n"
    );
    // A plugin that wrote something there still gets the hint that -v shows it.
    sandbox.set("FIXTURE_EXEC_MODE", "exit");
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(8);
    assert_eq!(
        run.stderr,
        "error: plugin `fixture-exec` exited with status 3 before its result\n\
         hint: run with -v to see what the plugin wrote on stderr\n"
    );
}

#[test]
fn a_describe_that_timed_out_is_asked_again_on_the_next_run_once() {
    let emulator = emulator();
    // A slow first start: skipped on that run, used from the next one.
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    let marks = tempfile::tempdir().expect("a temp folder");
    sandbox.set("FIXTURE_EXEC_MODE", "describe-slow-once");
    sandbox.set(
        "FIXTURE_EXEC_MARK",
        marks.path().join("started").as_os_str(),
    );
    let entry = listed(&sandbox, "fixture-exec");
    assert_eq!(entry["reason"], "did not answer `describe` within 5 s");
    assert_eq!(listed(&sandbox, "fixture-exec")["status"], "ok");
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "emulator@example.com\n");

    // One that never answers is asked twice in a row, then left until its file changes.
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    let starts_file = marks.path().join("starts");
    sandbox.set("FIXTURE_EXEC_MODE", "describe-hang");
    sandbox.set("FIXTURE_EXEC_STARTS", starts_file.as_os_str());
    for _ in 0..3 {
        let entry = listed(&sandbox, "fixture-exec");
        assert_eq!(entry["reason"], "did not answer `describe` within 5 s");
    }
    assert_eq!(starts(&starts_file), 2);
}

#[test]
fn a_plugin_gets_a_moment_to_tidy_up_after_its_result() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    let mark = sandbox.home().join("tidied");
    sandbox.set("FIXTURE_EXEC_MODE", "tidy");
    sandbox.set("FIXTURE_EXEC_MARK", &mark);
    let run = sandbox.run(&["fixture", "exec"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "tidy\n");
    // Written 0.2 s after the result: the plugin was not killed on it.
    assert_eq!(
        fs::read_to_string(&mark).expect("the plugin tidied up"),
        "done\n"
    );
}

/// The host reads the plugin's output as it comes: a message in two writes is one message,
/// two messages in one write are two, and a last line without its line break still counts.
#[test]
fn messages_are_read_whole_however_the_plugin_writes_them() {
    let emulator = emulator();
    let folder = exec_folder();
    let mut sandbox = sandbox_with_fixture(&emulator, &folder);
    sandbox.set("FIXTURE_EXEC_MODE", "trickle");
    let run = sandbox.run(&["-v", "fixture", "exec", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!({"email": "emulator@example.com"})
    );
    assert!(run.stderr.contains("\ntrickled\n"), "{}", run.stderr);
    assert!(
        run.stderr.contains("[fixture-exec] running fixture exec"),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/users/me"]);
}
