//! `baseten auth list`: the stored profiles, the current one marked.

use serde_json::json;

use baseten_plugin_api::{CommandOutput, CommandSpec, Table};

use crate::commands::{BuiltIn, Declare, Request};
use crate::error::CliError;
use crate::profiles::{AUTH_TYPE_API_KEY, ProfileStore};
use crate::remote::DEFAULT_REMOTE_URL;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(["auth", "list"], "List the stored profiles").built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let store = ProfileStore::open(request.context)?;
    let current = store.current();
    let mut profiles = store.document().profile_list();
    profiles.sort_by(|(left, _), (right, _)| left.cmp(right));
    let mut rows = Vec::new();
    let mut listed = Vec::new();
    for (name, profile) in profiles {
        let remote_url = profile
            .remote_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_REMOTE_URL.to_owned());
        let auth_type = profile
            .auth_type
            .clone()
            .unwrap_or_else(|| AUTH_TYPE_API_KEY.to_owned());
        let is_current = current.as_deref() == Some(name.as_str());
        rows.push(vec![
            name.clone(),
            remote_url.clone(),
            auth_type.clone(),
            if is_current { "*" } else { "" }.to_owned(),
        ]);
        listed.push(json!({
            "name": name,
            "remote_url": remote_url,
            "auth_type": auth_type,
            "current": is_current,
        }));
    }
    Ok(CommandOutput::table(
        json!({ "profiles": listed }),
        Table {
            columns: ["PROFILE", "REMOTE", "AUTH TYPE", "CURRENT"]
                .map(str::to_owned)
                .to_vec(),
            rows,
            empty_message: Some("No profiles found.".to_owned()),
        },
    ))
}
