//! Which credential a request uses, resolved only when a command makes its first request.
//!
//! Precedence (README, "Profiles and authentication"): `--profile` > `BASETEN_API_KEY` >
//! `BASETEN_PROFILE` > the current profile. The API base comes with the credential (its remote),
//! unless `BASETEN_MANAGEMENT_API_URL_OVERRIDE` says otherwise.

use std::fmt;

use reqwest::Url;

use baseten_plugin_api::ErrorKind;

use crate::context::Context;
use crate::env_vars;
use crate::error::CliError;
use crate::oauth::OAuthToken;
use crate::profiles::{AUTH_TYPE_API_KEY, ProfileStore};
use crate::remote::{self, DEFAULT_REMOTE_URL};

/// A resolved credential and where requests go.
pub struct Credential {
    /// The API key, or an OAuth profile's access token. Never printed: `Debug` hides it.
    pub api_key: String,
    /// An OAuth profile's tokens (sent as `Bearer`); `None` for an API key.
    pub oauth: Option<OAuthToken>,
    /// Where it came from, for `-v` and `auth status`.
    pub source: CredentialSource,
    /// The remote the key belongs to (what the user logged in to).
    pub remote_url: String,
    /// The kind of credential, as `auth.json` names it (`api_key`).
    pub auth_type: String,
    /// Where the secret is kept.
    pub storage: SecretStorage,
    /// The management API base requests go to.
    pub api_base: Url,
}

impl fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Credential")
            .field("api_key", &"<redacted>")
            .field("oauth", &self.oauth)
            .field("source", &self.source)
            .field("remote_url", &self.remote_url)
            .field("auth_type", &self.auth_type)
            .field("storage", &self.storage)
            .field("api_base", &self.api_base.as_str())
            .finish()
    }
}

/// Where a credential came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `BASETEN_API_KEY`.
    Environment,
    /// A stored profile, and what picked it.
    Profile {
        name: String,
        chosen_by: ProfileChoice,
    },
    /// The key `auth login` is checking, before it is stored.
    Login,
}

/// What picked the profile in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileChoice {
    /// `--profile`.
    Flag,
    /// `BASETEN_PROFILE`.
    Environment,
    /// The current profile of `auth.json`.
    Current,
}

impl ProfileChoice {
    /// A stable name, for JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flag => "--profile",
            Self::Environment => env_vars::PROFILE,
            Self::Current => "current",
        }
    }

    /// How `auth status` says it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Flag => "from --profile",
            Self::Environment => "from BASETEN_PROFILE",
            Self::Current => "the current profile",
        }
    }
}

/// Where a secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStorage {
    /// `BASETEN_API_KEY`: nowhere on disk.
    Environment,
    /// The system keyring.
    Keyring,
    /// Inline in `auth.json`, in plain text.
    File,
    /// Not stored yet: the key `auth login` is checking.
    Unsaved,
}

impl SecretStorage {
    /// A stable name, for JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::Keyring => "keyring",
            Self::File => "file",
            Self::Unsaved => "unsaved",
        }
    }
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => write!(formatter, "{}", env_vars::API_KEY),
            Self::Profile { name, .. } => write!(formatter, "profile `{name}`"),
            Self::Login => write!(formatter, "the key given to `auth login`"),
        }
    }
}

/// Picks the credential by that precedence.
pub fn resolve(context: &Context, profile_flag: Option<&str>) -> Result<Credential, CliError> {
    let credential = if let Some(name) = profile_flag {
        from_profile(&ProfileStore::open(context)?, name, ProfileChoice::Flag)?
    } else if let Some(api_key) = context.var(env_vars::API_KEY)? {
        let remote_url = context
            .var(env_vars::REMOTE_URL)?
            .unwrap_or_else(|| DEFAULT_REMOTE_URL.to_owned());
        let api_base = remote::api_base_for_remote(&remote_url)?;
        Credential {
            api_key: api_key.trim().to_owned(),
            oauth: None,
            source: CredentialSource::Environment,
            remote_url,
            auth_type: AUTH_TYPE_API_KEY.to_owned(),
            storage: SecretStorage::Environment,
            api_base,
        }
    } else if let Some(name) = context.var(env_vars::PROFILE)? {
        from_profile(
            &ProfileStore::open(context)?,
            &name,
            ProfileChoice::Environment,
        )?
    } else {
        let store = ProfileStore::open(context)?;
        match store.current() {
            Some(name) => from_profile(&store, &name, ProfileChoice::Current)?,
            None => return Err(not_logged_in()),
        }
    };
    // Whatever uses it, from now on the key is scrubbed wherever it would be printed.
    crate::secrets::register(&credential.api_key);
    if let Some(token) = &credential.oauth {
        crate::secrets::register(&token.refresh_token);
    }
    match context.var(env_vars::MANAGEMENT_API_URL_OVERRIDE)? {
        Some(base) => Ok(Credential {
            api_base: remote::api_base_override(&base)?,
            ..credential
        }),
        None => Ok(credential),
    }
}

fn from_profile(
    store: &ProfileStore,
    name: &str,
    chosen_by: ProfileChoice,
) -> Result<Credential, CliError> {
    let profile = store.profile(name).ok_or_else(|| unknown_profile(name))?;
    let remote_url = profile
        .remote_url
        .clone()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_REMOTE_URL.to_owned());
    // A bad remote is reported before the keyring is asked for anything.
    let api_base = remote::api_base_for_remote(&remote_url)?;
    let (api_key, oauth, storage) = if profile.is_oauth() {
        let (token, storage) = store.oauth_token(name, &profile)?;
        (token.access_token.clone(), Some(token), storage)
    } else {
        let (api_key, storage) = store.secret(name, &profile)?;
        (api_key, None, storage)
    };
    Ok(Credential {
        api_key,
        oauth,
        source: CredentialSource::Profile {
            name: name.to_owned(),
            chosen_by,
        },
        remote_url,
        auth_type: profile
            .auth_type
            .clone()
            .unwrap_or_else(|| AUTH_TYPE_API_KEY.to_owned()),
        storage,
        api_base,
    })
}

/// The error for a profile name that `auth.json` does not hold.
pub fn unknown_profile(name: &str) -> CliError {
    CliError::new(ErrorKind::Auth, format!("unknown profile `{name}`"))
        .with_hint("list profiles with `baseten auth list`, or log in with `baseten auth login`")
}

/// The error for no credential at all.
pub fn not_logged_in() -> CliError {
    CliError::new(ErrorKind::Auth, "not logged in")
        .with_hint("run `baseten auth login` or set BASETEN_API_KEY")
}
