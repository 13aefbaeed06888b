//! Helpers for end-to-end tests: a region on loopback with a real `samla-hub`
//! process ([`region`]), real `samla-node` processes ([`node`]), the binaries run as
//! processes ([`process`]), a raw QUIC client for sending what a well-behaved node
//! never would ([`raw_client`]), a relay that injects network faults ([`relay`]),
//! statistics built in memory ([`statistics`]), a region's key custodians as real
//! `samla-custodian` processes ([`custodians`]), the queries tests read and change
//! databases with ([`sql`]), a region whose transfer logs are audited
//! ([`audit`]), and JSON reports read by table and key ([`json_report`]).
//!
//! Every helper is also reachable at the crate root (`samla_tests::Region`, …), the
//! paths tests have always used.

#![forbid(unsafe_code)]
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

pub mod audit;
pub mod cell_key;
pub mod custodians;
pub mod json_report;
pub mod node;
pub mod process;
pub mod raw_client;
pub mod region;
pub mod relay;
pub mod sql;
pub mod statistics;

pub use custodians::Custodians;
pub use node::Node;
pub use process::{assert_prints, binary, free_port, run, text, wait_for};
pub use raw_client::RawClient;
pub use region::Region;
pub use relay::{Faults, Relay};
pub use statistics::kommun_statistics;
