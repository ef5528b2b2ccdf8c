//! `scripts/install`: lays out `bin/baseten`, the bundled plugins and man pages under a prefix,
//! and the installed binary finds its plugins with no environment variable. Uses the debug build
//! already in `target/` (`--debug --no-build`): a release build takes minutes.

use std::fs;
use std::path::Path;

use baseten_e2e::{Sandbox, build_dir, emulator, plugin_file_name, repository_root, run_command};

#[test]
fn the_install_script_lays_out_a_prefix_whose_binary_finds_its_plugins() {
    let prefix = tempfile::tempdir().expect("a temp folder");
    let sandbox = Sandbox::new();
    let mut script = sandbox.command(&repository_root().join("scripts").join("install"));
    script
        .args(["--debug", "--no-build", "--prefix"])
        .arg(prefix.path())
        .env(
            "CARGO_TARGET_DIR",
            build_dir().parent().expect("the target folder"),
        );
    let run = run_command(script, "");
    run.assert_code(0);
    assert!(
        run.stderr.contains("Installed 2 plugins to "),
        "{}",
        run.stderr
    );

    let names = |folder: &Path| {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let binary = prefix.path().join("bin").join("baseten");
    assert!(binary.is_file());
    assert_eq!(
        names(&prefix.path().join("lib/baseten/plugins")),
        [
            plugin_file_name("org-api-key"),
            plugin_file_name("org-team")
        ]
    );
    let pages = names(&prefix.path().join("share/man/man1"));
    for page in [
        "baseten.1",
        "baseten-org-api-key-list.1",
        "baseten-org-api-key-create.1",
        "baseten-org-team-list.1",
        "baseten-plugin-install.1",
        "baseten-completion.1",
    ] {
        assert!(
            pages.iter().any(|name| name == page),
            "no {page} in {pages:?}"
        );
    }
    assert!(
        !pages.iter().any(|name| name == "baseten-man.1"),
        "{pages:?}"
    );

    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let installed = |args: &[&str]| {
        let mut command = sandbox.command(&binary);
        command.args(args);
        run_command(command, "")
    };
    let run = installed(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    let plugins = run.json()["plugins"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(plugins.len(), 2, "{}", run.stdout);
    let bundled = prefix.path().join("lib").join("baseten").join("plugins");
    for plugin in &plugins {
        assert_eq!(plugin["status"], "ok", "{plugin}");
        let path = Path::new(plugin["path"].as_str().unwrap_or(""));
        assert_eq!(
            path.parent()
                .map(|folder| folder.canonicalize().expect("exists")),
            Some(bundled.canonicalize().expect("exists")),
            "{plugin}"
        );
    }
    installed(&["org", "api-key", "--help"]).assert_code(0);
    let run = installed(&["org", "api-key", "list"]);
    run.assert_code(0);
    assert!(run.stdout.starts_with("NAME"), "{}", run.stdout);
}
