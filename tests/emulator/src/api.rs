//! The management API endpoints the CLI calls, with the service's validation rules and errors.
//!
//! Handlers take the raw body and parse it here, rather than through axum's `Json` extractor, so
//! that every refusal is a `{"message": ...}` naming exactly what was wrong.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};

use crate::auth::{Scheme, authenticate, authenticate_manager, credential};
use crate::http_error::{HttpError, json_response};
use crate::oauth::{CLIENT_ID, DEVICE_GRANT, TokenAnswer};
use crate::shared::{Shared, TeamChoice};
use crate::state::{KeyType, NewKey};

/// Fields a create body may have.
const CREATE_FIELDS: [&str; 3] = ["type", "name", "model_ids"];

/// `GET /_files/PATH`: a file of the folder given to `EmulatorBuilder::files`, as bytes; no
/// credential asked for. A path that leaves the folder, or a missing file, is a 404.
async fn serve_file(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, HttpError> {
    let not_found = || HttpError::not_found("no such file");
    let Path(path) = path.map_err(|_| not_found())?;
    let folder = shared.files().ok_or_else(not_found)?;
    let relative = std::path::Path::new(&path);
    if relative
        .components()
        .any(|component| !matches!(component, std::path::Component::Normal(_)))
    {
        return Err(not_found());
    }
    let bytes = tokio::fs::read(folder.join(relative))
        .await
        .map_err(|_| not_found())?;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(axum::body::Body::from(bytes))
        .map_err(|_| not_found())
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/api_keys", get(list_keys).post(create_key))
        .route("/v1/api_keys/{prefix}", delete(delete_key))
        .route("/v1/teams", get(list_teams))
        .route("/v1/teams/{team_id}/api_keys", post(create_team_key))
        .route("/v1/users/me", get(who_am_i))
        .route("/_files/{*path}", get(serve_file))
        .route("/v1/users/auth/device/authorize", post(device_authorize))
        .route("/v1/users/auth/device/token", post(device_token))
        .route("/v1/users/auth/logout", post(logout))
}

/// `POST /v1/users/auth/device/authorize`: starts a browser login for the public client.
async fn device_authorize(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let form = parse_form(&headers, &body)?;
    if let Some(refusal) = check_client(&form) {
        return Ok(refusal);
    }
    let answer = shared.oauth().authorize(shared.base_url());
    Ok(json_response(
        StatusCode::OK,
        answer.to_string().into_bytes(),
    ))
}

/// `POST /v1/users/auth/device/token`: a device-code poll or a refresh, answered as RFC 6749
/// says: tokens, or 400 with `error` and `error_description`.
async fn device_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let form = parse_form(&headers, &body)?;
    if let Some(refusal) = check_client(&form) {
        return Ok(refusal);
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let answer = match field("grant_type") {
        DEVICE_GRANT => match field("device_code") {
            "" => return Ok(token_error("invalid_request", "missing `device_code`")),
            code => shared.oauth().poll(code),
        },
        "refresh_token" => match field("refresh_token") {
            "" => return Ok(token_error("invalid_request", "missing `refresh_token`")),
            token => shared.oauth().refresh(token),
        },
        other => {
            return Ok(token_error(
                "unsupported_grant_type",
                &format!("unsupported grant type `{other}`"),
            ));
        }
    };
    Ok(match answer {
        TokenAnswer::Tokens(tokens) => {
            json_response(StatusCode::OK, tokens.to_string().into_bytes())
        }
        TokenAnswer::Error { error, description } => token_error(error, &description),
    })
}

/// `POST /v1/users/auth/logout`: ends the session of the calling access token.
async fn logout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let token = match credential(&headers) {
        Some((Scheme::Bearer, token)) => token,
        _ => {
            return Err(HttpError::unauthorized(
                "logout needs `Authorization: Bearer <access token>`",
            ));
        }
    };
    if !shared.oauth().revoke(token) {
        return Err(HttpError::unauthorized("invalid or expired access token"));
    }
    Ok(json_response(StatusCode::OK, b"{}".to_vec()))
}

/// An OAuth error answer: 400 (401 for a bad client) with `error` and `error_description`.
fn token_error(error: &str, description: &str) -> Response {
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    json_response(
        status,
        json!({ "error": error, "error_description": description })
            .to_string()
            .into_bytes(),
    )
}

/// The refusal of any client but `baseten-cli`, if this is one.
fn check_client(form: &HashMap<String, String>) -> Option<Response> {
    match form.get("client_id").map(String::as_str) {
        Some(CLIENT_ID) => None,
        Some(other) => Some(token_error(
            "invalid_client",
            &format!("unknown client `{other}`"),
        )),
        None => Some(token_error("invalid_client", "missing `client_id`")),
    }
}

/// An `application/x-www-form-urlencoded` body as its fields (the last of a repeated name wins).
fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, HttpError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(HttpError::bad_request(
            "send the fields as `Content-Type: application/x-www-form-urlencoded`",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| HttpError::bad_request("the form body is not UTF-8"))?;
    let mut fields = HashMap::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |part: &str| {
            percent_decode(part)
                .ok_or_else(|| HttpError::bad_request("malformed percent-encoding in the form"))
        };
        fields.insert(decode(name)?, decode(value)?);
    }
    Ok(fields)
}

/// Form decoding: `+` is a space, `%XX` a byte; `None` when that is not valid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' => {
                let hex = text.get(index + 1..index + 3)?;
                decoded.push(u8::from_str_radix(hex, 16).ok()?);
                index += 2;
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8(decoded).ok()
}

async fn list_keys(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    authenticate_manager(&shared, &headers)?;
    let body = shared.read(|state| state.key_list_json());
    Ok(json_response(StatusCode::OK, body))
}

async fn create_key(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    authenticate_manager(&shared, &headers)?;
    let new_key = parse_new_key(&headers, &body)?;
    let api_key = shared.create_key(new_key, TeamChoice::Default)?;
    Ok(created(&api_key))
}

async fn create_team_key(
    State(shared): State<Arc<Shared>>,
    team_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    authenticate_manager(&shared, &headers)?;
    // A team id that does not even decode (e.g. invalid UTF-8) names no team.
    let Ok(Path(team_id)) = team_id else {
        return Err(HttpError::not_found("team not found"));
    };
    let new_key = parse_new_key(&headers, &body)?;
    let api_key = shared.create_key(new_key, TeamChoice::Id(&team_id))?;
    Ok(created(&api_key))
}

fn created(api_key: &str) -> Response {
    json_response(
        StatusCode::OK,
        json!({ "api_key": api_key }).to_string().into_bytes(),
    )
}

async fn delete_key(
    State(shared): State<Arc<Shared>>,
    prefix: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    authenticate_manager(&shared, &headers)?;
    let Ok(Path(prefix)) = prefix else {
        return Err(HttpError::not_found("API key not found"));
    };
    shared.delete_key(&prefix)?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "prefix": prefix }).to_string().into_bytes(),
    ))
}

async fn list_teams(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    authenticate_manager(&shared, &headers)?;
    let body = shared.read(|state| state.team_list_json());
    Ok(json_response(StatusCode::OK, body))
}

/// Any valid key may ask who it belongs to; the emulated workspace has one user.
async fn who_am_i(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    authenticate(&shared, &headers)?;
    let body = json!({
        "user_id": "user-emulator",
        "email": "emulator@example.com",
        "name": "Emulator User",
        "workspace_name": "Emulator Workspace",
    });
    Ok(json_response(StatusCode::OK, body.to_string().into_bytes()))
}

/// Checks a create body: JSON object, known fields only, a known type, and `model_ids` only for
/// the types that can be limited to models.
fn parse_new_key(headers: &HeaderMap, body: &[u8]) -> Result<NewKey, HttpError> {
    require_json_content_type(headers)?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| HttpError::bad_request(format!("malformed JSON body: {error}")))?;
    let Value::Object(fields) = value else {
        return Err(HttpError::bad_request("the body must be a JSON object"));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|field| !CREATE_FIELDS.contains(&field.as_str()))
    {
        return Err(HttpError::bad_request(format!(
            "unknown field `{unknown}`; expected `type`, `name` or `model_ids`"
        )));
    }
    let key_type = match fields.get("type") {
        None | Some(Value::Null) => return Err(HttpError::bad_request("missing field `type`")),
        Some(Value::String(text)) => KeyType::parse(text).ok_or_else(|| {
            HttpError::bad_request(format!(
                "unknown type `{text}`; expected one of {}",
                type_list()
            ))
        })?,
        Some(_) => return Err(HttpError::bad_request("`type` must be a string")),
    };
    let name = optional_string(&fields, "name")?;
    let model_ids = match fields.get("model_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| HttpError::bad_request("`model_ids` must be a list of strings"))?,
        ),
        Some(_) => {
            return Err(HttpError::bad_request(
                "`model_ids` must be a list of strings",
            ));
        }
    };
    if model_ids.is_some() && !key_type.allows_model_ids() {
        return Err(HttpError::bad_request(format!(
            "`model_ids` is allowed only for {} and {} keys, not {}",
            KeyType::WorkspaceExportMetrics.as_str(),
            KeyType::WorkspaceInvoke.as_str(),
            key_type.as_str()
        )));
    }
    Ok(NewKey {
        key_type,
        name,
        model_ids,
    })
}

fn optional_string(fields: &Map<String, Value>, field: &str) -> Result<Option<String>, HttpError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(HttpError::bad_request(format!(
            "`{field}` must be a string"
        ))),
    }
}

fn type_list() -> String {
    KeyType::ALL
        .iter()
        .map(|kind| format!("`{}`", kind.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A body must say it is JSON (parameters such as `charset` are fine).
fn require_json_content_type(headers: &HeaderMap) -> Result<(), HttpError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    match media_type {
        Some(media_type) if media_type.eq_ignore_ascii_case("application/json") => Ok(()),
        Some(other) => Err(HttpError::bad_request(format!(
            "unsupported content type `{other}`; send `Content-Type: application/json`"
        ))),
        None => Err(HttpError::bad_request(
            "missing content type; send `Content-Type: application/json`",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn json_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers
    }

    fn refusal(body: &str) -> String {
        format!(
            "{:?}",
            parse_new_key(&json_headers(), body.as_bytes()).unwrap_err()
        )
    }

    #[test]
    fn accepts_the_documented_body() {
        let key = parse_new_key(
            &json_headers(),
            br#"{"type":"WORKSPACE_INVOKE","name":"ci","model_ids":["m1"]}"#,
        )
        .unwrap();
        assert_eq!(key.key_type, KeyType::WorkspaceInvoke);
        assert_eq!(key.name.as_deref(), Some("ci"));
        assert_eq!(key.model_ids, Some(vec!["m1".to_owned()]));
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        assert!(refusal(r#"{"type":"PERSONAL","colour":1}"#).contains("colour"));
        assert!(refusal(r#"{"type":"ADMIN"}"#).contains("ADMIN"));
        assert!(refusal(r#"{"name":"x"}"#).contains("type"));
        assert!(refusal(r#"{"type":"PERSONAL","model_ids":["m"]}"#).contains("model_ids"));
        assert!(refusal(r#"{"type":"WORKSPACE_INVOKE","model_ids":[1]}"#).contains("model_ids"));
        assert!(refusal("[1]").contains("object"));
        assert!(refusal("{").contains("malformed"));
    }

    #[test]
    fn form_fields_are_percent_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let form = parse_form(
            &headers,
            b"client_id=baseten-cli&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&x=a+b",
        )
        .unwrap();
        assert_eq!(form["grant_type"], DEVICE_GRANT);
        assert_eq!(form["x"], "a b");
        assert!(parse_form(&headers, b"a=%zz").is_err());
        assert!(parse_form(&json_headers(), b"a=b").is_err());
    }

    #[test]
    fn a_body_must_be_labelled_json() {
        let error = parse_new_key(&HeaderMap::new(), br#"{"type":"PERSONAL"}"#).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}
