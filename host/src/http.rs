//! The one HTTP client: base URL, credentials, timeouts, retries, logging and error mapping for
//! every request a plugin makes. Built on first use, so commands that send nothing pay nothing.

use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT as USER_AGENT_HEADER,
};
use reqwest::{Method, StatusCode, Url};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::{self, PemObject};

use baseten_plugin_api::protocol::{HttpRequest, HttpResponse};
use baseten_plugin_api::{ErrorKind, PluginError};

use crate::context::Context;
use crate::credentials::Credential;
use crate::env_vars;
use crate::error::CliError;
use crate::log::{Logger, redact_body, redact_header};

/// Connecting may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole request may take this long unless `BASETEN_HTTP_TIMEOUT` says otherwise.
const DEFAULT_TIMEOUT_SECONDS: u64 = 60;
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

/// A client bound to one credential.
pub struct ApiClient {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    credential: Credential,
    timeout: Duration,
    /// `BASETEN_CA_BUNDLE`, when its certificates are trusted besides the platform's.
    ca_bundle: Option<PathBuf>,
}

impl ApiClient {
    /// Builds the runtime and the TLS client for `credential`.
    pub fn new(context: &Context, credential: Credential) -> Result<Self, CliError> {
        let timeout = request_timeout(context)?;
        let ca_bundle = context.var_os(env_vars::CA_BUNDLE).map(PathBuf::from);
        let extra_roots = match &ca_bundle {
            Some(path) => read_ca_bundle(path)?,
            None => Vec::new(),
        };
        // Several providers could be linked in; this process uses ring. A second call finds one
        // installed and changes nothing.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(timeout)
            .tls_backend_rustls()
            // With extra roots, reqwest verifies with the platform verifier plus these roots.
            .tls_certs_merge(extra_roots)
            .build()
            .map_err(|error| {
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
            credential,
            timeout,
            ca_bundle,
        })
    }

    /// Sends `request` with the retry policy; any status is an `Ok`, no answer an `Err`.
    pub fn send(
        &self,
        request: &HttpRequest,
        logger: &Logger,
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
        self.runtime
            .block_on(self.send_with_retries(&method, &url, body.as_deref(), logger))
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
        Ok(url)
    }

    async fn send_with_retries(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&str>,
        logger: &Logger,
    ) -> Result<HttpResponse, PluginError> {
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            logger.info(&format!(
                "> {method} {url} (attempt {attempt}/{MAX_ATTEMPTS})"
            ));
            let outcome = self.send_once(method, url, body, logger).await;
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
                    retry_for_status(method, status, headers)
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
        body: Option<&str>,
        logger: &Logger,
    ) -> Result<(HttpResponse, HeaderMap), Failure> {
        let mut builder = self
            .client
            .request(method.clone(), url.clone())
            .header(
                AUTHORIZATION,
                format!("Api-Key {}", self.credential.api_key),
            )
            .header(ACCEPT, "application/json")
            .header(USER_AGENT_HEADER, USER_AGENT);
        if let Some(body) = body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_owned());
        }
        let request = builder.build().map_err(Failure::Unsent)?;
        if logger.enabled(2) {
            log_headers(logger, ">", request.headers());
            if let Some(body) = body {
                logger.debug(&format!("> {}", redact_body(body)));
            }
        }
        let response = self
            .client
            .execute(request)
            .await
            .map_err(Failure::classify)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // Read into one buffer sized from Content-Length: a large body is not copied as it grows.
        let capacity = response
            .content_length()
            .unwrap_or(0)
            .min(MAX_PREALLOCATION);
        let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(Failure::Lost)? {
            bytes.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(bytes)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
        Ok((HttpResponse { status, body }, headers))
    }
}

/// Why an attempt got no answer.
enum Failure {
    /// The request never left: the connection was refused or could not be set up (DNS, TLS).
    Unsent(reqwest::Error),
    /// The request may have reached the server: timed out or cut off after sending.
    Lost(reqwest::Error),
}

impl Failure {
    fn classify(error: reqwest::Error) -> Self {
        if error.is_connect() || error.is_builder() {
            Self::Unsent(error)
        } else {
            Self::Lost(error)
        }
    }

    fn error(&self) -> &reqwest::Error {
        match self {
            Self::Unsent(error) | Self::Lost(error) => error,
        }
    }

    fn describe(&self) -> String {
        chain(self.error())
    }

    /// The innermost cause, which is what a user can act on ("connection refused").
    fn root_cause(&self) -> String {
        let mut cause: &dyn std::error::Error = self.error();
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
            Self::Lost(_) => None,
        }
    }

    fn into_error(
        self,
        method: &Method,
        url: &Url,
        timeout: Duration,
        ca_bundle: Option<&Path>,
    ) -> PluginError {
        let why = self.root_cause();
        match self {
            Self::Unsent(error) if is_certificate_error(&error) => PluginError::new(
                ErrorKind::Network,
                format!(
                    "could not connect to {}: the server's TLS certificate is not trusted: {why}",
                    origin(url)
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
            Self::Unsent(_) => PluginError::new(
                ErrorKind::Network,
                format!("could not connect to {}: {why}", origin(url)),
            )
            .with_hint("check the network and the remote URL"),
            Self::Lost(error) => {
                let message = if error.is_timeout() {
                    format!("{method} {url} timed out after {} s", timeout.as_secs_f64())
                } else {
                    format!("{method} {url} got no answer: {why}")
                };
                let mut error = PluginError::new(ErrorKind::Network, message).with_hint(format!(
                    "raise {} (seconds) or check the network",
                    env_vars::HTTP_TIMEOUT
                ));
                error.outcome_unknown = method != Method::GET;
                error
            }
        }
    }
}

/// Whether to retry an answer, and after how long: 429 for any method, 502/503/504 for GET only;
/// a `Retry-After` over the limit is not waited for.
fn retry_for_status(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<Option<Duration>> {
    let retryable = status == StatusCode::TOO_MANY_REQUESTS
        || (method == Method::GET && matches!(status.as_u16(), 502..=504));
    if !retryable {
        return None;
    }
    match retry_after(headers) {
        Some(delay) if delay > MAX_RETRY_AFTER => None,
        Some(delay) => Some(Some(delay)),
        None => Some(None),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and treated as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
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
fn read_ca_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, CliError> {
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
fn parse_ca_bundle(bytes: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
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
        certificates.push(
            reqwest::Certificate::from_der(certificate.as_ref())
                .map_err(|error| format!("certificate {number}: {error}"))?,
        );
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

fn request_timeout(context: &Context) -> Result<Duration, CliError> {
    match context.var(env_vars::HTTP_TIMEOUT) {
        None => Ok(Duration::from_secs(DEFAULT_TIMEOUT_SECONDS)),
        Some(value) => match value.trim().parse::<f64>() {
            Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 => {
                Ok(Duration::from_secs_f64(seconds))
            }
            _ => Err(CliError::usage(format!(
                "invalid {} `{value}`: expected a number of seconds greater than 0",
                env_vars::HTTP_TIMEOUT
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
        assert!(
            retry_for_status(&Method::GET, StatusCode::SERVICE_UNAVAILABLE, &headers).is_some()
        );
        assert!(
            retry_for_status(&Method::POST, StatusCode::SERVICE_UNAVAILABLE, &headers).is_none()
        );
        assert!(retry_for_status(&Method::POST, StatusCode::TOO_MANY_REQUESTS, &headers).is_some());
        assert!(
            retry_for_status(&Method::GET, StatusCode::INTERNAL_SERVER_ERROR, &headers).is_none()
        );
        assert!(retry_for_status(&Method::DELETE, StatusCode::BAD_GATEWAY, &headers).is_none());
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_limit() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "1".parse().expect("header value"));
        assert_eq!(
            retry_for_status(&Method::GET, StatusCode::TOO_MANY_REQUESTS, &headers),
            Some(Some(Duration::from_secs(1)))
        );
        headers.insert(RETRY_AFTER, "120".parse().expect("header value"));
        assert_eq!(
            retry_for_status(&Method::GET, StatusCode::TOO_MANY_REQUESTS, &headers),
            None
        );
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..=3 {
            let delay = backoff(attempt);
            let base = BASE_BACKOFF.saturating_mul(1 << (attempt - 1));
            assert!(
                delay >= base.mul_f64(0.5) && delay <= base.mul_f64(1.5),
                "{delay:?}"
            );
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
    fn timeouts_must_be_positive_numbers() {
        let context = Context::for_tests(&[("BASETEN_HTTP_TIMEOUT", "0")]);
        assert!(request_timeout(&context).is_err());
        let context = Context::for_tests(&[("BASETEN_HTTP_TIMEOUT", "2.5")]);
        assert_eq!(
            request_timeout(&context).ok(),
            Some(Duration::from_millis(2500))
        );
    }
}
