//! Getting plugins from elsewhere: the plugin index named by `BASETEN_PLUGIN_INDEX`, and
//! artifacts by URL, through the host's HTTP client without any credential; checking their
//! sha256; and unpacking a `.tar.gz` that holds exactly one plugin file into a staging folder.

use std::cell::OnceCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use url::Url;

use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;
use crate::http::Downloader;
use crate::log::Logger;
use crate::plugins::index::Index;
use crate::plugins::{PluginKind, archive};

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
    let (name, content) = if archive::is_gzip(bytes) {
        let file = archive::unpack_one(bytes, limit).map_err(|refused| {
            let error = CliError::failure(format!("cannot install from `{shown}`: {refused}"));
            match refused {
                archive::Refused::TooLarge(_) => error.with_hint(format!(
                    "if a plugin this large is expected, raise {} (bytes)",
                    env_vars::MAX_RESPONSE_BYTES
                )),
                _ => error,
            }
        })?;
        (file.name, file.content)
    } else {
        let name = Path::new(file_name)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| !name.is_empty() && name != "." && name != "..")
            .unwrap_or_else(|| "plugin".to_owned());
        (name, bytes.to_vec())
    };
    let kind = archive::kind_by_name(&name);
    let path = staging.join(&name);
    crate::files::write_atomically(&path, &content, 0o755, crate::files::Links::Replace).map_err(
        |error| CliError::failure(format!("could not write `{}`: {error}", path.display())),
    )?;
    Ok(Staged { path, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

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
