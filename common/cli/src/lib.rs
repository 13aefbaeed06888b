//! samla-cli-common: the IO that `samla-node` and `samla-hub` both need, in one place.
//!
//! `samla-common` is sans-IO: it reads no files, starts no threads and waits for no
//! signal. The two binaries do, and they should do it alike: this crate is where
//! they do, in the manner of age's `cli_common`. It holds no rule about records,
//! tables, proofs or formats (those stay in `samla-common`) and nothing only one side
//! needs (the node's ingest, the hub's store).
//!
//! - [`parallel`]: the threads disclosure control runs its independent problems on;
//! - [`files`]: private files (0600, never overwritten, refused when others can read
//!   them) and capped reads;
//! - [`config`]: config files, capped;
//! - [`database`]: the SQLite files, opened alike, their errors told once;
//! - [`audit`]: audit bundles, findings, the cross-check, and what `show`,
//!   `payload` and `report` print of either log;
//! - [`signal`]: the stop signal of a service;
//! - [`logging`]: log lines to standard error;
//! - [`error`]: printing an error's causes once, with its hint, and broken pipes;
//! - [`args`]: argument types both command lines parse alike.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod args;
pub mod audit;
pub mod config;
pub mod database;
pub mod error;
pub mod files;
pub mod logging;
pub mod parallel;
pub mod signal;

pub use parallel::Threads;
