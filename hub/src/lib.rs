//! samla-hub: the region side of samla.
//!
//! The certificate authority tooling ([`ca`]), the hub's configuration ([`config`])
//! and key files ([`files`]), the QUIC server ([`server`]) with its request room
//! ([`room`]), bounded refusal logging ([`refusals`]), single store writer
//! ([`writer`]) and status file ([`status`]), the
//! store of received submissions and the transfer log ([`store`]), reports
//! ([`report`]) and the audit export ([`audit`]).
//! Every rule about what a valid submission is lives in `samla-common`; this crate
//! owns the files, the database, the sockets and the clock.

#![forbid(unsafe_code)]

pub mod audit;
pub mod ca;
pub mod config;
pub mod files;
pub mod refusals;
pub mod report;
pub mod room;
pub mod server;
pub mod status;
pub mod store;
pub mod writer;
