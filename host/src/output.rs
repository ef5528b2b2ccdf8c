//! Everything a user sees passes through here: command results in each output mode, `--jq`
//! results, tables, errors and log lines. Writers are parameters, so tests render into buffers.

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table as ComfyTable, presets};
use serde_json::Value;
use serde_json::value::RawValue;

use baseten_plugin_api::{Field, OutputMode};

use crate::context::Context;
use crate::error::CliError;
use crate::jq::{JqFilter, RunError};
use crate::jq_process;
use crate::result::{CommandOutputRef, TableRef, TextViewRef};
use crate::sanitize;
use crate::terminal::Terminal;

/// How to print one command's result.
pub struct Rendering<'a> {
    pub mode: OutputMode,
    pub jq: Option<&'a JqFilter>,
    /// Run `--jq` in a child process of this context's executable, writing to the real stdout
    /// (see [`crate::jq_process`]); otherwise in this process into the given writer (tests, and
    /// runs over an in-memory terminal).
    pub isolated: Option<&'a Context>,
    /// The variables `$ENV` holds when `--jq` runs in this process.
    pub environment: &'a [(OsString, OsString)],
    /// One record per line under `jsonl`.
    pub streamed: bool,
    /// The payload can never be fetched again (a new secret): if `--jq` fails on it, print the
    /// payload anyway rather than lose it.
    pub unrepeatable: bool,
    /// Bold table headers.
    pub bold: bool,
    /// The terminal whose Ctrl-C hand-over of unrepeatable output is withdrawn the moment the
    /// output is on stdout (`None`: nothing was handed over).
    pub terminal: Option<&'a Terminal>,
}

/// Prints `output` to `stdout` and its messages to `stderr`. Once stdout holds the whole
/// output, a failure to write the messages no longer fails the command: what matters reached
/// the user, and an error could not be shown anyway.
pub fn render(
    output: &CommandOutputRef<'_>,
    rendering: &Rendering<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), RenderError> {
    if let Some(filter) = rendering.jq {
        if let Err(reason) = run_jq(filter, output, rendering, stdout, stderr)? {
            if rendering.unrepeatable {
                write_raw(output.payload, OutputMode::Json, stdout)?;
                withdraw_unseen(rendering);
            }
            let _ = write_notices(&output.notices, stderr);
            // Scrubbed before it is cut, so that the cut never leaves part of a secret.
            let reason = crate::jq::shorten(&crate::secrets::scrub(&reason));
            let error = CliError::failure(format!("jq error: {reason}"));
            return Err(RenderError::Failed(if rendering.unrepeatable {
                error
                    .with_hint("the result is printed above unfiltered; it cannot be fetched again")
            } else {
                error
            }));
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
    withdraw_unseen(rendering);
    let _ = write_notices(&output.notices, stderr);
    Ok(())
}

/// The output is on stdout: Ctrl-C no longer needs to print it.
fn withdraw_unseen(rendering: &Rendering<'_>) {
    if let Some(terminal) = rendering.terminal {
        terminal.withdraw_unseen();
    }
}

/// Most `--jq` output kept back to check that it holds a new key (see [`run_jq`]).
const MAX_CAPTURED_BYTES: usize = 16 << 20;

/// Runs `--jq`, its results written as they come: `Ok(Err(reason))` when the filter failed.
///
/// On a payload that can never be fetched again, the results are kept back instead, and the
/// filter counts as failed unless they hold the secret part of every key in the payload (a
/// typo like `.apikey` printing `null` would lose the key): they are printed, then the caller
/// prints the payload unfiltered.
fn run_jq(
    filter: &JqFilter,
    output: &CommandOutputRef<'_>,
    rendering: &Rendering<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Result<(), String>, RenderError> {
    let payload = output.payload.get();
    if let Some(context) = rendering.isolated {
        // The child writes to the same stdout: nothing of ours may sit in a buffer before it.
        stdout.flush()?;
        let capture = rendering.unrepeatable.then_some(MAX_CAPTURED_BYTES);
        return match jq_process::run(context, filter, payload, rendering.mode, capture, stderr) {
            jq_process::Outcome::Done => Ok(Ok(())),
            jq_process::Outcome::Captured(results) => check_and_write(&results, payload, stdout),
            jq_process::Outcome::TooLarge => Ok(Err(format!(
                "the filter's output is larger than {} MiB",
                MAX_CAPTURED_BYTES >> 20
            ))),
            // A result that can never be fetched again, filtered down to nothing, would be lost.
            jq_process::Outcome::Empty if rendering.unrepeatable => {
                Ok(Err("the filter printed nothing".to_owned()))
            }
            jq_process::Outcome::Empty => Ok(Ok(())),
            jq_process::Outcome::Failed(reason) => Ok(Err(reason)),
            jq_process::Outcome::Output(error) => Err(RenderError::Io(error)),
        };
    }
    let mode = rendering.mode;
    let mut printed = false;
    let mut kept = Vec::new();
    let unrepeatable = rendering.unrepeatable;
    let mut emit = |value: Value| {
        printed = true;
        if unrepeatable {
            write_jq_result(&value, mode, &mut kept)
        } else {
            write_jq_result(&value, mode, stdout)
        }
    };
    match filter.run_streaming(payload, rendering.environment, &mut emit) {
        Ok(()) if !printed && unrepeatable => Ok(Err("the filter printed nothing".to_owned())),
        Ok(()) if unrepeatable => check_and_write(&kept, payload, stdout),
        Ok(()) => Ok(Ok(())),
        Err(RunError::Jq(error)) => Ok(Err(error.to_string())),
        Err(RunError::Output(error)) => Err(RenderError::Io(error)),
    }
}

/// Writes `results` kept back from a filter over `payload`; the filter failed if they miss the
/// secret part of a key in the payload.
fn check_and_write(
    results: &[u8],
    payload: &str,
    stdout: &mut dyn Write,
) -> Result<Result<(), String>, RenderError> {
    let holds = |needle: &[u8]| {
        needle.is_empty() || results.windows(needle.len()).any(|window| window == needle)
    };
    let complete = crate::secrets::api_keys_in(payload)
        .into_iter()
        .filter_map(|key| key.split_once('.').map(|(_, secret)| secret))
        .all(|secret| holds(secret.as_bytes()));
    stdout.write_all(results)?;
    stdout.flush()?;
    if complete {
        Ok(Ok(()))
    } else {
        Ok(Err(
            "the filter's output does not include the new key".to_owned()
        ))
    }
}

/// The output as it would be shown without `--jq` (as JSON when `--jq` was given), for the
/// Ctrl-C handler to print if the user interrupts before it was shown.
pub fn prerender(output: &CommandOutputRef<'_>, rendering: &Rendering<'_>) -> Vec<u8> {
    let plain = Rendering {
        mode: if rendering.jq.is_some() {
            OutputMode::Json
        } else {
            rendering.mode
        },
        jq: None,
        isolated: None,
        environment: &[],
        streamed: rendering.streamed,
        unrepeatable: rendering.unrepeatable,
        terminal: None,
        bold: false,
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let _ = render(output, &plain, &mut stdout, &mut stderr);
    stdout
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
    text: &TextViewRef<'_>,
    bold: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<()> {
    match text {
        // Lines quote servers (`Logged in as …`): no control character reaches the terminal.
        TextViewRef::Lines(lines) => {
            for line in lines {
                writeln!(stdout, "{}", crate::sanitize::printable(line))?;
            }
        }
        TextViewRef::Table(table) if table.row_count() == 0 => {
            if let Some(message) = &table.empty_message {
                writeln!(stderr, "{}", crate::secrets::scrub(message))?;
            }
        }
        TextViewRef::Table(table) => write_table(table, bold, stdout)?,
        TextViewRef::Fields(fields) => write_fields(fields, stdout)?,
    }
    Ok(())
}

/// One object as `name:  value` lines, values aligned two spaces after the longest label, each
/// label and value on one line with no control characters (plugin API 1.2).
pub fn write_fields(fields: &[Field], stdout: &mut dyn Write) -> io::Result<()> {
    let mut rendered = ComfyTable::new();
    rendered
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .add_rows(fields.iter().map(|field| {
            [
                format!("{}:", clean_cell(&field.name)),
                clean_cell(&field.value),
            ]
        }));
    for column in rendered.column_iter_mut() {
        column.set_padding((0, 2));
    }
    for line in rendered.lines() {
        writeln!(stdout, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A borderless table: a header row, then aligned columns two spaces apart, no trailing spaces.
/// Streamed: widths measured in one pass over the cells, then each line written as it is built,
/// with no copy of a cell that is printable already. The layout is comfy-table's (a test
/// compares the two), which still lays out the rare table with a cell wider than it can hold.
pub fn write_table(table: &TableRef<'_>, bold: bool, stdout: &mut dyn Write) -> io::Result<()> {
    let rows = || std::iter::once(table.columns.as_slice()).chain(table.rows());
    let columns = rows().map(<[_]>::len).max().unwrap_or(0);
    if columns == 0 {
        // As comfy-table: a table without a column has no line at all.
        return Ok(());
    }
    // As comfy-table: a column is at least one character wide.
    let mut widths = vec![1_usize; columns];
    for row in rows() {
        for (width, cell) in widths.iter_mut().zip(row) {
            let cell_width = shown_cell(cell).1;
            if cell_width > usize::from(u16::MAX) {
                return write_table_laid_out(table, bold, stdout);
            }
            *width = (*width).max(cell_width);
        }
    }
    const SPACES: &str = match std::str::from_utf8(&[b' '; 64]) {
        Ok(spaces) => spaces,
        Err(_) => "",
    };
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout);
    let mut line = String::new();
    for (index, row) in rows().enumerate() {
        line.clear();
        for (column, width) in widths.iter().enumerate() {
            let (cell, cell_width) = row
                .get(column)
                .map_or((Cow::Borrowed(""), 0), |cell| shown_cell(cell));
            line.push_str(&cell);
            let mut padding = width - cell_width + 2;
            while padding > 0 {
                let chunk = padding.min(SPACES.len());
                line.push_str(&SPACES[..chunk]);
                padding -= chunk;
            }
        }
        // Cells are padded to their column's width; the last one's padding is not content.
        let line = line.trim_end();
        if index == 0 && bold {
            out.write_all(b"\x1b[1m")?;
            out.write_all(line.as_bytes())?;
            out.write_all(b"\x1b[0m\n")?;
        } else {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

/// A cell as a table shows it, and its width in columns: printable ASCII as it is, its width its
/// length; anything else made printable ([`sanitize::printable_cow`]) and measured as
/// comfy-table measures it.
fn shown_cell(cell: &str) -> (Cow<'_, str>, usize) {
    use unicode_width::UnicodeWidthStr;
    // Without an early exit, so that it compiles to a few instructions a byte.
    let ascii = cell.bytes().fold(true, |ascii, byte| {
        ascii & (byte.wrapping_sub(b' ') < b'~' - b' ' + 1)
    });
    if ascii {
        return (Cow::Borrowed(cell), cell.len());
    }
    let shown = sanitize::printable_cow(cell);
    let width = shown.width();
    (shown, width)
}

/// [`write_table`] through comfy-table.
fn write_table_laid_out(
    table: &TableRef<'_>,
    bold: bool,
    stdout: &mut dyn Write,
) -> io::Result<()> {
    let mut rendered = ComfyTable::new();
    rendered
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(table.columns.iter().map(|column| clean_cell(column)))
        .add_rows(
            table
                .rows()
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
    crate::sanitize::printable(cell)
}

/// A payload kept as JSON text, re-laid out as it streams to stdout: indented two spaces under
/// `json`, compact under `jsonl`. No tree is built and nothing is parsed: strings and numbers
/// are copied byte for byte (`1e400`, `12345678901234567890123` and `1.10` stay as they are),
/// field order and every field are kept, and memory stays flat whatever the payload's size.
pub fn write_raw(payload: &RawValue, mode: OutputMode, stdout: &mut dyn Write) -> io::Result<()> {
    let mut out = Chunks::new(stdout);
    relayout(
        payload.get().as_bytes(),
        mode != OutputMode::Jsonl,
        &mut out,
    )?;
    out.put(b"\n")?;
    out.finish()
}

/// Output gathered into chunks of about [`Chunks::SIZE`] bytes before each write, and long runs
/// of the input written straight from it. A token is added only while the buffer holds less
/// than a chunk, so the [`Chunks::SLACK`] bytes after it always have room for a short one,
/// copied as a fixed-size block whatever its length (no call to `memcpy` per token).
struct Chunks<'a> {
    buffer: Box<[u8]>,
    len: usize,
    out: &'a mut dyn Write,
}

impl<'a> Chunks<'a> {
    const SIZE: usize = 64 * 1024;
    const SLACK: usize = 256;
    /// What [`Self::put_short`] copies at once.
    const BLOCK: usize = 32;

    fn new(out: &'a mut dyn Write) -> Self {
        Self {
            buffer: vec![0; Self::SIZE + Self::SLACK].into_boxed_slice(),
            len: 0,
            out,
        }
    }

    /// Writes the buffer out once it holds a chunk: afterwards at least [`Self::SLACK`] bytes
    /// are free.
    #[inline]
    fn spill(&mut self) -> io::Result<()> {
        if self.len >= Self::SIZE {
            self.write_buffer()?;
        }
        Ok(())
    }

    /// Adds one byte (after [`Self::spill`], with fewer than [`Self::SLACK`] added since).
    #[inline]
    fn push(&mut self, byte: u8) {
        self.buffer[self.len] = byte;
        self.len += 1;
    }

    /// Adds `text[start..end]`: when it is short and `text` goes on long enough, as one block
    /// of [`Self::BLOCK`] bytes of which only the run counts (after [`Self::spill`]).
    #[inline(always)]
    fn put_short(&mut self, text: &[u8], start: usize, end: usize) -> io::Result<()> {
        if end - start <= Self::BLOCK && start + Self::BLOCK <= text.len() {
            self.buffer[self.len..self.len + Self::BLOCK]
                .copy_from_slice(&text[start..start + Self::BLOCK]);
            self.len += end - start;
            Ok(())
        } else {
            self.put_long(&text[start..end])
        }
    }

    #[cold]
    #[inline(never)]
    fn put_long(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.put(bytes)
    }

    /// Adds `bytes` of any length: a long run is written as it is, not copied.
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.len + bytes.len() > self.buffer.len() {
            self.write_buffer()?;
            if bytes.len() > Self::SIZE {
                return self.out.write_all(bytes);
            }
        }
        self.buffer[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        Ok(())
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buffer[..self.len])?;
        self.len = 0;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.write_buffer()?;
        self.out.flush()
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// The index after the `"` closing the string whose contents start at `at` (the end of `text`
/// if it is not closed).
#[inline]
fn string_close(text: &[u8], mut at: usize) -> usize {
    loop {
        at = baseten_plugin_api::json::next_special_in_string(text, at);
        match text.get(at) {
            Some(b'"') => return at + 1,
            Some(b'\\') => at += 2,
            // A control character: not in JSON text, copied like any other byte.
            Some(_) => at += 1,
            None => return text.len(),
        }
    }
}

/// Copies JSON text `text` to `out` without its whitespace, adding line breaks and two-space
/// indentation when `pretty` (the layout of `serde_json`'s pretty printer). The text is checked
/// JSON: on anything else it still ends, without a panic, having copied something.
fn relayout(text: &[u8], pretty: bool, out: &mut Chunks<'_>) -> io::Result<()> {
    if !pretty {
        return compact(text, out);
    }
    let mut depth = 0_usize;
    let mut at = 0;
    while let Some(&byte) = text.get(at) {
        out.spill()?;
        match byte {
            b'"' => {
                let end = string_close(text, at + 1);
                out.put_short(text, at, end)?;
                at = end;
            }
            b'{' | b'[' => {
                let close = if byte == b'{' { b'}' } else { b']' };
                let next = baseten_plugin_api::json::skip_space(text, at + 1);
                out.push(byte);
                if text.get(next) == Some(&close) {
                    out.push(close);
                    at = next + 1;
                } else {
                    depth += 1;
                    line_break(out, depth)?;
                    at += 1;
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                line_break(out, depth)?;
                out.spill()?;
                out.push(byte);
                at += 1;
            }
            b',' => {
                out.push(b',');
                line_break(out, depth)?;
                at += 1;
            }
            b':' => {
                out.push(b':');
                out.push(b' ');
                at += 1;
            }
            _ if is_space(byte) => at += 1,
            _ => {
                // A number or a literal: everything up to the next delimiter.
                let start = at;
                while text.get(at).is_some_and(|&byte| {
                    !is_space(byte) && !matches!(byte, b',' | b':' | b']' | b'}')
                }) {
                    at += 1;
                }
                out.put_short(text, start, at)?;
            }
        }
    }
    Ok(())
}

/// A new line indented for `depth` (after [`Chunks::spill`]).
#[inline(always)]
fn line_break(out: &mut Chunks<'_>, depth: usize) -> io::Result<()> {
    const LINE: &[u8; 1 + Chunks::BLOCK] = b"\n                                ";
    let indent = depth * 2;
    if indent < Chunks::BLOCK {
        out.put_short(LINE, 0, 1 + indent)
    } else {
        out.put(b"\n")?;
        for _ in 0..depth {
            out.put(b"  ")?;
        }
        Ok(())
    }
}

/// [`relayout`] without `pretty`: the text without its whitespace, copied in runs between the
/// spaces (a compact body is one run, written as it is).
fn compact(text: &[u8], out: &mut Chunks<'_>) -> io::Result<()> {
    let mut run = 0;
    let mut at = 0;
    while let Some(&byte) = text.get(at) {
        if byte == b'"' {
            at = string_close(text, at + 1);
        } else if is_space(byte) {
            out.put(&text[run..at])?;
            at = baseten_plugin_api::json::skip_space(text, at);
            run = at;
        } else {
            at += 1;
        }
    }
    out.put(&text[run..])
}

/// One `--jq` result: a string raw, like `jq -r`; anything else as JSON, indented under `json`.
pub fn write_jq_result(value: &Value, mode: OutputMode, out: &mut dyn Write) -> io::Result<()> {
    match value {
        Value::String(text) => out.write_all(text.as_bytes())?,
        other if mode == OutputMode::Jsonl => serde_json::to_writer(&mut *out, other)?,
        other => serde_json::to_writer_pretty(&mut *out, other)?,
    }
    out.write_all(b"\n")
}

/// Prints an error as `error: …` and maybe `hint: …` on stderr.
pub fn write_error(error: &CliError, color: bool, stderr: &mut dyn Write) -> io::Result<()> {
    let message = shorten(&crate::secrets::scrub(&sanitize::one_line(&error.message)));
    if color {
        writeln!(stderr, "\x1b[1;31merror\x1b[0m: {message}")?;
    } else {
        writeln!(stderr, "error: {message}")?;
    }
    if let Some(hint) = &error.hint {
        writeln!(
            stderr,
            "hint: {}",
            shorten(&crate::secrets::scrub(&sanitize::one_line(hint)))
        )?;
    }
    Ok(())
}

/// An error line stays readable: a message quoting a huge value (a 100 KB `--name`, a long
/// server answer) keeps its start and its end, where what failed and why are said. Cut after
/// scrubbing, so no secret is left in part.
fn shorten(text: &str) -> String {
    sanitize::cut_middle(text, 1000)
}

#[cfg(test)]
mod tests {
    use baseten_plugin_api::{CommandOutput, Table};
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
            isolated: None,
            environment: &[],
            streamed: false,
            unrepeatable: false,
            bold: false,
            terminal: None,
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
    fn the_streamed_table_is_laid_out_as_comfy_table_lays_it_out() {
        let cells = [
            "",
            "a",
            "ci",
            "abcd1234****",
            "Default Team",
            "日本語",
            "🔑 key",
            "e\u{301}",
            "tab\there",
            "line\nbreak",
            "\u{1b}[31mred",
            "nbsp\u{a0}",
            "trail ",
            " lead",
            "\u{202e}bidi",
            "ｗｉｄｅ",
            "x".repeat(40).leak(),
            "\u{3000}",
            " ~!{}|\\",
        ];
        // A deterministic spread of shapes: ragged rows, empty headers, one to five columns.
        let mut seed = 7_u64;
        let mut next = |bound: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            usize::try_from(seed >> 33).unwrap_or(0) % bound
        };
        for _ in 0..400 {
            let columns = next(5);
            let header = (0..columns)
                .map(|_| cells[next(cells.len())].to_owned())
                .collect();
            let rows = (0..1 + next(6))
                .map(|_| {
                    (0..next(6))
                        .map(|_| cells[next(cells.len())].to_owned())
                        .collect()
                })
                .collect();
            let table = Table {
                columns: header,
                rows,
                empty_message: None,
            };
            for bold in [false, true] {
                let (mut streamed, mut laid_out) = (Vec::new(), Vec::new());
                let table = TableRef::from(&table);
                write_table(&table, bold, &mut streamed).expect("writes");
                write_table_laid_out(&table, bold, &mut laid_out).expect("writes");
                assert_eq!(
                    String::from_utf8_lossy(&streamed),
                    String::from_utf8_lossy(&laid_out),
                    "{:?} {:?}",
                    table.columns,
                    table.rows
                );
            }
        }
        // A cell wider than comfy-table measures is laid out by it.
        let table = Table {
            columns: vec!["A".to_owned()],
            rows: vec![vec!["y".repeat(70_000)]],
            empty_message: None,
        };
        let mut streamed = Vec::new();
        write_table(&TableRef::from(&table), false, &mut streamed).expect("writes");
        assert!(streamed.len() > 70_000);
    }

    #[test]
    fn printable_ascii_is_one_column_wide_as_comfy_table_measures_it() {
        use unicode_width::UnicodeWidthStr;
        let ascii: String = (b' '..=b'~').map(char::from).collect();
        assert_eq!(ascii.width(), ascii.len());
        assert_eq!(
            shown_cell(&ascii),
            (Cow::Borrowed(ascii.as_str()), ascii.len())
        );
        assert_eq!(shown_cell("a\u{7f}b").0, "a?b");
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
    fn fields_are_aligned_after_the_longest_name_and_kept_on_one_line() {
        let output = CommandOutput::fields(
            json!({"id": "t1"}),
            [
                ("ID", "t1"),
                ("Name", "Équipe 研究"),
                ("Note", "two\nlines\u{1b}[2J"),
                ("Empty", ""),
            ],
        );
        let (stdout, stderr) = render_to_strings(&output, &plain(OutputMode::Text));
        assert_eq!(
            stdout,
            "ID:     t1\nName:   Équipe 研究\nNote:   two lines?[2J\nEmpty:\n"
        );
        assert_eq!(stderr, "");
        let none = CommandOutput::fields(json!({}), Vec::<(String, String)>::new());
        assert_eq!(render_to_strings(&none, &plain(OutputMode::Text)).0, "");
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

    fn relaid(text: &str, mode: OutputMode) -> String {
        let payload = RawValue::from_string(text.to_owned()).expect("valid JSON");
        let mut out = Vec::new();
        write_raw(&payload, mode, &mut out).expect("writes");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn numbers_and_strings_pass_through_byte_for_byte() {
        let text = r#"{"big": 1e400, "wide": 12345678901234567890123, "dec": 1.10,
            "esc": "a\"b\\\u00e9\/", "neg": -0.0E+2}"#;
        assert_eq!(
            relaid(text, OutputMode::Jsonl),
            "{\"big\":1e400,\"wide\":12345678901234567890123,\"dec\":1.10,\
             \"esc\":\"a\\\"b\\\\\\u00e9\\/\",\"neg\":-0.0E+2}\n"
        );
        assert!(relaid(text, OutputMode::Json).contains("\"big\": 1e400,\n"));
    }

    #[test]
    fn the_layout_matches_serde_json() {
        let samples = [
            r#"{"a": [1, {"b": null, "c": [ ]}, { }], "d": "x y, z: [}", "e": true}"#,
            "[]",
            "  \"s\"  ",
            "[[[]], [{}], -1.5, false]",
        ];
        for text in samples {
            let value: Value = serde_json::from_str(text).expect("valid");
            let pretty = serde_json::to_string_pretty(&value).expect("serializes") + "\n";
            let compact = serde_json::to_string(&value).expect("serializes") + "\n";
            assert_eq!(relaid(text, OutputMode::Json), pretty, "{text}");
            assert_eq!(relaid(text, OutputMode::Jsonl), compact, "{text}");
        }
    }

    #[test]
    fn long_payloads_are_laid_out_across_chunks_as_serde_json_lays_them_out() {
        let key = |n: usize| {
            format!(
                r#" {{ "prefix" : "k{n}", "name": "{}", "ids": [ {n} , [ ] , {{ }} ], "deep": {}1{} }}"#,
                "x\\\"y".repeat(n % 50),
                "[".repeat(n % 40),
                "]".repeat(n % 40)
            )
        };
        let keys: Vec<String> = (0..3000).map(key).collect();
        // A string longer than a chunk, written straight from the payload.
        let text = format!(
            "{{\"keys\": [{}], \"long\": \"{}\"}}",
            keys.join(",\n"),
            "z".repeat(200_000)
        );
        let value: Value = serde_json::from_str(&text).expect("valid");
        let pretty = serde_json::to_string_pretty(&value).expect("serializes") + "\n";
        let compact = serde_json::to_string(&value).expect("serializes") + "\n";
        assert!(pretty.len() > 10 * Chunks::SIZE);
        assert!(relaid(&text, OutputMode::Json) == pretty);
        assert!(relaid(&text, OutputMode::Jsonl) == compact);
    }

    #[test]
    fn text_that_is_not_json_is_laid_out_without_a_panic() {
        for text in [
            "",
            "{",
            "[[[",
            "}}}",
            "]",
            "\"abc",
            "\"a\\",
            "\"\u{1}\"",
            "{\"a\" 1 2}",
            "[1,,]",
            ":::",
            "tru",
            "  ",
            "{\"a\":\"b\\\"}",
        ] {
            for pretty in [true, false] {
                let mut out = Vec::new();
                let mut chunks = Chunks::new(&mut out);
                relayout(text.as_bytes(), pretty, &mut chunks).expect("writes");
                chunks.put(b"\n").expect("writes");
                chunks.finish().expect("writes");
            }
        }
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

    /// Renders `output`, a result that cannot be fetched again, through `--jq expression`:
    /// whether the command fails, and what reached stdout.
    fn render_new_secret(output: &CommandOutput, expression: &str) -> (bool, String) {
        let filter = JqFilter::compile(expression).expect("compiles");
        let rendering = Rendering {
            jq: Some(&filter),
            unrepeatable: true,
            ..plain(OutputMode::Json)
        };
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let result = render(&output.into(), &rendering, &mut stdout, &mut stderr);
        (
            matches!(result, Err(RenderError::Failed(_))),
            String::from_utf8_lossy(&stdout).into_owned(),
        )
    }

    #[test]
    fn a_jq_failure_on_a_new_secret_still_prints_it() {
        let output = CommandOutput::lines(json!({"api_key": "abcd1234.secret"}), vec![]);
        let (failed, stdout) = render_new_secret(&output, ".api_key | error(\"boom\")");
        assert!(failed);
        assert!(stdout.contains("abcd1234.secret"));
    }

    #[test]
    fn a_filter_leaving_nothing_of_a_new_secret_still_prints_it() {
        let output = CommandOutput::lines(json!({"api_key": "abcd1234.secret"}), vec![]);
        let (failed, stdout) = render_new_secret(&output, "empty");
        assert!(failed);
        assert!(stdout.contains("abcd1234.secret"));
        let filter = JqFilter::compile("empty").expect("compiles");
        let repeatable = Rendering {
            jq: Some(&filter),
            ..plain(OutputMode::Json)
        };
        let (stdout, _) = render_to_strings(&output, &repeatable);
        assert_eq!(stdout, "");
    }

    #[test]
    fn a_filter_missing_the_new_key_prints_its_results_then_the_key() {
        let key = "abcd1234.0123456789abcdefghij";
        let output = CommandOutput::lines(json!({"api_key": key, "prefix": "abcd1234"}), vec![]);
        for (expression, fails) in [(".apikey", true), (".prefix", true), (".api_key", false)] {
            let (failed, stdout) = render_new_secret(&output, expression);
            assert_eq!(failed, fails, "{expression}");
            assert!(stdout.contains(key), "{expression}: {stdout}");
        }
    }

    #[test]
    fn results_print_like_jq_r() {
        let mut out = Vec::new();
        write_jq_result(&Value::from("a"), OutputMode::Json, &mut out).expect("writes");
        write_jq_result(&serde_json::json!({"b": [1]}), OutputMode::Jsonl, &mut out)
            .expect("writes");
        assert_eq!(String::from_utf8_lossy(&out), "a\n{\"b\":[1]}\n");
    }

    #[test]
    fn huge_errors_keep_their_start_and_end() {
        let message = format!("no API key named \"{}\"", "x".repeat(100_000));
        let error = CliError::new(baseten_plugin_api::ErrorKind::NotFound, message);
        let mut stderr = Vec::new();
        write_error(&error, false, &mut stderr).expect("writes");
        let line = String::from_utf8_lossy(&stderr);
        assert!(line.len() < 1200, "{}", line.len());
        assert!(line.starts_with("error: no API key named \"xxx"), "{line}");
        assert!(line.contains("(99219 characters not shown)"), "{line}");
        assert!(line.ends_with("xx\"\n"), "{line}");
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
