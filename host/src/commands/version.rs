//! `baseten version`: the host's version, the plugin API it speaks, and the plugins it uses.

use std::io::Write;

use clap::Command;

use baseten_plugin_api::PLUGIN_API_VERSION;

use crate::cli::VERSION;
use crate::error::CliError;
use crate::plugins::Registry;

pub fn command() -> Command {
    Command::new("version").about("Show the version of baseten, its plugin API and its plugins")
}

pub fn run(registry: &Registry, stdout: &mut dyn Write) -> Result<(), CliError> {
    let mut text = format!("baseten {VERSION}\nplugin API {PLUGIN_API_VERSION}\n");
    for (record, manifest) in registry.usable() {
        text.push_str(&format!(
            "plugin {} {} (plugin API {}) {}\n",
            manifest.name,
            manifest.version,
            manifest.plugin_api_version,
            record.path.display()
        ));
    }
    match stdout.write_all(text.as_bytes()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::failure(
            format!("could not write output: {error}"),
        )),
        _ => Ok(()),
    }
}
