//! Where plugins are looked for, and which files in those folders are plugins.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

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
    if let Some(exe_dir) = std::env::current_exe()
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
    pub metadata: fs::Metadata,
    /// Why the folder it sits in is unsafe, if it is.
    pub unsafe_folder: Option<String>,
}

/// The plugin files in `folders`, in search order, each real file once. One `stat` per file and
/// per folder: this runs on every start.
pub fn plugin_files(folders: &[PathBuf]) -> Vec<PluginFile> {
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for folder in folders {
        let Ok(entries) = fs::read_dir(folder) else {
            continue;
        };
        let mut found: Vec<(PathBuf, fs::Metadata)> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| name_from_file(path).is_some())
            .filter_map(|path| {
                let metadata = fs::metadata(&path).ok()?;
                metadata.is_file().then_some((path, metadata))
            })
            .collect();
        if found.is_empty() {
            continue;
        }
        found.sort_by(|first, second| first.0.cmp(&second.0));
        let unsafe_folder = fs::metadata(folder)
            .ok()
            .filter(writable_by_others)
            .map(|_| {
                format!(
                    "its folder `{}` is writable by group or others",
                    folder.display()
                )
            });
        for (path, metadata) in found {
            if seen.insert(file_identity(&path, &metadata)) {
                files.push(PluginFile {
                    path,
                    metadata,
                    unsafe_folder: unsafe_folder.clone(),
                });
            }
        }
    }
    files
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

/// The plugin name a file name carries: `libbaseten_plugin_org_api_key.so` → `org-api-key`.
pub fn name_from_file(path: &Path) -> Option<String> {
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

/// Why loading the file would be unsafe: another user could have replaced it.
pub fn unsafe_permissions(file: &PluginFile) -> Option<String> {
    if writable_by_others(&file.metadata) {
        return Some(format!(
            "`{}` is writable by group or others",
            file.path.display()
        ));
    }
    file.unsafe_folder.clone()
}

#[cfg(unix)]
fn writable_by_others(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o022 != 0
}

/// Windows has no mode bits to check.
#[cfg(not(unix))]
fn writable_by_others(_metadata: &fs::Metadata) -> bool {
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
}
