//! Submissions in the store: each accepted one stored with its exact signed bytes,
//! decoded cells and linkage sets and its receipt, in the batch's transaction; and
//! what reports read back (the latest submission of each kommun for a period).

use rusqlite::{params, Connection, OptionalExtension};
use samla_common::codes::KommunCode;
use samla_common::period::Period;
use samla_common::pseudonym::LinkageDomain;
use samla_common::receipt::{accepted_entry, Logged, Receipt};
use samla_common::statistics::Statistics;
use samla_common::translog::{self, EntryKind};
use samla_common::wire::{Refusal, SignedReceipt, Submission, SubmissionId, VerifiedSubmission};

use super::log::{append, entry, SqlHashes};
use super::{LogSigner, Store, StoreError};

impl Store {
    /// The exact signed bytes of a stored submission.
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

/// A stored submission's statistics, as the node signed them.
#[derive(Debug, Clone)]
pub struct StoredStatistics {
    /// The tables and linkage sets.
    pub statistics: Statistics,
    /// The node's sequence number.
    pub sequence: u64,
    /// When the hub received it (Unix seconds).
    pub received_at: i64,
}

/// When a kommun last submitted a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionTime {
    /// The kommun.
    pub kommun: KommunCode,
    /// The period, as stored (`from..to`).
    pub period: String,
    /// When the latest submission for it arrived (Unix seconds).
    pub received_at: i64,
}

impl Store {
    /// The latest submission of each kommun for a period in a linkage domain: a later
    /// submission (higher sequence) replaces an earlier one for the same period.
    pub fn latest_for(
        &self,
        period: &Period,
        domain: &LinkageDomain,
    ) -> Result<Vec<StoredStatistics>, StoreError> {
        let mut statement = self.db.prepare(
            "SELECT sequence, received_at, signed_bytes FROM submissions s
             WHERE period = ?1 AND linkage_domain = ?2
               AND sequence = (SELECT MAX(sequence) FROM submissions
                               WHERE kommun = s.kommun AND period = ?1 AND linkage_domain = ?2)
             ORDER BY kommun",
        )?;
        let rows = statement.query_map(params![period.to_string(), domain.as_str()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (sequence, received_at, bytes) = row?;
            let submission: Submission = samla_common::codec::decode(&bytes)?;
            out.push(StoredStatistics {
                statistics: submission.statistics,
                sequence: u64::try_from(sequence).unwrap_or(0),
                received_at,
            });
        }
        Ok(out)
    }

    /// For each kommun and period of a linkage domain, when the latest submission came.
    pub fn submission_times(
        &self,
        domain: &LinkageDomain,
    ) -> Result<Vec<SubmissionTime>, StoreError> {
        let mut statement = self.db.prepare(
            "SELECT kommun, period, MAX(received_at) FROM submissions
             WHERE linkage_domain = ?1 GROUP BY kommun, period ORDER BY period, kommun",
        )?;
        let rows = statement.query_map([domain.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kommun, period, received_at) = row?;
            // Only verified submissions are stored, so the code parses.
            if let Ok(kommun) = kommun.parse() {
                out.push(SubmissionTime {
                    kommun,
                    period,
                    received_at,
                });
            }
        }
        Ok(out)
    }
}

/// One submission of a batch, inside the batch's transaction: the receipt given
/// before for the same bytes, or the submission logged and stored with its new
/// receipt. A replayed sequence number is logged and refused
/// ([`StoreError::Refused`]).
pub(super) fn accept_in(
    tx: &Connection,
    submission: &VerifiedSubmission,
    received_at: i64,
    log: &LogSigner<'_>,
) -> Result<SignedReceipt, StoreError> {
    let id = submission.id();
    if let Some(receipt) = stored_receipt(tx, id)? {
        return Ok(receipt);
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
    Ok(signed)
}

fn stored_receipt(db: &Connection, id: SubmissionId) -> Result<Option<SignedReceipt>, StoreError> {
    let row: Option<(Vec<u8>, Vec<u8>)> = db
        .prepare_cached("SELECT receipt, receipt_signature FROM submissions WHERE id = ?1")?
        .query_row([id.as_bytes().as_slice()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    row.map(|(bytes, signature)| {
        Ok(SignedReceipt {
            bytes,
            signature: samla_common::codec::decode(&signature)?,
        })
    })
    .transpose()
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
