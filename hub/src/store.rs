//! The hub's store: every accepted submission's exact signed bytes, its decoded tables
//! and linkage sets, its receipt, and an event for every transfer (accepted or
//! refused), in one SQLite file an analyst or privacy officer can open with standard
//! tools. Each submission is stored in one transaction: all of it or nothing.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use samla_common::codes::KommunCode;
use samla_common::wire::{Receipt, Refusal, SignedReceipt, SubmissionId, VerifiedSubmission};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// Encoding a stored value failed.
    #[error("encoding: {0}")]
    Codec(#[from] samla_common::codec::CodecError),
    /// The submission was refused (for example a replayed sequence).
    #[error("{0}")]
    Refused(Refusal),
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS transfer_events (
    log_index     INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    kommun        TEXT,
    submission_id BLOB,
    detail        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id              BLOB PRIMARY KEY,
    kommun          TEXT NOT NULL,
    sequence        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    period          TEXT NOT NULL,
    linkage_domain  TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    signer          BLOB NOT NULL,
    signature       BLOB NOT NULL,
    signed_bytes    BLOB NOT NULL,
    receipt         BLOB NOT NULL,
    receipt_signature BLOB NOT NULL,
    log_index       INTEGER NOT NULL UNIQUE REFERENCES transfer_events(log_index),
    UNIQUE (kommun, sequence)
);
CREATE TABLE IF NOT EXISTS cells (
    submission_id BLOB NOT NULL REFERENCES submissions(id),
    table_name    TEXT NOT NULL,
    key1          TEXT NOT NULL,
    key2          TEXT NOT NULL,
    key3          TEXT,
    count         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cells_by_submission ON cells(submission_id, table_name);
CREATE TABLE IF NOT EXISTS linkage_sets (
    submission_id BLOB NOT NULL REFERENCES submissions(id),
    project       TEXT NOT NULL,
    size          INTEGER NOT NULL,
    pseudonyms    BLOB NOT NULL
);
";

/// The hub's database.
pub struct Store {
    db: Connection,
}

impl Store {
    /// Opens (and creates if needed) the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = Connection::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.execute_batch(SCHEMA)?;
        Ok(Store { db })
    }

    /// The receipt already given for a submission, if it was stored before.
    pub fn receipt(&self, id: SubmissionId) -> Result<Option<SignedReceipt>, StoreError> {
        self.db
            .query_row(
                "SELECT receipt, receipt_signature FROM submissions WHERE id = ?1",
                [id.as_bytes().as_slice()],
                |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?)),
            )
            .optional()?
            .map(|(bytes, signature)| decode_receipt(bytes, &signature))
            .transpose()
    }

    /// Stores a verified submission and its receipt in one transaction, or returns
    /// the receipt given before for the same bytes. A sequence number not above the
    /// kommun's last accepted one is refused (and the refusal logged).
    pub fn accept(
        &mut self,
        submission: &VerifiedSubmission,
        received_at: i64,
        sign: impl FnOnce(&Receipt) -> Result<SignedReceipt, StoreError>,
    ) -> Result<SignedReceipt, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = submission.id();
        let existing: Option<(Vec<u8>, Vec<u8>)> = tx
            .query_row(
                "SELECT receipt, receipt_signature FROM submissions WHERE id = ?1",
                [id.as_bytes().as_slice()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((bytes, signature)) = existing {
            return decode_receipt(bytes, &signature);
        }
        let s = submission.submission();
        let kommun = s.statistics.kommun;
        let last: Option<i64> = tx.query_row(
            "SELECT MAX(sequence) FROM submissions WHERE kommun = ?1",
            [kommun.as_str()],
            |row| row.get(0),
        )?;
        let sequence = i64::try_from(s.sequence).unwrap_or(i64::MAX);
        if let Some(last) = last.filter(|last| sequence <= *last) {
            let refusal = Refusal::Replay {
                found: s.sequence,
                last: u64::try_from(last).unwrap_or(0),
            };
            log_event(
                &tx,
                received_at,
                "refused",
                Some(kommun),
                Some(id),
                &refusal.to_string(),
            )?;
            tx.commit()?;
            return Err(StoreError::Refused(refusal));
        }
        let detail = format!(
            "sequence {}, period {}, {} bytes",
            s.sequence,
            s.statistics.period,
            submission.signed().bytes.len()
        );
        let log_index = log_event(
            &tx,
            received_at,
            "accepted",
            Some(kommun),
            Some(id),
            &detail,
        )?;
        let receipt = Receipt {
            submission_id: id,
            kommun,
            sequence: s.sequence,
            received_at,
            log_index,
        };
        let signed_receipt = sign(&receipt)?;
        let signed = submission.signed();
        tx.execute(
            "INSERT INTO submissions (id, kommun, sequence, created_at, received_at, period, linkage_domain,
                key_id, schema_version, signer, signature, signed_bytes, receipt, receipt_signature, log_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                id.as_bytes().as_slice(),
                kommun.as_str(),
                sequence,
                s.created_at,
                received_at,
                s.statistics.period.to_string(),
                s.statistics.linkage_domain.as_str(),
                s.statistics.key_id.to_string(),
                s.statistics.schema_version,
                signed.signer.as_bytes().as_slice(),
                samla_common::codec::encode(&signed.signature)?,
                signed.bytes,
                signed_receipt.bytes,
                samla_common::codec::encode(&signed_receipt.signature)?,
                i64::try_from(log_index).unwrap_or(i64::MAX),
            ],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO cells (submission_id, table_name, key1, key2, key3, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for table in &s.statistics.tables {
                for cell in &table.cells {
                    insert.execute(params![
                        id.as_bytes().as_slice(),
                        table.name.code(),
                        cell.key.first(),
                        cell.key.get(1),
                        cell.key.get(2),
                        i64::try_from(cell.count).unwrap_or(i64::MAX),
                    ])?;
                }
            }
            let mut insert = tx.prepare(
                "INSERT INTO linkage_sets (submission_id, project, size, pseudonyms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for set in &s.statistics.linkage_sets {
                let mut blob = Vec::with_capacity(set.pseudonyms.len() * 32);
                for p in &set.pseudonyms {
                    blob.extend_from_slice(p.as_bytes());
                }
                insert.execute(params![
                    id.as_bytes().as_slice(),
                    set.project.as_str(),
                    set.pseudonyms.len() as i64,
                    blob
                ])?;
            }
        }
        tx.commit()?;
        Ok(signed_receipt)
    }

    /// Logs a refusal that happened before a submission could be stored.
    pub fn log_refusal(
        &mut self,
        at: i64,
        kommun: Option<KommunCode>,
        id: Option<SubmissionId>,
        refusal: &Refusal,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        log_event(&tx, at, "refused", kommun, id, &refusal.to_string())?;
        tx.commit()?;
        Ok(())
    }
}

fn decode_receipt(bytes: Vec<u8>, signature: &[u8]) -> Result<SignedReceipt, StoreError> {
    Ok(SignedReceipt {
        bytes,
        signature: samla_common::codec::decode(signature)?,
    })
}

/// Appends a transfer event; returns its log index (0-based).
fn log_event(
    tx: &rusqlite::Transaction<'_>,
    at: i64,
    kind: &str,
    kommun: Option<KommunCode>,
    id: Option<SubmissionId>,
    detail: &str,
) -> Result<u64, StoreError> {
    let next: i64 = tx.query_row("SELECT COUNT(*) FROM transfer_events", [], |row| row.get(0))?;
    tx.execute(
        "INSERT INTO transfer_events (log_index, at, kind, kommun, submission_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![next, at, kind, kommun.map(|k| k.to_string()), id.map(|i| i.as_bytes().to_vec()), detail],
    )?;
    Ok(u64::try_from(next).unwrap_or(0))
}
