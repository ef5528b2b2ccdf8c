//! A plugin reports an HTTP failure by passing the answer on; the host classifies it (kind, exit
//! code, the server's words, hint) in one place for every plugin, and still shows an error a
//! plugin classified itself (every plugin built before that) as it is.

use baseten_e2e::{Sandbox, fixture_library, plugin_folder};

fn sandbox_with_fixture() -> (Sandbox, tempfile::TempDir) {
    let folder = plugin_folder(&[(fixture_library("http_outcome").as_path(), "http-outcome")]);
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_PLUGIN_PATH", folder.path());
    (sandbox, folder)
}

#[test]
fn an_answer_passed_on_alone_gets_the_hosts_exit_code_words_and_hint() {
    let (sandbox, _folder) = sandbox_with_fixture();
    let cases = [
        (
            "401",
            r#"{"message":"who are you"}"#,
            3,
            "error: HTTP 401: who are you\nhint: check the credential: run `baseten auth status`, \
             or `baseten auth login` again\n",
        ),
        (
            "403",
            "",
            3,
            "error: HTTP 403\nhint: this API key may not do that; use a key with more rights\n",
        ),
        (
            "404",
            r#"{"detail":"no such thing"}"#,
            4,
            "error: HTTP 404: no such thing\n",
        ),
        ("409", r#"{"error":"taken"}"#, 5, "error: HTTP 409: taken\n"),
        (
            "502",
            "<html><title>502 Bad Gateway</title>\n<body>nginx</body></html>",
            6,
            "error: HTTP 502: 502 Bad Gateway nginx\nhint: the Baseten API had a problem; try \
             again later\n",
        ),
        (
            "503",
            "<html>\n</html>",
            6,
            "error: HTTP 503\nhint: the Baseten API had a problem; try again later\n",
        ),
    ];
    for (status, body, code, stderr) in cases {
        let run = sandbox.run(&["fixture", "answer-only", "--status", status, "--body", body]);
        run.assert_code(code);
        assert_eq!(run.stderr, stderr, "{status}");
        assert_eq!(run.stdout, "", "{status}");
    }
}

#[test]
fn an_error_the_plugin_classified_itself_is_shown_as_it_is() {
    let (sandbox, _folder) = sandbox_with_fixture();
    let run = sandbox.run(&["fixture", "classified"]);
    run.assert_code(3);
    assert_eq!(
        run.stderr,
        "error: could not list things: HTTP 401: classified by the plugin\nhint: the plugin's own \
         hint\n"
    );
}

/// The server's words are shortened to 200 characters; where the cut goes through a key, no
/// piece of its secret reaches stderr.
#[test]
fn a_key_in_the_servers_words_is_hidden_even_where_they_are_cut() {
    let (sandbox, _folder) = sandbox_with_fixture();
    let secret = "S3cretS3cretS3cretS3cretS3cretS3cret";
    for padding in [186, 190, 194] {
        let body = format!(
            r#"{{"message":"{} abcd1234.{secret}"}}"#,
            "x".repeat(padding)
        );
        let run = sandbox.run(&["fixture", "answer-only", "--status", "500", "--body", &body]);
        run.assert_code(6);
        assert!(
            run.stderr.starts_with("error: HTTP 500: xxx"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("abcd1234.S3c"),
            "{padding}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("S3cretS3"),
            "{padding}: {}",
            run.stderr
        );
    }
}
