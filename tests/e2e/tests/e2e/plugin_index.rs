//! A warm run parses only the manifests of the plugins its line names, deciding which plugin owns
//! which command from the manifest cache's summaries: with a hundred plugins, each its own group,
//! a plugin added or removed since the cache was written is still noticed, shadowing and its
//! `-v` lines are the same whatever the line names, a file others can write is still refused, and
//! an edited entry of a plugin the line does not name is found (and the cache rebuilt) when the
//! whole tree is needed.

use std::fs;
use std::path::{Path, PathBuf};

use baseten_e2e::{Run, Sandbox, private_temp_folder, set_plugin_mode};
use serde_json::Value;
use tempfile::TempDir;

const PLUGINS: usize = 100;

/// An executable plugin named `name` owning `GROUP run` (under a group described as `about`),
/// which answers `ran NAME`.
fn write_plugin(folder: &Path, name: &str, group: &str, about: &str) -> PathBuf {
    let script = format!(
        r#"#!/bin/sh
IFS= read -r first || exit 3
case "$first" in
*'"type":"describe"'*)
    printf '%s\n' '{{"type":"manifest","manifest":{{"name":"{name}","version":"0.1.0","plugin_api_version":"1.1.0","groups":[{{"path":["{group}"],"about":"{about}"}}],"commands":[{{"path":["{group}","run"],"about":"Run"}}]}}}}'
    exit 0
    ;;
esac
printf '%s\n' '{{"type":"result","result":{{"ok":{{"payload":{{}},"text":{{"lines":["ran {name}"]}}}}}}}}'
"#
    );
    let file = folder.join(format!("baseten-plugin-{name}"));
    fs::write(&file, script).expect("writes a plugin");
    set_plugin_mode(&file);
    file
}

/// A folder of `PLUGINS` plugins, `gen-1` to `gen-100`, each owning `genN run`.
fn generated_plugins() -> TempDir {
    let folder = private_temp_folder("baseten-index-");
    for index in 1..=PLUGINS {
        write_plugin(
            folder.path(),
            &format!("gen-{index}"),
            &format!("gen{index}"),
            &format!("Generated group {index}"),
        );
    }
    folder
}

fn sandbox(folders: &[&Path]) -> Sandbox {
    let mut sandbox = Sandbox::new();
    let joined = std::env::join_paths(folders).expect("joins the folders");
    sandbox.set("BASETEN_PLUGIN_PATH", joined);
    sandbox
}

/// Runs `--help` once so that the cache holds every plugin.
fn warm(sandbox: &Sandbox) {
    sandbox.run(&["--help"]).assert_code(0);
}

fn cache_line(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|line| line.starts_with("* plugin manifest cache: "))
        .unwrap_or_else(|| panic!("no cache line in:\n{}", run.stderr))
}

/// The lines `-v` writes about plugins that are not used.
fn skipped_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|line| line.starts_with("* skipped plugin "))
        .collect()
}

fn runs(sandbox: &Sandbox, group: &str, name: &str) {
    let run = sandbox.run(&[group, "run"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("ran {name}\n"), "{}", run.stderr);
}

#[test]
fn a_plugin_added_after_the_cache_was_written_is_found() {
    let plugins = generated_plugins();
    let sandbox = sandbox(&[plugins.path()]);
    warm(&sandbox);
    runs(&sandbox, "gen40", "gen-40");
    write_plugin(plugins.path(), "late", "late", "Added late");
    let run = sandbox.run(&["late", "run", "-v"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "ran late\n");
    assert!(cache_line(&run).ends_with(", 1 loaded"), "{}", run.stderr);
    // And in the whole tree, once the cache holds it.
    let help = sandbox.run(&["--help", "-v"]);
    assert!(help.stdout.contains("Added late"), "{}", help.stdout);
    assert!(cache_line(&help).ends_with(", 0 loaded"), "{}", help.stderr);
}

#[test]
fn a_removed_plugin_is_no_longer_offered() {
    let plugins = generated_plugins();
    let sandbox = sandbox(&[plugins.path()]);
    warm(&sandbox);
    runs(&sandbox, "gen50", "gen-50");
    fs::remove_file(plugins.path().join("baseten-plugin-gen-50")).expect("removes");
    let run = sandbox.run(&["gen50", "run"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error: unrecognized subcommand 'gen50'"),
        "{}",
        run.stderr
    );
    let help = sandbox.run(&["--help"]);
    assert!(!help.stdout.contains("gen50 "), "{}", help.stdout);
    assert!(help.stdout.contains("gen51 "), "{}", help.stdout);
    runs(&sandbox, "gen51", "gen-51");
}

#[test]
fn a_changed_plugin_file_is_read_again_and_its_old_group_is_gone() {
    let plugins = generated_plugins();
    let sandbox = sandbox(&[plugins.path()]);
    warm(&sandbox);
    // The same file now owns another group.
    write_plugin(plugins.path(), "gen-7", "seven", "Renamed");
    let run = sandbox.run(&["seven", "run", "-v"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "ran gen-7\n");
    assert!(cache_line(&run).ends_with(", 1 loaded"), "{}", run.stderr);
    sandbox.run(&["gen7", "run"]).assert_code(2);
}

#[test]
fn two_plugins_claiming_one_group_among_a_hundred_are_reported_whatever_the_line_names() {
    let plugins = generated_plugins();
    let early = private_temp_folder("baseten-index-early-");
    // In the earlier folder, a plugin named like one of the hundred: it wins.
    write_plugin(early.path(), "gen-3", "three", "Earlier");
    // Two plugins claiming one group in the same folder: the first by file name wins.
    write_plugin(plugins.path(), "dup-a", "shared", "Shared A");
    write_plugin(plugins.path(), "dup-b", "shared", "Shared B");
    let sandbox = sandbox(&[early.path(), plugins.path()]);
    let cold = sandbox.run(&["--help", "-v"]);
    cold.assert_code(0);
    let expected = [
        format!(
            "* skipped plugin `dup-b` ({}): shadowed by plugin `dup-a`",
            plugins.path().join("baseten-plugin-dup-b").display()
        ),
        format!(
            "* skipped plugin `gen-3` ({}): shadowed by an earlier plugin named `gen-3`",
            plugins.path().join("baseten-plugin-gen-3").display()
        ),
    ];
    assert_eq!(skipped_lines(&cold), expected, "{}", cold.stderr);
    // Warm, the same lines for a line that names the group, one that names another, and help.
    for args in [
        &["shared", "run", "-v"][..],
        &["gen60", "run", "-v"],
        &["three", "run", "-v"],
        &["--help", "-v"],
    ] {
        let run = sandbox.run(args);
        run.assert_code(0);
        assert!(cache_line(&run).ends_with(", 0 loaded"), "{}", run.stderr);
        assert_eq!(skipped_lines(&run), expected, "{args:?}: {}", run.stderr);
    }
    runs(&sandbox, "shared", "dup-a");
    runs(&sandbox, "three", "gen-3");
    sandbox.run(&["gen3", "run"]).assert_code(2);
}

#[cfg(unix)]
#[test]
fn a_plugin_file_others_can_write_is_refused_on_a_warm_cache() {
    use std::os::unix::fs::PermissionsExt;
    let plugins = generated_plugins();
    let sandbox = sandbox(&[plugins.path()]);
    warm(&sandbox);
    let file = plugins.path().join("baseten-plugin-gen-9");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o757)).expect("chmod");
    let run = sandbox.run(&["gen9", "run", "-v"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(&format!(
            "* skipped plugin `gen-9` ({}): unsafe permissions: `{}` is writable by group or others\n",
            file.display(),
            file.display()
        )),
        "{}",
        run.stderr
    );
    runs(&sandbox, "gen10", "gen-10");
}

/// The cache entry of `file`.
fn entry<'a>(cache: &'a mut Value, file: &Path) -> &'a mut Value {
    &mut cache["entries"][file.display().to_string().as_str()]
}

#[test]
fn an_edited_entry_the_line_does_not_need_is_found_when_the_whole_tree_is() {
    let plugins = generated_plugins();
    let sandbox = sandbox(&[plugins.path()]);
    warm(&sandbox);
    let cache_file = sandbox.home().join(".cache/baseten/plugins.json");
    let mut cache: Value =
        serde_json::from_slice(&fs::read(&cache_file).expect("the cache exists")).expect("JSON");
    let edited = plugins.path().join("baseten-plugin-gen-70");
    entry(&mut cache, &edited)["examined"]["manifest"]["plugin_api_version"] = "9.0.0".into();
    fs::write(&cache_file, cache.to_string()).expect("writes the cache");

    // A command of another plugin reads neither that manifest nor the plugin.
    let run = sandbox.run(&["gen20", "run", "-v"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "ran gen-20\n");
    assert!(
        !cache_line(&run).contains("corrupt") && cache_line(&run).ends_with(", 0 loaded"),
        "{}",
        run.stderr
    );
    // The edited plugin's own command finds it: the cache is rebuilt, the command runs.
    let own = sandbox.run(&["gen70", "run", "-v"]);
    own.assert_code(0);
    assert_eq!(own.stdout, "ran gen-70\n");
    assert!(
        cache_line(&own).contains(&format!(
            "ignored corrupt plugin cache `{}`: the entry of `{}` is invalid: plugin `gen-70` \
             is built for plugin API 9.0.0",
            cache_file.display(),
            edited.display()
        )),
        "{}",
        own.stderr
    );

    // Edited again: help, which needs every manifest, finds it too, and lists every group.
    let mut cache: Value =
        serde_json::from_slice(&fs::read(&cache_file).expect("the cache exists")).expect("JSON");
    entry(&mut cache, &edited)["examined"]["manifest"]["plugin_api_version"] = "9.0.0".into();
    fs::write(&cache_file, cache.to_string()).expect("writes the cache");
    let help = sandbox.run(&["--help", "-v"]);
    help.assert_code(0);
    assert!(
        cache_line(&help).contains("ignored corrupt plugin cache"),
        "{}",
        help.stderr
    );
    assert!(
        help.stdout.contains("Generated group 70"),
        "{}",
        help.stdout
    );
    let again = sandbox.run(&["--help", "-v"]);
    assert!(
        cache_line(&again).ends_with(", 0 loaded"),
        "{}",
        again.stderr
    );
}
