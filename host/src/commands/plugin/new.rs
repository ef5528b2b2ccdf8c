//! `baseten plugin new NAME [--dir DIR]`: writes a plugin project that builds, passes its tests
//! and installs as generated: a `Cargo.toml` depending on the SDK by version, `src/lib.rs` with
//! one command and its `RecordingHost` tests, and a README with the steps from build to index.
//!
//! The project is a Cargo workspace of its own (an empty `[workspace]`), so it builds wherever
//! it is created. A folder that exists and is not empty is refused, never written into; each file
//! is written atomically, and a failure removes what this run created.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec, FlagSpec, SDK_VERSION};

use crate::commands::plugin::{file_name, is_valid_name};
use crate::commands::{BuiltIn, Declare, Request};
use crate::error::CliError;
use crate::files::{self, Links};

const CARGO_TOML: &str = include_str!("new/Cargo.toml.template");
const LIB_RS: &str = include_str!("new/lib.rs.template");
const README: &str = include_str!("new/README.md.template");
const GITIGNORE: &str = include_str!("new/gitignore.template");

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["plugin", "new"],
        "Create a plugin project, ready to build and install",
    )
    .long_about(
        "Create a Rust plugin project: `Cargo.toml` (depending on the baseten plugin SDK \
             by version), `src/lib.rs` with one command, `NAME greet`, and its tests, and a \
             README with the steps to build, test, install and publish it. It builds, passes \
             its tests and installs with `baseten plugin install` as created. NAME is the \
             plugin's name and its command group: lowercase words of letters and digits \
             joined by `-`, not a built-in command. The folder is `baseten-plugin-NAME` in the \
             current folder unless --dir says otherwise; it must not exist or be empty.",
    )
    .arg(
        ArgSpec::new(
            "name",
            "The plugin's name, also the group its commands sit in",
        )
        .value_name("NAME")
        .required(),
    )
    .flag(
        FlagSpec::text(
            "dir",
            "The folder to create the project in; default: `baseten-plugin-NAME`",
        )
        .value_name("DIR"),
    )
    .example(
        "Create the project of plugin `hello` in ./baseten-plugin-hello",
        "baseten plugin new hello",
    )
    .example(
        "Create it in a folder of your choice",
        "baseten plugin new org-audit --dir plugins/org-audit",
    )
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let name = request.args.text("name").unwrap_or_default();
    check_name(name)?;
    let folder = match request.args.text("dir") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(format!("baseten-plugin-{name}")),
    };
    check_folder(&folder)?;
    let project = Project::new(name);
    let mut written = Written::default();
    let result = project.write(&folder, &mut written);
    if let Err(error) = result {
        written.undo();
        return Err(CliError::failure(format!(
            "could not create plugin project `{name}` in `{}`: {error}",
            folder.display()
        )));
    }
    let shown = std::path::absolute(&folder).unwrap_or_else(|_| folder.clone());
    let library = project.library_file();
    Ok(CommandOutput::lines(
        json!({
            "name": name,
            "path": shown.display().to_string(),
            "files": project.files().iter().map(|(path, _)| *path).collect::<Vec<_>>(),
            "library": format!("target/release/{library}"),
        }),
        Vec::new(),
    )
    .notice(format!(
        "Created plugin project `{name}` in {}",
        shown.display()
    ))
    .notice(format!(
        "next: cd {} && cargo test && cargo build --release && baseten plugin install target/release/{library}",
        folder.display()
    )))
}

/// A plugin name is lowercase words joined by `-` (it round-trips through the library's file
/// name) and is the first word of its commands, so not one the host keeps.
fn check_name(name: &str) -> Result<(), CliError> {
    if !is_valid_name(name) {
        return Err(CliError::usage(format!(
            "invalid plugin name `{name}`: use lowercase words of letters and digits joined by `-`"
        ))
        .with_hint("for example `baseten plugin new my-tools`"));
    }
    if crate::commands::is_reserved_word(name) {
        return Err(CliError::usage(format!(
            "invalid plugin name `{name}`: `baseten {name}` is a built-in command"
        ))
        .with_hint("pick another name: a plugin's commands sit under its name"));
    }
    Ok(())
}

/// The folder may be missing (it is created) or an empty folder; anything else is refused.
fn check_folder(folder: &Path) -> Result<(), CliError> {
    let refuse = |why: &str| {
        CliError::failure(format!(
            "cannot create a plugin project in `{}`: {why}",
            folder.display()
        ))
        .with_hint("pass --dir with a folder that does not exist yet or is empty")
    };
    match fs::symlink_metadata(folder) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(refuse(&error.to_string())),
        Ok(metadata) if !metadata.is_dir() => Err(refuse("it exists and is not a folder")),
        Ok(_) => match fs::read_dir(folder).map(|mut entries| entries.next().is_none()) {
            Ok(true) => Ok(()),
            Ok(false) => Err(refuse("it exists and is not empty")),
            Err(error) => Err(refuse(&error.to_string())),
        },
    }
}

/// The files of a plugin project for one name.
struct Project {
    name: String,
}

impl Project {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
        }
    }

    /// The library's name in Cargo: `baseten_plugin_<name with _>`.
    fn library(&self) -> String {
        format!("baseten_plugin_{}", self.name.replace('-', "_"))
    }

    /// The file `cargo build` makes of the library on this platform.
    fn library_file(&self) -> String {
        file_name(&self.name)
    }

    /// The SDK requirement: this SDK's major and minor, which Cargo reads as "compatible with".
    fn sdk_requirement() -> String {
        super::major_minor(SDK_VERSION)
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("@NAME@", &self.name)
            .replace("@LIBRARY_FILE@", &self.library_file())
            .replace("@LIBRARY@", &self.library())
            .replace("@SDK@", &Self::sdk_requirement())
    }

    /// Each file's path in the project and its text.
    fn files(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Cargo.toml", self.fill(CARGO_TOML)),
            ("src/lib.rs", self.fill(LIB_RS)),
            ("README.md", self.fill(README)),
            (".gitignore", self.fill(GITIGNORE)),
        ]
    }

    fn write(&self, folder: &Path, written: &mut Written) -> io::Result<()> {
        written.create_folder(folder)?;
        for (path, text) in self.files() {
            let path = folder.join(path);
            if let Some(parent) = path.parent() {
                written.create_folder(parent)?;
            }
            files::write_atomically(&path, text.as_bytes(), 0o644, Links::Replace)?;
            written.files.push(path);
        }
        Ok(())
    }
}

/// What a run created, to remove it again if a later step fails.
#[derive(Default)]
struct Written {
    files: Vec<PathBuf>,
    folders: Vec<PathBuf>,
}

impl Written {
    /// Creates `folder` and the missing folders above it, remembering each one created.
    fn create_folder(&mut self, folder: &Path) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut current = Some(folder);
        while let Some(path) = current.filter(|path| !path.as_os_str().is_empty() && !path.exists())
        {
            missing.push(path.to_path_buf());
            current = path.parent();
        }
        for path in missing.into_iter().rev() {
            fs::create_dir(&path)?;
            self.folders.push(path);
        }
        Ok(())
    }

    /// Removes what was created, newest first; what cannot be removed stays.
    fn undo(self) {
        for file in self.files.iter().rev() {
            let _ = fs::remove_file(file);
        }
        for folder in self.folders.iter().rev() {
            let _ = fs::remove_dir(folder);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        for (path, text) in Project::new("org-audit").files() {
            for placeholder in ["@NAME@", "@LIBRARY@", "@LIBRARY_FILE@", "@SDK@"] {
                assert!(!text.contains(placeholder), "{path}: {text}");
            }
        }
        let files = Project::new("org-audit").files();
        assert!(files[0].1.contains("name = \"baseten_plugin_org_audit\""));
        assert!(files[0].1.contains("name = \"baseten-plugin-org-audit\""));
        assert!(files[1].1.contains("const NAME: &str = \"org-audit\";"));
    }

    #[test]
    fn the_sdk_is_required_by_major_and_minor() {
        let requirement = Project::sdk_requirement();
        assert!(
            SDK_VERSION.starts_with(&format!("{requirement}.")),
            "{requirement}"
        );
        assert_eq!(requirement.matches('.').count(), 1, "{requirement}");
    }

    #[test]
    fn names_are_plugin_names_and_not_built_ins() {
        assert!(check_name("org-audit").is_ok());
        for bad in [
            "", "Hello", "a_b", "-a", "a--b", "../x", "plugin", "auth", "help",
        ] {
            let error = check_name(bad).expect_err(bad);
            assert_eq!(error.kind, baseten_plugin_api::ErrorKind::Usage, "{bad}");
        }
    }

    #[test]
    fn a_failed_run_removes_only_what_it_created() {
        let scratch = tempfile::tempdir().expect("a temp folder");
        let mut written = Written::default();
        let folder = scratch.path().join("a/b");
        written.create_folder(&folder).expect("creates");
        fs::write(folder.join("x"), b"x").expect("writes");
        written.files.push(folder.join("x"));
        written.undo();
        assert!(!scratch.path().join("a").exists());
        assert!(scratch.path().exists());
    }
}
