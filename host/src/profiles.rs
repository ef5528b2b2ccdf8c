//! Stored profiles: `<config dir>/auth.json`, in the reference tool's format, so either tool
//! reads what the other wrote.
//!
//! ```json
//! {"version": 1, "current": "ci",
//!  "profiles": {"ci": {"remote_url": "https://app.baseten.co", "auth_type": "api_key"}}}
//! ```
//!
//! The secret lives in the system keyring; `api_key` (an API-key profile) or `oauth_credential`
//! (an OAuth profile, `auth_type: "oauth"`) appears in a profile only when it could not. An
//! OAuth profile's secret is the JSON `{"access_token", "refresh_token", "expiry"}`
//! ([`OAuthToken`]), in the keyring as text or inline as an object. Writes happen under an exclusive lock on `auth.json.lock`, re-read the file under that
//! lock, and replace it atomically (temporary file, fsync, rename, fsync of the folder), so
//! concurrent logins all land and an interrupt never leaves half a file. Fields this tool does
//! not know are kept, at every level. A corrupt file is reported and never rewritten.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value};

use baseten_plugin_api::ErrorKind;

use crate::context::Context;
use crate::credentials::SecretStorage;
use crate::env_vars;
use crate::error::CliError;
use crate::files::{self, Links};
use crate::oauth::OAuthToken;
use crate::system_keyring::{KeyringError, SystemKeyring};

/// The file's name inside the config folder.
pub const AUTH_FILE: &str = "auth.json";
/// The file whose exclusive lock guards every change to [`AUTH_FILE`].
const LOCK_FILE: &str = "auth.json.lock";
/// The format version this tool reads and writes.
const FORMAT_VERSION: u64 = 1;
/// A profile holding an API key.
pub const AUTH_TYPE_API_KEY: &str = "api_key";
/// A profile holding the tokens of a browser login.
pub const AUTH_TYPE_OAUTH: &str = "oauth";
/// How long to wait for another process to finish its change.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// One profile as stored. Fields this tool does not know stay in the file untouched. Its `Debug`
/// shows whether a key is stored, never the key.
#[derive(Clone, Default, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub remote_url: Option<String>,
    #[serde(default)]
    pub auth_type: Option<String>,
    /// Present only when the secret could not go to the system keyring.
    #[serde(default)]
    pub api_key: Option<String>,
    /// An OAuth profile's tokens, present only when they could not go to the system keyring.
    #[serde(default)]
    pub oauth_credential: Option<Value>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Profile")
            .field("remote_url", &self.remote_url)
            .field("auth_type", &self.auth_type)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field(
                "oauth_credential",
                &self.oauth_credential.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Profile {
    /// Whether the profile holds the tokens of a browser login.
    pub fn is_oauth(&self) -> bool {
        self.auth_type.as_deref() == Some(AUTH_TYPE_OAUTH)
    }

    /// The OAuth tokens kept in the file, if any (or why they cannot be read).
    pub fn inline_oauth(&self) -> Option<Result<OAuthToken, String>> {
        self.oauth_credential
            .as_ref()
            .filter(|value| !value.is_null())
            .map(OAuthToken::from_value)
    }

    /// The secret kept in the file, if any.
    pub fn inline_api_key(&self) -> Option<&str> {
        self.api_key
            .as_deref()
            .map(str::trim)
            .filter(|key| !key.is_empty())
    }
}

/// The whole file, every field kept in order. Its `Debug` names the profiles, never their
/// fields: a profile may hold its key inline.
#[derive(Clone, Default)]
pub struct AuthDocument {
    fields: Map<String, Value>,
}

impl std::fmt::Debug for AuthDocument {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let profiles: Vec<&str> = match self.fields.get("profiles") {
            Some(Value::Object(profiles)) => profiles.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        formatter
            .debug_struct("AuthDocument")
            .field("current", &self.fields.get("current"))
            .field("profiles", &profiles)
            .finish_non_exhaustive()
    }
}

impl AuthDocument {
    /// Reads and checks the file's text: any part this tool reads must have the expected shape,
    /// or the file is corrupt (and so never rewritten).
    fn parse(path: &Path, bytes: &[u8]) -> Result<Self, CliError> {
        let fields = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => return Err(corrupt(path, "it is not a JSON object")),
            Err(error) => return Err(corrupt(path, &error.to_string())),
        };
        match fields.get("version") {
            None | Some(Value::Null) => {}
            Some(version) if version.as_u64().is_some() => {}
            Some(_) => return Err(corrupt(path, "`version` is not a whole number")),
        }
        match fields.get("current") {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(_) => return Err(corrupt(path, "`current` is not a string")),
        }
        match fields.get("profiles") {
            None | Some(Value::Null) => {}
            Some(Value::Object(profiles)) => {
                for (name, profile) in profiles {
                    if !profile.is_object() {
                        return Err(corrupt(path, &format!("profile `{name}` is not an object")));
                    }
                    Profile::deserialize(profile)
                        .map_err(|error| corrupt(path, &format!("profile `{name}`: {error}")))?;
                }
            }
            Some(_) => return Err(corrupt(path, "`profiles` is not an object")),
        }
        Ok(Self { fields })
    }

    /// The current profile's name, if any.
    pub fn current(&self) -> Option<&str> {
        self.fields
            .get("current")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
    }

    /// Makes `name` the current profile, or leaves none current.
    pub fn set_current(&mut self, name: Option<&str>) {
        match name {
            Some(name) => {
                self.fields
                    .insert("current".to_owned(), Value::String(name.to_owned()));
            }
            None => {
                self.fields.shift_remove("current");
            }
        }
    }

    fn profiles(&self) -> Option<&Map<String, Value>> {
        self.fields.get("profiles").and_then(Value::as_object)
    }

    /// Whether a profile called `name` is stored.
    pub fn contains(&self, name: &str) -> bool {
        self.profiles()
            .is_some_and(|profiles| profiles.contains_key(name))
    }

    /// The profile called `name`, if stored.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        // Every profile was checked when the file was read.
        self.profiles()
            .and_then(|profiles| profiles.get(name))
            .and_then(|value| Profile::deserialize(value).ok())
    }

    /// Every stored profile, in the file's order.
    pub fn profile_list(&self) -> Vec<(String, Profile)> {
        self.profiles()
            .map(|profiles| {
                profiles
                    .iter()
                    .filter_map(|(name, value)| {
                        Profile::deserialize(value)
                            .ok()
                            .map(|profile| (name.clone(), profile))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The fields of profile `name` set to `remote_url` and `auth_type`, without the secret field
    /// of the other type (`other_secret`); `None` as for [`Self::profile_fields`].
    fn profile_of_type(
        &mut self,
        name: &str,
        remote_url: &str,
        auth_type: &str,
        other_secret: &str,
    ) -> Option<&mut Map<String, Value>> {
        let profile = self.profile_fields(name)?;
        profile.insert(
            "remote_url".to_owned(),
            Value::String(remote_url.to_owned()),
        );
        profile.insert("auth_type".to_owned(), Value::String(auth_type.to_owned()));
        profile.shift_remove(other_secret);
        Some(profile)
    }

    /// Stores an API-key profile: its remote, and its secret inline or (with `None`) not in the
    /// file. Fields of an earlier profile of that name that this tool does not know are kept.
    pub fn put_profile(&mut self, name: &str, remote_url: &str, inline_api_key: Option<&str>) {
        let Some(profile) =
            self.profile_of_type(name, remote_url, AUTH_TYPE_API_KEY, "oauth_credential")
        else {
            return;
        };
        match inline_api_key {
            Some(key) => {
                profile.insert("api_key".to_owned(), Value::String(key.to_owned()));
            }
            None => {
                profile.shift_remove("api_key");
            }
        }
    }

    /// Stores an OAuth profile: its remote, and its tokens inline (`oauth_credential`) or (with
    /// `None`) not in the file. Fields this tool does not know are kept.
    pub fn put_oauth_profile(
        &mut self,
        name: &str,
        remote_url: &str,
        inline_token: Option<&OAuthToken>,
    ) {
        let Some(profile) = self.profile_of_type(name, remote_url, AUTH_TYPE_OAUTH, "api_key")
        else {
            return;
        };
        match inline_token {
            // Into the stored object, if any: fields of it this tool does not know are kept.
            Some(token) => match (profile.get_mut("oauth_credential"), token.to_value()) {
                (Some(Value::Object(stored)), Value::Object(fresh)) => stored.extend(fresh),
                (_, fresh) => {
                    profile.insert("oauth_credential".to_owned(), fresh);
                }
            },
            None => {
                profile.shift_remove("oauth_credential");
            }
        }
    }

    /// The fields of the profile called `name`, created (with the file's version) if needed.
    fn profile_fields(&mut self, name: &str) -> Option<&mut Map<String, Value>> {
        if self.fields.is_empty() {
            self.fields
                .insert("version".to_owned(), Value::from(FORMAT_VERSION));
        }
        let profiles = self
            .fields
            .entry("profiles")
            .or_insert_with(|| Value::Object(Map::new()));
        if !profiles.is_object() {
            *profiles = Value::Object(Map::new());
        }
        let Value::Object(profiles) = profiles else {
            return None;
        };
        let profile = profiles
            .entry(name)
            .or_insert_with(|| Value::Object(Map::new()));
        if !profile.is_object() {
            *profile = Value::Object(Map::new());
        }
        match profile {
            Value::Object(profile) => Some(profile),
            _ => None,
        }
    }

    /// Removes the profile called `name`; it stops being current. Returns what was stored.
    pub fn remove_profile(&mut self, name: &str) -> Option<Profile> {
        let removed = self
            .fields
            .get_mut("profiles")
            .and_then(Value::as_object_mut)
            .and_then(|profiles| profiles.shift_remove(name))?;
        if self.current() == Some(name) {
            self.set_current(None);
        }
        Some(Profile::deserialize(&removed).unwrap_or_default())
    }

    /// A file written by a newer format is left alone.
    fn check_writable(&self, path: &Path) -> Result<(), CliError> {
        match self.fields.get("version") {
            None | Some(Value::Null) => Ok(()),
            Some(version) if version.as_u64() == Some(FORMAT_VERSION) => Ok(()),
            Some(version) => Err(CliError::failure(format!(
                "`{}` has format version {version}, which this tool does not know",
                path.display()
            ))
            .with_hint("update baseten; the file is left as it is")),
        }
    }

    fn to_bytes(&self) -> Result<Vec<u8>, CliError> {
        let mut bytes = serde_json::to_vec_pretty(&self.fields)
            .map_err(|error| CliError::failure(format!("could not encode profiles: {error}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// The profiles in the config folder.
pub struct ProfileStore {
    dir: PathBuf,
    path: PathBuf,
    document: AuthDocument,
    keyring: SystemKeyring,
}

impl ProfileStore {
    /// Reads `auth.json`; a missing file is an empty store, a corrupt one an error naming it.
    pub fn open(context: &Context) -> Result<Self, CliError> {
        let dir = config_dir(context)?;
        let path = dir.join(AUTH_FILE);
        let document = read_document(&path)?;
        Ok(Self {
            dir,
            path,
            document,
            keyring: SystemKeyring::from_context(context),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file as last read or written.
    pub fn document(&self) -> &AuthDocument {
        &self.document
    }

    /// The system keyring this store uses for secrets.
    pub fn keyring(&self) -> SystemKeyring {
        self.keyring
    }

    /// The current profile's name, if any.
    pub fn current(&self) -> Option<String> {
        self.document.current().map(str::to_owned)
    }

    /// The profile named `name`, if stored.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        self.document.profile(name)
    }

    /// The secret of a stored profile and where it was found: inline in the file, else in the
    /// system keyring.
    pub fn secret(
        &self,
        name: &str,
        profile: &Profile,
    ) -> Result<(String, SecretStorage), CliError> {
        if let Some(key) = profile.inline_api_key() {
            return Ok((key.to_owned(), SecretStorage::File));
        }
        let login_again =
            format!("log in again with `baseten auth login --with-api-key --profile {name}`");
        match self.keyring.get(name) {
            Ok(Some(key)) if !key.trim().is_empty() => {
                Ok((key.trim().to_owned(), SecretStorage::Keyring))
            }
            Ok(_) => Err(CliError::new(
                ErrorKind::Auth,
                format!("profile `{name}` has no stored API key"),
            )
            .with_hint(login_again)),
            Err(KeyringError::Disabled) => Err(CliError::new(
                ErrorKind::Auth,
                format!(
                    "profile `{name}` has no API key in `{}`, and {}=1 keeps the system keyring \
                     closed",
                    self.path.display(),
                    env_vars::NO_KEYRING
                ),
            )
            .with_hint(format!(
                "unset {}, or log in again with `baseten auth login --with-api-key --profile \
                 {name} --insecure-storage`",
                env_vars::NO_KEYRING
            ))),
            Err(why) => Err(CliError::new(
                ErrorKind::Auth,
                format!(
                    "could not read the API key of profile `{name}` from the system keyring: {why}"
                ),
            )
            .with_hint(format!(
                "unlock the system keyring, or {login_again} --insecure-storage"
            ))),
        }
    }

    /// The tokens of a stored OAuth profile and where they were found: inline in the file, else
    /// in the system keyring (as the JSON text the reference tool writes there).
    pub fn oauth_token(
        &self,
        name: &str,
        profile: &Profile,
    ) -> Result<(OAuthToken, SecretStorage), CliError> {
        read_oauth_token(self.keyring, &self.path, name, profile)
    }

    /// Changes the file: under the lock, re-reads it, applies `change` and writes the result
    /// atomically. Nothing is written when `change` fails or the file is corrupt.
    pub fn update<T>(
        &mut self,
        change: impl FnOnce(&mut AuthDocument) -> Result<T, CliError>,
    ) -> Result<T, CliError> {
        self.update_waiting(LOCK_WAIT, change)
    }

    /// [`Self::update`], waiting up to `wait` (at least the usual wait) for another process's
    /// change: one that holds the lock over a request (an OAuth renewal) may take that long.
    pub fn update_waiting<T>(
        &mut self,
        wait: Duration,
        change: impl FnOnce(&mut AuthDocument) -> Result<T, CliError>,
    ) -> Result<T, CliError> {
        create_private_dir(&self.dir).map_err(|error| {
            CliError::failure(format!(
                "could not create the config folder `{}`: {error}",
                self.dir.display()
            ))
        })?;
        let _lock = lock(&self.dir.join(LOCK_FILE), wait.max(LOCK_WAIT))?;
        let mut document = read_document(&self.path)?;
        document.check_writable(&self.path)?;
        let answer = change(&mut document)?;
        write_atomically(&self.path, &document.to_bytes()?).map_err(|error| {
            CliError::failure(format!(
                "could not write `{}`: {error}",
                self.path.display()
            ))
        })?;
        self.document = document;
        Ok(answer)
    }
}

/// The tokens of the OAuth profile `name` of the file at `path`: inline in it, else in `keyring`
/// (as the JSON text the reference tool writes there); and where they were found.
pub fn read_oauth_token(
    keyring: SystemKeyring,
    path: &Path,
    name: &str,
    profile: &Profile,
) -> Result<(OAuthToken, SecretStorage), CliError> {
    let login_again = format!("run `baseten auth login --web --profile {name}`");
    let unreadable = |why: String| {
        CliError::new(
            ErrorKind::Auth,
            format!("the stored login of profile `{name}` cannot be read: {why}"),
        )
        .with_hint(login_again.clone())
    };
    if let Some(inline) = profile.inline_oauth() {
        return inline
            .map(|token| (token, SecretStorage::File))
            .map_err(unreadable);
    }
    match keyring.get(name) {
        Ok(Some(secret)) if !secret.trim().is_empty() => OAuthToken::from_json(&secret)
            .map(|token| (token, SecretStorage::Keyring))
            .map_err(unreadable),
        Ok(_) => Err(CliError::new(
            ErrorKind::Auth,
            format!("profile `{name}` has no stored login"),
        )
        .with_hint(login_again)),
        Err(KeyringError::Disabled) => Err(CliError::new(
            ErrorKind::Auth,
            format!(
                "profile `{name}` has no login in `{}`, and {}=1 keeps the system keyring \
                 closed",
                path.display(),
                env_vars::NO_KEYRING
            ),
        )
        .with_hint(format!(
            "unset {}, or {login_again} --insecure-storage",
            env_vars::NO_KEYRING
        ))),
        Err(why) => Err(CliError::new(
            ErrorKind::Auth,
            format!("could not read the login of profile `{name}` from the system keyring: {why}"),
        )
        .with_hint(format!(
            "unlock the system keyring, or {login_again} --insecure-storage"
        ))),
    }
}

fn read_document(path: &Path) -> Result<AuthDocument, CliError> {
    match fs::read(path) {
        Ok(bytes) => AuthDocument::parse(path, &bytes),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(AuthDocument::default()),
        Err(error) => Err(CliError::failure(format!(
            "could not read `{}`: {error}",
            path.display()
        ))),
    }
}

fn corrupt(path: &Path, why: &str) -> CliError {
    CliError::failure(format!("corrupt profile file `{}`: {why}", path.display()))
        .with_hint("fix or remove the file; it is left as it is")
}

/// The folder and any missing parents, readable by the owner only when this creates them. An
/// existing folder others can read or enter is closed to them (0700): it holds keys.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!(
                        "it is open to others (mode {:o}) and could not be closed: {error}; \
                         run `chmod 700 {}`",
                        mode & 0o777,
                        dir.display()
                    ),
                )
            })?;
        }
    }
    Ok(())
}

/// Options for a file only its owner may read, mode 0600 from the moment it exists.
fn private_file_options() -> OpenOptions {
    #[cfg_attr(not(unix), expect(unused_mut, reason = "only Unix sets a mode"))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Waits for the exclusive lock on `path`, at most [`LOCK_WAIT`]; released when the file is
/// dropped (or the process ends).
fn lock(path: &Path, wait: Duration) -> Result<File, CliError> {
    let file = private_file_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|error| {
            CliError::failure(format!("could not open `{}`: {error}", path.display()))
        })?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(CliError::failure(format!(
                    "could not lock `{}`: another process has held it for {} s",
                    path.display(),
                    wait.as_secs()
                ))
                .with_hint("try again once the other `baseten` command has finished"));
            }
            Err(fs::TryLockError::Error(error)) => {
                return Err(CliError::failure(format!(
                    "could not lock `{}`: {error}",
                    path.display()
                )));
            }
        }
    }
}

/// Replaces `path` with `bytes` atomically, mode 0600 (see [`files`]). A symbolic link at
/// `path` is written through: the file it points to is replaced, the link kept.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    files::write_atomically(path, bytes, 0o600, Links::Follow)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn store_in(dir: &Path) -> ProfileStore {
        let context = Context::for_tests(&[
            (
                "BASETEN_CONFIG_DIR",
                dir.to_str().expect("a UTF-8 temp path"),
            ),
            ("BASETEN_NO_KEYRING", "1"),
        ]);
        ProfileStore::open(&context).expect("opens")
    }

    #[test]
    fn unknown_fields_survive_a_change_at_every_level() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let path = dir.path().join(AUTH_FILE);
        fs::write(
            &path,
            r#"{"version":1,"current":"old","telemetry":{"on":false},
               "profiles":{"old":{"remote_url":"https://app.baseten.co","auth_type":"api_key","oauth":{"x":1}}}}"#,
        )
        .expect("writes");
        let mut store = store_in(dir.path());
        store
            .update(|document| {
                document.put_profile("old", "https://app.example.com", None);
                document.put_profile("new", "https://app.baseten.co", Some("abcd1234.secret"));
                document.set_current(Some("new"));
                Ok(())
            })
            .expect("updates");
        let written: Value =
            serde_json::from_slice(&fs::read(&path).expect("reads")).expect("JSON");
        assert_eq!(written["telemetry"], serde_json::json!({"on": false}));
        assert_eq!(
            written["profiles"]["old"]["oauth"],
            serde_json::json!({"x": 1})
        );
        assert_eq!(
            written["profiles"]["old"]["remote_url"],
            "https://app.example.com"
        );
        assert_eq!(written["profiles"]["new"]["api_key"], "abcd1234.secret");
        assert_eq!(written["current"], "new");
        let keys: Vec<&String> = written.as_object().expect("an object").keys().collect();
        assert_eq!(keys, ["version", "current", "telemetry", "profiles"]);
    }

    #[test]
    fn a_new_file_is_private_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let config = dir.path().join("nested").join("baseten");
        let mut store = store_in(&config);
        store
            .update(|document| {
                document.put_profile("ci", "https://app.baseten.co", None);
                Ok(())
            })
            .expect("updates");
        let mut names: Vec<String> = fs::read_dir(&config)
            .expect("lists")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, [AUTH_FILE, LOCK_FILE]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |path: &Path| fs::metadata(path).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode(&config), 0o700);
            assert_eq!(mode(&config.join(AUTH_FILE)), 0o600);
        }
        let text = fs::read_to_string(config.join(AUTH_FILE)).expect("reads");
        assert!(text.starts_with("{\n  \"version\": 1,"), "{text}");
    }

    #[test]
    fn a_corrupt_file_is_named_and_never_rewritten() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let path = dir.path().join(AUTH_FILE);
        for text in [
            "{not json",
            "[]",
            r#"{"profiles":[]}"#,
            r#"{"profiles":{"a":{"remote_url":7}}}"#,
        ] {
            fs::write(&path, text).expect("writes");
            let context = Context::for_tests(&[(
                "BASETEN_CONFIG_DIR",
                dir.path().to_str().expect("a UTF-8 temp path"),
            )]);
            let error = ProfileStore::open(&context).err().expect("refused");
            assert!(
                error.message.contains(&path.display().to_string()),
                "{}",
                error.message
            );
            assert_eq!(error.exit_code(), 1);
            assert_eq!(fs::read_to_string(&path).expect("reads"), text);
        }
    }

    #[test]
    fn a_version_that_is_no_whole_number_is_corrupt() {
        let error = AuthDocument::parse(Path::new("auth.json"), br#"{"version":-1}"#)
            .expect_err("a version that is no version is corrupt");
        assert!(
            error.message.contains("`version` is not a whole number"),
            "{}",
            error.message
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let profile = Profile {
            remote_url: Some("https://app.baseten.co".to_owned()),
            auth_type: Some(AUTH_TYPE_API_KEY.to_owned()),
            api_key: Some("abcd1234.supersecret".to_owned()),
            oauth_credential: Some(serde_json::json!({"access_token": "supersecret"})),
        };
        let shown = format!("{profile:?} {profile:#?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        let document = AuthDocument::parse(
            Path::new("auth.json"),
            br#"{"version":1,"current":"ci","profiles":{"ci":{"api_key":"abcd1234.supersecret"}}}"#,
        )
        .expect("parses");
        let shown = format!("{document:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("\"ci\""), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_config_folder_open_to_others_is_closed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temp folder");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut store = store_in(dir.path());
        store.update(|_| Ok(())).expect("updates");
        let mode = fs::metadata(dir.path()).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn an_oauth_profile_replaces_an_api_key_profile_and_back() {
        let mut document = AuthDocument::default();
        document.put_profile("a", "https://app.baseten.co", Some("abcd1234.secret"));
        let token = OAuthToken {
            access_token: "at".to_owned(),
            refresh_token: "rt".to_owned(),
            expiry: None,
        };
        document.put_oauth_profile("a", "https://app.baseten.co", Some(&token));
        let profile = document.profile("a").expect("stored");
        assert!(profile.is_oauth());
        assert_eq!(profile.api_key, None);
        assert_eq!(profile.inline_oauth(), Some(Ok(token)));
        document.put_profile("a", "https://app.baseten.co", None);
        let profile = document.profile("a").expect("stored");
        assert!(!profile.is_oauth());
        assert_eq!(profile.oauth_credential, None);
    }

    #[test]
    fn removing_the_current_profile_leaves_none_current() {
        let mut document = AuthDocument::default();
        document.put_profile("a", "https://app.baseten.co", Some("k"));
        document.set_current(Some("a"));
        assert_eq!(
            document
                .remove_profile("a")
                .and_then(|profile| profile.api_key),
            Some("k".to_owned())
        );
        assert_eq!(document.current(), None);
        assert!(document.remove_profile("a").is_none());
    }

    #[test]
    fn a_newer_format_is_not_rewritten() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let path = dir.path().join(AUTH_FILE);
        fs::write(&path, r#"{"version":2,"profiles":{}}"#).expect("writes");
        let mut store = store_in(dir.path());
        let error = store.update(|_| Ok(())).expect_err("refused");
        assert!(
            error.message.contains("format version 2"),
            "{}",
            error.message
        );
        assert_eq!(
            fs::read_to_string(&path).expect("reads"),
            r#"{"version":2,"profiles":{}}"#
        );
    }
}
