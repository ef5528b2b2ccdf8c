//! The README's plugins section and docs/writing-a-plugin.md: several plugins sharing a group,
//! `plugin list | info | install | remove`, compatibility refusals, a panicking plugin, unsafe
//! permissions, and the guide's third-party plugin built, installed and run.

use std::fs;
use std::path::PathBuf;

use baseten_e2e::{
    Emulator, Run, Sandbox, cargo_on_hello, emulator, fixture_library, hello_plugin, hello_project,
    plugin_file_name, plugin_folder, plugin_library, repository_root,
};
use serde_json::Value;

use crate::support::request_lines;

/// The entry of `plugin list -o json` for the plugin called `name`.
fn listed(sandbox: &Sandbox, name: &str) -> Value {
    let run = sandbox.run(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    run.json()["plugins"]
        .as_array()
        .expect("a list of plugins")
        .iter()
        .find(|plugin| plugin["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no plugin `{name}` in:\n{}", run.stdout))
}

fn user_folder(sandbox: &Sandbox) -> PathBuf {
    sandbox.home().join(".local/share/baseten/plugins")
}

/// Asserts the run failed with exactly one `error:` line and one `hint:` line.
#[track_caller]
fn assert_one_error_and_hint(run: &Run) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", run.stderr);
    assert!(lines[1].starts_with("hint: "), "{}", run.stderr);
}

#[test]
fn org_team_list_shows_every_team_and_marks_the_default() {
    let emulator = Emulator::builder()
        .team("Research")
        .start_in_background()
        .expect("the emulator starts");
    let sandbox = Sandbox::for_emulator(&emulator);
    let run = sandbox.run(&["org", "team", "list"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "DEFAULT"]);
    let default = lines
        .iter()
        .find(|line| line.contains("Default Team"))
        .expect("the default team is listed");
    assert!(default.trim_end().ends_with("yes"), "{}", run.stdout);
    let research = lines
        .iter()
        .find(|line| line.contains("Research"))
        .expect("the added team is listed");
    assert!(research.trim_end().ends_with("Research"), "{}", run.stdout);
    assert_eq!(run.stderr, "");
    assert_eq!(request_lines(&emulator), ["GET /v1/teams"]);
}

#[test]
fn org_team_list_json_is_the_api_payload() {
    let emulator = emulator();
    let run = Sandbox::for_emulator(&emulator).run(&["org", "team", "list", "-o", "json"]);
    run.assert_code(0);
    let payload = run.json();
    let team = &payload["teams"][0];
    let fields: Vec<&String> = team.as_object().expect("an object").keys().collect();
    assert_eq!(fields, ["id", "name", "default", "created_at"]);
    assert_eq!(team["default"], true);
    let run = Sandbox::for_emulator(&emulator).run(&[
        "org",
        "team",
        "list",
        "--jq",
        ".teams[] | select(.default) | .name",
    ]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Default Team\n");
}

#[test]
fn two_plugins_share_the_org_group() {
    let run = Sandbox::new().run(&["org", "--help"]);
    run.assert_code(0);
    assert!(
        run.stdout.starts_with("Manage your organization"),
        "{}",
        run.stdout
    );
    let commands: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(commands, ["api-key", "team", "help"], "{}", run.stdout);
    let sandbox = Sandbox::new();
    assert_eq!(listed(&sandbox, "org-api-key")["status"], "ok");
    assert_eq!(listed(&sandbox, "org-team")["status"], "ok");
}

#[test]
fn plugin_list_shows_version_api_commands_status_and_path() {
    let run = Sandbox::new().run(&["plugin", "list"]);
    run.assert_code(0);
    let header: Vec<&str> = run
        .stdout
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME", "KIND", "VERSION", "API", "COMMANDS", "STATUS", "SOURCE", "PATH"
        ]
    );
    let row = run
        .stdout
        .lines()
        .find(|line| line.starts_with("org-api-key "))
        .expect("org-api-key is listed");
    assert!(
        row.contains("org api-key list, org api-key create, org api-key delete"),
        "{row}"
    );
    assert!(row.contains(" library "), "{row}");
    assert!(row.contains(" ok "), "{row}");
    // Bundled, not installed: no receipt says where it came from.
    assert!(row.contains(" no receipt "), "{row}");
    assert!(
        row.ends_with(&plugin_library("org_api_key").display().to_string()),
        "{row}"
    );

    let entry = listed(&Sandbox::new(), "org-team");
    assert_eq!(entry["commands"], serde_json::json!(["org team list"]));
    assert_eq!(entry["reason"], Value::Null);
    assert_eq!(entry["kind"], "library");
    assert!(entry["version"].is_string() && entry["plugin_api_version"].is_string());
}

#[test]
fn plugin_info_shows_the_manifest_path_and_every_flag() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["plugin", "info", "org-api-key"]);
    run.assert_code(0);
    for expected in [
        "Name:         org-api-key",
        "Status:       ok",
        "  baseten org api-key create  Create an API key",
        "--type <TYPE>",
        "workspace-manage-all",
        "--model-id <ID>...",
        "-y, --yes",
    ] {
        assert!(
            run.stdout.contains(expected),
            "no {expected:?} in:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains(&format!(
            "Path:         {}",
            plugin_library("org_api_key").display()
        )),
        "{}",
        run.stdout
    );

    let json = sandbox.run(&["plugin", "info", "org-api-key", "-o", "json"]);
    json.assert_code(0);
    let payload = json.json();
    assert_eq!(payload["name"], "org-api-key");
    assert_eq!(payload["status"], "ok");
    let create = payload["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .find(|command| command["path"] == serde_json::json!(["org", "api-key", "create"]))
        .expect("create is described");
    assert!(
        create["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .any(|flag| flag["long"] == "type" && flag["required"] == true)
    );
}

#[test]
fn plugin_info_of_an_unknown_plugin_is_exit_4() {
    let run = Sandbox::new().run(&["plugin", "info", "nope"]);
    run.assert_code(4);
    assert_eq!(
        run.stderr,
        "error: no plugin named `nope`\nhint: run `baseten plugin list` to see the plugins found\n"
    );
}

/// Every kind of broken plugin, each under a plugin file name.
fn broken_plugins() -> Vec<(PathBuf, &'static str)> {
    let not_a_library = repository_root().join("tests/fixtures/not-a-library.txt");
    vec![
        (fixture_library("api_next_major"), "api-next-major"),
        (fixture_library("api_newer_minor"), "api-newer-minor"),
        (fixture_library("no_root_module"), "no-root-module"),
        (fixture_library("panicking"), "panicking"),
        (not_a_library, "not-a-library"),
        (fixture_library("abi_mismatch"), "abi-mismatch"),
    ]
}

#[test]
fn broken_plugins_are_listed_with_their_reason() {
    let plugins = broken_plugins();
    let folder = plugin_folder(
        &plugins
            .iter()
            .map(|(path, name)| (path.as_path(), *name))
            .collect::<Vec<_>>(),
    );
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());

    let major = listed(&sandbox, "api-next-major");
    assert_eq!(major["status"], "incompatible");
    assert_eq!(major["plugin_api_version"], "2.0.0");
    assert_eq!(
        major["reason"],
        "plugin `api-next-major` is built for plugin API 2.0.0, this baseten speaks 1.2.0; \
         install a build of the plugin for plugin API 1.x"
    );
    let minor = listed(&sandbox, "api-newer-minor");
    assert_eq!(minor["status"], "incompatible");
    assert_eq!(
        minor["reason"],
        "plugin `api-newer-minor` needs plugin API 1.3.0, newer than this baseten's 1.2.0; \
         upgrade baseten"
    );
    let no_root = listed(&sandbox, "no-root-module");
    assert_eq!(no_root["status"], "failed_to_load");
    assert_eq!(
        no_root["reason"],
        "not a baseten plugin: no plugin root module"
    );
    let text = listed(&sandbox, "not-a-library");
    assert_eq!(text["status"], "failed_to_load");
    assert!(
        text["reason"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("not a loadable library: ")),
        "{text}"
    );
    assert_eq!(listed(&sandbox, "panicking")["status"], "ok");
    let abi = listed(&sandbox, "abi-mismatch");
    assert_ne!(abi["status"], "ok");
    assert_eq!(
        abi["reason"],
        "built for an incompatible plugin ABI: the layout of its plugin interface differs from \
         this baseten's"
    );

    let run = sandbox.run(&["plugin", "list"]);
    run.assert_code(0);
    let row = |name: &str| {
        run.stdout
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", run.stdout))
            .to_owned()
    };
    assert!(row("api-next-major").contains("incompatible: plugin `api-next-major`"));
    assert!(row("no-root-module").contains("failed to load: not a baseten plugin"));
    assert!(row("not-a-library").contains("failed to load: not a loadable library"));

    let verbose = sandbox.run(&["version", "-v"]);
    verbose.assert_code(0);
    assert!(
        verbose
            .stderr
            .contains("* skipped plugin `api-next-major` ("),
        "{}",
        verbose.stderr
    );
}

#[test]
fn org_api_key_list_works_beside_each_broken_plugin() {
    let emulator = emulator();
    for (library, name) in broken_plugins() {
        let folder = plugin_folder(&[(library.as_path(), name)]);
        let mut sandbox = Sandbox::for_emulator(&emulator);
        sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
        let run = sandbox.run(&["org", "api-key", "list"]);
        run.assert_code(0);
        assert!(
            run.stdout.starts_with("NAME"),
            "with {name}: {}",
            run.stdout
        );
        assert_eq!(run.stderr, "", "with {name}");
    }
}

#[test]
fn a_panicking_command_is_exit_8_with_the_message_and_no_backtrace() {
    let folder = plugin_folder(&[(fixture_library("panicking").as_path(), "panicking")]);
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    sandbox.set("RUST_BACKTRACE", "1");
    let run = sandbox.run(&["fixture", "panic"]);
    run.assert_code(8);
    assert_one_error_and_hint(&run);
    assert!(
        run.stderr.starts_with(
            "error: plugin `panicking` panicked: the fixture command always panics (at "
        ),
        "{}",
        run.stderr
    );
    for leak in [
        "thread '",
        "panicked at",
        "stack backtrace",
        "RUST_BACKTRACE",
    ] {
        assert!(!run.stderr.contains(leak), "{leak:?} in:\n{}", run.stderr);
    }
    assert_eq!(run.stdout, "");
}

#[cfg(unix)]
#[test]
fn a_plugin_in_a_folder_others_can_write_is_refused_and_the_bundled_one_used() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator();
    for mode in [0o777, 0o770] {
        let folder = plugin_folder(&[(plugin_library("org_api_key").as_path(), "org-api-key")]);
        fs::set_permissions(folder.path(), fs::Permissions::from_mode(mode)).expect("chmod");
        let mut sandbox = Sandbox::for_emulator(&emulator);
        sandbox.set("BASETEN_PLUGIN_PATH", folder.path());

        let run = sandbox.run(&["plugin", "list"]);
        run.assert_code(0);
        let refused = run
            .stdout
            .lines()
            .find(|line| line.contains(&folder.path().display().to_string()))
            .expect("the copy is listed");
        assert!(
            refused.contains("unsafe permissions: its folder"),
            "{refused}"
        );

        let run = sandbox.run(&["org", "api-key", "list", "-v"]);
        run.assert_code(0);
        assert!(
            run.stderr.contains(&format!(
                "* plugin `org-api-key` (library) from {}",
                plugin_library("org_api_key").display()
            )),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn install_refuses_what_it_cannot_use_and_copies_nothing() {
    let sandbox = Sandbox::new();
    let cases: [(PathBuf, &str, &str); 5] = [
        (
            fixture_library("api_next_major"),
            "plugin `api-next-major` is built for plugin API 2.0.0, this baseten speaks 1.2.0",
            "hint: install a build of the plugin for plugin API 1.x",
        ),
        (
            fixture_library("api_newer_minor"),
            "plugin `api-newer-minor` needs plugin API 1.3.0, newer than this baseten's 1.2.0",
            "hint: upgrade baseten",
        ),
        (
            fixture_library("no_root_module"),
            "not a baseten plugin: no plugin root module",
            "hint: a plugin calls `baseten_plugin_api::export_plugin!`",
        ),
        (
            broken_plugins()[4].0.clone(),
            "not a loadable library: ",
            "hint: pass the plugin's built library",
        ),
        (
            fixture_library("abi_mismatch"),
            "built for an incompatible plugin ABI: the layout of its plugin interface differs",
            "hint: rebuild the plugin against the baseten plugin SDK for plugin API 1.2.0",
        ),
    ];
    for (library, reason, hint) in cases {
        let run = sandbox.run(&["plugin", "install", &library.display().to_string()]);
        run.assert_code(8);
        assert_one_error_and_hint(&run);
        let expected = format!("error: cannot install `{}`: {reason}", library.display());
        assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
        assert!(run.stderr.contains(hint), "{}", run.stderr);
    }
    assert!(!user_folder(&sandbox).exists());

    let run = sandbox.run(&["plugin", "install", "no/such/libbaseten_plugin_x.so"]);
    run.assert_code(1);
    assert!(run.stderr.contains("no such file"), "{}", run.stderr);
}

#[test]
fn install_refuses_commands_another_plugin_provides_unless_forced() {
    let sandbox = Sandbox::new();
    let bundled = plugin_library("org_team");
    let library = bundled.display().to_string();
    let run = sandbox.run(&["plugin", "install", &library]);
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot install plugin `org-team`: it is already found at `{library}`\n\
             hint: pass --force to install this copy anyway\n"
        )
    );
    assert!(!user_folder(&sandbox).exists());

    let run = sandbox.run(&["plugin", "install", &library, "--force", "-o", "json"]);
    run.assert_code(0);
    let installed = user_folder(&sandbox).join(plugin_file_name("org-team"));
    assert_eq!(run.json()["path"], installed.display().to_string());
    assert_eq!(run.json()["commands"], serde_json::json!(["org team list"]));
    assert!(
        run.stderr.contains(&format!(
            "warning: the installed copy of plugin `org-team` now shadows the one at {library}"
        )),
        "{}",
        run.stderr
    );
    let list = sandbox.run(&["plugin", "list", "-o", "json"]).json();
    let copies: Vec<(&str, &str)> = list["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter(|plugin| plugin["name"] == "org-team")
        .map(|plugin| {
            (
                plugin["path"].as_str().unwrap_or(""),
                plugin["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        copies,
        [
            (installed.display().to_string().as_str(), "ok"),
            (library.as_str(), "shadowed")
        ]
    );

    let run = sandbox.run(&["plugin", "remove", "org-team"]);
    run.assert_code(0);
    assert!(!installed.exists());
    assert!(
        run.stderr.starts_with("Removed plugin `org-team` ("),
        "{}",
        run.stderr
    );
    assert_eq!(listed(&sandbox, "org-team")["status"], "ok");

    let run = sandbox.run(&["plugin", "remove", "org-team"]);
    run.assert_code(1);
    assert!(
        run.stderr.starts_with(
            "error: plugin `org-team` is not installed in the user plugin folder: it was found at "
        ),
        "{}",
        run.stderr
    );
    sandbox.run(&["plugin", "remove", "nope"]).assert_code(4);
}

#[test]
fn the_guide_plugin_builds_installs_runs_and_is_removed() {
    let library = hello_plugin();
    let emulator = emulator();
    let sandbox = Sandbox::for_emulator(&emulator);
    sandbox.run(&["hello", "greet"]).assert_code(2);

    let run = sandbox.run(&["plugin", "install", &library.display().to_string()]);
    run.assert_code(0);
    let installed = user_folder(&sandbox).join(plugin_file_name("hello"));
    assert_eq!(
        run.stderr,
        format!(
            "Installed plugin `hello` 0.1.0 to {}\n",
            installed.display()
        )
    );
    assert!(installed.is_file());

    let run = sandbox.run(&["hello", "greet", "--name", "Ada", "--style", "excited"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Hello, Ada!!!\n");
    let run = sandbox.run(&["hello", "greet", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        serde_json::json!({"greeting": "Hello, Emulator User."})
    );
    assert_eq!(request_lines(&emulator), ["GET /v1/users/me"]);
    let run = sandbox.run(&["hello", "greet", "--style", "loud"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("possible values: plain, excited"),
        "{}",
        run.stderr
    );

    let entry = listed(&sandbox, "hello");
    assert_eq!(entry["status"], "ok");
    assert_eq!(entry["path"], installed.display().to_string());

    // Installing again replaces it in place.
    let run = sandbox.run(&["plugin", "install", &library.display().to_string()]);
    run.assert_code(0);
    assert!(run.stderr.contains("(replacing 0.1.0)"), "{}", run.stderr);

    sandbox.run(&["plugin", "remove", "hello"]).assert_code(0);
    assert!(!installed.exists());
    sandbox.run(&["hello", "greet"]).assert_code(2);
}

#[test]
fn the_guide_plugin_tests_pass() {
    cargo_on_hello("test").unwrap_or_else(|why| panic!("{why}"));
}

/// `name version` of every package in a `Cargo.lock`.
fn locked_packages(lock: &str) -> Vec<String> {
    let mut packages = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(value) = line.strip_prefix("name = ") {
            name = Some(value.trim_matches('"').to_owned());
        } else if let (Some(value), Some(package)) = (line.strip_prefix("version = "), name.take())
        {
            packages.push(format!("{package} {}", value.trim_matches('"')));
        }
    }
    packages
}

#[test]
fn the_guide_plugin_locks_versions_the_workspace_also_uses() {
    // The tests build the example offline: each dependency it locks must be one the workspace's
    // own build has already fetched.
    let read = |path: PathBuf| fs::read_to_string(&path).expect("reads a lock file");
    let workspace = locked_packages(&read(repository_root().join("Cargo.lock")));
    for package in locked_packages(&read(hello_project().join("Cargo.lock"))) {
        if package.starts_with("baseten-plugin-") {
            continue;
        }
        assert!(
            workspace.contains(&package),
            "tests/fixtures/hello/Cargo.lock locks {package}, which Cargo.lock does not: copy \
             Cargo.lock over it and run `cargo build --manifest-path tests/fixtures/hello/Cargo.toml`"
        );
    }
}

#[test]
fn the_guide_shows_the_guide_plugin_files_as_they_are() {
    let guide = fs::read_to_string(repository_root().join("docs/writing-a-plugin.md"))
        .expect("the guide exists");
    for (file, fence) in [("Cargo.toml", "toml"), ("src/lib.rs", "rust")] {
        let text = fs::read_to_string(hello_project().join(file)).expect("reads the fixture");
        assert!(
            guide.contains(&format!("```{fence}\n{text}```\n")),
            "docs/writing-a-plugin.md does not show tests/fixtures/hello/{file} as it is"
        );
    }
}
