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
use std::io::Read;
use std::path::{Path, PathBuf};

use baseten_plugin_api::protocol::Manifest;
use baseten_plugin_api::{ArgSpec, CommandOutput, CommandSpec, ErrorKind, FlagSpec};

use crate::commands::plugin::fetch::sha256_hex;
use crate::commands::plugin::install::{check_plugin_file, kind_of_source};
use crate::commands::plugin::major_minor;
use crate::commands::{BuiltIn, Declare, Request};
use crate::context::Context;
use crate::error::CliError;
use crate::plugins::PluginKind;
use crate::plugins::archive::{self, Refused};
use crate::plugins::index::{Artifact, IndexPlugin, IndexVersion};

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
    let read = || {
        fs::read(file).map_err(|error| {
            CliError::failure(format!("could not read `{}`: {error}", file.display()))
        })
    };
    // Read once: the archive's plugin file and the digest come from the same bytes.
    let archive_bytes = if is_archive(file) && file.is_file() {
        Some(read()?)
    } else {
        None
    };
    let extracted = match &archive_bytes {
        Some(bytes) => Some(extract(file, bytes)?),
        None => None,
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
    let sha256 = sha256_hex(&match archive_bytes {
        Some(bytes) => bytes,
        None => read()?,
    });
    let target = match given_target {
        Some(target) => target.to_owned(),
        None if kind == PluginKind::Executable && is_script(plugin_file) => ANY_TARGET.to_owned(),
        None => HOST_TARGET.to_owned(),
    };
    drop(extracted);
    let entry = index_entry(&manifest, &target, url, &sha256);
    let encode = |error: serde_json::Error| {
        CliError::failure(format!("could not encode the entry: {error}"))
    };
    let text = serde_json::to_string_pretty(&entry).map_err(encode)?;
    let payload = serde_json::to_value(&entry).map_err(encode)?;
    Ok(CommandOutput::lines(payload, text.lines().map(str::to_owned).collect())
        .notice(format!(
            "Upload `{}` so that it is served at `{url}`, then add this entry to the index's `plugins` (or its version to the `versions` of plugin `{}`)",
            file.display(),
            manifest.name
        )))
}

/// The plugin's entry in the index format: one version, one artifact. The plugin API is given as
/// `MAJOR.MINOR`: a patch of the plugin API never changes what a host can load.
pub fn index_entry(manifest: &Manifest, target: &str, url: &str, sha256: &str) -> IndexPlugin {
    IndexPlugin {
        name: manifest.name.clone(),
        description: manifest.description.clone(),
        homepage: None,
        versions: vec![IndexVersion {
            version: manifest.version.clone(),
            plugin_api: major_minor(&manifest.plugin_api_version),
            artifacts: vec![Artifact {
                target: target.to_owned(),
                url: url.to_owned(),
                sha256: sha256.to_owned(),
            }],
        }],
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

/// The largest plugin file taken out of an archive: far above any real plugin, far below what
/// fills a disk.
const MAX_EXTRACTED_BYTES: u64 = 1 << 30;

/// The one plugin file of an archive, taken out into a private folder that goes away with it.
struct Extracted {
    _folder: tempfile::TempDir,
    file: PathBuf,
    /// Its path inside the archive, for messages.
    name: String,
    kind: PluginKind,
}

/// Takes the one plugin file out of `bytes`, the `.tar.gz` at `archive`, as `plugin install`
/// would; an archive `plugin install` refuses is refused.
fn extract(archive: &Path, bytes: &[u8]) -> Result<Extracted, CliError> {
    let file = archive::unpack_one(bytes, MAX_EXTRACTED_BYTES).map_err(|refused| {
        let error = CliError::new(
            ErrorKind::Plugin,
            format!("cannot pack `{}`: {refused}", archive.display()),
        );
        match refused {
            Refused::Several(_) => error.with_hint("publish one plugin file per archive"),
            _ => error,
        }
    })?;
    let folder = tempfile::Builder::new()
        .prefix("baseten-pack-")
        .tempdir()
        .map_err(|error| {
            CliError::failure(format!(
                "could not create a temporary folder to check `{}`: {error}",
                file.path
            ))
        })?;
    let kind = archive::kind_by_name(&file.name);
    let mode = match kind {
        PluginKind::Executable => 0o755,
        PluginKind::Library => 0o644,
    };
    let path = folder.path().join(&file.name);
    crate::files::write_atomically(&path, &file.content, mode, crate::files::Links::Replace)
        .map_err(|error| {
            CliError::failure(format!("could not write `{}`: {error}", path.display()))
        })?;
    Ok(Extracted {
        _folder: folder,
        file: path,
        name: file.path,
        kind,
    })
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
            Ok(parsed) if crate::remote::is_loopback(&parsed) => Ok(()),
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
    check_plugin_file(
        context,
        file,
        &format!("cannot pack `{}`", file.display()),
        kind,
    )
    .map(|(_, manifest)| manifest)
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
}
