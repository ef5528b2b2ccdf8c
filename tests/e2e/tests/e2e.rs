//! End-to-end tests: the built `baseten` binary and its plugins against `baseten-emulator` on
//! 127.0.0.1, checked as a user sees them (stdout, stderr, exit code) and as the server saw them.

#[path = "e2e/auth.rs"]
mod auth;
#[path = "e2e/completion.rs"]
mod completion;
#[path = "e2e/errors.rs"]
mod errors;
#[path = "e2e/http_hardening.rs"]
mod http_hardening;
#[path = "e2e/install_script.rs"]
mod install_script;
#[path = "e2e/key_safety.rs"]
mod key_safety;
#[path = "e2e/org_api_key.rs"]
mod org_api_key;
#[path = "e2e/output_modes.rs"]
mod output_modes;
#[path = "e2e/plugin_cache.rs"]
mod plugin_cache;
#[path = "e2e/plugin_safety.rs"]
mod plugin_safety;
#[path = "e2e/plugins.rs"]
mod plugins;
#[path = "e2e/reliability.rs"]
mod reliability;
#[path = "e2e/secrets.rs"]
mod secrets;
#[path = "e2e/support.rs"]
mod support;
#[path = "e2e/terminal.rs"]
mod terminal;
#[path = "e2e/tls.rs"]
mod tls;
