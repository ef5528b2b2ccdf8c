//! Reading a `.tar.gz` that holds exactly one plugin file: what `plugin install` unpacks from a
//! download and `plugin pack` checks before printing an archive's index entry. Both refuse the
//! same archives: entries with an absolute path or `..`, links and special files anywhere in
//! it, no plugin file or several, and more than a limit of plugin bytes.

use std::fmt;
use std::io::{self, Read};
use std::path::Component;

use crate::plugins::PluginKind;

/// Why an archive is refused; the caller names the archive.
#[derive(Debug)]
pub enum Refused {
    /// It is not a gzip-compressed tar archive, or is cut short.
    Unreadable(io::Error),
    /// An entry (as named in the archive) has an absolute path or `..`.
    LeavesFolder(String),
    /// An entry is a symbolic or hard link.
    Link(String),
    /// An entry is neither a plain file nor a folder.
    Special(String),
    /// The plugin file is larger than the limit, in bytes.
    TooLarge(u64),
    /// No entry is named like a plugin file.
    NoPlugin,
    /// Several entries are, by file name.
    Several(Vec<String>),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(error) => write!(f, "it is not a readable .tar.gz: {error}"),
            Self::LeavesFolder(entry) => write!(
                f,
                "the archive entry `{entry}` has an absolute path or `..`"
            ),
            Self::Link(entry) => write!(
                f,
                "the archive entry `{entry}` is a link; only plain files are unpacked"
            ),
            Self::Special(entry) => write!(f, "the archive entry `{entry}` is not a plain file"),
            Self::TooLarge(limit) => {
                write!(f, "it unpacks to more than the limit of {limit} bytes")
            }
            Self::NoPlugin => f.write_str(
                "the archive holds no plugin file (`libbaseten_plugin_NAME.so`, `.dylib`, `.dll` \
                 or `baseten-plugin-NAME`)",
            ),
            Self::Several(names) => {
                let names: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
                write!(
                    f,
                    "the archive holds {} plugin files ({}); it must hold exactly one",
                    names.len(),
                    names.join(", ")
                )
            }
        }
    }
}

/// The one plugin file of an archive.
#[derive(Debug)]
pub struct PluginFile {
    /// Its file name, which tells the host what plugin it is.
    pub name: String,
    /// Its path inside the archive, printable, for messages.
    pub path: String,
    pub content: Vec<u8>,
}

/// Whether `bytes` start like gzip.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The kind of a plugin file by its name: a library when named like one (`.so`, `.dylib`,
/// `.dll`), else an executable.
pub fn kind_by_name(name: &str) -> PluginKind {
    let lower = name.to_ascii_lowercase();
    if [".so", ".dylib", ".dll"]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
    {
        PluginKind::Library
    } else {
        PluginKind::Executable
    }
}

/// The one plugin file (named `libbaseten_plugin_NAME.so` or the like, or
/// `baseten-plugin-NAME`) of the `.tar.gz` that `reader` reads; other plain files (a README, a
/// licence) and folders are skipped. `limit` bounds the plugin bytes unpacked.
pub fn unpack_one(reader: impl Read, limit: u64) -> Result<PluginFile, Refused> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut found: Vec<PluginFile> = Vec::new();
    let mut unpacked: u64 = 0;
    for entry in archive.entries().map_err(Refused::Unreadable)? {
        let mut entry = entry.map_err(Refused::Unreadable)?;
        let path = entry.path().map_err(Refused::Unreadable)?.into_owned();
        let shown = crate::sanitize::printable(&path.to_string_lossy());
        if path
            .components()
            .any(|component| !matches!(component, Component::Normal(_) | Component::CurDir))
        {
            return Err(Refused::LeavesFolder(shown));
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(Refused::Link(shown));
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
            return Err(Refused::Special(shown));
        }
        if crate::plugins::name_from_file(&path).is_none() {
            continue;
        }
        let mut content = Vec::new();
        let room = limit.saturating_sub(unpacked);
        (&mut entry)
            .take(room.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(Refused::Unreadable)?;
        unpacked = unpacked.saturating_add(u64::try_from(content.len()).unwrap_or(u64::MAX));
        if unpacked > limit {
            return Err(Refused::TooLarge(limit));
        }
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        found.push(PluginFile {
            name,
            path: shown,
            content,
        });
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Refused::NoPlugin),
        _ => Err(Refused::Several(
            found.into_iter().map(|file| file.path).collect(),
        )),
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

    fn refusal(bytes: &[u8], limit: u64) -> String {
        unpack_one(bytes, limit).expect_err("refused").to_string()
    }

    #[test]
    fn the_one_plugin_file_is_taken_and_other_files_skipped() {
        let bytes = archive(&[
            ("hello/README.md", b"read me"),
            ("hello/libbaseten_plugin_hello.so", b"library"),
        ]);
        let file = unpack_one(&bytes[..], 1000).expect("one plugin");
        assert_eq!(file.name, "libbaseten_plugin_hello.so");
        assert_eq!(file.path, "hello/libbaseten_plugin_hello.so");
        assert_eq!(file.content, b"library");
        assert_eq!(kind_by_name(&file.name), PluginKind::Library);
        assert_eq!(kind_by_name("baseten-plugin-hello"), PluginKind::Executable);
    }

    #[test]
    fn no_or_several_plugin_files_are_refused() {
        assert!(
            refusal(&archive(&[("README.md", b"x")]), 1000)
                .starts_with("the archive holds no plugin file")
        );
        assert_eq!(
            refusal(
                &archive(&[("baseten-plugin-a", b"a"), ("libbaseten_plugin_b.so", b"b")]),
                1000
            ),
            "the archive holds 2 plugin files (`baseten-plugin-a`, `libbaseten_plugin_b.so`); \
             it must hold exactly one"
        );
    }

    #[test]
    fn entries_leaving_the_folder_are_refused() {
        for path in ["../baseten-plugin-a", "/tmp/baseten-plugin-a", "a/../../b"] {
            let message = refusal(&archive(&[(path, b"a")]), 1000);
            assert!(
                message.contains("has an absolute path or `..`"),
                "{path}: {message}"
            );
        }
    }

    #[test]
    fn links_are_refused_whatever_their_name() {
        for name in ["baseten-plugin-a", "README.md"] {
            let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::fast(),
            ));
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            builder
                .append_link(&mut header, name, "/bin/sh")
                .expect("appends");
            let bytes = builder
                .into_inner()
                .expect("finishes")
                .finish()
                .expect("compresses");
            assert!(refusal(&bytes, 1000).contains("is a link"), "{name}");
        }
    }

    #[test]
    fn an_archive_over_the_limit_is_refused() {
        let big = vec![0u8; 2000];
        assert_eq!(
            refusal(&archive(&[("baseten-plugin-a", &big)]), 1000),
            "it unpacks to more than the limit of 1000 bytes"
        );
    }

    #[test]
    fn what_is_not_gzip_is_unreadable() {
        assert!(!is_gzip(b"not gzip"));
        assert!(refusal(b"not gzip", 1000).starts_with("it is not a readable .tar.gz: "));
    }
}
