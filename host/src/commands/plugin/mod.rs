//! `baseten plugin list | info | search | install | upgrade | remove | dev | new | pack`: the
//! plugins a user has and why any is unused, finding, installing, upgrading and removing one in the
//! user plugin folder (README, "Plugins"), and an author's path from a new project to an index entry.

pub mod dev;
pub mod fetch;
pub mod info;
pub mod install;
pub mod list;
pub mod new;
pub mod pack;
pub mod remove;
pub mod search;
pub mod upgrade;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use baseten_plugin_api::protocol::{ArgSpec, GroupSpec, Manifest};

use crate::commands::Request;
use crate::error::CliError;
use crate::plugins::receipt::{self, Receipt};
use crate::plugins::{PluginRecord, PluginStatus};
pub use crate::plugins::{file_name_for as file_name, overlaps, user_folder};

/// The `plugin` group.
pub fn group() -> GroupSpec {
    GroupSpec {
        path: vec!["plugin".to_owned()],
        about: "Find, install, upgrade and remove plugins, or create, build and pack your own"
            .to_owned(),
    }
}

/// The `NAME` a command that acts on one plugin takes (`plugin info`, `plugin remove`).
pub fn name_arg() -> ArgSpec {
    ArgSpec::new(
        "name",
        "The plugin's name, as `baseten plugin list` shows it",
    )
    .value_name("NAME")
    .required()
}

/// Whether `name` can be a plugin name: lowercase words of letters and digits joined by `-`, so
/// that it round-trips through a file name.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        })
}

/// The plugins of the user plugin folder, where `plugin install` puts them, in search order.
pub fn in_user_folder<'a>(request: &'a Request<'_>) -> Vec<&'a PluginRecord> {
    let folder = user_folder(request.context).map(|folder| identity(&folder));
    request
        .registry
        .records
        .iter()
        .filter(|record| folder.is_some() && record.path.parent().map(identity) == folder)
        .collect()
}

/// `1.1` of `1.1.0`: the `MAJOR.MINOR` Cargo and the plugin index read as "compatible with"; a
/// version of another shape as it is.
pub fn major_minor(version: &str) -> String {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => version.to_owned(),
    }
}

/// The records whose plugin is called `name`, in search order.
pub fn records_named<'a>(request: &'a Request<'_>, name: &str) -> Vec<&'a PluginRecord> {
    request
        .registry
        .records
        .iter()
        .filter(|record| record.name() == name)
        .collect()
}

/// The error for a name no plugin has.
pub fn no_such_plugin(name: &str) -> CliError {
    CliError::new(
        baseten_plugin_api::ErrorKind::NotFound,
        format!("no plugin named `{name}`"),
    )
    .with_hint("run `baseten plugin list` to see the plugins found")
}

/// A status as JSON: a short code, and the reason when there is one.
pub fn status_fields(status: &PluginStatus) -> (&'static str, Option<&str>) {
    match status {
        PluginStatus::Ok => ("ok", None),
        PluginStatus::Shadowed(by) => ("shadowed", Some(by)),
        PluginStatus::Incompatible(why) => ("incompatible", Some(why)),
        PluginStatus::FailedToLoad(why) => ("failed_to_load", Some(why)),
        PluginStatus::UnsafePermissions(why) => ("unsafe_permissions", Some(why)),
    }
}

/// The command paths of a manifest, as typed: `org api-key list`.
pub fn command_lines(manifest: Option<&Manifest>) -> Vec<String> {
    manifest
        .map(|manifest| {
            manifest
                .commands
                .iter()
                .map(|command| command.path.join(" "))
                .collect()
        })
        .unwrap_or_default()
}

/// The receipt `plugin install` wrote beside the record's file for the version installed, if
/// any: none for a plugin copied in by hand.
pub fn receipt_of(record: &PluginRecord) -> Option<Receipt> {
    receipt::read_for(
        &record.path,
        &record.name(),
        record
            .manifest
            .as_ref()
            .map(|manifest| manifest.version.as_str()),
    )
}

/// Where a record's plugin came from, as `plugin list` shows it.
pub fn source_text(receipt: Option<&Receipt>) -> String {
    match receipt {
        Some(receipt) => receipt.source.describe(),
        None => "no receipt".to_owned(),
    }
}

/// What `plugin list` says about one record, and the start of what `plugin info` says.
pub fn record_json(record: &PluginRecord) -> Value {
    let (status, reason) = status_fields(&record.status);
    let manifest = record.manifest.as_ref();
    let receipt = receipt_of(record);
    json!({
        "name": record.name(),
        "kind": record.kind.as_str(),
        "version": manifest.map(|manifest| manifest.version.clone()),
        "plugin_api_version": manifest.map(|manifest| manifest.plugin_api_version.clone()),
        "description": manifest.map(|manifest| manifest.description.clone()),
        "commands": command_lines(manifest),
        "status": status,
        "reason": reason,
        "path": record.path.display().to_string(),
        "source": receipt.as_ref().map(|receipt| &receipt.source),
        "pinned": receipt.as_ref().map(|receipt| receipt.pinned),
    })
}

/// `path` with symbolic links and `..` resolved when it exists, for comparing files.
pub fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;

    #[test]
    fn the_user_folder_follows_xdg_data_home_then_home() {
        let context = Context::for_tests(&[("XDG_DATA_HOME", "/data"), ("HOME", "/home/u")]);
        assert_eq!(
            user_folder(&context),
            Some(PathBuf::from("/data/baseten/plugins"))
        );
        let context = Context::for_tests(&[("HOME", "/home/u")]);
        assert_eq!(
            user_folder(&context),
            Some(PathBuf::from("/home/u/.local/share/baseten/plugins"))
        );
        assert_eq!(user_folder(&Context::for_tests(&[])), None);
    }

    #[test]
    fn plugin_names_map_to_file_names() {
        let name = file_name("org-api-key");
        assert!(name.contains("baseten_plugin_org_api_key"), "{name}");
        assert!(name.ends_with(std::env::consts::DLL_SUFFIX));
    }

    #[test]
    fn valid_names_are_lowercase_words_joined_by_dashes() {
        assert!(is_valid_name("org-api-key"));
        assert!(is_valid_name("hello2"));
        for invalid in ["", "Org", "a_b", "-a", "a-", "a--b", "a b", "../x"] {
            assert!(!is_valid_name(invalid), "{invalid}");
        }
    }
}
