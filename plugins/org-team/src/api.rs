//! The management API's wire types for teams.

use serde::Deserialize;
use serde_json::Value;

use baseten_plugin_api::{ErrorKind, PluginError};

/// `GET /v1/teams`.
pub const TEAMS_PATH: &str = "/v1/teams";

/// The answer to `GET /v1/teams`.
#[derive(Debug, Deserialize)]
pub struct TeamList {
    pub teams: Vec<Team>,
}

/// One team. `created_at` and any field this version does not know stay in the JSON payload.
#[derive(Debug, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub default: bool,
}

/// Reads a typed view of a payload that is kept as received for JSON output.
pub fn typed<'a, T: Deserialize<'a>>(payload: &'a Value) -> Result<T, PluginError> {
    T::deserialize(payload).map_err(|error| {
        PluginError::new(
            ErrorKind::Failure,
            format!("unexpected response from the API: {error}"),
        )
    })
}
