//! Browser login as the service does it: the OAuth 2.0 device authorization grant (RFC 8628)
//! for the public client `baseten-cli`, access tokens accepted as `Bearer`, refresh with
//! rotation, and revocation on logout.
//!
//! Like keys, codes and tokens are kept only as SHA-256 hashes. They live in memory only: a
//! restart logs every browser session out, as a rotated signing key would.
//!
//! A pending login is approved or denied through `POST /_emulator/device/approve` and `/deny`
//! with its `user_code` (what the user would do in the browser), or at once with
//! `--auto-approve`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::state::{SecretHash, hash_secret, random_alphanumeric};

/// The one client the service knows.
pub(crate) const CLIENT_ID: &str = "baseten-cli";
/// The grant type of a device-code poll.
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long a device code may wait for approval.
const DEVICE_CODE_TTL: Duration = Duration::from_secs(600);
/// Access tokens live this long unless `--token-ttl` says otherwise.
pub(crate) const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// Seconds between polls the service asks for unless `--device-interval` says otherwise.
pub(crate) const DEFAULT_INTERVAL: u64 = 5;
/// Length of generated device codes and tokens.
const TOKEN_LEN: usize = 43;

/// How the flow behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OAuthSettings {
    pub(crate) auto_approve: bool,
    pub(crate) token_ttl: Duration,
    pub(crate) interval: u64,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            auto_approve: false,
            token_ttl: DEFAULT_TOKEN_TTL,
            interval: DEFAULT_INTERVAL,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approval {
    Pending,
    Approved,
    Denied,
}

#[derive(Debug)]
struct DeviceLogin {
    user_code: String,
    expires_at: Instant,
    approval: Approval,
}

/// One login's tokens: every refresh replaces both, under the same session.
#[derive(Debug)]
struct AccessToken {
    session: u64,
    expires_at: Instant,
}

/// Pending logins, live tokens and what happened to them.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    settings: OAuthSettings,
    devices: HashMap<SecretHash, DeviceLogin>,
    access_tokens: HashMap<SecretHash, AccessToken>,
    /// Live refresh tokens and their session; a used one is removed, so using it again fails.
    refresh_tokens: HashMap<SecretHash, u64>,
    /// Refresh tokens already used once, kept to tell "spent" from "unknown" in the answer.
    spent_refresh_tokens: HashMap<SecretHash, u64>,
    next_session: u64,
    refreshes: u64,
    refused_refreshes: u64,
    logins: u64,
    revocations: u64,
}

/// What a token endpoint answers: tokens, or an OAuth error (`error` and a description).
#[derive(Debug, PartialEq)]
pub(crate) enum TokenAnswer {
    Tokens(Value),
    Error {
        error: &'static str,
        description: String,
    },
}

fn oauth_error(error: &'static str, description: impl Into<String>) -> TokenAnswer {
    TokenAnswer::Error {
        error,
        description: description.into(),
    }
}

impl OAuth {
    pub(crate) fn new(settings: OAuthSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// Starts a login: the answer of `/v1/users/auth/device/authorize`.
    pub(crate) fn authorize(&mut self, base_url: &str) -> Value {
        let device_code = random_alphanumeric(TOKEN_LEN);
        let user_code = loop {
            let letters = random_alphanumeric(8).to_ascii_uppercase();
            let candidate = format!("{}-{}", &letters[..4], &letters[4..]);
            if !self
                .devices
                .values()
                .any(|device| device.user_code == candidate)
            {
                break candidate;
            }
        };
        let approval = if self.settings.auto_approve {
            Approval::Approved
        } else {
            Approval::Pending
        };
        self.devices.insert(
            hash_secret(&device_code),
            DeviceLogin {
                user_code: user_code.clone(),
                expires_at: Instant::now() + DEVICE_CODE_TTL,
                approval,
            },
        );
        json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": format!("{base_url}/device"),
            "verification_uri_complete": format!("{base_url}/device?user_code={user_code}"),
            "expires_in": DEVICE_CODE_TTL.as_secs(),
            "interval": self.settings.interval,
        })
    }

    /// Approves or denies the pending login with this user code; whether there was one.
    pub(crate) fn decide(&mut self, user_code: &str, approve: bool) -> bool {
        let now = Instant::now();
        match self.devices.values_mut().find(|device| {
            device.user_code.eq_ignore_ascii_case(user_code.trim())
                && device.approval == Approval::Pending
                && device.expires_at > now
        }) {
            Some(device) => {
                device.approval = if approve {
                    Approval::Approved
                } else {
                    Approval::Denied
                };
                true
            }
            None => false,
        }
    }

    /// One poll of `/v1/users/auth/device/token` with a device code.
    pub(crate) fn poll(&mut self, device_code: &str) -> TokenAnswer {
        let hash = hash_secret(device_code);
        let Some(device) = self.devices.get(&hash) else {
            return oauth_error("invalid_grant", "unknown or already used device code");
        };
        if device.expires_at <= Instant::now() {
            self.devices.remove(&hash);
            return oauth_error("expired_token", "the device code has expired");
        }
        match device.approval {
            Approval::Pending => {
                oauth_error("authorization_pending", "the login is not approved yet")
            }
            Approval::Denied => {
                self.devices.remove(&hash);
                oauth_error("access_denied", "the login was denied")
            }
            Approval::Approved => {
                self.devices.remove(&hash);
                self.logins += 1;
                self.next_session += 1;
                let session = self.next_session;
                TokenAnswer::Tokens(self.issue(session))
            }
        }
    }

    /// A refresh with `refresh_token`: new tokens, the old refresh token spent.
    pub(crate) fn refresh(&mut self, refresh_token: &str) -> TokenAnswer {
        let hash = hash_secret(refresh_token);
        let Some(session) = self.refresh_tokens.remove(&hash) else {
            self.refused_refreshes += 1;
            return if self.spent_refresh_tokens.contains_key(&hash) {
                oauth_error("invalid_grant", "the refresh token was already used")
            } else {
                oauth_error("invalid_grant", "unknown or revoked refresh token")
            };
        };
        self.spent_refresh_tokens.insert(hash, session);
        self.refreshes += 1;
        TokenAnswer::Tokens(self.issue(session))
    }

    fn issue(&mut self, session: u64) -> Value {
        let access_token = random_alphanumeric(TOKEN_LEN);
        let refresh_token = random_alphanumeric(TOKEN_LEN);
        self.access_tokens.insert(
            hash_secret(&access_token),
            AccessToken {
                session,
                expires_at: Instant::now() + self.settings.token_ttl,
            },
        );
        self.refresh_tokens
            .insert(hash_secret(&refresh_token), session);
        json!({
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": self.settings.token_ttl.as_secs(),
        })
    }

    /// Whether `token` is a live access token.
    pub(crate) fn access_token_is_live(&self, token: &str) -> bool {
        self.access_tokens
            .get(&hash_secret(token))
            .is_some_and(|access| access.expires_at > Instant::now())
    }

    /// Ends the session of a live access token: its access and refresh tokens stop working.
    /// Whether it was live.
    pub(crate) fn revoke(&mut self, token: &str) -> bool {
        let Some(session) = self
            .access_tokens
            .get(&hash_secret(token))
            .filter(|access| access.expires_at > Instant::now())
            .map(|access| access.session)
        else {
            return false;
        };
        self.access_tokens
            .retain(|_, access| access.session != session);
        self.refresh_tokens.retain(|_, owner| *owner != session);
        self.revocations += 1;
        true
    }

    /// Makes every access token expire now, as if time had passed; refresh tokens still work.
    pub(crate) fn expire_access_tokens(&mut self) -> usize {
        let now = Instant::now();
        for access in self.access_tokens.values_mut() {
            access.expires_at = now;
        }
        self.access_tokens.len()
    }

    /// Ends every session: access and refresh tokens alike stop working.
    pub(crate) fn revoke_all(&mut self) {
        self.access_tokens.clear();
        self.refresh_tokens.clear();
    }

    /// What `GET /_emulator/oauth` shows: counters, and the user codes waiting for approval.
    pub(crate) fn summary(&self) -> Value {
        let now = Instant::now();
        let mut pending: Vec<&str> = self
            .devices
            .values()
            .filter(|device| device.approval == Approval::Pending && device.expires_at > now)
            .map(|device| device.user_code.as_str())
            .collect();
        pending.sort_unstable();
        json!({
            "logins": self.logins,
            "refreshes": self.refreshes,
            "refused_refreshes": self.refused_refreshes,
            "revocations": self.revocations,
            "live_access_tokens": self
                .access_tokens
                .values()
                .filter(|access| access.expires_at > now)
                .count(),
            "pending_user_codes": pending,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn tokens(answer: TokenAnswer) -> (String, String) {
        match answer {
            TokenAnswer::Tokens(value) => (
                value["access_token"].as_str().unwrap().to_owned(),
                value["refresh_token"].as_str().unwrap().to_owned(),
            ),
            TokenAnswer::Error { error, .. } => panic!("refused: {error}"),
        }
    }

    fn error(answer: TokenAnswer) -> &'static str {
        match answer {
            TokenAnswer::Error { error, .. } => error,
            TokenAnswer::Tokens(_) => panic!("tokens where an error was expected"),
        }
    }

    #[test]
    fn a_login_waits_for_approval_and_gives_tokens_once() {
        let mut oauth = OAuth::new(OAuthSettings::default());
        let started = oauth.authorize("http://127.0.0.1:1");
        let device_code = started["device_code"].as_str().unwrap().to_owned();
        let user_code = started["user_code"].as_str().unwrap().to_owned();
        assert_eq!(error(oauth.poll(&device_code)), "authorization_pending");
        assert!(oauth.decide(&user_code, true));
        let (access, _) = tokens(oauth.poll(&device_code));
        assert!(oauth.access_token_is_live(&access));
        assert_eq!(error(oauth.poll(&device_code)), "invalid_grant");
    }

    #[test]
    fn a_denied_login_is_access_denied() {
        let mut oauth = OAuth::new(OAuthSettings::default());
        let started = oauth.authorize("http://127.0.0.1:1");
        assert!(oauth.decide(started["user_code"].as_str().unwrap(), false));
        assert_eq!(
            error(oauth.poll(started["device_code"].as_str().unwrap())),
            "access_denied"
        );
    }

    #[test]
    fn refresh_rotates_and_a_spent_refresh_token_is_refused() {
        let mut oauth = OAuth::new(OAuthSettings {
            auto_approve: true,
            ..OAuthSettings::default()
        });
        let started = oauth.authorize("http://127.0.0.1:1");
        let (_, refresh) = tokens(oauth.poll(started["device_code"].as_str().unwrap()));
        let (access, next_refresh) = tokens(oauth.refresh(&refresh));
        assert_ne!(refresh, next_refresh);
        assert_eq!(error(oauth.refresh(&refresh)), "invalid_grant");
        assert!(oauth.revoke(&access));
        assert!(!oauth.access_token_is_live(&access));
        assert_eq!(error(oauth.refresh(&next_refresh)), "invalid_grant");
        assert_eq!(oauth.summary()["refreshes"], 1);
    }
}
