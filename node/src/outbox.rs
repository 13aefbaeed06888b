//! The node's durable outbox and transfer log, in one SQLite file.
//!
//! A submission enters the outbox in the same transaction as its log entry and its
//! sequence number, and stays until the hub's receipt for it has been verified and
//! recorded (or the hub refused it for good). Nothing is deleted: acknowledged and
//! refused submissions remain for `status` and for audit. Log entries name
//! submissions by id and never hold a personnummer or a pseudonym.
//!
//! The transfer log is hash-chained: each entry's hash is
//! `BLAKE3(previous hash ‖ entry bytes)` (the first entry's previous hash is 32 zero
//! bytes), with the entry bytes as `samla_common::audit::node_entry_bytes` writes them, so a changed, removed
//! or reordered entry breaks every hash after it. The hub checkpoints the node has
//! seen are kept too, so it can tell when the hub's own log has been rewritten.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use samla_common::codec;
use samla_common::wire::{Refusal, SignedReceipt, SignedSubmission, SubmissionId, VerifiedReceipt};

mod delivery;
pub use delivery::Stored;

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
    log(tx, now, "built", Some(id), &detail)?;
    Ok(id)
}

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
        let id = insert_pending(&tx, now, period, linkage_domain, build)?;
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

    /// The node's transfer log, submissions and hub checkpoints as an audit bundle.
    pub fn bundle(
        &self,
        kommun: samla_common::codes::KommunCode,
        hub: &crate::config::HubLink,
    ) -> Result<samla_common::audit::NodeBundle, OutboxError> {
        Ok(samla_common::audit::NodeBundle {
            version: samla_common::audit::BUNDLE_VERSION,
            kommun,
            origin: hub.log_origin.clone(),
            hub_key: hub.receipt_key,
            log: self.log_entries()?,
            submissions: self.submissions()?,
            checkpoints: self.checkpoint_notes()?,
        })
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

    /// Records a verified receipt: the submission is acknowledged. Only a receipt that
    /// passed every check can be recorded.
    pub fn record_receipt(
        &mut self,
        verified: &VerifiedReceipt,
        now: i64,
    ) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let receipt = verified.receipt();
        let id = receipt.submission_id;
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
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT entry, hash FROM transfer_log ORDER BY entry DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (number, previous) = match last {
        Some((n, hash)) => (n + 1, hash),
        None => (1, vec![0u8; 32]),
    };
    let bytes = chain_bytes(number, at, kind, id, detail);
    let hash = chain_hash(&previous, &bytes);
    tx.execute(
        "INSERT INTO transfer_log (entry, at, kind, submission_id, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![number, at, kind, id.map(|i| i.as_bytes().to_vec()), detail, hash.to_vec()],
    )?;
    Ok(())
}

use samla_common::audit::{node_entry_bytes as chain_bytes, node_entry_hash as chain_hash};

/// Where the node's transfer log chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An entry's hash does not follow from the one before.
    #[error("transfer log entry {entry}: its hash does not follow from the entries before it (changed, removed or reordered)")]
    Broken {
        /// The first entry at fault.
        entry: i64,
    },
    /// The log could not be read.
    #[error("transfer log could not be read: {0}")]
    Read(String),
}

impl Outbox {
    /// Checks the whole transfer log chain; returns the number of entries.
    pub fn verify_chain(&self) -> Result<u64, ChainError> {
        let read = |e: rusqlite::Error| ChainError::Read(e.to_string());
        let mut statement = self
            .db
            .prepare("SELECT entry, at, kind, submission_id, detail, hash FROM transfer_log ORDER BY entry")
            .map_err(read)?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                ))
            })
            .map_err(read)?;
        let mut previous = vec![0u8; 32];
        let mut expected = 1;
        for row in rows {
            let (number, at, kind, id, detail, hash) = row.map_err(read)?;
            let id = match id {
                Some(bytes) => Some(SubmissionId::from_bytes(
                    <[u8; 32]>::try_from(bytes.as_slice())
                        .map_err(|_| ChainError::Broken { entry: number })?,
                )),
                None => None,
            };
            let bytes = chain_bytes(number, at, &kind, id, &detail);
            if number != expected || chain_hash(&previous, &bytes).as_slice() != hash.as_slice() {
                return Err(ChainError::Broken { entry: number });
            }
            previous = hash;
            expected += 1;
        }
        Ok(u64::try_from(expected - 1).unwrap_or(0))
    }

    /// The last hub checkpoint this node has seen (signed note), with its size.
    pub fn last_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, OutboxError> {
        Ok(self
            .db
            .query_row(
                "SELECT size, note FROM hub_checkpoints ORDER BY rowid DESC LIMIT 1",
                [],
                |r| Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get(1)?)),
            )
            .optional()?)
    }

    /// Records a checkpoint that was verified to extend the last one.
    pub fn record_checkpoint(
        &mut self,
        size: u64,
        note: &[u8],
        now: i64,
    ) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO hub_checkpoints (size, note, seen_at) VALUES (?1, ?2, ?3)",
            params![i64::try_from(size).unwrap_or(i64::MAX), note, now],
        )?;
        log(
            &tx,
            now,
            "hub checkpoint",
            None,
            &format!("hub log size {size}, consistent with the last one seen"),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records, loudly, that the hub's log does not extend what this node saw.
    pub fn record_history_changed(&mut self, detail: &str, now: i64) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        log(&tx, now, "hub history changed", None, detail)?;
        tx.commit()?;
        Ok(())
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Outbox {
    /// The transfer log, for export.
    pub fn log_entries(&self) -> Result<Vec<samla_common::audit::NodeLogEntry>, OutboxError> {
        let mut statement = self.db.prepare(
            "SELECT entry, at, kind, submission_id, detail, hash FROM transfer_log ORDER BY entry",
        )?;
        let rows = statement.query_map([], |r| {
            let id: Option<Vec<u8>> = r.get(3)?;
            Ok(samla_common::audit::NodeLogEntry {
                entry: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                submission: id
                    .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                    .map(SubmissionId::from_bytes),
                detail: r.get(4)?,
                hash: hex::encode(r.get::<_, Vec<u8>>(5)?),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every submission with its receipt, for export.
    pub fn submissions(&self) -> Result<Vec<samla_common::audit::NodeSubmission>, OutboxError> {
        let mut out = Vec::new();
        for e in self.entries()?.into_iter().rev() {
            out.push(samla_common::audit::NodeSubmission {
                id: e.id,
                sequence: e.sequence,
                state: e.state.to_string(),
                receipt: self.receipt(e.id)?,
            });
        }
        Ok(out)
    }

    /// The hub checkpoints seen, oldest first, as note text.
    pub fn checkpoint_notes(&self) -> Result<Vec<String>, OutboxError> {
        let mut statement = self
            .db
            .prepare("SELECT note FROM hub_checkpoints ORDER BY rowid")?;
        let rows = statement.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(String::from_utf8_lossy(&row?).into_owned());
        }
        Ok(out)
    }

    /// The signed submission with this id.
    pub fn signed(&self, id: SubmissionId) -> Result<Option<SignedSubmission>, OutboxError> {
        let bytes: Option<Vec<u8>> = self
            .db
            .query_row(
                "SELECT signed FROM outbox WHERE id = ?1",
                [id.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(bytes.map(|b| codec::decode(&b)).transpose()?)
    }
}

impl Outbox {
    /// Adds an event to the transfer log in its own transaction.
    pub fn record(
        &mut self,
        kind: &str,
        id: Option<SubmissionId>,
        detail: &str,
        now: i64,
    ) -> Result<(), OutboxError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        log(&tx, now, kind, id, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Logs a `key change` when the node signs with a key other than the one it last
    /// logged (and on first use). Returns whether it logged.
    pub fn record_signing_key(
        &mut self,
        key: &samla_common::signing::VerifyingKey,
        now: i64,
    ) -> Result<bool, OutboxError> {
        let detail = format!("signing key {key}");
        let last: Option<String> = self
            .db
            .query_row(
                "SELECT detail FROM transfer_log WHERE kind = 'key change' ORDER BY entry DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if last.as_deref() == Some(detail.as_str()) {
            return Ok(false);
        }
        self.record("key change", None, &detail, now)?;
        Ok(true)
    }
}
