//! Configuring and starting the emulator ([`Emulator::builder`]) and the handle to a running
//! one ([`RunningEmulator`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::background::BackgroundEmulator;
use crate::control::Fault;
use crate::error::Error;
use crate::oauth::OAuthSettings;
use crate::persist;
use crate::server;
use crate::shared::Shared;
use crate::state::{KeyType, PREFIX_LEN, State, StoredKey, hash_secret, random_alphanumeric};
use crate::tls::TlsIdentity;

/// Entry point: `Emulator::builder()…start()`.
#[derive(Debug)]
pub struct Emulator(());

impl Emulator {
    /// A builder for plain HTTP on `127.0.0.1:0` (a free port), without a state file, with one
    /// generated bootstrap key.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            state_file: None,
            api_keys: Vec::new(),
            teams: Vec::new(),
            seed_keys: 0,
            tls_ca_file: None,
            files: None,
            oauth: OAuthSettings::default(),
        }
    }
}

/// How to start an emulator. Not `Debug`: it holds bootstrap keys.
#[must_use]
pub struct EmulatorBuilder {
    listen: SocketAddr,
    state_file: Option<PathBuf>,
    api_keys: Vec<String>,
    teams: Vec<String>,
    seed_keys: usize,
    tls_ca_file: Option<PathBuf>,
    files: Option<PathBuf>,
    oauth: OAuthSettings,
}

impl EmulatorBuilder {
    /// Address to listen on; port 0 picks a free port.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Loads the workspace from this file at start (when it exists) and saves every change to it.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Registers a `WORKSPACE_MANAGE_ALL` key `<8-char prefix>.<secret>` usable for auth. It is
    /// registered again on every start and never saved. Without any, one is generated.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_keys.push(key.into());
        self
    }

    /// Adds a (non-default) team of this name, unless the workspace already has one.
    pub fn team(mut self, name: impl Into<String>) -> Self {
        self.teams.push(name.into());
        self
    }

    /// Creates this many keys at start, named `seed-00001`…, cycling through the key types.
    pub fn seed_keys(mut self, count: usize) -> Self {
        self.seed_keys = count;
        self
    }

    /// Serves HTTPS instead of HTTP. At start the emulator makes a throwaway CA and a server
    /// certificate it signs for `127.0.0.1`, `::1` and `localhost`, and writes the CA
    /// certificate (PEM) to `ca_certificate_file`, for clients to trust. The keys stay in
    /// memory: every start has a new CA.
    pub fn tls(mut self, ca_certificate_file: impl Into<PathBuf>) -> Self {
        self.tls_ca_file = Some(ca_certificate_file.into());
        self
    }

    /// Serves the files of `folder` at `GET /_files/PATH`, as a static file server would (a
    /// plugin index and its artifacts, for the CLI's downloads); logged and open to faults like
    /// any other request, and answered without any credential.
    pub fn files(mut self, folder: impl Into<PathBuf>) -> Self {
        self.files = Some(folder.into());
        self
    }

    /// Approves every browser login as soon as it starts, as a user who is already signed in
    /// and clicks at once would.
    pub fn auto_approve(mut self, auto_approve: bool) -> Self {
        self.oauth.auto_approve = auto_approve;
        self
    }

    /// How long access tokens from browser logins and refreshes live (default one hour).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.oauth.token_ttl = ttl;
        self
    }

    /// The `interval` (seconds between polls) a browser login is told to keep (default 5).
    pub fn device_interval(mut self, seconds: u64) -> Self {
        self.oauth.interval = seconds;
        self
    }

    /// Loads state, binds the address and serves on the current tokio runtime. With
    /// [`EmulatorBuilder::tls`], the CA certificate file is written before this returns.
    pub async fn start(self) -> Result<RunningEmulator, Error> {
        let bootstrap_keys = if self.api_keys.is_empty() {
            vec![format!(
                "{}.{}",
                random_alphanumeric(PREFIX_LEN),
                random_alphanumeric(40)
            )]
        } else {
            self.api_keys.clone()
        };
        let state = self.assemble_state(&bootstrap_keys)?;
        let tls = match &self.tls_ca_file {
            Some(_) => Some(TlsIdentity::generate()?),
            None => None,
        };
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| Error::Listen {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: self.listen,
            source,
        })?;
        if let (Some(path), Some(tls)) = (&self.tls_ca_file, &tls) {
            tokio::fs::write(path, &tls.ca_pem)
                .await
                .map_err(|source| Error::WriteCaCertificate {
                    path: path.clone(),
                    source,
                })?;
        }
        let shared = Arc::new(
            Shared::new(
                state,
                self.state_file,
                self.oauth,
                base_url(addr, tls.is_some()),
            )
            .with_files(self.files),
        );
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let (acceptor, ca_certificate_pem) = match tls {
            Some(tls) => (Some(tls.acceptor), Some(tls.ca_pem)),
            None => (None, None),
        };
        let server = tokio::spawn(server::serve(
            listener,
            acceptor,
            server::router(shared.clone()),
            shutdown_receiver,
        ));
        let api_key = bootstrap_keys.into_iter().next().unwrap_or_default();
        Ok(RunningEmulator {
            handle: EmulatorHandle {
                addr,
                ca_certificate_pem,
                api_key,
                shared,
            },
            shutdown,
            server: Some(server),
        })
    }

    /// Starts the emulator on a thread of its own with its own tokio runtime, for synchronous
    /// tests; it stops when the returned handle is dropped.
    pub fn start_in_background(self) -> Result<BackgroundEmulator, Error> {
        BackgroundEmulator::start(self)
    }

    /// The workspace to serve: the state file's (refused if corrupt, before anything is bound or
    /// written), plus the default team, `--team`s, bootstrap keys and seeded keys. Saved once
    /// if that changed anything, so 100 000 seeded keys cost one write.
    fn assemble_state(&self, bootstrap_keys: &[String]) -> Result<State, Error> {
        let saved = match &self.state_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let mut changed = saved.is_none();
        let (teams, saved_keys) = saved
            .map(|saved| (saved.teams, saved.keys))
            .unwrap_or_default();
        let mut state = State::with_teams(teams);
        changed |= state.ensure_default_team();
        for team in &self.teams {
            changed |= state.add_team(team);
        }
        let default_team = state
            .default_team()
            .map(|team| team.id.clone())
            .unwrap_or_default();
        // Bootstrap keys first, so a saved key can never take over a bootstrap key's prefix.
        for key in bootstrap_keys {
            state.insert(parse_bootstrap_key(key, &default_team)?);
        }
        for key in saved_keys {
            state.insert(key);
        }
        if self.seed_keys > 0 {
            state.seed(self.seed_keys);
            changed = true;
        }
        if let (true, Some(path)) = (changed, &self.state_file) {
            persist::save(path, &state).map_err(|source| Error::WriteState {
                path: path.clone(),
                source,
            })?;
        }
        Ok(state)
    }
}

fn parse_bootstrap_key(key: &str, team_id: &str) -> Result<StoredKey, Error> {
    let Some((prefix, secret)) = key.split_once('.') else {
        return Err(Error::InvalidApiKey(
            "expected `<8-char prefix>.<secret>`".into(),
        ));
    };
    if prefix.len() != PREFIX_LEN || !prefix.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return Err(Error::InvalidApiKey(format!(
            "the prefix must be {PREFIX_LEN} letters or digits"
        )));
    }
    if secret.is_empty() || secret.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidApiKey(
            "the secret must be non-empty, without spaces".into(),
        ));
    }
    Ok(StoredKey {
        prefix: prefix.to_owned(),
        secret_hash: hash_secret(secret),
        key_type: KeyType::WorkspaceManageAll,
        name: None,
        model_ids: None,
        team_id: team_id.to_owned(),
        bootstrap: true,
    })
}

/// A serving emulator. Dropping it stops the server too, without waiting; prefer
/// [`RunningEmulator::shutdown`].
#[derive(Debug)]
pub struct RunningEmulator {
    handle: EmulatorHandle,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

/// What both ways of running the emulator offer a test: where it is, its key, and its state.
/// [`RunningEmulator`] and [`crate::BackgroundEmulator`] dereference to it.
#[derive(Debug, Clone)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    /// Set when serving HTTPS.
    ca_certificate_pem: Option<String>,
    api_key: String,
    shared: Arc<Shared>,
}

impl std::ops::Deref for RunningEmulator {
    type Target = EmulatorHandle;

    fn deref(&self) -> &EmulatorHandle {
        &self.handle
    }
}

impl EmulatorHandle {
    /// Base URL, e.g. `http://127.0.0.1:41234`, or `https://…` when serving HTTPS.
    pub fn url(&self) -> String {
        base_url(self.addr, self.ca_certificate_pem.is_some())
    }

    /// The CA certificate (PEM) that signed the server's certificate, when serving HTTPS.
    pub fn ca_certificate_pem(&self) -> Option<&str> {
        self.ca_certificate_pem.as_deref()
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first bootstrap key, `<prefix>.<secret>`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Requests seen so far, as the array `GET /_emulator/requests` shows.
    pub fn requests(&self) -> Value {
        self.shared.requests()
    }

    /// Current keys, as `GET /v1/api_keys` lists them.
    pub fn keys(&self) -> Vec<Value> {
        self.shared.listed_keys()
    }

    /// Queues a fault, described as for `POST /_emulator/faults`; returns its id.
    ///
    /// # Panics
    /// When the description is invalid: that is a bug in the calling test.
    pub fn inject_fault(&self, fault: Value) -> u64 {
        inject_fault(&self.shared, fault)
    }

    /// Queues a fault, described as for `POST /_emulator/faults`; returns its id.
    pub fn try_inject_fault(&self, fault: Value) -> Result<u64, Error> {
        try_inject_fault(&self.shared, &fault)
    }

    /// Approves the pending browser login with this user code, as `POST /_emulator/device/approve`;
    /// whether there was one.
    pub fn approve_login(&self, user_code: &str) -> bool {
        self.shared.oauth().decide(user_code, true)
    }

    /// Denies the pending browser login with this user code, as `POST /_emulator/device/deny`;
    /// whether there was one.
    pub fn deny_login(&self, user_code: &str) -> bool {
        self.shared.oauth().decide(user_code, false)
    }

    /// Browser-login counters (`logins`, `refreshes`, `refused_refreshes`, `revocations`,
    /// `live_access_tokens`) and `pending_user_codes`, as `GET /_emulator/oauth` shows them.
    pub fn oauth(&self) -> Value {
        self.shared.oauth().summary()
    }

    /// Makes every access token expire now (refresh tokens still work), as
    /// `POST /_emulator/oauth/expire`; how many there were.
    pub fn expire_access_tokens(&self) -> usize {
        self.shared.oauth().expire_access_tokens()
    }

    /// Ends every browser session, refresh tokens included, as `POST /_emulator/oauth/revoke`.
    pub fn revoke_sessions(&self) {
        self.shared.oauth().revoke_all();
    }

    /// Forgets pending faults and the request log, as `POST /_emulator/reset`.
    pub fn reset(&self) {
        self.shared.control().reset();
    }
}

impl RunningEmulator {
    /// Stops accepting, lets open requests finish (a few seconds at most) and returns. Every
    /// change was already saved before it was answered.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

pub(crate) fn base_url(addr: SocketAddr, https: bool) -> String {
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{addr}")
}

pub(crate) fn try_inject_fault(shared: &Shared, fault: &Value) -> Result<u64, Error> {
    let fault = Fault::parse(fault).map_err(Error::InvalidFault)?;
    Ok(shared.control().add_fault(fault))
}

pub(crate) fn inject_fault(shared: &Shared, fault: Value) -> u64 {
    match try_inject_fault(shared, &fault) {
        Ok(id) => id,
        Err(error) => panic!("{error}: {fault}"),
    }
}

impl RunningEmulator {
    pub(crate) fn handle(&self) -> &EmulatorHandle {
        &self.handle
    }
}
