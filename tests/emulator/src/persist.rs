//! The state file: teams and keys (secret hashes only) as JSON, so a restarted emulator serves
//! the same workspace.
//!
//! Every change is written to a temporary file in the same folder, synced, then renamed over the
//! old file, so a crash leaves either the old state or the new one, never half of each. A file
//! that does not parse is refused and left exactly as it is.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::state::{KeyType, PREFIX_LEN, SecretHash, State, StoredKey, Team};

/// Bumped when the layout changes incompatibly, so an old emulator refuses a newer file.
const FORMAT: u32 = 1;

/// What a state file holds, checked for consistency.
#[derive(Debug)]
pub(crate) struct Saved {
    pub(crate) teams: Vec<Team>,
    pub(crate) keys: Vec<StoredKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskState {
    format: u32,
    teams: Vec<Team>,
    keys: Vec<DiskKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskKey {
    prefix: String,
    secret_sha256: String,
    #[serde(rename = "type")]
    key_type: KeyType,
    name: Option<String>,
    model_ids: Option<Vec<String>>,
    team_id: String,
}

#[derive(Serialize)]
struct DiskStateRef<'a> {
    format: u32,
    teams: &'a [Team],
    keys: Vec<DiskKeyRef<'a>>,
}

#[derive(Serialize)]
struct DiskKeyRef<'a> {
    prefix: &'a str,
    secret_sha256: String,
    #[serde(rename = "type")]
    key_type: KeyType,
    name: Option<&'a str>,
    model_ids: Option<&'a [String]>,
    team_id: &'a str,
}

/// Reads the state file; `None` when there is none yet.
pub(crate) fn load(path: &Path) -> Result<Option<Saved>, Error> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::ReadState {
                path: path.to_owned(),
                source,
            });
        }
    };
    let corrupt = |reason: String| Error::CorruptState {
        path: path.to_owned(),
        reason,
    };
    let disk: DiskState =
        serde_json::from_slice(&bytes).map_err(|error| corrupt(error.to_string()))?;
    validate(disk).map(Some).map_err(corrupt)
}

fn validate(disk: DiskState) -> Result<Saved, String> {
    if disk.format != FORMAT {
        return Err(format!(
            "format {} is not supported (expected {FORMAT})",
            disk.format
        ));
    }
    let defaults = disk.teams.iter().filter(|team| team.default).count();
    if defaults != 1 {
        return Err(format!("{defaults} default teams (expected 1)"));
    }
    let mut team_ids = std::collections::HashSet::new();
    for team in &disk.teams {
        if !team_ids.insert(team.id.as_str()) {
            return Err(format!("team id `{}` appears twice", team.id));
        }
    }
    let mut prefixes = std::collections::HashSet::new();
    let mut keys = Vec::with_capacity(disk.keys.len());
    for key in disk.keys {
        if key.prefix.len() != PREFIX_LEN || key.prefix.contains('.') {
            return Err(format!("key prefix `{}` is malformed", key.prefix));
        }
        if !prefixes.insert(key.prefix.clone()) {
            return Err(format!("key prefix `{}` appears twice", key.prefix));
        }
        if !team_ids.contains(key.team_id.as_str()) {
            return Err(format!(
                "key `{}` belongs to unknown team `{}`",
                key.prefix, key.team_id
            ));
        }
        let secret_hash = decode_hash(&key.secret_sha256)
            .ok_or_else(|| format!("key `{}` has a malformed secret hash", key.prefix))?;
        keys.push(StoredKey {
            prefix: key.prefix,
            secret_hash,
            key_type: key.key_type,
            name: key.name,
            model_ids: key.model_ids,
            team_id: key.team_id,
            bootstrap: false,
        });
    }
    Ok(Saved {
        teams: disk.teams,
        keys,
    })
}

/// Writes `state` to `path` atomically: temp file in the same folder, fsync, rename.
pub(crate) fn save(path: &Path, state: &State) -> io::Result<()> {
    let disk = DiskStateRef {
        format: FORMAT,
        teams: state.teams(),
        keys: state
            .keys()
            .filter(|key| !key.bootstrap)
            .map(|key| DiskKeyRef {
                prefix: &key.prefix,
                secret_sha256: encode_hash(&key.secret_hash),
                key_type: key.key_type,
                name: key.name.as_deref(),
                model_ids: key.model_ids.as_deref(),
                team_id: &key.team_id,
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&disk)?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    temporary.write_all(&bytes)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    sync_folder(folder);
    Ok(())
}

/// Makes the rename itself durable. Best effort: not every platform can open a folder.
fn sync_folder(folder: &Path) {
    if let Ok(handle) = fs::File::open(folder) {
        let _ = handle.sync_all();
    }
}

fn encode_hash(hash: &SecretHash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(hash.len() * 2);
    for byte in hash {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn decode_hash(text: &str) -> Option<SecretHash> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (slot, pair) in hash.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *slot = u8::try_from(high * 16 + low).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::state::{NewKey, hash_secret};

    #[test]
    fn hash_round_trips_through_hex() {
        let hash = hash_secret("secret");
        assert_eq!(decode_hash(&encode_hash(&hash)), Some(hash));
        assert_eq!(decode_hash("zz"), None);
        assert_eq!(decode_hash(&"g".repeat(64)), None);
    }

    #[test]
    fn saved_state_loads_back_without_bootstrap_keys_or_secrets() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("state.json");
        let mut state = State::default();
        state.ensure_default_team();
        state.add_team("Research");
        let team_id = state.teams()[1].id.clone();
        let key = state.create(
            NewKey {
                key_type: KeyType::WorkspaceInvoke,
                name: Some("ci".into()),
                model_ids: Some(vec!["m1".into()]),
            },
            team_id.clone(),
        );
        state.insert(StoredKey {
            prefix: "boot1234".into(),
            secret_hash: hash_secret("bootsecret"),
            key_type: KeyType::WorkspaceManageAll,
            name: None,
            model_ids: None,
            team_id,
            bootstrap: true,
        });
        save(&path, &state).unwrap();

        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(key.split_once('.').unwrap().1));
        let saved = load(&path).unwrap().unwrap();
        assert_eq!(saved.teams, state.teams());
        assert_eq!(saved.keys.len(), 1);
        assert_eq!(saved.keys[0].prefix, &key[..PREFIX_LEN]);
        assert_eq!(saved.keys[0].model_ids, Some(vec!["m1".to_owned()]));
    }

    #[test]
    fn missing_file_is_no_state_and_garbage_is_corrupt() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("state.json");
        assert!(load(&path).unwrap().is_none());
        fs::write(&path, b"{\"format\":1}").unwrap();
        assert!(matches!(load(&path), Err(Error::CorruptState { .. })));
        fs::write(&path, b"{\"format\":1,\"teams\":[],\"keys\":[]}").unwrap();
        assert!(matches!(load(&path), Err(Error::CorruptState { .. })));
    }
}
