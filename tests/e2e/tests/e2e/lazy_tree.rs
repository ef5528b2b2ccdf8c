//! The command tree built for the command a line names: with many plugins, each its own group,
//! a command runs as before, global options anywhere on the line included, while help, a missing
//! subcommand and a typo's suggestions still see every group.

use baseten_e2e::{Sandbox, private_temp_folder, set_plugin_mode};
use tempfile::TempDir;

const GROUPS: usize = 12;

/// A folder of `GROUPS` executable plugins, `gen1` to `gen12`, each owning `genN run`, which
/// answers `ran genN`.
fn generated_plugins() -> TempDir {
    let folder = private_temp_folder("baseten-lazy-tree-");
    for index in 1..=GROUPS {
        let script = format!(
            r#"#!/bin/sh
IFS= read -r first || exit 3
case "$first" in
*'"type":"describe"'*)
    printf '%s\n' '{{"type":"manifest","manifest":{{"name":"gen-{index}","version":"0.1.0","plugin_api_version":"1.1.0","groups":[{{"path":["gen{index}"],"about":"Generated group {index}"}}],"commands":[{{"path":["gen{index}","run"],"about":"Run"}}]}}}}'
    exit 0
    ;;
esac
printf '%s\n' '{{"type":"result","result":{{"ok":{{"payload":{{"group":"gen{index}"}},"text":{{"lines":["ran gen{index}"]}}}}}}}}'
"#
        );
        let file = folder.path().join(format!("baseten-plugin-gen-{index}"));
        std::fs::write(&file, script).expect("writes a plugin");
        set_plugin_mode(&file);
    }
    folder
}

fn sandbox(plugins: &TempDir) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", plugins.path());
    sandbox
}

#[test]
fn a_command_among_many_groups_runs_with_global_options_anywhere() {
    let plugins = generated_plugins();
    let sandbox = sandbox(&plugins);
    // The first run fills the manifest cache; the others read it.
    for _ in 0..2 {
        let run = sandbox.run(&["gen7", "run"]);
        run.assert_code(0);
        assert_eq!(run.stdout, "ran gen7\n");
    }
    let before = sandbox.run(&["-o", "json", "gen3", "run"]);
    before.assert_code(0);
    assert_eq!(before.json()["group"], "gen3");
    let after = sandbox.run(&["gen12", "run", "--output", "json"]);
    after.assert_code(0);
    assert_eq!(after.json()["group"], "gen12");
    // A word of another group elsewhere on the line changes nothing.
    let quiet = sandbox.run(&["gen1", "run", "--jq", ".group"]);
    quiet.assert_code(0);
    assert_eq!(quiet.stdout, "gen1\n");
    // Words after `--` are no command.
    let extra = sandbox.run(&["gen2", "run", "--", "gen5"]);
    extra.assert_code(2);
    assert!(extra.stderr.starts_with("error: "), "{}", extra.stderr);
}

#[test]
fn help_and_suggestions_still_see_every_group() {
    let plugins = generated_plugins();
    let sandbox = sandbox(&plugins);
    let help = sandbox.run(&["--help"]);
    help.assert_code(0);
    for index in 1..=GROUPS {
        let listed = help.stdout.lines().any(|line| {
            line.trim_start().starts_with(&format!("gen{index} "))
                && line.ends_with(&format!("Generated group {index}"))
        });
        assert!(listed, "{}", help.stdout);
    }
    assert!(help.stdout.contains("org "), "{}", help.stdout);
    // Help for one command, asked for anywhere on the line.
    let leaf = sandbox.run(&["gen4", "--help"]);
    leaf.assert_code(0);
    assert!(
        leaf.stdout.contains("Usage: baseten gen4"),
        "{}",
        leaf.stdout
    );
    // A group without its subcommand: its help on stderr, a usage error.
    let group = sandbox.run(&["gen9"]);
    group.assert_code(2);
    assert!(
        group.stderr.starts_with("Generated group 9\n")
            && group.stderr.contains("Usage: baseten gen9"),
        "{}",
        group.stderr
    );
    // A typo of a group no other word on the line names: suggested from the whole tree.
    let typo = sandbox.run(&["gen1O", "run"]);
    typo.assert_code(2);
    assert!(typo.stderr.contains("gen10"), "{}", typo.stderr);
    let typo = sandbox.run(&["org", "api-key", "lst"]);
    typo.assert_code(2);
    assert!(typo.stderr.contains("list"), "{}", typo.stderr);
}
