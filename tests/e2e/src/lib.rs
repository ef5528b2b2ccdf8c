//! Helpers for the end-to-end tests: run the built `baseten` binary, with the plugins built beside
//! it, against a `baseten-emulator` on 127.0.0.1, in a clean environment of its own.

// The workspace's `clippy.toml` keeps the host's stdio and environment behind its `Terminal`;
// this crate is a test harness of its own that starts processes, with no such seam to keep.
#![allow(
    clippy::disallowed_methods,
    reason = "a test harness reads its own environment and writes notes on its own stderr"
)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use baseten_emulator::{BackgroundEmulator, Emulator, EmulatorHandle};
use tempfile::TempDir;

/// The folder cargo put the binaries and plugin libraries in (`target/debug`).
pub fn build_dir() -> PathBuf {
    let test_exe = std::env::current_exe().expect("the test knows its own path");
    // target/debug/deps/<test binary> → target/debug
    let dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .to_path_buf();
    assert!(
        dir.join(binary_name("baseten")).is_file(),
        "`{}` is missing: run `cargo build --workspace` before the end-to-end tests",
        dir.join(binary_name("baseten")).display()
    );
    dir
}

fn binary_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// The built `baseten` executable.
pub fn baseten_bin() -> PathBuf {
    build_dir().join(binary_name("baseten"))
}

/// What one run printed and how it ended.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing everything printed when it differs.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", self.stdout))
    }
}

/// A sandbox: its own home, config and data folders, and an environment with nothing from the
/// machine but `PATH`.
pub struct Sandbox {
    home: TempDir,
    env: Vec<(OsString, OsString)>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// An empty sandbox: no credential, no profile.
    pub fn new() -> Self {
        let home = private_temp_folder("baseten-e2e-");
        let mut sandbox = Self {
            home,
            env: Vec::new(),
        };
        let home_path = sandbox.home.path().to_path_buf();
        sandbox.set("HOME", home_path.as_os_str());
        sandbox.set("XDG_CONFIG_HOME", home_path.join(".config").as_os_str());
        sandbox.set("XDG_DATA_HOME", home_path.join(".local/share").as_os_str());
        sandbox.set("XDG_CACHE_HOME", home_path.join(".cache").as_os_str());
        sandbox.set("BASETEN_NO_KEYRING", "1");
        if let Some(path) = std::env::var_os("PATH") {
            sandbox.set("PATH", path);
        }
        sandbox
    }

    /// A sandbox whose requests go to `emulator` with its bootstrap key in `BASETEN_API_KEY`.
    pub fn for_emulator(emulator: &BackgroundEmulator) -> Self {
        let mut sandbox = Self::new();
        sandbox.set("BASETEN_API_KEY", emulator.api_key());
        sandbox.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", emulator.url());
        sandbox
    }

    /// Sets a variable for every run.
    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        let name = name.into();
        self.env.retain(|(key, _)| *key != name);
        self.env.push((name, value.into()));
        self
    }

    /// Removes a variable.
    pub fn unset(&mut self, name: &str) -> &mut Self {
        self.env.retain(|(key, _)| key != name);
        self
    }

    /// The sandbox's home folder.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The config folder `baseten` uses in this sandbox: `$XDG_CONFIG_HOME/baseten`, where
    /// `auth.json` lives.
    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join(".config").join("baseten")
    }

    /// Runs `baseten` with `args` and no stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    /// Runs `baseten` with `args`, writing `stdin` to it.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut command = self.command(&baseten_bin());
        command.args(args);
        run_command(command, stdin)
    }

    /// A command with the sandbox's environment, for programs other than `baseten` (e.g.
    /// `script`, to give `baseten` a terminal).
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .current_dir(self.home.path());
        command
    }
}

/// Runs `command` to completion with `stdin`.
pub fn run_command(mut command: Command, stdin: &str) -> Run {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the command starts");
    let input = child.stdin.take().map(|mut input| {
        let stdin = stdin.to_owned();
        // The command may exit before reading; a closed pipe is fine.
        std::thread::spawn(move || {
            let _ = input.write_all(stdin.as_bytes());
        })
    });
    let run = finish(child, &format!("{command:?}"));
    if let Some(input) = input {
        let _ = input.join();
    }
    run
}

/// Waits for a started command to end, reading whichever of its stdout and stderr are still
/// piped. One that has not ended within the deadline every run has is killed, and the test fails
/// naming it as `what`.
#[track_caller]
pub fn finish(mut child: Child, what: &str) -> Run {
    let read = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|out| Box::new(out) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|err| Box::new(err) as Box<dyn Read + Send>),
    );
    // A hang fails its test instead of stalling the whole suite.
    let deadline = Instant::now() + RUN_DEADLINE;
    let status = loop {
        match child.try_wait().expect("the command can be waited for") {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the command did not finish within {RUN_DEADLINE:?}: {what}\nstderr:\n{}",
                    stderr.join().unwrap_or_default()
                );
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// How long one run of a command may take before its test fails: far beyond any command's
/// retries and timeouts in these tests, short of stalling the suite.
const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// Whether the programs a test needs are on `PATH`. Where one is missing the test says so on
/// stderr and should return; under CI (`CI` set), where `.ci/run` installs them, a missing
/// program fails the test instead, so that a green run never hides a check that did not run.
#[track_caller]
pub fn programs_installed(programs: &[&str], untested: &str) -> bool {
    let on_path = |program: &&str| {
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|folder| folder.join(program).is_file())
        })
    };
    let missing: Vec<&str> = programs.iter().filter(|p| !on_path(p)).copied().collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{} not installed: {untested} is not tested",
        missing.join(", ")
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "{message}; CI must install it"
    );
    let _ = writeln!(std::io::stderr(), "note: {message}");
    false
}

/// A loopback port that refuses every connection: a socket bound to it that never listens. The
/// port stays taken, so nothing else can start listening on it, until this is dropped.
pub struct ClosedPort {
    _socket: socket2::Socket,
    port: u16,
}

impl ClosedPort {
    pub fn new() -> Self {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
        let address = SocketAddr::from(([127, 0, 0, 1], 0));
        socket.bind(&address.into()).expect("binds a loopback port");
        let port = socket
            .local_addr()
            .ok()
            .and_then(|address| address.as_socket())
            .expect("a bound address")
            .port();
        Self {
            _socket: socket,
            port,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// The port of a [`ClosedPort`] kept for the rest of the test process: it refuses every
/// connection, and nothing else can take it.
pub fn closed_port() -> u16 {
    Box::leak(Box::new(ClosedPort::new())).port()
}

/// A server of the test's own on 127.0.0.1, where the emulator cannot play the part (a proxy, a
/// redirect target, an endless body, a server that never answers). It counts the connections made
/// to it, so that a test can count a command's attempts where no server logs them (timeouts,
/// connections that cannot be set up), and records the head of each request it reads. It stops
/// accepting when dropped.
pub struct LocalServer {
    address: SocketAddr,
    connections: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

/// What a [`LocalServer`] does with each connection, on a thread of its own.
type Handler = Arc<dyn Fn(TcpStream) + Send + Sync>;

impl LocalServer {
    /// Reads the head (request line and headers) of the request on each connection, records it,
    /// and hands it with the connection to `answer`.
    pub fn start(answer: impl Fn(&str, TcpStream) + Send + Sync + 'static) -> Self {
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&heads);
        let handler: Handler = Arc::new(move |mut stream: TcpStream| {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let head = read_head(&mut stream);
            recorded
                .lock()
                .expect("the heads are never left locked")
                .push(head.clone());
            answer(&head, stream);
        });
        Self::launch(handler, heads)
    }

    /// Hands each connection, unread, to `handle`.
    pub fn start_raw(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> Self {
        Self::launch(Arc::new(handle), Arc::new(Mutex::new(Vec::new())))
    }

    /// Takes every connection and never answers: every request on it times out.
    pub fn silent() -> Self {
        Self::start_raw(|mut stream| {
            let _ = std::io::copy(&mut stream, &mut std::io::sink());
        })
    }

    /// Closes every connection at once, unread: a TLS handshake on it cannot complete.
    pub fn closing() -> Self {
        Self::start_raw(drop)
    }

    /// Relays every connection, both ways, to `target`.
    pub fn relay_to(target: SocketAddr) -> Self {
        Self::start_raw(move |client| {
            if let Ok(upstream) = TcpStream::connect(target) {
                relay(client, upstream);
            }
        })
    }

    fn launch(handler: Handler, heads: Arc<Mutex<Vec<String>>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let address = listener.local_addr().expect("an address");
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let connections = Arc::clone(&connections);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok((stream, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    // Counted before the handler runs, so before the client can see anything.
                    connections.fetch_add(1, Ordering::SeqCst);
                    let handler = Arc::clone(&handler);
                    std::thread::spawn(move || {
                        if stream.set_nonblocking(false).is_ok() {
                            handler(stream);
                        }
                    });
                }
            });
        }
        Self {
            address,
            connections,
            heads,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// How many connections were made to it so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The request heads read so far, oldest first ([`LocalServer::start`] only).
    pub fn heads(&self) -> Vec<String> {
        self.heads
            .lock()
            .expect("the heads are never left locked")
            .clone()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads up to the blank line that ends a request head, and not a byte further.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 256 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Copies bytes between `client` and `upstream`, both ways, until both sides have closed.
pub fn relay(client: TcpStream, upstream: TcpStream) {
    let _ = client.set_read_timeout(None);
    let (Ok(mut client_in), Ok(mut upstream_in)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let (mut client_out, mut upstream_out) = (client, upstream);
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut upstream_out);
        let _ = upstream_out.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Write);
    let _ = forward.join();
}

/// Starts an emulator with default settings.
pub fn emulator() -> BackgroundEmulator {
    Emulator::builder()
        .start_in_background()
        .expect("the emulator starts")
}

/// Starts an emulator serving HTTPS under a throwaway CA, whose certificate (PEM) it writes to
/// `ca_file`; its `url()` is `https://127.0.0.1:PORT`.
pub fn tls_emulator(ca_file: &Path) -> BackgroundEmulator {
    Emulator::builder()
        .tls(ca_file)
        .start_in_background()
        .expect("the emulator starts with TLS")
}

/// A plugin library built into [`build_dir`], by plugin name: `org_api_key` →
/// `target/debug/libbaseten_plugin_org_api_key.so`.
pub fn plugin_library(name: &str) -> PathBuf {
    library(&format!("baseten_plugin_{name}"))
}

/// A fixture library of `tests/fixtures`, by library name without `fixture_`: `panicking` →
/// `target/debug/libfixture_panicking.so`. Fixtures are not named as plugins, so the host never
/// finds them on its own; tests copy them under a plugin file name with [`plugin_folder`].
pub fn fixture_library(name: &str) -> PathBuf {
    library(&format!("fixture_{name}"))
}

fn library(stem: &str) -> PathBuf {
    built(&format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// The file `name` of the build folder, which must be there: a library or a program the
/// workspace builds.
pub fn built(name: &str) -> PathBuf {
    let path = build_dir().join(name);
    assert!(
        path.is_file(),
        "`{}` is missing: run `cargo build --workspace` before the end-to-end tests",
        path.display()
    );
    path
}

/// The file name the host looks for for a plugin called `name` (`-` or `_` between words).
pub fn plugin_file_name(name: &str) -> String {
    format!(
        "{}baseten_plugin_{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// A new folder holding a copy of each `(library, plugin name)` under the plugin's file name,
/// closed to group and others, for `BASETEN_PLUGIN_PATH`.
pub fn plugin_folder(plugins: &[(&Path, &str)]) -> TempDir {
    let folder = private_temp_folder("baseten-plugins-");
    for (library, name) in plugins {
        copy_plugin(library, &folder.path().join(plugin_file_name(name)));
    }
    folder
}

/// The file name the host looks for for an executable plugin called `name`:
/// `baseten-plugin-NAME` (`.exe` on Windows).
pub fn executable_plugin_file_name(name: &str) -> String {
    format!("baseten-plugin-{name}{}", std::env::consts::EXE_SUFFIX)
}

/// A new folder holding a copy of each `(program, plugin name)` as an executable plugin
/// (`baseten-plugin-NAME`, mode 0755), closed to group and others, for `BASETEN_PLUGIN_PATH`.
pub fn executable_plugin_folder(programs: &[(&Path, &str)]) -> TempDir {
    let folder = private_temp_folder("baseten-exec-plugins-");
    for (program, name) in programs {
        copy_plugin(
            program,
            &folder.path().join(executable_plugin_file_name(name)),
        );
    }
    folder
}

/// A new temporary folder closed to group and others (0700) whatever the process umask: the host
/// refuses plugins in a folder others can write, so a test's folders must not depend on it.
pub fn private_temp_folder(prefix: &str) -> TempDir {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let folder = builder.tempdir().expect("a temp folder");
    set_mode(folder.path(), 0o700);
    folder
}

/// Creates `folder` and its missing parents, each closed to group and others (0700) whatever the
/// process umask.
pub fn create_private_folder(folder: &Path) {
    let missing: Vec<PathBuf> = folder
        .ancestors()
        .take_while(|ancestor| !ancestor.exists())
        .map(Path::to_path_buf)
        .collect();
    std::fs::create_dir_all(folder)
        .unwrap_or_else(|error| panic!("creates `{}`: {error}", folder.display()));
    for created in missing {
        set_mode(&created, 0o700);
    }
}

/// Copies a plugin library to `to` as a plugin file: readable and executable by all, writable
/// only by its owner (0755), whatever the process umask or the mode of the build's file.
pub fn copy_plugin(library: &Path, to: &Path) {
    std::fs::copy(library, to).unwrap_or_else(|error| {
        panic!(
            "copies `{}` to `{}`: {error}",
            library.display(),
            to.display()
        )
    });
    set_plugin_mode(to);
}

/// Gives a plugin file a test wrote the mode a plugin file has (0755), whatever the umask.
pub fn set_plugin_mode(file: &Path) {
    set_mode(file, 0o755);
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|error| panic!("sets the mode of `{}`: {error}", path.display()));
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

/// The Rust target triple the built `baseten` reports (`plugin search` of an empty index), which
/// plugin index artifacts are matched against.
pub fn host_target() -> String {
    static TARGET: OnceLock<String> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let folder = private_temp_folder("baseten-target-");
            let empty = folder.path().join("index.json");
            std::fs::write(&empty, r#"{"plugins": []}"#).expect("writes an empty index");
            let mut sandbox = Sandbox::new();
            sandbox.set("BASETEN_PLUGIN_INDEX", empty.as_os_str());
            let run = sandbox.run(&["plugin", "search", "-o", "json"]);
            run.assert_code(0);
            run.json()["target"]
                .as_str()
                .expect("search names the target")
                .to_owned()
        })
        .clone()
}

/// The repository's root folder.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The third-party plugin project of `docs/writing-a-plugin.md`, outside the workspace.
pub fn hello_project() -> PathBuf {
    repository_root()
        .join("tests")
        .join("fixtures")
        .join("hello")
}

/// Builds the hello plugin project as its author would (`cargo build`, with its own lock file,
/// offline) into `target/fixtures`, once per test run, and returns the built library.
pub fn hello_plugin() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(build_hello_plugin)
        .clone()
        .unwrap_or_else(|why| panic!("{why}"))
}

fn build_hello_plugin() -> Result<PathBuf, String> {
    cargo_on_hello("build")?;
    let library = fixtures_target_dir()
        .join("debug")
        .join(plugin_file_name("hello"));
    if library.is_file() {
        Ok(library)
    } else {
        Err(format!("cargo built no `{}`", library.display()))
    }
}

/// Where the projects of `tests/fixtures` that are not workspace members build: `target/fixtures`,
/// kept between runs so that rebuilding is quick.
pub fn fixtures_target_dir() -> PathBuf {
    build_dir()
        .parent()
        .expect("the build folder is inside the target folder")
        .join("fixtures")
}

/// Runs `cargo <subcommand>` on the hello plugin project as its author would, offline and with
/// its own lock file; an error holds cargo's output.
pub fn cargo_on_hello(subcommand: &str) -> Result<(), String> {
    cargo_on_project(
        &hello_project(),
        &[subcommand, "--locked"],
        &fixtures_target_dir(),
    )
    .map_err(|why| {
        format!(
            "{why}\n(if the plugin API's version or dependencies changed, update the lock file of \
             tests/fixtures/hello with `cargo update --offline --manifest-path \
             tests/fixtures/hello/Cargo.toml --config '{}'`)",
            sdk_override()
        )
    })
}

/// The Cargo setting that builds a plugin project against the SDK of this repository instead of
/// the published one, as docs/writing-a-plugin.md describes: `patch.crates-io`.
pub fn sdk_override() -> String {
    let path = repository_root().join("plugin-api");
    format!(
        "patch.crates-io.baseten-plugin-api.path={}",
        serde_json::Value::String(path.display().to_string())
    )
}

/// Runs `cargo <args>` in the plugin project at `project` as its author would, but offline,
/// quietly, with the SDK of this repository (`sdk_override`) and its build output in `target`;
/// an error holds cargo's output.
pub fn cargo_on_project(project: &Path, args: &[&str], target: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let output = Command::new(cargo)
        .args(args)
        .args(["--offline", "--quiet", "--config"])
        .arg(sdk_override())
        .arg("--manifest-path")
        .arg(project.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("could not run cargo: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo {}` of `{}` failed:\n{}{}",
            args.join(" "),
            project.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
