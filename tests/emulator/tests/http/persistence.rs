//! The state file: what survives a restart, and what is refused.

use std::fs;

use baseten_emulator::{Emulator, Error};
use serde_json::{Value, json};

use crate::client::{create_key, delete, get, post};

const BOOTSTRAP: &str = "boot1234.bootstrap-secret-for-persistence-tests";

#[test]
fn keys_and_teams_survive_a_restart_with_only_hashes_on_disk() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("state.json");
    let start = || {
        Emulator::builder()
            .state_file(&path)
            .api_key(BOOTSTRAP)
            .team("Research")
            .start_in_background()
            .unwrap()
    };

    let first = start();
    let addr = first.addr();
    let teams: Value = get(addr, "/v1/teams", BOOTSTRAP).json();
    let research = teams["teams"][1]["id"].as_str().unwrap().to_owned();
    let personal = create_key(
        addr,
        BOOTSTRAP,
        &json!({"type": "PERSONAL", "name": "laptop"}),
    );
    let gone = create_key(
        addr,
        BOOTSTRAP,
        &json!({"type": "PERSONAL", "name": "gone"}),
    );
    let invoke = post(
        addr,
        &format!("/v1/teams/{research}/api_keys"),
        BOOTSTRAP,
        &json!({"type": "WORKSPACE_INVOKE", "model_ids": ["m1"]}),
    );
    assert_eq!(invoke.status, 200);
    let invoke = invoke.json()["api_key"].as_str().unwrap().to_owned();
    assert_eq!(
        delete(addr, &format!("/v1/api_keys/{}", &gone[..8]), BOOTSTRAP).status,
        200
    );
    let keys_before = first.keys();
    drop(first);

    let on_disk = fs::read_to_string(&path).unwrap();
    for key in [BOOTSTRAP, &personal, &invoke] {
        assert!(
            !on_disk.contains(key.split_once('.').unwrap().1),
            "a secret is on disk"
        );
    }

    let second = start();
    assert_eq!(second.keys(), keys_before);
    assert_eq!(
        get(second.addr(), "/v1/teams", BOOTSTRAP).json(),
        teams,
        "same teams, same ids"
    );
    // Keys created before the restart still authenticate.
    assert_eq!(get(second.addr(), "/v1/api_keys", &personal).status, 200);
    assert_eq!(get(second.addr(), "/v1/users/me", &invoke).status, 200);
}

#[test]
fn generated_bootstrap_keys_are_not_kept_across_restarts() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("state.json");
    let first = Emulator::builder()
        .state_file(&path)
        .start_in_background()
        .unwrap();
    let old_key = first.api_key().to_owned();
    drop(first);
    let second = Emulator::builder()
        .state_file(&path)
        .start_in_background()
        .unwrap();
    let keys = second.keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["prefix"], &second.api_key()[..8]);
    assert_eq!(get(second.addr(), "/v1/users/me", &old_key).status, 401);
}

#[test]
fn seeded_keys_are_saved_and_survive_a_restart() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("state.json");
    let seeded = Emulator::builder()
        .state_file(&path)
        .api_key(BOOTSTRAP)
        .seed_keys(500)
        .start_in_background()
        .unwrap();
    let keys = seeded.keys();
    drop(seeded);
    let restarted = Emulator::builder()
        .state_file(&path)
        .api_key(BOOTSTRAP)
        .start_in_background()
        .unwrap();
    assert_eq!(restarted.keys(), keys);
    assert_eq!(keys.len(), 501);
}

#[test]
fn a_corrupt_state_file_is_refused_and_left_byte_identical() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("state.json");
    for contents in [
        &b"{ this is not json"[..],
        br#"{"format":1,"teams":[],"keys":[]}"#,
        br#"{"format":99,"teams":[],"keys":[]}"#,
        &[0xff, 0xfe, 0x00][..],
    ] {
        fs::write(&path, contents).unwrap();
        let error = Emulator::builder()
            .state_file(&path)
            .start_in_background()
            .unwrap_err();
        assert!(matches!(error, Error::CorruptState { .. }), "{error}");
        assert!(error.to_string().contains("state.json"));
        assert!(!error.to_string().contains('\n'));
        assert_eq!(fs::read(&path).unwrap(), contents);
    }
    let entries = fs::read_dir(folder.path()).unwrap().count();
    assert_eq!(entries, 1, "no temporary files left behind");
}

#[test]
fn an_unreadable_state_file_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let error = Emulator::builder()
        .state_file(folder.path())
        .start_in_background()
        .unwrap_err();
    assert!(matches!(error, Error::ReadState { .. }), "{error}");
}
