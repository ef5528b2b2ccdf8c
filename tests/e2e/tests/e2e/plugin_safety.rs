//! One bad plugin or file never breaks anything else: a library that crashes while loading, an
//! edited manifest cache, plugin files and folders others could replace, odd entries in plugin
//! folders, and the files `baseten` writes (`auth.json`, its folder, temporary files).

use std::fs;
use std::path::{Path, PathBuf};

use baseten_e2e::{Run, Sandbox, emulator, fixture_library, plugin_file_name, plugin_library};
use serde_json::Value;

/// The user plugin folder of a sandbox, created closed to group and others.
fn user_folder(sandbox: &Sandbox) -> PathBuf {
    let folder = sandbox.home().join(".local/share/baseten/plugins");
    fs::create_dir_all(&folder).expect("creates the user plugin folder");
    folder
}

fn cache_file(sandbox: &Sandbox) -> PathBuf {
    sandbox.home().join(".cache/baseten/plugins.json")
}

fn cache_line(run: &Run) -> String {
    run.stderr
        .lines()
        .find(|line| line.starts_with("* plugin manifest cache: "))
        .unwrap_or_else(|| panic!("no cache line in:\n{}", run.stderr))
        .to_owned()
}

/// The `plugin list -o json` entry whose path is `path`.
fn listed_at(sandbox: &Sandbox, path: &Path) -> Value {
    let run = sandbox.run(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    run.json()["plugins"]
        .as_array()
        .and_then(|plugins| {
            plugins
                .iter()
                .find(|plugin| plugin["path"] == path.display().to_string())
        })
        .cloned()
        .unwrap_or_else(|| panic!("`{}` is not listed:\n{}", path.display(), run.stdout))
}

/// A sandbox with the crashing library in its user plugin folder, as `crash`.
fn sandbox_with_crashing_library(sandbox: &Sandbox) -> PathBuf {
    let installed = user_folder(sandbox).join(plugin_file_name("crash"));
    fs::copy(fixture_library("crash_on_load"), &installed).expect("copies the fixture");
    installed
}

#[test]
fn a_library_that_crashes_while_loading_breaks_no_other_command() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let installed = sandbox_with_crashing_library(&sandbox);

    let help = sandbox.run(&["--help"]);
    help.assert_code(0);
    assert!(help.stdout.contains("org"), "{}", help.stdout);
    sandbox.run(&["auth", "status"]).assert_code(0);
    let list = sandbox.run(&["org", "api-key", "list"]);
    list.assert_code(0);
    assert_eq!(list.stderr, "");

    let entry = listed_at(&sandbox, &installed);
    assert_eq!(entry["status"], "failed_to_load");
    assert_eq!(entry["reason"], "crashed while loading: SIGSEGV");
    let run = sandbox.run(&["plugin", "list"]);
    assert!(
        run.stdout.contains("crashed while loading: SIGSEGV"),
        "{}",
        run.stdout
    );
    let verbose = sandbox.run(&["version", "-v"]);
    verbose.assert_code(0);
    assert!(
        verbose.stderr.contains(&format!(
            "* skipped plugin `crash` ({}): failed to load: crashed while loading: SIGSEGV",
            installed.display()
        )),
        "{}",
        verbose.stderr
    );
    // Recorded against the file's stamp: not tried again until the file changes.
    assert!(
        cache_line(&verbose).ends_with(", 0 loaded"),
        "{}",
        verbose.stderr
    );

    let removed = sandbox.run(&["plugin", "remove", "crash"]);
    removed.assert_code(0);
    assert!(!installed.exists());
}

#[test]
fn install_checks_a_crashing_library_in_a_child_and_copies_nothing() {
    let sandbox = Sandbox::new();
    let library = fixture_library("crash_on_load");
    let run = sandbox.run(&["plugin", "install", &library.display().to_string()]);
    run.assert_code(8);
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot install `{}`: crashed while loading: SIGSEGV",
            library.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!sandbox.home().join(".local/share/baseten/plugins").exists());
}

/// Runs `--help -v` twice so the cache is warm, and returns the cache as JSON.
fn warm_cache(sandbox: &Sandbox) -> Value {
    sandbox.run(&["--help", "-v"]).assert_code(0);
    let text = fs::read_to_string(cache_file(sandbox)).expect("the cache exists");
    serde_json::from_str(&text).expect("the cache is JSON")
}

fn write_cache(sandbox: &Sandbox, cache: &Value) {
    fs::write(cache_file(sandbox), cache.to_string()).expect("writes the cache");
}

/// The cache entry of the bundled org-api-key plugin.
fn org_api_key_entry(cache: &mut Value) -> &mut Value {
    let path = plugin_library("org_api_key").display().to_string();
    &mut cache["entries"][path.as_str()]
}

#[test]
fn an_edited_cache_with_an_empty_command_path_is_rebuilt_not_a_panic() {
    let sandbox = Sandbox::new();
    let mut cache = warm_cache(&sandbox);
    let entry = org_api_key_entry(&mut cache);
    assert!(entry.is_object(), "{cache}");
    entry["examined"]["manifest"]["commands"][0]["path"] = Value::Array(Vec::new());
    write_cache(&sandbox, &cache);

    let run = sandbox.run(&["--help", "-v"]);
    run.assert_code(0);
    assert!(run.stdout.contains("org"), "{}", run.stdout);
    assert!(
        cache_line(&run).contains("ignored corrupt plugin cache")
            && cache_line(&run).contains("empty command path"),
        "{}",
        run.stderr
    );
    let again = sandbox.run(&["--help", "-v"]);
    assert!(
        cache_line(&again).ends_with(", 0 loaded"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_cached_manifest_the_library_contradicts_is_refreshed() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    let mut cache = warm_cache(&sandbox);
    org_api_key_entry(&mut cache)["examined"]["manifest"]["version"] = "9.9.9".into();
    write_cache(&sandbox, &cache);

    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    let entry = listed_at(&sandbox, &plugin_library("org_api_key"));
    assert_eq!(entry["version"], "0.1.0", "{entry}");
}

#[test]
fn a_file_replaced_with_the_same_size_and_time_is_read_again() {
    let folder = tempfile::tempdir().expect("a temp folder");
    let plugin = folder.path().join(plugin_file_name("copied"));
    fs::copy(plugin_library("org_team"), &plugin).expect("copies");
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    warm_cache(&sandbox);
    let warm = sandbox.run(&["--help", "-v"]);
    assert!(cache_line(&warm).ends_with(", 0 loaded"), "{}", warm.stderr);

    // Another file (a new inode) with the same bytes, size and modification time.
    let modified = fs::metadata(&plugin)
        .and_then(|metadata| metadata.modified())
        .expect("a modification time");
    let replacement = folder.path().join("replacement");
    fs::copy(&plugin, &replacement).expect("copies");
    fs::File::options()
        .write(true)
        .open(&replacement)
        .and_then(|file| file.set_modified(modified))
        .expect("sets the modification time");
    fs::rename(&replacement, &plugin).expect("replaces");

    let run = sandbox.run(&["--help", "-v"]);
    run.assert_code(0);
    assert!(cache_line(&run).ends_with(", 1 loaded"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn a_symlink_into_a_folder_others_can_write_is_refused_with_that_reason() {
    use std::os::unix::fs::PermissionsExt;
    let folder = tempfile::tempdir().expect("a temp folder");
    let open_folder = tempfile::tempdir().expect("a temp folder");
    fs::set_permissions(open_folder.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let target = open_folder.path().join("library.so");
    fs::copy(plugin_library("org_team"), &target).expect("copies");
    let link = folder.path().join(plugin_file_name("linked"));
    std::os::unix::fs::symlink(&target, &link).expect("links");
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());

    let entry = listed_at(&sandbox, &link);
    assert_eq!(entry["status"], "unsafe_permissions", "{entry}");
    assert_eq!(
        entry["reason"],
        format!(
            "the folder of its target `{}` is writable by group or others",
            open_folder.path().display()
        )
    );
    let verbose = sandbox.run(&["version", "-v"]);
    assert!(
        verbose.stderr.contains("is writable by group or others"),
        "{}",
        verbose.stderr
    );
}

#[cfg(unix)]
#[test]
fn every_entry_named_like_a_plugin_that_is_skipped_is_named_with_its_reason() {
    let folder = tempfile::tempdir().expect("a temp folder");
    let a_folder = folder.path().join(plugin_file_name("folder"));
    fs::create_dir(&a_folder).expect("creates a folder");
    let dangling = folder.path().join(plugin_file_name("gone"));
    std::os::unix::fs::symlink(folder.path().join("nothing-here.so"), &dangling).expect("links");
    let looping = folder.path().join(plugin_file_name("loop"));
    std::os::unix::fs::symlink(&looping, &looping).expect("links");
    let not_a_folder = folder.path().join("not-a-folder");
    fs::write(&not_a_folder, "x").expect("writes");
    let mut sandbox = Sandbox::new();
    let paths = std::env::join_paths([folder.path(), &not_a_folder]).expect("joins");
    sandbox.set("BASETEN_PLUGIN_PATH", paths);

    let expected = [
        (
            a_folder.clone(),
            "a folder, not a plugin library".to_owned(),
        ),
        (
            dangling.clone(),
            format!(
                "a dangling symbolic link to `{}`",
                folder.path().join("nothing-here.so").display()
            ),
        ),
        (looping.clone(), "a symbolic link loop".to_owned()),
        (
            not_a_folder.clone(),
            "the plugin folder cannot be read: Not a directory (os error 20)".to_owned(),
        ),
    ];
    let run = sandbox.run(&["plugin", "list"]);
    run.assert_code(0);
    for (path, reason) in &expected {
        let note = format!("note: skipped `{}`: {reason}\n", path.display());
        assert!(run.stderr.contains(&note), "{note:?} in:\n{}", run.stderr);
    }
    let json = sandbox.run(&["plugin", "list", "-o", "json"]).json();
    assert_eq!(
        json["skipped"].as_array().map(Vec::len),
        Some(expected.len()),
        "{json}"
    );
    let verbose = sandbox.run(&["version", "-v"]);
    for (path, reason) in &expected {
        let line = format!("* skipped `{}`: {reason}\n", path.display());
        assert!(
            verbose.stderr.contains(&line),
            "{line:?} in:\n{}",
            verbose.stderr
        );
    }
}

#[test]
fn install_of_a_bare_name_installs_the_file_in_the_current_folder() {
    let sandbox = Sandbox::new();
    let name = plugin_file_name("copy");
    fs::copy(plugin_library("org_team"), sandbox.home().join(&name)).expect("copies");
    let installed = sandbox
        .home()
        .join(".local/share/baseten/plugins")
        .join(plugin_file_name("org-team"));
    for given in [name.clone(), format!("./{name}")] {
        let run = sandbox.run(&["plugin", "install", &given, "--force"]);
        run.assert_code(0);
        assert!(installed.is_file(), "{given}: {}", run.stderr);
        fs::remove_file(&installed).expect("removes");
    }
}

#[test]
fn install_of_a_folder_says_it_is_a_folder() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.home().join("build")).expect("creates a folder");
    let run = sandbox.run(&["plugin", "install", "build"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .starts_with("error: cannot install `build`: it is a folder\n"),
        "{}",
        run.stderr
    );
}
