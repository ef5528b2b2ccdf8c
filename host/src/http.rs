//! The one HTTP client: base URL, credentials, timeouts, retries, logging and error mapping for
//! every request a plugin makes. Built on first use, so commands that send nothing pay nothing.

use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER,
    USER_AGENT as USER_AGENT_HEADER,
};
use reqwest::{Method, NoProxy, Proxy, StatusCode, Url};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use baseten_plugin_api::protocol::{HttpRequest, HttpResponse};
use baseten_plugin_api::{ErrorKind, PluginError};

use crate::context::Context;
use crate::credentials::Credential;
use crate::env_vars;
use crate::error::CliError;
use crate::log::{Logger, redact_body, redact_form, redact_header};
use crate::oauth;
use crate::terminal::Terminal;

/// Connecting may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole request may take this long unless `BASETEN_HTTP_TIMEOUT` says otherwise.
const DEFAULT_TIMEOUT_SECONDS: u64 = 60;
/// The shortest `BASETEN_HTTP_TIMEOUT`: below a millisecond no request can succeed.
const MIN_TIMEOUT_SECONDS: f64 = 0.001;
/// The longest `BASETEN_HTTP_TIMEOUT`: a day.
const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;
/// The largest response body read unless `BASETEN_MAX_RESPONSE_BYTES` says otherwise: room for a
/// list of a million API keys at a few hundred bytes each.
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 512 * 1024 * 1024;
/// Attempts per request, the first included.
const MAX_ATTEMPTS: u32 = 3;
/// The longest `Retry-After` honoured; a server asking for more gets an error instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(20);
/// The first backoff; doubled each retry, with jitter.
const BASE_BACKOFF: Duration = Duration::from_millis(250);

/// The most a Content-Length may make us reserve up front; a larger body grows as it comes.
const MAX_PREALLOCATION: u64 = 256 * 1024 * 1024;

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("baseten/", env!("CARGO_PKG_VERSION"));

/// What every request shares whatever the credential: the runtime, the connection pool with its
/// proxy, and the TLS set-up (the roots of `BASETEN_CA_BUNDLE`; the platform's certificates are
/// loaded only for a request over `https`). Reads only the environment and the CA bundle: it can
/// be built before a credential is looked for, while a plugin process starts.
pub struct Transport {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    verifier: Arc<LazyVerifier>,
}

impl Transport {
    /// Builds the transport `context`'s environment asks for.
    pub fn new(context: &Context) -> Result<Self, CliError> {
        let ca_bundle = context.var_os(env_vars::CA_BUNDLE).map(PathBuf::from);
        let extra_roots = match &ca_bundle {
            Some(path) => read_ca_bundle(path)?,
            None => Vec::new(),
        };
        let verifier = Arc::new(LazyVerifier::new(extra_roots));
        let builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            // The management API never redirects: a 3xx is reported, and the credential is never
            // sent to wherever it points. Downloads refuse redirects alike.
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(verifier.client_config());
        // Proxies come from this process's environment as read by `https_proxy`, never from
        // reqwest's own reading of it (which would send plain `http` through `HTTP_PROXY`). The
        // proxy is for `https` only; a value that is not a proxy URL is reported by
        // `ApiClient::new` for an `https` API, and means no proxy for a plain `http` one.
        let builder = match https_proxy(context).ok().flatten() {
            Some(proxy) => builder.proxy(proxy),
            None => builder.no_proxy(),
        };
        let client = builder.build().map_err(|error| {
            CliError::failure(format!("could not set up HTTP: {}", chain(&error)))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| {
                CliError::failure(format!("could not start the async runtime: {error}"))
            })?;
        Ok(Self {
            runtime,
            client,
            verifier,
        })
    }

    /// Starts loading the platform's certificates on a thread of its own, unless the API is
    /// known to be plain `http` (`BASETEN_MANAGEMENT_API_URL_OVERRIDE`): the first `https`
    /// request then finds them loaded, or waits for the rest.
    pub fn warm_up(&self, context: &Context) {
        let plain = context
            .var(env_vars::MANAGEMENT_API_URL_OVERRIDE)
            .ok()
            .flatten()
            .is_some_and(|base| {
                base.trim()
                    .get(..7)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
            });
        if plain {
            return;
        }
        let verifier = Arc::clone(&self.verifier);
        let _ = std::thread::Builder::new()
            .name("tls-roots".to_owned())
            .spawn(move || {
                let _ = verifier.get();
            });
    }
}

/// A client bound to one credential.
pub struct ApiClient {
    transport: Transport,
    credential: Credential,
    /// `Api-Key …` or `Bearer …`, checked to be sendable when the client is built; a refresh
    /// replaces it.
    authorization: Mutex<HeaderValue>,
    /// For an OAuth profile: what renews its access token.
    session: Option<oauth::Session>,
    timeout: Duration,
    /// The most bytes of a response body read before giving up.
    max_response_bytes: u64,
    /// `BASETEN_CA_BUNDLE`, when its certificates are trusted besides the platform's.
    ca_bundle: Option<PathBuf>,
}

impl ApiClient {
    /// Builds the runtime and the TLS client for `credential`.
    pub fn new(context: &Context, credential: Credential) -> Result<Self, CliError> {
        Self::with_transport(context, credential, None)
    }

    /// The client for `credential` over `transport` when one was built for `context` already
    /// ([`Transport::new`]), else over a new one. Errors come in the same order either way.
    pub fn with_transport(
        context: &Context,
        credential: Credential,
        transport: Option<Transport>,
    ) -> Result<Self, CliError> {
        let timeout = request_timeout(context)?;
        let max_response_bytes = response_limit(context)?;
        let authorization = authorization(&credential)?;
        let session = oauth::Session::for_credential(context, &credential)?;
        // Checked here, where the scheme of the API is known; the transport has the same proxy.
        proxy_for(context, &credential.api_base)?;
        let ca_bundle = context.var_os(env_vars::CA_BUNDLE).map(PathBuf::from);
        let transport = match transport {
            Some(transport) => transport,
            None => Transport::new(context)?,
        };
        // Plain `http` (only to this machine) never needs the platform's certificates; for
        // `https` they are loaded now (or waited for), so that a platform without any is
        // reported here, before anything is sent.
        if credential.api_base.scheme() == "https" {
            // Worded as when reqwest loaded them while building its client.
            transport.verifier.get().map_err(|error| {
                CliError::failure(format!(
                    "could not set up HTTP: builder error: {}",
                    chain(&error)
                ))
            })?;
        }
        Ok(Self {
            transport,
            credential,
            authorization: Mutex::new(authorization),
            session,
            timeout,
            max_response_bytes,
            ca_bundle,
        })
    }

    /// Sends `request` with the retry policy; any status is an `Ok`, no answer an `Err`. While it
    /// is on its way, Ctrl-C on `terminal` warns that it may have been carried out.
    ///
    /// With an OAuth profile, an access token expiring within a minute is renewed first, and a
    /// 401 renews it once and sends the request once more (a request refused with 401 was not
    /// carried out); a second 401 is an authentication error.
    pub fn send(
        &self,
        request: &HttpRequest,
        logger: &Logger,
        terminal: &Terminal,
    ) -> Result<HttpResponse, PluginError> {
        let url = self.url_for(request)?;
        let method = Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            PluginError::new(
                ErrorKind::Plugin,
                format!("invalid HTTP method `{}`", request.method),
            )
        })?;
        let body = match &request.body {
            Some(body) => Some(serde_json::to_string(body).map_err(|error| {
                PluginError::new(
                    ErrorKind::Plugin,
                    format!("could not encode the request body: {error}"),
                )
            })?),
            None => None,
        };
        let payload = match &body {
            Some(body) => Payload::Json(body),
            None => Payload::Empty,
        };
        if let Some(session) = &self.session
            && let Some(renewed) = session.renew_if_expiring(self, logger)?
        {
            self.use_access_token(&renewed)?;
        }
        let response = self.send_tracked(&method, &url, payload, logger, terminal)?;
        let Some(session) = &self.session else {
            return Ok(response);
        };
        if response.status != 401 {
            return Ok(response);
        }
        let renewed = session.renew_after_refusal(self, logger)?;
        self.use_access_token(&renewed)?;
        let response = self.send_tracked(&method, &url, payload, logger, terminal)?;
        if response.status == 401 {
            return Err(session.refused_after_renewal(&response).into());
        }
        Ok(response)
    }

    /// Sends with the retry policy, telling `terminal` while it is on its way.
    fn send_tracked(
        &self,
        method: &Method,
        url: &Url,
        payload: Payload<'_>,
        logger: &Logger,
        terminal: &Terminal,
    ) -> Result<HttpResponse, PluginError> {
        terminal.request_sending(method.as_str(), url.path());
        let answer = self
            .transport
            .runtime
            .block_on(self.send_with_retries(method, url, payload, true, logger));
        terminal.request_answered();
        answer
    }

    /// Posts a form to `path` on the API base without the credential: the OAuth endpoints,
    /// where the form itself says who is asking. Same retries, limits and logging (the form's
    /// secret fields redacted) as any request.
    pub fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        logger: &Logger,
    ) -> Result<HttpResponse, PluginError> {
        let url = self.url_for(&HttpRequest {
            method: "POST".to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            body: None,
        })?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.transport.runtime.block_on(self.send_with_retries(
            &Method::POST,
            &url,
            Payload::Form(&body),
            false,
            logger,
        ))
    }

    /// The longest one request may take with its retries: every attempt connecting and
    /// answering as late as allowed, and the longest waits between them.
    pub fn longest_exchange(&self) -> Duration {
        let attempts = MAX_ATTEMPTS;
        (CONNECT_TIMEOUT + self.timeout).saturating_mul(attempts)
            + MAX_RETRY_AFTER.saturating_mul(attempts - 1)
    }

    /// From now on, requests carry this access token.
    fn use_access_token(&self, access_token: &str) -> Result<(), PluginError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {access_token}")).map_err(|_| {
            PluginError::new(
                ErrorKind::Auth,
                "the renewed access token holds a line break or another control character",
            )
        })?;
        value.set_sensitive(true);
        *self
            .authorization
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = value;
        Ok(())
    }

    /// The base URL with the request's path and query; the path may not leave the base's origin.
    fn url_for(&self, request: &HttpRequest) -> Result<Url, PluginError> {
        let invalid = || {
            PluginError::new(
                ErrorKind::Plugin,
                format!("invalid request path `{}`", request.path),
            )
        };
        if !request.path.starts_with('/') {
            return Err(invalid());
        }
        let base = self.credential.api_base.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}{}", request.path)).map_err(|_| invalid())?;
        if url.origin() != self.credential.api_base.origin() {
            return Err(invalid());
        }
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        check_sendable(&url)?;
        Ok(url)
    }

    async fn send_with_retries(
        &self,
        method: &Method,
        url: &Url,
        payload: Payload<'_>,
        authorize: bool,
        logger: &Logger,
    ) -> Result<HttpResponse, PluginError> {
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            logger.info(&format!(
                "> {method} {url} (attempt {attempt}/{MAX_ATTEMPTS})"
            ));
            let outcome = self
                .send_once(method, url, payload, authorize, logger)
                .await;
            let elapsed = started.elapsed();
            let retry = match &outcome {
                Ok((response, headers)) => {
                    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
                    logger.info(&format!(
                        "< {} {} in {} ms, {} bytes",
                        response.status,
                        status.canonical_reason().unwrap_or(""),
                        elapsed.as_millis(),
                        response.body.len()
                    ));
                    if logger.enabled(2) {
                        log_headers(logger, "<", headers);
                        logger.debug(&format!("< {}", redact_body(&response.body)));
                    }
                    match retry_for_status(method, status, headers) {
                        Retry::No => None,
                        Retry::After(delay) => Some(delay),
                        Retry::TooLate(wait) => {
                            return Err(wait_too_long(response, wait));
                        }
                    }
                }
                Err(failure) => {
                    logger.info(&format!(
                        "! {method} {url} failed after {} ms: {}",
                        elapsed.as_millis(),
                        failure.describe()
                    ));
                    failure.retry(method)
                }
            };
            match retry {
                Some(delay) if attempt < MAX_ATTEMPTS => {
                    let delay = delay.unwrap_or_else(|| backoff(attempt));
                    logger.info(&format!("* retrying in {} ms", delay.as_millis()));
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                _ => {
                    return match outcome {
                        Ok((response, _)) => Ok(response),
                        Err(failure) => Err(failure.into_error(
                            method,
                            url,
                            self.timeout,
                            self.ca_bundle.as_deref(),
                        )),
                    };
                }
            }
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        payload: Payload<'_>,
        authorize: bool,
        logger: &Logger,
    ) -> Result<(HttpResponse, HeaderMap), Failure> {
        let mut builder = self
            .transport
            .client
            .request(method.clone(), url.clone())
            .timeout(self.timeout)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT_HEADER, USER_AGENT);
        if authorize {
            let authorization = self
                .authorization
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            builder = builder.header(AUTHORIZATION, authorization);
        }
        builder = match payload {
            Payload::Empty => builder,
            Payload::Json(body) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_owned()),
            Payload::Form(body) => builder
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.to_owned()),
        };
        let request = builder.build().map_err(Failure::Unbuildable)?;
        if logger.enabled(2) {
            log_headers(logger, ">", request.headers());
            match payload {
                Payload::Empty => {}
                Payload::Json(body) => logger.debug(&format!("> {}", redact_body(body))),
                Payload::Form(body) => logger.debug(&format!("> {}", redact_form(body))),
            }
        }
        let response = self
            .transport
            .client
            .execute(request)
            .await
            .map_err(Failure::classify)?;
        let (status, headers, bytes) =
            read_response(response, self.max_response_bytes, &mut |_, _| {}).await?;
        let status = status.as_u16();
        let body = String::from_utf8(bytes)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
        Ok((HttpResponse { status, body }, headers))
    }
}

/// A client for downloads (plugin files and the plugin index): the API client's timeouts,
/// retries for GET, proxies, `BASETEN_CA_BUNDLE`, `-v` logging and size limit, but never a
/// credential or any `Authorization` header, and never a redirect followed.
pub struct Downloader {
    transport: Transport,
    timeout: Duration,
    max_response_bytes: u64,
    ca_bundle: Option<PathBuf>,
}

/// How far a download got: bytes read, and the size announced when there was one.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

impl Downloader {
    /// Builds the runtime and the TLS client, with the settings the API client reads.
    pub fn new(context: &Context) -> Result<Self, CliError> {
        let timeout = request_timeout(context)?;
        let max_response_bytes = response_limit(context)?;
        // `https` downloads go through the proxy the environment names; plain `http` (loopback
        // only) never does: `Proxy::https` applies to `https` URLs alone.
        let https = Url::parse("https://downloads.invalid")
            .map_err(|error| CliError::failure(format!("could not set up HTTP: {error}")))?;
        // Checked here: the transport takes the proxy for `https` without reporting a bad one.
        proxy_for(context, &https)?;
        let ca_bundle = context.var_os(env_vars::CA_BUNDLE).map(PathBuf::from);
        let transport = Transport::new(context)?;
        Ok(Self {
            transport,
            timeout,
            max_response_bytes,
            ca_bundle,
        })
    }

    /// The body of `GET url`, retried as any GET is; a status other than 2xx, a redirect or a
    /// body over the size limit is an error naming the URL. `progress` hears of every chunk.
    pub fn get(
        &self,
        url: &Url,
        logger: &Logger,
        progress: Progress<'_>,
    ) -> Result<Vec<u8>, CliError> {
        let method = Method::GET;
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            logger.info(&format!("> GET {url} (attempt {attempt}/{MAX_ATTEMPTS})"));
            let outcome = self
                .transport
                .runtime
                .block_on(self.get_once(url, logger, progress));
            let elapsed = started.elapsed();
            let retry = match &outcome {
                Ok((status, headers, body)) => {
                    logger.info(&format!(
                        "< {} {} in {} ms, {} bytes",
                        status.as_u16(),
                        status.canonical_reason().unwrap_or(""),
                        elapsed.as_millis(),
                        body.len()
                    ));
                    if logger.enabled(2) {
                        log_headers(logger, "<", headers);
                    }
                    match retry_for_status(&method, *status, headers) {
                        Retry::After(delay) => Some(delay),
                        Retry::No | Retry::TooLate(_) => None,
                    }
                }
                Err(failure) => {
                    logger.info(&format!(
                        "! GET {url} failed after {} ms: {}",
                        elapsed.as_millis(),
                        failure.describe()
                    ));
                    failure.retry(&method)
                }
            };
            match retry {
                Some(delay) if attempt < MAX_ATTEMPTS => {
                    let delay = delay.unwrap_or_else(|| backoff(attempt));
                    logger.info(&format!("* retrying in {} ms", delay.as_millis()));
                    std::thread::sleep(delay);
                    attempt += 1;
                }
                _ => return self.finish(url, outcome),
            }
        }
    }

    fn finish(
        &self,
        url: &Url,
        outcome: Result<(StatusCode, HeaderMap, Vec<u8>), Failure>,
    ) -> Result<Vec<u8>, CliError> {
        let shown = crate::sanitize::cut(&crate::sanitize::printable(url.as_str()), 500);
        match outcome {
            Ok((status, _, body)) if status.is_success() => Ok(body),
            Ok((status, _, _)) => {
                let kind = match status.as_u16() {
                    404 | 410 => ErrorKind::NotFound,
                    401 | 403 => ErrorKind::Client,
                    400..=499 => ErrorKind::Client,
                    _ => ErrorKind::Server,
                };
                Err(CliError::new(
                    kind,
                    format!(
                        "could not download `{shown}`: HTTP {} {}",
                        status.as_u16(),
                        status.canonical_reason().unwrap_or("")
                    )
                    .trim_end()
                    .to_owned(),
                ))
            }
            Err(Failure::Redirected { status, location }) => Err(CliError::failure(format!(
                "could not download `{shown}`: {}",
                redirect_text(status, location.as_deref())
            ))
            .with_hint(
                "downloads never follow redirects: use the URL it points to, if you trust it",
            )),
            Err(failure) => {
                let error: CliError = failure
                    .into_error(&Method::GET, url, self.timeout, self.ca_bundle.as_deref())
                    .into();
                Err(CliError {
                    message: format!("could not download `{shown}`: {}", error.message),
                    ..error
                })
            }
        }
    }

    async fn get_once(
        &self,
        url: &Url,
        logger: &Logger,
        progress: Progress<'_>,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), Failure> {
        let request = self
            .transport
            .client
            .get(url.clone())
            .timeout(self.timeout)
            .header(USER_AGENT_HEADER, USER_AGENT)
            .build()
            .map_err(Failure::Unbuildable)?;
        if logger.enabled(2) {
            log_headers(logger, ">", request.headers());
        }
        let response = self
            .transport
            .client
            .execute(request)
            .await
            .map_err(Failure::classify)?;
        read_response(response, self.max_response_bytes, progress).await
    }
}

/// The status, headers and body of `response`. A redirect is not followed but reported. A body
/// over `limit` is refused before reading when its size is announced, else counted as it comes
/// and the connection dropped as soon as it is over. `progress` hears of every chunk of a 2xx
/// body, with the size announced.
async fn read_response(
    mut response: reqwest::Response,
    limit: u64,
    progress: Progress<'_>,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), Failure> {
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        return Err(Failure::Redirected { status, location });
    }
    let headers = response.headers().clone();
    let announced = response.content_length();
    if announced.unwrap_or(0) > limit {
        return Err(Failure::TooLarge { limit });
    }
    // Read into one buffer sized from Content-Length: a large body is not copied as it grows.
    let capacity = announced.unwrap_or(0).min(MAX_PREALLOCATION);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(Failure::Lost)? {
        if u64::try_from(bytes.len() + chunk.len()).unwrap_or(u64::MAX) > limit {
            return Err(Failure::TooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
        if status.is_success() {
            progress(u64::try_from(bytes.len()).unwrap_or(u64::MAX), announced);
        }
    }
    Ok((status, headers, bytes))
}

/// What a request carries.
#[derive(Clone, Copy)]
enum Payload<'a> {
    Empty,
    Json(&'a str),
    /// `application/x-www-form-urlencoded`, for the OAuth endpoints.
    Form(&'a str),
}

/// The server certificate verifier: the platform's (its root store, plus the roots of
/// `BASETEN_CA_BUNDLE`), built on first use. Building it reads and parses every certificate the
/// system has (about 16 M instructions, three quarters of a small command's whole run on Linux),
/// which a request over plain `http` never needs.
#[derive(Debug)]
struct LazyVerifier {
    extra_roots: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyVerifier {
    fn new(extra_roots: Vec<CertificateDer<'static>>) -> Self {
        // Several providers could be linked in; this process uses ring. A second call finds one
        // installed and changes nothing.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        Self {
            extra_roots,
            provider,
            verifier: OnceLock::new(),
        }
    }

    /// The platform verifier, built now if it was not yet.
    fn get(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.verifier
            .get_or_init(|| {
                let provider = Arc::clone(&self.provider);
                if self.extra_roots.is_empty() {
                    rustls_platform_verifier::Verifier::new(provider)
                } else {
                    rustls_platform_verifier::Verifier::new_with_extra_roots(
                        self.extra_roots.iter().cloned(),
                        provider,
                    )
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The TLS configuration reqwest would build with the platform verifier and these roots:
    /// every protocol version, HTTP/1.1 announced, no client certificate.
    fn client_config(self: &Arc<Self>) -> rustls::ClientConfig {
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(rustls::ALL_VERSIONS);
        let builder = match builder {
            Ok(builder) => builder,
            // The provider supports every version rustls has: never reached.
            Err(_) => rustls::ClientConfig::builder_with_provider(Arc::clone(&self.provider))
                .with_safe_default_protocol_versions()
                .unwrap_or_else(|_| rustls::ClientConfig::builder()),
        };
        let mut config = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(self) as Arc<dyn ServerCertVerifier>)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls13_signature(message, cert, dss)
    }

    /// Asked for the first message of a handshake: answered from the provider, as the platform
    /// verifier does, without loading any certificate.
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why an attempt got no answer that can be handed to the plugin.
enum Failure {
    /// The request could not be built from what was given: nothing was sent, and sending again
    /// would fail the same way.
    Unbuildable(reqwest::Error),
    /// The request never left: the connection was refused or could not be set up (DNS, TLS).
    Unsent(reqwest::Error),
    /// The request may have reached the server: timed out or cut off after sending.
    Lost(reqwest::Error),
    /// The server answered with a redirect, which is not followed.
    Redirected {
        status: StatusCode,
        location: Option<String>,
    },
    /// The body was larger than `BASETEN_MAX_RESPONSE_BYTES`; reading stopped there.
    TooLarge { limit: u64 },
}

impl Failure {
    fn classify(error: reqwest::Error) -> Self {
        if error.is_builder() {
            Self::Unbuildable(error)
        } else if error.is_connect() {
            Self::Unsent(error)
        } else {
            Self::Lost(error)
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Unbuildable(error) | Self::Unsent(error) | Self::Lost(error) => chain(error),
            Self::Redirected { status, location } => redirect_text(*status, location.as_deref()),
            Self::TooLarge { limit } => too_large_text(*limit),
        }
    }

    /// The innermost cause, which is what a user can act on ("connection refused").
    fn root_cause(error: &reqwest::Error) -> String {
        let mut cause: &dyn std::error::Error = error;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        let text = cause.to_string();
        let text = match text.find(" (os error ") {
            Some(index) => text[..index].to_owned(),
            None => text,
        };
        let mut characters = text.chars();
        match characters.next() {
            Some(first) => first.to_lowercase().chain(characters).collect(),
            None => text,
        }
    }

    /// Whether to try again (`Some(None)`: after the usual backoff). GET is always safe to
    /// repeat; other methods only when the server provably never saw the request.
    fn retry(&self, method: &Method) -> Option<Option<Duration>> {
        match self {
            Self::Unsent(error) if is_certificate_error(error) => None,
            Self::Unsent(_) => Some(None),
            Self::Lost(_) if method == Method::GET => Some(None),
            Self::Lost(_)
            | Self::Unbuildable(_)
            | Self::Redirected { .. }
            | Self::TooLarge { .. } => None,
        }
    }

    fn into_error(
        self,
        method: &Method,
        url: &Url,
        timeout: Duration,
        ca_bundle: Option<&Path>,
    ) -> PluginError {
        match self {
            Self::Unbuildable(error) => PluginError::new(
                ErrorKind::Usage,
                format!(
                    "could not build the request {method} {}: {}",
                    origin(url),
                    Self::root_cause(&error)
                ),
            )
            .with_hint("check the values given on the command line"),
            // A definite answer that the request was not carried out there.
            Self::Redirected { status, location } => PluginError::new(
                ErrorKind::Failure,
                redirect_text(status, location.as_deref()),
            )
            .with_hint(format!(
                "the management API never redirects: check {} or the profile's remote URL",
                env_vars::MANAGEMENT_API_URL_OVERRIDE
            )),
            Self::TooLarge { limit } => {
                let mut error = PluginError::new(
                    ErrorKind::Failure,
                    format!("{method} {url}: {}", too_large_text(limit)),
                )
                .with_hint(format!(
                    "if an answer this large is expected, raise {} (bytes)",
                    env_vars::MAX_RESPONSE_BYTES
                ));
                // The server answered, but what it said was not read.
                error.outcome_unknown = method != Method::GET;
                error
            }
            Self::Unsent(error) if is_certificate_error(&error) => PluginError::new(
                ErrorKind::Network,
                format!(
                    "could not connect to {}: the server's TLS certificate is not trusted: {}",
                    origin(url),
                    Self::root_cause(&error)
                ),
            )
            .with_hint(match ca_bundle {
                Some(path) => format!(
                    "{} `{}` does not hold the CA that signed it",
                    env_vars::CA_BUNDLE,
                    path.display()
                ),
                None => format!(
                    "if the server uses a private CA, point {} at its PEM file",
                    env_vars::CA_BUNDLE
                ),
            }),
            Self::Unsent(error) if error.is_timeout() => PluginError::new(
                ErrorKind::Network,
                format!(
                    "could not connect to {} within {} s",
                    origin(url),
                    CONNECT_TIMEOUT.as_secs()
                ),
            )
            .with_hint("check the network and the remote URL"),
            Self::Unsent(error) => PluginError::new(
                ErrorKind::Network,
                format!(
                    "could not connect to {}: {}",
                    origin(url),
                    Self::root_cause(&error)
                ),
            )
            .with_hint("check the network and the remote URL"),
            Self::Lost(error) => {
                let (message, hint) = if error.is_timeout() {
                    (
                        format!("{method} {url} timed out after {} s", timeout.as_secs_f64()),
                        format!(
                            "raise {} (seconds) or check the network",
                            env_vars::HTTP_TIMEOUT
                        ),
                    )
                } else {
                    (
                        format!("{method} {url} got no answer: {}", Self::root_cause(&error)),
                        // The connection was cut, not slow: a longer timeout would not help.
                        if method == Method::GET {
                            "check the network and try again".to_owned()
                        } else {
                            "the request may have been carried out; check before sending it again"
                                .to_owned()
                        },
                    )
                };
                let mut error = PluginError::new(ErrorKind::Network, message).with_hint(hint);
                error.outcome_unknown = method != Method::GET;
                error
            }
        }
    }
}

/// What to do with an answer.
#[derive(Debug, PartialEq, Eq)]
enum Retry {
    /// Hand it to the plugin.
    No,
    /// Send again, after this long (`None`: the usual backoff).
    After(Option<Duration>),
    /// The server asked to wait this long, more than [`MAX_RETRY_AFTER`]: give up and say so.
    TooLate(Duration),
}

/// Whether to retry an answer, and after how long: 429 for any method, 502/503/504 for GET only;
/// a `Retry-After` over the limit is not waited for.
fn retry_for_status(method: &Method, status: StatusCode, headers: &HeaderMap) -> Retry {
    let retryable = status == StatusCode::TOO_MANY_REQUESTS
        || (method == Method::GET && matches!(status.as_u16(), 502..=504));
    if !retryable {
        return Retry::No;
    }
    match retry_after(headers, SystemTime::now()) {
        Some(delay) if delay > MAX_RETRY_AFTER => Retry::TooLate(delay),
        Some(delay) => Retry::After(Some(delay)),
        None => Retry::After(None),
    }
}

/// `Retry-After` as seconds or as an HTTP date (a date in the past means now); anything else
/// is treated as absent.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // More seconds than fit in 64 bits is still a wait, and a longer one than anyone makes.
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(Duration::from_secs(u64::MAX));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The error for an answer whose `Retry-After` is longer than the tool waits: what the status
/// says, and that the server asked for a wait that was not made.
fn wait_too_long(response: &HttpResponse, wait: Duration) -> PluginError {
    // Round up: "asked to wait 20 s" must never read as within the limit.
    let seconds = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0));
    let mut error: PluginError =
        crate::http_errors::classify(response.status, &response.body).into();
    error.message = format!(
        "{}; the server asked to wait {seconds} s before trying again, more than the {} s \
         `baseten` waits",
        error.message,
        MAX_RETRY_AFTER.as_secs()
    );
    error.hint = Some(format!("try again in {seconds} s"));
    error
}

/// Exponential backoff with jitter: 250 ms, 500 ms, … each ±50%.
fn backoff(attempt: u32) -> Duration {
    let base = BASE_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    let jitter = jitter_fraction();
    base.mul_f64(0.5 + jitter)
}

/// A number in [0, 1) from the clock: jitter needs spread between processes, not secrecy.
fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

/// Whether the connection failed because the server's certificate was refused (unknown issuer,
/// expired, wrong name…): retrying cannot help, and the user has something to fix.
fn is_certificate_error(error: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_));
        }
        next = match cause.downcast_ref::<std::io::Error>() {
            // The handshake's error arrives as an `io::Error` wrapping an `io::Error` wrapping the
            // `rustls::Error`, and `io::Error::source` skips the error it wraps: look inside.
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    false
}

/// The certificates of the `BASETEN_CA_BUNDLE` file, checked as the verifier will check them,
/// so that a bad bundle is named here rather than reported as a failure to set up HTTP.
fn read_ca_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, CliError> {
    let hint = format!(
        "point {} at a PEM file of CA certificates, or unset it",
        env_vars::CA_BUNDLE
    );
    let bytes = std::fs::read(path).map_err(|error| {
        CliError::failure(format!(
            "could not read {} `{}`: {error}",
            env_vars::CA_BUNDLE,
            path.display()
        ))
        .with_hint(hint.clone())
    })?;
    parse_ca_bundle(&bytes).map_err(|why| {
        CliError::usage(format!(
            "invalid {} `{}`: {why}",
            env_vars::CA_BUNDLE,
            path.display()
        ))
        .with_hint(hint)
    })
}

/// Every `CERTIFICATE` section of a PEM bundle (other sections are skipped); at least one.
fn parse_ca_bundle(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certificates = Vec::new();
    for certificate in CertificateDer::pem_slice_iter(bytes) {
        let certificate = certificate.map_err(|error| match error {
            pem::Error::MissingSectionEnd { .. } => "a PEM section has no `-----END` line".into(),
            pem::Error::Base64Decode(_) => "a PEM section is not valid base64".into(),
            _ => "it is not valid PEM".to_owned(),
        })?;
        let number = certificates.len() + 1;
        rustls::RootCertStore::empty()
            .add(certificate.clone())
            .map_err(|_| format!("certificate {number} is not a valid X.509 certificate"))?;
        certificates.push(certificate);
    }
    if certificates.is_empty() {
        return Err("no `-----BEGIN CERTIFICATE-----` section in it".into());
    }
    Ok(certificates)
}

fn log_headers(logger: &Logger, direction: &str, headers: &HeaderMap) {
    for (name, value) in headers {
        let value = redact_header(name.as_str(), value.as_bytes());
        logger.debug(&format!("{direction} {name}: {value}"));
    }
}

/// An error and its causes on one line, without repeats.
fn chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// `HTTP 302 redirect to `…`, not followed`, the location printable and at most 500 characters.
fn redirect_text(status: StatusCode, location: Option<&str>) -> String {
    let status = status.as_u16();
    match location {
        Some(location) => {
            let location = crate::sanitize::cut(&crate::sanitize::printable(location), 500);
            format!("HTTP {status} redirect to `{location}`, not followed")
        }
        None => format!("HTTP {status} redirect, not followed"),
    }
}

fn too_large_text(limit: u64) -> String {
    format!("the response is larger than the limit of {limit} bytes; reading stopped there")
}

/// Refuses a URL the HTTP layer could not put in a request line (a 100 KB path parameter), so
/// that it is reported as what it is instead of as a network failure, and nothing is attempted.
fn check_sendable(url: &Url) -> Result<(), PluginError> {
    match http::Uri::try_from(url.as_str()) {
        Ok(_) => Ok(()),
        Err(error) => Err(PluginError::new(
            ErrorKind::Usage,
            format!(
                "cannot send a request to a URL of {} bytes: {error}",
                url.as_str().len()
            ),
        )
        .with_hint("check the values given on the command line; one of them may be far too long")),
    }
}

/// `Api-Key …` (or `Bearer …` for an OAuth profile's access token) as a header value marked
/// sensitive; a secret that cannot be sent (a line break or another control character inside) is
/// a credential error, found before anything is sent.
fn authorization(credential: &Credential) -> Result<HeaderValue, CliError> {
    let scheme = if credential.oauth.is_some() {
        "Bearer"
    } else {
        "Api-Key"
    };
    let mut value =
        HeaderValue::from_str(&format!("{scheme} {}", credential.api_key)).map_err(|_| {
            CliError::new(
                ErrorKind::Auth,
                format!(
                    "invalid {} from {}: it holds a line break or another control character",
                    if credential.oauth.is_some() {
                        "access token"
                    } else {
                        "API key"
                    },
                    credential.source
                ),
            )
            .with_hint("give the key alone, on one line")
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The proxy for requests to `api_base`. Plain `http` (allowed only to this machine) never goes
/// through a proxy: it would see the credential in clear. For `https`: `HTTPS_PROXY`, else
/// `ALL_PROXY` (upper case first), minus the hosts of `NO_PROXY`.
fn proxy_for(context: &Context, api_base: &Url) -> Result<Option<Proxy>, CliError> {
    if api_base.scheme() != "https" {
        return Ok(None);
    }
    https_proxy(context)
}

/// The proxy for `https` requests, whatever the API's scheme: `HTTPS_PROXY`, else `ALL_PROXY`
/// (upper case first), minus the hosts of `NO_PROXY`.
fn https_proxy(context: &Context) -> Result<Option<Proxy>, CliError> {
    let found = match first_set(context, &env_vars::HTTPS_PROXY)? {
        Some(found) => Some(found),
        None => first_set(context, &env_vars::ALL_PROXY)?,
    };
    let Some((name, value)) = found else {
        return Ok(None);
    };
    // The value may hold a proxy password: it is never echoed.
    let proxy = Proxy::https(value.as_str()).map_err(|_| {
        CliError::usage(format!("invalid {name}: it is not a proxy URL"))
            .with_hint(format!("set {name} to `http://HOST:PORT`, or unset it"))
    })?;
    let no_proxy = first_set(context, &env_vars::NO_PROXY)?
        .and_then(|(_, hosts)| NoProxy::from_string(&hosts));
    Ok(Some(proxy.no_proxy(no_proxy)))
}

/// The first of `names` that is set, with its value.
fn first_set(
    context: &Context,
    names: &[&'static str],
) -> Result<Option<(&'static str, String)>, CliError> {
    for name in names {
        if let Some(value) = context.var(name)? {
            return Ok(Some((name, value)));
        }
    }
    Ok(None)
}

fn request_timeout(context: &Context) -> Result<Duration, CliError> {
    match context.var(env_vars::HTTP_TIMEOUT)? {
        None => Ok(Duration::from_secs(DEFAULT_TIMEOUT_SECONDS)),
        Some(value) => match value.trim().parse::<f64>() {
            Ok(seconds) if (MIN_TIMEOUT_SECONDS..=MAX_TIMEOUT_SECONDS).contains(&seconds) => {
                Ok(Duration::from_secs_f64(seconds))
            }
            _ => Err(CliError::usage(format!(
                "invalid {} `{value}`: expected a number of seconds from {MIN_TIMEOUT_SECONDS} to \
                 {MAX_TIMEOUT_SECONDS} (a day)",
                env_vars::HTTP_TIMEOUT
            ))),
        },
    }
}

pub(crate) fn response_limit(context: &Context) -> Result<u64, CliError> {
    match context.var(env_vars::MAX_RESPONSE_BYTES)? {
        None => Ok(DEFAULT_MAX_RESPONSE_BYTES),
        Some(value) => match value.trim().parse::<u64>() {
            Ok(bytes) if bytes > 0 => Ok(bytes),
            _ => Err(CliError::usage(format!(
                "invalid {} `{value}`: expected a whole number of bytes, at least 1",
                env_vars::MAX_RESPONSE_BYTES
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_answers_are_retried() {
        let headers = HeaderMap::new();
        let retry = |method: &Method, status| retry_for_status(method, status, &headers);
        assert_eq!(
            retry(&Method::GET, StatusCode::SERVICE_UNAVAILABLE),
            Retry::After(None)
        );
        assert_eq!(
            retry(&Method::POST, StatusCode::SERVICE_UNAVAILABLE),
            Retry::No
        );
        assert_eq!(
            retry(&Method::POST, StatusCode::TOO_MANY_REQUESTS),
            Retry::After(None)
        );
        assert_eq!(
            retry(&Method::GET, StatusCode::INTERNAL_SERVER_ERROR),
            Retry::No
        );
        assert_eq!(retry(&Method::DELETE, StatusCode::BAD_GATEWAY), Retry::No);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_limit() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "1".parse().expect("header value"));
        assert_eq!(
            retry_for_status(&Method::GET, StatusCode::TOO_MANY_REQUESTS, &headers),
            Retry::After(Some(Duration::from_secs(1)))
        );
        headers.insert(RETRY_AFTER, "120".parse().expect("header value"));
        assert_eq!(
            retry_for_status(&Method::GET, StatusCode::TOO_MANY_REQUESTS, &headers),
            Retry::TooLate(Duration::from_secs(120))
        );
    }

    #[test]
    fn retry_after_may_be_an_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").expect("a date");
        let mut headers = HeaderMap::new();
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2026 07:28:05 GMT"
                .parse()
                .expect("header value"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(5)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2026 07:27:00 GMT"
                .parse()
                .expect("header value"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, "soon".parse().expect("header value"));
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(
            RETRY_AFTER,
            "99999999999999999999999".parse().expect("header value"),
        );
        assert_eq!(
            retry_after(&headers, now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn a_wait_over_the_limit_is_reported_with_its_length() {
        let response = HttpResponse {
            status: 429,
            body: r#"{"message":"slow down"}"#.to_owned(),
        };
        let error = wait_too_long(&response, Duration::from_millis(120_500));
        assert_eq!(error.kind, ErrorKind::Client);
        assert_eq!(
            error.message,
            "HTTP 429: slow down; the server asked to wait 121 s before trying again, more than \
             the 20 s `baseten` waits"
        );
        assert_eq!(error.hint.as_deref(), Some("try again in 121 s"));
    }

    #[test]
    fn backoff_is_the_readmes_250_ms_then_500_ms_each_within_half() {
        // The README's numbers, written out: a change to the code's constants must fail here.
        for (attempt, low, high) in [(1, 125, 375), (2, 250, 750)] {
            for _ in 0..100 {
                let delay = backoff(attempt);
                assert!(
                    delay >= Duration::from_millis(low) && delay <= Duration::from_millis(high),
                    "retry after attempt {attempt}: {delay:?}"
                );
            }
        }
    }

    #[test]
    fn a_ca_bundle_needs_pem_certificates() {
        let why = |bytes: &[u8]| parse_ca_bundle(bytes).err().unwrap_or_default();
        assert_eq!(why(b""), "no `-----BEGIN CERTIFICATE-----` section in it");
        // A key alone is skipped, so holds no certificate either.
        assert_eq!(
            why(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            "no `-----BEGIN CERTIFICATE-----` section in it"
        );
        assert_eq!(
            why(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            "certificate 1 is not a valid X.509 certificate"
        );
        assert_eq!(
            why(b"-----BEGIN CERTIFICATE-----\nAAAA\n"),
            "a PEM section has no `-----END` line"
        );
    }

    #[test]
    fn an_unreadable_ca_bundle_is_a_failure_naming_file_and_variable() {
        let missing = Path::new("/nonexistent/baseten/ca.pem");
        let error = read_ca_bundle(missing).expect_err("an error");
        assert_eq!(error.kind, ErrorKind::Failure);
        assert!(
            error
                .message
                .starts_with("could not read BASETEN_CA_BUNDLE `/nonexistent/baseten/ca.pem`: "),
            "{}",
            error.message
        );
    }

    #[test]
    fn timeouts_must_be_from_a_millisecond_to_a_day() {
        let timeout =
            |value| request_timeout(&Context::for_tests(&[("BASETEN_HTTP_TIMEOUT", value)]));
        for bad in ["0", "0.0001", "1e-9", "86401", "inf", "NaN", "-1", "soon"] {
            let error = timeout(bad).expect_err(bad);
            assert_eq!(error.exit_code(), 2);
            assert!(
                error
                    .message
                    .ends_with("expected a number of seconds from 0.001 to 86400 (a day)"),
                "{}",
                error.message
            );
        }
        assert_eq!(timeout("2.5").ok(), Some(Duration::from_millis(2500)));
        assert_eq!(timeout("0.001").ok(), Some(Duration::from_millis(1)));
        assert_eq!(timeout("86400").ok(), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn the_response_limit_is_a_positive_number_of_bytes() {
        let limit = |value| {
            response_limit(&Context::for_tests(&[(
                "BASETEN_MAX_RESPONSE_BYTES",
                value,
            )]))
        };
        // The README's default, written out: 536870912 bytes, 512 MiB.
        assert_eq!(
            response_limit(&Context::for_tests(&[])).ok(),
            Some(536_870_912)
        );
        assert_eq!(limit("1000").ok(), Some(1000));
        for bad in ["0", "-1", "1.5", "1MB"] {
            assert_eq!(
                limit(bad).map_err(|error| error.exit_code()),
                Err(2),
                "{bad}"
            );
        }
    }

    #[test]
    fn plain_http_never_goes_through_a_proxy() {
        let context = Context::for_tests(&[
            ("HTTP_PROXY", "http://proxy:3128"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("ALL_PROXY", "http://proxy:3128"),
        ]);
        let base = Url::parse("http://127.0.0.1:8080").expect("a URL");
        assert!(proxy_for(&context, &base).expect("no error").is_none());
        let base = Url::parse("https://api.example").expect("a URL");
        assert!(proxy_for(&context, &base).expect("no error").is_some());
        // HTTP_PROXY alone is for http, which is never proxied.
        let context = Context::for_tests(&[("HTTP_PROXY", "http://proxy:3128")]);
        assert!(proxy_for(&context, &base).expect("no error").is_none());
        let context = Context::for_tests(&[("all_proxy", "http://proxy:3128")]);
        assert!(proxy_for(&context, &base).expect("no error").is_some());
    }

    #[test]
    fn a_url_too_long_for_a_request_line_is_a_usage_error() {
        let url = Url::parse(&format!(
            "http://127.0.0.1/v1/api_keys/{}",
            "a".repeat(100_000)
        ))
        .expect("a URL");
        let error = check_sendable(&url).expect_err("too long");
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(
            check_sendable(&Url::parse("http://127.0.0.1/v1/api_keys").expect("a URL")).is_ok()
        );
    }
}
