//! Small helpers shared by the test modules.

use baseten_e2e::BackgroundEmulator;
use serde_json::Value;

/// The requests the emulator saw, oldest first.
pub fn requests(emulator: &BackgroundEmulator) -> Vec<Value> {
    match emulator.requests() {
        Value::Array(requests) => requests,
        Value::Object(mut fields) => match fields.remove("requests") {
            Some(Value::Array(requests)) => requests,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `METHOD path` of each request the emulator saw.
pub fn request_lines(emulator: &BackgroundEmulator) -> Vec<String> {
    requests(emulator)
        .iter()
        .map(|request| {
            format!(
                "{} {}",
                request["method"].as_str().unwrap_or("?"),
                request["path"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// The prefix of a key `prefix.secret`.
pub fn prefix_of(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}
