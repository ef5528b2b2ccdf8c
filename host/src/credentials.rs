//! Which credential a request uses, resolved only when a command makes its first request.
//!
//! Precedence (SPEC §2): `--profile` > `BASETEN_API_KEY` > `BASETEN_PROFILE` > the current
//! profile. The API base comes with the credential (its remote), unless
//! `BASETEN_MANAGEMENT_API_URL_OVERRIDE` says otherwise.

use std::fmt;

use reqwest::Url;

use baseten_plugin_api::ErrorKind;

use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;
use crate::profiles::ProfileStore;
use crate::remote::{self, DEFAULT_REMOTE_URL};

/// A resolved credential and where requests go.
pub struct Credential {
    /// The API key. Never printed: `Debug` hides it.
    pub api_key: String,
    /// Where it came from, for `-v` and `auth status`.
    pub source: CredentialSource,
    /// The management API base requests go to.
    pub api_base: Url,
}

impl fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Credential")
            .field("api_key", &"<redacted>")
            .field("source", &self.source)
            .field("api_base", &self.api_base.as_str())
            .finish()
    }
}

/// Where a credential came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `BASETEN_API_KEY`.
    Environment,
    /// A stored profile, named.
    Profile(String),
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => write!(formatter, "{}", env_vars::API_KEY),
            Self::Profile(name) => write!(formatter, "profile `{name}`"),
        }
    }
}

/// Picks the credential by the SPEC's precedence.
pub fn resolve(context: &Context, profile_flag: Option<&str>) -> Result<Credential, CliError> {
    let credential = if let Some(name) = profile_flag {
        from_profile(context, name)?
    } else if let Some(api_key) = context.var(env_vars::API_KEY) {
        let remote_url = context
            .var(env_vars::REMOTE_URL)
            .unwrap_or_else(|| DEFAULT_REMOTE_URL.to_owned());
        let api_base = remote::api_base_for_remote(&remote_url)?;
        Credential {
            api_key: api_key.trim().to_owned(),
            source: CredentialSource::Environment,
            api_base,
        }
    } else if let Some(name) = context.var(env_vars::PROFILE) {
        from_profile(context, &name)?
    } else {
        let store = ProfileStore::open(context)?;
        match store.current()? {
            Some(name) => from_profile_in(&store, &name)?,
            None => return Err(not_logged_in()),
        }
    };
    match context.var(env_vars::MANAGEMENT_API_URL_OVERRIDE) {
        Some(base) => Ok(Credential {
            api_base: remote::api_base_override(&base)?,
            ..credential
        }),
        None => Ok(credential),
    }
}

fn from_profile(context: &Context, name: &str) -> Result<Credential, CliError> {
    from_profile_in(&ProfileStore::open(context)?, name)
}

fn from_profile_in(store: &ProfileStore, name: &str) -> Result<Credential, CliError> {
    let profile = store.profile(name)?.ok_or_else(|| {
        CliError::new(ErrorKind::Auth, format!("unknown profile `{name}`")).with_hint(
            "list profiles with `baseten auth list`, or log in with `baseten auth login`",
        )
    })?;
    let api_key = store.secret(name, &profile)?;
    let remote_url = profile
        .remote_url
        .clone()
        .unwrap_or_else(|| DEFAULT_REMOTE_URL.to_owned());
    let api_base = remote::api_base_for_remote(&remote_url)?;
    Ok(Credential {
        api_key,
        source: CredentialSource::Profile(name.to_owned()),
        api_base,
    })
}

/// The error for no credential at all.
pub fn not_logged_in() -> CliError {
    CliError::new(ErrorKind::Auth, "not logged in")
        .with_hint("run `baseten auth login` or set BASETEN_API_KEY")
}
