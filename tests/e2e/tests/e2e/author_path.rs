//! The author's path of docs/writing-a-plugin.md ("From a new project to your users"), step by
//! step as written: `plugin new`, `cargo test`, `cargo build`, `plugin pack`, the printed entry
//! in an index, `plugin search`, `plugin install NAME`, the command against the emulator, a new
//! version built, packed and listed, `plugin upgrade NAME`, and `plugin remove NAME`. The index
//! and the files are served by the emulator over loopback http; the project builds offline
//! against the SDK of this repository through the override the guide documents.

#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};

use baseten_e2e::{
    Emulator, Sandbox, cargo_on_project, fixtures_target_dir, plugin_file_name, repository_root,
};
use serde_json::{Value, json};

/// Builds the project as the guide says (`cargo build`; debug, which the guide's `--release`
/// does not change but for speed) and copies the library to where it is published:
/// `published/NAME/VERSION/FILE`. Returns that path, relative to `published`.
fn build_and_publish(project: &Path, name: &str, version: &str, published: &Path) -> String {
    let target = fixtures_target_dir();
    cargo_on_project(project, &["build"], &target).unwrap_or_else(|why| panic!("{why}"));
    let library = plugin_file_name(name);
    let built = target.join("debug").join(&library);
    assert!(built.is_file(), "cargo built no `{}`", built.display());
    let relative = format!("{name}/{version}/{library}");
    let at = published.join(&relative);
    fs::create_dir_all(at.parent().expect("a folder")).expect("creates a folder");
    fs::copy(&built, &at).expect("copies the library");
    relative
}

/// `baseten plugin pack FILE --url URL` as the guide shows it: the entry is what it prints.
fn pack(sandbox: &Sandbox, file: &Path, url: &str) -> Value {
    let run = sandbox.run(&["plugin", "pack", &file.display().to_string(), "--url", url]);
    run.assert_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| {
        panic!(
            "`plugin pack` printed no JSON entry ({error}):\n{}",
            run.stdout
        )
    })
}

fn write_index(published: &Path, index: &Value) {
    fs::write(
        published.join("index.json"),
        serde_json::to_vec_pretty(index).expect("encodes"),
    )
    .expect("writes the index");
}

/// The version `plugin list` shows for `name`, if it lists it.
fn listed_version(sandbox: &Sandbox, name: &str) -> Option<String> {
    let run = sandbox.run(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    run.json()["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|plugin| plugin["name"] == name)
        .and_then(|plugin| plugin["version"].as_str().map(str::to_owned))
}

#[test]
fn a_new_plugin_is_packed_listed_installed_by_name_upgraded_and_removed_as_the_guide_says() {
    let name = "wave";
    let published = tempfile::tempdir().expect("a temp folder");
    let emulator = Emulator::builder()
        .files(published.path())
        .start_in_background()
        .expect("the emulator starts");
    let mut sandbox = Sandbox::for_emulator(&emulator);

    // New.
    sandbox.run(&["plugin", "new", name]).assert_code(0);
    let project: PathBuf = sandbox.home().join(format!("baseten-plugin-{name}"));

    // Test, and build.
    let target = fixtures_target_dir();
    cargo_on_project(&project, &["test"], &target).unwrap_or_else(|why| panic!("{why}"));
    let first = build_and_publish(&project, name, "0.1.0", published.path());

    // Pack: a URL relative to the index, which the index's own address resolves.
    let mut entry = pack(&sandbox, &published.path().join(&first), &first);
    assert_eq!(entry["name"], name);
    assert_eq!(entry["versions"][0]["version"], "0.1.0");
    assert_eq!(entry["versions"][0]["artifacts"][0]["url"], first.as_str());

    // Index: the printed entry, pasted into `plugins`.
    write_index(published.path(), &json!({"plugins": [entry.clone()]}));
    sandbox.set(
        "BASETEN_PLUGIN_INDEX",
        format!("{}/_files/index.json", emulator.url()),
    );

    // Install and run.
    let run = sandbox.run(&["plugin", "search", name]);
    run.assert_code(0);
    assert!(
        run.stdout.lines().any(|line| line.starts_with(name)
            && line.contains("0.1.0")
            && line.contains(&format!("The `{name}` commands"))),
        "{}",
        run.stdout
    );
    sandbox.run(&["plugin", "install", name]).assert_code(0);
    assert_eq!(listed_version(&sandbox, name).as_deref(), Some("0.1.0"));
    let run = sandbox.run(&[name, "greet", "--name", "Ada"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Hello, Ada.\n");
    // Without --name it asks the emulator who the user is.
    let run = sandbox.run(&[name, "greet"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Hello, Emulator User.\n");

    // A new release: bump `version` in Cargo.toml, build, pack, add the version to the index.
    let manifest = project.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).expect("reads Cargo.toml");
    assert!(text.contains("\nversion = \"0.1.0\"\n"), "{text}");
    fs::write(
        &manifest,
        text.replacen("\nversion = \"0.1.0\"\n", "\nversion = \"0.2.0\"\n", 1),
    )
    .expect("writes Cargo.toml");
    let second = build_and_publish(&project, name, "0.2.0", published.path());
    let packed = pack(&sandbox, &published.path().join(&second), &second);
    assert_eq!(packed["versions"][0]["version"], "0.2.0");
    entry["versions"]
        .as_array_mut()
        .expect("versions")
        .push(packed["versions"][0].clone());
    write_index(published.path(), &json!({"plugins": [entry]}));

    // Upgrade: one line saying what changed.
    let run = sandbox.run(&["plugin", "upgrade", "--all", "--dry-run"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!("{name} 0.1.0 -> 0.2.0 (dry run: not installed)\n")
    );
    assert_eq!(listed_version(&sandbox, name).as_deref(), Some("0.1.0"));
    let run = sandbox.run(&["plugin", "upgrade", name]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{name} 0.1.0 -> 0.2.0\n"));
    assert_eq!(listed_version(&sandbox, name).as_deref(), Some("0.2.0"));
    let run = sandbox.run(&[name, "greet", "--name", "Ada"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Hello, Ada.\n");
    let run = sandbox.run(&["plugin", "info", name, "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["receipt"]["version"], "0.2.0");

    // Remove.
    sandbox.run(&["plugin", "remove", name]).assert_code(0);
    assert_eq!(listed_version(&sandbox, name), None);
    let run = sandbox.run(&[name, "greet", "--name", "Ada"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
}

/// Every link of the guide and the README leads somewhere: `](#anchor)` names a heading of the
/// same page, as GitHub derives anchors from headings, and a relative link (inline or a
/// reference definition) names a file of the repository.
#[test]
fn every_link_of_the_guide_and_the_readme_leads_somewhere() {
    for page in ["docs/writing-a-plugin.md", "README.md"] {
        let path = repository_root().join(page);
        let text = fs::read_to_string(&path).expect("reads the page");
        let folder = path.parent().expect("a folder");
        let anchors = headings(&text);
        let mut targets: Vec<&str> = text
            .match_indices("](")
            .filter_map(|(at, _)| {
                let rest = &text[at + 2..];
                rest.find(')').map(|end| &rest[..end])
            })
            .collect();
        // Reference definitions: `[name]: target`.
        targets.extend(text.lines().filter_map(|line| {
            let (label, target) = line.split_once("]: ")?;
            (label.starts_with('[') && !label.contains(' ')).then_some(target.trim())
        }));
        let mut broken = Vec::new();
        for target in targets {
            if let Some(anchor) = target.strip_prefix('#') {
                if !anchors.iter().any(|known| known == anchor) {
                    broken.push(target.to_owned());
                }
            } else if !target.contains("://") && !target.starts_with("mailto:") {
                let file = target.split('#').next().unwrap_or_default();
                if !folder.join(file).exists() {
                    broken.push(target.to_owned());
                }
            }
        }
        assert!(
            broken.is_empty(),
            "{page} links to {broken:?}, which lead nowhere"
        );
    }
}

/// The anchors GitHub gives a page's headings (outside code blocks): lowercase, spaces as `-`,
/// everything but letters, digits, `-` and `_` dropped; a repeated one gets `-1`, `-2`, ….
fn headings(text: &str) -> Vec<String> {
    let mut anchors: Vec<String> = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let base: String = title
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut anchor = base.clone();
        let mut repeat = 0;
        while anchors.contains(&anchor) {
            repeat += 1;
            anchor = format!("{base}-{repeat}");
        }
        anchors.push(anchor);
    }
    anchors
}

#[test]
fn heading_anchors_are_derived_as_github_derives_them() {
    assert_eq!(
        headings(
            "# A\n## 2. `Cargo.toml`\n```\n# not a heading\n```\n## What it does, and why\n## A\n"
        ),
        ["a", "2-cargotoml", "what-it-does-and-why", "a-1"]
    );
}

/// The guide's `plugin pack` example, run as shown on the guide's own plugin, prints the entry
/// the guide shows: the same fields in the same order, the same name, description, version and
/// plugin API. Only the digest and the platform are the build's.
#[test]
fn the_guide_s_pack_example_prints_what_pack_prints() {
    let guide = fs::read_to_string(repository_root().join("docs/writing-a-plugin.md"))
        .expect("reads the guide");
    let start = guide
        .find("$ baseten plugin pack target/release/libbaseten_plugin_hello.so \\\n")
        .expect("the guide shows `plugin pack`");
    let example = &guide[start..];
    let example = &example[..example.find("```").expect("the example ends")];
    let (command, shown) = example
        .split_once("\n{")
        .expect("the example prints an entry");
    let url = command
        .split_whitespace()
        .skip_while(|word| *word != "--url")
        .nth(1)
        .expect("the example passes --url");
    let shown: Value = serde_json::from_str(&format!("{{{shown}")).expect("the shown entry");

    let sandbox = Sandbox::new();
    let library = baseten_e2e::hello_plugin().display().to_string();
    let run = sandbox.run(&["plugin", "pack", &library, "--url", url]);
    run.assert_code(0);
    let mut printed: Value = serde_json::from_str(&run.stdout).expect("pack prints JSON");
    let artifact = &mut printed["versions"][0]["artifacts"][0];
    let shown_artifact = &shown["versions"][0]["artifacts"][0];
    assert!(
        shown_artifact["sha256"]
            .as_str()
            .is_some_and(|digest| digest.len() == 64),
        "{shown_artifact}"
    );
    artifact["sha256"] = shown_artifact["sha256"].clone();
    artifact["target"] = shown_artifact["target"].clone();
    assert_eq!(
        serde_json::to_string_pretty(&printed).expect("encodes"),
        serde_json::to_string_pretty(&shown).expect("encodes"),
        "the guide's `plugin pack` example differs from what it prints"
    );

    // The index the guide shows next holds that entry as printed, a homepage added: copy, paste.
    let index_start = guide
        .find("### Index")
        .expect("the guide has an Index step");
    let block = &guide[index_start..];
    let block = &block[block.find("```json\n").expect("an index example") + 8..];
    let block = &block[..block.find("```").expect("the example ends")];
    let index: Value = serde_json::from_str(block).expect("the guide's index is JSON");
    let mut listed = index["plugins"][0].clone();
    listed.as_object_mut().expect("an entry").remove("homepage");
    assert_eq!(
        listed, shown,
        "the guide's index does not hold the entry its pack example prints"
    );
}

/// The guide's index "or a file, for trying it": an index file beside the plugin, its URL
/// relative to the index, named by a relative path, installs by name; the receipt holds the
/// index's absolute path, so `plugin upgrade` finds it from anywhere.
#[test]
fn an_index_file_with_a_relative_url_installs_by_name() {
    let sandbox = Sandbox::new();
    let published = sandbox.home().join("published");
    fs::create_dir_all(published.join("hello")).expect("creates a folder");
    let library = plugin_file_name("hello");
    fs::copy(
        baseten_e2e::hello_plugin(),
        published.join("hello").join(&library),
    )
    .expect("copies the plugin");
    let relative = format!("hello/{library}");
    let entry = pack(&sandbox, &published.join(&relative), &relative);
    write_index(&published, &json!({"plugins": [entry]}));

    let mut sandbox = sandbox;
    sandbox.set("BASETEN_PLUGIN_INDEX", "published/index.json");
    sandbox.run(&["plugin", "install", "hello"]).assert_code(0);
    assert_eq!(listed_version(&sandbox, "hello").as_deref(), Some("0.1.0"));
    let run = sandbox.run(&["plugin", "info", "hello", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json()["receipt"]["source"],
        json!({"kind": "index", "name": "hello",
               "index": published.join("index.json").display().to_string()})
    );
    let run = sandbox.run(&["hello", "greet", "--name", "Ada"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Hello, Ada.\n");
    let run = sandbox.run(&["plugin", "upgrade", "hello"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "hello 0.1.0 is up to date\n");
}
