//! `baseten org api-key delete`: remove one key, found by name or prefix.

use serde_json::Value;

use baseten_plugin_api::models::{self, ApiKey, DeletedApiKey};
use baseten_plugin_api::sdk::decode_value;
use baseten_plugin_api::{
    Args, Command, CommandOutput, CommandSpec, ErrorKind, FlagSpec, Host, PluginError,
};

pub fn command() -> Command {
    CommandSpec::new(["org", "api-key", "delete"], "Delete an API key")
        .long_about(
            "Delete an API key. Exactly one of `--name` or `--prefix` is required: `--name` \
             matches the human-readable name, `--prefix` matches the leading characters shown in \
             `org api-key list`. On a terminal it asks before deleting unless `--yes` is given.",
        )
        .flag(
            FlagSpec::text("name", "Human-readable name of the API key to delete.")
                .value_name("NAME"),
        )
        .flag(
            FlagSpec::text(
                "prefix",
                "Prefix of the API key to delete (as shown in list).",
            )
            .value_name("PREFIX"),
        )
        .flag(FlagSpec::switch("yes", "Do not ask for confirmation.").short('y'))
        .exactly_one_of(["name", "prefix"])
        .example(
            "Delete an API key by name",
            "baseten org api-key delete --name <label>",
        )
        .example(
            "Delete by visible prefix",
            "baseten org api-key delete --prefix <prefix>",
        )
        .example(
            "Print just the deleted key's prefix",
            "baseten org api-key delete --name <label> --jq '.prefix'",
        )
        .payload("managementapi.APIKeyTombstone")
        .run(run)
}

fn run(host: &Host<'_>, args: &Args<'_>) -> Result<CommandOutput, PluginError> {
    let (prefix, name) = match (args.text("name"), args.text("prefix")) {
        (Some(name), None) => (prefix_for_name(host, name)?, Some(name.to_owned())),
        (None, Some(prefix)) => {
            validate_prefix(prefix)?;
            (prefix.to_owned(), None)
        }
        _ => {
            return Err(PluginError::new(
                ErrorKind::Usage,
                "exactly one of `--name` or `--prefix` is required",
            ));
        }
    };

    if args.interactive() && !args.switch("yes") {
        let name = match name {
            Some(name) => Some(name),
            None => name_for_prefix(host, &prefix),
        };
        let prompt = match name {
            Some(name) if !name.is_empty() => format!("Delete API key {prefix} ({name})? [y/N]"),
            _ => format!("Delete API key {prefix}? [y/N]"),
        };
        if !host.confirm(&prompt) {
            return Err(PluginError::new(
                ErrorKind::Failure,
                "delete canceled: nothing was deleted",
            ));
        }
    }

    let path = models::api_key_path(&prefix);
    let payload: Value = host.delete_json(&path).map_err(|error| {
        // No answer, or a 5xx from a gateway or the API: the key may be gone already.
        let may_be_deleted =
            error.outcome_unknown || error.http_status().is_some_and(|status| status >= 500);
        let mut error = error.context(format_args!("delete API key {prefix}"));
        if may_be_deleted {
            error.message.push_str("; the key may have been deleted");
            error.hint =
                Some("check with `baseten org api-key list` whether it is still there".to_owned());
        }
        error
    })?;
    let tombstone: DeletedApiKey = decode_value(&payload)?;
    Ok(CommandOutput::lines(payload, Vec::new())
        .notice(format!("Deleted API key {}", tombstone.prefix)))
}

fn list_keys(host: &Host<'_>) -> Result<Vec<ApiKey>, PluginError> {
    models::api_keys(host)
}

/// The prefix of the one key named exactly `name`.
fn prefix_for_name(host: &Host<'_>, name: &str) -> Result<String, PluginError> {
    let keys = list_keys(host)?;
    let matches: Vec<_> = keys
        .iter()
        .filter(|key| key.name.as_deref() == Some(name))
        .collect();
    match matches.as_slice() {
        [key] => Ok(key.prefix.clone()),
        [] => Err(
            PluginError::new(ErrorKind::NotFound, format!("no API key named \"{name}\""))
                .with_hint("list keys with `baseten org api-key list`"),
        ),
        _ => Err(PluginError::new(
            ErrorKind::Failure,
            format!("multiple API keys named \"{name}\"; pass --prefix instead"),
        )),
    }
}

/// The name of the key with `prefix`, for the confirmation prompt only: a failure to look it up
/// just leaves the name out.
fn name_for_prefix(host: &Host<'_>, prefix: &str) -> Option<String> {
    let keys = list_keys(host).ok()?;
    keys.into_iter().find(|key| key.prefix == prefix)?.name
}

/// The longest prefix a key has (`abcd1234` in `abcd1234.<secret>`).
const MAX_PREFIX_LEN: usize = 8;

/// Only what a prefix can be: up to 8 letters or digits. A whole key typed here (it has a `.`
/// and is longer) is refused before anything is sent, and the error gives its length, never its
/// value: errors end up in CI logs. `.` and `..` would also name another path.
fn validate_prefix(prefix: &str) -> Result<(), PluginError> {
    let length = prefix.chars().count();
    let why = if prefix.is_empty() {
        Some("it is empty".to_owned())
    } else if prefix.contains('.') {
        Some(format!(
            "it holds a `.` ({length} characters): that is a whole key, pass only the part before the `.`"
        ))
    } else if length > MAX_PREFIX_LEN {
        Some(format!(
            "it is {length} characters long, a prefix at most {MAX_PREFIX_LEN}"
        ))
    } else if !prefix
        .chars()
        .all(|character| character.is_ascii_alphanumeric())
    {
        Some(format!(
            "its {length} characters are not all letters or digits"
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(PluginError::new(
            ErrorKind::Usage,
            format!("invalid value for `--prefix`: {why}"),
        )
        .with_hint("pass the prefix shown by `baseten org api-key list`")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::testing::RecordingHost;
    use serde_json::json;

    use super::*;

    const DELETE: [&str; 3] = ["org", "api-key", "delete"];

    fn keys() -> Value {
        json!({"keys": [
            {"prefix": "aaaa1111", "type": "PERSONAL", "name": "ci", "model_ids": null, "team_name": "Default Team"},
            {"prefix": "bbbb2222", "type": "PERSONAL", "name": "dup", "model_ids": null, "team_name": "Default Team"},
            {"prefix": "cccc3333", "type": "PERSONAL", "name": "dup", "model_ids": null, "team_name": "Default Team"}
        ]})
    }

    #[test]
    fn delete_by_name_resolves_the_prefix() {
        let host = RecordingHost::new()
            .respond(200, keys())
            .respond(200, json!({"prefix": "aaaa1111"}));
        let output = host
            .command(&crate::plugin(), &DELETE)
            .flag("name", "ci")
            .run()
            .expect("deletes");
        assert_eq!(output.notices, vec!["Deleted API key aaaa1111"]);
        let requests = host.requests();
        assert_eq!(
            (requests[1].method.as_str(), requests[1].path.as_str()),
            ("DELETE", "/v1/api_keys/aaaa1111")
        );
    }

    #[test]
    fn delete_by_name_with_two_matches_deletes_nothing() {
        let host = RecordingHost::new().respond(200, keys());
        let error = host
            .command(&crate::plugin(), &DELETE)
            .flag("name", "dup")
            .run()
            .expect_err("ambiguous");
        assert_eq!(error.kind, ErrorKind::Failure);
        assert_eq!(
            error.message,
            "multiple API keys named \"dup\"; pass --prefix instead"
        );
        assert_eq!(host.requests().len(), 1);
    }

    #[test]
    fn delete_by_unknown_name_is_not_found() {
        let host = RecordingHost::new().respond(200, keys());
        let error = host
            .command(&crate::plugin(), &DELETE)
            .flag("name", "nope")
            .run()
            .expect_err("none");
        assert_eq!(error.kind, ErrorKind::NotFound);
        assert_eq!(error.message, "no API key named \"nope\"");
    }

    #[test]
    fn on_a_terminal_it_asks_and_a_no_deletes_nothing() {
        let host = RecordingHost::new()
            .respond(200, keys())
            .confirm_with(false);
        let error = host
            .command(&crate::plugin(), &DELETE)
            .flag("name", "ci")
            .interactive()
            .run()
            .expect_err("declined");
        assert_eq!(host.prompts(), vec!["Delete API key aaaa1111 (ci)? [y/N]"]);
        assert_eq!(error.kind, ErrorKind::Failure);
        assert_eq!(host.requests().len(), 1);
    }

    #[test]
    fn yes_skips_the_question() {
        let host = RecordingHost::new().respond(200, json!({"prefix": "aaaa1111"}));
        host.command(&crate::plugin(), &DELETE)
            .flag("prefix", "aaaa1111")
            .flag("yes", true)
            .interactive()
            .run()
            .expect("deletes");
        assert!(host.prompts().is_empty());
        assert_eq!(host.requests().len(), 1);
    }

    #[test]
    fn dot_segments_are_refused() {
        let host = RecordingHost::new();
        let error = host
            .command(&crate::plugin(), &DELETE)
            .flag("prefix", "..")
            .run()
            .expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(host.requests().is_empty());
    }

    #[test]
    fn an_unknown_outcome_says_the_key_may_have_been_deleted() {
        let mut lost = PluginError::new(ErrorKind::Network, "DELETE … got no answer");
        lost.outcome_unknown = true;
        lost.hint = Some("raise BASETEN_HTTP_TIMEOUT (seconds) or check the network".to_owned());
        let host = RecordingHost::new().fail(lost);
        let error = host
            .command(&crate::plugin(), &DELETE)
            .flag("prefix", "aaaa1111")
            .run()
            .expect_err("fails");
        assert_eq!(error.kind, ErrorKind::Network);
        assert_eq!(
            error.message,
            "could not delete API key aaaa1111: DELETE … got no answer; the key may have been \
             deleted"
        );
        assert_eq!(
            error.hint.as_deref(),
            Some("check with `baseten org api-key list` whether it is still there")
        );
    }

    #[test]
    fn anything_a_prefix_cannot_be_is_refused_without_echoing_it() {
        for prefix in [
            "",
            ".",
            "abcd1234.supersecretsupersecret",
            "abcd12345",
            "a/b c",
            "ab\u{1b}c",
        ] {
            let host = RecordingHost::new();
            let error = host
                .command(&crate::plugin(), &DELETE)
                .flag("prefix", prefix)
                .run()
                .expect_err("refused");
            assert_eq!(error.kind, ErrorKind::Usage, "{prefix}");
            assert!(host.requests().is_empty(), "{prefix}");
            if prefix.len() > 1 {
                assert!(!error.message.contains(prefix), "{}", error.message);
            }
        }
        assert!(validate_prefix("aBcD1234").is_ok());
        assert!(validate_prefix("abc").is_ok());
    }
}
