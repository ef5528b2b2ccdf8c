//! `baseten auth login --with-api-key --profile NAME`: reads an API key from stdin, checks it
//! with the API, and stores it as a profile: the secret in the system keyring when one answers,
//! else inline in `auth.json` with a warning. A key the API rejects stores nothing.
//!
//! `baseten auth login --web`: the browser login (the OAuth device flow, `crate::oauth`): shows
//! a URL and a code, opens a browser unless told not to, waits for approval and stores the
//! tokens as an OAuth profile named after the account's e-mail, the same way. Ctrl-C while
//! waiting stores nothing.

use serde::Deserialize;
use serde_json::{Value, json};

use baseten_plugin_api::protocol::HttpRequest;
use baseten_plugin_api::sdk::decode;
use baseten_plugin_api::{CommandOutput, CommandSpec, ErrorKind, FlagSpec};

use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::commands::auth::required_profile;
use crate::commands::{BuiltIn, Declare, Request};
use crate::context::Context;
use crate::credentials::{Credential, CredentialSource, SecretStorage};
use crate::env_vars;
use crate::error::CliError;
use crate::http::ApiClient;
use crate::oauth::{self, OAuthToken, Poll};
use crate::profiles::{AUTH_TYPE_API_KEY, AUTH_TYPE_OAUTH, AuthDocument, ProfileStore};
use crate::remote::{self, DEFAULT_REMOTE_URL};
use crate::system_keyring::KeyringError;

/// What is said when the secret goes into `auth.json`.
pub const PLAIN_TEXT_WARNING: &str =
    "warning: could not store credentials in system keyring, storing in plain text";

/// The longest line read as a key: a key is tens of characters, anything longer is a mistake.
const MAX_KEY_LINE: u64 = 4096;

pub fn built_in() -> BuiltIn {
    CommandSpec::new(
        ["auth", "login"],
        "Log in through the browser, or check an API key, and store it as a profile",
    )
    .long_about(
        "With --web, log in through the browser: a URL and a verification code are shown (and \
             a browser opened, with $BROWSER if set, unless --no-browser), and once the login is \
             approved there its tokens are stored as an OAuth profile, named after the account's \
             e-mail unless --profile is given. With --with-api-key, read an API key from stdin (at \
             a terminal, a prompt that does not echo), check it with the API, and store it as the \
             profile named by --profile. Without either, a terminal asks which. The profile \
             becomes the current profile unless --no-switch is given. The secret is kept in the \
             system keyring when one answers within 3 s; otherwise, or with --insecure-storage, \
             in auth.json in plain text. A rejected key or a denied login stores nothing. Keys \
             are never taken from the command line.",
    )
    .flag(FlagSpec::switch(
        "web",
        "Log in through the browser (an OAuth profile)",
    ))
    .flag(FlagSpec::switch(
        "with-api-key",
        "Read an API key from stdin",
    ))
    .flag(FlagSpec::switch(
        "no-browser",
        "With --web, only print the URL and code; do not open a browser",
    ))
    .flag(
        FlagSpec::text(
            "remote-url",
            format!("The Baseten remote to log in to [default: {DEFAULT_REMOTE_URL}]"),
        )
        .value_name("URL"),
    )
    .flag(FlagSpec::switch(
        "no-switch",
        "Keep the current profile; do not switch to this one",
    ))
    .flag(FlagSpec::switch(
        "insecure-storage",
        "Store the key or tokens in auth.json in plain text, not in the system keyring",
    ))
    .at_most_one_of(["web", "with-api-key"])
    .example(
        "Log in through the browser (the profile is named after your e-mail)",
        "baseten auth login --web",
    )
    .example(
        "Log in at a terminal (the key is asked for, without echo)",
        "baseten auth login --with-api-key --profile work",
    )
    .example(
        "Log in from a file or a secret manager, keeping the current profile",
        "baseten auth login --with-api-key --profile ci --no-switch < key.txt",
    )
    .built_in(run)
}

/// `GET /v1/users/me`: who the key belongs to.
#[derive(Debug, Deserialize)]
struct User {
    user_id: Value,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    workspace_name: Option<String>,
}

impl User {
    /// The user in words: e-mail, else name, else ID.
    fn describe(&self) -> String {
        let present = |text: &Option<String>| text.clone().filter(|text| !text.trim().is_empty());
        present(&self.email)
            .or_else(|| present(&self.name))
            .unwrap_or_else(|| match &self.user_id {
                Value::String(id) => id.clone(),
                other => other.to_string(),
            })
    }
}

/// How to log in.
enum Method {
    Web,
    ApiKey,
}

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let method = if request.args.switch("web") {
        Method::Web
    } else if request.args.switch("with-api-key") {
        Method::ApiKey
    } else if request.context.can_prompt() {
        ask_method(request.context)?
    } else {
        return Err(
            CliError::usage("choose how to log in: `--web` or `--with-api-key`").with_hint(
                "run `baseten auth login --web` to log in through the browser, or `baseten auth \
                 login --with-api-key --profile NAME` with the key on stdin",
            ),
        );
    };
    match method {
        Method::Web => run_web(request),
        Method::ApiKey => run_api_key(request),
    }
}

/// At a terminal without `--web` or `--with-api-key`: asks which.
fn ask_method(context: &Context) -> Result<Method, CliError> {
    let terminal = context.terminal();
    let read_error =
        |error: std::io::Error| CliError::failure(format!("could not read the answer: {error}"));
    {
        let mut stderr = terminal.stderr();
        let _ = write!(
            stderr,
            "How do you want to log in?\n  1. through the browser\n  2. paste an API key\nChoose 1 or 2: "
        );
        let _ = stderr.flush();
    }
    let answer = terminal.read_line(MAX_KEY_LINE).map_err(read_error)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "1" | "web" | "browser" | "b" | "w" => Ok(Method::Web),
        "2" | "api-key" | "api key" | "key" | "k" | "a" => Ok(Method::ApiKey),
        _ => Err(CliError::usage("no way to log in was chosen").with_hint(
            "answer 1 or 2, or run `baseten auth login --web` or `baseten auth login \
                 --with-api-key --profile NAME`",
        )),
    }
}

/// `--profile`, checked to be a name that may be stored and shown.
fn check_profile_name(profile: &str) -> Result<(), CliError> {
    if profile.chars().any(char::is_control) {
        return Err(CliError::usage(
            "a profile name may not hold control characters",
        ));
    }
    // It would be stored in the clear, shown by `auth list` and typed in commands.
    if crate::secrets::holds_api_key(profile) {
        return Err(CliError::usage(
            "the profile name looks like an API key; the key is read from stdin, not --profile",
        )
        .with_hint("pick a name such as `work`, and pipe or paste the key when asked"));
    }
    Ok(())
}

/// The remote given (or the default, without a trailing `/`) and the API base it maps to.
fn remote_and_api_base(request: &Request<'_>) -> Result<(String, reqwest::Url), CliError> {
    let given_remote = request
        .args
        .text("remote-url")
        .map(|url| url.trim().to_owned())
        .unwrap_or_else(|| DEFAULT_REMOTE_URL.to_owned());
    let mut api_base = remote::api_base_for_remote(&given_remote)?;
    if let Some(base) = request.context.var(env_vars::MANAGEMENT_API_URL_OVERRIDE)? {
        api_base = remote::api_base_override(&base)?;
    }
    Ok((given_remote.trim_end_matches('/').to_owned(), api_base))
}

fn run_api_key(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let context = request.context;
    let profile = required_profile(
        request,
        "auth login",
        "baseten auth login --with-api-key --profile NAME",
    )?;
    check_profile_name(profile)?;
    let (remote_url, api_base) = remote_and_api_base(request)?;
    // A corrupt file is reported before the key is asked for.
    let mut store = ProfileStore::open(context)?;

    let api_key = read_api_key(context)?;
    request.logger.add_secret(&api_key);
    let credential = Credential {
        api_key: api_key.clone(),
        oauth: None,
        source: CredentialSource::Login,
        remote_url: remote_url.clone(),
        auth_type: AUTH_TYPE_API_KEY.to_owned(),
        storage: SecretStorage::Unsaved,
        api_base,
    };
    let user = check(request, credential, "the API key")?;
    let stored = store_secret(
        request,
        &mut store,
        profile,
        &api_key,
        |document, in_keyring| {
            document.put_profile(
                profile,
                &remote_url,
                (!in_keyring).then_some(api_key.as_str()),
            );
        },
        "its key",
    )?;
    Ok(logged_in(&store, profile, &user, stored, "the API key"))
}

/// Where a login's secret went: the keyring, or `auth.json` and why.
struct Stored {
    in_keyring: bool,
    plain_text_reason: Option<PlainText>,
}

/// Stores `secret` for `profile` in the keyring (unless `--insecure-storage`) and the profile in
/// `auth.json` through `put` (told whether the secret went to the keyring), under the file's lock.
fn store_secret(
    request: &Request<'_>,
    store: &mut ProfileStore,
    profile: &str,
    secret: &str,
    put: impl FnOnce(&mut AuthDocument, bool),
    what: &str,
) -> Result<Stored, CliError> {
    let insecure_storage = request.args.switch("insecure-storage");
    let no_switch = request.args.switch("no-switch");
    // The keyring is written only once `auth.json` is locked, read and known to be a version
    // this tool writes, and put back as it was if the file cannot be written after all: a key
    // never lands in the keyring for a profile the file does not name.
    let keyring = store.keyring();
    let mut keyring_before: Option<Option<String>> = None;
    let mut plain_text_reason = None;
    let stored = store.update(|document| {
        let in_keyring = if insecure_storage {
            plain_text_reason = Some(PlainText::Asked);
            false
        } else {
            match keyring
                .get(profile)
                .and_then(|before| keyring.set(profile, secret).map(|()| before))
            {
                Ok(before) => {
                    keyring_before = Some(before);
                    true
                }
                Err(why) => {
                    request
                        .logger
                        .info(&format!("* system keyring not used: {why}"));
                    plain_text_reason = Some(if why == KeyringError::Disabled {
                        PlainText::Asked
                    } else {
                        PlainText::KeyringFailed
                    });
                    false
                }
            }
        };
        put(document, in_keyring);
        if !no_switch {
            document.set_current(Some(profile));
        }
        Ok(in_keyring)
    });
    let in_keyring = match stored {
        Ok(in_keyring) => in_keyring,
        Err(error) => {
            if let Some(before) = keyring_before {
                let undone = match before {
                    Some(secret) => keyring.set(profile, &secret),
                    None => keyring.delete(profile).map(|_| ()),
                };
                if let Err(why) = undone {
                    request.logger.info(&format!(
                        "* could not take the new secret back out of the system keyring: {why}"
                    ));
                }
            }
            return Err(error);
        }
    };
    request.logger.info(&format!(
        "* profile `{profile}` stored in {}, {what} in {}",
        store.path().display(),
        if in_keyring {
            "the system keyring"
        } else {
            "that file"
        }
    ));
    Ok(Stored {
        in_keyring,
        plain_text_reason,
    })
}

/// What a login prints: `Logged in as …`, and a note or warning when the secret went to
/// `auth.json` (`what` names the secret).
fn logged_in(
    store: &ProfileStore,
    profile: &str,
    user: &User,
    stored: Stored,
    what: &str,
) -> CommandOutput {
    let workspace = user
        .workspace_name
        .as_deref()
        .filter(|workspace| !workspace.trim().is_empty())
        .map(|workspace| format!(" ({workspace})"))
        .unwrap_or_default();
    let line = format!(
        "Logged in as {}{workspace} as profile {profile}",
        user.describe()
    );
    let payload = json!({
        "profile": profile,
        "user_id": user.user_id,
        "email": user.email,
        "name": user.name,
        "workspace_name": user.workspace_name,
    });
    let output = CommandOutput::lines(payload, vec![line]);
    match stored.plain_text_reason {
        _ if stored.in_keyring => output,
        Some(PlainText::Asked) => output.notice(format!(
            "note: storing {what} in plain text in {}",
            store.path().display()
        )),
        _ => output.notice(PLAIN_TEXT_WARNING),
    }
}

/// Why a key went into `auth.json`.
enum PlainText {
    /// `--insecure-storage` or `BASETEN_NO_KEYRING=1`: the user chose it; said once, as a note.
    Asked,
    /// The keyring was wanted but did not work: a warning.
    KeyringFailed,
}

/// `GET /v1/users/me` with the candidate key (or tokens: `what` names them); a rejected one is
/// exit 3.
fn check(request: &Request<'_>, credential: Credential, what: &str) -> Result<User, CliError> {
    let hint = if credential.oauth.is_some() {
        "check the remote the login is for (`--remote-url`); nothing was stored"
    } else {
        "check the key and the remote it belongs to (`--remote-url`); nothing was stored"
    };
    request.logger.info(&format!(
        "* checking {what} with {}",
        credential.api_base.as_str().trim_end_matches('/')
    ));
    let client = ApiClient::new(request.context, credential)?;
    let me = HttpRequest {
        method: "GET".to_owned(),
        path: "/v1/users/me".to_owned(),
        query: Vec::new(),
        body: None,
    };
    let response = client
        .send(&me, request.logger, request.context.terminal())
        .map_err(|error| in_context(&format!("could not check {what}"), error.into()))?;
    if !(200..300).contains(&response.status) {
        let error = crate::http_errors::classify(response.status, &response.body);
        return Err(if error.kind == ErrorKind::Auth {
            CliError::new(
                ErrorKind::Auth,
                format!("{what} was rejected: {}", error.message),
            )
            .with_hint(hint)
        } else {
            in_context(&format!("could not check {what}"), error)
        });
    }
    let user: User = decode(&response.body)
        .map_err(|error| in_context(&format!("could not check {what}"), error.into()))?;
    Ok(user)
}

fn in_context(what: &str, error: CliError) -> CliError {
    CliError {
        message: format!("{what}: {}", error.message),
        ..error
    }
}

/// `--web`: the browser login (see the module documentation).
fn run_web(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let context = request.context;
    let logger = request.logger;
    let profile_flag = match request.profile {
        Some(name) if name.trim().is_empty() => {
            return Err(CliError::usage("`--profile` may not be empty"));
        }
        Some(name) => {
            check_profile_name(name)?;
            Some(name.to_owned())
        }
        None => None,
    };
    let (remote_url, api_base) = remote_and_api_base(request)?;
    // A corrupt file is reported before the login starts.
    let mut store = ProfileStore::open(context)?;

    // The device flow's own requests carry no credential: the form says who asks.
    let client = ApiClient::new(
        context,
        Credential {
            api_key: String::new(),
            oauth: None,
            source: CredentialSource::Login,
            remote_url: remote_url.clone(),
            auth_type: AUTH_TYPE_OAUTH.to_owned(),
            storage: SecretStorage::Unsaved,
            api_base: api_base.clone(),
        },
    )?;
    logger.info(&format!(
        "* starting a browser login with {}",
        api_base.as_str().trim_end_matches('/')
    ));
    let login = oauth::start_device_login(&client, logger)?;
    let opened = !request.args.switch("no-browser")
        && open_browser(context, &login.verification_uri, logger);
    {
        let mut stderr = context.terminal().stderr();
        let lead = if opened {
            "A browser was opened to log in. If it did not open, visit:"
        } else {
            "To log in, open this URL in a browser:"
        };
        // Nothing here is worth failing the login for: the code is what matters, and it is
        // written in the same breath.
        let _ = write!(
            stderr,
            "{lead}\n  {}\n\nVerification code: {}\n\nWaiting...\n",
            login.verification_uri,
            crate::sanitize::printable(&login.user_code)
        );
        let _ = stderr.flush();
    }
    let token = wait_for_approval(&client, logger, &login)?;

    let user = check(
        request,
        Credential {
            api_key: token.access_token.clone(),
            oauth: Some(token.clone()),
            source: CredentialSource::Login,
            remote_url: remote_url.clone(),
            auth_type: AUTH_TYPE_OAUTH.to_owned(),
            storage: SecretStorage::Unsaved,
            api_base,
        },
        "the new login",
    )?;
    let profile = match profile_flag {
        Some(name) => name,
        None => profile_name_for(&user, &remote_url)?,
    };
    let stored = store_secret(
        request,
        &mut store,
        &profile,
        &token.to_json(),
        |document, in_keyring| {
            document.put_oauth_profile(&profile, &remote_url, (!in_keyring).then_some(&token));
        },
        "its tokens",
    )?;
    Ok(logged_in(
        &store,
        &profile,
        &user,
        stored,
        "the login's tokens",
    ))
}

/// Polls every interval (the first poll after one) until the login is approved, refused or
/// expired.
fn wait_for_approval(
    client: &ApiClient,
    logger: &crate::log::Logger,
    login: &oauth::DeviceLogin,
) -> Result<OAuthToken, CliError> {
    // A deadline too far to count is none.
    let deadline = (login.expires_in > 0)
        .then(|| Instant::now().checked_add(Duration::from_secs(login.expires_in)))
        .flatten();
    let mut interval = login.interval;
    loop {
        let pause = Duration::from_secs(interval);
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return Err(oauth::expired_login());
            }
            std::thread::sleep(pause.min(deadline - now));
        } else {
            std::thread::sleep(pause);
        }
        match oauth::poll_device_login(client, logger, &login.device_code)? {
            Poll::Pending => {}
            Poll::SlowDown => {
                interval = interval.saturating_add(oauth::SLOW_DOWN_STEP);
                logger.info(&format!(
                    "* the server asked to poll more slowly: every {interval} s"
                ));
            }
            Poll::Approved(token) => return Ok(token),
        }
    }
}

/// The profile of a browser login: the account's e-mail, with `:<host>` for any remote but the
/// default one (its host without a leading `app.` or a port), as the reference tool names it.
fn profile_name_for(user: &User, remote_url: &str) -> Result<String, CliError> {
    let email = user
        .email
        .as_deref()
        .map(str::trim)
        .filter(|email| !email.is_empty())
        .ok_or_else(|| {
            CliError::failure("could not name the profile: the account has no e-mail address")
                .with_hint("name it with `--profile NAME`")
        })?;
    let name = if remote_url == DEFAULT_REMOTE_URL {
        email.to_owned()
    } else {
        let host = reqwest::Url::parse(remote_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let host = host.strip_prefix("app.").unwrap_or(&host);
        format!("{email}:{host}")
    };
    check_profile_name(&name)?;
    Ok(name)
}

/// Opens `url` with `$BROWSER` when set, else the platform's opener when there is a display to
/// open it on; whether a browser was started. A failure is only logged: the URL is printed
/// anyway. The browser gets the environment without its secrets, and none of this process's
/// streams.
fn open_browser(context: &Context, url: &str, logger: &crate::log::Logger) -> bool {
    use std::process::Stdio;
    // The server names the page: only a web page is opened, never a file, a script or another
    // handler the platform knows (`file:`, `javascript:`, a word an opener reads as a flag).
    let is_web_page =
        reqwest::Url::parse(url).is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https"));
    if !is_web_page {
        logger.info("* the login page is not an http(s) URL: not opening a browser");
        return false;
    }
    let browser = context.var(env_vars::BROWSER).ok().flatten();
    let mut command = match &browser {
        Some(browser) => browser_command(browser, url),
        None if has_display(context) => platform_opener(url),
        None => {
            logger.info("* no display and no $BROWSER: not opening a browser");
            return false;
        }
    };
    let started = command
        .env_clear()
        .envs(crate::plugins::executable::plugin_environment(
            context.vars(),
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match started {
        Ok(_) => {
            logger.info("* browser started");
            true
        }
        Err(error) => {
            logger.info(&format!("* could not start a browser: {error}"));
            false
        }
    }
}

/// `$BROWSER` with the URL: on Unix through `sh`, so the variable may hold arguments.
fn browser_command(browser: &str, url: &str) -> std::process::Command {
    #[cfg(unix)]
    {
        let mut command = std::process::Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(format!("{browser} \"$1\""))
            .arg("sh")
            .arg(url);
        command
    }
    #[cfg(not(unix))]
    {
        let mut command = std::process::Command::new(browser);
        command.arg(url);
        command
    }
}

/// The platform's way to open a URL.
fn platform_opener(url: &str) -> std::process::Command {
    #[cfg(target_os = "macos")]
    let mut command = std::process::Command::new("open");
    #[cfg(windows)]
    let mut command = {
        let mut command = std::process::Command::new("rundll32");
        command.arg("url.dll,FileProtocolHandler");
        command
    };
    #[cfg(not(any(target_os = "macos", windows)))]
    let mut command = std::process::Command::new("xdg-open");
    command.arg(url);
    command
}

/// Whether a browser could be shown: always on macOS and Windows, elsewhere only with an X11 or
/// Wayland display.
fn has_display(context: &Context) -> bool {
    cfg!(any(target_os = "macos", windows))
        || context.var_os(env_vars::DISPLAY).is_some()
        || context.var_os(env_vars::WAYLAND_DISPLAY).is_some()
}

/// The key: the first line of stdin, trimmed; at a terminal, typed after a prompt, unechoed.
fn read_api_key(context: &Context) -> Result<String, CliError> {
    let read_error =
        |error: std::io::Error| CliError::failure(format!("could not read the API key: {error}"));
    let terminal = context.terminal();
    let line = if terminal.stdin_is_terminal() {
        terminal
            .read_secret(&crate::secrets::scrub("Paste your API key: "), MAX_KEY_LINE)
            .map_err(|error| {
                if error.kind() == std::io::ErrorKind::Interrupted {
                    CliError::new(ErrorKind::Interrupted, "interrupted")
                } else {
                    read_error(error)
                }
            })?
    } else {
        terminal.read_line(MAX_KEY_LINE).map_err(read_error)?
    };
    let key = line.trim();
    if key.is_empty() {
        return Err(CliError::usage("no API key given on stdin").with_hint(
            "pipe the key in, e.g. `baseten auth login --with-api-key --profile NAME < key.txt`",
        ));
    }
    if !key.chars().all(|character| character.is_ascii_graphic()) {
        return Err(CliError::usage(
            "the API key given on stdin holds spaces or characters no API key has",
        )
        .with_hint("give the key alone, on the first line"));
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(email: Option<&str>) -> User {
        User {
            user_id: Value::String("u1".to_owned()),
            email: email.map(str::to_owned),
            name: None,
            workspace_name: None,
        }
    }

    #[test]
    fn a_browser_login_is_named_by_email_and_host_off_the_default_remote() {
        let me = user(Some("me@example.com"));
        let name = |remote: &str| profile_name_for(&me, remote).expect("named");
        assert_eq!(name("https://app.baseten.co"), "me@example.com");
        assert_eq!(
            name("https://app.staging.baseten.co"),
            "me@example.com:staging.baseten.co"
        );
        assert_eq!(
            name("https://baseten.example.com:8443"),
            "me@example.com:baseten.example.com"
        );
        assert_eq!(name("http://127.0.0.1:9000"), "me@example.com:127.0.0.1");
        assert_eq!(name("http://[::1]:9000"), "me@example.com:[::1]");
        let error = profile_name_for(&user(None), "https://app.baseten.co").expect_err("unnamed");
        assert!(error.hint.is_some_and(|hint| hint.contains("--profile")));
    }
}
