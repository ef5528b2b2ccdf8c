//! `baseten plugin info NAME`: one plugin's manifest, where it was found, whether it is used, and
//! each of its commands with its flags.

use serde_json::{Value, json};

use baseten_plugin_api::CommandOutput;
use baseten_plugin_api::protocol::{ArgSpec, CommandSpec, FlagKind, FlagSpec, Manifest};

use crate::commands::plugin::{
    name_arg, no_such_plugin, receipt_of, record_json, records_named, status_fields,
};
use crate::commands::{BuiltIn, Declare, Request};
use crate::error::CliError;
use crate::plugins::receipt::{Receipt, Source};

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["plugin", "info"],
        "Show a plugin's manifest, path, status, receipt and commands with their flags",
    )
    .arg(name_arg())
    .built_in(run)
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let name = request.args.text("name").unwrap_or_default();
    let records = records_named(request, name);
    let Some((record, others)) = records.split_first() else {
        return Err(no_such_plugin(name));
    };
    let manifest = record.manifest.as_ref();
    let mut payload = record_json(record);
    let receipt = receipt_of(record);
    if let Value::Object(fields) = &mut payload {
        fields.insert(
            "groups".to_owned(),
            json!(manifest.map(|manifest| &manifest.groups)),
        );
        fields.insert(
            "commands".to_owned(),
            json!(manifest.map(|manifest| &manifest.commands)),
        );
        let others: Vec<Value> = others
            .iter()
            .map(|other| {
                let (status, reason) = status_fields(&other.status);
                json!({
                    "path": other.path.display().to_string(),
                    "status": status,
                    "reason": reason,
                })
            })
            .collect();
        fields.insert("other_copies".to_owned(), Value::Array(others));
        fields.insert("receipt".to_owned(), json!(receipt));
    }

    let mut lines = vec![
        format!("Name:         {}", record.name()),
        format!("Kind:         {}", record.kind.as_str()),
    ];
    if let Some(manifest) = manifest {
        lines.extend(manifest_lines(manifest));
    }
    lines.push(format!("Path:         {}", record.path.display()));
    lines.push(format!("Status:       {}", record.status));
    lines.extend(receipt_lines(receipt.as_ref()));
    for other in others {
        lines.push(format!(
            "Also found:   {} ({})",
            other.path.display(),
            other.status
        ));
    }
    if let Some(manifest) = manifest {
        lines.push(String::new());
        lines.push("Commands:".to_owned());
        for command in &manifest.commands {
            lines.extend(command_help_lines(command));
        }
    }
    Ok(CommandOutput::lines(payload, lines))
}

/// Where the plugin came from: the whole receipt, or that there is none.
fn receipt_lines(receipt: Option<&Receipt>) -> Vec<String> {
    let Some(receipt) = receipt else {
        return vec![
            "Source:       no receipt (not installed by `baseten plugin install`)".to_owned(),
        ];
    };
    let mut lines = vec![format!("Source:       {}", receipt.source.describe())];
    if let Source::Index { index, .. } = &receipt.source {
        lines.push(format!("Index:        {index}"));
    }
    lines.push(format!("SHA-256:      {}", receipt.sha256));
    lines.push(format!("Installed at: {}", receipt.installed_at));
    lines.push(format!(
        "Pinned:       {}",
        if receipt.pinned { "yes" } else { "no" }
    ));
    lines
}

fn manifest_lines(manifest: &Manifest) -> Vec<String> {
    let mut lines = vec![
        format!("Version:      {}", manifest.version),
        format!("Plugin API:   {}", manifest.plugin_api_version),
    ];
    if !manifest.description.is_empty() {
        lines.push(format!("Description:  {}", manifest.description));
    }
    lines
}

/// `  baseten org api-key create  Create an API key` (marked when hidden from `--help`), then one
/// indented line per positional argument and per flag.
fn command_help_lines(command: &CommandSpec) -> Vec<String> {
    let mut lines = vec![format!(
        "  baseten {}  {}{}",
        command.path.join(" "),
        command.about,
        if command.hidden { " (hidden)" } else { "" }
    )];
    let described = command
        .args
        .iter()
        .map(|arg| (arg_usage(arg), arg_help(arg)))
        .chain(
            command
                .flags
                .iter()
                .map(|flag| (flag_usage(flag), flag_help(flag))),
        )
        .collect::<Vec<_>>();
    let width = described
        .iter()
        .map(|(usage, _)| usage.len())
        .max()
        .unwrap_or(0);
    for (usage, help) in &described {
        lines.push(
            format!("      {usage:<width$}  {help}")
                .trim_end()
                .to_owned(),
        );
    }
    lines
}

/// `<NAME>`, or `[NAME]` when it may be left out.
fn arg_usage(arg: &ArgSpec) -> String {
    let value = arg
        .value_name
        .clone()
        .unwrap_or_else(|| arg.name.to_ascii_uppercase());
    if arg.required {
        format!("<{value}>")
    } else {
        format!("[{value}]")
    }
}

/// The help text, then the values allowed.
fn arg_help(arg: &ArgSpec) -> String {
    let mut help = arg.help.clone();
    if !arg.allowed_values.is_empty() {
        help.push_str(&format!(" [values: {}]", arg.allowed_values.join(", ")));
    }
    help
}

/// `-t, --type <TYPE>`, `--model-id <ID>...` or `--yes`.
fn flag_usage(flag: &FlagSpec) -> String {
    let mut usage = match flag.short {
        Some(short) => format!("-{short}, --{}", flag.long),
        None => format!("--{}", flag.long),
    };
    if flag.kind != FlagKind::Bool {
        let value = flag
            .value_name
            .clone()
            .unwrap_or_else(|| flag.long.to_ascii_uppercase());
        usage.push_str(&format!(" <{value}>"));
        if flag.kind == FlagKind::Repeated {
            usage.push_str("...");
        }
    }
    usage
}

/// The help text, then what is required, allowed and assumed.
fn flag_help(flag: &FlagSpec) -> String {
    let mut help = flag.help.clone();
    if flag.required {
        help.push_str(" [required]");
    }
    if !flag.allowed_values.is_empty() {
        help.push_str(&format!(" [values: {}]", flag.allowed_values.join(", ")));
    }
    if let Some(default) = &flag.default {
        help.push_str(&format!(" [default: {default}]"));
    }
    help
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::FlagSpec;

    use super::*;

    #[test]
    fn positional_arguments_come_before_the_flags() {
        let command = CommandSpec::new(["x", "get"], "Get one")
            .hidden()
            .arg(ArgSpec::new("name", "Which one").required())
            .arg(ArgSpec::new("format", "How").allowed_values(["a", "b"]))
            .flag(FlagSpec::switch("all", "Everything"));
        assert_eq!(
            command_help_lines(&command),
            [
                "  baseten x get  Get one (hidden)",
                "      <NAME>    Which one",
                "      [FORMAT]  How [values: a, b]",
                "      --all     Everything",
            ]
        );
    }

    #[test]
    fn commands_show_their_flags_aligned_with_values() {
        let command = CommandSpec::new(["org", "api-key", "create"], "Create an API key")
            .flag(
                FlagSpec::text("type", "The key type")
                    .value_name("TYPE")
                    .required()
                    .allowed_values(["personal", "workspace-invoke"]),
            )
            .flag(FlagSpec::repeated("model-id", "A model").value_name("ID"))
            .flag(FlagSpec::switch("yes", "Do not ask").short('y'));
        assert_eq!(
            command_help_lines(&command),
            [
                "  baseten org api-key create  Create an API key",
                "      --type <TYPE>       The key type [required] [values: personal, workspace-invoke]",
                "      --model-id <ID>...  A model",
                "      -y, --yes           Do not ask",
            ]
        );
    }
}
