//! A plugin as a third party writes it: one that adds a command to a group a bundled plugin owns
//! (`org team show` beside the bundled `org team list`), answering with the key/value view of a
//! single object. The plugin is `tests/e2e/fixtures/executables/org-team-show`, a POSIX shell
//! script writing fixed protocol lines.

#![cfg(unix)]

use std::path::PathBuf;

use baseten_e2e::{Sandbox, executable_plugin_folder, repository_root};
use tempfile::TempDir;

/// A plugin folder holding the fixture as `baseten-plugin-org-team-show`.
fn show_folder() -> TempDir {
    let script: PathBuf = repository_root().join("tests/e2e/fixtures/executables/org-team-show");
    executable_plugin_folder(&[(&script, "org-team-show")])
}

/// A sandbox whose plugin path, searched before the bundled plugins, holds the fixture.
fn sandbox_with_show(folder: &TempDir) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    sandbox
}

#[test]
fn a_plugin_extending_a_bundled_group_keeps_the_bundled_help() {
    let folder = show_folder();
    let sandbox = sandbox_with_show(&folder);

    let root = sandbox.run(&["--help"]);
    root.assert_code(0);
    assert!(
        root.stdout.contains("Manage your organization"),
        "{}",
        root.stdout
    );

    let org = sandbox.run(&["org", "--help"]);
    org.assert_code(0);
    assert!(
        org.stdout.starts_with("Manage your organization"),
        "{}",
        org.stdout
    );
    assert!(org.stdout.contains("Manage teams"), "{}", org.stdout);

    let team = sandbox.run(&["org", "team", "--help"]);
    team.assert_code(0);
    assert!(team.stdout.starts_with("Manage teams"), "{}", team.stdout);
    // The new command sits beside the bundled one.
    assert!(team.stdout.contains("list"), "{}", team.stdout);
    assert!(team.stdout.contains("Show one team"), "{}", team.stdout);

    for run in [&root, &org, &team] {
        assert!(!run.stdout.contains("Other words"), "{}", run.stdout);
    }
}

#[test]
fn a_single_object_is_shown_aligned_and_sanitised() {
    let folder = show_folder();
    let sandbox = sandbox_with_show(&folder);
    let run = sandbox.run(&["org", "team", "show", "--name", "Research"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "ID:           t-42\n\
         Name:         Research\n\
         Description:  first line second line\n\
         Colour:       red?[31m text\n"
    );
    assert_eq!(run.stderr, "");

    let json = sandbox.run(&["org", "team", "show", "--name", "Research", "-o", "json"]);
    json.assert_code(0);
    assert_eq!(
        json.json(),
        serde_json::json!({"name": "Research", "id": "t-42"})
    );
}
