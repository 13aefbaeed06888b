//! samla-common: the sans-IO core that `samla-node` and `samla-hub` share.
//!
//! Everything both sides must agree on lives here and nowhere else: personnummer
//! ([`personnummer`]), the record model ([`record`], [`codes`]), periods
//! ([`period`]), pseudonyms and key files ([`pseudonym`]), the statistics schema and
//! aggregation ([`statistics`]), disclosure control ([`disclosure`]), linking people
//! across kommuner ([`linkage`]), the wire protocol ([`wire`], [`codec`],
//! [`signing`]) and the hub's receipts ([`receipt`]), delivering a node's outbox as a
//! state machine ([`delivery`], [`retry`]), TLS setup ([`tls`], the one module that
//! knows rustls and quinn's types), the transfer logs and their audit ([`translog`],
//! [`audit`]), and Swedish local time for what people read ([`local_time`]).
//!
//! Nothing in this crate opens a socket or a file or reads the clock: the current
//! date, key bytes and file contents come in as arguments. That keeps every rule
//! testable with plain unit and property tests.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod bytes;
pub mod cell_key;
pub mod codec;
pub mod codes;
pub mod delivery;
pub mod disclosure;
pub mod linkage;
pub mod local_time;
pub mod oprf;
pub mod period;
pub mod personnummer;
pub mod pseudonym;
pub mod receipt;
pub mod record;
pub mod report;
pub mod retry;
pub mod signing;
pub mod statistics;
pub mod text;
pub mod tls;
pub mod translog;
pub mod wire;
