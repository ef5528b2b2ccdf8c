//! `baseten org team list`: the teams of the organization.

use serde_json::Value;

use baseten_plugin_api::models::{TEAMS_PATH, TeamList};
use baseten_plugin_api::sdk::decode_value;
use baseten_plugin_api::{
    Args, Command, CommandOutput, CommandSpec, Host, OutputMode, PluginError, Table,
};

pub fn command() -> Command {
    CommandSpec::new(["org", "team", "list"], "List teams")
        .long_about(
            "List the teams of the organization. The default team is the one keys are created in \
             when `baseten org api-key create` is given no `--team`.",
        )
        .example("List all teams in the org", "baseten org team list")
        .example(
            "Print the ID of the default team",
            "baseten org team list --jq '.teams[] | select(.default) | .id'",
        )
        .payload("managementapi.Teams")
        .run(run)
}

fn run(host: &Host<'_>, args: &Args<'_>) -> Result<CommandOutput, PluginError> {
    let payload: Value = host
        .get_json(TEAMS_PATH)
        .map_err(|error| error.context("list teams"))?;
    let list: TeamList = decode_value(&payload)?;
    let rows = if args.invocation().output == OutputMode::Text {
        list.teams
            .iter()
            .map(|team| {
                vec![
                    team.id.clone(),
                    team.name.clone(),
                    if team.default { "yes" } else { "" }.to_owned(),
                ]
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(CommandOutput::table(
        payload,
        Table {
            columns: ["ID", "NAME", "DEFAULT"].map(str::to_owned).to_vec(),
            rows,
            empty_message: Some("No teams found.".to_owned()),
        },
    ))
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::testing::RecordingHost;
    use baseten_plugin_api::{ErrorKind, TextView};
    use serde_json::json;

    use super::*;

    fn list(host: &RecordingHost, output: OutputMode) -> Result<CommandOutput, PluginError> {
        host.command(&crate::plugin(), &["org", "team", "list"])
            .output(output)
            .run()
    }

    #[test]
    fn list_shows_id_name_and_which_team_is_the_default() {
        let host = RecordingHost::new().respond(
            200,
            json!({"teams": [
                {"id": "t1", "name": "Default Team", "default": true, "created_at": "2026-01-01T00:00:00Z"},
                {"id": "t2", "name": "Research", "default": false, "created_at": "2026-01-02T00:00:00Z"}
            ]}),
        );
        let output = list(&host, OutputMode::Text).expect("list succeeds");
        let TextView::Table(table) = output.text else {
            panic!("a table")
        };
        assert_eq!(table.columns, ["ID", "NAME", "DEFAULT"]);
        assert_eq!(
            table.rows,
            vec![
                vec!["t1", "Default Team", "yes"],
                vec!["t2", "Research", ""]
            ]
        );
        let request = &host.requests()[0];
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/v1/teams")
        );
    }

    #[test]
    fn list_keeps_the_payload_as_received() {
        let body = json!({"teams": [{"id": "t1", "name": "A", "default": true, "extra": 1}], "next": null});
        let host = RecordingHost::new().respond(200, body.clone());
        let output = list(&host, OutputMode::Json).expect("list succeeds");
        assert_eq!(output.payload_value(), body);
    }

    #[test]
    fn no_teams_is_an_empty_table_with_a_message() {
        let host = RecordingHost::new().respond(200, json!({"teams": []}));
        let output = list(&host, OutputMode::Text).expect("list succeeds");
        let TextView::Table(table) = output.text else {
            panic!("a table")
        };
        assert!(table.rows.is_empty());
        assert_eq!(table.empty_message.as_deref(), Some("No teams found."));
    }

    #[test]
    fn a_body_without_teams_is_an_unexpected_response() {
        let host = RecordingHost::new().respond(200, json!({"items": []}));
        let error = list(&host, OutputMode::Text).expect_err("fails");
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
    fn errors_name_what_failed() {
        let host = RecordingHost::new().respond(403, json!({"message": "forbidden"}));
        let error = list(&host, OutputMode::Text).expect_err("fails");
        assert_eq!(error.kind, ErrorKind::Auth);
        // The host adds the server's words and the hint (`http_errors`).
        assert_eq!(error.message, "could not list teams: HTTP 403");
        assert_eq!(error.http_status(), Some(403));
    }
}
