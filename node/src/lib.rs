//! samla-node: the kommun side of samla.
//!
//! Reads the kommun's exports ([`ingest`]), pseudonymises and aggregates them into
//! the statistics of one submission ([`pipeline`]), and shows them ([`output`]); queues
//! signed submissions in the outbox ([`outbox`]) and records every event in its
//! hash-chained transfer log ([`node_log`]); delivers them ([`client`]), by hand or as
//! a daemon ([`daemon`]).
//! The rules themselves (personnummer, pseudonyms, tables, disclosure control) live
//! in `samla-common`; this crate owns files, keys and the command line.

#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod custodian;
pub mod daemon;
pub mod ingest;
pub mod keyfile;
pub mod node_log;
pub mod outbox;
pub mod output;
pub mod pipeline;
pub mod pseudonyms;
pub mod synth;
