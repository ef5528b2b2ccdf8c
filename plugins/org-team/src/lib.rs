//! The `org-team` plugin: `baseten org team list`.
//!
//! It shares the `org` group with `org-api-key`: the host merges the command trees of all
//! plugins, so each plugin describes `org` the same way and adds its own subgroup.
//!
//! Built as a `cdylib` that the host loads at run time, as an `rlib` so its tests call the
//! commands directly, and as the executable plugin `org-team-executable` (`src/main.rs`, the
//! same definition served over the pipe protocol).

mod commands;

use baseten_plugin_api::PluginDefinition;

/// The plugin: its groups and commands. A new command is one module and one line here.
pub fn plugin() -> PluginDefinition {
    PluginDefinition::new("org-team", env!("CARGO_PKG_VERSION"), "Manage teams")
        .group(["org"], "Manage your organization")
        .group(["org", "team"], "Manage teams")
        .command(commands::list::command())
}

baseten_plugin_api::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_under_org_team() {
        let manifest = plugin().manifest();
        assert_eq!(manifest.name, "org-team");
        let paths: Vec<_> = manifest
            .commands
            .iter()
            .map(|command| command.path.join(" "))
            .collect();
        assert_eq!(paths, ["org team list"]);
    }

    #[test]
    fn the_org_group_reads_as_in_org_api_key() {
        let manifest = plugin().manifest();
        let org = manifest
            .groups
            .iter()
            .find(|group| group.path == ["org"])
            .expect("describes `org`");
        assert_eq!(org.about, "Manage your organization");
    }

    #[test]
    fn every_example_is_a_command_line_baseten_accepts() {
        baseten_plugin_api::testing::check_examples(&plugin());
    }
}
