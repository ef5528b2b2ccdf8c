//! Everything a user sees passes through here: command results in each output mode, `--jq`
//! results, tables, errors and log lines. Writers are parameters, so tests render into buffers.

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table as ComfyTable, presets};
use serde_json::Value;
use serde_json::value::RawValue;

use baseten_plugin_api::protocol::CommandOutputRef;
use baseten_plugin_api::{OutputMode, Table, TextView};

use crate::error::CliError;
use crate::jq::JqFilter;

/// How to print one command's result.
pub struct Rendering<'a> {
    pub mode: OutputMode,
    pub jq: Option<&'a JqFilter>,
    /// One record per line under `jsonl`.
    pub streamed: bool,
    /// The payload can never be fetched again (a new secret): if `--jq` fails on it, print the
    /// payload anyway rather than lose it.
    pub unrepeatable: bool,
    /// Bold table headers.
    pub bold: bool,
}

/// Prints `output` to `stdout` and its messages to `stderr`.
pub fn render(
    output: &CommandOutputRef<'_>,
    rendering: &Rendering<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), RenderError> {
    if let Some(filter) = rendering.jq {
        match filter.run_on_text(output.payload.get()) {
            Ok(results) => {
                for result in &results {
                    write_jq_result(result, rendering.mode, stdout)?;
                }
            }
            Err(error) => {
                if rendering.unrepeatable {
                    write_raw(output.payload, OutputMode::Json, stdout)?;
                }
                write_notices(&output.notices, stderr)?;
                let error = CliError::failure(format!("jq error: {error}"));
                return Err(RenderError::Failed(if rendering.unrepeatable {
                    error.with_hint(
                        "the result is printed above unfiltered; it cannot be fetched again",
                    )
                } else {
                    error
                }));
            }
        }
    } else {
        match rendering.mode {
            OutputMode::Text => write_text(&output.text, rendering.bold, stdout, stderr)?,
            OutputMode::Json => write_raw(output.payload, OutputMode::Json, stdout)?,
            OutputMode::Jsonl if rendering.streamed => {
                match serde_json::from_str::<Vec<&RawValue>>(output.payload.get()) {
                    Ok(records) => {
                        for record in records {
                            write_raw(record, OutputMode::Jsonl, stdout)?;
                        }
                    }
                    Err(_) => write_raw(output.payload, OutputMode::Jsonl, stdout)?,
                }
            }
            OutputMode::Jsonl => write_raw(output.payload, OutputMode::Jsonl, stdout)?,
            OutputMode::None => {}
        }
    }
    stdout.flush()?;
    write_notices(&output.notices, stderr)?;
    Ok(())
}

/// Why rendering stopped.
#[derive(Debug)]
pub enum RenderError {
    /// Writing failed (a closed pipe, a full disk).
    Io(io::Error),
    /// The output was shown as far as possible, but the command fails (a `--jq` runtime error).
    Failed(CliError),
}

impl From<io::Error> for RenderError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// Notices come from plugins, and may quote a server: each is scrubbed like an error line.
fn write_notices(notices: &[String], stderr: &mut dyn Write) -> io::Result<()> {
    for notice in notices {
        writeln!(stderr, "{}", crate::secrets::scrub(notice))?;
    }
    Ok(())
}

fn write_text(
    text: &TextView,
    bold: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<()> {
    match text {
        // Lines quote servers (`Logged in as …`): no control character reaches the terminal.
        TextView::Lines(lines) => {
            for line in lines {
                writeln!(stdout, "{}", crate::secrets::printable(line))?;
            }
        }
        TextView::Table(table) if table.rows.is_empty() => {
            if let Some(message) = &table.empty_message {
                writeln!(stderr, "{}", crate::secrets::scrub(message))?;
            }
        }
        TextView::Table(table) => write_table(table, bold, stdout)?,
    }
    Ok(())
}

/// A borderless table: a header row, then aligned columns two spaces apart, no trailing spaces.
pub fn write_table(table: &Table, bold: bool, stdout: &mut dyn Write) -> io::Result<()> {
    let mut rendered = ComfyTable::new();
    rendered
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(table.columns.iter().map(|column| clean_cell(column)))
        .add_rows(
            table
                .rows
                .iter()
                .map(|row| row.iter().map(|cell| clean_cell(cell))),
        );
    for column in rendered.column_iter_mut() {
        column.set_padding((0, 2));
    }
    for (index, line) in rendered.lines().enumerate() {
        // Cells are padded to their column's width; the last one's padding is not content.
        let line = line.trim_end();
        if index == 0 && bold {
            writeln!(stdout, "\x1b[1m{line}\x1b[0m")?;
        } else {
            writeln!(stdout, "{line}")?;
        }
    }
    Ok(())
}

/// A cell on one line, with no control characters a server could use to garble a terminal.
fn clean_cell(cell: &str) -> String {
    crate::secrets::printable(cell)
}

/// The payload as JSON: indented two spaces under `json`, compact under `jsonl`.
pub fn write_json(value: &Value, mode: OutputMode, stdout: &mut dyn Write) -> io::Result<()> {
    let mut buffered = io::BufWriter::with_capacity(64 * 1024, stdout);
    if mode == OutputMode::Jsonl {
        serde_json::to_writer(&mut buffered, value)?;
    } else {
        serde_json::to_writer_pretty(&mut buffered, value)?;
    }
    buffered.write_all(b"\n")?;
    buffered.flush()
}

/// A payload kept as JSON text, re-laid out as it streams to stdout: indented two spaces under
/// `json`, compact under `jsonl`. No tree is built, so field order and every field are kept and
/// memory stays flat whatever the payload's size.
pub fn write_raw(payload: &RawValue, mode: OutputMode, stdout: &mut dyn Write) -> io::Result<()> {
    let mut buffered = io::BufWriter::with_capacity(64 * 1024, stdout);
    let mut input = serde_json::Deserializer::from_str(payload.get());
    let result = if mode == OutputMode::Jsonl {
        serde_transcode::transcode(&mut input, &mut serde_json::Serializer::new(&mut buffered))
    } else {
        serde_transcode::transcode(
            &mut input,
            &mut serde_json::Serializer::pretty(&mut buffered),
        )
    };
    result.map_err(|error| match error.io_error_kind() {
        Some(kind) => io::Error::new(kind, error),
        None => io::Error::other(error),
    })?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}

/// One `--jq` result: a string raw, like `jq -r`; anything else as JSON.
fn write_jq_result(value: &Value, mode: OutputMode, stdout: &mut dyn Write) -> io::Result<()> {
    match value {
        Value::String(text) => writeln!(stdout, "{text}"),
        other => write_json(other, mode, stdout),
    }
}

/// Prints an error as `error: …` and maybe `hint: …` on stderr.
pub fn write_error(error: &CliError, color: bool, stderr: &mut dyn Write) -> io::Result<()> {
    let message = crate::secrets::scrub(&one_line(&error.message));
    if color {
        writeln!(stderr, "\x1b[1;31merror\x1b[0m: {message}")?;
    } else {
        writeln!(stderr, "error: {message}")?;
    }
    if let Some(hint) = &error.hint {
        writeln!(stderr, "hint: {}", crate::secrets::scrub(&one_line(hint)))?;
    }
    Ok(())
}

/// Messages from servers and libraries can hold line breaks; an error stays one line.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::CommandOutput;
    use serde_json::json;

    use super::*;

    fn render_to_strings(output: &CommandOutput, rendering: &Rendering<'_>) -> (String, String) {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        render(&output.into(), rendering, &mut stdout, &mut stderr).expect("renders");
        (
            String::from_utf8(stdout).expect("utf8"),
            String::from_utf8(stderr).expect("utf8"),
        )
    }

    fn plain(mode: OutputMode) -> Rendering<'static> {
        Rendering {
            mode,
            jq: None,
            streamed: false,
            unrepeatable: false,
            bold: false,
        }
    }

    fn key_table(rows: Vec<Vec<&str>>) -> CommandOutput {
        CommandOutput::table(
            json!({"keys": []}),
            Table {
                columns: ["NAME", "KEY", "TYPE", "TEAM"].map(str::to_owned).to_vec(),
                rows: rows
                    .into_iter()
                    .map(|row| row.into_iter().map(str::to_owned).collect())
                    .collect(),
                empty_message: Some("No API keys found.".to_owned()),
            },
        )
    }

    #[test]
    fn tables_are_aligned_without_borders_or_trailing_spaces() {
        let output = key_table(vec![
            vec!["ci", "abcd1234****", "personal", "Default Team"],
            vec!["", "wxyz9876****", "workspace-invoke", ""],
        ]);
        let (stdout, stderr) = render_to_strings(&output, &plain(OutputMode::Text));
        assert_eq!(
            stdout,
            "NAME  KEY           TYPE              TEAM\n\
             ci    abcd1234****  personal          Default Team\n      \
             wxyz9876****  workspace-invoke\n"
        );
        assert_eq!(stderr, "");
    }

    #[test]
    fn an_empty_table_says_so_on_stderr_only() {
        let (stdout, stderr) = render_to_strings(&key_table(vec![]), &plain(OutputMode::Text));
        assert_eq!(
            (stdout.as_str(), stderr.as_str()),
            ("", "No API keys found.\n")
        );
    }

    #[test]
    fn json_is_indented_two_spaces_and_keeps_field_order() {
        let output = CommandOutput::lines(json!({"z": 1, "a": [true]}), vec![]);
        let (stdout, _) = render_to_strings(&output, &plain(OutputMode::Json));
        assert_eq!(stdout, "{\n  \"z\": 1,\n  \"a\": [\n    true\n  ]\n}\n");
        let (stdout, _) = render_to_strings(&output, &plain(OutputMode::Jsonl));
        assert_eq!(stdout, "{\"z\":1,\"a\":[true]}\n");
    }

    #[test]
    fn none_prints_nothing_but_notices() {
        let output =
            CommandOutput::lines(json!({"prefix": "x"}), vec![]).notice("Deleted API key x");
        let (stdout, stderr) = render_to_strings(&output, &plain(OutputMode::None));
        assert_eq!(
            (stdout.as_str(), stderr.as_str()),
            ("", "Deleted API key x\n")
        );
    }

    #[test]
    fn jq_strings_print_raw_and_other_values_as_json() {
        let filter = JqFilter::compile(".keys[] | .prefix, {p: .prefix}").expect("compiles");
        let output = CommandOutput::lines(json!({"keys": [{"prefix": "abc"}]}), vec![]);
        let rendering = Rendering {
            jq: Some(&filter),
            ..plain(OutputMode::Jsonl)
        };
        let (stdout, _) = render_to_strings(&output, &rendering);
        assert_eq!(stdout, "abc\n{\"p\":\"abc\"}\n");
    }

    #[test]
    fn a_jq_failure_on_a_new_secret_still_prints_it() {
        let filter = JqFilter::compile(".api_key | error(\"boom\")").expect("compiles");
        let output = CommandOutput::lines(json!({"api_key": "abcd1234.secret"}), vec![]);
        let rendering = Rendering {
            jq: Some(&filter),
            unrepeatable: true,
            ..plain(OutputMode::Json)
        };
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let result = render(&(&output).into(), &rendering, &mut stdout, &mut stderr);
        assert!(matches!(result, Err(RenderError::Failed(_))));
        assert!(String::from_utf8_lossy(&stdout).contains("abcd1234.secret"));
    }

    #[test]
    fn errors_are_one_line_with_an_optional_hint() {
        let error = CliError::usage("bad\nvalue").with_hint("do this");
        let mut stderr = Vec::new();
        write_error(&error, false, &mut stderr).expect("writes");
        assert_eq!(
            String::from_utf8_lossy(&stderr),
            "error: bad value\nhint: do this\n"
        );
    }
}
