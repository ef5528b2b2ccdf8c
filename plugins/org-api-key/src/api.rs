//! How `list` reads a key listing (borrowed, for listings of 100,000 keys), and the mapping
//! between the API's key types and the names users type. The other answers are the SDK's
//! [`baseten_plugin_api::models`].

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

/// The answer to `GET /v1/api_keys` read straight into `list`'s table rows: each key read with
/// its strings borrowed from the payload text and made a row at once, since a listing can hold
/// 100,000 keys (no vector of keys is built first).
pub struct KeyRows(pub Vec<Vec<String>>);

impl<'de> Deserialize<'de> for KeyRows {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Listing {
            keys: EachRow,
        }
        Listing::deserialize(deserializer).map(|listing| Self(listing.keys.0))
    }
}

/// The rows of `keys`, read as a sequence of [`ListedKey`]s is.
struct EachRow(Vec<Vec<String>>);

impl<'de> Deserialize<'de> for EachRow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rows;
        impl<'de> Visitor<'de> for Rows {
            type Value = EachRow;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut keys: A) -> Result<EachRow, A::Error> {
                let mut rows = Vec::with_capacity(keys.size_hint().unwrap_or(0));
                while let Some(key) = keys.next_element::<ListedKey<'de>>()? {
                    rows.push(key.into_row());
                }
                Ok(EachRow(rows))
            }
        }
        deserializer.deserialize_seq(Rows)
    }
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

impl ListedKey<'_> {
    /// The key's row: its name, its prefix masked, its type as users type it, its team.
    fn into_row(self) -> Vec<String> {
        let mut masked = String::with_capacity(self.prefix.len() + 4);
        masked.push_str(&self.prefix);
        masked.push_str("****");
        vec![
            self.name.map(Cow::into_owned).unwrap_or_default(),
            masked,
            cli_key_type(&self.key_type),
            self.team_name.map(Cow::into_owned).unwrap_or_default(),
        ]
    }
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

/// The first element of `keys` read as a [`ListedKey`], the others skipped as any JSON value:
/// the shape is that of a listing, and the body is checked to be JSON to its end, at the cost
/// of skipping it (reading every key as a struct took a quarter of `-o json` at 100,000 keys).
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
                if keys.next_element::<ListedKey<'de>>()?.is_some() {
                    while keys.next_element::<IgnoredAny>()?.is_some() {}
                }
                Ok(KeysShape)
            }
        }
        deserializer.deserialize_seq(EachKey)
    }
}

/// Whether `body` is a listing [`ListingShape`] accepts, proven in one pass over the body with
/// the SDK's JSON checker instead of `serde_json`'s skip over every key (a third of the run
/// under `-o json` at 100,000 keys). `false` means only "not proven": the caller then reads the
/// body as [`ListingShape`], whose verdict and words stand, so what is refused and how it is
/// worded is exactly as before. Proven: the body is JSON, an object with one member named
/// `keys` (no key written with escapes), an array whose first element, if any, reads as a
/// [`ListedKey`] at the depth it has in the body.
pub fn is_listing(body: &str) -> bool {
    let Some(members) = baseten_plugin_api::json::members(body) else {
        return false;
    };
    if members.iter().any(|(key, _)| key.contains('\\')) {
        return false;
    }
    let mut keys = members.iter().filter(|(key, _)| *key == "keys");
    let (Some((_, list)), None) = (keys.next(), keys.next()) else {
        return false;
    };
    let Some(elements) = list.strip_prefix('[') else {
        return false;
    };
    let first = baseten_plugin_api::json::skip_space(elements.as_bytes(), 0);
    if elements.as_bytes().get(first) == Some(&b']') {
        return true;
    }
    let end = baseten_plugin_api::json::value_end(elements.as_bytes(), first);
    let Some(first_key) = elements.get(first..end) else {
        return false;
    };
    // Read inside a listing of its own, as the full read reads it.
    serde_json::from_str::<ListingShape>(&format!("{{\"keys\":[{first_key}]}}")).is_ok()
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
    fn a_listing_is_proven_only_where_the_full_read_accepts_it() {
        let key = r#"{"prefix":"abcd1234","type":"PERSONAL","name":null}"#;
        // Fields a key does not read are skipped at any depth, by the full read too.
        let deep = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
        let proven = [
            format!(r#"{{"keys":[{key},{key}],"next":null}}"#),
            format!(r#" {{ "next" : 1 , "keys" : [ {key} , {{"other":true}}, 3 ] }} "#),
            r#"{"keys":[]}"#.to_owned(),
            r#"{"keys":[ ]}"#.to_owned(),
            format!(r#"{{"keys":[{{"prefix":"a","type":"b","x":{deep}}}]}}"#),
        ];
        for body in &proven {
            assert!(is_listing(body), "{body}");
            assert!(serde_json::from_str::<ListingShape>(body).is_ok(), "{body}");
        }
        let not_proven = [
            // Refused by the full read too.
            r#"{"items":[]}"#.to_owned(),
            r#"{"keys":3}"#.to_owned(),
            r#"{"keys":[{"type":"PERSONAL"}]}"#.to_owned(),
            r#"{"keys":[1]}"#.to_owned(),
            format!(r#"{{"keys":[{key}],"keys":[]}}"#),
            format!(r#"{{"keys":[{key},]}}"#),
            format!(r#"{{"keys":[{key}]}} trailing"#),
            format!(r#"{{"keys":[{key},{{"prefix":"x",]}}"#),
            format!(r#"{{"keys":[{{"prefix":"a","type":"b","x":{deep}]}}]}}"#),
            "<html>".to_owned(),
            // Accepted by the full read, left to it.
            format!(r#"{{"k\u0065ys":[{key}]}}"#),
            format!(r#"[[{key}]]"#),
        ];
        for body in &not_proven {
            assert!(!is_listing(body), "{body}");
        }
        assert!(serde_json::from_str::<ListingShape>(&not_proven[not_proven.len() - 2]).is_ok());
        assert!(serde_json::from_str::<ListingShape>(&not_proven[8]).is_err());
    }

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
