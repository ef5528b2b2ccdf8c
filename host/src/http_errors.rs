//! The one mapping from a non-2xx answer of the API to the error a user sees: its kind (so the
//! exit code, from [`ErrorKind::for_status`], the table the SDK also fills in for older hosts),
//! its message and its hint.
//!
//! Plugins pass such answers on unclassified (`PluginError::http`) and the host completes them
//! here, as it does for its own requests (`auth login`, a `Retry-After` too long to wait): a
//! hint that names a host command changes here, without rebuilding any plugin.

use baseten_plugin_api::{ErrorKind, PluginError};
use serde_json::Value;

use crate::error::CliError;
use crate::sanitize;

/// What the user can do about a status, when there is something to say.
pub fn hint(status: u16) -> Option<&'static str> {
    match status {
        401 => {
            Some("check the credential: run `baseten auth status`, or `baseten auth login` again")
        }
        403 => Some("this API key may not do that; use a key with more rights"),
        429 => Some("the API is rate limiting requests; wait a moment and try again"),
        500..=599 => Some("the Baseten API had a problem; try again later"),
        _ => None,
    }
}

/// `HTTP {status}`, then the server's own words when its body has some.
pub fn describe(status: u16, body: &str) -> String {
    match server_message(body) {
        Some(reason) => format!("HTTP {status}: {reason}"),
        None => format!("HTTP {status}"),
    }
}

/// The error for a non-2xx answer to one of the host's own requests.
pub fn classify(status: u16, body: &str) -> CliError {
    let error = CliError::new(ErrorKind::for_status(status), describe(status, body));
    match hint(status) {
        Some(hint) => error.with_hint(hint),
        None => error,
    }
}

/// A plugin's error, with the answer it passes on (if any) classified: the kind follows the
/// status; the hint is the plugin's if it gave one, else the host's; the server's words follow
/// the first `HTTP {status}` of the message, or are the whole message when the plugin wrote
/// none. A message without `HTTP {status}` is the plugin's own account and stays as it is. An
/// error that passes nothing on (every error of a plugin built before the field existed) is
/// returned unchanged.
pub fn complete(mut error: PluginError) -> PluginError {
    let Some(http) = error.http.take() else {
        return error;
    };
    let status = http.status;
    error.kind = ErrorKind::for_status(status);
    if error.hint.is_none() {
        error.hint = hint(status).map(str::to_owned);
    }
    let description = describe(status, &http.body);
    if error.message.trim().is_empty() {
        error.message = description;
    } else {
        let anchor = format!("HTTP {status}");
        if let Some(end) = anchor_end(&error.message, &anchor) {
            let words = &description[anchor.len()..];
            error.message.insert_str(end, words);
        }
    }
    error
}

/// Where the first `anchor` of `message` ends, not counting one followed by another digit
/// (`HTTP 50` is not `HTTP 500`).
fn anchor_end(message: &str, anchor: &str) -> Option<usize> {
    message.match_indices(anchor).find_map(|(start, _)| {
        let end = start + anchor.len();
        let next = message[end..].chars().next();
        (!next.is_some_and(|character| character.is_ascii_digit())).then_some(end)
    })
}

/// The human part of an error body, on one line and at most 200 characters: the `message`,
/// `detail` or `error` field of a JSON object, or the text of another body (an HTML page reads
/// as its text).
fn server_message(body: &str) -> Option<String> {
    if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body) {
        for field in ["message", "detail", "error"] {
            match fields.get(field) {
                Some(Value::String(text)) if !text.trim().is_empty() => return Some(clean(text)),
                Some(value @ (Value::Object(_) | Value::Array(_))) => {
                    return Some(clean(&value.to_string()));
                }
                _ => {}
            }
        }
        return None;
    }
    let text = clean(&strip_markup(body));
    (!text.is_empty()).then_some(text)
}

/// Drops `<…>` tags so an HTML error page reads as its text.
fn strip_markup(body: &str) -> String {
    let mut text = String::with_capacity(body.len().min(4096));
    let mut in_tag = false;
    for character in body.chars().take(64 * 1024) {
        match character {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(character),
            _ => {}
        }
    }
    text
}

/// A server's words on one line of at most 200 characters, secrets scrubbed before the cut (a
/// token echoed across the cut would otherwise keep its first part).
fn clean(text: &str) -> String {
    sanitize::cut(&crate::secrets::scrub(&sanitize::collapse(text)), 200)
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::protocol::HttpFailure;

    use super::*;

    /// Status, body → exit code, message, hint: the table users see.
    #[test]
    fn every_status_maps_to_its_exit_code_message_and_hint() {
        let auth_hint =
            "check the credential: run `baseten auth status`, or `baseten auth login` again";
        let server_hint = "the Baseten API had a problem; try again later";
        let cases: [(u16, &str, u8, &str, Option<&str>); 12] = [
            (400, r#"{"detail":"bad"}"#, 5, "HTTP 400: bad", None),
            (401, "", 3, "HTTP 401", Some(auth_hint)),
            (
                403,
                r#"{"message":"no"}"#,
                3,
                "HTTP 403: no",
                Some("this API key may not do that; use a key with more rights"),
            ),
            (
                404,
                r#"{"message":"API key not found"}"#,
                4,
                "HTTP 404: API key not found",
                None,
            ),
            (409, r#"{"error":"taken"}"#, 5, "HTTP 409: taken", None),
            (
                429,
                "",
                5,
                "HTTP 429",
                Some("the API is rate limiting requests; wait a moment and try again"),
            ),
            (
                500,
                r#"{"detail":"db down"}"#,
                6,
                "HTTP 500: db down",
                Some(server_hint),
            ),
            (
                502,
                "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
                6,
                "HTTP 502: 502 Bad Gateway nginx",
                Some(server_hint),
            ),
            (503, "<html></html>", 6, "HTTP 503", Some(server_hint)),
            (
                500,
                r#"{"error":{"code":7}}"#,
                6,
                r#"HTTP 500: {"code":7}"#,
                Some(server_hint),
            ),
            (418, r#"{"message":"  "}"#, 5, "HTTP 418", None),
            (302, "moved", 1, "HTTP 302: moved", None),
        ];
        for (status, body, code, message, hint) in cases {
            let error = classify(status, body);
            assert_eq!(
                (
                    error.exit_code(),
                    error.message.as_str(),
                    error.hint.as_deref()
                ),
                (code, message, hint),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn long_and_multi_line_bodies_become_one_short_line() {
        let message = classify(500, &"x".repeat(5000)).message;
        assert_eq!(message, format!("HTTP 500: {}…", "x".repeat(200)));
        let message = classify(400, "line one\r\n\tline\u{1b}[31m two").message;
        assert_eq!(message, "HTTP 400: line one line [31m two");
    }

    /// The server's words are cut before the error line is scrubbed: a key the cut goes through
    /// is still recognised (the cut ends in `…`), so no piece of its secret reaches stderr.
    #[test]
    fn a_key_in_a_body_is_never_printed_even_where_the_words_are_cut() {
        let secret = "S3cretS3cretS3cretS3cretS3cretS3cret";
        for padding in 180..200 {
            let body = format!(
                r#"{{"message":"{} abcd1234.{secret}"}}"#,
                "x".repeat(padding)
            );
            let mut stderr = Vec::new();
            crate::output::write_error(&classify(500, &body), false, &mut stderr).expect("writes");
            let printed = String::from_utf8(stderr).expect("utf8");
            // Any run of 4 characters of the secret after the prefix would be a piece of it.
            assert!(!printed.contains("abcd1234.S3cr"), "{padding}: {printed}");
            assert!(!printed.contains("S3cretS3"), "{padding}: {printed}");
        }
    }

    fn passing_on(message: &str, status: u16, body: &str) -> PluginError {
        let mut error = PluginError::new(ErrorKind::Failure, message);
        error.http = Some(Box::new(HttpFailure {
            method: "GET".to_owned(),
            path: "/v1/api_keys".to_owned(),
            status,
            body: body.to_owned(),
        }));
        error
    }

    #[test]
    fn a_plugins_error_gets_the_hosts_kind_words_and_hint() {
        let error = complete(passing_on(
            "could not list API keys: HTTP 500",
            500,
            r#"{"message":"boom"}"#,
        ));
        assert_eq!(error.kind, ErrorKind::Server);
        assert_eq!(error.message, "could not list API keys: HTTP 500: boom");
        assert_eq!(
            error.hint.as_deref(),
            Some("the Baseten API had a problem; try again later")
        );
        assert!(error.http.is_none());
    }

    #[test]
    fn the_plugins_own_hint_and_words_after_the_status_are_kept() {
        let mut error = passing_on(
            "could not create API key: HTTP 500; the key may exist",
            500,
            r#"{"message":"boom"}"#,
        );
        error.hint = Some("check with `baseten org api-key list`".to_owned());
        let error = complete(error);
        assert_eq!(
            error.message,
            "could not create API key: HTTP 500: boom; the key may exist"
        );
        assert_eq!(
            error.hint.as_deref(),
            Some("check with `baseten org api-key list`")
        );
    }

    #[test]
    fn an_answer_alone_makes_the_whole_message() {
        let error = complete(passing_on("", 403, r#"{"message":"not allowed"}"#));
        assert_eq!(error.kind, ErrorKind::Auth);
        assert_eq!(error.message, "HTTP 403: not allowed");
    }

    #[test]
    fn a_message_without_the_status_is_the_plugins_own() {
        let error = complete(passing_on(
            "no key with that prefix",
            404,
            r#"{"message":"x"}"#,
        ));
        assert_eq!(error.message, "no key with that prefix");
        assert_eq!(error.kind, ErrorKind::NotFound);
        let error = complete(passing_on("HTTP 5000 then HTTP 500", 500, "boom"));
        assert_eq!(error.message, "HTTP 5000 then HTTP 500: boom");
    }

    #[test]
    fn an_error_passing_nothing_on_is_left_as_it_is() {
        let error = PluginError::new(ErrorKind::Auth, "HTTP 401").with_hint("an older hint");
        assert_eq!(complete(error.clone()), error);
    }
}
