//! The management endpoints: shapes, auth, validation and error statuses.

use std::collections::HashSet;

use baseten_emulator::{BackgroundEmulator, Emulator};
use serde_json::{Value, json};

use crate::client::{self, create_key, delete, get, post, send};

fn emulator() -> BackgroundEmulator {
    Emulator::builder()
        .team("Research")
        .start_in_background()
        .unwrap()
}

/// Request headers as name and value.
type Headers<'a> = &'a [(&'a str, &'a str)];

fn field_names(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

fn team_id(emulator: &BackgroundEmulator, name: &str) -> String {
    let teams = get(emulator.addr(), "/v1/teams", emulator.api_key()).json();
    teams["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|team| team["name"] == name)
        .map(|team| team["id"].as_str().unwrap().to_owned())
        .unwrap()
}

#[test]
fn every_endpoint_answers_with_the_documented_shapes() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());

    let me = get(addr, "/v1/users/me", key);
    assert_eq!(me.status, 200);
    assert_eq!(me.header("content-type"), Some("application/json"));
    assert_eq!(
        field_names(&me.json()),
        ["user_id", "email", "name", "workspace_name"]
    );

    let teams = get(addr, "/v1/teams", key).json();
    let teams = teams["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 2);
    assert_eq!(
        field_names(&teams[0]),
        ["id", "name", "default", "created_at"]
    );
    assert_eq!(teams[0]["name"], "Default Team");
    assert_eq!(teams[0]["default"], true);
    assert_eq!(teams[1]["name"], "Research");
    assert_eq!(teams[1]["default"], false);
    let created_at = teams[0]["created_at"].as_str().unwrap();
    assert_eq!(
        created_at.len(),
        "2026-11-28T10:00:00Z".len(),
        "{created_at}"
    );
    assert!(created_at.ends_with('Z') && created_at.as_bytes()[10] == b'T');

    let personal = create_key(addr, key, &json!({"type": "PERSONAL", "name": "laptop"}));
    let (prefix, secret) = personal.split_once('.').unwrap();
    assert_eq!(prefix.len(), 8);
    assert!(secret.len() >= 32);
    assert!(
        personal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.')
    );

    let research = team_id(&emulator, "Research");
    let invoke = post(
        addr,
        &format!("/v1/teams/{research}/api_keys"),
        key,
        &json!({"type": "WORKSPACE_INVOKE", "model_ids": ["m1", "m2"]}),
    );
    assert_eq!(invoke.status, 200);
    let invoke = invoke.json()["api_key"].as_str().unwrap().to_owned();

    let listed = get(addr, "/v1/api_keys", key).json();
    let keys = listed["keys"].as_array().unwrap();
    // The bootstrap key first, then the created keys in creation order.
    assert_eq!(keys.len(), 3);
    assert_eq!(
        field_names(&keys[1]),
        ["prefix", "type", "name", "model_ids", "team_name"]
    );
    assert_eq!(
        keys[0],
        json!({"prefix": &key[..8], "type": "WORKSPACE_MANAGE_ALL", "name": null,
               "model_ids": null, "team_name": "Default Team"})
    );
    assert_eq!(
        keys[1],
        json!({"prefix": prefix, "type": "PERSONAL", "name": "laptop",
               "model_ids": null, "team_name": "Default Team"})
    );
    assert_eq!(
        keys[2],
        json!({"prefix": &invoke[..8], "type": "WORKSPACE_INVOKE", "name": null,
               "model_ids": ["m1", "m2"], "team_name": "Research"})
    );
    assert_eq!(emulator.keys(), *keys);

    let deleted = delete(addr, &format!("/v1/api_keys/{prefix}"), key);
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json(), json!({"prefix": prefix}));
    let remaining: Vec<Value> = emulator.keys();
    assert_eq!(remaining.len(), 2);
    assert!(remaining.iter().all(|listed| listed["prefix"] != prefix));
    // A deleted key no longer authenticates.
    assert_eq!(get(addr, "/v1/users/me", &personal).status, 401);
}

#[test]
fn both_auth_schemes_are_accepted() {
    let emulator = emulator();
    for scheme in ["Api-Key", "Bearer"] {
        let header = format!("{scheme} {}", emulator.api_key());
        let reply = send(
            emulator.addr(),
            "GET",
            "/v1/api_keys",
            &[("Authorization", &header)],
            None,
        )
        .unwrap();
        assert_eq!(reply.status, 200, "{scheme}");
    }
}

#[test]
fn missing_malformed_and_unknown_keys_get_401() {
    let emulator = emulator();
    let addr = emulator.addr();
    let prefix = &emulator.api_key()[..8];
    let wrong_secret = format!("Api-Key {prefix}.not-the-secret");
    let cases: [&[(&str, &str)]; 6] = [
        &[],
        &[("Authorization", "Api-Key")],
        &[("Authorization", "Basic dXNlcjpwYXNz")],
        &[("Authorization", "Api-Key no-dot-here")],
        &[("Authorization", "Bearer zzzzzzzz.unknownsecret")],
        &[("Authorization", &wrong_secret)],
    ];
    for headers in cases {
        for path in ["/v1/api_keys", "/v1/users/me", "/v1/teams"] {
            let reply = send(addr, "GET", path, headers, None).unwrap();
            assert_eq!(reply.status, 401, "{path} with {headers:?}");
            assert!(!reply.message().is_empty());
        }
    }
}

#[test]
fn keys_that_cannot_manage_get_403_except_on_users_me() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    let research = team_id(&emulator, "Research");
    for key_type in ["WORKSPACE_INVOKE", "WORKSPACE_EXPORT_METRICS"] {
        let limited = create_key(addr, key, &json!({"type": key_type}));
        assert_eq!(get(addr, "/v1/users/me", &limited).status, 200);
        assert_eq!(get(addr, "/v1/api_keys", &limited).status, 403);
        assert_eq!(get(addr, "/v1/teams", &limited).status, 403);
        let body = json!({"type": "PERSONAL"});
        assert_eq!(post(addr, "/v1/api_keys", &limited, &body).status, 403);
        let team_path = format!("/v1/teams/{research}/api_keys");
        assert_eq!(post(addr, &team_path, &limited, &body).status, 403);
        let own = format!("/v1/api_keys/{}", &limited[..8]);
        let refused = delete(addr, &own, &limited);
        assert_eq!(refused.status, 403);
        assert!(refused.message().contains(key_type));
    }
}

#[test]
fn created_manage_keys_can_manage_keys() {
    let emulator = emulator();
    let addr = emulator.addr();
    for key_type in ["PERSONAL", "WORKSPACE_MANAGE_ALL"] {
        let manager = create_key(addr, emulator.api_key(), &json!({"type": key_type}));
        let child = create_key(addr, &manager, &json!({"type": "WORKSPACE_INVOKE"}));
        assert_eq!(get(addr, "/v1/api_keys", &manager).status, 200);
        assert_eq!(
            delete(addr, &format!("/v1/api_keys/{}", &child[..8]), &manager).status,
            200
        );
    }
}

#[test]
fn bad_bodies_get_400_naming_the_problem() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    let auth = client::api_key(key);
    let json_type = ("Content-Type", "application/json");
    let cases: [(Headers<'_>, &str, &str); 9] = [
        (&[json_type], "{\"type\":", "malformed"),
        (&[json_type], "", "malformed"),
        (&[json_type], r#"{"type":"ADMIN"}"#, "ADMIN"),
        (&[json_type], r#"{"name":"no type"}"#, "type"),
        (
            &[json_type],
            r#"{"type":"PERSONAL","colour":"red"}"#,
            "colour",
        ),
        (
            &[json_type],
            r#"{"type":"PERSONAL","model_ids":["m1"]}"#,
            "model_ids",
        ),
        (
            &[json_type],
            r#"{"type":"WORKSPACE_MANAGE_ALL","model_ids":[]}"#,
            "model_ids",
        ),
        (
            &[("Content-Type", "text/plain")],
            r#"{"type":"PERSONAL"}"#,
            "content type",
        ),
        (&[], r#"{"type":"PERSONAL"}"#, "content type"),
    ];
    for (headers, body, needle) in cases {
        let mut headers = headers.to_vec();
        headers.push(("Authorization", &auth));
        let reply = send(
            addr,
            "POST",
            "/v1/api_keys",
            &headers,
            Some(body.as_bytes()),
        )
        .unwrap();
        assert_eq!(reply.status, 400, "{body}");
        let message = reply.message();
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    }
    // Nothing was created by any of them.
    assert_eq!(emulator.keys().len(), 1);
}

#[test]
fn unknown_prefix_team_and_path_get_404() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    assert_eq!(delete(addr, "/v1/api_keys/zzzzzzzz", key).status, 404);
    let team = post(
        addr,
        "/v1/teams/nosuchteam/api_keys",
        key,
        &json!({"type": "PERSONAL"}),
    );
    assert_eq!(team.status, 404);
    assert!(team.message().contains("nosuchteam"));
    for path in [
        "/v1/nothing",
        "/",
        "/v1/api_keys/",
        "/_emulator/nothing",
        "/v2/api_keys",
    ] {
        let reply = get(addr, path, key);
        assert_eq!(reply.status, 404, "{path}");
        assert!(!reply.message().is_empty());
    }
}

#[test]
fn wrong_method_on_a_known_path_gets_405() {
    let emulator = emulator();
    let addr = emulator.addr();
    let auth = client::api_key(emulator.api_key());
    for (method, path) in [
        ("PUT", "/v1/api_keys"),
        ("DELETE", "/v1/api_keys"),
        ("GET", "/v1/api_keys/abcdefgh"),
        ("POST", "/v1/teams"),
        ("GET", "/v1/teams/x/api_keys"),
        ("DELETE", "/v1/users/me"),
        ("GET", "/_emulator/faults"),
    ] {
        let reply = send(addr, method, path, &[("Authorization", &auth)], None).unwrap();
        assert_eq!(reply.status, 405, "{method} {path}");
        assert!(reply.message().contains(method));
    }
}

#[test]
fn bodies_over_64_kib_get_413() {
    let emulator = emulator();
    let name = "x".repeat(70 * 1024);
    let reply = client::try_post(
        emulator.addr(),
        "/v1/api_keys",
        emulator.api_key(),
        &json!({"type": "PERSONAL", "name": name}),
    )
    .unwrap();
    assert_eq!(reply.status, 413);
    assert!(reply.message().contains("64 KiB"));
    // Just under the limit is fine.
    let name = "x".repeat(60 * 1024);
    let reply = client::post(
        emulator.addr(),
        "/v1/api_keys",
        emulator.api_key(),
        &json!({"type": "PERSONAL", "name": name}),
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn odd_path_parameters_get_404_and_break_nothing() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key());
    let odd = [
        "a%2Fb",
        "%2F",
        "with%20space",
        "%E2%9C%93%E2%9C%93",
        "..",
        "%2E%2E",
        "%FF%FE",
        "%00",
        "%",
        "abc%2",
        "%25",
        "%3F%23",
    ];
    for parameter in odd {
        let reply = delete(addr, &format!("/v1/api_keys/{parameter}"), key);
        assert_eq!(reply.status, 404, "prefix {parameter}");
        assert!(!reply.message().is_empty());
        let reply = post(
            addr,
            &format!("/v1/teams/{parameter}/api_keys"),
            key,
            &json!({"type": "PERSONAL"}),
        );
        assert_eq!(reply.status, 404, "team {parameter}");
    }
    assert_eq!(delete(addr, "/v1/api_keys/../teams", key).status, 404);
    assert_eq!(get(addr, "/v1/users/me", key).status, 200);
}

#[test]
fn fifty_concurrent_creates_give_fifty_distinct_listable_keys() {
    let emulator = emulator();
    let (addr, key) = (emulator.addr(), emulator.api_key().to_owned());
    let threads: Vec<_> = (0..50)
        .map(|index| {
            let key = key.clone();
            std::thread::spawn(move || {
                create_key(
                    addr,
                    &key,
                    &json!({"type": "PERSONAL", "name": format!("parallel-{index}")}),
                )
            })
        })
        .collect();
    let created: HashSet<String> = threads
        .into_iter()
        .map(|thread| thread.join().unwrap()[..8].to_owned())
        .collect();
    assert_eq!(created.len(), 50);
    let listed = get(addr, "/v1/api_keys", &key).json();
    let listed: HashSet<String> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["prefix"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 51);
    assert!(created.is_subset(&listed));
}

#[test]
fn seeded_keys_are_listed_with_mixed_types() {
    let emulator = Emulator::builder()
        .seed_keys(2000)
        .start_in_background()
        .unwrap();
    let listed = get(emulator.addr(), "/v1/api_keys", emulator.api_key()).json();
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2001);
    assert_eq!(keys[1]["name"], "seed-00001");
    assert_eq!(keys[2000]["name"], "seed-02000");
    let types: HashSet<&str> = keys
        .iter()
        .map(|key| key["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 4);
    for key in &keys[1..] {
        let limited = matches!(
            key["type"].as_str(),
            Some("WORKSPACE_INVOKE" | "WORKSPACE_EXPORT_METRICS")
        );
        assert_eq!(key["model_ids"].is_array(), limited, "{key}");
    }
    let prefixes: HashSet<&str> = keys
        .iter()
        .map(|key| key["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(prefixes.len(), 2001);
}

#[test]
fn a_given_bootstrap_key_is_used_and_a_malformed_one_refused() {
    let key = "abcd1234.the-secret-of-the-bootstrap-key";
    let emulator = Emulator::builder()
        .api_key(key)
        .start_in_background()
        .unwrap();
    assert_eq!(emulator.api_key(), key);
    assert_eq!(get(emulator.addr(), "/v1/users/me", key).status, 200);
    for bad in ["no-dot", "short.secret", "abcd1234.", "abcd/234.secret"] {
        let error = Emulator::builder()
            .api_key(bad)
            .start_in_background()
            .unwrap_err();
        assert!(
            !error.to_string().contains(bad),
            "the key is not echoed: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_builder_serves_until_shut_down() {
    let emulator = Emulator::builder().start().await.unwrap();
    assert_eq!(emulator.url(), format!("http://{}", emulator.addr()));
    let (addr, key) = (emulator.addr(), emulator.api_key().to_owned());
    let reply = tokio::task::spawn_blocking(move || get(addr, "/v1/users/me", &key))
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    emulator.shutdown().await;
    assert!(std::net::TcpStream::connect(addr).is_err());
}
