//! The credential of an OAuth profile, stored as the reference tool stores it: the JSON
//! `{"access_token", "refresh_token", "expiry"}`, `expiry` in RFC 3339 (any offset, optional
//! fraction), `0001-01-01T00:00:00Z` (Go's zero time) meaning none.

pub use crate::rfc3339::{format_rfc3339, now, parse_rfc3339};

use serde_json::{Map, Value, json};

/// How the stored `expiry` reads when the token has none.
pub const NO_EXPIRY: &str = "0001-01-01T00:00:00Z";

/// The latest expiry stored: 9999-12-31T23:59:59Z, the last second RFC 3339 (and Go's encoder)
/// can write.
pub const LATEST_EXPIRY: i64 = 253_402_300_799;

/// An access token, the refresh token that renews it, and when the access token expires (Unix
/// seconds). Its `Debug` never shows the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthToken {
    pub access_token: String,
    pub refresh_token: String,
    pub expiry: Option<i64>,
}

impl std::fmt::Debug for OAuthToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OAuthToken")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expiry", &self.expiry.map(format_rfc3339))
            .finish()
    }
}

impl OAuthToken {
    /// Reads the stored JSON (from the keyring, or a profile's `oauth_credential`); `why` says
    /// what is wrong with it otherwise. Fields it does not know are ignored.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let Value::Object(fields) = value else {
            return Err("it is not a JSON object".to_owned());
        };
        let text = |name: &str| -> Result<String, String> {
            match fields.get(name) {
                Some(Value::String(text)) => Ok(text.trim().to_owned()),
                None | Some(Value::Null) => Ok(String::new()),
                Some(_) => Err(format!("`{name}` is not a string")),
            }
        };
        let access_token = text("access_token")?;
        if access_token.is_empty() {
            return Err("it has no `access_token`".to_owned());
        }
        let refresh_token = text("refresh_token")?;
        let expiry = match text("expiry")?.as_str() {
            "" => None,
            stored => parse_rfc3339(stored)
                .ok_or_else(|| format!("`expiry` `{stored}` is not an RFC 3339 time"))?,
        };
        Ok(Self {
            access_token,
            refresh_token,
            expiry,
        })
    }

    /// Reads the stored JSON text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text.trim()).map_err(|_| "it is not JSON".to_owned())?;
        Self::from_value(&value)
    }

    /// The stored form, fields in the reference tool's order.
    pub fn to_value(&self) -> Value {
        let mut fields = Map::new();
        fields.insert("access_token".to_owned(), json!(self.access_token));
        fields.insert("refresh_token".to_owned(), json!(self.refresh_token));
        fields.insert(
            "expiry".to_owned(),
            json!(
                self.expiry
                    .map_or_else(|| NO_EXPIRY.to_owned(), format_rfc3339)
            ),
        );
        Value::Object(fields)
    }

    /// The stored form as text, for the keyring.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// The stored form as text, written over `stored` (the JSON text it replaces): fields of it
    /// this tool does not know are kept.
    pub fn to_json_over(&self, stored: Option<&str>) -> String {
        let previous = stored.and_then(|text| serde_json::from_str::<Value>(text.trim()).ok());
        match (previous, self.to_value()) {
            (Some(Value::Object(mut previous)), Value::Object(fresh)) => {
                previous.extend(fresh);
                Value::Object(previous).to_string()
            }
            _ => self.to_json(),
        }
    }

    /// Seconds until the access token expires (negative: expired); `None` when it never does.
    pub fn seconds_left(&self, now: i64) -> Option<i64> {
        self.expiry.map(|expiry| expiry - now)
    }

    /// Whether the access token expires within `margin` seconds of `now` (or already has).
    pub fn expires_within(&self, margin: i64, now: i64) -> bool {
        self.seconds_left(now).is_some_and(|left| left <= margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_times_are_read_with_any_offset_and_fraction() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(Some(0)));
        assert_eq!(
            parse_rfc3339("2026-11-28T10:00:00Z"),
            Some(Some(1_795_860_000))
        );
        assert_eq!(
            parse_rfc3339("2026-11-28T11:30:00.123456789+01:30"),
            Some(Some(1_795_860_000))
        );
        assert_eq!(
            parse_rfc3339("2026-11-28T02:00:00-08:00"),
            Some(Some(1_795_860_000))
        );
        assert_eq!(parse_rfc3339(NO_EXPIRY), Some(None));
        for bad in [
            "soon",
            "2026-11-28",
            "2026-11-28T10:00:00",
            "2026-13-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_round_trip() {
        for seconds in [0, 951_782_400, 1_795_860_000, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(seconds)), Some(Some(seconds)));
        }
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(LATEST_EXPIRY), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn the_stored_form_is_the_reference_tools() {
        let token = OAuthToken::from_json(
            r#"{"access_token":"at","refresh_token":"rt","expiry":"2026-11-28T10:00:00.5Z"}"#,
        )
        .expect("reads");
        assert_eq!(token.expiry, Some(1_795_860_000));
        assert_eq!(
            token.to_json(),
            r#"{"access_token":"at","refresh_token":"rt","expiry":"2026-11-28T10:00:00Z"}"#
        );
        let none = OAuthToken::from_json(
            r#"{"access_token":"at","refresh_token":"","expiry":"0001-01-01T00:00:00Z"}"#,
        )
        .expect("reads");
        assert_eq!(none.expiry, None);
        assert!(none.to_json().contains(NO_EXPIRY));
        assert!(OAuthToken::from_json(r#"{"refresh_token":"rt"}"#).is_err());
        assert!(OAuthToken::from_json("at").is_err());
    }

    #[test]
    fn tokens_written_over_stored_ones_keep_fields_this_tool_does_not_know() {
        let token = OAuthToken {
            access_token: "a2".to_owned(),
            refresh_token: "r2".to_owned(),
            expiry: None,
        };
        assert_eq!(
            token.to_json_over(Some(
                r#"{"access_token":"a1","token_type":"Bearer","refresh_token":"r1","expiry":"x"}"#
            )),
            format!(
                r#"{{"access_token":"a2","token_type":"Bearer","refresh_token":"r2","expiry":"{NO_EXPIRY}"}}"#
            )
        );
        assert_eq!(token.to_json_over(Some("not json")), token.to_json());
        assert_eq!(token.to_json_over(None), token.to_json());
    }

    #[test]
    fn debug_never_shows_the_tokens() {
        let token = OAuthToken {
            access_token: "secret-access".to_owned(),
            refresh_token: "secret-refresh".to_owned(),
            expiry: Some(0),
        };
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret-"), "{shown}");
    }

    #[test]
    fn expiry_margins() {
        let token = OAuthToken {
            access_token: "a".to_owned(),
            refresh_token: "r".to_owned(),
            expiry: Some(1000),
        };
        assert!(token.expires_within(60, 950));
        assert!(!token.expires_within(60, 900));
        assert!(token.expires_within(60, 2000));
        let forever = OAuthToken {
            expiry: None,
            ..token
        };
        assert!(!forever.expires_within(60, i64::MAX));
    }
}
