//! Plugins as the host sees them: where they are found, which are usable, and which command each
//! one owns.
//!
//! Folders are searched in SPEC §7 order. A plugin that cannot be used (not a library, built for
//! another plugin API, unsafe permissions, commands already claimed) is kept in the registry with
//! its reason, so `plugin list` and `-v` can say why, while every other command keeps working.

mod cache;
mod discovery;
mod services;
pub mod validate;

use std::cell::OnceCell;
use std::path::PathBuf;

use baseten_plugin_api::abi::{LoadError, LoadedPlugin};
use baseten_plugin_api::protocol::{CommandSpec, GroupSpec, Manifest};

use crate::context::Context;
use crate::log::Logger;

pub use discovery::{file_name_for, search_folders, user_folder};
pub use services::PluginServices;

/// Words of the command tree the host keeps for its own commands.
pub const BUILT_IN_COMMANDS: [&str; 6] = ["auth", "plugin", "completion", "version", "man", "help"];

/// One plugin file found on disk.
#[derive(Debug)]
pub struct PluginRecord {
    /// Where it was found.
    pub path: PathBuf,
    /// Its manifest, when it could be read.
    pub manifest: Option<Manifest>,
    /// Whether it is used, and why not.
    pub status: PluginStatus,
    /// The library, once loaded: at discovery when the cache had no current entry, else only
    /// when one of its commands runs.
    loaded: OnceCell<Result<LoadedPlugin, String>>,
}

/// Whether a plugin is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginStatus {
    /// Loaded and owning its commands.
    Ok,
    /// Another plugin found earlier already owns one of its commands (or has its name).
    Shadowed(String),
    /// Built for a plugin API this host does not speak, or its manifest is unusable.
    Incompatible(String),
    /// The file could not be loaded as a plugin.
    FailedToLoad(String),
    /// The file or its folder is writable by group or others.
    UnsafePermissions(String),
}

impl std::fmt::Display for PluginStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ok => formatter.write_str("ok"),
            Self::Shadowed(by) => write!(formatter, "shadowed by {by}"),
            Self::Incompatible(why) => write!(formatter, "incompatible: {why}"),
            Self::FailedToLoad(why) => write!(formatter, "failed to load: {why}"),
            Self::UnsafePermissions(why) => write!(formatter, "unsafe permissions: {why}"),
        }
    }
}

impl PluginRecord {
    /// The plugin's name: from its manifest, else from its file name.
    pub fn name(&self) -> String {
        match &self.manifest {
            Some(manifest) => manifest.name.clone(),
            None => discovery::name_from_file(&self.path)
                .unwrap_or_else(|| self.path.display().to_string()),
        }
    }

    /// The library, loaded now if it was not yet.
    pub fn load(&self) -> Result<&LoadedPlugin, String> {
        self.loaded
            .get_or_init(|| LoadedPlugin::load(&self.path).map_err(|error| error.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Every plugin found, in search order.
#[derive(Debug, Default)]
pub struct Registry {
    pub records: Vec<PluginRecord>,
    /// How the manifest cache served this run, for `-v`.
    cache_report: String,
}

impl Registry {
    /// Finds and checks every plugin in the search folders, loading only those the manifest
    /// cache has no current entry for.
    pub fn discover(context: &Context) -> Self {
        let mut cache = cache::ManifestCache::open(context);
        let files = discovery::plugin_files(&search_folders(context));
        let mut records = Vec::with_capacity(files.len());
        let mut seen = Vec::with_capacity(files.len());
        for file in files {
            seen.push(file.path.clone());
            records.push(examine(file, &mut cache));
        }
        cache.retain_only(&seen);
        let saved = cache.save();
        let mut cache_report = format!(
            "* plugin manifest cache: {} hit, {} loaded",
            cache.hits, cache.misses
        );
        for problem in cache.problem.iter().chain(saved.as_ref().err()) {
            cache_report.push_str(&format!("; {problem}"));
        }
        let mut registry = Self {
            records,
            cache_report,
        };
        registry.resolve_shadowing();
        registry
    }

    /// Writes under `-v` how the cache served and every plugin that is not used.
    pub fn log_problems(&self, logger: &Logger) {
        logger.info(&self.cache_report);
        for record in &self.records {
            if record.status != PluginStatus::Ok {
                logger.info(&format!(
                    "* skipped plugin `{}` ({}): {}",
                    record.name(),
                    record.path.display(),
                    record.status
                ));
            }
        }
    }

    /// The usable plugins.
    pub fn usable(&self) -> impl Iterator<Item = (&PluginRecord, &Manifest)> {
        self.records
            .iter()
            .filter(|record| record.status == PluginStatus::Ok)
            .filter_map(|record| record.manifest.as_ref().map(|manifest| (record, manifest)))
    }

    /// Every usable command with the plugin that owns it.
    pub fn commands(&self) -> impl Iterator<Item = (&PluginRecord, &CommandSpec)> {
        self.usable()
            .flat_map(|(record, manifest)| manifest.commands.iter().map(move |spec| (record, spec)))
    }

    /// Every group description, first plugin first.
    pub fn groups(&self) -> impl Iterator<Item = &GroupSpec> {
        self.usable()
            .flat_map(|(_, manifest)| manifest.groups.iter())
    }

    /// The plugin and spec of the command at `path`.
    pub fn command(&self, path: &[String]) -> Option<(&PluginRecord, &CommandSpec)> {
        self.commands().find(|(_, spec)| spec.path == path)
    }

    /// Marks plugins whose name or commands an earlier plugin (or the host) already has.
    fn resolve_shadowing(&mut self) {
        let mut names: Vec<String> = Vec::new();
        let mut claimed: Vec<(Vec<String>, String)> = Vec::new();
        for record in &mut self.records {
            if record.status != PluginStatus::Ok {
                continue;
            }
            let Some(manifest) = &record.manifest else {
                continue;
            };
            if names.contains(&manifest.name) {
                record.status =
                    PluginStatus::Shadowed(format!("an earlier plugin named `{}`", manifest.name));
                continue;
            }
            let clash = manifest.commands.iter().find_map(|spec| {
                if BUILT_IN_COMMANDS.contains(&spec.path[0].as_str()) {
                    return Some(format!("the built-in `{}` command", spec.path[0]));
                }
                claimed
                    .iter()
                    .find(|(path, _)| overlaps(path, &spec.path))
                    .map(|(_, owner)| format!("plugin `{owner}`"))
            });
            if let Some(by) = clash {
                record.status = PluginStatus::Shadowed(by);
                continue;
            }
            names.push(manifest.name.clone());
            claimed.extend(
                manifest
                    .commands
                    .iter()
                    .map(|spec| (spec.path.clone(), manifest.name.clone())),
            );
        }
    }
}

/// Two command paths clash when one is the other or a prefix of it (a leaf cannot be a group).
pub fn overlaps(first: &[String], second: &[String]) -> bool {
    let shorter = first.len().min(second.len());
    first[..shorter] == second[..shorter]
}

/// Decides whether one file can be used, from the cache when it has a current entry, else by
/// loading it.
fn examine(file: discovery::PluginFile, cache: &mut cache::ManifestCache) -> PluginRecord {
    let path = file.path.clone();
    let record = |manifest, status, loaded| PluginRecord {
        path: path.clone(),
        manifest,
        status,
        loaded,
    };
    // Permissions are checked every run: they can change without the file changing.
    if let Some(why) = discovery::unsafe_permissions(&file) {
        return record(None, PluginStatus::UnsafePermissions(why), OnceCell::new());
    }
    let Some(stamp) = cache::FileStamp::of(&file.metadata) else {
        return record(
            None,
            PluginStatus::FailedToLoad("the file cannot be read".to_owned()),
            OnceCell::new(),
        );
    };
    let loaded = OnceCell::new();
    let examined = match cache.get(&path, &stamp) {
        Some(examined) => examined,
        None => {
            let examined = match LoadedPlugin::load(&path) {
                Ok(plugin) => {
                    let examined = read_manifest(&plugin);
                    let _ = loaded.set(Ok(plugin));
                    examined
                }
                Err(error @ LoadError::IncompatibleAbi(_)) => cache::Examined::Incompatible {
                    manifest: None,
                    reason: error.to_string(),
                },
                Err(error) => cache::Examined::Failed(error.to_string()),
            };
            cache.put(&path, stamp, examined.clone());
            examined
        }
    };
    match examined {
        cache::Examined::Manifest(manifest) => record(Some(manifest), PluginStatus::Ok, loaded),
        cache::Examined::Failed(why) => record(None, PluginStatus::FailedToLoad(why), loaded),
        cache::Examined::Incompatible { manifest, reason } => {
            record(manifest, PluginStatus::Incompatible(reason), loaded)
        }
    }
}

/// Reads and checks a loaded plugin's manifest.
fn read_manifest(plugin: &LoadedPlugin) -> cache::Examined {
    match serde_json::from_str::<Manifest>(&plugin.manifest_json()) {
        Ok(manifest) => match validate::check(&manifest) {
            Ok(()) => cache::Examined::Manifest(manifest),
            Err(reason) => cache::Examined::Incompatible {
                manifest: Some(manifest),
                reason,
            },
        },
        Err(error) => cache::Examined::Incompatible {
            manifest: None,
            reason: format!("unreadable manifest: {error}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(path: &str) -> Vec<String> {
        path.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn a_leaf_clashes_with_a_group_of_the_same_name() {
        assert!(overlaps(&words("org"), &words("org api-key list")));
        assert!(overlaps(
            &words("org api-key list"),
            &words("org api-key list")
        ));
        assert!(!overlaps(
            &words("org api-key list"),
            &words("org team list")
        ));
    }
}
