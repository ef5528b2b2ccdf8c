//! End-to-end tests: the built `baseten` binary and its plugins against `baseten-emulator` on
//! 127.0.0.1, checked as a user sees them (stdout, stderr, exit code) and as the server saw them.

// The rule that only the host's terminal and context touch stdio and the environment is the
// host's: these tests are programs of their own that read their environment to start others.
#![allow(
    clippy::disallowed_methods,
    reason = "a test program reads its own environment to set up the processes it starts"
)]

#[path = "e2e/auth.rs"]
mod auth;
#[path = "e2e/author_path.rs"]
mod author_path;
#[path = "e2e/built_ins.rs"]
mod built_ins;
#[path = "e2e/completion.rs"]
mod completion;
#[path = "e2e/dev_loop.rs"]
mod dev_loop;
#[path = "e2e/distribution.rs"]
mod distribution;
#[path = "e2e/errors.rs"]
mod errors;
#[path = "e2e/examples.rs"]
mod examples;
#[path = "e2e/executable_sdk.rs"]
mod executable_sdk;
#[path = "e2e/executables.rs"]
mod executables;
#[path = "e2e/http_errors.rs"]
mod http_errors;
#[path = "e2e/http_hardening.rs"]
mod http_hardening;
#[path = "e2e/install_script.rs"]
mod install_script;
#[path = "e2e/jq_reader.rs"]
mod jq_reader;
#[path = "e2e/json_check.rs"]
mod json_check;
#[path = "e2e/key_safety.rs"]
mod key_safety;
#[path = "e2e/lazy_tree.rs"]
mod lazy_tree;
#[path = "e2e/oauth.rs"]
mod oauth;
#[path = "e2e/oauth_review.rs"]
mod oauth_review;
#[path = "e2e/org_api_key.rs"]
mod org_api_key;
#[path = "e2e/output_modes.rs"]
mod output_modes;
#[path = "e2e/pack.rs"]
mod pack;
#[path = "e2e/passthrough.rs"]
mod passthrough;
#[path = "e2e/pipe_driver.rs"]
mod pipe_driver;
#[path = "e2e/plugin_cache.rs"]
mod plugin_cache;
#[path = "e2e/plugin_index.rs"]
mod plugin_index;
#[path = "e2e/plugin_safety.rs"]
mod plugin_safety;
#[path = "e2e/plugins.rs"]
mod plugins;
#[path = "e2e/promises.rs"]
mod promises;
#[path = "e2e/reliability.rs"]
mod reliability;
#[path = "e2e/sanitize.rs"]
mod sanitize;
#[path = "e2e/scaffold.rs"]
mod scaffold;
#[path = "e2e/secrets.rs"]
mod secrets;
#[path = "e2e/startup.rs"]
mod startup;
#[path = "e2e/streamed_payloads.rs"]
mod streamed_payloads;
#[path = "e2e/support.rs"]
mod support;
#[path = "e2e/table_rows.rs"]
mod table_rows;
#[path = "e2e/terminal.rs"]
mod terminal;
#[path = "e2e/third_party.rs"]
mod third_party;
#[path = "e2e/tls.rs"]
mod tls;
#[path = "e2e/whoami_example.rs"]
mod whoami_example;
#[path = "e2e/workspace.rs"]
mod workspace;
