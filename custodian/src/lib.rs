//! samla-custodian: a key custodian (DESIGN.md §4a, docs/custodian.md).
//!
//! A custodian holds one share of the region's pseudonym key and answers kommun
//! nodes' blinded evaluations over QUIC with mutual TLS, within each kommun's rate
//! limit, logging every request in its own append-only, signed RFC 6962 log. Every
//! rule (roles, key and domain checks, the limit, what to log and store) is
//! `samla_common::oprf::service`'s; this crate adds the IO:
//!
//! - [`config`], `custodian.toml`;
//! - [`files`], the key share, the key set, the log key and the TLS files, read and
//!   checked before anything starts;
//! - [`store`], the SQLite file (log, tree hashes, checkpoints, rate windows, slot
//!   bindings, domain records);
//! - [`server`], the QUIC server;
//! - [`client`], one request to a custodian, for the setup coordinator;
//! - [`setup`], the coordinator's domain setup;
//! - [`audit`], the log as a bundle and its verification;
//! - [`status`], the running server's status file.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod client;
pub mod config;
pub mod files;
pub mod init;
pub mod server;
pub mod setup;
pub mod status;
pub mod store;
