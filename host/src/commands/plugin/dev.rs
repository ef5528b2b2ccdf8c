//! `baseten plugin dev [--release] [--manifest-path PATH] [-- COMMAND…]`: a plugin author's
//! loop in one command. Builds the plugin crate with `cargo build`, puts exactly what that build
//! made in a folder of its own (`<target>/<profile>/baseten-dev`), and runs `baseten COMMAND…`
//! with that folder searched first, so the working copy runs, never a stale installed copy of
//! the same plugin (which `-v` then lists as shadowed).
//!
//! The files are copied, not pointed at in the build folder: that folder may hold other plugin
//! files (an old build, the same plugin as a library and as an executable), and a library being
//! rebuilt in place must not change under a running command. Copies are renamed into place.
//!
//! The command after `--` runs in this process, as if typed after `baseten`, with `-v` and
//! `--profile` given before `--` passed on ([`crate::cli::run`] calls [`build`] and runs it).

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::json;

use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec, FlagSpec, Table};

use crate::commands::{BuiltIn, Declare, Request};
use crate::context::Context;
use crate::error::CliError;
use crate::log::Logger;
use crate::plugins::{PluginKind, name_from_file};

/// The command's path.
pub const PATH: [&str; 2] = ["plugin", "dev"];
/// The positional argument that takes the rest of the command line, after `--`.
pub const COMMAND_ARG: &str = "command";
/// The folder, beside the build's own files, that holds the plugins of the last `plugin dev`.
pub const DEV_FOLDER: &str = "baseten-dev";
/// The variable naming the `cargo` to run, as cargo sets it for the programs it starts.
const CARGO: &str = "CARGO";

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        PATH,
        "Build the plugin crate in this folder and run a command with it",
    )
    .long_about(
        "Build the plugin crate in the current folder (or at `--manifest-path`) with `cargo \
         build`, then run the command given after `--` with the plugin just built found first: \
         before any installed copy of the same plugin, which is then not used. Without a \
         command, only build and show which plugin files a command would use. With `-v`, every \
         plugin command says which file ran and of which kind. `cargo` is the one on `PATH`, or \
         the one `CARGO` names.",
    )
    .flag(FlagSpec::switch(
        "release",
        "Build with the release profile (`cargo build --release`).",
    ))
    .flag(
        FlagSpec::text(
            "manifest-path",
            "The `Cargo.toml` of the plugin crate; default: the crate in the current folder.",
        )
        .value_name("PATH"),
    )
    .arg(
        ArgSpec::new(
            COMMAND_ARG,
            "The command to run with the plugin just built, after `--` and without `baseten`.",
        )
        .value_name("COMMAND"),
    )
    // No examples: help's examples are run as written by the tests, and these need a plugin
    // crate and a Rust toolchain; the plugin guide shows the loop.
    .payload("baseten.PluginDevBuild")
    .built_in(run)
}

/// `plugin dev` without a command: builds, and shows what a command would run.
fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let built = build(
        request.context,
        request.logger,
        request.args.switch("release"),
        request.args.text("manifest-path").map(Path::new),
    )?;
    let payload = json!({
        "folder": built.folder.display().to_string(),
        "plugins": built.plugins.iter().map(|plugin| json!({
            "name": plugin.name,
            "kind": plugin.kind.as_str(),
            "path": plugin.path.display().to_string(),
            "built": plugin.built.display().to_string(),
        })).collect::<Vec<_>>(),
    });
    let rows = built
        .plugins
        .iter()
        .map(|plugin| {
            vec![
                plugin.name.clone(),
                plugin.kind.as_str().to_owned(),
                plugin.path.display().to_string(),
            ]
        })
        .collect();
    Ok(CommandOutput::table(
        payload,
        Table {
            columns: ["NAME", "KIND", "PATH"].map(str::to_owned).to_vec(),
            rows,
            empty_message: None,
        },
    ))
}

/// One plugin file a build made, and where `plugin dev` put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPlugin {
    pub name: String,
    pub kind: PluginKind,
    /// Where cargo built it.
    pub built: PathBuf,
    /// Its copy in the dev folder, the file that runs.
    pub path: PathBuf,
}

/// What a build made.
#[derive(Debug)]
pub struct Built {
    /// The folder holding the copies, to search first.
    pub folder: PathBuf,
    pub plugins: Vec<DevPlugin>,
}

/// Runs `cargo build` for the plugin crate and copies the plugin files it made into the dev
/// folder. Cargo's own messages go to stderr as they come.
pub fn build(
    context: &Context,
    logger: &Logger,
    release: bool,
    manifest_path: Option<&Path>,
) -> Result<Built, CliError> {
    let cargo = context
        .var_os(CARGO)
        .unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command.args(["build", "--message-format=json-render-diagnostics"]);
    if release {
        command.arg("--release");
    }
    if let Some(manifest_path) = manifest_path {
        command.arg("--manifest-path").arg(manifest_path);
    }
    logger.info(&format!(
        "* plugin dev: {} {}",
        Path::new(&cargo).display(),
        command
            .get_args()
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    command
        .env_clear()
        .envs(context.vars().iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|error| {
        CliError::failure(format!(
            "could not run `{}`: {error}",
            Path::new(&cargo).display()
        ))
        .with_hint("install Rust with rustup, or set CARGO to the path of `cargo`")
    })?;
    let stderr = child.stderr.take();
    let forward = context.terminal().shared_stderr();
    let forwarding = std::thread::spawn(move || {
        let Some(stderr) = stderr else { return };
        for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            let mut out = forward
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = out.write_all(&line);
            let _ = out.write_all(b"\n");
        }
    });
    let mut artifacts = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            artifacts.extend(plugin_files_in(&line));
        }
    }
    let status = child
        .wait()
        .map_err(|error| CliError::failure(format!("could not run `cargo build`: {error}")))?;
    let _ = forwarding.join();
    if !status.success() {
        return Err(
            CliError::failure("could not build the plugin: `cargo build` failed")
                .with_hint("cargo's messages above say why"),
        );
    }
    let chosen = choose(artifacts);
    let Some(first) = chosen.first() else {
        return Err(CliError::failure("`cargo build` built no plugin").with_hint(
            "a plugin library is a `cdylib` named `baseten_plugin_<name>`, an executable plugin \
             a binary named `baseten-plugin-<name>`",
        ));
    };
    let folder = first
        .2
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(DEV_FOLDER);
    let plugins = place(&folder, chosen)?;
    for plugin in &plugins {
        logger.info(&format!(
            "* plugin dev: built plugin `{}` ({}) {}, runs from {}",
            plugin.name,
            plugin.kind.as_str(),
            plugin.built.display(),
            plugin.path.display()
        ));
    }
    Ok(Built { folder, plugins })
}

/// One line of `cargo build --message-format=json`, as far as it matters here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
    #[serde(default)]
    executable: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Target {
    #[serde(default)]
    kind: Vec<String>,
}

/// The plugin files a line of cargo's messages announces: a `cdylib` named like a plugin
/// library, a binary named like an executable plugin.
fn plugin_files_in(line: &str) -> Vec<(String, PluginKind, PathBuf)> {
    let Ok(message) = serde_json::from_str::<Message>(line) else {
        return Vec::new();
    };
    if message.reason != "compiler-artifact" {
        return Vec::new();
    }
    let kinds = message.target.map(|target| target.kind).unwrap_or_default();
    let mut files = Vec::new();
    if kinds.iter().any(|kind| kind == "cdylib") {
        files.extend(message.filenames.into_iter().filter_map(|file| {
            let name = name_from_file(&file)?;
            (crate::plugins::kind_of(&file) == PluginKind::Library).then_some((
                name,
                PluginKind::Library,
                file,
            ))
        }));
    }
    if kinds.iter().any(|kind| kind == "bin")
        && let Some(file) = message.executable
        && let Some(name) = name_from_file(&file)
        && crate::plugins::kind_of(&file) == PluginKind::Executable
    {
        files.push((name, PluginKind::Executable, file));
    }
    files
}

/// One file per plugin: its library when the crate builds both kinds (the guide's advice: use
/// one of them), in the order cargo built them.
fn choose(artifacts: Vec<(String, PluginKind, PathBuf)>) -> Vec<(String, PluginKind, PathBuf)> {
    let mut chosen: Vec<(String, PluginKind, PathBuf)> = Vec::new();
    for artifact in artifacts {
        match chosen.iter_mut().find(|(name, _, _)| *name == artifact.0) {
            Some(existing) if existing.1 == PluginKind::Executable => *existing = artifact,
            Some(_) => {}
            None => chosen.push(artifact),
        }
    }
    chosen
}

/// Makes `folder` hold exactly `chosen`, each copied in and renamed into place.
fn place(
    folder: &Path,
    chosen: Vec<(String, PluginKind, PathBuf)>,
) -> Result<Vec<DevPlugin>, CliError> {
    let failed = |what: &str, path: &Path, error: std::io::Error| {
        CliError::failure(format!("could not {what} `{}`: {error}", path.display()))
    };
    create_private_folder(folder).map_err(|error| failed("create", folder, error))?;
    let keep: Vec<std::ffi::OsString> = chosen
        .iter()
        .filter_map(|(_, _, file)| file.file_name().map(ToOwned::to_owned))
        .collect();
    // Plugins of an earlier build that this one did not make would run too: they go.
    for entry in fs::read_dir(folder)
        .map_err(|error| failed("read", folder, error))?
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if name_from_file(&path).is_some() && !keep.contains(&entry.file_name()) {
            fs::remove_file(&path).map_err(|error| failed("remove", &path, error))?;
        }
    }
    let mut plugins = Vec::with_capacity(chosen.len());
    for (name, kind, built) in chosen {
        let Some(file_name) = built.file_name() else {
            continue;
        };
        let path = folder.join(file_name);
        let partial = folder.join(format!(".{}.partial", file_name.to_string_lossy()));
        fs::copy(&built, &partial).map_err(|error| failed("copy", &built, error))?;
        set_plugin_mode(&partial).map_err(|error| failed("set the mode of", &partial, error))?;
        fs::rename(&partial, &path).map_err(|error| failed("replace", &path, error))?;
        plugins.push(DevPlugin {
            name,
            kind,
            built,
            path,
        });
    }
    Ok(plugins)
}

/// The host refuses plugins in a folder others may write to: the dev folder is the user's only.
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    fs::create_dir_all(folder)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(folder, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A plugin file is readable and executable by all, writable only by its owner.
fn set_plugin_mode(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(file, fs::Permissions::from_mode(0o755))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// The command line that runs `command` (the words after `--`) as `baseten` would, passing on
/// `-v` (`verbosity` times) and `--profile`.
pub fn command_line(
    verbosity: u8,
    profile: Option<&str>,
    command: impl IntoIterator<Item = OsString>,
) -> Vec<OsString> {
    let mut args = vec![OsString::from("baseten")];
    args.extend((0..verbosity).map(|_| OsString::from("-v")));
    if let Some(profile) = profile {
        args.push(OsString::from("--profile"));
        args.push(OsString::from(profile));
    }
    args.extend(command);
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(kinds: &[&str], filenames: &[&str], executable: Option<&str>) -> String {
        json!({
            "reason": "compiler-artifact",
            "target": {"kind": kinds, "name": "x"},
            "filenames": filenames,
            "executable": executable,
        })
        .to_string()
    }

    #[test]
    fn only_plugin_files_are_taken_from_cargos_messages() {
        let library = crate::plugins::file_name_for("hello");
        let line = artifact(
            &["cdylib", "rlib"],
            &[
                &format!("/t/debug/{library}"),
                "/t/debug/libbaseten_plugin_hello.rlib",
            ],
            None,
        );
        assert_eq!(
            plugin_files_in(&line),
            [(
                "hello".to_owned(),
                PluginKind::Library,
                PathBuf::from(format!("/t/debug/{library}"))
            )]
        );
        let executable = crate::plugins::executable_file_name_for("hello");
        let line = artifact(&["bin"], &[], Some(&format!("/t/debug/{executable}")));
        assert_eq!(plugin_files_in(&line)[0].1, PluginKind::Executable);
        // A dependency, a test program, a binary not named as a plugin: none is a plugin.
        assert!(plugin_files_in(&artifact(&["lib"], &["/t/debug/libserde.rlib"], None)).is_empty());
        assert!(plugin_files_in(&artifact(&["bin"], &[], Some("/t/debug/tool"))).is_empty());
        assert!(plugin_files_in(r#"{"reason":"build-finished","success":true}"#).is_empty());
        assert!(plugin_files_in("not json").is_empty());
    }

    #[test]
    fn a_library_wins_over_an_executable_of_the_same_plugin() {
        let chosen = choose(vec![
            ("a".to_owned(), PluginKind::Executable, PathBuf::from("x")),
            ("b".to_owned(), PluginKind::Executable, PathBuf::from("y")),
            ("a".to_owned(), PluginKind::Library, PathBuf::from("z")),
        ]);
        let kinds: Vec<_> = chosen
            .iter()
            .map(|(name, kind, _)| (name.as_str(), *kind))
            .collect();
        assert_eq!(
            kinds,
            [("a", PluginKind::Library), ("b", PluginKind::Executable)]
        );
    }

    #[test]
    fn the_command_runs_with_the_verbosity_and_profile_given_before_it() {
        let args = command_line(2, Some("staging"), ["hello", "greet"].map(OsString::from));
        assert_eq!(
            args,
            [
                "baseten",
                "-v",
                "-v",
                "--profile",
                "staging",
                "hello",
                "greet"
            ]
            .map(OsString::from)
        );
    }
}
