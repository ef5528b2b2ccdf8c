//! Stored profiles: `<config dir>/auth.json`, in the reference tool's format, so either tool
//! reads what the other wrote.
//!
//! ```json
//! {"version": 1, "current": "ci",
//!  "profiles": {"ci": {"remote_url": "https://app.baseten.co", "auth_type": "api_key"}}}
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use baseten_plugin_api::ErrorKind;

use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;

/// The file's name inside the config folder.
pub const AUTH_FILE: &str = "auth.json";

/// One profile as stored. Fields this tool does not know stay in the file untouched.
#[derive(Debug, Clone, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub remote_url: Option<String>,
    /// Present only when the secret could not go to the system keyring.
    #[serde(default)]
    pub api_key: Option<String>,
}

/// The profiles in the config folder, read once.
pub struct ProfileStore {
    path: PathBuf,
    document: Map<String, Value>,
}

impl ProfileStore {
    /// Reads `auth.json`; a missing file is an empty store, a corrupt one an error naming it.
    pub fn open(context: &Context) -> Result<Self, CliError> {
        let path = config_dir(context)?.join(AUTH_FILE);
        let document = match fs::read(&path) {
            Ok(bytes) => parse(&path, &bytes)?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Map::new(),
            Err(error) => {
                return Err(CliError::failure(format!(
                    "could not read `{}`: {error}",
                    path.display()
                )));
            }
        };
        Ok(Self { path, document })
    }

    /// The current profile's name, if any.
    pub fn current(&self) -> Result<Option<String>, CliError> {
        Ok(self
            .document
            .get("current")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .map(str::to_owned))
    }

    /// The profile named `name`, if stored.
    pub fn profile(&self, name: &str) -> Result<Option<Profile>, CliError> {
        let Some(value) = self
            .document
            .get("profiles")
            .and_then(|profiles| profiles.get(name))
        else {
            return Ok(None);
        };
        Profile::deserialize(value)
            .map(Some)
            .map_err(|error| self.corrupt(&error.to_string()))
    }

    /// The secret of a stored profile.
    pub fn secret(&self, name: &str, profile: &Profile) -> Result<String, CliError> {
        match &profile.api_key {
            Some(key) if !key.trim().is_empty() => Ok(key.trim().to_owned()),
            _ => Err(CliError::new(
                ErrorKind::Auth,
                format!("profile `{name}` has no stored API key"),
            )
            .with_hint(format!(
                "log in again with `baseten auth login --with-api-key --profile {name}`"
            ))),
        }
    }

    fn corrupt(&self, why: &str) -> CliError {
        corrupt(&self.path, why)
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Map<String, Value>, CliError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(document)) => {
            if let Some(profiles) = document.get("profiles")
                && !profiles.is_object()
            {
                return Err(corrupt(path, "`profiles` is not an object"));
            }
            Ok(document)
        }
        Ok(_) => Err(corrupt(path, "it is not a JSON object")),
        Err(error) => Err(corrupt(path, &error.to_string())),
    }
}

fn corrupt(path: &Path, why: &str) -> CliError {
    CliError::failure(format!("corrupt profile file `{}`: {why}", path.display()))
        .with_hint("fix or remove the file; it is left as it is")
}

/// `BASETEN_CONFIG_DIR`, else `$XDG_CONFIG_HOME/baseten`, else `~/.config/baseten`.
pub fn config_dir(context: &Context) -> Result<PathBuf, CliError> {
    if let Some(dir) = context.var_os(env_vars::CONFIG_DIR) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = context.var_os(env_vars::XDG_CONFIG_HOME) {
        return Ok(PathBuf::from(dir).join("baseten"));
    }
    match context.var_os(env_vars::HOME) {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("baseten")),
        None => Err(
            CliError::failure("cannot find the config folder: HOME is not set")
                .with_hint(format!("set {}", env_vars::CONFIG_DIR)),
        ),
    }
}
