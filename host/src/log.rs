//! `-v` logging to stderr, with secrets scrubbed from every line.

use std::io::Write;

use serde_json::Value;

pub use crate::secrets::REDACTED;
use crate::secrets::is_secret_field;

use crate::terminal::SharedWriter;

/// Writes log lines to the run's stderr when `-v` asked for them. A clone writes to the same
/// stream (a thread relaying a plugin's stderr).
#[derive(Clone)]
pub struct Logger {
    verbosity: u8,
    stderr: SharedWriter,
}

impl Logger {
    pub fn new(verbosity: u8, stderr: SharedWriter) -> Self {
        Self { verbosity, stderr }
    }

    /// From now on, `secret` is replaced wherever it would be printed.
    pub fn add_secret(&self, secret: &str) {
        crate::secrets::register(secret);
    }

    /// A line shown with `-v`.
    pub fn info(&self, message: &str) {
        self.write(1, message);
    }

    /// A line shown with `-vv`.
    pub fn debug(&self, message: &str) {
        self.write(2, message);
    }

    /// Whether lines of `level` are shown: lets callers skip building them.
    pub fn enabled(&self, level: u8) -> bool {
        self.verbosity >= level
    }

    fn write(&self, level: u8, message: &str) {
        if !self.enabled(level) {
            return;
        }
        let line = self.scrub(message);
        let mut stderr = self
            .stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A log line that cannot be written is not worth failing the command for.
        let _ = writeln!(stderr, "{line}");
    }

    /// `text` with every registered secret replaced.
    pub fn scrub(&self, text: &str) -> String {
        crate::secrets::scrub(text)
    }
}

/// A header's value for the log: a secret one (`Authorization`, `X-Api-Key`, cookies) keeps only
/// its scheme, if it has one.
pub fn redact_header(name: &str, value: &[u8]) -> String {
    let secret = is_secret_field(name)
        || ["proxy-authorization", "cookie", "set-cookie"]
            .iter()
            .any(|known| name.eq_ignore_ascii_case(known));
    if !secret {
        return String::from_utf8_lossy(value).into_owned();
    }
    let value = String::from_utf8_lossy(value);
    match value.trim().split_once(' ') {
        Some((scheme, _)) if name.to_ascii_lowercase().ends_with("authorization") => {
            format!("{scheme} {REDACTED}")
        }
        _ => REDACTED.to_owned(),
    }
}

/// A body for the log: JSON with the value of every secret field replaced (any naming style, see
/// [`is_secret_field`]), else the text cut to a readable length. Every log line is scrubbed too,
/// so registered secrets and key-shaped values go wherever they sit in a body.
pub fn redact_body(body: &str) -> String {
    const LIMIT: usize = 4096;
    match serde_json::from_str::<Value>(body) {
        Ok(mut value) => {
            redact_value(&mut value);
            let text = value.to_string();
            crate::sanitize::cut_bytes(&crate::secrets::scrub(&text), LIMIT)
        }
        // Scrubbed before the cut: a secret cut in two would no longer be recognised.
        Err(_) => crate::sanitize::cut_bytes(&crate::secrets::scrub(body), LIMIT),
    }
}

/// A form body (`a=1&b=2`) for the log: the value of every secret field replaced, as in
/// [`redact_body`] (`device_code`, `refresh_token`…).
pub fn redact_form(body: &str) -> String {
    let redacted: Vec<String> = body
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_field(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect();
    crate::sanitize::cut_bytes(&redacted.join("&"), 4096)
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if is_secret_field(name) && !field.is_null() {
                    *field = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_redacted_at_any_depth() {
        let body = r#"{"api_key":"abcd1234.s3cret","nested":[{"token":"t"}],"name":"ci"}"#;
        assert_eq!(
            redact_body(body),
            r#"{"api_key":"<redacted>","nested":[{"token":"<redacted>"}],"name":"ci"}"#
        );
    }

    #[test]
    fn secret_fields_are_redacted_in_any_naming_style() {
        let body = r#"{"apiKey":"a","API_KEY":"b","key":"c","access_token":"d","refreshToken":"e","client_secret":"f","Secret":"g","PASSWORD":"h","authorization":"i","keys":[],"prefix":"p"}"#;
        assert_eq!(
            redact_body(body),
            r#"{"apiKey":"<redacted>","API_KEY":"<redacted>","key":"<redacted>","access_token":"<redacted>","refreshToken":"<redacted>","client_secret":"<redacted>","Secret":"<redacted>","PASSWORD":"<redacted>","authorization":"<redacted>","keys":[],"prefix":"p"}"#
        );
    }

    #[test]
    fn secret_headers_keep_only_their_scheme() {
        assert_eq!(
            redact_header("authorization", b"Api-Key abcd1234.s3cret"),
            "Api-Key <redacted>"
        );
        assert_eq!(redact_header("X-Api-Key", b"abcd1234.s3cret"), "<redacted>");
        assert_eq!(redact_header("set-cookie", b"session=1"), "<redacted>");
        assert_eq!(redact_header("content-type", b"text/plain"), "text/plain");
    }

    #[test]
    fn registered_secrets_are_scrubbed_from_any_line() {
        let logger = Logger::new(
            2,
            std::sync::Arc::new(std::sync::Mutex::new(Box::new(std::io::sink()))),
        );
        logger.add_secret("abcd1234.s3cret");
        assert_eq!(
            logger.scrub("Authorization: Api-Key abcd1234.s3cret"),
            "Authorization: Api-Key <redacted>"
        );
    }

    #[test]
    fn secret_form_fields_are_redacted() {
        assert_eq!(
            redact_form("client_id=baseten-cli&device_code=abc&grant_type=x&refresh_token=r"),
            "client_id=baseten-cli&device_code=<redacted>&grant_type=x&refresh_token=<redacted>"
        );
        assert_eq!(
            redact_body(r#"{"device_code":"d","user_code":"U"}"#),
            r#"{"device_code":"<redacted>","user_code":"U"}"#
        );
    }

    #[test]
    fn long_bodies_are_cut() {
        assert!(redact_body(&"x".repeat(10_000)).len() < 4200);
    }
}
