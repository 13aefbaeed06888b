//! Subcommands of the `samla-hub` binary that are more than a call into the library.

#[cfg(feature = "demo")]
pub mod demo;
pub mod report;
