//! The hub's store: every accepted submission's exact signed bytes, its decoded tables
//! and linkage sets, its receipt, and the transfer log: an entry for every transfer
//! (accepted or refused) and the hashes of the log's RFC 6962 Merkle tree, in one
//! SQLite file an analyst or privacy officer can open with standard tools. A
//! submission, its log entry and the tree's new hashes are stored in one transaction:
//! all of it or nothing.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use samla_common::codes::KommunCode;
use samla_common::period::Period;
use samla_common::pseudonym::LinkageDomain;
use samla_common::signing::SigningKey;
use samla_common::statistics::Statistics;
use samla_common::translog::{
    self, Checkpoint, EntryKind, HashReader, LogEntry, LogError, LogHash,
};
use samla_common::wire::{
    Receipt, Refusal, SignedReceipt, Submission, SubmissionId, VerifiedSubmission,
};
use tlog_tiles::tlog as tree;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// Encoding a stored value failed.
    #[error("encoding: {0}")]
    Codec(#[from] samla_common::codec::CodecError),
    /// The transfer log failed.
    #[error("transfer log: {0}")]
    Log(#[from] LogError),
    /// The transaction a write was in could not begin or commit.
    #[error("the transaction failed: {0}")]
    Transaction(String),
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
    detail        TEXT NOT NULL,
    entry         BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log_hashes (
    stored_index  INTEGER PRIMARY KEY,
    hash          BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS registered_nodes (
    kommun        TEXT PRIMARY KEY,
    keys          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size          INTEGER PRIMARY KEY,
    note          BLOB NOT NULL
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
-- No index on cells: the hub reads tables from the signed bytes, and an index keyed by
-- a random submission id made every insert touch pages all over it. Analysts who
-- query cells often can add their own.
DROP INDEX IF EXISTS cells_by_submission;
CREATE TABLE IF NOT EXISTS linkage_sets (
    submission_id BLOB NOT NULL REFERENCES submissions(id),
    project       TEXT NOT NULL,
    size          INTEGER NOT NULL,
    pseudonyms    BLOB NOT NULL
);
";

/// The hub's key and its log's name, for signing checkpoints and receipts.
pub struct LogSigner<'a> {
    /// The hub's Ed25519 key.
    pub key: &'a SigningKey,
    /// The log's origin (the checkpoint's first line and the note's key name).
    pub origin: &'a str,
}

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

    /// Stores a verified submission, its log entry and its receipt in one
    /// transaction, or returns the receipt given before for the same bytes. A
    /// sequence number not above the kommun's last accepted one is refused (and the
    /// refusal logged).
    pub fn accept(
        &mut self,
        submission: &VerifiedSubmission,
        received_at: i64,
        log: &LogSigner<'_>,
    ) -> Result<SignedReceipt, StoreError> {
        let write = Write::Accept {
            submission,
            received_at,
        };
        match self.write_one(write, log)? {
            Some(receipt) => Ok(receipt),
            None => Err(nothing_stored()),
        }
    }

    /// Logs a refusal that happened before a submission could be stored.
    pub fn log_refusal(
        &mut self,
        at: i64,
        kommun: Option<KommunCode>,
        id: Option<SubmissionId>,
        refusal: &Refusal,
        log: &LogSigner<'_>,
    ) -> Result<(), StoreError> {
        let write = Write::Refusal {
            at,
            kommun,
            id,
            refusal,
        };
        self.write_one(write, log).map(|_| ())
    }

    /// Does several writes in one transaction: one disk flush for all of them
    /// (group commit). Each write's outcome is its own, in order: a receipt for an
    /// accepted submission, `None` for a logged refusal, or the write's refusal or
    /// failure. If one write fails, the transaction is rolled back and the others
    /// are done again without it, so a failure touches nothing but the write it
    /// belongs to. If the transaction itself cannot begin or commit (the database
    /// locked by another program, a full disk), every write fails with
    /// [`StoreError::Transaction`].
    pub fn write_batch(
        &mut self,
        batch: &[Write<'_>],
        log: &LogSigner<'_>,
    ) -> Vec<Result<Option<SignedReceipt>, StoreError>> {
        match self.write_together(batch, log) {
            Ok(outcomes) => outcomes,
            Err(BatchFailure {
                write: Some(failed),
                error,
            }) => {
                let others: Vec<Write<'_>> = batch
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != failed)
                    .map(|(_, w)| *w)
                    .collect();
                let mut outcomes = if others.is_empty() {
                    Vec::new()
                } else {
                    self.write_batch(&others, log)
                };
                outcomes.insert(failed.min(outcomes.len()), Err(error));
                outcomes
            }
            Err(BatchFailure { write: None, error }) => {
                let why = error.to_string();
                batch
                    .iter()
                    .map(|_| Err(StoreError::Transaction(why.clone())))
                    .collect()
            }
        }
    }

    fn write_one(
        &mut self,
        write: Write<'_>,
        log: &LogSigner<'_>,
    ) -> Result<Option<SignedReceipt>, StoreError> {
        self.write_batch(&[write], log)
            .pop()
            .unwrap_or_else(|| Err(nothing_stored()))
    }

    /// All of `batch` in one transaction, or none of it and which write failed.
    fn write_together(
        &mut self,
        batch: &[Write<'_>],
        log: &LogSigner<'_>,
    ) -> Result<Vec<Result<Option<SignedReceipt>, StoreError>>, BatchFailure> {
        let whole = |error: rusqlite::Error| BatchFailure {
            write: None,
            error: error.into(),
        };
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(whole)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for (i, write) in batch.iter().enumerate() {
            let failed = |error: StoreError| BatchFailure {
                write: Some(i),
                error,
            };
            outcomes.push(match write {
                Write::Accept {
                    submission,
                    received_at,
                } => match accept_in(&tx, submission, *received_at, log) {
                    Ok(receipt) => Ok(Some(receipt)),
                    Err(StoreError::Refused(refusal)) => Err(StoreError::Refused(refusal)),
                    Err(e) => return Err(failed(e)),
                },
                Write::Refusal {
                    at,
                    kommun,
                    id,
                    refusal,
                } => {
                    let refused = entry(EntryKind::Refused, *at, *kommun, *id, refusal.to_string());
                    append(&tx, &refused, log).map_err(failed)?;
                    Ok(None)
                }
            });
        }
        tx.commit().map_err(whole)?;
        Ok(outcomes)
    }

    /// The latest checkpoint, signed, and a consistency proof from the tree of
    /// `since` entries to it (empty if `since` is 0 or not smaller than the size).
    pub fn checkpoint(
        &self,
        since: u64,
        log: &LogSigner<'_>,
    ) -> Result<(Vec<u8>, Vec<LogHash>), StoreError> {
        let size = log_size(&self.db)?;
        let hashes = SqlHashes(&self.db);
        let head = Checkpoint {
            origin: log.origin.to_owned(),
            size,
            root: translog::tree_root(size, &hashes)?,
        };
        let proof = if since == 0 || since >= size {
            Vec::new()
        } else {
            translog::prove_consistency(size, since, &hashes)?
        };
        Ok((head.sign(log.key)?, proof))
    }
}

impl Store {
    /// Logs every node registration and key change since the last start: each kommun
    /// new to the config is `node_registered`, each changed set of signing keys or
    /// pinned certificate is `key_changed`. Returns how many entries were added.
    pub fn log_registrations(
        &mut self,
        nodes: &[(KommunCode, String)],
        now: i64,
        log: &LogSigner<'_>,
    ) -> Result<usize, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        for (kommun, keys) in nodes {
            let known: Option<String> = tx
                .query_row(
                    "SELECT keys FROM registered_nodes WHERE kommun = ?1",
                    [kommun.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let kind = match known {
                None => EntryKind::NodeRegistered,
                Some(k) if &k != keys => EntryKind::KeyChanged,
                Some(_) => continue,
            };
            append(
                &tx,
                &entry(kind, now, Some(*kommun), None, format!("keys: {keys}")),
                log,
            )?;
            tx.execute(
                "INSERT INTO registered_nodes (kommun, keys) VALUES (?1, ?2)
                 ON CONFLICT(kommun) DO UPDATE SET keys = excluded.keys",
                params![kommun.as_str(), keys],
            )?;
            added += 1;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Appends entries to the transfer log in one transaction (each with its signed
    /// checkpoint); returns the index of the last. For tools and
    /// benchmarks: the server logs through [`Store::write_batch`].
    pub fn append_entries(
        &mut self,
        entries: &[LogEntry],
        log: &LogSigner<'_>,
    ) -> Result<Option<u64>, StoreError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut last = None;
        for e in entries {
            last = Some(append(&tx, e, log)?.0);
        }
        tx.commit()?;
        Ok(last)
    }

    /// An inclusion proof for entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, size: u64, index: u64) -> Result<Vec<LogHash>, StoreError> {
        Ok(translog::prove_inclusion(
            size,
            index,
            &SqlHashes(&self.db),
        )?)
    }

    /// A consistency proof from `old` entries to `new`.
    pub fn consistency_proof(&self, new: u64, old: u64) -> Result<Vec<LogHash>, StoreError> {
        Ok(translog::prove_consistency(new, old, &SqlHashes(&self.db))?)
    }

    /// Every log entry, in order, as text.
    pub fn entries(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT entry FROM transfer_events ORDER BY log_index")?;
        let rows = statement.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(String::from_utf8_lossy(&row?).into_owned());
        }
        Ok(out)
    }

    /// Every signed checkpoint, by size.
    pub fn checkpoints(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .db
            .prepare("SELECT note FROM checkpoints ORDER BY size")?;
        let rows = statement.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(String::from_utf8_lossy(&row?).into_owned());
        }
        Ok(out)
    }

    /// The root of the tree as its stored hashes give it (the hashes proofs are made
    /// from), for comparing with the signed checkpoints.
    pub fn stored_root(&self) -> Result<(u64, LogHash), StoreError> {
        let size = log_size(&self.db)?;
        Ok((size, translog::tree_root(size, &SqlHashes(&self.db))?))
    }

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

/// One write of a group commit (see [`Store::write_batch`]).
#[derive(Clone, Copy)]
pub enum Write<'a> {
    /// Store a verified submission received at `received_at`, or return the receipt
    /// given before for the same bytes.
    Accept {
        /// The submission.
        submission: &'a VerifiedSubmission,
        /// When the hub received it (Unix seconds).
        received_at: i64,
    },
    /// Log a refusal that happened before a submission could be stored.
    Refusal {
        /// When (Unix seconds).
        at: i64,
        /// The kommun, if known.
        kommun: Option<KommunCode>,
        /// The submission, if known.
        id: Option<SubmissionId>,
        /// Why.
        refusal: &'a Refusal,
    },
}

/// Why a batch's transaction was rolled back: the write that failed, if it was one.
struct BatchFailure {
    write: Option<usize>,
    error: StoreError,
}

fn nothing_stored() -> StoreError {
    StoreError::Refused(Refusal::Unavailable("nothing was stored".to_owned()))
}

/// One submission of a batch, inside the batch's transaction: the receipt given
/// before for the same bytes, or the submission logged and stored with its new
/// receipt. A replayed sequence number is logged and refused
/// ([`StoreError::Refused`]).
fn accept_in(
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
    let summary = format!(
        "sequence {}, period {}, linkage domain {}, {} bytes",
        s.sequence,
        s.statistics.period,
        s.statistics.linkage_domain,
        submission.signed().bytes.len()
    );
    let logged = entry(
        EntryKind::Accepted,
        received_at,
        Some(kommun),
        Some(id),
        summary,
    );
    let (index, checkpoint) = append(tx, &logged, log)?;
    let entry_bytes = logged.to_bytes();
    let at = Logged {
        index,
        entry: &entry_bytes,
        received_at,
    };
    let receipt = receipt_for(tx, submission, &at, &checkpoint, log)?;
    insert_submission(tx, submission, &at, &receipt)?;
    Ok(receipt)
}

/// Where a submission was logged.
struct Logged<'a> {
    index: u64,
    entry: &'a [u8],
    received_at: i64,
}

/// A signed checkpoint: the tree's size and the note.
struct SignedCheckpoint {
    size: u64,
    note: Vec<u8>,
}

/// Signs the receipt of a logged submission, with its inclusion proof in the tree of
/// the checkpoint signed right after its entry.
fn receipt_for(
    tx: &Connection,
    submission: &VerifiedSubmission,
    logged: &Logged<'_>,
    checkpoint: &SignedCheckpoint,
    log: &LogSigner<'_>,
) -> Result<SignedReceipt, StoreError> {
    let s = submission.submission();
    let receipt = Receipt {
        submission_id: submission.id(),
        kommun: s.statistics.kommun,
        sequence: s.sequence,
        received_at: logged.received_at,
        log_index: logged.index,
        entry: logged.entry.to_vec(),
        checkpoint: checkpoint.note.clone(),
        inclusion: translog::prove_inclusion(checkpoint.size, logged.index, &SqlHashes(tx))?,
    };
    Ok(SignedReceipt::sign(&receipt, log.key)?)
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

fn insert_submission(
    tx: &Connection,
    submission: &VerifiedSubmission,
    logged: &Logged<'_>,
    receipt: &SignedReceipt,
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
            logged.received_at,
            s.statistics.period.to_string(),
            s.statistics.linkage_domain.as_str(),
            s.statistics.key_id.to_string(),
            s.statistics.schema_version,
            signed.signer.as_bytes().as_slice(),
            samla_common::codec::encode(&signed.signature)?,
            signed.bytes,
            receipt.bytes,
            samla_common::codec::encode(&receipt.signature)?,
            i64::try_from(logged.index).unwrap_or(i64::MAX),
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

fn entry(
    kind: EntryKind,
    at: i64,
    kommun: Option<KommunCode>,
    submission: Option<SubmissionId>,
    summary: String,
) -> LogEntry {
    LogEntry {
        kind,
        at,
        kommun,
        submission,
        summary,
    }
}

/// The number of entries in the log.
fn log_size(db: &Connection) -> Result<u64, StoreError> {
    let next: i64 = db
        .prepare_cached("SELECT COALESCE(MAX(log_index) + 1, 0) FROM transfer_events")?
        .query_row([], |row| row.get(0))?;
    Ok(u64::try_from(next).unwrap_or(0))
}

/// Appends an entry to the transfer log and its hashes to the tree, and signs the
/// checkpoint of the tree that ends with it (one checkpoint per entry, so an audit
/// names the very entry that was tampered with); returns the entry's index (0-based)
/// and the checkpoint.
fn append(
    tx: &Connection,
    logged: &LogEntry,
    log: &LogSigner<'_>,
) -> Result<(u64, SignedCheckpoint), StoreError> {
    let index = log_size(tx)?;
    let bytes = logged.to_bytes();
    let new = translog::stored_hashes(index, &bytes, &SqlHashes(tx))
        .map_err(|e| LogError::Storage(e.to_string()))?;
    let first = translog::stored_hash_index(0, index);
    let mut insert =
        tx.prepare_cached("INSERT INTO log_hashes (stored_index, hash) VALUES (?1, ?2)")?;
    for (offset, hash) in new.iter().enumerate() {
        insert.execute(params![
            i64::try_from(first + offset as u64).unwrap_or(i64::MAX),
            hash.0.as_slice()
        ])?;
    }
    tx.prepare_cached(
        "INSERT INTO transfer_events (log_index, at, kind, kommun, submission_id, detail, entry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        i64::try_from(index).unwrap_or(i64::MAX),
        logged.at,
        logged.kind.code(),
        logged.kommun.map(|k| k.to_string()),
        logged.submission.map(|i| i.as_bytes().to_vec()),
        logged.summary,
        bytes
    ])?;
    Ok((index, sign_checkpoint(tx, log)?))
}

/// Signs and stores the checkpoint of the log as it stands.
fn sign_checkpoint(tx: &Connection, log: &LogSigner<'_>) -> Result<SignedCheckpoint, StoreError> {
    let size = log_size(tx)?;
    let head = Checkpoint {
        origin: log.origin.to_owned(),
        size,
        root: translog::tree_root(size, &SqlHashes(tx))?,
    };
    let note = head.sign(log.key)?;
    tx.prepare_cached("INSERT INTO checkpoints (size, note) VALUES (?1, ?2)")?
        .execute(params![i64::try_from(size).unwrap_or(i64::MAX), note])?;
    Ok(SignedCheckpoint { size, note })
}

/// The tree's stored hashes, read from SQLite.
pub struct SqlHashes<'a>(pub &'a Connection);

impl HashReader for SqlHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tree::Hash>, tree::Error> {
        let mut statement = self
            .0
            .prepare_cached("SELECT hash FROM log_hashes WHERE stored_index = ?1")
            .map_err(|_| tree::Error::IndexesNotInTree)?;
        indexes
            .iter()
            .map(|i| {
                let bytes: Vec<u8> = statement
                    .query_row([i64::try_from(*i).unwrap_or(i64::MAX)], |r| r.get(0))
                    .map_err(|_| tree::Error::IndexesNotInTree)?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map(tree::Hash)
                    .map_err(|_| tree::Error::MalformedHash)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
