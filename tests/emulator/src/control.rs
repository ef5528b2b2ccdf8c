//! The control plane under `/_emulator/`: injected faults, the request log, and the middleware
//! that applies both to every API request.
//!
//! Control endpoints need no key but answer only to loopback peers, and are neither logged nor
//! subject to faults, so a test can always inspect and steer the emulator.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth;
use crate::http_error::{HttpError, json_response};
use crate::server::ConnectionAbort;
use crate::shared::Shared;

/// Largest request body accepted, like the real service's proxy.
const BODY_LIMIT: usize = 64 * 1024;
/// Where the control endpoints live.
const CONTROL_PREFIX: &str = "/_emulator/";
/// Body of an injected error when the fault names none.
const DEFAULT_FAULT_BODY: &str = r#"{"message":"injected fault"}"#;
/// Body fields whose values are replaced in the log, should a client ever send a secret.
const SECRET_FIELDS: [&str; 6] = [
    "api_key",
    "key",
    "secret",
    "access_token",
    "refresh_token",
    "device_code",
];

/// Pending faults and requests seen.
#[derive(Debug, Default)]
pub(crate) struct Control {
    faults: VecDeque<Fault>,
    next_fault_id: u64,
    log: Vec<LoggedRequest>,
}

impl Control {
    /// Queues a fault; returns its id.
    pub(crate) fn add_fault(&mut self, mut fault: Fault) -> u64 {
        self.next_fault_id += 1;
        fault.id = self.next_fault_id;
        self.faults.push_back(fault);
        self.next_fault_id
    }

    /// Takes one use of the first pending fault matching this request.
    fn take_fault(&mut self, method: &Method, path: &str) -> Option<Fault> {
        let index = self
            .faults
            .iter()
            .position(|fault| fault.matches(method, path))?;
        let fault = self.faults.get_mut(index)?;
        fault.times -= 1;
        let taken = fault.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }

    /// Forgets pending faults and the request log.
    pub(crate) fn reset(&mut self) {
        self.faults.clear();
        self.log.clear();
    }

    /// The request log as a JSON array.
    pub(crate) fn requests_json(&self) -> Value {
        serde_json::to_value(&self.log).unwrap_or(Value::Array(Vec::new()))
    }
}

/// One line of `GET /_emulator/requests`. There is deliberately no field for the credential.
#[derive(Clone, Debug, Serialize)]
struct LoggedRequest {
    method: String,
    path: String,
    query: Option<String>,
    auth_scheme: Option<&'static str>,
    body: Option<Value>,
    /// `None` when the connection was dropped without an answer.
    status: Option<u16>,
}

/// A way to fail the next `times` matching requests.
#[derive(Clone, Debug)]
pub(crate) struct Fault {
    id: u64,
    method: Option<Method>,
    path: Option<String>,
    times: u64,
    outcome: FaultOutcome,
    delay: Option<Duration>,
    after_processing: bool,
}

#[derive(Clone, Debug)]
enum FaultOutcome {
    /// Only a delay: the request is then served normally.
    Serve,
    /// Close the connection without any answer.
    Drop,
    /// Answer with this status, body and optional `Retry-After`.
    Answer {
        status: StatusCode,
        body: String,
        retry_after: Option<String>,
    },
}

impl Fault {
    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|wanted| wanted == method)
            && self.path.as_deref().is_none_or(|wanted| wanted == path)
    }

    /// Reads `{"method","path","times","status","body","delay_ms","retry_after","drop",
    /// "after_processing"}`; every field is optional but a fault must do something.
    pub(crate) fn parse(value: &Value) -> Result<Self, String> {
        let Value::Object(fields) = value else {
            return Err("a fault must be a JSON object".into());
        };
        const FIELDS: [&str; 9] = [
            "method",
            "path",
            "times",
            "status",
            "body",
            "delay_ms",
            "retry_after",
            "drop",
            "after_processing",
        ];
        if let Some(unknown) = fields
            .keys()
            .find(|field| !FIELDS.contains(&field.as_str()))
        {
            return Err(format!("unknown field `{unknown}`"));
        }
        let present = |field: &str| fields.get(field).filter(|value| !value.is_null());
        let method = match present("method") {
            None => None,
            Some(Value::String(text)) => Some(
                Method::from_bytes(text.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("`method` `{text}` is not an HTTP method"))?,
            ),
            Some(_) => return Err("`method` must be a string".into()),
        };
        let path = match present("path") {
            None => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => return Err("`path` must be a string".into()),
        };
        let number = |field: &str| -> Result<Option<u64>, String> {
            match present(field) {
                None => Ok(None),
                Some(value) => value
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| format!("`{field}` must be a non-negative integer")),
            }
        };
        let flag = |field: &str| -> Result<bool, String> {
            match present(field) {
                None => Ok(false),
                Some(value) => value
                    .as_bool()
                    .ok_or_else(|| format!("`{field}` must be true or false")),
            }
        };
        let times = number("times")?.unwrap_or(1);
        if times == 0 {
            return Err("`times` must be at least 1".into());
        }
        let delay = number("delay_ms")?.map(Duration::from_millis);
        let drop = flag("drop")?;
        let after_processing = flag("after_processing")?;
        let retry_after = match present("retry_after") {
            None => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(_) => return Err("`retry_after` must be a number or a string".into()),
        };
        let body = match present("body") {
            None => None,
            Some(Value::String(text)) => Some(text.clone()),
            // A JSON value is accepted too and sent serialized, which saves escaping in tests.
            Some(other) => Some(other.to_string()),
        };
        let status = match number("status")? {
            None => None,
            Some(code) => Some(
                u16::try_from(code)
                    .ok()
                    .and_then(|code| StatusCode::from_u16(code).ok())
                    .ok_or_else(|| format!("`status` {code} is not an HTTP status"))?,
            ),
        };
        let outcome = match (status, drop) {
            (Some(_), true) => return Err("`status` and `drop` exclude each other".into()),
            (None, true) => FaultOutcome::Drop,
            (Some(status), false) => FaultOutcome::Answer {
                status,
                body: body.unwrap_or_else(|| DEFAULT_FAULT_BODY.to_owned()),
                retry_after,
            },
            (None, false) => {
                if delay.is_none() && after_processing {
                    return Err("`after_processing` needs `status`, `drop` or `delay_ms`".into());
                }
                if delay.is_none() {
                    return Err("a fault needs `status`, `drop` or `delay_ms`".into());
                }
                FaultOutcome::Serve
            }
        };
        Ok(Self {
            id: 0,
            method,
            path,
            times,
            outcome,
            delay,
            after_processing,
        })
    }
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/faults", post(add_fault))
        .route("/_emulator/requests", get(list_requests))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/device/approve", post(approve_login))
        .route("/_emulator/device/deny", post(deny_login))
        .route("/_emulator/oauth", get(oauth_summary))
        .route("/_emulator/oauth/expire", post(expire_access_tokens))
        .route("/_emulator/oauth/revoke", post(revoke_sessions))
}

async fn approve_login(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, HttpError> {
    decide_login(&shared, &body, true)
}

async fn deny_login(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, HttpError> {
    decide_login(&shared, &body, false)
}

/// Reads `{"user_code": "..."}` and approves or denies that pending login; 404 when none waits.
fn decide_login(shared: &Shared, body: &[u8], approve: bool) -> Result<Response, HttpError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| HttpError::bad_request(format!("malformed JSON body: {error}")))?;
    let Some(user_code) = value.get("user_code").and_then(Value::as_str) else {
        return Err(HttpError::bad_request(
            "the body needs `user_code`, a string",
        ));
    };
    if !shared.oauth().decide(user_code, approve) {
        return Err(HttpError::not_found(format!(
            "no login waits for approval with the code `{user_code}`"
        )));
    }
    Ok(json_response(
        StatusCode::OK,
        json!({ "user_code": user_code, "approved": approve })
            .to_string()
            .into_bytes(),
    ))
}

async fn oauth_summary(State(shared): State<Arc<Shared>>) -> Response {
    let summary = shared.oauth().summary();
    json_response(StatusCode::OK, summary.to_string().into_bytes())
}

async fn expire_access_tokens(State(shared): State<Arc<Shared>>) -> Response {
    let expired = shared.oauth().expire_access_tokens();
    json_response(
        StatusCode::OK,
        json!({ "expired": expired }).to_string().into_bytes(),
    )
}

async fn revoke_sessions(State(shared): State<Arc<Shared>>) -> Response {
    shared.oauth().revoke_all();
    json_response(StatusCode::OK, b"{}".to_vec())
}

async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, HttpError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|error| HttpError::bad_request(format!("malformed JSON body: {error}")))?;
    let fault = Fault::parse(&value).map_err(HttpError::bad_request)?;
    let id = shared.control().add_fault(fault);
    Ok(json_response(
        StatusCode::OK,
        json!({ "id": id }).to_string().into_bytes(),
    ))
}

async fn list_requests(State(shared): State<Arc<Shared>>) -> Response {
    let requests = shared.requests();
    json_response(
        StatusCode::OK,
        json!({ "requests": requests }).to_string().into_bytes(),
    )
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.control().reset();
    json_response(StatusCode::OK, b"{}".to_vec())
}

/// Runs around every request: buffers the body (413 past [`BODY_LIMIT`]), keeps control
/// endpoints to loopback peers, and for API requests applies a pending fault and logs the
/// request with its outcome.
pub(crate) async fn intercept(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with(CONTROL_PREFIX) || path == CONTROL_PREFIX.trim_end_matches('/') {
        if !peer_is_loopback(&request) {
            return HttpError::forbidden("control endpoints answer only to loopback clients")
                .into_response();
        }
        let (parts, body) = request.into_parts();
        return match read_body(&parts.headers, body).await {
            Ok(bytes) => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
            Err(error) => error.into_response(),
        };
    }

    let mut entry = LoggedRequest {
        method: request.method().to_string(),
        path: path.clone(),
        query: request.uri().query().map(str::to_owned),
        auth_scheme: auth::credential(request.headers()).map(|(scheme, _)| scheme.as_str()),
        body: None,
        status: None,
    };
    let (parts, body) = request.into_parts();
    let bytes = match read_body(&parts.headers, body).await {
        Ok(bytes) => bytes,
        Err(error) => {
            entry.status = Some(error.status().as_u16());
            shared.control().log.push(entry);
            return error.into_response();
        }
    };
    entry.body = serde_json::from_slice::<Value>(&bytes).ok().map(redact);

    let fault = shared.control().take_fault(&parts.method, &path);
    let connection = parts.extensions.get::<Arc<ConnectionAbort>>().cloned();
    let Some(fault) = fault else {
        let response = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        entry.status = Some(response.status().as_u16());
        shared.control().log.push(entry);
        return response;
    };

    if let Some(delay) = fault.delay.filter(|_| !fault.after_processing) {
        tokio::time::sleep(delay).await;
    }
    let served = if fault.after_processing || matches!(fault.outcome, FaultOutcome::Serve) {
        Some(
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await,
        )
    } else {
        None
    };
    // After processing, the delay comes between the change and its answer.
    if let Some(delay) = fault.delay.filter(|_| fault.after_processing) {
        tokio::time::sleep(delay).await;
    }
    match (fault.outcome, served) {
        (FaultOutcome::Serve, Some(response)) => {
            entry.status = Some(response.status().as_u16());
            shared.control().log.push(entry);
            response
        }
        (
            FaultOutcome::Answer {
                status,
                body,
                retry_after,
            },
            _,
        ) => {
            entry.status = Some(status.as_u16());
            shared.control().log.push(entry);
            fault_answer(status, body, retry_after.as_deref())
        }
        (FaultOutcome::Drop, _) => {
            shared.control().log.push(entry);
            drop_connection(connection).await
        }
        (FaultOutcome::Serve, None) => {
            HttpError::internal("a delay-only fault must serve the request").into_response()
        }
    }
}

/// Reads the whole body, refusing more than [`BODY_LIMIT`] bytes with 413.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, HttpError> {
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {} KiB", BODY_LIMIT / 1024),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|error| {
            if error.into_inner().is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                HttpError::bad_request("could not read the request body")
            }
        })
}

fn peer_is_loopback(request: &Request) -> bool {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| peer.ip().to_canonical().is_loopback())
}

fn fault_answer(status: StatusCode, body: String, retry_after: Option<&str>) -> Response {
    let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Some(value) = retry_after.and_then(|value| HeaderValue::from_str(value).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Closes the request's connection without answering: the connection task drops the socket when
/// told to, and this future never completes, so no response is ever written.
async fn drop_connection(connection: Option<Arc<ConnectionAbort>>) -> Response {
    match connection {
        Some(connection) => {
            connection.abort();
            std::future::pending().await
        }
        None => HttpError::internal("this connection cannot be dropped").into_response(),
    }
}

/// Replaces the values of fields that could hold a secret.
fn redact(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| {
                    if SECRET_FIELDS.contains(&name.as_str()) {
                        (name, Value::String("<redacted>".into()))
                    } else {
                        (name, redact(value))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn fault_defaults_to_one_use_and_the_default_body() {
        let fault = Fault::parse(&json!({"status": 503})).unwrap();
        assert_eq!(fault.times, 1);
        assert!(matches!(
            fault.outcome,
            FaultOutcome::Answer { ref body, .. } if body == DEFAULT_FAULT_BODY
        ));
    }

    #[test]
    fn faults_that_do_nothing_or_contradict_are_refused() {
        assert!(Fault::parse(&json!({})).is_err());
        assert!(Fault::parse(&json!({"status": 500, "drop": true})).is_err());
        assert!(Fault::parse(&json!({"after_processing": true})).is_err());
        // A request carried out, then answered late: the answer a client may never read.
        assert!(Fault::parse(&json!({"after_processing": true, "delay_ms": 5})).is_ok());
        assert!(Fault::parse(&json!({"status": 500, "times": 0})).is_err());
        assert!(Fault::parse(&json!({"status": 5000})).is_err());
        let unknown = Fault::parse(&json!({"status": 500, "colour": "red"})).unwrap_err();
        assert!(unknown.contains("colour"));
    }

    #[test]
    fn faults_are_used_in_order_and_only_on_matching_requests() {
        let mut control = Control::default();
        control.add_fault(
            Fault::parse(
                &json!({"method": "post", "path": "/v1/api_keys", "status": 500, "times": 2}),
            )
            .unwrap(),
        );
        control.add_fault(Fault::parse(&json!({"status": 502})).unwrap());
        let status = |fault: Option<Fault>| match fault.map(|fault| fault.outcome) {
            Some(FaultOutcome::Answer { status, .. }) => Some(status.as_u16()),
            _ => None,
        };
        assert_eq!(
            status(control.take_fault(&Method::GET, "/v1/teams")),
            Some(502)
        );
        assert_eq!(
            status(control.take_fault(&Method::POST, "/v1/api_keys")),
            Some(500)
        );
        assert_eq!(
            status(control.take_fault(&Method::POST, "/v1/api_keys")),
            Some(500)
        );
        assert_eq!(
            status(control.take_fault(&Method::POST, "/v1/api_keys")),
            None
        );
    }

    #[test]
    fn only_loopback_peers_may_use_control_endpoints() {
        let from = |peer: &str| {
            let mut request = Request::new(Body::empty());
            request
                .extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            request
        };
        assert!(peer_is_loopback(&from("127.0.0.1:1")));
        assert!(peer_is_loopback(&from("127.8.9.10:1")));
        assert!(peer_is_loopback(&from("[::1]:1")));
        assert!(peer_is_loopback(&from("[::ffff:127.0.0.1]:1")));
        assert!(!peer_is_loopback(&from("192.0.2.1:1")));
        assert!(!peer_is_loopback(&from("[2001:db8::1]:1")));
        assert!(!peer_is_loopback(&Request::new(Body::empty())));
    }

    #[test]
    fn secrets_in_bodies_are_redacted() {
        let redacted =
            redact(json!({"api_key": "abc.def", "nested": [{"secret": "x"}], "name": "n"}));
        assert_eq!(
            redacted,
            json!({"api_key": "<redacted>", "nested": [{"secret": "<redacted>"}], "name": "n"})
        );
    }
}
