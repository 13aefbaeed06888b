//! Subcommands of the `samla-hub` binary that are more than a call into the library.

pub mod demo;
pub mod report;
