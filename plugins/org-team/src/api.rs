//! The management API's wire types for teams.

use serde::Deserialize;

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
