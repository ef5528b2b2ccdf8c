//! Receipts: what `plugin install` records beside each plugin it installs (where it came from,
//! its version and sha256, when, and whether it is pinned), for `plugin list`, `plugin info`
//! and `plugin upgrade`. A plugin copied into the folder by hand has none.
//!
//! A receipt is `NAME.receipt.json` in the plugin's folder: a name discovery never takes for a
//! plugin (no `baseten-plugin-` or `baseten_plugin_` prefix, and a `.json` suffix).

use std::path::{Path, PathBuf};

use baseten_plugin_api::protocol::Manifest;
use serde::{Deserialize, Serialize};

use crate::files::{self, Links};

/// Where an installed plugin came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// `plugin install NAME[@VERSION]`: the plugin `name` of the index at `index`.
    Index { index: String, name: String },
    /// `plugin install URL`.
    Url { url: String },
    /// `plugin install PATH`.
    File { path: String },
}

impl Source {
    /// `index hello`, `url https://…`, `file /path/…`: one line.
    pub fn describe(&self) -> String {
        match self {
            Self::Index { name, .. } => format!("index {name}"),
            Self::Url { url } => format!("url {url}"),
            Self::File { path } => format!("file {path}"),
        }
    }
}

/// What was installed, from where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub name: String,
    pub version: String,
    pub source: Source,
    /// SHA-256 of the plugin file as downloaded or copied (the archive's, for an archive).
    pub sha256: String,
    /// UTC, `2026-12-03T10:00:00Z`.
    pub installed_at: String,
    /// Installed as `NAME@VERSION` or with `--sha256`: `plugin upgrade` leaves it alone unless
    /// it is named.
    pub pinned: bool,
}

impl Receipt {
    /// The receipt of a plugin installed now: its name and version as its manifest declares them.
    pub fn new(manifest: &Manifest, source: Source, sha256: String, pinned: bool) -> Self {
        Self {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            source,
            sha256,
            installed_at: now_utc(),
            pinned,
        }
    }
}

/// The receipt file of the plugin called `name` in `folder`.
pub fn path_for(folder: &Path, name: &str) -> PathBuf {
    folder.join(format!("{name}.receipt.json"))
}

/// The receipt of the plugin file at `plugin` (named `name`), if there is a readable one for the
/// version installed; a receipt left from another version (an install cut short between the two
/// writes) does not count.
pub fn read_for(plugin: &Path, name: &str, installed_version: Option<&str>) -> Option<Receipt> {
    let folder = plugin.parent()?;
    let bytes = std::fs::read(path_for(folder, name)).ok()?;
    let receipt: Receipt = serde_json::from_slice(&bytes).ok()?;
    (receipt.name == name && installed_version.is_none_or(|version| version == receipt.version))
        .then_some(receipt)
}

/// Writes the receipt of `receipt.name` into `folder`, atomically.
pub fn write(folder: &Path, receipt: &Receipt) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(receipt).map_err(std::io::Error::other)?;
    text.push('\n');
    files::write_atomically(
        &path_for(folder, &receipt.name),
        text.as_bytes(),
        0o644,
        Links::Replace,
    )
}

/// Removes the receipt of `name` in `folder`, if there is one.
pub fn remove(folder: &Path, name: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path_for(folder, name)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Now, as `2026-12-03T10:00:00Z`.
pub fn now_utc() -> String {
    crate::rfc3339::format_rfc3339(crate::rfc3339::now())
}

/// Seconds since 1970 as an RFC 3339 UTC time.
#[cfg(test)]
fn format_utc(seconds: u64) -> String {
    crate::rfc3339::format_rfc3339(i64::try_from(seconds).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc_3339_utc() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_796_299_199), "2026-12-03T11:59:59Z");
    }

    #[test]
    fn a_receipt_is_never_taken_for_a_plugin() {
        for name in ["hello", "org-api-key", "x", "baseten-plugin-x", "lib"] {
            let path = path_for(Path::new("/plugins"), name);
            assert_eq!(crate::plugins::discovery::name_from_file(&path), None);
            assert!(!crate::plugins::discovery::looks_like_plugin_file(&path));
        }
    }

    #[test]
    fn a_receipt_round_trips_and_one_for_another_version_is_ignored() {
        let folder = tempfile::tempdir().expect("a temp folder");
        let receipt = Receipt {
            name: "hello".to_owned(),
            version: "0.1.0".to_owned(),
            source: Source::Index {
                index: "https://example.com/index.json".to_owned(),
                name: "hello".to_owned(),
            },
            sha256: "0".repeat(64),
            installed_at: now_utc(),
            pinned: true,
        };
        write(folder.path(), &receipt).expect("writes");
        let plugin = folder.path().join("libbaseten_plugin_hello.so");
        assert_eq!(read_for(&plugin, "hello", Some("0.1.0")), Some(receipt));
        assert_eq!(read_for(&plugin, "hello", Some("0.2.0")), None);
        remove(folder.path(), "hello").expect("removes");
        assert_eq!(read_for(&plugin, "hello", None), None);
        remove(folder.path(), "hello").expect("nothing to remove is fine");
    }
}
