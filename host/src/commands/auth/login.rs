//! `baseten auth login --with-api-key --profile NAME`: reads an API key from stdin, checks it
//! with the API, and stores it as a profile: the secret in the system keyring when one answers,
//! else inline in `auth.json` with a warning. A key the API rejects stores nothing.

use serde::Deserialize;
use serde_json::{Value, json};

use baseten_plugin_api::protocol::HttpRequest;
use baseten_plugin_api::sdk::decode;
use baseten_plugin_api::{CommandOutput, CommandSpec, ErrorKind, FlagSpec};

use crate::commands::auth::required_profile;
use crate::commands::{BuiltIn, Declare, Request};
use crate::context::Context;
use crate::credentials::{Credential, CredentialSource, SecretStorage};
use crate::env_vars;
use crate::error::CliError;
use crate::http::ApiClient;
use crate::profiles::{AUTH_TYPE_API_KEY, ProfileStore};
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
        "Check an API key and store it as a profile",
    )
    .long_about(
        "Read an API key from stdin (at a terminal, a prompt that does not echo), check it \
             with the API, and store it as the profile named by --profile, which becomes the \
             current profile unless --no-switch is given. The key is kept in the system keyring \
             when one answers within 3 s; otherwise, or with --insecure-storage, in auth.json in \
             plain text. A key the API rejects stores nothing. Keys are never taken from the \
             command line.",
    )
    .flag(FlagSpec::switch("with-api-key", "Read an API key from stdin").required())
    .flag(
        FlagSpec::text(
            "remote-url",
            format!("The Baseten remote the key belongs to [default: {DEFAULT_REMOTE_URL}]"),
        )
        .value_name("URL"),
    )
    .flag(FlagSpec::switch(
        "no-switch",
        "Keep the current profile; do not switch to this one",
    ))
    .flag(FlagSpec::switch(
        "insecure-storage",
        "Store the key in auth.json in plain text, not in the system keyring",
    ))
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

pub fn run(request: &Request<'_>) -> Result<CommandOutput, CliError> {
    let context = request.context;
    let profile = required_profile(
        request,
        "auth login",
        "baseten auth login --with-api-key --profile NAME",
    )?;
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
    let given_remote = request
        .args
        .text("remote-url")
        .map(|url| url.trim().to_owned())
        .unwrap_or_else(|| DEFAULT_REMOTE_URL.to_owned());
    let mut api_base = remote::api_base_for_remote(&given_remote)?;
    if let Some(base) = context.var(env_vars::MANAGEMENT_API_URL_OVERRIDE)? {
        api_base = remote::api_base_override(&base)?;
    }
    let remote_url = given_remote.trim_end_matches('/').to_owned();
    let insecure_storage = request.args.switch("insecure-storage");
    let no_switch = request.args.switch("no-switch");
    // A corrupt file is reported before the key is asked for.
    let mut store = ProfileStore::open(context)?;

    let api_key = read_api_key(context)?;
    request.logger.add_secret(&api_key);
    let credential = Credential {
        api_key: api_key.clone(),
        source: CredentialSource::Login,
        remote_url: remote_url.clone(),
        auth_type: AUTH_TYPE_API_KEY.to_owned(),
        storage: SecretStorage::Unsaved,
        api_base,
    };
    let user = check(request, credential)?;

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
                .and_then(|before| keyring.set(profile, &api_key).map(|()| before))
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
        let inline_key = (!in_keyring).then_some(api_key.as_str());
        document.put_profile(profile, &remote_url, inline_key);
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
                        "* could not take the new key back out of the system keyring: {why}"
                    ));
                }
            }
            return Err(error);
        }
    };
    request.logger.info(&format!(
        "* profile `{profile}` stored in {}, its key in {}",
        store.path().display(),
        if in_keyring {
            "the system keyring"
        } else {
            "that file"
        }
    ));

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
    Ok(match plain_text_reason {
        _ if in_keyring => output,
        Some(PlainText::Asked) => output.notice(format!(
            "note: storing the API key in plain text in {}",
            store.path().display()
        )),
        _ => output.notice(PLAIN_TEXT_WARNING),
    })
}

/// Why a key went into `auth.json`.
enum PlainText {
    /// `--insecure-storage` or `BASETEN_NO_KEYRING=1`: the user chose it; said once, as a note.
    Asked,
    /// The keyring was wanted but did not work: a warning.
    KeyringFailed,
}

/// `GET /v1/users/me` with the candidate key; a rejected key is exit 3.
fn check(request: &Request<'_>, credential: Credential) -> Result<User, CliError> {
    request.logger.info(&format!(
        "* checking the API key with {}",
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
        .map_err(|error| in_context("could not check the API key", error.into()))?;
    if !(200..300).contains(&response.status) {
        let error = crate::http_errors::classify(response.status, &response.body);
        return Err(if error.kind == ErrorKind::Auth {
            CliError::new(
                ErrorKind::Auth,
                format!("the API key was rejected: {}", error.message),
            )
            .with_hint(
                "check the key and the remote it belongs to (`--remote-url`); nothing was stored",
            )
        } else {
            in_context("could not check the API key", error)
        });
    }
    let user: User = decode(&response.body)
        .map_err(|error| in_context("could not check the API key", error.into()))?;
    Ok(user)
}

fn in_context(what: &str, error: CliError) -> CliError {
    CliError {
        message: format!("{what}: {}", error.message),
        ..error
    }
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
