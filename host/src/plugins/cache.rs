//! The manifest cache: what each plugin file said about itself, keyed by path and the file's
//! stamp (size, modification and change times, device and inode), so a run can build the command
//! tree without loading any plugin.
//!
//! `<cache dir>/baseten/plugins.json`. A changed, added or removed file refreshes only its own
//! entry. A run reads every entry's stamp and what a run needs of every plugin to decide which
//! one owns a command (its name, its commands' paths, its groups' first words: a [`Summary`]),
//! but keeps each manifest as its JSON text, parsed and checked only when that plugin's commands
//! are built or listed ([`Cached::Manifest`]). The cache is never trusted blindly: a missing, corrupt or edited cache (an entry whose
//! manifest fails the checks a loaded plugin must pass) is discarded and rebuilt, an unwritable
//! one bypassed, never fatal; and a plugin loaded to run a command whose manifest differs from
//! its entry refreshes the entry.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use baseten_plugin_api::protocol::Manifest;

use crate::context::Context;
use crate::env_vars;
use crate::files::{self, Links};
use crate::plugins::PluginKind;

/// Bumped when the entry format changes; an older file is then ignored and rebuilt. (4: a
/// manifest is checked when it is used, not when the file is read.)
const CACHE_FORMAT: u32 = 4;

/// What identifies one version of a plugin file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub size: u64,
    /// Nanoseconds since 1970, saturated (until the year 2554). 64 bits, not 128: serde_json
    /// reads a 128-bit number through a buffer of its own, a tenth of reading the cache.
    pub modified_ns: u64,
    /// When the inode last changed (a `chmod`, a rename over it, a copy keeping the mtime).
    #[serde(default)]
    pub changed_ns: i64,
    #[serde(default)]
    pub device: u64,
    #[serde(default)]
    pub inode: u64,
}

impl FileStamp {
    /// The stamp of a file from its metadata.
    pub fn of(metadata: &fs::Metadata) -> Option<Self> {
        let modified_ns = metadata
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos()
            .try_into()
            .unwrap_or(u64::MAX);
        let (changed_ns, device, inode) = identity(metadata);
        Some(Self {
            size: metadata.len(),
            modified_ns,
            changed_ns,
            device,
            inode,
        })
    }
}

#[cfg(unix)]
fn identity(metadata: &fs::Metadata) -> (i64, u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (
        metadata
            .ctime()
            .saturating_mul(1_000_000_000)
            .saturating_add(metadata.ctime_nsec()),
        metadata.dev(),
        metadata.ino(),
    )
}

#[cfg(not(unix))]
fn identity(_metadata: &fs::Metadata) -> (i64, u64, u64) {
    (0, 0, 0)
}

/// What loading a file found out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Examined {
    /// The manifest, as the plugin returned it.
    Manifest(Manifest),
    /// The file could not be loaded as a plugin, or its manifest could not be read.
    Failed(String),
    /// It loaded, but its manifest cannot be used here.
    Incompatible {
        manifest: Option<Manifest>,
        reason: String,
    },
}

/// An entry's [`Examined`] as the file holds it: the same JSON, a manifest kept as its text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stored {
    Manifest(Box<RawValue>),
    Failed(String),
    Incompatible {
        manifest: Option<Manifest>,
        reason: String,
    },
}

/// What deciding which plugin owns a command needs of a manifest, read from its text without
/// the rest (flags, help, examples).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Summary {
    pub name: String,
    #[serde(default, deserialize_with = "paths")]
    pub commands: Vec<Vec<String>>,
    #[serde(default, deserialize_with = "paths")]
    pub groups: Vec<Vec<String>>,
}

/// `[{"path": [...], ...}, ...]` read as the list of paths.
fn paths<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    struct Pathed {
        path: Vec<String>,
    }
    let pathed = Vec::<Pathed>::deserialize(deserializer)?;
    Ok(pathed.into_iter().map(|pathed| pathed.path).collect())
}

impl Summary {
    /// The summary of a manifest already parsed.
    pub fn of(manifest: &Manifest) -> Self {
        Self {
            name: manifest.name.clone(),
            commands: manifest
                .commands
                .iter()
                .map(|spec| spec.path.clone())
                .collect(),
            groups: manifest
                .groups
                .iter()
                .map(|group| group.path.clone())
                .collect(),
        }
    }

    /// The first words of its commands and groups: a command line that names none of them
    /// does not need this plugin's manifest.
    pub fn first_words(&self) -> impl Iterator<Item = &str> {
        self.commands
            .iter()
            .chain(&self.groups)
            .filter_map(|path| path.first().map(String::as_str))
    }
}

/// What the cache holds for a current file.
#[derive(Debug, Clone)]
pub enum Cached {
    /// A manifest that passed the checks when it was stored: its summary, and its text to parse
    /// (and check again) when it is used.
    Manifest {
        summary: Summary,
        text: Box<RawValue>,
    },
    /// A file that is not a usable plugin: few, kept whole.
    Other(Examined),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: FileStamp,
    /// A library or an executable (format 3).
    #[serde(default)]
    kind: PluginKind,
    examined: Stored,
    /// Read from `examined` when the file is read.
    #[serde(skip)]
    summary: Summary,
    /// Asked again on the next run: the first time a plugin gave no answer in time (a slow cold
    /// start). A second such answer in a row stays until the file changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    retry: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    /// The host version that wrote it: a new host re-reads every plugin once, since its
    /// validation rules may differ.
    host_version: String,
    entries: BTreeMap<Key, Entry>,
}

/// An entry's path, ordered by its bytes: `Path`'s own order compares component by component,
/// which was a quarter of a warm run's instructions with 100 plugins (reading the map in, then
/// one look-up per file). Paths come from the search folders as written, so equal paths are
/// equal bytes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
struct Key(PathBuf);

impl Key {
    fn bytes(&self) -> &[u8] {
        self.0.as_os_str().as_encoded_bytes()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.bytes().cmp(other.bytes())
    }
}

/// `OsStr` orders by the same bytes, so a path looks an entry up without a copy.
impl Borrow<OsStr> for Key {
    fn borrow(&self) -> &OsStr {
        self.0.as_os_str()
    }
}

/// The cache as read at start-up, with what this run changed.
#[derive(Debug)]
pub struct ManifestCache {
    path: Option<PathBuf>,
    file: CacheFile,
    changed: bool,
    /// Entries used without loading.
    pub hits: usize,
    /// Entries (re)built by loading the plugin.
    pub misses: usize,
    /// Why the cache could not be used, for `-v`.
    pub problem: Option<String>,
    /// Files whose entry this run found marked to be asked again.
    retried: Vec<PathBuf>,
}

impl ManifestCache {
    /// Reads the cache; anything wrong with it just means starting empty.
    pub fn open(context: &Context) -> Self {
        Self::open_at(cache_file(context))
    }

    /// Reads the cache at `path` (`None`: no cache at all).
    pub fn open_at(path: Option<PathBuf>) -> Self {
        let mut problem = None;
        let file = match &path {
            Some(path) => match fs::read(path) {
                Ok(bytes) => match read(&bytes) {
                    Ok(Some(file)) => file,
                    Ok(None) => CacheFile::default(),
                    Err(why) => {
                        problem = Some(format!(
                            "ignored corrupt plugin cache `{}`: {why}",
                            path.display()
                        ));
                        CacheFile::default()
                    }
                },
                Err(_) => CacheFile::default(),
            },
            None => CacheFile::default(),
        };
        Self {
            path,
            file,
            changed: false,
            hits: 0,
            misses: 0,
            problem,
            retried: Vec::new(),
        }
    }

    /// Where the cache lives, for refreshing one entry later.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A cache that starts empty because the one on disk was found corrupt after it was read
    /// (an entry's manifest failed its checks when it was used): rewritten by this run.
    pub fn discarded(context: &Context, problem: &str) -> Self {
        let path = cache_file(context);
        Self {
            problem: path.as_ref().map(|path| {
                format!(
                    "ignored corrupt plugin cache `{}`: {problem}",
                    path.display()
                )
            }),
            path,
            file: CacheFile::default(),
            changed: true,
            hits: 0,
            misses: 0,
            retried: Vec::new(),
        }
    }

    /// What the cache knows of `path` at `stamp`, if it is still current. Asked once per file
    /// and run: a manifest's summary is handed over, not kept.
    pub fn get(&mut self, path: &Path, stamp: &FileStamp) -> Option<Cached> {
        let entry = self.file.entries.get_mut(path.as_os_str())?;
        if entry.stamp != *stamp || entry.kind != super::discovery::kind_of(path) {
            return None;
        }
        if entry.retry {
            self.retried.push(path.to_path_buf());
            return None;
        }
        self.hits += 1;
        Some(match &entry.examined {
            // Taken, not copied: a run looks each file up once, and the summary is not saved.
            Stored::Manifest(text) => Cached::Manifest {
                summary: std::mem::take(&mut entry.summary),
                text: text.clone(),
            },
            Stored::Failed(why) => Cached::Other(Examined::Failed(why.clone())),
            Stored::Incompatible { manifest, reason } => Cached::Other(Examined::Incompatible {
                manifest: manifest.clone(),
                reason: reason.clone(),
            }),
        })
    }

    /// Records what loading `path` found.
    pub fn put(&mut self, path: &Path, stamp: FileStamp, examined: Examined) {
        self.put_entry(path, stamp, examined, false);
    }

    /// Records that `path` gave no answer in time: asked again on the next run, unless this run
    /// was already that second chance.
    pub fn put_timed_out(&mut self, path: &Path, stamp: FileStamp, examined: Examined) {
        let retry = !self.retried.iter().any(|retried| retried == path);
        self.put_entry(path, stamp, examined, retry);
    }

    fn put_entry(&mut self, path: &Path, stamp: FileStamp, examined: Examined, retry: bool) {
        self.misses += 1;
        self.changed = true;
        let (examined, summary) = match examined {
            Examined::Manifest(manifest) => {
                let Ok(text) = serde_json::value::to_raw_value(&manifest) else {
                    return;
                };
                (Stored::Manifest(text), Summary::of(&manifest))
            }
            Examined::Failed(why) => (Stored::Failed(why), Summary::default()),
            Examined::Incompatible { manifest, reason } => (
                Stored::Incompatible { manifest, reason },
                Summary::default(),
            ),
        };
        self.file.entries.insert(
            Key(path.to_path_buf()),
            Entry {
                stamp,
                kind: super::discovery::kind_of(path),
                examined,
                summary,
                retry,
            },
        );
    }

    /// Drops entries of files that were not seen this run (removed plugins).
    pub fn retain_only(&mut self, seen: &[PathBuf]) {
        let before = self.file.entries.len();
        // A set: a list searched once per entry compared paths component by component, 10,000
        // times with 100 plugins.
        let seen: std::collections::HashSet<&OsStr> =
            seen.iter().map(|path| path.as_os_str()).collect();
        self.file
            .entries
            .retain(|path, _| seen.contains(path.0.as_os_str()));
        if self.file.entries.len() != before {
            self.changed = true;
        }
    }

    /// Writes the cache back if this run changed it: a temp file renamed over the old one, so a
    /// reader never sees half a file. Failure is reported, never fatal.
    pub fn save(&mut self) -> Result<(), String> {
        if !self.changed {
            return Ok(());
        }
        let Some(path) = &self.path else {
            return Ok(());
        };
        self.file.format = CACHE_FORMAT;
        self.file.host_version = crate::VERSION.to_owned();
        let write = || -> std::io::Result<()> {
            let folder = path.parent().unwrap_or(Path::new("."));
            fs::create_dir_all(folder)?;
            let bytes = serde_json::to_vec(&self.file).map_err(std::io::Error::other)?;
            files::write_atomically(path, &bytes, 0o644, Links::Follow)
        };
        write().map_err(|error| {
            format!("could not write plugin cache `{}`: {error}", path.display())
        })?;
        self.changed = false;
        Ok(())
    }
}

/// The cache file's entries: `None` when written by another format or host version (rebuilt
/// quietly), an error when it is not what this host writes: not JSON, or an entry no plugin
/// could have produced (a command with an empty path or a built-in's word). The rest of a
/// manifest's checks are made when it is used ([`super::Registry`]), where a failure discards
/// the cache the same way.
fn read(bytes: &[u8]) -> Result<Option<CacheFile>, String> {
    let mut file = serde_json::from_slice::<CacheFile>(bytes).map_err(|error| error.to_string())?;
    if file.format != CACHE_FORMAT || file.host_version != crate::VERSION {
        return Ok(None);
    }
    for (path, entry) in &mut file.entries {
        let invalid =
            |why: String| format!("the entry of `{}` is invalid: {why}", path.0.display());
        match &entry.examined {
            Stored::Manifest(text) => {
                let summary = serde_json::from_str::<Summary>(text.get())
                    .map_err(|error| invalid(format!("unreadable manifest: {error}")))?;
                check_summary(&summary).map_err(invalid)?;
                entry.summary = summary;
            }
            Stored::Incompatible {
                manifest: Some(manifest),
                ..
            } if manifest
                .commands
                .iter()
                .any(|command| command.path.is_empty()) =>
            {
                return Err(format!(
                    "the entry of `{}` has a command with an empty path",
                    path.0.display()
                ));
            }
            Stored::Incompatible { .. } | Stored::Failed(_) => {}
        }
    }
    Ok(Some(file))
}

/// What deciding ownership relies on, checked for every entry as [`super::validate::check`] would: no
/// empty command path, no command under a built-in's word.
fn check_summary(summary: &Summary) -> Result<(), String> {
    for path in &summary.commands {
        let named = path.join(" ");
        let Some(first) = path.first() else {
            return Err(format!("command `{named}`: empty command path"));
        };
        if crate::commands::is_reserved_word(first) {
            return Err(format!(
                "command `{named}` takes over the built-in command `{first}`"
            ));
        }
    }
    Ok(())
}

/// `$XDG_CACHE_HOME/baseten/plugins.json`, else `~/.cache/baseten/plugins.json`.
fn cache_file(context: &Context) -> Option<PathBuf> {
    let base = match context.var_os(env_vars::XDG_CACHE_HOME) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(context.var_os(env_vars::HOME)?).join(".cache"),
    };
    Some(base.join("baseten").join("plugins.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        serde_json::from_str(
            r#"{"name":"x","version":"1.0.0","plugin_api_version":"1.0.0",
                "commands":[{"path":["x","list"],"about":"List"}]}"#,
        )
        .expect("parses")
    }

    #[test]
    fn entries_survive_a_round_trip_and_go_stale_when_the_file_changes() {
        let home = tempfile::tempdir().expect("temp dir");
        let home_path = home.path().to_string_lossy().into_owned();
        let context = Context::for_tests(&[("XDG_CACHE_HOME", &home_path)]);
        let plugin = PathBuf::from("/plugins/libbaseten_plugin_x.so");
        let stamp = FileStamp {
            size: 10,
            modified_ns: 5,
            ..FileStamp::default()
        };

        let mut cache = ManifestCache::open(&context);
        cache.put(&plugin, stamp.clone(), Examined::Manifest(manifest()));
        cache.save().expect("saves");

        let mut cache = ManifestCache::open(&context);
        let Some(Cached::Manifest { summary, text }) = cache.get(&plugin, &stamp) else {
            panic!("no manifest cached");
        };
        assert_eq!(summary, Summary::of(&manifest()));
        assert_eq!(
            serde_json::from_str::<Manifest>(text.get()).expect("parses"),
            manifest()
        );
        assert!(
            cache
                .get(
                    &plugin,
                    &FileStamp {
                        size: 11,
                        modified_ns: 5,
                        ..FileStamp::default()
                    }
                )
                .is_none()
        );
        assert_eq!(cache.hits, 1);
    }

    #[test]
    fn a_corrupt_cache_is_ignored_and_rebuilt() {
        let home = tempfile::tempdir().expect("temp dir");
        let folder = home.path().join("baseten");
        fs::create_dir_all(&folder).expect("folder");
        fs::write(folder.join("plugins.json"), b"{not json").expect("writes");
        let home_path = home.path().to_string_lossy().into_owned();
        let context = Context::for_tests(&[("XDG_CACHE_HOME", &home_path)]);
        let mut cache = ManifestCache::open(&context);
        assert!(cache.problem.is_some());
        cache.put(
            Path::new("/p"),
            FileStamp {
                size: 1,
                modified_ns: 1,
                ..FileStamp::default()
            },
            Examined::Failed("x".to_owned()),
        );
        cache.save().expect("saves over the corrupt file");
        assert!(ManifestCache::open(&context).problem.is_none());
    }

    /// A cache saved with one plugin's entry, then edited by hand: its command path
    /// `["x","list"]` replaced by `path`. The folder lives as long as the first value.
    fn saved_with_command_path_edited(path: &str) -> (tempfile::TempDir, Context) {
        let home = tempfile::tempdir().expect("temp dir");
        let home_path = home.path().to_string_lossy().into_owned();
        let context = Context::for_tests(&[("XDG_CACHE_HOME", &home_path)]);
        let mut cache = ManifestCache::open(&context);
        cache.put(
            Path::new("/p"),
            FileStamp::default(),
            Examined::Manifest(manifest()),
        );
        cache.save().expect("saves");
        let file = home.path().join("baseten").join("plugins.json");
        let text = fs::read_to_string(&file).expect("reads");
        fs::write(&file, text.replace(r#"["x","list"]"#, path)).expect("writes");
        (home, context)
    }

    #[test]
    fn an_entry_no_plugin_could_have_written_discards_the_cache() {
        let (_home, context) = saved_with_command_path_edited("[]");
        let mut cache = ManifestCache::open(&context);
        assert!(
            cache
                .problem
                .as_deref()
                .is_some_and(|why| why.contains("empty command path")),
            "{:?}",
            cache.problem
        );
        assert!(cache.get(Path::new("/p"), &FileStamp::default()).is_none());
    }

    #[test]
    fn a_summary_holds_the_paths_alone() {
        let summary: Summary = serde_json::from_str(
            r#"{"name":"x","version":"1.0.0","plugin_api_version":"1.1.0","description":"d",
                "groups":[{"path":["x"],"about":"X things"}],
                "commands":[{"path":["x","list"],"about":"List","flags":[{"long":"all"}]},
                            {"path":["y"],"about":"Y"}]}"#,
        )
        .expect("parses");
        assert_eq!(summary.name, "x");
        assert_eq!(summary.commands, [vec!["x", "list"], vec!["y"]]);
        assert_eq!(summary.groups, [vec!["x"]]);
        assert_eq!(summary.first_words().collect::<Vec<_>>(), ["x", "y", "x"]);
    }

    #[test]
    fn an_entry_under_a_built_in_word_discards_the_cache_when_read() {
        let (_home, context) = saved_with_command_path_edited(r#"["auth","x"]"#);
        let cache = ManifestCache::open(&context);
        assert!(
            cache
                .problem
                .as_deref()
                .is_some_and(|why| why.contains("takes over the built-in command `auth`")),
            "{:?}",
            cache.problem
        );
    }

    #[test]
    fn an_unwritable_cache_is_an_error_to_log_not_to_fail_on() {
        let context = Context::for_tests(&[("XDG_CACHE_HOME", "/proc/baseten-cannot-write-here")]);
        let mut cache = ManifestCache::open(&context);
        cache.put(
            Path::new("/p"),
            FileStamp {
                size: 1,
                modified_ns: 1,
                ..FileStamp::default()
            },
            Examined::Failed("x".to_owned()),
        );
        assert!(cache.save().is_err());
    }
}
