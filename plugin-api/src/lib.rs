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
//! - [`testing`]: a recording host for plugin unit tests.
//! - [`abi`]: the binary interface; the host uses it to load plugins.
//! - [`pipe`]: the same messages framed as JSON lines, for executable plugins.
//! - [`serve`](mod@serve): runs a plugin definition as an executable plugin.

#![deny(missing_docs)]

pub mod abi;
pub mod pipe;
pub mod protocol;
pub mod sdk;
pub mod serve;
pub mod testing;

pub use protocol::ArgSpec;
pub use protocol::{
    CommandOutput, CommandSpec, ErrorKind, FlagSpec, OutputMode, PLUGIN_API_VERSION, PluginError,
    Table, TextView,
};
pub use sdk::{Args, Body, Command, Host, PluginDefinition};
pub use serve::serve;
