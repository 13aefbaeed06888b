//! What the driver reports, as a person reads it, and what to do about each
//! failure: the address tried, UDP and firewalls, whether the hub runs, the config
//! key at fault.

use std::fmt;
use std::time::Duration;

use samla_common::delivery::{close_code, Failure, Stage, Stop, Tampering};
use samla_common::wire::{Receipt, Refusal, SubmissionId};

use samla_cli_common::error::Chain;

use crate::config::HubLink;
use crate::outbox::Entry;

/// What the driver reports while it works, for printing or logging. `Display` gives
/// the line a person reads.
pub enum Event<'a> {
    /// A run of `samla-node send` starts.
    Sending {
        /// Submissions to send.
        submissions: usize,
        /// The hub's address.
        address: &'a str,
        /// How long an unreachable hub is tried.
        give_up_after: Duration,
    },
    /// A submission was acknowledged by a verified receipt.
    Acknowledged(&'a Receipt),
    /// The hub refused a submission for good.
    Refused(SubmissionId, &'a Refusal),
    /// An attempt failed; the next starts at `at`.
    Retrying {
        /// The hub's address.
        address: &'a str,
        /// What went wrong.
        failure: &'a Failure,
        /// Failed attempts so far.
        attempt: u32,
        /// The wait before the next.
        wait: Duration,
        /// When the next starts, Swedish local time.
        at: String,
        /// What to check, on the first failure of a run of them.
        hint: Option<String>,
    },
    /// A stored submission does not match its id or signature; it is never sent.
    Tampered {
        /// Its stored id.
        id: SubmissionId,
        /// What does not match.
        problem: &'a Tampering,
    },
    /// A submission refused as a replay was re-signed with a new sequence.
    Resequenced {
        /// The refused one.
        old: SubmissionId,
        /// The new one.
        new: &'a Entry,
        /// The hub's last accepted sequence.
        after: u64,
    },
    /// The daemon stopped delivering after a permanent failure, until `until`.
    Suspended {
        /// Why.
        stop: &'a Stop,
        /// What to do.
        hint: String,
        /// When it tries again, Swedish local time.
        until: String,
    },
}

impl Event<'_> {
    /// Whether the event is a problem (printed to standard error, logged as a warning).
    pub fn is_problem(&self) -> bool {
        !matches!(
            self,
            Event::Sending { .. } | Event::Acknowledged(_) | Event::Resequenced { .. }
        )
    }
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Sending { submissions, address, give_up_after } => write!(
                f,
                "sending {submissions} submission(s) to hub {address} (UDP); an unreachable hub is tried for up to {} s",
                give_up_after.as_secs()
            ),
            Event::Acknowledged(r) => write!(
                f,
                "acknowledged {} (sequence {}): hub log index {}, receipt signature verified",
                r.submission_id, r.sequence, r.log_index
            ),
            Event::Refused(id, refusal) => write!(f, "samla-node: the hub refused {id}: {refusal}"),
            Event::Retrying { address, failure, attempt, wait, at, hint } => {
                write!(
                    f,
                    "samla-node: hub {address} (UDP): {}; attempt {attempt} failed, next attempt at {at} (in {:.1} s)",
                    Chain(*failure),
                    wait.as_secs_f64()
                )?;
                match hint {
                    Some(hint) => write!(f, "\n  {hint}"),
                    None => Ok(()),
                }
            }
            Event::Tampered { id, problem } => write!(
                f,
                "samla-node: submission {id} in the outbox does not match what was signed: {}; it is not sent. Run `samla-node audit verify` and tell your privacy officer",
                Chain(*problem)
            ),
            Event::Resequenced { old, new, after } => write!(
                f,
                "re-signed {old} as sequence {} ({}): the hub's last accepted sequence is {after} (the node database is older than the hub's record)",
                new.sequence, new.id
            ),
            Event::Suspended { stop, hint, until } => write!(
                f,
                "samla-node: delivery stopped: {}\n  {hint}\n  Not tried again before {until}; restart the daemon once it is fixed",
                Chain(*stop)
            ),
        }
    }
}

/// What to do about a failure, for the person who reads it.
pub fn hint(failure: &Failure, link: &HubLink) -> String {
    let port = link.address.rsplit_once(':').map_or("", |(_, p)| p);
    match failure {
        Failure::TimedOut { stage: Stage::Connect, .. } => format!(
            "Nothing answered at {} (UDP). Check [hub] address (host:port of the hub), that firewalls on both sides let UDP port {port} through, and that the hub is running (`samla-hub status` at the region).",
            link.address
        ),
        Failure::TimedOut { stage: Stage::Request, .. } => "The hub took the connection but did not answer in time (it may be busy). The submission is sent again; the hub answers a resent submission with the receipt it already gave.".to_owned(),
        Failure::Unresolved => format!(
            "Check [hub] address: the name in {} must resolve here (or use an IP address).",
            link.address
        ),
        Failure::BadAddress => format!(
            "[hub] address is {:?}: write host:port, e.g. samla.region.se:4433.",
            link.address
        ),
        Failure::BadServerName { .. } => "[hub] server_name must be the DNS name on the hub's certificate, e.g. samla.region.se.".to_owned(),
        Failure::Local { .. } => "This machine could not open a UDP socket; check its network settings and open files.".to_owned(),
        Failure::Lost { .. } | Failure::BadAnswer { .. } => "The connection broke; the submissions are sent again.".to_owned(),
        Failure::ClosedByHub { code: close_code::REVOKED, .. } => "This node's certificate is revoked at the hub: ask the region for a new one (`samla-hub ca issue-node`).".to_owned(),
        Failure::ClosedByHub { code: close_code::NO_KOMMUN, .. } => format!(
            "The hub cannot tell which kommun [hub] certificate ({}) is for: ask the region for a node certificate naming this kommun, or to pin this one.",
            link.certificate.display()
        ),
        Failure::ClosedByHub { .. } => "The hub closed the connection; the submissions are sent again.".to_owned(),
        Failure::HubCertificateName { .. } => format!(
            "[hub] server_name is {:?}, which is not a name on the hub's certificate: set server_name to the name the certificate was issued for (`samla-hub ca issue-hub --name`).",
            link.server_name
        ),
        Failure::HubCertificateUnknownCa { .. } => format!(
            "The hub's certificate is not issued by [hub] region_ca ({}): check that region_ca is the region's ca.crt and that [hub] address is the region's hub.",
            link.region_ca.display()
        ),
        Failure::HubCertificateExpired { .. } => "Ask the region to renew the hub's certificate, and check this machine's clock.".to_owned(),
        Failure::HubCertificate { .. } => format!(
            "Check [hub] region_ca ({}) and [hub] address.",
            link.region_ca.display()
        ),
        Failure::NodeCertificateRefused { .. } => format!(
            "The hub refused [hub] certificate ({}): it must be issued by the region's CA for this kommun and valid today. Ask the region for a new one (`samla-hub ca issue-node`).",
            link.certificate.display()
        ),
        Failure::WrongProtocol { .. } => format!(
            "Something at {} speaks QUIC but not samla/1: check [hub] address, and that the node and the hub are of matching versions.",
            link.address
        ),
        Failure::Refused(_) => "The hub is busy or limits how often this kommun may send; the submissions are sent again.".to_owned(),
    }
}

/// What to do after delivery stopped for good.
pub fn stop_hint(stop: &Stop, link: &HubLink) -> String {
    match stop {
        Stop::Transport(failure) => hint(failure, link),
        Stop::Refused { refusal, .. } => match refusal {
            Refusal::WrongKommun { .. } => "`kommun` in the node config and the kommun of [hub] certificate must agree.".to_owned(),
            Refusal::BadSignature => "The submission changed between signing and the hub: run `samla-node audit verify`.".to_owned(),
            Refusal::SchemaVersion { .. } | Refusal::Schema(_) | Refusal::Malformed(_) => "The node and the hub disagree on the statistics format: upgrade them to matching versions (the hub first).".to_owned(),
            Refusal::TooLarge { .. } => "Ask the region to raise max_frame_bytes in hub.toml.".to_owned(),
            Refusal::Replay { .. } => "The node database is older than the hub's record of this kommun: see docs/operations.md, Backup.".to_owned(),
            _ => "The other submissions wait in the outbox; `samla-node send` delivers them once this is fixed.".to_owned(),
        },
        Stop::BadCheckpoint { .. } => "Check receipt_key and log_origin in the [hub] section: they must be the hub's (`samla-hub init` printed the key).".to_owned(),
        Stop::BadReceipt { .. } => "Check receipt_key in the [hub] section; if it is right, tell the region: the hub's receipts do not verify.".to_owned(),
    }
}
