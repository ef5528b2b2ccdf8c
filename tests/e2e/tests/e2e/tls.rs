//! HTTPS against the emulator's throwaway CA: `BASETEN_CA_BUNDLE` makes it trusted, without it
//! the certificate is refused before anything is sent, and a bad bundle is named.

use std::path::Path;

use baseten_e2e::{BackgroundEmulator, LocalServer, Sandbox, tls_emulator};
use tempfile::TempDir;

use crate::support::request_lines;

/// An HTTPS emulator and a sandbox pointed at it, with the CA certificate at `ca.pem` in the
/// returned folder but not trusted yet.
fn https_setup() -> (BackgroundEmulator, Sandbox, TempDir) {
    let folder = tempfile::tempdir().expect("a temp folder");
    let emulator = tls_emulator(&folder.path().join("ca.pem"));
    assert!(emulator.url().starts_with("https://127.0.0.1:"));
    let sandbox = Sandbox::for_emulator(&emulator);
    (emulator, sandbox, folder)
}

fn trust(sandbox: &mut Sandbox, bundle: &Path) {
    sandbox.set("BASETEN_CA_BUNDLE", bundle.as_os_str());
}

#[test]
fn with_the_ca_bundle_list_and_create_work_over_https() {
    let (emulator, mut sandbox, folder) = https_setup();
    trust(&mut sandbox, &folder.path().join("ca.pem"));

    let listed = sandbox.run(&["org", "api-key", "list", "-o", "json"]);
    listed.assert_code(0);
    assert_eq!(
        listed.json()["keys"].as_array().map(Vec::len),
        Some(emulator.keys().len())
    );

    let created = sandbox.run(&[
        "org",
        "api-key",
        "create",
        "--type",
        "personal",
        "--name",
        "over-https",
    ]);
    created.assert_code(0);
    assert!(created.stdout.trim().contains('.'), "{}", created.stdout);
    assert!(
        emulator
            .keys()
            .iter()
            .any(|key| key["name"] == "over-https")
    );
    assert_eq!(
        request_lines(&emulator),
        ["GET /v1/api_keys", "POST /v1/api_keys"]
    );
}

#[test]
fn a_bundle_of_several_certificates_trusts_each() {
    let (emulator, mut sandbox, folder) = https_setup();
    // Two other starts' CAs around the one that signed the server's certificate: the bundle is
    // searched whole, whether the right CA comes first, in the middle or last.
    let others = [
        tls_emulator(&folder.path().join("other-ca-1.pem")),
        tls_emulator(&folder.path().join("other-ca-2.pem")),
    ];
    let pem =
        |emulator: &BackgroundEmulator| emulator.ca_certificate_pem().expect("a CA").to_owned();
    let (right, first_other, second_other) = (pem(&emulator), pem(&others[0]), pem(&others[1]));
    assert!(right != first_other && right != second_other && first_other != second_other);
    for (position, certificates) in [
        ("first", [&right, &first_other, &second_other]),
        ("in the middle", [&first_other, &right, &second_other]),
        ("last", [&first_other, &second_other, &right]),
    ] {
        let bundle = folder.path().join("bundle.pem");
        std::fs::write(&bundle, certificates.map(String::as_str).concat())
            .expect("the bundle is written");
        trust(&mut sandbox, &bundle);
        emulator.reset();
        let run = sandbox.run(&["org", "api-key", "list"]);
        assert_eq!(run.code, 0, "with the right CA {position}: {}", run.stderr);
        assert_eq!(
            request_lines(&emulator),
            ["GET /v1/api_keys"],
            "with the right CA {position}"
        );
    }
    // And a bundle of the other CAs alone is not enough: the right one is what made it work.
    let bundle = folder.path().join("others.pem");
    std::fs::write(&bundle, format!("{first_other}{second_other}")).expect("the bundle is written");
    trust(&mut sandbox, &bundle);
    sandbox.run(&["org", "api-key", "list"]).assert_code(7);
}

#[test]
fn an_untrusted_certificate_is_exit_7_with_a_hint_and_is_not_retried() {
    let (emulator, sandbox, _folder) = https_setup();
    let run = sandbox.run(&["org", "api-key", "list", "-v"]);
    run.assert_code(7);
    let error = run
        .stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_default();
    assert_eq!(
        error,
        format!(
            "error: could not list API keys: could not connect to {}: the server's TLS \
             certificate is not trusted: invalid peer certificate: UnknownIssuer",
            emulator.url()
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "{error}\nhint: if the server uses a private CA, point BASETEN_CA_BUNDLE at its PEM \
             file\n"
        )),
        "{}",
        run.stderr
    );
    // A GET is otherwise retried on a failed connection; a refused certificate is final.
    assert_eq!(run.stderr.matches("(attempt ").count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(request_lines(&emulator).is_empty(), "a request got through");

    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
    run.assert_code(7);
    assert!(request_lines(&emulator).is_empty(), "a request got through");

    // Counted outside the tool: through a relay that counts connections, each command makes
    // exactly one.
    let relay = LocalServer::relay_to(emulator.addr());
    let mut sandbox = sandbox;
    sandbox.set(
        "BASETEN_MANAGEMENT_API_URL_OVERRIDE",
        format!("https://127.0.0.1:{}", relay.port()),
    );
    for (args, attempts) in [
        (&["org", "api-key", "list"][..], 1),
        (&["org", "api-key", "create", "--type", "personal"][..], 2),
    ] {
        let run = sandbox.run(args);
        run.assert_code(7);
        assert!(run.stderr.contains("UnknownIssuer"), "{}", run.stderr);
        assert_eq!(relay.connections(), attempts, "{args:?}: {}", run.stderr);
    }
    assert!(request_lines(&emulator).is_empty(), "a request got through");
}

#[test]
fn a_missing_bundle_is_exit_1_and_nothing_is_sent() {
    let (emulator, mut sandbox, folder) = https_setup();
    let missing = folder.path().join("missing.pem");
    trust(&mut sandbox, &missing);
    let run = sandbox.run(&["org", "api-key", "create", "--type", "personal"]);
    run.assert_code(1);
    let mut lines = run.stderr.lines();
    let error = lines.next().unwrap_or_default();
    assert!(
        error.starts_with(&format!(
            "error: could not read BASETEN_CA_BUNDLE `{}`: ",
            missing.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        lines.next(),
        Some("hint: point BASETEN_CA_BUNDLE at a PEM file of CA certificates, or unset it")
    );
    assert_eq!(lines.next(), None, "{}", run.stderr);
    assert!(request_lines(&emulator).is_empty(), "a request was sent");
}

#[test]
fn a_bundle_that_is_not_pem_certificates_is_exit_2_and_nothing_is_sent() {
    let (emulator, mut sandbox, folder) = https_setup();
    let cases = [
        (
            "no `-----BEGIN CERTIFICATE-----` section in it",
            "just some text\n",
        ),
        (
            "certificate 1 is not a valid X.509 certificate",
            // Valid PEM and base64 ("not a certificate"), but no certificate inside.
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        ),
        (
            "a PEM section has no `-----END` line",
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n",
        ),
    ];
    for (why, content) in cases {
        let bundle = folder.path().join("bad.pem");
        std::fs::write(&bundle, content).expect("the bundle is written");
        trust(&mut sandbox, &bundle);
        let run = sandbox.run(&["org", "api-key", "list"]);
        run.assert_code(2);
        assert_eq!(
            run.stderr,
            format!(
                "error: invalid BASETEN_CA_BUNDLE `{}`: {why}\nhint: point BASETEN_CA_BUNDLE at a \
                 PEM file of CA certificates, or unset it\n",
                bundle.display()
            )
        );
    }
    assert!(request_lines(&emulator).is_empty(), "a request was sent");
}

#[test]
fn commands_that_send_nothing_never_read_the_bundle() {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_CA_BUNDLE", "/nonexistent/ca.pem");
    sandbox
        .run(&["org", "api-key", "list", "--help"])
        .assert_code(0);
    // A usage error is still the usage error, found before any client is built.
    let run = sandbox.run(&[
        "org",
        "api-key",
        "create",
        "--type",
        "personal",
        "--model-id",
        "m1",
    ]);
    run.assert_code(2);
    assert!(!run.stderr.contains("BASETEN_CA_BUNDLE"), "{}", run.stderr);
}
