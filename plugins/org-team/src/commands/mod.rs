//! One module per command; each has its spec and its body.

pub mod list;
