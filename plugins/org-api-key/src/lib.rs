//! The `org-api-key` plugin: `baseten org api-key list | create | delete`.
//!
//! Built as a `cdylib` that the host loads at run time, and as an `rlib` so its tests call the
//! commands directly.

mod api;
mod commands;

use baseten_plugin_api::PluginDefinition;

/// The plugin: its groups and commands. A new command is one module and one line here.
pub fn plugin() -> PluginDefinition {
    PluginDefinition::new("org-api-key", env!("CARGO_PKG_VERSION"), "Manage API keys")
        .group(["org"], "Manage your organization")
        .group(["org", "api-key"], "Manage API keys")
        .command(commands::list::command())
        .command(commands::create::command())
        .command(commands::delete::command())
}

baseten_plugin_api::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_under_org_api_key() {
        let manifest = plugin().manifest();
        assert_eq!(manifest.name, "org-api-key");
        let paths: Vec<_> = manifest
            .commands
            .iter()
            .map(|command| command.path.join(" "))
            .collect();
        assert_eq!(
            paths,
            [
                "org api-key list",
                "org api-key create",
                "org api-key delete"
            ]
        );
    }

    #[test]
    fn every_example_is_a_command_line_baseten_accepts() {
        baseten_plugin_api::testing::check_examples(&plugin());
    }
}
