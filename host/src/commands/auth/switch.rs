//! `baseten auth switch --profile NAME`: makes a stored profile the current one.

use serde_json::json;

use baseten_plugin_api::{CommandOutput, CommandSpec};

use crate::commands::auth::required_profile;
use crate::commands::{BuiltIn, Declare, Request};
use crate::credentials::unknown_profile;
use crate::error::CliError;
use crate::profiles::ProfileStore;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["auth", "switch"],
        "Make a stored profile the current one (give it with --profile)",
    )
    .example(
        "Use the `work` profile from now on",
        "baseten auth switch --profile work",
    )
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let name = required_profile(request, "auth switch", "baseten auth switch --profile NAME")?;
    let mut store = ProfileStore::open(request.context)?;
    // Checked before the lock too, so that an unknown name creates nothing.
    if !store.document().contains(name) {
        return Err(unknown_profile(name));
    }
    store.update(|document| {
        if !document.contains(name) {
            return Err(unknown_profile(name));
        }
        document.set_current(Some(name));
        Ok(())
    })?;
    Ok(CommandOutput::lines(
        json!({ "profile": name }),
        vec![format!("Switched to {name}")],
    ))
}
