//! What can stop the emulator from starting, or a control call from being accepted.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the emulator could not start, or why a fault was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bootstrap key is not `<8-char prefix>.<secret>`. The key itself is not repeated, as it
    /// is a secret.
    #[error("invalid bootstrap API key: {0}")]
    InvalidApiKey(String),
    /// The listen address could not be bound.
    #[error("cannot listen on `{addr}`: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        source: io::Error,
    },
    /// The state file exists but could not be read.
    #[error("cannot read state file `{}`: {source}", .path.display())]
    ReadState {
        /// The state file.
        path: PathBuf,
        /// Why reading failed.
        source: io::Error,
    },
    /// The state file is not a state file this emulator wrote; it is left as it is.
    #[error("state file `{}` is corrupt: {reason}", .path.display())]
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The state file could not be written.
    #[error("cannot write state file `{}`: {source}", .path.display())]
    WriteState {
        /// The state file.
        path: PathBuf,
        /// Why writing failed.
        source: io::Error,
    },
    /// The certificates or the TLS configuration for HTTPS could not be made.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// The CA certificate could not be written where it was asked for.
    #[error("cannot write the CA certificate to `{}`: {source}", .path.display())]
    WriteCaCertificate {
        /// The file asked for.
        path: PathBuf,
        /// Why writing failed.
        source: io::Error,
    },
    /// The background thread or its runtime could not be started.
    #[error("cannot start the emulator thread: {0}")]
    Thread(#[source] io::Error),
    /// The background thread ended before the server was ready.
    #[error("the emulator thread stopped before the server was ready")]
    ThreadStopped,
    /// A fault description was refused.
    #[error("invalid fault: {0}")]
    InvalidFault(String),
}
