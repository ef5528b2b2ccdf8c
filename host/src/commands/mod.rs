//! The host's built-in commands, one module each.

pub mod version;
