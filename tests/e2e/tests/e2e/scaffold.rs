//! `baseten plugin new`: the project it writes builds, passes its tests and installs as
//! generated, against the SDK of this repository through the override the guide documents; and
//! the SDK is the one crate of the workspace that can be published.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use baseten_e2e::{
    Sandbox, cargo_on_project, emulator, fixtures_target_dir, plugin_file_name, repository_root,
};
use serde_json::{Value, json};

/// Reads every file below `folder`, by path relative to it.
fn snapshot(folder: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).expect("reads a folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = fs::read(&path).expect("reads a file");
                files.push((
                    path.strip_prefix(folder).expect("below").to_path_buf(),
                    bytes,
                ));
            }
        }
    }
    files.sort();
    files
}

/// The SDK requirement a new project should carry: the workspace SDK's major and minor.
fn sdk_requirement() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut parts = version.split('.');
    format!(
        "{}.{}",
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default()
    )
}

#[test]
fn a_new_plugin_project_builds_passes_its_tests_and_installs_as_generated() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    // In the sandbox's home, outside this workspace: the project is built as its author would.
    let run = sandbox.run(&["plugin", "new", "greeter", "-o", "json"]);
    run.assert_code(0);
    let project = sandbox.home().join("baseten-plugin-greeter");
    assert_eq!(run.json()["path"], project.display().to_string());
    assert!(
        run.stderr
            .starts_with("Created plugin project `greeter` in "),
        "{}",
        run.stderr
    );
    let manifest = fs::read_to_string(project.join("Cargo.toml")).expect("writes Cargo.toml");
    assert!(
        manifest.contains(&format!("baseten-plugin-api = \"{}\"\n", sdk_requirement())),
        "the SDK is not required by version:\n{manifest}"
    );
    assert!(!manifest.contains("path ="), "{manifest}");
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    let library = plugin_file_name("greeter");
    let readme = fs::read_to_string(project.join("README.md")).expect("writes a README");
    for step in [
        "cargo test".to_owned(),
        "cargo build --release".to_owned(),
        format!("baseten plugin install target/release/{library}"),
        format!("baseten plugin pack target/release/{library} --url "),
    ] {
        assert!(
            readme.contains(&step),
            "the README misses `{step}`:\n{readme}"
        );
    }

    // The workspace's target folder keeps the build between runs.
    let target = fixtures_target_dir();
    cargo_on_project(&project, &["test"], &target).unwrap_or_else(|why| panic!("{why}"));
    cargo_on_project(&project, &["build"], &target).unwrap_or_else(|why| panic!("{why}"));
    let built = target.join("debug").join(&library);
    assert!(built.is_file(), "cargo built no `{}`", built.display());

    // Packed as the README says: its index entry names it as its manifest does.
    let run = sandbox.run(&[
        "plugin",
        "pack",
        &built.display().to_string(),
        "--url",
        "greeter.so",
        "-o",
        "json",
    ]);
    run.assert_code(0);
    let entry = run.json();
    assert_eq!(entry["name"], "greeter");
    assert_eq!(entry["description"], "The `greeter` commands");
    assert_eq!(entry["versions"][0]["version"], "0.1.0");

    let run = sandbox.run(&["plugin", "install", &built.display().to_string()]);
    run.assert_code(0);
    assert!(
        run.stderr
            .starts_with("Installed plugin `greeter` 0.1.0 to "),
        "{}",
        run.stderr
    );
    let run = sandbox.run(&["greeter", "greet", "--name", "Ada"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Hello, Ada.\n");
    let run = sandbox.run(&["greeter", "greet", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json(), json!({"greeting": "Hello, Emulator User."}));
    let run = sandbox.run(&["greeter", "greet", "--help"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("baseten greeter greet --name Ada"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_folder_that_is_not_empty_is_refused_and_left_as_it_is() {
    let sandbox = Sandbox::new();
    let folder = sandbox.home().join("mine");
    fs::create_dir_all(folder.join("src")).expect("creates a folder");
    fs::write(folder.join("Cargo.toml"), "[package]\nname = \"mine\"\n").expect("writes");
    fs::write(folder.join("src/lib.rs"), "// mine\n").expect("writes");
    let before = snapshot(&folder);

    let run = sandbox.run(&["plugin", "new", "greeter", "--dir", "mine"]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        "error: cannot create a plugin project in `mine`: it exists and is not empty\n\
         hint: pass --dir with a folder that does not exist yet or is empty\n"
    );
    assert_eq!(snapshot(&folder), before);

    fs::write(sandbox.home().join("a-file"), "x").expect("writes");
    let run = sandbox.run(&["plugin", "new", "greeter", "--dir", "a-file"]);
    run.assert_code(1);
    assert!(
        run.stderr.starts_with(
            "error: cannot create a plugin project in `a-file`: it exists and is not a folder\n"
        ),
        "{}",
        run.stderr
    );

    // An empty folder is fine, and a nested one is created.
    fs::create_dir(sandbox.home().join("empty")).expect("creates a folder");
    sandbox
        .run(&["plugin", "new", "greeter", "--dir", "empty"])
        .assert_code(0);
    assert!(sandbox.home().join("empty/src/lib.rs").is_file());
    sandbox
        .run(&["plugin", "new", "greeter", "--dir", "deep/er/greeter"])
        .assert_code(0);
    let written: Vec<PathBuf> = snapshot(&sandbox.home().join("deep/er/greeter"))
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    assert_eq!(
        written,
        [".gitignore", "Cargo.toml", "README.md", "src/lib.rs"].map(PathBuf::from)
    );
}

#[test]
fn names_a_plugin_cannot_have_are_usage_errors_and_write_nothing() {
    let sandbox = Sandbox::new();
    for (name, why) in [
        (
            "Greeter",
            "use lowercase words of letters and digits joined by `-`",
        ),
        (
            "my_tool",
            "use lowercase words of letters and digits joined by `-`",
        ),
        (
            "-x",
            "use lowercase words of letters and digits joined by `-`",
        ),
        (
            "a--b",
            "use lowercase words of letters and digits joined by `-`",
        ),
        (
            "../escape",
            "use lowercase words of letters and digits joined by `-`",
        ),
        ("plugin", "`baseten plugin` is a built-in command"),
        ("auth", "`baseten auth` is a built-in command"),
        ("help", "`baseten help` is a built-in command"),
    ] {
        let run = sandbox.run(&["plugin", "new", "--", name]);
        run.assert_code(2);
        let first = run.stderr.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!("error: invalid plugin name `{name}`: {why}"),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    }
    let left: Vec<_> = fs::read_dir(sandbox.home())
        .expect("reads the home folder")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .filter(|name| name.to_string_lossy().starts_with("baseten-plugin-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `cargo metadata` of the workspace.
fn workspace_metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(repository_root())
        .stdin(Stdio::null())
        .output()
        .expect("runs cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("metadata is JSON")
}

#[test]
fn the_sdk_is_the_one_publishable_crate_and_has_what_crates_io_needs() {
    let metadata = workspace_metadata();
    let packages = metadata["packages"].as_array().expect("packages");
    let publishable: Vec<&str> = packages
        .iter()
        // `publish` is null when any registry may take the crate, `[]` when none.
        .filter(|package| package["publish"].is_null())
        .filter_map(|package| package["name"].as_str())
        .collect();
    assert_eq!(publishable, ["baseten-plugin-api"]);
    let sdk = packages
        .iter()
        .find(|package| package["name"] == "baseten-plugin-api")
        .expect("the SDK is a member");
    for field in [
        "description",
        "license",
        "repository",
        "documentation",
        "readme",
        "rust_version",
    ] {
        assert!(
            sdk[field].as_str().is_some_and(|value| !value.is_empty()),
            "the SDK's Cargo.toml has no `{field}`"
        );
    }
    for field in ["keywords", "categories"] {
        assert!(
            sdk[field]
                .as_array()
                .is_some_and(|values| !values.is_empty()),
            "the SDK's Cargo.toml has no `{field}`"
        );
    }
    // Only registry dependencies: a path one could not be published.
    for dependency in sdk["dependencies"].as_array().expect("dependencies") {
        assert!(
            dependency["path"].is_null(),
            "the SDK depends on {} by path",
            dependency["name"]
        );
    }
    // The readme is shipped: a file inside the crate's folder.
    let readme = Path::new(sdk["manifest_path"].as_str().expect("a manifest path"))
        .parent()
        .expect("a folder")
        .join(sdk["readme"].as_str().expect("a readme"));
    assert!(readme.is_file(), "{}", readme.display());
}
