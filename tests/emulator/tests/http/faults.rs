//! The control endpoints: injected faults, the request log and reset.

use std::time::{Duration, Instant};

use baseten_emulator::{BackgroundEmulator, Emulator};
use serde_json::json;

use crate::client::{self, control, create_key, get, post, send, try_post};

fn emulator() -> BackgroundEmulator {
    Emulator::builder().start_in_background().unwrap()
}

#[test]
fn a_status_fault_answers_with_its_status_body_and_retry_after() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    let added = control(
        addr,
        "POST",
        "/_emulator/faults",
        Some(&json!({"method": "GET", "path": "/v1/api_keys", "status": 429, "retry_after": 2})),
    );
    assert_eq!(added.status, 200);
    assert!(added.json()["id"].is_u64());

    // Other paths are not affected.
    assert_eq!(get(addr, "/v1/teams", key).status, 200);
    let faulted = get(addr, "/v1/api_keys", key);
    assert_eq!(faulted.status, 429);
    assert_eq!(faulted.header("retry-after"), Some("2"));
    assert_eq!(faulted.message(), "injected fault");
    assert_eq!(get(addr, "/v1/api_keys", key).status, 200);
}

#[test]
fn faults_apply_times_times_in_order_with_custom_bodies() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    emulator.inject_fault(json!({"path": "/v1/users/me", "status": 503, "times": 2}));
    emulator.inject_fault(json!({"status": 500, "body": "upstream exploded"}));
    assert_eq!(get(addr, "/v1/users/me", key).status, 503);
    assert_eq!(get(addr, "/v1/users/me", key).status, 503);
    let custom = get(addr, "/v1/users/me", key);
    assert_eq!(custom.status, 500);
    assert_eq!(custom.body, b"upstream exploded");
    assert_eq!(get(addr, "/v1/users/me", key).status, 200);
}

#[test]
fn a_delay_fault_delays_then_serves() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    emulator.inject_fault(json!({"path": "/v1/users/me", "delay_ms": 300}));
    let started = Instant::now();
    let reply = get(addr, "/v1/users/me", key);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["user_id"], "user-emulator");
}

#[test]
fn a_drop_fault_closes_the_connection_without_an_answer_or_a_change() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    emulator.inject_fault(json!({"method": "POST", "path": "/v1/api_keys", "drop": true}));
    let dropped = try_post(
        addr,
        "/v1/api_keys",
        key,
        &json!({"type": "PERSONAL", "name": "lost"}),
    );
    assert!(dropped.is_err(), "{dropped:?}");
    assert_eq!(emulator.keys().len(), 1, "the request was not processed");
    // The server is fine afterwards.
    create_key(addr, key, &json!({"type": "PERSONAL", "name": "kept"}));
    assert_eq!(emulator.keys().len(), 2);
}

#[test]
fn a_drop_after_processing_makes_the_change_but_sends_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("state.json");
    let emulator = Emulator::builder()
        .state_file(&state)
        .start_in_background()
        .unwrap();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    emulator.inject_fault(json!({"path": "/v1/api_keys", "drop": true, "after_processing": true}));
    let dropped = try_post(
        addr,
        "/v1/api_keys",
        key,
        &json!({"type": "PERSONAL", "name": "ghost"}),
    );
    assert!(dropped.is_err(), "{dropped:?}");
    let keys = emulator.keys();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1]["name"], "ghost");
    // ... and the change was saved before the connection was dropped.
    assert!(std::fs::read_to_string(&state).unwrap().contains("ghost"));
}

#[test]
fn a_status_after_processing_makes_the_change_and_answers_the_fault() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    emulator.inject_fault(
        json!({"path": "/v1/api_keys", "method": "POST", "status": 504, "after_processing": true}),
    );
    let reply = post(
        addr,
        "/v1/api_keys",
        key,
        &json!({"type": "PERSONAL", "name": "timed-out"}),
    );
    assert_eq!(reply.status, 504);
    assert_eq!(emulator.keys()[1]["name"], "timed-out");
}

#[test]
fn invalid_faults_are_refused_naming_the_problem() {
    let emulator = emulator();
    let addr = emulator.addr();
    for (fault, needle) in [
        (json!({"status": 500, "colour": 1}), "colour"),
        (json!({"status": 500, "drop": true}), "drop"),
        (json!({"path": "/v1/teams"}), "status"),
        (json!({"status": "soon"}), "status"),
    ] {
        let reply = control(addr, "POST", "/_emulator/faults", Some(&fault));
        assert_eq!(reply.status, 400, "{fault}");
        assert!(reply.message().contains(needle), "{fault}");
    }
    let malformed = send(addr, "POST", "/_emulator/faults", &[], Some(b"{")).unwrap();
    assert_eq!(malformed.status, 400);
    assert!(
        emulator
            .try_inject_fault(json!({"times": 0, "status": 500}))
            .is_err()
    );
}

#[test]
fn the_request_log_records_requests_without_any_secret() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    let bearer = format!("Bearer {key}");
    send(
        addr,
        "GET",
        "/v1/teams?limit=5",
        &[("Authorization", &bearer)],
        None,
    )
    .unwrap();
    let created = create_key(
        addr,
        key,
        &json!({"type": "WORKSPACE_INVOKE", "name": "ci", "model_ids": ["m1"]}),
    );
    send(addr, "GET", "/v1/users/me", &[], None).unwrap();
    emulator.inject_fault(json!({"path": "/v1/api_keys", "method": "GET", "drop": true}));
    assert!(
        send(
            addr,
            "GET",
            "/v1/api_keys",
            &[("Authorization", &client::api_key(key))],
            None
        )
        .is_err()
    );
    control(addr, "GET", "/_emulator/requests", None);

    let log = control(addr, "GET", "/_emulator/requests", None).json();
    assert_eq!(log["requests"], emulator.requests());
    let requests = log["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 4, "control requests are not logged: {log}");
    assert_eq!(
        requests[0],
        json!({"method": "GET", "path": "/v1/teams", "query": "limit=5", "auth_scheme": "Bearer",
               "body": null, "status": 200})
    );
    assert_eq!(
        requests[1],
        json!({"method": "POST", "path": "/v1/api_keys", "query": null, "auth_scheme": "Api-Key",
               "body": {"type": "WORKSPACE_INVOKE", "name": "ci", "model_ids": ["m1"]},
               "status": 200})
    );
    assert_eq!(requests[2]["auth_scheme"], json!(null));
    assert_eq!(requests[2]["status"], 401);
    assert_eq!(requests[3]["status"], json!(null), "dropped: no status");

    let text = log.to_string();
    for secret in [key, created.as_str()] {
        let (_, secret_part) = secret.split_once('.').unwrap();
        assert!(
            !text.contains(secret_part),
            "the log holds a secret: {text}"
        );
    }
}

#[test]
fn reset_clears_the_log_and_pending_faults() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    get(addr, "/v1/users/me", key);
    emulator.inject_fault(json!({"status": 500}));
    let reset = control(addr, "POST", "/_emulator/reset", None);
    assert_eq!(reset.status, 200);
    assert_eq!(emulator.requests(), json!([]));
    assert_eq!(get(addr, "/v1/users/me", key).status, 200);
    emulator.reset();
    assert_eq!(emulator.requests(), json!([]));
}
