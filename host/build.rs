//! Records the target triple `baseten` is built for: `plugin pack` names the platform of a
//! plugin built on the same machine with it, as the plugin index does.

#![allow(
    clippy::disallowed_methods,
    clippy::print_stdout,
    reason = "a build script reads Cargo's variables and speaks to Cargo on stdout"
)]

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo::rustc-env=BASETEN_TARGET={target}");
    println!("cargo::rerun-if-changed=build.rs");
}
