//! Submissions in the store: each accepted one stored with its exact signed bytes,
//! decoded cells and linkage sets and its receipt, in the batch's transaction. What
//! reports and audits read back is `verified`'s.

use rusqlite::{params, Connection, OptionalExtension};
use samla_common::receipt::{accepted_entry, Logged, Receipt};
use samla_common::translog::{self, Checkpoint, EntryKind};
use samla_common::wire::{Refusal, SignedReceipt, SubmissionId, VerifiedSubmission};

use super::batch::Stored;
use super::log::{append, entry, SqlHashes};
use super::verified::{stored_in_tx, Trust};
use super::{LogSigner, Store, StoreError};
use crate::config::RegisteredKey;

impl Store {
    /// The exact signed bytes of a stored submission, unchecked: for the audit's
    /// view of what is stored (digests in an exported bundle), which shows each one
    /// beside the outcome of [`Store::stored`]. Reports and payloads read only
    /// through [`Store::stored`].
    pub fn signed_bytes(&self, id: SubmissionId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT signed_bytes FROM submissions WHERE id = ?1",
                [id.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// One submission of a batch, inside the batch's transaction: the receipt given
/// before for the same bytes (after the stored submission, its receipt and its log
/// entry are checked again: a damaged one is [`StoreError::Damaged`], never a
/// receipt), or the submission logged and stored with its new receipt. A replayed
/// sequence number is logged and refused ([`StoreError::Refused`]).
pub(super) fn accept_in(
    tx: &Connection,
    submission: &VerifiedSubmission,
    received_at: i64,
    log: &LogSigner<'_>,
) -> Result<Stored, StoreError> {
    let id = submission.id();
    if let Some(receipt) = stored_receipt(tx, submission, log)? {
        return Ok(Stored {
            receipt,
            new: false,
        });
    }
    let s = submission.submission();
    let kommun = s.statistics.kommun;
    let last: Option<i64> = tx
        .prepare_cached("SELECT MAX(sequence) FROM submissions WHERE kommun = ?1")?
        .query_row([kommun.as_str()], |row| row.get(0))?;
    let sequence = i64::try_from(s.sequence).unwrap_or(i64::MAX);
    if let Some(last) = last.filter(|last| sequence <= *last) {
        let refusal = Refusal::Replay {
            found: s.sequence,
            last: u64::try_from(last).unwrap_or(0),
        };
        let refused = entry(
            EntryKind::Refused,
            received_at,
            Some(kommun),
            Some(id),
            refusal.to_string(),
        );
        append(tx, &refused, log)?;
        return Err(StoreError::Refused(refusal));
    }
    let logged = accepted_entry(submission, received_at);
    let (index, checkpoint) = append(tx, &logged, log)?;
    // The receipt proves the entry is in the tree of the checkpoint signed right
    // after it.
    let inclusion = translog::prove_inclusion(checkpoint.size, index, &SqlHashes(tx))?;
    // Never hand out a proof that does not hold: the new entry must be in the tree of
    // the checkpoint just signed.
    Checkpoint {
        origin: log.origin.to_owned(),
        size: checkpoint.size,
        root: checkpoint.root,
    }
    .verify_inclusion(index, &logged.to_bytes(), &inclusion)
    .map_err(|e| StoreError::Damaged(e.to_string()))?;
    let receipt = Receipt::new(
        submission,
        received_at,
        Logged {
            index,
            entry: logged.to_bytes(),
            checkpoint: checkpoint.note,
            inclusion,
        },
    );
    let signed = SignedReceipt::sign(&receipt, log.key)?;
    insert_submission(tx, submission, &receipt, &signed)?;
    Ok(Stored {
        receipt: signed,
        new: true,
    })
}

/// The receipt stored for a submission sent again, once the stored submission passes
/// every check of [`super::verified`] (its signer is the one that just signed the
/// same bytes, checked against the config by the server).
fn stored_receipt(
    db: &Connection,
    submission: &VerifiedSubmission,
    log: &LogSigner<'_>,
) -> Result<Option<SignedReceipt>, StoreError> {
    let kommun = submission.submission().statistics.kommun;
    let trust = Trust {
        hub_key: log.key.verifying_key(),
        origin: log.origin.to_owned(),
        registered: [(
            kommun,
            vec![RegisteredKey {
                key: submission.signed().signer,
                until: None,
            }],
        )]
        .into(),
    };
    match stored_in_tx(db, submission.id(), &trust)? {
        None => Ok(None),
        Some(Err(unverified)) => Err(StoreError::Damaged(unverified.to_string())),
        Some(Ok(_)) => {
            let (bytes, signature): (Vec<u8>, Vec<u8>) = db
                .prepare_cached("SELECT receipt, receipt_signature FROM submissions WHERE id = ?1")?
                .query_row([submission.id().as_bytes().as_slice()], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?;
            Ok(Some(SignedReceipt {
                bytes,
                signature: samla_common::codec::decode(&signature)?,
            }))
        }
    }
}

/// Stores an accepted submission: its signed bytes and receipt, its cells (for
/// analysts; reports read the signed bytes) and its linkage sets.
fn insert_submission(
    tx: &Connection,
    submission: &VerifiedSubmission,
    receipt: &Receipt,
    signed_receipt: &SignedReceipt,
) -> Result<(), StoreError> {
    let id = submission.id();
    let s = submission.submission();
    let signed = submission.signed();
    tx.prepare_cached(
        "INSERT INTO submissions (id, kommun, sequence, created_at, received_at, period, linkage_domain,
            key_id, schema_version, signer, signature, signed_bytes, receipt, receipt_signature, log_index)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
            id.as_bytes().as_slice(),
            s.statistics.kommun.as_str(),
            i64::try_from(s.sequence).unwrap_or(i64::MAX),
            s.created_at,
            receipt.received_at,
            s.statistics.period.to_string(),
            s.statistics.linkage_domain.as_str(),
            s.statistics.key_id.to_string(),
            s.statistics.schema_version,
            signed.signer.as_bytes().as_slice(),
            samla_common::codec::encode(&signed.signature)?,
            signed.bytes,
            signed_receipt.bytes,
            samla_common::codec::encode(&signed_receipt.signature)?,
            i64::try_from(receipt.log_index).unwrap_or(i64::MAX),
        ])?;
    let mut cell = tx.prepare_cached(
        "INSERT INTO cells (submission_id, table_name, key1, key2, key3, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for table in &s.statistics.tables {
        for c in &table.cells {
            cell.execute(params![
                id.as_bytes().as_slice(),
                table.name.code(),
                c.key.first(),
                c.key.get(1),
                c.key.get(2),
                i64::try_from(c.count).unwrap_or(i64::MAX),
            ])?;
        }
    }
    let mut set = tx.prepare_cached("INSERT INTO linkage_sets (submission_id, project, size, pseudonyms) VALUES (?1, ?2, ?3, ?4)")?;
    for linkage in &s.statistics.linkage_sets {
        let mut blob = Vec::with_capacity(linkage.pseudonyms.len() * 32);
        for p in &linkage.pseudonyms {
            blob.extend_from_slice(p.as_bytes());
        }
        set.execute(params![
            id.as_bytes().as_slice(),
            linkage.project.as_str(),
            linkage.pseudonyms.len() as i64,
            blob
        ])?;
    }
    Ok(())
}
