//! Records the target triple the host is built for, which plugin indexes name artifacts by.

#[allow(
    clippy::disallowed_methods,
    reason = "a build script reads what cargo tells it through its environment"
)]
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=BASETEN_BUILD_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
