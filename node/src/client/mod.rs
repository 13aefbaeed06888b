//! Talking to the hub: the IO around `samla_common::delivery`.
//!
//! [`HubClient`] is one QUIC connection with the node's certificate: one request per
//! stream, the answer bounded before it is read ([`connection`]). [`Driver`] runs the
//! delivery state machine against a real hub, the real outbox and the real clock: it
//! connects, sends, sleeps and records what the machine asks for, and turns what the
//! network did into the machine's events ([`driver`]). This is the only place of the
//! node with sockets and sleeps; every decision (what to send, what to retry, when,
//! what to stop for) is the machine's. [`deliver`] drains the outbox once
//! (`samla-node send`); the daemon keeps a [`Driver`] for its whole run. [`messages`]
//! says what happened and what to do about each failure.

mod connection;
mod driver;
mod messages;

use std::time::Duration;

use samla_common::delivery::{Failure, HistoryRewritten};
use samla_common::tls::TlsError;
use samla_common::wire;

use crate::keyfile::KeyError;
use crate::outbox::OutboxError;

pub use connection::{client_config, HubClient};
pub use driver::{deliver, Driver, Report, Tally};
pub use messages::{hint, stop_hint, Event};

/// The largest response accepted from the hub.
pub(crate) const RESPONSE_LIMIT: u32 = 1024 * 1024;

/// How long a request may wait for the hub's answer. The hub gives a request's bytes
/// two minutes to arrive (`request_timeout_seconds`) after it has room for them; a
/// busier hub than that is asked again later (the same bytes get the same receipt).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a connection may be silent before QUIC gives it up; also the longest a
/// connection attempt takes.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long closing a connection may take before it is simply dropped.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why talking to the hub could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A file named in the `[hub]` section could not be read.
    #[error("[hub] {key} = {}: cannot be read\n\n{}", path.display(), hub_file_hint(key))]
    File {
        /// The config key.
        key: &'static str,
        /// The file, as resolved.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A certificate or key file named in the `[hub]` section is not usable.
    #[error("[hub] {key} = {}: not usable\n\n{}", path.display(), hub_file_hint(key))]
    Pem {
        /// The config key.
        key: &'static str,
        /// The file, as resolved.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: TlsError,
    },
    /// The TLS configuration could not be built.
    #[error("TLS setup")]
    Tls(#[from] TlsError),
    /// The hub's address does not resolve.
    #[error("hub address {0}: cannot be resolved")]
    Address(String),
    /// Connecting or talking failed.
    #[error("hub {address} (UDP)")]
    Connection {
        /// The address.
        address: String,
        /// What happened.
        #[source]
        failure: Failure,
    },
    /// A message could not be encoded.
    #[error("encoding a request")]
    Wire(#[from] wire::WireError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The signing key needed to re-sign a submission could not be loaded.
    #[error("re-signing a submission the hub refused as a replay")]
    Key(#[from] KeyError),
    /// The hub's transfer log does not extend what this node saw before: the hub's
    /// history was rewritten. Nothing more is sent.
    #[error("delivery stopped\n\nNothing more was sent. Tell the region and your privacy officer; the node's log records it.")]
    HistoryChanged(#[source] Box<HistoryRewritten>),
}

/// What a file of the `[hub]` section is and where it comes from, for the hint under
/// an error about it.
fn hub_file_hint(key: &str) -> &'static str {
    match key {
        "region_ca" => "region_ca is the region CA's certificate (ca.crt), given by the region with this node's certificate; a relative path is relative to the config's directory.",
        "certificate" | "private_key" => "certificate and private_key are this node's certificate and key from the region (node-NNNN.crt and node-NNNN.key, from `samla-hub ca issue-node`); a relative path is relative to the config's directory.",
        _ => "The path is relative to the config's directory.",
    }
}
