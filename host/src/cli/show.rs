//! The last stage of a run: a command's output, rendered to the terminal's stdout and stderr.
//!
//! Output that cannot be shown again (a new key) is also handed to the Ctrl-C handler until it
//! was fully written, and a failure to write it is an error that says what was lost (the
//! output's `if_unseen`), never a quiet end.

use std::io::Write;

use baseten_plugin_api::OutputMode;
use baseten_plugin_api::protocol::OutputSpec;

use crate::context::Context;
use crate::error::CliError;
use crate::output::{self, RenderError, Rendering};
use crate::result::CommandOutputRef;

use super::settings::Settings;

/// Renders `output` as `settings` ask; `spec` says whether it streams and whether it can be
/// shown again.
pub fn show(
    context: &Context,
    output: &CommandOutputRef<'_>,
    settings: &Settings,
    spec: &OutputSpec,
) -> Result<(), CliError> {
    let rendering = Rendering {
        mode: settings.mode,
        jq: settings.jq.as_ref(),
        // Over the process's own stdout, `--jq` runs in a child process writing straight to it.
        isolated: context
            .terminal()
            .stdout_is_inheritable()
            .then_some(context),
        environment: context.vars(),
        streamed: spec.streamed,
        unrepeatable: !spec.allow_none,
        bold: context.color_stdout(),
        terminal: Some(context.terminal()),
    };
    if rendering.unrepeatable {
        // A new key, or a piece of it a filter cuts out, is never echoed on stderr.
        crate::secrets::register_keys_in(output.payload.get());
        context
            .terminal()
            .publish_unseen(output::prerender(output, &rendering));
    }
    if context.terminal().stdout_closed() {
        context.terminal().withdraw_unseen();
        let closed = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout is closed");
        // Unlike a reader leaving halfway (`| head`), nothing could ever be read: a failure,
        // unless there was nothing to print.
        if output.if_unseen.is_none()
            && (settings.jq.is_some() || settings.mode != OutputMode::None)
        {
            return Err(CliError::failure(format!(
                "could not write output: {closed}"
            )));
        }
        return output_failed(output, closed);
    }
    let mut stdout = context.terminal().stdout();
    let mut stderr = context.terminal().stderr();
    let result = output::render(output, &rendering, &mut **stdout, &mut **stderr);
    context.terminal().withdraw_unseen();
    match result {
        Ok(()) => Ok(()),
        Err(RenderError::Io(error)) => output_failed(output, error),
        Err(RenderError::Failed(error)) => Err(error),
    }
}

/// A failed command's answer that may hold something unrepeatable (a key the server may have
/// created): shown as received, whatever else goes wrong, but with no control character that
/// could drive a terminal.
pub fn show_as_received(context: &Context, text: &str) {
    crate::secrets::register_keys_in(text);
    let text = crate::sanitize::printable_lines(text);
    let mut stdout = context.terminal().stdout();
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    let _ = write!(stdout, "{text}{newline}");
    let _ = stdout.flush();
}

/// Writing stdout failed: a broken pipe ends quietly (`| head`), unless the output cannot be
/// shown again; then the command fails saying what was lost.
fn output_failed(output: &CommandOutputRef<'_>, error: std::io::Error) -> Result<(), CliError> {
    if let Some(unseen) = &output.if_unseen {
        let mut failure: CliError = unseen.clone().into();
        failure.message = format!("{}: could not write output: {error}", failure.message);
        return Err(failure);
    }
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "could not write output: {error}"
        )))
    }
}
