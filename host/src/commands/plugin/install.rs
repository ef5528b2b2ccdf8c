//! `baseten plugin install SOURCE [--sha256 HEX] [--force]`: gets a plugin from a file, a URL or
//! the plugin index, checks that it is a plugin this baseten can use, then copies it atomically
//! into the user plugin folder with a receipt beside it.
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

use url::Url;

use crate::commands::plugin::fetch::{self, Fetcher, LoadedIndex};
use crate::commands::plugin::{
    command_lines, file_name, identity, is_valid_name, overlaps, user_folder,
};
use crate::commands::{BuiltIn, Declare, Request};
use crate::context::Context;
use crate::error::CliError;
use crate::files::{self, Links};
use crate::plugins::index::{self, HOST_TARGET, Resolved, is_sha256};
use crate::plugins::probe::{self, Examined};
use crate::plugins::receipt::{self, Receipt, Source};
use crate::plugins::{
    PluginKind, PluginRecord, PluginStatus, executable, executable_file_name_for, search_folders,
};

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["plugin", "install"],
        "Install a plugin from a file, a URL or the plugin index",
    )
    .long_about(
        "Install a plugin library (a `libbaseten_plugin_NAME.so`, `.dylib` or `.dll` built \
         with the baseten plugin SDK) or an executable plugin (a program speaking the \
         plugin protocol, installed as `baseten-plugin-NAME`) into the user plugin folder. \
         SOURCE is a file path (a bare file name means the file in the current folder), an \
         https URL of a plugin file or of a `.tar.gz` holding exactly one, or NAME or \
         NAME@VERSION from the plugin index named by BASETEN_PLUGIN_INDEX (NAME takes the \
         newest version this baseten can run; NAME@VERSION pins it). Downloads carry no \
         credential, and a file from the index must have the sha256 the index gives. The \
         plugin is loaded or asked for its manifest and checked first: it must be a baseten \
         plugin built for a compatible plugin API. A plugin of the same name in the user \
         folder is replaced, and a receipt recording where it came from is written beside it.",
    )
    .arg(
        ArgSpec::new(
            "source",
            "A plugin file, an https URL, or NAME[@VERSION] from the plugin index",
        )
        .value_name("SOURCE")
        .path()
        .required(),
    )
    .flag(
        FlagSpec::text(
            "sha256",
            "Install only if the downloaded file has this SHA-256 (64 hex digits); pins the plugin",
        )
        .value_name("HEX"),
    )
    .flag(FlagSpec::switch(
        "force",
        "Install even if another plugin already provides one of its commands",
    ))
    .example(
        "Install a plugin you built",
        "baseten plugin install target/release/libbaseten_plugin_hello.so",
    )
    .example(
        "Install the newest version of `hello` from the plugin index",
        "baseten plugin install hello",
    )
    .example(
        "Install version 0.1.0 of `hello` and keep it there on `plugin upgrade --all`",
        "baseten plugin install hello@0.1.0",
    )
    .built_in(run)
}

/// What SOURCE names.
#[derive(Debug, PartialEq, Eq)]
pub enum SourceArg {
    Path(PathBuf),
    Url(Url),
    Index {
        name: String,
        version: Option<String>,
    },
}

/// A file when there is one by that name or it looks like a path; a URL when it has a scheme;
/// else `NAME` or `NAME@VERSION` of the index.
pub fn classify(source: &Path) -> Result<SourceArg, CliError> {
    let text = source.to_str().unwrap_or_default();
    if text.contains("://") {
        let url = Url::parse(text)
            .map_err(|error| CliError::usage(format!("invalid URL `{text}`: {error}")))?;
        fetch::check_download_url(&url)?;
        return Ok(SourceArg::Url(url));
    }
    let looks_like_path = source.exists()
        || text.is_empty()
        || text.contains(std::path::MAIN_SEPARATOR)
        || text.contains('/')
        || text.starts_with('.');
    if !looks_like_path {
        let (name, version) = match text.split_once('@') {
            Some((name, version)) => (name, Some(version)),
            None => (text, None),
        };
        let version_ok = version.is_none_or(|version| semver::Version::parse(version).is_ok());
        if is_valid_name(name) && version_ok {
            return Ok(SourceArg::Index {
                name: name.to_owned(),
                version: version.map(str::to_owned),
            });
        }
    }
    Ok(SourceArg::Path(source.to_path_buf()))
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let Some(source) = request.path("source") else {
        return Err(CliError::usage("no plugin given"));
    };
    let force = request.args.switch("force");
    let pinned_digest = match request.args.text("sha256") {
        Some(hex) if is_sha256(hex) => Some(hex.to_ascii_lowercase()),
        Some(hex) => {
            // Not repeated: a value pasted into the wrong place may be a secret.
            return Err(CliError::usage(format!(
                "invalid --sha256: expected 64 hexadecimal digits, got {} characters",
                hex.chars().count()
            )));
        }
        None => None,
    };
    match classify(source)? {
        SourceArg::Path(path) => {
            let options = Options {
                force,
                pinned: pinned_digest.is_some(),
                ..Options::default()
            };
            install_path(request, &path, pinned_digest.as_deref(), &options)
                .map(|installed| installed.output)
        }
        SourceArg::Url(url) => {
            let fetcher = Fetcher::new(request.context, request.logger);
            let options = Options {
                force,
                pinned: pinned_digest.is_some(),
                ..Options::default()
            };
            install_url(request, &fetcher, &url, pinned_digest.as_deref(), &options)
                .map(|installed| installed.output)
        }
        SourceArg::Index { name, version } => {
            if request
                .context
                .var(crate::env_vars::PLUGIN_INDEX)?
                .is_none()
            {
                let text = source.display();
                return Err(CliError::failure(format!(
                    "cannot install `{text}`: there is no such file, and no plugin index is set to look `{name}` up in"
                ))
                .with_hint(format!(
                    "pass the path of a plugin file (`./{text}` for one in this folder), or set {} to the URL or path of a plugin index",
                    crate::env_vars::PLUGIN_INDEX
                )));
            }
            let fetcher = Fetcher::new(request.context, request.logger);
            let pinned = version.is_some() || pinned_digest.is_some();
            install_from_index(
                request,
                &fetcher,
                &name,
                version.as_deref(),
                pinned_digest.as_deref(),
                force,
                pinned,
            )
            .map(|installed| installed.output)
        }
    }
}

/// How an install goes beyond the file itself.
#[derive(Default)]
pub struct Options {
    pub force: bool,
    /// The receipt says pinned.
    pub pinned: bool,
    /// The name and version the file must declare (what the index said it is).
    pub expected: Option<(String, String)>,
    /// Install only a version newer than this one (`plugin upgrade`).
    pub newer_than: Option<String>,
    /// Check, but change nothing (`plugin upgrade --dry-run`).
    pub dry_run: bool,
}

/// Whether version `candidate` is newer than `current` (semver; text that is not a version is
/// never newer).
pub fn is_newer(candidate: &str, current: &str) -> bool {
    match (
        semver::Version::parse(candidate),
        semver::Version::parse(current),
    ) {
        (Ok(candidate), Ok(current)) => candidate > current,
        _ => false,
    }
}

/// A plugin installed (or only checked): its manifest, the version it replaced, and what to show.
pub struct Installed {
    pub manifest: Manifest,
    pub output: CommandOutput,
    /// Whether anything was installed: not for a dry run or a version that is not newer.
    pub changed: bool,
}

/// Installs the file at `path` as it is today's `plugin install PATH` does, with a receipt.
fn install_path(
    request: &Request<'_>,
    path: &Path,
    pinned_digest: Option<&str>,
    options: &Options,
) -> Result<Installed, CliError> {
    let kind = kind_of_source(path);
    let shown = path.display().to_string();
    // Read once for its digest; what is checked and copied is the file as it is then.
    let digest = if path.is_file() {
        let bytes = fs::read(path).map_err(|error| {
            CliError::failure(format!("cannot install `{shown}`: cannot read it: {error}"))
        })?;
        let digest = fetch::sha256_hex(&bytes);
        if let Some(expected) = pinned_digest {
            fetch::check_digest(&shown, &digest, expected)?;
        }
        Some(digest)
    } else {
        None
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    install_file(request, path, &shown, kind, options, |manifest| {
        Receipt::new(
            manifest,
            Source::File {
                path: absolute.display().to_string(),
            },
            digest.clone().unwrap_or_default(),
            options.pinned,
        )
    })
}

/// Downloads `url` (checking `expected_digest` when given), then installs what it holds.
pub fn install_url(
    request: &Request<'_>,
    fetcher: &Fetcher<'_>,
    url: &Url,
    expected_digest: Option<&str>,
    options: &Options,
) -> Result<Installed, CliError> {
    install_download(request, fetcher, url, expected_digest, options, |digest| {
        Box::new(move |manifest: &Manifest| {
            let source = Source::Url {
                url: url.to_string(),
            };
            Receipt::new(manifest, source, digest.clone(), options.pinned)
        })
    })
}

/// Installs `NAME` (the newest version this host can run) or `NAME@VERSION` from the index.
pub fn install_from_index(
    request: &Request<'_>,
    fetcher: &Fetcher<'_>,
    name: &str,
    version: Option<&str>,
    pinned_digest: Option<&str>,
    force: bool,
    pinned: bool,
) -> Result<Installed, CliError> {
    let loaded = fetcher.index()?;
    let resolved = loaded
        .index
        .resolve(name, version, HOST_TARGET)
        .map_err(|why| {
            let kind = if loaded.index.plugin(name).is_none() {
                ErrorKind::NotFound
            } else {
                ErrorKind::Failure
            };
            CliError::new(kind, format!("cannot install `{name}`: {why}")).with_hint(format!(
                "run `baseten plugin search --all` to see what the index `{}` offers",
                loaded.location
            ))
        })?;
    let options = Options {
        force,
        pinned,
        ..Options::default()
    };
    install_resolved(request, fetcher, &loaded, &resolved, pinned_digest, options)
}

/// Installs what the index resolved to.
pub fn install_resolved(
    request: &Request<'_>,
    fetcher: &Fetcher<'_>,
    loaded: &LoadedIndex,
    resolved: &Resolved<'_>,
    pinned_digest: Option<&str>,
    options: Options,
) -> Result<Installed, CliError> {
    let pinned = options.pinned;
    let url = index::artifact_url(&loaded.base, resolved.artifact).map_err(|why| {
        CliError::failure(format!("invalid plugin index `{}`: {why}", loaded.location))
    })?;
    if url.scheme() == "file" && loaded.base.scheme() != "file" {
        return Err(CliError::failure(format!(
            "invalid plugin index `{}`: artifact URL `{url}` is a local file",
            loaded.location
        )));
    }
    if let Some(digest) = pinned_digest
        && !digest.eq_ignore_ascii_case(&resolved.artifact.sha256)
    {
        return Err(fetch::check_digest(
            &format!("{}@{}", resolved.plugin.name, resolved.version.version),
            &resolved.artifact.sha256.to_ascii_lowercase(),
            digest,
        )
        .expect_err("the digests differ"));
    }
    let options = Options {
        expected: Some((
            resolved.plugin.name.clone(),
            resolved.version.version.clone(),
        )),
        ..options
    };
    let index_location = loaded.location.clone();
    let name = resolved.plugin.name.clone();
    install_download(
        request,
        fetcher,
        &url,
        Some(&resolved.artifact.sha256),
        &options,
        |digest| {
            Box::new(move |manifest: &Manifest| {
                let source = Source::Index {
                    index: index_location.clone(),
                    name: name.clone(),
                };
                Receipt::new(manifest, source, digest.clone(), pinned)
            })
        },
    )
}

type MakeReceipt<'a> = Box<dyn Fn(&Manifest) -> Receipt + 'a>;

/// Downloads `url`, checks its digest, unpacks it into a staging folder in the user plugin
/// folder (removed afterwards) and installs the plugin file from there.
fn install_download<'a>(
    request: &Request<'_>,
    fetcher: &Fetcher<'_>,
    url: &Url,
    expected_digest: Option<&str>,
    options: &Options,
    make_receipt: impl FnOnce(String) -> MakeReceipt<'a>,
) -> Result<Installed, CliError> {
    let shown = url.to_string();
    let folder = plugin_folder(request.context)?;
    let bytes = fetcher.fetch(url)?;
    let digest = fetch::sha256_hex(&bytes);
    if let Some(expected) = expected_digest {
        fetch::check_digest(&shown, &digest, expected)?;
    }
    prepare_folder(&folder)?;
    remove_abandoned_staging(&folder);
    let staging = tempfile::Builder::new()
        .prefix(&format!("{STAGING_PREFIX}{}-", std::process::id()))
        .tempdir_in(&folder)
        .map_err(|error| {
            CliError::failure(format!(
                "could not create a staging folder in `{}`: {error}",
                folder.display()
            ))
        })?;
    let file_name = url
        .path_segments()
        .and_then(|mut segments| segments.next_back().map(str::to_owned))
        .unwrap_or_default();
    let limit = crate::http::response_limit(request.context)?;
    let staged = fetch::stage(&bytes, &file_name, &shown, staging.path(), limit)?;
    drop(bytes);
    let make_receipt = make_receipt(digest);
    install_file(
        request,
        &staged.path,
        &shown,
        staged.kind,
        options,
        |manifest| make_receipt(manifest),
    )
}

/// Staging folders in the user plugin folder start with this, then the pid of the process using
/// it: never taken for a plugin.
pub const STAGING_PREFIX: &str = ".staging-";

/// Removes the staging folders of installs that were killed (Ctrl-C exits at once, without
/// cleaning up): those whose process is gone. A running install's folder is left alone.
fn remove_abandoned_staging(folder: &Path) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(STAGING_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let is_folder = entry
            .file_type()
            .is_ok_and(|kind| kind.is_dir() && !kind.is_symlink());
        if is_folder && pid != std::process::id() && !process_exists(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether a process `pid` exists (one of another user counts).
#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let answer = unsafe { libc::kill(pid, 0) };
    answer == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Elsewhere, every staging folder is taken to be in use.
#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

/// The user plugin folder, or why there is none.
pub fn plugin_folder(context: &Context) -> Result<PathBuf, CliError> {
    user_folder(context).ok_or_else(|| {
        CliError::failure("cannot tell where the user plugin folder is: HOME is not set")
            .with_hint("set HOME or XDG_DATA_HOME")
    })
}

/// Checks the plugin file at `file` (`shown` in messages) and installs it atomically into the
/// user plugin folder, then writes its receipt.
pub fn install_file(
    request: &Request<'_>,
    file: &Path,
    shown: &str,
    kind: PluginKind,
    options: &Options,
    make_receipt: impl FnOnce(&Manifest) -> Receipt,
) -> Result<Installed, CliError> {
    let force = options.force;
    request.logger.info(&format!(
        "* loading `{shown}` to check it is a compatible plugin"
    ));
    let (source, manifest) = check_plugin_file(
        request.context,
        file,
        &format!("cannot install `{shown}`"),
        kind,
    )?;
    if let Some((name, version)) = &options.expected
        && (&manifest.name != name || &manifest.version != version)
    {
        return Err(CliError::new(
            ErrorKind::Plugin,
            format!(
                "cannot install `{shown}`: the index lists it as plugin `{name}` {version}, but it is plugin `{}` {}",
                manifest.name, manifest.version
            ),
        )
        .with_hint("the index is the publisher's to fix; nothing was installed"));
    }
    let not_newer = options
        .newer_than
        .as_ref()
        .is_some_and(|current| !is_newer(&manifest.version, current));
    if not_newer || options.dry_run {
        return Ok(Installed {
            manifest,
            output: CommandOutput::lines(json!(null), Vec::new()),
            changed: false,
        });
    }
    let source = source.as_path();
    let folder = plugin_folder(request.context)?;
    let receipt = make_receipt(&manifest);
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
            "source": receipt.source,
            "sha256": receipt.sha256,
            "pinned": receipt.pinned,
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
    // Written after the plugin: a run cut short in between leaves a receipt of the previous
    // version, which does not count for the new one (see `receipt::read_for`).
    if let Err(error) = receipt::write(&folder, &receipt) {
        output = output.notice(format!(
            "warning: could not write the receipt `{}`: {error}",
            receipt::path_for(&folder, &manifest.name).display()
        ));
    }
    Ok(Installed {
        manifest,
        output,
        changed: true,
    })
}

/// Loads the plugin file in a child process (a library that crashes while loading cannot take
/// `baseten` down; an executable answers `describe`) and reads and checks its manifest, as
/// discovery would: what `plugin install` installs and `plugin pack` publishes. `source` names
/// the file from the current folder, never one the dynamic loader would search for; `refused`
/// starts every error (``cannot install `x` ``).
pub fn check_plugin_file(
    context: &Context,
    source: &Path,
    refused: &str,
    kind: PluginKind,
) -> Result<(PathBuf, Manifest), CliError> {
    let refuse = |kind, why: String| CliError::new(kind, format!("{refused}: {why}"));
    if source.is_dir() {
        return Err(refuse(ErrorKind::Usage, "it is a folder".to_owned())
            .with_hint("pass the path of a built plugin file"));
    }
    if !source.is_file() {
        return Err(
            refuse(ErrorKind::Failure, "no such file".to_owned()).with_hint(
                "pass the path of a built plugin file: `cargo build --release` builds one",
            ),
        );
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
        let error = check_plugin_file(
            &Context::for_tests(&[]),
            Path::new("/nonexistent/libbaseten_plugin_x.so"),
            "cannot install `/nonexistent/libbaseten_plugin_x.so`",
            PluginKind::Library,
        )
        .expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Failure);
        assert!(error.message.contains("no such file"), "{}", error.message);
    }

    #[test]
    fn a_source_is_a_file_a_url_or_a_name_of_the_index() {
        let index = |name: &str, version: Option<&str>| SourceArg::Index {
            name: name.to_owned(),
            version: version.map(str::to_owned),
        };
        let classified = |text: &str| classify(Path::new(text)).expect("classified");
        assert_eq!(classified("hello"), index("hello", None));
        assert_eq!(
            classified("org-api-key@1.2.3"),
            index("org-api-key", Some("1.2.3"))
        );
        assert_eq!(
            classified("https://example.com/x.tar.gz"),
            SourceArg::Url(Url::parse("https://example.com/x.tar.gz").expect("a URL"))
        );
        for path in [
            "./hello",
            "target/libbaseten_plugin_x.so",
            "Hello",
            "hello@latest",
            "",
        ] {
            assert_eq!(
                classified(path),
                SourceArg::Path(PathBuf::from(path)),
                "{path}"
            );
        }
        // A file of that name wins over the index.
        let folder = tempfile::tempdir().expect("a temp folder");
        let file = folder.path().join("hello");
        fs::write(&file, b"x").expect("writes");
        assert_eq!(
            classified(&file.display().to_string()),
            SourceArg::Path(file.clone())
        );
        let error = classify(Path::new("http://example.com/x")).expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Usage);
    }

    #[test]
    fn only_a_greater_semantic_version_is_newer() {
        assert!(is_newer("0.2.0", "0.1.0"));
        assert!(is_newer("0.10.0", "0.9.0"));
        assert!(!is_newer("0.1.0", "0.1.0"));
        assert!(!is_newer("0.1.0", "0.2.0"));
        assert!(!is_newer("two", "0.1.0"));
    }

    #[test]
    fn a_folder_is_a_usage_error() {
        let folder = tempfile::tempdir().expect("a temp folder");
        let error = check_plugin_file(
            &Context::for_tests(&[]),
            folder.path(),
            "cannot install `x`",
            PluginKind::Library,
        )
        .expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(
            error.message.contains("it is a folder"),
            "{}",
            error.message
        );
    }
}
