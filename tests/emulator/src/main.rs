//! `baseten-emulator`: serves the emulated management API until SIGINT or SIGTERM.
//!
//! Printing is this binary's job (the first stdout line tells callers where to connect), hence
//! the allowance below; everything else lives in the library.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// The workspace's `clippy.toml` keeps the `baseten` host's stdio and environment behind its
// `Terminal`; this binary is a separate program that owns its own.
#![allow(
    clippy::disallowed_methods,
    reason = "a program of its own: it reads its arguments and flushes its stdout"
)]

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use baseten_emulator::{Emulator, EmulatorBuilder};

const USAGE: &str = "\
usage: baseten-emulator [--listen ADDR] [--tls CA_FILE] [--state FILE] [--api-key KEY]...
                        [--team NAME]... [--seed-keys N] [--auto-approve] [--token-ttl SECS]
                        [--device-interval SECS]

  --listen ADDR    address to serve on (default 127.0.0.1:0, a free port)
  --tls CA_FILE    serve HTTPS instead of HTTP, under a throwaway CA made at each start for
                   127.0.0.1, ::1 and localhost; its certificate (PEM) is written to CA_FILE
                   for clients to trust (BASETEN_CA_BUNDLE=CA_FILE), and the first line reads
                   `listening on https://HOST:PORT`
  --state FILE     load the workspace from FILE and save every change to it
  --api-key KEY    register KEY (<8-char prefix>.<secret>) as a WORKSPACE_MANAGE_ALL key;
                   without one, a key is generated and printed
  --team NAME      add a team besides `Default Team`
  --seed-keys N    create N keys at start, for scale tests
  --auto-approve   approve every browser login at once (otherwise approve one with
                   `POST /_emulator/device/approve` and `{\"user_code\": \"...\"}`)
  --token-ttl SECS how long browser-login access tokens live (default 3600)
  --device-interval SECS
                   seconds between polls a browser login is told to keep (default 5)";

/// The command line, parsed.
struct Options {
    builder: EmulatorBuilder,
    /// Whether a key was generated and so must be printed.
    generated_key: bool,
}

// Built once at start-up, so its size does not matter; it only crosses the lint's line on some
// targets (Windows), hence `allow` rather than `expect`.
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at start-up; boxing would only complicate the tests' patterns"
)]
enum Parsed {
    Run(Options),
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut builder = Emulator::builder();
    let mut generated_key = true;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(Parsed::Help);
        }
        if flag == "--auto-approve" {
            if inline.is_some() {
                return Err("`--auto-approve` takes no value".to_owned());
            }
            builder = builder.auto_approve(true);
            continue;
        }
        if ![
            "--listen",
            "--tls",
            "--state",
            "--api-key",
            "--team",
            "--seed-keys",
            "--token-ttl",
            "--device-interval",
        ]
        .contains(&flag.as_str())
        {
            return Err(format!("unknown argument `{arg}`"));
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("`{flag}` needs a value")),
        };
        builder = match flag.as_str() {
            "--listen" => builder.listen(parse_addr(&value)?),
            "--tls" => builder.tls(value),
            "--state" => builder.state_file(value),
            "--api-key" => {
                generated_key = false;
                builder.api_key(value)
            }
            "--team" => builder.team(value),
            "--token-ttl" => builder.token_ttl(Duration::from_secs(seconds(&flag, &value)?)),
            "--device-interval" => builder.device_interval(seconds(&flag, &value)?),
            _ => builder.seed_keys(
                value
                    .parse()
                    .map_err(|_| format!("`--seed-keys` needs a count, not `{value}`"))?,
            ),
        };
    }
    Ok(Parsed::Run(Options {
        builder,
        generated_key,
    }))
}

/// A whole number of seconds.
fn seconds(flag: &str, text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("`{flag}` needs whole seconds, not `{text}`"))
}

/// An `IP:PORT`, or a `HOST:PORT` resolved to its first address (e.g. `localhost:8080`).
fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("`--listen` needs HOST:PORT, not `{text}`"))
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(options))
}

async fn run(options: Options) -> ExitCode {
    // Handlers go in before the address is printed: a caller may signal as soon as it reads it,
    // and a signal arriving before then would kill the process instead of stopping it cleanly.
    let stop = match StopSignal::install() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("error: cannot handle stop signals: {error}");
            return ExitCode::FAILURE;
        }
    };
    let emulator = match options.builder.start().await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", emulator.url());
    if options.generated_key {
        println!("api key: {}", emulator.api_key());
    }
    // Callers wait for these lines before connecting: they must not sit in a buffer.
    let _ = std::io::stdout().flush();
    stop.received().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

/// SIGINT (Ctrl-C) and, on Unix, SIGTERM.
struct StopSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    #[cfg_attr(not(unix), allow(unused_mut))]
    async fn received(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        parse_args(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn flags_take_values_both_ways() {
        let parsed = parse(&[
            "--listen=127.0.0.1:0",
            "--tls",
            "ca.pem",
            "--team",
            "Research",
            "--api-key",
            "abcd1234.s",
        ]);
        assert!(matches!(
            parsed,
            Ok(Parsed::Run(Options {
                generated_key: false,
                ..
            }))
        ));
        assert!(matches!(
            parse(&[]),
            Ok(Parsed::Run(Options {
                generated_key: true,
                ..
            }))
        ));
        assert!(matches!(parse(&["--help"]), Ok(Parsed::Help)));
        assert!(matches!(
            parse(&["--auto-approve", "--token-ttl", "30", "--device-interval=1"]),
            Ok(Parsed::Run(_))
        ));
        assert!(
            matches!(parse(&["--token-ttl", "soon"]), Err(message) if message.contains("soon"))
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(matches!(parse(&["--colour"]), Err(message) if message.contains("--colour")));
        assert!(matches!(parse(&["--team"]), Err(message) if message.contains("--team")));
        assert!(matches!(parse(&["--tls"]), Err(message) if message.contains("--tls")));
        assert!(
            matches!(parse(&["--seed-keys", "many"]), Err(message) if message.contains("many"))
        );
        assert!(
            matches!(parse(&["--listen", "nowhere"]), Err(message) if message.contains("nowhere"))
        );
    }
}
