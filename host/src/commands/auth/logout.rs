//! `baseten auth logout [--profile NAME]`: removes a profile (default: the current one) and its
//! secret, from the system keyring or from `auth.json`.

use serde_json::json;

use baseten_plugin_api::{CommandOutput, CommandSpec, ErrorKind};

use crate::commands::{BuiltIn, Declare, Request};
use crate::credentials::unknown_profile;
use crate::error::CliError;
use crate::profiles::ProfileStore;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["auth", "logout"],
        "Remove a stored profile and its API key (default: the current profile)",
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
    let removed = store.update(|document| {
        document
            .remove_profile(&name)
            .ok_or_else(|| unknown_profile(&name))
    })?;
    // The file no longer names the profile; now its secret goes from the keyring too, wherever
    // an earlier login may have put it.
    let secret_was_inline = removed.inline_api_key().is_some();
    let mut output = CommandOutput::lines(
        json!({ "profile": name }),
        vec![format!("Logged out {name}")],
    );
    match store.keyring().delete(&name) {
        Ok(removed_from_keyring) => request.logger.info(&format!(
            "* system keyring: {}",
            if removed_from_keyring {
                "API key removed"
            } else {
                "no API key stored there"
            }
        )),
        Err(why) if secret_was_inline => request
            .logger
            .info(&format!("* system keyring not checked: {why}")),
        Err(why) => {
            output = output.notice(format!(
                "warning: the API key of `{name}` may remain in the system keyring: {why}"
            ));
        }
    }
    Ok(output)
}
