//! Where plugins are looked for, and which files in those folders are plugins.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use baseten_plugin_api::pipe;

use super::PluginKind;
use crate::context::Context;
use crate::env_vars;

/// The search folders, in order: `BASETEN_PLUGIN_PATH`, the user folder, then the folders
/// bundled with the executable.
pub fn search_folders(context: &Context) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    if let Some(extra) = context.var_os(env_vars::PLUGIN_PATH) {
        folders.extend(std::env::split_paths(&extra).filter(|path| !path.as_os_str().is_empty()));
    }
    folders.extend(user_folder(context));
    folders.extend(bundled_folders(context));
    folders
}

/// The folders of the plugins bundled with the executable, searched last: beside it
/// (`plugins/`), `../lib/baseten/plugins`, and its own folder.
pub fn bundled_folders(context: &Context) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    if let Some(exe_dir) = context
        .current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        folders.push(exe_dir.join("plugins"));
        if let Some(prefix) = exe_dir.parent() {
            folders.push(prefix.join("lib").join("baseten").join("plugins"));
        }
        folders.push(exe_dir);
    }
    folders
}

/// The user's plugin folder, where `plugin install` puts plugins: `$XDG_DATA_HOME/baseten/plugins`,
/// else `~/.local/share/baseten/plugins`.
pub fn user_folder(context: &Context) -> Option<PathBuf> {
    let data = match context.var_os(env_vars::XDG_DATA_HOME) {
        Some(data) => PathBuf::from(data),
        None => PathBuf::from(context.var_os(env_vars::HOME)?)
            .join(".local")
            .join("share"),
    };
    Some(data.join("baseten").join("plugins"))
}

/// The file name a plugin called `name` has on this platform: `org-api-key` →
/// `libbaseten_plugin_org_api_key.so`. The inverse of [`name_from_file`].
pub fn file_name_for(name: &str) -> String {
    format!(
        "{}baseten_plugin_{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// A plugin file found in a search folder, with what one `stat` said about it.
pub struct PluginFile {
    pub path: PathBuf,
    /// The file's metadata, symbolic links followed.
    pub metadata: fs::Metadata,
    /// Why the file, its real folder or the folder it was found in cannot be trusted, if so.
    pub untrusted: Option<String>,
}

/// An entry of a search folder that looks like a plugin but is not used, or a search folder
/// that could not be read, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// What the search folders hold.
#[derive(Default)]
pub struct Scan {
    pub files: Vec<PluginFile>,
    pub skipped: Vec<Skipped>,
}

/// The plugin files in `folders`, in search order, each real file once, and every entry named
/// like a plugin that is not one. One `stat` per file and per folder when nothing is a symbolic
/// link: this runs on every start.
pub fn plugin_files(folders: &[PathBuf]) -> Scan {
    let mut seen = HashSet::new();
    let mut scan = Scan::default();
    for folder in folders {
        let entries = match fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => {
                scan.skipped.push(Skipped {
                    path: folder.clone(),
                    reason: format!("the plugin folder cannot be read: {error}"),
                });
                continue;
            }
        };
        let mut found: Vec<fs::DirEntry> = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if name_from_file(&path).is_some() {
                found.push(entry);
            } else if looks_like_plugin_file(&path) {
                scan.skipped.push(Skipped {
                    reason: if kind_of_name(&path) == PluginKind::Executable {
                        "not a valid plugin file name: after `baseten-plugin-`, only lowercase \
                         letters, digits and `-`"
                    } else {
                        "not a valid plugin file name: after `baseten_plugin_`, only \
                         lowercase letters, digits and `_`"
                    }
                    .to_owned(),
                    path,
                });
            }
        }
        if found.is_empty() {
            continue;
        }
        // By file name: within one folder the order of the paths, but compared as bytes, not
        // component by component (and each name taken once, not twice per comparison).
        found.sort_by_cached_key(fs::DirEntry::file_name);
        let folder_problem = fs::metadata(folder)
            .ok()
            .and_then(|metadata| untrusted("its folder", folder, &metadata));
        for entry in found {
            let path = entry.path();
            let is_link = entry
                .file_type()
                .map(|kind| kind.is_symlink())
                .unwrap_or(false);
            let metadata = match fs::metadata(&path) {
                Ok(metadata) if metadata.is_file() => metadata,
                Ok(metadata) => {
                    scan.skipped.push(Skipped {
                        reason: if metadata.is_dir() {
                            "a folder, not a plugin library".to_owned()
                        } else {
                            "not a regular file".to_owned()
                        },
                        path,
                    });
                    continue;
                }
                Err(error) => {
                    scan.skipped.push(Skipped {
                        reason: unreadable_entry(&path, is_link, &error),
                        path,
                    });
                    continue;
                }
            };
            if kind_of(&path) == PluginKind::Executable && !is_executable(&metadata) {
                scan.skipped.push(Skipped {
                    reason: "named like an executable plugin, but not executable".to_owned(),
                    path,
                });
                continue;
            }
            if !seen.insert(file_identity(&path, &metadata)) {
                continue;
            }
            let untrusted = untrusted("", &path, &metadata)
                .or_else(|| is_link.then(|| untrusted_target(&path)).flatten())
                .or_else(|| folder_problem.clone());
            scan.files.push(PluginFile {
                path,
                metadata,
                untrusted,
            });
        }
    }
    scan
}

/// Whether a name that is not a valid plugin file name was meant as an executable's.
fn kind_of_name(path: &Path) -> PluginKind {
    let executable = path
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with(pipe::EXECUTABLE_PREFIX));
    if executable {
        PluginKind::Executable
    } else {
        PluginKind::Library
    }
}

/// Why an entry that looks like a plugin cannot even be looked at.
fn unreadable_entry(path: &Path, is_link: bool, error: &io::Error) -> String {
    if is_link {
        #[cfg(unix)]
        if error.raw_os_error() == Some(libc::ELOOP) {
            return "a symbolic link loop".to_owned();
        }
        if error.kind() == io::ErrorKind::NotFound {
            return match fs::read_link(path) {
                Ok(target) => format!("a dangling symbolic link to `{}`", target.display()),
                Err(_) => "a dangling symbolic link".to_owned(),
            };
        }
    }
    format!("cannot be read: {error}")
}

/// For a symbolic link: why the folder of the file it resolves to cannot be trusted, if so.
fn untrusted_target(link: &Path) -> Option<String> {
    let real = match fs::canonicalize(link) {
        Ok(real) => real,
        Err(error) => return Some(format!("`{}` cannot be resolved: {error}", link.display())),
    };
    let folder = real.parent()?;
    match fs::metadata(folder) {
        Ok(metadata) => untrusted("the folder of its target", folder, &metadata),
        Err(error) => Some(format!("`{}` cannot be read: {error}", folder.display())),
    }
}

/// Why `path` (a plugin file, or a folder holding one) could be replaced by someone else: owned
/// by another user than this one or root, or writable by group or others.
fn untrusted(what: &str, path: &Path, metadata: &fs::Metadata) -> Option<String> {
    // Worded only when there is something to say: this runs for every plugin on every start.
    let owner = foreign_owner(metadata);
    if owner.is_none() && !writable_by_others(metadata) {
        return None;
    }
    let what = if what.is_empty() {
        format!("`{}`", path.display())
    } else {
        format!("{what} `{}`", path.display())
    };
    if let Some(owner) = owner {
        return Some(format!(
            "{what} is owned by another user (uid {owner}), not by you or root"
        ));
    }
    Some(format!("{what} is writable by group or others"))
}

#[cfg(unix)]
fn foreign_owner(metadata: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    use std::sync::OnceLock;
    // Asked once: the effective user does not change during a run.
    static ME: OnceLock<u32> = OnceLock::new();
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let me = *ME.get_or_init(|| unsafe { libc::geteuid() });
    let owner = metadata.uid();
    (owner != me && owner != 0).then_some(owner)
}

#[cfg(not(unix))]
fn foreign_owner(_metadata: &fs::Metadata) -> Option<u32> {
    None
}

/// What makes two paths the same file: device and inode where there are such.
#[cfg(unix)]
fn file_identity(_path: &Path, metadata: &fs::Metadata) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino(), PathBuf::new())
}

/// Elsewhere, the canonical path.
#[cfg(not(unix))]
fn file_identity(path: &Path, _metadata: &fs::Metadata) -> (u64, u64, PathBuf) {
    (
        0,
        0,
        fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
    )
}

/// Whether a file name says "plugin library" without naming a valid plugin
/// (`libbaseten_plugin_Bad Name.so`): such a file is skipped with a reason, not in silence.
pub(crate) fn looks_like_plugin_file(path: &Path) -> bool {
    let Some(file_name) = path.file_name() else {
        return false;
    };
    let file_name = file_name.to_string_lossy();
    // An executable's name with something else after the prefix; a name with a dot is left
    // alone (a build's `baseten-plugin-x.d` beside the executable is not a plugin).
    if let Some(rest) = file_name.strip_prefix(pipe::EXECUTABLE_PREFIX) {
        let rest = rest
            .strip_suffix(std::env::consts::EXE_SUFFIX)
            .filter(|_| !std::env::consts::EXE_SUFFIX.is_empty())
            .unwrap_or(rest);
        return !rest.contains('.');
    }
    let stem = file_name.strip_prefix("lib").unwrap_or(&file_name);
    stem.starts_with("baseten_plugin_")
        && [".so", ".dylib", ".dll"]
            .iter()
            .any(|suffix| stem.ends_with(suffix))
}

/// Whether the file at `path` (a plugin file) is a library or an executable, by its name.
pub fn kind_of(path: &Path) -> PluginKind {
    if executable_name(path).is_some() {
        PluginKind::Executable
    } else {
        PluginKind::Library
    }
}

/// The file name of the executable plugin called `name`: `baseten-plugin-NAME` (`.exe` on
/// Windows).
pub fn executable_file_name_for(name: &str) -> String {
    format!(
        "{}{name}{}",
        pipe::EXECUTABLE_PREFIX,
        std::env::consts::EXE_SUFFIX
    )
}

/// The plugin name an executable plugin's file name carries: `baseten-plugin-whoami` →
/// `whoami`; lowercase letters, digits and `-` only, and `.exe` on Windows.
fn executable_name(path: &Path) -> Option<&str> {
    let file_name = path.file_name()?.to_str()?;
    let stem = if std::env::consts::EXE_SUFFIX.is_empty() {
        file_name
    } else {
        file_name.strip_suffix(std::env::consts::EXE_SUFFIX)?
    };
    let name = stem.strip_prefix(pipe::EXECUTABLE_PREFIX)?;
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    valid.then_some(name)
}

/// Whether a file has an execute bit (Unix); elsewhere its `.exe` name says so.
#[cfg(unix)]
fn is_executable(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_metadata: &fs::Metadata) -> bool {
    true
}

/// The plugin name a file name carries: `libbaseten_plugin_org_api_key.so` → `org-api-key`,
/// `baseten-plugin-whoami` → `whoami`.
pub fn name_from_file(path: &Path) -> Option<String> {
    if let Some(name) = executable_name(path) {
        return Some(name.to_owned());
    }
    let file_name = path.file_name()?.to_str()?;
    let stem = file_name
        .strip_suffix(".so")
        .or_else(|| file_name.strip_suffix(".dylib"))
        .or_else(|| file_name.strip_suffix(".dll"))?;
    let stem = stem.strip_prefix("lib").unwrap_or(stem);
    let name = stem.strip_prefix("baseten_plugin_")?;
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    valid.then(|| name.replace('_', "-"))
}

#[cfg(unix)]
pub fn writable_by_others(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o022 != 0
}

/// Windows has no mode bits to check.
#[cfg(not(unix))]
pub fn writable_by_others(_metadata: &fs::Metadata) -> bool {
    false
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_come_from_file_names() {
        assert_eq!(
            name_from_file(Path::new("/x/libbaseten_plugin_org_api_key.so")).as_deref(),
            Some("org-api-key")
        );
        assert_eq!(
            name_from_file(Path::new("baseten_plugin_team.dll")).as_deref(),
            Some("team")
        );
        assert_eq!(
            name_from_file(Path::new("libbaseten_plugin_x.dylib")).as_deref(),
            Some("x")
        );
        assert_eq!(name_from_file(Path::new("libbaseten_plugin_.so")), None);
        assert_eq!(name_from_file(Path::new("libother.so")), None);
        assert_eq!(name_from_file(Path::new("libbaseten_plugin_x.so.1")), None);
        assert_eq!(name_from_file(Path::new("libbaseten_plugin_X.so")), None);
    }

    #[test]
    fn executable_plugins_are_named_baseten_plugin_name() {
        let file = executable_file_name_for("who-am-i2");
        assert_eq!(
            name_from_file(Path::new(&file)).as_deref(),
            Some("who-am-i2")
        );
        assert_eq!(kind_of(Path::new(&file)), PluginKind::Executable);
        assert_eq!(
            kind_of(Path::new("libbaseten_plugin_x.so")),
            PluginKind::Library
        );
        for invalid in ["baseten-plugin-", "baseten-plugin-X", "baseten-plugin-a_b"] {
            assert_eq!(name_from_file(Path::new(invalid)), None, "{invalid}");
            assert!(looks_like_plugin_file(Path::new(invalid)), "{invalid}");
        }
        assert!(!looks_like_plugin_file(Path::new("baseten-plugin-x.d")));
    }
}
