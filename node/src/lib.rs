//! samla-node: the kommun side of samla.
//!
//! Reads the kommun's exports ([`ingest`]), pseudonymises and aggregates them into
//! the statistics of one submission ([`pipeline`]), and shows them ([`output`]).
//! The rules themselves (personnummer, pseudonyms, tables, disclosure control) live
//! in `samla-common`; this crate owns files, keys and the command line.

#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod daemon;
pub mod ingest;
pub mod keyfile;
pub mod outbox;
pub mod output;
pub mod pipeline;
pub mod synth;
