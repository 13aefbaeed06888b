//! The transfer log's storage: entries, the RFC 6962 tree's hashes and a signed
//! checkpoint after every entry, in the store's SQLite file; proofs are made from the
//! stored hashes. The tree and note formats are `samla_common::translog`'s.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use samla_cli_common::database::texts;
use samla_common::codes::KommunCode;
use samla_common::translog::{
    self, Checkpoint, EntryKind, HashReader, LogEntry, LogError, LogHash,
};
use samla_common::wire::SubmissionId;
use tlog_tiles::tlog as tree;

use super::{LogSigner, Store, StoreError};

impl Store {
    /// The latest checkpoint, signed, and a consistency proof from the tree of
    /// `since` entries to it (empty if `since` is 0 or not smaller than the size).
    /// Both are checked before they are given out: the stored hashes must give the
    /// root the hub signed for the latest size, and the proof must lead from the
    /// hub's own signed checkpoint of `since` entries to it. If either fails the
    /// store is damaged ([`StoreError::Damaged`]): a node is told to try again later,
    /// never given a proof that would make its history look rewritten.
    pub fn checkpoint(
        &self,
        since: u64,
        log: &LogSigner<'_>,
    ) -> Result<(Vec<u8>, Vec<LogHash>), StoreError> {
        let size = log_size(&self.db)?;
        check_head(&self.db, log)?;
        let hashes = SqlHashes(&self.db);
        let head = Checkpoint {
            origin: log.origin.to_owned(),
            size,
            root: translog::tree_root(size, &hashes)?,
        };
        let proof = if since == 0 || since >= size {
            Vec::new()
        } else {
            let proof = translog::prove_consistency(size, since, &hashes)
                .map_err(|e| StoreError::Damaged(e.to_string()))?;
            let old = signed_head(&self.db, since, log)?;
            head.verify_extends(&old, &proof).map_err(|_| {
                StoreError::Damaged(format!(
                    "the stored tree hashes give no valid proof from the signed checkpoint of size {since} to size {size}"
                ))
            })?;
            proof
        };
        Ok((head.sign(log.key)?, proof))
    }

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
        check_head(&tx, log)?;
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
        check_head(&tx, log)?;
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
        texts(
            &self.db,
            "SELECT entry FROM transfer_events ORDER BY log_index",
        )
        .map_err(StoreError::Sql)
    }

    /// Every signed checkpoint, by size.
    pub fn checkpoints(&self) -> Result<Vec<String>, StoreError> {
        texts(&self.db, "SELECT note FROM checkpoints ORDER BY size").map_err(StoreError::Sql)
    }

    /// The root of the tree as its stored hashes give it (the hashes proofs are made
    /// from), for comparing with the signed checkpoints.
    pub fn stored_root(&self) -> Result<(u64, LogHash), StoreError> {
        let size = log_size(&self.db)?;
        Ok((size, translog::tree_root(size, &SqlHashes(&self.db))?))
    }
}

/// A signed checkpoint: the tree's size, its root and the note.
pub(super) struct SignedCheckpoint {
    pub(super) size: u64,
    pub(super) root: LogHash,
    pub(super) note: Vec<u8>,
}

/// Checks that the stored tree still gives the root the hub signed for the log's
/// current size; [`StoreError::Damaged`] if not. Run before anything is appended
/// and before a checkpoint is given out.
pub(super) fn check_head(db: &Connection, log: &LogSigner<'_>) -> Result<(), StoreError> {
    let size = log_size(db)?;
    if size == 0 {
        return Ok(());
    }
    let head = signed_head(db, size, log)?;
    let root = translog::tree_root(size, &SqlHashes(db)).ok();
    if root != Some(head.root) {
        return Err(StoreError::Damaged(format!(
            "the stored tree hashes do not give the root of the signed checkpoint of size {size}"
        )));
    }
    Ok(())
}

/// The hub's own signed checkpoint of `size` entries, opened with its key.
fn signed_head(db: &Connection, size: u64, log: &LogSigner<'_>) -> Result<Checkpoint, StoreError> {
    let note: Option<Vec<u8>> = db
        .prepare_cached("SELECT note FROM checkpoints WHERE size = ?1")?
        .query_row([i64::try_from(size).unwrap_or(i64::MAX)], |r| r.get(0))
        .optional()?;
    let note = note.ok_or_else(|| {
        StoreError::Damaged(format!("no signed checkpoint of size {size} is stored"))
    })?;
    let head = Checkpoint::open(&note, log.origin, &log.key.verifying_key())
        .map_err(|e| StoreError::Damaged(format!("the checkpoint of size {size}: {e}")))?;
    if head.size != size {
        return Err(StoreError::Damaged(format!(
            "the checkpoint stored as size {size} is of size {}",
            head.size
        )));
    }
    Ok(head)
}

pub(super) fn entry(
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
pub(super) fn append(
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
    Ok(SignedCheckpoint {
        size,
        root: head.root,
        note,
    })
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
