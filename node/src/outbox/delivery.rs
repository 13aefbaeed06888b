//! The outbox operations delivery needs beyond queueing: pending submissions as
//! stored (so a changed byte is found per submission, not as a failed read), failed
//! attempts counted, and re-signing a submission the hub refused as a replay after
//! the node database was restored from an older copy.

use rusqlite::{params, TransactionBehavior};
use samla_common::codec;
use samla_common::wire::{SignedSubmission, Submission, SubmissionId};

use super::{entry, Entry, Outbox, OutboxError, Pending, SELECT};
use crate::node_log::{append, head_if_due, LogKind};

/// A pending submission as stored: its bytes decoded, or why they could not be.
pub struct Stored {
    /// The listing.
    pub entry: Entry,
    /// The signed submission, if the stored bytes decode.
    pub signed: Result<SignedSubmission, codec::CodecError>,
}

impl Outbox {
    /// Pending submissions in sequence order, each with its signed submission as
    /// stored, or why the stored bytes could not be decoded (a changed byte): one bad
    /// row does not hide the others.
    pub fn pending_as_stored(&self) -> Result<Vec<Stored>, OutboxError> {
        self.rows_with_signed(super::PENDING, |entry, signed| {
            Ok(Stored {
                entry,
                signed: codec::decode(&signed),
            })
        })
    }

    /// Every submission as stored, in sequence order, with its raw signed bytes (for
    /// `audit verify`, which checks each against its id and the node's signature).
    pub fn all_as_stored(&self) -> Result<Vec<(Entry, Vec<u8>)>, OutboxError> {
        self.rows_with_signed("", |entry, signed| Ok((entry, signed)))
    }

    /// Counts a failed delivery attempt for each of `ids` (every submission that was
    /// waiting), and logs the failure once.
    pub fn record_attempt_failed(
        &mut self,
        ids: &[SubmissionId],
        now: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for id in ids {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1 AND state = 'pending'",
                params![id.as_bytes().as_slice(), error],
            )?;
        }
        let id = match ids {
            [one] => Some(*one),
            _ => None,
        };
        let detail = format!("{error} ({} submission(s) waiting)", ids.len());
        append(&tx, now, LogKind::SendFailed, id, &detail)?;
        head_if_due(&tx, self.signer.as_ref(), now)?;
        tx.commit()?;
        Ok(())
    }

    /// Re-signs a pending submission the hub refused as a replay (the node database
    /// was restored from an older copy): the same content with the next sequence after
    /// both `after` (the hub's last accepted) and every sequence the outbox holds. The
    /// old one stays, as refused, for audit; the new one is pending. Both are logged
    /// in one transaction. `sign` signs the submission with its new sequence.
    pub fn resequence(
        &mut self,
        id: SubmissionId,
        after: u64,
        now: i64,
        sign: impl FnOnce(&Submission) -> Result<SignedSubmission, codec::CodecError>,
    ) -> Result<Pending, OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (old_sequence, period, linkage_domain, signed): (i64, String, String, Vec<u8>) = tx
            .query_row(
                "SELECT sequence, period, linkage_domain, signed FROM outbox WHERE id = ?1 AND state = 'pending'",
                [id.as_bytes().as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        let old: SignedSubmission = codec::decode(&signed)?;
        let mut submission: Submission = codec::decode(&old.bytes)?;
        let highest: Option<i64> =
            tx.query_row("SELECT MAX(sequence) FROM outbox", [], |r| r.get(0))?;
        let highest = highest.map_or(0, |h| u64::try_from(h).unwrap_or(0));
        submission.sequence = after.max(highest) + 1;
        let new = sign(&submission)?;
        let new_id = new.id();
        tx.execute(
            "INSERT INTO outbox (id, sequence, created_at, period, linkage_domain, signed, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')",
            params![
                new_id.as_bytes().as_slice(),
                i64::try_from(submission.sequence).unwrap_or(i64::MAX),
                submission.created_at,
                period,
                linkage_domain,
                codec::encode(&new)?
            ],
        )?;
        let why = format!(
            "refused by the hub as a replay (its last accepted sequence is {after}); re-signed as sequence {} ({new_id})",
            submission.sequence
        );
        tx.execute(
            "UPDATE outbox SET state = 'refused', last_error = ?2 WHERE id = ?1",
            params![id.as_bytes().as_slice(), why],
        )?;
        append(&tx, now, LogKind::Refused, Some(id), &why)?;
        let built = format!(
            "sequence {}, period {period}, linkage domain {linkage_domain}, {} bytes (re-signed from {id})",
            submission.sequence,
            new.bytes.len()
        );
        append(&tx, now, LogKind::Built, Some(new_id), &built)?;
        let detail = format!(
            "sequence {} re-signed as {} after the hub's last accepted {after} (the node database was older than the hub's record), period {period}, {} bytes, was {id}",
            old_sequence, submission.sequence, new.bytes.len()
        );
        append(&tx, now, LogKind::Resequenced, Some(new_id), &detail)?;
        let entry = tx.query_row(
            &format!("{SELECT} WHERE id = ?1"),
            [new_id.as_bytes().as_slice()],
            entry,
        )?;
        head_if_due(&tx, self.signer.as_ref(), now)?;
        tx.commit()?;
        Ok(Pending { entry, signed: new })
    }
}
