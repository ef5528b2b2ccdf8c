//! A local, faithful stand-in for the Baseten management API, for tests, benchmarks and trying
//! the `baseten` command without an account.
//!
//! It serves every endpoint the CLI calls (`/v1/api_keys`, `/v1/teams`, `/v1/users/me`, and the
//! browser login's device flow under `/v1/users/auth/`) over real HTTP, or HTTPS under a
//! throwaway CA ([`EmulatorBuilder::tls`]), keeps only hashes of secrets, can persist its state
//! across restarts, and has control endpoints under `/_emulator/` to inject faults, approve
//! browser logins and read back the requests it saw.
//!
//! ```no_run
//! # async fn example() -> Result<(), baseten_emulator::Error> {
//! let emulator = baseten_emulator::Emulator::builder().team("Research").start().await?;
//! println!("{} with key {}", emulator.url(), emulator.api_key());
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Synchronous tests use [`EmulatorBuilder::start_in_background`], which runs the server on its
//! own thread and stops it when the handle is dropped.

mod api;
mod auth;
mod background;
mod control;
mod emulator;
mod error;
mod http_error;
mod oauth;
mod persist;
mod server;
mod shared;
mod state;
mod time;
mod tls;

pub use background::BackgroundEmulator;
pub use emulator::{Emulator, EmulatorBuilder, EmulatorHandle, RunningEmulator};
pub use error::Error;
