//! `baseten plugin install PATH [--force]`: checks that a library is a plugin this baseten can
//! use, then copies it atomically into the user plugin folder.
//!
//! Nothing is copied unless the library loads, its manifest reads, its plugin API version is
//! compatible and its commands are its own (or `--force`). The copy is written beside the target
//! and renamed over it, so a running `baseten` never maps a half-written file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use baseten_plugin_api::protocol::Manifest;
use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec, ErrorKind, FlagSpec};

use crate::commands::plugin::{
    command_lines, file_name, identity, is_valid_name, overlaps, user_folder,
};
use crate::commands::{BuiltIn, Declare, Request};
use crate::context::Context;
use crate::error::CliError;
use crate::files::{self, Links};
use crate::plugins::probe::{self, Examined};
use crate::plugins::{
    PluginKind, PluginRecord, PluginStatus, executable, executable_file_name_for, search_folders,
};

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["plugin", "install"],
        "Install a plugin library or executable into the user plugin folder",
    )
    .long_about(
        "Install a plugin library (a `libbaseten_plugin_NAME.so`, `.dylib` or `.dll` built \
         with the baseten plugin SDK) or an executable plugin (a program speaking the \
         plugin protocol, installed as `baseten-plugin-NAME`) into the user \
         plugin folder. The plugin is loaded or asked for its manifest and checked first: it \
         must be a baseten plugin built for a compatible plugin API. A plugin of the same \
         name in the user folder is replaced.",
    )
    .arg(
        ArgSpec::new("path", "The plugin library to install")
            .value_name("PATH")
            .path()
            .required(),
    )
    .flag(FlagSpec::switch(
        "force",
        "Install even if another plugin already provides one of its commands",
    ))
    .example(
        "Install a plugin you built",
        "baseten plugin install target/release/libbaseten_plugin_hello.so",
    )
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let Some(source) = request.path("path") else {
        return Err(CliError::usage("no plugin library given"));
    };
    let force = request.args.switch("force");
    request.logger.info(&format!(
        "* loading `{}` to check it is a compatible plugin",
        source.display()
    ));
    let kind = kind_of_source(source);
    let (source, manifest) = check_library(request.context, source, kind)?;
    let source = source.as_path();
    let folder = user_folder(request.context).ok_or_else(|| {
        CliError::failure("cannot tell where the user plugin folder is: HOME is not set")
            .with_hint("set HOME or XDG_DATA_HOME")
    })?;
    let destination = folder.join(match kind {
        PluginKind::Library => file_name(&manifest.name),
        PluginKind::Executable => executable_file_name_for(&manifest.name),
    });
    if let Some(word) = manifest
        .commands
        .iter()
        .map(|command| command.path[0].as_str())
        .find(|word| crate::commands::is_reserved_word(word))
    {
        return Err(CliError::new(
            ErrorKind::Plugin,
            format!(
                "cannot install plugin `{}`: its commands are under `{word}`, a built-in command of baseten",
                manifest.name
            ),
        )
        .with_hint("rename the plugin's commands"));
    }

    let destination_identity = identity(&destination);
    let previous = request
        .registry
        .records
        .iter()
        .find(|record| identity(&record.path) == destination_identity);
    let clashes = clashes(request, &manifest, &destination_identity);
    if let Some(clash) = clashes.first()
        && !force
    {
        return Err(CliError::failure(format!(
            "cannot install plugin `{}`: {}",
            manifest.name,
            clash.describe(&manifest.name)
        ))
        .with_hint(if clash.same_plugin(&manifest.name) {
            "pass --force to install this copy anyway".to_owned()
        } else {
            format!(
                "pass --force to install it anyway, or remove plugin `{}` first",
                clash.owner.name()
            )
        }));
    }

    if identity(source) != destination_identity {
        prepare_folder(&folder)?;
        copy_atomically(source, &destination).map_err(|error| {
            CliError::failure(format!(
                "could not install plugin `{}` to `{}`: {error}",
                manifest.name,
                destination.display()
            ))
        })?;
    }

    // The installed copy of this plugin as the other kind (a library replaced by an executable
    // or the other way round) is replaced too: left beside the new file, whichever name the
    // folder listing gives first would run.
    let folder_identity = identity(&folder);
    let replaced_kind = clashes
        .iter()
        .map(|clash| clash.owner)
        .find(|owner| {
            owner.name() == manifest.name
                && owner.path.parent().map(identity).as_ref() == Some(&folder_identity)
                && identity(&owner.path) != destination_identity
        })
        .filter(|owner| std::fs::remove_file(&owner.path).is_ok());
    let clashes: Vec<_> = clashes
        .into_iter()
        .filter(|clash| replaced_kind.is_none_or(|owner| !std::ptr::eq(owner, clash.owner)))
        .collect();
    let replaced = previous
        .or(replaced_kind)
        .and_then(|record| record.manifest.as_ref())
        .map(|previous| previous.version.clone());
    let mut output = CommandOutput::lines(
        json!({
            "name": manifest.name,
            "kind": kind.as_str(),
            "version": manifest.version,
            "plugin_api_version": manifest.plugin_api_version,
            "commands": command_lines(Some(&manifest)),
            "path": destination.display().to_string(),
            "replaced_version": replaced,
        }),
        Vec::new(),
    );
    output = output.notice(match &replaced {
        Some(version) => format!(
            "Installed plugin `{}` {} (replacing {version}) to {}",
            manifest.name,
            manifest.version,
            destination.display()
        ),
        None => format!(
            "Installed plugin `{}` {} to {}",
            manifest.name,
            manifest.version,
            destination.display()
        ),
    });
    let order = search_folders(request.context);
    let position = |path: &Path| {
        let parent = path.parent().map(identity);
        order
            .iter()
            .position(|folder| Some(identity(folder)) == parent)
    };
    for clash in &clashes {
        let found_first = position(&clash.owner.path) < position(&destination);
        output = output.notice(clash.warning(&manifest.name, found_first));
    }
    Ok(output)
}

/// Loads the library in a child process (a library that crashes while loading cannot take
/// `plugin install` down) and reads and checks its manifest, as discovery would. `source` is
/// what the user typed, and is used for messages; the file checked is the one it names from the
/// current folder, never one the dynamic loader would search for.
fn check_library(
    context: &Context,
    source: &Path,
    kind: PluginKind,
) -> Result<(PathBuf, Manifest), CliError> {
    let refuse = |kind, why: String| {
        CliError::new(
            kind,
            format!("cannot install `{}`: {why}", source.display()),
        )
    };
    if source.is_dir() {
        return Err(refuse(ErrorKind::Usage, "it is a folder".to_owned())
            .with_hint("pass the path of a built plugin library file"));
    }
    if !source.is_file() {
        return Err(refuse(ErrorKind::Failure, "no such file".to_owned())
            .with_hint("pass the path of a built plugin library"));
    }
    let absolute = std::path::absolute(source).map_err(|error| {
        refuse(
            ErrorKind::Failure,
            format!("cannot resolve the path: {error}"),
        )
    })?;
    let answer = match kind {
        PluginKind::Library => probe::read_one(context.current_exe(), &absolute),
        PluginKind::Executable => executable::read_one(context, &absolute),
    };
    let with_hint = |error: CliError, hint: Option<String>| match hint {
        Some(hint) => error.with_hint(hint),
        None => error,
    };
    let manifest = match answer.examined {
        Examined::Manifest(manifest) => manifest,
        Examined::Failed(why) => {
            return Err(with_hint(refuse(ErrorKind::Plugin, why), answer.hint));
        }
        Examined::Incompatible {
            manifest: None,
            reason,
        } => {
            return Err(with_hint(refuse(ErrorKind::Plugin, reason), answer.hint));
        }
        Examined::Incompatible {
            manifest: Some(_),
            reason,
        } => {
            let (message, hint) = match reason.split_once("; ") {
                Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
                None => (reason, None),
            };
            return Err(with_hint(refuse(ErrorKind::Plugin, message), hint));
        }
    };
    if !is_valid_name(&manifest.name) {
        return Err(refuse(
            ErrorKind::Plugin,
            format!(
                "its name `{}` is not lowercase words joined by `-`",
                manifest.name
            ),
        ));
    }
    Ok((absolute, manifest))
}

/// What the file to install is: an executable plugin when it is a program (an execute bit on
/// Unix, `.exe` on Windows) not named like a library (`.so`, `.dylib`, `.dll`); a library
/// otherwise, whose checks then say what is wrong with it.
pub fn kind_of_source(source: &Path) -> PluginKind {
    let name = source
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let library_name = [".so", ".dylib", ".dll"]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    #[cfg(unix)]
    let program = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(source)
            .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
    };
    #[cfg(not(unix))]
    let program = name.ends_with(".exe");
    if program && !library_name {
        PluginKind::Executable
    } else {
        PluginKind::Library
    }
}

/// A command of the new plugin that another plugin already provides.
struct Clash<'a> {
    command: String,
    owner: &'a PluginRecord,
}

impl Clash<'_> {
    /// Whether the other plugin is another copy of this one (same name).
    fn same_plugin(&self, name: &str) -> bool {
        self.owner.name() == name
    }

    fn describe(&self, name: &str) -> String {
        if self.same_plugin(name) {
            format!("it is already found at `{}`", self.owner.path.display())
        } else {
            format!(
                "`baseten {}` is already provided by plugin `{}` ({})",
                self.command,
                self.owner.name(),
                self.owner.path.display()
            )
        }
    }

    /// What to say once installed with `--force`, knowing which copy the search finds first.
    fn warning(&self, name: &str, found_first: bool) -> String {
        let owner = format!(
            "plugin `{}` ({})",
            self.owner.name(),
            self.owner.path.display()
        );
        match (found_first, self.same_plugin(name)) {
            (true, _) => format!(
                "warning: {owner} is found first and keeps `baseten {}`; the installed copy is shadowed while it is there",
                self.command
            ),
            (false, true) => format!(
                "warning: the installed copy of plugin `{name}` now shadows the one at {}",
                self.owner.path.display()
            ),
            (false, false) => format!(
                "warning: `baseten {}` now runs plugin `{name}` instead of {owner}",
                self.command
            ),
        }
    }
}

/// Every used plugin other than the one being replaced whose commands overlap the new ones, or
/// that has the same name (the earlier one would shadow the other).
fn clashes<'a>(
    request: &'a Request<'_>,
    manifest: &Manifest,
    destination: &Path,
) -> Vec<Clash<'a>> {
    let mut clashes = Vec::new();
    for record in &request.registry.records {
        if record.status != PluginStatus::Ok || identity(&record.path) == destination {
            continue;
        }
        let Some(existing) = &record.manifest else {
            continue;
        };
        let command = manifest.commands.iter().find_map(|command| {
            existing
                .commands
                .iter()
                .find(|other| overlaps(&command.path, &other.path))
                .map(|_| command.path.join(" "))
        });
        let command = command.or_else(|| {
            (existing.name == manifest.name).then(|| command_lines(Some(manifest)).join(", "))
        });
        if let Some(command) = command {
            clashes.push(Clash {
                command,
                owner: record,
            });
        }
    }
    clashes
}

/// Creates the user plugin folder if needed, closed to group and others whatever the umask, and
/// refuses one that others could write to: discovery would refuse the plugin in it.
fn prepare_folder(folder: &Path) -> Result<(), CliError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o755);
    builder.create(folder).map_err(|error| {
        CliError::failure(format!(
            "could not create the plugin folder `{}`: {error}",
            folder.display()
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(folder)
            .map(|metadata| metadata.permissions().mode())
            .unwrap_or(0);
        if mode & 0o022 != 0 {
            return Err(CliError::failure(format!(
                "the plugin folder `{}` is writable by group or others; baseten would refuse plugins in it",
                folder.display()
            ))
            .with_hint(format!("run `chmod go-w {}`", folder.display())));
        }
    }
    Ok(())
}

/// Copies `source` over `destination` atomically, mode 0755 whatever the source's; a link at
/// `destination` is replaced, never written through.
fn copy_atomically(source: &Path, destination: &Path) -> io::Result<()> {
    files::copy_atomically(source, destination, 0o755, Links::Replace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_replaces_the_destination_and_leaves_no_temporary_file() {
        let folder = tempfile::tempdir().expect("a temp folder");
        let source = folder.path().join("source.so");
        let destination = folder.path().join("libbaseten_plugin_x.so");
        fs::write(&source, b"new").expect("writes");
        fs::write(&destination, b"old").expect("writes");
        copy_atomically(&source, &destination).expect("copies");
        assert_eq!(fs::read(&destination).expect("reads"), b"new");
        let names: Vec<_> = fs::read_dir(folder.path())
            .expect("lists")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_copy_is_not_writable_by_others_whatever_the_source() {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().expect("a temp folder");
        let source = folder.path().join("source.so");
        fs::write(&source, b"x").expect("writes");
        fs::set_permissions(&source, fs::Permissions::from_mode(0o666)).expect("chmod");
        let destination = folder.path().join("libbaseten_plugin_x.so");
        copy_atomically(&source, &destination).expect("copies");
        let mode = fs::metadata(&destination)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn a_missing_library_is_refused_before_anything_is_copied() {
        let error = check_library(
            &Context::for_tests(&[]),
            Path::new("/nonexistent/libbaseten_plugin_x.so"),
            PluginKind::Library,
        )
        .expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Failure);
        assert!(error.message.contains("no such file"), "{}", error.message);
    }

    #[test]
    fn a_folder_is_a_usage_error() {
        let folder = tempfile::tempdir().expect("a temp folder");
        let error = check_library(&Context::for_tests(&[]), folder.path(), PluginKind::Library)
            .expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(
            error.message.contains("it is a folder"),
            "{}",
            error.message
        );
    }
}
