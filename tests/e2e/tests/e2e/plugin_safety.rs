//! One bad plugin or file never breaks anything else: a library that crashes while loading, an
//! edited manifest cache, plugin files and folders others could replace, odd entries in plugin
//! folders, and the files `baseten` writes (`auth.json`, its folder, temporary files).

use std::fs;
use std::path::{Path, PathBuf};

use baseten_e2e::{
    BackgroundEmulator, Run, Sandbox, copy_plugin, create_private_folder, emulator,
    fixture_library, plugin_file_name, plugin_library, private_temp_folder,
};
use serde_json::Value;

/// The user plugin folder of a sandbox, created closed to group and others.
fn user_folder(sandbox: &Sandbox) -> PathBuf {
    let folder = sandbox.home().join(".local/share/baseten/plugins");
    create_private_folder(&folder);
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
    copy_plugin(&fixture_library("crash_on_load"), &installed);
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
fn an_edited_cache_whose_commands_clash_is_rebuilt() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    // What the rebuilt cache's log line says, and the edit to the cached commands.
    type Edit = (&'static str, fn(&mut Value));
    let edits: [Edit; 4] = [
        ("takes over the built-in command", |commands| {
            commands[0]["path"] = serde_json::json!(["auth", "status"]);
        }),
        ("declared twice", |commands| {
            commands[1]["path"] = commands[0]["path"].clone();
        }),
        ("one under the other", |commands| {
            let mut path = commands[0]["path"].clone();
            path.as_array_mut().expect("a path").push("x".into());
            commands[1]["path"] = path;
        }),
        ("a flag group is empty", |commands| {
            commands[0]["one_required"] = serde_json::json!([[]]);
        }),
    ];
    for (why, edit) in edits {
        let mut cache = warm_cache(&sandbox);
        edit(&mut org_api_key_entry(&mut cache)["examined"]["manifest"]["commands"]);
        write_cache(&sandbox, &cache);
        let run = sandbox.run(&["org", "api-key", "list", "-v"]);
        run.assert_code(0);
        assert!(
            cache_line(&run).contains("ignored corrupt plugin cache")
                && cache_line(&run).contains(why),
            "{why}: {}",
            run.stderr
        );
        for verb in ["list", "create", "delete"] {
            assert!(
                sandbox.run(&["org", "api-key", verb, "--help"]).code == 0,
                "{why}: `{verb}` is gone"
            );
        }
    }
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
    // The load-marker fixture notes each process that loads it: the proof of a read.
    let folder = private_temp_folder("baseten-plugins-");
    let plugin = folder.path().join(plugin_file_name("load-marker"));
    copy_plugin(&fixture_library("load_marker"), &plugin);
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    let log = sandbox.home().join("marker-loads.txt");
    sandbox.set("BASETEN_FIXTURE_LOAD_LOG", &log);
    let loads = || fs::read_to_string(&log).map_or(0, |log| log.lines().count());
    warm_cache(&sandbox);
    let warm_loads = loads();
    assert!(warm_loads >= 1, "the plugin was never read");
    let warm = sandbox.run(&["--help", "-v"]);
    assert!(cache_line(&warm).ends_with(", 0 loaded"), "{}", warm.stderr);
    assert_eq!(loads(), warm_loads, "a warm cache loaded the plugin");

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
    assert!(loads() > warm_loads, "the replaced file was not read again");
}

#[cfg(unix)]
#[test]
fn a_symlink_into_a_folder_others_can_write_is_refused_with_that_reason() {
    use std::os::unix::fs::PermissionsExt;
    let folder = private_temp_folder("baseten-plugins-");
    let open_folder = tempfile::tempdir().expect("a temp folder");
    fs::set_permissions(open_folder.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let target = open_folder.path().join("library.so");
    copy_plugin(&plugin_library("org_team"), &target);
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
    let folder = private_temp_folder("baseten-plugins-");
    let a_folder = folder.path().join(plugin_file_name("folder"));
    fs::create_dir(&a_folder).expect("creates a folder");
    let dangling = folder.path().join(plugin_file_name("gone"));
    std::os::unix::fs::symlink(folder.path().join("nothing-here.so"), &dangling).expect("links");
    let looping = folder.path().join(plugin_file_name("loop"));
    std::os::unix::fs::symlink(&looping, &looping).expect("links");
    let not_a_folder = folder.path().join("not-a-folder");
    fs::write(&not_a_folder, "x").expect("writes");
    let bad_name = folder.path().join(format!(
        "{}baseten_plugin_Bad Name{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    fs::write(&bad_name, "x").expect("writes");
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
            bad_name.clone(),
            "not a valid plugin file name: after `baseten_plugin_`, only lowercase letters, \
             digits and `_`"
                .to_owned(),
        ),
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
    copy_plugin(&plugin_library("org_team"), &sandbox.home().join(&name));
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

/// `auth login --with-api-key --profile PROFILE` against `emulator`, the key on stdin.
fn login(sandbox: &Sandbox, emulator: &BackgroundEmulator, profile: &str, extra: &[&str]) -> Run {
    let url = emulator.url();
    let mut args = vec![
        "auth",
        "login",
        "--with-api-key",
        "--profile",
        profile,
        "--remote-url",
        &url,
    ];
    args.extend_from_slice(extra);
    sandbox.run_with_stdin(&args, &format!("{}\n", emulator.api_key()))
}

fn note_for(path: &Path) -> String {
    format!(
        "note: storing the API key in plain text in {}\n",
        path.display()
    )
}

#[test]
fn plain_text_by_choice_is_a_note_saying_where_not_a_keyring_warning() {
    let emulator = emulator();
    // The sandbox sets BASETEN_NO_KEYRING=1.
    let sandbox = Sandbox::new();
    let run = login(&sandbox, &emulator, "ci", &[]);
    run.assert_code(0);
    let auth_file = sandbox.config_dir().join("auth.json");
    assert_eq!(run.stderr, note_for(&auth_file));

    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    sandbox.set(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/baseten-e2e/bus",
    );
    let run = login(&sandbox, &emulator, "ci", &["--insecure-storage"]);
    run.assert_code(0);
    assert_eq!(
        run.stderr,
        note_for(&sandbox.config_dir().join("auth.json"))
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_auth_json_is_written_through_and_the_link_kept() {
    let emulator = emulator();
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.config_dir()).expect("creates the config folder");
    let real = sandbox.home().join("dotfiles-auth.json");
    fs::write(&real, r#"{"version": 1, "profiles": {}}"#).expect("writes");
    let link = sandbox.config_dir().join("auth.json");
    std::os::unix::fs::symlink(&real, &link).expect("links");

    login(&sandbox, &emulator, "ci", &[]).assert_code(0);
    assert!(
        fs::symlink_metadata(&link)
            .expect("stat")
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    let written: Value =
        serde_json::from_str(&fs::read_to_string(&real).expect("reads")).expect("JSON");
    assert_eq!(written["current"], "ci", "{written}");
    assert_eq!(written["profiles"]["ci"]["api_key"], emulator.api_key());

    // A link that leads nowhere is refused, and left as it is.
    fs::remove_file(&real).expect("removes");
    let run = login(&sandbox, &emulator, "ci", &[]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("it is a symbolic link that cannot be followed"),
        "{}",
        run.stderr
    );
    assert!(fs::symlink_metadata(&link).is_ok_and(|metadata| metadata.file_type().is_symlink()));
}

#[cfg(unix)]
#[test]
fn a_config_folder_others_can_enter_is_closed_when_written() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator();
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.config_dir()).expect("creates the config folder");
    fs::set_permissions(sandbox.config_dir(), fs::Permissions::from_mode(0o755)).expect("chmod");
    login(&sandbox, &emulator, "ci", &[]).assert_code(0);
    let mode = fs::metadata(sandbox.config_dir())
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    let mut names: Vec<String> = fs::read_dir(sandbox.config_dir())
        .expect("lists")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["auth.json", "auth.json.lock"],
        "a temporary file was left"
    );
}

#[test]
fn completion_scripts_leave_out_hidden_commands() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = sandbox.run(&["completion", shell]);
        run.assert_code(0);
        assert!(run.stdout.contains("api-key"), "{shell}");
        let words: Vec<&str> = run
            .stdout
            .split(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
            .collect();
        assert!(
            !words.contains(&"man") && !run.stdout.contains("read-manifest"),
            "{shell} completes a hidden command:\n{}",
            run.stdout
        );
    }
}

/// With a real Secret Service: a login whose `auth.json` cannot be written (a format this tool
/// does not write) fails before the key reaches the keyring; one whose write fails after the
/// keyring took the key (a symlinked `auth.json` leading nowhere) takes the key back out.
#[cfg(target_os = "linux")]
#[test]
fn login_touches_no_keyring_when_auth_json_cannot_be_written() {
    if !baseten_e2e::programs_installed(
        &["dbus-run-session", "gnome-keyring-daemon"],
        "the system keyring path",
    ) {
        return;
    }
    let emulator = emulator();
    let mut sandbox = Sandbox::new();
    sandbox.unset("BASETEN_NO_KEYRING");
    let home = sandbox.home().to_path_buf();
    fs::write(home.join("key.txt"), format!("{}\n", emulator.api_key())).expect("writes");
    fs::create_dir_all(sandbox.config_dir()).expect("creates the config folder");
    fs::write(
        sandbox.config_dir().join("auth.json"),
        r#"{"version": 2, "profiles": {}}"#,
    )
    .expect("writes");
    // Then a file naming `desk` without a key: only the keyring could hold one.
    fs::write(
        home.join("desk-without-key.json"),
        serde_json::json!({"version": 1, "profiles": {"desk": {
            "remote_url": emulator.url(), "auth_type": "api_key"}}})
        .to_string(),
    )
    .expect("writes");
    let script = format!(
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90\n\
         b='{baseten}'\n\
         step() {{ name=$1; shift; \"$b\" \"$@\" >\"$name.out\" 2>\"$name.err\"; echo $? >\"$name.code\"; }}\n\
         step login auth login --with-api-key --profile desk --remote-url {url} <key.txt\n\
         cp desk-without-key.json .config/baseten/auth.json\n\
         step status auth status --profile desk\n\
         rm .config/baseten/auth.json\n\
         ln -s \"$HOME/missing/auth.json\" .config/baseten/auth.json\n\
         step dangling auth login --with-api-key --profile desk --remote-url {url} <key.txt\n\
         rm .config/baseten/auth.json\n\
         cp desk-without-key.json .config/baseten/auth.json\n\
         step undone auth status --profile desk\n\
         step control auth login --with-api-key --profile control --remote-url {url} <key.txt\n\
         step in_keyring auth status --profile control\n",
        baseten = baseten_e2e::baseten_bin().display(),
        url = emulator.url(),
    );
    let mut command = sandbox.command(Path::new("dbus-run-session"));
    command.args(["--", "sh", "-c", &script]);
    baseten_e2e::run_command(command, "").assert_code(0);
    let read = |name: &str| fs::read_to_string(home.join(name)).unwrap_or_default();

    assert_eq!(read("login.code").trim(), "1", "{}", read("login.err"));
    assert!(
        read("login.err").contains("format version 2"),
        "{}",
        read("login.err")
    );
    assert_eq!(
        read("status.code").trim(),
        "3",
        "the keyring holds the key of a login that failed: {}",
        read("status.out")
    );
    // The keyring works here: a login that can write its file puts the key there.
    assert_eq!(read("control.code").trim(), "0", "{}", read("control.err"));
    assert!(
        read("in_keyring.out").contains("stored in:  system keyring"),
        "{}",
        read("in_keyring.out")
    );
    assert_eq!(
        read("dangling.code").trim(),
        "1",
        "{}",
        read("dangling.err")
    );
    assert!(
        read("dangling.err").contains("symbolic link that cannot be followed"),
        "{}",
        read("dangling.err")
    );
    assert_eq!(
        read("undone.code").trim(),
        "3",
        "the keyring kept the key of a login whose file write failed: {}",
        read("undone.out")
    );
}
