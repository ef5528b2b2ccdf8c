//! `baseten completion SHELL`: scripts that cover plugin commands, flags and allowed values; the
//! bash one is sourced in a real bash and asked for completions.

use std::fs;
use std::path::Path;

use baseten_e2e::{Sandbox, run_command};

/// What bash's completion function offers for `words` (the last one being typed), with the
/// script `baseten completion bash` printed.
fn bash_offers(sandbox: &Sandbox, words: &[&str]) -> Vec<String> {
    let run = sandbox.run(&["completion", "bash"]);
    run.assert_code(0);
    let script = sandbox.home().join("baseten.bash");
    fs::write(&script, &run.stdout).expect("writes the script");
    let quoted: Vec<String> = words.iter().map(|word| format!("'{word}'")).collect();
    let driver = format!(
        "source '{script}'\n\
         COMP_WORDS=({words})\n\
         COMP_CWORD={last}\n\
         COMP_LINE='{line}'\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _baseten baseten '{current}' '{previous}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display(),
        words = quoted.join(" "),
        last = words.len() - 1,
        line = words.join(" "),
        current = words[words.len() - 1],
        previous = words[words.len() - 2],
    );
    let mut bash = sandbox.command(Path::new("bash"));
    bash.args(["--norc", "--noprofile", "-c", &driver]);
    let run = run_command(bash, "");
    run.assert_code(0);
    run.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_offers_plugin_commands_and_allowed_values() {
    let sandbox = Sandbox::new();
    let offered = bash_offers(&sandbox, &["baseten", ""]);
    for command in ["org", "plugin", "completion", "version"] {
        assert!(offered.iter().any(|word| word == command), "{offered:?}");
    }

    let offered = bash_offers(&sandbox, &["baseten", "org", ""]);
    assert!(offered.iter().any(|word| word == "api-key"), "{offered:?}");
    assert!(offered.iter().any(|word| word == "team"), "{offered:?}");

    let offered = bash_offers(&sandbox, &["baseten", "org", "api-key", "create", "--"]);
    for flag in ["--type", "--name", "--model-id", "--team", "--output"] {
        assert!(offered.iter().any(|word| word == flag), "{offered:?}");
    }

    let offered = bash_offers(
        &sandbox,
        &["baseten", "org", "api-key", "create", "--type", ""],
    );
    assert_eq!(
        offered,
        [
            "personal",
            "workspace-export-metrics",
            "workspace-invoke",
            "workspace-manage-all"
        ]
    );
}

#[test]
fn every_shell_gets_a_script_with_plugin_commands() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = sandbox.run(&["completion", shell]);
        run.assert_code(0);
        assert!(
            run.stdout.contains("api-key") && run.stdout.contains("team"),
            "{shell}"
        );
        // clap_complete's fish script stops at the third word: no flags of `org api-key create`.
        if shell != "fish" {
            assert!(run.stdout.contains("workspace-invoke"), "{shell}");
        }
        assert!(run.stdout.ends_with('\n'), "{shell}");
        assert_eq!(run.stderr, "", "{shell}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let run = Sandbox::new().run(&["completion", "tcsh"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error: invalid value 'tcsh' for '<SHELL>'"),
        "{}",
        run.stderr
    );
}
