//! The system keyring (Keychain, Windows Credential Manager, Secret Service over D-Bus), where
//! profile secrets live when it answers.
//!
//! Every call runs on a thread of its own and is given up on after [`TIMEOUT`]: a keyring that
//! hangs (a locked collection waiting for a prompt nobody sees, a D-Bus that never answers) must
//! never hang the tool. Entries are named as the reference tool names them: service
//! [`SERVICE`], account = the profile's name.

use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use crate::context::Context;
use crate::env_vars;

/// The keyring service of every profile secret.
pub const SERVICE: &str = "baseten-profile";

/// How long a keyring may take to answer before the tool goes on without it.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// The system keyring, or its absence when `BASETEN_NO_KEYRING` turns it off.
#[derive(Debug, Clone, Copy)]
pub struct SystemKeyring {
    enabled: bool,
}

/// Why the keyring could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// `BASETEN_NO_KEYRING` is set.
    Disabled,
    /// No answer within [`TIMEOUT`].
    TimedOut,
    /// The keyring answered with an error (none running, locked, refused).
    Failed(String),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled => write!(formatter, "{}=1 turns it off", env_vars::NO_KEYRING),
            Self::TimedOut => write!(
                formatter,
                "it did not answer within {} s",
                TIMEOUT.as_secs()
            ),
            Self::Failed(why) => write!(formatter, "{why}"),
        }
    }
}

impl SystemKeyring {
    /// The keyring, unless `BASETEN_NO_KEYRING` is set to anything but `0`.
    pub fn from_context(context: &Context) -> Self {
        Self {
            enabled: !context.switch(env_vars::NO_KEYRING),
        }
    }

    /// Stores `secret` for `profile`, replacing any earlier one.
    pub fn set(&self, profile: &str, secret: &str) -> Result<(), KeyringError> {
        let secret = secret.to_owned();
        self.call(profile, move |entry| entry.set_password(&secret))
    }

    /// The secret stored for `profile`, if any.
    pub fn get(&self, profile: &str) -> Result<Option<String>, KeyringError> {
        self.call(profile, |entry| match entry.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(error),
        })
    }

    /// Removes the secret stored for `profile`; whether there was one.
    pub fn delete(&self, profile: &str) -> Result<bool, KeyringError> {
        self.call(profile, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(error) => Err(error),
        })
    }

    /// Runs `operation` on the entry of `profile` on its own thread, waiting at most
    /// [`TIMEOUT`]. A thread still waiting after that is left behind; it ends with the process.
    fn call<T: Send + 'static>(
        &self,
        profile: &str,
        operation: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> Result<T, KeyringError> {
        if !self.enabled {
            return Err(KeyringError::Disabled);
        }
        let profile = profile.to_owned();
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("keyring".to_owned())
            .spawn(move || {
                let result = keyring::Entry::new(SERVICE, &profile).and_then(|entry| {
                    let result = operation(&entry);
                    drop(entry);
                    result
                });
                // The caller may have stopped waiting; then nobody needs the answer.
                let _ = sender.send(result.map_err(|error| describe(&error)));
            })
            .map_err(|error| KeyringError::Failed(format!("could not start a thread: {error}")))?;
        match receiver.recv_timeout(TIMEOUT) {
            Ok(result) => result.map_err(KeyringError::Failed),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(KeyringError::TimedOut),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(KeyringError::Failed(
                "the keyring stopped without an answer".to_owned(),
            )),
        }
    }
}

/// A keyring error on one line, starting lowercase like every message of the tool.
fn describe(error: &keyring::Error) -> String {
    // The error texts never hold the secret: stores report bytes only as "not valid UTF-8".
    let text = match error {
        keyring::Error::NoDefaultStore => match keyring::Entry::store_status() {
            Err(why) => format!("no system keyring is available: {why}"),
            Ok(()) => "no system keyring is available".to_owned(),
        },
        other => other.to_string(),
    };
    let text = text.split(['\n', '\r']).next().unwrap_or("").trim();
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => "the keyring failed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_keyring_turns_it_off_and_zero_leaves_it_on() {
        let off = SystemKeyring::from_context(&Context::for_tests(&[("BASETEN_NO_KEYRING", "1")]));
        assert_eq!(off.get("ci"), Err(KeyringError::Disabled));
        assert_eq!(off.delete("ci"), Err(KeyringError::Disabled));
        let on = SystemKeyring::from_context(&Context::for_tests(&[("BASETEN_NO_KEYRING", "0")]));
        assert!(on.enabled);
        assert!(SystemKeyring::from_context(&Context::for_tests(&[])).enabled);
    }
}
