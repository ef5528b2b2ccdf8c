//! What the host lends a plugin during a command: HTTP with credentials, logging, and questions
//! to the user. Credentials and the HTTP client are set up on the first request only.

use std::cell::{Cell, OnceCell, RefCell};

use baseten_plugin_api::abi::{HostBody, HostFunctions};
use baseten_plugin_api::protocol::{HttpOutcome, HttpRequest, HttpResponse};
use baseten_plugin_api::{ErrorKind, PluginError};

use crate::context::Context;
use crate::credentials;
use crate::http::{ApiClient, Transport};
use crate::log::Logger;

/// The host side of one plugin invocation.
pub struct PluginServices<'a> {
    context: &'a Context,
    profile: Option<&'a str>,
    logger: &'a Logger,
    client: OnceCell<Result<ApiClient, PluginError>>,
    /// The transport built ahead of the first request ([`Self::prepare`]), until it is used.
    prepared: Cell<Option<Transport>>,
    /// Response bodies lent to a library plugin ([`HostFunctions::http_body`]), body `n` at
    /// index `n - 1`: kept, unchanged, until the services are dropped after the result is shown.
    bodies: RefCell<Vec<Box<str>>>,
}

impl<'a> PluginServices<'a> {
    pub fn new(context: &'a Context, profile: Option<&'a str>, logger: &'a Logger) -> Self {
        Self {
            context,
            profile,
            logger,
            client: OnceCell::new(),
            prepared: Cell::new(None),
            bodies: RefCell::new(Vec::new()),
        }
    }

    /// Builds the credential-free part of HTTP now, while the host would otherwise wait (for an
    /// executable plugin to start), and starts loading the platform's certificates on a thread.
    /// No credential is looked for: a command that sends nothing still never touches it, and a
    /// problem setting up is reported by the first request, in its usual place.
    pub fn prepare(&self) {
        if self.client.get().is_some() {
            return;
        }
        if let Ok(transport) = Transport::new(self.context) {
            transport.warm_up(self.context);
            self.prepared.set(Some(transport));
        }
    }

    /// The error that stopped the client from being set up (no credential, a bad remote URL),
    /// if that happened: it is the cause of whatever the plugin reports, so the host reports it
    /// as is.
    pub fn setup_error(&self) -> Option<PluginError> {
        match self.client.get() {
            Some(Err(error)) => Some(error.clone()),
            _ => None,
        }
    }

    fn client(&self) -> Result<&ApiClient, PluginError> {
        self.client
            .get_or_init(|| {
                let credential = credentials::resolve(self.context, self.profile)?;
                self.logger.add_secret(&credential.api_key);
                self.logger.info(&format!(
                    "* credential from {}, API at {}",
                    credential.source,
                    credential.api_base.as_str().trim_end_matches('/')
                ));
                Ok(ApiClient::with_transport(
                    self.context,
                    credential,
                    self.prepared.take(),
                )?)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn send(&self, request: &str) -> HttpOutcome {
        let request: HttpRequest = match serde_json::from_str(request) {
            Ok(request) => request,
            Err(error) => {
                return HttpOutcome::Error(PluginError::new(
                    ErrorKind::Plugin,
                    format!("the plugin sent an unreadable request: {error}"),
                ));
            }
        };
        self.send_request(&request)
    }

    /// The body lent as `id`, if there is one.
    pub fn body(&self, id: u64) -> Option<&str> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        let bodies = self.bodies.borrow();
        let body: *const str = &**bodies.get(index)?;
        // SAFETY: a body is a heap allocation that is never changed, moved or freed while
        // `self` lives (the vector only grows; growing moves the boxes, not what they point
        // to), so it may be borrowed for as long as `self` is.
        Some(unsafe { &*body })
    }

    /// Sends a plugin's request with the host's credential, base URL, retries and logging.
    pub fn send_request(&self, request: &HttpRequest) -> HttpOutcome {
        match self
            .client()
            .and_then(|client| client.send(request, self.logger, self.context.terminal()))
        {
            Ok(response) => HttpOutcome::Response(response),
            Err(error) => HttpOutcome::Error(error),
        }
    }
}

impl HostFunctions for PluginServices<'_> {
    fn http(&self, request: &str) -> String {
        encode(&self.send(request))
    }

    fn http_body(&self, request: &str) -> HostBody<'_> {
        let outcome = self.send(request);
        let HttpOutcome::Response(response) = outcome else {
            return HostBody {
                head: encode(&outcome),
                body: "",
                id: 0,
            };
        };
        let head = encode(&HttpOutcome::Response(HttpResponse {
            status: response.status,
            body: String::new(),
        }));
        let id = {
            let mut bodies = self.bodies.borrow_mut();
            bodies.push(response.body.into_boxed_str());
            u64::try_from(bodies.len()).unwrap_or(u64::MAX)
        };
        HostBody {
            head,
            body: self.body(id).unwrap_or_default(),
            id,
        }
    }

    fn log(&self, level: u8, message: &str) {
        if level <= 1 {
            self.logger.info(message);
        } else {
            self.logger.debug(message);
        }
    }

    fn confirm(&self, prompt: &str) -> bool {
        if !self.context.can_prompt() {
            return false;
        }
        // The prompt quotes a server (a key's name): scrubbed like any line on stderr.
        let prompt = crate::secrets::scrub(prompt);
        self.context.terminal().confirm(&prompt).unwrap_or(false)
    }
}

/// An outcome as the JSON a plugin reads.
fn encode(outcome: &HttpOutcome) -> String {
    serde_json::to_string(outcome).unwrap_or_else(|error| {
        format!(
            r#"{{"error":{{"kind":"failure","message":"could not encode the answer: {error}"}}}}"#
        )
    })
}
