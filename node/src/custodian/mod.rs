//! Custodian mode on the node (DESIGN.md §4a, docs/custodian.md): pseudonyms come
//! from t of the region's n key custodians by RFC 9497 POPRF, and the node holds no
//! key. The node blinds each personnummer, sends each batch to t custodians over QUIC
//! in parallel, checks every custodian's DLEQ proof against its published share key
//! (an answer made with any other key is refused and another subset asked), adds the
//! answers and unblinds.
//!
//! - [`config`], the `[custodian]` section of the node config;
//! - [`client`], [`CustodianClient`]: connections, the domain's checked keys,
//!   batches on every core and on t custodians at once.

pub mod client;
pub mod config;

pub use client::{BatchLogged, CustodianClient, CustodianError, Pseudonymised};
pub use config::CustodianMode;
