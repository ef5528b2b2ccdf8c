//! `baseten version`: the host's version, the plugin API it speaks, and the plugins it uses.

use serde_json::json;

use baseten_plugin_api::{CommandOutput, CommandSpec, PLUGIN_API_VERSION};

use crate::VERSION;
use crate::commands::{BuiltIn, Declare, Request};
use crate::plugins::Registry;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["version"],
        "Show the version of baseten, its plugin API and its plugins",
    )
    .built_in(|request: &Request<'_>| Ok(run(request.registry)))
}

pub fn run(registry: &Registry) -> CommandOutput {
    let mut lines = vec![
        format!("baseten {VERSION}"),
        format!("plugin API {PLUGIN_API_VERSION}"),
    ];
    let mut plugins = Vec::new();
    for (record, manifest) in registry.usable() {
        lines.push(format!(
            "plugin {} {} (plugin API {}) {}",
            manifest.name,
            manifest.version,
            manifest.plugin_api_version,
            record.path.display()
        ));
        plugins.push(json!({
            "name": manifest.name,
            "version": manifest.version,
            "plugin_api_version": manifest.plugin_api_version,
            "path": record.path.display().to_string(),
        }));
    }
    let payload = json!({
        "version": VERSION,
        "plugin_api_version": PLUGIN_API_VERSION,
        "plugins": plugins,
    });
    CommandOutput::lines(payload, lines)
}
