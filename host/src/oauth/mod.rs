//! Browser login and OAuth profiles, wire-compatible with the reference tool: the device
//! authorization grant (RFC 8628) for the public client `baseten-cli` against the management
//! API, token refresh on the same token URL, and the [`Session`] that renews an OAuth profile's
//! access token for [`ApiClient`].
//!
//! Renewal happens under the profile store's lock, after reading the stored tokens again: with
//! refresh-token rotation, two commands renewing at once would otherwise both send the same
//! refresh token, and the second (spent) one would log the profile out. The second command finds
//! the first one's new tokens instead and uses them.

mod token;

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use baseten_plugin_api::ErrorKind;
use baseten_plugin_api::protocol::HttpResponse;

use crate::context::Context;
use crate::credentials::{Credential, CredentialSource, SecretStorage};
use crate::error::CliError;
use crate::http::ApiClient;
use crate::log::Logger;
use crate::profiles::{ProfileStore, read_oauth_token};

pub use token::{OAuthToken, format_rfc3339, now};

/// The public client the service knows the CLI as; it has no secret.
pub const CLIENT_ID: &str = "baseten-cli";
/// Where a browser login starts.
pub const AUTHORIZE_PATH: &str = "/v1/users/auth/device/authorize";
/// Where a browser login is polled and tokens are renewed.
pub const TOKEN_PATH: &str = "/v1/users/auth/device/token";
/// Where an OAuth session is ended.
pub const LOGOUT_PATH: &str = "/v1/users/auth/logout";
/// The grant type of a device-code poll.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Seconds between polls when the service names no interval (or 0).
pub const DEFAULT_INTERVAL: u64 = 5;
/// What `slow_down` adds to the interval.
pub const SLOW_DOWN_STEP: u64 = 5;
/// An access token expiring within this many seconds is renewed before a request.
pub const RENEW_MARGIN: i64 = 60;
/// What to do when a browser login has ended.
pub const LOGIN_AGAIN: &str = "run `baseten auth login --web`";

/// A started browser login: what the user is shown, and what the tool polls with.
pub struct DeviceLogin {
    /// A secret: registered for scrubbing, redacted in logs.
    pub device_code: String,
    pub user_code: String,
    /// Where to go: `verification_uri_complete` when given (the code filled in), else
    /// `verification_uri`.
    pub verification_uri: String,
    /// Seconds the login may wait for approval.
    pub expires_in: u64,
    /// Seconds between polls.
    pub interval: u64,
}

/// What one poll says.
pub enum Poll {
    /// Not approved yet: poll again after the interval.
    Pending,
    /// Polling too fast: add [`SLOW_DOWN_STEP`] to the interval.
    SlowDown,
    /// Approved: the tokens.
    Approved(OAuthToken),
}

/// Starts a browser login (`POST /v1/users/auth/device/authorize`).
pub fn start_device_login(client: &ApiClient, logger: &Logger) -> Result<DeviceLogin, CliError> {
    let context = "could not start the browser login";
    let response = client
        .post_form(AUTHORIZE_PATH, &[("client_id", CLIENT_ID)], logger)
        .map_err(|error| in_context(context, error.into()))?;
    let no_browser_login = "check the remote (`--remote-url`), or log in with an API key: \
                            `baseten auth login --with-api-key --profile NAME`";
    if !(200..300).contains(&response.status) {
        return Err(or_hint(
            in_context(context, endpoint_error(&response)),
            no_browser_login,
        ));
    }
    parse_device_login(&response.body)
        .map_err(|why| CliError::failure(format!("{context}: {why}")).with_hint(no_browser_login))
}

/// The answer of the authorize endpoint: `verification_uri_complete` preferred, else
/// `verification_uri` or `verification_url`; an interval missing or 0 is [`DEFAULT_INTERVAL`].
fn parse_device_login(text: &str) -> Result<DeviceLogin, String> {
    let body: Value =
        serde_json::from_str(text).map_err(|_| "the answer is not JSON".to_owned())?;
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let missing = |name: &str| format!("the answer has no `{name}`");
    let device_code = text("device_code").ok_or_else(|| missing("device_code"))?;
    crate::secrets::register(&device_code);
    let user_code = text("user_code").ok_or_else(|| missing("user_code"))?;
    let verification_uri = text("verification_uri_complete")
        .or_else(|| text("verification_uri"))
        .or_else(|| text("verification_url"))
        .ok_or_else(|| missing("verification_uri"))?;
    let number = |name: &str| body.get(name).and_then(Value::as_u64).unwrap_or(0);
    let interval = match number("interval") {
        0 => DEFAULT_INTERVAL,
        interval => interval,
    };
    Ok(DeviceLogin {
        device_code,
        user_code,
        verification_uri: crate::sanitize::printable(&verification_uri),
        expires_in: number("expires_in"),
        interval,
    })
}

/// One poll of a browser login (`POST /v1/users/auth/device/token`).
pub fn poll_device_login(
    client: &ApiClient,
    logger: &Logger,
    device_code: &str,
) -> Result<Poll, CliError> {
    let response = client
        .post_form(
            TOKEN_PATH,
            &[
                ("client_id", CLIENT_ID),
                ("device_code", device_code),
                ("grant_type", DEVICE_GRANT),
            ],
            logger,
        )
        .map_err(|error| {
            // A poll changes nothing that matters: whatever the transport said, logging in again
            // is the way on.
            in_context("could not finish the browser login", error.into()).with_hint(
                "check the network and run `baseten auth login --web` again; nothing was stored",
            )
        })?;
    if (200..300).contains(&response.status) {
        return parse_tokens(&response, None)
            .map(Poll::Approved)
            .map_err(|error| {
                in_context("could not finish the browser login", error)
                    .with_hint("run `baseten auth login --web` again; nothing was stored")
            });
    }
    match client_error(&response) {
        Some((code, _)) if code == "authorization_pending" => Ok(Poll::Pending),
        Some((code, _)) if code == "slow_down" => Ok(Poll::SlowDown),
        Some((code, _)) if code == "access_denied" => Err(CliError::new(
            ErrorKind::Auth,
            "the browser login was denied; nothing was stored",
        )
        .with_hint("run `baseten auth login --web` again and approve it in the browser")),
        Some((code, _)) if code == "expired_token" => Err(expired_login()),
        Some((code, description)) => Err(CliError::new(
            ErrorKind::Auth,
            format!(
                "the browser login failed: the server answered `{code}`{description}; nothing \
                 was stored"
            ),
        )),
        None => Err(or_hint(
            in_context(
                "could not finish the browser login",
                endpoint_error(&response),
            ),
            "run `baseten auth login --web` again; nothing was stored",
        )),
    }
}

/// The error for a browser login that was not approved in time.
pub fn expired_login() -> CliError {
    CliError::new(
        ErrorKind::Auth,
        "the browser login expired before it was approved; nothing was stored",
    )
    .with_hint("run `baseten auth login --web` again and approve it in the browser sooner")
}

/// Renews tokens with `refresh_token` (`grant_type=refresh_token` on the token URL). An answer
/// without a refresh token keeps this one.
pub fn refresh(
    client: &ApiClient,
    logger: &Logger,
    profile: &str,
    refresh_token: &str,
) -> Result<OAuthToken, CliError> {
    let response = client
        .post_form(
            TOKEN_PATH,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", CLIENT_ID),
            ],
            logger,
        )
        .map_err(|error| {
            in_context(
                &format!("could not renew the login of profile `{profile}`"),
                error.into(),
            )
        })?;
    if (200..300).contains(&response.status) {
        return parse_tokens(&response, Some(refresh_token)).map_err(|error| {
            in_context(
                &format!("could not renew the login of profile `{profile}`"),
                error,
            )
            .with_hint(format!("try again; if this keeps failing, {LOGIN_AGAIN}"))
        });
    }
    Err(match client_error(&response) {
        Some((code, description)) => CliError::new(
            ErrorKind::Auth,
            format!(
                "the login of profile `{profile}` has ended: the server refused to renew it \
                 (`{code}`{description})"
            ),
        )
        .with_hint(LOGIN_AGAIN),
        None => or_hint(
            in_context(
                &format!("could not renew the login of profile `{profile}`"),
                endpoint_error(&response),
            ),
            &format!("try again; if this keeps failing, {LOGIN_AGAIN}"),
        ),
    })
}

/// The tokens of a successful answer; `previous_refresh` is kept when none comes back.
fn parse_tokens(
    response: &HttpResponse,
    previous_refresh: Option<&str>,
) -> Result<OAuthToken, CliError> {
    let unreadable =
        |why: &str| CliError::failure(format!("the server's tokens cannot be read: {why}"));
    let body: Value =
        serde_json::from_str(&response.body).map_err(|_| unreadable("the answer is not JSON"))?;
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let access_token = text("access_token").ok_or_else(|| unreadable("no `access_token`"))?;
    if access_token.chars().any(char::is_control) {
        return Err(unreadable("the access token holds control characters"));
    }
    crate::secrets::register(&access_token);
    let refresh_token = text("refresh_token")
        .or_else(|| previous_refresh.map(str::to_owned))
        .unwrap_or_default();
    crate::secrets::register(&refresh_token);
    let expiry = body
        .get("expires_in")
        .and_then(Value::as_i64)
        .filter(|seconds| *seconds > 0)
        // Past year 9999 an expiry has no RFC 3339 form either tool could read back: a huge
        // `expires_in` would leave a profile nobody can use.
        .map(|seconds| now().saturating_add(seconds).min(token::LATEST_EXPIRY));
    Ok(OAuthToken {
        access_token,
        refresh_token,
        expiry,
    })
}

/// The `error` of an OAuth error answer, and its description (`: …`, printable, cut short).
fn oauth_error(response: &HttpResponse) -> Option<(String, String)> {
    let body: Value = serde_json::from_str(&response.body).ok()?;
    let code = body.get("error")?.as_str()?;
    let code = crate::sanitize::cut(&crate::sanitize::printable(code), 80);
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        // Scrubbed before it is cut: a secret cut in two would no longer be recognised.
        .map(|text| crate::sanitize::cut(&crate::secrets::scrub(text), 200))
        .filter(|text| !text.is_empty())
        .map(|text| format!(": {text}"))
        .unwrap_or_default();
    Some((code, description))
}

/// The OAuth error of a 4xx answer. A 5xx is the server's trouble whatever its body says: it
/// neither ends a login nor refuses it, and exits as any 5xx does.
fn client_error(response: &HttpResponse) -> Option<(String, String)> {
    (400..500)
        .contains(&response.status)
        .then(|| oauth_error(response))
        .flatten()
}

/// A non-2xx answer of an OAuth endpoint that is no OAuth error.
fn endpoint_error(response: &HttpResponse) -> CliError {
    crate::http_errors::classify(response.status, &response.body)
}

/// `error`, with `hint` when it has none of its own (a 5xx keeps "try again later").
fn or_hint(error: CliError, hint: &str) -> CliError {
    if error.hint.is_some() {
        error
    } else {
        error.with_hint(hint)
    }
}

fn in_context(what: &str, error: CliError) -> CliError {
    CliError {
        message: format!("{what}: {}", error.message),
        ..error
    }
}

/// An OAuth profile's tokens as a command uses them, and their renewal (see the module
/// documentation).
pub struct Session {
    profile: String,
    remote_url: String,
    store: Mutex<ProfileStore>,
    token: Mutex<OAuthToken>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Session {
    /// The session of a stored OAuth profile's credential; `None` for an API key, or tokens
    /// that belong to no profile yet (a login checking them).
    pub fn for_credential(
        context: &Context,
        credential: &Credential,
    ) -> Result<Option<Self>, CliError> {
        let (Some(token), CredentialSource::Profile { name, .. }) =
            (&credential.oauth, &credential.source)
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            profile: name.clone(),
            remote_url: credential.remote_url.clone(),
            store: Mutex::new(ProfileStore::open(context)?),
            token: Mutex::new(token.clone()),
        }))
    }

    /// Renews the access token when it expires within [`RENEW_MARGIN`]; the new one, if so.
    pub fn renew_if_expiring(
        &self,
        client: &ApiClient,
        logger: &Logger,
    ) -> Result<Option<String>, CliError> {
        let left = lock(&self.token).seconds_left(now());
        match left {
            Some(left) if left <= RENEW_MARGIN => {
                logger.info(&format!(
                    "* the access token of profile `{}` {}; renewing it",
                    self.profile,
                    if left <= 0 {
                        "has expired".to_owned()
                    } else {
                        format!("expires in {left} s")
                    }
                ));
                self.renew(client, logger).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Renews the access token after the API refused it (401); the new one.
    pub fn renew_after_refusal(
        &self,
        client: &ApiClient,
        logger: &Logger,
    ) -> Result<String, CliError> {
        logger.info(&format!(
            "* the API refused the access token of profile `{}` (401); renewing it and sending \
             the request once more",
            self.profile
        ));
        self.renew(client, logger)
    }

    /// The error for a request refused again with a renewed token.
    pub fn refused_after_renewal(&self, response: &HttpResponse) -> CliError {
        CliError::new(
            ErrorKind::Auth,
            format!(
                "the API refused the login of profile `{}` even after renewing it: {}",
                self.profile,
                crate::http_errors::describe(response.status, &response.body)
            ),
        )
        .with_hint(LOGIN_AGAIN)
    }

    /// Under the store's lock: reads the stored tokens again, uses them if another command has
    /// renewed them meanwhile, else renews them with the newest refresh token and stores the
    /// result where the old ones were (keyring or `auth.json`).
    fn renew(&self, client: &ApiClient, logger: &Logger) -> Result<String, CliError> {
        // From the refresh request until the new tokens are saved, Ctrl-C waits: the server
        // spends the old refresh token when it reads the request. Not while waiting for the
        // lock, which may take as long as another command's renewal.
        let mut hold = None;
        let held = lock(&self.token).clone();
        let mut store = lock(&self.store);
        let keyring = store.keyring();
        let path = store.path().to_path_buf();
        let name = self.profile.as_str();
        // Another command renewing holds the lock over its refresh request: wait as long as
        // that may take, or a slow token endpoint would fail every command but one.
        let renewed = store.update_waiting(client.longest_exchange(), |document| {
            hold = Some(crate::interrupt::hold());
            let profile = document
                .profile(name)
                .filter(|profile| profile.is_oauth())
                .ok_or_else(|| {
                    CliError::new(
                        ErrorKind::Auth,
                        format!("profile `{name}` was logged out while this command ran"),
                    )
                    .with_hint(LOGIN_AGAIN)
                })?;
            let (stored, storage) = read_oauth_token(keyring, &path, name, &profile)?;
            crate::secrets::register(&stored.access_token);
            crate::secrets::register(&stored.refresh_token);
            if stored.access_token != held.access_token && !stored.expires_within(0, now()) {
                logger.info(&format!(
                    "* profile `{name}` was renewed by another command meanwhile; using its token"
                ));
                return Ok(stored);
            }
            if stored.refresh_token.is_empty() {
                return Err(CliError::new(
                    ErrorKind::Auth,
                    format!(
                        "the login of profile `{name}` has expired and holds no refresh token to \
                         renew it"
                    ),
                )
                .with_hint(LOGIN_AGAIN));
            }
            let fresh = refresh(client, logger, name, &stored.refresh_token)?;
            // Over what the keyring holds: fields of it this tool does not know are kept.
            let in_keyring = storage == SecretStorage::Keyring
                && match keyring.set(
                    name,
                    &fresh.to_json_over(keyring.get(name).ok().flatten().as_deref()),
                ) {
                    Ok(()) => true,
                    Err(why) => {
                        logger.info(&format!(
                            "* system keyring not used for the renewed tokens: {why}; they go to \
                             {}",
                            path.display()
                        ));
                        false
                    }
                };
            let remote_url = profile
                .remote_url
                .clone()
                .filter(|url| !url.trim().is_empty())
                .unwrap_or_else(|| self.remote_url.clone());
            document.put_oauth_profile(name, &remote_url, (!in_keyring).then_some(&fresh));
            logger.info(&format!("* renewed the login of profile `{name}`"));
            Ok(fresh)
        })?;
        drop(hold);
        let access_token = renewed.access_token.clone();
        *lock(&self.token) = renewed;
        Ok(access_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_answer_is_read_as_the_reference_tool_reads_it() {
        let login = parse_device_login(
            r#"{"device_code":"dc","user_code":"AB-CD","verification_url":"https://x/device","expires_in":600}"#,
        )
        .expect("reads");
        assert_eq!(login.verification_uri, "https://x/device");
        assert_eq!(login.interval, DEFAULT_INTERVAL);
        assert_eq!(login.expires_in, 600);
        let login = parse_device_login(
            r#"{"device_code":"dc","user_code":"AB-CD","verification_uri":"https://x/device",
                "verification_uri_complete":"https://x/device?user_code=AB-CD","interval":2}"#,
        )
        .expect("reads");
        assert_eq!(login.verification_uri, "https://x/device?user_code=AB-CD");
        assert_eq!(login.interval, 2);
        assert!(parse_device_login(r#"{"device_code":"dc","user_code":"u"}"#).is_err());
        assert!(parse_device_login("<html>").is_err());
    }

    #[test]
    fn a_refresh_answer_without_a_refresh_token_keeps_the_old_one() {
        let answer = |body: &str| HttpResponse {
            status: 200,
            body: body.to_owned(),
        };
        let token = parse_tokens(
            &answer(r#"{"access_token":"new-access","token_type":"Bearer","expires_in":60}"#),
            Some("old-refresh"),
        )
        .expect("reads");
        assert_eq!(token.refresh_token, "old-refresh");
        assert!(token.expires_within(60, now()));
        let token = parse_tokens(
            &answer(r#"{"access_token":"a","refresh_token":"r2","expires_in":0}"#),
            Some("old-refresh"),
        )
        .expect("reads");
        assert_eq!((token.refresh_token.as_str(), token.expiry), ("r2", None));
        assert!(parse_tokens(&answer(r#"{"refresh_token":"r"}"#), None).is_err());
    }
}
