//! The workspace takes its plugins and test fixtures by folder: a new command group is a new
//! folder under `plugins/`, with no list elsewhere to add it to.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use baseten_e2e::{Sandbox, repository_root};
use serde_json::Value;

/// The `[lib] name` of each folder under `plugins/`, from its `Cargo.toml`.
fn plugin_libraries() -> BTreeSet<String> {
    let folder = repository_root().join("plugins");
    let mut libraries = BTreeSet::new();
    for entry in fs::read_dir(&folder).expect("reads plugins/") {
        let manifest = entry.expect("a folder entry").path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        let library = text
            .lines()
            .filter_map(|line| line.strip_prefix("name = \""))
            .map(|rest| rest.trim_end_matches('"'))
            .find(|name| name.starts_with("baseten_plugin_"))
            .unwrap_or_else(|| {
                panic!("{} names no `baseten_plugin_*` library", manifest.display())
            });
        libraries.insert(library.to_owned());
    }
    libraries
}

#[test]
fn every_plugin_folder_is_built_and_loaded() {
    let run = Sandbox::new().run(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    let loaded: BTreeSet<String> = run.json()["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|plugin| plugin["status"] == "ok")
        .filter_map(|plugin| plugin["path"].as_str())
        .filter_map(|path| Path::new(path).file_stem()?.to_str().map(str::to_owned))
        .map(|stem| {
            stem.trim_start_matches(std::env::consts::DLL_PREFIX)
                .to_owned()
        })
        .collect();
    let folders = plugin_libraries();
    assert!(!folders.is_empty(), "plugins/ holds no plugin");
    let missing: Vec<_> = folders.difference(&loaded).collect();
    assert!(
        missing.is_empty(),
        "plugins/ holds {missing:?}, which `cargo build --workspace` did not build or baseten did \
         not load; loaded: {loaded:?}"
    );
}

/// Copies the source tree at `from` to `to`, without build output or version control.
fn copy_sources(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("creates a folder");
    for entry in fs::read_dir(from).expect("reads a folder") {
        let entry = entry.expect("a folder entry");
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            copy_sources(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            fs::copy(entry.path(), to.join(&name)).expect("copies a file");
        }
    }
}

/// Writes a minimal library crate `name` into `folder`.
fn add_crate(folder: &Path, name: &str) {
    fs::create_dir_all(folder.join("src")).expect("creates the crate's folder");
    fs::write(
        folder.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
    )
    .expect("writes Cargo.toml");
    fs::write(folder.join("src/lib.rs"), "").expect("writes src/lib.rs");
}

#[test]
fn a_new_plugin_or_fixture_folder_joins_the_workspace_by_itself() {
    let scratch = tempfile::tempdir().expect("a temp folder");
    let root = scratch.path().join("repository");
    copy_sources(&repository_root(), &root);
    add_crate(&root.join("plugins/zz-new"), "baseten-plugin-zz-new");
    add_crate(
        &root.join("tests/fixtures/zz-new"),
        "baseten-fixture-zz-new",
    );

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .stdin(Stdio::null())
        .output()
        .expect("runs cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let names_of = |ids: &Value| -> BTreeSet<String> {
        let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
        ids.as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| {
                packages
                    .iter()
                    .find(|package| package["id"] == *id)
                    .and_then(|package| package["name"].as_str())
                    .map(str::to_owned)
            })
            .collect()
    };
    let members = names_of(&metadata["workspace_members"]);
    let defaults = names_of(&metadata["workspace_default_members"]);
    for new in ["baseten-plugin-zz-new", "baseten-fixture-zz-new"] {
        assert!(members.contains(new), "{new} is not a member: {members:?}");
        assert!(
            defaults.contains(new),
            "{new} is not built by default: {defaults:?}"
        );
    }
    // The guide's plugin stays a project of its own.
    assert!(
        !members.contains("baseten-plugin-hello"),
        "tests/fixtures/hello joined the workspace: {members:?}"
    );
}
