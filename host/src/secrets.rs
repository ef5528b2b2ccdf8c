//! Secrets never reach the terminal: every line the host writes to stderr (errors, hints,
//! warnings, notices, log lines) passes through [`scrub`], which replaces the secrets this
//! process knows of and control characters that could drive a terminal.

use std::sync::{Mutex, OnceLock};

/// What stands in for a secret wherever it would be printed.
pub const REDACTED: &str = "<redacted>";

/// The exact secrets this process holds (the credential in use, a key typed to `auth login`).
fn registry() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// From now on, `secret` is replaced wherever the host would print it.
pub fn register(secret: &str) {
    if secret.len() < 4 {
        return;
    }
    if let Ok(mut secrets) = registry().lock()
        && !secrets.iter().any(|known| known == secret)
    {
        secrets.push(secret.to_owned());
    }
}

/// `text` with every known secret replaced by [`REDACTED`] and every control character but a tab
/// replaced by a space.
pub fn scrub(text: &str) -> String {
    let mut text = text.to_owned();
    if let Ok(secrets) = registry().lock() {
        for secret in secrets.iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
    }
    text.chars()
        .map(|character| {
            if character.is_control() && character != '\t' {
                ' '
            } else {
                character
            }
        })
        .collect()
}
