//! `baseten org api-key create`: a new key, printed once.

use serde_json::{Map, Value, json};

use serde_json::value::RawValue;

use baseten_plugin_api::models::{self, CreatedApiKey};
use baseten_plugin_api::sdk::decode;
use baseten_plugin_api::{
    Args, Command, CommandOutput, CommandSpec, ErrorKind, FlagSpec, Host, PluginError, TextView,
};

use crate::api;

pub fn command() -> Command {
    CommandSpec::new(["org", "api-key", "create"], "Create an API key")
        .long_about(
            "Create a new API key. The key value is printed to stdout exactly once and cannot be \
             retrieved later; capture or pipe it on creation. `--model-id` may be repeated to \
             scope the key to specific models and is only valid with `--type` \
             workspace-export-metrics or `--type` workspace-invoke.",
        )
        .flag(
            FlagSpec::text("type", "API key category.")
                .value_name("TYPE")
                .required()
                .allowed_values(api::KEY_TYPES.map(|(cli, _)| cli)),
        )
        .flag(FlagSpec::text("name", "Optional human-readable name for the key.").value_name("NAME"))
        .flag(
            FlagSpec::repeated(
                "model-id",
                "Restrict the key to a specific model. May be repeated. Only valid with --type \
                 workspace-export-metrics or workspace-invoke.",
            )
            .value_name("ID"),
        )
        .flag(
            FlagSpec::text(
                "team",
                "Team name or ID to create the key in. Defaults to the organization's default team.",
            )
            .value_name("TEAM"),
        )
        .example(
            "Create a personal API key",
            "baseten org api-key create --type personal --name <label>",
        )
        .example(
            "Create a workspace-invoke key scoped to specific models",
            "baseten org api-key create --type workspace-invoke --model-id <id-1> --model-id <id-2>",
        )
        .example(
            "Print just the raw key value",
            "baseten org api-key create --type personal --jq '.api_key'",
        )
        .payload("managementapi.APIKey")
        .refuse_output_none()
        .run(run)
}

fn run(host: &Host<'_>, args: &Args<'_>) -> Result<CommandOutput, PluginError> {
    let cli_type = args.text("type").unwrap_or_default();
    let api_type = api::api_key_type(cli_type).ok_or_else(|| {
        PluginError::new(ErrorKind::Usage, format!("unknown key type `{cli_type}`")).with_hint(
            "use one of personal, workspace-export-metrics, workspace-invoke, workspace-manage-all",
        )
    })?;
    let model_ids = args.list("model-id");
    if model_ids.iter().any(|id| id.trim().is_empty()) {
        return Err(
            PluginError::new(ErrorKind::Usage, "`--model-id` cannot be empty")
                .with_hint("pass the ID of a model, once per model"),
        );
    }
    if !model_ids.is_empty() && !api::MODEL_SCOPED_TYPES.contains(&cli_type) {
        return Err(PluginError::new(
            ErrorKind::Usage,
            format!(
                "`--model-id` is only valid with `--type workspace-export-metrics` or \
                 `--type workspace-invoke`, not `--type {cli_type}`"
            ),
        ));
    }

    let mut body = Map::new();
    body.insert("type".to_owned(), json!(api_type));
    if let Some(name) = args.text("name") {
        body.insert("name".to_owned(), json!(name));
    }
    if !model_ids.is_empty() {
        body.insert("model_ids".to_owned(), json!(model_ids));
    }

    let path = match args.text("team") {
        // An exact ID match wins, then a unique exact name match.
        Some(team) => models::team_api_keys_path(&models::find_team(host, team)?.id),
        None => models::API_KEYS_PATH.to_owned(),
    };
    // The answer is kept as text: it is shown as received even when it is not the expected
    // shape, since a key it may hold can never be fetched again.
    let answer = host
        .post_text(&path, Value::Object(body))
        .map_err(|error| {
            // No answer, or a 5xx (a gateway's 502/504 says nothing of what the API did, and even
            // the API's own 500 may come after the key was stored): the key may exist, and
            // "try again" could create a second one. The host adds the server's words after
            // `HTTP {status}` and keeps this hint instead of its own.
            let may_exist =
                error.outcome_unknown || error.http_status().is_some_and(|status| status >= 500);
            let mut error = error.context("create API key");
            if may_exist {
                error.message.push_str("; the key may exist");
                error.hint = Some(
                    "check with `baseten org api-key list` before creating it again".to_owned(),
                );
            }
            error
        })?;
    let created = match decode::<CreatedApiKey>(&answer) {
        // An empty key is no key: whatever the API did, the user has nothing to keep.
        Ok(created) if !created.api_key.trim().is_empty() => created,
        // No parser detail in the message: it could quote the body, which may hold a secret.
        _ => return Err(unexpected_answer(answer)),
    };
    let payload = match RawValue::from_string(answer) {
        Ok(payload) => payload,
        Err(_) => return Err(unexpected_answer(String::new())),
    };
    let (unseen, hint) = match key_prefix(&created.api_key) {
        Some(prefix) => (
            format!("the API key {prefix} was created but could not be shown"),
            format!("delete it with `baseten org api-key delete --prefix {prefix}`"),
        ),
        None => (
            "a new API key was created but could not be shown".to_owned(),
            "find it with `baseten org api-key list` and delete it with `baseten org api-key \
             delete --prefix <PREFIX>`"
                .to_owned(),
        ),
    };
    Ok(
        CommandOutput::raw(payload, TextView::Lines(vec![created.api_key]))
            .notice("Save this key now. It will not be shown again.")
            .if_unseen(unseen, hint),
    )
}

/// A successful answer of the wrong shape: the key may have been created, so the answer is
/// printed on stdout as received, and the command fails.
fn unexpected_answer(answer: String) -> PluginError {
    PluginError::new(
        ErrorKind::Failure,
        "could not create API key: unexpected response from the API (not an answer holding a \
         new `api_key`)",
    )
    .with_hint("the key may exist; check with `baseten org api-key list`")
    .with_stdout(answer)
}

/// The public prefix of a key `prefix.secret`; `None` when the key has no such form (then
/// nothing of it may be shown on stderr).
fn key_prefix(key: &str) -> Option<&str> {
    let (prefix, secret) = key.split_once('.')?;
    let plausible = !prefix.is_empty()
        && prefix.len() <= 16
        && !secret.is_empty()
        && prefix.chars().all(|c| c.is_ascii_alphanumeric());
    plausible.then_some(prefix)
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::OutputMode;
    use baseten_plugin_api::testing::RecordingHost;
    use serde_json::json;

    use super::*;

    const CREATE: [&str; 3] = ["org", "api-key", "create"];

    fn teams() -> Value {
        json!({"teams": [
            {"id": "team0001", "name": "Default Team", "default": true, "created_at": "2026-01-01T00:00:00Z"},
            {"id": "team0002", "name": "ML", "default": false, "created_at": "2026-01-01T00:00:00Z"},
            {"id": "team0003", "name": "Twice", "default": false, "created_at": "2026-01-01T00:00:00Z"},
            {"id": "team0004", "name": "Twice", "default": false, "created_at": "2026-01-01T00:00:00Z"},
            {"id": "team0005", "name": "team0002", "default": false, "created_at": "2026-01-01T00:00:00Z"}
        ]})
    }

    #[test]
    fn create_maps_the_type_and_omits_absent_fields() {
        let host = RecordingHost::new().respond(200, json!({"api_key": "abcd1234.secret"}));
        let output = host
            .command(&crate::plugin(), &CREATE)
            .flag("type", "personal")
            .run()
            .expect("creates");
        assert_eq!(
            output.text,
            TextView::Lines(vec!["abcd1234.secret".to_owned()])
        );
        assert_eq!(
            output.notices,
            vec!["Save this key now. It will not be shown again."]
        );
        let unseen = output.if_unseen.expect("says what is lost if unseen");
        assert_eq!(
            unseen.message,
            "the API key abcd1234 was created but could not be shown"
        );
        assert_eq!(
            unseen.hint.as_deref(),
            Some("delete it with `baseten org api-key delete --prefix abcd1234`")
        );
        let request = &host.requests()[0];
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/v1/api_keys")
        );
        assert_eq!(request.body, Some(json!({"type": "PERSONAL"})));
    }

    #[test]
    fn create_sends_name_and_model_ids_in_order() {
        let host = RecordingHost::new().respond(200, json!({"api_key": "abcd1234.secret"}));
        host.command(&crate::plugin(), &CREATE)
            .flag("type", "workspace-invoke")
            .flag("name", "bot")
            .flag("model-id", ["m2", "m1"])
            .output(OutputMode::Json)
            .run()
            .expect("creates");
        assert_eq!(
            host.requests()[0].body,
            Some(json!({"type": "WORKSPACE_INVOKE", "name": "bot", "model_ids": ["m2", "m1"]}))
        );
    }

    #[test]
    fn an_empty_model_id_is_refused_before_any_request() {
        let host = RecordingHost::new();
        let error = host
            .command(&crate::plugin(), &CREATE)
            .flag("type", "workspace-invoke")
            .flag("model-id", ["m1", ""])
            .run()
            .expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(host.requests().is_empty());
    }

    #[test]
    fn model_ids_with_another_type_are_refused_before_any_request() {
        let host = RecordingHost::new();
        let error = host
            .command(&crate::plugin(), &CREATE)
            .flag("type", "personal")
            .flag("model-id", ["m1"])
            .run()
            .expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(
            error.message.contains("workspace-export-metrics"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("workspace-invoke"),
            "{}",
            error.message
        );
        assert!(host.requests().is_empty());
    }

    #[test]
    fn an_unknown_outcome_says_the_key_may_exist() {
        let mut lost = PluginError::new(
            ErrorKind::Network,
            "no answer from the API after the request was sent",
        );
        lost.outcome_unknown = true;
        let host = RecordingHost::new().fail(lost);
        let error = host
            .command(&crate::plugin(), &CREATE)
            .flag("type", "personal")
            .run()
            .expect_err("fails");
        assert_eq!(error.kind, ErrorKind::Network);
        assert!(
            error.message.ends_with("the key may exist"),
            "{}",
            error.message
        );
        assert_eq!(
            error.hint.as_deref(),
            Some("check with `baseten org api-key list` before creating it again")
        );
    }

    #[test]
    fn a_server_error_says_the_key_may_exist_not_try_again() {
        for status in [500, 502, 504] {
            let host = RecordingHost::new().respond(status, json!({"message": "upstream"}));
            let error = host
                .command(&crate::plugin(), &CREATE)
                .flag("type", "personal")
                .run()
                .expect_err("fails");
            assert_eq!(error.kind, ErrorKind::Server);
            assert_eq!(error.http_status(), Some(status));
            assert_eq!(
                error.message,
                format!("could not create API key: HTTP {status}; the key may exist")
            );
            assert_eq!(
                error.hint.as_deref(),
                Some("check with `baseten org api-key list` before creating it again")
            );
        }
    }

    #[test]
    fn an_answer_of_another_shape_is_shown_and_fails() {
        for body in [
            json!({"unexpected": 1}),
            json!("abcd1234.secret"),
            json!({"api_key": ""}),
            json!({"api_key": null}),
        ] {
            let host = RecordingHost::new().respond(200, body.clone());
            let error = host
                .command(&crate::plugin(), &CREATE)
                .flag("type", "personal")
                .run()
                .expect_err("fails");
            assert_eq!(error.kind, ErrorKind::Failure);
            assert_eq!(error.stdout, Some(body.to_string()));
            assert!(!error.message.contains("secret"), "{}", error.message);
            assert_eq!(
                error.hint.as_deref(),
                Some("the key may exist; check with `baseten org api-key list`")
            );
        }
    }

    #[test]
    fn only_a_plausible_prefix_is_named() {
        assert_eq!(key_prefix("abcd1234.secret"), Some("abcd1234"));
        assert_eq!(key_prefix("nodotsecret"), None);
        assert_eq!(key_prefix("a-b.secret"), None);
        assert_eq!(key_prefix("abcd1234."), None);
    }

    #[test]
    fn team_id_match_wins_over_a_team_named_like_it() {
        let host = RecordingHost::new()
            .respond(200, teams())
            .respond(200, json!({"api_key": "abcd1234.secret"}));
        host.command(&crate::plugin(), &CREATE)
            .flag("type", "personal")
            .flag("team", "team0002")
            .run()
            .expect("creates");
        assert_eq!(host.requests()[1].path, "/v1/teams/team0002/api_keys");
    }

    #[test]
    fn team_by_name_resolves_to_its_id() {
        let host = RecordingHost::new()
            .respond(200, teams())
            .respond(200, json!({"api_key": "abcd1234.secret"}));
        host.command(&crate::plugin(), &CREATE)
            .flag("type", "personal")
            .flag("team", "ML")
            .run()
            .expect("creates");
        assert_eq!(host.requests()[1].path, "/v1/teams/team0002/api_keys");
    }

    #[test]
    fn unknown_or_ambiguous_team_creates_nothing() {
        let host = RecordingHost::new().respond(200, teams());
        let error = host
            .command(&crate::plugin(), &CREATE)
            .flag("type", "personal")
            .flag("team", "Nope")
            .run()
            .expect_err("no such team");
        assert_eq!(error.kind, ErrorKind::NotFound);
        assert_eq!(host.requests().len(), 1);

        let host = RecordingHost::new().respond(200, teams());
        let error = host
            .command(&crate::plugin(), &CREATE)
            .flag("type", "personal")
            .flag("team", "Twice")
            .run()
            .expect_err("ambiguous");
        assert_eq!(error.kind, ErrorKind::Failure);
        assert_eq!(
            error.message,
            "multiple teams named \"Twice\"; pass the team ID instead"
        );
        assert_eq!(host.requests().len(), 1);
    }
}
