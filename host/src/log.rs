//! `-v` logging to stderr, with secrets scrubbed from every line.

use std::io::Write;

use serde_json::Value;

pub use crate::secrets::REDACTED;

/// JSON fields whose values are secrets, wherever they appear in a body.
const SECRET_FIELDS: [&str; 6] = ["api_key", "apiKey", "secret", "token", "password", "key"];

/// Writes log lines to stderr when `-v` asked for them.
pub struct Logger {
    verbosity: u8,
}

impl Logger {
    pub fn new(verbosity: u8) -> Self {
        Self { verbosity }
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
        let mut stderr = std::io::stderr().lock();
        // A log line that cannot be written is not worth failing the command for.
        let _ = writeln!(stderr, "{line}");
    }

    /// `text` with every registered secret replaced.
    pub fn scrub(&self, text: &str) -> String {
        crate::secrets::scrub(text)
    }
}

/// A body for the log: JSON with secret fields replaced, else the text cut to a readable length.
pub fn redact_body(body: &str) -> String {
    const LIMIT: usize = 4096;
    match serde_json::from_str::<Value>(body) {
        Ok(mut value) => {
            redact_value(&mut value);
            let text = value.to_string();
            cut(&text, LIMIT)
        }
        Err(_) => cut(body, LIMIT),
    }
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if SECRET_FIELDS.contains(&name.as_str()) && !field.is_null() {
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

fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
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
    fn registered_secrets_are_scrubbed_from_any_line() {
        let logger = Logger::new(2);
        logger.add_secret("abcd1234.s3cret");
        assert_eq!(
            logger.scrub("Authorization: Api-Key abcd1234.s3cret"),
            "Authorization: Api-Key <redacted>"
        );
    }

    #[test]
    fn long_bodies_are_cut() {
        assert!(redact_body(&"x".repeat(10_000)).len() < 4200);
    }
}
