//! The binary interface between the host and a plugin library; the only module that touches
//! `abi_stable`.
//!
//! The fixed surface is two small prefix-type vtables: [`PluginModule`] (what a plugin exports)
//! and [`HostVtable`] (what the host lends a plugin during a call). Every argument and result is
//! a JSON string of a [`crate::protocol`] type, so the messages can grow without touching the
//! layout checked here.

use std::ffi::c_void;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

#[doc(hidden)]
pub use abi_stable::library::LibHeader;
use abi_stable::library::{
    __call_root_module_loader, CheckTypeLayout, LibraryError, RootModule, RootModuleResult,
    lib_header_from_path,
};
use abi_stable::prefix_type::WithMetadata;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RSlice, RStr, RString};
use abi_stable::{StableAbi, declare_root_module_statics};

/// The symbol under which a plugin library exports its [`LibHeader`]; `abi_stable` looks it up
/// by this name. [`crate::export_plugin!`] writes it as a literal, so a test below pins it to the
/// name `abi_stable` computes.
#[doc(hidden)]
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// The root module a plugin library exports.
///
/// Evolution rule: fields are only ever appended after the last one, each new one documented with
/// the plugin API minor version that added it; `last_prefix_field` stays on `invoke`, the last
/// field of version 1.0, so a host can load any 1.x plugin and see which fields it has.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Returns the plugin's [`crate::protocol::Manifest`] as JSON.
    pub manifest: extern "C" fn() -> RString,
    /// Runs one command: takes the host's services and a JSON
    /// [`crate::protocol::Invocation`]; returns a JSON [`crate::protocol::CommandResult`].
    #[sabi(last_prefix_field)]
    pub invoke: extern "C" fn(host: HostServices, invocation: RStr<'_>) -> RString,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "baseten_plugin";
    const NAME: &'static str = "baseten plugin";
    // The version of this binary layout, not of the plugin API: only a new major here refuses a
    // plugin at the `abi_stable` level; the plugin API version is checked by the host from the
    // manifest, with a message a user can act on.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

/// What the host lends a plugin for the length of one `invoke` call.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostServices {
    /// The host's own state, passed back to every vtable function. Opaque to the plugin.
    pub context: *const c_void,
    /// The host's functions.
    pub vtable: HostVtableRef,
}

/// The functions the host offers a plugin.
///
/// Evolution rule: as for [`PluginModule`], fields are only appended; `last_prefix_field` stays
/// on `confirm`, the last field of version 1.0.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = HostVtableRef)))]
#[sabi(missing_field(panic))]
pub struct HostVtable {
    /// Sends a JSON [`crate::protocol::HttpRequest`]; returns a JSON
    /// [`crate::protocol::HttpOutcome`].
    pub http: unsafe extern "C" fn(context: *const c_void, request: RStr<'_>) -> RString,
    /// Logs one line at a [`crate::protocol::LogLevel`] (as `u8`).
    pub log: unsafe extern "C" fn(context: *const c_void, level: u8, message: RStr<'_>),
    /// Asks the user a yes/no question; `false` unless they answer yes.
    #[sabi(last_prefix_field)]
    pub confirm: unsafe extern "C" fn(context: *const c_void, prompt: RStr<'_>) -> bool,
    /// Added in plugin API 1.2, optional (a host built before it lacks it, and the SDK then
    /// uses `http`): sends a JSON [`crate::protocol::HttpRequest`] and answers with the
    /// response body as raw bytes beside a small JSON head, instead of escaped inside it. The
    /// host keeps the body until `invoke` returns; a plugin may hand it back as its payload by
    /// [`BodyAnswer::id`] without copying it ([`crate::protocol::CommandOutput::payload_body`]).
    #[sabi(missing_field(option))]
    pub http_body: unsafe extern "C" fn(context: *const c_void, request: RStr<'_>) -> BodyAnswer,
}

/// The answer of [`HostVtable::http_body`].
#[repr(C)]
#[derive(StableAbi)]
pub struct BodyAnswer {
    /// A JSON [`crate::protocol::HttpOutcome`]; a `response`'s `body` is empty, its bytes are in
    /// `body`.
    pub head: RString,
    /// The response body, UTF-8, owned by the host and valid until `invoke` returns.
    pub body: RSlice<'static, u8>,
    /// What names the body for the rest of the invocation; 0 for no body.
    pub id: u64,
}

/// What the host implements to serve plugins; [`with_host_services`] turns it into the vtable.
///
/// Implementations must not panic: a panic here would cross a C boundary. The shims below catch
/// one anyway and answer as if the request failed.
pub trait HostFunctions {
    /// Answers a JSON `HttpRequest` with a JSON `HttpOutcome`.
    fn http(&self, request: &str) -> String;
    /// Logs one line.
    fn log(&self, level: u8, message: &str);
    /// Asks a yes/no question.
    fn confirm(&self, prompt: &str) -> bool;
    /// Answers a JSON `HttpRequest` with a [`HostBody`]: the outcome with an empty body, and
    /// the body kept by the host until the invocation ends. By default, [`Self::http`]'s answer
    /// whole, with no separate body.
    fn http_body(&self, request: &str) -> HostBody<'_> {
        HostBody {
            head: self.http(request),
            body: "",
            id: 0,
        }
    }
}

/// What [`HostFunctions::http_body`] answers.
#[derive(Debug)]
pub struct HostBody<'a> {
    /// A JSON `HttpOutcome`; a response's body is empty when it is in `body`.
    pub head: String,
    /// The body, kept by the host until the invocation ends.
    pub body: &'a str,
    /// The body's name for the invocation; 0 for none.
    pub id: u64,
}

struct HostVtableFor<H>(PhantomData<H>);

impl<H: HostFunctions> HostVtableFor<H> {
    const VTABLE: &'static WithMetadata<HostVtable> = &WithMetadata::new(HostVtable {
        http: http_shim::<H>,
        log: log_shim::<H>,
        confirm: confirm_shim::<H>,
        http_body: http_body_shim::<H>,
    });
}

/// Runs `call` with a [`HostServices`] that forwards to `host`, valid for the call only.
pub fn with_host_services<H: HostFunctions, R>(
    host: &H,
    call: impl FnOnce(HostServices) -> R,
) -> R {
    let services = HostServices {
        context: std::ptr::from_ref(host).cast::<c_void>(),
        vtable: HostVtableRef(HostVtableFor::<H>::VTABLE.static_as_prefix()),
    };
    call(services)
}

/// # Safety
/// `context` must be the `&H` that [`with_host_services`] put there, still borrowed.
unsafe extern "C" fn http_shim<H: HostFunctions>(
    context: *const c_void,
    request: RStr<'_>,
) -> RString {
    // SAFETY: the host built `context` from a live `&H` for the duration of this call.
    let host = unsafe { &*context.cast::<H>() };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| host.http(request.as_str())))
        .unwrap_or_else(|_| {
            r#"{"error":{"kind":"failure","message":"internal error in the host's HTTP layer"}}"#
                .to_owned()
        })
        .into()
}

/// # Safety
/// As for [`http_shim`]; the body lives in the host until the invocation ends.
unsafe extern "C" fn http_body_shim<H: HostFunctions>(
    context: *const c_void,
    request: RStr<'_>,
) -> BodyAnswer {
    // SAFETY: as in `http_shim`.
    let host = unsafe { &*context.cast::<H>() };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let answer = host.http_body(request.as_str());
        let body: &[u8] = answer.body.as_bytes();
        // SAFETY: the host keeps the body until the invocation ends (the trait's contract); the
        // plugin is told the same and never keeps it longer.
        let body: &'static [u8] = unsafe { std::slice::from_raw_parts(body.as_ptr(), body.len()) };
        BodyAnswer {
            head: answer.head.into(),
            body: RSlice::from_slice(body),
            id: answer.id,
        }
    })) {
        Ok(answer) => answer,
        Err(_) => BodyAnswer {
            head: r#"{"error":{"kind":"failure","message":"internal error in the host's HTTP layer"}}"#
                .into(),
            body: RSlice::from_slice(&[]),
            id: 0,
        },
    }
}

/// # Safety
/// As for [`http_shim`].
unsafe extern "C" fn log_shim<H: HostFunctions>(
    context: *const c_void,
    level: u8,
    message: RStr<'_>,
) {
    // SAFETY: as in `http_shim`.
    let host = unsafe { &*context.cast::<H>() };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        host.log(level, message.as_str());
    }));
}

/// # Safety
/// As for [`http_shim`].
unsafe extern "C" fn confirm_shim<H: HostFunctions>(
    context: *const c_void,
    prompt: RStr<'_>,
) -> bool {
    // SAFETY: as in `http_shim`.
    let host = unsafe { &*context.cast::<H>() };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        host.confirm(prompt.as_str())
    }))
    .unwrap_or(false)
}

impl HostServices {
    /// Sends a JSON request through the host.
    pub fn http(&self, request: &str) -> String {
        let http = self.vtable.http();
        // SAFETY: `context` and `vtable` come together from `with_host_services`.
        unsafe { http(self.context, RStr::from_str(request)) }.into_string()
    }

    /// Sends a JSON request through the host, the body apart from the head, when the host
    /// offers it (plugin API 1.2); `None` from an older host.
    pub fn http_body(&self, request: &str) -> Option<(String, &[u8], u64)> {
        let http_body = self.vtable.http_body()?;
        // SAFETY: as in `http`.
        let answer = unsafe { http_body(self.context, RStr::from_str(request)) };
        Some((answer.head.into_string(), answer.body.as_slice(), answer.id))
    }

    /// Logs through the host.
    pub fn log(&self, level: u8, message: &str) {
        let log = self.vtable.log();
        // SAFETY: as in `http`.
        unsafe { log(self.context, level, RStr::from_str(message)) }
    }

    /// Asks the user through the host.
    pub fn confirm(&self, prompt: &str) -> bool {
        let confirm = self.vtable.confirm();
        // SAFETY: as in `http`.
        unsafe { confirm(self.context, RStr::from_str(prompt)) }
    }
}

/// What a plugin library provides; [`crate::export_plugin!`] implements it.
#[doc(hidden)]
pub trait PluginEntry {
    /// The plugin's manifest as JSON.
    fn manifest() -> String;
    /// Runs one invocation; never unwinds.
    fn invoke(host: HostServices, invocation: &str) -> String;
}

struct PluginModuleFor<E>(PhantomData<E>);

impl<E: PluginEntry> PluginModuleFor<E> {
    const MODULE: &'static WithMetadata<PluginModule> = &WithMetadata::new(PluginModule {
        manifest: manifest_shim::<E>,
        invoke: invoke_shim::<E>,
    });
}

extern "C" fn manifest_shim<E: PluginEntry>() -> RString {
    E::manifest().into()
}

extern "C" fn invoke_shim<E: PluginEntry>(host: HostServices, invocation: RStr<'_>) -> RString {
    E::invoke(host, invocation.as_str()).into()
}

fn root_module<E: PluginEntry>() -> PluginModuleRef {
    PluginModuleRef(PluginModuleFor::<E>::MODULE.static_as_prefix())
}

extern "C" fn root_module_loader<E: PluginEntry>() -> RootModuleResult {
    __call_root_module_loader(root_module::<E>)
}

/// The header a plugin library exports under [`ROOT_MODULE_SYMBOL`].
#[doc(hidden)]
pub const fn lib_header<E: PluginEntry>() -> LibHeader {
    // SAFETY: `root_module_loader::<E>` returns a `PluginModuleRef`, the module type named here.
    unsafe {
        LibHeader::from_constructor::<PluginModuleRef>(
            root_module_loader::<E>,
            CheckTypeLayout::Yes,
        )
    }
}

/// A plugin library loaded into this process. Never unloaded: unloading a library whose
/// thread-locals are still alive crashes, and a command's process is short-lived anyway.
#[derive(Clone, Copy)]
pub struct LoadedPlugin {
    module: PluginModuleRef,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("LoadedPlugin")
    }
}

impl LoadedPlugin {
    /// Loads the library at `path` and checks it is a plugin with a layout this host understands.
    ///
    /// Each call loads its own module: `abi_stable`'s `RootModule::load_from_file` would cache
    /// one module per type and hand the first plugin back for every other one.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let header = lib_header_from_path(path).map_err(LoadError::from_library_error)?;
        let module = header
            .init_root_module::<PluginModuleRef>()
            .map_err(LoadError::from_library_error)?;
        Ok(Self { module })
    }

    /// The plugin's manifest, as JSON.
    pub fn manifest_json(&self) -> String {
        (self.module.manifest())().into_string()
    }

    /// Runs one invocation (JSON) with `host` serving it; returns the JSON result.
    pub fn invoke_json<H: HostFunctions>(&self, host: &H, invocation: &str) -> String {
        let invoke = self.module.invoke();
        with_host_services(host, |services| {
            invoke(services, RStr::from_str(invocation))
        })
        .into_string()
    }
}

/// Why a library could not be loaded as a plugin. The message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The file is not a loadable library (or a library it needs is missing).
    NotALibrary(String),
    /// The library loads but exports no plugin root module.
    NotAPlugin,
    /// The library was built with an incompatible plugin ABI (layout or `abi_stable` version).
    IncompatibleAbi(String),
}

impl LoadError {
    fn from_library_error(error: LibraryError) -> Self {
        match error {
            LibraryError::OpenError { err, .. } => Self::NotALibrary(one_line(&err.to_string())),
            LibraryError::GetSymbolError { .. } => Self::NotAPlugin,
            // abi_stable explains a layout difference as a tree of comparisons over many lines;
            // its first line says nothing, so the summary is ours.
            LibraryError::AbiInstability(_) => Self::IncompatibleAbi(
                "the layout of its plugin interface differs from this baseten's".to_owned(),
            ),
            LibraryError::IncompatibleVersionNumber {
                expected_version,
                actual_version,
                ..
            } => Self::IncompatibleAbi(format!(
                "its plugin interface is version {actual_version}, this baseten loads {expected_version}"
            )),
            LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => {
                Self::IncompatibleAbi(
                    "it was built with an incompatible `abi_stable` or Rust C ABI".to_owned(),
                )
            }
            other => Self::IncompatibleAbi(one_line(&other.to_string())),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotALibrary(why) => write!(formatter, "not a loadable library: {why}"),
            Self::NotAPlugin => formatter.write_str("not a baseten plugin: no plugin root module"),
            Self::IncompatibleAbi(why) => {
                write!(formatter, "built for an incompatible plugin ABI: {why}")
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// The first line of `text`, trimmed: library errors can run over many lines.
fn one_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    const LIMIT: usize = 300;
    if line.len() > LIMIT {
        let mut end = LIMIT;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &line[..end])
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }

    #[test]
    fn loading_a_missing_file_is_not_a_library() {
        let error = LoadedPlugin::load(Path::new("/nonexistent/libbaseten_plugin_x.so"))
            .expect_err("a missing file does not load");
        assert!(matches!(error, LoadError::NotALibrary(_)), "{error}");
    }

    #[test]
    fn one_line_keeps_the_first_non_empty_line() {
        assert_eq!(one_line("\n  first \nsecond"), "first");
    }
}

#[cfg(test)]
#[allow(
    dead_code,
    reason = "the 1.0 vtable's own accessors are never called: it is read as the newer one"
)]
mod body_tests {
    use super::*;
    use crate::protocol::{HttpOutcome, HttpRequest, HttpResponse, TextView};
    use crate::sdk::{Body, BodyOutcome, Host, HostApi};

    /// A host answering every request with `{"keys":[]}`, the body apart when asked.
    struct Bodies {
        body: String,
    }

    impl HostFunctions for Bodies {
        fn http(&self, _request: &str) -> String {
            serde_json::to_string(&HttpOutcome::Response(HttpResponse {
                status: 200,
                body: self.body.clone(),
            }))
            .expect("encodes")
        }
        fn log(&self, _level: u8, _message: &str) {}
        fn confirm(&self, _prompt: &str) -> bool {
            false
        }
        fn http_body(&self, _request: &str) -> HostBody<'_> {
            HostBody {
                head: r#"{"response":{"status":200,"body":""}}"#.to_owned(),
                body: &self.body,
                id: 7,
            }
        }
    }

    fn get(services: &HostServices) -> Body<'_> {
        let request = HttpRequest {
            method: "GET".to_owned(),
            path: "/v1/api_keys".to_owned(),
            query: Vec::new(),
            body: None,
        };
        match HostApi::http_body(services, &request) {
            BodyOutcome::Response { status: 200, body } => body,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_body_lent_by_the_host_is_borrowed_and_passed_back_by_its_id() {
        let host = Bodies {
            body: r#"{"keys":[]}"#.to_owned(),
        };
        with_host_services(&host, |services| {
            let body = get(&services);
            assert_eq!(body.as_str().as_ptr(), host.body.as_ptr(), "not copied");
            let output = crate::CommandOutput::passthrough(body, TextView::Lines(Vec::new()))
                .expect("passes through");
            assert_eq!(output.payload_body, Some(7));
            assert_eq!(output.payload.get(), "null");
            // Through the SDK's Host as a command sees it.
            let body = Host::new(&services)
                .get_body("/v1/api_keys")
                .expect("a body");
            assert_eq!(body.as_str(), r#"{"keys":[]}"#);
        });
    }

    /// The host vtable of plugin API 1.0, before `http_body` was appended. Its fields are read
    /// through `HostVtableRef` only.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = HostVtable10Ref)))]
    #[sabi(missing_field(panic))]
    struct HostVtable10 {
        http: unsafe extern "C" fn(context: *const c_void, request: RStr<'_>) -> RString,
        log: unsafe extern "C" fn(context: *const c_void, level: u8, message: RStr<'_>),
        #[sabi(last_prefix_field)]
        confirm: unsafe extern "C" fn(context: *const c_void, prompt: RStr<'_>) -> bool,
    }

    const VTABLE_10: &WithMetadata<HostVtable10> = &WithMetadata::new(HostVtable10 {
        http: http_shim::<Bodies>,
        log: log_shim::<Bodies>,
        confirm: confirm_shim::<Bodies>,
    });

    #[test]
    fn from_a_host_without_http_body_the_body_travels_in_the_answer() {
        let host = Bodies {
            body: r#"{"keys":[{"prefix":"abcd1234"}]}"#.to_owned(),
        };
        let old = HostVtable10Ref(VTABLE_10.static_as_prefix());
        // SAFETY: both are prefix references to the same leading fields; the metadata says how
        // many fields there are, which is what a plugin loaded by a 1.0 host sees.
        let vtable: HostVtableRef = unsafe { std::mem::transmute(old) };
        assert!(vtable.http_body().is_none());
        let services = HostServices {
            context: std::ptr::from_ref(&host).cast::<c_void>(),
            vtable,
        };
        let body = get(&services);
        assert_eq!(body.as_str(), host.body);
        let output = crate::CommandOutput::passthrough(body, TextView::Lines(Vec::new()))
            .expect("passes through");
        assert_eq!(output.payload_body, None);
        assert_eq!(output.payload.get(), host.body);
    }
}
