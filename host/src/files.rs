//! Replacing a file atomically, the one way every file the tool writes is written (`auth.json`,
//! the plugin manifest cache, an installed plugin).
//!
//! The rules: the new content goes to a temporary file beside the target, created exclusively
//! (`create_new`) with its final mode from the first instant (0600 for anything that may hold a
//! key), flushed to disk, renamed over the target, then the folder flushed so the rename itself
//! survives a crash. A reader sees the old file or the new one, never half of one. On any error
//! the temporary file is removed; on Ctrl-C the interrupt handler removes it (see
//! [`remove_temporaries`]), so no stray copy of a key is left behind. A target that is a symbolic
//! link is written through when asked ([`Links::Follow`]): the file it points to is replaced and
//! the link kept; a link that cannot be followed is an error naming it, never replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What to do when the target is a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Replace the file the link points to; the link stays.
    Follow,
    /// Replace the link itself with the new file.
    Replace,
}

/// Replaces `path` with `bytes`, created with `mode` (Unix permission bits).
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32, links: Links) -> io::Result<()> {
    replace(path, mode, links, |file| file.write_all(bytes))
}

/// Replaces `destination` with a copy of `source`, created with `mode`.
pub fn copy_atomically(
    source: &Path,
    destination: &Path,
    mode: u32,
    links: Links,
) -> io::Result<()> {
    let mut input = File::open(source)?;
    replace(destination, mode, links, |file| {
        io::copy(&mut input, file).map(|_| ())
    })
}

/// The file a write to `path` replaces: `path`, or with [`Links::Follow`] what it links to.
fn target_of(path: &Path, links: Links) -> io::Result<PathBuf> {
    let is_link =
        fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_symlink());
    if !is_link || links == Links::Replace {
        return Ok(path.to_path_buf());
    }
    fs::canonicalize(path).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("it is a symbolic link that cannot be followed ({error}); it is left as it is"),
        )
    })
}

fn replace(
    path: &Path,
    mode: u32,
    links: Links,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let target = target_of(path, links)?;
    let folder = target
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    // Starts with `.` and ends in `.tmp`: never taken for a plugin or a profile file.
    let temporary = folder.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temporary)?;
    let registered = temporaries::register(&temporary);
    let result = (|| {
        // The umask may have taken bits away; the mode is exactly what was asked.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        fill(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, &target)?;
        sync_folder(folder)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    temporaries::unregister(registered);
    result
}

#[cfg(unix)]
fn sync_folder(folder: &Path) -> io::Result<()> {
    File::open(folder)?.sync_all()
}

/// Windows cannot open a folder as a file; its renames are journaled by NTFS.
#[cfg(not(unix))]
fn sync_folder(_folder: &Path) -> io::Result<()> {
    Ok(())
}

/// Removes every temporary file being written right now. Async-signal-safe (atomic loads and
/// `unlink(2)` only): the Ctrl-C handler calls it before `_exit`.
#[cfg(unix)]
pub fn remove_temporaries() {
    temporaries::remove_all();
}

/// The temporary files being written, in fixed slots a signal handler can read without locks or
/// allocation. A path is a leaked C string: a handler on another thread may be reading it, so it
/// is never freed (a few bytes per write, a few writes per run).
#[cfg(unix)]
mod temporaries {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};

    const SLOTS: usize = 8;
    static PATHS: [AtomicPtr<libc::c_char>; SLOTS] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

    /// Records `path`; the slot it took, if one was free.
    pub fn register(path: &Path) -> Option<usize> {
        register_in(&PATHS, path)
    }

    pub(super) fn register_in(paths: &[AtomicPtr<libc::c_char>], path: &Path) -> Option<usize> {
        let path = CString::new(path.as_os_str().as_bytes()).ok()?;
        let pointer = path.into_raw();
        let slot = paths.iter().position(|slot| {
            slot.compare_exchange(
                std::ptr::null_mut(),
                pointer,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        });
        if slot.is_none() {
            // SAFETY: `pointer` came from `into_raw` just above and was stored nowhere.
            drop(unsafe { CString::from_raw(pointer) });
        }
        slot
    }

    /// Forgets the path in `slot`: it was renamed into place or removed.
    pub fn unregister(slot: Option<usize>) {
        if let Some(slot) = slot.and_then(|slot| PATHS.get(slot)) {
            slot.store(std::ptr::null_mut(), Ordering::SeqCst);
        }
    }

    pub fn remove_all() {
        unlink_each(&PATHS);
    }

    pub(super) fn unlink_each(paths: &[AtomicPtr<libc::c_char>]) {
        for slot in paths {
            let pointer = slot.load(Ordering::SeqCst);
            if !pointer.is_null() {
                // SAFETY: a non-null slot holds a C string that is never freed.
                unsafe {
                    libc::unlink(pointer);
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod temporaries {
    use std::path::Path;

    pub fn register(_path: &Path) -> Option<usize> {
        None
    }

    pub fn unregister(_slot: Option<usize>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .expect("lists")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary_file() {
        let folder = tempfile::tempdir().expect("a temp folder");
        let path = folder.path().join("a.json");
        fs::write(&path, "old").expect("writes");
        write_atomically(&path, b"new", 0o600, Links::Follow).expect("writes");
        assert_eq!(fs::read_to_string(&path).expect("reads"), "new");
        assert_eq!(names(folder.path()), ["a.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_mode_is_exact_whatever_the_source() {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().expect("a temp folder");
        let source = folder.path().join("source");
        fs::write(&source, "x").expect("writes");
        fs::set_permissions(&source, fs::Permissions::from_mode(0o666)).expect("chmod");
        let destination = folder.path().join("copy");
        copy_atomically(&source, &destination, 0o755, Links::Replace).expect("copies");
        let mode = fs::metadata(&destination)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_written_through_or_replaced_as_asked() {
        let folder = tempfile::tempdir().expect("a temp folder");
        let real = folder.path().join("real");
        let link = folder.path().join("link");
        fs::write(&real, "old").expect("writes");
        std::os::unix::fs::symlink(&real, &link).expect("links");
        write_atomically(&link, b"through", 0o600, Links::Follow).expect("writes");
        assert!(
            fs::symlink_metadata(&link)
                .expect("stat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).expect("reads"), "through");
        write_atomically(&link, b"replaced", 0o600, Links::Replace).expect("writes");
        assert!(fs::symlink_metadata(&link).expect("stat").is_file());
        assert_eq!(fs::read_to_string(&real).expect("reads"), "through");

        let dangling = folder.path().join("dangling");
        std::os::unix::fs::symlink(folder.path().join("missing/x"), &dangling).expect("links");
        let error = write_atomically(&dangling, b"x", 0o600, Links::Follow).expect_err("refused");
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert!(
            fs::symlink_metadata(&dangling)
                .expect("stat")
                .file_type()
                .is_symlink()
        );
    }

    #[cfg(unix)]
    #[test]
    fn registered_temporaries_are_removed_on_request() {
        let folder = tempfile::tempdir().expect("a temp folder");
        let path = folder.path().join(".x.tmp");
        fs::write(&path, "secret").expect("writes");
        // Slots of its own: the process-wide ones belong to writes other tests are making.
        let slots = [const { std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()) }; 2];
        assert_eq!(temporaries::register_in(&slots, &path), Some(0));
        temporaries::unlink_each(&slots);
        assert!(!path.exists());
    }
}
