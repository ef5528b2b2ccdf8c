//! HTTPS (`EmulatorBuilder::tls`): the API over real TLS on 127.0.0.1, trusted through the CA
//! certificate the emulator wrote, and refused by a client that does not trust it.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use baseten_emulator::{BackgroundEmulator, Emulator};
use serde_json::json;

use crate::client::{Reply, api_key, send_tls};

fn tls_emulator(ca_file: &Path) -> BackgroundEmulator {
    Emulator::builder()
        .tls(ca_file)
        .start_in_background()
        .unwrap()
}

/// A request as `emulator`'s key, over TLS trusting `ca_pem`, asking for `server_name`.
fn request(
    emulator: &BackgroundEmulator,
    ca_pem: &str,
    server_name: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> io::Result<Reply> {
    let body = body.map(serde_json::Value::to_string);
    send_tls(
        emulator.addr(),
        ca_pem,
        server_name,
        method,
        path,
        &[
            ("Authorization", &api_key(emulator.api_key())),
            ("Content-Type", "application/json"),
        ],
        body.as_deref().map(str::as_bytes),
    )
}

fn request_count(emulator: &BackgroundEmulator) -> usize {
    emulator.requests().as_array().unwrap().len()
}

#[test]
fn serves_the_api_over_https_under_the_ca_it_wrote() {
    let folder = tempfile::tempdir().unwrap();
    let ca_file = folder.path().join("ca.pem");
    let emulator = tls_emulator(&ca_file);
    let addr: SocketAddr = emulator
        .url()
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("not an https URL: {}", emulator.url()))
        .parse()
        .unwrap();
    assert_eq!(addr, emulator.addr());
    let ca_pem = std::fs::read_to_string(&ca_file).unwrap();
    assert_eq!(Some(ca_pem.as_str()), emulator.ca_certificate_pem());
    assert!(
        ca_pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "{ca_pem}"
    );

    // The certificate names both the address and `localhost`.
    for server_name in ["127.0.0.1", "localhost"] {
        let listed = request(&emulator, &ca_pem, server_name, "GET", "/v1/api_keys", None).unwrap();
        assert_eq!(listed.status, 200, "{server_name}");
        assert!(listed.json()["keys"].is_array());
    }
    let created = request(
        &emulator,
        &ca_pem,
        "127.0.0.1",
        "POST",
        "/v1/api_keys",
        Some(&json!({"type": "PERSONAL", "name": "over-tls"})),
    )
    .unwrap();
    assert_eq!(created.status, 200);
    assert!(created.json()["api_key"].is_string());
    assert!(emulator.keys().iter().any(|key| key["name"] == "over-tls"));
    assert_eq!(request_count(&emulator), 3);
}

#[test]
fn a_client_that_does_not_trust_the_ca_is_refused_before_any_request() {
    let folder = tempfile::tempdir().unwrap();
    let emulator = tls_emulator(&folder.path().join("ca.pem"));
    // Another start's CA: same names, different key, so not trusted.
    let other = tls_emulator(&folder.path().join("other-ca.pem"));
    let other_ca = other.ca_certificate_pem().unwrap();

    let error = request(
        &emulator,
        other_ca,
        "127.0.0.1",
        "GET",
        "/v1/api_keys",
        None,
    )
    .expect_err("a certificate from an untrusted CA is refused");
    assert!(
        error.to_string().contains("invalid peer certificate"),
        "{error}"
    );
    assert_eq!(request_count(&emulator), 0, "a request got through");

    // The refused client changed nothing for the next one.
    let ca_pem = emulator.ca_certificate_pem().unwrap();
    let listed = request(&emulator, ca_pem, "127.0.0.1", "GET", "/v1/api_keys", None).unwrap();
    assert_eq!(listed.status, 200);
}

#[test]
fn a_dropped_connection_over_tls_gets_no_answer() {
    let folder = tempfile::tempdir().unwrap();
    let emulator = tls_emulator(&folder.path().join("ca.pem"));
    let ca_pem = emulator.ca_certificate_pem().unwrap().to_owned();
    emulator.inject_fault(json!({"method": "GET", "path": "/v1/teams", "drop": true}));
    assert!(request(&emulator, &ca_pem, "127.0.0.1", "GET", "/v1/teams", None).is_err());
    let teams = request(&emulator, &ca_pem, "127.0.0.1", "GET", "/v1/teams", None).unwrap();
    assert_eq!(teams.status, 200);
}

#[test]
fn plain_http_has_no_ca() {
    let emulator = Emulator::builder().start_in_background().unwrap();
    assert!(emulator.url().starts_with("http://"));
    assert_eq!(emulator.ca_certificate_pem(), None);
}

#[test]
fn an_unwritable_ca_file_stops_the_start() {
    let folder = tempfile::tempdir().unwrap();
    let ca_file = folder.path().join("missing-folder").join("ca.pem");
    let error = Emulator::builder()
        .tls(&ca_file)
        .start_in_background()
        .expect_err("the CA file cannot be written");
    assert!(
        error
            .to_string()
            .starts_with("cannot write the CA certificate to `"),
        "{error}"
    );
}
