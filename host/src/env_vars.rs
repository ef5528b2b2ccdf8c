//! The environment variables the tool reads, in one place, with what each one means.

/// Credential for this process, used unless `--profile` is given.
pub const API_KEY: &str = "BASETEN_API_KEY";
/// Remote for `BASETEN_API_KEY`; default `https://app.baseten.co`.
pub const REMOTE_URL: &str = "BASETEN_REMOTE_URL";
/// Profile to use when neither `--profile` nor `BASETEN_API_KEY` is set.
pub const PROFILE: &str = "BASETEN_PROFILE";
/// The config folder; default `$XDG_CONFIG_HOME/baseten`.
pub const CONFIG_DIR: &str = "BASETEN_CONFIG_DIR";
/// Management API base (scheme, host and optional port); wins over everything.
pub const MANAGEMENT_API_URL_OVERRIDE: &str = "BASETEN_MANAGEMENT_API_URL_OVERRIDE";
/// Extra plugin folders, `:`-separated, searched first.
pub const PLUGIN_PATH: &str = "BASETEN_PLUGIN_PATH";
/// `1`: never touch the system keyring; secrets are stored in `auth.json` instead.
pub const NO_KEYRING: &str = "BASETEN_NO_KEYRING";
/// Seconds a request may take in all, from 0.001 to 86400 (a day).
pub const HTTP_TIMEOUT: &str = "BASETEN_HTTP_TIMEOUT";
/// The most bytes a response body may have; reading stops past it. Default 512 MiB.
pub const MAX_RESPONSE_BYTES: &str = "BASETEN_MAX_RESPONSE_BYTES";
/// Proxy for `https` requests, upper case first; plain `http` (loopback only) is never proxied,
/// so `HTTP_PROXY` is not read.
pub const HTTPS_PROXY: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
/// Proxy for `https` requests when no `HTTPS_PROXY` is set.
pub const ALL_PROXY: [&str; 2] = ["ALL_PROXY", "all_proxy"];
/// Hosts (comma-separated names, domains, IPs, CIDR ranges, or `*`) reached without a proxy.
pub const NO_PROXY: [&str; 2] = ["NO_PROXY", "no_proxy"];
/// A PEM file of one or more CA certificates to trust besides the platform's (a private CA, a
/// TLS-inspecting proxy); read when the HTTP client is built.
pub const CA_BUNDLE: &str = "BASETEN_CA_BUNDLE";
/// Any value: no colour.
pub const NO_COLOR: &str = "NO_COLOR";
/// Non-zero: colour even when not on a terminal.
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";
/// Base of the user's config folders.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Base of the user's data folders (plugins).
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// Base of the user's cache folders (the plugin manifest cache).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// The user's home folder.
pub const HOME: &str = "HOME";
/// The browser `auth login --web` opens, instead of the platform's opener.
pub const BROWSER: &str = "BROWSER";
/// Set when an X11 display is there to open a browser on.
pub const DISPLAY: &str = "DISPLAY";
/// Set when a Wayland display is there to open a browser on.
pub const WAYLAND_DISPLAY: &str = "WAYLAND_DISPLAY";
/// Debug builds only, for tests: the longest line an executable plugin may write, in bytes,
/// instead of 1 GiB. Release builds never read it, so it is not in the README.
#[cfg(debug_assertions)]
pub const DEBUG_PIPE_LINE_LIMIT: &str = "BASETEN_DEBUG_PIPE_LINE_LIMIT";
/// The plugin index `plugin search`, `plugin install NAME` and `plugin upgrade` read: an `https`
/// URL, an `http` URL to this machine, or a file path. None by default.
pub const PLUGIN_INDEX: &str = "BASETEN_PLUGIN_INDEX";
