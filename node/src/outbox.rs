//! The node's durable outbox and transfer log, in one SQLite file.
//!
//! A submission enters the outbox in the same transaction as its log entry and its
//! sequence number, and stays until the hub's receipt for it has been verified and
//! recorded (or the hub refused it for good). Nothing is deleted: acknowledged and
//! refused submissions remain for `status` and for audit. Log entries name
//! submissions by id and never hold a personnummer or a pseudonym.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use samla_common::codec;
use samla_common::wire::{Receipt, Refusal, SignedReceipt, SignedSubmission, SubmissionId};

/// Why the outbox failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// SQLite failed.
    #[error("node database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored value could not be encoded or decoded.
    #[error("node database: {0}")]
    Codec(#[from] codec::CodecError),
}

/// Where a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting to be delivered.
    Pending,
    /// The hub's receipt was verified and recorded.
    Acknowledged,
    /// The hub refused it; it will not be sent again.
    Refused,
}

impl State {
    fn code(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Acknowledged => "acknowledged",
            State::Refused => "refused",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "acknowledged" => State::Acknowledged,
            "refused" => State::Refused,
            _ => State::Pending,
        }
    }
}

/// One submission in the outbox.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its id.
    pub id: SubmissionId,
    /// Its sequence number.
    pub sequence: u64,
    /// When it was built (Unix seconds).
    pub created_at: i64,
    /// The period it covers.
    pub period: String,
    /// Its linkage domain.
    pub linkage_domain: String,
    /// Where it stands.
    pub state: State,
    /// Delivery attempts that failed.
    pub attempts: u32,
    /// The last failure or refusal, if any.
    pub last_error: Option<String>,
    /// The hub's log index, once acknowledged.
    pub log_index: Option<u64>,
    /// When the hub stored it, once acknowledged.
    pub received_at: Option<i64>,
}

/// A pending submission, ready to send.
pub struct Pending {
    /// The listing.
    pub entry: Entry,
    /// The exact signed submission.
    pub signed: SignedSubmission,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS outbox (
    id              BLOB PRIMARY KEY,
    sequence        INTEGER NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    period          TEXT NOT NULL,
    linkage_domain  TEXT NOT NULL,
    signed          BLOB NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    receipt         BLOB,
    log_index       INTEGER,
    received_at     INTEGER
);
CREATE TABLE IF NOT EXISTS transfer_log (
    entry          INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    submission_id  BLOB,
    detail         TEXT NOT NULL
);
";

/// The node's database.
pub struct Outbox {
    db: Connection,
}

impl Outbox {
    /// Opens (creating if needed) the node database.
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let db = Connection::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.execute_batch(SCHEMA)?;
        Ok(Outbox { db })
    }

    /// Builds, signs and stores a new submission in one transaction with its log
    /// entry: `build` gets the next sequence number and returns the signed submission.
    pub fn enqueue(
        &mut self,
        now: i64,
        period: &str,
        linkage_domain: &str,
        build: impl FnOnce(u64) -> Result<SignedSubmission, codec::CodecError>,
    ) -> Result<SubmissionId, OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<i64> =
            tx.query_row("SELECT MAX(sequence) FROM outbox", [], |r| r.get(0))?;
        let sequence = last.map_or(1, |l| u64::try_from(l).unwrap_or(0) + 1);
        let signed = build(sequence)?;
        let id = signed.id();
        tx.execute(
            "INSERT INTO outbox (id, sequence, created_at, period, linkage_domain, signed, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')",
            params![
                id.as_bytes().as_slice(),
                sequence as i64,
                now,
                period,
                linkage_domain,
                codec::encode(&signed)?
            ],
        )?;
        let detail = format!(
            "sequence {sequence}, period {period}, linkage domain {linkage_domain}, {} bytes",
            signed.bytes.len()
        );
        log(&tx, now, "built", Some(id), &detail)?;
        tx.commit()?;
        Ok(id)
    }

    /// Pending submissions in sequence order.
    pub fn pending(&self) -> Result<Vec<Pending>, OutboxError> {
        let mut statement = self.db.prepare(&format!(
            "{SELECT} WHERE state = 'pending' ORDER BY sequence"
        ))?;
        let rows = statement.query_map([], |row| Ok((entry(row)?, row.get::<_, Vec<u8>>(11)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (entry, signed) = row?;
            out.push(Pending {
                entry,
                signed: codec::decode(&signed)?,
            });
        }
        Ok(out)
    }

    /// Every submission, newest first.
    pub fn entries(&self) -> Result<Vec<Entry>, OutboxError> {
        let mut statement = self
            .db
            .prepare(&format!("{SELECT} ORDER BY sequence DESC"))?;
        let rows = statement.query_map([], entry)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Records a failed delivery attempt.
    pub fn record_failure(
        &mut self,
        id: SubmissionId,
        now: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            params![id.as_bytes().as_slice(), error],
        )?;
        log(&tx, now, "send failed", Some(id), error)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a verified receipt: the submission is acknowledged.
    pub fn record_receipt(
        &mut self,
        receipt: &Receipt,
        signed: &SignedReceipt,
        now: i64,
    ) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = receipt.submission_id;
        tx.execute(
            "UPDATE outbox SET state = 'acknowledged', receipt = ?2, log_index = ?3, received_at = ?4, last_error = NULL
             WHERE id = ?1",
            params![
                id.as_bytes().as_slice(),
                codec::encode(signed)?,
                i64::try_from(receipt.log_index).unwrap_or(i64::MAX),
                receipt.received_at
            ],
        )?;
        let detail = format!(
            "hub log index {}, stored at {}",
            receipt.log_index, receipt.received_at
        );
        log(&tx, now, "receipt", Some(id), &detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a final refusal by the hub.
    pub fn record_refusal(
        &mut self,
        id: SubmissionId,
        refusal: &Refusal,
        now: i64,
    ) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE outbox SET state = 'refused', last_error = ?2 WHERE id = ?1",
            params![id.as_bytes().as_slice(), refusal.to_string()],
        )?;
        log(&tx, now, "refused", Some(id), &refusal.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// The signed receipt recorded for a submission, if any.
    pub fn receipt(&self, id: SubmissionId) -> Result<Option<SignedReceipt>, OutboxError> {
        let bytes: Option<Option<Vec<u8>>> = self
            .db
            .query_row(
                "SELECT receipt FROM outbox WHERE id = ?1",
                [id.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(bytes.flatten().map(|b| codec::decode(&b)).transpose()?)
    }
}

const SELECT: &str =
    "SELECT id, sequence, created_at, period, linkage_domain, state, attempts, last_error,
    log_index, received_at, receipt, signed FROM outbox";

fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let id: Vec<u8> = row.get(0)?;
    let id = <[u8; 32]>::try_from(id.as_slice()).map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "id".into(), rusqlite::types::Type::Blob)
    })?;
    Ok(Entry {
        id: SubmissionId::from_bytes(id),
        sequence: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
        created_at: row.get(2)?,
        period: row.get(3)?,
        linkage_domain: row.get(4)?,
        state: State::parse(&row.get::<_, String>(5)?),
        attempts: u32::try_from(row.get::<_, i64>(6)?).unwrap_or(u32::MAX),
        last_error: row.get(7)?,
        log_index: row
            .get::<_, Option<i64>>(8)?
            .and_then(|i| u64::try_from(i).ok()),
        received_at: row.get(9)?,
    })
}

fn log(
    tx: &rusqlite::Transaction<'_>,
    at: i64,
    kind: &str,
    id: Option<SubmissionId>,
    detail: &str,
) -> Result<(), OutboxError> {
    tx.execute(
        "INSERT INTO transfer_log (at, kind, submission_id, detail) VALUES (?1, ?2, ?3, ?4)",
        params![at, kind, id.map(|i| i.as_bytes().to_vec()), detail],
    )?;
    Ok(())
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
