//! Plugins as the host sees them: where they are found, which are usable, and which command each
//! one owns.
//!
//! Folders are searched in the order the README's "Plugins" section gives. A plugin that cannot be
//! used (not a library, built for another plugin API, unsafe permissions, commands already claimed)
//! is kept in the registry with its reason, so `plugin list` and `-v` can say why, while every
//! other command keeps working.

pub mod archive;
mod cache;
mod discovery;
pub mod executable;
pub mod index;
pub mod probe;
pub mod receipt;
mod services;
pub mod validate;

use std::cell::OnceCell;
use std::ffi::OsString;
use std::path::PathBuf;

use baseten_plugin_api::abi::LoadedPlugin;
use baseten_plugin_api::protocol::{CommandSpec, GroupSpec, Manifest};
use serde_json::value::RawValue;

use crate::context::Context;
use crate::log::Logger;

pub use discovery::{
    Skipped, executable_file_name_for, file_name_for, kind_of, name_from_file, search_folders,
    user_folder,
};
pub use services::PluginServices;

/// What a plugin file is: a shared library loaded into the host, or a program the host runs
/// and speaks to in JSON lines ([`baseten_plugin_api::pipe`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    #[default]
    Library,
    Executable,
}

impl PluginKind {
    /// `library` or `executable`, as `plugin list` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Library => "library",
            Self::Executable => "executable",
        }
    }
}

/// One plugin file found on disk.
#[derive(Debug)]
pub struct PluginRecord {
    /// Where it was found.
    pub path: PathBuf,
    /// A library or an executable.
    pub kind: PluginKind,
    /// Its manifest, when it could be read (and, for a manifest the cache holds, once it is
    /// needed: see [`Registry::discover_for`]).
    pub manifest: Option<Manifest>,
    /// A manifest the cache holds that this run has not needed yet.
    pending: Option<Pending>,
    /// Whether it is used, and why not.
    pub status: PluginStatus,
    /// The library, once loaded: only when one of its commands runs. Discovery reads unknown
    /// libraries in a child process.
    loaded: OnceCell<Result<LoadedPlugin, String>>,
    /// What the manifest cache holds for this file, to refresh it if the library says otherwise.
    cached: Option<CachedAs>,
}

/// A record's entry in the manifest cache.
#[derive(Debug)]
struct CachedAs {
    cache_file: PathBuf,
    stamp: cache::FileStamp,
    /// What the entry says, once read (`None` while its manifest is pending).
    examined: Option<cache::Examined>,
}

/// A cached manifest not parsed yet: what deciding ownership needs, and its text.
#[derive(Debug)]
struct Pending {
    summary: cache::Summary,
    text: Box<RawValue>,
}

/// Which manifests a run needs parsed: every one, or those of the plugins with a command or
/// group whose first word is a word of the command line (the plugins [`crate::cli::tree::for_args`]
/// builds commands of).
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    All,
    Named(&'a [OsString]),
}

impl Scope<'_> {
    fn keeps(&self, word: &str) -> bool {
        match self {
            Self::All => true,
            Self::Named(args) => args.iter().skip(1).any(|arg| arg == word),
        }
    }
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
    /// The file or its folder is writable by group or others, or owned by another user.
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
        match (&self.manifest, &self.pending) {
            (Some(manifest), _) => manifest.name.clone(),
            (None, Some(pending)) => pending.summary.name.clone(),
            (None, None) => discovery::name_from_file(&self.path)
                .unwrap_or_else(|| self.path.display().to_string()),
        }
    }

    /// Parses and checks the manifest the cache holds, if it is pending. A manifest that fails
    /// the checks was not written by this host (it checked it before storing it): the cache is
    /// corrupt, and the error says so.
    fn parse_pending(&mut self) -> Result<(), String> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        match read_manifest(pending.text.get()) {
            cache::Examined::Manifest(manifest) => {
                if let Some(cached) = &mut self.cached {
                    cached.examined = Some(cache::Examined::Manifest(manifest.clone()));
                }
                self.manifest = Some(manifest);
                Ok(())
            }
            cache::Examined::Failed(why) | cache::Examined::Incompatible { reason: why, .. } => {
                Err(format!(
                    "the entry of `{}` is invalid: {why}",
                    self.path.display()
                ))
            }
        }
    }

    /// The library, loaded now if it was not yet (an executable plugin is never loaded: see
    /// [`executable::invoke`]). When its manifest is not the one the cache
    /// holds (the cache was edited, or the file replaced in a way its stamp missed), the entry
    /// is refreshed; a library that no longer has a usable manifest is refused.
    pub fn load(&self) -> Result<&LoadedPlugin, String> {
        self.loaded
            .get_or_init(|| {
                if self.kind == PluginKind::Executable {
                    return Err("an executable plugin is run, not loaded".to_owned());
                }
                let plugin = LoadedPlugin::load(&self.path).map_err(|error| error.to_string())?;
                if let Some(cached) = &self.cached
                    && let Some(examined) = &cached.examined
                {
                    let fresh = read_manifest(&plugin.manifest_json());
                    if fresh != *examined {
                        let mut cache =
                            cache::ManifestCache::open_at(Some(cached.cache_file.clone()));
                        cache.put(&self.path, cached.stamp.clone(), fresh.clone());
                        let _ = cache.save();
                        if let cache::Examined::Failed(why)
                        | cache::Examined::Incompatible { reason: why, .. } = fresh
                        {
                            return Err(format!("its manifest changed since it was cached: {why}"));
                        }
                    }
                }
                Ok(plugin)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Every plugin found, in search order.
#[derive(Debug, Default)]
pub struct Registry {
    pub records: Vec<PluginRecord>,
    /// Entries named like plugins that are not plugin files, and folders that cannot be read.
    pub skipped: Vec<Skipped>,
    /// How the manifest cache served this run, for `-v`.
    cache_report: String,
    /// The folders of the plugins bundled with the executable: their group descriptions win.
    bundled_folders: Vec<PathBuf>,
    /// Whether every manifest is parsed (none pending).
    complete: bool,
}

impl Registry {
    /// Finds and checks every plugin in the search folders. Files the manifest cache has a
    /// current entry for are not loaded; the others are read in child processes, all at once.
    /// Of the cached manifests only those `scope` needs are parsed: every file is still
    /// examined (stamp and trust) and which plugin owns which command decided from the cache's
    /// summaries, so shadowing and `-v` do not depend on the scope; [`Registry::complete`]
    /// parses the rest.
    pub fn discover_for(context: &Context, scope: Scope<'_>) -> Self {
        match Self::discover_with(context, cache::ManifestCache::open(context), scope) {
            Ok(registry) => registry,
            Err(problem) => Self::rediscover(context, &problem),
        }
    }

    /// Parses every manifest still pending, for the whole tree, help and the built-ins that
    /// list plugins. A cached manifest that fails its checks discards the cache, as reading it
    /// would have: every plugin is read again.
    pub fn complete(&mut self, context: &Context) {
        if self.complete {
            return;
        }
        match self.parse_pending(Scope::All) {
            Ok(()) => self.complete = true,
            Err(problem) => *self = Self::rediscover(context, &problem),
        }
    }

    /// Discovery again with the cache found corrupt: nothing cached, nothing pending.
    fn rediscover(context: &Context, problem: &str) -> Self {
        let cache = cache::ManifestCache::discarded(context, problem);
        Self::discover_with(context, cache, Scope::All).unwrap_or_default()
    }

    fn discover_with(
        context: &Context,
        mut cache: cache::ManifestCache,
        scope: Scope<'_>,
    ) -> Result<Self, String> {
        let scan = discovery::plugin_files(&search_folders(context));
        let mut records = Vec::with_capacity(scan.files.len());
        let mut seen = Vec::with_capacity(scan.files.len());
        let mut unknown = Vec::new();
        for file in scan.files {
            seen.push(file.path.clone());
            match examine(file, &mut cache) {
                Ok(record) => records.push(record),
                Err((path, stamp)) => {
                    unknown.push((records.len(), stamp));
                    records.push(record_of(path, None, None));
                }
            }
        }
        if !unknown.is_empty() {
            let paths: Vec<PathBuf> = unknown
                .iter()
                .map(|(index, _)| records[*index].path.clone())
                .collect();
            let answers = read_manifests(context, &paths);
            for ((index, stamp), answer) in unknown.into_iter().zip(answers) {
                let path = records[index].path.clone();
                if answer.timed_out {
                    cache.put_timed_out(&path, stamp.clone(), answer.examined.clone());
                } else if !answer.interrupted {
                    cache.put(&path, stamp.clone(), answer.examined.clone());
                }
                let cached = cache.path().map(|cache_file| CachedAs {
                    cache_file: cache_file.to_path_buf(),
                    stamp,
                    examined: Some(answer.examined.clone()),
                });
                records[index] = record_of(path, Some(answer.examined), cached);
            }
        }
        let mut registry = Self {
            records,
            skipped: scan.skipped,
            cache_report: String::new(),
            bundled_folders: discovery::bundled_folders(context),
            complete: false,
        };
        registry.resolve_shadowing();
        registry.parse_pending(scope)?;
        registry.complete = matches!(scope, Scope::All);
        cache.retain_only(&seen);
        let saved = cache.save();
        let mut cache_report = format!(
            "* plugin manifest cache: {} hit, {} loaded",
            cache.hits, cache.misses
        );
        for problem in cache.problem.iter().chain(saved.as_ref().err()) {
            cache_report.push_str(&format!("; {problem}"));
        }
        registry.cache_report = cache_report;
        Ok(registry)
    }

    /// Parses the pending manifests `scope` needs: every one, or those of the plugins in use
    /// (not shadowed) with a command or group under a word of the line.
    fn parse_pending(&mut self, scope: Scope<'_>) -> Result<(), String> {
        for record in &mut self.records {
            let wanted = match (&record.pending, scope) {
                (None, _) => false,
                (Some(_), Scope::All) => true,
                (Some(pending), Scope::Named(_)) => {
                    record.status == PluginStatus::Ok
                        && pending.summary.first_words().any(|word| scope.keeps(word))
                }
            };
            if wanted {
                record.parse_pending()?;
            }
        }
        Ok(())
    }

    /// Writes under `-v` how the cache served and every plugin that is not used.
    pub fn log_problems(&self, logger: &Logger) {
        logger.info(&self.cache_report);
        for skipped in &self.skipped {
            logger.info(&format!(
                "* skipped `{}`: {}",
                skipped.path.display(),
                skipped.reason
            ));
        }
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

    /// Every group description in the order they are heard: the bundled plugins' first, then
    /// the others', each in search order. The first description of a group is its help, so a
    /// plugin that adds a command to a group another plugin owns (`org team show` beside the
    /// bundled `org team list`) cannot change the words of `org --help`.
    pub fn groups(&self) -> impl Iterator<Item = &GroupSpec> {
        let (bundled, others): (Vec<_>, Vec<_>) = self
            .usable()
            .partition(|(record, _)| self.is_bundled(record));
        bundled
            .into_iter()
            .chain(others)
            .flat_map(|(_, manifest)| manifest.groups.iter())
    }

    /// Whether `record` was found in a folder of plugins bundled with the executable.
    fn is_bundled(&self, record: &PluginRecord) -> bool {
        record
            .path
            .parent()
            .is_some_and(|folder| self.bundled_folders.iter().any(|bundled| bundled == folder))
    }

    /// The plugin and spec of the command at `path`.
    pub fn command(&self, path: &[String]) -> Option<(&PluginRecord, &CommandSpec)> {
        self.commands().find(|(_, spec)| spec.path == path)
    }

    /// Marks plugins whose name or commands an earlier plugin (or the host) already has.
    fn resolve_shadowing(&mut self) {
        let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
        // The claimed paths by their first word, each list in search order: two paths can only
        // overlap when their first words are the same (a list of every claimed path searched
        // once per command was 10,000 comparisons with 100 plugins).
        let mut claimed: std::collections::HashMap<String, Vec<(Vec<String>, String)>> =
            std::collections::HashMap::new();
        for record in &mut self.records {
            if record.status != PluginStatus::Ok {
                continue;
            }
            // From the manifest, or from the cache's summary of it while it is pending.
            let (name, commands): (&String, Vec<&[String]>) =
                match (&record.manifest, &record.pending) {
                    (Some(manifest), _) => (
                        &manifest.name,
                        manifest
                            .commands
                            .iter()
                            .map(|spec| spec.path.as_slice())
                            .collect(),
                    ),
                    (None, Some(pending)) => (
                        &pending.summary.name,
                        pending.summary.commands.iter().map(Vec::as_slice).collect(),
                    ),
                    (None, None) => continue,
                };
            if names.contains(name) {
                record.status = PluginStatus::Shadowed(format!("an earlier plugin named `{name}`"));
                continue;
            }
            let clash = commands.iter().find_map(|path| {
                let first = path.first().map_or("", String::as_str);
                if crate::commands::is_reserved_word(first) {
                    return Some(format!("the built-in `{first}` command"));
                }
                claimed
                    .get(first)
                    .into_iter()
                    .flatten()
                    .find(|(claimed, _)| overlaps(claimed, path))
                    .map(|(_, owner)| format!("plugin `{owner}`"))
            });
            if let Some(by) = clash {
                record.status = PluginStatus::Shadowed(by);
                continue;
            }
            names.insert(name.clone());
            for path in commands {
                let first = path.first().cloned().unwrap_or_default();
                claimed
                    .entry(first)
                    .or_default()
                    .push((path.to_vec(), name.clone()));
            }
        }
    }
}

/// Reads the manifests of files the cache does not know, all at once: libraries in child
/// processes of the host, executables by asking them; answers in the order of `paths`.
fn read_manifests(context: &Context, paths: &[PathBuf]) -> Vec<probe::ProbeAnswer> {
    let (executables, libraries): (Vec<&PathBuf>, Vec<&PathBuf>) = paths
        .iter()
        .partition(|path| discovery::kind_of(path) == PluginKind::Executable);
    let libraries: Vec<PathBuf> = libraries.into_iter().cloned().collect();
    let executables: Vec<PathBuf> = executables.into_iter().cloned().collect();
    // The executables' describe processes and the library probes run at the same time.
    let (mut from_libraries, mut from_executables) = std::thread::scope(|scope| {
        let libraries = scope.spawn(|| {
            if libraries.is_empty() {
                Vec::new()
            } else {
                probe::read_manifests(context.current_exe(), &libraries)
            }
        });
        let from_executables = executable::read_manifests(context, &executables);
        let from_libraries = libraries.join().unwrap_or_default();
        (from_libraries.into_iter(), from_executables.into_iter())
    });
    paths
        .iter()
        .map(|path| {
            let answer = if discovery::kind_of(path) == PluginKind::Executable {
                from_executables.next()
            } else {
                from_libraries.next()
            };
            answer.unwrap_or_else(|| probe::ProbeAnswer {
                examined: cache::Examined::Failed("could not be checked".to_owned()),
                hint: None,
                interrupted: false,
                timed_out: false,
            })
        })
        .collect()
}

/// Two command paths clash when one is the other or a prefix of it (a leaf cannot be a group).
pub fn overlaps(first: &[String], second: &[String]) -> bool {
    let shorter = first.len().min(second.len());
    first[..shorter] == second[..shorter]
}

/// Decides whether one file can be used from its trust checks and the cache; a file the cache
/// has no current entry for comes back with its stamp, to be read in a child process.
fn examine(
    file: discovery::PluginFile,
    cache: &mut cache::ManifestCache,
) -> Result<PluginRecord, (PathBuf, cache::FileStamp)> {
    let path = file.path;
    // Trust is checked every run: permissions can change without the file changing.
    if let Some(why) = file.untrusted {
        return Ok(PluginRecord {
            status: PluginStatus::UnsafePermissions(why),
            ..record_of(path, None, None)
        });
    }
    let Some(stamp) = cache::FileStamp::of(&file.metadata) else {
        return Ok(record_of(
            path,
            Some(cache::Examined::Failed(
                "the file cannot be read".to_owned(),
            )),
            None,
        ));
    };
    let cached = cache
        .get(&path, &stamp)
        .ok_or_else(|| (path.clone(), stamp.clone()))?;
    let cached_as = |examined| {
        cache.path().map(|cache_file| CachedAs {
            cache_file: cache_file.to_path_buf(),
            stamp,
            examined,
        })
    };
    Ok(match cached {
        cache::Cached::Manifest { summary, text } => PluginRecord {
            pending: Some(Pending { summary, text }),
            status: PluginStatus::Ok,
            ..record_of(path, None, cached_as(None))
        },
        cache::Cached::Other(examined) => {
            let cached = cached_as(Some(examined.clone()));
            record_of(path, Some(examined), cached)
        }
    })
}

/// The record of a file from what reading it found (`None`: not read yet).
fn record_of(
    path: PathBuf,
    examined: Option<cache::Examined>,
    cached: Option<CachedAs>,
) -> PluginRecord {
    let (manifest, status) = match examined {
        Some(cache::Examined::Manifest(manifest)) => (Some(manifest), PluginStatus::Ok),
        Some(cache::Examined::Failed(why)) => (None, PluginStatus::FailedToLoad(why)),
        Some(cache::Examined::Incompatible { manifest, reason }) => {
            (manifest, PluginStatus::Incompatible(reason))
        }
        None => (None, PluginStatus::FailedToLoad("not read yet".to_owned())),
    };
    PluginRecord {
        kind: discovery::kind_of(&path),
        path,
        manifest,
        pending: None,
        status,
        loaded: OnceCell::new(),
        cached,
    }
}

/// Reads and checks a plugin's manifest JSON.
pub(crate) fn read_manifest(json: &str) -> cache::Examined {
    match serde_json::from_str::<Manifest>(json) {
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

    fn plugin_in(folder: &str, name: &str, about: &str) -> PluginRecord {
        let manifest = Manifest {
            name: name.to_owned(),
            version: "0.1.0".to_owned(),
            plugin_api_version: baseten_plugin_api::PLUGIN_API_VERSION.to_owned(),
            description: String::new(),
            groups: vec![GroupSpec {
                path: words("org"),
                about: about.to_owned(),
            }],
            commands: vec![CommandSpec::new(["org", name, "list"], "List")],
        };
        record_of(
            PathBuf::from(folder).join(discovery::file_name_for(name)),
            Some(cache::Examined::Manifest(manifest)),
            None,
        )
    }

    #[test]
    fn the_bundled_plugins_describe_a_group_before_any_other() {
        let registry = Registry {
            // Search order: a user plugin before the bundled one.
            records: vec![
                plugin_in("/home/u/plugins", "extra", "Other words"),
                plugin_in("/opt/baseten", "team", "Manage your organization"),
            ],
            bundled_folders: vec![PathBuf::from("/opt/baseten")],
            ..Registry::default()
        };
        let abouts: Vec<&str> = registry
            .groups()
            .map(|group| group.about.as_str())
            .collect();
        assert_eq!(abouts, ["Manage your organization", "Other words"]);
    }

    /// A record as a warm cache gives it: the manifest pending, as its text and summary.
    fn pending(record: PluginRecord) -> PluginRecord {
        let manifest = record.manifest.expect("a manifest");
        PluginRecord {
            pending: Some(Pending {
                summary: cache::Summary::of(&manifest),
                text: serde_json::value::to_raw_value(&manifest).expect("encodes"),
            }),
            manifest: None,
            ..record
        }
    }

    fn statuses(registry: &Registry) -> Vec<String> {
        registry
            .records
            .iter()
            .map(|record| format!("{} {}", record.name(), record.status))
            .collect()
    }

    /// `team` twice (shadowed by name), `other` beside it, and `keys` claiming `org team list`
    /// too (shadowed by a clash of paths).
    fn clashing_records() -> Vec<PluginRecord> {
        let mut keys = plugin_in("/d", "keys", "D");
        if let Some(manifest) = &mut keys.manifest {
            manifest.commands[0].path = words("org team list");
        }
        vec![
            plugin_in("/a", "team", "A"),
            plugin_in("/b", "team", "B"),
            plugin_in("/c", "other", "C"),
            keys,
        ]
    }

    #[test]
    fn shadowing_from_the_caches_summaries_is_shadowing_from_the_manifests() {
        let mut parsed = Registry {
            records: clashing_records(),
            ..Registry::default()
        };
        let mut lazy = Registry {
            records: clashing_records().into_iter().map(pending).collect(),
            ..Registry::default()
        };
        for registry in [&mut parsed, &mut lazy] {
            registry.resolve_shadowing();
        }
        assert_eq!(statuses(&parsed), statuses(&lazy));
        assert_eq!(
            statuses(&lazy),
            [
                "team ok",
                "team shadowed by an earlier plugin named `team`",
                "other ok",
                "keys shadowed by plugin `team`",
            ]
        );
    }

    #[test]
    fn only_the_named_plugins_in_use_are_parsed() {
        let mut records: Vec<PluginRecord> = clashing_records().into_iter().map(pending).collect();
        let mut elsewhere = plugin_in("/e", "far", "E");
        if let Some(manifest) = &mut elsewhere.manifest {
            manifest.groups[0].path = words("far");
            manifest.commands[0].path = words("far list");
        }
        records.push(pending(elsewhere));
        let mut registry = Registry {
            records,
            ..Registry::default()
        };
        registry.resolve_shadowing();
        let args: Vec<OsString> = ["baseten", "org", "team", "list"]
            .into_iter()
            .map(OsString::from)
            .collect();
        registry.parse_pending(Scope::Named(&args)).expect("parses");
        let parsed: Vec<bool> = registry
            .records
            .iter()
            .map(|record| record.manifest.is_some())
            .collect();
        // The shadowed ones and the plugin of `far` stay pending.
        assert_eq!(parsed, [true, false, true, false, false]);
        registry.parse_pending(Scope::All).expect("parses");
        assert!(
            registry
                .records
                .iter()
                .all(|record| record.manifest.is_some())
        );
    }

    #[test]
    fn a_pending_manifest_that_fails_its_checks_is_a_corrupt_cache() {
        let mut record = pending(plugin_in("/a", "team", "A"));
        if let Some(pending) = &mut record.pending {
            pending.text = RawValue::from_string(
                pending
                    .text
                    .get()
                    .replace(r#""plugin_api_version":"1."#, r#""plugin_api_version":"9."#),
            )
            .expect("JSON");
        }
        let why = record.parse_pending().expect_err("refused");
        assert!(
            why.starts_with("the entry of `/a/") && why.contains("plugin API 9."),
            "{why}"
        );
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
