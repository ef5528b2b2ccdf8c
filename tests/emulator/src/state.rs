//! The emulated workspace: its teams and API keys, and the rules for adding and removing them.
//!
//! A key is kept as its prefix and the SHA-256 of its secret, never the secret itself, which is
//! the promise the real service makes: neither this process nor its state file can leak a key.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::time::now_rfc3339;

/// Length of the public part of a key, before the `.`.
pub(crate) const PREFIX_LEN: usize = 8;
/// Length of the secret part of a generated key.
const SECRET_LEN: usize = 40;
/// Length of a generated team id.
const TEAM_ID_LEN: usize = 8;
/// The team every workspace has, which keys go to unless a team is named.
pub(crate) const DEFAULT_TEAM_NAME: &str = "Default Team";

/// The kinds of API key, spelled as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum KeyType {
    Personal,
    WorkspaceManageAll,
    WorkspaceExportMetrics,
    WorkspaceInvoke,
}

impl KeyType {
    pub(crate) const ALL: [KeyType; 4] = [
        KeyType::Personal,
        KeyType::WorkspaceManageAll,
        KeyType::WorkspaceExportMetrics,
        KeyType::WorkspaceInvoke,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyType::Personal => "PERSONAL",
            KeyType::WorkspaceManageAll => "WORKSPACE_MANAGE_ALL",
            KeyType::WorkspaceExportMetrics => "WORKSPACE_EXPORT_METRICS",
            KeyType::WorkspaceInvoke => "WORKSPACE_INVOKE",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Whether a key of this type may list, create and delete keys and list teams.
    pub(crate) fn can_manage_keys(self) -> bool {
        matches!(self, KeyType::Personal | KeyType::WorkspaceManageAll)
    }

    /// Whether a key of this type may be limited to some models.
    pub(crate) fn allows_model_ids(self) -> bool {
        matches!(
            self,
            KeyType::WorkspaceExportMetrics | KeyType::WorkspaceInvoke
        )
    }
}

/// The SHA-256 of a key's secret.
pub(crate) type SecretHash = [u8; 32];

pub(crate) fn hash_secret(secret: &str) -> SecretHash {
    Sha256::digest(secret.as_bytes()).into()
}

/// A random string of ASCII letters and digits from the thread's CSPRNG.
pub(crate) fn random_alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A team, as listed by `GET /v1/teams` (and stored in the state file the same way).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Team {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) default: bool,
    pub(crate) created_at: String,
}

/// A key as the emulator remembers it.
#[derive(Clone, Debug)]
pub(crate) struct StoredKey {
    pub(crate) prefix: String,
    pub(crate) secret_hash: SecretHash,
    pub(crate) key_type: KeyType,
    pub(crate) name: Option<String>,
    pub(crate) model_ids: Option<Vec<String>>,
    pub(crate) team_id: String,
    /// Bootstrap keys come from the command line on every start, so they are never saved.
    pub(crate) bootstrap: bool,
}

/// What a create request asks for, already validated.
#[derive(Clone, Debug)]
pub(crate) struct NewKey {
    pub(crate) key_type: KeyType,
    pub(crate) name: Option<String>,
    pub(crate) model_ids: Option<Vec<String>>,
}

/// Teams and keys. Keys are ordered by a creation sequence number so that listing keeps creation
/// order while deleting and looking up by prefix stay cheap with 100 000 keys.
#[derive(Debug, Default)]
pub(crate) struct State {
    teams: Vec<Team>,
    keys: BTreeMap<u64, StoredKey>,
    by_prefix: HashMap<String, u64>,
    next_sequence: u64,
}

impl State {
    /// A workspace with these teams and no keys yet.
    pub(crate) fn with_teams(teams: Vec<Team>) -> Self {
        Self {
            teams,
            ..Self::default()
        }
    }

    pub(crate) fn teams(&self) -> &[Team] {
        &self.teams
    }

    /// Adds `Default Team` unless a default team exists; returns whether it did.
    pub(crate) fn ensure_default_team(&mut self) -> bool {
        if self.teams.iter().any(|team| team.default) {
            return false;
        }
        let team = self.new_team(DEFAULT_TEAM_NAME, true);
        self.teams.insert(0, team);
        true
    }

    /// Adds a team unless one of that name exists (so restarting with the same `--team` flags
    /// keeps the same teams); returns whether it did.
    pub(crate) fn add_team(&mut self, name: &str) -> bool {
        if self.teams.iter().any(|team| team.name == name) {
            return false;
        }
        let team = self.new_team(name, false);
        self.teams.push(team);
        true
    }

    fn new_team(&self, name: &str, default: bool) -> Team {
        let id = loop {
            let candidate = random_alphanumeric(TEAM_ID_LEN);
            if self.team(&candidate).is_none() {
                break candidate;
            }
        };
        Team {
            id,
            name: name.to_owned(),
            default,
            created_at: now_rfc3339(),
        }
    }

    pub(crate) fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|team| team.id == id)
    }

    pub(crate) fn default_team(&self) -> Option<&Team> {
        self.teams.iter().find(|team| team.default)
    }

    /// Adds a key at the end unless its prefix is taken; returns whether it did.
    pub(crate) fn insert(&mut self, key: StoredKey) -> bool {
        if self.by_prefix.contains_key(&key.prefix) {
            return false;
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.by_prefix.insert(key.prefix.clone(), sequence);
        self.keys.insert(sequence, key);
        true
    }

    /// Creates a key with a fresh prefix and secret in `team_id`; returns `<prefix>.<secret>`,
    /// the only time the secret exists.
    pub(crate) fn create(&mut self, new_key: NewKey, team_id: String) -> String {
        let prefix = self.fresh_prefix();
        let secret = random_alphanumeric(SECRET_LEN);
        let full_key = format!("{prefix}.{secret}");
        self.insert(StoredKey {
            prefix,
            secret_hash: hash_secret(&secret),
            key_type: new_key.key_type,
            name: new_key.name,
            model_ids: new_key.model_ids,
            team_id,
            bootstrap: false,
        });
        full_key
    }

    fn fresh_prefix(&self) -> String {
        loop {
            let candidate = random_alphanumeric(PREFIX_LEN);
            if !self.by_prefix.contains_key(&candidate) {
                return candidate;
            }
        }
    }

    /// Removes a key; the returned position lets [`State::restore`] undo it.
    pub(crate) fn remove(&mut self, prefix: &str) -> Option<(u64, StoredKey)> {
        let sequence = self.by_prefix.remove(prefix)?;
        let key = self.keys.remove(&sequence)?;
        Some((sequence, key))
    }

    /// Puts back a key taken out by [`State::remove`], at its old place in the listing.
    pub(crate) fn restore(&mut self, sequence: u64, key: StoredKey) {
        self.by_prefix.insert(key.prefix.clone(), sequence);
        self.keys.insert(sequence, key);
    }

    /// The type of the key with this prefix, when `secret_hash` matches it.
    pub(crate) fn authenticate(&self, prefix: &str, secret_hash: &SecretHash) -> Option<KeyType> {
        let key = self.keys.get(self.by_prefix.get(prefix)?)?;
        // Compare every byte so the time taken says nothing about how much matched.
        let difference = key
            .secret_hash
            .iter()
            .zip(secret_hash)
            .fold(0u8, |acc, (left, right)| acc | (left ^ right));
        (difference == 0).then_some(key.key_type)
    }

    /// Keys in creation order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &StoredKey> {
        self.keys.values()
    }

    /// Adds `count` keys named `seed-00001`… to the default team, cycling through the key types,
    /// with `model_ids` where the type allows them.
    pub(crate) fn seed(&mut self, count: usize) {
        let Some(team_id) = self.default_team().map(|team| team.id.clone()) else {
            return;
        };
        for index in 0..count {
            let key_type = KeyType::ALL[index % KeyType::ALL.len()];
            let model_ids = key_type
                .allows_model_ids()
                .then(|| vec![format!("model-{:03}", index % 1000)]);
            self.create(
                NewKey {
                    key_type,
                    name: Some(format!("seed-{:05}", index + 1)),
                    model_ids,
                },
                team_id.clone(),
            );
        }
    }

    /// The body of `GET /v1/api_keys`.
    pub(crate) fn key_list_json(&self) -> Vec<u8> {
        serde_json::to_vec(&KeyList {
            keys: self.listed_keys().collect(),
        })
        .expect("strings and enums always serialize to JSON")
    }

    /// Keys as `GET /v1/api_keys` lists them, in creation order.
    pub(crate) fn listed_keys(&self) -> impl Iterator<Item = ListedKey<'_>> {
        // A handful of teams: a linear search per key is cheaper than building a map.
        self.keys.values().map(|key| ListedKey {
            prefix: &key.prefix,
            key_type: key.key_type,
            name: key.name.as_deref(),
            model_ids: key.model_ids.as_deref(),
            team_name: self.team(&key.team_id).map(|team| team.name.as_str()),
        })
    }

    /// The body of `GET /v1/teams`.
    pub(crate) fn team_list_json(&self) -> Vec<u8> {
        serde_json::to_vec(&TeamList { teams: &self.teams })
            .expect("strings and booleans always serialize to JSON")
    }
}

/// One entry of `GET /v1/api_keys`, fields in the documented order.
#[derive(Debug, Serialize)]
pub(crate) struct ListedKey<'a> {
    prefix: &'a str,
    #[serde(rename = "type")]
    key_type: KeyType,
    name: Option<&'a str>,
    model_ids: Option<&'a [String]>,
    team_name: Option<&'a str>,
}

#[derive(Serialize)]
struct KeyList<'a> {
    keys: Vec<ListedKey<'a>>,
}

#[derive(Serialize)]
struct TeamList<'a> {
    teams: &'a [Team],
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn workspace() -> State {
        let mut state = State::default();
        state.ensure_default_team();
        state
    }

    fn new_key(key_type: KeyType) -> NewKey {
        NewKey {
            key_type,
            name: None,
            model_ids: None,
        }
    }

    #[test]
    fn created_key_authenticates_with_its_secret_only() {
        let mut state = workspace();
        let team_id = state.default_team().unwrap().id.clone();
        let key = state.create(new_key(KeyType::Personal), team_id);
        let (prefix, secret) = key.split_once('.').unwrap();
        assert_eq!(prefix.len(), PREFIX_LEN);
        assert!(secret.len() >= 32);
        assert_eq!(
            state.authenticate(prefix, &hash_secret(secret)),
            Some(KeyType::Personal)
        );
        assert_eq!(state.authenticate(prefix, &hash_secret("wrong")), None);
    }

    #[test]
    fn remove_and_restore_keep_the_listing_order() {
        let mut state = workspace();
        let team_id = state.default_team().unwrap().id.clone();
        let keys: Vec<String> = (0..3)
            .map(|_| state.create(new_key(KeyType::Personal), team_id.clone()))
            .collect();
        let middle = &keys[1][..PREFIX_LEN];
        let (sequence, removed) = state.remove(middle).unwrap();
        assert_eq!(state.keys().count(), 2);
        state.restore(sequence, removed);
        let prefixes: Vec<&str> = state.keys().map(|key| key.prefix.as_str()).collect();
        let expected: Vec<&str> = keys.iter().map(|key| &key[..PREFIX_LEN]).collect();
        assert_eq!(prefixes, expected);
    }

    #[test]
    fn adding_a_team_twice_keeps_one() {
        let mut state = workspace();
        assert!(state.add_team("Research"));
        assert!(!state.add_team("Research"));
        assert!(!state.ensure_default_team());
        assert_eq!(state.teams().len(), 2);
    }

    #[test]
    fn seeded_keys_cycle_types_and_carry_model_ids_only_where_allowed() {
        let mut state = workspace();
        state.seed(8);
        let listed: Vec<ListedKey<'_>> = state.listed_keys().collect();
        assert_eq!(listed.len(), 8);
        assert_eq!(listed[0].name, Some("seed-00001"));
        for (index, key) in listed.iter().enumerate() {
            assert_eq!(key.key_type, KeyType::ALL[index % 4]);
            assert_eq!(key.model_ids.is_some(), key.key_type.allows_model_ids());
            assert_eq!(key.team_name, Some(DEFAULT_TEAM_NAME));
        }
    }
}
