//! Typed answers of the documented management API endpoints, and the lookups the bundled plugins
//! share (a team by ID or name), so that a plugin does not have to guess what the API returns.
//!
//! | Endpoint | Answer |
//! |---|---|
//! | `GET /v1/api_keys` ([`API_KEYS_PATH`]) | [`ApiKeyList`] |
//! | `POST /v1/api_keys`, `POST /v1/teams/{team_id}/api_keys` ([`team_api_keys_path`]) | [`CreatedApiKey`] |
//! | `DELETE /v1/api_keys/{prefix}` ([`api_key_path`]) | [`DeletedApiKey`] |
//! | `GET /v1/teams` ([`TEAMS_PATH`]) | [`TeamList`] |
//! | `GET /v1/users/me` ([`ME_PATH`]) | [`User`] |
//!
//! Field names are the API's. Every model reads answers with fields it does not know (a newer
//! API adds some), and optional fields may be absent or `null`. The models are
//! `#[non_exhaustive]`: a new SDK version may add a field without breaking a plugin, so read them
//! from JSON (with [`Host::get_json`] or [`crate::sdk::decode`]) rather than build them.
//!
//! To show an answer as received (field order and fields this SDK does not know kept), fetch it
//! as JSON text ([`Host::get_raw`]) for the payload and read the model from that text for the
//! text view:
//!
//! ```
//! use baseten_plugin_api::models::{TEAMS_PATH, TeamList};
//! use baseten_plugin_api::sdk::decode;
//! use baseten_plugin_api::testing::RecordingHost;
//! use baseten_plugin_api::Host;
//! use serde_json::json;
//!
//! let recording = RecordingHost::new().respond(
//!     200,
//!     json!({"teams": [{"id": "t1", "name": "Research", "default": true,
//!                       "created_at": "2026-01-01T00:00:00Z", "region": "us"}]}),
//! );
//! let host = Host::new(&recording);
//! let payload = host.get_raw(TEAMS_PATH)?;
//! let list: TeamList = decode(payload.get())?;
//! assert_eq!(list.teams[0].name, "Research");
//! assert!(payload.get().contains("region")); // kept for `-o json`
//! # Ok::<(), baseten_plugin_api::PluginError>(())
//! ```

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::{ErrorKind, PluginError};
use crate::sdk::{Host, decode_value, encode_path_segment};

/// `GET` lists the organization's API keys ([`ApiKeyList`]); `POST` creates one in the default
/// team ([`CreatedApiKey`]).
pub const API_KEYS_PATH: &str = "/v1/api_keys";
/// `GET` lists the organization's teams ([`TeamList`]).
pub const TEAMS_PATH: &str = "/v1/teams";
/// `GET` tells who the credential belongs to ([`User`]).
pub const ME_PATH: &str = "/v1/users/me";

/// `/v1/api_keys/{prefix}`: `DELETE` removes the key ([`DeletedApiKey`]). The prefix is
/// percent-encoded.
pub fn api_key_path(prefix: &str) -> String {
    format!("{API_KEYS_PATH}/{}", encode_path_segment(prefix))
}

/// `/v1/teams/{team_id}/api_keys`: `POST` creates a key in that team ([`CreatedApiKey`]). The ID
/// is percent-encoded.
pub fn team_api_keys_path(team_id: &str) -> String {
    format!("{TEAMS_PATH}/{}/api_keys", encode_path_segment(team_id))
}

/// The answer to `GET /v1/api_keys`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ApiKeyList {
    /// Every key of the organization.
    pub keys: Vec<ApiKey>,
}

/// One API key as listed: its public prefix and what it is for, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ApiKey {
    /// The key's public prefix, the part before the `.`; how a key is named on the command line.
    pub prefix: String,
    /// The key's type as the API names it: `PERSONAL`, `WORKSPACE_EXPORT_METRICS`,
    /// `WORKSPACE_INVOKE` or `WORKSPACE_MANAGE_ALL` (a newer API may add others).
    #[serde(rename = "type", default)]
    pub key_type: String,
    /// The key's human-readable name, if it has one.
    #[serde(default)]
    pub name: Option<String>,
    /// The models the key is restricted to, if it is.
    #[serde(default)]
    pub model_ids: Option<Vec<String>>,
    /// The name of the team the key belongs to, if any.
    #[serde(default)]
    pub team_name: Option<String>,
}

/// The answer to a create: the new key, `<prefix>.<secret>`, shown this once and never again.
/// `Debug` shows its prefix only.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CreatedApiKey {
    /// The whole new key.
    pub api_key: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefix = self
            .api_key
            .split_once('.')
            .map_or("", |(prefix, _)| prefix);
        formatter
            .debug_struct("CreatedApiKey")
            .field("api_key", &format_args!("{prefix}.<secret>"))
            .finish()
    }
}

/// The answer to `DELETE /v1/api_keys/{prefix}`: what was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DeletedApiKey {
    /// The deleted key's prefix.
    pub prefix: String,
}

/// The answer to `GET /v1/teams`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TeamList {
    /// Every team of the organization.
    pub teams: Vec<Team>,
}

/// One team.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Team {
    /// The team's ID, as in `/v1/teams/{team_id}/api_keys`.
    pub id: String,
    /// The team's name. Names are not unique: [`find_team`] says when one is ambiguous.
    pub name: String,
    /// Whether this is the organization's default team, where keys are created when no team
    /// is named.
    #[serde(default)]
    pub default: bool,
    /// When the team was created, an RFC 3339 date-time such as `2026-01-01T00:00:00Z`.
    #[serde(default)]
    pub created_at: String,
}

/// The answer to `GET /v1/users/me`: who the credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user's ID.
    pub user_id: String,
    /// The user's email address, if the API shares it.
    #[serde(default)]
    pub email: Option<String>,
    /// The user's name, if they set one.
    #[serde(default)]
    pub name: Option<String>,
    /// The name of the workspace the credential belongs to.
    #[serde(default)]
    pub workspace_name: Option<String>,
}

/// `GET path` as `T`: a request that fails says `could not {what}: …`; an answer of another
/// shape says `unexpected response from the API: …` (exit 1).
fn fetch<T: DeserializeOwned>(host: &Host<'_>, path: &str, what: &str) -> Result<T, PluginError> {
    let payload: Value = host.get_json(path).map_err(|error| error.context(what))?;
    decode_value(&payload)
}

/// `GET /v1/users/me`: who the credential belongs to. A failed request says
/// `could not look up the current user: …`.
pub fn me(host: &Host<'_>) -> Result<User, PluginError> {
    fetch(host, ME_PATH, "look up the current user")
}

/// `GET /v1/teams`: every team. A failed request says `could not list teams: …`.
pub fn teams(host: &Host<'_>) -> Result<Vec<Team>, PluginError> {
    fetch::<TeamList>(host, TEAMS_PATH, "list teams").map(|list| list.teams)
}

/// `GET /v1/api_keys`: every API key. A failed request says `could not list API keys: …`.
pub fn api_keys(host: &Host<'_>) -> Result<Vec<ApiKey>, PluginError> {
    fetch::<ApiKeyList>(host, API_KEYS_PATH, "list API keys").map(|list| list.keys)
}

/// The team `wanted` names, as `--team` takes it in `baseten org api-key create`: a team whose
/// ID is `wanted` wins, else the one team named exactly `wanted`. No such team is an error of
/// kind [`ErrorKind::NotFound`] (exit 4); several teams of that name one of kind
/// [`ErrorKind::Failure`] (exit 1) asking for the ID.
///
/// ```
/// use baseten_plugin_api::models::find_team;
/// use baseten_plugin_api::testing::RecordingHost;
/// use baseten_plugin_api::{ErrorKind, Host};
/// use serde_json::json;
///
/// let recording = RecordingHost::new().respond(200, json!({"teams": [
///     {"id": "t1", "name": "Default Team", "default": true, "created_at": "2026-01-01T00:00:00Z"},
///     {"id": "t2", "name": "Research", "default": false, "created_at": "2026-01-02T00:00:00Z"}
/// ]}));
/// let team = find_team(&Host::new(&recording), "Research")?;
/// assert_eq!(team.id, "t2");
///
/// let recording = RecordingHost::new().respond(200, json!({"teams": []}));
/// let error = find_team(&Host::new(&recording), "Nope").unwrap_err();
/// assert_eq!(error.kind, ErrorKind::NotFound);
/// # Ok::<(), baseten_plugin_api::PluginError>(())
/// ```
pub fn find_team(host: &Host<'_>, wanted: &str) -> Result<Team, PluginError> {
    pick_team(teams(host)?, wanted)
}

/// [`find_team`] among `teams`.
pub fn pick_team(teams: Vec<Team>, wanted: &str) -> Result<Team, PluginError> {
    if let Some(team) = teams.iter().find(|team| team.id == wanted) {
        return Ok(team.clone());
    }
    let mut named: Vec<Team> = teams
        .into_iter()
        .filter(|team| team.name == wanted)
        .collect();
    match named.len() {
        1 => Ok(named.remove(0)),
        0 => Err(PluginError::new(
            ErrorKind::NotFound,
            format!("no team with ID or name \"{wanted}\""),
        )
        .with_hint("list teams with `baseten org team list`")),
        _ => Err(PluginError::new(
            ErrorKind::Failure,
            format!("multiple teams named \"{wanted}\"; pass the team ID instead"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn team(id: &str, name: &str) -> Team {
        Team {
            id: id.to_owned(),
            name: name.to_owned(),
            default: false,
            created_at: String::new(),
        }
    }

    #[test]
    fn an_id_wins_over_a_team_named_like_it() {
        let teams = vec![team("t1", "A"), team("t2", "t1")];
        assert_eq!(pick_team(teams, "t1").expect("found").name, "A");
    }

    #[test]
    fn a_name_must_be_unique() {
        let teams = vec![team("t1", "Twice"), team("t2", "Twice")];
        let error = pick_team(teams, "Twice").expect_err("ambiguous");
        assert_eq!(error.kind, ErrorKind::Failure);
        assert_eq!(
            error.message,
            "multiple teams named \"Twice\"; pass the team ID instead"
        );
    }

    #[test]
    fn models_read_the_spec_shapes_and_tolerate_unknown_and_missing_fields() {
        let keys: ApiKeyList = serde_json::from_value(json!({"keys": [
            {"prefix": "abcd1234", "type": "PERSONAL", "name": null, "model_ids": null,
             "team_name": "Default Team", "created_at": "2026-01-01T00:00:00Z"},
            {"prefix": "efgh5678", "type": "WORKSPACE_INVOKE", "model_ids": ["m1"]}
        ], "next": null}))
        .expect("reads keys");
        assert_eq!(keys.keys[0].key_type, "PERSONAL");
        assert_eq!(keys.keys[0].team_name.as_deref(), Some("Default Team"));
        assert_eq!(keys.keys[1].model_ids, Some(vec!["m1".to_owned()]));
        let me: User = serde_json::from_value(json!({"user_id": "u1", "extra": 1})).expect("me");
        assert_eq!((me.user_id.as_str(), me.email), ("u1", None));
        let teams: TeamList =
            serde_json::from_value(json!({"teams": [{"id": "t1", "name": "A", "default": true,
                              "created_at": "2026-01-01T00:00:00Z"}]}))
            .expect("reads teams");
        assert!(teams.teams[0].default);
        let deleted: DeletedApiKey =
            serde_json::from_value(json!({"prefix": "abcd1234"})).expect("reads a tombstone");
        assert_eq!(deleted.prefix, "abcd1234");
    }

    #[test]
    fn a_new_key_is_never_in_debug_output() {
        let created: CreatedApiKey =
            serde_json::from_value(json!({"api_key": "abcd1234.newsecret"})).expect("reads");
        let shown = format!("{created:?}");
        assert!(
            shown.contains("abcd1234") && !shown.contains("newsecret"),
            "{shown}"
        );
    }

    #[test]
    fn path_parameters_are_encoded() {
        assert_eq!(api_key_path("ab/cd"), "/v1/api_keys/ab%2Fcd");
        assert_eq!(team_api_keys_path("t 1"), "/v1/teams/t%201/api_keys");
    }
}
