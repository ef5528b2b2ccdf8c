//! Helpers for the end-to-end tests: run the built `baseten` binary, with the plugins built beside
//! it, against a `baseten-emulator` on 127.0.0.1, in a clean environment of its own.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use baseten_emulator::{BackgroundEmulator, Emulator};
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
        let home = tempfile::Builder::new()
            .prefix("baseten-e2e-")
            .tempdir()
            .expect("a temp folder");
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
    if let Some(mut input) = child.stdin.take() {
        // The command may exit before reading; a closed pipe is fine.
        let _ = input.write_all(stdin.as_bytes());
    }
    let output = child.wait_with_output().expect("the command finishes");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Starts an emulator with default settings.
pub fn emulator() -> BackgroundEmulator {
    Emulator::builder()
        .start_in_background()
        .expect("the emulator starts")
}
