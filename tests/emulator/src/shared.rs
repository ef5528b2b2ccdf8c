//! What every request handler shares: the workspace with its state file, and the control plane
//! (pending faults and the request log).
//!
//! Each change to the workspace is saved while its lock is held, before the answer is sent, so
//! the file always matches what clients were told, and saves never overtake one another. A save
//! that fails undoes the change: a client never gets a key the next start would not know.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use crate::control::Control;
use crate::http_error::HttpError;
use crate::oauth::{OAuth, OAuthSettings};
use crate::persist;
use crate::state::{NewKey, State};

#[derive(Debug)]
pub(crate) struct Shared {
    workspace: Mutex<State>,
    state_file: Option<PathBuf>,
    control: Mutex<Control>,
    /// The folder `GET /_files/PATH` serves, if any.
    files: Option<PathBuf>,
    oauth: Mutex<OAuth>,
    /// Where the emulator serves, for the verification URLs of browser logins.
    base_url: String,
}

/// Which team a new key goes to.
pub(crate) enum TeamChoice<'a> {
    Default,
    Id(&'a str),
}

impl Shared {
    pub(crate) fn new(
        state: State,
        state_file: Option<PathBuf>,
        oauth: OAuthSettings,
        base_url: String,
    ) -> Self {
        Self {
            workspace: Mutex::new(state),
            state_file,
            control: Mutex::new(Control::default()),
            files: None,
            oauth: Mutex::new(OAuth::new(oauth)),
            base_url,
        }
    }

    /// Serves the files of `folder` under `/_files/`.
    pub(crate) fn with_files(mut self, folder: Option<PathBuf>) -> Self {
        self.files = folder;
        self
    }

    /// The folder `GET /_files/PATH` serves, if any.
    pub(crate) fn files(&self) -> Option<&std::path::Path> {
        self.files.as_deref()
    }

    /// Browser logins and their tokens, locked.
    pub(crate) fn oauth(&self) -> MutexGuard<'_, OAuth> {
        lock(&self.oauth)
    }

    /// Where the emulator serves, e.g. `http://127.0.0.1:41234`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Runs `read` with the workspace locked.
    pub(crate) fn read<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        read(&lock(&self.workspace))
    }

    /// The control plane, locked.
    pub(crate) fn control(&self) -> MutexGuard<'_, Control> {
        lock(&self.control)
    }

    /// Creates a key and saves the workspace; returns `<prefix>.<secret>`.
    pub(crate) fn create_key(
        &self,
        new_key: NewKey,
        team: TeamChoice<'_>,
    ) -> Result<String, HttpError> {
        let mut state = lock(&self.workspace);
        let team_id = match team {
            TeamChoice::Default => state
                .default_team()
                .map(|team| team.id.clone())
                .ok_or_else(|| HttpError::internal("the workspace has no default team"))?,
            TeamChoice::Id(id) => state
                .team(id)
                .map(|team| team.id.clone())
                .ok_or_else(|| HttpError::not_found(format!("team `{id}` not found")))?,
        };
        let full_key = state.create(new_key, team_id);
        if let Err(error) = self.save(&state) {
            let prefix = full_key.split_once('.').map_or("", |(prefix, _)| prefix);
            state.remove(prefix);
            return Err(error);
        }
        Ok(full_key)
    }

    /// Deletes a key and saves the workspace.
    pub(crate) fn delete_key(&self, prefix: &str) -> Result<(), HttpError> {
        let mut state = lock(&self.workspace);
        let (sequence, key) = state
            .remove(prefix)
            .ok_or_else(|| HttpError::not_found(format!("API key `{prefix}` not found")))?;
        if let Err(error) = self.save(&state) {
            state.restore(sequence, key);
            return Err(error);
        }
        Ok(())
    }

    fn save(&self, state: &State) -> Result<(), HttpError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        persist::save(path, state).map_err(|error| {
            HttpError::internal(format!("could not save the emulator state: {error}"))
        })
    }

    /// Current keys as `GET /v1/api_keys` lists them.
    pub(crate) fn listed_keys(&self) -> Vec<Value> {
        self.read(|state| {
            state
                .listed_keys()
                .map(|key| serde_json::to_value(key).unwrap_or(Value::Null))
                .collect()
        })
    }

    /// The request log as `GET /_emulator/requests` shows it, without the wrapping object.
    pub(crate) fn requests(&self) -> Value {
        self.control().requests_json()
    }
}

/// Locks a mutex even if a panicking thread poisoned it: every change to the guarded data is
/// made in one step, so the data is consistent whatever happened to that thread.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
