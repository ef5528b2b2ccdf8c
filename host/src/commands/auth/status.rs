//! `baseten auth status`: the credential a command would use, where it comes from and where its
//! secret is kept, the key masked. Sends nothing.

use serde_json::{Value, json};

use baseten_plugin_api::{CommandOutput, CommandSpec};

use crate::commands::auth::mask;
use crate::commands::{BuiltIn, Declare, Request};
use crate::credentials::{self, CredentialSource, SecretStorage};
use crate::env_vars;
use crate::error::CliError;
use crate::oauth;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["auth", "status"],
        "Show the credential in use, where it comes from and where it is stored",
    )
    .long_about(
        "Show which credential a command would use: a stored profile (picked by --profile, \
             BASETEN_PROFILE or the current profile) or BASETEN_API_KEY; its remote, its auth \
             type, where the secret is kept (system keyring, auth.json in plain text, or the \
             environment), and the API key masked, or for a browser login when its access token \
             expires (never the tokens). Sends nothing. Exits 3 when there is no credential.",
    )
    .example("See what is in use", "baseten auth status")
    .example(
        "See a given profile",
        "baseten auth status --profile ci -o json",
    )
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let credential = credentials::resolve(request.context, request.profile)?;
    let (source_text, source, profile, chosen_by) = match &credential.source {
        CredentialSource::Profile { name, chosen_by } => (
            format!("profile {name} ({})", chosen_by.describe()),
            "profile",
            Value::String(name.clone()),
            Value::String(chosen_by.name().to_owned()),
        ),
        CredentialSource::Environment | CredentialSource::Login => (
            env_vars::API_KEY.to_owned(),
            "environment",
            Value::Null,
            Value::Null,
        ),
    };
    let stored_in = match credential.storage {
        SecretStorage::Keyring => "system keyring".to_owned(),
        SecretStorage::File => "auth.json (plain text)".to_owned(),
        SecretStorage::Environment | SecretStorage::Unsaved => {
            format!("environment ({})", env_vars::API_KEY)
        }
    };
    let api_base = credential
        .api_base
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let (secret_row, secret_text, api_key, expiry, expires_in) = match &credential.oauth {
        // The tokens are never shown, not even in part: only when the access token expires.
        Some(token) => {
            let now = oauth::now();
            (
                "token",
                describe_expiry(token.seconds_left(now)),
                Value::Null,
                token.expiry.map_or(Value::Null, |expiry| {
                    Value::String(oauth::format_rfc3339(expiry))
                }),
                token
                    .seconds_left(now)
                    .map_or(Value::Null, |left| Value::from(left.max(0))),
            )
        }
        None => {
            let masked = mask(&credential.api_key);
            (
                "API key",
                masked.clone(),
                Value::String(masked),
                Value::Null,
                Value::Null,
            )
        }
    };
    let rows = [
        ("credential", source_text.as_str()),
        ("remote", credential.remote_url.as_str()),
        ("API", api_base.as_str()),
        ("auth type", credential.auth_type.as_str()),
        ("stored in", stored_in.as_str()),
        (secret_row, secret_text.as_str()),
    ];
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0) + 2;
    let lines = rows
        .iter()
        .map(|(key, value)| format!("{:<width$}{value}", format!("{key}:")))
        .collect();
    let mut payload = json!({
        "source": source,
        "profile": profile,
        "chosen_by": chosen_by,
        "remote_url": credential.remote_url,
        "api_base": api_base,
        "auth_type": credential.auth_type,
        "storage": credential.storage.name(),
        "api_key": api_key,
    });
    // Only a browser login's token expires.
    if credential.oauth.is_some()
        && let Value::Object(fields) = &mut payload
    {
        fields.insert("token_expiry".to_owned(), expiry);
        fields.insert("token_expires_in_seconds".to_owned(), expires_in);
    }
    Ok(CommandOutput::lines(payload, lines))
}

/// When an access token expires, in words: `expires in 42 min`, or `expired; will refresh` once
/// it is within the minute in which a command renews it first.
fn describe_expiry(seconds_left: Option<i64>) -> String {
    match seconds_left {
        None => "does not expire".to_owned(),
        Some(left) if left <= oauth::RENEW_MARGIN => "expired; will refresh".to_owned(),
        Some(left) if left < 2 * 3600 => format!("expires in {} min", left / 60),
        Some(left) if left < 2 * 86_400 => format!("expires in {} h", left / 3600),
        Some(left) => format!("expires in {} days", left / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_reads_in_minutes_hours_or_days() {
        assert_eq!(describe_expiry(None), "does not expire");
        assert_eq!(describe_expiry(Some(-5)), "expired; will refresh");
        assert_eq!(describe_expiry(Some(60)), "expired; will refresh");
        assert_eq!(describe_expiry(Some(42 * 60 + 30)), "expires in 42 min");
        assert_eq!(describe_expiry(Some(3 * 3600)), "expires in 3 h");
        assert_eq!(describe_expiry(Some(30 * 86_400)), "expires in 30 days");
    }
}
