//! What can go wrong while a node delivers its outbox, and whether trying again can
//! help: a [`Failure`] is what the driver saw on the network (temporary ones are
//! retried with backoff), a [`Stop`] is why delivery stopped for good, a
//! [`Tampering`] is why a stored submission is never sent, and an [`Outcome`] is how
//! a run ended.

use std::time::Duration;

use crate::codec::CodecError;
use crate::translog::{Checkpoint, LogError};
use crate::wire::{ReceiptError, Refusal, SubmissionId};

/// The application close codes the hub uses when it ends a connection on purpose.
pub mod close_code {
    /// A normal close: the request is done, or the hub is shutting down.
    pub const DONE: u64 = 0;
    /// The client certificate names no kommun and is not pinned.
    pub const NO_KOMMUN: u64 = 1;
    /// The client certificate is revoked.
    pub const REVOKED: u64 = 2;
    /// The kommun already has as many connections as the hub allows.
    pub const TOO_MANY_CONNECTIONS: u64 = 3;
}

/// Which part of an attempt a timeout cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Setting up the connection (QUIC and TLS handshake).
    Connect,
    /// Waiting for the answer to a request on an open connection.
    Request,
}

/// What the driver saw go wrong while connecting to the hub or talking to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Nothing came back in time.
    #[error("no answer within {}", seconds(*waited))]
    TimedOut {
        /// Connecting, or waiting for an answer.
        stage: Stage,
        /// How long it waited.
        waited: Duration,
    },
    /// The hub's name does not resolve to an address.
    #[error("the address cannot be resolved")]
    Unresolved,
    /// The configured address is not `host:port`.
    #[error("the address is not host:port")]
    BadAddress,
    /// The configured server name cannot be a TLS server name.
    #[error("{name:?} cannot be a certificate name")]
    BadServerName {
        /// The name.
        name: String,
    },
    /// This machine could not open a UDP socket.
    #[error("no UDP socket could be opened here ({detail})")]
    Local {
        /// The operating system's message.
        detail: String,
    },
    /// The connection broke.
    #[error("the connection was lost ({detail})")]
    Lost {
        /// What the transport said.
        detail: String,
    },
    /// The hub closed the connection on purpose.
    #[error("the hub closed the connection: {reason}")]
    ClosedByHub {
        /// One of [`close_code`].
        code: u64,
        /// The reason the hub gave.
        reason: String,
    },
    /// The hub's certificate does not carry the configured server name.
    #[error("the hub's certificate is not for the configured server name ({detail})")]
    HubCertificateName {
        /// What TLS said, naming the names on the certificate.
        detail: String,
    },
    /// The hub's certificate is not issued by the region CA the node trusts.
    #[error("the hub's certificate is not issued by the region CA ({detail})")]
    HubCertificateUnknownCa {
        /// What TLS said.
        detail: String,
    },
    /// The hub's certificate has expired or is not valid yet.
    #[error("the hub's certificate has expired or is not valid yet ({detail})")]
    HubCertificateExpired {
        /// What TLS said.
        detail: String,
    },
    /// The hub's certificate was refused for another reason.
    #[error("the hub's certificate was not accepted ({detail})")]
    HubCertificate {
        /// What TLS said.
        detail: String,
    },
    /// The hub refused this node's certificate during the handshake.
    #[error("the hub did not accept this node's certificate ({detail})")]
    NodeCertificateRefused {
        /// The TLS alert the hub sent.
        detail: String,
    },
    /// The other end speaks QUIC but not `samla/1`.
    #[error("the other end does not speak samla/1 ({detail})")]
    WrongProtocol {
        /// What the transport said.
        detail: String,
    },
    /// The hub's answer could not be read, or was not an answer to the request.
    #[error("the hub's answer could not be used ({detail})")]
    BadAnswer {
        /// What was wrong with it.
        detail: String,
    },
    /// The hub refused for now (busy, or too many submissions in a minute).
    #[error("the hub refused for now")]
    Refused(#[source] Refusal),
}

impl Failure {
    /// Whether trying again later can succeed without anyone changing anything.
    pub fn is_temporary(&self) -> bool {
        match self {
            Failure::TimedOut { .. }
            | Failure::Unresolved
            | Failure::Local { .. }
            | Failure::Lost { .. }
            | Failure::BadAnswer { .. } => true,
            Failure::ClosedByHub { code, .. } => {
                !matches!(*code, close_code::NO_KOMMUN | close_code::REVOKED)
            }
            Failure::Refused(refusal) => refusal.is_temporary(),
            Failure::BadAddress
            | Failure::BadServerName { .. }
            | Failure::HubCertificateName { .. }
            | Failure::HubCertificateUnknownCa { .. }
            | Failure::HubCertificateExpired { .. }
            | Failure::HubCertificate { .. }
            | Failure::NodeCertificateRefused { .. }
            | Failure::WrongProtocol { .. } => false,
        }
    }
}

/// A duration as a person reads it: `10 s`, `1.6 s`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// Why delivery stopped at once: something a person must fix first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// Connecting failed in a way that does not heal by itself.
    #[error(transparent)]
    Transport(Failure),
    /// The hub refused a submission (or the connection) for good.
    #[error("the hub refused {}", match .id { Some(id) => format!("submission {id}"), None => "the request".to_owned() })]
    Refused {
        /// The submission, when a submission was refused.
        id: Option<SubmissionId>,
        /// The hub's reason.
        #[source]
        refusal: Refusal,
    },
    /// The hub's checkpoint (or the one the node stored) does not verify against the
    /// configured receipt key and log origin.
    #[error("{} does not verify", if *.stored { "the hub checkpoint stored in the node database" } else { "the hub's checkpoint" })]
    BadCheckpoint {
        /// Whether the stored checkpoint is the one at fault.
        stored: bool,
        /// Why.
        #[source]
        source: LogError,
    },
    /// A receipt does not verify.
    #[error("the hub's receipt for submission {id} does not verify")]
    BadReceipt {
        /// The submission.
        id: SubmissionId,
        /// Why.
        #[source]
        source: ReceiptError,
    },
}

/// The hub's transfer log does not extend the checkpoint the node saw last: its
/// history was rewritten. Nothing more is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the hub's transfer log was rewritten: it does not extend the checkpoint this node saw \
     last (size {}, root {}; now size {}, root {})",
    old.size, old.root, new.size, new.root
)]
pub struct HistoryRewritten {
    /// The checkpoint the node saw last.
    pub old: Checkpoint,
    /// The hub's checkpoint now.
    pub new: Checkpoint,
    /// Why the consistency proof fails.
    #[source]
    pub source: LogError,
}

/// Why a stored submission does not match its id or signature (changed in the node
/// database after it was built). It is never sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tampering {
    /// The signed bytes hash to another id.
    #[error("its signed bytes hash to {computed}, not to its id")]
    IdMismatch {
        /// BLAKE3 of the stored bytes.
        computed: SubmissionId,
    },
    /// The signature does not verify over the bytes.
    #[error("its signature does not verify over its bytes")]
    BadSignature,
    /// The bytes are not a submission.
    #[error("its signed bytes are not a submission")]
    Undecodable(#[source] CodecError),
    /// The sequence stored beside it is not the one signed.
    #[error("it is stored as sequence {stored} but signed as sequence {signed}")]
    SequenceMismatch {
        /// The sequence in the outbox row.
        stored: u64,
        /// The sequence in the signed bytes.
        signed: u64,
    },
    /// It is signed for another kommun.
    #[error("it is signed for kommun {found}, not for this node's kommun")]
    WrongKommun {
        /// The kommun in the signed bytes.
        found: String,
    },
    /// It does not match what this node signed (checked against the node's own
    /// signing keys and the values stored beside it).
    #[error(transparent)]
    Stored(crate::audit::node_checks::ContentProblem),
}

/// How a delivery run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything queued was acknowledged (or refused for good, or is tampered and
    /// was never sent).
    Delivered,
    /// The hub could not be reached before the give-up time; the submissions wait.
    GaveUp {
        /// The last failure.
        failure: Failure,
        /// Failed attempts since the hub last answered.
        attempts: u32,
    },
    /// Stopped at once; the submissions wait until the cause is fixed.
    Stopped(Stop),
    /// The hub's log was rewritten; nothing more is sent.
    HistoryChanged(HistoryRewritten),
}
