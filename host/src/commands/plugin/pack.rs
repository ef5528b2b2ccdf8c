//! `baseten plugin pack FILE --url URL [--target TRIPLE]`: prints the entry of a built plugin for
//! a plugin index (README, "Plugins"), so that publishing is copy, paste, upload.
//!
//! The manifest is read the way `plugin install` checks a plugin: a library in a child process
//! (one that crashes while loading cannot take `baseten` down), an executable with `describe`.
//! The sha256 is of the file as given, the one to upload to `URL`. A `.tar.gz` holding exactly
//! one plugin file (beside any other files, a README or a licence) is packed as that plugin: its
//! file is taken out into a private temporary folder to be checked, and the sha256 is the
//! archive's.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use baseten_plugin_api::protocol::Manifest;
use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec, ErrorKind, FlagSpec};

use crate::commands::plugin::install::kind_of_source;
use crate::commands::plugin::is_valid_name;
use crate::commands::{BuiltIn, Declare, Request};
use crate::context::Context;
use crate::error::CliError;
use crate::plugins::probe::{self, Examined};
use crate::plugins::{PluginKind, executable};

pub use crate::plugins::index::{ANY_TARGET, HOST_TARGET};

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["plugin", "pack"],
        "Print the plugin index entry of a built plugin, to publish it",
    )
    .long_about(
        "Print the entry of a built plugin for a plugin index (the JSON document \
         BASETEN_PLUGIN_INDEX names): its name, description, version, plugin API, target, \
         URL and sha256. Upload FILE to URL and add the entry to the index's `plugins` (or \
         its version to the plugin's `versions`). The plugin is checked as `baseten plugin \
         install` checks it, and its manifest read from it. The target is the platform this \
         baseten was built for, or `any` for a script (a file starting with `#!`), unless \
         --target says otherwise.",
    )
    .arg(
        ArgSpec::new(
            "file",
            "The built plugin library or executable to publish, or a .tar.gz holding it",
        )
            .value_name("FILE")
            .path()
            .required(),
    )
    .flag(
        FlagSpec::text(
            "url",
            "Where users will download FILE from: an https URL, or one relative to the index",
        )
        .value_name("URL")
        .required(),
    )
    .flag(
        FlagSpec::text(
            "target",
            "The Rust target triple FILE runs on, or `any`; default: this baseten's platform, \
             `any` for a script",
        )
        .value_name("TRIPLE"),
    )
    .example(
        "Print the index entry of a plugin built for this platform",
        "baseten plugin pack target/release/libbaseten_plugin_hello.so --url https://example.com/hello.so",
    )
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let Some(file) = request.path("file") else {
        return Err(CliError::usage("no plugin file given"));
    };
    let url = request.args.text("url").unwrap_or_default();
    check_url(url)?;
    let given_target = request.args.text("target");
    if let Some(target) = given_target {
        check_target(target)?;
    }
    request.logger.info(&format!(
        "* reading the manifest of `{}` as `plugin install` would",
        file.display()
    ));
    let extracted = if is_archive(file) && file.is_file() {
        Some(extract(file)?)
    } else {
        None
    };
    let (plugin_file, kind) = match &extracted {
        Some(extracted) => (extracted.file.as_path(), extracted.kind),
        None => (file, kind_of_source(file)),
    };
    let manifest =
        read_manifest(request.context, plugin_file, kind).map_err(|error| match &extracted {
            // Named as the author knows it, not by the temporary folder it was checked in.
            Some(extracted) => CliError {
                message: error
                    .message
                    .replacen(
                        &format!("`{}`", plugin_file.display()),
                        &format!("`{}` in `{}`", extracted.name, file.display()),
                        1,
                    )
                    .replace(&plugin_file.display().to_string(), &extracted.name),
                ..error
            },
            None => error,
        })?;
    let sha256 = sha256_of(file).map_err(|error| {
        CliError::failure(format!("could not read `{}`: {error}", file.display()))
    })?;
    let target = match given_target {
        Some(target) => target.to_owned(),
        None if kind == PluginKind::Executable && is_script(plugin_file) => ANY_TARGET.to_owned(),
        None => HOST_TARGET.to_owned(),
    };
    drop(extracted);
    let entry = index_entry(&manifest, &target, url, &sha256);
    let text = serde_json::to_string_pretty(&entry)
        .map_err(|error| CliError::failure(format!("could not encode the entry: {error}")))?;
    Ok(CommandOutput::lines(entry, text.lines().map(str::to_owned).collect())
        .notice(format!(
            "Upload `{}` so that it is served at `{url}`, then add this entry to the index's `plugins` (or its version to the `versions` of plugin `{}`)",
            file.display(),
            manifest.name
        )))
}

/// The plugin's entry in the index format: one version, one artifact. The plugin API is given as
/// `MAJOR.MINOR`: a patch of the plugin API never changes what a host can load.
pub fn index_entry(manifest: &Manifest, target: &str, url: &str, sha256: &str) -> Value {
    json!({
        "name": manifest.name,
        "description": manifest.description,
        "versions": [{
            "version": manifest.version,
            "plugin_api": major_minor(&manifest.plugin_api_version),
            "artifacts": [{
                "target": target,
                "url": url,
                "sha256": sha256,
            }],
        }],
    })
}

/// `1.1` of `1.1.0`; a version of another shape as it is.
fn major_minor(version: &str) -> String {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => version.to_owned(),
    }
}

/// Whether `path` is named like a gzip-compressed tar archive.
fn is_archive(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// What kind of plugin a file in an archive is, by its name: `baseten-plugin-<name>` is an
/// executable, `{lib}baseten_plugin_<name>.{so,dylib,dll}` a library; anything else is not a
/// plugin file.
fn plugin_kind_by_name(name: &str) -> Option<PluginKind> {
    let library = (name.starts_with("libbaseten_plugin_") || name.starts_with("baseten_plugin_"))
        && [".so", ".dylib", ".dll"]
            .iter()
            .any(|suffix| name.ends_with(suffix));
    if library {
        Some(PluginKind::Library)
    } else if name.starts_with("baseten-plugin-") && name.len() > "baseten-plugin-".len() {
        Some(PluginKind::Executable)
    } else {
        None
    }
}

/// The largest plugin file taken out of an archive: far above any real plugin, far below what
/// fills a disk.
const MAX_EXTRACTED_BYTES: u64 = 1 << 30;

/// The one plugin file of an archive, taken out into a private folder that goes away with it.
struct Extracted {
    folder: PathBuf,
    file: PathBuf,
    /// Its path inside the archive, for messages.
    name: String,
    kind: PluginKind,
}

impl Drop for Extracted {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.folder);
    }
}

/// Takes the one plugin file out of the `.tar.gz` at `archive`; an archive that cannot be read,
/// or holds no plugin file or more than one, is refused.
fn extract(archive: &Path) -> Result<Extracted, CliError> {
    let refuse = |why: String| {
        CliError::new(
            ErrorKind::Plugin,
            format!("cannot pack `{}`: {why}", archive.display()),
        )
    };
    let unreadable = |error: io::Error| refuse(format!("it is not a readable .tar.gz: {error}"));
    let file = File::open(archive).map_err(|error| {
        CliError::failure(format!("could not read `{}`: {error}", archive.display()))
    })?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut found: Option<Extracted> = None;
    for entry in tar.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let path = entry.path().map_err(unreadable)?.into_owned();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let Some(kind) = plugin_kind_by_name(name) else {
            continue;
        };
        let shown = path.display().to_string();
        if !entry.header().entry_type().is_file() {
            return Err(refuse(format!(
                "`{shown}` in it is not a regular file (a link or a folder)"
            )));
        }
        if let Some(first) = &found {
            return Err(refuse(format!(
                "it holds two plugin files, `{}` and `{shown}`",
                first.name
            ))
            .with_hint("publish one plugin file per archive"));
        }
        if entry.header().size().map_err(unreadable)? > MAX_EXTRACTED_BYTES {
            return Err(refuse(format!("`{shown}` in it is larger than 1 GiB")));
        }
        let folder = private_folder().map_err(|error| {
            CliError::failure(format!(
                "could not create a temporary folder to check `{shown}`: {error}"
            ))
        })?;
        let extracted = Extracted {
            file: folder.join(name),
            folder,
            name: shown,
            kind,
        };
        let mode = match kind {
            PluginKind::Executable => 0o755,
            PluginKind::Library => 0o644,
        };
        write_new(&extracted.file, &mut entry, mode).map_err(unreadable)?;
        found = Some(extracted);
    }
    found.ok_or_else(|| {
        refuse("it holds no plugin file (`baseten-plugin-<name>` or `libbaseten_plugin_<name>.so`, `.dylib`, `baseten_plugin_<name>.dll`)".to_owned())
    })
}

/// A new folder only this user can enter, in the system's temporary folder.
fn private_folder() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    let mut builder = fs::DirBuilder::new();
    // The folder itself is new: one left by someone else is never used.
    builder.recursive(false);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or_default();
        let folder = base.join(format!(
            "baseten-pack-{}-{nanos:x}-{attempt}",
            std::process::id()
        ));
        match builder.create(&folder) {
            Ok(()) => return Ok(folder),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "every name tried was taken",
    ))
}

/// Writes what `from` reads to a new file at `path` with `mode`.
fn write_new(path: &Path, from: &mut impl Read, mode: u32) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    io::copy(&mut from.take(MAX_EXTRACTED_BYTES), &mut file)?;
    file.sync_all()
}

/// The lowercase hex sha256 of a file's bytes.
pub fn sha256_of(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// Whether the file is a script: its first bytes are `#!`, so it runs wherever its interpreter
/// does.
fn is_script(path: &Path) -> bool {
    let mut start = [0u8; 2];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut start))
        .is_ok_and(|()| &start == b"#!")
}

/// Users download from the URL with `plugin install`: https, plain http only to a loopback
/// address (as for the API), or a path relative to the index's own URL.
fn check_url(url: &str) -> Result<(), CliError> {
    let refuse = |why: &str| {
        CliError::usage(format!("invalid --url `{url}`: {why}")).with_hint(
            "pass the https URL the file will be downloaded from, or a path relative to the index",
        )
    };
    if url.is_empty() {
        return Err(refuse("it is empty"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("it holds a space or a control character"));
    }
    let Some((scheme, _)) = url.split_once("://") else {
        // Relative to the index; a `scheme:` without `//` (`file:x`, `data:`) is not a path.
        return match url.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                Err(refuse(
                    "only https URLs and paths relative to the index are downloaded",
                ))
            }
            _ => Ok(()),
        };
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => match url::Url::parse(url) {
            Ok(parsed) if parsed.host().is_some() => Ok(()),
            _ => Err(refuse("it is not a URL")),
        },
        "http" => match url::Url::parse(url) {
            Ok(parsed) if is_loopback(&parsed) => Ok(()),
            Ok(_) => Err(refuse(
                "plain http is downloaded only from a loopback address; use https",
            )),
            Err(_) => Err(refuse("it is not a URL")),
        },
        _ => Err(refuse(
            "only https URLs and paths relative to the index are downloaded",
        )),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// `any`, or what a Rust target triple can be: lowercase words of letters, digits, `_` and `.`
/// joined by `-`, at least two of them.
fn check_target(target: &str) -> Result<(), CliError> {
    let words: Vec<&str> = target.split('-').collect();
    let triple = words.len() >= 2
        && words.iter().all(|word| {
            !word.is_empty()
                && word.bytes().all(|byte| {
                    byte.is_ascii_lowercase()
                        || byte.is_ascii_digit()
                        || byte == b'_'
                        || byte == b'.'
                })
        });
    if target == ANY_TARGET || triple {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "invalid --target `{target}`: it is not a Rust target triple or `any`"
        ))
        .with_hint(format!("for example `{HOST_TARGET}`, this baseten's")))
    }
}

/// Reads and checks the manifest of the plugin file at `file` as `plugin install` does.
fn read_manifest(context: &Context, file: &Path, kind: PluginKind) -> Result<Manifest, CliError> {
    let refuse =
        |kind, why: String| CliError::new(kind, format!("cannot pack `{}`: {why}", file.display()));
    if file.is_dir() {
        return Err(refuse(ErrorKind::Usage, "it is a folder".to_owned())
            .with_hint("pass the path of a built plugin file"));
    }
    if !file.is_file() {
        return Err(refuse(ErrorKind::Failure, "no such file".to_owned())
            .with_hint("build the plugin first: `cargo build --release`"));
    }
    let absolute: PathBuf = std::path::absolute(file).map_err(|error| {
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
        Examined::Failed(why) | Examined::Incompatible { reason: why, .. } => {
            let (message, hint) = match why.split_once("; ") {
                Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
                None => (why, None),
            };
            return Err(with_hint(
                refuse(ErrorKind::Plugin, message),
                answer.hint.or(hint),
            ));
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
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_target_is_recorded() {
        assert!(check_target(HOST_TARGET).is_ok(), "{HOST_TARGET}");
    }

    #[test]
    fn targets_are_triples_or_any() {
        for good in [
            "any",
            "x86_64-unknown-linux-gnu",
            "aarch64-apple-darwin",
            "thumbv7em-none-eabihf",
            "wasm32-wasip1",
        ] {
            assert!(check_target(good).is_ok(), "{good}");
        }
        for bad in ["", "linux", "X86_64-linux", "a--b", "a b-c", "any-"] {
            assert_eq!(
                check_target(bad).expect_err(bad).kind,
                ErrorKind::Usage,
                "{bad}"
            );
        }
    }

    #[test]
    fn urls_are_https_loopback_http_or_relative() {
        for good in [
            "https://example.com/hello.so",
            "http://127.0.0.1:8080/hello.so",
            "http://localhost/hello.so",
            "hello-0.1.0-linux.tar.gz",
            "../artifacts/hello.so",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "http://example.com/hello.so",
            "ftp://example.com/hello.so",
            "file:///tmp/hello.so",
            "data:text/plain,x",
            "https://",
            "a b.so",
        ] {
            assert_eq!(
                check_url(bad).expect_err(bad).kind,
                ErrorKind::Usage,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_plugin_api_is_given_as_major_and_minor() {
        assert_eq!(major_minor("1.1.0"), "1.1");
        assert_eq!(major_minor("2"), "2");
    }

    #[test]
    fn the_sha256_is_of_the_bytes() {
        let folder = tempfile::tempdir().expect("a temp folder");
        let path = folder.path().join("x");
        std::fs::write(&path, b"abc").expect("writes");
        assert_eq!(
            sha256_of(&path).expect("hashes"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
