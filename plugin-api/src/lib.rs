//! The plugin API of the `baseten` CLI: the stable binary interface, the messages that cross it,
//! and the SDK plugin authors write against.
//!
//! A plugin is a `cdylib` crate that depends on this crate only. It lists its commands with
//! [`sdk::PluginDefinition`], implements each as a plain function taking a [`sdk::Host`] and
//! [`sdk::Args`], and calls [`export_plugin!`] once. It never writes `extern "C"` or touches
//! `abi_stable`; the host does the parsing, credentials, HTTP and rendering.
//!
//! - [`protocol`]: the JSON messages (manifest, invocation, HTTP, results, errors).
//! - [`sdk`]: what authors use.
//! - [`models`]: typed answers of the management API's endpoints, and shared lookups.
//! - [`testing`]: a recording host for plugin unit tests.
//! - [`abi`]: the binary interface; the host uses it to load plugins.
//! - [`json`]: JSON text checked and walked without building values.
//! - [`pipe`]: the same messages framed as JSON lines, for executable plugins.
//! - [`serve`](mod@serve): runs a plugin definition as an executable plugin.
//!
//! # Example
//!
//! A plugin with one command, `baseten hello greet [--name NAME]`, and a test of it against a
//! [`testing::RecordingHost`], which answers the command's HTTP requests from a script:
//!
//! ```
//! use baseten_plugin_api::{
//!     Args, CommandOutput, CommandSpec, FlagSpec, Host, PluginDefinition, PluginError,
//! };
//! use serde_json::{Value, json};
//!
//! pub fn plugin() -> PluginDefinition {
//!     PluginDefinition::new("hello", "0.1.0", "Say hello")
//!         .group(["hello"], "Say hello")
//!         .command(
//!             CommandSpec::new(["hello", "greet"], "Greet someone, or the logged-in user")
//!                 .flag(FlagSpec::text("name", "Who to greet").value_name("NAME"))
//!                 .run(greet),
//!         )
//! }
//!
//! baseten_plugin_api::export_plugin!(plugin);
//!
//! fn greet(host: &Host<'_>, args: &Args<'_>) -> Result<CommandOutput, PluginError> {
//!     let name = match args.text("name") {
//!         Some(name) => name.to_owned(),
//!         None => {
//!             let me: Value = host.get_json("/v1/users/me")?;
//!             me["email"].as_str().unwrap_or("there").to_owned()
//!         }
//!     };
//!     let greeting = format!("Hello, {name}.");
//!     Ok(CommandOutput::lines(json!({ "greeting": greeting }), vec![greeting]))
//! }
//!
//! # fn main() {
//! let host = baseten_plugin_api::testing::RecordingHost::new()
//!     .respond(200, json!({"email": "ada@example.com"}));
//! let output = host.command(&plugin(), &["hello", "greet"]).run().expect("greets");
//! assert_eq!(output.payload_value(), json!({"greeting": "Hello, ada@example.com."}));
//! assert_eq!(host.requests()[0].path, "/v1/users/me");
//! # }
//! ```
//!
//! The guide, `docs/writing-a-plugin.md` in the repository, goes from a new project to an
//! installed command, and says which `baseten` releases load what a version of this crate
//! builds ([`PLUGIN_API_VERSION`], [`SDK_VERSION`]).

#![deny(missing_docs)]

pub mod abi;
pub mod json;
pub mod models;
pub mod pipe;
pub mod protocol;
pub mod sdk;
pub mod serve;
pub mod testing;

pub use protocol::ArgSpec;
pub use protocol::{
    CommandOutput, CommandSpec, ErrorKind, Field, FlagSpec, OutputMode, PLUGIN_API_VERSION,
    PluginError, Table, TextView,
};
pub use sdk::{Args, Body, Command, Host, PluginDefinition};
pub use serve::serve;

/// This SDK's own version (the `baseten-plugin-api` crate's), as opposed to the plugin API
/// version it implements ([`PLUGIN_API_VERSION`]): what a plugin project depends on.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The crate's README, whose examples run as documentation tests: what crates.io shows works.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
