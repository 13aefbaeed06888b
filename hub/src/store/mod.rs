//! The hub's store: every accepted submission's exact signed bytes, its decoded tables
//! and linkage sets, its receipt, and the transfer log: an entry for every transfer
//! (accepted or refused) and the hashes of the log's RFC 6962 Merkle tree, in one
//! SQLite file an analyst or privacy officer can open with standard tools. A
//! submission, its log entry and the tree's new hashes are stored in one transaction:
//! all of it or nothing.
//!
//! By concept: the schema and opening are here; `batch` is the group commit the
//! server writes through (each write its own outcome); `submissions` stores and
//! reads submissions; `log` is the transfer log's storage: entries, tree hashes and
//! signed checkpoints; `verified` reads submissions back with every byte checked
//! (the only way reports and audits get one). The receipt itself is built in
//! `samla_common::receipt`.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use samla_cli_common::database::{self, SqliteError};
use samla_common::signing::SigningKey;
use samla_common::translog::LogError;
use samla_common::wire::Refusal;

mod batch;
mod log;
mod rows;
mod submissions;
mod verified;

pub use batch::{Stored, Write};
pub use log::SqlHashes;
pub use rows::{CellRow, EventRow, Extent, LinkageRow};
pub use verified::{Checked, Damage, Trust, Unverified, VerifiedStored};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("SQLite")]
    Sql(#[source] SqliteError),
    /// Encoding or decoding a stored value failed.
    #[error("a stored value")]
    Codec(#[from] samla_common::codec::CodecError),
    /// The transfer log failed.
    #[error("transfer log")]
    Log(#[from] LogError),
    /// The transaction a write was in could not begin or commit.
    #[error("the transaction failed: {0}")]
    Transaction(String),
    /// The submission was refused (for example a replayed sequence).
    #[error("{0}")]
    Refused(Refusal),
    /// What the store holds fails its own check (a tree hash that does not give the
    /// signed root, a stored submission that does not match its id or receipt): the
    /// hub serves no proof or receipt from it.
    #[error("hub store damaged: {0}")]
    Damaged(String),
}

/// What the hub tells a node while its store is damaged: temporary (the node keeps
/// its submissions and retries), and never a proof from the damaged store.
pub const DAMAGED: &str = "hub store damaged; the region's operator runs `samla-hub audit verify`";

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
    path: PathBuf,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sql(SqliteError(e))
    }
}

impl Store {
    /// Opens (and creates if needed) the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = database::open(path, SCHEMA).map_err(StoreError::Sql)?;
        Ok(Store {
            db,
            path: path.to_owned(),
        })
    }

    /// A second connection to the same database that only reads, to be used in
    /// another thread (`audit verify` reads the checkpoints beside the entries).
    pub fn reader(&self) -> Result<Store, StoreError> {
        let db = database::open_read_only(&self.path).map_err(StoreError::Sql)?;
        Ok(Store {
            db,
            path: self.path.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
