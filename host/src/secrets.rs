//! Secrets never reach the terminal: every line the host writes to stderr (errors, hints,
//! warnings, notices, prompts, log lines) passes through [`scrub`], which replaces
//!
//! - the exact secrets this process knows of ([`register`]: the credential in use, its secret
//!   part alone, the key typed to `auth login`, key-shaped command-line values),
//! - anything shaped like an API key (`<8 letters or digits>.<secret>`, see `api_key_spans`),
//! - the value of every secret field (`api_key`, `token`, `password`, …, see
//!   [`is_secret_field`]) written as `name: value`, `name=value` or `"name": "value"`,
//!
//! and then replaces control characters ([`crate::sanitize::printable`]) so that nothing from
//! outside (a server, a plugin, an argument) can drive the terminal. Data on stdout only goes
//! through `sanitize`: a new key printed there is the point of the command.

use std::sync::{Mutex, OnceLock};

/// What stands in for a secret wherever it would be printed.
pub const REDACTED: &str = "<redacted>";

/// An API key's public prefix is this many letters or digits.
const PREFIX_LEN: usize = 8;
/// A run of secret characters at least this long after a prefix and a `.` makes a key.
const MIN_SECRET_LEN: usize = 16;
/// A secret part alone is registered only when at least this long: shorter ones would blank out
/// ordinary words.
const MIN_REGISTERED_PART: usize = 8;

/// Field names (lowercase, without `_` and `-`) whose values are secrets, wherever they appear:
/// `api_key`, `apiKey` and `API-KEY` all read `apikey`.
const SECRET_FIELDS: [&str; 15] = [
    "apikey",
    "xapikey",
    "key",
    "secretkey",
    "privatekey",
    "token",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "devicecode",
    "clientsecret",
    "secret",
    "password",
    "passwd",
    "authorization",
];

/// The exact secrets this process holds, longest first.
fn registry() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// From now on, `secret` is replaced wherever the host would print it; so is the part after its
/// first `.` (a key's secret part), when that is long enough to be one.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < 4 {
        return;
    }
    let Ok(mut secrets) = registry().lock() else {
        return;
    };
    let mut add = |text: &str| {
        if !secrets.iter().any(|known| known == text) {
            secrets.push(text.to_owned());
            // Longest first: a whole key is replaced before its secret part could split it.
            secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
        }
    };
    add(secret);
    if let Some((_, part)) = secret.split_once('.')
        && part.len() >= MIN_REGISTERED_PART
    {
        add(part);
    }
}

/// Registers every key-shaped value inside `text` (a command-line argument), so that a key typed
/// where it does not belong is not echoed, not even in pieces (a jq error quoting its secret
/// part).
pub fn register_keys_in(text: &str) {
    for (start, end) in api_key_spans(text) {
        register(&text[start..end]);
    }
}

/// Whether `text` holds a value shaped like an API key (a key typed where a name belongs).
pub fn holds_api_key(text: &str) -> bool {
    !api_key_spans(text).is_empty()
}

/// `text` with every secret replaced by [`REDACTED`] and control characters made harmless.
pub fn scrub(text: &str) -> String {
    let mut text = text.to_owned();
    if let Ok(secrets) = registry().lock() {
        for secret in secrets.iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
    }
    crate::sanitize::printable(&redact_secret_fields(&redact_url_passwords(
        &redact_api_keys(&text),
    )))
}

/// `text` with the password of every URL replaced: `https://user:pass@host` becomes
/// `https://user:<redacted>@host` (a proxy or API URL may carry one).
fn redact_url_passwords(text: &str) -> String {
    let mut redacted = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("://") {
        let authority_start = found + 3;
        redacted.push_str(&rest[..authority_start]);
        rest = &rest[authority_start..];
        let authority_end = rest
            .find(|character: char| {
                matches!(character, '/' | '?' | '#' | '`' | '\'' | '"' | '<' | '>')
                    || character.is_whitespace()
            })
            .unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        redacted.push_str(&userinfo[..=colon]);
                        redacted.push_str(REDACTED);
                    }
                    None => redacted.push_str(userinfo),
                }
                redacted.push_str(&authority[at..]);
            }
            None => redacted.push_str(authority),
        }
        rest = &rest[authority_end..];
    }
    redacted.push_str(rest);
    redacted
}

/// Whether a field of this name holds a secret, in any case and naming style (`api_key`,
/// `apiKey`, `API-KEY`, `access_token`, `Authorization`, …).
pub fn is_secret_field(name: &str) -> bool {
    if name.len() > 32 {
        return false;
    }
    let normalized: String = name
        .chars()
        .filter(|character| *character != '_' && *character != '-')
        .map(|character| character.to_ascii_lowercase())
        .collect();
    SECRET_FIELDS.contains(&normalized.as_str())
}

fn is_secret_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

/// Byte ranges of the API keys in `text`: exactly 8 letters or digits (not part of a longer
/// word), a `.`, then at least 16 letters, digits, `_` or `-` (or fewer cut off by `…`).
/// `auth.json`, `v1.2` and `api.baseten.co` are not keys.
fn api_key_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut index = 0;
    while index + PREFIX_LEN < bytes.len() {
        // A key may follow a dash (`--KEY` typed as a flag), but not sit inside a longer word.
        let starts_word =
            index == 0 || !(bytes[index - 1].is_ascii_alphanumeric() || bytes[index - 1] == b'_');
        if !starts_word || !bytes[index].is_ascii_alphanumeric() {
            index += 1;
            continue;
        }
        let prefix_end = index
            + bytes[index..]
                .iter()
                .take_while(|byte| byte.is_ascii_alphanumeric())
                .count();
        if prefix_end - index != PREFIX_LEN || bytes.get(prefix_end) != Some(&b'.') {
            index = prefix_end.max(index + 1);
            continue;
        }
        let secret_start = prefix_end + 1;
        let secret_end = secret_start
            + bytes[secret_start..]
                .iter()
                .take_while(|byte| is_secret_char(**byte))
                .count();
        let secret_len = secret_end - secret_start;
        let cut_short = secret_len > 0 && text[secret_end..].starts_with('…');
        if secret_len >= MIN_SECRET_LEN || cut_short {
            spans.push((index, secret_end));
        }
        index = secret_end.max(index + 1);
    }
    spans
}

/// The API keys in `text`, in order.
pub fn api_keys_in(text: &str) -> Vec<&str> {
    api_key_spans(text)
        .into_iter()
        .map(|(start, end)| &text[start..end])
        .collect()
}

/// `text` with every API key replaced.
fn redact_api_keys(text: &str) -> String {
    let spans = api_key_spans(text);
    if spans.is_empty() {
        return text.to_owned();
    }
    let mut redacted = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in spans {
        redacted.push_str(&text[last..start]);
        redacted.push_str(REDACTED);
        last = end;
    }
    redacted.push_str(&text[last..]);
    redacted
}

/// `text` with the value of every secret field replaced: `"api_key": "…"`, `token=…`,
/// `password: …`, `Authorization: Api-Key …`.
fn redact_secret_fields(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut redacted = String::with_capacity(text.len());
    let mut copied = 0;
    let mut index = 0;
    while index < bytes.len() {
        if !is_secret_char(bytes[index]) || (index > 0 && is_secret_char(bytes[index - 1])) {
            index += 1;
            continue;
        }
        let name_end = index
            + bytes[index..]
                .iter()
                .take_while(|byte| is_secret_char(**byte))
                .count();
        let name = &text[index..name_end];
        index = name_end;
        if !is_secret_field(name) {
            continue;
        }
        let quoted = opens_with_quote(bytes, name_end - name.len());
        let Some((value_start, value_end)) = field_value(text, name_end, name, quoted) else {
            continue;
        };
        redacted.push_str(&text[copied..value_start]);
        redacted.push_str(REDACTED);
        copied = value_end;
        index = value_end;
    }
    redacted.push_str(&text[copied..]);
    redacted
}

/// Whether the name starting at `start` opens with a quote (`"key": …`).
fn opens_with_quote(bytes: &[u8], start: usize) -> bool {
    start > 0 && matches!(bytes[start - 1], b'"' | b'\'')
}

/// Where the value of the field whose name ends at `name_end` lies: after an optional closing
/// quote, a `:` or a single `=`, and spaces. `None` when no value follows (`key == x`, `key
/// was`), or the value is not a secret (`null`, an object). The bare word `key` counts only as
/// `"key": …` or `key=…`: prose says `API key: …`.
fn field_value(text: &str, name_end: usize, name: &str, quoted: bool) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut index = name_end;
    if matches!(bytes.get(index), Some(b'"' | b'\'')) {
        index += 1;
    }
    while bytes.get(index) == Some(&b' ') {
        index += 1;
    }
    let generic = name.eq_ignore_ascii_case("key");
    match bytes.get(index) {
        Some(b':') if quoted || !generic => index += 1,
        Some(b'=') if bytes.get(index + 1) != Some(&b'=') => index += 1,
        _ => return None,
    }
    while bytes.get(index) == Some(&b' ') {
        index += 1;
    }
    let start = index;
    match bytes.get(start)? {
        quote @ (b'"' | b'\'') => {
            let mut end = start + 1;
            while end < bytes.len() && bytes[end] != *quote {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            let end = end.min(bytes.len());
            (end > start + 1).then_some((start + 1, end))
        }
        b'{' | b'[' => None,
        _ => {
            let end = bare_word_end(text, start);
            let word = &text[start..end];
            if word.is_empty() || word == "null" {
                return None;
            }
            // `Authorization: Api-Key <secret>`: the scheme stays, the credential goes.
            let is_scheme = ["api-key", "bearer", "basic", "token"]
                .contains(&word.to_ascii_lowercase().as_str());
            if name.eq_ignore_ascii_case("authorization")
                && is_scheme
                && bytes.get(end) == Some(&b' ')
            {
                let secret_start = end + 1;
                let secret_end = bare_word_end(text, secret_start);
                if secret_end > secret_start {
                    return Some((secret_start, secret_end));
                }
            }
            Some((start, end))
        }
    }
}

/// The end of an unquoted value: the next space, quote, separator or closing bracket.
fn bare_word_end(text: &str, start: usize) -> usize {
    text[start..]
        .find(|character: char| {
            character.is_whitespace()
                || matches!(
                    character,
                    ',' | ';' | '&' | '"' | '\'' | '}' | ']' | ')' | '`'
                )
        })
        .map_or(text.len(), |offset| start + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_api_key(text: &str) -> bool {
        api_key_spans(text) == [(0, text.len())]
    }

    #[test]
    fn keys_are_recognised_but_dotted_words_are_not() {
        for key in [
            "abcd1234.Jk3s9dLm2Qp8Zx7Vb6Nc",
            "ABCD1234.supersecretsupersecret",
            "a1b2c3d4.with_under-scores_0123456789",
        ] {
            assert!(is_api_key(key), "{key}");
        }
        for word in [
            "auth.json",
            "v1.2",
            "api.baseten.co",
            "abcd1234.short",
            "abcdefghi.supersecretsupersecret",
            "abcd123.supersecretsupersecret",
            "abcd1234",
            "config12.json",
            "https://app.baseten.co/settings",
        ] {
            assert!(!is_api_key(word), "{word}");
            assert_eq!(redact_api_keys(word), word);
        }
    }

    #[test]
    fn keys_inside_text_are_redacted() {
        assert_eq!(
            redact_api_keys("invalid key ABCD1234.supersecretsupersecret, try again"),
            "invalid key <redacted>, try again"
        );
        assert_eq!(
            redact_api_keys(
                "\"abcd1234.supersecretsupersecret\" and `wxyz9876.anothersecretanother`"
            ),
            "\"<redacted>\" and `<redacted>`"
        );
        assert_eq!(
            redact_api_keys("the key abcd1234.supers… was cut"),
            "the key <redacted>… was cut"
        );
    }

    #[test]
    fn secret_fields_match_in_any_naming_style() {
        for name in [
            "api_key",
            "apiKey",
            "API_KEY",
            "Api-Key",
            "key",
            "token",
            "access_token",
            "refreshToken",
            "client_secret",
            "secret",
            "PASSWORD",
            "Authorization",
        ] {
            assert!(is_secret_field(name), "{name}");
        }
        for name in ["keys", "prefix", "name", "monkey", "tokens_used", "type"] {
            assert!(!is_secret_field(name), "{name}");
        }
    }

    #[test]
    fn secret_field_values_are_redacted_in_text() {
        assert_eq!(
            redact_secret_fields(r#"{"apiKey":"s3cr3t","name":"ci"}"#),
            r#"{"apiKey":"<redacted>","name":"ci"}"#
        );
        assert_eq!(
            redact_secret_fields(r#"{"ACCESS_TOKEN": "a\"b", "x": 1}"#),
            r#"{"ACCESS_TOKEN": "<redacted>", "x": 1}"#
        );
        assert_eq!(
            redact_secret_fields("password=hunter2&user=me"),
            "password=<redacted>&user=me"
        );
        assert_eq!(
            redact_secret_fields("refresh_token: abc, next"),
            "refresh_token: <redacted>, next"
        );
        assert_eq!(
            redact_secret_fields("Authorization: Bearer abc.def"),
            "Authorization: Bearer <redacted>"
        );
        assert_eq!(
            redact_secret_fields("'client_secret': 'xyz'"),
            "'client_secret': '<redacted>'"
        );
    }

    #[test]
    fn words_that_only_mention_a_field_are_kept() {
        for text in [
            "the API key was rejected: HTTP 401",
            "could not delete API key abcd1234: HTTP 404: API key not found",
            ".keys[] | select(.key == \"x\")",
            "{\"token\":null}",
            "{\"secret\":{\"inner\":1}}",
            "Save this key now. It will not be shown again.",
            "could not read the API key: stream did not contain valid UTF-8",
            "Paste your API key: ",
        ] {
            assert_eq!(redact_secret_fields(text), text);
        }
    }

    #[test]
    fn registered_secrets_and_their_secret_part_are_scrubbed() {
        register("qrst5678.registeredsecretvalue");
        assert_eq!(
            scrub("key qrst5678.registeredsecretvalue, part registeredsecretvalue"),
            "key <redacted>, part <redacted>"
        );
    }

    #[test]
    fn key_shaped_arguments_are_registered_whole_and_in_part() {
        register_keys_in("--name=mnop4321.typedasanargument99");
        assert_eq!(
            scrub("unexpected token typedasanargument99"),
            "unexpected token <redacted>"
        );
    }

    #[test]
    fn url_passwords_are_redacted_and_the_rest_kept() {
        assert_eq!(
            scrub("invalid URL `http://u:hunter2pass@127.0.0.1:1/x`: bad"),
            "invalid URL `http://u:<redacted>@127.0.0.1:1/x`: bad"
        );
        assert_eq!(
            scrub("http://user@host/a and https://host:8443/b"),
            "http://user@host/a and https://host:8443/b"
        );
    }

    #[test]
    fn a_key_typed_as_a_flag_is_still_a_key() {
        assert_eq!(
            scrub("unexpected argument '--ABCD1234.supersecretvalue1234567890' found"),
            "unexpected argument '--<redacted>' found"
        );
        assert!(!is_api_key("xABCD1234.supersecretvalue1234567890"));
    }

    #[test]
    fn scrub_does_everything_at_once() {
        assert_eq!(
            scrub(
                "error: {\"message\":\"bad ABCD1234.supersecretsupersecret\",\"token\":\"t0k\"}\u{1b}[2J"
            ),
            "error: {\"message\":\"bad <redacted>\",\"token\":\"<redacted>\"}?[2J"
        );
    }
}
