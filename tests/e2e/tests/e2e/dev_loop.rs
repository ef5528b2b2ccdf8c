//! `baseten plugin dev`: an author's loop in one command. A small executable plugin crate (no
//! dependencies, so it builds in a moment, offline) is written into the sandbox's home, where
//! `baseten` runs; an older copy of the same plugin is installed in the user plugin folder. Each
//! `plugin dev -- devloop run` builds the working copy with cargo and runs it, never the
//! installed copy, and `-v` says which file ran.

#![cfg(unix)]

use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;

use baseten_e2e::{Run, Sandbox, build_dir, create_private_folder, set_plugin_mode};

/// The plugin's source: it answers `describe` with its manifest and `devloop run` with the mark
/// it was built with.
fn source(mark: &str) -> String {
    SOURCE.replace("MARK", mark)
}

const SOURCE: &str = r##"use std::io::BufRead;

const DESCRIBED: &str = r#"{"type":"manifest","manifest":{"name":"devloop","version":"0.2.0","plugin_api_version":"1.1.0","groups":[{"path":["devloop"],"about":"A plugin in the making"}],"commands":[{"path":["devloop","run"],"about":"Say which build runs"}]}}"#;
const RESULT: &str = r#"{"type":"result","result":{"ok":{"payload":{"built":"MARK"},"text":{"lines":["built MARK"]}}}}"#;

fn main() {
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    if line.contains(r#""type":"describe""#) {
        println!("{DESCRIBED}");
    } else {
        println!("{RESULT}");
    }
}
"##;

const MANIFEST: &str = r#"[package]
name = "baseten-plugin-devloop"
version = "0.2.0"
edition = "2024"
publish = false

[[bin]]
name = "baseten-plugin-devloop"
path = "src/main.rs"

[workspace]
"#;

/// The copy installed earlier: it says so.
const INSTALLED: &str = r#"#!/bin/sh
IFS= read -r first || exit 3
case "$first" in
*'"type":"describe"'*)
    printf '%s\n' '{"type":"manifest","manifest":{"name":"devloop","version":"0.1.0","plugin_api_version":"1.1.0","groups":[{"path":["devloop"],"about":"A plugin in the making"}],"commands":[{"path":["devloop","run"],"about":"Say which build runs"}]}}'
    exit 0
    ;;
esac
printf '%s\n' '{"type":"result","result":{"ok":{"payload":{"built":"installed"},"text":{"lines":["built installed"]}}}}'
"#;

/// Where the crate of test `name` builds: inside the workspace's target folder, kept between
/// runs; one per test, since tests run at once and one breaks its copy of the crate.
fn target_dir(name: &str) -> PathBuf {
    build_dir()
        .parent()
        .expect("the build folder is inside the target folder")
        .join(name)
}

/// A sandbox whose home holds the plugin crate and whose user plugin folder holds an installed
/// copy of the plugin; cargo works offline into [`target_dir`] `name`.
fn sandbox(name: &str) -> Sandbox {
    let mut sandbox = Sandbox::new();
    // cargo and the rustc it runs find their toolchain as in this test's own environment.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    sandbox.set("CARGO", cargo);
    for name in ["RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "CARGO_HOME", "RUSTC"] {
        if let Some(value) = std::env::var_os(name) {
            sandbox.set(name, value);
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        if std::env::var_os("RUSTUP_HOME").is_none() {
            sandbox.set("RUSTUP_HOME", home.join(".rustup"));
        }
        if std::env::var_os("CARGO_HOME").is_none() {
            sandbox.set("CARGO_HOME", home.join(".cargo"));
        }
    }
    sandbox.set("CARGO_NET_OFFLINE", "true");
    sandbox.set("CARGO_TARGET_DIR", target_dir(name));
    let crate_dir = sandbox.home().to_path_buf();
    fs::create_dir_all(crate_dir.join("src")).expect("creates src");
    fs::write(crate_dir.join("Cargo.toml"), MANIFEST).expect("writes Cargo.toml");
    fs::write(crate_dir.join("src/main.rs"), source("one")).expect("writes main.rs");

    let plugins = sandbox.home().join(".local/share/baseten/plugins");
    create_private_folder(&plugins);
    let installed = plugins.join("baseten-plugin-devloop");
    fs::write(&installed, INSTALLED).expect("installs the older copy");
    set_plugin_mode(&installed);
    sandbox
}

/// The `-v` line saying which plugin file ran.
#[track_caller]
fn ran_from(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|line| line.starts_with("* plugin `devloop` ("))
        .unwrap_or_else(|| panic!("no line says which copy ran:\n{}", run.stderr))
}

#[test]
fn plugin_dev_builds_the_working_copy_and_runs_it_before_the_installed_one() {
    let sandbox = sandbox("dev-loop");
    let installed = sandbox
        .home()
        .join(".local/share/baseten/plugins/baseten-plugin-devloop");

    // Without `plugin dev`, the installed copy runs, and `-v` says which file that is.
    let run = sandbox.run(&["-v", "devloop", "run"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "built installed\n");
    assert_eq!(
        ran_from(&run),
        format!(
            "* plugin `devloop` (executable) from {}",
            installed.display()
        )
    );

    // `plugin dev` builds the crate in the current folder and runs that build.
    let run = sandbox.run(&["plugin", "dev", "-v", "--", "devloop", "run"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "built one\n");
    let debug_copy = target_dir("dev-loop")
        .join("debug")
        .join("baseten-dev")
        .join("baseten-plugin-devloop");
    assert_eq!(
        ran_from(&run),
        format!(
            "* plugin `devloop` (executable) from {}",
            debug_copy.display()
        )
    );
    // The installed copy is named as not used, and why.
    assert!(
        run.stderr
            .lines()
            .any(|line| line.starts_with("* skipped plugin `devloop`")
                && line.contains(&installed.display().to_string())
                && line.contains("shadowed")),
        "{}",
        run.stderr
    );

    // An edit is built and run by the next `plugin dev`, with the command's own flags after `--`.
    fs::write(sandbox.home().join("src/main.rs"), source("two")).expect("edits main.rs");
    let run = sandbox.run(&["plugin", "dev", "--", "devloop", "run", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json(), serde_json::json!({"built": "two"}));

    // `--release` builds and runs the release profile's copy.
    let run = sandbox.run(&["-v", "plugin", "dev", "--release", "--", "devloop", "run"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "built two\n");
    let release_copy = target_dir("dev-loop")
        .join("release")
        .join("baseten-dev")
        .join("baseten-plugin-devloop");
    assert_eq!(
        ran_from(&run),
        format!(
            "* plugin `devloop` (executable) from {}",
            release_copy.display()
        )
    );

    // Without a command, it builds and says what would run.
    let run = sandbox.run(&["plugin", "dev", "-o", "json"]);
    run.assert_code(0);
    let plugins = &run.json()["plugins"];
    assert_eq!(plugins[0]["name"], "devloop");
    assert_eq!(plugins[0]["kind"], "executable");
    assert_eq!(plugins[0]["path"], debug_copy.display().to_string());

    // The installed copy is untouched and runs again outside `plugin dev`.
    let run = sandbox.run(&["devloop", "run"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "built installed\n");
}

#[test]
fn plugin_dev_fails_with_cargos_reason_when_the_build_fails() {
    let sandbox = sandbox("dev-loop-broken");
    fs::write(sandbox.home().join("src/main.rs"), "fn main() { not rust }")
        .expect("breaks main.rs");
    let manifest = sandbox.home().join("Cargo.toml");
    let run = sandbox.run(&[
        "-v",
        "plugin",
        "dev",
        "--manifest-path",
        manifest.to_str().expect("a UTF-8 path"),
        "--",
        "devloop",
        "run",
    ]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("error"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: could not build the plugin: `cargo build` failed\nhint: "),
        "{}",
        run.stderr
    );
    // Nothing ran: neither the installed copy nor an old build.
    assert!(!run.stderr.contains("* plugin `devloop`"), "{}", run.stderr);
}
