//! Browser login over HTTP: the device flow for `baseten-cli`, approval and denial through the
//! control endpoints, Bearer access tokens, refresh with rotation, expiry and revocation.

use std::net::SocketAddr;

use baseten_emulator::Emulator;
use serde_json::{Value, json};

use crate::client::{Reply, control, send};

const DEVICE_GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code";

fn form(addr: SocketAddr, path: &str, body: &str) -> Reply {
    send(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )
    .unwrap()
}

fn authorize(addr: SocketAddr) -> Value {
    let reply = form(
        addr,
        "/v1/users/auth/device/authorize",
        "client_id=baseten-cli",
    );
    assert_eq!(reply.status, 200);
    reply.json()
}

fn poll(addr: SocketAddr, device_code: &str) -> Reply {
    form(
        addr,
        "/v1/users/auth/device/token",
        &format!("client_id=baseten-cli&device_code={device_code}&grant_type={DEVICE_GRANT}"),
    )
}

fn refresh(addr: SocketAddr, refresh_token: &str) -> Reply {
    form(
        addr,
        "/v1/users/auth/device/token",
        &format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id=baseten-cli"),
    )
}

fn bearer(addr: SocketAddr, method: &str, path: &str, token: &str) -> Reply {
    let authorization = format!("Bearer {token}");
    send(
        addr,
        method,
        path,
        &[("Authorization", &authorization)],
        None,
    )
    .unwrap()
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap().to_owned()
}

#[test]
fn a_login_approved_through_the_control_endpoint_gives_bearer_tokens_that_rotate() {
    let emulator = Emulator::builder().start_in_background().unwrap();
    let addr = emulator.addr();
    let started = authorize(addr);
    assert_eq!(started["interval"], 5);
    assert_eq!(started["expires_in"], 600);
    let (device_code, user_code) = (text(&started, "device_code"), text(&started, "user_code"));
    assert_eq!(
        text(&started, "verification_uri_complete"),
        format!("{}/device?user_code={user_code}", emulator.url())
    );
    let pending = poll(addr, &device_code);
    assert_eq!(pending.status, 400);
    assert_eq!(pending.json()["error"], "authorization_pending");
    let unknown = control(
        addr,
        "POST",
        "/_emulator/device/approve",
        Some(&json!({"user_code": "NONE-NONE"})),
    );
    assert_eq!(unknown.status, 404);
    let approved = control(
        addr,
        "POST",
        "/_emulator/device/approve",
        Some(&json!({ "user_code": user_code })),
    );
    assert_eq!(approved.status, 200);
    let tokens = poll(addr, &device_code);
    assert_eq!(tokens.status, 200);
    let tokens = tokens.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let (access, refresh_token) = (
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
    );
    assert_eq!(bearer(addr, "GET", "/v1/api_keys", &access).status, 200);
    assert_eq!(bearer(addr, "GET", "/v1/users/me", &access).status, 200);

    let renewed = refresh(addr, &refresh_token);
    assert_eq!(renewed.status, 200);
    let renewed = renewed.json();
    assert_ne!(text(&renewed, "refresh_token"), refresh_token);
    let spent = refresh(addr, &refresh_token);
    assert_eq!(spent.status, 400);
    assert_eq!(spent.json()["error"], "invalid_grant");
    let summary = control(addr, "GET", "/_emulator/oauth", None).json();
    assert_eq!(summary["refreshes"], 1);
    assert_eq!(summary["refused_refreshes"], 1);

    // Expired server-side: 401, and the refresh token still renews.
    let new_access = text(&renewed, "access_token");
    assert_eq!(
        control(addr, "POST", "/_emulator/oauth/expire", None).status,
        200
    );
    assert_eq!(bearer(addr, "GET", "/v1/api_keys", &new_access).status, 401);
    let again = refresh(addr, &text(&renewed, "refresh_token")).json();
    let live = text(&again, "access_token");
    assert_eq!(bearer(addr, "GET", "/v1/api_keys", &live).status, 200);

    // Logout revokes the session: its tokens then get 401 and refresh no more.
    assert_eq!(
        bearer(addr, "POST", "/v1/users/auth/logout", &live).status,
        200
    );
    assert_eq!(bearer(addr, "GET", "/v1/api_keys", &live).status, 401);
    assert_eq!(refresh(addr, &text(&again, "refresh_token")).status, 400);
    assert_eq!(
        bearer(addr, "POST", "/v1/users/auth/logout", &live).status,
        401
    );
}

#[test]
fn a_denied_login_is_access_denied_and_other_clients_are_refused() {
    let emulator = Emulator::builder().start_in_background().unwrap();
    let addr = emulator.addr();
    let started = authorize(addr);
    let denied = control(
        addr,
        "POST",
        "/_emulator/device/deny",
        Some(&json!({"user_code": text(&started, "user_code")})),
    );
    assert_eq!(denied.status, 200);
    let answer = poll(addr, &text(&started, "device_code"));
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"], "access_denied");
    let other = form(addr, "/v1/users/auth/device/authorize", "client_id=someone");
    assert_eq!(other.status, 401);
    assert_eq!(other.json()["error"], "invalid_client");
}

#[test]
fn auto_approve_and_token_ttl_shape_the_flow() {
    let emulator = Emulator::builder()
        .auto_approve(true)
        .token_ttl(std::time::Duration::from_secs(30))
        .device_interval(1)
        .start_in_background()
        .unwrap();
    let addr = emulator.addr();
    let started = authorize(addr);
    assert_eq!(started["interval"], 1);
    let tokens = poll(addr, &text(&started, "device_code")).json();
    assert_eq!(tokens["expires_in"], 30);
    // Form bodies are never logged: no device code or token reaches the request log.
    let log = control(addr, "GET", "/_emulator/requests", None);
    let log = String::from_utf8(log.body).unwrap();
    assert!(!log.contains(&text(&started, "device_code")));
    assert!(!log.contains(&text(&tokens, "access_token")));
}
