//! The emulator driven over real HTTP on 127.0.0.1: endpoints, errors, faults, the request log,
//! persistence, HTTPS and the binary.
// A failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used)]

mod api;
mod binary;
mod client;
mod faults;
mod oauth;
mod persistence;
mod tls;
