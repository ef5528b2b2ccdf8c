//! The management API's wire types for API keys and teams, and the mapping between the API's key
//! types and the names users type.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

/// `GET /v1/api_keys`.
pub const API_KEYS_PATH: &str = "/v1/api_keys";
/// `GET /v1/teams`.
pub const TEAMS_PATH: &str = "/v1/teams";

/// The answer to `GET /v1/api_keys`.
#[derive(Debug, Deserialize)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKey>,
}

/// One key as `delete` needs it, to find a key by name.
#[derive(Debug, Deserialize)]
pub struct ApiKey {
    pub prefix: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// The answer to `GET /v1/api_keys` read for a table: strings borrowed from the payload text,
/// since a listing can hold 100,000 keys.
#[derive(Debug, Deserialize)]
pub struct ListedKeys<'a> {
    #[serde(borrow)]
    pub keys: Vec<ListedKey<'a>>,
}

/// One key as a table row needs it.
#[derive(Debug, Deserialize)]
pub struct ListedKey<'a> {
    #[serde(borrow)]
    pub prefix: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    pub key_type: Cow<'a, str>,
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub team_name: Option<Cow<'a, str>>,
}

/// The shape of a key listing, checked without keeping it: what `-o json` needs, since it prints
/// the payload as received and only has to be sure it is a listing.
pub struct ListingShape;

impl<'de> Deserialize<'de> for ListingShape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Listing {
            #[serde(rename = "keys")]
            _keys: KeysShape,
        }
        Listing::deserialize(deserializer).map(|_| Self)
    }
}

/// Every element of `keys` read as a [`ListedKey`] and dropped at once.
struct KeysShape;

impl<'de> Deserialize<'de> for KeysShape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EachKey;
        impl<'de> Visitor<'de> for EachKey {
            type Value = KeysShape;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a list of API keys")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut keys: A) -> Result<KeysShape, A::Error> {
                while keys.next_element::<ListedKey<'de>>()?.is_some() {}
                Ok(KeysShape)
            }
        }
        deserializer.deserialize_seq(EachKey)
    }
}

/// The answer to `GET /v1/teams`.
#[derive(Debug, Deserialize)]
pub struct TeamList {
    pub teams: Vec<Team>,
}

/// One team.
#[derive(Debug, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

/// The answer to a create: the new key, shown once.
#[derive(Debug, Deserialize)]
pub struct CreatedApiKey {
    pub api_key: String,
}

/// The answer to a delete.
#[derive(Debug, Deserialize)]
pub struct Tombstone {
    pub prefix: String,
}

/// Key types as users type them, with the API's names, in the order help lists them.
pub const KEY_TYPES: [(&str, &str); 4] = [
    ("personal", "PERSONAL"),
    ("workspace-export-metrics", "WORKSPACE_EXPORT_METRICS"),
    ("workspace-invoke", "WORKSPACE_INVOKE"),
    ("workspace-manage-all", "WORKSPACE_MANAGE_ALL"),
];

/// The key types that may be scoped to models with `--model-id`.
pub const MODEL_SCOPED_TYPES: [&str; 2] = ["workspace-export-metrics", "workspace-invoke"];

/// The API's name for a key type given on the command line.
pub fn api_key_type(cli_name: &str) -> Option<&'static str> {
    KEY_TYPES
        .iter()
        .find(|(cli, _)| *cli == cli_name)
        .map(|(_, api)| *api)
}

/// The command-line name of a key type the API returned; a type this version does not know is
/// shown in the same style rather than hidden.
pub fn cli_key_type(api_name: &str) -> String {
    KEY_TYPES
        .iter()
        .find(|(_, api)| *api == api_name)
        .map(|(cli, _)| (*cli).to_owned())
        .unwrap_or_else(|| api_name.to_ascii_lowercase().replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_maps_both_ways() {
        for (cli, api) in KEY_TYPES {
            assert_eq!(api_key_type(cli), Some(api));
            assert_eq!(cli_key_type(api), cli);
        }
    }

    #[test]
    fn unknown_api_types_are_shown_in_cli_style() {
        assert_eq!(cli_key_type("WORKSPACE_NEW_THING"), "workspace-new-thing");
        assert_eq!(api_key_type("PERSONAL"), None);
    }
}
