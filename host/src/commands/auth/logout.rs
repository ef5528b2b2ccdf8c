//! `baseten auth logout [--profile NAME]`: removes a profile (default: the current one) and its
//! secret, from the system keyring or from `auth.json`. An OAuth profile's session is ended on
//! the server first (`POST /v1/users/auth/logout`); if that fails, a warning says so and the
//! profile is removed anyway. An API-key profile sends nothing.

use serde_json::json;

use baseten_plugin_api::{CommandOutput, CommandSpec, ErrorKind};

use crate::commands::{BuiltIn, Declare, Request};
use baseten_plugin_api::protocol::HttpRequest;

use crate::credentials::{self, unknown_profile};
use crate::error::CliError;
use crate::http::ApiClient;
use crate::oauth::LOGOUT_PATH;
use crate::profiles::ProfileStore;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["auth", "logout"],
        "Remove a stored profile and its API key or tokens (default: the current profile)",
    )
    .example("Log out of the current profile", "baseten auth logout")
    .example(
        "Log out of another profile",
        "baseten auth logout --profile ci",
    )
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let mut store = ProfileStore::open(request.context)?;
    let name = match request.profile {
        Some(name) => name.to_owned(),
        None => store.current().ok_or_else(|| {
            CliError::new(
                ErrorKind::Auth,
                "not logged in: there is no current profile",
            )
            .with_hint("name the profile to log out of with `--profile NAME`")
        })?,
    };
    if !store.document().contains(&name) {
        return Err(unknown_profile(&name));
    }
    let revocation = match store.profile(&name) {
        Some(profile) if profile.is_oauth() => revoke(request, &name).err(),
        _ => None,
    };
    let removed = store.update(|document| {
        document
            .remove_profile(&name)
            .ok_or_else(|| unknown_profile(&name))
    })?;
    // The file no longer names the profile; now its secret goes from the keyring too, wherever
    // an earlier login may have put it.
    let secret_was_inline = removed.inline_api_key().is_some() || removed.inline_oauth().is_some();
    let secret = if removed.is_oauth() {
        "tokens"
    } else {
        "API key"
    };
    let mut output = CommandOutput::lines(
        json!({ "profile": name }),
        vec![format!("Logged out {name}")],
    );
    if let Some(why) = revocation {
        output = output.notice(format!(
            "warning: server-side session revocation failed: {why}"
        ));
    }
    match store.keyring().delete(&name) {
        Ok(removed_from_keyring) => request.logger.info(&format!(
            "* system keyring: {}",
            if removed_from_keyring {
                format!("{secret} removed")
            } else {
                format!("no {secret} stored there")
            }
        )),
        Err(why) if secret_was_inline => request
            .logger
            .info(&format!("* system keyring not checked: {why}")),
        Err(why) => {
            output = output.notice(format!(
                "warning: the {secret} of `{name}` may remain in the system keyring: {why}"
            ));
        }
    }
    Ok(output)
}

/// Ends the OAuth session of profile `name` on the server, renewing its access token first if
/// needed; why it could not, if so.
fn revoke(request: &Request<'_>, name: &str) -> Result<(), String> {
    let credential =
        credentials::resolve(request.context, Some(name)).map_err(|error| error.message)?;
    request.logger.info(&format!(
        "* ending the session of profile `{name}` with {}",
        credential.api_base.as_str().trim_end_matches('/')
    ));
    let client = ApiClient::new(request.context, credential).map_err(|error| error.message)?;
    let logout = HttpRequest {
        method: "POST".to_owned(),
        path: LOGOUT_PATH.to_owned(),
        query: Vec::new(),
        body: None,
    };
    let response = client
        .send(&logout, request.logger, request.context.terminal())
        .map_err(|error| error.message)?;
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(crate::http_errors::describe(
            response.status,
            &response.body,
        ))
    }
}
