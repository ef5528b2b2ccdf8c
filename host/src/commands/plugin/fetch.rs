//! Getting plugins from elsewhere: the plugin index named by `BASETEN_PLUGIN_INDEX`, and
//! artifacts by URL, through the host's HTTP client without any credential; checking their
//! sha256; and unpacking a `.tar.gz` that holds exactly one plugin file into a staging folder.

use std::cell::OnceCell;
use std::io::{Read, Write as _};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use url::Url;

use baseten_plugin_api::ErrorKind;

use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;
use crate::http::Downloader;
use crate::log::Logger;
use crate::plugins::PluginKind;
use crate::plugins::index::Index;

/// How long a download runs before it shows progress on a terminal.
const PROGRESS_AFTER: Duration = Duration::from_millis(300);
/// How often progress is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The index, where it was read from, and the URL its relative artifact URLs start from.
pub struct LoadedIndex {
    pub index: Index,
    /// As `BASETEN_PLUGIN_INDEX` says it.
    pub location: String,
    pub base: Url,
}

/// Downloads for one command: the HTTP client is built on first use.
pub struct Fetcher<'a> {
    context: &'a Context,
    logger: &'a Logger,
    downloader: OnceCell<Downloader>,
}

impl<'a> Fetcher<'a> {
    pub fn new(context: &'a Context, logger: &'a Logger) -> Self {
        Self {
            context,
            logger,
            downloader: OnceCell::new(),
        }
    }

    fn downloader(&self) -> Result<&Downloader, CliError> {
        if let Some(downloader) = self.downloader.get() {
            return Ok(downloader);
        }
        let downloader = Downloader::new(self.context)?;
        Ok(self.downloader.get_or_init(|| downloader))
    }

    /// The bytes at `url`: `https`, `http` to this machine, or `file` (from an index that is a
    /// file); progress on a terminal when it takes more than a moment.
    pub fn fetch(&self, url: &Url) -> Result<Vec<u8>, CliError> {
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| {
                CliError::usage(format!("cannot read `{url}`: it is not a local file path"))
            })?;
            return std::fs::read(&path).map_err(|error| {
                CliError::failure(format!("could not read `{}`: {error}", path.display()))
            });
        }
        check_download_url(url)?;
        let terminal = self.context.terminal();
        let shown = url
            .path_segments()
            .and_then(|mut segments| segments.next_back().map(str::to_owned))
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| url.as_str().to_owned());
        let started = Instant::now();
        let mut drawn: Option<Instant> = None;
        let mut progress = |read: u64, total: Option<u64>| {
            if !terminal.stderr_is_terminal() || started.elapsed() < PROGRESS_AFTER {
                return;
            }
            if drawn.is_some_and(|at| at.elapsed() < PROGRESS_EVERY) && total != Some(read) {
                return;
            }
            drawn = Some(Instant::now());
            let line = match total {
                Some(total) => format!("Downloading {shown}: {} of {}", size(read), size(total)),
                None => format!("Downloading {shown}: {}", size(read)),
            };
            let mut stderr = terminal.stderr();
            let _ = write!(stderr, "\r\x1b[2K{line}");
            let _ = stderr.flush();
        };
        let result = self.downloader()?.get(url, self.logger, &mut progress);
        if drawn.is_some() {
            let mut stderr = terminal.stderr();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
        result
    }

    /// The index `BASETEN_PLUGIN_INDEX` names, read and checked.
    pub fn index(&self) -> Result<LoadedIndex, CliError> {
        let Some(location) = self.context.var(env_vars::PLUGIN_INDEX)? else {
            return Err(no_index());
        };
        self.index_at(location)
    }

    /// The index at `location` (as `BASETEN_PLUGIN_INDEX` would name it), read and checked.
    pub fn index_at(&self, location: String) -> Result<LoadedIndex, CliError> {
        let invalid = |why: &str| {
            CliError::usage(format!(
                "invalid {} `{location}`: {why}",
                env_vars::PLUGIN_INDEX
            ))
            .with_hint("set it to an https URL, an http URL on this machine, or a file path")
        };
        let base = if location.contains("://") {
            let url = Url::parse(&location).map_err(|error| invalid(&error.to_string()))?;
            match url.scheme() {
                "https" => {}
                "http" if crate::remote::is_loopback(&url) => {}
                "http" => return Err(invalid("plain http is allowed only to this machine")),
                _ => return Err(invalid("the scheme must be https")),
            }
            url
        } else {
            let path = std::path::absolute(&location)
                .map_err(|error| invalid(&format!("cannot resolve the path: {error}")))?;
            Url::from_file_path(&path).map_err(|()| invalid("not a usable file path"))?
        };
        // A receipt records the index as an absolute path: `plugin upgrade` may run elsewhere.
        let location = match base.to_file_path() {
            Ok(path) if base.scheme() == "file" => path.display().to_string(),
            _ => location,
        };
        self.logger
            .info(&format!("* reading the plugin index `{location}`"));
        let bytes = self.fetch(&base).map_err(|error| CliError {
            message: format!("could not read the plugin index: {}", error.message),
            ..error
        })?;
        let index = Index::parse(&bytes).map_err(|why| {
            CliError::failure(format!("invalid plugin index `{location}`: {why}"))
                .with_hint("the index is the publisher's to fix: its format is in the README")
        })?;
        Ok(LoadedIndex {
            index,
            location,
            base,
        })
    }
}

/// The error when no index is set.
pub fn no_index() -> CliError {
    CliError::failure("no plugin index is set").with_hint(format!(
        "set {} to the URL or path of a plugin index, for example `export {}=https://example.com/baseten-plugins/index.json`",
        env_vars::PLUGIN_INDEX,
        env_vars::PLUGIN_INDEX
    ))
}

/// `https`, or `http` to this machine: what the API client accepts too.
pub fn check_download_url(url: &Url) -> Result<(), CliError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if crate::remote::is_loopback(url) => Ok(()),
        "http" => Err(CliError::usage(format!(
            "refusing to download `{url}`: plain http is allowed only to this machine"
        ))
        .with_hint("use an https URL")),
        other => Err(CliError::usage(format!(
            "cannot download `{url}`: the scheme `{other}` is not https"
        ))),
    }
}

/// `1.5 MiB`, `312 KiB`, `80 B`.
fn size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "a size shown to a person")]
    let value = bytes as f64;
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", value / f64::from(1 << 20))
    } else if bytes >= 1 << 10 {
        format!("{:.0} KiB", value / f64::from(1 << 10))
    } else {
        format!("{bytes} B")
    }
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Refuses `bytes` unless their digest is `expected` (any case): both digests are named.
pub fn check_digest(shown: &str, actual: &str, expected: &str) -> Result<(), CliError> {
    if actual.eq_ignore_ascii_case(expected) {
        return Ok(());
    }
    Err(CliError::failure(format!(
        "sha256 mismatch for `{shown}`: expected `{}`, got `{actual}`",
        expected.to_ascii_lowercase()
    ))
    .with_hint("the file is not the one published; nothing was installed"))
}

/// Whether `bytes` start like gzip.
fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// A plugin file written into `staging`, ready to be checked and installed.
pub struct Staged {
    pub path: PathBuf,
    pub kind: PluginKind,
}

/// Writes the plugin file `bytes` hold into `staging`: the file itself, named `file_name`, or
/// the one plugin file of a `.tar.gz`. `shown` names the download in errors; `limit` bounds what
/// an archive may unpack to.
pub fn stage(
    bytes: &[u8],
    file_name: &str,
    shown: &str,
    staging: &Path,
    limit: u64,
) -> Result<Staged, CliError> {
    let (name, content) = if is_gzip(bytes) {
        unpack_one(bytes, shown, limit)?
    } else {
        let name = Path::new(file_name)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| !name.is_empty() && name != "." && name != "..")
            .unwrap_or_else(|| "plugin".to_owned());
        (name, bytes.to_vec())
    };
    let lower = name.to_ascii_lowercase();
    let kind = if [".so", ".dylib", ".dll"]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
    {
        PluginKind::Library
    } else {
        PluginKind::Executable
    };
    let path = staging.join(&name);
    crate::files::write_atomically(&path, &content, 0o755, crate::files::Links::Replace).map_err(
        |error| CliError::failure(format!("could not write `{}`: {error}", path.display())),
    )?;
    Ok(Staged { path, kind })
}

/// The one plugin file of a `.tar.gz`: its file name and content. Entries with an absolute path
/// or `..`, links and special files are refused, as is an archive with no or several plugin
/// files (named `libbaseten_plugin_NAME.so` or the like, or `baseten-plugin-NAME`).
fn unpack_one(bytes: &[u8], shown: &str, limit: u64) -> Result<(String, Vec<u8>), CliError> {
    let refuse = |why: String| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot install from `{shown}`: {why}"),
        )
    };
    let unreadable = |error: std::io::Error| refuse(format!("the archive cannot be read: {error}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    let mut unpacked: u64 = 0;
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let path = entry.path().map_err(unreadable)?.into_owned();
        let shown_path = crate::sanitize::printable(&path.to_string_lossy());
        if path
            .components()
            .any(|component| !matches!(component, Component::Normal(_) | Component::CurDir))
        {
            return Err(refuse(format!(
                "the archive entry `{shown_path}` has an absolute path or `..`"
            )));
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(refuse(format!(
                "the archive entry `{shown_path}` is a link; only plain files are unpacked"
            )));
        }
        if !kind.is_file() {
            if matches!(
                kind,
                tar::EntryType::XGlobalHeader
                    | tar::EntryType::XHeader
                    | tar::EntryType::GNULongName
            ) {
                continue;
            }
            return Err(refuse(format!(
                "the archive entry `{shown_path}` is not a plain file"
            )));
        }
        if crate::plugins::name_from_file(&path).is_none() {
            continue;
        }
        let mut content = Vec::new();
        let room = limit.saturating_sub(unpacked);
        (&mut entry)
            .take(room.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(unreadable)?;
        unpacked = unpacked.saturating_add(u64::try_from(content.len()).unwrap_or(u64::MAX));
        if unpacked > limit {
            return Err(refuse(format!(
                "it unpacks to more than the limit of {limit} bytes"
            ))
            .with_hint(format!(
                "if a plugin this large is expected, raise {} (bytes)",
                env_vars::MAX_RESPONSE_BYTES
            )));
        }
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        found.push((name, content));
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(refuse(
            "the archive holds no plugin file (`libbaseten_plugin_NAME.so`, `.dylib`, `.dll` or `baseten-plugin-NAME`)"
                .to_owned(),
        )),
        several => {
            let names: Vec<String> = found.iter().map(|(name, _)| format!("`{name}`")).collect();
            Err(refuse(format!(
                "the archive holds {several} plugin files ({}); it must hold exactly one",
                names.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, content) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o755);
            header.set_entry_type(tar::EntryType::Regular);
            // Written raw, so that a test can put `..` or an absolute path in an entry.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *content).expect("appends");
        }
        builder
            .into_inner()
            .expect("finishes")
            .finish()
            .expect("compresses")
    }

    #[test]
    fn the_one_plugin_file_is_taken_and_other_files_skipped() {
        let bytes = archive(&[
            ("hello/README.md", b"read me"),
            ("hello/libbaseten_plugin_hello.so", b"library"),
        ]);
        let (name, content) = unpack_one(&bytes, "x.tar.gz", 1000).expect("one plugin");
        assert_eq!(name, "libbaseten_plugin_hello.so");
        assert_eq!(content, b"library");
    }

    #[test]
    fn no_or_several_plugin_files_are_refused() {
        let none =
            unpack_one(&archive(&[("README.md", b"x")]), "x.tar.gz", 1000).expect_err("refused");
        assert!(
            none.message.contains("holds no plugin file"),
            "{}",
            none.message
        );
        let two = unpack_one(
            &archive(&[("baseten-plugin-a", b"a"), ("libbaseten_plugin_b.so", b"b")]),
            "x.tar.gz",
            1000,
        )
        .expect_err("refused");
        assert!(
            two.message
                .contains("holds 2 plugin files (`baseten-plugin-a`, `libbaseten_plugin_b.so`)"),
            "{}",
            two.message
        );
    }

    #[test]
    fn entries_leaving_the_folder_are_refused() {
        for path in ["../baseten-plugin-a", "/tmp/baseten-plugin-a", "a/../../b"] {
            let error =
                unpack_one(&archive(&[(path, b"a")]), "x.tar.gz", 1000).expect_err("refused");
            assert!(
                error.message.contains("has an absolute path or `..`"),
                "{path}: {}",
                error.message
            );
        }
    }

    #[test]
    fn links_are_refused() {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder
            .append_link(&mut header, "baseten-plugin-a", "/bin/sh")
            .expect("appends");
        let bytes = builder
            .into_inner()
            .expect("finishes")
            .finish()
            .expect("compresses");
        let error = unpack_one(&bytes, "x.tar.gz", 1000).expect_err("refused");
        assert!(error.message.contains("is a link"), "{}", error.message);
    }

    #[test]
    fn an_archive_over_the_limit_is_refused() {
        let big = vec![0u8; 2000];
        let error = unpack_one(&archive(&[("baseten-plugin-a", &big)]), "x.tar.gz", 1000)
            .expect_err("refused");
        assert!(
            error.message.contains("more than the limit"),
            "{}",
            error.message
        );
    }

    #[test]
    fn digests_are_compared_in_any_case_and_both_shown() {
        let digest = sha256_hex(b"abc");
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(check_digest("x", &digest, &digest.to_uppercase()).is_ok());
        let error = check_digest("x", &digest, &"0".repeat(64)).expect_err("mismatch");
        assert!(error.message.contains(&digest) && error.message.contains(&"0".repeat(64)));
    }

    #[test]
    fn only_https_or_loopback_http_is_downloaded() {
        let check = |url: &str| check_download_url(&Url::parse(url).expect("a URL"));
        assert!(check("https://example.com/x").is_ok());
        assert!(check("http://127.0.0.1:9/x").is_ok());
        assert!(check("http://localhost/x").is_ok());
        assert!(check("http://example.com/x").is_err());
        assert!(check("ftp://example.com/x").is_err());
    }
}
