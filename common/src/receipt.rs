//! Receipts (DESIGN.md §7, §8): the hub's signed word that it stored a submission, at
//! which position of its transfer log, built and checked in this one place.
//!
//! The hub logs an accepted submission as [`accepted_entry`] says, appends the entry
//! to its log, signs the checkpoint that ends with it, and answers with
//! [`Receipt::new`] signed by [`SignedReceipt::sign`]: the entry's exact bytes, that
//! checkpoint and the entry's inclusion proof in its tree. The node records a receipt
//! only after [`SignedReceipt::verify`] has checked everything it promises, so the two
//! sides' rules for what an acceptance looks like cannot drift apart.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::codes::KommunCode;
use crate::signing::{Signature, SigningKey, VerifyingKey, RECEIPT_CONTEXT};
use crate::translog::{Checkpoint, EntryKind, LogEntry, LogError, LogHash};
use crate::wire::{SubmissionId, VerifiedSubmission};

/// The log entry that records a submission's acceptance: its kommun, id, sequence,
/// period, linkage domain and size (never a count or a pseudonym).
pub fn accepted_entry(submission: &VerifiedSubmission, received_at: i64) -> LogEntry {
    let s = submission.submission();
    LogEntry {
        kind: EntryKind::Accepted,
        at: received_at,
        kommun: Some(s.statistics.kommun),
        submission: Some(submission.id()),
        summary: format!(
            "sequence {}, period {}, linkage domain {}, {} bytes",
            s.sequence,
            s.statistics.period,
            s.statistics.linkage_domain,
            submission.signed().bytes.len()
        ),
    }
}

/// Where an accepted submission's entry stands in the hub's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The entry's index (0-based).
    pub index: u64,
    /// The entry's exact bytes ([`LogEntry::to_bytes`] of [`accepted_entry`]).
    pub entry: Vec<u8>,
    /// The signed checkpoint of the log that ends with the entry (or a later one).
    pub checkpoint: Vec<u8>,
    /// The entry's inclusion proof in that checkpoint's tree.
    pub inclusion: Vec<LogHash>,
}

/// What the hub confirms: it stored this submission, for this kommun, at this time,
/// at this position of its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The submission.
    pub submission_id: SubmissionId,
    /// The kommun it came from.
    pub kommun: KommunCode,
    /// Its sequence number.
    pub sequence: u64,
    /// When the hub stored it (Unix seconds).
    pub received_at: i64,
    /// Its index in the hub's transfer log.
    pub log_index: u64,
    /// The log entry at that index, exactly as logged.
    #[serde(with = "crate::wire::serde_bytes_vec")]
    pub entry: Vec<u8>,
    /// A signed checkpoint of the log that includes the entry.
    #[serde(with = "crate::wire::serde_bytes_vec")]
    pub checkpoint: Vec<u8>,
    /// The proof that the entry is in the checkpoint's tree.
    pub inclusion: Vec<LogHash>,
}

impl Receipt {
    /// The receipt for a submission accepted at `received_at` and logged at `logged`.
    pub fn new(submission: &VerifiedSubmission, received_at: i64, logged: Logged) -> Receipt {
        let s = submission.submission();
        Receipt {
            submission_id: submission.id(),
            kommun: s.statistics.kommun,
            sequence: s.sequence,
            received_at,
            log_index: logged.index,
            entry: logged.entry,
            checkpoint: logged.checkpoint,
            inclusion: logged.inclusion,
        }
    }
}

/// A receipt whose signature, log entry, checkpoint and inclusion proof were checked;
/// only [`SignedReceipt::verify`] makes one, and the node's outbox records only these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    receipt: Receipt,
    checkpoint: Checkpoint,
    signed: SignedReceipt,
}

impl VerifiedReceipt {
    /// The receipt.
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    /// The checkpoint it carries.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed bytes it was read from, as the hub sent them.
    pub fn signed(&self) -> &SignedReceipt {
        &self.signed
    }
}

/// An encoded receipt and the hub's signature over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReceipt {
    /// The encoded [`Receipt`].
    #[serde(with = "crate::wire::serde_bytes_vec")]
    pub bytes: Vec<u8>,
    /// Ed25519 over `"samla/receipt/v1\0" ‖ BLAKE3(bytes)` by the hub's key.
    pub signature: Signature,
}

/// Why a receipt was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not signed by the hub's key.
    #[error("the receipt is not signed by the hub's receipt key")]
    BadSignature,
    /// Not a receipt.
    #[error("the receipt is malformed: {0}")]
    Malformed(String),
    /// For another submission or kommun.
    #[error("the receipt is for another submission or kommun")]
    Mismatch,
    /// Its log entry, checkpoint or inclusion proof does not hold.
    #[error("the receipt's log proof fails")]
    Log(#[from] LogError),
}

impl SignedReceipt {
    /// Encodes and signs a receipt (hub side).
    pub fn sign(receipt: &Receipt, key: &SigningKey) -> Result<SignedReceipt, CodecError> {
        let bytes = codec::encode(receipt)?;
        let signature = key.sign(RECEIPT_CONTEXT, &bytes);
        Ok(SignedReceipt { bytes, signature })
    }

    /// Checks everything a receipt promises: the hub's signature; that it is for
    /// `id` from `kommun`; that its log entry records exactly that acceptance at
    /// its log index; that its checkpoint is signed by the hub for the log `origin`;
    /// and that the entry is in the checkpoint's tree.
    pub fn verify(
        &self,
        hub: &VerifyingKey,
        origin: &str,
        id: SubmissionId,
        kommun: KommunCode,
    ) -> Result<VerifiedReceipt, ReceiptError> {
        hub.verify(RECEIPT_CONTEXT, &self.bytes, &self.signature)
            .map_err(|_| ReceiptError::BadSignature)?;
        let receipt: Receipt =
            codec::decode(&self.bytes).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
        if receipt.submission_id != id || receipt.kommun != kommun {
            return Err(ReceiptError::Mismatch);
        }
        let entry = LogEntry::from_bytes(&receipt.entry)?;
        if entry.kind != EntryKind::Accepted
            || entry.submission != Some(id)
            || entry.kommun != Some(kommun)
        {
            return Err(ReceiptError::Mismatch);
        }
        let checkpoint = Checkpoint::open(&receipt.checkpoint, origin, hub)?;
        checkpoint.verify_inclusion(receipt.log_index, &receipt.entry, &receipt.inclusion)?;
        Ok(VerifiedReceipt {
            receipt,
            checkpoint,
            signed: self.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statistics::Aggregator;
    use crate::translog::MemoryHashes;
    use crate::wire::{SignedSubmission, Submission};

    const ORIGIN: &str = "samla-hub.test";
    const AT: i64 = 1_800_000_000;

    fn key() -> SigningKey {
        let document = SigningKey::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        SigningKey::from_pkcs8(&document).unwrap()
    }

    /// A verified submission of kommun 2180 with empty tables.
    fn verified(node: &SigningKey) -> VerifiedSubmission {
        let kommun: KommunCode = "2180".parse().unwrap();
        let statistics = Aggregator::new(
            kommun,
            "2025".parse().unwrap(),
            "test".parse().unwrap(),
            crate::pseudonym::MasterSecret::from_bytes([1; 32]).key_id(),
            vec!["UNG".parse().unwrap()],
        )
        .finish();
        let submission = Submission {
            sequence: 7,
            created_at: AT - 60,
            statistics,
        };
        SignedSubmission::sign(&submission, node)
            .unwrap()
            .verify(kommun, &[node.verifying_key()])
            .unwrap()
    }

    /// What the hub does: log the acceptance after `before` other entries, sign the
    /// checkpoint that ends with it, and sign the receipt.
    fn issue(hub: &SigningKey, submission: &VerifiedSubmission, before: usize) -> SignedReceipt {
        let mut log = MemoryHashes::default();
        for i in 0..before {
            log.append(format!("other entry {i}").as_bytes()).unwrap();
        }
        let entry = accepted_entry(submission, AT).to_bytes();
        let index = log.append(&entry).unwrap();
        let checkpoint = Checkpoint {
            origin: ORIGIN.to_owned(),
            size: log.size(),
            root: log.root().unwrap(),
        };
        let logged = Logged {
            index,
            inclusion: crate::translog::prove_inclusion(log.size(), index, &log).unwrap(),
            checkpoint: checkpoint.sign(hub).unwrap(),
            entry,
        };
        SignedReceipt::sign(&Receipt::new(submission, AT, logged), hub).unwrap()
    }

    #[test]
    fn a_receipt_the_hub_issues_is_one_the_node_accepts() {
        let (hub, node) = (key(), key());
        let submission = verified(&node);
        let kommun = submission.submission().statistics.kommun;
        for before in [0, 1, 6] {
            let signed = issue(&hub, &submission, before);
            let verified = signed
                .verify(&hub.verifying_key(), ORIGIN, submission.id(), kommun)
                .unwrap();
            assert_eq!(verified.receipt().log_index, before as u64);
            assert_eq!(verified.receipt().sequence, 7);
            assert_eq!(verified.receipt().received_at, AT);
            assert_eq!(verified.checkpoint().size, before as u64 + 1);
        }
    }

    #[test]
    fn every_promise_of_a_receipt_is_checked() {
        let (hub, node) = (key(), key());
        let submission = verified(&node);
        let id = submission.id();
        let kommun = submission.submission().statistics.kommun;
        let signed = issue(&hub, &submission, 2);
        let hub_key = hub.verifying_key();

        assert_eq!(
            signed.verify(&key().verifying_key(), ORIGIN, id, kommun),
            Err(ReceiptError::BadSignature)
        );
        let other = SubmissionId::of(b"another submission");
        assert_eq!(
            signed.verify(&hub_key, ORIGIN, other, kommun),
            Err(ReceiptError::Mismatch)
        );
        assert_eq!(
            signed.verify(&hub_key, ORIGIN, id, "2181".parse().unwrap()),
            Err(ReceiptError::Mismatch)
        );
        assert!(matches!(
            signed.verify(&hub_key, "another-log", id, kommun),
            Err(ReceiptError::Log(_))
        ));

        // The hub's own signature over a receipt whose proof is wrong does not help.
        let mut receipt: Receipt = codec::decode(&signed.bytes).unwrap();
        receipt.log_index += 1;
        let resigned = SignedReceipt::sign(&receipt, &hub).unwrap();
        assert!(matches!(
            resigned.verify(&hub_key, ORIGIN, id, kommun),
            Err(ReceiptError::Log(_))
        ));

        // An entry that records a refusal is no receipt.
        let mut receipt: Receipt = codec::decode(&signed.bytes).unwrap();
        let mut entry = LogEntry::from_bytes(&receipt.entry).unwrap();
        entry.kind = EntryKind::Refused;
        receipt.entry = entry.to_bytes();
        let resigned = SignedReceipt::sign(&receipt, &hub).unwrap();
        assert_eq!(
            resigned.verify(&hub_key, ORIGIN, id, kommun),
            Err(ReceiptError::Mismatch)
        );
    }
}
