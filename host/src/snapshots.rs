//! Snapshot tests of what users read: the help of every command, the text view of every command,
//! and every error of the README's tables (its exit codes and its decisions), each with its exit
//! code. Commands run in this process through [`cli::run`](crate::cli::run), over an in-memory
//! [`Terminal`] and a fixed environment, against a `baseten-emulator` on 127.0.0.1 and the real
//! plugin libraries that `cargo build --workspace` put in `target/debug`. What needs a process
//! (signals, pipes, exit statuses, plugins on disk going wrong) stays in the end-to-end tests.
//!
//! Snapshots live in `src/snapshots/`; after a deliberate change, review and accept them with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test -p baseten snapshots`). Values that
//! differ on every run (ports, temporary folders, new keys) are replaced before comparing.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use baseten_emulator::{BackgroundEmulator, Emulator};
use serde_json::json;
use tempfile::TempDir;

use crate::context::Context;
use crate::terminal::Terminal;

/// The emulator's bootstrap key: fixed, so that its prefix reads the same in every snapshot.
const BOOTSTRAP_KEY: &str = "snapshot.S3cretS3cretS3cretS3cretS3cretS3cret00";

/// Runs take turns: the secrets registry and the plugin libraries are process-wide, and one run
/// at a time keeps each snapshot's stderr its own.
static SERIAL: Mutex<()> = Mutex::new(());

/// The folder cargo built into (`target/debug`), holding the `baseten` binary (which the manifest
/// probes run) and the plugin libraries.
#[allow(
    clippy::disallowed_methods,
    reason = "the test binary finds the build folder from its own path"
)]
fn build_dir() -> PathBuf {
    let test_exe = std::env::current_exe().expect("the test knows its own path");
    let dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .to_path_buf();
    let needed = [
        format!("baseten{}", std::env::consts::EXE_SUFFIX),
        crate::plugins::file_name_for("org-api-key"),
        crate::plugins::file_name_for("org-team"),
    ];
    for name in needed {
        assert!(
            dir.join(&name).is_file(),
            "`{}` is missing: run `cargo build --workspace` before the snapshot tests",
            dir.join(&name).display()
        );
    }
    dir
}

/// How one run ended, as a user sees it.
struct Shown {
    args: Vec<String>,
    code: u8,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Shown {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(formatter, "$ baseten {}", self.args.join(" "))?;
        writeln!(formatter, "exit: {}", self.code)?;
        writeln!(formatter, "--- stdout")?;
        write!(formatter, "{}", self.stdout)?;
        writeln!(formatter, "--- stderr")?;
        write!(formatter, "{}", self.stderr)
    }
}

/// A home of its own, an emulator and the environment a run gets.
struct World {
    emulator: BackgroundEmulator,
    home: TempDir,
    environment: Vec<(OsString, OsString)>,
    build_dir: PathBuf,
    /// Values made by the emulator (team IDs, key prefixes), and what they read as in snapshots
    /// (as wide, so that tables stay aligned).
    generated: RefCell<BTreeMap<String, &'static str>>,
    _serial: MutexGuard<'static, ()>,
}

impl World {
    /// An emulator with a team `Research` and nothing else; `BASETEN_API_KEY` holds its key.
    fn new() -> Self {
        let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let build_dir = build_dir();
        let emulator = Emulator::builder()
            .api_key(BOOTSTRAP_KEY)
            .team("Research")
            .start_in_background()
            .expect("the emulator starts");
        let home = tempfile::Builder::new()
            .prefix("baseten-snapshot-")
            .tempdir()
            .expect("a temporary folder");
        let mut world = Self {
            emulator,
            home,
            environment: Vec::new(),
            build_dir,
            generated: RefCell::default(),
            _serial: serial,
        };
        let home = world.home.path().to_path_buf();
        world.set("HOME", home.as_os_str());
        world.set("XDG_CONFIG_HOME", home.join(".config").as_os_str());
        world.set("XDG_DATA_HOME", home.join(".local/share").as_os_str());
        world.set("XDG_CACHE_HOME", home.join(".cache").as_os_str());
        world.set("BASETEN_NO_KEYRING", "1");
        world.set("BASETEN_API_KEY", BOOTSTRAP_KEY);
        let url = world.emulator.url();
        world.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", url);
        let teams = world.run(&["org", "team", "list", "--jq", ".teams[].id"]);
        assert_eq!(teams.code, 0, "{teams}");
        world
            .generated
            .borrow_mut()
            .extend(teams.stdout.lines().map(|id| (id.to_owned(), "[TEAMID]")));
        world
    }

    fn set(&mut self, name: &str, value: impl Into<OsString>) -> &mut Self {
        self.environment.retain(|(key, _)| key != name);
        self.environment.push((name.into(), value.into()));
        self
    }

    fn unset(&mut self, name: &str) -> &mut Self {
        self.environment.retain(|(key, _)| key != name);
        self
    }

    fn run(&self, args: &[&str]) -> Shown {
        self.run_on(Terminal::memory(b""), args)
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Shown {
        self.run_on(Terminal::memory(stdin.as_bytes()), args)
    }

    /// Runs `baseten args` as `main` does, over `terminal`.
    fn run_on(&self, terminal: (Terminal, crate::terminal::Captured), args: &[&str]) -> Shown {
        let (terminal, captured) = terminal;
        self.note_keys();
        let mut argv: Vec<OsString> = vec!["baseten".into()];
        argv.extend(args.iter().map(OsString::from));
        for arg in args {
            crate::secrets::register_keys_in(arg);
        }
        let mut context = Context::new(
            terminal,
            self.environment.clone(),
            Some(
                self.build_dir
                    .join(format!("baseten{}", std::env::consts::EXE_SUFFIX)),
            ),
        );
        let color = context.color_stderr();
        let result = crate::guarded(|| crate::cli::run(&mut context, argv)).and_then(|r| r);
        let code = match result {
            Ok(()) => 0,
            Err(error) => {
                crate::report(&error, color, &mut **context.terminal().stderr());
                error.exit_code()
            }
        };
        Shown {
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            code,
            stdout: captured.stdout.text(),
            stderr: captured.stderr.text(),
        }
    }

    /// The built `baseten`, which the host's child processes run (manifest probes).
    fn executable(&self) -> PathBuf {
        self.build_dir
            .join(format!("baseten{}", std::env::consts::EXE_SUFFIX))
    }

    /// Notes the prefixes of the emulator's keys, to replace them even once deleted.
    fn note_keys(&self) {
        let prefixes = self.emulator.keys().into_iter().filter_map(|key| {
            key["prefix"]
                .as_str()
                .filter(|prefix| *prefix != prefix_of(BOOTSTRAP_KEY))
                .map(|prefix| (prefix.to_owned(), "[PREFIX]"))
        });
        self.generated.borrow_mut().extend(prefixes);
    }

    /// Creates a key and gives it back.
    fn create_key(&self, args: &[&str]) -> String {
        let mut all = vec!["org", "api-key", "create"];
        all.extend_from_slice(args);
        let shown = self.run(&all);
        assert_eq!(shown.code, 0, "{shown}");
        shown.stdout.trim().to_owned()
    }

    /// Logs in as `profile` with the bootstrap key, stored in `auth.json`.
    fn login(&self, profile: &str) {
        let shown = self.run_with_stdin(
            &[
                "auth",
                "login",
                "--with-api-key",
                "--profile",
                profile,
                "--remote-url",
                &self.emulator.url(),
            ],
            BOOTSTRAP_KEY,
        );
        assert_eq!(shown.code, 0, "{shown}");
    }

    /// Compares `shown` with the snapshot `name`, with what changes from run to run replaced.
    #[track_caller]
    fn check(&self, name: &str, shown: &Shown) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        let home = self.home.path().display().to_string();
        settings.add_filter(&regex_escape(&home), "[HOME]");
        settings.add_filter(
            &regex_escape(&self.build_dir.display().to_string()),
            "[TARGET]",
        );
        // As wide as the ports the system hands out, so that tables stay aligned.
        settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PRT]");
        // Keys made during the test: the whole key, then each prefix or team ID (8 characters,
        // as wide).
        settings.add_filter(r"\b[A-Za-z0-9]{8}\.[A-Za-z0-9]{20,}\b", "[NEW KEY]");
        self.note_keys();
        for (generated, shown) in self.generated.borrow().iter() {
            settings.add_filter(&format!(r"\b{}\b", regex_escape(generated)), *shown);
        }
        settings.add_filter(r"\(at [^)]*:\d+\)", "(at [LOCATION])");
        settings.bind(|| insta::assert_snapshot!(name, shown.to_string()));
    }
}

fn prefix_of(key: &str) -> &str {
    key.split_once('.').map_or(key, |(prefix, _)| prefix)
}

/// `text` as a regular expression matching itself.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// Every command path of the tree, groups included, hidden ones too (clap's own `help` aside).
fn command_paths(command: &clap::Command, prefix: &[String], paths: &mut Vec<Vec<String>>) {
    for sub in command.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        paths.push(path.clone());
        command_paths(sub, &path, paths);
    }
}

#[test]
fn help_of_every_command() {
    let world = World::new();
    let shown = world.run(&["--help"]);
    world.check("help", &shown);
    let registry = {
        let context = Context::new(
            Terminal::memory(b"").0,
            world.environment.clone(),
            Some(world.executable()),
        );
        crate::plugins::Registry::discover_for(&context, crate::plugins::Scope::All)
    };
    let mut paths = Vec::new();
    command_paths(&crate::cli::tree::build(&registry), &[], &mut paths);
    for expected in [
        &["org", "api-key", "list"][..],
        &["org", "team", "list"],
        &["auth", "login"],
    ] {
        assert!(
            paths.iter().any(|path| path == expected),
            "{expected:?} missing from {paths:?}"
        );
    }
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let shown = world.run(&args);
        assert_eq!(shown.code, 0, "{shown}");
        world.check(&format!("help-{}", path.join("-")), &shown);
    }
}

#[test]
fn text_views_of_auth() {
    let mut world = World::new();
    world.check("text-auth-status-env", &world.run(&["auth", "status"]));
    let login = world.run_with_stdin(
        &[
            "auth",
            "login",
            "--with-api-key",
            "--profile",
            "work",
            "--remote-url",
            &world.emulator.url(),
        ],
        BOOTSTRAP_KEY,
    );
    world.check("text-auth-login", &login);
    world.login("ci");
    world.check("text-auth-list", &world.run(&["auth", "list"]));
    world.unset("BASETEN_API_KEY");
    world.check("text-auth-status", &world.run(&["auth", "status"]));
    world.check(
        "text-auth-switch",
        &world.run(&["auth", "switch", "--profile", "work"]),
    );
    world.check(
        "text-auth-logout",
        &world.run(&["auth", "logout", "--profile", "ci"]),
    );
    world.check("text-auth-list-after-logout", &world.run(&["auth", "list"]));
}

#[test]
fn text_views_of_plugins_and_version() {
    let world = World::new();
    world.check("text-plugin-list", &world.run(&["plugin", "list"]));
    world.check(
        "text-plugin-info",
        &world.run(&["plugin", "info", "org-api-key"]),
    );
    world.check("text-version", &world.run(&["version"]));
    world.check("text-version-flag", &world.run(&["--version"]));
}

#[test]
fn text_views_of_org() {
    let world = World::new();
    world.check(
        "text-org-api-key-list-empty",
        &world.run(&["org", "api-key", "list"]),
    );
    world.check(
        "text-org-api-key-create",
        &world.run(&[
            "org", "api-key", "create", "--type", "personal", "--name", "laptop",
        ]),
    );
    world.create_key(&[
        "--type",
        "workspace-invoke",
        "--name",
        "ci",
        "--team",
        "Research",
        "--model-id",
        "m1",
    ]);
    world.check(
        "text-org-api-key-list",
        &world.run(&["org", "api-key", "list"]),
    );
    world.check(
        "text-org-api-key-delete",
        &world.run(&["org", "api-key", "delete", "--name", "laptop", "--yes"]),
    );
    world.check("text-org-team-list", &world.run(&["org", "team", "list"]));
}

/// The key/value view of a single object, from a plugin that adds `org team show` to the
/// bundled `org team` group (the executable fixture of the end-to-end tests): its values
/// aligned and sanitised, and the group's help still the bundled plugin's.
#[cfg(unix)]
#[test]
fn text_view_of_a_single_object() {
    use std::os::unix::fs::PermissionsExt;

    let mut world = World::new();
    let folder = tempfile::Builder::new()
        .prefix("baseten-snapshot-plugins-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .expect("a temporary folder");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/e2e/fixtures/executables/org-team-show");
    let installed = folder.path().join("baseten-plugin-org-team-show");
    std::fs::copy(&script, &installed).expect("copies the fixture");
    std::fs::set_permissions(&installed, std::fs::Permissions::from_mode(0o755))
        .expect("makes it executable");
    world.set("BASETEN_PLUGIN_PATH", folder.path());
    world.check(
        "text-fields-org-team-show",
        &world.run(&["org", "team", "show", "--name", "Research"]),
    );
    world.check(
        "help-org-team-extended",
        &world.run(&["org", "team", "--help"]),
    );
}

impl World {
    /// Runs `args` with stdin and stderr at a terminal (a person answering prompts), `typed` on
    /// stdin.
    fn run_at_terminal(&self, args: &[&str], typed: &str) -> Shown {
        let (terminal, captured) = Terminal::memory(typed.as_bytes());
        self.run_on((terminal.pretend(true, false, true), captured), args)
    }

    /// Compares `shown`, which must have ended with `code`, with the snapshot
    /// `error-<code>-<name>`.
    #[track_caller]
    fn check_error(&self, code: u8, name: &str, shown: &Shown) {
        assert_eq!(shown.code, code, "{shown}");
        self.check(&format!("error-{code}-{name}"), shown);
    }
}

/// The README's exit code 1: any other failure, and its decisions that end that way.
#[test]
fn errors_of_exit_code_1() {
    let world = World::new();
    world.check_error(
        1,
        "jq-runtime-error",
        &world.run(&["org", "api-key", "list", "--jq", r#"error("boom")"#]),
    );
    world
        .emulator
        .inject_fault(json!({"path": "/v1/api_keys", "status": 200, "body": "<html>oops</html>"}));
    world.check_error(
        1,
        "unexpected-response",
        &world.run(&["org", "api-key", "list"]),
    );
    world.create_key(&["--type", "personal", "--name", "precious"]);
    world.check_error(
        1,
        "delete-canceled",
        &world.run_at_terminal(&["org", "api-key", "delete", "--name", "precious"], "n\n"),
    );
    world.create_key(&["--type", "personal", "--name", "twin"]);
    world.create_key(&["--type", "personal", "--name", "twin"]);
    world.check_error(
        1,
        "several-keys-of-that-name",
        &world.run(&["org", "api-key", "delete", "--name", "twin", "--yes"]),
    );
    world.emulator.inject_fault(json!({
        "method": "POST", "path": "/v1/api_keys", "status": 200,
        "body": "{\"prefix\":\"abcd1234\",\"api_key\":\"\"}",
    }));
    world.check_error(
        1,
        "create-answered-without-a-key",
        &world.run(&["org", "api-key", "create", "--type", "personal"]),
    );
    world.check_error(
        1,
        "jq-fails-on-a-new-key",
        &world.run(&[
            "org",
            "api-key",
            "create",
            "--type",
            "personal",
            "--jq",
            r#"error("boom")"#,
        ]),
    );
}

/// The README's exit code 2: usage errors, caught before anything is sent.
#[test]
fn errors_of_exit_code_2() {
    let world = World::new();
    let long_key = "abcd1234.supersecretsecretsecret";
    let cases: &[(&str, &[&str])] = &[
        ("no-command", &[]),
        ("group-without-subcommand", &["org"]),
        ("unknown-command", &["org", "api-key", "lst"]),
        ("unknown-flag", &["org", "api-key", "list", "--nme", "x"]),
        (
            "bad-value",
            &["org", "api-key", "create", "--type", "admin"],
        ),
        ("missing-flag", &["org", "api-key", "create"]),
        (
            "conflicting-flags",
            &["org", "api-key", "delete", "--name", "a", "--prefix", "b"],
        ),
        (
            "bad-jq-expression",
            &["org", "api-key", "list", "--jq", ".["],
        ),
        (
            "bad-output-format",
            &["org", "api-key", "list", "-o", "yaml"],
        ),
        (
            "delete-prefix-is-a-whole-key",
            &["org", "api-key", "delete", "--prefix", long_key],
        ),
        (
            "delete-prefix-is-a-path",
            &["org", "api-key", "delete", "--prefix", ".."],
        ),
        (
            "empty-model-id",
            &[
                "org",
                "api-key",
                "create",
                "--type",
                "workspace-invoke",
                "--model-id",
                "",
            ],
        ),
        ("long-stray-value", &["org", "api-key", "list", long_key]),
        (
            "profile-name-looks-like-a-key",
            &["auth", "login", "--with-api-key", "--profile", long_key],
        ),
    ];
    for (name, args) in cases {
        world.check_error(2, name, &world.run(args));
    }
    world.check_error(
        2,
        "no-key-on-stdin",
        &world.run(&["auth", "login", "--with-api-key", "--profile", "work"]),
    );
    assert!(world.emulator.keys().len() == 1, "nothing was created");
}

/// The README's exit code 3: HTTP 401/403, no credentials, an unknown profile.
#[test]
fn errors_of_exit_code_3() {
    let mut world = World::new();
    let weak = world.create_key(&["--type", "workspace-invoke"]);
    world.set("BASETEN_API_KEY", weak.as_str());
    world.check_error(
        3,
        "key-without-rights",
        &world.run(&["org", "api-key", "list"]),
    );
    world.set(
        "BASETEN_API_KEY",
        "abcdefgh.wrongwrongwrongwrongwrongwrongwrong",
    );
    world.check_error(3, "rejected-key", &world.run(&["org", "api-key", "list"]));
    world.check_error(
        3,
        "login-with-a-rejected-key",
        &world.run_with_stdin(
            &[
                "auth",
                "login",
                "--with-api-key",
                "--profile",
                "work",
                "--remote-url",
                &world.emulator.url(),
            ],
            "abcdefgh.wrongwrongwrongwrongwrongwrongwrong\n",
        ),
    );
    world.unset("BASETEN_API_KEY");
    world.check_error(3, "not-logged-in", &world.run(&["org", "api-key", "list"]));
    world.check_error(
        3,
        "unknown-profile",
        &world.run(&["org", "api-key", "list", "--profile", "nosuch"]),
    );
}

/// The README's exit codes 4 to 7: not found, other 4xx, 5xx, no answer.
#[test]
fn errors_of_http_and_network() {
    let mut world = World::new();
    world.check_error(
        4,
        "no-key-with-that-prefix",
        &world.run(&["org", "api-key", "delete", "--prefix", "zzzzzzzz", "--yes"]),
    );
    world.check_error(
        4,
        "no-key-with-that-name",
        &world.run(&["org", "api-key", "delete", "--name", "nosuch", "--yes"]),
    );
    let huge = "x".repeat(2000);
    world.check_error(
        4,
        "huge-value-cut",
        &world.run(&["org", "api-key", "delete", "--name", &huge, "--yes"]),
    );
    world.emulator.inject_fault(
        json!({"path": "/v1/api_keys", "status": 409, "body": "{\"message\":\"conflict here\"}"}),
    );
    world.check_error(5, "client-error", &world.run(&["org", "api-key", "list"]));
    world.emulator.inject_fault(
        json!({"path": "/v1/api_keys", "status": 500, "body": "{\"detail\":\"db down\"}"}),
    );
    world.check_error(6, "server-error", &world.run(&["org", "api-key", "list"]));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    world.set(
        "BASETEN_MANAGEMENT_API_URL_OVERRIDE",
        format!("http://127.0.0.1:{closed}"),
    );
    world.check_error(7, "no-answer", &world.run(&["org", "api-key", "list"]));
}

/// The README's exit code 8: a plugin that panics.
#[test]
fn errors_of_plugins() {
    let mut world = World::new();
    let library = world.build_dir.join(format!(
        "{}fixture_panicking{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        library.is_file(),
        "`{}` is missing: run `cargo build --workspace` before the snapshot tests",
        library.display()
    );
    let folder = world.home.path().join("extra-plugins");
    std::fs::create_dir_all(&folder).expect("a folder");
    std::fs::copy(
        &library,
        folder.join(crate::plugins::file_name_for("panicking")),
    )
    .expect("copies the fixture");
    world.set("BASETEN_PLUGIN_PATH", folder.as_os_str());
    world.check_error(8, "plugin-panicked", &world.run(&["fixture", "panic"]));
}
