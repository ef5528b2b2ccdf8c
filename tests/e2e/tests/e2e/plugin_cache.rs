//! The manifest cache: a warm run builds the command tree without loading any plugin, and a
//! changed, added or removed plugin file refreshes only its own entry.

use std::fs;
use std::path::PathBuf;

use baseten_e2e::{
    Sandbox, build_dir, copy_plugin, emulator, private_temp_folder, set_plugin_mode,
};

fn org_api_key_library() -> PathBuf {
    build_dir().join(format!(
        "{}baseten_plugin_org_api_key{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// How many plugins the build put beside the binary.
fn bundled() -> usize {
    std::fs::read_dir(build_dir())
        .expect("the build folder")
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("{}baseten_plugin_", std::env::consts::DLL_PREFIX))
                && name.ends_with(std::env::consts::DLL_SUFFIX)
        })
        .count()
}

fn expect(hit: usize, loaded: usize) -> String {
    format!("* plugin manifest cache: {hit} hit, {loaded} loaded")
}

fn cache_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|line| line.starts_with("* plugin manifest cache: "))
        .unwrap_or_else(|| panic!("no cache line in:\n{stderr}"))
}

#[test]
fn help_on_a_warm_cache_loads_no_plugin() {
    let sandbox = Sandbox::new();
    let cold = sandbox.run(&["--help", "-v"]);
    cold.assert_code(0);
    assert_eq!(cache_line(&cold.stderr), expect(0, bundled()));
    let warm = sandbox.run(&["--help", "-v"]);
    warm.assert_code(0);
    assert_eq!(cache_line(&warm.stderr), expect(bundled(), 0));
    assert_eq!(cold.stdout, warm.stdout);
    assert!(warm.stdout.contains("org"), "{}", warm.stdout);
}

#[test]
fn a_command_on_a_warm_cache_still_works() {
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    run.assert_code(0);
    assert_eq!(cache_line(&run.stderr), expect(bundled(), 0));
    assert!(
        run.stderr.contains("* plugin `org-api-key` from "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_changed_plugin_file_refreshes_only_its_entry() {
    let folder = private_temp_folder("baseten-plugins-");
    let copy = folder.path().join("libbaseten_plugin_copied.so");
    copy_plugin(&org_api_key_library(), &copy);
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    sandbox.run(&["--help", "-v"]).assert_code(0);
    assert_eq!(
        cache_line(&sandbox.run(&["--help", "-v"]).stderr),
        expect(bundled() + 1, 0)
    );

    // Same content, new modification time: only this file is read again.
    let bytes = fs::read(&copy).expect("reads");
    fs::remove_file(&copy).expect("removes");
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&copy, bytes).expect("writes");
    set_plugin_mode(&copy);
    assert_eq!(
        cache_line(&sandbox.run(&["--help", "-v"]).stderr),
        expect(bundled(), 1)
    );

    fs::remove_file(&copy).expect("removes");
    let run = sandbox.run(&["--help", "-v"]);
    assert_eq!(cache_line(&run.stderr), expect(bundled(), 0));
    let cache = fs::read_to_string(sandbox.home().join(".cache/baseten/plugins.json"))
        .expect("the cache exists");
    assert!(
        !cache.contains("libbaseten_plugin_copied"),
        "a removed plugin stays cached: {cache}"
    );
}

#[test]
fn a_corrupt_cache_is_rebuilt() {
    let sandbox = Sandbox::new();
    let folder = sandbox.home().join(".cache/baseten");
    fs::create_dir_all(&folder).expect("creates the folder");
    fs::write(folder.join("plugins.json"), "{\"format\": ").expect("writes");
    let run = sandbox.run(&["--help", "-v"]);
    run.assert_code(0);
    assert!(
        cache_line(&run.stderr).contains("ignored corrupt plugin cache"),
        "{}",
        run.stderr
    );
    assert_eq!(
        cache_line(&sandbox.run(&["--help", "-v"]).stderr),
        expect(bundled(), 0)
    );
}

#[test]
fn an_unwritable_cache_is_bypassed() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    sandbox.set("XDG_CACHE_HOME", "/proc/baseten-no-such-folder");
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    run.assert_code(0);
    assert!(
        cache_line(&run.stderr).contains("could not write plugin cache"),
        "{}",
        run.stderr
    );
}
