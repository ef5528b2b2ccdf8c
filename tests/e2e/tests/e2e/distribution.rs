//! Installing plugins from elsewhere: by URL, by name from a plugin index, pinned at a version;
//! receipts in `plugin list` and `plugin info`; `plugin search` and `plugin upgrade`; and every
//! way a download can go wrong (a tampered file, another platform, another plugin API, an
//! unreachable index, a redirect, a download cut short, an archive with no or two plugin files)
//! leaving the installed state as it was. Served by real servers on 127.0.0.1: a small static
//! file server of this module over plain http, and the emulator's file folder over https under
//! its throwaway CA. No download ever carries the credential.

#![cfg(unix)]

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use baseten_e2e::{Emulator, LocalServer, Run, Sandbox, closed_port, hello_plugin, host_target};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::requests;

/// The files a [`static_server`] serves, by path (`/index.json`).
type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A static file server on 127.0.0.1 over plain http: `GET /PATH` answers the file, else 404.
fn static_server(files: &Files) -> LocalServer {
    let files = Arc::clone(files);
    LocalServer::start(move |head, mut stream| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let found = files.lock().expect("never left locked").get(&path).cloned();
        let _ = match found {
            Some(body) => {
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(&body)
            }
            None => stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ),
        };
    })
}

/// An executable plugin `greet` (command `greet hi`) of `version`, built for plugin API `api`.
fn script_plugin(version: &str, api: &str) -> Vec<u8> {
    format!(
        "#!/bin/sh\nIFS= read -r first || exit 3\nprintf '%s\\n' '{}'\n",
        json!({
            "type": "manifest",
            "manifest": {
                "name": "greet",
                "version": version,
                "plugin_api_version": api,
                "description": "Greetings",
                "groups": [{"path": ["greet"], "about": "Greetings"}],
                "commands": [{"path": ["greet", "hi"], "about": "Say hi"}],
            }
        })
    )
    .into_bytes()
}

/// A `.tar.gz` of `(path, content)` entries, each a plain file of mode 0755.
fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o755);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, *content)
            .expect("appends an entry");
    }
    builder
        .into_inner()
        .expect("finishes the archive")
        .finish()
        .expect("compresses")
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// One version of `greet` in an index: `(version, plugin API, target, url, sha256)`.
type Listed<'a> = (&'a str, &'a str, &'a str, &'a str, String);

/// An index listing `greet` in the documented format.
fn index(versions: &[Listed<'_>]) -> Vec<u8> {
    let versions: Vec<Value> = versions
        .iter()
        .map(|(version, api, target, url, sha256)| {
            json!({"version": version, "plugin_api": api,
                   "artifacts": [{"target": target, "url": url, "sha256": sha256}]})
        })
        .collect();
    json!({"plugins": [{"name": "greet", "description": "Greetings",
                        "homepage": "https://example.com", "versions": versions}]})
    .to_string()
    .into_bytes()
}

/// A sandbox logged in with a key (so that a credential would be there to leak).
fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_API_KEY", "abcd1234.thesecretpartofthekey");
    sandbox.set("BASETEN_HTTP_TIMEOUT", "10");
    sandbox
}

fn user_folder(sandbox: &Sandbox) -> PathBuf {
    sandbox.home().join(".local/share/baseten/plugins")
}

/// The names in the user plugin folder, sorted.
fn installed_files(sandbox: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(user_folder(sandbox))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `greet`'s entry in `plugin list -o json`.
fn listed(sandbox: &Sandbox, name: &str) -> Option<Value> {
    let run = sandbox.run(&["plugin", "list", "-o", "json"]);
    run.assert_code(0);
    let json = run.json();
    assert_eq!(json["skipped"], json!([]), "nothing is skipped: {json}");
    json["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|plugin| plugin["name"] == name)
        .cloned()
}

/// The version of `greet` installed, if any.
fn greet_version(sandbox: &Sandbox) -> Option<String> {
    listed(sandbox, "greet").and_then(|plugin| plugin["version"].as_str().map(str::to_owned))
}

#[track_caller]
fn assert_error(run: &Run, code: i32, needle: &str) {
    run.assert_code(code);
    assert!(
        run.stderr.contains(needle),
        "stderr should hold `{needle}`:\n{}",
        run.stderr
    );
}

/// Every request head `server` read: none has an `Authorization` header or the key.
#[track_caller]
fn assert_no_credential(server: &LocalServer) {
    let heads = server.heads();
    assert!(!heads.is_empty(), "the server was asked nothing");
    for head in heads {
        let lower = head.to_ascii_lowercase();
        assert!(!lower.contains("authorization"), "{head}");
        assert!(!head.contains("abcd1234"), "{head}");
    }
}

#[test]
fn install_by_url_by_name_and_pinned_version_with_receipts_and_no_credential() {
    let files: Files = Arc::default();
    let server = static_server(&files);
    let v1 = tar_gz(&[
        ("greet/README.md", b"read me"),
        (
            "greet/baseten-plugin-greet",
            &script_plugin("0.1.0", "1.0.0"),
        ),
    ]);
    let v2 = script_plugin("0.2.0", "1.1.0");
    {
        let mut files = files.lock().expect("never left locked");
        files.insert("/greet-0.1.0.tar.gz".into(), v1.clone());
        files.insert("/dl/baseten-plugin-greet".into(), v2.clone());
        files.insert(
            "/index.json".into(),
            index(&[
                ("0.1.0", "1.0", "any", "greet-0.1.0.tar.gz", sha256(&v1)),
                (
                    "0.2.0",
                    "1.1",
                    "any",
                    "dl/baseten-plugin-greet",
                    sha256(&v2),
                ),
            ]),
        );
    }
    let mut sandbox = sandbox();
    // Plain http (to this machine only) never goes through a proxy.
    let proxy = crate::http_hardening::connect_proxy();
    sandbox.set("HTTPS_PROXY", proxy.url());
    sandbox.set("ALL_PROXY", proxy.url());

    // By URL, with the digest pinned.
    let url = format!("{}/greet-0.1.0.tar.gz", server.url());
    let run = sandbox.run(&["plugin", "install", &url, "--sha256", &sha256(&v1)]);
    run.assert_code(0);
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.1.0"));
    assert_eq!(
        installed_files(&sandbox),
        ["baseten-plugin-greet", "greet.receipt.json"]
    );
    let info = sandbox.run(&["plugin", "info", "greet", "-o", "json"]);
    info.assert_code(0);
    let receipt = &info.json()["receipt"];
    assert_eq!(receipt["source"], json!({"kind": "url", "url": url}));
    assert_eq!(receipt["sha256"], json!(sha256(&v1)));
    assert_eq!(receipt["version"], "0.1.0");
    assert_eq!(receipt["pinned"], true);
    assert!(
        receipt["installed_at"]
            .as_str()
            .is_some_and(|at| at.ends_with('Z'))
    );

    // By name: the newest compatible version.
    sandbox.set(
        "BASETEN_PLUGIN_INDEX",
        format!("{}/index.json", server.url()),
    );
    let run = sandbox.run(&["plugin", "install", "greet"]);
    run.assert_code(0);
    assert!(run.stderr.contains("replacing 0.1.0"), "{}", run.stderr);
    let entry = listed(&sandbox, "greet").expect("listed");
    assert_eq!(entry["version"], "0.2.0");
    assert_eq!(
        entry["source"],
        json!({"kind": "index", "index": format!("{}/index.json", server.url()), "name": "greet"})
    );
    assert_eq!(entry["pinned"], false);
    let text = sandbox.run(&["plugin", "list"]);
    assert!(text.stdout.contains("index greet"), "{}", text.stdout);

    // By name@version: pinned there.
    let run = sandbox.run(&["plugin", "install", "greet@0.1.0"]);
    run.assert_code(0);
    let entry = listed(&sandbox, "greet").expect("listed");
    assert_eq!(
        (entry["version"].as_str(), entry["pinned"].as_bool()),
        (Some("0.1.0"), Some(true))
    );
    let text = sandbox.run(&["plugin", "info", "greet"]);
    assert!(text.stdout.contains("Pinned:       yes"), "{}", text.stdout);

    // Remove takes the receipt too.
    sandbox.run(&["plugin", "remove", "greet"]).assert_code(0);
    assert!(
        installed_files(&sandbox).is_empty(),
        "{:?}",
        installed_files(&sandbox)
    );
    assert_no_credential(&server);
    assert_eq!(proxy.connections(), 0);
}

#[test]
fn a_library_plugin_installs_from_a_tar_gz_over_https_with_the_ca_bundle() {
    let published = tempfile::tempdir().expect("a temp folder");
    let library = std::fs::read(hello_plugin()).expect("reads the hello plugin");
    let archive = tar_gz(&[("libbaseten_plugin_hello.so", &library)]);
    std::fs::write(published.path().join("hello-0.1.0.tar.gz"), &archive).expect("writes");
    let ca = published.path().join("ca.pem");
    let emulator = Emulator::builder()
        .tls(&ca)
        .files(published.path())
        .start_in_background()
        .expect("the emulator starts");
    let mut sandbox = sandbox();
    let target = host_target();
    let index = json!({"plugins": [{"name": "hello", "description": "Say hello",
        "versions": [{"version": "0.1.0", "plugin_api": "1.1",
            "artifacts": [
                {"target": "some-other-target", "url": "elsewhere.tar.gz", "sha256": "0".repeat(64)},
                {"target": target, "url": "hello-0.1.0.tar.gz", "sha256": sha256(&archive)}]}]}]});
    std::fs::write(published.path().join("index.json"), index.to_string()).expect("writes");
    sandbox.set(
        "BASETEN_PLUGIN_INDEX",
        format!("{}/_files/index.json", emulator.url()),
    );

    // Without the CA, the index is refused before anything is read.
    let run = sandbox.run(&["plugin", "search"]);
    assert_error(&run, 7, "not trusted");

    sandbox.set("BASETEN_CA_BUNDLE", ca.as_os_str());
    let search = sandbox.run(&["plugin", "search", "hel"]);
    search.assert_code(0);
    assert!(search.stdout.contains("hello  0.1.0"), "{}", search.stdout);
    // Through the https proxy, as every https request of the host.
    let proxy = crate::http_hardening::connect_proxy();
    sandbox.set("HTTPS_PROXY", proxy.url());
    let run = sandbox.run(&["plugin", "install", "hello"]);
    run.assert_code(0);
    let tunnel = format!("CONNECT {} HTTP/1.1\r\n", emulator.addr());
    let heads = proxy.heads();
    // One tunnel, or one each for the index and the artifact: the connection may be reused.
    assert!(!heads.is_empty());
    assert!(
        heads.iter().all(|head| head.starts_with(&tunnel)),
        "{heads:?}"
    );
    let entry = listed(&sandbox, "hello").expect("listed");
    assert_eq!(
        (entry["kind"].as_str(), entry["status"].as_str()),
        (Some("library"), Some("ok"))
    );
    let search = sandbox.run(&["plugin", "search", "-o", "json"]);
    search.assert_code(0);
    assert_eq!(search.json()["plugins"][0]["installed_version"], "0.1.0");
    // The bundled plugins were copied in by hand, as far as receipts go.
    assert_eq!(
        listed(&sandbox, "org-api-key").expect("bundled")["source"],
        Value::Null
    );
    for request in requests(&emulator) {
        assert_eq!(request["auth_scheme"], Value::Null, "{request}");
    }
}

#[test]
fn upgrade_skips_pinned_plugins_until_named_and_dry_run_changes_nothing() {
    let files: Files = Arc::default();
    let server = static_server(&files);
    let v1 = script_plugin("0.1.0", "1.0.0");
    let v2 = script_plugin("0.2.0", "1.1.0");
    let publish = |versions: &[Listed<'_>]| {
        files
            .lock()
            .expect("never left locked")
            .insert("/index.json".into(), index(versions));
    };
    {
        let mut files = files.lock().expect("never left locked");
        files.insert("/greet-1".into(), v1.clone());
        files.insert("/greet-2".into(), v2.clone());
    }
    publish(&[("0.1.0", "1.0", "any", "greet-1", sha256(&v1))]);
    let mut sandbox = sandbox();
    sandbox.set(
        "BASETEN_PLUGIN_INDEX",
        format!("{}/index.json", server.url()),
    );
    sandbox.run(&["plugin", "install", "greet"]).assert_code(0);
    let run = sandbox.run(&["plugin", "upgrade", "--all"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "greet 0.1.0 is up to date\n");

    publish(&[
        ("0.1.0", "1.0", "any", "greet-1", sha256(&v1)),
        ("0.2.0", "1.1", "any", "greet-2", sha256(&v2)),
    ]);
    let run = sandbox.run(&["plugin", "upgrade", "--all", "--dry-run"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("greet 0.1.0 -> 0.2.0 (dry run"),
        "{}",
        run.stdout
    );
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.1.0"));

    let run = sandbox.run(&["plugin", "upgrade", "--all"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "greet 0.1.0 -> 0.2.0\n");
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.2.0"));

    // Pinned: `--all` leaves it, naming it upgrades it.
    sandbox
        .run(&["plugin", "install", "greet@0.1.0"])
        .assert_code(0);
    let run = sandbox.run(&["plugin", "upgrade", "--all", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["plugins"][0]["status"], "pinned");
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.1.0"));
    // Several names: every one is checked before anything is downloaded.
    let run = sandbox.run(&["plugin", "upgrade", "greet", "nosuch"]);
    assert_error(&run, 4, "`nosuch`");
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.1.0"));
    let run = sandbox.run(&["plugin", "upgrade", "greet", "greet"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "greet 0.1.0 -> 0.2.0\n");
    assert_eq!(listed(&sandbox, "greet").expect("listed")["pinned"], false);

    // A newer version whose file does not match its digest: the installed one keeps working.
    let v3 = script_plugin("0.3.0", "1.1.0");
    files
        .lock()
        .expect("never left locked")
        .insert("/greet-3".into(), v3);
    publish(&[
        ("0.2.0", "1.1", "any", "greet-2", sha256(&v2)),
        ("0.3.0", "1.1", "any", "greet-3", sha256(b"something else")),
    ]);
    let run = sandbox.run(&["plugin", "upgrade", "greet"]);
    assert_error(&run, 1, "sha256 mismatch");
    assert!(
        run.stderr.contains("the installed version is unchanged"),
        "{}",
        run.stderr
    );
    let entry = listed(&sandbox, "greet").expect("listed");
    assert_eq!(
        (entry["version"].as_str(), entry["status"].as_str()),
        (Some("0.2.0"), Some("ok"))
    );
    assert_eq!(
        installed_files(&sandbox),
        ["baseten-plugin-greet", "greet.receipt.json"]
    );
    assert_no_credential(&server);
}

#[test]
fn a_tampered_artifact_installs_nothing_and_shows_both_digests() {
    let files: Files = Arc::default();
    let server = static_server(&files);
    let published = script_plugin("0.1.0", "1.0.0");
    let tampered = script_plugin("0.1.0-evil", "1.0.0");
    {
        let mut files = files.lock().expect("never left locked");
        files.insert("/greet".into(), tampered.clone());
        files.insert(
            "/index.json".into(),
            index(&[("0.1.0", "1.0", "any", "greet", sha256(&published))]),
        );
    }
    let mut sandbox = sandbox();
    sandbox.set(
        "BASETEN_PLUGIN_INDEX",
        format!("{}/index.json", server.url()),
    );
    let run = sandbox.run(&["plugin", "install", "greet"]);
    assert_error(&run, 1, "sha256 mismatch");
    assert!(run.stderr.contains(&sha256(&published)), "{}", run.stderr);
    assert!(run.stderr.contains(&sha256(&tampered)), "{}", run.stderr);
    assert!(
        installed_files(&sandbox).is_empty(),
        "{:?}",
        installed_files(&sandbox)
    );

    // A download over the size limit is refused as any response is.
    sandbox.set("BASETEN_MAX_RESPONSE_BYTES", "10");
    let run = sandbox.run(&["plugin", "install", "greet"]);
    assert_error(&run, 1, "larger than the limit of 10 bytes");
    assert!(installed_files(&sandbox).is_empty());
    sandbox.unset("BASETEN_MAX_RESPONSE_BYTES");

    // The same with --sha256 on a URL; `-vv` logs the download, headers and all, and there is
    // no credential among them.
    let url = format!("{}/greet", server.url());
    let run = sandbox.run(&[
        "-vv",
        "plugin",
        "install",
        &url,
        "--sha256",
        &sha256(&published),
    ]);
    assert_error(&run, 1, "sha256 mismatch");
    assert!(
        run.stderr.contains(&format!("> GET {url} (attempt 1/3)")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("> user-agent: baseten/"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.to_ascii_lowercase().contains("authorization"),
        "{}",
        run.stderr
    );
    assert_no_credential(&server);
    assert!(
        installed_files(&sandbox).is_empty(),
        "{:?}",
        installed_files(&sandbox)
    );
}

#[test]
fn another_platform_or_plugin_api_is_refused_and_search_all_says_why() {
    let folder = tempfile::tempdir().expect("a temp folder");
    let plugin = script_plugin("0.1.0", "1.0.0");
    std::fs::write(folder.path().join("greet"), &plugin).expect("writes");
    let next_major = script_plugin("2.0.0", "2.0.0");
    std::fs::write(folder.path().join("greet-2"), &next_major).expect("writes");
    let index_file = folder.path().join("index.json");
    std::fs::write(
        &index_file,
        index(&[
            ("0.1.0", "1.0", "no-such-target", "greet", sha256(&plugin)),
            ("2.0.0", "2.0", "any", "greet-2", sha256(&next_major)),
        ]),
    )
    .expect("writes");
    let mut sandbox = sandbox();
    sandbox.set("BASETEN_PLUGIN_INDEX", index_file.as_os_str());

    let run = sandbox.run(&["plugin", "install", "greet@0.1.0"]);
    assert_error(&run, 1, "has no build for");
    assert!(run.stderr.contains("no-such-target"), "{}", run.stderr);
    let run = sandbox.run(&["plugin", "install", "greet@2.0.0"]);
    assert_error(&run, 1, "is built for plugin API 2.0");
    let run = sandbox.run(&["plugin", "install", "greet"]);
    assert_error(
        &run,
        1,
        "no version of plugin `greet` can be installed here",
    );
    assert!(
        installed_files(&sandbox).is_empty(),
        "{:?}",
        installed_files(&sandbox)
    );

    let search = sandbox.run(&["plugin", "search"]);
    search.assert_code(0);
    assert!(!search.stdout.contains("greet"), "{}", search.stdout);
    let all = sandbox.run(&["plugin", "search", "--all", "-o", "json"]);
    all.assert_code(0);
    let found = &all.json()["plugins"][0];
    assert_eq!(found["installable"], false);
    assert!(
        found["reason"]
            .as_str()
            .is_some_and(|why| why.contains("plugin API 2.0")),
        "{found}"
    );
}

#[test]
fn an_unset_unreachable_or_malformed_index_is_one_clear_error() {
    let mut sandbox = sandbox();
    let run = sandbox.run(&["plugin", "search"]);
    assert_error(&run, 1, "error: no plugin index is set");
    assert!(
        run.stderr.contains("hint: set BASETEN_PLUGIN_INDEX"),
        "{}",
        run.stderr
    );

    let run = sandbox.run(&["plugin", "install", "greet"]);
    assert_error(
        &run,
        1,
        "error: cannot install `greet`: there is no such file, and no plugin index is set",
    );

    let unreachable = format!("http://127.0.0.1:{}/index.json", closed_port());
    sandbox.set("BASETEN_PLUGIN_INDEX", &unreachable);
    let run = sandbox.run(&["plugin", "install", "greet"]);
    assert_error(&run, 7, "could not read the plugin index");

    sandbox.set("BASETEN_PLUGIN_INDEX", "http://example.com/index.json");
    assert_error(
        &sandbox.run(&["plugin", "search"]),
        2,
        "plain http is allowed only to this machine",
    );

    let folder = tempfile::tempdir().expect("a temp folder");
    let malformed = folder.path().join("index.json");
    std::fs::write(
        &malformed,
        r#"{"plugins": [{"name": "greet", "versions": [{"version": "0.1.0",
            "plugin_api": "1.0", "artifacts": [{"target": "any", "url": "greet"}]}]}]}"#,
    )
    .expect("writes");
    sandbox.set("BASETEN_PLUGIN_INDEX", malformed.as_os_str());
    let run = sandbox.run(&["plugin", "search"]);
    assert_error(&run, 1, "invalid plugin index `");
    assert!(
        run.stderr.contains("missing field `sha256`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .lines()
            .filter(|line| line.starts_with("error:"))
            .count(),
        1
    );
}

#[test]
fn a_redirect_is_refused_and_not_followed() {
    let target = LocalServer::start(|_, mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    let location = format!("{}/baseten-plugin-greet", target.url());
    let server = LocalServer::start(move |_, mut stream| {
        let _ = write!(
            stream,
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
        );
    });
    let sandbox = sandbox();
    let url = format!("{}/baseten-plugin-greet", server.url());
    let run = sandbox.run(&["plugin", "install", &url]);
    assert_error(&run, 1, "HTTP 302 redirect to");
    assert!(run.stderr.contains("not followed"), "{}", run.stderr);
    assert_eq!(target.connections(), 0);
    assert_eq!(server.connections(), 1);
    assert!(installed_files(&sandbox).is_empty());
    assert_no_credential(&server);
}

#[test]
fn a_download_cut_short_keeps_the_installed_version() {
    let files: Files = Arc::default();
    let server = static_server(&files);
    let v1 = script_plugin("0.1.0", "1.0.0");
    files
        .lock()
        .expect("never left locked")
        .insert("/baseten-plugin-greet".into(), v1.clone());
    let sandbox = sandbox();
    let url = format!("{}/baseten-plugin-greet", server.url());
    sandbox.run(&["plugin", "install", &url]).assert_code(0);
    let before =
        std::fs::read(user_folder(&sandbox).join("greet.receipt.json")).expect("a receipt");

    // Announces a whole file, sends a piece of it, and hangs up.
    let cut = LocalServer::start(|_, mut stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n#!/bin/sh\nprintf 'half of it",
        );
        let _ = stream.shutdown(std::net::Shutdown::Both);
    });
    let url = format!("{}/baseten-plugin-greet", cut.url());
    let run = sandbox.run(&["plugin", "install", &url]);
    assert_error(&run, 7, "could not download");
    // A GET is tried again before giving up.
    assert_eq!(cut.connections(), 3);
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.1.0"));
    assert_eq!(
        installed_files(&sandbox),
        ["baseten-plugin-greet", "greet.receipt.json"]
    );
    assert_eq!(
        std::fs::read(user_folder(&sandbox).join("greet.receipt.json")).expect("a receipt"),
        before
    );
    assert_eq!(
        std::fs::read(user_folder(&sandbox).join("baseten-plugin-greet")).expect("reads"),
        v1
    );
}

#[test]
fn an_archive_must_hold_exactly_one_plugin_file() {
    let files: Files = Arc::default();
    let server = static_server(&files);
    let plugin = script_plugin("0.1.0", "1.0.0");
    {
        let mut files = files.lock().expect("never left locked");
        files.insert(
            "/none.tar.gz".into(),
            tar_gz(&[("README.md", b"no plugin here")]),
        );
        files.insert(
            "/two.tar.gz".into(),
            tar_gz(&[
                ("baseten-plugin-greet", &plugin),
                ("baseten-plugin-other", &plugin),
            ]),
        );
    }
    let sandbox = sandbox();
    let missing = format!("{}/missing.tar.gz", server.url());
    assert_error(
        &sandbox.run(&["plugin", "install", &missing]),
        4,
        "HTTP 404 Not Found",
    );
    let run = sandbox.run(&[
        "plugin",
        "install",
        &format!("{}/none.tar.gz", server.url()),
    ]);
    assert_error(&run, 1, "the archive holds no plugin file");
    let run = sandbox.run(&["plugin", "install", &format!("{}/two.tar.gz", server.url())]);
    assert_error(
        &run,
        1,
        "the archive holds 2 plugin files (`baseten-plugin-greet`, `baseten-plugin-other`); it must hold exactly one",
    );
    assert_eq!(
        run.stderr
            .lines()
            .filter(|line| line.starts_with("error:"))
            .count(),
        1
    );
    // Nothing installed, and no staging folder left behind.
    assert!(
        installed_files(&sandbox).is_empty(),
        "{:?}",
        installed_files(&sandbox)
    );
}

#[test]
fn a_local_file_install_records_its_path_and_a_hand_copied_plugin_has_no_receipt() {
    let folder = tempfile::tempdir().expect("a temp folder");
    let file = folder.path().join("baseten-plugin-greet");
    std::fs::write(&file, script_plugin("0.1.0", "1.0.0")).expect("writes");
    baseten_e2e::set_plugin_mode(&file);
    let sandbox = sandbox();
    let path = file.to_string_lossy().into_owned();
    sandbox.run(&["plugin", "install", &path]).assert_code(0);
    let entry = listed(&sandbox, "greet").expect("listed");
    assert_eq!(entry["source"], json!({"kind": "file", "path": path}));
    let run = sandbox.run(&["plugin", "upgrade", "greet"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("was installed from the file"),
        "{}",
        run.stdout
    );

    // A copy without a receipt: shown as such, and `upgrade` says why it cannot.
    std::fs::remove_file(user_folder(&sandbox).join("greet.receipt.json")).expect("removes");
    let info = sandbox.run(&["plugin", "info", "greet"]);
    info.assert_code(0);
    assert!(
        info.stdout.contains("Source:       no receipt"),
        "{}",
        info.stdout
    );
    let run = sandbox.run(&["plugin", "upgrade", "greet"]);
    assert_error(&run, 1, "has no receipt");
}

/// A server that sends `body` in five pieces, 200 ms apart: a download slower than a moment.
fn slow_server(body: Vec<u8>) -> LocalServer {
    LocalServer::start(move |_, mut stream| {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        for piece in body.chunks(body.len().div_ceil(5)) {
            let _ = stream.write_all(piece);
            let _ = stream.flush();
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    })
}

#[test]
fn a_slow_download_shows_progress_on_a_terminal_only() {
    if !baseten_e2e::programs_installed(&["script"], "download progress on a terminal") {
        return;
    }
    let plugin = script_plugin("0.1.0", "1.0.0");
    let server = slow_server(plugin.clone());
    let url = format!("{}/baseten-plugin-greet", server.url());
    let sandbox = sandbox();
    let run = sandbox.run(&["plugin", "install", &url]);
    run.assert_code(0);
    assert!(!run.stderr.contains("Downloading"), "{}", run.stderr);

    let sandbox = self::sandbox();
    let mut command = sandbox.command(std::path::Path::new("script"));
    command.args([
        "-qec",
        &format!(
            "{} plugin install {url}",
            baseten_e2e::baseten_bin().display()
        ),
        "/dev/null",
    ]);
    let run = baseten_e2e::run_command(command, "");
    run.assert_code(0);
    let size = plugin.len();
    assert!(
        run.stdout.contains(&format!(
            "Downloading baseten-plugin-greet: {size} B of {size} B"
        )),
        "{run:?}"
    );
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.1.0"));
}

#[test]
fn ctrl_c_during_a_download_keeps_the_installed_version_and_leftovers_are_cleaned_up() {
    let files: Files = Arc::default();
    let server = static_server(&files);
    let v1 = script_plugin("0.1.0", "1.0.0");
    files
        .lock()
        .expect("never left locked")
        .insert("/baseten-plugin-greet".into(), v1.clone());
    let sandbox = sandbox();
    let url = format!("{}/baseten-plugin-greet", server.url());
    sandbox.run(&["plugin", "install", &url]).assert_code(0);

    // Sends part of a file, then waits for as long as the test lasts.
    let hanging = LocalServer::start(|_, mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n#!/bin/sh\n");
        let _ = stream.flush();
        std::thread::sleep(std::time::Duration::from_secs(20));
    });
    let url = format!("{}/baseten-plugin-greet", hanging.url());
    let child = crate::support::spawn(&sandbox, &["plugin", "install", &url]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while hanging.connections() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(hanging.connections(), 1, "the download started");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let run = baseten_e2e::finish(child, "plugin install");
    assert_eq!(run.code, 130, "{run:?}");
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.1.0"));
    assert_eq!(
        std::fs::read(user_folder(&sandbox).join("baseten-plugin-greet")).expect("reads"),
        v1
    );
    assert_eq!(
        installed_files(&sandbox),
        ["baseten-plugin-greet", "greet.receipt.json"]
    );

    // A staging folder left by an install killed while checking its plugin goes at the next
    // install; one of a process still running stays.
    let mut finished = std::process::Command::new("true")
        .spawn()
        .expect("true runs");
    let gone = finished.id();
    finished.wait().expect("true ends");
    let abandoned = user_folder(&sandbox).join(format!(".staging-{gone}-abc"));
    std::fs::create_dir(&abandoned).expect("creates");
    std::fs::write(abandoned.join("baseten-plugin-greet"), &v1).expect("writes");
    let running = user_folder(&sandbox).join(format!(".staging-{}-abc", std::process::id()));
    std::fs::create_dir(&running).expect("creates");
    let url = format!("{}/baseten-plugin-greet", server.url());
    sandbox.run(&["plugin", "install", &url]).assert_code(0);
    assert!(!abandoned.exists());
    assert!(running.exists());
}

#[test]
fn a_plugin_installed_by_url_upgrades_from_that_url() {
    let files: Files = Arc::default();
    let server = static_server(&files);
    let serve = |bytes: Vec<u8>| {
        files.lock().expect("never left locked").insert(
            "/greet.tar.gz".into(),
            tar_gz(&[("baseten-plugin-greet", &bytes)]),
        );
    };
    serve(script_plugin("0.1.0", "1.0.0"));
    let sandbox = sandbox();
    let url = format!("{}/greet.tar.gz", server.url());
    sandbox.run(&["plugin", "install", &url]).assert_code(0);
    let run = sandbox.run(&["plugin", "upgrade", "greet"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "greet 0.1.0 is up to date\n");

    serve(script_plugin("0.2.0", "1.1.0"));
    let run = sandbox.run(&["plugin", "upgrade", "--all", "--dry-run", "-o", "json"]);
    run.assert_code(0);
    assert_eq!(
        run.json()["plugins"][0],
        json!({"name": "greet", "from": "0.1.0", "to": "0.2.0", "status": "would_upgrade"})
    );
    assert_eq!(greet_version(&sandbox).as_deref(), Some("0.1.0"));
    assert_eq!(
        installed_files(&sandbox),
        ["baseten-plugin-greet", "greet.receipt.json"]
    );
    let run = sandbox.run(&["plugin", "upgrade", "greet"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "greet 0.1.0 -> 0.2.0\n");
    let entry = listed(&sandbox, "greet").expect("listed");
    assert_eq!(entry["version"], "0.2.0");
    assert_eq!(entry["source"], json!({"kind": "url", "url": url}));
    assert_no_credential(&server);
}
