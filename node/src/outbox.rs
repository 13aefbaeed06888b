//! The node's durable outbox, in the node database (SQLite).
//!
//! A submission enters the outbox signed with its sequence number, in the same
//! transaction as its entry in the node's transfer log ([`crate::node_log`]), and stays
//! until the hub's receipt for it has been verified and recorded (or the hub refused it
//! for good). Nothing is deleted: acknowledged and refused submissions remain for
//! `status` and for audit. The exports the daemon has read are known here too (by the
//! BLAKE3 hash of their bytes), queued in the same transaction as their submissions.
//!
//! The one way a built submission is signed and queued is [`PendingBuild::signed`]
//! with [`Outbox::enqueue_build`] or [`Outbox::enqueue_export`]: `submit`, the daemon
//! and the hub's demo all go through it.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use samla_cli_common::database::{self, SqliteError};
use samla_common::codec;
use samla_common::signing::SigningKey;
use samla_common::statistics::Statistics;
use samla_common::wire::{
    Refusal, SignedReceipt, SignedSubmission, Submission, SubmissionId, VerifiedReceipt,
};

mod delivery;
pub use delivery::Stored;

use crate::node_log::{append, head_if_due, LogKind};

/// Why the node database failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// SQLite failed.
    #[error("node database")]
    Sql(#[source] SqliteError),
    /// A stored value could not be encoded or decoded.
    #[error("node database value")]
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

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
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
    detail         TEXT NOT NULL,
    hash           BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    hash           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    at             INTEGER NOT NULL,
    outcome        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hub_checkpoints (
    size           INTEGER NOT NULL,
    note           BLOB NOT NULL,
    seen_at        INTEGER NOT NULL
);
";

/// An export the daemon read, known by the BLAKE3 hash of its bytes.
#[derive(Debug, Clone)]
pub struct Source {
    /// Hex BLAKE3 of the file's bytes.
    pub hash: String,
    /// The file's name when it was read.
    pub name: String,
}

/// One submission to queue, signed once its sequence number is known.
pub struct PendingBuild<'a> {
    /// The period, as text.
    pub period: String,
    /// The linkage domain.
    pub linkage_domain: String,
    /// Signs the submission with the given sequence number.
    pub build: Box<dyn FnOnce(u64) -> Result<SignedSubmission, codec::CodecError> + 'a>,
}

impl<'a> PendingBuild<'a> {
    /// The submission of `statistics`, built at `created_at`: signed with `key` once the
    /// outbox has given it its sequence number.
    pub fn signed(
        statistics: Statistics,
        key: &'a SigningKey,
        created_at: i64,
    ) -> PendingBuild<'a> {
        PendingBuild {
            period: statistics.period.to_string(),
            linkage_domain: statistics.linkage_domain.to_string(),
            build: Box::new(move |sequence| {
                SignedSubmission::sign(
                    &Submission {
                        sequence,
                        created_at,
                        statistics,
                    },
                    key,
                )
            }),
        }
    }
}

/// Adds a pending submission with the next sequence number, inside `tx`.
fn insert_pending(
    tx: &rusqlite::Transaction<'_>,
    now: i64,
    period: &str,
    linkage_domain: &str,
    build: impl FnOnce(u64) -> Result<SignedSubmission, codec::CodecError>,
) -> Result<SubmissionId, OutboxError> {
    let last: Option<i64> = tx.query_row("SELECT MAX(sequence) FROM outbox", [], |r| r.get(0))?;
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
    append(tx, now, LogKind::Built, Some(id), &detail)?;
    Ok(id)
}

impl From<rusqlite::Error> for OutboxError {
    fn from(e: rusqlite::Error) -> Self {
        OutboxError::Sql(SqliteError(e))
    }
}

/// The node's database: the outbox, and (see [`crate::node_log`]) the transfer log.
pub struct Outbox {
    pub(crate) db: Connection,
    /// The key the log's heads are signed with, once given.
    pub(crate) signer: Option<SigningKey>,
}

impl Outbox {
    /// Opens (creating if needed) the node database.
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let db = database::open(path, SCHEMA).map_err(OutboxError::Sql)?;
        Ok(Outbox { db, signer: None })
    }

    /// Signs and queues one submission in one transaction with its log entry.
    pub fn enqueue_build(
        &mut self,
        now: i64,
        build: PendingBuild<'_>,
    ) -> Result<SubmissionId, OutboxError> {
        self.enqueue(now, &build.period, &build.linkage_domain, build.build)
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
        let id = insert_pending(&tx, now, period, linkage_domain, build)?;
        head_if_due(&tx, self.signer.as_ref(), now)?;
        tx.commit()?;
        Ok(id)
    }

    /// Queues the submissions built from one export and records the export (by the
    /// BLAKE3 hash of its bytes) in the same transaction, so that after a crash the
    /// export is either fully queued and known, or not at all.
    pub fn enqueue_export(
        &mut self,
        now: i64,
        source: &Source,
        builds: Vec<PendingBuild<'_>>,
    ) -> Result<Vec<SubmissionId>, OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ids = Vec::new();
        for b in builds {
            ids.push(insert_pending(
                &tx,
                now,
                &b.period,
                &b.linkage_domain,
                b.build,
            )?);
        }
        tx.execute(
            "INSERT INTO sources (hash, name, at, outcome) VALUES (?1, ?2, ?3, ?4)",
            params![
                source.hash,
                source.name,
                now,
                format!("{} submission(s) queued", ids.len())
            ],
        )?;
        head_if_due(&tx, self.signer.as_ref(), now)?;
        tx.commit()?;
        Ok(ids)
    }

    /// Records an export that could not be used, so it is not read again.
    pub fn record_unusable_export(
        &mut self,
        now: i64,
        source: &Source,
        reason: &str,
    ) -> Result<(), OutboxError> {
        self.db.execute(
            "INSERT OR REPLACE INTO sources (hash, name, at, outcome) VALUES (?1, ?2, ?3, ?4)",
            params![source.hash, source.name, now, format!("not used: {reason}")],
        )?;
        Ok(())
    }

    /// What became of an export seen before (by hash), if it was.
    pub fn export_outcome(&self, hash: &str) -> Result<Option<String>, OutboxError> {
        Ok(self
            .db
            .query_row("SELECT outcome FROM sources WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Pending submissions in sequence order.
    pub fn pending(&self) -> Result<Vec<Pending>, OutboxError> {
        self.rows_with_signed(PENDING, |entry, signed| {
            Ok(Pending {
                entry,
                signed: codec::decode(&signed)?,
            })
        })
    }

    /// Each row `filter` (an SQL `WHERE` clause, or nothing) keeps, with its stored
    /// signed bytes, in sequence order, made into a `T` by `each`; the first error
    /// stops the reading.
    fn rows_with_signed<T>(
        &self,
        filter: &str,
        mut each: impl FnMut(Entry, Vec<u8>) -> Result<T, OutboxError>,
    ) -> Result<Vec<T>, OutboxError> {
        let mut statement = self
            .db
            .prepare(&format!("{SELECT} {filter} ORDER BY sequence"))?;
        let rows = statement.query_map([], |row| Ok((entry(row)?, row.get::<_, Vec<u8>>(11)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (entry, signed) = row?;
            out.push(each(entry, signed)?);
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

    /// Records a verified receipt: the submission is acknowledged. Only a receipt that
    /// passed every check can be recorded.
    pub fn record_receipt(
        &mut self,
        verified: &VerifiedReceipt,
        now: i64,
    ) -> Result<(), OutboxError> {
        let receipt = verified.receipt();
        let id = receipt.submission_id;
        let detail = format!(
            "hub log index {}, stored at {}",
            receipt.log_index, receipt.received_at
        );
        self.change_logged(now, (LogKind::Receipt, Some(id), &detail), |tx| {
            tx.execute(
                "UPDATE outbox SET state = 'acknowledged', receipt = ?2, log_index = ?3, received_at = ?4, last_error = NULL
                 WHERE id = ?1",
                params![
                    id.as_bytes().as_slice(),
                    codec::encode(verified.signed())?,
                    i64::try_from(receipt.log_index).unwrap_or(i64::MAX),
                    receipt.received_at
                ],
            )?;
            Ok(())
        })
    }

    /// Records a final refusal by the hub.
    pub fn record_refusal(
        &mut self,
        id: SubmissionId,
        refusal: &Refusal,
        now: i64,
    ) -> Result<(), OutboxError> {
        let reason = refusal.to_string();
        self.change_logged(now, (LogKind::Refused, Some(id), &reason), |tx| {
            tx.execute(
                "UPDATE outbox SET state = 'refused', last_error = ?2 WHERE id = ?1",
                params![id.as_bytes().as_slice(), reason],
            )?;
            Ok(())
        })
    }

    /// The signed receipt recorded for a submission, if any.
    pub fn receipt(&self, id: SubmissionId) -> Result<Option<SignedReceipt>, OutboxError> {
        self.stored(id, "receipt")
    }

    /// The signed submission with this id.
    pub fn signed(&self, id: SubmissionId) -> Result<Option<SignedSubmission>, OutboxError> {
        self.stored(id, "signed")
    }

    /// A submission's encoded value in `column` (`signed` or `receipt`), decoded.
    fn stored<T: serde::de::DeserializeOwned>(
        &self,
        id: SubmissionId,
        column: &str,
    ) -> Result<Option<T>, OutboxError> {
        let bytes: Option<Option<Vec<u8>>> = self
            .db
            .query_row(
                &format!("SELECT {column} FROM outbox WHERE id = ?1"),
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

/// The rows of submissions still to be delivered.
const PENDING: &str = "WHERE state = 'pending'";

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
