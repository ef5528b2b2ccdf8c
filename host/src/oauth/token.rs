//! The credential of an OAuth profile, stored as the reference tool stores it: the JSON
//! `{"access_token", "refresh_token", "expiry"}`, `expiry` in RFC 3339 (any offset, optional
//! fraction), `0001-01-01T00:00:00Z` (Go's zero time) meaning none.

use std::time::{SystemTime, UNIX_EPOCH};

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

/// Now, in Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS(.fraction)(Z|±HH:MM)` as Unix seconds (the fraction dropped);
/// `Some(None)` for Go's zero time, which means "no expiry"; `None` when it is not RFC 3339.
pub fn parse_rfc3339(text: &str) -> Option<Option<i64>> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|byte| byte.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // A leap second reads as the last second of its minute.
    let second = second.min(59);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let hours: i64 = rest[1..3].parse().ok()?;
            let minutes: i64 = rest[4..6].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    if year == 1 && month == 1 && day == 1 && hour == 0 && minute == 0 && second == 0 {
        return Some(None);
    }
    let days = days_from_civil(year, month, day);
    Some(Some(
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
    ))
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
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
