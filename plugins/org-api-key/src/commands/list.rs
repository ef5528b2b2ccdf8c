//! `baseten org api-key list`: the keys of the organization, metadata only.

use baseten_plugin_api::sdk::decode;
use baseten_plugin_api::{
    Args, Command, CommandOutput, CommandSpec, Host, OutputMode, PluginError, Table, TextView,
};
use serde::de::IgnoredAny;

use crate::api::{self, KeyRows, ListingShape};

pub fn command() -> Command {
    CommandSpec::new(["org", "api-key", "list"], "List API keys")
        .long_about("List API keys (metadata only; key values are never returned).")
        .example("List all API keys in the org", "baseten org api-key list")
        .example(
            "Print just the prefixes of personal keys",
            "baseten org api-key list --jq '.keys[] | select(.type == \"PERSONAL\") | .prefix'",
        )
        .payload("managementapi.APIKeys")
        .run(run)
}

fn run(host: &Host<'_>, args: &Args<'_>) -> Result<CommandOutput, PluginError> {
    // The answer stays JSON text held by the host, printed as received; here it is only checked
    // for the expected shape on the borrowed text, and read into rows when text mode shows a
    // table. The payload goes back to the host by reference.
    let payload = host
        .get_body(baseten_plugin_api::models::API_KEYS_PATH)
        .map_err(|error| error.context("list API keys"))?;
    // A body that is not JSON at all is reported as before the body was borrowed, when it was
    // checked to be JSON first: with what the request was for.
    let malformed = |error: PluginError| match decode::<IgnoredAny>(payload.as_str()) {
        Err(syntax) => syntax.context("list API keys"),
        Ok(_) => error,
    };
    let rows = if args.invocation().output == OutputMode::Text {
        decode::<KeyRows>(payload.as_str()).map_err(malformed)?.0
    } else {
        // The shape proven on one quick pass; anything it cannot prove is read as before.
        if !api::is_listing(payload.as_str()) {
            decode::<ListingShape>(payload.as_str()).map_err(malformed)?;
        }
        Vec::new()
    };
    CommandOutput::passthrough(
        payload,
        TextView::Table(Table {
            columns: ["NAME", "KEY", "TYPE", "TEAM"].map(str::to_owned).to_vec(),
            rows,
            empty_message: Some("No API keys found.".to_owned()),
        }),
    )
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::ErrorKind;
    use baseten_plugin_api::testing::RecordingHost;
    use serde_json::json;

    use super::*;

    fn plugin() -> baseten_plugin_api::PluginDefinition {
        crate::plugin()
    }

    #[test]
    fn list_shows_masked_keys_with_cli_types_and_empty_cells() {
        let host = RecordingHost::new().respond(
            200,
            json!({"keys": [
                {"prefix": "abcd1234", "type": "PERSONAL", "name": "ci", "model_ids": null, "team_name": "Default Team"},
                {"prefix": "wxyz9876", "type": "WORKSPACE_INVOKE", "name": null, "model_ids": ["m1"], "team_name": null}
            ]}),
        );
        let output = host
            .command(&plugin(), &["org", "api-key", "list"])
            .run()
            .expect("list succeeds");
        let TextView::Table(table) = output.text else {
            panic!("a table")
        };
        assert_eq!(
            table.rows,
            vec![
                vec!["ci", "abcd1234****", "personal", "Default Team"],
                vec!["", "wxyz9876****", "workspace-invoke", ""],
            ]
        );
        assert_eq!(host.requests()[0].path, "/v1/api_keys");
        assert_eq!(host.requests()[0].method, "GET");
    }

    #[test]
    fn list_keeps_the_payload_as_received() {
        let body =
            json!({"keys": [{"prefix": "abcd1234", "type": "PERSONAL", "extra": 1}], "next": null});
        let host = RecordingHost::new().respond(200, body.clone());
        let output = host
            .command(&plugin(), &["org", "api-key", "list"])
            .output(OutputMode::Json)
            .run()
            .expect("list succeeds");
        assert_eq!(output.payload_value(), body);
    }

    #[test]
    fn a_body_without_keys_is_an_unexpected_response() {
        let host = RecordingHost::new().respond(200, json!({"items": []}));
        let error = host
            .command(&plugin(), &["org", "api-key", "list"])
            .run()
            .expect_err("fails");
        assert_eq!(error.kind, ErrorKind::Failure);
        assert!(
            error
                .message
                .starts_with("unexpected response from the API"),
            "{}",
            error.message
        );
    }

    #[test]
    fn json_mode_checks_the_shape_too() {
        for body in [
            json!({"items": []}),
            json!({"keys": [{"type": "PERSONAL"}]}),
            json!({"keys": 3}),
        ] {
            let host = RecordingHost::new().respond(200, body.clone());
            let error = host
                .command(&plugin(), &["org", "api-key", "list"])
                .output(OutputMode::Json)
                .run()
                .expect_err("fails");
            assert_eq!(error.kind, ErrorKind::Failure, "{body}");
        }
    }

    #[test]
    fn server_errors_name_what_failed() {
        let host = RecordingHost::new().respond(500, json!({"message": "boom"}));
        let error = host
            .command(&plugin(), &["org", "api-key", "list"])
            .run()
            .expect_err("fails");
        assert_eq!(error.kind, ErrorKind::Server);
        // The host adds the server's words and the hint (`http_errors`).
        assert_eq!(error.message, "could not list API keys: HTTP 500");
        assert_eq!(error.http_status(), Some(500));
        assert_eq!(error.hint, None);
    }
}
