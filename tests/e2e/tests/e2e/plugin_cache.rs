//! The manifest cache: a warm run builds the command tree without loading any plugin, and a
//! changed, added or removed plugin file refreshes only its own entry.
//!
//! Whether a plugin was loaded is told by the load-marker fixture, whose library notes every
//! process that loads it in a file of the test's: not by `baseten`'s own `-v` account, which the
//! tests check too.

use std::fs;
use std::path::{Path, PathBuf};

use baseten_e2e::{
    Sandbox, build_dir, copy_plugin, emulator, fixture_library, plugin_file_name,
    private_temp_folder, set_plugin_mode,
};
use tempfile::TempDir;

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

/// The load-marker plugin in a plugin folder of `sandbox`'s, noting its loads in a file.
struct Marker {
    folder: TempDir,
    log: PathBuf,
}

impl Marker {
    fn install(sandbox: &mut Sandbox) -> Self {
        let folder = private_temp_folder("baseten-plugins-");
        copy_plugin(
            &fixture_library("load_marker"),
            &Self::file_in(folder.path()),
        );
        let log = sandbox.home().join("marker-loads.txt");
        sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
        sandbox.set("BASETEN_FIXTURE_LOAD_LOG", &log);
        Self { folder, log }
    }

    fn file_in(folder: &Path) -> PathBuf {
        folder.join(plugin_file_name("load-marker"))
    }

    fn file(&self) -> PathBuf {
        Self::file_in(self.folder.path())
    }

    /// How many times a process loaded the plugin's library so far.
    fn loads(&self) -> usize {
        fs::read_to_string(&self.log).map_or(0, |log| log.lines().count())
    }
}

#[test]
fn help_on_a_warm_cache_loads_no_plugin() {
    let mut sandbox = Sandbox::new();
    let marker = Marker::install(&mut sandbox);
    let cold = sandbox.run(&["--help", "-v"]);
    cold.assert_code(0);
    assert_eq!(cache_line(&cold.stderr), expect(0, bundled() + 1));
    let cold_loads = marker.loads();
    assert!(cold_loads >= 1, "a cold cache must read the plugin");
    let warm = sandbox.run(&["--help", "-v"]);
    warm.assert_code(0);
    assert_eq!(cache_line(&warm.stderr), expect(bundled() + 1, 0));
    assert_eq!(
        marker.loads(),
        cold_loads,
        "--help on a warm cache loaded the plugin"
    );
    assert_eq!(cold.stdout, warm.stdout);
    assert!(warm.stdout.contains("org"), "{}", warm.stdout);
    assert!(warm.stdout.contains("fixture"), "{}", warm.stdout);
}

#[test]
fn a_command_on_a_warm_cache_loads_only_its_own_plugin() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    let marker = Marker::install(&mut sandbox);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    let before = marker.loads();
    assert!(before >= 1, "a cold cache must read the plugin");

    // Another plugin's command leaves the marker unloaded.
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    run.assert_code(0);
    assert_eq!(cache_line(&run.stderr), expect(bundled() + 1, 0));
    assert!(
        run.stderr
            .contains("* plugin `org-api-key` (library) from "),
        "{}",
        run.stderr
    );
    assert_eq!(marker.loads(), before, "another plugin's command loaded it");

    // Its own command loads it once, in the process that runs it.
    sandbox.run(&["fixture", "marker"]).assert_code(0);
    assert_eq!(marker.loads(), before + 1);
}

#[test]
fn a_changed_plugin_file_refreshes_only_its_entry() {
    let mut sandbox = Sandbox::new();
    let marker = Marker::install(&mut sandbox);
    sandbox.run(&["--help", "-v"]).assert_code(0);
    let before = marker.loads();
    assert_eq!(
        cache_line(&sandbox.run(&["--help", "-v"]).stderr),
        expect(bundled() + 1, 0)
    );
    assert_eq!(marker.loads(), before);

    // Same content, new modification time: only this file is read again.
    let copy = marker.file();
    let bytes = fs::read(&copy).expect("reads");
    fs::remove_file(&copy).expect("removes");
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&copy, bytes).expect("writes");
    set_plugin_mode(&copy);
    assert_eq!(
        cache_line(&sandbox.run(&["--help", "-v"]).stderr),
        expect(bundled(), 1)
    );
    let reread = marker.loads();
    assert!(reread > before, "the changed file was not read again");
    sandbox.run(&["--help"]).assert_code(0);
    assert_eq!(marker.loads(), reread, "the refreshed entry was not kept");

    fs::remove_file(&copy).expect("removes");
    let run = sandbox.run(&["--help", "-v"]);
    assert_eq!(cache_line(&run.stderr), expect(bundled(), 0));
    let cache = fs::read_to_string(sandbox.home().join(".cache/baseten/plugins.json"))
        .expect("the cache exists");
    assert!(
        !cache.contains(&plugin_file_name("load-marker")),
        "a removed plugin stays cached: {cache}"
    );
}

#[test]
fn a_corrupt_cache_is_rebuilt() {
    let mut sandbox = Sandbox::new();
    let marker = Marker::install(&mut sandbox);
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
    let rebuilt = marker.loads();
    assert!(rebuilt >= 1, "the corrupt cache was trusted");
    assert_eq!(
        cache_line(&sandbox.run(&["--help", "-v"]).stderr),
        expect(bundled() + 1, 0)
    );
    assert_eq!(marker.loads(), rebuilt, "the rebuilt cache was not used");
}

#[test]
fn an_unwritable_cache_is_bypassed() {
    let emulator = emulator();
    let mut sandbox = Sandbox::for_emulator(&emulator);
    let marker = Marker::install(&mut sandbox);
    sandbox.set("XDG_CACHE_HOME", "/proc/baseten-no-such-folder");
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    run.assert_code(0);
    assert!(
        cache_line(&run.stderr).contains("could not write plugin cache"),
        "{}",
        run.stderr
    );
    // With no cache to keep it, every run reads the plugin again.
    let first = marker.loads();
    assert!(first >= 1);
    sandbox.run(&["org", "api-key", "list"]).assert_code(0);
    assert!(
        marker.loads() > first,
        "a cache that was never written served the run"
    );
}
