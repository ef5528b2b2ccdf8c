//! `baseten plugin pack`: the index entry of a built plugin, in the plugin index's format, with
//! the sha256 of the file as `sha256sum` computes it and the manifest read from the plugin.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use baseten_e2e::{Sandbox, fixture_library, hello_plugin, programs_installed, repository_root};
use serde_json::{Value, json};

/// `sha256sum FILE`'s digest.
fn sha256sum(file: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("runs sha256sum");
    assert!(output.status.success(), "sha256sum failed");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_owned()
}

/// `tar czf ARCHIVE -C FOLDER FILES...`.
fn tar_gz(archive: &Path, folder: &Path, files: &[&str]) {
    let status = Command::new("tar")
        .arg("czf")
        .arg(archive)
        .arg("-C")
        .arg(folder)
        .args(files)
        .stdin(Stdio::null())
        .status()
        .expect("runs tar");
    assert!(status.success(), "tar failed");
}

/// The plugin API this build speaks, as the index gives it: `MAJOR.MINOR`.
fn plugin_api() -> String {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["version", "-o", "json"]);
    run.assert_code(0);
    let version = run.json()["plugin_api_version"]
        .as_str()
        .expect("a plugin API version")
        .to_owned();
    version
        .rsplit_once('.')
        .expect("MAJOR.MINOR.PATCH")
        .0
        .to_owned()
}

/// The keys of a JSON object, in order.
fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The whoami example, a Python script plugin.
fn script_plugin() -> PathBuf {
    repository_root().join("examples/plugins/whoami-python/baseten-plugin-whoami")
}

#[test]
fn a_built_library_is_printed_as_its_index_entry() {
    if !programs_installed(&["sha256sum"], "the digest `plugin pack` prints") {
        return;
    }
    let library = hello_plugin();
    let sandbox = Sandbox::new();
    let url = "https://plugins.example.com/hello/0.1.0/libbaseten_plugin_hello.so";
    let run = sandbox.run(&[
        "plugin",
        "pack",
        &library.display().to_string(),
        "--url",
        url,
    ]);
    run.assert_code(0);
    // Text mode prints the entry itself, ready to paste into the index.
    let entry: Value = serde_json::from_str(&run.stdout).expect("the entry is JSON");
    assert_eq!(keys(&entry), ["name", "description", "versions"]);
    let version = &entry["versions"][0];
    assert_eq!(keys(version), ["version", "plugin_api", "artifacts"]);
    let artifact = &version["artifacts"][0];
    assert_eq!(keys(artifact), ["target", "url", "sha256"]);
    let target = artifact["target"].as_str().expect("a target");
    assert!(
        target.starts_with(std::env::consts::ARCH) && target.contains(std::env::consts::OS),
        "{target} is not this platform"
    );
    assert_eq!(
        entry,
        json!({
            "name": "hello",
            "description": "Say hello",
            "versions": [{
                "version": "0.1.0",
                "plugin_api": plugin_api(),
                "artifacts": [{"target": target, "url": url, "sha256": sha256sum(&library)}],
            }],
        })
    );
    assert!(
        run.stderr
            .contains(&format!("so that it is served at `{url}`")),
        "{}",
        run.stderr
    );

    let json = sandbox.run(&[
        "plugin",
        "pack",
        &library.display().to_string(),
        "--url",
        url,
        "-o",
        "json",
    ]);
    json.assert_code(0);
    assert_eq!(json.json(), entry);

    let run = sandbox.run(&[
        "plugin",
        "pack",
        &library.display().to_string(),
        "--url",
        "hello-0.1.0.so",
        "--target",
        "aarch64-apple-darwin",
        "-o",
        "json",
    ]);
    run.assert_code(0);
    let artifact = &run.json()["versions"][0]["artifacts"][0];
    assert_eq!(artifact["target"], "aarch64-apple-darwin");
    // A URL relative to the index is kept as given.
    assert_eq!(artifact["url"], "hello-0.1.0.so");
}

#[test]
fn a_script_plugin_is_for_any_target() {
    if !programs_installed(&["python3", "sha256sum"], "packing a script plugin") {
        return;
    }
    let script = script_plugin();
    let run = Sandbox::new().run(&[
        "plugin",
        "pack",
        &script.display().to_string(),
        "--url",
        "https://plugins.example.com/baseten-plugin-whoami",
        "-o",
        "json",
    ]);
    run.assert_code(0);
    let entry = run.json();
    assert_eq!(entry["name"], "whoami");
    let artifact = &entry["versions"][0]["artifacts"][0];
    assert_eq!(artifact["target"], "any");
    assert_eq!(artifact["sha256"], sha256sum(&script));
}

#[test]
fn an_archive_of_one_plugin_file_is_packed_with_the_archive_digest() {
    if !programs_installed(&["tar", "sha256sum"], "packing a .tar.gz") {
        return;
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home();
    let contents = home.join("contents");
    fs::create_dir(&contents).expect("creates a folder");
    let library_name = baseten_e2e::plugin_file_name("hello");
    fs::copy(hello_plugin(), contents.join(&library_name)).expect("copies the plugin");
    fs::write(contents.join("README.md"), "hello\n").expect("writes a README");
    tar_gz(
        &home.join("hello.tar.gz"),
        &contents,
        &[&library_name, "README.md"],
    );

    let run = sandbox.run(&[
        "plugin",
        "pack",
        "hello.tar.gz",
        "--url",
        "hello-0.1.0.tar.gz",
        "-o",
        "json",
    ]);
    run.assert_code(0);
    let entry = run.json();
    assert_eq!(entry["name"], "hello");
    assert_eq!(entry["versions"][0]["version"], "0.1.0");
    assert_eq!(
        entry["versions"][0]["artifacts"][0]["sha256"],
        sha256sum(&home.join("hello.tar.gz"))
    );

    // Two plugin files, or none: which one would be installed?
    fs::copy(script_plugin(), contents.join("baseten-plugin-whoami")).expect("copies");
    tar_gz(
        &home.join("two.tar.gz"),
        &contents,
        &[&library_name, "baseten-plugin-whoami"],
    );
    let run = sandbox.run(&["plugin", "pack", "two.tar.gz", "--url", "two.tar.gz"]);
    run.assert_code(8);
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot pack `two.tar.gz`: the archive holds 2 plugin files (`{library_name}`, \
             `baseten-plugin-whoami`); it must hold exactly one\n\
             hint: publish one plugin file per archive\n"
        )
    );
    assert!(run.stdout.is_empty());
    tar_gz(&home.join("none.tar.gz"), &contents, &["README.md"]);
    let run = sandbox.run(&["plugin", "pack", "none.tar.gz", "--url", "none.tar.gz"]);
    run.assert_code(8);
    assert!(
        run.stderr
            .starts_with("error: cannot pack `none.tar.gz`: the archive holds no plugin file"),
        "{}",
        run.stderr
    );
    #[cfg(unix)]
    {
        // A link anywhere in it, which `plugin install` would refuse to unpack.
        std::os::unix::fs::symlink("/etc/passwd", contents.join("LICENSE")).expect("links");
        tar_gz(
            &home.join("linked.tar.gz"),
            &contents,
            &[&library_name, "LICENSE"],
        );
        let run = sandbox.run(&["plugin", "pack", "linked.tar.gz", "--url", "l.tar.gz"]);
        run.assert_code(8);
        assert_eq!(
            run.stderr,
            "error: cannot pack `linked.tar.gz`: the archive entry `LICENSE` is a link; only plain \
             files are unpacked\n"
        );
    }
    fs::write(home.join("broken.tar.gz"), "not gzip").expect("writes");
    let run = sandbox.run(&["plugin", "pack", "broken.tar.gz", "--url", "b.tar.gz"]);
    run.assert_code(8);
    assert!(
        run.stderr
            .starts_with("error: cannot pack `broken.tar.gz`: it is not a readable .tar.gz: "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_that_is_not_a_usable_plugin_is_refused_with_its_reason() {
    let sandbox = Sandbox::new();
    let home = sandbox.home();
    fs::write(home.join("libbaseten_plugin_fake.so"), "not a library").expect("writes");
    let crashing = fixture_library("crash_on_load").display().to_string();
    let cases = [
        (
            "libbaseten_plugin_fake.so",
            8,
            "error: cannot pack `libbaseten_plugin_fake.so`: not a loadable library",
        ),
        (
            "missing.so",
            1,
            "error: cannot pack `missing.so`: no such file",
        ),
        (".", 2, "error: cannot pack `.`: it is a folder"),
        (crashing.as_str(), 8, "crashed while loading"),
    ];
    for (file, code, message) in cases {
        let run = sandbox.run(&["plugin", "pack", file, "--url", "https://example.com/x"]);
        run.assert_code(code);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(run.stderr.contains(message), "{file}: {}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }

    let next_major = fixture_library("api_next_major").display().to_string();
    let run = sandbox.run(&[
        "plugin",
        "pack",
        &next_major,
        "--url",
        "https://example.com/x",
    ]);
    run.assert_code(8);
    assert!(
        run.stderr.contains("is built for plugin API 2.0.0"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_url_users_could_not_download_and_a_bad_target_are_usage_errors() {
    let library = hello_plugin().display().to_string();
    let sandbox = Sandbox::new();
    for url in [
        "http://plugins.example.com/x.so",
        "ftp://plugins.example.com/x.so",
        "file:///tmp/x.so",
        "",
    ] {
        let run = sandbox.run(&["plugin", "pack", &library, "--url", url]);
        run.assert_code(2);
        assert!(
            run.stderr
                .starts_with(&format!("error: invalid --url `{url}`: ")),
            "{}",
            run.stderr
        );
    }
    let run = sandbox.run(&[
        "plugin", "pack", &library, "--url", "x.so", "--target", "Linux",
    ]);
    run.assert_code(2);
    assert!(
        run.stderr.starts_with(
            "error: invalid --target `Linux`: it is not a Rust target triple or `any`\n"
        ),
        "{}",
        run.stderr
    );
    sandbox.run(&["plugin", "pack", &library]).assert_code(2);
}
