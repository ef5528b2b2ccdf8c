//! Built-in and plugin commands declared the same way: the positional arguments and hidden
//! commands the built-ins need (`completion SHELL`, `plugin info NAME`, the hidden `man`) work
//! for a plugin's commands too, with the same help, checks, completions and man pages.

#[cfg(unix)]
use std::ffi::OsStr;
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use baseten_e2e::{Sandbox, fixture_library, plugin_folder};
#[cfg(unix)]
use baseten_e2e::{baseten_bin, run_command};
use tempfile::TempDir;

/// A sandbox that finds the `arguments` fixture plugin, and the folder holding it.
fn with_arguments_plugin() -> (Sandbox, TempDir) {
    let folder = plugin_folder(&[(fixture_library("arguments").as_path(), "arguments")]);
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    (sandbox, folder)
}

#[test]
fn plugin_commands_take_positional_arguments_as_built_ins_do() {
    let (sandbox, _folder) = with_arguments_plugin();
    let run = sandbox.run(&["fixture", "echo", "hello", "loud", "--twice"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "HELLO\nHELLO\n");

    let run = sandbox.run(&["fixture", "echo", "hi", "-o", "json"]);
    run.assert_code(0);
    let payload = run.json();
    assert_eq!(payload["word"], "hi");
    assert!(payload["style"].is_null(), "{payload}");

    // Checked before the plugin runs, as a built-in's are.
    let run = sandbox.run(&["fixture", "echo"]);
    run.assert_code(2);
    assert_eq!(
        run.stderr,
        "error: the following required arguments were not provided: <WORD>\n\
         hint: run `baseten fixture echo --help` for usage\n"
    );
    let run = sandbox.run(&["fixture", "echo", "hi", "shout"]);
    run.assert_code(2);
    assert_eq!(
        run.stderr,
        "error: invalid value 'shout' for '[STYLE]'\nhint: possible values: plain, loud\n"
    );
    let builtin = Sandbox::new().run(&["completion", "tcsh"]);
    builtin.assert_code(2);
    assert!(
        builtin
            .stderr
            .starts_with("error: invalid value 'tcsh' for '<SHELL>'\n"),
        "{}",
        builtin.stderr
    );
}

#[test]
fn plugin_and_built_in_help_have_one_layout() {
    let (sandbox, _folder) = with_arguments_plugin();
    let run = sandbox.run(&["fixture", "echo", "--help"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("Usage: baseten fixture echo [OPTIONS] <WORD> [STYLE]\n\nArguments:\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("Examples:\n  # Say hello loudly\n  $ baseten fixture echo hello loud\n"),
        "{}",
        run.stdout
    );
    let run = sandbox.run(&["completion", "--help"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("Usage: baseten completion [OPTIONS] <SHELL>\n\nArguments:\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "Examples:\n  # Load completions in the current bash session\n  \
             $ source <(baseten completion bash)\n\n  # Install them for zsh\n"
        ),
        "{}",
        run.stdout
    );

    let run = sandbox.run(&["plugin", "info", "arguments"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "  baseten fixture echo  Say a word back\n      \
             <WORD>   The word to say\n      \
             [STYLE]  How to say it [values: plain, loud]\n      \
             --twice  Say it twice\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn hidden_plugin_commands_run_but_are_not_shown() {
    let (sandbox, _folder) = with_arguments_plugin();
    let run = sandbox.run(&["fixture", "secret"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "the hidden command ran\n");

    let run = sandbox.run(&["fixture", "--help"]);
    run.assert_code(0);
    assert!(run.stdout.contains("  echo "), "{}", run.stdout);
    assert!(!run.stdout.contains("secret"), "{}", run.stdout);

    // `plugin info` shows all a plugin declares, the hidden command marked.
    let run = sandbox.run(&["plugin", "info", "arguments"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("  baseten fixture secret  Not listed anywhere (hidden)\n"),
        "{}",
        run.stdout
    );

    for shell in ["bash", "zsh", "fish"] {
        let run = sandbox.run(&["completion", shell]);
        run.assert_code(0);
        assert!(run.stdout.contains("echo"), "{shell}");
        assert!(!run.stdout.contains("secret"), "{shell}:\n{}", run.stdout);
    }

    let pages = sandbox.home().join("man");
    let dir = pages.to_str().expect("a UTF-8 path");
    sandbox.run(&["man", dir]).assert_code(0);
    assert!(Path::new(&pages).join("baseten-fixture-echo.1").is_file());
    assert!(!Path::new(&pages).join("baseten-fixture-secret.1").exists());
    assert!(!Path::new(&pages).join("baseten-man.1").exists());
}

// A file name that is not UTF-8 can be made on Unix only.
#[cfg(unix)]
#[test]
fn path_arguments_take_any_path_but_reach_plugins_only_as_utf8() {
    let (sandbox, _folder) = with_arguments_plugin();
    let run = sandbox.run(&["fixture", "open", "notes/é.txt"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "notes/é.txt\n");

    let not_utf8 = OsStr::from_bytes(b"caf\xe9.so");
    let run_with = |words: &[&str]| {
        let mut command = sandbox.command(&baseten_bin());
        command.args(words).arg(not_utf8);
        run_command(command, "")
    };
    // The built-in takes the path as the system does: the file is looked for, and missing.
    let run = run_with(&["plugin", "install"]);
    run.assert_code(1);
    assert!(
        run.stderr.starts_with("error: cannot install `caf"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no such file"), "{}", run.stderr);
    // A plugin gets its values as JSON text: refused before it runs, not handed a mangled path.
    let run = run_with(&["fixture", "open"]);
    run.assert_code(2);
    assert_eq!(
        run.stderr,
        "error: the `file` argument of `baseten fixture open` must be valid UTF-8\n"
    );
    assert!(run.stdout.is_empty());
}
